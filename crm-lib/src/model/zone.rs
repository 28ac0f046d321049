//! The organization's clock: its IANA time zone (`OrgSettings.time_zone`) read through jiff's
//! compiled-in tz database, to turn moments into the local days and times staff see and
//! local days back into the moments a filter or a statistic needs. Lists that show a time,
//! date filters and per-day statistics ask a [`Zone`] instead of assuming UTC, so that a
//! call at 23:30 UTC in Vladivostok (UTC+10) shows, filters and counts on the next day.

use std::fmt;

use jiff::tz::TimeZone;

use super::{Date, Organization, Timestamp};

/// Checks an IANA time zone name against the tz database compiled into the program
/// (`Europe/Berlin`, `America/New_York`, `UTC`), returning its canonical spelling as given.
///
/// # Errors
/// [`crate::ErrorKind::InvalidInput`] on `time_zone` for a name the database does not know.
pub fn parse_time_zone(name: &str) -> crate::Result<String> {
    let name = name.trim();
    if name.is_empty() || name.len() > 64 {
        return Err(crate::Error::invalid(
            "time_zone",
            "give an IANA time zone name such as Europe/Berlin",
        ));
    }
    jiff::tz::TimeZone::get(name).map_err(|_| {
        crate::Error::invalid(
            "time_zone",
            format!("{name:?} is not a time zone name (such as Europe/Berlin or UTC)"),
        )
    })?;
    Ok(name.to_string())
}

/// A time zone, as an organization's settings name it.
#[derive(Clone)]
pub struct Zone {
    name: String,
    zone: TimeZone,
}

impl fmt::Debug for Zone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Zone").field(&self.name).finish()
    }
}

impl PartialEq for Zone {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}

impl Eq for Zone {}

impl Default for Zone {
    fn default() -> Self {
        Zone::utc()
    }
}

impl Zone {
    /// UTC.
    pub fn utc() -> Self {
        Zone {
            name: "UTC".to_string(),
            zone: TimeZone::UTC,
        }
    }

    /// The zone named `name` (`Asia/Vladivostok`).
    ///
    /// # Errors
    /// [`crate::ErrorKind::InvalidInput`] on `time_zone` for a name the database does not
    /// know (as [`parse_time_zone`]).
    pub fn named(name: &str) -> crate::Result<Self> {
        let name = parse_time_zone(name)?;
        let zone = TimeZone::get(&name).map_err(|_| {
            crate::Error::invalid("time_zone", format!("{name:?} is not a time zone name"))
        })?;
        Ok(Zone { name, zone })
    }

    /// The organization's zone (`settings.time_zone`); UTC for a name the database does not
    /// know, which settings never store (they check it when it is set).
    pub fn of(org: &Organization) -> Self {
        Zone::named(&org.settings.time_zone).unwrap_or_else(|_| Zone::utc())
    }

    /// The zone's name as the settings give it.
    pub fn name(&self) -> &str {
        &self.name
    }

    fn zoned(&self, at: Timestamp) -> Option<jiff::Zoned> {
        jiff::Timestamp::from_millisecond(at.millis())
            .ok()
            .map(|moment| moment.to_zoned(self.zone.clone()))
    }

    /// The local calendar day `at` falls on (the UTC day for a moment outside jiff's range,
    /// years -9999 to 9999).
    pub fn date_of(&self, at: Timestamp) -> Date {
        match self.zoned(at) {
            Some(local) => {
                let date = local.date();
                Date::from_ymd(date.year(), date.month(), date.day()).unwrap_or(Date::of(at))
            }
            None => Date::of(at),
        }
    }

    /// The first moment of local day `date` (midnight, or the first moment after it when a
    /// daylight saving change skips midnight); midnight UTC for a day outside jiff's range.
    pub fn day_start(&self, date: Date) -> Timestamp {
        let time = date.to_time();
        jiff::civil::Date::new(
            i16::try_from(time.year()).unwrap_or(i16::MAX),
            i8::try_from(u8::from(time.month())).unwrap_or(1),
            i8::try_from(time.day()).unwrap_or(1),
        )
        .and_then(|civil| civil.to_zoned(self.zone.clone()))
        .map(|local| Timestamp::from_millis(local.timestamp().as_millisecond()))
        .unwrap_or(date.start())
    }

    /// The first moment after local day `date`: the day is `[day_start, day_end)`, 23, 24 or
    /// 25 hours long.
    pub fn day_end(&self, date: Date) -> Timestamp {
        self.day_start(date.next())
    }

    /// The moment local day `date` shows `minute` minutes after midnight on the clock
    /// (`minute` 0..=1440; 1440 is the next day's start). A clock time a daylight saving
    /// change skips maps to the moment after the gap, one it repeats to its first
    /// occurrence (jiff's "compatible" rule, as RFC 5545 does).
    pub fn local_moment(&self, date: Date, minute: u16) -> Timestamp {
        if minute >= 1440 {
            return self.day_end(date);
        }
        let time = date.to_time();
        jiff::civil::DateTime::new(
            i16::try_from(time.year()).unwrap_or(i16::MAX),
            i8::try_from(u8::from(time.month())).unwrap_or(1),
            i8::try_from(time.day()).unwrap_or(1),
            i8::try_from(minute / 60).unwrap_or(0),
            i8::try_from(minute % 60).unwrap_or(0),
            0,
            0,
        )
        .and_then(|civil| civil.to_zoned(self.zone.clone()))
        .map(|local| Timestamp::from_millis(local.timestamp().as_millisecond()))
        .unwrap_or_else(|_| date.start().plus_millis(i64::from(minute) * 60_000))
    }

    /// `at` on the local clock, `YYYY-MM-DD HH:MM`, the form the pages show.
    pub fn local_text(&self, at: Timestamp) -> String {
        match self.zoned(at) {
            Some(local) => format!(
                "{:04}-{:02}-{:02} {:02}:{:02}",
                local.year(),
                local.month(),
                local.day(),
                local.hour(),
                local.minute()
            ),
            None => at.to_rfc3339(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_late_utc_moment_falls_on_the_next_local_day_in_vladivostok() {
        let zone = Zone::named("Asia/Vladivostok").unwrap();
        let day = Date::parse("d", "2026-12-05").unwrap();
        let late = day.start().plus_millis(23 * 3_600_000 + 30 * 60_000);
        assert_eq!(zone.date_of(late), day.next());
        assert_eq!(Zone::utc().date_of(late), day);
        assert_eq!(zone.local_text(late), "2026-12-06 09:30");
        // Local midnight of 2026-12-06 is 14:00 UTC on the 5th.
        assert_eq!(
            zone.day_start(day.next()),
            day.start().plus_millis(14 * 3_600_000)
        );
        assert_eq!(zone.day_end(day), zone.day_start(day.next()));
        assert_eq!(Zone::utc().day_start(day), day.start());
        assert!(Zone::named("Mars/Olympus").is_err());
    }
}
