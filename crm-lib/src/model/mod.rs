//! Entities and value types of the domain (SPEC section 4).
//!
//! Plain data with serde derives: the store encodes them with the versioned codec in
//! the store module; nothing here touches storage.

mod access;
mod audit;
mod billing;
mod broadcasts;
mod call;
mod canned;
mod chat;
mod csat;
mod customer;
mod fields;
mod forms;
mod hours;
mod ids;
mod inbox;
mod jobs;
mod leads;
mod operators;
mod ops;
mod order;
mod org;
mod outbox;
mod payments;
mod projects;
mod scheduled;
mod staff_chat;
mod team;
mod tickets;
mod tokens;
mod webhooks;
mod zone;

pub use access::{ApiToken, ApiTokenHash, SESSION_MAX_AGE_MS, Session, SessionHash};
pub use audit::{AuditAction, AuditDetail, AuditEntry, Change, ChangeId, ChangeKind, Subject};
pub use billing::{PaymentInfo, PaymentMethod, Payout};
pub use broadcasts::{
    Audience, Broadcast, BroadcastCounts, BroadcastRecipient, BroadcastState, RecipientState,
};
pub use call::{Call, CallDirection, CallEvent, CallExtension, CallSettings, UnknownCaller};
pub use canned::CannedResponse;
pub use chat::{
    Attachment, Author, DeliveryState, Direction, Media, MediaHash, MediaKind, Message,
    MessageContent, MessageEdit, SentParts,
};
pub use csat::{CsatSettings, CsatSurvey};
pub use customer::Customer;
pub use fields::{
    CHOICES_MAX, ChoiceOption, FIELDS_MAX, FieldDef, FieldKind, FieldSet, FieldValue, TEXT_MAX,
    normalize,
};
pub(crate) use fields::{compile as compile_pattern, full_match};
pub use forms::{FormDef, FormName, FormProgress, FormStage, Profile, RuntimeChoices};
pub use hours::{AutoReplyMark, BusinessHours, OpenInterval};
pub use ids::{
    ApiTokenId, AuditId, BidId, BroadcastId, CallId, CannedId, ChatId, CustomerId, Date,
    DepartmentId, LANGUAGES, Language, LanguageInfo, Localized, MarkerId, MessageId, Money,
    OrderId, OrgId, OutboxId, PaymentInfoId, PaymentMethodId, ProfileId, QueueItemId, RoleId,
    StageId, TelegramUserId, Timestamp, UserId, WebhookDeliveryId, WebhookEndpointId,
};
pub use ids::{
    ChangeRequestId, EntryId, EstimateLineId, ProjectDocumentId, ProjectEventId, ProjectId,
    ProjectStageId, ReportId,
};
pub use inbox::{ConversationRow, ConversationState, MessagePreview, PREVIEW_MAX_CHARS};
pub use jobs::{DailySummary, JobClaim, JobSettings, JobState, LocalTime, StageCount};
pub use leads::{
    AiCall, AiCallOutcome, AiRequest, AiSettings, AiStop, DEFAULT_AI_MODEL,
    DEFAULT_AI_TIMEOUT_SECONDS, HotMark, Lead, LeadAi, OPENROUTER_BASE_URL,
};
pub use operators::{
    Department, OperatorSettings, OperatorState, QueueItem, QueueState, QueueSubject,
};
pub use ops::{Actor, ActorRef, Event, InboxItem, InboxState, Origin};
pub use order::{Bid, BidState, Order, OrderSummary};
pub use org::{
    DEFAULT_TIME_ZONE, Module, Modules, OrgSettings, Organization, Pipeline, Stage, StageKind,
    Transition, TransitionFrom,
};
pub use outbox::{
    BotReply, Button, ButtonPress, DeliveryFailure, Keyboard, OutboxItem, OutboxPayload,
    OutboxState, Recipient,
};
pub use payments::{
    Invoice, InvoiceState, OXAPAY_DEFAULT_BASE_URL, PaymentProvider, PaymentSettings,
};
pub use projects::{
    ChangeRequest, ChangeRequestState, DailyReport, DocumentKind, EntryCategory, EntryKind,
    EstimateLine, Project, ProjectDocument, ProjectEntry, ProjectEvent, ProjectEventKind,
    ProjectRow, ProjectStage, ProjectState, ProjectTotals,
};
pub use scheduled::{ScheduledMessage, ScheduledState};
pub use staff_chat::{ForumCall, ForumOrigin, ForumTopic, StaffGroup, StaffNotice};
pub use team::{
    BuiltinRole, LinkCode, Marker, OperatorStatus, OrderGrant, Permission, PermissionSet, Role,
    SavedPaymentDetails, User, UserStatus,
};
pub use tickets::{FlagClearing, FraudFlag, FraudRule, FraudRuleKind, FraudSettings, OrderFraud};
pub use tokens::{LedgerEntry, LedgerKind, Package, TokenAccount, TokenOrder, TokenSettings};
pub use webhooks::{
    WebhookAttempt, WebhookDelivery, WebhookDeliveryState, WebhookEndpoint, WebhookEventType,
};
pub use zone::{Zone, parse_time_zone};
