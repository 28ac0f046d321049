//! Customers' profiles (the tokens module, SPEC 5D; PRD 6.2 `Customer_Profiles`): a
//! customer keeps several, one per person they order for, each with the registration form's
//! answers. Created by a confirmed registration (`super::forms`) or by staff; edited by
//! staff; archived rather than deleted. Contact merge moves them (`super::merge`).
//!
//! Who may do what: staff with `chat_customers` create, edit and archive; staff with
//! `chat_customers` or `view_orders` read; a customer reads their own. Every use case
//! answers not found (`module tokens`) while the organization's tokens module is off.

use std::collections::BTreeMap;

use crate::model::*;
use crate::store::declarations::profile_key;
use crate::store::{Key, ViewExt, keys, tables};
use crate::{Crm, Error, Result, Tx, View};

use super::customers::save_customer;
use super::{Resolved, load_customer, resolve};
use super::{form_def, require_module};

/// The most profiles a customer keeps (archived ones count).
pub const PROFILES_MAX: usize = 50;

/// What staff give to create or edit a profile: answers as typed, by field key of the
/// registration form (an empty answer leaves the field out).
pub type ProfileAnswers = BTreeMap<String, String>;

/// A profile as a page shows it: the record and the registration form's fields in order,
/// each with its answer.
#[derive(Debug, Clone, PartialEq)]
pub struct ProfileView {
    /// The profile.
    pub profile: Profile,
    /// Every field of the organization's registration form, with the profile's answer.
    pub fields: Vec<(FieldDef, Option<FieldValue>)>,
    /// Whether the actor may edit and archive it.
    pub edit: bool,
}

/// Whether a resolved actor may read `customer`'s profiles.
fn may_read(resolved: &Resolved, customer: CustomerId) -> bool {
    match resolved {
        Resolved::Customer(own) => *own == customer,
        _ => resolved.has(Permission::ChatCustomers) || resolved.has(Permission::ViewOrders),
    }
}

/// Reads a profile by id, or fails with not found.
pub(crate) fn load_profile(view: &impl View, org: OrgId, id: ProfileId) -> Result<Profile> {
    let customer = view
        .get_raw(
            tables::PROFILES_BY_ID,
            Key::org(org).u64(id.0).as_slice(),
            |bytes| Ok(keys::read_u64(bytes, 0)),
        )?
        .ok_or_else(|| Error::not_found(ProfileId::LABEL, id))?;
    view.get(
        tables::PROFILES,
        &profile_key(org, CustomerId(customer), id),
    )?
    .ok_or_else(|| Error::not_found(ProfileId::LABEL, id))
}

/// Every profile of a customer (archived ones too), by id.
pub(crate) fn profiles_of(
    view: &impl View,
    org: OrgId,
    customer: CustomerId,
) -> Result<Vec<Profile>> {
    view.records_with_prefix(tables::PROFILES, &Key::org(org).u64(customer.0))
}

/// A customer's profiles, oldest first, archived ones included (see
/// [`Profile::archived`]): for the customer page, the API and the order form's choice
/// ([`Profile::label`] is the short label).
///
/// # Errors
/// Not found (`module tokens`, the customer, or another customer's for a customer actor);
/// permission denied without `chat_customers` or `view_orders`.
pub fn profiles_in(view: &impl View, actor: &Actor, customer: CustomerId) -> Result<Vec<Profile>> {
    let resolved = resolve(view, actor)?;
    require_module(view, actor.org, Module::Tokens)?;
    if matches!(resolved, Resolved::Customer(own) if own != customer) {
        return Err(Error::not_found(CustomerId::LABEL, customer));
    }
    if !may_read(&resolved, customer) {
        return Err(Error::denied(
            Permission::ViewOrders,
            format!("{} lacks the view_orders permission", actor.who),
        ));
    }
    load_customer(view, actor.org, customer)?;
    profiles_of(view, actor.org, customer)
}

/// One profile with the registration form's fields.
///
/// # Errors
/// As [`profiles_in`]; not found for an unknown profile (or another customer's).
pub fn profile_in(view: &impl View, actor: &Actor, id: ProfileId) -> Result<ProfileView> {
    let resolved = resolve(view, actor)?;
    let org = require_module(view, actor.org, Module::Tokens)?;
    let profile = load_profile(view, actor.org, id)?;
    if matches!(resolved, Resolved::Customer(own) if own != profile.customer) {
        return Err(Error::not_found(ProfileId::LABEL, id));
    }
    if !may_read(&resolved, profile.customer) {
        return Err(Error::denied(
            Permission::ViewOrders,
            format!("{} lacks the view_orders permission", actor.who),
        ));
    }
    let form = form_def(view, &org, FormName::Registration)?;
    let mut fields: Vec<(FieldDef, Option<FieldValue>)> = form
        .fields
        .fields
        .into_iter()
        .map(|def| {
            let value = profile.answers.get(&def.key).cloned();
            (def, value)
        })
        .collect();
    // Answers of fields removed from the form since stay visible, as text.
    for (key, value) in &profile.answers {
        if !fields.iter().any(|(def, _)| &def.key == key) {
            fields.push((
                FieldDef {
                    key: key.clone(),
                    name: Localized::new(key.clone()),
                    kind: FieldKind::Text {
                        max_len: TEXT_MAX,
                        pattern: None,
                    },
                    required: false,
                    list: false,
                },
                Some(value.clone()),
            ));
        }
    }
    Ok(ProfileView {
        edit: resolved.has(Permission::ChatCustomers),
        profile,
        fields,
    })
}

/// Reads staff's typed answers with the registration form: every key a field of it, every
/// answer accepted, every required field present.
fn checked_answers(
    tx: &Tx<'_>,
    org: &Organization,
    answers: &ProfileAnswers,
) -> Result<BTreeMap<String, FieldValue>> {
    let form = form_def(tx, org, FormName::Registration)?;
    let today = Date::of(tx.now());
    let mut values = BTreeMap::new();
    for (key, text) in answers {
        let def = form
            .fields
            .get(key)
            .ok_or_else(|| Error::invalid("fields", format!("{key}: there is no such field")))?;
        if text.trim().is_empty() {
            continue;
        }
        values.insert(def.key.clone(), def.parse_answer_on(text, today)?);
    }
    form.fields.check(&values)?;
    Ok(values)
}

/// Creates a profile for `customer` with checked answers; the customer's first profile
/// also fills their own empty last name, phone and email (and a first name of `?`).
fn insert_profile(
    tx: &mut Tx<'_>,
    actor: &Actor,
    customer: CustomerId,
    answers: BTreeMap<String, FieldValue>,
) -> Result<Profile> {
    let mut record = load_customer(tx, actor.org, customer)?;
    let existing = profiles_of(tx, actor.org, customer)?;
    if existing.len() >= PROFILES_MAX {
        return Err(Error::conflict(format!(
            "a customer keeps at most {PROFILES_MAX} profiles"
        )));
    }
    let id = ProfileId(tx.next_id(actor.org, "profile")?);
    let profile = Profile {
        id,
        customer,
        label: Profile::label_of(&answers),
        answers,
        archived: false,
        created_at: tx.now(),
        updated_at: tx.now(),
    };
    tx.insert_record(&profile_key(actor.org, customer, id), &profile)?;
    tx.audit(
        actor,
        AuditAction::ProfileCreated,
        Subject::Profile(id),
        AuditDetail::Text(format!("{} (customer {customer})", profile.label)),
    )?;
    tx.changed(actor.org, Subject::Profile(id), ChangeKind::Created)?;
    if existing.is_empty() && fill_customer(&mut record, &profile.answers) {
        save_customer(tx, actor.org, &record)?;
        tx.audit(
            actor,
            AuditAction::CustomerProfileChanged,
            Subject::Customer(customer),
            AuditDetail::Text(format!("filled from profile {id}")),
        )?;
        tx.changed(actor.org, Subject::Customer(customer), ChangeKind::Updated)?;
    }
    Ok(profile)
}

/// Fills the customer's empty first name (`?`), last name, phone and email from a profile's
/// answers; whether anything changed.
fn fill_customer(customer: &mut Customer, answers: &BTreeMap<String, FieldValue>) -> bool {
    let text = |key: &str| {
        answers
            .get(key)
            .map(FieldValue::to_answer)
            .filter(|text| !text.trim().is_empty())
    };
    let mut changed = false;
    if (customer.first_name.trim().is_empty() || customer.first_name == "?")
        && let Some(first) = text("first_name")
    {
        customer.first_name = first.chars().take(64).collect();
        changed = true;
    }
    if customer
        .last_name
        .as_deref()
        .is_none_or(|name| name.trim().is_empty())
        && let Some(last) = text("last_name")
    {
        customer.last_name = Some(last.chars().take(64).collect());
        changed = true;
    }
    if customer.phone.is_none()
        && let Some(phone) =
            text("phone").and_then(|phone| super::customers::parse_phone(&phone).ok())
    {
        customer.phone = Some(phone);
        changed = true;
    }
    if customer.email.is_none()
        && let Some(email) =
            text("email").and_then(|email| super::customers::parse_email(&email).ok())
    {
        customer.email = Some(email);
        changed = true;
    }
    changed
}

/// Creates the profile of a confirmed registration (the form's answers, checked by the
/// engine). Called by `super::forms` in the transaction of the confirmation.
pub(crate) fn create_profile_from_registration(
    tx: &mut Tx<'_>,
    actor: &Actor,
    customer: CustomerId,
    answers: BTreeMap<String, FieldValue>,
) -> Result<Profile> {
    insert_profile(tx, actor, customer, answers)
}

/// Checks that a staff actor may change profiles: `chat_customers`, the tokens module.
fn require_editor(tx: &Tx<'_>, actor: &Actor) -> Result<Organization> {
    // The permission first, then the module, as the other modules' settings answer.
    let resolved = resolve(tx, actor)?;
    if !resolved.has(Permission::ChatCustomers) {
        return Err(Error::denied(
            Permission::ChatCustomers,
            format!("{} lacks the chat_customers permission", actor.who),
        ));
    }
    require_module(tx, actor.org, Module::Tokens)
}

impl Tx<'_> {
    /// Creates a profile for `customer` from staff's answers (the web page, the API),
    /// checked with the organization's registration form. Needs `chat_customers`. The
    /// customer's first profile fills their empty last name, phone and email. Writes the
    /// profile, its audit entry (`profile.created`) and its change.
    ///
    /// # Errors
    /// Not found (`module tokens`, the customer); permission denied; invalid input on
    /// `fields` naming the field; conflict past [`PROFILES_MAX`].
    pub fn create_profile(
        &mut self,
        actor: &Actor,
        customer: CustomerId,
        answers: ProfileAnswers,
    ) -> Result<Profile> {
        let org = require_editor(self, actor)?;
        load_customer(self, actor.org, customer)?;
        let values = checked_answers(self, &org, &answers)?;
        insert_profile(self, actor, customer, values)
    }

    /// Replaces a profile's answers (checked as [`Tx::create_profile`]) and its label.
    /// Needs `chat_customers`. Changing nothing writes nothing. Writes the profile, its audit
    /// entry (`profile.updated`, naming the fields changed) and its change.
    ///
    /// # Errors
    /// Not found (`module tokens`, the profile); permission denied; invalid input on
    /// `fields`.
    pub fn update_profile(
        &mut self,
        actor: &Actor,
        id: ProfileId,
        answers: ProfileAnswers,
    ) -> Result<Profile> {
        let org = require_editor(self, actor)?;
        let before = load_profile(self, actor.org, id)?;
        let values = checked_answers(self, &org, &answers)?;
        if values == before.answers {
            return Ok(before);
        }
        let mut changed: Vec<&str> = before
            .answers
            .keys()
            .chain(values.keys())
            .filter(|key| before.answers.get(*key) != values.get(*key))
            .map(String::as_str)
            .collect();
        changed.sort_unstable();
        changed.dedup();
        let detail = changed.join(", ");
        let after = Profile {
            label: Profile::label_of(&values),
            answers: values,
            updated_at: self.now(),
            ..before.clone()
        };
        self.update_record(
            &profile_key(actor.org, before.customer, id),
            &before,
            &after,
        )?;
        self.audit(
            actor,
            AuditAction::ProfileUpdated,
            Subject::Profile(id),
            AuditDetail::Text(detail),
        )?;
        self.changed(actor.org, Subject::Profile(id), ChangeKind::Updated)?;
        Ok(after)
    }

    /// Archives a profile (`archived` true: no longer offered) or restores it (false).
    /// Needs `chat_customers`. Setting what is already set writes nothing. Writes the
    /// profile, its audit entry (`profile.archived` or `profile.restored`) and its change.
    ///
    /// # Errors
    /// Not found (`module tokens`, the profile); permission denied.
    pub fn archive_profile(
        &mut self,
        actor: &Actor,
        id: ProfileId,
        archived: bool,
    ) -> Result<Profile> {
        require_editor(self, actor)?;
        let before = load_profile(self, actor.org, id)?;
        if before.archived == archived {
            return Ok(before);
        }
        let after = Profile {
            archived,
            updated_at: self.now(),
            ..before.clone()
        };
        self.update_record(
            &profile_key(actor.org, before.customer, id),
            &before,
            &after,
        )?;
        self.audit(
            actor,
            if archived {
                AuditAction::ProfileArchived
            } else {
                AuditAction::ProfileRestored
            },
            Subject::Profile(id),
            AuditDetail::Text(after.label.clone()),
        )?;
        self.changed(actor.org, Subject::Profile(id), ChangeKind::Updated)?;
        Ok(after)
    }
}

impl Crm {
    /// See [`Tx::create_profile`]; one write transaction.
    ///
    /// # Errors
    /// See [`Tx::create_profile`].
    pub fn create_profile(
        &self,
        actor: &Actor,
        customer: CustomerId,
        answers: ProfileAnswers,
    ) -> Result<Profile> {
        let actor = actor.clone();
        self.write(move |tx| tx.create_profile(&actor, customer, answers))
    }

    /// See [`Tx::update_profile`]; one write transaction.
    ///
    /// # Errors
    /// See [`Tx::update_profile`].
    pub fn update_profile(
        &self,
        actor: &Actor,
        id: ProfileId,
        answers: ProfileAnswers,
    ) -> Result<Profile> {
        let actor = actor.clone();
        self.write(move |tx| tx.update_profile(&actor, id, answers))
    }

    /// See [`Tx::archive_profile`]; one write transaction.
    ///
    /// # Errors
    /// See [`Tx::archive_profile`].
    pub fn archive_profile(&self, actor: &Actor, id: ProfileId, archived: bool) -> Result<Profile> {
        let actor = actor.clone();
        self.write(move |tx| tx.archive_profile(&actor, id, archived))
    }

    /// See [`profiles_in`]; reads one snapshot.
    ///
    /// # Errors
    /// See [`profiles_in`].
    pub fn profiles(&self, actor: &Actor, customer: CustomerId) -> Result<Vec<Profile>> {
        self.read(|view| profiles_in(view, actor, customer))
    }

    /// See [`profile_in`]; reads one snapshot.
    ///
    /// # Errors
    /// See [`profile_in`].
    pub fn profile(&self, actor: &Actor, id: ProfileId) -> Result<ProfileView> {
        self.read(|view| profile_in(view, actor, id))
    }
}
