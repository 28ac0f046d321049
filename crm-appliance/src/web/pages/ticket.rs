//! The tickets module on the order page: the ticket's typed fields (shown, and edited in a
//! form), its fraud flags with their reasons and score (cleared with a note), and the fields'
//! inputs of the staff's new-order form. crm-lib reads every answer
//! ([`crm_lib::model::FieldDef::parse_answer`] inside the use cases) and says who may edit
//! and clear ([`crm_lib::tickets::TicketView`]); this module only renders, and the order
//! page (`orders.rs`) posts its forms.

use crm_lib::model::{FieldDef, FieldKind, FieldSet, FieldValue, OrderFraud};
use crm_lib::tickets::TicketView;
use maud::{Markup, html};

use crate::web::auth::Staff;
use crate::web::layout::{FormError, csrf_field};
use crate::web::text::When;

/// The prefix of a field's input name in forms: `field.serial`.
pub(super) const PREFIX: &str = "field.";

/// The answers of a posted form: every `field.<key>` input, as (key, answer).
pub(super) fn answers_of(pairs: &[(String, String)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .filter_map(|(name, value)| {
            name.strip_prefix(PREFIX)
                .map(|key| (key.to_string(), value.clone()))
        })
        .collect()
}

/// One input per declared field, named `field.<key>`, holding `value(key)` (what the form
/// sent, or the stored value as its answer): a select for a choice and a flag (empty = not
/// set), a number, date or text input for the others, a text area for long text.
pub(super) fn inputs(staff: &Staff, fields: &FieldSet, value: &dyn Fn(&str) -> String) -> Markup {
    let language = staff.language;
    html! {
        @for def in &fields.fields {
            @let name = format!("{PREFIX}{}", def.key);
            @let current = value(&def.key);
            label {
                (def.name.get(language))
                @if def.required { " *" }
                @match &def.kind {
                    FieldKind::Choice { options } => {
                        select name=(name) required[def.required] {
                            option value="" { "—" }
                            @for option in options {
                                option value=(option.key) selected[current == option.key] { (option.label.get(language)) }
                            }
                        }
                    }
                    FieldKind::Flag => {
                        select name=(name) {
                            option value="" { "—" }
                            option value="yes" selected[current == "yes"] { (staff.t("tickets.yes")) }
                            option value="no" selected[current == "no"] { (staff.t("tickets.no")) }
                        }
                    }
                    FieldKind::Number { min, max } => {
                        input type="number" name=(name) value=(current) min=[min] max=[max] required[def.required];
                    }
                    FieldKind::Date => {
                        input type="date" name=(name) value=(current) required[def.required];
                    }
                    FieldKind::Money => {
                        input type="text" name=(name) value=(current) inputmode="decimal" required[def.required];
                    }
                    FieldKind::Text { max_len, .. } if *max_len > 200 => {
                        textarea name=(name) rows="3" maxlength=(max_len) required[def.required] { (current) }
                    }
                    FieldKind::Text { max_len, .. } => {
                        input type="text" name=(name) value=(current) maxlength=(max_len) required[def.required];
                    }
                    FieldKind::Email => {
                        input type="email" name=(name) value=(current) maxlength="254" required[def.required];
                    }
                    FieldKind::Phone => {
                        input type="tel" name=(name) value=(current) maxlength="32" required[def.required];
                    }
                    FieldKind::BirthDate { .. } => {
                        input type="date" name=(name) value=(current) required[def.required];
                    }
                }
            }
        }
    }
}

/// A value as the page shows it.
fn shown(staff: &Staff, def: &FieldDef, value: Option<&FieldValue>, currency: &str) -> String {
    value.map_or_else(
        || "—".to_string(),
        |value| value.display(Some(def), staff.language, currency),
    )
}

/// The ticket's section of the order page: its fields (with the edit form when the reader
/// may edit), and its fraud flags with the score (with a clear form per flag when the reader
/// may clear).
pub(super) fn section(
    staff: &Staff,
    order: u64,
    ticket: &TicketView,
    currency: &str,
    error: &FormError,
    lead: bool,
) -> Markup {
    let set = FieldSet {
        fields: ticket.fields.iter().map(|(def, _)| def.clone()).collect(),
    };
    let stored = |key: &str| {
        ticket
            .fields
            .iter()
            .find(|(def, _)| def.key == key)
            .and_then(|(_, value)| value.as_ref())
            .map(FieldValue::to_answer)
            .unwrap_or_default()
    };
    html! {
        // A lead's fields are its slots (the projects module), which the AI and the fixed
        // questions fill while the page is open: refreshed live.
        section.card #ticket data-live-refresh=[lead.then_some("order")] {
            h2 { (staff.t(if lead { "leads.web.fields" } else { "tickets.section" })) }
            dl {
                @for (def, value) in &ticket.fields {
                    dt { (def.name.get(staff.language)) }
                    dd data-field=(def.key) { (shown(staff, def, value.as_ref(), currency)) }
                }
            }
            (error.at("fields"))
            @if ticket.edit_fields {
                details.edit-fields open[error.field == Some("fields")] {
                    summary { (staff.t("tickets.edit")) }
                    form.form method="post" action={ "/orders/" (order) "/fields" } {
                        (csrf_field(staff))
                        (inputs(staff, &set, &stored))
                        button type="submit" { (staff.t("tickets.save")) }
                    }
                }
            }
            @if let Some(fraud) = &ticket.fraud {
                (flags(staff, order, fraud, ticket.clear_flags, error))
            }
        }
    }
}

/// The fraud flags with their score.
fn flags(staff: &Staff, order: u64, fraud: &OrderFraud, clear: bool, error: &FormError) -> Markup {
    html! {
        h3 { (staff.t("tickets.fraud")) " — " (staff.t("tickets.score")) " " strong.fraud-score { (fraud.score()) } }
        ul.fraud-flags {
            @for flag in &fraud.flags {
                li.fraud-flag data-rule=(flag.rule) data-cleared=(if flag.cleared.is_some() { "yes" } else { "no" }) {
                    strong { (staff.t(&format!("tickets.rule.{}", flag.rule))) }
                    " (+" (flag.points) ") — " (flag.reason) " "
                    span.muted { (When(flag.raised_at)) }
                    @if let Some(cleared) = &flag.cleared {
                        p.muted {
                            (staff.t("tickets.cleared")) " " (When(cleared.at)) ": " (cleared.note)
                        }
                    } @else if clear {
                        form.form.inline method="post" action={ "/orders/" (order) "/fraud/clear" } {
                            (csrf_field(staff))
                            input type="hidden" name="rule" value=(flag.rule);
                            label { (staff.t("tickets.note"))
                                input type="text" name="note" maxlength="500" required;
                            }
                            button type="submit" { (staff.t("tickets.clear")) }
                        }
                    }
                }
            }
        }
        (error.at("note"))
    }
}
