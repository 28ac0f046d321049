//! Entry points for the fuzz targets in `fuzz/` (cargo-fuzz), which cannot reach the bot's
//! private update handling any other way.
//!
//! Not a supported API: hidden from the documentation, free to change with any commit, and
//! called by nothing in the product. Each function strings together the product's own steps
//! (the webhook's checks, the processor's parse, the handler in its write transaction) without
//! the network, so that a fuzzer can feed them arbitrary bytes.

use crm_lib::{
    Crm, ErrorKind,
    model::{Media, OrgId},
    telegram::InboxPut,
};
use teloxide::types::Update;

use crate::bot::context::Prepared;
use crate::bot::dialogue::{self, Dialogue};
use crate::bot::processor;
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
    match crm.system().inbox_put(
        org,
        update_id,
        payload.clone(),
        crm_lib::telegram::INBOX_CAPACITY,
    ) {
        Ok(InboxPut::Inserted) => {}
        Ok(InboxPut::Duplicate) => return Ok(Handled::Duplicate),
        Err(error) if error.kind() == ErrorKind::InvalidInput => return Ok(Handled::Refused),
        Err(error) => return Err(error),
    }
    let Ok(update) = serde_json::from_str::<Update>(&payload) else {
        crm.system().finish_update(org, update_id)?;
        return Ok(Handled::Unparsed);
    };
    // The processor groups by this key; it must cope with any update.
    let _chat = processor::chat_key(&update);
    let mut files = Vec::new();
    if let Some((wanted, origin)) = processor::file_candidate(&update)
        && processor::wants_files(crm, org, &origin)?
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
        None,
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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use crm_lib::{
        Page,
        model::{Actor, TelegramUserId},
        orders::OrderFilter,
    };
    use serde_json::json;

    use super::*;

    fn message(update_id: u64, text: &str) -> Vec<u8> {
        json!({
            "update_id": update_id,
            "message": {
                "message_id": update_id, "date": 1735689600, "text": text,
                "from": {"id": 6100200300_i64, "is_bot": false, "first_name": "Мария", "language_code": "ru"},
                "chat": {"id": 6100200300_i64, "first_name": "Мария", "type": "private"},
            }
        })
        .to_string()
        .into_bytes()
    }

    fn press(update_id: u64, data: &str) -> Vec<u8> {
        json!({
            "update_id": update_id,
            "callback_query": {
                "id": format!("{update_id}"), "chat_instance": "1", "data": data,
                "from": {"id": 6100200300_i64, "is_bot": false, "first_name": "Мария"},
            }
        })
        .to_string()
        .into_bytes()
    }

    #[test]
    fn a_new_order_form_walked_through_handle_update_creates_the_order() {
        let dir = tempfile::tempdir().unwrap();
        let crm = Crm::open(dir.path().join("crm.redb")).unwrap();
        let org = crm
            .system()
            .create_organization("studio", "Test", "test")
            .unwrap()
            .id;
        // First contact greets; the form starts with the second message (update 10, the
        // form's id in its buttons).
        let updates = [
            message(9, "/start"),
            message(10, "/neworder"),
            message(11, "Сайт для пекарни"),
            message(12, "Меню, адрес и форма заказа"),
            message(13, "1500"),
            press(14, "w:10:l:s"),
            press(15, "w:10:a:d"),
            // The studio's markers: Python (1) and React (5) chosen, Python unchosen again.
            press(16, "w:10:m:t1"),
            press(17, "w:10:m:t5"),
            press(18, "w:10:m:t1"),
            press(19, "w:10:m:d"),
            // Its one payment method, the bank transfer.
            press(20, "w:10:p:m1"),
            press(21, "w:10:c:y"),
        ];
        for update in &updates {
            let handled = handle_update(&crm, org, update, Some("crm_bot"), None).unwrap();
            assert_eq!(handled, Handled::Handled);
        }
        assert_eq!(
            handle_update(&crm, org, &updates[1], Some("crm_bot"), None).unwrap(),
            Handled::Duplicate
        );
        assert_eq!(
            handle_update(&crm, org, b"\xff not utf-8", None, None).unwrap(),
            Handled::Refused
        );
        assert_eq!(
            handle_update(&crm, org, br#"{"update_id": 5000000000}"#, None, None).unwrap(),
            Handled::Unparsed
        );
        let customer = crm
            .system()
            .customer_by_telegram(org, TelegramUserId::new(6100200300))
            .unwrap()
            .unwrap();
        let filter = OrderFilter {
            customer: Some(customer.id),
            ..OrderFilter::default()
        };
        let orders = crm
            .list_orders(&Actor::system(org), &filter, Page::first(10))
            .unwrap();
        assert_eq!(
            orders.items.len(),
            1,
            "the confirmed form created the order"
        );
        assert_eq!(orders.items[0].title, "Сайт для пекарни");
        assert_eq!(orders.items[0].markers, [crm_lib::model::MarkerId::new(5)]);
        assert_eq!(
            orders.items[0].preferred_payment_method,
            Some(crm_lib::model::PaymentMethodId::new(1))
        );
        crm.close();
    }

    #[test]
    fn a_dialogue_state_that_does_not_decode_reads_as_idle_and_round_trips() {
        assert_eq!(dialogue_round_trips(b"{\"state\":\"wizard\""), Ok(()));
        assert_eq!(
            dialogue_round_trips(br#"{"state":"chatting","order":7}"#),
            Ok(())
        );
    }
}
