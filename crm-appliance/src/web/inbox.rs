//! The inbox (SPEC 5F, issue 12): `/chat` and `/chat/{customer}` in three panes. Left the
//! conversation list (filter tabs, search, unread counts, previews, assignee, department,
//! state), middle the selected conversation (`web::chat`'s `conversation_body`: messages
//! and the send form), right the customer's details (profile, orders or tickets, calls) with
//! the conversation's actions: close, reopen, snooze (`POST /chat/{customer}/snooze`; close
//! and reopen post to the routes of `pages::operators`, which call the same use cases).
//!
//! One crm-lib read per page ([`crm_lib::inbox::inbox_page_in`] and the conversation, on one
//! snapshot); what the actor may do comes from crm-lib's capabilities. Live: the list, the
//! actions and the details are `data-live-refresh="message"` regions (`live.js` swaps them
//! when a change of a conversation arrives), and `chat.js` refreshes the messages. Keyboard
//! shortcuts are in `inbox.js` (`j`/`k` or Alt+Down/Up: next/previous unread; Ctrl+Enter:
//! send). On a narrow screen the panes stack (`app.css`).

use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use crm_lib::{
    Page,
    chat::NewNote,
    inbox::{ConversationDetails, InboxFilter, InboxPage, InboxQuery, InboxRow},
    model::{ConversationState, CustomerId, Direction, OrderId},
};
use maud::{Markup, html};
use serde::Deserialize;

use crate::AppState;
use crate::web::auth::Staff;
use crate::web::chat::{self, ConversationData};
use crate::web::csrf;
use crate::web::error::AppError;
use crate::web::i18n::when;
use crate::web::layout::{FormError, Nav, csrf_field, page};

/// Conversations per page of the list.
const ROWS_PER_PAGE: usize = 50;

/// The snooze choices the page offers, in minutes (crm-lib takes 1 to 30 days of them).
const SNOOZE_CHOICES: [(u32, &str); 3] = [
    (60, "inbox.snooze.hour"),
    (24 * 60, "inbox.snooze.day"),
    (7 * 24 * 60, "inbox.snooze.week"),
];

/// `/chat`, `/chat/{customer}`, `POST /chat/{customer}/snooze` and `POST
/// /chat/{customer}/note`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/chat", get(inbox))
        .route("/chat/{customer}", get(conversation))
        .route("/chat/{customer}/snooze", post(snooze))
        .route("/chat/{customer}/note", post(note))
}

/// `?filter=&q=&after=&archived=` of the inbox.
#[derive(Debug, Default, Deserialize)]
pub struct InboxParams {
    /// `mine`, `unassigned`, `all` (default), `snoozed` or `closed`.
    #[serde(default)]
    pub filter: String,
    /// The search text.
    #[serde(default)]
    pub q: String,
    /// The list's cursor.
    #[serde(default)]
    pub after: Option<u64>,
    /// The conversation's older messages (cursor of `/chat/{customer}`).
    #[serde(default)]
    pub before: Option<u64>,
    /// `1`: the archived conversations (the operators module's own list).
    #[serde(default)]
    pub archived: Option<String>,
    /// The message the send form quotes (a message's "Reply" link).
    #[serde(default)]
    pub reply: Option<u64>,
}

impl InboxParams {
    fn query(&self, selected: Option<CustomerId>) -> Result<InboxQuery, AppError> {
        Ok(InboxQuery {
            filter: InboxFilter::parse(&self.filter)?,
            search: self.q.clone(),
            page: Page {
                after: self.after,
                limit: ROWS_PER_PAGE,
            },
            selected,
        })
    }
}

/// Everything the page shows, read on one snapshot.
struct InboxData {
    page: InboxPage,
    conversation: Option<ConversationData>,
}

async fn load(
    state: &AppState,
    staff: &Staff,
    query: InboxQuery,
    before: Option<u64>,
) -> Result<InboxData, AppError> {
    let actor = staff.actor.clone();
    let data = state
        .blocking(move |crm| {
            crm.read(|view| {
                let page = crm_lib::inbox::inbox_page_in(view, &actor, &query)?;
                let conversation = match query.selected {
                    Some(customer) => {
                        Some(chat::read_conversation(view, &actor, customer, before)?)
                    }
                    None => None,
                };
                Ok(InboxData { page, conversation })
            })
        })
        .await?;
    Ok(data)
}

/// `GET /chat`: the list with no conversation selected (`?archived=1`: the archived list).
async fn inbox(
    State(state): State<AppState>,
    staff: Staff,
    Query(params): Query<InboxParams>,
) -> Result<Response, AppError> {
    if params.archived.as_deref() == Some("1") {
        let query = chat::InboxQuery {
            after: params.after,
            archived: params.archived.clone(),
        };
        return Ok(chat::inbox(State(state), staff, Query(query))
            .await?
            .into_response());
    }
    let data = load(&state, &staff, params.query(None)?, None).await?;
    Ok(inbox_page(&staff, &data).into_response())
}

/// `GET /chat/{customer}`: the three panes with that conversation selected. Reading writes
/// nothing: `chat.js` marks it read (a button does without JavaScript).
async fn conversation(
    State(state): State<AppState>,
    staff: Staff,
    Path(customer): Path<u64>,
    Query(params): Query<InboxParams>,
) -> Result<Markup, AppError> {
    let customer = CustomerId::new(customer);
    let mut data = load(&state, &staff, params.query(Some(customer))?, params.before).await?;
    if let Some(conversation) = &mut data.conversation {
        conversation.set_reply(params.reply);
    }
    Ok(inbox_page(&staff, &data))
}

/// The snooze form.
#[derive(Debug, Deserialize)]
pub struct SnoozeForm {
    /// The CSRF token.
    #[serde(default)]
    pub csrf: String,
    /// For how long, in minutes.
    #[serde(default)]
    pub minutes: String,
}

/// `POST /chat/{customer}/snooze`: snoozes the conversation (crm-lib checks the permission,
/// the state and the length) and goes back to it.
async fn snooze(
    State(state): State<AppState>,
    staff: Staff,
    headers: HeaderMap,
    Path(customer): Path<u64>,
    Form(form): Form<SnoozeForm>,
) -> Result<Response, AppError> {
    csrf::verify(&staff, &form.csrf, &headers)?;
    let minutes: u32 = form.minutes.trim().parse().map_err(|_| {
        AppError::bad_request(format!("{:?} is not a number of minutes", form.minutes))
    })?;
    let (customer, actor) = (CustomerId::new(customer), staff.actor.clone());
    state
        .blocking(move |crm| crm.snooze_chat(&actor, customer, minutes))
        .await?;
    Ok(Redirect::to(&format!("/chat/{customer}")).into_response())
}

/// The note form.
#[derive(Debug, Deserialize)]
pub struct NoteForm {
    /// The CSRF token.
    #[serde(default)]
    pub csrf: String,
    /// The note.
    #[serde(default)]
    pub text: String,
    /// The order it is about (empty: the conversation).
    #[serde(default)]
    pub order: String,
}

/// `POST /chat/{customer}/note`: a private note on the conversation or one of the
/// customer's orders (crm-lib's `post_note`: staff only, never sent), then back to it.
async fn note(
    State(state): State<AppState>,
    staff: Staff,
    headers: HeaderMap,
    Path(customer): Path<u64>,
    Form(form): Form<NoteForm>,
) -> Result<Response, AppError> {
    csrf::verify(&staff, &form.csrf, &headers)?;
    let order = match form.order.trim() {
        "" => None,
        text => Some(OrderId::new(text.parse().map_err(|_| {
            AppError::bad_request(format!("{text:?} is not an order number"))
        })?)),
    };
    let (customer, actor) = (CustomerId::new(customer), staff.actor.clone());
    let note = NewNote {
        customer,
        order,
        text: form.text,
    };
    state
        .blocking(move |crm| crm.post_note(&actor, note))
        .await?;
    Ok(Redirect::to(&format!("/chat/{customer}")).into_response())
}

/// The page: the three panes and the scripts.
fn inbox_page(staff: &Staff, data: &InboxData) -> Markup {
    page(
        staff,
        &staff.t("chat.title"),
        Nav::Chat,
        html! {
            (inbox_body(staff, data))
            (chat::scripts())
            script src="/assets/js/inbox.js" defer {}
        },
    )
}

/// The address of the list with `filter`, keeping the search.
fn list_href(filter: InboxFilter, search: &str, selected: Option<CustomerId>) -> String {
    let base = match selected {
        Some(customer) => format!("/chat/{customer}"),
        None => "/chat".to_string(),
    };
    let mut params = Vec::new();
    if filter != InboxFilter::All {
        params.push(format!("filter={}", filter.word()));
    }
    if !search.is_empty() {
        params.push(format!("q={}", urlencoding(search)));
    }
    if params.is_empty() {
        base
    } else {
        format!("{base}?{}", params.join("&"))
    }
}

/// The address of the list's next page.
fn more_href(query: &InboxQuery, next: u64) -> String {
    let href = list_href(query.filter, &query.search, query.selected);
    let join = if href.contains('?') { '&' } else { '?' };
    format!("{href}{join}after={next}")
}

/// Percent-encodes a query value (everything but unreserved characters).
fn urlencoding(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// The three panes.
fn inbox_body(staff: &Staff, data: &InboxData) -> Markup {
    let page = &data.page;
    let selected = page.query.selected;
    html! {
        div.inbox #inbox data-selected=[selected] {
            nav.inbox-list aria-label=(staff.t("inbox.list")) {
                (list_pane(staff, page))
            }
            section.inbox-conversation aria-label=(staff.t("inbox.conversation")) {
                @match (&page.selected, &data.conversation) {
                    (Some(details), Some(conversation)) => {
                        (actions_pane(staff, details))
                        (chat::conversation_body(staff, conversation, &FormError::none(), ""))
                    }
                    _ => p.muted.inbox-empty { (staff.t("inbox.choose")) },
                }
            }
            @if let Some(details) = &page.selected {
                aside.inbox-details #inbox-details data-live-refresh="message" aria-label=(staff.t("inbox.details")) {
                    (details_pane(staff, details))
                }
            }
        }
    }
}

/// The left pane: filter tabs, search, rows, the next page, the shortcuts' help line.
fn list_pane(staff: &Staff, page: &InboxPage) -> Markup {
    let query = &page.query;
    html! {
        ul.inbox-filters {
            @for filter in &page.actions.filters {
                li {
                    a href=(list_href(*filter, &query.search, query.selected))
                        aria-current=[(*filter == query.filter).then_some("page")]
                        data-filter=(filter.word()) {
                        (staff.t(&format!("inbox.filter.{}", filter.word())))
                    }
                }
            }
            @if staff.navigation().archived_conversations {
                li { a href="/chat?archived=1" { (staff.t("archive.link")) } }
            }
        }
        form.inbox-search role="search" method="get" action="/chat" {
            input type="hidden" name="filter" value=(query.filter.word());
            label { span.sr-only { (staff.t("inbox.search")) }
                input type="search" name="q" value=(query.search) maxlength="100"
                    placeholder=(staff.t("inbox.search_placeholder"));
            }
            button.small type="submit" { (staff.t("inbox.search")) }
        }
        div #inbox-rows data-live-refresh="message" {
            @if page.rows.items.is_empty() {
                p.muted { (staff.t("chat.none")) }
            } @else {
                ul.conversations {
                    @for row in &page.rows.items {
                        (list_row(staff, page, row))
                    }
                }
            }
            @if let Some(next) = page.rows.next {
                p { a.more href=(more_href(query, next)) { (staff.t("chat.older")) " →" } }
            }
        }
        p.muted.inbox-help { (staff.t("inbox.shortcuts")) }
    }
}

fn state_text(staff: &Staff, state: ConversationState) -> String {
    match state {
        ConversationState::Open => staff.t("inbox.state.open"),
        ConversationState::Snoozed { until, .. } => {
            format!("{} {}", staff.t("inbox.state.snoozed"), when(until))
        }
        ConversationState::Closed { .. } => staff.t("inbox.state.closed"),
    }
}

/// One conversation of the list.
fn list_row(staff: &Staff, page: &InboxPage, row: &InboxRow) -> Markup {
    let data = &row.row;
    let selected = page.query.selected == Some(data.customer);
    let href = list_href(page.query.filter, &page.query.search, Some(data.customer));
    html! {
        li.conversation.unread[data.unread > 0].selected[selected]
            data-customer=(data.customer) data-state=(row.state.word()) {
            a href=(href) aria-current=[selected.then_some("true")] {
                span.name {
                    (data.name)
                    @if let Some(username) = &data.username { " " span.muted { "@" (username) } }
                }
                @if data.unread > 0 {
                    span.badge title=(staff.t("chat.unread")) data-unread=(data.unread) { (data.unread) }
                }
                @if let Some(preview) = &data.preview {
                    span.preview {
                        @if preview.direction == Direction::Outbound { (staff.t("inbox.you")) ": " }
                        @if let Some(label) = &preview.label { "[" (staff.t(&format!("inbox.label.{label}"))) "] " }
                        (preview.text)
                    }
                }
                span.meta.muted {
                    time datetime=(data.last_activity_at.to_rfc3339()) { (when(data.last_activity_at)) }
                    @if row.state != ConversationState::Open { " · " span.state { (state_text(staff, row.state)) } }
                    @if page.actions.assignment {
                        " · " span.assignee { (row.assignee.clone().unwrap_or_else(|| staff.t("inbox.unassigned"))) }
                        @if let Some(department) = &row.department { " · " span.department { (department) } }
                    }
                }
            }
        }
    }
}

/// The conversation's actions above its messages: its state, close or reopen, snooze.
fn actions_pane(staff: &Staff, details: &ConversationDetails) -> Markup {
    let customer = details.customer.id;
    let actions = details.actions;
    html! {
        div.inbox-actions #inbox-actions data-live-refresh="message" {
            h2 { (details.row.row.name) " " span.muted.state data-state=(details.row.state.word()) { (state_text(staff, details.row.state)) } }
            @if actions.close {
                form.inline method="post" action={ "/chat/" (customer) "/close" } {
                    (csrf_field(staff))
                    button.small type="submit" data-action="close" { (staff.t("inbox.close")) }
                }
            }
            @if actions.reopen {
                form.inline method="post" action={ "/chat/" (customer) "/reopen" } {
                    (csrf_field(staff))
                    button.small type="submit" data-action="reopen" { (staff.t("inbox.reopen")) }
                }
            }
            @if actions.snooze {
                form.inline method="post" action={ "/chat/" (customer) "/snooze" } {
                    (csrf_field(staff))
                    label { (staff.t("inbox.snooze.label")) " "
                        select name="minutes" {
                            @for (minutes, key) in SNOOZE_CHOICES {
                                option value=(minutes) { (staff.t(key)) }
                            }
                        }
                    }
                    " " button.small type="submit" data-action="snooze" { (staff.t("inbox.snooze.button")) }
                }
            }
        }
    }
}

/// The right pane: the customer's profile, orders or tickets, calls.
fn details_pane(staff: &Staff, details: &ConversationDetails) -> Markup {
    let customer = &details.customer;
    html! {
        section.card {
            h2 { (staff.t("inbox.profile")) }
            dl.facts {
                dt { (staff.t("inbox.name")) }
                dd { a href={ "/customers/" (customer.id) } { (customer.full_name()) } }
                @if let Some(username) = &customer.username {
                    dt { "Telegram" } dd { "@" (username) }
                }
                @if let Some(phone) = &customer.phone {
                    dt { (staff.t("inbox.phone")) } dd { (phone) }
                }
                @if let Some(email) = &customer.email {
                    dt { "Email" } dd { (email) }
                }
                dt { (staff.t("inbox.since")) } dd { (when(customer.created_at)) }
                @if let Some(assignee) = &details.row.assignee {
                    dt { (staff.t("inbox.assignee")) } dd { (assignee) }
                }
                @if let Some(department) = &details.row.department {
                    dt { (staff.t("inbox.department")) } dd { (department) }
                }
            }
        }
        section.card {
            h2 { (staff.t("inbox.orders")) }
            @if details.orders.is_empty() {
                p.muted { (staff.t("inbox.no_orders")) }
            } @else {
                ul.inbox-orders {
                    @for order in &details.orders {
                        li class=[order.finished.then_some("finished")] {
                            a href={ "/orders/" (order.order.id) } { "#" (order.order.id) " " (order.order.title) }
                            " " span.chip { (order.stage.get(staff.language)) }
                        }
                    }
                }
            }
        }
        section.card.inbox-notes-card {
            h2 { (staff.t("inbox.notes")) }
            @if details.notes.is_empty() {
                p.muted { (staff.t("inbox.no_notes")) }
            } @else {
                ul.inbox-notes {
                    @for note in &details.notes {
                        li data-note=(note.id) {
                            span.muted { (when(note.created_at)) }
                            @if let Some(order) = note.order { " · " a href={ "/orders/" (order) } { "#" (order) } }
                            div.text { (note.text) }
                        }
                    }
                }
            }
            @if details.actions.note {
                form.form method="post" action={ "/chat/" (customer.id) "/note" } {
                    (csrf_field(staff))
                    @if !details.orders.is_empty() {
                        label { (staff.t("chat.about_order"))
                            select name="order" {
                                option value="" { "— " (staff.t("chat.no_order")) }
                                @for order in &details.orders {
                                    option value=(order.order.id) { "#" (order.order.id) " " (order.order.title) }
                                }
                            }
                        }
                    }
                    label { (staff.t("inbox.note.label"))
                        textarea name="text" rows="2" maxlength="4096" required {}
                    }
                    button.small type="submit" data-action="note" { (staff.t("inbox.note.button")) }
                }
            }
        }
        @if !details.calls.is_empty() {
            section.card {
                h2 { (staff.t("inbox.calls")) }
                ul.inbox-calls {
                    @for call in &details.calls {
                        li { (when(call.started_at)) " · " (call.phone) }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crm_lib::model::{BuiltinRole, Language};
    use insta::assert_snapshot;

    use super::*;
    use crate::web::testing::{Fixture, pretty};

    #[test]
    fn the_inbox_shows_the_list_the_selected_conversation_and_its_details() {
        let fixture = Fixture::new("studio");
        let system = fixture.system();
        let sample = fixture.sample();
        let staff = fixture.staff(BuiltinRole::Manager, Language::EN);
        let customer = sample.maria.id;
        let query = InboxQuery {
            selected: Some(customer),
            ..InboxQuery::default()
        };
        let data = fixture
            .crm
            .read(|view| {
                Ok(InboxData {
                    page: crm_lib::inbox::inbox_page_in(view, &system, &query)?,
                    conversation: Some(chat::read_conversation(view, &system, customer, None)?),
                })
            })
            .unwrap();
        assert!(!data.page.rows.items.is_empty());
        assert_snapshot!(pretty(&inbox_body(&staff, &data)));
    }
}
