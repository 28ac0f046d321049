//! The backward check of `crm verify`: an index table that holds more entries than its
//! records declare is scanned, and each entry is judged by the declarations of its table
//! (more than one when several record tables declare entries in it, as in `media_refs`).

use redb::TableHandle;

use super::{Checker, EVERYTHING, MAX_LISTED_PROBLEMS};
use crate::Result;
use crate::store::View;
use crate::store::codec;
use crate::store::declarations;
use crate::store::indexes::{Declared, Entries, Layout, Owner, Visitor};
use crate::store::keys::{self, hex};
use crate::store::raw::Snapshot;
use crate::store::tables::Def;

impl Checker<'_> {
    /// The backward check: an index table that holds more entries than its records declare
    /// is scanned, and each entry under a key that its record does not declare is reported
    /// (a declared key holding the wrong value was reported by the forward walk).
    pub(super) fn check_strays(&mut self) -> Result<()> {
        let mut declarers = Declarers(Vec::new());
        declarations::visit_all(&mut declarers)?;
        let mut index_tables: Vec<Def> = Vec::new();
        for declarer in &declarers.0 {
            if !index_tables
                .iter()
                .any(|def| def.name() == declarer.table.name())
            {
                index_tables.push(declarer.table);
            }
        }
        let view = self.view;
        for def in index_tables {
            let active: Vec<&Declarer> = declarers
                .0
                .iter()
                .filter(|declarer| {
                    declarer.table.name() == def.name() && declarer.since <= self.schema
                })
                .collect();
            if active.is_empty() {
                continue;
            }
            let len = view.table_len(def)?;
            self.index_entries += len;
            if len <= self.found.get(def.name()).copied().unwrap_or(0) {
                continue;
            }
            let mut problems = Vec::new();
            view.scan(def, EVERYTHING, false, |key, value| {
                if let Some(problem) = stray_problem(view, &active, key, value)? {
                    problems.push(format!("{}: entry {} {problem}", def.name(), hex(key)));
                }
                Ok(problems.len() < MAX_LISTED_PROBLEMS)
            })?;
            for problem in problems {
                self.problem(problem);
            }
        }
        Ok(())
    }
}

/// How a backward problem names the record stored under `key`: `order 5`, `session 0a1b...`.
fn label<T: Declared>(key: &[u8]) -> String {
    match T::LAYOUT {
        Layout::Org => format!("organization {}", keys::read_u64(key, 0)),
        Layout::OrgId => format!("{} {}", T::NOUN, keys::tail_u64(key)),
        Layout::OrgFields | Layout::Hash => format!("{} {}", T::NOUN, hex(key)),
    }
}

/// One index declaration with its record type erased, for the backward check.
struct Declarer {
    table: Def,
    since: u32,
    position: usize,
    verdict: fn(&Snapshot, usize, &[u8], &[u8]) -> Result<Verdict>,
}

/// Every index declaration, gathered from the declared record tables.
struct Declarers(Vec<Declarer>);

impl Visitor for Declarers {
    fn visit<T: Declared>(&mut self) -> Result<()> {
        for (position, index) in T::INDEXES.iter().enumerate() {
            self.0.push(Declarer {
                table: index.table,
                since: index.since,
                position,
                verdict: entry_verdict::<T>,
            });
        }
        Ok(())
    }
}

/// What one declaration says of an index entry.
enum Verdict {
    /// The record it points at declares it.
    Right,
    /// It points at a record that is missing or declares otherwise: what is wrong.
    Wrong(String),
    /// It is another record table's entry.
    Elsewhere,
    /// It is nobody's: what is wrong.
    Malformed(String),
}

/// The verdict of index `position` of `T` on the entry (`key`, `value`): reads and decodes
/// the record it points at.
fn entry_verdict<T: Declared>(
    view: &Snapshot,
    position: usize,
    key: &[u8],
    value: &[u8],
) -> Result<Verdict> {
    let Some(index) = T::INDEXES.get(position) else {
        return Ok(Verdict::Elsewhere);
    };
    let record_key = match (index.owner)(key, value) {
        Owner::Record(record_key) => record_key,
        Owner::Elsewhere => return Ok(Verdict::Elsewhere),
        Owner::Malformed(text) => return Ok(Verdict::Malformed(text)),
    };
    let record = view.get_raw(T::TABLE, record_key.as_slice(), |bytes| {
        Ok(codec::decode::<T>(bytes))
    })?;
    let label = || label::<T>(record_key.as_slice());
    Ok(match record {
        None => Verdict::Wrong(format!("points at {}, which does not exist", label())),
        Some(Err(_)) => Verdict::Wrong(format!("points at {}, which does not decode", label())),
        Some(Ok(record)) => {
            let mut entries = Entries::new();
            let org = T::org(record_key.as_slice(), &record);
            (index.entries)(org, record_key.as_slice(), &record, &mut entries);
            // An entry under a key its record declares is the forward check's to judge: it
            // already reported a wrong value there.
            if entries.iter().any(|(entry, _)| entry.as_slice() == key) {
                Verdict::Right
            } else {
                Verdict::Wrong((index.disagreement)(key, value, &record))
            }
        }
    })
}

/// The problem with an index entry, if any, by the declarations of its table (more than one
/// when several record tables declare entries in it).
fn stray_problem(
    view: &Snapshot,
    declarers: &[&Declarer],
    key: &[u8],
    value: &[u8],
) -> Result<Option<String>> {
    let mut malformed = None;
    for declarer in declarers {
        match (declarer.verdict)(view, declarer.position, key, value)? {
            Verdict::Right => return Ok(None),
            Verdict::Wrong(problem) => return Ok(Some(problem)),
            Verdict::Elsewhere => {}
            Verdict::Malformed(problem) => {
                malformed.get_or_insert(problem);
            }
        }
    }
    Ok(Some(
        malformed.unwrap_or_else(|| "belongs to no record".to_string()),
    ))
}
