//! Live updates: `GET /events`, one server-sent event stream per browser session, carrying
//! the order, chat, call and broadcast changes its user may see.
//!
//! How it works, and why:
//! - crm-lib calls a hook after every durable commit ([`crm_lib::Crm::on_commit`]); the hook
//!   bumps a counter in a `tokio::sync::watch` channel ([`LiveHub`]). A watch channel keeps
//!   only the latest value, so a burst of commits wakes each stream once, and nothing polls
//!   the store on a timer: a stream reads only after something was committed.
//! - Each stream keeps a cursor: the id of the last change of the organization's change feed
//!   it examined (crm-lib's typed `Change` records, written beside each audit entry and by
//!   delivery bookkeeping). Change ids grow within the organization and survive restarts, so
//!   the stream uses them as SSE event ids.
//!   On wake-up it asks crm-lib for the live events after its cursor
//!   ([`crm_lib::live::live_events_in`]), which decides what this user may see with the same rules
//!   as the pages (the order must be visible; a message needs the conversation).
//! - A browser that reconnects sends `Last-Event-ID`; the stream resumes right after it, so
//!   nothing committed in between is lost, across appliance restarts too. A page that closed
//!   its stream itself (`live.js` does when the page goes into the back/forward cache) opens
//!   a new one with `?after=ID`, which resumes the same way. A new stream starts
//!   at the newest entry and says so with a `ready` event carrying that id, so that even a
//!   stream that saw no event resumes exactly.
//! - The stream ends when the session ends or its user is disabled (checked on every wake-up),
//!   and at shutdown ([`LiveHub::close`]), so a graceful shutdown never waits on it.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use crm_lib::{
    Crm,
    live::{LiveBatch, LiveEvent},
    model::DeliveryState,
    model::{Actor, ChangeId},
};
use futures_util::Stream;
use serde::Serialize;
use tokio::sync::watch;

use crate::AppState;
use crate::web::metrics::SseGuard;

/// The most changes one wake-up examines before sending what it found.
const BATCH: usize = 500;

/// Wakes live streams after commits and ends them at shutdown. Cheap to share.
#[derive(Debug, Clone)]
pub struct LiveHub {
    commits: watch::Sender<u64>,
    closing: watch::Sender<bool>,
}

impl Default for LiveHub {
    fn default() -> Self {
        LiveHub {
            commits: watch::Sender::new(0),
            closing: watch::Sender::new(false),
        }
    }
}

impl LiveHub {
    /// Registers the commit hook on `crm`: every durable commit wakes every live stream. The
    /// hook runs on crm-lib's writer thread and only bumps a counter.
    pub fn attach(&self, crm: &Crm) {
        let commits = self.commits.clone();
        crm.on_commit(move || commits.send_modify(|count| *count = count.wrapping_add(1)));
    }

    /// Ends every live stream (at shutdown) and refuses new ones.
    pub fn close(&self) {
        self.closing.send_replace(true);
    }

    /// Whether [`LiveHub::close`] was called.
    pub fn is_closed(&self) -> bool {
        *self.closing.borrow()
    }
}

/// A check run on every wake-up before reading: `Err` ends the stream (the session ended,
/// the user was disabled).
pub type StillValid = Arc<dyn Fn(&Crm) -> crm_lib::Result<()> + Send + Sync>;

/// The `Last-Event-ID` header as a change id; anything else is ignored (a fresh start).
pub fn last_event_id(headers: &HeaderMap) -> Option<ChangeId> {
    headers
        .get("last-event-id")
        .and_then(|value| value.to_str().ok())
        .and_then(|text| text.trim().parse::<u64>().ok())
        .map(ChangeId::new)
}

/// The JSON `data` of an event.
#[derive(Debug, Serialize)]
struct EventData<'a> {
    id: u64,
    action: String,
    at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    order: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    customer: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    broadcast: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    project: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    stage: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    delivery: Option<&'static str>,
    summary: &'a str,
}

/// A delivery state as the browser's scripts name it.
fn delivery_name(state: DeliveryState) -> &'static str {
    match state {
        DeliveryState::Received => "received",
        DeliveryState::Pending => "pending",
        DeliveryState::Sent => "sent",
        DeliveryState::Failed => "failed",
    }
}

fn to_event(event: &LiveEvent) -> Event {
    let data = EventData {
        id: event.id.get(),
        action: format!("{}.{}", event.kind.as_str(), event.change.as_str()),
        at: event.at.to_rfc3339(),
        order: event.order.map(|order| order.get()),
        customer: event.customer.map(|customer| customer.get()),
        message: event.message.map(|message| message.get()),
        broadcast: event.broadcast.map(|broadcast| broadcast.get()),
        project: event.project.map(|project| project.get()),
        stage: event.stage.map(|stage| stage.get()),
        delivery: event.delivery.map(delivery_name),
        summary: &event.summary,
    };
    let json = serde_json::to_string(&data).unwrap_or_else(|_| "{}".to_string());
    Event::default()
        .id(event.id.get().to_string())
        .event(event.kind.as_str())
        .data(json)
}

fn ready_event(cursor: ChangeId) -> Event {
    Event::default()
        .id(cursor.get().to_string())
        .event("ready")
        .data(format!("{{\"cursor\":{}}}", cursor.get()))
}

struct Live {
    state: AppState,
    actor: Actor,
    still_valid: StillValid,
    cursor: ChangeId,
    commits: watch::Receiver<u64>,
    closing: watch::Receiver<bool>,
    pending: VecDeque<Event>,
    read_now: bool,
    _guard: SseGuard,
}

impl Live {
    /// The next event: a pending one, or the events of the next commit(s). `None` ends the
    /// stream.
    async fn next(mut self) -> Option<(Result<Event, Infallible>, Live)> {
        loop {
            if let Some(event) = self.pending.pop_front() {
                return Some((Ok(event), self));
            }
            if *self.closing.borrow() {
                return None;
            }
            if !self.read_now {
                tokio::select! {
                    changed = self.commits.changed() => changed.ok()?,
                    _ = self.closing.changed() => return None,
                }
            }
            // Mark the current commit seen before reading, so a commit during the read wakes
            // the stream again.
            self.commits.borrow_and_update();
            let (actor, cursor, check) =
                (self.actor.clone(), self.cursor, self.still_valid.clone());
            let batch: LiveBatch = self
                .state
                .blocking(move |crm| {
                    check(crm)?;
                    crm.live_events(&actor, cursor, BATCH)
                })
                .await
                .ok()?;
            if let Some(cursor) = batch.cursor {
                self.cursor = cursor;
            }
            self.read_now = batch.more;
            self.pending.extend(batch.events.iter().map(to_event));
        }
    }
}

/// The live stream of `actor`: resumes after `resume` when given, else starts at the newest
/// audit entry. `still_valid` runs on every wake-up.
///
/// # Errors
/// A store error while finding where to start (the caller answers 5xx).
pub async fn live_stream(
    state: AppState,
    actor: Actor,
    resume: Option<ChangeId>,
    still_valid: StillValid,
) -> crm_lib::Result<Sse<impl Stream<Item = Result<Event, Infallible>>>> {
    let hub = state.live().clone();
    let mut commits = hub.commits.subscribe();
    commits.borrow_and_update();
    let closing = hub.closing.subscribe();
    // A resume point past the newest change (the feed was pruned or the store restored)
    // starts at the newest change instead of waiting for the ids to catch up.
    let latest = {
        let actor = actor.clone();
        state.blocking(move |crm| crm.latest_change(&actor)).await?
    };
    let (cursor, read_now) = match resume {
        Some(after) if after <= latest => (after, true),
        _ => (latest, false),
    };
    let guard = state.metrics().sse_opened();
    let live = Live {
        state,
        actor,
        still_valid,
        cursor,
        commits,
        closing,
        pending: VecDeque::from([ready_event(cursor)]),
        read_now,
        _guard: guard,
    };
    let stream = futures_util::stream::unfold(live, Live::next);
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}

/// The query of `/events`: `after`, the id of the last event a page saw before it closed its
/// stream (anything but a number is ignored).
#[derive(Debug, Default, serde::Deserialize)]
pub struct ResumeQuery {
    #[serde(default)]
    after: Option<String>,
}

impl ResumeQuery {
    /// `after` as an audit id.
    pub fn after(&self) -> Option<ChangeId> {
        self.after
            .as_deref()
            .and_then(|text| text.trim().parse::<u64>().ok())
            .map(ChangeId::new)
    }
}

/// `GET /events`: the live stream of the logged-in user's session. Resumes after
/// `Last-Event-ID` when the browser sends one (its own reconnection), else after `?after=`
/// (a page shown again from the back/forward cache); ends when the session ends.
///
/// # Errors
/// A store error while starting (5xx page).
pub async fn events(
    axum::extract::State(state): axum::extract::State<AppState>,
    staff: crate::web::auth::Staff,
    headers: HeaderMap,
    axum::extract::Query(query): axum::extract::Query<ResumeQuery>,
) -> Result<axum::response::Response, crate::web::error::AppError> {
    use axum::response::IntoResponse;
    let (session, idle_ms) = (staff.session, state.web().idle_ms);
    let still_valid: StillValid =
        Arc::new(move |crm: &Crm| crm.session(session, idle_ms, None).map(|_| ()));
    let resume = last_event_id(&headers).or_else(|| query.after());
    let sse = live_stream(state, staff.actor, resume, still_valid).await?;
    let mut response = sse.into_response();
    // Proxies must not buffer the stream.
    response.headers_mut().insert(
        "x-accel-buffering",
        axum::http::HeaderValue::from_static("no"),
    );
    Ok(response)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use axum::response::IntoResponse;
    use clap::Parser;
    use crm_lib::customers::TelegramProfile;
    use crm_lib::model::TelegramUserId;
    use crm_lib::orders::NewOrder;
    use futures_util::StreamExt;

    use super::*;
    use crate::config::{Cli, Config};

    /// "Live updates never poll the store on a timer". Checked by waking the stream every
    /// 500 ms instead of on a commit: the count of reads in the quiet two seconds was 3.
    #[tokio::test]
    async fn a_live_stream_reads_the_store_only_after_a_commit_woke_it() {
        let dir = tempfile::tempdir().unwrap();
        let crm = Crm::open(dir.path().join("crm.redb")).unwrap();
        let org = crm
            .system()
            .create_organization("studio", "Test", "test")
            .unwrap()
            .id;
        let customer = crm
            .system()
            .upsert_telegram_customer(
                org,
                TelegramProfile {
                    telegram_id: TelegramUserId::new(42),
                    username: None,
                    first_name: "Ann".into(),
                    last_name: None,
                    language_code: None,
                },
            )
            .unwrap();
        let config = Config::from_cli(&Cli::parse_from(["crm-appliance"])).unwrap();
        let state = AppState::new(crm.clone(), config);
        // Every wake-up runs the validity check before it reads: it counts the reads.
        let reads = Arc::new(AtomicUsize::new(0));
        let counted = reads.clone();
        let still_valid: StillValid = Arc::new(move |_: &Crm| {
            counted.fetch_add(1, Ordering::SeqCst);
            Ok(())
        });
        let sse = live_stream(state, Actor::system(org), None, still_valid)
            .await
            .unwrap();
        let mut body = sse.into_response().into_body().into_data_stream();
        let ready = body.next().await.unwrap().unwrap();
        assert!(String::from_utf8_lossy(&ready).contains("event: ready"));

        // The commit hook runs on the writer thread after the write's caller was answered, so
        // the set-up's last commit may still wake the stream once (a read that finds nothing
        // past the stream's start); poll it through that.
        let settle = tokio::time::timeout(Duration::from_millis(300), body.next()).await;
        assert!(
            settle.is_err(),
            "the stream sent {settle:?} before any commit"
        );
        let settled = reads.load(Ordering::SeqCst);
        assert!(
            settled <= 1,
            "{settled} reads before any commit of the test"
        );

        // Nothing is committed: the stream waits without reading.
        let quiet = tokio::time::timeout(Duration::from_secs(2), body.next()).await;
        assert!(quiet.is_err(), "the stream sent {quiet:?} without a commit");
        assert_eq!(
            reads.load(Ordering::SeqCst),
            settled,
            "it read without a commit"
        );

        // A commit wakes it: one read, which finds the new order.
        crm.create_order(
            &Actor::system(org),
            NewOrder {
                customer: Some(customer.id),
                title: "Woken".into(),
                description: "by its commit".into(),
                ..NewOrder::default()
            },
        )
        .unwrap();
        let event = tokio::time::timeout(Duration::from_secs(10), body.next())
            .await
            .expect("the commit wakes the stream")
            .unwrap()
            .unwrap();
        let event = String::from_utf8_lossy(&event);
        assert!(event.contains("event: order"), "{event}");
        assert_eq!(reads.load(Ordering::SeqCst), settled + 1);
    }
}
