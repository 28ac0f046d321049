//! Canned responses (issue 12): prepared replies with variables, per language, with optional
//! files, that staff insert by typing `/` in the composer. Managed with `manage_settings`;
//! listed and rendered for a customer with `chat_customers`.
//!
//! A text may name the variables of [`VARIABLES`] in braces (`Hello {customer.first_name}`).
//! Saving refuses an unknown variable and an unbalanced brace (invalid input on `texts`
//! naming it), so rendering never meets one. Rendering fills them for one customer and,
//! optionally, one order: a variable whose value is absent (no order, no last name, no
//! username, the system as the operator) renders as empty text.

use crate::model::*;
use crate::store::{Key, ViewExt, tables};
use crate::{Crm, Error, Result, Tx, View};

use super::chat::{MESSAGE_MAX_CHARS, OutboundFile, check_attachments, current_order_of};
use super::customers::load_customer;
use super::orders::load_order;
use super::{Resolved, clean_text, load_org, require};

/// The variables a canned text may name, in braces: `{customer.first_name}`.
pub const VARIABLES: &[&str] = &[
    "customer.first_name",
    "customer.last_name",
    "customer.name",
    "customer.username",
    "order.number",
    "order.title",
    "order.stage",
    "operator.name",
    "org.name",
];

/// The longest code, in characters.
pub const CODE_MAX_CHARS: usize = 32;

/// The longest title, in characters.
pub const TITLE_MAX_CHARS: usize = 100;

/// The most canned responses an organization keeps.
pub const CANNED_MAX: usize = 500;

/// What staff give when creating or changing a canned response.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CannedInput {
    /// The code typed after `/`: 1-32 of `a-z`, `0-9`, `_`, `-` (upper case is lowered).
    pub code: String,
    /// The title shown in lists, 1-100 characters.
    pub title: String,
    /// The text per language; at least one, each at most 4096 characters, with variables.
    pub texts: Localized,
    /// Files already stored (kept from the response's previous version, or uploaded).
    pub attachments: Vec<Attachment>,
}

/// A canned response rendered for one customer: what the composer inserts.
#[derive(Debug, Clone, PartialEq)]
pub struct RenderedCanned {
    /// The response.
    pub id: CannedId,
    /// Its code.
    pub code: String,
    /// Its title.
    pub title: String,
    /// The text in the customer's language (else the organization's, else any), with the
    /// variables filled.
    pub text: String,
    /// Its files.
    pub attachments: Vec<Attachment>,
}

/// Checks the variables of a canned text: every `{` closes with `}` around a name of
/// [`VARIABLES`], and no `}` stands alone.
///
/// # Errors
/// Invalid input on `field`, naming the unknown variable or the unbalanced brace.
pub fn check_variables(field: &'static str, text: &str) -> Result<()> {
    let mut rest = text;
    while let Some(open) = rest.find(['{', '}']) {
        if rest[open..].starts_with('}') {
            return Err(Error::invalid(
                field,
                "unbalanced brace: a \"}\" closes no \"{\"",
            ));
        }
        let after = &rest[open + 1..];
        let Some(close) = after
            .find(['{', '}'])
            .filter(|at| after[*at..].starts_with('}'))
        else {
            return Err(Error::invalid(
                field,
                "unbalanced brace: a \"{\" is not closed by \"}\"",
            ));
        };
        let name = after[..close].trim();
        if !VARIABLES.contains(&name) {
            return Err(Error::invalid(
                field,
                format!(
                    "unknown variable {{{name}}}; known: {}",
                    VARIABLES
                        .iter()
                        .map(|variable| format!("{{{variable}}}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ));
        }
        rest = &after[close + 1..];
    }
    Ok(())
}

/// Fills the variables of a checked text with `value` (a name of [`VARIABLES`] -> its text;
/// `None` renders as empty text). Braces that name no variable are kept as written.
pub fn fill_variables(text: &str, value: impl Fn(&str) -> Option<String>) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        match after.find('}') {
            Some(close) if VARIABLES.contains(&after[..close].trim()) => {
                out.push_str(&value(after[..close].trim()).unwrap_or_default());
                rest = &after[close + 1..];
            }
            _ => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// The key of a canned response.
fn canned_key(org: OrgId, id: CannedId) -> Key {
    Key::org(org).u64(id.0)
}

/// Reads a canned response or fails with not found.
pub(crate) fn load_canned(view: &impl View, org: OrgId, id: CannedId) -> Result<CannedResponse> {
    view.get(tables::CANNED_RESPONSES, &canned_key(org, id))?
        .ok_or_else(|| Error::not_found(CannedId::LABEL, id))
}

/// Every canned response of the organization, by code.
fn all_canned(view: &impl View, org: OrgId) -> Result<Vec<CannedResponse>> {
    let mut all: Vec<CannedResponse> =
        view.records_with_prefix(tables::CANNED_RESPONSES, &Key::org(org))?;
    all.sort_by(|a, b| a.code.cmp(&b.code));
    Ok(all)
}

/// Checks a code: 1-32 of `a-z`, `0-9`, `_`, `-`, lowered.
fn checked_code(code: &str) -> Result<String> {
    let code = code.trim().trim_start_matches('/').to_lowercase();
    if code.is_empty() {
        return Err(Error::invalid("code", "must not be empty"));
    }
    if code.chars().count() > CODE_MAX_CHARS
        || !code
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
    {
        return Err(Error::invalid(
            "code",
            format!("{code:?} is not a code: 1-{CODE_MAX_CHARS} of a-z, 0-9, _ and -"),
        ));
    }
    Ok(code)
}

/// Checks everything of an input but its files; `except` is the response being changed.
fn checked_input(
    view: &impl View,
    org: OrgId,
    input: &CannedInput,
    except: Option<CannedId>,
) -> Result<(String, String, Localized)> {
    let code = checked_code(&input.code)?;
    let title = clean_text("title", &input.title, 1, TITLE_MAX_CHARS)?;
    let mut texts = Localized::default();
    for (language, text) in input.texts.iter() {
        if text.trim().is_empty() {
            continue;
        }
        let text = clean_text("texts", text, 1, MESSAGE_MAX_CHARS)?;
        check_variables("texts", &text)?;
        texts.set(language, text);
    }
    if texts.is_empty() {
        return Err(Error::invalid(
            "texts",
            "give the text in at least one language",
        ));
    }
    let all = all_canned(view, org)?;
    if all
        .iter()
        .any(|other| Some(other.id) != except && other.code == code)
    {
        return Err(Error::conflict(format!(
            "a canned response with code /{code} exists"
        )));
    }
    if except.is_none() && all.len() >= CANNED_MAX {
        return Err(Error::conflict(format!(
            "an organization keeps at most {CANNED_MAX} canned responses"
        )));
    }
    Ok((code, title, texts))
}

/// The attachments of an input with `files` (received with the request, stored only once
/// every check passed) after them: each checked as a message's.
fn checked_files(
    tx: &Tx<'_>,
    org: OrgId,
    attachments: &[Attachment],
    files: &[OutboundFile],
) -> Result<(Vec<Attachment>, Vec<Media>)> {
    let pending: Vec<Media> = files
        .iter()
        .map(|file| file.media.record(tx.now()))
        .collect();
    let mut all = attachments.to_vec();
    all.extend(files.iter().zip(&pending).map(|(file, media)| Attachment {
        media: media.hash,
        kind: file.kind,
        file_name: file.file_name.clone(),
        mime: media.mime.clone(),
        size: media.size,
    }));
    Ok((check_attachments(tx, org, all, &pending)?, pending))
}

/// Every canned response, by code. Staff with `chat_customers` or `manage_settings` may
/// list them.
///
/// # Errors
/// Permission denied (naming `chat_customers`).
pub fn canned_list_in(view: &impl View, actor: &Actor) -> Result<Vec<CannedResponse>> {
    let resolved = super::resolve(view, actor)?;
    if !resolved.has(Permission::ChatCustomers) && !resolved.has(Permission::ManageSettings) {
        return Err(Error::denied(
            Permission::ChatCustomers,
            format!("{} lacks the chat_customers permission", actor.who),
        ));
    }
    all_canned(view, actor.org)
}

/// One canned response (as [`canned_list_in`]).
///
/// # Errors
/// Permission denied; not found.
pub fn canned_in(view: &impl View, actor: &Actor, id: CannedId) -> Result<CannedResponse> {
    canned_list_in(view, actor)?
        .into_iter()
        .find(|canned| canned.id == id)
        .ok_or_else(|| Error::not_found(CannedId::LABEL, id))
}

/// The canned responses whose code or title starts with (code) or contains (title, ignoring
/// case) `query` (all of them for an empty query), rendered for `customer` and `order` (the
/// customer's current order when `None`, see [`super::chat::current_order_in`]): the
/// customer's language, else the organization's default, else any; the variables filled,
/// the operator being the actor. At most 20, by code. Needs `chat_customers`.
///
/// # Errors
/// Permission denied (naming `chat_customers`); not found (customer, order, or an order of
/// another customer).
pub fn render_canned_in(
    view: &impl View,
    actor: &Actor,
    customer: CustomerId,
    order: Option<OrderId>,
    query: &str,
) -> Result<Vec<RenderedCanned>> {
    let resolved = require(view, actor, Permission::ChatCustomers)?;
    let org = load_org(view, actor.org)?;
    let customer = load_customer(view, actor.org, customer)?;
    let order = match order {
        Some(id) => {
            let order = load_order(view, actor.org, id)?;
            if order.customer != customer.id {
                return Err(Error::not_found(OrderId::LABEL, id));
            }
            Some(order)
        }
        None => match current_order_of(view, actor.org, customer.id)? {
            Some(id) => Some(load_order(view, actor.org, id)?),
            None => None,
        },
    };
    let operator = match &resolved {
        Resolved::Staff(user, _) => Some(user.display_name.clone()),
        _ => None,
    };
    let query = query.trim().trim_start_matches('/').to_lowercase();
    let language = customer.language;
    let value = |name: &str| -> Option<String> {
        match name {
            "customer.first_name" => Some(customer.first_name.clone()),
            "customer.last_name" => customer.last_name.clone(),
            "customer.name" => Some(customer.full_name()),
            "customer.username" => customer.username.clone(),
            "order.number" => order.as_ref().map(|order| order.id.to_string()),
            "order.title" => order.as_ref().map(|order| order.title.clone()),
            "order.stage" => order.as_ref().and_then(|order| {
                org.pipeline
                    .stage(order.stage)
                    .map(|stage| stage.name.get(language).to_string())
            }),
            "operator.name" => operator.clone(),
            "org.name" => Some(org.name.clone()),
            _ => None,
        }
    };
    let mut out = Vec::new();
    for canned in all_canned(view, actor.org)? {
        let matches = query.is_empty()
            || canned.code.starts_with(&query)
            || canned.title.to_lowercase().contains(&query);
        if !matches {
            continue;
        }
        let text = canned
            .texts
            .exact(language)
            .or_else(|| canned.texts.exact(org.settings.locale))
            .unwrap_or_else(|| canned.texts.get(language));
        out.push(RenderedCanned {
            id: canned.id,
            code: canned.code.clone(),
            title: canned.title.clone(),
            text: fill_variables(text, value),
            attachments: canned.attachments.clone(),
        });
        if out.len() == 20 {
            break;
        }
    }
    Ok(out)
}

impl Tx<'_> {
    /// Creates a canned response. Needs `manage_settings`. `files` (received with the
    /// request) are stored only once every check passed, after `input.attachments`.
    ///
    /// # Errors
    /// Permission denied; invalid input on `code`, `title`, `texts` (an unknown variable or
    /// an unbalanced brace, named) or `attachments` (at most 10); not found for an attached
    /// file not stored; conflict for a code in use or over [`CANNED_MAX`] responses.
    pub fn create_canned(
        &mut self,
        actor: &Actor,
        input: CannedInput,
        files: Vec<OutboundFile>,
    ) -> Result<CannedResponse> {
        require(self, actor, Permission::ManageSettings)?;
        let (code, title, texts) = checked_input(self, actor.org, &input, None)?;
        let (attachments, _) = checked_files(self, actor.org, &input.attachments, &files)?;
        for file in &files {
            self.store_new_media(actor.org, &file.media)?;
        }
        let id = CannedId(self.next_id(actor.org, "canned")?);
        let canned = CannedResponse {
            id,
            code,
            title,
            texts,
            attachments,
            created_at: self.now(),
            updated_at: self.now(),
        };
        self.insert_record(&canned_key(actor.org, id), &canned)?;
        self.audit(
            actor,
            AuditAction::CannedCreated,
            Subject::Canned(id),
            AuditDetail::Text(format!("/{}", canned.code)),
        )?;
        self.changed(actor.org, Subject::Canned(id), ChangeKind::Created)?;
        Ok(canned)
    }

    /// Replaces a canned response's code, title, texts and files (`input.attachments` are the
    /// files it keeps; `files` are added). Needs `manage_settings`.
    ///
    /// # Errors
    /// As [`Tx::create_canned`]; not found for an unknown response.
    pub fn update_canned(
        &mut self,
        actor: &Actor,
        id: CannedId,
        input: CannedInput,
        files: Vec<OutboundFile>,
    ) -> Result<CannedResponse> {
        require(self, actor, Permission::ManageSettings)?;
        let before = load_canned(self, actor.org, id)?;
        let (code, title, texts) = checked_input(self, actor.org, &input, Some(id))?;
        let (attachments, _) = checked_files(self, actor.org, &input.attachments, &files)?;
        for file in &files {
            self.store_new_media(actor.org, &file.media)?;
        }
        let after = CannedResponse {
            code,
            title,
            texts,
            attachments,
            updated_at: self.now(),
            ..before.clone()
        };
        self.update_record(&canned_key(actor.org, id), &before, &after)?;
        self.audit(
            actor,
            AuditAction::CannedUpdated,
            Subject::Canned(id),
            AuditDetail::Text(format!("/{}", after.code)),
        )?;
        self.changed(actor.org, Subject::Canned(id), ChangeKind::Updated)?;
        Ok(after)
    }

    /// Deletes a canned response (its files stay until retention finds nothing refers to
    /// them). Needs `manage_settings`.
    ///
    /// # Errors
    /// Permission denied; not found.
    pub fn delete_canned(&mut self, actor: &Actor, id: CannedId) -> Result<()> {
        require(self, actor, Permission::ManageSettings)?;
        let before = load_canned(self, actor.org, id)?;
        self.delete_record(&canned_key(actor.org, id), &before)?;
        self.audit(
            actor,
            AuditAction::CannedDeleted,
            Subject::Canned(id),
            AuditDetail::Text(format!("/{}", before.code)),
        )?;
        self.changed(actor.org, Subject::Canned(id), ChangeKind::Deleted)?;
        Ok(())
    }
}

impl Crm {
    /// See [`Tx::create_canned`].
    ///
    /// # Errors
    /// See [`Tx::create_canned`].
    pub fn create_canned(
        &self,
        actor: &Actor,
        input: CannedInput,
        files: Vec<OutboundFile>,
    ) -> Result<CannedResponse> {
        let actor = actor.clone();
        self.write(move |tx| tx.create_canned(&actor, input, files))
    }

    /// See [`Tx::update_canned`].
    ///
    /// # Errors
    /// See [`Tx::update_canned`].
    pub fn update_canned(
        &self,
        actor: &Actor,
        id: CannedId,
        input: CannedInput,
        files: Vec<OutboundFile>,
    ) -> Result<CannedResponse> {
        let actor = actor.clone();
        self.write(move |tx| tx.update_canned(&actor, id, input, files))
    }

    /// See [`Tx::delete_canned`].
    ///
    /// # Errors
    /// See [`Tx::delete_canned`].
    pub fn delete_canned(&self, actor: &Actor, id: CannedId) -> Result<()> {
        let actor = actor.clone();
        self.write(move |tx| tx.delete_canned(&actor, id))
    }

    /// See [`canned_list_in`].
    ///
    /// # Errors
    /// See [`canned_list_in`].
    pub fn canned_list(&self, actor: &Actor) -> Result<Vec<CannedResponse>> {
        self.read(|view| canned_list_in(view, actor))
    }

    /// See [`render_canned_in`].
    ///
    /// # Errors
    /// See [`render_canned_in`].
    pub fn render_canned(
        &self,
        actor: &Actor,
        customer: CustomerId,
        order: Option<OrderId>,
        query: &str,
    ) -> Result<Vec<RenderedCanned>> {
        self.read(|view| render_canned_in(view, actor, customer, order, query))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variables_are_checked_and_filled() {
        assert!(check_variables("t", "Hi {customer.first_name}, order {order.number}").is_ok());
        assert!(check_variables("t", "no variables").is_ok());
        let unknown = check_variables("t", "Hi {customer.age}").unwrap_err();
        assert!(unknown.to_string().contains("{customer.age}"), "{unknown}");
        assert!(check_variables("t", "Hi {customer.first_name").is_err());
        assert!(check_variables("t", "Hi customer}").is_err());
        assert!(check_variables("t", "Hi {{customer.name}}").is_err());
        let filled = fill_variables("Hi {customer.first_name}{order.title}!", |name| {
            (name == "customer.first_name").then(|| "Ann".to_string())
        });
        assert_eq!(filled, "Hi Ann!");
    }
}
