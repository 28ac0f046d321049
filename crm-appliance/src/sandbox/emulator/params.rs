//! What every Bot API call of the emulator shares: its parameters, read as Telegram reads them
//! (numbers or numeric strings, JSON or JSON-encoded strings from forms), and its error answer.

use serde_json::{Map, Value, json};

/// A Bot API error answer: the HTTP status equals `error_code`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BotError {
    pub(crate) code: u16,
    pub(crate) description: String,
    pub(crate) retry_after: Option<u64>,
}

impl BotError {
    pub(crate) fn bad_request(what: impl std::fmt::Display) -> Self {
        BotError {
            code: 400,
            description: format!("Bad Request: {what}"),
            retry_after: None,
        }
    }

    pub(super) fn forbidden_blocked() -> Self {
        BotError {
            code: 403,
            description: "Forbidden: bot was blocked by the user".into(),
            retry_after: None,
        }
    }

    pub(crate) fn not_found() -> Self {
        BotError {
            code: 404,
            description: "Not Found".into(),
            retry_after: None,
        }
    }

    pub(crate) fn unauthorized() -> Self {
        BotError {
            code: 401,
            description: "Unauthorized".into(),
            retry_after: None,
        }
    }

    /// The answer body, as Telegram writes it.
    pub(crate) fn body(&self) -> Value {
        let mut body = json!({
            "ok": false,
            "error_code": self.code,
            "description": self.description,
        });
        if let Some(retry_after) = self.retry_after {
            body["parameters"] = json!({ "retry_after": retry_after });
        }
        body
    }
}

/// Reads an integer parameter given as a number or a numeric string.
pub(crate) fn int_param(params: &Map<String, Value>, name: &str) -> Option<i64> {
    match params.get(name)? {
        Value::Number(number) => number.as_i64(),
        Value::String(text) => text.trim().parse().ok(),
        _ => None,
    }
}

pub(crate) fn str_param<'a>(params: &'a Map<String, Value>, name: &str) -> Option<&'a str> {
    params.get(name).and_then(Value::as_str)
}

pub(crate) fn bool_param(params: &Map<String, Value>, name: &str) -> bool {
    match params.get(name) {
        Some(Value::Bool(value)) => *value,
        Some(Value::String(text)) => text == "true" || text == "1",
        _ => false,
    }
}

/// Reads a JSON parameter given as JSON or as a JSON-encoded string (form and multipart).
pub(super) fn json_param(
    params: &Map<String, Value>,
    name: &str,
) -> Result<Option<Value>, BotError> {
    match params.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) if text.trim().is_empty() => Ok(None),
        Some(Value::String(text)) => serde_json::from_str(text)
            .map(Some)
            .map_err(|_| BotError::bad_request(format!("can't parse {name} JSON object"))),
        Some(other) => Ok(Some(other.clone())),
    }
}
