//! The broadcast pages' markup: pure functions of what the handlers read ([`ListData`],
//! [`Detail`], the form), for the staff user viewing them. The buttons are crm-lib's
//! [`BroadcastActions`]; nothing here decides what may be done.

use crm_lib::broadcasts::{
    BroadcastActions, BroadcastSetup, MAX_ACTIVE_DAYS, MAX_RATE, TEXT_MAX_CHARS, TITLE_MAX_CHARS,
};
use crm_lib::model::{
    Audience, Broadcast, BroadcastCounts, BroadcastId, BroadcastState, Language, RecipientState,
    Zone,
};
use maud::{Markup, html};

use super::{BroadcastForm, Detail, ListData};
use crate::web::auth::Staff;
use crate::web::i18n::{tr, tr_with};
use crate::web::layout::{FormError, csrf_field, notice};

/// The recipient states the report's filter offers, in report order.
const RECIPIENT_STATES: [&str; 6] = ["pending", "queued", "sent", "failed", "blocked", "skipped"];

/// A broadcast's state as a badge.
fn state_badge(staff: &Staff, state: BroadcastState) -> Markup {
    html! {
        span.badge.broadcast-state data-state=(state.as_str()) {
            (staff.t(&format!("broadcasts.state.{}", state.as_str())))
        }
    }
}

/// A moment on the organization's clock, or a dash.
fn local(zone: &Zone, at: Option<crm_lib::model::Timestamp>) -> String {
    at.map_or_else(|| "—".to_string(), |at| zone.local_text(at))
}

/// The list page's markup.
pub(super) fn list_body(staff: &Staff, data: &ListData, note: Option<&str>) -> Markup {
    html! {
        (notice(note))
        p.help { (staff.t("broadcasts.intro")) }
        p { a.button href="/broadcasts/new" { (staff.t("broadcasts.new")) } }
        @if data.broadcasts.is_empty() {
            p.empty { (staff.t("broadcasts.none")) }
        } @else {
            div.table-scroll {
                table.broadcasts {
                    thead { tr {
                        th scope="col" { (staff.t("broadcasts.field.title")) }
                        th scope="col" { (staff.t("broadcasts.state")) }
                        th scope="col" { (staff.t("broadcasts.count.recipients")) }
                        th scope="col" { (staff.t("broadcasts.count.sent")) }
                        th scope="col" { (staff.t("broadcasts.count.failed")) }
                        th scope="col" { (staff.t("broadcasts.count.blocked")) }
                        th scope="col" { (staff.t("broadcasts.started")) }
                        th scope="col" { (staff.t("broadcasts.finished")) }
                    } }
                    tbody {
                        @for row in &data.broadcasts {
                            @let broadcast = &row.broadcast;
                            @let counts = &broadcast.counts;
                            @let started = broadcast.started_at.is_some();
                            tr data-broadcast=(broadcast.id) {
                                td { a href={ "/broadcasts/" (broadcast.id) } { (broadcast.title) } }
                                td {
                                    (state_badge(staff, broadcast.state))
                                    @if let Some(at) = broadcast.scheduled_at {
                                        " " span.muted { (data.zone.local_text(at)) }
                                    }
                                }
                                @if started {
                                    td { (counts.recipients) }
                                    td { (counts.sent) }
                                    td { (counts.failed) }
                                    td { (counts.blocked) }
                                } @else {
                                    td { "—" } td { "—" } td { "—" } td { "—" }
                                }
                                td { (local(&data.zone, broadcast.started_at)) }
                                td { (local(&data.zone, broadcast.finished_at)) }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The fields a form error may name, shown beside their input.
const FORM_FIELDS: [&str; 10] = [
    "title",
    "text",
    "languages",
    "subscribers",
    "balance_min",
    "balance_max",
    "active_within_days",
    "has_ordered",
    "rate_per_second",
    "audience",
];

/// A yes / no / any choice.
fn choice(staff: &Staff, name: &str, label: &str, value: &str, error: &FormError) -> Markup {
    html! {
        label { (label)
            select name=(name) {
                option value="" selected[value.is_empty()] { (staff.t("broadcasts.any")) }
                option value="yes" selected[value == "yes"] { (staff.t("broadcasts.yes")) }
                option value="no" selected[value == "no"] { (staff.t("broadcasts.no")) }
            }
            (error.at(name))
        }
    }
}

/// The character counter's text for a text.
fn counter_text(staff: &Staff, text: &str) -> String {
    tr_with(
        staff.language,
        "broadcasts.counter",
        &[
            ("count", &text.trim().chars().count().to_string()),
            ("max", &TEXT_MAX_CHARS.to_string()),
        ],
    )
}

/// The new and edit pages' markup.
pub(super) fn form_body(
    staff: &Staff,
    setup: BroadcastSetup,
    editing: Option<BroadcastId>,
    form: &BroadcastForm,
    error: &FormError,
) -> Markup {
    let (action, back) = match editing {
        Some(id) => (
            format!("/broadcasts/{id}/edit"),
            format!("/broadcasts/{id}"),
        ),
        None => ("/broadcasts".to_string(), "/broadcasts".to_string()),
    };
    let text = form.value("text");
    html! {
        p { a href=(back) { "← " (staff.t("broadcasts.back")) } }
        (error.general(&FORM_FIELDS))
        form.form.card.broadcast-form method="post" action=(action) autocomplete="off" {
            (csrf_field(staff))
            label { (staff.t("broadcasts.field.title"))
                input type="text" name="title" required maxlength=(TITLE_MAX_CHARS) value=(form.value("title"))
                    aria-describedby="broadcast-title-help";
                small #broadcast-title-help { (staff.t("broadcasts.title_help")) }
                (error.at("title"))
            }
            label { (staff.t("broadcasts.field.text"))
                textarea #broadcast-text name="text" required rows="8"
                    data-max-chars=(TEXT_MAX_CHARS) data-counter="broadcast-text-count"
                    aria-describedby="broadcast-text-count broadcast-text-help" { (text) }
                small #broadcast-text-help { (staff.t("broadcasts.text_help")) }
                span #broadcast-text-count .counter data-template=(tr(staff.language, "broadcasts.counter")) {
                    (counter_text(staff, text))
                }
                (error.at("text"))
            }
            fieldset.audience {
                legend { (staff.t("broadcasts.audience")) }
                p.help { (staff.t("broadcasts.audience_help")) }
                fieldset.checks {
                    legend { (staff.t("broadcasts.field.languages")) }
                    @for language in Language::all() {
                        label.check {
                            input type="checkbox" name="languages" value=(language.code()) checked[form.has_language(language)];
                            (language.native_name())
                        }
                    }
                    (error.at("languages"))
                }
                @if setup.token_conditions {
                    (choice(staff, "subscribers", &staff.t("broadcasts.field.subscribers"), form.value("subscribers"), error))
                    label { (staff.t("broadcasts.field.balance_min"))
                        input type="number" name="balance_min" min="0" step="1" value=(form.value("balance_min"));
                        (error.at("balance_min"))
                    }
                    label { (staff.t("broadcasts.field.balance_max"))
                        input type="number" name="balance_max" min="0" step="1" value=(form.value("balance_max"));
                        (error.at("balance_max"))
                    }
                }
                label { (staff.t("broadcasts.field.active_within_days"))
                    input type="number" name="active_within_days" min="1" max=(MAX_ACTIVE_DAYS) step="1"
                        value=(form.value("active_within_days"));
                    (error.at("active_within_days"))
                }
                (choice(staff, "has_ordered", &staff.t("broadcasts.field.has_ordered"), form.value("has_ordered"), error))
                (error.at("audience"))
            }
            label { (staff.t("broadcasts.field.rate"))
                input type="number" name="rate_per_second" required min="1" max=(MAX_RATE) step="1"
                    value=(form.value("rate_per_second")) aria-describedby="broadcast-rate-help";
                small #broadcast-rate-help { (tr_with(staff.language, "broadcasts.rate_help", &[("max", &MAX_RATE.to_string())])) }
                (error.at("rate_per_second"))
            }
            button type="submit" { (staff.t("broadcasts.save")) }
        }
        script src="/assets/js/broadcast.js" defer {}
    }
}

/// The audience's conditions in words, one a line.
fn audience_lines(staff: &Staff, audience: &Audience) -> Vec<String> {
    let language = staff.language;
    let mut lines = Vec::new();
    if audience.is_everyone() {
        lines.push(staff.t("broadcasts.audience_everyone"));
        return lines;
    }
    if !audience.languages.is_empty() {
        let names: Vec<&str> = audience
            .languages
            .iter()
            .map(|language| language.native_name())
            .collect();
        lines.push(tr_with(
            language,
            "broadcasts.audience_languages",
            &[("languages", &names.join(", "))],
        ));
    }
    match audience.subscribers {
        Some(true) => lines.push(staff.t("broadcasts.audience_subscribers")),
        Some(false) => lines.push(staff.t("broadcasts.audience_not_subscribers")),
        None => {}
    }
    match (audience.balance_min, audience.balance_max) {
        (Some(min), Some(max)) => lines.push(tr_with(
            language,
            "broadcasts.audience_balance_between",
            &[("min", &min.to_string()), ("max", &max.to_string())],
        )),
        (Some(min), None) => lines.push(tr_with(
            language,
            "broadcasts.audience_balance_min",
            &[("min", &min.to_string())],
        )),
        (None, Some(max)) => lines.push(tr_with(
            language,
            "broadcasts.audience_balance_max",
            &[("max", &max.to_string())],
        )),
        (None, None) => {}
    }
    if let Some(days) = audience.active_within_days {
        lines.push(tr_with(
            language,
            "broadcasts.audience_active",
            &[("days", &days.to_string())],
        ));
    }
    match audience.has_ordered {
        Some(true) => lines.push(staff.t("broadcasts.audience_ordered")),
        Some(false) => lines.push(staff.t("broadcasts.audience_not_ordered")),
        None => {}
    }
    lines
}

/// A form of one button posting to `action`.
fn button_form(staff: &Staff, action: &str, label: &str, class: &str) -> Markup {
    html! {
        form.inline method="post" action=(action) {
            (csrf_field(staff))
            button type="submit" class=(class) { (label) }
        }
    }
}

/// The buttons crm-lib allows, and the schedule form.
fn actions(staff: &Staff, detail: &Detail, actions: BroadcastActions, error: &FormError) -> Markup {
    let broadcast = &detail.view.broadcast;
    let base = format!("/broadcasts/{}", broadcast.id);
    let datetime = |at: crm_lib::model::Timestamp| detail.zone.local_text(at).replace(' ', "T");
    html! {
        div.actions {
            @if actions.edit {
                a.button.secondary href={ (base) "/edit" } { (staff.t("broadcasts.action.edit")) }
                " "
            }
            @if actions.test {
                (button_form(staff, &format!("{base}/test"), &staff.t("broadcasts.action.test"), "secondary"))
            }
            @if actions.start {
                (button_form(staff, &format!("{base}/start"), &staff.t("broadcasts.action.start"), "primary"))
            }
            @if actions.pause {
                (button_form(staff, &format!("{base}/pause"), &staff.t("broadcasts.action.pause"), "secondary"))
            }
            @if actions.resume {
                (button_form(staff, &format!("{base}/resume"), &staff.t("broadcasts.action.resume"), "primary"))
            }
            @if actions.cancel {
                (button_form(staff, &format!("{base}/cancel"), &staff.t("broadcasts.action.cancel"), "danger"))
            }
            @if actions.delete {
                (button_form(staff, &format!("{base}/delete"), &staff.t("broadcasts.action.delete"), "danger"))
            }
        }
        @if actions.schedule {
            form.inline.schedule method="post" action={ (base) "/schedule" } {
                (csrf_field(staff))
                label { (tr_with(staff.language, "broadcasts.schedule_at", &[("zone", &detail.zone.name())]))
                    " "
                    input type="datetime-local" name="scheduled_at" required
                        min=(datetime(detail.now))
                        value=(broadcast.scheduled_at.map(datetime).unwrap_or_default());
                }
                button.secondary type="submit" { (staff.t("broadcasts.action.schedule")) }
                (error.at("scheduled_at"))
            }
        }
    }
}

/// The delivery report's figures, in report order.
fn figures(counts: &BroadcastCounts) -> [(&'static str, u64); 7] {
    [
        ("recipients", counts.recipients),
        ("pending", counts.pending),
        ("queued", counts.queued),
        ("sent", counts.sent),
        ("failed", counts.failed),
        ("blocked", counts.blocked),
        ("skipped", counts.skipped),
    ]
}

/// A recipient's state with its particulars.
fn recipient_detail(detail: &Detail, state: &RecipientState) -> String {
    match state {
        RecipientState::Sent { at, .. } => detail.zone.local_text(*at),
        RecipientState::Failed { reason } => reason.clone(),
        _ => String::new(),
    }
}

/// The report's link to the same page with `state` and `after`.
fn report_link(
    base: &str,
    state: Option<&str>,
    after: Option<crm_lib::model::CustomerId>,
) -> String {
    let mut query = Vec::new();
    if let Some(state) = state {
        query.push(format!("state={state}"));
    }
    if let Some(after) = after {
        query.push(format!("after={after}"));
    }
    if query.is_empty() {
        format!("{base}#broadcast-report")
    } else {
        format!("{base}?{}#broadcast-report", query.join("&"))
    }
}

fn report(staff: &Staff, detail: &Detail, page: &crm_lib::broadcasts::RecipientPage) -> Markup {
    let broadcast = &detail.view.broadcast;
    let counts = &broadcast.counts;
    let base = format!("/broadcasts/{}", broadcast.id);
    let filter = detail.query.state();
    let percent = (counts.answered() * 100)
        .checked_div(counts.recipients)
        .unwrap_or(100);
    let csv = match filter {
        Some(state) => format!("{base}/report.csv?state={state}"),
        None => format!("{base}/report.csv"),
    };
    html! {
        section.card #broadcast-report {
            h2 { (staff.t("broadcasts.report")) }
            div.stats {
                @for (key, value) in figures(counts) {
                    div.stat data-count=(key) {
                        span.stat-value { (value) }
                        span.stat-label { (staff.t(&format!("broadcasts.count.{key}"))) }
                    }
                }
            }
            p.progress {
                label for="broadcast-progress" {
                    (tr_with(staff.language, "broadcasts.progress", &[
                        ("answered", &counts.answered().to_string()),
                        ("recipients", &counts.recipients.to_string()),
                        ("percent", &percent.to_string()),
                    ]))
                }
                " "
                progress #broadcast-progress max=(counts.recipients.max(1)) value=(counts.answered()) { (percent) "%" }
            }
            @if let Some(rate) = counts.success_rate() {
                p #broadcast-success { (tr_with(staff.language, "broadcasts.success_rate", &[("percent", &format!("{rate:.1}"))])) }
            }
            form.filters method="get" action=(base) {
                label { (staff.t("broadcasts.filter_state"))
                    select name="state" {
                        option value="" selected[filter.is_none()] { (staff.t("broadcasts.all_states")) }
                        @for state in RECIPIENT_STATES {
                            option value=(state) selected[filter == Some(state)] {
                                (staff.t(&format!("broadcasts.recipient.{state}")))
                            }
                        }
                    }
                }
                button.secondary type="submit" { (staff.t("broadcasts.filter")) }
                a href=(csv) download { (staff.t("broadcasts.download_csv")) }
            }
            @if page.rows.is_empty() {
                p.empty { (staff.t("broadcasts.no_recipients")) }
            } @else {
                div.table-scroll {
                    table.recipients {
                        thead { tr {
                            th scope="col" { (staff.t("broadcasts.customer")) }
                            th scope="col" { (staff.t("broadcasts.state")) }
                            th scope="col" { (staff.t("broadcasts.detail")) }
                        } }
                        tbody {
                            @for row in &page.rows {
                                tr data-customer=(row.customer) data-state=(row.state.as_str()) {
                                    td {
                                        @match &row.name {
                                            Some(name) => { a href={ "/customers/" (row.customer) } { (name) } }
                                            None => { (tr_with(staff.language, "broadcasts.customer_gone", &[("id", &row.customer.to_string())])) }
                                        }
                                    }
                                    td { (staff.t(&format!("broadcasts.recipient.{}", row.state.as_str()))) }
                                    td { (recipient_detail(detail, &row.state)) }
                                }
                            }
                        }
                    }
                }
            }
            nav.pager aria-label=(staff.t("broadcasts.pages")) {
                @if detail.query.after.as_deref().is_some_and(|after| !after.trim().is_empty()) {
                    a href=(report_link(&base, filter, None)) { "← " (staff.t("broadcasts.first_page")) }
                }
                @if let Some(next) = page.next {
                    a href=(report_link(&base, filter, Some(next))) { (staff.t("broadcasts.next_page")) " →" }
                }
            }
        }
    }
}

/// The status card: state, rate, moments, tests, and the actions.
fn status(staff: &Staff, detail: &Detail, error: &FormError) -> Markup {
    let broadcast: &Broadcast = &detail.view.broadcast;
    let zone = &detail.zone;
    html! {
        section.card #broadcast-status {
            h2 { (staff.t("broadcasts.status")) }
            dl.broadcast-facts {
                dt { (staff.t("broadcasts.state")) } dd { (state_badge(staff, broadcast.state)) }
                dt { (staff.t("broadcasts.field.rate")) }
                dd { (tr_with(staff.language, "broadcasts.rate_value", &[("rate", &broadcast.rate_per_second.to_string())])) }
                @if let Some(at) = broadcast.scheduled_at {
                    dt { (staff.t("broadcasts.scheduled_for")) } dd { (zone.local_text(at)) }
                }
                dt { (staff.t("broadcasts.created")) } dd { (zone.local_text(broadcast.created_at)) }
                @if let Some(at) = broadcast.started_at {
                    dt { (staff.t("broadcasts.started")) } dd { (zone.local_text(at)) }
                }
                @if let Some(at) = broadcast.finished_at {
                    dt { (staff.t("broadcasts.finished")) } dd { (zone.local_text(at)) }
                }
                dt { (staff.t("broadcasts.test_sends")) } dd { (broadcast.test_sends) }
            }
            (actions(staff, detail, detail.view.actions, error))
        }
    }
}

/// The broadcast page's markup.
pub(super) fn detail_body(
    staff: &Staff,
    detail: &Detail,
    error: &FormError,
    note: Option<&str>,
) -> Markup {
    let broadcast = &detail.view.broadcast;
    // The page follows the sending live (`live.js`, broadcast events) while it runs.
    let live = broadcast.state.is_running();
    html! {
        p { a href="/broadcasts" { "← " (staff.t("broadcasts.title")) } }
        (notice(note))
        (error.general(&["scheduled_at"]))
        div.broadcast-grid {
            section.card aria-labelledby="broadcast-message" {
                h2 #broadcast-message { (staff.t("broadcasts.message")) }
                p.help { (staff.t("broadcasts.preview_help")) }
                div.broadcast-preview { p.text { (broadcast.text) } }
                p.muted { (counter_text(staff, &broadcast.text)) }
            }
            section.card aria-labelledby="broadcast-audience" {
                h2 #broadcast-audience { (staff.t("broadcasts.audience")) }
                ul.audience {
                    @for line in audience_lines(staff, &broadcast.audience) { li { (line) } }
                }
                @match &detail.preview {
                    Some(Ok(preview)) => {
                        p {
                            strong #audience-count { (preview.count) } " "
                            (staff.t("broadcasts.audience_count"))
                        }
                        @if !preview.sample.is_empty() {
                            p.help { (staff.t("broadcasts.audience_sample")) }
                            ul.audience-sample {
                                @for (customer, name) in &preview.sample {
                                    li { a href={ "/customers/" (customer) } { (name) } }
                                }
                            }
                        }
                    }
                    Some(Err(message)) => { p.error role="alert" { (message) } }
                    None => {}
                }
            }
        }
        div #broadcast-live data-live-refresh=[live.then_some("broadcast")] {
            (status(staff, detail, error))
            @if let Some(page) = &detail.report {
                (report(staff, detail, page))
            }
        }
        @if live {
            script src="/assets/js/live.js" defer {}
        }
    }
}

#[cfg(test)]
mod tests {
    use crm_lib::broadcasts::{
        AudiencePreview, BroadcastView, RecipientPage, RecipientRow, broadcast_actions,
    };
    use crm_lib::model::{BuiltinRole, CustomerId, UserId};
    use insta::assert_snapshot;

    use super::super::ReportQuery;
    use super::*;
    use crate::web::testing::{Fixture, now, pretty};

    fn broadcast(state: BroadcastState) -> Broadcast {
        let at = now();
        let started = !matches!(state, BroadcastState::Draft | BroadcastState::Scheduled);
        Broadcast {
            id: BroadcastId::new(3),
            title: "Spring <sale>".into(),
            text: "Hello!\nTokens are 20% off until Sunday & more.".into(),
            audience: Audience {
                languages: vec![Language::RU],
                subscribers: None,
                balance_min: Some(10),
                balance_max: Some(500),
                active_within_days: Some(30),
                has_ordered: Some(true),
            },
            rate_per_second: 10,
            state,
            scheduled_at: (state == BroadcastState::Scheduled).then(|| at.plus_millis(86_400_000)),
            author: UserId::new(1),
            created_at: at,
            updated_at: at,
            started_at: started.then_some(at),
            finished_at: (state == BroadcastState::Finished).then(|| at.plus_millis(60_000)),
            counts: if started {
                BroadcastCounts {
                    recipients: 4,
                    pending: 1,
                    queued: 0,
                    sent: 2,
                    failed: 0,
                    blocked: 1,
                    skipped: 0,
                }
            } else {
                BroadcastCounts::default()
            },
            cursor: None,
            test_sends: 1,
        }
    }

    fn detail(fixture: &Fixture, broadcast: Broadcast, query: ReportQuery) -> Detail {
        let started = broadcast.started_at.is_some();
        Detail {
            view: BroadcastView {
                actions: broadcast_actions(&broadcast),
                broadcast,
            },
            zone: Zone::of(&fixture.org),
            preview: (!started).then(|| {
                Ok(AudiencePreview {
                    count: 2,
                    sample: vec![
                        (CustomerId::new(1), "Мария Петрова".to_string()),
                        (CustomerId::new(4), "John <Smith>".to_string()),
                    ],
                })
            }),
            report: started.then(|| RecipientPage {
                rows: vec![
                    RecipientRow {
                        customer: CustomerId::new(1),
                        name: Some("Мария Петрова".into()),
                        state: RecipientState::Sent {
                            telegram_message_id: Some(77),
                            at: now(),
                        },
                    },
                    RecipientRow {
                        customer: CustomerId::new(2),
                        name: None,
                        state: RecipientState::Blocked,
                    },
                    RecipientRow {
                        customer: CustomerId::new(5),
                        name: Some("Олег".into()),
                        state: RecipientState::Failed {
                            reason: "Bad Request: chat not found".into(),
                        },
                    },
                ],
                next: Some(CustomerId::new(5)),
            }),
            query,
            now: now(),
        }
    }

    #[test]
    fn a_draft_shows_its_text_the_audience_count_and_sample_and_the_actions_it_allows() {
        let fixture = Fixture::new("service");
        let staff = fixture.staff(BuiltinRole::Manager, Language::EN);
        let detail = detail(
            &fixture,
            broadcast(BroadcastState::Draft),
            ReportQuery::default(),
        );
        assert_snapshot!(pretty(&detail_body(
            &staff,
            &detail,
            &FormError::none(),
            Some("Saved.")
        )));
    }

    #[test]
    fn a_sending_broadcast_shows_its_report_filtered_with_a_pager_and_refreshes_live_in_russian() {
        let fixture = Fixture::new("service");
        let staff = fixture.staff(BuiltinRole::Manager, Language::RU);
        let query = ReportQuery {
            state: Some("sent".into()),
            after: Some("1".into()),
            ..ReportQuery::default()
        };
        let detail = detail(&fixture, broadcast(BroadcastState::Sending), query);
        assert_snapshot!(pretty(&detail_body(
            &staff,
            &detail,
            &FormError::none(),
            None
        )));
    }

    #[test]
    fn the_list_shows_each_broadcast_s_state_and_figures() {
        let fixture = Fixture::new("service");
        let staff = fixture.staff(BuiltinRole::Manager, Language::EN);
        let data = ListData {
            broadcasts: [BroadcastState::Finished, BroadcastState::Scheduled]
                .into_iter()
                .map(|state| {
                    let broadcast = broadcast(state);
                    BroadcastView {
                        actions: broadcast_actions(&broadcast),
                        broadcast,
                    }
                })
                .collect(),
            zone: Zone::of(&fixture.org),
        };
        assert_snapshot!(pretty(&list_body(&staff, &data, None)));
    }

    #[test]
    fn the_form_offers_token_conditions_only_with_the_tokens_module_and_shows_the_field_s_error() {
        let fixture = Fixture::new("studio");
        let staff = fixture.staff(BuiltinRole::Manager, Language::EN);
        let mut form = BroadcastForm::fresh();
        form.pairs.push(("title".into(), "Hi".into()));
        form.pairs.push(("text".into(), "Hello".into()));
        form.pairs.push(("languages".into(), "en".into()));
        let error = FormError {
            field: Some("rate_per_second"),
            message: Some("must be 1 to 30 messages a second".into()),
        };
        let without = form_body(
            &staff,
            BroadcastSetup {
                token_conditions: false,
            },
            None,
            &form,
            &error,
        );
        assert!(!without.0.contains("name=\"balance_min\""));
        let with = form_body(
            &staff,
            BroadcastSetup {
                token_conditions: true,
            },
            Some(BroadcastId::new(3)),
            &form,
            &FormError::none(),
        );
        assert!(with.0.contains("name=\"balance_min\""));
        assert!(with.0.contains("action=\"/broadcasts/3/edit\""));
        assert_snapshot!(pretty(&without));
    }

    #[test]
    fn the_report_s_figures_and_audience_lines_read_in_every_language() {
        for language in Language::all() {
            let fixture = Fixture::new("service");
            let staff = fixture.staff(BuiltinRole::Manager, language);
            for line in audience_lines(&staff, &broadcast(BroadcastState::Draft).audience) {
                assert!(!line.starts_with("broadcasts."), "{language}: {line}");
            }
            for (key, _) in figures(&BroadcastCounts::default()) {
                let text = staff.t(&format!("broadcasts.count.{key}"));
                assert!(!text.starts_with("broadcasts."), "{language}: {text}");
            }
            for state in RECIPIENT_STATES {
                let text = staff.t(&format!("broadcasts.recipient.{state}"));
                assert!(!text.starts_with("broadcasts."), "{language}: {text}");
            }
        }
    }
}
