//! Organizations: creation from a template, settings, the built-in roles.

use crate::model::*;
use crate::store::{Key, ViewExt, keys, tables};
use crate::templates::Template;
use crate::{Crm, Error, Result, Tx, View};

use super::{load_org, require, resolve};

/// Changes to an organization's settings; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SettingsUpdate {
    /// New display name.
    pub name: Option<String>,
    /// New default language.
    pub locale: Option<Language>,
    /// New currency code (three letters).
    pub currency: Option<String>,
    /// New open-order limit (0 = no limit).
    pub open_order_limit: Option<u32>,
    /// New commission in basis points (0..=10000).
    pub commission_bps: Option<u32>,
    /// New fixed commission.
    pub commission_fixed: Option<Money>,
    /// New bot token; `Some(None)` removes it.
    pub bot_token: Option<Option<String>>,
    /// New time zone, an IANA name (`Europe/Berlin`).
    pub time_zone: Option<String>,
    /// Modules to switch on (`true`) or off (`false`); modules not named stay as they are.
    pub modules: Vec<(Module, bool)>,
}

pub use crate::model::parse_time_zone;

/// Checks a slug: `[a-z0-9-]`, 2-40 characters, not starting or ending with `-`.
fn parse_slug(slug: &str) -> Result<String> {
    let slug = slug.trim().to_ascii_lowercase();
    let ok = (2..=40).contains(&slug.len())
        && slug
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !slug.starts_with('-')
        && !slug.ends_with('-');
    if ok {
        Ok(slug)
    } else {
        Err(Error::invalid(
            "slug",
            format!("{slug:?} must be 2-40 characters of a-z, 0-9 and '-'"),
        ))
    }
}

fn parse_currency(code: &str) -> Result<String> {
    let code = code.trim().to_ascii_uppercase();
    if code.len() == 3 && code.bytes().all(|b| b.is_ascii_uppercase()) {
        Ok(code)
    } else {
        Err(Error::invalid(
            "currency",
            format!("{code:?} is not a three-letter currency code"),
        ))
    }
}

/// Creates an organization in `tx`: the record, its slug, the built-in roles, the template's
/// markers (the studio's ten stack markers), the stage counters and the default payment method
/// ([`super::billing::default_payment_method`]). Used by
/// [`System::create_organization`](crate::system::System::create_organization),
/// [`System::initialize`](crate::system::System::initialize) and the fixture writer.
pub(crate) fn create_org_in(
    tx: &Tx<'_>,
    mut template: Template,
    name: &str,
    slug: &str,
) -> Result<Organization> {
    let name = super::clean_text("name", name, 1, 100)?;
    let slug = parse_slug(slug)?;
    if tx.exists(tables::ORGS_BY_SLUG, &Key::empty().bytes(slug.as_bytes()))? {
        return Err(Error::conflict(format!(
            "an organization with slug {slug:?} already exists"
        )));
    }
    let markers = std::mem::take(&mut template.markers);
    let id = OrgId(tx.next_id(OrgId(0), "org")?);
    let org = Organization {
        id,
        name,
        slug: slug.clone(),
        template: template.name.clone(),
        settings: OrgSettings {
            locale: template.locale,
            currency: parse_currency(&template.currency)?,
            open_order_limit: template.open_order_limit,
            commission_bps: template.commission_bps.min(10_000),
            commission_fixed: template.commission_fixed,
            bot_token: None,
            time_zone: DEFAULT_TIME_ZONE.to_string(),
        },
        pipeline: template.pipeline,
        modules: template.modules,
        created_at: tx.now(),
        owner: None,
        disabled: None,
    };
    tx.insert_record(&Key::org(id), &org)?;
    for (builtin, role_name) in &template.roles {
        let role_id = RoleId(tx.next_id(id, "role")?);
        let role = Role {
            id: role_id,
            name: role_name.clone(),
            permissions: builtin.permissions(),
            builtin: Some(*builtin),
        };
        tx.put(tables::ROLES, &Key::org(id).u64(role_id.0), &role)?;
    }
    // The template's markers were checked when it was parsed (names, colours, no name twice).
    for marker in &markers {
        let marker_id = MarkerId(tx.next_id(id, "marker")?);
        let record = Marker {
            id: marker_id,
            name: marker.name.clone(),
            color: marker.color.clone(),
        };
        tx.put(tables::MARKERS, &Key::org(id).u64(marker_id.0), &record)?;
    }
    super::billing::create_default_payment_method(tx, id, org.settings.locale)?;
    super::tickets::create_ticket_settings_in(tx, id, &template.fields, template.modules)?;
    super::tokens::create_template_packages(tx, id, &template.packages)?;
    super::forms::create_forms_in(
        tx,
        id,
        &[
            (FormName::Registration, &template.registration),
            (FormName::Qualification, &template.qualification),
        ],
    )?;
    let detail = if markers.is_empty() {
        format!("template {}", org.template)
    } else {
        format!("template {} with {} markers", org.template, markers.len())
    };
    tx.audit(
        &Actor::system(id),
        AuditAction::OrganizationCreated,
        Subject::Organization,
        AuditDetail::Text(detail),
    )?;
    Ok(org)
}

impl Tx<'_> {
    /// Changes settings (needs `manage_settings`). A new time zone moves every local day, so
    /// the dashboard's per-day aggregates are recomputed from the organization's records in
    /// this transaction (one scan of its orders and customers: seconds at a million orders).
    ///
    /// # Errors
    /// Permission denied; invalid currency, commission over 10000 bps, bad name.
    pub fn update_settings(
        &mut self,
        actor: &Actor,
        update: SettingsUpdate,
    ) -> Result<Organization> {
        require(self, actor, Permission::ManageSettings)?;
        let mut org = load_org(self, actor.org)?;
        let before = org.settings.clone();
        if let Some(name) = &update.name {
            org.name = super::clean_text("name", name, 1, 100)?;
        }
        if let Some(locale) = update.locale {
            org.settings.locale = locale;
        }
        if let Some(currency) = &update.currency {
            org.settings.currency = parse_currency(currency)?;
        }
        if let Some(limit) = update.open_order_limit {
            org.settings.open_order_limit = limit;
        }
        if let Some(bps) = update.commission_bps {
            if bps > 10_000 {
                return Err(Error::invalid(
                    "commission_bps",
                    format!("{bps} is over 10000 (100%)"),
                ));
            }
            org.settings.commission_bps = bps;
        }
        if let Some(fixed) = update.commission_fixed {
            if fixed.0 < 0 {
                return Err(Error::invalid("commission_fixed", "must not be negative"));
            }
            org.settings.commission_fixed = fixed;
        }
        if let Some(token) = update.bot_token {
            org.settings.bot_token = checked_token(self, org.id, token.as_deref())?;
        }
        if let Some(time_zone) = &update.time_zone {
            org.settings.time_zone = parse_time_zone(time_zone)?;
        }
        let modules_before = org.modules;
        for (module, on) in &update.modules {
            org.modules.set(*module, *on);
        }
        self.put(tables::ORGS, &Key::org(org.id), &org)?;
        if before.time_zone != org.settings.time_zone {
            // Every local day moves: the dashboard's aggregates are recomputed from the
            // records (one scan of the organization's orders and customers).
            crate::services::analytics::aggregates::rebuild(self, &org)?;
        }
        if org.modules.contains(Module::Tickets) && !modules_before.contains(Module::Tickets) {
            super::tickets::ensure_ticket_settings_in(self, &org)?;
        }
        if org.modules.contains(Module::Tokens) && !modules_before.contains(Module::Tokens) {
            super::forms::ensure_forms_in(self, &org, Module::Tokens)?;
        }
        if org.modules.contains(Module::Projects) && !modules_before.contains(Module::Projects) {
            super::tickets::ensure_order_fields_in(self, &org)?;
            super::forms::ensure_forms_in(self, &org, Module::Projects)?;
        }
        let mut summary = format!(
            "limit {} -> {}, commission {} bps -> {} bps, currency {} -> {}, bot token {}",
            before.open_order_limit,
            org.settings.open_order_limit,
            before.commission_bps,
            org.settings.commission_bps,
            before.currency,
            org.settings.currency,
            if org.settings.bot_token.is_some() {
                "set"
            } else {
                "unset"
            },
        );
        if before.time_zone != org.settings.time_zone {
            summary.push_str(&format!(
                ", time zone {} -> {}",
                before.time_zone, org.settings.time_zone
            ));
        }
        if modules_before != org.modules {
            let names: Vec<&str> = org.modules.iter().map(Module::as_str).collect();
            summary.push_str(&format!(", modules: {}", names.join(" ")));
        }
        self.audit(
            actor,
            AuditAction::OrganizationSettingsChanged,
            Subject::Organization,
            AuditDetail::Text(summary),
        )?;
        Ok(org)
    }
}

/// New names and colour of one pipeline stage.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StageUpdate {
    /// The name per language, each 1-40 characters; a language left empty falls back to the
    /// default language's name.
    pub name: Localized,
    /// Kanban colour, `#rrggbb`.
    pub color: String,
}

impl Tx<'_> {
    /// Renames and recolours a pipeline stage (needs `manage_settings`). The stage keeps its
    /// id, kind, flags and transitions, so orders and indexes are untouched.
    ///
    /// # Errors
    /// Permission denied; not found for a stage outside the pipeline; invalid input on
    /// `name` or `color`.
    pub fn update_stage(
        &mut self,
        actor: &Actor,
        stage: StageId,
        update: StageUpdate,
    ) -> Result<Organization> {
        require(self, actor, Permission::ManageSettings)?;
        let name = super::clean_localized("name", &update.name, 40)?;
        let color = super::team::parse_color(&update.color)?;
        let mut org = load_org(self, actor.org)?;
        let record = org
            .pipeline
            .stages
            .iter_mut()
            .find(|candidate| candidate.id == stage)
            .ok_or_else(|| Error::not_found("stage", stage))?;
        if record.name == name && record.color == color {
            return Ok(org);
        }
        let summary = format!(
            "{}: {:?} {} -> {:?} {}",
            record.key,
            record.name.get(Language::EN),
            record.color,
            name.get(Language::EN),
            color
        );
        record.name = name;
        record.color = color;
        self.put(tables::ORGS, &Key::org(org.id), &org)?;
        self.audit(
            actor,
            AuditAction::PipelineStageChanged,
            Subject::Organization,
            AuditDetail::Text(summary),
        )?;
        Ok(org)
    }
}

/// Checks the shape of a bot token as BotFather issues it: `<bot id>:<35 characters of
/// [A-Za-z0-9_-]>`. The token itself never appears in the error.
pub fn parse_bot_token(token: &str) -> Result<String> {
    let token = token.trim();
    let ok = match token.split_once(':') {
        Some((id, secret)) => {
            !id.is_empty()
                && id.bytes().all(|b| b.is_ascii_digit())
                && secret.len() >= 30
                && secret.len() <= 64
                && secret
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        }
        None => false,
    };
    if ok {
        Ok(token.to_string())
    } else {
        Err(Error::invalid(
            "bot_token",
            "is not a bot token in the form 123456:ABC... as BotFather issues it",
        ))
    }
}

impl Crm {
    /// See [`Tx::update_stage`].
    ///
    /// # Errors
    /// See [`Tx::update_stage`].
    pub fn update_stage(
        &self,
        actor: &Actor,
        stage: StageId,
        update: StageUpdate,
    ) -> Result<Organization> {
        let actor = actor.clone();
        self.write(move |tx| tx.update_stage(&actor, stage, update))
    }

    /// See [`Tx::update_settings`].
    ///
    /// # Errors
    /// See [`Tx::update_settings`].
    pub fn update_settings(&self, actor: &Actor, update: SettingsUpdate) -> Result<Organization> {
        let actor = actor.clone();
        self.write(move |tx| tx.update_settings(&actor, update))
    }
}

/// The actor's organization: its name, settings and pipeline, for every actor of it. The bot
/// token stays in the store: it is left out for anyone without `manage_settings` (the
/// settings page shows only whether one is set, see [`settings_in`]).
///
/// # Errors
/// Permission denied for a disabled or unknown user.
pub fn organization_in(view: &impl View, actor: &Actor) -> Result<Organization> {
    let resolved = resolve(view, actor)?;
    let mut org = load_org(view, actor.org)?;
    if !resolved.has(Permission::ManageSettings) {
        org.settings.bot_token = None;
    }
    Ok(org)
}

/// The organization as its settings page shows it: the bot token is reduced to whether one is
/// set, so it never leaves the store again.
#[derive(Debug, Clone, PartialEq)]
pub struct SettingsView {
    /// The organization, with `settings.bot_token` emptied.
    pub org: Organization,
    /// Whether a bot token is stored.
    pub bot_token_set: bool,
}

/// The settings page's data. Needs `manage_settings`.
///
/// # Errors
/// Permission denied.
pub fn settings_in(view: &impl View, actor: &Actor) -> Result<SettingsView> {
    require(view, actor, Permission::ManageSettings)?;
    let mut org = load_org(view, actor.org)?;
    let bot_token_set = org.settings.bot_token.take().is_some();
    Ok(SettingsView { org, bot_token_set })
}

impl crate::system::System<'_> {
    /// Creates an organization from the template called `template` (one of
    /// [`crate::templates::NAMES`]) with the built-in roles and the default payment method
    /// ([`crate::services::billing::default_payment_method`]). Needs no actor: this is set-up.
    ///
    /// # Errors
    /// Unknown template, bad name or slug, slug taken.
    pub fn create_organization(
        &self,
        template: &str,
        name: &str,
        slug: &str,
    ) -> Result<Organization> {
        let template = crate::templates::template(template)?;
        let (name, slug) = (name.to_string(), slug.to_string());
        self.crm
            .write(move |tx| create_org_in(tx, template, &name, &slug))
    }

    /// The organization `org`.
    ///
    /// # Errors
    /// Not found.
    pub fn organization(&self, org: OrgId) -> Result<Organization> {
        self.crm.read(|view| load_org(view, org))
    }

    /// Every organization, by id.
    pub fn organizations(&self) -> Result<Vec<Organization>> {
        self.crm.read(|view| {
            let mut out = Vec::new();
            view.for_each_prefix(tables::ORGS, &Key::empty(), |_, value| {
                out.push(crate::store::codec::decode::<Organization>(value)?);
                Ok(true)
            })?;
            Ok(out)
        })
    }

    /// The organization with this slug.
    ///
    /// # Errors
    /// Not found.
    pub fn organization_by_slug(&self, slug: &str) -> Result<Organization> {
        self.crm.read(|view| {
            let id = view
                .get_raw(tables::ORGS_BY_SLUG, slug.as_bytes(), |bytes| {
                    Ok(keys::read_u64(bytes, 0))
                })?
                .ok_or_else(|| Error::not_found("organization", slug))?;
            load_org(view, OrgId(id))
        })
    }

    /// The first organization created: the one a single-business appliance serves.
    ///
    /// # Errors
    /// Not found when the file has no organization yet.
    pub fn default_organization(&self) -> Result<Organization> {
        self.crm.read(|view| {
            let mut first = None;
            view.for_each_prefix(tables::ORGS, &Key::empty(), |_, value| {
                first = Some(crate::store::codec::decode::<Organization>(value)?);
                Ok(false)
            })?;
            first.ok_or_else(|| Error::not_found("organization", "(none yet: run crm init)"))
        })
    }
}

/// Every organization in id order.
pub(crate) fn all_organizations_in(view: &impl View) -> Result<Vec<Organization>> {
    let mut out = Vec::new();
    view.for_each_prefix(tables::ORGS, &Key::empty(), |_, value| {
        out.push(crate::store::codec::decode::<Organization>(value)?);
        Ok(true)
    })?;
    Ok(out)
}

/// Refuses a bot token that another organization holds (two organizations polling one bot
/// would take each other's updates). The message names no organization: the settings page
/// of one must not learn another's.
fn check_token_free(view: &impl View, org: OrgId, token: &str) -> Result<()> {
    for other in all_organizations_in(view)? {
        if other.id != org && other.settings.bot_token.as_deref() == Some(token) {
            return Err(Error::conflict(
                "this bot token is set for another organization already; a bot serves one organization",
            ));
        }
    }
    Ok(())
}

/// The token to store for `org` from what was given (`None` or blank removes it), checked:
/// its shape and that no other organization holds it. The token never appears in an error.
///
/// # Errors
/// Invalid input on `bot_token`; conflict when another organization holds it.
pub(crate) fn checked_token(
    view: &impl View,
    org: OrgId,
    token: Option<&str>,
) -> Result<Option<String>> {
    match token.map(str::trim) {
        None | Some("") => Ok(None),
        Some(token) => {
            let token = parse_bot_token(token)?;
            check_token_free(view, org, &token)?;
            Ok(Some(token))
        }
    }
}
