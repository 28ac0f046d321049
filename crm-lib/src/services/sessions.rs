//! Web sessions of staff users (OWASP ASVS 5.0 section 7): login, lookup with the absolute and
//! idle lifetimes, logout, revocation, and the end of every session of a disabled user.
//!
//! A session id is 128 random bits, given to the browser once as 32 hex characters. The store
//! keeps only its SHA-256 ([`SessionHash`]), so a stolen copy of the data file does not hold a
//! usable cookie. Each session carries its own CSRF token (the synchronizer token pattern).
//!
//! Rules decided here: a session lives at most [`SESSION_MAX_AGE_MS`] (7 days, the C0de
//! seed's) after login whatever the activity; it ends after the caller's idle timeout without
//! a request; a disabled user's sessions are refused, and disabling a user deletes them all.

use crate::model::*;
use crate::password::{self, Password};
use crate::store::declarations::session_by_user_prefix;
use crate::store::{Key, ViewExt, codec, tables};
use crate::{Crm, Error, Result, Tx, View};

use super::team::load_user;
use super::{permissions_of, resolve};

/// A session just created by [`Crm::login`]: the id to hand to the browser once, and the
/// record.
#[derive(Debug, Clone)]
pub struct NewSession {
    /// The session id (32 hex characters): goes into the cookie and nowhere else.
    pub id: String,
    /// Its hash, the key.
    pub hash: SessionHash,
    /// The record.
    pub session: Session,
    /// The user who logged in.
    pub user: User,
}

/// A live session, resolved: the record, its user and their permissions.
#[derive(Debug, Clone)]
pub struct ActiveSession {
    /// Its hash.
    pub hash: SessionHash,
    /// The record.
    pub session: Session,
    /// The user, active.
    pub user: User,
    /// Their permissions through their roles.
    pub permissions: PermissionSet,
    /// The modules their organization runs (SPEC 3.1), for the menu.
    pub modules: Modules,
    /// Their organization's slug (what logs and metrics name it by).
    pub org_slug: String,
}

/// The key of a session record: its hash.
pub(crate) fn session_key(hash: SessionHash) -> Key {
    Key::empty().bytes(&hash.0)
}

/// The session hash a `SESSIONS_BY_USER` key ends with (`org | user | hash`).
pub(crate) fn by_user_hash(key: &[u8]) -> Option<SessionHash> {
    key.get(16..48)
        .and_then(|bytes| bytes.try_into().ok())
        .map(SessionHash)
}

/// 128 random bits as 32 hex characters.
fn random_token() -> Result<String> {
    password::random_string(32, b"0123456789abcdef")
}

fn cut(text: Option<&String>, max: usize) -> Option<String> {
    text.map(|text| text.chars().take(max).collect())
}

/// Looks a session up and applies the lifetime rules at the view's clock: at most 7 days after
/// login, and at most `idle_ms` after the last request. `seen` is a later last-request time the
/// caller kept in memory and has not persisted yet (see [`Tx::touch_session`]).
///
/// # Errors
/// [`crate::ErrorKind::NotFound`] for an unknown or expired session;
/// [`crate::ErrorKind::PermissionDenied`] when its user is disabled or gone.
pub fn session_in(
    view: &impl View,
    hash: SessionHash,
    idle_ms: i64,
    seen: Option<Timestamp>,
) -> Result<ActiveSession> {
    let session: Session = view
        .get(tables::SESSIONS, &session_key(hash))?
        .ok_or_else(|| Error::not_found("session", "(unknown or ended)"))?;
    let now = view.now();
    let last_seen = seen.map_or(session.last_seen_at, |seen| seen.max(session.last_seen_at));
    if now >= session.expires_at() || now.0.saturating_sub(last_seen.0) > idle_ms {
        return Err(Error::not_found("session", "(expired)"));
    }
    let user = load_user(view, session.org, session.user)
        .map_err(|_| Error::forbidden("the session's user no longer exists"))?;
    if user.status != UserStatus::Active {
        return Err(Error::forbidden(format!(
            "user {} is disabled",
            user.username
        )));
    }
    let permissions = permissions_of(view, session.org, &user)?;
    let org = super::load_org(view, session.org)?;
    // Disabling an organization ends its sessions; this refuses any met meanwhile.
    super::tenants::refuse_disabled(&org).map_err(|error| Error::forbidden(error.message()))?;
    Ok(ActiveSession {
        hash,
        session,
        user,
        permissions,
        modules: org.modules,
        org_slug: org.slug,
    })
}

/// A stored session with the hash it is stored under (the reference a revoke names).
#[derive(Debug, Clone, PartialEq)]
pub struct StoredSession {
    /// Its hash.
    pub hash: SessionHash,
    /// The record.
    pub session: Session,
}

/// The sessions of the actor (a staff user), newest login first, with their hashes.
///
/// # Errors
/// Permission denied for anyone but an active staff user.
pub fn own_sessions_in(view: &impl View, actor: &Actor) -> Result<Vec<StoredSession>> {
    let ActorRef::Staff(user) = actor.who else {
        return Err(Error::forbidden("only staff users have web sessions"));
    };
    resolve(view, actor)?;
    let mut out = Vec::new();
    let mut hashes = Vec::new();
    view.for_each_prefix(
        tables::SESSIONS_BY_USER,
        &session_by_user_prefix(actor.org, user),
        |key, _| {
            hashes.extend(by_user_hash(key));
            Ok(true)
        },
    )?;
    for hash in hashes {
        if let Some(session) = view.get::<Session>(tables::SESSIONS, &session_key(hash))? {
            out.push(StoredSession { hash, session });
        }
    }
    out.sort_by_key(|stored| std::cmp::Reverse(stored.session.created_at));
    Ok(out)
}

impl Tx<'_> {
    /// Starts a session for an active user whose password was already checked (see
    /// [`Crm::login`]): a new random id, a new CSRF token.
    ///
    /// # Errors
    /// Permission denied when the user is disabled; not found.
    pub(crate) fn create_session(
        &mut self,
        org: OrgId,
        user: UserId,
        origin: &Origin,
    ) -> Result<NewSession> {
        let record = load_user(self, org, user)?;
        if record.status != UserStatus::Active {
            return Err(Error::forbidden("wrong username or password"));
        }
        super::tenants::refuse_disabled(&super::load_org(self, org)?)?;
        let id = random_token()?;
        let hash = SessionHash::of(&id);
        let session = Session {
            user,
            org,
            created_at: self.now(),
            last_seen_at: self.now(),
            csrf: random_token()?,
            ip: cut(origin.ip.as_ref(), 64),
            user_agent: cut(origin.user_agent.as_ref(), 256),
        };
        self.insert_record(&session_key(hash), &session)?;
        let actor = Actor::staff(org, user).with_origin(origin.clone());
        self.audit(
            &actor,
            AuditAction::UserLoggedIn,
            Subject::User(user),
            AuditDetail::Text(record.username.clone()),
        )?;
        Ok(NewSession {
            id,
            hash,
            session,
            user: record,
        })
    }

    /// Records a later last-request time of a session (never moves it back). Writes nothing
    /// for an unknown session. The appliance calls it at most once a minute per session.
    ///
    /// # Errors
    /// Storage only.
    pub fn touch_session(&mut self, hash: SessionHash, seen: Timestamp) -> Result<()> {
        let key = session_key(hash);
        if let Some(mut session) = self.get::<Session>(tables::SESSIONS, &key)?
            && seen > session.last_seen_at
        {
            session.last_seen_at = seen;
            self.put(tables::SESSIONS, &key, &session)?;
        }
        Ok(())
    }

    /// Ends a session (logout). Ending an unknown session is not an error.
    ///
    /// # Errors
    /// Storage only.
    pub fn end_session(&mut self, hash: SessionHash, origin: &Origin) -> Result<()> {
        let key = session_key(hash);
        if let Some(session) = self.get::<Session>(tables::SESSIONS, &key)? {
            self.delete_record(&key, &session)?;
            let actor = Actor::staff(session.org, session.user).with_origin(origin.clone());
            self.audit(
                &actor,
                AuditAction::UserLoggedOut,
                Subject::User(session.user),
                AuditDetail::None,
            )?;
        }
        Ok(())
    }

    /// Ends one of the actor's own sessions (the profile page's revoke button).
    ///
    /// # Errors
    /// Not found when the session is not one of the actor's.
    pub fn revoke_session(&mut self, actor: &Actor, hash: SessionHash) -> Result<()> {
        let ActorRef::Staff(user) = actor.who else {
            return Err(Error::forbidden("only staff users have web sessions"));
        };
        resolve(self, actor)?;
        let key = session_key(hash);
        match self.get::<Session>(tables::SESSIONS, &key)? {
            Some(session) if session.user == user && session.org == actor.org => {
                self.delete_record(&key, &session)?;
                self.audit(
                    actor,
                    AuditAction::UserSessionRevoked,
                    Subject::User(user),
                    AuditDetail::Text(format!("session started {}", session.created_at)),
                )?;
                Ok(())
            }
            _ => Err(Error::not_found("session", "(not one of yours)")),
        }
    }

    /// Deletes every session of `user` but `except`; returns how many ended. Used when a user
    /// is disabled (all of them) and when a password changes (all but the current one).
    pub(crate) fn end_sessions_of(
        &mut self,
        org: OrgId,
        user: UserId,
        except: Option<SessionHash>,
    ) -> Result<usize> {
        let mut keys = Vec::new();
        self.for_each_prefix(
            tables::SESSIONS_BY_USER,
            &session_by_user_prefix(org, user),
            |key, _| {
                keys.push(key.to_vec());
                Ok(true)
            },
        )?;
        let mut ended = 0;
        for key in keys {
            let Some(hash) = by_user_hash(&key) else {
                continue;
            };
            if Some(hash) == except {
                continue;
            }
            let session_key = session_key(hash);
            match self.get::<Session>(tables::SESSIONS, &session_key)? {
                Some(session) => self.delete_record(&session_key, &session)?,
                // An entry without its session (never written so): remove the entry alone.
                None => {
                    self.remove(tables::SESSIONS_BY_USER, &Key::empty().bytes(&key))?;
                }
            }
            ended += 1;
        }
        Ok(ended)
    }

    /// Deletes sessions past their absolute lifetime or idle for more than `idle_ms`; returns
    /// how many. A maintenance job; reads never rely on it (lookups check the lifetimes).
    ///
    /// # Errors
    /// Storage only.
    pub fn purge_sessions(&mut self, idle_ms: i64) -> Result<usize> {
        let now = self.now();
        let mut stale = Vec::new();
        self.for_each_prefix(tables::SESSIONS, &Key::empty(), |key, value| {
            let session = codec::decode::<Session>(value)?;
            let expired = now >= session.expires_at()
                || now.0.saturating_sub(session.last_seen_at.0) > idle_ms;
            if expired && let Ok(bytes) = <[u8; 32]>::try_from(key) {
                stale.push((SessionHash(bytes), session));
            }
            Ok(true)
        })?;
        for (hash, session) in &stale {
            self.delete_record(&session_key(*hash), session)?;
        }
        Ok(stale.len())
    }
}

impl Crm {
    /// Logs a staff user in: checks the password (argon2id, outside the writer, at most two at
    /// once; as slow for an unknown user as for a known one), then starts a session.
    ///
    /// # Errors
    /// [`crate::ErrorKind::PermissionDenied`] with the same message for an unknown user, a
    /// wrong password and a disabled account.
    pub fn login(
        &self,
        org: OrgId,
        username: &str,
        password: &str,
        origin: &Origin,
    ) -> Result<NewSession> {
        self.login_replacing(org, username, password, origin, None)
    }

    /// Logs a staff user in to the organization a login form names (SPEC 3.1: usernames are
    /// unique within one organization): the one with slug `organization`, or, when none is
    /// named, the only enabled one. Otherwise as [`Crm::login_replacing`]. An unknown slug is
    /// answered as a wrong password is (after as long), so the form does not tell which
    /// organizations exist.
    ///
    /// # Errors
    /// [`crate::ErrorKind::PermissionDenied`] as [`Crm::login`], also for an unknown
    /// organization; [`crate::ErrorKind::InvalidInput`] on `organization` when none is named
    /// and several are enabled; [`crate::ErrorKind::Conflict`] when the organization is
    /// disabled.
    pub fn login_at(
        &self,
        organization: Option<&str>,
        username: &str,
        password: &str,
        origin: &Origin,
        presented: Option<SessionHash>,
    ) -> Result<NewSession> {
        let found = self.read(|view| super::tenants::login_organization_in(view, organization));
        let org = match found {
            Ok(org) => org.id,
            Err(error) if error.kind() == crate::ErrorKind::NotFound => {
                let _ = password::verify_password(password, password::dummy_hash()?)?;
                return Err(Error::forbidden("wrong username or password"));
            }
            Err(error) => return Err(error),
        };
        self.login_replacing(org, username, password, origin, presented)
    }

    /// [`Crm::login`] from a browser that presents a session already (`presented`, the hash
    /// of its cookie): a successful login ends that session in the same transaction that
    /// starts the new one, so a browser holds one session at a time and a session id planted
    /// before the login dies with it (OWASP Session Management Cheat Sheet: renew the id at
    /// a privilege change). A failed login changes nothing; an unknown or ended `presented`
    /// session is not an error.
    ///
    /// # Errors
    /// As [`Crm::login`].
    pub fn login_replacing(
        &self,
        org: OrgId,
        username: &str,
        password: &str,
        origin: &Origin,
        presented: Option<SessionHash>,
    ) -> Result<NewSession> {
        let user = self.authenticate(org, username, password)?;
        let origin = origin.clone();
        self.write(move |tx| {
            let new = tx.create_session(org, user.id, &origin)?;
            if let Some(old) = presented.filter(|old| *old != new.hash) {
                tx.end_session(old, &origin)?;
            }
            Ok(new)
        })
    }

    /// See [`session_in`]. Reads a snapshot.
    ///
    /// # Errors
    /// See [`session_in`].
    pub fn session(
        &self,
        hash: SessionHash,
        idle_ms: i64,
        seen: Option<Timestamp>,
    ) -> Result<ActiveSession> {
        self.read(|view| session_in(view, hash, idle_ms, seen))
    }

    /// See [`own_sessions_in`]. Reads a snapshot.
    ///
    /// # Errors
    /// See [`own_sessions_in`].
    pub fn own_sessions(&self, actor: &Actor) -> Result<Vec<StoredSession>> {
        self.read(|view| own_sessions_in(view, actor))
    }

    /// See [`Tx::touch_session`].
    ///
    /// # Errors
    /// Storage only.
    pub fn touch_session(&self, hash: SessionHash, seen: Timestamp) -> Result<()> {
        self.write(move |tx| tx.touch_session(hash, seen))
    }

    /// See [`Tx::end_session`].
    ///
    /// # Errors
    /// Storage only.
    pub fn end_session(&self, hash: SessionHash, origin: &Origin) -> Result<()> {
        let origin = origin.clone();
        self.write(move |tx| tx.end_session(hash, &origin))
    }

    /// See [`Tx::revoke_session`].
    ///
    /// # Errors
    /// See [`Tx::revoke_session`].
    pub fn revoke_session(&self, actor: &Actor, hash: SessionHash) -> Result<()> {
        let actor = actor.clone();
        self.write(move |tx| tx.revoke_session(&actor, hash))
    }

    /// A staff user changes their own password (ASVS 6.2.2/6.2.3): the current password must
    /// be right, the new one must differ from it; the forced-change flag is cleared and every
    /// other session of the user ends (`current` stays). Both hashes run outside the writer.
    ///
    /// # Errors
    /// Invalid input on `current_password` (wrong) or `new_password` (same as the current);
    /// permission denied for anyone but a staff user.
    pub fn change_own_password(
        &self,
        actor: &Actor,
        current: SessionHash,
        current_password: &str,
        new_password: &Password,
    ) -> Result<User> {
        let ActorRef::Staff(user_id) = actor.who else {
            return Err(Error::forbidden("only staff users have passwords"));
        };
        let user = self.read(|view| load_user(view, actor.org, user_id))?;
        if !password::verify_password(current_password, &user.password_hash)? {
            return Err(Error::invalid(
                "current_password",
                "is not your current password",
            ));
        }
        if new_password.expose() == current_password {
            return Err(Error::invalid(
                "new_password",
                "must differ from the current password",
            ));
        }
        let hash = password::hash_password(new_password)?;
        let actor = actor.clone();
        self.write(move |tx| {
            let user = tx.set_password_hash(&actor, user_id, hash, false)?;
            tx.end_sessions_of(actor.org, user_id, Some(current))?;
            Ok(user)
        })
    }
}

impl crate::system::System<'_> {
    /// See [`Tx::purge_sessions`].
    ///
    /// # Errors
    /// Storage only.
    pub fn purge_sessions(&self, idle_ms: i64) -> Result<usize> {
        self.crm.write(move |tx| tx.purge_sessions(idle_ms))
    }
}
