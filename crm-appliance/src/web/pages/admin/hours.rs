//! Business hours (`/settings/hours`, `manage_settings`): on or off, the time zone (empty:
//! the organization's), each weekday's open intervals (`09:00-13:00, 14:00-18:00`), holidays
//! (local dates, one a line) and the out-of-hours auto-reply per language. crm-lib parses and
//! checks them ([`crm_lib::Tx::set_business_hours`]) and decides open and closed
//! ([`crm_lib::hours::Schedule`]).

use crm_lib::hours::{HoursInput, HoursView, WEEKDAYS};
use crm_lib::model::{BusinessHours, Localized};

use super::*;
use crate::web::layout::form_value;

/// `GET /settings/hours`.
pub(super) async fn hours(
    State(state): State<AppState>,
    staff: Staff,
    Query(done): Query<Done>,
) -> Result<Markup, AppError> {
    let note = done_note(&staff, &done);
    let actor = staff.actor.clone();
    let view = state
        .blocking(move |crm| crm.business_hours(&actor))
        .await?;
    Ok(hours_page(
        &staff,
        &view,
        None,
        &FormError::none(),
        note.as_deref(),
    ))
}

/// The form as crm-lib's input.
fn input_of(pairs: &[(String, String)]) -> HoursInput {
    let mut auto_reply = Localized::default();
    for language in Language::all() {
        auto_reply.set(
            language,
            form_value(pairs, &format!("auto_reply_{}", language.code())).trim(),
        );
    }
    HoursInput {
        enabled: !form_value(pairs, "enabled").is_empty(),
        time_zone: Some(form_value(pairs, "time_zone").to_string()),
        week: WEEKDAYS
            .iter()
            .map(|day| form_value(pairs, day).to_string())
            .collect(),
        holidays: form_value(pairs, "holidays").to_string(),
        auto_reply,
    }
}

/// `POST /settings/hours`.
pub(super) async fn save_hours(
    State(state): State<AppState>,
    staff: Staff,
    headers: HeaderMap,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    csrf::verify(&staff, form_value(&pairs, "csrf"), &headers)?;
    let actor = staff.actor.clone();
    let input = input_of(&pairs);
    let result = state
        .blocking(move |crm| Ok(crm.set_business_hours(&actor, input)))
        .await?;
    match result {
        Ok(_) => Ok(Redirect::to("/settings/hours?done=hours_saved").into_response()),
        Err(error) => {
            let (status, error) = form_failure(error)?;
            let actor = staff.actor.clone();
            let view = state
                .blocking(move |crm| crm.business_hours(&actor))
                .await?;
            Ok((
                status,
                hours_page(&staff, &view, Some(&pairs), &error, None),
            )
                .into_response())
        }
    }
}

fn hours_page(
    staff: &Staff,
    view: &HoursView,
    typed: Option<&[(String, String)]>,
    error: &FormError,
    note: Option<&str>,
) -> Markup {
    page(
        staff,
        &staff.t("hours.title"),
        Nav::Settings,
        hours_body(staff, view, typed, error, note),
    )
}

/// A weekday's intervals as the form shows them.
fn day_text(hours: &BusinessHours, index: usize) -> String {
    hours
        .week
        .get(index)
        .map(|day| {
            day.iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default()
}

/// The page's markup (a pure function of its data). `typed` is what the form sent, shown
/// again beside an error.
pub(super) fn hours_body(
    staff: &Staff,
    view: &HoursView,
    typed: Option<&[(String, String)]>,
    error: &FormError,
    note: Option<&str>,
) -> Markup {
    let hours = &view.hours;
    let shown = |name: &str, stored: String| match typed {
        Some(pairs) => form_value(pairs, name).to_string(),
        None => stored,
    };
    let holidays: Vec<String> = hours.holidays.iter().map(ToString::to_string).collect();
    let mut fields: Vec<&str> = vec!["time_zone", "holidays", "auto_reply", "week"];
    fields.extend(WEEKDAYS);
    html! {
        (notice(note))
        p { a href="/settings" { "← " (staff.t("settings.title")) } }
        p.hours-status data-open=(view.open_now) {
            @if !hours.enabled {
                (staff.t("hours.off"))
            } @else if view.open_now {
                (staff.t("hours.open_now"))
            } @else {
                (staff.t("hours.closed_now"))
                @if let Some(end) = view.closed.and_then(|closed| closed.end) {
                    " " (staff.t("hours.until")) " " (view.zone.local_text(end))
                }
            }
            " (" (view.zone.name()) ")"
        }
        form.form.card method="post" action="/settings/hours" autocomplete="off" {
            (csrf_field(staff))
            (error.general(&fields))
            label.check {
                input type="checkbox" name="enabled" value="1"
                    checked[typed.map_or(hours.enabled, |pairs| !form_value(pairs, "enabled").is_empty())];
                (staff.t("hours.enabled"))
            }
            label { (staff.t("hours.time_zone"))
                input type="text" name="time_zone" maxlength="64" placeholder=(view.zone.name())
                    value=(shown("time_zone", hours.time_zone.clone().unwrap_or_default()))
                    aria-describedby="hours-zone-help";
                small #hours-zone-help { (staff.t("hours.time_zone_help")) }
                (error.at("time_zone"))
            }
            fieldset {
                legend { (staff.t("hours.week")) }
                p.help #hours-week-help { (staff.t("hours.week_help")) }
                @for (index, day) in WEEKDAYS.iter().enumerate() {
                    label { (staff.t(&format!("hours.day.{day}")))
                        input type="text" name=(day) maxlength="200" placeholder="09:00-18:00"
                            value=(shown(day, day_text(hours, index)))
                            aria-describedby="hours-week-help";
                        (error.at(day))
                    }
                }
            }
            label { (staff.t("hours.holidays"))
                textarea name="holidays" rows="4" placeholder="2026-12-31" { (shown("holidays", holidays.join("\n"))) }
                (error.at("holidays"))
            }
            fieldset {
                legend { (staff.t("hours.auto_reply")) }
                p.help { (staff.t("hours.auto_reply_help")) }
                @for language in Language::all() {
                    @let name = format!("auto_reply_{}", language.code());
                    label { (language.native_name())
                        textarea name=(name) rows="3" maxlength="4096" {
                            (shown(&name, hours.auto_reply.exact(language).unwrap_or_default().to_string()))
                        }
                    }
                }
                (error.at("auto_reply"))
            }
            button type="submit" { (staff.t("form.save")) }
        }
    }
}
