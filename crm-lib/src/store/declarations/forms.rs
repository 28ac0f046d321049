//! The declarations of conversational forms (`services::forms`: the definitions and each
//! customer's progress) and of the customers' profiles (`services::profiles`).

use crate::model::*;
use crate::store::indexes::{Declared, Index, Layout, Owner, Reference, Value};
use crate::store::keys::{self, Key};
use crate::store::tables::{self, Def};

/// The key of a form's definition in `forms`.
pub(crate) fn form_key(org: OrgId, form: FormName) -> Key {
    Key::org(org).u8(form.code())
}

/// The key of a customer's progress through a form in `form_progress`.
pub(crate) fn progress_key(org: OrgId, customer: CustomerId, form: FormName) -> Key {
    Key::org(org).u64(customer.0).u8(form.code())
}

/// The key of a profile in `profiles`.
pub(crate) fn profile_key(org: OrgId, customer: CustomerId, profile: ProfileId) -> Key {
    Key::org(org).u64(customer.0).u64(profile.0)
}

impl Declared for FormDef {
    const TABLE: Def = tables::FORMS;
    const NOUN: &'static str = "form";
    const LAYOUT: Layout = Layout::OrgFields;

    fn describe(&self, org: OrgId, key: &[u8]) -> String {
        let form = key
            .get(8)
            .and_then(|code| FormName::from_code(*code))
            .map_or("unknown", FormName::as_str);
        format!("the {form} form of organization {org}")
    }
}

impl Declared for FormProgress {
    const TABLE: Def = tables::FORM_PROGRESS;
    const NOUN: &'static str = "form progress";
    const LAYOUT: Layout = Layout::OrgFields;

    fn key(&self, org: OrgId) -> Option<Key> {
        Some(progress_key(org, self.customer, self.form))
    }

    fn references(&self, org: OrgId, out: &mut Vec<Reference>) {
        out.push(Reference::new(
            "is walked by customer",
            tables::CUSTOMERS,
            org,
            self.customer.0,
        ));
    }

    fn describe(&self, org: OrgId, _: &[u8]) -> String {
        format!(
            "the {} form progress of customer {} of organization {org}",
            self.form.as_str(),
            self.customer
        )
    }
}

impl Declared for Profile {
    const TABLE: Def = tables::PROFILES;
    const NOUN: &'static str = "profile";
    const LAYOUT: Layout = Layout::OrgFields;
    const SEQUENCE: Option<&'static str> = Some("profile");
    const INDEXES: &'static [Index<Self>] = &[Index {
        table: tables::PROFILES_BY_ID,
        since: 7,
        entries: |org, _, profile, out| {
            out.push((
                Key::org(org).u64(profile.id.0),
                Value::id(profile.customer.0),
            ));
        },
        owner: |key, value| match <[u8; 8]>::try_from(value) {
            Ok(customer) if key.len() == 16 => Owner::Record(
                Key::org(OrgId(keys::read_u64(key, 0)))
                    .u64(u64::from_be_bytes(customer))
                    .u64(keys::tail_u64(key)),
            ),
            _ => Owner::Malformed(format!(
                "holds a {}-byte value instead of a customer id",
                value.len()
            )),
        },
        disagreement: |_, _, profile| {
            format!(
                "does not name customer {} of profile {}",
                profile.customer, profile.id
            )
        },
    }];

    fn id(&self) -> Option<u64> {
        Some(self.id.0)
    }

    fn key(&self, org: OrgId) -> Option<Key> {
        Some(profile_key(org, self.customer, self.id))
    }

    fn references(&self, org: OrgId, out: &mut Vec<Reference>) {
        out.push(Reference::new(
            "is kept by customer",
            tables::CUSTOMERS,
            org,
            self.customer.0,
        ));
    }
}
