//! `/profile/payment-details`: a staff user's saved payment details, one text per payment
//! method (C0de seed: reusable payment details). crm-lib fills them into the payment message
//! whenever this user sends payment details with that method: in place of `{details}` in the
//! method's template, or appended after it.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use crm_lib::billing::{SAVED_DETAILS_MAX_CHARS, SavedDetailsRow};
use crm_lib::model::PaymentMethodId;
use maud::{Markup, html};
use serde::Deserialize;

use crate::AppState;
use crate::web::auth::Staff;
use crate::web::csrf;
use crate::web::error::AppError;
use crate::web::layout::{FormError, Nav, csrf_field, notice, page};

/// `/profile/payment-details...`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/profile/payment-details", get(show))
        .route("/profile/payment-details/{method}", post(save))
}

/// `?done=saved`.
#[derive(Debug, Default, Deserialize)]
pub struct Done {
    #[serde(default)]
    done: Option<String>,
}

async fn show(
    State(state): State<AppState>,
    staff: Staff,
    Query(done): Query<Done>,
) -> Result<Markup, AppError> {
    let note = (done.done.as_deref() == Some("saved")).then(|| staff.t("details.saved"));
    render(&state, &staff, None, note.as_deref()).await
}

/// A failed save: the method it was for, what was typed and why it was refused.
struct Failed<'a> {
    method: PaymentMethodId,
    typed: &'a str,
    error: FormError,
}

async fn render(
    state: &AppState,
    staff: &Staff,
    failed: Option<Failed<'_>>,
    note: Option<&str>,
) -> Result<Markup, AppError> {
    let actor = staff.actor.clone();
    let rows = state
        .blocking(move |crm| crm.own_payment_details(&actor))
        .await?;
    Ok(page(
        staff,
        &staff.t("details.title"),
        Nav::Profile,
        details_body(staff, &rows, failed.as_ref(), note),
    ))
}

/// The page's markup: one form per active payment method (and per inactive one that still
/// has details saved), each with the method's template for reference.
fn details_body(
    staff: &Staff,
    rows: &[SavedDetailsRow],
    failed: Option<&Failed<'_>>,
    note: Option<&str>,
) -> Markup {
    let shown: Vec<&SavedDetailsRow> = rows
        .iter()
        .filter(|row| row.method.active || row.details.is_some())
        .collect();
    html! {
        (notice(note))
        p { (staff.t("details.intro")) }
        @if shown.is_empty() {
            p.muted { (staff.t("details.no_methods")) }
        }
        @for row in shown {
            @let failure = failed.filter(|failed| failed.method == row.method.id);
            section.card.saved-details {
                h2 { (row.method.name) @if !row.method.active { " " span.muted { (staff.t("details.inactive")) } } }
                p.muted { (staff.t("details.template")) }
                pre.template { (row.method.template) }
                form.form method="post" action={ "/profile/payment-details/" (row.method.id) } {
                    (csrf_field(staff))
                    @if let Some(failure) = failure { (failure.error.general(&["details"])) }
                    label { (staff.t("details.yours"))
                        textarea name="details" rows="3" maxlength=(SAVED_DETAILS_MAX_CHARS) {
                            (failure.map_or(row.details.as_deref().unwrap_or_default(), |failure| failure.typed))
                        }
                        @if let Some(failure) = failure { (failure.error.at("details")) }
                    }
                    p.muted { (staff.t("details.empty_removes")) }
                    button type="submit" { (staff.t("form.save")) }
                }
            }
        }
    }
}

/// The save form.
#[derive(Debug, Default, Deserialize)]
pub struct DetailsForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    details: String,
}

/// `POST /profile/payment-details/{method}`: saves (or, empty, removes) the user's details for
/// one method.
async fn save(
    State(state): State<AppState>,
    staff: Staff,
    Path(method): Path<String>,
    headers: HeaderMap,
    Form(form): Form<DetailsForm>,
) -> Result<Response, AppError> {
    csrf::verify(&staff, &form.csrf, &headers)?;
    let method = method
        .parse()
        .map(PaymentMethodId::new)
        .map_err(|_| AppError::not_found(format!("payment method {method:?} not found")))?;
    let (actor, details) = (staff.actor.clone(), form.details.clone());
    let result = state
        .blocking(move |crm| Ok(crm.save_payment_details(&actor, method, &details)))
        .await?;
    match result {
        Ok(_) => Ok(Redirect::to("/profile/payment-details?done=saved").into_response()),
        Err(error) if error.kind() == crm_lib::ErrorKind::InvalidInput => {
            let failed = Failed {
                method,
                typed: &form.details,
                error: FormError::from_error(&error),
            };
            let markup = render(&state, &staff, Some(failed), None).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, markup).into_response())
        }
        Err(error) => Err(error.into()),
    }
}
