//! `/calls`: the organization's calls (the PBX's notifications, a `tickets`-module feature,
//! SPEC 5C), newest first, with filters (direction, operator, customer, a range of local
//! days) and keyset paging. crm-lib's `calls::call_list_in` decides everything: who may
//! read it (403), whether calls are on (404), how dates map to moments in the organization's
//! time zone, and the start each row shows. Live: the table refreshes on call events.

use axum::Router;
use axum::extract::{Query, State};
use axum::routing::get;
use crm_lib::Page;
use crm_lib::calls::{CallListFilter, CallListPage};
use crm_lib::model::{CallDirection, CustomerId, Date, UserId};
use maud::{Markup, html};
use serde::Deserialize;

use crate::AppState;
use crate::web::auth::Staff;
use crate::web::error::AppError;
use crate::web::i18n::tr_with;
use crate::web::layout::{Nav, page};
use crate::web::text::Text;

/// Calls per page.
pub const PER_PAGE: usize = 50;

/// The page's route.
pub fn routes() -> Router<AppState> {
    Router::new().route("/calls", get(calls))
}

/// The filters and the cursor, as the filter form and the pager send them (empty values
/// are no filter).
#[derive(Debug, Default, Clone, Deserialize)]
pub struct CallsQuery {
    /// `inbound` or `outbound`.
    #[serde(default)]
    pub direction: Option<String>,
    /// A staff user's id.
    #[serde(default)]
    pub operator: Option<String>,
    /// A customer's id.
    #[serde(default)]
    pub customer: Option<String>,
    /// The first local day, `YYYY-MM-DD`.
    #[serde(default)]
    pub from: Option<String>,
    /// The last local day, `YYYY-MM-DD`.
    #[serde(default)]
    pub to: Option<String>,
    /// The `next` cursor of the previous page.
    #[serde(default)]
    pub after: Option<String>,
}

fn given(text: &Option<String>) -> Option<&str> {
    text.as_deref()
        .map(str::trim)
        .filter(|text| !text.is_empty())
}

fn id_of(field: &'static str, text: &str) -> Result<u64, crm_lib::Error> {
    text.parse()
        .map_err(|_| crm_lib::Error::invalid(field, format!("{text:?} is not a number")))
}

impl CallsQuery {
    /// The filter and the page it asks for.
    ///
    /// # Errors
    /// Invalid input naming the field of a value that does not parse.
    fn parse(&self) -> Result<(CallListFilter, Page), crm_lib::Error> {
        let direction = match given(&self.direction) {
            Some(text) => Some(CallDirection::parse(text).ok_or_else(|| {
                crm_lib::Error::invalid(
                    "direction",
                    format!("{text:?} is neither inbound nor outbound"),
                )
            })?),
            None => None,
        };
        let filter = CallListFilter {
            direction,
            operator: given(&self.operator)
                .map(|text| id_of("operator", text).map(UserId::new))
                .transpose()?,
            customer: given(&self.customer)
                .map(|text| id_of("customer", text).map(CustomerId::new))
                .transpose()?,
            from: given(&self.from)
                .map(|text| Date::parse("from", text))
                .transpose()?,
            to: given(&self.to)
                .map(|text| Date::parse("to", text))
                .transpose()?,
        };
        let page = match given(&self.after) {
            Some(text) => Page::after(id_of("after", text)?, PER_PAGE),
            None => Page::first(PER_PAGE),
        };
        Ok((filter, page))
    }

    /// The filters as a query string, for the pager's link.
    fn filters(&self) -> String {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        for (key, value) in [
            ("direction", &self.direction),
            ("operator", &self.operator),
            ("customer", &self.customer),
            ("from", &self.from),
            ("to", &self.to),
        ] {
            if let Some(value) = given(value) {
                query.append_pair(key, value);
            }
        }
        query.finish()
    }
}

async fn calls(
    State(state): State<AppState>,
    staff: Staff,
    Query(query): Query<CallsQuery>,
) -> Result<Markup, AppError> {
    let (filter, page_request) = query.parse()?;
    // A page-sized read (51 calls for a page of 50 without filters, at most
    // CALL_SCAN_LIMIT with a sparse one), so on the handler's thread like the order list.
    let data = state.read_now(|crm| crm.call_list(&staff.actor, &filter, page_request))?;
    Ok(page(
        &staff,
        &staff.t("calls.list.title"),
        Nav::Calls,
        html! {
            (calls_body(&staff, &query, &data))
            script src="/assets/js/live.js" defer {}
        },
    ))
}

/// The page's content for `staff`: the filters (with `query`'s choices), the table of the
/// page's calls in a live region, and the pager. A pure function of what was read.
fn calls_body(staff: &Staff, query: &CallsQuery, data: &CallListPage) -> Markup {
    let language = staff.language;
    let chosen = |value: &Option<String>| given(value).unwrap_or("").to_string();
    let direction = chosen(&query.direction);
    let operator = chosen(&query.operator);
    let filters = query.filters();
    html! {
        form.filters method="get" action="/calls" {
            label { (staff.t("calls.list.direction"))
                select name="direction" {
                    option value="" { (staff.t("orders.any")) }
                    option value="inbound" selected[direction == "inbound"] { (staff.t("calls.inbound")) }
                    option value="outbound" selected[direction == "outbound"] { (staff.t("calls.outbound")) }
                }
            }
            label { (staff.t("calls.list.operator"))
                select name="operator" {
                    option value="" { (staff.t("orders.any")) }
                    @for user in &data.staff {
                        @let value = user.id.to_string();
                        option value=(value) selected[operator == value] { (user.display_name) }
                    }
                }
            }
            label { (staff.t("calls.list.from"))
                input type="date" name="from" value=(chosen(&query.from));
            }
            label { (staff.t("calls.list.to"))
                input type="date" name="to" value=(chosen(&query.to));
            }
            @if let (Some(customer), Some(name)) = (given(&query.customer), &data.customer_name) {
                input type="hidden" name="customer" value=(customer);
                span.badge { (tr_with(language, "calls.list.customer_filter", &[("name", name)])) }
                " "
            }
            button type="submit" { (staff.t("orders.filter")) }
            " "
            a href="/calls" { (staff.t("calls.list.clear")) }
        }
        p.muted { (tr_with(language, "calls.list.zone", &[("zone", &data.zone.name())])) }
        section #calls data-live-refresh="call" {
            @if data.rows.items.is_empty() {
                p.muted { (staff.t("calls.list.none")) }
            } @else {
                table.calls {
                    thead { tr {
                        th { (staff.t("calls.list.start")) }
                        th { (staff.t("calls.list.direction")) }
                        th { (staff.t("calls.list.customer")) }
                        th { (staff.t("calls.list.phone")) }
                        th { (staff.t("calls.list.operator")) }
                        th { (staff.t("calls.list.duration")) }
                        th { (staff.t("calls.list.disposition")) }
                        th { (staff.t("calls.list.recording")) }
                    } }
                    tbody {
                        @for row in &data.rows.items {
                            @let call = &row.call;
                            tr {
                                td { time { (Text(&row.started)) } }
                                td { @match call.direction {
                                    CallDirection::Inbound => (staff.t("calls.inbound")),
                                    CallDirection::Outbound => (staff.t("calls.outbound")),
                                } }
                                td { a href={ "/customers/" (call.customer) } { (Text(&row.customer_name)) } }
                                td { (Text(&call.phone)) }
                                td {
                                    @if let Some(name) = &row.operator_name {
                                        (Text(name))
                                    } @else if let Some(extension) = &call.extension {
                                        (tr_with(language, "calls.extension", &[("extension", extension)]))
                                    } @else { "—" }
                                }
                                td { @if let Some(seconds) = call.duration_secs {
                                    (tr_with(language, "calls.duration", &[("seconds", &seconds)]))
                                } @else { "—" } }
                                td { (Text(call.disposition.as_deref().unwrap_or("—"))) }
                                td { (Text(call.recording.as_deref().unwrap_or("—"))) }
                            }
                        }
                    }
                }
            }
            nav.pager aria-label=(staff.t("pager.label")) {
                @if let Some(next) = data.rows.next {
                    a rel="next" href={ "/calls?" (filters) @if !filters.is_empty() { "&" } "after=" (next) } { (staff.t("orders.next_page")) }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crm_lib::calls::{CallListFilter, sign_notification};
    use crm_lib::model::{Actor, BuiltinRole, CallEvent, Language};
    use insta::assert_snapshot;

    use super::*;
    use crate::web::testing::{Fixture, pretty};

    /// A helpdesk in Vladivostok (UTC+10) with an answered inbound call taken by extension
    /// 100, a call still ringing and an outbound one.
    fn fixture() -> Fixture {
        let fixture = Fixture::new("helpdesk");
        let system = fixture.system();
        let crm = &fixture.crm;
        crm.set_zadarma_secret(&system, "snapshot-secret").unwrap();
        crm.update_settings(
            &system,
            crm_lib::org::SettingsUpdate {
                time_zone: Some("Asia/Vladivostok".into()),
                ..crm_lib::org::SettingsUpdate::default()
            },
        )
        .unwrap();
        let send = |event, fields: &[(&str, &str)]| {
            let (notification, signature) = sign_notification("snapshot-secret", event, fields);
            crm.record_zadarma_notification(fixture.org.id, notification, Some(signature))
                .unwrap();
        };
        let start = ("call_start", "2026-12-01 09:15:00");
        send(
            CallEvent::Start,
            &[
                ("pbx_call_id", "in_1"),
                start,
                ("caller_id", "79160000001"),
                ("called_did", "74950000000"),
            ],
        );
        send(
            CallEvent::End,
            &[
                ("pbx_call_id", "in_1"),
                start,
                ("caller_id", "79160000001"),
                ("called_did", "74950000000"),
                ("internal", "100"),
                ("duration", "42"),
                ("disposition", "answered"),
                ("status_code", "16"),
                ("is_recorded", "1"),
                ("call_id_with_rec", "1700000000.123"),
            ],
        );
        send(
            CallEvent::Start,
            &[
                ("pbx_call_id", "in_0"),
                ("call_start", "2026-12-01 09:00:00"),
                ("caller_id", "79160000003"),
                ("called_did", "74950000000"),
            ],
        );
        send(
            CallEvent::OutStart,
            &[
                ("pbx_call_id", "out_1"),
                ("call_start", "2026-12-01 09:20:00"),
                ("internal", "100"),
                ("destination", "79160000002"),
            ],
        );
        fixture
    }

    #[test]
    fn the_call_list_shows_local_starts_names_and_a_filter_s_choices() {
        let fixture = fixture();
        let staff = fixture.staff(BuiltinRole::Manager, Language::EN);
        let data = fixture
            .crm
            .call_list(
                &Actor::system(fixture.org.id),
                &CallListFilter {
                    from: Some(Date::parse("from", "2026-12-01").unwrap()),
                    ..CallListFilter::default()
                },
                Page::first(2),
            )
            .unwrap();
        let query = CallsQuery {
            from: Some("2026-12-01".into()),
            ..CallsQuery::default()
        };
        assert_snapshot!(pretty(&calls_body(&staff, &query, &data)));
    }

    #[test]
    fn the_empty_call_list_reads_in_russian() {
        let fixture = Fixture::new("helpdesk");
        let staff = fixture.staff(BuiltinRole::Manager, Language::RU);
        let data = fixture
            .crm
            .call_list(
                &Actor::system(fixture.org.id),
                &CallListFilter::default(),
                Page::first(PER_PAGE),
            )
            .unwrap();
        assert_snapshot!(pretty(&calls_body(&staff, &CallsQuery::default(), &data)));
    }

    #[test]
    fn a_bad_filter_is_refused_naming_its_field() {
        for (query, field) in [
            (
                CallsQuery {
                    direction: Some("sideways".into()),
                    ..CallsQuery::default()
                },
                "direction",
            ),
            (
                CallsQuery {
                    from: Some("05.12.2026".into()),
                    ..CallsQuery::default()
                },
                "from",
            ),
            (
                CallsQuery {
                    operator: Some("ivan".into()),
                    ..CallsQuery::default()
                },
                "operator",
            ),
            (
                CallsQuery {
                    after: Some("-1".into()),
                    ..CallsQuery::default()
                },
                "after",
            ),
        ] {
            assert_eq!(query.parse().unwrap_err().field(), Some(field));
        }
        let (filter, page) = CallsQuery {
            direction: Some(" ".into()),
            to: Some("2026-12-05".into()),
            after: Some("7".into()),
            ..CallsQuery::default()
        }
        .parse()
        .unwrap();
        assert_eq!(filter.direction, None);
        assert_eq!(filter.to, Some(Date::parse("to", "2026-12-05").unwrap()));
        assert_eq!(page.after, Some(7));
    }
}
