//! Opening a file of an older schema migrates it (SPEC section 3).

use crm_lib::{
    Crm, Page, SCHEMA_VERSION,
    audit::AuditFilter,
    chat::{InboundMessage, OrderChoice},
    model::{
        Actor, Attachment, AuditAction, BuiltinRole, CustomerId, Language, MediaKind, Money,
        OrderId, Permission, Subject, TelegramUserId,
    },
    orders::{NewOrder, OrderFilter},
};

use crate::support::profile;

fn legacy_copy() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("crm.redb");
    let fixture =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/db/schema-v1.redb");
    std::fs::copy(fixture, &path).unwrap();
    (dir, path)
}

#[test]
fn a_schema_1_file_is_migrated_on_open_and_its_orders_stay_readable() {
    let (_dir, path) = legacy_copy();
    let crm = Crm::open(&path).unwrap();
    assert_eq!(crm.migrated_from(), Some(1));
    let org = crm.system().organization_by_slug("legacy").unwrap();
    let orders = crm.system().all_orders(org.id).unwrap();
    assert_eq!(orders.len(), 3);
    assert!(
        orders
            .iter()
            .all(|order| order.markers.is_empty() && order.custom_fields.is_empty())
    );
    assert_eq!(orders[1].title, "Парсер цен конкурентов");
    assert_eq!(orders[2].budget, Some(Money::from_minor(300_000)));
}

#[test]
fn the_migration_builds_the_title_index_that_schema_1_lacked() {
    let (_dir, path) = legacy_copy();
    let crm = Crm::open(&path).unwrap();
    let org = crm.system().organization_by_slug("legacy").unwrap();
    let filter = OrderFilter {
        search: Some("парсер".into()),
        ..OrderFilter::default()
    };
    let found = crm
        .list_orders(&Actor::system(org.id), &filter, Page::first(10))
        .unwrap();
    assert_eq!(found.items.len(), 1);
}

#[test]
fn a_migrated_file_opens_again_without_migrating_and_takes_new_orders() {
    let (_dir, path) = legacy_copy();
    let org_id = {
        let crm = Crm::open(&path).unwrap();
        crm.system().organization_by_slug("legacy").unwrap().id
    };
    let crm = Crm::open(&path).unwrap();
    assert_eq!(crm.migrated_from(), None);
    let legacy = crm
        .system()
        .customer_by_telegram(org_id, TelegramUserId::new(5_000_000_001))
        .unwrap()
        .unwrap();
    assert_eq!(legacy.first_name, "Ольга");
    let customer = crm
        .system()
        .upsert_telegram_customer(org_id, profile(77, "New"))
        .unwrap();
    assert_eq!(
        customer.id,
        CustomerId::new(2),
        "the customer sequence continues"
    );
    let order = crm
        .create_order(
            &Actor::system(org_id),
            NewOrder {
                customer: Some(customer.id),
                title: "After migration".into(),
                description: "d".into(),
                ..NewOrder::default()
            },
        )
        .unwrap();
    assert_eq!(order.id, OrderId::new(4), "the order sequence continues");
}

#[test]
fn a_schema_1_file_migrates_through_every_version_and_verifies_clean() {
    let (_dir, path) = legacy_copy();
    let crm = Crm::open(&path).unwrap();
    assert_eq!(crm.migrated_from(), Some(1));
    assert_eq!(SCHEMA_VERSION, 10);
    assert_eq!(crm.system().stats().unwrap().schema_version, Some(10));
    // Schema 4: the studio pipeline stops payment details at Delivered, and the built-in
    // manager manages the payment methods it sends.
    let legacy = crm.system().organization_by_slug("legacy").unwrap();
    // Schema 6: the organization runs its template's modules (none for the studio), in UTC.
    assert_eq!(legacy.modules, crm_lib::model::Modules::NONE);
    // Schema 9: it is enabled; the schema-1 fixture has no staff, so no owner.
    assert!(legacy.is_enabled());
    assert_eq!(legacy.owner, None);
    assert_eq!(legacy.settings.time_zone, "UTC");
    let delivered = legacy.pipeline.stage_by_key("delivered").unwrap();
    assert!(!delivered.payment_allowed);
    let manager = crm
        .roles(&Actor::system(legacy.id))
        .unwrap()
        .into_iter()
        .find(|role| role.builtin == Some(BuiltinRole::Manager))
        .unwrap();
    assert!(manager.permissions.contains(Permission::ManageBilling));
    // Schema 9: the built-in roles hold the projects' permissions.
    assert!(manager.permissions.contains(Permission::ManageProjects));
    // Schema 5: every order has its list row and every customer its name.
    let rows = crm
        .read(|view| {
            crm_lib::orders::order_rows_in(
                view,
                &Actor::system(legacy.id),
                &OrderFilter::default(),
                Page::first(10),
            )
        })
        .unwrap();
    assert_eq!(rows.items.len(), 3);
    assert!(
        rows.items
            .iter()
            .all(|row| row.customer_name == "Ольга Legacy")
    );
    assert_eq!(rows.items[1].order.title, "Парсер цен конкурентов");
    // Schema 8: the dashboard counts the three legacy orders, their budgets and the customer.
    let dashboard = crm.analytics(&Actor::system(legacy.id)).unwrap();
    assert_eq!((dashboard.orders, dashboard.customers), (3, 1));
    assert_eq!(
        dashboard.revenue, 600_000,
        "budgets of 1,000, 2,000 and 3,000"
    );
    let report = crm.system().verify().unwrap();
    assert!(report.is_clean(), "{:#?}", report.problems);
    assert!(
        report.unchecked_tables.is_empty(),
        "{:?}",
        report.unchecked_tables
    );

    // Files attached after the migration are indexed and served by the new rule.
    let org = crm.system().organization_by_slug("legacy").unwrap();
    let legacy = crm
        .system()
        .customer_by_telegram(org.id, TelegramUserId::new(5_000_000_001))
        .unwrap()
        .unwrap();
    let customer = Actor::customer(org.id, legacy.id);
    let media = crm
        .system()
        .store_media(org.id, b"after the migration".to_vec(), "image/png".into())
        .unwrap();
    crm.post_inbound(
        &customer,
        InboundMessage {
            customer: legacy.id,
            about: OrderChoice::None,
            text: String::new(),
            attachments: vec![Attachment {
                media: media.hash,
                kind: MediaKind::Photo,
                file_name: None,
                mime: media.mime.clone(),
                size: media.size,
            }],
            telegram_message_id: None,
            content: None,
            reply_to_telegram: None,
            media_group: None,
        },
    )
    .unwrap();
    assert!(crm.read_visible_media(&customer, media.hash).is_ok());
    let report = crm.system().verify().unwrap();
    assert!(report.is_clean(), "{:#?}", report.problems);
}

#[test]
fn records_of_the_first_version_read_as_today_s_types() {
    let (_dir, path) = legacy_copy();
    let crm = Crm::open(&path).unwrap();
    let org = crm.system().organization_by_slug("legacy").unwrap();
    // Stage names of English and Russian fields are a localized name now.
    let pending = org.pipeline.stage_by_key("pending").unwrap();
    assert_eq!(pending.name(Language::EN), "Pending moderation");
    assert_eq!(pending.name(Language::RU), "На модерации");
    assert_eq!(org.settings.locale, Language::EN);
    // Audit entries in words have a typed action and record, and schema 4 indexed them by
    // record.
    let log = crm
        .read(|view| {
            crm_lib::audit::audit_in(
                view,
                &Actor::system(org.id),
                &AuditFilter {
                    subject: Some(Subject::Organization),
                    ..AuditFilter::default()
                },
                Page::first(10),
            )
        })
        .unwrap();
    assert_eq!(log.items.len(), 1, "{log:?}");
    assert_eq!(log.items[0].action, AuditAction::OrganizationCreated);
}
