//! Calls through the real appliance: Zadarma's webhook (`zd_echo`, signed notifications,
//! refusals that store nothing, repeats), the customer timeline page, the PBX settings page,
//! the calls API and the Swagger UI page.

use crm_lib::calls::{ZadarmaNotification, sign_notification};
use crm_lib::model::CallEvent;

use crate::staff::{Api, Browser, login_admin};
use crate::support::{TestApp, spawn_app, spawn_app_with};

const SECRET: &str = "appliance-zadarma-secret";

/// Sets the Zadarma secret through the settings page.
async fn set_secret(admin: &Browser, secret: &str) {
    let response = admin
        .post_form("/settings/calls/secret", &[("secret", secret)])
        .await;
    assert_eq!(response.status(), 303, "saving the secret");
}

fn start(pbx: &str, caller: &str) -> (ZadarmaNotification, String) {
    sign_notification(
        SECRET,
        CallEvent::Start,
        &[
            ("call_start", "2026-12-05 10:00:00"),
            ("pbx_call_id", pbx),
            ("caller_id", caller),
            ("called_did", "74950000000"),
        ],
    )
}

/// Posts a notification as Zadarma does: form-encoded, the signature in `Signature`.
async fn post_notification(
    app: &TestApp,
    (notification, signature): (ZadarmaNotification, String),
) -> reqwest::StatusCode {
    reqwest::Client::new()
        .post(app.url("/webhooks/zadarma"))
        .header("Signature", signature)
        .form(notification.fields())
        .send()
        .await
        .unwrap()
        .status()
}

#[tokio::test]
async fn the_webhook_echoes_zd_echo_refuses_bad_signatures_storing_nothing_and_ignores_repeats() {
    // The helpdesk template switches the tickets module (calls) on.
    let app = spawn_app_with(&["--template", "helpdesk"]);
    let admin = login_admin(&app).await;
    let echo = reqwest::get(app.url("/webhooks/zadarma?zd_echo=Ab12-xyz"))
        .await
        .unwrap();
    assert_eq!(echo.status(), 200);
    assert_eq!(echo.text().await.unwrap(), "Ab12-xyz");

    // Before a secret is set, and with a wrong one, nothing is stored.
    assert_eq!(
        post_notification(&app, start("in_1", "79160000001")).await,
        401
    );
    set_secret(&admin, SECRET).await;
    let (notification, _) = start("in_1", "79160000001");
    let forged = sign_notification("not the secret", CallEvent::Start, &[]).1;
    assert_eq!(
        post_notification(&app, (notification.clone(), forged)).await,
        401
    );
    assert_eq!(
        post_notification(&app, (notification, String::new())).await,
        401
    );
    let token = admin.create_token("calls").await;
    let api = Api::new(&app, &token);
    let (status, calls) = api.get("/calls").await;
    assert_eq!(status, 200, "{calls}");
    assert_eq!(calls["items"].as_array().unwrap().len(), 0, "{calls}");

    // Signed as documented: stored once, whatever the repeats.
    assert_eq!(
        post_notification(&app, start("in_1", "79160000001")).await,
        200
    );
    assert_eq!(
        post_notification(&app, start("in_1", "79160000001")).await,
        200
    );
    let (_, calls) = api.get("/calls").await;
    let items = calls["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{calls}");
    assert_eq!(items[0]["phone"], "+79160000001");
    assert_eq!(items[0]["direction"], "inbound");
    assert_eq!(items[0]["new_customer"], true);
    let id = items[0]["id"].as_u64().unwrap();
    let customer = items[0]["customer"].as_u64().unwrap();
    let (status, call) = api.get(&format!("/calls/{id}")).await;
    assert_eq!(status, 200);
    assert_eq!(call["pbx_call_id"], "in_1");

    // A malformed notification (a caller without a number) is 400 and stores nothing.
    assert_eq!(
        post_notification(&app, start("in_2", "anonymous")).await,
        400
    );
    let (_, calls) = api.get("/calls").await;
    assert_eq!(calls["items"].as_array().unwrap().len(), 1);

    // The timeline: the API and the page.
    let (status, timeline) = api.get(&format!("/customers/{customer}/timeline")).await;
    assert_eq!(status, 200, "{timeline}");
    assert_eq!(timeline["unknown_caller"], true);
    assert_eq!(timeline["items"][0]["kind"], "call");
    let page = admin.get_text(&format!("/customers/{customer}")).await;
    assert!(page.contains("+79160000001"), "{page}");
    assert!(page.contains("Unknown caller"), "{page}");
    assert!(page.contains("data-live-refresh=\"order message call\""));

    // The audit API, filtered by action and subject.
    let (status, audit) = api
        .get(&format!("/audit?action=call.&subject=call%20{id}"))
        .await;
    assert_eq!(status, 200, "{audit}");
    let entries = audit["items"].as_array().unwrap();
    assert_eq!(entries.len(), 1, "{audit}");
    assert_eq!(entries[0]["action"], "call.recorded");
    let (status, _) = api.get("/audit?actor=nobody").await;
    assert_eq!(status, 422);

    // The secret is never shown back, nor logged.
    let settings = admin.get_text("/settings/calls").await;
    assert!(!settings.contains(SECRET));
    assert!(settings.contains("…cret"), "the last characters only");
    let printed = app.output.lock().unwrap().join("\n");
    assert!(!printed.contains(SECRET), "the secret is never logged");
}

#[tokio::test]
async fn swagger_ui_shows_the_api_to_logged_in_staff_only() {
    let app = spawn_app();
    let anonymous = app.client();
    let response = anonymous.get(app.url("/api-docs/")).send().await.unwrap();
    assert_eq!(response.status(), 303, "to the login page");
    let admin = login_admin(&app).await;
    let page = admin.get_text("/api-docs/").await;
    assert!(page.contains("swagger-ui-bundle.js"), "{page}");
    assert!(!page.contains("<script>"), "no inline script");
    let initializer = admin.get_text("/api-docs/swagger-initializer.js").await;
    assert!(
        initializer.contains("/api/v1/openapi.json"),
        "{initializer}"
    );
    let bundle = admin.get("/api-docs/swagger-ui-bundle.js").await;
    assert_eq!(bundle.status(), 200);
}

#[tokio::test]
async fn with_the_tickets_module_off_the_webhook_and_the_calls_api_answer_404() {
    // The studio template leaves the tickets module off.
    let app = spawn_app();
    let echo = reqwest::get(app.url("/webhooks/zadarma?zd_echo=abc"))
        .await
        .unwrap();
    assert_eq!(echo.status(), 404);
    assert_eq!(
        post_notification(&app, start("in_1", "79160000001")).await,
        404
    );
    let admin = login_admin(&app).await;
    let token = admin.create_token("calls").await;
    let (status, body) = Api::new(&app, &token).get("/calls").await;
    assert_eq!(status, 404, "{body}");
    let settings = admin.get("/settings/calls").await;
    assert_eq!(settings.status(), 404);
    // Nor is there a call list, or a menu entry for it.
    assert_eq!(admin.get("/calls").await.status(), 404);
    let dashboard = admin.get_text("/").await;
    assert!(!dashboard.contains("href=\"/calls\""), "{dashboard}");
}

#[tokio::test]
async fn the_call_list_page_shows_signed_calls_filtered_and_only_to_readers_of_calls() {
    use crate::web_helpers::{self, post, user_with_role};
    let app = spawn_app_with(&["--template", "helpdesk"]);
    let admin = web_helpers::admin(&app).await;
    let saved = post(
        &app,
        &admin,
        "/settings/calls/secret",
        &[("secret", SECRET)],
    )
    .await;
    assert_eq!(saved.status(), 303);
    for (pbx, caller) in [("in_1", "79160000001"), ("in_2", "79160000002")] {
        assert_eq!(post_notification(&app, start(pbx, caller)).await, 200);
    }
    let outbound = sign_notification(
        SECRET,
        CallEvent::OutStart,
        &[
            ("call_start", "2026-12-05 11:00:00"),
            ("pbx_call_id", "out_1"),
            ("internal", "100"),
            ("destination", "79160000003"),
        ],
    );
    assert_eq!(post_notification(&app, outbound).await, 200);
    let get = |session: &web_helpers::Session, path: &str| {
        let request = session.client.get(app.url(path));
        async move { request.send().await.unwrap() }
    };
    let text = |session: &web_helpers::Session, path: &str| {
        let request = session.client.get(app.url(path));
        let path = path.to_string();
        async move {
            let response = request.send().await.unwrap();
            assert_eq!(response.status(), 200, "GET {path}");
            response.text().await.unwrap()
        }
    };

    // Every call, newest first, each customer linked to their timeline; in the menu; live.
    let page = text(&admin, "/calls").await;
    let at = |phone: &str| page.find(&format!("<td>{phone}</td>")).unwrap();
    assert!(at("+79160000003") < at("+79160000002") && at("+79160000002") < at("+79160000001"));
    assert!(page.contains("href=\"/calls\""), "the menu entry: {page}");
    assert!(page.contains("data-live-refresh=\"call\""), "{page}");
    assert!(page.contains("href=\"/customers/"), "{page}");
    assert!(
        page.contains("2026-12-05 11:00"),
        "the start on the organization's clock"
    );

    // Filtered by direction, and by local days.
    let outbound = text(&admin, "/calls?direction=outbound").await;
    assert!(outbound.contains("+79160000003") && !outbound.contains("+79160000001"));
    let later = text(&admin, "/calls?from=2026-12-06").await;
    assert!(!later.contains("+7916000000"), "{later}");
    assert!(later.contains("No calls match."), "{later}");
    let that_day = text(
        &admin,
        "/calls?from=2026-12-05&to=2026-12-05&direction=inbound",
    )
    .await;
    assert!(that_day.contains("+79160000001") && that_day.contains("+79160000002"));
    assert!(!that_day.contains("+79160000003"));

    // One customer's calls, reached from their timeline.
    let timeline = text(&admin, "/customers/1").await;
    assert!(
        timeline.contains("href=\"/calls?customer=1\""),
        "{timeline}"
    );
    let theirs = text(&admin, "/calls?customer=1").await;
    assert!(theirs.contains("Customer: +79160000001"), "{theirs}");
    assert!(theirs.contains("<td>+79160000001</td>") && !theirs.contains("<td>+79160000002</td>"));

    // Bad filters are refused, naming nothing that changed.
    for bad in [
        "/calls?direction=sideways",
        "/calls?from=05.12.2026",
        "/calls?after=x",
    ] {
        assert_eq!(get(&admin, bad).await.status(), 422, "{bad}");
    }

    // A role that reads neither orders nor customers sees no calls and no menu entry.
    let role = post(&app, &admin, "/roles", &[("name", "guest")]).await;
    assert_eq!(role.status(), 303);
    let guest = user_with_role(&app, &admin, "guest1", "guest").await;
    assert_eq!(get(&guest, "/calls").await.status(), 403);
    let menu = text(&guest, "/profile").await;
    assert!(!menu.contains("href=\"/calls\""), "{menu}");
}
