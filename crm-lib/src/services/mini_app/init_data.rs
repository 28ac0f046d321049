//! Telegram Mini App `initData`, validated as Telegram documents it ("Validating data
//! received via the Mini App", <https://core.telegram.org/bots/webapps>): the first-party
//! check with the bot token. Pure: no I/O, no clock (the caller passes `now`).
//!
//! The rule, step by step ([`validate_init_data`]):
//! 1. the text is a query string of `key=value` pairs joined by `&`, each value
//!    percent-encoded (`+` is a space); a pair without `=`, a key given twice, a bad escape or
//!    text that is not UTF-8 is [`InitDataError::Malformed`]; more than [`INIT_DATA_MAX_BYTES`]
//!    is [`InitDataError::TooLong`];
//! 2. `hash` must be there ([`InitDataError::HashMissing`]) and `auth_date` too, a whole
//!    number of seconds since the epoch ([`InitDataError::AuthDateMissing`],
//!    [`InitDataError::AuthDateInvalid`]);
//! 3. `auth_date` no older than the limit ([`InitDataError::Expired`]; the limit is the
//!    caller's, [`DEFAULT_MAX_AGE_SECONDS`] by default) and not later than `now` by more than
//!    [`FUTURE_SKEW_SECONDS`] ([`InitDataError::FromTheFuture`]); the order of the libraries
//!    whose vectors the tests use (init-data-golang checks the age before the hash);
//! 4. the data-check string is every received field but `hash` (`signature` stays), as
//!    `key=<decoded value>`, sorted by key, joined by `\n`; the secret key is
//!    `HMAC_SHA256(key = "WebAppData", message = bot token)` ([`WebAppKey`]); `hash` must be
//!    the lowercase hex of `HMAC_SHA256(key = secret key, message = data-check string)`,
//!    compared in constant time (`Mac::verify_slice`) ([`InitDataError::HashInvalid`]);
//! 5. `user`, when present, is JSON with at least a positive `id` (a number, or a string of
//!    digits as some clients send) and `first_name` ([`InitDataError::UserInvalid`]).
//!
//! The third-party check (`signature`, Ed25519 with Telegram's public key and the bot id) is
//! not done: the appliance holds each organization's bot token, so the first-party check is
//! the one that applies, and it needs no Ed25519 dependency.

use std::fmt;

use hmac::{Hmac, KeyInit, Mac};
use serde::Deserialize;
use sha2::Sha256;

use crate::model::{Language, TelegramUserId, Timestamp};

/// The default age limit of `auth_date`: 24 hours, in seconds (the appliance's
/// `--mini-app-max-age` changes it).
pub const DEFAULT_MAX_AGE_SECONDS: u64 = 24 * 60 * 60;

/// How far `auth_date` may lie ahead of `now`, in seconds: clocks drift; a minute is plenty.
pub const FUTURE_SKEW_SECONDS: i64 = 60;

/// The longest `initData` accepted, in bytes (Telegram's are well under 2 KB; a header's
/// worth leaves room for long names).
pub const INIT_DATA_MAX_BYTES: usize = 8 * 1024;

/// The most fields one `initData` carries (Telegram sends about ten).
pub const INIT_DATA_MAX_FIELDS: usize = 64;

type HmacSha256 = Hmac<Sha256>;

/// The secret key of one bot's Mini App data: `HMAC_SHA256(key = "WebAppData", message =
/// bot token)`. Derived once when a bot starts, so that validating needs no token; its
/// `Debug` shows nothing of it.
#[derive(Clone, PartialEq, Eq)]
pub struct WebAppKey([u8; 32]);

impl fmt::Debug for WebAppKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WebAppKey(***)")
    }
}

impl WebAppKey {
    /// The key of the bot with this token.
    pub fn of_token(token: &str) -> Self {
        let mut mac = mac_with(b"WebAppData");
        mac.update(token.as_bytes());
        WebAppKey(mac.finalize().into_bytes().into())
    }

    fn mac(&self) -> HmacSha256 {
        mac_with(&self.0)
    }
}

/// An HMAC-SHA256 keyed with `key` (any length is a valid HMAC key).
fn mac_with(key: &[u8]) -> HmacSha256 {
    match <HmacSha256 as KeyInit>::new_from_slice(key) {
        Ok(mac) => mac,
        // HMAC takes keys of any length; this arm is never taken.
        Err(_) => <HmacSha256 as KeyInit>::new(&Default::default()),
    }
}

/// Why `initData` was refused. The adapters answer every kind alike (401, "open it from
/// the bot again"); the kinds are for logs and tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum InitDataError {
    /// Empty, or not a query string of `key=value` pairs (a bad escape, not UTF-8, a key
    /// given twice).
    Malformed,
    /// Longer than [`INIT_DATA_MAX_BYTES`] or with more than [`INIT_DATA_MAX_FIELDS`] fields.
    TooLong,
    /// No `hash` field.
    HashMissing,
    /// No `auth_date` field.
    AuthDateMissing,
    /// `auth_date` is not a whole number of seconds.
    AuthDateInvalid,
    /// `auth_date` is older than the limit.
    Expired,
    /// `auth_date` lies ahead of `now` by more than [`FUTURE_SKEW_SECONDS`].
    FromTheFuture,
    /// `hash` is not the data's HMAC under this bot's key.
    HashInvalid,
    /// `user` is not a Telegram user (JSON with a positive `id` and a `first_name`).
    UserInvalid,
}

impl InitDataError {
    /// A stable lowercase name of the kind (`hash_invalid`), for logs.
    pub fn as_str(self) -> &'static str {
        match self {
            InitDataError::Malformed => "malformed",
            InitDataError::TooLong => "too_long",
            InitDataError::HashMissing => "hash_missing",
            InitDataError::AuthDateMissing => "auth_date_missing",
            InitDataError::AuthDateInvalid => "auth_date_invalid",
            InitDataError::Expired => "expired",
            InitDataError::FromTheFuture => "from_the_future",
            InitDataError::HashInvalid => "hash_invalid",
            InitDataError::UserInvalid => "user_invalid",
        }
    }
}

impl fmt::Display for InitDataError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = match self {
            InitDataError::Malformed => "init data is not a query string of key=value pairs",
            InitDataError::TooLong => "init data is too long",
            InitDataError::HashMissing => "init data has no hash",
            InitDataError::AuthDateMissing => "init data has no auth_date",
            InitDataError::AuthDateInvalid => "init data's auth_date is not a number of seconds",
            InitDataError::Expired => "init data is expired",
            InitDataError::FromTheFuture => "init data's auth_date lies in the future",
            InitDataError::HashInvalid => "init data's hash does not match",
            InitDataError::UserInvalid => "init data's user is not a telegram user",
        };
        f.write_str(text)
    }
}

impl std::error::Error for InitDataError {}

/// The Telegram user a Mini App was opened by (`WebAppUser`), as far as the CRM reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebAppUser {
    /// `id`.
    pub id: TelegramUserId,
    /// `first_name`.
    pub first_name: String,
    /// `last_name`.
    pub last_name: Option<String>,
    /// `username`.
    pub username: Option<String>,
    /// `language_code` (an IETF tag such as `ru` or `pt-br`).
    pub language_code: Option<String>,
}

impl WebAppUser {
    /// The product's language closest to `language_code`, when Telegram sent one.
    pub fn language(&self) -> Option<Language> {
        self.language_code
            .as_deref()
            .filter(|code| !code.trim().is_empty())
            .map(Language::from_code)
    }
}

/// `initData` that passed [`validate_init_data`]: only that function makes one, so a value of
/// this type is proof that Telegram (or the sandbox emulator, with the emulated bot's token)
/// signed it for this bot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InitData {
    auth_date: i64,
    user: Option<WebAppUser>,
    query_id: Option<String>,
    start_param: Option<String>,
}

impl InitData {
    /// When Telegram signed it, in seconds since the epoch (`auth_date`).
    pub fn auth_date(&self) -> i64 {
        self.auth_date
    }

    /// Who opened the Mini App (`user`), when Telegram said.
    pub fn user(&self) -> Option<&WebAppUser> {
        self.user.as_ref()
    }

    /// `query_id`, when the Mini App was opened from an inline button.
    pub fn query_id(&self) -> Option<&str> {
        self.query_id.as_deref()
    }

    /// `start_param`, when the Mini App was opened from a link with one.
    pub fn start_param(&self) -> Option<&str> {
        self.start_param.as_deref()
    }
}

/// The `user` field as Telegram sends it (other fields are ignored).
#[derive(Deserialize)]
struct RawUser {
    id: serde_json::Value,
    first_name: String,
    last_name: Option<String>,
    username: Option<String>,
    language_code: Option<String>,
}

/// Validates `text` (the `initData` query string as Telegram hands it to the Mini App) with
/// the bot's key, at `now`, accepting an `auth_date` at most `max_age_seconds` old (see the
/// module doc for every step). Pure and fast: one HMAC over the data-check string.
///
/// # Errors
/// The [`InitDataError`] of the first step that fails.
pub fn validate_init_data(
    text: &str,
    key: &WebAppKey,
    now: Timestamp,
    max_age_seconds: u64,
) -> Result<InitData, InitDataError> {
    if text.len() > INIT_DATA_MAX_BYTES {
        return Err(InitDataError::TooLong);
    }
    let fields = parse_fields(text)?;
    let hash = field(&fields, "hash").ok_or(InitDataError::HashMissing)?;
    let auth_date = field(&fields, "auth_date").ok_or(InitDataError::AuthDateMissing)?;
    let auth_date: i64 = match auth_date.parse::<i64>() {
        Ok(seconds) if !auth_date.starts_with('+') => seconds,
        _ => return Err(InitDataError::AuthDateInvalid),
    };
    let now_seconds = now.millis().div_euclid(1_000);
    let age = i128::from(now_seconds) - i128::from(auth_date);
    if age > i128::from(max_age_seconds) {
        return Err(InitDataError::Expired);
    }
    if -age > i128::from(FUTURE_SKEW_SECONDS) {
        return Err(InitDataError::FromTheFuture);
    }
    let expected = decode_hex(hash).ok_or(InitDataError::HashInvalid)?;
    let mut mac = key.mac();
    mac.update(data_check_string(&fields).as_bytes());
    mac.verify_slice(&expected)
        .map_err(|_| InitDataError::HashInvalid)?;
    let user = match field(&fields, "user") {
        Some(json) => Some(parse_user(json)?),
        None => None,
    };
    Ok(InitData {
        auth_date,
        user,
        query_id: field(&fields, "query_id").map(str::to_string),
        start_param: field(&fields, "start_param").map(str::to_string),
    })
}

/// Signs `fields` (`key`, plain value pairs; any `hash` among them is dropped) with the bot's
/// key: the `initData` query string Telegram would hand the Mini App, values
/// percent-encoded, `hash` last. What the sandbox emulator gives its Mini App, and what
/// tests and benches sign with.
pub fn sign_init_data<'a>(
    key: &WebAppKey,
    fields: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> String {
    let fields: Vec<(String, String)> = fields
        .into_iter()
        .filter(|(name, _)| *name != "hash")
        .map(|(name, value)| (name.to_string(), value.to_string()))
        .collect();
    let mut mac = key.mac();
    mac.update(data_check_string(&fields).as_bytes());
    let hash: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect();
    let mut out = String::new();
    for (name, value) in &fields {
        out.push_str(&percent_encode(name));
        out.push('=');
        out.push_str(&percent_encode(value));
        out.push('&');
    }
    out.push_str("hash=");
    out.push_str(&hash);
    out
}

/// The `user` field's JSON for a user, as Telegram writes it (for [`sign_init_data`]).
pub fn user_json(user: &WebAppUser) -> String {
    let mut value = serde_json::json!({
        "id": user.id.get(),
        "first_name": user.first_name,
    });
    if let Some(last_name) = &user.last_name {
        value["last_name"] = serde_json::json!(last_name);
    }
    if let Some(username) = &user.username {
        value["username"] = serde_json::json!(username);
    }
    if let Some(code) = &user.language_code {
        value["language_code"] = serde_json::json!(code);
    }
    value.to_string()
}

fn field<'a>(fields: &'a [(String, String)], name: &str) -> Option<&'a str> {
    fields
        .iter()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.as_str())
}

/// Every field but `hash`, `key=value`, sorted by key, joined by `\n`.
fn data_check_string(fields: &[(String, String)]) -> String {
    let mut pairs: Vec<&(String, String)> =
        fields.iter().filter(|(key, _)| key != "hash").collect();
    pairs.sort_by(|a, b| a.0.cmp(&b.0));
    let mut out = String::new();
    for (index, (key, value)) in pairs.into_iter().enumerate() {
        if index > 0 {
            out.push('\n');
        }
        out.push_str(key);
        out.push('=');
        out.push_str(value);
    }
    out
}

fn parse_fields(text: &str) -> Result<Vec<(String, String)>, InitDataError> {
    if text.is_empty() {
        return Err(InitDataError::Malformed);
    }
    let mut fields: Vec<(String, String)> = Vec::new();
    for pair in text.split('&') {
        let (key, value) = pair.split_once('=').ok_or(InitDataError::Malformed)?;
        let key = percent_decode(key)?;
        if key.is_empty() || fields.iter().any(|(known, _)| *known == key) {
            return Err(InitDataError::Malformed);
        }
        if fields.len() == INIT_DATA_MAX_FIELDS {
            return Err(InitDataError::TooLong);
        }
        fields.push((key, percent_decode(value)?));
    }
    Ok(fields)
}

/// Decodes `application/x-www-form-urlencoded` text: `+` is a space, `%XX` a byte; the
/// bytes must be UTF-8.
fn percent_decode(text: &str) -> Result<String, InitDataError> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while let Some(&byte) = bytes.get(index) {
        match byte {
            b'+' => {
                out.push(b' ');
                index += 1;
            }
            b'%' => {
                let high = bytes.get(index + 1).copied().and_then(hex_value);
                let low = bytes.get(index + 2).copied().and_then(hex_value);
                match (high, low) {
                    (Some(high), Some(low)) => out.push(high << 4 | low),
                    _ => return Err(InitDataError::Malformed),
                }
                index += 3;
            }
            other => {
                out.push(other);
                index += 1;
            }
        }
    }
    String::from_utf8(out).map_err(|_| InitDataError::Malformed)
}

/// Percent-encodes every byte but the unreserved ones (RFC 3986: letters, digits, `-._~`).
fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

fn hex_value(byte: u8) -> Option<u8> {
    match byte {
        b'0'..=b'9' => Some(byte - b'0'),
        b'a'..=b'f' => Some(byte - b'a' + 10),
        b'A'..=b'F' => Some(byte - b'A' + 10),
        _ => None,
    }
}

/// 64 lowercase or uppercase hex characters as 32 bytes.
fn decode_hex(text: &str) -> Option<[u8; 32]> {
    let bytes = text.as_bytes();
    if bytes.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (index, byte) in out.iter_mut().enumerate() {
        let high = hex_value(*bytes.get(index * 2)?)?;
        let low = hex_value(*bytes.get(index * 2 + 1)?)?;
        *byte = high << 4 | low;
    }
    Some(out)
}

fn parse_user(json: &str) -> Result<WebAppUser, InitDataError> {
    let raw: RawUser = serde_json::from_str(json).map_err(|_| InitDataError::UserInvalid)?;
    let id = match &raw.id {
        serde_json::Value::Number(number) => number.as_i64(),
        serde_json::Value::String(text) => text.trim().parse::<i64>().ok(),
        _ => None,
    }
    .filter(|id| *id > 0)
    .ok_or(InitDataError::UserInvalid)?;
    Ok(WebAppUser {
        id: TelegramUserId::new(id),
        first_name: raw.first_name,
        last_name: raw.last_name,
        username: raw.username,
        language_code: raw.language_code,
    })
}

#[cfg(test)]
mod tests;
