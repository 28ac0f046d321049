//! A lead's main path in a real browser (headless chromium, see [`crate::webdriver`]): a
//! person plays a customer of the renovation firm in the `/sandbox` page and writes about
//! their flat; the AI (the fake OpenAI-compatible server of [`crate::leads`], replaying
//! `fixtures/ai/`) asks the area, then fills the slots; the lead's page, open in another
//! tab, shows the slots, the summary and the calls as they come; axe-core finds no
//! accessibility violation on it.

use std::time::{Duration, Instant};

use fantoccini::{Client, Locator};

use crate::browser::wait_until;
use crate::leads::{FakeAi, fake_ai, set_ai};
use crate::staff::{Api, login_admin};
use crate::support::spawn_app_with;
use crate::webdriver::{browser, click, fill, start_driver};

/// Waits until the sandbox chat shows a message containing `needle`.
async fn see(client: &Client, needle: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let shown: String = client
            .execute(
                "return document.getElementById('sandbox-messages').innerText",
                vec![],
            )
            .await
            .ok()
            .and_then(|value| value.as_str().map(str::to_string))
            .unwrap_or_default();
        if shown.contains(needle) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the sandbox never showed {needle:?}: {shown}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn say(client: &Client, text: &str) {
    fill(client, "#sandbox-compose textarea[name=text]", text).await;
    click(client, "#sandbox-compose button[type=submit]").await;
}

#[tokio::test]
async fn a_lead_chats_in_the_sandbox_and_its_slots_and_summary_appear_on_its_page() {
    let app = spawn_app_with(&["--template", "renovation"]);
    let fake = FakeAi::default();
    let base_url = fake_ai(fake.clone()).await;
    // The administrator's forced password change and the AI settings, over HTTP.
    let admin = login_admin(&app).await;
    let api = Api::new(&app, &admin.create_token("browser").await);
    set_ai(&api, &base_url).await;
    fake.will_answer(&["partial", "good"]);
    let axe = crate::tools::axe_source();

    let driver = start_driver().await;
    let client = browser(&driver).await;
    crate::browser::log_in(&client, &app, "admin", crate::staff::ADMIN_PASSWORD).await;
    client.goto(&app.url("/sandbox")).await.unwrap();
    fill(&client, "#sandbox-new input[name=first_name]", "Лида").await;
    click(&client, "#sandbox-new button[type=submit]").await;
    client
        .wait()
        .for_element(Locator::XPath(
            "(//div[@id='sandbox-messages']//button[@data-callback='lang:ru'])[last()]",
        ))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    see(&client, "Что вы хотите сделать?").await;
    say(&client, "Хочу капитальный ремонт квартиры").await;
    see(&client, "Какая площадь квартиры").await;
    let customer_tab = client.window().await.unwrap();

    // The lead's page in another tab, live; the customer answers in the first.
    let staff_tab = client.new_window(true).await.unwrap().handle;
    client.switch_to_window(staff_tab.clone()).await.unwrap();
    crate::browser::open_live(&client, &app, "/orders/1").await;
    let summary = client
        .find(Locator::Css("#lead .lead-summary"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        summary.contains("площадь и бюджет пока не названы"),
        "{summary}"
    );
    client.switch_to_window(customer_tab).await.unwrap();
    say(&client, "54 м², бюджет 1,5 млн").await;
    see(&client, "Где находится квартира").await;
    client.switch_to_window(staff_tab).await.unwrap();
    wait_until(
        &client,
        "const filled = document.querySelector('#lead [data-filled]'); return !!filled && filled.getAttribute('data-filled') === '3';",
        vec![],
        "three slots filled on the lead's page",
    )
    .await;
    let summary = client
        .find(Locator::Css("#lead .lead-summary"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        summary.contains("Капитальный ремонт квартиры 54 м²"),
        "{summary}"
    );
    let fields = client
        .find(Locator::Css("#ticket"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(fields.contains("54"), "{fields}");
    assert!(
        fields.contains("Капитальный") || fields.contains("Major"),
        "{fields}"
    );
    let applied = client
        .find_all(Locator::Css("#lead tr[data-outcome='applied']"))
        .await
        .unwrap()
        .len();
    assert_eq!(applied, 2);
    let report = crate::browser_pages::axe_violations(&client, &axe).await;
    assert!(report.is_empty(), "axe-core: {report:#?}");
    client.close().await.unwrap();
}
