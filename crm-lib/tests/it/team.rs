//! Team administration use cases: re-enabling a disabled user, changing a custom role's
//! permissions (built-in roles stay fixed), and tagging an order with markers. Each checks
//! everything first, writes after, and leaves an audit entry only when something changed.

use crm_lib::{
    ErrorKind, Page,
    audit::{AuditFilter, audit_in},
    model::{
        Actor, MarkerId, Origin, Permission, PermissionSet, Role, RoleId, SessionHash, Subject,
        UserId, UserStatus,
    },
    orders::OrderFilter,
    team::NewUser,
};

use crate::support::{World, password};

/// The audit actions about `entity`, oldest first.
fn actions_about(world: &World, entity: &str) -> Vec<String> {
    let subject = Subject::parse_legacy(entity);
    let filter = AuditFilter {
        subject: Some(subject),
        ..AuditFilter::default()
    };
    let mut entries = world
        .crm
        .read(|view| audit_in(view, &world.admin, &filter, Page::first(100)))
        .unwrap()
        .items;
    entries.sort_by_key(|entry| entry.id);
    entries
        .into_iter()
        .map(|entry| entry.action.as_str().to_string())
        .collect()
}

fn role_named(world: &World, name: &str) -> Role {
    world
        .crm
        .roles(&Actor::system(world.org.id))
        .unwrap()
        .into_iter()
        .find(|role| role.name == name)
        .unwrap()
}

#[test]
fn a_disabled_user_enabled_again_can_log_in_and_act() {
    let world = World::new();
    let manager = World::user_id(&world.manager);
    world.crm.disable_user(&world.admin, manager).unwrap();

    let enabled = world.crm.enable_user(&world.admin, manager).unwrap();
    assert_eq!(enabled.status, UserStatus::Active);
    world
        .crm
        .authenticate(world.org.id, "manager", password().expose())
        .unwrap();
    let customer = world.customer(3001, "Back");
    let order = world.order(&customer, "After the break", None);
    world.crm.approve_order(&world.manager, order.id).unwrap();

    // Enabling an active user again changes nothing and writes no second entry.
    world.crm.enable_user(&world.admin, manager).unwrap();
    let entity = format!("user {manager}");
    assert_eq!(
        actions_about(&world, &entity)
            .iter()
            .filter(|action| action.as_str() == "user.enabled")
            .count(),
        1
    );
}

#[test]
fn enabling_a_user_needs_manage_users_and_an_existing_user() {
    let world = World::new();
    let worker = World::user_id(&world.worker);
    world.crm.disable_user(&world.admin, worker).unwrap();

    let error = world.crm.enable_user(&world.manager, worker).unwrap_err();
    assert_eq!(error.permission(), Some(Permission::ManageUsers));
    assert_eq!(
        world
            .crm
            .user(&Actor::system(world.org.id), worker)
            .unwrap()
            .status,
        UserStatus::Disabled,
        "a refused enable wrote nothing"
    );
    let error = world
        .crm
        .enable_user(&world.admin, UserId::new(999))
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::NotFound);
}

#[test]
fn a_custom_roles_permissions_change_and_its_holders_get_them_at_once() {
    let world = World::new();
    let role = world
        .crm
        .create_role(
            &world.admin,
            "support",
            [Permission::ViewOrders].into_iter().collect(),
        )
        .unwrap();
    let master = World::user_id(&world.master);
    let admin = world.admin.clone();
    world
        .crm
        .write(move |tx| tx.set_user_roles(&admin, master, vec!["support".into()]))
        .unwrap();
    assert!(
        !world
            .crm
            .permissions(&Actor::system(world.org.id), master)
            .unwrap()
            .contains(Permission::ChatCustomers)
    );

    let wanted: PermissionSet = [Permission::ViewOrders, Permission::ChatCustomers]
        .into_iter()
        .collect();
    let changed = world
        .crm
        .set_role_permissions(&world.admin, role.id, wanted)
        .unwrap();
    assert_eq!(changed.permissions, wanted);
    assert_eq!(role_named(&world, "support").permissions, wanted);
    assert!(
        world
            .crm
            .permissions(&Actor::system(world.org.id), master)
            .unwrap()
            .contains(Permission::ChatCustomers),
        "the holder has the new permission"
    );

    // Removing one, then setting the same set again: one entry per real change.
    let fewer: PermissionSet = [Permission::ChatCustomers].into_iter().collect();
    world
        .crm
        .set_role_permissions(&world.admin, role.id, fewer)
        .unwrap();
    world
        .crm
        .set_role_permissions(&world.admin, role.id, fewer)
        .unwrap();
    let entity = format!("role {}", role.id);
    assert_eq!(
        actions_about(&world, &entity),
        [
            "role.created",
            "role.permissions_changed",
            "role.permissions_changed"
        ]
    );
}

#[test]
fn built_in_roles_stay_fixed_and_unknown_roles_are_not_found() {
    let world = World::new();
    let administrator = role_named(&world, "administrator");
    let error = world
        .crm
        .set_role_permissions(&world.admin, administrator.id, PermissionSet::EMPTY)
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Conflict);
    assert_eq!(
        role_named(&world, "administrator").permissions,
        administrator.permissions,
        "nothing changed"
    );
    let error = world
        .crm
        .set_role_permissions(&world.admin, RoleId::new(999), PermissionSet::EMPTY)
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::NotFound);
}

#[test]
fn changing_a_role_needs_manage_roles_and_grants_only_what_the_actor_holds() {
    let world = World::new();
    let role = world
        .crm
        .create_role(&world.admin, "auditor", PermissionSet::EMPTY)
        .unwrap();
    let error = world
        .crm
        .set_role_permissions(
            &world.manager,
            role.id,
            [Permission::ViewAudit].into_iter().collect(),
        )
        .unwrap_err();
    assert_eq!(error.permission(), Some(Permission::ManageRoles));

    // A role keeper with manage_roles only cannot hand out manage_users.
    let keeper_role = world
        .crm
        .create_role(
            &world.admin,
            "role-keeper",
            [Permission::ManageRoles].into_iter().collect(),
        )
        .unwrap();
    let keeper = world
        .crm
        .create_user(
            &world.admin,
            NewUser {
                username: "keeper".into(),
                display_name: String::new(),
                password: password(),
                roles: vec![keeper_role.name.clone()],
                must_change_password: false,
            },
        )
        .unwrap();
    let keeper = Actor::staff(world.org.id, keeper.id);
    let error = world
        .crm
        .set_role_permissions(
            &keeper,
            keeper_role.id,
            [Permission::ManageRoles, Permission::ManageUsers]
                .into_iter()
                .collect(),
        )
        .unwrap_err();
    assert_eq!(error.permission(), Some(Permission::ManageUsers));
    assert_eq!(
        role_named(&world, "role-keeper").permissions,
        keeper_role.permissions
    );
    // Removing is always allowed.
    world
        .crm
        .set_role_permissions(&keeper, role.id, PermissionSet::EMPTY)
        .unwrap();
}

#[test]
fn order_markers_are_set_deduplicated_and_audited_only_when_they_change() {
    let world = World::new();
    let rust = world
        .crm
        .create_marker(&world.admin, "Rust", "#b7410e")
        .unwrap();
    let web = world
        .crm
        .create_marker(&world.admin, "Web", "#3b82f6")
        .unwrap();
    let order = world.approved_order(3101, None);

    let tagged = world
        .crm
        .set_order_markers(&world.manager, order.id, vec![rust.id, web.id, rust.id])
        .unwrap();
    assert_eq!(tagged.markers, [rust.id, web.id]);
    let listed = world
        .crm
        .list_orders(
            &world.admin,
            &OrderFilter {
                marker: Some(web.id),
                ..OrderFilter::default()
            },
            Page::first(10),
        )
        .unwrap();
    assert_eq!(listed.items.len(), 1, "the marker index follows");

    world
        .crm
        .set_order_markers(&world.manager, order.id, vec![rust.id, web.id])
        .unwrap();
    world
        .crm
        .set_order_markers(&world.worker, order.id, vec![web.id])
        .unwrap();
    let entity = format!("order {}", order.id);
    assert_eq!(
        actions_about(&world, &entity)
            .iter()
            .filter(|action| action.as_str() == "order.markers_changed")
            .count(),
        2
    );
}

#[test]
fn order_markers_need_a_visible_order_and_existing_markers() {
    let world = World::new();
    let marker = world
        .crm
        .create_marker(&world.admin, "Go", "#00add8")
        .unwrap();
    let customer = world.customer(3201, "Pending");
    let pending = world.order(&customer, "Still in moderation", None);

    // A worker does not see orders in moderation: not found, as on the order page.
    let error = world
        .crm
        .set_order_markers(&world.worker, pending.id, vec![marker.id])
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::NotFound);
    let error = world
        .crm
        .set_order_markers(&world.manager, pending.id, vec![MarkerId::new(999)])
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::NotFound);
    let error = world
        .crm
        .set_order_markers(&customer, pending.id, vec![marker.id])
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::PermissionDenied);
    assert!(
        world
            .crm
            .order(&world.admin, pending.id)
            .unwrap()
            .markers
            .is_empty(),
        "refused changes wrote nothing"
    );
}

#[test]
fn a_new_role_grants_only_what_its_creator_holds() {
    let world = World::new();
    let roles_only = world
        .crm
        .create_role(
            &world.admin,
            "role_admin",
            [Permission::ManageRoles].into_iter().collect(),
        )
        .unwrap();
    let user = world
        .crm
        .create_user(
            &world.admin,
            NewUser {
                username: "rolemaker".into(),
                display_name: String::new(),
                password: crate::support::password(),
                roles: vec![roles_only.name.clone()],
                must_change_password: false,
            },
        )
        .unwrap();
    let actor = Actor::staff(world.org.id, user.id);
    let error = world
        .crm
        .create_role(
            &actor,
            "escalate",
            [Permission::ManageRoles, Permission::ManageUsers]
                .into_iter()
                .collect(),
        )
        .unwrap_err();
    assert_eq!(error.permission(), Some(Permission::ManageUsers));
    world
        .crm
        .create_role(
            &actor,
            "helpers",
            [Permission::ManageRoles].into_iter().collect(),
        )
        .unwrap();
}

#[test]
fn a_login_presenting_a_session_ends_it_and_a_failed_one_ends_nothing() {
    let world = World::new();
    let org = world.org.id;
    let origin = Origin::default();
    let first = world
        .crm
        .login(org, "worker", password().expose(), &origin)
        .unwrap();

    // A wrong password changes nothing: the presented session lives on.
    let error = world
        .crm
        .login_replacing(org, "worker", "not the password", &origin, Some(first.hash))
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::PermissionDenied);
    world.crm.session(first.hash, i64::MAX, None).unwrap();

    // Logging in again (here as another user) ends the session the browser presented.
    let second = world
        .crm
        .login_replacing(
            org,
            "manager",
            password().expose(),
            &origin,
            Some(first.hash),
        )
        .unwrap();
    assert_eq!(
        world
            .crm
            .session(first.hash, i64::MAX, None)
            .unwrap_err()
            .kind(),
        ErrorKind::NotFound
    );
    assert!(world.crm.own_sessions(&world.worker).unwrap().is_empty());
    assert_eq!(
        world
            .crm
            .session(second.hash, i64::MAX, None)
            .unwrap()
            .user
            .username,
        "manager"
    );
    let worker = World::user_id(&world.worker);
    assert_eq!(
        actions_about(&world, &format!("user {worker}")),
        vec!["user.created", "user.logged_in", "user.logged_out"]
    );

    // An unknown presented session is no obstacle.
    let unknown = SessionHash::of("0123456789abcdef0123456789abcdef");
    world
        .crm
        .login_replacing(org, "worker", password().expose(), &origin, Some(unknown))
        .unwrap();
    assert!(world.crm.system().verify().unwrap().is_clean());
}

#[test]
fn an_administrator_resets_a_password_that_must_be_changed_and_ends_the_users_sessions() {
    let world = World::new();
    let org = world.org.id;
    let origin = Origin::default();
    let worker = World::user_id(&world.worker);
    let session = world
        .crm
        .login(org, "worker", password().expose(), &origin)
        .unwrap();

    let crm_lib::team::PasswordReset {
        user,
        password: new_password,
    } = world.crm.reset_password(&world.admin, worker).unwrap();
    assert!(user.must_change_password);
    assert_eq!(new_password.expose().len(), 20);
    assert_eq!(
        world
            .crm
            .session(session.hash, i64::MAX, None)
            .unwrap_err()
            .kind(),
        ErrorKind::NotFound,
        "the session ended"
    );
    assert_eq!(
        world
            .crm
            .authenticate(org, "worker", password().expose())
            .unwrap_err()
            .kind(),
        ErrorKind::PermissionDenied
    );
    let logged_in = world
        .crm
        .authenticate(org, "worker", new_password.expose())
        .unwrap();
    assert!(logged_in.must_change_password);
    assert_eq!(
        actions_about(&world, &format!("user {worker}")),
        vec!["user.created", "user.logged_in", "user.password_reset"]
    );

    // Only with manage_users, never one's own, and only an existing user: each refusal
    // leaves the password as it was.
    assert_eq!(
        world
            .crm
            .reset_password(&world.manager, worker)
            .unwrap_err()
            .permission(),
        Some(Permission::ManageUsers)
    );
    let admin = World::user_id(&world.admin);
    assert_eq!(
        world
            .crm
            .reset_password(&world.admin, admin)
            .unwrap_err()
            .kind(),
        ErrorKind::Conflict
    );
    assert_eq!(
        world
            .crm
            .reset_password(&world.admin, UserId::new(999))
            .unwrap_err()
            .kind(),
        ErrorKind::NotFound
    );
    world
        .crm
        .authenticate(org, "worker", new_password.expose())
        .unwrap();
    world
        .crm
        .authenticate(org, "admin", password().expose())
        .unwrap();
}
