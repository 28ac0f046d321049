//! Telephone calls (Brando seed, SPEC section 5C): what the PBX told us about each call, the
//! organization's PBX settings, and the mark on a customer first met as an unknown caller.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::{CallId, CustomerId, Timestamp, UserId};

/// Which way a call went, seen from the organization.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum CallDirection {
    /// A customer called the organization's number (`NOTIFY_START`).
    Inbound,
    /// An extension called out (`NOTIFY_OUT_START`).
    Outbound,
}

impl CallDirection {
    /// `inbound` or `outbound`: the stable word of the API and filters.
    pub fn as_str(self) -> &'static str {
        match self {
            CallDirection::Inbound => "inbound",
            CallDirection::Outbound => "outbound",
        }
    }

    /// The direction named by [`CallDirection::as_str`].
    pub fn parse(text: &str) -> Option<Self> {
        match text.trim() {
            "inbound" => Some(CallDirection::Inbound),
            "outbound" => Some(CallDirection::Outbound),
            _ => None,
        }
    }
}

impl fmt::Display for CallDirection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One PBX notification kind (Zadarma's `event` field). With the call's `pbx_call_id` it is
/// the idempotency key: a call records each event once, and a repeat changes nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum CallEvent {
    /// `NOTIFY_START`: an incoming call reached the PBX.
    Start,
    /// `NOTIFY_INTERNAL`: the incoming call rings an extension.
    Internal,
    /// `NOTIFY_ANSWER`: an extension answered.
    Answer,
    /// `NOTIFY_END`: the incoming call ended.
    End,
    /// `NOTIFY_OUT_START`: an extension started an outgoing call.
    OutStart,
    /// `NOTIFY_OUT_END`: the outgoing call ended.
    OutEnd,
}

impl CallEvent {
    /// Every event, in the order a call meets them.
    pub const ALL: [CallEvent; 6] = [
        CallEvent::Start,
        CallEvent::Internal,
        CallEvent::Answer,
        CallEvent::End,
        CallEvent::OutStart,
        CallEvent::OutEnd,
    ];

    /// Zadarma's name of the event (`NOTIFY_START`).
    pub fn as_str(self) -> &'static str {
        match self {
            CallEvent::Start => "NOTIFY_START",
            CallEvent::Internal => "NOTIFY_INTERNAL",
            CallEvent::Answer => "NOTIFY_ANSWER",
            CallEvent::End => "NOTIFY_END",
            CallEvent::OutStart => "NOTIFY_OUT_START",
            CallEvent::OutEnd => "NOTIFY_OUT_END",
        }
    }

    /// The event Zadarma names `text`; `None` for an event this CRM does not record.
    pub fn parse(text: &str) -> Option<Self> {
        CallEvent::ALL
            .into_iter()
            .find(|event| event.as_str() == text.trim())
    }
}

/// A call, as the PBX's notifications described it; each notification fills in more.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Call {
    /// The id.
    pub id: CallId,
    /// Zadarma's `pbx_call_id`: the same for every notification of one call.
    pub pbx_call_id: String,
    /// Inbound or outbound.
    pub direction: CallDirection,
    /// The customer's number in E.164 (`+79161234567`): the caller of an inbound call, the
    /// called number of an outbound one.
    pub phone: String,
    /// The organization's number that was called (`called_did`), for inbound calls.
    pub did: Option<String>,
    /// The customer the phone belongs to (created as an unknown caller when none had it).
    pub customer: CustomerId,
    /// The PBX extension that rang, answered or called (`internal`).
    pub extension: Option<String>,
    /// The staff user the extension belongs to (the calls settings' map), when mapped.
    pub operator: Option<UserId>,
    /// When the call started (`call_start`, read in the organization's time zone).
    pub started_at: Timestamp,
    /// When an extension answered (the `NOTIFY_ANSWER` arrival).
    pub answered_at: Option<Timestamp>,
    /// When the call ended (the `NOTIFY_END` or `NOTIFY_OUT_END` arrival).
    pub ended_at: Option<Timestamp>,
    /// Its length in seconds (`duration`).
    pub duration_secs: Option<u32>,
    /// How it ended (`disposition`: `answered`, `busy`, `cancel`, `no answer`, `failed`...).
    pub disposition: Option<String>,
    /// The Q.931 status code (`status_code`).
    pub status_code: Option<String>,
    /// The recording's id (`call_id_with_rec`), when `is_recorded` was 1.
    pub recording: Option<String>,
    /// True when the customer was created for this call (an unknown caller).
    pub new_customer: bool,
    /// The notifications recorded, each once.
    pub events: Vec<CallEvent>,
    /// When the first notification arrived.
    pub created_at: Timestamp,
    /// When the last one changed the call.
    pub updated_at: Timestamp,
}

/// One PBX extension mapped to a staff user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallExtension {
    /// The extension number as the PBX sends it in `internal` (`100`).
    pub extension: String,
    /// The staff user who answers it.
    pub user: UserId,
}

/// An organization's PBX settings (the `tickets` module's calls). The secret is Zadarma's
/// API secret, with which it signs every notification; it is never shown back in full and
/// never logged (`Debug` hides it).
#[derive(Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct CallSettings {
    /// Zadarma's API secret; `None` until set (then every notification is refused).
    pub api_secret: Option<String>,
    /// The extensions mapped to staff users, by extension.
    pub extensions: Vec<CallExtension>,
}

impl fmt::Debug for CallSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CallSettings")
            .field("api_secret", &self.api_secret.as_ref().map(|_| "<hidden>"))
            .field("extensions", &self.extensions)
            .finish()
    }
}

/// The mark on a customer created for a call from a number nobody had: an unknown caller,
/// until staff learn who it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnknownCaller {
    /// The customer created.
    pub customer: CustomerId,
    /// The number that called.
    pub phone: String,
    /// The call they were created for.
    pub call: CallId,
    /// When.
    pub created_at: Timestamp,
}
