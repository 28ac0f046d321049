//! crm-cli integration tests: the real `crm` binary run in temporary directories.

#![allow(clippy::unwrap_used, missing_docs, unreachable_pub)]

mod admin;
mod analytics;
mod backup_faults;
mod broadcasts;
mod calls;
mod canned;
mod customers;
mod data;
mod departments;
mod leads;
mod org;
mod projects;
mod token_service;
mod tokens;
mod users;
mod util;
mod webhooks;
