//! The `/sandbox` page in a real browser (Debian's chromium over WebDriver): a staff user
//! plays a customer in one tab (creates a simulated customer, picks the language, fills in
//! the order form with the inline buttons, attaches a photo, toggles a marker, picks a payment
//! method, confirms) and approves the order
//! in another tab; the customer's tab shows the approval.

use std::time::{Duration, Instant};

use fantoccini::{Client, Locator};

use crate::support::spawn_app;
use crate::webdriver::{browser, click, fill, start_driver};

/// Waits until the chat shows a message containing `needle`.
async fn see(client: &Client, needle: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let shown: String = client
            .execute(
                "return document.getElementById('sandbox-messages').innerText",
                vec![],
            )
            .await
            .ok()
            .and_then(|value| value.as_str().map(str::to_string))
            .unwrap_or_default();
        if shown.contains(needle) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the sandbox never showed {needle:?}: {shown}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Clicks the newest inline button whose callback data matches the XPath condition.
async fn press(client: &Client, condition: &str) {
    let xpath = format!("(//div[@id='sandbox-messages']//button[{condition}])[last()]");
    client
        .wait()
        .for_element(Locator::XPath(&xpath))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

async fn say(client: &Client, text: &str) {
    fill(client, "#sandbox-compose textarea[name=text]", text).await;
    click(client, "#sandbox-compose button[type=submit]").await;
}

#[tokio::test]
async fn a_person_completes_the_order_loop_in_the_sandbox_page_while_staff_approve_in_another_tab()
{
    let app = spawn_app();
    let driver = start_driver().await;
    let client = browser(&driver).await;

    client.goto(&app.url("/sandbox")).await.unwrap();
    fill(&client, "input[name=username]", "admin").await;
    fill(&client, "input[name=password]", &app.admin_password).await;
    click(&client, "form[action='/login'] button[type=submit]").await;
    let new_password = "a long new sandbox password";
    fill(&client, "input[name=current_password]", &app.admin_password).await;
    fill(&client, "input[name=new_password]", new_password).await;
    fill(&client, "input[name=confirm_password]", new_password).await;
    click(
        &client,
        "form[action='/profile/password'] button[type=submit]",
    )
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;

    client.goto(&app.url("/sandbox")).await.unwrap();
    let banner = client
        .wait()
        .for_element(Locator::Css(".sandbox-banner"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        banner.contains("Simulation — this is not Telegram."),
        "{banner}"
    );
    let customer_tab = client.window().await.unwrap();

    fill(
        &client,
        "#sandbox-new input[name=first_name]",
        "Browser Customer",
    )
    .await;
    click(&client, "#sandbox-new button[type=submit]").await;
    see(&client, "Hello, Browser Customer").await;
    press(&client, "@data-callback='lang:en'").await;
    see(&client, "What would you like to do?").await;
    press(&client, "@data-callback='m:new'").await;
    see(&client, "step 1 of 8").await;
    say(&client, "Cake shop website").await;
    see(&client, "Step 2 of 8").await;
    say(&client, "Three pages and an order form").await;
    see(&client, "Step 3 of 8").await;
    press(
        &client,
        "starts-with(@data-callback,'w:') and contains(@data-callback,':b:s')",
    )
    .await;
    see(&client, "Step 4 of 8").await;
    press(
        &client,
        "starts-with(@data-callback,'w:') and contains(@data-callback,':l:s')",
    )
    .await;
    see(&client, "Step 5 of 8").await;
    let photo = driver.dir().join("cake.png");
    std::fs::write(&photo, b"\x89PNG\r\n\x1a\n a cake").unwrap();
    client
        .find(Locator::Css("#sandbox-compose input[type=file]"))
        .await
        .unwrap()
        .send_keys(&photo.display().to_string())
        .await
        .unwrap();
    click(&client, "#sandbox-compose button[type=submit]").await;
    see(&client, "Received (1 of 10)").await;
    press(
        &client,
        "starts-with(@data-callback,'w:') and contains(@data-callback,':a:d')",
    )
    .await;
    see(&client, "Step 6 of 8").await;
    // The studio's markers as toggles: React (5) is chosen in place, then Done.
    press(
        &client,
        "starts-with(@data-callback,'w:') and contains(@data-callback,':m:t5')",
    )
    .await;
    see(&client, "✓ React").await;
    press(
        &client,
        "starts-with(@data-callback,'w:') and contains(@data-callback,':m:d')",
    )
    .await;
    see(&client, "Step 7 of 8").await;
    press(
        &client,
        "starts-with(@data-callback,'w:') and contains(@data-callback,':p:m1')",
    )
    .await;
    see(&client, "Step 8 of 8").await;
    see(&client, "Tags: React").await;
    see(&client, "Payment method: Bank transfer").await;
    press(
        &client,
        "starts-with(@data-callback,'w:') and contains(@data-callback,':c:y')",
    )
    .await;
    see(&client, "Order #1 “Cake shop website” is sent").await;

    // Staff approve in another tab.
    let staff_tab = client.new_window(true).await.unwrap().handle;
    client.switch_to_window(staff_tab).await.unwrap();
    client.goto(&app.url("/orders/1")).await.unwrap();
    click(&client, "form[action='/orders/1/approve'] button").await;
    tokio::time::sleep(Duration::from_millis(500)).await;

    client.switch_to_window(customer_tab).await.unwrap();
    see(&client, "was approved").await;
    client.close().await.unwrap();
}
