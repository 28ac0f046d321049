//! The real browser of the browser tests: Debian's chromium, headless, driven over WebDriver
//! (chromedriver on a free port) with fantoccini, and the form steps every such test takes.
//!
//! `scripts/test.sh` installs `chromium` and `chromium-driver` when they are missing; without
//! them a browser test fails and says so (it never skips).

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// chromedriver on a free port, with a directory for the profiles of its sessions; killed on
/// drop.
pub struct Driver {
    child: Child,
    port: u16,
    profiles: tempfile::TempDir,
}

impl Driver {
    /// The driver's temporary directory, removed with it: the sessions' profiles live there,
    /// and a test may put files there for the browser to upload.
    pub fn dir(&self) -> &Path {
        self.profiles.path()
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts chromedriver and waits (up to ten seconds) until it answers.
pub async fn start_driver() -> Driver {
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
        profiles: tempfile::tempdir().unwrap(),
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

/// A browser session (the one a test needs when it needs one).
pub async fn browser(driver: &Driver) -> Client {
    browser_named(driver, "default").await
}

/// A browser session with its own profile directory (`name`), so that several sessions run
/// side by side with separate cookies.
pub async fn browser_named(driver: &Driver, name: &str) -> Client {
    let profile = driver.dir().join(name).display().to_string();
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

/// Waits for the field at `selector`, clears it and types `text`.
pub async fn fill(client: &Client, selector: &str, text: &str) {
    let field = client
        .wait()
        .for_element(Locator::Css(selector))
        .await
        .unwrap();
    field.clear().await.unwrap();
    field.send_keys(text).await.unwrap();
}

/// Waits for the element at `selector` and clicks it.
pub async fn click(client: &Client, selector: &str) {
    client
        .wait()
        .for_element(Locator::Css(selector))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}
