//! A project's documents through the running appliance's API (issue 14): a manager attaches
//! a PDF (multipart), the list shows it, the file comes back through `/media`, a refused type
//! is a 422 naming `file` and changes nothing, removal empties the list and a second removal
//! is a 404; the project page's Documents section does the same; the OpenAPI document lists
//! the endpoints.

use serde_json::Value;

use crate::staff::{Api, login_admin};
use crate::support::spawn_app_with;

async fn attach(api: &Api, project: u64, bytes: &[u8], mime: &str, name: &str) -> (u16, Value) {
    let form = reqwest::multipart::Form::new()
        .text("title", "Договор подряда")
        .part(
            "file",
            reqwest::multipart::Part::bytes(bytes.to_vec())
                .file_name(name.to_string())
                .mime_str(mime)
                .unwrap(),
        );
    let response = api
        .client
        .post(format!("{}/projects/{project}/documents", api.base))
        .bearer_auth(&api.token)
        .multipart(form)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn delete(api: &Api, path: &str) -> (u16, Value) {
    let response = api
        .client
        .delete(format!("{}{path}", api.base))
        .bearer_auth(&api.token)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn a_manager_attaches_lists_downloads_and_removes_a_project_document_through_the_api() {
    let app = spawn_app_with(&["--template", "renovation"]);
    let admin = login_admin(&app).await;
    let api = Api::new(&app, &admin.create_token("documents").await);
    let client = api.customer(7_300_000_001, "Екатерина").await;
    let (status, project) = api
        .post(
            "/projects",
            serde_json::json!({ "client": client, "title": "Квартира", "budget": "1000" }),
        )
        .await;
    assert_eq!(status, 201, "{project}");
    let id = project["id"].as_u64().unwrap();

    let (status, body) = attach(&api, id, b"PK\x03\x04", "application/zip", "photos.zip").await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"]["field"], "file", "{body}");
    let (status, document) = attach(
        &api,
        id,
        b"%PDF-1.4 contract",
        "application/pdf",
        "contract.pdf",
    )
    .await;
    assert_eq!(status, 201, "{document}");
    assert_eq!(document["kind"], "pdf");
    assert_eq!(document["file_name"], "contract.pdf");
    assert_eq!(document["size"], 17);

    let (status, list) = api.get(&format!("/projects/{id}/documents")).await;
    assert_eq!(status, 200, "{list}");
    assert_eq!(list["items"].as_array().unwrap().len(), 1, "{list}");
    let hash = list["items"][0]["media"].as_str().unwrap().to_string();
    let file = admin
        .client
        .get(app.url(&format!("/media/{hash}")))
        .send()
        .await
        .unwrap();
    assert_eq!(file.status(), 200);
    assert_eq!(file.bytes().await.unwrap().as_ref(), b"%PDF-1.4 contract");

    let document_id = document["id"].as_u64().unwrap();
    let path = format!("/projects/{id}/documents/{document_id}");
    let (status, body) = delete(&api, &path).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = delete(&api, &path).await;
    assert_eq!(status, 404, "{body}");
    let (_, list) = api.get(&format!("/projects/{id}/documents")).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 0, "{list}");

    // The project page's Documents section: attach (multipart with the session's token),
    // a refused type shows the page again with the error, remove.
    let page_attach = |bytes: &'static [u8], mime: &'static str, name: &'static str| {
        let form = reqwest::multipart::Form::new()
            .text("csrf", admin.csrf.clone())
            .text("title", "Смета <v2>")
            .part(
                "file",
                reqwest::multipart::Part::bytes(bytes)
                    .file_name(name)
                    .mime_str(mime)
                    .unwrap(),
            );
        admin
            .client
            .post(admin.url(&format!("/projects/{id}/documents")))
            .multipart(form)
            .send()
    };
    let refused = page_attach(b"PK\x03\x04", "application/zip", "photos.zip")
        .await
        .unwrap();
    assert_eq!(refused.status(), 422);
    assert!(
        refused
            .text()
            .await
            .unwrap()
            .contains("data-field=\"file\"")
    );
    let attached = page_attach(b"name,sum\nwalls,1000\n", "text/csv", "estimate.csv")
        .await
        .unwrap();
    assert_eq!(attached.status(), 303);
    let page = admin.get_text(&format!("/projects/{id}")).await;
    assert!(page.contains("Смета &lt;v2&gt;"), "{page}");
    assert!(page.contains("download=\"estimate.csv\""), "{page}");
    let (_, list) = api.get(&format!("/projects/{id}/documents")).await;
    let document_id = list["items"][0]["id"].as_u64().unwrap();
    let removed = admin
        .post_form(
            &format!("/projects/{id}/documents/{document_id}/remove"),
            &[],
        )
        .await;
    assert_eq!(removed.status(), 303);
    let page = admin.get_text(&format!("/projects/{id}")).await;
    assert!(!page.contains("estimate.csv"), "{page}");

    let openapi: Value = reqwest::get(app.url("/api/v1/openapi.json"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        openapi["paths"]["/api/v1/projects/{id}/documents"]["post"].is_object(),
        "the OpenAPI document lists the endpoint"
    );
}
