//! The appliance: axum/hyper web server with maud views, the Telegram bot, the Bot API sandbox
//! emulator and background jobs, all over one [`crm_lib::Crm`].
//!
//! Handlers parse input, call one crm-lib method and render the result; no business rule is
//! decided here (see ARCHITECTURE.md).

#![cfg_attr(test, allow(clippy::unwrap_used))]

#[cfg(unix)]
pub mod admin_channel;
pub mod bot;
pub mod config;
#[doc(hidden)]
pub mod fuzzing;
pub mod i18n;
pub mod initial_password;
pub mod jobs;
pub mod sandbox;
pub mod startup;
pub mod state;
pub mod web;

pub use state::AppState;
pub use web::app;
