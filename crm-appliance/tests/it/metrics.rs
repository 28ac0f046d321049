//! /metrics: Prometheus text with request counts and latency buckets by route template, and
//! the outbox and inbox depths, for loopback clients only.

use crate::support::spawn_app;

#[tokio::test]
async fn metrics_count_requests_by_route_template_and_show_the_queue_depths() {
    let app = spawn_app();
    let client = reqwest::Client::new();
    for _ in 0..3 {
        assert_eq!(
            client
                .get(app.url("/healthz"))
                .send()
                .await
                .unwrap()
                .status(),
            200
        );
    }
    for id in [1, 2] {
        let status = client
            .get(app.url(&format!("/api/v1/orders/{id}")))
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(status, 401);
    }
    client
        .get(app.url("/no-such-page/123"))
        .send()
        .await
        .unwrap();

    let response = client.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "text/plain; version=0.0.4; charset=utf-8"
    );
    let text = response.text().await.unwrap();
    assert!(
        text.contains("http_requests_total{method=\"GET\",route=\"/healthz\",status=\"200\"} 3"),
        "{text}"
    );
    assert!(
        text.contains(
            "http_requests_total{method=\"GET\",route=\"/api/v1/orders/{id}\",status=\"401\"} 2"
        ),
        "one series per route template, not per path: {text}"
    );
    assert!(
        text.contains("route=\"unmatched\",status=\"404\""),
        "{text}"
    );
    assert!(!text.contains("no-such-page"));
    assert!(text.contains("# TYPE http_request_duration_seconds histogram"));
    assert!(text.contains(
        "http_request_duration_seconds_bucket{method=\"GET\",route=\"/healthz\",status=\"200\",le=\"+Inf\"} 3"
    ));
    assert!(text.contains(
        "http_request_duration_seconds_count{method=\"GET\",route=\"/healthz\",status=\"200\"} 3"
    ));
    for gauge in [
        "crm_outbox_depth ",
        "crm_inbox_depth ",
        "crm_sse_connections ",
    ] {
        assert!(
            text.lines()
                .any(|line| line.starts_with(gauge) && line[gauge.len()..].parse::<u64>().is_ok()),
            "{gauge}: {text}"
        );
    }
    // Every sample line parses as `name{labels} value`.
    for line in text.lines().filter(|line| !line.starts_with('#')) {
        let value = line.rsplit(' ').next().unwrap();
        assert!(value.parse::<f64>().is_ok(), "{line}");
    }
    // A reverse proxy on this machine connects from loopback on behalf of anyone: what it
    // forwards is refused (a non-loopback peer is refused too; see the unit test in
    // web/metrics.rs, which can play one).
    let forwarded = client
        .get(app.url("/metrics"))
        .header("X-Forwarded-For", "192.0.2.7")
        .send()
        .await
        .unwrap();
    assert_eq!(forwarded.status(), 403);
    assert!(
        forwarded.text().await.unwrap().contains("--metrics-public"),
        "the refusal names the setting"
    );
}

#[tokio::test]
async fn the_outbox_depth_follows_queued_notifications() {
    let app = spawn_app();
    let admin = crate::staff::login_admin(&app).await;
    let api = crate::staff::Api::new(&app, &admin.create_token("m").await);
    let customer = api.customer(7100, "Queue").await;
    let depth = |text: &str| -> u64 {
        text.lines()
            .find_map(|line| line.strip_prefix("crm_outbox_depth "))
            .unwrap()
            .parse()
            .unwrap()
    };
    let metrics = || async {
        reqwest::get(app.url("/metrics"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    };
    let before = depth(&metrics().await);
    let (status, _) = api
        .post(
            &format!("/customers/{customer}/messages"),
            serde_json::json!({"text": "hello"}),
        )
        .await;
    assert_eq!(status, 201);
    // The message waits in the outbox until delivery (the sandbox bot may take it quickly).
    let after = depth(&metrics().await);
    assert!(after + 1 >= before, "{before} -> {after}");
}
