//! Start and shutdown: settle the configuration, open the store, create the organization and
//! administrator on first start, serve until SIGTERM or Ctrl-C, then drain and close.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use anyhow::{Context, bail};
use crm_lib::{Crm, CrmOptions, admin::Setup};
use tokio::net::TcpListener;

use crate::AppState;
use crate::config::{Cli, Command, Config};
use crate::initial_password::INITIAL_PASSWORD_FILE;

/// Runs the command line: the appliance, or `healthcheck`.
///
/// # Errors
/// Bad configuration (naming the flag), an unusable data directory, a port in use, or a data
/// file held by another process.
pub fn main(cli: Cli) -> anyhow::Result<()> {
    let config = Config::from_cli(&cli)?;
    if let Some(Command::Healthcheck) = cli.command {
        return healthcheck(config.listen);
    }
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("CRM_LOG")
                .unwrap_or_else(|_| "info".into()),
        )
        .with_target(false)
        .init();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .max_blocking_threads(crate::state::BLOCKING_THREADS)
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(run(config))
}

/// Opens the store (first start included), binds, serves until a shutdown signal.
///
/// # Errors
/// See [`main`].
pub async fn run(config: Config) -> anyhow::Result<()> {
    let crm = open_store(&config)?;
    let listener = TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("--listen / CRM_LISTEN: cannot listen on {}", config.listen))?;
    let address = listener.local_addr().context("reading the bound address")?;
    let signals = Signals::install();
    let sandbox = config.sandbox();
    let data_dir = config.data_dir.clone();
    let state = AppState::new(crm.clone(), config);
    // Before "listening": whoever waits for that line may use `crm` at once. Removed when
    // dropped, on every way out of this function. After each command the session cache is
    // emptied and the bots follow the organizations (one created, disabled, enabled, or
    // given another token), before the command's exit code goes back.
    #[cfg(unix)]
    let admin = {
        let state = state.clone();
        let after: crate::admin_channel::AfterCommand = std::sync::Arc::new(move || {
            let state = state.clone();
            Box::pin(async move {
                // The command may have disabled a user or an organization: sessions are read
                // again from the store at their next request.
                state.web().sessions.clear();
                if let Err(error) = crate::bot::reconcile(&state).await {
                    tracing::warn!(
                        error = format!("{error:#}"),
                        "starting or stopping bots after an admin command failed"
                    );
                }
            })
        });
        crate::admin_channel::start(crm.clone(), &data_dir, after)?
    };
    // The sandbox key, like the first administrator's password, is printed here once and
    // never logged. Before "listening": whoever waits for that line may use it at once.
    let sandbox_key = if sandbox {
        let key = crate::sandbox::generate_key().context("drawing the sandbox key")?;
        println!("sandbox key: {key}");
        println!(
            "  (programs present it to the sandbox's control API in the X-Sandbox-Key header; a new one at every start)"
        );
        Some(key)
    } else {
        None
    };
    println!("listening on http://{address}/");
    if sandbox {
        println!(
            "sandbox: an organization without a bot token talks to the built-in emulator at http://{address}/sandbox"
        );
    }
    if let Some(key) = sandbox_key {
        state.bots().set_sandbox_key(key);
    }
    let bot = crate::bot::start(&state, address)
        .await
        .context("starting the bot")?;
    // Next to the bot's outbox job: deletes old processed updates and finished outbox items.
    let retention = crate::jobs::retention::start(state.clone());
    // crm-lib's scheduled jobs: a missed or interrupted slot runs at the first round.
    let scheduler = crate::jobs::scheduler::start(state.clone());
    // The operators module's minute sweep (idle and ended sessions, unanswered items).
    let operators = crate::jobs::operators::start(state.clone());
    // Outbound webhooks: due deliveries POSTed to their endpoints, apart from the bot's outbox.
    let webhooks = crate::jobs::webhooks::start(state.clone());
    // OxaPay: invoices created there on commit, pending ones polled.
    let payments = crate::jobs::payments::start(state.clone());
    // Broadcasts: recipients handed to the outbox at each broadcast's rate.
    let broadcasts = crate::jobs::broadcasts::start(state.clone());
    // Leads' AI qualification: due calls made to the AI endpoint, apart from the outbox.
    let ai = crate::jobs::ai::start(state.clone());
    let live = state.live().clone();
    let app = crate::web::app(state);
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async move {
        shutdown_signal(signals).await;
        // Live streams never end on their own: end them, or the drain would wait forever.
        live.close();
        // The bot stops first, while the server still answers (the sandbox emulator is one
        // of its routes): polling ends, the update in hand and the sends in flight finish.
        bot.stop().await;
        retention.stop().await;
        scheduler.stop().await;
        operators.stop().await;
        webhooks.stop().await;
        payments.stop().await;
        broadcasts.stop().await;
        ai.stop().await;
    })
    .await
    .context("serving HTTP")?;
    #[cfg(unix)]
    admin.stop();
    tracing::info!("shutting down: finishing queued writes");
    crm.close();
    Ok(())
}

/// What one 4 KiB page in redb's cache costs in memory: redb keeps each cached page in an
/// `Arc<[u8]>` (4,096 bytes and a 16-byte header), which the allocator (mimalloc, see
/// `main.rs`) serves from its 5,120-byte size class. Measured: a full 256 MiB redb cache
/// raised the appliance's RSS by 330 MiB.
const CACHE_PAGE_MEMORY: usize = 5 * 1024;

/// redb's cache size for a cache that may take `memory` bytes (`--cache-size`, SPEC section
/// 7: memory under load stays under the cache plus 64 MB): the pages that fit, at
/// [`CACHE_PAGE_MEMORY`] each. 256 MiB of memory holds 52,428 pages (204.8 MiB of data).
pub(crate) fn redb_cache_bytes(memory: usize) -> usize {
    memory / CACHE_PAGE_MEMORY * 4096
}

/// Opens `crm.redb`; on first start creates the organization and an administrator whose random
/// password is printed once and written to a 0600 file beside the data file.
fn open_store(config: &Config) -> anyhow::Result<Crm> {
    create_private_dir(&config.data_dir)?;
    let path = config.data_file();
    let options = CrmOptions {
        cache_size: redb_cache_bytes(config.cache_size),
        ..CrmOptions::default()
    };
    let crm = Crm::open_with(&path, options).map_err(|error| {
        if crm_lib::is_locked(&error) {
            anyhow::anyhow!("{} is in use by another process; is another appliance running on this data directory?", path.display())
        } else {
            anyhow::Error::new(error).context(format!("--data-dir / CRM_DATA_DIR: opening {}", path.display()))
        }
    })?;
    // The file holds password hashes and the bot token: readable by its owner only.
    #[cfg(unix)]
    std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o600))
        .with_context(|| format!("restricting permissions of {}", path.display()))?;
    if let Some(version) = crm.migrated_from() {
        tracing::info!(
            from = version,
            to = crm_lib::SCHEMA_VERSION,
            "migrated the data file"
        );
    }
    match crm.system().default_organization() {
        Ok(_) => {}
        Err(error) if error.kind() == crm_lib::ErrorKind::NotFound => {
            first_start(&crm, config)?;
        }
        Err(error) => return Err(error).context("reading the organization"),
    }
    Ok(crm)
}

fn first_start(crm: &Crm, config: &Config) -> anyhow::Result<crm_lib::model::Organization> {
    let password = crm_lib::generate_password()?;
    // The organization and its administrator in one transaction: a crash in between can
    // never leave an organization nobody can log in to (the next start would skip set-up).
    let org = crm
        .system()
        .initialize(Setup {
            template: config.template.clone(),
            name: "My business".into(),
            slug: "main".into(),
            admin_username: "admin".into(),
            admin_password: password.clone(),
        })
        .with_context(|| {
            format!(
                "--template / CRM_TEMPLATE: creating the organization from {:?}",
                config.template
            )
        })?
        .organization;
    let file = config.data_dir.join(INITIAL_PASSWORD_FILE);
    write_private_file(&file, format!("{}\n", password.expose()).as_bytes())?;
    println!("first start: created the organization and the administrator account");
    println!("  username: admin");
    println!("  password: {}", password.expose());
    println!(
        "  (also in {}, readable only by you, until the first login changes it)",
        file.display()
    );
    Ok(org)
}

fn create_private_dir(dir: &std::path::Path) -> anyhow::Result<()> {
    if dir.exists() {
        return Ok(());
    }
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder
        .create(dir)
        .with_context(|| format!("--data-dir / CRM_DATA_DIR: creating {}", dir.display()))
}

fn write_private_file(path: &std::path::Path, bytes: &[u8]) -> anyhow::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(path)
        .with_context(|| format!("writing {}", path.display()))?;
    file.write_all(bytes)
        .with_context(|| format!("writing {}", path.display()))?;
    file.sync_all()
        .with_context(|| format!("writing {}", path.display()))
}

/// SIGTERM and SIGINT handlers, installed before the address is printed: a signal that
/// arrives while the appliance is still starting (the bot, the sandbox) then shuts it down
/// cleanly instead of killing it with the default action.
struct Signals {
    #[cfg(unix)]
    terminate: Option<tokio::signal::unix::Signal>,
    #[cfg(unix)]
    interrupt: Option<tokio::signal::unix::Signal>,
}

impl Signals {
    fn install() -> Self {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Signals {
                terminate: signal(SignalKind::terminate()).ok(),
                interrupt: signal(SignalKind::interrupt()).ok(),
            }
        }
        #[cfg(not(unix))]
        Signals {}
    }
}

async fn shutdown_signal(signals: Signals) {
    #[cfg(unix)]
    {
        let Signals {
            terminate,
            interrupt,
        } = signals;
        let wait = |signal: Option<tokio::signal::unix::Signal>| async move {
            match signal {
                Some(mut signal) => {
                    signal.recv().await;
                }
                None => std::future::pending::<()>().await,
            }
        };
        tokio::select! {
            () = wait(terminate) => {},
            () = wait(interrupt) => {},
        }
    }
    #[cfg(not(unix))]
    {
        let _ = signals;
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// `crm-appliance healthcheck`: a plain HTTP/1.0 request to /healthz on the listen address.
fn healthcheck(listen: SocketAddr) -> anyhow::Result<()> {
    let address = if listen.ip().is_unspecified() {
        SocketAddr::from(([127, 0, 0, 1], listen.port()))
    } else {
        listen
    };
    let mut stream = TcpStream::connect_timeout(&address, Duration::from_secs(3))
        .with_context(|| format!("connecting to {address}"))?;
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .context("setting a timeout")?;
    stream
        .write_all(format!("GET /healthz HTTP/1.0\r\nHost: {address}\r\n\r\n").as_bytes())
        .context("sending the request")?;
    let mut response = String::new();
    stream
        .read_to_string(&mut response)
        .context("reading the answer")?;
    if response.starts_with("HTTP/1.1 200") || response.starts_with("HTTP/1.0 200") {
        println!("ok");
        Ok(())
    } else {
        bail!(
            "unhealthy: {}",
            response.lines().next().unwrap_or("no answer")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cache_memory_holds_five_kib_per_cached_page() {
        let mib = 1024 * 1024;
        assert_eq!(redb_cache_bytes(256 * mib), 52_428 * 4096);
        assert_eq!(redb_cache_bytes(5 * 1024), 4096);
        assert_eq!(redb_cache_bytes(5 * 1024 - 1), 0);
    }
}
