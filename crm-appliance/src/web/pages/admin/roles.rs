//! The roles page: the built-in and custom roles with their permissions.

use super::*;
use crate::web::layout::form_value;

pub(super) async fn roles(
    State(state): State<AppState>,
    staff: Staff,
    Query(done): Query<Done>,
) -> Result<Markup, AppError> {
    let note = done_note(&staff, &done);
    roles_page(
        &state,
        &staff,
        "",
        PermissionSet::EMPTY,
        &FormError::none(),
        note.as_deref(),
    )
    .await
}

pub(super) async fn roles_page(
    state: &AppState,
    staff: &Staff,
    name: &str,
    chosen: PermissionSet,
    error: &FormError,
    note: Option<&str>,
) -> Result<Markup, AppError> {
    if !staff.navigation().roles {
        return Err(AppError::forbidden(staff.t("roles.forbidden")));
    }
    let actor = staff.actor.clone();
    let roles = state
        .blocking(move |crm| crm.read(|view| crm_lib::team::roles_in(view, &actor)))
        .await?;
    Ok(page(
        staff,
        &staff.t("roles.title"),
        Nav::Roles,
        roles_body(staff, &roles, name, chosen, error, note),
    ))
}

/// The page's markup (a pure function of its data).
pub(super) fn roles_body(
    staff: &Staff,
    roles: &[crm_lib::model::Role],
    name: &str,
    chosen: PermissionSet,
    error: &FormError,
    note: Option<&str>,
) -> Markup {
    html! {
        (notice(note))
        (error.general(&["name"]))
        p.muted { (staff.t("roles.edit_hint")) }
        div.table-scroll {
            // A custom role's checkboxes belong to that column's form (the `form`
            // attribute), so each column saves on its own; built-in columns stay read-only.
            table.permissions {
                thead { tr {
                    th { (staff.t("roles.permission")) }
                    @for role in roles {
                        th {
                            (role.name)
                            @if role.builtin.is_some() { br; span.muted.small { (staff.t("roles.builtin")) } }
                        }
                    }
                } }
                tbody {
                    @for permission in Permission::ALL {
                        tr {
                            td { code { (permission.as_str()) } }
                            @for role in roles {
                                td {
                                    @if role.builtin.is_some() {
                                        input type="checkbox" disabled checked[role.permissions.contains(permission)]
                                            aria-label={ (role.name) " " (permission.as_str()) };
                                    } @else {
                                        input type="checkbox" name="permission" value=(permission.as_str())
                                            form={ "role-" (role.id) }
                                            checked[role.permissions.contains(permission)]
                                            aria-label={ (role.name) " " (permission.as_str()) };
                                    }
                                }
                            }
                        }
                    }
                }
                tfoot { tr {
                    td {}
                    @for role in roles {
                        td {
                            @if role.builtin.is_none() {
                                form id={ "role-" (role.id) } method="post" action={ "/roles/" (role.id) "/permissions" } {
                                    (csrf_field(staff))
                                    button.small type="submit" { (staff.t("roles.save")) }
                                }
                            }
                        }
                    }
                } }
            }
        }
        h2 { (staff.t("roles.new")) }
        form.form.card method="post" action="/roles" {
            (csrf_field(staff))
            label { (staff.t("roles.name"))
                input type="text" name="name" value=(name) required;
                (error.at("name"))
            }
            fieldset.checks {
                @for permission in Permission::ALL {
                    label.check {
                        input type="checkbox" name="permission" value=(permission.as_str()) checked[chosen.contains(permission)];
                        (permission.as_str())
                    }
                }
            }
            button type="submit" { (staff.t("roles.create")) }
        }
    }
}

pub(super) async fn create_role(
    State(state): State<AppState>,
    staff: Staff,
    headers: HeaderMap,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let value = |name: &str| form_value(&pairs, name).to_string();
    csrf::verify(&staff, &value("csrf"), &headers)?;
    let name = value("name");
    let permissions = checked_permissions(&pairs)?;
    let actor = staff.actor.clone();
    let role_name = name.clone();
    match state
        .blocking(move |crm| Ok(crm.create_role(&actor, &role_name, permissions)))
        .await?
    {
        Ok(_) => Ok(Redirect::to("/roles?done=role_created").into_response()),
        Err(error) => {
            let (status, error) = form_failure(error)?;
            let markup = roles_page(&state, &staff, &name, permissions, &error, None).await?;
            Ok((status, markup).into_response())
        }
    }
}

/// The permissions checked in a roles form; an unknown name is a 422 on `permission`.
pub(super) fn checked_permissions(pairs: &[(String, String)]) -> Result<PermissionSet, AppError> {
    let mut permissions = PermissionSet::EMPTY;
    for (_, text) in pairs.iter().filter(|(key, _)| key == "permission") {
        permissions.insert(Permission::parse("permission", text)?);
    }
    Ok(permissions)
}

/// `POST /roles/{id}/permissions`: replaces a custom role's permissions with the checked ones.
pub(super) async fn role_permissions(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    headers: HeaderMap,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    csrf::verify(&staff, form_value(&pairs, "csrf"), &headers)?;
    let role = id
        .parse()
        .map(RoleId::new)
        .map_err(|_| AppError::not_found(format!("role {id:?} not found")))?;
    let permissions = checked_permissions(&pairs)?;
    let actor = staff.actor.clone();
    match state
        .blocking(move |crm| Ok(crm.set_role_permissions(&actor, role, permissions)))
        .await?
    {
        Ok(_) => {
            // Every holder's cached permissions are stale now.
            state.web().sessions.clear();
            Ok(Redirect::to("/roles?done=role_changed").into_response())
        }
        Err(error) => {
            let (status, error) = form_failure(error)?;
            let markup = roles_page(&state, &staff, "", PermissionSet::EMPTY, &error, None).await?;
            Ok((status, markup).into_response())
        }
    }
}
