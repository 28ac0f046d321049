//! Every record table's declaration (see `super::indexes`): its key layout, its numbering,
//! the records it names, and its secondary indexes with their key layouts. This is the one
//! place an index entry is made: writers, the schema migrations and `crm verify` all use it.
//! Queries read the same layouts, some through the key functions exported here.
//!
//! | record table | key | numbered by | indexes (added in schema) and counters |
//! | --- | --- | --- | --- |
//! | `orgs` | `org` | `org` of org 0 | `orgs_by_slug`: `slug` -> org id |
//! | `roles`, `markers` | `org \| id` | `role`, `marker` | |
//! | `users` | `org \| user` | `user` | `users_by_name`: `org \| username` -> user id; `users_by_telegram`: `org \| telegram id (i64)` -> user id; `users_by_phone` (10): `org \| phone digits (u64)` -> user id |
//! | `customers` | `org \| customer` | `customer` | `customers_by_telegram`: `org \| telegram id` -> customer id; `customers_by_activity` (2): `org \| last activity (i64 ms) \| customer`; `customer_names` (5): `org \| customer` -> full name |
//! | `orders` | `org \| order` | `order` | `orders_by_stage`: `org \| stage (u16) \| order`; `orders_by_customer`: `org \| customer \| order`; `orders_by_day`: `org \| created day (i64) \| order`; `orders_by_assignee`: `org \| user \| order`; `orders_by_marker`: `org \| marker \| order`; `orders_by_word` (2): `org \| title word \| 0x00 \| order`; `orders_by_field` (6): `org \| field key \| 0x00 \| value \| 0x00 \| created at (i64 ms) \| order`; `orders_by_customer_stage` (6): `org \| customer \| stage (u16) \| order`; `media_refs` (3): `org \| hash \| 2 \| order`; `order_rows` (5): `org \| order` -> `OrderSummary`; counter `order_counts`: `org \| stage` |
//! | `customers` | `org \| customer` | `customer` | `customers_by_telegram`: `org \| telegram id` -> customer id; `customers_by_phone` (6): `org \| phone digits (u64) \| customer`; `customers_by_activity` (2): `org \| last activity (i64 ms) \| customer`; `customer_names` (5): `org \| customer` -> full name |
//! | `bids` | `org \| bid` | `bid` | `bids_by_order`: `org \| order \| bid` |
//! | `grants` | `org \| order \| user \| permission (u8)` | | |
//! | `messages` | `org \| message` | `message` | `messages_by_customer`: `org \| customer \| message`; `messages_by_order`: `org \| order \| message`; `messages_by_telegram` (7): `org \| customer \| telegram message id \| message`; `media_refs` (3): `org \| hash \| 1 \| message` |
//! | `media` | `org \| hash` | | (chunks: `media_chunks`, checked by verify) |
//! | `audit` | `org \| audit` | `audit` | `audit_by_subject` (4): `org \| subject kind (u8) \| subject id \| audit` |
//! | `changes` | `org \| change` | `change` | |
//! | `outbox` | `org \| outbox` | `outbox` | `outbox_due`, pending items only: `due (i64 ms) \| org \| outbox` |
//! | `inbox` | `org \| update id` | | `inbox_pending`, pending updates only: `org \| update id` |
//! | `sessions` | `sha256(session id)` | | `sessions_by_user`: `org \| user \| sha256` |
//! | `api_tokens` | `sha256(token)` | `api_token` of its org | `api_tokens_by_org`: `org \| token id` -> sha256 |
//! | `link_codes`, `payment_methods`, `payment_infos` | `org \| ...` | | |
//! | `job_settings` | `org` | | |
//! | `job_states` | `org \| job name` | | |
//! | `order_fields`, `fraud_settings` (tickets) | `org` | | |
//! | `order_fraud` (tickets) | `org \| order` | | |
//! | `departments` | `org \| department` | `department` | |
//! | `operator_states` | `org \| user` | | |
//! | `operator_settings` | `org` | | |
//! | `queue_items` | `org \| item` | `queue_item` | `queue_by_subject`: `org \| kind (u8) \| customer or order \| item`; `queue_by_assignee`, open assigned only: `org \| user \| item`; `queue_waiting`, open unassigned only: `org \| department \| opened at (i64) \| item`; `queue_closed`, closed only: `org \| closed at (i64) \| item`; counter `queue_loads`: `org \| assignee of an open item (0: none)` |
//! | `calls` | `org \| call` | `call` | `calls_by_pbx_id` (6): `org \| pbx_call_id` -> call id; `calls_by_customer` (6): `org \| customer \| call`; `calls_by_time` (6): `org \| started at (i64 ms) \| call` |
//! | `call_settings` | `org` | | |
//! | `unknown_callers` | `org \| customer` | | |
//! | `canned_responses` | `org \| canned` | `canned` | `media_refs`: `org \| hash \| 3 \| canned` |
//! | `business_hours` | `org` | | |
//! | `auto_replies` | `org \| customer` | | |
//! | `conversation_rows` (7, the inbox's projection) | `org \| customer` | | `conversations_by_state` (7): `org \| state (u8) \| last activity (i64 ms) \| customer`; `conversations_by_assignee` (7), not closed only: `org \| assignee (0: none) \| state (u8) \| last activity \| customer` |
//! | `staff_groups` | `org` | | |
//! | `forum_topics` | `org \| customer` | | `forum_threads` (7), once the thread is known: `org \| chat (i64) \| thread (i64)` -> customer id |
//! | `staff_notices` | `org \| staff chat (i64) \| telegram message id (i64)` | | |
//! | `forum_origins` | `org \| message` | | |
//! | `sent_parts` | `org \| message` | | |
//! | `csat_surveys` | `org \| order` | | `csat_by_time` (7), rated only: `org \| rated at (i64 ms) \| order`; `csat_by_customer` (7): `org \| customer \| order` |
//! | `csat_settings` | `org` | | |
//! | `packages` (tokens) | `org \| package` | `package` | |
//! | `token_settings` | `org` | | |
//! | `ledger` | `org \| entry` | `ledger` | `ledger_by_customer`: `org \| customer \| entry` |
//! | `token_accounts` | `org \| customer` | | `premium_by_end`, with a subscription: `org \| premium until (i64 ms) \| customer` |
//! | `token_orders` | `org \| order` | | `token_queue`, queued only: `org \| rank (u64) \| order` |
//! | `scheduled_messages` | `org \| scheduled` | `scheduled` | `scheduled_due`, waiting only: `org \| send at (i64 ms) \| scheduled`; `scheduled_by_customer`: `org \| customer \| scheduled` |
//! | `broadcasts` | `org \| broadcast` | `broadcast` | `broadcasts_active`, scheduled or sending only: `org \| broadcast` |
//! | `broadcast_recipients` | `org \| broadcast \| customer` | | |
//! | `projects` | `org \| project` | `project` | `projects_by_client`: `org \| customer \| project`; `projects_by_state`: `org \| state (u8) \| project`; `projects_by_lead`, made from a lead: `org \| order` -> project id; `projects_by_worker`: `org \| user \| project`; `project_rows`: `org \| project` -> `ProjectRow` |
//! | `project_stages` | `org \| project \| stage` | `project_stage` | |
//! | `project_reports` | `org \| project \| report` | `project_report` | `media_refs`: `org \| hash \| 4 \| report` -> project id |
//! | `project_entries` | `org \| project \| entry` | `project_entry` | `media_refs`: `org \| hash \| 5 \| entry` -> project id |
//! | `estimate_lines` | `org \| project \| line` | `estimate_line` | |
//! | `change_requests` | `org \| project \| request` | `change_request` | |
//! | `project_events` | `org \| project \| event` | `project_event` | |
//! | `webhook_endpoints` | `org \| endpoint` | `webhook_endpoint` | |
//! | `webhook_deliveries` | `org \| delivery` | `webhook_delivery` | `webhook_deliveries_by_endpoint`: `org \| endpoint \| delivery`; `webhook_due`, pending only: `due (i64 ms) \| org \| delivery` |
//! | `forms` | `org \| form (u8)` | | |
//! | `form_progress` | `org \| customer \| form (u8)` | | |
//! | `profiles` | `org \| customer \| profile` | `profile` | `profiles_by_id`: `org \| profile` -> customer id |
//! | `payment_settings` | `org` | | |
//! | `invoices` | `org \| invoice` | `invoice` | `invoices_by_provider_id`, once known: `org \| provider (u8) \| provider id` -> invoice id; `invoices_pending`, pending only: `org \| created at (i64 ms) \| invoice` |
//! | `leads` (projects) | `org \| order` | | |
//! | `ai_requests` | `org \| order` | | `ai_due`: `due (i64 ms) \| org \| order` |
//! | `ai_settings` | `org` | | |
//!
//! Index values are empty unless the table says `->`. The projections (`customer_names`,
//! `order_rows`, `project_rows`) hold what lists show of each record, rewritten by `Tx::update_record` when
//! it changes, so a list never decodes a whole customer or order. Keys are `super::keys::Key`s (fixed
//! width, big-endian). `meta`, `sequences`, `media_chunks` and `dialogues` are no record
//! table's: verify checks them by hand ([`CHECKED_BY_HAND`]).

mod broadcasts;
mod calls;
mod canned;
mod chat;
mod csat;
mod forms;
mod inbox;
mod jobs;
mod leads;
mod operators;
mod ops;
mod orders;
mod payments;
mod projects;
mod staff_chat;
mod team;
mod tickets;
mod tokens;
mod webhooks;

pub(crate) use broadcasts::recipient_key;
pub(crate) use calls::{pbx_key, phone_number, phone_prefix};
pub(crate) use chat::{MEDIA_REF_KEY_LEN, RefKind, telegram_message_key};
pub(crate) use csat::csat_key;
pub(crate) use forms::{form_key, profile_key, progress_key};
pub(crate) use inbox::{
    conversation_row_key, conversations_assignee_prefix, conversations_state_prefix,
};
pub(crate) use jobs::{job_settings_key, job_state_key};
pub(crate) use leads::lead_key;
pub(crate) use operators::{
    queue_assignee_prefix, queue_load_key, queue_subject_prefix, queue_waiting_prefix,
};
pub(crate) use ops::subject_key;
pub(crate) use orders::{activity_key, field_key, grant_key, order_count_key, row_key};
pub(crate) use payments::provider_id_key;
pub(crate) use projects::{project_key, project_part_key};
pub(crate) use staff_chat::{forum_thread_key, staff_notice_key};
pub(crate) use team::{api_token_by_org_key, session_by_user_prefix, user_phone_key};
pub(crate) use tokens::{account_key, token_order_key};
pub(crate) use webhooks::webhook_log_key;

use super::indexes::{Owner, Visitor};
use super::keys::{self, Key};
use super::tables::{self, Def};
use crate::Result;
use crate::model::ApiToken;
use crate::model::Session;
use crate::model::*;

/// Calls `visitor` with every declared record table, in the order verify checks them.
pub(crate) fn visit_all(visitor: &mut impl Visitor) -> Result<()> {
    visitor.visit::<Organization>()?;
    visitor.visit::<Role>()?;
    visitor.visit::<Marker>()?;
    visitor.visit::<User>()?;
    visitor.visit::<Customer>()?;
    visitor.visit::<Order>()?;
    visitor.visit::<Bid>()?;
    visitor.visit::<OrderGrant>()?;
    visitor.visit::<Message>()?;
    visitor.visit::<Media>()?;
    visitor.visit::<AuditEntry>()?;
    visitor.visit::<Change>()?;
    visitor.visit::<OutboxItem>()?;
    visitor.visit::<InboxItem>()?;
    visitor.visit::<Session>()?;
    visitor.visit::<ApiToken>()?;
    visitor.visit::<LinkCode>()?;
    visitor.visit::<PaymentMethod>()?;
    visitor.visit::<PaymentInfo>()?;
    visitor.visit::<JobSettings>()?;
    visitor.visit::<JobState>()?;
    visitor.visit::<FieldSet>()?;
    visitor.visit::<FraudSettings>()?;
    visitor.visit::<OrderFraud>()?;
    visitor.visit::<Department>()?;
    visitor.visit::<OperatorState>()?;
    visitor.visit::<OperatorSettings>()?;
    visitor.visit::<QueueItem>()?;
    visitor.visit::<Call>()?;
    visitor.visit::<CallSettings>()?;
    visitor.visit::<UnknownCaller>()?;
    visitor.visit::<CannedResponse>()?;
    visitor.visit::<BusinessHours>()?;
    visitor.visit::<AutoReplyMark>()?;
    visitor.visit::<ConversationRow>()?;
    visitor.visit::<StaffGroup>()?;
    visitor.visit::<ForumTopic>()?;
    visitor.visit::<StaffNotice>()?;
    visitor.visit::<ForumOrigin>()?;
    visitor.visit::<SentParts>()?;
    visitor.visit::<CsatSurvey>()?;
    visitor.visit::<CsatSettings>()?;
    visitor.visit::<Package>()?;
    visitor.visit::<TokenSettings>()?;
    visitor.visit::<LedgerEntry>()?;
    visitor.visit::<TokenAccount>()?;
    visitor.visit::<TokenOrder>()?;
    visitor.visit::<ScheduledMessage>()?;
    visitor.visit::<WebhookEndpoint>()?;
    visitor.visit::<WebhookDelivery>()?;
    visitor.visit::<FormDef>()?;
    visitor.visit::<FormProgress>()?;
    visitor.visit::<Profile>()?;
    visitor.visit::<PaymentSettings>()?;
    visitor.visit::<Invoice>()?;
    visitor.visit::<Broadcast>()?;
    visitor.visit::<BroadcastRecipient>()?;
    visitor.visit::<Project>()?;
    visitor.visit::<ProjectStage>()?;
    visitor.visit::<DailyReport>()?;
    visitor.visit::<ProjectEntry>()?;
    visitor.visit::<EstimateLine>()?;
    visitor.visit::<ChangeRequest>()?;
    visitor.visit::<ProjectEvent>()?;
    visitor.visit::<ProjectDocument>()?;
    visitor.visit::<Lead>()?;
    visitor.visit::<AiRequest>()?;
    visitor.visit::<AiSettings>()?;
    Ok(())
}

/// The tables that are no record table's, which verify checks by hand: the schema version,
/// the sequences, the chunks of each media record, the bot's opaque dialogue state, and the
/// dashboard's aggregates (against the records they count, `verify/analytics.rs`).
pub(crate) const CHECKED_BY_HAND: &[Def] = &[
    tables::META,
    tables::SEQUENCES,
    tables::MEDIA_CHUNKS,
    tables::DIALOGUES,
    tables::ANALYTICS_DAYS,
];

/// The organization an `org | ...` key starts with.
fn org_of(key: &[u8]) -> OrgId {
    OrgId(keys::read_u64(key, 0))
}

/// The owner of an `org | ... | id` entry: record `id` of the organization.
fn owner_by_tail(key: &[u8], _value: &[u8]) -> Owner {
    Owner::Record(Key::org(org_of(key)).u64(keys::tail_u64(key)))
}

/// The owner of an `org | ...` -> id entry: record `id` of the organization.
fn owner_by_value(key: &[u8], value: &[u8]) -> Owner {
    match <[u8; 8]>::try_from(value) {
        Ok(id) => Owner::Record(Key::org(org_of(key)).u64(u64::from_be_bytes(id))),
        Err(_) => Owner::Malformed(format!(
            "holds a {}-byte value instead of an id",
            value.len()
        )),
    }
}

/// The id an `-> id` entry holds (0 when malformed: then the owner was not found).
fn value_id(value: &[u8]) -> u64 {
    keys::read_u64(value, 0)
}
