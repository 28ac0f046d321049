//! Projects through the running appliance (issue 14), one renovation appliance for the file:
//! a won lead's order page offers "Create project", the project is made from it on its pages,
//! a proof photo goes up with an expense (multipart) and comes back through `/media`, bad
//! input is refused beside its field and changes nothing, the API runs the same project (a
//! change request decided once: the second decision is a 409) with the totals the page
//! shows; who may see what is crm-lib's: a worker not on the project gets 404, staff with
//! neither projects permission 403 on the pages and the API, and a studio (module off)
//! answers 404.

use serde_json::{Value, json};

use crate::staff::{Api, Browser};
use crate::support::{TestApp, spawn_app, spawn_app_with};
use crate::web_helpers::{Session, admin, page, post, user_with_role};

/// A tiny PNG (the signature and an IHDR chunk are enough for the store; browsers are not
/// asked to draw it).
pub const PNG: &[u8] =
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00";

pub fn browser_of(app: &TestApp, session: &Session) -> Browser {
    Browser {
        client: session.client.clone(),
        base: app.url(""),
        csrf: session.csrf.clone(),
    }
}

/// A won lead made through the API: a customer's order approved, assigned to the token's user
/// and moved to `won`. Returns (customer id, order id).
pub async fn won_lead(api: &Api, telegram_id: i64) -> (u64, u64) {
    let customer = api.customer(telegram_id, "Екатерина").await;
    let (status, order) = api
        .post(
            "/orders",
            json!({
                "customer": customer,
                "title": "Капитальный ремонт, 64 м²",
                "description": "Квартира под ключ",
                "budget": "12500",
            }),
        )
        .await;
    assert_eq!(status, 201, "{order}");
    let id = order["id"].as_u64().unwrap();
    let (status, body) = api.post(&format!("/orders/{id}/approve"), json!({})).await;
    assert_eq!(status, 200, "{body}");
    let (_, me) = api.get("/users/me").await;
    let (status, body) = api
        .post(
            &format!("/orders/{id}/assign"),
            json!({ "user": me["id"].as_u64().unwrap() }),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    for stage in ["measurement", "estimate", "contract", "won"] {
        let (status, body) = api
            .post(&format!("/orders/{id}/move"), json!({ "stage": stage }))
            .await;
        assert_eq!(status, 200, "{stage}: {body}");
    }
    (customer, id)
}

/// A multipart post with the session's token.
async fn post_multipart(
    app: &TestApp,
    session: &Session,
    path: &str,
    fields: &[(&str, &str)],
    file: Option<(&str, &[u8], &str)>,
) -> reqwest::Response {
    let mut form = reqwest::multipart::Form::new().text("csrf", session.csrf.clone());
    for (name, value) in fields {
        form = form.text(name.to_string(), value.to_string());
    }
    if let Some((name, bytes, mime)) = file {
        let part = reqwest::multipart::Part::bytes(bytes.to_vec())
            .file_name("receipt.png")
            .mime_str(mime)
            .unwrap();
        form = form.part(name.to_string(), part);
    }
    session
        .client
        .post(app.url(path))
        .multipart(form)
        .send()
        .await
        .unwrap()
}

/// The JSON of a multipart API call.
async fn api_multipart(api: &Api, path: &str, form: reqwest::multipart::Form) -> (u16, Value) {
    let response = api
        .client
        .post(format!("{}{path}", api.base))
        .bearer_auth(&api.token)
        .multipart(form)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn a_project_made_from_a_won_lead_runs_through_its_pages_and_the_api_with_crm_lib_s_rules() {
    let app = spawn_app_with(&["--template", "renovation"]);
    let administrator = admin(&app).await;
    let token = browser_of(&app, &administrator)
        .create_token("projects")
        .await;
    let api = Api::new(&app, &token);
    let (customer, lead) = won_lead(&api, 7_100_000_001).await;

    // The won lead's order page offers the project; the menu has the entry.
    let order_page = page(&app, &administrator, &format!("/orders/{lead}")).await;
    assert!(
        order_page.contains(&format!("href=\"/projects/new?lead={lead}\"")),
        "{order_page}"
    );
    assert!(order_page.contains("href=\"/projects\""), "the menu entry");
    let form = page(&app, &administrator, &format!("/projects/new?lead={lead}")).await;
    assert!(
        form.contains(&format!("name=\"lead\" value=\"{lead}\"")),
        "{form}"
    );

    // Refused input re-renders the form beside its field and makes nothing.
    let (lead_text, customer_text) = (lead.to_string(), customer.to_string());
    let refused = post(
        &app,
        &administrator,
        "/projects",
        &[
            ("lead", &lead_text),
            ("client", &customer_text),
            ("title", ""),
            ("budget", "12500"),
        ],
    )
    .await;
    assert_eq!(refused.status(), 422);
    let html = refused.text().await.unwrap();
    assert!(html.contains("data-field=\"title\""), "{html}");
    let (_, list) = api.get("/projects").await;
    assert_eq!(list["items"].as_array().unwrap().len(), 0, "{list}");

    let made = post(
        &app,
        &administrator,
        "/projects",
        &[
            ("lead", &lead_text),
            ("client", &customer_text),
            ("title", "Капитальный ремонт, 64 м²"),
            ("address", "Москва, Профсоюзная, 104"),
            ("budget", "12500"),
            ("stages", "Демонтаж\r\nЭлектрика\r\nОтделка"),
        ],
    )
    .await;
    assert_eq!(made.status(), 303, "{:?}", made.text().await);
    assert_eq!(made.headers()["location"], "/projects/1?done=created");
    let order_page = page(&app, &administrator, &format!("/orders/{lead}")).await;
    assert!(
        order_page.contains("href=\"/projects/1\""),
        "the lead links its project"
    );
    assert!(!order_page.contains("/projects/new?lead="));

    // An expense with a proof photo; the totals follow; the photo is served.
    let (_, project) = api.get("/projects/1").await;
    let demolition = project["stages"][0]["id"].as_u64().unwrap().to_string();
    let bad = post_multipart(
        &app,
        &administrator,
        "/projects/1/entries",
        &[
            ("kind", "expense"),
            ("amount", "12,5x"),
            ("category", "materials"),
        ],
        Some(("proof", PNG, "image/png")),
    )
    .await;
    assert_eq!(bad.status(), 422);
    assert!(bad.text().await.unwrap().contains("data-field=\"amount\""));
    let added = post_multipart(
        &app,
        &administrator,
        "/projects/1/entries",
        &[
            ("kind", "expense"),
            ("amount", "1500.50"),
            ("category", "materials"),
            ("note", "Кабель"),
            ("stage", &demolition),
        ],
        Some(("proof", PNG, "image/png")),
    )
    .await;
    assert_eq!(added.status(), 303, "{:?}", added.text().await);
    let project_page = page(&app, &administrator, "/projects/1").await;
    // The administrator reads the renovation firm's Russian: 1 500,50.
    assert!(
        project_page.contains("1\u{a0}500,50") || project_page.contains("1,500.50"),
        "spent on the page"
    );
    let proof = project_page
        .split("href=\"/media/")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .to_string();
    let file = administrator
        .client
        .get(app.url(&format!("/media/{proof}")))
        .send()
        .await
        .unwrap();
    assert_eq!(file.status(), 200);
    assert_eq!(file.bytes().await.unwrap().as_ref(), PNG);

    // The API: a report with a photo (multipart), a change request decided once.
    let report = reqwest::multipart::Form::new()
        .text("stage", demolition.clone())
        .text("text", "Стены снесены")
        .part(
            "media",
            reqwest::multipart::Part::bytes(PNG.to_vec())
                .file_name("wall.png")
                .mime_str("image/png")
                .unwrap(),
        );
    let (status, body) = api_multipart(&api, "/projects/1/reports", report).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["media"].as_array().unwrap().len(), 1);
    let (status, body) = api
        .post(
            "/projects/1/change-requests",
            json!({ "title": "Тёплый пол", "amount": "-100" }),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let request = body["id"].as_u64().unwrap();
    let path = format!("/projects/1/change-requests/{request}/decide");
    let (status, body) = api.post(&path, json!({ "decision": "approve" })).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["state"], "approved");
    let (status, body) = api.post(&path, json!({ "decision": "reject" })).await;
    assert_eq!(status, 409, "{body}");
    let (status, body) = api
        .post("/projects/1/entries", json!({ "kind": "expense" }))
        .await;
    assert!(
        status == 400 || status == 415,
        "a JSON body is no form: {status} {body}"
    );
    let (status, body) = api
        .post("/projects/1/stages/999/progress", json!({ "progress": 50 }))
        .await;
    assert_eq!(
        (status, body["error"]["field"].clone()),
        (422, json!("stage"))
    );
    let (_, project) = api.get("/projects/1").await;
    assert_eq!(project["totals"]["budget_total"], "12400.00");
    assert_eq!(project["totals"]["spent"], "1500.50");
    assert_eq!(project["totals"]["reports"], 1);
    assert_eq!(project["lead"], lead);
    let (_, timeline) = api.get("/projects/1/timeline?limit=2").await;
    assert_eq!(timeline["items"].as_array().unwrap().len(), 2);
    assert_eq!(timeline["items"][0]["kind"], "change_request");
    assert!(timeline["next"].as_u64().is_some());

    // A worker not on the project: the list without it, the page 404; on it, the page.
    let worker = user_with_role(&app, &administrator, "victor", "worker").await;
    let list = page(&app, &worker, "/projects").await;
    assert!(!list.contains("href=\"/projects/1\""), "{list}");
    let response = worker
        .client
        .get(app.url("/projects/1"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    let (_, me) = Api::new(&app, &browser_of(&app, &worker).create_token("w").await)
        .get("/users/me")
        .await;
    let (status, body) = api
        .put(
            "/projects/1/workers",
            json!({ "workers": [me["id"].as_u64().unwrap()] }),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let mine = page(&app, &worker, "/projects/1").await;
    assert!(mine.contains("action=\"/projects/1/reports\""));
    assert!(
        !mine.contains("action=\"/projects/1/stages\""),
        "no manager's forms"
    );
    let response = post(&app, &worker, "/projects/1/stages", &[("name", "Покраска")]).await;
    assert_eq!(response.status(), 403);
    let response = worker
        .client
        .get(app.url("/projects/new"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403, "a worker makes no projects");
    assert!(!list.contains("href=\"/projects/new\""));

    // Staff with neither projects permission: 403 on the pages and the API, no menu entry.
    let response = post(
        &app,
        &administrator,
        "/roles",
        &[("name", "sales"), ("permission", "view_orders")],
    )
    .await;
    assert_eq!(response.status(), 303);
    let seller = user_with_role(&app, &administrator, "olga", "sales").await;
    for path in ["/projects", "/projects/1", "/projects/new"] {
        let response = seller.client.get(app.url(path)).send().await.unwrap();
        assert_eq!(response.status(), 403, "{path}");
    }
    let home = page(&app, &seller, "/").await;
    assert!(!home.contains("href=\"/projects\""));
    let seller_api = Api::new(&app, &browser_of(&app, &seller).create_token("s").await);
    let (status, body) = seller_api.get("/projects/1").await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["error"]["permission"], "manage_projects");

    // Every change is audited; verify stays clean (through the admin channel).
    let audit = page(&app, &administrator, "/audit").await;
    assert!(audit.contains("href=\"/projects/1\""), "{audit}");
}

#[tokio::test]
async fn a_studio_without_the_projects_module_answers_not_found_to_every_project_route() {
    let app = spawn_app();
    let administrator = admin(&app).await;
    for path in ["/projects", "/projects/new", "/projects/1"] {
        let response = administrator
            .client
            .get(app.url(path))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 404, "{path}");
    }
    let token = browser_of(&app, &administrator)
        .create_token("studio")
        .await;
    let api = Api::new(&app, &token);
    let (status, body) = api.get("/projects").await;
    assert_eq!(status, 404, "{body}");
    let home = page(&app, &administrator, "/").await;
    assert!(!home.contains("href=\"/projects\""));
}
