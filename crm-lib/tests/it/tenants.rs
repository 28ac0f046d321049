//! Several organizations in one store (issue 14): creating one with its owner, listing,
//! renaming, disabling (sessions end, logins and tokens are refused, queues wait, data stays)
//! and enabling again, bot tokens, and the login's choice of organization.

use crm_lib::{
    Crm, ErrorKind, Password,
    model::{Actor, AuditAction, BuiltinRole, ChatId, Origin, Timestamp},
    orders::NewOrder,
    telegram::InboxPut,
    tenants::NewTenant,
};

use crate::support::{World, password, profile};

const TOKEN: &str = "123456:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw1";

fn tenant(slug: Option<&str>, name: &str, owner: &str) -> NewTenant {
    NewTenant {
        template: "service".into(),
        name: name.into(),
        slug: slug.map(str::to_string),
        owner: owner.into(),
        owner_password: password(),
    }
}

fn origin() -> Origin {
    Origin {
        ip: Some("127.0.0.1".into()),
        user_agent: None,
    }
}

fn audit_entries(crm: &Crm, org: crm_lib::model::OrgId) -> Vec<crm_lib::model::AuditEntry> {
    crm.read(|view| {
        crm_lib::audit::audit_in(
            view,
            &Actor::system(org),
            &crm_lib::audit::AuditFilter::default(),
            crm_lib::Page::first(crm_lib::Page::MAX),
        )
    })
    .unwrap()
    .items
}

fn audit_actions(crm: &Crm, org: crm_lib::model::OrgId) -> Vec<AuditAction> {
    audit_entries(crm, org)
        .iter()
        .map(|entry| entry.action)
        .collect()
}

#[test]
fn an_organization_is_created_with_its_owner_an_administrator_who_must_change_the_password() {
    let world = World::new();
    let created = world
        .crm
        .system()
        .create_tenant(tenant(None, "Beta Repairs, Ltd.", "boss"))
        .unwrap();
    let org = &created.organization;
    assert_eq!(org.slug, "beta-repairs-ltd", "derived from the name");
    assert_eq!(org.template, "service");
    assert_eq!(org.owner, Some(created.owner.id));
    assert!(org.is_enabled());
    assert!(created.owner.must_change_password);
    let roles = world
        .crm
        .user_roles(&Actor::system(org.id), created.owner.id)
        .unwrap();
    assert_eq!(roles[0].builtin, Some(BuiltinRole::Administrator));
    // The owner logs in to their organization, not to the first one.
    let session = world
        .crm
        .login_at(
            Some("beta-repairs-ltd"),
            "boss",
            "correct horse battery",
            &origin(),
            None,
        )
        .unwrap();
    assert_eq!(session.session.org, org.id);
    let actions = audit_actions(&world.crm, org.id);
    for action in [
        AuditAction::OrganizationCreated,
        AuditAction::UserCreated,
        AuditAction::OrganizationOwnerSet,
    ] {
        assert!(actions.contains(&action), "{action:?} in {actions:?}");
    }
    let refused = world
        .crm
        .system()
        .create_tenant(tenant(Some("beta-repairs-ltd"), "Again", "boss"))
        .unwrap_err();
    assert_eq!(refused.kind(), ErrorKind::Conflict, "{refused}");
    let refused = world
        .crm
        .system()
        .create_tenant(tenant(Some("x"), "Short", "boss"))
        .unwrap_err();
    assert_eq!(refused.kind(), ErrorKind::InvalidInput, "{refused}");
    let refused = world
        .crm
        .system()
        .create_tenant(tenant(Some("gamma"), "Gamma", "!"))
        .unwrap_err();
    assert_eq!(refused.kind(), ErrorKind::InvalidInput, "{refused}");
    let refused = world
        .crm
        .system()
        .create_tenant(NewTenant {
            template: "bakery".into(),
            ..tenant(Some("gamma"), "Gamma", "boss")
        })
        .unwrap_err();
    assert_eq!(refused.field(), Some("template"), "{refused}");
    assert!(
        world.crm.system().organization_by_slug("gamma").is_err(),
        "a refused creation leaves nothing"
    );
    assert!(world.crm.system().verify().unwrap().is_clean());
}

#[test]
fn usernames_are_unique_within_an_organization_and_the_login_names_the_organization() {
    let world = World::new();
    // World's studio has an administrator "admin"; the second organization's owner is
    // "admin" too, with another password.
    let beta = world
        .crm
        .system()
        .create_tenant(NewTenant {
            owner_password: Password::parse("another long secret").unwrap(),
            ..tenant(Some("beta"), "Beta", "admin")
        })
        .unwrap();
    assert!(world.crm.system().login_needs_organization().unwrap());
    let refused = world
        .crm
        .login_at(None, "admin", "correct horse battery", &origin(), None)
        .unwrap_err();
    assert_eq!(refused.kind(), ErrorKind::InvalidInput);
    assert_eq!(refused.field(), Some("organization"));
    let acme = world
        .crm
        .login_at(
            Some("acme"),
            "admin",
            "correct horse battery",
            &origin(),
            None,
        )
        .unwrap();
    assert_eq!(acme.session.org, world.org.id);
    let beta_session = world
        .crm
        .login_at(
            Some(" BETA "),
            "admin",
            "another long secret",
            &origin(),
            None,
        )
        .unwrap();
    assert_eq!(beta_session.session.org, beta.organization.id);
    // Each password opens its own organization only; an unknown organization answers as a
    // wrong password does.
    for (slug, password) in [
        ("beta", "correct horse battery"),
        ("acme", "another long secret"),
        ("nowhere", "correct horse battery"),
    ] {
        let refused = world
            .crm
            .login_at(Some(slug), "admin", password, &origin(), None)
            .unwrap_err();
        assert_eq!(refused.kind(), ErrorKind::PermissionDenied, "{slug}");
        assert_eq!(refused.message(), "wrong username or password", "{slug}");
    }
    // With one organization enabled, the login needs no organization.
    world.crm.system().disable_organization("beta").unwrap();
    assert!(!world.crm.system().login_needs_organization().unwrap());
    let only = world
        .crm
        .login_at(None, "admin", "correct horse battery", &origin(), None)
        .unwrap();
    assert_eq!(only.session.org, world.org.id);
}

#[test]
fn disabling_ends_sessions_refuses_logins_and_tokens_pauses_queues_and_keeps_the_data() {
    let world = World::new();
    let crm = &world.crm;
    let beta = crm
        .system()
        .create_tenant(tenant(Some("beta"), "Beta", "owner"))
        .unwrap()
        .organization;
    let owner = Actor::staff(beta.id, beta.owner.unwrap());
    crm.set_password(&owner, beta.owner.unwrap(), &password(), false)
        .unwrap();
    let session = crm
        .login_at(
            Some("beta"),
            "owner",
            "correct horse battery",
            &origin(),
            None,
        )
        .unwrap();
    let token = crm
        .create_api_token(&owner, beta.owner.unwrap(), "script")
        .unwrap();
    let secret = token.secret.expose().to_string();
    assert_eq!(
        crm.authenticate_bearer(&secret).unwrap().actor.org,
        beta.id,
        "a token names its organization"
    );
    let customer = crm
        .system()
        .upsert_telegram_customer(beta.id, profile(5001, "Vera"))
        .unwrap();
    let order = crm
        .create_order(
            &Actor::customer(beta.id, customer.id),
            NewOrder {
                title: "Fix the roof".into(),
                description: "It leaks".into(),
                ..NewOrder::default()
            },
        )
        .unwrap();
    crm.system()
        .reply(
            beta.id,
            ChatId::new(5001),
            crm_lib::model::BotReply::Text {
                text: "hello".into(),
                keyboard: None,
            },
        )
        .unwrap();
    let due = |crm: &Crm| {
        crm.system()
            .due_outbox(Timestamp::now().plus_millis(60_000), 100)
            .unwrap()
            .into_iter()
            .filter(|item| item.org == beta.id)
            .count()
    };
    assert!(due(crm) > 0, "beta's items are due while it is enabled");

    let switched = crm.system().disable_organization("beta").unwrap();
    assert_eq!(switched.sessions_ended, 1);
    assert!(switched.organization.disabled.is_some());
    // The session is gone, a new login is refused with a clear message, the token refused.
    assert_eq!(
        crm.session(session.hash, i64::MAX, None)
            .unwrap_err()
            .kind(),
        ErrorKind::NotFound
    );
    let refused = crm
        .login_at(
            Some("beta"),
            "owner",
            "correct horse battery",
            &origin(),
            None,
        )
        .unwrap_err();
    assert_eq!(refused.kind(), ErrorKind::Conflict);
    assert!(refused.message().contains("disabled"), "{refused}");
    assert_eq!(
        crm.authenticate_bearer(&secret).unwrap_err().kind(),
        ErrorKind::PermissionDenied
    );
    // Its inbox refuses updates as busy (Telegram sends them again), its outbox waits.
    let busy = crm
        .system()
        .inbox_put(beta.id, 900, "{\"update_id\":900}".into(), 100)
        .unwrap_err();
    assert_eq!(busy.kind(), ErrorKind::Busy);
    assert_eq!(due(crm), 0, "a disabled organization's outbox waits");
    // Its data stays, the first organization goes on.
    assert_eq!(
        crm.order(&Actor::system(beta.id), order.id).unwrap().title,
        "Fix the roof"
    );
    assert!(
        crm.login_at(
            Some("acme"),
            "admin",
            "correct horse battery",
            &origin(),
            None
        )
        .is_ok()
    );
    assert_eq!(
        crm.system()
            .disable_organization("beta")
            .unwrap_err()
            .kind(),
        ErrorKind::Conflict
    );

    let enabled = crm.system().enable_organization("beta").unwrap();
    assert!(enabled.organization.is_enabled());
    assert!(
        crm.login_at(
            Some("beta"),
            "owner",
            "correct horse battery",
            &origin(),
            None
        )
        .is_ok()
    );
    assert_eq!(crm.authenticate_bearer(&secret).unwrap().actor.org, beta.id);
    assert_eq!(
        crm.system()
            .inbox_put(beta.id, 900, "{\"update_id\":900}".into(), 100)
            .unwrap(),
        InboxPut::Inserted
    );
    assert!(due(crm) > 0, "its outbox resumes");
    let actions = audit_actions(crm, beta.id);
    assert!(actions.contains(&AuditAction::OrganizationDisabled));
    assert!(actions.contains(&AuditAction::OrganizationEnabled));
    assert!(crm.system().verify().unwrap().is_clean());
}

#[test]
fn organizations_are_listed_renamed_and_given_a_bot_token_that_no_other_may_hold() {
    let world = World::new();
    let crm = &world.crm;
    crm.system()
        .create_tenant(tenant(Some("beta"), "Beta", "owner"))
        .unwrap();
    let rows = crm.system().tenants().unwrap();
    assert_eq!(rows.len(), 2);
    let beta = &rows[1];
    assert_eq!(
        (beta.slug.as_str(), beta.owner.as_deref(), beta.staff),
        ("beta", Some("owner"), 1)
    );
    assert_eq!(beta.bot_state(), "emulated");
    assert_eq!(rows[0].staff, 5, "the world's studio has five staff");
    assert_eq!(rows[0].owner, None, "made without one by the embedding API");

    let renamed = crm
        .system()
        .rename_organization("beta", "Beta Ltd")
        .unwrap();
    assert_eq!(
        (renamed.slug.as_str(), renamed.name.as_str()),
        ("beta", "Beta Ltd")
    );
    assert_eq!(
        crm.system()
            .rename_organization("beta", "")
            .unwrap_err()
            .kind(),
        ErrorKind::InvalidInput
    );
    assert_eq!(
        crm.system()
            .rename_organization("nowhere", "X")
            .unwrap_err()
            .kind(),
        ErrorKind::NotFound
    );

    let refused = crm
        .system()
        .set_bot_token("beta", Some("12345:short"))
        .unwrap_err();
    assert_eq!(refused.field(), Some("bot_token"));
    assert!(!refused.to_string().contains("12345:short"), "{refused}");
    let set = crm.system().set_bot_token("beta", Some(TOKEN)).unwrap();
    assert_eq!(set.settings.bot_token, None, "never handed back");
    assert_eq!(
        crm.system().tenants().unwrap()[1].bot_state(),
        "token",
        "the list says a token is set"
    );
    let stored = crm.system().organization_by_slug("beta").unwrap();
    assert_eq!(stored.settings.bot_token.as_deref(), Some(TOKEN));
    let taken = crm.system().set_bot_token("acme", Some(TOKEN)).unwrap_err();
    assert_eq!(taken.kind(), ErrorKind::Conflict);
    assert!(!taken.to_string().contains(TOKEN), "{taken}");
    let removed = crm.system().set_bot_token("beta", None).unwrap();
    assert_eq!(removed.slug, "beta");
    assert_eq!(
        crm.system()
            .organization_by_slug("beta")
            .unwrap()
            .settings
            .bot_token,
        None
    );
    let actions = audit_actions(crm, stored.id);
    assert!(actions.contains(&AuditAction::OrganizationRenamed));
    assert_eq!(
        actions
            .iter()
            .filter(|action| **action == AuditAction::OrganizationBotTokenChanged)
            .count(),
        2
    );
    // No audit entry holds the token.
    let audit = audit_entries(crm, stored.id);
    assert!(!format!("{audit:?}").contains(TOKEN));
}

#[test]
fn a_disabled_organization_s_broadcasts_and_webhook_deliveries_wait_and_resume() {
    let world = World::new();
    let crm = &world.crm;
    let beta = crm
        .system()
        .create_tenant(tenant(Some("beta"), "Beta", "owner"))
        .unwrap()
        .organization;
    let owner = Actor::staff(beta.id, beta.owner.unwrap());
    crm.create_webhook(
        &owner,
        crm_lib::webhooks::WebhookInput {
            url: "https://erp.example/hook".into(),
            description: String::new(),
            events: vec!["customer.created".into()],
            enabled: true,
        },
    )
    .unwrap();
    crm.system()
        .upsert_telegram_customer(beta.id, profile(6001, "Ira"))
        .unwrap();
    let broadcast = crm
        .create_broadcast(
            &owner,
            crm_lib::broadcasts::BroadcastDraft {
                title: "News".into(),
                text: "Hello".into(),
                audience: crm_lib::model::Audience::default(),
                rate_per_second: 10,
            },
        )
        .unwrap();
    crm.start_broadcast(&owner, broadcast.id).unwrap();
    let later = Timestamp::now().plus_millis(60_000);
    let seen = |crm: &Crm| {
        let broadcasts = crm
            .system()
            .active_broadcasts()
            .unwrap()
            .iter()
            .filter(|active| active.org == beta.id)
            .count();
        let deliveries = crm
            .system()
            .due_webhooks(later, 100)
            .unwrap()
            .iter()
            .filter(|due| due.org == beta.id)
            .count();
        (broadcasts, deliveries)
    };
    assert_eq!(seen(crm), (1, 1));
    assert!(crm.system().next_webhook_due().unwrap().is_some());

    crm.system().disable_organization("beta").unwrap();
    assert_eq!(seen(crm), (0, 0), "nothing of beta's is handed out");
    assert_eq!(
        crm.system()
            .feed_broadcast(beta.id, broadcast.id, 10)
            .unwrap(),
        0,
        "its recipients stay where they are"
    );
    assert_eq!(
        crm.system().next_webhook_due().unwrap(),
        None,
        "the sender is not woken for a disabled organization"
    );
    assert!(
        crm.system()
            .prepare_jobs()
            .unwrap()
            .iter()
            .all(|due| due.org != beta.id)
    );
    // Its data is all there.
    assert_eq!(
        crm.broadcast(&owner, broadcast.id).unwrap().broadcast.state,
        crm_lib::model::BroadcastState::Sending
    );

    crm.system().enable_organization("beta").unwrap();
    assert_eq!(seen(crm), (1, 1), "both resume");
    assert_eq!(
        crm.system()
            .feed_broadcast(beta.id, broadcast.id, 10)
            .unwrap(),
        1
    );
}
