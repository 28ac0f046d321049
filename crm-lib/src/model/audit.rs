//! The audit log's records and the change feed: what each write transaction records beside
//! its effects (SPEC section 3.1, "Typed change feed").
//!
//! An [`AuditEntry`] is for people: who did what ([`AuditAction`], a stable string such as
//! `order.stage_changed`) to which record ([`Subject`]), with typed details ([`AuditDetail`])
//! that a page renders in its reader's language, with names. A [`Change`] is for programs: the
//! browser's live updates read the changes after their cursor and never parse audit text.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::{
    ActorRef, ApiTokenId, AuditId, BidId, BroadcastId, CallId, CannedId, CustomerId, DepartmentId,
    MarkerId, MediaHash, MessageId, Money, OrderId, PaymentMethodId, ProfileId, ProjectId, RoleId,
    StageId, Timestamp, UserId, WebhookEndpointId,
};

macro_rules! audit_actions {
    ($($(#[$meta:meta])* $variant:ident = $text:literal,)*) => {
        /// What an audit entry records. The string form ([`AuditAction::as_str`]) is stable:
        /// it is what the store keeps, what exports write and what filters match, so a
        /// variant may be added but never renamed.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        pub enum AuditAction {
            $($(#[$meta])* $variant,)*
        }

        impl AuditAction {
            /// Every action, in declaration order.
            pub const ALL: &'static [AuditAction] = &[$(AuditAction::$variant,)*];

            /// The stable string form (`order.stage_changed`).
            pub fn as_str(self) -> &'static str {
                match self {
                    $(AuditAction::$variant => $text,)*
                }
            }
        }
    };
}

audit_actions! {
    /// An organization was created (first start, `crm init`).
    OrganizationCreated = "organization.created",
    /// Organization settings changed.
    OrganizationSettingsChanged = "organization.settings_changed",
    /// An organization was renamed (`crm org rename`).
    OrganizationRenamed = "organization.renamed",
    /// An organization was disabled: its bot stopped, its staff's sessions ended.
    OrganizationDisabled = "organization.disabled",
    /// A disabled organization was enabled again.
    OrganizationEnabled = "organization.enabled",
    /// An organization's bot token was set or removed (`crm org set-token`; never the token).
    OrganizationBotTokenChanged = "organization.bot_token_changed",
    /// An organization got its owner (`crm org create`).
    OrganizationOwnerSet = "organization.owner_set",
    /// A pipeline stage was renamed or recoloured.
    PipelineStageChanged = "pipeline.stage_changed",
    /// A staff account was created.
    UserCreated = "user.created",
    /// A staff account was disabled.
    UserDisabled = "user.disabled",
    /// A staff account was enabled again.
    UserEnabled = "user.enabled",
    /// A user's roles changed.
    UserRolesChanged = "user.roles_changed",
    /// A user's skill markers changed.
    UserMarkersChanged = "user.markers_changed",
    /// A password was set or changed.
    UserPasswordChanged = "user.password_changed",
    /// A user changed their own profile.
    UserProfileChanged = "user.profile_changed",
    /// A Telegram link code was issued.
    UserLinkCodeCreated = "user.link_code_created",
    /// A Telegram account was linked to a user.
    UserTelegramLinked = "user.telegram_linked",
    /// A user logged in.
    UserLoggedIn = "user.logged_in",
    /// A user logged out.
    UserLoggedOut = "user.logged_out",
    /// A session was ended by its user or an administrator.
    UserSessionRevoked = "user.session_revoked",
    /// A role was created.
    RoleCreated = "role.created",
    /// A role's permissions changed.
    RolePermissionsChanged = "role.permissions_changed",
    /// A marker was created.
    MarkerCreated = "marker.created",
    /// A customer appeared (through the bot, the API, an import).
    CustomerCreated = "customer.created",
    /// A customer chose another language.
    CustomerLanguageChanged = "customer.language_changed",
    /// A customer's Telegram name or username changed (seen on their next update).
    CustomerProfileChanged = "customer.profile_changed",
    /// A customer can be reached again (wrote to the bot after blocking it).
    CustomerReachable = "customer.reachable",
    /// A customer blocked the bot: nothing more is sent to them.
    CustomerUnreachable = "customer.unreachable",
    /// An order was created.
    OrderCreated = "order.created",
    /// An order was imported from CSV.
    OrderImported = "order.imported",
    /// An order passed moderation.
    OrderApproved = "order.approved",
    /// An order was rejected in moderation.
    OrderRejected = "order.rejected",
    /// An order moved to another stage.
    OrderStageChanged = "order.stage_changed",
    /// An order was assigned.
    OrderAssigned = "order.assigned",
    /// A customer deleted their order.
    OrderDeleted = "order.deleted",
    /// An order's markers changed.
    OrderMarkersChanged = "order.markers_changed",
    /// A bid was placed on an order.
    BidPlaced = "bid.placed",
    /// Payment details were sent for an order.
    PaymentSent = "payment.sent",
    /// A payment method was created.
    PaymentMethodCreated = "payment_method.created",
    /// A payment method was switched on again.
    PaymentMethodActivated = "payment_method.activated",
    /// A payment method was switched off.
    PaymentMethodDeactivated = "payment_method.deactivated",
    /// A customer's message arrived.
    MessageReceived = "message.received",
    /// Staff sent a message to a customer.
    MessageSent = "message.sent",
    /// Staff read a conversation.
    ConversationRead = "conversation.read",
    /// An API token was created.
    ApiTokenCreated = "api_token.created",
    /// An API token was revoked.
    ApiTokenRevoked = "api_token.revoked",
    /// The demo data was loaded.
    DemoLoaded = "demo.loaded",
    /// A file was uploaded through the API before the message that sends it.
    MediaUploaded = "media.uploaded",
    /// A marker was renamed or recoloured.
    MarkerChanged = "marker.changed",
    /// A marker was deleted, and taken off every order and user that had it.
    MarkerDeleted = "marker.deleted",
    /// A user saved or removed their payment details for a payment method.
    UserPaymentDetailsChanged = "user.payment_details_changed",
    /// An administrator reset a user's password to a new random one.
    UserPasswordReset = "user.password_reset",
    /// A user was given temporary access (view and chat) to one order.
    OrderAccessGranted = "order.access_granted",
    /// A user's temporary access to one order was revoked.
    OrderAccessRevoked = "order.access_revoked",
    /// The scheduled jobs' settings changed (retention, report time, archive age, jobs
    /// switched on or off).
    JobSettingsChanged = "jobs.settings_changed",
    /// Someone ran a scheduled job by hand ("run now").
    JobRunRequested = "jobs.run_requested",
    /// A ticket's typed fields were edited.
    OrderFieldsChanged = "order.fields_changed",
    /// The fraud rules' thresholds or the blocklist changed.
    FraudSettingsChanged = "fraud.settings_changed",
    /// A fraud flag of a ticket was cleared with a note.
    FraudFlagCleared = "fraud.flag_cleared",
    /// A department was created (operators module).
    DepartmentCreated = "department.created",
    /// A department was renamed.
    DepartmentRenamed = "department.renamed",
    /// A department was archived.
    DepartmentArchived = "department.archived",
    /// An archived department was restored.
    DepartmentRestored = "department.restored",
    /// An operator joined a department.
    DepartmentMemberAdded = "department.member_added",
    /// An operator left a department.
    DepartmentMemberRemoved = "department.member_removed",
    /// An operator went online, away or offline.
    OperatorStatusChanged = "operator.status_changed",
    /// The operators module's settings changed.
    OperatorSettingsChanged = "operator.settings_changed",
    /// A customer's conversation was opened by their message.
    ConversationOpened = "conversation.opened",
    /// A conversation or ticket of the operators queue got an assignee, or went back to its
    /// department's queue.
    QueueAssigned = "queue.assigned",
    /// A conversation was closed.
    ConversationClosed = "conversation.closed",
    /// A closed conversation was reopened.
    ConversationReopened = "conversation.reopened",
    /// The PBX told of a new call (its first notification).
    CallRecorded = "call.recorded",
    /// A later PBX notification (answer, end) changed a call.
    CallUpdated = "call.updated",
    /// The PBX settings changed (the API secret or the extension map).
    CallSettingsChanged = "call.settings_changed",
    /// A batch of closed conversations was archived by the `archive_conversations` job (the
    /// detail holds the count).
    ConversationsArchived = "conversation.archived",
    /// Staff wrote a private note in a customer's conversation (never sent).
    NotePosted = "message.note_posted",
    /// A message was edited: by the customer in Telegram, or by staff (sent again as an
    /// edit); the earlier text is kept in the message's history.
    MessageEdited = "message.edited",
    /// Staff deleted a message they sent (deleted in Telegram too).
    MessageDeleted = "message.deleted",
    /// A canned response was created.
    CannedCreated = "canned.created",
    /// A canned response was changed.
    CannedUpdated = "canned.updated",
    /// A canned response was deleted.
    CannedDeleted = "canned.deleted",
    /// The business hours (schedule, holidays, time zone, auto-reply) changed.
    HoursChanged = "hours.changed",
    /// The out-of-hours auto-reply was sent to a customer (once per closed period).
    AutoReplySent = "hours.auto_reply_sent",
    /// A conversation was snoozed in the inbox until a time or the customer's next message.
    ConversationSnoozed = "conversation.snoozed",
    /// The staff supergroup's settings changed (issue 12): a link code was made, a group was
    /// linked or unlinked, the forum mirror was switched on or off.
    StaffGroupChanged = "staff_group.changed",
    /// Two customers were merged into one (the detail names both ids and what moved).
    CustomerMerged = "customer.merged",
    /// A satisfaction survey was queued to a customer for a finished order.
    CsatSurveySent = "csat.survey_sent",
    /// A customer rated an order (1-5 stars).
    CsatRated = "csat.rated",
    /// A customer commented on their rating.
    CsatCommented = "csat.commented",
    /// The satisfaction survey's settings changed.
    CsatSettingsChanged = "csat.settings_changed",
    /// A package of the token service was created or changed (issue 13).
    PackageSaved = "package.saved",
    /// The token service's settings changed.
    TokenSettingsChanged = "tokens.settings_changed",
    /// Tokens were bought with a payment (a ledger purchase).
    TokensPurchased = "tokens.purchased",
    /// Tokens were spent on an order or the subscription.
    TokensSpent = "tokens.spent",
    /// A cancelled order's tokens were given back.
    TokensRefunded = "tokens.refunded",
    /// Staff adjusted a balance with a reason.
    TokensAdjusted = "tokens.adjusted",
    /// Staff gave bonus tokens.
    TokensBonus = "tokens.bonus",
    /// A premium subscription was bought, granted or extended.
    SubscriptionStarted = "subscription.started",
    /// A subscriber was reminded of the end.
    SubscriptionReminded = "subscription.reminded",
    /// A subscriber was told the subscription ended.
    SubscriptionExpired = "subscription.expired",
    /// An order was moved in the token service's queue.
    QueueReordered = "queue.reordered",
    /// A completed order was run again as a new order.
    OrderRerun = "order.rerun",
    /// A message was scheduled for a customer.
    MessageScheduled = "message.scheduled",
    /// A scheduled message was cancelled before its moment.
    ScheduledCancelled = "message.schedule_cancelled",
    /// A scheduled message's moment came and it could not be sent.
    ScheduledFailed = "message.schedule_failed",
    /// A webhook endpoint was added.
    WebhookCreated = "webhook.created",
    /// A webhook endpoint's URL, description, events or enabled flag changed.
    WebhookUpdated = "webhook.updated",
    /// A webhook endpoint was deleted (with its delivery log).
    WebhookDeleted = "webhook.deleted",
    /// A webhook endpoint's signing secret was replaced.
    WebhookSecretRotated = "webhook.secret_rotated",
    /// Staff asked for another attempt of a webhook message (same message id).
    WebhookRedelivered = "webhook.redelivered",
    /// Staff sent a test event to a webhook endpoint.
    WebhookTested = "webhook.tested",
    /// A customer's profile was created (a confirmed registration, or staff).
    ProfileCreated = "profile.created",
    /// A profile's answers were changed.
    ProfileUpdated = "profile.updated",
    /// A profile was archived (no longer offered).
    ProfileArchived = "profile.archived",
    /// An archived profile was restored.
    ProfileRestored = "profile.restored",
    /// The registration form's definition was changed in settings.
    RegistrationFormChanged = "registration.form_changed",
    /// A customer or staff asked for an invoice for tokens.
    PaymentInvoiceCreated = "payment.invoice_created",
    /// A payment was received and its tokens credited (once per invoice).
    PaymentSucceeded = "payment.succeeded",
    /// An invoice expired or failed at the provider.
    PaymentFailed = "payment.failed",
    /// Staff refunded a paid invoice.
    PaymentRefunded = "payment.refunded",
    /// The payment settings changed.
    PaymentSettingsChanged = "payment.settings_changed",
    /// A broadcast was written (a draft).
    BroadcastCreated = "broadcast.created",
    /// A draft's title, text, audience or rate changed.
    BroadcastUpdated = "broadcast.updated",
    /// A draft was sent to staff's linked chats as a test.
    BroadcastTested = "broadcast.tested",
    /// A broadcast was scheduled for a moment.
    BroadcastScheduled = "broadcast.scheduled",
    /// A broadcast started sending (its audience was picked).
    BroadcastStarted = "broadcast.started",
    /// A broadcast was paused.
    BroadcastPaused = "broadcast.paused",
    /// A paused broadcast was resumed.
    BroadcastResumed = "broadcast.resumed",
    /// A broadcast was cancelled (its recipients not sent to are skipped).
    BroadcastCancelled = "broadcast.cancelled",
    /// A draft or a scheduled broadcast was deleted.
    BroadcastDeleted = "broadcast.deleted",
    /// A project was made, from a won lead or by hand (issue 14).
    ProjectCreated = "project.created",
    /// A project's title, address or base budget changed.
    ProjectUpdated = "project.updated",
    /// A project's workers changed.
    ProjectWorkersChanged = "project.workers_changed",
    /// A stage was added to a project.
    ProjectStageAdded = "project.stage_added",
    /// A stage's progress was set.
    ProjectProgressSet = "project.progress_set",
    /// A daily report was added to a project.
    ProjectReportAdded = "project.report_added",
    /// An expense or income entry was added to a project.
    ProjectEntryAdded = "project.entry_added",
    /// An estimate line was added to a project.
    ProjectEstimateLineAdded = "project.estimate_line_added",
    /// A change request was written for the client to decide.
    ProjectChangeRequestCreated = "project.change_request_created",
    /// The client (or staff on their behalf) approved a change request.
    ProjectChangeRequestApproved = "project.change_request_approved",
    /// The client (or staff on their behalf) rejected a change request.
    ProjectChangeRequestRejected = "project.change_request_rejected",
    /// Staff withdrew a pending change request.
    ProjectChangeRequestWithdrawn = "project.change_request_withdrawn",
    /// A project was completed, reopened or archived.
    ProjectStateChanged = "project.state_changed",
    /// The AI's answer on a lead was written: its slots, summary and hot flag, and its reply
    /// to the customer (the projects module).
    LeadAiAnswered = "lead.ai_answered",
    /// A lead became hot: by the AI's answer, or a person setting its flag.
    LeadHot = "lead.hot",
    /// A person cleared a lead's hot flag.
    LeadNotHot = "lead.not_hot",
    /// A person stopped the AI on a lead.
    LeadAiStopped = "lead.ai_stopped",
    /// A person let the AI work a lead again.
    LeadAiResumed = "lead.ai_resumed",
    /// The AI failed on a lead too many times in a row: the fixed questions instead.
    LeadAiFellBack = "lead.ai_fell_back",
    /// A customer answered one of the fixed qualification questions (the slot written).
    LeadAnswered = "lead.answered",
    /// A customer confirmed their answers to the fixed qualification questions.
    LeadQualified = "lead.qualified",
    /// The AI settings were changed (never the key itself in the detail).
    AiSettingsChanged = "ai.settings_changed",
    /// A document was attached to a project (issue 14).
    ProjectDocumentAdded = "project.document_added",
    /// A document was removed from a project.
    ProjectDocumentRemoved = "project.document_removed",
    /// A staff user's phone was set, changed or removed (issue 14, the worker's bot).
    UserPhoneChanged = "user.phone_changed",
    /// Someone shared their Telegram contact to join the team and the phone matched no
    /// active staff user who works on projects (kept so that phone guessing shows).
    UserContactRefused = "user.contact_refused",
}

impl AuditAction {
    /// The action whose string form is `text`.
    pub fn parse(text: &str) -> Option<Self> {
        let text = text.trim();
        AuditAction::ALL
            .iter()
            .copied()
            .find(|action| action.as_str() == text)
    }

    /// The part before the dot (`order` of `order.created`): what kind of record it is about.
    pub fn area(self) -> &'static str {
        self.as_str().split('.').next().unwrap_or_default()
    }
}

impl fmt::Display for AuditAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for AuditAction {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for AuditAction {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        AuditAction::parse(&text)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown audit action {text:?}")))
    }
}

/// The record an audit entry or a change is about.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Subject {
    /// The organization itself (settings, pipeline).
    Organization,
    /// A staff user.
    User(UserId),
    /// A role.
    Role(RoleId),
    /// A marker.
    Marker(MarkerId),
    /// A customer (their profile).
    Customer(CustomerId),
    /// A customer's conversation with the team (unread state, the list's order).
    Conversation(CustomerId),
    /// An order.
    Order(OrderId),
    /// A chat message.
    Message(MessageId),
    /// A payment method.
    PaymentMethod(PaymentMethodId),
    /// An API token.
    ApiToken(ApiTokenId),
    /// A stored file.
    Media(MediaHash),
    /// A record an entry of an older version named in words that no longer parse.
    Other(String),
    /// A department of the operators module.
    Department(DepartmentId),
    /// A telephone call.
    Call(CallId),
    /// A canned response.
    Canned(CannedId),
    /// A webhook endpoint.
    Webhook(WebhookEndpointId),
    /// A customer's profile (the tokens module).
    Profile(ProfileId),
    /// A broadcast.
    Broadcast(BroadcastId),
    /// A project (its stages, reports, entries, estimate and change requests are its parts).
    Project(ProjectId),
}

impl Subject {
    /// Parses the words older entries named their record with (`order 42`).
    pub fn parse_legacy(text: &str) -> Subject {
        let parsed = text.rsplit_once(' ').and_then(|(kind, id)| {
            let id: u64 = id.parse().ok()?;
            Some(match kind {
                "organization" => Subject::Organization,
                "user" => Subject::User(UserId(id)),
                "role" => Subject::Role(RoleId(id)),
                "marker" => Subject::Marker(MarkerId(id)),
                "customer" => Subject::Customer(CustomerId(id)),
                "order" => Subject::Order(OrderId(id)),
                "message" => Subject::Message(MessageId(id)),
                "payment method" => Subject::PaymentMethod(PaymentMethodId(id)),
                "api token" => Subject::ApiToken(ApiTokenId(id)),
                "department" => Subject::Department(DepartmentId(id)),
                "call" => Subject::Call(CallId(id)),
                "canned response" => Subject::Canned(CannedId(id)),
                "webhook endpoint" => Subject::Webhook(WebhookEndpointId(id)),
                "profile" => Subject::Profile(ProfileId(id)),
                "broadcast" => Subject::Broadcast(BroadcastId(id)),
                "project" => Subject::Project(ProjectId(id)),
                _ => return None,
            })
        });
        parsed.unwrap_or_else(|| Subject::Other(text.to_string()))
    }

    /// The kind of record in words (`order`), as exports and filters name it.
    pub fn kind(&self) -> &'static str {
        match self {
            Subject::Organization => "organization",
            Subject::User(_) => UserId::LABEL,
            Subject::Role(_) => RoleId::LABEL,
            Subject::Marker(_) => MarkerId::LABEL,
            Subject::Customer(_) => CustomerId::LABEL,
            Subject::Conversation(_) => "conversation",
            Subject::Order(_) => OrderId::LABEL,
            Subject::Message(_) => MessageId::LABEL,
            Subject::PaymentMethod(_) => PaymentMethodId::LABEL,
            Subject::ApiToken(_) => ApiTokenId::LABEL,
            Subject::Department(_) => DepartmentId::LABEL,
            Subject::Media(_) => "media",
            Subject::Other(_) => "record",
            Subject::Call(_) => CallId::LABEL,
            Subject::Canned(_) => CannedId::LABEL,
            Subject::Webhook(_) => WebhookEndpointId::LABEL,
            Subject::Profile(_) => ProfileId::LABEL,
            Subject::Broadcast(_) => BroadcastId::LABEL,
            Subject::Project(_) => ProjectId::LABEL,
        }
    }

    /// The record's id, when it has one.
    pub fn id(&self) -> Option<u64> {
        match self {
            Subject::Organization | Subject::Media(_) | Subject::Other(_) => None,
            Subject::User(id) => Some(id.0),
            Subject::Role(id) => Some(id.0),
            Subject::Marker(id) => Some(id.0),
            Subject::Customer(id) | Subject::Conversation(id) => Some(id.0),
            Subject::Order(id) => Some(id.0),
            Subject::Message(id) => Some(id.0),
            Subject::PaymentMethod(id) => Some(id.0),
            Subject::ApiToken(id) => Some(id.0),
            Subject::Department(id) => Some(id.0),
            Subject::Call(id) => Some(id.0),
            Subject::Canned(id) => Some(id.0),
            Subject::Webhook(id) => Some(id.0),
            Subject::Profile(id) => Some(id.0),
            Subject::Broadcast(id) => Some(id.0),
            Subject::Project(id) => Some(id.0),
        }
    }
}

impl fmt::Display for Subject {
    /// `order 42`: the stable words exports write.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self, self.id()) {
            (Subject::Other(text), _) => f.write_str(text),
            (Subject::Media(hash), _) => write!(f, "media {hash}"),
            (_, Some(id)) => write!(f, "{} {id}", self.kind()),
            (_, None) => f.write_str(self.kind()),
        }
    }
}

/// What an audit entry says beyond its action and subject, typed so that a page can show it
/// in its reader's language and with names instead of ids.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum AuditDetail {
    /// Nothing more.
    None,
    /// Words as written: a name, a reason, a template; also every detail of entries written
    /// before details were typed.
    Text(String),
    /// An order was created with this title for this customer.
    OrderCreated {
        /// The title.
        title: String,
        /// The customer.
        customer: CustomerId,
    },
    /// An order moved between stages (approval and rejection too).
    StageMove {
        /// The stage it left.
        from: StageId,
        /// The stage it entered.
        to: StageId,
        /// The reason given, for a rejection.
        reason: Option<String>,
    },
    /// An order was assigned.
    Assigned {
        /// The assignee.
        user: UserId,
        /// The agreed price (the chosen bid's), when there is one.
        price: Option<Money>,
    },
    /// A bid was placed.
    Bid {
        /// The bid.
        bid: BidId,
        /// Its price.
        price: Money,
    },
    /// Payment details were sent.
    Payment {
        /// The payment method's name.
        method: String,
        /// The amount asked.
        amount: Money,
    },
    /// A chat message was written.
    Message {
        /// Whose conversation.
        customer: CustomerId,
        /// The order it is about, when there is one.
        order: Option<OrderId>,
        /// Its length in characters.
        chars: u32,
        /// How many files it carries.
        files: u32,
    },
    /// A conversation was read.
    Read {
        /// How many messages were unread.
        unread: u32,
    },
    /// The markers an order or a user has now.
    Markers {
        /// The markers.
        markers: Vec<MarkerId>,
    },
    /// Access to an order given to or taken from a user.
    Access {
        /// The user.
        user: UserId,
        /// Until when it was given; `None` when it was taken away.
        until: Option<Timestamp>,
    },
    /// A token ledger entry (issue 13).
    Ledger {
        /// The entry's id.
        entry: u64,
        /// Tokens, signed.
        amount: i64,
        /// The balance after it.
        balance_after: i64,
        /// The order it is about.
        order: Option<OrderId>,
    },
}

impl fmt::Display for AuditDetail {
    /// The detail in plain English words with ids, for exports and the command line; pages
    /// render the typed value in the reader's language instead.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AuditDetail::None => Ok(()),
            AuditDetail::Text(text) => f.write_str(text),
            AuditDetail::OrderCreated { title, customer } => {
                write!(f, "{title:?} for customer {customer}")
            }
            AuditDetail::StageMove { from, to, reason } => {
                write!(f, "stage {from} -> {to}")?;
                match reason {
                    Some(reason) => write!(f, ": {reason}"),
                    None => Ok(()),
                }
            }
            AuditDetail::Assigned { user, price } => match price {
                Some(price) => write!(f, "assignee user {user} at {price}"),
                None => write!(f, "assignee user {user}"),
            },
            AuditDetail::Bid { bid, price } => write!(f, "bid {bid}: {price}"),
            AuditDetail::Payment { method, amount } => write!(f, "{amount} by {method}"),
            AuditDetail::Message {
                customer,
                order,
                chars,
                files,
            } => {
                write!(f, "customer {customer}")?;
                if let Some(order) = order {
                    write!(f, " about order {order}")?;
                }
                write!(f, ": {chars} characters, {files} files")
            }
            AuditDetail::Read { unread } => write!(f, "{unread} unread -> 0"),
            AuditDetail::Markers { markers } => {
                let ids: Vec<String> = markers.iter().map(ToString::to_string).collect();
                if ids.is_empty() {
                    f.write_str("no markers")
                } else {
                    write!(f, "markers {}", ids.join(", "))
                }
            }
            AuditDetail::Access { user, until } => match until {
                Some(until) => write!(f, "user {user} until {}", until.to_rfc3339()),
                None => write!(f, "user {user}"),
            },
            AuditDetail::Ledger {
                entry,
                amount,
                balance_after,
                order,
            } => {
                write!(
                    f,
                    "ledger entry {entry}: {amount:+} tokens, balance {balance_after}"
                )?;
                match order {
                    Some(order) => write!(f, ", order {order}"),
                    None => Ok(()),
                }
            }
        }
    }
}

/// One line of the audit log: who did what to which record, when and from where (Django
/// operator seed).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// The id; ids grow with time.
    pub id: AuditId,
    /// When.
    pub at: Timestamp,
    /// Who.
    pub actor: ActorRef,
    /// What.
    pub action: AuditAction,
    /// To which record.
    pub subject: Subject,
    /// The particulars.
    pub detail: AuditDetail,
    /// Client address.
    pub ip: Option<String>,
    /// Client identification.
    pub user_agent: Option<String>,
}

/// A change's number in its organization's feed: increasing, across restarts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ChangeId(pub(crate) u64);

impl ChangeId {
    /// The change with this number (0 means "before every change").
    pub const fn new(raw: u64) -> Self {
        ChangeId(raw)
    }

    /// The number.
    pub const fn get(self) -> u64 {
        self.0
    }
}

impl fmt::Display for ChangeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// What happened to a [`Subject`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ChangeKind {
    /// It was created.
    Created,
    /// It changed (stage, assignee, bids, payment, markers...).
    Updated,
    /// It was deleted.
    Deleted,
    /// A message's delivery state changed (pending -> sent or failed).
    Delivery,
    /// A conversation was read.
    Read,
}

impl ChangeKind {
    /// `created`, `updated`, `deleted`, `delivery` or `read`.
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::Created => "created",
            ChangeKind::Updated => "updated",
            ChangeKind::Deleted => "deleted",
            ChangeKind::Delivery => "delivery",
            ChangeKind::Read => "read",
        }
    }
}

/// One entry of the change feed: a write transaction records one per record it changed that
/// someone may be watching, beside its audit entry (delivery bookkeeping, which writes no
/// audit entry, records one too).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    /// Its number.
    pub id: ChangeId,
    /// When.
    pub at: Timestamp,
    /// Which record.
    pub subject: Subject,
    /// What happened to it.
    pub kind: ChangeKind,
}
