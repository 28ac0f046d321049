//! Scheduled messages (issue 13): `/chat/{customer}/scheduled` lists a customer's scheduled
//! messages (waiting first, with Cancel) and holds the form that schedules one at a local
//! date and time of the organization's time zone; the conversation links here. One crm-lib
//! call per handler; the markup is a pure function of what was read.

use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use crm_lib::ErrorKind;
use crm_lib::model::{Customer, CustomerId, Date, ScheduledMessage, ScheduledState, Zone};
use crm_lib::scheduled::NewScheduled;
use maud::{Markup, html};
use serde::Deserialize;

use crate::AppState;
use crate::web::auth::Staff;
use crate::web::csrf;
use crate::web::error::AppError;
use crate::web::i18n::tr_with;
use crate::web::layout::{FormError, Nav, csrf_field, notice, page};
use crate::web::pages::tokens::customer_id;

/// The routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/chat/{customer}/scheduled", get(list).post(schedule))
        .route("/chat/{customer}/scheduled/{id}/cancel", post(cancel))
}

/// What the page shows.
struct Data {
    customer: Customer,
    zone: Zone,
    scheduled: Vec<ScheduledMessage>,
}

/// `?done=`.
#[derive(Debug, Default, Deserialize)]
struct Done {
    #[serde(default)]
    done: Option<String>,
}

async fn list(
    State(state): State<AppState>,
    staff: Staff,
    Path(customer): Path<String>,
    Query(query): Query<Done>,
) -> Result<Markup, AppError> {
    let customer = customer_id(&customer)?;
    let note = query
        .done
        .as_deref()
        .map(|key| staff.t(&format!("scheduled.done.{key}")));
    render(
        &state,
        &staff,
        customer,
        &FormError::none(),
        "",
        note.as_deref(),
    )
    .await
}

async fn render(
    state: &AppState,
    staff: &Staff,
    customer: CustomerId,
    error: &FormError,
    text: &str,
    note: Option<&str>,
) -> Result<Markup, AppError> {
    let actor = staff.actor.clone();
    let data = state
        .blocking(move |crm| {
            crm.read(|view| {
                let scheduled = crm_lib::scheduled::scheduled_in(view, &actor, customer)?;
                Ok(Data {
                    customer: crm_lib::customers::customer_in(view, &actor, customer)?,
                    zone: Zone::of(&crm_lib::org::organization_in(view, &actor)?),
                    scheduled,
                })
            })
        })
        .await?;
    let title = tr_with(
        staff.language,
        "scheduled.title",
        &[("name", &data.customer.full_name())],
    );
    Ok(page(
        staff,
        &title,
        Nav::Chat,
        body(staff, &data, error, text, note),
    ))
}

fn state_text(staff: &Staff, data: &Data, message: &ScheduledMessage) -> String {
    match &message.state {
        ScheduledState::Waiting => staff.t("scheduled.state.waiting"),
        ScheduledState::Sent { at, .. } => tr_with(
            staff.language,
            "scheduled.state.sent",
            &[("when", &data.zone.local_text(*at))],
        ),
        ScheduledState::Cancelled { .. } => staff.t("scheduled.state.cancelled"),
        ScheduledState::Failed { reason } => tr_with(
            staff.language,
            "scheduled.state.failed",
            &[("reason", reason)],
        ),
    }
}

fn body(staff: &Staff, data: &Data, error: &FormError, text: &str, note: Option<&str>) -> Markup {
    let customer = &data.customer;
    let base = format!("/chat/{}/scheduled", customer.id);
    html! {
        p { a href={ "/chat/" (customer.id) } { "← " (customer.full_name()) } }
        (notice(note))
        (error.general(&["text", "send_at"]))
        form.form method="post" action=(base) {
            (csrf_field(staff))
            label { (staff.t("scheduled.text"))
                textarea name="text" required maxlength="4096" rows="4" { (text) }
                (error.at("text"))
            }
            label { (tr_with(staff.language, "scheduled.when", &[("zone", &data.zone.name())]))
                input type="datetime-local" name="send_at" required;
                (error.at("send_at"))
            }
            button type="submit" { (staff.t("scheduled.schedule")) }
        }
        section #scheduled data-live-refresh="conversation" {
            h2 { (staff.t("scheduled.list")) }
            @if data.scheduled.is_empty() {
                p.muted { (staff.t("scheduled.none")) }
            } @else {
                table {
                    thead { tr {
                        th scope="col" { (staff.t("scheduled.at")) }
                        th scope="col" { (staff.t("scheduled.text")) }
                        th scope="col" { (staff.t("scheduled.state")) }
                        th scope="col" { span.visually-hidden { (staff.t("scheduled.actions")) } }
                    } }
                    tbody {
                        @for message in &data.scheduled {
                            tr {
                                td { (data.zone.local_text(message.send_at)) }
                                td { (message.text) }
                                td { (state_text(staff, data, message)) }
                                td {
                                    @if message.is_waiting() {
                                        form.inline method="post" action={ (base) "/" (message.id) "/cancel" } {
                                            (csrf_field(staff))
                                            button.small type="submit" { (staff.t("scheduled.cancel")) }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The form: `text` and `send_at` (`YYYY-MM-DDTHH:MM`, a local time of the organization).
#[derive(Debug, Default, Deserialize)]
struct ScheduleForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    text: String,
    #[serde(default)]
    send_at: String,
}

/// A `datetime-local` value (`YYYY-MM-DDTHH:MM`) as a moment of `zone`.
fn local_moment(zone: &Zone, text: &str) -> crm_lib::Result<crm_lib::model::Timestamp> {
    local_moment_of(zone, "send_at", text)
}

/// A `datetime-local` value (`YYYY-MM-DDTHH:MM`) of input `field` as a moment of `zone` (the
/// organization's clock; also the broadcast page's schedule form).
///
/// # Errors
/// Invalid input on `field` for anything but a date and a time of day.
pub(crate) fn local_moment_of(
    zone: &Zone,
    field: &'static str,
    text: &str,
) -> crm_lib::Result<crm_lib::model::Timestamp> {
    let bad = || crm_lib::Error::invalid(field, "enter a date and a time");
    let (date, time) = text.trim().split_once('T').ok_or_else(bad)?;
    let date = Date::parse(field, date)?;
    let (hour, minute) = time.split_once(':').ok_or_else(bad)?;
    let hour: u16 = hour.parse().map_err(|_| bad())?;
    let minute: u16 = minute
        .get(..2)
        .unwrap_or(minute)
        .parse()
        .map_err(|_| bad())?;
    if hour > 23 || minute > 59 {
        return Err(bad());
    }
    Ok(zone.local_moment(date, hour * 60 + minute))
}

async fn schedule(
    State(state): State<AppState>,
    staff: Staff,
    Path(customer): Path<String>,
    headers: HeaderMap,
    Form(form): Form<ScheduleForm>,
) -> Result<Response, AppError> {
    csrf::verify(&staff, &form.csrf, &headers)?;
    let customer = customer_id(&customer)?;
    let actor = staff.actor.clone();
    let (text, send_at) = (form.text.clone(), form.send_at.clone());
    let result = state
        .blocking(move |crm| {
            let zone =
                crm.read(|view| Ok(Zone::of(&crm_lib::org::organization_in(view, &actor)?)))?;
            Ok(local_moment(&zone, &send_at).and_then(|send_at| {
                crm.schedule_message(
                    &actor,
                    NewScheduled {
                        customer,
                        text,
                        send_at,
                    },
                )
            }))
        })
        .await?;
    match result {
        Ok(_) => {
            Ok(Redirect::to(&format!("/chat/{customer}/scheduled?done=scheduled")).into_response())
        }
        Err(error) if error.kind() == ErrorKind::InvalidInput => {
            let status = crate::web::error::status_of(error.kind());
            let markup = render(
                &state,
                &staff,
                customer,
                &FormError::from_error(&error),
                &form.text,
                None,
            )
            .await?;
            Ok((status, markup).into_response())
        }
        Err(error) => Err(error.into()),
    }
}

async fn cancel(
    State(state): State<AppState>,
    staff: Staff,
    Path((customer, id)): Path<(String, String)>,
    headers: HeaderMap,
    Form(form): Form<crate::web::auth::CsrfForm>,
) -> Result<Response, AppError> {
    csrf::verify(&staff, &form.csrf, &headers)?;
    let customer = customer_id(&customer)?;
    let id: u64 = id
        .trim()
        .parse()
        .map_err(|_| AppError::not_found(format!("scheduled message {id:?} not found")))?;
    let actor = staff.actor.clone();
    state
        .blocking(move |crm| crm.cancel_scheduled(&actor, id))
        .await?;
    Ok(Redirect::to(&format!("/chat/{customer}/scheduled?done=cancelled")).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_local_date_and_time_is_a_moment_of_the_organization_s_zone() {
        let berlin = Zone::named("Europe/Berlin").unwrap();
        let moment = local_moment(&berlin, "2026-07-01T09:30").unwrap();
        assert_eq!(moment.to_rfc3339(), "2026-07-01T07:30:00Z");
        for bad in [
            "",
            "2026-07-01",
            "2026-07-01T25:00",
            "tomorrow T09:00",
            "2026-07-01T9",
        ] {
            let error = local_moment(&berlin, bad).unwrap_err();
            assert_eq!(error.field(), Some("send_at"), "{bad}");
        }
    }
}
