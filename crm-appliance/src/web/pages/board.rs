//! The Kanban board (a column per stage, terminal stages collapsed; cards dragged between
//! columns by `assets/js/board.js`, with a stage select and Move button on every card as the
//! no-JS fallback; kept current by `assets/js/live.js` when orders change in other sessions)
//! and the moderation queue. A card shows the order's markers, its agreed price (or else the
//! budget) with the currency and its deadline; the board shares the width among its columns
//! and, when they do not fit, scrolls sideways with a hint that says so (`board.js`).

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use crm_lib::model::Actor;
use maud::{Markup, html};

use crate::AppState;
use crate::web::auth::Staff;
use crate::web::colors;
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

/// What a card shows beside the order: marker names and colours, and the currency.
struct CardContext<'a> {
    markers: &'a [crm_lib::model::Marker],
    currency: &'a str,
    today: crm_lib::model::Date,
}

/// What the board shows, read on one snapshot: the columns, the markers their cards name and
/// the organization's currency.
struct BoardData {
    columns: Vec<crm_lib::orders::BoardColumn>,
    markers: Vec<crm_lib::model::Marker>,
    currency: String,
}

fn read_board(view: &impl crm_lib::View, actor: &Actor) -> crm_lib::Result<BoardData> {
    Ok(BoardData {
        columns: crm_lib::orders::board_in(view, actor, CARDS_PER_COLUMN)?,
        markers: crm_lib::team::markers_in(view, actor)?,
        currency: crm_lib::org::organization_in(view, actor)?
            .settings
            .currency,
    })
}

async fn board(State(state): State<AppState>, staff: Staff) -> Result<Markup, AppError> {
    let actor = staff.actor.clone();
    let data = state
        .blocking(move |crm| crm.read(|view| read_board(view, &actor)))
        .await?;
    let today = crm_lib::model::Date::of(crm_lib::model::Timestamp::now());
    Ok(page(
        &staff,
        &staff.t("board.title"),
        Nav::Board,
        board_body(&staff, &data, today),
    ))
}

/// The board's content: the open stages' columns side by side and the terminal ones folded;
/// `today` decides which deadlines are overdue.
fn board_body(staff: &Staff, data: &BoardData, today: crm_lib::model::Date) -> Markup {
    let language = staff.language;
    let columns = &data.columns;
    let context = CardContext {
        markers: &data.markers,
        currency: &data.currency,
        today,
    };
    html! {
        p.board-error role="alert" hidden {}
        // Shown by board.js while the columns do not fit the screen.
        p.board-hint.muted hidden { (staff.t("board.scroll_hint")) " →" }
        // A live region (live.js): its cards are swapped for fresh ones when an order
        // changes anywhere; board.js listens on this element, which stays.
        div.board #board data-live-refresh="order" data-csrf=(staff.csrf) {
            @for column in columns.iter().filter(|c| !c.stage.kind.is_terminal()) {
                (column_markup(staff, column, columns, language, &context))
            }
            // The folded terminal stages share one slot, one above the other.
            div.board-terminal {
                @for column in columns.iter().filter(|c| c.stage.kind.is_terminal()) {
                    details.column-collapsed id={ "stage-" (column.stage.id) } {
                        summary { (column.stage.name(language)) " (" (column.count) ")" }
                        (column_markup(staff, column, columns, language, &context))
                    }
                }
            }
        }
        script src="/assets/js/live.js" defer {}
        script src="/assets/js/board.js" defer {}
    }
}

fn column_markup(
    staff: &Staff,
    column: &crm_lib::orders::BoardColumn,
    all: &[crm_lib::orders::BoardColumn],
    language: crm_lib::model::Language,
    context: &CardContext<'_>,
) -> Markup {
    html! {
        section.column data-stage=(column.stage.id) data-accent=(column.stage.color) {
            h2 { (column.stage.name(language)) " " span.count { (column.count) } }
            ol.cards {
                @for card in &column.cards {
                    @let (row, moves) = (&card.row, &card.moves);
                    li.card draggable=[(!moves.is_empty()).then_some("true")]
                        data-order=(row.order.id)
                        data-moves=(moves.iter().map(|m| m.to_string()).collect::<Vec<_>>().join(",")) {
                        a href={ "/orders/" (row.order.id) } { "#" (row.order.id) " " (row.order.title) }
                        (super::leads::hot_marker(staff, crm_lib::leads::is_hot(&row.order)))
                        div.muted { (row.customer_name)
                            @if let Some(name) = &row.assignee_name { " · " (name) } }
                        (card_details(staff, &row.order, column.stage.kind.is_terminal(), context))
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

/// A card's markers, money and deadline (nothing when the order has none of them); a passed
/// deadline is marked overdue while the order is open (`terminal` is false).
fn card_details(
    staff: &Staff,
    order: &crm_lib::model::OrderSummary,
    terminal: bool,
    context: &CardContext<'_>,
) -> Markup {
    let language = staff.language;
    let markers: Vec<&crm_lib::model::Marker> = order
        .markers
        .iter()
        .filter_map(|id| context.markers.iter().find(|marker| marker.id == *id))
        .collect();
    let money = match (order.price, order.budget) {
        (Some(price), _) => Some((staff.t("orders.price"), price)),
        (None, Some(budget)) => Some((staff.t("orders.budget"), budget)),
        (None, None) => None,
    };
    html! {
        @if !markers.is_empty() {
            div.card-markers {
                @for marker in &markers { (colors::marker(marker, staff.language)) " " }
            }
        }
        @if money.is_some() || order.deadline.is_some() {
            dl.card-facts {
                @if let Some((label, amount)) = &money {
                    div { dt { (label) } dd.money { (amount.format_with(language, context.currency)) } }
                }
                @if let Some(deadline) = order.deadline {
                    @let overdue = !terminal && deadline < context.today;
                    div {
                        dt { (staff.t("board.due")) }
                        dd.deadline.overdue[overdue] {
                            time datetime=(deadline) { (deadline) }
                            @if overdue { " (" (staff.t("board.overdue")) ")" }
                        }
                    }
                }
            }
        }
    }
}

async fn moderation(State(state): State<AppState>, staff: Staff) -> Result<Markup, AppError> {
    let actor = staff.actor.clone();
    let (queue, currency) = state
        .blocking(move |crm| {
            crm.read(|view| {
                Ok((
                    crm_lib::orders::moderation_queue_in(view, &actor, 100)?,
                    crm_lib::org::organization_in(view, &actor)?
                        .settings
                        .currency,
                ))
            })
        })
        .await?;
    Ok(page(
        &staff,
        &staff.t("moderation.title"),
        Nav::Moderation,
        moderation_body(&staff, &queue, &currency),
    ))
}

/// The moderation queue's content: each moderation stage's orders, newest first, with their
/// budget in `currency` and the approve and reject forms.
fn moderation_body(
    staff: &Staff,
    queue: &[crm_lib::orders::ModerationColumn],
    currency: &str,
) -> Markup {
    let language = staff.language;
    html! {
        @for crm_lib::orders::ModerationColumn { stage, orders: rows } in queue {
            h2 { (stage.name(language)) " (" (rows.len()) ")" }
            @if rows.is_empty() {
                p.muted { (staff.t("moderation.empty")) }
            }
            ul.queue {
                @for row in rows {
                    li.card {
                        a href={ "/orders/" (row.order.id) } { "#" (row.order.id) " " (row.order.title) }
                        (super::leads::hot_marker(staff, crm_lib::leads::order_is_hot(&row.order)))
                        div.muted { (row.customer_name)
                            @if let Some(budget) = row.order.budget {
                                " · " (staff.t("orders.budget")) " " (budget.format_with(language, currency))
                            } }
                        p.description { (row.order.description.chars().take(300).collect::<String>()) }
                        div.actions {
                            form.inline method="post" action={ "/orders/" (row.order.id) "/approve" } {
                                (csrf_field(staff))
                                button type="submit" { (staff.t("orders.approve")) }
                            }
                            form.inline method="post" action={ "/orders/" (row.order.id) "/reject" } {
                                (csrf_field(staff))
                                input type="text" name="reason" required maxlength="500" placeholder=(staff.t("orders.reject_reason"));
                                button.danger type="submit" { (staff.t("orders.reject")) }
                            }
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crm_lib::model::{BuiltinRole, Date, Language};
    use insta::assert_snapshot;

    use super::*;
    use crate::web::testing::{Fixture, pretty};

    #[test]
    fn the_board_shows_cards_with_markers_money_and_deadlines_and_the_moves_offered() {
        let fixture = Fixture::new("studio");
        fixture.sample();
        let data = fixture
            .crm
            .read(|view| read_board(view, &fixture.system()))
            .unwrap();
        let staff = fixture.staff(BuiltinRole::Manager, Language::EN);
        let after_the_deadline = Date::parse("today", "2026-12-25").unwrap();
        assert_snapshot!(pretty(&board_body(&staff, &data, after_the_deadline)));
    }

    #[test]
    fn the_moderation_queue_shows_budgets_with_their_currency_in_russian() {
        let fixture = Fixture::new("studio");
        fixture.sample();
        let queue = fixture
            .crm
            .read(|view| crm_lib::orders::moderation_queue_in(view, &fixture.system(), 100))
            .unwrap();
        let staff = fixture.staff(BuiltinRole::Manager, Language::RU);
        assert_snapshot!(pretty(&moderation_body(&staff, &queue, "RUB")));
    }
}
