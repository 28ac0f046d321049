//! Password hashing: argon2id with OWASP's parameters, at most two hashes at a time.
//!
//! OWASP Password Storage Cheat Sheet: argon2id with m=19456 KiB, t=2, p=1. Each hash takes
//! tens of milliseconds of a core and 19 MiB of memory, so [`hash_password`] and
//! [`verify_password`] admit two callers at once (SPEC section 7) and queue the rest, which
//! keeps a burst of logins from starving the server.

use std::sync::{Condvar, Mutex};

use argon2::{Algorithm, Argon2, Params, PasswordHash, PasswordHasher, PasswordVerifier, Version};

use crate::{Error, Result};

/// A password as typed, checked for length. Its `Debug` never shows the text.
#[derive(Clone)]
pub struct Password(String);

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(***)")
    }
}

impl Password {
    /// The shortest accepted password, in characters (OWASP ASVS 5.0 6.2.1 asks for 8).
    pub const MIN_CHARS: usize = 8;
    /// The longest accepted password, in characters (ASVS allows at least 64).
    pub const MAX_CHARS: usize = 128;

    /// Checks the length (8 to 128 characters; any characters allowed).
    ///
    /// # Errors
    /// [`crate::ErrorKind::InvalidInput`] on `password`.
    pub fn parse(text: &str) -> Result<Self> {
        let chars = text.chars().count();
        if chars < Self::MIN_CHARS {
            return Err(Error::invalid(
                "password",
                format!("must be at least {} characters", Self::MIN_CHARS),
            ));
        }
        if chars > Self::MAX_CHARS {
            return Err(Error::invalid(
                "password",
                format!("must be at most {} characters", Self::MAX_CHARS),
            ));
        }
        Ok(Password(text.to_string()))
    }

    /// The text, for hashing.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// A random password of 20 characters from an unambiguous alphabet (about 115 bits), for new
/// administrators and resets.
pub fn generate_password() -> Result<Password> {
    Ok(Password(random_string(
        20,
        b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789",
    )?))
}

/// `len` characters drawn uniformly from `alphabet` with the operating system's generator.
pub(crate) fn random_string(len: usize, alphabet: &[u8]) -> Result<String> {
    let mut out = String::with_capacity(len);
    let limit = 256 - (256 % alphabet.len());
    while out.len() < len {
        let mut buffer = [0u8; 64];
        getrandom::fill(&mut buffer)
            .map_err(|error| Error::corrupt(format!("no randomness: {error}")))?;
        for byte in buffer {
            // Rejection sampling keeps every character equally likely.
            if (byte as usize) < limit && out.len() < len {
                out.push(alphabet[byte as usize % alphabet.len()] as char);
            }
        }
    }
    Ok(out)
}

struct Gate {
    busy: Mutex<usize>,
    freed: Condvar,
}

static GATE: Gate = Gate {
    busy: Mutex::new(0),
    freed: Condvar::new(),
};

/// How many hashes may run at once.
pub(crate) const MAX_CONCURRENT_HASHES: usize = 2;

fn gated<R>(f: impl FnOnce() -> R) -> R {
    {
        let mut busy = GATE
            .busy
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        while *busy >= MAX_CONCURRENT_HASHES {
            busy = GATE
                .freed
                .wait(busy)
                .unwrap_or_else(|poisoned| poisoned.into_inner());
        }
        *busy += 1;
    }
    let result = f();
    let mut busy = GATE
        .busy
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    *busy -= 1;
    GATE.freed.notify_one();
    result
}

fn argon2() -> Result<Argon2<'static>> {
    let params = Params::new(19_456, 2, 1, None)
        .map_err(|error| Error::corrupt(format!("argon2 parameters: {error}")))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// Hashes a password with argon2id (m=19456 KiB, t=2, p=1) and a random salt; returns the PHC
/// string. Blocks for the hash (tens of milliseconds) and while two others run.
pub(crate) fn hash_password(password: &Password) -> Result<String> {
    let argon2 = argon2()?;
    gated(|| {
        argon2
            .hash_password(password.expose().as_bytes())
            .map(|hash| hash.to_string())
            .map_err(|error| Error::corrupt(format!("cannot hash password: {error}")))
    })
}

/// Checks a password against a PHC string. Blocks like [`hash_password`]. A malformed stored
/// hash counts as a mismatch.
pub(crate) fn verify_password(password: &str, phc: &str) -> Result<bool> {
    let argon2 = argon2()?;
    let Ok(parsed) = phc.parse::<PasswordHash>() else {
        return Ok(false);
    };
    Ok(gated(|| {
        argon2.verify_password(password.as_bytes(), &parsed).is_ok()
    }))
}

/// A hash of a random password nobody knows, verified against when a login names an unknown
/// user so that the answer takes as long as for a known one (OWASP Authentication Cheat
/// Sheet). Computed once.
pub(crate) fn dummy_hash() -> Result<&'static str> {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    if let Some(hash) = DUMMY.get() {
        return Ok(hash);
    }
    let hash = hash_password(&generate_password()?)?;
    Ok(DUMMY.get_or_init(|| hash))
}
