//! The token service through the running appliance (issue 13), on one service appliance: a
//! customer orders a package in the sandbox's Telegram chat with buttons only (the balance
//! checked, the add-on priced, the place in the queue told), Premium bought from the balance
//! puts the next order first at the subscriber price, a cancellation refunds once, a
//! completed order runs again from the order's details; staff adjust balances on the ledger
//! page (a reason required), reorder the queue and edit packages, with the API's figures the
//! same.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::bot_support::{Sandbox, User, buttons, start_customer, text};
use crate::operators::customer_id;
use crate::staff::{Api, Browser, login_admin};
use crate::support::{TestApp, spawn_app_with};

/// Waits until the bot's message `message_id` in `user`'s chat reads `needle` (an edit in
/// place) or a new message does, and returns it.
async fn shown(
    sandbox: &Sandbox,
    user: &User,
    message_id: i64,
    after: usize,
    needle: &str,
) -> Value {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let messages = sandbox.bot_messages(user.id).await;
        let found = messages.iter().enumerate().find(|(index, message)| {
            (message["message_id"] == message_id || *index >= after)
                && text(message).contains(needle)
        });
        if let Some((_, message)) = found {
            return message.clone();
        }
        assert!(
            Instant::now() < deadline,
            "no message reading {needle:?}: {messages:#?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Presses `data` on `message` and returns the message once it (or a new one) reads `needle`.
async fn press(sandbox: &Sandbox, user: &User, message: &Value, data: &str, needle: &str) -> Value {
    let after = sandbox.bot_messages(user.id).await.len();
    let id = message["message_id"].as_i64().unwrap();
    sandbox.press(user, id, data).await;
    shown(sandbox, user, id, after, needle).await
}

/// The service appliance, its admin in the browser and on the API.
async fn service() -> (TestApp, Browser, Api) {
    let app = spawn_app_with(&["--template", "service"]);
    let admin = login_admin(&app).await;
    let api = Api::new(&app, &admin.create_token("tokens").await);
    (app, admin, api)
}

async fn balance(api: &Api, customer: u64) -> i64 {
    let (status, ledger) = api.get(&format!("/customers/{customer}/tokens")).await;
    assert_eq!(status, 200, "{ledger}");
    ledger["balance"].as_i64().unwrap()
}

async fn move_to(api: &Api, order: u64, stage: &str) {
    let (status, body) = api
        .post(&format!("/orders/{order}/move"), json!({"stage": stage}))
        .await;
    assert_eq!(status, 200, "{stage}: {body}");
}

#[tokio::test]
async fn a_customer_orders_packages_with_buttons_buys_premium_and_runs_a_completed_order_again() {
    let (app, admin, api) = service().await;
    let sandbox = Sandbox::of(&app);
    let sarah = User::new(5_400_000_001, "Sarah", "en");
    let menu = start_customer(&sandbox, &sarah, "en").await;
    assert!(buttons(&menu).contains(&"tok:m".to_string()), "{menu:#}");
    let customer = customer_id(&api, sarah.id).await;

    // No tokens yet: the package's quote says what is missing and offers no Confirm.
    let packages = press(&sandbox, &sarah, &menu, "m:new", "Choose a package").await;
    assert_eq!(
        buttons(&packages).len(),
        10,
        "nine packages and Back: {packages:#}"
    );
    assert!(text(&packages).contains("Choose a package"));
    let quote = press(
        &sandbox,
        &sarah,
        &packages,
        "tok:q:1:0",
        "Total: 100 tokens",
    )
    .await;
    assert!(
        text(&quote).contains("You need 100 more tokens"),
        "{quote:#}"
    );
    assert!(
        !buttons(&quote).contains(&"tok:c:1:0:0".to_string()),
        "{quote:#}"
    );
    // A stale Confirm pressed anyway is refused with the reason, and nothing is ordered.
    let query = sandbox
        .press(&sarah, quote["message_id"].as_i64().unwrap(), "tok:c:1:0")
        .await;
    let answer = sandbox.answer_of(sarah.id, &query).await;
    assert!(
        answer["text"].as_str().unwrap().contains("does not cover"),
        "{answer:#}"
    );

    // Staff credit 800 tokens with a reason: the customer is told.
    let (status, entry) = api
        .post(
            &format!("/customers/{customer}/tokens"),
            json!({"kind": "adjustment", "amount": 800, "reason": "Paid by bank transfer"}),
        )
        .await;
    assert_eq!(status, 201, "{entry}");
    assert_eq!(entry["balance_after"], 800);
    sandbox.wait_for(sarah.id, 0, "adjusted by +800").await;

    // The add-on toggled in place, then the order placed: 150 tokens, first in the queue.
    let quote = press(&sandbox, &sarah, &quote, "tok:q:1:0", "your balance: 800").await;
    assert!(
        buttons(&quote).contains(&"tok:c:1:0:0".to_string()),
        "{quote:#}"
    );
    let quote = press(&sandbox, &sarah, &quote, "tok:q:1:1", "Total: 150 tokens").await;
    let placed = press(&sandbox, &sarah, &quote, "tok:c:1:1", "is placed").await;
    assert!(
        text(&placed).contains("150 tokens charged, 650 left"),
        "{placed:#}"
    );
    assert!(
        text(&placed).contains("Place in the queue: 1"),
        "{placed:#}"
    );
    let first = crate::bot_support::order_number(text(&placed));
    let (status, side) = api.get(&format!("/orders/{first}/tokens")).await;
    assert_eq!(status, 200, "{side}");
    assert_eq!(
        (side["cost"].as_u64(), side["position"].as_u64()),
        (Some(150), Some(1))
    );

    // A second regular order waits behind it; then Premium (500) puts the third order first,
    // at the subscriber price.
    let menu = sandbox.say(&sarah, "/tokens").await;
    assert!(text(&menu).contains("650 tokens"), "{menu:#}");
    let packages = press(&sandbox, &sarah, &menu, "tok:n", "Choose a package").await;
    let quote = press(&sandbox, &sarah, &packages, "tok:q:1:0", "Total: 100").await;
    let second = press(&sandbox, &sarah, &quote, "tok:c:1:0", "is placed").await;
    assert!(
        text(&second).contains("Place in the queue: 2"),
        "{second:#}"
    );
    let offer = press(
        &sandbox,
        &sarah,
        &second,
        "tok:s",
        "Premium for 30 days costs 500",
    )
    .await;
    let subscribed = press(
        &sandbox,
        &sarah,
        &offer,
        "tok:sy",
        "Premium is active until",
    )
    .await;
    assert!(
        text(&subscribed).contains("Balance: 50 tokens"),
        "{subscribed:#}"
    );
    let error = sandbox
        .press(&sarah, subscribed["message_id"].as_i64().unwrap(), "tok:sy")
        .await;
    let answer = sandbox.answer_of(sarah.id, &error).await;
    assert!(
        answer["text"].as_str().unwrap().contains("does not cover"),
        "{answer:#}"
    );
    let (_, credit) = api
        .post(
            &format!("/customers/{customer}/tokens"),
            json!({"kind": "bonus", "amount": 100, "reason": "Welcome"}),
        )
        .await;
    assert_eq!(credit["balance_after"], 150);
    let packages = press(
        &sandbox,
        &sarah,
        &subscribed,
        "tok:n",
        "your Premium prices",
    )
    .await;
    assert!(text(&packages).contains("Premium prices"), "{packages:#}");
    let quote = press(&sandbox, &sarah, &packages, "tok:q:1:0", "Total: 60 tokens").await;
    assert!(
        text(&quote).contains("Premium saves you 40 tokens"),
        "{quote:#}"
    );
    let third = press(&sandbox, &sarah, &quote, "tok:c:1:0", "is placed").await;
    assert!(text(&third).contains("Place in the queue: 1"), "{third:#}");
    let (status, queue) = api.get("/token-queue").await;
    assert_eq!(status, 200, "{queue}");
    let priorities: Vec<bool> = queue
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row["priority"].as_bool().unwrap())
        .collect();
    assert_eq!(priorities, [true, false, false]);

    // Cancelling the second order refunds it once; its ledger says so.
    let second = crate::bot_support::order_number(text(&second));
    move_to(&api, second, "cancelled").await;
    assert_eq!(balance(&api, customer).await, 90 + 100);
    let (_, side) = api.get(&format!("/orders/{second}/tokens")).await;
    assert_eq!(side["refunded"], true);
    assert!(side["position"].is_null());

    // The first order completed: its details offer Run again, which charges again.
    move_to(&api, first, "processing").await;
    let (status, body) = api
        .post(&format!("/orders/{first}/assign"), json!({"user": 1}))
        .await;
    assert_eq!(status, 200, "{body}");
    move_to(&api, first, "assigned").await;
    move_to(&api, first, "completed").await;
    let orders = sandbox.say(&sarah, "/orders").await;
    let details = press(
        &sandbox,
        &sarah,
        &orders,
        &format!("o:v:{first}"),
        "Cost: 150",
    )
    .await;
    assert!(
        buttons(&details).contains(&format!("tok:r:{first}")),
        "{details:#}"
    );
    let rerun = press(
        &sandbox,
        &sarah,
        &details,
        &format!("tok:r:{first}"),
        "is placed",
    )
    .await;
    assert!(
        text(&rerun).contains("90 tokens charged"),
        "Premium prices now: {rerun:#}"
    );
    let rerun = crate::bot_support::order_number(text(&rerun));
    let (_, side) = api.get(&format!("/orders/{rerun}/tokens")).await;
    assert_eq!(side["rerun_of"], first);

    // The order page shows the token section and the ledger page the entries.
    let page = admin.get_text(&format!("/orders/{rerun}")).await;
    assert!(page.contains("id=\"token-order\""), "{page}");
    assert!(
        page.contains(&format!("href=\"/orders/{first}\"")),
        "{page}"
    );
    let ledger = admin
        .get_text(&format!("/customers/{customer}/tokens"))
        .await;
    assert!(ledger.contains("id=\"token-balance\">100<"), "{ledger}");
    for kind in ["spent", "refund", "adjustment", "bonus"] {
        assert!(
            ledger.contains(&format!("<td>{kind}</td>")),
            "{kind}: {ledger}"
        );
    }
}

#[tokio::test]
async fn staff_adjust_balances_reorder_the_queue_and_edit_packages_and_bad_input_changes_nothing() {
    let (app, admin, api) = service().await;
    let sandbox = Sandbox::of(&app);
    let dan = User::new(5_400_000_002, "Dan", "en");
    start_customer(&sandbox, &dan, "en").await;
    let customer = customer_id(&api, dan.id).await;

    // The ledger page's adjust form: a reason is required; a good one credits.
    let path = format!("/customers/{customer}/tokens/adjust");
    let refused = admin
        .post_form(&path, &[("amount", "300"), ("reason", " ")])
        .await;
    assert_eq!(refused.status(), 422);
    let html = refused.text().await.unwrap();
    assert!(html.contains("data-field=\"reason\""), "{html}");
    let refused = admin
        .post_form(&path, &[("amount", "ten"), ("reason", "x")])
        .await;
    assert_eq!(refused.status(), 422);
    assert_eq!(balance(&api, customer).await, 0, "refusals wrote nothing");
    let done = admin
        .post_form(&path, &[("amount", "1000"), ("reason", "Opening balance")])
        .await;
    assert_eq!(done.status(), 303, "back to the ledger");
    let location = done.headers()["location"].to_str().unwrap().to_string();
    assert!(
        admin
            .get_text(&location)
            .await
            .contains("The balance was adjusted")
    );
    assert_eq!(balance(&api, customer).await, 1000);
    let below = admin
        .post_form(&path, &[("amount", "-5000"), ("reason", "Too much")])
        .await;
    assert_eq!(below.status(), 409);

    // Staff order two packages for him from the ledger page; then move the second first.
    let order = format!("/customers/{customer}/tokens/order");
    for package in ["1", "2"] {
        let placed = admin.post_form(&order, &[("package", package)]).await;
        assert_eq!(placed.status(), 303, "to the new order's page");
    }
    let (_, queue) = api.get("/token-queue").await;
    let ids: Vec<u64> = queue
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row["order"].as_u64().unwrap())
        .collect();
    assert_eq!(ids.len(), 2, "{queue:#}");
    let page = admin.get_text("/queue").await;
    assert!(page.contains("draggable=\"true\""), "{page}");
    let moved = admin
        .post_form(
            &format!("/queue/{}/move", ids[1]),
            &[("before", &ids[0].to_string())],
        )
        .await;
    assert_eq!(moved.status(), 303);
    let (_, queue) = api.get("/token-queue").await;
    assert_eq!(queue[0]["order"], ids[1]);
    let (status, place) = api
        .post(
            &format!("/token-queue/{}/move", ids[1]),
            json!({"before": null}),
        )
        .await;
    assert_eq!((status, place["position"].as_u64()), (200, Some(2)));
    // Dan was told by the bot of both orders staff placed.
    sandbox.wait_for(dan.id, 0, "Place in the queue: 2").await;

    // With a profile (a person Dan orders for), the bot asks who the order is for first.
    let (status, profile) = api
        .post(
            &format!("/customers/{customer}/profiles"),
            json!({"answers": {"first_name": "Mary", "last_name": "Smith",
                   "phone": "+1 212 555 0100", "email": "mary@example.com"}}),
        )
        .await;
    assert_eq!(status, 201, "{profile}");
    let profile = profile["id"].as_u64().unwrap();
    let menu = sandbox.say(&dan, "/tokens").await;
    let asked = press(&sandbox, &dan, &menu, "tok:n", "Who is this order for?").await;
    assert_eq!(
        buttons(&asked),
        [format!("tok:f:{profile}"), "tok:f:0".to_string()]
    );
    let packages = press(
        &sandbox,
        &dan,
        &asked,
        &format!("tok:f:{profile}"),
        "Choose a package",
    )
    .await;
    let pick = format!("tok:q:1:0:{profile}");
    assert!(buttons(&packages).contains(&pick), "{packages:#}");
    let quote = press(&sandbox, &dan, &packages, &pick, "Total:").await;
    let placed = press(
        &sandbox,
        &dan,
        &quote,
        &format!("tok:c:1:0:{profile}"),
        "is placed",
    )
    .await;
    let order = crate::bot_support::order_number(text(&placed));
    let (_, side) = api.get(&format!("/orders/{order}/tokens")).await;
    assert_eq!(side["profile"], profile);

    // Packages: the settings page lists the PRD's table; a bad subscriber price is refused.
    let packages = admin.get_text("/settings/packages").await;
    assert!(packages.contains("<td>40%</td>"), "{packages}");
    let refused = admin
        .post_form(
            "/settings/packages/1",
            &[
                ("key", "sites_100"),
                ("name_en", "100 sites"),
                ("units", "100"),
                ("price", "100"),
                ("subscriber_price", "120"),
                ("active", "1"),
            ],
        )
        .await;
    assert_eq!(refused.status(), 422);
    let (status, updated) = api.put(
        "/packages/1",
        json!({"key": "sites_100", "name": {"en": "100 sites"}, "units": 100, "price": 110, "subscriber_price": 70}),
    )
    .await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(updated["discount_percent"], 36);
    let (status, body) = api.put(
        "/token-settings",
        json!({"email_addon_price": 50, "email_addon_subscriber_price": 60, "low_balance_threshold": 50,
               "subscription_price": 500, "subscription_days": 30, "reminder_days": 3}),
    )
    .await;
    assert_eq!(status, 422, "{body}");
    let (status, rerun) = api
        .post(&format!("/orders/{}/rerun", ids[0]), json!({}))
        .await;
    assert_eq!(status, 409, "not completed: {rerun}");
    // A message scheduled for later on the conversation's "Send later" page (the
    // organization's clock is UTC): listed as waiting, cancelled there; a past or malformed
    // moment is refused and schedules nothing. (crm-lib's `it::scheduled` sends them.)
    let page = format!("/chat/{customer}/scheduled");
    let conversation = admin.get_text(&format!("/chat/{customer}")).await;
    assert!(
        conversation.contains(&format!("href=\"{page}\"")),
        "{conversation}"
    );
    let soon = time_in(2 * 3600);
    let scheduled = admin
        .post_form(
            &page,
            &[("text", "Your sites are ready"), ("send_at", &soon)],
        )
        .await;
    assert_eq!(scheduled.status(), 303);
    for bad in ["2020-01-01T10:00", "tomorrow"] {
        let refused = admin
            .post_form(&page, &[("text", "Nope"), ("send_at", bad)])
            .await;
        assert_eq!(refused.status(), 422, "{bad}");
    }
    let (status, list) = api.get(&format!("/customers/{customer}/scheduled")).await;
    assert_eq!(status, 200, "{list}");
    assert_eq!(list.as_array().unwrap().len(), 1, "{list}");
    assert_eq!(list[0]["state"], "waiting");
    assert_eq!(&list[0]["send_at"].as_str().unwrap()[..16], soon.as_str());
    let html = admin.get_text(&page).await;
    assert!(
        html.contains("Your sites are ready") && html.contains("Waiting"),
        "{html}"
    );
    let cancelled = admin
        .post_form(&format!("{page}/{}/cancel", list[0]["id"]), &[])
        .await;
    assert_eq!(cancelled.status(), 303);
    let (_, list) = api.get(&format!("/customers/{customer}/scheduled")).await;
    assert_eq!(list[0]["state"], "cancelled");
    let (status, again) = api
        .post(&format!("/scheduled/{}/cancel", list[0]["id"]), json!({}))
        .await;
    assert_eq!(status, 409, "{again}");
}

/// The UTC time `seconds` from now as a `datetime-local` value (`YYYY-MM-DDTHH:MM`).
fn time_in(seconds: u64) -> String {
    let at = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + seconds;
    let days = (at / 86_400) as i64;
    let (hour, minute) = ((at % 86_400) / 3600, (at % 3600) / 60);
    // Days since 1970-01-01 to a civil date (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}")
}
