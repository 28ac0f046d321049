//! Projects (issue 14): made from a won lead or by hand; stages and progress; daily reports,
//! money entries and the estimate; change requests decided once by the client or on their
//! behalf; the budget arithmetic kept as counters; who may do what (managers, the workers put
//! on a project, the client, other staff); the timeline paged by a cursor; the client's
//! notifications and the webhooks; files only to the project's readers; `crm verify` over
//! all of it.

use crm_lib::audit::AuditFilter;
use crm_lib::media::NewMedia;
use crm_lib::model::{
    Actor, ChangeRequestState, EntryCategory, EntryKind, Event, Module, Money, Order,
    OutboxPayload, PermissionSet, ProjectId, ProjectState, Recipient, Timestamp,
};
use crm_lib::org::SettingsUpdate;
use crm_lib::projects::{
    Decision, NewChangeRequest, NewEntry, NewEstimateLine, NewProject, NewReport, NewStage,
    ProjectEdit, ProjectFilter, TimelineKind,
};
use crm_lib::webhooks::WebhookInput;
use crm_lib::{ErrorKind, Page};

use crate::support::{World, money};

fn renovation() -> World {
    let world = World::with_template("renovation", "reno");
    world.lift_order_limit();
    world
}

/// A lead of a new customer moved all the way to `won`.
fn won_lead(world: &World, telegram_id: i64) -> (Actor, Order) {
    let customer = world.customer(telegram_id, "Ekaterina");
    let order = world.order(&customer, "Flat renovation, 64 m²", Some("12500"));
    world.crm.approve_order(&world.manager, order.id).unwrap();
    world
        .crm
        .assign_order(
            &world.manager,
            order.id,
            crm_lib::orders::AssignTo::User(World::user_id(&world.worker)),
        )
        .unwrap();
    for key in ["measurement", "estimate", "contract", "won"] {
        world
            .crm
            .move_order(&world.system, order.id, world.stage(key))
            .unwrap();
    }
    let order = world.crm.order(&world.system, order.id).unwrap();
    (customer, order)
}

/// A project by hand for a new customer, with three stages, the worker put on it.
fn project(world: &World, telegram_id: i64, budget: &str) -> (Actor, ProjectId) {
    let client = world.customer(telegram_id, "Client");
    let project = world
        .crm
        .create_project(
            &world.manager,
            NewProject {
                client: World::customer_id(&client),
                title: "Kitchen".into(),
                address: "1 Main St".into(),
                budget: money(budget),
                stages: vec!["Demolition".into(), "Wiring".into(), "Finish".into()],
                ..NewProject::default()
            },
        )
        .unwrap();
    world
        .crm
        .set_project_workers(
            &world.manager,
            project.id,
            vec![World::user_id(&world.worker)],
        )
        .unwrap();
    (client, project.id)
}

fn stages(world: &World, id: ProjectId) -> Vec<crm_lib::model::ProjectStageId> {
    world
        .crm
        .project(&world.manager, id)
        .unwrap()
        .stages
        .into_iter()
        .map(|view| view.stage.id)
        .collect()
}

fn png() -> NewMedia {
    NewMedia::parse(b"\x89PNG\r\n\x1a\n a photo".to_vec(), "image/png").unwrap()
}

fn expense(amount: &str) -> NewEntry {
    NewEntry {
        kind: EntryKind::Expense,
        amount: money(amount),
        category: EntryCategory::Materials,
        note: "tiles".into(),
        stage: None,
        proof: None,
        date: None,
    }
}

fn change(amount: Money) -> NewChangeRequest {
    NewChangeRequest {
        title: "Heated floor".into(),
        amount,
        description: "9 m²".into(),
    }
}

fn verify_clean(world: &World) {
    let report = world.crm.system().verify().unwrap();
    assert!(report.is_clean(), "{:#?}", report.problems);
}

#[test]
fn a_project_is_made_from_a_won_lead_once_with_the_lead_s_client_title_and_budget() {
    let world = renovation();
    let (customer, lead) = won_lead(&world, 500);
    let draft = world
        .crm
        .project_draft(&world.manager, Some(lead.id))
        .unwrap()
        .project;
    assert_eq!(draft.client, World::customer_id(&customer));
    assert_eq!(draft.title, lead.title);
    assert_eq!(draft.budget, money("12500"));
    assert_eq!(draft.lead, Some(lead.id));
    let actions = world.crm.order_actions(&world.manager, lead.id).unwrap();
    assert!(actions.create_project && actions.project.is_none());

    let made = world
        .crm
        .create_project(&world.manager, draft.clone())
        .unwrap();
    assert_eq!(made.lead, Some(lead.id));
    assert_eq!(made.currency, "RUB");
    assert_eq!(made.state, ProjectState::Active);
    let actions = world.crm.order_actions(&world.manager, lead.id).unwrap();
    assert!(!actions.create_project);
    assert_eq!(actions.project, Some(made.id));

    let again = world.crm.create_project(&world.manager, draft).unwrap_err();
    assert_eq!(again.kind(), ErrorKind::Conflict, "{again}");
    assert!(
        again.to_string().contains("already has project 1"),
        "{again}"
    );

    // A lead that is not won, another customer as the client, an unknown order.
    let other = world.customer(501, "Other");
    let open = world.order(&other, "Bathroom", None);
    let error = world
        .crm
        .project_draft(&world.manager, Some(open.id))
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Conflict, "{error}");
    assert!(
        !world
            .crm
            .order_actions(&world.manager, open.id)
            .unwrap()
            .create_project
    );
    let (_, second) = won_lead(&world, 502);
    let error = world
        .crm
        .create_project(
            &world.manager,
            NewProject {
                client: World::customer_id(&other),
                lead: Some(second.id),
                title: "x".into(),
                ..NewProject::default()
            },
        )
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidInput);
    assert_eq!(error.field(), Some("client"));
    let error = world
        .crm
        .project_draft(&world.manager, Some(crm_lib::model::OrderId::new(999)))
        .unwrap_err();
    assert_eq!(error.field(), Some("lead"), "{error}");
    // A worker may not make projects, nor see the action.
    assert!(
        !world
            .crm
            .order_actions(&world.worker, second.id)
            .unwrap()
            .create_project
    );
    let error = world
        .crm
        .project_draft(&world.worker, Some(second.id))
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::PermissionDenied);
    verify_clean(&world);
}

#[test]
fn the_budget_is_the_base_plus_approved_changes_and_spent_and_income_are_the_entries() {
    let world = renovation();
    let (client, id) = project(&world, 600, "1000");
    let [demolition, wiring, _finish] = stages(&world, id)[..] else {
        panic!("three stages")
    };
    world
        .crm
        .add_project_entry(
            &world.worker,
            id,
            NewEntry {
                stage: Some(demolition),
                ..expense("150.50")
            },
        )
        .unwrap();
    world
        .crm
        .add_project_entry(&world.manager, id, expense("49.50"))
        .unwrap();
    world
        .crm
        .add_project_entry(
            &world.manager,
            id,
            NewEntry {
                kind: EntryKind::Income,
                category: EntryCategory::ClientPayment,
                ..expense("400")
            },
        )
        .unwrap();
    let up = world
        .crm
        .create_change_request(&world.manager, id, change(money("300")))
        .unwrap();
    let down = world
        .crm
        .create_change_request(&world.manager, id, change(Money::from_minor(-50_000)))
        .unwrap();
    let rejected = world
        .crm
        .create_change_request(&world.manager, id, change(money("1000")))
        .unwrap();
    world
        .crm
        .decide_change_request(&client, id, up.id, Decision::Approve)
        .unwrap();
    world
        .crm
        .decide_change_request(&world.manager, id, down.id, Decision::Approve)
        .unwrap();
    world
        .crm
        .decide_change_request(&client, id, rejected.id, Decision::Reject)
        .unwrap();

    let view = world.crm.project(&world.manager, id).unwrap();
    let project = &view.project;
    assert_eq!(project.budget_total(), money("800"), "1000 + 300 - 500");
    assert_eq!(project.totals.spent, money("200"));
    assert_eq!(project.totals.income, money("400"));
    assert_eq!(project.remaining(), money("600"));
    assert_eq!(project.totals.pending_changes, 0);
    assert_eq!(view.plan[0].spent, money("150.50"), "demolition's fact");
    assert_eq!(
        view.plan.last().unwrap().spent,
        money("49.50"),
        "on no stage"
    );
    // The list reads the same figures from its row.
    let list = world
        .crm
        .projects(&world.manager, &ProjectFilter::default(), Page::first(10))
        .unwrap();
    assert_eq!(list.rows[0].row.budget_total, money("800"));
    assert_eq!(list.rows[0].row.totals, project.totals);

    // The base may not be cut below what the approved changes took off; an approval may
    // not take the total below zero.
    let edit = |budget: &str| ProjectEdit {
        title: "Kitchen".into(),
        address: String::new(),
        budget: money(budget),
    };
    world
        .crm
        .update_project(&world.manager, id, edit("200"))
        .unwrap();
    let deep = world
        .crm
        .create_change_request(&world.manager, id, change(Money::from_minor(-100_000)))
        .unwrap();
    let error = world
        .crm
        .decide_change_request(&client, id, deep.id, Decision::Approve)
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Conflict, "{error}");
    assert_eq!(
        world
            .crm
            .project(&world.manager, id)
            .unwrap()
            .project
            .budget_total(),
        money("0"),
        "200 + 300 - 500"
    );
    let _ = wiring;
    verify_clean(&world);
}

#[test]
fn progress_is_the_stages_average_weighted_by_their_plan_once_every_stage_has_one() {
    let world = renovation();
    let (_, id) = project(&world, 700, "1000");
    let ids = stages(&world, id);
    world
        .crm
        .set_stage_progress(&world.manager, id, ids[0], 100)
        .unwrap();
    world
        .crm
        .set_stage_progress(&world.manager, id, ids[1], 50)
        .unwrap();
    let progress = |world: &World| {
        world
            .crm
            .project(&world.manager, id)
            .unwrap()
            .project
            .totals
            .progress
    };
    assert_eq!(progress(&world), 50, "(100 + 50 + 0) / 3");
    for (stage, planned) in ids.iter().zip(["100", "100", ""]) {
        if planned.is_empty() {
            continue;
        }
        world
            .crm
            .add_estimate_line(
                &world.manager,
                id,
                NewEstimateLine {
                    stage: *stage,
                    title: "work".into(),
                    planned: money(planned),
                },
            )
            .unwrap();
    }
    assert_eq!(progress(&world), 50, "one stage has no plan: equal weights");
    world
        .crm
        .add_estimate_line(
            &world.manager,
            id,
            NewEstimateLine {
                stage: ids[2],
                title: "finish".into(),
                planned: money("200"),
            },
        )
        .unwrap();
    assert_eq!(
        progress(&world),
        37,
        "(100*100 + 50*100 + 0*200) / 400, rounded down"
    );
    let view = world.crm.project(&world.manager, id).unwrap();
    assert_eq!(view.project.totals.planned, money("400"));
    assert_eq!(view.stages[2].lines.len(), 1);

    // Limits: 100 is the most, and setting what is there writes nothing.
    let error = world
        .crm
        .set_stage_progress(&world.manager, id, ids[0], 101)
        .unwrap_err();
    assert_eq!(error.field(), Some("progress"));
    let before = world
        .crm
        .project_timeline(&world.manager, id, None, 100)
        .unwrap();
    world
        .crm
        .set_stage_progress(&world.manager, id, ids[0], 100)
        .unwrap();
    assert_eq!(
        world
            .crm
            .project_timeline(&world.manager, id, None, 100)
            .unwrap(),
        before
    );
    let error = world
        .crm
        .set_stage_progress(
            &world.manager,
            id,
            crm_lib::model::ProjectStageId::new(99),
            5,
        )
        .unwrap_err();
    assert_eq!(error.field(), Some("stage"));
    verify_clean(&world);
}

#[test]
fn the_client_reads_only_their_projects_without_the_books_and_decides_only_their_requests() {
    let world = renovation();
    let (client, id) = project(&world, 800, "1000");
    let (stranger, other) = project(&world, 801, "500");
    let ids = stages(&world, id);
    world
        .crm
        .add_estimate_line(
            &world.manager,
            id,
            NewEstimateLine {
                stage: ids[0],
                title: "plan".into(),
                planned: money("90"),
            },
        )
        .unwrap();
    world
        .crm
        .add_project_entry(
            &world.worker,
            id,
            NewEntry {
                stage: Some(ids[0]),
                proof: Some(png()),
                ..expense("40")
            },
        )
        .unwrap();
    world
        .crm
        .add_daily_report(
            &world.worker,
            id,
            NewReport {
                stage: ids[0],
                text: "Walls down".into(),
                media: vec![NewMedia::parse(b"\xff\xd8 a jpeg".to_vec(), "image/jpeg").unwrap()],
                voice: None,
            },
        )
        .unwrap();
    let request = world
        .crm
        .create_change_request(&world.manager, id, change(money("100")))
        .unwrap();

    // Their own project: totals, stages, requests; no estimate, per-stage money or workers.
    let view = world.crm.project(&client, id).unwrap();
    assert_eq!(view.project.totals.spent, money("40"));
    assert_eq!(view.project.totals.planned, money("0"));
    assert!(view.plan.is_empty() && view.workers.is_empty());
    assert!(view.stages.iter().all(|stage| stage.lines.is_empty()
        && stage.stage.planned == money("0")
        && stage.stage.spent == money("0")));
    assert!(view.actions.decide_change_request && !view.actions.see_books);
    assert!(!view.actions.add_report && !view.actions.edit);
    // The feed leaves out the money entries.
    let feed = world.crm.project_timeline(&client, id, None, 50).unwrap();
    assert!(
        feed.items
            .iter()
            .all(|item| !matches!(item.kind, TimelineKind::Entry { .. }))
    );
    assert!(
        feed.items
            .iter()
            .any(|item| matches!(item.kind, TimelineKind::Report { .. }))
    );
    let staff_feed = world
        .crm
        .project_timeline(&world.manager, id, None, 50)
        .unwrap();
    assert_eq!(staff_feed.items.len(), feed.items.len() + 1);
    // Their list holds their project only.
    let list = world
        .crm
        .projects(&client, &ProjectFilter::default(), Page::first(10))
        .unwrap();
    assert_eq!(list.rows.len(), 1);
    assert_eq!(list.rows[0].row.id, id);
    assert!(!list.create);

    // Another customer's project is not found, for reading and deciding alike.
    for error in [
        world.crm.project(&client, other).unwrap_err(),
        world
            .crm
            .project_timeline(&stranger, id, None, 10)
            .unwrap_err(),
        world
            .crm
            .decide_change_request(&stranger, id, request.id, Decision::Approve)
            .unwrap_err(),
    ] {
        assert_eq!(error.kind(), ErrorKind::NotFound, "{error}");
    }
    // The client neither reports nor writes money nor requests.
    let error = world
        .crm
        .add_project_entry(&client, id, expense("1"))
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::PermissionDenied);
    let error = world
        .crm
        .create_change_request(&client, id, change(money("1")))
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::PermissionDenied);
    let error = world
        .crm
        .create_project(&client, NewProject::default())
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::PermissionDenied);

    // A decision is made once and audited once.
    let decided = world
        .crm
        .decide_change_request(&client, id, request.id, Decision::Approve)
        .unwrap();
    assert_eq!(decided.state, ChangeRequestState::Approved);
    assert_eq!(decided.decided_by, Some(client.who));
    for actor in [&client, &world.manager] {
        let again = world
            .crm
            .decide_change_request(actor, id, request.id, Decision::Reject)
            .unwrap_err();
        assert_eq!(again.kind(), ErrorKind::Conflict, "{again}");
    }
    let withdrawn = world
        .crm
        .withdraw_change_request(&world.manager, id, request.id)
        .unwrap_err();
    assert_eq!(withdrawn.kind(), ErrorKind::Conflict);
    let approvals = world
        .crm
        .audit_log(
            &world.admin,
            &AuditFilter {
                action: Some("project.change_request_".into()),
                ..AuditFilter::default()
            },
            Page::first(50),
        )
        .unwrap()
        .items;
    let decisions: Vec<&str> = approvals
        .iter()
        .map(|entry| entry.action.as_str())
        .collect();
    assert_eq!(
        decisions,
        [
            "project.change_request_approved",
            "project.change_request_created"
        ]
    );
    assert_eq!(
        world
            .crm
            .project(&client, id)
            .unwrap()
            .project
            .budget_total(),
        money("1100")
    );

    // The files: the report's photo to the client, the receipt to staff only.
    let timeline = world
        .crm
        .project_timeline(&world.manager, id, None, 50)
        .unwrap();
    let mut report_photo = None;
    let mut receipt = None;
    for item in &timeline.items {
        match &item.kind {
            TimelineKind::Report { report, .. } => report_photo = report.media.first().copied(),
            TimelineKind::Entry { entry, .. } => receipt = entry.proof,
            _ => {}
        }
    }
    let (report_photo, receipt) = (report_photo.unwrap(), receipt.unwrap());
    assert!(world.crm.visible_media(&client, report_photo).is_ok());
    assert!(world.crm.visible_media(&world.worker, receipt).is_ok());
    for (actor, file) in [
        (&client, receipt),
        (&stranger, report_photo),
        (&world.worker2, report_photo),
    ] {
        let error = world.crm.visible_media(actor, file).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::NotFound, "{error}");
    }
    verify_clean(&world);
}

#[test]
fn a_worker_reports_and_books_money_only_on_the_projects_they_are_put_on() {
    let world = renovation();
    let (_, id) = project(&world, 900, "1000");
    let ids = stages(&world, id);
    let report = world
        .crm
        .add_daily_report(
            &world.worker,
            id,
            NewReport {
                stage: ids[1],
                text: "Cables in".into(),
                media: vec![png(), png()],
                voice: Some(NewMedia::parse(b"OggS voice".to_vec(), "audio/ogg").unwrap()),
            },
        )
        .unwrap();
    assert_eq!(report.author, world.worker.who);
    assert_eq!(report.media.len(), 2);
    assert!(report.voice.is_some());
    let view = world.crm.project(&world.worker, id).unwrap();
    assert!(view.actions.add_report && view.actions.add_entry);
    assert!(!view.actions.add_stage && !view.actions.create_change_request);
    assert_eq!(view.project.totals.reports, 1);
    let list = world
        .crm
        .projects(&world.worker, &ProjectFilter::default(), Page::first(10))
        .unwrap();
    assert_eq!(list.rows.len(), 1);

    // Another worker is not on it: not found; the worker may not manage it.
    let error = world.crm.project(&world.worker2, id).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::NotFound);
    let error = world
        .crm
        .add_daily_report(
            &world.worker2,
            id,
            NewReport {
                stage: ids[0],
                text: "x".into(),
                ..NewReport::default()
            },
        )
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::NotFound);
    assert!(
        world
            .crm
            .projects(&world.worker2, &ProjectFilter::default(), Page::first(10))
            .unwrap()
            .rows
            .is_empty()
    );
    for error in [
        world
            .crm
            .add_project_stage(
                &world.worker,
                id,
                NewStage {
                    name: "More".into(),
                    ..NewStage::default()
                },
            )
            .unwrap_err(),
        world
            .crm
            .set_stage_progress(&world.worker, id, ids[0], 10)
            .unwrap_err(),
        world
            .crm
            .decide_change_request(
                &world.worker,
                id,
                crm_lib::model::ChangeRequestId::new(1),
                Decision::Approve,
            )
            .unwrap_err(),
    ] {
        assert_eq!(error.kind(), ErrorKind::PermissionDenied, "{error}");
    }

    // Staff with neither projects permission are refused, naming manage_projects.
    let role = world
        .crm
        .create_role(
            &world.admin,
            "sales",
            [crm_lib::model::Permission::ViewOrders]
                .into_iter()
                .collect::<PermissionSet>(),
        )
        .unwrap();
    let seller = world
        .crm
        .create_user(
            &world.system,
            crm_lib::team::NewUser {
                username: "seller".into(),
                display_name: "Seller".into(),
                password: crate::support::password(),
                roles: vec![role.name],
                must_change_password: false,
            },
        )
        .unwrap();
    let seller = Actor::staff(world.org.id, seller.id);
    let error = world
        .crm
        .projects(&seller, &ProjectFilter::default(), Page::first(10))
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::PermissionDenied);
    assert!(error.to_string().contains("manage_projects"), "{error}");
    assert!(!world.crm.navigation(&seller).unwrap().projects);
    assert!(world.crm.navigation(&world.worker).unwrap().projects);
    verify_clean(&world);
}

#[test]
fn every_input_limit_is_checked_at_the_limit_and_one_past_it_and_bad_input_changes_nothing() {
    let world = renovation();
    let (client, id) = project(&world, 1000, "1000");
    let ids = stages(&world, id);
    let base = NewProject {
        client: World::customer_id(&client),
        title: "t".into(),
        ..NewProject::default()
    };
    let create = |new: NewProject| world.crm.create_project(&world.manager, new);
    assert!(
        create(NewProject {
            title: "a".repeat(200),
            ..base.clone()
        })
        .is_ok()
    );
    let error = create(NewProject {
        title: "a".repeat(201),
        ..base.clone()
    })
    .unwrap_err();
    assert_eq!(error.field(), Some("title"));
    assert!(
        create(NewProject {
            stages: vec!["s".into(); 50],
            ..base.clone()
        })
        .is_ok()
    );
    let error = create(NewProject {
        stages: vec!["s".into(); 51],
        ..base.clone()
    })
    .unwrap_err();
    assert_eq!(error.field(), Some("stages"));
    let error = create(NewProject {
        title: " ".into(),
        ..base.clone()
    })
    .unwrap_err();
    assert_eq!(error.field(), Some("title"));
    let error = create(NewProject {
        client: crm_lib::model::CustomerId::new(999),
        ..base.clone()
    })
    .unwrap_err();
    assert_eq!(error.field(), Some("client"));
    let error = create(NewProject {
        budget: Money::from_minor(-1),
        ..base.clone()
    })
    .unwrap_err();
    assert_eq!(error.field(), Some("budget"));

    let before = world
        .crm
        .project_page(&world.manager, id, None, 100)
        .unwrap();
    let report = |media: usize, text: &str| NewReport {
        stage: ids[0],
        text: text.into(),
        media: vec![png(); media],
        voice: None,
    };
    let error = world
        .crm
        .add_daily_report(&world.worker, id, report(31, ""))
        .unwrap_err();
    assert_eq!(error.field(), Some("media"));
    let error = world
        .crm
        .add_daily_report(&world.worker, id, report(0, ""))
        .unwrap_err();
    assert_eq!(error.field(), Some("text"), "an empty report");
    let error = world
        .crm
        .add_daily_report(&world.worker, id, report(0, &"a".repeat(4_001)))
        .unwrap_err();
    assert_eq!(error.field(), Some("text"));
    let pdf = NewMedia::parse(b"%PDF-1.4".to_vec(), "application/pdf").unwrap();
    let error = world
        .crm
        .add_daily_report(
            &world.worker,
            id,
            NewReport {
                media: vec![pdf.clone()],
                ..report(0, "")
            },
        )
        .unwrap_err();
    assert_eq!(error.field(), Some("media"), "a PDF is no photo");
    let error = world
        .crm
        .add_project_entry(&world.worker, id, expense("0"))
        .unwrap_err();
    assert_eq!(error.field(), Some("amount"));
    let error = world
        .crm
        .add_project_entry(
            &world.worker,
            id,
            NewEntry {
                note: "a".repeat(501),
                ..expense("1")
            },
        )
        .unwrap_err();
    assert_eq!(error.field(), Some("note"));
    let error = world
        .crm
        .add_project_entry(
            &world.worker,
            id,
            NewEntry {
                date: Some(crate::support::date("2999-01-01")),
                ..expense("1")
            },
        )
        .unwrap_err();
    assert_eq!(error.field(), Some("date"));
    let error = world
        .crm
        .create_change_request(&world.manager, id, change(Money::from_minor(0)))
        .unwrap_err();
    assert_eq!(error.field(), Some("amount"));
    let error = world
        .crm
        .add_project_stage(
            &world.manager,
            id,
            NewStage {
                name: "Paint".into(),
                planned_start: Some(crate::support::date("2026-05-02")),
                planned_end: Some(crate::support::date("2026-05-01")),
            },
        )
        .unwrap_err();
    assert_eq!(error.field(), Some("planned_end"));
    assert_eq!(
        world
            .crm
            .project_page(&world.manager, id, None, 100)
            .unwrap(),
        before,
        "nothing changed"
    );
    // Reports and entries carry at most 30 files and the right kinds of file.
    assert!(
        world
            .crm
            .add_daily_report(&world.worker, id, report(30, ""))
            .is_ok()
    );
    assert!(
        world
            .crm
            .add_project_entry(
                &world.worker,
                id,
                NewEntry {
                    proof: Some(pdf),
                    ..expense("1")
                }
            )
            .is_ok()
    );
    verify_clean(&world);
}

#[test]
fn a_report_tells_the_client_a_request_waits_for_them_and_webhooks_hear_of_both() {
    let world = renovation();
    let hook = world
        .crm
        .create_webhook(
            &world.admin,
            WebhookInput {
                url: "https://hooks.example/crm".into(),
                description: String::new(),
                events: vec![
                    "project.report_added".into(),
                    "project.change_request_decided".into(),
                ],
                enabled: true,
            },
        )
        .unwrap();
    let (client, id) = project(&world, 1100, "1000");
    let ids = stages(&world, id);
    world
        .crm
        .add_daily_report(
            &world.worker,
            id,
            NewReport {
                stage: ids[0],
                text: "Walls down".into(),
                media: vec![png()],
                voice: None,
            },
        )
        .unwrap();
    let request = world
        .crm
        .create_change_request(&world.manager, id, change(money("100")))
        .unwrap();
    world
        .crm
        .decide_change_request(&client, id, request.id, Decision::Reject)
        .unwrap();
    let to_client: Vec<Event> = world
        .outbox()
        .into_iter()
        .filter(|item| item.recipient == Recipient::Customer(World::customer_id(&client)))
        .filter_map(|item| match item.payload {
            OutboxPayload::Notify(event) => Some(event),
            _ => None,
        })
        .collect();
    assert!(
        matches!(
            &to_client[..],
            [
                Event::ProjectReport { stage, text, files: 1, .. },
                Event::ChangeRequestWaiting { amount, currency, .. },
            ] if stage == "Demolition" && text == "Walls down" && *amount == money("100") && currency == "RUB"
        ),
        "{to_client:#?}"
    );
    let deliveries = world
        .crm
        .webhook_deliveries(&world.admin, hook.id, Page::first(10))
        .unwrap()
        .items;
    let events: Vec<&str> = deliveries
        .iter()
        .map(|delivery| delivery.event.as_str())
        .collect();
    assert_eq!(
        events,
        ["project.change_request_decided", "project.report_added"]
    );
    assert!(
        deliveries[0].payload.contains("\"state\":\"rejected\""),
        "{}",
        deliveries[0].payload
    );
    verify_clean(&world);
}

#[test]
fn the_timeline_runs_newest_first_in_pages_that_join_up() {
    let world = renovation();
    let (_, id) = project(&world, 1200, "1000");
    let ids = stages(&world, id);
    for day in 0..7 {
        world
            .crm
            .add_daily_report(
                &world.worker,
                id,
                NewReport {
                    stage: ids[0],
                    text: format!("day {day}"),
                    ..NewReport::default()
                },
            )
            .unwrap();
    }
    world
        .crm
        .set_stage_progress(&world.manager, id, ids[0], 40)
        .unwrap();
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = world
            .crm
            .project_timeline(&world.manager, id, after, 3)
            .unwrap();
        assert!(page.items.len() <= 3);
        seen.extend(page.items.iter().map(|item| item.id));
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    assert_eq!(seen.len(), 9, "created, seven reports, one progress");
    assert!(
        seen.windows(2).all(|pair| pair[0] > pair[1]),
        "newest first"
    );
    let all = world
        .crm
        .project_timeline(&world.manager, id, None, 100)
        .unwrap();
    assert!(matches!(
        all.items[0].kind,
        TimelineKind::Progress {
            from: 0,
            to: 40,
            ..
        }
    ));
    assert!(matches!(
        all.items[8].kind,
        TimelineKind::Created { lead: None }
    ));
    assert_eq!(all.items[1].actor_name, "worker display");
}

#[test]
fn a_project_completes_reopens_and_archives_and_takes_nothing_while_not_active() {
    let world = renovation();
    let (client, id) = project(&world, 1300, "1000");
    let ids = stages(&world, id);
    let request = world
        .crm
        .create_change_request(&world.manager, id, change(money("10")))
        .unwrap();
    let done = world
        .crm
        .set_project_state(&world.manager, id, ProjectState::Completed)
        .unwrap();
    assert_eq!(done.state, ProjectState::Completed);
    for error in [
        world
            .crm
            .add_daily_report(
                &world.worker,
                id,
                NewReport {
                    stage: ids[0],
                    text: "x".into(),
                    ..NewReport::default()
                },
            )
            .unwrap_err(),
        world
            .crm
            .add_project_entry(&world.worker, id, expense("1"))
            .unwrap_err(),
        world
            .crm
            .decide_change_request(&client, id, request.id, Decision::Approve)
            .unwrap_err(),
        world
            .crm
            .set_project_state(&world.manager, id, ProjectState::Completed)
            .unwrap_err(),
    ] {
        assert_eq!(error.kind(), ErrorKind::Conflict, "{error}");
    }
    let archived = world
        .crm
        .set_project_state(&world.manager, id, ProjectState::Archived)
        .unwrap();
    assert_eq!(archived.state, ProjectState::Archived);
    let active = world
        .crm
        .projects(
            &world.manager,
            &ProjectFilter {
                state: Some(ProjectState::Active),
                ..ProjectFilter::default()
            },
            Page::first(10),
        )
        .unwrap();
    assert!(active.rows.is_empty());
    let archived_list = world
        .crm
        .projects(
            &world.manager,
            &ProjectFilter {
                state: Some(ProjectState::Archived),
                search: "KITCH".into(),
            },
            Page::first(10),
        )
        .unwrap();
    assert_eq!(archived_list.rows.len(), 1);
    world
        .crm
        .set_project_state(&world.manager, id, ProjectState::Active)
        .unwrap();
    world
        .crm
        .decide_change_request(&client, id, request.id, Decision::Approve)
        .unwrap();
    verify_clean(&world);
}

#[test]
fn the_list_pages_newest_first_and_searches_the_client_s_name() {
    let world = renovation();
    for n in 0..5 {
        project(&world, 1400 + n, "10");
    }
    let first = world
        .crm
        .projects(&world.manager, &ProjectFilter::default(), Page::first(2))
        .unwrap();
    assert_eq!(first.rows.len(), 2);
    assert_eq!(first.rows[0].row.id, ProjectId::new(5));
    let next = world
        .crm
        .projects(
            &world.manager,
            &ProjectFilter::default(),
            Page::after(first.next.unwrap(), 10),
        )
        .unwrap();
    assert_eq!(next.rows.len(), 3);
    assert_eq!(next.next, None);
    assert_eq!(next.rows[0].row.id, ProjectId::new(3));
    let found = world
        .crm
        .projects(
            &world.manager,
            &ProjectFilter {
                search: "client kitchen".into(),
                ..ProjectFilter::default()
            },
            Page::first(10),
        )
        .unwrap();
    assert_eq!(found.rows.len(), 5);
    assert_eq!(found.rows[0].client_name.as_deref(), Some("Client"));
}

#[test]
fn the_module_switched_off_hides_every_project_and_refuses_every_use_case() {
    let world = renovation();
    let (client, id) = project(&world, 1500, "10");
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
    for error in [
        world.crm.project(&world.manager, id).unwrap_err(),
        world.crm.project(&client, id).unwrap_err(),
        world
            .crm
            .projects(&world.manager, &ProjectFilter::default(), Page::first(1))
            .unwrap_err(),
        world
            .crm
            .add_project_entry(&world.worker, id, expense("1"))
            .unwrap_err(),
    ] {
        assert_eq!(error.kind(), ErrorKind::NotFound, "{error}");
    }
    assert!(!world.crm.navigation(&world.manager).unwrap().projects);
}

#[test]
fn the_demo_of_the_renovation_template_has_two_projects_with_reports_money_and_requests() {
    let dir = tempfile::tempdir().unwrap();
    let crm = crm_lib::Crm::open(dir.path().join("crm.redb")).unwrap();
    let org = crm
        .system()
        .create_organization("renovation", "Remont", "remont")
        .unwrap();
    let report = crm.system().load_demo(org.id).unwrap();
    assert_eq!(report.projects, 2);
    assert!(report.daily_reports >= 10, "{}", report.daily_reports);
    let system = Actor::system(org.id);
    let list = crm
        .projects(&system, &ProjectFilter::default(), Page::first(10))
        .unwrap();
    assert_eq!(list.rows.len(), 2);
    let from_lead = crm.project(&system, ProjectId::new(1)).unwrap();
    assert!(from_lead.project.lead.is_some());
    let progress: Vec<u8> = from_lead
        .stages
        .iter()
        .map(|stage| stage.stage.progress)
        .collect();
    assert_eq!(progress, [100, 100, 60, 30, 0]);
    assert!(from_lead.project.totals.spent > Money::from_minor(0));
    assert!(from_lead.project.totals.income > Money::from_minor(0));
    let states: Vec<ChangeRequestState> = list
        .rows
        .iter()
        .flat_map(|row| crm.project(&system, row.row.id).unwrap().change_requests)
        .map(|request| request.state)
        .collect();
    assert!(states.contains(&ChangeRequestState::Pending));
    assert!(states.contains(&ChangeRequestState::Approved));
    let feed = crm
        .project_timeline(&system, ProjectId::new(1), None, 100)
        .unwrap();
    assert!(
        feed.items.windows(2).all(|pair| pair[0].at >= pair[1].at),
        "in time order"
    );
    let photo = feed
        .items
        .iter()
        .find_map(|item| match &item.kind {
            TimelineKind::Report { report, .. } => report.media.first().copied(),
            _ => None,
        })
        .unwrap();
    let client = Actor::customer(org.id, from_lead.project.client);
    let file = crm.read_visible_media(&client, photo).unwrap();
    assert_eq!(file.media.mime, "image/png");
    assert!(file.bytes.starts_with(b"\x89PNG"));
    // The demo is history: nothing of it waits in the outbox.
    assert!(
        crm.system()
            .outbox_items(org.id)
            .unwrap()
            .iter()
            .all(|item| !item.state.is_open())
    );
    let report = crm.system().verify().unwrap();
    assert!(report.is_clean(), "{:#?}", report.problems);
    let _ = Timestamp::from_millis(0);
}
