//! Staff and the bot, and the whole order loop across the web and Telegram: linking with a
//! code from the web profile, new-order notifications with Approve / Reject acting with the
//! staff user's permissions, stale and forged presses, then approval, bid, assignment, stage
//! changes and chat both ways from the web, each reaching the customer in Telegram.

use serde_json::Value;

use crate::bot_support::{Sandbox, User, buttons, order_number, place_order, start_customer, text};
use crate::support::{TestApp, spawn_app};
use crate::web_helpers::{Session, admin, post};

/// Links the session's user to the simulated Telegram account `staff` with a code from the
/// profile page, and waits for the bot's confirmation.
pub async fn link(app: &TestApp, session: &Session, sandbox: &Sandbox, staff: &User) -> Value {
    let page = post(app, session, "/profile/link-code", &[])
        .await
        .text()
        .await
        .unwrap();
    let marker = "/link ";
    let start = page.find(marker).expect("the profile shows /link CODE") + marker.len();
    let code: String = page[start..].chars().take(8).collect();
    sandbox.send(staff, &format!("/link {code}")).await;
    sandbox.wait_for(staff.id, 0, "is now linked to").await
}

#[tokio::test]
async fn staff_link_telegram_with_the_code_from_their_profile() {
    let app = spawn_app();
    let sandbox = Sandbox::of(&app);
    let session = admin(&app).await;
    let staff = User::new(5_200_000_001, "Admin", "en");
    let confirmation = link(&app, &session, &sandbox, &staff).await;
    assert!(
        text(&confirmation).contains("Administrator"),
        "{confirmation:#}"
    );
    let wrong = sandbox.say(&staff, "/link ZZZZZZZZ").await;
    assert!(
        text(&wrong).contains("unknown, expired or was already used"),
        "{wrong:#}"
    );
    let info = sandbox.say(&staff, "hello").await;
    assert!(
        text(&info).contains("You are linked as Administrator"),
        "{info:#}"
    );
}

#[tokio::test]
async fn a_moderator_approves_a_new_order_from_telegram_and_the_customer_is_told() {
    let app = spawn_app();
    let sandbox = Sandbox::of(&app);
    let session = admin(&app).await;
    let staff = User::new(5_200_000_002, "Admin", "en");
    link(&app, &session, &sandbox, &staff).await;
    let customer = User::new(5_200_000_003, "Fiona", "en");
    let menu = start_customer(&sandbox, &customer, "en").await;
    let order = place_order(&sandbox, &customer, &menu, "Shop front sign", Some("800")).await;
    let notice = sandbox.wait_for(staff.id, 0, "New order #1").await;
    assert!(text(&notice).contains("Customer: Fiona"), "{notice:#}");
    assert!(
        text(&notice).contains("Budget: 800.00\u{a0}USD"),
        "{notice:#}"
    );
    assert_eq!(
        buttons(&notice),
        [format!("mod:a:{order}"), format!("mod:r:{order}")]
    );
    let customer_seen = sandbox.bot_messages(customer.id).await.len();
    let query = sandbox
        .press(
            &staff,
            notice["message_id"].as_i64().unwrap(),
            &format!("mod:a:{order}"),
        )
        .await;
    let answer = sandbox.answer_of(staff.id, &query).await;
    assert_eq!(answer["text"], "✅ Approved by Administrator");
    let told = sandbox
        .wait_for(customer.id, customer_seen, "was approved")
        .await;
    assert!(text(&told).contains("#1 “Shop front sign”"), "{told:#}");
    // The notification now says who approved it and has no buttons left.
    let edited = sandbox
        .bot_messages(staff.id)
        .await
        .into_iter()
        .find(|message| message["message_id"] == notice["message_id"])
        .unwrap();
    assert!(
        text(&edited).contains("Approved by Administrator"),
        "{edited:#}"
    );
    assert!(buttons(&edited).is_empty());
    // Pressing again, from the old message, is answered and changes nothing.
    let again = sandbox
        .press(
            &staff,
            notice["message_id"].as_i64().unwrap(),
            &format!("mod:a:{order}"),
        )
        .await;
    let answer = sandbox.answer_of(staff.id, &again).await;
    assert_eq!(
        answer["text"],
        "Order #1 is no longer waiting for moderation."
    );
    // A customer forging the staff button gets a polite no.
    let forged = sandbox
        .press(&customer, told["message_id"].as_i64().unwrap(), "mod:r:1")
        .await;
    let answer = sandbox.answer_of(customer.id, &forged).await;
    assert_eq!(
        answer["text"],
        "This Telegram account is not linked to a staff user."
    );
    let rejected = sandbox
        .bot_messages(customer.id)
        .await
        .iter()
        .filter(|message| text(message).contains("rejected"))
        .count();
    assert_eq!(rejected, 0);
}

#[tokio::test]
async fn a_moderator_rejects_from_telegram_with_a_reason_the_customer_reads() {
    let app = spawn_app();
    let sandbox = Sandbox::of(&app);
    let session = admin(&app).await;
    let staff = User::new(5_200_000_004, "Admin", "en");
    link(&app, &session, &sandbox, &staff).await;
    let customer = User::new(5_200_000_005, "Gleb", "ru");
    let menu = start_customer(&sandbox, &customer, "ru").await;
    let order = place_order(&sandbox, &customer, &menu, "Ремонт кухни", None).await;
    let notice = sandbox.wait_for(staff.id, 0, "New order #").await;
    let prompt = sandbox
        .tap(&staff, &notice, &format!("mod:r:{order}"))
        .await;
    assert!(
        text(&prompt).contains("Send the reason for rejecting order #1"),
        "{prompt:#}"
    );
    assert_eq!(buttons(&prompt), [format!("mod:d:{order}")]);
    let customer_seen = sandbox.bot_messages(customer.id).await.len();
    let done = sandbox.say(&staff, "We do not renovate kitchens").await;
    assert!(
        text(&done).contains("is rejected; the customer is told"),
        "{done:#}"
    );
    let told = sandbox
        .wait_for(customer.id, customer_seen, "отклонён")
        .await;
    assert!(
        text(&told).contains("Причина: We do not renovate kitchens"),
        "{told:#}"
    );
}

#[tokio::test]
async fn the_order_loop_in_the_web_reaches_the_customer_in_telegram_and_chat_goes_both_ways() {
    let app = spawn_app();
    let sandbox = Sandbox::of(&app);
    let session = admin(&app).await;
    let staff = User::new(5_200_000_006, "Admin", "en");
    link(&app, &session, &sandbox, &staff).await;
    let customer = User::new(5_200_000_007, "Hana", "en");
    let menu = start_customer(&sandbox, &customer, "en").await;
    let order = place_order(&sandbox, &customer, &menu, "Website", Some("2000")).await;
    let path = |action: &str| format!("/orders/{order}/{action}");

    // Approve in the web.
    let mut seen = sandbox.bot_messages(customer.id).await.len();
    let response = post(&app, &session, &path("approve"), &[]).await;
    assert!(response.status().is_redirection() || response.status().is_success());
    let approved = sandbox.wait_for(customer.id, seen, "was approved").await;
    assert!(text(&approved).contains("#1"), "{approved:#}");

    // A bid over the budget is refused; one within it notifies the assigners.
    let over = post(
        &app,
        &session,
        &path("bids"),
        &[("price", "2500"), ("comment", "")],
    )
    .await;
    assert!(!over.status().is_server_error());
    let staff_seen = sandbox.bot_messages(staff.id).await.len();
    post(
        &app,
        &session,
        &path("bids"),
        &[("price", "1800"), ("comment", "Two weeks")],
    )
    .await;
    let bid = sandbox
        .wait_for(staff.id, staff_seen, "New bid on order #1")
        .await;
    assert!(text(&bid).contains("1,800.00 USD"), "{bid:#}");

    // Assign to the bid: the customer and the assignee are told.
    seen = sandbox.bot_messages(customer.id).await.len();
    let staff_seen = sandbox.bot_messages(staff.id).await.len();
    post(&app, &session, &path("assign"), &[("bid", "1")]).await;
    let assigned = sandbox
        .wait_for(customer.id, seen, "is now working on your order")
        .await;
    assert!(text(&assigned).contains("Administrator"), "{assigned:#}");
    sandbox
        .wait_for(staff.id, staff_seen, "You were assigned order #1")
        .await;

    // Stage changes: In progress (4), Testing (5).
    for (stage, name) in [("4", "In progress"), ("5", "Testing")] {
        seen = sandbox.bot_messages(customer.id).await.len();
        post(&app, &session, &path("move"), &[("stage", stage)]).await;
        let moved = sandbox
            .wait_for(customer.id, seen, "is now at the stage")
            .await;
        assert!(text(&moved).contains(name), "{moved:#}");
    }

    // Payment details, sent from the order page, arrive with the rendered template (method 1
    // is the organization's default bank transfer; this is method 2), the amount written as
    // the customer reads it.
    let created = post(
        &app,
        &session,
        "/payment-methods",
        &[
            ("name", "IBAN transfer"),
            ("template", "Pay {amount} {currency} to IBAN DE00 1234"),
        ],
    )
    .await;
    assert!(
        !created.status().is_server_error(),
        "{:?}",
        created.text().await
    );
    seen = sandbox.bot_messages(customer.id).await.len();
    post(
        &app,
        &session,
        &path("payment"),
        &[("method", "2"), ("amount", "1800")],
    )
    .await;
    let payment = sandbox
        .wait_for(customer.id, seen, "Payment for order #1")
        .await;
    assert!(
        text(&payment).contains("Pay 1,800.00 USD to IBAN DE00 1234"),
        "{payment:#}"
    );
    assert!(
        text(&payment).contains("Method: IBAN transfer"),
        "{payment:#}"
    );

    // The customer writes (text and a photo); the web conversation shows both.
    sandbox.send(&customer, "When can I see a draft?").await;
    sandbox
        .send_file(
            &customer,
            "photo",
            "sketch.jpg",
            "image/jpeg",
            b"\xff\xd8\xff\xe0 sketch".to_vec(),
            "My sketch",
        )
        .await;
    let customer_id = {
        let deadline = std::time::Instant::now() + crate::bot_support::PATIENCE;
        loop {
            let inbox = session
                .client
                .get(app.url("/chat"))
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            if let Some(at) = inbox.find("/chat/") {
                let digits: String = inbox[at + 6..]
                    .chars()
                    .take_while(char::is_ascii_digit)
                    .collect();
                if !digits.is_empty() {
                    let page = session
                        .client
                        .get(app.url(&format!("/chat/{digits}")))
                        .send()
                        .await
                        .unwrap()
                        .text()
                        .await
                        .unwrap();
                    if page.contains("When can I see a draft?")
                        && page.contains("My sketch")
                        && page.contains("/media/")
                    {
                        break digits;
                    }
                }
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the customer's messages never reached the web: {inbox}"
            );
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    };

    // Staff answer in the web; the customer reads it in Telegram.
    seen = sandbox.bot_messages(customer.id).await.len();
    let form = reqwest::multipart::Form::new()
        .text("csrf", session.csrf.clone())
        .text("text", "Tomorrow at noon")
        .text("order", order.to_string());
    let sent = session
        .client
        .post(app.url(&format!("/chat/{customer_id}")))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert!(sent.status().is_redirection(), "{:?}", sent.text().await);
    sandbox
        .wait_for(customer.id, seen, "Tomorrow at noon")
        .await;
    let list = sandbox.say(&customer, "/orders").await;
    assert!(text(&list).contains("Testing"), "{list:#}");
    assert_eq!(order_number(text(&list)), 1);
}
