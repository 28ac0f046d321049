//! Operator statistics (SPEC 5B, Django operator seed's `generate_operator_stats`): first
//! response time (median and 90th percentile), conversations handled and tickets resolved,
//! per operator and day. Days are the organization's local days (`OrgSettings.time_zone`,
//! through [`Zone`]): in Vladivostok (UTC+10) a reply at 23:30 UTC counts on the next day,
//! and a range of days starts and ends at local midnight.
//!
//! Definitions: a first response is an item's first staff reply after the customer's first
//! message, counted for the replier on the day of the reply, its time the difference. A
//! conversation handled is a conversation closed that day while assigned to the operator; a
//! ticket resolved is a ticket closed that day (its order reached a terminal stage) while
//! assigned to them. Both percentiles are nearest-rank ([`percentile`]).

use std::collections::BTreeMap;

use crate::model::*;
use crate::store::{Key, ViewExt, codec, tables};
use crate::{Crm, Error, Result, View};

use super::super::team::load_user;
use super::super::{load_org, require};
use super::require_module;

/// The nearest-rank percentile `p` (1-100) of `sorted` (ascending): the smallest value with
/// at least `p`% of the values at or below it. `None` for no values. The median is `p = 50`
/// (the lower middle of an even count).
pub fn percentile(sorted: &[i64], p: u32) -> Option<i64> {
    if sorted.is_empty() {
        return None;
    }
    let p = u64::from(p.clamp(1, 100));
    let n = sorted.len() as u64;
    // ceil(p * n / 100), at least 1.
    let rank = (p * n).div_ceil(100).max(1);
    let index = usize::try_from(rank - 1).unwrap_or(usize::MAX);
    sorted.get(index).or(sorted.last()).copied()
}

/// One operator's figures for one day, or for the whole range.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OperatorDayStats {
    /// The organization's local day; `None` for the range's total.
    pub day: Option<Date>,
    /// First responses given.
    pub first_responses: u32,
    /// Median first response time, in milliseconds.
    pub median_ms: Option<i64>,
    /// 90th percentile first response time, in milliseconds.
    pub p90_ms: Option<i64>,
    /// Conversations closed while assigned to the operator.
    pub conversations_handled: u32,
    /// Tickets closed while assigned to the operator.
    pub tickets_resolved: u32,
}

/// One operator's statistics over a range of days.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperatorStatsRow {
    /// The staff user.
    pub user: UserId,
    /// Their display name.
    pub name: String,
    /// Each day with any figure, oldest first.
    pub days: Vec<OperatorDayStats>,
    /// The whole range (percentiles over every first response of the range).
    pub total: OperatorDayStats,
}

/// The most days one statistics request covers.
pub const MAX_DAYS: i64 = 366;

/// The days a statistics request covers when it names none: the last seven, today included.
pub const DEFAULT_DAYS: i64 = 7;

/// Operator statistics over a range of local days, as the statistics page and the API show
/// them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperatorStats {
    /// The first day of the range (local).
    pub from: Date,
    /// The last day of the range (local), included.
    pub to: Date,
    /// The organization's time zone, whose days these are.
    pub zone: Zone,
    /// One row per operator with any figure, by user id.
    pub rows: Vec<OperatorStatsRow>,
}

#[derive(Default)]
struct Tally {
    responses: Vec<i64>,
    handled: u32,
    resolved: u32,
}

impl Tally {
    fn figures(mut self, day: Option<Date>) -> OperatorDayStats {
        self.responses.sort_unstable();
        OperatorDayStats {
            day,
            first_responses: u32::try_from(self.responses.len()).unwrap_or(u32::MAX),
            median_ms: percentile(&self.responses, 50),
            p90_ms: percentile(&self.responses, 90),
            conversations_handled: self.handled,
            tickets_resolved: self.resolved,
        }
    }
}

/// Operator statistics from `from` to `to` (both included, local days of the organization's
/// time zone, at most [`MAX_DAYS`]), one row per operator with any figure, by user id.
/// Needs `view_analytics`. Reads every queue item of the organization once.
///
/// # Errors
/// Not found when the module is off; permission denied; invalid input on `to` when it is
/// before `from` or the range is too long.
pub fn operator_stats_in(
    view: &impl View,
    actor: &Actor,
    from: Date,
    to: Date,
) -> Result<Vec<OperatorStatsRow>> {
    Ok(operator_stats_report_in(view, actor, Some(from), Some(to))?.rows)
}

/// [`operator_stats_in`] with the range's defaults decided here, so that every adapter
/// shows the same days: `to` is today on the organization's clock, `from` the
/// [`DEFAULT_DAYS`]-day range ending at `to`. Returns the range and the zone with the rows.
///
/// # Errors
/// As [`operator_stats_in`].
pub fn operator_stats_report_in(
    view: &impl View,
    actor: &Actor,
    from: Option<Date>,
    to: Option<Date>,
) -> Result<OperatorStats> {
    require_module(view, actor.org)?;
    require(view, actor, Permission::ViewAnalytics)?;
    let zone = Zone::of(&load_org(view, actor.org)?);
    let to = to.unwrap_or_else(|| zone.date_of(view.now()));
    let from = from.unwrap_or_else(|| Date::of(to.start().minus_days(DEFAULT_DAYS - 1)));
    if to < from {
        return Err(Error::invalid("to", "must not be before from"));
    }
    // Whole days between the two UTC midnights: the number of local days, whatever their
    // length.
    if (to.start().millis() - from.start().millis()) / 86_400_000 + 1 > MAX_DAYS {
        return Err(Error::invalid(
            "to",
            format!("a range covers at most {MAX_DAYS} days"),
        ));
    }
    let (start, end) = (zone.day_start(from), zone.day_end(to));
    let within = |at: Timestamp| at >= start && at < end;
    let mut tallies: BTreeMap<UserId, BTreeMap<Date, Tally>> = BTreeMap::new();
    view.for_each_prefix(tables::QUEUE_ITEMS, &Key::org(actor.org), |_, value| {
        let item: QueueItem = codec::decode(value)?;
        if let (Some(asked), Some(replied), Some(user)) = (
            item.first_customer_message_at,
            item.first_reply_at,
            item.first_reply_by,
        ) && within(replied)
        {
            tallies
                .entry(user)
                .or_default()
                .entry(zone.date_of(replied))
                .or_default()
                .responses
                .push((replied.millis() - asked.millis()).max(0));
        }
        if let (QueueState::Closed, Some(closed), Some(user)) =
            (item.state, item.closed_at, item.assignee)
            && within(closed)
        {
            let tally = tallies
                .entry(user)
                .or_default()
                .entry(zone.date_of(closed))
                .or_default();
            match item.subject {
                QueueSubject::Conversation(_) => tally.handled += 1,
                QueueSubject::Ticket(_) => tally.resolved += 1,
            }
        }
        Ok(true)
    })?;
    let mut rows = Vec::with_capacity(tallies.len());
    for (user, days) in tallies {
        let name = load_user(view, actor.org, user)
            .map(|record| record.display_name)
            .unwrap_or_else(|_| user.to_string());
        let mut total = Tally::default();
        let mut per_day = Vec::with_capacity(days.len());
        for (day, tally) in days {
            total.responses.extend_from_slice(&tally.responses);
            total.handled += tally.handled;
            total.resolved += tally.resolved;
            per_day.push(tally.figures(Some(day)));
        }
        rows.push(OperatorStatsRow {
            user,
            name,
            days: per_day,
            total: total.figures(None),
        });
    }
    Ok(OperatorStats {
        from,
        to,
        zone,
        rows,
    })
}

impl Crm {
    /// See [`operator_stats_in`]. Reads a snapshot.
    ///
    /// # Errors
    /// See [`operator_stats_in`].
    pub fn operator_stats(
        &self,
        actor: &Actor,
        from: Date,
        to: Date,
    ) -> Result<Vec<OperatorStatsRow>> {
        self.read(|view| operator_stats_in(view, actor, from, to))
    }

    /// See [`operator_stats_report_in`]. Reads a snapshot.
    ///
    /// # Errors
    /// See [`operator_stats_report_in`].
    pub fn operator_stats_report(
        &self,
        actor: &Actor,
        from: Option<Date>,
        to: Option<Date>,
    ) -> Result<OperatorStats> {
        self.read(|view| operator_stats_report_in(view, actor, from, to))
    }
}

#[cfg(test)]
mod tests {
    use super::percentile;

    #[test]
    fn nearest_rank_percentiles_of_known_data() {
        let ten: Vec<i64> = (1..=10).map(|n| n * 1000).collect();
        assert_eq!(percentile(&ten, 50), Some(5000));
        assert_eq!(percentile(&ten, 90), Some(9000));
        assert_eq!(percentile(&ten, 100), Some(10_000));
        assert_eq!(percentile(&[7], 50), Some(7));
        assert_eq!(percentile(&[7], 90), Some(7));
        assert_eq!(percentile(&[], 50), None);
        // Three values: the median is the middle one, the 90th the largest.
        assert_eq!(percentile(&[1, 2, 30], 50), Some(2));
        assert_eq!(percentile(&[1, 2, 30], 90), Some(30));
        // Eleven values: rank ceil(9.9) = 10 for the 90th.
        let eleven: Vec<i64> = (1..=11).collect();
        assert_eq!(percentile(&eleven, 90), Some(10));
        assert_eq!(percentile(&eleven, 50), Some(6));
    }
}
