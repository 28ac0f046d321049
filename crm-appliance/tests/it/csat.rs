//! Satisfaction surveys and contact merge through the running appliance: a delivered order
//! asks the customer in the sandbox's Telegram chat for 1-5 stars and a comment, which the
//! statistics page and the API show; two customers are merged through the customer page's
//! preview and confirm, and the API's dry run changes nothing.

use serde_json::json;

use crate::bot_support::{Sandbox, User, buttons, text};
use crate::staff::{Api, hidden_value, login_admin};
use crate::support::spawn_app;

#[tokio::test]
async fn a_delivered_order_asks_for_stars_and_a_comment_that_the_statistics_show() {
    let app = spawn_app();
    let sandbox = Sandbox::of(&app);
    let admin = login_admin(&app).await;
    let api = Api::new(&app, &admin.create_token("csat").await);
    let vera = User::new(5_300_000_001, "Vera", "en");
    let greeting = sandbox.say(&vera, "/start").await;
    sandbox.tap(&vera, &greeting, "lang:en").await;
    let (status, customers) = api.get("/customers").await;
    assert_eq!(status, 200, "{customers}");
    let customer = customers["items"][0]["id"].as_u64().unwrap();

    let (status, order) = api
        .post(
            "/orders",
            json!({"customer": customer, "title": "Bakery bot", "description": "Menu", "budget": "1500"}),
        )
        .await;
    assert_eq!(status, 201, "{order}");
    let id = order["id"].as_u64().unwrap();
    let (status, body) = api.post(&format!("/orders/{id}/approve"), json!({})).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = api
        .post(&format!("/orders/{id}/assign"), json!({"user": 1}))
        .await;
    assert_eq!(status, 200, "{body}");
    let before = sandbox.bot_messages(vera.id).await.len();
    for stage in ["in_progress", "testing", "completed", "delivered"] {
        let (status, body) = api
            .post(&format!("/orders/{id}/move"), json!({"stage": stage}))
            .await;
        assert_eq!(status, 200, "{stage}: {body}");
    }

    // The survey: the question with five star buttons.
    let survey = sandbox.wait_for(vera.id, before, "Rate us").await;
    assert!(text(&survey).contains(&format!("#{id}")), "{survey:#}");
    let stars: Vec<String> = (1..=5).map(|n| format!("cs:{id}:{n}")).collect();
    assert_eq!(buttons(&survey), stars);
    let prompt = sandbox.tap(&vera, &survey, &format!("cs:{id}:4")).await;
    assert!(text(&prompt).contains("comment"), "{prompt:#}");
    assert_eq!(buttons(&prompt), [format!("cs:{id}:s")]);
    let thanks = sandbox.say(&vera, "Fast and friendly").await;
    assert!(text(&thanks).contains("Thank you"), "{thanks:#}");
    // A second press of the old survey changes nothing.
    let after = sandbox.bot_messages(vera.id).await.len();
    let query = sandbox
        .press(
            &vera,
            survey["message_id"].as_i64().unwrap(),
            &format!("cs:{id}:1"),
        )
        .await;
    let answer = sandbox.answer_of(vera.id, &query).await;
    assert!(answer.to_string().contains("already"), "{answer:#}");
    assert_eq!(sandbox.bot_messages(vera.id).await.len(), after);

    // The statistics page and the API show the rating for the assignee.
    let page = admin.get_text("/csat").await;
    assert!(page.contains("Fast and friendly"), "{page}");
    assert!(page.contains("4.00"), "{page}");
    let (status, stats) = api.get("/csat").await;
    assert_eq!(status, 200, "{stats}");
    assert_eq!(stats["total"]["count"], 1, "{stats}");
    assert_eq!(stats["total"]["distribution"], json!([0, 0, 0, 1, 0]));
    assert_eq!(stats["operators"][0]["user"], 1, "{stats}");
    assert_eq!(stats["recent"][0]["comment"], "Fast and friendly");
}

#[tokio::test]
async fn two_customers_merge_through_the_preview_and_the_confirm_button() {
    let app = spawn_app();
    let admin = login_admin(&app).await;
    let api = Api::new(&app, &admin.create_token("merge").await);
    let on_telegram = api.customer(7101, "Vera").await;
    let (status, caller) = api
        .post(
            "/customers",
            json!({"first_name": "Vera", "last_name": "Petrova", "phone": "+79160000002"}),
        )
        .await;
    assert_eq!(status, 201, "{caller}");
    let caller = caller["id"].as_u64().unwrap();
    let (status, order) = api
        .post(
            "/orders",
            json!({"customer": caller, "title": "Phone order", "description": "By phone", "budget": "100"}),
        )
        .await;
    assert_eq!(status, 201, "{order}");

    // The API's dry run says what would move and changes nothing.
    let (status, dry) = api
        .post(
            &format!("/customers/{on_telegram}/merge"),
            json!({"absorb": caller, "dry_run": true}),
        )
        .await;
    assert_eq!(status, 200, "{dry}");
    assert_eq!(dry["orders"], 1, "{dry}");
    assert_eq!(dry["customer"]["phone"], "+79160000002", "{dry}");
    let (status, self_merge) = api
        .post(
            &format!("/customers/{on_telegram}/merge"),
            json!({"absorb": on_telegram}),
        )
        .await;
    assert_eq!(status, 422, "{self_merge}");

    // The customer page offers the merge; the preview lists what moves.
    let timeline = admin.get_text(&format!("/customers/{on_telegram}")).await;
    assert!(timeline.contains("id=\"merge-form\""), "{timeline}");
    // The API finds the caller by a part of their phone number too.
    let (status, found) = api.get("/customers?q=916%20000%200002").await;
    assert_eq!(status, 200, "{found}");
    assert_eq!(found["items"][0]["id"], caller, "{found}");
    assert_eq!(found["items"].as_array().unwrap().len(), 1, "{found}");
    let (status, empty) = api.get("/customers?q=%20").await;
    assert_eq!(status, 422, "{empty}");
    // Staff find the caller by a part of their phone number: one match, straight to its
    // preview (the customer kept is never offered).
    let preview = admin
        .get_text(&format!("/customers/{on_telegram}/merge?q=916+000+0002"))
        .await;
    assert!(preview.contains("data-count=\"orders\""), "{preview}");
    let nobody = admin
        .get_text(&format!(
            "/customers/{on_telegram}/merge?q=nobody-like-this"
        ))
        .await;
    assert!(nobody.contains("id=\"merge-none\""), "{nobody}");
    let preview = admin
        .get_text(&format!("/customers/{on_telegram}/merge?absorb={caller}"))
        .await;
    assert!(preview.contains("data-count=\"orders\""), "{preview}");
    assert!(preview.contains("+79160000002"), "{preview}");
    let absorb = hidden_value(&preview, "absorb").unwrap();
    let done = admin
        .post_form(
            &format!("/customers/{on_telegram}/merge"),
            &[("absorb", absorb.as_str())],
        )
        .await;
    assert_eq!(done.status(), 303);
    let (status, merged) = api.get(&format!("/customers/{on_telegram}")).await;
    assert_eq!(status, 200);
    assert_eq!(merged["phone"], "+79160000002", "{merged}");
    assert_eq!(merged["last_name"], "Petrova", "{merged}");
    let (status, gone) = api.get(&format!("/customers/{caller}")).await;
    assert_eq!(status, 404, "{gone}");
    let (status, orders) = api
        .get(&format!("/orders?customer={on_telegram}&limit=10"))
        .await;
    assert_eq!(status, 200, "{orders}");
    assert_eq!(orders["items"].as_array().unwrap().len(), 1, "{orders}");
    // Without the CSRF token nothing happens.
    let forged = admin
        .client
        .post(app.url(&format!("/customers/{on_telegram}/merge")))
        .form(&[("absorb", "999")])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 403);
}
