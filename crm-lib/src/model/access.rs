//! Staff access records: web sessions and API tokens (the rules that create, check and end
//! them are in [`crate::sessions`] and [`crate::api_tokens`]).
//!
//! Neither record holds its secret: a session is keyed by the SHA-256 of its id, a token by
//! the SHA-256 of its text (OWASP ASVS 5.0 sections 7 and 9), so a copy of the data file holds
//! nothing usable as a cookie or a bearer token.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{ActorRef, ApiTokenId, OrgId, Timestamp, UserId};
use crate::{Error, Result};

/// The absolute lifetime of a session: 7 days after login, in milliseconds.
pub const SESSION_MAX_AGE_MS: i64 = 7 * 24 * 60 * 60 * 1000;

/// The SHA-256 of a session id: the key a session is stored under.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct SessionHash(pub(crate) [u8; 32]);

impl SessionHash {
    /// The hash of a session id as the browser sends it.
    pub fn of(session_id: &str) -> Self {
        SessionHash(Sha256::digest(session_id.as_bytes()).into())
    }

    /// Lower-case hex, 64 characters (safe to show: it cannot be turned back into the id).
    pub fn to_hex(self) -> String {
        self.0.iter().map(|byte| format!("{byte:02x}")).collect()
    }

    /// Parses 64 hex characters.
    ///
    /// # Errors
    /// [`crate::ErrorKind::InvalidInput`] on `session`.
    pub fn parse_hex(text: &str) -> Result<Self> {
        let bad = || Error::invalid("session", "is not a session reference");
        let text = text.trim();
        if text.len() != 64 || !text.is_ascii() {
            return Err(bad());
        }
        let mut bytes = [0u8; 32];
        for (index, byte) in bytes.iter_mut().enumerate() {
            *byte = u8::from_str_radix(text.get(index * 2..index * 2 + 2).ok_or_else(bad)?, 16)
                .map_err(|_| bad())?;
        }
        Ok(SessionHash(bytes))
    }
}

/// A stored web session. The session id itself is never stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Session {
    /// Whose.
    pub user: UserId,
    /// In which organization.
    pub org: OrgId,
    /// When the user logged in.
    pub created_at: Timestamp,
    /// The last request seen, as last persisted (the appliance persists it coarsely).
    pub last_seen_at: Timestamp,
    /// The CSRF token of every form of this session (32 hex characters).
    pub csrf: String,
    /// The address the login came from.
    pub ip: Option<String>,
    /// The browser of the login, cut to 256 characters.
    pub user_agent: Option<String>,
}

impl Session {
    /// When the session ends at the latest.
    pub fn expires_at(&self) -> Timestamp {
        self.created_at.plus_millis(SESSION_MAX_AGE_MS)
    }
}

/// The SHA-256 of an API token: the key it is stored under.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ApiTokenHash(pub(crate) [u8; 32]);

impl ApiTokenHash {
    /// The hash of a token as a client sends it.
    pub fn of(token: &str) -> Self {
        ApiTokenHash(Sha256::digest(token.as_bytes()).into())
    }
}

/// A stored API token. The token itself is never stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApiToken {
    /// The id, per organization.
    pub id: ApiTokenId,
    /// The organization (the token's key does not start with it, so the record carries it).
    pub org: OrgId,
    /// The user the token acts as.
    pub user: UserId,
    /// What the token is for, as its creator named it.
    pub name: String,
    /// Who created it.
    pub created_by: ActorRef,
    /// When.
    pub created_at: Timestamp,
}
