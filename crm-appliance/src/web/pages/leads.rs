//! The projects module's leads on the staff pages: the qualification section of a lead's
//! order page (who qualifies it, the AI's state with Stop AI / Resume AI as crm-lib's
//! [`LeadActions`](crm_lib::leads::LeadActions) allow, the slots filled, the source, the hot
//! flag with its reason, the AI's summary and the call log with latency, tokens and outcome),
//! and the hot marker lists and the board show. The forms post to `orders.rs`, which owns
//! every `/orders/{id}/...` action; the slots themselves are the order's fields, shown and
//! edited by `ticket.rs`. Pure views: no read here.

use crm_lib::leads::LeadView;
use maud::{Markup, html};

use crate::web::auth::Staff;
use crate::web::layout::csrf_field;
use crate::web::text::{Text, When};

/// The 🔥 marker of a hot lead in a list row, on a board card or in the moderation queue
/// (`hot` as crm-lib reads it from the row or the order).
pub(crate) fn hot_marker(staff: &Staff, hot: bool) -> Markup {
    html! {
        @if hot {
            " " span.hot-lead role="img" aria-label=(staff.t("leads.web.hot_marker")) title=(staff.t("leads.web.hot_marker")) { "🔥" }
        }
    }
}

/// The lead's qualification section of its order page; refreshed live when the order or its
/// conversation changes (an AI answer, a call logged, a message).
pub(crate) fn section(staff: &Staff, order: u64, lead: &LeadView) -> Markup {
    let language = staff.language;
    let action = |what: &str| format!("/orders/{order}/ai/{what}");
    html! {
        section.card #lead data-live-refresh="order message" {
            h2 {
                (staff.t("leads.web.title"))
                @if lead.hot.is_some() { " " span.badge.hot-lead { "🔥 " (staff.t("leads.web.hot")) } }
            }
            dl.lead-facts {
                dt { (staff.t("leads.web.qualifier")) }
                dd data-qualifier=(lead.qualifier.as_str()) { (staff.t(&format!("leads.web.qualifier.{}", lead.qualifier.as_str()))) }
                dt { (staff.t("leads.web.ai")) }
                dd data-ai=(lead.ai.as_str()) {
                    (staff.t(&format!("leads.web.ai.{}", lead.ai.as_str())))
                    @if !lead.ai_on { " — " span.muted { (staff.t("leads.web.ai_off")) } }
                }
                dt { (staff.t("leads.web.filled")) }
                dd data-filled=(lead.filled) { (lead.filled) " / " (lead.slots.len()) }
                @if let Some((def, value)) = &lead.source {
                    dt { (staff.t("leads.web.source")) }
                    dd data-source=(value.to_answer()) { (Text(&value.display(Some(def), language, ""))) }
                }
                @if let Some(hot) = &lead.hot {
                    dt { (staff.t("leads.web.hot")) }
                    dd.hot-reason { "🔥 " (Text(&hot.reason)) " " span.muted { "(" (When(hot.at)) ")" } }
                }
                dt { (staff.t("leads.web.summary")) }
                dd.lead-summary { @match &lead.summary { Some(summary) => (Text(summary)), None => "—" } }
                @if let Some(at) = lead.pending {
                    dt { (staff.t("leads.web.pending")) }
                    dd { (When(at)) }
                }
            }
            @if lead.actions.stop_ai {
                form.inline method="post" action=(action("stop")) {
                    (csrf_field(staff))
                    button.secondary type="submit" { (staff.t("leads.web.stop_ai")) }
                }
            }
            @if lead.actions.resume_ai {
                form.inline method="post" action=(action("resume")) {
                    (csrf_field(staff))
                    button type="submit" { (staff.t("leads.web.resume_ai")) }
                }
            }
            h3 {
                (staff.t("leads.web.calls"))
                @if lead.calls_total > 0 {
                    " " span.muted { "(" (crate::web::i18n::tr_with(language, "leads.web.calls_total",
                        &[("shown", &lead.calls.len()), ("total", &lead.calls_total)])) ")" }
                }
            }
            @if lead.calls.is_empty() {
                p.muted { (staff.t("leads.web.no_calls")) }
            } @else {
                table.ai-calls {
                    thead { tr {
                        th { (staff.t("leads.web.call.at")) }
                        th { (staff.t("leads.web.call.model")) }
                        th { (staff.t("leads.web.call.latency")) }
                        th { (staff.t("leads.web.call.tokens")) }
                        th { (staff.t("leads.web.call.outcome")) }
                    } }
                    tbody {
                        @for call in &lead.calls {
                            tr data-outcome=(call.outcome.as_str()) {
                                td { (When(call.at)) }
                                td { (Text(&call.model)) }
                                td.number { (call.latency_ms) }
                                td.number {
                                    (call.prompt_tokens.map_or_else(|| "—".to_string(), |count| count.to_string()))
                                    " / "
                                    (call.completion_tokens.map_or_else(|| "—".to_string(), |count| count.to_string()))
                                }
                                td {
                                    (staff.t(&format!("leads.web.outcome.{}", call.outcome.as_str())))
                                    @let detail = call.outcome.detail();
                                    @if !detail.is_empty() { ": " span.muted { (Text(&detail)) } }
                                }
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
    use crm_lib::model::{BuiltinRole, Language, OrderId};
    use insta::assert_snapshot;

    use super::*;
    use crate::web::testing::{Fixture, pretty};

    /// The renovation demo's hot lead (#5): slots, a summary, a refused and three applied
    /// calls, the AI stopped.
    fn hot_lead(fixture: &Fixture) -> LeadView {
        fixture.crm.system().load_demo(fixture.org.id).unwrap();
        fixture
            .crm
            .lead(&fixture.system(), OrderId::new(5))
            .unwrap()
            .unwrap()
    }

    #[test]
    fn a_hot_lead_s_section_in_english_and_russian() {
        let fixture = Fixture::new("renovation");
        let lead = hot_lead(&fixture);
        let manager = fixture.staff(BuiltinRole::Manager, Language::EN);
        assert_snapshot!("hot_lead_en", pretty(&section(&manager, 5, &lead)));
        let manager = fixture.staff(BuiltinRole::Manager, Language::RU);
        assert_snapshot!("hot_lead_ru", pretty(&section(&manager, 5, &lead)));
    }

    #[test]
    fn a_new_lead_without_calls_offers_stop_ai_to_a_manager() {
        let fixture = Fixture::new("renovation");
        fixture.crm.system().load_demo(fixture.org.id).unwrap();
        let lead = fixture
            .crm
            .lead(&fixture.system(), OrderId::new(10))
            .unwrap()
            .unwrap();
        let manager = fixture.staff(BuiltinRole::Manager, Language::EN);
        let html = pretty(&section(&manager, 10, &lead));
        assert!(html.contains("action=\"/orders/10/ai/stop\""), "{html}");
        assert!(html.contains("No AI call yet."), "{html}");
        assert!(!html.contains("/ai/resume"), "{html}");
    }
}
