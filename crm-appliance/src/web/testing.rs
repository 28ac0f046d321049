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
                phone: None,
            },
            permissions: role.permissions(),
            actor: Actor::staff(self.org.id, id),
            csrf: "csrf-token-of-the-fixture".to_string(),
            language,
            session: SessionHash::of("fixture-session"),
            sandbox: false,
            org_slug: self.org.slug.clone(),
            modules: self.org.modules,
            operator_status: self
                .org
                .modules
                .contains(crm_lib::model::Module::Operators)
                .then_some(OperatorStatus::Online),
        }
    }
}

/// `markup` with a line break between adjacent tags, for snapshots that diff line by line.
pub(crate) fn pretty(markup: &Markup) -> String {
    let html = markup.0.replace("><", ">\n<");
    format!("{html}\n")
}

/// What [`Fixture::sample`] made: two customers (Maria, and John Smith entered by staff
/// without Telegram), three orders and a short conversation.
pub(crate) struct Sample {
    /// Maria Petrova, a Telegram customer (@maria_p) with an unread message.
    pub(crate) maria: crm_lib::model::Customer,
    /// Maria's logo order (pending moderation), her website order (approved, with two
    /// markers) and John's
    /// business cards (in progress, assigned to Ivan).
    pub(crate) orders: [crm_lib::model::OrderId; 3],
    /// Ivan Petrov, a worker.
    pub(crate) ivan: User,
}

impl Fixture {
    /// Fills the studio organization with [`Sample`]'s records, written by the system actor.
    pub(crate) fn sample(&self) -> Sample {
        use crm_lib::chat::{InboundMessage, OrderChoice, OutboundMessage};
        use crm_lib::customers::NewCustomer;
        use crm_lib::model::{Date, Money};
        use crm_lib::orders::NewOrder;

        let system = self.system();
        let crm = &self.crm;
        let maria = crm
            .create_customer(
                &system,
                NewCustomer {
                    telegram_id: "4242".into(),
                    username: "maria_p".into(),
                    first_name: "Maria".into(),
                    last_name: "Petrova".into(),
                    language: "ru".into(),
                    ..NewCustomer::default()
                },
            )
            .expect("creating Maria");
        let john = crm
            .create_customer(
                &system,
                NewCustomer {
                    first_name: "John".into(),
                    last_name: "Smith".into(),
                    phone: "+15550100200".into(),
                    ..NewCustomer::default()
                },
            )
            .expect("creating John");
        let markers: Vec<_> = crm
            .markers(&system)
            .expect("the studio's markers")
            .into_iter()
            .map(|marker| marker.id)
            .collect();
        let order = |customer: &crm_lib::model::Customer, title: &str, budget: &str| {
            // The website is tagged with the first two markers.
            let tags = if title == "Website" {
                markers.iter().take(2).copied().collect()
            } else {
                Vec::new()
            };
            let request = NewOrder {
                markers: tags,
                customer: Some(customer.id),
                title: title.into(),
                description: format!("{title}: <b>the brief</b> & details"),
                budget: Some(Money::parse("budget", budget).expect("a budget")),
                deadline: Some(Date::parse("deadline", "2026-12-24").expect("a date")),
                ..NewOrder::default()
            };
            let actor = system.clone();
            crm.write(move |tx| tx.create_order(&actor, request))
                .expect("creating an order")
                .id
        };
        let logo = order(&maria, "Logo for a bakery", "250");
        let website = order(&maria, "Website", "25000.50");
        let cards = order(&john, "Business cards", "80");
        let stage = |key: &str| {
            self.org
                .pipeline
                .stage_by_key(key)
                .expect("a studio stage")
                .id
        };
        let ivan = crm
            .create_user(
                &system,
                crm_lib::team::NewUser {
                    username: "ivan".into(),
                    display_name: "Ivan Petrov".into(),
                    password: crm_lib::Password::parse("a long fixture password")
                        .expect("a password"),
                    roles: vec!["worker".into()],
                    must_change_password: false,
                },
            )
            .expect("creating Ivan");
        let (approved, in_progress) = (stage("approved"), stage("in_progress"));
        let (actor, assignee) = (system.clone(), ivan.id);
        crm.write(move |tx| {
            tx.move_order(&actor, website, approved)?;
            tx.move_order(&actor, cards, approved)?;
            tx.assign_order(&actor, cards, crm_lib::orders::AssignTo::User(assignee))?;
            tx.move_order(&actor, cards, in_progress)?;
            Ok(())
        })
        .expect("moving the orders");
        crm.post_inbound(
            &system,
            InboundMessage {
                customer: maria.id,
                about: OrderChoice::Chosen(website),
                text: "Hello! Can the site have a <dark> theme?".into(),
                attachments: Vec::new(),
                telegram_message_id: Some(11),
                content: None,
                reply_to_telegram: None,
                media_group: None,
            },
        )
        .expect("Maria's message");
        crm.post_outbound(
            &system,
            OutboundMessage {
                customer: maria.id,
                order: Some(website),
                text: "Yes, we will show you two drafts.".into(),
                attachments: Vec::new(),
                reply_to: None,
                content: None,
            },
        )
        .expect("the reply");
        crm.post_inbound(
            &system,
            InboundMessage {
                customer: maria.id,
                about: OrderChoice::Current,
                text: "Thank you!".into(),
                attachments: Vec::new(),
                telegram_message_id: Some(12),
                content: None,
                reply_to_telegram: None,
                media_group: None,
            },
        )
        .expect("Maria's thanks");
        let system_read = |id| crm.customer(&system, id).expect("reading a customer");
        Sample {
            maria: system_read(maria.id),
            orders: [logo, website, cards],
            ivan,
        }
    }
}
