//! The inbox (SPEC 5F, issue 12): the three-pane conversation page's read, and closing,
//! reopening and snoozing conversations, with or without the operators module.
//!
//! `rows.rs` keeps the projection (`conversation_rows`: one [`ConversationRow`] per customer,
//! written by every use case that changes what it shows, checked by `crm verify`, built by
//! the schema 6 -> 7 migration) and holds the one rule of a conversation's state;
//! `commands.rs` the use cases; `queries.rs` [`inbox_page_in`], the whole page in one read.
//!
//! [`ConversationRow`]: crate::model::ConversationRow

mod commands;
mod queries;
pub(crate) mod rows;

pub use commands::SNOOZE_MAX_MINUTES;
pub use queries::{
    ConversationDetails, DETAIL_CALLS, DETAIL_MESSAGES, DETAIL_ORDERS, DetailOrder, InboxFilter,
    InboxPage, InboxQuery, InboxRow, SEARCH_MAX_CHARS, inbox_page_in,
};
