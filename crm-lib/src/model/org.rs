//! Organizations (tenants), their settings and their pipeline.
//!
//! A pipeline is data: ordered stages with flags, and the allowed transitions with the
//! permission each needs. The four templates of SPEC section 4 live in
//! `fixtures/templates/*.toml` and are compiled in by [`crate::templates`].

use serde::{Deserialize, Serialize};

use super::{Language, Localized, Money, OrgId, Permission, StageId, Timestamp};

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
    /// When it was created.
    pub created_at: Timestamp,
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
}

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
