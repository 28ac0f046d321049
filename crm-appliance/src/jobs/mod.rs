//! Background jobs: retention (`retention` deletes processed inbox items, finished outbox items
//! and files nothing refers to, every hour). Delivering the outbox to Telegram is the bot's
//! sending half: see `bot::outbox`.

pub(crate) mod retention;
