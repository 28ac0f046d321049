//! Command-line flags, environment variables and the optional TOML file (SPEC section 6).
//!
//! Precedence: a flag beats its environment variable, which beats the `--config` file, which
//! beats the default.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::{Parser, Subcommand};
use serde::Deserialize;

/// Telegram's own Bot API server.
pub const TELEGRAM_API_URL: &str = "https://api.telegram.org";

/// `crm-appliance`: the Telegram CRM appliance (staff web + bot). With no Telegram token it
/// starts in sandbox mode and serves its own Bot API emulator at /sandbox.
///
/// No `Debug`: it holds the bot token (formatted, [`Config`] hides it).
#[derive(Clone, Parser)]
#[command(version, about, long_about = None)]
pub struct Cli {
    /// Directory holding crm.redb (created on first start).
    #[arg(long, env = "CRM_DATA_DIR", global = true)]
    pub data_dir: Option<PathBuf>,
    /// HTTP listen address.
    #[arg(long, env = "CRM_LISTEN", global = true)]
    pub listen: Option<SocketAddr>,
    /// Telegram bot token from BotFather: the first organization's bot (before the token its
    /// settings store); unset means sandbox mode (an organization without a token gets an
    /// emulated bot).
    #[arg(long, env = "CRM_TELEGRAM_TOKEN", hide_env_values = true)]
    pub telegram_token: Option<String>,
    /// Base URL of the Bot API server the bot talks to.
    #[arg(long, env = "CRM_TELEGRAM_API_URL")]
    pub telegram_api_url: Option<String>,
    /// Public HTTPS URL of this appliance; set: webhook mode, unset: long polling.
    #[arg(long, env = "CRM_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Optional TOML file with the same keys (data_dir, listen, telegram_token, ...).
    #[arg(long, env = "CRM_CONFIG")]
    pub config: Option<PathBuf>,
    /// Memory for the data file's page cache, in MiB (default 256). Each 4 KiB page takes 5 KiB
    /// of memory in the cache, so 256 MiB caches 205 MiB of the file.
    #[arg(long, env = "CRM_CACHE_SIZE")]
    pub cache_size: Option<usize>,
    /// Idle session timeout in minutes (sessions also end 7 days after login).
    #[arg(long, env = "CRM_SESSION_IDLE_MINUTES")]
    pub session_idle_minutes: Option<u64>,
    /// Pipeline template of the organization created on first start.
    #[arg(long, env = "CRM_TEMPLATE")]
    pub template: Option<String>,
    /// Serve /metrics to every client, not only to loopback ones (`--metrics-public=false`
    /// turns it off again).
    #[arg(
        long,
        env = "CRM_METRICS_PUBLIC",
        num_args = 0..=1,
        default_missing_value = "true",
        value_parser = clap::builder::BoolishValueParser::new()
    )]
    pub metrics_public: Option<bool>,
    /// Seconds between two polls of OxaPay for pending invoices (default 60), the fallback
    /// for callbacks that never came.
    #[arg(long, env = "CRM_PAYMENTS_POLL_SECONDS")]
    pub payments_poll_seconds: Option<u64>,
    /// How old a client Mini App's Telegram `initData` may be, in seconds (its `auth_date`;
    /// default 86400, 24 hours): an older one is refused and the client opens the Mini App
    /// from the bot again.
    #[arg(long, env = "CRM_MINI_APP_MAX_AGE")]
    pub mini_app_max_age: Option<u64>,
    /// Subcommand; none runs the appliance.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Subcommands.
#[derive(Debug, Clone, Subcommand)]
pub enum Command {
    /// Exit 0 when the appliance at --listen answers /healthz, 1 otherwise (for service
    /// managers and container health checks).
    Healthcheck,
}

/// The TOML file's keys; all optional. No `Debug`: it holds the bot token.
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    data_dir: Option<PathBuf>,
    listen: Option<SocketAddr>,
    telegram_token: Option<String>,
    telegram_api_url: Option<String>,
    public_url: Option<String>,
    cache_size: Option<usize>,
    session_idle_minutes: Option<u64>,
    template: Option<String>,
    metrics_public: Option<bool>,
    payments_poll_seconds: Option<u64>,
    mini_app_max_age: Option<u64>,
}

/// The settled configuration.
#[derive(Clone)]
pub struct Config {
    /// Directory of crm.redb.
    pub data_dir: PathBuf,
    /// HTTP address.
    pub listen: SocketAddr,
    /// The first organization's bot token (never printed); `None` is sandbox mode.
    pub telegram_token: Option<String>,
    /// Bot API base URL.
    pub telegram_api_url: String,
    /// Public URL for webhook mode.
    pub public_url: Option<url::Url>,
    /// Memory the page cache may take, in bytes (redb gets the pages that fit, see
    /// `startup::redb_cache_bytes`).
    pub cache_size: usize,
    /// Idle session timeout in minutes.
    pub session_idle_minutes: u64,
    /// Template of the first organization.
    pub template: String,
    /// `/metrics` answers every client, not only loopback ones.
    pub metrics_public: bool,
    /// Seconds between two polls of OxaPay's payment information (at least 1).
    pub payments_poll_seconds: u64,
    /// The oldest a Mini App's `initData` may be, in seconds (at least 1).
    pub mini_app_max_age: u64,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("data_dir", &self.data_dir)
            .field("listen", &self.listen)
            .field(
                "telegram_token",
                &self.telegram_token.as_ref().map(|_| "***"),
            )
            .field("telegram_api_url", &self.telegram_api_url)
            .field("public_url", &self.public_url)
            .field("cache_size", &self.cache_size)
            .field("session_idle_minutes", &self.session_idle_minutes)
            .field("template", &self.template)
            .field("metrics_public", &self.metrics_public)
            .field("payments_poll_seconds", &self.payments_poll_seconds)
            .field("mini_app_max_age", &self.mini_app_max_age)
            .finish()
    }
}

impl Config {
    /// Settles flags, environment and file.
    ///
    /// # Errors
    /// An unreadable or malformed `--config` file, a malformed `--public-url` or
    /// `--telegram-api-url`; the message names the flag.
    pub fn from_cli(cli: &Cli) -> anyhow::Result<Config> {
        let file = match &cli.config {
            Some(path) => read_file(path)?,
            None => FileConfig::default(),
        };
        let public_url = match cli.public_url.clone().or(file.public_url) {
            Some(text) => Some(url::Url::parse(&text).with_context(|| {
                format!("--public-url / CRM_PUBLIC_URL: {text:?} is not a URL")
            })?),
            None => None,
        };
        let telegram_api_url = cli
            .telegram_api_url
            .clone()
            .or(file.telegram_api_url)
            .unwrap_or_else(|| TELEGRAM_API_URL.to_string());
        url::Url::parse(&telegram_api_url).with_context(|| {
            format!("--telegram-api-url / CRM_TELEGRAM_API_URL: {telegram_api_url:?} is not a URL")
        })?;
        let telegram_token = cli
            .telegram_token
            .clone()
            .or(file.telegram_token)
            .filter(|token| !token.trim().is_empty());
        if let Some(token) = &telegram_token {
            crm_lib::org::parse_bot_token(token)
                .context("--telegram-token / CRM_TELEGRAM_TOKEN")?;
        }
        Ok(Config {
            data_dir: cli
                .data_dir
                .clone()
                .or(file.data_dir)
                .unwrap_or_else(|| PathBuf::from("./crm-data")),
            listen: cli
                .listen
                .or(file.listen)
                .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 8080))),
            telegram_token,
            telegram_api_url,
            public_url,
            cache_size: cli.cache_size.or(file.cache_size).unwrap_or(256) * 1024 * 1024,
            session_idle_minutes: cli
                .session_idle_minutes
                .or(file.session_idle_minutes)
                .unwrap_or(12 * 60),
            template: cli
                .template
                .clone()
                .or(file.template)
                .unwrap_or_else(|| "studio".to_string()),
            metrics_public: cli.metrics_public.or(file.metrics_public).unwrap_or(false),
            payments_poll_seconds: cli
                .payments_poll_seconds
                .or(file.payments_poll_seconds)
                .unwrap_or(60)
                .max(1),
            mini_app_max_age: cli
                .mini_app_max_age
                .or(file.mini_app_max_age)
                .unwrap_or(crm_lib::mini_app::DEFAULT_MAX_AGE_SECONDS)
                .max(1),
        })
    }

    /// The data file.
    pub fn data_file(&self) -> PathBuf {
        self.data_dir.join("crm.redb")
    }

    /// Sandbox mode: no `--telegram-token`. The sandbox key is drawn and printed at start,
    /// and the first organization's bot is an emulated one unless its settings hold a token.
    pub fn sandbox(&self) -> bool {
        self.telegram_token.is_none()
    }
}

fn read_file(path: &Path) -> anyhow::Result<FileConfig> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("--config: reading {}", path.display()))?;
    toml::from_str(&text)
        .with_context(|| format!("--config: {} is not a valid configuration", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(args: &[&str], file: Option<&str>) -> Config {
        let dir = tempfile::tempdir().unwrap();
        let mut argv = vec!["crm-appliance".to_string()];
        if let Some(text) = file {
            let path = dir.path().join("crm.toml");
            std::fs::write(&path, text).unwrap();
            argv.push("--config".into());
            argv.push(path.display().to_string());
        }
        argv.extend(args.iter().map(|arg| arg.to_string()));
        Config::from_cli(&Cli::try_parse_from(argv).unwrap()).unwrap()
    }

    /// A derived `Debug` would print the token; this fails then.
    #[test]
    fn the_debug_output_of_the_configuration_hides_the_bot_token() {
        let token = "123456:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw";
        let shown = format!("{:?}", config(&["--telegram-token", token], None));
        assert!(shown.contains("telegram_token: Some(\"***\")"), "{shown}");
        assert!(!shown.contains("AAHdqTcv"), "{shown}");
    }

    #[test]
    fn metrics_are_private_unless_a_flag_or_the_file_makes_them_public() {
        assert!(!config(&[], None).metrics_public);
        assert!(config(&["--metrics-public"], None).metrics_public);
        assert!(config(&["--metrics-public=true"], None).metrics_public);
        assert!(!config(&["--metrics-public=false"], None).metrics_public);
        let public = Some("metrics_public = true");
        assert!(config(&[], public).metrics_public);
        assert!(
            !config(&["--metrics-public=no"], public).metrics_public,
            "the flag beats the file"
        );
        assert!(
            Cli::try_parse_from(["crm-appliance", "--metrics-public=maybe"]).is_err(),
            "not a yes or no"
        );
    }
}
