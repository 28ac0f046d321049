//! crm-lib: the domain of a Telegram-first CRM over one embedded redb file.
//!
//! Customers order through a Telegram bot, staff moderate, bid, assign and move orders across
//! a pipeline, both sides chat, and every change is audited and notifies who must know. This
//! crate decides every rule; the appliance (web and bot) and the `crm` command only parse
//! input, call one [`Crm`] method and render the result.
//!
//! - [`Crm`] is the facade: open a file, then call use cases with an [`Actor`](model::Actor).
//! - Writes go through one group-commit writer: concurrent calls share one durable commit and
//!   none returns before its data is on disk.
//! - Every use case checks its rules and the actor's permissions, then writes the record, its
//!   indexes, an audit entry and the outbox items it causes, in one transaction.
//!
//! ```
//! use crm_lib::{Crm, Page, customers::TelegramProfile, orders::{NewOrder, OrderFilter}};
//! use crm_lib::model::{Actor, Money, TelegramUserId};
//!
//! // One file holds everything; opening a new path creates it.
//! let dir = tempfile::tempdir()?;
//! let crm = Crm::open(dir.path().join("crm.redb"))?;
//!
//! // Creating an organization is set-up, not anyone's action: a call of the system handle.
//! let org = crm.system().create_organization("studio", "Acme Studio", "acme")?;
//!
//! // A customer appears when they first write to the bot.
//! let customer = crm.system().upsert_telegram_customer(org.id, TelegramProfile {
//!     telegram_id: TelegramUserId::new(42),
//!     username: Some("alice".into()),
//!     first_name: "Alice".into(),
//!     last_name: None,
//!     language_code: Some("en".into()),
//! })?;
//!
//! // Every use case takes the actor it checks: here the customer orders for herself.
//! let alice = Actor::customer(org.id, customer.id);
//! let order = crm.create_order(&alice, NewOrder {
//!     title: "Telegram bot for a bakery".into(),
//!     description: "Orders and delivery slots".into(),
//!     budget: Some(Money::parse("budget", "1500")?),
//!     ..NewOrder::default()
//! })?;
//!
//! // A page of the orders the actor may see, newest first.
//! let page = crm.list_orders(&Actor::system(org.id), &OrderFilter::default(), Page::first(50))?;
//! assert_eq!(page.items[0].id, order.id);
//! assert_eq!(page.items[0].budget, Some(Money::from_minor(150_000)));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![cfg_attr(test, allow(clippy::unwrap_used))]

mod crm;
mod error;
#[doc(hidden)]
pub mod fuzzing;
pub mod i18n;
pub mod model;
mod password;
mod services;
mod store;
pub mod system;
pub mod templates;

pub use crm::{Crm, CrmOptions, is_locked};
pub use error::{Error, ErrorKind, Result};
pub use password::{ALPHANUMERIC, Password, generate_password, random_string};
pub use services::payments;
pub use services::{
    Page, Paged, admin, analytics, api_tokens, audit, billing, broadcasts, calls, canned,
    capabilities, chat, csat, customers, demo, export, forms, hours, import, inbox, jobs, leads,
    live, media, merge, mini_app, operators, orders, org, profiles, projects, retention, scheduled,
    sessions, staff_chat, staffing, team, telegram, tenants, tickets, tokens, webhooks,
};
pub use store::schema::{SCHEMA_VERSION, write_schema_v1_file};
pub use store::{ReadTx, Tx, View, Written};

/// Media is stored in chunks of this many bytes (256 KiB).
pub const MEDIA_CHUNK_SIZE: usize = 256 * 1024;

/// The largest media file accepted, in bytes (20 MiB: Telegram's getFile download limit).
pub const MEDIA_MAX_SIZE: usize = 20 * 1024 * 1024;
