//! The audit log page (`/audit`, needs `view_audit`), and how an audit entry reads in the
//! reader's language with names instead of ids: the same lines make the order page's
//! timeline.

use axum::Router;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use crm_lib::{
    Page,
    audit::{AuditFilter, AuditNames},
    model::{ActorRef, AuditAction, AuditDetail, Subject, Timestamp, UserId},
};
use maud::{Markup, html};
use serde::Deserialize;

use crate::AppState;
use crate::web::auth::Staff;
use crate::web::error::AppError;
use crate::web::i18n::{tr_with, when};
use crate::web::layout::{Nav, page};

/// The audit log's route.
pub fn routes() -> Router<AppState> {
    Router::new().route("/audit", get(audit))
}

/// The kinds of record the action filter offers, in the order of the audit actions.
const AREAS: [&str; 11] = [
    "organization",
    "user",
    "role",
    "marker",
    "customer",
    "order",
    "payment",
    "message",
    "api_token",
    "broadcast",
    "project",
];

/// The action, in the reader's language.
pub(crate) fn action_text(staff: &Staff, action: AuditAction) -> String {
    staff.t(&format!("audit.action.{action}"))
}

/// Who acted: a name, or "system".
pub(crate) fn actor_name(staff: &Staff, actor: ActorRef, names: &AuditNames) -> String {
    match (actor, names.actor(actor)) {
        (_, Some(name)) => name.to_string(),
        (ActorRef::System, None) => staff.t("audit.system"),
        (other, None) => other.to_string(),
    }
}

/// The record an entry is about: its kind and number, with its name when it still has one.
pub(crate) fn subject_text(staff: &Staff, subject: &Subject, names: &AuditNames) -> Markup {
    let kind = staff.t(&format!(
        "audit.subject.{}",
        subject.kind().replace(' ', "_")
    ));
    html! {
        @match (subject, subject.id()) {
            (Subject::Other(text), _) => (text),
            (Subject::Media(hash), _) => { (kind) " " code { (hash.to_hex()) } }
            (Subject::Order(order), _) => {
                a href={ "/orders/" (order) } { (kind) " #" (order) }
                @if let Some(name) = names.subject(subject) { " «" (name) "»" }
            }
            (Subject::Broadcast(broadcast), _) => {
                a href={ "/broadcasts/" (broadcast) } { (kind) " " (broadcast) }
            }
            (Subject::Project(project), _) => {
                a href={ "/projects/" (project) } { (kind) " " (project) }
            }
            (Subject::Customer(customer) | Subject::Conversation(customer), _) => {
                a href={ "/chat/" (customer) } { (names.subject(subject).map_or_else(|| format!("{kind} {customer}"), str::to_string)) }
            }
            (_, Some(id)) => {
                (names.subject(subject).map_or_else(|| format!("{kind} {id}"), str::to_string))
            }
            (_, None) => (kind),
        }
    }
}

/// The particulars of an entry, in the reader's language, with names.
pub(crate) fn detail_text(staff: &Staff, detail: &AuditDetail, names: &AuditNames) -> Markup {
    let language = staff.language;
    let user = |user: UserId| {
        names
            .user(user)
            .map_or_else(|| format!("#{user}"), str::to_string)
    };
    html! {
        @match detail {
            AuditDetail::None => {},
            AuditDetail::Text(text) => (text),
            AuditDetail::OrderCreated { title, customer } => {
                "«" (title) "» — " (names.customer(*customer).map_or_else(|| format!("#{customer}"), str::to_string))
            }
            AuditDetail::StageMove { from, to, reason } => {
                (names.stage(*from, language).unwrap_or("?")) " → " (names.stage(*to, language).unwrap_or("?"))
                @if let Some(reason) = reason { ": " (reason) }
            }
            AuditDetail::Assigned { user: assignee, price } => {
                (user(*assignee))
                @if let Some(price) = price { " · " (price) }
            }
            AuditDetail::Bid { price, .. } => (price),
            AuditDetail::Payment { method, amount } => { (amount) " · " (method) }
            AuditDetail::Message { chars, files, .. } => {
                (tr_with(staff.language, "audit.detail.message", &[("chars", &chars.to_string()), ("files", &files.to_string())]))
            }
            AuditDetail::Read { unread } => {
                (tr_with(staff.language, "audit.detail.read", &[("unread", &unread.to_string())]))
            }
            AuditDetail::Access { user: grantee, until } => {
                (user(*grantee))
                @if let Some(until) = until {
                    " · " (tr_with(staff.language, "audit.detail.access_until", &[("when", &when(*until))]))
                }
            }
            AuditDetail::Ledger { amount, balance_after, order, .. } => {
                (tr_with(staff.language, "tokens.audit_detail", &[("amount", &format!("{amount:+}")), ("balance", &balance_after.to_string())]))
                @if let Some(order) = order { " · #" (order) }
            }
            AuditDetail::Markers { markers } => {
                @if markers.is_empty() { (staff.t("audit.detail.no_markers")) }
                @for (index, marker) in markers.iter().enumerate() {
                    @if index > 0 { ", " }
                    (names.marker(*marker, language).map_or_else(|| format!("#{marker}"), str::to_string))
                }
            }
        }
    }
}

/// The audit filters.
#[derive(Debug, Default, Deserialize)]
pub struct AuditQuery {
    #[serde(default)]
    actor: Option<String>,
    #[serde(default)]
    action: Option<String>,
    #[serde(default)]
    from: Option<String>,
    #[serde(default)]
    to: Option<String>,
    #[serde(default)]
    after: Option<String>,
}

fn parse_actor(text: &str) -> Option<ActorRef> {
    let text = text.trim();
    if text == "system" {
        return Some(ActorRef::System);
    }
    let (kind, id) = text.split_once(':')?;
    let id = id.trim().parse().ok()?;
    match kind {
        "user" => Some(ActorRef::Staff(UserId::new(id))),
        "customer" => Some(ActorRef::Customer(crm_lib::model::CustomerId::new(id))),
        _ => None,
    }
}

fn day_start(text: Option<&str>) -> Result<Option<Timestamp>, crm_lib::Error> {
    match text.map(str::trim).filter(|text| !text.is_empty()) {
        Some(text) => {
            let date = crm_lib::model::Date::parse("date", text)?;
            Ok(Some(date.start()))
        }
        None => Ok(None),
    }
}

async fn audit(
    State(state): State<AppState>,
    staff: Staff,
    Query(query): Query<AuditQuery>,
) -> Result<Response, AppError> {
    let from = day_start(query.from.as_deref());
    let to = day_start(query.to.as_deref()).map(|to| to.map(|at| at.plus_millis(86_399_999)));
    let (from, to) = match (from, to) {
        (Ok(from), Ok(to)) => (from, to),
        (Err(error), _) | (_, Err(error)) => {
            return Err(AppError::from(error));
        }
    };
    let filter = AuditFilter {
        actor: query.actor.as_deref().and_then(parse_actor),
        action: query
            .action
            .as_deref()
            .map(str::trim)
            .filter(|action| !action.is_empty())
            .map(str::to_string),
        from,
        to,
        ..AuditFilter::default()
    };
    let page_request = match query.after.as_deref().and_then(|after| after.parse().ok()) {
        Some(after) => Page::after(after, 100),
        None => Page::first(100),
    };
    let actor = staff.actor.clone();
    let (log, staff_names) = state
        .blocking(move |crm| {
            crm.read(|view| {
                Ok((
                    crm_lib::audit::audit_log_in(view, &actor, &filter, page_request)?,
                    crm_lib::team::staff_names_in(view, &actor)?,
                ))
            })
        })
        .await?;
    let entries = &log.entries;
    let mut base = url::form_urlencoded::Serializer::new(String::new());
    for (key, value) in [
        ("actor", &query.actor),
        ("action", &query.action),
        ("from", &query.from),
        ("to", &query.to),
    ] {
        if let Some(value) = value.as_deref().filter(|value| !value.is_empty()) {
            base.append_pair(key, value);
        }
    }
    let base = base.finish();
    let chosen_actor = query.actor.clone().unwrap_or_default();
    Ok(page(
        &staff,
        &staff.t("audit.title"),
        Nav::Audit,
        html! {
            form.filters method="get" action="/audit" {
                label { (staff.t("audit.actor"))
                    select name="actor" {
                        option value="" { (staff.t("orders.any")) }
                        option value="system" selected[chosen_actor == "system"] { "system" }
                        @for name in &staff_names {
                            @let value = format!("user:{}", name.id);
                            option value=(value) selected[chosen_actor == value] { (name.username) }
                        }
                    }
                }
                label { (staff.t("audit.action"))
                    select name="action" {
                        option value="" { (staff.t("orders.any")) }
                        @for area in AREAS {
                            @let value = format!("{area}.");
                            option value=(value) selected[query.action.as_deref() == Some(value.as_str())] { (staff.t(&format!("audit.area.{area}"))) }
                        }
                        @for action in AuditAction::ALL {
                            option value=(action.as_str()) selected[query.action.as_deref() == Some(action.as_str())] { "— " (staff.t(&format!("audit.action.{action}"))) }
                        }
                    }
                }
                label { (staff.t("audit.from"))
                    input type="date" name="from" value=(query.from.as_deref().unwrap_or(""));
                }
                label { (staff.t("audit.to"))
                    input type="date" name="to" value=(query.to.as_deref().unwrap_or(""));
                }
                button type="submit" { (staff.t("orders.filter")) }
            }
            table.audit {
                thead { tr {
                    th { (staff.t("audit.when")) }
                    th { (staff.t("audit.actor")) }
                    th { (staff.t("audit.action")) }
                    th { (staff.t("audit.entity")) }
                    th { (staff.t("audit.summary")) }
                    th { "IP" }
                } }
                tbody {
                    @for entry in &entries.items {
                        tr {
                            td { (when(entry.at)) }
                            td { (actor_name(&staff, entry.actor, &log.names)) }
                            td { (action_text(&staff, entry.action)) }
                            td { (subject_text(&staff, &entry.subject, &log.names)) }
                            td { (detail_text(&staff, &entry.detail, &log.names)) }
                            td { (entry.ip.as_deref().unwrap_or("")) }
                        }
                    }
                }
            }
            @if entries.items.is_empty() { p.muted { (staff.t("audit.none")) } }
            nav.pager aria-label=(staff.t("pager.label")) {
                @if let Some(next) = entries.next {
                    a rel="next" href={ "/audit?" (base) "&after=" (next) } { (staff.t("orders.next_page")) }
                }
            }
        },
    )
    .into_response())
}

#[cfg(test)]
mod tests {
    use crm_lib::model::Language;

    use super::*;
    use crate::web::i18n::tr;

    #[test]
    fn every_audit_action_reads_in_every_language() {
        for language in Language::all() {
            for action in AuditAction::ALL {
                let key = format!("audit.action.{action}");
                assert_ne!(tr(language, &key), key, "{language}: {key}");
            }
            for area in AREAS {
                let key = format!("audit.area.{area}");
                assert_ne!(tr(language, &key), key, "{language}: {key}");
            }
        }
    }

    #[test]
    fn every_action_filter_area_is_the_start_of_some_action() {
        for area in AREAS {
            assert!(
                AuditAction::ALL
                    .iter()
                    .any(|action| action.as_str().starts_with(&format!("{area}."))),
                "{area}"
            );
        }
    }
}
