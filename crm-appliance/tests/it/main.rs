//! Black-box tests of the appliance: the real binary on a free loopback port with a fresh
//! data directory, driven over HTTP (and the sandbox emulator as Telegram customers).

#![allow(clippy::unwrap_used, missing_docs, unreachable_pub)]

mod startup;
mod support;
