//! The analytics dashboard in a real browser (headless chromium, see [`crate::webdriver`]):
//! the administrator opens it from the menu, sees the figures and the charts (SVG images
//! with their labels), opens a chart's numbers, and downloads a chart's CSV through its link
//! (fetched with the page's session); axe-core finds no accessibility violation.

use fantoccini::Locator;
use serde_json::json;

use crate::browser::{log_in, submit};
use crate::staff::{Api, login};
use crate::support::spawn_app;
use crate::web_helpers;
use crate::webdriver::{browser, click, start_driver};

#[tokio::test]
async fn the_dashboard_opens_from_the_menu_shows_its_charts_and_downloads_a_csv() {
    let app = spawn_app();
    // The forced password change, over HTTP; an order to count.
    web_helpers::admin(&app).await;
    let password = format!("{}-changed", app.admin_password);
    let admin = login(&app, "admin", &password).await;
    let api = Api::new(&app, &admin.create_token("browser").await);
    let customer = api.customer(7_300, "Vera").await;
    let (status, order) = api
        .post(
            "/orders",
            json!({"customer": customer, "title": "Bakery bot", "description": "Menu", "budget": "1500"}),
        )
        .await;
    assert_eq!(status, 201, "{order}");
    let axe = crate::tools::axe_source();

    let driver = start_driver().await;
    let client = browser(&driver).await;
    log_in(&client, &app, "admin", &password).await;
    assert_eq!(
        submit(&client, "nav a[href='/analytics']").await,
        "/analytics"
    );
    let revenue = client
        .find(Locator::Css("[data-figure=revenue] .stat-value"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(revenue.contains("1,500.00"), "{revenue}");
    let charts = client
        .find_all(Locator::Css("svg.chart[role=img]"))
        .await
        .unwrap();
    assert_eq!(charts.len(), 3);
    let label = charts[1]
        .attr("aria-label")
        .await
        .unwrap()
        .unwrap_or_default();
    assert!(label.contains("1"), "{label}");
    click(&client, "#chart-status details summary").await;
    let table = client
        .find(Locator::Css("#chart-status table"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(table.contains("Pending moderation"), "{table}");

    // The CSV link, fetched as the browser would download it, with the session's cookie.
    let csv = client
        .execute_async(
            "const done = arguments[arguments.length - 1];
             fetch(document.querySelector('a[data-csv=status]').href)
               .then(response => response.text()).then(done, error => done(String(error)));",
            vec![],
        )
        .await
        .unwrap();
    let csv = csv.as_str().unwrap_or_default().to_string();
    assert!(csv.starts_with("stage_key,stage,kind,orders\n"), "{csv}");
    assert!(
        csv.contains("pending,Pending moderation,moderation,1\n"),
        "{csv}"
    );

    let report = crate::browser_pages::axe_violations(&client, &axe).await;
    assert!(report.is_empty(), "axe-core: {report:#?}");
}
