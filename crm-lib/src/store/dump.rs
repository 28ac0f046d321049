//! The backup file: every table of one read snapshot, written out sequentially.
//!
//! redb 4 has no backup call. Copying a snapshot into a new redb file costs a B-tree insert
//! per entry (about 290,000 entries/s on the 2-core reference machine), and the snapshot must
//! be held for the whole copy. While a snapshot is held, pages the writers free cannot be
//! reused, so under write load the live file grows. A dump is written at the speed of a
//! scan, so the snapshot is held for a fraction of that time. The format is also the project's
//! own: a backup does not depend on redb's file format.
//!
//! # Layout
//! Integers are little-endian.
//! - Header, [`HEADER_LEN`] bytes: [`MAGIC`] (8 bytes), the format version (u32, [`FORMAT`]),
//!   the schema version of the store (u32), when the snapshot was taken (i64, ms since the
//!   Unix epoch), and a CRC-32 of those 24 bytes (u32).
//! - Frames: a tag (u8), the payload length (u32, at most [`MAX_FRAME`]), the payload, and a
//!   CRC-32 (u32) of tag, length and payload.
//!   - `T`: a table begins. The payload is its name (UTF-8).
//!   - `E`: entries of the current table, keys strictly ascending within the table. The
//!     payload holds, per entry, the key length (u32), the key, the value length (u32) and
//!     the value.
//!   - `C`: the current table ends. The payload holds its entry count and its key and value
//!     bytes (u64 each).
//!   - `Z`: the end. The payload holds the table count, the entry count and the key and value
//!     bytes (u64 each). Nothing follows it.
//!
//! Every byte of the file is under a checksum, the counts must add up, and a file that stops
//! before `Z` is truncated, so damage anywhere is refused before anything is restored.

use std::io::{self, Read, Write};
use std::path::Path;

use redb::TableHandle;

use super::raw::Snapshot;
use super::tables::{self, Def};
use crate::model::Timestamp;
use crate::{Error, Result};

/// The first bytes of a backup file. The high first byte catches a 7-bit transfer and the
/// line feed a line-ending conversion (as in PNG's signature).
pub(crate) const MAGIC: [u8; 8] = *b"\x89CRMBK\r\n";

/// The format version this program writes and reads.
pub(crate) const FORMAT: u32 = 1;

/// Bytes of the header.
pub(crate) const HEADER_LEN: usize = 28;

/// The largest frame payload: a damaged length cannot make the reader allocate more. An
/// entry whose key and value do not fit in one frame cannot be written (the store's largest
/// values, media chunks, are far smaller).
pub(crate) const MAX_FRAME: usize = 64 * 1024 * 1024;

/// Entry frames are closed once their payload reaches this size.
const FRAME_TARGET: usize = 256 * 1024;

const TAG_TABLE: u8 = b'T';
const TAG_ENTRIES: u8 = b'E';
const TAG_CLOSE: u8 = b'C';
const TAG_END: u8 = b'Z';

/// Counts of a dump, all tables together.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Totals {
    /// Tables in the dump (every table of [`tables::ALL`] when this program wrote it).
    pub(crate) tables: u64,
    /// Entries.
    pub(crate) entries: u64,
    /// Key and value bytes.
    pub(crate) bytes: u64,
}

/// The header of a dump.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Header {
    /// The schema version of the store the dump was taken from.
    pub(crate) schema_version: u32,
    /// When the snapshot was taken.
    pub(crate) taken_at: Timestamp,
}

/// Whether `prefix` (the first bytes of a file) starts like a dump.
pub(crate) fn is_dump(prefix: &[u8]) -> bool {
    prefix.starts_with(&MAGIC)
}

/// Writes every table of [`tables::ALL`] of the snapshot `source` (through the tables it
/// opened) to `out`, a table missing from the file as an empty one. Does not flush or sync
/// `out`.
///
/// # Errors
/// [`crate::ErrorKind::Storage`] when the snapshot cannot be read, `out` cannot be written,
/// or an entry is larger than a frame may be.
pub(crate) fn write(source: &Snapshot, header: Header, out: &mut impl Write) -> Result<Totals> {
    let write_error = |error: io::Error| Error::storage("cannot write the backup", error);
    let mut head = Vec::with_capacity(HEADER_LEN);
    head.extend_from_slice(&MAGIC);
    head.extend_from_slice(&FORMAT.to_le_bytes());
    head.extend_from_slice(&header.schema_version.to_le_bytes());
    head.extend_from_slice(&header.taken_at.0.to_le_bytes());
    let crc = crc32fast::hash(&head);
    head.extend_from_slice(&crc.to_le_bytes());
    out.write_all(&head).map_err(write_error)?;

    let mut totals = Totals::default();
    let mut frame = Frame::new();
    for def in tables::ALL {
        frame.write(out, TAG_TABLE, def.name().as_bytes())?;
        let (mut entries, mut bytes) = (0u64, 0u64);
        if let Some(table) = source.table(*def) {
            let mut payload = Vec::with_capacity(FRAME_TARGET + 4096);
            for entry in table.range::<&[u8]>(..)? {
                let (key, value) = entry?;
                let (key, value) = (key.value(), value.value());
                let size = 8 + key.len() + value.len();
                if size > MAX_FRAME {
                    return Err(Error::corrupt(format!(
                        "an entry of table {} has {} bytes, more than a backup frame holds",
                        def.name(),
                        size
                    )));
                }
                if payload.len() + size > MAX_FRAME {
                    frame.write(out, TAG_ENTRIES, &payload)?;
                    payload.clear();
                }
                payload.extend_from_slice(&(key.len() as u32).to_le_bytes());
                payload.extend_from_slice(key);
                payload.extend_from_slice(&(value.len() as u32).to_le_bytes());
                payload.extend_from_slice(value);
                entries += 1;
                bytes += (key.len() + value.len()) as u64;
                if payload.len() >= FRAME_TARGET {
                    frame.write(out, TAG_ENTRIES, &payload)?;
                    payload.clear();
                }
            }
            if !payload.is_empty() {
                frame.write(out, TAG_ENTRIES, &payload)?;
            }
        }
        frame.write(out, TAG_CLOSE, &counts(&[entries, bytes]))?;
        totals.tables += 1;
        totals.entries += entries;
        totals.bytes += bytes;
    }
    frame.write(
        out,
        TAG_END,
        &counts(&[totals.tables, totals.entries, totals.bytes]),
    )?;
    Ok(totals)
}

fn counts(values: &[u64]) -> Vec<u8> {
    values
        .iter()
        .flat_map(|value| value.to_le_bytes())
        .collect()
}

/// Frame assembly: the tag, length and checksum around a payload.
struct Frame {
    head: [u8; 5],
}

impl Frame {
    fn new() -> Self {
        Frame { head: [0; 5] }
    }

    fn write(&mut self, out: &mut impl Write, tag: u8, payload: &[u8]) -> Result<()> {
        self.head[0] = tag;
        self.head[1..5].copy_from_slice(&(payload.len() as u32).to_le_bytes());
        let mut crc = crc32fast::Hasher::new();
        crc.update(&self.head);
        crc.update(payload);
        let sum = crc.finalize().to_le_bytes();
        out.write_all(&self.head)
            .and_then(|()| out.write_all(payload))
            .and_then(|()| out.write_all(&sum))
            .map_err(|error| Error::storage("cannot write the backup", error))
    }
}

/// What the reader hands out, in file order.
pub(crate) enum Item<'a> {
    /// The header, first; a caller refuses a schema it cannot read here, before any work.
    Header(Header),
    /// A table begins; the entries that follow belong to it.
    Table(Def),
    /// Entries of the current table, already checked (well-formed, keys ascending).
    Entries(Entries<'a>),
}

/// The entries of one `E` frame, checked when the frame was read.
pub(crate) struct Entries<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for Entries<'a> {
    type Item = (&'a [u8], &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        let (key, rest) = split_field(self.rest)?;
        let (value, rest) = split_field(rest)?;
        self.rest = rest;
        Some((key, value))
    }
}

/// The next length-prefixed field of an entry payload and what follows it; `None` when the
/// payload ends or is cut short.
fn split_field(bytes: &[u8]) -> Option<(&[u8], &[u8])> {
    let len = u32::from_le_bytes(bytes.get(..4)?.try_into().ok()?) as usize;
    let field = bytes.get(4..4 + len)?;
    Some((field, &bytes[4 + len..]))
}

/// Reads a dump from `input` (named `shown` in messages), checking every checksum, the key
/// order and the counts, and calls `on` with each table and each frame of entries. Stops at
/// the first problem, which may come after `on` has seen earlier frames: a caller that builds
/// something from the items discards it when this fails.
///
/// # Errors
/// - [`crate::ErrorKind::Conflict`] when the dump was written in a newer format;
/// - [`crate::ErrorKind::Storage`] when it is not a backup file, is truncated or damaged
///   (the message gives the byte offset), or cannot be read; `on`'s errors.
pub(crate) fn read(
    input: &mut impl Read,
    shown: &Path,
    mut on: impl FnMut(Item<'_>) -> Result<()>,
) -> Result<(Header, Totals)> {
    let mut reader = Reader {
        input,
        offset: 0,
        shown,
    };
    let header = reader.header()?;
    on(Item::Header(header))?;
    let mut totals = Totals::default();
    let mut seen: Vec<String> = Vec::new();
    let mut current: Option<(Def, u64, u64)> = None;
    let mut last_key: Vec<u8> = Vec::new();
    let mut payload = Vec::new();
    loop {
        let at = reader.offset;
        let Some(tag) = reader.frame(&mut payload)? else {
            return Err(reader.damaged(at, "it ends before its end mark (truncated)"));
        };
        match (tag, &mut current) {
            (TAG_TABLE, None) => {
                let name = std::str::from_utf8(&payload)
                    .map_err(|_| reader.damaged(at, "a table name is not UTF-8"))?;
                let def = tables::ALL
                    .iter()
                    .find(|def| def.name() == name)
                    .copied()
                    .ok_or_else(|| {
                        reader.damaged(at, &format!("it names an unknown table {name:?}"))
                    })?;
                if seen.iter().any(|other| other == name) {
                    return Err(reader.damaged(at, &format!("table {name} appears twice")));
                }
                seen.push(name.to_string());
                current = Some((def, 0, 0));
                last_key.clear();
                on(Item::Table(def))?;
            }
            (TAG_ENTRIES, Some((_, entries, bytes))) => {
                let mut rest = payload.as_slice();
                while !rest.is_empty() {
                    let parsed = split_field(rest).and_then(|(key, after)| {
                        split_field(after).map(|(value, after)| (key, value, after))
                    });
                    let Some((key, value, after)) = parsed else {
                        return Err(reader.damaged(at, "an entry is cut short"));
                    };
                    if *entries > 0 && key <= last_key.as_slice() {
                        return Err(reader.damaged(at, "its keys are out of order"));
                    }
                    last_key.clear();
                    last_key.extend_from_slice(key);
                    *entries += 1;
                    *bytes += (key.len() + value.len()) as u64;
                    rest = after;
                }
                on(Item::Entries(Entries { rest: &payload }))?;
            }
            (TAG_CLOSE, Some((def, entries, bytes))) => {
                let [stored_entries, stored_bytes] = read_counts(&payload)
                    .ok_or_else(|| reader.damaged(at, "a table's end is malformed"))?;
                if stored_entries != *entries || stored_bytes != *bytes {
                    return Err(reader.damaged(
                        at,
                        &format!(
                            "table {} says {stored_entries} entries but holds {entries}",
                            def.name()
                        ),
                    ));
                }
                totals.tables += 1;
                totals.entries += *entries;
                totals.bytes += *bytes;
                current = None;
            }
            (TAG_END, None) => {
                let [tables, entries, bytes] = read_counts(&payload)
                    .ok_or_else(|| reader.damaged(at, "its end mark is malformed"))?;
                if [tables, entries, bytes] != [totals.tables, totals.entries, totals.bytes] {
                    return Err(reader.damaged(
                        at,
                        &format!(
                            "its end mark says {entries} entries in {tables} tables, but it holds {} in {}",
                            totals.entries, totals.tables
                        ),
                    ));
                }
                let after = reader.offset;
                let mut probe = [0u8; 1];
                match reader.input.read(&mut probe) {
                    Ok(0) => return Ok((header, totals)),
                    Ok(_) => return Err(reader.damaged(after, "bytes follow its end mark")),
                    Err(error) => return Err(reader.io_error(error)),
                }
            }
            (tag, _) => {
                return Err(reader.damaged(
                    at,
                    &format!("a frame of kind {:?} is out of place", char::from(tag)),
                ));
            }
        }
    }
}

/// Builds a new redb file at `target` (which must not exist) from the dump `input` (named
/// `shown` in messages): [`read`]'s checks, then every entry inserted in key order, `batch`
/// entries per write transaction. The batches commit without fsync and a final durable commit
/// makes all of them durable; a failure leaves a file the caller discards. `accept` sees the
/// header before anything is built and refuses what the caller cannot restore. Every table of
/// [`tables::ALL`] exists in the new file, also one the dump lacks. Returns the open file
/// with the dump's header and counts.
///
/// # Errors
/// [`read`]'s and `accept`'s errors; [`crate::ErrorKind::Storage`] when `target` cannot be
/// written.
pub(crate) fn load(
    input: &mut impl Read,
    shown: &Path,
    target: &Path,
    cache_size: usize,
    batch: usize,
    accept: impl Fn(&Header) -> Result<()>,
) -> Result<(redb::Database, Header, Totals)> {
    let db = redb::Database::builder()
        .set_cache_size(cache_size)
        .create(target)
        .map_err(|error| Error::storage(format!("cannot create {}", target.display()), error))?;
    let batch = batch.max(1) as u64;
    let first = db.begin_write()?;
    for def in tables::ALL {
        first.open_table(*def)?;
    }
    let mut txn = Some(first);
    let mut current = None;
    let mut in_txn = 0u64;
    let (header, totals) = read(input, shown, |item| {
        match item {
            Item::Header(header) => accept(&header)?,
            Item::Table(def) => current = Some(def),
            Item::Entries(entries) => {
                let def = current.ok_or_else(|| Error::corrupt("entries outside a table"))?;
                let open = match txn.take() {
                    Some(open) => open,
                    None => db.begin_write()?,
                };
                {
                    let mut table = open.open_table(def)?;
                    for (key, value) in entries {
                        table.insert(key, value)?;
                        in_txn += 1;
                    }
                }
                if in_txn >= batch {
                    commit(open, redb::Durability::None)?;
                    in_txn = 0;
                } else {
                    txn = Some(open);
                }
            }
        }
        Ok(())
    })?;
    let last = match txn {
        Some(open) => open,
        None => db.begin_write()?,
    };
    commit(last, redb::Durability::Immediate)?;
    Ok((db, header, totals))
}

fn commit(mut txn: redb::WriteTransaction, durability: redb::Durability) -> Result<()> {
    txn.set_durability(durability)
        .map_err(|error| Error::storage("cannot set durability", error))?;
    txn.commit()?;
    Ok(())
}

fn read_counts<const N: usize>(payload: &[u8]) -> Option<[u64; N]> {
    if payload.len() != N * 8 {
        return None;
    }
    let mut values = [0u64; N];
    for (value, bytes) in values.iter_mut().zip(payload.chunks_exact(8)) {
        *value = u64::from_le_bytes(bytes.try_into().ok()?);
    }
    Some(values)
}

struct Reader<'r, R> {
    input: &'r mut R,
    offset: u64,
    shown: &'r Path,
}

impl<R: Read> Reader<'_, R> {
    fn header(&mut self) -> Result<Header> {
        let mut head = [0u8; HEADER_LEN];
        let got = self.fill(&mut head)?;
        if got < MAGIC.len() || head[..MAGIC.len()] != MAGIC {
            return Err(Error::corrupt(format!(
                "{} is not a CRM backup file",
                self.shown.display()
            )));
        }
        if got < HEADER_LEN {
            return Err(self.damaged(0, "its header is cut short (truncated)"));
        }
        let field = |at: usize| u32::from_le_bytes(head[at..at + 4].try_into().unwrap_or([0; 4]));
        let stored_crc = field(24);
        if crc32fast::hash(&head[..24]) != stored_crc {
            return Err(self.damaged(0, "its header fails its checksum"));
        }
        let format = field(8);
        if format != FORMAT {
            return Err(Error::conflict(format!(
                "{} is a backup in format {format}, which this program does not read (it reads format {FORMAT}); restore it with the program that wrote it",
                self.shown.display()
            )));
        }
        let taken_at = i64::from_le_bytes(head[16..24].try_into().unwrap_or([0; 8]));
        self.offset = HEADER_LEN as u64;
        Ok(Header {
            schema_version: field(12),
            taken_at: Timestamp(taken_at),
        })
    }

    /// Reads the next frame into `payload` and returns its tag; `None` at the end of the
    /// input.
    fn frame(&mut self, payload: &mut Vec<u8>) -> Result<Option<u8>> {
        let at = self.offset;
        let mut head = [0u8; 5];
        match self.fill(&mut head)? {
            0 => return Ok(None),
            5 => {}
            _ => return Err(self.damaged(at, "a frame is cut short (truncated)")),
        }
        let len = u32::from_le_bytes([head[1], head[2], head[3], head[4]]) as usize;
        if len > MAX_FRAME {
            return Err(self.damaged(at, "a frame's length is impossible"));
        }
        payload.clear();
        payload.resize(len, 0);
        let mut sum = [0u8; 4];
        if self.fill(payload)? < len || self.fill(&mut sum)? < 4 {
            return Err(self.damaged(at, "a frame is cut short (truncated)"));
        }
        let mut crc = crc32fast::Hasher::new();
        crc.update(&head);
        crc.update(payload);
        if crc.finalize() != u32::from_le_bytes(sum) {
            return Err(self.damaged(at, "a frame fails its checksum"));
        }
        self.offset += (5 + len + 4) as u64;
        Ok(Some(head[0]))
    }

    /// Fills `buf` as far as the input goes; returns the bytes read.
    fn fill(&mut self, buf: &mut [u8]) -> Result<usize> {
        let mut got = 0;
        while got < buf.len() {
            match self.input.read(&mut buf[got..]) {
                Ok(0) => break,
                Ok(n) => got += n,
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                Err(error) => return Err(self.io_error(error)),
            }
        }
        Ok(got)
    }

    fn damaged(&self, at: u64, what: &str) -> Error {
        Error::corrupt(format!(
            "{} is damaged at byte {at}: {what}",
            self.shown.display()
        ))
    }

    fn io_error(&self, error: io::Error) -> Error {
        Error::storage(format!("cannot read {}", self.shown.display()), error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use redb::{Database, ReadableDatabase};

    fn store_with(entries: &[(&[u8], &[u8])]) -> (tempfile::TempDir, Database) {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = Database::create(dir.path().join("s.redb")).expect("create");
        let txn = db.begin_write().expect("write");
        {
            let mut table = txn.open_table(tables::ORDERS).expect("table");
            for (key, value) in entries {
                table.insert(*key, *value).expect("insert");
            }
        }
        txn.commit().expect("commit");
        (dir, db)
    }

    fn dump_of(db: &Database) -> Vec<u8> {
        let mut out = Vec::new();
        let header = Header {
            schema_version: 3,
            taken_at: Timestamp(1_700_000_000_000),
        };
        let snapshot = Snapshot::new(db.begin_read().expect("read")).expect("snapshot");
        write(&snapshot, header, &mut out).expect("dump");
        out
    }

    /// Each entry read: its table's name, key and value.
    type Seen = Vec<(String, Vec<u8>, Vec<u8>)>;

    fn read_all(bytes: &[u8]) -> Result<(Header, Totals, Seen)> {
        let mut table = String::new();
        let mut seen = Vec::new();
        let (header, totals) = read(&mut &bytes[..], Path::new("b.crmbackup"), |item| {
            match item {
                Item::Header(_) => {}
                Item::Table(def) => table = def.name().to_string(),
                Item::Entries(entries) => {
                    for (key, value) in entries {
                        seen.push((table.clone(), key.to_vec(), value.to_vec()));
                    }
                }
            }
            Ok(())
        })?;
        Ok((header, totals, seen))
    }

    #[test]
    fn a_dump_reads_back_entry_for_entry() {
        let big = vec![7u8; 300_000];
        let (_dir, db) = store_with(&[(b"a", b"1"), (b"b", &big), (b"c", b""), (b"d", b"4")]);
        let bytes = dump_of(&db);
        let (header, totals, seen) = read_all(&bytes).expect("reads");
        assert_eq!(header.schema_version, 3);
        assert_eq!(header.taken_at, Timestamp(1_700_000_000_000));
        assert_eq!(totals.tables, tables::ALL.len() as u64);
        assert_eq!(totals.entries, 4);
        assert_eq!(totals.bytes, 2 + 300_001 + 1 + 2);
        let keys: Vec<&[u8]> = seen.iter().map(|(_, key, _)| key.as_slice()).collect();
        assert_eq!(keys, [b"a".as_slice(), b"b", b"c", b"d"]);
        assert!(seen.iter().all(|(table, _, _)| table == "orders"));
        assert_eq!(seen[1].2, big);
    }

    #[test]
    fn every_truncation_and_every_flipped_byte_is_refused() {
        let (_dir, db) = store_with(&[(b"k1", b"v1"), (b"k2", b"v2")]);
        let bytes = dump_of(&db);
        for len in 0..bytes.len() {
            let error = read_all(&bytes[..len]).expect_err("a truncated dump is refused");
            assert_eq!(error.kind(), crate::ErrorKind::Storage, "at {len}: {error}");
        }
        for at in 0..bytes.len() {
            let mut damaged = bytes.clone();
            damaged[at] ^= 0x10;
            let error = read_all(&damaged).expect_err("a flipped byte is refused");
            assert!(
                matches!(
                    error.kind(),
                    crate::ErrorKind::Storage | crate::ErrorKind::Conflict
                ),
                "at {at}: {error}"
            );
        }
        let mut longer = bytes.clone();
        longer.push(0);
        let error = read_all(&longer).expect_err("trailing bytes are refused");
        assert!(error.to_string().contains("follow its end mark"), "{error}");
    }

    #[test]
    fn a_newer_format_is_refused_as_a_conflict() {
        let (_dir, db) = store_with(&[]);
        let mut bytes = dump_of(&db);
        bytes[8..12].copy_from_slice(&2u32.to_le_bytes());
        let crc = crc32fast::hash(&bytes[..24]);
        bytes[24..28].copy_from_slice(&crc.to_le_bytes());
        let error = read_all(&bytes).expect_err("newer format");
        assert_eq!(error.kind(), crate::ErrorKind::Conflict, "{error}");
        assert!(error.to_string().contains("format 2"), "{error}");
    }

    proptest::proptest! {
        /// Any bytes, and any damage to a real dump (bytes replaced at random places), read
        /// to an error or a whole dump, never a panic; damage to a real dump is always found.
        #[test]
        fn arbitrary_bytes_and_random_damage_never_panic(
            noise in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..2048),
            hits in proptest::collection::vec(
                (proptest::prelude::any::<usize>(), 1u8..=255), 1..8),
        ) {
            let _ = read_all(&noise);
            let mut prefixed = MAGIC.to_vec();
            prefixed.extend_from_slice(&noise);
            let _ = read_all(&prefixed);

            let (_dir, db) = store_with(&[(b"k1", b"v1"), (b"k2", b"value two")]);
            let mut bytes = dump_of(&db);
            // One change per byte: two flips of one byte could cancel out.
            let flips: std::collections::BTreeMap<usize, u8> =
                hits.into_iter().map(|(at, flip)| (at % bytes.len(), flip)).collect();
            for (at, flip) in flips {
                bytes[at] ^= flip;
            }
            proptest::prop_assert!(read_all(&bytes).is_err());
        }
    }

    #[test]
    fn other_files_are_named_as_not_backups() {
        for bytes in [
            &b""[..],
            b"hello",
            b"redb\x1a\x0a\xa9\x0d\x0a and more bytes here",
        ] {
            let error = read_all(bytes).expect_err("not a backup");
            assert!(error.to_string().contains("not a CRM backup"), "{error}");
        }
    }
}
