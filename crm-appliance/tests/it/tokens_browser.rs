//! The token service's main path in a real browser (headless chromium, see
//! [`crate::webdriver`]): an administrator credits a customer on the ledger page, the customer's
//! two orders wait in the queue, and dragging the second onto the first (`queue.js`) puts it
//! first; the ledger and queue pages are accessible (axe-core).

use serde_json::json;

use crate::browser::{log_in, submit, wait_until};
use crate::staff::Api;
use crate::support::spawn_app_with;
use crate::web_helpers;
use crate::webdriver::{fill, start_driver};

#[tokio::test]
async fn staff_credit_a_customer_and_drag_an_order_to_the_front_of_the_queue() {
    let app = spawn_app_with(&["--template", "service"]);
    let admin = web_helpers::admin(&app).await;
    let password = format!("{}-changed", app.admin_password);
    let token = crate::staff::login(&app, "admin", &password)
        .await
        .create_token("setup")
        .await;
    let api = Api::new(&app, &token);
    let customer = web_helpers::sandbox_customer(&app, &admin, 7_900_001).await;

    let driver = start_driver().await;
    let client = crate::webdriver::browser(&driver).await;
    log_in(&client, &app, "admin", &password).await;

    // The ledger page: credit 500 tokens with a reason.
    let ledger = format!("/customers/{customer}/tokens");
    client.goto(&app.url(&ledger)).await.unwrap();
    fill(&client, "form[action$='/adjust'] input[name=amount]", "500").await;
    fill(
        &client,
        "form[action$='/adjust'] input[name=reason]",
        "Paid by card",
    )
    .await;
    let after = submit(&client, "form[action$='/adjust'] button[type=submit]").await;
    assert!(after.starts_with(&ledger), "{after}");
    wait_until(
        &client,
        "const b = document.querySelector('#token-balance'); return !!b && b.textContent === '500';",
        vec![],
        "the balance of 500",
    )
    .await;
    let axe = crate::tools::axe_source();
    let violations = crate::browser_pages::axe_violations(&client, &axe).await;
    assert!(violations.is_empty(), "{ledger}: {violations:?}");

    // Two orders wait in the queue.
    let mut orders = Vec::new();
    for package in [1, 2] {
        let (status, placed) = api
            .post(
                "/token-orders",
                json!({"customer": customer, "package": package}),
            )
            .await;
        assert_eq!(status, 201, "{placed}");
        orders.push(placed["order"].as_u64().unwrap());
    }
    client.goto(&app.url("/queue")).await.unwrap();
    let first_is = "const row = document.querySelector('#token-queue li.queue-row'); \
                    return !!row && row.dataset.order === String(arguments[0]);";
    wait_until(
        &client,
        first_is,
        vec![orders[0].into()],
        "the first order first",
    )
    .await;
    let violations = crate::browser_pages::axe_violations(&client, &axe).await;
    assert!(violations.is_empty(), "/queue: {violations:?}");

    // Drag the second row onto the first: queue.js posts the move and the page reloads with
    // the second order first.
    client
        .execute(
            "const rows = document.querySelectorAll('#token-queue li.queue-row'); \
             const data = new DataTransfer(); \
             const fire = (row, type) => row.dispatchEvent(new DragEvent(type, \
                 {bubbles: true, cancelable: true, dataTransfer: data})); \
             fire(rows[1], 'dragstart'); fire(rows[0], 'dragover'); fire(rows[0], 'drop'); \
             return true;",
            vec![],
        )
        .await
        .unwrap();
    wait_until(
        &client,
        first_is,
        vec![orders[1].into()],
        "the dragged order first",
    )
    .await;
    let (status, queue) = api.get("/token-queue").await;
    assert_eq!(status, 200, "{queue}");
    assert_eq!(queue[0]["order"], orders[1]);
    assert_eq!(queue[0]["position"], 1);
    client.close().await.unwrap();
}
