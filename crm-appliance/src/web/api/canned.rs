//! `/api/v1/canned` (canned responses: list, create, update, delete) and `/api/v1/hours`
//! (business hours: get, put), issue 12. crm-lib checks everything
//! ([`crm_lib::canned`], [`crm_lib::hours`]).

use std::collections::BTreeMap;

use axum::extract::State;
use axum::http::StatusCode;
use crm_lib::canned::CannedInput;
use crm_lib::hours::{HoursInput, HoursView, WEEKDAYS};
use crm_lib::model::{
    Attachment, CannedId, CannedResponse, Language, Localized, MediaHash, MediaKind,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::ApiUser;
use super::customers::{AttachmentInput, kind_of};
use super::error::{ApiError, ApiJson, ApiPath, ErrorResponse};
use super::views::AttachmentView;
use crate::AppState;

/// Texts per language as a JSON object: language code -> text.
fn localized_map(texts: &Localized) -> BTreeMap<String, String> {
    texts
        .iter()
        .map(|(language, text)| (language.code().to_string(), text.to_string()))
        .collect()
}

/// A JSON object of language code -> text as texts per language.
///
/// # Errors
/// Invalid input on `field` for an unknown language code.
fn localized_of(field: &'static str, map: &BTreeMap<String, String>) -> crm_lib::Result<Localized> {
    let mut texts = Localized::default();
    for (code, text) in map {
        texts.set(Language::parse(field, code)?, text.as_str());
    }
    Ok(texts)
}

/// A canned response.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CannedView {
    /// Id.
    pub id: u64,
    /// What staff type after `/`.
    pub code: String,
    /// Title.
    pub title: String,
    /// Text per language code (`{"en": "Hello {customer.first_name}"}`), with variables.
    pub texts: BTreeMap<String, String>,
    /// Files sent with it.
    pub attachments: Vec<AttachmentView>,
    /// Created, RFC 3339.
    pub created_at: String,
    /// Last changed, RFC 3339.
    pub updated_at: String,
}

impl From<&CannedResponse> for CannedView {
    fn from(canned: &CannedResponse) -> Self {
        CannedView {
            id: canned.id.get(),
            code: canned.code.clone(),
            title: canned.title.clone(),
            texts: localized_map(&canned.texts),
            attachments: canned
                .attachments
                .iter()
                .map(AttachmentView::from)
                .collect(),
            created_at: canned.created_at.to_rfc3339(),
            updated_at: canned.updated_at.to_rfc3339(),
        }
    }
}

/// A canned response to create, or what it becomes.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct CannedBody {
    /// 1-32 of `a-z`, `0-9`, `_`, `-`; unique.
    pub code: String,
    /// 1-100 characters.
    pub title: String,
    /// Text per language code; at least one. Variables: `{customer.first_name}`,
    /// `{customer.last_name}`, `{customer.name}`, `{customer.username}`, `{order.number}`,
    /// `{order.title}`, `{order.stage}`, `{operator.name}`, `{org.name}`; any other is refused.
    pub texts: BTreeMap<String, String>,
    /// Files uploaded with `POST /api/v1/media`, at most 10.
    #[serde(default)]
    pub attachments: Vec<AttachmentInput>,
}

impl CannedBody {
    /// crm-lib's input, the files' kinds following their stored types.
    fn input(self, crm: &crm_lib::Crm, org: crm_lib::model::OrgId) -> crm_lib::Result<CannedInput> {
        let mut attachments = Vec::with_capacity(self.attachments.len());
        for input in self.attachments {
            let media = MediaHash::parse_hex(&input.media)?;
            let kind = crm
                .system()
                .media(org, media)
                .map_or(MediaKind::Document, |stored| kind_of(&stored.mime));
            attachments.push(Attachment {
                media,
                kind,
                file_name: input.file_name,
                mime: String::new(),
                size: 0,
            });
        }
        Ok(CannedInput {
            code: self.code,
            title: self.title,
            texts: localized_of("texts", &self.texts)?,
            attachments,
        })
    }
}

/// Every canned response, by code (needs `chat_customers` or `manage_settings`).
#[utoipa::path(
    get, operation_id = "listCanned", path = "/api/v1/canned", tag = "canned",
    responses(
        (status = 200, description = "The canned responses", body = Vec<CannedView>),
        (status = 403, description = "Missing chat_customers", body = ErrorResponse),
    )
)]
pub async fn list(
    State(state): State<AppState>,
    user: ApiUser,
) -> Result<ApiJson<Vec<CannedView>>, ApiError> {
    let list = state
        .blocking(move |crm| crm.canned_list(&user.actor))
        .await?;
    Ok(ApiJson(list.iter().map(CannedView::from).collect()))
}

/// Create a canned response (needs `manage_settings`).
#[utoipa::path(
    post, operation_id = "createCanned", path = "/api/v1/canned", tag = "canned", request_body = CannedBody,
    responses(
        (status = 201, description = "Created", body = CannedView),
        (status = 403, description = "Missing manage_settings", body = ErrorResponse),
        (status = 404, description = "A file not uploaded", body = ErrorResponse),
        (status = 409, description = "The code is taken", body = ErrorResponse),
        (status = 422, description = "A bad code, title or text (an unknown variable)", body = ErrorResponse),
    )
)]
pub async fn create(
    State(state): State<AppState>,
    user: ApiUser,
    ApiJson(body): ApiJson<CannedBody>,
) -> Result<(StatusCode, ApiJson<CannedView>), ApiError> {
    let org = user.actor.org;
    let canned = state
        .blocking(move |crm| crm.create_canned(&user.actor, body.input(crm, org)?, Vec::new()))
        .await?;
    Ok((StatusCode::CREATED, ApiJson(CannedView::from(&canned))))
}

/// Replace a canned response's code, title, texts and files (needs `manage_settings`).
#[utoipa::path(
    put, operation_id = "updateCanned", path = "/api/v1/canned/{id}", tag = "canned", request_body = CannedBody,
    params(("id" = u64, Path, description = "Canned response id")),
    responses(
        (status = 200, description = "The response now", body = CannedView),
        (status = 403, description = "Missing manage_settings", body = ErrorResponse),
        (status = 404, description = "No such response or file", body = ErrorResponse),
        (status = 409, description = "The code is taken", body = ErrorResponse),
        (status = 422, description = "A bad code, title or text (an unknown variable)", body = ErrorResponse),
    )
)]
pub async fn update(
    State(state): State<AppState>,
    user: ApiUser,
    ApiPath(id): ApiPath<u64>,
    ApiJson(body): ApiJson<CannedBody>,
) -> Result<ApiJson<CannedView>, ApiError> {
    let org = user.actor.org;
    let canned = state
        .blocking(move |crm| {
            crm.update_canned(
                &user.actor,
                CannedId::new(id),
                body.input(crm, org)?,
                Vec::new(),
            )
        })
        .await?;
    Ok(ApiJson(CannedView::from(&canned)))
}

/// Delete a canned response (needs `manage_settings`).
#[utoipa::path(
    delete, operation_id = "deleteCanned", path = "/api/v1/canned/{id}", tag = "canned",
    params(("id" = u64, Path, description = "Canned response id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 403, description = "Missing manage_settings", body = ErrorResponse),
        (status = 404, description = "No such response", body = ErrorResponse),
    )
)]
pub async fn delete(
    State(state): State<AppState>,
    user: ApiUser,
    ApiPath(id): ApiPath<u64>,
) -> Result<StatusCode, ApiError> {
    state
        .blocking(move |crm| crm.delete_canned(&user.actor, CannedId::new(id)))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The business hours.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct HoursBody {
    /// Whether they apply (off: always open, no auto-reply).
    pub enabled: bool,
    /// An IANA time zone; `null` or empty follows the organization's.
    #[serde(default)]
    pub time_zone: Option<String>,
    /// Each weekday's open intervals on the local clock, keyed `monday`..`sunday`
    /// (`["09:00-13:00", "14:00-18:00"]`; `24:00` is midnight); a missing day is closed.
    #[serde(default)]
    pub week: BTreeMap<String, Vec<String>>,
    /// Local dates closed all day, `YYYY-MM-DD`.
    #[serde(default)]
    pub holidays: Vec<String>,
    /// The out-of-hours auto-reply per language code; empty sends none.
    #[serde(default)]
    pub auto_reply: BTreeMap<String, String>,
}

/// The business hours with what they mean now.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct HoursStateView {
    /// The hours.
    #[serde(flatten)]
    pub hours: HoursBody,
    /// The zone they are read in.
    pub zone: String,
    /// Whether open now.
    pub open_now: bool,
    /// When the current closed period ends (RFC 3339), when closed and known.
    pub opens_at: Option<String>,
}

impl From<&HoursView> for HoursStateView {
    fn from(view: &HoursView) -> Self {
        let hours = &view.hours;
        HoursStateView {
            hours: HoursBody {
                enabled: hours.enabled,
                time_zone: hours.time_zone.clone(),
                week: WEEKDAYS
                    .iter()
                    .zip(&hours.week)
                    .map(|(day, intervals)| {
                        (
                            day.to_string(),
                            intervals.iter().map(ToString::to_string).collect(),
                        )
                    })
                    .collect(),
                holidays: hours.holidays.iter().map(ToString::to_string).collect(),
                auto_reply: localized_map(&hours.auto_reply),
            },
            zone: view.zone.name().to_string(),
            open_now: view.open_now,
            opens_at: view
                .closed
                .and_then(|closed| closed.end)
                .map(|end| end.to_rfc3339()),
        }
    }
}

/// The business hours and whether open now (any staff user).
#[utoipa::path(
    get, operation_id = "getHours", path = "/api/v1/hours", tag = "canned",
    responses(
        (status = 200, description = "The business hours", body = HoursStateView),
    )
)]
pub async fn get_hours(
    State(state): State<AppState>,
    user: ApiUser,
) -> Result<ApiJson<HoursStateView>, ApiError> {
    let view = state
        .blocking(move |crm| crm.business_hours(&user.actor))
        .await?;
    Ok(ApiJson(HoursStateView::from(&view)))
}

/// Set the business hours (needs `manage_settings`).
#[utoipa::path(
    put, operation_id = "putHours", path = "/api/v1/hours", tag = "canned", request_body = HoursBody,
    responses(
        (status = 200, description = "The business hours now", body = HoursStateView),
        (status = 403, description = "Missing manage_settings", body = ErrorResponse),
        (status = 422, description = "A bad interval, date, time zone or text (the field names the day)", body = ErrorResponse),
    )
)]
pub async fn put_hours(
    State(state): State<AppState>,
    user: ApiUser,
    ApiJson(body): ApiJson<HoursBody>,
) -> Result<ApiJson<HoursStateView>, ApiError> {
    let view = state
        .blocking(move |crm| {
            if let Some(day) = body
                .week
                .keys()
                .find(|day| !WEEKDAYS.contains(&day.as_str()))
            {
                return Err(crm_lib::Error::invalid(
                    "week",
                    format!("{day:?} is not a weekday (monday..sunday)"),
                ));
            }
            let input = HoursInput {
                enabled: body.enabled,
                time_zone: body.time_zone,
                week: WEEKDAYS
                    .iter()
                    .map(|day| {
                        body.week
                            .get(*day)
                            .map(|list| list.join(", "))
                            .unwrap_or_default()
                    })
                    .collect(),
                holidays: body.holidays.join("\n"),
                auto_reply: localized_of("auto_reply", &body.auto_reply)?,
            };
            crm.set_business_hours(&user.actor, input)?;
            crm.business_hours(&user.actor)
        })
        .await?;
    Ok(ApiJson(HoursStateView::from(&view)))
}
