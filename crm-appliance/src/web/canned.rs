//! The composer's canned responses: `GET /chat/{customer}/canned?q=&order=` answers the
//! canned responses whose code or title matches `q`, rendered for that customer (and order,
//! else their current one) by crm-lib ([`crm_lib::canned::render_canned_in`]), as JSON for
//! `assets/js/canned.js`, which offers them when the message box starts with `/`.

use axum::Json;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::routing::get;
use crm_lib::model::{CustomerId, OrderId};
use serde::{Deserialize, Serialize};

use crate::AppState;
use crate::web::auth::Staff;
use crate::web::error::AppError;

/// The routes.
pub fn routes() -> Router<AppState> {
    Router::new().route("/chat/{customer}/canned", get(canned))
}

/// `?q=&order=`.
#[derive(Debug, Default, Deserialize)]
pub struct CannedQuery {
    /// What follows the `/` typed so far.
    #[serde(default)]
    q: String,
    /// The order the reply is about, when the form names one.
    #[serde(default)]
    order: Option<String>,
}

/// One rendered response.
#[derive(Debug, Serialize)]
pub struct CannedItem {
    /// Its id (the send form's `canned` field, which attaches its files).
    id: u64,
    /// Its code.
    code: String,
    /// Its title.
    title: String,
    /// The text with the variables filled.
    text: String,
    /// How many files it carries.
    files: usize,
}

/// The answer: the responses and the script's texts in the reader's language.
#[derive(Debug, Serialize)]
pub struct CannedList {
    /// The list's accessible name.
    label: String,
    /// Said when nothing matches.
    none: String,
    /// Said when the chosen response carries files.
    files_note: String,
    /// The responses, by code (at most 20).
    items: Vec<CannedItem>,
}

/// `GET /chat/{customer}/canned`.
async fn canned(
    State(state): State<AppState>,
    staff: Staff,
    Path(customer): Path<u64>,
    Query(query): Query<CannedQuery>,
) -> Result<Json<CannedList>, AppError> {
    let customer = CustomerId::new(customer);
    let order = query
        .order
        .as_deref()
        .map(str::trim)
        .filter(|text| !text.is_empty())
        .map(|text| {
            text.parse()
                .map(OrderId::new)
                .map_err(|_| AppError::bad_request(format!("{text:?} is not an order number")))
        })
        .transpose()?;
    let actor = staff.actor.clone();
    let q: String = query.q.chars().take(64).collect();
    let rendered = state
        .blocking(move |crm| crm.render_canned(&actor, customer, order, &q))
        .await?;
    Ok(Json(CannedList {
        label: staff.t("canned.composer_label"),
        none: staff.t("canned.composer_none"),
        files_note: staff.t("canned.composer_files"),
        items: rendered
            .into_iter()
            .map(|canned| CannedItem {
                id: canned.id.get(),
                code: canned.code,
                title: canned.title,
                text: canned.text,
                files: canned.attachments.len(),
            })
            .collect(),
    }))
}
