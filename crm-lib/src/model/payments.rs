//! Payments for the token service (TeleKpr PRD 3.3): the organization's payment settings and
//! the invoices customers pay through a provider (OxaPay or Telegram Stars), each crediting
//! the token ledger once when paid.

use serde::{Deserialize, Serialize};

use super::{CustomerId, Timestamp};

/// OxaPay's production API, the default base URL (their documentation's
/// `https://api.oxapay.com/v1/...` endpoints).
pub const OXAPAY_DEFAULT_BASE_URL: &str = "https://api.oxapay.com";

/// An organization's payment settings (`payment_settings`, absent until first saved: the
/// [`Default`]).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentSettings {
    /// OxaPay's merchant API key: a secret, written but never shown back (see
    /// [`PaymentSettings::merchant_key_hint`]); `None` switches OxaPay off.
    pub oxapay_merchant_key: Option<String>,
    /// The base URL of OxaPay's API, without a trailing slash ([`OXAPAY_DEFAULT_BASE_URL`]).
    pub oxapay_base_url: String,
    /// The price of one token in minor units of the organization's currency (100 = $1.00).
    pub token_price: u64,
    /// The price of one token in Telegram Stars (`XTR`); 0 switches Stars off.
    pub stars_per_token: u64,
    /// The purchase amounts offered, in tokens, ascending.
    pub amounts: Vec<u64>,
    /// How long an invoice may be paid, in minutes (OxaPay's `lifetime`: 15-2880).
    pub invoice_lifetime_minutes: u32,
}

impl Default for PaymentSettings {
    fn default() -> Self {
        PaymentSettings {
            oxapay_merchant_key: None,
            oxapay_base_url: OXAPAY_DEFAULT_BASE_URL.to_string(),
            token_price: 100,
            stars_per_token: 1,
            amounts: vec![100, 250, 500, 1000],
            invoice_lifetime_minutes: 60,
        }
    }
}

impl PaymentSettings {
    /// The merchant key as pages show it: its last 4 characters after dots, or `None`.
    pub fn merchant_key_hint(&self) -> Option<String> {
        self.oxapay_merchant_key.as_deref().map(|key| {
            let tail: String = key
                .chars()
                .rev()
                .take(4)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect();
            format!("…{tail}")
        })
    }
}

impl std::fmt::Debug for PaymentSettings {
    /// Never prints the merchant key, only its hint.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PaymentSettings")
            .field("oxapay_merchant_key", &self.merchant_key_hint())
            .field("oxapay_base_url", &self.oxapay_base_url)
            .field("token_price", &self.token_price)
            .field("stars_per_token", &self.stars_per_token)
            .field("amounts", &self.amounts)
            .field("invoice_lifetime_minutes", &self.invoice_lifetime_minutes)
            .finish()
    }
}

/// Who collects an invoice's money.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum PaymentProvider {
    /// OxaPay's merchant API (crypto); the provider id is their `track_id`.
    OxaPay,
    /// Telegram Stars (`XTR`); the provider id is `telegram_payment_charge_id`.
    Stars,
}

impl PaymentProvider {
    /// The stable name (`oxapay`, `stars`), also the prefix of a ledger entry's `payment`.
    pub fn as_str(self) -> &'static str {
        match self {
            PaymentProvider::OxaPay => "oxapay",
            PaymentProvider::Stars => "stars",
        }
    }

    /// The provider named `text` (as [`PaymentProvider::as_str`] writes it).
    pub fn parse(text: &str) -> Option<Self> {
        match text.trim() {
            "oxapay" => Some(PaymentProvider::OxaPay),
            "stars" => Some(PaymentProvider::Stars),
            _ => None,
        }
    }

    /// The byte the provider-id index keys it by.
    pub(crate) fn code(self) -> u8 {
        match self {
            PaymentProvider::OxaPay => 1,
            PaymentProvider::Stars => 2,
        }
    }
}

/// Where an invoice stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum InvoiceState {
    /// Waiting for the payment.
    Pending,
    /// Paid and credited to the ledger.
    Paid,
    /// Not paid in its lifetime.
    Expired,
    /// The provider reported a failure.
    Failed,
    /// Paid, then refunded (Stars).
    Refunded,
}

impl InvoiceState {
    /// The stable name (`pending`, `paid`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            InvoiceState::Pending => "pending",
            InvoiceState::Paid => "paid",
            InvoiceState::Expired => "expired",
            InvoiceState::Failed => "failed",
            InvoiceState::Refunded => "refunded",
        }
    }

    /// The state named `text`.
    pub fn parse(text: &str) -> Option<Self> {
        [
            InvoiceState::Pending,
            InvoiceState::Paid,
            InvoiceState::Expired,
            InvoiceState::Failed,
            InvoiceState::Refunded,
        ]
        .into_iter()
        .find(|state| state.as_str() == text.trim())
    }
}

/// A customer's invoice for tokens (`invoices`, `org | invoice`, sequence `invoice`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Invoice {
    /// Per-organization number.
    pub id: u64,
    /// Who pays and receives the tokens.
    pub customer: CustomerId,
    /// Who collects the money.
    pub provider: PaymentProvider,
    /// Tokens credited when paid.
    pub tokens: u64,
    /// The price: minor units of `currency` (OxaPay), or Stars (`XTR`).
    pub amount: u64,
    /// ISO 4217 code of the organization's currency, or `XTR` for Stars.
    pub currency: String,
    /// Where it stands.
    pub state: InvoiceState,
    /// The provider's id: OxaPay's `track_id` once created there, Telegram's
    /// `telegram_payment_charge_id` once paid.
    pub provider_id: Option<String>,
    /// OxaPay's `payment_url`, the link the customer pays at.
    pub pay_link: Option<String>,
    /// When it was asked for.
    pub created_at: Timestamp,
    /// When it was paid.
    pub paid_at: Option<Timestamp>,
    /// The ledger entry that credited it.
    pub ledger_entry: Option<u64>,
    /// The last status the provider reported (`paying`, `paid`), as sent.
    pub provider_status: Option<String>,
}
