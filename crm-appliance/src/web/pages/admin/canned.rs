//! Canned responses (`/settings/canned`, `manage_settings`): the list, a form to add one
//! (code, title, the text per language with variables, files), a page to change one, and
//! deletion. crm-lib checks the code, the texts and their variables
//! ([`crm_lib::Tx::create_canned`]); an unknown variable is shown beside the texts.

use axum::extract::Multipart;
use crm_lib::canned::{CannedInput, VARIABLES};
use crm_lib::chat::OutboundFile;
use crm_lib::media::NewMedia;
use crm_lib::model::{CannedId, CannedResponse, Localized};

use super::*;
use crate::web::layout::form_value;

/// A canned response form as posted (multipart, for the files).
#[derive(Debug, Default, Clone)]
pub(super) struct CannedForm {
    /// Every text field as (name, value): `csrf`, `code`, `title`, `text_<language>`,
    /// `keep_files`.
    pub(super) pairs: Vec<(String, String)>,
    /// The files, as (bytes, MIME type, file name).
    pub(super) files: Vec<(Vec<u8>, String, Option<String>)>,
}

impl CannedForm {
    /// The form filled with a stored response.
    pub(super) fn of(canned: &CannedResponse) -> Self {
        let mut pairs = vec![
            ("code".to_string(), canned.code.clone()),
            ("title".to_string(), canned.title.clone()),
        ];
        for (language, text) in canned.texts.iter() {
            pairs.push((format!("text_{}", language.code()), text.to_string()));
        }
        CannedForm {
            pairs,
            files: Vec::new(),
        }
    }

    fn value(&self, name: &str) -> &str {
        form_value(&self.pairs, name)
    }

    /// The texts per language.
    fn texts(&self) -> Localized {
        let mut texts = Localized::default();
        for language in Language::all() {
            texts.set(
                language,
                self.value(&format!("text_{}", language.code())).trim(),
            );
        }
        texts
    }

    /// What crm-lib is given: `kept` files of the stored response, and the uploads.
    fn input(
        &self,
        kept: Vec<crm_lib::model::Attachment>,
    ) -> crm_lib::Result<(CannedInput, Vec<OutboundFile>)> {
        let mut files = Vec::with_capacity(self.files.len());
        for (bytes, mime, file_name) in &self.files {
            let media = NewMedia::parse(bytes.clone(), mime)?;
            files.push(OutboundFile {
                kind: crate::web::api::customers::kind_of(media.mime()),
                media,
                file_name: file_name.clone(),
            });
        }
        Ok((
            CannedInput {
                code: self.value("code").to_string(),
                title: self.value("title").to_string(),
                texts: self.texts(),
                attachments: kept,
            },
            files,
        ))
    }
}

/// Reads the multipart form.
async fn read_form(mut multipart: Multipart) -> Result<CannedForm, AppError> {
    let bad = |error: axum::extract::multipart::MultipartError| {
        AppError::new(error.status(), error.body_text())
    };
    let mut form = CannedForm::default();
    while let Some(field) = multipart.next_field().await.map_err(bad)? {
        let name = field.name().unwrap_or_default().to_string();
        if name == "file" {
            let file_name = field.file_name().map(str::to_string);
            let mime = field
                .content_type()
                .unwrap_or("application/octet-stream")
                .to_string();
            let bytes = field.bytes().await.map_err(bad)?;
            if !bytes.is_empty() {
                form.files.push((
                    bytes.to_vec(),
                    mime,
                    file_name.filter(|name| !name.is_empty()),
                ));
            }
        } else {
            let value = field.text().await.map_err(bad)?;
            form.pairs.push((name, value));
        }
    }
    Ok(form)
}

fn canned_id(text: &str) -> Result<CannedId, AppError> {
    text.parse()
        .map(CannedId::new)
        .map_err(|_| AppError::not_found(format!("canned response {text:?} not found")))
}

/// `GET /settings/canned`.
pub(super) async fn canned(
    State(state): State<AppState>,
    staff: Staff,
    Query(done): Query<Done>,
) -> Result<Markup, AppError> {
    let note = done_note(&staff, &done);
    let actor = staff.actor.clone();
    let list = state.blocking(move |crm| crm.canned_list(&actor)).await?;
    Ok(list_page(
        &staff,
        &list,
        &CannedForm::default(),
        &FormError::none(),
        note.as_deref(),
    ))
}

/// `POST /settings/canned`: adds a response.
pub(super) async fn create_canned(
    State(state): State<AppState>,
    staff: Staff,
    headers: HeaderMap,
    multipart: Multipart,
) -> Result<Response, AppError> {
    let form = read_form(multipart).await?;
    csrf::verify(&staff, form.value("csrf"), &headers)?;
    let actor = staff.actor.clone();
    let posted = form.clone();
    let result = state
        .blocking(move |crm| {
            Ok(posted
                .input(Vec::new())
                .and_then(|(input, files)| crm.create_canned(&actor, input, files)))
        })
        .await?;
    match result {
        Ok(_) => Ok(Redirect::to("/settings/canned?done=canned_saved").into_response()),
        Err(error) => {
            let (status, error) = form_failure(error)?;
            let actor = staff.actor.clone();
            let list = state.blocking(move |crm| crm.canned_list(&actor)).await?;
            Ok((status, list_page(&staff, &list, &form, &error, None)).into_response())
        }
    }
}

/// `GET /settings/canned/{id}`: the form of one response.
pub(super) async fn edit_canned(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
) -> Result<Markup, AppError> {
    let id = canned_id(&id)?;
    let actor = staff.actor.clone();
    let canned = state
        .blocking(move |crm| crm.read(|view| crm_lib::canned::canned_in(view, &actor, id)))
        .await?;
    Ok(edit_page(
        &staff,
        &canned,
        &CannedForm::of(&canned),
        &FormError::none(),
    ))
}

/// `POST /settings/canned/{id}`: changes a response (its files are kept unless
/// `drop_files` is ticked; new files are added).
pub(super) async fn update_canned(
    State(state): State<AppState>,
    staff: Staff,
    headers: HeaderMap,
    Path(id): Path<String>,
    multipart: Multipart,
) -> Result<Response, AppError> {
    let id = canned_id(&id)?;
    let form = read_form(multipart).await?;
    csrf::verify(&staff, form.value("csrf"), &headers)?;
    let actor = staff.actor.clone();
    let posted = form.clone();
    let result = state
        .blocking(move |crm| {
            let before = crm.read(|view| crm_lib::canned::canned_in(view, &actor, id))?;
            let kept = if posted.value("drop_files").is_empty() {
                before.attachments.clone()
            } else {
                Vec::new()
            };
            let saved = posted
                .input(kept)
                .and_then(|(input, files)| crm.update_canned(&actor, id, input, files));
            Ok((before, saved))
        })
        .await?;
    match result {
        (_, Ok(_)) => Ok(Redirect::to("/settings/canned?done=canned_saved").into_response()),
        (before, Err(error)) => {
            let (status, error) = form_failure(error)?;
            Ok((status, edit_page(&staff, &before, &form, &error)).into_response())
        }
    }
}

/// `POST /settings/canned/{id}/delete`.
pub(super) async fn delete_canned(
    State(state): State<AppState>,
    staff: Staff,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    csrf::verify(&staff, form_value(&pairs, "csrf"), &headers)?;
    let id = canned_id(&id)?;
    let actor = staff.actor.clone();
    state
        .blocking(move |crm| crm.delete_canned(&actor, id))
        .await?;
    Ok(Redirect::to("/settings/canned?done=canned_deleted").into_response())
}

/// The fields of a response: code, title, a text per language, files.
fn fields(staff: &Staff, form: &CannedForm, error: &FormError, files: usize) -> Markup {
    let variables: Vec<String> = VARIABLES.iter().map(|name| format!("{{{name}}}")).collect();
    html! {
        (csrf_field(staff))
        (error.general(&["code", "title", "texts", "attachments", "media"]))
        label { (staff.t("canned.code"))
            input type="text" name="code" required maxlength="32" pattern="/?[A-Za-z0-9_\\-]+"
                value=(form.value("code")) aria-describedby="canned-code-help";
            small #canned-code-help { (staff.t("canned.code_help")) }
            (error.at("code"))
        }
        label { (staff.t("canned.title_field"))
            input type="text" name="title" required maxlength="100" value=(form.value("title"));
            (error.at("title"))
        }
        fieldset {
            legend { (staff.t("canned.texts")) }
            p.help #canned-variables { (staff.t("canned.variables")) " " code { (variables.join(" ")) } }
            @for language in Language::all() {
                @let name = format!("text_{}", language.code());
                label { (language.native_name())
                    textarea name=(name) rows="3" maxlength="4096" aria-describedby="canned-variables" { (form.value(&name)) }
                }
            }
            (error.at("texts"))
        }
        label { (staff.t("canned.files"))
            input type="file" name="file" multiple accept="image/*,application/pdf,.doc,.docx,.xls,.xlsx,.txt,.zip";
            (error.at("attachments"))
            (error.at("media"))
        }
        @if files > 0 {
            label.check {
                input type="checkbox" name="drop_files" value="1";
                (staff.t("canned.drop_files")) " (" (files) ")"
            }
        }
    }
}

fn list_page(
    staff: &Staff,
    list: &[CannedResponse],
    form: &CannedForm,
    error: &FormError,
    note: Option<&str>,
) -> Markup {
    page(
        staff,
        &staff.t("canned.title"),
        Nav::Settings,
        canned_body(staff, list, form, error, note),
    )
}

/// The list page's markup (a pure function of its data).
pub(super) fn canned_body(
    staff: &Staff,
    list: &[CannedResponse],
    form: &CannedForm,
    error: &FormError,
    note: Option<&str>,
) -> Markup {
    html! {
        (notice(note))
        p { a href="/settings" { "← " (staff.t("settings.title")) } }
        p.help { (staff.t("canned.intro")) }
        @if list.is_empty() {
            p.empty { (staff.t("canned.none")) }
        } @else {
            table {
                thead { tr {
                    th { (staff.t("canned.code")) }
                    th { (staff.t("canned.title_field")) }
                    th { (staff.t("canned.languages")) }
                    th { (staff.t("canned.files")) }
                    th { span.sr-only { (staff.t("table.actions")) } }
                } }
                tbody {
                    @for canned in list {
                        tr data-canned=(canned.code) {
                            td { code { "/" (canned.code) } }
                            td { a href={ "/settings/canned/" (canned.id) } { (canned.title) } }
                            td { (canned.texts.iter().map(|(language, _)| language.code()).collect::<Vec<_>>().join(", ")) }
                            td { (canned.attachments.len()) }
                            td {
                                form method="post" action={ "/settings/canned/" (canned.id) "/delete" } {
                                    (csrf_field(staff))
                                    button.small.danger type="submit" { (staff.t("canned.delete")) }
                                }
                            }
                        }
                    }
                }
            }
        }
        form.form.card method="post" action="/settings/canned" enctype="multipart/form-data" autocomplete="off" {
            h2 { (staff.t("canned.add")) }
            (fields(staff, form, error, 0))
            button type="submit" { (staff.t("form.save")) }
        }
    }
}

fn edit_page(
    staff: &Staff,
    canned: &CannedResponse,
    form: &CannedForm,
    error: &FormError,
) -> Markup {
    page(
        staff,
        &staff.t("canned.title"),
        Nav::Settings,
        html! {
            p { a href="/settings/canned" { "← " (staff.t("canned.title")) } }
            form.form.card method="post" action={ "/settings/canned/" (canned.id) } enctype="multipart/form-data" autocomplete="off" {
                h2 { code { "/" (canned.code) } }
                (fields(staff, form, error, canned.attachments.len()))
                button type="submit" { (staff.t("form.save")) }
            }
        },
    )
}
