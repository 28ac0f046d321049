//! The built-in Telegram Bot API emulator and its browser page (SPEC section 6).
//!
//! With no `--telegram-token` the appliance serves a Bot API of its own at
//! `/sandbox/bot<token>/<method>` (a generated token) and points its own bot at it, so the bot
//! code is the same in both modes and only the base URL differs. Simulated customers write to
//! the bot through the control API (`control`), which the `/sandbox` page (`page`) and the
//! test suite use; it answers a staff session or the sandbox key printed at start (`access`).
//! The emulator's state lives in memory (`emulator`); the Bot API surface is in `api`.
//!
//! With a token set, every route here answers 404 except the page, which says the sandbox is
//! off.

mod access;
mod api;
mod bench;
mod control;
pub(crate) mod emulator;
mod page;

use axum::Router;
use axum::routing::{any, get, post};

use crate::AppState;

pub use access::{KEY_HEADER, generate_key};

/// The emulator's Bot API, its control API and the page.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/sandbox", get(page::page))
        .route("/sandbox/{bot}/{method}", any(api::bot_api))
        .route("/sandbox/file/{bot}/{*path}", get(api::file))
        .route("/sandbox/files/{file_id}", get(control::file))
        .route("/sandbox/chats", get(control::chats))
        .route("/sandbox/chats/{user_id}", get(control::chat))
        .route("/sandbox/chats/{user_id}/send", post(control::send))
        .route("/sandbox/chats/{user_id}/press", post(control::press))
        .route("/sandbox/chats/{user_id}/pay", post(control::pay))
        .route("/sandbox/chats/{user_id}/edit", post(control::edit))
        .route("/sandbox/chats/{user_id}/block", post(control::block))
        .route("/sandbox/chats/{user_id}/web_app", post(control::web_app))
        .route("/sandbox/chats/{user_id}/unblock", post(control::unblock))
        .route("/sandbox/updates", post(control::inject))
        .route(
            "/sandbox/faults",
            get(control::faults)
                .post(control::add_fault)
                .delete(control::clear_faults),
        )
        .route(
            "/sandbox/forums",
            get(control::forums).post(control::create_forum),
        )
        .route("/sandbox/forums/{chat_id}", get(control::forum))
        .route("/sandbox/forums/{chat_id}/send", post(control::forum_send))
        .route("/sandbox/stats", get(control::stats))
        .route("/sandbox/bench/static", get(bench::static_sample))
}
