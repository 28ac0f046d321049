//! Customers: the people who talk to the bot.

use serde::{Deserialize, Serialize};

use super::{CustomerId, Language, TelegramUserId, Timestamp};

/// A customer, identified by their Telegram account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Customer {
    /// The id.
    pub id: CustomerId,
    /// Telegram user id; unique within the organization. `None` for customers imported
    /// without one.
    pub telegram_id: Option<TelegramUserId>,
    /// Telegram username without `@`, when they have one.
    pub username: Option<String>,
    /// First name (Telegram always sends one).
    pub first_name: String,
    /// Last name, when known.
    pub last_name: Option<String>,
    /// Phone in E.164 form (`+79161234567`).
    pub phone: Option<String>,
    /// Email address.
    pub email: Option<String>,
    /// The language the bot speaks to them.
    pub language: Language,
    /// Set when Telegram answered 403 (the customer blocked the bot): no more sends.
    pub unreachable: bool,
    /// Unread inbound messages for staff.
    pub unread: u32,
    /// When the customer first appeared.
    pub created_at: Timestamp,
    /// When they last wrote or were written to.
    pub last_activity_at: Timestamp,
}

impl Customer {
    /// `First Last`, or the first name alone.
    pub fn full_name(&self) -> String {
        match &self.last_name {
            Some(last) if !last.is_empty() => format!("{} {last}", self.first_name),
            _ => self.first_name.clone(),
        }
    }
}
