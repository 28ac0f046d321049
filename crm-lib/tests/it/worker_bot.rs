//! The worker's bot (issue 14) as crm-lib decides it: staff phones (E.164, unique per
//! organization, the `users_by_phone` index), linking a Telegram account by the worker's own
//! shared contact and every refusal, the projects a worker reports on with their stages, and
//! a report or an entry made of files the bot stored before the transaction.

use crm_lib::audit::AuditFilter;
use crm_lib::media::NewMedia;
use crm_lib::model::{
    Actor, EntryCategory, EntryKind, Event, OutboxPayload, Recipient, TelegramUserId,
};
use crm_lib::projects::{NewEntry, NewProject, NewReport};
use crm_lib::team::{ContactLink, SharedContact};
use crm_lib::{ErrorKind, Page};

use crate::support::{World, money};

fn renovation() -> World {
    World::with_template("renovation", "reno")
}

fn own(telegram: i64, phone: &str) -> SharedContact {
    SharedContact {
        phone_number: phone.into(),
        user_id: Some(TelegramUserId::new(telegram)),
    }
}

fn link(world: &World, telegram: i64, contact: SharedContact) -> crm_lib::Result<ContactLink> {
    world
        .crm
        .system()
        .link_staff_by_contact(world.org.id, TelegramUserId::new(telegram), contact)
}

fn audit_count(world: &World, action: &str) -> usize {
    world
        .crm
        .audit_log(
            &world.admin,
            &AuditFilter {
                action: Some(action.into()),
                ..AuditFilter::default()
            },
            Page::first(100),
        )
        .unwrap()
        .items
        .len()
}

#[test]
fn a_staff_phone_is_cleaned_to_e164_unique_per_organization_and_audited() {
    let world = renovation();
    let worker = World::user_id(&world.worker);
    let user = world
        .crm
        .set_user_phone(&world.admin, worker, Some("8 (916) 123-45-67"))
        .unwrap();
    assert_eq!(user.phone.as_deref(), Some("+79161234567"));
    assert_eq!(audit_count(&world, "user.phone_changed"), 1);
    // The same phone again writes nothing.
    world
        .crm
        .set_user_phone(&world.admin, worker, Some("+7 916 123 45 67"))
        .unwrap();
    assert_eq!(audit_count(&world, "user.phone_changed"), 1);
    // Another user may not take it; bad text is refused; neither changes anything.
    let worker2 = World::user_id(&world.worker2);
    let taken = world
        .crm
        .set_user_phone(&world.admin, worker2, Some("79161234567"))
        .unwrap_err();
    assert_eq!(taken.kind(), ErrorKind::Conflict);
    let bad = world
        .crm
        .set_user_phone(&world.admin, worker2, Some("call me"))
        .unwrap_err();
    assert_eq!(bad.kind(), ErrorKind::InvalidInput);
    assert_eq!(bad.field(), Some("phone"));
    // Only who manages users sets phones.
    let denied = world
        .crm
        .set_user_phone(&world.worker, worker, Some("+79990000000"))
        .unwrap_err();
    assert_eq!(denied.kind(), ErrorKind::PermissionDenied);
    // Removing it frees the phone for another user.
    world
        .crm
        .set_user_phone(&world.admin, worker, None)
        .unwrap();
    let moved = world
        .crm
        .set_user_phone(&world.admin, worker2, Some("+79161234567"))
        .unwrap();
    assert_eq!(moved.phone.as_deref(), Some("+79161234567"));
    assert_eq!(audit_count(&world, "user.phone_changed"), 3);
    let report = world.crm.system().verify().unwrap();
    assert!(report.is_clean(), "{:#?}", report.problems);
}

#[test]
fn a_worker_s_own_contact_links_their_telegram_account_once() {
    let world = renovation();
    let worker = World::user_id(&world.worker);
    world
        .crm
        .set_user_phone(&world.admin, worker, Some("+79161234567"))
        .unwrap();
    // Telegram sends the phone without the plus.
    let linked = link(&world, 5001, own(5001, "79161234567")).unwrap();
    let ContactLink::Linked(user) = linked else {
        panic!("not linked: {linked:?}");
    };
    assert_eq!(user.id, worker);
    assert_eq!(user.telegram_id, Some(TelegramUserId::new(5001)));
    assert_eq!(
        world
            .crm
            .system()
            .user_by_telegram(world.org.id, TelegramUserId::new(5001))
            .unwrap()
            .map(|user| user.id),
        Some(worker)
    );
    assert!(world.outbox().iter().any(|item| {
        item.recipient == Recipient::Staff(worker)
            && matches!(
                item.payload,
                OutboxPayload::Notify(Event::StaffLinked { .. })
            )
    }));
    assert_eq!(audit_count(&world, "user.telegram_linked"), 1);
    // The account is linked now, and the user too: both refused, nothing written.
    let again = link(&world, 5001, own(5001, "+79161234567")).unwrap_err();
    assert_eq!(again.kind(), ErrorKind::Conflict);
    let other_account = link(&world, 5002, own(5002, "+79161234567")).unwrap_err();
    assert_eq!(other_account.kind(), ErrorKind::Conflict);
    assert_eq!(audit_count(&world, "user.telegram_linked"), 1);
    let report = world.crm.system().verify().unwrap();
    assert!(report.is_clean(), "{:#?}", report.problems);
}

#[test]
fn a_shared_contact_is_refused_for_another_s_contact_an_unknown_phone_a_disabled_user_and_no_projects_permission()
 {
    let world = renovation();
    let worker = World::user_id(&world.worker);
    let manager = World::user_id(&world.manager);
    let admin = World::user_id(&world.admin);
    world
        .crm
        .set_user_phone(&world.admin, worker, Some("+79161234567"))
        .unwrap();
    world
        .crm
        .set_user_phone(&world.admin, manager, Some("+79160000001"))
        .unwrap();
    // Someone else's contact (or one without a Telegram account) proves nothing.
    let another = link(&world, 5001, own(5002, "+79161234567")).unwrap_err();
    assert_eq!(another.kind(), ErrorKind::PermissionDenied);
    let no_account = link(
        &world,
        5001,
        SharedContact {
            phone_number: "+79161234567".into(),
            user_id: None,
        },
    )
    .unwrap_err();
    assert_eq!(no_account.kind(), ErrorKind::PermissionDenied);
    let not_a_phone = link(&world, 5001, own(5001, "hello")).unwrap_err();
    assert_eq!(not_a_phone.kind(), ErrorKind::InvalidInput);
    assert_eq!(audit_count(&world, "user.contact_refused"), 0);
    // An unknown phone: not on the team, audited.
    assert_eq!(
        link(&world, 5001, own(5001, "+79169999999")).unwrap(),
        ContactLink::NotOnTeam
    );
    // A role without the projects' permissions (a custom one) is not on the team either.
    world
        .crm
        .create_role(
            &world.admin,
            "bookkeeper",
            crm_lib::model::PermissionSet::EMPTY,
        )
        .unwrap();
    let admin_actor = world.admin.clone();
    world
        .crm
        .write(move |tx| tx.set_user_roles(&admin_actor, manager, vec!["bookkeeper".into()]))
        .unwrap();
    assert_eq!(
        link(&world, 5003, own(5003, "+79160000001")).unwrap(),
        ContactLink::NotOnTeam
    );
    // A disabled worker neither.
    world.crm.disable_user(&world.admin, worker).unwrap();
    assert_eq!(
        link(&world, 5001, own(5001, "+79161234567")).unwrap(),
        ContactLink::NotOnTeam
    );
    assert_eq!(audit_count(&world, "user.contact_refused"), 3);
    for user in [worker, manager, admin] {
        assert_eq!(
            world.crm.user(&world.admin, user).unwrap().telegram_id,
            None
        );
    }
    let report = world.crm.system().verify().unwrap();
    assert!(report.is_clean(), "{:#?}", report.problems);
}

#[test]
fn a_contact_links_nobody_while_the_projects_module_is_off() {
    let world = World::new();
    let worker = World::user_id(&world.worker);
    world
        .crm
        .set_user_phone(&world.admin, worker, Some("+79161234567"))
        .unwrap();
    let off = link(&world, 5001, own(5001, "+79161234567")).unwrap_err();
    assert_eq!(off.kind(), ErrorKind::NotFound);
}

#[test]
fn a_worker_lists_the_active_projects_they_are_on_with_stages_and_reports_with_stored_files() {
    let world = renovation();
    let client = world.customer(7001, "Client");
    let project = |title: &str| {
        world
            .crm
            .create_project(
                &world.manager,
                NewProject {
                    client: World::customer_id(&client),
                    title: title.into(),
                    address: "1 Main St".into(),
                    budget: money("1000"),
                    stages: vec!["Demolition".into(), "Wiring".into()],
                    ..NewProject::default()
                },
            )
            .unwrap()
    };
    let kitchen = project("Kitchen");
    let bathroom = project("Bathroom");
    project("Someone else's");
    for id in [kitchen.id, bathroom.id] {
        world
            .crm
            .set_project_workers(&world.manager, id, vec![World::user_id(&world.worker)])
            .unwrap();
    }
    world
        .crm
        .set_project_state(
            &world.manager,
            bathroom.id,
            crm_lib::model::ProjectState::Completed,
        )
        .unwrap();
    let mine = world.crm.worker_projects(&world.worker).unwrap();
    assert_eq!(mine.projects.len(), 1, "{mine:?}");
    let listed = &mine.projects[0];
    assert_eq!(listed.id, kitchen.id);
    let names: Vec<&str> = listed.stages.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["Demolition", "Wiring"]);
    assert!(listed.actions.add_report && listed.actions.add_entry);
    assert_eq!(mine.reportable().count(), 1);
    // Staff without the projects' permissions and customers have no worker's list.
    assert_eq!(
        world.crm.worker_projects(&client).unwrap_err().kind(),
        ErrorKind::PermissionDenied
    );

    // The bot stores each file before the update's transaction, then names it.
    let photo = |seed: u8| {
        let media = world
            .crm
            .system()
            .store_media(
                world.org.id,
                vec![0x89, b'P', b'N', b'G', seed],
                "image/png".into(),
            )
            .unwrap();
        NewMedia::stored(media.hash, &media.mime, media.size)
    };
    let voice = world
        .crm
        .system()
        .store_media(world.org.id, b"OggS voice".to_vec(), "audio/ogg".into())
        .unwrap();
    let report = world
        .crm
        .add_daily_report(
            &world.worker,
            kitchen.id,
            NewReport {
                stage: listed.stages[1].id,
                text: String::new(),
                media: vec![photo(1), photo(2), photo(3)],
                voice: Some(NewMedia::stored(voice.hash, &voice.mime, voice.size)),
            },
        )
        .unwrap();
    assert_eq!(report.media.len(), 3);
    assert_eq!(report.voice, Some(voice.hash));
    // A file the store does not hold, or holds as another type, is refused.
    let missing = world
        .crm
        .add_daily_report(
            &world.worker,
            kitchen.id,
            NewReport {
                stage: listed.stages[0].id,
                text: "x".into(),
                media: vec![NewMedia::stored(
                    crm_lib::media::media_hash(b"never stored"),
                    "image/png",
                    12,
                )],
                voice: None,
            },
        )
        .unwrap_err();
    assert_eq!(missing.kind(), ErrorKind::NotFound);
    let retyped = world
        .crm
        .add_daily_report(
            &world.worker,
            kitchen.id,
            NewReport {
                stage: listed.stages[0].id,
                text: "x".into(),
                media: vec![NewMedia::stored(voice.hash, "image/png", voice.size)],
                voice: None,
            },
        )
        .unwrap_err();
    assert_eq!(retyped.kind(), ErrorKind::NotFound);
    let entry = world
        .crm
        .add_project_entry(
            &world.worker,
            kitchen.id,
            NewEntry {
                kind: EntryKind::Expense,
                amount: money("120.50"),
                category: EntryCategory::Materials,
                note: String::new(),
                stage: Some(listed.stages[0].id),
                proof: Some(photo(9)),
                date: None,
            },
        )
        .unwrap();
    assert!(entry.proof.is_some());
    let _ = Actor::system(world.org.id);
    let verify = world.crm.system().verify().unwrap();
    assert!(verify.is_clean(), "{:#?}", verify.problems);
}
