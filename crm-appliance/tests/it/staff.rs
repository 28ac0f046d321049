//! Helpers of the live-update, chat, API and metrics tests: a logged-in browser session
//! (cookies, the CSRF token), API tokens made on the profile page, and a reader of a
//! server-sent event stream.

use std::time::Duration;

use futures_util::StreamExt;

use crate::support::TestApp;

/// The administrator's password after the forced change at first login.
pub const ADMIN_PASSWORD: &str = "a new admin password";

/// A browser session: a cookie jar and the session's CSRF token.
pub struct Browser {
    pub client: reqwest::Client,
    pub base: String,
    pub csrf: String,
}

/// The `value` of the first `<input ... name="NAME" value="...">`.
pub fn hidden_value(html: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker)? + marker.len();
    let end = html[start..].find('"')? + start;
    Some(html[start..end].replace("&amp;", "&"))
}

impl Browser {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).send().await.unwrap()
    }

    pub async fn get_text(&self, path: &str) -> String {
        let response = self.get(path).await;
        assert_eq!(response.status(), 200, "GET {path}");
        response.text().await.unwrap()
    }

    /// A form post with the session's CSRF token added.
    pub async fn post_form(&self, path: &str, fields: &[(&str, &str)]) -> reqwest::Response {
        let mut all: Vec<(&str, &str)> = fields.to_vec();
        all.push(("csrf", &self.csrf));
        self.client
            .post(self.url(path))
            .form(&all)
            .send()
            .await
            .unwrap()
    }

    /// Creates an API token on the profile page and returns its text.
    pub async fn create_token(&self, name: &str) -> String {
        let response = self.post_form("/profile/tokens", &[("name", name)]).await;
        assert_eq!(response.status(), 200);
        let html = response.text().await.unwrap();
        let marker = "data-token-secret";
        assert!(html.contains(marker), "{html}");
        let start = html.find("value=\"crm_").unwrap() + "value=\"".len();
        let end = html[start..].find('"').unwrap() + start;
        html[start..end].to_string()
    }

    /// Opens `/events`, optionally resuming after `last_event_id`.
    pub async fn events(&self, last_event_id: Option<&str>) -> EventStream {
        self.events_at("/events", last_event_id).await
    }

    /// The stream of a page that closed its own and opens a new one with `?after=` (live.js,
    /// back from the back/forward cache).
    pub async fn events_after(&self, after: &str) -> EventStream {
        self.events_at(&format!("/events?after={after}"), None)
            .await
    }

    /// A stream at `path` opened with a `Last-Event-ID`.
    pub async fn events_at_with(&self, path: &str, last_event_id: &str) -> EventStream {
        self.events_at(path, Some(last_event_id)).await
    }

    async fn events_at(&self, path: &str, last_event_id: Option<&str>) -> EventStream {
        let mut request = self
            .client
            .get(self.url(path))
            .header("accept", "text/event-stream");
        if let Some(id) = last_event_id {
            request = request.header("last-event-id", id);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 200);
        assert!(
            response.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/event-stream")
        );
        EventStream {
            stream: Box::pin(response.bytes_stream()),
            buffer: String::new(),
        }
    }
}

/// Logs `username` in; the session must not need a password change.
pub async fn login(app: &TestApp, username: &str, password: &str) -> Browser {
    let client = app.client();
    let form = client.get(app.url("/login")).send().await.unwrap();
    let html = form.text().await.unwrap();
    let token = hidden_value(&html, "csrf").expect("the login form has a token");
    let response = client
        .post(app.url("/login"))
        .form(&[
            ("username", username),
            ("password", password),
            ("csrf", &token),
            ("next", "/"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303, "login of {username}");
    let mut browser = Browser {
        client,
        base: app.url(""),
        csrf: String::new(),
    };
    let page = browser.get_text("/profile").await;
    browser.csrf = hidden_value(&page, "csrf").expect("pages carry the session's token");
    browser
}

/// Logs the first administrator in, changing the generated password first.
pub async fn login_admin(app: &TestApp) -> Browser {
    let client = app.client();
    let form = client.get(app.url("/login")).send().await.unwrap();
    let html = form.text().await.unwrap();
    let token = hidden_value(&html, "csrf").unwrap();
    let response = client
        .post(app.url("/login"))
        .form(&[
            ("username", "admin"),
            ("password", app.admin_password.as_str()),
            ("csrf", &token),
            ("next", "/"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303);
    let location = response.headers()["location"].to_str().unwrap().to_string();
    if location == "/profile/password" {
        let page = client
            .get(app.url("/profile/password"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let csrf = hidden_value(&page, "csrf").unwrap();
        let changed = client
            .post(app.url("/profile/password"))
            .form(&[
                ("csrf", csrf.as_str()),
                ("current_password", app.admin_password.as_str()),
                ("new_password", ADMIN_PASSWORD),
                ("confirm_password", ADMIN_PASSWORD),
            ])
            .send()
            .await
            .unwrap();
        assert!(
            changed.status().is_redirection(),
            "{:?}",
            changed.text().await
        );
        // A password change may end the session: log in again with the new password.
        return login(app, "admin", ADMIN_PASSWORD).await;
    }
    let mut browser = Browser {
        client,
        base: app.url(""),
        csrf: String::new(),
    };
    let page = browser.get_text("/profile").await;
    browser.csrf = hidden_value(&page, "csrf").unwrap();
    browser
}

/// One server-sent event.
#[derive(Debug, Clone, Default)]
pub struct Sse {
    pub event: String,
    pub id: String,
    pub data: String,
}

impl Sse {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.data).unwrap()
    }
}

type ByteStream =
    std::pin::Pin<Box<dyn futures_util::Stream<Item = reqwest::Result<axum::body::Bytes>> + Send>>;

/// Reads events from an open `/events` answer.
pub struct EventStream {
    stream: ByteStream,
    buffer: String,
}

impl EventStream {
    /// The next event (comments skipped), or `None` when the stream ended or nothing came
    /// within `wait`.
    pub async fn next_within(&mut self, wait: Duration) -> Option<Sse> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let mut event = Sse::default();
                let mut data = Vec::new();
                for line in block.lines() {
                    if let Some(value) = line.strip_prefix("event:") {
                        event.event = value.trim().to_string();
                    } else if let Some(value) = line.strip_prefix("id:") {
                        event.id = value.trim().to_string();
                    } else if let Some(value) = line.strip_prefix("data:") {
                        data.push(value.strip_prefix(' ').unwrap_or(value).to_string());
                    }
                }
                event.data = data.join("\n");
                if event.event.is_empty() && event.data.is_empty() {
                    continue; // a keep-alive comment
                }
                return Some(event);
            }
            match tokio::time::timeout_at(deadline, self.stream.next()).await {
                Ok(Some(Ok(chunk))) => self.buffer.push_str(&String::from_utf8_lossy(&chunk)),
                _ => return None,
            }
        }
    }

    /// The next event of kind `event` within `wait`, skipping others.
    pub async fn next_of(&mut self, event: &str, wait: Duration) -> Option<Sse> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let next = self.next_within(left).await?;
            if next.event == event {
                return Some(next);
            }
        }
    }

    /// Whether the server closed the stream within `wait`.
    pub async fn ends_within(&mut self, wait: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            match tokio::time::timeout_at(deadline, self.stream.next()).await {
                Ok(None) | Ok(Some(Err(_))) => return true,
                Ok(Some(Ok(_))) => continue,
                Err(_) => return false,
            }
        }
    }
}

/// A JSON API client with a bearer token.
pub struct Api {
    pub client: reqwest::Client,
    pub base: String,
    pub token: String,
}

impl Api {
    pub fn new(app: &TestApp, token: &str) -> Api {
        Api {
            client: reqwest::Client::new(),
            base: app.url("/api/v1"),
            token: token.to_string(),
        }
    }

    pub async fn get(&self, path: &str) -> (u16, serde_json::Value) {
        let response = self
            .client
            .get(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap())
    }

    pub async fn post(&self, path: &str, body: serde_json::Value) -> (u16, serde_json::Value) {
        let response = self
            .client
            .post(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap())
    }

    pub async fn put(&self, path: &str, body: serde_json::Value) -> (u16, serde_json::Value) {
        let response = self
            .client
            .put(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap())
    }

    /// Creates a customer with a Telegram id and returns its id.
    pub async fn customer(&self, telegram_id: i64, first_name: &str) -> u64 {
        let (status, body) = self
            .post(
                "/customers",
                serde_json::json!({ "telegram_id": telegram_id, "first_name": first_name }),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        body["id"].as_u64().unwrap()
    }
}
