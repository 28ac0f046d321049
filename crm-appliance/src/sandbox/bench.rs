//! `GET /sandbox/bench/static?bytes=N`: the ceiling the list page is compared with (SPEC
//! section 7: the rate at which the same server serves an embedded static file of the same
//! size). The body is the first `N` bytes (at most 64 KiB) of a buffer compiled into the
//! binary, served without copying and with the headers `/assets` sends, so the difference
//! between this route and the order list is the work of the page itself. Sandbox mode only,
//! like the rest of `/sandbox`; `crm-bench` asks for the size of the page it measured.

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use crate::AppState;

/// The largest sample, in bytes.
pub(crate) const SAMPLE_MAX: usize = 64 * 1024;

/// The embedded buffer: printable text, so the response looks like a page to any client.
static SAMPLE: [u8; SAMPLE_MAX] = {
    let mut bytes = [b'x'; SAMPLE_MAX];
    let mut index = 63;
    while index < SAMPLE_MAX {
        bytes[index] = b'\n';
        index += 64;
    }
    bytes
};

/// The query of the route.
#[derive(Debug, Deserialize)]
pub(crate) struct SampleQuery {
    /// Bytes wanted, 0 to [`SAMPLE_MAX`].
    bytes: usize,
}

/// Serves the sample; 404 outside sandbox mode, 400 above [`SAMPLE_MAX`].
pub(crate) async fn static_sample(
    State(state): State<AppState>,
    Query(query): Query<SampleQuery>,
) -> Response {
    if !state.config().sandbox() {
        return (StatusCode::NOT_FOUND, "the sandbox is off").into_response();
    }
    let Some(body) = SAMPLE.get(..query.bytes) else {
        return (
            StatusCode::BAD_REQUEST,
            format!("bytes must be at most {SAMPLE_MAX}"),
        )
            .into_response();
    };
    let mut response = Bytes::from_static(body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    headers.insert(header::ETAG, HeaderValue::from_static("\"sample\""));
    response
}
