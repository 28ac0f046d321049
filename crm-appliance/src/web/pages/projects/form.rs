//! The project forms as posted: plain pairs (urlencoded) or multipart with files (reports,
//! money entries), read into crm-lib's inputs. Field names are crm-lib's, so its refusal
//! lands beside its field; a number that does not parse is a refusal on its field too.

use axum::extract::Multipart;
use axum::extract::multipart::MultipartError;
use crm_lib::media::NewMedia;
use crm_lib::model::{
    CustomerId, Date, EntryCategory, EntryKind, Money, OrderId, ProjectStageId, UserId,
};
use crm_lib::projects::{
    NewChangeRequest, NewDocument, NewEntry, NewEstimateLine, NewProject, NewReport, NewStage,
    ProjectEdit,
};

use crate::web::layout::form_value;

/// Which form of the project page was posted, so its refusal shows in it and its inputs keep
/// what was typed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Which {
    /// Title, address, budget.
    Edit,
    /// The workers.
    Workers,
    /// A new stage.
    Stage,
    /// A stage's progress (of this stage).
    Progress(ProjectStageId),
    /// A daily report.
    Report,
    /// A money entry.
    Entry,
    /// An estimate line.
    Estimate,
    /// A change request.
    Change,
    /// A decision, a withdrawal or a state change (buttons).
    Buttons,
    /// A document to attach.
    Document,
}

/// A posted form: its fields, and the files of a multipart one as (field, bytes, MIME type).
#[derive(Debug, Clone, Default)]
pub(crate) struct Posted {
    /// The text fields as (name, value), in order.
    pub(crate) pairs: Vec<(String, String)>,
    /// The files.
    pub(crate) files: Vec<(String, Vec<u8>, String)>,
    /// The names the files were uploaded with, as (field, file name), in the files' order.
    pub(crate) file_names: Vec<(String, String)>,
}

impl Posted {
    /// A plain form's pairs.
    pub(crate) fn of(pairs: Vec<(String, String)>) -> Self {
        Posted {
            pairs,
            ..Posted::default()
        }
    }

    /// Reads a multipart form (an empty file input sends a part without bytes: skipped).
    pub(crate) async fn read(mut multipart: Multipart) -> Result<Self, MultipartError> {
        let mut posted = Posted::default();
        while let Some(field) = multipart.next_field().await? {
            let name = field.name().unwrap_or_default().to_string();
            if let Some(file_name) = field.file_name().map(str::to_string) {
                let mime = field
                    .content_type()
                    .unwrap_or("application/octet-stream")
                    .to_string();
                let bytes = field.bytes().await?;
                if !bytes.is_empty() {
                    posted.file_names.push((name.clone(), file_name));
                    posted.files.push((name, bytes.to_vec(), mime));
                }
            } else {
                let value = field.text().await?;
                posted.pairs.push((name, value));
            }
        }
        Ok(posted)
    }

    /// The value of `name` (empty when absent).
    pub(crate) fn value(&self, name: &str) -> &str {
        form_value(&self.pairs, name)
    }

    /// Every value of `name` (checkboxes).
    fn values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.pairs
            .iter()
            .filter(move |(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    /// The files of input `name`, checked and hashed.
    fn files(&self, name: &str) -> crm_lib::Result<Vec<NewMedia>> {
        self.files
            .iter()
            .filter(|(field, ..)| field == name)
            .map(|(_, bytes, mime)| NewMedia::parse(bytes.clone(), mime))
            .collect()
    }
}

/// A whole number of field `field`.
fn number(field: &'static str, text: &str) -> crm_lib::Result<u64> {
    text.trim()
        .parse()
        .map_err(|_| crm_lib::Error::invalid(field, format!("{:?} is not a number", text.trim())))
}

/// An amount, empty meaning zero when `empty_is_zero`.
fn amount(field: &'static str, text: &str, empty_is_zero: bool) -> crm_lib::Result<Money> {
    if empty_is_zero && text.trim().is_empty() {
        return Ok(Money::from_minor(0));
    }
    Money::parse(field, text)
}

/// A stage picked in a select, or `None` for an empty choice.
fn stage(field: &'static str, text: &str) -> crm_lib::Result<Option<ProjectStageId>> {
    if text.trim().is_empty() {
        return Ok(None);
    }
    number(field, text).map(|id| Some(ProjectStageId::new(id)))
}

impl Posted {
    /// The new project form: `client` (a customer's number), `lead`, `title`, `address`,
    /// `budget`, `stages` (one a line).
    pub(crate) fn new_project(&self) -> crm_lib::Result<NewProject> {
        let lead = match self.value("lead").trim() {
            "" => None,
            text => Some(OrderId::new(number("lead", text)?)),
        };
        Ok(NewProject {
            client: CustomerId::new(number("client", self.value("client"))?),
            lead,
            title: self.value("title").to_string(),
            address: self.value("address").to_string(),
            budget: amount("budget", self.value("budget"), true)?,
            stages: self
                .value("stages")
                .lines()
                .map(str::trim)
                .filter(|line| !line.is_empty())
                .map(str::to_string)
                .collect(),
        })
    }

    /// The edit form: `title`, `address`, `budget`.
    pub(crate) fn edit(&self) -> crm_lib::Result<ProjectEdit> {
        Ok(ProjectEdit {
            title: self.value("title").to_string(),
            address: self.value("address").to_string(),
            budget: amount("budget", self.value("budget"), true)?,
        })
    }

    /// The workers form: the checked `worker`s.
    pub(crate) fn workers(&self) -> crm_lib::Result<Vec<UserId>> {
        self.values("worker")
            .map(|text| number("workers", text).map(UserId::new))
            .collect()
    }

    /// The new stage form: `name`, `planned_start`, `planned_end`.
    pub(crate) fn stage(&self) -> crm_lib::Result<NewStage> {
        Ok(NewStage {
            name: self.value("name").to_string(),
            planned_start: Date::parse_optional(
                "planned_start",
                Some(self.value("planned_start")),
            )?,
            planned_end: Date::parse_optional("planned_end", Some(self.value("planned_end")))?,
        })
    }

    /// The progress form: `progress`, 0-100.
    pub(crate) fn progress(&self) -> crm_lib::Result<u8> {
        let value = number("progress", self.value("progress"))?;
        u8::try_from(value).map_err(|_| {
            crm_lib::Error::invalid(
                "progress",
                format!("{value} is not a percentage from 0 to 100"),
            )
        })
    }

    /// The report form: `stage`, `text`, `media` (photos and videos), `voice`.
    pub(crate) fn report(&self) -> crm_lib::Result<NewReport> {
        let stage = stage("stage", self.value("stage"))?
            .ok_or_else(|| crm_lib::Error::invalid("stage", "choose the stage reported on"))?;
        Ok(NewReport {
            stage,
            text: self.value("text").to_string(),
            media: self.files("media")?,
            voice: self.files("voice")?.into_iter().next(),
        })
    }

    /// The entry form: `kind`, `amount`, `category`, `note`, `stage`, `date`, `proof`.
    pub(crate) fn entry(&self) -> crm_lib::Result<NewEntry> {
        Ok(NewEntry {
            kind: EntryKind::parse("kind", self.value("kind"))?,
            amount: Money::parse("amount", self.value("amount"))?,
            category: EntryCategory::parse("category", self.value("category"))?,
            note: self.value("note").to_string(),
            stage: stage("stage", self.value("stage"))?,
            proof: self.files("proof")?.into_iter().next(),
            date: Date::parse_optional("date", Some(self.value("date")))?,
        })
    }

    /// The estimate form: `stage`, `title`, `planned`.
    pub(crate) fn estimate(&self) -> crm_lib::Result<NewEstimateLine> {
        let stage = stage("stage", self.value("stage"))?
            .ok_or_else(|| crm_lib::Error::invalid("stage", "choose the stage planned for"))?;
        Ok(NewEstimateLine {
            stage,
            title: self.value("title").to_string(),
            planned: amount("planned", self.value("planned"), true)?,
        })
    }

    /// The document form: `title` and the file `file`, named by the optional `file_name`
    /// field, else by the name it was uploaded with.
    pub(crate) fn document(&self) -> crm_lib::Result<NewDocument> {
        let file = self
            .files("file")?
            .into_iter()
            .next()
            .ok_or_else(|| crm_lib::Error::invalid("file", "choose the file"))?;
        let file_name = match self.value("file_name").trim() {
            "" => self
                .file_names
                .iter()
                .find(|(field, _)| field == "file")
                .map(|(_, name)| name.clone())
                .unwrap_or_default(),
            typed => typed.to_string(),
        };
        Ok(NewDocument {
            title: self.value("title").to_string(),
            file_name,
            file,
        })
    }

    /// The change request form: `title`, `amount` (may be negative), `description`.
    pub(crate) fn change(&self) -> crm_lib::Result<NewChangeRequest> {
        Ok(NewChangeRequest {
            title: self.value("title").to_string(),
            amount: Money::parse_signed("amount", self.value("amount"))?,
            description: self.value("description").to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn posted(pairs: &[(&str, &str)]) -> Posted {
        Posted::of(
            pairs
                .iter()
                .map(|(key, value)| (key.to_string(), value.to_string()))
                .collect(),
        )
    }

    #[test]
    fn a_new_project_reads_one_stage_a_line_and_an_empty_budget_as_zero() {
        let new = posted(&[
            ("client", " 7 "),
            ("title", "Kitchen"),
            ("budget", ""),
            ("stages", "Demolition\r\n\r\n Wiring \nFinish"),
        ])
        .new_project()
        .unwrap();
        assert_eq!(new.client, CustomerId::new(7));
        assert_eq!(new.budget, Money::from_minor(0));
        assert_eq!(new.stages, ["Demolition", "Wiring", "Finish"]);
        let error = posted(&[("client", "seven")]).new_project().unwrap_err();
        assert_eq!(error.field(), Some("client"));
    }

    #[test]
    fn a_change_request_takes_a_negative_amount_and_a_progress_above_255_is_its_field_s_error() {
        let change = posted(&[("title", "Cheaper tiles"), ("amount", "-1 500,50")])
            .change()
            .unwrap();
        assert_eq!(change.amount, Money::from_minor(-150_050));
        let error = posted(&[("progress", "300")]).progress().unwrap_err();
        assert_eq!(error.field(), Some("progress"));
        let error = posted(&[("text", "x")]).report().unwrap_err();
        assert_eq!(error.field(), Some("stage"));
    }
}
