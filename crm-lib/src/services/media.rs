//! Media (photos, documents, voice) stored in the database file itself, chunked and
//! content-addressed (SPEC section 3), so that one file is the whole state and one backup
//! restores everything.
//!
//! A file is keyed by the SHA-256 of its bytes within the organization: storing the same bytes
//! twice writes them once. The bytes live in `MEDIA_CHUNKS` as raw chunks of
//! [`crate::MEDIA_CHUNK_SIZE`] bytes beside the `MEDIA` metadata record, because redb keeps
//! values whole in memory while they are read and small values keep pages compact.
//!
//! A file is served only to a reader who may see a record carrying it: a message (the
//! customer's conversation, or the chat of the order it is about), an order (its
//! `attachments`), a canned response, or a project's daily report or money entry (the
//! project's readers; its client the reports' files only). `MEDIA_REFS` lists those records per file; [`visible_media_in`] walks it.
//! Knowing a hash is not enough, and a file the reader may not see is "not found", so hashes
//! cannot be probed.
//!
//! A file comes in as a [`NewMedia`] (checked and hashed on the caller's thread) and is
//! stored only by a use case that accepts it: a staff message with files
//! ([`Tx::post_outbound_with_files`]) stores them in the message's transaction after every
//! check passed, and an upload for a later message ([`Tx::upload_media`]) needs
//! `chat_customers` and writes an audit entry. A file that nothing refers to (an upload never
//! sent, a bot update that failed after its file was fetched) is deleted by retention after
//! [`super::retention::MEDIA_GRACE_HOURS`].

use sha2::{Digest, Sha256};

use crate::model::*;
use crate::store::declarations::{MEDIA_REF_KEY_LEN, RefKind};
use crate::store::{Key, ViewExt, keys, tables};
use crate::{Crm, Error, MEDIA_CHUNK_SIZE, MEDIA_MAX_SIZE, Result, Tx, View};

use super::orders::{load_order, may_chat, may_view};
use super::{Resolved, load_message, load_org, resolve};

/// The longest accepted MIME type, in bytes (RFC 6838 allows 127 per part; one limit for the
/// whole text is enough for a loose check).
pub const MIME_MAX_LEN: usize = 127;

/// The SHA-256 of `bytes`, the id of a media file.
pub fn media_hash(bytes: &[u8]) -> MediaHash {
    MediaHash(Sha256::digest(bytes).into())
}

/// Checks a media file's size against [`MEDIA_MAX_SIZE`] and refuses an empty one.
fn check_size(bytes: &[u8]) -> Result<()> {
    if bytes.is_empty() {
        return Err(Error::invalid("media", "the file is empty (0 bytes)"));
    }
    if bytes.len() > MEDIA_MAX_SIZE {
        return Err(Error::invalid(
            "media",
            format!(
                "the file is {} bytes, over the limit of {MEDIA_MAX_SIZE} bytes",
                bytes.len()
            ),
        ));
    }
    Ok(())
}

/// Checks a MIME type loosely: `type/subtype`, printable ASCII without spaces, at most
/// [`MIME_MAX_LEN`] bytes. Parameters (`; charset=...`) are dropped; the result is lower-case.
///
/// # Errors
/// [`crate::ErrorKind::InvalidInput`] on `mime`, naming the text.
pub fn parse_mime(mime: &str) -> Result<String> {
    let essence = mime.split(';').next().unwrap_or_default().trim();
    let bad = || {
        Error::invalid(
            "mime",
            format!("{mime:?} is not a MIME type like image/jpeg"),
        )
    };
    if essence.len() > MIME_MAX_LEN || !essence.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(bad());
    }
    match essence.split_once('/') {
        Some((kind, subtype))
            if !kind.is_empty() && !subtype.is_empty() && !subtype.contains('/') =>
        {
            Ok(essence.to_ascii_lowercase())
        }
        _ => Err(bad()),
    }
}

/// A file received with a request: its size and MIME type checked and its hash computed (on
/// the caller's thread, about 50 ms for 20 MiB), not stored yet. The use case that accepts it
/// stores it in its own transaction. `Debug` shows the hash, type and size, not the bytes.
#[derive(Clone)]
pub struct NewMedia {
    hash: MediaHash,
    mime: String,
    body: Body,
}

/// What a [`NewMedia`] brings: the bytes, or the word that the store holds them already.
#[derive(Clone)]
enum Body {
    Bytes(Vec<u8>),
    Stored { size: u64 },
}

impl std::fmt::Debug for NewMedia {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewMedia")
            .field("hash", &self.hash)
            .field("mime", &self.mime)
            .field("size", &self.size())
            .finish()
    }
}

impl NewMedia {
    /// Checks a received file: 1 byte to [`MEDIA_MAX_SIZE`] (20 MiB, Telegram's download
    /// limit) and a loose MIME check (see [`parse_mime`]); hashes it.
    ///
    /// # Errors
    /// Invalid input on `media` (empty or too large, naming the size and the limit) or
    /// `mime`.
    pub fn parse(bytes: Vec<u8>, mime: &str) -> Result<Self> {
        check_size(&bytes)?;
        let mime = parse_mime(mime)?;
        Ok(NewMedia {
            hash: media_hash(&bytes),
            mime,
            body: Body::Bytes(bytes),
        })
    }

    /// A file the organization's store holds already: the bot fetches a message's file and
    /// stores it ([`System::store_media`](crate::system::System::store_media)) before the
    /// update's transaction, so that the writer never waits on the network, and hands the
    /// use case the stored file's hash, MIME type and size (`Attachment`). The use case
    /// that accepts it checks that the store holds that hash with that MIME type (as the
    /// order's attachments are checked) and refers to it; it copies no bytes.
    pub fn stored(hash: MediaHash, mime: &str, size: u64) -> Self {
        NewMedia {
            hash,
            mime: mime.trim().to_ascii_lowercase(),
            body: Body::Stored { size },
        }
    }

    /// The SHA-256 of the bytes, the file's id once stored.
    pub fn hash(&self) -> MediaHash {
        self.hash
    }

    /// The MIME type, lower-case, without parameters.
    pub fn mime(&self) -> &str {
        &self.mime
    }

    /// The size in bytes.
    pub fn size(&self) -> u64 {
        match &self.body {
            Body::Bytes(bytes) => bytes.len() as u64,
            Body::Stored { size } => *size,
        }
    }

    /// The record the file gets when it is stored at `now` (for checks made before storing).
    pub(crate) fn record(&self, now: Timestamp) -> Media {
        Media {
            hash: self.hash,
            mime: self.mime.clone(),
            size: self.size(),
            chunks: usize::try_from(self.size())
                .unwrap_or(usize::MAX)
                .div_ceil(MEDIA_CHUNK_SIZE) as u32,
            created_at: now,
        }
    }
}

fn media_key(org: OrgId, hash: MediaHash) -> Key {
    Key::org(org).bytes(&hash.0)
}

fn chunk_key(org: OrgId, hash: MediaHash, index: u32) -> Key {
    Key::org(org).bytes(&hash.0).u32(index)
}

impl Tx<'_> {
    /// Stores a checked file in this transaction. When the organization holds these bytes
    /// already, the stored record is returned; if nothing refers to it yet, its `created_at`
    /// moves to now, so that retention, which deletes unreferenced files
    /// [`super::retention::MEDIA_GRACE_HOURS`] after `created_at`, cannot delete a file
    /// someone has just handed in again and is about to refer to.
    ///
    /// A file handed in as [`NewMedia::stored`] must be held with its MIME type already.
    ///
    /// # Errors
    /// Not found for an unknown organization, and on `media` for a file said to be stored
    /// that the organization does not hold (or holds with another MIME type); storage.
    pub(crate) fn store_new_media(&mut self, org: OrgId, file: &NewMedia) -> Result<Media> {
        load_org(self, org)?;
        let key = media_key(org, file.hash);
        if let Some(mut existing) = self.get::<Media>(tables::MEDIA, &key)? {
            if matches!(file.body, Body::Stored { .. }) && existing.mime != file.mime {
                return Err(Error::not_found("media", file.hash));
            }
            if existing.created_at < self.now() && !is_referenced(self, org, file.hash)? {
                existing.created_at = self.now();
                self.put(tables::MEDIA, &key, &existing)?;
            }
            return Ok(existing);
        }
        let Body::Bytes(bytes) = &file.body else {
            return Err(Error::not_found("media", file.hash));
        };
        let media = file.record(self.now());
        for (index, chunk) in bytes.chunks(MEDIA_CHUNK_SIZE).enumerate() {
            let index = u32::try_from(index)
                .map_err(|_| Error::invalid("media", "the file has too many chunks"))?;
            self.put_raw(
                tables::MEDIA_CHUNKS,
                chunk_key(org, file.hash, index).as_slice(),
                chunk,
            )?;
        }
        self.put(tables::MEDIA, &key, &media)?;
        Ok(media)
    }

    /// Stores a file uploaded for a later message (`POST /api/v1/media`) and audits it
    /// (`media.uploaded`). Needs `chat_customers`: only who may send files to customers may
    /// put files into the store. Until a message or an order refers to it, nobody but the
    /// system can read it back, and retention deletes it after
    /// [`super::retention::MEDIA_GRACE_HOURS`].
    ///
    /// # Errors
    /// Permission denied (naming `chat_customers`) for customers and staff without it;
    /// storage.
    pub fn upload_media(&mut self, actor: &Actor, file: &NewMedia) -> Result<Media> {
        super::require(self, actor, Permission::ChatCustomers)?;
        let media = self.store_new_media(actor.org, file)?;
        self.audit(
            actor,
            AuditAction::MediaUploaded,
            Subject::Media(media.hash),
            AuditDetail::Text(format!("{} bytes of {}", media.size, media.mime)),
        )?;
        Ok(media)
    }
}

/// Whether a message or an order refers to the file (an entry in `MEDIA_REFS`).
pub(crate) fn is_referenced(view: &impl View, org: OrgId, hash: MediaHash) -> Result<bool> {
    Ok(!view
        .keys_with_prefix(tables::MEDIA_REFS, &media_key(org, hash), None, false, 1)?
        .is_empty())
}

/// The metadata of a stored file.
///
/// # Errors
/// Not found (`media <hash> not found`).
pub(crate) fn media_in(view: &impl View, org: OrgId, hash: MediaHash) -> Result<Media> {
    view.get(tables::MEDIA, &media_key(org, hash))?
        .ok_or_else(|| Error::not_found("media", hash))
}

/// The bytes of a stored file, its chunks concatenated. Reads the whole file into memory (at
/// most [`MEDIA_MAX_SIZE`]).
///
/// # Errors
/// Not found; [`crate::ErrorKind::Storage`] when the chunks do not add up to the recorded
/// size and count, or a chunk is missing.
pub(crate) fn read_media_in(view: &impl View, org: OrgId, hash: MediaHash) -> Result<Vec<u8>> {
    let media = media_in(view, org, hash)?;
    let size = usize::try_from(media.size)
        .map_err(|_| Error::corrupt(format!("media {hash} records an impossible size")))?;
    let mut bytes = Vec::with_capacity(size.min(MEDIA_MAX_SIZE));
    let mut expected: u32 = 0;
    let mut out_of_order = false;
    view.for_each_prefix(tables::MEDIA_CHUNKS, &media_key(org, hash), |key, value| {
        if key != chunk_key(org, hash, expected).as_slice() {
            out_of_order = true;
            return Ok(false);
        }
        bytes.extend_from_slice(value);
        expected += 1;
        Ok(true)
    })?;
    if out_of_order || expected != media.chunks || bytes.len() != size {
        return Err(Error::corrupt(format!(
            "media {hash} is damaged: {} bytes in {expected} chunks, {} bytes in {} chunks recorded",
            bytes.len(),
            media.size,
            media.chunks
        )));
    }
    Ok(bytes)
}

/// How many `MEDIA_REFS` keys [`visible_media_in`] reads at a time: most files have one or
/// two owners, and a file sent many times is usually decided by its first page.
const REFS_PAGE: usize = 64;

/// The metadata of a stored file, when `actor` may see at least one record carrying it: a
/// message in a conversation they may read (staff with `chat_customers`, or an order-level
/// `chat_customers` grant on the order the message is about; a customer, their own), or an
/// order they may see (see [`super::orders::order_in`]), or a canned response (staff with
/// `chat_customers`). The system sees every file.
///
/// Reads the file's `MEDIA_REFS` entries and the records they name, stopping at the first
/// visible one. Uses the caller's transaction or snapshot; never writes.
///
/// # Errors
/// Not found (`media <hash> not found`) for an unknown file and for a file the actor may not
/// see, alike; permission denied for a disabled or unknown user; storage when an entry names
/// a missing record.
pub fn visible_media_in(view: &impl View, actor: &Actor, hash: MediaHash) -> Result<Media> {
    let resolved = resolve(view, actor)?;
    let media = media_in(view, actor.org, hash)?;
    if matches!(resolved, Resolved::System) || any_visible_ref(view, actor.org, &resolved, hash)? {
        Ok(media)
    } else {
        Err(Error::not_found("media", hash))
    }
}

/// Whether `resolved` may see one of the records that carry `hash`.
fn any_visible_ref(
    view: &impl View,
    org: OrgId,
    resolved: &Resolved,
    hash: MediaHash,
) -> Result<bool> {
    let prefix = media_key(org, hash);
    // Loaded at the first order reference: only order visibility needs the pipeline.
    let mut organization: Option<Organization> = None;
    let mut after: Option<Vec<u8>> = None;
    loop {
        let page = view.keys_with_prefix(
            tables::MEDIA_REFS,
            &prefix,
            after.as_deref(),
            false,
            REFS_PAGE,
        )?;
        for key in &page {
            let kind = key
                .get(40)
                .copied()
                .and_then(RefKind::from_byte)
                .filter(|_| key.len() == MEDIA_REF_KEY_LEN)
                .ok_or_else(|| crate::store::dangling("media_refs", key))?;
            let id = keys::tail_u64(key);
            let visible = match kind {
                RefKind::Message => {
                    let message = load_message(view, org, MessageId(id))?;
                    match resolved {
                        Resolved::Customer(me) => {
                            message.customer == *me
                                && super::chat::messages::customer_sees(&message)
                        }
                        _ => may_chat(view, org, resolved, message.order)?,
                    }
                }
                RefKind::Order => {
                    let order = load_order(view, org, OrderId(id))?;
                    let organization = match &mut organization {
                        Some(organization) => organization,
                        empty => empty.insert(load_org(view, org)?),
                    };
                    may_view(view, resolved, organization, &order)?
                }
                // A canned response's file: whoever may insert canned responses (staff with
                // `chat_customers`) may see it.
                RefKind::Canned => resolved.has(crate::model::Permission::ChatCustomers),
                // A project's report, entry or document file: whoever may see the project
                // (the client: its reports' files and its documents, not the books'
                // proofs); the entry's value names the project.
                RefKind::Report | RefKind::Entry | RefKind::Document => {
                    let project = view
                        .get_raw(tables::MEDIA_REFS, key, |bytes| {
                            Ok(keys::read_u64(bytes, 0))
                        })?
                        .ok_or_else(|| crate::store::dangling("media_refs", key))?;
                    super::projects::sees_part_file(
                        view,
                        org,
                        resolved,
                        ProjectId::new(project),
                        kind != RefKind::Entry,
                    )?
                }
            };
            if visible {
                return Ok(true);
            }
        }
        if page.len() < REFS_PAGE {
            return Ok(false);
        }
        after = page.last().cloned();
    }
}

/// A stored file with its bytes.
#[derive(Debug, Clone, PartialEq)]
pub struct MediaFile {
    /// What is stored about it (type, size, hash).
    pub media: Media,
    /// The whole file.
    pub bytes: Vec<u8>,
}

/// A stored file and its bytes, when `actor` may see it (see [`visible_media_in`]). Reads the
/// whole file into memory (at most [`MEDIA_MAX_SIZE`]).
///
/// # Errors
/// See [`visible_media_in`]; storage when the file is damaged.
pub fn read_visible_media_in(
    view: &impl View,
    actor: &Actor,
    hash: MediaHash,
) -> Result<MediaFile> {
    let media = visible_media_in(view, actor, hash)?;
    let bytes = read_media_in(view, actor.org, hash)?;
    Ok(MediaFile { media, bytes })
}

impl Crm {
    /// See [`Tx::upload_media`]. The file was checked and hashed by [`NewMedia::parse`] on
    /// the caller's thread; blocks until the commit is durable.
    ///
    /// # Errors
    /// See [`Tx::upload_media`].
    pub fn upload_media(&self, actor: &Actor, file: NewMedia) -> Result<Media> {
        let actor = actor.clone();
        self.write(move |tx| tx.upload_media(&actor, &file))
    }

    /// See [`visible_media_in`]. Reads on a snapshot; never blocks writers.
    ///
    /// # Errors
    /// See [`visible_media_in`].
    pub fn visible_media(&self, actor: &Actor, hash: MediaHash) -> Result<Media> {
        self.read(|view| visible_media_in(view, actor, hash))
    }

    /// See [`read_visible_media_in`]: the file and its bytes from one snapshot, when `actor`
    /// may see it. Never blocks writers.
    ///
    /// # Errors
    /// See [`read_visible_media_in`].
    pub fn read_visible_media(&self, actor: &Actor, hash: MediaHash) -> Result<MediaFile> {
        self.read(|view| read_visible_media_in(view, actor, hash))
    }
}

impl crate::system::System<'_> {
    /// The metadata of a stored file.
    ///
    /// # Errors
    /// Not found (`media <hash> not found`).
    ///
    /// Reads a snapshot.
    pub fn media(&self, org: OrgId, hash: MediaHash) -> Result<Media> {
        self.crm.read(|view| media_in(view, org, hash))
    }

    /// The bytes of a stored file, its chunks concatenated. Reads the whole file into memory (at
    /// most [`MEDIA_MAX_SIZE`]).
    ///
    /// # Errors
    /// Not found; [`crate::ErrorKind::Storage`] when the chunks do not add up to the recorded
    /// size and count, or a chunk is missing.
    ///
    /// Reads a snapshot.
    pub fn read_media(&self, org: OrgId, hash: MediaHash) -> Result<Vec<u8>> {
        self.crm.read(|view| read_media_in(view, org, hash))
    }
}

impl crate::system::System<'_> {
    /// Stores a file (see [`System::store_media`](crate::system::System::store_media)). Checks and hashes the bytes on the calling
    /// thread, so the writer only copies them; blocks until the commit is durable.
    ///
    /// # Errors
    /// See [`System::store_media`](crate::system::System::store_media).
    pub fn store_media(&self, org: OrgId, bytes: Vec<u8>, mime: String) -> Result<Media> {
        let file = NewMedia::parse(bytes, &mime)?;
        self.crm.write(move |tx| tx.store_new_media(org, &file))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mime_types_are_checked_loosely() {
        assert_eq!(parse_mime("image/JPEG").unwrap(), "image/jpeg");
        assert_eq!(
            parse_mime("text/plain; charset=utf-8").unwrap(),
            "text/plain"
        );
        for bad in [
            "",
            "image",
            "/jpeg",
            "image/",
            "a/b/c",
            "image/jp eg",
            "фото/jpeg",
        ] {
            assert_eq!(
                parse_mime(bad).unwrap_err().kind(),
                crate::ErrorKind::InvalidInput,
                "{bad:?}"
            );
        }
    }

    #[test]
    fn hash_is_sha256() {
        assert_eq!(
            media_hash(b"abc").to_hex(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
