//! The order page's staffing sections (C0de seed): the bidders' skills beside their bids,
//! staff suggested by the order's markers, and delegated access (who may view the order and
//! chat about it, until when), with the forms that grant and revoke it (their handlers are
//! the order page's, in `orders.rs`).
//!
//! crm-lib decides everything: who is suggested and in which order
//! (`staffing::suggested_staff_in`), who holds access (`staffing::order_access_in`), and every
//! rule of a grant. These views only render what it returns.

use crm_lib::{
    model::{Actor, OrderId, Permission, UserId},
    orders::OrderDetail,
    staffing::{OrderAccess, StaffSuggestion, UserSkills},
};
use maud::{Markup, html};

use crate::web::auth::Staff;
use crate::web::colors;
use crate::web::i18n::{tr_with, when};
use crate::web::layout::{FormError, csrf_field};

/// What the staffing sections show, read in the order page's snapshot.
#[derive(Debug, Clone, Default)]
pub struct Staffing {
    /// Each bidder's skills.
    pub skills: Vec<UserSkills>,
    /// Staff whose skills match the order's markers (for those who assign; empty otherwise).
    pub suggestions: Vec<StaffSuggestion>,
    /// Who holds access through grants (for those who assign; empty otherwise).
    pub access: Vec<OrderAccess>,
}

/// Reads the staffing sections' data; `assigns` says whether the actor holds `assign_orders`
/// (without it the suggestions and the access list are not asked for, and crm-lib would
/// refuse them).
///
/// # Errors
/// As crm-lib's `staffing` reads.
pub fn read_staffing(
    view: &impl crm_lib::View,
    actor: &Actor,
    order: OrderId,
    assigns: bool,
) -> crm_lib::Result<Staffing> {
    let skills = crm_lib::staffing::bidder_skills_in(view, actor, order)?;
    if !assigns {
        return Ok(Staffing {
            skills,
            ..Staffing::default()
        });
    }
    Ok(Staffing {
        skills,
        suggestions: crm_lib::staffing::suggested_staff_in(view, actor, order)?,
        access: crm_lib::staffing::order_access_in(view, actor, order)?,
    })
}

/// A bidder's skills as marker chips (nothing when they have none).
pub fn bidder_skills(staff: &Staff, skills: &[UserSkills], user: UserId) -> Markup {
    html! {
        @if let Some(skills) = skills.iter().find(|skills| skills.user == user) {
            @if !skills.markers.is_empty() {
                span.skills title=(staff.t("orders.bidder_skills")) {
                    @for marker in &skills.markers {
                        " " (colors::marker(marker, staff.language))
                    }
                }
            }
        }
    }
}

/// Staff suggested for the order by its markers, best first, each with the markers they
/// match and, while the order can be assigned, a button that assigns it to them.
pub fn suggestions_section(staff: &Staff, detail: &OrderDetail, staffing: &Staffing) -> Markup {
    let order = &detail.order;
    let assignable = detail.actions.assign && !detail.assignable.is_empty();
    html! {
        @if detail.actions.grant_access {
            section.card #suggested {
                h2 { (staff.t("orders.suggested")) }
                @if order.markers.is_empty() {
                    p.muted { (staff.t("orders.suggested_no_markers")) }
                } @else if staffing.suggestions.is_empty() {
                    p.muted { (staff.t("orders.suggested_none")) }
                } @else {
                    table.suggested { tbody {
                        @for suggestion in &staffing.suggestions {
                            tr {
                                td { (suggestion.user.display_name) }
                                td {
                                    @for marker in &suggestion.matching {
                                        (colors::marker(marker, staff.language)) " "
                                    }
                                }
                                td {
                                    @if order.assignee == Some(suggestion.user.id) {
                                        span.muted { (staff.t("orders.suggested_assigned")) }
                                    } @else if assignable {
                                        form method="post" action={ "/orders/" (order.id) "/assign" } {
                                            (csrf_field(staff))
                                            input type="hidden" name="user" value=(suggestion.user.id);
                                            button.small type="submit" { (staff.t("orders.assign_button")) }
                                        }
                                    }
                                }
                            }
                        }
                    } }
                }
            }
        }
    }
}

/// The durations the grant form offers, in hours (crm-lib takes 1 to 2160).
const DURATIONS: [u32; 7] = [1, 8, 24, 72, 168, 720, 2160];

/// The people with access to the order through grants (delegations with their expiry and
/// revoke buttons; the assignee's chat access, which lasts while assigned), and the form
/// that gives someone access for a while.
pub fn access_section(
    staff: &Staff,
    detail: &OrderDetail,
    staffing: &Staffing,
    error: &FormError,
) -> Markup {
    let order = &detail.order;
    let language = staff.language;
    html! {
        @if detail.actions.grant_access {
            section.card #access {
                h2 { (staff.t("orders.access")) }
                p.muted { (staff.t("orders.access_hint")) }
                @if staffing.access.is_empty() {
                    p.muted { (staff.t("orders.access_none")) }
                } @else {
                    table.access { tbody {
                        @for access in &staffing.access {
                            tr {
                                td { (access.display_name) }
                                td {
                                    @for (index, permission) in access.permissions.iter().enumerate() {
                                        @if index > 0 { ", " }
                                        (staff.t(match permission {
                                            Permission::ViewOrders => "orders.access_view",
                                            Permission::ChatCustomers => "orders.access_chat",
                                            _ => "orders.access_other",
                                        }))
                                    }
                                }
                                td {
                                    @match access.expires_at {
                                        Some(until) => (tr_with(language, "orders.access_until", &[("when", &when(until))])),
                                        None => (staff.t("orders.access_while_assigned")),
                                    }
                                }
                                td {
                                    @if access.revocable() {
                                        form method="post" action={ "/orders/" (order.id) "/access/" (access.user) "/revoke" } {
                                            (csrf_field(staff))
                                            button.danger.small type="submit" { (staff.t("orders.access_revoke")) }
                                        }
                                    }
                                }
                            }
                        }
                    } }
                }
                form.form.inline method="post" action={ "/orders/" (order.id) "/access" } {
                    (csrf_field(staff))
                    label { (staff.t("orders.access_user"))
                        select name="user" {
                            @for user in detail.assignable.iter().filter(|user| user.id != staff.user.id) {
                                option value=(user.id) { (user.display_name) }
                            }
                        }
                        (error.at("user"))
                    }
                    label { (staff.t("orders.access_for"))
                        select name="hours" {
                            @for hours in DURATIONS {
                                option value=(hours) selected[hours == 24] {
                                    (duration(staff, hours))
                                }
                            }
                        }
                        (error.at("hours"))
                    }
                    button type="submit" { (staff.t("orders.access_grant")) }
                }
            }
        }
    }
}

/// `1 hour`, `8 hours`, `3 days` in the reader's language.
fn duration(staff: &Staff, hours: u32) -> String {
    let (count, key) = if hours.is_multiple_of(24) {
        (hours / 24, "orders.access_days")
    } else {
        (hours, "orders.access_hours")
    };
    tr_with(staff.language, key, &[("count", &count.to_string())])
}
