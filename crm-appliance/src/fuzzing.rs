//! Entry points for the fuzz targets in `fuzz/` (cargo-fuzz), which cannot reach the bot's
//! private update handling any other way.
//!
//! Not a supported API: hidden from the documentation, free to change with any commit, and
//! called by nothing in the product. Each function strings together the product's own steps
//! (the webhook's checks, the processor's parse, the handler in its write transaction) without
//! the network, so that a fuzzer can feed them arbitrary bytes.

use crm_lib::{Crm, ErrorKind, InboxPut, Media, OrgId};
use teloxide::types::Update;

use crate::bot::dialogue::{self, Dialogue};
use crate::bot::processor::{self, Prepared};
use crate::bot::updates;

/// What became of one payload given to [`handle_update`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Handled {
    /// Refused before the inbox, as the webhook refuses it: not UTF-8, no `update_id`, or
    /// too large to store.
    Refused,
    /// Already in the inbox: a repeat, stored and handled once.
    Duplicate,
    /// Stored, but not an update teloxide parses: finished without effects.
    Unparsed,
    /// Stored and handled in one write with its done mark.
    Handled,
}

/// Takes `payload` the way a webhook body is taken (UTF-8, an `update_id`, `crm.inbox_put`
/// with the default capacity), then handles it the way the inbox processor does (grouping
/// key, teloxide's parse, the flows in one `crm.write` with `finish_update`). Where the
/// processor would download a file the conversation can use, the handler gets `media` as the
/// stored file (or a failed download when `None`). Blocks for the writes.
///
/// # Errors
/// Whatever the store or the handler returned: a storage error, or a business error that
/// escaped a flow (a bug the fuzz target reports).
pub fn handle_update(
    crm: &Crm,
    org: OrgId,
    payload: &[u8],
    bot_username: Option<&str>,
    media: Option<&Media>,
) -> crm_lib::Result<Handled> {
    let Ok(payload) = String::from_utf8(payload.to_vec()) else {
        return Ok(Handled::Refused);
    };
    let Some(update_id) = updates::update_id_of(&payload) else {
        return Ok(Handled::Refused);
    };
    match crm.inbox_put(org, update_id, payload.clone(), crm_lib::INBOX_CAPACITY) {
        Ok(InboxPut::Inserted) => {}
        Ok(InboxPut::Duplicate) => return Ok(Handled::Duplicate),
        Err(error) if error.kind() == ErrorKind::InvalidInput => return Ok(Handled::Refused),
        Err(error) => return Err(error),
    }
    // The processor groups by this key before parsing; it must cope with any payload.
    let _chat = processor::chat_key(&payload);
    let Ok(update) = serde_json::from_str::<Update>(&payload) else {
        crm.finish_update(org, update_id)?;
        return Ok(Handled::Unparsed);
    };
    let mut files = Vec::new();
    if let Some((wanted, chat, telegram)) = processor::file_candidate(&update)
        && crm.read(|view| processor::wants_files(view, org, chat, telegram))?
    {
        files.push(match media {
            Some(media) if !wanted.too_large() => wanted.stored_as(media.clone()),
            _ => Prepared::Failed,
        });
    }
    processor::handle_in_write(
        crm,
        org,
        update_id,
        update,
        bot_username.map(str::to_string),
        files,
    )?;
    Ok(Handled::Handled)
}

/// Decodes `bytes` as a stored dialogue state (JSON; what does not decode reads as idle, as
/// the bot reads it) and checks that the state encodes and decodes back to itself.
///
/// # Errors
/// A sentence saying how the round trip failed (a bug the fuzz target reports).
pub fn dialogue_round_trips(bytes: &[u8]) -> Result<(), String> {
    let state = dialogue::decode(bytes);
    let encoded = serde_json::to_vec(&state)
        .map_err(|error| format!("a decoded dialogue state does not encode: {error}"))?;
    let again: Dialogue = serde_json::from_slice(&encoded)
        .map_err(|error| format!("an encoded dialogue state does not decode: {error}"))?;
    if again == state {
        Ok(())
    } else {
        Err(format!("{state:?} reads back as {again:?}"))
    }
}
