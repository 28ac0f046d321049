//! A broadcast's main path in a real browser (headless chromium, see [`crate::webdriver`]):
//! the administrator opens "Broadcasts" from the menu, writes a broadcast to the Russian
//! speakers (the character counter follows the typing), sees the audience's count, starts it,
//! and watches the page follow the sending live (`/events`, no reload) until it reads
//! "finished" with every recipient sent; each sandbox customer of that language has the text
//! in their chat once, the English speaker none; axe-core finds no violation on the form, the
//! draft's page or the report.

use crate::bot_support::{Sandbox, User, start_customer, text};
use crate::browser::{log_in, not_reloaded, path_of, submit, wait_until};
use crate::support::spawn_app_with;
use crate::web_helpers;
use crate::webdriver::{browser, click, fill, start_driver};

#[tokio::test]
async fn staff_write_a_broadcast_to_one_language_start_it_and_watch_it_finish_live() {
    let app = spawn_app_with(&["--template", "service"]);
    // The forced password change, over HTTP.
    web_helpers::admin(&app).await;
    let sandbox = Sandbox::of(&app);
    let ru = [
        User::new(6_300_000_001, "Анна", "ru"),
        User::new(6_300_000_002, "Борис", "ru"),
        User::new(6_300_000_003, "Вера", "ru"),
    ];
    let en = User::new(6_300_000_004, "Emma", "en");
    for user in &ru {
        start_customer(&sandbox, user, "ru").await;
    }
    start_customer(&sandbox, &en, "en").await;
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
    assert_eq!(
        submit(&client, "nav.main-nav a[href='/broadcasts']").await,
        "/broadcasts"
    );
    assert_eq!(
        submit(&client, "a[href='/broadcasts/new']").await,
        "/broadcasts/new"
    );
    let mut report = crate::browser_pages::axe_violations(&client, &axe).await;

    let message = "Весенняя распродажа: −20% на токены до воскресенья!";
    fill(&client, "input[name=title]", "Spring sale").await;
    fill(&client, "textarea[name=text]", message).await;
    wait_until(
        &client,
        "return document.getElementById('broadcast-text-count').textContent === arguments[0];",
        vec![format!("{} of 3900 characters", message.chars().count()).into()],
        "the counter following the typing",
    )
    .await;
    click(&client, "input[name=languages][value=ru]").await;
    // One a second, so that the sending takes long enough to be watched.
    fill(&client, "input[name=rate_per_second]", "1").await;
    assert_eq!(
        submit(&client, "form.broadcast-form button[type=submit]").await,
        "/broadcasts/1?done=created"
    );
    wait_until(
        &client,
        "const count = document.getElementById('audience-count'); \
         return !!count && count.textContent === '3';",
        vec![],
        "the audience's count of three",
    )
    .await;
    report.extend(crate::browser_pages::axe_violations(&client, &axe).await);

    assert_eq!(
        submit(&client, "form[action='/broadcasts/1/start'] button").await,
        "/broadcasts/1?done=started"
    );
    wait_until(
        &client,
        "return document.documentElement.getAttribute('data-live') === 'on'",
        vec![],
        "the sending page's live stream",
    )
    .await;
    client
        .execute("window.crmNotReloaded = true; return true", vec![])
        .await
        .unwrap();
    wait_until(
        &client,
        "return !!document.querySelector('#broadcast-status [data-state=finished]') && \
         document.querySelectorAll('#broadcast-report tr[data-state=sent]').length === 3 && \
         document.querySelector('[data-count=sent] .stat-value').textContent === '3';",
        vec![],
        "the report of a finished broadcast, three sent",
    )
    .await;
    assert!(
        not_reloaded(&client).await,
        "the page followed the sending without a reload"
    );
    assert_eq!(path_of(&client).await, "/broadcasts/1?done=started");
    report.extend(crate::browser_pages::axe_violations(&client, &axe).await);

    // In the emulator: each Russian speaker's chat shows the text once, the English one none.
    for user in &ru {
        let received = sandbox
            .bot_messages(user.id)
            .await
            .iter()
            .filter(|bot| text(bot) == message)
            .count();
        assert_eq!(received, 1, "{}", user.first_name);
    }
    assert!(
        !sandbox
            .bot_messages(en.id)
            .await
            .iter()
            .any(|bot| text(bot) == message)
    );
    assert!(report.is_empty(), "axe-core: {report:#?}");
    client.close().await.unwrap();
}
