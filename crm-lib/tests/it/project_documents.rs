//! A project's documents (issue 14): staff with `manage_projects` attach PDFs, images and
//! office documents with a title and remove them, audited and heard by webhooks; the client
//! reads their own project's list and files, nobody else's; bad input changes nothing. And
//! the author of a change request hears of the client's decision in Telegram.

use crm_lib::audit::AuditFilter;
use crm_lib::media::NewMedia;
use crm_lib::model::{
    Actor, AuditAction, ChangeRequestState, DocumentKind, Event, OutboxPayload, ProjectId,
    Recipient, TelegramUserId,
};
use crm_lib::projects::{
    DOCUMENT_FILE_NAME_MAX_CHARS, Decision, NewChangeRequest, NewDocument, NewProject,
};
use crm_lib::webhooks::WebhookInput;
use crm_lib::{ErrorKind, Page};

use crate::support::{World, money};

fn renovation() -> World {
    World::with_template("renovation", "reno")
}

fn project(world: &World, telegram_id: i64) -> (Actor, ProjectId) {
    let client = world.customer(telegram_id, "Client");
    let project = world
        .crm
        .create_project(
            &world.manager,
            NewProject {
                client: World::customer_id(&client),
                title: "Kitchen".into(),
                budget: money("1000"),
                stages: vec!["Demolition".into()],
                ..NewProject::default()
            },
        )
        .unwrap();
    (client, project.id)
}

fn document(title: &str, file_name: &str, bytes: &[u8], mime: &str) -> NewDocument {
    NewDocument {
        title: title.into(),
        file_name: file_name.into(),
        file: NewMedia::parse(bytes.to_vec(), mime).unwrap(),
    }
}

fn pdf(title: &str) -> NewDocument {
    document(
        title,
        "contract.pdf",
        b"%PDF-1.4 contract",
        "application/pdf",
    )
}

#[test]
fn staff_attach_documents_the_client_reads_them_and_removal_is_audited() {
    let world = renovation();
    let hook = world
        .crm
        .create_webhook(
            &world.admin,
            WebhookInput {
                url: "https://hooks.example/crm".into(),
                description: String::new(),
                events: vec!["project.document_added".into()],
                enabled: true,
            },
        )
        .unwrap();
    let (client, id) = project(&world, 2100);
    let contract = world
        .crm
        .add_project_document(
            &world.manager,
            id,
            document(
                "Contract",
                "C:\\scans\\contract.pdf",
                b"%PDF-1.4 contract",
                "application/pdf",
            ),
        )
        .unwrap();
    assert_eq!(contract.file_name, "contract.pdf", "folders are dropped");
    assert_eq!(contract.kind, DocumentKind::Pdf);
    assert_eq!(contract.size, 17);
    let estimate = world
        .crm
        .add_project_document(
            &world.manager,
            id,
            document(
                "Estimate",
                "estimate.xlsx",
                b"PK estimate",
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            ),
        )
        .unwrap();
    assert_eq!(estimate.kind, DocumentKind::Office);

    // The client reads the list, newest first, and may fetch the files.
    let listed = world.crm.project_documents(&client, id).unwrap();
    let titles: Vec<&str> = listed.iter().map(|doc| doc.title.as_str()).collect();
    assert_eq!(titles, ["Estimate", "Contract"]);
    world.crm.visible_media(&client, contract.media).unwrap();

    // Another customer sees neither the list nor the file; the client adds nothing.
    let stranger = world.customer(2101, "Stranger");
    let error = world.crm.project_documents(&stranger, id).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::NotFound);
    let error = world
        .crm
        .visible_media(&stranger, contract.media)
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::NotFound);
    let error = world
        .crm
        .add_project_document(&client, id, pdf("Mine"))
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::PermissionDenied);
    let error = world
        .crm
        .remove_project_document(&world.worker, id, contract.id)
        .unwrap_err();
    assert_ne!(error.kind(), ErrorKind::Storage);

    // Removal: gone from the list, audited; a second removal is not found.
    world
        .crm
        .remove_project_document(&world.manager, id, estimate.id)
        .unwrap();
    assert_eq!(world.crm.project_documents(&client, id).unwrap().len(), 1);
    let error = world
        .crm
        .remove_project_document(&world.manager, id, estimate.id)
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::NotFound);
    let audit = world
        .crm
        .audit_log(&world.admin, &AuditFilter::default(), Page::first(50))
        .unwrap()
        .items;
    let actions: Vec<AuditAction> = audit.iter().map(|entry| entry.action).collect();
    assert!(actions.contains(&AuditAction::ProjectDocumentAdded));
    assert!(actions.contains(&AuditAction::ProjectDocumentRemoved));

    let deliveries = world
        .crm
        .webhook_deliveries(&world.admin, hook.id, Page::first(10))
        .unwrap()
        .items;
    assert_eq!(deliveries.len(), 2, "one per document added");
    assert!(
        deliveries[1].payload.contains("\"kind\":\"pdf\""),
        "{}",
        deliveries[1].payload
    );
    let report = world.crm.system().verify().unwrap();
    assert!(report.is_clean(), "{:#?}", report.problems);
}

#[test]
fn a_document_s_limits_are_checked_at_the_limit_and_one_past_it_and_bad_input_changes_nothing() {
    let world = renovation();
    let (client, id) = project(&world, 2200);
    let long_name = format!("{}.pdf", "a".repeat(DOCUMENT_FILE_NAME_MAX_CHARS - 4));
    world
        .crm
        .add_project_document(
            &world.manager,
            id,
            NewDocument {
                title: "t".repeat(200),
                file_name: long_name.clone(),
                ..pdf("")
            },
        )
        .unwrap();
    for (field, new) in [
        (
            "title",
            NewDocument {
                title: "t".repeat(201),
                ..pdf("")
            },
        ),
        ("title", pdf("  ")),
        (
            "file_name",
            NewDocument {
                file_name: format!("a{long_name}"),
                ..pdf("Plan")
            },
        ),
        (
            "file",
            document("Archive", "photos.zip", b"PK", "application/zip"),
        ),
        ("file", document("Clip", "clip.mp4", b"mp4", "video/mp4")),
    ] {
        let error = world
            .crm
            .add_project_document(&world.manager, id, new)
            .unwrap_err();
        assert_eq!(error.kind(), ErrorKind::InvalidInput, "{error}");
        assert_eq!(error.field(), Some(field), "{error}");
    }
    assert_eq!(world.crm.project_documents(&client, id).unwrap().len(), 1);
    // An image is a document too (a scan).
    let scan = world
        .crm
        .add_project_document(
            &world.manager,
            id,
            document("Plan", "plan.png", b"\x89PNG plan", "image/png"),
        )
        .unwrap();
    assert_eq!(scan.kind, DocumentKind::Image);
}

#[test]
fn the_author_of_a_change_request_hears_of_the_client_s_decision_in_telegram() {
    let world = renovation();
    let code = world.crm.create_link_code(&world.manager).unwrap().code;
    world
        .crm
        .system()
        .redeem_link_code(world.org.id, &code, TelegramUserId::new(9_100))
        .unwrap();
    let (client, id) = project(&world, 2300);
    let request = world
        .crm
        .create_change_request(
            &world.manager,
            id,
            NewChangeRequest {
                title: "Heated floor".into(),
                amount: money("150"),
                description: String::new(),
            },
        )
        .unwrap();
    world
        .crm
        .decide_change_request(&client, id, request.id, Decision::Approve)
        .unwrap();
    let to_author: Vec<Event> = world
        .outbox()
        .into_iter()
        .filter(|item| item.recipient == Recipient::Staff(World::user_id(&world.manager)))
        .filter_map(|item| match item.payload {
            OutboxPayload::Notify(event @ Event::ChangeRequestDecided { .. }) => Some(event),
            _ => None,
        })
        .collect();
    assert!(
        matches!(
            &to_author[..],
            [Event::ChangeRequestDecided {
                state: ChangeRequestState::Approved,
                by_client: true,
                budget_total,
                ..
            }] if *budget_total == money("1150")
        ),
        "{to_author:#?}"
    );
    // A decision by the author themself tells nobody.
    let second = world
        .crm
        .create_change_request(
            &world.manager,
            id,
            NewChangeRequest {
                title: "Extra socket".into(),
                amount: money("10"),
                description: String::new(),
            },
        )
        .unwrap();
    world
        .crm
        .decide_change_request(&world.manager, id, second.id, Decision::Reject)
        .unwrap();
    let count = world
        .outbox()
        .into_iter()
        .filter(|item| {
            matches!(
                item.payload,
                OutboxPayload::Notify(Event::ChangeRequestDecided { .. })
            )
        })
        .count();
    assert_eq!(count, 1);
}

#[test]
fn the_renovation_demo_s_first_project_carries_a_contract_pdf_and_an_estimate() {
    let world = renovation();
    world.crm.system().load_demo(world.org.id).unwrap();
    let system = Actor::system(world.org.id);
    let documents = world
        .crm
        .project_documents(&system, ProjectId::new(1))
        .unwrap();
    let kinds: Vec<(DocumentKind, &str)> = documents
        .iter()
        .map(|document| (document.kind, document.file_name.as_str()))
        .collect();
    assert_eq!(
        kinds,
        [
            (DocumentKind::Office, "smeta.csv"),
            (DocumentKind::Pdf, "dogovor-podryada.pdf")
        ]
    );
    let pdf = world
        .crm
        .system()
        .read_media(world.org.id, documents[1].media)
        .unwrap();
    assert!(pdf.starts_with(b"%PDF-1.4"));
    assert!(pdf.ends_with(b"%%EOF\n"));
}
