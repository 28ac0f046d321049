//! The Kanban board (a column per stage, terminal stages collapsed; cards dragged between
//! columns by `assets/js/board.js`, with a stage select and Move button on every card as the
//! no-JS fallback; kept current by `assets/js/live.js` when orders change in other sessions)
//! and the moderation queue.

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use maud::{Markup, html};

use crate::AppState;
use crate::web::auth::Staff;
use crate::web::error::AppError;
use crate::web::layout::{Nav, csrf_field, page};

/// `/board`, `/moderation`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/board", get(board))
        .route("/moderation", get(moderation))
}

/// Cards per column.
pub const CARDS_PER_COLUMN: usize = 50;

async fn board(State(state): State<AppState>, staff: Staff) -> Result<Markup, AppError> {
    let actor = staff.actor.clone();
    let columns = state
        .blocking(move |crm| {
            crm.read(|view| crm_lib::orders::board_in(view, &actor, CARDS_PER_COLUMN))
        })
        .await?;
    let language = staff.language;
    Ok(page(
        &staff,
        &staff.t("board.title"),
        Nav::Board,
        html! {
            p.board-error role="alert" hidden {}
            // A live region (live.js): its cards are swapped for fresh ones when an order
            // changes anywhere; board.js listens on this element, which stays.
            div.board #board data-live-refresh="order" data-csrf=(staff.csrf) {
                @for column in columns.iter().filter(|c| !c.stage.kind.is_terminal()) {
                    (column_markup(&staff, column, &columns, language))
                }
                @for column in columns.iter().filter(|c| c.stage.kind.is_terminal()) {
                    details.column-collapsed id={ "stage-" (column.stage.id) } {
                        summary { (column.stage.name(language)) " (" (column.count) ")" }
                        (column_markup(&staff, column, &columns, language))
                    }
                }
            }
            script src="/assets/js/live.js" defer {}
            script src="/assets/js/board.js" defer {}
        },
    ))
}

fn column_markup(
    staff: &Staff,
    column: &crm_lib::orders::BoardColumn,
    all: &[crm_lib::orders::BoardColumn],
    language: crm_lib::model::Language,
) -> Markup {
    html! {
        section.column data-stage=(column.stage.id) data-color=(column.stage.color) {
            h2 { (column.stage.name(language)) " " span.count { (column.count) } }
            ol.cards {
                @for (row, moves) in &column.cards {
                    li.card draggable=[(!moves.is_empty()).then_some("true")]
                        data-order=(row.order.id)
                        data-moves=(moves.iter().map(|m| m.to_string()).collect::<Vec<_>>().join(",")) {
                        a href={ "/orders/" (row.order.id) } { "#" (row.order.id) " " (row.order.title) }
                        div.muted { (row.customer_name)
                            @if let Some(name) = &row.assignee_name { " · " (name) } }
                        @if !moves.is_empty() {
                            form.move method="post" action={ "/orders/" (row.order.id) "/move" } {
                                (csrf_field(staff))
                                input type="hidden" name="back" value="board";
                                select name="stage" aria-label=(staff.t("orders.stage")) {
                                    @for stage in all.iter().map(|c| &c.stage).filter(|s| moves.contains(&s.id)) {
                                        option value=(stage.id) { (stage.name(language)) }
                                    }
                                }
                                button type="submit" { (staff.t("orders.move_button")) }
                            }
                        }
                    }
                }
            }
        }
    }
}

async fn moderation(State(state): State<AppState>, staff: Staff) -> Result<Markup, AppError> {
    let actor = staff.actor.clone();
    let queue = state
        .blocking(move |crm| {
            crm.read(|view| crm_lib::orders::moderation_queue_in(view, &actor, 100))
        })
        .await?;
    let language = staff.language;
    Ok(page(
        &staff,
        &staff.t("moderation.title"),
        Nav::Moderation,
        html! {
            @for (stage, rows) in &queue {
                h2 { (stage.name(language)) " (" (rows.len()) ")" }
                @if rows.is_empty() {
                    p.muted { (staff.t("moderation.empty")) }
                }
                ul.queue {
                    @for row in rows {
                        li.card {
                            a href={ "/orders/" (row.order.id) } { "#" (row.order.id) " " (row.order.title) }
                            div.muted { (row.customer_name)
                                @if let Some(budget) = row.order.budget { " · " (budget) } }
                            p.description { (row.order.description.chars().take(300).collect::<String>()) }
                            div.actions {
                                form.inline method="post" action={ "/orders/" (row.order.id) "/approve" } {
                                    (csrf_field(&staff))
                                    button type="submit" { (staff.t("orders.approve")) }
                                }
                                form.inline method="post" action={ "/orders/" (row.order.id) "/reject" } {
                                    (csrf_field(&staff))
                                    input type="text" name="reason" required maxlength="500" placeholder=(staff.t("orders.reject_reason"));
                                    button.danger type="submit" { (staff.t("orders.reject")) }
                                }
                            }
                        }
                    }
                }
            }
        },
    ))
}
