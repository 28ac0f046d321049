//! The bot's per-chat conversation state: a small serde state machine stored as JSON bytes with
//! crm-lib's `Tx::set_dialogue`, in the same transaction as the update that changed it.
//!
//! This plays the part of teloxide's `dialogue::Storage` (get / update / remove by chat), but
//! is read and written through the update's own `Tx` rather than through `Storage`'s async
//! methods, each of which would be a transaction of its own: a restart between an update's
//! effects and its new state would then replay or skip a step. Here the state, the effects and
//! the inbox's done mark commit together, so a restart mid-conversation continues exactly
//! where the last committed update left it.
//!
//! State that cannot be decoded (written by a future version, or damaged) reads as `Idle`:
//! the customer sees the main menu again instead of a stuck conversation.

use crm_lib::{
    Tx,
    model::{ChatId, MediaHash, MediaKind, OrgId},
};
use serde::{Deserialize, Serialize};

/// Where a chat's conversation stands.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub(crate) enum Dialogue {
    /// Nothing in progress.
    #[default]
    Idle,
    /// Filling in a new order.
    Wizard(Wizard),
    /// Talking to the team, about `order` when set.
    Chatting {
        /// The order the messages are about.
        order: Option<u64>,
    },
    /// Staff: asked for the reason to reject `order`.
    RejectReason {
        /// The order.
        order: u64,
    },
    /// Asked for a comment on the rating of `order` (the satisfaction survey).
    CsatComment {
        /// The order rated.
        order: u64,
    },
    /// Walking a conversational form: text goes to crm-lib's form engine, which keeps the
    /// form's own progress (`bot::forms`).
    Form {
        /// The form ([`crm_lib::model::FormName::code`]).
        form: u8,
    },
    /// A worker putting a daily report together (`bot::worker`).
    Report(ReportDraft),
    /// A worker putting an expense or income entry together (`bot::worker`).
    Entry(EntryDraft),
}

/// A step of the worker's flows (`bot::worker`): the report's (project, stage, media, note)
/// and the entry's (project, kind, amount, category, stage, proof). Buttons carry it, so a
/// button of an earlier step is stale.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum WorkerStep {
    Project,
    Stage,
    Media,
    Note,
    Kind,
    Amount,
    Category,
    EntryStage,
    Proof,
}

impl WorkerStep {
    /// Every step.
    pub(crate) const ALL: [WorkerStep; 9] = [
        WorkerStep::Project,
        WorkerStep::Stage,
        WorkerStep::Media,
        WorkerStep::Note,
        WorkerStep::Kind,
        WorkerStep::Amount,
        WorkerStep::Category,
        WorkerStep::EntryStage,
        WorkerStep::Proof,
    ];
}

/// A file the bot stored for a worker's draft before the update's transaction (the
/// processor's `Prepared::Stored`), named again when the report or entry is written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct StoredFile {
    /// The stored media, hex.
    pub(crate) media: String,
    /// Its MIME type.
    pub(crate) mime: String,
    /// Its size in bytes.
    pub(crate) size: u64,
}

impl StoredFile {
    /// The file as crm-lib's input (`NewMedia::stored`); `None` when the hash does not
    /// decode (a damaged state).
    pub(crate) fn input(&self) -> Option<crm_lib::media::NewMedia> {
        let hash = MediaHash::parse_hex(&self.media).ok()?;
        Some(crm_lib::media::NewMedia::stored(
            hash, &self.mime, self.size,
        ))
    }
}

/// A daily report as the worker's bot collects it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct ReportDraft {
    /// The update id that started it; its buttons carry it.
    pub(crate) id: u64,
    /// The step waiting for input.
    pub(crate) step: WorkerStep,
    /// The project chosen (0 before).
    pub(crate) project: u64,
    /// The stage chosen (0 before).
    pub(crate) stage: u64,
    /// The photos and videos received so far, in order.
    #[serde(default)]
    pub(crate) media: Vec<StoredFile>,
    /// The album (`media_group_id`) of the last file, so that an album is acknowledged once.
    #[serde(default)]
    pub(crate) album: Option<String>,
}

/// An expense or income entry as the worker's bot collects it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct EntryDraft {
    /// The update id that started it; its buttons carry it.
    pub(crate) id: u64,
    /// The step waiting for input.
    pub(crate) step: WorkerStep,
    /// The project chosen (0 before).
    pub(crate) project: u64,
    /// Income rather than an expense.
    #[serde(default)]
    pub(crate) income: bool,
    /// The amount as typed (crm-lib's `Money::parse` read it).
    #[serde(default)]
    pub(crate) amount: String,
    /// The category (`EntryCategory::as_str`).
    #[serde(default)]
    pub(crate) category: String,
    /// The stage it is booked on, when chosen.
    #[serde(default)]
    pub(crate) stage: Option<u64>,
}

/// A step of the new-order form, in the order they are asked. `Markers` and `PaymentMethod`
/// are asked only when the organization has markers or active payment methods.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Step {
    Title,
    Description,
    Budget,
    Deadline,
    Attachments,
    /// The organization's markers as toggle buttons (C0de seed's stack markers).
    Markers,
    /// The active payment methods, one to pick.
    PaymentMethod,
    /// The organization's typed ticket fields, one after the other (the tickets module;
    /// [`Wizard::field`] says which).
    Fields,
    Confirm,
}

impl Step {
    /// Every step, in the order they are asked.
    pub(crate) const ALL: [Step; 9] = [
        Step::Title,
        Step::Description,
        Step::Budget,
        Step::Deadline,
        Step::Attachments,
        Step::Markers,
        Step::PaymentMethod,
        Step::Fields,
        Step::Confirm,
    ];
}

/// A file attached while filling in the form.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct DraftFile {
    /// The stored media, hex.
    pub(crate) media: String,
    /// Photo, document...
    pub(crate) kind: MediaKind,
}

/// The new-order form as filled in so far.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Wizard {
    /// The update id that started the form; its buttons carry it, so buttons of an older form
    /// are stale.
    pub(crate) id: u64,
    /// The step waiting for input.
    pub(crate) step: Step,
    pub(crate) title: String,
    pub(crate) description: String,
    pub(crate) budget: Option<String>,
    pub(crate) deadline: Option<String>,
    #[serde(default)]
    pub(crate) attachments: Vec<DraftFile>,
    /// The markers chosen so far (ids), in the order they were pressed.
    #[serde(default)]
    pub(crate) markers: Vec<u64>,
    /// The payment method the customer would like to pay by (an id), when they chose one.
    #[serde(default)]
    pub(crate) payment_method: Option<u64>,
    /// At the fields step: the index of the field asked, among the organization's fields.
    #[serde(default)]
    pub(crate) field: usize,
    /// The ticket fields answered so far, by key, as crm-lib's parser reads them back
    /// (`FieldValue::to_answer`); a skipped field is absent.
    #[serde(default)]
    pub(crate) fields: std::collections::BTreeMap<String, String>,
}

impl Wizard {
    /// A fresh form.
    pub(crate) fn new(id: u64) -> Self {
        Wizard {
            id,
            step: Step::Title,
            title: String::new(),
            description: String::new(),
            budget: None,
            deadline: None,
            attachments: Vec::new(),
            markers: Vec::new(),
            payment_method: None,
            field: 0,
            fields: std::collections::BTreeMap::new(),
        }
    }

    /// The stored files, in the order they were sent; undecodable entries are skipped.
    pub(crate) fn media(&self) -> Vec<MediaHash> {
        self.attachments
            .iter()
            .filter_map(|file| MediaHash::parse_hex(&file.media).ok())
            .collect()
    }
}

/// The chat's state in `tx` (`Idle` when none or undecodable).
///
/// # Errors
/// Storage only.
pub(crate) fn load(tx: &mut Tx<'_>, org: OrgId, chat: ChatId) -> crm_lib::Result<Dialogue> {
    Ok(decode_or_idle(tx.system().dialogue(org, chat)?))
}

/// Stored bytes, if any, as the state (`Idle` when none or undecodable).
pub(crate) fn decode_or_idle(bytes: Option<Vec<u8>>) -> Dialogue {
    bytes.map(|bytes| decode(&bytes)).unwrap_or_default()
}

/// A stored state's bytes as the state (`Idle` when they do not decode).
pub(crate) fn decode(bytes: &[u8]) -> Dialogue {
    serde_json::from_slice(bytes).unwrap_or_default()
}

/// Stores the chat's state in `tx` (`Idle` deletes it).
///
/// # Errors
/// Storage; invalid input if the state were over crm-lib's size limit.
pub(crate) fn save(
    tx: &mut Tx<'_>,
    org: OrgId,
    chat: ChatId,
    dialogue: &Dialogue,
) -> crm_lib::Result<()> {
    let bytes = match dialogue {
        Dialogue::Idle => None,
        other => Some(serde_json::to_vec(other).map_err(|error| {
            crm_lib::Error::corrupt(format!("cannot encode the dialogue state: {error}"))
        })?),
    };
    tx.system().set_dialogue(org, chat, bytes)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_state_is_readable_json_and_round_trips() {
        let mut wizard = Wizard::new(7);
        wizard.step = Step::Budget;
        wizard.title = "Сайт".into();
        let state = Dialogue::Wizard(wizard);
        let bytes = serde_json::to_vec(&state).unwrap();
        let text = String::from_utf8(bytes.clone()).unwrap();
        assert!(text.contains(r#""state":"wizard""#), "{text}");
        assert!(text.contains(r#""step":"budget""#), "{text}");
        assert_eq!(serde_json::from_slice::<Dialogue>(&bytes).unwrap(), state);
    }

    #[test]
    fn a_form_stored_before_the_marker_and_payment_steps_reads_with_neither_chosen() {
        let stored = br#"{"state":"wizard","id":7,"step":"attachments","title":"Shop",
            "description":"A shop","budget":null,"deadline":null,"attachments":[]}"#;
        let Dialogue::Wizard(wizard) = decode(stored) else {
            panic!("not a form");
        };
        assert_eq!(wizard.step, Step::Attachments);
        assert!(wizard.markers.is_empty());
        assert_eq!(wizard.payment_method, None);
        let mut chosen = wizard;
        chosen.step = Step::PaymentMethod;
        chosen.markers = vec![5, 1];
        chosen.payment_method = Some(3);
        let bytes = serde_json::to_vec(&Dialogue::Wizard(chosen.clone())).unwrap();
        let text = String::from_utf8(bytes.clone()).unwrap();
        assert!(text.contains(r#""step":"payment_method""#), "{text}");
        assert_eq!(decode(&bytes), Dialogue::Wizard(chosen));
    }
}
