//! Telegram's sending limits, kept in memory by the delivery job: at most one message per
//! second to a chat, 30 per second overall, 20 per minute to a group (SPEC sections 3 and 7),
//! and a pause after a 429.
//!
//! Only sends that put a new message in a chat count (`send*`, `copyMessage`,
//! `forwardMessage`); callback answers and edits of existing messages do not, which keeps a
//! pressed button responsive. A slot is taken when the send starts, so concurrent sends never
//! overshoot.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

/// The gap between two messages to one chat.
pub(crate) const PER_CHAT: Duration = Duration::from_secs(1);
/// Messages per second overall.
pub(crate) const GLOBAL_PER_SECOND: usize = 30;
/// The window the overall limit is counted in: a second plus a tenth of margin, so network
/// jitter between sends never shows Telegram more than 30 in one second.
pub(crate) const GLOBAL_WINDOW: Duration = Duration::from_millis(1100);
/// Messages per minute to one group.
pub(crate) const GROUP_PER_MINUTE: usize = 20;

/// The limiter's memory.
#[derive(Debug, Default)]
pub(crate) struct Limiter {
    last_per_chat: HashMap<i64, Instant>,
    global: VecDeque<Instant>,
    groups: HashMap<i64, VecDeque<Instant>>,
    paused_until: Option<Instant>,
}

impl Limiter {
    /// Takes a slot for a send to `chat` at `now`, or says when one will be free. `counted`
    /// is [`counts`] of the method; uncounted calls wait only for a 429 pause.
    pub(crate) fn try_take(
        &mut self,
        chat: i64,
        counted: bool,
        now: Instant,
    ) -> Result<(), Instant> {
        if let Some(until) = self.paused_until {
            if until > now {
                return Err(until);
            }
            self.paused_until = None;
        }
        if !counted {
            return Ok(());
        }
        let mut ready = now;
        if let Some(last) = self.last_per_chat.get(&chat) {
            ready = ready.max(*last + PER_CHAT);
        }
        while self
            .global
            .front()
            .is_some_and(|at| now.duration_since(*at) >= GLOBAL_WINDOW)
        {
            self.global.pop_front();
        }
        if self.global.len() >= GLOBAL_PER_SECOND
            && let Some(oldest) = self.global.front()
        {
            ready = ready.max(*oldest + GLOBAL_WINDOW);
        }
        if chat < 0 {
            let sent = self.groups.entry(chat).or_default();
            while sent
                .front()
                .is_some_and(|at| now.duration_since(*at) >= Duration::from_secs(60))
            {
                sent.pop_front();
            }
            if sent.len() >= GROUP_PER_MINUTE
                && let Some(oldest) = sent.front()
            {
                ready = ready.max(*oldest + Duration::from_secs(60));
            }
        }
        if ready > now {
            return Err(ready);
        }
        self.last_per_chat.insert(chat, now);
        self.global.push_back(now);
        if chat < 0 {
            self.groups.entry(chat).or_default().push_back(now);
        }
        Ok(())
    }

    /// Stops every send until `until` (Telegram's `retry_after` on a 429).
    pub(crate) fn pause(&mut self, until: Instant) {
        self.paused_until = Some(
            self.paused_until
                .map_or(until, |current| current.max(until)),
        );
    }

    /// Forgets chats idle for longer than the limits look back.
    pub(crate) fn prune(&mut self, now: Instant) {
        self.last_per_chat
            .retain(|_, at| now.duration_since(*at) < PER_CHAT * 2);
        self.groups.retain(|_, sent| {
            sent.back()
                .is_some_and(|at| now.duration_since(*at) < Duration::from_secs(60))
        });
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn one_message_per_second_per_chat() {
        let mut limiter = Limiter::default();
        let start = Instant::now();
        assert!(limiter.try_take(42, true, start).is_ok());
        assert_eq!(limiter.try_take(42, true, start), Err(start + PER_CHAT));
        assert!(
            limiter.try_take(43, true, start).is_ok(),
            "other chats go on"
        );
        assert!(
            limiter.try_take(42, false, start).is_ok(),
            "answers and edits do not count"
        );
        assert!(limiter.try_take(42, true, start + PER_CHAT).is_ok());
    }

    #[test]
    fn thirty_messages_per_second_overall() {
        let mut limiter = Limiter::default();
        let start = Instant::now();
        for chat in 0..30 {
            assert!(limiter.try_take(chat + 1, true, start).is_ok());
        }
        assert_eq!(
            limiter.try_take(100, true, start + Duration::from_millis(10)),
            Err(start + GLOBAL_WINDOW)
        );
    }

    #[test]
    fn twenty_messages_per_minute_to_a_group() {
        let mut limiter = Limiter::default();
        let start = Instant::now();
        for i in 0..20 {
            let at = start + PER_CHAT * i;
            assert!(limiter.try_take(-100_123, true, at).is_ok());
        }
        assert_eq!(
            limiter.try_take(-100_123, true, start + PER_CHAT * 20),
            Err(start + Duration::from_secs(60))
        );
    }

    #[test]
    fn a_pause_holds_everything() {
        let mut limiter = Limiter::default();
        let start = Instant::now();
        limiter.pause(start + Duration::from_secs(3));
        assert!(limiter.try_take(1, false, start).is_err());
        assert!(
            limiter
                .try_take(1, true, start + Duration::from_secs(3))
                .is_ok()
        );
    }
}
