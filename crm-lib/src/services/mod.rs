//! Use cases, one module per area. Each module adds methods to [`crate::Tx`] (the use case
//! itself, usable inside a larger transaction) and to [`crate::Crm`] (the same use case in a
//! transaction of its own), plus read queries generic over [`crate::View`].

pub mod admin;
pub mod analytics;
pub mod api_tokens;
pub mod audit;
pub mod billing;
pub mod broadcasts;
pub mod calls;
pub mod canned;
pub mod capabilities;
pub mod chat;
pub mod csat;
pub mod customers;
pub mod demo;
pub mod export;
pub mod forms;
pub mod hours;
pub mod import;
pub mod inbox;
pub mod jobs;
pub mod leads;
pub mod live;
pub mod media;
pub mod merge;
pub mod mini_app;
pub mod operators;
pub mod orders;
pub mod org;
pub mod payments;
pub mod profiles;
pub mod projects;
pub mod retention;
pub mod scheduled;
pub mod sessions;
pub mod staff_chat;
pub mod staffing;
pub mod team;
pub mod telegram;
pub mod tenants;
#[cfg(test)]
mod tests;
pub mod tickets;
pub mod tokens;
pub mod webhooks;

use crate::model::{
    Actor, ActorRef, Message, MessageId, OrgId, Organization, Permission, PermissionSet, User,
    UserStatus,
};
use crate::store::{Key, ViewExt, tables};
use crate::{Error, Result, View};

/// Keyset pagination: at most `limit` items strictly after the cursor `after` (in the
/// listing's order). `limit` is clamped to 1..=500.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    /// The `next` cursor of the previous page; `None` for the first page.
    pub after: Option<u64>,
    /// Page size.
    pub limit: usize,
}

impl Page {
    /// The largest page.
    pub const MAX: usize = 500;

    /// The first page of `limit` items.
    pub fn first(limit: usize) -> Self {
        Page { after: None, limit }
    }

    /// The page after cursor `after`.
    pub fn after(after: u64, limit: usize) -> Self {
        Page {
            after: Some(after),
            limit,
        }
    }

    pub(crate) fn size(self) -> usize {
        self.limit.clamp(1, Self::MAX)
    }
}

impl Default for Page {
    fn default() -> Self {
        Page::first(50)
    }
}

/// One page of a listing.
#[derive(Debug, Clone, PartialEq)]
pub struct Paged<T> {
    /// The items.
    pub items: Vec<T>,
    /// The cursor for the next page, when there may be more.
    pub next: Option<u64>,
}

/// Reads the organization or fails with not found.
pub(crate) fn load_org(view: &impl View, org: OrgId) -> Result<Organization> {
    view.get(tables::ORGS, &Key::org(org))?
        .ok_or_else(|| Error::not_found(OrgId::LABEL, org))
}

/// The key of a message in `messages`: organization, message id.
pub(crate) fn message_key(org: OrgId, message: MessageId) -> Key {
    Key::org(org).u64(message.0)
}

// The form engine's definitions (`forms`, `profiles`), here so that the profiles, which the
// engine creates, need not import the engine.

/// The form's definition of a new organization of `template`: its registration form or its
/// fixed qualification questions (empty when the template declares none).
pub(crate) fn template_form(template: &str, form: crate::model::FormName) -> crate::model::FormDef {
    let Ok(template) = crate::templates::template(template) else {
        return crate::model::FormDef::default();
    };
    match form {
        crate::model::FormName::Registration => template.registration,
        crate::model::FormName::Qualification => template.qualification,
    }
}

/// Fails with not found (`module tokens`) when the organization does not run `module`.
pub(crate) fn require_module(
    view: &impl View,
    org: OrgId,
    module: crate::model::Module,
) -> Result<Organization> {
    let org = load_org(view, org)?;
    if org.modules.contains(module) {
        Ok(org)
    } else {
        Err(Error::not_found("module", module.as_str()))
    }
}

/// The organization's definition of `form` (its template's when it has none stored).
pub(crate) fn form_def(
    view: &impl View,
    org: &Organization,
    form: crate::model::FormName,
) -> Result<crate::model::FormDef> {
    Ok(view
        .get::<crate::model::FormDef>(
            tables::FORMS,
            &crate::store::declarations::form_key(org.id, form),
        )?
        .unwrap_or_else(|| template_form(&org.template, form)))
}

/// Reads a customer or fails with not found (here rather than in `customers.rs`, so that the
/// projections `customers.rs` refreshes on every save can read it without a circle).
pub(crate) fn load_customer(
    view: &impl View,
    org: OrgId,
    customer: crate::model::CustomerId,
) -> Result<crate::model::Customer> {
    view.get(tables::CUSTOMERS, &Key::org(org).u64(customer.0))?
        .ok_or_else(|| Error::not_found(crate::model::CustomerId::LABEL, customer))
}

/// Reads a message (the chat's, the bot's and the media's use cases) or fails with not found.
pub(crate) fn load_message(view: &impl View, org: OrgId, message: MessageId) -> Result<Message> {
    view.get(tables::MESSAGES, &message_key(org, message))?
        .ok_or_else(|| Error::not_found(MessageId::LABEL, message))
}

/// The union of the permissions of `user`'s roles.
pub(crate) fn permissions_of(view: &impl View, org: OrgId, user: &User) -> Result<PermissionSet> {
    let mut set = PermissionSet::EMPTY;
    for role in &user.roles {
        if let Some(role) =
            view.get::<crate::model::Role>(tables::ROLES, &Key::org(org).u64(role.0))?
        {
            set = set.union(role.permissions);
        }
    }
    Ok(set)
}

/// Who the actor is, resolved: the staff user and their permissions, a customer, or the
/// system.
pub(crate) enum Resolved {
    Staff(Box<User>, PermissionSet),
    Customer(crate::model::CustomerId),
    System,
}

impl Resolved {
    pub(crate) fn has(&self, permission: Permission) -> bool {
        match self {
            Resolved::Staff(_, set) => set.contains(permission),
            Resolved::Customer(_) => false,
            Resolved::System => true,
        }
    }

    /// The permissions the actor holds: a staff user's through their roles, every one for
    /// the system, none for a customer.
    pub(crate) fn permissions(&self) -> PermissionSet {
        match self {
            Resolved::Staff(_, set) => *set,
            Resolved::Customer(_) => PermissionSet::EMPTY,
            Resolved::System => PermissionSet::all(),
        }
    }

    pub(crate) fn user_id(&self) -> Option<crate::model::UserId> {
        match self {
            Resolved::Staff(user, _) => Some(user.id),
            _ => None,
        }
    }
}

/// Resolves `actor`; a disabled or unknown staff user is refused.
pub(crate) fn resolve(view: &impl View, actor: &Actor) -> Result<Resolved> {
    match actor.who {
        ActorRef::System => Ok(Resolved::System),
        ActorRef::Customer(customer) => Ok(Resolved::Customer(customer)),
        ActorRef::Staff(user_id) => {
            let user: User = view
                .get(tables::USERS, &Key::org(actor.org).u64(user_id.0))?
                .ok_or_else(|| {
                    Error::forbidden(format!(
                        "user {user_id} does not exist in this organization"
                    ))
                })?;
            if user.status == UserStatus::Disabled {
                return Err(Error::forbidden(format!(
                    "user {} is disabled",
                    user.username
                )));
            }
            let permissions = permissions_of(view, actor.org, &user)?;
            Ok(Resolved::Staff(Box::new(user), permissions))
        }
    }
}

/// Resolves `actor` and checks that it holds `permission` (the system always does; customers
/// never do).
pub(crate) fn require(view: &impl View, actor: &Actor, permission: Permission) -> Result<Resolved> {
    let resolved = resolve(view, actor)?;
    if resolved.has(permission) {
        Ok(resolved)
    } else {
        Err(Error::denied(
            permission,
            format!("{} lacks the {permission} permission", actor.who),
        ))
    }
}

/// Trims `text` and checks its length in characters; control characters other than newline
/// and tab are refused.
pub(crate) fn clean_text(
    field: &'static str,
    text: &str,
    min: usize,
    max: usize,
) -> Result<String> {
    let text = text.trim();
    let chars = text.chars().count();
    if chars < min {
        return Err(if min == 1 {
            Error::invalid(field, "must not be empty")
        } else {
            Error::invalid(field, format!("must be at least {min} characters"))
        });
    }
    if chars > max {
        return Err(Error::invalid(
            field,
            format!("must be at most {max} characters (got {chars})"),
        ));
    }
    if text
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t' && c != '\r')
    {
        return Err(Error::invalid(field, "must not contain control characters"));
    }
    Ok(text.to_string())
}

/// A name staff typed in one or more languages: each translation cleaned as [`clean_text`]
/// (empty ones dropped); at least one must remain. The field named in errors is `field`.
pub(crate) fn clean_localized(
    field: &'static str,
    name: &crate::model::Localized,
    max: usize,
) -> Result<crate::model::Localized> {
    let mut clean = crate::model::Localized::default();
    for (language, text) in name.iter() {
        if !text.trim().is_empty() {
            clean.set(language, clean_text(field, text, 1, max)?);
        }
    }
    if clean.is_empty() {
        return Err(Error::invalid(field, "must not be empty"));
    }
    Ok(clean)
}

/// An optional text: empty or missing becomes `None`.
pub(crate) fn optional_text(
    field: &'static str,
    text: Option<&str>,
    max: usize,
) -> Result<Option<String>> {
    match text.map(str::trim) {
        None | Some("") => Ok(None),
        Some(text) => clean_text(field, text, 1, max).map(Some),
    }
}
