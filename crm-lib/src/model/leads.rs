//! Leads and their AI qualification (SPEC 5E; the renovation seed's Module B, "AI Sales
//! Agent").
//!
//! A lead is an order of an organization that runs the projects module (SPEC 3.1, "One work
//! item, many pipelines"): its stage is the order's, its slots (area, renovation type,
//! budget...) the order's typed fields, and its hot flag the typed flag field `hot` that lists
//! show. This file holds what qualification adds beside the order: [`Lead`] (the AI's summary,
//! why the lead is hot, whether the AI works it, its call log), the work queued for the AI
//! ([`AiRequest`], one per lead at most) and the organization's [`AiSettings`]. The rules
//! are `crate::leads`.

use serde::{Deserialize, Serialize};

use super::{ActorRef, OrderId, Timestamp};

/// OpenRouter's OpenAI-compatible API, the default base URL of the AI settings (the seed's
/// provider). The chat completions are POSTed to `{base URL}/chat/completions`.
pub const OPENROUTER_BASE_URL: &str = "https://openrouter.ai/api/v1";

/// The model asked unless the settings name another (the seed's choice, in OpenRouter's
/// naming).
pub const DEFAULT_AI_MODEL: &str = "anthropic/claude-3.5-sonnet";

/// How long one call may take unless the settings say otherwise, in seconds.
pub const DEFAULT_AI_TIMEOUT_SECONDS: u32 = 30;

/// An organization's AI settings (`ai_settings`, absent until first saved: the [`Default`]).
/// The AI qualifies leads while [`AiSettings::is_on`]: switched on and a key saved.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AiSettings {
    /// Whether AI qualification is wanted (it runs only with a key as well).
    pub enabled: bool,
    /// The OpenAI-compatible API's base URL, without a trailing slash
    /// ([`OPENROUTER_BASE_URL`]).
    pub base_url: String,
    /// The API key, sent as `Authorization: Bearer`: a secret, written but never shown back
    /// (see [`AiSettings::key_hint`]) nor logged; `None` switches the AI off.
    pub api_key: Option<String>,
    /// The model, as the provider names it (`anthropic/claude-3.5-sonnet`).
    pub model: String,
    /// How long one call may take, connection included, in seconds (1 to 120).
    pub timeout_seconds: u32,
}

impl Default for AiSettings {
    fn default() -> Self {
        AiSettings {
            enabled: true,
            base_url: OPENROUTER_BASE_URL.to_string(),
            api_key: None,
            model: DEFAULT_AI_MODEL.to_string(),
            timeout_seconds: DEFAULT_AI_TIMEOUT_SECONDS,
        }
    }
}

impl AiSettings {
    /// Whether the AI qualifies leads: switched on and a key saved.
    pub fn is_on(&self) -> bool {
        self.enabled && self.api_key.is_some()
    }

    /// The key as pages show it: `…` and its last 4 characters, or `None` without a key.
    pub fn key_hint(&self) -> Option<String> {
        self.api_key.as_deref().map(|key| {
            let tail: Vec<char> = key.chars().rev().take(4).collect();
            let tail: String = tail.into_iter().rev().collect();
            format!("…{tail}")
        })
    }
}

impl std::fmt::Debug for AiSettings {
    /// Never prints the key, only its hint.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AiSettings")
            .field("enabled", &self.enabled)
            .field("base_url", &self.base_url)
            .field("api_key", &self.key_hint())
            .field("model", &self.model)
            .field("timeout_seconds", &self.timeout_seconds)
            .finish()
    }
}

/// Why the AI no longer works a lead.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum AiStop {
    /// A staff user (or the system) stopped it: a person answers the customer now.
    Manual(ActorRef),
    /// The lead became hot: the AI stops and the managers are alerted.
    Hot,
    /// Its answers failed `crate::leads::FAILURES_MAX` times in a row: the bot asks the fixed
    /// questions instead.
    Failures,
}

/// Whether the AI works a lead.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum LeadAi {
    /// It answers the customer's messages (while the organization's AI is on and the lead is
    /// new).
    Active,
    /// It stopped.
    Stopped {
        /// Why.
        why: AiStop,
        /// When.
        at: Timestamp,
    },
}

impl LeadAi {
    /// `active`, or `stopped_manually`, `stopped_hot`, `stopped_failures`: the stable names
    /// the API and the CLI print.
    pub fn as_str(&self) -> &'static str {
        match self {
            LeadAi::Active => "active",
            LeadAi::Stopped {
                why: AiStop::Manual(_),
                ..
            } => "stopped_manually",
            LeadAi::Stopped {
                why: AiStop::Hot, ..
            } => "stopped_hot",
            LeadAi::Stopped {
                why: AiStop::Failures,
                ..
            } => "stopped_failures",
        }
    }
}

/// Why and since when a lead is hot (ready for a manager).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HotMark {
    /// Why, in the words of whoever marked it (the AI's `hot_reason`, at most 300
    /// characters; empty when a person marked it without saying).
    pub reason: String,
    /// When.
    pub at: Timestamp,
    /// Who: the system for the AI, or the staff user who set the flag.
    pub by: ActorRef,
}

/// What became of one call of the AI.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum AiCallOutcome {
    /// The answer passed every check and was written.
    Applied,
    /// The answer was malformed or broke a rule (an unknown key, a wrong type, a slot outside
    /// its choices, a text over its bound): nothing but the call log was written.
    Refused {
        /// What was wrong, at most 300 characters.
        reason: String,
    },
    /// The endpoint answered an error status.
    Status {
        /// The HTTP status.
        status: u16,
    },
    /// No answer within the settings' timeout.
    Timeout,
    /// The connection failed.
    Network {
        /// What failed, at most 300 characters.
        error: String,
    },
    /// An answer that came after the AI stopped on the lead (or the lead left its first
    /// stage): not applied.
    Discarded,
}

impl AiCallOutcome {
    /// The stable name: `applied`, `refused`, `http_error`, `timeout`, `network_error`,
    /// `discarded`.
    pub fn as_str(&self) -> &'static str {
        match self {
            AiCallOutcome::Applied => "applied",
            AiCallOutcome::Refused { .. } => "refused",
            AiCallOutcome::Status { .. } => "http_error",
            AiCallOutcome::Timeout => "timeout",
            AiCallOutcome::Network { .. } => "network_error",
            AiCallOutcome::Discarded => "discarded",
        }
    }

    /// The detail a person reads: the refusal's reason, the status, the error; empty for the
    /// others.
    pub fn detail(&self) -> String {
        match self {
            AiCallOutcome::Refused { reason } => reason.clone(),
            AiCallOutcome::Status { status } => status.to_string(),
            AiCallOutcome::Network { error } => error.clone(),
            _ => String::new(),
        }
    }
}

/// One call of the AI on a lead, as the call log keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AiCall {
    /// When the request was sent.
    pub at: Timestamp,
    /// How long it took, in milliseconds.
    pub latency_ms: u32,
    /// The model that answered (as the answer names it), else the one asked.
    pub model: String,
    /// Tokens of the prompt, as the answer's `usage` counts them.
    pub prompt_tokens: Option<u32>,
    /// Tokens of the completion.
    pub completion_tokens: Option<u32>,
    /// What became of it.
    pub outcome: AiCallOutcome,
}

/// What qualification keeps of one lead beside its order (`leads`, keyed like the order):
/// written when the bot creates the lead or when the AI, the fixed questions or staff first
/// act on it; a lead without one reads as [`Lead::new`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lead {
    /// The order the lead is.
    pub order: OrderId,
    /// The AI's summary for the managers, at most 1,000 characters.
    pub summary: Option<String>,
    /// Why the lead is hot, while it is (its order's `hot` field says yes too, when the
    /// organization declares that field).
    pub hot: Option<HotMark>,
    /// Whether the AI works the lead.
    pub ai: LeadAi,
    /// The AI's failed answers in a row (a good one resets it).
    pub failures: u32,
    /// The slots whose value the AI wrote last: it may change these, never one a person set.
    pub ai_slots: Vec<String>,
    /// Whether the fixed questions were started for this lead (they are asked once).
    pub questions_started: bool,
    /// The latest calls of the AI, oldest first (at most `crate::leads::CALLS_KEPT`).
    pub calls: Vec<AiCall>,
    /// Every call made on the lead, including those no longer kept.
    pub calls_total: u32,
    /// When it was written first.
    pub created_at: Timestamp,
    /// When it last changed.
    pub updated_at: Timestamp,
}

impl Lead {
    /// The qualification of a lead nothing has acted on yet: the AI active, no summary, no
    /// calls.
    pub fn new(order: OrderId, now: Timestamp) -> Self {
        Lead {
            order,
            summary: None,
            hot: None,
            ai: LeadAi::Active,
            failures: 0,
            ai_slots: Vec::new(),
            questions_started: false,
            calls: Vec::new(),
            calls_total: 0,
            created_at: now,
            updated_at: now,
        }
    }
}

/// A call of the AI waiting to be made for a lead (`ai_requests`, keyed like the order, so a
/// lead has at most one: messages that arrive while it waits are read with it). Queued in the
/// transaction of the customer's message; the appliance makes the call after commit and
/// reports its outcome (`crate::leads`). Holds nothing secret: the key is read from the
/// settings when the call is made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AiRequest {
    /// The lead.
    pub order: OrderId,
    /// Attempts that failed without an answer (an error status, a timeout, a broken
    /// connection), retried with backoff.
    pub attempts: u32,
    /// Not before this moment.
    pub next_attempt_at: Timestamp,
    /// When it was queued.
    pub created_at: Timestamp,
}
