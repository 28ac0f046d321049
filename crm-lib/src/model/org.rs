//! Organizations (tenants), their settings and their pipeline.
//!
//! A pipeline is data: ordered stages with flags, and the allowed transitions with the
//! permission each needs. The four templates of SPEC section 4 live in
//! `fixtures/templates/*.toml` and are compiled in by [`crate::templates`].

use serde::{Deserialize, Serialize};

use super::{Language, Localized, Money, OrgId, Permission, StageId, Timestamp, UserId};

/// A tenant: one business using the appliance. Every other record belongs to exactly one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Organization {
    /// The id.
    pub id: OrgId,
    /// Display name.
    pub name: String,
    /// URL-safe unique name, `[a-z0-9-]`, 2-40 characters.
    pub slug: String,
    /// The template the pipeline came from (`studio`, `service`, `renovation`, `helpdesk`).
    pub template: String,
    /// Settings the staff can change.
    pub settings: OrgSettings,
    /// The order pipeline.
    pub pipeline: Pipeline,
    /// The modules it runs beside the order desk (SPEC 3.1), preset by its template and
    /// switched on the settings page.
    pub modules: Modules,
    /// When it was created.
    pub created_at: Timestamp,
    /// The staff user who owns it (SPEC 3.1, issue 14): the administrator `crm org create`
    /// made with it, the first administrator of a file made before owners (schema 9), or
    /// none for an organization an embedding program created without staff
    /// ([`System::create_organization`](crate::system::System::create_organization)).
    pub owner: Option<UserId>,
    /// When it was disabled, while it is: its bot stops, its staff cannot log in, its API
    /// tokens are refused, its outbox, jobs and broadcasts wait, and its data stays.
    pub disabled: Option<Timestamp>,
}

impl Organization {
    /// Whether it is enabled (not disabled).
    pub fn is_enabled(&self) -> bool {
        self.disabled.is_none()
    }
}

/// A part of the product an organization switches on beside the order desk, which every
/// organization has (SPEC 3.1, "Modules per organization"). A module's pages, menu entries,
/// bot commands and API answer only while it is on; its data stays when it is switched off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Module {
    /// Departments, operator status, the assignment queue, operator statistics (SPEC 5B).
    Operators,
    /// Ticket fields, fraud rules, calls (SPEC 5C).
    Tickets,
    /// Registration, profiles, packages, the token ledger, subscriptions, payments, the
    /// queue, broadcasts (SPEC 5D).
    Tokens,
    /// Leads with AI qualification, projects, daily reports, money, change requests, the
    /// Mini App (SPEC 5E).
    Projects,
}

impl Module {
    /// Every module, in display order.
    pub const ALL: [Module; 4] = [
        Module::Operators,
        Module::Tickets,
        Module::Tokens,
        Module::Projects,
    ];

    /// The snake_case name (`operators`), as templates, forms and the CLI write it.
    pub fn as_str(self) -> &'static str {
        match self {
            Module::Operators => "operators",
            Module::Tickets => "tickets",
            Module::Tokens => "tokens",
            Module::Projects => "projects",
        }
    }

    /// Parses the snake_case name.
    ///
    /// # Errors
    /// [`crate::ErrorKind::InvalidInput`] on `field` for an unknown name, naming the choices.
    pub fn parse(field: &'static str, text: &str) -> crate::Result<Self> {
        Module::ALL
            .into_iter()
            .find(|module| module.as_str() == text.trim())
            .ok_or_else(|| {
                let names: Vec<&str> = Module::ALL.iter().map(|module| module.as_str()).collect();
                crate::Error::invalid(
                    field,
                    format!("{text:?} is not a module (one of: {})", names.join(", ")),
                )
            })
    }

    fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

impl std::fmt::Display for Module {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The set of modules an organization runs, stored as a bit set (one bit per [`Module`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct Modules(u8);

impl Modules {
    /// No module: the order desk alone.
    pub const NONE: Modules = Modules(0);

    /// Whether `module` is on.
    pub fn contains(self, module: Module) -> bool {
        self.0 & module.bit() != 0
    }

    /// Switches `module` on or off.
    pub fn set(&mut self, module: Module, on: bool) {
        if on {
            self.0 |= module.bit();
        } else {
            self.0 &= !module.bit();
        }
    }

    /// The modules that are on, in display order.
    pub fn iter(self) -> impl Iterator<Item = Module> {
        Module::ALL
            .into_iter()
            .filter(move |module| self.contains(*module))
    }
}

impl FromIterator<Module> for Modules {
    fn from_iter<I: IntoIterator<Item = Module>>(iter: I) -> Self {
        let mut modules = Modules::NONE;
        for module in iter {
            modules.set(module, true);
        }
        modules
    }
}

/// Organization settings (SPEC section 4, the C0de seed's order limit and commission).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrgSettings {
    /// Default interface and bot language.
    pub locale: Language,
    /// ISO 4217 currency code, three upper-case letters.
    pub currency: String,
    /// The most open (non-terminal) orders one customer may hold; 0 means no limit.
    pub open_order_limit: u32,
    /// Commission withheld from the assignee's payout, in basis points (1000 = 10%).
    pub commission_bps: u32,
    /// Fixed fee withheld from every payout, in minor units.
    pub commission_fixed: Money,
    /// The Telegram bot token, when one was set (absent means sandbox mode). Never logged.
    pub bot_token: Option<String>,
    /// The organization's time zone, an IANA name (`Europe/Berlin`); `UTC` by default.
    /// Scheduled jobs that run at a local time (the daily report) read it.
    pub time_zone: String,
}

/// The time zone of an organization that never chose one.
pub const DEFAULT_TIME_ZONE: &str = "UTC";

/// What a stage means for the order's life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StageKind {
    /// Waiting for staff to approve or reject (the moderation queue).
    Moderation,
    /// Being worked on.
    Open,
    /// Terminal: finished successfully.
    Won,
    /// Terminal: rejected, cancelled or lost.
    Lost,
}

impl StageKind {
    /// Won and lost stages end an order's life; it no longer counts as open.
    pub fn is_terminal(self) -> bool {
        matches!(self, StageKind::Won | StageKind::Lost)
    }
}

/// One column of the pipeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Stage {
    /// Stable id, never reused within the organization.
    pub id: StageId,
    /// Machine key, `snake_case`, unique within the pipeline (`in_progress`).
    pub key: String,
    /// The name shown on the board and to customers, per language.
    pub name: Localized,
    /// What the stage means.
    pub kind: StageKind,
    /// Kanban colour, `#rrggbb`.
    pub color: String,
    /// The customer may delete an order in this stage (C0de: pending or rejected).
    pub customer_deletable: bool,
    /// Payment details may be sent in this stage (C0de: in progress and later).
    pub payment_allowed: bool,
    /// An order needs an assignee to enter this stage.
    pub requires_assignee: bool,
    /// Staff may place bids on orders in this stage.
    pub accepts_bids: bool,
}

impl Stage {
    /// The stage name in `language` (falling back as [`Localized::get`] does).
    pub fn name(&self, language: Language) -> &str {
        self.name.get(language)
    }
}

/// Where a transition may start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TransitionFrom {
    /// From this stage only.
    Stage(StageId),
    /// From any non-terminal stage (`"*"` in a template).
    AnyOpen,
}

/// An allowed move between stages and the permission it needs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Transition {
    /// Where it starts.
    pub from: TransitionFrom,
    /// Where it ends.
    pub to: StageId,
    /// The permission the actor needs.
    pub permission: Permission,
}

/// The organization's order pipeline: stages in board order and allowed transitions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pipeline {
    /// Stages in board order; the first is where new orders start.
    pub stages: Vec<Stage>,
    /// Allowed moves.
    pub transitions: Vec<Transition>,
}

impl Pipeline {
    /// The stage new orders start in.
    pub fn initial(&self) -> &Stage {
        // A pipeline is validated on creation to have at least one stage.
        &self.stages[0]
    }

    /// The stage with this id.
    pub fn stage(&self, id: StageId) -> Option<&Stage> {
        self.stages.iter().find(|stage| stage.id == id)
    }

    /// The stage with this key.
    pub fn stage_by_key(&self, key: &str) -> Option<&Stage> {
        self.stages.iter().find(|stage| stage.key == key)
    }

    /// The transition from `from` to `to`, if the pipeline allows it.
    pub fn transition(&self, from: StageId, to: StageId) -> Option<&Transition> {
        let from_terminal = self
            .stage(from)
            .is_none_or(|stage| stage.kind.is_terminal());
        self.transitions.iter().find(|transition| {
            transition.to == to
                && match transition.from {
                    TransitionFrom::Stage(stage) => stage == from,
                    TransitionFrom::AnyOpen => !from_terminal && from != to,
                }
        })
    }

    /// The stages reachable from `from` in one move.
    pub fn next_stages(&self, from: StageId) -> Vec<&Stage> {
        self.stages
            .iter()
            .filter(|stage| self.transition(from, stage.id).is_some())
            .collect()
    }
}
