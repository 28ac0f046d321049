//! Black-box tests of the appliance: the real binary on a free loopback port with a fresh
//! data directory, driven over HTTP (and the sandbox emulator as Telegram customers).

#![allow(clippy::unwrap_used, missing_docs, unreachable_pub)]

mod admin_channel;
mod analytics;
mod analytics_browser;
mod api;
mod bad_input;
mod bot_bad_input;
mod bot_browser;
mod bot_flows;
mod bot_staff;
mod bot_support;
mod broadcast_faults;
mod broadcasts;
mod broadcasts_browser;
mod browser;
mod browser_calls;
mod browser_pages;
mod calls;
mod canned_hours;
mod chat;
mod csat;
mod faults;
mod fidelity;
mod fidelity_browser;
mod hardening;
mod inbox;
mod inbox_browser;
mod jobs;
mod metrics;
mod operators;
mod operators_browser;
mod order_desk;
mod order_desk_parity;
mod order_form_choices;
mod outbox;
mod pages;
mod payments;
mod registration;
mod routes_by_role;
mod sandbox;
mod sse;
mod staff;
mod staff_chat;
mod startup;
mod support;
mod tenants;
mod tickets;
mod tokens_browser;
mod tokens_web;
mod tools;
mod web_helpers;
mod webdriver;
mod webhooks;
mod webhooks_browser;
