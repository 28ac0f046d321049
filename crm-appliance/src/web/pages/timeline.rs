//! `/customers/{id}`: the customer timeline (SPEC 5C): their orders (tickets), messages and
//! calls, newest first, read by crm-lib's `calls::timeline_in` with each area's visibility
//! rule, and live (the list refreshes on order, message and call events).

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::routing::get;
use crm_lib::calls::{Timeline, TimelineCursor, TimelineEntry};
use crm_lib::model::{Call, CallDirection, CustomerId, Direction, UserId};
use maud::{Markup, html};
use serde::Deserialize;

use crate::AppState;
use crate::web::auth::Staff;
use crate::web::error::AppError;
use crate::web::i18n::{tr_with, when};
use crate::web::layout::{Nav, page};

/// Items per page.
pub const PER_PAGE: usize = 50;

/// The page's routes.
pub fn routes() -> Router<AppState> {
    Router::new().route("/customers/{id}", get(timeline))
}

/// `?before=` of the timeline.
#[derive(Debug, Default, Deserialize)]
pub struct TimelineQuery {
    /// The cursor of the next page (`moment-kind-id`).
    #[serde(default)]
    pub before: Option<String>,
}

async fn timeline(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<u64>,
    Query(query): Query<TimelineQuery>,
) -> Result<Markup, AppError> {
    let before = match query.before.as_deref().filter(|text| !text.is_empty()) {
        Some(text) => Some(text.parse::<TimelineCursor>()?),
        None => None,
    };
    let actor = staff.actor.clone();
    let tokens = staff.modules.contains(crm_lib::model::Module::Tokens);
    let (data, profiles) = state
        .blocking(move |crm| {
            let data = crm.timeline(&actor, CustomerId::new(id), before, PER_PAGE)?;
            // The Profiles section (the tokens module), for staff who may read them.
            let profiles = if tokens {
                match crm.profiles(&actor, CustomerId::new(id)) {
                    Ok(profiles) => Some(profiles),
                    Err(error) if error.kind() == crm_lib::ErrorKind::Storage => {
                        return Err(error);
                    }
                    Err(_) => None,
                }
            } else {
                None
            };
            Ok((data, profiles))
        })
        .await?;
    Ok(page(
        &staff,
        &data.customer.full_name(),
        Nav::Chat,
        html! {
            @if let Some(profiles) = &profiles {
                (super::profiles::profiles_section(&staff, data.customer.id, profiles))
            }
            (timeline_body(&staff, &data))
            script src="/assets/js/live.js" defer {}
        },
    ))
}

fn staff_name(data: &Timeline, user: UserId) -> String {
    data.staff
        .iter()
        .find(|(id, _)| *id == user)
        .map(|(_, name)| name.clone())
        .unwrap_or_else(|| format!("#{user}"))
}

fn call_line(staff: &Staff, data: &Timeline, call: &Call) -> Markup {
    let direction = match call.direction {
        CallDirection::Inbound => staff.t("calls.inbound"),
        CallDirection::Outbound => staff.t("calls.outbound"),
    };
    html! {
        span.timeline-kind { (direction) }
        " " (call.phone)
        @if let Some(operator) = call.operator {
            " · " (staff_name(data, operator))
        } @else if let Some(extension) = &call.extension {
            " · " (tr_with(staff.language, "calls.extension", &[("extension", extension)]))
        }
        @if let Some(disposition) = &call.disposition {
            " · " (disposition)
        }
        @if let Some(seconds) = call.duration_secs {
            " · " (tr_with(staff.language, "calls.duration", &[("seconds", &seconds)]))
        }
        @if let Some(recording) = &call.recording {
            " · " (tr_with(staff.language, "calls.recording", &[("id", recording)]))
        }
    }
}

/// The timeline's content for `staff`: the customer's heading (with the unknown-caller mark)
/// and the items, newest first, in a live region.
fn timeline_body(staff: &Staff, data: &Timeline) -> Markup {
    let customer = &data.customer;
    html! {
        @if data.unknown_caller.is_some() {
            p { span.badge.unknown-caller { (staff.t("calls.unknown_caller")) } }
        }
        p.muted {
            @if let Some(phone) = &customer.phone { (phone) " · " }
            @if let Some(username) = &customer.username { "@" (username) " · " }
            a href={ "/chat/" (customer.id) } { (staff.t("calls.conversation")) }
            @if staff.navigation().calls {
                " · " a href={ "/calls?customer=" (customer.id) } { (staff.t("calls.list.of_customer")) }
            }
            @if staff.navigation().ledgers {
                " · " a href={ "/customers/" (customer.id) "/tokens" } { (staff.t("tokens.web.customer_ledger")) }
            }
        }
        @if staff.navigation().merge_customers {
            form.form.inline #merge-form method="get" action={ "/customers/" (customer.id) "/merge" } {
                label { (staff.t("merge.absorb"))
                    input type="search" name="q" required maxlength="100"
                        placeholder=(staff.t("merge.placeholder"));
                }
                button.small type="submit" { (staff.t("merge.find")) }
            }
        }
        section #timeline data-live-refresh="order message call" {
            h2 { (staff.t("calls.timeline")) }
            @if data.items.is_empty() {
                p.muted { (staff.t("calls.timeline_empty")) }
            } @else {
                ol.timeline {
                    @for item in &data.items {
                        li class={ "timeline-item timeline-" (item.entry.kind()) } {
                            time.muted { (when(item.at)) }
                            " "
                            @match &item.entry {
                                TimelineEntry::Order { order, stage } => {
                                    span.timeline-kind { (staff.t("calls.order")) }
                                    " " a href={ "/orders/" (order.id) } { "#" (order.id) " " (order.title) }
                                    " · " (stage.get(staff.language))
                                }
                                TimelineEntry::Message(message) => {
                                    span.timeline-kind {
                                        @if message.direction == Direction::Inbound {
                                            (staff.t("calls.message_in"))
                                        } @else {
                                            (staff.t("calls.message_out"))
                                        }
                                    }
                                    " " (message.text)
                                }
                                TimelineEntry::Call(call) => {
                                    (call_line(staff, data, call))
                                }
                                _ => {}
                            }
                        }
                    }
                }
            }
            @if let Some(next) = data.next {
                a.button href={ "/customers/" (customer.id) "?before=" (next) } { (staff.t("calls.older")) }
            }
        }
    }
}

/// The calls of an order's customer, for the order page: a short list, newest first.
pub fn calls_section(staff: &Staff, calls: &[Call]) -> Markup {
    html! {
        @if !calls.is_empty() {
            section.card #order-calls data-live-refresh="call" {
                h2 { (staff.t("calls.title")) " · " a href={ "/customers/" (calls[0].customer) } { (staff.t("calls.timeline")) } }
                ul {
                    @for call in calls {
                        li {
                            time.muted { (when(call.started_at)) }
                            " "
                            (call.direction.as_str()) " " (call.phone)
                            @if let Some(disposition) = &call.disposition { " · " (disposition) }
                            @if let Some(seconds) = call.duration_secs {
                                " · " (tr_with(staff.language, "calls.duration", &[("seconds", &seconds)]))
                            }
                        }
                    }
                }
                script src="/assets/js/live.js" defer {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crm_lib::calls::sign_notification;
    use crm_lib::model::{BuiltinRole, CallEvent, Language};
    use insta::assert_snapshot;

    use super::*;
    use crate::web::testing::{Fixture, pretty};

    #[test]
    fn the_timeline_shows_an_unknown_caller_s_call() {
        let fixture = Fixture::new("helpdesk");
        let admin = crm_lib::model::Actor::system(fixture.org.id);
        fixture
            .crm
            .set_zadarma_secret(&admin, "snapshot-secret")
            .unwrap();
        let (notification, signature) = sign_notification(
            "snapshot-secret",
            CallEvent::Start,
            &[
                ("pbx_call_id", "in_1"),
                ("call_start", "2026-12-05 10:00:00"),
                ("caller_id", "79160000001"),
                ("called_did", "74950000000"),
            ],
        );
        let crm_lib::calls::CallOutcome::Recorded(call) = fixture
            .crm
            .record_zadarma_notification(fixture.org.id, notification, Some(signature))
            .unwrap()
        else {
            panic!("recorded")
        };
        let staff = fixture.staff(BuiltinRole::Manager, Language::EN);
        let data = fixture
            .crm
            .timeline(&fixture.system(), call.customer, None, PER_PAGE)
            .unwrap();
        assert_snapshot!(pretty(&timeline_body(&staff, &data)));
    }
}
