//! Business hours (issue 12): the organization's weekly schedule of open intervals on the
//! local clock, its holidays (local dates closed all day), its time zone (its own IANA name,
//! or the organization's `settings.time_zone`, read through jiff's tz database so daylight
//! saving changes move the boundaries right), and the out-of-hours auto-reply.
//!
//! Whether the organization is open at a moment, and the closed period around a closed
//! moment, are decided in one place: [`Schedule`]. A customer who writes while closed gets
//! the auto-reply (an outbound message authored by the system, through the outbox) at most
//! once per conversation per closed period: the period's start is stored per customer
//! (`auto_replies`), and `on_customer_message` is the hook `Tx::post_inbound` calls.

use crate::model::*;
use crate::store::{Key, ViewExt, tables};
use crate::{Crm, Error, Result, Tx, View};

use super::chat::messages::MESSAGE_MAX_CHARS;
use super::customers::load_customer;
use super::{clean_text, load_org, message_key, require, resolve};

/// How far (in days) a closed period's start and end are looked for; beyond it the period
/// counts as unbounded (a schedule with no open interval at all).
pub const HORIZON_DAYS: i32 = 400;

/// The most holidays a schedule keeps.
pub const HOLIDAYS_MAX: usize = 366;

/// The most open intervals of one weekday.
pub const INTERVALS_MAX: usize = 8;

/// The weekdays in the order of [`BusinessHours::week`], Monday first: the field each day's
/// errors name.
pub const WEEKDAYS: [&str; 7] = [
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
];

/// A stretch of closed time: `[start, end)`, `None` for a side with no open interval within
/// [`HORIZON_DAYS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClosedPeriod {
    /// When the last open interval before it ended.
    pub start: Option<Timestamp>,
    /// When the next open interval starts.
    pub end: Option<Timestamp>,
}

/// A schedule read on its clock: the one place that decides open and closed.
#[derive(Debug, Clone)]
pub struct Schedule {
    hours: BusinessHours,
    zone: Zone,
}

/// The day `n` days after `date` (before, for negative `n`).
fn shift(date: Date, n: i32) -> Date {
    Date {
        days: date.days.saturating_add(n),
    }
}

impl Schedule {
    /// The schedule of `hours` on its own time zone, else `org`'s.
    pub fn new(hours: BusinessHours, org: &Organization) -> Self {
        let zone = hours
            .time_zone
            .as_deref()
            .and_then(|name| Zone::named(name).ok())
            .unwrap_or_else(|| Zone::of(org));
        Schedule { hours, zone }
    }

    /// The zone the schedule is read in.
    pub fn zone(&self) -> &Zone {
        &self.zone
    }

    /// The open stretches of local day `date` as moments `[start, end)`.
    fn spans(&self, date: Date) -> Vec<(Timestamp, Timestamp)> {
        if self.hours.holidays.binary_search(&date).is_ok() {
            return Vec::new();
        }
        let weekday = usize::try_from((date.days + 3).rem_euclid(7)).unwrap_or(0);
        let Some(day) = self.hours.week.get(weekday) else {
            return Vec::new();
        };
        day.iter()
            .map(|interval| {
                (
                    self.zone.local_moment(date, interval.start),
                    self.zone.local_moment(date, interval.end),
                )
            })
            .filter(|(start, end)| start < end)
            .collect()
    }

    /// Whether the organization is open at `at`: inside an open interval of that local day
    /// that is not a holiday. A schedule switched off is always open.
    pub fn is_open_at(&self, at: Timestamp) -> bool {
        if !self.hours.enabled {
            return true;
        }
        let today = self.zone.date_of(at);
        [shift(today, -1), today]
            .into_iter()
            .flat_map(|date| self.spans(date))
            .any(|(start, end)| start <= at && at < end)
    }

    /// The closed period containing `at`, or `None` when open at `at`.
    pub fn closed_period(&self, at: Timestamp) -> Option<ClosedPeriod> {
        if self.is_open_at(at) {
            return None;
        }
        let today = self.zone.date_of(at);
        let start = (0..=HORIZON_DAYS).find_map(|back| {
            self.spans(shift(today, -back))
                .into_iter()
                .map(|(_, end)| end)
                .filter(|end| *end <= at)
                .max()
        });
        let end = (-1..=HORIZON_DAYS).find_map(|ahead| {
            self.spans(shift(today, ahead))
                .into_iter()
                .map(|(start, _)| start)
                .filter(|start| *start > at)
                .min()
        });
        Some(ClosedPeriod { start, end })
    }
}

/// Parses one weekday's intervals: `09:00-13:00, 14:00-18:00` (commas, semicolons or
/// spaces between them; `24:00` closes at midnight), sorted, not overlapping; empty is
/// closed.
///
/// # Errors
/// Invalid input on `field` naming the bad interval.
pub fn parse_intervals(field: &'static str, text: &str) -> Result<Vec<OpenInterval>> {
    let mut out = Vec::new();
    for part in text
        .split([',', ';', '\n'])
        .map(str::trim)
        .filter(|part| !part.is_empty())
    {
        let bad = || {
            Error::invalid(
                field,
                format!("{part:?} is not an interval like 09:00-18:00"),
            )
        };
        let (start, end) = part.split_once('-').ok_or_else(bad)?;
        let minutes = |text: &str| -> Option<u16> {
            let (hour, minute) = text.trim().split_once(':')?;
            if minute.len() != 2 || hour.is_empty() || hour.len() > 2 {
                return None;
            }
            let hour: u16 = hour.parse().ok()?;
            let minute: u16 = minute.parse().ok()?;
            (minute < 60 && (hour < 24 || (hour == 24 && minute == 0)))
                .then_some(hour * 60 + minute)
        };
        let start = minutes(start).ok_or_else(bad)?;
        let end = minutes(end).ok_or_else(bad)?;
        let interval = OpenInterval::new(start, end)
            .ok_or_else(|| Error::invalid(field, format!("{part:?} closes before it opens")))?;
        out.push(interval);
    }
    out.sort();
    if out.windows(2).any(|pair| pair[0].end > pair[1].start) {
        return Err(Error::invalid(field, "the intervals overlap"));
    }
    if out.len() > INTERVALS_MAX {
        return Err(Error::invalid(
            field,
            format!("at most {INTERVALS_MAX} intervals a day"),
        ));
    }
    Ok(out)
}

/// Parses holidays: local dates `YYYY-MM-DD` separated by commas, semicolons, spaces or
/// lines; sorted, duplicates dropped.
///
/// # Errors
/// Invalid input on `holidays` naming the bad date; more than [`HOLIDAYS_MAX`].
pub fn parse_holidays(text: &str) -> Result<Vec<Date>> {
    let mut out = Vec::new();
    for part in text
        .split([',', ';', '\n', ' '])
        .map(str::trim)
        .filter(|part| !part.is_empty())
    {
        out.push(Date::parse("holidays", part)?);
    }
    out.sort();
    out.dedup();
    if out.len() > HOLIDAYS_MAX {
        return Err(Error::invalid(
            "holidays",
            format!("at most {HOLIDAYS_MAX} holidays"),
        ));
    }
    Ok(out)
}

/// What staff give to set the business hours.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct HoursInput {
    /// Whether the schedule applies.
    pub enabled: bool,
    /// Its own IANA time zone; `None` or empty follows the organization's.
    pub time_zone: Option<String>,
    /// Each weekday's intervals as text (see [`parse_intervals`]), Monday first; missing
    /// days are closed.
    pub week: Vec<String>,
    /// Holidays as text (see [`parse_holidays`]).
    pub holidays: String,
    /// The auto-reply per language, at most 4096 characters each; empty sends none.
    pub auto_reply: Localized,
}

/// The business hours and what they mean now.
#[derive(Debug, Clone)]
pub struct HoursView {
    /// The stored hours (the default, switched off, when never saved).
    pub hours: BusinessHours,
    /// The zone they are read in.
    pub zone: Zone,
    /// Whether open now.
    pub open_now: bool,
    /// The closed period now, when closed.
    pub closed: Option<ClosedPeriod>,
}

/// The organization's business hours (the default, switched off, when never saved).
pub(crate) fn load_hours(view: &impl View, org: OrgId) -> Result<BusinessHours> {
    Ok(view
        .get(tables::BUSINESS_HOURS, &Key::org(org))?
        .unwrap_or_default())
}

/// The business hours with whether they are open now. Any staff user may read them.
///
/// # Errors
/// Permission denied for customers, disabled or unknown users.
pub fn business_hours_in(view: &impl View, actor: &Actor) -> Result<HoursView> {
    if matches!(resolve(view, actor)?, super::Resolved::Customer(_)) {
        return Err(Error::forbidden("customers do not read the business hours"));
    }
    let org = load_org(view, actor.org)?;
    let hours = load_hours(view, actor.org)?;
    let schedule = Schedule::new(hours.clone(), &org);
    let now = view.now();
    Ok(HoursView {
        hours,
        zone: schedule.zone().clone(),
        open_now: schedule.is_open_at(now),
        closed: schedule.closed_period(now),
    })
}

/// Sends the out-of-hours auto-reply to `customer`, who just wrote, when the organization is
/// closed now, the hours are on with an auto-reply text, the customer is reachable, and
/// their conversation did not get one in this closed period. The hook of
/// `Tx::post_inbound`; writes nothing otherwise.
///
/// The reply is an outbound chat message authored by the system (in the conversation, in
/// the outbox as any chat message), in the customer's language, else the organization's,
/// else any. It neither reads the conversation (unread stays) nor counts as a staff reply.
pub(crate) fn on_customer_message(
    tx: &mut Tx<'_>,
    org: &Organization,
    customer: CustomerId,
) -> Result<()> {
    let Some(hours) = tx.get::<BusinessHours>(tables::BUSINESS_HOURS, &Key::org(org.id))? else {
        return Ok(());
    };
    if !hours.enabled || hours.auto_reply.is_empty() {
        return Ok(());
    }
    let customer = load_customer(tx, org.id, customer)?;
    if customer.unreachable || customer.telegram_id.is_none() {
        return Ok(());
    }
    let now = tx.now();
    let text = hours
        .auto_reply
        .exact(customer.language)
        .or_else(|| hours.auto_reply.exact(org.settings.locale))
        .unwrap_or_else(|| hours.auto_reply.get(customer.language))
        .to_string();
    let Some(period) = Schedule::new(hours, org).closed_period(now) else {
        return Ok(());
    };
    let period_start = period.start.map_or(i64::MIN, Timestamp::millis);
    let mark_key = Key::org(org.id).u64(customer.id.0);
    if let Some(mark) = tx.get::<AutoReplyMark>(tables::AUTO_REPLIES, &mark_key)?
        && mark.period_start == period_start
    {
        return Ok(());
    }
    let id = MessageId(tx.next_id(org.id, "message")?);
    let message = Message {
        id,
        customer: customer.id,
        order: None,
        direction: Direction::Outbound,
        author: Author::System,
        text,
        attachments: Vec::new(),
        telegram_message_id: None,
        delivery: DeliveryState::Pending,
        created_at: now,
        content: None,
        reply_to: None,
        edits: Vec::new(),
        deleted_at: None,
        media_group: None,
    };
    tx.insert_record(&message_key(org.id, id), &message)?;
    crate::services::inbox::rows::refresh_conversation_row(tx, org.id, message.customer)?;
    tx.enqueue(
        org.id,
        Recipient::Customer(customer.id),
        OutboxPayload::ChatMessage(id),
    )?;
    tx.save_record(
        &mark_key,
        &AutoReplyMark {
            customer: customer.id,
            period_start,
            sent_at: now,
        },
    )?;
    tx.audit(
        &Actor::system(org.id),
        AuditAction::AutoReplySent,
        Subject::Message(id),
        AuditDetail::Message {
            customer: customer.id,
            order: None,
            chars: u32::try_from(message.text.chars().count()).unwrap_or(u32::MAX),
            files: 0,
        },
    )?;
    tx.changed(org.id, Subject::Message(id), ChangeKind::Created)?;
    Ok(())
}

impl Tx<'_> {
    /// Sets the business hours. Needs `manage_settings`. The same hours write nothing.
    ///
    /// # Errors
    /// Permission denied; invalid input on `time_zone` (not an IANA name), a weekday's
    /// field (`monday`..`sunday`, see [`parse_intervals`]), `holidays` or `auto_reply`
    /// (control characters, over 4096 characters); `week` with more than seven days.
    pub fn set_business_hours(
        &mut self,
        actor: &Actor,
        input: HoursInput,
    ) -> Result<BusinessHours> {
        require(self, actor, Permission::ManageSettings)?;
        if input.week.len() > 7 {
            return Err(Error::invalid("week", "a week has seven days"));
        }
        let time_zone = match input.time_zone.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(name) => Some(parse_time_zone(name)?),
        };
        let mut week = vec![Vec::new(); 7];
        for (index, text) in input.week.iter().enumerate() {
            if let (Some(day), Some(field)) = (week.get_mut(index), WEEKDAYS.get(index)) {
                *day = parse_intervals(field, text)?;
            }
        }
        let holidays = parse_holidays(&input.holidays)?;
        let mut auto_reply = Localized::default();
        for (language, text) in input.auto_reply.iter() {
            if !text.trim().is_empty() {
                auto_reply.set(
                    language,
                    clean_text("auto_reply", text, 1, MESSAGE_MAX_CHARS)?,
                );
            }
        }
        let before = load_hours(self, actor.org)?;
        let after = BusinessHours {
            enabled: input.enabled,
            time_zone,
            week,
            holidays,
            auto_reply,
            updated_at: self.now(),
        };
        let unchanged = BusinessHours {
            updated_at: before.updated_at,
            ..after.clone()
        };
        if unchanged == before {
            return Ok(before);
        }
        self.save_record(&Key::org(actor.org), &after)?;
        self.audit(
            actor,
            AuditAction::HoursChanged,
            Subject::Organization,
            AuditDetail::Text(if after.enabled { "on" } else { "off" }.to_string()),
        )?;
        self.changed(actor.org, Subject::Organization, ChangeKind::Updated)?;
        Ok(after)
    }
}

impl Crm {
    /// See [`Tx::set_business_hours`].
    ///
    /// # Errors
    /// See [`Tx::set_business_hours`].
    pub fn set_business_hours(&self, actor: &Actor, input: HoursInput) -> Result<BusinessHours> {
        let actor = actor.clone();
        self.write(move |tx| tx.set_business_hours(&actor, input))
    }

    /// See [`business_hours_in`].
    ///
    /// # Errors
    /// See [`business_hours_in`].
    pub fn business_hours(&self, actor: &Actor) -> Result<HoursView> {
        self.read(|view| business_hours_in(view, actor))
    }
}
