//! The checks of `crm verify` on the tables that are no record table's
//! (`declarations::CHECKED_BY_HAND`): the schema version, the sequences and retention's mark
//! in them, the chunks of each file; and the count of whatever no declaration covers.

use redb::TableHandle;
use std::collections::HashSet;

use super::{Checker, EVERYTHING, MAX_LISTED_PROBLEMS, chain};
use crate::Result;
use crate::model::{Media, OrgId};
use crate::store::codec;
use crate::store::declarations::{self, CHECKED_BY_HAND};
use crate::store::indexes::{Declared, Visitor};
use crate::store::keys::{self, Key, hex};
use crate::store::schema::{self, SCHEMA_VERSION};
use crate::store::tables;
use crate::store::{View, ViewExt};

impl Checker<'_> {
    pub(super) fn check_meta(&mut self) -> Result<()> {
        match schema::stored_version(self.view) {
            Ok(Some(version)) if version > SCHEMA_VERSION => self.problem(format!(
                "meta: schema version {version} is newer than this program's {SCHEMA_VERSION}"
            )),
            Ok(Some(version)) => self.schema = version,
            Ok(None) => self.problem("meta: the schema version is missing".to_string()),
            Err(error) => self.problem(format!("meta: {}", chain(&error))),
        }
        self.records += self.view.table_len(tables::META)?;
        Ok(())
    }

    pub(super) fn read_sequences(&mut self) -> Result<()> {
        let view = self.view;
        view.scan(tables::SEQUENCES, EVERYTHING, false, |key, value| {
            self.index_entries += 1;
            if key.len() < 8 || value.len() != 8 {
                self.problem(format!(
                    "sequences: entry {} is malformed ({}-byte key, {}-byte value)",
                    hex(key),
                    key.len(),
                    value.len()
                ));
            } else {
                self.sequences
                    .insert(key.to_vec(), keys::read_u64(value, 0));
            }
            Ok(true)
        })
    }

    /// Each file's chunks are numbered 0, 1, 2... and add up to its record's count and size;
    /// every chunk belongs to a file.
    pub(super) fn check_media_chunks(&mut self) -> Result<()> {
        let view = self.view;
        let mut expected = 0u64;
        view.scan(tables::MEDIA, EVERYTHING, false, |key, value| {
            let Ok(media) = codec::decode::<Media>(value) else {
                return Ok(true);
            };
            let org = OrgId(keys::read_u64(key, 0));
            if key.len() != 40
                || key.get(8..) != Some(&media.hash.0[..])
                || !self.pipelines.contains_key(&org.0)
            {
                return Ok(true);
            }
            let (mut chunks, mut size, mut out_of_order) = (0u64, 0u64, false);
            view.for_each_prefix(tables::MEDIA_CHUNKS, &Key::empty().bytes(key), |chunk_key, chunk| {
                let index = chunk_key
                    .get(40..44)
                    .and_then(|bytes| <[u8; 4]>::try_from(bytes).ok())
                    .map(u32::from_be_bytes);
                if chunk_key.len() != 44 || index.map(u64::from) != Some(chunks) {
                    out_of_order = true;
                }
                chunks += 1;
                size += chunk.len() as u64;
                Ok(true)
            })?;
            expected += chunks;
            if chunks != u64::from(media.chunks) || size != media.size || out_of_order {
                self.problem(format!(
                    "media_chunks: media {} of organization {org} has {chunks} chunks of {size} bytes{}, but its record says {} chunks of {} bytes",
                    media.hash,
                    if out_of_order { " (not numbered 0, 1, 2...)" } else { "" },
                    media.chunks,
                    media.size
                ));
            }
            Ok(true)
        })?;
        let len = view.table_len(tables::MEDIA_CHUNKS)?;
        self.index_entries += len;
        if len <= expected {
            return Ok(());
        }
        let mut problems = Vec::new();
        view.scan(tables::MEDIA_CHUNKS, EVERYTHING, false, |key, _| {
            let media_key = key.get(..40).unwrap_or(key);
            if !view.exists(tables::MEDIA, &Key::empty().bytes(media_key))? {
                problems.push(format!(
                    "media_chunks: entry {} belongs to no media record",
                    hex(key)
                ));
            }
            Ok(problems.len() < MAX_LISTED_PROBLEMS)
        })?;
        for problem in problems {
            self.problem(problem);
        }
        Ok(())
    }

    /// Retention's high-water mark of an organization is two `sequences` entries written
    /// together (see `services::retention`): one without the other is a problem.
    pub(super) fn check_pruned_marks(&mut self) {
        use crate::services::retention::{INBOX_PRUNED_RECEIVED_AT, INBOX_PRUNED_THROUGH};
        let mut orgs: Vec<u64> = self
            .sequences
            .keys()
            .filter(|key| {
                let name = key.get(8..).unwrap_or_default();
                name == INBOX_PRUNED_THROUGH.as_bytes()
                    || name == INBOX_PRUNED_RECEIVED_AT.as_bytes()
            })
            .map(|key| keys::read_u64(key, 0))
            .collect();
        orgs.sort_unstable();
        orgs.dedup();
        for org in orgs {
            let has = |name: &str| {
                let key = Key::org(OrgId(org)).bytes(name.as_bytes());
                self.sequences.contains_key(key.as_slice())
            };
            if !(has(INBOX_PRUNED_THROUGH) && has(INBOX_PRUNED_RECEIVED_AT)) {
                self.problem(format!(
                    "sequences: organization {org} has only one of {INBOX_PRUNED_THROUGH} and {INBOX_PRUNED_RECEIVED_AT}"
                ));
            }
        }
    }

    /// Counts the tables checked by hand that hold no index, and lists any table that
    /// neither a declaration nor [`CHECKED_BY_HAND`] covers.
    pub(super) fn count_the_rest(&mut self) -> Result<()> {
        let mut covered = Covered(HashSet::new());
        declarations::visit_all(&mut covered)?;
        covered
            .0
            .extend(CHECKED_BY_HAND.iter().map(|def| def.name().to_string()));
        self.records += self.view.table_len(tables::DIALOGUES)?;
        for def in tables::ALL {
            if !covered.0.contains(def.name()) {
                self.records += self.view.table_len(*def)?;
                self.unchecked.push(def.name().to_string());
            }
        }
        Ok(())
    }
}

/// The names of every declared record, index and counter table.
struct Covered(HashSet<String>);

impl Visitor for Covered {
    fn visit<T: Declared>(&mut self) -> Result<()> {
        self.0.insert(T::TABLE.name().to_string());
        self.0.extend(
            T::INDEXES
                .iter()
                .map(|index| index.table.name().to_string()),
        );
        self.0.extend(
            T::COUNTERS
                .iter()
                .map(|counter| counter.table.name().to_string()),
        );
        Ok(())
    }
}
