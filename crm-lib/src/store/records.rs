//! Record versions of every stored type, and the decoders of older versions.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::codec::{Record, decode_body};
use crate::Result;
use crate::model::*;

/// Something done once per stored record type, generically (see [`visit_every_record`]).
pub(crate) trait RecordVisitor {
    /// Called with each record type in turn.
    fn visit<T: Record>(&mut self);
}

macro_rules! record {
    ($($ty:ty => $version:literal, $name:literal;)*) => {
        $(
            impl Record for $ty {
                const VERSION: u8 = $version;
                const NAME: &'static str = $name;
            }
        )*

        /// Calls `visitor` with every record type the store keeps, including those whose
        /// versions are declared by hand below. Listing them here, next to their versions,
        /// means a new record type is fuzzed (`crate::fuzzing`) as soon as it is declared.
        pub(crate) fn visit_every_record(visitor: &mut impl RecordVisitor) {
            $( visitor.visit::<$ty>(); )*
            visitor.visit::<Order>();
            visitor.visit::<OrderSummary>();
            visitor.visit::<Organization>();
            visitor.visit::<User>();
            visitor.visit::<Marker>();
            visitor.visit::<Customer>();
            visitor.visit::<AuditEntry>();
            visitor.visit::<OutboxItem>();
            visitor.visit::<Message>();
        }
    };
}

record! {
    Role => 1, "role";
    Bid => 1, "bid";
    OrderGrant => 1, "grant";
    Media => 1, "media";
    Change => 1, "change";
    InboxItem => 1, "inbox";
    LinkCode => 1, "link code";
    PaymentMethod => 1, "payment method";
    PaymentInfo => 1, "payment info";
    crate::model::Session => 1, "session";
    crate::model::ApiToken => 1, "api token";
    JobSettings => 1, "job settings";
    JobState => 1, "job state";
    FieldSet => 1, "ticket fields";
    FraudSettings => 1, "fraud settings";
    OrderFraud => 1, "fraud flags";
    Department => 1, "department";
    OperatorState => 1, "operator state";
    OperatorSettings => 1, "operator settings";
    QueueItem => 1, "queue item";
    Call => 1, "call";
    CallSettings => 1, "call settings";
    UnknownCaller => 1, "unknown caller";
    CannedResponse => 1, "canned response";
    BusinessHours => 1, "business hours";
    AutoReplyMark => 1, "auto-reply mark";
    ConversationRow => 1, "conversation row";
    StaffGroup => 1, "staff group";
    ForumTopic => 1, "forum topic";
    StaffNotice => 1, "staff notice";
    ForumOrigin => 1, "forum origin";
    SentParts => 1, "sent parts";
    CsatSurvey => 1, "csat survey";
    CsatSettings => 1, "csat settings";
    Package => 1, "package";
    TokenSettings => 1, "token settings";
    LedgerEntry => 1, "ledger entry";
    TokenAccount => 1, "token account";
    TokenOrder => 1, "token order";
    ScheduledMessage => 1, "scheduled message";
    WebhookEndpoint => 1, "webhook endpoint";
    WebhookDelivery => 1, "webhook delivery";
    FormDef => 1, "form";
    FormProgress => 1, "form progress";
    Profile => 1, "profile";
    PaymentSettings => 1, "payment settings";
    Invoice => 1, "invoice";
    Broadcast => 1, "broadcast";
    BroadcastRecipient => 1, "broadcast recipient";
    Project => 1, "project";
    ProjectRow => 1, "project row";
    ProjectStage => 1, "project stage";
    DailyReport => 1, "daily report";
    ProjectEntry => 1, "project entry";
    EstimateLine => 1, "estimate line";
    ChangeRequest => 1, "change request";
    ProjectEvent => 1, "project event";
    ProjectDocument => 1, "project document";
    Lead => 1, "lead";
    AiRequest => 1, "AI request";
    AiSettings => 1, "AI settings";
}

/// An order as schema 1 stored it: before markers, priority, attachments and custom fields.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct OrderV1 {
    pub(crate) id: OrderId,
    pub(crate) customer: CustomerId,
    pub(crate) title: String,
    pub(crate) description: String,
    pub(crate) budget: Option<Money>,
    pub(crate) deadline: Option<Date>,
    pub(crate) stage: StageId,
    pub(crate) assignee: Option<UserId>,
    pub(crate) price: Option<Money>,
    pub(crate) rejection_reason: Option<String>,
    pub(crate) created_at: Timestamp,
    pub(crate) updated_at: Timestamp,
}

impl From<OrderV1> for Order {
    fn from(old: OrderV1) -> Self {
        OrderV2 {
            id: old.id,
            customer: old.customer,
            title: old.title,
            description: old.description,
            budget: old.budget,
            deadline: old.deadline,
            stage: old.stage,
            assignee: old.assignee,
            price: old.price,
            markers: Vec::new(),
            priority: 0,
            rejection_reason: old.rejection_reason,
            attachments: Vec::new(),
            custom_fields: BTreeMap::new(),
            created_at: old.created_at,
            updated_at: old.updated_at,
        }
        .into()
    }
}

/// An order of record version 2 (schemas 2 to 4): before the customer's preferred payment
/// method.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct OrderV2 {
    pub(crate) id: OrderId,
    pub(crate) customer: CustomerId,
    pub(crate) title: String,
    pub(crate) description: String,
    pub(crate) budget: Option<Money>,
    pub(crate) deadline: Option<Date>,
    pub(crate) stage: StageId,
    pub(crate) assignee: Option<UserId>,
    pub(crate) price: Option<Money>,
    pub(crate) markers: Vec<MarkerId>,
    pub(crate) priority: i32,
    pub(crate) rejection_reason: Option<String>,
    pub(crate) attachments: Vec<MediaHash>,
    pub(crate) custom_fields: BTreeMap<String, FieldValue>,
    pub(crate) created_at: Timestamp,
    pub(crate) updated_at: Timestamp,
}

impl From<OrderV2> for Order {
    /// Orders of version 2 were created before the form asked how the customer would like to
    /// pay: they have no preferred payment method.
    fn from(old: OrderV2) -> Self {
        Order {
            id: old.id,
            customer: old.customer,
            title: old.title,
            description: old.description,
            budget: old.budget,
            deadline: old.deadline,
            stage: old.stage,
            assignee: old.assignee,
            price: old.price,
            markers: old.markers,
            priority: old.priority,
            rejection_reason: old.rejection_reason,
            attachments: old.attachments,
            custom_fields: old.custom_fields,
            preferred_payment_method: None,
            created_at: old.created_at,
            updated_at: old.updated_at,
        }
    }
}

/// Implements [`Record`] for a type at `version` whose older versions are the listed types,
/// each decoded and converted with `From`.
macro_rules! versioned {
    ($ty:ty, $name:literal, $version:literal, { $($old:literal => $old_ty:ty),* $(,)? }) => {
        impl Record for $ty {
            const VERSION: u8 = $version;
            const NAME: &'static str = $name;

            fn upgrade(version: u8, body: &[u8]) -> Result<Self> {
                match version {
                    $($old => Ok(decode_body::<$old_ty>(body, concat!($name, " v", $old))?.into()),)*
                    other => Err(crate::Error::corrupt(format!(
                        "{} record has unknown version {other}",
                        $name
                    ))),
                }
            }
        }
    };
}

versioned!(Order, "order", 3, { 1 => OrderV1, 2 => OrderV2 });

/// A list row as version 1 stored it: before the ticket fields.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct OrderSummaryV1 {
    pub(crate) id: OrderId,
    pub(crate) customer: CustomerId,
    pub(crate) title: String,
    pub(crate) stage: StageId,
    pub(crate) assignee: Option<UserId>,
    pub(crate) markers: Vec<MarkerId>,
    pub(crate) budget: Option<Money>,
    pub(crate) price: Option<Money>,
    pub(crate) deadline: Option<Date>,
    pub(crate) priority: i32,
    pub(crate) created_at: Timestamp,
    pub(crate) updated_at: Timestamp,
}

impl From<OrderSummaryV1> for OrderSummary {
    fn from(old: OrderSummaryV1) -> Self {
        OrderSummary {
            id: old.id,
            customer: old.customer,
            title: old.title,
            stage: old.stage,
            assignee: old.assignee,
            markers: old.markers,
            budget: old.budget,
            price: old.price,
            deadline: old.deadline,
            priority: old.priority,
            created_at: old.created_at,
            updated_at: old.updated_at,
            fields: Vec::new(),
        }
    }
}

versioned!(OrderSummary, "order row", 2, { 1 => OrderSummaryV1 });

/// A language as records of version 1 stored it: an enum index (English 0, Russian 1). Today
/// a language is stored as its code, so adding one changes no stored data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum LanguageV1 {
    En,
    Ru,
}

impl From<LanguageV1> for Language {
    fn from(old: LanguageV1) -> Self {
        match old {
            LanguageV1::En => Language::EN,
            LanguageV1::Ru => Language::RU,
        }
    }
}

/// A customer of record version 1 (language as [`LanguageV1`]).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct CustomerV1 {
    id: CustomerId,
    telegram_id: Option<TelegramUserId>,
    username: Option<String>,
    first_name: String,
    last_name: Option<String>,
    phone: Option<String>,
    email: Option<String>,
    language: LanguageV1,
    unreachable: bool,
    unread: u32,
    created_at: Timestamp,
    last_activity_at: Timestamp,
}

impl From<CustomerV1> for Customer {
    fn from(old: CustomerV1) -> Self {
        Customer {
            id: old.id,
            telegram_id: old.telegram_id,
            username: old.username,
            first_name: old.first_name,
            last_name: old.last_name,
            phone: old.phone,
            email: old.email,
            language: old.language.into(),
            unreachable: old.unreachable,
            unread: old.unread,
            created_at: old.created_at,
            last_activity_at: old.last_activity_at,
        }
    }
}

versioned!(Customer, "customer", 2, { 1 => CustomerV1 });

/// A staff user of record version 1 (language as [`LanguageV1`]).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct UserV1 {
    id: UserId,
    username: String,
    display_name: String,
    password_hash: String,
    must_change_password: bool,
    roles: Vec<RoleId>,
    markers: Vec<MarkerId>,
    telegram_id: Option<TelegramUserId>,
    status: UserStatus,
    operator_status: OperatorStatus,
    language: LanguageV1,
    payment_details: Vec<(String, String)>,
    created_at: Timestamp,
}

impl From<UserV1> for UserV2 {
    fn from(old: UserV1) -> Self {
        UserV2 {
            id: old.id,
            username: old.username,
            display_name: old.display_name,
            password_hash: old.password_hash,
            must_change_password: old.must_change_password,
            roles: old.roles,
            markers: old.markers,
            telegram_id: old.telegram_id,
            status: old.status,
            operator_status: old.operator_status,
            language: old.language.into(),
            payment_details: old.payment_details,
            created_at: old.created_at,
        }
    }
}

impl From<UserV1> for User {
    fn from(old: UserV1) -> Self {
        UserV2::from(old).into()
    }
}

/// A staff user of record version 2: saved payment details as (method name, text) pairs.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct UserV2 {
    pub(crate) id: UserId,
    pub(crate) username: String,
    pub(crate) display_name: String,
    pub(crate) password_hash: String,
    pub(crate) must_change_password: bool,
    pub(crate) roles: Vec<RoleId>,
    pub(crate) markers: Vec<MarkerId>,
    pub(crate) telegram_id: Option<TelegramUserId>,
    pub(crate) status: UserStatus,
    pub(crate) operator_status: OperatorStatus,
    pub(crate) language: Language,
    pub(crate) payment_details: Vec<(String, String)>,
    pub(crate) created_at: Timestamp,
}

impl From<UserV2> for User {
    /// Versions 1 and 2 had a list of (method name, text) pairs that no use case ever filled
    /// (every user was created with an empty one), and a name cannot be turned into a method
    /// id without the store; the upgrade starts every user with no saved details.
    fn from(old: UserV2) -> Self {
        UserV3 {
            id: old.id,
            username: old.username,
            display_name: old.display_name,
            password_hash: old.password_hash,
            must_change_password: old.must_change_password,
            roles: old.roles,
            markers: old.markers,
            telegram_id: old.telegram_id,
            status: old.status,
            operator_status: old.operator_status,
            language: old.language,
            payment_details: SavedPaymentDetails::default(),
            created_at: old.created_at,
        }
        .into()
    }
}

/// A staff user of record version 3: before the phone (issue 14).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct UserV3 {
    pub(crate) id: UserId,
    pub(crate) username: String,
    pub(crate) display_name: String,
    pub(crate) password_hash: String,
    pub(crate) must_change_password: bool,
    pub(crate) roles: Vec<RoleId>,
    pub(crate) markers: Vec<MarkerId>,
    pub(crate) telegram_id: Option<TelegramUserId>,
    pub(crate) status: UserStatus,
    pub(crate) operator_status: OperatorStatus,
    pub(crate) language: Language,
    pub(crate) payment_details: SavedPaymentDetails,
    pub(crate) created_at: Timestamp,
}

impl From<UserV3> for User {
    /// A user stored before phones has none.
    fn from(old: UserV3) -> Self {
        User {
            id: old.id,
            username: old.username,
            display_name: old.display_name,
            password_hash: old.password_hash,
            must_change_password: old.must_change_password,
            roles: old.roles,
            markers: old.markers,
            telegram_id: old.telegram_id,
            status: old.status,
            operator_status: old.operator_status,
            language: old.language,
            payment_details: old.payment_details,
            created_at: old.created_at,
            phone: None,
        }
    }
}

versioned!(User, "user", 4, { 1 => UserV1, 2 => UserV2, 3 => UserV3 });

/// A marker of record version 1: one name for every language.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct MarkerV1 {
    id: MarkerId,
    name: String,
    color: String,
}

impl From<MarkerV1> for Marker {
    fn from(old: MarkerV1) -> Self {
        Marker {
            id: old.id,
            name: Localized::new(old.name),
            color: old.color,
        }
    }
}

versioned!(Marker, "marker", 2, { 1 => MarkerV1 });

/// A pipeline stage of record version 1: an English and a Russian name.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct StageV1 {
    id: StageId,
    key: String,
    name_en: String,
    name_ru: String,
    kind: StageKind,
    color: String,
    customer_deletable: bool,
    payment_allowed: bool,
    requires_assignee: bool,
    accepts_bids: bool,
}

/// Organization settings of record version 1 (locale as [`LanguageV1`]).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct OrgSettingsV1 {
    locale: LanguageV1,
    currency: String,
    open_order_limit: u32,
    commission_bps: u32,
    commission_fixed: Money,
    bot_token: Option<String>,
}

/// An organization of record version 1.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct OrganizationV1 {
    id: OrgId,
    name: String,
    slug: String,
    template: String,
    settings: OrgSettingsV1,
    stages: Vec<StageV1>,
    transitions: Vec<Transition>,
    created_at: Timestamp,
}

impl From<OrganizationV1> for OrganizationV2 {
    fn from(old: OrganizationV1) -> Self {
        let stages = old
            .stages
            .into_iter()
            .map(|stage| Stage {
                id: stage.id,
                key: stage.key,
                name: Localized::default()
                    .with(Language::EN, stage.name_en)
                    .with(Language::RU, stage.name_ru),
                kind: stage.kind,
                color: stage.color,
                customer_deletable: stage.customer_deletable,
                payment_allowed: stage.payment_allowed,
                requires_assignee: stage.requires_assignee,
                accepts_bids: stage.accepts_bids,
            })
            .collect();
        OrganizationV2 {
            id: old.id,
            name: old.name,
            slug: old.slug,
            template: old.template,
            settings: OrgSettingsV2 {
                locale: old.settings.locale.into(),
                currency: old.settings.currency,
                open_order_limit: old.settings.open_order_limit,
                commission_bps: old.settings.commission_bps,
                commission_fixed: old.settings.commission_fixed,
                bot_token: old.settings.bot_token,
            },
            pipeline: Pipeline {
                stages,
                transitions: old.transitions,
            },
            created_at: old.created_at,
        }
    }
}

impl From<OrganizationV1> for Organization {
    fn from(old: OrganizationV1) -> Self {
        OrganizationV2::from(old).into()
    }
}

/// Organization settings of record version 2: before the time zone.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct OrgSettingsV2 {
    locale: Language,
    currency: String,
    open_order_limit: u32,
    commission_bps: u32,
    commission_fixed: Money,
    bot_token: Option<String>,
}

/// An organization of record version 2: before modules (SPEC 3.1) and the time zone.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct OrganizationV2 {
    id: OrgId,
    name: String,
    slug: String,
    template: String,
    settings: OrgSettingsV2,
    pipeline: Pipeline,
    created_at: Timestamp,
}

#[cfg(test)]
impl OrganizationV2 {
    /// `org` as record version 2 stored it (for the migration's tests).
    pub(crate) fn from_current(org: &Organization) -> Self {
        OrganizationV2 {
            id: org.id,
            name: org.name.clone(),
            slug: org.slug.clone(),
            template: org.template.clone(),
            settings: OrgSettingsV2 {
                locale: org.settings.locale,
                currency: org.settings.currency.clone(),
                open_order_limit: org.settings.open_order_limit,
                commission_bps: org.settings.commission_bps,
                commission_fixed: org.settings.commission_fixed,
                bot_token: org.settings.bot_token.clone(),
            },
            pipeline: org.pipeline.clone(),
            created_at: org.created_at,
        }
    }
}

impl From<OrganizationV2> for Organization {
    /// An organization stored before modules runs the modules its template presets today,
    /// so a helpdesk made earlier gets its operators and tickets; its time zone is UTC.
    fn from(old: OrganizationV2) -> Self {
        OrganizationV3::from(old).into()
    }
}

impl From<OrganizationV2> for OrganizationV3 {
    fn from(old: OrganizationV2) -> Self {
        let modules = crate::templates::template(&old.template)
            .map(|template| template.modules)
            .unwrap_or_default();
        OrganizationV3 {
            id: old.id,
            name: old.name,
            slug: old.slug,
            template: old.template,
            settings: OrgSettings {
                locale: old.settings.locale,
                currency: old.settings.currency,
                open_order_limit: old.settings.open_order_limit,
                commission_bps: old.settings.commission_bps,
                commission_fixed: old.settings.commission_fixed,
                bot_token: old.settings.bot_token,
                time_zone: DEFAULT_TIME_ZONE.to_string(),
            },
            pipeline: old.pipeline,
            modules,
            created_at: old.created_at,
        }
    }
}

/// An organization of record version 3: before its owner and the disabled mark (issue 14).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct OrganizationV3 {
    id: OrgId,
    name: String,
    slug: String,
    template: String,
    settings: OrgSettings,
    pipeline: Pipeline,
    modules: Modules,
    created_at: Timestamp,
}

#[cfg(test)]
impl OrganizationV3 {
    /// `org` as record version 3 stored it (for the migration's tests).
    pub(crate) fn from_current(org: &Organization) -> Self {
        OrganizationV3 {
            id: org.id,
            name: org.name.clone(),
            slug: org.slug.clone(),
            template: org.template.clone(),
            settings: org.settings.clone(),
            pipeline: org.pipeline.clone(),
            modules: org.modules,
            created_at: org.created_at,
        }
    }
}

impl From<OrganizationV3> for Organization {
    /// An organization stored before owners has none until the schema 9 migration names its
    /// first administrator (`store::schema`); it is enabled.
    fn from(old: OrganizationV3) -> Self {
        Organization {
            id: old.id,
            name: old.name,
            slug: old.slug,
            template: old.template,
            settings: old.settings,
            pipeline: old.pipeline,
            modules: old.modules,
            created_at: old.created_at,
            owner: None,
            disabled: None,
        }
    }
}

versioned!(Organization, "organization", 4, {
    1 => OrganizationV1,
    2 => OrganizationV2,
    3 => OrganizationV3,
});

/// An audit entry of record version 1: action, record and details in words.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct AuditEntryV1 {
    id: AuditId,
    at: Timestamp,
    actor: ActorRef,
    action: String,
    entity: String,
    summary: String,
    ip: Option<String>,
    user_agent: Option<String>,
}

impl TryFrom<AuditEntryV1> for AuditEntry {
    type Error = crate::Error;

    fn try_from(old: AuditEntryV1) -> Result<Self> {
        let action = AuditAction::parse(&old.action).ok_or_else(|| {
            crate::Error::corrupt(format!(
                "audit entry {} has an unknown action {:?}",
                old.id, old.action
            ))
        })?;
        Ok(AuditEntry {
            id: old.id,
            at: old.at,
            actor: old.actor,
            action,
            subject: Subject::parse_legacy(&old.entity),
            detail: if old.summary.is_empty() {
                AuditDetail::None
            } else {
                AuditDetail::Text(old.summary)
            },
            ip: old.ip,
            user_agent: old.user_agent,
        })
    }
}

impl Record for AuditEntry {
    const VERSION: u8 = 2;
    const NAME: &'static str = "audit";

    fn upgrade(version: u8, body: &[u8]) -> Result<Self> {
        match version {
            1 => decode_body::<AuditEntryV1>(body, "audit v1")?.try_into(),
            other => Err(crate::Error::corrupt(format!(
                "audit record has unknown version {other}"
            ))),
        }
    }
}

/// A notification of outbox record version 1: a stage change named the stage in English and
/// Russian.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) enum EventV1 {
    OrderCreated {
        order: OrderId,
        title: String,
        customer_name: String,
        budget: Option<Money>,
    },
    OrderApproved {
        order: OrderId,
        title: String,
    },
    OrderRejected {
        order: OrderId,
        title: String,
        reason: String,
    },
    BidPlaced {
        order: OrderId,
        title: String,
        bidder: String,
        price: Money,
        currency: String,
    },
    OrderAssigned {
        order: OrderId,
        title: String,
        assignee: String,
        to_assignee: bool,
    },
    StageChanged {
        order: OrderId,
        title: String,
        stage: StageId,
        stage_en: String,
        stage_ru: String,
    },
    PaymentInfo {
        order: OrderId,
        title: String,
        method: String,
        amount: Money,
        currency: String,
        details: String,
        message: MessageId,
    },
    StaffLinked {
        display_name: String,
    },
}

impl From<EventV1> for Event {
    fn from(old: EventV1) -> Self {
        match old {
            EventV1::OrderCreated {
                order,
                title,
                customer_name,
                budget,
            } => Event::OrderCreated {
                order,
                title,
                customer_name,
                budget,
            },
            EventV1::OrderApproved { order, title } => Event::OrderApproved { order, title },
            EventV1::OrderRejected {
                order,
                title,
                reason,
            } => Event::OrderRejected {
                order,
                title,
                reason,
            },
            EventV1::BidPlaced {
                order,
                title,
                bidder,
                price,
                currency,
            } => Event::BidPlaced {
                order,
                title,
                bidder,
                price,
                currency,
            },
            EventV1::OrderAssigned {
                order,
                title,
                assignee,
                to_assignee,
            } => Event::OrderAssigned {
                order,
                title,
                assignee,
                to_assignee,
            },
            EventV1::StageChanged {
                order,
                title,
                stage,
                stage_en,
                stage_ru,
            } => Event::StageChanged {
                order,
                title,
                stage,
                stage_name: Localized::default()
                    .with(Language::EN, stage_en)
                    .with(Language::RU, stage_ru),
            },
            EventV1::PaymentInfo {
                order,
                title,
                method,
                amount,
                currency,
                details,
                message,
            } => Event::PaymentInfo {
                order,
                title,
                method,
                amount,
                currency,
                details,
                message,
            },
            EventV1::StaffLinked { display_name } => Event::StaffLinked { display_name },
        }
    }
}

/// An outbox payload of record version 1: the bot's replies were Bot API calls by method name
/// with JSON parameters.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) enum OutboxPayloadV1 {
    Notify(EventV1),
    ChatMessage(MessageId),
    BotCall {
        method: String,
        params: String,
        media: Option<MediaHash>,
    },
}

/// An outbox item of record version 1.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct OutboxItemV1 {
    id: OutboxId,
    recipient: Recipient,
    payload: OutboxPayloadV1,
    attempts: u32,
    next_attempt_at: Timestamp,
    state: OutboxState,
    created_at: Timestamp,
}

/// The typed reply a version-1 bot call meant: the four methods the bot used. Anything else
/// (which this program never wrote) is `None`.
fn reply_of_bot_call(method: &str, params: &str) -> Option<BotReply> {
    let params: serde_json::Value = serde_json::from_str(params).ok()?;
    let text = |key: &str| params.get(key).and_then(serde_json::Value::as_str);
    let message_id = || params.get("message_id").and_then(serde_json::Value::as_i64);
    let keyboard = || {
        let rows = params
            .pointer("/reply_markup/inline_keyboard")?
            .as_array()?;
        let rows = rows
            .iter()
            .map(|row| {
                row.as_array()
                    .map(|buttons| {
                        buttons
                            .iter()
                            .filter_map(|button| {
                                let label = button.get("text")?.as_str()?;
                                if let Some(data) = button.get("callback_data") {
                                    Some(Button::callback(label, data.as_str()?))
                                } else {
                                    Some(Button::url(label, button.get("url")?.as_str()?))
                                }
                            })
                            .collect()
                    })
                    .unwrap_or_default()
            })
            .collect();
        Some(Keyboard::new(rows))
    };
    Some(match method {
        "sendMessage" => BotReply::Text {
            text: text("text")?.to_string(),
            keyboard: keyboard(),
        },
        "editMessageText" => BotReply::Edit {
            message_id: message_id()?,
            text: text("text")?.to_string(),
            keyboard: keyboard(),
        },
        "editMessageReplyMarkup" => BotReply::RemoveButtons {
            message_id: message_id()?,
        },
        "answerCallbackQuery" => BotReply::AnswerPress {
            query_id: text("callback_query_id")?.to_string(),
            text: text("text").map(str::to_string),
            alert: params
                .get("show_alert")
                .and_then(serde_json::Value::as_bool)
                .unwrap_or(false),
        },
        _ => return None,
    })
}

impl From<OutboxItemV1> for OutboxItem {
    fn from(old: OutboxItemV1) -> Self {
        let mut state = old.state;
        let payload = match old.payload {
            OutboxPayloadV1::Notify(event) => OutboxPayload::Notify(event.into()),
            OutboxPayloadV1::ChatMessage(message) => OutboxPayload::ChatMessage(message),
            OutboxPayloadV1::BotCall { method, params, .. } => {
                match reply_of_bot_call(&method, &params) {
                    Some(reply) => OutboxPayload::Reply(reply),
                    None => {
                        // Never written by this program; given up rather than guessed.
                        if state == OutboxState::Pending {
                            state = OutboxState::Failed {
                                reason: format!("a bot call {method:?} of an older version"),
                            };
                        }
                        OutboxPayload::Reply(BotReply::Text {
                            text: String::new(),
                            keyboard: None,
                        })
                    }
                }
            }
        };
        OutboxItem {
            id: old.id,
            recipient: old.recipient,
            payload,
            attempts: old.attempts,
            next_attempt_at: old.next_attempt_at,
            state,
            created_at: old.created_at,
        }
    }
}

versioned!(OutboxItem, "outbox", 2, { 1 => OutboxItemV1 });

/// A chat message of record version 1 (schemas 1 to 6): before content kinds, replies, edit
/// history, deletion, albums and notes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct MessageV1 {
    pub(crate) id: MessageId,
    pub(crate) customer: CustomerId,
    pub(crate) order: Option<OrderId>,
    pub(crate) direction: Direction,
    pub(crate) author: Author,
    pub(crate) text: String,
    pub(crate) attachments: Vec<Attachment>,
    pub(crate) telegram_message_id: Option<i64>,
    pub(crate) delivery: DeliveryState,
    pub(crate) created_at: Timestamp,
}

impl From<MessageV1> for Message {
    /// A version 1 message carries text and files only, replied to nothing, was never edited
    /// nor deleted, and is no album.
    fn from(old: MessageV1) -> Self {
        Message {
            id: old.id,
            customer: old.customer,
            order: old.order,
            direction: old.direction,
            author: old.author,
            text: old.text,
            attachments: old.attachments,
            telegram_message_id: old.telegram_message_id,
            delivery: old.delivery,
            created_at: old.created_at,
            content: None,
            reply_to: None,
            edits: Vec::new(),
            deleted_at: None,
            media_group: None,
        }
    }
}

versioned!(Message, "message", 2, { 1 => MessageV1 });

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::store::codec::{decode, encode, encode_body};

    fn text() -> impl Strategy<Value = String> {
        prop_oneof![".{0,40}", "[а-яё ]{0,20}", Just(String::new())]
    }

    prop_compose! {
        fn order_v1()(
            id in any::<u64>(), customer in any::<u64>(), title in text(), description in text(),
            budget in proptest::option::of(any::<i64>()), deadline in proptest::option::of(any::<i32>()),
            stage in any::<u16>(), assignee in proptest::option::of(any::<u64>()),
            price in proptest::option::of(any::<i64>()), rejection in proptest::option::of(text()),
            created in any::<i64>(), updated in any::<i64>(),
        ) -> OrderV1 {
            OrderV1 {
                id: OrderId(id), customer: CustomerId(customer), title, description,
                budget: budget.map(Money), deadline: deadline.map(|days| Date { days }),
                stage: StageId(stage), assignee: assignee.map(UserId), price: price.map(Money),
                rejection_reason: rejection, created_at: Timestamp(created), updated_at: Timestamp(updated),
            }
        }
    }

    fn field_value() -> impl Strategy<Value = FieldValue> {
        prop_oneof![
            text().prop_map(FieldValue::Text),
            any::<i64>().prop_map(FieldValue::Number),
            any::<bool>().prop_map(FieldValue::Flag),
            any::<i32>().prop_map(|days| FieldValue::Date(Date { days })),
        ]
    }

    prop_compose! {
        fn order_v2()(
            old in order_v1(), markers in proptest::collection::vec(any::<u64>(), 0..4),
            priority in any::<i32>(), attachments in proptest::collection::vec(any::<[u8; 32]>(), 0..3),
            fields in proptest::collection::btree_map(text(), field_value(), 0..4),
        ) -> OrderV2 {
            OrderV2 {
                id: old.id, customer: old.customer, title: old.title, description: old.description,
                budget: old.budget, deadline: old.deadline, stage: old.stage, assignee: old.assignee,
                price: old.price, markers: markers.into_iter().map(MarkerId).collect(), priority,
                rejection_reason: old.rejection_reason,
                attachments: attachments.into_iter().map(MediaHash).collect(), custom_fields: fields,
                created_at: old.created_at, updated_at: old.updated_at,
            }
        }
    }

    prop_compose! {
        fn order()(
            old in order_v2(), method in proptest::option::of(any::<u64>()),
        ) -> Order {
            let mut order: Order = old.into();
            order.preferred_payment_method = method.map(PaymentMethodId);
            order
        }
    }

    prop_compose! {
        fn message_v1()(
            id in any::<u64>(), customer in any::<u64>(), order in proptest::option::of(any::<u64>()),
            inbound in any::<bool>(), text in text(), telegram in proptest::option::of(any::<i64>()),
            at in any::<i64>(), hash in any::<[u8; 32]>(), size in any::<u64>(), name in proptest::option::of(text()),
        ) -> MessageV1 {
            MessageV1 {
                id: MessageId(id), customer: CustomerId(customer), order: order.map(OrderId),
                direction: if inbound { Direction::Inbound } else { Direction::Outbound },
                author: if inbound { Author::Customer(CustomerId(customer)) } else { Author::System },
                text,
                attachments: vec![Attachment { media: MediaHash(hash), kind: MediaKind::Photo, file_name: name, mime: "image/jpeg".into(), size }],
                telegram_message_id: telegram, delivery: DeliveryState::Received, created_at: Timestamp(at),
            }
        }
    }

    fn content() -> impl Strategy<Value = MessageContent> {
        prop_oneof![
            (-90.0f64..90.0, -180.0f64..180.0).prop_map(|(latitude, longitude)| {
                MessageContent::Location {
                    latitude,
                    longitude,
                }
            }),
            (-90.0f64..90.0, -180.0f64..180.0, text(), text()).prop_map(
                |(latitude, longitude, title, address)| MessageContent::Venue {
                    latitude,
                    longitude,
                    title,
                    address
                }
            ),
            (text(), text(), proptest::option::of(text())).prop_map(
                |(phone, first_name, last_name)| MessageContent::Contact {
                    phone,
                    first_name,
                    last_name
                }
            ),
            (proptest::option::of(text()), any::<bool>())
                .prop_map(|(emoji, animated)| MessageContent::Sticker { emoji, animated }),
            (text(), any::<u8>()).prop_map(|(emoji, value)| MessageContent::Dice { emoji, value }),
            (text(), proptest::collection::vec(text(), 0..4))
                .prop_map(|(question, options)| MessageContent::Poll { question, options }),
        ]
    }

    prop_compose! {
        fn message()(
            old in message_v1(), note in any::<bool>(), content in proptest::option::of(content()),
            reply in proptest::option::of(any::<u64>()),
            edits in proptest::collection::vec((text(), any::<i64>()), 0..3),
            deleted in proptest::option::of(any::<i64>()), group in proptest::option::of(text()),
        ) -> Message {
            let mut message: Message = old.into();
            if note {
                message.direction = Direction::Note;
            }
            message.content = content;
            message.reply_to = reply.map(MessageId);
            message.edits = edits.into_iter().map(|(text, at)| MessageEdit { text, at: Timestamp(at) }).collect();
            message.deleted_at = deleted.map(Timestamp);
            message.media_group = group;
            message
        }
    }

    proptest! {
        #[test]
        fn every_order_round_trips_through_the_codec(order in order()) {
            let bytes = encode(&order).unwrap();
            prop_assert_eq!(bytes[0], 3);
            prop_assert_eq!(decode::<Order>(&bytes).unwrap(), order);
        }

        #[test]
        fn an_order_written_as_version_1_decodes_into_today_s_order(old in order_v1()) {
            let bytes = encode_body(&old, 1, "order").unwrap();
            prop_assert_eq!(decode::<Order>(&bytes).unwrap(), Order::from(old));
        }

        #[test]
        fn an_order_written_as_version_2_decodes_into_today_s_order_without_a_preferred_method(old in order_v2()) {
            let bytes = encode_body(&old, 2, "order").unwrap();
            let order = decode::<Order>(&bytes).unwrap();
            prop_assert_eq!(order.preferred_payment_method, None);
            prop_assert_eq!(&order.markers, &old.markers);
            prop_assert_eq!(&order.attachments, &old.attachments);
            prop_assert_eq!(&order.custom_fields, &old.custom_fields);
            prop_assert_eq!(order, Order::from(old));
        }

        #[test]
        fn every_message_round_trips_through_the_codec(message in message()) {
            let bytes = encode(&message).unwrap();
            prop_assert_eq!(bytes[0], 2);
            prop_assert_eq!(decode::<Message>(&bytes).unwrap(), message);
        }

        #[test]
        fn a_message_written_as_version_1_decodes_into_a_plain_message(old in message_v1()) {
            let bytes = encode_body(&old, 1, "message").unwrap();
            let message = decode::<Message>(&bytes).unwrap();
            prop_assert_eq!(&message.text, &old.text);
            prop_assert_eq!(message.content.clone(), None);
            prop_assert!(message.edits.is_empty());
            prop_assert_eq!(message, Message::from(old));
        }

        #[test]
        fn arbitrary_bytes_decode_to_an_error_or_a_value_never_a_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = decode::<Order>(&bytes);
            let _ = decode::<Customer>(&bytes);
            let _ = decode::<OutboxItem>(&bytes);
        }
    }

    fn user_v2() -> UserV2 {
        UserV2 {
            id: UserId(7),
            username: "anna".into(),
            display_name: "Anna".into(),
            password_hash: "$argon2id$...".into(),
            must_change_password: false,
            roles: vec![RoleId(2)],
            markers: vec![MarkerId(3), MarkerId(1)],
            telegram_id: Some(TelegramUserId(42)),
            status: UserStatus::Active,
            operator_status: OperatorStatus::Away,
            language: Language::RU,
            payment_details: vec![("Bank transfer".into(), "IBAN DE00".into())],
            created_at: Timestamp(1_700_000_000_000),
        }
    }

    #[test]
    fn a_user_written_as_version_2_decodes_into_todays_user_without_saved_details() {
        let old = user_v2();
        let bytes = encode_body(&old, 2, "user").unwrap();
        let user = decode::<User>(&bytes).unwrap();
        assert_eq!(user.username, "anna");
        assert_eq!(user.markers, vec![MarkerId(3), MarkerId(1)]);
        assert_eq!(user.language, Language::RU);
        assert_eq!(user.operator_status, OperatorStatus::Away);
        assert_eq!(user.telegram_id, Some(TelegramUserId(42)));
        assert!(user.payment_details.is_empty());

        // Today's user keeps saved details by payment method through the codec.
        let mut today = user;
        today.payment_details.set(PaymentMethodId(4), "IBAN DE00");
        let bytes = encode(&today).unwrap();
        assert_eq!(bytes[0], 4);
        assert_eq!(decode::<User>(&bytes).unwrap(), today);
    }

    #[test]
    fn a_user_written_as_version_3_decodes_without_a_phone_and_keeps_one_once_set() {
        let v2 = user_v2();
        let old = UserV3 {
            id: v2.id,
            username: v2.username,
            display_name: v2.display_name,
            password_hash: v2.password_hash,
            must_change_password: v2.must_change_password,
            roles: v2.roles,
            markers: v2.markers,
            telegram_id: v2.telegram_id,
            status: v2.status,
            operator_status: v2.operator_status,
            language: v2.language,
            payment_details: SavedPaymentDetails::default(),
            created_at: v2.created_at,
        };
        let bytes = encode_body(&old, 3, "user").unwrap();
        let mut user = decode::<User>(&bytes).unwrap();
        assert_eq!(user.username, "anna");
        assert_eq!(user.telegram_id, Some(TelegramUserId(42)));
        assert_eq!(user.phone, None);
        user.phone = Some("+79161234567".into());
        let bytes = encode(&user).unwrap();
        assert_eq!(bytes[0], 4);
        assert_eq!(decode::<User>(&bytes).unwrap(), user);
    }

    #[test]
    fn a_user_written_as_version_1_decodes_into_todays_user() {
        let old = UserV1 {
            id: UserId(7),
            username: "ivan".into(),
            display_name: "Ivan".into(),
            password_hash: "$argon2id$...".into(),
            must_change_password: true,
            roles: vec![RoleId(1)],
            markers: Vec::new(),
            telegram_id: None,
            status: UserStatus::Disabled,
            operator_status: OperatorStatus::Offline,
            language: LanguageV1::Ru,
            payment_details: Vec::new(),
            created_at: Timestamp(1),
        };
        let bytes = encode_body(&old, 1, "user").unwrap();
        let user = decode::<User>(&bytes).unwrap();
        assert_eq!(user.username, "ivan");
        assert_eq!(user.language, Language::RU);
        assert_eq!(user.status, UserStatus::Disabled);
        assert!(user.must_change_password);
    }

    #[test]
    fn an_unknown_version_is_reported_not_guessed() {
        let error = decode::<Customer>(&[9, 0, 0]).unwrap_err();
        assert_eq!(error.kind(), crate::ErrorKind::Storage);
        assert!(error.to_string().contains("unknown version 9"), "{error}");
    }

    #[test]
    fn trailing_bytes_are_corruption() {
        let marker = Marker {
            id: MarkerId(1),
            name: "Rust".into(),
            color: "#dea584".into(),
        };
        let mut bytes = encode(&marker).unwrap();
        bytes.push(0);
        assert!(
            decode::<Marker>(&bytes)
                .unwrap_err()
                .to_string()
                .contains("trailing")
        );
    }
}
