//! Password hashing: argon2id with OWASP's parameters, at most two hashes at a time.
//!
//! OWASP Password Storage Cheat Sheet: argon2id with m=19456 KiB, t=2, p=1. Each hash takes
//! tens of milliseconds of a core and 19 MiB of memory, so [`hash_password`] and
//! [`verify_password`] admit two callers at once (SPEC section 7) and queue the rest, which
//! keeps a burst of logins from starving the server.

use std::sync::{Condvar, Mutex};

use argon2::password_hash::phc::{Output, ParamsString, Salt};
use argon2::{Algorithm, Argon2, Block, Params, PasswordHash, Version};

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

/// The argon2 working memory of one running hash (19 MiB at our parameters), handed to the
/// next hash while others wait. Allocating it anew for every hash on whichever thread runs
/// the login makes glibc's allocator keep a copy per thread arena: 50 logins at once grew the
/// appliance by 900 MiB (measured with `benches/run.sh`). With the buffers reused, hashing
/// holds at most about 38 MiB however many logins queue, and once no hash runs or waits the
/// buffers are freed, so the memory is not held between bursts.
type Memory = Vec<Block>;

struct GateState {
    busy: usize,
    waiting: usize,
    spare: Vec<Memory>,
}

struct Gate {
    state: Mutex<GateState>,
    freed: Condvar,
}

static GATE: Gate = Gate {
    state: Mutex::new(GateState {
        busy: 0,
        waiting: 0,
        spare: Vec::new(),
    }),
    freed: Condvar::new(),
};

/// How many hashes may run at once.
pub(crate) const MAX_CONCURRENT_HASHES: usize = 2;

/// The largest argon2 memory a stored hash may ask for when it is verified (64 MiB); a
/// larger `m` counts as a mismatch rather than an allocation.
const MAX_MEMORY_KIB: u32 = 64 * 1024;

/// Gives a working memory back and lets the next caller in, also when the hash panicked.
/// The last hash of a burst (none running, none waiting) frees the memories instead.
struct Permit(Option<Memory>);

impl Drop for Permit {
    fn drop(&mut self) {
        let freed = {
            let mut state = GATE
                .state
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            state.busy -= 1;
            if let Some(memory) = self.0.take() {
                state.spare.push(memory);
            }
            GATE.freed.notify_one();
            if state.busy == 0 && state.waiting == 0 {
                std::mem::take(&mut state.spare)
            } else {
                Vec::new()
            }
        };
        // Freed outside the lock: returning 38 MiB to the allocator takes a moment.
        drop(freed);
    }
}

/// Runs `f` with a working memory of `blocks` argon2 blocks once fewer than
/// [`MAX_CONCURRENT_HASHES`] others run.
fn gated<R>(blocks: usize, f: impl FnOnce(&mut [Block]) -> R) -> R {
    let mut permit = {
        let mut state = GATE
            .state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        while state.busy >= MAX_CONCURRENT_HASHES {
            state.waiting += 1;
            state = GATE
                .freed
                .wait(state)
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            state.waiting -= 1;
        }
        state.busy += 1;
        Permit(Some(state.spare.pop().unwrap_or_default()))
    };
    let memory = permit.0.get_or_insert_with(Vec::new);
    if memory.len() != blocks {
        memory.clear();
        memory.resize(blocks, Block::new());
    }
    f(memory)
}

fn params() -> Result<Params> {
    Params::new(19_456, 2, 1, None)
        .map_err(|error| Error::corrupt(format!("argon2 parameters: {error}")))
}

/// Hashes a password with argon2id (m=19456 KiB, t=2, p=1) and a random 16-byte salt; returns
/// the PHC string (`$argon2id$v=19$m=19456,t=2,p=1$SALT$HASH`). Blocks for the hash (tens of
/// milliseconds) and while two others run.
pub(crate) fn hash_password(password: &Password) -> Result<String> {
    let params = params()?;
    let failed =
        |error: &dyn std::fmt::Display| Error::corrupt(format!("cannot hash password: {error}"));
    let mut salt = [0u8; Salt::RECOMMENDED_LENGTH];
    getrandom::fill(&mut salt)
        .map_err(|error| Error::corrupt(format!("no randomness: {error}")))?;
    let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
    gated(params.block_count(), |memory| {
        argon2.hash_password_into_with_memory(password.expose().as_bytes(), &salt, &mut out, memory)
    })
    .map_err(|error| failed(&error))?;
    let hash = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params).map_err(|error| failed(&error))?,
        salt: Some(Salt::new(&salt).map_err(|error| failed(&error))?),
        hash: Some(Output::new(&out).map_err(|error| failed(&error))?),
    };
    Ok(hash.to_string())
}

/// Checks a password against a PHC string with the algorithm, version and parameters the
/// string names. Blocks like [`hash_password`]. A malformed stored hash, or one asking for
/// more than 64 MiB, counts as a mismatch; the comparison is constant-time.
pub(crate) fn verify_password(password: &str, phc: &str) -> Result<bool> {
    let Ok(parsed) = PasswordHash::new(phc) else {
        return Ok(false);
    };
    let (Ok(algorithm), Ok(params), Some(salt), Some(expected)) = (
        Algorithm::try_from(parsed.algorithm.as_str()),
        Params::try_from(&parsed),
        parsed.salt.as_ref(),
        parsed.hash.as_ref(),
    ) else {
        return Ok(false);
    };
    let version = match parsed.version.map(Version::try_from) {
        None => Version::V0x13,
        Some(Ok(version)) => version,
        Some(Err(_)) => return Ok(false),
    };
    if params.m_cost() > MAX_MEMORY_KIB {
        return Ok(false);
    }
    let argon2 = Argon2::new(algorithm, version, params.clone());
    let mut out = vec![0u8; expected.len()];
    let computed = gated(params.block_count(), |memory| {
        argon2.hash_password_into_with_memory(password.as_bytes(), salt, &mut out, memory)
    });
    if computed.is_err() {
        return Ok(false);
    }
    Ok(Output::new(&out).is_ok_and(|output| output == *expected))
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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use argon2::{PasswordHasher, PasswordVerifier};

    use super::*;

    #[test]
    fn our_hashes_are_standard_phc_strings_and_standard_ones_verify() {
        let password = Password::parse("correct horse battery").unwrap();
        let ours = hash_password(&password).unwrap();
        assert!(
            ours.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{ours}"
        );
        // The argon2 crate's own verifier accepts ours...
        let parsed = PasswordHash::new(&ours).unwrap();
        let standard = Argon2::new(Algorithm::Argon2id, Version::V0x13, params().unwrap());
        assert!(
            standard
                .verify_password(b"correct horse battery", &parsed)
                .is_ok()
        );
        // ...and ours accepts the crate's (the format of hashes stored before the memory pool).
        let theirs = standard
            .hash_password(b"correct horse battery")
            .unwrap()
            .to_string();
        assert!(verify_password("correct horse battery", &theirs).unwrap());
        assert!(verify_password("correct horse battery", &ours).unwrap());
        assert!(!verify_password("correct horse batterY", &ours).unwrap());
        assert!(!verify_password("correct horse battery", "not a hash").unwrap());
        // Two hashes of one password differ by their salt.
        assert_ne!(ours, hash_password(&password).unwrap());
    }

    #[test]
    fn a_stored_hash_asking_for_too_much_memory_is_a_mismatch() {
        let greedy = "$argon2id$v=19$m=1048576,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$\
                      AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
        assert!(!verify_password("whatever password", greedy).unwrap());
    }

    #[test]
    fn many_hashes_at_once_reuse_at_most_two_working_memories() {
        let threads: Vec<_> = (0..6)
            .map(|index| {
                std::thread::spawn(move || {
                    let password = Password::parse(&format!("password number {index}")).unwrap();
                    let hash = hash_password(&password).unwrap();
                    verify_password(password.expose(), &hash).unwrap()
                })
            })
            .collect();
        for thread in threads {
            assert!(thread.join().unwrap());
        }
        // Other tests of this binary may be hashing right now; the pool still never holds
        // more memories than may be in use at once.
        let state = GATE.state.lock().unwrap();
        assert!(
            state.spare.len() <= MAX_CONCURRENT_HASHES,
            "{}",
            state.spare.len()
        );
    }
}
