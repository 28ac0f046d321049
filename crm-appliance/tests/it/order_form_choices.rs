//! The preferred payment method where staff meet it: the order page, its payment form, the
//! new-order page and the JSON API.

use serde_json::{Value, json};

use crate::staff::{Api, Browser, login_admin};
use crate::support::{TestApp, spawn_app};

async fn token(admin: &Browser, app: &TestApp) -> Api {
    Api::new(app, &admin.create_token("form choices").await)
}

#[tokio::test]
async fn staff_set_the_preferred_method_on_the_web_and_in_the_api_and_the_payment_form_starts_on_it()
 {
    let app = spawn_app();
    let admin = login_admin(&app).await;
    let card = admin
        .post_form(
            "/payment-methods",
            &[("name", "Card"), ("template", "Pay {amount} by card")],
        )
        .await;
    assert_eq!(card.status(), 303);
    let api = token(&admin, &app).await;
    let customer = api.customer(5_400_000_006, "Egor").await.to_string();

    // The new-order page offers the active methods.
    let form = admin
        .get_text(&format!("/orders/new?customer={customer}"))
        .await;
    assert!(
        form.contains(r#"<select name="preferred_payment_method">"#),
        "{form}"
    );
    assert!(
        form.contains(r#"<option value="2">Card</option>"#),
        "{form}"
    );
    let (browser, who) = (&admin, &customer);
    let new_order = move |method: &str| {
        let method = method.to_string();
        async move {
            browser
                .post_form(
                    "/orders",
                    &[
                        ("customer", who.as_str()),
                        ("title", "By phone"),
                        ("description", "Taken by phone"),
                        ("preferred_payment_method", method.as_str()),
                    ],
                )
                .await
        }
    };
    for (bad, reason) in [
        ("card", "is not a payment method"),
        ("99", "payment method 99 not found"),
    ] {
        let refused = new_order(bad).await;
        assert_eq!(refused.status(), 422, "{bad}");
        let page = refused.text().await.unwrap();
        assert!(
            page.contains(r#"data-field="preferred_payment_method""#) && page.contains(reason),
            "{bad}: {page}"
        );
    }
    let created = new_order("2").await;
    assert_eq!(created.status(), 303);
    let location = created.headers()["location"].to_str().unwrap().to_string();
    let order = location.rsplit('/').next().unwrap().to_string();

    // The order page names it, and once payment details may be sent, the form starts on it.
    for (what, fields) in [
        ("approve", vec![]),
        ("assign", vec![("user", "1")]),
        ("move", vec![("stage", "4")]),
    ] {
        let response = admin
            .post_form(&format!("/orders/{order}/{what}"), &fields)
            .await;
        assert_eq!(response.status(), 303, "{what}");
    }
    let page = admin.get_text(&format!("/orders/{order}")).await;
    assert!(page.contains("Preferred payment method"), "{page}");
    assert!(
        page.contains(r#"<option value="2" selected>Card</option>"#),
        "{page}"
    );
    assert!(
        page.contains(r#"<option value="1">Bank transfer</option>"#),
        "{page}"
    );

    // The API takes and shows it too; a switched-off or unknown method is a 422 on the field.
    let body = |method: Value| {
        json!({
            "customer": customer.parse::<u64>().unwrap(),
            "title": "Through the API",
            "description": "x",
            "preferred_payment_method": method,
        })
    };
    let (status, created) = api.post("/orders", body(json!(1))).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["preferred_payment_method"], 1);
    let off = admin
        .post_form("/payment-methods/2/active", &[("active", "false")])
        .await;
    assert_eq!(off.status(), 303);
    for method in [json!(2), json!(77)] {
        let (status, error) = api.post("/orders", body(method.clone())).await;
        assert_eq!(status, 422, "{method}: {error}");
        assert_eq!(
            error["error"]["field"], "preferred_payment_method",
            "{error}"
        );
    }
    let (_, listed) = api.get("/orders").await;
    let preferred: Vec<Value> = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|order| order["preferred_payment_method"].clone())
        .collect();
    assert_eq!(preferred, [json!(1), json!(2)], "newest first");
    // A switched-off method stays named on the order that prefers it.
    let page = admin.get_text(&format!("/orders/{order}")).await;
    assert!(page.contains("switched off"), "{page}");
}
