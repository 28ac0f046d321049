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
//! use crm_lib::{Crm, Page, customers::TelegramProfile, model::Actor, orders::{NewOrder, OrderFilter}};
//!
//! let dir = tempfile::tempdir()?;
//! let crm = Crm::open(dir.path().join("crm.redb"))?;
//! let org = crm.create_organization("studio", "Acme Studio", "acme")?;
//! let customer = crm.upsert_telegram_customer(org.id, TelegramProfile {
//!     telegram_id: crm_lib::model::TelegramUserId::new(42),
//!     username: Some("alice".into()),
//!     first_name: "Alice".into(),
//!     last_name: None,
//!     language_code: Some("en".into()),
//! })?;
//! let order = crm.create_order(&Actor::customer(org.id, customer.id), NewOrder {
//!     title: "Telegram bot for a bakery".into(),
//!     description: "Orders and delivery slots".into(),
//!     budget: Some("1500".into()),
//!     ..NewOrder::default()
//! })?;
//! let page = crm.list_orders(&Actor::system(org.id), &OrderFilter::default(), Page::first(50))?;
//! assert_eq!(page.items[0].id, order.id);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![cfg_attr(test, allow(clippy::unwrap_used))]

mod crm;
mod error;
#[doc(hidden)]
pub mod fuzzing;
pub mod model;
mod password;
mod services;
mod store;
pub mod templates;

pub use crm::{Crm, CrmOptions, is_locked};
pub use error::{Error, ErrorKind, Result};
pub use password::{Password, generate_password};
pub use services::{
    Page, Paged, admin, api_tokens, audit, billing, chat, customers, demo, export, import, live,
    media, orders, org, retention, sessions, staffing, team, telegram,
};
pub use store::schema::{SCHEMA_VERSION, write_schema_v1_file};
pub use store::{ReadTx, Tx, View, Written};

/// Media is stored in chunks of this many bytes (256 KiB).
pub const MEDIA_CHUNK_SIZE: usize = 256 * 1024;

/// The largest media file accepted, in bytes (20 MiB: Telegram's getFile download limit).
pub const MEDIA_MAX_SIZE: usize = 20 * 1024 * 1024;
