//! The client Mini App (issue 14, SPEC 5E; the renovation plan's "Client Mini App"): who a
//! validated Telegram `initData` is, and what that client reads and decides about their
//! projects.
//!
//! - [`init_data`]: Telegram's first-party validation of `initData` (pure, no I/O):
//!   [`validate_init_data`], [`WebAppKey`], [`sign_init_data`] for the sandbox and tests.
//! - `client.rs`: the client's reads and their one write, each taking the validated
//!   [`InitData`] (which only validation makes) and the organization whose bot signed it:
//!   [`client_home_in`] (the customer of that Telegram account and their projects, active
//!   first), [`client_project_in`] (progress, stages, money summary, a page of the daily
//!   reports' feed newest first by cursor, pending change requests with the client's
//!   [`crate::projects::ProjectActions`], documents), [`crate::Crm::mini_app_decide`] (approve or
//!   reject through `decide_change_request` as [`Actor::customer`]) and
//!   [`crate::Crm::mini_app_media`] (a report's file, under the media visibility rule).
//!
//! The rules are the projects module's: the Telegram account must belong to a customer of
//! the organization (a staff user's account, or a stranger's, gets "not found"), and that
//! customer reads only their own projects, as [`crate::projects::project_in`] shows them to
//! a client. The Mini App is stateless: every request carries `initData`, validated again.
//!
//! [`Actor::customer`]: crate::model::Actor::customer

mod client;
pub mod init_data;

pub use client::{
    ClientDecision, ClientDocument, ClientHome, ClientProject, FEED_PAGE, FeedMedia, FeedReport,
    MoneySummary, client_actor_in, client_has_project_in, client_home_in, client_project_in,
};
pub use init_data::{
    DEFAULT_MAX_AGE_SECONDS, InitData, InitDataError, WebAppKey, WebAppUser, sign_init_data,
    user_json, validate_init_data,
};
