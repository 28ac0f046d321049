//! Markers: the studio's ten stack markers from its template, renaming per language and
//! recolouring, deletion that takes a marker off every order (and the order index) and every
//! staff user, and skills given by name.

use crm_lib::{
    ErrorKind, Page,
    model::{Actor, Language, Localized, Marker, MarkerId, Permission},
    orders::OrderFilter,
    team::{MarkerRefs, NewUser},
};

use crate::support::{World, password};

fn markers(world: &World) -> Vec<Marker> {
    world.crm.markers(&Actor::system(world.org.id)).unwrap()
}

fn named(world: &World, name: &str) -> Marker {
    markers(world)
        .into_iter()
        .find(|marker| marker.name.get(Language::EN) == name)
        .unwrap_or_else(|| panic!("no marker {name}"))
}

fn audit_actions(world: &World) -> Vec<String> {
    world
        .crm
        .audit_log(&world.admin, &Default::default(), Page::first(500))
        .unwrap()
        .items
        .into_iter()
        .map(|entry| entry.action.as_str().to_string())
        .collect()
}

#[test]
fn a_studio_starts_with_the_seeds_ten_stack_markers_and_other_templates_with_none() {
    let world = World::new();
    let studio: Vec<(String, String)> = markers(&world)
        .into_iter()
        .map(|marker| (marker.name.get(Language::RU).to_string(), marker.color))
        .collect();
    assert_eq!(
        studio,
        [
            ("Python", "#3776ab"),
            ("JavaScript", "#f7df1e"),
            ("TypeScript", "#3178c6"),
            ("Java", "#b07219"),
            ("React", "#61dafb"),
            ("Vue", "#42b883"),
            ("Svelte", "#ff3e00"),
            ("Node.js", "#339933"),
            ("PostgreSQL", "#336791"),
            ("MongoDB", "#47a248"),
        ]
        .map(|(name, color)| (name.to_string(), color.to_string())),
        "named the same in Russian, which falls back to the default language"
    );
    let helpdesk = World::with_template("helpdesk", "desk");
    assert!(markers(&helpdesk).is_empty());
    assert!(world.crm.system().verify().unwrap().is_clean());
}

#[test]
fn a_marker_is_renamed_per_language_and_recoloured_with_names_kept_unique() {
    let world = World::new();
    let node = named(&world, "Node.js");
    let name = Localized::default()
        .with(Language::EN, "Node")
        .with(Language::RU, "Нода");
    let changed = world
        .crm
        .update_marker(&world.manager, node.id, name.clone(), "#00AA00")
        .unwrap();
    assert_eq!(changed.name, name);
    assert_eq!(changed.color, "#00aa00");
    assert_eq!(named(&world, "Node"), changed);

    // Another marker's name, in any language and case, is taken; its own is not.
    let taken = world
        .crm
        .update_marker(&world.manager, node.id, "python", "#00aa00")
        .unwrap_err();
    assert_eq!(taken.kind(), ErrorKind::Conflict, "{taken}");
    let russian_taken = Localized::default()
        .with(Language::EN, "Deno")
        .with(Language::RU, "PYTHON");
    assert_eq!(
        world
            .crm
            .update_marker(&world.manager, node.id, russian_taken, "#00aa00")
            .unwrap_err()
            .kind(),
        ErrorKind::Conflict
    );
    assert_eq!(
        world
            .crm
            .update_marker(&world.manager, node.id, "", "#00aa00")
            .unwrap_err()
            .field(),
        Some("name")
    );
    assert_eq!(
        world
            .crm
            .update_marker(&world.manager, node.id, "x".repeat(33), "#00aa00")
            .unwrap_err()
            .field(),
        Some("name")
    );
    world
        .crm
        .update_marker(&world.manager, node.id, "x".repeat(32), "#00aa00")
        .unwrap();
    assert_eq!(
        world
            .crm
            .update_marker(&world.manager, node.id, "Node", "green")
            .unwrap_err()
            .field(),
        Some("color")
    );
    assert_eq!(
        world
            .crm
            .update_marker(&world.worker, node.id, "Node", "#00aa00")
            .unwrap_err()
            .permission(),
        Some(Permission::ManageMarkers)
    );
    assert_eq!(
        world
            .crm
            .update_marker(&world.manager, MarkerId::new(999), "Node", "#00aa00")
            .unwrap_err()
            .kind(),
        ErrorKind::NotFound
    );

    // Setting what the marker has writes nothing.
    world
        .crm
        .update_marker(&world.manager, node.id, name.clone(), "#00aa00")
        .unwrap();
    let before = audit_actions(&world);
    world
        .crm
        .update_marker(&world.manager, node.id, name, "#00aa00")
        .unwrap();
    assert_eq!(audit_actions(&world), before);
    assert_eq!(
        before
            .iter()
            .filter(|action| action.as_str() == "marker.changed")
            .count(),
        3
    );
}

#[test]
fn deleting_a_marker_takes_it_off_orders_and_staff_and_verify_stays_clean() {
    let world = World::new();
    let (python, react) = (named(&world, "Python"), named(&world, "React"));
    let first = world.approved_order(901, None);
    let second = world.approved_order(902, None);
    world
        .crm
        .set_order_markers(&world.manager, first.id, vec![python.id, react.id])
        .unwrap();
    world
        .crm
        .set_order_markers(&world.manager, second.id, vec![python.id])
        .unwrap();
    let worker = World::user_id(&world.worker);
    world
        .crm
        .set_user_markers(&world.admin, worker, vec![react.id, python.id])
        .unwrap();

    assert_eq!(
        world
            .crm
            .delete_marker(&world.worker, python.id)
            .unwrap_err()
            .permission(),
        Some(Permission::ManageMarkers)
    );
    let deleted = world.crm.delete_marker(&world.manager, python.id).unwrap();
    assert_eq!(deleted.marker, python);
    assert_eq!(deleted.orders.len(), 2);
    assert_eq!(deleted.users, vec![worker]);

    assert!(markers(&world).iter().all(|marker| marker.id != python.id));
    assert_eq!(
        world.crm.order(&world.manager, first.id).unwrap().markers,
        vec![react.id]
    );
    assert!(
        world
            .crm
            .order(&world.manager, second.id)
            .unwrap()
            .markers
            .is_empty()
    );
    assert_eq!(
        world
            .crm
            .user(&Actor::system(world.org.id), worker)
            .unwrap()
            .markers,
        vec![react.id]
    );
    let tagged = world
        .crm
        .list_orders(
            &world.manager,
            &OrderFilter {
                marker: Some(python.id),
                ..OrderFilter::default()
            },
            Page::first(10),
        )
        .unwrap();
    assert!(tagged.items.is_empty(), "the marker index lost it too");
    let report = world.crm.system().verify().unwrap();
    assert!(report.is_clean(), "{:#?}", report.problems);
    assert!(audit_actions(&world).contains(&"marker.deleted".to_string()));

    // Gone is gone; a new marker may take the name.
    assert_eq!(
        world
            .crm
            .delete_marker(&world.manager, python.id)
            .unwrap_err()
            .kind(),
        ErrorKind::NotFound
    );
    world
        .crm
        .create_marker(&world.manager, "Python", "#3776ab")
        .unwrap();
}

#[test]
fn skills_are_given_by_name_when_a_user_is_created_and_later() {
    let world = World::new();
    let (python, react) = (named(&world, "Python"), named(&world, "React"));
    let new_user = |username: &str| NewUser {
        username: username.into(),
        display_name: String::new(),
        password: password(),
        roles: vec!["worker".into()],
        must_change_password: false,
    };
    let ivan = world
        .crm
        .create_user_with_markers(
            &world.admin,
            new_user("ivan"),
            MarkerRefs::Names(vec!["python".into(), " REACT ".into(), "Python".into()]),
        )
        .unwrap();
    assert_eq!(
        ivan.markers,
        vec![python.id, react.id],
        "duplicates dropped"
    );

    // An unknown name refuses the whole creation.
    let error = world
        .crm
        .create_user_with_markers(
            &world.admin,
            new_user("olga"),
            MarkerRefs::Names(vec!["Rust".into(), "Go".into()]),
        )
        .unwrap_err();
    assert_eq!(error.field(), Some("markers"));
    assert!(error.message().contains("\"Rust\", \"Go\""), "{error}");
    assert_eq!(
        world
            .crm
            .user_by_name(&Actor::system(world.org.id), "olga")
            .unwrap_err()
            .kind(),
        ErrorKind::NotFound
    );

    let changed = world
        .crm
        .set_user_marker_names(&world.admin, ivan.id, vec!["vue".into()])
        .unwrap();
    assert_eq!(changed.markers, vec![named(&world, "Vue").id]);
    // By id, an unknown marker is not found, and the user is not created either.
    assert_eq!(
        world
            .crm
            .create_user_with_markers(
                &world.admin,
                new_user("pavel"),
                MarkerRefs::Ids(vec![python.id, MarkerId::new(999)]),
            )
            .unwrap_err()
            .kind(),
        ErrorKind::NotFound
    );
    assert!(
        world
            .crm
            .user_by_name(&Actor::system(world.org.id), "pavel")
            .is_err()
    );
    let pavel = world
        .crm
        .create_user_with_markers(
            &world.admin,
            new_user("pavel"),
            MarkerRefs::Ids(vec![react.id]),
        )
        .unwrap();
    assert_eq!(pavel.markers, vec![react.id]);
    assert_eq!(
        world
            .crm
            .set_user_marker_names(&world.manager, ivan.id, vec!["vue".into()])
            .unwrap_err()
            .permission(),
        Some(Permission::ManageUsers)
    );
    // The same set again writes nothing; an empty one clears.
    let before = audit_actions(&world);
    world
        .crm
        .set_user_marker_names(&world.admin, ivan.id, vec!["Vue".into()])
        .unwrap();
    assert_eq!(audit_actions(&world), before);
    let cleared = world
        .crm
        .set_user_marker_names(&world.admin, ivan.id, Vec::new())
        .unwrap();
    assert!(cleared.markers.is_empty());
}
