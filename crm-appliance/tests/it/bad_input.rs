//! Bad input to the staff web: oversized bodies, missing or wrong CSRF tokens, foreign
//! origins, malformed forms, unknown ids, login throttling, broken cookies. Each gets a clear
//! answer and changes nothing.

use crate::support::spawn_app;
use crate::web_helpers::{admin, client_from, create_user, login_with, post};

#[tokio::test]
async fn a_body_over_ten_megabytes_is_refused_with_413() {
    let app = spawn_app();
    let session = admin(&app).await;
    for path in ["/login", "/markers", "/orders", "/api/v1/orders"] {
        let answer = app
            .answer_to_announced_body(
                path,
                "Content-Type: application/x-www-form-urlencoded\r\n",
                10 * 1024 * 1024 + 1,
            )
            .await;
        let status = answer.lines().next().unwrap_or("");
        assert!(status.starts_with("HTTP/1.1 413"), "{path}: {status}");
    }
    // Just under the limit is read (and then refused for its content, not its size).
    let response = session
        .client
        .post(app.url("/markers"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(vec![b'a'; 1024 * 1024])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403, "no token in the body");
}

#[tokio::test]
async fn a_post_without_or_with_a_wrong_csrf_token_is_refused_and_changes_nothing() {
    let app = spawn_app();
    let session = admin(&app).await;
    let missing = session
        .client
        .post(app.url("/markers"))
        .form(&[("name", "Rust"), ("color", "#dea584")])
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 403);
    let wrong = session
        .client
        .post(app.url("/markers"))
        .form(&[
            ("csrf", "0123456789abcdef0123456789abcdef"),
            ("name", "Rust"),
            ("color", "#dea584"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 403);
    assert!(wrong.text().await.unwrap().contains("security token"));
    let page = crate::web_helpers::page(&app, &session, "/markers").await;
    assert!(!page.contains("#dea584"), "no marker was created");
}

#[tokio::test]
async fn a_post_from_another_site_is_refused_even_with_the_right_token() {
    let app = spawn_app();
    let session = admin(&app).await;
    let response = session
        .client
        .post(app.url("/markers"))
        .header("origin", "https://evil.example")
        .form(&[
            ("csrf", session.csrf.as_str()),
            ("name", "Rust"),
            ("color", "#dea584"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    let same_site = session
        .client
        .post(app.url("/markers"))
        .header("origin", format!("http://{}", app.address))
        .form(&[
            ("csrf", session.csrf.as_str()),
            ("name", "Rust"),
            ("color", "#dea584"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(
        same_site.status(),
        303,
        "the same origin with the token passes"
    );
}

#[tokio::test]
async fn a_malformed_form_is_shown_again_with_the_field_error_and_the_typed_values() {
    let app = spawn_app();
    let session = admin(&app).await;
    let response = post(
        &app,
        &session,
        "/markers",
        &[("name", "Kotlin"), ("color", "red")],
    )
    .await;
    assert_eq!(response.status(), 422);
    let page = response.text().await.unwrap();
    assert!(
        page.contains(r#"data-field="color""#),
        "the error sits by the colour field"
    );
    assert!(page.contains(r#"value="Kotlin""#), "the typed name is kept");
    let list = crate::web_helpers::page(&app, &session, "/markers").await;
    assert!(!list.contains("Kotlin"), "nothing was created");

    let response = post(
        &app,
        &session,
        "/settings",
        &[
            ("name", "Acme"),
            ("locale", "en"),
            ("currency", "USD"),
            ("open_order_limit", "many"),
            ("commission_percent", "10"),
            ("commission_fixed", "0"),
        ],
    )
    .await;
    assert_eq!(response.status(), 422);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains(r#"data-field="open_order_limit""#)
    );
}

#[tokio::test]
async fn an_unknown_order_is_a_404_page() {
    let app = spawn_app();
    let session = admin(&app).await;
    for path in [
        "/orders/424242",
        "/orders/abc",
        "/orders/99999999999999999999999",
    ] {
        let response = session.client.get(app.url(path)).send().await.unwrap();
        assert_eq!(response.status(), 404, "{path}");
        assert!(
            response.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/html")
        );
        assert!(response.text().await.unwrap().contains("404"));
    }
}

#[tokio::test]
async fn api_errors_are_json_with_a_message() {
    let app = spawn_app();
    let response = reqwest::get(app.url("/api/v1/no-such-thing"))
        .await
        .unwrap();
    assert!(response.status().is_client_error());
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .contains("json")
    );
    let body: serde_json::Value = response.json().await.unwrap();
    let message = body["error"]["message"].as_str().or(body["error"].as_str());
    assert!(message.is_some_and(|message| !message.is_empty()), "{body}");
}

#[tokio::test]
async fn a_garbage_session_cookie_leads_to_the_login_page() {
    let app = spawn_app();
    for cookie in [
        "crm_session=",
        "crm_session=zzz",
        "crm_session=0123456789abcdef0123456789abcdef",
    ] {
        let response = client_from(None)
            .get(app.url("/orders"))
            .header("cookie", cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 303, "{cookie}");
        assert!(
            response.headers()["location"]
                .to_str()
                .unwrap()
                .starts_with("/login?next=")
        );
    }
}

#[tokio::test]
async fn login_throttling_slows_an_account_and_address_but_not_other_accounts_or_the_owner_elsewhere()
 {
    let app = spawn_app();
    let session = admin(&app).await;
    let worker_password = create_user(&app, &session, "worker1", "worker").await;
    let attacker = client_from(Some("127.0.0.1".parse().unwrap()));
    for _ in 0..5 {
        let response = login_with(&app, &attacker, "admin", "not-the-password").await;
        assert_eq!(response.status(), 401);
    }
    let throttled = login_with(&app, &attacker, "admin", "not-the-password").await;
    assert_eq!(throttled.status(), 429);
    assert!(throttled.headers().contains_key("retry-after"));

    let elsewhere = client_from(Some("127.0.0.2".parse().unwrap()));
    let other = login_with(&app, &elsewhere, "worker1", &worker_password).await;
    assert_eq!(
        other.status(),
        303,
        "another account from another address still logs in"
    );
    let owner = client_from(Some("127.0.0.3".parse().unwrap()));
    let response = login_with(
        &app,
        &owner,
        "admin",
        &format!("{}-changed", app.admin_password),
    )
    .await;
    assert_eq!(
        response.status(),
        303,
        "the owner is not locked out from another address"
    );
}

#[tokio::test]
async fn logging_out_ends_the_session_on_the_server() {
    let app = spawn_app();
    let session = admin(&app).await;
    let cookie_before = session.client.get(app.url("/")).send().await.unwrap();
    assert_eq!(cookie_before.status(), 200);
    let response = post(&app, &session, "/logout", &[]).await;
    assert_eq!(response.status(), 303);
    let after = session.client.get(app.url("/")).send().await.unwrap();
    assert_eq!(after.status(), 303, "the old session no longer works");
}

#[tokio::test]
async fn disabling_a_user_ends_their_sessions_at_once() {
    let app = spawn_app();
    let session = admin(&app).await;
    let worker = crate::web_helpers::user_with_role(&app, &session, "worker1", "worker").await;
    assert_eq!(
        worker
            .client
            .get(app.url("/orders"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let response = post(&app, &session, "/users/2/disable", &[]).await;
    assert_eq!(response.status(), 303);
    let after = worker.client.get(app.url("/orders")).send().await.unwrap();
    assert_eq!(after.status(), 303, "the disabled user's session is gone");
}

#[tokio::test]
async fn a_staff_phone_is_set_on_the_users_page_and_a_bad_or_taken_one_changes_nothing() {
    let app = spawn_app();
    let session = admin(&app).await;
    crate::web_helpers::user_with_role(&app, &session, "worker1", "worker").await;
    crate::web_helpers::user_with_role(&app, &session, "worker2", "worker").await;
    let response = post(
        &app,
        &session,
        "/users/2/phone",
        &[("phone", "+7 999 123-45-67")],
    )
    .await;
    assert_eq!(response.status(), 303);
    let page = crate::web_helpers::page(&app, &session, "/users").await;
    assert!(page.contains("value=\"+79991234567\""), "{page}");
    // Not a phone: the page again with the refusal; a taken phone: a conflict.
    let response = post(&app, &session, "/users/3/phone", &[("phone", "call me")]).await;
    assert_eq!(response.status(), 422);
    let response = post(
        &app,
        &session,
        "/users/3/phone",
        &[("phone", "89991234567")],
    )
    .await;
    assert_eq!(response.status(), 409);
    assert!(response.text().await.unwrap().contains("phone"));
    let page = crate::web_helpers::page(&app, &session, "/users").await;
    assert_eq!(
        page.matches("value=\"+79991234567\"").count(),
        1,
        "only worker1 has it: {page}"
    );
    // Emptied: removed.
    let response = post(&app, &session, "/users/2/phone", &[("phone", "")]).await;
    assert_eq!(response.status(), 303);
    let page = crate::web_helpers::page(&app, &session, "/users").await;
    assert!(!page.contains("value=\"+79991234567\""), "{page}");
}
