//! OxaPay's merchant API as their documentation (docs.oxapay.com, v1) defines it, the parts
//! crm-lib decides on; the appliance makes the HTTP calls.
//!
//! - "Generate Invoice": `POST {base}/v1/payment/invoice` with the `merchant_api_key` header
//!   and a JSON body (`amount`, `currency`, `lifetime` in minutes 15-2880, `callback_url`,
//!   `order_id`, `description`); the answer's `data` holds `track_id` and `payment_url`.
//! - "Payment Information": `GET {base}/v1/payment/{track_id}` with the same header; `data`
//!   holds `track_id` and `status`.
//! - "Webhook": a JSON POST to `callback_url` when the status changes (`paying`, then
//!   `paid`), answered with HTTP 200 and `ok`. "OxaPay uses your MERCHANT_API_KEY as the HMAC
//!   shared secret key to generate an HMAC(sha512) signature of the raw POST data. The HMAC
//!   signature is sent as an HTTP header called HMAC" ([`signature_matches`]).
//! - The statuses ("Payment Status Table"): `new`, `waiting`, `paying`, `paid`,
//!   `manual_accept`, `underpaid`, `refunding`, `refunded`, `expired`; the legacy API also
//!   sends `Failed` and capitalizes them (`Paid`), so they are read case-insensitively
//!   ([`OxapayStatus::parse`]).

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha512;

use crate::{Error, Result};

/// The HTTP header the callback's signature arrives in.
pub const HMAC_HEADER: &str = "HMAC";

/// The header OxaPay's v1 API reads the merchant key from.
pub const MERCHANT_KEY_HEADER: &str = "merchant_api_key";

/// The largest callback body read, in bytes (OxaPay's are about a kilobyte).
pub const CALLBACK_MAX_BYTES: usize = 64 * 1024;

/// The most characters of a track id accepted.
pub const TRACK_ID_MAX_CHARS: usize = 128;

/// The lowercase hexadecimal HMAC-SHA512 of `body` keyed with `merchant_key`: the signature
/// OxaPay sends in the `HMAC` header (128 characters).
pub fn oxapay_signature(merchant_key: &str, body: &[u8]) -> String {
    // HMAC accepts keys of any length, so this never fails; an empty key signs too.
    let mut mac = match Hmac::<Sha512>::new_from_slice(merchant_key.as_bytes()) {
        Ok(mac) => mac,
        Err(_) => return String::new(),
    };
    mac.update(body);
    let digest = mac.finalize().into_bytes();
    digest.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// Whether `signature` (the `HMAC` header, hex in either case, surrounding spaces ignored)
/// is the HMAC-SHA512 of `body` with `merchant_key`, compared in constant time (every byte
/// is compared whatever the first difference).
pub fn signature_matches(merchant_key: &str, body: &[u8], signature: &str) -> bool {
    let expected = oxapay_signature(merchant_key, body);
    let given = signature.trim().to_ascii_lowercase();
    if expected.is_empty() || expected.len() != given.len() {
        return false;
    }
    expected
        .bytes()
        .zip(given.bytes())
        .fold(0u8, |difference, (a, b)| difference | (a ^ b))
        == 0
}

/// What an OxaPay status means for an invoice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OxapayStatus {
    /// Paid (`paid`, `manual_accept`): credit the tokens once.
    Paid,
    /// Not paid in time (`expired`).
    Expired,
    /// Failed (`failed`, legacy).
    Failed,
    /// Still on its way (`new`, `waiting`, `paying`, `underpaid`, ...): nothing changes.
    Waiting,
}

impl OxapayStatus {
    /// Reads a status as OxaPay sends it, in any case.
    pub fn parse(text: &str) -> OxapayStatus {
        match text.trim().to_ascii_lowercase().as_str() {
            "paid" | "manual_accept" => OxapayStatus::Paid,
            "expired" => OxapayStatus::Expired,
            "failed" => OxapayStatus::Failed,
            _ => OxapayStatus::Waiting,
        }
    }
}

/// The fields of a callback crm-lib reads: `track_id` (a string or a number) and `status`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OxapayCallback {
    /// OxaPay's `track_id`.
    pub track_id: String,
    /// The `status` as sent.
    pub status: String,
}

impl OxapayCallback {
    /// Reads a callback's JSON body.
    ///
    /// # Errors
    /// Invalid input on `body` when it is not a JSON object with a `track_id` (1-128
    /// characters) and a `status`.
    pub fn parse(body: &[u8]) -> Result<OxapayCallback> {
        let value: serde_json::Value = serde_json::from_slice(body)
            .map_err(|_| Error::invalid("body", "the callback is not JSON"))?;
        let track_id = match value.get("track_id").or_else(|| value.get("trackId")) {
            Some(serde_json::Value::String(text)) => text.trim().to_string(),
            Some(serde_json::Value::Number(number)) => number.to_string(),
            _ => return Err(Error::invalid("track_id", "the callback has no track_id")),
        };
        if track_id.is_empty() || track_id.chars().count() > TRACK_ID_MAX_CHARS {
            return Err(Error::invalid(
                "track_id",
                format!("a track_id is 1 to {TRACK_ID_MAX_CHARS} characters"),
            ));
        }
        let status = value
            .get("status")
            .and_then(serde_json::Value::as_str)
            .ok_or_else(|| Error::invalid("status", "the callback has no status"))?
            .to_string();
        Ok(OxapayCallback { track_id, status })
    }
}
