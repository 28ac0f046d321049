//! The `crm` command as a library: clap definitions and one function per command, with the
//! output going to an [`Io`] instead of straight to the process's streams.
//!
//! The same code serves two callers, so that a command prints the same thing either way:
//! - the `crm` binary ([`run`]), which opens the data file itself, and when a running
//!   appliance holds it, sends the command over the appliance's admin channel
//!   ([`remote`], a Unix socket `DIR/admin.sock`) and prints the answer;
//! - the appliance, which runs a command received on that channel on its own open store
//!   ([`serve`]) and streams the output back.
//!
//! Exit codes are documented in `crm --help` and in the binary's docs.

#![cfg_attr(test, allow(clippy::unwrap_used))]

/// `println!` to the command's output (`Io::out`) that returns an error instead of
/// panicking when it is closed (`crm stats | head`); `main` turns a broken pipe into a quiet
/// exit.
macro_rules! out {
    ($io:expr) => {
        writeln!($io.out)?
    };
    ($io:expr, $($arg:tt)*) => {
        writeln!($io.out, $($arg)*)?
    };
}

mod cli;
mod commands;
mod exit;
pub mod remote;

use std::ffi::OsString;
use std::io::{BufRead, Write};

use clap::Parser;

/// Where a command writes and reads.
pub struct Io<'a> {
    /// Normal output (the process's stdout).
    pub out: &'a mut dyn Write,
    /// Notes and errors (stderr).
    pub err: &'a mut dyn Write,
    /// Input (stdin); only `--password-stdin` reads it.
    pub input: &'a mut dyn BufRead,
    /// Whether progress bars may be drawn: stderr is this process's terminal.
    pub terminal: bool,
}

/// Runs `crm` with `args` (the program name first) and returns the exit code. Works on the
/// data file directly; when a running appliance holds it and its admin channel exists, the
/// command runs in the appliance instead, with the same output and exit code.
pub fn run(args: Vec<OsString>, io: &mut Io<'_>) -> u8 {
    let cli = match cli::Cli::try_parse_from(&args) {
        Ok(cli) => cli,
        Err(error) => return clap_error(&error, io),
    };
    let result = match commands::run(&cli, io) {
        Err(error) if exit::is_in_use(&error) && remote::available(&cli.data_dir) => {
            remote::forward(&cli, &args, io)
        }
        other => other.map(|()| exit::OK),
    };
    finish(result, io)
}

/// Runs a command received over the admin channel on the appliance's open store: the same
/// functions as offline, with relative paths resolved against the caller's working
/// directory. `crm init` and `crm restore` are refused (exit 6): they replace the file the
/// appliance has open. Returns the exit code.
pub fn serve(crm: &crm_lib::Crm, request: &remote::Request, io: &mut Io<'_>) -> u8 {
    let args = std::iter::once("crm".to_string()).chain(request.args.iter().cloned());
    let cli = match cli::Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(error) => return clap_error(&error, io),
    };
    let place = commands::Place {
        data_file: request.data_dir.join("crm.redb"),
        cwd: Some(request.cwd.clone()),
    };
    let result =
        commands::on_store(crm, &place, cli.org.as_deref(), &cli.command, io).map(|()| exit::OK);
    finish(result, io)
}

/// Prints clap's usage error or help, as clap itself would, and returns its exit code.
fn clap_error(error: &clap::Error, io: &mut Io<'_>) -> u8 {
    let text = if io.terminal {
        error.render().ansi().to_string()
    } else {
        error.render().to_string()
    };
    let target: &mut dyn Write = if error.use_stderr() {
        &mut *io.err
    } else {
        &mut *io.out
    };
    let _ = write!(target, "{text}");
    u8::try_from(error.exit_code()).unwrap_or(exit::USAGE)
}

/// The exit code of a result, printing an error as `error: ` and its chain of causes.
fn finish(result: anyhow::Result<u8>, io: &mut Io<'_>) -> u8 {
    match result {
        Ok(code) => code,
        // A reader that stopped reading (`crm export orders | head`) is not an error.
        Err(error) if exit::is_broken_pipe(&error) => exit::OK,
        Err(error) => {
            let _ = writeln!(io.err, "error: {error:#}");
            exit::code_of(&error)
        }
    }
}
