//! Modules per organization (SPEC 3.1) and the organization's time zone.

use crm_lib::ErrorKind;
use crm_lib::model::{Module, Modules};
use crm_lib::org::SettingsUpdate;

use crate::support::World;

#[test]
fn each_template_presets_its_modules() {
    let cases: [(&str, &[Module]); 4] = [
        ("studio", &[]),
        ("service", &[Module::Tokens]),
        ("renovation", &[Module::Projects]),
        ("helpdesk", &[Module::Operators, Module::Tickets]),
    ];
    for (template, expected) in cases {
        let world = World::with_template(template, "acme");
        let on: Vec<Module> = world.org.modules.iter().collect();
        assert_eq!(on, expected, "{template}");
    }
}

#[test]
fn the_settings_switch_modules_and_audit_it_and_need_manage_settings() {
    let world = World::new();
    assert_eq!(world.org.modules, Modules::NONE);
    let update = SettingsUpdate {
        modules: vec![(Module::Operators, true), (Module::Tickets, true)],
        ..SettingsUpdate::default()
    };
    let refused = world.crm.update_settings(&world.manager, update.clone());
    let refused = refused.unwrap_err();
    assert_eq!(refused.kind(), ErrorKind::PermissionDenied);
    assert_eq!(
        refused.permission(),
        Some(crm_lib::model::Permission::ManageSettings)
    );
    let org = world.crm.update_settings(&world.admin, update).unwrap();
    assert!(org.modules.contains(Module::Operators));
    assert!(org.modules.contains(Module::Tickets));
    assert!(!org.modules.contains(Module::Tokens));
    let org = world
        .crm
        .update_settings(
            &world.admin,
            SettingsUpdate {
                modules: vec![(Module::Operators, false)],
                ..SettingsUpdate::default()
            },
        )
        .unwrap();
    let on: Vec<Module> = org.modules.iter().collect();
    assert_eq!(on, [Module::Tickets], "a module not named stays as it was");
    let stored = world.crm.system().organization(world.org.id).unwrap();
    assert_eq!(stored.modules, org.modules);
    let audit = world
        .crm
        .audit_log(
            &world.admin,
            &crm_lib::audit::AuditFilter::default(),
            crm_lib::Page {
                after: None,
                limit: 10,
            },
        )
        .unwrap();
    assert!(
        audit
            .items
            .iter()
            .any(|entry| entry.detail.to_string().contains("modules: tickets")),
        "the switch is audited"
    );
}

#[test]
fn a_time_zone_is_an_iana_name_and_a_bad_one_changes_nothing() {
    let world = World::new();
    assert_eq!(world.org.settings.time_zone, "UTC");
    let org = world
        .crm
        .update_settings(
            &world.admin,
            SettingsUpdate {
                time_zone: Some(" America/New_York ".into()),
                ..SettingsUpdate::default()
            },
        )
        .unwrap();
    assert_eq!(org.settings.time_zone, "America/New_York");
    for bad in ["", "Mars/Olympus", "Europe/Berlin; DROP", "+03:00"] {
        let error = world
            .crm
            .update_settings(
                &world.admin,
                SettingsUpdate {
                    time_zone: Some(bad.into()),
                    name: Some("Renamed".into()),
                    ..SettingsUpdate::default()
                },
            )
            .unwrap_err();
        assert_eq!(error.kind(), ErrorKind::InvalidInput, "{bad:?}: {error}");
        assert_eq!(error.field(), Some("time_zone"), "{bad:?}: {error}");
    }
    let stored = world.crm.system().organization(world.org.id).unwrap();
    assert_eq!(stored.settings.time_zone, "America/New_York");
    assert_eq!(
        stored.name, world.org.name,
        "a refused update renames nothing"
    );
}

#[test]
fn switching_tickets_on_later_brings_the_default_fraud_rules_and_switching_off_keeps_them() {
    let world = World::new();
    assert_eq!(world.crm.fraud_settings(&world.admin).unwrap(), None);
    let switch = |on: bool| {
        world
            .crm
            .update_settings(
                &world.admin,
                SettingsUpdate {
                    modules: vec![(Module::Tickets, on)],
                    ..SettingsUpdate::default()
                },
            )
            .unwrap()
    };
    switch(true);
    let rules = world.crm.fraud_settings(&world.admin).unwrap();
    assert!(rules.is_some(), "the default rules come with the module");
    // The studio declares no ticket fields.
    assert!(world.crm.ticket_fields(&world.admin).unwrap().is_empty());
    switch(false);
    assert_eq!(world.crm.fraud_settings(&world.admin).unwrap(), None);
    switch(true);
    assert_eq!(world.crm.fraud_settings(&world.admin).unwrap(), rules);
    let report = world.crm.system().verify().unwrap();
    assert!(report.is_clean(), "{:#?}", report.problems);
}
