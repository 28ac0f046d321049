//! Staff: users, roles, markers, authentication, Telegram link codes.

use crate::model::*;
use crate::password::{self, Password};
use crate::store::{Key, ViewExt, codec, keys, tables};
use crate::{Crm, Error, Result, Tx, View};

use super::{Resolved, clean_text, require, resolve};

/// A new staff account.
#[derive(Debug, Clone)]
pub struct NewUser {
    /// Login name; lower-cased, `[a-z0-9_.-]`, 3-32 characters.
    pub username: String,
    /// Name shown to others; defaults to the username when empty.
    pub display_name: String,
    /// The initial password.
    pub password: Password,
    /// Role names (`manager`); at least one.
    pub roles: Vec<String>,
    /// Whether the first login must change the password.
    pub must_change_password: bool,
}

/// A Telegram contact someone shared with the bot (Telegram's `Contact`), as the worker's
/// link by phone needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SharedContact {
    /// The contact's phone as Telegram sends it (`79161234567` or `+79161234567`).
    pub phone_number: String,
    /// The contact's Telegram account, when it has one (`contact.user_id`): equal to the
    /// sender's id when they shared their own contact (Telegram's rule, the only proof that
    /// the phone is theirs).
    pub user_id: Option<TelegramUserId>,
}

/// What became of a shared contact ([`SystemTx::link_staff_by_contact`](crate::system::SystemTx::link_staff_by_contact)).
#[derive(Debug, Clone, PartialEq)]
pub enum ContactLink {
    /// The phone is an active staff user's who works on projects: their Telegram account is
    /// linked now.
    Linked(Box<User>),
    /// The phone is nobody's on the team who works on projects (unknown, disabled, or
    /// without `report_projects` / `manage_projects`); the attempt is audited
    /// (`user.contact_refused`) and nothing else changes. The reasons are not told apart, so
    /// a guess learns nothing about the team.
    NotOnTeam,
}

/// A password just reset by [`Crm::reset_password`]: shown once to the administrator.
#[derive(Debug, Clone)]
pub struct PasswordReset {
    /// The user, who must change it at their next login.
    pub user: User,
    /// The new password (its `Debug` hides the text).
    pub password: Password,
}

/// Parses a username: trimmed, lower-cased, `[a-z0-9_.-]`, 3-32 characters.
///
/// # Errors
/// [`crate::ErrorKind::InvalidInput`] on `username`.
pub fn parse_username(text: &str) -> Result<String> {
    let name = text.trim().to_lowercase();
    let ok = (3..=32).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"_.-".contains(&b));
    if ok {
        Ok(name)
    } else {
        Err(Error::invalid(
            "username",
            format!("{name:?} must be 3-32 characters of a-z, 0-9, '_', '.', '-'"),
        ))
    }
}

/// Parses a `#rrggbb` colour.
///
/// # Errors
/// [`crate::ErrorKind::InvalidInput`] on `color`.
pub fn parse_color(text: &str) -> Result<String> {
    let color = text.trim().to_ascii_lowercase();
    if color.len() == 7
        && color.starts_with('#')
        && color[1..].bytes().all(|b| b.is_ascii_hexdigit())
    {
        Ok(color)
    } else {
        Err(Error::invalid(
            "color",
            format!("{color:?} is not a colour like #3b82f6"),
        ))
    }
}

pub(crate) fn load_user(view: &impl View, org: OrgId, user: UserId) -> Result<User> {
    view.get(tables::USERS, &Key::org(org).u64(user.0))?
        .ok_or_else(|| Error::not_found(UserId::LABEL, user))
}

pub(crate) fn user_by_name(view: &impl View, org: OrgId, username: &str) -> Result<Option<User>> {
    let key = Key::org(org).bytes(username.trim().to_lowercase().as_bytes());
    match view.get_raw(tables::USERS_BY_NAME, key.as_slice(), |bytes| {
        Ok(keys::read_u64(bytes, 0))
    })? {
        Some(id) => Ok(Some(load_user(view, org, UserId(id))?)),
        None => Ok(None),
    }
}

fn role_by_name(view: &impl View, org: OrgId, name: &str) -> Result<Role> {
    let name = name.trim().to_lowercase();
    list_roles_in(view, org)?
        .into_iter()
        .find(|role| role.name == name)
        .ok_or_else(|| Error::invalid("role", format!("{name:?} is not a role")))
}

/// The staff user with this E.164 phone (`users_by_phone`), if any.
pub(crate) fn user_by_phone(view: &impl View, org: OrgId, phone: &str) -> Result<Option<UserId>> {
    let Some(number) = crate::store::declarations::phone_number(phone) else {
        return Ok(None);
    };
    view.get_raw(
        tables::USERS_BY_PHONE,
        crate::store::declarations::user_phone_key(org, number).as_slice(),
        |bytes| Ok(UserId(keys::read_u64(bytes, 0))),
    )
}

/// A phone as a staff user's: the one rule of [`crate::calls::normalize_phone`] (customers'
/// phones and the PBX's numbers follow it too); empty text is no phone.
///
/// # Errors
/// Invalid input on `phone`.
pub fn parse_staff_phone(text: &str) -> Result<Option<String>> {
    if text.trim().is_empty() {
        return Ok(None);
    }
    crate::calls::normalize_phone(text).map(Some)
}

pub(crate) fn list_roles_in(view: &impl View, org: OrgId) -> Result<Vec<Role>> {
    view.records_with_prefix(tables::ROLES, &Key::org(org))
}

/// Staff users of `org` with `permission` and a linked Telegram account: who gets the
/// Telegram notifications of that permission (C0de seed's notification table).
pub(crate) fn linked_staff_with(
    view: &impl View,
    org: OrgId,
    permission: Permission,
) -> Result<Vec<User>> {
    let roles: Vec<RoleId> = list_roles_in(view, org)?
        .into_iter()
        .filter(|role| role.permissions.contains(permission))
        .map(|role| role.id)
        .collect();
    let mut users = Vec::new();
    let mut ids = Vec::new();
    view.for_each_prefix(tables::USERS_BY_TELEGRAM, &Key::org(org), |_, value| {
        ids.push(UserId(keys::read_u64(value, 0)));
        Ok(true)
    })?;
    for id in ids {
        let user = load_user(view, org, id)?;
        if user.status == UserStatus::Active && user.roles.iter().any(|role| roles.contains(role)) {
            users.push(user);
        }
    }
    Ok(users)
}

impl Tx<'_> {
    /// Creates a staff user with an already computed password hash (hashing happens before the
    /// transaction, see [`Crm::create_user`]). Needs `manage_users`.
    pub(crate) fn insert_user(
        &mut self,
        actor: &Actor,
        user: NewUser,
        password_hash: String,
    ) -> Result<User> {
        require(self, actor, Permission::ManageUsers)?;
        let username = parse_username(&user.username)?;
        let display_name = if user.display_name.trim().is_empty() {
            username.clone()
        } else {
            clean_text("display_name", &user.display_name, 1, 100)?
        };
        if user.roles.is_empty() {
            return Err(Error::invalid("role", "a user needs at least one role"));
        }
        let mut roles = Vec::new();
        for name in &user.roles {
            roles.push(role_by_name(self, actor.org, name)?.id);
        }
        if user_by_name(self, actor.org, &username)?.is_some() {
            return Err(Error::conflict(format!("username {username:?} is taken")));
        }
        let org = super::load_org(self, actor.org)?;
        let id = UserId(self.next_id(actor.org, "user")?);
        let record = User {
            id,
            username: username.clone(),
            display_name,
            password_hash,
            must_change_password: user.must_change_password,
            roles,
            markers: Vec::new(),
            telegram_id: None,
            status: UserStatus::Active,
            operator_status: OperatorStatus::Offline,
            language: org.settings.locale,
            payment_details: SavedPaymentDetails::default(),
            created_at: self.now(),
            phone: None,
        };
        self.insert_record(&Key::org(actor.org).u64(id.0), &record)?;
        let role_names: Vec<String> = user.roles.iter().map(|r| r.trim().to_lowercase()).collect();
        self.audit(
            actor,
            AuditAction::UserCreated,
            Subject::User(id),
            AuditDetail::Text(format!("{username} with roles {}", role_names.join(", "))),
        )?;
        Ok(record)
    }

    /// Replaces a stored user, moving the index entries its declaration
    /// (`store::declarations`) says changed (a newly linked Telegram account).
    fn save_user(&self, org: OrgId, user: &User) -> Result<()> {
        self.save_record(&Key::org(org).u64(user.id.0), user)
    }

    /// Replaces a user's password hash. Allowed for the user themself and for `manage_users`.
    pub(crate) fn set_password_hash(
        &mut self,
        actor: &Actor,
        user: UserId,
        hash: String,
        must_change: bool,
    ) -> Result<User> {
        let resolved = resolve(self, actor)?;
        if resolved.user_id() != Some(user) && !resolved.has(Permission::ManageUsers) {
            return Err(Error::denied(
                Permission::ManageUsers,
                format!("{} may not change another user's password", actor.who),
            ));
        }
        let mut record = load_user(self, actor.org, user)?;
        record.password_hash = hash;
        record.must_change_password = must_change;
        self.save_user(actor.org, &record)?;
        if resolved.user_id() != Some(user) {
            // A reset by an administrator ends every session of the account (ASVS 7.4.3).
            self.end_sessions_of(actor.org, user, None)?;
        }
        self.audit(
            actor,
            AuditAction::UserPasswordChanged,
            Subject::User(user),
            AuditDetail::Text(record.username.clone()),
        )?;
        Ok(record)
    }

    /// Disables a user: they can no longer log in, every session of theirs ends and every API
    /// token of theirs is revoked (ASVS 7.4.2; enabling the user again brings neither back).
    /// Needs `manage_users`; a user cannot disable themself.
    ///
    /// # Errors
    /// Permission denied, not found, conflict (self, or the last active administrator).
    pub fn disable_user(&mut self, actor: &Actor, user: UserId) -> Result<User> {
        let resolved = require(self, actor, Permission::ManageUsers)?;
        if resolved.user_id() == Some(user) {
            return Err(Error::conflict("you cannot disable your own account"));
        }
        let mut record = load_user(self, actor.org, user)?;
        if record.status == UserStatus::Disabled {
            return Ok(record);
        }
        record.status = UserStatus::Disabled;
        self.save_user(actor.org, &record)?;
        // ASVS 7.4.2: a disabled account's sessions end at once, and its API tokens with them.
        self.end_sessions_of(actor.org, user, None)?;
        self.audit(
            actor,
            AuditAction::UserDisabled,
            Subject::User(user),
            AuditDetail::Text(record.username.clone()),
        )?;
        self.revoke_api_tokens_of(actor, user)?;
        Ok(record)
    }

    /// Enables a disabled user again (needs `manage_users`): they may log in with their
    /// password. Their old sessions and API tokens stay ended: disabling revoked the tokens,
    /// and any token still held here (kept by a store from before that rule: a disabled user
    /// cannot create one) is revoked now. Enabling an active user changes nothing and writes
    /// nothing.
    ///
    /// # Errors
    /// Permission denied, not found.
    pub fn enable_user(&mut self, actor: &Actor, user: UserId) -> Result<User> {
        require(self, actor, Permission::ManageUsers)?;
        let mut record = load_user(self, actor.org, user)?;
        if record.status == UserStatus::Active {
            return Ok(record);
        }
        record.status = UserStatus::Active;
        self.save_user(actor.org, &record)?;
        self.audit(
            actor,
            AuditAction::UserEnabled,
            Subject::User(user),
            AuditDetail::Text(record.username.clone()),
        )?;
        self.revoke_api_tokens_of(actor, user)?;
        Ok(record)
    }

    /// Replaces a user's roles (needs `manage_users`).
    ///
    /// # Errors
    /// Permission denied, not found, unknown role name.
    pub fn set_user_roles(
        &mut self,
        actor: &Actor,
        user: UserId,
        roles: Vec<String>,
    ) -> Result<User> {
        require(self, actor, Permission::ManageUsers)?;
        if roles.is_empty() {
            return Err(Error::invalid("role", "a user needs at least one role"));
        }
        let mut ids = Vec::new();
        for name in &roles {
            ids.push(role_by_name(self, actor.org, name)?.id);
        }
        let mut record = load_user(self, actor.org, user)?;
        record.roles = ids;
        self.save_user(actor.org, &record)?;
        self.audit(
            actor,
            AuditAction::UserRolesChanged,
            Subject::User(user),
            AuditDetail::Text(roles.join(", ")),
        )?;
        Ok(record)
    }

    /// Creates a custom role (needs `manage_roles`, and the actor must hold every permission
    /// the role grants).
    ///
    /// # Errors
    /// Permission denied (naming a permission the actor lacks), bad or taken name.
    pub fn create_role(
        &mut self,
        actor: &Actor,
        name: &str,
        permissions: PermissionSet,
    ) -> Result<Role> {
        let resolved = require(self, actor, Permission::ManageRoles)?;
        require_grantable(&resolved, actor, permissions.iter())?;
        let name = parse_username(name).map_err(|_| {
            Error::invalid(
                "name",
                format!("{name:?} must be 3-32 characters of a-z, 0-9, '_', '.', '-'"),
            )
        })?;
        if list_roles_in(self, actor.org)?
            .iter()
            .any(|role| role.name == name)
        {
            return Err(Error::conflict(format!("role {name:?} exists")));
        }
        let id = RoleId(self.next_id(actor.org, "role")?);
        let role = Role {
            id,
            name: name.clone(),
            permissions,
            builtin: None,
        };
        self.put(tables::ROLES, &Key::org(actor.org).u64(id.0), &role)?;
        let list: Vec<&str> = permissions.iter().map(Permission::as_str).collect();
        self.audit(
            actor,
            AuditAction::RoleCreated,
            Subject::Role(id),
            AuditDetail::Text(format!("{name}: {}", list.join(", "))),
        )?;
        Ok(role)
    }

    /// Replaces the permissions of a custom role (needs `manage_roles`). The four built-in
    /// roles are fixed. An actor may add only permissions they hold themself, so that
    /// `manage_roles` alone cannot raise its holder above their own rights; removing is always
    /// allowed. Every holder of the role gets the new set at once. Setting the same set
    /// changes nothing and writes nothing.
    ///
    /// # Errors
    /// Permission denied (`manage_roles`, or adding a permission the actor lacks), not found,
    /// conflict for a built-in role.
    pub fn set_role_permissions(
        &mut self,
        actor: &Actor,
        role: RoleId,
        permissions: PermissionSet,
    ) -> Result<Role> {
        let resolved = require(self, actor, Permission::ManageRoles)?;
        let mut record: Role = self
            .get(tables::ROLES, &Key::org(actor.org).u64(role.0))?
            .ok_or_else(|| Error::not_found(RoleId::LABEL, role))?;
        if record.builtin.is_some() {
            return Err(Error::conflict(format!(
                "role {:?} is built in and cannot be changed; create a custom role instead",
                record.name
            )));
        }
        let added: Vec<Permission> = permissions
            .iter()
            .filter(|permission| !record.permissions.contains(*permission))
            .collect();
        let removed: Vec<Permission> = record
            .permissions
            .iter()
            .filter(|permission| !permissions.contains(*permission))
            .collect();
        require_grantable(&resolved, actor, added.iter().copied())?;
        if added.is_empty() && removed.is_empty() {
            return Ok(record);
        }
        record.permissions = permissions;
        self.put(tables::ROLES, &Key::org(actor.org).u64(role.0), &record)?;
        let names = |list: &[Permission]| {
            list.iter()
                .map(|permission| permission.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        };
        let mut summary = record.name.clone();
        if !added.is_empty() {
            summary.push_str(&format!(": added {}", names(&added)));
        }
        if !removed.is_empty() {
            summary.push_str(if added.is_empty() { ": " } else { "; " });
            summary.push_str(&format!("removed {}", names(&removed)));
        }
        self.audit(
            actor,
            AuditAction::RolePermissionsChanged,
            Subject::Role(role),
            AuditDetail::Text(summary),
        )?;
        Ok(record)
    }

    /// Creates a marker (needs `manage_markers`): a name in one or more languages, each 1-32
    /// characters and unique among the markers in that language, ignoring case.
    ///
    /// # Errors
    /// Permission denied, bad name or colour, name taken.
    pub fn create_marker(
        &mut self,
        actor: &Actor,
        name: &Localized,
        color: &str,
    ) -> Result<Marker> {
        require(self, actor, Permission::ManageMarkers)?;
        let name = super::clean_localized("name", name, 32)?;
        let color = parse_color(color)?;
        check_marker_name_free(self, actor.org, &name, None)?;
        let id = MarkerId(self.next_id(actor.org, "marker")?);
        let marker = Marker {
            id,
            name: name.clone(),
            color,
        };
        self.put(tables::MARKERS, &Key::org(actor.org).u64(id.0), &marker)?;
        self.audit(
            actor,
            AuditAction::MarkerCreated,
            Subject::Marker(id),
            AuditDetail::Text(marker.name.get(Language::EN).to_string()),
        )?;
        Ok(marker)
    }

    /// Sets a user's skill markers (needs `manage_users`): the technologies they work with
    /// (C0de seed's skill tracking), shown beside their bids and used to suggest them for
    /// orders with the same markers. Duplicates are dropped and the order is kept; setting the
    /// markers the user already has changes nothing and writes nothing.
    ///
    /// # Errors
    /// Permission denied, unknown user or marker.
    pub fn set_user_markers(
        &mut self,
        actor: &Actor,
        user: UserId,
        markers: Vec<MarkerId>,
    ) -> Result<User> {
        require(self, actor, Permission::ManageUsers)?;
        let mut unique = Vec::with_capacity(markers.len());
        for marker in markers {
            if !unique.contains(&marker) {
                unique.push(marker);
            }
        }
        for marker in &unique {
            if !self.exists(tables::MARKERS, &Key::org(actor.org).u64(marker.0))? {
                return Err(Error::not_found(MarkerId::LABEL, marker));
            }
        }
        let mut record = load_user(self, actor.org, user)?;
        if record.markers == unique {
            return Ok(record);
        }
        record.markers = unique;
        self.save_user(actor.org, &record)?;
        self.audit(
            actor,
            AuditAction::UserMarkersChanged,
            Subject::User(user),
            AuditDetail::Markers {
                markers: record.markers.clone(),
            },
        )?;
        Ok(record)
    }

    /// [`Tx::set_user_markers`] with the markers named as people type them (`Rust, go`): each
    /// name matches a marker's name in any language, ignoring case; an empty list clears the
    /// user's markers.
    ///
    /// # Errors
    /// Invalid input on `markers` naming every unknown name; as [`Tx::set_user_markers`].
    pub fn set_user_marker_names(
        &mut self,
        actor: &Actor,
        user: UserId,
        names: &[String],
    ) -> Result<User> {
        require(self, actor, Permission::ManageUsers)?;
        let markers = marker_ids_by_name_in(self, actor.org, names)?;
        self.set_user_markers(actor, user, markers)
    }

    /// Renames and recolours a marker (needs `manage_markers`): a name in one or more
    /// languages, each 1-32 characters and unique among the other markers in that language,
    /// ignoring case; a language left empty falls back to the default language's name. Orders
    /// and users keep the marker. Setting what the marker has already changes nothing and
    /// writes nothing.
    ///
    /// # Errors
    /// Permission denied, not found, bad name or colour, conflict when another marker has the
    /// name.
    pub fn update_marker(
        &mut self,
        actor: &Actor,
        marker: MarkerId,
        name: &Localized,
        color: &str,
    ) -> Result<Marker> {
        require(self, actor, Permission::ManageMarkers)?;
        let name = super::clean_localized("name", name, 32)?;
        let color = parse_color(color)?;
        let mut record = load_marker(self, actor.org, marker)?;
        check_marker_name_free(self, actor.org, &name, Some(marker))?;
        if record.name == name && record.color == color {
            return Ok(record);
        }
        let before = record.name.get(Language::EN).to_string();
        record.name = name;
        record.color = color;
        self.put(tables::MARKERS, &Key::org(actor.org).u64(marker.0), &record)?;
        self.audit(
            actor,
            AuditAction::MarkerChanged,
            Subject::Marker(marker),
            AuditDetail::Text(format!(
                "{before} -> {} {}",
                record.name.get(Language::EN),
                record.color
            )),
        )?;
        Ok(record)
    }

    /// Deletes a marker (needs `manage_markers`) and takes it off every order (through the
    /// orders' marker index, moving their index entries as any marker change does) and every
    /// staff user that had it, in this one transaction. Each order changed is announced to
    /// live views; one audit entry names the marker and how many records lost it.
    ///
    /// # Errors
    /// Permission denied, not found.
    pub fn delete_marker(&mut self, actor: &Actor, marker: MarkerId) -> Result<MarkerDeletion> {
        require(self, actor, Permission::ManageMarkers)?;
        let record = load_marker(self, actor.org, marker)?;
        let order_keys = self.keys_with_prefix(
            tables::ORDERS_BY_MARKER,
            &Key::org(actor.org).u64(marker.0),
            None,
            false,
            usize::MAX,
        )?;
        let mut orders = Vec::with_capacity(order_keys.len());
        for key in &order_keys {
            let id = OrderId(keys::tail_u64(key));
            let before = super::orders::load_order(self, actor.org, id)?;
            let mut after = before.clone();
            after.markers.retain(|other| *other != marker);
            after.updated_at = self.now();
            super::orders::save_order(self, actor.org, &before, &after)?;
            self.changed(actor.org, Subject::Order(id), ChangeKind::Updated)?;
            orders.push(id);
        }
        let mut users = Vec::new();
        for mut user in all_users_in(self, actor.org)? {
            if user.markers.contains(&marker) {
                user.markers.retain(|other| *other != marker);
                self.save_user(actor.org, &user)?;
                users.push(user.id);
            }
        }
        self.remove(tables::MARKERS, &Key::org(actor.org).u64(marker.0))?;
        self.audit(
            actor,
            AuditAction::MarkerDeleted,
            Subject::Marker(marker),
            AuditDetail::Text(format!(
                "{}: taken off {} orders and {} users",
                record.name.get(Language::EN),
                orders.len(),
                users.len()
            )),
        )?;
        Ok(MarkerDeletion {
            marker: record,
            orders,
            users,
        })
    }

    /// Sets a new password hash for `user` that must be changed at the next login, ends every
    /// session of theirs, and writes the reset's audit entry (the hash of a password generated
    /// and hashed before the transaction, see [`Crm::reset_password`]). Needs `manage_users`;
    /// nobody resets their own password this way (the profile page changes it, knowing the
    /// current one).
    ///
    /// # Errors
    /// Permission denied, not found, conflict for the actor's own account.
    pub(crate) fn reset_password_hash(
        &mut self,
        actor: &Actor,
        user: UserId,
        hash: String,
    ) -> Result<User> {
        let resolved = require(self, actor, Permission::ManageUsers)?;
        check_resettable(&resolved, user)?;
        let mut record = load_user(self, actor.org, user)?;
        record.password_hash = hash;
        record.must_change_password = true;
        self.save_user(actor.org, &record)?;
        // Whoever held the account's sessions held them with the old password (ASVS 7.4.3).
        let ended = self.end_sessions_of(actor.org, user, None)?;
        self.audit(
            actor,
            AuditAction::UserPasswordReset,
            Subject::User(user),
            AuditDetail::Text(format!("{}: {ended} sessions ended", record.username)),
        )?;
        Ok(record)
    }

    /// Sets, changes or removes (`None` or empty text) a staff user's phone (needs
    /// `manage_users`). The phone is cleaned to E.164 by [`parse_staff_phone`] and must be
    /// no other user's in the organization. Setting the phone the user has already writes
    /// nothing. Audited (`user.phone_changed`).
    ///
    /// # Errors
    /// Permission denied; not found; invalid input on `phone`; conflict when another user
    /// of the organization has that phone.
    pub fn set_user_phone(
        &mut self,
        actor: &Actor,
        user: UserId,
        phone: Option<&str>,
    ) -> Result<User> {
        require(self, actor, Permission::ManageUsers)?;
        let phone = parse_staff_phone(phone.unwrap_or_default())?;
        let mut record = load_user(self, actor.org, user)?;
        if record.phone == phone {
            return Ok(record);
        }
        if let Some(phone) = &phone
            && user_by_phone(self, actor.org, phone)?.is_some_and(|other| other != user)
        {
            return Err(Error::conflict(format!(
                "phone {phone} is another user's in this organization"
            )));
        }
        record.phone = phone;
        self.save_user(actor.org, &record)?;
        self.audit(
            actor,
            AuditAction::UserPhoneChanged,
            Subject::User(user),
            AuditDetail::Text(format!(
                "{}: {}",
                record.username,
                record.phone.as_deref().unwrap_or("no phone")
            )),
        )?;
        Ok(record)
    }

    /// Links the Telegram account `telegram_id` to the staff user whose phone `contact`
    /// carries (issue 14: a worker shares their contact with the bot). Only in an
    /// organization running the projects module, only for one's own contact
    /// (`contact.user_id` equal to the sender), only to an active staff user holding
    /// `report_projects` or `manage_projects`. The link is the link code's: the user's
    /// `telegram_id`, the `StaffLinked` confirmation queued to the chat, the audit entry
    /// `user.telegram_linked`. A phone that matches nobody who qualifies is
    /// [`ContactLink::NotOnTeam`], audited as `user.contact_refused` (by the customer the
    /// account is, else the system) with the phone's last four digits only.
    ///
    /// # Errors
    /// Not found while the projects module is off; permission denied for another person's
    /// contact; invalid input on `phone` for text that is not a phone; conflict when the
    /// account is linked to a staff user already or the matched user has a Telegram account
    /// linked already. None of them writes anything.
    pub(crate) fn link_staff_by_contact(
        &mut self,
        org: OrgId,
        telegram_id: TelegramUserId,
        contact: &SharedContact,
    ) -> Result<ContactLink> {
        super::require_module(self, org, Module::Projects)?;
        if contact.user_id != Some(telegram_id) {
            return Err(Error::forbidden(
                "only your own contact links your Telegram account",
            ));
        }
        let phone = crate::calls::normalize_phone(&contact.phone_number)?;
        let tg_key = Key::org(org).i64(telegram_id.0);
        if self.exists(tables::USERS_BY_TELEGRAM, &tg_key)? {
            return Err(Error::conflict(
                "this Telegram account is already linked to a staff user",
            ));
        }
        let matched = match user_by_phone(self, org, &phone)? {
            Some(id) => {
                let user = load_user(self, org, id)?;
                let permissions = if user.status == UserStatus::Active {
                    super::permissions_of(self, org, &user)?
                } else {
                    PermissionSet::EMPTY
                };
                (permissions.contains(Permission::ReportProjects)
                    || permissions.contains(Permission::ManageProjects))
                .then_some(user)
            }
            None => None,
        };
        let Some(user) = matched else {
            let customer = self.system().customer_by_telegram(org, telegram_id)?;
            let (actor, subject) = match &customer {
                Some(customer) => (
                    Actor::customer(org, customer.id),
                    Subject::Customer(customer.id),
                ),
                None => (
                    Actor::system(org),
                    Subject::Other(format!("telegram {telegram_id}")),
                ),
            };
            let digits: String = phone
                .chars()
                .rev()
                .take(4)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect();
            self.audit(
                &actor,
                AuditAction::UserContactRefused,
                subject,
                AuditDetail::Text(format!(
                    "telegram {telegram_id} shared a phone ending {digits}"
                )),
            )?;
            return Ok(ContactLink::NotOnTeam);
        };
        if user.telegram_id.is_some() {
            return Err(Error::conflict(format!(
                "user {} has a Telegram account linked already",
                user.username
            )));
        }
        let user = self.link_telegram(
            org,
            user,
            telegram_id,
            format!("telegram {telegram_id} by its shared contact"),
        )?;
        Ok(ContactLink::Linked(Box::new(user)))
    }

    /// Links `telegram_id` to `user` (checked by the caller: the account is nobody else's),
    /// tells them in Telegram (`Event::StaffLinked`) and audits `user.telegram_linked` with
    /// `detail`: the one write of both ways to link, the code and the shared contact.
    fn link_telegram(
        &mut self,
        org: OrgId,
        mut user: User,
        telegram_id: TelegramUserId,
        detail: String,
    ) -> Result<User> {
        user.telegram_id = Some(telegram_id);
        self.save_user(org, &user)?;
        self.enqueue(
            org,
            Recipient::Staff(user.id),
            OutboxPayload::Notify(Event::StaffLinked {
                display_name: user.display_name.clone(),
            }),
        )?;
        self.audit(
            &Actor::staff(org, user.id),
            AuditAction::UserTelegramLinked,
            Subject::User(user.id),
            AuditDetail::Text(detail),
        )?;
        Ok(user)
    }

    /// Issues a one-time code for linking the actor's Telegram account, valid 15 minutes
    /// (C0de seed). Any earlier code of the user stops working.
    ///
    /// # Errors
    /// Only staff users may ask for one.
    pub fn create_link_code(&mut self, actor: &Actor) -> Result<LinkCode> {
        let user = match resolve(self, actor)? {
            Resolved::Staff(user, _) => user,
            _ => return Err(Error::forbidden("only staff users link a Telegram account")),
        };
        let mut stale = Vec::new();
        self.for_each_prefix(tables::LINK_CODES, &Key::org(actor.org), |key, value| {
            if codec::decode::<LinkCode>(value)?.user == user.id {
                stale.push(key.to_vec());
            }
            Ok(true)
        })?;
        for key in stale {
            self.remove(tables::LINK_CODES, &Key::empty().bytes(&key))?;
        }
        let code = password::random_string(8, b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789")?;
        let link = LinkCode {
            code: code.clone(),
            user: user.id,
            expires_at: self.now().plus_millis(LINK_CODE_TTL_MS),
        };
        self.put(
            tables::LINK_CODES,
            &Key::org(actor.org).bytes(code.as_bytes()),
            &link,
        )?;
        self.audit(
            actor,
            AuditAction::UserLinkCodeCreated,
            Subject::User(user.id),
            AuditDetail::Text("valid 15 minutes".into()),
        )?;
        Ok(link)
    }

    /// Redeems a link code sent from Telegram account `telegram_id`: links it to the code's
    /// user and queues a confirmation to that chat. The code works once.
    ///
    /// # Errors
    /// Invalid input for an unknown or expired code; conflict when that Telegram account is
    /// already linked to another user.
    pub(crate) fn redeem_link_code(
        &mut self,
        org: OrgId,
        code: &str,
        telegram_id: TelegramUserId,
    ) -> Result<User> {
        let code = code.trim().to_ascii_uppercase();
        let key = Key::org(org).bytes(code.as_bytes());
        let link: LinkCode = self.get(tables::LINK_CODES, &key)?.ok_or_else(|| {
            Error::invalid("code", "this link code is unknown or was already used")
        })?;
        if link.expires_at < self.now() {
            return Err(Error::invalid(
                "code",
                "this link code has expired; ask for a new one on your profile page",
            ));
        }
        let tg_key = Key::org(org).i64(telegram_id.0);
        let linked = self.get_raw(tables::USERS_BY_TELEGRAM, tg_key.as_slice(), |bytes| {
            Ok(keys::read_u64(bytes, 0))
        })?;
        if linked.is_some_and(|other| other != link.user.0) {
            return Err(Error::conflict(
                "this Telegram account is already linked to another user",
            ));
        }
        let user = load_user(self, org, link.user)?;
        self.remove(tables::LINK_CODES, &key)?;
        self.link_telegram(org, user, telegram_id, format!("telegram {telegram_id}"))
    }
}

/// Refuses to put into a role a permission the actor does not hold themself, so that
/// `manage_roles` alone cannot be used to gain `manage_users` (or anything else).
fn require_grantable(
    resolved: &Resolved,
    actor: &Actor,
    granted: impl IntoIterator<Item = Permission>,
) -> Result<()> {
    match granted
        .into_iter()
        .find(|permission| !resolved.has(*permission))
    {
        Some(lacking) => Err(Error::denied(
            lacking,
            format!(
                "{} may not grant {lacking}, which they do not hold",
                actor.who
            ),
        )),
        None => Ok(()),
    }
}

/// How long a link code stays valid: 15 minutes, in milliseconds.
pub const LINK_CODE_TTL_MS: i64 = 15 * 60 * 1000;

pub(crate) fn list_markers_in(view: &impl View, org: OrgId) -> Result<Vec<Marker>> {
    view.records_with_prefix(tables::MARKERS, &Key::org(org))
}

fn load_marker(view: &impl View, org: OrgId, marker: MarkerId) -> Result<Marker> {
    view.get(tables::MARKERS, &Key::org(org).u64(marker.0))?
        .ok_or_else(|| Error::not_found(MarkerId::LABEL, marker))
}

/// Refuses a marker name that another marker (not `except`) has in one of the name's
/// languages, ignoring case.
fn check_marker_name_free(
    view: &impl View,
    org: OrgId,
    name: &Localized,
    except: Option<MarkerId>,
) -> Result<()> {
    for marker in list_markers_in(view, org)? {
        if Some(marker.id) == except {
            continue;
        }
        for (language, text) in name.iter() {
            if marker.name.get(language).to_lowercase() == text.to_lowercase() {
                return Err(Error::conflict(format!("marker {text:?} exists")));
            }
        }
    }
    Ok(())
}

/// The markers named in `names` (each a marker's name in any language, ignoring case and
/// surrounding spaces; empty names are skipped), in the order given.
///
/// # Errors
/// Invalid input on `markers` naming every name no marker has, and the names there are.
pub(crate) fn marker_ids_by_name_in(
    view: &impl View,
    org: OrgId,
    names: &[String],
) -> Result<Vec<MarkerId>> {
    let markers = list_markers_in(view, org)?;
    let mut ids = Vec::new();
    let mut unknown = Vec::new();
    for name in names
        .iter()
        .map(|name| name.trim())
        .filter(|name| !name.is_empty())
    {
        let wanted = name.to_lowercase();
        match markers.iter().find(|marker| {
            marker
                .name
                .iter()
                .any(|(_, text)| text.to_lowercase() == wanted)
        }) {
            Some(marker) => ids.push(marker.id),
            None => unknown.push(format!("{name:?}")),
        }
    }
    if unknown.is_empty() {
        Ok(ids)
    } else {
        let known: Vec<&str> = markers
            .iter()
            .map(|marker| marker.name.get(Language::EN))
            .collect();
        Err(Error::invalid(
            "markers",
            format!(
                "no marker is called {} (the markers are: {})",
                unknown.join(", "),
                if known.is_empty() {
                    "none yet".to_string()
                } else {
                    known.join(", ")
                }
            ),
        ))
    }
}

/// Skill markers as a caller has them: by id (a form's checkboxes) or by name as typed
/// (`crm user add --markers Rust,go`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MarkerRefs {
    /// By id.
    Ids(Vec<MarkerId>),
    /// By name: each a marker's name in any language, ignoring case and surrounding spaces.
    Names(Vec<String>),
}

impl MarkerRefs {
    /// The ids, every one checked to exist.
    ///
    /// # Errors
    /// Invalid input on `markers` naming every unknown name; not found for an unknown id.
    fn resolve_in(&self, view: &impl View, org: OrgId) -> Result<Vec<MarkerId>> {
        match self {
            MarkerRefs::Names(names) => marker_ids_by_name_in(view, org, names),
            MarkerRefs::Ids(ids) => {
                for marker in ids {
                    if !view.exists(tables::MARKERS, &Key::org(org).u64(marker.0))? {
                        return Err(Error::not_found(MarkerId::LABEL, marker));
                    }
                }
                Ok(ids.clone())
            }
        }
    }
}

/// Refuses a password reset of the actor's own account.
fn check_resettable(resolved: &Resolved, user: UserId) -> Result<()> {
    if resolved.user_id() == Some(user) {
        return Err(Error::conflict(
            "you cannot reset your own password; change it on your profile page",
        ));
    }
    Ok(())
}

/// What [`Tx::delete_marker`] did.
#[derive(Debug, Clone, PartialEq)]
pub struct MarkerDeletion {
    /// The marker as it was.
    pub marker: Marker,
    /// The orders it was taken off.
    pub orders: Vec<OrderId>,
    /// The staff users it was taken off.
    pub users: Vec<UserId>,
}

impl Crm {
    /// Creates a staff user. Hashes the password (argon2id, tens of milliseconds, at most two
    /// at once) before entering the write transaction, so the writer never waits on it.
    ///
    /// # Errors
    /// Permission denied (`manage_users`), bad username, unknown role, username taken.
    pub fn create_user(&self, actor: &Actor, user: NewUser) -> Result<User> {
        self.create_user_with_markers(actor, user, MarkerRefs::Ids(Vec::new()))
    }

    /// [`Crm::create_user`] that also gives the new user skill markers (see
    /// [`Tx::set_user_markers`]), in the same transaction: the user is created with their
    /// markers or not at all. An empty list means no markers.
    ///
    /// # Errors
    /// As [`Crm::create_user`], plus invalid input on `markers` for a name no marker has and
    /// not found for an unknown marker id.
    pub fn create_user_with_markers(
        &self,
        actor: &Actor,
        user: NewUser,
        markers: MarkerRefs,
    ) -> Result<User> {
        parse_username(&user.username)?;
        let hash = password::hash_password(&user.password)?;
        let actor = actor.clone();
        self.write(move |tx| {
            // The markers are checked before anything is written.
            let markers = markers.resolve_in(tx, actor.org)?;
            let created = tx.insert_user(&actor, user, hash)?;
            if markers.is_empty() {
                Ok(created)
            } else {
                tx.set_user_markers(&actor, created.id, markers)
            }
        })
    }

    /// Resets `user`'s password to a new random one (20 characters, passing the password
    /// rule), returned once to be shown to the administrator; the user must change it at their
    /// next login, and every session of theirs ends. Needs `manage_users`, checked before the
    /// password is hashed (argon2id, outside the write transaction; blocks tens of
    /// milliseconds) and again in the transaction.
    ///
    /// # Errors
    /// Permission denied; not found; conflict for the actor's own account.
    pub fn reset_password(&self, actor: &Actor, user: UserId) -> Result<PasswordReset> {
        self.read(|view| {
            let resolved = require(view, actor, Permission::ManageUsers)?;
            check_resettable(&resolved, user)?;
            load_user(view, actor.org, user).map(|_| ())
        })?;
        let password = password::generate_password()?;
        let hash = password::hash_password(&password)?;
        let actor = actor.clone();
        let record = self.write(move |tx| tx.reset_password_hash(&actor, user, hash))?;
        Ok(PasswordReset {
            user: record,
            password,
        })
    }

    /// Sets a new password for `user` (themself, or anyone with `manage_users`).
    /// `must_change` forces another change at the next login.
    ///
    /// # Errors
    /// Permission denied, not found.
    pub fn set_password(
        &self,
        actor: &Actor,
        user: UserId,
        password: &Password,
        must_change: bool,
    ) -> Result<User> {
        let hash = password::hash_password(password)?;
        let actor = actor.clone();
        self.write(move |tx| tx.set_password_hash(&actor, user, hash, must_change))
    }

    /// Checks a login. Takes as long for an unknown username as for a known one.
    ///
    /// # Errors
    /// [`crate::ErrorKind::PermissionDenied`] with the same message for an unknown user, a
    /// wrong password and a disabled account, so the answer reveals nothing.
    pub fn authenticate(&self, org: OrgId, username: &str, password: &str) -> Result<User> {
        let user = self.read(|view| user_by_name(view, org, username))?;
        let refused = || Error::forbidden("wrong username or password");
        match user {
            Some(user) => {
                let ok = password::verify_password(password, &user.password_hash)?;
                if ok && user.status == UserStatus::Active {
                    Ok(user)
                } else {
                    Err(refused())
                }
            }
            None => {
                let _ = password::verify_password(password, password::dummy_hash()?)?;
                Err(refused())
            }
        }
    }
    /// A staff user of the actor's organization (see [`user_in`]).
    ///
    /// # Errors
    /// See [`user_in`].
    pub fn user(&self, actor: &Actor, user: UserId) -> Result<User> {
        self.read(|view| user_in(view, actor, user))
    }

    /// The staff user with this username (see [`user_in`]).
    ///
    /// # Errors
    /// Not found; as [`user_in`].
    pub fn user_by_name(&self, actor: &Actor, username: &str) -> Result<User> {
        self.read(|view| {
            let found = user_by_name(view, actor.org, username)?
                .ok_or_else(|| Error::not_found("user", username.trim()))?;
            user_in(view, actor, found.id)
        })
    }

    /// See [`users_in`].
    ///
    /// # Errors
    /// See [`users_in`].
    pub fn users(&self, actor: &Actor) -> Result<Vec<User>> {
        self.read(|view| users_in(view, actor))
    }

    /// The permissions `user` holds through their roles (see [`user_in`]).
    ///
    /// # Errors
    /// See [`user_in`].
    pub fn permissions(&self, actor: &Actor, user: UserId) -> Result<PermissionSet> {
        self.read(|view| {
            let user = user_in(view, actor, user)?;
            super::permissions_of(view, actor.org, &user)
        })
    }

    /// The roles of `user`, for reading as [`user_in`] allows (their own, or anyone's with
    /// `manage_users`).
    ///
    /// # Errors
    /// See [`user_in`].
    pub fn user_roles(&self, actor: &Actor, user: UserId) -> Result<Vec<Role>> {
        self.read(|view| {
            let user = user_in(view, actor, user)?;
            Ok(list_roles_in(view, actor.org)?
                .into_iter()
                .filter(|role| user.roles.contains(&role.id))
                .collect())
        })
    }

    /// See [`roles_in`].
    ///
    /// # Errors
    /// See [`roles_in`].
    pub fn roles(&self, actor: &Actor) -> Result<Vec<Role>> {
        self.read(|view| roles_in(view, actor))
    }

    /// See [`markers_in`].
    ///
    /// # Errors
    /// See [`markers_in`].
    pub fn markers(&self, actor: &Actor) -> Result<Vec<Marker>> {
        self.read(|view| markers_in(view, actor))
    }

    /// See [`Tx::disable_user`].
    ///
    /// # Errors
    /// See [`Tx::disable_user`].
    pub fn disable_user(&self, actor: &Actor, user: UserId) -> Result<User> {
        let actor = actor.clone();
        self.write(move |tx| tx.disable_user(&actor, user))
    }

    /// See [`Tx::enable_user`].
    ///
    /// # Errors
    /// See [`Tx::enable_user`].
    pub fn enable_user(&self, actor: &Actor, user: UserId) -> Result<User> {
        let actor = actor.clone();
        self.write(move |tx| tx.enable_user(&actor, user))
    }

    /// See [`Tx::set_role_permissions`].
    ///
    /// # Errors
    /// See [`Tx::set_role_permissions`].
    pub fn set_role_permissions(
        &self,
        actor: &Actor,
        role: RoleId,
        permissions: PermissionSet,
    ) -> Result<Role> {
        let actor = actor.clone();
        self.write(move |tx| tx.set_role_permissions(&actor, role, permissions))
    }

    /// See [`Tx::create_role`].
    ///
    /// # Errors
    /// See [`Tx::create_role`].
    pub fn create_role(
        &self,
        actor: &Actor,
        name: &str,
        permissions: PermissionSet,
    ) -> Result<Role> {
        let (actor, name) = (actor.clone(), name.to_string());
        self.write(move |tx| tx.create_role(&actor, &name, permissions))
    }

    /// See [`Tx::create_marker`].
    ///
    /// # Errors
    /// See [`Tx::create_marker`].
    pub fn create_marker(
        &self,
        actor: &Actor,
        name: impl Into<Localized>,
        color: &str,
    ) -> Result<Marker> {
        let (actor, name, color) = (actor.clone(), name.into(), color.to_string());
        self.write(move |tx| tx.create_marker(&actor, &name, &color))
    }

    /// See [`Tx::update_marker`].
    ///
    /// # Errors
    /// See [`Tx::update_marker`].
    pub fn update_marker(
        &self,
        actor: &Actor,
        marker: MarkerId,
        name: impl Into<Localized>,
        color: &str,
    ) -> Result<Marker> {
        let (actor, name, color) = (actor.clone(), name.into(), color.to_string());
        self.write(move |tx| tx.update_marker(&actor, marker, &name, &color))
    }

    /// See [`Tx::delete_marker`].
    ///
    /// # Errors
    /// See [`Tx::delete_marker`].
    pub fn delete_marker(&self, actor: &Actor, marker: MarkerId) -> Result<MarkerDeletion> {
        let actor = actor.clone();
        self.write(move |tx| tx.delete_marker(&actor, marker))
    }

    /// See [`Tx::set_user_markers`].
    ///
    /// # Errors
    /// See [`Tx::set_user_markers`].
    pub fn set_user_markers(
        &self,
        actor: &Actor,
        user: UserId,
        markers: Vec<MarkerId>,
    ) -> Result<User> {
        let actor = actor.clone();
        self.write(move |tx| tx.set_user_markers(&actor, user, markers))
    }

    /// See [`Tx::set_user_marker_names`].
    ///
    /// # Errors
    /// See [`Tx::set_user_marker_names`].
    pub fn set_user_marker_names(
        &self,
        actor: &Actor,
        user: UserId,
        names: Vec<String>,
    ) -> Result<User> {
        let actor = actor.clone();
        self.write(move |tx| tx.set_user_marker_names(&actor, user, &names))
    }

    /// See [`Tx::create_link_code`].
    ///
    /// # Errors
    /// See [`Tx::create_link_code`].
    pub fn create_link_code(&self, actor: &Actor) -> Result<LinkCode> {
        let actor = actor.clone();
        self.write(move |tx| tx.create_link_code(&actor))
    }
}

/// A staff user's changes to their own profile page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileUpdate {
    /// Name shown to colleagues and customers, 1-100 characters.
    pub display_name: String,
    /// Interface language.
    pub language: Language,
}

impl Tx<'_> {
    /// Changes the actor's own display name and interface language.
    ///
    /// # Errors
    /// Invalid input on `display_name`; permission denied for anyone but an active staff
    /// user.
    pub fn update_own_profile(&mut self, actor: &Actor, update: ProfileUpdate) -> Result<User> {
        let Resolved::Staff(user, _) = resolve(self, actor)? else {
            return Err(Error::forbidden("only staff users have a profile"));
        };
        let display_name = clean_text("display_name", &update.display_name, 1, 100)?;
        let mut record = *user;
        if record.display_name == display_name && record.language == update.language {
            return Ok(record);
        }
        record.display_name = display_name;
        record.language = update.language;
        self.save_user(actor.org, &record)?;
        self.audit(
            actor,
            AuditAction::UserProfileChanged,
            Subject::User(record.id),
            AuditDetail::Text(format!(
                "{:?}, language {}",
                record.display_name,
                record.language.code()
            )),
        )?;
        Ok(record)
    }
}

/// One staff user of the actor's organization: a user may read their own account, and staff
/// with `manage_users` (and the system) any account.
///
/// # Errors
/// Not found; permission denied for customers and for other users' accounts without
/// `manage_users`.
pub fn user_in(view: &impl View, actor: &Actor, user: UserId) -> Result<User> {
    let resolved = resolve(view, actor)?;
    if resolved.user_id() != Some(user) && !resolved.has(Permission::ManageUsers) {
        return Err(Error::denied(
            Permission::ManageUsers,
            format!("{} may not read the account of user {user}", actor.who),
        ));
    }
    load_user(view, actor.org, user)
}

/// Every staff user of the actor's organization, by id, for those who manage users.
///
/// # Errors
/// Permission denied without `manage_users`.
pub fn users_in(view: &impl View, actor: &Actor) -> Result<Vec<User>> {
    require(view, actor, Permission::ManageUsers)?;
    all_users_in(view, actor.org)
}

fn all_users_in(view: &impl View, org: OrgId) -> Result<Vec<User>> {
    view.records_with_prefix(tables::USERS, &Key::org(org))
}

/// A colleague as every staff user may see them: for assignee pickers and names in lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffName {
    /// The id.
    pub id: UserId,
    /// Login name.
    pub username: String,
    /// Display name.
    pub display_name: String,
    /// Whether the account is active.
    pub active: bool,
}

/// Every staff user's name, by id, for any active staff user (no password hashes, no
/// Telegram ids).
///
/// # Errors
/// Permission denied for customers and disabled users.
pub fn staff_names_in(view: &impl View, actor: &Actor) -> Result<Vec<StaffName>> {
    if !matches!(
        resolve(view, actor)?,
        Resolved::Staff(..) | Resolved::System
    ) {
        return Err(Error::forbidden("only staff users see the team"));
    }
    staff_names_of(view, actor.org)
}

/// The names of every staff user of `org`, by id, for a reader already allowed to see them.
pub(crate) fn staff_names_of(view: &impl View, org: OrgId) -> Result<Vec<StaffName>> {
    Ok(all_users_in(view, org)?
        .into_iter()
        .map(|user| StaffName {
            id: user.id,
            username: user.username,
            display_name: user.display_name,
            active: user.status == UserStatus::Active,
        })
        .collect())
}

/// Every role, by id, for those who manage roles or users (the user form picks roles).
///
/// # Errors
/// Permission denied without `manage_roles` or `manage_users`.
pub fn roles_in(view: &impl View, actor: &Actor) -> Result<Vec<Role>> {
    let resolved = resolve(view, actor)?;
    if !resolved.has(Permission::ManageRoles) && !resolved.has(Permission::ManageUsers) {
        return Err(Error::denied(
            Permission::ManageRoles,
            format!("{} lacks the manage_roles permission", actor.who),
        ));
    }
    list_roles_in(view, actor.org)
}

/// Every marker, by id, for any active staff user (filters and tags use them).
///
/// # Errors
/// Permission denied for customers and disabled users.
pub fn markers_in(view: &impl View, actor: &Actor) -> Result<Vec<Marker>> {
    if !matches!(
        resolve(view, actor)?,
        Resolved::Staff(..) | Resolved::System
    ) {
        return Err(Error::forbidden("only staff users see markers"));
    }
    list_markers_in(view, actor.org)
}

impl Crm {
    /// See [`Tx::update_own_profile`].
    ///
    /// # Errors
    /// See [`Tx::update_own_profile`].
    pub fn update_own_profile(&self, actor: &Actor, update: ProfileUpdate) -> Result<User> {
        let actor = actor.clone();
        self.write(move |tx| tx.update_own_profile(&actor, update))
    }
}

impl Crm {
    /// See [`Tx::set_user_phone`]. One write transaction; blocks until it is durable.
    ///
    /// # Errors
    /// See [`Tx::set_user_phone`].
    pub fn set_user_phone(&self, actor: &Actor, user: UserId, phone: Option<&str>) -> Result<User> {
        let actor = actor.clone();
        let phone = phone.map(str::to_string);
        self.write(move |tx| tx.set_user_phone(&actor, user, phone.as_deref()))
    }
}

impl crate::system::System<'_> {
    /// See [`SystemTx::link_staff_by_contact`](crate::system::SystemTx::link_staff_by_contact),
    /// in a write transaction of its own; blocks until it is durable.
    ///
    /// # Errors
    /// See [`SystemTx::link_staff_by_contact`](crate::system::SystemTx::link_staff_by_contact).
    pub fn link_staff_by_contact(
        &self,
        org: OrgId,
        telegram_id: TelegramUserId,
        contact: SharedContact,
    ) -> Result<ContactLink> {
        self.crm
            .write(move |tx| tx.link_staff_by_contact(org, telegram_id, &contact))
    }

    /// Redeems a link code sent from Telegram account `telegram_id`: links it to the code's
    /// user and queues a confirmation to that chat. The code works once.
    ///
    /// # Errors
    /// Invalid input for an unknown or expired code; conflict when that Telegram account is
    /// already linked to another user.
    ///
    /// One write transaction of its own; blocks until it is durable.
    pub fn redeem_link_code(
        &self,
        org: OrgId,
        code: &str,
        telegram_id: TelegramUserId,
    ) -> Result<User> {
        let code = code.to_string();
        self.crm
            .write(move |tx| tx.redeem_link_code(org, &code, telegram_id))
    }
}
