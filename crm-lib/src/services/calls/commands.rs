//! The calls use cases that write: a PBX notification recorded (as the system, the
//! webhook's actor), and the PBX settings (the API secret, the extension map).

use crate::model::*;
use crate::store::declarations::{pbx_key, phone_number, phone_prefix};
use crate::store::{Key, ViewExt, keys, tables};
use crate::{Crm, Error, Result, Tx, View};

use super::zadarma::{ZadarmaNotification, signature_matches};
use super::{load_settings, require_calls};
use crate::services::customers::{parse_phone, save_customer};
use crate::services::{clean_text, load_org, require};

/// What a notification did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallOutcome {
    /// It told of a new call, stored.
    Recorded(Call),
    /// It changed a known call.
    Updated(Call),
    /// The call had already recorded this event: nothing changed.
    Repeated(CallId),
}

impl CallOutcome {
    /// The call concerned.
    pub fn call_id(&self) -> CallId {
        match self {
            CallOutcome::Recorded(call) | CallOutcome::Updated(call) => call.id,
            CallOutcome::Repeated(id) => *id,
        }
    }
}

/// The longest `pbx_call_id`, recording id and other PBX text kept, in characters.
const PBX_TEXT_MAX: usize = 128;

/// Cleans a phone number as the PBX or a person wrote it to E.164 (`+79161234567`): an
/// international `00` prefix becomes `+`, then [`crate::customers::parse_phone`]'s rules
/// apply (spaces, dashes, dots and brackets dropped; an 11-digit Russian number starting
/// with `8` becomes `+7`; `+` and 7-15 digits, not starting with 0). Zadarma writes numbers
/// without the `+` (`79161234567`), which this accepts.
///
/// # Errors
/// [`crate::ErrorKind::InvalidInput`] on `phone`, naming the text.
pub fn normalize_phone(text: &str) -> Result<String> {
    let trimmed = text.trim();
    match trimmed.strip_prefix("00") {
        Some(rest) if !rest.is_empty() => parse_phone(&format!("+{rest}")),
        _ => parse_phone(trimmed),
    }
}

/// Reads Zadarma's `call_start` (`2026-12-05 10:30:00`, the PBX's wall clock) as a moment in
/// `time_zone` (an IANA name, the organization's time zone setting; UTC when the name is
/// unknown). A wall-clock time that a daylight-saving change skips or repeats takes the
/// earlier reading (jiff's "compatible" rule).
///
/// # Errors
/// [`crate::ErrorKind::InvalidInput`] on `call_start`.
pub fn parse_call_start(text: &str, time_zone: &str) -> Result<Timestamp> {
    let bad = || {
        Error::invalid(
            "call_start",
            format!("{text:?} is not a time in the form YYYY-MM-DD HH:MM:SS"),
        )
    };
    let format = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    time::PrimitiveDateTime::parse(text.trim(), &format).map_err(|_| bad())?;
    let civil: jiff::civil::DateTime = text.trim().parse().map_err(|_| bad())?;
    let zone = jiff::tz::TimeZone::get(time_zone).unwrap_or(jiff::tz::TimeZone::UTC);
    let zoned = civil.to_zoned(zone).map_err(|_| bad())?;
    Ok(Timestamp(zoned.timestamp().as_millisecond()))
}

/// A PBX text field: trimmed, at most [`PBX_TEXT_MAX`] characters, no control characters;
/// empty or missing is `None`.
fn pbx_text(field: &'static str, value: Option<&str>) -> Result<Option<String>> {
    match value.map(str::trim) {
        None | Some("") => Ok(None),
        Some(text) => clean_text(field, text, 1, PBX_TEXT_MAX).map(Some),
    }
}

/// What one notification says, checked.
struct Notice {
    event: CallEvent,
    pbx_call_id: String,
    started_at: Timestamp,
    /// The customer's number (caller of an inbound call, destination of an outbound one),
    /// as sent; normalized only when a call is created from it.
    phone: Option<String>,
    did: Option<String>,
    extension: Option<String>,
    duration_secs: Option<u32>,
    disposition: Option<String>,
    status_code: Option<String>,
    recording: Option<String>,
}

impl Notice {
    fn read(
        event: CallEvent,
        notification: &ZadarmaNotification,
        time_zone: &str,
    ) -> Result<Notice> {
        let field = |name| notification.get(name);
        let pbx_call_id = pbx_text("pbx_call_id", field("pbx_call_id"))?
            .ok_or_else(|| Error::invalid("pbx_call_id", "is missing"))?;
        let started_at = parse_call_start(field("call_start").unwrap_or_default(), time_zone)?;
        let (phone_field, phone) = match event {
            CallEvent::Start | CallEvent::Internal | CallEvent::Answer | CallEvent::End => {
                ("caller_id", field("caller_id"))
            }
            CallEvent::OutStart | CallEvent::OutEnd => ("destination", field("destination")),
        };
        let ends = matches!(event, CallEvent::End | CallEvent::OutEnd);
        let duration_secs = match field("duration").map(str::trim) {
            Some(text) if ends && !text.is_empty() => Some(text.parse::<u32>().map_err(|_| {
                Error::invalid("duration", format!("{text:?} is not a number of seconds"))
            })?),
            _ => None,
        };
        let recorded = field("is_recorded").map(str::trim) == Some("1");
        Ok(Notice {
            event,
            pbx_call_id,
            started_at,
            phone: pbx_text(phone_field, phone)?,
            did: pbx_text("called_did", field("called_did"))?,
            extension: pbx_text("internal", field("internal"))?,
            duration_secs,
            disposition: if ends {
                pbx_text("disposition", field("disposition"))?
            } else {
                None
            },
            status_code: if ends {
                pbx_text("status_code", field("status_code"))?
            } else {
                None
            },
            recording: if ends && recorded {
                pbx_text("call_id_with_rec", field("call_id_with_rec"))?
            } else {
                None
            },
        })
    }

    fn direction(&self) -> CallDirection {
        match self.event {
            CallEvent::OutStart | CallEvent::OutEnd => CallDirection::Outbound,
            _ => CallDirection::Inbound,
        }
    }
}

/// The first customer (lowest id) with this E.164 phone.
pub(crate) fn customer_by_phone(
    view: &impl crate::View,
    org: OrgId,
    phone: &str,
) -> Result<Option<CustomerId>> {
    let Some(number) = phone_number(phone) else {
        return Ok(None);
    };
    let found = view.keys_with_prefix(
        tables::CUSTOMERS_BY_PHONE,
        &phone_prefix(org, number),
        None,
        false,
        1,
    )?;
    Ok(found.first().map(|key| CustomerId(keys::tail_u64(key))))
}

/// Applies what `notice` adds to `call` (an extension, the answer, the end). The event is
/// recorded in `call.events`.
fn apply(call: &mut Call, notice: &Notice, settings: &CallSettings, now: Timestamp) {
    if let Some(extension) = &notice.extension {
        call.extension = Some(extension.clone());
        call.operator = settings
            .extensions
            .iter()
            .find(|mapped| mapped.extension == *extension)
            .map(|mapped| mapped.user);
    }
    if call.did.is_none() {
        call.did.clone_from(&notice.did);
    }
    match notice.event {
        CallEvent::Answer => call.answered_at = Some(now),
        CallEvent::End | CallEvent::OutEnd => {
            call.ended_at = Some(now);
            call.duration_secs = notice.duration_secs;
            call.disposition.clone_from(&notice.disposition);
            call.status_code.clone_from(&notice.status_code);
            call.recording.clone_from(&notice.recording);
            if call.answered_at.is_none() && notice.disposition.as_deref() == Some("answered") {
                // An outgoing call has no NOTIFY_ANSWER: its end says it was answered.
                let talk = i64::from(notice.duration_secs.unwrap_or(0)) * 1000;
                call.answered_at = Some(now.plus_millis(-talk));
            }
        }
        _ => {}
    }
    call.events.push(notice.event);
    call.updated_at = now;
}

impl Tx<'_> {
    /// Records one Zadarma PBX notification for organization `org` (the webhook's actor is
    /// the system of that organization), as the module `zadarma` of this area describes it.
    ///
    /// Rules, checked before anything is written: calls are on for the organization (the
    /// `tickets` module); an API secret is set; the `event` is one of `NOTIFY_START`,
    /// `NOTIFY_INTERNAL`, `NOTIFY_ANSWER`, `NOTIFY_END`, `NOTIFY_OUT_START`,
    /// `NOTIFY_OUT_END`; `signature` (the `Signature` header) is the event's signature with
    /// the secret; `pbx_call_id` is present (at most 128 characters); `call_start` reads as
    /// `YYYY-MM-DD HH:MM:SS` (in the organization's time zone, [`parse_call_start`]); a new call's customer number normalizes to E.164
    /// ([`normalize_phone`]); `duration`, when sent, is a number of seconds.
    ///
    /// The idempotency key is `pbx_call_id` with the event: a call records each event once,
    /// and a repeated notification returns [`CallOutcome::Repeated`] having written nothing.
    /// The first notification of a call creates it, linked to the first customer with its
    /// phone; when nobody has that phone, a customer named by the number is created and
    /// marked as an unknown caller ([`UnknownCaller`]). The extension (`internal`) names the
    /// operator through the settings' extension map. Each write adds its audit entry
    /// (`call.recorded` or `call.updated`) and a change of the call (what makes the
    /// customer's timeline live).
    ///
    /// # Errors
    /// Not found when calls are off; permission denied when no secret is set or the
    /// signature does not match; invalid input naming the field otherwise.
    pub fn record_zadarma_notification(
        &mut self,
        org: OrgId,
        notification: &ZadarmaNotification,
        signature: Option<&str>,
    ) -> Result<CallOutcome> {
        let organization = load_org(self, org)?;
        require_calls(&organization)?;
        let settings = load_settings(self, org)?;
        let Some(secret) = settings.api_secret.as_deref() else {
            return Err(Error::forbidden(
                "no Zadarma API secret is set: notifications cannot be checked",
            ));
        };
        let event = CallEvent::parse(notification.event_name()).ok_or_else(|| {
            Error::invalid(
                "event",
                format!(
                    "{:?} is not a call notification this CRM records",
                    notification.event_name()
                ),
            )
        })?;
        if !signature
            .is_some_and(|signature| signature_matches(secret, event, notification, signature))
        {
            return Err(Error::forbidden(
                "the notification's signature does not match the Zadarma API secret",
            ));
        }
        let notice = Notice::read(event, notification, &organization.settings.time_zone)?;
        let now = self.now();
        let actor = Actor::system(org);
        let existing = self.get_raw(
            tables::CALLS_BY_PBX_ID,
            pbx_key(org, &notice.pbx_call_id).as_slice(),
            |bytes| Ok(CallId(keys::read_u64(bytes, 0))),
        )?;
        if let Some(id) = existing {
            let key = Key::org(org).u64(id.0);
            let before: Call = self
                .get(tables::CALLS, &key)?
                .ok_or_else(|| crate::store::dangling("calls_by_pbx_id", key.as_slice()))?;
            if before.events.contains(&event) {
                return Ok(CallOutcome::Repeated(id));
            }
            let mut call = before.clone();
            apply(&mut call, &notice, &settings, now);
            self.update_record(&key, &before, &call)?;
            self.audit(
                &actor,
                AuditAction::CallUpdated,
                Subject::Call(id),
                AuditDetail::Text(event.as_str().to_string()),
            )?;
            self.changed(org, Subject::Call(id), ChangeKind::Updated)?;
            return Ok(CallOutcome::Updated(call));
        }
        let phone_text = notice.phone.as_deref().unwrap_or_default();
        let phone = normalize_phone(phone_text)?;
        let id = CallId(self.next_id(org, "call")?);
        let (customer, new_customer) = match customer_by_phone(self, org, &phone)? {
            Some(customer) => (customer, false),
            None => (self.create_unknown_caller(&organization, &phone, id)?, true),
        };
        let mut call = Call {
            id,
            pbx_call_id: notice.pbx_call_id.clone(),
            direction: notice.direction(),
            phone,
            did: None,
            customer,
            extension: None,
            operator: None,
            started_at: notice.started_at,
            answered_at: None,
            ended_at: None,
            duration_secs: None,
            disposition: None,
            status_code: None,
            recording: None,
            new_customer,
            events: Vec::new(),
            created_at: now,
            updated_at: now,
        };
        apply(&mut call, &notice, &settings, now);
        self.insert_record(&Key::org(org).u64(id.0), &call)?;
        self.audit(
            &actor,
            AuditAction::CallRecorded,
            Subject::Call(id),
            AuditDetail::Text(format!(
                "{} {} {}",
                event.as_str(),
                call.direction,
                call.phone
            )),
        )?;
        self.changed(org, Subject::Call(id), ChangeKind::Created)?;
        Ok(CallOutcome::Recorded(call))
    }

    /// Creates the customer for a call from a number nobody has: named by the number, in
    /// the organization's language, with the phone, marked as an unknown caller.
    fn create_unknown_caller(
        &mut self,
        org: &Organization,
        phone: &str,
        call: CallId,
    ) -> Result<CustomerId> {
        let id = CustomerId(self.next_id(org.id, "customer")?);
        let now = self.now();
        let customer = Customer {
            id,
            telegram_id: None,
            username: None,
            first_name: phone.to_string(),
            last_name: None,
            phone: Some(phone.to_string()),
            email: None,
            language: org.settings.locale,
            unreachable: false,
            unread: 0,
            created_at: now,
            last_activity_at: now,
        };
        save_customer(self, org.id, &customer)?;
        crate::services::analytics::aggregates::customer_created(self, org.id, &customer)?;
        self.insert_record(
            &Key::org(org.id).u64(id.0),
            &UnknownCaller {
                customer: id,
                phone: phone.to_string(),
                call,
                created_at: now,
            },
        )?;
        self.audit(
            &Actor::system(org.id),
            AuditAction::CustomerCreated,
            Subject::Customer(id),
            AuditDetail::Text(format!("unknown caller {phone}")),
        )?;
        self.changed(org.id, Subject::Customer(id), ChangeKind::Created)?;
        crate::webhooks::emit(
            self,
            org.id,
            crate::webhooks::WebhookEvent::customer_created(&customer),
        )?;
        Ok(id)
    }

    /// Sets (or, with an empty text, removes) the organization's Zadarma API secret, with
    /// which every PBX notification is checked. Needs `manage_settings`; calls must be on.
    /// The secret is 8-128 characters without spaces; it is never shown back in full (see
    /// [`super::CallSettingsView`]) and the audit entry says only that it changed. Writes
    /// nothing when it is already as asked.
    ///
    /// # Errors
    /// Permission denied; not found when calls are off; invalid input on `secret`.
    pub fn set_zadarma_secret(&mut self, actor: &Actor, secret: &str) -> Result<()> {
        require(self, actor, Permission::ManageSettings)?;
        require_calls(&load_org(self, actor.org)?)?;
        let secret = secret.trim();
        let new = if secret.is_empty() {
            None
        } else {
            if !(8..=128).contains(&secret.chars().count())
                || secret.chars().any(|c| c.is_whitespace() || c.is_control())
            {
                return Err(Error::invalid(
                    "secret",
                    "must be 8-128 characters without spaces (the API secret of Zadarma's settings)",
                ));
            }
            Some(secret.to_string())
        };
        let mut settings = load_settings(self, actor.org)?;
        if settings.api_secret == new {
            return Ok(());
        }
        let detail = if new.is_some() {
            "api secret set"
        } else {
            "api secret removed"
        };
        settings.api_secret = new;
        self.save_record(&Key::org(actor.org), &settings)?;
        self.audit(
            actor,
            AuditAction::CallSettingsChanged,
            Subject::Organization,
            AuditDetail::Text(detail.to_string()),
        )?;
        self.changed(actor.org, Subject::Organization, ChangeKind::Updated)
    }

    /// Maps PBX extension `extension` (1-16 digits, as Zadarma sends it in `internal`) to
    /// staff user `user`, or removes its mapping with `None`: the operator of the calls that
    /// extension takes from then on. Needs `manage_settings`; calls must be on. Writes
    /// nothing when it is already as asked.
    ///
    /// # Errors
    /// Permission denied; not found (calls off, the user); invalid input on `extension`.
    pub fn map_call_extension(
        &mut self,
        actor: &Actor,
        extension: &str,
        user: Option<UserId>,
    ) -> Result<()> {
        require(self, actor, Permission::ManageSettings)?;
        require_calls(&load_org(self, actor.org)?)?;
        let extension = extension.trim();
        if !(1..=16).contains(&extension.len()) || !extension.bytes().all(|b| b.is_ascii_digit()) {
            return Err(Error::invalid(
                "extension",
                format!("{extension:?} is not a PBX extension (1-16 digits)"),
            ));
        }
        if let Some(user) = user {
            crate::services::team::load_user(self, actor.org, user)?;
        }
        let mut settings = load_settings(self, actor.org)?;
        let current = settings
            .extensions
            .iter()
            .find(|mapped| mapped.extension == extension)
            .map(|mapped| mapped.user);
        if current == user {
            return Ok(());
        }
        settings
            .extensions
            .retain(|mapped| mapped.extension != extension);
        if let Some(user) = user {
            settings.extensions.push(CallExtension {
                extension: extension.to_string(),
                user,
            });
            settings
                .extensions
                .sort_by(|a, b| a.extension.cmp(&b.extension));
        }
        self.save_record(&Key::org(actor.org), &settings)?;
        self.audit(
            actor,
            AuditAction::CallSettingsChanged,
            Subject::Organization,
            AuditDetail::Text(match user {
                Some(user) => format!("extension {extension} -> user {user}"),
                None => format!("extension {extension} unmapped"),
            }),
        )?;
        self.changed(actor.org, Subject::Organization, ChangeKind::Updated)
    }
}

impl Crm {
    /// See [`Tx::record_zadarma_notification`]. One write transaction.
    ///
    /// # Errors
    /// See [`Tx::record_zadarma_notification`].
    pub fn record_zadarma_notification(
        &self,
        org: OrgId,
        notification: ZadarmaNotification,
        signature: Option<String>,
    ) -> Result<CallOutcome> {
        self.write(move |tx| {
            tx.record_zadarma_notification(org, &notification, signature.as_deref())
        })
    }

    /// See [`Tx::set_zadarma_secret`]. One write transaction.
    ///
    /// # Errors
    /// See [`Tx::set_zadarma_secret`].
    pub fn set_zadarma_secret(&self, actor: &Actor, secret: &str) -> Result<()> {
        let actor = actor.clone();
        let secret = secret.to_string();
        self.write(move |tx| tx.set_zadarma_secret(&actor, &secret))
    }

    /// See [`Tx::map_call_extension`]. One write transaction.
    ///
    /// # Errors
    /// See [`Tx::map_call_extension`].
    pub fn map_call_extension(
        &self,
        actor: &Actor,
        extension: &str,
        user: Option<UserId>,
    ) -> Result<()> {
        let actor = actor.clone();
        let extension = extension.to_string();
        self.write(move |tx| tx.map_call_extension(&actor, &extension, user))
    }
}
