//! Capabilities and use cases agree: every action crm-lib offers an actor on an order succeeds
//! when tried, and every action it withholds is refused (SPEC section 3.1). Each attempt runs
//! in a write that is then rolled back, so all of them start from the same state.

use std::sync::mpsc;

use crm_lib::{
    Error, Tx,
    capabilities::{Navigation, OrderActions},
    chat::{InboundMessage, OrderChoice, OutboundMessage},
    customers::NewCustomer,
    model::{Actor, ActorRef, Localized, OrderId, PermissionSet, StageKind},
    orders::{AssignTo, NewOrder},
    org::SettingsUpdate,
};

use crate::support::{World, money};

/// Runs `attempt` in a write transaction that is rolled back afterwards, and returns what the
/// attempt returned.
fn try_rolled_back(
    world: &World,
    attempt: impl FnOnce(&mut Tx<'_>) -> crm_lib::Result<()> + Send + 'static,
) -> crm_lib::Result<()> {
    let (sender, receiver) = mpsc::channel();
    let rolled_back = world.crm.write(move |tx| {
        sender.send(attempt(tx)).unwrap();
        Err::<(), _>(Error::conflict("rolled back by the test"))
    });
    assert!(rolled_back.is_err());
    receiver.recv().unwrap()
}

/// Asserts that `attempt` succeeds exactly when `offered`.
fn agrees(
    world: &World,
    what: &str,
    offered: bool,
    attempt: impl FnOnce(&mut Tx<'_>) -> crm_lib::Result<()> + Send + 'static,
) {
    let outcome = try_rolled_back(world, attempt);
    assert_eq!(
        outcome.is_ok(),
        offered,
        "{what}: offered {offered}, but the use case returned {outcome:?}"
    );
}

/// The orders of the scenario, one per situation an order page meets.
fn orders(world: &World) -> Vec<(&'static str, OrderId)> {
    let waiting = {
        let customer = world.customer(9001, "Waiting");
        world.order(&customer, "Waiting", Some("1000")).id
    };
    let rejected = {
        let customer = world.customer(9002, "Rejected");
        let order = world.order(&customer, "Rejected", Some("1000"));
        world
            .crm
            .reject_order(&world.manager, order.id, "Out of scope")
            .unwrap()
            .id
    };
    let approved = world.approved_order(9003, Some("1000")).id;
    let assigned = world.assigned_order(9004).id;
    let in_progress = world.assigned_order(9005).id;
    world
        .crm
        .move_order(&world.worker, in_progress, world.stage("in_progress"))
        .unwrap();
    vec![
        ("waiting", waiting),
        ("rejected", rejected),
        ("approved", approved),
        ("assigned", assigned),
        ("in progress", in_progress),
    ]
}

#[test]
fn every_action_offered_succeeds_and_every_action_withheld_is_refused() {
    let world = World::new();
    world.lift_order_limit();
    let system = Actor::system(world.org.id);
    let method = world.crm.payment_methods(&system).unwrap()[0].id;
    let marker = world.crm.markers(&system).unwrap()[0].id;
    let stranger = world.customer(9100, "Stranger");
    let orders = orders(&world);
    let worker = World::user_id(&world.worker);
    let worker2 = World::user_id(&world.worker2);

    let mut offered_somewhere = OrderActions::default();
    for (situation, id) in orders {
        let order = world.crm.order(&system, id).unwrap();
        let owner = Actor::customer(world.org.id, order.customer);
        let actors = [
            ("admin", world.admin.clone()),
            ("manager", world.manager.clone()),
            ("worker", world.worker.clone()),
            ("worker2", world.worker2.clone()),
            ("master", world.master.clone()),
            ("customer", owner),
            ("stranger", stranger.clone()),
        ];
        for (who, actor) in actors {
            let what = |action: &str| format!("{action} by {who} on the {situation} order");
            // An order the actor may not see offers nothing: every attempt must fail.
            let actions = match world.crm.order_actions(&actor, id) {
                Ok(actions) => actions,
                Err(error) => {
                    assert_eq!(error.kind(), crm_lib::ErrorKind::NotFound, "{error}");
                    OrderActions::default()
                }
            };
            offered_somewhere.approve |= actions.approve;
            offered_somewhere.reject |= actions.reject;
            offered_somewhere.bid |= actions.bid;
            offered_somewhere.assign |= actions.assign;
            offered_somewhere.chat |= actions.chat;
            offered_somewhere.send_payment |= actions.send_payment;
            offered_somewhere.edit_markers |= actions.edit_markers;
            offered_somewhere.grant_access |= actions.grant_access;
            offered_somewhere.delete |= actions.delete;
            offered_somewhere
                .moves
                .extend(actions.moves.iter().copied());

            let a = actor.clone();
            agrees(&world, &what("approve"), actions.approve, move |tx| {
                tx.approve_order(&a, id).map(drop)
            });
            let a = actor.clone();
            agrees(&world, &what("reject"), actions.reject, move |tx| {
                tx.reject_order(&a, id, "Out of scope").map(drop)
            });
            let a = actor.clone();
            agrees(&world, &what("bid"), actions.bid, move |tx| {
                tx.place_bid(&a, id, money("1"), "soon").map(drop)
            });
            let a = actor.clone();
            agrees(&world, &what("assign"), actions.assign, move |tx| {
                tx.assign_order(&a, id, AssignTo::User(worker2)).map(drop)
            });
            // Moves out of moderation go through approve and reject, which move_order also
            // accepts; every other stage is reachable exactly when offered.
            let waiting =
                world.org.pipeline.stage(order.stage).unwrap().kind == StageKind::Moderation;
            if !waiting {
                for stage in &world.org.pipeline.stages {
                    if stage.id == order.stage {
                        continue;
                    }
                    let a = actor.clone();
                    let to = stage.id;
                    agrees(
                        &world,
                        &what(&format!("move to {}", stage.key)),
                        actions.moves.contains(&to),
                        move |tx| tx.move_order(&a, id, to).map(drop),
                    );
                }
            }
            let a = actor.clone();
            let customer = order.customer;
            agrees(&world, &what("chat"), actions.chat, move |tx| {
                match a.who {
                    ActorRef::Customer(own) => tx
                        .post_inbound(
                            &a,
                            InboundMessage {
                                customer: own,
                                about: OrderChoice::Chosen(id),
                                text: "About my order".into(),
                                attachments: Vec::new(),
                                telegram_message_id: None,
                                content: None,
                                reply_to_telegram: None,
                                media_group: None,
                            },
                        )
                        // A customer's message is never lost: naming an order not theirs files it
                        // under their current order instead, which is not chatting about this one.
                        .and_then(|message| {
                            if message.order == Some(id) {
                                Ok(message)
                            } else {
                                Err(Error::not_found("order", id))
                            }
                        }),
                    _ => tx.post_outbound(
                        &a,
                        OutboundMessage {
                            customer,
                            order: Some(id),
                            text: "About your order".into(),
                            attachments: Vec::new(),
                            reply_to: None,
                            content: None,
                        },
                    ),
                }
                .map(drop)
            });
            let a = actor.clone();
            agrees(
                &world,
                &what("send payment"),
                actions.send_payment,
                move |tx| tx.send_payment_info(&a, id, method, money("900")).map(drop),
            );
            let a = actor.clone();
            agrees(
                &world,
                &what("edit markers"),
                actions.edit_markers,
                move |tx| tx.set_order_markers(&a, id, vec![marker]).map(drop),
            );
            let a = actor.clone();
            let grantee = if who == "worker2" { worker } else { worker2 };
            agrees(
                &world,
                &what("grant access"),
                actions.grant_access,
                move |tx| tx.grant_order_access(&a, id, grantee, 1).map(drop),
            );
            let a = actor.clone();
            agrees(&world, &what("delete"), actions.delete, move |tx| {
                tx.delete_order(&a, id).map(drop)
            });
        }
    }
    // The scenario reaches every kind of action, so no agreement above holds vacuously.
    let reached = offered_somewhere;
    assert!(
        reached.approve
            && reached.reject
            && reached.bid
            && reached.assign
            && reached.chat
            && reached.send_payment
            && reached.edit_markers
            && reached.grant_access
            && reached.delete
            && !reached.moves.is_empty(),
        "{reached:?}"
    );
}

#[test]
fn the_menu_opens_what_each_role_may_use() {
    let world = World::new();
    world.lift_order_limit();
    let customer = World::customer_id(&world.customer(9200, "Menu"));
    let actors = [
        ("admin", world.admin.clone()),
        ("manager", world.manager.clone()),
        ("worker", world.worker.clone()),
        ("master", world.master.clone()),
    ];
    for (who, actor) in actors {
        let menu = world.crm.navigation(&actor).unwrap();
        let user = World::user_id(&actor);
        let permissions = world.crm.permissions(&actor, user).unwrap();
        // A pure function of the permissions and modules, so pages can render it without a
        // read.
        assert_eq!(
            menu,
            Navigation::for_permissions(permissions, world.org.modules),
            "{who}"
        );
        assert_eq!(menu.modules, world.org.modules);
        let what = |area: &str| format!("{area} for {who}");

        let a = actor.clone();
        assert_eq!(
            world
                .crm
                .read(|view| crm_lib::orders::moderation_queue_in(view, &a, 5))
                .is_ok(),
            menu.moderation,
            "{}",
            what("moderation")
        );
        assert_eq!(
            world
                .crm
                .read(|view| crm_lib::orders::board_in(view, &a, 5))
                .is_ok(),
            menu.board,
            "{}",
            what("board")
        );
        assert_eq!(
            world
                .crm
                .read(|view| crm_lib::chat::conversations_in(view, &a, crm_lib::Page::first(5)))
                .is_ok(),
            menu.chat,
            "{}",
            what("chat")
        );
        assert_eq!(
            world
                .crm
                .read(|view| crm_lib::audit::audit_log_in(
                    view,
                    &a,
                    &crm_lib::audit::AuditFilter::default(),
                    crm_lib::Page::first(5)
                ))
                .is_ok(),
            menu.audit,
            "{}",
            what("audit")
        );
        let a = actor.clone();
        assert_eq!(
            world
                .crm
                .read(|view| crm_lib::calls::calls_in(
                    view,
                    &a,
                    &crm_lib::calls::CallFilter::default(),
                    crm_lib::Page::first(5)
                ))
                .is_ok(),
            menu.calls,
            "{}",
            what("calls")
        );
        agrees(&world, &what("new order"), menu.new_order, move |tx| {
            tx.create_order(
                &Actor::staff(a.org, user),
                NewOrder {
                    customer: Some(customer),
                    title: "By phone".into(),
                    description: "Taken over the phone".into(),
                    ..NewOrder::default()
                },
            )
            .map(drop)
        });
        let a = actor.clone();
        agrees(
            &world,
            &what("new customer"),
            menu.new_customer,
            move |tx| {
                let valid = NewCustomer {
                    first_name: "Walk-in".into(),
                    ..NewCustomer::default()
                }
                .validate()?;
                tx.insert_customer(&a, valid).map(drop)
            },
        );
        let a = actor.clone();
        assert_eq!(
            world
                .crm
                .read(|view| crm_lib::team::users_in(view, &a))
                .is_ok(),
            menu.users,
            "{}",
            what("users")
        );
        let a = actor.clone();
        agrees(&world, &what("roles"), menu.roles, move |tx| {
            tx.create_role(&a, "helpers", PermissionSet::EMPTY)
                .map(drop)
        });
        let a = actor.clone();
        agrees(&world, &what("markers"), menu.markers, move |tx| {
            tx.create_marker(&a, &Localized::new("Urgent-ish"), "#aa3300")
                .map(drop)
        });
        let a = actor.clone();
        agrees(
            &world,
            &what("payment methods"),
            menu.payment_methods,
            move |tx| {
                tx.create_payment_method(&a, "Cash", "Pay {amount} {currency} in cash")
                    .map(drop)
            },
        );
        let a = actor.clone();
        agrees(&world, &what("settings"), menu.settings, move |tx| {
            tx.update_settings(
                &a,
                SettingsUpdate {
                    open_order_limit: Some(3),
                    ..SettingsUpdate::default()
                },
            )
            .map(drop)
        });
    }
}

#[test]
fn the_calls_entry_shows_while_calls_are_on_to_those_who_may_read_them() {
    use crm_lib::model::Module;
    use crm_lib::org::SettingsUpdate;
    let world = World::new();
    world
        .crm
        .create_role(&world.admin, "guest", PermissionSet::EMPTY)
        .unwrap();
    let guest = world
        .crm
        .create_user(
            &world.admin,
            crm_lib::team::NewUser {
                username: "guest".into(),
                display_name: "Guest".into(),
                password: crate::support::password(),
                roles: vec!["guest".into()],
                must_change_password: false,
            },
        )
        .unwrap();
    let guest = Actor::staff(world.org.id, guest.id);
    for on in [false, true, false] {
        world
            .crm
            .update_settings(
                &world.admin,
                SettingsUpdate {
                    modules: vec![(Module::Tickets, on)],
                    ..SettingsUpdate::default()
                },
            )
            .unwrap();
        for (who, actor, reader) in [
            ("manager", &world.manager, true),
            ("master", &world.master, true),
            ("guest", &guest, false),
        ] {
            let menu = world.crm.navigation(actor).unwrap();
            assert_eq!(menu.calls, on && reader, "{who}, calls on: {on}");
            let listed = world.crm.calls(
                actor,
                &crm_lib::calls::CallFilter::default(),
                crm_lib::Page::first(5),
            );
            assert_eq!(listed.is_ok(), menu.calls, "{who}, calls on: {on}");
        }
    }
}
