//! What a record table declares about its keys and secondary indexes, and the writes that
//! keep those indexes: the one definition both the writers and `crm verify` use.
//!
//! Each record table implements [`Declared`] once (every declaration is in
//! `super::declarations`, which lists the key layouts): how its keys are laid out, which
//! sequence numbers its records, which other records each one names, and the [`Index`]
//! entries and [`Counter`]s each record calls for. Use cases store records through
//! [`Tx::insert_record`], [`Tx::update_record`], [`Tx::save_record`] and
//! [`Tx::delete_record`], which add, move and remove exactly the declared entries; schema
//! migrations build a new index with [`Tx::build_index`]. `super::verify` walks the same
//! declarations: every entry a record declares must exist, and every entry of an index table
//! must be declared by the record it points at.

use redb::TableHandle;

use super::codec::{self, Record};
use super::keys::{self, Key};
use super::tables::Def;
use super::tables::SCHEMA_VERSION;
use super::{Tx, ViewExt};
use crate::Result;
use crate::model::{OrgId, Pipeline};

/// The value of an index entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Value {
    /// Nothing: the key carries everything (most indexes).
    Empty,
    /// A record id, big-endian: a unique lookup (a slug, a username, a Telegram id).
    Id([u8; 8]),
    /// Other bytes, such as the key of a record keyed by a hash.
    Bytes(Vec<u8>),
    /// A copy of the fields of the record that lists show (a projection such as
    /// `order_rows`), rewritten whenever one of them changes.
    Row(Vec<u8>),
}

impl Value {
    /// An id value.
    pub(crate) fn id(id: u64) -> Value {
        Value::Id(id.to_be_bytes())
    }

    /// The stored bytes.
    pub(crate) fn bytes(&self) -> &[u8] {
        match self {
            Value::Empty => &[],
            Value::Id(bytes) => bytes,
            Value::Bytes(bytes) | Value::Row(bytes) => bytes,
        }
    }
}

/// The entries one record calls for in one index table, as (key, value).
pub(crate) type Entries = Vec<(Key, Value)>;

/// Whose an index entry is, as its layout says (the backward check of `crm verify`).
pub(crate) enum Owner {
    /// The record stored under this key of the declaring table.
    Record(Key),
    /// A record of another table that declares entries in the same index (`media_refs`
    /// holds entries of messages and of orders).
    Elsewhere,
    /// Nobody's: what is wrong with the entry, said after "entry KEY".
    Malformed(String),
}

/// One secondary index of a record table.
pub(crate) struct Index<T> {
    /// The index table.
    pub(crate) table: Def,
    /// The schema version that added the table: a file of an older one lacks its entries.
    pub(crate) since: u32,
    /// Adds the entries that the record stored under `key` (in the organization given)
    /// calls for.
    pub(crate) entries: fn(OrgId, &[u8], &T, &mut Entries),
    /// The record an entry (key, value) belongs to.
    pub(crate) owner: fn(&[u8], &[u8]) -> Owner,
    /// What is wrong with an entry (key, value) that the record it points at does not
    /// declare, said after "entry KEY".
    pub(crate) disagreement: fn(&[u8], &[u8], &T) -> String,
}

/// A counter table: the number of records that call for each of its keys (big-endian u64).
pub(crate) struct Counter<T> {
    /// The counter table.
    pub(crate) table: Def,
    /// The counter a record (of the organization given) adds one to.
    pub(crate) key: fn(OrgId, &T) -> Key,
    /// How problems name a counter key (`stage 3 of organization 1`); `None` for a malformed
    /// one.
    pub(crate) describe: fn(&[u8]) -> Option<String>,
}

/// How the keys of a record table are laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Layout {
    /// `org` (8 bytes): the organizations themselves, numbered by sequence `org` of
    /// organization 0.
    Org,
    /// `org | id` (16 bytes), the record's [`Declared::id`].
    OrgId,
    /// `org | ...`, the rest made of the record's fields (see [`Declared::key`]).
    OrgFields,
    /// The SHA-256 of a secret (32 bytes); the record names its organization.
    Hash,
}

impl Layout {
    /// The length every key has, when fixed.
    pub(crate) fn key_len(self) -> Option<usize> {
        match self {
            Layout::Org => Some(8),
            Layout::OrgId => Some(16),
            Layout::OrgFields => None,
            Layout::Hash => Some(32),
        }
    }
}

/// A record another one names, which must exist: `id` in `table` of organization `org`
/// (key `org | id`).
pub(crate) struct Reference {
    /// What the naming record says, before the id: `belongs to customer`.
    pub(crate) relation: &'static str,
    /// The table of the named record.
    pub(crate) table: Def,
    /// Its organization.
    pub(crate) org: OrgId,
    /// Its id.
    pub(crate) id: u64,
}

impl Reference {
    /// A reference: the record says `relation` (`belongs to customer`) record `id` of `table`
    /// in `org`.
    pub(crate) fn new(relation: &'static str, table: Def, org: OrgId, id: u64) -> Self {
        Reference {
            relation,
            table,
            org,
            id,
        }
    }
}

/// A record table, declared once: its key layout, numbering, references, indexes and
/// counters. Implemented in `super::declarations`.
pub(crate) trait Declared: Record + 'static {
    /// The record table.
    const TABLE: Def;
    /// How problems name a record (`order`, `session`).
    const NOUN: &'static str;
    /// The key layout.
    const LAYOUT: Layout;
    /// The sequence that numbers the records ([`Declared::id`]), if any.
    const SEQUENCE: Option<&'static str> = None;
    /// The secondary indexes.
    const INDEXES: &'static [Index<Self>] = &[];
    /// The counters.
    const COUNTERS: &'static [Counter<Self>] = &[];

    /// The record's number, from [`Declared::SEQUENCE`] (and the end of its key in layouts
    /// `Org` and `OrgId`).
    fn id(&self) -> Option<u64> {
        None
    }

    /// The key the record belongs under in `org`, when its fields say (every layout but
    /// `Hash`; `None` where a table does not check it).
    fn key(&self, org: OrgId) -> Option<Key> {
        match (Self::LAYOUT, self.id()) {
            (Layout::Org, Some(id)) => Some(Key::org(OrgId(id))),
            (Layout::OrgId, Some(id)) => Some(Key::org(org).u64(id)),
            _ => None,
        }
    }

    /// The organization of the record stored under `key`: the key's first 8 bytes (every
    /// layout but `Hash`, whose records name it).
    fn org(key: &[u8], _record: &Self) -> OrgId {
        OrgId(keys::read_u64(key, 0))
    }

    /// Adds the records this one names.
    fn references(&self, _org: OrgId, _out: &mut Vec<Reference>) {}

    /// A rule of the record itself that does not hold (the pipeline is its organization's,
    /// when that exists), said after the table's name.
    fn broken_rule(&self, _org: OrgId, _pipeline: Option<&Pipeline>) -> Option<String> {
        None
    }

    /// How problems name the record stored under `key`: `order 5 of organization 1`.
    fn describe(&self, org: OrgId, key: &[u8]) -> String {
        match self.id() {
            Some(id) => format!("{} {id} of organization {org}", Self::NOUN),
            None => format!(
                "{} at key {} of organization {org}",
                Self::NOUN,
                keys::hex(key)
            ),
        }
    }
}

/// Something done for every declared record table (see `super::declarations::visit_all`).
pub(crate) trait Visitor {
    /// Called with each record table in turn.
    fn visit<T: Declared>(&mut self) -> Result<()>;
}

/// Every entry of a file of schema version `schema` that `record`, stored under `key`,
/// calls for, with its table.
pub(crate) fn entries_of<T: Declared>(
    key: &[u8],
    record: &T,
    schema: u32,
) -> Vec<(Def, Key, Value)> {
    let org = T::org(key, record);
    let mut all = Vec::new();
    let mut entries = Entries::new();
    for index in T::INDEXES.iter().filter(|index| index.since <= schema) {
        (index.entries)(org, key, record, &mut entries);
        all.extend(
            entries
                .drain(..)
                .map(|(entry, value)| (index.table, entry, value)),
        );
    }
    all
}

/// Whether two entries have the same table and key.
fn same_place(a: &(Def, Key, Value), b: &(Def, Key, Value)) -> bool {
    a.0.name() == b.0.name() && a.1 == b.1
}

impl Tx<'_> {
    /// Stores a new record under `key` with every entry and counter its table declares.
    pub(crate) fn insert_record<T: Declared>(&self, key: &Key, record: &T) -> Result<()> {
        self.put(T::TABLE, key, record)?;
        self.index_record(key.as_slice(), record, SCHEMA_VERSION)
    }

    /// Adds the entries (of a file of schema version `schema`) and the counters of a record
    /// stored under `key`, without writing the record (the schema-1 fixture writer stores
    /// its records in their old versions).
    pub(crate) fn index_record<T: Declared>(
        &self,
        key: &[u8],
        record: &T,
        schema: u32,
    ) -> Result<()> {
        for (table, entry, value) in entries_of(key, record, schema) {
            self.put_raw(table, entry.as_slice(), value.bytes())?;
        }
        let org = T::org(key, record);
        for counter in T::COUNTERS {
            self.add_counter(counter.table, &(counter.key)(org, record), 1)?;
        }
        Ok(())
    }

    /// Replaces the record `before` stored under `key` by `after`: removes the entries only
    /// `before` calls for, writes those `after` calls for that were not there as they are
    /// (a moved entry, a changed value), and moves the counters whose keys changed.
    pub(crate) fn update_record<T: Declared>(
        &self,
        key: &Key,
        before: &T,
        after: &T,
    ) -> Result<()> {
        let old = entries_of(key.as_slice(), before, SCHEMA_VERSION);
        let new = entries_of(key.as_slice(), after, SCHEMA_VERSION);
        for entry in &old {
            if !new.iter().any(|other| same_place(entry, other)) {
                self.remove(entry.0, &entry.1)?;
            }
        }
        for entry in &new {
            if !old
                .iter()
                .any(|other| same_place(entry, other) && other.2 == entry.2)
            {
                self.put_raw(entry.0, entry.1.as_slice(), entry.2.bytes())?;
            }
        }
        let (old_org, new_org) = (
            T::org(key.as_slice(), before),
            T::org(key.as_slice(), after),
        );
        for counter in T::COUNTERS {
            let (from, to) = (
                (counter.key)(old_org, before),
                (counter.key)(new_org, after),
            );
            if from != to {
                self.add_counter(counter.table, &from, -1)?;
                self.add_counter(counter.table, &to, 1)?;
            }
        }
        self.put(T::TABLE, key, after)
    }

    /// Stores `record` under `key`: [`Tx::update_record`] of the record stored there, or
    /// [`Tx::insert_record`] when there is none. Reads the stored record first.
    pub(crate) fn save_record<T: Declared>(&self, key: &Key, record: &T) -> Result<()> {
        match self.get::<T>(T::TABLE, key)? {
            Some(before) => self.update_record(key, &before, record),
            None => self.insert_record(key, record),
        }
    }

    /// Removes the record stored under `key` (which is `record`), its entries and its
    /// share of the counters.
    pub(crate) fn delete_record<T: Declared>(&self, key: &Key, record: &T) -> Result<()> {
        for (table, entry, _) in entries_of(key.as_slice(), record, SCHEMA_VERSION) {
            self.remove(table, &entry)?;
        }
        let org = T::org(key.as_slice(), record);
        for counter in T::COUNTERS {
            self.add_counter(counter.table, &(counter.key)(org, record), -1)?;
        }
        self.remove(T::TABLE, key)?;
        Ok(())
    }

    /// Writes the entries of index `table` for every stored record of `T`: a schema
    /// migration that adds the table. Loads every record once.
    pub(crate) fn build_index<T: Declared>(&self, table: Def) -> Result<()> {
        let mut built: Vec<(Key, Value)> = Vec::new();
        let mut entries = Entries::new();
        self.for_each_prefix(T::TABLE, &Key::empty(), |key, value| {
            let record: T = codec::decode(value)?;
            let org = T::org(key, &record);
            for index in T::INDEXES
                .iter()
                .filter(|index| index.table.name() == table.name())
            {
                (index.entries)(org, key, &record, &mut entries);
                built.append(&mut entries);
            }
            Ok(true)
        })?;
        for (entry, value) in built {
            self.put_raw(table, entry.as_slice(), value.bytes())?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Crm;
    use crate::model::{Actor, Order, OrderId, StageId, UserId};
    use crate::store::declarations::order_count_key;
    use crate::store::{View, tables};

    /// Every declared entry of `order` (all present or all absent) and the two stage counters.
    fn state(tx: &Tx<'_>, order: &Order) -> (Vec<bool>, u64, u64) {
        let key = Key::org(OrgId(1)).u64(order.id.0);
        let present = entries_of(key.as_slice(), order, SCHEMA_VERSION)
            .iter()
            .map(|(table, entry, _)| tx.exists(*table, entry).unwrap())
            .collect();
        let count = |stage: u16| {
            tx.counter(
                tables::ORDER_COUNTS,
                &order_count_key(OrgId(1), StageId(stage)),
            )
            .unwrap()
        };
        (present, count(1), count(2))
    }

    #[test]
    fn updating_moves_the_entries_and_counters_that_changed_and_deleting_removes_them_all() {
        let dir = tempfile::tempdir().unwrap();
        let crm = Crm::open(dir.path().join("crm.redb")).unwrap();
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
        let created = crm
            .create_order(
                &Actor::customer(org, customer),
                crate::orders::NewOrder {
                    title: "Shop bot".into(),
                    description: "A bot".into(),
                    ..crate::orders::NewOrder::default()
                },
            )
            .unwrap();
        assert_eq!(
            (org, created.id, created.stage),
            (OrgId(1), OrderId(1), StageId(1))
        );
        crm.write(move |tx| {
            let key = Key::org(org).u64(created.id.0);
            let before: Order = tx.get(tables::ORDERS, &key)?.unwrap();
            assert_eq!(state(tx, &before), (vec![true; 7], 1, 0));

            let mut after = before.clone();
            after.stage = StageId(2);
            after.assignee = Some(UserId(3));
            after.title = "Shop app".into();
            tx.update_record(&key, &before, &after)?;
            let (old, ..) = state(tx, &before);
            // Stage, customer, customer and stage, day, "bot", "shop", list row: the customer,
            // the day, the word that stayed and the row (rewritten in place) keep their
            // entries.
            assert_eq!(old, [false, true, false, true, false, true, true]);
            assert_eq!(state(tx, &after), (vec![true; 8], 0, 1));
            assert_eq!(tx.table_len(tables::ORDERS_BY_WORD)?, 2);

            tx.delete_record(&key, &after)?;
            assert_eq!(state(tx, &after), (vec![false; 8], 0, 0));
            assert!(!tx.exists(tables::ORDERS, &key)?);
            Ok(())
        })
        .unwrap();
    }
}
