//! API tokens: bearer credentials for the JSON API (`/api/v1`), created in the browser or with
//! `crm token create`, listed and revoked, and checked on every API request.
//!
//! A token is `crm_` followed by 32 random bytes in base64url (43 characters). It is shown
//! once, when it is created; the store keeps only its SHA-256 ([`ApiTokenHash`]), so a copy of
//! the data file holds no usable token. A token acts as its user: it has exactly the user's
//! permissions. Disabling a user revokes their tokens (enabling them again brings none back),
//! and a token of a disabled user is refused in any case.
//!
//! Rules decided here: a user may create and revoke their own tokens; `manage_users` may do
//! both for anyone; at most [`API_TOKENS_PER_USER`] tokens per user.

use crate::model::*;
use crate::store::declarations::api_token_by_org_key;
use crate::store::{Key, ViewExt, tables};
use crate::{Crm, Error, Result, Tx, View};

use super::team::load_user;
use super::{Resolved, optional_text, resolve};

/// The prefix of every API token, so a leaked one is easy to recognise (and to scan for).
pub const API_TOKEN_PREFIX: &str = "crm_";

/// The most tokens one user may hold.
pub const API_TOKENS_PER_USER: usize = 50;

/// The longest token name, in characters.
pub const API_TOKEN_NAME_MAX: usize = 64;

/// The secret of a new token, shown once. Its `Debug` never shows the text.
#[derive(Clone)]
pub struct ApiTokenSecret(String);

impl std::fmt::Debug for ApiTokenSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ApiTokenSecret(***)")
    }
}

impl ApiTokenSecret {
    /// A fresh token: `crm_` and 32 random bytes from the operating system, base64url.
    ///
    /// # Errors
    /// [`crate::ErrorKind::Storage`] when the system has no randomness.
    pub fn generate() -> Result<Self> {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes)
            .map_err(|error| Error::corrupt(format!("no randomness: {error}")))?;
        Ok(ApiTokenSecret(format!(
            "{API_TOKEN_PREFIX}{}",
            base64url(&bytes)
        )))
    }

    /// The token text, for its one display.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Its hash, the key it is stored under.
    pub fn hash(&self) -> ApiTokenHash {
        ApiTokenHash::of(&self.0)
    }
}

/// A token just created: the record, and the secret to show once.
#[derive(Debug, Clone)]
pub struct NewApiToken {
    /// The record.
    pub token: ApiToken,
    /// The token text.
    pub secret: ApiTokenSecret,
}

/// Base64url without padding (RFC 4648 section 5).
fn base64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        let symbols = chunk.len() + 1;
        for index in 0..symbols {
            let six = (n >> (18 - 6 * index)) & 0x3f;
            out.push(char::from(ALPHABET[six as usize]));
        }
    }
    out
}

/// The key of a token record: its hash.
pub(crate) fn token_key(hash: ApiTokenHash) -> Key {
    Key::empty().bytes(&hash.0)
}

/// The token hash an `API_TOKENS_BY_ORG` entry holds.
///
/// # Errors
/// [`crate::ErrorKind::Storage`] when the value is not 32 bytes.
pub(crate) fn by_org_hash(value: &[u8]) -> Result<ApiTokenHash> {
    value
        .try_into()
        .map(ApiTokenHash)
        .map_err(|_| Error::corrupt("api_tokens_by_org holds a malformed hash"))
}

/// Every token of `org` with its hash, by id.
fn tokens_of_org(view: &impl View, org: OrgId) -> Result<Vec<(ApiTokenHash, ApiToken)>> {
    let mut hashes = Vec::new();
    view.for_each_prefix(tables::API_TOKENS_BY_ORG, &Key::org(org), |_, value| {
        hashes.push(by_org_hash(value)?);
        Ok(true)
    })?;
    let mut out = Vec::with_capacity(hashes.len());
    for hash in hashes {
        let token: ApiToken = view
            .get(tables::API_TOKENS, &token_key(hash))?
            .ok_or_else(|| Error::corrupt("api_tokens_by_org points at a missing token"))?;
        out.push((hash, token));
    }
    Ok(out)
}

/// Whether `resolved` may manage the tokens of `user`: their own, or anyone's with
/// `manage_users` (the system always may).
fn may_manage(resolved: &Resolved, user: UserId) -> bool {
    resolved.user_id() == Some(user) || resolved.has(Permission::ManageUsers)
}

fn refuse_manage(actor: &Actor) -> Error {
    Error::denied(
        Permission::ManageUsers,
        format!(
            "{} may manage only their own api tokens (manage_users is needed for others)",
            actor.who
        ),
    )
}

/// The tokens the actor may see: of `user` when given (their own, or anyone's with
/// `manage_users`), else every token of the organization (needs `manage_users`); by id.
///
/// # Errors
/// Permission denied; customers are refused.
pub fn api_tokens_in(
    view: &impl View,
    actor: &Actor,
    user: Option<UserId>,
) -> Result<Vec<ApiToken>> {
    let resolved = resolve(view, actor)?;
    if matches!(resolved, Resolved::Customer(_)) {
        return Err(Error::forbidden("customers have no api tokens"));
    }
    match user {
        Some(user) if !may_manage(&resolved, user) => return Err(refuse_manage(actor)),
        None if !resolved.has(Permission::ManageUsers) => return Err(refuse_manage(actor)),
        _ => {}
    }
    Ok(tokens_of_org(view, actor.org)?
        .into_iter()
        .map(|(_, token)| token)
        .filter(|token| user.is_none_or(|user| token.user == user))
        .collect())
}

/// The user a valid API token acts as.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenUser {
    /// The token's user, active.
    pub user: User,
    /// The actor to act as (a staff actor of the user, without an origin yet).
    pub actor: Actor,
    /// The token's organization's slug (what logs and metrics name it by).
    pub org_slug: String,
}

/// Checks a bearer token for organization `org`: it must be a stored token of `org` whose
/// user is active. Returns the user and the actor to act as. Reads only; writes nothing.
///
/// # Errors
/// [`crate::ErrorKind::PermissionDenied`] with the same message for a malformed, unknown or
/// revoked token, a token of another organization and a disabled user, so the answer reveals
/// nothing.
pub fn authenticate_api_token_in(view: &impl View, org: OrgId, token: &str) -> Result<TokenUser> {
    let refused = || Error::forbidden("invalid api token");
    let token = token.trim();
    if !token.starts_with(API_TOKEN_PREFIX) || token.len() > 128 {
        return Err(refused());
    }
    let record: ApiToken = view
        .get(tables::API_TOKENS, &token_key(ApiTokenHash::of(token)))?
        .ok_or_else(refused)?;
    if record.org != org {
        return Err(refused());
    }
    // A disabled organization's tokens are refused while it is disabled, and kept.
    let organization = super::load_org(view, org).map_err(|_| refused())?;
    if !organization.is_enabled() {
        return Err(refused());
    }
    let user = load_user(view, org, record.user).map_err(|_| refused())?;
    if user.status != UserStatus::Active {
        return Err(refused());
    }
    let actor = Actor::staff(org, user.id);
    Ok(TokenUser {
        user,
        actor,
        org_slug: organization.slug,
    })
}

/// Checks a bearer token on its own, as the API receives it: the organization is the one the
/// token's record names (the request says nothing else), then as
/// [`authenticate_api_token_in`]. Reads only.
///
/// # Errors
/// As [`authenticate_api_token_in`]: one message for every refusal.
pub fn authenticate_bearer_in(view: &impl View, token: &str) -> Result<TokenUser> {
    let refused = || Error::forbidden("invalid api token");
    let token = token.trim();
    if !token.starts_with(API_TOKEN_PREFIX) || token.len() > 128 {
        return Err(refused());
    }
    let record: ApiToken = view
        .get(tables::API_TOKENS, &token_key(ApiTokenHash::of(token)))?
        .ok_or_else(refused)?;
    authenticate_api_token_in(view, record.org, token)
}

impl Tx<'_> {
    /// Stores a token for `user` whose secret was generated before the transaction (see
    /// [`Crm::create_api_token`]).
    ///
    /// Rules: a user may create their own tokens; `manage_users` may create them for anyone
    /// (the system always may); the user must be active; the name is 1-64 characters (empty
    /// becomes `token N`); at most [`API_TOKENS_PER_USER`] tokens per user.
    ///
    /// # Errors
    /// Permission denied; not found (user); invalid input on `name`; conflict when the user is
    /// disabled or holds too many tokens.
    pub fn create_api_token(
        &mut self,
        actor: &Actor,
        user: UserId,
        name: &str,
        hash: ApiTokenHash,
    ) -> Result<ApiToken> {
        let resolved = resolve(self, actor)?;
        if matches!(resolved, Resolved::Customer(_)) {
            return Err(Error::forbidden("customers have no api tokens"));
        }
        if !may_manage(&resolved, user) {
            return Err(refuse_manage(actor));
        }
        let record = load_user(self, actor.org, user)?;
        if record.status != UserStatus::Active {
            return Err(Error::conflict(format!(
                "user {} is disabled",
                record.username
            )));
        }
        let name = optional_text("name", Some(name), API_TOKEN_NAME_MAX)?;
        let held = tokens_of_org(self, actor.org)?
            .iter()
            .filter(|(_, token)| token.user == user)
            .count();
        if held >= API_TOKENS_PER_USER {
            return Err(Error::conflict(format!(
                "user {} already holds {held} api tokens; the limit is {API_TOKENS_PER_USER}",
                record.username
            )));
        }
        if self.exists(tables::API_TOKENS, &token_key(hash))? {
            return Err(Error::conflict("this api token exists already"));
        }
        let id = ApiTokenId(self.next_id(actor.org, "api_token")?);
        let token = ApiToken {
            id,
            org: actor.org,
            user,
            name: name.unwrap_or_else(|| format!("token {id}")),
            created_by: actor.who,
            created_at: self.now(),
        };
        self.insert_record(&token_key(hash), &token)?;
        self.audit(
            actor,
            AuditAction::ApiTokenCreated,
            Subject::ApiToken(id),
            AuditDetail::Text(format!("for user {}: {:?}", record.username, token.name)),
        )?;
        Ok(token)
    }

    /// Revokes a token: it is refused from now on. Rules as for creation (own tokens, or
    /// anyone's with `manage_users`).
    ///
    /// # Errors
    /// Not found for an unknown id; permission denied for another user's token without
    /// `manage_users`.
    pub fn revoke_api_token(&mut self, actor: &Actor, id: ApiTokenId) -> Result<ApiToken> {
        let resolved = resolve(self, actor)?;
        if matches!(resolved, Resolved::Customer(_)) {
            return Err(Error::forbidden("customers have no api tokens"));
        }
        let hash = self
            .get_raw(
                tables::API_TOKENS_BY_ORG,
                api_token_by_org_key(actor.org, id).as_slice(),
                by_org_hash,
            )?
            .ok_or_else(|| Error::not_found(ApiTokenId::LABEL, id))?;
        let token: ApiToken = self
            .get(tables::API_TOKENS, &token_key(hash))?
            .ok_or_else(|| Error::not_found(ApiTokenId::LABEL, id))?;
        if !may_manage(&resolved, token.user) {
            return Err(refuse_manage(actor));
        }
        self.delete_record(&token_key(hash), &token)?;
        self.audit(
            actor,
            AuditAction::ApiTokenRevoked,
            Subject::ApiToken(id),
            AuditDetail::Text(format!("of user {}: {:?}", token.user, token.name)),
        )?;
        Ok(token)
    }
}

impl Tx<'_> {
    /// Revokes every token of `user` because the account was disabled (or, for tokens left
    /// from before this rule, enabled again): one `api_token.revoked` audit entry each, by
    /// `actor`. Returns how many went. The caller has checked `manage_users`.
    ///
    /// # Errors
    /// Storage only.
    pub(crate) fn revoke_api_tokens_of(&mut self, actor: &Actor, user: UserId) -> Result<usize> {
        let held: Vec<(ApiTokenHash, ApiToken)> = tokens_of_org(self, actor.org)?
            .into_iter()
            .filter(|(_, token)| token.user == user)
            .collect();
        for (hash, token) in &held {
            self.delete_record(&token_key(*hash), token)?;
            self.audit(
                actor,
                AuditAction::ApiTokenRevoked,
                Subject::ApiToken(token.id),
                AuditDetail::Text(format!("{:?} (the account was disabled)", token.name)),
            )?;
        }
        Ok(held.len())
    }
}

impl Crm {
    /// Creates an API token for `user` (see [`Tx::create_api_token`]): generates the secret,
    /// stores its hash and returns the secret for its one display. Blocks until durable.
    ///
    /// # Errors
    /// See [`Tx::create_api_token`].
    pub fn create_api_token(&self, actor: &Actor, user: UserId, name: &str) -> Result<NewApiToken> {
        let secret = ApiTokenSecret::generate()?;
        let hash = secret.hash();
        let (actor, name) = (actor.clone(), name.to_string());
        let token = self.write(move |tx| tx.create_api_token(&actor, user, &name, hash))?;
        Ok(NewApiToken { token, secret })
    }

    /// See [`Tx::revoke_api_token`]. Blocks until durable.
    ///
    /// # Errors
    /// See [`Tx::revoke_api_token`].
    pub fn revoke_api_token(&self, actor: &Actor, id: ApiTokenId) -> Result<ApiToken> {
        let actor = actor.clone();
        self.write(move |tx| tx.revoke_api_token(&actor, id))
    }

    /// See [`api_tokens_in`]. Reads a snapshot.
    ///
    /// # Errors
    /// See [`api_tokens_in`].
    pub fn api_tokens(&self, actor: &Actor, user: Option<UserId>) -> Result<Vec<ApiToken>> {
        self.read(|view| api_tokens_in(view, actor, user))
    }

    /// See [`authenticate_api_token_in`]. Reads a snapshot; writes nothing, so checking a
    /// token costs one lookup.
    ///
    /// # Errors
    /// See [`authenticate_api_token_in`].
    pub fn authenticate_api_token(&self, org: OrgId, token: &str) -> Result<TokenUser> {
        self.read(|view| authenticate_api_token_in(view, org, token))
    }

    /// See [`authenticate_bearer_in`]. Reads a snapshot.
    ///
    /// # Errors
    /// See [`authenticate_bearer_in`].
    pub fn authenticate_bearer(&self, token: &str) -> Result<TokenUser> {
        self.read(|view| authenticate_bearer_in(view, token))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64url_matches_rfc_4648_vectors_without_padding() {
        assert_eq!(base64url(b""), "");
        assert_eq!(base64url(b"f"), "Zg");
        assert_eq!(base64url(b"fo"), "Zm8");
        assert_eq!(base64url(b"foo"), "Zm9v");
        assert_eq!(base64url(b"foob"), "Zm9vYg");
        assert_eq!(base64url(b"fooba"), "Zm9vYmE");
        assert_eq!(base64url(b"foobar"), "Zm9vYmFy");
        assert_eq!(base64url(&[0xfb, 0xff]), "-_8");
    }

    #[test]
    fn a_generated_token_is_the_prefix_and_43_base64url_characters() {
        let secret = ApiTokenSecret::generate().unwrap();
        let text = secret.expose();
        assert!(text.starts_with("crm_"));
        assert_eq!(text.len(), 4 + 43);
        assert!(
            text[4..]
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
        assert_ne!(ApiTokenSecret::generate().unwrap().expose(), text);
        assert_eq!(format!("{secret:?}"), "ApiTokenSecret(***)");
    }
}
