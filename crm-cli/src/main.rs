//! `crm`: the administrator's command line over crm-lib.
//!
//! Set-up, users and roles, CSV import and export, backup, restore, verification, statistics
//! and demo data, over the data file `DIR/crm.redb` (`--data-dir`, `CRM_DATA_DIR`, default
//! `./crm-data`). Every command parses its arguments, makes one crm-lib call and renders the
//! result; no rule is decided here. The command acts as the system actor of the data file's
//! default organization.
//!
//! Exit codes (also in `crm --help`):
//!
//! | code | meaning |
//! | --- | --- |
//! | 0 | success |
//! | 1 | any other error (permission, I/O on a file named on the command line...) |
//! | 2 | usage: unknown command or option, missing argument (clap) |
//! | 3 | invalid input: a bad CSV row, a bad argument value |
//! | 4 | not found: no data file yet, an unknown user or file |
//! | 5 | conflict: already set up, the file or name exists |
//! | 6 | the data file is in use by a running appliance |
//! | 7 | `crm verify` found problems, or the data file is damaged (storage error) |
//!
//! Errors go to stderr as `error: ` and the chain of causes. Passwords are printed only by
//! the commands whose purpose is to show a new one once (`init`, `user add`, `user passwd`
//! without `--password-stdin`, `demo`).

mod cli;
mod commands;
mod exit;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    match commands::run(&cli) {
        Ok(()) => ExitCode::SUCCESS,
        // A reader that stopped reading (`crm export orders | head`) is not an error.
        Err(error) if exit::is_broken_pipe(&error) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(exit::code_of(&error))
        }
    }
}
