//! Several organizations in one appliance (SPEC 3.1, "Tenants in one appliance"; issue 14):
//! creating one with its owner, the list of them, renaming, disabling and enabling one, and
//! its bot token.
//!
//! These are store-wide administration, the system's calls (`crm org ...`, offline or over
//! the admin channel): no staff user of one organization manages another.
//!
//! Rules decided here:
//! - an organization is created from a template with its owner, a staff user holding the
//!   template's Administrator role and a password shown once, who must change it at the first
//!   login (as `crm init` does);
//! - a disabled organization keeps every record: its staff's sessions end in the transaction
//!   that disables it, its staff cannot log in ([`crate::sessions`]: "organization ... is
//!   disabled"), its API tokens are refused while it is disabled (not deleted: enabling it
//!   brings them back), its inbox refuses updates as busy (Telegram keeps them and sends
//!   them again, for up to a day), and its outbox, scheduled jobs, broadcasts, webhook
//!   deliveries and payments wait until it is enabled again (the system's reads of due work
//!   skip it: `is_enabled_in`, `disabled_in`);
//! - a bot token has the shape BotFather issues ([`crate::org::parse_bot_token`]) and
//!   belongs to one organization at most: two organizations polling one bot would take each
//!   other's updates. It is stored with the organization and never printed.

use std::collections::BTreeSet;

use crate::model::*;
use crate::password::{self, Password};
use crate::store::{Key, ViewExt, keys, tables};
use crate::system::{System, SystemTx};
use crate::templates;
use crate::{Error, Result, Tx, View};

use super::load_org;
use super::team::NewUser;

/// An organization to create with [`System::create_tenant`].
#[derive(Debug, Clone)]
pub struct NewTenant {
    /// The template (one of [`templates::NAMES`]).
    pub template: String,
    /// The display name, 1-100 characters.
    pub name: String,
    /// The slug (`[a-z0-9-]`, 2-40 characters); derived from the name when `None` (see
    /// [`slug_from_name`]).
    pub slug: Option<String>,
    /// The owner's login name (`[a-z0-9_.-]`, 3-32 characters).
    pub owner: String,
    /// The owner's first password (generate one with [`crate::generate_password`]); the
    /// owner must change it at the first login.
    pub owner_password: Password,
}

/// What [`System::create_tenant`] made.
#[derive(Debug, Clone)]
pub struct CreatedTenant {
    /// The organization (without a bot token: a new one has none).
    pub organization: Organization,
    /// Its owner, an administrator.
    pub owner: User,
}

/// One organization as `crm org list` shows it. Never carries the bot token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantRow {
    /// Its id.
    pub id: OrgId,
    /// Display name.
    pub name: String,
    /// Slug (what the login page and `--org` take).
    pub slug: String,
    /// The template it was made from.
    pub template: String,
    /// The modules it runs.
    pub modules: Modules,
    /// Its owner's login name, when it has an owner.
    pub owner: Option<String>,
    /// Its staff users (active and disabled).
    pub staff: usize,
    /// Its active staff users.
    pub active_staff: usize,
    /// Whether a bot token is stored (without one the appliance runs an emulated bot for it).
    pub bot_token_set: bool,
    /// When it was disabled, while it is.
    pub disabled: Option<Timestamp>,
    /// When it was created.
    pub created_at: Timestamp,
}

impl TenantRow {
    /// The state of its bot as configured: `disabled` (stopped with the organization),
    /// `token` (the Telegram bot of its token) or `emulated` (no token: the appliance's
    /// sandbox emulator).
    pub fn bot_state(&self) -> &'static str {
        match (self.disabled.is_some(), self.bot_token_set) {
            (true, _) => "disabled",
            (false, true) => "token",
            (false, false) => "emulated",
        }
    }
}

/// What disabling or enabling an organization did.
#[derive(Debug, Clone)]
pub struct TenantSwitch {
    /// The organization now (without its bot token).
    pub organization: Organization,
    /// The sessions of its staff that ended (disabling; 0 when enabling).
    pub sessions_ended: usize,
}

/// A slug from an organization's name: lower-case ASCII letters and digits, other runs become
/// `-`, at most 40 characters; `main` when fewer than two are left (a name in Cyrillic
/// letters: pass a slug then).
pub fn slug_from_name(name: &str) -> String {
    let mut slug = String::new();
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            slug.push(c.to_ascii_lowercase());
        } else if !slug.ends_with('-') {
            slug.push('-');
        }
    }
    let slug: String = slug.trim_matches('-').chars().take(40).collect();
    let slug = slug.trim_end_matches('-').to_string();
    if slug.len() < 2 {
        "main".to_string()
    } else {
        slug
    }
}

/// Whether organization `org` is enabled; `false` for an unknown one.
///
/// # Errors
/// Storage only.
pub(crate) fn is_enabled_in(view: &impl View, org: OrgId) -> Result<bool> {
    Ok(view
        .get::<Organization>(tables::ORGS, &Key::org(org))?
        .is_some_and(|org| org.is_enabled()))
}

/// The disabled organizations, for the system's reads of due work (outbox, jobs,
/// broadcasts, webhook deliveries, payments), which skip them: one scan of the handful of
/// organization records.
///
/// # Errors
/// Storage only.
pub(crate) fn disabled_in(view: &impl View) -> Result<BTreeSet<OrgId>> {
    let mut disabled = BTreeSet::new();
    view.for_each_prefix(tables::ORGS, &Key::empty(), |_, value| {
        let org = crate::store::codec::decode::<Organization>(value)?;
        if !org.is_enabled() {
            disabled.insert(org.id);
        }
        Ok(true)
    })?;
    Ok(disabled)
}

/// The organization with this slug (trimmed, any case).
///
/// # Errors
/// Not found.
pub(crate) fn org_by_slug_in(view: &impl View, slug: &str) -> Result<Organization> {
    let slug = slug.trim().to_ascii_lowercase();
    let id = view
        .get_raw(tables::ORGS_BY_SLUG, slug.as_bytes(), |bytes| {
            Ok(keys::read_u64(bytes, 0))
        })?
        .ok_or_else(|| Error::not_found("organization", &slug))?;
    load_org(view, OrgId(id))
}

/// The first administrator of `org`: the lowest user id holding the built-in Administrator
/// role (active or not), the owner of an organization made before owners (schema 9).
///
/// # Errors
/// Storage only.
pub(crate) fn first_administrator(view: &impl View, org: OrgId) -> Result<Option<UserId>> {
    let administrators: BTreeSet<RoleId> = super::team::list_roles_in(view, org)?
        .into_iter()
        .filter(|role| role.builtin == Some(BuiltinRole::Administrator))
        .map(|role| role.id)
        .collect();
    let users: Vec<User> = view.records_with_prefix(tables::USERS, &Key::org(org))?;
    Ok(users
        .into_iter()
        .filter(|user| user.roles.iter().any(|role| administrators.contains(role)))
        .map(|user| user.id)
        .min())
}

/// `org` without its bot token, for callers that print or show it.
fn without_token(mut org: Organization) -> Organization {
    org.settings.bot_token = None;
    org
}

impl Tx<'_> {
    /// Creates an organization with its owner (see [`System::create_tenant`]), the password
    /// already hashed. Checks the template, the owner's username and the slug before it
    /// writes.
    pub(crate) fn create_tenant(
        &mut self,
        tenant: NewTenant,
        password_hash: String,
    ) -> Result<CreatedTenant> {
        let template = templates::template(&tenant.template)?;
        super::team::parse_username(&tenant.owner)?;
        let slug = match &tenant.slug {
            Some(slug) => slug.clone(),
            None => slug_from_name(&tenant.name),
        };
        let mut org = super::org::create_org_in(self, template, &tenant.name, &slug)?;
        let system = Actor::system(org.id);
        let administrator = super::team::list_roles_in(self, org.id)?
            .into_iter()
            .find(|role| role.builtin == Some(BuiltinRole::Administrator))
            .ok_or_else(|| {
                Error::invalid(
                    "template",
                    format!("template {} has no administrator role", tenant.template),
                )
            })?;
        let owner = self.insert_user(
            &system,
            NewUser {
                username: tenant.owner,
                display_name: String::new(),
                password: tenant.owner_password,
                roles: vec![administrator.name],
                must_change_password: true,
            },
            password_hash,
        )?;
        org.owner = Some(owner.id);
        self.put(tables::ORGS, &Key::org(org.id), &org)?;
        self.audit(
            &system,
            AuditAction::OrganizationOwnerSet,
            Subject::User(owner.id),
            AuditDetail::Text(owner.username.clone()),
        )?;
        Ok(CreatedTenant {
            organization: without_token(org),
            owner,
        })
    }
}

impl SystemTx<'_, '_> {
    /// Renames the organization with slug `slug` (its slug stays). Renaming to the same name
    /// writes nothing.
    ///
    /// # Errors
    /// Not found; invalid input on `name` (1-100 characters).
    pub fn rename_organization(&mut self, slug: &str, name: &str) -> Result<Organization> {
        let mut org = org_by_slug_in(&*self.tx, slug)?;
        let name = super::clean_text("name", name, 1, 100)?;
        if org.name == name {
            return Ok(without_token(org));
        }
        let detail = format!("{:?} -> {name:?}", org.name);
        org.name = name;
        self.tx.put(tables::ORGS, &Key::org(org.id), &org)?;
        self.tx.audit(
            &Actor::system(org.id),
            AuditAction::OrganizationRenamed,
            Subject::Organization,
            AuditDetail::Text(detail),
        )?;
        self.tx
            .changed(org.id, Subject::Organization, ChangeKind::Updated)?;
        Ok(without_token(org))
    }

    /// Disables the organization with slug `slug`: marks it disabled and ends every session
    /// of its staff, in this transaction (see the module's rules for what else stops).
    ///
    /// # Errors
    /// Not found; conflict when it is disabled already.
    pub fn disable_organization(&mut self, slug: &str) -> Result<TenantSwitch> {
        let mut org = org_by_slug_in(&*self.tx, slug)?;
        if org.disabled.is_some() {
            return Err(Error::conflict(format!(
                "organization {} is disabled already",
                org.slug
            )));
        }
        org.disabled = Some(self.tx.now());
        self.tx.put(tables::ORGS, &Key::org(org.id), &org)?;
        let users: Vec<User> = self
            .tx
            .records_with_prefix(tables::USERS, &Key::org(org.id))?;
        let mut sessions_ended = 0;
        for user in &users {
            sessions_ended += self.tx.end_sessions_of(org.id, user.id, None)?;
        }
        self.tx.audit(
            &Actor::system(org.id),
            AuditAction::OrganizationDisabled,
            Subject::Organization,
            AuditDetail::Text(format!("{sessions_ended} sessions ended")),
        )?;
        self.tx
            .changed(org.id, Subject::Organization, ChangeKind::Updated)?;
        Ok(TenantSwitch {
            organization: without_token(org),
            sessions_ended,
        })
    }

    /// Enables the disabled organization with slug `slug` again: its staff may log in, its
    /// API tokens work, its bot, outbox, jobs and broadcasts resume where they stopped.
    ///
    /// # Errors
    /// Not found; conflict when it is enabled.
    pub fn enable_organization(&mut self, slug: &str) -> Result<TenantSwitch> {
        let mut org = org_by_slug_in(&*self.tx, slug)?;
        let Some(since) = org.disabled else {
            return Err(Error::conflict(format!(
                "organization {} is enabled already",
                org.slug
            )));
        };
        org.disabled = None;
        self.tx.put(tables::ORGS, &Key::org(org.id), &org)?;
        self.tx.audit(
            &Actor::system(org.id),
            AuditAction::OrganizationEnabled,
            Subject::Organization,
            AuditDetail::Text(format!("disabled since {since}")),
        )?;
        self.tx
            .changed(org.id, Subject::Organization, ChangeKind::Updated)?;
        Ok(TenantSwitch {
            organization: without_token(org),
            sessions_ended: 0,
        })
    }

    /// Sets (or with `None` or a blank token removes) the bot token of the organization with
    /// slug `slug`. The token is checked ([`crate::org::parse_bot_token`]; no other
    /// organization may hold it), stored, and never printed: the audit entry says `set` or
    /// `removed`. Setting the token it has writes nothing.
    ///
    /// # Errors
    /// Not found; invalid input on `bot_token`; conflict when another organization holds it.
    pub fn set_bot_token(&mut self, slug: &str, token: Option<&str>) -> Result<Organization> {
        let mut org = org_by_slug_in(&*self.tx, slug)?;
        let token = super::org::checked_token(&*self.tx, org.id, token)?;
        if org.settings.bot_token == token {
            return Ok(without_token(org));
        }
        let detail = if token.is_some() { "set" } else { "removed" };
        org.settings.bot_token = token;
        self.tx.put(tables::ORGS, &Key::org(org.id), &org)?;
        self.tx.audit(
            &Actor::system(org.id),
            AuditAction::OrganizationBotTokenChanged,
            Subject::Organization,
            AuditDetail::Text(detail.to_string()),
        )?;
        Ok(without_token(org))
    }
}

/// The organizations with their staff counts, owner, modules and bot state, by id. One
/// snapshot; no bot token leaves it.
///
/// # Errors
/// Storage only.
pub fn tenants_in(view: &impl View) -> Result<Vec<TenantRow>> {
    let mut rows = Vec::new();
    for org in super::org::all_organizations_in(view)? {
        let users: Vec<User> = view.records_with_prefix(tables::USERS, &Key::org(org.id))?;
        let owner = org.owner.and_then(|owner| {
            users
                .iter()
                .find(|user| user.id == owner)
                .map(|user| user.username.clone())
        });
        rows.push(TenantRow {
            id: org.id,
            name: org.name,
            slug: org.slug,
            template: org.template,
            modules: org.modules,
            owner,
            staff: users.len(),
            active_staff: users
                .iter()
                .filter(|user| user.status == UserStatus::Active)
                .count(),
            bot_token_set: org.settings.bot_token.is_some(),
            disabled: org.disabled,
            created_at: org.created_at,
        });
    }
    Ok(rows)
}

/// Whether the login page must ask for the organization: more than one is enabled.
///
/// # Errors
/// Storage only.
pub fn login_needs_organization_in(view: &impl View) -> Result<bool> {
    let mut enabled = 0;
    view.for_each_prefix(tables::ORGS, &Key::empty(), |_, value| {
        if crate::store::codec::decode::<Organization>(value)?.is_enabled() {
            enabled += 1;
        }
        Ok(enabled < 2)
    })?;
    Ok(enabled > 1)
}

/// The organization a login names: the one with slug `slug`, or, with no slug, the only
/// enabled one.
///
/// # Errors
/// Not found for an unknown slug; invalid input on `organization` when none is named and
/// several are enabled; conflict when it is disabled (its staff cannot log in).
pub(crate) fn login_organization_in(view: &impl View, slug: Option<&str>) -> Result<Organization> {
    let org = match slug.map(str::trim).filter(|slug| !slug.is_empty()) {
        Some(slug) => org_by_slug_in(view, slug)?,
        None => {
            let enabled: Vec<Organization> = super::org::all_organizations_in(view)?
                .into_iter()
                .filter(Organization::is_enabled)
                .collect();
            match <[Organization; 1]>::try_from(enabled) {
                Ok([only]) => only,
                Err(enabled) if enabled.is_empty() => {
                    return Err(Error::not_found("organization", "(none enabled)"));
                }
                Err(_) => {
                    return Err(Error::invalid(
                        "organization",
                        "this appliance serves several organizations: name yours",
                    ));
                }
            }
        }
    };
    refuse_disabled(&org)?;
    Ok(org)
}

/// Conflict when `org` is disabled: what a login, a session or an API token of it meets.
pub(crate) fn refuse_disabled(org: &Organization) -> Result<()> {
    match org.disabled {
        Some(_) => Err(Error::conflict(format!(
            "organization {} is disabled; its staff cannot log in until it is enabled again",
            org.slug
        ))),
        None => Ok(()),
    }
}

impl System<'_> {
    /// Creates an organization from a template with its owner: the organization, its
    /// built-in roles and template data ([`System::create_organization`]), and the owner, an
    /// administrator who must change the given password at the first login, in one
    /// transaction. The password is hashed first (argon2id, tens of milliseconds, outside the
    /// writer).
    ///
    /// # Errors
    /// Unknown template; invalid input on `name`, `slug` or `username`; conflict when the
    /// slug is taken.
    pub fn create_tenant(&self, tenant: NewTenant) -> Result<CreatedTenant> {
        templates::template(&tenant.template)?;
        super::team::parse_username(&tenant.owner)?;
        let hash = password::hash_password(&tenant.owner_password)?;
        self.crm.write(move |tx| tx.create_tenant(tenant, hash))
    }

    /// See [`tenants_in`]. Reads a snapshot.
    ///
    /// # Errors
    /// Storage only.
    pub fn tenants(&self) -> Result<Vec<TenantRow>> {
        self.crm.read(tenants_in)
    }

    /// [`SystemTx::rename_organization`] in a transaction of its own.
    ///
    /// # Errors
    /// See [`SystemTx::rename_organization`].
    pub fn rename_organization(&self, slug: &str, name: &str) -> Result<Organization> {
        let (slug, name) = (slug.to_string(), name.to_string());
        self.crm
            .write(move |tx| tx.system().rename_organization(&slug, &name))
    }

    /// [`SystemTx::disable_organization`] in a transaction of its own.
    ///
    /// # Errors
    /// See [`SystemTx::disable_organization`].
    pub fn disable_organization(&self, slug: &str) -> Result<TenantSwitch> {
        let slug = slug.to_string();
        self.crm
            .write(move |tx| tx.system().disable_organization(&slug))
    }

    /// [`SystemTx::enable_organization`] in a transaction of its own.
    ///
    /// # Errors
    /// See [`SystemTx::enable_organization`].
    pub fn enable_organization(&self, slug: &str) -> Result<TenantSwitch> {
        let slug = slug.to_string();
        self.crm
            .write(move |tx| tx.system().enable_organization(&slug))
    }

    /// [`SystemTx::set_bot_token`] in a transaction of its own.
    ///
    /// # Errors
    /// See [`SystemTx::set_bot_token`].
    pub fn set_bot_token(&self, slug: &str, token: Option<&str>) -> Result<Organization> {
        let slug = slug.to_string();
        let token = token.map(str::to_string);
        self.crm
            .write(move |tx| tx.system().set_bot_token(&slug, token.as_deref()))
    }

    /// The organization a login names (see [`Crm::login_at`](crate::Crm::login_at)): the
    /// one with slug `slug`, or with none the only enabled one; without its bot token. Reads
    /// a snapshot.
    ///
    /// # Errors
    /// Not found for an unknown slug; invalid input on `organization` when none is named and
    /// several are enabled; conflict when it is disabled.
    pub fn login_organization(&self, slug: Option<&str>) -> Result<Organization> {
        self.crm
            .read(|view| login_organization_in(view, slug))
            .map(without_token)
    }

    /// See [`login_needs_organization_in`]. Reads a snapshot.
    ///
    /// # Errors
    /// Storage only.
    pub fn login_needs_organization(&self) -> Result<bool> {
        self.crm.read(login_needs_organization_in)
    }

    /// The enabled organizations with their bot tokens, by id: what the appliance runs a bot
    /// for (the token stays in memory there, never printed). Reads a snapshot.
    ///
    /// # Errors
    /// Storage only.
    pub fn enabled_organizations(&self) -> Result<Vec<Organization>> {
        self.crm.read(|view| {
            Ok(super::org::all_organizations_in(view)?
                .into_iter()
                .filter(Organization::is_enabled)
                .collect())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_derived_from_names() {
        assert_eq!(slug_from_name("Acme Studio, Ltd."), "acme-studio-ltd");
        assert_eq!(slug_from_name("Студия"), "main");
        assert_eq!(slug_from_name("  x  "), "main");
        assert_eq!(slug_from_name(&"a".repeat(60)).len(), 40);
    }
}
