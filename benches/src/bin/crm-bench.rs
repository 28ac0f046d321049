//! `crm-bench`: every figure of SPEC section 7 in one run, printed as a table of figure,
//! target, measured value and pass/fail. `benches/run.sh` builds the release binaries,
//! installs wrk when it is missing and runs this; see that script for the flags.
//!
//! The run, in order:
//! 1. the scale store (1,000,000 orders and 10,000,000 messages; `--quick`: 1/100), built by
//!    [`crm_benches::scale_store`] and cached, is copied into a fresh data directory;
//! 2. the release binary's size, and the time to open the copy in a new process after the page
//!    cache was dropped (when the kernel lets us);
//! 3. `crm-appliance` starts on that directory in sandbox mode: idle RSS after start;
//! 4. wrk at 64 connections, after an unmeasured warm-up of the list page (step 2 dropped the
//!    page cache): the order list page (50 rows, a manager's session), `/healthz`,
//!    and an embedded static body of the list page's size (`/sandbox/bench/static`), in that
//!    order, in the same run: requests/s, p50, p99, and the list/static ratio;
//!    Then the inbox page (`/chat`, issue 12: 50 of the 10,000 conversations with their
//!    previews, over the `conversation_rows` projection) at 16 connections: p99 < 50 ms;
//!    and the analytics dashboard (`/analytics`, issue 13: every figure and four charts over
//!    all the orders, from the per-day aggregates) at 16 connections: p99 < 100 ms;
//! 5. the list page again while 50 clients log in over and over (argon2id);
//! 6. durable order creation over `/api/v1/orders` at 64 connections; then Zadarma's call
//!    notifications (`/webhooks/zadarma`, each a new call: a signature check and a durable
//!    write) at 64 connections; then the call list page (`/calls`, 50 of those calls)
//!    against a same-size static body, as step 4 does for the order list;
//! 7. the bot: updates written by simulated customers through the emulator's control API, until
//!    the appliance reports every one handled (`crm_bot_updates_total`): first as fast as 64
//!    writers go (the rate), then on a fixed schedule of 2,000 updates/s (the p99, from the
//!    appliance's `crm_bot_update_duration_seconds` histogram); then the emulator's record of
//!    the bot's sends is checked against Telegram's limits;
//! 8. `crm backup` through the running appliance while wrk keeps creating orders, given at
//!    most 600 s (a longer one is reported as failed with how far it got), and how much the
//!    live file grew meanwhile;
//! 9. kill -9 of the appliance under create load, then the time to open the file (redb's quick
//!    repair);
//! 10. `crm backup` with the appliance stopped, and its restore into a new directory (restore
//!     runs every check of `crm verify` on the file it builds); then `crm verify` of the killed
//!     file;
//! 11. the operators queue ([`crm_benches::assignment_figures`]): 10,000 new conversations
//!     (`--quick`: 1,000) assigned across 50 online operators, each customer's first message
//!     one durable write; per-assignment p50 and p99 and the spread of the loads;
//! 12. the client Mini App ([`crm_benches::mini_app_figures`]): a project of 1,000 daily
//!     reports, the first and a deep feed page each read with its `initData` validated
//!     (p99 < 50 ms), and `initData` validations per second. The backup and restore targets are for 1,000,000 records; the store holds many
//!     more (37 million at full scale), so those two are judged per 1,000,000 records, with
//!     the whole time beside.
//!
//! The appliance's RSS is sampled every 200 ms from step 3 on; the highest value is the
//! "under load" figure. Secrets (the session cookie, the API token) go to wrk through script
//! files in the run directory (mode 0600), never through the command line or the output; the
//! sandbox key, read from the appliance's start-up output, stays in this process's memory.

use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Write as _};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use crm_benches::{SCALE_MANAGER, SCALE_PASSWORD, SPEC_MESSAGES, SPEC_ORDERS, scale_store};
use crm_lib::{Crm, CrmOptions, model::Actor};

/// The redb cache the appliance runs with, in MiB (its default, SPEC section 7).
const CACHE_MIB: u64 = 256;

/// Concurrent staff sessions of the inbox page's measurement (issue 12).
const INBOX_CONNECTIONS: u32 = 16;

/// HTTP connections of the throughput measurements (SPEC section 7).
const CONNECTIONS: u32 = 64;

/// Concurrent logins of the login measurement (SPEC section 7).
const LOGINS: usize = 50;

/// The longest an online backup may run before the run gives up on it (see step 8). A
/// backup that is still running when the appliance is killed in step 9 would make that step
/// measure redb's full repair (commits skip quick repair's record during a backup), so the run
/// waits this long.
const BACKUP_DEADLINE: Duration = Duration::from_secs(600);

/// Distinct simulated customers writing to the bot.
const BOT_USERS: u64 = 500;

/// The command line.
#[derive(Debug, Clone)]
struct Args {
    quick: bool,
    seconds: u64,
    keep: bool,
    queue_only: bool,
}

fn usage() -> &'static str {
    "usage: crm-bench [--quick] [--seconds N] [--keep] [--queue-only]\n\
     \n\
     --quick      1/100 scale (10,000 orders, 100,000 messages) and 3-second load runs\n\
     --seconds N  length of each load run (default 10, quick 3)\n\
     --keep       keep the run directory (target/bench-data/run) afterwards\n\
     --queue-only only step 11, the operators queue and the token ledger (no wrk or release\n\
                  binaries needed)"
}

fn parse_args() -> Result<Args> {
    let mut quick = false;
    let mut seconds = None;
    let mut keep = false;
    let mut queue_only = false;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--quick" => quick = true,
            "--keep" => keep = true,
            "--queue-only" => queue_only = true,
            "--seconds" => {
                let value = args.next().context("--seconds needs a number")?;
                let value: u64 = value
                    .parse()
                    .with_context(|| format!("--seconds: {value:?} is not a whole number"))?;
                if !(1..=600).contains(&value) {
                    bail!("--seconds must be 1 to 600");
                }
                seconds = Some(value);
            }
            "-h" | "--help" => {
                println!("{}", usage());
                std::process::exit(0);
            }
            other => bail!("unknown argument {other:?}\n{}", usage()),
        }
    }
    Ok(Args {
        quick,
        seconds: seconds.unwrap_or(if quick { 3 } else { 10 }),
        keep,
        queue_only,
    })
}

/// One row of the result table.
#[derive(Debug, Clone)]
struct Row {
    figure: String,
    target: String,
    measured: String,
    pass: Option<bool>,
}

/// The result table, printed as rows arrive and once more at the end.
#[derive(Debug, Default)]
struct Table {
    rows: Vec<Row>,
}

impl Table {
    fn add(&mut self, figure: &str, target: &str, measured: String, pass: Option<bool>) {
        let at = self.rows.len();
        self.add_at(at, figure, target, measured, pass);
    }

    /// Adds a row at `at`: for a figure measured before a number it is judged by was known.
    fn add_at(
        &mut self,
        at: usize,
        figure: &str,
        target: &str,
        measured: String,
        pass: Option<bool>,
    ) {
        let verdict = match pass {
            Some(true) => "pass",
            Some(false) => "FAIL",
            None => "-",
        };
        eprintln!("  {figure}: {measured} (target {target}) {verdict}");
        self.rows.insert(
            at,
            Row {
                figure: figure.to_string(),
                target: target.to_string(),
                measured,
                pass,
            },
        );
    }

    fn markdown(&self) -> String {
        let mut out = String::from("| figure | target | measured | result |\n|---|---|---|---|\n");
        for row in &self.rows {
            let verdict = match row.pass {
                Some(true) => "pass",
                Some(false) => "**FAIL**",
                None => "info",
            };
            let _ = writeln!(
                out,
                "| {} | {} | {} | {verdict} |",
                row.figure, row.target, row.measured
            );
        }
        out
    }

    fn all_pass(&self) -> bool {
        self.rows.iter().all(|row| row.pass != Some(false))
    }
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(args) => args,
        Err(error) => {
            eprintln!("crm-bench: {error:#}");
            return ExitCode::from(2);
        }
    };
    match run(&args) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(error) => {
            eprintln!("crm-bench: {error:#}");
            ExitCode::from(2)
        }
    }
}

fn run(args: &Args) -> Result<bool> {
    if args.queue_only {
        let run_dir = crm_benches::bench_data_dir().join("run");
        std::fs::create_dir_all(&run_dir)?;
        let mut table = Table::default();
        queue_row(args, &run_dir, &mut table)?;
        mini_app_row(args, &run_dir, &mut table)?;
        ledger_row(args, &run_dir, &mut table)?;
        broadcast_row(args, &run_dir, &mut table)?;
        println!("\n{}", table.markdown());
        return Ok(table.all_pass());
    }
    let (orders, messages) = if args.quick {
        (SPEC_ORDERS / 100, SPEC_MESSAGES / 100)
    } else {
        (SPEC_ORDERS, SPEC_MESSAGES)
    };
    let bin_dir = std::env::current_exe()?
        .parent()
        .context("the binary has no directory")?
        .to_path_buf();
    let appliance_bin = bin_dir.join("crm-appliance");
    let crm_bin = bin_dir.join("crm");
    for bin in [&appliance_bin, &crm_bin] {
        if !bin.exists() {
            bail!(
                "{} is missing: build it first (cargo build --release -p crm-appliance -p crm-cli; benches/run.sh does)",
                bin.display()
            );
        }
    }
    which("wrk").context("wrk is not installed (benches/run.sh installs it with apt)")?;

    let started = Instant::now();
    eprintln!("crm-bench: scale store of {orders} orders and {messages} messages");
    let source = scale_store(orders, messages).map_err(|error| anyhow::anyhow!(error))?;
    let run_dir = crm_benches::bench_data_dir().join("run");
    if run_dir.exists() {
        std::fs::remove_dir_all(&run_dir)
            .with_context(|| format!("removing {}", run_dir.display()))?;
    }
    let data_dir = run_dir.join("data");
    std::fs::create_dir_all(&data_dir)?;
    let data_file = data_dir.join("crm.redb");
    let copied = Instant::now();
    std::fs::copy(&source, &data_file).with_context(|| format!("copying {}", source.display()))?;
    // Written back before any measurement: gigabytes of dirty pages flushed during the first
    // load run made its p99 seconds long.
    std::fs::File::open(&data_file)?.sync_all()?;
    let file_bytes = std::fs::metadata(&data_file)?.len();
    eprintln!(
        "crm-bench: copied {:.0} MiB in {:.1} s to {}",
        mib(file_bytes),
        copied.elapsed().as_secs_f64(),
        data_file.display()
    );

    let mut table = Table::default();
    let scale = format!("{orders} orders, {messages} messages");
    table.add(
        "scale: data file",
        "1,000,000 orders + 10,000,000 messages in one file",
        format!("{scale}, {:.0} MiB", mib(file_bytes)),
        (!args.quick).then_some(true),
    );
    let binary = std::fs::metadata(&appliance_bin)?.len();
    table.add(
        "release binary size (crm-appliance)",
        "< 40 MB",
        format!("{:.1} MB", binary as f64 / 1e6),
        Some(binary < 40_000_000),
    );

    // Cold open, in a new process (this one has not touched the file), page cache dropped.
    let dropped = drop_page_cache();
    let opened = Instant::now();
    let crm = Crm::open_with(&data_file, options())?;
    let open_cold = opened.elapsed();
    let token = create_token(&crm)?;
    let zadarma_signature = enable_calls(&crm)?;
    crm.close();
    drop(crm);
    table.add(
        "open the data file, cold",
        "< 1 s",
        format!(
            "{:.0} ms ({})",
            ms(open_cold),
            if dropped {
                "page cache dropped"
            } else {
                "page cache could not be dropped"
            }
        ),
        Some(open_cold < Duration::from_secs(1)),
    );

    let mut app = Appliance::start(&appliance_bin, &data_dir)?;
    std::thread::sleep(Duration::from_secs(2));
    let idle = app.rss_kib()?;
    table.add(
        "memory: idle RSS after start",
        "< 20 MB",
        format!("{:.1} MB", idle as f64 * 1024.0 / 1e6),
        Some(idle * 1024 < 20_000_000),
    );
    let peak = Arc::new(AtomicU64::new(idle));
    let sampling = Arc::new(AtomicBool::new(true));
    let sampler = {
        let (peak, sampling, pid) = (peak.clone(), sampling.clone(), app.pid());
        std::thread::spawn(move || {
            while sampling.load(Ordering::Relaxed) {
                if let Ok(rss) = rss_kib(pid) {
                    peak.fetch_max(rss, Ordering::Relaxed);
                }
                std::thread::sleep(Duration::from_millis(200));
            }
        })
    };

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let base = app.base.clone();
    let sandbox_key = app.sandbox_key.clone();
    let cookie = runtime.block_on(login(&base))?;
    let customer = runtime.block_on(first_customer(&base, &token))?;
    let page = runtime.block_on(page_size(&base, &cookie))?;
    eprintln!("crm-bench: the order list page is {page} bytes");

    let scripts = Scripts::write(&run_dir, &cookie, &token, customer, &zadarma_signature)?;
    let seconds = args.seconds;

    // 4. List page, /healthz and the same-size static body, one after the other, after a
    // warm-up run of the list page that is not measured: step 2 dropped the page cache, and
    // the first seconds would measure the disk.
    wrk(&base, "/orders", &scripts.list, seconds.min(5), CONNECTIONS)?;
    let list = wrk(&base, "/orders", &scripts.list, seconds, CONNECTIONS)?;
    let health = wrk(&base, "/healthz", &scripts.plain, seconds, CONNECTIONS)?;
    let sample = wrk(
        &base,
        &format!("/sandbox/bench/static?bytes={page}"),
        &scripts.plain,
        seconds,
        CONNECTIONS,
    )?;
    for (name, result) in [("list", &list), ("healthz", &health), ("static", &sample)] {
        result.check(name)?;
    }
    table.add(
        "order list page (50 of the orders), 64 connections",
        ">= 10,000 req/s",
        format!(
            "{:.0} req/s, {page} bytes, p50 {:.1} ms",
            list.rate(),
            list.p50_ms()
        ),
        Some(list.rate() >= 10_000.0),
    );
    table.add(
        "order list page p99",
        "< 15 ms",
        format!("{:.1} ms", list.p99_ms()),
        Some(list.p99_ms() < 15.0),
    );
    table.add(
        "same-size embedded static body, 64 connections",
        "(the ceiling)",
        format!(
            "{:.0} req/s, p50 {:.1} ms, p99 {:.1} ms",
            sample.rate(),
            sample.p50_ms(),
            sample.p99_ms()
        ),
        None,
    );
    let ratio = list.rate() / sample.rate().max(1.0);
    table.add(
        "list page / static body rate",
        ">= 0.15",
        format!("{ratio:.2}"),
        Some(ratio >= 0.15),
    );
    table.add(
        "/healthz, 64 connections",
        "(measured too)",
        format!(
            "{:.0} req/s, p50 {:.1} ms, p99 {:.1} ms",
            health.rate(),
            health.p50_ms(),
            health.p99_ms()
        ),
        None,
    );

    // 4b. The inbox (issue 12): `/chat`, 50 of the store's 10,000 conversations (one per
    // customer) with their previews, at 16 concurrent staff sessions (the manager's cookie).
    // The scale store holds 10,000,000 messages (`--quick`: 100,000), more than the
    // 1,000,000 the figure names; the page reads the `conversation_rows` projection, never a
    // message.
    wrk(
        &base,
        "/chat",
        &scripts.list,
        seconds.min(3),
        INBOX_CONNECTIONS,
    )?;
    let inbox = wrk(&base, "/chat", &scripts.list, seconds, INBOX_CONNECTIONS)?;
    inbox.check("inbox")?;
    table.add(
        &format!(
            "inbox page (/chat, 50 of 10,000 conversations, {messages} messages), 16 staff sessions"
        ),
        "p99 < 50 ms",
        format!(
            "{:.0} req/s, p50 {:.1} ms, p99 {:.1} ms",
            inbox.rate(),
            inbox.p50_ms(),
            inbox.p99_ms()
        ),
        Some(inbox.p99_ms() < 50.0),
    );

    // 4c. The analytics dashboard (issue 13): `/analytics`, every figure and four SVG
    // charts over all the store's orders, at 16 concurrent staff sessions (the manager holds
    // view_analytics). It reads the per-day aggregates (`analytics_days`) and the stage
    // counters, never the orders.
    wrk(
        &base,
        "/analytics",
        &scripts.list,
        seconds.min(3),
        INBOX_CONNECTIONS,
    )?;
    let analytics = wrk(
        &base,
        "/analytics",
        &scripts.list,
        seconds,
        INBOX_CONNECTIONS,
    )?;
    analytics.check("analytics")?;
    table.add(
        &format!("analytics dashboard (/analytics over {orders} orders), 16 staff sessions"),
        "p99 < 100 ms",
        format!(
            "{:.0} req/s, p50 {:.1} ms, p99 {:.1} ms",
            analytics.rate(),
            analytics.p50_ms(),
            analytics.p99_ms()
        ),
        Some(analytics.p99_ms() < 100.0),
    );

    app.note_rss("after the list, healthz and static runs");
    // 5. The list page while 50 clients log in without pause.
    let stop = Arc::new(AtomicBool::new(false));
    let logins = Arc::new(AtomicU64::new(0));
    let login_errors = Arc::new(AtomicU64::new(0));
    let mut login_tasks = Vec::new();
    for _ in 0..LOGINS {
        let (base, stop, logins, errors) = (
            base.clone(),
            stop.clone(),
            logins.clone(),
            login_errors.clone(),
        );
        login_tasks.push(runtime.spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                match login(&base).await {
                    Ok(_) => logins.fetch_add(1, Ordering::Relaxed),
                    Err(_) => errors.fetch_add(1, Ordering::Relaxed),
                };
            }
        }));
    }
    std::thread::sleep(Duration::from_millis(500));
    let before_logins = logins.load(Ordering::Relaxed);
    let under_logins = wrk(&base, "/orders", &scripts.list, seconds, CONNECTIONS)?;
    let done_logins = logins.load(Ordering::Relaxed) - before_logins;
    stop.store(true, Ordering::Relaxed);
    for task in login_tasks {
        let _ = runtime.block_on(task);
    }
    under_logins.check("list under logins")?;
    let failed = login_errors.load(Ordering::Relaxed);
    table.add(
        "list page p99 while 50 logins run at once",
        "< 50 ms",
        format!(
            "{:.1} ms ({:.0} req/s; {:.1} logins/s, {failed} failed)",
            under_logins.p99_ms(),
            under_logins.rate(),
            done_logins as f64 / under_logins.seconds()
        ),
        Some(under_logins.p99_ms() < 50.0 && failed == 0),
    );

    app.note_rss("after the logins");
    // 6. Durable creates.
    let creates = wrk(
        &base,
        "/api/v1/orders",
        &scripts.create,
        seconds,
        CONNECTIONS,
    )?;
    creates.check("creates")?;
    table.add(
        "durable order creation over HTTP, 64 connections",
        ">= 10,000 req/s",
        format!(
            "{:.0} req/s, p50 {:.1} ms",
            creates.rate(),
            creates.p50_ms()
        ),
        Some(creates.rate() >= 10_000.0),
    );
    table.add(
        "durable order creation p99",
        "< 10 ms",
        format!("{:.1} ms", creates.p99_ms()),
        Some(creates.p99_ms() < 10.0),
    );

    // 6b. Zadarma's call notifications: every request a new call (its own pbx_call_id), so
    // each is a signature check, a customer lookup by phone and a durable write.
    let zadarma = wrk(
        &base,
        "/webhooks/zadarma",
        &scripts.zadarma,
        seconds,
        CONNECTIONS,
    )?;
    zadarma.check("zadarma webhooks")?;
    table.add(
        "Zadarma call notifications (durable), 64 connections",
        "(measured)",
        format!(
            "{:.0} webhooks/s, p50 {:.1} ms, p99 {:.1} ms",
            zadarma.rate(),
            zadarma.p50_ms(),
            zadarma.p99_ms()
        ),
        None,
    );

    // 6c. The call list (`/calls`, 50 of the calls step 6b stored), against a static body of
    // its own size: SPEC section 7's list-page rate applies to every list page.
    let calls_page = runtime.block_on(list_page_size(&base, &cookie, "/calls"))?;
    let calls = wrk(&base, "/calls", &scripts.list, seconds, CONNECTIONS)?;
    let calls_static = wrk(
        &base,
        &format!("/sandbox/bench/static?bytes={calls_page}"),
        &scripts.plain,
        seconds,
        CONNECTIONS,
    )?;
    calls.check("call list")?;
    calls_static.check("static")?;
    let calls_ratio = calls.rate() / calls_static.rate().max(1.0);
    table.add(
        "call list page (50 of the calls), 64 connections: rate / same-size static body",
        ">= 0.15",
        format!(
            "{calls_ratio:.2} ({:.0} req/s, {calls_page} bytes, p50 {:.1} ms, p99 {:.1} ms; static {:.0} req/s)",
            calls.rate(),
            calls.p50_ms(),
            calls.p99_ms(),
            calls_static.rate()
        ),
        Some(calls_ratio >= 0.15),
    );

    app.note_rss("after the creates");
    // 7. The bot: as fast as it goes, then at the target rate for the latency.
    let updates = if args.quick { 2_000 } else { 20_000 };
    let bot = runtime.block_on(bot_load(&base, &sandbox_key, updates, None))?;
    table.add(
        "bot: updates end to end through the emulator",
        ">= 2,000 updates/s",
        format!(
            "{:.0} updates/s ({updates} updates from {BOT_USERS} chats in {:.2} s; p99 <= {:.0} ms at that load)",
            f64::from(updates) / bot.seconds,
            bot.seconds,
            bot.p99_ms
        ),
        Some(f64::from(updates) / bot.seconds >= 2_000.0),
    );
    let paced_updates = u32::try_from(2_000 * seconds).unwrap_or(u32::MAX);
    let paced = runtime.block_on(bot_load(&base, &sandbox_key, paced_updates, Some(2_000)))?;
    table.add(
        "bot: p99 from inbox commit to reply in the outbox, at 2,000 updates/s",
        "< 50 ms",
        format!(
            "<= {:.0} ms (histogram bucket; {paced_updates} updates handled in {:.2} s)",
            paced.p99_ms, paced.seconds
        ),
        Some(paced.p99_ms < 50.0),
    );
    std::thread::sleep(Duration::from_secs(3));
    let limits = runtime.block_on(send_limits(&base, &sandbox_key))?;
    table.add(
        "bot: outgoing sends within Telegram's limits",
        "<= 30/s overall, 1/s per chat, 20/min per group",
        format!(
            "{} sends seen; busiest second {}, closest two sends to one chat {} ms apart, busiest group minute {}",
            limits.sends,
            limits.busiest_second,
            limits
                .closest_same_chat_ms
                .map_or_else(|| "-".to_string(), |gap| gap.to_string()),
            limits.busiest_group_minute
        ),
        Some(limits.within()),
    );

    app.note_rss("after the bot");
    std::thread::sleep(Duration::from_secs(5));
    app.note_rss("5 s after the bot");
    // 8. Online backup while writes continue, given at most BACKUP_DEADLINE: a backup holds a
    // read snapshot, so pages the writes free cannot be reused until it ends and the live file
    // grows meanwhile. Its row is added once the restore has counted the records.
    let backup_file = run_dir.join("crm.backup");
    let file_before = std::fs::metadata(&data_file)?.len();
    let load = wrk_background(&base, "/api/v1/orders", &scripts.create, 8)?;
    std::thread::sleep(Duration::from_millis(500));
    let backed = Instant::now();
    let backup = Command::new(&crm_bin)
        .arg("--data-dir")
        .arg(&data_dir)
        .arg("backup")
        .arg(&backup_file)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("running crm backup")?;
    let mut backup = Some(backup);
    let finished = loop {
        let Some(child) = backup.as_mut() else {
            bail!("the backup process is gone");
        };
        if let Some(status) = child.try_wait()? {
            break Some(status);
        }
        if backed.elapsed() > BACKUP_DEADLINE {
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let backup_time = backed.elapsed();
    let writes = load.finish()?;
    let file_after = std::fs::metadata(&data_file)?.len();
    let online_row = table.rows.len();
    let growth = format!(
        "the live file went from {:.0} to {:.0} MiB; {:.0} creates/s went on",
        mib(file_before),
        mib(file_after),
        writes.rate()
    );
    let online = match finished {
        Some(status) => {
            let output = backup
                .take()
                .context("the backup process is gone")?
                .wait_with_output()?;
            if !status.success() {
                bail!(
                    "crm backup failed ({status}): {}",
                    String::from_utf8_lossy(&output.stderr).trim()
                );
            }
            let stdout = String::from_utf8_lossy(&output.stdout);
            Some((
                backup_time,
                format!("{}; {growth}", stdout.lines().last().unwrap_or("").trim()),
            ))
        }
        None => {
            let copied: u64 = std::fs::read_dir(&run_dir)?
                .filter_map(Result::ok)
                .filter(|entry| entry.file_name().to_string_lossy().contains("backup"))
                .filter_map(|entry| entry.metadata().ok())
                .map(|meta| meta.len())
                .sum();
            table.add(
                "online backup while writes continue",
                "< 10 s per 1,000,000 records",
                format!(
                    "not done after {:.0} s: {:.0} MiB written ({:.0} MiB/s); {growth}",
                    backup_time.as_secs_f64(),
                    mib(copied),
                    mib(copied) / backup_time.as_secs_f64(),
                ),
                Some(false),
            );
            None
        }
    };
    app.note_rss("after the backup");

    // 9. kill -9 under create load (this also ends a backup that ran out of time), then open.
    let load = wrk_background(&base, "/api/v1/orders", &scripts.create, CONNECTIONS)?;
    std::thread::sleep(Duration::from_secs(2));
    sampling.store(false, Ordering::Relaxed);
    let _ = sampler.join();
    app.kill9();
    let _ = load.finish();
    if let Some(mut child) = backup.take() {
        let _ = child.kill();
        let _ = child.wait();
    }
    for entry in std::fs::read_dir(&run_dir)?.filter_map(Result::ok) {
        if entry.file_name().to_string_lossy().contains("backup") {
            std::fs::remove_file(entry.path()).ok();
        }
    }
    let peak_kib = peak.load(Ordering::Relaxed);
    let limit_kib = (CACHE_MIB + 64) * 1024;
    table.add(
        "memory: highest RSS under load",
        &format!("< redb cache ({CACHE_MIB} MiB) + 64 MiB"),
        format!("{:.0} MiB", peak_kib as f64 / 1024.0),
        Some(peak_kib < limit_kib),
    );
    let reopened = Instant::now();
    let crm = Crm::open_with(&data_file, options())?;
    let open_after_kill = reopened.elapsed();
    crm.close();
    drop(crm);
    table.add(
        "open the data file after kill -9 under writes",
        "< 1 s",
        format!("{:.0} ms (quick repair)", ms(open_after_kill)),
        Some(open_after_kill < Duration::from_secs(1)),
    );

    // 10. Restore (which runs every check of `crm verify` on the new file), from a backup taken
    // with the appliance stopped. The targets are for 1,000,000 records; this store holds
    // many more, and both jobs are linear scans, so each is judged by its time per
    // 1,000,000 records and its whole time is shown beside it.
    let backed = Instant::now();
    let output = run_crm(&crm_bin, &data_dir, &["backup", path_str(&backup_file)?])?;
    table.add(
        "backup with the appliance stopped",
        "(for comparison)",
        format!(
            "{:.1} s ({})",
            backed.elapsed().as_secs_f64(),
            output.lines().last().unwrap_or("").trim()
        ),
        None,
    );
    let restore_dir = run_dir.join("restored");
    let restored = Instant::now();
    let restore_output = run_crm(
        &crm_bin,
        &restore_dir,
        &["restore", path_str(&backup_file)?],
    )?;
    let restore_time = restored.elapsed();
    let records = restore_output
        .split_whitespace()
        .zip(restore_output.split_whitespace().skip(1))
        .find(|(_, word)| word.trim_end_matches(',') == "records")
        .and_then(|(count, _)| count.parse::<u64>().ok())
        .context("the restore did not say how many records it restored")?;
    let per_million = |time: Duration| time.as_secs_f64() * 1e6 / records as f64;
    table.add(
        "restore + verify (restore runs every check of crm verify)",
        "< 30 s per 1,000,000 records",
        format!(
            "{:.1} s per 1,000,000 records ({:.1} s for {records} records: {})",
            per_million(restore_time),
            restore_time.as_secs_f64(),
            restore_output.lines().last().unwrap_or("").trim()
        ),
        Some(per_million(restore_time) < 30.0),
    );
    if let Some((time, said)) = online {
        table.add_at(
            online_row,
            "online backup while writes continue",
            "< 10 s per 1,000,000 records",
            format!(
                "{:.2} s per 1,000,000 records ({:.1} s for {records} records: {said})",
                per_million(time),
                time.as_secs_f64()
            ),
            Some(per_million(time) < 10.0),
        );
    }
    std::fs::remove_dir_all(&restore_dir).ok();
    std::fs::remove_file(&backup_file).ok();

    let verified = Instant::now();
    let verify_output = run_crm(&crm_bin, &data_dir, &["verify"])?;
    table.add(
        "crm verify after kill -9",
        "passes",
        format!(
            "{} ({:.1} s)",
            verify_output.lines().last().unwrap_or("").trim(),
            verified.elapsed().as_secs_f64()
        ),
        Some(true),
    );

    // 11. The operators queue: new conversations assigned one after the other.
    queue_row(args, &run_dir, &mut table)?;
    mini_app_row(args, &run_dir, &mut table)?;
    ledger_row(args, &run_dir, &mut table)?;
    broadcast_row(args, &run_dir, &mut table)?;

    let mut report = format!(
        "crm-bench {} on {} ({} cores), {}; total {:.0} s\n\n",
        if args.quick {
            "--quick"
        } else {
            "(full scale)"
        },
        machine(),
        std::thread::available_parallelism().map_or(0, usize::from),
        scale,
        started.elapsed().as_secs_f64()
    );
    report.push_str(&table.markdown());
    println!("\n{report}");
    std::fs::write(run_dir.join("results.md"), &report)?;
    if !args.keep {
        std::fs::remove_dir_all(&data_dir).ok();
    }
    Ok(table.all_pass())
}

/// Step 11: new conversations assigned across 50 online operators, one durable write each
/// (see [`crm_benches::assignment_figures`]); adds its row to `table`.
fn queue_row(args: &Args, run_dir: &Path, table: &mut Table) -> Result<()> {
    let (conversations, operators) = if args.quick {
        (1_000, 50)
    } else {
        (10_000, 50)
    };
    eprintln!("crm-bench: assigning {conversations} conversations across {operators} operators");
    let assignment_dir = run_dir.join("assignment");
    if assignment_dir.exists() {
        std::fs::remove_dir_all(&assignment_dir)?;
    }
    std::fs::create_dir_all(&assignment_dir)?;
    let figures = crm_benches::assignment_figures(&assignment_dir, conversations, operators)
        .map_err(|error| anyhow::anyhow!(error))?;
    table.add(
        "queue: assign new conversations across 50 operators (each a durable write)",
        "10,000 conversations, per-assignment p99 < 10 ms",
        format!(
            "{} conversations, p50 {:.2} ms, p99 {:.2} ms, max {:.1} ms, {:.0}/s, loads within {}",
            figures.conversations,
            figures.p50_ms,
            figures.p99_ms,
            figures.max_ms,
            figures.rate,
            figures.spread
        ),
        Some(figures.p99_ms < 10.0 && figures.spread <= 1),
    );
    std::fs::remove_dir_all(&assignment_dir).ok();
    Ok(())
}

/// Step 12: the client Mini App (issue 14): a project with 1,000 daily reports, the first
/// and a deep feed page each read with its `initData` validated (see
/// [`crm_benches::mini_app_figures`]), and `initData` validations per second; adds two rows.
fn mini_app_row(args: &Args, run_dir: &Path, table: &mut Table) -> Result<()> {
    let (reports, reads) = if args.quick {
        (1_000, 200)
    } else {
        (1_000, 2_000)
    };
    eprintln!("crm-bench: the Mini App's feed over a project of {reports} reports");
    let mini_app_dir = run_dir.join("mini-app");
    if mini_app_dir.exists() {
        std::fs::remove_dir_all(&mini_app_dir)?;
    }
    std::fs::create_dir_all(&mini_app_dir)?;
    let figures = crm_benches::mini_app_figures(&mini_app_dir, reports, reads)
        .map_err(|error| anyhow::anyhow!(error))?;
    table.add(
        "Mini App feed: a project of 1,000 reports, initData validated + the page read",
        "p99 < 50 ms, first and deep page",
        format!(
            "{} reports, {} reads each: first page p50 {:.2} ms, p99 {:.2} ms; deep page p50 {:.2} ms, p99 {:.2} ms",
            figures.reports,
            figures.reads,
            figures.first_p50_ms,
            figures.first_p99_ms,
            figures.deep_p50_ms,
            figures.deep_p99_ms
        ),
        Some(figures.first_p99_ms < 50.0 && figures.deep_p99_ms < 50.0),
    );
    table.add(
        "Mini App initData validations (HMAC-SHA256, one thread)",
        "reported",
        format!("{:.0}/s", figures.validations_per_second),
        None,
    );
    std::fs::remove_dir_all(&mini_app_dir).ok();
    Ok(())
}

/// The token ledger under concurrency (issue 13): 16 writers place orders of a package, each
/// a durable spend with its balance-after, through the group commit together.
fn ledger_row(args: &Args, run_dir: &Path, table: &mut Table) -> Result<()> {
    let (writers, orders) = if args.quick {
        (16, 4_000)
    } else {
        (16, 20_000)
    };
    eprintln!("crm-bench: {writers} writers place {orders} orders of packages (ledger spends)");
    let ledger_dir = run_dir.join("ledger");
    if ledger_dir.exists() {
        std::fs::remove_dir_all(&ledger_dir)?;
    }
    std::fs::create_dir_all(&ledger_dir)?;
    let figures = crm_benches::ledger_figures(&ledger_dir, writers, orders)
        .map_err(|error| anyhow::anyhow!(error))?;
    table.add(
        "token ledger: orders of packages (each a durable spend), 16 concurrent writers",
        "measured (issue 13); balances verify",
        format!(
            "{} spends, {:.0}/s, p50 {:.2} ms, p99 {:.2} ms, verify {}",
            figures.orders,
            figures.rate,
            figures.p50_ms,
            figures.p99_ms,
            if figures.verified { "clean" } else { "FAILED" }
        ),
        Some(figures.verified),
    );
    std::fs::remove_dir_all(&ledger_dir).ok();
    Ok(())
}

/// Broadcasts (issue 13): 100,000 customers, a broadcast to all of them started (the audience
/// picked and every recipient written, timed), then the appliance (sandbox mode) sends it and
/// the rate is read off the API's report over a window after a warm-up.
fn broadcast_row(args: &Args, run_dir: &Path, table: &mut Table) -> Result<()> {
    const CUSTOMERS: u64 = 100_000;
    const RATE: u32 = 10;
    let window = if args.quick { 10 } else { 30 };
    eprintln!("crm-bench: a broadcast to {CUSTOMERS} customers at {RATE}/s");
    let dir = run_dir.join("broadcast");
    if dir.exists() {
        std::fs::remove_dir_all(&dir)?;
    }
    std::fs::create_dir_all(&dir)?;
    let store = crm_benches::broadcast_store(&dir, CUSTOMERS, RATE)
        .map_err(|error| anyhow::anyhow!(error))?;
    let bin = std::env::current_exe()?
        .parent()
        .context("the binary has no directory")?
        .join("crm-appliance");
    let app = Appliance::start(&bin, &dir)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let sent = |app: &Appliance| -> Result<u64> {
        runtime.block_on(async {
            let answer: serde_json::Value = client()?
                .get(format!(
                    "{}/api/v1/broadcasts/{}",
                    app.base, store.broadcast
                ))
                .bearer_auth(&store.token)
                .send()
                .await?
                .error_for_status()?
                .json()
                .await?;
            answer["counts"]["sent"]
                .as_u64()
                .context("the broadcast's JSON has no counts.sent")
        })
    };
    std::thread::sleep(Duration::from_secs(3));
    let (first, from) = (sent(&app)?, Instant::now());
    std::thread::sleep(Duration::from_secs(window));
    let (last, to) = (sent(&app)?, Instant::now());
    drop(app);
    let rate = (last - first) as f64 / to.duration_since(from).as_secs_f64();
    let enqueue = store.enqueue.as_secs_f64();
    table.add(
        "broadcast: 100,000 recipients enqueued, then sent at the configured rate (10/s)",
        "enqueued < 5 s; sent at the rate",
        format!(
            "{} recipients enqueued in {enqueue:.2} s; {rate:.1} sends/s over {window} s ({} sent)",
            store.recipients,
            last - first
        ),
        Some(
            store.recipients == CUSTOMERS
                && enqueue < 5.0
                && (rate - f64::from(store.rate)).abs() <= 0.1 * f64::from(store.rate),
        ),
    );
    std::fs::remove_dir_all(&dir).ok();
    Ok(())
}

/// The store options of the appliance: its default cache, quick repair on.
fn options() -> CrmOptions {
    CrmOptions {
        cache_size: usize::try_from(CACHE_MIB * 1024 * 1024).unwrap_or(usize::MAX),
        ..CrmOptions::default()
    }
}

/// An API token for the manager of the scale store, created in the store before the
/// appliance starts.
fn create_token(crm: &Crm) -> Result<String> {
    let org = crm.system().default_organization()?;
    let manager = crm.user_by_name(&Actor::system(org.id), SCALE_MANAGER)?;
    let created = crm.create_api_token(&Actor::system(org.id), manager.id, "crm-bench")?;
    Ok(created.secret.expose().to_string())
}

/// The caller, the called number and the start of every benchmark call notification.
const BENCH_CALLER: &str = "79160000001";
const BENCH_DID: &str = "74950000000";
const BENCH_CALL_START: &str = "2026-12-05 10:00:00";
/// [`BENCH_CALL_START`] form-encoded.
const BENCH_CALL_START_FORM: &str = "2026-12-05+10%3A00%3A00";

/// Switches calls (the tickets module) on in the scale store with a random Zadarma API
/// secret, and returns the signature of the benchmark's notifications (the secret itself
/// stays in this function).
fn enable_calls(crm: &Crm) -> Result<String> {
    let org = crm.system().default_organization()?;
    let system = Actor::system(org.id);
    crm.update_settings(
        &system,
        crm_lib::org::SettingsUpdate {
            modules: vec![(crm_lib::model::Module::Tickets, true)],
            ..crm_lib::org::SettingsUpdate::default()
        },
    )?;
    let secret = crm_lib::random_string(32, crm_lib::ALPHANUMERIC)?;
    crm.set_zadarma_secret(&system, &secret)?;
    Ok(crm_lib::calls::zadarma_signature(
        &secret,
        &format!("{BENCH_CALLER}{BENCH_DID}{BENCH_CALL_START}"),
    ))
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

fn path_str(path: &Path) -> Result<&str> {
    path.to_str()
        .with_context(|| format!("{} is not UTF-8", path.display()))
}

fn which(program: &str) -> Result<PathBuf> {
    let paths = std::env::var_os("PATH").context("PATH is not set")?;
    std::env::split_paths(&paths)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
        .with_context(|| format!("{program} not found on PATH"))
}

/// Drops the kernel's page cache (root only); false when the kernel refuses.
fn drop_page_cache() -> bool {
    let _ = Command::new("sync").status();
    std::fs::write("/proc/sys/vm/drop_caches", "1").is_ok()
}

/// The CPU model, for the report.
fn machine() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|text| {
            text.lines()
                .find(|line| line.starts_with("model name"))
                .and_then(|line| line.split(':').nth(1))
                .map(|name| name.trim().to_string())
        })
        .unwrap_or_else(|| "an unknown CPU".to_string())
}

fn rss_kib(pid: u32) -> Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|value| value.parse().ok())
        .context("no VmRSS in /proc/PID/status")
}

/// Runs `crm --data-dir DIR ARGS...`; its stdout, or an error with its stderr.
fn run_crm(bin: &Path, data_dir: &Path, args: &[&str]) -> Result<String> {
    let output = Command::new(bin)
        .arg("--data-dir")
        .arg(data_dir)
        .args(args)
        .output()
        .with_context(|| format!("running crm {}", args.join(" ")))?;
    if !output.status.success() {
        bail!(
            "crm {} failed ({}): {}",
            args.join(" "),
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// The appliance under test.
struct Appliance {
    child: Option<Child>,
    base: String,
    data_dir: PathBuf,
    /// The key of its sandbox's control API, read from what it printed at start.
    sandbox_key: String,
}

impl Appliance {
    /// Starts `crm-appliance` on a free loopback port in sandbox mode, waits for `/healthz` and
    /// reads the sandbox key it printed.
    fn start(bin: &Path, data_dir: &Path) -> Result<Appliance> {
        let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let listen = format!("127.0.0.1:{port}");
        let mut child = Command::new(bin)
            .arg("--data-dir")
            .arg(data_dir)
            .arg("--listen")
            .arg(&listen)
            .arg("--cache-size")
            .arg(CACHE_MIB.to_string())
            .env("RUST_LOG", "warn")
            .env_remove("CRM_TELEGRAM_TOKEN")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .with_context(|| format!("starting {}", bin.display()))?;
        // Keep its warnings visible without interleaving them into the table.
        if let Some(stderr) = child.stderr.take() {
            std::thread::spawn(move || {
                for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                    eprintln!("  appliance: {line}");
                }
            });
        }
        // The sandbox key is printed once on stdout at start; the rest of stdout (its log) is
        // read and dropped so that the pipe never fills.
        let (key_sender, key_receiver) = std::sync::mpsc::channel();
        if let Some(stdout) = child.stdout.take() {
            std::thread::spawn(move || {
                for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                    if let Some(key) = line.trim().strip_prefix("sandbox key: ") {
                        let _ = key_sender.send(key.trim().to_string());
                    }
                }
            });
        }
        let mut app = Appliance {
            child: Some(child),
            base: format!("http://{listen}"),
            data_dir: data_dir.to_path_buf(),
            sandbox_key: String::new(),
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(mut stream) = std::net::TcpStream::connect(&listen) {
                let _ = stream.write_all(
                    b"GET /healthz HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n",
                );
                let mut answer = String::new();
                let _ = std::io::Read::read_to_string(&mut stream, &mut answer);
                if answer.starts_with("HTTP/1.1 200") {
                    app.sandbox_key = key_receiver
                        .recv_timeout(Duration::from_secs(10))
                        .context("the appliance printed no sandbox key")?;
                    return Ok(app);
                }
            }
            if Instant::now() > deadline {
                bail!("the appliance did not answer /healthz within 60 s");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, Child::id)
    }

    fn rss_kib(&self) -> Result<u64> {
        rss_kib(self.pid())
    }

    /// Prints the appliance's RSS now, to see which phase grew it.
    fn note_rss(&self, phase: &str) {
        if let Ok(rss) = self.rss_kib() {
            let file =
                std::fs::metadata(self.data_dir.join("crm.redb")).map_or(0, |meta| meta.len());
            eprintln!(
                "crm-bench: {phase}: appliance RSS {:.0} MiB, data file {:.0} MiB",
                rss as f64 / 1024.0,
                mib(file)
            );
        }
    }

    fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Appliance {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// The wrk scripts of a run (mode 0600: two of them hold secrets).
struct Scripts {
    list: PathBuf,
    plain: PathBuf,
    create: PathBuf,
    zadarma: PathBuf,
}

/// Prints wrk's summary as one JSON line, read back by [`wrk`].
const REPORT_LUA: &str = r#"
done = function(summary, latency, requests)
  io.write(string.format(
    '{"requests":%d,"duration_us":%d,"bytes":%d,"p50_us":%d,"p99_us":%d,"max_us":%d,' ..
    '"status_errors":%d,"connect_errors":%d,"read_errors":%d,"write_errors":%d,"timeouts":%d}\n',
    summary.requests, summary.duration, summary.bytes,
    latency:percentile(50), latency:percentile(99), latency.max,
    summary.errors.status, summary.errors.connect, summary.errors.read,
    summary.errors.write, summary.errors.timeout))
end
"#;

impl Scripts {
    fn write(
        dir: &Path,
        cookie: &str,
        token: &str,
        customer: u64,
        zadarma_signature: &str,
    ) -> Result<Scripts> {
        let list = dir.join("list.lua");
        let zadarma = dir.join("zadarma.lua");
        // Zadarma signs caller_id, called_did and call_start only, so one signature fits
        // every pbx_call_id: each request is a new call from the same number.
        write_private(
            &zadarma,
            &format!(
                r#"
local counter = 0
local thread_tag = ""
local call_start = "{BENCH_CALL_START_FORM}"
setup = function(thread)
  thread:set("tag", tostring(math.random(1, 1000000000)))
end
init = function(args)
  thread_tag = tag or "0"
end
request = function()
  counter = counter + 1
  local body = string.format("event=NOTIFY_START&pbx_call_id=bench-%s-%d&caller_id={BENCH_CALLER}&called_did={BENCH_DID}&call_start=%s", thread_tag, counter, call_start)
  return wrk.format("POST", "/webhooks/zadarma", {{["Content-Type"] = "application/x-www-form-urlencoded", ["Signature"] = {signature}}}, body)
end
{REPORT_LUA}"#,
                signature = lua_string(zadarma_signature),
            ),
        )?;
        let plain = dir.join("plain.lua");
        let create = dir.join("create.lua");
        let cookie = lua_string(cookie);
        let bearer = lua_string(&format!("Bearer {token}"));
        write_private(
            &list,
            &format!("wrk.headers[\"Cookie\"] = {cookie}\n{REPORT_LUA}"),
        )?;
        write_private(&plain, REPORT_LUA)?;
        write_private(
            &create,
            &format!(
                r#"
local counter = 0
local thread_tag = ""
setup = function(thread)
  thread:set("tag", tostring(math.random(1, 1000000000)))
end
init = function(args)
  thread_tag = tag or "0"
end
request = function()
  counter = counter + 1
  local body = string.format('{{"customer":{customer},"title":"Bench order %s-%d","description":"Created by crm-bench over HTTP, one durable commit per request."}}', thread_tag, counter)
  return wrk.format("POST", "/api/v1/orders", {{["Content-Type"] = "application/json", ["Authorization"] = {bearer}}}, body)
end
{REPORT_LUA}"#
            ),
        )?;
        Ok(Scripts {
            list,
            plain,
            create,
            zadarma,
        })
    }
}

/// A Lua string literal of `text` (which never holds quotes or backslashes here).
fn lua_string(text: &str) -> String {
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}

fn write_private(path: &Path, text: &str) -> Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(text.as_bytes())?;
    Ok(())
}

/// wrk's summary of one run.
#[derive(Debug, Clone, Default)]
struct WrkResult {
    requests: u64,
    duration_us: u64,
    p50_us: u64,
    p99_us: u64,
    status_errors: u64,
    socket_errors: u64,
}

impl WrkResult {
    fn parse(stdout: &str) -> Result<WrkResult> {
        let line = stdout
            .lines()
            .find(|line| line.starts_with("{\"requests\""))
            .with_context(|| format!("wrk printed no summary:\n{stdout}"))?;
        let value: serde_json::Value = serde_json::from_str(line)?;
        let field = |name: &str| {
            value
                .get(name)
                .and_then(serde_json::Value::as_u64)
                .unwrap_or(0)
        };
        Ok(WrkResult {
            requests: field("requests"),
            duration_us: field("duration_us"),
            p50_us: field("p50_us"),
            p99_us: field("p99_us"),
            status_errors: field("status_errors"),
            socket_errors: field("connect_errors")
                + field("read_errors")
                + field("write_errors")
                + field("timeouts"),
        })
    }

    fn seconds(&self) -> f64 {
        (self.duration_us as f64 / 1e6).max(f64::EPSILON)
    }

    fn rate(&self) -> f64 {
        self.requests as f64 / self.seconds()
    }

    fn p50_ms(&self) -> f64 {
        self.p50_us as f64 / 1000.0
    }

    fn p99_ms(&self) -> f64 {
        self.p99_us as f64 / 1000.0
    }

    /// Fails when any answer was not 2xx/3xx or a socket failed: a rate of errors is no
    /// measurement.
    fn check(&self, name: &str) -> Result<()> {
        if self.requests == 0 || self.status_errors > 0 || self.socket_errors > 0 {
            bail!(
                "{name}: {} requests, {} error statuses, {} socket errors",
                self.requests,
                self.status_errors,
                self.socket_errors
            );
        }
        Ok(())
    }
}

fn wrk_command(base: &str, path: &str, script: &Path, connections: u32) -> Command {
    let mut command = Command::new("wrk");
    command
        .arg("-t2")
        .arg(format!("-c{connections}"))
        .arg("--timeout")
        .arg("10s")
        .arg("-s")
        .arg(script)
        .arg(format!("{base}{path}"));
    command
}

/// Runs wrk for `seconds` and returns its summary.
fn wrk(base: &str, path: &str, script: &Path, seconds: u64, connections: u32) -> Result<WrkResult> {
    eprintln!("crm-bench: wrk {path} for {seconds} s at {connections} connections");
    let output = wrk_command(base, path, script, connections)
        .arg(format!("-d{seconds}s"))
        .output()
        .context("running wrk")?;
    if !output.status.success() {
        bail!(
            "wrk failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    WrkResult::parse(&String::from_utf8_lossy(&output.stdout))
}

/// wrk running in the background until [`Background::finish`].
struct Background {
    child: Child,
}

fn wrk_background(base: &str, path: &str, script: &Path, connections: u32) -> Result<Background> {
    let child = wrk_command(base, path, script, connections)
        .arg("-d600s")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .context("running wrk")?;
    Ok(Background { child })
}

impl Background {
    /// Stops wrk (SIGINT, so it prints its summary) and returns the summary.
    fn finish(self) -> Result<WrkResult> {
        let _ = Command::new("kill")
            .arg("-INT")
            .arg(self.child.id().to_string())
            .status();
        let output = self.child.wait_with_output()?;
        WrkResult::parse(&String::from_utf8_lossy(&output.stdout))
    }
}

/// An HTTP client that keeps no cookies and follows no redirects (the drivers handle both).
fn client() -> Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()?)
}

/// [`client`] presenting the sandbox key to the emulator's control API on every request.
fn sandbox_client(key: &str) -> Result<reqwest::Client> {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        "x-sandbox-key",
        reqwest::header::HeaderValue::from_str(key).context("the sandbox key")?,
    );
    Ok(reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .default_headers(headers)
        .build()?)
}

/// `name=value` of every `Set-Cookie` of a response, joined for a `Cookie` header.
fn cookies_of(response: &reqwest::Response) -> String {
    response
        .headers()
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .filter_map(|value| value.split(';').next())
        .filter(|pair| !pair.ends_with('='))
        .collect::<Vec<_>>()
        .join("; ")
}

/// Logs in as the scale store's manager like a browser does (the login page for its form
/// token, then the form) and returns the session cookie as a `Cookie` header value.
async fn login(base: &str) -> Result<String> {
    let client = client()?;
    let page = client.get(format!("{base}/login")).send().await?;
    let pre_session = cookies_of(&page);
    let html = page.text().await?;
    let csrf = html
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .context("the login page has no csrf field")?
        .to_string();
    let answer = client
        .post(format!("{base}/login"))
        .header(reqwest::header::COOKIE, pre_session)
        .form(&[
            ("username", SCALE_MANAGER),
            ("password", SCALE_PASSWORD),
            ("csrf", csrf.as_str()),
            ("next", "/orders"),
        ])
        .send()
        .await?;
    if !answer.status().is_redirection() {
        bail!("login answered {}", answer.status());
    }
    let session = cookies_of(&answer);
    if session.is_empty() {
        bail!("login set no session cookie");
    }
    Ok(session)
}

/// The id of a customer of the scale store (the creates are for them).
async fn first_customer(base: &str, token: &str) -> Result<u64> {
    let answer: serde_json::Value = client()?
        .get(format!("{base}/api/v1/customers"))
        .bearer_auth(token)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let items = answer
        .get("items")
        .and_then(serde_json::Value::as_array)
        .context("GET /api/v1/customers has no items")?;
    items
        .iter()
        .find_map(|item| item.get("id").and_then(serde_json::Value::as_u64))
        .context("the scale store has no customers")
}

/// The size of the order list page the manager sees, checking it lists 50 orders.
async fn page_size(base: &str, cookie: &str) -> Result<usize> {
    list_page_size(base, cookie, "/orders").await
}

/// The size in bytes of the list page at `path`, checked to hold at least 50 rows.
async fn list_page_size(base: &str, cookie: &str, path: &str) -> Result<usize> {
    let answer = client()?
        .get(format!("{base}{path}"))
        .header(reqwest::header::COOKIE, cookie)
        .send()
        .await?;
    if !answer.status().is_success() {
        bail!("GET {path} answered {}", answer.status());
    }
    let body = answer.text().await?;
    let rows = body.matches("<tr").count();
    if rows < 50 {
        bail!("the list page {path} has {rows} table rows, fewer than 50");
    }
    Ok(body.len())
}

/// The outcome of the bot load.
struct BotLoad {
    seconds: f64,
    p99_ms: f64,
}

/// The counter and histogram buckets of the bot in `/metrics`.
async fn bot_metrics(client: &reqwest::Client, base: &str) -> Result<(u64, Vec<(f64, u64)>)> {
    let text = client
        .get(format!("{base}/metrics"))
        .send()
        .await?
        .text()
        .await?;
    let mut total = None;
    let mut buckets = Vec::new();
    for line in text.lines() {
        if let Some(value) = line.strip_prefix("crm_bot_updates_total ") {
            total = value.trim().parse().ok();
        } else if let Some(rest) = line.strip_prefix("crm_bot_update_duration_seconds_bucket{le=\"")
            && let Some((bound, count)) = rest.split_once("\"} ")
            && let (Ok(bound), Ok(count)) = (bound.parse::<f64>(), count.trim().parse::<u64>())
        {
            buckets.push((bound, count));
        }
    }
    Ok((
        total.context("/metrics has no crm_bot_updates_total")?,
        buckets,
    ))
}

/// Simulated customers write `updates` messages (`/start`, which the bot answers) through the
/// emulator's control API (presenting the sandbox key `key`); returns when the appliance has handled them all. With `pace` set
/// (updates per second) the messages leave on a fixed schedule whatever the answers (an open
/// loop, so a slow bot shows as latency); without it 64 writers send as fast as the emulator
/// takes them (the throughput).
async fn bot_load(base: &str, key: &str, updates: u32, pace: Option<u32>) -> Result<BotLoad> {
    let client = sandbox_client(key)?;
    let (before, buckets_before) = bot_metrics(&client, base).await?;
    eprintln!(
        "crm-bench: the bot: {updates} updates from {BOT_USERS} chats, {}",
        pace.map_or_else(
            || "as fast as possible".to_string(),
            |rate| format!("{rate}/s")
        )
    );
    let started = Instant::now();
    let next = Arc::new(AtomicU64::new(0));
    let mut senders = tokio::task::JoinSet::new();
    let send = |client: reqwest::Client, base: String, index: u64| async move {
        let user = 7_000_000 + index % BOT_USERS;
        let answer = client
            .post(format!("{base}/sandbox/chats/{user}/send"))
            .json(&serde_json::json!({
                "text": "/start",
                "from": {"first_name": "Bench", "language_code": "en"},
            }))
            .send()
            .await?;
        if !answer.status().is_success() {
            bail!("the emulator refused a message: {}", answer.status());
        }
        Ok::<(), anyhow::Error>(())
    };
    match pace {
        Some(rate) => {
            let interval = Duration::from_secs_f64(1.0 / f64::from(rate.max(1)));
            for index in 0..u64::from(updates) {
                let due = started + interval.mul_f64(index as f64);
                tokio::time::sleep_until(due.into()).await;
                senders.spawn(send(client.clone(), base.to_string(), index));
            }
        }
        None => {
            for _ in 0..CONNECTIONS {
                let (client, base, next) = (client.clone(), base.to_string(), next.clone());
                senders.spawn(async move {
                    loop {
                        let index = next.fetch_add(1, Ordering::Relaxed);
                        if index >= u64::from(updates) {
                            return Ok(());
                        }
                        send(client.clone(), base.clone(), index).await?;
                    }
                });
            }
        }
    }
    while let Some(result) = senders.join_next().await {
        result??;
    }
    let deadline = Instant::now() + Duration::from_secs(300);
    let (after, buckets_after) = loop {
        let (total, buckets) = bot_metrics(&client, base).await?;
        if total >= before + u64::from(updates) {
            break (total, buckets);
        }
        if Instant::now() > deadline {
            bail!(
                "the bot handled {} of {updates} updates in 300 s",
                total - before
            );
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    let seconds = started.elapsed().as_secs_f64();
    let count = after - before;
    let wanted = (count as f64 * 0.99).ceil() as u64;
    let p99 = buckets_after
        .iter()
        .map(|(bound, cumulative)| {
            let earlier = buckets_before
                .iter()
                .find(|(other, _)| other == bound)
                .map_or(0, |(_, count)| *count);
            (*bound, cumulative - earlier)
        })
        .find(|(_, cumulative)| *cumulative >= wanted)
        .map_or(f64::INFINITY, |(bound, _)| bound * 1000.0);
    Ok(BotLoad {
        seconds,
        p99_ms: p99,
    })
}

/// The bot's sends as the emulator recorded them, checked against Telegram's limits.
struct SendLimits {
    sends: usize,
    busiest_second: usize,
    closest_same_chat_ms: Option<i64>,
    busiest_group_minute: usize,
}

impl SendLimits {
    fn within(&self) -> bool {
        self.busiest_second <= 30
            && self.closest_same_chat_ms.is_none_or(|gap| gap >= 1000)
            && self.busiest_group_minute <= 20
    }
}

async fn send_limits(base: &str, key: &str) -> Result<SendLimits> {
    let stats: serde_json::Value = sandbox_client(key)?
        .get(format!("{base}/sandbox/stats"))
        .send()
        .await?
        .json()
        .await?;
    let mut sends: Vec<(i64, i64)> = stats
        .get("sends")
        .and_then(serde_json::Value::as_array)
        .context("/sandbox/stats has no sends")?
        .iter()
        .filter_map(|pair| Some((pair.get(0)?.as_i64()?, pair.get(1)?.as_i64()?)))
        .collect();
    sends.sort_by_key(|(_, at)| *at);
    let most_within = |times: &[i64], window: i64| -> usize {
        let mut best = 0;
        let mut start = 0;
        for end in 0..times.len() {
            while times[end] - times[start] >= window {
                start += 1;
            }
            best = best.max(end - start + 1);
        }
        best
    };
    let all: Vec<i64> = sends.iter().map(|(_, at)| *at).collect();
    let mut by_chat: std::collections::HashMap<i64, Vec<i64>> = std::collections::HashMap::new();
    for (chat, at) in &sends {
        by_chat.entry(*chat).or_default().push(*at);
    }
    let closest = by_chat
        .values()
        .flat_map(|times| times.windows(2).map(|pair| pair[1] - pair[0]))
        .min();
    let busiest_group_minute = by_chat
        .iter()
        .filter(|(chat, _)| **chat < 0)
        .map(|(_, times)| most_within(times, 60_000))
        .max()
        .unwrap_or(0);
    Ok(SendLimits {
        sends: sends.len(),
        busiest_second: most_within(&all, 1000),
        closest_same_chat_ms: closest,
        busiest_group_minute,
    })
}
