//! Staff: users, roles, permissions, markers, Telegram link codes, order-level grants.
//!
//! The ten permissions of the C0de seed plus the six of SPEC section 4. Built-in roles follow
//! the seeds: Administrator (everything), Manager (C0de's Support), Worker (C0de's
//! Programmer), Master (Brando's field technician).

use serde::{Deserialize, Serialize};

use std::collections::BTreeMap;

use super::{
    Localized, MarkerId, OrderId, PaymentMethodId, RoleId, TelegramUserId, Timestamp, UserId,
};

/// One thing a staff user may do. Checked by crm-lib on every use case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Permission {
    /// Create and manage user accounts.
    ManageUsers,
    /// Create and manage roles.
    ManageRoles,
    /// Create and manage markers.
    ManageMarkers,
    /// Approve or reject new orders.
    ModerateOrders,
    /// Assign orders to staff; also makes the user a "manager" who may move any order.
    AssignOrders,
    /// See orders past moderation.
    ViewOrders,
    /// Place bids (price proposals) on orders.
    RespondOrders,
    /// Chat with customers.
    ChatCustomers,
    /// Move orders between stages (only their own unless they also have `assign_orders`).
    UpdateOrderStatus,
    /// Send payment details to customers.
    SendPaymentInfo,
    /// Change organization settings, the pipeline and the bot token.
    ManageSettings,
    /// Manage payment methods, tokens and invoices.
    ManageBilling,
    /// Send broadcasts.
    Broadcast,
    /// See the dashboard's analytics.
    ViewAnalytics,
    /// Manage projects (renovation).
    ManageProjects,
    /// Read the audit log.
    ViewAudit,
    /// Add daily reports and money entries to the projects one works on (a project's
    /// workers). Added after the others: stored sets name permissions by position.
    ReportProjects,
}

impl Permission {
    /// Every permission, in display order.
    pub const ALL: [Permission; 17] = [
        Permission::ManageUsers,
        Permission::ManageRoles,
        Permission::ManageMarkers,
        Permission::ModerateOrders,
        Permission::AssignOrders,
        Permission::ViewOrders,
        Permission::RespondOrders,
        Permission::ChatCustomers,
        Permission::UpdateOrderStatus,
        Permission::SendPaymentInfo,
        Permission::ManageSettings,
        Permission::ManageBilling,
        Permission::Broadcast,
        Permission::ViewAnalytics,
        Permission::ManageProjects,
        Permission::ViewAudit,
        Permission::ReportProjects,
    ];

    /// The snake_case name (`moderate_orders`).
    pub fn as_str(self) -> &'static str {
        match self {
            Permission::ManageUsers => "manage_users",
            Permission::ManageRoles => "manage_roles",
            Permission::ManageMarkers => "manage_markers",
            Permission::ModerateOrders => "moderate_orders",
            Permission::AssignOrders => "assign_orders",
            Permission::ViewOrders => "view_orders",
            Permission::RespondOrders => "respond_orders",
            Permission::ChatCustomers => "chat_customers",
            Permission::UpdateOrderStatus => "update_order_status",
            Permission::SendPaymentInfo => "send_payment_info",
            Permission::ManageSettings => "manage_settings",
            Permission::ManageBilling => "manage_billing",
            Permission::Broadcast => "broadcast",
            Permission::ViewAnalytics => "view_analytics",
            Permission::ManageProjects => "manage_projects",
            Permission::ViewAudit => "view_audit",
            Permission::ReportProjects => "report_projects",
        }
    }

    /// Parses the snake_case name.
    ///
    /// # Errors
    /// [`crate::ErrorKind::InvalidInput`] on `field` for an unknown name.
    pub fn parse(field: &'static str, text: &str) -> crate::Result<Self> {
        Permission::ALL
            .into_iter()
            .find(|permission| permission.as_str() == text.trim())
            .ok_or_else(|| crate::Error::invalid(field, format!("{text:?} is not a permission")))
    }

    fn bit(self) -> u32 {
        1 << (self as u32)
    }
}

impl std::fmt::Display for Permission {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A set of permissions, stored as a bit set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct PermissionSet(u32);

impl PermissionSet {
    /// No permissions.
    pub const EMPTY: PermissionSet = PermissionSet(0);

    /// Every permission.
    pub fn all() -> Self {
        Permission::ALL.into_iter().collect()
    }

    /// Whether `permission` is in the set.
    pub fn contains(self, permission: Permission) -> bool {
        self.0 & permission.bit() != 0
    }

    /// Adds `permission`.
    pub fn insert(&mut self, permission: Permission) {
        self.0 |= permission.bit();
    }

    /// The union of two sets.
    pub fn union(self, other: PermissionSet) -> Self {
        PermissionSet(self.0 | other.0)
    }

    /// The permissions in display order.
    pub fn iter(self) -> impl Iterator<Item = Permission> {
        Permission::ALL
            .into_iter()
            .filter(move |permission| self.contains(*permission))
    }
}

impl FromIterator<Permission> for PermissionSet {
    fn from_iter<I: IntoIterator<Item = Permission>>(iter: I) -> Self {
        let mut set = PermissionSet::EMPTY;
        for permission in iter {
            set.insert(permission);
        }
        set
    }
}

/// The roles every organization starts with. Their permission lists are fixed; custom roles
/// can be added beside them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BuiltinRole {
    /// Everything.
    Administrator,
    /// C0de's Support: moderation, assignment, chat, stages, payment info and the payment
    /// methods it sends, analytics, audit; the projects (renovation).
    Manager,
    /// C0de's Programmer: sees orders, bids, moves the orders assigned to them; reports on
    /// the projects they work on.
    Worker,
    /// Brando's master: sees orders and moves the ones assigned to them; no bids; reports on
    /// the projects they work on.
    Master,
}

impl BuiltinRole {
    /// All built-in roles, in display order.
    pub const ALL: [BuiltinRole; 4] = [
        BuiltinRole::Administrator,
        BuiltinRole::Manager,
        BuiltinRole::Worker,
        BuiltinRole::Master,
    ];

    /// The role's name (`administrator`); role names are unique per organization.
    pub fn name(self) -> &'static str {
        match self {
            BuiltinRole::Administrator => "administrator",
            BuiltinRole::Manager => "manager",
            BuiltinRole::Worker => "worker",
            BuiltinRole::Master => "master",
        }
    }

    /// The fixed permission list (C0de seed's role table, extended by SPEC section 4).
    pub fn permissions(self) -> PermissionSet {
        use Permission::*;
        match self {
            BuiltinRole::Administrator => PermissionSet::all(),
            BuiltinRole::Manager => [
                ViewOrders,
                ChatCustomers,
                ModerateOrders,
                AssignOrders,
                UpdateOrderStatus,
                SendPaymentInfo,
                // The payment methods the manager sends: otherwise a manager can send no
                // payment details until an administrator creates a method.
                ManageBilling,
                ManageMarkers,
                Broadcast,
                ViewAnalytics,
                ViewAudit,
                // The renovation plan's manager runs the projects in the web admin.
                ManageProjects,
            ]
            .into_iter()
            .collect(),
            // Workers and masters are the renovation plan's field crew: they report on the
            // projects they are put on.
            BuiltinRole::Worker => [ViewOrders, RespondOrders, UpdateOrderStatus, ReportProjects]
                .into_iter()
                .collect(),
            BuiltinRole::Master => [ViewOrders, UpdateOrderStatus, ReportProjects]
                .into_iter()
                .collect(),
        }
    }
}

/// A named set of permissions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Role {
    /// The id.
    pub id: RoleId,
    /// Unique name within the organization, lowercase.
    pub name: String,
    /// What holders may do.
    pub permissions: PermissionSet,
    /// Set for the four built-in roles, which cannot be deleted or changed.
    pub builtin: Option<BuiltinRole>,
}

/// Whether a staff account may log in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UserStatus {
    /// May log in and act.
    Active,
    /// Disabled: cannot log in; sessions and tokens are refused.
    Disabled,
}

/// Operator presence (Django operator seed), for routing conversations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum OperatorStatus {
    /// Takes new conversations.
    Online,
    /// Logged in, not taking new conversations.
    Away,
    /// Not working.
    #[default]
    Offline,
}

/// A staff user.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct User {
    /// The id.
    pub id: UserId,
    /// Login name, unique per organization, `[a-z0-9_.-]`, 3-32 characters.
    pub username: String,
    /// Name shown to colleagues and customers.
    pub display_name: String,
    /// PHC string of the argon2id hash (m=19456 KiB, t=2, p=1). Never shown or logged.
    pub password_hash: String,
    /// Set by `crm init` and first start: the next login must change the password.
    pub must_change_password: bool,
    /// The user's roles; permissions are their union.
    pub roles: Vec<RoleId>,
    /// Skills (markers).
    pub markers: Vec<MarkerId>,
    /// The Telegram account linked through a one-time code, after confirmation.
    pub telegram_id: Option<TelegramUserId>,
    /// Active or disabled.
    pub status: UserStatus,
    /// Operator presence.
    pub operator_status: OperatorStatus,
    /// Interface language.
    pub language: super::Language,
    /// Saved payment details the user reuses, per payment method (C0de seed): they fill the
    /// payment message when this user sends payment details with that method.
    pub payment_details: SavedPaymentDetails,
    /// When the account was created.
    pub created_at: Timestamp,
    /// The user's phone in E.164 (`+79161234567`), unique within the organization: how a
    /// worker sharing their Telegram contact is recognised (issue 14). Added in record
    /// version 4.
    pub phone: Option<String>,
}

/// A staff user's saved payment details, per payment method (C0de seed: "programmers can
/// save reusable payment details for different payment methods"). Each text is what the user
/// wants a customer to read when they send payment details with that method: an account
/// number, a card, a wallet address.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct SavedPaymentDetails(BTreeMap<PaymentMethodId, String>);

impl SavedPaymentDetails {
    /// The details saved for `method`, if any.
    pub fn get(&self, method: PaymentMethodId) -> Option<&str> {
        self.0.get(&method).map(String::as_str)
    }

    /// Saves `text` for `method`; an empty text removes what was saved. Returns whether
    /// anything changed.
    pub fn set(&mut self, method: PaymentMethodId, text: impl Into<String>) -> bool {
        let text = text.into();
        if text.is_empty() {
            self.0.remove(&method).is_some()
        } else if self.0.get(&method) == Some(&text) {
            false
        } else {
            self.0.insert(method, text);
            true
        }
    }

    /// Every (method, details) pair, by method id.
    pub fn iter(&self) -> impl Iterator<Item = (PaymentMethodId, &str)> {
        self.0.iter().map(|(method, text)| (*method, text.as_str()))
    }

    /// Whether nothing is saved.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// A coloured tag on orders and users (C0de's stack markers).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Marker {
    /// The id.
    pub id: MarkerId,
    /// The name, per language; unique within the organization in each language
    /// (case-insensitive), 1-32 characters.
    pub name: Localized,
    /// `#rrggbb`.
    pub color: String,
}

/// A one-time code that links a staff user's Telegram account (C0de seed).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LinkCode {
    /// The code, 8 characters of an unambiguous upper-case alphabet.
    pub code: String,
    /// Who asked for it.
    pub user: UserId,
    /// After this moment the code is refused.
    pub expires_at: Timestamp,
}

/// A temporary right of one user on one order (C0de's order-level permissions), for example
/// chat access for the assignee.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrderGrant {
    /// The order.
    pub order: OrderId,
    /// The user.
    pub user: UserId,
    /// The permission granted on that order only.
    pub permission: Permission,
    /// When the grant lapses; `None` lasts until revoked.
    pub expires_at: Option<Timestamp>,
}
