//! The schema version in the file and the migrations between versions.
//!
//! Schema 1 stored orders without markers, priority, attachments and custom fields, and had
//! no title-word index. Schema 2 rewrites every order in the new record version and builds the
//! word index. Schema 3 adds `MEDIA_REFS`, the records that carry each file, so that
//! a file is served only to those who may see one of them. Schema 4 (today's) indexes the
//! audit log by record and adds the change feed. An older file is brought up to date step by
//! step (1 -> 2 -> 3 -> 4) in one transaction when it is opened.

use redb::Database;

use super::keys::{self, Key};
use super::records::OrderV1;
use super::tables;
use super::{Tx, View, codec};
use crate::model::{Message, Order, OrgId, Timestamp};
use crate::{Error, Result};

/// The schema version this build writes.
pub const SCHEMA_VERSION: u32 = 4;

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
                set_version(&tx, SCHEMA_VERSION)?;
            }
        }
        found
    };
    txn.commit()?;
    Ok(found)
}

/// Schema 1 -> 2: rewrite orders in record version 2 and build the title-word and
/// conversation-activity indexes.
fn migrate_1_to_2(tx: &Tx<'_>) -> Result<()> {
    let mut orders: Vec<(Vec<u8>, Order)> = Vec::new();
    tx.scan(
        tables::ORDERS,
        (std::ops::Bound::Unbounded, std::ops::Bound::Unbounded),
        false,
        |key, value| {
            orders.push((key.to_vec(), codec::decode::<Order>(value)?));
            Ok(true)
        },
    )?;
    for (key, order) in orders {
        let org = OrgId(keys::read_u64(&key, 0));
        tx.put_raw(tables::ORDERS, &key, &codec::encode(&order)?)?;
        for word in keys::title_words(&order.title) {
            tx.index(tables::ORDERS_BY_WORD, &word_key(org, &word, order.id.0))?;
        }
    }
    // The conversation list's index came with schema 2 as well.
    let mut customers: Vec<(OrgId, crate::model::Customer)> = Vec::new();
    tx.scan(
        tables::CUSTOMERS,
        (std::ops::Bound::Unbounded, std::ops::Bound::Unbounded),
        false,
        |key, value| {
            customers.push((OrgId(keys::read_u64(key, 0)), codec::decode(value)?));
            Ok(true)
        },
    )?;
    for (org, customer) in customers {
        tx.index(
            tables::CUSTOMERS_BY_ACTIVITY,
            &crate::services::customers::activity_key(org, customer.last_activity_at, customer.id),
        )?;
    }
    Ok(())
}

/// Schema 2 -> 3: build the file references (`MEDIA_REFS`) of every message and order that
/// carries attachments, with the same `*_index_keys` functions that write them from now on.
fn migrate_2_to_3(tx: &Tx<'_>) -> Result<()> {
    let mut refs: Vec<Key> = Vec::new();
    let mut collect = |entries: Vec<(tables::Def, Key)>| {
        refs.extend(
            entries
                .into_iter()
                .filter(|(def, _)| {
                    redb::TableHandle::name(def) == redb::TableHandle::name(&tables::MEDIA_REFS)
                })
                .map(|(_, key)| key),
        );
    };
    tx.scan(
        tables::MESSAGES,
        (std::ops::Bound::Unbounded, std::ops::Bound::Unbounded),
        false,
        |key, value| {
            let message: Message = codec::decode(value)?;
            if !message.attachments.is_empty() {
                let org = OrgId(keys::read_u64(key, 0));
                collect(crate::services::chat::message_index_keys(org, &message, 3));
            }
            Ok(true)
        },
    )?;
    tx.scan(
        tables::ORDERS,
        (std::ops::Bound::Unbounded, std::ops::Bound::Unbounded),
        false,
        |key, value| {
            let order: Order = codec::decode(value)?;
            if !order.attachments.is_empty() {
                let org = OrgId(keys::read_u64(key, 0));
                collect(crate::services::orders::order_index_keys(org, &order, 3));
            }
            Ok(true)
        },
    )?;
    for key in refs {
        tx.index(tables::MEDIA_REFS, &key)?;
    }
    Ok(())
}

/// Schema 3 -> 4: index every audit entry by its record (`AUDIT_BY_SUBJECT`, an order's
/// timeline) with the same function that indexes new entries. The change feed (`CHANGES`)
/// starts empty. Records of older versions (organizations with English and Russian stage
/// names, audit entries in words) stay as they are and are read through their upgrade.
fn migrate_3_to_4(tx: &Tx<'_>) -> Result<()> {
    let mut entries: Vec<Key> = Vec::new();
    tx.scan(
        tables::AUDIT,
        (std::ops::Bound::Unbounded, std::ops::Bound::Unbounded),
        false,
        |key, value| {
            let entry: crate::model::AuditEntry = codec::decode(value)?;
            let org = OrgId(keys::read_u64(key, 0));
            entries.extend(
                super::audit_index_keys(org, &entry)
                    .into_iter()
                    .map(|(_, key)| key),
            );
            Ok(true)
        },
    )?;
    for key in entries {
        tx.index(tables::AUDIT_BY_SUBJECT, &key)?;
    }
    Ok(())
}

/// The key of a title word index entry.
pub(crate) fn word_key(org: OrgId, word: &str, order: u64) -> Key {
    Key::org(org).bytes(word.as_bytes()).u8(0).u64(order)
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
        let org = crate::services::org::create_org_in(
            &tx,
            crate::templates::template("studio")?,
            "Legacy Studio",
            "legacy",
        )?;
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
            tx.put_raw(tables::ORDERS, Key::org(org.id).u64(id).as_slice(), &body)?;
            crate::services::orders::index_order_v1_fixture(&tx, org.id, &order.into())?;
        }
    }
    txn.commit()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    //! The 2 -> 3 migration on a schema-2 file made from a current one (no schema-2 fixture
    //! exists): the file references are dropped and the version set back, then reopened.

    use super::*;
    use crate::model::{Actor, Attachment, MediaKind};
    use crate::services::{chat::InboundMessage, orders::NewOrder};
    use crate::store::ViewExt;
    use crate::{Crm, ErrorKind};

    #[test]
    fn a_schema_2_file_gets_the_file_references_of_its_messages_and_orders() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("crm.redb");
        let crm = Crm::open(&path).unwrap();
        let org = crm
            .create_organization("studio", "Acme", "acme")
            .unwrap()
            .id;
        let customer = crm
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
            .store_media(org, b"sent in the chat".to_vec(), "image/png".into())
            .unwrap();
        let sketch = crm
            .store_media(org, b"attached to the order".to_vec(), "image/png".into())
            .unwrap();
        crm.post_inbound(
            &alice,
            InboundMessage {
                customer,
                order: None,
                text: String::new(),
                attachments: vec![Attachment {
                    media: sent.hash,
                    kind: MediaKind::Photo,
                    file_name: None,
                    mime: sent.mime.clone(),
                    size: sent.size,
                }],
                telegram_message_id: None,
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
        let report = crm.verify().unwrap();
        assert!(report.is_clean(), "{:#?}", report.problems);
        assert!(crm.visible_media(&alice, sent.hash).is_ok());
        assert!(crm.visible_media(&alice, sketch.hash).is_ok());
        assert!(crm.visible_media(&system, sketch.hash).is_ok());
    }
}
