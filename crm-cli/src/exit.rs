//! Exit codes: what a script can act on, derived from the error kinds of crm-lib.

use crm_lib::{ErrorKind, import::ImportError};

/// Success.
pub(crate) const OK: u8 = 0;
/// Any error without a more specific code.
pub(crate) const OTHER: u8 = 1;
/// Usage errors (clap's own code).
pub(crate) const USAGE: u8 = 2;
/// Invalid input: a bad CSV row or argument value.
pub(crate) const INVALID_INPUT: u8 = 3;
/// Something named does not exist.
pub(crate) const NOT_FOUND: u8 = 4;
/// The state forbids it: already set up, a name or file exists.
pub(crate) const CONFLICT: u8 = 5;
/// The data file is held by a running appliance.
pub(crate) const IN_USE: u8 = 6;
/// Verification found problems, or the store failed.
pub(crate) const DAMAGED: u8 = 7;

/// The text `crm --help` shows after the commands.
pub(crate) const HELP: &str = "\
Exit codes:
  0  success
  1  any other error (permission, I/O on a file named on the command line)
  2  usage: unknown command or option, missing argument
  3  invalid input: a bad CSV row (named FILE:LINE: column), a bad argument value
  4  not found: no data file yet (run crm init), an unknown user or file
  5  conflict: already set up, the file or name exists
  6  the data file is in use by a running appliance
  7  crm verify found problems, or the data file is damaged (storage error)";

/// An error that carries its own exit code (verification problems, the busy data file).
#[derive(Debug)]
pub(crate) struct Exit {
    pub(crate) code: u8,
    pub(crate) message: String,
}

impl std::fmt::Display for Exit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Exit {}

fn code_of_kind(kind: ErrorKind) -> u8 {
    match kind {
        ErrorKind::InvalidInput => INVALID_INPUT,
        ErrorKind::NotFound => NOT_FOUND,
        ErrorKind::Conflict => CONFLICT,
        ErrorKind::Busy => IN_USE,
        ErrorKind::Storage => DAMAGED,
        _ => OTHER,
    }
}

/// The exit code for an error: the first link of its chain that knows one decides.
pub(crate) fn code_of(error: &anyhow::Error) -> u8 {
    for cause in error.chain() {
        if let Some(exit) = cause.downcast_ref::<Exit>() {
            return exit.code;
        }
        if let Some(error) = cause.downcast_ref::<crm_lib::Error>() {
            return code_of_kind(error.kind());
        }
        if let Some(error) = cause.downcast_ref::<ImportError>() {
            return code_of_kind(error.kind());
        }
    }
    OTHER
}

/// Whether the error says the data file is held by a running appliance.
pub(crate) fn is_in_use(error: &anyhow::Error) -> bool {
    code_of(error) == IN_USE
}

/// Whether the error is a write to a closed pipe.
pub(crate) fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_kinds_map_to_the_documented_codes() {
        let code = |error: crm_lib::Error| code_of(&anyhow::Error::new(error));
        assert_eq!(code(crm_lib::Error::invalid("email", "bad")), INVALID_INPUT);
        assert_eq!(code(crm_lib::Error::not_found("user", "bob")), NOT_FOUND);
        assert_eq!(code(crm_lib::Error::conflict("exists")), CONFLICT);
        assert_eq!(code(crm_lib::Error::busy("in use")), IN_USE);
        assert_eq!(code(crm_lib::Error::corrupt("broken")), DAMAGED);
        assert_eq!(code(crm_lib::Error::forbidden("no")), OTHER);
        let wrapped = anyhow::Error::new(crm_lib::Error::conflict("exists")).context("doing x");
        assert_eq!(code_of(&wrapped), CONFLICT);
        assert_eq!(code_of(&anyhow::anyhow!("plain")), OTHER);
        assert_eq!((OK, USAGE), (0, 2));
    }
}
