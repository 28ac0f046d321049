//! The staff group settings page (`/settings/staff-group`, needs `manage_settings`; issue
//! 12): which Telegram supergroup mirrors the conversations as forum topics, a one-time code
//! that links one (`/link CODE` sent in the group), the mirror switch and unlinking. The rules
//! are crm-lib's (`crm_lib::staff_chat`).

use crm_lib::model::StaffGroup;

use super::*;

/// The forms of this page: the CSRF token, and `enabled` for the switch.
#[derive(Debug, Default, Deserialize)]
pub(super) struct GroupForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    enabled: String,
}

pub(super) async fn staff_group(
    State(state): State<AppState>,
    staff: Staff,
    Query(done): Query<Done>,
) -> Result<Markup, AppError> {
    let note = done_note(&staff, &done);
    group_page(&state, &staff, &FormError::none(), note.as_deref()).await
}

async fn group_page(
    state: &AppState,
    staff: &Staff,
    error: &FormError,
    note: Option<&str>,
) -> Result<Markup, AppError> {
    let actor = staff.actor.clone();
    let group = state.blocking(move |crm| crm.staff_group(&actor)).await?;
    Ok(page(
        staff,
        &staff.t("staffgram.settings.title"),
        Nav::Settings,
        group_body(staff, &group, error, note),
    ))
}

/// The page's markup (a pure function of its data).
pub(super) fn group_body(
    staff: &Staff,
    group: &StaffGroup,
    error: &FormError,
    note: Option<&str>,
) -> Markup {
    let language = staff.language;
    html! {
        (notice(note))
        (error.general(&[]))
        p { (staff.t("staffgram.settings.intro")) }
        p.muted { (staff.t("staffgram.settings.notices")) }
        section.card {
            @match (group.chat, &group.title) {
                (Some(chat), title) => {
                    p { (crate::web::i18n::tr_with(language, "staffgram.settings.linked", &[("title", &title.clone().unwrap_or_default()), ("chat", &chat.get())])) }
                    p { (staff.t(if group.enabled { "staffgram.settings.on" } else { "staffgram.settings.off" })) }
                    form method="post" action="/settings/staff-group/enabled" {
                        (csrf_field(staff))
                        input type="hidden" name="enabled" value=(if group.enabled { "off" } else { "on" });
                        button type="submit" { (staff.t(if group.enabled { "staffgram.settings.disable" } else { "staffgram.settings.enable" })) }
                    }
                    form method="post" action="/settings/staff-group/unlink" {
                        (csrf_field(staff))
                        button.small type="submit" { (staff.t("staffgram.settings.unlink")) }
                    }
                }
                (None, _) => {
                    p { (staff.t("staffgram.settings.none")) }
                }
            }
        }
        section.card {
            p.muted { (staff.t("staffgram.settings.steps")) }
            @if let Some(code) = &group.link_code {
                p { (staff.t("staffgram.settings.code")) " " code { "/link " (code) } }
            }
            form method="post" action="/settings/staff-group/code" {
                (csrf_field(staff))
                button type="submit" { (staff.t("staffgram.settings.make_code")) }
            }
        }
    }
}

/// Runs one crm-lib call of this page's forms, then shows the page again.
async fn act<F>(
    state: AppState,
    staff: Staff,
    headers: HeaderMap,
    form: GroupForm,
    call: F,
) -> Result<Response, AppError>
where
    F: FnOnce(&crm_lib::Crm, &crm_lib::model::Actor, &GroupForm) -> crm_lib::Result<StaffGroup>
        + Send
        + 'static,
{
    csrf::verify(&staff, &form.csrf, &headers)?;
    let actor = staff.actor.clone();
    match state
        .blocking(move |crm| Ok(call(crm, &actor, &form)))
        .await?
    {
        Ok(_) => Ok(Redirect::to("/settings/staff-group?done=staff_group_saved").into_response()),
        Err(error) => {
            let (status, error) = form_failure(error)?;
            Ok((status, group_page(&state, &staff, &error, None).await?).into_response())
        }
    }
}

pub(super) async fn make_code(
    State(state): State<AppState>,
    staff: Staff,
    headers: HeaderMap,
    Form(form): Form<GroupForm>,
) -> Result<Response, AppError> {
    act(state, staff, headers, form, |crm, actor, _| {
        crm.create_staff_group_code(actor)
    })
    .await
}

pub(super) async fn set_enabled(
    State(state): State<AppState>,
    staff: Staff,
    headers: HeaderMap,
    Form(form): Form<GroupForm>,
) -> Result<Response, AppError> {
    act(state, staff, headers, form, |crm, actor, form| {
        crm.set_staff_group_enabled(actor, form.enabled == "on")
    })
    .await
}

pub(super) async fn unlink(
    State(state): State<AppState>,
    staff: Staff,
    headers: HeaderMap,
    Form(form): Form<GroupForm>,
) -> Result<Response, AppError> {
    act(state, staff, headers, form, |crm, actor, _| {
        crm.unlink_staff_group(actor)
    })
    .await
}

#[cfg(test)]
mod tests {
    use crm_lib::model::{BuiltinRole, ChatId, Language};
    use insta::assert_snapshot;

    use super::*;
    use crate::web::testing::{Fixture, pretty};

    #[test]
    fn the_staff_group_page_shows_the_linked_group_its_switch_and_the_link_code() {
        let fixture = Fixture::new("studio");
        let staff = fixture.staff(BuiltinRole::Administrator, Language::EN);
        let unlinked = StaffGroup {
            link_code: Some("ABCD2345".into()),
            ..StaffGroup::default()
        };
        let html = pretty(&group_body(&staff, &unlinked, &FormError::none(), None));
        assert!(html.contains("/link ABCD2345"), "{html}");
        assert!(!html.contains("/settings/staff-group/unlink"), "{html}");
        let linked = StaffGroup {
            chat: Some(ChatId::new(-1_001_234)),
            title: Some("Support team".into()),
            enabled: true,
            link_code: None,
            link_code_expires_at: None,
        };
        assert_snapshot!(pretty(&group_body(
            &staff,
            &linked,
            &FormError::none(),
            None
        )));
    }
}
