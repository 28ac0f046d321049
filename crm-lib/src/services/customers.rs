//! Customers: created from Telegram profiles, imported, edited.

use crate::model::*;
use crate::store::{Key, ViewExt, keys, tables};
use crate::{Crm, Error, Result, Tx, View};

use super::{Page, Paged, require};

/// What Telegram tells us about a user (`User` object of the Bot API).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TelegramProfile {
    /// `User.id`.
    pub telegram_id: TelegramUserId,
    /// `User.username`, without `@`.
    pub username: Option<String>,
    /// `User.first_name` (Telegram requires one; an empty one is stored as `?`).
    pub first_name: String,
    /// `User.last_name`.
    pub last_name: Option<String>,
    /// `User.language_code` (IETF tag), used for the first language guess.
    pub language_code: Option<String>,
}

/// A customer row to import or create by hand; every field is text as typed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewCustomer {
    /// Telegram user id, or empty.
    pub telegram_id: String,
    /// Telegram username, with or without `@`, or empty.
    pub username: String,
    /// First name (required).
    pub first_name: String,
    /// Last name or empty.
    pub last_name: String,
    /// Phone (E.164 after cleaning: `+` and 7-15 digits) or empty.
    pub phone: String,
    /// Email or empty.
    pub email: String,
    /// `en`, `ru` or empty (the organization's language).
    pub language: String,
}

/// A validated [`NewCustomer`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidCustomer {
    pub(crate) telegram_id: Option<TelegramUserId>,
    pub(crate) username: Option<String>,
    pub(crate) first_name: String,
    pub(crate) last_name: Option<String>,
    pub(crate) phone: Option<String>,
    pub(crate) email: Option<String>,
    pub(crate) language: Option<Language>,
}

impl ValidCustomer {
    /// The Telegram id, when given.
    pub fn telegram_id(&self) -> Option<TelegramUserId> {
        self.telegram_id
    }
}

/// Cleans a phone number to E.164: spaces, dashes, dots and brackets dropped; a leading `8`
/// of an 11-digit Russian number becomes `+7`; the result must be `+` and 7-15 digits.
///
/// # Errors
/// [`crate::ErrorKind::InvalidInput`] on `phone`.
pub fn parse_phone(text: &str) -> Result<String> {
    let digits: String = text
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '(' | ')' | '.'))
        .collect();
    let normalized = if let Some(rest) = digits.strip_prefix('+') {
        rest.to_string()
    } else if digits.len() == 11 && digits.starts_with('8') {
        format!("7{}", &digits[1..])
    } else {
        digits.clone()
    };
    if (7..=15).contains(&normalized.len())
        && normalized.bytes().all(|b| b.is_ascii_digit())
        && !normalized.starts_with('0')
    {
        Ok(format!("+{normalized}"))
    } else {
        Err(Error::invalid(
            "phone",
            format!(
                "{:?} is not a phone number (use + and 7-15 digits)",
                text.trim()
            ),
        ))
    }
}

/// Checks an email address: one `@`, a non-empty local part, a domain with a dot, no spaces,
/// at most 254 characters (RFC 5321's limit).
///
/// # Errors
/// [`crate::ErrorKind::InvalidInput`] on `email`.
pub fn parse_email(text: &str) -> Result<String> {
    let email = text.trim();
    let valid = email.len() <= 254
        && !email.chars().any(char::is_whitespace)
        && match email.split_once('@') {
            Some((local, domain)) => {
                !local.is_empty()
                    && !domain.contains('@')
                    && domain.contains('.')
                    && !domain.starts_with('.')
                    && !domain.ends_with('.')
            }
            None => false,
        };
    if valid {
        Ok(email.to_string())
    } else if !email.contains('@') {
        Err(Error::invalid(
            "email",
            format!("{email:?} is not an email address (missing '@')"),
        ))
    } else {
        Err(Error::invalid(
            "email",
            format!("{email:?} is not an email address"),
        ))
    }
}

fn parse_telegram_username(text: &str) -> Result<Option<String>> {
    let name = text.trim().trim_start_matches('@');
    if name.is_empty() {
        return Ok(None);
    }
    if (4..=32).contains(&name.len())
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
    {
        Ok(Some(name.to_string()))
    } else {
        Err(Error::invalid(
            "username",
            format!("{name:?} is not a Telegram username (4-32 letters, digits, '_')"),
        ))
    }
}

impl NewCustomer {
    /// Validates every field; the first bad one is reported.
    ///
    /// # Errors
    /// [`crate::ErrorKind::InvalidInput`] naming the field.
    pub fn validate(&self) -> Result<ValidCustomer> {
        let telegram_id = match self.telegram_id.trim() {
            "" => None,
            text => Some(TelegramUserId::parse("telegram_id", text)?),
        };
        Ok(ValidCustomer {
            telegram_id,
            username: parse_telegram_username(&self.username)?,
            first_name: super::clean_text("first_name", &self.first_name, 1, 64)?,
            last_name: super::optional_text("last_name", Some(&self.last_name), 64)?,
            phone: match self.phone.trim() {
                "" => None,
                text => Some(parse_phone(text)?),
            },
            email: match self.email.trim() {
                "" => None,
                text => Some(parse_email(text)?),
            },
            language: match self.language.trim() {
                "" => None,
                text => Some(Language::parse("language", text)?),
            },
        })
    }
}

pub(crate) use super::load_customer;

pub(crate) fn customer_by_telegram(
    view: &impl View,
    org: OrgId,
    telegram_id: TelegramUserId,
) -> Result<Option<Customer>> {
    let key = Key::org(org).i64(telegram_id.0);
    match view.get_raw(tables::CUSTOMERS_BY_TELEGRAM, key.as_slice(), |bytes| {
        Ok(keys::read_u64(bytes, 0))
    })? {
        Some(id) => Ok(Some(load_customer(view, org, CustomerId(id))?)),
        None => Ok(None),
    }
}

/// Writes a customer record with the Telegram and activity index entries its declaration
/// (`store::declarations`) lists, moving the activity entry when `last_activity_at` changed
/// (so the conversation list stays in order).
/// The customer's inbox row follows (`inbox::rows::refresh_conversation_row`).
pub(crate) fn save_customer(tx: &Tx<'_>, org: OrgId, customer: &Customer) -> Result<()> {
    tx.save_record(&Key::org(org).u64(customer.id.0), customer)?;
    super::inbox::rows::refresh_conversation_row(tx, org, customer.id)?;
    Ok(())
}

/// Writes one customer for the schema-1 fixture.
pub(crate) fn insert_customer_v1_fixture(tx: &Tx<'_>, org: OrgId) -> Result<CustomerId> {
    let id = CustomerId(tx.next_id(org, "customer")?);
    let customer = Customer {
        id,
        telegram_id: Some(TelegramUserId(5_000_000_001)),
        username: None,
        first_name: "Ольга".into(),
        last_name: Some("Legacy".into()),
        phone: None,
        email: None,
        language: Language::RU,
        unreachable: false,
        unread: 0,
        created_at: tx.now(),
        last_activity_at: tx.now(),
    };
    // Schema 1 had no activity index: write the record and the Telegram index only.
    let key = Key::org(org).u64(id.0);
    tx.put(tables::CUSTOMERS, &key, &customer)?;
    tx.index_record(key.as_slice(), &customer, 1)?;
    Ok(id)
}

impl Tx<'_> {
    /// Finds the customer with this Telegram account or creates one; refreshes the username
    /// and names from the profile. The language is guessed from `language_code` only on
    /// creation (afterwards the customer's own choice stands).
    ///
    /// # Errors
    /// Storage only.
    pub(crate) fn upsert_telegram_customer(
        &mut self,
        org: OrgId,
        profile: TelegramProfile,
    ) -> Result<Customer> {
        let first_name = match profile.first_name.trim() {
            "" => "?".to_string(),
            name => name.chars().take(64).collect(),
        };
        let last_name = profile
            .last_name
            .as_deref()
            .map(str::trim)
            .filter(|name| !name.is_empty())
            .map(|name| name.chars().take(64).collect());
        if let Some(mut customer) = customer_by_telegram(self, org, profile.telegram_id)? {
            if customer.username != profile.username
                || customer.first_name != first_name
                || customer.last_name != last_name
            {
                let before = customer.full_name();
                customer.username = profile.username;
                customer.first_name = first_name;
                customer.last_name = last_name;
                save_customer(self, org, &customer)?;
                self.audit(
                    &Actor::customer(org, customer.id),
                    AuditAction::CustomerProfileChanged,
                    Subject::Customer(customer.id),
                    AuditDetail::Text(format!("{before} -> {}", customer.full_name())),
                )?;
            }
            return Ok(customer);
        }
        let language = match profile.language_code.as_deref() {
            Some(code) => Language::from_code(code),
            None => super::load_org(self, org)?.settings.locale,
        };
        let id = CustomerId(self.next_id(org, "customer")?);
        let customer = Customer {
            id,
            telegram_id: Some(profile.telegram_id),
            username: profile.username,
            first_name,
            last_name,
            phone: None,
            email: None,
            language,
            unreachable: false,
            unread: 0,
            created_at: self.now(),
            last_activity_at: self.now(),
        };
        save_customer(self, org, &customer)?;
        crate::services::analytics::aggregates::customer_created(self, org, &customer)?;
        self.audit(
            &Actor::customer(org, id),
            AuditAction::CustomerCreated,
            Subject::Customer(id),
            AuditDetail::Text(format!("telegram {}", profile.telegram_id)),
        )?;
        crate::webhooks::emit(
            self,
            org,
            crate::webhooks::WebhookEvent::customer_created(&customer),
        )?;
        Ok(customer)
    }

    /// Inserts a validated customer (import, manual entry). Needs `chat_customers` or the
    /// system actor.
    ///
    /// # Errors
    /// Permission denied; conflict when the Telegram id is taken.
    pub fn insert_customer(&mut self, actor: &Actor, customer: ValidCustomer) -> Result<Customer> {
        require(self, actor, Permission::ChatCustomers)?;
        if let Some(telegram_id) = customer.telegram_id
            && customer_by_telegram(self, actor.org, telegram_id)?.is_some()
        {
            return Err(Error::conflict(format!(
                "a customer with telegram id {telegram_id} exists"
            )));
        }
        let language = match customer.language {
            Some(language) => language,
            None => super::load_org(self, actor.org)?.settings.locale,
        };
        let id = CustomerId(self.next_id(actor.org, "customer")?);
        let record = Customer {
            id,
            telegram_id: customer.telegram_id,
            username: customer.username,
            first_name: customer.first_name,
            last_name: customer.last_name,
            phone: customer.phone,
            email: customer.email,
            language,
            unreachable: false,
            unread: 0,
            created_at: self.now(),
            last_activity_at: self.now(),
        };
        save_customer(self, actor.org, &record)?;
        crate::services::analytics::aggregates::customer_created(self, actor.org, &record)?;
        self.audit(
            actor,
            AuditAction::CustomerCreated,
            Subject::Customer(id),
            AuditDetail::Text(record.full_name()),
        )?;
        crate::webhooks::emit(
            self,
            actor.org,
            crate::webhooks::WebhookEvent::customer_created(&record),
        )?;
        Ok(record)
    }

    /// Sets the language the bot speaks to a customer (the customer themself, or staff with
    /// `chat_customers`).
    ///
    /// # Errors
    /// Not found; permission denied.
    pub fn set_customer_language(
        &mut self,
        actor: &Actor,
        customer: CustomerId,
        language: Language,
    ) -> Result<Customer> {
        if actor.who != ActorRef::Customer(customer) {
            require(self, actor, Permission::ChatCustomers)?;
        }
        let mut record = load_customer(self, actor.org, customer)?;
        let before = record.language;
        record.language = language;
        save_customer(self, actor.org, &record)?;
        self.audit(
            actor,
            AuditAction::CustomerLanguageChanged,
            Subject::Customer(customer),
            AuditDetail::Text(format!("{} -> {}", before.code(), language.code())),
        )?;
        Ok(record)
    }

    /// Marks a customer unreachable (Telegram answered 403: they blocked the bot) or reachable
    /// again (they wrote to the bot). Called by the outbox and the bot, as the system.
    pub(crate) fn set_customer_reachable(
        &mut self,
        org: OrgId,
        customer: CustomerId,
        reachable: bool,
    ) -> Result<()> {
        let mut record = load_customer(self, org, customer)?;
        if record.unreachable != reachable {
            return Ok(());
        }
        record.unreachable = !reachable;
        save_customer(self, org, &record)?;
        let action = if reachable {
            AuditAction::CustomerReachable
        } else {
            AuditAction::CustomerUnreachable
        };
        self.audit(
            &Actor::system(org),
            action,
            Subject::Customer(customer),
            AuditDetail::None,
        )?;
        Ok(())
    }
}

/// The customer with this id. Customers may read only themselves; staff need
/// `chat_customers` or `view_orders`.
///
/// # Errors
/// Not found; permission denied.
pub fn customer_in(view: &impl View, actor: &Actor, customer: CustomerId) -> Result<Customer> {
    if actor.who != ActorRef::Customer(customer) {
        let resolved = super::resolve(view, actor)?;
        if !resolved.has(Permission::ChatCustomers) && !resolved.has(Permission::ViewOrders) {
            return Err(Error::denied(
                Permission::ViewOrders,
                format!("{} may not see customers", actor.who),
            ));
        }
    }
    load_customer(view, actor.org, customer)
}

/// The most customers [`search_customers_in`] returns.
pub const CUSTOMER_SEARCH_MAX: usize = 20;

/// The fewest digits of a query that are matched against phone numbers (fewer would match
/// almost everyone).
const PHONE_QUERY_MIN_DIGITS: usize = 4;

/// Whether `customer` matches `query` (trimmed and lowercased, not empty): its number (`12`
/// or `#12`), a part of its name, Telegram username (with or without `@`) or email, ignoring
/// case, or, for four digits or more, a part of its phone number's digits.
fn customer_matches(customer: &Customer, query: &str, digits: &str) -> bool {
    let number = query.trim_start_matches('#');
    if number.parse::<u64>().is_ok_and(|id| id == customer.id.0) {
        return true;
    }
    let contains = |text: &str| text.to_lowercase().contains(query);
    if contains(&customer.full_name()) || customer.email.as_deref().is_some_and(contains) {
        return true;
    }
    let handle = query.trim_start_matches('@');
    if !handle.is_empty()
        && customer
            .username
            .as_deref()
            .is_some_and(|username| username.to_lowercase().contains(handle))
    {
        return true;
    }
    digits.len() >= PHONE_QUERY_MIN_DIGITS
        && customer.phone.as_deref().is_some_and(|phone| {
            let own: String = phone.chars().filter(char::is_ascii_digit).collect();
            own.contains(digits)
        })
}

/// Customers matching `query` (see `customer_matches`: number, name, username, email or
/// phone digits), oldest first, at most [`CUSTOMER_SEARCH_MAX`], without `except` (the
/// customer a merge keeps). Reads every customer of the organization until enough match: for
/// look-ups such as the merge page's, not for lists. Staff need `chat_customers` or
/// `view_orders`.
///
/// # Errors
/// Invalid input on `query` when it is empty or longer than 100 characters; permission
/// denied.
pub fn search_customers_in(
    view: &impl View,
    actor: &Actor,
    query: &str,
    except: Option<CustomerId>,
) -> Result<Vec<Customer>> {
    let resolved = super::resolve(view, actor)?;
    if !resolved.has(Permission::ChatCustomers) && !resolved.has(Permission::ViewOrders) {
        return Err(Error::denied(
            Permission::ViewOrders,
            format!("{} may not look customers up", actor.who),
        ));
    }
    let query = query.trim().to_lowercase();
    if query.is_empty() || query.chars().count() > 100 {
        return Err(Error::invalid(
            "query",
            "type 1 to 100 characters: a name, phone, @username, email or number",
        ));
    }
    let digits: String = query.chars().filter(char::is_ascii_digit).collect();
    let mut found = Vec::new();
    view.for_each_prefix(tables::CUSTOMERS, &Key::org(actor.org), |_, value| {
        let customer: Customer = crate::store::codec::decode(value)?;
        if Some(customer.id) != except && customer_matches(&customer, &query, &digits) {
            found.push(customer);
        }
        Ok(found.len() < CUSTOMER_SEARCH_MAX)
    })?;
    Ok(found)
}

impl Crm {
    /// See [`search_customers_in`]. Reads a snapshot.
    ///
    /// # Errors
    /// See [`search_customers_in`].
    pub fn search_customers(
        &self,
        actor: &Actor,
        query: &str,
        except: Option<CustomerId>,
    ) -> Result<Vec<Customer>> {
        self.read(|view| search_customers_in(view, actor, query, except))
    }

    /// Validates and inserts one customer.
    ///
    /// # Errors
    /// Invalid input; permission denied; conflict.
    pub fn create_customer(&self, actor: &Actor, customer: NewCustomer) -> Result<Customer> {
        let valid = customer.validate()?;
        let actor = actor.clone();
        self.write(move |tx| tx.insert_customer(&actor, valid))
    }

    /// See [`Tx::set_customer_language`].
    ///
    /// # Errors
    /// See [`Tx::set_customer_language`].
    pub fn set_customer_language(
        &self,
        actor: &Actor,
        customer: CustomerId,
        language: Language,
    ) -> Result<Customer> {
        let actor = actor.clone();
        self.write(move |tx| tx.set_customer_language(&actor, customer, language))
    }

    /// The customer with this id. Customers may read only themselves; staff need
    /// `chat_customers` or `view_orders`.
    ///
    /// # Errors
    /// Not found; permission denied.
    pub fn customer(&self, actor: &Actor, customer: CustomerId) -> Result<Customer> {
        self.read(|view| customer_in(view, actor, customer))
    }

    /// Customers by id, newest first, with keyset pagination.
    ///
    /// # Errors
    /// Permission denied (staff need `chat_customers` or `view_orders`).
    pub fn list_customers(&self, actor: &Actor, page: Page) -> Result<Paged<Customer>> {
        self.read(|view| {
            let resolved = super::resolve(view, actor)?;
            if !resolved.has(Permission::ChatCustomers) && !resolved.has(Permission::ViewOrders) {
                return Err(Error::denied(
                    Permission::ViewOrders,
                    format!("{} may not list customers", actor.who),
                ));
            }
            let prefix = Key::org(actor.org);
            let after = page
                .after
                .map(|after| Key::org(actor.org).u64(after).into_vec());
            let size = page.size();
            let mut items = Vec::with_capacity(size);
            let keys = view.keys_with_prefix(
                tables::CUSTOMERS,
                &prefix,
                after.as_deref(),
                true,
                size + 1,
            )?;
            for key in keys.iter().take(size) {
                items.push(load_customer(
                    view,
                    actor.org,
                    CustomerId(keys::tail_u64(key)),
                )?);
            }
            let next = if keys.len() > size {
                items.last().map(|c| c.id.0)
            } else {
                None
            };
            Ok(Paged { items, next })
        })
    }
}

impl crate::system::System<'_> {
    /// Every customer of `org`, oldest first (exports).
    pub fn all_customers(&self, org: OrgId) -> Result<Vec<Customer>> {
        self.crm
            .read(|view| view.records_with_prefix(tables::CUSTOMERS, &Key::org(org)))
    }

    /// The customer with this Telegram account, if any.
    pub fn customer_by_telegram(
        &self,
        org: OrgId,
        telegram_id: TelegramUserId,
    ) -> Result<Option<Customer>> {
        self.crm
            .read(|view| customer_by_telegram(view, org, telegram_id))
    }
}

impl crate::system::System<'_> {
    /// See [`System::upsert_telegram_customer`](crate::system::System::upsert_telegram_customer).
    ///
    /// # Errors
    /// Storage only.
    pub fn upsert_telegram_customer(
        &self,
        org: OrgId,
        profile: TelegramProfile,
    ) -> Result<Customer> {
        self.crm
            .write(move |tx| tx.upsert_telegram_customer(org, profile))
    }
}
