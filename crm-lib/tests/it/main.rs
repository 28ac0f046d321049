//! crm-lib integration tests: every rule through the public `Crm` API, one binary.

#![allow(clippy::unwrap_used, missing_docs, unreachable_pub)]

mod admin;
mod analytics;
mod broadcasts;
mod calls;
mod canned_and_hours;
mod capabilities;
mod chat_and_telegram;
mod csat;
mod fidelity;
mod forms;
mod inbox;
mod isolation;
mod jobs;
mod layering;
mod leads;
mod live;
mod markers;
mod media_access;
mod merge;
mod migration;
mod mini_app;
mod modules;
mod operators;
mod order_form;
mod orders;
mod payment_details;
mod payments;
mod profiles;
mod project_documents;
mod projects;
mod properties;
mod retention;
mod scheduled;
mod staff_chat;
mod staffing;
mod support;
mod team;
mod tenants;
mod tickets;
mod tokens;
mod webhooks;
mod worker_bot;
mod writer;
