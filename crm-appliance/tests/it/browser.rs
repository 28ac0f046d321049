//! A real browser: Debian's chromium, headless, driven over WebDriver (chromedriver) with
//! fantoccini. Logs in with the printed password, is forced to change it, creates a customer
//! and an order through the staff forms, approves and assigns it, drags its card to another
//! Kanban column and reloads to see the move persisted.
//!
//! `scripts/test.sh` installs `chromium` and `chromium-driver` when they are missing; without
//! them this test fails and says so (it never skips).

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};

use crate::support::spawn_app;

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// chromedriver on a free port; killed on drop.
struct Driver {
    child: Child,
    port: u16,
    _profile: tempfile::TempDir,
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
        _profile: tempfile::tempdir().unwrap(),
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
    let profile = driver._profile.path().display().to_string();
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

/// Clicks a submit button and waits until the browser has left the current page.
async fn submit(client: &Client, selector: &str) -> String {
    let before = path_of(client).await;
    click(client, selector).await;
    for _ in 0..100 {
        let now = path_of(client).await;
        let ready = client
            .execute("return document.readyState", vec![])
            .await
            .is_ok_and(|state| state == "complete");
        if now != before && ready {
            return now;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let source = client.source().await.unwrap_or_default();
    panic!("submitting {selector} stayed on {before}: {source}");
}

async fn path_of(client: &Client) -> String {
    let url = client.current_url().await.unwrap();
    match url.query() {
        Some(query) => format!("{}?{query}", url.path()),
        None => url.path().to_string(),
    }
}

#[tokio::test]
async fn a_person_logs_in_changes_the_password_and_drags_a_card_across_the_board() {
    let app = spawn_app();
    let driver = start_driver().await;
    let client = browser(&driver).await;

    // Log in with the printed password; the first login forces a new one.
    client.goto(&app.url("/")).await.unwrap();
    assert!(path_of(&client).await.starts_with("/login"));
    fill(&client, "input[name=username]", "admin").await;
    fill(&client, "input[name=password]", &app.admin_password).await;
    assert_eq!(
        submit(&client, "form[action='/login'] button[type=submit]").await,
        "/profile/password"
    );
    let new_password = "a new and long password";
    fill(&client, "input[name=current_password]", &app.admin_password).await;
    fill(&client, "input[name=new_password]", new_password).await;
    fill(&client, "input[name=confirm_password]", new_password).await;
    assert_eq!(
        submit(
            &client,
            "form[action='/profile/password'] button[type=submit]"
        )
        .await,
        "/profile?done=password"
    );

    // A customer and an order, through the staff forms.
    client.goto(&app.url("/customers/new")).await.unwrap();
    fill(&client, "input[name=first_name]", "Алиса").await;
    let next = submit(&client, "form[action='/customers/new'] button[type=submit]").await;
    assert!(next.starts_with("/orders/new?customer="), "{next}");
    fill(&client, "input[name=title]", "Telegram bot for a bakery").await;
    fill(
        &client,
        "textarea[name=description]",
        "Orders and delivery slots",
    )
    .await;
    fill(&client, "input[name=budget]", "1500").await;
    let order_path = submit(&client, "form[action='/orders'] button[type=submit]").await;
    let order: u64 = order_path.trim_start_matches("/orders/").parse().unwrap();

    // Approve it and assign it, so that it may go in progress.
    assert_eq!(
        submit(
            &client,
            &format!("form[action='/orders/{order}/approve'] button")
        )
        .await,
        format!("/orders/{order}?done=approved")
    );
    assert_eq!(
        submit(
            &client,
            &format!("form[action='/orders/{order}/assign'] button")
        )
        .await,
        format!("/orders/{order}?done=assigned")
    );

    // Drag the card from Approved to In progress (HTML5 drag and drop events, which
    // WebDriver's pointer actions do not produce, dispatched on the real elements).
    client.goto(&app.url("/board")).await.unwrap();
    let card = format!("li.card[data-order='{order}']");
    client
        .wait()
        .for_element(Locator::Css(&format!(
            "section.column[data-stage='2'] {card}"
        )))
        .await
        .unwrap();
    client
        .execute(
            r#"
            const card = document.querySelector(arguments[0]);
            const column = document.querySelector("section.column[data-stage='4']");
            const data = new DataTransfer();
            const fire = (target, type) => target.dispatchEvent(
                new DragEvent(type, { bubbles: true, cancelable: true, dataTransfer: data }));
            fire(card, "dragstart");
            fire(column, "dragover");
            fire(column, "drop");
            fire(card, "dragend");
            "#,
            vec![serde_json::Value::String(card.clone())],
        )
        .await
        .unwrap();
    // board.js reloads the page once the server accepted the move; reload again ourselves to
    // be sure the card's place comes from the server.
    let moved = format!("section.column[data-stage='4'] {card}");
    let mut persisted = false;
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(200)).await;
        client.goto(&app.url("/board")).await.unwrap();
        if client.find(Locator::Css(&moved)).await.is_ok() {
            persisted = true;
            break;
        }
    }
    assert!(persisted, "the card stays in In progress after a reload");
    client.goto(&app.url(&order_path)).await.unwrap();
    let source = client.source().await.unwrap();
    assert!(
        source.contains("order.stage_changed"),
        "the timeline shows the move"
    );
    client.close().await.unwrap();
}
