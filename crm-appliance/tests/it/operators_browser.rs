//! The operators module in a real browser (headless chromium, see [`crate::webdriver`]): two
//! operators of one department online in two browser sessions; the one holding a customer's
//! conversation goes offline with the header's switch, and the conversation moves to the
//! other, whose open conversation page shows it without a reload (the `/events` stream and
//! `live.js` refreshing the assignment panel).

use serde_json::json;

use crate::browser::{log_in, not_reloaded, open_live, submit, wait_until};
use crate::staff::Api;
use crate::support::spawn_app_with;
use crate::web_helpers;
use crate::webdriver::{browser_named, start_driver};

#[tokio::test]
async fn an_operator_going_offline_hands_the_conversation_to_the_other_live_in_their_browser() {
    let app = spawn_app_with(&["--template", "helpdesk"]);
    // Two operators, set up over HTTP (their forced password change included), in one
    // department, both online.
    let admin = web_helpers::admin(&app).await;
    let manager_password = web_helpers::create_user(&app, &admin, "manager1", "operator").await;
    let manager = web_helpers::first_login(&app, "manager1", &manager_password).await;
    let token = crate::staff::login(&app, "admin", &format!("{}-changed", app.admin_password))
        .await
        .create_token("setup")
        .await;
    let api = Api::new(&app, &token);
    let (status, support) = api.post("/departments", json!({"name": "Support"})).await;
    assert_eq!(status, 201, "{support}");
    for user in [1, 2] {
        let (status, body) = api
            .post(
                &format!("/departments/{}/members", support["id"]),
                json!({"user": user}),
            )
            .await;
        assert_eq!(status, 200, "{body}");
    }
    for session in [&admin, &manager] {
        let response =
            web_helpers::post(&app, session, "/operators/status", &[("status", "online")]).await;
        assert_eq!(response.status(), 303);
    }
    // A customer writes: the conversation goes to one of them.
    let customer = web_helpers::sandbox_customer(&app, &admin, 7_800_001).await;
    let (status, conversation) = api
        .get(&format!("/customers/{customer}/conversation"))
        .await;
    assert_eq!(status, 200, "{conversation}");
    let holder = conversation["item"]["assignee"].as_u64().unwrap();
    let other = 3 - holder;
    let (holder_login, other_login) = if holder == 1 {
        (
            ("admin", format!("{}-changed", app.admin_password)),
            ("manager1", format!("{manager_password}-changed")),
        )
    } else {
        (
            ("manager1", format!("{manager_password}-changed")),
            ("admin", format!("{}-changed", app.admin_password)),
        )
    };

    let driver = start_driver().await;
    let first = browser_named(&driver, "holder").await;
    let second = browser_named(&driver, "other").await;
    log_in(&first, &app, holder_login.0, &holder_login.1).await;
    log_in(&second, &app, other_login.0, &other_login.1).await;

    // The other operator watches the conversation; its panel names the holder.
    let path = format!("/chat/{customer}");
    open_live(&second, &app, &path).await;
    let assignee_is = "const dd = document.querySelector('#operator-panel [data-assignee]'); \
                       return !!dd && dd.getAttribute('data-assignee') === String(arguments[0]);";
    wait_until(
        &second,
        assignee_is,
        vec![holder.into()],
        "the holder, before",
    )
    .await;

    // The holder goes offline with the header's switch.
    // (A query the redirect back drops, so that `submit` sees the page change.)
    first.goto(&app.url("/?switch")).await.unwrap();
    first
        .execute(
            "document.querySelector('form.operator-status select').value = 'offline'; return true",
            vec![],
        )
        .await
        .unwrap();
    submit(&first, "form.operator-status button[type=submit]").await;
    let status = first
        .execute(
            "return document.querySelector('form.operator-status').getAttribute('data-status')",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(status, "offline");

    // The other operator's page shows the conversation as theirs, without a reload.
    wait_until(
        &second,
        assignee_is,
        vec![other.into()],
        "the other operator, live",
    )
    .await;
    assert!(
        not_reloaded(&second).await,
        "the panel was refreshed in place"
    );

    first.close().await.unwrap();
    second.close().await.unwrap();
}
