//! The OpenAPI document of `/api/v1`, generated from the handlers' `#[utoipa::path]`
//! attributes and the views' `ToSchema` derives, never written by hand. Every operation names
//! its own camelCase `operationId` (`listOrders`, `getCustomer`): client generators that do
//! not group by tag make one function per id, so an id used twice breaks them.

use std::sync::OnceLock;

use axum::http::header;
use axum::response::{IntoResponse, Response};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::{
    analytics, broadcasts, calls, canned, csat, customers, error, jobs, leads, operators, orders,
    payments, profiles, projects, staffing, tickets, tokens, users, views, webhooks,
};

/// Declares the bearer token scheme every endpoint uses.
struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("crm_...")
                    .description(Some(
                        "An API token from the profile page or `crm token create`",
                    ))
                    .build(),
            ),
        );
    }
}

/// The API's OpenAPI document.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Telegram CRM API",
        description = "Orders, customers, conversations and users of the appliance. \
            Authenticate with `Authorization: Bearer crm_...`. Errors are \
            `{\"error\": {\"kind\", \"message\", \"field\"}}`."
    ),
    paths(
        orders::list, orders::get, orders::create, orders::approve, orders::reject,
        orders::move_to, orders::assign, orders::bids, orders::place_bid,
        staffing::suggested, staffing::list, staffing::grant, staffing::revoke,
        customers::list, customers::create, customers::get, customers::conversations, customers::messages,
        customers::order_messages, customers::send, customers::mark_read, customers::upload,
        customers::edit, customers::delete,
        users::list, users::me, users::set_phone,
        jobs::list, jobs::run,
        tickets::get, tickets::put, tickets::patch, tickets::clear,
        operators::list_departments, operators::create_department, operators::update_department,
        operators::add_member, operators::remove_member, operators::list_operators,
        operators::get_status, operators::set_status, operators::queue, operators::conversation,
        operators::assign, operators::close, operators::reopen, operators::stats,
        calls::list, calls::get, calls::timeline, calls::audit,
        canned::list, canned::create, canned::update, canned::delete, canned::get_hours,
        canned::put_hours,
        csat::stats, csat::merge,
        analytics::get, analytics::chart,
        tokens::list_packages, tokens::create_package, tokens::update_package,
        tokens::get_settings, tokens::put_settings, tokens::ledger, tokens::credit,
        tokens::premium, tokens::place, tokens::rerun, tokens::token_order, tokens::queue,
        tokens::move_in_queue, tokens::list_scheduled, tokens::schedule, tokens::cancel_scheduled,
        webhooks::list, webhooks::create, webhooks::update, webhooks::delete,
        webhooks::deliveries, webhooks::redeliver,
        profiles::list, profiles::create, profiles::get, profiles::update,
        payments::get_settings, payments::put_settings, payments::list, payments::get,
        payments::create, payments::refund,
        broadcasts::list, broadcasts::create, broadcasts::get, broadcasts::update,
        broadcasts::delete, broadcasts::test, broadcasts::schedule, broadcasts::start,
        broadcasts::pause, broadcasts::resume, broadcasts::cancel, broadcasts::recipients,
        broadcasts::preview,
        projects::list, projects::create, projects::get, projects::update, projects::workers,
        projects::add_stage, projects::progress, projects::timeline, projects::add_report,
        projects::add_entry, projects::add_estimate_line, projects::create_change_request,
        projects::decide, projects::withdraw, projects::set_state, projects::documents,
        projects::add_document, projects::remove_document,
        leads::get, leads::stop_ai, leads::resume_ai, leads::get_settings, leads::put_settings,
    ),
    components(schemas(
        error::ErrorResponse, error::ErrorDetail, error::ApiErrorKind,
        views::OrderView, views::OrderActionsView, views::OrderPage, views::StageRef, views::BidView, views::BidStateView,
        views::CustomerView, views::CustomerPage, views::MessageView, views::MessagePage,
        views::AttachmentView, views::UserView, views::MeView, views::MediaView, views::MarkerView,
        users::PhoneInput, users::PhoneView,
        staffing::SuggestionView, staffing::AccessView, staffing::GrantAccess,
        orders::CreateOrder, orders::Reject, orders::Move, orders::Assign, orders::PlaceBid,
        customers::SendMessage, customers::AttachmentInput, customers::CreateCustomer,
        customers::EditMessage, views::ContentJson, views::EditView,
        jobs::JobView, jobs::JobRunView,
        tickets::TicketJson, tickets::TicketFieldView, tickets::FraudFlagView, tickets::SetFields,
        tickets::ClearFlag,
        operators::DepartmentView, operators::CreateDepartment, operators::UpdateDepartment,
        operators::AddMember, operators::OperatorView, operators::StatusView, operators::SetStatus,
        operators::QueueItemView, operators::ConversationStateView, operators::AssignConversation,
        operators::DayStatsView, operators::OperatorStatsView,
        calls::CallView, calls::CallPage, calls::TimelineView, calls::TimelineItemView,
        calls::TimelineOrderView, calls::AuditEntryView, calls::AuditPage,
        canned::CannedView, canned::CannedBody, canned::HoursBody, canned::HoursStateView,
        csat::CsatFiguresView, csat::CsatOperatorView, csat::CsatDayView, csat::CsatRatingView,
        csat::CsatStatsView, csat::MergeRequest, csat::MergeFieldView, csat::MergeView,
        analytics::AnalyticsView, analytics::MonthRevenueView, analytics::StageShareView,
        analytics::MonthCustomersView, analytics::PackageShareView, analytics::ChartView,
        analytics::ChartPointView,
        tokens::PackageView, tokens::PackageBody, tokens::TokenSettingsBody,
        tokens::LedgerEntryView, tokens::LedgerView, tokens::CreditBody, tokens::PremiumBody,
        tokens::TokenOrderBody, tokens::PlacedView, tokens::TokenOrderJson,
        tokens::QueueRowView, tokens::QueueMove, tokens::QueuePlace, tokens::ScheduledView,
        tokens::ScheduleBody,
        webhooks::WebhookView, webhooks::WebhookBody, webhooks::WebhookAttemptView,
        webhooks::WebhookDeliveryView, webhooks::WebhookDeliveryPage,
        profiles::ProfileJson, profiles::ProfileBody,
        payments::PaymentSettingsJson, payments::PaymentSettingsBody, payments::InvoiceJson,
        payments::CreateInvoice,
        broadcasts::AudienceJson, broadcasts::BroadcastCountsView, broadcasts::BroadcastActionsView,
        broadcasts::BroadcastJson, broadcasts::BroadcastBody, broadcasts::BroadcastPatch,
        broadcasts::ScheduleBody, broadcasts::TestSentView, broadcasts::SampleCustomerView,
        broadcasts::AudiencePreviewView, broadcasts::RecipientView, broadcasts::RecipientPageView,
        projects::ProjectTotalsJson, projects::ProjectRowJson, projects::ProjectPageJson,
        projects::StageJson, projects::EstimateLineJson, projects::ChangeRequestJson,
        projects::ProjectActionsJson, projects::WorkerJson, projects::PlanLineJson,
        projects::ProjectJson, projects::ReportJson, projects::EntryJson,
        projects::TimelineItemJson, projects::TimelinePageJson, projects::CreateProject,
        projects::ProjectPatch, projects::WorkersBody, projects::StageBody, projects::ProgressBody,
        projects::ReportForm, projects::EntryForm, projects::EstimateLineBody,
        projects::ChangeRequestBody, projects::DecisionBody, projects::StateBody,
        projects::DocumentJson, projects::DocumentListJson, projects::DocumentForm,
        leads::LeadJson, leads::LeadSlotView, leads::AiCallView, leads::HotView,
        leads::AiSettingsJson, leads::AiSettingsBody,
    )),
    modifiers(&BearerAuth),
    security(("bearer" = [])),
    tags(
        (name = "orders", description = "Orders, moderation, bids, assignment, stages"),
        (name = "customers", description = "Customers"),
        (name = "messages", description = "Conversations, messages and files"),
        (name = "users", description = "Staff users"),
        (name = "jobs", description = "Scheduled jobs: audit cleanup, the daily report"),
        (name = "tickets", description = "Ticket fields and fraud flags (the tickets module)"),
        (name = "operators", description = "The operators module: departments, operator status, the queue, statistics"),
        (name = "calls", description = "Telephone calls from the PBX (the tickets module)"),
        (name = "audit", description = "The audit log"),
        (name = "canned", description = "Canned responses and business hours"),
        (name = "analytics", description = "The analytics dashboard: totals, revenue, completion rate, average order value, subscribers and four charts' series"),
        (name = "csat", description = "Customer satisfaction ratings (1-5 stars) per operator and day"),
        (name = "tokens", description = "The token service: packages, ledgers, Premium, orders of packages, the queue"),
        (name = "webhooks", description = "Outbound webhooks: endpoints, deliveries, redelivery (Standard Webhooks signatures)"),
        (name = "profiles", description = "Customers' profiles from the registration form (the tokens module)"),
        (name = "payments", description = "Payments for tokens: settings, invoices through OxaPay or Telegram Stars"),
        (name = "broadcasts", description = "Broadcasts: one text to the customers an audience picks, at a set rate, with a delivery report"),
        (name = "projects", description = "Projects (the projects module): stages and progress, daily reports, money against the estimate, change requests the client decides"),
        (name = "leads", description = "Leads' AI qualification and the AI settings (the projects module)"),
    )
)]
pub struct ApiDoc;

/// The document as JSON, rendered once.
pub fn openapi_text() -> &'static str {
    static TEXT: OnceLock<String> = OnceLock::new();
    TEXT.get_or_init(|| ApiDoc::openapi().to_pretty_json().unwrap_or_default())
}

/// `GET /api/v1/openapi.json` (no token needed).
pub async fn openapi_json() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], openapi_text()).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_operation_has_an_operation_id_of_its_own_in_camel_case() {
        let doc: serde_json::Value = serde_json::from_str(openapi_text()).unwrap_or_default();
        let mut seen = std::collections::BTreeSet::new();
        let paths = doc["paths"].as_object().cloned().unwrap_or_default();
        assert!(paths.len() >= 16, "{paths:?}");
        for (path, item) in &paths {
            for (method, operation) in item.as_object().into_iter().flatten() {
                let id = operation["operationId"].as_str().unwrap_or_default();
                assert!(
                    id.starts_with(|c: char| c.is_ascii_lowercase())
                        && id.chars().all(|c| c.is_ascii_alphanumeric()),
                    "{method} {path}: {id:?} is not camelCase"
                );
                assert!(seen.insert(id.to_string()), "{id} is used twice");
            }
        }
    }
}
