//! Departments: create, rename, archive and restore, members (needs `manage_users`; anyone of
//! the staff may list them).

use crate::model::*;
use crate::store::{ViewExt, tables};
use crate::{Crm, Error, Result, Tx, View};

use super::super::team::load_user;
use super::super::{clean_text, require};
use super::{
    all_departments, department_key, load_department, queue, require_module, require_staff,
};

/// The longest department name, in characters.
pub const NAME_MAX_CHARS: usize = 64;

/// A department with its members' names, for lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DepartmentRow {
    /// The department.
    pub department: Department,
    /// Its members as (user, display name), in the department's order.
    pub members: Vec<(UserId, String)>,
    /// Its open items waiting for an operator.
    pub waiting: u64,
}

/// Every department (archived ones last), with members and the length of its queue. Any
/// staff user may read it.
///
/// # Errors
/// Not found when the module is off; permission denied for customers.
pub fn departments_in(view: &impl View, actor: &Actor) -> Result<Vec<DepartmentRow>> {
    require_staff(view, actor)?;
    let mut rows = Vec::new();
    for department in all_departments(view, actor.org)? {
        let mut members = Vec::with_capacity(department.members.len());
        for member in &department.members {
            let name = load_user(view, actor.org, *member)
                .map(|user| user.display_name)
                .unwrap_or_else(|_| member.to_string());
            members.push((*member, name));
        }
        let waiting = view.count_prefix(
            tables::QUEUE_WAITING,
            &crate::store::declarations::queue_waiting_prefix(actor.org, Some(department.id)),
        )?;
        rows.push(DepartmentRow {
            department,
            members,
            waiting,
        });
    }
    rows.sort_by_key(|row| (row.department.archived, row.department.id));
    Ok(rows)
}

/// Checks a department name: 1-64 characters, not taken (ignoring case) by another
/// department than `except`.
fn checked_name(
    view: &impl View,
    org: OrgId,
    name: &str,
    except: Option<DepartmentId>,
) -> Result<String> {
    let name = clean_text("name", name, 1, NAME_MAX_CHARS)?;
    let lower = name.to_lowercase();
    if all_departments(view, org)?
        .iter()
        .any(|other| Some(other.id) != except && other.name.to_lowercase() == lower)
    {
        return Err(Error::conflict(format!(
            "a department named {name:?} exists"
        )));
    }
    Ok(name)
}

impl Tx<'_> {
    /// Creates a department with no members. Needs `manage_users`.
    ///
    /// # Errors
    /// Not found when the module is off; permission denied; invalid input on `name` (1-64
    /// characters); conflict when another department has the name (ignoring case).
    pub fn create_department(&mut self, actor: &Actor, name: &str) -> Result<Department> {
        require_module(self, actor.org)?;
        require(self, actor, Permission::ManageUsers)?;
        let name = checked_name(self, actor.org, name, None)?;
        let id = DepartmentId(self.next_id(actor.org, "department")?);
        let department = Department {
            id,
            name,
            archived: false,
            members: Vec::new(),
            created_at: self.now(),
        };
        self.insert_record(&department_key(actor.org, id), &department)?;
        self.audit(
            actor,
            AuditAction::DepartmentCreated,
            Subject::Department(id),
            AuditDetail::Text(department.name.clone()),
        )?;
        self.changed(actor.org, Subject::Department(id), ChangeKind::Created)?;
        Ok(department)
    }

    /// Renames a department. Needs `manage_users`. The same name writes nothing.
    ///
    /// # Errors
    /// As [`Tx::create_department`]; not found for an unknown department.
    pub fn rename_department(
        &mut self,
        actor: &Actor,
        department: DepartmentId,
        name: &str,
    ) -> Result<Department> {
        require_module(self, actor.org)?;
        require(self, actor, Permission::ManageUsers)?;
        let before = load_department(self, actor.org, department)?;
        let name = checked_name(self, actor.org, name, Some(department))?;
        if before.name == name {
            return Ok(before);
        }
        let mut after = before.clone();
        after.name = name;
        self.update_record(&department_key(actor.org, department), &before, &after)?;
        self.audit(
            actor,
            AuditAction::DepartmentRenamed,
            Subject::Department(department),
            AuditDetail::Text(format!("{} -> {}", before.name, after.name)),
        )?;
        self.changed(
            actor.org,
            Subject::Department(department),
            ChangeKind::Updated,
        )?;
        Ok(after)
    }

    /// Archives a department (`archived`) or restores it. An archived department takes no
    /// new items and is not offered to customers; the items it holds stay with their
    /// operators, and those waiting in its queue move to the default department's queue and
    /// are routed there. Needs `manage_users`. Asking for the state it is in writes nothing.
    ///
    /// # Errors
    /// Not found (module off, department); permission denied.
    pub fn set_department_archived(
        &mut self,
        actor: &Actor,
        department: DepartmentId,
        archived: bool,
    ) -> Result<Department> {
        require_module(self, actor.org)?;
        require(self, actor, Permission::ManageUsers)?;
        let before = load_department(self, actor.org, department)?;
        if before.archived == archived {
            return Ok(before);
        }
        let mut after = before.clone();
        after.archived = archived;
        self.update_record(&department_key(actor.org, department), &before, &after)?;
        self.audit(
            actor,
            if archived {
                AuditAction::DepartmentArchived
            } else {
                AuditAction::DepartmentRestored
            },
            Subject::Department(department),
            AuditDetail::Text(after.name.clone()),
        )?;
        self.changed(
            actor.org,
            Subject::Department(department),
            ChangeKind::Updated,
        )?;
        if archived {
            queue::move_waiting_out(self, actor.org, department)?;
        }
        Ok(after)
    }

    /// Adds a staff user to a department; when they are online, the department's queue is
    /// drained to them and the others. Needs `manage_users`. A member already in writes
    /// nothing.
    ///
    /// # Errors
    /// Not found (module off, department, user); permission denied; conflict for a disabled
    /// user or an archived department.
    pub fn add_department_member(
        &mut self,
        actor: &Actor,
        department: DepartmentId,
        user: UserId,
    ) -> Result<Department> {
        require_module(self, actor.org)?;
        require(self, actor, Permission::ManageUsers)?;
        let before = load_department(self, actor.org, department)?;
        let member = load_user(self, actor.org, user)?;
        if member.status != UserStatus::Active {
            return Err(Error::conflict(format!(
                "user {} is disabled",
                member.username
            )));
        }
        if before.archived {
            return Err(Error::conflict(format!(
                "department {:?} is archived",
                before.name
            )));
        }
        if before.members.contains(&user) {
            return Ok(before);
        }
        let mut after = before.clone();
        after.members.push(user);
        self.update_record(&department_key(actor.org, department), &before, &after)?;
        self.audit(
            actor,
            AuditAction::DepartmentMemberAdded,
            Subject::Department(department),
            AuditDetail::Text(format!("{} to {}", member.username, after.name)),
        )?;
        self.changed(
            actor.org,
            Subject::Department(department),
            ChangeKind::Updated,
        )?;
        queue::drain(self, actor.org, Some(department))?;
        Ok(after)
    }

    /// Removes a staff user from a department; their open items of that department are
    /// routed to the other members (or wait in its queue). Needs `manage_users`. A user who
    /// is not a member writes nothing.
    ///
    /// # Errors
    /// Not found (module off, department, user); permission denied.
    pub fn remove_department_member(
        &mut self,
        actor: &Actor,
        department: DepartmentId,
        user: UserId,
    ) -> Result<Department> {
        require_module(self, actor.org)?;
        require(self, actor, Permission::ManageUsers)?;
        let before = load_department(self, actor.org, department)?;
        let member = load_user(self, actor.org, user)?;
        if !before.members.contains(&user) {
            return Ok(before);
        }
        let mut after = before.clone();
        after.members.retain(|other| *other != user);
        self.update_record(&department_key(actor.org, department), &before, &after)?;
        self.audit(
            actor,
            AuditAction::DepartmentMemberRemoved,
            Subject::Department(department),
            AuditDetail::Text(format!("{} from {}", member.username, after.name)),
        )?;
        self.changed(
            actor.org,
            Subject::Department(department),
            ChangeKind::Updated,
        )?;
        queue::reroute_of(self, actor.org, user, Some(department))?;
        Ok(after)
    }
}

impl Crm {
    /// See [`departments_in`]. Reads a snapshot.
    ///
    /// # Errors
    /// See [`departments_in`].
    pub fn departments(&self, actor: &Actor) -> Result<Vec<DepartmentRow>> {
        self.read(|view| departments_in(view, actor))
    }

    /// See [`Tx::create_department`]. Blocks until durable.
    ///
    /// # Errors
    /// See [`Tx::create_department`].
    pub fn create_department(&self, actor: &Actor, name: &str) -> Result<Department> {
        let (actor, name) = (actor.clone(), name.to_string());
        self.write(move |tx| tx.create_department(&actor, &name))
    }

    /// See [`Tx::rename_department`]. Blocks until durable.
    ///
    /// # Errors
    /// See [`Tx::rename_department`].
    pub fn rename_department(
        &self,
        actor: &Actor,
        department: DepartmentId,
        name: &str,
    ) -> Result<Department> {
        let (actor, name) = (actor.clone(), name.to_string());
        self.write(move |tx| tx.rename_department(&actor, department, &name))
    }

    /// See [`Tx::set_department_archived`]. Blocks until durable.
    ///
    /// # Errors
    /// See [`Tx::set_department_archived`].
    pub fn set_department_archived(
        &self,
        actor: &Actor,
        department: DepartmentId,
        archived: bool,
    ) -> Result<Department> {
        let actor = actor.clone();
        self.write(move |tx| tx.set_department_archived(&actor, department, archived))
    }

    /// See [`Tx::add_department_member`]. Blocks until durable.
    ///
    /// # Errors
    /// See [`Tx::add_department_member`].
    pub fn add_department_member(
        &self,
        actor: &Actor,
        department: DepartmentId,
        user: UserId,
    ) -> Result<Department> {
        let actor = actor.clone();
        self.write(move |tx| tx.add_department_member(&actor, department, user))
    }

    /// See [`Tx::remove_department_member`]. Blocks until durable.
    ///
    /// # Errors
    /// See [`Tx::remove_department_member`].
    pub fn remove_department_member(
        &self,
        actor: &Actor,
        department: DepartmentId,
        user: UserId,
    ) -> Result<Department> {
        let actor = actor.clone();
        self.write(move |tx| tx.remove_department_member(&actor, department, user))
    }
}
