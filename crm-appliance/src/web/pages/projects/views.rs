//! The project pages' markup: pure functions of what the handlers read (`ListData`,
//! `NewData`, `Detail`) for the staff user viewing them. Every form and button is one of
//! crm-lib's [`ProjectActions`]; the progress, the totals and the plan against the fact are
//! crm-lib's figures; nothing here decides what may be done or computes a rule.

use crm_lib::model::{
    ChangeRequestState, EntryCategory, EntryKind, Money, ProjectStageId, ProjectState,
};
use crm_lib::projects::{
    ADDRESS_MAX_CHARS, NOTE_MAX_CHARS, ProjectActions, STAGE_NAME_MAX_CHARS, StageView,
    TEXT_MAX_CHARS, TITLE_MAX_CHARS, TimelineItem, TimelineKind,
};
use maud::{Markup, html};

use super::form::{Posted, Which};
use super::{Detail, ListData, ListQuery, NewData};
use crate::web::auth::Staff;
use crate::web::i18n::tr_with;
use crate::web::layout::{FormError, csrf_field, notice};

/// A project's state as a badge.
fn state_badge(staff: &Staff, state: ProjectState) -> Markup {
    html! {
        span.badge.project-state data-state=(state.as_str()) {
            (staff.t(&format!("projects.state.{}", state.as_str())))
        }
    }
}

/// A progress bar with its percentage beside it.
fn progress_bar(staff: &Staff, progress: u8, label: &str) -> Markup {
    html! {
        span.project-progress {
            progress value=(progress) max="100" aria-label=(label) { (progress) "%" }
            " " span.percent { (tr_with(staff.language, "projects.percent", &[("n", &progress.to_string())])) }
        }
    }
}

/// An amount in the project's currency, as the reader writes it.
fn money(staff: &Staff, amount: Money, currency: &str) -> String {
    amount.format_with(staff.language, currency)
}

/// The list page's markup.
pub(super) fn list_body(
    staff: &Staff,
    data: &ListData,
    query: &ListQuery,
    note: Option<&str>,
) -> Markup {
    let state = query.state.as_deref().unwrap_or_default();
    let search = query.q.as_deref().unwrap_or_default();
    html! {
        (notice(note))
        form.filters.inline method="get" action="/projects" {
            label { (staff.t("projects.filter.state"))
                " "
                select name="state" {
                    option value="" selected[state.is_empty()] { (staff.t("projects.filter.any_state")) }
                    @for option in ProjectState::ALL {
                        option value=(option.as_str()) selected[state == option.as_str()] {
                            (staff.t(&format!("projects.state.{}", option.as_str())))
                        }
                    }
                }
            }
            " "
            label { (staff.t("projects.filter.search"))
                " "
                input type="search" name="q" value=(search) maxlength="100";
            }
            " "
            button.secondary type="submit" { (staff.t("projects.filter.apply")) }
        }
        @if data.list.create {
            p { a.button href="/projects/new" { (staff.t("projects.new")) } }
        }
        @if data.list.rows.is_empty() {
            p.empty { (staff.t("projects.none")) }
        } @else {
            div.table-scroll {
                table.projects {
                    thead { tr {
                        th scope="col" { (staff.t("projects.field.title")) }
                        th scope="col" { (staff.t("projects.field.client")) }
                        th scope="col" { (staff.t("projects.field.state")) }
                        th scope="col" { (staff.t("projects.progress")) }
                        th scope="col" { (staff.t("projects.money.budget")) }
                        th scope="col" { (staff.t("projects.money.spent")) }
                        th scope="col" { (staff.t("projects.money.income")) }
                        th scope="col" { (staff.t("projects.updated")) }
                    } }
                    tbody {
                        @for row in &data.list.rows {
                            @let project = &row.row;
                            tr data-project=(project.id) {
                                td {
                                    a href={ "/projects/" (project.id) } { "#" (project.id) " " (project.title) }
                                    @if !project.address.is_empty() { br; small.muted { (project.address) } }
                                }
                                td { (row.client_name.as_deref().unwrap_or("—")) }
                                td { (state_badge(staff, project.state)) }
                                td { (progress_bar(staff, project.totals.progress, &project.title)) }
                                td.money { (money(staff, project.budget_total, &project.currency)) }
                                td.money { (money(staff, project.totals.spent, &project.currency)) }
                                td.money { (money(staff, project.totals.income, &project.currency)) }
                                td { (data.zone.local_text(project.updated_at)) }
                            }
                        }
                    }
                }
            }
            @if let Some(next) = data.list.next {
                p.pager {
                    a href={ "/projects?state=" (state) "&q=" (urlencode(search)) "&after=" (next) } {
                        (staff.t("projects.next_page")) " →"
                    }
                }
            }
        }
    }
}

/// `text` for a query string (the search words).
fn urlencode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(char::from(byte));
            }
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

/// The fields the new project form shows errors beside.
const NEW_FIELDS: [&str; 6] = ["client", "lead", "title", "address", "budget", "stages"];

/// The new project page's markup: from a lead (`data.lead`) the client and lead are fixed.
pub(super) fn new_body(staff: &Staff, data: &NewData, form: &Posted, error: &FormError) -> Markup {
    let value = |name: &str| form.value(name).to_string();
    html! {
        p { a href="/projects" { "← " (staff.t("projects.back")) } }
        (error.general(&NEW_FIELDS))
        form.form.card.project-form method="post" action="/projects" autocomplete="off" {
            (csrf_field(staff))
            @if let Some(lead) = &data.lead {
                input type="hidden" name="lead" value=(lead.id);
                input type="hidden" name="client" value=(lead.customer);
                p.lead {
                    (tr_with(staff.language, "projects.from_lead", &[("id", &lead.id.to_string()), ("title", &lead.title)]))
                    " — "
                    (lead.customer_name.as_deref().unwrap_or("—"))
                }
            } @else {
                label { (staff.t("projects.field.client_number"))
                    input type="number" name="client" required min="1" step="1" value=(value("client"))
                        aria-describedby="project-client-help";
                    small #project-client-help { (staff.t("projects.client_help")) }
                    (error.at("client"))
                }
            }
            (error.at("lead"))
            label { (staff.t("projects.field.title"))
                input type="text" name="title" required maxlength=(TITLE_MAX_CHARS) value=(value("title"));
                (error.at("title"))
            }
            label { (staff.t("projects.field.address"))
                input type="text" name="address" maxlength=(ADDRESS_MAX_CHARS) value=(value("address"));
                (error.at("address"))
            }
            label { (staff.t("projects.field.budget")) " (" (data.setup.currency) ")"
                input type="text" name="budget" inputmode="decimal" value=(value("budget"));
                (error.at("budget"))
            }
            label { (staff.t("projects.field.stages"))
                textarea name="stages" rows="5" aria-describedby="project-stages-help" { (value("stages")) }
                small #project-stages-help { (staff.t("projects.stages_help")) }
                (error.at("stages"))
            }
            button type="submit" { (staff.t("projects.create")) }
        }
    }
}

/// A form of one button posting to `action`, with hidden fields.
fn button_form(
    staff: &Staff,
    action: &str,
    fields: &[(&str, &str)],
    label: &str,
    class: &str,
) -> Markup {
    html! {
        form.inline method="post" action=(action) {
            (csrf_field(staff))
            @for (name, value) in fields {
                input type="hidden" name=(name) value=(value);
            }
            button type="submit" class=(class) { (label) }
        }
    }
}

/// The page's forms' shared state: which form was posted and refused, with what.
struct Forms<'a> {
    failed: Option<(Which, &'a Posted)>,
    error: &'a FormError,
}

impl Forms<'_> {
    /// What `which`'s input `name` holds: what was typed when it was refused, else `initial`.
    fn value(&self, which: Which, name: &str, initial: &str) -> String {
        match self.failed {
            Some((failed, posted)) if failed == which => posted.value(name).to_string(),
            _ => initial.to_string(),
        }
    }

    /// `which`'s refusal beside field `field`.
    fn at(&self, which: Which, field: &str) -> Markup {
        match self.failed {
            Some((failed, _)) if failed == which => self.error.at(field),
            _ => html! {},
        }
    }

    /// `which`'s refusal above its fields when it names none of `fields`.
    fn general(&self, which: Which, fields: &[&str]) -> Markup {
        match self.failed {
            Some((failed, _)) if failed == which => self.error.general(fields),
            _ => html! {},
        }
    }
}

/// The stage choices of a select, the empty choice first when `none` names it.
fn stage_options(stages: &[StageView], chosen: &str, none: Option<&str>) -> Markup {
    html! {
        @if let Some(none) = none {
            option value="" selected[chosen.is_empty()] { (none) }
        }
        @for view in stages {
            @let id = view.stage.id.to_string();
            option value=(id) selected[chosen == id] { (view.stage.name) }
        }
    }
}

/// The project page's markup.
pub(super) fn project_body(
    staff: &Staff,
    detail: &Detail,
    failed: Option<(Which, &Posted)>,
    error: &FormError,
    note: Option<&str>,
) -> Markup {
    let view = &detail.page.view;
    let project = &view.project;
    let actions = view.actions;
    let base = format!("/projects/{}", project.id);
    let forms = Forms { failed, error };
    html! {
        p { a href="/projects" { "← " (staff.t("projects.back")) } }
        (notice(note))
        @if matches!(failed, Some((Which::Buttons, _))) {
            (error.general(&[]))
        }
        div #project-live data-live-refresh="project" data-project=(project.id) {
            (header(staff, detail))
            (money_summary(staff, detail))
            (stages(staff, detail, &forms))
            (change_requests(staff, detail))
            (documents(staff, detail, &forms, &base))
            (timeline(staff, detail))
        }
        script src="/assets/js/live.js" defer {}
        @if actions.add_report || actions.add_entry || actions.add_estimate_line
            || actions.create_change_request || actions.add_stage || actions.edit
            || actions.assign_workers || actions.complete || actions.reopen || actions.archive {
            section.project-forms {
                @if actions.add_report { (report_form(staff, detail, &forms, &base)) }
                @if actions.add_entry { (entry_form(staff, detail, &forms, &base)) }
                @if actions.add_estimate_line { (estimate_form(staff, detail, &forms, &base)) }
                @if actions.create_change_request { (change_form(staff, detail, &forms, &base)) }
                @if actions.add_stage { (stage_form(staff, &forms, &base)) }
                @if actions.edit || actions.assign_workers { (settings_forms(staff, detail, &forms, &base, actions)) }
                @if actions.complete || actions.reopen || actions.archive {
                    div.card.state-actions {
                        h2 { (staff.t("projects.state_title")) }
                        @if actions.complete {
                            (button_form(staff, &format!("{base}/state"), &[("state", "completed")], &staff.t("projects.action.complete"), "primary"))
                        }
                        @if actions.reopen {
                            (button_form(staff, &format!("{base}/state"), &[("state", "active")], &staff.t("projects.action.reopen"), "secondary"))
                        }
                        @if actions.archive {
                            (button_form(staff, &format!("{base}/state"), &[("state", "archived")], &staff.t("projects.action.archive"), "secondary"))
                        }
                    }
                }
            }
        }
    }
}

/// The header: client, address, lead, workers, state and progress.
fn header(staff: &Staff, detail: &Detail) -> Markup {
    let view = &detail.page.view;
    let project = &view.project;
    html! {
        section.card.project-header {
            dl.facts {
                dt { (staff.t("projects.field.client")) }
                dd { a href={ "/customers/" (project.client) } { (view.client_name.as_deref().unwrap_or("—")) } }
                dt { (staff.t("projects.field.address")) }
                dd { @if project.address.is_empty() { "—" } @else { (project.address) } }
                dt { (staff.t("projects.field.state")) }
                dd { (state_badge(staff, project.state)) }
                @if let Some(lead) = project.lead {
                    dt { (staff.t("projects.field.lead")) }
                    dd { a href={ "/orders/" (lead) } { "#" (lead) } }
                }
                dt { (staff.t("projects.field.workers")) }
                dd {
                    @if view.workers.is_empty() { "—" }
                    @for (index, (_, name)) in view.workers.iter().enumerate() {
                        @if index > 0 { ", " }
                        (name)
                    }
                }
                dt { (staff.t("projects.progress")) }
                dd { (progress_bar(staff, project.totals.progress, &staff.t("projects.progress"))) }
                dt { (staff.t("projects.created")) }
                dd { (detail.zone.local_text(project.created_at)) }
            }
        }
    }
}

/// The money summary and the plan against the fact per stage.
fn money_summary(staff: &Staff, detail: &Detail) -> Markup {
    let view = &detail.page.view;
    let project = &view.project;
    let currency = project.currency.as_str();
    let stage_name = |id: Option<ProjectStageId>| match id {
        Some(id) => view
            .stages
            .iter()
            .find(|stage| stage.stage.id == id)
            .map_or_else(String::new, |stage| stage.stage.name.clone()),
        None => staff.t("projects.plan.no_stage"),
    };
    html! {
        section.card.project-money {
            h2 { (staff.t("projects.money.title")) }
            dl.figures {
                div { dt { (staff.t("projects.money.budget")) } dd #money-budget { (money(staff, project.budget_total(), currency)) } }
                div { dt { (staff.t("projects.money.base")) } dd { (money(staff, project.budget_base, currency)) } }
                div { dt { (staff.t("projects.money.changes")) } dd { (money(staff, project.totals.approved_changes, currency)) } }
                div { dt { (staff.t("projects.money.spent")) } dd #money-spent { (money(staff, project.totals.spent, currency)) } }
                div { dt { (staff.t("projects.money.income")) } dd #money-income { (money(staff, project.totals.income, currency)) } }
                div { dt { (staff.t("projects.money.remaining")) } dd #money-remaining { (money(staff, project.remaining(), currency)) } }
            }
            @if view.actions.see_books && !view.plan.is_empty() {
                h3 { (staff.t("projects.plan.title")) }
                table.plan {
                    thead { tr {
                        th scope="col" { (staff.t("projects.plan.stage")) }
                        th scope="col" { (staff.t("projects.plan.planned")) }
                        th scope="col" { (staff.t("projects.plan.spent")) }
                        th scope="col" { (staff.t("projects.plan.left")) }
                    } }
                    tbody {
                        @for line in &view.plan {
                            tr {
                                th scope="row" { (stage_name(line.stage)) }
                                td.money { (money(staff, line.planned, currency)) }
                                td.money { (money(staff, line.spent, currency)) }
                                td.money { (money(staff, Money::from_minor(line.planned.minor() - line.spent.minor()), currency)) }
                            }
                        }
                    }
                    tfoot { tr {
                        th scope="row" { (staff.t("projects.plan.total")) }
                        td.money { (money(staff, project.totals.planned, currency)) }
                        td.money { (money(staff, project.totals.spent, currency)) }
                        td.money { (money(staff, Money::from_minor(project.totals.planned.minor() - project.totals.spent.minor()), currency)) }
                    } }
                }
            }
        }
    }
}

/// The stages with their progress, and the progress forms.
fn stages(staff: &Staff, detail: &Detail, forms: &Forms<'_>) -> Markup {
    let view = &detail.page.view;
    let base = format!("/projects/{}", view.project.id);
    html! {
        section.card.project-stages {
            h2 { (staff.t("projects.stages")) }
            @if view.stages.is_empty() {
                p.empty { (staff.t("projects.no_stages")) }
            } @else {
                ol.stages {
                    @for stage_view in &view.stages {
                        @let stage = &stage_view.stage;
                        li data-stage=(stage.id) {
                            strong { (stage.name) }
                            " "
                            (progress_bar(staff, stage.progress, &stage.name))
                            @if stage.planned_start.is_some() || stage.planned_end.is_some() {
                                " " small.muted {
                                    (stage.planned_start.map(|date| date.to_string()).unwrap_or_default())
                                    " – "
                                    (stage.planned_end.map(|date| date.to_string()).unwrap_or_default())
                                }
                            }
                            @if view.actions.set_progress {
                                @let which = Which::Progress(stage.id);
                                form.inline.progress-form method="post" action={ (base) "/stages/" (stage.id) "/progress" } {
                                    (csrf_field(staff))
                                    label {
                                        span.visually-hidden { (tr_with(staff.language, "projects.progress_of", &[("stage", &stage.name)])) }
                                        input type="number" name="progress" min="0" max="100" step="1" required
                                            value=(forms.value(which, "progress", &stage.progress.to_string()))
                                            aria-label=(tr_with(staff.language, "projects.progress_of", &[("stage", &stage.name)]));
                                    }
                                    button.small type="submit" { (staff.t("projects.action.set_progress")) }
                                    (forms.at(which, "progress"))
                                    (forms.general(which, &["progress"]))
                                }
                            }
                            @if view.actions.see_books && !stage_view.lines.is_empty() {
                                ul.estimate {
                                    @for line in &stage_view.lines {
                                        li { (line.title) " — " (money(staff, line.planned, &view.project.currency)) }
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

/// The change requests, with the decisions crm-lib allows.
fn change_requests(staff: &Staff, detail: &Detail) -> Markup {
    let view = &detail.page.view;
    let currency = view.project.currency.as_str();
    let base = format!("/projects/{}", view.project.id);
    html! {
        section.card.project-changes {
            h2 { (staff.t("projects.changes")) }
            @if view.change_requests.is_empty() {
                p.empty { (staff.t("projects.no_changes")) }
            } @else {
                table.changes {
                    thead { tr {
                        th scope="col" { (staff.t("projects.change.title")) }
                        th scope="col" { (staff.t("projects.change.amount")) }
                        th scope="col" { (staff.t("projects.change.state")) }
                        th scope="col" { (staff.t("projects.change.decided")) }
                        th scope="col" { span.visually-hidden { (staff.t("projects.change.actions")) } }
                    } }
                    tbody {
                        @for request in &view.change_requests {
                            tr data-change=(request.id) data-state=(request.state.as_str()) {
                                td {
                                    (request.title)
                                    @if !request.description.is_empty() { br; small.muted { (request.description) } }
                                }
                                td.money { (money(staff, request.amount, currency)) }
                                td { (staff.t(&format!("projects.change.state.{}", request.state.as_str()))) }
                                td { (request.decided_at.map(|at| detail.zone.local_text(at)).unwrap_or_default()) }
                                td {
                                    @if request.state == ChangeRequestState::Pending {
                                        @let action = format!("{base}/change-requests/{}", request.id);
                                        @if view.actions.decide_change_request {
                                            (button_form(staff, &format!("{action}/decide"), &[("decision", "approve")], &staff.t("projects.action.approve"), "primary small"))
                                            (button_form(staff, &format!("{action}/decide"), &[("decision", "reject")], &staff.t("projects.action.reject"), "secondary small"))
                                        }
                                        @if view.actions.withdraw_change_request {
                                            (button_form(staff, &format!("{action}/withdraw"), &[], &staff.t("projects.action.withdraw"), "danger small"))
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
                @if view.actions.decide_change_request {
                    p.help { (staff.t("projects.decide_help")) }
                }
            }
        }
    }
}

/// The documents: each a download, with its remove button and the attach form for those
/// whose actions say so.
fn documents(staff: &Staff, detail: &Detail, forms: &Forms<'_>, base: &str) -> Markup {
    let may_manage = detail.page.view.actions.manage_documents;
    let which = Which::Document;
    html! {
        section.card.project-documents {
            h2 { (staff.t("projects.documents")) }
            @if detail.documents.is_empty() {
                p.empty { (staff.t("projects.no_documents")) }
            } @else {
                ul.documents {
                    @for document in &detail.documents {
                        li data-document=(document.id) {
                            a href={ "/media/" (document.media.to_hex()) } download=(document.file_name) {
                                (document.title)
                            }
                            " " small.muted {
                                (document.file_name) " · " (size_text(document.size)) " · "
                                (detail.zone.local_text(document.added_at))
                            }
                            @if may_manage {
                                " " (button_form(staff, &format!("{base}/documents/{}/remove", document.id), &[], &staff.t("projects.document.remove"), "danger small"))
                            }
                        }
                    }
                }
            }
            p.help { (staff.t("projects.document.client_sees")) }
            @if may_manage {
                form.form.document-form method="post" action={ (base) "/documents" } enctype="multipart/form-data" {
                    h3 { (staff.t("projects.document.new")) }
                    (forms.general(which, &["title", "file", "file_name"]))
                    (csrf_field(staff))
                    label { (staff.t("projects.document.title"))
                        input type="text" name="title" required maxlength="200" value=(forms.value(which, "title", ""));
                        (forms.at(which, "title"))
                    }
                    label { (staff.t("projects.document.file"))
                        input type="file" name="file" required
                            accept=".pdf,image/*,.doc,.docx,.xls,.xlsx,.odt,.ods,.csv,.txt";
                        (forms.at(which, "file"))
                    }
                    button type="submit" { (staff.t("projects.document.save")) }
                }
            }
        }
    }
}

/// A file's size in words: bytes, KB or MB (1,024-based, one decimal).
fn size_text(bytes: u64) -> String {
    const KIB: u64 = 1024;
    const MIB: u64 = 1024 * 1024;
    match bytes {
        0..KIB => format!("{bytes} B"),
        KIB..MIB => format!("{:.1} KB", bytes as f64 / KIB as f64),
        _ => format!("{:.1} MB", bytes as f64 / MIB as f64),
    }
}

/// One timeline item's words.
fn item_body(staff: &Staff, detail: &Detail, item: &TimelineItem) -> Markup {
    let currency = detail.page.view.project.currency.as_str();
    let language = staff.language;
    html! {
        @match &item.kind {
            TimelineKind::Created { lead } => {
                @match lead {
                    Some(lead) => (tr_with(language, "projects.timeline.created_from_lead", &[("id", &lead.to_string())])),
                    None => (staff.t("projects.timeline.created")),
                }
            }
            TimelineKind::StageAdded { name, .. } => {
                (tr_with(language, "projects.timeline.stage_added", &[("stage", name)]))
            }
            TimelineKind::Progress { name, from, to, .. } => {
                (tr_with(language, "projects.timeline.progress", &[("stage", name), ("from", &from.to_string()), ("to", &to.to_string())]))
            }
            TimelineKind::Report { report, stage } => {
                p.report-head { (tr_with(language, "projects.timeline.report", &[("stage", stage)])) }
                @if !report.text.is_empty() { p.report-text { (report.text) } }
                @if !report.media.is_empty() {
                    div.report-media {
                        @for (index, hash) in report.media.iter().enumerate() {
                            a href={ "/media/" (hash.to_hex()) } target="_blank" rel="noopener" {
                                img src={ "/media/" (hash.to_hex()) } loading="lazy" width="160"
                                    alt=(tr_with(language, "projects.timeline.photo", &[("n", &(index + 1).to_string()), ("stage", stage)]));
                            }
                        }
                    }
                }
                @if let Some(voice) = report.voice {
                    p { a href={ "/media/" (voice.to_hex()) } { (staff.t("projects.timeline.voice")) } }
                }
            }
            TimelineKind::Entry { entry, stage } => {
                @let key = match entry.kind { EntryKind::Expense => "projects.timeline.expense", EntryKind::Income => "projects.timeline.income" };
                (tr_with(language, key, &[("amount", &money(staff, entry.amount, currency)), ("category", &category_label(staff, entry.category))]))
                @if let Some(stage) = stage { " · " (stage) }
                @if !entry.note.is_empty() { " · " (entry.note) }
                @if let Some(proof) = entry.proof {
                    " · " a href={ "/media/" (proof.to_hex()) } target="_blank" rel="noopener" { (staff.t("projects.timeline.proof")) }
                }
            }
            TimelineKind::ChangeRequest { request, state } => {
                (tr_with(language, &format!("projects.timeline.change.{}", state.as_str()), &[("title", &request.title), ("amount", &money(staff, request.amount, currency))]))
            }
            TimelineKind::State { to, .. } => {
                (tr_with(language, "projects.timeline.state", &[("state", &staff.t(&format!("projects.state.{}", to.as_str())))]))
            }
        }
    }
}

/// A category in the reader's language.
pub(super) fn category_label(staff: &Staff, category: EntryCategory) -> String {
    staff.t(&format!("projects.category.{}", category.as_str()))
}

/// The timeline, newest first, with a link to the older page.
fn timeline(staff: &Staff, detail: &Detail) -> Markup {
    let view = &detail.page.view;
    let items = &detail.page.timeline.items;
    html! {
        section.card.project-timeline {
            h2 { (staff.t("projects.timeline")) }
            @if items.is_empty() {
                p.empty { (staff.t("projects.timeline.none")) }
            } @else {
                ol.timeline {
                    @for item in items {
                        li data-event=(item.id) {
                            div.meta {
                                time { (detail.zone.local_text(item.at)) }
                                @if !item.actor_name.is_empty() { " · " (item.actor_name) }
                            }
                            div.body { (item_body(staff, detail, item)) }
                        }
                    }
                }
                @if let Some(next) = detail.page.timeline.next {
                    p.pager { a href={ "/projects/" (view.project.id) "?after=" (next) } { (staff.t("projects.timeline.older")) " →" } }
                }
            }
        }
    }
}

/// The daily report form (multipart: its photos, videos and voice note).
fn report_form(staff: &Staff, detail: &Detail, forms: &Forms<'_>, base: &str) -> Markup {
    let stages = &detail.page.view.stages;
    let which = Which::Report;
    html! {
        form.form.card.report-form method="post" action={ (base) "/reports" } enctype="multipart/form-data" {
            h2 { (staff.t("projects.report.title")) }
            (forms.general(which, &["stage", "text", "media", "voice"]))
            (csrf_field(staff))
            label { (staff.t("projects.field.stage"))
                select name="stage" required {
                    (stage_options(stages, &forms.value(which, "stage", ""), None))
                }
                (forms.at(which, "stage"))
            }
            label { (staff.t("projects.report.text"))
                textarea name="text" rows="4" maxlength=(TEXT_MAX_CHARS) { (forms.value(which, "text", "")) }
                (forms.at(which, "text"))
            }
            label { (staff.t("projects.report.media"))
                input type="file" name="media" multiple accept="image/*,video/*";
                (forms.at(which, "media"))
            }
            label { (staff.t("projects.report.voice"))
                input type="file" name="voice" accept="audio/*";
                (forms.at(which, "voice"))
            }
            button type="submit" { (staff.t("projects.report.save")) }
        }
    }
}

/// The money entry form (multipart: its proof).
fn entry_form(staff: &Staff, detail: &Detail, forms: &Forms<'_>, base: &str) -> Markup {
    let view = &detail.page.view;
    let which = Which::Entry;
    let kind = forms.value(which, "kind", EntryKind::Expense.as_str());
    let category = forms.value(which, "category", EntryCategory::Materials.as_str());
    html! {
        form.form.card.entry-form method="post" action={ (base) "/entries" } enctype="multipart/form-data" {
            h2 { (staff.t("projects.entry.title")) }
            (forms.general(which, &["kind", "amount", "category", "note", "stage", "date", "proof"]))
            (csrf_field(staff))
            label { (staff.t("projects.entry.kind"))
                select name="kind" {
                    @for option in [EntryKind::Expense, EntryKind::Income] {
                        option value=(option.as_str()) selected[kind == option.as_str()] {
                            (staff.t(&format!("projects.entry.kind.{}", option.as_str())))
                        }
                    }
                }
                (forms.at(which, "kind"))
            }
            label { (staff.t("projects.entry.amount")) " (" (view.project.currency) ")"
                input type="text" name="amount" required inputmode="decimal" value=(forms.value(which, "amount", ""));
                (forms.at(which, "amount"))
            }
            label { (staff.t("projects.entry.category"))
                select name="category" {
                    @for option in &detail.setup.categories {
                        option value=(option.as_str()) selected[category == option.as_str()] { (category_label(staff, *option)) }
                    }
                }
                (forms.at(which, "category"))
            }
            label { (staff.t("projects.entry.note"))
                input type="text" name="note" maxlength=(NOTE_MAX_CHARS) value=(forms.value(which, "note", ""));
                (forms.at(which, "note"))
            }
            label { (staff.t("projects.field.stage"))
                select name="stage" {
                    (stage_options(&view.stages, &forms.value(which, "stage", ""), Some(&staff.t("projects.plan.no_stage"))))
                }
                (forms.at(which, "stage"))
            }
            label { (staff.t("projects.entry.date"))
                input type="date" name="date" value=(forms.value(which, "date", ""));
                (forms.at(which, "date"))
            }
            label { (staff.t("projects.entry.proof"))
                input type="file" name="proof" accept="image/*,application/pdf";
                (forms.at(which, "proof"))
            }
            button type="submit" { (staff.t("projects.entry.save")) }
        }
    }
}

/// The estimate line form.
fn estimate_form(staff: &Staff, detail: &Detail, forms: &Forms<'_>, base: &str) -> Markup {
    let view = &detail.page.view;
    let which = Which::Estimate;
    html! {
        form.form.card.estimate-form method="post" action={ (base) "/estimate" } {
            h2 { (staff.t("projects.estimate.title")) }
            (forms.general(which, &["stage", "title", "planned"]))
            (csrf_field(staff))
            label { (staff.t("projects.field.stage"))
                select name="stage" required { (stage_options(&view.stages, &forms.value(which, "stage", ""), None)) }
                (forms.at(which, "stage"))
            }
            label { (staff.t("projects.estimate.line"))
                input type="text" name="title" required maxlength=(TITLE_MAX_CHARS) value=(forms.value(which, "title", ""));
                (forms.at(which, "title"))
            }
            label { (staff.t("projects.estimate.planned")) " (" (view.project.currency) ")"
                input type="text" name="planned" required inputmode="decimal" value=(forms.value(which, "planned", ""));
                (forms.at(which, "planned"))
            }
            button type="submit" { (staff.t("projects.estimate.save")) }
        }
    }
}

/// The change request form.
fn change_form(staff: &Staff, detail: &Detail, forms: &Forms<'_>, base: &str) -> Markup {
    let which = Which::Change;
    html! {
        form.form.card.change-form method="post" action={ (base) "/change-requests" } {
            h2 { (staff.t("projects.change.new")) }
            (forms.general(which, &["title", "amount", "description"]))
            (csrf_field(staff))
            label { (staff.t("projects.change.title"))
                input type="text" name="title" required maxlength=(TITLE_MAX_CHARS) value=(forms.value(which, "title", ""));
                (forms.at(which, "title"))
            }
            label { (staff.t("projects.change.amount")) " (" (detail.page.view.project.currency) ")"
                input type="text" name="amount" required inputmode="decimal" value=(forms.value(which, "amount", ""))
                    aria-describedby="change-amount-help";
                small #change-amount-help { (staff.t("projects.change.amount_help")) }
                (forms.at(which, "amount"))
            }
            label { (staff.t("projects.change.description"))
                textarea name="description" rows="3" maxlength=(TEXT_MAX_CHARS) { (forms.value(which, "description", "")) }
                (forms.at(which, "description"))
            }
            button type="submit" { (staff.t("projects.change.save")) }
        }
    }
}

/// The new stage form.
fn stage_form(staff: &Staff, forms: &Forms<'_>, base: &str) -> Markup {
    let which = Which::Stage;
    html! {
        form.form.card.stage-form method="post" action={ (base) "/stages" } {
            h2 { (staff.t("projects.stage.new")) }
            (forms.general(which, &["name", "planned_start", "planned_end"]))
            (csrf_field(staff))
            label { (staff.t("projects.stage.name"))
                input type="text" name="name" required maxlength=(STAGE_NAME_MAX_CHARS) value=(forms.value(which, "name", ""));
                (forms.at(which, "name"))
            }
            label { (staff.t("projects.stage.start"))
                input type="date" name="planned_start" value=(forms.value(which, "planned_start", ""));
                (forms.at(which, "planned_start"))
            }
            label { (staff.t("projects.stage.end"))
                input type="date" name="planned_end" value=(forms.value(which, "planned_end", ""));
                (forms.at(which, "planned_end"))
            }
            button type="submit" { (staff.t("projects.stage.save")) }
        }
    }
}

/// The project's details and its workers.
fn settings_forms(
    staff: &Staff,
    detail: &Detail,
    forms: &Forms<'_>,
    base: &str,
    actions: ProjectActions,
) -> Markup {
    let view = &detail.page.view;
    let project = &view.project;
    let edit = Which::Edit;
    let open = matches!(forms.failed, Some((Which::Edit | Which::Workers, _)));
    html! {
        details.card.project-settings open[open] {
            summary { (staff.t("projects.settings")) }
            @if actions.edit {
                form.form method="post" action={ (base) "/edit" } {
                    (forms.general(edit, &["title", "address", "budget"]))
                    (csrf_field(staff))
                    label { (staff.t("projects.field.title"))
                        input type="text" name="title" required maxlength=(TITLE_MAX_CHARS) value=(forms.value(edit, "title", &project.title));
                        (forms.at(edit, "title"))
                    }
                    label { (staff.t("projects.field.address"))
                        input type="text" name="address" maxlength=(ADDRESS_MAX_CHARS) value=(forms.value(edit, "address", &project.address));
                        (forms.at(edit, "address"))
                    }
                    label { (staff.t("projects.money.base")) " (" (project.currency) ")"
                        input type="text" name="budget" inputmode="decimal" value=(forms.value(edit, "budget", &project.budget_base.to_string()));
                        (forms.at(edit, "budget"))
                    }
                    button type="submit" { (staff.t("projects.save")) }
                }
            }
            @if actions.assign_workers {
                form.form method="post" action={ (base) "/workers" } {
                    (csrf_field(staff))
                    fieldset.checks {
                        legend { (staff.t("projects.field.workers")) }
                        @if detail.setup.workers.is_empty() {
                            p.muted { (staff.t("projects.no_workers")) }
                        }
                        @for (id, name) in &detail.setup.workers {
                            label.check {
                                input type="checkbox" name="worker" value=(id) checked[project.workers.contains(id)];
                                (name)
                            }
                        }
                        (forms.at(Which::Workers, "workers"))
                    }
                    button type="submit" { (staff.t("projects.save_workers")) }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crm_lib::customers::NewCustomer;
    use crm_lib::media::NewMedia;
    use crm_lib::model::{BuiltinRole, Language, Zone};
    use crm_lib::projects::{
        Decision, NewChangeRequest, NewEntry, NewProject, NewReport, ProjectFilter,
        project_page_in, project_setup_in, projects_in,
    };
    use crm_lib::{Page, Paged};
    use insta::assert_snapshot;

    use super::super::{Detail, LeadInfo, ListData, ListQuery, NewData};
    use super::*;
    use crate::web::testing::{Fixture, pretty};

    /// A renovation firm with one project: three stages, a report with a photo, an
    /// expense with a receipt, an approved change request and a pending one.
    fn fixture() -> (Fixture, crm_lib::model::ProjectId) {
        let fixture = Fixture::new("renovation");
        let system = fixture.system();
        let crm = &fixture.crm;
        let client = crm
            .create_customer(
                &system,
                NewCustomer {
                    first_name: "Мария".into(),
                    last_name: "<Петрова>".into(),
                    phone: "+79990001122".into(),
                    ..NewCustomer::default()
                },
            )
            .expect("a client");
        let project = crm
            .create_project(
                &system,
                NewProject {
                    client: client.id,
                    title: "Kitchen & hall".into(),
                    address: "Moscow, Lenina 1".into(),
                    budget: Money::from_minor(50_000_000),
                    stages: vec!["Demolition".into(), "Wiring".into(), "Finish".into()],
                    ..NewProject::default()
                },
            )
            .expect("a project");
        let stages: Vec<ProjectStageId> = crm
            .project(&system, project.id)
            .expect("the project")
            .stages
            .into_iter()
            .map(|view| view.stage.id)
            .collect();
        crm.set_stage_progress(&system, project.id, stages[0], 100)
            .expect("progress");
        let photo =
            || NewMedia::parse(b"\x89PNG\r\n\x1a\n photo".to_vec(), "image/png").expect("a photo");
        crm.add_daily_report(
            &system,
            project.id,
            NewReport {
                stage: stages[0],
                text: "Walls <down>".into(),
                media: vec![photo()],
                voice: None,
            },
        )
        .expect("a report");
        crm.add_project_entry(
            &system,
            project.id,
            NewEntry {
                kind: EntryKind::Expense,
                amount: Money::from_minor(1_250_050),
                category: EntryCategory::Materials,
                note: "Tiles".into(),
                stage: Some(stages[0]),
                proof: Some(photo()),
                date: None,
            },
        )
        .expect("an entry");
        let approved = crm
            .create_change_request(
                &system,
                project.id,
                NewChangeRequest {
                    title: "Heated floor".into(),
                    amount: Money::from_minor(6_500_000),
                    description: "9 m²".into(),
                },
            )
            .expect("a request");
        crm.decide_change_request(&system, project.id, approved.id, Decision::Approve)
            .expect("approved");
        crm.create_change_request(
            &system,
            project.id,
            NewChangeRequest {
                title: "Cheaper tiles".into(),
                amount: Money::from_minor(-1_000_000),
                description: String::new(),
            },
        )
        .expect("a pending request");
        crm.add_project_document(
            &system,
            project.id,
            crm_lib::projects::NewDocument {
                title: "Contract <signed>".into(),
                file_name: "contract.pdf".into(),
                file: NewMedia::parse(b"%PDF-1.4 contract".to_vec(), "application/pdf")
                    .expect("a pdf"),
            },
        )
        .expect("a document");
        (fixture, project.id)
    }

    fn detail(fixture: &Fixture, id: crm_lib::model::ProjectId) -> Detail {
        let system = fixture.system();
        fixture
            .crm
            .read(|view| {
                Ok(Detail {
                    page: project_page_in(view, &system, id, None, 30)?,
                    setup: project_setup_in(view, &system)?,
                    zone: Zone::of(&fixture.org),
                    documents: crm_lib::projects::project_documents_in(view, &system, id)?,
                })
            })
            .expect("the page")
    }

    #[test]
    fn the_project_page_shows_the_money_the_stages_the_requests_and_the_timeline_with_photos() {
        let (fixture, id) = fixture();
        let staff = fixture.staff(BuiltinRole::Manager, Language::EN);
        let detail = detail(&fixture, id);
        let html = project_body(&staff, &detail, None, &FormError::none(), Some("Saved."));
        assert!(html.0.contains("Walls &lt;down&gt;"), "escaped");
        assert!(html.0.contains("/media/"), "the report's photo");
        assert!(
            html.0.contains("Contract &lt;signed&gt;"),
            "the document, escaped"
        );
        assert!(html.0.contains("download=\"contract.pdf\""));
        assert_snapshot!(pretty(&html));
    }

    #[test]
    fn a_refused_entry_shows_its_error_in_its_own_form_with_what_was_typed_in_russian() {
        let (fixture, id) = fixture();
        let staff = fixture.staff(BuiltinRole::Manager, Language::RU);
        let detail = detail(&fixture, id);
        let posted = Posted::of(vec![
            ("kind".into(), "expense".into()),
            ("amount".into(), "12,5x".into()),
            ("category".into(), "labor".into()),
        ]);
        let error = FormError {
            field: Some("amount"),
            message: Some("\"12,5x\" is not an amount".into()),
        };
        let html = project_body(&staff, &detail, Some((Which::Entry, &posted)), &error, None);
        assert_eq!(html.0.matches("data-field=\"amount\"").count(), 1);
        assert!(html.0.contains("value=\"12,5x\""));
        assert_snapshot!(pretty(&html));
    }

    #[test]
    fn a_worker_sees_the_report_and_entry_forms_only_and_an_empty_timeline_reads_in_every_language()
    {
        let (fixture, id) = fixture();
        let mut detail = detail(&fixture, id);
        detail.page.view.actions = ProjectActions {
            add_report: true,
            add_entry: true,
            see_books: true,
            ..ProjectActions::default()
        };
        detail.page.timeline = Paged {
            items: Vec::new(),
            next: None,
        };
        for language in Language::all() {
            let staff = fixture.staff(BuiltinRole::Worker, language);
            let html = project_body(&staff, &detail, None, &FormError::none(), None).0;
            assert!(html.contains("action=\"/projects/1/reports\""));
            assert!(html.contains("action=\"/projects/1/entries\""));
            assert!(!html.contains("/stages\"") && !html.contains("/change-requests\""));
            assert!(
                !html.contains("projects."),
                "{language}: a key without a text"
            );
        }
    }

    #[test]
    fn the_list_shows_each_project_s_progress_and_money_with_a_pager() {
        let (fixture, _) = fixture();
        let staff = fixture.staff(BuiltinRole::Manager, Language::EN);
        let system = fixture.system();
        let mut list = fixture
            .crm
            .read(|view| projects_in(view, &system, &ProjectFilter::default(), Page::first(10)))
            .expect("the list");
        list.next = Some(1);
        let data = ListData {
            list,
            zone: Zone::of(&fixture.org),
        };
        let query = ListQuery {
            state: Some("active".into()),
            q: Some("kitchen hall".into()),
            ..ListQuery::default()
        };
        assert_snapshot!(pretty(&list_body(&staff, &data, &query, None)));
    }

    #[test]
    fn the_new_form_from_a_lead_fixes_the_client_and_the_lead() {
        let fixture = Fixture::new("renovation");
        let staff = fixture.staff(BuiltinRole::Manager, Language::EN);
        let system = fixture.system();
        let setup = fixture
            .crm
            .read(|view| project_setup_in(view, &system))
            .expect("the setup");
        let data = NewData {
            setup,
            lead: Some(LeadInfo {
                id: crm_lib::model::OrderId::new(7),
                customer: crm_lib::model::CustomerId::new(3),
                title: "Flat <64 m²>".into(),
                customer_name: Some("Екатерина".into()),
            }),
        };
        let form = Posted::of(vec![("title".into(), "Flat <64 m²>".into())]);
        let error = FormError {
            field: Some("budget"),
            message: Some("must not be negative".into()),
        };
        let html = new_body(&staff, &data, &form, &error);
        assert!(html.0.contains("name=\"lead\" value=\"7\""));
        assert!(!html.0.contains("type=\"number\" name=\"client\""));
        assert_snapshot!(pretty(&html));
    }
}
