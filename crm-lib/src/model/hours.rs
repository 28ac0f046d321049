//! Business hours (issue 12): the organization's weekly schedule, holidays and time zone,
//! and the out-of-hours auto-reply. The rules (open or closed at a moment, the closed period
//! around it) are `crate::hours`.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::{CustomerId, Date, Localized, Timestamp};

/// One open stretch of a day on the local clock, `[start, end)` in minutes after midnight
/// (`end` up to 1440, written `24:00`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct OpenInterval {
    /// Opening, minutes after local midnight (0..1440).
    pub(crate) start: u16,
    /// Closing, minutes after local midnight (start+1..=1440).
    pub(crate) end: u16,
}

impl OpenInterval {
    /// The interval `[start, end)` in minutes after local midnight, when `start < end <=
    /// 1440`.
    pub fn new(start: u16, end: u16) -> Option<Self> {
        (start < end && end <= 1440).then_some(OpenInterval { start, end })
    }

    /// Opening, minutes after local midnight.
    pub fn start(self) -> u16 {
        self.start
    }

    /// Closing, minutes after local midnight (1440: midnight at the end of the day).
    pub fn end(self) -> u16 {
        self.end
    }
}

impl fmt::Display for OpenInterval {
    /// `09:00-18:00`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:02}:{:02}-{:02}:{:02}",
            self.start / 60,
            self.start % 60,
            self.end / 60,
            self.end % 60
        )
    }
}

/// An organization's business hours. Absent until first saved, which reads as switched off
/// (always open, no auto-reply).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BusinessHours {
    /// Whether the schedule applies; off means always open and no auto-reply.
    pub enabled: bool,
    /// Its own IANA time zone; `None` follows the organization's `settings.time_zone`.
    pub time_zone: Option<String>,
    /// The open intervals of each weekday, Monday first (seven entries), sorted and not
    /// overlapping; an empty day is closed.
    pub week: Vec<Vec<OpenInterval>>,
    /// Local dates closed all day, sorted.
    pub holidays: Vec<Date>,
    /// What a customer who writes while closed is told, per language; empty sends nothing.
    pub auto_reply: Localized,
    /// When it last changed.
    pub updated_at: Timestamp,
}

impl Default for BusinessHours {
    fn default() -> Self {
        BusinessHours {
            enabled: false,
            time_zone: None,
            week: vec![Vec::new(); 7],
            holidays: Vec::new(),
            auto_reply: Localized::default(),
            updated_at: Timestamp::from_millis(0),
        }
    }
}

/// The closed period in which a customer last got the auto-reply: at most one per
/// conversation per closed period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AutoReplyMark {
    /// Whose conversation.
    pub customer: CustomerId,
    /// The start of that closed period (ms; `i64::MIN` when it has no start within the
    /// schedule's horizon).
    pub period_start: i64,
    /// When the auto-reply was sent.
    pub sent_at: Timestamp,
}
