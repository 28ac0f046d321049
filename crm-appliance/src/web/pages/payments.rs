//! The payments pages: `/settings/payments` (the OxaPay merchant key, written but shown only
//! as its last 4 characters, the base URL, the prices, the amounts offered and the invoice
//! lifetime) and `/payments` (the invoices with their states and filters, the
//! reconciliation report of the last 30 days, a refund button on paid Stars invoices;
//! `?payment=oxapay:<track id>` is the invoice a ledger page's purchase links to). Each
//! handler makes one crm-lib call; the markup is a pure function of what was read.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use crm_lib::ErrorKind;
use crm_lib::model::{CustomerId, Invoice, InvoiceState, PaymentProvider, Timestamp};
use crm_lib::payments::{
    InvoiceFilter, Mismatch, PaymentSettingsInput, PaymentSettingsView, Reconciliation,
};
use maud::{Markup, html};
use serde::Deserialize;

use crate::AppState;
use crate::web::auth::Staff;
use crate::web::csrf;
use crate::web::error::AppError;
use crate::web::layout::{FormError, Nav, csrf_field, notice, page};

/// The pages' routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/settings/payments", get(settings).post(save_settings))
        .route("/payments", get(invoices))
        .route("/payments/{id}/refund", post(refund))
}

/// A form's fields by name.
#[derive(Debug, Default, Deserialize)]
struct Fields {
    #[serde(flatten)]
    fields: HashMap<String, String>,
}

impl Fields {
    fn get(&self, name: &str) -> &str {
        self.fields.get(name).map_or("", String::as_str)
    }
}

/// `?done=<key>`.
#[derive(Debug, Default, Deserialize)]
struct Done {
    #[serde(default)]
    done: Option<String>,
}

/// `GET /settings/payments`.
async fn settings(
    State(state): State<AppState>,
    staff: Staff,
    Query(query): Query<Done>,
) -> Result<Markup, AppError> {
    let note = query.done.is_some().then(|| staff.t("payments.web.saved"));
    render_settings(&state, &staff, &FormError::none(), note.as_deref()).await
}

async fn render_settings(
    state: &AppState,
    staff: &Staff,
    error: &FormError,
    note: Option<&str>,
) -> Result<Markup, AppError> {
    let actor = staff.actor.clone();
    let view = state
        .blocking(move |crm| crm.payment_settings(&actor))
        .await?;
    Ok(page(
        staff,
        &staff.t("payments.web.settings_title"),
        Nav::Packages,
        settings_body(staff, &view, error, note),
    ))
}

/// The settings form.
fn settings_body(
    staff: &Staff,
    view: &PaymentSettingsView,
    error: &FormError,
    note: Option<&str>,
) -> Markup {
    let amounts = view
        .amounts
        .iter()
        .map(u64::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    html! {
        (notice(note))
        (error.general(&["oxapay_merchant_key", "oxapay_base_url", "token_price", "stars_per_token", "amounts", "invoice_lifetime_minutes"]))
        form.card.form method="post" action="/settings/payments" {
            (csrf_field(staff))
            label { (staff.t("payments.web.merchant_key"))
                // Write-only: the saved key is never sent back, only its last 4 characters.
                input type="password" name="oxapay_merchant_key" autocomplete="off" value=""
                    placeholder=(view.merchant_key_hint.clone().unwrap_or_default());
                (error.at("oxapay_merchant_key"))
            }
            p.muted { (staff.t("payments.web.merchant_key_hint")) }
            label { input type="checkbox" name="remove_key" value="1"; " " (staff.t("payments.web.remove_key")) }
            label { (staff.t("payments.web.base_url"))
                input type="url" name="oxapay_base_url" value=(view.oxapay_base_url);
                (error.at("oxapay_base_url"))
            }
            label { (staff.t("payments.web.token_price")) " (" (view.currency) ", 1/100)"
                input type="number" name="token_price" min="1" value=(view.token_price);
                (error.at("token_price"))
            }
            label { (staff.t("payments.web.stars_per_token"))
                input type="number" name="stars_per_token" min="0" max="10000" value=(view.stars_per_token);
                (error.at("stars_per_token"))
            }
            label { (staff.t("payments.web.amounts"))
                input type="text" name="amounts" value=(amounts);
                (error.at("amounts"))
            }
            label { (staff.t("payments.web.lifetime"))
                input type="number" name="invoice_lifetime_minutes" min="15" max="2880" value=(view.invoice_lifetime_minutes);
                (error.at("invoice_lifetime_minutes"))
            }
            button type="submit" { (staff.t("payments.web.save")) }
        }
        p { a href="/payments" { (staff.t("payments.web.invoices_title")) " →" } }
    }
}

fn number<T: std::str::FromStr>(field: &'static str, text: &str) -> crm_lib::Result<T> {
    text.trim()
        .parse()
        .map_err(|_| crm_lib::Error::invalid(field, "enter a whole number"))
}

/// The settings form read into crm-lib's input.
fn settings_input(form: &Fields) -> crm_lib::Result<PaymentSettingsInput> {
    let key = form.get("oxapay_merchant_key").trim();
    let amounts = form
        .get("amounts")
        .split([',', ' '])
        .filter(|part| !part.trim().is_empty())
        .map(|part| number("amounts", part))
        .collect::<crm_lib::Result<Vec<u64>>>()?;
    Ok(PaymentSettingsInput {
        oxapay_merchant_key: if form.get("remove_key") == "1" {
            Some(String::new())
        } else if key.is_empty() {
            None
        } else {
            Some(key.to_string())
        },
        oxapay_base_url: form.get("oxapay_base_url").to_string(),
        token_price: number("token_price", form.get("token_price"))?,
        stars_per_token: number("stars_per_token", form.get("stars_per_token"))?,
        amounts,
        invoice_lifetime_minutes: number(
            "invoice_lifetime_minutes",
            form.get("invoice_lifetime_minutes"),
        )?,
    })
}

/// `POST /settings/payments`.
async fn save_settings(
    State(state): State<AppState>,
    staff: Staff,
    headers: HeaderMap,
    Form(form): Form<Fields>,
) -> Result<Response, AppError> {
    csrf::verify(&staff, form.get("csrf"), &headers)?;
    let actor = staff.actor.clone();
    let result = match settings_input(&form) {
        Ok(input) => {
            state
                .blocking(move |crm| Ok(crm.save_payment_settings(&actor, input)))
                .await?
        }
        Err(error) => Err(error),
    };
    match result {
        Ok(_) => Ok(Redirect::to("/settings/payments?done=saved").into_response()),
        Err(error) if error.kind() == ErrorKind::InvalidInput => {
            let status = crate::web::error::status_of(error.kind());
            let markup =
                render_settings(&state, &staff, &FormError::from_error(&error), None).await?;
            Ok((status, markup).into_response())
        }
        Err(error) => Err(error.into()),
    }
}

/// `?state=&provider=&customer=&done=`.
#[derive(Debug, Default, Deserialize)]
struct InvoiceQuery {
    #[serde(default)]
    state: Option<String>,
    #[serde(default)]
    provider: Option<String>,
    #[serde(default)]
    customer: Option<String>,
    #[serde(default)]
    payment: Option<String>,
    #[serde(default)]
    done: Option<String>,
}

/// The days the reconciliation report covers.
const REPORT_DAYS: i64 = 30;

/// `GET /payments`.
async fn invoices(
    State(state): State<AppState>,
    staff: Staff,
    Query(query): Query<InvoiceQuery>,
) -> Result<Markup, AppError> {
    let filter = InvoiceFilter {
        state: query.state.as_deref().and_then(InvoiceState::parse),
        provider: query.provider.as_deref().and_then(PaymentProvider::parse),
        customer: query
            .customer
            .as_deref()
            .and_then(|text| text.trim().parse().ok())
            .map(CustomerId::new),
        payment: query.payment.clone().filter(|payment| !payment.is_empty()),
        ..InvoiceFilter::default()
    };
    let actor = staff.actor.clone();
    let now = Timestamp::now();
    let (list, report) = state
        .blocking(move |crm| {
            crm.read(|view| {
                Ok((
                    crm_lib::payments::invoices_in(view, &actor, &filter)?,
                    crm_lib::payments::reconciliation_in(
                        view,
                        &actor,
                        now.minus_days(REPORT_DAYS),
                        now.plus_millis(1),
                    )?,
                ))
            })
        })
        .await?;
    let note = query
        .done
        .is_some()
        .then(|| staff.t("payments.web.refunded"));
    Ok(page(
        &staff,
        &staff.t("payments.web.invoices_title"),
        Nav::Packages,
        invoices_body(&staff, &list, &report, &query, note.as_deref()),
    ))
}

/// The invoice list and the report.
fn invoices_body(
    staff: &Staff,
    list: &[Invoice],
    report: &Reconciliation,
    query: &InvoiceQuery,
    note: Option<&str>,
) -> Markup {
    let states = ["pending", "paid", "expired", "failed", "refunded"];
    html! {
        (notice(note))
        form.filters method="get" action="/payments" {
            label { (staff.t("payments.web.state"))
                select name="state" {
                    option value="" { "—" }
                    @for state in states {
                        option value=(state) selected[query.state.as_deref() == Some(state)] { (staff.t(&format!("payments.state.{state}"))) }
                    }
                }
            }
            label { (staff.t("payments.web.provider"))
                select name="provider" {
                    option value="" { "—" }
                    option value="oxapay" selected[query.provider.as_deref() == Some("oxapay")] { "OxaPay" }
                    option value="stars" selected[query.provider.as_deref() == Some("stars")] { "Telegram Stars" }
                }
            }
            label { (staff.t("payments.web.customer"))
                input type="number" name="customer" min="1" value=(query.customer.clone().unwrap_or_default());
            }
            button type="submit" { (staff.t("payments.web.filter")) }
        }
        @if list.is_empty() {
            p.muted { (staff.t("payments.web.none")) }
        } @else {
            table.invoices {
                thead { tr {
                    th { "#" }
                    th { (staff.t("payments.web.customer")) }
                    th { (staff.t("payments.web.provider")) }
                    th { (staff.t("payments.web.tokens")) }
                    th { (staff.t("payments.web.amount")) }
                    th { (staff.t("payments.web.state")) }
                    th { (staff.t("payments.web.provider_id")) }
                    th {}
                } }
                tbody {
                    @for invoice in list {
                        tr id={ "invoice-" (invoice.id) } {
                            td { (invoice.id) }
                            td { a href={ "/customers/" (invoice.customer) "/tokens" } { (invoice.customer) } }
                            td { (invoice.provider.as_str()) }
                            td { (invoice.tokens) }
                            td { (price(invoice.amount, &invoice.currency)) }
                            td { (staff.t(&format!("payments.state.{}", invoice.state.as_str()))) }
                            td { code { (invoice.provider_id.clone().unwrap_or_default()) } }
                            td {
                                @if invoice.provider == PaymentProvider::Stars && invoice.state == InvoiceState::Paid {
                                    form method="post" action={ "/payments/" (invoice.id) "/refund" } {
                                        (csrf_field(staff))
                                        button type="submit" { (staff.t("payments.web.refund")) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        h2 { (staff.t("payments.web.report_title")) }
        table.report {
            thead { tr {
                th { (staff.t("payments.web.state")) }
                th { (staff.t("payments.web.count")) }
                th { (staff.t("payments.web.tokens")) }
            } }
            tbody {
                @for (state, count, tokens, _) in &report.by_state {
                    tr { td { (staff.t(&format!("payments.state.{}", state.as_str()))) } td { (count) } td { (tokens) } }
                }
            }
        }
        @if report.mismatches.is_empty() {
            p.muted { (staff.t("payments.web.no_mismatches")) }
        } @else {
            ul.mismatches {
                @for mismatch in &report.mismatches {
                    li.error { @match mismatch {
                        Mismatch::PaidWithoutCredit { invoice } => { (staff.t("payments.web.paid_without_credit")) " #" (invoice) }
                        Mismatch::CreditWithoutInvoice { entry, payment } => { (staff.t("payments.web.credit_without_invoice")) " #" (entry) " (" (payment) ")" }
                    } }
                }
            }
        }
    }
}

/// A price in minor units: `12.50 USD`, or `25 XTR`.
fn price(amount: u64, currency: &str) -> String {
    if currency == "XTR" {
        format!("{amount} XTR")
    } else {
        format!("{}.{:02} {currency}", amount / 100, amount % 100)
    }
}

/// `POST /payments/{id}/refund`: a Stars refund.
async fn refund(
    State(state): State<AppState>,
    staff: Staff,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(form): Form<Fields>,
) -> Result<Response, AppError> {
    csrf::verify(&staff, form.get("csrf"), &headers)?;
    let id: u64 = id
        .trim()
        .parse()
        .map_err(|_| AppError::not_found(format!("invoice {id:?} not found")))?;
    let actor = staff.actor.clone();
    state
        .blocking(move |crm| crm.refund_stars(&actor, id))
        .await?;
    Ok(Redirect::to("/payments?done=refunded").into_response())
}
