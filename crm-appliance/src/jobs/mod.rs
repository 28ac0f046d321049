//! Background jobs: retention (`retention` deletes processed inbox items, finished outbox items
//! and files nothing refers to, every hour), the scheduler of crm-lib's scheduled jobs
//! (`scheduler`: audit cleanup, the daily report, whatever `crm_lib::jobs::JOBS` declares) and
//! the operators module's sweep (`operators`: idle operators away, ended sessions offline,
//! unanswered conversations re-routed, every minute). Delivering the outbox to Telegram is the
//! bot's sending half: see `bot::outbox`.

pub(crate) mod operators;
pub(crate) mod retention;
pub(crate) mod scheduler;
