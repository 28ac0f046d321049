//! Contact merge (issue 12) from the customer page: `/customers/{id}/merge` asks which
//! customer to merge into this one (a name, phone, @username, email or number, looked up by
//! crm-lib's [`crm_lib::Crm::search_customers`]: one match goes straight to its preview,
//! several are listed), shows crm-lib's preview of what moves, fills and is dropped, and a
//! confirm button (POST with the CSRF token) that makes the one crm-lib call,
//! [`crm_lib::Crm::merge_customers`], then shows the kept customer.

use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Form, Router};
use crm_lib::merge::MergePreview;
use crm_lib::model::{Customer, CustomerId};
use maud::{Markup, html};
use serde::Deserialize;

use crate::AppState;
use crate::web::auth::Staff;
use crate::web::csrf;
use crate::web::error::AppError;
use crate::web::i18n::tr_with;
use crate::web::layout::{Nav, csrf_field, page};

/// The page's routes.
pub fn routes() -> Router<AppState> {
    Router::new().route("/customers/{id}/merge", get(preview).post(merge))
}

/// `?absorb=` (a customer id: the preview) or `?q=` (what staff typed: the look-up).
#[derive(Debug, Default, Deserialize)]
struct MergeQuery {
    #[serde(default)]
    absorb: Option<String>,
    #[serde(default)]
    q: Option<String>,
}

/// The confirm form.
#[derive(Debug, Default, Deserialize)]
struct MergeForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    absorb: String,
}

/// A customer id as typed (`12` or `#12`).
fn customer_id(text: &str) -> Result<CustomerId, AppError> {
    text.trim()
        .trim_start_matches('#')
        .parse()
        .map(CustomerId::new)
        .map_err(|_| {
            AppError::from(crm_lib::Error::invalid(
                "absorb",
                format!("{:?} is not a customer number", text.trim()),
            ))
        })
}

/// `GET /customers/{id}/merge[?absorb=N | ?q=TEXT]`: the question; the preview of merging
/// customer N into this one; or the customers matching TEXT (one match: its preview).
async fn preview(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<u64>,
    Query(query): Query<MergeQuery>,
) -> Result<Markup, AppError> {
    let keep = CustomerId::new(id);
    let filled = |text: Option<String>| text.filter(|text| !text.trim().is_empty());
    let mut absorb = match filled(query.absorb) {
        Some(text) => Some(customer_id(&text)?),
        None => None,
    };
    let actor = staff.actor.clone();
    let title = staff.t("merge.title");
    let mut found = None;
    if absorb.is_none()
        && let Some(text) = filled(query.q)
    {
        let (actor, typed) = (actor.clone(), text.clone());
        let matches = state
            .blocking(move |crm| crm.search_customers(&actor, &typed, Some(keep)))
            .await?;
        match matches.as_slice() {
            [only] => absorb = Some(only.id),
            _ => found = Some((text, matches)),
        }
    }
    match absorb {
        None => {
            // The question alone reads nothing crm-lib would refuse to a reader of
            // customers, so its menu flag (crm-lib's `Navigation`) keeps it to those who may
            // merge; the preview and the merge are checked by crm-lib itself.
            if !staff.navigation().merge_customers {
                return Err(AppError::forbidden(
                    "merging customers needs chat_customers",
                ));
            }
            let customer = state
                .blocking(move |crm| crm.customer(&actor, keep))
                .await?;
            Ok(page(
                &staff,
                &title,
                Nav::Chat,
                ask_body(&staff, keep, &customer.full_name(), found.as_ref()),
            ))
        }
        Some(absorb) => {
            let preview = state
                .blocking(move |crm| crm.merge_preview(&actor, keep, absorb))
                .await?;
            Ok(page(
                &staff,
                &title,
                Nav::Chat,
                preview_body(&staff, &preview),
            ))
        }
    }
}

/// `POST /customers/{id}/merge`: merges, then shows the kept customer.
async fn merge(
    State(state): State<AppState>,
    staff: Staff,
    headers: HeaderMap,
    Path(id): Path<u64>,
    Form(form): Form<MergeForm>,
) -> Result<Response, AppError> {
    csrf::verify(&staff, &form.csrf, &headers)?;
    let (keep, absorb) = (CustomerId::new(id), customer_id(&form.absorb)?);
    let actor = staff.actor.clone();
    state
        .blocking(move |crm| crm.merge_customers(&actor, keep, absorb))
        .await?;
    Ok(Redirect::to(&format!("/customers/{keep}")).into_response())
}

/// The question: which customer to merge into `keep`; with `found`, what was typed and the
/// customers it matched (none, or several to choose from).
pub fn ask_body(
    staff: &Staff,
    keep: CustomerId,
    name: &str,
    found: Option<&(String, Vec<Customer>)>,
) -> Markup {
    html! {
        h2 { (tr_with(staff.language, "merge.into", &[("name", &name)])) }
        p.muted { (staff.t("merge.help")) }
        form.form.inline method="get" action={ "/customers/" (keep) "/merge" } {
            label { (staff.t("merge.absorb"))
                input type="search" name="q" required maxlength="100"
                    value=[found.map(|(typed, _)| typed.as_str())]
                    placeholder=(staff.t("merge.placeholder"));
            }
            button.small type="submit" { (staff.t("merge.find")) }
        }
        @if let Some((typed, matches)) = found {
            @if matches.is_empty() {
                p #merge-none { (tr_with(staff.language, "merge.none", &[("query", typed)])) }
            } @else {
                p { (staff.t("merge.choose")) }
                ul #merge-matches {
                    @for customer in matches {
                        li {
                            a href={ "/customers/" (keep) "/merge?absorb=" (customer.id) } {
                                "#" (customer.id) " " (customer.full_name())
                            }
                            @if let Some(username) = &customer.username { " · @" (username) }
                            @if let Some(phone) = &customer.phone { " · " (phone) }
                            @if let Some(email) = &customer.email { " · " (email) }
                        }
                    }
                }
            }
        }
    }
}

/// The preview: both customers, what moves, what is filled and dropped, and the confirm
/// button.
pub fn preview_body(staff: &Staff, preview: &MergePreview) -> Markup {
    let (keep, absorb) = (&preview.keep, &preview.absorb);
    let count = |key: &str, value: u64| {
        html! { tr data-count=(key) { th { (staff.t(&format!("merge.count.{key}"))) } td { (value) } } }
    };
    html! {
        h2 { (tr_with(staff.language, "merge.into", &[("name", &keep.full_name())])) }
        p #merge-summary {
            (tr_with(staff.language, "merge.summary", &[
                ("absorb", &format!("#{} {}", absorb.id, absorb.full_name())),
                ("keep", &format!("#{} {}", keep.id, keep.full_name())),
            ]))
        }
        table #merge-counts {
            tbody {
                (count("orders", preview.orders))
                (count("tickets", preview.tickets))
                (count("messages", preview.messages))
                (count("notes", preview.notes))
                (count("calls", preview.calls))
                (count("conversations", preview.conversations))
                (count("payment_infos", preview.payment_infos))
                (count("pending_notifications", preview.pending_notifications))
            }
        }
        @if !preview.filled.is_empty() {
            h2 { (staff.t("merge.filled")) }
            ul #merge-filled {
                @for (field, value) in &preview.filled {
                    li { (staff.t(&format!("merge.field.{}", field.as_str()))) ": " (value) }
                }
            }
        }
        @if !preview.dropped.is_empty() {
            h2 { (staff.t("merge.dropped")) }
            ul #merge-dropped {
                @for (field, value) in &preview.dropped {
                    li { (staff.t(&format!("merge.field.{}", field.as_str()))) ": " (value) }
                }
            }
        }
        form.form method="post" action={ "/customers/" (keep.id) "/merge" } {
            (csrf_field(staff))
            input type="hidden" name="absorb" value=(absorb.id);
            button.danger type="submit" { (staff.t("merge.confirm")) }
            " " a href={ "/customers/" (keep.id) } { (staff.t("merge.cancel")) }
        }
    }
}

#[cfg(test)]
mod tests {
    use crm_lib::customers::NewCustomer;
    use crm_lib::model::{BuiltinRole, Language};
    use insta::assert_snapshot;

    use super::*;
    use crate::web::testing::{Fixture, pretty};

    #[test]
    fn the_merge_preview_lists_what_moves_what_is_filled_and_what_is_dropped() {
        let fixture = Fixture::new("studio");
        let system = fixture.system();
        let create = |first: &str, phone: &str, email: &str| {
            fixture
                .crm
                .create_customer(
                    &system,
                    NewCustomer {
                        first_name: first.into(),
                        phone: phone.into(),
                        email: email.into(),
                        ..NewCustomer::default()
                    },
                )
                .unwrap()
        };
        let keep = create("Vera", "+79160000002", "");
        let absorb = create("Vera", "+79160000003", "vera@example.com");
        let preview = fixture
            .crm
            .merge_preview(&system, keep.id, absorb.id)
            .unwrap();
        let staff = fixture.staff(BuiltinRole::Manager, Language::EN);
        assert_snapshot!(pretty(&preview_body(&staff, &preview)));
    }

    #[test]
    fn the_question_lists_the_customers_a_look_up_matched_or_says_none_did() {
        let fixture = Fixture::new("studio");
        let system = fixture.system();
        let create = |first: &str, phone: &str| {
            fixture
                .crm
                .create_customer(
                    &system,
                    NewCustomer {
                        first_name: first.into(),
                        phone: phone.into(),
                        ..NewCustomer::default()
                    },
                )
                .unwrap()
        };
        let keep = create("Vera", "");
        create("Vera", "+79160000003");
        create("Veronika", "+79160000004");
        let matches = fixture
            .crm
            .search_customers(&system, "ver", Some(keep.id))
            .unwrap();
        assert_eq!(matches.len(), 2);
        let staff = fixture.staff(BuiltinRole::Manager, Language::EN);
        let found = ("ver".to_string(), matches);
        assert_snapshot!(pretty(&ask_body(&staff, keep.id, "Vera", Some(&found))));
        let none = ("<b>nobody</b>".to_string(), Vec::new());
        let html = ask_body(&staff, keep.id, "Vera", Some(&none)).into_string();
        assert!(html.contains("id=\"merge-none\""), "{html}");
        assert!(html.contains("&lt;b&gt;nobody"), "escaped: {html}");
    }
}
