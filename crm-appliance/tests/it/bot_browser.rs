//! The `/sandbox` page in a real browser (Debian's chromium over WebDriver): a staff user
//! plays a customer in one tab (creates a simulated customer, picks the language, fills in
//! the order form with the inline buttons, attaches a photo, confirms) and approves the order
//! in another tab; the customer's tab shows the approval.

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};

use crate::support::spawn_app;

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

struct Driver {
    child: Child,
    port: u16,
    profile: tempfile::TempDir,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn start_driver() -> Driver {
    assert!(
        Path::new(CHROMIUM).exists() && Path::new(CHROMEDRIVER).exists(),
        "the browser test needs Debian's chromium and chromium-driver: run `bash scripts/test.sh` \
         (it installs them) or `apt-get install -y chromium chromium-driver`"
    );
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(CHROMEDRIVER)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let driver = Driver {
        child,
        port,
        profile: tempfile::tempdir().unwrap(),
    };
    for _ in 0..100 {
        if reqwest::get(format!("http://127.0.0.1:{port}/status"))
            .await
            .is_ok_and(|response| response.status().is_success())
        {
            return driver;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("chromedriver did not start on port {port}");
}

async fn browser(driver: &Driver) -> Client {
    let profile = driver.profile.path().display().to_string();
    let mut capabilities = serde_json::Map::new();
    capabilities.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({
            "binary": CHROMIUM,
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--no-first-run", "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--window-size=1400,1000", format!("--user-data-dir={profile}"),
            ],
        }),
    );
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(capabilities)
        .connect(&format!("http://127.0.0.1:{}", driver.port))
        .await
        .unwrap()
}

async fn fill(client: &Client, selector: &str, text: &str) {
    let field = client
        .wait()
        .for_element(Locator::Css(selector))
        .await
        .unwrap();
    field.clear().await.unwrap();
    field.send_keys(text).await.unwrap();
}

async fn click(client: &Client, selector: &str) {
    client
        .wait()
        .for_element(Locator::Css(selector))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

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
    see(&client, "step 1 of 6").await;
    say(&client, "Cake shop website").await;
    see(&client, "Step 2 of 6").await;
    say(&client, "Three pages and an order form").await;
    see(&client, "Step 3 of 6").await;
    press(
        &client,
        "starts-with(@data-callback,'w:') and contains(@data-callback,':b:s')",
    )
    .await;
    see(&client, "Step 4 of 6").await;
    press(
        &client,
        "starts-with(@data-callback,'w:') and contains(@data-callback,':l:s')",
    )
    .await;
    see(&client, "Step 5 of 6").await;
    let photo = driver.profile.path().join("cake.png");
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
    see(&client, "Step 6 of 6").await;
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
