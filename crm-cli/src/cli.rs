//! The command line: clap definitions of every command and option.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// The administrator's tool for a Telegram CRM data file.
#[derive(Debug, Parser)]
#[command(
    name = "crm",
    version,
    about = "Set up, administer, import, export, back up and verify a Telegram CRM data file",
    long_about = "Set up, administer, import, export, back up and verify a Telegram CRM data file.\n\n\
        The data file is DIR/crm.redb. Commands act as the system on one organization: the one \
        --org names, else the first one. While the appliance runs it holds the file; commands \
        then go to it over its admin channel (DIR/admin.sock) and print the same output.",
    after_long_help = crate::exit::HELP
)]
pub(crate) struct Cli {
    /// The directory that holds crm.redb.
    #[arg(
        long,
        global = true,
        env = "CRM_DATA_DIR",
        default_value = "./crm-data"
    )]
    pub(crate) data_dir: PathBuf,

    /// The organization a command acts on, by its slug (`crm org list`); the first one when
    /// omitted.
    #[arg(long, global = true, env = "CRM_ORG", value_name = "SLUG")]
    pub(crate) org: Option<String>,

    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Create the data file, its organization and an administrator `admin` (password shown once).
    Init(InitArgs),
    /// Organizations: one appliance serves several, each with its owner, staff, settings and
    /// bot (create, list, rename, disable, enable, set its bot token).
    #[command(subcommand)]
    Org(OrgCommand),
    /// Staff users.
    #[command(subcommand)]
    User(UserCommand),
    /// Roles.
    #[command(subcommand)]
    Role(RoleCommand),
    /// API tokens for the JSON API (`Authorization: Bearer crm_...`).
    #[command(subcommand)]
    Token(TokenCommand),
    /// Scheduled jobs: audit cleanup, the daily report (list, run now, settings).
    #[command(subcommand)]
    Jobs(JobsCommand),
    /// Departments of the operators module (when the organization runs it).
    #[command(subcommand)]
    Department(DepartmentCommand),
    /// Import customers or orders from a CSV file (all rows or none).
    Import {
        /// What the file holds.
        what: ImportKind,
        /// The CSV file (UTF-8, header row; see fixtures/csv/README.md).
        file: PathBuf,
    },
    /// Export customers, orders or the audit log.
    Export {
        /// What to export.
        what: ExportKind,
        /// The file format.
        #[arg(long, value_enum, default_value_t = Format::Csv)]
        format: Format,
        /// Write to this file instead of stdout.
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
    /// Write a consistent copy of the data file to OUT (never overwrites).
    Backup {
        /// The backup file to create.
        out: PathBuf,
    },
    /// Replace the data file with a verified backup.
    Restore {
        /// The backup file.
        input: PathBuf,
        /// Replace an existing data file.
        #[arg(long)]
        force: bool,
    },
    /// Check every record and index; exits with 7 and lists the problems when any are found.
    Verify,
    /// The analytics dashboard's figures: customers, orders, staff, revenue (total, this
    /// month, of completed orders), completion rate, average order value, subscribers, on
    /// the organization's local days; `--csv CHART` writes one chart's series instead.
    Analytics {
        /// Print JSON.
        #[arg(long)]
        json: bool,
        /// Write this chart's series as CSV to stdout: revenue, status, customers or packages
        /// (the tokens module).
        #[arg(long, value_name = "CHART", conflicts_with = "json")]
        csv: Option<String>,
    },
    /// Counts per table and organization, file size and schema version.
    Stats {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Load its template's demo data into the default organization (staff passwords are shown
    /// once): the studio's 200 orders, the service's 80, the renovation firm's 60 leads, the
    /// helpdesk's 100 tickets, with 60 customers, staff, bids and chats.
    Demo,
    /// Telephony (Zadarma PBX notifications; the tickets module): the API secret, the
    /// extension -> staff user map, the calls received.
    #[command(subcommand)]
    Calls(CallsCommand),
    /// Customers: merge two into one.
    #[command(subcommand)]
    Customers(CustomersCommand),
    /// Canned responses: the prepared replies staff insert with `/` in the inbox.
    #[command(subcommand)]
    Canned(CannedCommand),
    /// The token service (the tokens module): packages, a customer's balance and ledger,
    /// adjustments with a reason, bonuses and Premium days.
    #[command(subcommand)]
    Tokens(TokensCommand),
    /// Outbound webhooks: the endpoints events are POSTed to, signed as Standard Webhooks
    /// defines.
    #[command(subcommand)]
    Webhook(WebhookCommand),
    /// Broadcasts: one text to every customer an audience picks, sent at a set rate, with a
    /// delivery report.
    #[command(subcommand)]
    Broadcast(BroadcastCommand),
    /// Projects (the projects module): list, show, create (by hand or from a won lead),
    /// stages and progress, daily reports, money entries, change requests.
    #[command(subcommand)]
    Project(ProjectCommand),
    /// Leads (the projects module): a lead's qualification, its slots, the AI's summary and
    /// call log.
    #[command(subcommand)]
    Lead(LeadCommand),
    /// AI qualification of leads (the projects module): the OpenAI-compatible endpoint, the
    /// model, the API key (never printed) and the timeout.
    #[command(subcommand)]
    Ai(AiCommand),
}

#[derive(Debug, Subcommand)]
pub(crate) enum ProjectCommand {
    /// List the projects, newest first: id, state, progress, budget, spent, client, title.
    List {
        /// Only this state: active, completed or archived.
        #[arg(long)]
        state: Option<String>,
        /// Words of the title, address or client's name.
        #[arg(long)]
        search: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// A project: its client, money, stages, change requests and latest timeline.
    Show {
        /// Its id (from `crm project list`).
        id: u64,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Make a project by hand, or from a won lead (`--lead`); prints its id.
    Create {
        /// The client (a customer's id); the lead's customer with `--lead`.
        #[arg(long)]
        client: Option<u64>,
        /// A won lead (an order's id) to make it from: its customer, title and budget.
        #[arg(long)]
        lead: Option<u64>,
        /// The project's name (1-200 characters; the lead's title by default).
        #[arg(long)]
        title: Option<String>,
        /// Where the work is.
        #[arg(long, default_value = "")]
        address: String,
        /// The agreed budget (`1500.00`; the lead's by default, else 0).
        #[arg(long)]
        budget: Option<String>,
        /// A stage, in order; repeat for several.
        #[arg(long = "stage", value_name = "NAME")]
        stages: Vec<String>,
    },
    /// Add a stage at the end of a project.
    Stage {
        /// The project's id.
        id: u64,
        /// The stage's name (1-100 characters).
        name: String,
    },
    /// Set a stage's progress, 0-100.
    Progress {
        /// The project's id.
        id: u64,
        /// The stage's id (from `crm project show`).
        stage: u64,
        /// Percent, 0-100.
        percent: u8,
    },
    /// Add a daily report: text, photos or videos, a voice note.
    Report {
        /// The project's id.
        id: u64,
        /// The stage reported on (its id).
        #[arg(long)]
        stage: u64,
        /// What was done.
        #[arg(long, default_value = "")]
        text: String,
        /// A photo or video file; repeat for several (at most 30).
        #[arg(long = "file", value_name = "PATH")]
        files: Vec<PathBuf>,
        /// A voice note (an audio file).
        #[arg(long, value_name = "PATH")]
        voice: Option<PathBuf>,
        /// The staff user who reports (login name; a manager or a worker of the project);
        /// the system when absent.
        #[arg(long = "as", value_name = "USER")]
        author: Option<String>,
    },
    /// Add an expense or income entry.
    Entry {
        /// The project's id.
        id: u64,
        /// expense or income.
        #[arg(long)]
        kind: String,
        /// How much (`1500.00`).
        #[arg(long)]
        amount: String,
        /// materials, labor, subcontract, equipment, delivery, fees, client_payment or other.
        #[arg(long)]
        category: String,
        /// Words beside the category.
        #[arg(long, default_value = "")]
        note: String,
        /// The stage it is booked on (its id).
        #[arg(long)]
        stage: Option<u64>,
        /// The day the money moved, `YYYY-MM-DD` (today when absent).
        #[arg(long)]
        date: Option<String>,
        /// A photo of the receipt or a PDF.
        #[arg(long, value_name = "PATH")]
        proof: Option<PathBuf>,
        /// The staff user who enters it (login name); the system when absent.
        #[arg(long = "as", value_name = "USER")]
        author: Option<String>,
    },
    /// Write a change request for the client (`--amount -500` takes off the budget), or
    /// decide a pending one on the client's behalf (`--decide approve|reject`).
    ChangeRequest {
        /// The project's id.
        id: u64,
        /// What changes (1-200 characters), for a new request.
        #[arg(long)]
        title: Option<String>,
        /// What it adds to the budget (`1500.00`, `-500`), for a new request.
        #[arg(long, allow_hyphen_values = true)]
        amount: Option<String>,
        /// Details, for a new request.
        #[arg(long, default_value = "")]
        description: String,
        /// The pending request to decide (its id), with `--decide`.
        #[arg(long)]
        request: Option<u64>,
        /// approve or reject.
        #[arg(long)]
        decide: Option<String>,
    },
    /// A project's documents (contracts, estimates, plans): add, list, remove.
    #[command(subcommand)]
    Document(DocumentCommand),
}

#[derive(Debug, Subcommand)]
pub(crate) enum DocumentCommand {
    /// Attach a file (PDF, image or office document) to a project; prints its id.
    Add {
        /// The project's id.
        id: u64,
        /// What it is (1-200 characters).
        #[arg(long)]
        title: String,
        /// The file.
        #[arg(long, value_name = "PATH")]
        file: PathBuf,
    },
    /// List a project's documents, newest first: id, kind, size, file name, title.
    List {
        /// The project's id.
        id: u64,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Remove a document from a project.
    Remove {
        /// The project's id.
        id: u64,
        /// The document's id (from `crm project document list`).
        document: u64,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum LeadCommand {
    /// Show a lead's qualification: its slots, source, summary, hot flag, who qualifies it,
    /// the AI's state and its calls (latency, tokens, outcome).
    Show {
        /// The lead's order id.
        id: u64,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum AiCommand {
    /// Show the AI settings: whether it runs, the base URL, the model, the timeout and the
    /// key's last 4 characters (never the key).
    Show {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Change the AI settings; what is not given stays as it is.
    Set {
        /// The OpenAI-compatible API's base URL (`https://openrouter.ai/api/v1`, the default,
        /// when empty).
        #[arg(long)]
        base_url: Option<String>,
        /// The model, as the provider names it (`anthropic/claude-3.5-sonnet`).
        #[arg(long)]
        model: Option<String>,
        /// A file whose first line is the API key (kept off the command line and out of the
        /// shell's history); an empty line removes the key.
        #[arg(long, value_name = "FILE")]
        key_file: Option<std::path::PathBuf>,
        /// The timeout of one call, 1-120 seconds.
        #[arg(long)]
        timeout: Option<u32>,
        /// Switch AI qualification on (`yes`) or off (`no`).
        #[arg(long, value_enum)]
        enabled: Option<YesNo>,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum OrgCommand {
    /// Create an organization from a template with its owner, an administrator whose password
    /// is shown once (the first login asks for a new one). A running appliance starts its bot
    /// at once: an emulated one until a token is set.
    Create {
        /// The pipeline template.
        #[arg(long, value_enum)]
        template: Template,
        /// Its name (1-100 characters).
        #[arg(long)]
        name: String,
        /// Its slug (a-z, 0-9, '-'; 2-40 characters): what staff type on the login page and
        /// `--org` takes. Derived from the name when omitted.
        #[arg(long)]
        slug: Option<String>,
        /// The owner's login name.
        #[arg(long, default_value = "admin")]
        owner: String,
    },
    /// List the organizations: slug, name, template, owner, staff, modules, bot, state.
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Rename an organization (its slug stays).
    Rename {
        /// Its slug.
        slug: String,
        /// The new name (1-100 characters).
        name: String,
    },
    /// Disable an organization: its bot stops, its staff's sessions end and nobody can log
    /// in, its API tokens are refused, its outbox, jobs and broadcasts wait; its data stays.
    Disable {
        /// Its slug.
        slug: String,
    },
    /// Enable a disabled organization again: its bot, logins, tokens and queues resume.
    Enable {
        /// Its slug.
        slug: String,
    },
    /// Set an organization's bot token (from BotFather: 123456:ABC...), read from a file or
    /// from the first line of stdin, never from the command line; the token is never
    /// printed. A running appliance restarts that bot with it at once.
    SetToken {
        /// Its slug.
        slug: String,
        /// The file whose first line is the token (otherwise stdin's first line).
        #[arg(long, value_name = "PATH")]
        token_file: Option<PathBuf>,
        /// Remove the token instead: the organization's bot becomes an emulated one.
        #[arg(long, conflicts_with = "token_file")]
        remove: bool,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum YesNo {
    Yes,
    No,
}

impl YesNo {
    pub(crate) fn wanted(self) -> bool {
        self == YesNo::Yes
    }
}

#[derive(Debug, Subcommand)]
pub(crate) enum BroadcastCommand {
    /// List the broadcasts, newest first: id, state, recipients, sent, failed, blocked, title.
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// A broadcast: its state, audience, rate, figures and text.
    Show {
        /// Its id (from `crm broadcast list`).
        id: u64,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Write a broadcast as a draft (start it with `crm broadcast start`); prints its id and
    /// how many customers its audience picks now.
    Create {
        /// A name for staff (1-100 characters).
        #[arg(long)]
        title: String,
        /// The file holding the message (UTF-8, 1-3,900 characters, sent as plain text).
        #[arg(long, value_name = "PATH")]
        text_file: PathBuf,
        /// Only customers speaking this language (`en`, `ru`); repeat for several.
        #[arg(long = "language", value_name = "CODE")]
        languages: Vec<String>,
        /// Only Premium subscribers (yes) or only customers without Premium (no); the tokens
        /// module.
        #[arg(long, value_enum)]
        subscribers: Option<YesNo>,
        /// Only customers with at least this token balance (the tokens module).
        #[arg(long, value_name = "N")]
        balance_min: Option<u64>,
        /// Only customers with at most this token balance (the tokens module).
        #[arg(long, value_name = "N")]
        balance_max: Option<u64>,
        /// Only customers active within the last N days (1-3650).
        #[arg(long, value_name = "N")]
        active_days: Option<u32>,
        /// Only customers who placed an order (yes) or never did (no).
        #[arg(long, value_enum)]
        has_ordered: Option<YesNo>,
        /// Messages a second, 1-30.
        #[arg(long, value_name = "N", default_value_t = 10)]
        rate: u32,
        /// The staff user who writes it (login name; needs the broadcast permission).
        #[arg(long = "as", value_name = "USER", default_value = "admin")]
        author: String,
    },
    /// Start sending a draft or scheduled broadcast now.
    Start {
        /// Its id.
        id: u64,
    },
    /// Pause a sending broadcast.
    Pause {
        /// Its id.
        id: u64,
    },
    /// Resume a paused broadcast where it stopped.
    Resume {
        /// Its id.
        id: u64,
    },
    /// Cancel a broadcast: a scheduled one becomes a draft again; a started one skips the
    /// recipients not sent to yet.
    Cancel {
        /// Its id.
        id: u64,
    },
    /// The delivery report: every recipient with their state, in customer order.
    Report {
        /// Its id.
        id: u64,
        /// Only recipients in this state (pending, queued, sent, failed, blocked, skipped).
        #[arg(long)]
        state: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum TokensCommand {
    /// List the packages: key, units, regular and subscriber price, discount.
    Packages {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// A customer's balance, Premium and latest ledger entries.
    Balance {
        /// The customer (their id).
        customer: u64,
        /// How many entries to show (1-500).
        #[arg(long, default_value_t = 20)]
        limit: usize,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Adjust a customer's balance by AMOUNT tokens (negative takes away) with a reason.
    Adjust {
        /// The customer (their id).
        customer: u64,
        /// Tokens, signed (`--` before a negative one: `crm tokens adjust 7 -- -50 ...`).
        #[arg(allow_hyphen_values = true)]
        amount: i64,
        /// Why (required, 1-500 characters).
        #[arg(long)]
        reason: String,
    },
    /// Give a customer bonus tokens.
    Bonus {
        /// The customer (their id).
        customer: u64,
        /// Tokens, positive.
        amount: u64,
        /// A note (required).
        #[arg(long)]
        reason: String,
    },
    /// Grant a customer DAYS of Premium without a charge.
    Premium {
        /// The customer (their id).
        customer: u64,
        /// 1-366 days.
        days: u32,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum WebhookCommand {
    /// List the endpoints: id, URL, events, enabled (the secrets are on the settings page and
    /// with --json).
    List {
        /// Print JSON (with each endpoint's signing secret).
        #[arg(long)]
        json: bool,
    },
    /// Add an endpoint; prints its id and its signing secret once.
    Add {
        /// An absolute http:// or https:// URL.
        url: String,
        /// An event type to send (order.created, order.stage_changed, order.deleted,
        /// message.received, customer.created, payment.succeeded); repeat for each.
        #[arg(long = "event", value_name = "TYPE", required = true)]
        events: Vec<String>,
        /// What it is for.
        #[arg(long, default_value = "")]
        description: String,
    },
    /// Remove an endpoint and its delivery log.
    Remove {
        /// Its id (from `crm webhook list`).
        id: u64,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum CannedCommand {
    /// List the canned responses: code, title, languages, files.
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Add a canned response, or replace the texts and title of the one with this code (its
    /// files stay; files are added on the settings page). Variables in braces
    /// (`{customer.first_name}`, `{order.number}`, `{operator.name}`, ...) are checked: an
    /// unknown one is refused.
    Set {
        /// The code staff type after `/` (1-32 of a-z, 0-9, _ and -).
        code: String,
        /// The title shown in the list (1-100 characters).
        #[arg(long)]
        title: String,
        /// A text in one language, as LANG=TEXT (`en=Hello {customer.first_name}`); repeat
        /// for each language.
        #[arg(long = "text", value_name = "LANG=TEXT", required = true)]
        texts: Vec<String>,
    },
    /// Remove a canned response.
    Remove {
        /// Its code.
        code: String,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum CustomersCommand {
    /// Merge customer ABSORB into customer KEEP: ABSORB's orders, messages, calls and
    /// conversations move to KEEP, KEEP's empty fields are filled from ABSORB, and ABSORB is
    /// deleted (refused when both have different Telegram accounts).
    Merge {
        /// The customer that stays (its id).
        keep: u64,
        /// The customer merged into it and deleted (its id).
        absorb: u64,
        /// Only show what would move; change nothing.
        #[arg(long)]
        dry_run: bool,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum CallsCommand {
    /// Show the settings: whether a secret is set (never the secret) and the extensions.
    Show,
    /// Set Zadarma's API secret, read from the first line of stdin (an empty line removes it).
    Secret,
    /// Map a PBX extension to a staff user: the operator of its calls.
    Map {
        /// The extension (`100`).
        extension: String,
        /// The user's login name.
        user: String,
    },
    /// Remove an extension's mapping.
    Unmap {
        /// The extension.
        extension: String,
    },
    /// The latest calls, newest first.
    List {
        /// How many (1-500).
        #[arg(long, default_value_t = 50)]
        limit: usize,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Args)]
pub(crate) struct InitArgs {
    /// The pipeline template.
    #[arg(long, value_enum, default_value_t = Template::Studio)]
    pub(crate) template: Template,
    /// The organization's name.
    #[arg(long, default_value = "My Organization")]
    pub(crate) org_name: String,
    /// The organization's slug (a-z, 0-9, '-'); derived from the name when omitted.
    #[arg(long)]
    pub(crate) slug: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Template {
    Studio,
    Service,
    Renovation,
    Helpdesk,
}

impl Template {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Template::Studio => "studio",
            Template::Service => "service",
            Template::Renovation => "renovation",
            Template::Helpdesk => "helpdesk",
        }
    }
}

#[derive(Debug, Subcommand)]
pub(crate) enum UserCommand {
    /// Create a staff user (a generated password is shown once unless --password-stdin).
    Add {
        /// Login name (a-z, 0-9, '_', '.', '-'; 3-32 characters).
        name: String,
        /// A role; repeat for several.
        #[arg(long = "role", required = true)]
        roles: Vec<String>,
        /// The name shown to colleagues and customers.
        #[arg(long)]
        display_name: Option<String>,
        /// Read the password from the first line of stdin instead of generating one.
        #[arg(long)]
        password_stdin: bool,
        /// Skills: marker names separated by commas (`Rust,Go`), in any language, any case.
        #[arg(long, value_delimiter = ',')]
        markers: Vec<String>,
    },
    /// Set a user's skills (markers), replacing the ones they have.
    Markers {
        /// Login name.
        name: String,
        /// Marker names separated by commas (`Rust,Go`), in any language, any case; `""`
        /// clears them.
        markers: String,
    },
    /// Set a user's phone, which the worker's bot matches a shared Telegram contact against
    /// (any common format, cleaned to E.164); `""` removes it.
    Phone {
        /// Login name.
        name: String,
        /// The phone (`+7 999 123-45-67`), or `""`.
        phone: String,
    },
    /// List staff users.
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Set a new password (a generated one is shown once unless --password-stdin).
    Passwd {
        /// Login name.
        name: String,
        /// Read the password from the first line of stdin instead of generating one.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Disable a user: no more logins, sessions refused.
    Disable {
        /// Login name.
        name: String,
    },
    /// Enable a disabled user again.
    Enable {
        /// Login name.
        name: String,
    },
    /// Replace a user's roles.
    Grant {
        /// Login name.
        name: String,
        /// A role; repeat for several.
        #[arg(long = "role", required = true)]
        roles: Vec<String>,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum RoleCommand {
    /// List roles and their permissions.
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum TokenCommand {
    /// Create a token that acts as a user, with their permissions (shown once).
    Create {
        /// The user's login name.
        #[arg(long)]
        user: String,
        /// What the token is for (`reports script`); `token N` when omitted.
        #[arg(long, default_value = "")]
        name: String,
    },
    /// List tokens (never their text).
    List {
        /// Only this user's tokens.
        #[arg(long)]
        user: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Revoke a token by id: it is refused from then on.
    Revoke {
        /// The token's id (see `crm token list`).
        id: u64,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum JobsCommand {
    /// List the jobs with their schedule, next run and last run.
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Run a job now (outside its schedule) and wait until it has finished.
    Run {
        /// The job's name (`audit_cleanup`, `daily_report`; see `crm jobs list`).
        name: String,
    },
    /// Change the jobs' settings; options not given stay as they are.
    Set {
        /// Days audit entries are kept (7-36500).
        #[arg(long)]
        audit_retention_days: Option<u32>,
        /// When the daily report is sent, HH:MM on the organization's clock.
        #[arg(long)]
        report_time: Option<String>,
        /// Days after which closed conversations leave the inbox's working lists.
        #[arg(long)]
        archive_after_days: Option<u32>,
        /// Switch a job on (repeatable).
        #[arg(long = "enable", value_name = "JOB")]
        enable: Vec<String>,
        /// Switch a job off (repeatable).
        #[arg(long = "disable", value_name = "JOB")]
        disable: Vec<String>,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum DepartmentCommand {
    /// List departments with their operators and queue length.
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Create a department.
    Create {
        /// Its name (1-64 characters, unique ignoring case).
        name: String,
    },
    /// Rename a department.
    Rename {
        /// The department: its id or its name.
        department: String,
        /// The new name.
        name: String,
    },
    /// Archive a department: it takes no new conversations; its queue moves to the default
    /// department.
    Archive {
        /// The department: its id or its name.
        department: String,
    },
    /// Add a staff user to a department.
    AddMember {
        /// The department: its id or its name.
        department: String,
        /// The user's login name.
        user: String,
    },
    /// Remove a staff user from a department; their conversations there are re-routed.
    RemoveMember {
        /// The department: its id or its name.
        department: String,
        /// The user's login name.
        user: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ImportKind {
    Customers,
    Orders,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ExportKind {
    Customers,
    Orders,
    Audit,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Format {
    Csv,
    Json,
}
