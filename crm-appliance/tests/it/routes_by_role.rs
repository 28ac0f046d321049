//! Every route of the staff web requested as every built-in role and as an anonymous visitor,
//! from one table: the expected status of each (route, role) pair. crm-lib decides the
//! permissions; this checks that the server refuses what the UI hides.

use crate::support::spawn_app;
use crate::web_helpers::{
    Session, admin, client_from, create_customer, create_order, post, user_with_role,
};

/// Column order of the expectations.
const ROLES: [&str; 5] = ["administrator", "manager", "worker", "master", "anonymous"];

/// (method, path, form fields, [administrator, manager, worker, master, anonymous]).
/// `{pending}` is an order waiting for moderation, `{approved}` an approved order, `{admin}`
/// the administrator's user id, `{customer}` the seeded customer, `{custom}` a custom role
/// (`support`, with `view_orders` only). POSTs carry the session's CSRF token and input that either
/// fails validation after the permission check or changes nothing, so the rows do not depend
/// on each other's order.
pub type Row = (
    &'static str,
    &'static str,
    &'static [(&'static str, &'static str)],
    [u16; 5],
);

pub const TABLE: &[Row] = &[
    ("GET", "/", &[], [200, 200, 200, 200, 303]),
    ("GET", "/healthz", &[], [200, 200, 200, 200, 200]),
    ("GET", "/login", &[], [200, 200, 200, 200, 200]),
    ("GET", "/assets/css/app.css", &[], [200, 200, 200, 200, 200]),
    ("GET", "/assets/js/board.js", &[], [200, 200, 200, 200, 200]),
    ("GET", "/no-such-page", &[], [404, 404, 404, 404, 404]),
    ("GET", "/moderation", &[], [200, 200, 403, 403, 303]),
    ("GET", "/orders", &[], [200, 200, 200, 200, 303]),
    (
        "GET",
        "/orders?stage=2&q=seeded",
        &[],
        [200, 200, 200, 200, 303],
    ),
    ("GET", "/orders.csv", &[], [200, 200, 200, 200, 303]),
    ("GET", "/orders/new", &[], [200, 200, 403, 403, 303]),
    ("GET", "/customers/new", &[], [200, 200, 403, 403, 303]),
    ("GET", "/orders/{pending}", &[], [200, 200, 404, 404, 303]),
    ("GET", "/orders/{approved}", &[], [200, 200, 200, 200, 303]),
    ("GET", "/orders/424242", &[], [404, 404, 404, 404, 303]),
    (
        "GET",
        "/orders/not-a-number",
        &[],
        [404, 404, 404, 404, 303],
    ),
    ("GET", "/board", &[], [200, 200, 200, 200, 303]),
    ("GET", "/users", &[], [200, 403, 403, 403, 303]),
    ("GET", "/roles", &[], [200, 403, 403, 403, 303]),
    ("GET", "/markers", &[], [200, 200, 200, 200, 303]),
    ("GET", "/payment-methods", &[], [200, 200, 403, 403, 303]),
    ("GET", "/settings", &[], [200, 403, 403, 403, 303]),
    ("GET", "/audit", &[], [200, 200, 403, 403, 303]),
    ("GET", "/admin/jobs", &[], [200, 403, 403, 403, 303]),
    // The operators module is off in a studio: its pages do not exist there.
    ("GET", "/departments", &[], [404, 404, 404, 404, 303]),
    ("GET", "/operators/stats", &[], [404, 404, 404, 404, 303]),
    (
        "POST",
        "/departments",
        &[("name", "")],
        [404, 404, 404, 404, 303],
    ),
    (
        "POST",
        "/operators/status",
        &[("status", "online")],
        [404, 404, 404, 404, 303],
    ),
    // The customer timeline; the calls settings (the studio leaves the tickets module off:
    // permission first, then "not found"); Swagger UI for any staff.
    (
        "GET",
        "/customers/{customer}",
        &[],
        [200, 200, 200, 200, 303],
    ),
    ("GET", "/settings/calls", &[], [404, 403, 403, 403, 303]),
    // The projects module is off in a studio: the AI settings (permission first, then "not
    // found") and a lead's Stop AI / Resume AI (its orders are no leads).
    ("GET", "/settings/ai", &[], [404, 403, 403, 403, 303]),
    (
        "POST",
        "/settings/ai",
        &[("timeout_seconds", "30")],
        [404, 403, 403, 403, 303],
    ),
    (
        "POST",
        "/orders/{approved}/ai/stop",
        &[],
        [404, 404, 404, 404, 303],
    ),
    (
        "POST",
        "/orders/{approved}/ai/resume",
        &[],
        [404, 404, 404, 404, 303],
    ),
    // Satisfaction statistics and survey settings; the merge question, a self-merge preview
    // (refused after the permission check) and a merge with a customer that does not exist.
    // The tokens module is off in a studio: the token service's pages and actions do not
    // exist there (the module first, then the permission; `tokens_web` checks them on).
    ("GET", "/queue", &[], [404, 404, 404, 404, 303]),
    ("GET", "/settings/packages", &[], [404, 404, 404, 404, 303]),
    (
        "GET",
        "/customers/{customer}/tokens",
        &[],
        [404, 404, 404, 404, 303],
    ),
    (
        "POST",
        "/customers/{customer}/tokens/adjust",
        &[("amount", "0"), ("reason", "")],
        [404, 404, 404, 404, 303],
    ),
    (
        "POST",
        "/queue/{approved}/move",
        &[("before", "")],
        [404, 404, 404, 404, 303],
    ),
    (
        "POST",
        "/orders/{approved}/rerun",
        &[],
        [404, 404, 404, 404, 303],
    ),
    (
        "POST",
        "/settings/packages",
        &[
            ("key", ""),
            ("units", "1"),
            ("price", "1"),
            ("subscriber_price", "1"),
        ],
        [404, 404, 404, 404, 303],
    ),
    // Payments are part of the tokens module: off in a studio, so their pages do not exist.
    ("GET", "/settings/payments", &[], [404, 404, 404, 404, 303]),
    ("GET", "/payments", &[], [404, 404, 404, 404, 303]),
    (
        "POST",
        "/settings/payments",
        &[("token_price", "x")],
        [404, 404, 404, 404, 303],
    ),
    ("POST", "/payments/1/refund", &[], [404, 404, 404, 404, 303]),
    ("GET", "/csat", &[], [200, 200, 403, 403, 303]),
    // The analytics dashboard (view_analytics); the package chart needs the tokens module.
    ("GET", "/analytics", &[], [200, 200, 403, 403, 303]),
    (
        "GET",
        "/analytics/revenue.csv",
        &[],
        [200, 200, 403, 403, 303],
    ),
    (
        "GET",
        "/analytics/status.csv",
        &[],
        [200, 200, 403, 403, 303],
    ),
    (
        "GET",
        "/analytics/customers.csv",
        &[],
        [200, 200, 403, 403, 303],
    ),
    (
        "GET",
        "/analytics/packages.csv",
        &[],
        [404, 404, 403, 403, 303],
    ),
    ("GET", "/analytics/pie.csv", &[], [404, 404, 404, 404, 303]),
    ("GET", "/settings/csat", &[], [200, 403, 403, 403, 303]),
    // The tokens module is off in a studio: the registration form's settings and the
    // profiles answer the permission first, then "not found".
    (
        "GET",
        "/settings/registration",
        &[],
        [404, 403, 403, 403, 303],
    ),
    (
        "POST",
        "/settings/registration",
        &[("form", "")],
        [404, 403, 403, 403, 303],
    ),
    (
        "GET",
        "/customers/{customer}/profiles/new",
        &[],
        [404, 404, 403, 403, 303],
    ),
    (
        "POST",
        "/customers/{customer}/profiles",
        &[("field.first_name", "")],
        [404, 404, 403, 403, 303],
    ),
    ("GET", "/profiles/1", &[], [404, 404, 404, 404, 303]),
    (
        "GET",
        "/profiles/not-a-number",
        &[],
        [404, 404, 404, 404, 303],
    ),
    (
        "POST",
        "/profiles/1",
        &[("field.first_name", "")],
        [404, 404, 403, 403, 303],
    ),
    (
        "POST",
        "/profiles/1/archive",
        &[("archived", "yes")],
        [404, 404, 403, 403, 303],
    ),
    (
        "GET",
        "/customers/{customer}/merge",
        &[],
        [200, 200, 403, 403, 303],
    ),
    (
        "GET",
        "/customers/{customer}/merge?absorb={customer}",
        &[],
        [422, 422, 403, 403, 303],
    ),
    (
        "POST",
        "/customers/{customer}/merge",
        &[("absorb", "424242")],
        [404, 404, 403, 403, 303],
    ),
    ("GET", "/calls", &[], [404, 404, 404, 404, 303]),
    ("GET", "/api-docs/", &[], [200, 200, 200, 200, 303]),
    (
        "GET",
        "/audit?action=order.&from=2020-01-01",
        &[],
        [200, 200, 403, 403, 303],
    ),
    ("GET", "/profile", &[], [200, 200, 200, 200, 303]),
    ("GET", "/profile/password", &[], [200, 200, 200, 200, 303]),
    ("GET", "/profile/tokens", &[], [200, 200, 200, 200, 303]),
    (
        "GET",
        "/profile/payment-details",
        &[],
        [200, 200, 200, 200, 303],
    ),
    ("GET", "/chat", &[], [200, 200, 403, 403, 303]),
    ("GET", "/chat/{customer}", &[], [200, 200, 403, 403, 303]),
    ("GET", "/chat/424242", &[], [404, 404, 403, 403, 303]),
    ("POST", "/profile/link-code", &[], [200, 200, 200, 200, 303]),
    // Canned responses (listed by who chats or manages settings) and business hours (read by
    // any staff, set with manage_settings); the composer's canned responses need the chat.
    ("GET", "/settings/canned", &[], [200, 200, 403, 403, 303]),
    (
        "GET",
        "/settings/canned/999",
        &[],
        [404, 404, 403, 403, 303],
    ),
    (
        "POST",
        "/settings/canned/999/delete",
        &[],
        [404, 403, 403, 403, 303],
    ),
    ("GET", "/settings/hours", &[], [200, 200, 200, 200, 303]),
    (
        "POST",
        "/settings/hours",
        &[("monday", "9-18")],
        [422, 403, 403, 403, 303],
    ),
    (
        "GET",
        "/chat/{customer}/canned?q=hi",
        &[],
        [200, 200, 403, 403, 303],
    ),
    // The tickets module is off in this studio: its settings page is not found for those who
    // may manage settings, and a ticket's fields cannot be set.
    ("GET", "/settings/fraud", &[], [404, 403, 403, 403, 303]),
    (
        "POST",
        "/settings/fraud",
        &[("rule.0.points", "5")],
        [404, 403, 403, 403, 303],
    ),
    (
        "POST",
        "/orders/{approved}/fields",
        &[],
        [422, 422, 422, 422, 303],
    ),
    (
        "POST",
        "/orders/{approved}/fraud/clear",
        &[("rule", "field_format"), ("note", "ok")],
        [404, 404, 403, 403, 303],
    ),
    (
        "POST",
        "/profile",
        &[("display_name", ""), ("language", "en")],
        [422, 422, 422, 422, 303],
    ),
    (
        "POST",
        "/markers",
        &[("name", "Go"), ("color", "green")],
        [422, 422, 403, 403, 303],
    ),
    (
        "POST",
        "/roles",
        &[("name", "x")],
        [422, 403, 403, 403, 303],
    ),
    (
        "POST",
        "/users",
        &[("username", "newbie"), ("role", "no-such-role")],
        [422, 403, 403, 403, 303],
    ),
    (
        "POST",
        "/users/{admin}/disable",
        &[],
        [409, 403, 403, 403, 303],
    ),
    (
        "POST",
        "/users/{admin}/enable",
        &[],
        [303, 403, 403, 403, 303],
    ),
    ("POST", "/users/999/enable", &[], [404, 403, 403, 403, 303]),
    (
        "POST",
        "/roles/1/permissions",
        &[("permission", "view_orders")],
        [409, 403, 403, 403, 303],
    ),
    (
        "POST",
        "/roles/999/permissions",
        &[("permission", "view_orders")],
        [404, 403, 403, 403, 303],
    ),
    (
        "POST",
        "/roles/{custom}/permissions",
        &[("permission", "view_orders")],
        [303, 403, 403, 403, 303],
    ),
    (
        "POST",
        "/users/{admin}/roles",
        &[("role", "no-such-role")],
        [422, 403, 403, 403, 303],
    ),
    (
        "POST",
        "/payment-methods",
        &[("name", ""), ("template", "x")],
        [422, 422, 403, 403, 303],
    ),
    (
        "POST",
        "/payment-methods/999/active",
        &[("active", "false")],
        [404, 404, 403, 403, 303],
    ),
    (
        "POST",
        "/settings",
        &[
            ("name", "Acme"),
            ("locale", "en"),
            ("currency", "dollars"),
            ("open_order_limit", "2"),
            ("commission_percent", "10"),
            ("commission_fixed", "0"),
        ],
        [422, 403, 403, 403, 303],
    ),
    (
        "POST",
        "/settings/stages/2",
        &[
            ("name_en", "Approved"),
            ("name_ru", "Одобрен"),
            ("color", "blue"),
        ],
        [422, 403, 403, 403, 303],
    ),
    (
        "POST",
        "/admin/jobs/settings",
        &[
            ("audit_retention_days", "3"),
            ("report_time", "09:00"),
            ("archive_after_days", "30"),
        ],
        [422, 403, 403, 403, 303],
    ),
    (
        "POST",
        "/admin/jobs/nightly_party/run",
        &[],
        [404, 403, 403, 403, 303],
    ),
    (
        "POST",
        "/settings/stages/999",
        &[("name_en", "X"), ("name_ru", "X"), ("color", "#000000")],
        [404, 403, 403, 403, 303],
    ),
    (
        "POST",
        "/customers/new",
        &[("first_name", "Bob")],
        [303, 303, 403, 403, 303],
    ),
    (
        "POST",
        "/orders",
        &[("customer", "1"), ("title", ""), ("description", "x")],
        [422, 422, 403, 403, 303],
    ),
    (
        "POST",
        "/orders/{pending}/reject",
        &[("reason", "")],
        [422, 422, 403, 403, 303],
    ),
    (
        "POST",
        "/orders/{approved}/approve",
        &[],
        [409, 409, 403, 403, 303],
    ),
    (
        "POST",
        "/orders/{approved}/bids",
        // A price that is no amount is refused before anything is asked of the store, for
        // every role; who may bid is checked by crm-lib (crm-lib's orders tests).
        &[("price", "lots")],
        [422, 422, 422, 422, 303],
    ),
    (
        "POST",
        "/orders/{approved}/assign",
        &[("user", "999")],
        [404, 404, 403, 403, 303],
    ),
    (
        "POST",
        "/orders/{approved}/move",
        &[("stage", "1")],
        [409, 409, 409, 409, 303],
    ),
    (
        "POST",
        "/orders/{approved}/payment",
        &[("method", "999"), ("amount", "10")],
        [409, 409, 403, 403, 303],
    ),
    (
        "POST",
        "/orders/{pending}/markers",
        &[],
        [303, 303, 404, 404, 303],
    ),
    (
        "POST",
        "/orders/{approved}/markers",
        &[("marker", "999")],
        [404, 404, 404, 404, 303],
    ),
    (
        "POST",
        "/orders/{approved}/markers",
        &[("marker", "not-a-number")],
        [422, 422, 422, 422, 303],
    ),
    (
        "POST",
        "/orders/424242/markers",
        &[],
        [404, 404, 404, 404, 303],
    ),
    (
        "POST",
        "/orders/424242/move",
        &[("stage", "2")],
        [404, 404, 404, 404, 303],
    ),
    (
        "POST",
        "/profile/payment-details/999",
        &[("details", "x")],
        [404, 404, 404, 404, 303],
    ),
    (
        "POST",
        "/profile/payment-details/1",
        &[("details", "bad\u{7}bell")],
        [422, 422, 422, 422, 303],
    ),
    (
        "POST",
        "/users/{admin}/markers",
        &[("marker", "999")],
        [404, 403, 403, 403, 303],
    ),
    (
        "POST",
        "/users/{admin}/markers",
        &[("marker", "not-a-number")],
        [422, 403, 403, 403, 303],
    ),
    (
        "POST",
        "/users/{admin}/password",
        &[],
        [409, 403, 403, 403, 303],
    ),
    (
        "POST",
        "/users/999/password",
        &[],
        [404, 403, 403, 403, 303],
    ),
    (
        "POST",
        "/markers/999",
        &[("name_en", "X"), ("color", "#000000")],
        [404, 404, 403, 403, 303],
    ),
    (
        "POST",
        "/markers/1",
        &[("name_en", ""), ("color", "#000000")],
        [422, 422, 403, 403, 303],
    ),
    (
        "POST",
        "/markers/999/delete",
        &[],
        [404, 404, 403, 403, 303],
    ),
    (
        "POST",
        "/orders/{approved}/access",
        &[("user", "999"), ("hours", "24")],
        [404, 404, 403, 403, 303],
    ),
    (
        "POST",
        "/orders/{approved}/access",
        &[("user", "1"), ("hours", "0")],
        [422, 422, 403, 403, 303],
    ),
    (
        "POST",
        "/orders/{pending}/access/999/revoke",
        &[],
        [404, 404, 403, 403, 303],
    ),
    (
        "POST",
        "/orders/{approved}/access/999/revoke",
        &[],
        [404, 404, 403, 403, 303],
    ),
    // Webhooks (SPEC 5F): managed with manage_settings only; unknown ids are not found, a
    // bad URL is refused after the permission check.
    ("GET", "/settings/webhooks", &[], [200, 403, 403, 403, 303]),
    (
        "POST",
        "/settings/webhooks",
        &[("url", "not a url"), ("event", "order.created")],
        [422, 403, 403, 403, 303],
    ),
    (
        "GET",
        "/settings/webhooks/999",
        &[],
        [404, 403, 403, 403, 303],
    ),
    (
        "POST",
        "/settings/webhooks/999",
        &[("url", "https://erp.example/"), ("event", "order.created")],
        [404, 403, 403, 403, 303],
    ),
    (
        "POST",
        "/settings/webhooks/999/rotate",
        &[],
        [404, 403, 403, 403, 303],
    ),
    (
        "POST",
        "/settings/webhooks/999/test",
        &[],
        [404, 403, 403, 403, 303],
    ),
    (
        "POST",
        "/settings/webhooks/999/delete",
        &[],
        [404, 403, 403, 403, 303],
    ),
    (
        "POST",
        "/settings/webhooks/999/deliveries/999/redeliver",
        &[],
        [404, 403, 403, 403, 303],
    ),
    // Broadcasts (issue 13): the broadcast permission (administrators and managers); unknown
    // ids are not found after the permission check, an empty title is refused after it.
    ("GET", "/broadcasts", &[], [200, 200, 403, 403, 303]),
    ("GET", "/broadcasts/new", &[], [200, 200, 403, 403, 303]),
    (
        "POST",
        "/broadcasts",
        &[("title", ""), ("text", "Hello"), ("rate_per_second", "10")],
        [422, 422, 403, 403, 303],
    ),
    ("GET", "/broadcasts/999", &[], [404, 404, 403, 403, 303]),
    (
        "GET",
        "/broadcasts/not-a-number",
        &[],
        [404, 404, 404, 404, 303],
    ),
    (
        "GET",
        "/broadcasts/999/edit",
        &[],
        [404, 404, 403, 403, 303],
    ),
    (
        "POST",
        "/broadcasts/999/edit",
        &[("title", "x"), ("text", "Hello"), ("rate_per_second", "10")],
        [404, 404, 403, 403, 303],
    ),
    (
        "GET",
        "/broadcasts/999/report.csv",
        &[],
        [404, 404, 403, 403, 303],
    ),
    (
        "POST",
        "/broadcasts/999/test",
        &[],
        [404, 404, 403, 403, 303],
    ),
    (
        "POST",
        "/broadcasts/999/schedule",
        &[("scheduled_at", "2030-01-01T10:00")],
        [404, 404, 403, 403, 303],
    ),
    (
        "POST",
        "/broadcasts/999/start",
        &[],
        [404, 404, 403, 403, 303],
    ),
    (
        "POST",
        "/broadcasts/999/pause",
        &[],
        [404, 404, 403, 403, 303],
    ),
    (
        "POST",
        "/broadcasts/999/resume",
        &[],
        [404, 404, 403, 403, 303],
    ),
    (
        "POST",
        "/broadcasts/999/cancel",
        &[],
        [404, 404, 403, 403, 303],
    ),
    (
        "POST",
        "/broadcasts/999/delete",
        &[],
        [404, 404, 403, 403, 303],
    ),
    // Projects (issue 14): the studio leaves the projects module off, so every project route
    // is not found for staff (the module is checked before the permission); the renovation
    // appliance's own test (`it::projects`) checks the permissions with the module on.
    ("GET", "/projects", &[], [404, 404, 404, 404, 303]),
    ("GET", "/projects/new", &[], [404, 404, 404, 404, 303]),
    (
        "POST",
        "/projects",
        &[("client", "1"), ("title", "")],
        [404, 404, 404, 404, 303],
    ),
    ("GET", "/projects/1", &[], [404, 404, 404, 404, 303]),
    (
        "GET",
        "/projects/not-a-number",
        &[],
        [404, 404, 404, 404, 303],
    ),
    (
        "POST",
        "/projects/1/stages",
        &[("name", "")],
        [404, 404, 404, 404, 303],
    ),
    (
        "POST",
        "/projects/1/change-requests/1/decide",
        &[("decision", "approve")],
        [404, 404, 404, 404, 303],
    ),
    (
        "POST",
        "/projects/1/state",
        &[("state", "completed")],
        [404, 404, 404, 404, 303],
    ),
];

#[tokio::test]
async fn every_route_answers_every_role_as_the_table_says() {
    let app = spawn_app();
    let administrator = admin(&app).await;
    let manager = user_with_role(&app, &administrator, "manager1", "manager").await;
    let worker = user_with_role(&app, &administrator, "worker1", "worker").await;
    let master = user_with_role(&app, &administrator, "master1", "master").await;
    let anonymous = Session {
        client: client_from(None),
        csrf: String::new(),
    };
    let customer = create_customer(&app, &administrator, "Alice").await;
    let pending = create_order(&app, &administrator, customer, "Seeded pending order").await;
    let approved = create_order(&app, &administrator, customer, "Seeded approved order").await;
    let response = post(
        &app,
        &administrator,
        &format!("/orders/{approved}/approve"),
        &[],
    )
    .await;
    assert_eq!(response.status(), 303);
    let response = post(
        &app,
        &administrator,
        "/roles",
        &[("name", "support"), ("permission", "view_orders")],
    )
    .await;
    assert_eq!(response.status(), 303);
    let roles = administrator
        .client
        .get(app.url("/roles"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    // Only custom roles have a form of their own on the roles page.
    let custom = roles
        .split("action=\"/roles/")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .unwrap()
        .to_string();

    let sessions = [&administrator, &manager, &worker, &master, &anonymous];
    let mut failures = Vec::new();
    let mut checked = 0;
    for (method, path, fields, expected) in TABLE {
        let path = path
            .replace("{pending}", &pending.to_string())
            .replace("{approved}", &approved.to_string())
            .replace("{admin}", "1")
            .replace("{customer}", &customer.to_string())
            .replace("{custom}", &custom);
        for (index, session) in sessions.iter().enumerate() {
            let response = if *method == "GET" {
                session.client.get(app.url(&path)).send().await.unwrap()
            } else {
                post(&app, session, &path, fields).await
            };
            checked += 1;
            let status = response.status().as_u16();
            if status != expected[index] {
                let body = response.text().await.unwrap_or_default();
                let excerpt: String = body.chars().take(300).collect();
                failures.push(format!(
                    "{method} {path} as {}: expected {}, got {status}: {excerpt}",
                    ROLES[index], expected[index]
                ));
            }
        }
    }
    assert_eq!(checked, TABLE.len() * ROLES.len());
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
