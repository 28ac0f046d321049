//! The token service's API (issue 13): packages and settings, a customer's ledger with
//! adjustments, bonuses and Premium, orders of packages, the queue, reruns. One crm-lib call
//! each; every endpoint is 404 while the tokens module is off.

use axum::extract::State;
use axum::http::StatusCode;
use crm_lib::Page;
use crm_lib::model::{
    CustomerId, Language, LedgerEntry, LedgerKind, Localized, OrderId, Package, TokenSettings,
};
use crm_lib::tokens::{PackageInput, PlacedOrder, QueueRow, TokenOrderRequest, TokenOrderView};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::ApiUser;
use super::error::{ApiError, ApiJson, ApiPath, ApiQuery, ErrorResponse};
use crate::AppState;

/// A package of the token service.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PackageView {
    /// Its id.
    pub id: u64,
    /// Its key (`sites_100`).
    pub key: String,
    /// Its name per language code.
    pub name: std::collections::BTreeMap<String, String>,
    /// Units delivered (sites).
    pub units: u32,
    /// The regular price in tokens.
    pub price: u64,
    /// The subscriber price in tokens.
    pub subscriber_price: u64,
    /// The subscriber discount in whole percent.
    pub discount_percent: u64,
    /// Offered to customers.
    pub active: bool,
    /// Place in lists.
    pub position: u32,
}

fn names(name: &Localized) -> std::collections::BTreeMap<String, String> {
    Language::all()
        .filter_map(|language| {
            name.exact(language)
                .map(|text| (language.code().to_string(), text.to_string()))
        })
        .collect()
}

impl From<&Package> for PackageView {
    fn from(package: &Package) -> Self {
        PackageView {
            id: package.id,
            key: package.key.clone(),
            name: names(&package.name),
            units: package.units,
            price: package.price,
            subscriber_price: package.subscriber_price,
            discount_percent: package.discount_percent(),
            active: package.active,
            position: package.position,
        }
    }
}

/// A package as sent to create or replace one.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct PackageBody {
    /// `a-z`, `0-9` and `_`, 1-32 characters, unique.
    pub key: String,
    /// The name per language code; the organization's language is required.
    pub name: std::collections::BTreeMap<String, String>,
    /// Units delivered, at least 1.
    pub units: u32,
    /// The regular price in tokens, at least 1.
    pub price: u64,
    /// The subscriber price in tokens, 1 up to the price.
    pub subscriber_price: u64,
    /// Offered to customers (default true).
    #[serde(default = "yes")]
    pub active: bool,
    /// Place in lists (default 0).
    #[serde(default)]
    pub position: u32,
}

fn yes() -> bool {
    true
}

impl PackageBody {
    fn input(self) -> crm_lib::Result<PackageInput> {
        let mut name = Localized::default();
        for (code, text) in &self.name {
            let language = Language::parse("name", code)?;
            name.set(language, text.trim());
        }
        Ok(PackageInput {
            key: self.key,
            name,
            units: self.units,
            price: self.price,
            subscriber_price: self.subscriber_price,
            active: self.active,
            position: self.position,
        })
    }
}

/// The organization's packages (customers' view: the active ones; staff: all).
#[utoipa::path(
    get, operation_id = "listPackages", path = "/api/v1/packages", tag = "tokens",
    responses(
        (status = 200, description = "The packages, in list order", body = [PackageView]),
        (status = 404, description = "The tokens module is off", body = ErrorResponse),
    )
)]
pub async fn list_packages(
    State(state): State<AppState>,
    user: ApiUser,
) -> Result<ApiJson<Vec<PackageView>>, ApiError> {
    let packages = state.blocking(move |crm| crm.packages(&user.actor)).await?;
    Ok(ApiJson(packages.iter().map(PackageView::from).collect()))
}

/// Creates a package (needs `manage_settings`).
#[utoipa::path(
    post, operation_id = "createPackage", path = "/api/v1/packages", tag = "tokens",
    request_body = PackageBody,
    responses(
        (status = 201, description = "Created", body = PackageView),
        (status = 403, description = "Missing manage_settings", body = ErrorResponse),
        (status = 404, description = "The tokens module is off", body = ErrorResponse),
        (status = 422, description = "A bad field", body = ErrorResponse),
    )
)]
pub async fn create_package(
    State(state): State<AppState>,
    user: ApiUser,
    ApiJson(body): ApiJson<PackageBody>,
) -> Result<(StatusCode, ApiJson<PackageView>), ApiError> {
    let input = body.input()?;
    let package = state
        .blocking(move |crm| crm.save_package(&user.actor, None, input))
        .await?;
    Ok((StatusCode::CREATED, ApiJson(PackageView::from(&package))))
}

/// Replaces a package (needs `manage_settings`).
#[utoipa::path(
    put, operation_id = "updatePackage", path = "/api/v1/packages/{id}", tag = "tokens",
    params(("id" = u64, Path, description = "The package")),
    request_body = PackageBody,
    responses(
        (status = 200, description = "Saved", body = PackageView),
        (status = 403, description = "Missing manage_settings", body = ErrorResponse),
        (status = 404, description = "No such package, or the module is off", body = ErrorResponse),
        (status = 422, description = "A bad field", body = ErrorResponse),
    )
)]
pub async fn update_package(
    State(state): State<AppState>,
    user: ApiUser,
    ApiPath(id): ApiPath<u64>,
    ApiJson(body): ApiJson<PackageBody>,
) -> Result<ApiJson<PackageView>, ApiError> {
    let input = body.input()?;
    let package = state
        .blocking(move |crm| crm.save_package(&user.actor, Some(id), input))
        .await?;
    Ok(ApiJson(PackageView::from(&package)))
}

/// The token service's settings.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TokenSettingsBody {
    /// The email-confirmation add-on's price in tokens.
    pub email_addon_price: u64,
    /// Its price for subscribers.
    pub email_addon_subscriber_price: u64,
    /// Customers are told once when their balance falls below this (0: never).
    pub low_balance_threshold: u64,
    /// The Premium subscription's price in tokens.
    pub subscription_price: u64,
    /// How long one purchase lasts, in days (1-366).
    pub subscription_days: u32,
    /// How many days before the end the subscriber is reminded.
    pub reminder_days: u32,
}

impl From<&TokenSettings> for TokenSettingsBody {
    fn from(settings: &TokenSettings) -> Self {
        TokenSettingsBody {
            email_addon_price: settings.email_addon_price,
            email_addon_subscriber_price: settings.email_addon_subscriber_price,
            low_balance_threshold: settings.low_balance_threshold,
            subscription_price: settings.subscription_price,
            subscription_days: settings.subscription_days,
            reminder_days: settings.reminder_days,
        }
    }
}

/// The token settings.
#[utoipa::path(
    get, operation_id = "getTokenSettings", path = "/api/v1/token-settings", tag = "tokens",
    responses(
        (status = 200, description = "The settings", body = TokenSettingsBody),
        (status = 404, description = "The tokens module is off", body = ErrorResponse),
    )
)]
pub async fn get_settings(
    State(state): State<AppState>,
    user: ApiUser,
) -> Result<ApiJson<TokenSettingsBody>, ApiError> {
    let settings = state
        .blocking(move |crm| crm.token_settings(&user.actor))
        .await?;
    Ok(ApiJson(TokenSettingsBody::from(&settings)))
}

/// Replaces the token settings (needs `manage_settings`).
#[utoipa::path(
    put, operation_id = "putTokenSettings", path = "/api/v1/token-settings", tag = "tokens",
    request_body = TokenSettingsBody,
    responses(
        (status = 200, description = "Saved", body = TokenSettingsBody),
        (status = 403, description = "Missing manage_settings", body = ErrorResponse),
        (status = 404, description = "The tokens module is off", body = ErrorResponse),
        (status = 422, description = "A bad field", body = ErrorResponse),
    )
)]
pub async fn put_settings(
    State(state): State<AppState>,
    user: ApiUser,
    ApiJson(body): ApiJson<TokenSettingsBody>,
) -> Result<ApiJson<TokenSettingsBody>, ApiError> {
    let settings = TokenSettings {
        email_addon_price: body.email_addon_price,
        email_addon_subscriber_price: body.email_addon_subscriber_price,
        low_balance_threshold: body.low_balance_threshold,
        subscription_price: body.subscription_price,
        subscription_days: body.subscription_days,
        reminder_days: body.reminder_days,
    };
    let saved = state
        .blocking(move |crm| crm.update_token_settings(&user.actor, settings))
        .await?;
    Ok(ApiJson(TokenSettingsBody::from(&saved)))
}

/// One ledger entry.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LedgerEntryView {
    /// Its id (entries are numbered in the order written).
    pub id: u64,
    /// `purchase`, `spend`, `refund`, `adjustment` or `bonus`.
    pub kind: String,
    /// Tokens, signed.
    pub amount: i64,
    /// The balance after it.
    pub balance_after: i64,
    /// The order it is about.
    pub order: Option<u64>,
    /// The payment it records (`oxapay:<track id>`).
    pub payment: Option<String>,
    /// Why.
    pub description: String,
    /// `user <id>`, `customer <id>` or `system`.
    pub by: String,
    /// When, RFC 3339.
    pub at: String,
}

impl From<&LedgerEntry> for LedgerEntryView {
    fn from(entry: &LedgerEntry) -> Self {
        LedgerEntryView {
            id: entry.id,
            kind: entry.kind.as_str().to_string(),
            amount: entry.amount,
            balance_after: entry.balance_after,
            order: entry.order.map(OrderId::get),
            payment: entry.payment.clone(),
            description: entry.description.clone(),
            by: entry.by.to_string(),
            at: entry.at.to_rfc3339(),
        }
    }
}

/// A customer's balance, Premium and a page of entries.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LedgerView {
    /// The customer.
    pub customer: u64,
    /// Tokens now.
    pub balance: i64,
    /// Whether Premium is active.
    pub subscriber: bool,
    /// Premium's end (past: ended), RFC 3339.
    pub premium_until: Option<String>,
    /// Entries, newest first.
    pub entries: Vec<LedgerEntryView>,
    /// The cursor of the next (older) page.
    pub next: Option<u64>,
}

/// `?after=&limit=`.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LedgerQuery {
    /// The `next` of the previous page.
    pub after: Option<u64>,
    /// Entries per page, 1-500 (default 50).
    pub limit: Option<usize>,
}

/// A customer's ledger (needs `view_orders`).
#[utoipa::path(
    get, operation_id = "getLedger", path = "/api/v1/customers/{id}/tokens", tag = "tokens",
    params(("id" = u64, Path, description = "The customer"), LedgerQuery),
    responses(
        (status = 200, description = "The balance and entries", body = LedgerView),
        (status = 403, description = "Missing view_orders", body = ErrorResponse),
        (status = 404, description = "No such customer, or the module is off", body = ErrorResponse),
    )
)]
pub async fn ledger(
    State(state): State<AppState>,
    user: ApiUser,
    ApiPath(id): ApiPath<u64>,
    ApiQuery(query): ApiQuery<LedgerQuery>,
) -> Result<ApiJson<LedgerView>, ApiError> {
    let customer = CustomerId::new(id);
    let page = Page {
        after: query.after,
        limit: query.limit.unwrap_or(50),
    };
    let ledger = state
        .blocking(move |crm| crm.ledger(&user.actor, customer, page))
        .await?;
    Ok(ApiJson(LedgerView {
        customer: id,
        balance: ledger.account.balance,
        subscriber: ledger.subscriber,
        premium_until: ledger.account.premium_until.map(|at| at.to_rfc3339()),
        entries: ledger
            .entries
            .items
            .iter()
            .map(LedgerEntryView::from)
            .collect(),
        next: ledger.entries.next,
    }))
}

/// An adjustment or a bonus.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct CreditBody {
    /// `adjustment` (either sign) or `bonus` (positive).
    pub kind: String,
    /// Tokens, signed for an adjustment.
    pub amount: i64,
    /// Why (required).
    pub reason: String,
}

/// Adjusts a balance or gives a bonus (needs `manage_billing`).
#[utoipa::path(
    post, operation_id = "creditTokens", path = "/api/v1/customers/{id}/tokens", tag = "tokens",
    params(("id" = u64, Path, description = "The customer")),
    request_body = CreditBody,
    responses(
        (status = 201, description = "The entry written", body = LedgerEntryView),
        (status = 403, description = "Missing manage_billing", body = ErrorResponse),
        (status = 404, description = "No such customer, or the module is off", body = ErrorResponse),
        (status = 409, description = "The balance would fall below 0", body = ErrorResponse),
        (status = 422, description = "A bad kind, amount or a missing reason", body = ErrorResponse),
    )
)]
pub async fn credit(
    State(state): State<AppState>,
    user: ApiUser,
    ApiPath(id): ApiPath<u64>,
    ApiJson(body): ApiJson<CreditBody>,
) -> Result<(StatusCode, ApiJson<LedgerEntryView>), ApiError> {
    let customer = CustomerId::new(id);
    let kind = LedgerKind::parse(&body.kind)
        .filter(|kind| matches!(kind, LedgerKind::Adjustment | LedgerKind::Bonus))
        .ok_or_else(|| crm_lib::Error::invalid("kind", "kind is adjustment or bonus"))?;
    let entry = state
        .blocking(move |crm| match kind {
            LedgerKind::Bonus => crm.grant_bonus(
                &user.actor,
                customer,
                u64::try_from(body.amount)
                    .map_err(|_| crm_lib::Error::invalid("amount", "a bonus is positive"))?,
                &body.reason,
            ),
            _ => crm.adjust_tokens(&user.actor, customer, body.amount, &body.reason),
        })
        .await?;
    Ok((StatusCode::CREATED, ApiJson(LedgerEntryView::from(&entry))))
}

/// Days of Premium to grant.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct PremiumBody {
    /// 1-366.
    pub days: u32,
}

/// Grants Premium days without a charge (needs `manage_billing`); returns the ledger's head.
#[utoipa::path(
    post, operation_id = "grantPremium", path = "/api/v1/customers/{id}/premium", tag = "tokens",
    params(("id" = u64, Path, description = "The customer")),
    request_body = PremiumBody,
    responses(
        (status = 200, description = "Granted: the new end", body = LedgerView),
        (status = 403, description = "Missing manage_billing", body = ErrorResponse),
        (status = 404, description = "No such customer, or the module is off", body = ErrorResponse),
        (status = 422, description = "Days outside 1-366", body = ErrorResponse),
    )
)]
pub async fn premium(
    State(state): State<AppState>,
    user: ApiUser,
    ApiPath(id): ApiPath<u64>,
    ApiJson(body): ApiJson<PremiumBody>,
) -> Result<ApiJson<LedgerView>, ApiError> {
    let customer = CustomerId::new(id);
    let account = state
        .blocking(move |crm| crm.grant_subscription(&user.actor, customer, body.days))
        .await?;
    Ok(ApiJson(LedgerView {
        customer: id,
        balance: account.balance,
        subscriber: true,
        premium_until: account.premium_until.map(|at| at.to_rfc3339()),
        entries: Vec::new(),
        next: None,
    }))
}

/// An order of a package.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct TokenOrderBody {
    /// The customer it is for.
    pub customer: u64,
    /// The package.
    pub package: u64,
    /// With the email-confirmation add-on.
    #[serde(default)]
    pub email_confirmation: bool,
}

/// An order placed or run again.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PlacedView {
    /// The new order.
    pub order: u64,
    /// Its title.
    pub title: String,
    /// Tokens charged.
    pub cost: u64,
    /// Whether the subscriber prices applied (and the order has priority).
    pub priority: bool,
    /// Its place in the queue, from 1.
    pub position: u64,
    /// The balance left.
    pub balance: i64,
    /// The completed order it runs again.
    pub rerun_of: Option<u64>,
}

impl From<&PlacedOrder> for PlacedView {
    fn from(placed: &PlacedOrder) -> Self {
        PlacedView {
            order: placed.order.id.get(),
            title: placed.order.title.clone(),
            cost: placed.token_order.cost,
            priority: placed.token_order.priority,
            position: placed.position,
            balance: placed.balance,
            rerun_of: placed.token_order.rerun_of.map(OrderId::get),
        }
    }
}

/// Orders a package for a customer, charging their balance (needs `moderate_orders`).
#[utoipa::path(
    post, operation_id = "placeTokenOrder", path = "/api/v1/token-orders", tag = "tokens",
    request_body = TokenOrderBody,
    responses(
        (status = 201, description = "Placed", body = PlacedView),
        (status = 403, description = "Missing moderate_orders", body = ErrorResponse),
        (status = 404, description = "No such customer or package, or the module is off", body = ErrorResponse),
        (status = 409, description = "Insufficient balance or the open-order limit", body = ErrorResponse),
        (status = 422, description = "A package no longer offered", body = ErrorResponse),
    )
)]
pub async fn place(
    State(state): State<AppState>,
    user: ApiUser,
    ApiJson(body): ApiJson<TokenOrderBody>,
) -> Result<(StatusCode, ApiJson<PlacedView>), ApiError> {
    let request = TokenOrderRequest {
        customer: Some(CustomerId::new(body.customer)),
        package: body.package,
        email_confirmation: body.email_confirmation,
        profile: None,
    };
    let placed = state
        .blocking(move |crm| crm.place_token_order(&user.actor, request))
        .await?;
    Ok((StatusCode::CREATED, ApiJson(PlacedView::from(&placed))))
}

/// Runs a completed order again as a new, linked order, charged again (needs
/// `moderate_orders`).
#[utoipa::path(
    post, operation_id = "rerunOrder", path = "/api/v1/orders/{id}/rerun", tag = "tokens",
    params(("id" = u64, Path, description = "The completed order")),
    responses(
        (status = 201, description = "The new order", body = PlacedView),
        (status = 403, description = "Missing moderate_orders", body = ErrorResponse),
        (status = 404, description = "No such order of the token service", body = ErrorResponse),
        (status = 409, description = "Not completed, insufficient balance or the limit", body = ErrorResponse),
    )
)]
pub async fn rerun(
    State(state): State<AppState>,
    user: ApiUser,
    ApiPath(id): ApiPath<u64>,
) -> Result<(StatusCode, ApiJson<PlacedView>), ApiError> {
    let placed = state
        .blocking(move |crm| crm.rerun_order(&user.actor, OrderId::new(id)))
        .await?;
    Ok((StatusCode::CREATED, ApiJson(PlacedView::from(&placed))))
}

/// The token side of an order.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TokenOrderJson {
    /// The order.
    pub order: u64,
    /// The customer.
    pub customer: u64,
    /// The package.
    pub package: u64,
    /// Units bought.
    pub units: u32,
    /// With the email-confirmation add-on.
    pub email_confirmation: bool,
    /// Tokens charged.
    pub cost: u64,
    /// Whether subscriber prices applied (priority).
    pub priority: bool,
    /// Its place in the queue while queued, from 1.
    pub position: Option<u64>,
    /// Whether it was refunded.
    pub refunded: bool,
    /// The order it runs again.
    pub rerun_of: Option<u64>,
    /// The customer's profile it is for (the person ordered for).
    pub profile: Option<u64>,
}

impl From<&TokenOrderView> for TokenOrderJson {
    fn from(view: &TokenOrderView) -> Self {
        let order = &view.token_order;
        TokenOrderJson {
            order: order.order.get(),
            customer: order.customer.get(),
            package: order.package,
            units: order.units,
            email_confirmation: order.email_confirmation,
            cost: order.cost,
            priority: order.priority,
            position: view.position,
            refunded: order.refund.is_some(),
            rerun_of: order.rerun_of.map(OrderId::get),
            profile: order.profile,
        }
    }
}

/// The token side of an order.
#[utoipa::path(
    get, operation_id = "getTokenOrder", path = "/api/v1/orders/{id}/tokens", tag = "tokens",
    params(("id" = u64, Path, description = "The order")),
    responses(
        (status = 200, description = "Its cost and place in the queue", body = TokenOrderJson),
        (status = 404, description = "No such order, none of the token service, or the module is off", body = ErrorResponse),
    )
)]
pub async fn token_order(
    State(state): State<AppState>,
    user: ApiUser,
    ApiPath(id): ApiPath<u64>,
) -> Result<ApiJson<TokenOrderJson>, ApiError> {
    let order = OrderId::new(id);
    let view = state
        .blocking(move |crm| crm.token_order(&user.actor, order))
        .await?
        .ok_or_else(|| crm_lib::Error::not_found("token order", id))?;
    Ok(ApiJson(TokenOrderJson::from(&view)))
}

/// One order in the queue.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct QueueRowView {
    /// Its place, from 1.
    pub position: u64,
    /// The order.
    pub order: u64,
    /// Its title.
    pub title: String,
    /// The customer.
    pub customer: u64,
    /// The customer's name.
    pub customer_name: String,
    /// Its stage id.
    pub stage: u16,
    /// A subscriber's order.
    pub priority: bool,
    /// Tokens charged.
    pub cost: u64,
}

impl From<&QueueRow> for QueueRowView {
    fn from(row: &QueueRow) -> Self {
        QueueRowView {
            position: row.position,
            order: row.row.order.id.get(),
            title: row.row.order.title.clone(),
            customer: row.row.order.customer.get(),
            customer_name: row.row.customer_name.clone(),
            stage: row.row.order.stage.get(),
            priority: row.token_order.priority,
            cost: row.token_order.cost,
        }
    }
}

/// `?limit=`.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct QueueQuery {
    /// How many, 1-500 (default 500).
    pub limit: Option<usize>,
}

/// The queue, next first (needs `view_orders`).
#[utoipa::path(
    get, operation_id = "getTokenQueue", path = "/api/v1/token-queue", tag = "tokens", params(QueueQuery),
    responses(
        (status = 200, description = "The queued orders", body = [QueueRowView]),
        (status = 403, description = "Missing view_orders", body = ErrorResponse),
        (status = 404, description = "The tokens module is off", body = ErrorResponse),
    )
)]
pub async fn queue(
    State(state): State<AppState>,
    user: ApiUser,
    ApiQuery(query): ApiQuery<QueueQuery>,
) -> Result<ApiJson<Vec<QueueRowView>>, ApiError> {
    let limit = query.limit.unwrap_or(crm_lib::tokens::QUEUE_PAGE_MAX);
    let rows = state
        .blocking(move |crm| crm.queue(&user.actor, limit))
        .await?;
    Ok(ApiJson(rows.iter().map(QueueRowView::from).collect()))
}

/// Where to move an order in the queue.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct QueueMove {
    /// The queued order to place it before; absent for the end.
    pub before: Option<u64>,
}

/// Its new place.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct QueuePlace {
    /// From 1.
    pub position: u64,
}

/// Moves a queued order before another or to the end (needs `assign_orders`).
#[utoipa::path(
    post, operation_id = "moveInTokenQueue", path = "/api/v1/token-queue/{order}/move", tag = "tokens",
    params(("order" = u64, Path, description = "The queued order")),
    request_body = QueueMove,
    responses(
        (status = 200, description = "Its new place", body = QueuePlace),
        (status = 403, description = "Missing assign_orders", body = ErrorResponse),
        (status = 404, description = "No such order, or the module is off", body = ErrorResponse),
        (status = 409, description = "The order is not queued", body = ErrorResponse),
        (status = 422, description = "`before` is not queued", body = ErrorResponse),
    )
)]
pub async fn move_in_queue(
    State(state): State<AppState>,
    user: ApiUser,
    ApiPath(order): ApiPath<u64>,
    ApiJson(body): ApiJson<QueueMove>,
) -> Result<ApiJson<QueuePlace>, ApiError> {
    let position = state
        .blocking(move |crm| {
            crm.move_in_queue(
                &user.actor,
                OrderId::new(order),
                body.before.map(OrderId::new),
            )
        })
        .await?;
    Ok(ApiJson(QueuePlace { position }))
}

/// A scheduled message.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ScheduledView {
    /// Its id.
    pub id: u64,
    /// The customer.
    pub customer: u64,
    /// The text.
    pub text: String,
    /// When it is (or was) to be sent, RFC 3339.
    pub send_at: String,
    /// `waiting`, `sent`, `cancelled` or `failed`.
    pub state: String,
    /// The chat message it became, once sent.
    pub message: Option<u64>,
    /// Why it was not sent, when it failed.
    pub reason: Option<String>,
}

impl From<&crm_lib::model::ScheduledMessage> for ScheduledView {
    fn from(scheduled: &crm_lib::model::ScheduledMessage) -> Self {
        use crm_lib::model::ScheduledState;
        let (state, message, reason) = match &scheduled.state {
            ScheduledState::Waiting => ("waiting", None, None),
            ScheduledState::Sent { message, .. } => ("sent", Some(message.get()), None),
            ScheduledState::Cancelled { .. } => ("cancelled", None, None),
            ScheduledState::Failed { reason } => ("failed", None, Some(reason.clone())),
        };
        ScheduledView {
            id: scheduled.id,
            customer: scheduled.customer.get(),
            text: scheduled.text.clone(),
            send_at: scheduled.send_at.to_rfc3339(),
            state: state.to_string(),
            message,
            reason,
        }
    }
}

/// A message to schedule.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct ScheduleBody {
    /// The text, 1-4096 characters.
    pub text: String,
    /// When to send it, RFC 3339 (at least a minute and at most 366 days ahead).
    pub send_at: String,
}

/// A customer's scheduled messages, waiting first (needs `chat_customers`).
#[utoipa::path(
    get, operation_id = "listScheduled", path = "/api/v1/customers/{id}/scheduled", tag = "messages",
    params(("id" = u64, Path, description = "The customer")),
    responses(
        (status = 200, description = "The scheduled messages", body = [ScheduledView]),
        (status = 403, description = "Missing chat_customers", body = ErrorResponse),
        (status = 404, description = "No such customer", body = ErrorResponse),
    )
)]
pub async fn list_scheduled(
    State(state): State<AppState>,
    user: ApiUser,
    ApiPath(id): ApiPath<u64>,
) -> Result<ApiJson<Vec<ScheduledView>>, ApiError> {
    let list = state
        .blocking(move |crm| crm.scheduled(&user.actor, CustomerId::new(id)))
        .await?;
    Ok(ApiJson(list.iter().map(ScheduledView::from).collect()))
}

/// Schedules a message to a customer, sent by the `scheduled_messages` job within a minute
/// of its moment (needs `chat_customers`).
#[utoipa::path(
    post, operation_id = "scheduleMessage", path = "/api/v1/customers/{id}/scheduled", tag = "messages",
    params(("id" = u64, Path, description = "The customer")),
    request_body = ScheduleBody,
    responses(
        (status = 201, description = "Scheduled", body = ScheduledView),
        (status = 403, description = "Missing chat_customers", body = ErrorResponse),
        (status = 404, description = "No such customer", body = ErrorResponse),
        (status = 422, description = "A bad text or moment", body = ErrorResponse),
    )
)]
pub async fn schedule(
    State(state): State<AppState>,
    user: ApiUser,
    ApiPath(id): ApiPath<u64>,
    ApiJson(body): ApiJson<ScheduleBody>,
) -> Result<(StatusCode, ApiJson<ScheduledView>), ApiError> {
    let send_at = crm_lib::model::Timestamp::parse_rfc3339("send_at", &body.send_at)?;
    let scheduled = state
        .blocking(move |crm| {
            crm.schedule_message(
                &user.actor,
                crm_lib::scheduled::NewScheduled {
                    customer: CustomerId::new(id),
                    text: body.text,
                    send_at,
                },
            )
        })
        .await?;
    Ok((
        StatusCode::CREATED,
        ApiJson(ScheduledView::from(&scheduled)),
    ))
}

/// Cancels a waiting scheduled message (needs `chat_customers`).
#[utoipa::path(
    post, operation_id = "cancelScheduled", path = "/api/v1/scheduled/{id}/cancel", tag = "messages",
    params(("id" = u64, Path, description = "The scheduled message")),
    responses(
        (status = 200, description = "Cancelled", body = ScheduledView),
        (status = 403, description = "Missing chat_customers", body = ErrorResponse),
        (status = 404, description = "No such scheduled message", body = ErrorResponse),
        (status = 409, description = "Already sent, cancelled or failed", body = ErrorResponse),
    )
)]
pub async fn cancel_scheduled(
    State(state): State<AppState>,
    user: ApiUser,
    ApiPath(id): ApiPath<u64>,
) -> Result<ApiJson<ScheduledView>, ApiError> {
    let scheduled = state
        .blocking(move |crm| crm.cancel_scheduled(&user.actor, id))
        .await?;
    Ok(ApiJson(ScheduledView::from(&scheduled)))
}
