//! The token service, the `tokens` module of SPEC 3.1 (SPEC 5D; source: the TeleKpr PRD,
//! sections 3.2, 3.3, 6.2 and 8). While the module is off in an organization every call here
//! answers "not found", as its pages, bot commands and API do.
//!
//! - **Packages** ([`Package`]): offerings priced in tokens, with a regular and a subscriber
//!   price (the PRD's table, created from the service template), and the email-confirmation
//!   add-on priced in [`TokenSettings`].
//! - **The ledger** ([`LedgerEntry`], `ledger.rs`): append-only entries (purchase, spend,
//!   refund, adjustment with a required reason, bonus), each with the balance after it; a
//!   customer's [`TokenAccount`] holds the balance, which is never negative and always the
//!   sum of their entries (`crm verify` checks both).
//! - **Orders** (`orders.rs`): an order of the module charges its package's price when it is
//!   placed, refunds it exactly once when it is cancelled (a stage of kind `Lost`) or deleted,
//!   and waits in the queue, subscribers' orders first, until it finishes. A completed order
//!   can be run again: a linked new order, charged again.
//! - **Subscriptions** (`subscriptions.rs`): 30-day premium bought from the balance or
//!   granted by staff, giving the subscriber prices and priority in the queue; a reminder
//!   before the end and a notice at the end, sent by the `subscription_notices` job.

mod ledger;
mod orders;
mod subscriptions;

pub(crate) use ledger::append_entry;
pub use ledger::{LedgerActions, LedgerPage, ledger_in};
pub use orders::{
    PlacedOrder, QUEUE_PAGE_MAX, QueueRow, Quote, TokenOrderRequest, TokenOrderView, queue_in,
    queue_position_in, quote_in, token_order_in,
};
pub(crate) use orders::{on_order_deleted, on_order_moved};
pub(crate) use subscriptions::subscription_notices;
pub use subscriptions::{EXPIRY_LOOKBACK_DAYS, NOTICES_PER_RUN, SubscriptionView};

use crate::model::*;
use crate::store::declarations::account_key;
use crate::store::{Key, ViewExt, tables};
use crate::{Crm, Error, Result, Tx, View};

use super::{clean_text, load_customer, load_org, require, resolve};

/// The most tokens one ledger entry, price or balance may hold (a billion): far beyond any
/// real order, small enough that no sum overflows.
pub const TOKENS_MAX: u64 = 1_000_000_000;

/// The most packages an organization may have.
pub const PACKAGES_MAX: usize = 100;

/// The most characters of an adjustment's reason or a bonus's note.
pub const REASON_MAX_CHARS: usize = 500;

/// Whether the organization runs the token service.
pub fn module_on(org: &Organization) -> bool {
    org.modules.contains(Module::Tokens)
}

/// The organization, refused as not found while its tokens module is off (the module's
/// pages, API and commands do not exist there).
pub(crate) fn require_module(view: &impl View, org: OrgId) -> Result<Organization> {
    let record = load_org(view, org)?;
    if module_on(&record) {
        Ok(record)
    } else {
        Err(Error::not_found("module", "tokens"))
    }
}

/// The organization's token settings (the PRD's defaults until first saved).
pub(crate) fn settings_of(view: &impl View, org: OrgId) -> Result<TokenSettings> {
    Ok(view
        .get(tables::TOKEN_SETTINGS, &Key::org(org))?
        .unwrap_or_default())
}

/// `customer`'s account, or a new empty one.
pub(crate) fn account_of(
    view: &impl View,
    org: OrgId,
    customer: CustomerId,
) -> Result<TokenAccount> {
    Ok(view
        .get(tables::TOKEN_ACCOUNTS, &account_key(org, customer))?
        .unwrap_or_else(|| TokenAccount::new(customer)))
}

/// Whether `customer` has a token account (a ledger entry or a subscription): contact merge
/// refuses to absorb such a customer, since a ledger is never rewritten.
pub(crate) fn has_account(view: &impl View, org: OrgId, customer: CustomerId) -> Result<bool> {
    view.exists(tables::TOKEN_ACCOUNTS, &account_key(org, customer))
}

/// The package `id` of the organization.
pub(crate) fn load_package(view: &impl View, org: OrgId, id: u64) -> Result<Package> {
    view.get(tables::PACKAGES, &Key::org(org).u64(id))?
        .ok_or_else(|| Error::not_found("package", id))
}

/// Every package of the organization, by position then id.
fn all_packages(view: &impl View, org: OrgId) -> Result<Vec<Package>> {
    let mut packages: Vec<Package> = view.records_with_prefix(tables::PACKAGES, &Key::org(org))?;
    packages.sort_by_key(|package| (package.position, package.id));
    Ok(packages)
}

/// The customer `actor` may read the tokens of: a customer only their own; staff with
/// `view_orders` anyone's of the organization.
fn readable_customer(view: &impl View, actor: &Actor, customer: CustomerId) -> Result<()> {
    match actor.who {
        ActorRef::Customer(own) if own == customer => Ok(()),
        ActorRef::Customer(_) => Err(Error::not_found(CustomerId::LABEL, customer)),
        _ => {
            require(view, actor, Permission::ViewOrders)?;
            load_customer(view, actor.org, customer)?;
            Ok(())
        }
    }
}

/// The organization's packages, by position: every one for staff, the active ones for
/// customers (what the bot offers). Anyone of the organization may read them.
///
/// # Errors
/// Not found while the tokens module is off.
pub fn packages_in(view: &impl View, actor: &Actor) -> Result<Vec<Package>> {
    require_module(view, actor.org)?;
    let resolved = resolve(view, actor)?;
    let mut packages = all_packages(view, actor.org)?;
    if matches!(resolved, super::Resolved::Customer(_)) {
        packages.retain(|package| package.active);
    }
    Ok(packages)
}

/// The organization's token settings. Anyone of the organization may read them.
///
/// # Errors
/// Not found while the tokens module is off.
pub fn token_settings_in(view: &impl View, actor: &Actor) -> Result<TokenSettings> {
    require_module(view, actor.org)?;
    resolve(view, actor)?;
    settings_of(view, actor.org)
}

/// The packages and settings page's content: every package and the settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenSetup {
    /// Every package, in list order.
    pub packages: Vec<Package>,
    /// The settings.
    pub settings: TokenSettings,
}

/// What the packages and settings page edits; needs `manage_settings` (the use cases'
/// permission).
///
/// # Errors
/// Not found while the module is off; permission denied.
pub fn token_setup_in(view: &impl View, actor: &Actor) -> Result<TokenSetup> {
    require_module(view, actor.org)?;
    require(view, actor, Permission::ManageSettings)?;
    Ok(TokenSetup {
        packages: all_packages(view, actor.org)?,
        settings: settings_of(view, actor.org)?,
    })
}

/// A package as typed in the settings or the API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackageInput {
    /// `a-z`, `0-9` and `_`, 1-32 characters, unique in the organization.
    pub key: String,
    /// The name per language; the organization's language must have one (1-100 characters
    /// each).
    pub name: Localized,
    /// Units delivered (the PRD's sites), 1 to [`TOKENS_MAX`].
    pub units: u32,
    /// The regular price in tokens, 1 to [`TOKENS_MAX`].
    pub price: u64,
    /// The subscriber price in tokens, 1 to the regular price.
    pub subscriber_price: u64,
    /// Offered to customers.
    pub active: bool,
    /// Place in lists, ascending.
    pub position: u32,
}

impl PackageInput {
    /// The input that would save `package` unchanged.
    pub fn from_package(package: &Package) -> Self {
        PackageInput {
            key: package.key.clone(),
            name: package.name.clone(),
            units: package.units,
            price: package.price,
            subscriber_price: package.subscriber_price,
            active: package.active,
            position: package.position,
        }
    }
}

/// Checks a package's fields (the rules of [`PackageInput`]) and the key's uniqueness among
/// `others`.
fn checked_package(
    input: PackageInput,
    org: &Organization,
    id: u64,
    others: &[Package],
) -> Result<Package> {
    let key = input.key.trim().to_string();
    if key.is_empty()
        || key.chars().count() > 32
        || !key
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    {
        return Err(Error::invalid(
            "key",
            "a package key is 1-32 characters of a-z, 0-9 and _",
        ));
    }
    if others
        .iter()
        .any(|other| other.id != id && other.key == key)
    {
        return Err(Error::invalid(
            "key",
            format!("another package already has the key {key}"),
        ));
    }
    let mut name = Localized::default();
    for language in Language::all() {
        if let Some(text) = input.name.exact(language) {
            let text = text.trim();
            if !text.is_empty() {
                name.set(language, clean_text("name", text, 1, 100)?);
            }
        }
    }
    if name.exact(org.settings.locale).is_none() {
        return Err(Error::invalid(
            "name",
            format!("the package needs a name in {}", org.settings.locale.code()),
        ));
    }
    if input.units == 0 || u64::from(input.units) > TOKENS_MAX {
        return Err(Error::invalid(
            "units",
            format!("units are 1 to {TOKENS_MAX}"),
        ));
    }
    if input.price == 0 || input.price > TOKENS_MAX {
        return Err(Error::invalid(
            "price",
            format!("a price is 1 to {TOKENS_MAX} tokens"),
        ));
    }
    if input.subscriber_price == 0 || input.subscriber_price > input.price {
        return Err(Error::invalid(
            "subscriber_price",
            "the subscriber price is 1 token up to the regular price",
        ));
    }
    Ok(Package {
        id,
        key,
        name,
        units: input.units,
        price: input.price,
        subscriber_price: input.subscriber_price,
        active: input.active,
        position: input.position,
    })
}

/// Checks the settings' figures: prices up to [`TOKENS_MAX`], the add-on's subscriber price
/// at most its regular price, a subscription of 1-366 days with a reminder of 0 up to one
/// day less than it.
fn check_settings(settings: &TokenSettings) -> Result<()> {
    for (field, value) in [
        ("email_addon_price", settings.email_addon_price),
        (
            "email_addon_subscriber_price",
            settings.email_addon_subscriber_price,
        ),
        ("low_balance_threshold", settings.low_balance_threshold),
        ("subscription_price", settings.subscription_price),
    ] {
        if value > TOKENS_MAX {
            return Err(Error::invalid(
                field,
                format!("at most {TOKENS_MAX} tokens"),
            ));
        }
    }
    if settings.email_addon_subscriber_price > settings.email_addon_price {
        return Err(Error::invalid(
            "email_addon_subscriber_price",
            "the subscriber price of the add-on is at most its regular price",
        ));
    }
    if settings.subscription_price == 0 {
        return Err(Error::invalid(
            "subscription_price",
            "the subscription costs at least 1 token",
        ));
    }
    if !(1..=366).contains(&settings.subscription_days) {
        return Err(Error::invalid(
            "subscription_days",
            "a subscription lasts 1 to 366 days",
        ));
    }
    if settings.reminder_days >= settings.subscription_days {
        return Err(Error::invalid(
            "reminder_days",
            "the reminder comes at least a day before the end, within the subscription",
        ));
    }
    Ok(())
}

impl Tx<'_> {
    /// Creates a package (`id` `None`) or replaces package `id`. Needs `manage_settings`.
    /// Audited (`package.saved`).
    ///
    /// # Errors
    /// Not found while the module is off or for an unknown id; permission denied; invalid
    /// input naming the field (see [`PackageInput`]); conflict past [`PACKAGES_MAX`].
    pub fn save_package(
        &mut self,
        actor: &Actor,
        id: Option<u64>,
        input: PackageInput,
    ) -> Result<Package> {
        let org = require_module(self, actor.org)?;
        require(self, actor, Permission::ManageSettings)?;
        let others = all_packages(self, actor.org)?;
        let before = match id {
            Some(id) => Some(load_package(self, actor.org, id)?),
            None if others.len() >= PACKAGES_MAX => {
                return Err(Error::conflict(format!(
                    "an organization has at most {PACKAGES_MAX} packages"
                )));
            }
            None => None,
        };
        let mut package = checked_package(input, &org, id.unwrap_or(0), &others)?;
        match before {
            Some(before) => {
                self.update_record(&Key::org(actor.org).u64(before.id), &before, &package)?
            }
            None => {
                package.id = self.next_id(actor.org, "package")?;
                self.insert_record(&Key::org(actor.org).u64(package.id), &package)?;
            }
        }
        self.audit(
            actor,
            AuditAction::PackageSaved,
            Subject::Organization,
            AuditDetail::Text(format!(
                "package {} ({}): {} / {} tokens{}",
                package.id,
                package.key,
                package.price,
                package.subscriber_price,
                if package.active { "" } else { ", inactive" }
            )),
        )?;
        self.changed(actor.org, Subject::Organization, ChangeKind::Updated)?;
        Ok(package)
    }

    /// Replaces the token settings. Needs `manage_settings`. Audited
    /// (`tokens.settings_changed`).
    ///
    /// # Errors
    /// Not found while the module is off; permission denied; invalid input naming the field
    /// (see [`TokenSettings`]'s rules: prices at most [`TOKENS_MAX`], the add-on's subscriber
    /// price at most its price, 1-366 days, the reminder within them).
    pub fn update_token_settings(
        &mut self,
        actor: &Actor,
        settings: TokenSettings,
    ) -> Result<TokenSettings> {
        require_module(self, actor.org)?;
        require(self, actor, Permission::ManageSettings)?;
        check_settings(&settings)?;
        self.save_record(&Key::org(actor.org), &settings)?;
        self.audit(
            actor,
            AuditAction::TokenSettingsChanged,
            Subject::Organization,
            AuditDetail::None,
        )?;
        self.changed(actor.org, Subject::Organization, ChangeKind::Updated)?;
        Ok(settings)
    }
}

impl Crm {
    /// See [`Tx::save_package`].
    ///
    /// # Errors
    /// See [`Tx::save_package`].
    pub fn save_package(
        &self,
        actor: &Actor,
        id: Option<u64>,
        input: PackageInput,
    ) -> Result<Package> {
        let actor = actor.clone();
        self.write(move |tx| tx.save_package(&actor, id, input))
    }

    /// See [`Tx::update_token_settings`].
    ///
    /// # Errors
    /// See [`Tx::update_token_settings`].
    pub fn update_token_settings(
        &self,
        actor: &Actor,
        settings: TokenSettings,
    ) -> Result<TokenSettings> {
        let actor = actor.clone();
        self.write(move |tx| tx.update_token_settings(&actor, settings))
    }

    /// See [`packages_in`].
    ///
    /// # Errors
    /// See [`packages_in`].
    pub fn packages(&self, actor: &Actor) -> Result<Vec<Package>> {
        self.read(|view| packages_in(view, actor))
    }

    /// See [`token_settings_in`].
    ///
    /// # Errors
    /// See [`token_settings_in`].
    pub fn token_settings(&self, actor: &Actor) -> Result<TokenSettings> {
        self.read(|view| token_settings_in(view, actor))
    }
}

/// Creates the template's packages in a new organization (`org::create_org_in`).
pub(crate) fn create_template_packages(
    tx: &Tx<'_>,
    org: OrgId,
    packages: &[crate::templates::TemplatePackage],
) -> Result<()> {
    for (position, template) in packages.iter().enumerate() {
        let id = tx.next_id(org, "package")?;
        let package = Package {
            id,
            key: template.key.clone(),
            name: template.name.clone(),
            units: template.units,
            price: template.price,
            subscriber_price: template.subscriber_price,
            active: true,
            position: u32::try_from(position).unwrap_or(u32::MAX),
        };
        tx.insert_record(&Key::org(org).u64(id), &package)?;
    }
    Ok(())
}
