//! Criterion benches of crm-lib's hot paths (SPEC section 7): creating an order durably,
//! listing a page of 50 out of a million orders, posting a customer's message, and many
//! threads creating orders at once through the group-commit writer (with, as its ceiling,
//! 64 creates in one transaction).
//!
//! Each bench reports elements per second through criterion and prints its own
//! `NAME: X ops/s` line from its own timing; a summary of those lines closes the run.
//!
//! `CRM_BENCH_ORDERS` sets the size of the listed store (default 1,000,000; built once and
//! cached under `target/bench-data/`). When criterion runs the benches as tests
//! (`cargo test --benches`) the default is 1,000, so a test run never builds the big file.
//!
//! Run: `cargo bench -p crm-benches` (add `-- list_orders` and so on to pick benches).

#![allow(clippy::unwrap_used)]

use std::hint::black_box;
use std::sync::Barrier;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput};
use crm_benches::{Rate, SCALE_MANAGER, fresh_store, scale_store};
use crm_lib::{
    Crm, CrmOptions, Page,
    chat::{InboundMessage, OrderChoice},
    model::{Actor, CustomerId, OrgId},
    orders::{NewOrder, OrderFilter},
};

/// The thread counts of the concurrent bench; the 1-thread run is the baseline of the ratio.
const THREADS: [usize; 4] = [1, 8, 32, 64];

/// Customers of the write benches' fresh stores: one per thread of the largest run.
const CUSTOMERS: u64 = 64;

fn main() {
    let mut criterion = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4))
        .configure_from_args();
    let mut summary: Vec<String> = Vec::new();
    bench_create_order(&mut criterion, &mut summary);
    bench_list_orders(&mut criterion, &mut summary);
    bench_post_message(&mut criterion, &mut summary);
    bench_concurrent_creates(&mut criterion, &mut summary);
    bench_create_order_batched(&mut criterion, &mut summary);
    criterion.final_summary();
    if !summary.is_empty() {
        println!("\n== crm-lib rates (this machine, this run)");
        for line in &summary {
            println!("{line}");
        }
    }
}

/// Whether criterion was started by `cargo bench` (it passes `--bench`), as opposed to a test
/// run that calls each routine once.
fn bench_mode() -> bool {
    std::env::args().any(|arg| arg == "--bench")
}

/// The number of orders in the listed store: `CRM_BENCH_ORDERS`, else 1,000,000 under
/// `cargo bench` and 1,000 in a test run.
fn scale_orders() -> u64 {
    match std::env::var("CRM_BENCH_ORDERS") {
        Ok(text) => text
            .replace('_', "")
            .parse()
            .expect("CRM_BENCH_ORDERS must be a whole number of orders"),
        Err(_) if bench_mode() => 1_000_000,
        Err(_) => 1_000,
    }
}

/// Prints a measured rate now (so it sits next to criterion's report) and keeps it for the
/// summary.
fn report(rate: &Rate, summary: &mut Vec<String>) {
    if let Some(line) = rate.line() {
        report_line(line, summary);
    }
}

/// Prints `line` and keeps it for the summary, under `cargo bench` only: a test run calls each
/// routine once, and rates from single calls would only mislead.
fn report_line(line: String, summary: &mut Vec<String>) {
    if bench_mode() {
        println!("{line}");
        summary.push(line);
    }
}

/// A write bench's store: a temporary directory with a fresh store of [`CUSTOMERS`]
/// customers, created inside the first routine call so that filtering the bench out never
/// builds it.
type FreshStore = (tempfile::TempDir, Crm, OrgId, Vec<CustomerId>);

fn fresh() -> FreshStore {
    let dir = tempfile::tempdir().unwrap();
    let (crm, org, customers) = fresh_store(dir.path(), CUSTOMERS).unwrap();
    (dir, crm, org, customers)
}

/// Calls `call` `iters` times, for criterion's `iter_custom`: returns the time taken and adds
/// it to `rate`, with `elements` operations per call.
fn timed(rate: &mut Rate, iters: u64, elements: u64, mut call: impl FnMut()) -> Duration {
    let started = Instant::now();
    for _ in 0..iters {
        call();
    }
    let elapsed = started.elapsed();
    rate.add(iters * elements, elapsed);
    elapsed
}

fn order_request() -> NewOrder {
    NewOrder {
        title: "Telegram bot for a bakery".into(),
        description: "Orders, delivery slots and a daily report for the owner.".into(),
        budget: Some(crm_lib::model::Money::from_minor(150_000)),
        ..NewOrder::default()
    }
}

/// One durable `create_order` per call, from one thread: each call waits for its own commit.
fn bench_create_order(criterion: &mut Criterion, summary: &mut Vec<String>) {
    let mut store: Option<FreshStore> = None;
    let mut rate = Rate::new("create_order");
    let mut group = criterion.benchmark_group("create_order");
    group.throughput(Throughput::Elements(1));
    group.bench_function("durable", |bencher| {
        let (_, crm, org, customers) = store.get_or_insert_with(fresh);
        let mut next = 0usize;
        bencher.iter_custom(|iters| {
            timed(&mut rate, iters, 1, || {
                let actor = Actor::customer(*org, customers[next % customers.len()]);
                next += 1;
                black_box(crm.create_order(&actor, order_request()).unwrap());
            })
        });
    });
    group.finish();
    report(&rate, summary);
}

/// How many creates the batched bench puts in one transaction: as many as the largest
/// concurrent run has callers.
const BATCH: u64 = 64;

/// [`BATCH`] creates in one `Crm::write` transaction per call: the ceiling of group commit
/// (one transaction and one durable commit for the whole batch), to set the concurrent rates
/// against. The gap between the two is the writer's cost per job (its own transaction and
/// commit, the hand-over between threads), which the concurrent bench cannot see directly.
fn bench_create_order_batched(criterion: &mut Criterion, summary: &mut Vec<String>) {
    let mut store: Option<FreshStore> = None;
    let mut rate = Rate::new(format!("create_order_{BATCH}_per_transaction"));
    let mut group = criterion.benchmark_group("create_order_batched");
    group.throughput(Throughput::Elements(BATCH));
    group.bench_function(format!("{BATCH}_per_transaction"), |bencher| {
        let (_, crm, org, customers) = store.get_or_insert_with(fresh);
        let (org, customers) = (*org, std::sync::Arc::new(customers.clone()));
        bencher.iter_custom(|iters| {
            timed(&mut rate, iters, BATCH, || {
                let customers = customers.clone();
                let created = crm
                    .write(move |tx| {
                        for index in 0..BATCH as usize {
                            let actor = Actor::customer(org, customers[index % customers.len()]);
                            tx.create_order(&actor, order_request())?;
                        }
                        Ok(BATCH)
                    })
                    .unwrap();
                black_box(created);
            })
        });
    });
    group.finish();
    report(&rate, summary);
}

/// The first page of 50 orders, and the first page of one stage, as a manager sees them, out
/// of the large store.
fn bench_list_orders(criterion: &mut Criterion, summary: &mut Vec<String>) {
    let orders = scale_orders();
    // Opening (and, the first time, building) the large store happens inside the first
    // routine call, so filtering the list benches out never touches the file.
    let mut store: Option<(Crm, Actor, OrderFilter)> = None;
    let mut open = || -> (Crm, Actor, OrderFilter) {
        let path = scale_store(orders, orders * 10).unwrap();
        let opened = Instant::now();
        let crm = Crm::open_with(&path, CrmOptions::default()).unwrap();
        eprintln!(
            "list_orders: opened {} ({orders} orders) in {:.0} ms",
            path.display(),
            opened.elapsed().as_secs_f64() * 1000.0
        );
        let org = crm.system().default_organization().unwrap();
        let manager = crm
            .user_by_name(&Actor::system(org.id), SCALE_MANAGER)
            .unwrap();
        let in_progress = org.pipeline.stage_by_key("in_progress").unwrap().id;
        let by_stage = OrderFilter {
            stage: Some(in_progress),
            ..OrderFilter::default()
        };
        (crm, Actor::staff(org.id, manager.id), by_stage)
    };
    let cases = [("first_page", false), ("stage_in_progress", true)];
    let mut rates: Vec<Rate> = cases
        .iter()
        .map(|(name, _)| {
            Rate::new(format!(
                "list_orders_page_50_of_1m/{name} ({orders} orders)"
            ))
        })
        .collect();
    let mut group = criterion.benchmark_group("list_orders_page_50_of_1m");
    group.throughput(Throughput::Elements(1));
    for ((name, by_stage), rate) in cases.iter().zip(rates.iter_mut()) {
        group.bench_function(*name, |bencher| {
            let (crm, actor, stage_filter) = store.get_or_insert_with(&mut open);
            let filter = if *by_stage {
                stage_filter.clone()
            } else {
                OrderFilter::default()
            };
            bencher.iter_custom(|iters| {
                timed(rate, iters, 1, || {
                    let page = crm.list_orders(actor, &filter, Page::first(50)).unwrap();
                    assert!(!page.items.is_empty(), "the {name} page is empty");
                    black_box(page);
                })
            });
        });
    }
    group.finish();
    for rate in &rates {
        report(rate, summary);
    }
}

/// One durable `post_inbound` of a short text by a customer per call, from one thread.
fn bench_post_message(criterion: &mut Criterion, summary: &mut Vec<String>) {
    let mut store: Option<FreshStore> = None;
    let mut rate = Rate::new("post_message");
    let mut group = criterion.benchmark_group("post_message");
    group.throughput(Throughput::Elements(1));
    group.bench_function("inbound_text", |bencher| {
        let (_, crm, org, customers) = store.get_or_insert_with(fresh);
        let mut next = 0usize;
        bencher.iter_custom(|iters| {
            timed(&mut rate, iters, 1, || {
                let customer = customers[next % customers.len()];
                next += 1;
                let message = InboundMessage {
                    customer,
                    about: OrderChoice::None,
                    text: "Hello! Any news on my order?".into(),
                    attachments: Vec::new(),
                    telegram_message_id: Some(next as i64),
                    content: None,
                    reply_to_telegram: None,
                    media_group: None,
                };
                black_box(
                    crm.post_inbound(&Actor::customer(*org, customer), message)
                        .unwrap(),
                );
            })
        });
    });
    group.finish();
    report(&rate, summary);
}

/// `threads` threads creating orders at once, each for its own customer, every create
/// durable. Criterion's `iters` creates are split among the threads; the time runs from the
/// moment all threads are ready until the last create returns.
fn concurrent_creates(
    crm: &Crm,
    org: OrgId,
    customers: &[CustomerId],
    threads: usize,
    iters: u64,
) -> Duration {
    let ready = Barrier::new(threads + 1);
    std::thread::scope(|scope| {
        let mut handles = Vec::with_capacity(threads);
        for thread in 0..threads {
            let share =
                iters / threads as u64 + u64::from((thread as u64) < iters % threads as u64);
            let actor = Actor::customer(org, customers[thread % customers.len()]);
            let ready = &ready;
            handles.push(scope.spawn(move || {
                ready.wait();
                for _ in 0..share {
                    black_box(crm.create_order(&actor, order_request()).unwrap());
                }
            }));
        }
        ready.wait();
        let started = Instant::now();
        for handle in handles {
            handle.join().unwrap();
        }
        started.elapsed()
    })
}

/// Durable creates from 1, 8, 32 and 64 threads at once. The writer commits whatever is
/// queued together, so throughput grows with the number of waiting callers.
///
/// The writer's insides are not visible from here, so the creates per durable commit are
/// inferred: one thread gets one create per commit, costing `C + J` (commit plus job); `n`
/// threads get batches of `B` costing `C + B * J`, a rate ratio of `B (C + J) / (C + B J)`,
/// which never exceeds `B`. The printed ratio is therefore a lower bound on the batch size.
fn bench_concurrent_creates(criterion: &mut Criterion, summary: &mut Vec<String>) {
    let mut store: Option<FreshStore> = None;
    let mut rates: Vec<Rate> = THREADS
        .iter()
        .map(|threads| Rate::new(format!("concurrent_durable_creates/{threads}_threads")))
        .collect();
    let mut group = criterion.benchmark_group("concurrent_durable_creates");
    group.throughput(Throughput::Elements(1));
    for (threads, rate) in THREADS.iter().zip(rates.iter_mut()) {
        group.bench_with_input(
            BenchmarkId::from_parameter(threads),
            threads,
            |bencher, &threads| {
                let (_, crm, org, customers) = store.get_or_insert_with(fresh);
                bencher.iter_custom(|iters| {
                    let elapsed = concurrent_creates(crm, *org, customers, threads, iters);
                    rate.add(iters, elapsed);
                    elapsed
                });
            },
        );
    }
    group.finish();
    let single = rates.first().and_then(Rate::per_second);
    for rate in &rates {
        let (Some(line), Some(per_second)) = (rate.line(), rate.per_second()) else {
            continue;
        };
        let line = match single {
            Some(single) if rate.name() != rates[0].name() => format!(
                "{line} ({ratio:.1}x the 1-thread rate, so at least {ratio:.1} creates share \
                 each durable commit on average)",
                ratio = per_second / single
            ),
            _ => line,
        };
        report_line(line, summary);
    }
}
