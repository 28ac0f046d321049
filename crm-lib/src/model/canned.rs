//! Canned responses: prepared replies staff insert with `/code` in the composer (issue 12).
//! The rules (codes, variables, rendering) are `crate::canned`.

use serde::{Deserialize, Serialize};

use super::{Attachment, CannedId, Localized, Timestamp};

/// A prepared reply: a short code, a title, its text per language with variables such as
/// `{customer.first_name}` (see [`crate::canned::VARIABLES`]), and optional files.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CannedResponse {
    /// The id.
    pub id: CannedId,
    /// What staff type after `/` (`hello`): 1-32 of `a-z`, `0-9`, `_`, `-`, unique in the
    /// organization.
    pub code: String,
    /// What the list shows, 1-100 characters.
    pub title: String,
    /// The text per language (at least one), at most 4096 characters each, with variables.
    pub texts: Localized,
    /// Files sent with it (stored media, referred to through `media_refs` so retention keeps
    /// them).
    pub attachments: Vec<Attachment>,
    /// When it was created.
    pub created_at: Timestamp,
    /// When it last changed.
    pub updated_at: Timestamp,
}
