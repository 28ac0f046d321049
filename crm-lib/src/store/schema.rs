//! The schema version in the file and the migrations between versions.
//!
//! Schema 1 stored orders without markers, priority, attachments and custom fields, and had
//! no title-word index. Schema 2 rewrites every order in the new record version and builds the
//! word index. Schema 3 adds `MEDIA_REFS`, the records that carry each file, so that a file is
//! served only to those who may see one of them. Schema 4 indexes the audit log by
//! record, adds the change feed, and brings stored data that copied an old default up to the
//! new one (the studio pipeline's Delivered stage no longer takes payment details; the
//! built-in roles hold their current permissions). Schema 5 adds the projections
//! that lists read: `order_rows` (each order's list row) and `customer_names`. Schema 6
//! creates the tables of the modules (SPEC 3.1: operators, tickets, calls, scheduled
//! jobs) and rewrites each organization with its modules and time zone. Schema 7 builds the
//! inbox's projection (`conversation_rows`) and the Telegram message index. Schema 8 builds
//! the analytics dashboard's per-day aggregates (`analytics_days`). Schema 9 (issue 14) gives
//! the built-in roles the projects' permissions (the projects' tables start empty) and each
//! organization its owner, the first administrator. Schema 10 (today's, issue 14's worker
//! bot) adds the staff's phone index (`users_by_phone`). An older file is brought up to
//! date step by step (1 -> 2 -> ... -> 10) in one transaction when it is opened.

use redb::Database;

use super::keys::Key;
use super::records::OrderV1;
use super::tables;
use super::{Tx, View, codec};
use crate::model::{
    AuditEntry, Customer, Message, Order, Organization, Role, StageKind, Timestamp,
};
use crate::{Error, Result};

pub use super::tables::SCHEMA_VERSION;

const VERSION_KEY: &[u8] = b"schema_version";

/// Reads the schema version stored in the file; `None` for a new, empty file.
pub(crate) fn stored_version(view: &impl View) -> Result<Option<u32>> {
    view.get_raw(tables::META, VERSION_KEY, |bytes| {
        let bytes: [u8; 4] = bytes
            .try_into()
            .map_err(|_| Error::corrupt("schema version is not 4 bytes"))?;
        Ok(u32::from_be_bytes(bytes))
    })
}

fn set_version(tx: &Tx<'_>, version: u32) -> Result<()> {
    tx.put_raw(tables::META, VERSION_KEY, &version.to_be_bytes())
}

/// Brings the file to [`SCHEMA_VERSION`]: stamps a new file, migrates an older one in one
/// durable transaction, refuses a newer one. Returns the version found (`None` when new).
pub(crate) fn prepare(db: &Database) -> Result<Option<u32>> {
    let txn = db.begin_write()?;
    let found = {
        let tx = Tx::new(&txn, Timestamp::now());
        let found = stored_version(&tx)?;
        match found {
            None => {
                // Create every table so read transactions never meet a missing one.
                for def in tables::ALL {
                    txn.open_table(*def)?;
                }
                set_version(&tx, SCHEMA_VERSION)?;
            }
            Some(version) if version == SCHEMA_VERSION => {}
            Some(version) if version > SCHEMA_VERSION => {
                return Err(Error::conflict(format!(
                    "the data file has schema version {version}, newer than this program's {SCHEMA_VERSION}; upgrade the program"
                )));
            }
            Some(version) => {
                for def in tables::ALL {
                    txn.open_table(*def)?;
                }
                if version < 2 {
                    migrate_1_to_2(&tx)?;
                }
                if version < 3 {
                    migrate_2_to_3(&tx)?;
                }
                if version < 4 {
                    migrate_3_to_4(&tx)?;
                }
                if version < 5 {
                    migrate_4_to_5(&tx)?;
                }
                if version < 6 {
                    migrate_5_to_6(&tx)?;
                }
                // Schema 7 (issue 12, the inbox): the new tables, opened above.
                if version < 7 {
                    migrate_6_to_7(&tx)?;
                }
                // Schema 8 (issue 13, the analytics dashboard): the per-day aggregates.
                if version < 8 {
                    migrate_7_to_8(&tx)?;
                }
                // Schema 9 (issue 14, projects): the built-in roles' new permissions.
                if version < 9 {
                    migrate_8_to_9(&tx)?;
                }
                // Schema 10 (issue 14, the worker's bot): the staff's phone index.
                if version < 10 {
                    migrate_9_to_10(&tx)?;
                }
                set_version(&tx, SCHEMA_VERSION)?;
            }
        }
        found
    };
    txn.commit()?;
    Ok(found)
}

/// Schema 1 -> 2: rewrite orders in record version 2 and build the title-word and
/// conversation-activity indexes from their declarations.
fn migrate_1_to_2(tx: &Tx<'_>) -> Result<()> {
    rewrite_all::<Order>(tx, tables::ORDERS)?;
    tx.build_index::<Order>(tables::ORDERS_BY_WORD)?;
    tx.build_index::<Customer>(tables::CUSTOMERS_BY_ACTIVITY)
}

/// Rewrites every record of `table` in the current record version of `T` (decoding an older
/// one upgrades it) and returns them, in key order.
fn rewrite_all<T: codec::Record>(tx: &Tx<'_>, table: tables::Def) -> Result<Vec<T>> {
    let mut records: Vec<(Vec<u8>, T)> = Vec::new();
    tx.scan(
        table,
        (std::ops::Bound::Unbounded, std::ops::Bound::Unbounded),
        false,
        |key, value| {
            records.push((key.to_vec(), codec::decode::<T>(value)?));
            Ok(true)
        },
    )?;
    let mut rewritten = Vec::with_capacity(records.len());
    for (key, record) in records {
        tx.put_raw(table, &key, &codec::encode(&record)?)?;
        rewritten.push(record);
    }
    Ok(rewritten)
}

/// Schema 2 -> 3: build the file references (`MEDIA_REFS`) of every message and order that
/// carries attachments, from the same declarations that write them from now on.
fn migrate_2_to_3(tx: &Tx<'_>) -> Result<()> {
    tx.build_index::<Message>(tables::MEDIA_REFS)?;
    tx.build_index::<Order>(tables::MEDIA_REFS)
}

/// Schema 3 -> 4: the audit log indexed by record, and defaults brought up to date.
fn migrate_3_to_4(tx: &Tx<'_>) -> Result<()> {
    index_audit_by_subject(tx)?;
    refresh_copied_defaults(tx)
}

/// Schema 4 -> 5: the list rows of every order and the names of every customer, built from
/// the declarations that keep them from now on (one scan of each record table; about
/// 1,000,000 orders a few seconds here).
fn migrate_4_to_5(tx: &Tx<'_>) -> Result<()> {
    tx.build_index::<Order>(tables::ORDER_ROWS)?;
    tx.build_index::<Customer>(tables::CUSTOMER_NAMES)
}

/// Schema 5 -> 6: the modules' tables exist from here on (created above with every table of
/// [`tables::ALL`]), and each organization is rewritten in its current record version, which
/// carries the modules its template presets and the UTC time zone (a handful of records; an
/// older one would otherwise be upgraded, parsing its template, on every read). The
/// customers' phone index is built from its declaration.
fn migrate_5_to_6(tx: &Tx<'_>) -> Result<()> {
    for org in rewrite_all::<Organization>(tx, tables::ORGS)? {
        // The tickets module: an organization made from a template that declares ticket
        // fields (the helpdesk) gets them and the default fraud rules, as a new one does.
        if let Ok(template) = crate::templates::template(&org.template)
            && !super::ViewExt::exists(tx, tables::ORDER_FIELDS, &Key::org(org.id))?
        {
            crate::services::tickets::create_ticket_settings_in(
                tx,
                org.id,
                &template.fields,
                org.modules,
            )?;
        }
    }
    // List rows gained the ticket fields (row version 2): every row is rewritten in it, so
    // `crm verify`, which compares a row's bytes with its order's, finds none stale.
    tx.build_index::<Order>(tables::ORDER_ROWS)?;
    // Each customer's orders by stage, which the fraud rule on cancelled tickets counts.
    tx.build_index::<Order>(tables::ORDERS_BY_CUSTOMER_STAGE)?;
    // The customers' phone index, which calls are linked by (services::calls).
    tx.build_index::<Customer>(tables::CUSTOMERS_BY_PHONE)
}

/// Schema 6 -> 7 (issue 12, the inbox): the inbox's projection, one conversation row per
/// customer with its list indexes, built from the same function every use case refreshes a
/// row with (`services::inbox::rows`): each conversation open, or closed when its operators
/// queue item is (one backward scan of the customer's messages and a queue lookup each).
fn migrate_6_to_7(tx: &Tx<'_>) -> Result<()> {
    // Replies and edits find a message by its Telegram id.
    tx.build_index::<Message>(tables::MESSAGES_BY_TELEGRAM)?;
    crate::services::inbox::rows::build_conversation_rows(tx)
}

/// Schema 7 -> 8 (issue 13, the analytics dashboard): the per-day aggregates of every
/// organization, built from its orders, token orders and customers by the same functions
/// the use cases keep them with (`services::analytics::aggregates`; one scan of each).
fn migrate_7_to_8(tx: &Tx<'_>) -> Result<()> {
    crate::services::analytics::aggregates::build_all(tx)
}

/// Schema 8 -> 9 (issue 14): the projects' tables start empty (created above with every
/// table of [`tables::ALL`]) and the built-in roles get the projects' permissions; then the
/// organizations get their owners ([`give_organizations_owners`]).
fn migrate_8_to_9(tx: &Tx<'_>) -> Result<()> {
    refresh_builtin_roles(tx)?;
    give_organizations_owners(tx)
}

/// Schema 9 -> 10 (issue 14, the worker's bot): `users_by_phone` (created above with every
/// table of [`tables::ALL`]) is built from the users' declaration; users stored before
/// phones have none, so it starts empty, but building it keeps the step true for any file.
fn migrate_9_to_10(tx: &Tx<'_>) -> Result<()> {
    tx.build_index::<crate::model::User>(tables::USERS_BY_PHONE)
}

/// Schema 8 -> 9 (issue 14, several organizations): every organization is rewritten in
/// record version 4, enabled, with its owner: the first administrator (the lowest user id
/// holding the built-in Administrator role), or none when it has no administrator. A
/// handful of records, and one scan of each organization's roles and users.
fn give_organizations_owners(tx: &Tx<'_>) -> Result<()> {
    let orgs = rewrite_all::<Organization>(tx, tables::ORGS)?;
    for mut org in orgs {
        if org.owner.is_some() {
            continue;
        }
        org.owner = crate::services::tenants::first_administrator(tx, org.id)?;
        if org.owner.is_some() {
            tx.put_raw(
                tables::ORGS,
                Key::org(org.id).as_slice(),
                &codec::encode(&org)?,
            )?;
        }
    }
    Ok(())
}

/// Indexes every audit entry by its record (`AUDIT_BY_SUBJECT`, an order's timeline) from
/// the declaration that indexes new entries. The change feed (`CHANGES`) starts empty.
/// Records of older versions (organizations with English and Russian stage names, audit
/// entries in words) stay as they are and are read through their upgrade.
fn index_audit_by_subject(tx: &Tx<'_>) -> Result<()> {
    tx.build_index::<AuditEntry>(tables::AUDIT_BY_SUBJECT)
}

/// Data that copied a default when it was created gets the current default.
/// - Organizations made from the studio template stored its pipeline with payment details
///   allowed in Delivered; the order desk allows them in progress, testing and completed
///   only, as the template now says. Stage flags cannot be edited, so a Delivered stage that
///   allows payment still holds the old default.
/// - Built-in roles stored the permissions of their day; they cannot be edited either, and
///   now hold [`crate::model::BuiltinRole::permissions`] (the manager gained `manage_billing`).
fn refresh_copied_defaults(tx: &Tx<'_>) -> Result<()> {
    let mut orgs: Vec<(Vec<u8>, Organization)> = Vec::new();
    tx.scan(
        tables::ORGS,
        (std::ops::Bound::Unbounded, std::ops::Bound::Unbounded),
        false,
        |key, value| {
            orgs.push((key.to_vec(), codec::decode(value)?));
            Ok(true)
        },
    )?;
    for (key, mut org) in orgs {
        if org.template != "studio" {
            continue;
        }
        let mut changed = false;
        for stage in &mut org.pipeline.stages {
            if stage.key == "delivered" && stage.kind == StageKind::Won && stage.payment_allowed {
                stage.payment_allowed = false;
                changed = true;
            }
        }
        if changed {
            tx.put_raw(tables::ORGS, &key, &codec::encode(&org)?)?;
        }
    }
    refresh_builtin_roles(tx)
}

/// Built-in roles stored the permissions of their day; they cannot be edited, and get
/// [`crate::model::BuiltinRole::permissions`] of this build (schema 4: the manager gained
/// `manage_billing`; schema 9: the manager `manage_projects`, workers and masters
/// `report_projects`).
fn refresh_builtin_roles(tx: &Tx<'_>) -> Result<()> {
    let mut roles: Vec<(Vec<u8>, Role)> = Vec::new();
    tx.scan(
        tables::ROLES,
        (std::ops::Bound::Unbounded, std::ops::Bound::Unbounded),
        false,
        |key, value| {
            let role: Role = codec::decode(value)?;
            if role
                .builtin
                .is_some_and(|builtin| builtin.permissions() != role.permissions)
            {
                roles.push((key.to_vec(), role));
            }
            Ok(true)
        },
    )?;
    for (key, mut role) in roles {
        if let Some(builtin) = role.builtin {
            role.permissions = builtin.permissions();
            tx.put_raw(tables::ROLES, &key, &codec::encode(&role)?)?;
        }
    }
    Ok(())
}

/// Writes a small schema-1 file: one organization (from the studio template), one customer and
/// three orders in order record version 1. Used to make `fixtures/db/schema-v1.redb`, which the
/// migration test opens.
#[doc(hidden)]
pub fn write_schema_v1_file(path: &std::path::Path) -> Result<()> {
    let db = Database::create(path)?;
    let txn = db.begin_write()?;
    {
        let tx = Tx::new(&txn, Timestamp(1_700_000_000_000));
        for def in tables::ALL {
            let added_later = [
                tables::ORDERS_BY_WORD,
                tables::CUSTOMERS_BY_ACTIVITY,
                tables::MEDIA_REFS,
                tables::AUDIT_BY_SUBJECT,
                tables::CHANGES,
            ];
            if !added_later
                .iter()
                .any(|added| redb::TableHandle::name(added) == redb::TableHandle::name(def))
            {
                txn.open_table(*def)?;
            }
        }
        set_version(&tx, 1)?;
        // Schema 1's studio had no markers (they are records of today's version).
        let mut studio = crate::templates::template("studio")?;
        studio.markers.clear();
        let org = crate::services::org::create_org_in(&tx, studio, "Legacy Studio", "legacy")?;
        let customer = crate::services::customers::insert_customer_v1_fixture(&tx, org.id)?;
        let titles = [
            "Telegram bot for a flower shop",
            "Парсер цен конкурентов",
            "Landing page redesign",
        ];
        for (index, title) in titles.iter().enumerate() {
            let id = tx.next_id(org.id, "order")?;
            let order = OrderV1 {
                id: crate::model::OrderId(id),
                customer,
                title: (*title).to_string(),
                description: format!("Legacy order number {}", index + 1),
                budget: Some(crate::model::Money(100_000 * (index as i64 + 1))),
                deadline: None,
                stage: org.pipeline.initial().id,
                assignee: None,
                price: None,
                rejection_reason: None,
                created_at: Timestamp(1_700_000_000_000 + index as i64),
                updated_at: Timestamp(1_700_000_000_000 + index as i64),
            };
            let body = codec::encode_body(&order, 1, "order")?;
            let key = Key::org(org.id).u64(id);
            tx.put_raw(tables::ORDERS, key.as_slice(), &body)?;
            tx.index_record::<Order>(key.as_slice(), &order.into(), 1)?;
        }
    }
    txn.commit()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    //! The 2 -> 3 and 3 -> 4 migrations on older files made from a current one (no schema-2
    //! or schema-3 fixture exists): what the older schema lacked is undone and the version
    //! set back, then the file is reopened.

    use super::*;
    use crate::model::{Actor, Attachment, BuiltinRole, MediaKind};
    use crate::services::{
        chat::{InboundMessage, OrderChoice},
        orders::NewOrder,
    };
    use crate::store::ViewExt;
    use crate::store::records::OrderV2;
    use crate::{Crm, ErrorKind};

    #[test]
    fn a_schema_2_file_gets_the_file_references_of_its_messages_and_orders() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("crm.redb");
        let crm = Crm::open(&path).unwrap();
        let org = crm
            .system()
            .create_organization("studio", "Acme", "acme")
            .unwrap()
            .id;
        let customer = crm
            .system()
            .upsert_telegram_customer(
                org,
                crate::customers::TelegramProfile {
                    telegram_id: crate::model::TelegramUserId(101),
                    username: None,
                    first_name: "Alice".into(),
                    last_name: None,
                    language_code: None,
                },
            )
            .unwrap()
            .id;
        let alice = Actor::customer(org, customer);
        let sent = crm
            .system()
            .store_media(org, b"sent in the chat".to_vec(), "image/png".into())
            .unwrap();
        let sketch = crm
            .system()
            .store_media(org, b"attached to the order".to_vec(), "image/png".into())
            .unwrap();
        crm.post_inbound(
            &alice,
            InboundMessage {
                customer,
                about: OrderChoice::None,
                text: String::new(),
                attachments: vec![Attachment {
                    media: sent.hash,
                    kind: MediaKind::Photo,
                    file_name: None,
                    mime: sent.mime.clone(),
                    size: sent.size,
                }],
                telegram_message_id: None,
                content: None,
                reply_to_telegram: None,
                media_group: None,
            },
        )
        .unwrap();
        crm.create_order(
            &alice,
            NewOrder {
                title: "Shop bot".into(),
                description: "See the sketch".into(),
                attachments: vec![sketch.hash],
                ..NewOrder::default()
            },
        )
        .unwrap();
        // Make it a schema-2 file: no references, version 2.
        crm.write(|tx| {
            let keys =
                tx.keys_with_prefix(tables::MEDIA_REFS, &Key::empty(), None, false, usize::MAX)?;
            assert_eq!(keys.len(), 2);
            for key in keys {
                tx.remove(tables::MEDIA_REFS, &Key::empty().bytes(&key))?;
            }
            set_version(tx, 2)
        })
        .unwrap();
        let system = Actor::system(org);
        assert_eq!(
            crm.visible_media(&alice, sent.hash).unwrap_err().kind(),
            ErrorKind::NotFound,
            "without references nothing is visible"
        );
        crm.close();
        drop(crm);

        let crm = Crm::open(&path).unwrap();
        assert_eq!(crm.migrated_from(), Some(2));
        let report = crm.system().verify().unwrap();
        assert!(report.is_clean(), "{:#?}", report.problems);
        assert!(crm.visible_media(&alice, sent.hash).is_ok());
        assert!(crm.visible_media(&alice, sketch.hash).is_ok());
        assert!(crm.visible_media(&system, sketch.hash).is_ok());
    }

    #[test]
    fn a_schema_4_file_gets_the_list_rows_of_its_orders_and_the_names_of_its_customers() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("crm.redb");
        let crm = Crm::open(&path).unwrap();
        let org = crm
            .system()
            .create_organization("studio", "Acme", "acme")
            .unwrap()
            .id;
        crm.system().load_demo(org).unwrap();
        let system = Actor::system(org);
        let everything = crate::orders::OrderFilter::default();
        let page = crate::Page::first(crate::Page::MAX);
        let rows_before = crm
            .read(|view| crate::orders::order_rows_in(view, &system, &everything, page))
            .unwrap();
        assert!(rows_before.items.len() > 5, "{}", rows_before.items.len());
        // Make it a schema-4 file: no projections, version 4.
        crm.write(|tx| {
            for table in [tables::ORDER_ROWS, tables::CUSTOMER_NAMES] {
                let keys = tx.keys_with_prefix(table, &Key::empty(), None, false, usize::MAX)?;
                assert!(!keys.is_empty());
                for key in keys {
                    tx.remove(table, &Key::empty().bytes(&key))?;
                }
            }
            set_version(tx, 4)
        })
        .unwrap();
        assert!(
            crm.read(|view| crate::orders::order_rows_in(view, &system, &everything, page))
                .unwrap()
                .items
                .is_empty(),
            "without rows the list is empty"
        );
        crm.close();
        drop(crm);

        let crm = Crm::open(&path).unwrap();
        assert_eq!(crm.migrated_from(), Some(4));
        let report = crm.system().verify().unwrap();
        assert!(report.is_clean(), "{:#?}", report.problems);
        let rows_after = crm
            .read(|view| crate::orders::order_rows_in(view, &system, &everything, page))
            .unwrap();
        assert_eq!(rows_after, rows_before);
    }

    #[test]
    fn a_schema_6_file_gets_a_conversation_row_per_customer_open_or_closed_as_its_queue_says() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("crm.redb");
        let crm = Crm::open(&path).unwrap();
        let org = crm
            .system()
            .create_organization("helpdesk", "Desk", "desk")
            .unwrap()
            .id;
        crm.system().load_demo(org).unwrap();
        let system = Actor::system(org);
        let query = crate::inbox::InboxQuery {
            filter: crate::inbox::InboxFilter::All,
            page: crate::Page::first(crate::Page::MAX),
            ..crate::inbox::InboxQuery::default()
        };
        let closed = crate::inbox::InboxQuery {
            filter: crate::inbox::InboxFilter::Closed,
            ..query.clone()
        };
        let before = crm.inbox_page(&system, &query).unwrap().rows;
        let closed_before = crm.inbox_page(&system, &closed).unwrap().rows;
        assert!(before.items.len() > 2, "{}", before.items.len());
        // Make it a schema-6 file: no conversation rows, version 6.
        crm.write(|tx| {
            for table in [
                tables::CONVERSATION_ROWS,
                tables::CONVERSATIONS_BY_STATE,
                tables::CONVERSATIONS_BY_ASSIGNEE,
            ] {
                let keys = tx.keys_with_prefix(table, &Key::empty(), None, false, usize::MAX)?;
                for key in keys {
                    tx.remove(table, &Key::empty().bytes(&key))?;
                }
            }
            set_version(tx, 6)
        })
        .unwrap();
        assert!(
            crm.inbox_page(&system, &query)
                .unwrap()
                .rows
                .items
                .is_empty()
        );
        crm.close();
        drop(crm);

        let crm = Crm::open(&path).unwrap();
        assert_eq!(crm.migrated_from(), Some(6));
        let report = crm.system().verify().unwrap();
        assert!(report.is_clean(), "{:#?}", report.problems);
        assert_eq!(crm.inbox_page(&system, &query).unwrap().rows, before);
        assert_eq!(
            crm.inbox_page(&system, &closed).unwrap().rows,
            closed_before
        );
    }

    #[test]
    fn a_schema_7_file_gets_the_aggregates_of_its_orders_and_customers() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("crm.redb");
        let crm = Crm::open(&path).unwrap();
        let org = crm
            .system()
            .create_organization("service", "Sites", "sites")
            .unwrap()
            .id;
        crm.system().load_demo(org).unwrap();
        let system = Actor::system(org);
        let before = crm.analytics(&system).unwrap();
        assert_eq!(before.orders, 80);
        assert!(before.revenue > 0 && before.customers == 60);
        // Make it a schema-7 file: no aggregates, version 7.
        crm.write(|tx| {
            let keys = tx.keys_with_prefix(
                tables::ANALYTICS_DAYS,
                &Key::empty(),
                None,
                false,
                usize::MAX,
            )?;
            for key in keys {
                tx.remove(tables::ANALYTICS_DAYS, &Key::empty().bytes(&key))?;
            }
            set_version(tx, 7)
        })
        .unwrap();
        assert_eq!(crm.analytics(&system).unwrap().revenue, 0);
        crm.close();
        drop(crm);

        let crm = Crm::open(&path).unwrap();
        assert_eq!(crm.migrated_from(), Some(7));
        let report = crm.system().verify().unwrap();
        assert!(report.is_clean(), "{:#?}", report.problems);
        assert_eq!(crm.analytics(&system).unwrap(), before);
    }

    #[test]
    fn a_schema_8_file_gets_its_first_administrator_as_each_organization_s_owner() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("crm.redb");
        let crm = Crm::open(&path).unwrap();
        let acme = crm
            .system()
            .create_organization("studio", "Acme", "acme")
            .unwrap();
        let empty = crm
            .system()
            .create_organization("service", "Empty", "empty")
            .unwrap();
        let user = |username: &str, role: &str| {
            crm.create_user(
                &Actor::system(acme.id),
                crate::services::team::NewUser {
                    username: username.into(),
                    display_name: String::new(),
                    password: crate::Password::parse("correct horse battery").unwrap(),
                    roles: vec![role.into()],
                    must_change_password: false,
                },
            )
            .unwrap()
            .id
        };
        user("worker", "worker");
        let first_admin = user("boss", "administrator");
        user("second", "administrator");
        // Make it a schema-8 file: organizations of record version 3, version 8.
        let orgs = [acme.clone(), empty.clone()];
        crm.write(move |tx| {
            for org in &orgs {
                let old = crate::store::records::OrganizationV3::from_current(org);
                let bytes = codec::encode_body(&old, 3, "organization v3")?;
                tx.put_raw(tables::ORGS, Key::org(org.id).as_slice(), &bytes)?;
            }
            set_version(tx, 8)
        })
        .unwrap();
        crm.close();
        drop(crm);

        let crm = Crm::open(&path).unwrap();
        assert_eq!(crm.migrated_from(), Some(8));
        let report = crm.system().verify().unwrap();
        assert!(report.is_clean(), "{:#?}", report.problems);
        let acme_now = crm.system().organization(acme.id).unwrap();
        assert_eq!(acme_now.owner, Some(first_admin));
        assert!(acme_now.is_enabled());
        assert_eq!(acme_now.pipeline, acme.pipeline);
        assert_eq!(crm.system().organization(empty.id).unwrap().owner, None);
        crm.read(|view| {
            view.get_raw(tables::ORGS, Key::org(acme.id).as_slice(), |bytes| {
                assert_eq!(bytes[0], <Organization as codec::Record>::VERSION);
                Ok(())
            })?;
            Ok(())
        })
        .unwrap();
    }

    #[test]
    fn a_schema_5_file_gets_the_modules_its_templates_preset_and_the_utc_time_zone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("crm.redb");
        let crm = Crm::open(&path).unwrap();
        let helpdesk = crm
            .system()
            .create_organization("helpdesk", "Desk", "desk")
            .unwrap();
        let studio = crm
            .system()
            .create_organization("studio", "Acme", "acme")
            .unwrap();
        // Make it a schema-5 file: organizations of record version 2, version 5.
        let orgs = [helpdesk.clone(), studio.clone()];
        crm.write(move |tx| {
            for org in &orgs {
                let old = crate::store::records::OrganizationV2::from_current(org);
                let bytes = codec::encode_body(&old, 2, "organization v2")?;
                tx.put_raw(tables::ORGS, Key::org(org.id).as_slice(), &bytes)?;
            }
            set_version(tx, 5)
        })
        .unwrap();
        crm.close();
        drop(crm);

        let crm = Crm::open(&path).unwrap();
        assert_eq!(crm.migrated_from(), Some(5));
        let report = crm.system().verify().unwrap();
        assert!(report.is_clean(), "{:#?}", report.problems);
        let desk = crm.system().organization(helpdesk.id).unwrap();
        let on: Vec<crate::model::Module> = desk.modules.iter().collect();
        assert_eq!(
            on,
            [
                crate::model::Module::Operators,
                crate::model::Module::Tickets
            ]
        );
        assert_eq!(desk.settings.time_zone, "UTC");
        assert_eq!(desk.pipeline, helpdesk.pipeline);
        let acme = crm.system().organization(studio.id).unwrap();
        assert_eq!(acme.modules, crate::model::Modules::NONE);
        // The migration rewrote them in today's record version.
        crm.read(|view| {
            for org in [&helpdesk, &studio] {
                view.get_raw(tables::ORGS, Key::org(org.id).as_slice(), |bytes| {
                    assert_eq!(bytes[0], <Organization as codec::Record>::VERSION);
                    Ok(())
                })?;
            }
            Ok(())
        })
        .unwrap();
    }

    #[test]
    fn an_order_stored_before_preferred_payment_methods_reads_without_one_and_is_rewritten_on_change()
     {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("crm.redb");
        let crm = Crm::open(&path).unwrap();
        let org = crm
            .system()
            .create_organization("studio", "Acme", "acme")
            .unwrap();
        let customer = crm
            .system()
            .upsert_telegram_customer(
                org.id,
                crate::customers::TelegramProfile {
                    telegram_id: crate::model::TelegramUserId(102),
                    username: None,
                    first_name: "Boris".into(),
                    last_name: None,
                    language_code: None,
                },
            )
            .unwrap()
            .id;
        let boris = Actor::customer(org.id, customer);
        let order = crm
            .create_order(
                &boris,
                NewOrder {
                    title: "Shop bot".into(),
                    description: "Tagged before the form asked about payment".into(),
                    markers: vec![crate::model::MarkerId(5)],
                    ..NewOrder::default()
                },
            )
            .unwrap();
        // Store it as record version 2 wrote it (the shape of schemas 2 to 4).
        let key = Key::org(org.id).u64(order.id.0);
        let old = OrderV2 {
            id: order.id,
            customer: order.customer,
            title: order.title.clone(),
            description: order.description.clone(),
            budget: order.budget,
            deadline: order.deadline,
            stage: order.stage,
            assignee: order.assignee,
            price: order.price,
            markers: order.markers.clone(),
            priority: order.priority,
            rejection_reason: order.rejection_reason.clone(),
            attachments: order.attachments.clone(),
            custom_fields: order.custom_fields.clone(),
            created_at: order.created_at,
            updated_at: order.updated_at,
        };
        let stored_version = |crm: &Crm| {
            crm.read(|view| view.get_raw(tables::ORDERS, key.as_slice(), |bytes| Ok(bytes[0])))
                .unwrap()
        };
        crm.write({
            let key = key.clone();
            move |tx| {
                tx.put_raw(
                    tables::ORDERS,
                    key.as_slice(),
                    &codec::encode_body(&old, 2, "order")?,
                )
            }
        })
        .unwrap();
        assert_eq!(stored_version(&crm), Some(2));

        let read = crm.order(&boris, order.id).unwrap();
        assert_eq!(read, order, "every field of version 2 is kept");
        assert_eq!(read.preferred_payment_method, None);
        let report = crm.system().verify().unwrap();
        assert!(report.is_clean(), "{:#?}", report.problems);

        // The next change writes today's version.
        let manager = Actor::system(org.id);
        crm.approve_order(&manager, order.id).unwrap();
        assert_eq!(stored_version(&crm), Some(3));
        let approved = crm.order(&boris, order.id).unwrap();
        assert_eq!(approved.markers, order.markers);
        assert_eq!(approved.preferred_payment_method, None);
    }

    #[test]
    fn a_schema_3_file_stops_payment_in_delivered_and_updates_the_built_in_roles() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("crm.redb");
        let crm = Crm::open(&path).unwrap();
        let studio = crm
            .system()
            .create_organization("studio", "Acme", "acme")
            .unwrap()
            .id;
        let service = crm
            .system()
            .create_organization("service", "Fix-it", "fixit")
            .unwrap()
            .id;
        // Make it a schema-3 file: the old studio default and the old manager role.
        let old_manager = {
            let mut permissions = BuiltinRole::Manager.permissions();
            permissions = permissions
                .iter()
                .filter(|permission| *permission != crate::model::Permission::ManageBilling)
                .collect();
            permissions
        };
        crm.write(move |tx| {
            for org in [studio, service] {
                let mut record: Organization = tx.get(tables::ORGS, &Key::org(org))?.unwrap();
                for stage in &mut record.pipeline.stages {
                    if stage.kind == StageKind::Won {
                        stage.payment_allowed = true;
                    }
                }
                tx.put(tables::ORGS, &Key::org(org), &record)?;
                let mut roles: Vec<(Vec<u8>, Role)> = Vec::new();
                tx.for_each_prefix(tables::ROLES, &Key::org(org), |key, value| {
                    roles.push((key.to_vec(), codec::decode(value)?));
                    Ok(true)
                })?;
                for (key, mut role) in roles {
                    if role.builtin == Some(BuiltinRole::Manager) {
                        role.permissions = old_manager;
                        tx.put_raw(tables::ROLES, &key, &codec::encode(&role)?)?;
                    }
                }
            }
            set_version(tx, 3)
        })
        .unwrap();
        crm.close();
        drop(crm);

        let crm = Crm::open(&path).unwrap();
        assert_eq!(crm.migrated_from(), Some(3));
        let delivered = crm
            .system()
            .organization(studio)
            .unwrap()
            .pipeline
            .stage_by_key("delivered")
            .cloned()
            .unwrap();
        assert!(!delivered.payment_allowed, "{delivered:?}");
        let payable: Vec<String> = crm
            .system()
            .organization(studio)
            .unwrap()
            .pipeline
            .stages
            .into_iter()
            .filter(|stage| stage.payment_allowed)
            .map(|stage| stage.key)
            .collect();
        assert_eq!(payable, ["in_progress", "testing", "completed"]);
        let completed = crm
            .system()
            .organization(service)
            .unwrap()
            .pipeline
            .stage_by_key("completed")
            .cloned()
            .unwrap();
        assert!(
            completed.payment_allowed,
            "other templates keep their own flags"
        );
        for org in [studio, service] {
            let manager = crm
                .roles(&crate::model::Actor::system(org))
                .unwrap()
                .into_iter()
                .find(|role| role.builtin == Some(BuiltinRole::Manager))
                .unwrap();
            assert_eq!(manager.permissions, BuiltinRole::Manager.permissions());
            assert!(
                manager
                    .permissions
                    .contains(crate::model::Permission::ManageBilling)
            );
        }
        let report = crm.system().verify().unwrap();
        assert!(report.is_clean(), "{:#?}", report.problems);
    }

    #[test]
    fn a_schema_8_file_gives_the_built_in_roles_the_projects_permissions() {
        use crate::model::Permission;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("crm.redb");
        let crm = Crm::open(&path).unwrap();
        let org = crm
            .system()
            .create_organization("renovation", "Remont", "remont")
            .unwrap()
            .id;
        // Make it a schema-8 file: the roles as schema 8 made them.
        crm.write(move |tx| {
            let mut roles: Vec<(Vec<u8>, Role)> = Vec::new();
            tx.for_each_prefix(tables::ROLES, &Key::org(org), |key, value| {
                roles.push((key.to_vec(), codec::decode(value)?));
                Ok(true)
            })?;
            for (key, mut role) in roles {
                if role
                    .builtin
                    .is_some_and(|builtin| builtin != BuiltinRole::Administrator)
                {
                    role.permissions = role
                        .permissions
                        .iter()
                        .filter(|permission| {
                            !matches!(
                                permission,
                                Permission::ManageProjects | Permission::ReportProjects
                            )
                        })
                        .collect();
                    tx.put_raw(tables::ROLES, &key, &codec::encode(&role)?)?;
                }
            }
            set_version(tx, 8)
        })
        .unwrap();
        crm.close();
        drop(crm);

        let crm = Crm::open(&path).unwrap();
        assert_eq!(crm.migrated_from(), Some(8));
        for role in crm.roles(&crate::model::Actor::system(org)).unwrap() {
            let builtin = role.builtin.unwrap();
            assert_eq!(role.permissions, builtin.permissions(), "{}", role.name);
        }
        assert!(
            BuiltinRole::Manager
                .permissions()
                .contains(Permission::ManageProjects)
        );
        assert!(
            BuiltinRole::Worker
                .permissions()
                .contains(Permission::ReportProjects)
        );
        let report = crm.system().verify().unwrap();
        assert!(report.is_clean(), "{:#?}", report.problems);
    }

    #[test]
    fn a_schema_9_file_gets_the_staff_phone_index_of_its_users() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("crm.redb");
        let crm = Crm::open(&path).unwrap();
        let org = crm
            .system()
            .create_organization("renovation", "Remont", "remont")
            .unwrap()
            .id;
        let system = crate::model::Actor::system(org);
        let worker = crm
            .create_user(
                &system,
                crate::services::team::NewUser {
                    username: "ivan".into(),
                    display_name: String::new(),
                    password: crate::Password::parse("correct horse battery").unwrap(),
                    roles: vec!["worker".into()],
                    must_change_password: false,
                },
            )
            .unwrap()
            .id;
        crm.set_user_phone(&system, worker, Some("+79161234567"))
            .unwrap();
        // Make it a schema-9 file: no phone index, version 9.
        crm.write(move |tx| {
            let number = crate::store::declarations::phone_number("+79161234567").unwrap();
            tx.remove(
                tables::USERS_BY_PHONE,
                &crate::store::declarations::user_phone_key(org, number),
            )?;
            set_version(tx, 9)
        })
        .unwrap();
        crm.close();
        drop(crm);

        let crm = Crm::open(&path).unwrap();
        assert_eq!(crm.migrated_from(), Some(9));
        let found = crm
            .read(|view| crate::services::team::user_by_phone(view, org, "+79161234567"))
            .unwrap();
        assert_eq!(found, Some(worker));
        let report = crm.system().verify().unwrap();
        assert!(report.is_clean(), "{:#?}", report.problems);
    }
}
