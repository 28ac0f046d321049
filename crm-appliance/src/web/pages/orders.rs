//! Orders: the list with filters, pagination and CSV export; the order page (fields, bids,
//! assignment, stage moves, payment details, timeline, chat, and the staffing sections of
//! [`super::order_staffing`]); a staff form to create an order for a customer; and the order
//! actions (approve, reject, bid, assign, move, send payment details, and the tickets
//! module's field answers and fraud-flag clearing, whose sections [`super::ticket`] renders;
//! the projects module's Stop AI and Resume AI on a lead, whose section [`super::leads`]
//! renders).

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use crm_lib::{
    ErrorKind, Page,
    model::{
        BidId, BidState, CustomerId, MarkerId, Money, OrderId, PaymentMethodId, StageId, UserId,
    },
    orders::{AssignTo, NewOrder, OrderDetail, OrderFilter, typed_date, typed_money},
};
use maud::{Markup, html};
use serde::Deserialize;

use crate::AppState;
use crate::web::auth::Staff;
use crate::web::colors;
use crate::web::csrf;
use crate::web::error::AppError;
use crate::web::i18n::{tr_with, when};
use crate::web::layout::{FormError, Nav, csrf_field, form_value, notice, page};
use crate::web::pages::ticket;
use crate::web::text::{Text, When};

/// `/orders...`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/orders", get(list).post(create))
        .route("/orders.csv", get(export_csv))
        .route("/orders/new", get(new_form))
        .route(
            "/customers/new",
            get(new_customer_form).post(create_customer),
        )
        .route("/orders/{id}", get(detail))
        .route("/orders/{id}/approve", post(approve))
        .route("/orders/{id}/reject", post(reject))
        .route("/orders/{id}/bids", post(bid))
        .route("/orders/{id}/assign", post(assign))
        .route("/orders/{id}/move", post(move_order))
        .route("/orders/{id}/payment", post(payment))
        .route("/orders/{id}/markers", post(set_markers))
        .route("/orders/{id}/access", post(grant))
        .route("/orders/{id}/access/{user}/revoke", post(revoke))
        .route("/orders/{id}/fields", post(save_fields))
        .route("/orders/{id}/fraud/clear", post(clear_flag))
        .route("/orders/{id}/rerun", post(rerun))
        .route("/orders/{id}/ai/stop", post(stop_ai))
        .route("/orders/{id}/ai/resume", post(resume_ai))
}

/// Parses an order number from the path; anything else is a 404 page.
pub fn order_id(text: &str) -> Result<OrderId, AppError> {
    text.trim_start_matches('#')
        .parse::<u64>()
        .map(OrderId::new)
        .map_err(|_| AppError::not_found(format!("order {text:?} not found")))
}

fn some_id(text: &Option<String>) -> Option<u64> {
    text.as_deref()
        .map(str::trim)
        .filter(|text| !text.is_empty())
        .and_then(|text| text.parse().ok())
}

/// The list's filters as the query string carries them.
#[derive(Debug, Default, Deserialize, Clone)]
pub struct ListQuery {
    #[serde(default)]
    stage: Option<String>,
    #[serde(default)]
    assignee: Option<String>,
    #[serde(default)]
    marker: Option<String>,
    #[serde(default)]
    customer: Option<String>,
    #[serde(default)]
    q: Option<String>,
    #[serde(default)]
    after: Option<String>,
    #[serde(default)]
    done: Option<String>,
    /// Every other parameter; `field.<key>` filters by a ticket field (the tickets module).
    #[serde(flatten)]
    other: std::collections::BTreeMap<String, String>,
}

impl ListQuery {
    /// The first non-empty `field.<key>=answer` parameter, as (key, answer).
    fn field(&self) -> Option<(String, String)> {
        self.other.iter().find_map(|(name, value)| {
            let key = name.strip_prefix(ticket::PREFIX)?;
            (!value.trim().is_empty()).then(|| (key.to_string(), value.clone()))
        })
    }

    fn filter(&self) -> OrderFilter {
        OrderFilter {
            stage: some_id(&self.stage)
                .and_then(|id| u16::try_from(id).ok())
                .map(StageId::new),
            assignee: some_id(&self.assignee).map(UserId::new),
            marker: some_id(&self.marker).map(MarkerId::new),
            customer: some_id(&self.customer).map(CustomerId::new),
            search: self
                .q
                .as_deref()
                .map(str::trim)
                .filter(|q| !q.is_empty())
                .map(|q| q.chars().take(200).collect()),
            field: self.field(),
            ..OrderFilter::default()
        }
    }

    /// The query string without the cursor, for the next-page link and the export.
    fn without_cursor(&self) -> String {
        let mut out = url::form_urlencoded::Serializer::new(String::new());
        for (key, value) in [
            ("stage", &self.stage),
            ("assignee", &self.assignee),
            ("marker", &self.marker),
            ("customer", &self.customer),
            ("q", &self.q),
        ] {
            if let Some(value) = value.as_deref().filter(|value| !value.is_empty()) {
                out.append_pair(key, value);
            }
        }
        if let Some((key, answer)) = self.field() {
            out.append_pair(&format!("{}{key}", ticket::PREFIX), &answer);
        }
        out.finish()
    }
}

/// The page size of the order list.
pub const PAGE_SIZE: usize = 50;

async fn list(
    State(state): State<AppState>,
    staff: Staff,
    Query(query): Query<ListQuery>,
) -> Result<Markup, AppError> {
    let filter = query.filter();
    let page_request = match some_id(&query.after) {
        Some(after) => Page::after(after, PAGE_SIZE),
        None => Page::first(PAGE_SIZE),
    };
    let actor = staff.actor.clone();
    // One snapshot, read on this thread (a page of rows): the page, its names and the filter
    // choices.
    let data = state.read_now(move |crm| {
        crm.read(|view| crm_lib::orders::order_list_in(view, &actor, &filter, page_request))
    })?;
    Ok(page(
        &staff,
        &staff.t("orders.title"),
        Nav::Orders,
        list_body(&staff, &query, &data),
    ))
}

/// The order list's content: the filters (with `query`'s choices), a table of the page's rows
/// and the pager.
fn list_body(staff: &Staff, query: &ListQuery, data: &crm_lib::orders::OrderList) -> Markup {
    let language = staff.language;
    // Each stage's badge is written once per page, not once per row (its ink colour is a
    // WCAG luminance computation).
    let badges: Vec<(crm_lib::model::StageId, Markup)> = data
        .organization
        .pipeline
        .stages
        .iter()
        .map(|stage| (stage.id, colors::badge(&stage.color, stage.name(language))))
        .collect();
    let base = query.without_cursor();
    let chosen =
        |value: &Option<String>, id: u64| value.as_deref() == Some(id.to_string().as_str());
    html! {
        (notice(query.done.as_deref().map(|key| staff.t(&format!("orders.done.{key}"))).as_deref()))
        form.filters method="get" action="/orders" {
            label { (staff.t("orders.stage"))
                select name="stage" {
                    option value="" { (staff.t("orders.any")) }
                    @for stage in &data.organization.pipeline.stages {
                        option value=(stage.id) selected[chosen(&query.stage, u64::from(stage.id.get()))] { (stage.name(language)) }
                    }
                }
            }
            label { (staff.t("orders.assignee"))
                select name="assignee" {
                    option value="" { (staff.t("orders.any")) }
                    @for user in &data.staff {
                        option value=(user.id) selected[chosen(&query.assignee, user.id.get())] { (user.display_name) }
                    }
                }
            }
            label { (staff.t("orders.marker"))
                select name="marker" {
                    option value="" { (staff.t("orders.any")) }
                    @for marker in &data.markers {
                        option value=(marker.id) selected[chosen(&query.marker, marker.id.get())] { (marker.name.get(staff.language)) }
                    }
                }
            }
            label { (staff.t("orders.customer"))
                input type="number" name="customer" min="1" value=(query.customer.as_deref().unwrap_or("")) placeholder="id";
            }
            label { (staff.t("orders.search"))
                input type="search" name="q" value=(query.q.as_deref().unwrap_or(""));
            }
            button type="submit" { (staff.t("orders.filter")) }
            a.button.secondary href={ "/orders.csv?" (base) } { (staff.t("orders.export_csv")) }
            @if staff.navigation().new_order {
                a.button.secondary href="/orders/new" { (staff.t("orders.new")) }
            }
            @if staff.navigation().new_customer {
                a.button.secondary href="/customers/new" { (staff.t("customers.new")) }
            }
        }
        table.orders {
            thead { tr {
                th { "#" }
                th { (staff.t("orders.order_title")) }
                th { (staff.t("orders.customer")) }
                th { (staff.t("orders.stage")) }
                th { (staff.t("orders.assignee")) }
                th { (staff.t("orders.budget")) }
                th { (staff.t("orders.created")) }
            } }
            tbody {
                @for row in &data.rows.items {
                    @let id = row.order.id.get();
                    tr {
                        td { a href={ "/orders/" (id) } { (id) } }
                        td {
                            a href={ "/orders/" (id) } { (Text(&row.order.title)) }
                            (super::leads::hot_marker(staff, crm_lib::leads::is_hot(&row.order)))
                            @if !data.fields.is_empty() {
                                @let shown: Vec<String> = data.fields.iter().filter_map(|def| {
                                    row.order.fields.iter().find(|(key, _)| *key == def.key).map(|(_, value)| {
                                        value.display(Some(def), language, &data.organization.settings.currency)
                                    })
                                }).collect();
                                @if !shown.is_empty() {
                                    br; small.muted.ticket-fields { (Text(&shown.join(" · "))) }
                                }
                            }
                        }
                        td { (Text(&row.customer_name)) }
                        td { @if let Some((_, badge)) = badges.iter().find(|(stage, _)| *stage == row.order.stage) {
                            (badge)
                        } }
                        td { (Text(row.assignee_name.as_deref().unwrap_or("—"))) }
                        td.money { @if let Some(budget) = row.order.budget { (Text(&budget.format_with(language, &data.organization.settings.currency))) } }
                        td { (When(row.order.created_at)) }
                    }
                }
            }
        }
        @if data.rows.items.is_empty() {
            p.muted { (staff.t("orders.none")) }
        }
        nav.pager aria-label=(staff.t("pager.label")) {
            @if query.after.is_some() {
                a href={ "/orders?" (base) } { (staff.t("orders.first_page")) }
            }
            @if let Some(next) = data.rows.next {
                a rel="next" href={ "/orders?" (base) "&after=" (next) } { (staff.t("orders.next_page")) }
            }
        }
    }
}

/// `GET /orders.csv`: the orders of the list with its filters, as crm-lib's CSV export of the
/// order list (the one CSV writer, with its formula guard and row limit).
async fn export_csv(
    State(state): State<AppState>,
    staff: Staff,
    Query(query): Query<ListQuery>,
) -> Result<Response, AppError> {
    let filter = query.filter();
    let actor = staff.actor.clone();
    let csv = state
        .blocking(move |crm| {
            let mut out = Vec::new();
            crm.export_order_list(
                &actor,
                &filter,
                crm_lib::export::ExportFormat::Csv,
                &mut out,
            )?;
            Ok(out)
        })
        .await?;
    let mut response = csv.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    headers.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static("attachment; filename=\"orders.csv\""),
    );
    Ok(response)
}

// ---------------------------------------------------------------------------------------------
// A new order for a customer.

/// The new-order form.
#[derive(Debug, Default, Deserialize, Clone)]
pub struct NewOrderForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    customer: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    budget: String,
    #[serde(default)]
    deadline: String,
    /// A payment method id, or empty for none.
    #[serde(default)]
    preferred_payment_method: String,
    /// The ticket fields as typed (`field.<key>` inputs), when the tickets module is on.
    #[serde(skip)]
    fields: Vec<(String, String)>,
}

impl NewOrderForm {
    /// The form from its posted inputs (the ticket fields' names are the organization's).
    fn from_pairs(pairs: &[(String, String)]) -> Self {
        let value = |name: &str| form_value(pairs, name).to_string();
        NewOrderForm {
            csrf: value("csrf"),
            customer: value("customer"),
            title: value("title"),
            description: value("description"),
            budget: value("budget"),
            deadline: value("deadline"),
            preferred_payment_method: value("preferred_payment_method"),
            fields: ticket::answers_of(pairs),
        }
    }
}

/// A chosen payment method as the form sends it: empty is `None`, else a method id.
///
/// # Errors
/// Invalid input on `preferred_payment_method` for anything but an id.
fn typed_method(text: &str) -> crm_lib::Result<Option<PaymentMethodId>> {
    match text.trim() {
        "" => Ok(None),
        text => text
            .parse::<u64>()
            .map(|id| Some(PaymentMethodId::new(id)))
            .map_err(|_| {
                crm_lib::Error::invalid(
                    "preferred_payment_method",
                    format!(
                        "{:?} is not a payment method",
                        text.chars().take(40).collect::<String>()
                    ),
                )
            }),
    }
}

async fn new_form(
    State(state): State<AppState>,
    staff: Staff,
    Query(query): Query<ListQuery>,
) -> Result<Markup, AppError> {
    let form = NewOrderForm {
        customer: query.customer.unwrap_or_default(),
        ..NewOrderForm::default()
    };
    new_order_page(&state, &staff, &form, &FormError::none()).await
}

async fn new_order_page(
    state: &AppState,
    staff: &Staff,
    form: &NewOrderForm,
    error: &FormError,
) -> Result<Markup, AppError> {
    if !staff.navigation().new_order {
        return Err(AppError::forbidden(staff.t("orders.new_forbidden")));
    }
    let actor = staff.actor.clone();
    let (customers, choices) = state
        .blocking(move |crm| {
            Ok((
                crm.list_customers(&actor, Page::first(200))?,
                crm.new_order_choices(&actor)?,
            ))
        })
        .await?;
    let fields = [
        "customer",
        "title",
        "description",
        "budget",
        "deadline",
        "preferred_payment_method",
        "fields",
    ];
    Ok(page(
        staff,
        &staff.t("orders.new"),
        Nav::Orders,
        html! {
            form.form.card method="post" action="/orders" {
                (csrf_field(staff))
                (error.general(&fields))
                label { (staff.t("orders.customer"))
                    select name="customer" required {
                        option value="" { "—" }
                        @for customer in &customers.items {
                            option value=(customer.id) selected[form.customer == customer.id.to_string()] {
                                (customer.full_name())
                                @if let Some(username) = &customer.username { " @" (username) }
                                " (#" (customer.id) ")"
                            }
                        }
                    }
                    (error.at("customer"))
                }
                label { (staff.t("orders.order_title"))
                    input type="text" name="title" value=(form.title) maxlength="200";
                    (error.at("title"))
                }
                label { (staff.t("orders.description"))
                    textarea name="description" rows="5" maxlength="4000" { (form.description) }
                    (error.at("description"))
                }
                label { (staff.t("orders.budget"))
                    input type="text" name="budget" value=(form.budget) inputmode="decimal";
                    (error.at("budget"))
                }
                label { (staff.t("orders.deadline"))
                    input type="date" name="deadline" value=(form.deadline);
                    (error.at("deadline"))
                }
                @if !choices.payment_methods.is_empty() {
                    label { (staff.t("orders.preferred_payment_method"))
                        select name="preferred_payment_method" {
                            option value="" { "—" }
                            @for method in &choices.payment_methods {
                                option value=(method.id) selected[form.preferred_payment_method == method.id.to_string()] {
                                    (method.name)
                                }
                            }
                        }
                        (error.at("preferred_payment_method"))
                    }
                }
                @if !choices.fields.is_empty() {
                    fieldset.ticket-fields {
                        // A lead's fields are its slots (the projects module without tickets).
                        @let leads = staff.modules.contains(crm_lib::model::Module::Projects)
                            && !staff.modules.contains(crm_lib::model::Module::Tickets);
                        legend { (staff.t(if leads { "leads.web.fields" } else { "tickets.section" })) }
                        (ticket::inputs(staff, &choices.fields, &|key: &str| {
                            form.fields
                                .iter()
                                .find(|(name, _)| name == key)
                                .map(|(_, value)| value.clone())
                                .unwrap_or_default()
                        }))
                        (error.at("fields"))
                    }
                }
                button type="submit" { (staff.t("orders.create")) }
            }
        },
    ))
}

async fn create(
    State(state): State<AppState>,
    staff: Staff,
    headers: HeaderMap,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let form = NewOrderForm::from_pairs(&pairs);
    csrf::verify(&staff, &form.csrf, &headers)?;
    let customer = form
        .customer
        .trim()
        .parse::<u64>()
        .ok()
        .map(CustomerId::new);
    let (title, description) = (form.title.clone(), form.description.clone());
    let (budget, deadline) = (form.budget.clone(), form.deadline.clone());
    let method = form.preferred_payment_method.clone();
    let field_answers = form.fields.clone();
    let actor = staff.actor.clone();
    match state
        .blocking(move |crm| {
            // Typed values are parsed here, at the edge; a bad one is a form error like any.
            let request = NewOrder {
                customer,
                title,
                description,
                budget: typed_money("budget", &budget)?,
                deadline: typed_date("deadline", &deadline)?,
                preferred_payment_method: typed_method(&method)?,
                field_answers,
                ..NewOrder::default()
            };
            crm.create_order(&actor, request)
        })
        .await
    {
        Ok(order) => Ok(Redirect::to(&format!("/orders/{}", order.id)).into_response()),
        Err(error) if matches!(error.kind(), ErrorKind::InvalidInput | ErrorKind::Conflict) => {
            let status = crate::web::error::status_of(error.kind());
            let markup =
                new_order_page(&state, &staff, &form, &FormError::from_error(&error)).await?;
            Ok((status, markup).into_response())
        }
        Err(error) => Err(error.into()),
    }
}

// ---------------------------------------------------------------------------------------------
// The order page.

async fn detail(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Query(query): Query<ListQuery>,
) -> Result<Markup, AppError> {
    let id = order_id(&id)?;
    let note = query
        .done
        .as_deref()
        .map(|key| staff.t(&format!("orders.done.{key}")));
    render_detail(&state, &staff, id, &FormError::none(), note.as_deref()).await
}

async fn render_detail(
    state: &AppState,
    staff: &Staff,
    id: OrderId,
    error: &FormError,
    note: Option<&str>,
) -> Result<Markup, AppError> {
    let actor = staff.actor.clone();
    let data = state
        .blocking(move |crm| crm.read(|view| read_order_page(view, &actor, id)))
        .await?;
    let title = format!("#{} {}", data.detail.order.id, data.detail.order.title);
    Ok(page(
        staff,
        &title,
        Nav::Orders,
        detail_body(staff, &data, error, note),
    ))
}

/// Everything the order page shows, read on one snapshot.
struct OrderPage {
    /// The order with its stage, bids, timeline and crm-lib's actions for the reader.
    detail: OrderDetail,
    /// The customer's files the reader may see.
    files: Vec<crm_lib::model::Media>,
    /// The markers to choose from, when the reader may edit the order's markers.
    markers: Vec<crm_lib::model::Marker>,
    /// Bidders' skills, suggested staff and delegated access.
    staffing: super::order_staffing::Staffing,
    /// The chat panel, when the reader may chat about the order.
    chat: Option<crate::web::chat::OrderChat>,
    /// The ticket's fields and fraud flags, when the tickets module is on.
    ticket: Option<crm_lib::tickets::TicketView>,
    /// The latest calls of the order's customer the reader may see (calls module).
    calls: Vec<crm_lib::model::Call>,
    /// The order's token side, when the tokens module is on and it has one.
    tokens: Option<crm_lib::tokens::TokenOrderView>,
    /// The lead's qualification, when the projects module is on (its orders are leads).
    lead: Option<crm_lib::leads::LeadView>,
}

fn read_order_page(
    view: &impl crm_lib::View,
    actor: &crm_lib::model::Actor,
    id: OrderId,
) -> crm_lib::Result<OrderPage> {
    let detail = crm_lib::orders::order_detail_in(view, actor, id)?;
    let files = order_files(view, actor, &detail.order)?;
    let markers = if detail.actions.edit_markers {
        crm_lib::team::markers_in(view, actor)?
    } else {
        Vec::new()
    };
    let staffing =
        super::order_staffing::read_staffing(view, actor, id, detail.actions.grant_access)?;
    let chat = if detail.actions.chat {
        crate::web::chat::read_order_chat(view, actor, &detail.order)?
    } else {
        None
    };
    let ticket = crm_lib::tickets::ticket_in(view, actor, id)?;
    let calls = crm_lib::calls::calls_of_customer_in(view, actor, detail.order.customer, 10)?;
    let tokens = if crm_lib::tokens::module_on(&crm_lib::org::organization_in(view, actor)?) {
        crm_lib::tokens::token_order_in(view, actor, id)?
    } else {
        None
    };
    let lead = crm_lib::leads::lead_in(view, actor, id)?;
    Ok(OrderPage {
        tokens,
        lead,
        detail,
        files,
        markers,
        staffing,
        chat,
        ticket,
        calls,
    })
}

/// The files the customer attached to the order (the bot's new-order form), as `/media`
/// serves them to this actor: crm-lib's `visible_media_in` decides, as for the download.
fn order_files(
    view: &impl crm_lib::View,
    actor: &crm_lib::model::Actor,
    order: &crm_lib::model::Order,
) -> crm_lib::Result<Vec<crm_lib::model::Media>> {
    let mut files = Vec::with_capacity(order.attachments.len());
    for hash in &order.attachments {
        match crm_lib::media::visible_media_in(view, actor, *hash) {
            Ok(media) => files.push(media),
            // A file the actor may not see (or that is gone) is left out, as /media would.
            Err(error) if error.kind() == ErrorKind::NotFound => {}
            Err(error) => return Err(error),
        }
    }
    Ok(files)
}

/// The order's files: pictures as thumbnails that open the full file, others as links.
fn files_markup(staff: &Staff, files: &[crm_lib::model::Media]) -> Markup {
    let language = staff.language;
    html! {
        @if !files.is_empty() {
            h2 { (staff.t("orders.attachments")) " (" (files.len()) ")" }
            ul.order-files {
                @for (index, file) in files.iter().enumerate() {
                    @let href = format!("/media/{}", file.hash.to_hex());
                    @let number = (index + 1).to_string();
                    li {
                        @if crate::web::chat::inline_image_type(&file.mime) {
                            a.thumbnail href=(href) target="_blank" rel="noopener" {
                                img src=(href) loading="lazy" alt=(tr_with(language, "orders.attachment_image",
                                    &[("number", &number), ("type", &file.mime)]));
                            }
                        } @else {
                            a.file href=(href) download {
                                "📎 " (tr_with(language, "orders.attachment_file", &[("number", &number)]))
                                " (" (file.mime) ", " (file.size.div_ceil(1024)) " KB)"
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The order page's content for `staff`: fields, files, markers, bids, assignment, moves,
/// payment details, timeline, staffing and chat, each shown as crm-lib's actions allow.
fn detail_body(staff: &Staff, data: &OrderPage, error: &FormError, note: Option<&str>) -> Markup {
    let OrderPage {
        detail,
        files,
        markers: all_markers,
        staffing,
        chat,
        ticket,
        calls,
        tokens,
        lead,
    } = data;
    let language = staff.language;
    let order = &detail.order;
    let currency = &detail.currency;
    let action = |what: &str| format!("/orders/{}/{what}", order.id);
    // crm-lib decides what this actor may do here; the page only renders it.
    let actions = &detail.actions;
    let assignment = actions.assign && !detail.assignable.is_empty();
    let stage_name = detail.stage.name(language);
    html! {
        (notice(note))
        (error.general(&["reason", "price", "comment", "stage", "amount", "method", "assignee", "markers", "user", "hours", "fields", "note"]))
        div.order-grid {
            section.card.order-fields {
                p { (colors::badge(&detail.stage.color, detail.stage.name(language))) }
                dl {
                    dt { (staff.t("orders.customer")) }
                    dd {
                        (detail.customer.full_name())
                        @if let Some(username) = &detail.customer.username { " @" (username) }
                    }
                    dt { (staff.t("orders.budget")) }
                    dd { @if let Some(budget) = order.budget { (budget.format_with(language, currency)) } @else { "—" } }
                    dt { (staff.t("orders.deadline")) }
                    dd { @if let Some(deadline) = order.deadline { (deadline) } @else { "—" } }
                    dt { (staff.t("orders.preferred_payment_method")) }
                    dd {
                        @if let Some(method) = &detail.preferred_payment_method {
                            (method.name)
                            @if !method.active { " " span.muted { "(" (staff.t("orders.method_inactive")) ")" } }
                        } @else { "—" }
                    }
                    dt { (staff.t("orders.price")) }
                    dd { @if let Some(price) = order.price { (price.format_with(language, currency)) } @else { "—" } }
                    dt { (staff.t("orders.assignee")) }
                    dd { (detail.assignee_name.as_deref().unwrap_or("—")) }
                    dt { (staff.t("orders.created")) }
                    dd { (when(order.created_at)) }
                    @if !detail.markers.is_empty() || !all_markers.is_empty() {
                        dt { (staff.t("orders.markers")) }
                        dd {
                            @for marker in &detail.markers {
                                (colors::marker(marker, staff.language)) " "
                            }
                            @if detail.markers.is_empty() { "—" }
                            @if !all_markers.is_empty() {
                                details.edit-markers open[error.field == Some("markers")] {
                                    summary { (staff.t("orders.edit_markers")) }
                                    form.form method="post" action=(action("markers")) {
                                        (csrf_field(staff))
                                        fieldset.checks {
                                            @for marker in all_markers {
                                                label.check {
                                                    input type="checkbox" name="marker" value=(marker.id)
                                                        checked[order.markers.contains(&marker.id)];
                                                    (colors::marker(marker, staff.language))
                                                }
                                            }
                                        }
                                        (error.at("markers"))
                                        button type="submit" { (staff.t("orders.save_markers")) }
                                    }
                                }
                            }
                        }
                    }
                    @if let Some(reason) = &order.rejection_reason {
                        dt { (staff.t("orders.rejection_reason")) }
                        dd { (reason) }
                    }
                    @if ticket.is_none() {
                        @for (name, value) in &order.custom_fields {
                            dt { (name) }
                            dd { (value.to_answer()) }
                        }
                    }
                }
                h2 { (staff.t("orders.description")) }
                p.description { (order.description) }
                (files_markup(staff, files))
            }
            section.card.order-actions {
                @if !actions.any() {
                    p.muted.no-actions {
                        @if detail.stage.kind.is_terminal() {
                            (tr_with(language, "orders.no_actions_terminal", &[("stage", &stage_name)]))
                        } @else {
                            (tr_with(language, "orders.no_actions", &[("stage", &stage_name)]))
                        }
                    }
                }
                @if actions.create_project {
                    h3 { (staff.t("projects.lead.title")) }
                    p { a.button href={ "/projects/new?lead=" (order.id) } { (staff.t("projects.lead.create")) } }
                }
                @if let Some(project) = actions.project {
                    p.lead-project {
                        a href={ "/projects/" (project) } { (tr_with(language, "projects.lead.open", &[("id", &project.to_string())])) }
                    }
                }
                @if actions.approve || actions.reject {
                    h3 { (staff.t("orders.moderation")) }
                }
                @if actions.approve {
                    form method="post" action=(action("approve")) {
                        (csrf_field(staff))
                        button type="submit" { (staff.t("orders.approve")) }
                    }
                }
                @if actions.reject {
                    form.form method="post" action=(action("reject")) {
                        (csrf_field(staff))
                        label { (staff.t("orders.reject_reason"))
                            input type="text" name="reason" maxlength="500";
                            (error.at("reason"))
                        }
                        button.danger type="submit" { (staff.t("orders.reject")) }
                    }
                }
                @if !detail.moves.is_empty() {
                    h3 { (staff.t("orders.move")) }
                    form.inline method="post" action=(action("move")) {
                        (csrf_field(staff))
                        select name="stage" aria-label=(staff.t("orders.stage")) {
                            @for stage in &detail.moves {
                                option value=(stage.id) { (stage.name(language)) }
                            }
                        }
                        button type="submit" { (staff.t("orders.move_button")) }
                        (error.at("stage"))
                    }
                }
                @if assignment {
                    h3 { (staff.t("orders.assign")) }
                    form.inline method="post" action=(action("assign")) {
                        (csrf_field(staff))
                        select name="user" aria-label=(staff.t("orders.assignee")) {
                            @for user in &detail.assignable {
                                option value=(user.id) selected[order.assignee == Some(user.id)] { (user.display_name) }
                            }
                        }
                        button type="submit" { (staff.t("orders.assign_button")) }
                    }
                }
                @if actions.send_payment {
                    h3 { (staff.t("orders.payment")) }
                    @if detail.payment_methods.is_empty() {
                        p.muted { (staff.t("orders.no_payment_methods")) }
                    } @else {
                        form.form method="post" action=(action("payment")) {
                            (csrf_field(staff))
                            label { (staff.t("orders.payment_method"))
                                select name="method" {
                                    // The customer's preferred method comes chosen.
                                    @for method in &detail.payment_methods {
                                        option value=(method.id) selected[order.preferred_payment_method == Some(method.id)] { (method.name) }
                                    }
                                }
                                (error.at("method"))
                            }
                            label { (staff.t("orders.amount")) " (" (currency) ")"
                                input type="text" name="amount" inputmode="decimal" value=(order.price.map(|p| p.to_string()).unwrap_or_default());
                                (error.at("amount"))
                                (error.at("template"))
                            }
                            button type="submit" { (staff.t("orders.send_payment")) }
                        }
                    }
                }
                @if !detail.payment_infos.is_empty() {
                    h3 { (staff.t("orders.payments_sent")) }
                    ul { @for info in &detail.payment_infos {
                        li { (when(info.sent_at)) ": " (info.amount.format_with(language, currency)) }
                    } }
                }
                @if let Some(payout) = &detail.payout {
                    p.muted { (staff.t("orders.payout")) ": " (payout.payout.format_with(language, currency))
                        " (" (staff.t("orders.commission")) " " (payout.commission.format_with(language, currency)) ")" }
                }
            }
        }
        section.card #bids {
            h2 { (staff.t("orders.bids")) }
            @if detail.bids.is_empty() {
                p.muted { (staff.t("orders.no_bids")) }
            } @else {
                table { tbody {
                    @for line in &detail.bids {
                        @let bid = &line.bid;
                        tr {
                            td { (line.bidder) (super::order_staffing::bidder_skills(staff, &staffing.skills, bid.user)) }
                            td.money { (bid.price.format_with(language, currency)) }
                            td { (bid.comment) }
                            td { (staff.t(match bid.state {
                                BidState::Active => "bid.active",
                                BidState::Accepted => "bid.accepted",
                                BidState::Declined => "bid.declined",
                            })) }
                            td {
                                @if line.accept {
                                    form method="post" action=(action("assign")) {
                                        (csrf_field(staff))
                                        input type="hidden" name="bid" value=(bid.id);
                                        button type="submit" { (staff.t("orders.assign_bid")) }
                                    }
                                }
                            }
                        }
                    }
                } }
            }
            @if detail.actions.bid {
                form.form method="post" action=(action("bids")) {
                    (csrf_field(staff))
                    label { (staff.t("orders.bid_price")) " (" (currency) ")"
                        input type="text" name="price" inputmode="decimal" required;
                        (error.at("price"))
                    }
                    label { (staff.t("orders.bid_comment"))
                        input type="text" name="comment" maxlength="1000";
                        (error.at("comment"))
                    }
                    button type="submit" { (staff.t("orders.place_bid")) }
                }
            }
        }
        @if let Some(lead) = lead {
            (super::leads::section(staff, order.id.get(), lead))
        }
        @if let Some(ticket) = ticket {
            (ticket::section(staff, order.id.get(), ticket, currency, error, lead.is_some()))
        }
        @if let Some(tokens) = tokens {
            (super::tokens::order_section(staff, order.id, tokens))
        }
        (super::order_staffing::suggestions_section(staff, detail, staffing))
        (super::order_staffing::access_section(staff, detail, staffing, error))
        (super::timeline::calls_section(staff, calls))
        @if let Some(chat) = chat {
            (crate::web::chat::order_panel(staff, chat))
        } @else {
            section.card #chat {
                h2 { (staff.t("orders.chat")) }
                @if detail.actions.chat {
                    p { a href={ "/chat/" (order.customer) } { (staff.t("orders.open_chat")) } }
                }
            }
        }
        section.card #timeline {
            h2 { (staff.t("orders.timeline")) }
            ol.timeline {
                @for entry in &detail.timeline {
                    li {
                        time { (when(entry.at)) }
                        " " strong { (crate::web::pages::audit::action_text(staff, entry.action)) } " "
                        span.muted { (crate::web::pages::audit::actor_name(staff, entry.actor, &detail.timeline_names)) }
                        @if entry.detail != crm_lib::model::AuditDetail::None {
                            " — " (crate::web::pages::audit::detail_text(staff, &entry.detail, &detail.timeline_names))
                        }
                    }
                }
            }
            @if detail.timeline_cut {
                p.muted { (staff.t("orders.timeline_cut")) }
            }
        }
    }
}

/// Renders the result of an order action: success goes back to the order page with a notice;
/// a form error re-renders it with the error beside the field (422, or 409 for a conflict).
/// `POST /orders/{id}/rerun`: runs a completed order of the token service again; on
/// success the new order's page.
async fn rerun(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    headers: HeaderMap,
    Form(form): Form<crate::web::auth::CsrfForm>,
) -> Result<Response, AppError> {
    csrf::verify(&staff, &form.csrf, &headers)?;
    let id = order_id(&id)?;
    let actor = staff.actor.clone();
    match state
        .blocking(move |crm| Ok(crm.rerun_order(&actor, id)))
        .await?
    {
        Ok(placed) => {
            Ok(Redirect::to(&format!("/orders/{}?done=rerun", placed.order.id)).into_response())
        }
        Err(error) => after_action(&state, &staff, id, Err(error), "rerun").await,
    }
}

/// `POST /orders/{id}/ai/stop`: the AI stops on the lead (crm-lib's `stop_lead_ai`).
async fn stop_ai(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    headers: HeaderMap,
    Form(form): Form<crate::web::auth::CsrfForm>,
) -> Result<Response, AppError> {
    order_button(
        &state,
        &staff,
        &id,
        &headers,
        &form.csrf,
        "ai_stopped",
        |crm, actor, id| crm.stop_lead_ai(actor, id).map(|_| ()),
    )
    .await
}

/// `POST /orders/{id}/ai/resume`: the AI works the lead again (crm-lib's `resume_lead_ai`).
async fn resume_ai(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    headers: HeaderMap,
    Form(form): Form<crate::web::auth::CsrfForm>,
) -> Result<Response, AppError> {
    order_button(
        &state,
        &staff,
        &id,
        &headers,
        &form.csrf,
        "ai_resumed",
        |crm, actor, id| crm.resume_lead_ai(actor, id).map(|_| ()),
    )
    .await
}

/// A button of the order page that takes nothing but the CSRF token: the check, one crm-lib
/// call on the order, then [`after_action`] with the notice `done`.
async fn order_button(
    state: &AppState,
    staff: &Staff,
    id: &str,
    headers: &HeaderMap,
    csrf_token: &str,
    done: &str,
    call: impl FnOnce(&crm_lib::Crm, &crm_lib::model::Actor, OrderId) -> crm_lib::Result<()>
    + Send
    + 'static,
) -> Result<Response, AppError> {
    csrf::verify(staff, csrf_token, headers)?;
    let id = order_id(id)?;
    let actor = staff.actor.clone();
    let result = state.blocking(move |crm| Ok(call(crm, &actor, id))).await?;
    after_action(state, staff, id, result, done).await
}

pub(super) async fn after_action(
    state: &AppState,
    staff: &Staff,
    id: OrderId,
    result: crm_lib::Result<()>,
    done: &str,
) -> Result<Response, AppError> {
    match result {
        Ok(()) => Ok(Redirect::to(&format!("/orders/{id}?done={done}")).into_response()),
        Err(error) if matches!(error.kind(), ErrorKind::InvalidInput | ErrorKind::Conflict) => {
            let status = crate::web::error::status_of(error.kind());
            let markup =
                render_detail(state, staff, id, &FormError::from_error(&error), None).await?;
            Ok((status, markup).into_response())
        }
        Err(error) => Err(error.into()),
    }
}

async fn approve(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    headers: HeaderMap,
    Form(form): Form<crate::web::auth::CsrfForm>,
) -> Result<Response, AppError> {
    order_button(
        &state,
        &staff,
        &id,
        &headers,
        &form.csrf,
        "approved",
        |crm, actor, id| crm.approve_order(actor, id).map(|_| ()),
    )
    .await
}

/// The reject form.
#[derive(Debug, Default, Deserialize)]
pub struct RejectForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    reason: String,
}

async fn reject(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    headers: HeaderMap,
    Form(form): Form<RejectForm>,
) -> Result<Response, AppError> {
    csrf::verify(&staff, &form.csrf, &headers)?;
    let id = order_id(&id)?;
    let actor = staff.actor.clone();
    let result = state
        .blocking(move |crm| Ok(crm.reject_order(&actor, id, &form.reason)))
        .await?
        .map(|_| ());
    after_action(&state, &staff, id, result, "rejected").await
}

/// The bid form.
#[derive(Debug, Default, Deserialize)]
pub struct BidForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    price: String,
    #[serde(default)]
    comment: String,
}

async fn bid(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    headers: HeaderMap,
    Form(form): Form<BidForm>,
) -> Result<Response, AppError> {
    csrf::verify(&staff, &form.csrf, &headers)?;
    let id = order_id(&id)?;
    let actor = staff.actor.clone();
    let result = state
        .blocking(move |crm| {
            Ok(Money::parse("price", &form.price)
                .and_then(|price| crm.place_bid(&actor, id, price, &form.comment)))
        })
        .await?
        .map(|_| ());
    after_action(&state, &staff, id, result, "bid").await
}

/// The assign form: a bid, or a user.
#[derive(Debug, Default, Deserialize)]
pub struct AssignForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    bid: Option<String>,
    #[serde(default)]
    user: Option<String>,
}

async fn assign(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    headers: HeaderMap,
    Form(form): Form<AssignForm>,
) -> Result<Response, AppError> {
    csrf::verify(&staff, &form.csrf, &headers)?;
    let id = order_id(&id)?;
    let to = match (some_id(&form.bid), some_id(&form.user)) {
        (Some(bid), _) => AssignTo::Bid(BidId::new(bid)),
        (None, Some(user)) => AssignTo::User(UserId::new(user)),
        (None, None) => {
            let error = crm_lib::Error::invalid("assignee", staff.t("orders.choose_assignee"));
            return after_action(&state, &staff, id, Err(error), "assigned").await;
        }
    };
    let actor = staff.actor.clone();
    let result = state
        .blocking(move |crm| Ok(crm.assign_order(&actor, id, to)))
        .await?
        .map(|_| ());
    after_action(&state, &staff, id, result, "assigned").await
}

/// The move form (also posted by the board's drag and drop, with the token in a header).
#[derive(Debug, Default, Deserialize)]
pub struct MoveForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    stage: String,
    #[serde(default)]
    back: Option<String>,
}

async fn move_order(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    headers: HeaderMap,
    Form(form): Form<MoveForm>,
) -> Result<Response, AppError> {
    let token = if form.csrf.is_empty() {
        csrf::header_token(&headers)
    } else {
        form.csrf.as_str()
    };
    csrf::verify(&staff, token, &headers)?;
    let id = order_id(&id)?;
    let json = headers
        .get(header::ACCEPT)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|accept| accept.contains("application/json"));
    let stage = form.stage.trim().parse::<u16>().map(StageId::new);
    let actor = staff.actor.clone();
    let result = match stage {
        Ok(stage) => state
            .blocking(move |crm| Ok(crm.move_order(&actor, id, stage)))
            .await?
            .map(|_| ()),
        Err(_) => Err(crm_lib::Error::invalid("stage", "choose a stage")),
    };
    if json {
        return Ok(match result {
            Ok(()) => (
                StatusCode::OK,
                [(header::CONTENT_TYPE, "application/json")],
                r#"{"ok":true}"#.to_string(),
            )
                .into_response(),
            Err(error) => {
                let status = crate::web::error::status_of(error.kind());
                let message = if status.is_server_error() {
                    tracing::error!(%error, "moving an order failed");
                    "something went wrong on our side".to_string()
                } else {
                    error.message().to_string()
                };
                (
                    status,
                    [(header::CONTENT_TYPE, "application/json")],
                    serde_json::json!({ "error": message }).to_string(),
                )
                    .into_response()
            }
        });
    }
    if form.back.as_deref() == Some("board") {
        return match result {
            Ok(()) => Ok(Redirect::to("/board").into_response()),
            Err(error) => Err(error.into()),
        };
    }
    after_action(&state, &staff, id, result, "moved").await
}

/// The payment details form.
#[derive(Debug, Default, Deserialize)]
pub struct PaymentForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    method: String,
    #[serde(default)]
    amount: String,
}

async fn payment(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    headers: HeaderMap,
    Form(form): Form<PaymentForm>,
) -> Result<Response, AppError> {
    csrf::verify(&staff, &form.csrf, &headers)?;
    let id = order_id(&id)?;
    let Ok(method) = form.method.trim().parse::<u64>().map(PaymentMethodId::new) else {
        let error = crm_lib::Error::invalid("method", staff.t("orders.choose_method"));
        return after_action(&state, &staff, id, Err(error), "payment").await;
    };
    let actor = staff.actor.clone();
    let result = state
        .blocking(move |crm| {
            Ok(Money::parse("amount", &form.amount)
                .and_then(|amount| crm.send_payment_info(&actor, id, method, amount)))
        })
        .await?
        .map(|_| ());
    after_action(&state, &staff, id, result, "payment").await
}

/// `POST /orders/{id}/markers`: replaces the order's markers with the checked ones (none
/// checked clears them).
async fn set_markers(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    headers: HeaderMap,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    csrf::verify(&staff, form_value(&pairs, "csrf"), &headers)?;
    let id = order_id(&id)?;
    let mut markers = Vec::new();
    for (_, text) in pairs.iter().filter(|(key, _)| key == "marker") {
        match text.trim().parse::<u64>() {
            Ok(marker) => markers.push(MarkerId::new(marker)),
            Err(_) => {
                let error = crm_lib::Error::invalid(
                    "markers",
                    format!(
                        "{:?} is not a marker",
                        text.chars().take(40).collect::<String>()
                    ),
                );
                return after_action(&state, &staff, id, Err(error), "markers").await;
            }
        }
    }
    let actor = staff.actor.clone();
    let result = state
        .blocking(move |crm| Ok(crm.set_order_markers(&actor, id, markers)))
        .await?
        .map(|_| ());
    after_action(&state, &staff, id, result, "markers").await
}

// ---------------------------------------------------------------------------------------------
// A customer entered by hand (a phone call, a walk-in), so staff can order for them.

/// The new-customer form.
#[derive(Debug, Default, Deserialize, Clone)]
pub struct CustomerForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    first_name: String,
    #[serde(default)]
    last_name: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    telegram_id: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    email: String,
}

fn customer_page(staff: &Staff, form: &CustomerForm, error: &FormError) -> Markup {
    let fields = [
        "first_name",
        "last_name",
        "username",
        "telegram_id",
        "phone",
        "email",
    ];
    page(
        staff,
        &staff.t("customers.new"),
        Nav::Orders,
        html! {
            form.form.card method="post" action="/customers/new" {
                (csrf_field(staff))
                (error.general(&fields))
                @for (name, value) in [
                    ("first_name", &form.first_name), ("last_name", &form.last_name),
                    ("username", &form.username), ("telegram_id", &form.telegram_id),
                    ("phone", &form.phone), ("email", &form.email),
                ] {
                    label { (staff.t(&format!("customers.{name}")))
                        input type="text" name=(name) value=(value);
                        (error.at(name))
                    }
                }
                button type="submit" { (staff.t("customers.create")) }
            }
        },
    )
}

async fn new_customer_form(staff: Staff) -> Result<Markup, AppError> {
    if !staff.navigation().new_customer {
        return Err(AppError::forbidden(staff.t("customers.forbidden")));
    }
    Ok(customer_page(
        &staff,
        &CustomerForm::default(),
        &FormError::none(),
    ))
}

async fn create_customer(
    State(state): State<AppState>,
    staff: Staff,
    headers: HeaderMap,
    Form(form): Form<CustomerForm>,
) -> Result<Response, AppError> {
    csrf::verify(&staff, &form.csrf, &headers)?;
    let request = crm_lib::customers::NewCustomer {
        telegram_id: form.telegram_id.clone(),
        username: form.username.clone(),
        first_name: form.first_name.clone(),
        last_name: form.last_name.clone(),
        phone: form.phone.clone(),
        email: form.email.clone(),
        language: String::new(),
    };
    let actor = staff.actor.clone();
    match state
        .blocking(move |crm| Ok(crm.create_customer(&actor, request)))
        .await?
    {
        Ok(customer) => {
            Ok(Redirect::to(&format!("/orders/new?customer={}", customer.id)).into_response())
        }
        Err(error) if matches!(error.kind(), ErrorKind::InvalidInput | ErrorKind::Conflict) => {
            let status = crate::web::error::status_of(error.kind());
            Ok((
                status,
                customer_page(&staff, &form, &FormError::from_error(&error)),
            )
                .into_response())
        }
        Err(error) => Err(error.into()),
    }
}

// ---------------------------------------------------------------------------------------------
// Delegated access (the staffing section of `order_staffing.rs` shows the forms).

/// The grant form.
#[derive(Debug, Default, Deserialize)]
pub struct GrantForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    user: String,
    #[serde(default)]
    hours: String,
}

/// `POST /orders/{id}/access`: gives a user access to the order for a number of hours.
async fn grant(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    headers: HeaderMap,
    Form(form): Form<GrantForm>,
) -> Result<Response, AppError> {
    csrf::verify(&staff, &form.csrf, &headers)?;
    let id = order_id(&id)?;
    let Ok(user) = form.user.trim().parse::<u64>().map(UserId::new) else {
        let error = crm_lib::Error::invalid("user", staff.t("orders.access_choose_user"));
        return after_action(&state, &staff, id, Err(error), "access_granted").await;
    };
    let Ok(hours) = form.hours.trim().parse::<u32>() else {
        let error = crm_lib::Error::invalid("hours", staff.t("orders.access_choose_hours"));
        return after_action(&state, &staff, id, Err(error), "access_granted").await;
    };
    let actor = staff.actor.clone();
    let result = state
        .blocking(move |crm| Ok(crm.grant_order_access(&actor, id, user, hours)))
        .await?
        .map(|_| ());
    after_action(&state, &staff, id, result, "access_granted").await
}

/// `POST /orders/{id}/access/{user}/revoke`: takes a user's delegated access away.
async fn revoke(
    State(state): State<AppState>,
    staff: Staff,
    Path((id, user)): Path<(String, String)>,
    headers: HeaderMap,
    Form(form): Form<crate::web::auth::CsrfForm>,
) -> Result<Response, AppError> {
    csrf::verify(&staff, &form.csrf, &headers)?;
    let id = order_id(&id)?;
    let user = user
        .parse::<u64>()
        .map(UserId::new)
        .map_err(|_| AppError::not_found(format!("user {user:?} not found")))?;
    let actor = staff.actor.clone();
    let result = state
        .blocking(move |crm| Ok(crm.revoke_order_access(&actor, id, user)))
        .await?;
    after_action(&state, &staff, id, result, "access_revoked").await
}

/// `POST /orders/{id}/fields`: the whole form (a field left empty is cleared).
async fn save_fields(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    headers: HeaderMap,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    csrf::verify(&staff, form_value(&pairs, "csrf"), &headers)?;
    let id = order_id(&id)?;
    let answers = ticket::answers_of(&pairs);
    let actor = staff.actor.clone();
    let result = state
        .blocking(move |crm| {
            Ok(crm.set_order_field_answers(&actor, id, answers, crm_lib::tickets::Unnamed::Clear))
        })
        .await?
        .map(|_| ());
    after_action(&state, &staff, id, result, "fields").await
}

/// `POST /orders/{id}/fraud/clear`: clears one flag with a note.
async fn clear_flag(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    headers: HeaderMap,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    csrf::verify(&staff, form_value(&pairs, "csrf"), &headers)?;
    let id = order_id(&id)?;
    let (rule, note) = (
        form_value(&pairs, "rule").to_string(),
        form_value(&pairs, "note").to_string(),
    );
    let actor = staff.actor.clone();
    let result = state
        .blocking(move |crm| Ok(crm.clear_fraud_flag(&actor, id, &rule, &note)))
        .await?
        .map(|_| ());
    after_action(&state, &staff, id, result, "flag_cleared").await
}

#[cfg(test)]
mod tests {
    use crm_lib::model::{Actor, BuiltinRole, Language};
    use insta::assert_snapshot;

    use super::*;
    use crate::web::testing::{Fixture, pretty};

    #[test]
    fn the_order_list_shows_rows_with_badges_names_and_money_and_the_filters() {
        let fixture = Fixture::new("studio");
        fixture.sample();
        let query = ListQuery::default();
        let data = fixture
            .crm
            .read(|view| {
                crm_lib::orders::order_list_in(
                    view,
                    &fixture.system(),
                    &query.filter(),
                    Page::first(PAGE_SIZE),
                )
            })
            .unwrap();
        assert_eq!(data.rows.items.len(), 3);
        let staff = fixture.staff(BuiltinRole::Manager, Language::EN);
        assert_snapshot!(pretty(&list_body(&staff, &query, &data)));
    }

    #[test]
    fn a_filtered_order_list_in_russian_keeps_the_filters_and_pages_on() {
        let fixture = Fixture::new("studio");
        let sample = fixture.sample();
        let query = ListQuery {
            customer: Some(sample.maria.id.to_string()),
            q: Some("website".into()),
            after: Some("9".into()),
            ..ListQuery::default()
        };
        let data = fixture
            .crm
            .read(|view| {
                crm_lib::orders::order_list_in(
                    view,
                    &fixture.system(),
                    &query.filter(),
                    Page::after(9, PAGE_SIZE),
                )
            })
            .unwrap();
        assert_eq!(data.rows.items.len(), 1, "only Maria's website");
        let staff = fixture.staff(BuiltinRole::Manager, Language::RU);
        assert_snapshot!(pretty(&list_body(&staff, &query, &data)));
    }

    #[test]
    fn the_assignee_sees_their_order_with_its_moves_and_the_chat_panel() {
        let fixture = Fixture::new("studio");
        let sample = fixture.sample();
        let ivan = Actor::staff(fixture.org.id, sample.ivan.id);
        let data = fixture
            .crm
            .read(|view| read_order_page(view, &ivan, sample.orders[2]))
            .unwrap();
        assert!(data.chat.is_some(), "the assignee may chat about the order");
        let staff = fixture.staff(BuiltinRole::Worker, Language::EN);
        assert_snapshot!(pretty(&detail_body(
            &staff,
            &data,
            &FormError::none(),
            Some("Moved.")
        )));
    }

    #[test]
    fn a_manager_sees_every_action_on_an_approved_order_in_russian() {
        let fixture = Fixture::new("studio");
        let sample = fixture.sample();
        let data = fixture
            .crm
            .read(|view| read_order_page(view, &fixture.system(), sample.orders[1]))
            .unwrap();
        let staff = fixture.staff(BuiltinRole::Manager, Language::RU);
        let error =
            FormError::from_error(&crm_lib::Error::invalid("price", "must be more than zero"));
        assert_snapshot!(pretty(&detail_body(&staff, &data, &error, None)));
    }
}
