//! The page frame: `<head>`, the navigation bar (links hidden per permission), flash notes,
//! and small form helpers (the CSRF field, a field's error).

use crm_lib::model::{Language, OperatorStatus};
use crm_lib::operators::status_word;
use maud::{DOCTYPE, Markup, html};

use crate::web::auth::Staff;
use crate::web::i18n::tr;

/// Which navigation entry a page belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nav {
    /// `/`.
    Dashboard,
    /// `/analytics` (the analytics dashboard).
    Analytics,
    /// `/moderation`.
    Moderation,
    /// `/orders`.
    Orders,
    /// `/board`.
    Board,
    /// `/chat` (the chat inbox).
    Chat,
    /// `/calls` (the call list; calls are a tickets-module feature).
    Calls,
    /// `/users`.
    Users,
    /// `/roles`.
    Roles,
    /// `/markers`.
    Markers,
    /// `/payment-methods`.
    PaymentMethods,
    /// `/settings`.
    Settings,
    /// `/audit`.
    Audit,
    /// `/admin/jobs` (scheduled jobs).
    Jobs,
    /// `/sandbox` (sandbox mode only).
    Sandbox,
    /// `/profile`.
    Profile,
    /// `/departments` (operators module).
    Departments,
    /// `/operators/stats` (operators module).
    OperatorStats,
    /// `/csat` (satisfaction statistics).
    Csat,
    /// `/queue` (the token service's queue).
    Queue,
    /// `/settings/packages` (the token service's packages).
    Packages,
    /// `/broadcasts` (issue 13).
    Broadcasts,
    /// `/projects` (the projects module, issue 14).
    Projects,
    /// No entry is highlighted.
    None,
}

struct Link {
    nav: Nav,
    href: &'static str,
    key: &'static str,
}

const LINKS: [Link; 23] = [
    Link {
        nav: Nav::Dashboard,
        href: "/",
        key: "nav.dashboard",
    },
    Link {
        nav: Nav::Analytics,
        href: "/analytics",
        key: "nav.analytics",
    },
    Link {
        nav: Nav::Moderation,
        href: "/moderation",
        key: "nav.moderation",
    },
    Link {
        nav: Nav::Orders,
        href: "/orders",
        key: "nav.orders",
    },
    Link {
        nav: Nav::Board,
        href: "/board",
        key: "nav.board",
    },
    Link {
        nav: Nav::Chat,
        href: "/chat",
        key: "nav.chat",
    },
    Link {
        nav: Nav::Projects,
        href: "/projects",
        key: "projects.nav",
    },
    Link {
        nav: Nav::Calls,
        href: "/calls",
        key: "calls.nav",
    },
    Link {
        nav: Nav::Users,
        href: "/users",
        key: "nav.users",
    },
    Link {
        nav: Nav::Roles,
        href: "/roles",
        key: "nav.roles",
    },
    Link {
        nav: Nav::Markers,
        href: "/markers",
        key: "nav.markers",
    },
    Link {
        nav: Nav::PaymentMethods,
        href: "/payment-methods",
        key: "nav.payment_methods",
    },
    Link {
        nav: Nav::Settings,
        href: "/settings",
        key: "nav.settings",
    },
    Link {
        nav: Nav::Audit,
        href: "/audit",
        key: "nav.audit",
    },
    Link {
        nav: Nav::Jobs,
        href: "/admin/jobs",
        key: "nav.jobs",
    },
    Link {
        nav: Nav::Departments,
        href: "/departments",
        key: "operators.nav.departments",
    },
    Link {
        nav: Nav::OperatorStats,
        href: "/operators/stats",
        key: "operators.nav.stats",
    },
    Link {
        nav: Nav::Csat,
        href: "/csat",
        key: "csat.nav",
    },
    Link {
        nav: Nav::Queue,
        href: "/queue",
        key: "tokens.nav.queue",
    },
    Link {
        nav: Nav::Packages,
        href: "/settings/packages",
        key: "tokens.nav.packages",
    },
    Link {
        nav: Nav::Broadcasts,
        href: "/broadcasts",
        key: "broadcasts.nav",
    },
    Link {
        nav: Nav::Sandbox,
        href: "/sandbox",
        key: "nav.sandbox",
    },
    Link {
        nav: Nav::Profile,
        href: "/profile",
        key: "nav.profile",
    },
];

/// Whether `staff` sees the navigation entry `nav` (crm-lib still decides every request).
pub fn visible(staff: &Staff, nav: Nav) -> bool {
    let menu = staff.navigation();
    match nav {
        Nav::Dashboard => menu.dashboard,
        Nav::Analytics => menu.analytics,
        Nav::Moderation => menu.moderation,
        Nav::Orders => menu.orders,
        Nav::Board => menu.board,
        Nav::Chat => menu.chat,
        Nav::Calls => menu.calls,
        Nav::Users => menu.users,
        Nav::Roles => menu.roles,
        Nav::Markers => menu.markers,
        Nav::PaymentMethods => menu.payment_methods,
        Nav::Settings => menu.settings,
        Nav::Audit => menu.audit,
        Nav::Jobs => menu.jobs,
        Nav::Departments => menu.departments,
        Nav::OperatorStats => menu.operator_stats,
        Nav::Csat => menu.csat,
        Nav::Queue => menu.token_queue,
        Nav::Packages => menu.packages,
        Nav::Broadcasts => menu.broadcasts,
        Nav::Projects => menu.projects,
        // What only the appliance knows.
        Nav::Sandbox => staff.sandbox,
        Nav::Profile | Nav::None => true,
    }
}

fn head(language: Language, title: &str) -> Markup {
    html! {
        head {
            meta charset="utf-8";
            meta name="viewport" content="width=device-width, initial-scale=1";
            title { (title) " · " (tr(language, "app.name")) }
            link rel="stylesheet" href="/assets/css/app.css";
            script src="/assets/js/app.js" defer {}
        }
    }
}

/// A page of a logged-in user: navigation, title, body.
pub fn page(staff: &Staff, title: &str, active: Nav, body: Markup) -> Markup {
    let language = staff.language;
    html! {
        (DOCTYPE)
        html lang=(language.code()) {
            (head(language, title))
            body {
                header.topbar {
                    a.brand href="/" { (tr(language, "app.name")) }
                    input #nav-toggle type="checkbox" hidden;
                    label.nav-toggle for="nav-toggle" aria-label=(tr(language, "nav.menu")) { "☰" }
                    nav.main-nav {
                        @for link in &LINKS {
                            @if visible(staff, link.nav) {
                                a href=(link.href) class=[(link.nav == active).then_some("active")] {
                                    (tr(language, link.key))
                                }
                            }
                        }
                        form.logout method="post" action="/logout" {
                            (csrf_field(staff))
                            button.link type="submit" { (tr(language, "nav.logout")) }
                        }
                    }
                    (status_switch(staff))
                    span.whoami { (staff.user.display_name) }
                }
                main.content {
                    h1 { (title) }
                    (body)
                }
            }
        }
    }
}

/// A page without navigation (login, errors).
pub fn bare(language: Language, title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang=(language.code()) {
            (head(language, title))
            body.bare { (body) }
        }
    }
}

/// The value of input `name` of a form posted as pairs (the first one when it repeats; empty
/// when absent): for forms whose inputs are not known in advance (ticket fields, checked
/// markers or permissions, fraud rules).
pub fn form_value<'a>(pairs: &'a [(String, String)], name: &str) -> &'a str {
    pairs
        .iter()
        .find(|(key, _)| key == name)
        .map_or("", |(_, value)| value.as_str())
}

/// The hidden CSRF field every form carries.
pub fn csrf_field(staff: &Staff) -> Markup {
    html! { input type="hidden" name="csrf" value=(staff.csrf); }
}

/// A form's error: the field at fault (if any) and the message.
#[derive(Debug, Clone, Default)]
pub struct FormError {
    /// The field at fault.
    pub field: Option<&'static str>,
    /// The message.
    pub message: Option<String>,
}

impl FormError {
    /// No error.
    pub fn none() -> Self {
        FormError::default()
    }

    /// From a crm-lib error.
    pub fn from_error(error: &crm_lib::Error) -> Self {
        FormError {
            field: error.field(),
            message: Some(error.message().to_string()),
        }
    }

    /// The error of `field`, shown beside it.
    pub fn at(&self, field: &str) -> Markup {
        html! {
            @if self.field == Some(field) {
                @if let Some(message) = &self.message {
                    span.field-error role="alert" data-field=(field) { (message) }
                }
            }
        }
    }

    /// An error not tied to a shown field, above the form.
    pub fn general(&self, fields: &[&str]) -> Markup {
        html! {
            @if let Some(message) = &self.message {
                @if self.field.is_none_or(|field| !fields.contains(&field)) {
                    p.error role="alert" { (message) }
                }
            }
        }
    }
}

/// A notice at the top of a page (`?done=...` after a redirect).
pub fn notice(text: Option<&str>) -> Markup {
    html! {
        @if let Some(text) = text {
            p.notice role="status" { (text) }
        }
    }
}

/// The three statuses, in the order the switch offers them.
const STATUSES: [OperatorStatus; 3] = [
    OperatorStatus::Online,
    OperatorStatus::Away,
    OperatorStatus::Offline,
];

/// A status in the reader's language.
pub fn status_text(staff: &Staff, status: OperatorStatus) -> String {
    staff.t(&format!("operators.status.{}", status_word(status)))
}

/// The header's status switch: the current status and a small form to change it (for staff
/// of an organization running the module).
pub fn status_switch(staff: &Staff) -> Markup {
    html! {
        @if let Some(current) = staff.operator_status {
            form.operator-status method="post" action="/operators/status" data-status=(status_word(current)) {
                (csrf_field(staff))
                label {
                    span.visually-hidden { (staff.t("operators.header.label")) }
                    select name="status" aria-label=(staff.t("operators.header.label")) {
                        @for status in STATUSES {
                            option value=(status_word(status)) selected[status == current] {
                                (status_text(staff, status))
                            }
                        }
                    }
                }
                button.small type="submit" { (staff.t("operators.header.set")) }
            }
        }
    }
}
