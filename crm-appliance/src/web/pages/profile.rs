//! The profile: display name and language, the forced and voluntary password change, the
//! Telegram link code (as `/link CODE`, a `t.me` deep link and a QR code), the user's
//! sessions with revoke, and links to the API tokens (`/profile/tokens`, see
//! [`crate::web::tokens`]) and the saved payment details (`/profile/payment-details`, see
//! [`super::payment_details`]).

use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use crm_lib::{
    model::{Language, LinkCode, SessionHash},
    team::ProfileUpdate,
};
use maud::{Markup, PreEscaped, html};
use serde::Deserialize;

use crate::AppState;
use crate::web::auth::Staff;
use crate::web::csrf;
use crate::web::error::AppError;
use crate::web::i18n::when;
use crate::web::layout::{FormError, Nav, csrf_field, notice, page};
use crate::web::origin::ClientIp;

/// `/profile...`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/profile", get(show).post(update))
        .route(
            "/profile/password",
            get(password_form).post(change_password),
        )
        .route("/profile/link-code", post(link_code))
        .route("/profile/sessions/{hash}/revoke", post(revoke))
}

/// `?done=` notices after a redirect.
#[derive(Debug, Default, Deserialize)]
pub struct Done {
    /// What was done.
    #[serde(default)]
    pub done: Option<String>,
}

async fn show(
    State(state): State<AppState>,
    staff: Staff,
    axum::extract::Query(done): axum::extract::Query<Done>,
) -> Result<Markup, AppError> {
    let note = done
        .done
        .as_deref()
        .map(|key| staff.t(&format!("profile.done.{key}")));
    render(
        &state,
        &staff,
        None,
        FormError::none(),
        note.as_deref(),
        None,
    )
    .await
}

async fn render(
    state: &AppState,
    staff: &Staff,
    link: Option<LinkCode>,
    error: FormError,
    note: Option<&str>,
    typed: Option<&ProfileForm>,
) -> Result<Markup, AppError> {
    let (actor, hash, idle_ms) = (staff.actor.clone(), staff.session, state.web().idle_ms);
    // The user as stored now, not as the session cache resolved it up to two seconds ago
    // (`session::CACHE_TTL_MS`): a Telegram account linked through the bot a moment ago shows
    // at once. One snapshot with the sessions; this request already proved the session alive.
    let (user, sessions) = state
        .blocking(move |crm| {
            crm.read(|view| {
                let now = Some(crm_lib::model::Timestamp::now());
                let user = crm_lib::sessions::session_in(view, hash, idle_ms, now)?.user;
                Ok((user, crm_lib::sessions::own_sessions_in(view, &actor)?))
            })
        })
        .await?;
    let bot = state.bots().username(staff.actor.org);
    let language = staff.language;
    let display_name = typed.map_or(user.display_name.as_str(), |form| {
        form.display_name.as_str()
    });
    Ok(page(
        staff,
        &staff.t("profile.title"),
        Nav::Profile,
        html! {
            (notice(note))
            section.card {
                h2 { (staff.t("profile.details")) }
                form.form method="post" action="/profile" {
                    (csrf_field(staff))
                    (error.general(&["display_name", "language"]))
                    p.muted { (staff.t("profile.username")) ": " strong { (user.username) } }
                    label { (staff.t("profile.display_name"))
                        input type="text" name="display_name" value=(display_name) required maxlength="100";
                        (error.at("display_name"))
                    }
                    label { (staff.t("profile.language"))
                        select name="language" {
                            @for option in Language::all() {
                                option value=(option.code()) selected[option == language] {
                                    (option.native_name())
                                }
                            }
                        }
                    }
                    button type="submit" { (staff.t("form.save")) }
                }
                p { a href="/profile/password" { (staff.t("profile.change_password")) } }
                p { a href="/profile/tokens" { (staff.t("profile.api_tokens")) } }
                p { a href="/profile/payment-details" { (staff.t("profile.payment_details")) } }
            }
            section.card #telegram {
                h2 { (staff.t("profile.telegram")) }
                @if let Some(telegram) = user.telegram_id {
                    p { (staff.t("profile.telegram_linked")) " (id " (telegram) ")" }
                }
                @if let Some(link) = &link {
                    p { (staff.t("profile.link_instructions")) }
                    p.link-code { code { "/link " (link.code) } }
                    @if let Some(bot) = &bot {
                        @let deep = format!("https://t.me/{bot}?start=link-{}", link.code);
                        p { a href=(deep) rel="noopener" { (deep) } }
                        div.qr { (PreEscaped(qr_svg(&deep))) }
                    }
                    p.muted { (staff.t("profile.link_expires")) " " (when(link.expires_at)) " UTC" }
                }
                form method="post" action="/profile/link-code" {
                    (csrf_field(staff))
                    button type="submit" { (staff.t("profile.new_link_code")) }
                }
            }
            section.card #sessions {
                h2 { (staff.t("profile.sessions")) }
                table {
                    thead { tr {
                        th { (staff.t("profile.session_started")) }
                        th { (staff.t("profile.session_seen")) }
                        th { "IP" }
                        th { (staff.t("profile.session_browser")) }
                        th { span.sr-only { (staff.t("table.actions")) } }
                    } }
                    tbody {
                        @for crm_lib::sessions::StoredSession { hash, session } in &sessions {
                            tr {
                                td { (when(session.created_at)) }
                                td { (when(session.last_seen_at)) }
                                td { (session.ip.as_deref().unwrap_or("")) }
                                td.ua { (session.user_agent.as_deref().unwrap_or("")) }
                                td {
                                    @if *hash == staff.session {
                                        em { (staff.t("profile.this_session")) }
                                    } @else {
                                        form method="post" action={ "/profile/sessions/" (hash.to_hex()) "/revoke" } {
                                            (csrf_field(staff))
                                            button.danger type="submit" { (staff.t("profile.revoke")) }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        },
    ))
}

/// An SVG QR code of `text` (our own deep link: no user input reaches the markup).
fn qr_svg(text: &str) -> String {
    match qrcode::QrCode::new(text.as_bytes()) {
        Ok(code) => code
            .render::<qrcode::render::svg::Color<'_>>()
            .min_dimensions(180, 180)
            .quiet_zone(true)
            .build(),
        Err(_) => String::new(),
    }
}

/// The profile form.
#[derive(Debug, Default, Deserialize)]
pub struct ProfileForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    language: String,
}

async fn update(
    State(state): State<AppState>,
    staff: Staff,
    headers: HeaderMap,
    Form(form): Form<ProfileForm>,
) -> Result<Response, AppError> {
    csrf::verify(&staff, &form.csrf, &headers)?;
    let language = match Language::parse("language", &form.language) {
        Ok(language) => language,
        Err(error) => return invalid(&state, &staff, &error, &form).await,
    };
    let actor = staff.actor.clone();
    let update = ProfileUpdate {
        display_name: form.display_name.clone(),
        language,
    };
    match state
        .blocking(move |crm| crm.update_own_profile(&actor, update))
        .await
    {
        Ok(_) => {
            state
                .web()
                .sessions
                .evict_user(staff.actor.org, staff.user.id);
            Ok(Redirect::to("/profile?done=saved").into_response())
        }
        Err(error) if error.kind() == crm_lib::ErrorKind::InvalidInput => {
            invalid(&state, &staff, &error, &form).await
        }
        Err(error) => Err(error.into()),
    }
}

async fn invalid(
    state: &AppState,
    staff: &Staff,
    error: &crm_lib::Error,
    form: &ProfileForm,
) -> Result<Response, AppError> {
    let markup = render(
        state,
        staff,
        None,
        FormError::from_error(error),
        None,
        Some(form),
    )
    .await?;
    Ok((StatusCode::UNPROCESSABLE_ENTITY, markup).into_response())
}

async fn link_code(
    State(state): State<AppState>,
    staff: Staff,
    headers: HeaderMap,
    Form(form): Form<crate::web::auth::CsrfForm>,
) -> Result<Markup, AppError> {
    csrf::verify(&staff, &form.csrf, &headers)?;
    let actor = staff.actor.clone();
    let link = state
        .blocking(move |crm| crm.create_link_code(&actor))
        .await?;
    render(&state, &staff, Some(link), FormError::none(), None, None).await
}

async fn revoke(
    State(state): State<AppState>,
    staff: Staff,
    Path(hash): Path<String>,
    headers: HeaderMap,
    Form(form): Form<crate::web::auth::CsrfForm>,
) -> Result<Response, AppError> {
    csrf::verify(&staff, &form.csrf, &headers)?;
    let hash = SessionHash::parse_hex(&hash)
        .map_err(|_| AppError::not_found("there is no such session"))?;
    let actor = staff.actor.clone();
    state
        .blocking(move |crm| crm.revoke_session(&actor, hash))
        .await?;
    state.web().sessions.evict(hash);
    Ok(Redirect::to("/profile?done=revoked").into_response())
}

/// The password form.
#[derive(Debug, Default, Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    current_password: String,
    #[serde(default)]
    new_password: String,
    #[serde(default)]
    confirm_password: String,
}

fn password_page(staff: &Staff, error: &FormError) -> Markup {
    let fields = ["current_password", "new_password", "confirm_password"];
    page(
        staff,
        &staff.t("password.title"),
        Nav::Profile,
        html! {
            @if staff.user.must_change_password {
                p.notice role="status" { (staff.t("password.forced")) }
            }
            form.form.card method="post" action="/profile/password" {
                (csrf_field(staff))
                (error.general(&fields))
                label { (staff.t("password.current"))
                    input type="password" name="current_password" autocomplete="current-password" required;
                    (error.at("current_password"))
                }
                label { (staff.t("password.new"))
                    input type="password" name="new_password" autocomplete="new-password" required minlength=(crm_lib::Password::MIN_CHARS) maxlength="128";
                    (error.at("new_password"))
                    (error.at("password"))
                }
                label { (staff.t("password.confirm"))
                    input type="password" name="confirm_password" autocomplete="new-password" required;
                    (error.at("confirm_password"))
                }
                button type="submit" { (staff.t("password.submit")) }
            }
        },
    )
}

async fn password_form(staff: Staff) -> Markup {
    password_page(&staff, &FormError::none())
}

/// `POST /profile/password`: the forced or voluntary change. The current-password check is
/// throttled like a login (the same counters, by username and address: see
/// [`crate::web::login::LoginThrottle`]), so a stolen session cannot guess the password at
/// hashing speed; a throttled attempt is answered 429 without checking anything. After the
/// change, the first start's password file goes when it held the password just replaced.
async fn change_password(
    State(state): State<AppState>,
    staff: Staff,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    Form(form): Form<PasswordForm>,
) -> Result<Response, AppError> {
    csrf::verify(&staff, &form.csrf, &headers)?;
    let refuse = |status: StatusCode, error: FormError| {
        (status, password_page(&staff, &error)).into_response()
    };
    let throttle = &state.web().throttle;
    // The login's account: a username within its organization.
    let username = crate::web::login::account(&staff.org_slug, &staff.user.username);
    if let Some(wait) = throttle.wait(&username, ip) {
        let seconds = wait.as_secs().max(1).to_string();
        let mut response = refuse(
            StatusCode::TOO_MANY_REQUESTS,
            FormError {
                field: None,
                message: Some(staff.t("login.throttled").replace("%{seconds}", &seconds)),
            },
        );
        if let Ok(value) = HeaderValue::from_str(&seconds) {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        return Ok(response);
    }
    if form.new_password != form.confirm_password {
        return Ok(refuse(
            StatusCode::UNPROCESSABLE_ENTITY,
            FormError {
                field: Some("confirm_password"),
                message: Some(staff.t("password.mismatch")),
            },
        ));
    }
    let new = match crm_lib::Password::parse(&form.new_password) {
        Ok(new) => new,
        Err(error) => {
            return Ok(refuse(
                StatusCode::UNPROCESSABLE_ENTITY,
                FormError {
                    field: Some("new_password"),
                    message: Some(error.message().to_string()),
                },
            ));
        }
    };
    let actor = staff.actor.clone();
    let session = staff.session;
    let current = form.current_password;
    let replaced = current.clone();
    match state
        .hashing(move |crm| crm.change_own_password(&actor, session, &current, &new))
        .await
    {
        Ok(_) => {
            throttle.succeeded(&username, ip);
            state
                .web()
                .sessions
                .evict_user(staff.actor.org, staff.user.id);
            crate::initial_password::forget_initial_password(&state.config().data_dir, &replaced)
                .await;
            Ok(Redirect::to("/profile?done=password").into_response())
        }
        Err(error) if error.kind() == crm_lib::ErrorKind::InvalidInput => {
            if error.field() == Some("current_password") {
                throttle.failed(&username, ip);
            }
            Ok(refuse(
                StatusCode::UNPROCESSABLE_ENTITY,
                FormError::from_error(&error),
            ))
        }
        Err(error) => Err(error.into()),
    }
}
