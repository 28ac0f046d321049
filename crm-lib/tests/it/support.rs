//! Test fixtures: a fresh store in a temporary directory with a studio organization and one
//! staff user per built-in role.

use crm_lib::{
    Crm, Password,
    customers::TelegramProfile,
    model::{
        Actor, ActorRef, CustomerId, Money, Order, OrgId, Organization, OutboxItem, StageId,
        TelegramUserId, UserId,
    },
    orders::{AssignTo, NewOrder},
    org::SettingsUpdate,
    team::NewUser,
};

pub struct World {
    pub _dir: tempfile::TempDir,
    pub crm: Crm,
    pub org: Organization,
    pub system: Actor,
    pub admin: Actor,
    pub manager: Actor,
    pub worker: Actor,
    pub worker2: Actor,
    pub master: Actor,
}

pub fn password() -> Password {
    Password::parse("correct horse battery").unwrap()
}

/// A Telegram profile with only an id and a first name (no username, last name or language).
pub fn profile(telegram_id: i64, first_name: &str) -> TelegramProfile {
    TelegramProfile {
        telegram_id: TelegramUserId::new(telegram_id),
        username: None,
        first_name: first_name.into(),
        last_name: None,
        language_code: None,
    }
}

fn staff(crm: &Crm, org: OrgId, username: &str, role: &str) -> Actor {
    let user = crm
        .create_user(
            &Actor::system(org),
            NewUser {
                username: username.into(),
                display_name: format!("{username} display"),
                password: password(),
                roles: vec![role.into()],
                must_change_password: false,
            },
        )
        .unwrap();
    Actor::staff(org, user.id)
}

/// The name of a built-in role in `org`: the helpdesk names the manager "operator" and has
/// masters instead of workers (Brando seed).
fn role(org: &Organization, builtin: &'static str) -> &'static str {
    match (org.template.as_str(), builtin) {
        ("helpdesk", "manager") => "operator",
        ("helpdesk", "worker") => "master",
        _ => builtin,
    }
}

impl World {
    pub fn new() -> World {
        Self::with_template("studio", "acme")
    }

    pub fn with_template(template: &str, slug: &str) -> World {
        let dir = tempfile::tempdir().unwrap();
        let crm = Crm::open(dir.path().join("crm.redb")).unwrap();
        let org = crm
            .system()
            .create_organization(template, "Acme Studio", slug)
            .unwrap();
        Self::in_org(dir, crm, org)
    }

    pub fn in_org(dir: tempfile::TempDir, crm: Crm, org: Organization) -> World {
        let id = org.id;
        World {
            system: Actor::system(id),
            admin: staff(&crm, id, "admin", "administrator"),
            manager: staff(&crm, id, "manager", role(&org, "manager")),
            worker: staff(&crm, id, "worker", role(&org, "worker")),
            worker2: staff(&crm, id, "worker2", role(&org, "worker")),
            master: staff(&crm, id, "master", "master"),
            _dir: dir,
            crm,
            org,
        }
    }

    pub fn stage(&self, key: &str) -> StageId {
        self.org.pipeline.stage_by_key(key).unwrap().id
    }

    pub fn customer(&self, telegram_id: i64, name: &str) -> Actor {
        let customer = self
            .crm
            .system()
            .upsert_telegram_customer(
                self.org.id,
                TelegramProfile {
                    language_code: Some("ru".into()),
                    ..profile(telegram_id, name)
                },
            )
            .unwrap();
        Actor::customer(self.org.id, customer.id)
    }

    /// Sets the open-order limit to 0 (no limit), for tests that create many orders.
    pub fn lift_order_limit(&self) {
        self.crm
            .update_settings(
                &self.admin,
                SettingsUpdate {
                    open_order_limit: Some(0),
                    ..SettingsUpdate::default()
                },
            )
            .unwrap();
    }

    pub fn customer_id(actor: &Actor) -> CustomerId {
        match actor.who {
            ActorRef::Customer(id) => id,
            _ => panic!("not a customer"),
        }
    }

    pub fn user_id(actor: &Actor) -> UserId {
        match actor.who {
            ActorRef::Staff(id) => id,
            _ => panic!("not staff"),
        }
    }

    pub fn order(&self, customer: &Actor, title: &str, budget: Option<&str>) -> Order {
        self.crm
            .create_order(
                customer,
                NewOrder {
                    title: title.into(),
                    description: format!("{title}: details"),
                    budget: budget.map(crate::support::money),
                    ..NewOrder::default()
                },
            )
            .unwrap()
    }

    /// An approved order of a new customer, ready for bids.
    pub fn approved_order(&self, telegram_id: i64, budget: Option<&str>) -> Order {
        let customer = self.customer(telegram_id, "Buyer");
        let order = self.order(&customer, "Shop bot", budget);
        self.crm.approve_order(&self.manager, order.id).unwrap()
    }

    /// An order assigned to `worker` through a bid, in stage `approved`.
    pub fn assigned_order(&self, telegram_id: i64) -> Order {
        let order = self.approved_order(telegram_id, Some("1000"));
        let bid = self
            .crm
            .place_bid(
                &self.worker,
                order.id,
                crate::support::money("900"),
                "two weeks",
            )
            .unwrap();
        self.crm
            .assign_order(&self.manager, order.id, AssignTo::Bid(bid.id))
            .unwrap()
    }

    pub fn outbox(&self) -> Vec<OutboxItem> {
        self.crm.system().outbox_items(self.org.id).unwrap()
    }
}

/// An amount as people type it (`"900"`, `"1500.50"`); panics on a typo in a test.
pub fn money(text: &str) -> Money {
    Money::parse("amount", text).unwrap()
}

/// A date `YYYY-MM-DD`; panics on a typo in a test.
#[allow(dead_code)]
pub fn date(text: &str) -> crm_lib::model::Date {
    crm_lib::model::Date::parse("date", text).unwrap()
}
