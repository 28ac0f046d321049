//! The tickets module's fraud settings (`/settings/fraud`, `manage_settings`): each rule's
//! switch, threshold and points, the serial's form, and the blocklist of phones and Telegram
//! ids, one a line. crm-lib checks and cleans them ([`crm_lib::Tx::update_fraud_settings`]).

use crm_lib::model::{FraudRule, FraudRuleKind, FraudSettings};
use crm_lib::tickets::FraudSettingsUpdate;

use super::*;
use crate::web::layout::form_value;

/// `GET /settings/fraud`.
pub(super) async fn fraud(
    State(state): State<AppState>,
    staff: Staff,
    Query(done): Query<Done>,
) -> Result<Markup, AppError> {
    let note = done_note(&staff, &done);
    let actor = staff.actor.clone();
    let settings = state
        .blocking(move |crm| crm.fraud_settings(&actor))
        .await?
        .ok_or_else(|| AppError::not_found(staff.t("tickets.module_off")))?;
    Ok(fraud_page(
        &staff,
        &settings,
        None,
        &FormError::none(),
        note.as_deref(),
    ))
}

/// A whole number typed in input `name` of the form, for `field`.
fn number(pairs: &[(String, String)], name: &str, field: &'static str) -> crm_lib::Result<u32> {
    let text = form_value(pairs, name).trim();
    text.parse::<u32>().map_err(|_| {
        crm_lib::Error::invalid(
            field,
            format!(
                "{:?} is not a whole number",
                text.chars().take(20).collect::<String>()
            ),
        )
    })
}

/// The rules as the form changed them (kinds and fields as stored).
fn rules_of(current: &[FraudRule], pairs: &[(String, String)]) -> crm_lib::Result<Vec<FraudRule>> {
    let mut rules = Vec::with_capacity(current.len());
    for (index, rule) in current.iter().enumerate() {
        let name = |what: &str| format!("rule.{index}.{what}");
        let kind = match &rule.kind {
            FraudRuleKind::RepeatedSerial { field, .. } => FraudRuleKind::RepeatedSerial {
                field: field.clone(),
                more_than: number(pairs, &name("threshold"), "threshold")?,
                days: number(pairs, &name("days"), "days")?,
            },
            FraudRuleKind::Cancellations { .. } => FraudRuleKind::Cancellations {
                more_than: number(pairs, &name("threshold"), "threshold")?,
            },
            FraudRuleKind::FieldFormat { field, .. } => FraudRuleKind::FieldFormat {
                field: field.clone(),
                pattern: form_value(pairs, &name("pattern")).trim().to_string(),
            },
            other => other.clone(),
        };
        rules.push(FraudRule {
            kind,
            points: number(pairs, &name("points"), "points")?,
            enabled: !form_value(pairs, &name("enabled")).is_empty(),
        });
    }
    Ok(rules)
}

/// `POST /settings/fraud`.
pub(super) async fn save_fraud(
    State(state): State<AppState>,
    staff: Staff,
    headers: HeaderMap,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    csrf::verify(&staff, form_value(&pairs, "csrf"), &headers)?;
    let actor = staff.actor.clone();
    let form = pairs.clone();
    let result = state
        .blocking(move |crm| {
            let Some(current) = crm.fraud_settings(&actor)? else {
                return Ok(Err(crm_lib::Error::not_found("fraud settings", "tickets")));
            };
            let lines = |name: &str| -> Vec<String> {
                form_value(&form, name)
                    .lines()
                    .map(str::to_string)
                    .collect()
            };
            let update = match rules_of(&current.rules, &form) {
                Ok(rules) => FraudSettingsUpdate {
                    rules,
                    blocked_phones: lines("blocked_phones"),
                    blocked_telegram_ids: lines("blocked_telegram_ids"),
                },
                Err(error) => return Ok(Err(error)),
            };
            Ok(crm.update_fraud_settings(&actor, update))
        })
        .await?;
    match result {
        Ok(_) => Ok(Redirect::to("/settings/fraud?done=fraud").into_response()),
        Err(error) if error.kind() == ErrorKind::InvalidInput => {
            let actor = staff.actor.clone();
            let settings = state
                .blocking(move |crm| crm.fraud_settings(&actor))
                .await?
                .unwrap_or_default();
            let markup = fraud_page(
                &staff,
                &settings,
                Some(&pairs),
                &FormError::from_error(&error),
                None,
            );
            Ok((StatusCode::UNPROCESSABLE_ENTITY, markup).into_response())
        }
        Err(error) => Err(error.into()),
    }
}

/// The page: one fieldset per rule, then the blocklist. `typed` is what the form sent, shown
/// again beside an error.
fn fraud_page(
    staff: &Staff,
    settings: &FraudSettings,
    typed: Option<&[(String, String)]>,
    error: &FormError,
    note: Option<&str>,
) -> Markup {
    let shown = |name: &str, stored: String| match typed {
        Some(pairs) => form_value(pairs, name).to_string(),
        None => stored,
    };
    let phones = settings.blocked_phones.join("\n");
    let ids: Vec<String> = settings
        .blocked_telegram_ids
        .iter()
        .map(ToString::to_string)
        .collect();
    let body = html! {
        (notice(note))
        p { a href="/settings" { (staff.t("tickets.back_to_settings")) } }
        form.form.card method="post" action="/settings/fraud" autocomplete="off" {
            (csrf_field(staff))
            (error.general(&["points", "threshold", "days", "pattern", "phone", "blocked_telegram_ids", "blocklist"]))
            @for (index, rule) in settings.rules.iter().enumerate() {
                @let name = |what: &str| format!("rule.{index}.{what}");
                fieldset.fraud-rule data-rule=(rule.kind.code()) {
                    legend { (staff.t(&format!("tickets.rule.{}", rule.kind.code()))) }
                    label.check {
                        input type="checkbox" name=(name("enabled")) value="1"
                            checked[typed.map_or(rule.enabled, |pairs| !form_value(pairs, &name("enabled")).is_empty())];
                        (staff.t("tickets.rule_on"))
                    }
                    label { (staff.t("tickets.points"))
                        input type="number" name=(name("points")) min="0" max="100"
                            value=(shown(&name("points"), rule.points.to_string()));
                    }
                    @match &rule.kind {
                        FraudRuleKind::RepeatedSerial { more_than, days, .. } => {
                            label { (staff.t("tickets.threshold_tickets"))
                                input type="number" name=(name("threshold")) min="0"
                                    value=(shown(&name("threshold"), more_than.to_string()));
                            }
                            label { (staff.t("tickets.days"))
                                input type="number" name=(name("days")) min="1" max="365"
                                    value=(shown(&name("days"), days.to_string()));
                            }
                        }
                        FraudRuleKind::Cancellations { more_than } => {
                            label { (staff.t("tickets.threshold_cancelled"))
                                input type="number" name=(name("threshold")) min="0"
                                    value=(shown(&name("threshold"), more_than.to_string()));
                            }
                        }
                        FraudRuleKind::FieldFormat { pattern, .. } => {
                            label { (staff.t("tickets.pattern"))
                                input type="text" name=(name("pattern")) maxlength="200"
                                    value=(shown(&name("pattern"), pattern.clone()));
                            }
                        }
                        FraudRuleKind::Blocklisted => {}
                    }
                }
            }
            (error.at("points")) (error.at("threshold")) (error.at("days")) (error.at("pattern"))
            label { (staff.t("tickets.blocked_phones"))
                textarea name="blocked_phones" rows="5" { (shown("blocked_phones", phones)) }
                (error.at("phone"))
            }
            label { (staff.t("tickets.blocked_telegram_ids"))
                textarea name="blocked_telegram_ids" rows="5" { (shown("blocked_telegram_ids", ids.join("\n"))) }
                (error.at("blocked_telegram_ids"))
                (error.at("blocklist"))
            }
            button type="submit" { (staff.t("tickets.save_rules")) }
        }
    };
    page(staff, &staff.t("tickets.fraud_title"), Nav::Settings, body)
}
