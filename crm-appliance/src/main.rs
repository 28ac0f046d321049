//! `crm-appliance`: the staff web, the Telegram bot and its sandbox, in one binary over one
//! data file. All logic lives in the library half of this crate and in crm-lib; this file only
//! parses the command line and hands over.

use std::process::ExitCode;

use clap::Parser;

/// mimalloc instead of glibc malloc: see the workspace Cargo.toml for the measurements.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = crm_appliance::config::Cli::parse();
    match crm_appliance::startup::main(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
