//! A small Bot API client: JSON calls, multipart uploads and file downloads against any Bot API
//! server (Telegram's, a local `telegram-bot-api`, or the appliance's own sandbox emulator).
//!
//! Why not teloxide's `Bot` for the calls: the outbox stores bot calls as a method name and a
//! JSON object (`OutboxPayload::BotCall`), getUpdates must hand the inbox each update exactly
//! as received, and the delivery job needs Telegram's raw answer (`error_code`,
//! `parameters.retry_after`) to decide between retry, back-off and giving up. A thin client over
//! the same reqwest (rustls) that teloxide uses does all three without re-encoding; teloxide's
//! types still parse every update and keyboard.
//!
//! The bot token is part of every URL, so no URL ever leaves this module: reqwest errors are
//! stripped with `without_url()`, `Debug` shows no URL, and error texts name the method only.

use std::time::Duration;

use serde_json::{Map, Value};

/// The most bytes a downloaded file may have (Telegram's getFile limit, crm-lib's media limit).
pub const DOWNLOAD_MAX: usize = crm_lib::MEDIA_MAX_SIZE;

/// How long an ordinary call may take before it counts as a network error.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(30);

/// Why a call failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiError {
    /// The server answered `ok: false` (or a non-2xx status): Telegram's `error_code`, its
    /// description and, for 429, `parameters.retry_after` in seconds.
    Telegram {
        /// `error_code`, or the HTTP status when the body had none.
        code: u16,
        /// `description`.
        description: String,
        /// `parameters.retry_after`, seconds.
        retry_after: Option<u64>,
    },
    /// The server could not be reached or did not answer in time (the URL is not included).
    Network(String),
    /// The answer was not the JSON the Bot API promises.
    Malformed(String),
}

impl ApiError {
    /// 5xx answers, network errors and malformed answers may succeed later.
    pub fn is_transient(&self) -> bool {
        match self {
            ApiError::Telegram { code, .. } => *code >= 500 || *code == 0,
            ApiError::Network(_) | ApiError::Malformed(_) => true,
        }
    }

    /// Whether the request surely had no effect: Telegram answered with an error, or the
    /// connection could not even be opened. A timeout or a connection broken later may have
    /// reached Telegram (what an item sent at most once must not repeat).
    pub fn surely_unsent(&self) -> bool {
        match self {
            ApiError::Telegram { .. } => true,
            ApiError::Network(message) => message.starts_with(CANNOT_CONNECT),
            ApiError::Malformed(_) => false,
        }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ApiError::Telegram {
                code, description, ..
            } => write!(f, "telegram answered {code}: {description}"),
            ApiError::Network(message) => write!(f, "network error: {message}"),
            ApiError::Malformed(message) => write!(f, "malformed answer: {message}"),
        }
    }
}

impl std::error::Error for ApiError {}

/// A file to upload with a call (multipart/form-data).
#[derive(Debug, Clone)]
pub struct Upload {
    /// The form field (`photo`, `document`, or an `attach://` name).
    pub field: String,
    /// The bytes.
    pub bytes: Vec<u8>,
    /// The file name shown in Telegram.
    pub file_name: String,
    /// MIME type.
    pub mime: String,
}

/// A Bot API client bound to one token and server. Cheap to clone.
#[derive(Clone)]
pub struct BotApi {
    http: reqwest::Client,
    /// `<server>/bot<token>`: secret, never logged.
    method_base: String,
    /// `<server>/file/bot<token>`: secret, never logged.
    file_base: String,
}

impl std::fmt::Debug for BotApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BotApi { .. }")
    }
}

/// How a network error that never reached the server starts (see [`ApiError::surely_unsent`]).
const CANNOT_CONNECT: &str = "cannot connect";

/// Strips the URL (which holds the token) from a reqwest error and says what happened.
fn network(error: reqwest::Error) -> ApiError {
    let kind = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        CANNOT_CONNECT
    } else {
        "request failed"
    };
    let error = error.without_url();
    ApiError::Network(format!("{kind}: {error}"))
}

/// Bot API method names are ASCII letters (`sendMessage`); anything else never reaches a URL.
/// Sends a prepared call and reads Telegram's answer envelope.
async fn send(request: reqwest::RequestBuilder) -> Result<Value, ApiError> {
    let response = request.send().await.map_err(network)?;
    let status = response.status().as_u16();
    let body = response.bytes().await.map_err(network)?;
    envelope(status, &body)
}

fn check_method(method: &str) -> Result<(), ApiError> {
    if !method.is_empty() && method.len() <= 64 && method.bytes().all(|b| b.is_ascii_alphabetic()) {
        Ok(())
    } else {
        Err(ApiError::Malformed(format!(
            "{method:?} is not a Bot API method"
        )))
    }
}

/// A `file_path` from getFile: relative, no `..`, URL-safe characters only.
fn check_file_path(path: &str) -> Result<(), ApiError> {
    let ok = !path.is_empty()
        && path.len() <= 512
        && !path.starts_with('/')
        && !path.split('/').any(|part| part.is_empty() || part == "..")
        && path
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'/' | b'.' | b'_' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(ApiError::Malformed(
            "getFile returned an unusable file_path".into(),
        ))
    }
}

/// `type/subtype` of lower-case letters, digits and `.+-`, or `application/octet-stream`.
fn safe_mime(mime: &str) -> &str {
    let part_ok = |part: &str| {
        !part.is_empty()
            && part.bytes().all(|b| {
                b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'+' | b'-')
            })
    };
    match mime.split_once('/') {
        Some((kind, subtype)) if part_ok(kind) && part_ok(subtype) => mime,
        _ => "application/octet-stream",
    }
}

/// Reads Telegram's answer envelope: `result` on `ok: true`, an [`ApiError`] otherwise.
fn envelope(status: u16, body: &[u8]) -> Result<Value, ApiError> {
    let parsed: Result<Value, _> = serde_json::from_slice(body);
    match parsed {
        Ok(Value::Object(mut object)) => {
            if object.get("ok").and_then(Value::as_bool) == Some(true) {
                return Ok(object.remove("result").unwrap_or(Value::Null));
            }
            let code = object
                .get("error_code")
                .and_then(Value::as_u64)
                .and_then(|code| u16::try_from(code).ok())
                .unwrap_or(status);
            let description = object
                .get("description")
                .and_then(Value::as_str)
                .unwrap_or("no description")
                .chars()
                .take(500)
                .collect();
            let retry_after = object
                .get("parameters")
                .and_then(|parameters| parameters.get("retry_after"))
                .and_then(Value::as_u64);
            Err(ApiError::Telegram {
                code,
                description,
                retry_after,
            })
        }
        _ if !(200..300).contains(&status) => Err(ApiError::Telegram {
            code: status,
            description: format!("HTTP {status} without a Bot API answer"),
            retry_after: None,
        }),
        _ => Err(ApiError::Malformed(
            "the answer is not a JSON object".into(),
        )),
    }
}

impl BotApi {
    /// A client for `token` at `api_url` (`https://api.telegram.org`, or the sandbox's
    /// `http://127.0.0.1:8080/sandbox`).
    ///
    /// # Errors
    /// When the HTTP client cannot be built (no TLS roots).
    pub fn new(api_url: &str, token: &str) -> anyhow::Result<BotApi> {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .pool_idle_timeout(Duration::from_secs(60))
            .user_agent(concat!("crm-appliance/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|error| {
                anyhow::anyhow!("building the Bot API client: {}", error.without_url())
            })?;
        let server = api_url.trim_end_matches('/');
        Ok(BotApi {
            http,
            method_base: format!("{server}/bot{token}"),
            file_base: format!("{server}/file/bot{token}"),
        })
    }

    /// Calls `method` with a JSON object of parameters and returns Telegram's `result`.
    /// `timeout` bounds the whole request (getUpdates passes its long-poll time plus a margin).
    ///
    /// # Errors
    /// See [`ApiError`].
    pub async fn call(
        &self,
        method: &str,
        params: &Value,
        timeout: Duration,
    ) -> Result<Value, ApiError> {
        check_method(method)?;
        send(self.post(method).timeout(timeout).json(params)).await
    }

    /// Calls `method` as multipart/form-data with files: plain parameters as text fields
    /// (objects and arrays JSON-encoded, as the Bot API expects), each upload as a file part.
    ///
    /// # Errors
    /// See [`ApiError`].
    pub async fn call_with_files(
        &self,
        method: &str,
        params: &Map<String, Value>,
        uploads: Vec<Upload>,
    ) -> Result<Value, ApiError> {
        check_method(method)?;
        let mut form = reqwest::multipart::Form::new();
        for (name, value) in params {
            let text = match value {
                Value::String(text) => text.clone(),
                Value::Null => continue,
                other => other.to_string(),
            };
            form = form.text(name.clone(), text);
        }
        for upload in uploads {
            let part = reqwest::multipart::Part::bytes(upload.bytes)
                .file_name(upload.file_name)
                .mime_str(safe_mime(&upload.mime))
                .map_err(|_| ApiError::Malformed("unusable MIME type".into()))?;
            form = form.part(upload.field, part);
        }
        send(
            self.post(method)
                .timeout(Duration::from_secs(120))
                .multipart(form),
        )
        .await
    }

    /// A POST of `method` (already checked by [`check_method`]).
    fn post(&self, method: &str) -> reqwest::RequestBuilder {
        self.http.post(format!("{}/{method}", self.method_base))
    }

    /// Downloads a file by the `file_path` getFile returned, at most [`DOWNLOAD_MAX`] bytes.
    ///
    /// # Errors
    /// See [`ApiError`]; a file over the limit is a `Malformed` error.
    pub async fn download(&self, file_path: &str) -> Result<Vec<u8>, ApiError> {
        check_file_path(file_path)?;
        let mut response = self
            .http
            .get(format!("{}/{file_path}", self.file_base))
            .timeout(Duration::from_secs(120))
            .send()
            .await
            .map_err(network)?;
        let status = response.status().as_u16();
        if !(200..300).contains(&status) {
            let body = response.bytes().await.map_err(network)?;
            return Err(envelope(status, &body).err().unwrap_or(ApiError::Telegram {
                code: status,
                description: format!("file download answered HTTP {status}"),
                retry_after: None,
            }));
        }
        let mut bytes = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(network)? {
            if bytes.len() + chunk.len() > DOWNLOAD_MAX {
                return Err(ApiError::Malformed(format!(
                    "the file is over the limit of {DOWNLOAD_MAX} bytes"
                )));
            }
            bytes.extend_from_slice(&chunk);
        }
        Ok(bytes)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn telegram_errors_keep_code_description_and_retry_after() {
        let body = br#"{"ok":false,"error_code":429,"description":"Too Many Requests: retry after 3","parameters":{"retry_after":3}}"#;
        assert_eq!(
            envelope(429, body),
            Err(ApiError::Telegram {
                code: 429,
                description: "Too Many Requests: retry after 3".into(),
                retry_after: Some(3),
            })
        );
        assert_eq!(
            envelope(200, br#"{"ok":true,"result":{"message_id":5}}"#),
            Ok(serde_json::json!({"message_id": 5}))
        );
        assert!(matches!(
            envelope(502, b"<html>bad gateway</html>"),
            Err(ApiError::Telegram { code: 502, .. })
        ));
    }

    #[test]
    fn method_names_and_file_paths_cannot_escape_the_url() {
        assert!(check_method("sendMessage").is_ok());
        assert!(check_method("../getMe").is_err());
        assert!(check_file_path("photos/file_1.jpg").is_ok());
        for bad in ["../x", "/etc/passwd", "a//b", "a/../b", "a b", ""] {
            assert!(check_file_path(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn debug_output_hides_the_token() {
        let api = BotApi::new("http://127.0.0.1:1", "123:SECRETSECRETSECRETSECRETSECRET").unwrap();
        assert!(!format!("{api:?}").contains("SECRET"));
    }
}
