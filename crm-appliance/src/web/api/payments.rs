//! The payments API: the payment settings (the OxaPay merchant key write-only), invoices
//! listed, read and created for a customer. One crm-lib call each; every endpoint is 404
//! while the tokens module is off.

use axum::extract::State;
use axum::http::StatusCode;
use crm_lib::model::{CustomerId, Invoice, InvoiceState, PaymentProvider};
use crm_lib::payments::{InvoiceFilter, PaymentSettingsInput, PaymentSettingsView};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::ApiUser;
use super::error::{ApiError, ApiJson, ApiPath, ApiQuery, ErrorResponse};
use crate::AppState;

/// The payment settings as read: the merchant key only as its last 4 characters.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PaymentSettingsJson {
    /// `…` and the last 4 characters of the OxaPay merchant key; absent when none is set.
    pub merchant_key_hint: Option<String>,
    /// OxaPay's API base URL.
    pub oxapay_base_url: String,
    /// Minor units of `currency` per token.
    pub token_price: u64,
    /// Telegram Stars per token (0: Stars off).
    pub stars_per_token: u64,
    /// The purchase amounts offered, in tokens.
    pub amounts: Vec<u64>,
    /// Invoice lifetime in minutes (15-2880).
    pub invoice_lifetime_minutes: u32,
    /// The organization's currency (ISO 4217).
    pub currency: String,
}

impl From<PaymentSettingsView> for PaymentSettingsJson {
    fn from(view: PaymentSettingsView) -> Self {
        PaymentSettingsJson {
            merchant_key_hint: view.merchant_key_hint,
            oxapay_base_url: view.oxapay_base_url,
            token_price: view.token_price,
            stars_per_token: view.stars_per_token,
            amounts: view.amounts,
            invoice_lifetime_minutes: view.invoice_lifetime_minutes,
            currency: view.currency,
        }
    }
}

/// The payment settings as written.
#[derive(Clone, Deserialize, ToSchema)]
pub struct PaymentSettingsBody {
    /// A new OxaPay merchant API key (8-256 characters); absent keeps the saved one, an
    /// empty text removes it. Never returned.
    #[serde(default)]
    pub oxapay_merchant_key: Option<String>,
    /// OxaPay's API base URL (empty: `https://api.oxapay.com`).
    #[serde(default)]
    pub oxapay_base_url: String,
    /// Minor units of the organization's currency per token (default 100).
    #[serde(default = "default_price")]
    pub token_price: u64,
    /// Telegram Stars per token, 0-10000 (default 1).
    #[serde(default = "default_stars")]
    pub stars_per_token: u64,
    /// 1-10 purchase amounts in tokens (default 100, 250, 500, 1000).
    #[serde(default = "default_amounts")]
    pub amounts: Vec<u64>,
    /// Invoice lifetime in minutes, 15-2880 (default 60).
    #[serde(default = "default_lifetime")]
    pub invoice_lifetime_minutes: u32,
}

fn default_price() -> u64 {
    100
}
fn default_stars() -> u64 {
    1
}
fn default_amounts() -> Vec<u64> {
    vec![100, 250, 500, 1000]
}
fn default_lifetime() -> u32 {
    60
}

/// The payment settings (needs `manage_settings`).
#[utoipa::path(
    get, operation_id = "getPaymentSettings", path = "/api/v1/payment-settings", tag = "payments",
    responses(
        (status = 200, description = "The settings", body = PaymentSettingsJson),
        (status = 403, description = "Missing manage_settings", body = ErrorResponse),
        (status = 404, description = "The tokens module is off", body = ErrorResponse),
    )
)]
pub async fn get_settings(
    State(state): State<AppState>,
    user: ApiUser,
) -> Result<ApiJson<PaymentSettingsJson>, ApiError> {
    let view = state
        .blocking(move |crm| crm.payment_settings(&user.actor))
        .await?;
    Ok(ApiJson(view.into()))
}

/// Replaces the payment settings (needs `manage_settings`).
#[utoipa::path(
    put, operation_id = "putPaymentSettings", path = "/api/v1/payment-settings", tag = "payments",
    request_body = PaymentSettingsBody,
    responses(
        (status = 200, description = "Saved", body = PaymentSettingsJson),
        (status = 403, description = "Missing manage_settings", body = ErrorResponse),
        (status = 404, description = "The tokens module is off", body = ErrorResponse),
        (status = 422, description = "A bad field", body = ErrorResponse),
    )
)]
pub async fn put_settings(
    State(state): State<AppState>,
    user: ApiUser,
    ApiJson(body): ApiJson<PaymentSettingsBody>,
) -> Result<ApiJson<PaymentSettingsJson>, ApiError> {
    let input = PaymentSettingsInput {
        oxapay_merchant_key: body.oxapay_merchant_key,
        oxapay_base_url: body.oxapay_base_url,
        token_price: body.token_price,
        stars_per_token: body.stars_per_token,
        amounts: body.amounts,
        invoice_lifetime_minutes: body.invoice_lifetime_minutes,
    };
    let view = state
        .blocking(move |crm| crm.save_payment_settings(&user.actor, input))
        .await?;
    Ok(ApiJson(view.into()))
}

/// An invoice for tokens.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct InvoiceJson {
    /// Its id.
    pub id: u64,
    /// The customer.
    pub customer: u64,
    /// `oxapay` or `stars`.
    pub provider: String,
    /// Tokens it buys.
    pub tokens: u64,
    /// The price in minor units of `currency` (or Stars for `XTR`).
    pub amount: u64,
    /// ISO 4217 code, or `XTR`.
    pub currency: String,
    /// `pending`, `paid`, `expired`, `failed` or `refunded`.
    pub state: String,
    /// OxaPay's `track_id` or Telegram's `telegram_payment_charge_id`.
    pub provider_id: Option<String>,
    /// OxaPay's `payment_url`.
    pub pay_link: Option<String>,
    /// Created, ms since the epoch.
    pub created_at: i64,
    /// Paid, ms since the epoch.
    pub paid_at: Option<i64>,
    /// The ledger entry that credited it.
    pub ledger_entry: Option<u64>,
}

impl From<&Invoice> for InvoiceJson {
    fn from(invoice: &Invoice) -> Self {
        InvoiceJson {
            id: invoice.id,
            customer: invoice.customer.get(),
            provider: invoice.provider.as_str().to_string(),
            tokens: invoice.tokens,
            amount: invoice.amount,
            currency: invoice.currency.clone(),
            state: invoice.state.as_str().to_string(),
            provider_id: invoice.provider_id.clone(),
            pay_link: invoice.pay_link.clone(),
            created_at: invoice.created_at.millis(),
            paid_at: invoice.paid_at.map(|at| at.millis()),
            ledger_entry: invoice.ledger_entry,
        }
    }
}

/// Filters of the invoice list.
#[derive(Debug, Clone, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct InvoiceQuery {
    /// Only this state (`pending`, `paid`, `expired`, `failed`, `refunded`).
    pub state: Option<String>,
    /// Only this customer's.
    pub customer: Option<u64>,
    /// Only this provider's (`oxapay`, `stars`).
    pub provider: Option<String>,
}

/// The organization's invoices, newest first, at most 500 (needs `manage_billing`).
#[utoipa::path(
    get, operation_id = "listInvoices", path = "/api/v1/invoices", tag = "payments",
    params(InvoiceQuery),
    responses(
        (status = 200, description = "The invoices", body = [InvoiceJson]),
        (status = 403, description = "Missing manage_billing", body = ErrorResponse),
        (status = 404, description = "The tokens module is off", body = ErrorResponse),
        (status = 422, description = "A bad filter", body = ErrorResponse),
    )
)]
pub async fn list(
    State(state): State<AppState>,
    user: ApiUser,
    ApiQuery(query): ApiQuery<InvoiceQuery>,
) -> Result<ApiJson<Vec<InvoiceJson>>, ApiError> {
    let filter = InvoiceFilter {
        state: match query.state.as_deref() {
            Some(text) => Some(InvoiceState::parse(text).ok_or_else(|| {
                crm_lib::Error::invalid("state", "one of pending, paid, expired, failed, refunded")
            })?),
            None => None,
        },
        customer: query.customer.map(CustomerId::new),
        provider: match query.provider.as_deref() {
            Some(text) => Some(provider(text)?),
            None => None,
        },
        ..InvoiceFilter::default()
    };
    let invoices = state
        .blocking(move |crm| crm.invoices(&user.actor, &filter))
        .await?;
    Ok(ApiJson(invoices.iter().map(InvoiceJson::from).collect()))
}

fn provider(text: &str) -> crm_lib::Result<PaymentProvider> {
    PaymentProvider::parse(text)
        .ok_or_else(|| crm_lib::Error::invalid("provider", "oxapay or stars"))
}

/// One invoice (needs `manage_billing`).
#[utoipa::path(
    get, operation_id = "getInvoice", path = "/api/v1/invoices/{id}", tag = "payments",
    params(("id" = u64, Path, description = "The invoice")),
    responses(
        (status = 200, description = "The invoice", body = InvoiceJson),
        (status = 403, description = "Missing manage_billing", body = ErrorResponse),
        (status = 404, description = "No such invoice, or the module is off", body = ErrorResponse),
    )
)]
pub async fn get(
    State(state): State<AppState>,
    user: ApiUser,
    ApiPath(id): ApiPath<u64>,
) -> Result<ApiJson<InvoiceJson>, ApiError> {
    let invoice = state
        .blocking(move |crm| crm.invoice(&user.actor, id))
        .await?;
    Ok(ApiJson(InvoiceJson::from(&invoice)))
}

/// An invoice asked for on a customer's behalf.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct CreateInvoice {
    /// Tokens, 1 to 1,000,000,000.
    pub tokens: u64,
    /// `oxapay` or `stars`.
    pub provider: String,
}

/// Creates an invoice for a customer (needs `manage_billing`); an OxaPay one gets its link
/// from OxaPay shortly after, and the customer receives it in the bot.
#[utoipa::path(
    post, operation_id = "createInvoice", path = "/api/v1/customers/{id}/invoices", tag = "payments",
    params(("id" = u64, Path, description = "The customer")),
    request_body = CreateInvoice,
    responses(
        (status = 201, description = "Created, pending", body = InvoiceJson),
        (status = 403, description = "Missing manage_billing", body = ErrorResponse),
        (status = 404, description = "No such customer, or the module is off", body = ErrorResponse),
        (status = 409, description = "The provider is not set up", body = ErrorResponse),
        (status = 422, description = "A bad field", body = ErrorResponse),
    )
)]
pub async fn create(
    State(state): State<AppState>,
    user: ApiUser,
    ApiPath(id): ApiPath<u64>,
    ApiJson(body): ApiJson<CreateInvoice>,
) -> Result<(StatusCode, ApiJson<InvoiceJson>), ApiError> {
    let provider = provider(&body.provider)?;
    let invoice = state
        .blocking(move |crm| {
            crm.request_invoice(&user.actor, CustomerId::new(id), body.tokens, provider)
        })
        .await?;
    Ok((StatusCode::CREATED, ApiJson(InvoiceJson::from(&invoice))))
}

/// Refunds a paid Stars invoice (needs `manage_billing`): its tokens are taken back and
/// `refundStarPayment` gives the Stars back.
#[utoipa::path(
    post, operation_id = "refundInvoice", path = "/api/v1/invoices/{id}/refund", tag = "payments",
    params(("id" = u64, Path, description = "The invoice")),
    responses(
        (status = 200, description = "Refunded", body = InvoiceJson),
        (status = 403, description = "Missing manage_billing", body = ErrorResponse),
        (status = 404, description = "No such invoice, or the module is off", body = ErrorResponse),
        (status = 409, description = "Not a paid Stars invoice, or the balance is short", body = ErrorResponse),
    )
)]
pub async fn refund(
    State(state): State<AppState>,
    user: ApiUser,
    ApiPath(id): ApiPath<u64>,
) -> Result<ApiJson<InvoiceJson>, ApiError> {
    let invoice = state
        .blocking(move |crm| crm.refund_stars(&user.actor, id))
        .await?;
    Ok(ApiJson(InvoiceJson::from(&invoice)))
}
