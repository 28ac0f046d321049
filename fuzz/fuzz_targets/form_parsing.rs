//! Arbitrary urlencoded bodies posted to the staff web's form routes, through the real router
//! (`crm_appliance::app`, in process with `oneshot`): axum's `Form` extractor (serde_urlencoded)
//! into each handler's form struct, the handler's own parsing of ids, amounts, dates and
//! checkbox lists, and the crm-lib use case that validates and writes, against a copy of a
//! store holding the demo data (`fixtures/demo/demo.json`) and logged in as its administrator.
//!
//! Input: the first byte picks a route of [`ROUTES`]; if the rest holds a line break, the bytes
//! before it replace the route's id in the path (percent-encoded) and the bytes after it are
//! the body, otherwise the rest is the body and the route's usual id is used. The session's
//! CSRF token is put in front of the body (`csrf=...&`), so inputs get past the CSRF check.
//!
//! Not covered here: `/login` and `/profile/password` (each attempt hashes a password with
//! argon2, which would take the fuzzer's whole time), `/logout` and session revocation (they
//! end the session the other inputs need), the multipart chat form and the JSON API.
//!
//! Checked: no panic; no 5xx answer; an answer in 4xx (a refused form) leaves the store as it
//! was (if anything was committed at all: the same table sizes, customers, orders and audit
//! log). A copy of the template serves inputs until one commits a write.

#![no_main]

use std::sync::{LazyLock, Mutex};

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use clap::Parser;
use crm_appliance::AppState;
use crm_appliance::config::{Cli, Config};
use crm_fuzz::{Reusable, Scratch, fingerprint};
use crm_lib::{model::{Actor, OrderId, OrgId, StageKind}};
use libfuzzer_sys::fuzz_target;
use tower::ServiceExt;

/// The form routes; `{id}` is replaced by the id of the same index in the state's `ids`.
const ROUTES: &[&str] = &[
    "/orders",
    "/customers/new",
    "/orders/{id}/approve",
    "/orders/{id}/reject",
    "/orders/{id}/bids",
    "/orders/{id}/assign",
    "/orders/{id}/move",
    "/orders/{id}/payment",
    "/orders/{id}/markers",
    "/users",
    "/users/{id}/disable",
    "/users/{id}/enable",
    "/users/{id}/roles",
    "/roles",
    "/roles/{id}/permissions",
    "/markers",
    "/payment-methods",
    "/payment-methods/{id}/active",
    "/settings",
    "/settings/stages/{id}",
    "/profile",
    "/profile/link-code",
    "/profile/tokens",
    "/profile/tokens/{id}/revoke",
];

struct Live {
    router: Router,
    _state: AppState,
}

struct State {
    org: OrgId,
    runtime: tokio::runtime::Runtime,
    config_args: Vec<String>,
    cookie: String,
    csrf: String,
    /// The usual id of each route (empty for routes without one).
    ids: Vec<String>,
    print: String,
    copy: Reusable,
    live: Option<Live>,
    _scratch: Scratch,
}

static STATE: LazyLock<Mutex<State>> = LazyLock::new(|| {
    let scratch = Scratch::new("form_parsing");
    let template = scratch.path("template.redb");
    let (crm, org, admin) = crm_fuzz::studio(&template);
    crm.system().load_demo(org).expect("loading the demo data");
    let system = Actor::system(org);
    let admin_actor = Actor::staff(org, admin.id);
    let organization = crm.system().organization(org).expect("the organization");
    let kind_of = |id: u64| {
        let order = crm.order(&system, OrderId::new(id)).ok()?;
        let stage = organization.pipeline.stage(order.stage)?;
        Some((stage.kind, order.assignee.is_some()))
    };
    let pending = (1..=200)
        .find(|id| kind_of(*id).is_some_and(|(kind, _)| kind == StageKind::Moderation))
        .expect("a pending order");
    let open = (1..=200)
        .find(|id| kind_of(*id) == Some((StageKind::Open, false)))
        .expect("an open order without assignee");
    let user = crm
        .users(&system)
        .expect("users")
        .into_iter()
        .find(|user| user.id != admin.id)
        .expect("a demo user")
        .id;
    let role = crm
        .roles(&system)
        .expect("roles")
        .into_iter()
        .find(|role| role.name != "administrator")
        .expect("a role")
        .id;
    let method = crm
        .create_payment_method(&admin_actor, "Bank transfer", "IBAN DE00 0000 0000")
        .expect("a payment method")
        .id;
    let stage = organization.pipeline.stages[1].id;
    let token = crm
        .create_api_token(&admin_actor, admin.id, "fuzz")
        .expect("an API token")
        .token
        .id;
    let session = crm
        .login(
            org,
            "admin",
            crm_fuzz::ADMIN_PASSWORD,
            &crm_lib::model::Origin::default(),
        )
        .expect("logging in");
    let print = fingerprint(&crm, org);
    crm_fuzz::close(crm);

    let ids = ROUTES
        .iter()
        .map(|route| {
            let id = if route.starts_with("/orders/{id}/approve")
                || route.starts_with("/orders/{id}/reject")
            {
                pending.to_string()
            } else if route.starts_with("/orders/") {
                open.to_string()
            } else if route.starts_with("/users/") {
                user.to_string()
            } else if route.starts_with("/roles/") {
                role.to_string()
            } else if route.starts_with("/payment-methods/") {
                method.to_string()
            } else if route.starts_with("/settings/stages/") {
                stage.to_string()
            } else if route.starts_with("/profile/tokens/") {
                token.to_string()
            } else {
                String::new()
            };
            id.to_string()
        })
        .collect();
    let cookie = format!(
        "{}={}",
        crm_appliance::web::session::cookie_name(false),
        session.id
    );
    let config_args = vec![
        "crm-appliance".to_string(),
        "--data-dir".to_string(),
        scratch.path("data").display().to_string(),
        // The template's session must stay valid however long the fuzzer runs.
        "--session-idle-minutes".to_string(),
        "10000000".to_string(),
    ];
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    Mutex::new(State {
        org,
        runtime,
        config_args,
        cookie,
        csrf: session.session.csrf,
        ids,
        print,
        copy: Reusable::new(template, scratch.path("work.redb")),
        live: None,
        _scratch: scratch,
    })
});

/// Percent-encodes every byte but the unreserved characters of RFC 3986.
fn encode_segment(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 3);
    for byte in bytes {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(byte) {
            out.push(char::from(*byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

fuzz_target!(|bytes: &[u8]| {
    let Some((&selector, rest)) = bytes.split_first() else {
        return;
    };
    let mut guard = STATE
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let state = &mut *guard;
    let index = usize::from(selector) % ROUTES.len();
    let (id, body) = match rest.iter().position(|byte| *byte == b'\n') {
        Some(at) if at > 0 => (encode_segment(&rest[..at]), &rest[at + 1..]),
        Some(_) => (state.ids[index].clone(), &rest[1..]),
        None => (state.ids[index].clone(), rest),
    };
    let path = ROUTES[index].replace("{id}", &id);
    let mut form = format!("csrf={}&", state.csrf).into_bytes();
    form.extend_from_slice(body);

    if state.live.is_none() {
        let crm = state.copy.crm().clone();
        let cli = Cli::parse_from(&state.config_args);
        let config = Config::from_cli(&cli).expect("the configuration");
        let app_state = AppState::new(crm, config);
        let router = crm_appliance::app(app_state.clone());
        // The first request of a new process's session cache persists the session's
        // last-seen time (a write); make it now, so the input's own writes can be told.
        let (status, _) = send(&state.runtime, &router, get("/markers", &state.cookie));
        assert!(
            status.is_success(),
            "the administrator's session works: {status}"
        );
        state.copy.forget_commits();
        state.live = Some(Live {
            router,
            _state: app_state,
        });
    }
    let router = state.live.as_ref().expect("made above").router.clone();
    let request = Request::post(&path)
        .header(header::HOST, "localhost")
        .header(header::COOKIE, &state.cookie)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(form))
        .expect("a request");
    let (status, text) = send(&state.runtime, &router, request);
    assert!(
        !status.is_server_error(),
        "POST {path} answered {status}: {text}"
    );
    if state.copy.committed() {
        if status.is_client_error() {
            let crm = state.copy.crm();
            assert_eq!(
                fingerprint(crm, state.org),
                state.print,
                "POST {path} answered {status} but changed the store"
            );
        }
        state.live = None;
        state.copy.discard();
    }
});

fn get(path: &str, cookie: &str) -> Request<Body> {
    Request::get(path)
        .header(header::HOST, "localhost")
        .header(header::COOKIE, cookie)
        .body(Body::empty())
        .expect("a request")
}

/// Sends `request` through `router` and reads the whole answer.
fn send(
    runtime: &tokio::runtime::Runtime,
    router: &Router,
    request: Request<Body>,
) -> (StatusCode, String) {
    let router = router.clone();
    runtime.block_on(async move {
        let response = router.oneshot(request).await.expect("the router answers");
        let status = response.status();
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .expect("the body");
        // A request may leave a task behind (the session extractor persists the last-seen
        // time in a spawned task). It holds the store and may write, so it finishes before
        // the input is judged or the store is closed; a current-thread runtime runs it only
        // while something is blocked on.
        let handle = tokio::runtime::Handle::current();
        while handle.metrics().num_alive_tasks() > 0 {
            tokio::time::sleep(std::time::Duration::from_millis(1)).await;
        }
        (status, String::from_utf8_lossy(&body).into_owned())
    })
}
