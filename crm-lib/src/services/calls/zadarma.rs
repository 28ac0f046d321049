//! Zadarma's PBX notifications ("API - incoming call notifications"; the field names and
//! signature strings of Zadarma's own library, `zadarma/user-api-v1`, `lib/Webhook/*.php`),
//! read as the documentation defines them:
//!
//! - The PBX sends each notification as a form-encoded POST (`application/x-www-form-urlencoded`)
//!   with an `event` field, and its signature in the `Signature` HTTP header: "Signature is
//!   send only if you have your API key and secret".
//! - Before it uses a link, Zadarma checks it with a GET carrying `zd_echo`, and the link
//!   must answer with the value itself (`if (isset($_GET['zd_echo'])) exit($_GET['zd_echo']);`).
//!   The appliance answers that before anything else, see `crm-appliance`'s `web/zadarma.rs`.
//! - The signature: "Creating a verification signature for notification of incoming calls,
//!   PHP example: `$signatureTest = base64_encode(hash_hmac('sha1', $_POST['caller_id'] .
//!   $_POST['called_did'] . $_POST['call_start'], API_SECRET));`". PHP's `hash_hmac`
//!   returns the HMAC as lowercase hexadecimal unless asked for raw bytes, so the signature
//!   is the base64 of those 40 hex characters ([`zadarma_signature`]).
//! - The fields each event signs, concatenated in this order (`getSignatureString()`):
//!   `NOTIFY_START`, `NOTIFY_INTERNAL` and `NOTIFY_END`: `caller_id . called_did .
//!   call_start`; `NOTIFY_ANSWER`: `caller_id . destination . call_start`;
//!   `NOTIFY_OUT_START` and `NOTIFY_OUT_END`: `internal . destination . call_start`
//!   ([`signed_text`]).
//! - The fields: `call_start` (the call start time), `pbx_call_id` (the call id, the same in
//!   every notification of one call), `caller_id` (the caller's number), `called_did` (the
//!   number that was called), `destination` (the number called, in `NOTIFY_ANSWER` and the
//!   outgoing events), `internal` ((optional) extension number), and at the end `duration`
//!   (length in seconds), `disposition` (call status: 'answered', 'busy', 'cancel', 'no
//!   answer', 'failed', 'no money', 'unallocated number', 'no limit', 'no day limit', 'line
//!   limit', 'no money, no limit'), `status_code` (call status code Q.931), `is_recorded`
//!   (1 - there is a call recording, 0 - there is no call recording) and `call_id_with_rec`
//!   (the ID of the call with call recording).

use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use sha1::Sha1;

use crate::model::CallEvent;

/// The HTTP header a notification's signature arrives in.
pub const SIGNATURE_HEADER: &str = "Signature";

/// The query parameter of Zadarma's link check, answered with its own value.
pub const ECHO_PARAMETER: &str = "zd_echo";

/// The largest notification accepted, in form fields (Zadarma sends at most a dozen).
pub const MAX_FIELDS: usize = 64;

/// A PBX notification as received: the form's fields, in order. A field sent twice keeps
/// its first value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ZadarmaNotification {
    fields: Vec<(String, String)>,
}

impl ZadarmaNotification {
    /// A notification of these form fields (already percent-decoded).
    pub fn from_fields(fields: impl IntoIterator<Item = (String, String)>) -> Self {
        ZadarmaNotification {
            fields: fields.into_iter().collect(),
        }
    }

    /// The value of field `name`, when sent.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(field, _)| field == name)
            .map(|(_, value)| value.as_str())
    }

    /// The `event` field as sent (`NOTIFY_START`).
    pub fn event_name(&self) -> &str {
        self.get("event").unwrap_or_default()
    }

    /// The number of fields.
    pub fn len(&self) -> usize {
        self.fields.len()
    }

    /// Whether no field was sent.
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// The fields, in the order sent (for a client that signs and sends one).
    pub fn fields(&self) -> &[(String, String)] {
        &self.fields
    }
}

/// The text `event`'s signature covers: its signed fields concatenated, a missing field
/// read as empty (as PHP reads a missing `$_POST` entry). See the module documentation for
/// which fields each event signs.
pub fn signed_text(event: CallEvent, notification: &ZadarmaNotification) -> String {
    let field = |name| notification.get(name).unwrap_or_default();
    let parts = match event {
        CallEvent::Start | CallEvent::Internal | CallEvent::End => {
            [field("caller_id"), field("called_did"), field("call_start")]
        }
        CallEvent::Answer => [
            field("caller_id"),
            field("destination"),
            field("call_start"),
        ],
        CallEvent::OutStart | CallEvent::OutEnd => {
            [field("internal"), field("destination"), field("call_start")]
        }
    };
    parts.concat()
}

/// Zadarma's signature of `text` with the API secret: `base64(hex(HMAC-SHA1(secret,
/// text)))`, the hexadecimal in lowercase, as PHP's `base64_encode(hash_hmac('sha1', $text,
/// $secret))` computes it.
pub fn zadarma_signature(secret: &str, text: &str) -> String {
    // HMAC takes a key of any length, so this never fails.
    let mut mac = match Hmac::<Sha1>::new_from_slice(secret.as_bytes()) {
        Ok(mac) => mac,
        Err(_) => return String::new(),
    };
    mac.update(text.as_bytes());
    let digest = mac.finalize().into_bytes();
    let mut hex = String::with_capacity(digest.len() * 2);
    for byte in digest.iter() {
        hex.push(char::from(HEX[usize::from(byte >> 4)]));
        hex.push(char::from(HEX[usize::from(byte & 0x0f)]));
    }
    base64::engine::general_purpose::STANDARD.encode(hex)
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Whether `signature` (the `Signature` header) is the signature of `notification` as
/// `event` with `secret`. Compared in constant time.
pub fn signature_matches(
    secret: &str,
    event: CallEvent,
    notification: &ZadarmaNotification,
    signature: &str,
) -> bool {
    let expected = zadarma_signature(secret, &signed_text(event, notification));
    let given = signature.trim().as_bytes();
    expected.len() == given.len()
        && expected
            .as_bytes()
            .iter()
            .zip(given)
            .fold(0u8, |diff, (a, b)| diff | (a ^ b))
            == 0
}

/// A notification signed as Zadarma signs it, for tests, the benchmark and the sandbox:
/// `fields` (with `event` set to `event`'s name) and the `Signature` header's value.
pub fn sign_notification(
    secret: &str,
    event: CallEvent,
    fields: &[(&str, &str)],
) -> (ZadarmaNotification, String) {
    let mut all = vec![("event".to_string(), event.as_str().to_string())];
    all.extend(
        fields
            .iter()
            .filter(|(name, _)| *name != "event")
            .map(|(name, value)| (name.to_string(), value.to_string())),
    );
    let notification = ZadarmaNotification::from_fields(all);
    let signature = zadarma_signature(secret, &signed_text(event, &notification));
    (notification, signature)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_the_base64_of_the_lowercase_hex_hmac_sha1_as_php_computes_it() {
        // RFC 2202's HMAC-SHA1 test case 2: key "Jefe", data "what do ya want for nothing?"
        // gives effcdf6ae5eb2fa2d27416d5f184df9c259a7c79; PHP's base64_encode of that hex.
        assert_eq!(
            zadarma_signature("Jefe", "what do ya want for nothing?"),
            "ZWZmY2RmNmFlNWViMmZhMmQyNzQxNmQ1ZjE4NGRmOWMyNTlhN2M3OQ=="
        );
    }

    #[test]
    fn each_event_signs_the_fields_the_documentation_lists_in_order() {
        let notification = ZadarmaNotification::from_fields(
            [
                ("caller_id", "A"),
                ("called_did", "B"),
                ("destination", "C"),
                ("internal", "D"),
                ("call_start", "E"),
            ]
            .map(|(name, value)| (name.to_string(), value.to_string())),
        );
        let text = |event| signed_text(event, &notification);
        assert_eq!(text(CallEvent::Start), "ABE");
        assert_eq!(text(CallEvent::Internal), "ABE");
        assert_eq!(text(CallEvent::End), "ABE");
        assert_eq!(text(CallEvent::Answer), "ACE");
        assert_eq!(text(CallEvent::OutStart), "DCE");
        assert_eq!(text(CallEvent::OutEnd), "DCE");
    }

    #[test]
    fn a_signature_of_other_fields_or_another_secret_does_not_match() {
        let fields = [
            ("caller_id", "79161234567"),
            ("called_did", "74951234567"),
            ("call_start", "2026-12-05 10:00:00"),
            ("pbx_call_id", "in_1"),
        ];
        let (notification, signature) = sign_notification("s3cret", CallEvent::Start, &fields);
        assert!(signature_matches(
            "s3cret",
            CallEvent::Start,
            &notification,
            &signature
        ));
        assert!(!signature_matches(
            "other",
            CallEvent::Start,
            &notification,
            &signature
        ));
        assert!(!signature_matches(
            "s3cret",
            CallEvent::OutStart,
            &notification,
            &signature
        ));
        assert!(!signature_matches(
            "s3cret",
            CallEvent::Start,
            &notification,
            ""
        ));
        let (changed, _) = sign_notification(
            "s3cret",
            CallEvent::Start,
            &[
                ("caller_id", "79160000000"),
                ("called_did", "74951234567"),
                ("call_start", "2026-12-05 10:00:00"),
            ],
        );
        assert!(!signature_matches(
            "s3cret",
            CallEvent::Start,
            &changed,
            &signature
        ));
    }
}
