//! The conversational form engine (SPEC 3.1) through the registration form of the service
//! template (the tokens module): every validation, skip only for optional fields, back,
//! review, edit and confirm, cancel, progress that survives closing and reopening the
//! store, isolation between customers and organizations, and the module switch.

use crm_lib::forms::{FormInput, FormOutcome, FormStep};
use crm_lib::model::{Actor, Date, FieldValue, FormName, Module, Timestamp};
use crm_lib::org::SettingsUpdate;
use crm_lib::{Crm, ErrorKind};

use crate::support::World;

fn service() -> World {
    World::with_template("service", "svc")
}

/// The key of the field a step asks, or `review`, `done`, `cancelled`.
fn asked(step: &FormStep) -> String {
    match step {
        FormStep::Ask(question) => question.field.key.clone(),
        FormStep::Review { .. } => "review".into(),
        FormStep::Done(_) => "done".into(),
        FormStep::Cancelled(_) => "cancelled".into(),
    }
}

fn answer(crm: &Crm, actor: &Actor, text: &str) -> FormStep {
    crm.form_input(
        actor,
        FormName::Registration,
        FormInput::Answer(text.into()),
    )
    .unwrap_or_else(|error| panic!("{text:?} refused: {error}"))
}

fn input(crm: &Crm, actor: &Actor, input: FormInput) -> crm_lib::Result<FormStep> {
    crm.form_input(actor, FormName::Registration, input)
}

/// Answers the required fields and skips the rest, up to the review.
fn walk_to_review(crm: &Crm, actor: &Actor) -> FormStep {
    let mut step = crm.start_form(actor, FormName::Registration).unwrap();
    loop {
        let key = asked(&step);
        step = match key.as_str() {
            "first_name" => answer(crm, actor, "Mary"),
            "last_name" => answer(crm, actor, "Smith"),
            "phone" => answer(crm, actor, "+1 (212) 555-0100"),
            "email" => answer(crm, actor, "mary@example.com"),
            "review" => return step,
            _ => input(crm, actor, FormInput::Skip).unwrap(),
        };
    }
}

/// The error of an answer to the field asked now, which must change nothing.
fn refused(crm: &Crm, actor: &Actor, text: &str) -> crm_lib::Error {
    let before = crm.current_form(actor).unwrap();
    let error = input(crm, actor, FormInput::Answer(text.into())).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidInput, "{text:?}: {error}");
    assert_eq!(
        crm.current_form(actor).unwrap(),
        before,
        "{text:?} changed the walk"
    );
    error
}

/// Walks to the field `key` answering what must be answered and skipping the rest.
fn walk_to(crm: &Crm, actor: &Actor, key: &str) {
    let mut step = crm.start_form(actor, FormName::Registration).unwrap();
    while asked(&step) != key {
        step = match asked(&step).as_str() {
            "first_name" => answer(crm, actor, "Mary"),
            "last_name" => answer(crm, actor, "Smith"),
            "phone" => answer(crm, actor, "+12125550100"),
            "email" => answer(crm, actor, "mary@example.com"),
            "review" => panic!("no field {key}"),
            _ => input(crm, actor, FormInput::Skip).unwrap(),
        };
    }
}

#[test]
fn the_registration_asks_every_field_of_the_prd_in_order_with_states_as_choices() {
    let world = service();
    let ann = world.customer(7001, "Ann");
    let step = world.crm.start_form(&ann, FormName::Registration).unwrap();
    let FormStep::Ask(first) = &step else {
        panic!("{step:?}")
    };
    assert_eq!(first.field.key, "first_name");
    assert!(!first.skippable, "names are required");
    assert_eq!(first.position, (1, 15));
    let form = world.crm.registration_form(&world.admin).unwrap();
    let keys: Vec<&str> = form.fields.fields.iter().map(|f| f.key.as_str()).collect();
    assert_eq!(
        keys,
        [
            "first_name",
            "middle_name",
            "last_name",
            "phone",
            "email",
            "gender",
            "date_of_birth",
            "street_address",
            "apt_suite",
            "city",
            "state",
            "postal_code",
            "country",
            "telegram_username",
            "instagram_username"
        ]
    );
    walk_to(&world.crm, &ann, "state");
    let Some(FormStep::Ask(state)) = world.crm.current_form(&ann).unwrap() else {
        panic!("not at the state")
    };
    assert_eq!(state.choices.len(), 51, "50 states and DC");
    assert!(state.choices.iter().any(|option| option.key == "dc"));
    assert!(state.skippable);
    assert_eq!(state.prompt_key, "forms.ask.choice");
    // A button sends the option's key; typing the code in any case works too.
    let next = answer(&world.crm, &ann, "NY");
    assert_eq!(asked(&next), "postal_code");
    let FormStep::Ask(country) = input(&world.crm, &ann, FormInput::Skip).unwrap() else {
        panic!("not at the country")
    };
    assert_eq!(country.field.key, "country");
    assert_eq!(country.default.as_deref(), Some("USA"));
}

#[test]
fn every_validation_refuses_a_bad_answer_naming_the_field_and_changes_nothing() {
    let world = service();
    let ann = world.customer(7002, "Ann");
    walk_to(&world.crm, &ann, "phone");
    for bad in ["12", "phone", "+0123456789"] {
        let error = refused(&world.crm, &ann, bad);
        assert!(error.message().starts_with("phone:"), "{error}");
    }
    assert_eq!(asked(&answer(&world.crm, &ann, "+1 212-555-0100")), "email");
    for bad in ["mary", "mary@", "mary@example", "ma ry@example.com"] {
        let error = refused(&world.crm, &ann, bad);
        assert!(error.message().starts_with("email:"), "{error}");
    }
    assert_eq!(
        asked(&answer(&world.crm, &ann, "mary@example.com")),
        "gender"
    );
    let error = refused(&world.crm, &ann, "robot");
    assert!(error.message().starts_with("gender:"), "{error}");
    assert_eq!(asked(&answer(&world.crm, &ann, "female")), "date_of_birth");
    let today = Date::of(Timestamp::now()).to_string();
    let year: i32 = today[..4].parse().unwrap();
    let too_young = format!("{}-01-01", year - 5);
    for bad in [
        "1990-13-01",
        "17.05.1990",
        "2999-01-01",
        "1800-01-01",
        too_young.as_str(),
        today.as_str(),
    ] {
        let error = refused(&world.crm, &ann, bad);
        assert!(
            error.message().starts_with("date_of_birth:"),
            "{bad}: {error}"
        );
    }
    assert_eq!(
        asked(&answer(&world.crm, &ann, "1990-05-17")),
        "street_address"
    );
    input(&world.crm, &ann, FormInput::Skip).unwrap();
    input(&world.crm, &ann, FormInput::Skip).unwrap();
    input(&world.crm, &ann, FormInput::Skip).unwrap();
    assert_eq!(
        asked(&world.crm.current_form(&ann).unwrap().unwrap()),
        "state"
    );
    for bad in ["XX", "California State", "usa"] {
        let error = refused(&world.crm, &ann, bad);
        assert!(error.message().starts_with("state:"), "{error}");
    }
    assert_eq!(asked(&answer(&world.crm, &ann, "ca")), "postal_code");
    for bad in ["1234", "123456", "12345-12", "ABCDE", "12345 6789"] {
        let error = refused(&world.crm, &ann, bad);
        assert!(error.message().starts_with("postal_code:"), "{error}");
    }
    assert_eq!(asked(&answer(&world.crm, &ann, "90210-1234")), "country");
    assert_eq!(asked(&answer(&world.crm, &ann, "USA")), "telegram_username");
    let error = refused(&world.crm, &ann, "@ab");
    assert!(error.message().starts_with("telegram_username:"), "{error}");
    assert_eq!(
        asked(&answer(&world.crm, &ann, "@mary_s")),
        "instagram_username"
    );
    assert_eq!(asked(&answer(&world.crm, &ann, "mary.s")), "review");
}

#[test]
fn only_optional_fields_may_be_skipped_and_a_skipped_country_takes_its_default() {
    let world = service();
    let ann = world.customer(7003, "Ann");
    world.crm.start_form(&ann, FormName::Registration).unwrap();
    let error = input(&world.crm, &ann, FormInput::Skip).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidInput);
    assert!(error.message().starts_with("first_name:"), "{error}");
    assert_eq!(
        asked(&world.crm.current_form(&ann).unwrap().unwrap()),
        "first_name"
    );
    let review = walk_to_review(&world.crm, &ann);
    let FormStep::Review { rows, .. } = review else {
        panic!("{review:?}")
    };
    let value = |key: &str| {
        rows.iter()
            .find(|row| row.field.key == key)
            .and_then(|row| row.value.clone())
    };
    assert_eq!(value("country"), Some(FieldValue::Text("USA".into())));
    assert_eq!(value("middle_name"), None);
    assert_eq!(
        value("phone"),
        Some(FieldValue::Text("+12125550100".into()))
    );
    assert_eq!(rows.len(), 15, "the review lists every field");
}

#[test]
fn back_edit_and_confirm_make_a_profile_with_the_edited_answer() {
    let world = service();
    let ann = world.customer(7004, "Ann");
    world.crm.start_form(&ann, FormName::Registration).unwrap();
    answer(&world.crm, &ann, "Mary");
    let back = input(&world.crm, &ann, FormInput::Back).unwrap();
    let FormStep::Ask(question) = back else {
        panic!("{back:?}")
    };
    assert_eq!(question.field.key, "first_name");
    assert_eq!(question.current.as_deref(), Some("Mary"));
    walk_to_review(&world.crm, &ann);
    // Confirm and Edit are for the review; an answer there is refused.
    let error = input(&world.crm, &ann, FormInput::Answer("x".into())).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidInput);
    let error = input(&world.crm, &ann, FormInput::Edit("age".into())).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidInput);
    let edit = input(&world.crm, &ann, FormInput::Edit("last_name".into())).unwrap();
    let FormStep::Ask(question) = edit else {
        panic!("{edit:?}")
    };
    assert!(question.editing);
    assert_eq!(question.current.as_deref(), Some("Smith"));
    assert_eq!(asked(&answer(&world.crm, &ann, "Smith-Jones")), "review");
    let done = input(&world.crm, &ann, FormInput::Confirm).unwrap();
    let FormStep::Done(FormOutcome::ProfileCreated(profile)) = done else {
        panic!("{done:?}")
    };
    assert_eq!(profile.label, "Mary Smith-Jones");
    assert_eq!(
        world.crm.current_form(&ann).unwrap(),
        None,
        "the walk ended"
    );
    let profiles = world.crm.profiles(&ann, profile.customer).unwrap();
    assert_eq!(profiles, vec![profile]);
    let error = input(&world.crm, &ann, FormInput::Confirm).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::NotFound, "no walk under way");
    assert!(world.crm.system().verify().unwrap().is_clean());
}

#[test]
fn cancel_drops_the_walk_and_writes_no_profile() {
    let world = service();
    let ann = world.customer(7005, "Ann");
    walk_to_review(&world.crm, &ann);
    let step = input(&world.crm, &ann, FormInput::Cancel).unwrap();
    assert_eq!(step, FormStep::Cancelled(FormName::Registration));
    assert_eq!(world.crm.current_form(&ann).unwrap(), None);
    let id = World::customer_id(&ann);
    assert!(world.crm.profiles(&world.admin, id).unwrap().is_empty());
}

#[test]
fn the_walk_survives_closing_and_reopening_the_store() {
    let world = service();
    let ann = world.customer(7006, "Ann");
    world.crm.start_form(&ann, FormName::Registration).unwrap();
    answer(&world.crm, &ann, "Mary");
    answer(&world.crm, &ann, "Ann");
    let World { _dir: dir, crm, .. } = world;
    drop(crm);
    let crm = Crm::open(dir.path().join("crm.redb")).unwrap();
    let step = crm.current_form(&ann).unwrap().unwrap();
    assert_eq!(asked(&step), "last_name");
    assert_eq!(asked(&answer(&crm, &ann, "Smith")), "phone");
    assert!(crm.system().verify().unwrap().is_clean());
}

#[test]
fn walks_are_each_customer_s_own_and_each_organization_s_own() {
    let world = service();
    let ann = world.customer(7007, "Ann");
    let bob = world.customer(7008, "Bob");
    world.crm.start_form(&ann, FormName::Registration).unwrap();
    answer(&world.crm, &ann, "Mary");
    assert_eq!(world.crm.current_form(&bob).unwrap(), None);
    let error = input(&world.crm, &bob, FormInput::Answer("Bob".into())).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::NotFound);
    // The same customer id in another organization walks nothing.
    let other = world
        .crm
        .system()
        .create_organization("service", "Other", "other")
        .unwrap();
    let stranger = Actor::customer(other.id, World::customer_id(&ann));
    assert!(
        world.crm.current_form(&stranger).is_err()
            || world.crm.current_form(&stranger).unwrap().is_none()
    );
    // Staff do not walk forms.
    let error = world
        .crm
        .start_form(&world.admin, FormName::Registration)
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::PermissionDenied);
}

#[test]
fn an_organization_without_the_tokens_module_has_no_registration() {
    let world = World::new();
    let ann = world.customer(7009, "Ann");
    let error = world
        .crm
        .start_form(&ann, FormName::Registration)
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::NotFound);
    assert_eq!(
        world
            .crm
            .registration_form(&world.admin)
            .unwrap_err()
            .kind(),
        ErrorKind::NotFound
    );
    // A service desk that switches the module off hides a walk under way.
    let world = service();
    let ann = world.customer(7010, "Ann");
    world.crm.start_form(&ann, FormName::Registration).unwrap();
    world
        .crm
        .update_settings(
            &world.admin,
            SettingsUpdate {
                modules: vec![(Module::Tokens, false)],
                ..SettingsUpdate::default()
            },
        )
        .unwrap();
    assert_eq!(world.crm.current_form(&ann).unwrap(), None);
    let error = input(&world.crm, &ann, FormInput::Answer("Mary".into())).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::NotFound);
}

#[test]
fn staff_edit_the_registration_form_and_new_walks_follow_it() {
    let world = service();
    let mut form = world.crm.registration_form(&world.admin).unwrap();
    // Reorder: ask the email first; make the middle name required; drop Instagram.
    let email = form.fields.fields.remove(4);
    form.fields.fields.insert(0, email);
    form.fields
        .fields
        .iter_mut()
        .find(|f| f.key == "middle_name")
        .unwrap()
        .required = true;
    form.fields.fields.retain(|f| f.key != "instagram_username");
    let error = world
        .crm
        .set_registration_form(&world.worker, form.clone())
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::PermissionDenied);
    let mut bad = form.clone();
    bad.defaults.insert("country".into(), String::new());
    assert_eq!(
        world
            .crm
            .set_registration_form(&world.admin, bad)
            .unwrap_err()
            .kind(),
        ErrorKind::InvalidInput
    );
    world
        .crm
        .set_registration_form(&world.admin, form.clone())
        .unwrap();
    assert_eq!(world.crm.registration_form(&world.admin).unwrap(), form);
    let ann = world.customer(7011, "Ann");
    let step = world.crm.start_form(&ann, FormName::Registration).unwrap();
    assert_eq!(asked(&step), "email");
    answer(&world.crm, &ann, "mary@example.com");
    answer(&world.crm, &ann, "Mary");
    let error = input(&world.crm, &ann, FormInput::Skip).unwrap_err();
    assert!(error.message().starts_with("middle_name:"), "{error}");
    assert!(world.crm.system().verify().unwrap().is_clean());
}

#[test]
fn choices_given_at_run_time_replace_the_declared_options_for_that_walk() {
    use crm_lib::model::{ChoiceOption, Localized, RuntimeChoices};
    let world = service();
    let ann = world.customer(7012, "Ann");
    let mut choices = RuntimeChoices::new();
    choices.insert(
        "gender".into(),
        vec![ChoiceOption {
            key: "p1".into(),
            label: Localized::new("Mary Smith"),
        }],
    );
    world
        .crm
        .start_form_with_choices(&ann, FormName::Registration, choices)
        .unwrap();
    walk_to_gender(&world, &ann);
    let Some(FormStep::Ask(question)) = world.crm.current_form(&ann).unwrap() else {
        panic!("not at the gender")
    };
    assert_eq!(question.choices.len(), 1);
    assert_eq!(
        question.choices[0].label.get(crm_lib::model::Language::EN),
        "Mary Smith"
    );
    refused(&world.crm, &ann, "female");
    assert_eq!(asked(&answer(&world.crm, &ann, "p1")), "date_of_birth");
    // A run-time choice must name a choice field and offer options.
    let mut bad = RuntimeChoices::new();
    bad.insert("email".into(), vec![]);
    let error = world
        .crm
        .start_form_with_choices(&ann, FormName::Registration, bad)
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidInput);
    let mut empty = RuntimeChoices::new();
    empty.insert("gender".into(), vec![]);
    let error = world
        .crm
        .start_form_with_choices(&ann, FormName::Registration, empty)
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidInput);
    // The walk under way was not replaced by the refused starts.
    assert_eq!(
        asked(&world.crm.current_form(&ann).unwrap().unwrap()),
        "date_of_birth"
    );
}

/// Answers the fields before the gender of a walk just started.
fn walk_to_gender(world: &World, ann: &Actor) {
    answer(&world.crm, ann, "Mary");
    input(&world.crm, ann, FormInput::Skip).unwrap();
    answer(&world.crm, ann, "Smith");
    answer(&world.crm, ann, "+12125550100");
    answer(&world.crm, ann, "mary@example.com");
}

#[test]
fn the_settings_text_of_a_form_reads_back_unchanged_and_bad_text_names_the_problem() {
    use crm_lib::forms::{form_from_text, form_to_text};
    let world = service();
    let form = world.crm.registration_form(&world.admin).unwrap();
    let text = form_to_text(&form);
    assert!(text.contains("[[field]]"), "{text}");
    assert!(text.contains("kind = \"birth_date\""), "{text}");
    assert_eq!(form_from_text(&text).unwrap(), form);
    for bad in [
        "[[field]]\nkey = \"a\"",
        "[[field]]\nkey = \"a\"\nkind = \"colour\"\nname = { en = \"A\" }",
        "[[field]]\nkey = \"a\"\nkind = \"text\"\nname = { xx = \"A\" }",
        "",
    ] {
        let error = form_from_text(bad).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::InvalidInput, "{bad:?}");
    }
}
