//! The declarations of the organizations, their staff and the staff's sessions, api tokens
//! and link codes.

use super::{org_of, owner_by_value, value_id};
use crate::model::ApiToken;
use crate::model::Session;
use crate::model::*;
use crate::store::indexes::{Declared, Index, Layout, Owner, Reference, Value};
use crate::store::keys::{self, Key, hex};
use crate::store::tables::{self, Def};

impl Declared for Organization {
    const TABLE: Def = tables::ORGS;
    const NOUN: &'static str = "organization";
    const LAYOUT: Layout = Layout::Org;
    const SEQUENCE: Option<&'static str> = Some("org");
    const INDEXES: &'static [Index<Self>] = &[Index {
        table: tables::ORGS_BY_SLUG,
        since: 1,
        entries: |_, _, org, out| out.push((slug_key(&org.slug), Value::id(org.id.0))),
        owner: |_, value| match <[u8; 8]>::try_from(value) {
            Ok(id) => Owner::Record(Key::org(OrgId(u64::from_be_bytes(id)))),
            Err(_) => Owner::Malformed(format!(
                "holds a {}-byte value instead of an organization id",
                value.len()
            )),
        },
        disagreement: |_, value, org| {
            format!(
                "points at organization {}, whose slug is {:?}",
                value_id(value),
                org.slug
            )
        },
    }];

    fn id(&self) -> Option<u64> {
        Some(self.id.0)
    }

    fn references(&self, org: OrgId, out: &mut Vec<Reference>) {
        out.extend(
            self.owner
                .map(|owner| Reference::new("is owned by user", tables::USERS, org, owner.0)),
        );
    }

    fn broken_rule(&self, _: OrgId, _: Option<&Pipeline>) -> Option<String> {
        self.pipeline
            .stages
            .is_empty()
            .then(|| format!("organization {} has no stages", self.id))
    }

    fn describe(&self, _: OrgId, _: &[u8]) -> String {
        format!("organization {} (slug {:?})", self.id, self.slug)
    }
}

/// The key of an organization's slug in `orgs_by_slug`.
fn slug_key(slug: &str) -> Key {
    Key::empty().bytes(slug.as_bytes())
}

impl Declared for Role {
    const TABLE: Def = tables::ROLES;
    const NOUN: &'static str = "role";
    const LAYOUT: Layout = Layout::OrgId;
    const SEQUENCE: Option<&'static str> = Some("role");

    fn id(&self) -> Option<u64> {
        Some(self.id.0)
    }
}

impl Declared for Marker {
    const TABLE: Def = tables::MARKERS;
    const NOUN: &'static str = "marker";
    const LAYOUT: Layout = Layout::OrgId;
    const SEQUENCE: Option<&'static str> = Some("marker");

    fn id(&self) -> Option<u64> {
        Some(self.id.0)
    }
}

/// The key of a Telegram account in `users_by_telegram` and `customers_by_telegram`.
pub(super) fn telegram_key(org: OrgId, telegram: TelegramUserId) -> Key {
    Key::org(org).i64(telegram.0)
}

/// The key of a staff phone in `users_by_phone`: `org | number`, the number as
/// `customers_by_phone` keys it ([`super::calls::phone_number`]: one rule for both).
pub(crate) fn user_phone_key(org: OrgId, number: u64) -> Key {
    Key::org(org).u64(number)
}

/// The key of a username in `users_by_name`.
fn username_key(org: OrgId, username: &str) -> Key {
    Key::org(org).bytes(username.as_bytes())
}

impl Declared for User {
    const TABLE: Def = tables::USERS;
    const NOUN: &'static str = "user";
    const LAYOUT: Layout = Layout::OrgId;
    const SEQUENCE: Option<&'static str> = Some("user");
    const INDEXES: &'static [Index<Self>] = &[
        Index {
            table: tables::USERS_BY_NAME,
            since: 1,
            entries: |org, _, user, out| {
                out.push((username_key(org, &user.username), Value::id(user.id.0)));
            },
            owner: owner_by_value,
            disagreement: |_, value, user| {
                format!(
                    "points at user {}, whose username is {:?}",
                    value_id(value),
                    user.username
                )
            },
        },
        Index {
            table: tables::USERS_BY_TELEGRAM,
            since: 1,
            entries: |org, _, user, out| {
                if let Some(telegram) = user.telegram_id {
                    out.push((telegram_key(org, telegram), Value::id(user.id.0)));
                }
            },
            owner: owner_by_value,
            disagreement: |key, value, user| {
                format!(
                    "says telegram {} is user {}, whose telegram link is {:?}",
                    keys::read_i64(key, 8),
                    value_id(value),
                    user.telegram_id.map(|id| id.0)
                )
            },
        },
        Index {
            table: tables::USERS_BY_PHONE,
            since: 10,
            entries: |org, _, user, out| {
                if let Some(number) = user.phone.as_deref().and_then(super::calls::phone_number) {
                    out.push((user_phone_key(org, number), Value::id(user.id.0)));
                }
            },
            owner: owner_by_value,
            disagreement: |key, value, user| {
                format!(
                    "says phone +{} is user {}, whose phone is {:?}",
                    keys::read_u64(key, 8),
                    value_id(value),
                    user.phone
                )
            },
        },
    ];

    fn id(&self) -> Option<u64> {
        Some(self.id.0)
    }

    fn references(&self, org: OrgId, out: &mut Vec<Reference>) {
        out.extend(
            self.roles
                .iter()
                .map(|role| Reference::new("has role", tables::ROLES, org, role.0)),
        );
    }

    fn describe(&self, org: OrgId, _: &[u8]) -> String {
        format!("user {} ({}) of organization {org}", self.id, self.username)
    }
}

/// The prefix of every `sessions_by_user` entry of one user: `org | user`.
pub(crate) fn session_by_user_prefix(org: OrgId, user: UserId) -> Key {
    Key::org(org).u64(user.0)
}

impl Declared for Session {
    const TABLE: Def = tables::SESSIONS;
    const NOUN: &'static str = "session";
    const LAYOUT: Layout = Layout::Hash;
    const INDEXES: &'static [Index<Self>] = &[Index {
        table: tables::SESSIONS_BY_USER,
        since: 1,
        entries: |_, key, session, out| {
            out.push((
                session_by_user_prefix(session.org, session.user).bytes(key),
                Value::Empty,
            ));
        },
        owner: |key, _| match key.get(16..).filter(|_| key.len() == 48) {
            Some(hash) => Owner::Record(Key::empty().bytes(hash)),
            None => Owner::Malformed(format!("has {} bytes, expected 48", key.len())),
        },
        disagreement: |key, _, session| {
            format!(
                "says session {} is of user {} of organization {}, but it is of user {} of organization {}",
                hex(key.get(16..).unwrap_or_default()),
                keys::read_u64(key, 8),
                org_of(key),
                session.user,
                session.org
            )
        },
    }];

    fn org(_: &[u8], session: &Self) -> OrgId {
        session.org
    }

    fn references(&self, org: OrgId, out: &mut Vec<Reference>) {
        out.push(Reference::new(
            "belongs to user",
            tables::USERS,
            org,
            self.user.0,
        ));
    }

    fn describe(&self, org: OrgId, key: &[u8]) -> String {
        format!(
            "session {} of user {} of organization {org}",
            hex(key),
            self.user
        )
    }
}

/// The key of a token's entry in `api_tokens_by_org`.
pub(crate) fn api_token_by_org_key(org: OrgId, id: ApiTokenId) -> Key {
    Key::org(org).u64(id.0)
}

impl Declared for ApiToken {
    const TABLE: Def = tables::API_TOKENS;
    const NOUN: &'static str = "api token";
    const LAYOUT: Layout = Layout::Hash;
    const SEQUENCE: Option<&'static str> = Some("api_token");
    const INDEXES: &'static [Index<Self>] = &[Index {
        table: tables::API_TOKENS_BY_ORG,
        since: 1,
        entries: |_, key, token, out| {
            out.push((
                api_token_by_org_key(token.org, token.id),
                Value::Bytes(key.to_vec()),
            ));
        },
        owner: |key, value| {
            if key.len() != 16 {
                Owner::Malformed(format!("has {} bytes, expected 16", key.len()))
            } else if value.len() != 32 {
                Owner::Malformed(format!(
                    "holds a {}-byte value instead of the 32-byte hash of api token {}",
                    value.len(),
                    keys::tail_u64(key)
                ))
            } else {
                Owner::Record(Key::empty().bytes(value))
            }
        },
        disagreement: |key, value, token| {
            format!(
                "says api token {} of organization {} is {}, but that is api token {} of organization {}",
                keys::tail_u64(key),
                org_of(key),
                hex(value),
                token.id,
                token.org
            )
        },
    }];

    fn id(&self) -> Option<u64> {
        Some(self.id.0)
    }

    fn org(_: &[u8], token: &Self) -> OrgId {
        token.org
    }

    fn references(&self, org: OrgId, out: &mut Vec<Reference>) {
        out.push(Reference::new(
            "belongs to user",
            tables::USERS,
            org,
            self.user.0,
        ));
    }

    fn describe(&self, org: OrgId, key: &[u8]) -> String {
        format!(
            "api token {} of organization {org} (hash {})",
            self.id,
            hex(key)
        )
    }
}

impl Declared for LinkCode {
    const TABLE: Def = tables::LINK_CODES;
    const NOUN: &'static str = "link code";
    const LAYOUT: Layout = Layout::OrgFields;

    fn key(&self, org: OrgId) -> Option<Key> {
        Some(Key::org(org).bytes(self.code.as_bytes()))
    }

    fn describe(&self, org: OrgId, _: &[u8]) -> String {
        format!("link code {:?} of organization {org}", self.code)
    }
}
