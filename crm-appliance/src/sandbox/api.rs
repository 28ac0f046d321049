//! The emulator's Bot API over HTTP: `/sandbox/bot<token>/<method>` with parameters in the
//! query string, a JSON body, a urlencoded form or multipart/form-data (uploads), answered in
//! Telegram's envelope (`{"ok":true,"result":...}` or `{"ok":false,"error_code":...}` with the
//! same HTTP status), and file downloads at `/sandbox/file/bot<token>/<file_path>`.
//!
//! Methods: getMe, getUpdates (offset, limit, timeout: long polling), setWebhook (then updates
//! are pushed to the URL with the secret header), deleteWebhook, getWebhookInfo, setMyCommands,
//! getMyCommands, deleteMyCommands, sendMessage, editMessageText, editMessageReplyMarkup,
//! editMessageCaption, deleteMessage, answerCallbackQuery, sendPhoto, sendDocument, sendVoice,
//! sendVideo, sendAudio, sendMediaGroup, sendChatAction, getFile, leaveChat, logOut, close.
//! Unknown methods answer 404 as Telegram does. Injected faults (see `control`) answer before
//! the method runs; a reset fault answers nothing and breaks the connection instead
//! ([`connection_reset`]).

use std::collections::HashMap;
use std::time::Duration;

use axum::Json;
use axum::extract::{FromRequest, Multipart, Path, Query, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use super::emulator::{BotError, Injected, int_param};
use crate::AppState;

/// The largest request body the emulator reads (uploads included).
const BODY_MAX: usize = 12 * 1024 * 1024;

/// Uploaded files by form field: bytes, file name, MIME type.
pub(crate) type Uploads = HashMap<String, (Vec<u8>, Option<String>, String)>;

/// Telegram's answer envelope with the matching HTTP status.
fn reply(result: Result<Value, BotError>) -> Response {
    match result {
        Ok(result) => Json(json!({ "ok": true, "result": result })).into_response(),
        Err(error) => {
            let status = StatusCode::from_u16(error.code).unwrap_or(StatusCode::BAD_REQUEST);
            (status, Json(error.body())).into_response()
        }
    }
}

/// Reads a request's parameters (query, JSON, form or multipart) and uploaded files.
pub(crate) async fn read_params(
    query: Vec<(String, String)>,
    request: Request,
) -> Result<(Map<String, Value>, Uploads), String> {
    let mut params = Map::new();
    for (name, value) in query {
        params.insert(name, Value::String(value));
    }
    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let mut uploads = Uploads::new();
    if content_type.starts_with("multipart/form-data") {
        let mut multipart = Multipart::from_request(request, &())
            .await
            .map_err(|error| error.body_text())?;
        while let Some(field) = multipart
            .next_field()
            .await
            .map_err(|error| error.body_text())?
        {
            let name = field.name().unwrap_or("").to_string();
            let file_name = field.file_name().map(str::to_string);
            let mime = field
                .content_type()
                .unwrap_or("application/octet-stream")
                .to_string();
            let bytes = field.bytes().await.map_err(|error| error.body_text())?;
            if file_name.is_some() {
                uploads.insert(name, (bytes.to_vec(), file_name, mime));
            } else {
                params.insert(
                    name,
                    Value::String(String::from_utf8_lossy(&bytes).into_owned()),
                );
            }
        }
        return Ok((params, uploads));
    }
    let bytes = axum::body::to_bytes(request.into_body(), BODY_MAX)
        .await
        .map_err(|_| "the request body is too large".to_string())?;
    if bytes.is_empty() {
        return Ok((params, uploads));
    }
    if content_type.starts_with("application/x-www-form-urlencoded") {
        for (name, value) in url::form_urlencoded::parse(&bytes) {
            params.insert(name.into_owned(), Value::String(value.into_owned()));
        }
        return Ok((params, uploads));
    }
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(Value::Object(body)) => {
            params.extend(body);
            Ok((params, uploads))
        }
        _ => Err("the body is not a JSON object".into()),
    }
}

/// `ANY /sandbox/{bot<token>}/{method}`.
pub(crate) async fn bot_api(
    State(state): State<AppState>,
    Path((bot, method)): Path<(String, String)>,
    Query(query): Query<Vec<(String, String)>>,
    request: Request,
) -> Response {
    // The emulator whose token the path carries (each organization without a token has one).
    let Some(emulator) = bot
        .strip_prefix("bot")
        .and_then(|token| state.bots().emulator_for_token(token))
    else {
        return reply(Err(BotError::unauthorized()));
    };
    let (params, uploads) = match read_params(query, request).await {
        Ok(read) => read,
        Err(error) => return reply(Err(BotError::bad_request(error))),
    };
    match emulator.take_fault(&method, int_param(&params, "chat_id")) {
        Some(Injected::Answer(error)) => return reply(Err(error)),
        Some(Injected::Reset) => return connection_reset(),
        None => {}
    }
    if method == "getUpdates" {
        let offset = int_param(&params, "offset");
        let limit = usize::try_from(int_param(&params, "limit").unwrap_or(100)).unwrap_or(100);
        let timeout = u64::try_from(int_param(&params, "timeout").unwrap_or(0)).unwrap_or(0);
        return reply(
            emulator
                .get_updates(offset, limit, Duration::from_secs(timeout))
                .await,
        );
    }
    let result = emulator.call(&method, &params, uploads);
    if method == "setWebhook"
        && result.is_ok()
        && let Some(generation) = emulator.active_webhook()
    {
        tokio::spawn(emulator.clone().push_webhook(generation));
    }
    reply(result)
}

/// A response whose body fails before its first byte: hyper then aborts the connection, so
/// the client gets a network error and no complete HTTP answer, as when a connection to
/// Telegram is reset. The method has not run, so the client may safely send it again.
fn connection_reset() -> Response {
    let broken = futures_util::stream::once(async {
        Err::<axum::body::Bytes, _>(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "injected connection reset",
        ))
    });
    Response::new(axum::body::Body::from_stream(broken))
}

/// `GET /sandbox/file/{bot<token>}/{*file_path}`: a file's bytes, as Telegram's file server.
pub(crate) async fn file(
    State(state): State<AppState>,
    Path((bot, path)): Path<(String, String)>,
) -> Response {
    let Some(emulator) = bot
        .strip_prefix("bot")
        .and_then(|token| state.bots().emulator_for_token(token))
    else {
        return reply(Err(BotError::unauthorized()));
    };
    match emulator.file_by_path(&path) {
        Some(file) => bytes_response(file.bytes.as_ref().clone(), &file.mime, false),
        None => reply(Err(BotError::not_found())),
    }
}

/// A file answer. Only pictures, audio and video are shown inline (`inline`); anything else is
/// a download, so an uploaded HTML file can never run as a page of the appliance.
pub(crate) fn bytes_response(bytes: Vec<u8>, mime: &str, inline: bool) -> Response {
    let safe = mime.starts_with("image/") && mime != "image/svg+xml"
        || mime.starts_with("audio/")
        || mime.starts_with("video/");
    let content_type = if safe {
        mime
    } else {
        "application/octet-stream"
    };
    let mut response = bytes.into_response();
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(content_type) {
        headers.insert(header::CONTENT_TYPE, value);
    }
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static(if inline && safe {
            "inline"
        } else {
            "attachment"
        }),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, max-age=3600"),
    );
    response
}
