//! Customer satisfaction (CSAT, SPEC 5F, issue 12): when an order is delivered or a ticket
//! resolved, the customer gets a question with five buttons, 1 to 5 stars, and may add a
//! comment; the results per operator and per local day are on the statistics page and in the
//! API.
//!
//! Rules:
//! - a survey is queued when an order enters a finished stage: a stage of kind `Won` (the
//!   studio's Delivered, the service's Completed, the helpdesk's Closed, the renovation's
//!   Won), or the helpdesk's `resolved` stage (an open stage by kind, because the ticket
//!   may still be closed later, but the moment the customer's problem is solved);
//! - once per order: a survey already sent for the order (even unanswered) is never sent
//!   again, whatever moves follow;
//! - only when the organization's survey is on (the default), and only to a customer the bot
//!   can reach (a Telegram account, not marked unreachable);
//! - the rating counts for the operator of the order when the survey is sent: its assignee,
//!   else (operators module) the assignee of its ticket, else that of the customer's newest
//!   conversation; none when nobody had it;
//! - a rating is recorded once: a second press changes nothing and is refused as a conflict
//!   (the bot says it was already counted), so a rating cannot be changed after the fact and
//!   the statistics never move backwards;
//! - a comment (1-1000 characters) is taken once, after the rating;
//! - statistics count ratings on the local day they were given (the organization's time
//!   zone, [`Zone`]), over at most [`MAX_DAYS`] days.

use std::collections::BTreeMap;

use crate::model::*;
use crate::store::declarations::csat_key;
use crate::store::{Key, ViewExt, keys, tables};
use crate::{Crm, Error, Result, Tx, View};

use super::customers::load_customer;
use super::team::load_user;
use super::{load_org, require};

/// The most characters a comment keeps.
pub const COMMENT_MAX_CHARS: usize = 1000;

/// The most characters of a question, per language.
pub const QUESTION_MAX_CHARS: usize = 300;

/// The most days one statistics request covers.
pub const MAX_DAYS: i64 = 366;

/// The days a statistics request covers when it names none: the last thirty, today
/// included.
pub const DEFAULT_DAYS: i64 = 30;

/// The most recent rated surveys the statistics return with their comments.
pub const RECENT: usize = 20;

/// The organization's survey settings (the defaults until first saved).
pub(crate) fn settings_of(view: &impl View, org: OrgId) -> Result<CsatSettings> {
    Ok(view
        .get(tables::CSAT_SETTINGS, &Key::org(org))?
        .unwrap_or_default())
}

/// The survey of `order`, if one was sent.
pub(crate) fn survey_of(
    view: &impl View,
    org: OrgId,
    order: OrderId,
) -> Result<Option<CsatSurvey>> {
    view.get(tables::CSAT_SURVEYS, &csat_key(org, order))
}

/// Whether entering `stage` finishes an order for the survey (see the module's rules).
pub fn finishes(stage: &Stage) -> bool {
    stage.kind == StageKind::Won || stage.key == "resolved"
}

/// The operator a rating of `order` counts for (see the module's rules).
fn operator_of(tx: &Tx<'_>, org: &Organization, order: &Order) -> Result<Option<UserId>> {
    if order.assignee.is_some() {
        return Ok(order.assignee);
    }
    if !crate::operators::module_on(org) {
        return Ok(None);
    }
    for subject in [
        QueueSubject::Ticket(order.id),
        QueueSubject::Conversation(order.customer),
    ] {
        if let Some(item) = crate::operators::latest_item(tx, org.id, subject)?
            && item.assignee.is_some()
        {
            return Ok(item.assignee);
        }
    }
    Ok(None)
}

/// An order entered `stage` (in [`Tx::move_order`]'s transaction): queues its survey when the
/// stage finishes it, surveys are on, none was sent for it and the customer is reachable.
/// Audited as the system (`csat.survey_sent`).
pub(crate) fn on_order_moved(
    tx: &mut Tx<'_>,
    org: &Organization,
    order: &Order,
    stage: &Stage,
) -> Result<()> {
    if !finishes(stage) {
        return Ok(());
    }
    let settings = settings_of(tx, org.id)?;
    if !settings.enabled || survey_of(tx, org.id, order.id)?.is_some() {
        return Ok(());
    }
    let customer = load_customer(tx, org.id, order.customer)?;
    if customer.telegram_id.is_none() || customer.unreachable {
        return Ok(());
    }
    let survey = CsatSurvey {
        order: order.id,
        customer: order.customer,
        operator: operator_of(tx, org, order)?,
        sent_at: tx.now(),
        rating: None,
        rated_at: None,
        comment: None,
    };
    tx.insert_record(&csat_key(org.id, order.id), &survey)?;
    tx.enqueue(
        org.id,
        Recipient::Customer(order.customer),
        OutboxPayload::Notify(Event::CsatSurvey {
            order: order.id,
            title: order.title.clone(),
            question: settings.question,
        }),
    )?;
    tx.audit(
        &Actor::system(org.id),
        AuditAction::CsatSurveySent,
        Subject::Order(order.id),
        AuditDetail::None,
    )?;
    Ok(())
}

/// The survey of `order` asked of the customer acting, or not found (another customer's
/// survey, or none).
fn own_survey(view: &impl View, actor: &Actor, order: OrderId) -> Result<CsatSurvey> {
    let ActorRef::Customer(customer) = actor.who else {
        return Err(Error::forbidden(
            "only the customer asked may answer a satisfaction survey",
        ));
    };
    match survey_of(view, actor.org, order)? {
        Some(survey) if survey.customer == customer => Ok(survey),
        _ => Err(Error::not_found("survey of order", order)),
    }
}

impl Tx<'_> {
    /// Records the customer's rating of `order`, 1 to 5 stars, once (the module's rules).
    /// Audited (`csat.rated`) and in the change feed as an update of the order.
    ///
    /// # Errors
    /// Permission denied unless the actor is a customer; not found when no survey of the
    /// order asked them; invalid input on `rating` outside 1-5; conflict when already rated.
    pub fn rate_order(&mut self, actor: &Actor, order: OrderId, rating: u8) -> Result<CsatSurvey> {
        let survey = own_survey(self, actor, order)?;
        if !(1..=5).contains(&rating) {
            return Err(Error::invalid(
                "rating",
                format!("a rating is 1 to 5 stars, not {rating}"),
            ));
        }
        if survey.rating.is_some() {
            return Err(Error::conflict(format!("order {order} was already rated")));
        }
        let mut after = survey.clone();
        after.rating = Some(rating);
        after.rated_at = Some(self.now());
        self.update_record(&csat_key(actor.org, order), &survey, &after)?;
        self.audit(
            actor,
            AuditAction::CsatRated,
            Subject::Order(order),
            AuditDetail::Text(format!("{rating} of 5")),
        )?;
        self.changed(actor.org, Subject::Order(order), ChangeKind::Updated)?;
        Ok(after)
    }

    /// Adds the customer's comment to their rating of `order`, once, after the rating.
    /// Audited (`csat.commented`).
    ///
    /// # Errors
    /// As [`Tx::rate_order`]; conflict when not rated yet or already commented; invalid input
    /// on `comment` when empty or over [`COMMENT_MAX_CHARS`] characters.
    pub fn comment_rating(
        &mut self,
        actor: &Actor,
        order: OrderId,
        comment: &str,
    ) -> Result<CsatSurvey> {
        let survey = own_survey(self, actor, order)?;
        let comment = super::clean_text("comment", comment, 1, COMMENT_MAX_CHARS)?;
        if survey.rating.is_none() {
            return Err(Error::conflict(format!("order {order} is not rated yet")));
        }
        if survey.comment.is_some() {
            return Err(Error::conflict(format!(
                "the rating of order {order} has a comment already"
            )));
        }
        let mut after = survey.clone();
        after.comment = Some(comment);
        self.update_record(&csat_key(actor.org, order), &survey, &after)?;
        self.audit(
            actor,
            AuditAction::CsatCommented,
            Subject::Order(order),
            AuditDetail::None,
        )?;
        self.changed(actor.org, Subject::Order(order), ChangeKind::Updated)?;
        Ok(after)
    }

    /// Saves the survey settings: on or off, and the question per language (each at most
    /// [`QUESTION_MAX_CHARS`] characters; an empty one falls back to the locale files').
    /// Needs `manage_settings`; audited (`csat.settings_changed`).
    ///
    /// # Errors
    /// Permission denied; invalid input on `question`.
    pub fn update_csat_settings(
        &mut self,
        actor: &Actor,
        settings: CsatSettings,
    ) -> Result<CsatSettings> {
        require(self, actor, Permission::ManageSettings)?;
        let mut question = Localized::default();
        for (language, text) in settings.question.iter() {
            let text = text.trim();
            if text.chars().count() > QUESTION_MAX_CHARS {
                return Err(Error::invalid(
                    "question",
                    format!("a question has at most {QUESTION_MAX_CHARS} characters"),
                ));
            }
            question.set(language, text);
        }
        let saved = CsatSettings {
            enabled: settings.enabled,
            question,
        };
        self.save_record(&Key::org(actor.org), &saved)?;
        self.audit(
            actor,
            AuditAction::CsatSettingsChanged,
            Subject::Organization,
            AuditDetail::Text(if saved.enabled { "on" } else { "off" }.into()),
        )?;
        self.changed(actor.org, Subject::Organization, ChangeKind::Updated)?;
        Ok(saved)
    }
}

/// The survey settings, for the settings page. Needs `manage_settings`.
///
/// # Errors
/// Permission denied.
pub fn csat_settings_in(view: &impl View, actor: &Actor) -> Result<CsatSettings> {
    require(view, actor, Permission::ManageSettings)?;
    settings_of(view, actor.org)
}

/// The survey of `order` as its customer may see it (the bot): their own only.
///
/// # Errors
/// As [`Tx::rate_order`]'s checks of the actor and the survey.
pub fn own_survey_in(view: &impl View, actor: &Actor, order: OrderId) -> Result<CsatSurvey> {
    own_survey(view, actor, order)
}

/// Ratings counted together: how many, their sum, and how many of each star.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CsatFigures {
    /// Ratings given.
    pub count: u32,
    /// The sum of their stars.
    pub sum: u32,
    /// How many gave 1, 2, 3, 4 and 5 stars (index 0 is one star).
    pub distribution: [u32; 5],
}

impl CsatFigures {
    fn add(&mut self, rating: u8) {
        if let Some(slot) = usize::from(rating)
            .checked_sub(1)
            .and_then(|index| self.distribution.get_mut(index))
        {
            *slot += 1;
            self.count += 1;
            self.sum += u32::from(rating);
        }
    }

    /// The average in hundredths of a star (`450` is 4.50), rounded half up; `None` without
    /// ratings.
    pub fn average_hundredths(&self) -> Option<u32> {
        (self.count > 0).then(|| (self.sum * 200 + self.count) / (2 * self.count))
    }

    /// The average as text with two decimals (`4.50`), or `–` without ratings.
    pub fn average_text(&self) -> String {
        match self.average_hundredths() {
            Some(value) => format!("{}.{:02}", value / 100, value % 100),
            None => "–".to_string(),
        }
    }
}

/// One operator's ratings over the range (`user` `None`: ratings of orders nobody had).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsatOperatorRow {
    /// The staff user, when the order had one.
    pub user: Option<UserId>,
    /// Their display name (empty for none).
    pub name: String,
    /// Their figures.
    pub figures: CsatFigures,
}

/// Satisfaction statistics over a range of local days.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsatStats {
    /// The first day (local).
    pub from: Date,
    /// The last day (local), included.
    pub to: Date,
    /// The organization's time zone, whose days these are.
    pub zone: Zone,
    /// Every rating of the range.
    pub total: CsatFigures,
    /// Per operator, by user id (no operator last).
    pub operators: Vec<CsatOperatorRow>,
    /// Per local day with any rating, oldest first.
    pub days: Vec<(Date, CsatFigures)>,
    /// The newest rated surveys of the range, newest first, at most [`RECENT`].
    pub recent: Vec<CsatSurvey>,
}

/// Satisfaction statistics from `from` to `to` (local days, both included; `to` defaults to
/// today on the organization's clock, `from` to the [`DEFAULT_DAYS`]-day range ending at
/// `to`). Needs `view_analytics`. Reads the ratings of the range through `csat_by_time`.
///
/// # Errors
/// Permission denied; invalid input on `to` when before `from` or over [`MAX_DAYS`] days.
pub fn csat_stats_in(
    view: &impl View,
    actor: &Actor,
    from: Option<Date>,
    to: Option<Date>,
) -> Result<CsatStats> {
    require(view, actor, Permission::ViewAnalytics)?;
    let zone = Zone::of(&load_org(view, actor.org)?);
    let to = to.unwrap_or_else(|| zone.date_of(view.now()));
    let from = from.unwrap_or_else(|| Date::of(to.start().minus_days(DEFAULT_DAYS - 1)));
    if to < from {
        return Err(Error::invalid("to", "must not be before from"));
    }
    if (to.start().millis() - from.start().millis()) / 86_400_000 + 1 > MAX_DAYS {
        return Err(Error::invalid(
            "to",
            format!("a range covers at most {MAX_DAYS} days"),
        ));
    }
    let (start, end) = (zone.day_start(from), zone.day_end(to));
    let lower = Key::org(actor.org).i64(start.millis());
    let mut orders = Vec::new();
    view.for_each_prefix(tables::CSAT_BY_TIME, &Key::org(actor.org), |key, _| {
        if key < lower.as_slice() {
            return Ok(true);
        }
        if keys::read_i64(key, 8) >= end.millis() {
            return Ok(false);
        }
        orders.push(OrderId::new(keys::tail_u64(key)));
        Ok(true)
    })?;
    let mut total = CsatFigures::default();
    let mut by_operator: BTreeMap<Option<UserId>, CsatFigures> = BTreeMap::new();
    let mut by_day: BTreeMap<Date, CsatFigures> = BTreeMap::new();
    let mut surveys = Vec::with_capacity(orders.len());
    for order in orders {
        let Some(survey) = survey_of(view, actor.org, order)? else {
            continue;
        };
        if let (Some(rating), Some(at)) = (survey.rating, survey.rated_at) {
            total.add(rating);
            by_operator.entry(survey.operator).or_default().add(rating);
            by_day.entry(zone.date_of(at)).or_default().add(rating);
            surveys.push(survey);
        }
    }
    let mut operators = Vec::with_capacity(by_operator.len());
    let mut nobody = None;
    for (user, figures) in by_operator {
        match user {
            Some(user) => operators.push(CsatOperatorRow {
                user: Some(user),
                name: load_user(view, actor.org, user)
                    .map(|record| record.display_name)
                    .unwrap_or_else(|_| user.to_string()),
                figures,
            }),
            None => {
                nobody = Some(CsatOperatorRow {
                    user: None,
                    name: String::new(),
                    figures,
                });
            }
        }
    }
    operators.extend(nobody);
    surveys.reverse();
    surveys.truncate(RECENT);
    Ok(CsatStats {
        from,
        to,
        zone,
        total,
        operators,
        days: by_day.into_iter().collect(),
        recent: surveys,
    })
}

impl Crm {
    /// See [`Tx::rate_order`]; one write transaction.
    ///
    /// # Errors
    /// See [`Tx::rate_order`].
    pub fn rate_order(&self, actor: &Actor, order: OrderId, rating: u8) -> Result<CsatSurvey> {
        let actor = actor.clone();
        self.write(move |tx| tx.rate_order(&actor, order, rating))
    }

    /// See [`Tx::comment_rating`]; one write transaction.
    ///
    /// # Errors
    /// See [`Tx::comment_rating`].
    pub fn comment_rating(
        &self,
        actor: &Actor,
        order: OrderId,
        comment: &str,
    ) -> Result<CsatSurvey> {
        let actor = actor.clone();
        let comment = comment.to_string();
        self.write(move |tx| tx.comment_rating(&actor, order, &comment))
    }

    /// See [`Tx::update_csat_settings`]; one write transaction.
    ///
    /// # Errors
    /// See [`Tx::update_csat_settings`].
    pub fn update_csat_settings(
        &self,
        actor: &Actor,
        settings: CsatSettings,
    ) -> Result<CsatSettings> {
        let actor = actor.clone();
        self.write(move |tx| tx.update_csat_settings(&actor, settings))
    }

    /// See [`csat_settings_in`]. Reads a snapshot.
    ///
    /// # Errors
    /// See [`csat_settings_in`].
    pub fn csat_settings(&self, actor: &Actor) -> Result<CsatSettings> {
        self.read(|view| csat_settings_in(view, actor))
    }

    /// See [`csat_stats_in`]. Reads a snapshot.
    ///
    /// # Errors
    /// See [`csat_stats_in`].
    pub fn csat_stats(
        &self,
        actor: &Actor,
        from: Option<Date>,
        to: Option<Date>,
    ) -> Result<CsatStats> {
        self.read(|view| csat_stats_in(view, actor, from, to))
    }
}
