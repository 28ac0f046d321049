//! The organization's settings: commission, currency, limits, the write-only bot token, and
//! the pipeline's stage names and colours.

use super::*;

/// The settings form, as typed.
#[derive(Debug, Default, Deserialize, Clone)]
pub(super) struct SettingsForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    locale: String,
    #[serde(default)]
    currency: String,
    #[serde(default)]
    open_order_limit: String,
    #[serde(default)]
    commission_percent: String,
    #[serde(default)]
    commission_fixed: String,
    #[serde(default)]
    bot_token: String,
    #[serde(default)]
    clear_bot_token: Option<String>,
    #[serde(default)]
    time_zone: String,
    /// The module switches, `module_<name>` = `on` for each module that is on (a checkbox
    /// sends nothing when unticked), and `modules_shown` = `1` when the form carried them, so
    /// a post without the switches (an older form, a script) changes no module.
    #[serde(flatten)]
    switches: std::collections::HashMap<String, String>,
}

impl SettingsForm {
    fn module_on(&self, module: Module) -> bool {
        self.switches
            .contains_key(&format!("module_{}", module.as_str()))
    }
}

pub(super) async fn settings(
    State(state): State<AppState>,
    staff: Staff,
    Query(done): Query<Done>,
) -> Result<Markup, AppError> {
    let note = done_note(&staff, &done);
    settings_page(&state, &staff, None, &FormError::none(), note.as_deref()).await
}

pub(super) fn percent(bps: u32) -> String {
    format!("{}.{:02}", bps / 100, bps % 100)
}

pub(super) async fn settings_page(
    state: &AppState,
    staff: &Staff,
    typed: Option<&SettingsForm>,
    error: &FormError,
    note: Option<&str>,
) -> Result<Markup, AppError> {
    let actor = staff.actor.clone();
    let view = state
        .blocking(move |crm| crm.read(|view| crm_lib::org::settings_in(view, &actor)))
        .await?;
    let org = &view.org;
    let settings = &org.settings;
    let form = typed.cloned().unwrap_or_else(|| SettingsForm {
        name: org.name.clone(),
        locale: settings.locale.code().to_string(),
        currency: settings.currency.clone(),
        open_order_limit: settings.open_order_limit.to_string(),
        commission_percent: percent(settings.commission_bps),
        commission_fixed: settings.commission_fixed.to_string(),
        time_zone: settings.time_zone.clone(),
        switches: org
            .modules
            .iter()
            .map(|module| (format!("module_{}", module.as_str()), "on".to_string()))
            .collect(),
        ..SettingsForm::default()
    });
    let language = staff.language;
    let fields = [
        "name",
        "locale",
        "currency",
        "open_order_limit",
        "commission_bps",
        "commission_fixed",
        "bot_token",
        "time_zone",
    ];
    Ok(page(
        staff,
        &staff.t("settings.title"),
        Nav::Settings,
        html! {
            (notice(note))
            @if org.modules.contains(Module::Tickets) {
                p { a href="/settings/fraud" { (staff.t("tickets.fraud_title")) } }
            }
            p.settings-links {
                a href="/settings/canned" { (staff.t("canned.title")) }
                " · "
                a href="/settings/hours" { (staff.t("hours.title")) }
                @if staff.navigation().webhooks {
                    " · "
                    a href="/settings/webhooks" { (staff.t("webhooks.title")) }
                }
                @if staff.navigation().ai_settings {
                    " · "
                    a href="/settings/ai" { (staff.t("ai.web.title")) }
                }
            }
            form.form.card method="post" action="/settings" autocomplete="off" {
                (csrf_field(staff))
                (error.general(&fields))
                label { (staff.t("settings.name"))
                    input type="text" name="name" value=(form.name) required maxlength="100";
                    (error.at("name"))
                }
                label { (staff.t("settings.locale"))
                    select name="locale" {
                        @for option in Language::all() {
                            option value=(option.code()) selected[form.locale == option.code()] { (option.native_name()) }
                        }
                    }
                }
                label { (staff.t("settings.currency"))
                    input type="text" name="currency" value=(form.currency) maxlength="3" required;
                    (error.at("currency"))
                }
                label { (staff.t("settings.open_order_limit"))
                    input type="number" name="open_order_limit" min="0" value=(form.open_order_limit);
                    (error.at("open_order_limit"))
                }
                label { (staff.t("settings.commission_percent"))
                    input type="text" name="commission_percent" inputmode="decimal" value=(form.commission_percent);
                    (error.at("commission_bps"))
                }
                label { (staff.t("settings.commission_fixed")) " (" (settings.currency) ")"
                    input type="text" name="commission_fixed" inputmode="decimal" value=(form.commission_fixed);
                    (error.at("commission_fixed"))
                }
                label { (staff.t("settings.bot_token")) " "
                    span.badge { (staff.t(if view.bot_token_set { "settings.token_set" } else { "settings.token_not_set" })) }
                    input type="password" name="bot_token" value="" autocomplete="new-password" placeholder=(staff.t("settings.token_placeholder"));
                    (error.at("bot_token"))
                }
                @if view.bot_token_set {
                    label.check { input type="checkbox" name="clear_bot_token" value="1"; (staff.t("settings.clear_token")) }
                }
                label { (staff.t("settings.time_zone"))
                    input type="text" name="time_zone" value=(form.time_zone) maxlength="64" required;
                    (error.at("time_zone"))
                }
                fieldset {
                    legend { (staff.t("settings.modules")) }
                    input type="hidden" name="modules_shown" value="1";
                    p.muted { (staff.t("settings.modules_hint")) }
                    @for module in Module::ALL {
                        label.check {
                            input type="checkbox" name={ "module_" (module.as_str()) } value="on" checked[form.module_on(module)];
                            (staff.t(&format!("settings.module.{}", module.as_str())))
                        }
                    }
                }
                button type="submit" { (staff.t("form.save")) }
            }
            @if crm_lib::calls::calls_enabled(org) {
                p { a href="/settings/calls" { (staff.t("calls.settings_title")) } }
            }
            p { a href="/settings/staff-group" { (staff.t("staffgram.settings.title")) } }
            p { a href="/settings/csat" { (staff.t("csat.settings_title")) } }
            @if staff.navigation().registration_form {
                p { a href="/settings/registration" { (staff.t("settings.registration_link")) } }
            }
            section.card {
                h2 { (staff.t("settings.pipeline")) " (" (org.template) ")" }
                ol.pipeline {
                    @for stage in &org.pipeline.stages {
                        li {
                            (crate::web::colors::swatch(&stage.color))
                            " " (stage.name(language)) " "
                            span.muted { "→ " (org.pipeline.next_stages(stage.id).iter().map(|next| next.name(language)).collect::<Vec<_>>().join(", ")) }
                            details {
                                summary { (staff.t("settings.edit_stage")) }
                                form.form.inline method="post" action={ "/settings/stages/" (stage.id) } {
                                    (csrf_field(staff))
                                    @for other in Language::all() {
                                        label { (other.code().to_uppercase()) input type="text" name={ "name_" (other.code()) } value=(stage.name.exact(other).unwrap_or_default()) required[other == Language::default()] maxlength="40"; }
                                    }
                                    label { (staff.t("settings.stage_color")) input type="color" name="color" value=(stage.color); }
                                    button type="submit" { (staff.t("form.save")) }
                                }
                            }
                        }
                    }
                }
            }
        },
    ))
}

pub(super) fn parse_percent(text: &str) -> Result<u32, crm_lib::Error> {
    let bad = || {
        crm_lib::Error::invalid(
            "commission_bps",
            format!("{:?} is not a percentage like 10 or 12.5", text.trim()),
        )
    };
    let money = Money::parse("commission_bps", text).map_err(|_| bad())?;
    u32::try_from(money.minor()).map_err(|_| bad())
}

pub(super) async fn save_settings(
    State(state): State<AppState>,
    staff: Staff,
    headers: HeaderMap,
    Form(form): Form<SettingsForm>,
) -> Result<Response, AppError> {
    csrf::verify(&staff, &form.csrf, &headers)?;
    let parsed = (|| -> crm_lib::Result<SettingsUpdate> {
        let limit = form.open_order_limit.trim().parse::<u32>().map_err(|_| {
            crm_lib::Error::invalid(
                "open_order_limit",
                "must be a whole number (0 means no limit)",
            )
        })?;
        Ok(SettingsUpdate {
            name: Some(form.name.clone()),
            locale: Some(Language::parse("locale", &form.locale)?),
            currency: Some(form.currency.clone()),
            open_order_limit: Some(limit),
            commission_bps: Some(parse_percent(&form.commission_percent)?),
            commission_fixed: Some(Money::parse("commission_fixed", &form.commission_fixed)?),
            bot_token: if form.clear_bot_token.is_some() {
                Some(None)
            } else if form.bot_token.trim().is_empty() {
                None
            } else {
                Some(Some(form.bot_token.clone()))
            },
            // Empty means unchanged: the field is required in the page.
            time_zone: Some(form.time_zone.clone()).filter(|zone| !zone.trim().is_empty()),
            modules: if form.switches.contains_key("modules_shown") {
                Module::ALL
                    .into_iter()
                    .map(|module| (module, form.module_on(module)))
                    .collect()
            } else {
                Vec::new()
            },
        })
    })();
    let result = match parsed {
        Ok(update) => {
            let actor = staff.actor.clone();
            state
                .blocking(move |crm| Ok(crm.update_settings(&actor, update)))
                .await?
                .map(|_| ())
        }
        Err(error) => Err(error),
    };
    match result {
        Ok(()) => {
            // A token set or removed here changes the organization's bot at once.
            if let Err(error) = crate::bot::reconcile(&state).await {
                tracing::warn!(
                    error = format!("{error:#}"),
                    "restarting the organization's bot after a settings change failed"
                );
            }
            Ok(Redirect::to("/settings?done=settings_saved").into_response())
        }
        Err(error) => {
            let (status, error) = form_failure(error)?;
            // The token is never echoed back, not even after a failed save.
            let typed = SettingsForm {
                bot_token: String::new(),
                ..form
            };
            let markup = settings_page(&state, &staff, Some(&typed), &error, None).await?;
            Ok((status, markup).into_response())
        }
    }
}

/// `POST /settings/stages/{id}`: rename and recolour a stage (crm-lib checks
/// `manage_settings` and the values).
pub(super) async fn save_stage(
    State(state): State<AppState>,
    staff: Staff,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(form): Form<StageForm>,
) -> Result<Response, AppError> {
    csrf::verify(&staff, &form.csrf, &headers)?;
    let stage = id
        .parse()
        .map(StageId::new)
        .map_err(|_| AppError::not_found(format!("stage {id:?} not found")))?;
    let update = StageUpdate {
        name: form.localized_name(),
        color: form.color,
    };
    let actor = staff.actor.clone();
    let result = state
        .blocking(move |crm| Ok(crm.update_stage(&actor, stage, update)))
        .await?;
    match result {
        Ok(_) => Ok(Redirect::to("/settings?done=stage_saved").into_response()),
        Err(error) => {
            let (status, error) = form_failure(error)?;
            let markup = settings_page(&state, &staff, None, &error, None).await?;
            Ok((status, markup).into_response())
        }
    }
}
