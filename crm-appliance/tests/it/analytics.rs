//! The analytics dashboard through the running appliance (issue 13): orders created and
//! moved through the API show on `/analytics` (figures and four SVG charts, the package chart
//! only with the tokens module), each chart's CSV downloads with the same numbers, and the
//! API's `/analytics` and `/analytics/{chart}` answer the same figures, in the OpenAPI
//! document.

use serde_json::json;

use crate::staff::{Api, login_admin};
use crate::support::spawn_app;

#[tokio::test]
async fn orders_made_through_the_api_show_on_the_page_in_the_csv_and_in_the_api() {
    let app = spawn_app();
    let admin = login_admin(&app).await;
    let api = Api::new(&app, &admin.create_token("analytics").await);
    let mut ids = Vec::new();
    for (index, budget) in ["1500", "500", "250"].iter().enumerate() {
        let customer = api.customer(7_200 + index as i64, "Buyer").await;
        let (status, order) = api
            .post(
                "/orders",
                json!({"customer": customer, "title": "Bakery bot", "description": "Menu", "budget": budget}),
            )
            .await;
        assert_eq!(status, 201, "{order}");
        ids.push(order["id"].as_u64().unwrap());
    }
    // The first is delivered (won), the last rejected (lost).
    let (status, body) = api
        .post(&format!("/orders/{}/approve", ids[0]), json!({}))
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = api
        .post(&format!("/orders/{}/assign", ids[0]), json!({"user": 1}))
        .await;
    assert_eq!(status, 200, "{body}");
    for stage in ["in_progress", "testing", "completed", "delivered"] {
        let (status, body) = api
            .post(&format!("/orders/{}/move", ids[0]), json!({"stage": stage}))
            .await;
        assert_eq!(status, 200, "{stage}: {body}");
    }
    let (status, body) = api
        .post(
            &format!("/orders/{}/reject", ids[2]),
            json!({"reason": "Not a fit"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");

    // The API: figures and a chart's points.
    let (status, figures) = api.get("/analytics").await;
    assert_eq!(status, 200, "{figures}");
    assert_eq!(figures["unit"], "USD", "{figures}");
    assert_eq!(figures["customers"], 3, "{figures}");
    assert_eq!(figures["orders"], 3, "{figures}");
    assert_eq!(figures["revenue"], 200_000, "1500 + 500: {figures}");
    assert_eq!(figures["monthly_revenue"], 200_000, "{figures}");
    assert_eq!(figures["completed_revenue"], 150_000, "{figures}");
    assert_eq!(figures["completion_rate_bps"], 3_333, "{figures}");
    assert_eq!(figures["average_order_value"], 100_000, "{figures}");
    assert_eq!(figures["active_subscribers"], serde_json::Value::Null);
    assert_eq!(figures["package_popularity"], serde_json::Value::Null);
    assert_eq!(figures["revenue_trend"].as_array().unwrap().len(), 12);
    let (status, chart) = api.get("/analytics/status").await;
    assert_eq!(status, 200, "{chart}");
    assert_eq!(chart["series"], json!(["orders"]));
    let delivered = chart["points"]
        .as_array()
        .unwrap()
        .iter()
        .find(|point| point["label"] == "delivered")
        .unwrap();
    assert_eq!(delivered["values"], json!([1]), "{chart}");
    let (status, body) = api.get("/analytics/packages").await;
    assert_eq!(status, 404, "no tokens module: {body}");
    let (status, body) = api.get("/analytics/pie").await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"]["field"], "chart", "{body}");

    // The page: figures, the charts as accessible SVG, the CSV links.
    let page = admin.get_text("/analytics").await;
    assert!(
        page.contains("href=\"/analytics\""),
        "the menu links it: {page}"
    );
    assert!(page.contains("data-figure=\"revenue\""), "{page}");
    assert!(page.contains("2,000.00"), "{page}");
    assert!(page.contains("33.33%"), "{page}");
    for chart in ["revenue", "status", "customers"] {
        assert!(
            page.contains(&format!("id=\"chart-{chart}\"")),
            "{chart}: {page}"
        );
        assert!(
            page.contains(&format!("href=\"/analytics/{chart}.csv\"")),
            "{chart}: {page}"
        );
    }
    assert!(!page.contains("id=\"chart-packages\""), "{page}");
    assert_eq!(page.matches("role=\"img\"").count(), 3, "{page}");

    // The CSV of the revenue chart: this month's row holds the API's figures.
    let response = admin.get("/analytics/revenue.csv").await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "text/csv; charset=utf-8"
    );
    assert!(
        response.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains("revenue.csv")
    );
    let csv = response.text().await.unwrap();
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some("month,orders,revenue,completed_revenue,unit")
    );
    let month = figures["revenue_trend"][11]["month"].as_str().unwrap();
    assert_eq!(
        lines.last(),
        Some(format!("{month},3,2000.00,1500.00,USD").as_str()),
        "{csv}"
    );

    // The OpenAPI document describes both endpoints.
    let document = admin.get_text("/api/v1/openapi.json").await;
    assert!(document.contains("\"/api/v1/analytics\""), "{document}");
    assert!(
        document.contains("\"/api/v1/analytics/{chart}\""),
        "{document}"
    );
    assert!(document.contains("getAnalyticsChart"), "{document}");
}
