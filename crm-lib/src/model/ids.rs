//! Identifier newtypes and small value types shared by every entity.
//!
//! Ids are per-organization sequence numbers: `OrderId(7)` of one organization and
//! `OrderId(7)` of another are different orders, and every key in the store starts with the
//! organization id, so a lookup can never cross tenants.

use std::fmt;

use serde::{Deserialize, Serialize};

macro_rules! id_type {
    ($(#[$meta:meta])* $name:ident, $label:literal) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        pub struct $name(pub(crate) u64);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}", self.0)
            }
        }

        impl $name {
            /// The entity name used in messages (`order 42 not found`).
            pub const LABEL: &'static str = $label;

            /// The id with this number (ids are per-organization sequence numbers from 1).
            pub const fn new(raw: u64) -> Self {
                $name(raw)
            }

            /// The number.
            pub const fn get(self) -> u64 {
                self.0
            }
        }
    };
}

id_type!(
    /// An organization (tenant). Global, not per-organization.
    OrgId,
    "organization"
);
id_type!(
    /// A staff user.
    UserId,
    "user"
);
id_type!(
    /// A role.
    RoleId,
    "role"
);
id_type!(
    /// A customer (someone who talks to the bot).
    CustomerId,
    "customer"
);
id_type!(
    /// An order; also its human-facing number (`#42`).
    OrderId,
    "order"
);
id_type!(
    /// A bid (a staff user's price proposal on an order).
    BidId,
    "bid"
);
id_type!(
    /// A chat message.
    MessageId,
    "message"
);
id_type!(
    /// An audit log entry.
    AuditId,
    "audit entry"
);
id_type!(
    /// An outbox item.
    OutboxId,
    "outbox item"
);
id_type!(
    /// A marker (a coloured tag such as a technology stack).
    MarkerId,
    "marker"
);
id_type!(
    /// A payment method (name and template).
    PaymentMethodId,
    "payment method"
);
id_type!(
    /// A record of payment details sent to a customer.
    PaymentInfoId,
    "payment info"
);
id_type!(
    /// An API token.
    ApiTokenId,
    "api token"
);
id_type!(
    /// A department of the operators module (Django operator seed).
    DepartmentId,
    "department"
);
id_type!(
    /// An item of the operators queue: a customer's conversation or a ticket.
    QueueItemId,
    "queue item"
);
id_type!(
    /// A telephone call received from the PBX (Zadarma).
    CallId,
    "call"
);
id_type!(
    /// A canned response: a prepared reply staff insert with `/code` in the composer.
    CannedId,
    "canned response"
);
id_type!(
    /// A webhook endpoint: an organization's URL that receives signed events (SPEC 5F).
    WebhookEndpointId,
    "webhook endpoint"
);
id_type!(
    /// One webhook message queued to one endpoint, with its attempts.
    WebhookDeliveryId,
    "webhook delivery"
);
id_type!(
    /// A broadcast: one text to the customers an audience picks (issue 13).
    BroadcastId,
    "broadcast"
);
id_type!(
    /// A customer's profile: a person they order for (the tokens module's registration).
    ProfileId,
    "profile"
);
id_type!(
    /// A project (issue 14).
    ProjectId,
    "project"
);
id_type!(
    /// A stage of a project (numbered across the organization's projects).
    ProjectStageId,
    "project stage"
);
id_type!(
    /// A worker's daily report on a project.
    ReportId,
    "daily report"
);
id_type!(
    /// An expense or income entry of a project.
    EntryId,
    "project entry"
);
id_type!(
    /// A line of a project's estimate (the plan).
    EstimateLineId,
    "estimate line"
);
id_type!(
    /// A change request of a project.
    ChangeRequestId,
    "change request"
);
id_type!(
    /// An event of a project's timeline.
    ProjectEventId,
    "project event"
);
id_type!(
    /// A document of a project (a contract, an estimate, a plan).
    ProjectDocumentId,
    "project document"
);

/// A stage of a pipeline. Stable within the organization's pipeline: renaming or reordering
/// stages never changes an id, so indexes keyed by stage stay valid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct StageId(pub(crate) u16);

impl fmt::Display for StageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl StageId {
    /// The stage with this id.
    pub const fn new(raw: u16) -> Self {
        StageId(raw)
    }

    /// The id.
    pub const fn get(self) -> u16 {
        self.0
    }
}

/// A Telegram user id (`User.id` in the Bot API). Telegram documents it as fitting in 52 bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct TelegramUserId(pub(crate) i64);

impl fmt::Display for TelegramUserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl TelegramUserId {
    /// A Telegram user id as the Bot API sends it (`User.id`); see [`TelegramUserId::parse`] for text.
    pub const fn new(raw: i64) -> Self {
        TelegramUserId(raw)
    }

    /// The id.
    pub const fn get(self) -> i64 {
        self.0
    }
}

impl TelegramUserId {
    /// Parses a Telegram user id: a positive integer of at most 52 bits (Bot API, `User.id`).
    ///
    /// # Errors
    /// [`crate::ErrorKind::InvalidInput`] on `field` when the text is not such a number.
    pub fn parse(field: &'static str, text: &str) -> crate::Result<Self> {
        let text = text.trim();
        match text.parse::<i64>() {
            Ok(id) if id > 0 && id < (1 << 52) => Ok(TelegramUserId(id)),
            _ => Err(crate::Error::invalid(
                field,
                format!("{text:?} is not a telegram user id (a positive integer)"),
            )),
        }
    }
}

/// A Telegram chat id (`Chat.id`): positive for private chats, negative for groups and
/// channels (supergroups start at -100...).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ChatId(pub(crate) i64);

impl fmt::Display for ChatId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl ChatId {
    /// A chat id as the Bot API sends it (`Chat.id`).
    pub const fn new(raw: i64) -> Self {
        ChatId(raw)
    }

    /// The id.
    pub const fn get(self) -> i64 {
        self.0
    }
}

impl ChatId {
    /// True for group, supergroup and channel chats (negative ids).
    pub fn is_group(self) -> bool {
        self.0 < 0
    }
}

impl From<TelegramUserId> for ChatId {
    /// A private chat's id equals the user's id (Bot API, `Chat.id`).
    fn from(user: TelegramUserId) -> Self {
        ChatId(user.0)
    }
}

/// A moment in time: milliseconds since the Unix epoch, UTC.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default,
)]
pub struct Timestamp(pub(crate) i64);

impl Timestamp {
    /// The current wall-clock time.
    pub fn now() -> Self {
        let now = time::OffsetDateTime::now_utc();
        Timestamp((now.unix_timestamp_nanos() / 1_000_000) as i64)
    }

    /// This moment plus `millis` milliseconds (saturating).
    pub fn plus_millis(self, millis: i64) -> Self {
        Timestamp(self.0.saturating_add(millis))
    }

    /// This moment minus `days` whole days (saturating).
    pub fn minus_days(self, days: i64) -> Self {
        Timestamp(self.0.saturating_sub(days.saturating_mul(86_400_000)))
    }

    /// The UTC day number since the epoch (for the by-date index).
    pub fn day(self) -> i64 {
        self.0.div_euclid(86_400_000)
    }

    /// The moment as an `OffsetDateTime` in UTC; out-of-range values clamp to the epoch.
    pub fn to_datetime(self) -> time::OffsetDateTime {
        time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(self.0) * 1_000_000)
            .unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
    }

    /// Reads RFC 3339 text (`2026-12-05T10:00:00Z`, any offset), as the API's filters take
    /// moments.
    ///
    /// # Errors
    /// [`crate::ErrorKind::InvalidInput`] on `field`.
    pub fn parse_rfc3339(field: &'static str, text: &str) -> crate::Result<Self> {
        let moment = time::OffsetDateTime::parse(
            text.trim(),
            &time::format_description::well_known::Rfc3339,
        )
        .map_err(|_| {
            crate::Error::invalid(
                field,
                format!("{text:?} is not an RFC 3339 time (2026-12-05T10:00:00Z)"),
            )
        })?;
        Ok(Timestamp(
            (moment.unix_timestamp_nanos() / 1_000_000) as i64,
        ))
    }

    /// RFC 3339 text, for exports and the API (`2026-11-21T09:30:00Z`).
    pub fn to_rfc3339(self) -> String {
        self.to_datetime()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default()
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_rfc3339())
    }
}

impl Timestamp {
    /// The moment `raw` milliseconds after the Unix epoch (UTC).
    pub const fn from_millis(raw: i64) -> Self {
        Timestamp(raw)
    }

    /// Milliseconds since the Unix epoch.
    pub const fn millis(self) -> i64 {
        self.0
    }
}

/// A calendar date (a deadline), without time zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Date {
    /// Days since 1970-01-01.
    pub(crate) days: i32,
}

impl Date {
    /// Parses `YYYY-MM-DD`.
    ///
    /// # Errors
    /// [`crate::ErrorKind::InvalidInput`] on `field` when the text is not such a date.
    pub fn parse(field: &'static str, text: &str) -> crate::Result<Self> {
        let format = time::macros::format_description!("[year]-[month]-[day]");
        let date = time::Date::parse(text.trim(), &format).map_err(|_| {
            crate::Error::invalid(
                field,
                format!("{text:?} is not a date in the form YYYY-MM-DD"),
            )
        })?;
        Ok(Date::from_time(date))
    }

    /// [`Date::parse`] of an optional field, where a missing or empty one is no date (a
    /// query's `?from=`).
    ///
    /// # Errors
    /// As [`Date::parse`].
    pub fn parse_optional(field: &'static str, text: Option<&str>) -> crate::Result<Option<Self>> {
        text.filter(|text| !text.is_empty())
            .map(|text| Date::parse(field, text))
            .transpose()
    }

    fn from_time(date: time::Date) -> Self {
        // 2_440_588 is the Julian day number of 1970-01-01.
        Date {
            days: date.to_julian_day() - 2_440_588,
        }
    }

    /// The first moment of the day, midnight UTC.
    pub fn start(self) -> Timestamp {
        Timestamp(i64::from(self.days) * 86_400_000)
    }

    /// The date of a timestamp, in UTC.
    pub fn of(timestamp: Timestamp) -> Self {
        Date::from_time(timestamp.to_datetime().date())
    }

    /// The date as a `time::Date`.
    pub fn to_time(self) -> time::Date {
        time::Date::from_julian_day(self.days + 2_440_588).unwrap_or(time::Date::MIN)
    }

    /// The day after.
    pub fn next(self) -> Self {
        Date {
            days: self.days.saturating_add(1),
        }
    }

    /// The date of a calendar year, month (1-12) and day; `None` when there is no such day.
    pub(crate) fn from_ymd(year: i16, month: i8, day: i8) -> Option<Self> {
        let month = time::Month::try_from(u8::try_from(month).ok()?).ok()?;
        let date =
            time::Date::from_calendar_date(i32::from(year), month, u8::try_from(day).ok()?).ok()?;
        Some(Date::from_time(date))
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let date = self.to_time();
        write!(
            f,
            "{:04}-{:02}-{:02}",
            date.year(),
            u8::from(date.month()),
            date.day()
        )
    }
}

/// An amount of money in minor units (cents, kopecks) of the organization's currency.
///
/// All amounts carry two decimal places; the currency code lives in the organization's
/// settings. Integer arithmetic only, so totals never drift.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default,
)]
pub struct Money(pub(crate) i64);

/// `text` without its thousands commas when they group the whole part in threes as English
/// writes it (`25,000.50`, `1,500`, `12,345,678`), else `None` (no comma, a decimal comma,
/// or a grouping that is not in threes).
fn english_grouping(text: &str) -> Option<String> {
    let (whole, fraction) = match text.split_once('.') {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (text, None),
    };
    let mut groups = whole.split(',');
    let first = groups.next()?;
    let rest: Vec<&str> = groups.collect();
    let grouped = !rest.is_empty()
        && (1..=3).contains(&first.len())
        && rest.iter().all(|group| group.len() == 3)
        && whole.bytes().all(|b| b.is_ascii_digit() || b == b',');
    if !grouped {
        return None;
    }
    let mut ungrouped: String = whole.chars().filter(|c| *c != ',').collect();
    if let Some(fraction) = fraction {
        ungrouped.push('.');
        ungrouped.push_str(fraction);
    }
    Some(ungrouped)
}

impl Money {
    /// The largest accepted amount: 10^13 minor units (100 billion).
    pub const MAX: Money = Money(10_000_000_000_000);

    /// Parses a decimal amount such as `1500`, `1500.5`, `1 500,50`, `1500.00` or `25,000.50`:
    /// digits, optional spaces (plain, no-break or narrow no-break) as thousands separators,
    /// one optional `.` or `,` with at most two decimals. Commas that group the whole part in
    /// threes (`25,000.50`, `1,500`, as [`Money::format`] writes English) are thousands
    /// separators: a decimal comma has at most two digits after it, so `1,500` cannot mean
    /// 1.5. Negative amounts are refused.
    ///
    /// # Errors
    /// [`crate::ErrorKind::InvalidInput`] on `field`, naming the text.
    pub fn parse(field: &'static str, text: &str) -> crate::Result<Self> {
        let bad = || {
            crate::Error::invalid(
                field,
                format!(
                    "{text:?} is not an amount (use digits with up to two decimals, e.g. 1500.00)"
                ),
            )
        };
        let cleaned: String = text
            .trim()
            .chars()
            .filter(|c| !matches!(c, ' ' | '\u{a0}' | '\u{202f}'))
            .collect();
        if cleaned.is_empty() {
            return Err(bad());
        }
        let cleaned = match english_grouping(&cleaned) {
            Some(ungrouped) => ungrouped,
            None => cleaned,
        };
        let (whole, fraction) = match cleaned.find(['.', ',']) {
            Some(at) => (&cleaned[..at], &cleaned[at + 1..]),
            None => (cleaned.as_str(), ""),
        };
        if whole.is_empty()
            || !whole.bytes().all(|b| b.is_ascii_digit())
            || !fraction.bytes().all(|b| b.is_ascii_digit())
            || fraction.len() > 2
            || whole.len() > 12
        {
            return Err(bad());
        }
        let whole: i64 = whole.parse().map_err(|_| bad())?;
        let cents: i64 = match fraction.len() {
            0 => 0,
            1 => fraction.parse::<i64>().map_err(|_| bad())? * 10,
            _ => fraction.parse().map_err(|_| bad())?,
        };
        let amount = Money(whole * 100 + cents);
        if amount > Money::MAX {
            return Err(crate::Error::invalid(field, format!("{text} is too large")));
        }
        Ok(amount)
    }

    /// [`Money::parse`] of an amount that may be negative: a leading `-` (or the minus sign
    /// U+2212) takes it off (a change request that lowers a budget); `+` is allowed too.
    ///
    /// # Errors
    /// As [`Money::parse`], on `field`.
    pub fn parse_signed(field: &'static str, text: &str) -> crate::Result<Self> {
        let trimmed = text.trim();
        if let Some(rest) = trimmed
            .strip_prefix('-')
            .or_else(|| trimmed.strip_prefix('\u{2212}'))
        {
            return Money::parse(field, rest).map(|amount| Money(-amount.0));
        }
        Money::parse(field, trimmed.strip_prefix('+').unwrap_or(trimmed))
    }

    /// An amount of `minor` minor units (cents, kopecks); negative amounts are refunds and
    /// adjustments. Use [`Money::parse`] for amounts typed by people.
    pub const fn from_minor(minor: i64) -> Self {
        Money(minor)
    }

    /// Minor units.
    pub const fn minor(self) -> i64 {
        self.0
    }

    /// The amount as a reader of `language` writes it, always with two decimals: English
    /// `25,000.50`, Russian `25 000,50` (a no-break space U+00A0 between thousands, as the
    /// Unicode CLDR has it for Russian, so a line never breaks inside a number, and a
    /// decimal comma). For showing only: forms keep the plain `25000.50` of [`Money`]'s
    /// `Display`, which [`Money::parse`] reads back in either language.
    pub fn format(self, language: Language) -> String {
        let (group, decimal) = (language.info().group, language.info().decimal);
        let abs = self.0.unsigned_abs();
        let whole = (abs / 100).to_string();
        let mut out = String::with_capacity(whole.len() + whole.len() / 3 * 2 + 5);
        if self.0 < 0 {
            out.push('-');
        }
        for (index, digit) in whole.chars().enumerate() {
            if index > 0 && (whole.len() - index).is_multiple_of(3) {
                out.push(group);
            }
            out.push(digit);
        }
        out.push(decimal);
        let cents = abs % 100;
        out.push(char::from(b'0' + (cents / 10) as u8));
        out.push(char::from(b'0' + (cents % 10) as u8));
        out
    }

    /// [`Money::format`] followed by the currency code: `25,000.50 USD`, `25 000,50 USD`
    /// (a no-break space before the code, so it stays beside the number).
    pub fn format_with(self, language: Language, currency: &str) -> String {
        format!("{}\u{a0}{currency}", self.format(language))
    }
}

impl fmt::Display for Money {
    /// `1500.00`: whole units, a dot, two decimals.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        write!(f, "{sign}{}.{:02}", abs / 100, abs % 100)
    }
}

/// One language the product speaks: its ISO 639-1 code, its own name, and the Telegram
/// `language_code`s that map to it besides its own.
#[derive(Debug)]
pub struct LanguageInfo {
    /// ISO 639-1 code (`en`).
    pub code: &'static str,
    /// The language's name in itself (`Русский`), for pickers.
    pub name: &'static str,
    /// Close relatives whose speakers are better served in this language than in English
    /// (`uk`, `be`, `kk` for Russian).
    pub relatives: &'static [&'static str],
    /// The thousands separator of amounts (Unicode CLDR: `,` in English, a no-break space in
    /// Russian), see [`Money::format`].
    pub group: char,
    /// The decimal separator of amounts (`.` in English, `,` in Russian).
    pub decimal: char,
}

/// The languages the product speaks, in picker order; the first is the default. Adding a
/// language is one entry here and its locale file, `assets/locales/<code>.yml` (see
/// [`crate::i18n`]; SPEC section 3.1: "adding a third language is a locale file, not a
/// migration"); records store the code, so no stored data changes.
pub const LANGUAGES: &[LanguageInfo] = &[
    LanguageInfo {
        code: "en",
        name: "English",
        relatives: &[],
        group: ',',
        decimal: '.',
    },
    LanguageInfo {
        code: "ru",
        name: "Русский",
        relatives: &["uk", "be", "kk"],
        group: '\u{a0}',
        decimal: ',',
    },
    // crm-lib's unit tests speak one language more, added as any language is: this entry and
    // a locale file (`crm-lib/src/i18n/test-locales/eo.yml`, kept out of `assets/` so that it
    // never ships), which translates a few keys on purpose. `crate::i18n`'s tests show it in
    // the pickers' list, in the catalogue with English for the rest, in the templates' names
    // and in stored names.
    #[cfg(test)]
    LanguageInfo {
        code: "eo",
        name: "Esperanto",
        relatives: &[],
        group: '\u{a0}',
        decimal: ',',
    },
];

// The named languages are positions in the table; a reordered table must not rename them.
const _: () = assert!(matches!(LANGUAGES[0].code.as_bytes(), b"en"));
const _: () = assert!(matches!(LANGUAGES[1].code.as_bytes(), b"ru"));
#[cfg(test)]
const _: () = assert!(matches!(LANGUAGES[2].code.as_bytes(), b"eo"));

/// A language of [`LANGUAGES`]. Stored and serialised as its code (`"ru"`), so adding a
/// language never changes the meaning of stored records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Language(u8);

impl Language {
    /// English, the default.
    pub const EN: Language = Language(0);
    /// Russian (schema 1 stored it as a variant of its own, which its migration maps here).
    pub const RU: Language = Language(1);
    /// Esperanto, the language that crm-lib's unit tests add (see [`LANGUAGES`]).
    #[cfg(test)]
    pub(crate) const EO: Language = Language(2);

    /// Every language, in picker order.
    pub fn all() -> impl Iterator<Item = Language> {
        (0..LANGUAGES.len()).filter_map(|index| u8::try_from(index).ok().map(Language))
    }

    pub(crate) fn info(self) -> &'static LanguageInfo {
        LANGUAGES.get(usize::from(self.0)).unwrap_or(&LANGUAGES[0])
    }

    /// The language of this exact code, if the product speaks it.
    pub fn of_code(code: &str) -> Option<Self> {
        let code = code.trim();
        Language::all().find(|language| language.code().eq_ignore_ascii_case(code))
    }

    /// Maps a Telegram `language_code` (an IETF tag such as `pt-br`) to the closest language:
    /// the one whose code starts the tag, else one naming it a relative, else the default
    /// (English). A language's own code wins over a relative, so adding Ukrainian needs no
    /// change to Russian's relatives.
    pub fn from_code(code: &str) -> Self {
        let code = code.trim().to_ascii_lowercase();
        let primary = code.split(['-', '_']).next().unwrap_or_default();
        Language::all()
            .find(|language| language.code() == primary)
            .or_else(|| {
                Language::all().find(|language| language.info().relatives.contains(&primary))
            })
            .unwrap_or_default()
    }

    /// Parses a code of [`LANGUAGES`] exactly (`en`, `ru`), case-insensitively.
    ///
    /// # Errors
    /// [`crate::ErrorKind::InvalidInput`] on `field` for any other value, listing the codes.
    pub fn parse(field: &'static str, text: &str) -> crate::Result<Self> {
        Language::of_code(text).ok_or_else(|| {
            let codes: Vec<&str> = LANGUAGES.iter().map(|info| info.code).collect();
            crate::Error::invalid(
                field,
                format!("{:?} is not a language ({})", text.trim(), codes.join(", ")),
            )
        })
    }

    /// The ISO 639-1 code (`en`).
    pub fn code(self) -> &'static str {
        self.info().code
    }

    /// The language's name in itself (`Русский`).
    pub fn native_name(self) -> &'static str {
        self.info().name
    }
}

impl fmt::Display for Language {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl Serialize for Language {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.code())
    }
}

impl<'de> Deserialize<'de> for Language {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let code = String::deserialize(deserializer)?;
        Language::of_code(&code)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown language {code:?}")))
    }
}

/// A name staff configure (a stage, a marker, a package) in any number of languages (SPEC
/// section 3.1). Read with [`Localized::get`], which falls back to the default language and
/// then to any text there is, so a name is never blank because one translation is missing.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Localized(std::collections::BTreeMap<Language, String>);

impl Localized {
    /// A name in the default language only (every language reads it until someone
    /// translates it).
    pub fn new(text: impl Into<String>) -> Self {
        Localized::default().with(Language::default(), text)
    }

    /// This name with `text` in `language` (builder form of [`Localized::set`]).
    pub fn with(mut self, language: Language, text: impl Into<String>) -> Self {
        self.set(language, text);
        self
    }

    /// Sets the text in `language`; an empty text removes that translation.
    pub fn set(&mut self, language: Language, text: impl Into<String>) {
        let text = text.into();
        if text.is_empty() {
            self.0.remove(&language);
        } else {
            self.0.insert(language, text);
        }
    }

    /// The text in `language`, else in the default language, else any text; empty only when
    /// there is none at all.
    pub fn get(&self, language: Language) -> &str {
        self.0
            .get(&language)
            .or_else(|| self.0.get(&Language::default()))
            .or_else(|| self.0.values().next())
            .map_or("", String::as_str)
    }

    /// The translation in exactly `language`, if there is one.
    pub fn exact(&self, language: Language) -> Option<&str> {
        self.0.get(&language).map(String::as_str)
    }

    /// Every (language, text) pair, in language order.
    pub fn iter(&self) -> impl Iterator<Item = (Language, &str)> {
        self.0
            .iter()
            .map(|(language, text)| (*language, text.as_str()))
    }

    /// Whether no language has a text.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<&str> for Localized {
    /// A name in the default language only (see [`Localized::new`]).
    fn from(text: &str) -> Self {
        Localized::new(text)
    }
}

impl From<String> for Localized {
    /// A name in the default language only (see [`Localized::new`]).
    fn from(text: String) -> Self {
        Localized::new(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_is_formatted_in_the_readers_language() {
        assert_eq!(Money(2_500_050).format(Language::EN), "25,000.50");
        assert_eq!(Money(2_500_050).format(Language::RU), "25\u{a0}000,50");
        assert_eq!(Money(0).format(Language::EN), "0.00");
        assert_eq!(Money(5).format(Language::RU), "0,05");
        assert_eq!(Money(99_999).format(Language::EN), "999.99");
        assert_eq!(Money(100_000).format(Language::EN), "1,000.00");
        assert_eq!(
            Money::MAX.format(Language::EN),
            "100,000,000,000.00",
            "the largest accepted amount"
        );
        assert_eq!(Money(-123_456_789).format(Language::EN), "-1,234,567.89");
        assert_eq!(
            Money(i64::MIN).format(Language::EN),
            "-92,233,720,368,547,758.08",
            "no overflow at the extreme"
        );
        assert_eq!(
            Money(150_000).format_with(Language::RU, "RUB"),
            "1\u{a0}500,00\u{a0}RUB"
        );
        assert_eq!(
            Money(150_000).format_with(Language::EN, "USD"),
            "1,500.00\u{a0}USD"
        );
    }

    #[test]
    fn telegram_language_codes_map_to_a_language_its_relatives_or_english() {
        assert_eq!(Language::from_code("ru"), Language::RU);
        assert_eq!(Language::from_code("RU-ru"), Language::RU);
        assert_eq!(Language::from_code("uk"), Language::RU, "a relative");
        assert_eq!(Language::from_code("en-GB"), Language::EN);
        assert_eq!(Language::from_code("pt-br"), Language::EN, "not spoken");
        assert_eq!(Language::from_code(""), Language::EN);
        for language in Language::all() {
            assert_eq!(Language::from_code(language.code()), language);
            assert_eq!(Language::of_code(language.code()), Some(language));
            assert_eq!(
                Language::parse("language", &language.code().to_uppercase()).ok(),
                Some(language)
            );
        }
    }

    #[test]
    fn english_formatted_money_parses_back_and_a_decimal_comma_still_reads_as_decimals() {
        for amount in [
            Money(0),
            Money(5),
            Money(150_000),
            Money(2_500_050),
            Money::MAX,
        ] {
            assert_eq!(
                Money::parse("amount", &amount.format(Language::EN)).ok(),
                Some(amount)
            );
        }
        assert_eq!(Money::parse("amount", "1,500").ok(), Some(Money(150_000)));
        assert_eq!(
            Money::parse("amount", "12,345,678").ok(),
            Some(Money(1_234_567_800))
        );
        assert_eq!(Money::parse("amount", "1,5").ok(), Some(Money(150)));
        assert_eq!(Money::parse("amount", "1,50").ok(), Some(Money(150)));
        for refused in [
            "1,5000",
            "1,234,56",
            "1234,567",
            ",500",
            "1,500,",
            "1,500.505",
            "1.500,50",
        ] {
            assert!(Money::parse("amount", refused).is_err(), "{refused:?}");
        }
    }

    #[test]
    fn signed_amounts_take_a_leading_minus_or_plus_and_nothing_else() {
        assert_eq!(
            Money::parse_signed("a", "-1,500.50").ok(),
            Some(Money(-150_050))
        );
        assert_eq!(
            Money::parse_signed("a", "\u{2212}10").ok(),
            Some(Money(-1_000))
        );
        assert_eq!(Money::parse_signed("a", " +10 ").ok(), Some(Money(1_000)));
        assert_eq!(Money::parse_signed("a", "10").ok(), Some(Money(1_000)));
        for refused in ["--10", "-", "1-0", "-+1", ""] {
            assert!(Money::parse_signed("a", refused).is_err(), "{refused:?}");
        }
    }

    #[test]
    fn russian_formatted_money_parses_back() {
        for amount in [Money(0), Money(5), Money(2_500_050), Money::MAX] {
            assert_eq!(
                Money::parse("amount", &amount.format(Language::RU)).ok(),
                Some(amount)
            );
            assert_eq!(
                Money::parse("amount", &amount.to_string()).ok(),
                Some(amount)
            );
        }
        assert_eq!(
            Money::parse("amount", "25\u{202f}000,50").ok(),
            Some(Money(2_500_050)),
            "a narrow no-break space separates thousands too"
        );
    }
}
