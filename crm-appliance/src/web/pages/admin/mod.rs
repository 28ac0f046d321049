//! Administration pages: users (create with a one-time password, roles, skills, disable,
//! password reset shown once), roles (permissions, custom roles), markers with colours (edit
//! per language, delete), payment methods, organization settings (with the write-only bot
//! token), the staff group in Telegram (`staff_group.rs`, issue 12), webhooks
//! (`webhooks.rs`, SPEC 5F), the AI qualification of leads (`ai.rs`, the projects module).

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use crm_lib::{
    ErrorKind,
    calls::CallSettingsView,
    model::{
        Language, MarkerId, Module, Money, PaymentMethodId, Permission, PermissionSet, RoleId,
        StageId, UserId, UserStatus,
    },
    org::{SettingsUpdate, StageUpdate},
    team::{MarkerRefs, NewUser},
};
use maud::{Markup, html};
use serde::Deserialize;

use crate::AppState;
use crate::web::auth::Staff;
use crate::web::csrf;
use crate::web::error::AppError;
use crate::web::layout::{FormError, Nav, csrf_field, notice, page};

mod ai;
mod calls;
mod canned;
mod fraud;
mod hours;
mod jobs;
mod markers;
mod payment_methods;
mod roles;
mod settings;
mod staff_group;
mod users;
mod webhooks;

/// The administration routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/users", get(users::users).post(users::create_user))
        .route("/users/{id}/disable", post(users::disable_user))
        .route("/users/{id}/enable", post(users::enable_user))
        .route("/users/{id}/roles", post(users::user_roles))
        .route("/users/{id}/markers", post(users::user_markers))
        .route("/users/{id}/phone", post(users::user_phone))
        .route("/users/{id}/password", post(users::reset_password))
        .route("/roles", get(roles::roles).post(roles::create_role))
        .route("/roles/{id}/permissions", post(roles::role_permissions))
        .route(
            "/markers",
            get(markers::markers).post(markers::create_marker),
        )
        .route("/markers/{id}", post(markers::update_marker))
        .route("/markers/{id}/delete", post(markers::delete_marker))
        .route(
            "/payment-methods",
            get(payment_methods::payment_methods).post(payment_methods::create_method),
        )
        .route(
            "/payment-methods/{id}/active",
            post(payment_methods::method_active),
        )
        .route(
            "/settings",
            get(settings::settings).post(settings::save_settings),
        )
        .route("/settings/stages/{id}", post(settings::save_stage))
        .route("/admin/jobs", get(jobs::jobs))
        .route("/admin/jobs/settings", post(jobs::save_job_settings))
        .route("/admin/jobs/{name}/run", post(jobs::run_job))
        .route("/settings/fraud", get(fraud::fraud).post(fraud::save_fraud))
        .route("/settings/calls", get(calls::calls_settings))
        .route("/settings/calls/secret", post(calls::save_secret))
        .route("/settings/calls/extensions", post(calls::save_extension))
        .route(
            "/settings/canned",
            get(canned::canned).post(canned::create_canned),
        )
        .route(
            "/settings/canned/{id}",
            get(canned::edit_canned).post(canned::update_canned),
        )
        .route("/settings/canned/{id}/delete", post(canned::delete_canned))
        .route("/settings/hours", get(hours::hours).post(hours::save_hours))
        .route("/settings/staff-group", get(staff_group::staff_group))
        .route("/settings/staff-group/code", post(staff_group::make_code))
        .route(
            "/settings/staff-group/enabled",
            post(staff_group::set_enabled),
        )
        .route("/settings/staff-group/unlink", post(staff_group::unlink))
        .route(
            "/settings/webhooks",
            get(webhooks::webhooks).post(webhooks::create_webhook),
        )
        .route(
            "/settings/webhooks/{id}",
            get(webhooks::webhook).post(webhooks::update_webhook),
        )
        .route(
            "/settings/webhooks/{id}/rotate",
            post(webhooks::rotate_secret),
        )
        .route("/settings/webhooks/{id}/test", post(webhooks::send_test))
        .route(
            "/settings/webhooks/{id}/delete",
            post(webhooks::delete_webhook),
        )
        .route(
            "/settings/webhooks/{id}/deliveries/{delivery}/redeliver",
            post(webhooks::redeliver),
        )
        .route("/settings/ai", get(ai::settings).post(ai::save))
}

/// `?done=`.
#[derive(Debug, Default, Deserialize)]
pub struct Done {
    #[serde(default)]
    done: Option<String>,
}

pub(super) fn done_note(staff: &Staff, done: &Done) -> Option<String> {
    done.done
        .as_deref()
        .filter(|key| key.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'))
        .map(|key| staff.t(&format!("admin.done.{key}")))
}

pub(super) fn user_id(text: &str) -> Result<UserId, AppError> {
    text.parse()
        .map(UserId::new)
        .map_err(|_| AppError::not_found(format!("user {text:?} not found")))
}

/// A form answer: re-render with the error (422, or 409 for a conflict) or fail.
pub(super) fn form_failure(error: crm_lib::Error) -> Result<(StatusCode, FormError), AppError> {
    if matches!(error.kind(), ErrorKind::InvalidInput | ErrorKind::Conflict) {
        Ok((
            crate::web::error::status_of(error.kind()),
            FormError::from_error(&error),
        ))
    } else {
        Err(error.into())
    }
}

/// The form of a name per language and a colour: a stage on the settings page, a marker on
/// the markers page.
#[derive(Debug, Default, Deserialize)]
pub(super) struct StageForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    color: String,
    /// `name_<language code>` for every language.
    #[serde(flatten)]
    names: std::collections::HashMap<String, String>,
}

impl StageForm {
    /// The `name_<code>` fields as one name; a language left empty is left out.
    fn localized_name(&self) -> crm_lib::model::Localized {
        let mut name = crm_lib::model::Localized::default();
        for language in Language::all() {
            if let Some(text) = self.names.get(&format!("name_{}", language.code())) {
                name.set(language, text.trim());
            }
        }
        name
    }
}

/// The administration pages' markup, as snapshots (`cargo insta review` after a deliberate
/// change): each rendered from a real store for a user of a built-in role.
#[cfg(test)]
mod tests {
    use crm_lib::{Password, model::BuiltinRole};
    use insta::assert_snapshot;

    use super::*;
    use crate::web::testing::{Fixture, pretty};

    #[test]
    fn the_users_page_lists_users_with_roles_skills_and_a_password_shown_once() {
        let fixture = Fixture::new("studio");
        let system = fixture.system();
        let markers = fixture.crm.markers(&system).unwrap();
        for (username, role) in [("anna", "manager"), ("ivan", "worker")] {
            fixture
                .crm
                .create_user_with_markers(
                    &system,
                    crm_lib::team::NewUser {
                        username: username.into(),
                        display_name: username.to_uppercase(),
                        password: Password::parse("a long fixture password").unwrap(),
                        roles: vec![role.into()],
                        must_change_password: false,
                    },
                    MarkerRefs::Ids(markers.iter().take(2).map(|marker| marker.id).collect()),
                )
                .unwrap();
        }
        let staff = fixture.staff(BuiltinRole::Administrator, Language::EN);
        let users = fixture.crm.users(&system).unwrap();
        let roles = fixture.crm.roles(&system).unwrap();
        let shown = users::OneTimePassword {
            username: "ivan",
            password: "shown-once-password",
            reset: true,
        };
        let markup = users::users_body(
            &staff,
            &users,
            &roles,
            &markers,
            &users::UserForm::default(),
            &FormError::none(),
            None,
            Some(shown),
        );
        assert_snapshot!(pretty(&markup));
    }

    #[test]
    fn the_roles_page_shows_each_roles_permissions_and_a_refused_name_in_russian() {
        let fixture = Fixture::new("studio");
        let staff = fixture.staff(BuiltinRole::Administrator, Language::RU);
        let roles = fixture.crm.roles(&fixture.system()).unwrap();
        let error = FormError::from_error(&crm_lib::Error::invalid("name", "is taken"));
        let markup = roles::roles_body(
            &staff,
            &roles,
            "manager",
            PermissionSet::EMPTY,
            &error,
            None,
        );
        assert_snapshot!(pretty(&markup));
    }

    #[test]
    fn the_markers_page_offers_editing_to_who_manages_markers() {
        let fixture = Fixture::new("studio");
        let staff = fixture.staff(BuiltinRole::Manager, Language::EN);
        let markers = fixture.crm.markers(&fixture.system()).unwrap();
        let markup = markers::markers_body(
            &staff,
            &markers[..3],
            &markers::MarkerForm::default(),
            &FormError::none(),
            Some("Marker saved."),
        );
        assert_snapshot!(pretty(&markup));
    }

    #[test]
    fn the_jobs_page_lists_each_job_with_its_schedule_last_run_and_result() {
        let fixture = Fixture::new("studio");
        let system = fixture.system();
        fixture.crm.system().prepare_jobs().unwrap();
        fixture.crm.run_job(&system, "audit_cleanup").unwrap();
        fixture
            .crm
            .update_job_settings(
                &system,
                crm_lib::jobs::JobSettingsUpdate {
                    enabled: vec![("daily_report".into(), false)],
                    ..Default::default()
                },
            )
            .unwrap();
        let staff = fixture.staff(BuiltinRole::Administrator, Language::EN);
        let view = fixture.crm.jobs(&system).unwrap();
        let markup = jobs::jobs_body(&staff, &view, None, &FormError::none(), Some("Job run."));
        assert_snapshot!(pretty(&markup));
    }

    #[test]
    fn the_payment_methods_page_lists_methods_with_their_templates() {
        let fixture = Fixture::new("studio");
        let staff = fixture.staff(BuiltinRole::Manager, Language::EN);
        let methods = fixture.crm.payment_methods(&fixture.system()).unwrap();
        let markup = payment_methods::methods_body(
            &staff,
            &methods,
            &payment_methods::MethodForm::default(),
            &FormError::none(),
            None,
        );
        assert_snapshot!(pretty(&markup));
    }

    #[test]
    fn the_canned_page_lists_responses_and_shows_an_unknown_variable_beside_the_texts() {
        let fixture = Fixture::new("studio");
        let system = fixture.system();
        fixture
            .crm
            .create_canned(
                &system,
                crm_lib::canned::CannedInput {
                    code: "hello".into(),
                    title: "Greeting".into(),
                    texts: crm_lib::model::Localized::new("Hello {customer.first_name}!")
                        .with(Language::RU, "Здравствуйте, {customer.first_name}!"),
                    attachments: Vec::new(),
                },
                Vec::new(),
            )
            .unwrap();
        let staff = fixture.staff(BuiltinRole::Administrator, Language::EN);
        let list = fixture.crm.canned_list(&system).unwrap();
        let form = canned::CannedForm {
            pairs: vec![
                ("code".into(), "bye".into()),
                ("title".into(), "Farewell".into()),
                ("text_en".into(), "Bye {customer.age}".into()),
            ],
            ..Default::default()
        };
        let error = FormError::from_error(&crm_lib::Error::invalid(
            "texts",
            "unknown variable {customer.age}",
        ));
        let markup = canned::canned_body(&staff, &list, &form, &error, None);
        assert_snapshot!(pretty(&markup));
    }

    #[test]
    fn the_hours_page_shows_the_schedule_in_its_zone_and_whether_open_now() {
        let fixture = Fixture::new("studio");
        let system = fixture.system();
        fixture
            .crm
            .set_business_hours(
                &system,
                crm_lib::hours::HoursInput {
                    enabled: true,
                    time_zone: Some("Europe/Berlin".into()),
                    week: vec![
                        "09:00-13:00, 14:00-18:00".into(),
                        "09:00-18:00".into(),
                        "09:00-18:00".into(),
                        "09:00-18:00".into(),
                        "09:00-17:00".into(),
                    ],
                    holidays: "2026-12-24\n2026-12-25".into(),
                    auto_reply: crm_lib::model::Localized::new(
                        "We are closed; we answer tomorrow.",
                    ),
                },
            )
            .unwrap();
        let staff = fixture.staff(BuiltinRole::Administrator, Language::EN);
        let view = fixture.crm.business_hours(&system).unwrap();
        let markup = hours::hours_body(
            &staff,
            &view,
            None,
            &FormError::none(),
            Some("Business hours saved."),
        );
        assert_snapshot!(pretty(&markup));
    }

    /// An endpoint subscribed to two events, and a delivery that failed once and then
    /// succeeded, as the sender would record them.
    fn webhook_fixture() -> (Fixture, crm_lib::model::WebhookEndpoint) {
        let fixture = Fixture::new("studio");
        let system = fixture.system();
        let endpoint = fixture
            .crm
            .create_webhook(
                &system,
                crm_lib::webhooks::WebhookInput {
                    url: "https://erp.example/hooks".into(),
                    description: "ERP".into(),
                    events: vec!["order.created".into(), "order.deleted".into()],
                    enabled: true,
                },
            )
            .unwrap();
        (fixture, endpoint)
    }

    #[test]
    fn the_webhooks_page_lists_endpoints_and_shows_a_refused_url_beside_its_field() {
        let (fixture, _) = webhook_fixture();
        let staff = fixture.staff(BuiltinRole::Administrator, Language::EN);
        let list = fixture.crm.webhooks(&fixture.system()).unwrap();
        let form = webhooks::WebhookForm {
            pairs: vec![
                ("url".into(), "erp.example/hooks".into()),
                ("event".into(), "order.created".into()),
            ],
        };
        let error = FormError::from_error(&crm_lib::Error::invalid(
            "url",
            "must be an absolute http:// or https:// URL",
        ));
        let markup = webhooks::webhooks_body(&staff, &list, &form, &error, None);
        assert_snapshot!(pretty(&markup));
    }

    #[test]
    fn the_webhook_page_shows_the_secret_and_each_delivery_with_its_attempts_in_russian() {
        let (fixture, endpoint) = webhook_fixture();
        let system = fixture.system();
        let delivery = fixture.crm.test_webhook(&system, endpoint.id).unwrap();
        let at = crm_lib::model::Timestamp::from_millis(1_765_000_000_000);
        for status in [500, 200] {
            fixture
                .crm
                .system()
                .webhook_attempted(
                    fixture.org.id,
                    delivery,
                    crm_lib::webhooks::WebhookOutcome {
                        at,
                        status: Some(status),
                        error: (status == 500).then(|| "the endpoint answered 500".into()),
                        duration_ms: 42,
                    },
                )
                .unwrap();
        }
        let staff = fixture.staff(BuiltinRole::Administrator, Language::RU);
        let log = fixture
            .crm
            .webhook_deliveries(&system, endpoint.id, crm_lib::Page::first(20))
            .unwrap();
        let markup = webhooks::webhook_body(
            &staff,
            &endpoint,
            &log,
            &webhooks::WebhookForm::of(&endpoint),
            &FormError::none(),
            None,
        );
        // The secret and the message id are random: the snapshot shows placeholders.
        let text = pretty(&markup)
            .replace(&endpoint.secret, "whsec_SECRET")
            .replace(&log.items[0].message_id, "msg_ID")
            .replace(&crate::web::i18n::when(log.items[0].created_at), "CREATED");
        assert_snapshot!(text);
    }
}
