//! The emulator's control API, used by the `/sandbox` page and by the tests: simulated users
//! write, press buttons, edit, block the bot; raw updates (fixtures) are injected; faults are
//! armed; chats and files are read back.
//!
//! | route | what |
//! | --- | --- |
//! | `POST /sandbox/chats/{user_id}/send` | `{"text", "from": {first_name, last_name, username, language_code}}`, or multipart with `text`/`caption`, the `from` fields and a `photo`, `document`, `voice`, `video`, `audio`, `video_note` or `sticker` file (with `emoji`); or one of `location` `{latitude, longitude}`, `venue` `{latitude, longitude, title, address}`, `contact` `{phone_number, first_name, last_name, user_id}` (`user_id` the sender's own id when they share their own contact, as the "share my phone" button does), `dice` `{emoji, value}`, `poll` `{question, options}` (JSON objects, or JSON text in a form); with `reply_to_message_id` a reply, with `media_group_id` a part of an album |
//! | `POST /sandbox/chats/{user_id}/press` | `{"message_id", "data"}`: a callback query |
//! | `POST /sandbox/chats/{user_id}/edit` | `{"message_id", "text"}`: an edited message (its text, or a file's caption) |
//! | `POST /sandbox/chats/{user_id}/block`, `/unblock` | `my_chat_member` kicked / member; sends answer 403 while blocked |
//! | `GET /sandbox/chats/{user_id}` | the chat: messages both ways with `reply_markup` (inline keyboards, and reply keyboards such as `request_contact`), callback answers |
//! | `GET /sandbox/chats` | every chat |
//! | `POST /sandbox/updates` | `{"update": {...}, "times": 1, "keep_update_id": false}`: a raw update |
//! | `GET, POST, DELETE /sandbox/faults` | armed faults: `{"method", "status", "retry_after", "times", "chat_id"}`, or `{"method", "reset": true, "times", "chat_id"}`: the call gets no answer, its connection is dropped before the method runs |
//! | `GET /sandbox/files/{file_id}` | a file's bytes (the page shows pictures with it) |
//! | `POST /sandbox/forums` | `{"id", "title"}`: a simulated supergroup with topics (the staff group) |
//! | `GET /sandbox/forums`, `GET /sandbox/forums/{chat_id}` | the forums; one forum's topics and messages with their `message_thread_id` |
//! | `POST /sandbox/forums/{chat_id}/send` | `{"text", "message_thread_id", "from": {"id", first_name, ...}}`, or multipart with `text`/`caption`, `message_thread_id`, `from` (JSON text) and a file as `/send` takes one: a member writes in a topic (or, without a thread, in General) |
//! | `POST /sandbox/chats/{user_id}/web_app` | `{"language_code", "auth_date"}` (both optional): `{"init_data"}`, the Mini App's `initData` signed with the emulated bot's token for that user, as Telegram signs it for a web_app button (`auth_date` in seconds, now by default; an old one tests expiry) |
//! | `GET /sandbox/stats` | call counts, updates waiting, `confirmed_offset` (the highest getUpdates offset: every update below it is confirmed), and the bot's recent sends with their times |
//!
//! The control API exists only in sandbox mode (404 otherwise). It stands in for Telegram's
//! own clients and can create simulated customers and nothing else (every staff action still
//! goes through the web), but it reads every simulated chat and can break the bot's calls, so
//! it answers only a staff user's session or the sandbox key printed at start, and refuses
//! state-changing requests from other sites (see `access`).

use axum::Json;
use axum::extract::{Path, Query, Request};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use serde_json::{Value, json};

use super::access::{Control, Refused};
use super::api::{Uploads, bytes_response, read_params};
use super::emulator::{Emulator, Fault, SimContent, SimFile, SimUser};

fn bad(message: impl Into<String>) -> Refused {
    Refused::new(StatusCode::BAD_REQUEST, message)
}

type Answer = Result<Json<Value>, Refused>;

fn user_id(text: &str) -> Result<i64, Refused> {
    match text.parse::<i64>() {
        Ok(id) if id > 0 && id < (1 << 52) => Ok(id),
        _ => Err(bad(format!(
            "{text:?} is not a Telegram user id (a positive integer)"
        ))),
    }
}

fn text_of(params: &serde_json::Map<String, Value>, name: &str) -> Option<String> {
    params.get(name).and_then(Value::as_str).map(str::to_string)
}

/// The file of a send: the first upload named `photo`, `document`, `voice`, `video`,
/// `audio`, `video_note` or `sticker`.
fn take_file(uploads: &mut Uploads) -> Option<SimFile> {
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
    .find_map(|kind| {
        uploads
            .remove(kind)
            .map(|(bytes, file_name, mime)| SimFile {
                kind: kind.to_string(),
                bytes,
                file_name,
                mime,
            })
    })
}

/// A whole-number parameter, given as a JSON number or as text (a form field).
fn int_of(params: &serde_json::Map<String, Value>, name: &str) -> Option<i64> {
    params.get(name).and_then(|value| {
        value
            .as_i64()
            .or_else(|| value.as_str().and_then(|text| text.trim().parse().ok()))
    })
}

/// `POST /sandbox/chats/{user_id}/send`.
pub(crate) async fn send(
    Control(emulator): Control,
    Path(id): Path<String>,
    Query(query): Query<Vec<(String, String)>>,
    request: Request,
) -> Answer {
    let id = user_id(&id)?;
    let (params, mut uploads) = read_params(query, request).await.map_err(bad)?;
    let from = params.get("from").cloned().unwrap_or_else(|| json!({}));
    let field = |name: &str| {
        from.get(name)
            .and_then(Value::as_str)
            .map(str::to_string)
            .or_else(|| text_of(&params, name))
    };
    let user = SimUser {
        id,
        first_name: field("first_name").unwrap_or_default(),
        last_name: field("last_name"),
        username: field("username").map(|name| name.trim_start_matches('@').to_string()),
        language_code: field("language_code"),
    };
    let file = take_file(&mut uploads);
    let text = text_of(&params, "text").or_else(|| text_of(&params, "caption"));
    let mut kinds = serde_json::Map::new();
    for kind in ["location", "venue", "contact", "dice", "poll"] {
        match params.get(kind) {
            Some(Value::Object(fields)) => {
                kinds.insert(kind.to_string(), Value::Object(fields.clone()));
            }
            Some(Value::String(encoded)) => {
                let fields: Value = serde_json::from_str(encoded)
                    .map_err(|_| bad(format!("{kind} must be a JSON object")))?;
                kinds.insert(kind.to_string(), fields);
            }
            Some(_) => return Err(bad(format!("{kind} must be a JSON object"))),
            None => {}
        }
    }
    let reply_to = int_of(&params, "reply_to_message_id");
    let content = SimContent {
        text,
        file,
        kinds,
        reply_to,
        media_group_id: text_of(&params, "media_group_id"),
        emoji: text_of(&params, "emoji"),
    };
    let (update_id, message_id) = emulator.user_send(user, content).map_err(bad)?;
    Ok(Json(json!({
        "ok": true,
        "update_id": update_id,
        "message_id": message_id,
    })))
}

/// The body of `press`.
#[derive(Debug, Deserialize)]
pub(crate) struct PressBody {
    message_id: i64,
    data: String,
}

/// `POST /sandbox/chats/{user_id}/press`.
pub(crate) async fn press(
    Control(emulator): Control,
    Path(id): Path<String>,
    Json(body): Json<PressBody>,
) -> Answer {
    let id = user_id(&id)?;
    let (update_id, query_id) = emulator
        .user_press(id, body.message_id, &body.data)
        .map_err(bad)?;
    Ok(Json(json!({
        "ok": true,
        "update_id": update_id,
        "callback_query_id": query_id,
    })))
}

/// The body of `pay`.
#[derive(Debug, Deserialize)]
pub(crate) struct PayBody {
    message_id: i64,
}

/// `POST /sandbox/chats/{user_id}/pay`: the simulated user pays the Stars invoice message
/// `message_id`: the bot gets a `pre_checkout_query`; the emulator waits (at most 10 s) for
/// `answerPreCheckoutQuery` and, when the bot said ok, sends the user's message with
/// `successful_payment`. Answers `paid` and the charge id, or the bot's `error_message`.
pub(crate) async fn pay(
    Control(emulator): Control,
    Path(id): Path<String>,
    Json(body): Json<PayBody>,
) -> Answer {
    let id = user_id(&id)?;
    let query = emulator.user_pay(id, body.message_id).map_err(bad)?;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let answer = loop {
        if let Some(answer) = emulator.pre_checkout_answer(&query) {
            break answer;
        }
        if std::time::Instant::now() > deadline {
            return Err(bad(
                "the bot did not answer the pre-checkout query in 10 s".to_string()
            ));
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    };
    match answer {
        (true, _) => {
            let charge = emulator.user_paid(id, body.message_id).map_err(bad)?;
            Ok(Json(json!({
                "ok": true,
                "paid": true,
                "pre_checkout_query_id": query,
                "telegram_payment_charge_id": charge,
            })))
        }
        (false, error) => Ok(Json(json!({
            "ok": true,
            "paid": false,
            "pre_checkout_query_id": query,
            "error_message": error,
        }))),
    }
}

/// The body of `edit`.
#[derive(Debug, Deserialize)]
pub(crate) struct EditBody {
    message_id: i64,
    text: String,
}

/// `POST /sandbox/chats/{user_id}/edit`.
pub(crate) async fn edit(
    Control(emulator): Control,
    Path(id): Path<String>,
    Json(body): Json<EditBody>,
) -> Answer {
    let id = user_id(&id)?;
    let update_id = emulator
        .user_edit(id, body.message_id, &body.text)
        .map_err(bad)?;
    Ok(Json(json!({ "ok": true, "update_id": update_id })))
}

fn set_blocked(emulator: &Emulator, id: &str, blocked: bool) -> Answer {
    let id = user_id(id)?;
    let update_id = emulator
        .set_blocked(id, blocked)
        .map_err(|message| Refused::new(StatusCode::NOT_FOUND, message))?;
    Ok(Json(json!({ "ok": true, "update_id": update_id })))
}

/// `POST /sandbox/chats/{user_id}/block`.
pub(crate) async fn block(Control(emulator): Control, Path(id): Path<String>) -> Answer {
    set_blocked(&emulator, &id, true)
}

/// `POST /sandbox/chats/{user_id}/unblock`.
pub(crate) async fn unblock(Control(emulator): Control, Path(id): Path<String>) -> Answer {
    set_blocked(&emulator, &id, false)
}

/// `GET /sandbox/chats/{user_id}`.
pub(crate) async fn chat(Control(emulator): Control, Path(id): Path<String>) -> Answer {
    let id = user_id(&id)?;
    emulator
        .chat_view(id)
        .map(Json)
        .ok_or_else(|| Refused::new(StatusCode::NOT_FOUND, format!("no chat with user {id} yet")))
}

/// `POST /sandbox/chats/{user_id}/web_app`: signed `initData` for the user (see the table).
pub(crate) async fn web_app(
    Control(emulator): Control,
    Path(id): Path<String>,
    body: Option<Json<Value>>,
) -> Answer {
    let id = user_id(&id)?;
    let body = body.map(|Json(body)| body).unwrap_or_else(|| json!({}));
    let language_code = body
        .get("language_code")
        .and_then(Value::as_str)
        .map(str::to_string);
    let auth_date = match body.get("auth_date") {
        None | Some(Value::Null) => None,
        Some(value) => Some(
            value
                .as_i64()
                .filter(|seconds| *seconds >= 0)
                .ok_or_else(|| bad("auth_date must be a number of seconds since the epoch"))?,
        ),
    };
    emulator
        .web_app_init_data(id, language_code, auth_date)
        .map(|init_data| Json(json!({ "init_data": init_data })))
        .ok_or_else(|| {
            Refused::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "the bot has not started yet",
            )
        })
}

/// `GET /sandbox/chats`.
pub(crate) async fn chats(Control(emulator): Control) -> Answer {
    Ok(Json(emulator.chats()))
}

/// `POST /sandbox/updates`: `{"update": {...}, "times": n, "keep_update_id": bool}`, or a bare
/// update object.
pub(crate) async fn inject(Control(emulator): Control, Json(body): Json<Value>) -> Answer {
    let (update, times, keep) = match body.get("update") {
        Some(update) => (
            update.clone(),
            body.get("times")
                .and_then(Value::as_u64)
                .and_then(|times| u32::try_from(times).ok())
                .unwrap_or(1),
            body.get("keep_update_id")
                .and_then(Value::as_bool)
                .unwrap_or(false),
        ),
        None => (body, 1, false),
    };
    let ids = emulator.inject(update, times, keep).map_err(bad)?;
    Ok(Json(json!({ "ok": true, "update_ids": ids })))
}

/// `GET /sandbox/faults`.
pub(crate) async fn faults(Control(emulator): Control) -> Answer {
    Ok(Json(json!({ "faults": emulator.faults() })))
}

/// `POST /sandbox/faults`: one fault or a list.
pub(crate) async fn add_fault(Control(emulator): Control, Json(body): Json<Value>) -> Answer {
    let list = match body {
        Value::Array(list) => list,
        single => vec![single],
    };
    for fault in list {
        let fault: Fault =
            serde_json::from_value(fault).map_err(|message| bad(message.to_string()))?;
        emulator.add_fault(fault).map_err(bad)?;
    }
    Ok(Json(json!({ "ok": true, "faults": emulator.faults() })))
}

/// `DELETE /sandbox/faults`.
pub(crate) async fn clear_faults(Control(emulator): Control) -> Answer {
    emulator.clear_faults();
    Ok(Json(json!({ "ok": true })))
}

/// `GET /sandbox/files/{file_id}`.
pub(crate) async fn file(
    Control(emulator): Control,
    Path(file_id): Path<String>,
) -> Result<Response, Refused> {
    let file = emulator
        .file_by_id(&file_id)
        .ok_or_else(|| Refused::new(StatusCode::NOT_FOUND, "no such file"))?;
    Ok(bytes_response(
        file.bytes.as_ref().clone(),
        &file.mime,
        true,
    ))
}

/// `GET /sandbox/stats`.
pub(crate) async fn stats(Control(emulator): Control) -> Answer {
    Ok(Json(emulator.stats()))
}

fn forum_id(text: &str) -> Result<i64, Refused> {
    match text.parse::<i64>() {
        Ok(id) if id < 0 => Ok(id),
        _ => Err(bad(format!(
            "{text:?} is not a group id (a negative integer)"
        ))),
    }
}

/// The body of `create_forum`.
#[derive(Debug, Deserialize)]
pub(crate) struct ForumBody {
    id: i64,
    title: String,
}

/// `POST /sandbox/forums`.
pub(crate) async fn create_forum(
    Control(emulator): Control,
    Json(body): Json<ForumBody>,
) -> Answer {
    let chat = emulator.create_forum(body.id, &body.title).map_err(bad)?;
    Ok(Json(json!({ "ok": true, "chat": chat })))
}

/// `GET /sandbox/forums`.
pub(crate) async fn forums(Control(emulator): Control) -> Answer {
    Ok(Json(emulator.forums()))
}

/// `GET /sandbox/forums/{chat_id}`.
pub(crate) async fn forum(Control(emulator): Control, Path(id): Path<String>) -> Answer {
    let id = forum_id(&id)?;
    emulator
        .forum_view(id)
        .map(Json)
        .ok_or_else(|| Refused::new(StatusCode::NOT_FOUND, format!("no forum {id}")))
}

/// `POST /sandbox/forums/{chat_id}/send`: JSON `{"text", "message_thread_id", "from"}`, or
/// multipart with `text`/`caption`, `message_thread_id`, the `from` fields (`id`,
/// `first_name`, ...) and a file as `/send` takes one.
pub(crate) async fn forum_send(
    Control(emulator): Control,
    Path(id): Path<String>,
    Query(query): Query<Vec<(String, String)>>,
    request: Request,
) -> Answer {
    let id = forum_id(&id)?;
    let (params, mut uploads) = read_params(query, request).await.map_err(bad)?;
    let from: SimUser = match params.get("from") {
        Some(Value::String(encoded)) => serde_json::from_str(encoded),
        Some(from) => serde_json::from_value(from.clone()),
        None => return Err(bad("from is missing: the member who writes, {\"id\", ...}")),
    }
    .map_err(|error| bad(format!("from: {error}")))?;
    let thread = int_of(&params, "message_thread_id");
    let text = text_of(&params, "text")
        .or_else(|| text_of(&params, "caption"))
        .unwrap_or_default();
    let file = take_file(&mut uploads);
    let (update_id, message_id) = emulator
        .forum_send(id, from, thread, &text, file)
        .map_err(bad)?;
    Ok(Json(json!({
        "ok": true,
        "update_id": update_id,
        "message_id": message_id,
    })))
}
