//! Customers' profiles (the tokens module): created by a confirmed registration or by staff,
//! edited, archived, read by their customer and by staff, audited, moved by contact merge,
//! each organization's own, and absent from organizations without the module.

use std::collections::BTreeMap;

use crm_lib::forms::{FormInput, FormOutcome, FormStep};
use crm_lib::model::{Actor, AuditAction, FieldValue, FormName, Profile};
use crm_lib::{Crm, ErrorKind};

use crate::support::World;

fn service() -> World {
    World::with_template("service", "svc")
}

fn answers(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(key, value)| (key.to_string(), value.to_string()))
        .collect()
}

fn mary() -> BTreeMap<String, String> {
    answers(&[
        ("first_name", "Mary"),
        ("last_name", "Smith"),
        ("phone", "+1 212 555 0100"),
        ("email", "mary@example.com"),
        ("state", "NY"),
        ("postal_code", "10001"),
    ])
}

/// Registers through the bot's form: required fields answered, the rest skipped.
fn register(crm: &Crm, actor: &Actor, first: &str) -> Profile {
    let mut step = crm.start_form(actor, FormName::Registration).unwrap();
    loop {
        let input = match &step {
            FormStep::Ask(question) => match question.field.key.as_str() {
                "first_name" => FormInput::Answer(first.into()),
                "last_name" => FormInput::Answer("Doe".into()),
                "phone" => FormInput::Answer("+44 20 7946 0958".into()),
                "email" => FormInput::Answer(format!("{}@example.com", first.to_lowercase())),
                _ => FormInput::Skip,
            },
            FormStep::Review { .. } => FormInput::Confirm,
            FormStep::Done(FormOutcome::ProfileCreated(profile)) => return profile.clone(),
            other => panic!("{other:?}"),
        };
        step = crm
            .form_input(actor, FormName::Registration, input)
            .unwrap();
    }
}

#[test]
fn the_first_registration_fills_the_customer_s_empty_name_phone_and_email() {
    let world = service();
    let ann = world.customer(8001, "Ann");
    let id = World::customer_id(&ann);
    let first = register(&world.crm, &ann, "Ann");
    assert_eq!(first.label, "Ann Doe");
    assert_eq!(
        first.answers.get("country"),
        Some(&FieldValue::Text("USA".into()))
    );
    let customer = world.crm.customer(&world.admin, id).unwrap();
    assert_eq!(customer.last_name.as_deref(), Some("Doe"));
    assert_eq!(customer.phone.as_deref(), Some("+442079460958"));
    assert_eq!(customer.email.as_deref(), Some("ann@example.com"));
    // A second profile (someone she orders for) leaves her own record alone.
    let second = register(&world.crm, &ann, "Zoe");
    let again = world.crm.customer(&world.admin, id).unwrap();
    assert_eq!(again.email.as_deref(), Some("ann@example.com"));
    let profiles = world.crm.profiles(&ann, id).unwrap();
    assert_eq!(profiles, vec![first, second]);
    let audit = world
        .crm
        .audit_log(&world.admin, &Default::default(), crm_lib::Page::first(500))
        .unwrap()
        .items;
    assert!(
        audit
            .iter()
            .filter(|entry| entry.action == AuditAction::ProfileCreated)
            .count()
            == 2
    );
    assert!(world.crm.system().verify().unwrap().is_clean());
}

#[test]
fn staff_create_edit_and_archive_profiles_with_the_form_s_checks() {
    let world = service();
    let ann = world.customer(8002, "Ann");
    let id = World::customer_id(&ann);
    let profile = world
        .crm
        .create_profile(&world.manager, id, mary())
        .unwrap();
    assert_eq!(profile.label, "Mary Smith");
    assert_eq!(
        profile.answers.get("state"),
        Some(&FieldValue::Choice("ny".into()))
    );
    // Bad input names the field and writes nothing.
    let mut bad = mary();
    bad.insert("postal_code".into(), "1000".into());
    let error = world
        .crm
        .create_profile(&world.manager, id, bad)
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidInput);
    assert!(error.message().starts_with("postal_code:"), "{error}");
    let mut missing = mary();
    missing.remove("email");
    let error = world
        .crm
        .create_profile(&world.manager, id, missing)
        .unwrap_err();
    assert!(error.message().starts_with("email:"), "{error}");
    let error = world
        .crm
        .create_profile(&world.manager, id, answers(&[("age", "3")]))
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidInput);
    assert_eq!(world.crm.profiles(&world.admin, id).unwrap().len(), 1);
    // A worker may not edit; a customer may not either.
    let error = world
        .crm
        .create_profile(&world.worker, id, mary())
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::PermissionDenied);
    let error = world
        .crm
        .update_profile(&ann, profile.id, mary())
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::PermissionDenied);
    let mut edit = mary();
    edit.insert("middle_name".into(), "Jane".into());
    let updated = world
        .crm
        .update_profile(&world.manager, profile.id, edit.clone())
        .unwrap();
    assert_eq!(updated.label, "Mary Jane Smith");
    // The same answers again change nothing.
    let same = world
        .crm
        .update_profile(&world.manager, profile.id, edit)
        .unwrap();
    assert_eq!(same, updated);
    let archived = world
        .crm
        .archive_profile(&world.manager, profile.id, true)
        .unwrap();
    assert!(archived.archived);
    let view = world.crm.profile(&world.manager, profile.id).unwrap();
    assert!(view.profile.archived);
    assert!(view.edit);
    assert_eq!(view.fields.len(), 15);
    let restored = world
        .crm
        .archive_profile(&world.manager, profile.id, false)
        .unwrap();
    assert!(!restored.archived);
    let actions: Vec<AuditAction> = world
        .crm
        .audit_log(&world.admin, &Default::default(), crm_lib::Page::first(500))
        .unwrap()
        .items
        .into_iter()
        .map(|entry| entry.action)
        .filter(|action| action.area() == "profile")
        .collect();
    assert_eq!(actions.len(), 4, "{actions:?}");
    assert!(world.crm.system().verify().unwrap().is_clean());
}

#[test]
fn a_customer_reads_only_their_own_profiles_and_organizations_are_apart() {
    let world = service();
    let ann = world.customer(8003, "Ann");
    let bob = world.customer(8004, "Bob");
    let profile = register(&world.crm, &ann, "Ann");
    let error = world.crm.profile(&bob, profile.id).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::NotFound);
    let error = world
        .crm
        .profiles(&bob, World::customer_id(&ann))
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::NotFound);
    let other = world
        .crm
        .system()
        .create_organization("service", "Other", "other")
        .unwrap();
    let error = world
        .crm
        .profile(&Actor::system(other.id), profile.id)
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::NotFound);
}

#[test]
fn contact_merge_moves_the_absorbed_customer_s_profiles() {
    let world = service();
    let ann = world.customer(8005, "Ann");
    // Bob was imported without a Telegram account (a merge keeps one account at most).
    let imported = crm_lib::customers::NewCustomer {
        first_name: "Bob".into(),
        ..Default::default()
    };
    let bob_record = world.crm.create_customer(&world.admin, imported).unwrap();
    let bob = Actor::customer(world.org.id, bob_record.id);
    let (keep, absorb) = (World::customer_id(&ann), bob_record.id);
    let anns = register(&world.crm, &ann, "Ann");
    let bobs = register(&world.crm, &bob, "Bob");
    // Bob is halfway through another registration: it moves too.
    world.crm.start_form(&bob, FormName::Registration).unwrap();
    world
        .crm
        .merge_customers(&world.admin, keep, absorb)
        .unwrap();
    let ids: Vec<_> = world
        .crm
        .profiles(&world.admin, keep)
        .unwrap()
        .into_iter()
        .map(|profile| (profile.id, profile.customer))
        .collect();
    assert_eq!(ids, vec![(anns.id, keep), (bobs.id, keep)]);
    assert_eq!(
        world
            .crm
            .profile(&world.admin, bobs.id)
            .unwrap()
            .profile
            .customer,
        keep
    );
    assert!(world.crm.current_form(&ann).unwrap().is_some());
    let report = world.crm.system().verify().unwrap();
    assert!(report.is_clean(), "{report:?}");
}

#[test]
fn without_the_tokens_module_profiles_are_not_found() {
    let world = World::new();
    let ann = world.customer(8007, "Ann");
    let id = World::customer_id(&ann);
    let error = world.crm.profiles(&world.admin, id).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::NotFound);
    let error = world
        .crm
        .create_profile(&world.admin, id, mary())
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::NotFound);
}
