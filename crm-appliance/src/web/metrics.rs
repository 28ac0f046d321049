//! `/metrics` in the Prometheus text format, and the middleware that counts every request.
//!
//! Series: `http_requests_total` and the `http_request_duration_seconds` histogram by method,
//! route template (`/api/v1/orders/{id}`, never the raw path, so the label set stays small) and
//! status; `crm_outbox_depth` and `crm_inbox_depth` read from the store at scrape time;
//! `crm_sse_connections`; `crm_bot_updates_total` and the `crm_bot_update_duration_seconds`
//! histogram (from the update's commit to the inbox until the commit of its handling, replies
//! in the outbox included), with millisecond buckets up to 100 ms so a p99 can be read off.
//!
//! The hot path takes no lock: series live in a fixed table of slots whose keys are set once
//! (`OnceLock`) and whose counters are atomics, so recording a request is a hash, a probe and a
//! few relaxed atomic additions. A slot's key is written only the first time its series is
//! seen.

use std::fmt::Write as _;
use std::hash::{Hash, Hasher};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::AppState;

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Upper bounds of the bot's update-latency buckets, in seconds: 1 ms steps to 10 ms, then
/// coarser, so `crm-bench` reads a p99 near the 50 ms target to within 5 ms.
const BOT_BUCKETS: [f64; 24] = [
    0.001, 0.002, 0.003, 0.004, 0.005, 0.006, 0.007, 0.008, 0.009, 0.010, 0.015, 0.020, 0.025,
    0.030, 0.035, 0.040, 0.045, 0.050, 0.075, 0.100, 0.250, 0.500, 1.0, 5.0,
];

/// Distinct (method, route, status) series kept; later ones are counted in one overflow
/// series. Routes are templates, so a few hundred is plenty.
const SLOTS: usize = 1024;

/// The route label of requests no route matched (404s of random paths must not create a
/// series each).
const UNMATCHED: &str = "unmatched";

#[derive(Debug, PartialEq, Eq)]
struct SeriesKey {
    method: &'static str,
    route: String,
    status: u16,
}

/// A latency histogram over the bucket bounds `bounds` (seconds): the HTTP series and the
/// bot's share it, with their own bounds.
struct Series<const N: usize> {
    bounds: &'static [f64; N],
    count: AtomicU64,
    sum_micros: AtomicU64,
    buckets: [AtomicU64; N],
}

impl<const N: usize> Series<N> {
    fn new(bounds: &'static [f64; N]) -> Self {
        Series {
            bounds,
            count: AtomicU64::new(0),
            sum_micros: AtomicU64::new(0),
            buckets: std::array::from_fn(|_| AtomicU64::new(0)),
        }
    }

    fn record(&self, micros: u64) {
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum_micros.fetch_add(micros, Ordering::Relaxed);
        let seconds = micros as f64 / 1_000_000.0;
        if let Some(index) = self.bounds.iter().position(|bound| seconds <= *bound) {
            self.buckets[index].fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Appends the `_bucket` (cumulative), `_sum` and `_count` lines of histogram `name`, with
    /// `labels` (`a="1",b="2"`, or empty) on every line.
    fn render(&self, out: &mut String, name: &str, labels: &str) {
        let separator = if labels.is_empty() { "" } else { "," };
        let braced = if labels.is_empty() {
            String::new()
        } else {
            format!("{{{labels}}}")
        };
        let mut cumulative = 0;
        for (bound, bucket) in self.bounds.iter().zip(&self.buckets) {
            cumulative += bucket.load(Ordering::Relaxed);
            let _ = writeln!(
                out,
                "{name}_bucket{{{labels}{separator}le=\"{bound}\"}} {cumulative}"
            );
        }
        let count = self.count.load(Ordering::Relaxed);
        let _ = writeln!(
            out,
            "{name}_bucket{{{labels}{separator}le=\"+Inf\"}} {count}"
        );
        let _ = writeln!(
            out,
            "{name}_sum{braced} {}",
            self.sum_micros.load(Ordering::Relaxed) as f64 / 1_000_000.0
        );
        let _ = writeln!(out, "{name}_count{braced} {count}");
    }
}

/// An HTTP series.
type HttpSeries = Series<{ BUCKETS.len() }>;

struct Slot {
    key: OnceLock<SeriesKey>,
    series: HttpSeries,
}

/// The request counters of the whole server. Shared through [`AppState`].
pub struct Metrics {
    slots: Box<[Slot]>,
    overflow: HttpSeries,
    sse_connections: AtomicU64,
    /// Handled Telegram updates and how long each took.
    bot: Series<{ BOT_BUCKETS.len() }>,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics {
            slots: (0..SLOTS)
                .map(|_| Slot {
                    key: OnceLock::new(),
                    series: Series::new(&BUCKETS),
                })
                .collect(),
            overflow: Series::new(&BUCKETS),
            sse_connections: AtomicU64::new(0),
            bot: Series::new(&BOT_BUCKETS),
        }
    }
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "OTHER",
    }
}

impl Metrics {
    /// Records one answered request. Lock-free once the series exists.
    pub fn record(&self, method: &Method, route: &str, status: StatusCode, micros: u64) {
        let method = method_label(method);
        let status = status.as_u16();
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        (method, route, status).hash(&mut hasher);
        let start = hasher.finish() as usize;
        for probe in 0..SLOTS {
            let slot = &self.slots[(start + probe) % SLOTS];
            let key = slot.key.get_or_init(|| SeriesKey {
                method,
                route: route.to_string(),
                status,
            });
            if key.method == method && key.status == status && key.route == route {
                slot.series.record(micros);
                return;
            }
        }
        self.overflow.record(micros);
    }

    /// Records one handled Telegram update that took `millis` milliseconds from its commit to
    /// the inbox to the commit of its handling (negative clock steps count as 0).
    pub fn record_bot_update(&self, millis: i64) {
        let millis = u64::try_from(millis).unwrap_or(0);
        self.bot.record(millis.saturating_mul(1000));
    }

    /// Counts an open live stream; the returned guard counts it closed when dropped.
    pub fn sse_opened(self: &std::sync::Arc<Self>) -> SseGuard {
        self.sse_connections.fetch_add(1, Ordering::Relaxed);
        SseGuard(self.clone())
    }

    /// The Prometheus text exposition of every series, plus the store's queue depths.
    pub fn render(&self, outbox_depth: Option<u64>, inbox_depth: Option<u64>) -> String {
        let mut out = String::with_capacity(8 * 1024);
        let mut series: Vec<(&SeriesKey, &HttpSeries)> = self
            .slots
            .iter()
            .filter_map(|slot| slot.key.get().map(|key| (key, &slot.series)))
            .collect();
        series.sort_by(|a, b| {
            (a.0.route.as_str(), a.0.method, a.0.status).cmp(&(
                b.0.route.as_str(),
                b.0.method,
                b.0.status,
            ))
        });
        let overflow = SeriesKey {
            method: "OTHER",
            route: "overflow".to_string(),
            status: 0,
        };
        if self.overflow.count.load(Ordering::Relaxed) > 0 {
            series.push((&overflow, &self.overflow));
        }
        out.push_str(
            "# HELP http_requests_total HTTP requests answered, by method, route template and status.\n\
             # TYPE http_requests_total counter\n",
        );
        for (key, series) in &series {
            let _ = writeln!(
                out,
                "http_requests_total{{{}}} {}",
                labels(key),
                series.count.load(Ordering::Relaxed)
            );
        }
        out.push_str(
            "# HELP http_request_duration_seconds Time to answer a request (until the response head), by method, route template and status.\n\
             # TYPE http_request_duration_seconds histogram\n",
        );
        for (key, series) in &series {
            series.render(&mut out, "http_request_duration_seconds", &labels(key));
        }
        gauge(
            &mut out,
            "crm_outbox_depth",
            "Outbox items (notifications, bot calls) waiting for delivery.",
            outbox_depth,
        );
        gauge(
            &mut out,
            "crm_inbox_depth",
            "Telegram updates committed and not yet processed.",
            inbox_depth,
        );
        gauge(
            &mut out,
            "crm_sse_connections",
            "Open live-update streams.",
            Some(self.sse_connections.load(Ordering::Relaxed)),
        );
        let count = self.bot.count.load(Ordering::Relaxed);
        out.push_str(
            "# HELP crm_bot_updates_total Telegram updates handled (committed with their replies).\n\
             # TYPE crm_bot_updates_total counter\n",
        );
        let _ = writeln!(out, "crm_bot_updates_total {count}");
        out.push_str(
            "# HELP crm_bot_update_duration_seconds From an update's commit to the inbox to the commit of its handling.\n\
             # TYPE crm_bot_update_duration_seconds histogram\n",
        );
        self.bot
            .render(&mut out, "crm_bot_update_duration_seconds", "");
        out
    }
}

/// Counts a live stream as open while it lives.
pub struct SseGuard(std::sync::Arc<Metrics>);

impl Drop for SseGuard {
    fn drop(&mut self) {
        self.0.sse_connections.fetch_sub(1, Ordering::Relaxed);
    }
}

fn gauge(out: &mut String, name: &str, help: &str, value: Option<u64>) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge");
    if let Some(value) = value {
        let _ = writeln!(out, "{name} {value}");
    }
}

fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn labels(key: &SeriesKey) -> String {
    format!(
        "method=\"{}\",route=\"{}\",status=\"{}\"",
        key.method,
        escape(&key.route),
        key.status
    )
}

/// Middleware: times the request until its response head and records it under the matched
/// route template. Added last in [`crate::web::app`], so it sees every route.
pub async fn track(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    // A clone of the matched path is a reference count, not a copy of the text.
    let route = request.extensions().get::<MatchedPath>().cloned();
    let response = next.run(request).await;
    let micros = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
    state.metrics().record(
        &method,
        route.as_ref().map_or(UNMATCHED, MatchedPath::as_str),
        response.status(),
        micros,
    );
    response
}

/// `GET /metrics`: Prometheus text format 0.0.4. The queue depths are read from the store
/// (two constant-time table lengths); a store error leaves them out rather than failing the
/// scrape.
pub async fn metrics(State(state): State<AppState>) -> Response {
    let depths = state
        .blocking(|crm| {
            let system = crm.system();
            Ok((system.outbox_depth().ok(), system.inbox_depth().ok()))
        })
        .await
        .unwrap_or((None, None));
    let body = state.metrics().render(depths.0, depths.1);
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
        )],
        body,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_counted_per_route_template_with_cumulative_buckets() {
        let metrics = Metrics::default();
        metrics.record(&Method::GET, "/orders/{id}", StatusCode::OK, 700);
        metrics.record(&Method::GET, "/orders/{id}", StatusCode::OK, 30_000);
        metrics.record(&Method::GET, "/orders/{id}", StatusCode::NOT_FOUND, 100);
        let text = metrics.render(Some(3), Some(0));
        assert!(text.contains(
            "http_requests_total{method=\"GET\",route=\"/orders/{id}\",status=\"200\"} 2"
        ));
        assert!(text.contains(
            "http_request_duration_seconds_bucket{method=\"GET\",route=\"/orders/{id}\",status=\"200\",le=\"0.001\"} 1"
        ));
        assert!(text.contains(
            "http_request_duration_seconds_bucket{method=\"GET\",route=\"/orders/{id}\",status=\"200\",le=\"0.05\"} 2"
        ));
        assert!(text.contains("crm_outbox_depth 3\n"));
        assert!(text.contains("crm_inbox_depth 0\n"));
    }

    #[test]
    fn bot_updates_land_in_millisecond_buckets() {
        let metrics = Metrics::default();
        metrics.record_bot_update(3);
        metrics.record_bot_update(42);
        metrics.record_bot_update(-5);
        let text = metrics.render(None, None);
        assert!(text.contains("crm_bot_updates_total 3\n"), "{text}");
        assert!(text.contains("crm_bot_update_duration_seconds_bucket{le=\"0.001\"} 1\n"));
        assert!(text.contains("crm_bot_update_duration_seconds_bucket{le=\"0.003\"} 2\n"));
        assert!(text.contains("crm_bot_update_duration_seconds_bucket{le=\"0.04\"} 2\n"));
        assert!(text.contains("crm_bot_update_duration_seconds_bucket{le=\"0.045\"} 3\n"));
        assert!(text.contains("crm_bot_update_duration_seconds_sum 0.045\n"));
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }

    #[test]
    fn a_full_table_counts_into_the_overflow_series() {
        let metrics = Metrics::default();
        for index in 0..SLOTS + 5 {
            metrics.record(&Method::GET, &format!("/r{index}"), StatusCode::OK, 1);
        }
        let text = metrics.render(None, None);
        assert!(
            text.contains("route=\"overflow\",status=\"0\"} 5"),
            "{text}"
        );
    }
}
