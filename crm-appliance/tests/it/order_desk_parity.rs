//! The order desk's parity with its source (issue 10 E), end to end through the real
//! appliance: skills on the users page, beside bids and in the order page's suggestions;
//! markers renamed and deleted; delegated access given, used and revoked on the order page and
//! through the API; a password reset shown once; saved payment details in payment messages.

use serde_json::{Value, json};

use crate::bot_support::Sandbox;
use crate::staff::Api;
use crate::support::{TestApp, spawn_app};
use crate::web_helpers::{
    Session, admin, client_from, create_customer, create_order, create_user, first_login,
    login_with, page, post, sandbox_customer,
};

/// The one-time password a users page shows.
fn shown_password(html: &str) -> String {
    let marker = r#"<code class="password">"#;
    let start = html.find(marker).unwrap_or_else(|| panic!("{html}")) + marker.len();
    html[start..].split('<').next().unwrap().to_string()
}

/// The users page's row of `username`.
fn user_row(users: &str, username: &str) -> String {
    users
        .split_once(&format!("<tr><td>{username}</td>"))
        .and_then(|(_, rest)| rest.split("</tr>").next())
        .unwrap_or_else(|| panic!("no row of {username}: {users}"))
        .to_string()
}

/// The part of an order page inside `<section class="card" id="{id}">`.
fn section(html: &str, id: &str) -> String {
    html.split(&format!("id=\"{id}\""))
        .nth(1)
        .and_then(|rest| rest.split("</section>").next())
        .unwrap_or_else(|| panic!("no section {id}: {html}"))
        .to_string()
}

/// A marker chip as the pages render it.
fn chip(color: &str, name: &str) -> String {
    format!(r#"data-bg="{color}">{name}</span>"#)
}

/// An API token made on the profile page of `session`.
async fn token_of(app: &TestApp, session: &Session, name: &str) -> String {
    let html = post(app, session, "/profile/tokens", &[("name", name)])
        .await
        .text()
        .await
        .unwrap();
    let start = html
        .find("value=\"crm_")
        .unwrap_or_else(|| panic!("{html}"))
        + "value=\"".len();
    let end = html[start..].find('"').unwrap() + start;
    html[start..end].to_string()
}

async fn delete(app: &TestApp, token: &str, path: &str) -> (u16, String) {
    let response = reqwest::Client::new()
        .delete(app.url(&format!("/api/v1{path}")))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    (
        response.status().as_u16(),
        response.text().await.unwrap_or_default(),
    )
}

fn names(list: &Value, field: &str) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|item| item[field].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn skills_show_beside_bids_suggest_staff_and_follow_marker_edits_and_deletion() {
    let app = spawn_app();
    let admin = admin(&app).await;
    // The studio starts with the seed's ten markers: Python is 1, React 5, PostgreSQL 9.
    let markers = page(&app, &admin, "/markers").await;
    for name in ["Python", "JavaScript", "Svelte", "Node.js", "MongoDB"] {
        assert!(markers.contains(name), "{name}: {markers}");
    }

    // Skills chosen when the user is created, and changed later on the users page.
    let created = post(
        &app,
        &admin,
        "/users",
        &[
            ("username", "ivan"),
            ("display_name", "Ivan"),
            ("role", "worker"),
            ("marker", "1"),
            ("marker", "5"),
        ],
    )
    .await;
    assert_eq!(created.status(), 201);
    let ivan_password = shown_password(&created.text().await.unwrap());
    let olga_password = create_user(&app, &admin, "olga", "worker").await;
    let saved = post(
        &app,
        &admin,
        "/users/3/markers",
        &[("marker", "9"), ("marker", "1")],
    )
    .await;
    assert_eq!(saved.status(), 303);
    let users = page(&app, &admin, "/users").await;
    let ivan_row = user_row(&users, "ivan");
    assert!(ivan_row.contains(&chip("#3776ab", "Python")), "{ivan_row}");
    assert!(ivan_row.contains(&chip("#61dafb", "React")), "{ivan_row}");
    assert!(
        user_row(&users, "olga").contains(&chip("#336791", "PostgreSQL")),
        "{users}"
    );

    // An approved order tagged Python, React and PostgreSQL, with a bid of each.
    let customer = create_customer(&app, &admin, "Dana").await;
    let order = create_order(&app, &admin, customer, "Analytics dashboard").await;
    let path = |what: &str| format!("/orders/{order}/{what}");
    assert_eq!(
        post(&app, &admin, &path("approve"), &[]).await.status(),
        303
    );
    let tagged = post(
        &app,
        &admin,
        &path("markers"),
        &[("marker", "1"), ("marker", "5"), ("marker", "9")],
    )
    .await;
    assert_eq!(tagged.status(), 303);
    let ivan = first_login(&app, "ivan", &ivan_password).await;
    let olga = first_login(&app, "olga", &olga_password).await;
    for (who, price) in [(&ivan, "900"), (&olga, "800")] {
        let bid = post(&app, who, &path("bids"), &[("price", price)]).await;
        assert_eq!(bid.status(), 303);
    }

    let html = page(&app, &admin, &format!("/orders/{order}")).await;
    let bids = section(&html, "bids");
    let ivan_bid = bids
        .split("Ivan")
        .nth(1)
        .unwrap()
        .split("</tr>")
        .next()
        .unwrap();
    assert!(ivan_bid.contains(&chip("#61dafb", "React")), "{bids}");
    // Two matches each: by display name, Ivan before olga, each with an assign button.
    let suggested = section(&html, "suggested");
    let (at_ivan, at_olga) = (
        suggested.find("Ivan").unwrap(),
        suggested.find("olga").unwrap(),
    );
    assert!(at_ivan < at_olga, "{suggested}");
    assert!(
        suggested.contains(&chip("#336791", "PostgreSQL")),
        "{suggested}"
    );
    assert!(
        suggested.contains(r#"name="user" value="2""#),
        "{suggested}"
    );
    // A worker sees the bidders' skills, not the suggestions (they do not assign).
    let seen_by_worker = page(&app, &ivan, &format!("/orders/{order}")).await;
    assert!(!seen_by_worker.contains("id=\"suggested\""));
    assert!(
        section(&seen_by_worker, "bids").contains(&chip("#61dafb", "React")),
        "{seen_by_worker}"
    );

    // The API carries the same: skills on bids, the ranking of suggestions.
    let api = Api::new(&app, &token_of(&app, &admin, "parity").await);
    let (status, bids) = api.get(&format!("/orders/{order}/bids")).await;
    assert_eq!(status, 200, "{bids}");
    assert_eq!(
        names(&bids[0]["bidder_skills"], "name"),
        ["Python", "React"]
    );
    let (status, suggested) = api.get(&format!("/orders/{order}/suggested-staff")).await;
    assert_eq!(status, 200, "{suggested}");
    let ranked: Vec<&str> = suggested
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["user"]["username"].as_str().unwrap())
        .collect();
    assert_eq!(ranked, ["ivan", "olga"]);
    let worker_api = Api::new(&app, &token_of(&app, &ivan, "worker").await);
    let (status, refused) = worker_api
        .get(&format!("/orders/{order}/suggested-staff"))
        .await;
    assert_eq!(status, 403, "{refused}");

    // A marker renamed per language and recoloured shows so everywhere.
    let renamed = post(
        &app,
        &admin,
        "/markers/1",
        &[
            ("name_en", "Python 3"),
            ("name_ru", "Питон"),
            ("color", "#112233"),
        ],
    )
    .await;
    assert_eq!(renamed.status(), 303);
    let html = page(&app, &admin, &format!("/orders/{order}")).await;
    assert!(html.contains(&chip("#112233", "Python 3")), "{html}");
    let taken = post(
        &app,
        &admin,
        "/markers/1",
        &[("name_en", "React"), ("color", "#112233")],
    )
    .await;
    assert_eq!(taken.status(), 409);
    let refused = post(
        &app,
        &ivan,
        "/markers/1",
        &[("name_en", "Snake"), ("color", "#112233")],
    )
    .await;
    assert_eq!(refused.status(), 403);

    // Deleting React takes it off the order and off Ivan's skills.
    let deleted = post(&app, &admin, "/markers/5/delete", &[]).await;
    assert_eq!(deleted.status(), 303);
    let html = page(&app, &admin, &format!("/orders/{order}")).await;
    assert!(!html.contains(">React</span>"), "{html}");
    let users = page(&app, &admin, "/users").await;
    assert!(!user_row(&users, "ivan").contains(">React</span>"));
    let (_, read) = api.get(&format!("/orders/{order}")).await;
    assert_eq!(read["markers"], json!([1, 9]), "{read}");
    let markers = page(&app, &admin, "/markers").await;
    assert!(
        !markers.contains(">React<") && !markers.contains(" React "),
        "{markers}"
    );
}

#[tokio::test]
async fn delegated_access_is_given_used_and_revoked_from_the_order_page_and_the_api() {
    let app = spawn_app();
    let sandbox = Sandbox::of(&app);
    let admin = admin(&app).await;
    let telegram = 5_300_000_101;
    let customer = sandbox_customer(&app, &admin, telegram).await;
    let order = create_order(&app, &admin, customer, "Access rules").await;
    let path = |what: &str| format!("/orders/{order}/{what}");
    assert_eq!(
        post(&app, &admin, &path("approve"), &[]).await.status(),
        303
    );

    // A role without any permission: only a grant opens an order to its holder.
    let role = post(&app, &admin, "/roles", &[("name", "guest")]).await;
    assert_eq!(role.status(), 303);
    let guest_password = create_user(&app, &admin, "guest1", "guest").await;
    let guest = first_login(&app, "guest1", &guest_password).await;
    // A worker sees orders but may not chat with customers.
    let olga_password = create_user(&app, &admin, "olga", "worker").await;
    let olga = first_login(&app, "olga", &olga_password).await;
    let order_page = format!("/orders/{order}");
    let chat_form = format!("action=\"/chat/{customer}\"");
    let answer = guest.client.get(app.url(&order_page)).send().await.unwrap();
    assert_eq!(answer.status(), 404);
    assert!(!page(&app, &olga, &order_page).await.contains(&chat_form));

    for (user, hours) in [("2", "24"), ("3", "8")] {
        let given = post(
            &app,
            &admin,
            &path("access"),
            &[("user", user), ("hours", hours)],
        )
        .await;
        assert_eq!(given.status(), 303, "{user}");
        assert_eq!(
            given.headers()["location"],
            format!("/orders/{order}?done=access_granted").as_str()
        );
    }
    let access = section(&page(&app, &admin, &order_page).await, "access");
    assert!(
        access.contains("guest1") && access.contains("olga"),
        "{access}"
    );
    assert!(access.contains("until "), "{access}");
    assert!(
        access.contains(&format!("action=\"/orders/{order}/access/2/revoke\"")),
        "{access}"
    );

    // The guest opens the order; the worker chats about it with the customer.
    let answer = guest.client.get(app.url(&order_page)).send().await.unwrap();
    assert_eq!(answer.status(), 200);
    assert!(page(&app, &olga, &order_page).await.contains(&chat_form));
    let seen = sandbox.bot_messages(telegram).await.len();
    let form = reqwest::multipart::Form::new()
        .text("csrf", olga.csrf.clone())
        .text("text", "I will help with the database")
        .text("order", order.to_string());
    let sent = olga
        .client
        .post(app.url(&format!("/chat/{customer}")))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert!(sent.status().is_redirection(), "{:?}", sent.text().await);
    sandbox
        .wait_for(telegram, seen, "I will help with the database")
        .await;

    // Bad grants change nothing and say why.
    for (fields, status) in [
        (vec![("user", "2"), ("hours", "0")], 422),
        (vec![("user", "2"), ("hours", "2161")], 422),
        (vec![("user", "abc"), ("hours", "1")], 422),
        (vec![("user", "1"), ("hours", "1")], 409),
        (vec![("user", "999"), ("hours", "1")], 404),
    ] {
        let answer = post(&app, &admin, &path("access"), &fields).await;
        assert_eq!(answer.status(), status, "{fields:?}");
    }
    let refused = post(
        &app,
        &olga,
        &path("access"),
        &[("user", "2"), ("hours", "1")],
    )
    .await;
    assert_eq!(refused.status(), 403);

    // Revoked: the order is gone for the guest again.
    let revoked = post(&app, &admin, &path("access/2/revoke"), &[]).await;
    assert_eq!(revoked.status(), 303);
    let answer = guest.client.get(app.url(&order_page)).send().await.unwrap();
    assert_eq!(answer.status(), 404);
    let again = post(&app, &admin, &path("access/2/revoke"), &[]).await;
    assert_eq!(again.status(), 404);
    let audit = page(&app, &admin, "/audit").await;
    assert!(audit.contains("Access to the order given"), "{audit}");
    assert!(audit.contains("Access to the order taken away"), "{audit}");

    // The same through the API.
    let token = token_of(&app, &admin, "access").await;
    let api = Api::new(&app, &token);
    let (status, given) = api
        .post(
            &format!("/orders/{order}/access"),
            json!({ "user": 2, "hours": 2160 }),
        )
        .await;
    assert_eq!(status, 201, "{given}");
    assert_eq!(
        given["permissions"],
        json!(["view_orders", "chat_customers"])
    );
    assert_eq!(given["revocable"], true);
    assert!(given["expires_at"].as_str().is_some(), "{given}");
    let (status, refused) = api
        .post(
            &format!("/orders/{order}/access"),
            json!({ "user": 2, "hours": 2161 }),
        )
        .await;
    assert_eq!(status, 422, "{refused}");
    assert_eq!(refused["error"]["field"], "hours");
    let (status, listed) = api.get(&format!("/orders/{order}/access")).await;
    assert_eq!(status, 200);
    assert_eq!(names(&listed, "display_name"), ["guest1", "olga"]);
    assert_eq!(
        delete(&app, &token, &format!("/orders/{order}/access/2"))
            .await
            .0,
        204
    );
    let (status, body) = delete(&app, &token, &format!("/orders/{order}/access/2")).await;
    assert_eq!(status, 404, "{body}");
    let worker_token = token_of(&app, &olga, "worker").await;
    let (status, _) = Api::new(&app, &worker_token)
        .get(&format!("/orders/{order}/access"))
        .await;
    assert_eq!(status, 403);
}

#[tokio::test]
async fn a_reset_password_is_shown_once_and_saved_details_fill_the_payment_messages() {
    let app = spawn_app();
    let sandbox = Sandbox::of(&app);
    let admin = admin(&app).await;
    let first_password = create_user(&app, &admin, "petr", "manager").await;
    let petr = first_login(&app, "petr", &first_password).await;

    // The administrator resets Petr's password: shown once on the answer, not in a URL.
    let users = page(&app, &admin, "/users").await;
    assert!(users.contains("action=\"/users/2/password\""), "{users}");
    assert!(
        !users.contains("action=\"/users/1/password\""),
        "not one's own"
    );
    let reset = post(&app, &admin, "/users/2/password", &[]).await;
    assert_eq!(reset.status(), 200);
    let html = reset.text().await.unwrap();
    assert!(
        html.contains("New password for <strong>petr</strong>"),
        "{html}"
    );
    let new_password = shown_password(&html);
    assert_eq!(new_password.len(), 20);
    // Petr's session ended; the old password no longer works; the new one must be changed.
    let answer = petr.client.get(app.url("/orders")).send().await.unwrap();
    assert_eq!(answer.status(), 303);
    assert!(
        answer.headers()["location"]
            .to_str()
            .unwrap()
            .starts_with("/login")
    );
    let old = login_with(
        &app,
        &client_from(None),
        "petr",
        &format!("{first_password}-changed"),
    )
    .await;
    assert_eq!(old.status(), 401);
    let petr = first_login(&app, "petr", &new_password).await;
    // Nobody resets their own password here; a manager resets nobody's.
    assert_eq!(
        post(&app, &admin, "/users/1/password", &[]).await.status(),
        409
    );
    assert_eq!(
        post(&app, &petr, "/users/1/password", &[]).await.status(),
        403
    );

    // Petr saves details for the bank transfer and for a card method that asks for them.
    let card = post(
        &app,
        &admin,
        "/payment-methods",
        &[
            ("name", "Card"),
            ("template", "Pay {amount} {currency} to card {details}"),
        ],
    )
    .await;
    assert_eq!(card.status(), 303);
    let details = page(&app, &petr, "/profile/payment-details").await;
    assert!(
        details.contains("Bank transfer") && details.contains("Card"),
        "{details}"
    );
    let saved = post(
        &app,
        &petr,
        "/profile/payment-details/1",
        &[("details", "Account 40817 810 (Petr)")],
    )
    .await;
    assert_eq!(saved.status(), 303);
    assert!(
        page(&app, &petr, "/profile/payment-details")
            .await
            .contains("Account 40817 810 (Petr)")
    );
    let long = "x".repeat(1001);
    let refused = post(
        &app,
        &petr,
        "/profile/payment-details/1",
        &[("details", long.as_str())],
    )
    .await;
    assert_eq!(refused.status(), 422);
    assert!(refused.text().await.unwrap().contains("at most 1000"));

    // An order in progress for a Telegram customer.
    let telegram = 5_300_000_102;
    let customer = sandbox_customer(&app, &admin, telegram).await;
    let order = create_order(&app, &admin, customer, "Paid work").await;
    let path = |what: &str| format!("/orders/{order}/{what}");
    for (what, fields) in [
        ("approve", vec![]),
        ("assign", vec![("user", "1")]),
        ("move", vec![("stage", "4")]),
    ] {
        assert_eq!(post(&app, &admin, &path(what), &fields).await.status(), 303);
    }
    // The card asks for details Petr has not saved yet.
    let missing = post(
        &app,
        &petr,
        &path("payment"),
        &[("method", "2"), ("amount", "900")],
    )
    .await;
    assert_eq!(missing.status(), 409);
    let saved = post(
        &app,
        &petr,
        "/profile/payment-details/2",
        &[("details", "4000 1234 5678 9010")],
    )
    .await;
    assert_eq!(saved.status(), 303);
    let seen = sandbox.bot_messages(telegram).await.len();
    for method in ["2", "1"] {
        let sent = post(
            &app,
            &petr,
            &path("payment"),
            &[("method", method), ("amount", "900")],
        )
        .await;
        assert_eq!(sent.status(), 303, "method {method}");
    }
    let card = sandbox
        .wait_for(telegram, seen, "to card 4000 1234 5678 9010")
        .await;
    assert!(
        card["text"].as_str().unwrap().contains("900,00 USD"),
        "{card}"
    );
    let bank = sandbox
        .wait_for(telegram, seen, "Account 40817 810 (Petr)")
        .await;
    assert!(
        bank["text"]
            .as_str()
            .unwrap()
            .contains(&format!("Order {order}")),
        "the bank template and then the details: {bank}"
    );
}
