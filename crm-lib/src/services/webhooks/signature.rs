//! The Standard Webhooks signature (<https://www.standardwebhooks.com>, "Signature
//! scheme"): `v1,` and the base64 of HMAC-SHA256 over `{id}.{timestamp}.{body}`, keyed with
//! the bytes the secret's base64 (after `whsec_`) encodes. Pure functions: no storage, no
//! clock.

use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::{Error, Result};

/// The prefix of every signing secret.
pub const SECRET_PREFIX: &str = "whsec_";

/// Random bytes in a new secret (Standard Webhooks asks for 24 to 64).
pub const SECRET_BYTES: usize = 32;

/// The header carrying the message id (`msg_...`).
pub const HEADER_ID: &str = "webhook-id";
/// The header carrying the attempt's time, in whole seconds since the Unix epoch.
pub const HEADER_TIMESTAMP: &str = "webhook-timestamp";
/// The header carrying the signature (`v1,<base64>`).
pub const HEADER_SIGNATURE: &str = "webhook-signature";

/// The key bytes of a secret: the base64 after [`SECRET_PREFIX`] (a secret without the prefix
/// is taken as base64 whole, as the specification's libraries do).
///
/// # Errors
/// Invalid input on `secret` when it is not base64 or encodes no bytes.
pub fn secret_key(secret: &str) -> Result<Vec<u8>> {
    let encoded = secret.strip_prefix(SECRET_PREFIX).unwrap_or(secret);
    let key = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .map_err(|_| Error::invalid("secret", "a signing secret is whsec_ and base64"))?;
    if key.is_empty() {
        return Err(Error::invalid(
            "secret",
            "a signing secret has no key bytes",
        ));
    }
    Ok(key)
}

/// The `webhook-signature` value of a message: `v1,` and the base64 of
/// HMAC-SHA256(key = [`secret_key`], message = `{id}.{timestamp}.{body}`), `timestamp` in
/// whole seconds since the Unix epoch.
///
/// # Errors
/// Invalid input on `secret` (see [`secret_key`]).
pub fn sign(secret: &str, id: &str, timestamp: i64, body: &str) -> Result<String> {
    let key = secret_key(secret)?;
    let mut mac = Hmac::<Sha256>::new_from_slice(&key)
        .map_err(|_| Error::invalid("secret", "a signing secret has no usable key"))?;
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body.as_bytes());
    let digest = mac.finalize().into_bytes();
    Ok(format!(
        "v1,{}",
        base64::engine::general_purpose::STANDARD.encode(digest)
    ))
}

/// A new signing secret: [`SECRET_PREFIX`] and the base64 of [`SECRET_BYTES`] random bytes,
/// drawn with the project's random helper ([`crate::random_string`], as hex digits).
///
/// # Errors
/// Storage when the system has no randomness.
pub fn generate_secret() -> Result<String> {
    let hex = crate::random_string(SECRET_BYTES * 2, b"0123456789abcdef")?;
    let bytes: Vec<u8> = hex
        .as_bytes()
        .chunks(2)
        .map(|pair| (nibble(pair[0]) << 4) | nibble(pair.get(1).copied().unwrap_or(b'0')))
        .collect();
    Ok(format!(
        "{SECRET_PREFIX}{}",
        base64::engine::general_purpose::STANDARD.encode(bytes)
    ))
}

/// A new message id: `msg_` and 24 random letters and digits.
///
/// # Errors
/// Storage when the system has no randomness.
pub fn generate_message_id() -> Result<String> {
    Ok(format!(
        "msg_{}",
        crate::random_string(24, crate::ALPHANUMERIC)?
    ))
}

fn nibble(digit: u8) -> u8 {
    match digit {
        b'0'..=b'9' => digit - b'0',
        b'a'..=b'f' => digit - b'a' + 10,
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_specification_vector_is_signed_as_published() {
        let signature = sign(
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265330,
            r#"{"test": 2432232314}"#,
        )
        .unwrap();
        assert_eq!(signature, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    #[test]
    fn a_new_secret_decodes_to_32_bytes_and_differs_each_time() {
        let first = generate_secret().unwrap();
        let second = generate_secret().unwrap();
        assert!(first.starts_with(SECRET_PREFIX));
        assert_eq!(secret_key(&first).unwrap().len(), SECRET_BYTES);
        assert_ne!(first, second);
        let id = generate_message_id().unwrap();
        assert!(id.starts_with("msg_") && id.len() == 28, "{id}");
    }

    #[test]
    fn a_secret_that_is_not_base64_is_refused() {
        let error = sign("whsec_!!!", "msg_1", 1, "{}").unwrap_err();
        assert_eq!(error.kind(), crate::ErrorKind::InvalidInput);
        assert!(sign("whsec_", "msg_1", 1, "{}").is_err());
    }
}
