//! Files: what simulated users upload and the bot sends, kept in memory (256 MiB at most) under
//! Telegram-like file ids and paths, the `Message` fields that describe them, and downloads by
//! path (the Bot API) or id (the sandbox page).

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::{Map, Value, json};

use super::params::str_param;
use super::{BotError, Emulator, State};

/// Bytes of files the emulator keeps in memory.
const FILES_MAX_BYTES: usize = 256 * 1024 * 1024;
/// The largest file one upload may carry (Telegram's bot upload limit for photos is 10 MB;
/// documents go up to 50 MB; the appliance stores at most 20 MiB).
const FILE_MAX_BYTES: usize = crm_lib::MEDIA_MAX_SIZE;

/// A file a simulated user sends.
#[derive(Debug, Clone)]
pub(crate) struct SimFile {
    /// `photo`, `document`, `voice`, `video`, `audio`, `video_note` or `sticker` (a static
    /// `.webp` sticker).
    pub(crate) kind: String,
    pub(crate) bytes: Vec<u8>,
    pub(crate) file_name: Option<String>,
    pub(crate) mime: String,
}

/// What a simulated user sends: text, or a file with an optional caption, or one of the
/// non-file kinds; optionally as a reply, or as a part of an album.
#[derive(Debug, Clone, Default)]
pub(crate) struct SimContent {
    pub(crate) text: Option<String>,
    pub(crate) file: Option<SimFile>,
    /// Message fields of the non-file kinds, as the Bot API names them: `location`,
    /// `venue`, `contact`, `dice` or `poll` (each checked and completed by the emulator).
    pub(crate) kinds: serde_json::Map<String, Value>,
    /// The `message_id` of the message of this chat it replies to.
    pub(crate) reply_to: Option<i64>,
    /// The album it is a part of (`media_group_id`).
    pub(crate) media_group_id: Option<String>,
    /// The emoji of a sticker file.
    pub(crate) emoji: Option<String>,
}

/// A file as the emulator keeps it.
#[derive(Debug, Clone)]
pub(crate) struct StoredFile {
    pub(crate) bytes: Arc<Vec<u8>>,
    pub(crate) mime: String,
    pub(crate) file_name: Option<String>,
    pub(crate) file_path: String,
    pub(crate) file_unique_id: String,
}

pub(super) fn media_kind_of(message: &Value) -> Option<&'static str> {
    [
        "photo",
        "document",
        "voice",
        "video",
        "audio",
        "video_note",
        "sticker",
    ]
    .into_iter()
    .find(|kind| message.get(*kind).is_some())
}

/// The file id a media message shows (the largest photo size).
pub(super) fn media_file_id(message: &Value, kind: &str) -> Option<String> {
    let media = message.get(kind)?;
    let media = match media.as_array() {
        Some(sizes) => sizes.last()?,
        None => media,
    };
    media.get("file_id")?.as_str().map(str::to_string)
}

impl Emulator {
    pub(super) fn store_file(
        state: &mut State,
        kind: &str,
        bytes: Arc<Vec<u8>>,
        mime: &str,
        file_name: Option<String>,
    ) -> Result<(String, StoredFile), BotError> {
        if bytes.is_empty() {
            return Err(BotError::bad_request("file must be non-empty"));
        }
        if bytes.len() > FILE_MAX_BYTES || state.file_bytes + bytes.len() > FILES_MAX_BYTES {
            return Err(BotError {
                code: 413,
                description: "Request Entity Too Large".into(),
                retry_after: None,
            });
        }
        let n = state.next_file;
        state.next_file += 1;
        let (prefix, folder, extension) = match kind {
            "photo" => ("AgACAgIAAxkBAAI", "photos", "jpg"),
            "voice" => ("AwACAgIAAxkBAAI", "voice", "oga"),
            "video" => ("BAACAgIAAxkBAAI", "videos", "mp4"),
            "video_note" => ("DQACAgIAAxkBAAI", "video_notes", "mp4"),
            "audio" => ("CQACAgIAAxkBAAI", "music", "mp3"),
            "sticker" => ("CAACAgIAAxkBAAI", "stickers", "webp"),
            _ => ("BQACAgIAAxkBAAI", "documents", "bin"),
        };
        let extension = file_name
            .as_deref()
            .and_then(|name| name.rsplit_once('.'))
            .map(|(_, ext)| ext)
            .filter(|ext| {
                !ext.is_empty() && ext.len() <= 8 && ext.bytes().all(|b| b.is_ascii_alphanumeric())
            })
            .unwrap_or(extension)
            .to_ascii_lowercase();
        let file_id = format!(
            "{prefix}{n:08}AAE{:06x}",
            n.wrapping_mul(2_654_435_761) % 0xff_ffff
        );
        let file_path = format!("{folder}/file_{n}.{extension}");
        let stored = StoredFile {
            file_unique_id: format!("AQAD{n:06}"),
            bytes: bytes.clone(),
            mime: mime.to_string(),
            file_name,
            file_path: file_path.clone(),
        };
        state.file_bytes += bytes.len();
        state.files.insert(file_id.clone(), stored.clone());
        state.paths.insert(file_path, file_id.clone());
        Ok((file_id, stored))
    }

    /// The `Message` fields of a file: `photo` sizes, `document`, `voice`, `video`.
    pub(super) fn media_fields(
        state: &mut State,
        kind: &str,
        file_id: &str,
        stored: &StoredFile,
    ) -> Result<Value, BotError> {
        let size = stored.bytes.len();
        Ok(match kind {
            "photo" => {
                // A thumbnail and the full size, as Telegram sends (the bot must pick the
                // largest); the emulator does not resize, so both carry the same bytes.
                let (thumb_id, thumb) =
                    Self::store_file(state, "photo", stored.bytes.clone(), &stored.mime, None)?;
                json!([
                    {"file_id": thumb_id, "file_unique_id": thumb.file_unique_id, "file_size": size, "width": 90, "height": 68},
                    {"file_id": file_id, "file_unique_id": stored.file_unique_id, "file_size": size, "width": 1280, "height": 960}
                ])
            }
            "voice" => json!({
                "duration": 1, "mime_type": stored.mime, "file_id": file_id,
                "file_unique_id": stored.file_unique_id, "file_size": size
            }),
            "video" => json!({
                "duration": 1, "width": 640, "height": 480, "mime_type": stored.mime,
                "file_id": file_id, "file_unique_id": stored.file_unique_id, "file_size": size
            }),
            "video_note" => json!({
                "duration": 1, "length": 240,
                "file_id": file_id, "file_unique_id": stored.file_unique_id, "file_size": size
            }),
            "audio" => {
                let mut audio = json!({
                    "duration": 1, "mime_type": stored.mime, "file_id": file_id,
                    "file_unique_id": stored.file_unique_id, "file_size": size
                });
                if let Some(name) = &stored.file_name {
                    audio["file_name"] = json!(name);
                }
                audio
            }
            "sticker" => json!({
                "width": 512, "height": 512, "type": "regular",
                "is_animated": false, "is_video": false,
                "file_id": file_id, "file_unique_id": stored.file_unique_id, "file_size": size
            }),
            _ => {
                let mut document = json!({
                    "mime_type": stored.mime, "file_id": file_id,
                    "file_unique_id": stored.file_unique_id, "file_size": size
                });
                if let Some(name) = &stored.file_name {
                    document["file_name"] = json!(name);
                }
                document
            }
        })
    }

    /// The file a send call refers to: an upload (`attach://name` or the field itself) or the
    /// id of a file the emulator already holds.
    pub(super) fn resolve_input_file(
        &self,
        state: &mut State,
        field: &str,
        params: &Map<String, Value>,
        uploads: &HashMap<String, (Vec<u8>, Option<String>, String)>,
        kind: &str,
    ) -> Result<(String, StoredFile), BotError> {
        let reference = str_param(params, field).unwrap_or("");
        let upload_name = match reference.strip_prefix("attach://") {
            Some(name) => Some(name.to_string()),
            None if reference.is_empty() => Some(field.to_string()),
            None => None,
        };
        if let Some(name) = upload_name {
            let (bytes, file_name, mime) = uploads.get(&name).ok_or_else(|| {
                BotError::bad_request(format!("there is no {field} in the request"))
            })?;
            return Self::store_file(
                state,
                kind,
                Arc::new(bytes.clone()),
                mime,
                file_name.clone(),
            );
        }
        let stored = state
            .files
            .get(reference)
            .cloned()
            .ok_or_else(|| BotError::bad_request("wrong file identifier/HTTP URL specified"))?;
        Ok((reference.to_string(), stored))
    }

    /// A file by its `file_path` (the Bot API's file download).
    pub(crate) fn file_by_path(&self, path: &str) -> Option<StoredFile> {
        let state = self.lock();
        let id = state.paths.get(path)?;
        state.files.get(id).cloned()
    }

    /// A file by its `file_id` (the sandbox page shows pictures with it).
    pub(crate) fn file_by_id(&self, file_id: &str) -> Option<StoredFile> {
        self.lock().files.get(file_id).cloned()
    }

    /// `getFile`: a file's path for the download, by its id.
    pub(super) fn get_file(state: &State, params: &Map<String, Value>) -> Result<Value, BotError> {
        let file_id = str_param(params, "file_id").unwrap_or("");
        let stored = state
            .files
            .get(file_id)
            .ok_or_else(|| BotError::bad_request("invalid file_id"))?;
        Ok(json!({
            "file_id": file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": stored.bytes.len(),
            "file_path": stored.file_path,
        }))
    }
}
