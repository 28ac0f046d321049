//! `/metrics` in the Prometheus text format (0.0.4), and the middleware that counts every
//! request. The series are kept and encoded by `prometheus-client`, the Prometheus project's own
//! Rust client; this module only names them, labels them and feeds them.
//!
//! Series: `http_requests_total` and the `http_request_duration_seconds` histogram by method,
//! route template (`/api/v1/orders/{id}`, never the raw path, so the label set stays small) and
//! status; `crm_outbox_depth` and `crm_inbox_depth` read from the store at scrape time;
//! `crm_sse_connections`; `crm_bot_updates_total` and the `crm_bot_update_duration_seconds`
//! histogram (from the update's commit to the inbox until the commit of its handling, replies
//! in the outbox included), with millisecond buckets up to 100 ms so a p99 can be read off.
//! Per organization (issue 14): `crm_bot_updates_by_org_total{org}` and
//! `crm_http_requests_by_org_total{org}` (requests whose session or API token named an
//! organization), labelled with the slug; one series per organization, so their number is the
//! number of organizations, and the series above keep the labels they had.
//!
//! Every request also runs in a tracing span `request` whose `org` field the session or API
//! token fills ([`RequestOrg`]), so its log lines name the organization.
//! The label sets are bounded: eight method labels, the router's route templates plus
//! `unmatched`, and the statuses our handlers answer with; no request text becomes a label.
//!
//! The hot path: recording a request hashes its labels, looks the series up under a read lock
//! (an uncontended atomic increment, `parking_lot`), adds to the counter (an atomic) and
//! observes the duration under the histogram's own mutex, held for a few additions. The route
//! label is the router's `MatchedPath`, shared by reference count, so nothing is allocated
//! once a series exists. Measured with `benches/run.sh --quick` (release build, 2 shared
//! cores, runs alternated): the order list served 12,903 and 12,170 requests/s with the
//! lock-free table this replaced, 12,574 and 12,874 with prometheus-client; the difference is
//! within the run-to-run noise.
//!
//! `/metrics` answers loopback clients only, unless `--metrics-public` (`CRM_METRICS_PUBLIC`,
//! `metrics_public` in the file) says otherwise: the series name routes and counts that are
//! nobody else's business. A request that a proxy forwarded (`Forwarded`, `X-Forwarded-For`,
//! `X-Real-IP`) does not count as loopback, since a reverse proxy on the same machine connects
//! from loopback on behalf of anyone.

use std::hash::{Hash, Hasher};
use std::net::IpAddr;
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue, LabelValueEncoder};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use crate::AppState;
use crate::web::origin::ClientIp;

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

/// The headers a reverse proxy adds to a request it forwards.
const FORWARDED_HEADERS: [&str; 3] = ["forwarded", "x-forwarded-for", "x-real-ip"];

/// The route label of requests no route matched (404s of random paths must not create a
/// series each).
const UNMATCHED: &str = "unmatched";

/// The route label: the matched route template, or a fixed text ([`UNMATCHED`]).
#[derive(Debug, Clone)]
enum Route {
    Matched(MatchedPath),
    Fixed(&'static str),
}

impl Route {
    fn as_str(&self) -> &str {
        match self {
            Route::Matched(path) => path.as_str(),
            Route::Fixed(text) => text,
        }
    }
}

impl PartialEq for Route {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for Route {}

impl Hash for Route {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

impl EncodeLabelValue for Route {
    fn encode(&self, encoder: &mut LabelValueEncoder<'_>) -> std::fmt::Result {
        EncodeLabelValue::encode(&self.as_str(), encoder)
    }
}

/// The labels of an HTTP series, in the order they are written.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct HttpLabels {
    method: &'static str,
    route: Route,
    status: u16,
}

/// The label of a per-organization series: the organization's slug.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct OrgLabels {
    org: String,
}

/// The organization a request acts for, once its session or API token named it: the `Staff`
/// and `ApiUser` extractors fill it (and the request span's `org` field), [`track`] counts
/// the request under it after the answer.
#[derive(Debug, Clone, Default)]
pub struct RequestOrg(Arc<OnceLock<String>>);

impl RequestOrg {
    /// Records the organization's slug in the request's cell and in the current span (the
    /// request's). The first one named stays.
    pub fn record(parts: &axum::http::request::Parts, slug: &str) {
        if let Some(cell) = parts.extensions.get::<RequestOrg>() {
            let _ = cell.0.set(slug.to_string());
        }
        tracing::Span::current().record("org", tracing::field::display(slug));
    }
}

/// A histogram family whose series share one set of bucket bounds.
type HistogramFamily<S> = Family<S, Histogram, fn() -> Histogram>;

fn http_histogram() -> Histogram {
    Histogram::new(BUCKETS)
}

/// The series of the whole server, registered once. Shared through [`AppState`].
pub struct Metrics {
    registry: Registry,
    requests: Family<HttpLabels, Counter>,
    durations: HistogramFamily<HttpLabels>,
    sse_connections: Gauge,
    bot_updates: Counter,
    bot_durations: Histogram,
    bot_updates_by_org: Family<OrgLabels, Counter>,
    requests_by_org: Family<OrgLabels, Counter>,
}

impl Default for Metrics {
    fn default() -> Self {
        let requests = Family::<HttpLabels, Counter>::default();
        let durations = HistogramFamily::new_with_constructor(http_histogram as fn() -> Histogram);
        let sse_connections = Gauge::default();
        let bot_updates = Counter::default();
        let bot_durations = Histogram::new(BOT_BUCKETS);
        let bot_updates_by_org = Family::<OrgLabels, Counter>::default();
        let requests_by_org = Family::<OrgLabels, Counter>::default();
        let mut registry = Registry::default();
        // prometheus-client ends every help text with a period and every counter's name
        // with `_total`.
        registry.register(
            "http_requests",
            "HTTP requests answered, by method, route template and status",
            requests.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "Time to answer a request (until the response head), by method, route template and status",
            durations.clone(),
        );
        registry.register(
            "crm_sse_connections",
            "Open live-update streams",
            sse_connections.clone(),
        );
        registry.register(
            "crm_bot_updates",
            "Telegram updates handled (committed with their replies)",
            bot_updates.clone(),
        );
        registry.register(
            "crm_bot_update_duration_seconds",
            "From an update's commit to the inbox to the commit of its handling",
            bot_durations.clone(),
        );
        registry.register(
            "crm_bot_updates_by_org",
            "Telegram updates handled, by organization",
            bot_updates_by_org.clone(),
        );
        registry.register(
            "crm_http_requests_by_org",
            "HTTP requests of a staff session or API token, by its organization",
            requests_by_org.clone(),
        );
        Metrics {
            registry,
            requests,
            durations,
            sse_connections,
            bot_updates,
            bot_durations,
            bot_updates_by_org,
            requests_by_org,
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
    /// Records one answered request under its route that took `seconds` until its response
    /// head.
    fn record(&self, method: &Method, route: Route, status: StatusCode, seconds: f64) {
        let labels = HttpLabels {
            method: method_label(method),
            route,
            status: status.as_u16(),
        };
        self.requests.get_or_create(&labels).inc();
        self.durations.get_or_create(&labels).observe(seconds);
    }

    /// Records one Telegram update of organization `org` (its slug) handled `millis`
    /// milliseconds after its commit to the inbox (negative clock steps count as 0).
    pub fn record_bot_update(&self, org: &str, millis: i64) {
        self.bot_updates.inc();
        self.bot_durations.observe(millis.max(0) as f64 / 1000.0);
        self.bot_updates_by_org
            .get_or_create(&OrgLabels {
                org: org.to_string(),
            })
            .inc();
    }

    /// Counts an open live stream; the returned guard counts it closed when dropped.
    pub fn sse_opened(&self) -> SseGuard {
        self.sse_connections.inc();
        SseGuard(self.sse_connections.clone())
    }

    /// The Prometheus text exposition of every series, plus the store's queue depths (left out
    /// when unknown).
    pub fn render(&self, outbox_depth: Option<u64>, inbox_depth: Option<u64>) -> String {
        let mut out = String::with_capacity(8 * 1024);
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::prometheus_text::encode(&mut out, &self.registry);
        // The depths are read at scrape time, so they live in a registry of the scrape.
        let mut depths = Registry::default();
        for (name, help, value) in [
            (
                "crm_outbox_depth",
                "Outbox items (notifications, bot calls) waiting for delivery",
                outbox_depth,
            ),
            (
                "crm_inbox_depth",
                "Telegram updates committed and not yet processed",
                inbox_depth,
            ),
        ] {
            if let Some(value) = value {
                let gauge = Gauge::<i64>::default();
                gauge.set(i64::try_from(value).unwrap_or(i64::MAX));
                depths.register(name, help, gauge);
            }
        }
        let _ = prometheus_client::encoding::prometheus_text::encode(&mut out, &depths);
        out
    }
}

/// Counts a live stream as open while it lives.
pub struct SseGuard(Gauge);

impl Drop for SseGuard {
    fn drop(&mut self) {
        self.0.dec();
    }
}

/// Middleware: times the request until its response head and records it under the matched
/// route template. Added last in [`crate::web::app`], so it sees every route.
pub async fn track(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    use tracing::Instrument;
    let started = Instant::now();
    let method = request.method().clone();
    // A clone of the matched path is a reference count, not a copy of the text.
    let route = request.extensions().get::<MatchedPath>().cloned();
    let org = RequestOrg::default();
    request.extensions_mut().insert(org.clone());
    let span = tracing::info_span!("request", org = tracing::field::Empty);
    let response = next.run(request).instrument(span.clone()).await;
    span.in_scope(|| tracing::debug!(status = response.status().as_u16(), "request answered"));
    state.metrics().record(
        &method,
        route.map_or(Route::Fixed(UNMATCHED), Route::Matched),
        response.status(),
        started.elapsed().as_secs_f64(),
    );
    if let Some(slug) = org.0.get() {
        state
            .metrics()
            .requests_by_org
            .get_or_create(&OrgLabels { org: slug.clone() })
            .inc();
    }
    response
}

/// Whether a request may read `/metrics`: always with `public`, otherwise only from a loopback
/// peer that no proxy forwarded it for.
fn may_scrape(public: bool, peer: Option<IpAddr>, headers: &HeaderMap) -> bool {
    if public {
        return true;
    }
    let forwarded = FORWARDED_HEADERS
        .iter()
        .any(|name| headers.contains_key(*name));
    !forwarded && peer.is_some_and(|ip| ip.to_canonical().is_loopback())
}

/// `GET /metrics`: Prometheus text format 0.0.4, for loopback clients (or anyone with
/// `--metrics-public`; others get 403). The queue depths are read from the store (two
/// constant-time table lengths); a store error leaves them out rather than failing the scrape.
pub async fn metrics(
    State(state): State<AppState>,
    ClientIp(peer): ClientIp,
    headers: HeaderMap,
) -> Response {
    if !may_scrape(state.config().metrics_public, peer, &headers) {
        return (
            StatusCode::FORBIDDEN,
            "/metrics answers loopback clients only; start the appliance with --metrics-public (CRM_METRICS_PUBLIC) to serve it to others\n",
        )
            .into_response();
    }
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
            HeaderValue::from_static(prometheus_client::encoding::prometheus_text::CONTENT_TYPE),
        )],
        body,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use std::net::{Ipv4Addr, Ipv6Addr};

    use super::*;

    /// The value of the sample line that starts with `series ` (name and labels).
    fn sample(text: &str, series: &str) -> f64 {
        text.lines()
            .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
            .unwrap_or_else(|| panic!("no {series} in {text}"))
            .parse()
            .unwrap()
    }

    #[test]
    fn requests_are_counted_per_route_template_with_cumulative_buckets() {
        let metrics = Metrics::default();
        let route = || Route::Fixed("/orders/{id}");
        metrics.record(&Method::GET, route(), StatusCode::OK, 0.0007);
        metrics.record(&Method::GET, route(), StatusCode::OK, 0.03);
        metrics.record(&Method::GET, route(), StatusCode::NOT_FOUND, 0.0001);
        let text = metrics.render(Some(3), Some(0));
        assert!(
            text.contains("# TYPE http_requests_total counter\n"),
            "{text}"
        );
        assert!(text.contains(
            "http_requests_total{method=\"GET\",route=\"/orders/{id}\",status=\"200\"} 2\n"
        ));
        assert!(text.contains(
            "http_requests_total{method=\"GET\",route=\"/orders/{id}\",status=\"404\"} 1\n"
        ));
        assert!(text.contains("# TYPE http_request_duration_seconds histogram\n"));
        assert!(text.contains(
            "http_request_duration_seconds_bucket{method=\"GET\",route=\"/orders/{id}\",status=\"200\",le=\"0.0005\"} 0\n"
        ));
        assert!(text.contains(
            "http_request_duration_seconds_bucket{method=\"GET\",route=\"/orders/{id}\",status=\"200\",le=\"0.001\"} 1\n"
        ));
        assert!(text.contains(
            "http_request_duration_seconds_bucket{method=\"GET\",route=\"/orders/{id}\",status=\"200\",le=\"0.05\"} 2\n"
        ));
        assert!(text.contains(
            "http_request_duration_seconds_bucket{method=\"GET\",route=\"/orders/{id}\",status=\"200\",le=\"+Inf\"} 2\n"
        ));
        assert!(text.contains(
            "http_request_duration_seconds_count{method=\"GET\",route=\"/orders/{id}\",status=\"200\"} 2\n"
        ));
        let sum = sample(
            &text,
            "http_request_duration_seconds_sum{method=\"GET\",route=\"/orders/{id}\",status=\"200\"}",
        );
        assert!((sum - 0.0307).abs() < 1e-9, "{sum}");
        assert!(text.contains("crm_outbox_depth 3\n"));
        assert!(text.contains("crm_inbox_depth 0\n"));
        assert!(text.contains("crm_sse_connections 0\n"));
    }

    #[test]
    fn unknown_queue_depths_are_left_out_rather_than_guessed() {
        let text = Metrics::default().render(None, Some(4));
        assert!(!text.contains("crm_outbox_depth"), "{text}");
        assert!(text.contains("crm_inbox_depth 4\n"), "{text}");
    }

    #[test]
    fn bot_updates_land_in_millisecond_buckets() {
        let metrics = Metrics::default();
        metrics.record_bot_update("main", 3);
        metrics.record_bot_update("main", 42);
        metrics.record_bot_update("beta", -5);
        let text = metrics.render(None, None);
        assert!(
            text.contains("crm_bot_updates_by_org_total{org=\"main\"} 2\n"),
            "{text}"
        );
        assert!(text.contains("crm_bot_updates_by_org_total{org=\"beta\"} 1\n"));
        assert!(
            text.contains("# TYPE crm_bot_updates_total counter\n"),
            "{text}"
        );
        assert!(text.contains("crm_bot_updates_total 3\n"), "{text}");
        assert!(text.contains("crm_bot_update_duration_seconds_bucket{le=\"0.001\"} 1\n"));
        assert!(text.contains("crm_bot_update_duration_seconds_bucket{le=\"0.003\"} 2\n"));
        assert!(text.contains("crm_bot_update_duration_seconds_bucket{le=\"0.04\"} 2\n"));
        assert!(text.contains("crm_bot_update_duration_seconds_bucket{le=\"0.045\"} 3\n"));
        assert!(text.contains("crm_bot_update_duration_seconds_bucket{le=\"5\"} 3\n"));
        assert!(text.contains("crm_bot_update_duration_seconds_count 3\n"));
        let sum = sample(&text, "crm_bot_update_duration_seconds_sum");
        assert!((sum - 0.045).abs() < 1e-9, "{sum}");
    }

    #[test]
    fn label_values_are_escaped() {
        let metrics = Metrics::default();
        metrics.record(
            &Method::GET,
            Route::Fixed("a\"b\\c\nd"),
            StatusCode::OK,
            0.001,
        );
        let text = metrics.render(None, None);
        assert!(text.contains("route=\"a\\\"b\\\\c\\nd\""), "{text}");
    }

    #[test]
    fn open_live_streams_are_counted_until_they_close() {
        let metrics = Metrics::default();
        let first = metrics.sse_opened();
        let second = metrics.sse_opened();
        assert!(
            metrics
                .render(None, None)
                .contains("crm_sse_connections 2\n")
        );
        drop(first);
        assert!(
            metrics
                .render(None, None)
                .contains("crm_sse_connections 1\n")
        );
        drop(second);
        assert!(
            metrics
                .render(None, None)
                .contains("crm_sse_connections 0\n")
        );
    }

    #[test]
    fn only_loopback_peers_that_no_proxy_forwarded_may_scrape_unless_public() {
        let none = HeaderMap::new();
        let loopback = [
            IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2)),
            IpAddr::V6(Ipv6Addr::LOCALHOST),
            IpAddr::V6(Ipv4Addr::LOCALHOST.to_ipv6_mapped()),
        ];
        for peer in loopback {
            assert!(may_scrape(false, Some(peer), &none), "{peer}");
        }
        let others = [
            IpAddr::V4(Ipv4Addr::new(192, 0, 2, 7)),
            IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            IpAddr::V6("2001:db8::1".parse().unwrap()),
            IpAddr::V6(Ipv4Addr::new(192, 0, 2, 7).to_ipv6_mapped()),
        ];
        for peer in others {
            assert!(!may_scrape(false, Some(peer), &none), "{peer}");
            assert!(may_scrape(true, Some(peer), &none), "{peer}");
        }
        assert!(!may_scrape(false, None, &none), "no peer known");
        for name in FORWARDED_HEADERS {
            let mut forwarded = HeaderMap::new();
            forwarded.insert(name, HeaderValue::from_static("192.0.2.7"));
            assert!(
                !may_scrape(false, Some(IpAddr::V4(Ipv4Addr::LOCALHOST)), &forwarded),
                "{name}"
            );
        }
    }

    /// The whole app on a fresh store, with `args` on its command line.
    fn app_with(args: &[&str]) -> (axum::Router, tempfile::TempDir) {
        use clap::Parser;
        let dir = tempfile::tempdir().unwrap();
        let crm = crm_lib::Crm::open(dir.path().join("crm.redb")).unwrap();
        crm.system()
            .create_organization("studio", "Test", "test")
            .unwrap();
        let cli = crate::config::Cli::parse_from(
            std::iter::once("crm-appliance").chain(args.iter().copied()),
        );
        let config = crate::config::Config::from_cli(&cli).unwrap();
        (crate::web::app(AppState::new(crm, config)), dir)
    }

    /// The status of `GET /metrics` from `peer`, as the server sees it (connect info).
    async fn scrape_status(app: &axum::Router, peer: &str) -> StatusCode {
        use tower::ServiceExt;
        let mut request = Request::get("/metrics")
            .body(axum::body::Body::empty())
            .unwrap();
        let peer: std::net::SocketAddr = peer.parse().unwrap();
        request
            .extensions_mut()
            .insert(axum::extract::ConnectInfo(peer));
        app.clone().oneshot(request).await.unwrap().status()
    }

    #[tokio::test]
    async fn a_non_loopback_peer_is_refused_the_metrics_unless_they_are_public() {
        let (app, _dir) = app_with(&[]);
        assert_eq!(scrape_status(&app, "127.0.0.1:50000").await, StatusCode::OK);
        assert_eq!(scrape_status(&app, "[::1]:50000").await, StatusCode::OK);
        assert_eq!(
            scrape_status(&app, "192.0.2.7:50000").await,
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            scrape_status(&app, "[2001:db8::7]:50000").await,
            StatusCode::FORBIDDEN
        );
        let (public, _dir) = app_with(&["--metrics-public"]);
        assert_eq!(
            scrape_status(&public, "192.0.2.7:50000").await,
            StatusCode::OK
        );
    }
}
