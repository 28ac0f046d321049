//! The token service's pages (issue 13): a customer's ledger (`/customers/{id}/tokens`: the
//! balance, Premium, the entries newest first, and the forms crm-lib's `LedgerActions` allow:
//! adjust, bonus, Premium days, an order of a package), the queue (`/queue`: first first,
//! reordered by dragging (`assets/js/queue.js`) or with each row's buttons), and the
//! packages and settings (`/settings/packages`). Each handler makes one crm-lib call; the
//! markup is a pure function of what was read. The order page's token section is
//! [`order_section`]; its rerun button posts to `pages/orders.rs`.

use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use crm_lib::model::{
    ActorRef, Customer, CustomerId, Language, LedgerEntry, Localized, OrderId, Package,
    TokenSettings,
};
use crm_lib::tokens::{LedgerPage, PackageInput, QueueRow, TokenOrderRequest, TokenOrderView};
use crm_lib::{ErrorKind, Page};
use maud::{Markup, html};
use serde::Deserialize;

use crate::AppState;
use crate::web::auth::Staff;
use crate::web::csrf;
use crate::web::error::AppError;
use crate::web::i18n::{tr_with, when};
use crate::web::layout::{FormError, Nav, csrf_field, notice, page};

/// Ledger entries per page.
const LEDGER_PAGE: usize = 50;

/// The pages' routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/customers/{id}/tokens", get(ledger))
        .route("/customers/{id}/tokens/adjust", post(adjust))
        .route("/customers/{id}/tokens/bonus", post(bonus))
        .route("/customers/{id}/tokens/premium", post(premium))
        .route("/customers/{id}/tokens/order", post(place_order))
        .route("/queue", get(queue))
        .route("/queue/{order}/move", post(move_in_queue))
        .route("/settings/packages", get(packages).post(create_package))
        .route("/settings/packages/{id}", post(update_package))
        .route("/settings/tokens", post(save_settings))
}

/// A customer's number from a path, or not found.
pub(crate) fn customer_id(text: &str) -> Result<CustomerId, AppError> {
    text.trim()
        .parse()
        .map(CustomerId::new)
        .map_err(|_| AppError::not_found(format!("customer {text:?} not found")))
}

/// `?after=<entry>&done=<key>`.
#[derive(Debug, Default, Deserialize)]
struct LedgerQuery {
    #[serde(default)]
    after: Option<u64>,
    #[serde(default)]
    done: Option<String>,
}

/// What the ledger page shows, read on one snapshot.
struct LedgerData {
    customer: Customer,
    ledger: LedgerPage,
    /// The packages staff may order for the customer (when they may).
    packages: Vec<Package>,
}

/// `GET /customers/{id}/tokens`.
async fn ledger(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Query(query): Query<LedgerQuery>,
) -> Result<Markup, AppError> {
    let id = customer_id(&id)?;
    let note = query
        .done
        .as_deref()
        .map(|key| staff.t(&format!("tokens.web.done.{key}")));
    render_ledger(
        &state,
        &staff,
        id,
        query.after,
        &FormError::none(),
        note.as_deref(),
    )
    .await
}

async fn render_ledger(
    state: &AppState,
    staff: &Staff,
    id: CustomerId,
    after: Option<u64>,
    error: &FormError,
    note: Option<&str>,
) -> Result<Markup, AppError> {
    let actor = staff.actor.clone();
    let data = state
        .blocking(move |crm| {
            crm.read(|view| {
                let ledger = crm_lib::tokens::ledger_in(
                    view,
                    &actor,
                    id,
                    Page {
                        after,
                        limit: LEDGER_PAGE,
                    },
                )?;
                let customer = crm_lib::customers::customer_in(view, &actor, id)?;
                let packages = if ledger.actions.order {
                    crm_lib::tokens::packages_in(view, &actor)?
                        .into_iter()
                        .filter(|package| package.active)
                        .collect()
                } else {
                    Vec::new()
                };
                Ok(LedgerData {
                    customer,
                    ledger,
                    packages,
                })
            })
        })
        .await?;
    let title = tr_with(
        staff.language,
        "tokens.web.ledger_title",
        &[("name", &data.customer.full_name())],
    );
    Ok(page(
        staff,
        &title,
        Nav::None,
        ledger_body(staff, &data, after.is_some(), error, note),
    ))
}

/// An entry's author in words.
fn by(staff: &Staff, entry: &LedgerEntry) -> String {
    match entry.by {
        ActorRef::Staff(user) => tr_with(staff.language, "tokens.web.by_staff", &[("user", &user)]),
        ActorRef::Customer(_) => staff.t("tokens.web.by_customer"),
        ActorRef::System => staff.t("tokens.web.by_system"),
    }
}

fn ledger_body(
    staff: &Staff,
    data: &LedgerData,
    paged: bool,
    error: &FormError,
    note: Option<&str>,
) -> Markup {
    let LedgerData {
        customer,
        ledger,
        packages,
    } = data;
    let account = &ledger.account;
    let base = format!("/customers/{}/tokens", customer.id);
    html! {
        p.muted { a href={ "/customers/" (customer.id) } { (staff.t("tokens.web.back_to_customer")) } }
        (notice(note))
        (error.general(&["amount", "reason", "days", "package"]))
        section.card.token-account {
            p.balance {
                (staff.t("tokens.web.balance")) ": "
                strong #token-balance { (account.balance) }
                " " (staff.t("tokens.web.tokens"))
            }
            p {
                @match (ledger.subscriber, account.premium_until) {
                    (true, Some(until)) => {
                        span.badge.premium { "⭐ " (staff.t("tokens.web.premium")) }
                        " " (tr_with(staff.language, "tokens.web.premium_until", &[("when", &when(until))]))
                    }
                    (false, Some(until)) => {
                        (tr_with(staff.language, "tokens.web.premium_ended", &[("when", &when(until))]))
                    }
                    _ => { (staff.t("tokens.web.no_premium")) }
                }
            }
        }
        @if ledger.actions.adjust {
            section.card {
                h2 { (staff.t("tokens.web.adjust")) }
                form.form.inline method="post" action={ (base) "/adjust" } {
                    (csrf_field(staff))
                    label { (staff.t("tokens.web.amount"))
                        input type="number" name="amount" required step="1" placeholder="-50";
                    }
                    label { (staff.t("tokens.web.reason"))
                        input type="text" name="reason" required maxlength="500";
                    }
                    button type="submit" { (staff.t("tokens.web.adjust_button")) }
                }
                (error.at("amount"))
                (error.at("reason"))
                form.form.inline method="post" action={ (base) "/bonus" } {
                    (csrf_field(staff))
                    label { (staff.t("tokens.web.bonus_amount"))
                        input type="number" name="amount" required min="1" step="1";
                    }
                    label { (staff.t("tokens.web.note"))
                        input type="text" name="reason" required maxlength="500";
                    }
                    button type="submit" { (staff.t("tokens.web.bonus_button")) }
                }
                form.form.inline method="post" action={ (base) "/premium" } {
                    (csrf_field(staff))
                    label { (staff.t("tokens.web.premium_days"))
                        input type="number" name="days" required min="1" max="366" value="30";
                    }
                    button type="submit" { (staff.t("tokens.web.premium_button")) }
                }
                (error.at("days"))
            }
        }
        @if ledger.actions.order && !packages.is_empty() {
            section.card {
                h2 { (staff.t("tokens.web.order")) }
                form.form.inline method="post" action={ (base) "/order" } {
                    (csrf_field(staff))
                    label { (staff.t("tokens.web.package"))
                        select name="package" required {
                            @for package in packages {
                                option value=(package.id) {
                                    (package.name.get(staff.language)) " · " (package.price) " / " (package.subscriber_price)
                                }
                            }
                        }
                    }
                    label.checkbox {
                        input type="checkbox" name="email" value="1";
                        " " (staff.t("tokens.web.email_addon"))
                    }
                    button type="submit" { (staff.t("tokens.web.order_button")) }
                }
                (error.at("package"))
            }
        }
        section.card #ledger data-live-refresh="customer" {
            h2 { (staff.t("tokens.web.entries")) }
            @if ledger.entries.items.is_empty() {
                p.muted { (staff.t("tokens.web.no_entries")) }
            } @else {
                table.ledger {
                    thead { tr {
                        th scope="col" { (staff.t("tokens.web.when")) }
                        th scope="col" { (staff.t("tokens.web.kind")) }
                        th scope="col" { (staff.t("tokens.web.amount")) }
                        th scope="col" { (staff.t("tokens.web.balance_after")) }
                        th scope="col" { (staff.t("tokens.web.description")) }
                        th scope="col" { (staff.t("tokens.web.by")) }
                    } }
                    tbody {
                        @for entry in &ledger.entries.items {
                            tr {
                                td { (when(entry.at)) }
                                td { (staff.t(&format!("tokens.kind.{}", entry.kind.as_str()))) }
                                td.amount.credit[entry.amount > 0] { (format!("{:+}", entry.amount)) }
                                td.amount { (entry.balance_after) }
                                td {
                                    @if let Some(order) = entry.order {
                                        a href={ "/orders/" (order) } { "#" (order) } " · "
                                    }
                                    (entry.description)
                                    @if let Some(payment) = &entry.payment {
                                        " · "
                                        @if payment.starts_with("oxapay:") || payment.starts_with("stars:") {
                                            a href={ "/payments?payment=" (payment) } title=(staff.t("payments.web.invoice_link")) { code { (payment) } }
                                        } @else {
                                            code { (payment) }
                                        }
                                    }
                                }
                                td { (by(staff, entry)) }
                            }
                        }
                    }
                }
                p.pager {
                    @if paged { a href=(base) { (staff.t("tokens.web.newest")) } " " }
                    @if let Some(next) = ledger.entries.next {
                        a href={ (base) "?after=" (next) } { (staff.t("tokens.web.older")) }
                    }
                }
            }
        }
    }
}

/// The ledger forms: `amount`, `reason`, `days`, `package`, `email`.
#[derive(Debug, Default, Deserialize)]
struct LedgerForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    amount: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    days: String,
    #[serde(default)]
    package: String,
    #[serde(default)]
    email: Option<String>,
}

/// A whole number typed in `field`.
fn number<T: std::str::FromStr>(field: &'static str, text: &str) -> crm_lib::Result<T> {
    text.trim()
        .parse()
        .map_err(|_| crm_lib::Error::invalid(field, "enter a whole number"))
}

/// After a ledger form: back to the page with a note, or the page again with the error.
async fn after_ledger_action(
    state: &AppState,
    staff: &Staff,
    id: CustomerId,
    result: crm_lib::Result<()>,
    done: &str,
) -> Result<Response, AppError> {
    match result {
        Ok(()) => Ok(Redirect::to(&format!("/customers/{id}/tokens?done={done}")).into_response()),
        Err(error) if matches!(error.kind(), ErrorKind::InvalidInput | ErrorKind::Conflict) => {
            let status = crate::web::error::status_of(error.kind());
            let markup =
                render_ledger(state, staff, id, None, &FormError::from_error(&error), None).await?;
            Ok((status, markup).into_response())
        }
        Err(error) => Err(error.into()),
    }
}

/// `POST /customers/{id}/tokens/adjust`.
async fn adjust(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    headers: HeaderMap,
    Form(form): Form<LedgerForm>,
) -> Result<Response, AppError> {
    csrf::verify(&staff, &form.csrf, &headers)?;
    let id = customer_id(&id)?;
    let actor = staff.actor.clone();
    let result = match number::<i64>("amount", &form.amount) {
        Ok(amount) => state
            .blocking(move |crm| Ok(crm.adjust_tokens(&actor, id, amount, &form.reason)))
            .await?
            .map(drop),
        Err(error) => Err(error),
    };
    after_ledger_action(&state, &staff, id, result, "adjusted").await
}

/// `POST /customers/{id}/tokens/bonus`.
async fn bonus(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    headers: HeaderMap,
    Form(form): Form<LedgerForm>,
) -> Result<Response, AppError> {
    csrf::verify(&staff, &form.csrf, &headers)?;
    let id = customer_id(&id)?;
    let actor = staff.actor.clone();
    let result = match number::<u64>("amount", &form.amount) {
        Ok(amount) => state
            .blocking(move |crm| Ok(crm.grant_bonus(&actor, id, amount, &form.reason)))
            .await?
            .map(drop),
        Err(error) => Err(error),
    };
    after_ledger_action(&state, &staff, id, result, "bonus").await
}

/// `POST /customers/{id}/tokens/premium`.
async fn premium(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    headers: HeaderMap,
    Form(form): Form<LedgerForm>,
) -> Result<Response, AppError> {
    csrf::verify(&staff, &form.csrf, &headers)?;
    let id = customer_id(&id)?;
    let actor = staff.actor.clone();
    let result = match number::<u32>("days", &form.days) {
        Ok(days) => state
            .blocking(move |crm| Ok(crm.grant_subscription(&actor, id, days)))
            .await?
            .map(drop),
        Err(error) => Err(error),
    };
    after_ledger_action(&state, &staff, id, result, "premium").await
}

/// `POST /customers/{id}/tokens/order`: staff order a package for the customer.
async fn place_order(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    headers: HeaderMap,
    Form(form): Form<LedgerForm>,
) -> Result<Response, AppError> {
    csrf::verify(&staff, &form.csrf, &headers)?;
    let id = customer_id(&id)?;
    let actor = staff.actor.clone();
    let request = number::<u64>("package", &form.package).map(|package| TokenOrderRequest {
        customer: Some(id),
        package,
        email_confirmation: form.email.is_some(),
        profile: None,
    });
    let result = match request {
        Ok(request) => {
            state
                .blocking(move |crm| Ok(crm.place_token_order(&actor, request)))
                .await?
        }
        Err(error) => Err(error),
    };
    match result {
        Ok(placed) => Ok(Redirect::to(&format!("/orders/{}", placed.order.id)).into_response()),
        Err(error) => after_ledger_action(&state, &staff, id, Err(error), "ordered").await,
    }
}

// ----- the queue -----

/// `GET /queue`.
async fn queue(
    State(state): State<AppState>,
    staff: Staff,
    Query(query): Query<LedgerQuery>,
) -> Result<Markup, AppError> {
    let note = query
        .done
        .as_deref()
        .map(|key| staff.t(&format!("tokens.web.done.{key}")));
    let actor = staff.actor.clone();
    let rows = state
        .blocking(move |crm| crm.queue(&actor, crm_lib::tokens::QUEUE_PAGE_MAX))
        .await?;
    Ok(page(
        &staff,
        &staff.t("tokens.web.queue_title"),
        Nav::Queue,
        queue_body(&staff, &rows, note.as_deref()),
    ))
}

fn queue_body(staff: &Staff, rows: &[QueueRow], note: Option<&str>) -> Markup {
    let may_move = staff.navigation().reorder_queue;
    html! {
        p.muted { (staff.t("tokens.web.queue_hint")) }
        (notice(note))
        @if rows.is_empty() {
            p.muted { (staff.t("tokens.web.queue_empty")) }
        } @else {
            ol.token-queue data-csrf=(staff.csrf) data-movable[may_move] data-live-refresh="order" #token-queue {
                @for (index, row) in rows.iter().enumerate() {
                    @let order = row.row.order.id;
                    li.queue-row draggable=[may_move.then_some("true")] data-order=(order) {
                        span.position { (row.position) }
                        @if row.token_order.priority { span.badge.premium title=(staff.t("tokens.web.priority")) { "⭐" } }
                        a href={ "/orders/" (order) } { "#" (order) " " (row.row.order.title) }
                        span.muted { " · " (row.row.customer_name) " · " (row.token_order.cost) " " (staff.t("tokens.web.tokens")) }
                        @if may_move {
                            span.queue-moves {
                                @if index > 0 {
                                    (move_button(staff, order, Some(rows[0].row.order.id), "tokens.web.to_top", "⤒"))
                                    (move_button(staff, order, Some(rows[index - 1].row.order.id), "tokens.web.up", "↑"))
                                }
                                @if index + 2 < rows.len() {
                                    (move_button(staff, order, Some(rows[index + 2].row.order.id), "tokens.web.down", "↓"))
                                }
                                @if index + 1 < rows.len() {
                                    (move_button(staff, order, None, "tokens.web.to_end", "⤓"))
                                }
                            }
                        }
                    }
                }
            }
            p.queue-error hidden role="alert" {}
        }
        script src="/assets/js/queue.js" defer {}
    }
}

/// A small form that moves `order` before `before` (the end when `None`).
fn move_button(
    staff: &Staff,
    order: OrderId,
    before: Option<OrderId>,
    label: &str,
    icon: &str,
) -> Markup {
    html! {
        form.inline method="post" action={ "/queue/" (order) "/move" } {
            (csrf_field(staff))
            @if let Some(before) = before { input type="hidden" name="before" value=(before); }
            button.small type="submit" title=(staff.t(label)) aria-label=(staff.t(label)) { (icon) }
        }
    }
}

/// An order's number from a path or a form (`#` allowed), or not found.
fn order_id(text: &str) -> Result<OrderId, AppError> {
    text.trim()
        .trim_start_matches('#')
        .parse::<u64>()
        .map(OrderId::new)
        .map_err(|_| AppError::not_found(format!("order {text:?} not found")))
}

/// `before`: the order to move in front of; empty for the end.
#[derive(Debug, Default, Deserialize)]
struct MoveForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    before: String,
}

/// `POST /queue/{order}/move`.
async fn move_in_queue(
    State(state): State<AppState>,
    staff: Staff,
    Path(order): Path<String>,
    headers: HeaderMap,
    Form(form): Form<MoveForm>,
) -> Result<Response, AppError> {
    let token = if form.csrf.is_empty() {
        csrf::header_token(&headers)
    } else {
        form.csrf.as_str()
    };
    csrf::verify(&staff, token, &headers)?;
    let order = order_id(&order)?;
    let before = match form.before.trim() {
        "" => None,
        text => Some(order_id(text)?),
    };
    let actor = staff.actor.clone();
    state
        .blocking(move |crm| crm.move_in_queue(&actor, order, before))
        .await?;
    Ok(Redirect::to("/queue?done=moved").into_response())
}

// ----- packages and settings -----

/// What the packages page shows.
struct PackagesData {
    packages: Vec<Package>,
    settings: TokenSettings,
}

/// `GET /settings/packages`.
async fn packages(
    State(state): State<AppState>,
    staff: Staff,
    Query(query): Query<LedgerQuery>,
) -> Result<Markup, AppError> {
    let note = query
        .done
        .as_deref()
        .map(|key| staff.t(&format!("tokens.web.done.{key}")));
    render_packages(&state, &staff, &FormError::none(), None, note.as_deref()).await
}

async fn render_packages(
    state: &AppState,
    staff: &Staff,
    error: &FormError,
    failed: Option<u64>,
    note: Option<&str>,
) -> Result<Markup, AppError> {
    let actor = staff.actor.clone();
    let setup = state
        .blocking(move |crm| crm.read(|view| crm_lib::tokens::token_setup_in(view, &actor)))
        .await?;
    let data = PackagesData {
        packages: setup.packages,
        settings: setup.settings,
    };
    Ok(page(
        staff,
        &staff.t("tokens.web.packages_title"),
        Nav::Packages,
        packages_body(staff, &data, error, failed, note),
    ))
}

/// The inputs of one package's form, filled from `package` when editing.
fn package_inputs(staff: &Staff, package: Option<&Package>) -> Markup {
    html! {
        label { (staff.t("tokens.web.key"))
            input type="text" name="key" required maxlength="32" pattern="[a-z0-9_]{1,32}"
                value=(package.map_or("", |package| package.key.as_str()));
        }
        @for language in Language::all() {
            label { (tr_with(staff.language, "tokens.web.name_in", &[("language", &language.native_name())]))
                input type="text" name={ "name_" (language.code()) } maxlength="100"
                    value=(package.and_then(|package| package.name.exact(language)).unwrap_or(""));
            }
        }
        label { (staff.t("tokens.web.units"))
            input type="number" name="units" required min="1" value=(package.map_or(String::new(), |package| package.units.to_string()));
        }
        label { (staff.t("tokens.web.price"))
            input type="number" name="price" required min="1" value=(package.map_or(String::new(), |package| package.price.to_string()));
        }
        label { (staff.t("tokens.web.subscriber_price"))
            input type="number" name="subscriber_price" required min="1" value=(package.map_or(String::new(), |package| package.subscriber_price.to_string()));
        }
        label { (staff.t("tokens.web.position"))
            input type="number" name="position" min="0" value=(package.map_or(String::from("0"), |package| package.position.to_string()));
        }
        label.checkbox {
            input type="checkbox" name="active" value="1" checked[package.is_none_or(|package| package.active)];
            " " (staff.t("tokens.web.active"))
        }
    }
}

fn packages_body(
    staff: &Staff,
    data: &PackagesData,
    error: &FormError,
    failed: Option<u64>,
    note: Option<&str>,
) -> Markup {
    let settings = &data.settings;
    html! {
        (notice(note))
        @if failed.is_none() { (error.general(&[])) }
        table.packages {
            thead { tr {
                th scope="col" { (staff.t("tokens.web.name")) }
                th scope="col" { (staff.t("tokens.web.units")) }
                th scope="col" { (staff.t("tokens.web.price")) }
                th scope="col" { (staff.t("tokens.web.subscriber_price")) }
                th scope="col" { (staff.t("tokens.web.discount")) }
                th scope="col" { (staff.t("tokens.web.active")) }
            } }
            tbody {
                @for package in &data.packages {
                    tr {
                        td { (package.name.get(staff.language)) " " code { (package.key) } }
                        td { (package.units) }
                        td { (package.price) }
                        td { (package.subscriber_price) }
                        td { (package.discount_percent()) "%" }
                        td { @if package.active { "✓" } @else { "—" } }
                    }
                }
            }
        }
        @for package in &data.packages {
            details.card open[failed == Some(package.id)] {
                summary { (tr_with(staff.language, "tokens.web.edit_package", &[("name", &package.name.get(staff.language))])) }
                form.form method="post" action={ "/settings/packages/" (package.id) } {
                    (csrf_field(staff))
                    (package_inputs(staff, Some(package)))
                    @if failed == Some(package.id) { (error.general(&[])) }
                    button type="submit" { (staff.t("tokens.web.save")) }
                }
            }
        }
        section.card {
            h2 { (staff.t("tokens.web.new_package")) }
            form.form method="post" action="/settings/packages" {
                (csrf_field(staff))
                (package_inputs(staff, None))
                @if failed == Some(0) { (error.general(&[])) }
                button type="submit" { (staff.t("tokens.web.add_package")) }
            }
        }
        section.card {
            h2 { (staff.t("tokens.web.settings")) }
            form.form method="post" action="/settings/tokens" {
                (csrf_field(staff))
                @for (field, value) in [
                    ("email_addon_price", settings.email_addon_price),
                    ("email_addon_subscriber_price", settings.email_addon_subscriber_price),
                    ("low_balance_threshold", settings.low_balance_threshold),
                    ("subscription_price", settings.subscription_price),
                    ("subscription_days", u64::from(settings.subscription_days)),
                    ("reminder_days", u64::from(settings.reminder_days)),
                ] {
                    label { (staff.t(&format!("tokens.web.setting.{field}")))
                        input type="number" name=(field) required min="0" value=(value);
                        (error.at(field))
                    }
                }
                button type="submit" { (staff.t("tokens.web.save")) }
            }
        }
    }
}

/// A package's form: `key`, `name_<code>`, `units`, `price`, `subscriber_price`,
/// `position`, `active`.
#[derive(Debug, Default, Deserialize)]
struct PackageForm {
    #[serde(flatten)]
    fields: std::collections::HashMap<String, String>,
}

impl PackageForm {
    fn get(&self, name: &str) -> &str {
        self.fields.get(name).map_or("", String::as_str)
    }

    fn input(&self) -> crm_lib::Result<PackageInput> {
        let mut name = Localized::default();
        for language in Language::all() {
            let text = self.get(&format!("name_{}", language.code())).trim();
            if !text.is_empty() {
                name.set(language, text);
            }
        }
        Ok(PackageInput {
            key: self.get("key").to_string(),
            name,
            units: number("units", self.get("units"))?,
            price: number("price", self.get("price"))?,
            subscriber_price: number("subscriber_price", self.get("subscriber_price"))?,
            active: !self.get("active").is_empty(),
            position: match self.get("position").trim() {
                "" => 0,
                text => number("position", text)?,
            },
        })
    }
}

async fn save_package(
    state: &AppState,
    staff: &Staff,
    headers: &HeaderMap,
    id: Option<u64>,
    form: PackageForm,
) -> Result<Response, AppError> {
    csrf::verify(staff, form.get("csrf"), headers)?;
    let actor = staff.actor.clone();
    let result = match form.input() {
        Ok(input) => {
            state
                .blocking(move |crm| Ok(crm.save_package(&actor, id, input)))
                .await?
        }
        Err(error) => Err(error),
    };
    match result {
        Ok(_) => Ok(Redirect::to("/settings/packages?done=package").into_response()),
        Err(error)
            if error.kind() == ErrorKind::InvalidInput || error.kind() == ErrorKind::Conflict =>
        {
            let status = crate::web::error::status_of(error.kind());
            let markup = render_packages(
                state,
                staff,
                &FormError::from_error(&error),
                Some(id.unwrap_or(0)),
                None,
            )
            .await?;
            Ok((status, markup).into_response())
        }
        Err(error) => Err(error.into()),
    }
}

/// `POST /settings/packages`: a new package.
async fn create_package(
    State(state): State<AppState>,
    staff: Staff,
    headers: HeaderMap,
    Form(form): Form<PackageForm>,
) -> Result<Response, AppError> {
    save_package(&state, &staff, &headers, None, form).await
}

/// `POST /settings/packages/{id}`: a package changed.
async fn update_package(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    headers: HeaderMap,
    Form(form): Form<PackageForm>,
) -> Result<Response, AppError> {
    let id: u64 = id
        .trim()
        .parse()
        .map_err(|_| AppError::not_found(format!("package {id:?} not found")))?;
    save_package(&state, &staff, &headers, Some(id), form).await
}

/// `POST /settings/tokens`: the settings form.
async fn save_settings(
    State(state): State<AppState>,
    staff: Staff,
    headers: HeaderMap,
    Form(form): Form<PackageForm>,
) -> Result<Response, AppError> {
    csrf::verify(&staff, form.get("csrf"), &headers)?;
    let settings = (|| -> crm_lib::Result<TokenSettings> {
        Ok(TokenSettings {
            email_addon_price: number("email_addon_price", form.get("email_addon_price"))?,
            email_addon_subscriber_price: number(
                "email_addon_subscriber_price",
                form.get("email_addon_subscriber_price"),
            )?,
            low_balance_threshold: number(
                "low_balance_threshold",
                form.get("low_balance_threshold"),
            )?,
            subscription_price: number("subscription_price", form.get("subscription_price"))?,
            subscription_days: number("subscription_days", form.get("subscription_days"))?,
            reminder_days: number("reminder_days", form.get("reminder_days"))?,
        })
    })();
    let actor = staff.actor.clone();
    let result = match settings {
        Ok(settings) => {
            state
                .blocking(move |crm| Ok(crm.update_token_settings(&actor, settings)))
                .await?
        }
        Err(error) => Err(error),
    };
    match result {
        Ok(_) => Ok(Redirect::to("/settings/packages?done=settings").into_response()),
        Err(error) if error.kind() == ErrorKind::InvalidInput => {
            let status = crate::web::error::status_of(error.kind());
            let markup =
                render_packages(&state, &staff, &FormError::from_error(&error), None, None).await?;
            Ok((status, markup).into_response())
        }
        Err(error) => Err(error.into()),
    }
}

// ----- the order page -----

/// The order page's token section: package, cost, Premium price, queue place, refund, the
/// order it runs again, and Run again when crm-lib's view allows.
pub fn order_section(staff: &Staff, order: OrderId, view: &TokenOrderView) -> Markup {
    let token_order = &view.token_order;
    html! {
        section.card #token-order {
            h2 { (staff.t("tokens.web.order_section")) }
            dl.fields {
                dt { (staff.t("tokens.web.package")) }
                dd { (view.package_name.get(staff.language)) " (" (token_order.units) ")"
                    @if token_order.email_confirmation { " + " (staff.t("tokens.web.email_addon")) } }
                dt { (staff.t("tokens.web.cost")) }
                dd { (token_order.cost) " " (staff.t("tokens.web.tokens"))
                    @if token_order.subscriber_price { " · " span.badge.premium { "⭐ " (staff.t("tokens.web.premium")) } } }
                @if let Some(position) = view.position {
                    dt { (staff.t("tokens.web.position_in_queue")) }
                    dd { a href="/queue" { (position) } }
                }
                @if token_order.refund.is_some() {
                    dt { (staff.t("tokens.web.refund")) }
                    dd { (staff.t("tokens.web.refunded")) }
                }
                @if let Some(original) = token_order.rerun_of {
                    dt { (staff.t("tokens.web.rerun_of")) }
                    dd { a href={ "/orders/" (original) } { "#" (original) } }
                }
            }
            p { a href={ "/customers/" (token_order.customer) "/tokens" } { (staff.t("tokens.web.customer_ledger")) } }
            @if view.may_rerun {
                form.form.inline method="post" action={ "/orders/" (order) "/rerun" } {
                    (csrf_field(staff))
                    button type="submit" { "🔁 " (staff.t("tokens.web.rerun")) }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crm_lib::Paged;
    use crm_lib::model::{BuiltinRole, Timestamp, TokenAccount};
    use insta::assert_snapshot;

    use super::*;
    use crate::web::testing::{Fixture, pretty};

    fn entry(id: u64, kind: crm_lib::model::LedgerKind, amount: i64, balance: i64) -> LedgerEntry {
        LedgerEntry {
            id,
            customer: CustomerId::new(2),
            kind,
            amount,
            balance_after: balance,
            order: (amount < 0).then_some(OrderId::new(7)),
            payment: (kind == crm_lib::model::LedgerKind::Purchase)
                .then(|| "oxapay:TRACK1".to_string()),
            description: "100 sites <b>".into(),
            by: ActorRef::System,
            at: Timestamp::from_millis(1_767_603_600_000 + i64::try_from(id).unwrap() * 60_000),
        }
    }

    #[test]
    fn the_ledger_page_shows_the_balance_premium_entries_and_the_forms_allowed() {
        let fixture = Fixture::new("service");
        let staff = fixture.staff(BuiltinRole::Administrator, Language::EN);
        let customer = fixture
            .crm
            .create_customer(
                &fixture.system(),
                crm_lib::customers::NewCustomer {
                    first_name: "Sarah".into(),
                    last_name: "Miller".into(),
                    ..crm_lib::customers::NewCustomer::default()
                },
            )
            .unwrap();
        let data = LedgerData {
            ledger: LedgerPage {
                account: TokenAccount {
                    balance: 200,
                    premium_until: Some(Timestamp::from_millis(1_770_000_000_000)),
                    ..TokenAccount::new(customer.id)
                },
                subscriber: true,
                entries: Paged {
                    items: vec![
                        entry(2, crm_lib::model::LedgerKind::Spend, -100, 200),
                        entry(1, crm_lib::model::LedgerKind::Purchase, 300, 300),
                    ],
                    next: Some(1),
                },
                actions: crm_lib::tokens::LedgerActions {
                    adjust: true,
                    order: true,
                },
            },
            packages: fixture.crm.packages(&fixture.system()).unwrap(),
            customer,
        };
        assert_snapshot!(pretty(&ledger_body(
            &staff,
            &data,
            false,
            &FormError::none(),
            None
        )));
    }

    #[test]
    fn the_packages_page_lists_the_price_table_with_discounts_and_the_settings() {
        let fixture = Fixture::new("service");
        let staff = fixture.staff(BuiltinRole::Administrator, Language::RU);
        let data = PackagesData {
            packages: fixture
                .crm
                .packages(&fixture.system())
                .unwrap()
                .into_iter()
                .take(3)
                .collect(),
            settings: TokenSettings::default(),
        };
        assert_snapshot!(pretty(&packages_body(
            &staff,
            &data,
            &FormError::none(),
            None,
            None
        )));
    }
}
