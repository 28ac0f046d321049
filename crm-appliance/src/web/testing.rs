//! Fixtures for the pages' snapshot tests: a store whose clock stands still, a staff user of a
//! built-in role (for rendering only: reads go through the system actor), and HTML broken into
//! lines so that a snapshot's diff shows what changed.

use crm_lib::{
    Crm, CrmOptions,
    model::{
        Actor, BuiltinRole, Language, OperatorStatus, Organization, SavedPaymentDetails,
        SessionHash, Timestamp, User, UserId, UserStatus,
    },
};
use maud::Markup;

use crate::web::auth::Staff;

/// The fixtures' clock: 2026-12-01 09:30 UTC, for every transaction.
pub(crate) fn now() -> Timestamp {
    Timestamp::from_millis(1_796_117_400_000)
}

/// A fresh store in a temporary directory with one organization from `template`.
pub(crate) struct Fixture {
    _dir: tempfile::TempDir,
    /// The store.
    pub(crate) crm: Crm,
    /// Its organization.
    pub(crate) org: Organization,
}

impl Fixture {
    /// A store with an organization from `template` (`studio`, `service`...).
    pub(crate) fn new(template: &str) -> Self {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let crm = Crm::open_with_clock(dir.path().join("crm.redb"), CrmOptions::default(), now)
            .expect("opening the store");
        let org = crm
            .system()
            .create_organization(template, "Acme Studio", "acme")
            .expect("creating the organization");
        Fixture {
            _dir: dir,
            crm,
            org,
        }
    }

    /// The system actor of the organization (the fixtures read with it).
    pub(crate) fn system(&self) -> Actor {
        Actor::system(self.org.id)
    }

    /// A staff user holding `role`'s permissions, reading in `language`: who a page is
    /// rendered for. Not stored, so no password is hashed.
    pub(crate) fn staff(&self, role: BuiltinRole, language: Language) -> Staff {
        let id = UserId::new(900);
        Staff {
            user: User {
                id,
                username: role.name().to_string(),
                display_name: format!("{} (fixture)", role.name()),
                password_hash: String::new(),
                must_change_password: false,
                roles: Vec::new(),
                markers: Vec::new(),
                telegram_id: None,
                status: UserStatus::Active,
                operator_status: OperatorStatus::default(),
                language,
                payment_details: SavedPaymentDetails::default(),
                created_at: now(),
            },
            permissions: role.permissions(),
            actor: Actor::staff(self.org.id, id),
            csrf: "csrf-token-of-the-fixture".to_string(),
            language,
            session: SessionHash::of("fixture-session"),
            sandbox: false,
        }
    }
}

/// `markup` with a line break between adjacent tags, for snapshots that diff line by line.
pub(crate) fn pretty(markup: &Markup) -> String {
    let html = markup.0.replace("><", ">\n<");
    format!("{html}\n")
}
