//! Every redb table of the store, as typed constants in one place.
//!
//! All tables map byte keys to byte values. Keys are built by [`super::keys::Key`]: fixed-width
//! big-endian integers (signed ones with the sign bit flipped) so that byte order equals
//! numeric order and range scans come out sorted; every key of a tenant's record starts with
//! the 8-byte organization id. Record values are [`super::codec`] bytes (a version tag, then
//! bincode). Index tables have empty values unless a unique lookup keeps the record's id (or
//! key) there. Which record table keeps each index and counter, and how, is declared once in
//! [`super::declarations`]; the writers and `crm verify` both follow those declarations.

use redb::TableDefinition;

/// The schema version this build writes: the tables below and the indexes declared for this
/// version. A file of an older version is migrated on open (`schema.rs`).
pub const SCHEMA_VERSION: u32 = 10;

/// A table of byte keys and byte values.
pub(crate) type Def = TableDefinition<'static, &'static [u8], &'static [u8]>;

macro_rules! tables {
    ($($(#[$meta:meta])* $name:ident = $text:literal;)*) => {
        $( $(#[$meta])* pub(crate) const $name: Def = TableDefinition::new($text); )*
        /// Every table, for backup, verify and statistics.
        pub(crate) const ALL: &[Def] = &[$($name),*];
    };
}

tables! {
    /// `name` -> value. Holds `schema_version` (u32 BE).
    META = "meta";
    /// `org | name` -> next id (u64 BE). Org 0 holds the organization sequence. Also holds
    /// retention's inbox mark, `inbox_pruned_through` (update id) and
    /// `inbox_pruned_received_at` (i64 ms), see `services::retention`.
    SEQUENCES = "sequences";
    /// `org` -> Organization.
    ORGS = "orgs";
    /// `slug` -> org id (u64 BE).
    ORGS_BY_SLUG = "orgs_by_slug";
    /// `org | user` -> User.
    USERS = "users";
    /// `org | username` -> user id.
    USERS_BY_NAME = "users_by_name";
    /// `org | telegram id` -> user id.
    USERS_BY_TELEGRAM = "users_by_telegram";
    /// `org | phone digits (u64)` -> user id: the staff's phones, unique per organization
    /// (a worker sharing their Telegram contact is found here). Added in schema 10.
    USERS_BY_PHONE = "users_by_phone";
    /// `org | role` -> Role.
    ROLES = "roles";
    /// `org | marker` -> Marker.
    MARKERS = "markers";
    /// `org | customer` -> Customer.
    CUSTOMERS = "customers";
    /// `org | telegram id` -> customer id.
    CUSTOMERS_BY_TELEGRAM = "customers_by_telegram";
    /// `org | last activity (i64 ms) | customer` -> (): conversations, most recent last.
    /// Moved by `save_customer` (through the declaration) when `last_activity_at` changes.
    /// Added in schema 2.
    CUSTOMERS_BY_ACTIVITY = "customers_by_activity";
    /// `org | customer` -> the customer's full name (UTF-8): what order lists show of a
    /// customer, kept by the customer's declaration. Added in schema 5.
    CUSTOMER_NAMES = "customer_names";
    /// `org | order` -> Order.
    ORDERS = "orders";
    /// `org | stage | order` -> ().
    ORDERS_BY_STAGE = "orders_by_stage";
    /// `org | assignee | order` -> ().
    ORDERS_BY_ASSIGNEE = "orders_by_assignee";
    /// `org | customer | order` -> ().
    ORDERS_BY_CUSTOMER = "orders_by_customer";
    /// `org | created day | order` -> ().
    ORDERS_BY_DAY = "orders_by_day";
    /// `org | marker | order` -> ().
    ORDERS_BY_MARKER = "orders_by_marker";
    /// `org | title word | 0x00 | order` -> (). Added in schema 2.
    ORDERS_BY_WORD = "orders_by_word";
    /// `org | stage` -> number of orders in the stage (u64 BE).
    ORDER_COUNTS = "order_counts";
    /// `org | order` -> OrderSummary: the list row of each order, kept by the order's
    /// declaration in the transaction that writes the order. Added in schema 5.
    ORDER_ROWS = "order_rows";
    /// `org | bid` -> Bid.
    BIDS = "bids";
    /// `org | order | bid` -> ().
    BIDS_BY_ORDER = "bids_by_order";
    /// `org | order | user | permission` -> OrderGrant.
    GRANTS = "grants";
    /// `org | message` -> Message.
    MESSAGES = "messages";
    /// `org | customer | message` -> ().
    MESSAGES_BY_CUSTOMER = "messages_by_customer";
    /// `org | order | message` -> ().
    MESSAGES_BY_ORDER = "messages_by_order";
    /// `org | customer | telegram message id (i64) | message` -> (): the message Telegram
    /// knows by that id in the customer's chat (replies both ways, customer edits); the
    /// newest when two share it. Added in schema 7.
    MESSAGES_BY_TELEGRAM = "messages_by_telegram";
    /// `org | hash` -> Media.
    MEDIA = "media";
    /// `org | hash | chunk index (u32)` -> raw bytes.
    MEDIA_CHUNKS = "media_chunks";
    /// `org | hash (32 bytes) | kind (u8: 1 message, 2 order) | id (u64)` -> (): the records
    /// that carry a file as an attachment, so that serving a file can ask whether its reader
    /// may see one of them. Declared by both messages and orders. Added in schema 3.
    MEDIA_REFS = "media_refs";
    /// `org | audit` -> AuditEntry.
    AUDIT = "audit";
    /// `org | subject kind (u8) | subject id (u64) | audit` -> (): each record's audit entries
    /// (an order's timeline), see `declarations::subject_key`. Added in schema 4.
    AUDIT_BY_SUBJECT = "audit_by_subject";
    /// `org | change` -> Change: the change feed the browser's live updates read (SPEC
    /// section 3.1). Pruned by retention. Added in schema 4.
    CHANGES = "changes";
    /// `org | outbox` -> OutboxItem.
    OUTBOX = "outbox";
    /// `due time | org | outbox` -> (), pending items only.
    OUTBOX_DUE = "outbox_due";
    /// `org | update id` -> InboxItem.
    INBOX = "inbox";
    /// `org | update id` -> (), pending items only.
    INBOX_PENDING = "inbox_pending";
    /// `org | chat id` -> the bot's dialogue state (opaque bytes owned by the bot).
    DIALOGUES = "dialogues";
    /// `org | code` -> LinkCode.
    LINK_CODES = "link_codes";
    /// `org | payment method` -> PaymentMethod.
    PAYMENT_METHODS = "payment_methods";
    /// `org | order | payment info` -> PaymentInfo.
    PAYMENT_INFOS = "payment_infos";
    /// `sha256(session id)` -> web session (the id itself is never stored).
    SESSIONS = "sessions";
    /// `org | user | sha256(session id)` -> (), to end every session of a user.
    SESSIONS_BY_USER = "sessions_by_user";
    /// `sha256(api token)` -> API token record (the token itself is never stored).
    API_TOKENS = "api_tokens";
    /// `org | api token id` -> sha256(api token), for listing and revoking.
    API_TOKENS_BY_ORG = "api_tokens_by_org";
    /// `org` -> JobSettings: the organization's scheduled-job settings (`services::jobs`),
    /// absent until first saved.
    JOB_SETTINGS = "job_settings";
    /// `org | job name (UTF-8)` -> JobState: each scheduled job's next slot, claim and last
    /// run (`services::jobs`).
    JOB_STATES = "job_states";
    /// `org` -> FieldSet: the typed fields the organization's tickets carry, copied from
    /// its template at creation (the tickets module).
    ORDER_FIELDS = "order_fields";
    /// `org` -> FraudSettings: the fraud rules with their thresholds and the blocklist (the
    /// tickets module).
    FRAUD_SETTINGS = "fraud_settings";
    /// `org | order` -> OrderFraud: the fraud flags rules raised on a ticket.
    ORDER_FRAUD = "order_fraud";
    /// `org | field key | 0x00 | value (normalized, at most 64 bytes) | 0x00 | created at
    /// (i64 ms) | order` -> (): each short text or choice field of each order, for the
    /// repeated-serial rule and the field filters. Declared by the order.
    ORDERS_BY_FIELD = "orders_by_field";
    /// `org | customer | stage (u16) | order` -> (): each customer's orders by stage, so the
    /// fraud rule on cancelled tickets counts them without reading the customer's other
    /// orders. Declared by the order; added in schema 6.
    ORDERS_BY_CUSTOMER_STAGE = "orders_by_customer_stage";
    /// `org | department` -> Department (operators module).
    DEPARTMENTS = "departments";
    /// `org | user` -> OperatorState: each operator's presence and last assignment.
    OPERATOR_STATES = "operator_states";
    /// `org` -> OperatorSettings: the operators module's settings of the organization.
    OPERATOR_SETTINGS = "operator_settings";
    /// `org | queue item` -> QueueItem: conversations and tickets of the operators queue.
    QUEUE_ITEMS = "queue_items";
    /// `org | kind (u8: 1 conversation, 2 ticket) | customer or order | queue item` -> (),
    /// every item: a customer's conversations, newest last (only the newest may be open).
    QUEUE_BY_SUBJECT = "queue_by_subject";
    /// `org | user | queue item` -> (), open assigned items only: an operator's load.
    QUEUE_BY_ASSIGNEE = "queue_by_assignee";
    /// `org | department (0: none) | opened at (i64 ms) | queue item` -> (), open unassigned
    /// items only: each department's queue, oldest first.
    QUEUE_WAITING = "queue_waiting";
    /// `org | closed at (i64 ms) | queue item` -> (), closed items that are not archived,
    /// oldest first: the closed working list, what archiving of closed conversations scans.
    QUEUE_CLOSED = "queue_closed";
    /// `org | archived at (i64 ms) | queue item` -> (), archived (closed) conversations only:
    /// the inbox's "Archived" list, newest last.
    QUEUE_ARCHIVED = "queue_archived";
    /// `org | user (0: no one)` -> the number of open queue items assigned to the user (u64
    /// BE): an operator's load as one point read. Items waiting or closed count under user 0.
    QUEUE_LOADS = "queue_loads";
    /// `org | phone (E.164 digits as u64) | customer` -> (): the customers with each phone
    /// number, which a call is linked by. Added in schema 6.
    CUSTOMERS_BY_PHONE = "customers_by_phone";
    /// `org | call` -> Call (services::calls).
    CALLS = "calls";
    /// `org | pbx_call_id (UTF-8)` -> call id: the PBX's id of each call, so every
    /// notification of a call finds it.
    CALLS_BY_PBX_ID = "calls_by_pbx_id";
    /// `org | customer | call` -> (): a customer's calls (the timeline).
    CALLS_BY_CUSTOMER = "calls_by_customer";
    /// `org | started at (i64 ms) | call` -> (): calls by time (the call list).
    CALLS_BY_TIME = "calls_by_time";
    /// `org` -> CallSettings: the PBX secret and the extension map.
    CALL_SETTINGS = "call_settings";
    /// `org | customer` -> UnknownCaller: customers created for a call from an unknown number.
    UNKNOWN_CALLERS = "unknown_callers";
    /// `org | canned response` -> CannedResponse (services::canned, issue 12).
    CANNED_RESPONSES = "canned_responses";
    /// `org` -> BusinessHours: the weekly schedule, holidays, time zone and auto-reply
    /// (services::hours, issue 12).
    BUSINESS_HOURS = "business_hours";
    /// `org | customer` -> AutoReplyMark: the closed period in which each conversation last
    /// got the out-of-hours auto-reply.
    AUTO_REPLIES = "auto_replies";
    /// `org | customer` -> ConversationRow: the inbox's projection, one row per customer's
    /// conversation (`services::inbox`). Added in schema 7.
    CONVERSATION_ROWS = "conversation_rows";
    /// `org | list (u8: 0 open, 1 snoozed, 2 closed, 3 archived) | last activity (i64 ms) |
    /// customer` ->
    /// (): the inbox's lists by state, newest activity last. Declared by the row.
    CONVERSATIONS_BY_STATE = "conversations_by_state";
    /// `org | assignee (0: none) | state (u8, 0 open or 1 snoozed) | last activity (i64 ms) |
    /// customer` -> (): the "mine" and "unassigned" lists, conversations that are not closed.
    /// Declared by the row.
    CONVERSATIONS_BY_ASSIGNEE = "conversations_by_assignee";
    /// `org` -> StaffGroup: the staff supergroup and its forum mirror (issue 12).
    STAFF_GROUPS = "staff_groups";
    /// `org | customer` -> ForumTopic: each customer's topic in the staff group.
    FORUM_TOPICS = "forum_topics";
    /// `org | chat (i64) | thread (i64)` -> customer id: the topic a staff message was
    /// written in, kept by the topic's declaration once its thread id is known.
    FORUM_THREADS = "forum_threads";
    /// `org | staff chat (i64) | telegram message id (i64)` -> StaffNotice: the notices of
    /// customers' messages sent to staff, so a reply to one answers that customer.
    STAFF_NOTICES = "staff_notices";
    /// `org | message` -> ForumOrigin: messages written in a forum topic (not mirrored back).
    FORUM_ORIGINS = "forum_origins";
    /// `org | message` -> SentParts: the Telegram messages a message sent as several became
    /// (an album), so a delete deletes them all. Absent from files written before it (a read
    /// finds nothing; the first write creates it).
    SENT_PARTS = "sent_parts";
    /// `org | order` -> CsatSurvey: the satisfaction survey of each finished order
    /// (`services::csat`).
    CSAT_SURVEYS = "csat_surveys";
    /// `org | rated at (i64 ms) | order` -> (), rated surveys only: the ratings by time, which
    /// the statistics read for a range of days.
    CSAT_BY_TIME = "csat_by_time";
    /// `org | customer | order` -> (): each customer's surveys (contact merge moves them).
    CSAT_BY_CUSTOMER = "csat_by_customer";
    /// `org` -> CsatSettings: on/off and the question per language, absent until saved.
    CSAT_SETTINGS = "csat_settings";
    /// `org | package` -> Package: the token service's packages (`services::tokens`,
    /// issue 13).
    PACKAGES = "packages";
    /// `org` -> TokenSettings: add-on and subscription prices, the low-balance threshold;
    /// absent until first saved.
    TOKEN_SETTINGS = "token_settings";
    /// `org | entry` -> LedgerEntry: the append-only token ledger, in the order written.
    LEDGER = "ledger";
    /// `org | customer | entry` -> (): each customer's ledger entries.
    LEDGER_BY_CUSTOMER = "ledger_by_customer";
    /// `org | customer` -> TokenAccount: each customer's balance and subscription.
    TOKEN_ACCOUNTS = "token_accounts";
    /// `org | premium until (i64 ms) | customer` -> (): subscriptions by their end, which
    /// the reminder and expiry job reads.
    PREMIUM_BY_END = "premium_by_end";
    /// `org | order` -> TokenOrder: the token side of each order of the tokens module.
    TOKEN_ORDERS = "token_orders";
    /// `org | rank (u64) | order` -> (): the queue, orders not finished, first first.
    TOKEN_QUEUE = "token_queue";
    /// `org | scheduled` -> ScheduledMessage: messages staff scheduled for later
    /// (`services::scheduled`, issue 13).
    SCHEDULED_MESSAGES = "scheduled_messages";
    /// `org | send at (i64 ms) | scheduled` -> (), waiting ones only: what the job sends next.
    SCHEDULED_DUE = "scheduled_due";
    /// `org | customer | scheduled` -> (): each customer's scheduled messages.
    SCHEDULED_BY_CUSTOMER = "scheduled_by_customer";
    /// `org | broadcast` -> Broadcast (`services::broadcasts`, issue 13).
    BROADCASTS = "broadcasts";
    /// `org | broadcast` -> (), broadcasts scheduled or sending only: what the appliance's
    /// broadcast sender reads every round.
    BROADCASTS_ACTIVE = "broadcasts_active";
    /// `org | broadcast | customer` -> BroadcastRecipient: each recipient's delivery state,
    /// written when the broadcast starts.
    BROADCAST_RECIPIENTS = "broadcast_recipients";
    /// `org | project` -> Project (`services::projects`, issue 14).
    PROJECTS = "projects";
    /// `org | customer | project` -> (): each client's projects.
    PROJECTS_BY_CLIENT = "projects_by_client";
    /// `org | state (u8) | project` -> (): the projects of each state (the list's filter).
    PROJECTS_BY_STATE = "projects_by_state";
    /// `org | order` -> project id: the project made from a won lead (one per lead).
    PROJECTS_BY_LEAD = "projects_by_lead";
    /// `org | user | project` -> (): the projects each worker reports on.
    PROJECTS_BY_WORKER = "projects_by_worker";
    /// `org | project` -> ProjectRow: what the project list shows of each project.
    PROJECT_ROWS = "project_rows";
    /// `org | project | stage` -> ProjectStage.
    PROJECT_STAGES = "project_stages";
    /// `org | project | report` -> DailyReport.
    PROJECT_REPORTS = "project_reports";
    /// `org | project | entry` -> ProjectEntry: expenses and income.
    PROJECT_ENTRIES = "project_entries";
    /// `org | project | line` -> EstimateLine: the plan.
    ESTIMATE_LINES = "estimate_lines";
    /// `org | project | request` -> ChangeRequest.
    CHANGE_REQUESTS = "change_requests";
    /// `org | project | event` -> ProjectEvent: each project's timeline, oldest first.
    PROJECT_EVENTS = "project_events";
    /// `org | project | document` -> ProjectDocument: each project's documents, oldest
    /// first. Added within schema 9: an older file without it reads as empty.
    PROJECT_DOCUMENTS = "project_documents";
    /// `org | endpoint` -> WebhookEndpoint (services::webhooks, SPEC 5F).
    WEBHOOK_ENDPOINTS = "webhook_endpoints";
    /// `org | delivery` -> WebhookDelivery: each message queued to an endpoint with its
    /// attempts (the delivery log).
    WEBHOOK_DELIVERIES = "webhook_deliveries";
    /// `org | endpoint | delivery` -> (): an endpoint's deliveries, newest last (its log).
    WEBHOOK_DELIVERIES_BY_ENDPOINT = "webhook_deliveries_by_endpoint";
    /// `due time (i64 ms) | org | delivery` -> (), pending deliveries only: what the
    /// appliance's webhook sender reads.
    WEBHOOK_DUE = "webhook_due";
    /// `org | form (u8, FormName::code)` -> FormDef: an organization's form definitions (the
    /// registration), copied from its template at creation, edited in settings
    /// (`services::forms`).
    FORMS = "forms";
    /// `org | customer | form (u8)` -> FormProgress: each customer's walk through a form,
    /// so the bot continues it after a restart (`services::forms`).
    FORM_PROGRESS = "form_progress";
    /// `org | customer | profile` -> Profile: the customers' profiles (the tokens module,
    /// `services::profiles`).
    PROFILES = "profiles";
    /// `org | profile` -> customer id: which customer keeps each profile (a profile's own
    /// page and API). Declared by the profile.
    PROFILES_BY_ID = "profiles_by_id";
    /// `org` -> PaymentSettings: the OxaPay merchant key and base URL, token prices, the
    /// amounts offered (`services::payments`); absent until first saved.
    PAYMENT_SETTINGS = "payment_settings";
    /// `org | invoice` -> Invoice: customers' invoices for tokens.
    INVOICES = "invoices";
    /// `org | provider (u8) | provider id (bytes)` -> invoice id: OxaPay's track ids and
    /// Telegram's charge ids, the idempotency key of a payment.
    INVOICES_BY_PROVIDER_ID = "invoices_by_provider_id";
    /// `org | created at (i64 ms) | invoice` -> (): the pending invoices, oldest first (what
    /// the polling and the creation task read).
    INVOICES_PENDING = "invoices_pending";
    /// `org | metric (u8) | local day (i64, days since 1970-01-01 in the organization's time
    /// zone) | sub (u64)` -> i64: the dashboard's per-day aggregates (`services::analytics`,
    /// issue 13), kept by the writes that create and move orders, charge and refund tokens
    /// and create customers; checked by hand by verify. Added in schema 8.
    ANALYTICS_DAYS = "analytics_days";
    /// `org | order` -> Lead: what qualification keeps of a lead beside its order (the AI's
    /// summary, why it is hot, whether the AI works it, its call log), `services::leads`
    /// (the projects module).
    LEADS = "leads";
    /// `org | order` -> AiRequest: the AI call waiting for a lead (at most one per lead).
    AI_REQUESTS = "ai_requests";
    /// `due time (i64 ms) | org | order` -> (): the waiting AI calls by due time, what the
    /// appliance's AI sender reads.
    AI_DUE = "ai_due";
    /// `org` -> AiSettings: the OpenAI-compatible endpoint, the key (write-only), the model,
    /// the timeout; absent until first saved.
    AI_SETTINGS = "ai_settings";
}
