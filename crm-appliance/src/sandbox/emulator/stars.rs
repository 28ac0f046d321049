//! Payments in Telegram Stars, emulated: `sendInvoice` (currency `XTR`, an empty
//! `provider_token`, one or more `prices`) puts an invoice message in the chat;
//! [`Emulator::user_pay`] lets the simulated user pay it the way Telegram does: a
//! `pre_checkout_query` the bot must answer with `answerPreCheckoutQuery`, then, once it said
//! ok, a message from the user with `successful_payment` (a new `telegram_payment_charge_id`);
//! `refundStarPayment` of a charge it issued is recorded (a second refund of one charge is
//! refused, `CHARGE_ALREADY_REFUNDED`).
//!
//! The invoice message keeps its `payload` under `invoice_payload` (Telegram does not show
//! the payload in the message; the emulator needs it to pay).

use serde_json::{Map, Value, json};

use super::chats::Entry;
use super::params::{BotError, int_param, json_param, str_param};
use super::{Emulator, State, now_ms, now_s};

/// A Stars charge the emulator issued.
#[derive(Debug, Clone)]
pub(super) struct Charge {
    pub(super) user_id: i64,
    pub(super) charge_id: String,
    pub(super) amount: i64,
    pub(super) refunded: bool,
}

impl Emulator {
    /// `sendInvoice`, `answerPreCheckoutQuery` and `refundStarPayment`.
    pub(super) fn stars_method(
        &self,
        state: &mut State,
        method: &str,
        params: &Map<String, Value>,
    ) -> Result<Value, BotError> {
        match method {
            "sendInvoice" => {
                let chat = Self::target_chat(state, params)?;
                let title = str_param(params, "title").unwrap_or("");
                let description = str_param(params, "description").unwrap_or("");
                let payload = str_param(params, "payload").unwrap_or("");
                if title.is_empty() || title.chars().count() > 32 {
                    return Err(BotError::bad_request("INVOICE_TITLE_INVALID"));
                }
                if description.is_empty() || description.chars().count() > 255 {
                    return Err(BotError::bad_request("INVOICE_DESCRIPTION_INVALID"));
                }
                if payload.is_empty() || payload.len() > 128 {
                    return Err(BotError::bad_request("INVOICE_PAYLOAD_INVALID"));
                }
                if str_param(params, "currency") != Some("XTR") {
                    return Err(BotError::bad_request(
                        "CURRENCY_INVALID: only XTR is emulated",
                    ));
                }
                if str_param(params, "provider_token").is_some_and(|token| !token.is_empty()) {
                    return Err(BotError::bad_request(
                        "PAYMENT_PROVIDER_INVALID: Stars take an empty provider_token",
                    ));
                }
                let prices = json_param(params, "prices")?
                    .and_then(|prices| prices.as_array().cloned())
                    .unwrap_or_default();
                let total: i64 = prices
                    .iter()
                    .map(|price| price.get("amount").and_then(Value::as_i64).unwrap_or(0))
                    .sum();
                if prices.is_empty() || total <= 0 {
                    return Err(BotError::bad_request("INVOICE_PRICES_INVALID"));
                }
                let mut body = Map::new();
                body.insert(
                    "invoice".into(),
                    json!({
                        "title": title,
                        "description": description,
                        "start_parameter": "",
                        "currency": "XTR",
                        "total_amount": total,
                    }),
                );
                body.insert("invoice_payload".into(), json!(payload));
                Ok(self.bot_message(state, chat, body))
            }
            "answerPreCheckoutQuery" => {
                let id = str_param(params, "pre_checkout_query_id").unwrap_or("");
                let ok = super::params::bool_param(params, "ok");
                let error = str_param(params, "error_message").map(str::to_string);
                if !ok && error.as_deref().is_none_or(str::is_empty) {
                    return Err(BotError::bad_request(
                        "error_message is required when ok is false",
                    ));
                }
                match state.pre_checkouts.get_mut(id) {
                    Some(answer @ None) => {
                        *answer = Some((ok, error));
                        Ok(json!(true))
                    }
                    _ => Err(BotError::bad_request("QUERY_ID_INVALID")),
                }
            }
            "refundStarPayment" => {
                let user_id = int_param(params, "user_id")
                    .ok_or_else(|| BotError::bad_request("user_id is required"))?;
                let charge_id = str_param(params, "telegram_payment_charge_id").unwrap_or("");
                let charge = state
                    .charges
                    .iter_mut()
                    .find(|charge| charge.user_id == user_id && charge.charge_id == charge_id)
                    .ok_or_else(|| BotError::bad_request("CHARGE_NOT_FOUND"))?;
                if charge.refunded {
                    return Err(BotError::bad_request("CHARGE_ALREADY_REFUNDED"));
                }
                charge.refunded = true;
                Ok(json!(true))
            }
            _ => Err(BotError::bad_request("method not found")),
        }
    }

    /// The simulated user starts paying the invoice message `message_id`: the bot gets a
    /// `pre_checkout_query`. Returns the query's id ([`Emulator::pre_checkout_answer`]
    /// tells the bot's answer).
    pub(crate) fn user_pay(&self, user_id: i64, message_id: i64) -> Result<String, String> {
        let mut state = self.lock();
        let chat = state.chats.get(&user_id).ok_or("no such chat")?;
        let user = chat.user.clone();
        let invoice = chat
            .messages
            .iter()
            .find(|entry| entry.from_bot && entry.message_id == message_id)
            .map(Entry::message)
            .filter(|message| message.get("invoice").is_some())
            .ok_or("no invoice message with this id")?;
        let id = format!("{}", 5_000_000_000_000_000_000_u64 + state.next_query);
        state.next_query += 1;
        state.pre_checkouts.insert(id.clone(), None);
        let query = json!({
            "id": id,
            "from": user.user_json(),
            "currency": invoice["invoice"]["currency"],
            "total_amount": invoice["invoice"]["total_amount"],
            "invoice_payload": invoice["invoice_payload"],
        });
        self.deliver(state, "pre_checkout_query", query);
        Ok(id)
    }

    /// The bot's answer to pre-checkout query `id`: (ok, error message) once answered.
    pub(crate) fn pre_checkout_answer(&self, id: &str) -> Option<(bool, Option<String>)> {
        self.lock().pre_checkouts.get(id).cloned().flatten()
    }

    /// The payment goes through: the user's message with `successful_payment` for the
    /// invoice message `message_id`. Returns the `telegram_payment_charge_id`.
    pub(crate) fn user_paid(&self, user_id: i64, message_id: i64) -> Result<String, String> {
        let mut state = self.lock();
        let chat = state.chats.get(&user_id).ok_or("no such chat")?;
        let user = chat.user.clone();
        let invoice = chat
            .messages
            .iter()
            .find(|entry| entry.from_bot && entry.message_id == message_id)
            .map(Entry::message)
            .filter(|message| message.get("invoice").is_some())
            .ok_or("no invoice message with this id")?;
        let amount = invoice["invoice"]["total_amount"].as_i64().unwrap_or(0);
        let charge_id = format!("stxSANDBOX{:012}", state.charges.len() + 1);
        state.charges.push(Charge {
            user_id,
            charge_id: charge_id.clone(),
            amount,
            refunded: false,
        });
        let new_id = state.next_message_id;
        state.next_message_id += 1;
        let message = json!({
            "message_id": new_id,
            "from": user.user_json(),
            "chat": user.chat_json(),
            "date": now_s(),
            "successful_payment": {
                "currency": "XTR",
                "total_amount": amount,
                "invoice_payload": invoice["invoice_payload"],
                "telegram_payment_charge_id": charge_id,
                "provider_payment_charge_id": "",
            },
        });
        if let Some(chat) = state.chats.get_mut(&user_id) {
            chat.remember(Entry::new(&message, false, now_ms()));
        }
        self.deliver(state, "message", message);
        Ok(charge_id)
    }

    /// The Stars charges of `user_id`: id, amount, refunded (the chat view's `star_charges`).
    pub(super) fn star_charges_of(&self, state: &State, user_id: i64) -> Value {
        Value::Array(
            state
                .charges
                .iter()
                .filter(|charge| charge.user_id == user_id)
                .map(|charge| {
                    json!({
                        "telegram_payment_charge_id": charge.charge_id,
                        "amount": charge.amount,
                        "refunded": charge.refunded,
                    })
                })
                .collect(),
        )
    }
}
