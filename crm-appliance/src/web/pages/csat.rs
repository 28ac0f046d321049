//! Customer satisfaction (issue 12): `/csat`, the ratings per operator and per local day with
//! their distribution and the latest comments (`view_analytics`; with or without the
//! operators module, whose statistics page links here), and `/settings/csat`, the survey's
//! on/off switch and question per language (`manage_settings`). Each handler makes one
//! crm-lib call; the markup is a pure function of what was read.

use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Form, Router};
use crm_lib::csat::{CsatFigures, CsatStats};
use crm_lib::model::{CsatSettings, Date, Language, Localized};
use maud::{Markup, html};
use serde::Deserialize;

use crate::AppState;
use crate::web::auth::Staff;
use crate::web::csrf;
use crate::web::error::AppError;
use crate::web::i18n::{tr_with, when};
use crate::web::layout::{FormError, Nav, csrf_field, notice, page};

/// The page's routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/csat", get(stats))
        .route("/settings/csat", get(settings).post(save_settings))
}

/// `?from=&to=` (`YYYY-MM-DD`, local days; the last 30 by default).
#[derive(Debug, Default, Deserialize)]
struct StatsQuery {
    #[serde(default)]
    from: Option<String>,
    #[serde(default)]
    to: Option<String>,
}

/// `GET /csat`.
async fn stats(
    State(state): State<AppState>,
    staff: Staff,
    Query(query): Query<StatsQuery>,
) -> Result<Markup, AppError> {
    let (from, to) = (
        Date::parse_optional("from", query.from.as_deref())?,
        Date::parse_optional("to", query.to.as_deref())?,
    );
    let actor = staff.actor.clone();
    let stats = state
        .blocking(move |crm| crm.csat_stats(&actor, from, to))
        .await?;
    Ok(page(
        &staff,
        &staff.t("csat.title"),
        Nav::Csat,
        stats_body(&staff, &stats),
    ))
}

/// One row of figures: count, average and the five stars' counts.
fn figures_cells(figures: &CsatFigures) -> Markup {
    html! {
        td.count { (figures.count) }
        td.average { (figures.average_text()) }
        @for count in figures.distribution {
            td { (count) }
        }
    }
}

/// The statistics' markup: the range form, the total, per operator, per day, and the latest
/// ratings with their comments.
pub fn stats_body(staff: &Staff, stats: &CsatStats) -> Markup {
    let head = html! {
        th { (staff.t("csat.count")) }
        th { (staff.t("csat.average")) }
        @for stars in 1..=5 { th { (stars) " ★" } }
    };
    html! {
        form.form.inline method="get" action="/csat" {
            label { (staff.t("operators.stats.from")) input type="date" name="from" value=(stats.from.to_string()); }
            label { (staff.t("operators.stats.to")) input type="date" name="to" value=(stats.to.to_string()); }
            button.small type="submit" { (staff.t("operators.stats.show")) }
        }
        p.muted { (tr_with(staff.language, "operators.stats.zone", &[("zone", &stats.zone.name())])) }
        @if stats.total.count == 0 {
            p.muted #csat-empty { (staff.t("csat.empty")) }
        } @else {
            table.csat-stats #csat-operators {
                thead { tr { th { (staff.t("csat.operator")) } (head) } }
                tbody {
                    tr.total data-operator="total" {
                        td { strong { (staff.t("operators.stats.total")) } }
                        (figures_cells(&stats.total))
                    }
                    @for row in &stats.operators {
                        tr data-operator=(row.user.map(|user| user.get()).unwrap_or(0)) {
                            td { @if row.user.is_some() { (row.name) } @else { (staff.t("csat.nobody")) } }
                            (figures_cells(&row.figures))
                        }
                    }
                }
            }
            table.csat-stats #csat-days {
                thead { tr { th { (staff.t("operators.stats.day")) } (head) } }
                tbody {
                    @for (day, figures) in &stats.days {
                        tr data-day=(day.to_string()) {
                            td { (day.to_string()) }
                            (figures_cells(figures))
                        }
                    }
                }
            }
            section #csat-recent {
                h2 { (staff.t("csat.recent")) }
                ul {
                    @for survey in &stats.recent {
                        li {
                            @if let Some(at) = survey.rated_at { time.muted { (when(at)) } " " }
                            a href={ "/orders/" (survey.order) } { "#" (survey.order) }
                            " · " (survey.rating.map(|stars| "★".repeat(usize::from(stars))).unwrap_or_default())
                            @if let Some(comment) = &survey.comment { " · " q { (comment) } }
                        }
                    }
                }
            }
        }
        @if staff.navigation().settings {
            p { a href="/settings/csat" { (staff.t("csat.settings_link")) } }
        }
    }
}

/// `GET /settings/csat`.
async fn settings(State(state): State<AppState>, staff: Staff) -> Result<Markup, AppError> {
    settings_page(&state, &staff, &FormError::none(), None).await
}

async fn settings_page(
    state: &AppState,
    staff: &Staff,
    error: &FormError,
    note: Option<&str>,
) -> Result<Markup, AppError> {
    let actor = staff.actor.clone();
    let settings = state.blocking(move |crm| crm.csat_settings(&actor)).await?;
    Ok(page(
        staff,
        &staff.t("csat.settings_title"),
        Nav::Settings,
        settings_body(staff, &settings, error, note),
    ))
}

/// The settings' markup: the switch and one question per language (empty: the default,
/// shown as the placeholder).
pub fn settings_body(
    staff: &Staff,
    settings: &CsatSettings,
    error: &FormError,
    note: Option<&str>,
) -> Markup {
    html! {
        (notice(note))
        form.form.card method="post" action="/settings/csat" {
            (csrf_field(staff))
            (error.general(&["question"]))
            label.check {
                input type="checkbox" name="enabled" value="on" checked[settings.enabled];
                " " (staff.t("csat.enabled"))
            }
            @for language in Language::all() {
                label {
                    (tr_with(staff.language, "csat.question_in", &[("language", &language.native_name())]))
                    textarea name={ "question_" (language.code()) } maxlength="300" rows="2"
                        placeholder=(crate::web::i18n::tr(language, "csat.question")) {
                        (settings.question.exact(language).unwrap_or(""))
                    }
                }
            }
            (error.at("question"))
            button type="submit" { (staff.t("csat.save")) }
        }
    }
}

/// The settings form: `enabled` (a checkbox) and `question_<code>` per language.
#[derive(Debug, Default, Deserialize)]
struct SettingsForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    enabled: Option<String>,
    #[serde(flatten)]
    questions: std::collections::HashMap<String, String>,
}

/// `POST /settings/csat`.
async fn save_settings(
    State(state): State<AppState>,
    staff: Staff,
    headers: HeaderMap,
    Form(form): Form<SettingsForm>,
) -> Result<Response, AppError> {
    csrf::verify(&staff, &form.csrf, &headers)?;
    let mut question = Localized::default();
    for language in Language::all() {
        if let Some(text) = form.questions.get(&format!("question_{}", language.code())) {
            question.set(language, text.trim());
        }
    }
    let settings = CsatSettings {
        enabled: form.enabled.is_some(),
        question,
    };
    let actor = staff.actor.clone();
    match state
        .blocking(move |crm| Ok(crm.update_csat_settings(&actor, settings)))
        .await?
    {
        Ok(_) => Ok(Redirect::to("/settings/csat").into_response()),
        Err(error) if error.kind() == crm_lib::ErrorKind::InvalidInput => {
            let status = crate::web::error::status_of(error.kind());
            let error = FormError::from_error(&error);
            Ok((status, settings_page(&state, &staff, &error, None).await?).into_response())
        }
        Err(error) => Err(error.into()),
    }
}

#[cfg(test)]
mod tests {
    use crm_lib::model::BuiltinRole;
    use insta::assert_snapshot;

    use super::*;
    use crate::web::testing::{Fixture, pretty};

    #[test]
    fn the_satisfaction_page_shows_figures_per_operator_and_day_and_the_comments() {
        let fixture = Fixture::new("studio");
        let staff = fixture.staff(BuiltinRole::Manager, Language::EN);
        let day = Date::parse("day", "2026-01-05").unwrap();
        let figures = CsatFigures {
            count: 2,
            sum: 9,
            distribution: [0, 0, 0, 1, 1],
        };
        let stats = CsatStats {
            from: day,
            to: day,
            zone: crm_lib::model::Zone::named("Europe/Moscow").unwrap(),
            total: figures,
            operators: vec![crm_lib::csat::CsatOperatorRow {
                user: Some(crm_lib::model::UserId::new(3)),
                name: "Anna".into(),
                figures,
            }],
            days: vec![(day, figures)],
            recent: vec![crm_lib::model::CsatSurvey {
                order: crm_lib::model::OrderId::new(7),
                customer: crm_lib::model::CustomerId::new(2),
                operator: Some(crm_lib::model::UserId::new(3)),
                sent_at: day.start(),
                rating: Some(4),
                rated_at: Some(day.start()),
                comment: Some("Quick <and> kind".into()),
            }],
        };
        assert_snapshot!(pretty(&stats_body(&staff, &stats)));
    }

    #[test]
    fn the_survey_settings_show_the_switch_and_a_question_per_language() {
        let fixture = Fixture::new("studio");
        let staff = fixture.staff(BuiltinRole::Administrator, Language::RU);
        let settings = CsatSettings {
            enabled: true,
            question: Localized::default().with(Language::RU, "Как мы справились?"),
        };
        assert_snapshot!(pretty(&settings_body(
            &staff,
            &settings,
            &FormError::none(),
            None
        )));
    }
}
