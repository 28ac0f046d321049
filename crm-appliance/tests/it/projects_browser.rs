//! A project's main path in a real browser (headless chromium, see [`crate::webdriver`]): the
//! manager opens a won lead's order, clicks "Create project", makes it with its stages, adds a
//! stage, then an expense with a proof photo uploaded from the disk, and sees the money
//! summary change; an income entered meanwhile through the API shows on the open page live
//! (`/events`, no reload); axe-core finds no violation on the form or the project page.

use crate::browser::{log_in, not_reloaded, path_of, submit, wait_until};
use crate::projects::{PNG, browser_of, won_lead};
use crate::staff::Api;
use crate::support::spawn_app_with;
use crate::web_helpers;
use crate::webdriver::{browser, click, fill, start_driver};
use fantoccini::Locator;

/// A script's helper: the digits of an element's text (amounts read the same in English,
/// `12,500.00`, and Russian, `12 500,00`).
const DIGITS: &str =
    "const digits = (id) => document.getElementById(id).textContent.replace(/\\D/g, '');";

#[tokio::test]
async fn a_manager_makes_a_project_from_a_won_lead_adds_a_stage_and_an_expense_and_sees_the_totals()
{
    let app = spawn_app_with(&["--template", "renovation"]);
    let administrator = web_helpers::admin(&app).await;
    let token = browser_of(&app, &administrator).create_token("setup").await;
    let api = Api::new(&app, &token);
    let (_, lead) = won_lead(&api, 7_200_000_001).await;
    let axe = crate::tools::axe_source();

    let driver = start_driver().await;
    let client = browser(&driver).await;
    log_in(
        &client,
        &app,
        "admin",
        &format!("{}-changed", app.admin_password),
    )
    .await;
    client
        .goto(&app.url(&format!("/orders/{lead}")))
        .await
        .unwrap();
    assert_eq!(
        submit(&client, &format!("a[href='/projects/new?lead={lead}']")).await,
        format!("/projects/new?lead={lead}")
    );
    let mut report = crate::browser_pages::axe_violations(&client, &axe).await;
    fill(&client, "input[name=address]", "Москва, Профсоюзная, 104").await;
    fill(&client, "textarea[name=stages]", "Демонтаж\nЭлектрика").await;
    assert_eq!(
        submit(&client, "form.project-form button[type=submit]").await,
        "/projects/1?done=created"
    );
    wait_until(
        &client,
        &format!("{DIGITS} return digits('money-budget') === '1250000';"),
        vec![],
        "the lead's budget",
    )
    .await;

    // A third stage through its form.
    fill(&client, "form.stage-form input[name=name]", "Отделка").await;
    assert_eq!(
        submit(&client, "form.stage-form button[type=submit]").await,
        "/projects/1?done=stage"
    );
    wait_until(
        &client,
        "return document.querySelectorAll('ol.stages > li').length === 3;",
        vec![],
        "three stages",
    )
    .await;

    // An expense on the first stage with a proof photo from the disk.
    let receipt = driver.dir().join("receipt.png");
    std::fs::write(&receipt, PNG).unwrap();
    fill(&client, "form.entry-form input[name=amount]", "1500.50").await;
    fill(&client, "form.entry-form input[name=note]", "Кабель ВВГнг").await;
    client
        .find(Locator::Css(
            "form.entry-form select[name=stage] option:nth-child(2)",
        ))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    client
        .find(Locator::Css("form.entry-form input[name=proof]"))
        .await
        .unwrap()
        .send_keys(&receipt.display().to_string())
        .await
        .unwrap();
    assert_eq!(
        submit(&client, "form.entry-form button[type=submit]").await,
        "/projects/1?done=entry"
    );
    wait_until(
        &client,
        &format!(
            "{DIGITS} return digits('money-spent') === '150050' && \
             digits('money-remaining') === '1099950' && \
             !!document.querySelector('.project-timeline a[href^=\"/media/\"]');"
        ),
        vec![],
        "the spent and remaining figures and the proof in the timeline",
    )
    .await;
    report.extend(crate::browser_pages::axe_violations(&client, &axe).await);

    // An income entered through the API shows on the open page live.
    wait_until(
        &client,
        "return document.documentElement.getAttribute('data-live') === 'on'",
        vec![],
        "the project page's live stream",
    )
    .await;
    client
        .execute("window.crmNotReloaded = true; return true", vec![])
        .await
        .unwrap();
    let income = reqwest::multipart::Form::new()
        .text("kind", "income")
        .text("amount", "4000")
        .text("category", "client_payment");
    let response = api
        .client
        .post(format!("{}/projects/1/entries", api.base))
        .bearer_auth(&api.token)
        .multipart(income)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    wait_until(
        &client,
        &format!("{DIGITS} return digits('money-income') === '400000';"),
        vec![],
        "the income, live",
    )
    .await;
    assert!(not_reloaded(&client).await, "refreshed in place");
    assert_eq!(path_of(&client).await, "/projects/1?done=entry");
    click(&client, "nav.main-nav a[href='/projects']").await;
    wait_until(
        &client,
        "return !!document.querySelector('table.projects tr[data-project=\"1\"]');",
        vec![],
        "the project in the list",
    )
    .await;
    report.extend(crate::browser_pages::axe_violations(&client, &axe).await);
    assert!(report.is_empty(), "axe-core: {report:#?}");
    client.close().await.unwrap();
}
