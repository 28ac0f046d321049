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
//! | 6 | the data file is in use by a running appliance whose admin channel does not answer, or `init`/`restore` while it runs |
//! | 7 | `crm verify` found problems, or the data file is damaged (storage error) |
//!
//! While the appliance runs it holds the data file; every command but `init` and `restore`
//! then goes to it over its admin channel (`DIR/admin.sock`, see `crm_cli::remote`) and
//! prints the same output with the same exit code.
//!
//! Errors go to stderr as `error: ` and the chain of causes. Passwords are printed only by
//! the commands whose purpose is to show a new one once (`init`, `user add`, `user passwd`
//! without `--password-stdin`, `demo`).

#![cfg_attr(test, allow(clippy::unwrap_used))]

use std::io::IsTerminal;
use std::process::ExitCode;

fn main() -> ExitCode {
    // stdout and stderr stay unlocked: a progress bar draws on stderr from its own thread.
    let (mut out, mut err) = (std::io::stdout(), std::io::stderr());
    let terminal = err.is_terminal();
    let stdin = std::io::stdin();
    let mut input = stdin.lock();
    let mut io = crm_cli::Io {
        out: &mut out,
        err: &mut err,
        input: &mut input,
        terminal,
    };
    ExitCode::from(crm_cli::run(std::env::args_os().collect(), &mut io))
}
