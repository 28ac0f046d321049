//! When a job's slots fall: every N minutes, or daily at a local time in the organization's
//! time zone (an IANA name such as `Europe/Moscow`, read with jiff and its compiled-in tz
//! database, so daylight saving time moves the slot with the clock on the wall).

use jiff::tz::TimeZone;

use crate::model::{Date, LocalTime, Timestamp};
use crate::{Error, Result};

/// A job's schedule, as its declaration gives it (from the organization's job settings).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Schedule {
    /// Every `n` minutes, at whole multiples of `n` minutes since the Unix epoch (UTC), so
    /// the slots stay put across restarts. `n` is at least 1.
    EveryMinutes(u32),
    /// Once a day at this time on the organization's clock. A time that a daylight saving
    /// change skips runs as the clock would have read it (02:30 becomes 03:30), and a time
    /// that happens twice runs the first time.
    DailyAt(LocalTime),
}

fn to_jiff(at: Timestamp) -> Result<jiff::Timestamp> {
    jiff::Timestamp::from_millisecond(at.millis()).map_err(|error| {
        Error::storage(format!("timestamp {} is out of range", at.millis()), error)
    })
}

fn from_jiff(at: jiff::Timestamp) -> Timestamp {
    Timestamp::from_millis(at.as_millisecond())
}

fn out_of_range(error: jiff::Error) -> Error {
    Error::storage("a date out of the supported range", error)
}

/// The first moment of `date` (a local calendar day) in `zone`.
fn start_of(date: jiff::civil::Date, zone: &TimeZone) -> Result<Timestamp> {
    Ok(from_jiff(
        date.to_zoned(zone.clone())
            .map_err(out_of_range)?
            .timestamp(),
    ))
}

impl Schedule {
    /// The first slot strictly after `after`, in `zone` (used by daily schedules only).
    ///
    /// # Errors
    /// Storage, for a moment outside jiff's range (years -9999 to 9999).
    pub fn next_after(self, after: Timestamp, zone: &TimeZone) -> Result<Timestamp> {
        match self {
            Schedule::EveryMinutes(minutes) => {
                let period = i64::from(minutes.max(1)) * 60_000;
                Ok(Timestamp::from_millis(
                    (after.millis().div_euclid(period) + 1).saturating_mul(period),
                ))
            }
            Schedule::DailyAt(time) => {
                let local = to_jiff(after)?.to_zoned(zone.clone());
                let mut date = local.date();
                // Today's slot, or tomorrow's; a third day only if a zone skipped a whole day.
                for _ in 0..3 {
                    let slot = date
                        .at(time.hour() as i8, time.minute() as i8, 0, 0)
                        .to_zoned(zone.clone())
                        .map_err(out_of_range)?;
                    let slot = from_jiff(slot.timestamp());
                    if slot > after {
                        return Ok(slot);
                    }
                    date = date.tomorrow().map_err(out_of_range)?;
                }
                Err(Error::storage(
                    "no daily slot in three days",
                    std::io::Error::other("time zone"),
                ))
            }
        }
    }
}

impl Schedule {
    /// The latest slot at or before `at`, in `zone`: the slot a claim at `at` runs when one
    /// or more slots were missed (the newest, so a report late by days reports yesterday).
    ///
    /// # Errors
    /// Storage, for a moment outside jiff's range.
    pub fn last_at_or_before(self, at: Timestamp, zone: &TimeZone) -> Result<Timestamp> {
        match self {
            Schedule::EveryMinutes(minutes) => {
                let period = i64::from(minutes.max(1)) * 60_000;
                Ok(Timestamp::from_millis(
                    at.millis().div_euclid(period).saturating_mul(period),
                ))
            }
            Schedule::DailyAt(time) => {
                let mut date = to_jiff(at)?.to_zoned(zone.clone()).date();
                for _ in 0..3 {
                    let slot = date
                        .at(time.hour() as i8, time.minute() as i8, 0, 0)
                        .to_zoned(zone.clone())
                        .map_err(out_of_range)?;
                    let slot = from_jiff(slot.timestamp());
                    if slot <= at {
                        return Ok(slot);
                    }
                    date = date.yesterday().map_err(out_of_range)?;
                }
                Err(Error::storage(
                    "no daily slot in three days",
                    std::io::Error::other("time zone"),
                ))
            }
        }
    }
}

/// The local day before the one `at` falls on in `zone`, with its first moment and the
/// first moment of the next day (so `[start, end)`; 23 or 25 hours across a daylight saving
/// change).
///
/// # Errors
/// Storage, for a moment outside jiff's range.
pub(crate) fn day_before(at: Timestamp, zone: &TimeZone) -> Result<(Date, Timestamp, Timestamp)> {
    let today = to_jiff(at)?.to_zoned(zone.clone()).date();
    let yesterday = today.yesterday().map_err(out_of_range)?;
    let start = start_of(yesterday, zone)?;
    let end = start_of(today, zone)?;
    let utc_midnight = start_of(yesterday, &TimeZone::UTC)?;
    Ok((Date::of(utc_midnight), start, end))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Timestamp {
        let parsed: jiff::Timestamp = text.parse().unwrap();
        from_jiff(parsed)
    }

    #[test]
    fn a_daily_slot_follows_the_wall_clock_across_a_daylight_saving_change() {
        let new_york = TimeZone::get("America/New_York").unwrap();
        let nine = Schedule::DailyAt(LocalTime::new(9, 0).unwrap());
        // Saturday 2026-03-07, 10:00 EST: the next 09:00 is Sunday's, which is EDT (UTC-4).
        let next = nine
            .next_after(at("2026-03-07T15:00:00Z"), &new_york)
            .unwrap();
        assert_eq!(next, at("2026-03-08T13:00:00Z"));
        // The day before: 09:00 EST is 14:00 UTC.
        let before = nine
            .next_after(at("2026-03-06T15:00:00Z"), &new_york)
            .unwrap();
        assert_eq!(before, at("2026-03-07T14:00:00Z"));
        // 02:30 does not exist on 2026-03-08 in New York: it runs at 03:30 EDT.
        let skipped = Schedule::DailyAt(LocalTime::new(2, 30).unwrap());
        let next = skipped
            .next_after(at("2026-03-08T05:00:00Z"), &new_york)
            .unwrap();
        assert_eq!(next, at("2026-03-08T07:30:00Z"));
        // The latest slot before Monday noon is Monday's 09:00 EDT.
        let last = nine
            .last_at_or_before(at("2026-03-09T16:00:00Z"), &new_york)
            .unwrap();
        assert_eq!(last, at("2026-03-09T13:00:00Z"));
        let early = nine
            .last_at_or_before(at("2026-03-09T12:00:00Z"), &new_york)
            .unwrap();
        assert_eq!(early, at("2026-03-08T13:00:00Z"));
    }

    #[test]
    fn every_n_minutes_falls_on_whole_multiples_and_strictly_after() {
        let five = Schedule::EveryMinutes(5);
        let utc = TimeZone::UTC;
        assert_eq!(
            five.next_after(at("2026-01-01T10:02:00Z"), &utc).unwrap(),
            at("2026-01-01T10:05:00Z")
        );
        assert_eq!(
            five.next_after(at("2026-01-01T10:05:00Z"), &utc).unwrap(),
            at("2026-01-01T10:10:00Z")
        );
    }

    #[test]
    fn the_day_before_is_the_local_day_of_23_or_25_hours() {
        let new_york = TimeZone::get("America/New_York").unwrap();
        let (day, start, end) = day_before(at("2026-03-09T13:00:00Z"), &new_york).unwrap();
        assert_eq!(day.to_string(), "2026-03-08");
        assert_eq!(start, at("2026-03-08T05:00:00Z"));
        assert_eq!(end, at("2026-03-09T04:00:00Z"));
    }
}
