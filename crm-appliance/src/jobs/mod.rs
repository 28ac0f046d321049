//! Background jobs: outbox delivery to Telegram within Telegram's limits, and retention.
//!
//! `outbox` sends every notification, chat message and bot reply after its transaction has
//! committed; `limiter` keeps it within 1 message/s per chat, 30/s overall and 20/min per
//! group; `retention` deletes processed inbox items and finished outbox items every hour.

pub(crate) mod limiter;
pub(crate) mod outbox;
pub(crate) mod retention;
