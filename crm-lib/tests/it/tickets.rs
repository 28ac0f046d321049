//! The tickets module: typed fields (each kind's parsing and errors, required or skippable,
//! set at creation and edited), the fraud rules at their thresholds, clearing a flag, the
//! helpdesk's roles and the master's notification.

use std::collections::BTreeMap;

use crm_lib::{
    ErrorKind,
    audit::AuditFilter,
    model::*,
    orders::{AssignTo, NewOrder},
    tickets::{self, FraudSettingsUpdate},
};
use proptest::prelude::*;

use crate::support::World;

fn desk() -> World {
    let world = World::with_template("helpdesk", "desk");
    world.lift_order_limit();
    world
}

fn fields(world: &World) -> FieldSet {
    world.crm.ticket_fields(&world.system).unwrap()
}

/// Typed values from (key, answer) pairs, through the one parser.
fn answers(world: &World, pairs: &[(&str, &str)]) -> BTreeMap<String, FieldValue> {
    fields(world).parse_answers(pairs.iter().copied()).unwrap()
}

fn ticket(world: &World, customer: &Actor, pairs: &[(&str, &str)]) -> crm_lib::Result<Order> {
    world.crm.create_order(
        customer,
        NewOrder {
            title: "Broken screen".into(),
            description: "It went dark".into(),
            custom_fields: answers(world, pairs),
            ..NewOrder::default()
        },
    )
}

fn flags(world: &World, order: OrderId) -> Vec<FraudFlag> {
    world
        .crm
        .ticket(&world.manager, order)
        .unwrap()
        .unwrap()
        .fraud
        .map(|fraud| fraud.flags)
        .unwrap_or_default()
}

fn def(kind: FieldKind) -> FieldDef {
    FieldDef {
        key: "f".into(),
        name: Localized::new("F"),
        kind,
        required: false,
        list: false,
    }
}

fn invalid(result: crm_lib::Result<FieldValue>) -> String {
    let error = result.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidInput, "{error}");
    assert_eq!(error.field(), Some("fields"));
    error.message().to_string()
}

#[test]
fn each_field_kind_reads_its_answers_and_refuses_others_naming_the_field() {
    let text = def(FieldKind::Text {
        max_len: 5,
        pattern: Some("[A-Z0-9]+".into()),
    });
    assert_eq!(
        text.parse_answer(" AB12 ").unwrap(),
        FieldValue::Text("AB12".into())
    );
    assert_eq!(
        text.parse_answer("ABCDE").unwrap(),
        FieldValue::Text("ABCDE".into())
    );
    assert!(invalid(text.parse_answer("ABCDEF")).starts_with("f: must be at most 5"));
    assert!(invalid(text.parse_answer("ab")).contains("does not match"));
    assert!(invalid(text.parse_answer("  ")).contains("must not be empty"));

    let number = def(FieldKind::Number {
        min: Some(1),
        max: Some(10),
    });
    assert_eq!(number.parse_answer("10").unwrap(), FieldValue::Number(10));
    assert_eq!(number.parse_answer("1").unwrap(), FieldValue::Number(1));
    assert!(invalid(number.parse_answer("11")).contains("at most 10"));
    assert!(invalid(number.parse_answer("0")).contains("at least 1"));
    assert!(invalid(number.parse_answer("ten")).contains("not a whole number"));

    let money = def(FieldKind::Money);
    assert_eq!(
        money.parse_answer("1,500.50").unwrap(),
        FieldValue::Money(Money::from_minor(150_050))
    );
    assert!(invalid(money.parse_answer("-5")).contains("not an amount"));

    let date = def(FieldKind::Date);
    assert_eq!(
        date.parse_answer("2026-12-05").unwrap(),
        FieldValue::Date(crate::support::date("2026-12-05"))
    );
    assert!(invalid(date.parse_answer("05.12.2026")).contains("YYYY-MM-DD"));

    let choice = def(FieldKind::Choice {
        options: vec![ChoiceOption {
            key: "laptop".into(),
            label: Localized::new("Laptop").with(Language::RU, "Ноутбук"),
        }],
    });
    for answer in ["laptop", "LAPTOP", "Laptop", "ноутбук"] {
        assert_eq!(
            choice.parse_answer(answer).unwrap(),
            FieldValue::Choice("laptop".into()),
            "{answer}"
        );
    }
    assert!(invalid(choice.parse_answer("phone")).contains("not one of the choices (laptop)"));

    let flag = def(FieldKind::Flag);
    for (answer, value) in [("yes", true), ("Да", true), ("0", false), ("no", false)] {
        assert_eq!(flag.parse_answer(answer).unwrap(), FieldValue::Flag(value));
    }
    assert!(invalid(flag.parse_answer("maybe")).contains("not yes or no"));
}

#[test]
fn the_helpdesk_declares_its_fields_and_names_its_roles_administrator_operator_master() {
    let world = desk();
    let set = fields(&world);
    let keys: Vec<&str> = set.fields.iter().map(|def| def.key.as_str()).collect();
    assert_eq!(keys, ["device", "model", "serial", "fault", "warranty"]);
    let device = set.get("device").unwrap();
    assert!(device.required);
    assert_eq!(device.name.get(Language::RU), "Тип устройства");
    assert_eq!(
        device.option("laptop").unwrap().label.get(Language::EN),
        "Laptop"
    );
    let roles: Vec<String> = world
        .crm
        .roles(&world.admin)
        .unwrap()
        .into_iter()
        .map(|role| role.name)
        .collect();
    assert_eq!(roles, ["administrator", "operator", "master"]);
    // Another template keeps its order desk: no fields.
    let studio = World::new();
    assert!(fields(&studio).is_empty());
}

#[test]
fn required_fields_must_be_answered_and_optional_ones_may_be_skipped() {
    let world = desk();
    let customer = world.customer(5001, "Oleg");
    let error = ticket(&world, &customer, &[("device", "phone")]).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidInput);
    assert_eq!(error.message(), "fault: must be filled in");
    let order = ticket(
        &world,
        &customer,
        &[("device", "Phone"), ("fault", "no sound"), ("serial", "")],
    )
    .unwrap();
    assert_eq!(
        order.custom_fields.get("device"),
        Some(&FieldValue::Choice("phone".into()))
    );
    assert!(!order.custom_fields.contains_key("serial"));
    // An undeclared field is refused, in a ticket desk and in an order desk alike.
    let mut values = answers(&world, &[("device", "phone"), ("fault", "x")]);
    values.insert("colour".into(), FieldValue::Text("red".into()));
    let error = world
        .crm
        .create_order(
            &customer,
            NewOrder {
                title: "t".into(),
                description: "d".into(),
                custom_fields: values,
                ..NewOrder::default()
            },
        )
        .unwrap_err();
    assert_eq!(error.message(), "colour: there is no such field");
}

#[test]
fn the_same_serial_on_more_than_two_tickets_in_thirty_days_is_flagged_on_the_third() {
    let world = desk();
    let customer = world.customer(5002, "Pavel");
    let serial = [
        ("device", "laptop"),
        ("fault", "fan"),
        ("serial", "SN-123456"),
    ];
    let first = ticket(&world, &customer, &serial).unwrap();
    let second = ticket(&world, &customer, &serial).unwrap();
    assert!(flags(&world, first.id).is_empty());
    assert!(flags(&world, second.id).is_empty());
    let lower = [
        ("device", "laptop"),
        ("fault", "fan"),
        ("serial", " sn-123456 "),
    ];
    let third = ticket(&world, &customer, &lower).unwrap();
    let raised = flags(&world, third.id);
    assert_eq!(raised.len(), 1, "{raised:?}");
    assert_eq!(raised[0].rule, "repeated_serial");
    assert_eq!(raised[0].points, 40);
    assert_eq!(
        raised[0].reason,
        "serial SN-123456 is on 3 tickets in 30 days (more than 2)"
    );
    let view = world.crm.ticket(&world.manager, third.id).unwrap().unwrap();
    assert_eq!(view.fraud.unwrap().score(), 40);
}

#[test]
fn a_serial_that_fails_its_format_is_flagged_and_editing_it_re_evaluates() {
    let world = desk();
    let customer = world.customer(5003, "Rita");
    let order = ticket(
        &world,
        &customer,
        &[
            ("device", "phone"),
            ("fault", "cracked"),
            ("serial", "12345"),
        ],
    )
    .unwrap();
    let raised = flags(&world, order.id);
    assert_eq!(raised.len(), 1);
    assert_eq!(raised[0].rule, "field_format");
    assert_eq!(raised[0].points, 20);
    assert!(
        raised[0].reason.contains("\"12345\""),
        "{}",
        raised[0].reason
    );
    // Six characters is the shortest serial of the form.
    let fixed = world
        .crm
        .set_order_fields(
            &world.manager,
            order.id,
            BTreeMap::from([(
                "serial".to_string(),
                Some(FieldValue::Text("123456".into())),
            )]),
        )
        .unwrap();
    assert_eq!(
        fixed.custom_fields.get("serial"),
        Some(&FieldValue::Text("123456".into()))
    );
    assert!(flags(&world, order.id).is_empty());
    let audit = world
        .crm
        .audit_log(
            &world.admin,
            &AuditFilter::default(),
            crm_lib::Page::first(10),
        )
        .unwrap();
    assert!(
        audit
            .items
            .iter()
            .any(|entry| entry.action == AuditAction::OrderFieldsChanged
                && entry.detail.to_string() == "serial: \"12345\" -> \"123456\"")
    );
    // Clearing a required field is refused and writes nothing.
    let error = world
        .crm
        .set_order_fields(
            &world.manager,
            order.id,
            BTreeMap::from([("fault".to_string(), None)]),
        )
        .unwrap_err();
    assert_eq!(error.message(), "fault: must be filled in");
    // A customer may not edit fields.
    let error = world
        .crm
        .set_order_fields(&customer, order.id, BTreeMap::new())
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::PermissionDenied);
}

#[test]
fn a_blocklisted_telegram_id_or_phone_is_flagged_with_its_reason() {
    let world = desk();
    let settings = world.crm.fraud_settings(&world.admin).unwrap().unwrap();
    world
        .crm
        .update_fraud_settings(
            &world.admin,
            FraudSettingsUpdate {
                rules: settings.rules.clone(),
                blocked_phones: vec!["8 (916) 123-45-67".into()],
                blocked_telegram_ids: vec!["5004".into()],
            },
        )
        .unwrap();
    let stored = world.crm.fraud_settings(&world.admin).unwrap().unwrap();
    assert_eq!(stored.blocked_phones, ["+79161234567"]);
    let blocked = world.customer(5004, "Blocked");
    let order = ticket(&world, &blocked, &[("device", "phone"), ("fault", "x")]).unwrap();
    let raised = flags(&world, order.id);
    assert_eq!(raised.len(), 1);
    assert_eq!(raised[0].rule, "blocklisted");
    assert_eq!(raised[0].reason, "telegram id 5004 is on the blocklist");
    assert_eq!(raised[0].points, 60);
    let fine = world.customer(5005, "Fine");
    let order = ticket(&world, &fine, &[("device", "phone"), ("fault", "x")]).unwrap();
    assert!(flags(&world, order.id).is_empty());
    // A bad phone is refused and nothing changes.
    let error = world
        .crm
        .update_fraud_settings(
            &world.admin,
            FraudSettingsUpdate {
                rules: settings.rules,
                blocked_phones: vec!["call me".into()],
                blocked_telegram_ids: vec![],
            },
        )
        .unwrap_err();
    assert_eq!(error.field(), Some("phone"));
    assert_eq!(
        world.crm.fraud_settings(&world.admin).unwrap().unwrap(),
        stored
    );
    // Only settings managers see or change the rules.
    let error = world.crm.fraud_settings(&world.manager).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::PermissionDenied);
}

#[test]
fn a_customer_with_more_cancelled_tickets_than_the_threshold_is_flagged() {
    let world = desk();
    let mut settings = world.crm.fraud_settings(&world.admin).unwrap().unwrap();
    for rule in &mut settings.rules {
        if let FraudRuleKind::Cancellations { more_than } = &mut rule.kind {
            *more_than = 1;
        }
    }
    world
        .crm
        .update_fraud_settings(
            &world.admin,
            FraudSettingsUpdate {
                rules: settings.rules,
                ..FraudSettingsUpdate::default()
            },
        )
        .unwrap();
    let customer = world.customer(5006, "Quitter");
    let cancelled = world.stage("cancelled");
    for round in 0..2 {
        let order = ticket(&world, &customer, &[("device", "phone"), ("fault", "x")]).unwrap();
        assert!(flags(&world, order.id).is_empty(), "round {round}");
        world
            .crm
            .move_order(&world.manager, order.id, cancelled)
            .unwrap();
    }
    let order = ticket(&world, &customer, &[("device", "phone"), ("fault", "x")]).unwrap();
    let raised = flags(&world, order.id);
    assert_eq!(raised.len(), 1);
    assert_eq!(raised[0].rule, "cancellations");
    assert_eq!(
        raised[0].reason,
        "the customer has 2 cancelled tickets (more than 1)"
    );
}

#[test]
fn clearing_a_flag_needs_a_note_is_audited_and_the_flag_stays_visible_as_cleared() {
    let world = desk();
    let customer = world.customer(5007, "Sam");
    let order = ticket(
        &world,
        &customer,
        &[("device", "phone"), ("fault", "x"), ("serial", "bad!")],
    )
    .unwrap();
    let error = world
        .crm
        .clear_fraud_flag(&world.manager, order.id, "field_format", " ")
        .unwrap_err();
    assert_eq!(error.field(), Some("note"));
    let error = world
        .crm
        .clear_fraud_flag(&world.master, order.id, "field_format", "ok")
        .unwrap_err();
    assert!(matches!(
        error.kind(),
        ErrorKind::PermissionDenied | ErrorKind::NotFound
    ));
    let fraud = world
        .crm
        .clear_fraud_flag(&world.manager, order.id, "field_format", "old label")
        .unwrap();
    assert_eq!(fraud.score(), 0);
    let flag = &flags(&world, order.id)[0];
    let cleared = flag.cleared.as_ref().unwrap();
    assert_eq!(cleared.note, "old label");
    assert_eq!(cleared.by, world.manager.who);
    let entries = world
        .crm
        .audit_log(
            &world.admin,
            &AuditFilter::default(),
            crm_lib::Page::first(5),
        )
        .unwrap();
    let entry = &entries.items[0];
    assert_eq!(entry.action, AuditAction::FraudFlagCleared);
    assert_eq!(entry.subject, Subject::Order(order.id));
    assert!(entry.detail.to_string().contains("old label"));
    // Clearing again is refused; editing another field keeps the flag cleared.
    let error = world
        .crm
        .clear_fraud_flag(&world.manager, order.id, "field_format", "again")
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::NotFound);
    world
        .crm
        .set_order_fields(
            &world.manager,
            order.id,
            BTreeMap::from([("model".to_string(), Some(FieldValue::Text("X1".into())))]),
        )
        .unwrap();
    let flags = flags(&world, order.id);
    assert_eq!(flags.len(), 1);
    assert!(flags[0].cleared.is_some());
}

#[test]
fn a_master_assigned_a_ticket_is_told_its_fields_and_the_stages_they_may_move_it_to() {
    let world = desk();
    let code = world.crm.create_link_code(&world.master).unwrap();
    world
        .crm
        .system()
        .redeem_link_code(world.org.id, &code.code, TelegramUserId::new(9001))
        .unwrap();
    let customer = world.customer(5008, "Tom");
    let order = ticket(
        &world,
        &customer,
        &[
            ("device", "printer"),
            ("fault", "jams"),
            ("serial", "PR-000111"),
        ],
    )
    .unwrap();
    let master = World::user_id(&world.master);
    world
        .crm
        .assign_order(&world.manager, order.id, AssignTo::User(master))
        .unwrap();
    let event = world
        .outbox()
        .into_iter()
        .filter(|item| item.recipient == Recipient::Staff(master))
        .find_map(|item| match item.payload {
            OutboxPayload::Notify(event @ Event::TicketAssigned { .. }) => Some(event),
            _ => None,
        })
        .expect("a ticket notification");
    let Event::TicketAssigned { fields, moves, .. } = event else {
        unreachable!()
    };
    let shown: Vec<(String, String)> = fields
        .iter()
        .map(|(def, value)| {
            (
                def.key.clone(),
                value.display(Some(def), Language::EN, "USD"),
            )
        })
        .collect();
    assert_eq!(
        shown,
        [
            ("device".to_string(), "Printer".to_string()),
            ("serial".to_string(), "PR-000111".to_string()),
            ("fault".to_string(), "jams".to_string()),
        ]
    );
    let stages: Vec<StageId> = moves.iter().map(|(stage, _)| *stage).collect();
    assert_eq!(stages, [world.stage("in_work"), world.stage("cancelled")]);
    // The master moves it with one of those stages.
    let moved = world
        .crm
        .move_order(&world.master, order.id, world.stage("in_work"))
        .unwrap();
    assert_eq!(moved.stage, world.stage("in_work"));
}

#[test]
fn customers_see_their_ticket_s_fields_but_no_flags_and_may_not_edit() {
    let world = desk();
    let customer = world.customer(5009, "Una");
    let order = ticket(
        &world,
        &customer,
        &[("device", "phone"), ("fault", "x"), ("serial", "??")],
    )
    .unwrap();
    let view = world.crm.ticket(&customer, order.id).unwrap().unwrap();
    assert!(view.fraud.is_none());
    assert!(!view.edit_fields);
    assert!(!view.clear_flags);
    let staff_view = world.crm.ticket(&world.manager, order.id).unwrap().unwrap();
    assert_eq!(staff_view.fraud.unwrap().score(), 20);
    assert!(staff_view.edit_fields && staff_view.clear_flags);
    // The fields as the module's query lists them are the same for every actor.
    let read = world
        .crm
        .read(|view| tickets::ticket_fields_in(view, &customer))
        .unwrap();
    assert_eq!(read, fields(&world));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn a_number_answer_is_accepted_exactly_when_it_is_a_whole_number_within_the_bounds(
        answer in "[ 0-9a-z+-]{0,12}",
        min in -50i64..50,
        span in 0i64..100,
    ) {
        let field = def(FieldKind::Number { min: Some(min), max: Some(min + span) });
        let digits: String = answer.chars().filter(|c| !c.is_whitespace()).collect();
        let valid = digits.parse::<i64>().is_ok_and(|n| n >= min && n <= min + span);
        prop_assert_eq!(field.parse_answer(&answer).is_ok(), valid);
    }

    #[test]
    fn a_text_answer_is_accepted_exactly_when_it_is_one_to_max_characters_of_the_form(
        answer in "\\PC{0,12}",
        max_len in 1u32..10,
    ) {
        let field = def(FieldKind::Text { max_len, pattern: Some("[a-z ]+".into()) });
        let trimmed = answer.trim();
        let valid = !trimmed.is_empty()
            && trimmed.chars().count() <= max_len as usize
            && trimmed.chars().all(|c| c.is_ascii_lowercase() || c == ' ');
        prop_assert_eq!(field.parse_answer(&answer).is_ok(), valid);
    }

    #[test]
    fn any_answer_to_any_kind_is_read_or_refused_without_panicking(answer in "\\PC{0,40}") {
        for kind in [
            FieldKind::Money,
            FieldKind::Date,
            FieldKind::Flag,
            FieldKind::Number { min: None, max: None },
            FieldKind::Choice { options: vec![ChoiceOption { key: "a".into(), label: Localized::new("A") }] },
        ] {
            let field = def(kind);
            if let Ok(value) = field.parse_answer(&answer) {
                prop_assert!(field.accepts(&value));
            }
        }
    }
}

#[test]
fn a_csv_import_reads_a_column_per_ticket_field_and_evaluates_the_fraud_rules() {
    let world = desk();
    let fixture = |name: &str| format!("{}/../fixtures/csv/{name}", env!("CARGO_MANIFEST_DIR"));
    let open = |name: &str| std::fs::File::open(fixture(name)).unwrap();
    world
        .crm
        .import_customers(
            &world.system,
            open("customers.csv"),
            "customers.csv",
            &|_| {},
        )
        .unwrap();
    let error = world
        .crm
        .import_orders(
            &world.system,
            open("tickets-bad-row.csv"),
            "tickets-bad-row.csv",
            &|_| {},
        )
        .unwrap_err();
    assert_eq!((error.line, error.field.as_str()), (3, "device"), "{error}");
    assert!(
        error
            .to_string()
            .contains("\"toaster\" is not one of the choices"),
        "{error}"
    );
    assert!(
        world
            .crm
            .system()
            .all_orders(world.org.id)
            .unwrap()
            .is_empty()
    );
    let report = world
        .crm
        .import_orders(&world.system, open("tickets.csv"), "tickets.csv", &|_| {})
        .unwrap();
    assert_eq!((report.rows, report.imported), (4, 4));
    let orders = world.crm.system().all_orders(world.org.id).unwrap();
    let laptop = orders
        .iter()
        .find(|order| order.title == "Laptop fan noise")
        .unwrap();
    assert_eq!(
        laptop.custom_fields.get("device"),
        Some(&FieldValue::Choice("laptop".into()))
    );
    assert!(!laptop.custom_fields.contains_key("warranty"));
    let printer = orders
        .iter()
        .find(|order| order.title == "Printer jams")
        .unwrap();
    assert_eq!(
        printer.custom_fields.get("warranty"),
        Some(&FieldValue::Flag(false))
    );
    let raised = flags(&world, printer.id);
    assert_eq!(raised.len(), 1, "{raised:?}");
    assert_eq!(raised[0].rule, "repeated_serial");
    assert!(world.crm.system().verify().unwrap().is_clean());
    // An order desk without the module refuses the field columns.
    let studio = World::new();
    studio
        .crm
        .import_customers(
            &studio.system,
            open("customers.csv"),
            "customers.csv",
            &|_| {},
        )
        .unwrap();
    let error = studio
        .crm
        .import_orders(&studio.system, open("tickets.csv"), "tickets.csv", &|_| {})
        .unwrap_err();
    assert_eq!(error.field, "header", "{error}");
}

#[test]
fn the_order_list_filters_by_a_ticket_field_through_its_index() {
    let world = desk();
    let customer = world.customer(5010, "Vik");
    let a = ticket(
        &world,
        &customer,
        &[("device", "phone"), ("fault", "x"), ("serial", "SN-000001")],
    )
    .unwrap();
    let b = ticket(
        &world,
        &customer,
        &[
            ("device", "laptop"),
            ("fault", "x"),
            ("serial", "sn-000001"),
        ],
    )
    .unwrap();
    ticket(
        &world,
        &customer,
        &[
            ("device", "laptop"),
            ("fault", "x"),
            ("serial", "SN-000002"),
        ],
    )
    .unwrap();
    let list = |key: &str, answer: &str| {
        world.crm.read(|view| {
            crm_lib::orders::order_summaries_in(
                view,
                &world.manager,
                &crm_lib::orders::OrderFilter {
                    field: Some((key.into(), answer.into())),
                    ..Default::default()
                },
                crm_lib::Page::first(10),
            )
        })
    };
    let ids =
        |page: crm_lib::Paged<OrderSummary>| page.items.iter().map(|o| o.id).collect::<Vec<_>>();
    assert_eq!(ids(list("serial", " SN-000001").unwrap()), [b.id, a.id]);
    assert_eq!(ids(list("device", "Phone").unwrap()), [a.id]);
    let error = list("fault", &"x".repeat(80)).unwrap_err();
    assert_eq!(error.field(), Some("field"));
    let error = list("colour", "red").unwrap_err();
    assert_eq!(error.field(), Some("field"));
}

#[test]
fn a_list_row_carries_the_ticket_s_short_fields_and_the_list_names_those_it_shows() {
    let world = desk();
    let customer = world.customer(5011, "Lev");
    let long_fault = "a".repeat(65);
    let order = ticket(
        &world,
        &customer,
        &[
            ("device", "tablet"),
            ("fault", &long_fault),
            ("model", "iPad 9"),
        ],
    )
    .unwrap();
    let list = world
        .crm
        .read(|view| {
            crm_lib::orders::order_list_in(
                view,
                &world.manager,
                &Default::default(),
                crm_lib::Page::first(10),
            )
        })
        .unwrap();
    let row = &list.rows.items[0].order;
    assert_eq!(row.id, order.id);
    assert_eq!(
        row.fields,
        [
            ("device".to_string(), FieldValue::Choice("tablet".into())),
            ("model".to_string(), FieldValue::Text("iPad 9".into())),
        ]
    );
    let shown: Vec<&str> = list.fields.iter().map(|def| def.key.as_str()).collect();
    assert_eq!(shown, ["device", "model", "serial"]);
}

#[test]
fn an_orders_export_writes_a_column_per_ticket_field_that_imports_back_into_the_same_fields() {
    use crm_lib::export::{ExportFormat, ORDER_EXPORT_COLUMNS, ORDER_LIST_EXPORT_COLUMNS};
    use crm_lib::import::ORDER_COLUMNS;
    let fixture = |name: &str| format!("{}/../fixtures/csv/{name}", env!("CARGO_MANIFEST_DIR"));
    let open = |name: &str| std::fs::File::open(fixture(name)).unwrap();
    let filled = |world: &World| {
        world
            .crm
            .import_customers(
                &world.system,
                open("customers.csv"),
                "customers.csv",
                &|_| {},
            )
            .unwrap();
        world.customer(7_101_000_099, "Guard")
    };
    let source = desk();
    let guard = filled(&source);
    source
        .crm
        .import_orders(&source.system, open("tickets.csv"), "tickets.csv", &|_| {})
        .unwrap();
    // Values a spreadsheet would run, or that need quoting.
    ticket(
        &source,
        &guard,
        &[
            ("device", "other"),
            ("model", "=HYPERLINK(\"https://evil.example\")"),
            ("serial", "-42, \"b\""),
            ("fault", "line one\nline two"),
            ("warranty", "no"),
        ],
    )
    .unwrap();
    let mut exported = Vec::new();
    source
        .crm
        .export_orders(&source.system, ExportFormat::Csv, &mut exported)
        .unwrap();
    let keys = ["device", "model", "serial", "fault", "warranty"];
    let mut reader = csv::Reader::from_reader(exported.as_slice());
    let header: Vec<String> = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_string)
        .collect();
    let expected: Vec<&str> = ORDER_EXPORT_COLUMNS.iter().copied().chain(keys).collect();
    assert_eq!(header, expected, "a column per field, named by its key");
    // The import's columns of the export, as they are.
    let wanted: Vec<usize> = ORDER_COLUMNS
        .iter()
        .copied()
        .chain(keys)
        .map(|column| header.iter().position(|name| name == column).unwrap())
        .collect();
    let mut file = csv::Writer::from_writer(Vec::new());
    file.write_record(wanted.iter().map(|index| header[*index].as_str()))
        .unwrap();
    let mut rows = 0;
    let mut guarded = 0;
    for record in reader.records() {
        let record = record.unwrap();
        let line: Vec<&str> = wanted.iter().map(|index| &record[*index]).collect();
        if line[ORDER_COLUMNS.len()..].contains(&"'=HYPERLINK(\"https://evil.example\")") {
            assert!(line.contains(&"'-42, \"b\""), "guarded: {line:?}");
            assert!(
                line.contains(&"no"),
                "a flag as the parser reads it: {line:?}"
            );
            guarded += 1;
        }
        file.write_record(line).unwrap();
        rows += 1;
    }
    assert_eq!((rows, guarded), (5, 1));
    let file = file.into_inner().unwrap();
    let target = desk();
    filled(&target);
    let report = target
        .crm
        .import_orders(&target.system, file.as_slice(), "export.csv", &|_| {})
        .unwrap();
    assert_eq!(report.imported, 5);
    let by_title = |world: &World| {
        world
            .crm
            .system()
            .all_orders(world.org.id)
            .unwrap()
            .into_iter()
            .map(|order| (order.title, order.custom_fields))
            .collect::<BTreeMap<_, _>>()
    };
    let before = by_title(&source);
    assert_eq!(by_title(&target), before);
    let broken = &before["Broken screen"];
    assert_eq!(
        broken.get("model"),
        Some(&FieldValue::Text(
            "=HYPERLINK(\"https://evil.example\")".into()
        ))
    );
    assert_eq!(broken.get("warranty"), Some(&FieldValue::Flag(false)));
    assert_eq!(
        before["Phone does not charge"].get("warranty"),
        Some(&FieldValue::Flag(true))
    );
    assert!(!before["Laptop fan noise"].contains_key("warranty"));

    // The list download carries the same columns after its own.
    let mut listed = Vec::new();
    source
        .crm
        .export_order_list(
            &source.system,
            &crm_lib::orders::OrderFilter::default(),
            ExportFormat::Csv,
            &mut listed,
        )
        .unwrap();
    let first_line = String::from_utf8(listed).unwrap();
    let first_line = first_line.lines().next().unwrap().to_string();
    let expected: Vec<&str> = ORDER_LIST_EXPORT_COLUMNS
        .iter()
        .copied()
        .chain(keys)
        .collect();
    assert_eq!(first_line, expected.join(","));

    // An order desk without the module exports exactly the columns it always did.
    let studio = World::new();
    let customer = studio.customer(7_200_000_001, "Studio");
    studio
        .crm
        .create_order(
            &customer,
            NewOrder {
                title: "Logo".into(),
                description: "A logo".into(),
                ..NewOrder::default()
            },
        )
        .unwrap();
    let mut plain = Vec::new();
    studio
        .crm
        .export_orders(&studio.system, ExportFormat::Csv, &mut plain)
        .unwrap();
    let plain = String::from_utf8(plain).unwrap();
    assert_eq!(
        plain.lines().next().unwrap(),
        ORDER_EXPORT_COLUMNS.join(",")
    );
    let mut plain_list = Vec::new();
    studio
        .crm
        .export_order_list(
            &studio.system,
            &crm_lib::orders::OrderFilter::default(),
            ExportFormat::Csv,
            &mut plain_list,
        )
        .unwrap();
    let plain_list = String::from_utf8(plain_list).unwrap();
    assert_eq!(
        plain_list.lines().next().unwrap(),
        ORDER_LIST_EXPORT_COLUMNS.join(",")
    );
}
