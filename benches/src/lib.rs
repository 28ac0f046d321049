//! Set-up shared by the crm-lib benches: a fresh store for write benches, the large store for
//! read benches (built once and cached under `target/bench-data/`), and the rate that each bench
//! prints as "NAME: X ops/s".
//!
//! Everything goes through crm-lib's public API, like the appliance does: the large store is
//! filled with the same use cases (`create_order`, `approve_order`, `assign_order`,
//! `move_order`, `outbox_delivered`) that real traffic would run, so its indexes, audit trail
//! and outbox look like those of a studio that has worked through that many orders.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant};

use crm_lib::{
    Crm, CrmOptions, Password, Tx, View,
    chat::{InboundMessage, OrderChoice, OutboundMessage},
    customers::TelegramProfile,
    model::{Actor, CustomerId, Money, OrderId, OrgId, StageId, TelegramUserId, Timestamp, UserId},
    orders::{AssignTo, NewOrder},
    org::SettingsUpdate,
    team::NewUser,
};

/// The error of the set-up helpers: a crm-lib error or an I/O error of the cache directory.
pub type BenchError = Box<dyn std::error::Error + Send + Sync>;

/// The result of the set-up helpers.
pub type BenchResult<T> = Result<T, BenchError>;

/// How many customers the large store spreads its orders over.
pub const SCALE_CUSTOMERS: u64 = 10_000;

/// How many orders one write transaction creates (and moves along) while building the large
/// store. One durable commit per batch keeps the load fast; much larger batches only grow the
/// writer's dirty pages.
pub const LOAD_BATCH: u64 = 5_000;

/// The username of the manager in the large store; the list benches act as this user, like a
/// manager looking at the order list in the browser.
pub const SCALE_MANAGER: &str = "manager";

/// How many workers the large store's orders are assigned to.
pub const SCALE_WORKERS: usize = 8;

/// The password of every staff user of the bench stores (made up for the bench; the stores
/// live under `target/` only).
pub const SCALE_PASSWORD: &str = "bench-password-not-secret";

/// Opens a new store in `dir` (file `crm.redb`) with default options (quick repair on), creates
/// a studio organization without an open-order limit, so benches can create orders for the same
/// customers without end, and `customers` Telegram customers in one transaction.
///
/// Returns the store, the organization and the customers in creation order.
///
/// # Errors
/// Any crm-lib error of the set-up calls.
pub fn fresh_store(dir: &Path, customers: u64) -> BenchResult<(Crm, OrgId, Vec<CustomerId>)> {
    let crm = Crm::open_with(dir.join("crm.redb"), CrmOptions::default())?;
    let org = unlimited_studio(&crm)?;
    let customers = create_customers(&crm, org, 0, customers)?;
    Ok((crm, org, customers))
}

/// The scale of SPEC section 7: one million orders.
pub const SPEC_ORDERS: u64 = 1_000_000;

/// The scale of SPEC section 7: ten million messages.
pub const SPEC_MESSAGES: u64 = 10_000_000;

/// How many messages one write transaction posts while building the large store.
const MESSAGE_BATCH: u64 = 10_000;

/// The path of a store with `orders` orders spread over [`SCALE_CUSTOMERS`] customers, in
/// every stage of the studio pipeline (most delivered), created over the last three years
/// (`SCALE_HISTORY_DAYS`, a batch every few days, so the dashboard's per-day aggregates span
/// them), and `messages` messages (today) in those customers' conversations: two of every three written by the customer through the bot, one
/// by staff and delivered; every third is about the customer's latest order. Built on first
/// use and cached as `target/bench-data/orders-{orders}-messages-{messages}-v{SCHEMA_VERSION}.redb`;
/// a missing file is rebuilt.
///
/// The build writes to a temporary name and renames the file when it is complete, so an
/// interrupted build never leaves a file that looks finished. It reports its progress on
/// stderr; a million orders take minutes in release builds. Blocks until the file exists.
///
/// Callers open the file themselves; read benches must not write to it, since it is shared
/// by every later run.
///
/// # Errors
/// Any crm-lib error of the build, or an I/O error creating, removing or renaming files in
/// the cache directory.
pub fn scale_store(orders: u64, messages: u64) -> BenchResult<PathBuf> {
    let dir = bench_data_dir();
    std::fs::create_dir_all(&dir)
        .map_err(|error| format!("creating {}: {error}", dir.display()))?;
    let name = format!(
        "orders-{orders}-messages-{messages}-v{}.redb",
        crm_lib::SCHEMA_VERSION
    );
    let path = dir.join(&name);
    if path.exists() {
        return Ok(path);
    }
    // The process id keeps two bench binaries that build at the same time from sharing a file;
    // the second rename simply replaces an identical store.
    let building = dir.join(format!("{name}.building-{}", std::process::id()));
    if building.exists() {
        std::fs::remove_file(&building)
            .map_err(|error| format!("removing {}: {error}", building.display()))?;
    }
    let started = Instant::now();
    eprintln!(
        "scale store: building {orders} orders and {messages} messages over {SCALE_CUSTOMERS} customers in {}",
        building.display()
    );
    build_scale_store(&building, orders, messages, started)?;
    std::fs::rename(&building, &path).map_err(|error| {
        format!(
            "renaming {} to {}: {error}",
            building.display(),
            path.display()
        )
    })?;
    let size = std::fs::metadata(&path)
        .map_err(|error| format!("reading the size of {}: {error}", path.display()))?
        .len();
    let seconds = started.elapsed().as_secs_f64();
    eprintln!(
        "scale store: built {orders} orders and {messages} messages in {seconds:.1} s, {:.1} MiB, {}",
        size as f64 / (1024.0 * 1024.0),
        path.display()
    );
    Ok(path)
}

/// Where cached bench stores live: `$CARGO_TARGET_DIR/bench-data`, or `target/bench-data` at
/// the workspace root.
pub fn bench_data_dir() -> PathBuf {
    let target = match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("..")
            .join("target"),
    };
    target.join("bench-data")
}

/// A rate measured by a bench: operations and the wall time they took, added up over every
/// timed call (criterion's warm-up included, which for durable writes is as representative as
/// the measured samples).
#[derive(Debug, Clone, Default)]
pub struct Rate {
    name: String,
    operations: u64,
    elapsed: Duration,
}

impl Rate {
    /// A rate with nothing measured yet, printed as `name`.
    pub fn new(name: impl Into<String>) -> Self {
        Rate {
            name: name.into(),
            operations: 0,
            elapsed: Duration::ZERO,
        }
    }

    /// Counts `operations` that took `elapsed` of wall time.
    pub fn add(&mut self, operations: u64, elapsed: Duration) {
        self.operations += operations;
        self.elapsed += elapsed;
    }

    /// The bench's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Operations per second, or `None` when nothing was measured (the bench was filtered
    /// out).
    pub fn per_second(&self) -> Option<f64> {
        (self.operations > 0 && !self.elapsed.is_zero())
            .then(|| self.operations as f64 / self.elapsed.as_secs_f64())
    }

    /// The line the issue asks for, `NAME: X ops/s`, or `None` when nothing was measured.
    pub fn line(&self) -> Option<String> {
        self.per_second()
            .map(|rate| format!("{}: {rate:.0} ops/s", self.name))
    }
}

/// The organization of the bench stores: the studio template with no open-order limit.
fn unlimited_studio(crm: &Crm) -> BenchResult<OrgId> {
    let org = crm
        .system()
        .create_organization("studio", "Bench Studio", "bench-studio")?;
    crm.update_settings(
        &Actor::system(org.id),
        SettingsUpdate {
            open_order_limit: Some(0),
            ..SettingsUpdate::default()
        },
    )?;
    Ok(org.id)
}

/// Creates customers `first..first + count` (Telegram ids from 1,000,000 on) in batches of
/// [`LOAD_BATCH`], one transaction each.
fn create_customers(crm: &Crm, org: OrgId, first: u64, count: u64) -> BenchResult<Vec<CustomerId>> {
    let mut customers = Vec::with_capacity(usize::try_from(count)?);
    let mut start = first;
    let end = first + count;
    while start < end {
        let stop = (start + LOAD_BATCH).min(end);
        let batch = crm.write(move |tx| {
            (start..stop)
                .map(|index| {
                    tx.system()
                        .upsert_telegram_customer(org, customer_profile(index))
                        .map(|customer| customer.id)
                })
                .collect::<crm_lib::Result<Vec<_>>>()
        })?;
        customers.extend(batch);
        start = stop;
    }
    Ok(customers)
}

fn customer_profile(index: u64) -> TelegramProfile {
    const FIRST: [&str; 8] = [
        "Alice", "Boris", "Chen", "Dana", "Elena", "Farid", "Greta", "Hiro",
    ];
    const LAST: [&str; 6] = ["Ivanova", "Smith", "Okafor", "Novak", "Tanaka", "Garcia"];
    let pick = |list: &[&'static str], salt: u64| -> &'static str {
        list[(mix(index ^ salt) % list.len() as u64) as usize]
    };
    TelegramProfile {
        telegram_id: TelegramUserId::new(1_000_000 + index as i64),
        username: (!index.is_multiple_of(3)).then(|| format!("customer{index}")),
        first_name: pick(&FIRST, 1).to_string(),
        last_name: (!index.is_multiple_of(4)).then(|| pick(&LAST, 2).to_string()),
        language_code: Some(if index.is_multiple_of(2) { "en" } else { "ru" }.to_string()),
    }
}

/// The stages of the studio pipeline the large store uses, by key.
#[derive(Debug, Clone, Copy)]
struct StudioStages {
    in_progress: StageId,
    testing: StageId,
    completed: StageId,
    delivered: StageId,
}

/// Where an order of the large store ends up, by its index: out of every 100 orders, 3 wait
/// for moderation, 2 were rejected, 3 are approved, 3 in progress, 2 in testing, 3 completed
/// and 84 delivered, roughly what a studio that has run for years holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Fate {
    Pending,
    Rejected,
    Approved,
    InProgress,
    Testing,
    Completed,
    Delivered,
}

impl Fate {
    fn of(index: u64) -> Fate {
        match mix(index ^ 0x5eed) % 100 {
            0..3 => Fate::Pending,
            3..5 => Fate::Rejected,
            5..8 => Fate::Approved,
            8..11 => Fate::InProgress,
            11..13 => Fate::Testing,
            13..16 => Fate::Completed,
            _ => Fate::Delivered,
        }
    }
}

/// How far back the large store's orders go: they are created over this many days, oldest
/// first, so that the dashboard's per-day aggregates span years as a long-lived studio's do.
const SCALE_HISTORY_DAYS: i64 = 1_095;

/// How many milliseconds the large store's clock runs behind the real one while it is built.
static SCALE_CLOCK_BEHIND: AtomicI64 = AtomicI64::new(0);

/// The clock of the large store's build: the real one, [`SCALE_CLOCK_BEHIND`] back.
fn scale_clock() -> Timestamp {
    Timestamp::from_millis(Timestamp::now().millis() - SCALE_CLOCK_BEHIND.load(Ordering::SeqCst))
}

/// Sets the build's clock `days` back.
fn scale_clock_back(days: i64) {
    SCALE_CLOCK_BEHIND.store(days * 86_400_000, Ordering::SeqCst);
}

fn build_scale_store(path: &Path, orders: u64, messages: u64, started: Instant) -> BenchResult<()> {
    scale_clock_back(SCALE_HISTORY_DAYS);
    let crm = Crm::open_with_clock(path, CrmOptions::default(), scale_clock)?;
    let org = unlimited_studio(&crm)?;
    let system = Actor::system(org);
    let staff_user = |username: String, role: &str| -> BenchResult<UserId> {
        let user = crm.create_user(
            &system,
            NewUser {
                display_name: username.clone(),
                username,
                password: Password::parse(SCALE_PASSWORD)?,
                roles: vec![role.to_string()],
                must_change_password: false,
            },
        )?;
        Ok(user.id)
    };
    staff_user(SCALE_MANAGER.to_string(), "manager")?;
    let workers = (1..=SCALE_WORKERS)
        .map(|number| staff_user(format!("worker{number}"), "worker"))
        .collect::<BenchResult<Vec<_>>>()?;
    let customers = create_customers(&crm, org, 0, SCALE_CUSTOMERS)?;
    eprintln!(
        "scale store: {} customers and {} staff users in {:.1} s",
        customers.len(),
        workers.len() + 1,
        started.elapsed().as_secs_f64()
    );
    let pipeline = crm.system().organization(org)?.pipeline;
    let stage = |key: &str| -> BenchResult<StageId> {
        Ok(pipeline
            .stage_by_key(key)
            .ok_or_else(|| format!("the studio template has no stage {key:?}"))?
            .id)
    };
    let stages = StudioStages {
        in_progress: stage("in_progress")?,
        testing: stage("testing")?,
        completed: stage("completed")?,
        delivered: stage("delivered")?,
    };
    let customers = std::sync::Arc::new(customers);
    let workers = std::sync::Arc::new(workers);
    let mut latest: Vec<Option<OrderId>> = vec![None; customers.len()];
    let report_every = (orders / 20).max(LOAD_BATCH);
    let mut next_report = report_every;
    let mut start = 0;
    while start < orders {
        let stop = (start + LOAD_BATCH).min(orders);
        // Each batch a little later than the one before, the last one today.
        let behind = SCALE_HISTORY_DAYS * i64::try_from(orders - start).unwrap_or(0)
            / i64::try_from(orders.max(1)).unwrap_or(1);
        scale_clock_back(behind);
        let (customers, workers) = (customers.clone(), workers.clone());
        let created = crm.write(move |tx| {
            let mut created = Vec::with_capacity(usize::try_from(stop - start).unwrap_or(0));
            for index in start..stop {
                let slot = (mix(index) % customers.len() as u64) as usize;
                let worker = workers[(index % workers.len() as u64) as usize];
                let order = load_order(
                    tx,
                    &Actor::system(org),
                    index,
                    customers[slot],
                    worker,
                    stages,
                )?;
                created.push((slot, order));
            }
            deliver_outbox(tx)?;
            Ok(created)
        })?;
        for (slot, order) in created {
            latest[slot] = Some(order);
        }
        start = stop;
        if start >= next_report || start == orders {
            let seconds = started.elapsed().as_secs_f64();
            eprintln!(
                "scale store: {start}/{orders} orders, {seconds:.0} s, {:.0} orders/s",
                start as f64 / seconds.max(f64::EPSILON)
            );
            next_report += report_every;
        }
    }
    scale_clock_back(0);
    load_messages(&crm, org, &customers, &latest, messages, started)?;
    crm.close();
    Ok(())
}

/// Posts `messages` messages in batches of [`MESSAGE_BATCH`], round robin over `customers`:
/// message `index` is outbound (staff, as the system, then delivered) when `index % 3 == 2`,
/// inbound otherwise, and about the customer's latest order when `index % 3 == 0`.
fn load_messages(
    crm: &Crm,
    org: OrgId,
    customers: &std::sync::Arc<Vec<CustomerId>>,
    latest: &[Option<OrderId>],
    messages: u64,
    started: Instant,
) -> BenchResult<()> {
    let latest = std::sync::Arc::new(latest.to_vec());
    let report_every = (messages / 20).max(MESSAGE_BATCH);
    let mut next_report = report_every;
    let mut start = 0;
    while start < messages {
        let stop = (start + MESSAGE_BATCH).min(messages);
        let (customers, latest) = (customers.clone(), latest.clone());
        crm.write(move |tx| {
            let system = Actor::system(org);
            for index in start..stop {
                let slot = (index % customers.len() as u64) as usize;
                let customer = customers[slot];
                let order = if index % 3 == 0 { latest[slot] } else { None };
                let text = message_text(index);
                if index % 3 == 2 {
                    tx.post_outbound(
                        &system,
                        OutboundMessage {
                            customer,
                            order,
                            text,
                            attachments: Vec::new(),
                            reply_to: None,
                            content: None,
                        },
                    )?;
                } else {
                    tx.post_inbound(
                        &system,
                        InboundMessage {
                            customer,
                            about: order.map_or(OrderChoice::None, OrderChoice::Chosen),
                            text,
                            attachments: Vec::new(),
                            telegram_message_id: Some(i64::try_from(index).unwrap_or(i64::MAX)),
                            content: None,
                            reply_to_telegram: None,
                            media_group: None,
                        },
                    )?;
                }
            }
            deliver_outbox(tx)
        })?;
        start = stop;
        if start >= next_report || start == messages {
            let seconds = started.elapsed().as_secs_f64();
            eprintln!("scale store: {start}/{messages} messages, {seconds:.0} s");
            next_report += report_every;
        }
    }
    Ok(())
}

/// A short chat line, different for each index.
fn message_text(index: u64) -> String {
    const LINES: [&str; 8] = [
        "Hello! Any news on my order?",
        "Could we move the call to Thursday afternoon?",
        "I have sent the logo files, please check.",
        "The test build works, only the menu is slow on my phone.",
        "Thank you, the invoice is paid.",
        "Please add one more page with prices.",
        "When can you start?",
        "Looks great, we can go live.",
    ];
    format!(
        "{} (#{index})",
        LINES[(mix(index) % LINES.len() as u64) as usize]
    )
}

/// Creates order number `index` for `customer` and moves it to its [`Fate`], as the system
/// actor (a manager would do the same by hand).
fn load_order(
    tx: &mut Tx<'_>,
    system: &Actor,
    index: u64,
    customer: CustomerId,
    worker: UserId,
    stages: StudioStages,
) -> crm_lib::Result<OrderId> {
    let order = tx.create_order(system, order_request(index, customer))?.id;
    let fate = Fate::of(index);
    match fate {
        Fate::Pending => return Ok(order),
        Fate::Rejected => {
            tx.reject_order(system, order, "Out of scope for the studio")?;
            return Ok(order);
        }
        _ => {
            tx.approve_order(system, order)?;
        }
    }
    if fate == Fate::Approved {
        return Ok(order);
    }
    tx.assign_order(system, order, AssignTo::User(worker))?;
    let path = [
        (Fate::InProgress, stages.in_progress),
        (Fate::Testing, stages.testing),
        (Fate::Completed, stages.completed),
        (Fate::Delivered, stages.delivered),
    ];
    for (reached, stage) in path {
        if fate >= reached {
            tx.move_order(system, order, stage)?;
        }
    }
    Ok(order)
}

/// Marks every due outbox item delivered (staff messages as sent, with a Telegram message id),
/// as the outbox job of a running appliance would have long done for old orders, so the large
/// store has no backlog of notifications.
fn deliver_outbox(tx: &mut Tx<'_>) -> crm_lib::Result<()> {
    let now = tx.now();
    let mut system = tx.system();
    for due in system.due_outbox(now, usize::MAX)? {
        let telegram_message_id = i64::try_from(due.item.id.get()).ok();
        system.outbox_delivered(due.org, due.item.id, telegram_message_id)?;
    }
    Ok(())
}

/// A plausible order for a programming studio, different for each index.
fn order_request(index: u64, customer: CustomerId) -> NewOrder {
    const WHAT: [&str; 10] = [
        "Telegram bot",
        "Landing page",
        "Online shop",
        "Mobile app",
        "CRM integration",
        "Payment widget",
        "Booking system",
        "Admin dashboard",
        "Price parser",
        "Mini App",
    ];
    const FOR: [&str; 12] = [
        "bakery",
        "dental clinic",
        "car service",
        "flower shop",
        "fitness club",
        "language school",
        "coffee house",
        "law firm",
        "barbershop",
        "hotel",
        "pet store",
        "print shop",
    ];
    let hash = mix(index);
    let what = WHAT[(hash % WHAT.len() as u64) as usize];
    let whom = FOR[((hash >> 8) % FOR.len() as u64) as usize];
    NewOrder {
        customer: Some(customer),
        title: format!("{what} for a {whom}"),
        description: format!(
            "We need a {} for our {whom}: orders, reminders and a simple admin page. \
             Reference number {index}.",
            what.to_lowercase()
        ),
        budget: (!hash.is_multiple_of(5)).then(|| {
            Money::from_minor(i64::try_from(100 + (hash >> 16) % 4_900).unwrap_or(100) * 100)
        }),
        ..NewOrder::default()
    }
}

/// A cheap, fixed mixing of an index (splitmix64), so that generated data looks varied yet is
/// the same on every build.
fn mix(value: u64) -> u64 {
    let mut z = value.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// What the operators queue's benchmark measured (SPEC section 7: "assigning 10,000 new
/// conversations across 50 operators with a per-assignment p99 under 10 ms").
#[derive(Debug, Clone, PartialEq)]
pub struct AssignmentFigures {
    /// Conversations opened and assigned.
    pub conversations: u64,
    /// Operators online in the one department.
    pub operators: usize,
    /// Median time of one assignment, in milliseconds.
    pub p50_ms: f64,
    /// 99th percentile, in milliseconds.
    pub p99_ms: f64,
    /// The slowest, in milliseconds.
    pub max_ms: f64,
    /// Assignments per second, one after the other.
    pub rate: f64,
    /// The largest load less the smallest, after every assignment (the rule keeps it at most 1).
    pub spread: u64,
}

/// The operators queue's benchmark: a helpdesk in a new store in `dir` with one department of
/// `operators` online operators and `conversations` customers; each customer writes once,
/// which opens their conversation and assigns it by the queue's rule. One assignment is the
/// whole durable write of [`Crm::post_inbound`] (the message, the conversation, the routing
/// and its audit entry, committed with `Durability::Immediate`), timed one after the other
/// from the caller's side.
///
/// # Errors
/// Any crm-lib error of the set-up or the writes.
pub fn assignment_figures(
    dir: &Path,
    conversations: u64,
    operators: usize,
) -> BenchResult<AssignmentFigures> {
    let crm = Crm::open_with(dir.join("crm.redb"), CrmOptions::default())?;
    let org = crm
        .system()
        .create_organization("helpdesk", "Bench Help", "bench-help")?
        .id;
    let system = Actor::system(org);
    let department = crm.create_department(&system, "Support")?.id;
    for index in 0..operators {
        let user = crm.create_user(
            &system,
            NewUser {
                username: format!("operator{index}"),
                display_name: format!("Operator {index}"),
                password: Password::parse(SCALE_PASSWORD)?,
                roles: vec!["operator".into()],
                must_change_password: false,
            },
        )?;
        crm.add_department_member(&system, department, user.id)?;
        crm.set_operator_status(&system, user.id, crm_lib::model::OperatorStatus::Online)?;
    }
    let customers = create_customers(&crm, org, 0, conversations)?;
    let mut times = Vec::with_capacity(customers.len());
    let started = Instant::now();
    for customer in customers {
        let one = Instant::now();
        crm.post_inbound(
            &system,
            InboundMessage {
                customer,
                about: OrderChoice::None,
                text: "Hello, I need help".into(),
                attachments: Vec::new(),
                telegram_message_id: None,
                content: None,
                reply_to_telegram: None,
                media_group: None,
            },
        )?;
        times.push(one.elapsed());
    }
    let total = started.elapsed();
    times.sort_unstable();
    let at = |fraction: f64| -> f64 {
        let index = ((times.len() as f64 * fraction).ceil() as usize).clamp(1, times.len()) - 1;
        times
            .get(index)
            .map_or(0.0, |time| time.as_secs_f64() * 1000.0)
    };
    let loads: Vec<u64> = crm.operators(&system)?.iter().map(|row| row.load).collect();
    let spread =
        loads.iter().max().copied().unwrap_or(0) - loads.iter().min().copied().unwrap_or(0);
    Ok(AssignmentFigures {
        conversations,
        operators,
        p50_ms: at(0.5),
        p99_ms: at(0.99),
        max_ms: times.last().map_or(0.0, |time| time.as_secs_f64() * 1000.0),
        rate: conversations as f64 / total.as_secs_f64().max(f64::EPSILON),
        spread,
    })
}

/// What the client Mini App's benchmark measured (issue 14: "the Mini App's feed at p99
/// under 50 ms for a project with 1,000 reports; initData validations per second").
#[derive(Debug, Clone, PartialEq)]
pub struct MiniAppFigures {
    /// Daily reports in the project.
    pub reports: u64,
    /// Reads timed per page.
    pub reads: usize,
    /// The first feed page (with the project's summary): median, in milliseconds.
    pub first_p50_ms: f64,
    /// The first feed page: 99th percentile, in milliseconds.
    pub first_p99_ms: f64,
    /// A deep page (the reports before the 980th newest): median, in milliseconds.
    pub deep_p50_ms: f64,
    /// A deep page: 99th percentile, in milliseconds.
    pub deep_p99_ms: f64,
    /// `initData` validations per second on one thread.
    pub validations_per_second: f64,
}

/// The client Mini App's benchmark: a renovation organization in a new store in `dir` with one
/// client whose project holds `reports` daily reports (every tenth with a photo), each one
/// durable write as the bot or the web adds them. Then, `reads` times each, what one Mini App
/// request costs past HTTP: `initData` validated (Telegram's HMAC rule) and the project read
/// with a page of its feed ([`Crm::mini_app_project`]), for the first page and for a deep one
/// (the 20 reports before the 980th newest); and `initData` validations alone, one thread,
/// for about a second.
///
/// # Errors
/// Any crm-lib error of the set-up or the reads.
pub fn mini_app_figures(dir: &Path, reports: u64, reads: usize) -> BenchResult<MiniAppFigures> {
    use crm_lib::mini_app::{WebAppKey, WebAppUser, sign_init_data, user_json, validate_init_data};
    use crm_lib::projects::{NewProject, NewReport};

    let crm = Crm::open_with(dir.join("crm.redb"), CrmOptions::default())?;
    let org = crm
        .system()
        .create_organization("renovation", "Bench Renovation", "bench-reno")?
        .id;
    let system = Actor::system(org);
    let client = create_customers(&crm, org, 0, 1)?
        .first()
        .copied()
        .ok_or("no client")?;
    let project = crm.create_project(
        &system,
        NewProject {
            client,
            title: "Flat renovation, 64 m²".into(),
            address: "1 Main St".into(),
            budget: Money::from_minor(1_250_000),
            stages: vec!["Demolition".into(), "Wiring".into(), "Finish".into()],
            ..NewProject::default()
        },
    )?;
    let stage = crm.project(&system, project.id)?.stages[0].stage.id;
    let mut report_ids = Vec::with_capacity(usize::try_from(reports)?);
    for index in 0..reports {
        let media = if index.is_multiple_of(10) {
            let mut bytes = b"\x89PNG\r\n\x1a\n".to_vec();
            bytes.extend_from_slice(&index.to_be_bytes());
            vec![crm_lib::media::NewMedia::parse(bytes, "image/png")?]
        } else {
            Vec::new()
        };
        let report = crm.add_daily_report(
            &system,
            project.id,
            NewReport {
                stage,
                text: format!("Day {index}: walls, wiring and a clean site"),
                media,
                voice: None,
            },
        )?;
        report_ids.push(report.id);
    }
    let deep = report_ids
        .len()
        .checked_sub(980)
        .and_then(|index| report_ids.get(index))
        .copied();

    let token = "7000000:BENCHBENCHBENCHBENCHBENCHBENCHBENCH";
    let key = WebAppKey::of_token(token);
    let user = WebAppUser {
        id: TelegramUserId::new(1_000_000),
        first_name: "Alice".into(),
        last_name: Some("Ivanova".into()),
        username: Some("customer0".into()),
        language_code: Some("ru".into()),
    };
    let sign = || {
        let auth_date = (Timestamp::now().millis() / 1000).to_string();
        sign_init_data(
            &key,
            [
                ("query_id", "AAHdF6IQAAAAAN0XohDhrOrc"),
                ("user", user_json(&user).as_str()),
                ("auth_date", auth_date.as_str()),
            ],
        )
    };
    let text = sign();
    let max_age = crm_lib::mini_app::DEFAULT_MAX_AGE_SECONDS;
    let time_page = |before| -> BenchResult<Vec<Duration>> {
        let mut times = Vec::with_capacity(reads);
        for _ in 0..reads {
            let one = Instant::now();
            let init = validate_init_data(&text, &key, Timestamp::now(), max_age)?;
            let view = crm.mini_app_project(org, &init, project.id, before)?;
            std::hint::black_box(&view);
            times.push(one.elapsed());
        }
        times.sort_unstable();
        Ok(times)
    };
    let at = |times: &[Duration], fraction: f64| -> f64 {
        let index = ((times.len() as f64 * fraction).ceil() as usize).clamp(1, times.len()) - 1;
        times
            .get(index)
            .map_or(0.0, |time| time.as_secs_f64() * 1000.0)
    };
    let first = time_page(None)?;
    let deep_times = time_page(deep)?;

    let mut validations = 0_u64;
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(1) {
        for _ in 0..1_000 {
            std::hint::black_box(validate_init_data(&text, &key, Timestamp::now(), max_age)?);
        }
        validations += 1_000;
    }
    let validations_per_second =
        validations as f64 / started.elapsed().as_secs_f64().max(f64::EPSILON);
    Ok(MiniAppFigures {
        reports,
        reads,
        first_p50_ms: at(&first, 0.5),
        first_p99_ms: at(&first, 0.99),
        deep_p50_ms: at(&deep_times, 0.5),
        deep_p99_ms: at(&deep_times, 0.99),
        validations_per_second,
    })
}

/// What [`ledger_figures`] measured.
#[derive(Debug, Clone)]
pub struct LedgerFigures {
    /// Concurrent writer threads, each a customer of its own.
    pub writers: usize,
    /// Orders of packages placed (each a spend entry), in all.
    pub orders: u64,
    /// Spends per second over all writers.
    pub rate: f64,
    /// Median time of one order from its writer's side, in milliseconds.
    pub p50_ms: f64,
    /// 99th percentile, in milliseconds.
    pub p99_ms: f64,
    /// Whether `crm verify` found every balance equal to the sum of its entries afterwards.
    pub verified: bool,
}

/// The token ledger's benchmark (issue 13): a service organization in a new store in `dir`;
/// `writers` customers each get a purchase large enough for their share, then `writers`
/// threads place `orders` orders of the first package in all, each a durable write of
/// [`Crm::place_token_order`] (the balance check, the order, the spend entry with its balance
/// after, the account, the queue entry, the audit entries), through the group commit
/// together. Then `crm verify` checks every balance against its entries.
///
/// # Errors
/// Any crm-lib error of the set-up or the writes.
pub fn ledger_figures(dir: &Path, writers: usize, orders: u64) -> BenchResult<LedgerFigures> {
    let crm = Crm::open_with(dir.join("crm.redb"), CrmOptions::default())?;
    let org = crm
        .system()
        .create_organization("service", "Bench Tokens", "bench-tokens")?
        .id;
    let system = Actor::system(org);
    crm.update_settings(
        &system,
        crm_lib::org::SettingsUpdate {
            open_order_limit: Some(0),
            ..crm_lib::org::SettingsUpdate::default()
        },
    )?;
    let package = crm
        .packages(&system)?
        .first()
        .map(|package| (package.id, package.price));
    let (package, price) = package.ok_or("the service template has no package")?;
    let customers = create_customers(&crm, org, 0, writers as u64)?;
    let share = orders.div_ceil(writers as u64);
    for customer in &customers {
        crm.system()
            .credit_purchase(org, *customer, share * price, "bench:1", "bench")?;
    }
    let started = Instant::now();
    let results: Vec<BenchResult<Vec<Duration>>> = std::thread::scope(|scope| {
        let handles: Vec<_> = customers
            .iter()
            .enumerate()
            .map(|(index, customer)| {
                let crm = &crm;
                let count = share.min(orders.saturating_sub(index as u64 * share));
                scope.spawn(move || -> BenchResult<Vec<Duration>> {
                    let actor = Actor::customer(org, *customer);
                    let mut times = Vec::with_capacity(count as usize);
                    for _ in 0..count {
                        let one = Instant::now();
                        crm.place_token_order(
                            &actor,
                            crm_lib::tokens::TokenOrderRequest {
                                package,
                                ..crm_lib::tokens::TokenOrderRequest::default()
                            },
                        )?;
                        times.push(one.elapsed());
                    }
                    Ok(times)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|handle| {
                handle
                    .join()
                    .unwrap_or_else(|_| Err("a writer panicked".into()))
            })
            .collect()
    });
    let total = started.elapsed();
    let mut times = Vec::new();
    for result in results {
        times.extend(result?);
    }
    times.sort_unstable();
    let at = |fraction: f64| -> f64 {
        let index = ((times.len() as f64 * fraction).ceil() as usize).clamp(1, times.len()) - 1;
        times
            .get(index)
            .map_or(0.0, |time| time.as_secs_f64() * 1000.0)
    };
    let verified = crm.system().verify()?.problems.is_empty();
    Ok(LedgerFigures {
        writers,
        orders: times.len() as u64,
        rate: times.len() as f64 / total.as_secs_f64().max(f64::EPSILON),
        p50_ms: at(0.5),
        p99_ms: at(0.99),
        verified,
    })
}

/// What [`broadcast_store`] built and measured.
#[derive(Debug, Clone)]
pub struct BroadcastStore {
    /// Customers in the store (every one a recipient).
    pub customers: u64,
    /// How long `start_broadcast` took: the audience picked and every recipient written,
    /// durable, in one transaction.
    pub enqueue: Duration,
    /// Recipients the broadcast got.
    pub recipients: u64,
    /// The broadcast's id.
    pub broadcast: u64,
    /// The rate it was started with, messages a second.
    pub rate: u32,
    /// An API token of the manager who wrote it (secret; never printed).
    pub token: String,
}

/// The broadcast benchmark's store (issue 13): a new store in `dir` with a service
/// organization (the only one, so the appliance serves it), a manager, `customers` Telegram
/// customers, and a broadcast to all of them at `rate` messages a second, started by the
/// manager: [`Crm::start_broadcast`] is timed (the audience picked on one snapshot and every
/// recipient written, durable). The store is closed before returning, for the appliance to
/// open and send from.
///
/// # Errors
/// Any crm-lib error of the set-up calls.
pub fn broadcast_store(dir: &Path, customers: u64, rate: u32) -> BenchResult<BroadcastStore> {
    let crm = Crm::open_with(dir.join("crm.redb"), CrmOptions::default())?;
    let org = crm
        .system()
        .create_organization("service", "Bench Broadcasts", "bench-broadcasts")?
        .id;
    let system = Actor::system(org);
    let manager = crm.create_user(
        &system,
        NewUser {
            username: "caster".into(),
            display_name: "Broadcast bench".into(),
            password: Password::parse(SCALE_PASSWORD)?,
            roles: vec!["manager".into()],
            must_change_password: false,
        },
    )?;
    let token = crm
        .create_api_token(&system, manager.id, "crm-bench broadcasts")?
        .secret
        .expose()
        .to_string();
    create_customers(&crm, org, 0, customers)?;
    let author = Actor::staff(org, manager.id);
    let broadcast = crm.create_broadcast(
        &author,
        crm_lib::broadcasts::BroadcastDraft {
            title: "Bench".into(),
            text: "New packages are here: open /tokens to see them.".into(),
            audience: crm_lib::model::Audience::default(),
            rate_per_second: rate,
        },
    )?;
    let started = Instant::now();
    let running = crm.start_broadcast(&author, broadcast.id)?;
    let enqueue = started.elapsed();
    crm.close();
    Ok(BroadcastStore {
        customers,
        enqueue,
        recipients: running.counts.recipients,
        broadcast: running.id.get(),
        rate,
        token,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_ledger_benchmark_places_every_order_and_verifies() {
        let dir = tempfile::tempdir().unwrap();
        let figures = ledger_figures(dir.path(), 4, 40).unwrap();
        assert_eq!(figures.orders, 40);
        assert!(figures.verified);
        assert!(figures.p99_ms >= figures.p50_ms);
    }

    #[test]
    fn the_broadcast_store_holds_a_started_broadcast_to_every_customer() {
        let dir = tempfile::tempdir().unwrap();
        let store = broadcast_store(dir.path(), 50, 10).unwrap();
        assert_eq!(store.recipients, 50);
        let crm = Crm::open(dir.path().join("crm.redb")).unwrap();
        assert!(crm.system().verify().unwrap().is_clean());
        let active = crm.system().active_broadcasts().unwrap();
        assert_eq!(active.len(), 1);
        assert_eq!(active[0].rate_per_second, 10);
    }

    #[test]
    fn the_mini_app_benchmark_reads_the_first_and_a_deep_feed_page() {
        let dir = tempfile::tempdir().unwrap();
        let figures = mini_app_figures(dir.path(), 1_000, 5).unwrap();
        assert!(figures.first_p99_ms >= figures.first_p50_ms);
        assert!(figures.deep_p99_ms >= figures.deep_p50_ms);
        assert!(figures.validations_per_second > 0.0);
    }

    #[test]
    fn the_assignment_benchmark_spreads_conversations_evenly() {
        let dir = tempfile::tempdir().unwrap();
        let figures = assignment_figures(dir.path(), 40, 3).unwrap();
        assert_eq!(figures.conversations, 40);
        assert!(figures.spread <= 1, "{figures:?}");
        assert!(figures.p99_ms >= figures.p50_ms);
    }
}
