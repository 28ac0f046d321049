//! The system handle: the trusted calls that act for no person, named at every call site.
//!
//! Every use case of crm-lib takes an [`Actor`](crate::model::Actor) and checks it. A few calls have no person
//! behind them: the bot's plumbing (the inbox of updates, the dialogue state, its replies, who
//! a Telegram account is), the outbox's delivery bookkeeping, retention, and the store-wide
//! administration (organizations, backup, verification, statistics, the demo). They sit
//! behind [`Crm::system`] and [`Tx::system`], so that reading `crm.system()` says "no actor is
//! checked here", and an embedder who only ever writes `crm.create_order(&actor, ...)` can see
//! at a glance that every other call checks its actor.
//!
//! The store-wide calls are implemented beside their area (`services/admin.rs`,
//! `services/org.rs`, `services/retention.rs`, the bot and outbox plumbing in
//! `services/telegram.rs`...) as `impl System`; this module holds the two handles only.

use crate::{Crm, Tx};

/// Trusted calls of the whole store; see the [module documentation](self). Cheap: borrow it
/// with [`Crm::system`] where you need it.
#[derive(Debug, Clone, Copy)]
pub struct System<'c> {
    pub(crate) crm: &'c Crm,
}

impl Crm {
    /// The trusted calls that act for no person (the bot's plumbing, outbox bookkeeping,
    /// retention, store-wide administration).
    pub fn system(&self) -> System<'_> {
        System { crm: self }
    }
}

/// Trusted calls inside a write transaction (the bot handling an update); see the
/// [module documentation](self).
pub struct SystemTx<'t, 'a> {
    pub(crate) tx: &'t mut Tx<'a>,
}

impl<'a> Tx<'a> {
    /// The trusted calls of this transaction: the bot's plumbing while it handles an update.
    pub fn system(&mut self) -> SystemTx<'_, 'a> {
        SystemTx { tx: self }
    }
}
