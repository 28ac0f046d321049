//! The three-pane inbox (issue 12) through the real binary: the list's filters as each role
//! sees them, close, snooze and reopen from the conversation's actions, private notes, and
//! bad input refused without a change.

use crate::support::spawn_app;
use crate::web_helpers::{admin, page, post, sandbox_customer, user_with_role};

#[tokio::test]
async fn the_inbox_filters_and_actions_answer_each_role_as_crm_lib_says() {
    let app = spawn_app();
    let admin = admin(&app).await;
    let anna = sandbox_customer(&app, &admin, 9301).await;
    sandbox_customer(&app, &admin, 9302).await;
    // Boris wrote last: once his message is processed, he is at the top.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let boris = loop {
        let inbox = page(&app, &admin, "/chat").await;
        let top: Option<u64> = inbox
            .split("href=\"/chat/")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .and_then(|id| id.parse().ok());
        match top {
            Some(id) if id != anna => break id,
            _ => {
                assert!(std::time::Instant::now() < deadline, "{inbox}");
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
        }
    };
    let manager = user_with_role(&app, &admin, "mia", "manager").await;
    let worker = user_with_role(&app, &admin, "wes", "worker").await;
    let link = |customer: u64| format!("href=\"/chat/{customer}\"");

    // Everyone with chat_customers sees both; the studio runs no operators module, so there
    // are no "mine" and "unassigned" tabs.
    for session in [&admin, &manager] {
        let all = page(&app, session, "/chat").await;
        assert!(
            all.contains(&link(anna)) && all.contains(&link(boris)),
            "{all}"
        );
        assert!(all.contains("data-filter=\"closed\""), "{all}");
        assert!(!all.contains("data-filter=\"mine\""), "{all}");
    }
    // Staff without chat_customers get no inbox and change nothing.
    let refused = worker.client.get(app.url("/chat")).send().await.unwrap();
    assert_eq!(refused.status(), 403);
    let refused = post(&app, &worker, &format!("/chat/{anna}/close"), &[]).await;
    assert_eq!(refused.status(), 403);
    assert!(page(&app, &manager, "/chat").await.contains(&link(anna)));

    // The three panes: the selected conversation with its actions and details.
    let selected = page(&app, &manager, &format!("/chat/{anna}")).await;
    for part in [
        "class=\"inbox-list\"",
        "id=\"chat-messages\"",
        "id=\"inbox-details\"",
        "data-action=\"close\"",
        "data-action=\"snooze\"",
        "data-action=\"note\"",
        "Hello, is my order on its way?",
    ] {
        assert!(selected.contains(part), "{part}: {selected}");
    }

    // Close: Anna moves from "all" to "closed".
    let closed = post(&app, &manager, &format!("/chat/{anna}/close"), &[]).await;
    assert_eq!(closed.status(), 303);
    assert!(!page(&app, &manager, "/chat").await.contains(&link(anna)));
    let closed_list = page(&app, &manager, "/chat?filter=closed").await;
    assert!(
        closed_list.contains(&format!("href=\"/chat/{anna}?filter=closed\"")),
        "{closed_list}"
    );
    let again = post(&app, &manager, &format!("/chat/{anna}/close"), &[]).await;
    assert_eq!(again.status(), 409, "closed already");

    // Snooze: bad lengths are refused and change nothing; an hour moves Boris to "snoozed".
    for minutes in ["0", "43201", "soon"] {
        let bad = post(
            &app,
            &manager,
            &format!("/chat/{boris}/snooze"),
            &[("minutes", minutes)],
        )
        .await;
        assert!(
            bad.status().is_client_error(),
            "{minutes}: {}",
            bad.status()
        );
    }
    assert!(page(&app, &manager, "/chat").await.contains(&link(boris)));
    let snoozed = post(
        &app,
        &manager,
        &format!("/chat/{boris}/snooze"),
        &[("minutes", "60")],
    )
    .await;
    assert_eq!(snoozed.status(), 303);
    assert!(!page(&app, &manager, "/chat").await.contains(&link(boris)));
    assert!(
        page(&app, &manager, "/chat?filter=snoozed")
            .await
            .contains(&format!("href=\"/chat/{boris}?filter=snoozed\""))
    );

    // Reopen wakes Boris and opens Anna.
    for customer in [anna, boris] {
        let reopened = post(&app, &manager, &format!("/chat/{customer}/reopen"), &[]).await;
        assert_eq!(reopened.status(), 303);
    }
    let all = page(&app, &manager, "/chat").await;
    assert!(
        all.contains(&link(anna)) && all.contains(&link(boris)),
        "{all}"
    );

    // A private note shows in the details pane; an empty one is refused.
    let noted = post(
        &app,
        &manager,
        &format!("/chat/{anna}/note"),
        &[("text", "Call back after lunch")],
    )
    .await;
    assert_eq!(noted.status(), 303);
    let selected = page(&app, &manager, &format!("/chat/{anna}")).await;
    assert!(selected.contains("Call back after lunch"), "{selected}");
    let empty = post(
        &app,
        &manager,
        &format!("/chat/{anna}/note"),
        &[("text", " ")],
    )
    .await;
    assert!(empty.status().is_client_error(), "{}", empty.status());

    // Search and a bad filter.
    let found = page(&app, &manager, "/chat?q=%D0%B6%D0%B8%D0%B2%D0%BE%D0%B9").await;
    assert!(
        found.contains(&format!("href=\"/chat/{anna}?q=")),
        "{found}"
    );
    let nobody = page(&app, &manager, "/chat?q=nobody-at-all").await;
    assert!(!nobody.contains(&link(anna)), "{nobody}");
    let bad = manager
        .client
        .get(app.url("/chat?filter=everything"))
        .send()
        .await
        .unwrap();
    assert!(bad.status().is_client_error(), "{}", bad.status());
}
