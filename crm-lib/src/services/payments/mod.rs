//! Payments for tokens (TeleKpr PRD 3.3), part of the `tokens` module: while it is off every
//! call here answers "not found".
//!
//! - **Settings** ([`PaymentSettings`], `payment_settings`): OxaPay's merchant key (a secret,
//!   written but shown only as its last 4 characters), their base URL, the token's price, the
//!   amounts offered and the invoices' lifetime.
//! - **Invoices** ([`Invoice`], `invoices`): asked for by a customer (the bot) or staff
//!   ([`Tx::request_invoice`]), Pending until the provider says paid, expired or failed. An
//!   OxaPay invoice is created at OxaPay by the appliance, which reads the pending ones
//!   without a track id ([`System::oxapay_work`]) and reports back
//!   ([`SystemTx::oxapay_invoice_created`], which queues the link to the customer).
//! - **Payment**: OxaPay's callback, checked against the merchant key
//!   ([`SystemTx::record_oxapay_callback`]), or the status the appliance polled
//!   ([`SystemTx::record_oxapay`]). Paid credits the ledger once: a repeat of a paid track
//!   id changes nothing; an unknown track id is refused and changes nothing.

mod oxapay;

pub use oxapay::{
    CALLBACK_MAX_BYTES, HMAC_HEADER, MERCHANT_KEY_HEADER, OxapayCallback, OxapayStatus,
    TRACK_ID_MAX_CHARS, oxapay_signature, signature_matches,
};

use crate::model::*;
use crate::store::declarations::provider_id_key;
use crate::store::{Key, ViewExt, keys, tables};
use crate::system::{System, SystemTx};
use crate::{Crm, Error, Result, Tx, View};

use super::tokens::{TOKENS_MAX, require_module};
use super::{load_customer, load_org, require, resolve};

/// The most purchase amounts offered.
pub const AMOUNTS_MAX: usize = 10;

/// The most invoices one list returns.
pub const INVOICES_PAGE_MAX: usize = 500;

/// The organization's payment settings (the defaults until first saved).
pub(crate) fn settings_of(view: &impl View, org: OrgId) -> Result<PaymentSettings> {
    Ok(view
        .get(tables::PAYMENT_SETTINGS, &Key::org(org))?
        .unwrap_or_default())
}

/// The invoice `id` of the organization.
/// The id of a pending invoice of `customer`, if they have one (a payment may still arrive
/// for it, and must credit the customer it names: a contact merge refuses to absorb such a
/// customer). Reads the organization's pending invoices, which are few: each is closed by
/// payment or by its lifetime.
pub(crate) fn pending_invoice_of(
    view: &impl View,
    org: OrgId,
    customer: CustomerId,
) -> Result<Option<u64>> {
    let pending: Vec<Invoice> = view.records_by_index(
        org,
        tables::INVOICES_PENDING,
        &Key::org(org),
        tables::INVOICES,
    )?;
    Ok(pending
        .into_iter()
        .find(|invoice| invoice.customer == customer)
        .map(|invoice| invoice.id))
}

fn load_invoice(view: &impl View, org: OrgId, id: u64) -> Result<Invoice> {
    view.get(tables::INVOICES, &Key::org(org).u64(id))?
        .ok_or_else(|| Error::not_found("invoice", id))
}

/// The invoice a provider's id names, if any.
fn invoice_by_provider_id(
    view: &impl View,
    org: OrgId,
    provider: PaymentProvider,
    id: &str,
) -> Result<Option<Invoice>> {
    let key = provider_id_key(org, provider, id);
    let found = view.get_raw(tables::INVOICES_BY_PROVIDER_ID, key.as_slice(), |bytes| {
        Ok(keys::read_u64(bytes, 0))
    })?;
    match found {
        Some(invoice) => load_invoice(view, org, invoice).map(Some),
        None => Ok(None),
    }
}

/// The payment settings as pages show them: the merchant key only as a hint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentSettingsView {
    /// `…` and the key's last 4 characters, or `None` when no key is set.
    pub merchant_key_hint: Option<String>,
    /// OxaPay's base URL.
    pub oxapay_base_url: String,
    /// Minor units of `currency` per token.
    pub token_price: u64,
    /// Stars per token (0: Stars off).
    pub stars_per_token: u64,
    /// The amounts offered, in tokens.
    pub amounts: Vec<u64>,
    /// Invoice lifetime in minutes.
    pub invoice_lifetime_minutes: u32,
    /// The organization's currency (ISO 4217).
    pub currency: String,
}

impl PaymentSettingsView {
    fn of(settings: &PaymentSettings, currency: &str) -> Self {
        PaymentSettingsView {
            merchant_key_hint: settings.merchant_key_hint(),
            oxapay_base_url: settings.oxapay_base_url.clone(),
            token_price: settings.token_price,
            stars_per_token: settings.stars_per_token,
            amounts: settings.amounts.clone(),
            invoice_lifetime_minutes: settings.invoice_lifetime_minutes,
            currency: currency.to_string(),
        }
    }
}

/// The payment settings; needs `manage_settings`.
///
/// # Errors
/// Not found while the tokens module is off; permission denied.
pub fn payment_settings_in(view: &impl View, actor: &Actor) -> Result<PaymentSettingsView> {
    let org = require_module(view, actor.org)?;
    require(view, actor, Permission::ManageSettings)?;
    Ok(PaymentSettingsView::of(
        &settings_of(view, actor.org)?,
        &org.settings.currency,
    ))
}

/// What the buy flow offers a customer: the amounts and the providers that are set up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentOffer {
    /// The amounts, in tokens.
    pub amounts: Vec<u64>,
    /// Minor units of `currency` per token.
    pub token_price: u64,
    /// The organization's currency.
    pub currency: String,
    /// Whether OxaPay is set up (a merchant key saved).
    pub oxapay: bool,
    /// Stars per token, 0 when Stars are off.
    pub stars_per_token: u64,
}

/// The purchase offer anyone of the organization may read (the bot's "Buy tokens").
///
/// # Errors
/// Not found while the tokens module is off.
pub fn payment_offer_in(view: &impl View, actor: &Actor) -> Result<PaymentOffer> {
    let org = require_module(view, actor.org)?;
    resolve(view, actor)?;
    let settings = settings_of(view, actor.org)?;
    Ok(PaymentOffer {
        oxapay: settings.oxapay_merchant_key.is_some(),
        amounts: settings.amounts,
        token_price: settings.token_price,
        currency: org.settings.currency,
        stars_per_token: settings.stars_per_token,
    })
}

/// The settings as typed on the settings page or the API.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct PaymentSettingsInput {
    /// A new merchant key (8-256 printable characters without spaces); `None` keeps the
    /// saved one, an empty text removes it.
    pub oxapay_merchant_key: Option<String>,
    /// OxaPay's base URL, `http://` or `https://`, at most 200 characters; empty: the
    /// default.
    pub oxapay_base_url: String,
    /// Minor units per token, 1 to 1,000,000,000.
    pub token_price: u64,
    /// Stars per token, 0 to 10,000 (0: Stars off).
    pub stars_per_token: u64,
    /// 1 to [`AMOUNTS_MAX`] amounts, each 1 to [`TOKENS_MAX`], no repeats (sorted on save).
    pub amounts: Vec<u64>,
    /// 15 to 2880 minutes (OxaPay's range).
    pub invoice_lifetime_minutes: u32,
}

impl std::fmt::Debug for PaymentSettingsInput {
    /// Never prints the merchant key.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PaymentSettingsInput")
            .field(
                "oxapay_merchant_key",
                &self.oxapay_merchant_key.as_ref().map(|_| "…"),
            )
            .field("oxapay_base_url", &self.oxapay_base_url)
            .field("token_price", &self.token_price)
            .field("stars_per_token", &self.stars_per_token)
            .field("amounts", &self.amounts)
            .field("invoice_lifetime_minutes", &self.invoice_lifetime_minutes)
            .finish()
    }
}

/// `input` checked against its rules, applied to `saved`.
fn checked_settings(
    input: PaymentSettingsInput,
    saved: &PaymentSettings,
) -> Result<PaymentSettings> {
    let merchant_key = match input.oxapay_merchant_key.as_deref().map(str::trim) {
        None => saved.oxapay_merchant_key.clone(),
        Some("") => None,
        Some(key) => {
            if !(8..=256).contains(&key.chars().count())
                || key.chars().any(|c| c.is_whitespace() || c.is_control())
            {
                return Err(Error::invalid(
                    "oxapay_merchant_key",
                    "a merchant key is 8-256 characters without spaces (OxaPay's merchant API key)",
                ));
            }
            Some(key.to_string())
        }
    };
    let base_url = input.oxapay_base_url.trim().trim_end_matches('/');
    let base_url = if base_url.is_empty() {
        OXAPAY_DEFAULT_BASE_URL.to_string()
    } else if (base_url.starts_with("https://") || base_url.starts_with("http://"))
        && base_url.len() <= 200
        && !base_url
            .chars()
            .any(|c| c.is_whitespace() || c.is_control())
    {
        base_url.to_string()
    } else {
        return Err(Error::invalid(
            "oxapay_base_url",
            "the base URL starts with https:// (or http://) and has at most 200 characters",
        ));
    };
    if !(1..=TOKENS_MAX).contains(&input.token_price) {
        return Err(Error::invalid(
            "token_price",
            format!("a token's price is 1 to {TOKENS_MAX} minor units"),
        ));
    }
    if input.stars_per_token > 10_000 {
        return Err(Error::invalid(
            "stars_per_token",
            "a token costs 0 to 10000 Stars",
        ));
    }
    let mut amounts = input.amounts;
    amounts.sort_unstable();
    amounts.dedup();
    if amounts.is_empty()
        || amounts.len() > AMOUNTS_MAX
        || amounts
            .iter()
            .any(|amount| !(1..=TOKENS_MAX).contains(amount))
    {
        return Err(Error::invalid(
            "amounts",
            format!("1 to {AMOUNTS_MAX} amounts, each 1 to {TOKENS_MAX} tokens"),
        ));
    }
    if !(15..=2880).contains(&input.invoice_lifetime_minutes) {
        return Err(Error::invalid(
            "invoice_lifetime_minutes",
            "an invoice lives 15 to 2880 minutes (OxaPay's range)",
        ));
    }
    Ok(PaymentSettings {
        oxapay_merchant_key: merchant_key,
        oxapay_base_url: base_url,
        token_price: input.token_price,
        stars_per_token: input.stars_per_token,
        amounts,
        invoice_lifetime_minutes: input.invoice_lifetime_minutes,
    })
}

/// The outcome of a reported payment status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PaymentOutcome {
    /// The invoice was paid now and credited by this ledger entry.
    Credited {
        /// The invoice.
        invoice: u64,
        /// The ledger entry.
        entry: u64,
    },
    /// The invoice was already paid: nothing changed.
    Repeat,
    /// The invoice was marked expired or failed.
    Closed(InvoiceState),
    /// Nothing to change (a status on the way to paid, or about a closed invoice).
    Unchanged,
}

/// Filters of [`invoices_in`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InvoiceFilter {
    /// Only this state.
    pub state: Option<InvoiceState>,
    /// Only this customer's.
    pub customer: Option<CustomerId>,
    /// Only this provider's.
    pub provider: Option<PaymentProvider>,
    /// Created at or after.
    pub from: Option<Timestamp>,
    /// Created before.
    pub to: Option<Timestamp>,
    /// Only the invoice a ledger entry's `payment` names (`oxapay:<track id>`,
    /// `stars:<charge id>`).
    pub payment: Option<String>,
}

/// The organization's invoices matching `filter`, newest first, at most
/// [`INVOICES_PAGE_MAX`]. Staff with `manage_billing`; a customer sees their own.
///
/// # Errors
/// Not found while the module is off; permission denied.
pub fn invoices_in(
    view: &impl View,
    actor: &Actor,
    filter: &InvoiceFilter,
) -> Result<Vec<Invoice>> {
    require_module(view, actor.org)?;
    let own = match actor.who {
        ActorRef::Customer(customer) => Some(customer),
        _ => {
            require(view, actor, Permission::ManageBilling)?;
            None
        }
    };
    let mut invoices: Vec<Invoice> =
        view.records_with_prefix(tables::INVOICES, &Key::org(actor.org))?;
    invoices.retain(|invoice| {
        own.is_none_or(|customer| invoice.customer == customer)
            && filter.state.is_none_or(|state| invoice.state == state)
            && filter
                .customer
                .is_none_or(|customer| invoice.customer == customer)
            && filter
                .provider
                .is_none_or(|provider| invoice.provider == provider)
            && filter.from.is_none_or(|from| invoice.created_at >= from)
            && filter.to.is_none_or(|to| invoice.created_at < to)
            && filter.payment.as_deref().is_none_or(|payment| {
                invoice.provider_id.is_some() && payment_name(invoice) == payment
            })
    });
    invoices.reverse();
    invoices.truncate(INVOICES_PAGE_MAX);
    Ok(invoices)
}

/// One invoice: staff with `manage_billing`, or the customer it is for.
///
/// # Errors
/// Not found while the module is off, for an unknown invoice or another customer's;
/// permission denied.
pub fn invoice_in(view: &impl View, actor: &Actor, id: u64) -> Result<Invoice> {
    require_module(view, actor.org)?;
    let invoice = load_invoice(view, actor.org, id)?;
    match actor.who {
        ActorRef::Customer(customer) if customer == invoice.customer => Ok(invoice),
        ActorRef::Customer(_) => Err(Error::not_found("invoice", id)),
        _ => {
            require(view, actor, Permission::ManageBilling)?;
            Ok(invoice)
        }
    }
}

/// A mismatch the reconciliation report found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mismatch {
    /// A paid invoice whose ledger entry is missing or is not its purchase.
    PaidWithoutCredit {
        /// The invoice.
        invoice: u64,
    },
    /// A purchase entry whose payment names no invoice of the organization.
    CreditWithoutInvoice {
        /// The ledger entry.
        entry: u64,
        /// What it names (`oxapay:<track id>`).
        payment: String,
    },
}

/// The reconciliation report of a period.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reconciliation {
    /// Invoices created in the period, by state: (state, count, tokens, amount).
    pub by_state: Vec<(InvoiceState, u64, u64, u64)>,
    /// The paid invoices of the period with their ledger entry.
    pub paid: Vec<(Invoice, Option<LedgerEntry>)>,
    /// What does not add up, over the whole ledger of the period.
    pub mismatches: Vec<Mismatch>,
}

/// Invoices created in `[from, to)` by state, the paid ones with their ledger entry, and the
/// mismatches: a paid invoice without its credit, a purchase entry (of the period) naming an
/// unknown invoice. Needs `manage_billing`.
///
/// # Errors
/// Not found while the module is off; permission denied.
pub fn reconciliation_in(
    view: &impl View,
    actor: &Actor,
    from: Timestamp,
    to: Timestamp,
) -> Result<Reconciliation> {
    require_module(view, actor.org)?;
    require(view, actor, Permission::ManageBilling)?;
    let org = actor.org;
    let invoices: Vec<Invoice> = view.records_with_prefix(tables::INVOICES, &Key::org(org))?;
    let mut report = Reconciliation::default();
    for invoice in invoices
        .iter()
        .filter(|invoice| invoice.created_at >= from && invoice.created_at < to)
    {
        match report
            .by_state
            .iter_mut()
            .find(|(state, ..)| *state == invoice.state)
        {
            Some(row) => {
                row.1 += 1;
                row.2 += invoice.tokens;
                row.3 += invoice.amount;
            }
            None => report
                .by_state
                .push((invoice.state, 1, invoice.tokens, invoice.amount)),
        }
        if matches!(invoice.state, InvoiceState::Paid | InvoiceState::Refunded) {
            let entry: Option<LedgerEntry> = match invoice.ledger_entry {
                Some(entry) => view.get(tables::LEDGER, &Key::org(org).u64(entry))?,
                None => None,
            };
            let credited = entry.as_ref().is_some_and(|entry| {
                entry.kind == LedgerKind::Purchase
                    && entry.customer == invoice.customer
                    && entry.payment.as_deref() == Some(payment_name(invoice).as_str())
            });
            if !credited {
                report.mismatches.push(Mismatch::PaidWithoutCredit {
                    invoice: invoice.id,
                });
            }
            report.paid.push((invoice.clone(), entry));
        }
    }
    report.by_state.sort_by_key(|row| row.0.as_str());
    let entries: Vec<LedgerEntry> = view.records_with_prefix(tables::LEDGER, &Key::org(org))?;
    for entry in entries
        .iter()
        .filter(|entry| entry.kind == LedgerKind::Purchase && entry.at >= from && entry.at < to)
    {
        let Some(payment) = entry.payment.as_deref() else {
            continue;
        };
        let known = payment.split_once(':').is_some_and(|(provider, id)| {
            PaymentProvider::parse(provider).is_some_and(|provider| {
                invoices.iter().any(|invoice| {
                    invoice.provider == provider && invoice.provider_id.as_deref() == Some(id)
                })
            })
        });
        // Entries of other payment sources (staff tests, `crm`'s demo) name no provider.
        if PaymentProvider::parse(payment.split(':').next().unwrap_or_default()).is_some() && !known
        {
            report.mismatches.push(Mismatch::CreditWithoutInvoice {
                entry: entry.id,
                payment: payment.to_string(),
            });
        }
    }
    Ok(report)
}

/// What a ledger entry's `payment` says of the invoice: `oxapay:<track id>`.
fn payment_name(invoice: &Invoice) -> String {
    format!(
        "{}:{}",
        invoice.provider.as_str(),
        invoice.provider_id.as_deref().unwrap_or_default()
    )
}

/// What the appliance needs to call OxaPay for an organization.
#[derive(Clone, PartialEq, Eq)]
pub struct OxapayConfig {
    /// The merchant key (a secret: never log it).
    pub merchant_key: String,
    /// The base URL, without a trailing slash.
    pub base_url: String,
    /// Invoice lifetime in minutes.
    pub lifetime_minutes: u32,
}

impl std::fmt::Debug for OxapayConfig {
    /// Never prints the merchant key.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OxapayConfig")
            .field("base_url", &self.base_url)
            .field("lifetime_minutes", &self.lifetime_minutes)
            .finish_non_exhaustive()
    }
}

/// The OxaPay work waiting in an organization.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OxapayWork {
    /// The configuration; `None` when the module is off or no key is set (nothing to do).
    pub config: Option<OxapayConfig>,
    /// Pending OxaPay invoices not yet created at OxaPay, oldest first.
    pub to_create: Vec<Invoice>,
    /// Pending OxaPay invoices with a track id, oldest first (to poll).
    pub to_poll: Vec<Invoice>,
}

impl System<'_> {
    /// See [`SystemTx::oxapay_invoice_created`], in a write of its own.
    ///
    /// # Errors
    /// See [`SystemTx::oxapay_invoice_created`].
    pub fn oxapay_invoice_created(
        &self,
        org: OrgId,
        invoice: u64,
        track_id: &str,
        pay_link: &str,
    ) -> Result<Invoice> {
        let (track_id, pay_link) = (track_id.to_string(), pay_link.to_string());
        self.crm.write(move |tx| {
            tx.system()
                .oxapay_invoice_created(org, invoice, &track_id, &pay_link)
        })
    }

    /// See [`SystemTx::oxapay_create_failed`], in a write of its own, at the current time.
    ///
    /// # Errors
    /// See [`SystemTx::oxapay_create_failed`].
    pub fn oxapay_create_failed(&self, org: OrgId, invoice: u64, reason: &str) -> Result<bool> {
        let reason = reason.to_string();
        self.crm.write(move |tx| {
            tx.system()
                .oxapay_create_failed(org, invoice, &reason, Timestamp::now())
        })
    }

    /// See [`SystemTx::record_oxapay_callback`], in a write of its own.
    ///
    /// # Errors
    /// See [`SystemTx::record_oxapay_callback`].
    pub fn record_oxapay_callback(
        &self,
        org: OrgId,
        body: &[u8],
        hmac: Option<&str>,
    ) -> Result<PaymentOutcome> {
        let (body, hmac) = (body.to_vec(), hmac.map(str::to_string));
        self.crm.write(move |tx| {
            tx.system()
                .record_oxapay_callback(org, &body, hmac.as_deref())
        })
    }

    /// See [`SystemTx::record_oxapay`], in a write of its own.
    ///
    /// # Errors
    /// See [`SystemTx::record_oxapay`].
    pub fn record_oxapay(
        &self,
        org: OrgId,
        track_id: &str,
        status: &str,
    ) -> Result<PaymentOutcome> {
        let (track_id, status) = (track_id.to_string(), status.to_string());
        self.crm
            .write(move |tx| tx.system().record_oxapay(org, &track_id, &status))
    }

    /// Whether `org` runs payments (its tokens module is on).
    ///
    /// # Errors
    /// Not found for an unknown organization.
    pub fn payments_on(&self, org: OrgId) -> Result<bool> {
        self.crm.read(|view| payments_on(view, org))
    }

    /// The OxaPay work of `org` (one read): its configuration and pending invoices.
    ///
    /// # Errors
    /// Storage only; an organization without the module or a key has nothing to do.
    pub fn oxapay_work(&self, org: OrgId) -> Result<OxapayWork> {
        self.crm.read(|view| {
            if require_module(view, org).is_err()
                || !crate::services::tenants::is_enabled_in(view, org)?
            {
                return Ok(OxapayWork::default());
            }
            let settings = settings_of(view, org)?;
            let Some(merchant_key) = settings.oxapay_merchant_key else {
                return Ok(OxapayWork::default());
            };
            let pending: Vec<Invoice> = view.records_by_index(
                org,
                tables::INVOICES_PENDING,
                &Key::org(org),
                tables::INVOICES,
            )?;
            let (to_poll, to_create) = pending
                .into_iter()
                .filter(|invoice| invoice.provider == PaymentProvider::OxaPay)
                .partition(|invoice| invoice.provider_id.is_some());
            Ok(OxapayWork {
                config: Some(OxapayConfig {
                    merchant_key,
                    base_url: settings.oxapay_base_url,
                    lifetime_minutes: settings.invoice_lifetime_minutes,
                }),
                to_create,
                to_poll,
            })
        })
    }
}

impl Tx<'_> {
    /// Saves the payment settings (`manage_settings`), audited `payment.settings_changed`
    /// without the key.
    ///
    /// # Errors
    /// Not found while the module is off; permission denied; invalid input on the field
    /// that breaks its rule (see [`PaymentSettingsInput`]).
    pub fn save_payment_settings(
        &mut self,
        actor: &Actor,
        input: PaymentSettingsInput,
    ) -> Result<PaymentSettingsView> {
        let org = require_module(self, actor.org)?;
        require(self, actor, Permission::ManageSettings)?;
        let saved = settings_of(self, actor.org)?;
        let settings = checked_settings(input, &saved)?;
        self.save_record(&Key::org(actor.org), &settings)?;
        self.audit(
            actor,
            AuditAction::PaymentSettingsChanged,
            Subject::Organization,
            AuditDetail::Text(format!(
                "token price {}, amounts {:?}, merchant key {}",
                settings.token_price,
                settings.amounts,
                if settings.oxapay_merchant_key.is_some() {
                    "set"
                } else {
                    "none"
                }
            )),
        )?;
        self.changed(actor.org, Subject::Organization, ChangeKind::Updated)?;
        Ok(PaymentSettingsView::of(&settings, &org.settings.currency))
    }

    /// Asks for an invoice of `tokens` tokens for `customer` through `provider`: a customer
    /// for themselves (one of the amounts offered), staff with `manage_billing` for anyone
    /// (1 to [`TOKENS_MAX`]). The invoice is Pending; an OxaPay one is then created at
    /// OxaPay by the appliance ([`System::oxapay_work`]); a Stars one is sent to the
    /// customer at once ([`OutboxPayload::StarsInvoice`]). Audited `payment.invoice_created`.
    ///
    /// # Errors
    /// Not found while the module is off or for an unknown customer (or another customer's);
    /// permission denied; invalid input on `tokens`; conflict when the provider is not set
    /// up (no merchant key, Stars off).
    pub fn request_invoice(
        &mut self,
        actor: &Actor,
        customer: CustomerId,
        tokens: u64,
        provider: PaymentProvider,
    ) -> Result<Invoice> {
        let org = require_module(self, actor.org)?;
        let settings = settings_of(self, actor.org)?;
        match actor.who {
            ActorRef::Customer(own) if own == customer => {
                if !settings.amounts.contains(&tokens) {
                    return Err(Error::invalid(
                        "tokens",
                        format!("choose one of the amounts offered: {:?}", settings.amounts),
                    ));
                }
            }
            ActorRef::Customer(_) => return Err(Error::not_found(CustomerId::LABEL, customer)),
            _ => {
                require(self, actor, Permission::ManageBilling)?;
                if !(1..=TOKENS_MAX).contains(&tokens) {
                    return Err(Error::invalid(
                        "tokens",
                        format!("an invoice is for 1 to {TOKENS_MAX} tokens"),
                    ));
                }
            }
        }
        load_customer(self, actor.org, customer)?;
        let (amount, currency) = match provider {
            PaymentProvider::OxaPay => {
                if settings.oxapay_merchant_key.is_none() {
                    return Err(Error::conflict(
                        "OxaPay is not set up: no merchant key is saved",
                    ));
                }
                (
                    tokens.saturating_mul(settings.token_price),
                    org.settings.currency.clone(),
                )
            }
            PaymentProvider::Stars => {
                if settings.stars_per_token == 0 {
                    return Err(Error::conflict("payments in Stars are switched off"));
                }
                (
                    tokens.saturating_mul(settings.stars_per_token),
                    "XTR".to_string(),
                )
            }
        };
        let id = self.next_id(actor.org, "invoice")?;
        let invoice = Invoice {
            id,
            customer,
            provider,
            tokens,
            amount,
            currency,
            state: InvoiceState::Pending,
            provider_id: None,
            pay_link: None,
            created_at: self.now(),
            paid_at: None,
            ledger_entry: None,
            provider_status: None,
        };
        self.insert_record(&Key::org(actor.org).u64(id), &invoice)?;
        if provider == PaymentProvider::Stars {
            self.enqueue(
                actor.org,
                Recipient::Customer(customer),
                OutboxPayload::StarsInvoice {
                    invoice: id,
                    tokens,
                    amount,
                },
            )?;
        }
        self.audit(
            actor,
            AuditAction::PaymentInvoiceCreated,
            Subject::Customer(customer),
            AuditDetail::Text(format!(
                "invoice {id}: {tokens} tokens by {}",
                provider.as_str()
            )),
        )?;
        self.changed(actor.org, Subject::Customer(customer), ChangeKind::Updated)?;
        Ok(invoice)
    }
}

/// Credits a paid invoice once: the purchase entry, the invoice (`after`, the provider's
/// figures already set) marked Paid with its entry, the audit entry (`payment.succeeded`, as
/// the system) and the `payment.succeeded` webhook. Both providers' payments end here.
fn mark_paid(
    tx: &mut Tx<'_>,
    org: OrgId,
    before: &Invoice,
    mut after: Invoice,
) -> Result<PaymentOutcome> {
    let payment = payment_name(&after);
    let entry = tx.system().credit_purchase(
        org,
        before.customer,
        before.tokens,
        &payment,
        &format!("invoice {}: {} tokens", before.id, before.tokens),
    )?;
    after.state = InvoiceState::Paid;
    after.paid_at = Some(tx.now());
    after.ledger_entry = Some(entry.id);
    tx.update_record(&Key::org(org).u64(before.id), before, &after)?;
    tx.audit(
        &Actor::system(org),
        AuditAction::PaymentSucceeded,
        Subject::Customer(before.customer),
        AuditDetail::Text(format!(
            "invoice {}: {} tokens, {payment}, ledger entry {}",
            before.id, before.tokens, entry.id
        )),
    )?;
    crate::webhooks::emit(
        tx,
        org,
        crate::webhooks::WebhookEvent::PaymentSucceeded {
            payment,
            customer: before.customer,
            amount: Money::from_minor(i64::try_from(before.amount).unwrap_or(i64::MAX)),
            currency: before.currency.clone(),
        },
    )?;
    Ok(PaymentOutcome::Credited {
        invoice: before.id,
        entry: entry.id,
    })
}

/// Refuses an invoice that is not a pending OxaPay one still waiting for its track id: the
/// only invoice OxaPay's answer to a creation, or its failure, may change.
///
/// # Errors
/// Conflict, naming the invoice.
fn waiting_for_track_id(invoice: &Invoice) -> Result<()> {
    if invoice.provider != PaymentProvider::OxaPay
        || invoice.state != InvoiceState::Pending
        || invoice.provider_id.is_some()
    {
        return Err(Error::conflict(format!(
            "invoice {} is not a pending OxaPay invoice waiting for its track id",
            invoice.id
        )));
    }
    Ok(())
}

impl SystemTx<'_, '_> {
    /// Records what OxaPay answered for invoice `invoice`: its `track_id` and `payment_url`,
    /// and queues the link to the customer ([`Event::InvoiceReady`]). A repeat with the same
    /// track id changes nothing.
    ///
    /// # Errors
    /// Not found while the module is off or for an unknown invoice; invalid input on an
    /// empty or too long track id or a link that is not `https://` or `http://`; conflict
    /// when the invoice is not a pending OxaPay one, already has another track id, or the
    /// track id is another invoice's.
    pub fn oxapay_invoice_created(
        &mut self,
        org: OrgId,
        invoice: u64,
        track_id: &str,
        pay_link: &str,
    ) -> Result<Invoice> {
        let tx = &mut *self.tx;
        require_module(tx, org)?;
        let before = load_invoice(tx, org, invoice)?;
        let track_id = track_id.trim();
        if track_id.is_empty() || track_id.chars().count() > TRACK_ID_MAX_CHARS {
            return Err(Error::invalid(
                "track_id",
                "a track_id is 1 to 128 characters",
            ));
        }
        if !(pay_link.starts_with("https://") || pay_link.starts_with("http://"))
            || pay_link.len() > 2048
        {
            return Err(Error::invalid(
                "payment_url",
                "the payment link is not a web address",
            ));
        }
        if before.provider_id.as_deref() == Some(track_id) {
            return Ok(before);
        }
        waiting_for_track_id(&before)?;
        if invoice_by_provider_id(tx, org, PaymentProvider::OxaPay, track_id)?.is_some() {
            return Err(Error::conflict(format!(
                "track id {track_id} is another invoice's"
            )));
        }
        let mut after = before.clone();
        after.provider_id = Some(track_id.to_string());
        after.pay_link = Some(pay_link.to_string());
        tx.update_record(&Key::org(org).u64(invoice), &before, &after)?;
        tx.enqueue(
            org,
            Recipient::Customer(after.customer),
            OutboxPayload::Notify(Event::InvoiceReady {
                invoice,
                tokens: after.tokens,
                amount: after.amount,
                currency: after.currency.clone(),
                link: pay_link.to_string(),
            }),
        )?;
        tx.changed(org, Subject::Customer(after.customer), ChangeKind::Updated)?;
        Ok(after)
    }

    /// Records that OxaPay could not create invoice `invoice` (refused, unreachable, an
    /// answer without a link): the invoice stays pending for the next try while it is
    /// younger than the organization's invoice lifetime
    /// ([`PaymentSettings::invoice_lifetime_minutes`], OxaPay's own `lifetime`), since a link
    /// made later would outlive what the customer was offered; at `now` past that it is
    /// closed as failed (`payment.failed`, as the
    /// system, the audit entry keeping the first 200 characters of `reason`), its provider
    /// status `not_created`, and the customer is told ([`Event::InvoiceFailed`]). Returns
    /// whether it was closed.
    ///
    /// # Errors
    /// Not found while the module is off or for an unknown invoice; conflict when the invoice
    /// is not a pending OxaPay one still waiting for its track id (nothing changes).
    pub fn oxapay_create_failed(
        &mut self,
        org: OrgId,
        invoice: u64,
        reason: &str,
        now: Timestamp,
    ) -> Result<bool> {
        let tx = &mut *self.tx;
        require_module(tx, org)?;
        let before = load_invoice(tx, org, invoice)?;
        waiting_for_track_id(&before)?;
        let lifetime = settings_of(tx, org)?.invoice_lifetime_minutes;
        if now < before.created_at.plus_millis(i64::from(lifetime) * 60_000) {
            return Ok(false);
        }
        let mut after = before.clone();
        after.state = InvoiceState::Failed;
        after.provider_status = Some("not_created".to_string());
        tx.update_record(&Key::org(org).u64(invoice), &before, &after)?;
        tx.audit(
            &Actor::system(org),
            AuditAction::PaymentFailed,
            Subject::Customer(before.customer),
            AuditDetail::Text(format!(
                "invoice {invoice}: not created at OxaPay within {lifetime} minutes: {}",
                reason.trim().chars().take(200).collect::<String>()
            )),
        )?;
        tx.enqueue(
            org,
            Recipient::Customer(before.customer),
            OutboxPayload::Notify(Event::InvoiceFailed {
                invoice,
                tokens: before.tokens,
            }),
        )?;
        tx.changed(org, Subject::Customer(before.customer), ChangeKind::Updated)?;
        Ok(true)
    }

    /// Checks an OxaPay callback (its raw `body` and `HMAC` header) against the merchant
    /// key and applies its status ([`SystemTx::record_oxapay`]).
    ///
    /// # Errors
    /// Not found while the module is off, or for an unknown track id; permission denied
    /// (forbidden) when no key is set or the signature does not match; invalid input on a
    /// body that is not a callback. Nothing is written on any error.
    pub fn record_oxapay_callback(
        &mut self,
        org: OrgId,
        body: &[u8],
        hmac: Option<&str>,
    ) -> Result<PaymentOutcome> {
        require_module(self.tx, org)?;
        let settings = settings_of(self.tx, org)?;
        let Some(key) = settings.oxapay_merchant_key.as_deref() else {
            return Err(Error::forbidden(
                "no OxaPay merchant key is set: callbacks cannot be checked",
            ));
        };
        if !hmac.is_some_and(|signature| signature_matches(key, body, signature)) {
            return Err(Error::forbidden(
                "the callback's HMAC does not match the merchant key",
            ));
        }
        let callback = OxapayCallback::parse(body)?;
        self.record_oxapay(org, &callback.track_id, &callback.status)
    }

    /// Applies an OxaPay status (a verified callback's, or one the appliance polled) to the
    /// invoice of `track_id`: paid credits the ledger once (`payment.succeeded` and the
    /// ledger's `tokens.purchased`, as the system; the customer is told); a repeat of a paid
    /// invoice changes nothing; expired and failed close a pending invoice
    /// (`payment.failed`); other statuses are recorded on the invoice only.
    ///
    /// # Errors
    /// Not found while the module is off or for an unknown track id (nothing changes).
    pub fn record_oxapay(
        &mut self,
        org: OrgId,
        track_id: &str,
        status: &str,
    ) -> Result<PaymentOutcome> {
        require_module(self.tx, org)?;
        let before =
            invoice_by_provider_id(self.tx, org, PaymentProvider::OxaPay, track_id.trim())?
                .ok_or_else(|| Error::not_found("track id", track_id.trim()))?;
        let key = Key::org(org).u64(before.id);
        let status_text: String = status.trim().chars().take(32).collect();
        match (OxapayStatus::parse(status), before.state) {
            (_, InvoiceState::Paid | InvoiceState::Refunded) => Ok(PaymentOutcome::Repeat),
            (OxapayStatus::Paid, _) => {
                let mut after = before.clone();
                after.provider_status = Some(status_text);
                mark_paid(self.tx, org, &before, after)
            }
            (OxapayStatus::Expired | OxapayStatus::Failed, InvoiceState::Pending) => {
                let state = if OxapayStatus::parse(status) == OxapayStatus::Expired {
                    InvoiceState::Expired
                } else {
                    InvoiceState::Failed
                };
                let tx = &mut *self.tx;
                let mut after = before.clone();
                after.state = state;
                after.provider_status = Some(status_text);
                tx.update_record(&key, &before, &after)?;
                tx.audit(
                    &Actor::system(org),
                    AuditAction::PaymentFailed,
                    Subject::Customer(before.customer),
                    AuditDetail::Text(format!("invoice {}: {}", before.id, state.as_str())),
                )?;
                tx.changed(org, Subject::Customer(before.customer), ChangeKind::Updated)?;
                Ok(PaymentOutcome::Closed(state))
            }
            _ => {
                if before.provider_status.as_deref() != Some(status_text.as_str()) {
                    let mut after = before.clone();
                    after.provider_status = Some(status_text);
                    self.tx.update_record(&key, &before, &after)?;
                }
                Ok(PaymentOutcome::Unchanged)
            }
        }
    }
}

/// The Stars invoice a payload names (Telegram sends back the invoice id as text).
fn stars_invoice_of(view: &impl View, actor: &Actor, payload: &str) -> Result<Invoice> {
    let id: u64 = payload
        .trim()
        .parse()
        .map_err(|_| Error::not_found("invoice", payload.trim()))?;
    let invoice = load_invoice(view, actor.org, id)?;
    match actor.who {
        ActorRef::Customer(customer)
            if customer == invoice.customer && invoice.provider == PaymentProvider::Stars =>
        {
            Ok(invoice)
        }
        _ => Err(Error::not_found("invoice", id)),
    }
}

impl Tx<'_> {
    /// Telegram's pre-checkout question for a Stars invoice (`pre_checkout_query`): whether
    /// the customer `actor` may pay invoice `payload` with `total_amount` in `currency`.
    /// Writes nothing; the bot answers with `answerPreCheckoutQuery`.
    ///
    /// # Errors
    /// Not found while the module is off or for an unknown invoice (or another customer's,
    /// or not a Stars one); conflict when it is not pending; invalid input on `total_amount`
    /// or `currency` when they differ from the invoice's.
    pub fn pre_checkout(
        &mut self,
        actor: &Actor,
        payload: &str,
        total_amount: u64,
        currency: &str,
    ) -> Result<()> {
        require_module(self, actor.org)?;
        let invoice = stars_invoice_of(self, actor, payload)?;
        if invoice.state != InvoiceState::Pending {
            return Err(Error::conflict(format!(
                "invoice {} is {}, not pending",
                invoice.id,
                invoice.state.as_str()
            )));
        }
        if currency != invoice.currency || total_amount != invoice.amount {
            return Err(Error::invalid(
                "total_amount",
                format!(
                    "invoice {} is for {} {}, not {total_amount} {currency}",
                    invoice.id, invoice.amount, invoice.currency
                ),
            ));
        }
        Ok(())
    }

    /// A Stars payment arrived (`successful_payment` with `telegram_payment_charge_id`):
    /// credits the invoice's tokens once (`payment.succeeded`, the ledger's
    /// `tokens.purchased`; the customer is told). The same charge id again changes nothing.
    ///
    /// # Errors
    /// Not found while the module is off or for an unknown invoice; invalid input on an
    /// empty or too long charge id or an amount that differs from the invoice's; conflict
    /// when the invoice was paid with another charge or is closed.
    pub fn stars_paid(
        &mut self,
        actor: &Actor,
        payload: &str,
        charge_id: &str,
        total_amount: u64,
    ) -> Result<PaymentOutcome> {
        require_module(self, actor.org)?;
        let org = actor.org;
        let charge_id = charge_id.trim();
        if charge_id.is_empty() || charge_id.chars().count() > TRACK_ID_MAX_CHARS {
            return Err(Error::invalid(
                "telegram_payment_charge_id",
                "a charge id is 1 to 128 characters",
            ));
        }
        if invoice_by_provider_id(self, org, PaymentProvider::Stars, charge_id)?.is_some() {
            return Ok(PaymentOutcome::Repeat);
        }
        let before = stars_invoice_of(self, actor, payload)?;
        if before.state != InvoiceState::Pending && before.state != InvoiceState::Expired {
            return Err(Error::conflict(format!(
                "invoice {} is {}",
                before.id,
                before.state.as_str()
            )));
        }
        if total_amount != before.amount {
            return Err(Error::invalid(
                "total_amount",
                format!("invoice {} is for {} Stars", before.id, before.amount),
            ));
        }
        let mut after = before.clone();
        after.provider_id = Some(charge_id.to_string());
        mark_paid(self, org, &before, after)
    }

    /// Refunds a paid Stars invoice (`manage_billing`): takes its tokens back (an adjustment
    /// of minus the tokens, refused when the balance does not hold them), marks it Refunded
    /// and queues `refundStarPayment`. Audited `payment.refunded`.
    ///
    /// # Errors
    /// Not found while the module is off or for an unknown invoice; permission denied;
    /// conflict when it is not a paid Stars invoice or the balance is short.
    pub fn refund_stars(&mut self, actor: &Actor, invoice: u64) -> Result<Invoice> {
        require_module(self, actor.org)?;
        require(self, actor, Permission::ManageBilling)?;
        let org = actor.org;
        let before = load_invoice(self, org, invoice)?;
        let (PaymentProvider::Stars, InvoiceState::Paid, Some(charge_id)) =
            (before.provider, before.state, before.provider_id.clone())
        else {
            return Err(Error::conflict(format!(
                "invoice {invoice} is not a paid Stars invoice"
            )));
        };
        let tokens = i64::try_from(before.tokens).unwrap_or(i64::MAX);
        super::tokens::append_entry(
            self,
            actor,
            before.customer,
            LedgerKind::Adjustment,
            -tokens,
            &format!("refund of invoice {invoice}"),
        )?;
        let mut after = before.clone();
        after.state = InvoiceState::Refunded;
        self.update_record(&Key::org(org).u64(invoice), &before, &after)?;
        self.enqueue(
            org,
            Recipient::Customer(before.customer),
            OutboxPayload::RefundStars { charge_id },
        )?;
        self.audit(
            actor,
            AuditAction::PaymentRefunded,
            Subject::Customer(before.customer),
            AuditDetail::Text(format!("invoice {invoice}: {} tokens", before.tokens)),
        )?;
        Ok(after)
    }
}

impl Crm {
    /// See [`Tx::refund_stars`].
    ///
    /// # Errors
    /// See [`Tx::refund_stars`].
    pub fn refund_stars(&self, actor: &Actor, invoice: u64) -> Result<Invoice> {
        let actor = actor.clone();
        self.write(move |tx| tx.refund_stars(&actor, invoice))
    }

    /// See [`Tx::pre_checkout`].
    ///
    /// # Errors
    /// See [`Tx::pre_checkout`].
    pub fn pre_checkout(
        &self,
        actor: &Actor,
        payload: &str,
        total_amount: u64,
        currency: &str,
    ) -> Result<()> {
        let (actor, payload, currency) = (actor.clone(), payload.to_string(), currency.to_string());
        self.write(move |tx| tx.pre_checkout(&actor, &payload, total_amount, &currency))
    }

    /// See [`Tx::stars_paid`].
    ///
    /// # Errors
    /// See [`Tx::stars_paid`].
    pub fn stars_paid(
        &self,
        actor: &Actor,
        payload: &str,
        charge_id: &str,
        total_amount: u64,
    ) -> Result<PaymentOutcome> {
        let (actor, payload, charge_id) =
            (actor.clone(), payload.to_string(), charge_id.to_string());
        self.write(move |tx| tx.stars_paid(&actor, &payload, &charge_id, total_amount))
    }

    /// See [`Tx::save_payment_settings`].
    ///
    /// # Errors
    /// See [`Tx::save_payment_settings`].
    pub fn save_payment_settings(
        &self,
        actor: &Actor,
        input: PaymentSettingsInput,
    ) -> Result<PaymentSettingsView> {
        let actor = actor.clone();
        self.write(move |tx| tx.save_payment_settings(&actor, input))
    }

    /// See [`Tx::request_invoice`].
    ///
    /// # Errors
    /// See [`Tx::request_invoice`].
    pub fn request_invoice(
        &self,
        actor: &Actor,
        customer: CustomerId,
        tokens: u64,
        provider: PaymentProvider,
    ) -> Result<Invoice> {
        let actor = actor.clone();
        self.write(move |tx| tx.request_invoice(&actor, customer, tokens, provider))
    }

    /// See [`payment_settings_in`].
    ///
    /// # Errors
    /// See [`payment_settings_in`].
    pub fn payment_settings(&self, actor: &Actor) -> Result<PaymentSettingsView> {
        self.read(|view| payment_settings_in(view, actor))
    }

    /// See [`invoices_in`].
    ///
    /// # Errors
    /// See [`invoices_in`].
    pub fn invoices(&self, actor: &Actor, filter: &InvoiceFilter) -> Result<Vec<Invoice>> {
        self.read(|view| invoices_in(view, actor, filter))
    }

    /// See [`reconciliation_in`].
    ///
    /// # Errors
    /// See [`reconciliation_in`].
    pub fn reconciliation(
        &self,
        actor: &Actor,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Reconciliation> {
        self.read(|view| reconciliation_in(view, actor, from, to))
    }

    /// See [`payment_offer_in`].
    ///
    /// # Errors
    /// See [`payment_offer_in`].
    pub fn payment_offer(&self, actor: &Actor) -> Result<PaymentOffer> {
        self.read(|view| payment_offer_in(view, actor))
    }

    /// See [`invoice_in`].
    ///
    /// # Errors
    /// See [`invoice_in`].
    pub fn invoice(&self, actor: &Actor, id: u64) -> Result<Invoice> {
        self.read(|view| invoice_in(view, actor, id))
    }
}

/// Whether the organization runs payments (the tokens module).
///
/// # Errors
/// Not found for an unknown organization.
pub fn payments_on(view: &impl View, org: OrgId) -> Result<bool> {
    Ok(super::tokens::module_on(&load_org(view, org)?))
}
