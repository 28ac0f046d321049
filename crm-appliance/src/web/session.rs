//! Session cookies and the in-memory session cache.
//!
//! Sessions live in crm-lib (`crm_lib::sessions`): 128-bit random ids, stored as SHA-256, with
//! a 7-day absolute lifetime and the idle timeout of `--session-idle-minutes`. This module
//! keeps two things in memory so that an ordinary page view writes nothing and usually reads
//! no session record:
//!
//! - **last seen**: every request moves the session's last-seen time in memory; it is written
//!   to the store at most once a minute per session ([`PERSIST_EVERY_MS`]), in the
//!   background. The idle check uses the later of the two, so the only effect of a restart is
//!   that up to a minute of activity is forgotten (a session may end that much early). A write
//!   per request would put the session table on the group-commit writer's hot path for every
//!   page view (SPEC section 7 asks for 10,000 list pages/s).
//! - **the resolved session** (user, permissions, CSRF token), reused for at most
//!   [`CACHE_TTL_MS`]. Changes made through this process (logout, revoke, disabling a user,
//!   role and password changes, and every `crm` command over the admin channel, which may
//!   have disabled a user or a whole organization) evict the entries at once.
//!
//! A `std::sync::Mutex` guards the map: every critical section is a hash lookup or insert,
//! never held across an await or a store call.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crm_lib::{
    model::{OrgId, SessionHash, Timestamp, UserId},
    sessions::ActiveSession,
};

/// The cookie name over plain HTTP.
pub const COOKIE: &str = "crm_session";
/// The cookie name behind TLS: the `__Host-` prefix pins it to this host, path `/`, Secure.
pub const SECURE_COOKIE: &str = "__Host-crm_session";
/// The pre-session cookie that protects the login form from cross-site posts.
pub const LOGIN_COOKIE: &str = "crm_login";
/// The same behind TLS.
pub const SECURE_LOGIN_COOKIE: &str = "__Host-crm_login";

/// How long a resolved session is reused before it is read again (2 s).
pub const CACHE_TTL_MS: u64 = 2_000;
/// The last-seen time is persisted at most this often per session (one minute).
pub const PERSIST_EVERY_MS: i64 = 60_000;
/// The cache forgets everything past this many entries (a bound, not a working size).
const CACHE_MAX: usize = 50_000;

struct Entry {
    active: ActiveSession,
    fetched: Instant,
    last_seen: Timestamp,
    persisted: Timestamp,
}

/// What a request learns from the cache.
pub enum Cached {
    /// A fresh entry, and whether its last-seen time is due to be persisted.
    Hit(Box<ActiveSession>, Option<Timestamp>),
    /// Not cached (or stale); the last-seen time kept in memory, if any.
    Miss(Option<Timestamp>),
}

/// The in-memory session cache. Cheap to share behind the app state.
#[derive(Default)]
pub struct SessionCache {
    entries: Mutex<HashMap<SessionHash, Entry>>,
    /// Users whose last cached session ended (logout, revoke) since the operators sweep last
    /// asked ([`SessionCache::activity`]), with their organization.
    ended: Mutex<Vec<(OrgId, UserId)>>,
}

/// One staff user's browser activity, for the operators module's sweep.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UserActivity {
    /// Their organization.
    pub org: OrgId,
    /// The user.
    pub user: UserId,
    /// Their latest request through a live session; `None` when every session they had
    /// ended (logged out, revoked, or idle past the session timeout).
    pub last_seen: Option<Timestamp>,
}

impl SessionCache {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<SessionHash, Entry>> {
        self.entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Looks a session up, marks it seen `now`, and says whether to persist the last-seen
    /// time.
    pub fn get(&self, hash: SessionHash, now: Timestamp) -> Cached {
        let mut entries = self.lock();
        match entries.get_mut(&hash) {
            Some(entry) if entry.fetched.elapsed() < Duration::from_millis(CACHE_TTL_MS) => {
                let seen = entry.last_seen;
                entry.last_seen = entry.last_seen.max(now);
                let persist = if now.millis() - entry.persisted.millis() >= PERSIST_EVERY_MS {
                    entry.persisted = now;
                    Some(now)
                } else {
                    None
                };
                let mut active = entry.active.clone();
                active.session.last_seen_at = active.session.last_seen_at.max(seen);
                Cached::Hit(Box::new(active), persist)
            }
            Some(entry) => Cached::Miss(Some(entry.last_seen)),
            None => Cached::Miss(None),
        }
    }

    /// Stores a session just read from the store, seen `now`; says whether to persist.
    pub fn put(&self, active: ActiveSession, now: Timestamp) -> Option<Timestamp> {
        let mut entries = self.lock();
        if entries.len() >= CACHE_MAX {
            entries.clear();
        }
        let persisted = active.session.last_seen_at;
        let persist = (now.millis() - persisted.millis() >= PERSIST_EVERY_MS).then_some(now);
        entries.insert(
            active.hash,
            Entry {
                active,
                fetched: Instant::now(),
                last_seen: now,
                persisted: persist.unwrap_or(persisted),
            },
        );
        persist
    }

    /// Forgets one session (logout, revoke, expiry).
    pub fn evict(&self, hash: SessionHash) {
        let mut entries = self.lock();
        if let Some(entry) = entries.remove(&hash) {
            let (org, user) = (entry.active.session.org, entry.active.user.id);
            if !entries.values().any(|other| other.active.user.id == user) {
                drop(entries);
                self.ended
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner())
                    .push((org, user));
            }
        }
    }

    /// Each staff user's activity as this process saw it (the operators module's automatic
    /// away and offline): the latest request of every user with a cached session, `None`
    /// for one whose sessions are all idle past `idle_ms` or ended since the last call.
    pub fn activity(&self, now: Timestamp, idle_ms: i64) -> Vec<UserActivity> {
        let mut latest: HashMap<(OrgId, UserId), Option<Timestamp>> = HashMap::new();
        for (org, user) in self
            .ended
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .drain(..)
        {
            latest.insert((org, user), None);
        }
        for entry in self.lock().values() {
            let seen = entry.last_seen.max(entry.active.session.last_seen_at);
            let live = now.millis() - seen.millis() <= idle_ms;
            let slot = latest
                .entry((entry.active.session.org, entry.active.user.id))
                .or_insert(None);
            if live {
                *slot = Some(slot.map_or(seen, |other| other.max(seen)));
            }
        }
        latest
            .into_iter()
            .map(|((org, user), last_seen)| UserActivity {
                org,
                user,
                last_seen,
            })
            .collect()
    }

    /// Forgets every session of a user of `org` (disabled, roles or password changed). User
    /// ids are numbered per organization, so the organization is part of who they are.
    pub fn evict_user(&self, org: OrgId, user: UserId) {
        self.lock()
            .retain(|_, entry| entry.active.user.id != user || entry.active.session.org != org);
    }

    /// Forgets everything (a role's permissions changed).
    pub fn clear(&self) {
        self.lock().clear();
    }
}

/// The session cookie's name: `__Host-` prefixed behind TLS.
pub fn cookie_name(secure: bool) -> &'static str {
    if secure { SECURE_COOKIE } else { COOKIE }
}

/// The login form cookie's name.
pub fn login_cookie_name(secure: bool) -> &'static str {
    if secure {
        SECURE_LOGIN_COOKIE
    } else {
        LOGIN_COOKIE
    }
}

/// A `Set-Cookie` value: HttpOnly, SameSite=Lax, path `/`, Secure behind TLS. `max_age` in
/// seconds; 0 deletes the cookie.
pub fn set_cookie(name: &str, value: &str, secure: bool, max_age: i64) -> String {
    let mut cookie = format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}");
    if secure {
        cookie.push_str("; Secure");
    }
    cookie
}

/// The value of cookie `name` in the request's `Cookie` headers.
pub fn read_cookie<'a>(headers: &'a axum::http::HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.trim())
}
