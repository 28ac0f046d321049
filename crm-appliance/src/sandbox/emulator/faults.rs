//! Injected faults: the control API arms them, and each Bot API call takes one use of the
//! first that matches it before the method runs (an error answer in Telegram's envelope, or a
//! dropped connection).

use serde::{Deserialize, Serialize};

use super::{BotError, Emulator};

/// A fault to inject: the next `times` calls of `method` (`*` for any method but getUpdates;
/// optionally only those to `chat_id`) answer `status` instead of working, or, with `reset`,
/// get no answer at all: the connection is dropped before the method runs (see
/// [`Injected::Reset`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Fault {
    pub(crate) method: String,
    #[serde(default)]
    pub(crate) chat_id: Option<i64>,
    /// The error status; none (0) for a reset.
    #[serde(default)]
    pub(crate) status: u16,
    /// Drop the connection instead of answering.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub(crate) reset: bool,
    #[serde(default)]
    pub(crate) retry_after: Option<u64>,
    #[serde(default)]
    pub(crate) description: Option<String>,
    #[serde(default = "one")]
    pub(crate) times: u32,
}

fn one() -> u32 {
    1
}

/// What an armed fault does to the call it catches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Injected {
    /// An error answer in Telegram's envelope.
    Answer(BotError),
    /// No answer: the connection breaks before the method has run, so nothing happened (the
    /// one kind of broken connection after which a retry cannot duplicate anything).
    Reset,
}

impl Fault {
    fn error(&self) -> BotError {
        let description = self
            .description
            .clone()
            .unwrap_or_else(|| match self.status {
                429 => format!(
                    "Too Many Requests: retry after {}",
                    self.retry_after.unwrap_or(1)
                ),
                403 => "Forbidden: bot was blocked by the user".into(),
                400 => "Bad Request: injected fault".into(),
                500 => "Internal Server Error".into(),
                502 => "Bad Gateway".into(),
                503 => "Service Unavailable".into(),
                504 => "Gateway Timeout".into(),
                status => format!("Error {status}"),
            });
        BotError {
            code: self.status,
            description,
            retry_after: if self.status == 429 {
                Some(self.retry_after.unwrap_or(1))
            } else {
                None
            },
        }
    }
}

impl Emulator {
    /// Adds a fault.
    pub(crate) fn add_fault(&self, fault: Fault) -> Result<(), String> {
        if fault.reset {
            if fault.status != 0 || fault.retry_after.is_some() || fault.description.is_some() {
                return Err("a reset fault drops the connection: it takes no status, retry_after or description".into());
            }
        } else if !(400..=599).contains(&fault.status) {
            return Err(format!(
                "status {} is not an error status (400-599)",
                fault.status
            ));
        }
        if fault.method.is_empty() || fault.times == 0 {
            return Err("method must be a Bot API method or *, times at least 1".into());
        }
        self.lock().faults.push(fault);
        Ok(())
    }

    /// The faults still armed.
    pub(crate) fn faults(&self) -> Vec<Fault> {
        self.lock().faults.clone()
    }

    /// Disarms every fault.
    pub(crate) fn clear_faults(&self) {
        self.lock().faults.clear();
    }

    /// Takes one use of the first fault matching this call, if any.
    pub(crate) fn take_fault(&self, method: &str, chat_id: Option<i64>) -> Option<Injected> {
        let mut state = self.lock();
        let index = state.faults.iter().position(|fault| {
            let method_matches = fault.method == method
                || (fault.method == "*" && method != "getUpdates" && method != "getMe");
            method_matches && fault.chat_id.is_none_or(|chat| Some(chat) == chat_id)
        })?;
        let fault = &mut state.faults[index];
        let injected = if fault.reset {
            Injected::Reset
        } else {
            Injected::Answer(fault.error())
        };
        fault.times -= 1;
        if fault.times == 0 {
            state.faults.remove(index);
        }
        *state.calls.entry(format!("{method} (fault)")).or_default() += 1;
        Some(injected)
    }
}
