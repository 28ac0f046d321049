//! The declarations of issue 12's inbox tools: canned responses (with the files they carry),
//! business hours and the auto-reply marks.

use super::chat::{RefKind, media_ref_owner, media_refs};
use crate::model::*;
use crate::store::indexes::{Declared, Index, Layout};
use crate::store::keys::{self, Key};
use crate::store::tables::{self, Def};

impl Declared for CannedResponse {
    const TABLE: Def = tables::CANNED_RESPONSES;
    const NOUN: &'static str = "canned response";
    const LAYOUT: Layout = Layout::OrgId;
    const SEQUENCE: Option<&'static str> = Some("canned");
    const INDEXES: &'static [Index<Self>] = &[Index {
        table: tables::MEDIA_REFS,
        since: 7,
        entries: |org, _, canned, out| {
            let files = canned.attachments.iter().map(|attachment| attachment.media);
            media_refs(org, files, RefKind::Canned, canned.id.0, out);
        },
        owner: |key, _| media_ref_owner(key, RefKind::Canned),
        disagreement: |key, _, _| {
            format!(
                "names canned response {}, which does not carry the file",
                keys::tail_u64(key)
            )
        },
    }];

    fn id(&self) -> Option<u64> {
        Some(self.id.0)
    }
}

impl Declared for BusinessHours {
    const TABLE: Def = tables::BUSINESS_HOURS;
    const NOUN: &'static str = "business hours";
    const LAYOUT: Layout = Layout::OrgFields;

    fn key(&self, org: OrgId) -> Option<Key> {
        Some(Key::org(org))
    }

    fn describe(&self, org: OrgId, _: &[u8]) -> String {
        format!("business hours of organization {org}")
    }
}

impl Declared for AutoReplyMark {
    const TABLE: Def = tables::AUTO_REPLIES;
    const NOUN: &'static str = "auto-reply mark";
    const LAYOUT: Layout = Layout::OrgFields;

    fn key(&self, org: OrgId) -> Option<Key> {
        Some(Key::org(org).u64(self.customer.0))
    }

    fn describe(&self, org: OrgId, _: &[u8]) -> String {
        format!(
            "auto-reply mark of customer {} of organization {org}",
            self.customer
        )
    }
}
