//! The client Mini App (issue 14): a validated `initData` names a Telegram account; its
//! customer reads their projects (active first), one project's summary with the daily
//! reports' feed paged newest first, decides change requests as themselves and reads their
//! reports' files; another client's project, a staff user's account and a stranger's get
//! nothing.

use crm_lib::ErrorKind;
use crm_lib::media::NewMedia;
use crm_lib::mini_app::{
    FEED_PAGE, InitData, WebAppKey, WebAppUser, client_actor_in, client_project_in, sign_init_data,
    user_json, validate_init_data,
};
use crm_lib::model::{
    Actor, AuditAction, ChangeRequestState, MediaKind, Module, ProjectId, ProjectState, ReportId,
    TelegramUserId, Timestamp,
};
use crm_lib::org::SettingsUpdate;
use crm_lib::projects::{Decision, NewChangeRequest, NewProject, NewReport};

use crate::support::{World, money};

const TOKEN: &str = "1000000:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

fn renovation() -> World {
    let world = World::with_template("renovation", "reno");
    world.lift_order_limit();
    world
}

/// `initData` of Telegram account `telegram_id`, signed with [`TOKEN`] now and validated.
fn init(telegram_id: i64, language: &str) -> InitData {
    let key = WebAppKey::of_token(TOKEN);
    let user = WebAppUser {
        id: TelegramUserId::new(telegram_id),
        first_name: "Client".into(),
        last_name: None,
        username: None,
        language_code: Some(language.into()),
    };
    let now = Timestamp::now();
    let auth_date = (now.millis() / 1000).to_string();
    let text = sign_init_data(
        &key,
        [
            ("auth_date", auth_date.as_str()),
            ("user", &user_json(&user)),
        ],
    );
    validate_init_data(&text, &key, now, 60).unwrap()
}

fn project_for(world: &World, client: &Actor, title: &str) -> ProjectId {
    world
        .crm
        .create_project(
            &world.manager,
            NewProject {
                client: World::customer_id(client),
                title: title.into(),
                address: "1 Main St".into(),
                budget: money("1000"),
                stages: vec!["Demolition".into(), "Finish".into()],
                ..NewProject::default()
            },
        )
        .unwrap()
        .id
}

fn report(world: &World, project: ProjectId, text: &str, media: Vec<NewMedia>) -> ReportId {
    let stage = world.crm.project(&world.manager, project).unwrap().stages[0]
        .stage
        .id;
    world
        .crm
        .add_daily_report(
            &world.manager,
            project,
            NewReport {
                stage,
                text: text.into(),
                media,
                voice: None,
            },
        )
        .unwrap()
        .id
}

#[test]
fn the_client_of_a_telegram_account_sees_their_projects_active_first_and_nobody_else_does() {
    let world = renovation();
    let client = world.customer(501, "Ekaterina");
    let done = project_for(&world, &client, "Bathroom");
    world
        .crm
        .set_project_state(&world.manager, done, ProjectState::Completed)
        .unwrap();
    let active = project_for(&world, &client, "Kitchen");
    let other = world.customer(502, "Oleg");
    project_for(&world, &other, "Garage");

    let home = world
        .crm
        .mini_app_home(world.org.id, &init(501, "ru"))
        .unwrap();
    assert_eq!(home.actor, client);
    assert_eq!(home.name, "Ekaterina");
    let ids: Vec<ProjectId> = home.projects.iter().map(|row| row.id).collect();
    assert_eq!(ids, vec![active, done]);

    // A Telegram account that is no customer here: a stranger, and a staff user's.
    let error = world
        .crm
        .mini_app_home(world.org.id, &init(999, "en"))
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::NotFound, "{error}");
    let code = world.crm.create_link_code(&world.manager).unwrap().code;
    let org = world.org.id;
    world
        .crm
        .write(move |tx| {
            tx.system()
                .redeem_link_code(org, &code, TelegramUserId::new(777))
        })
        .unwrap();
    let error = world
        .crm
        .mini_app_home(world.org.id, &init(777, "en"))
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::NotFound, "{error}");

    // With the projects module off, nobody is anyone's client here.
    world
        .crm
        .update_settings(
            &world.admin,
            SettingsUpdate {
                modules: vec![(Module::Projects, false)],
                ..SettingsUpdate::default()
            },
        )
        .unwrap();
    let error = world
        .crm
        .mini_app_home(world.org.id, &init(501, "ru"))
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::NotFound, "{error}");
}

#[test]
fn a_client_reads_only_their_own_project_and_staff_cannot_read_the_client_view() {
    let world = renovation();
    let client = world.customer(511, "A");
    let mine = project_for(&world, &client, "Mine");
    let other = world.customer(512, "B");
    let theirs = project_for(&world, &other, "Theirs");
    let org = world.org.id;

    let view = world
        .crm
        .mini_app_project(org, &init(511, "en"), mine, None)
        .unwrap();
    assert_eq!(view.project.id, mine);
    for (init, project) in [(init(511, "en"), theirs), (init(512, "en"), mine)] {
        let error = world
            .crm
            .mini_app_project(org, &init, project, None)
            .unwrap_err();
        assert_eq!(error.kind(), ErrorKind::NotFound, "{error}");
    }
    let error = world
        .crm
        .read(|view| client_project_in(view, &world.manager, mine, None))
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::NotFound, "{error}");
    let error = world
        .crm
        .mini_app_stamp(org, &init(512, "en"), mine)
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::NotFound, "{error}");
    // Their report's photo is theirs to read, not the other client's.
    report(
        &world,
        mine,
        "Walls down",
        vec![NewMedia::parse(b"\x89PNG\r\n\x1a\n mine".to_vec(), "image/png").unwrap()],
    );
    let view = world
        .crm
        .mini_app_project(org, &init(511, "en"), mine, None)
        .unwrap();
    let photo = view.feed.items[0].media[0].hash;
    assert_eq!(view.feed.items[0].media[0].kind, MediaKind::Photo);
    let file = world
        .crm
        .mini_app_media(org, &init(511, "en"), photo)
        .unwrap();
    assert_eq!(file.media.mime, "image/png");
    let error = world
        .crm
        .mini_app_media(org, &init(512, "en"), photo)
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::NotFound, "{error}");
    // The project's documents are listed for its client and downloadable by them alone.
    world
        .crm
        .add_project_document(
            &world.manager,
            mine,
            crm_lib::projects::NewDocument {
                title: "Договор".into(),
                file_name: "contract.pdf".into(),
                file: NewMedia::parse(b"%PDF-1.4 mine".to_vec(), "application/pdf").unwrap(),
            },
        )
        .unwrap();
    let view = world
        .crm
        .mini_app_project(org, &init(511, "en"), mine, None)
        .unwrap();
    assert_eq!(view.documents.len(), 1);
    assert_eq!(view.documents[0].title, "Договор");
    assert_eq!(view.documents[0].file_name, "contract.pdf");
    let contract = view.documents[0].file;
    let file = world
        .crm
        .mini_app_media(org, &init(511, "en"), contract)
        .unwrap();
    assert_eq!(file.media.mime, "application/pdf");
    let error = world
        .crm
        .mini_app_media(org, &init(512, "en"), contract)
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::NotFound, "{error}");
}

#[test]
fn the_feed_pages_newest_first_by_cursor_through_every_report_once() {
    let world = renovation();
    let client = world.customer(521, "A");
    let project = project_for(&world, &client, "Flat");
    let other_client = world.customer(522, "B");
    let other = project_for(&world, &other_client, "Other");
    let total = FEED_PAGE * 2 + 5;
    let mut written = Vec::new();
    for index in 0..total {
        written.push(report(&world, project, &format!("day {index}"), Vec::new()));
        // Another project's reports interleave in the same table and never show up here.
        report(&world, other, "elsewhere", Vec::new());
    }
    let actor = world
        .crm
        .read(|view| client_actor_in(view, world.org.id, &init(521, "en")))
        .unwrap();
    assert_eq!(actor, client);
    let mut seen = Vec::new();
    let mut before = None;
    let mut pages = 0;
    loop {
        let view = world
            .crm
            .read(|view| client_project_in(view, &client, project, before))
            .unwrap();
        pages += 1;
        assert!(view.feed.items.len() <= FEED_PAGE);
        assert!(
            view.feed
                .items
                .iter()
                .all(|item| item.text.starts_with("day "))
        );
        seen.extend(view.feed.items.iter().map(|item| item.id));
        match view.feed.next {
            Some(next) => before = Some(ReportId::new(next)),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    written.reverse();
    assert_eq!(seen, written, "newest first, each once");
}

#[test]
fn the_client_approves_in_the_mini_app_as_themselves_and_a_second_decision_is_a_conflict() {
    let world = renovation();
    let client = world.customer(531, "A");
    let project = project_for(&world, &client, "Flat");
    let org = world.org.id;
    let request = world
        .crm
        .create_change_request(
            &world.manager,
            project,
            NewChangeRequest {
                title: "Heated floor".into(),
                amount: money("250"),
                description: "9 m²".into(),
            },
        )
        .unwrap();
    let before = world
        .crm
        .mini_app_project(org, &init(531, "en"), project, None)
        .unwrap();
    assert_eq!(before.pending.len(), 1);
    assert!(before.actions.decide_change_request);
    assert_eq!(before.money.budget_total, money("1000"));

    // Another client cannot decide it.
    let error = world
        .crm
        .mini_app_decide(
            org,
            &init(532, "en"),
            project,
            request.id,
            Decision::Approve,
        )
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::NotFound, "{error}");

    let decided = world
        .crm
        .mini_app_decide(
            org,
            &init(531, "en"),
            project,
            request.id,
            Decision::Approve,
        )
        .unwrap();
    assert_eq!(decided.money.budget_total, money("1250"));
    let decided = decided.request;
    assert_eq!(decided.state, ChangeRequestState::Approved);
    assert_eq!(decided.decided_by, Some(client.who));
    let after = world
        .crm
        .mini_app_project(org, &init(531, "en"), project, None)
        .unwrap();
    assert_eq!(after.money.budget_total, money("1250"));
    assert_eq!(after.money.approved_changes, money("250"));
    assert_eq!(after.money.remaining, money("1250"));
    assert!(after.pending.is_empty() && after.decided.len() == 1);
    assert!(!after.actions.decide_change_request);
    assert_ne!(after.stamp, 0);

    let error = world
        .crm
        .mini_app_decide(org, &init(531, "en"), project, request.id, Decision::Reject)
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Conflict, "{error}");
    let again = world
        .crm
        .mini_app_project(org, &init(531, "en"), project, None)
        .unwrap();
    assert_eq!(again.money.budget_total, money("1250"));
    let audit = world
        .crm
        .audit_log(
            &world.admin,
            &crm_lib::audit::AuditFilter::default(),
            crm_lib::Page::first(50),
        )
        .unwrap();
    let decisions: Vec<_> = audit
        .items
        .iter()
        .filter(|entry| entry.action == AuditAction::ProjectChangeRequestApproved)
        .collect();
    assert_eq!(decisions.len(), 1, "audited once");
    assert_eq!(decisions[0].actor, client.who);
}
