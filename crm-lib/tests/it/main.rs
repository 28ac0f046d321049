//! crm-lib integration tests: every rule through the public `Crm` API, one binary.

#![allow(clippy::unwrap_used, missing_docs, unreachable_pub)]

mod admin;
mod chat_and_telegram;
mod isolation;
mod live;
mod media_access;
mod migration;
mod orders;
mod properties;
mod retention;
mod support;
mod team;
mod writer;
