//! Background jobs: retention (`retention` deletes processed inbox items, finished outbox items
//! and files nothing refers to, every hour) and the scheduler of crm-lib's scheduled jobs
//! (`scheduler`: audit cleanup, the daily report, whatever `crm_lib::jobs::JOBS` declares).
//! Delivering the outbox to Telegram is the bot's sending half: see `bot::outbox`.

pub(crate) mod retention;
pub(crate) mod scheduler;
