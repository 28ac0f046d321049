//! Helpers of the staff-web tests: logging in through the real forms, reading CSRF tokens
//! out of pages, creating users and seeding a customer and orders, all over HTTP, and a
//! customer who writes to the bot through the sandbox.

use crate::support::TestApp;

/// A logged-in browser session: a cookie-keeping client and its CSRF token.
pub struct Session {
    pub client: reqwest::Client,
    pub csrf: String,
}

/// The value of the first `name="csrf"` hidden field in `html`.
pub fn csrf_of(html: &str) -> String {
    let marker = r#"name="csrf" value=""#;
    let start = html.find(marker).map(|at| at + marker.len()).unwrap_or(0);
    html[start..].split('"').next().unwrap_or("").to_string()
}

/// A client that keeps cookies and does not follow redirects, from a given local address.
pub fn client_from(local: Option<std::net::IpAddr>) -> reqwest::Client {
    let mut builder = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none());
    if let Some(local) = local {
        builder = builder.local_address(local);
    }
    builder.build().unwrap()
}

/// Posts the login form (after fetching it for its token) and returns the answer.
pub async fn login_with(
    app: &TestApp,
    client: &reqwest::Client,
    username: &str,
    password: &str,
) -> reqwest::Response {
    login_to(app, client, "", username, password).await
}

/// Posts the login form naming organization `org` (its slug; empty: no organization field)
/// and returns the answer.
pub async fn login_to(
    app: &TestApp,
    client: &reqwest::Client,
    org: &str,
    username: &str,
    password: &str,
) -> reqwest::Response {
    let page = client
        .get(app.url("/login"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let token = csrf_of(&page);
    let mut form = vec![
        ("username", username),
        ("password", password),
        ("csrf", &token),
        ("next", "/"),
    ];
    if !org.is_empty() {
        form.push(("organization", org));
    }
    client
        .post(app.url("/login"))
        .form(&form)
        .send()
        .await
        .unwrap()
}

/// Reads the session's CSRF token from the profile page.
pub async fn csrf_for(app: &TestApp, client: &reqwest::Client) -> String {
    let page = client
        .get(app.url("/profile"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    csrf_of(&page)
}

/// Logs in with a first password, changes it as forced, and returns the session.
pub async fn first_login(app: &TestApp, username: &str, password: &str) -> Session {
    first_login_to(app, "", username, password).await
}

/// [`first_login`] to organization `org` (its slug; empty: no organization field).
pub async fn first_login_to(app: &TestApp, org: &str, username: &str, password: &str) -> Session {
    let client = client_from(None);
    let response = login_to(app, &client, org, username, password).await;
    assert_eq!(response.status(), 303, "login of {username}");
    assert_eq!(
        response.headers()["location"],
        "/profile/password",
        "the first login forces a password change"
    );
    let page = client
        .get(app.url("/profile/password"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = csrf_of(&page);
    let new_password = format!("{password}-changed");
    let response = client
        .post(app.url("/profile/password"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("current_password", password),
            ("new_password", &new_password),
            ("confirm_password", &new_password),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303, "password change of {username}");
    let csrf = csrf_for(app, &client).await;
    Session { client, csrf }
}

/// The administrator, logged in with the printed password (changed as forced).
pub async fn admin(app: &TestApp) -> Session {
    first_login(app, "admin", &app.admin_password).await
}

/// Creates a user through the users page and returns the one-time password it shows.
pub async fn create_user(app: &TestApp, admin: &Session, username: &str, role: &str) -> String {
    let response = admin
        .client
        .post(app.url("/users"))
        .form(&[
            ("csrf", admin.csrf.as_str()),
            ("username", username),
            ("display_name", username),
            ("role", role),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201, "creating {username}");
    let page = response.text().await.unwrap();
    let marker = r#"<code class="password">"#;
    let start = page.find(marker).unwrap() + marker.len();
    page[start..].split('<').next().unwrap().to_string()
}

/// A user of `role`, created by the administrator and logged in.
pub async fn user_with_role(app: &TestApp, admin: &Session, username: &str, role: &str) -> Session {
    let password = create_user(app, admin, username, role).await;
    first_login(app, username, &password).await
}

/// Posts a form with the session's token; returns the answer.
pub async fn post(
    app: &TestApp,
    session: &Session,
    path: &str,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    let mut form: Vec<(&str, &str)> = vec![("csrf", session.csrf.as_str())];
    form.extend_from_slice(fields);
    session
        .client
        .post(app.url(path))
        .form(&form)
        .send()
        .await
        .unwrap()
}

/// Creates a customer by hand and returns their id.
pub async fn create_customer(app: &TestApp, session: &Session, first_name: &str) -> u64 {
    let response = post(
        app,
        session,
        "/customers/new",
        &[("first_name", first_name)],
    )
    .await;
    assert_eq!(response.status(), 303);
    let location = response.headers()["location"].to_str().unwrap().to_string();
    location.rsplit('=').next().unwrap().parse().unwrap()
}

/// Creates an order for a customer and returns its number.
pub async fn create_order(app: &TestApp, session: &Session, customer: u64, title: &str) -> u64 {
    let customer = customer.to_string();
    let response = post(
        app,
        session,
        "/orders",
        &[
            ("customer", customer.as_str()),
            ("title", title),
            ("description", "Seeded by a test"),
            ("budget", "1500"),
            ("deadline", ""),
        ],
    )
    .await;
    let status = response.status();
    let location = response
        .headers()
        .get("location")
        .map(|value| value.to_str().unwrap().to_string());
    assert_eq!(status, 303, "{:?}", response.text().await);
    let location = location.unwrap();
    location.rsplit('/').next().unwrap().parse().unwrap()
}

/// A customer writes to the bot through the sandbox's control API (as Telegram would deliver
/// it); returns their customer id once the conversation shows at the top of `staff`'s inbox
/// (so call it when no other conversation is newer).
pub async fn sandbox_customer(app: &TestApp, staff: &Session, telegram_id: i64) -> u64 {
    let response = app
        .sandbox_client()
        .post(app.url(&format!("/sandbox/chats/{telegram_id}/send")))
        .json(&serde_json::json!({
            "text": "Hello, is my order on its way?",
            "from": {"first_name": "Живой", "language_code": "ru"},
        }))
        .send()
        .await
        .unwrap();
    assert!(
        response.status().is_success(),
        "{:?}",
        response.text().await
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let inbox = staff
            .client
            .get(app.url("/chat"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        if let Some(id) = inbox
            .split("href=\"/chat/")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .and_then(|id| id.parse().ok())
        {
            return id;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no conversation appeared: {inbox}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// The page at `path` for a session, asserting a 200.
pub async fn page(app: &TestApp, session: &Session, path: &str) -> String {
    let response = session.client.get(app.url(path)).send().await.unwrap();
    assert_eq!(response.status(), 200, "GET {path}");
    response.text().await.unwrap()
}
