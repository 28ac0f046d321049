//! The Mini App's markup: the shell page the server sends before it knows who is asking, and
//! the fragments the shell's script asks for with `initData` (the client's projects, one
//! project, a page of its feed, a decision's answer, the refusal). Pure functions of what
//! crm-lib returned; every button is one of crm-lib's `ProjectActions`.

use crm_lib::mini_app::{ClientHome, ClientProject, FeedMedia, FeedReport};
use crm_lib::model::{ChangeRequest, ChangeRequestState, Language, MediaKind, Money};
use maud::{DOCTYPE, Markup, html};

use crate::web::i18n::{tr, tr_with, when};

/// The shell: the page `/app` sends. It holds no data; `assets/js/mini_app.js` reads
/// `initData` (from `Telegram.WebApp`, else the URL's fragment) and fills `#app-main` from
/// `<base>/api/*`.
pub(crate) fn shell(language: Language, base: &str) -> Markup {
    html! {
        (DOCTYPE)
        html lang=(language.code()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="referrer" content="same-origin";
                title { (tr(language, "mini_app.title")) }
                link rel="stylesheet" href="/assets/css/mini_app.css";
                script src="/assets/js/mini_app.js" defer {}
            }
            body.mini-app {
                main #mini-app data-base=(base) {
                    div #app-notice role="status" aria-live="polite" {}
                    div #app-main aria-busy="true" {
                        p.loading { (tr(language, "mini_app.loading")) }
                    }
                }
            }
        }
    }
}

/// The refusal of anything whose `initData` failed (missing, forged, expired, another bot's,
/// or no client of this organization): no reason beyond "open it from the bot again".
pub(crate) fn unauthorized(language: Language) -> Markup {
    html! {
        section.app-error data-lang=(language.code()) data-error="unauthorized" {
            h1 { (tr(language, "mini_app.title")) }
            p { (tr(language, "mini_app.unauthorized")) }
        }
    }
}

/// A short message in place of an answer (not found, a server error).
pub(crate) fn message(language: Language, key: &str, kind: &str) -> Markup {
    html! {
        section.app-error data-lang=(language.code()) data-error=(kind) {
            p { (tr(language, key)) }
        }
    }
}

fn money(language: Language, amount: Money, currency: &str) -> String {
    amount.format_with(language, currency)
}

fn progress(language: Language, value: u8, label: &str) -> Markup {
    html! {
        div.progress {
            progress value=(value) max="100" aria-label=(label) { (value) "%" }
            span.percent { (tr_with(language, "projects.percent", &[("n", &value)])) }
        }
    }
}

/// The client's projects; the script opens the only one directly.
pub(crate) fn home(language: Language, home: &ClientHome) -> Markup {
    html! {
        section #app-home data-lang=(language.code()) data-count=(home.projects.len()) {
            h1 { (tr(language, "mini_app.projects")) }
            @if home.projects.is_empty() {
                p.empty { (tr(language, "mini_app.no_projects")) }
            }
            ul.project-list {
                @for row in &home.projects {
                    li {
                        button.project-link type="button" data-project=(row.id.get()) {
                            span.title { (row.title) }
                            span.state { (tr(language, &format!("projects.state.{}", row.state.as_str()))) }
                            (progress(language, row.totals.progress, &tr(language, "mini_app.progress")))
                        }
                    }
                }
            }
        }
    }
}

/// One project: progress and stages, money, change requests, documents, the first page of
/// the feed. `several` says whether the client has other projects to go back to.
pub(crate) fn project(language: Language, view: &ClientProject, several: bool) -> Markup {
    let project = &view.project;
    let currency = project.currency.as_str();
    let stamp = view.stamp;
    html! {
        article #app-project data-lang=(language.code()) data-project=(project.id.get()) data-stamp=(stamp) {
            @if several {
                p { button.back type="button" data-home="1" { "← " (tr(language, "mini_app.back")) } }
            }
            header.project-head {
                h1 { (project.title) }
                @if !project.address.is_empty() { p.address { (project.address) } }
                span.state { (tr(language, &format!("projects.state.{}", project.state.as_str()))) }
            }
            section.card #app-progress aria-labelledby="progress-title" {
                h2 #progress-title { (tr(language, "mini_app.progress")) }
                (progress(language, view.progress, &tr(language, "mini_app.progress")))
                @if !view.stages.is_empty() {
                    h3 { (tr(language, "mini_app.stages")) }
                    ul.stages {
                        @for stage in &view.stages {
                            li {
                                span.stage-name { (stage.stage.name) }
                                (progress(language, stage.stage.progress, &stage.stage.name))
                            }
                        }
                    }
                }
            }
            section.card #app-money aria-labelledby="money-title" {
                h2 #money-title { (tr(language, "mini_app.money.title")) }
                dl.figures {
                    div { dt { (tr(language, "mini_app.money.budget")) } dd #app-budget { (money(language, view.money.budget_total, currency)) } }
                    div { dt { (tr(language, "mini_app.money.changes")) } dd { (money(language, view.money.approved_changes, currency)) } }
                    div { dt { (tr(language, "mini_app.money.spent")) } dd #app-spent { (money(language, view.money.spent, currency)) } }
                    div { dt { (tr(language, "mini_app.money.remaining")) } dd #app-remaining { (money(language, view.money.remaining, currency)) } }
                }
            }
            section.card #app-changes aria-labelledby="changes-title" {
                h2 #changes-title { (tr(language, "mini_app.changes.title")) }
                @if view.pending.is_empty() {
                    p.empty { (tr(language, "mini_app.changes.none")) }
                }
                @for request in &view.pending {
                    (pending_request(language, request, currency, view.actions.decide_change_request))
                }
                @if !view.decided.is_empty() {
                    h3 { (tr(language, "mini_app.changes.decided")) }
                    ul.decided {
                        @for request in &view.decided {
                            li data-request=(request.id.get()) {
                                span.title { (request.title) }
                                " · " (money(language, request.amount, currency))
                                " · " span.state { (decided_state(language, request.state)) }
                            }
                        }
                    }
                }
            }
            section.card #app-documents aria-labelledby="documents-title" {
                h2 #documents-title { (tr(language, "mini_app.documents.title")) }
                @if view.documents.is_empty() {
                    p.empty { (tr(language, "mini_app.documents.none")) }
                }
                ul.documents {
                    @for document in &view.documents {
                        li {
                            button.document type="button" data-download=(document.file.to_hex()) data-mime=(document.mime) data-file-name=(document.file_name) {
                                (document.title)
                            }
                            " " span.when { (when(document.at)) }
                        }
                    }
                }
            }
            section.card #app-feed aria-labelledby="feed-title" {
                h2 #feed-title { (tr(language, "mini_app.feed.title")) }
                @if view.feed.items.is_empty() {
                    p.empty { (tr(language, "mini_app.feed.none")) }
                }
                div.feed-items {
                    (feed_page(language, project.id.get(), &view.feed.items, view.feed.next))
                }
            }
        }
    }
}

fn decided_state(language: Language, state: ChangeRequestState) -> String {
    tr(
        language,
        &format!("mini_app.changes.state.{}", state.as_str()),
    )
}

/// A pending change request, with approve and reject behind a confirmation when the client
/// may decide.
fn pending_request(
    language: Language,
    request: &ChangeRequest,
    currency: &str,
    decide: bool,
) -> Markup {
    let amount = money(language, request.amount, currency);
    let id = request.id.get();
    html! {
        div.change-request data-request=(id) {
            h3 { (request.title) }
            p.amount { (amount) }
            @if !request.description.is_empty() { p.description { (request.description) } }
            @if decide {
                div.actions {
                    button.approve type="button" data-ask="approve" data-request=(id) { (tr(language, "mini_app.changes.approve")) }
                    " "
                    button.reject.secondary type="button" data-ask="reject" data-request=(id) { (tr(language, "mini_app.changes.reject")) }
                }
                div.confirm hidden data-confirm-for="approve" data-request=(id) {
                    p { (tr_with(language, "mini_app.changes.confirm_approve", &[("title", &request.title), ("amount", &amount)])) }
                    button.approve type="button" data-decide="approve" data-request=(id) { (tr(language, "mini_app.changes.yes_approve")) }
                    " "
                    button.secondary type="button" data-cancel="1" { (tr(language, "mini_app.changes.cancel")) }
                }
                div.confirm hidden data-confirm-for="reject" data-request=(id) {
                    p { (tr_with(language, "mini_app.changes.confirm_reject", &[("title", &request.title)])) }
                    button.reject type="button" data-decide="reject" data-request=(id) { (tr(language, "mini_app.changes.yes_reject")) }
                    " "
                    button.secondary type="button" data-cancel="1" { (tr(language, "mini_app.changes.cancel")) }
                }
            }
        }
    }
}

/// A page of the feed, with the button that asks for the next one.
pub(crate) fn feed_page(
    language: Language,
    project: u64,
    items: &[FeedReport],
    next: Option<u64>,
) -> Markup {
    html! {
        @for report in items {
            (feed_report(language, report))
        }
        @if let Some(next) = next {
            p.more { button.secondary type="button" data-more=(next) data-project=(project) { (tr(language, "mini_app.feed.more")) } }
        }
    }
}

fn feed_report(language: Language, report: &FeedReport) -> Markup {
    let date = when(report.at);
    html! {
        article.report data-report=(report.id.get()) {
            header {
                span.when { (date) }
                @if !report.stage.is_empty() { " · " span.stage { (report.stage) } }
                @if !report.author.is_empty() { " · " span.author { (report.author) } }
            }
            @if !report.text.is_empty() { p.text { (report.text) } }
            @if !report.media.is_empty() {
                div.media {
                    @for file in &report.media { (media(language, file, &date)) }
                }
            }
            @if let Some(voice) = &report.voice {
                div.voice {
                    span.label { (tr(language, "mini_app.feed.voice")) }
                    audio controls data-media=(voice.hash.to_hex()) aria-label=(tr(language, "mini_app.feed.voice")) {}
                }
            }
        }
    }
}

/// A file shown lazily: the script fetches it with `initData` once it scrolls into view and
/// shows it through a blob URL.
fn media(language: Language, file: &FeedMedia, date: &str) -> Markup {
    let hash = file.hash.to_hex();
    html! {
        @match file.kind {
            MediaKind::Photo => img.photo data-media=(hash) alt=(tr_with(language, "mini_app.feed.photo", &[("date", &date)])) width="160" height="120";
            MediaKind::Video => video.video data-media=(hash) controls preload="none" aria-label=(tr_with(language, "mini_app.feed.video", &[("date", &date)])) {}
            _ => button.document type="button" data-download=(hash) data-mime=(file.mime) { (tr(language, "mini_app.feed.file")) },
        }
    }
}

/// The answer to a decision: what crm-lib returned, in words.
pub(crate) fn decided(language: Language, request: &ChangeRequest, budget: &str) -> Markup {
    let key = match request.state {
        ChangeRequestState::Approved => "mini_app.changes.approved",
        _ => "mini_app.changes.rejected",
    };
    html! {
        p.app-ok data-decided=(request.state.as_str()) {
            (tr_with(language, key, &[("title", &request.title), ("budget", &budget)]))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_refusal_says_only_to_open_it_from_the_bot_again_in_the_reader_s_language() {
        let english = unauthorized(Language::default()).into_string();
        assert!(english.contains("Open it from the bot again."), "{english}");
        let russian = unauthorized(Language::RU).into_string();
        assert!(
            russian.contains("Откройте её из бота ещё раз."),
            "{russian}"
        );
    }

    #[test]
    fn the_shell_carries_no_data_and_no_inline_script() {
        let page = shell(Language::default(), "/app/reno").into_string();
        assert!(page.contains("data-base=\"/app/reno\""), "{page}");
        assert!(
            page.contains("<script src=\"/assets/js/mini_app.js\" defer>"),
            "{page}"
        );
        assert!(!page.contains("<script>"), "{page}");
        assert!(!page.contains("style="), "{page}");
    }
}
