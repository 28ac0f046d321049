//! The staff pages as a user meets them: the order page's chat panel, its markers form and
//! the sentence an order without actions shows; re-enabling a user; changing a custom role's
//! permissions; the profile's link to the API tokens; the board as a live region.

use crate::support::spawn_app;
use crate::web_helpers::{
    self, admin, create_customer, create_order, create_user, first_login, login_with, page, post,
    sandbox_customer, user_with_role,
};

/// The id in the first form `action="{prefix}{id}{suffix}"` of a page.
fn form_id(html: &str, prefix: &str, suffix: &str) -> String {
    html.split(&format!("action=\"{prefix}"))
        .skip(1)
        .find_map(|rest| {
            let (id, _) = rest.split_once(suffix)?;
            id.bytes()
                .all(|b| b.is_ascii_digit())
                .then(|| id.to_string())
        })
        .unwrap()
}

#[tokio::test]
async fn the_order_page_shows_the_orders_chat_and_a_message_sent_there_is_about_the_order() {
    let app = spawn_app();
    let admin = admin(&app).await;
    let customer = sandbox_customer(&app, &admin, 7_100_001).await;
    let order = create_order(&app, &admin, customer, "Chat about me").await;

    let html = page(&app, &admin, &format!("/orders/{order}")).await;
    assert!(
        html.contains(&format!("data-order-chat=\"{order}\"")),
        "{html}"
    );
    assert!(html.contains("/assets/js/live.js") && html.contains("/assets/js/chat.js"));
    assert!(html.contains(&format!("action=\"/chat/{customer}\"")));
    assert!(html.contains(&format!("name=\"order\" value=\"{order}\"")));

    let form = reqwest::multipart::Form::new()
        .text("csrf", admin.csrf.clone())
        .text("text", "The design is ready for review")
        .text("order", order.to_string())
        .text("back", format!("/orders/{order}"));
    let response = admin
        .client
        .post(app.url(&format!("/chat/{customer}")))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303);
    assert_eq!(response.headers()["location"], format!("/orders/{order}"));
    let html = page(&app, &admin, &format!("/orders/{order}")).await;
    let panel = &html[html.find("data-order-chat").unwrap()..];
    assert!(panel.contains("The design is ready for review"));
    assert!(
        !panel.contains("Hello, is my order on its way?"),
        "the panel shows the messages about this order only"
    );

    // A worker without chat access sees the order but no chat panel.
    let worker = user_with_role(&app, &admin, "worker1", "worker").await;
    post(&app, &admin, &format!("/orders/{order}/approve"), &[]).await;
    let html = page(&app, &worker, &format!("/orders/{order}")).await;
    assert!(!html.contains("data-order-chat"));
}

#[tokio::test]
async fn a_rejected_order_says_it_has_no_actions_in_english_and_in_russian() {
    let app = spawn_app();
    let admin = admin(&app).await;
    let customer = create_customer(&app, &admin, "Ольга").await;
    let order = create_order(&app, &admin, customer, "Not for us").await;
    let response = post(
        &app,
        &admin,
        &format!("/orders/{order}/reject"),
        &[("reason", "Out of scope")],
    )
    .await;
    assert_eq!(response.status(), 303);

    let html = page(&app, &admin, &format!("/orders/{order}")).await;
    assert!(
        html.contains("No actions: this order is Rejected."),
        "{html}"
    );
    let response = post(
        &app,
        &admin,
        "/profile",
        &[("display_name", "Admin"), ("language", "ru")],
    )
    .await;
    assert_eq!(response.status(), 303);
    let html = page(&app, &admin, &format!("/orders/{order}")).await;
    assert!(html.contains("Действий нет: заказ в статусе «Отклонён»."));

    // An open order with nothing for this user to do says so too.
    let master = user_with_role(&app, &admin, "master1", "master").await;
    let open = create_order(&app, &admin, customer, "Someone else's").await;
    post(&app, &admin, &format!("/orders/{open}/approve"), &[]).await;
    let html = page(&app, &master, &format!("/orders/{open}")).await;
    assert!(html.contains("You have no actions on this order while it is Approved."));
}

#[tokio::test]
async fn markers_are_chosen_on_the_order_page_and_cleared_again() {
    let app = spawn_app();
    let admin = admin(&app).await;
    for (name, color) in [("Rust", "#b7410e"), ("Web", "#3b82f6")] {
        let response = post(
            &app,
            &admin,
            "/markers",
            &[("name", name), ("color", color)],
        )
        .await;
        assert_eq!(response.status(), 303, "marker {name}");
    }
    let customer = create_customer(&app, &admin, "Tagged").await;
    let order = create_order(&app, &admin, customer, "Needs tags").await;
    let path = format!("/orders/{order}");
    let html = page(&app, &admin, &path).await;
    assert!(html.contains(&format!("action=\"/orders/{order}/markers\"")));

    // The studio starts with the seed's ten markers: Rust and Web are the 11th and 12th.
    let response = post(
        &app,
        &admin,
        &format!("{path}/markers"),
        &[("marker", "11"), ("marker", "12")],
    )
    .await;
    assert_eq!(response.status(), 303);
    assert_eq!(
        response.headers()["location"],
        format!("{path}?done=markers")
    );
    let html = page(&app, &admin, &format!("{path}?done=markers")).await;
    assert!(html.contains("Markers saved."));
    assert!(
        html.contains(r#"name="marker" value="11" checked"#),
        "{html}"
    );
    assert!(html.contains(r#"name="marker" value="12" checked"#));
    assert!(html.contains("Markers changed"), "the timeline shows it");
    let listed = page(&app, &admin, "/orders?marker=12").await;
    assert!(listed.contains("Needs tags"), "the list filters by it");

    // Nothing checked clears them; a forged marker is refused and changes nothing.
    let response = post(&app, &admin, &format!("{path}/markers"), &[]).await;
    assert_eq!(response.status(), 303);
    let response = post(
        &app,
        &admin,
        &format!("{path}/markers"),
        &[("marker", "11"), ("marker", "x")],
    )
    .await;
    assert_eq!(response.status(), 422);
    let html = page(&app, &admin, &path).await;
    assert!(!html.contains(r#"name="marker" value="11" checked"#));
}

#[tokio::test]
async fn a_disabled_user_is_enabled_again_from_the_users_page_and_can_log_in() {
    let app = spawn_app();
    let admin = admin(&app).await;
    let password = create_user(&app, &admin, "returning", "worker").await;
    first_login(&app, "returning", &password).await;
    let changed = format!("{password}-changed");
    let users = page(&app, &admin, "/users").await;
    let id = form_id(&users, "/users/", "/disable\"");
    let response = post(&app, &admin, &format!("/users/{id}/disable"), &[]).await;
    assert_eq!(response.status(), 303);
    let refused = login_with(&app, &web_helpers::client_from(None), "returning", &changed).await;
    assert_eq!(refused.status(), 401);

    let users = page(&app, &admin, "/users").await;
    assert!(users.contains(&format!("action=\"/users/{id}/enable\"")));
    let response = post(&app, &admin, &format!("/users/{id}/enable"), &[]).await;
    assert_eq!(response.status(), 303);
    assert_eq!(response.headers()["location"], "/users?done=enabled");
    let users = page(&app, &admin, "/users?done=enabled").await;
    assert!(users.contains("User enabled; they can log in again."));
    assert!(!users.contains(&format!("action=\"/users/{id}/enable\"")));
    let back = login_with(&app, &web_helpers::client_from(None), "returning", &changed).await;
    assert_eq!(back.status(), 303);
}

#[tokio::test]
async fn a_custom_roles_permissions_change_on_the_roles_page_and_apply_at_once() {
    let app = spawn_app();
    let admin = admin(&app).await;
    let response = post(
        &app,
        &admin,
        "/roles",
        &[("name", "support"), ("permission", "view_orders")],
    )
    .await;
    assert_eq!(response.status(), 303);
    let roles = page(&app, &admin, "/roles").await;
    let id = form_id(&roles, "/roles/", "/permissions\"");
    assert!(
        roles.contains(&format!(r#"value="chat_customers" form="role-{id}""#)),
        "the custom role's column is editable: {roles}"
    );
    let helper = user_with_role(&app, &admin, "helper", "support").await;
    let refused = helper.client.get(app.url("/chat")).send().await.unwrap();
    assert_eq!(refused.status(), 403);

    let response = post(
        &app,
        &admin,
        &format!("/roles/{id}/permissions"),
        &[
            ("permission", "view_orders"),
            ("permission", "chat_customers"),
        ],
    )
    .await;
    assert_eq!(response.status(), 303);
    assert_eq!(response.headers()["location"], "/roles?done=role_changed");
    let allowed = helper.client.get(app.url("/chat")).send().await.unwrap();
    assert_eq!(allowed.status(), 200, "the holder's session has it at once");

    // Built-in roles stay as they are.
    let response = post(
        &app,
        &admin,
        "/roles/1/permissions",
        &[("permission", "view_orders")],
    )
    .await;
    assert_eq!(response.status(), 409);
    assert!(response.text().await.unwrap().contains("is built in"));
    let audit = page(&app, &admin, "/audit?action=role.").await;
    assert!(audit.contains("role.permissions_changed"));
    assert!(audit.contains("support: added chat_customers"));
}

#[tokio::test]
async fn the_profile_links_to_the_api_tokens_and_the_board_is_a_live_region() {
    let app = spawn_app();
    let admin = admin(&app).await;
    let profile = page(&app, &admin, "/profile").await;
    assert!(profile.contains(r#"href="/profile/tokens""#));
    page(&app, &admin, "/profile/tokens").await;
    let board = page(&app, &admin, "/board").await;
    assert!(
        board.contains(r#"id="board" data-live-refresh="order""#),
        "{board}"
    );
    let live = board.find("/assets/js/live.js").unwrap();
    let drag = board.find("/assets/js/board.js").unwrap();
    assert!(live < drag, "the live hub loads before the board script");
}

#[tokio::test]
async fn the_settings_page_switches_modules_and_sets_a_time_zone_and_refuses_an_unknown_one() {
    let app = spawn_app();
    let admin = admin(&app).await;
    let html = page(&app, &admin, "/settings").await;
    assert!(html.contains("name=\"time_zone\" value=\"UTC\""), "{html}");
    assert!(!html.contains("name=\"module_operators\" value=\"on\" checked"));
    let name = "Acme Studio";
    let base = [
        ("name", name),
        ("locale", "en"),
        ("currency", "USD"),
        ("open_order_limit", "2"),
        ("commission_percent", "10"),
        ("commission_fixed", "0"),
    ];
    let mut fields = base.to_vec();
    fields.extend([
        ("time_zone", "Europe/Berlin"),
        ("modules_shown", "1"),
        ("module_operators", "on"),
        ("module_tickets", "on"),
    ]);
    let response = post(&app, &admin, "/settings", &fields).await;
    assert_eq!(response.status(), 303);
    let html = page(&app, &admin, "/settings").await;
    assert!(
        html.contains("name=\"time_zone\" value=\"Europe/Berlin\""),
        "{html}"
    );
    assert!(html.contains("name=\"module_operators\" value=\"on\" checked"));
    assert!(html.contains("name=\"module_tickets\" value=\"on\" checked"));
    assert!(!html.contains("name=\"module_tokens\" value=\"on\" checked"));

    // An unknown zone is refused on its field and nothing changes, modules included.
    let mut fields = base.to_vec();
    fields.extend([("time_zone", "Mars/Olympus"), ("modules_shown", "1")]);
    let response = post(&app, &admin, "/settings", &fields).await;
    assert_eq!(response.status(), 422);
    let html = response.text().await.unwrap();
    assert!(html.contains("Mars/Olympus"), "{html}");
    let html = page(&app, &admin, "/settings").await;
    assert!(html.contains("name=\"time_zone\" value=\"Europe/Berlin\""));
    assert!(html.contains("name=\"module_operators\" value=\"on\" checked"));

    // A post without the switches (an older form) leaves the modules as they are.
    let response = post(&app, &admin, "/settings", &base).await;
    assert_eq!(response.status(), 303);
    let html = page(&app, &admin, "/settings").await;
    assert!(html.contains("name=\"module_tickets\" value=\"on\" checked"));
    assert!(html.contains("name=\"time_zone\" value=\"Europe/Berlin\""));
}
