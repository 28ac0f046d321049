//! Property tests over random sequences of use cases: whatever happens, every index agrees
//! with the records (`Crm::verify`), and every filtered listing equals a brute-force filter of
//! all orders.

use crm_lib::{
    ErrorKind, Page, Result,
    chat::{InboundMessage, OrderChoice, OutboundMessage},
    customers::TelegramProfile,
    model::{Actor, MarkerId, Money, Order, OrderId, OrderSummary},
    orders::{AssignTo, NewOrder, OrderFilter},
};
use proptest::prelude::*;

use crate::support::{World, profile};

/// Telegram message ids handed out to inbound messages.
static NEXT_TELEGRAM_ID: std::sync::atomic::AtomicI64 = std::sync::atomic::AtomicI64::new(1);

#[derive(Debug, Clone)]
enum Op {
    Customer(u8),
    Create {
        customer: u8,
        title: u8,
        budget: Option<u16>,
    },
    Approve(u8),
    Reject(u8),
    Bid {
        order: u8,
        worker: bool,
        price: u16,
    },
    Assign {
        order: u8,
        bid: u8,
    },
    Move {
        order: u8,
        stage: u8,
        by_manager: bool,
    },
    Delete {
        order: u8,
    },
    Inbound {
        customer: u8,
    },
    Outbound {
        customer: u8,
    },
    Markers {
        order: u8,
        mask: u8,
    },
    Rename {
        customer: u8,
        name: u8,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0u8..6).prop_map(Op::Customer),
        (0u8..6, 0u8..6, proptest::option::of(1u16..3000)).prop_map(|(customer, title, budget)| {
            Op::Create {
                customer,
                title,
                budget,
            }
        }),
        (0u8..20).prop_map(Op::Approve),
        (0u8..20).prop_map(Op::Reject),
        (0u8..20, any::<bool>(), 1u16..4000).prop_map(|(order, worker, price)| Op::Bid {
            order,
            worker,
            price
        }),
        (0u8..20, 0u8..20).prop_map(|(order, bid)| Op::Assign { order, bid }),
        (0u8..20, 0u8..7, any::<bool>()).prop_map(|(order, stage, by_manager)| Op::Move {
            order,
            stage,
            by_manager
        }),
        (0u8..20).prop_map(|order| Op::Delete { order }),
        (0u8..6).prop_map(|customer| Op::Inbound { customer }),
        (0u8..6).prop_map(|customer| Op::Outbound { customer }),
        (0u8..20, 0u8..4).prop_map(|(order, mask)| Op::Markers { order, mask }),
        (0u8..6, 0u8..4).prop_map(|(customer, name)| Op::Rename { customer, name }),
    ]
}

const TITLES: [&str; 6] = [
    "Telegram bot",
    "Интернет-магазин цветов",
    "Parser for prices",
    "Бот для пекарни",
    "CRM integration",
    "Mobile app",
];

/// Runs one operation; business errors are expected and ignored, storage errors fail.
fn apply(world: &World, customers: &mut Vec<Actor>, markers: &[MarkerId], op: &Op) {
    let crm = &world.crm;
    let orders = crm.system().all_orders(world.org.id).unwrap();
    let pick_order = |index: u8| {
        orders
            .get(index as usize % orders.len().max(1))
            .map(|order| order.id)
    };
    let result: Result<()> = match op {
        Op::Rename { customer, name } => {
            let actor = &customers[*customer as usize % customers.len()];
            let record = crm
                .read(|view| {
                    crm_lib::customers::customer_in(view, &world.system, World::customer_id(actor))
                })
                .unwrap();
            let telegram = record.telegram_id.unwrap().get();
            crm.system()
                .upsert_telegram_customer(
                    world.org.id,
                    TelegramProfile {
                        last_name: (*name % 2 == 0).then(|| format!("Family {name}")),
                        ..profile(telegram, &format!("Renamed {name}"))
                    },
                )
                .map(drop)
        }
        Op::Customer(seed) => {
            customers.push(world.customer(
                10_000 + i64::from(*seed) + customers.len() as i64 * 100,
                "Prop",
            ));
            Ok(())
        }
        Op::Create {
            customer,
            title,
            budget,
        } => match customers.get(*customer as usize % customers.len().max(1)) {
            Some(actor) => crm
                .create_order(
                    actor,
                    NewOrder {
                        title: TITLES[*title as usize].into(),
                        description: "generated".into(),
                        budget: budget.map(|budget| Money::from_minor(i64::from(budget) * 100)),
                        ..NewOrder::default()
                    },
                )
                .map(drop),
            None => Ok(()),
        },
        Op::Approve(order) => {
            pick_order(*order).map_or(Ok(()), |id| crm.approve_order(&world.manager, id).map(drop))
        }
        Op::Reject(order) => pick_order(*order).map_or(Ok(()), |id| {
            crm.reject_order(&world.manager, id, "no").map(drop)
        }),
        Op::Bid {
            order,
            worker,
            price,
        } => pick_order(*order).map_or(Ok(()), |id| {
            let actor = if *worker {
                &world.worker
            } else {
                &world.worker2
            };
            crm.place_bid(actor, id, Money::from_minor(i64::from(*price) * 100), "")
                .map(drop)
        }),
        Op::Assign { order, bid } => pick_order(*order).map_or(Ok(()), |id| {
            let bids = crm.bids(&world.manager, id).unwrap_or_default();
            match bids.get(*bid as usize % bids.len().max(1)) {
                Some(bid) => crm
                    .assign_order(&world.manager, id, AssignTo::Bid(bid.id))
                    .map(drop),
                None => crm
                    .assign_order(
                        &world.manager,
                        id,
                        AssignTo::User(World::user_id(&world.master)),
                    )
                    .map(drop),
            }
        }),
        Op::Move {
            order,
            stage,
            by_manager,
        } => pick_order(*order).map_or(Ok(()), |id| {
            let stage =
                world.org.pipeline.stages[*stage as usize % world.org.pipeline.stages.len()].id;
            let actor = if *by_manager {
                &world.manager
            } else {
                &world.worker
            };
            crm.move_order(actor, id, stage).map(drop)
        }),
        Op::Delete { order } => match pick_order(*order) {
            Some(id) => {
                let owner = orders
                    .iter()
                    .find(|order| order.id == id)
                    .map(|order| order.customer);
                let actor = owner.map(|customer| Actor::customer(world.org.id, customer));
                actor.map_or(Ok(()), |actor| crm.delete_order(&actor, id).map(drop))
            }
            None => Ok(()),
        },
        Op::Inbound { customer } => {
            match customers.get(*customer as usize % customers.len().max(1)) {
                Some(actor) => crm
                    .post_inbound(
                        actor,
                        InboundMessage {
                            customer: World::customer_id(actor),
                            about: OrderChoice::None,
                            text: "hello".into(),
                            attachments: Vec::new(),
                            // Unique, as Telegram's ids within a chat are.
                            telegram_message_id: Some(
                                NEXT_TELEGRAM_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
                            ),
                            content: None,
                            reply_to_telegram: None,
                            media_group: None,
                        },
                    )
                    .map(drop),
                None => Ok(()),
            }
        }
        Op::Outbound { customer } => {
            match customers.get(*customer as usize % customers.len().max(1)) {
                Some(actor) => crm
                    .post_outbound(
                        &world.manager,
                        OutboundMessage {
                            customer: World::customer_id(actor),
                            order: None,
                            text: "hi".into(),
                            attachments: Vec::new(),
                            reply_to: None,
                            content: None,
                        },
                    )
                    .map(drop),
                None => Ok(()),
            }
        }
        Op::Markers { order, mask } => pick_order(*order).map_or(Ok(()), |id| {
            let chosen = markers
                .iter()
                .enumerate()
                .filter(|(index, _)| mask & (1 << index) != 0)
                .map(|(_, marker)| *marker)
                .collect();
            crm.set_order_markers(&world.manager, id, chosen).map(drop)
        }),
    };
    if let Err(error) = result {
        assert_ne!(error.kind(), ErrorKind::Storage, "{op:?}: {error}");
    }
}

fn listed(world: &World, filter: OrderFilter) -> Vec<OrderId> {
    let mut ids = Vec::new();
    let mut page = Page::first(3);
    loop {
        let result = world.crm.list_orders(&world.admin, &filter, page).unwrap();
        ids.extend(result.items.iter().map(|order| order.id));
        match result.next {
            Some(next) => page = Page::after(next, 3),
            None => return ids,
        }
    }
}

fn expected(all: &[Order], keep: impl Fn(&Order) -> bool) -> Vec<OrderId> {
    let mut ids: Vec<OrderId> = all
        .iter()
        .filter(|order| keep(order))
        .map(|order| order.id)
        .collect();
    ids.sort_by(|a, b| b.cmp(a));
    ids
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    #[test]
    fn after_any_sequence_of_use_cases_every_index_agrees_with_the_records(ops in proptest::collection::vec(op(), 1..40)) {
        let world = World::new();
        let markers: Vec<MarkerId> = ["Rust", "Go"].iter().map(|name| world.crm.create_marker(&world.admin, *name, "#123456").unwrap().id).collect();
        let mut customers = vec![world.customer(9_999, "First")];
        for op in &ops {
            apply(&world, &mut customers, &markers, op);
        }
        let report = world.crm.system().verify().unwrap();
        prop_assert!(report.problems.is_empty(), "{:#?}", report.problems);

        let all = world.crm.system().all_orders(world.org.id).unwrap();
        prop_assert_eq!(listed(&world, OrderFilter::default()), expected(&all, |_| true));
        // Every list row says what its order and customer records say.
        let rows = world.crm.read(|view| {
            crm_lib::orders::order_rows_in(view, &world.admin, &OrderFilter::default(), Page::first(Page::MAX))
        }).unwrap();
        prop_assert_eq!(rows.items.len(), all.len());
        for row in &rows.items {
            let order = all.iter().find(|order| order.id == row.order.id).unwrap();
            prop_assert_eq!(&row.order, &OrderSummary::from(order));
            let customer = world.crm.read(|view| crm_lib::customers::customer_in(view, &world.system, order.customer)).unwrap();
            prop_assert_eq!(&row.customer_name, &customer.full_name());
        }
        for stage in &world.org.pipeline.stages {
            let filter = OrderFilter { stage: Some(stage.id), ..OrderFilter::default() };
            prop_assert_eq!(listed(&world, filter), expected(&all, |order| order.stage == stage.id));
        }
        for actor in &customers {
            let customer = World::customer_id(actor);
            let filter = OrderFilter { customer: Some(customer), ..OrderFilter::default() };
            prop_assert_eq!(listed(&world, filter), expected(&all, |order| order.customer == customer));
        }
        for user in [&world.worker, &world.worker2, &world.master] {
            let user = World::user_id(user);
            let filter = OrderFilter { assignee: Some(user), ..OrderFilter::default() };
            prop_assert_eq!(listed(&world, filter), expected(&all, |order| order.assignee == Some(user)));
        }
        for marker in &markers {
            let filter = OrderFilter { marker: Some(*marker), ..OrderFilter::default() };
            prop_assert_eq!(listed(&world, filter), expected(&all, |order| order.markers.contains(marker)));
        }
        let filter = OrderFilter { search: Some("бот".into()), ..OrderFilter::default() };
        prop_assert_eq!(listed(&world, filter), expected(&all, |order| order.title.to_lowercase().contains("бот")));
        let counts: u64 = world.crm.stage_counts(&Actor::system(world.org.id)).unwrap().iter().map(|count| count.orders).sum();
        prop_assert_eq!(counts, all.len() as u64);
    }
}
