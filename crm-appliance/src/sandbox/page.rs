//! `GET /sandbox`: the page where a logged-in staff user chats with the bot as one or more
//! simulated customers, presses inline buttons and sends photos, through the control API
//! (`assets/js/sandbox.js` does the talking), and a simulated staff forum group (issue 12:
//! topics per customer, members writing in them; `assets/js/sandbox_forum.js`). It says
//! plainly that it is a simulation.
//!
//! Each organization without a bot token has its own emulated bot (issue 14); the page is the
//! one of the viewer's organization, and says which. It never offers another organization's:
//! those chats are another business's customers.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use crm_lib::model::Language;
use maud::html;

use crate::AppState;
use crate::web::auth::Staff;
use crate::web::layout::{self, Nav};

/// The page (staff login required).
pub(crate) async fn page(State(state): State<AppState>, staff: Staff) -> Response {
    let t = |key: &str| staff.t(key);
    let emulator = state.bots().emulator(staff.actor.org);
    let sandbox = emulator.is_some();
    let bot_name = emulator
        .as_ref()
        .map(|emulator| emulator.bot_username().to_string())
        .unwrap_or_default();
    let body = html! {
        link rel="stylesheet" href="/assets/css/sandbox.css";
        div.sandbox-banner role="note" {
            strong { (t("sandbox.banner_title")) }
            " "
            (t("sandbox.banner_text"))
        }
        @if !sandbox {
            p { (t("sandbox.off")) }
        } @else {
            p.muted { (crate::web::i18n::tr_with(staff.language, "sandbox.organization", &[("org", &staff.org_slug), ("bot", &bot_name)])) }
            div #sandbox.sandbox
                data-bot=(bot_name)
                data-t-send=(t("sandbox.send"))
                data-t-photo=(t("sandbox.photo"))
                data-t-empty=(t("sandbox.empty"))
                data-t-you=(t("sandbox.you"))
                data-t-bot=(t("sandbox.bot"))
                data-t-blocked=(t("sandbox.blocked"))
                data-t-edit=(t("fidelity.edit"))
                data-t-edited=(t("fidelity.sandbox_edited"))
                data-t-reply=(t("fidelity.reply"))
                data-t-web-app=(t("sandbox.web_app"))
                data-t-web-app-tab=(t("sandbox.web_app_tab"))
                data-t-web-app-close=(t("sandbox.web_app_close"))
            {
                aside.sandbox-customers {
                    h2 { (t("sandbox.customers")) }
                    ul #sandbox-chats {}
                    form #sandbox-new {
                        h3 { (t("sandbox.new_customer")) }
                        label { (t("sandbox.first_name")) input name="first_name" required maxlength="64"; }
                        label { (t("sandbox.username")) input name="username" maxlength="32" pattern="[A-Za-z0-9_]{4,32}"; }
                        label { (t("sandbox.language"))
                            select name="language_code" {
                                @for language in Language::all() {
                                    option value=(language.code()) { (language.native_name()) }
                                }
                            }
                        }
                        button type="submit" { (t("sandbox.create")) }
                    }
                }
                section.sandbox-chat {
                    h2 #sandbox-title { (t("sandbox.pick")) }
                    div #sandbox-messages.sandbox-messages aria-live="polite" {}
                    form #sandbox-compose hidden {
                        textarea name="text" rows="2" maxlength="4096" {}
                        label.sandbox-file { (t("sandbox.photo")) input type="file" name="file" multiple; }
                        label { (t("fidelity.sandbox_kind"))
                            select name="kind" {
                                option value="" { (t("fidelity.sandbox_kind_text")) }
                                option value="location" { (t("fidelity.sandbox_kind_location")) }
                                option value="venue" { (t("fidelity.sandbox_kind_venue")) }
                                option value="contact" { (t("fidelity.sandbox_kind_contact")) }
                                option value="dice" { (t("fidelity.sandbox_kind_dice")) }
                                option value="poll" { (t("fidelity.sandbox_kind_poll")) }
                                option value="sticker" { (t("fidelity.sandbox_kind_sticker")) }
                            }
                        }
                        label { (t("fidelity.sandbox_reply_to")) input type="number" name="reply_to" min="1" size="6"; }
                        button type="submit" { (t("sandbox.send")) }
                    }
                }
            }
            section #sandbox-forum.sandbox-forum.card {
                h2 { (t("sandbox.forum.title")) }
                p.muted { (t("sandbox.forum.help")) }
                form #sandbox-forum-new {
                    label { (t("sandbox.forum.id")) input name="id" type="number" max="-1" value="-1001000000001" required; }
                    label { (t("sandbox.forum.name")) input name="title" maxlength="128" value="Staff" required; }
                    button type="submit" { (t("sandbox.forum.create")) }
                }
                div #sandbox-forum-view aria-live="polite" {}
                form #sandbox-forum-send hidden {
                    label { (t("sandbox.forum.member")) input name="member" type="number" min="1" required; }
                    label { (t("sandbox.forum.topic")) select name="thread" {} }
                    textarea name="text" rows="2" maxlength="4096" {}
                    label.sandbox-file { (t("sandbox.photo")) input type="file" name="file"; }
                    button type="submit" { (t("sandbox.send")) }
                }
            }
            script src="/assets/js/sandbox.js" defer {}
            script src="/assets/js/sandbox_forum.js" defer {}
        }
    };
    layout::page(&staff, &t("sandbox.title"), Nav::Sandbox, body).into_response()
}
