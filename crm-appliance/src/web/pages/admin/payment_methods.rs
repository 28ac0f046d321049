//! The payment methods page: methods with their message templates, turned on and off.

use super::*;

/// The payment method form.
#[derive(Debug, Default, Deserialize, Clone)]
pub(super) struct MethodForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    template: String,
}

pub(super) async fn payment_methods(
    State(state): State<AppState>,
    staff: Staff,
    Query(done): Query<Done>,
) -> Result<Markup, AppError> {
    let note = done_note(&staff, &done);
    methods_page(
        &state,
        &staff,
        &MethodForm::default(),
        &FormError::none(),
        note.as_deref(),
    )
    .await
}

pub(super) async fn methods_page(
    state: &AppState,
    staff: &Staff,
    form: &MethodForm,
    error: &FormError,
    note: Option<&str>,
) -> Result<Markup, AppError> {
    let actor = staff.actor.clone();
    let methods = state
        .blocking(move |crm| crm.read(|view| crm_lib::billing::billing_methods_in(view, &actor)))
        .await?;
    Ok(page(
        staff,
        &staff.t("methods.title"),
        Nav::PaymentMethods,
        methods_body(staff, &methods, form, error, note),
    ))
}

/// The page's markup (a pure function of its data).
pub(super) fn methods_body(
    staff: &Staff,
    methods: &[crm_lib::model::PaymentMethod],
    form: &MethodForm,
    error: &FormError,
    note: Option<&str>,
) -> Markup {
    html! {
        (notice(note))
        table {
            thead { tr {
                th { (staff.t("methods.name")) }
                th { (staff.t("methods.template")) }
                th { (staff.t("users.status")) }
                th { span.sr-only { (staff.t("table.actions")) } }
            } }
            tbody {
                @for method in methods {
                    tr {
                        td { (method.name) }
                        td { pre.template { (method.template) } }
                        td { (staff.t(if method.active { "methods.active" } else { "methods.inactive" })) }
                        td {
                            form method="post" action={ "/payment-methods/" (method.id) "/active" } {
                                (csrf_field(staff))
                                input type="hidden" name="active" value=(if method.active { "false" } else { "true" });
                                button.small type="submit" {
                                    (staff.t(if method.active { "methods.deactivate" } else { "methods.activate" }))
                                }
                            }
                        }
                    }
                }
            }
        }
        h2 { (staff.t("methods.new")) }
        form.form.card method="post" action="/payment-methods" {
            (csrf_field(staff))
            (error.general(&["name", "template"]))
            label { (staff.t("methods.name"))
                input type="text" name="name" value=(form.name) required maxlength="64";
                (error.at("name"))
            }
            label { (staff.t("methods.template"))
                textarea name="template" rows="4" maxlength="2000" { (form.template) }
                (error.at("template"))
            }
            p.muted { (staff.t("methods.placeholders")) }
            button type="submit" { (staff.t("methods.create")) }
        }
    }
}

pub(super) async fn create_method(
    State(state): State<AppState>,
    staff: Staff,
    headers: HeaderMap,
    Form(form): Form<MethodForm>,
) -> Result<Response, AppError> {
    csrf::verify(&staff, &form.csrf, &headers)?;
    let (actor, name, template) = (
        staff.actor.clone(),
        form.name.clone(),
        form.template.clone(),
    );
    match state
        .blocking(move |crm| Ok(crm.create_payment_method(&actor, &name, &template)))
        .await?
    {
        Ok(_) => Ok(Redirect::to("/payment-methods?done=method_created").into_response()),
        Err(error) => {
            let (status, error) = form_failure(error)?;
            let markup = methods_page(&state, &staff, &form, &error, None).await?;
            Ok((status, markup).into_response())
        }
    }
}

/// The activate/deactivate form.
#[derive(Debug, Default, Deserialize)]
pub(super) struct ActiveForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    active: String,
}

pub(super) async fn method_active(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    headers: HeaderMap,
    Form(form): Form<ActiveForm>,
) -> Result<Response, AppError> {
    csrf::verify(&staff, &form.csrf, &headers)?;
    let id = id
        .parse()
        .map(PaymentMethodId::new)
        .map_err(|_| AppError::not_found(format!("payment method {id:?} not found")))?;
    let active = form.active == "true";
    let actor = staff.actor.clone();
    state
        .blocking(move |crm| crm.set_payment_method_active(&actor, id, active))
        .await?;
    Ok(Redirect::to("/payment-methods?done=method_changed").into_response())
}
