//! Webhooks (`/settings/webhooks`, `manage_settings`, SPEC 5F): the endpoints with a form to
//! add one (URL, description, event checkboxes), and each endpoint's page
//! (`/settings/webhooks/{id}`): edit, enable or disable, the signing secret with a copy
//! button, rotate it, send a test event, delete, and the delivery log with every attempt and
//! a "Redeliver" button. crm-lib checks everything ([`crm_lib::Tx::create_webhook`]); the
//! handlers parse, make one call and render.

use crm_lib::Paged;
use crm_lib::model::{
    WebhookDelivery, WebhookDeliveryId, WebhookEndpoint, WebhookEndpointId, WebhookEventType,
};
use crm_lib::webhooks::WebhookInput;

use super::*;
use crate::web::i18n::{tr_with, when};
use crate::web::layout::form_value;

/// Deliveries shown per page of the log.
const LOG_PAGE: usize = 20;

/// An endpoint form as posted: `csrf`, `url`, `description`, `event` (repeated),
/// `enabled`.
#[derive(Debug, Default, Clone)]
pub(super) struct WebhookForm {
    pub(super) pairs: Vec<(String, String)>,
}

impl WebhookForm {
    /// The form filled with a stored endpoint.
    pub(super) fn of(endpoint: &WebhookEndpoint) -> Self {
        let mut pairs = vec![
            ("url".to_string(), endpoint.url.clone()),
            ("description".to_string(), endpoint.description.clone()),
        ];
        pairs.extend(
            endpoint
                .events
                .iter()
                .map(|event| ("event".to_string(), event.as_str().to_string())),
        );
        if endpoint.enabled {
            pairs.push(("enabled".into(), "1".into()));
        }
        WebhookForm { pairs }
    }

    /// A new endpoint's form: enabled, no events chosen.
    fn fresh() -> Self {
        WebhookForm {
            pairs: vec![("enabled".into(), "1".into())],
        }
    }

    fn value(&self, name: &str) -> &str {
        form_value(&self.pairs, name)
    }

    fn has_event(&self, event: WebhookEventType) -> bool {
        self.pairs
            .iter()
            .any(|(name, value)| name == "event" && value == event.as_str())
    }

    /// What crm-lib is given.
    fn input(&self) -> WebhookInput {
        WebhookInput {
            url: self.value("url").to_string(),
            description: self.value("description").to_string(),
            events: self
                .pairs
                .iter()
                .filter(|(name, _)| name == "event")
                .map(|(_, value)| value.clone())
                .collect(),
            enabled: !self.value("enabled").is_empty(),
        }
    }
}

fn endpoint_id(text: &str) -> Result<WebhookEndpointId, AppError> {
    text.parse()
        .map(WebhookEndpointId::new)
        .map_err(|_| AppError::not_found(format!("webhook endpoint {text:?} not found")))
}

fn delivery_id(text: &str) -> Result<WebhookDeliveryId, AppError> {
    text.parse()
        .map(WebhookDeliveryId::new)
        .map_err(|_| AppError::not_found(format!("webhook delivery {text:?} not found")))
}

/// `?after=` of the log.
#[derive(Debug, Default, Deserialize)]
pub(super) struct LogQuery {
    #[serde(default)]
    done: Option<String>,
    #[serde(default)]
    after: Option<u64>,
}

/// `GET /settings/webhooks`.
pub(super) async fn webhooks(
    State(state): State<AppState>,
    staff: Staff,
    Query(done): Query<Done>,
) -> Result<Markup, AppError> {
    let note = done_note(&staff, &done);
    let actor = staff.actor.clone();
    let list = state.blocking(move |crm| crm.webhooks(&actor)).await?;
    Ok(list_page(
        &staff,
        &list,
        &WebhookForm::fresh(),
        &FormError::none(),
        note.as_deref(),
    ))
}

/// `POST /settings/webhooks`: adds an endpoint, then opens its page (with its secret).
pub(super) async fn create_webhook(
    State(state): State<AppState>,
    staff: Staff,
    headers: HeaderMap,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let form = WebhookForm { pairs };
    csrf::verify(&staff, form.value("csrf"), &headers)?;
    let actor = staff.actor.clone();
    let input = form.input();
    let result = state
        .blocking(move |crm| Ok(crm.create_webhook(&actor, input)))
        .await?;
    match result {
        Ok(endpoint) => Ok(Redirect::to(&format!(
            "/settings/webhooks/{}?done=webhook_saved",
            endpoint.id
        ))
        .into_response()),
        Err(error) => {
            let (status, error) = form_failure(error)?;
            let actor = staff.actor.clone();
            let list = state.blocking(move |crm| crm.webhooks(&actor)).await?;
            Ok((status, list_page(&staff, &list, &form, &error, None)).into_response())
        }
    }
}

/// `GET /settings/webhooks/{id}`: the endpoint, its secret and its delivery log.
pub(super) async fn webhook(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Query(query): Query<LogQuery>,
) -> Result<Markup, AppError> {
    let id = endpoint_id(&id)?;
    let note = done_note(
        &staff,
        &Done {
            done: query.done.clone(),
        },
    );
    let actor = staff.actor.clone();
    let page = match query.after {
        Some(after) => crm_lib::Page::after(after, LOG_PAGE),
        None => crm_lib::Page::first(LOG_PAGE),
    };
    let (endpoint, log) = state
        .blocking(move |crm| {
            Ok((
                crm.webhook(&actor, id)?,
                crm.webhook_deliveries(&actor, id, page)?,
            ))
        })
        .await?;
    Ok(endpoint_page(
        &staff,
        &endpoint,
        &log,
        &WebhookForm::of(&endpoint),
        &FormError::none(),
        note.as_deref(),
    ))
}

/// `POST /settings/webhooks/{id}`: changes the URL, description, events, enabled flag.
pub(super) async fn update_webhook(
    State(state): State<AppState>,
    staff: Staff,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let id = endpoint_id(&id)?;
    let form = WebhookForm { pairs };
    csrf::verify(&staff, form.value("csrf"), &headers)?;
    let actor = staff.actor.clone();
    let input = form.input();
    let result = state
        .blocking(move |crm| Ok(crm.update_webhook(&actor, id, input)))
        .await?;
    match result {
        Ok(_) => Ok(
            Redirect::to(&format!("/settings/webhooks/{id}?done=webhook_saved")).into_response(),
        ),
        Err(error) => {
            let (status, error) = form_failure(error)?;
            let actor = staff.actor.clone();
            let (endpoint, log) = state
                .blocking(move |crm| {
                    Ok((
                        crm.webhook(&actor, id)?,
                        crm.webhook_deliveries(&actor, id, crm_lib::Page::first(LOG_PAGE))?,
                    ))
                })
                .await?;
            Ok((
                status,
                endpoint_page(&staff, &endpoint, &log, &form, &error, None),
            )
                .into_response())
        }
    }
}

/// `POST /settings/webhooks/{id}/rotate`: a new signing secret.
pub(super) async fn rotate_secret(
    State(state): State<AppState>,
    staff: Staff,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    csrf::verify(&staff, form_value(&pairs, "csrf"), &headers)?;
    let id = endpoint_id(&id)?;
    let actor = staff.actor.clone();
    state
        .blocking(move |crm| crm.rotate_webhook_secret(&actor, id))
        .await?;
    Ok(Redirect::to(&format!("/settings/webhooks/{id}?done=webhook_rotated")).into_response())
}

/// `POST /settings/webhooks/{id}/test`: queues a `webhook.test` message to this endpoint.
pub(super) async fn send_test(
    State(state): State<AppState>,
    staff: Staff,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    csrf::verify(&staff, form_value(&pairs, "csrf"), &headers)?;
    let id = endpoint_id(&id)?;
    let actor = staff.actor.clone();
    state
        .blocking(move |crm| crm.test_webhook(&actor, id))
        .await?;
    Ok(Redirect::to(&format!("/settings/webhooks/{id}?done=webhook_tested")).into_response())
}

/// `POST /settings/webhooks/{id}/delete`.
pub(super) async fn delete_webhook(
    State(state): State<AppState>,
    staff: Staff,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    csrf::verify(&staff, form_value(&pairs, "csrf"), &headers)?;
    let id = endpoint_id(&id)?;
    let actor = staff.actor.clone();
    state
        .blocking(move |crm| crm.delete_webhook(&actor, id))
        .await?;
    Ok(Redirect::to("/settings/webhooks?done=webhook_deleted").into_response())
}

/// `POST /settings/webhooks/{id}/deliveries/{delivery}/redeliver`: another attempt of the
/// same message.
pub(super) async fn redeliver(
    State(state): State<AppState>,
    staff: Staff,
    headers: HeaderMap,
    Path((id, delivery)): Path<(String, String)>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    csrf::verify(&staff, form_value(&pairs, "csrf"), &headers)?;
    endpoint_id(&id)?;
    let delivery = delivery_id(&delivery)?;
    let actor = staff.actor.clone();
    let redelivered = state
        .blocking(move |crm| crm.redeliver_webhook(&actor, delivery))
        .await?;
    // Back to the log the delivery belongs to (the path's endpoint only names the page the
    // button was on).
    Ok(Redirect::to(&format!(
        "/settings/webhooks/{}?done=webhook_redelivered",
        redelivered.endpoint
    ))
    .into_response())
}

fn event_name(staff: &Staff, event: WebhookEventType) -> String {
    staff.t(&format!("webhooks.event.{}", event.as_str()))
}

/// The fields of an endpoint: URL, description, events, enabled.
fn fields(staff: &Staff, form: &WebhookForm, error: &FormError) -> Markup {
    html! {
        (csrf_field(staff))
        (error.general(&["url", "description", "events"]))
        label { (staff.t("webhooks.url"))
            input type="url" name="url" required maxlength="2000" value=(form.value("url"))
                aria-describedby="webhook-url-help" placeholder="https://";
            small #webhook-url-help { (staff.t("webhooks.url_help")) }
            (error.at("url"))
        }
        label { (staff.t("webhooks.description"))
            input type="text" name="description" maxlength="200" value=(form.value("description"));
            (error.at("description"))
        }
        fieldset {
            legend { (staff.t("webhooks.events")) }
            @for event in WebhookEventType::SUBSCRIBABLE {
                label.check {
                    input type="checkbox" name="event" value=(event.as_str()) checked[form.has_event(*event)];
                    (event_name(staff, *event)) " " code { (event.as_str()) }
                }
            }
            (error.at("events"))
        }
        label.check {
            input type="checkbox" name="enabled" value="1" checked[!form.value("enabled").is_empty()];
            (staff.t("webhooks.enabled"))
        }
    }
}

fn list_page(
    staff: &Staff,
    list: &[WebhookEndpoint],
    form: &WebhookForm,
    error: &FormError,
    note: Option<&str>,
) -> Markup {
    page(
        staff,
        &staff.t("webhooks.title"),
        Nav::Settings,
        webhooks_body(staff, list, form, error, note),
    )
}

/// The list page's markup (a pure function of its data).
pub(super) fn webhooks_body(
    staff: &Staff,
    list: &[WebhookEndpoint],
    form: &WebhookForm,
    error: &FormError,
    note: Option<&str>,
) -> Markup {
    html! {
        (notice(note))
        p { a href="/settings" { "← " (staff.t("settings.title")) } }
        p.help { (staff.t("webhooks.intro")) }
        @if list.is_empty() {
            p.empty { (staff.t("webhooks.none")) }
        } @else {
            table {
                thead { tr {
                    th { (staff.t("webhooks.url")) }
                    th { (staff.t("webhooks.description")) }
                    th { (staff.t("webhooks.events")) }
                    th { (staff.t("webhooks.state")) }
                } }
                tbody {
                    @for endpoint in list {
                        tr data-webhook=(endpoint.id) {
                            td { a href={ "/settings/webhooks/" (endpoint.id) } { code { (endpoint.url) } } }
                            td { (endpoint.description) }
                            td { (endpoint.events.iter().map(|event| event.as_str()).collect::<Vec<_>>().join(", ")) }
                            td { @if endpoint.enabled { (staff.t("webhooks.on")) } @else { (staff.t("webhooks.off")) } }
                        }
                    }
                }
            }
        }
        form.form.card method="post" action="/settings/webhooks" autocomplete="off" {
            h2 { (staff.t("webhooks.add")) }
            (fields(staff, form, error))
            button type="submit" { (staff.t("form.save")) }
        }
    }
}

fn endpoint_page(
    staff: &Staff,
    endpoint: &WebhookEndpoint,
    log: &Paged<WebhookDelivery>,
    form: &WebhookForm,
    error: &FormError,
    note: Option<&str>,
) -> Markup {
    page(
        staff,
        &staff.t("webhooks.title"),
        Nav::Settings,
        webhook_body(staff, endpoint, log, form, error, note),
    )
}

/// A small form of one button posting to `action`.
fn button_form(staff: &Staff, action: &str, label: &str, danger: bool) -> Markup {
    html! {
        form.inline method="post" action=(action) {
            (csrf_field(staff))
            @if danger {
                button.small.danger type="submit" { (label) }
            } @else {
                button.small type="submit" { (label) }
            }
        }
    }
}

/// The endpoint page's markup (a pure function of its data).
pub(super) fn webhook_body(
    staff: &Staff,
    endpoint: &WebhookEndpoint,
    log: &Paged<WebhookDelivery>,
    form: &WebhookForm,
    error: &FormError,
    note: Option<&str>,
) -> Markup {
    let base = format!("/settings/webhooks/{}", endpoint.id);
    html! {
        (notice(note))
        p { a href="/settings/webhooks" { "← " (staff.t("webhooks.title")) } }
        form.form.card method="post" action=(base) autocomplete="off" {
            h2 { (staff.t("webhooks.edit")) " " code { (endpoint.url) } }
            (fields(staff, form, error))
            button type="submit" { (staff.t("form.save")) }
        }
        section.card {
            h2 { (staff.t("webhooks.secret")) }
            p.help #webhook-secret-help { (staff.t("webhooks.secret_help")) }
            p {
                input #webhook-secret type="text" readonly value=(endpoint.secret)
                    aria-label=(staff.t("webhooks.secret")) aria-describedby="webhook-secret-help";
                " "
                button.small type="button" data-copy="webhook-secret" { (staff.t("webhooks.copy")) }
            }
            div.actions {
                (button_form(staff, &format!("{base}/rotate"), &staff.t("webhooks.rotate"), true))
                " "
                (button_form(staff, &format!("{base}/test"), &staff.t("webhooks.test"), false))
                " "
                (button_form(staff, &format!("{base}/delete"), &staff.t("webhooks.delete"), true))
            }
        }
        section.card #webhook-log {
            h2 { (staff.t("webhooks.log")) }
            @if log.items.is_empty() {
                p.empty { (staff.t("webhooks.log_none")) }
            }
            @for delivery in &log.items {
                article.delivery data-delivery=(delivery.id) data-state=(delivery.state.as_str()) {
                    h3 {
                        (event_name(staff, delivery.event)) " · "
                        code { (delivery.message_id) } " · "
                        (staff.t(&format!("webhooks.delivery.{}", delivery.state.as_str())))
                    }
                    p.help {
                        (staff.t("webhooks.created")) " " (when(delivery.created_at))
                        @if delivery.state == crm_lib::model::WebhookDeliveryState::Pending {
                            " · " (tr_with(staff.language, "webhooks.next_attempt", &[("at", &when(delivery.next_attempt_at))]))
                        }
                    }
                    @if !delivery.attempts.is_empty() {
                        table.attempts {
                            thead { tr {
                                th { (staff.t("webhooks.attempt_at")) }
                                th { (staff.t("webhooks.status")) }
                                th { (staff.t("webhooks.duration")) }
                            } }
                            tbody {
                                @for attempt in &delivery.attempts {
                                    tr {
                                        td {
                                            (when(attempt.at))
                                            @if attempt.redelivery { " (" (staff.t("webhooks.redelivery")) ")" }
                                        }
                                        td {
                                            @if let Some(status) = attempt.status { code { (status) } " " }
                                            @if let Some(error) = &attempt.error { (error) }
                                        }
                                        td { (tr_with(staff.language, "webhooks.duration_ms", &[("ms", &attempt.duration_ms.to_string())])) }
                                    }
                                }
                            }
                        }
                    }
                    @if delivery.state != crm_lib::model::WebhookDeliveryState::Pending && endpoint.enabled {
                        (button_form(staff, &format!("{base}/deliveries/{}/redeliver", delivery.id), &staff.t("webhooks.redeliver"), false))
                    }
                }
            }
            @if let Some(next) = log.next {
                p { a href={ (base) "?after=" (next) "#webhook-log" } { (staff.t("webhooks.more")) " →" } }
            }
        }
    }
}
