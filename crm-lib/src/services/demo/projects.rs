//! The renovation demo's projects (issue 14): each made from a won lead of the demo or by
//! hand, with its stages, estimate, workers' daily reports with photos, money entries with
//! proof photos and change requests, replayed through the projects' use cases in the order
//! they happened (their timeline reads as a real one). The photos are small generated PNG
//! images stored through the media store.

use std::collections::HashMap;

use serde::Deserialize;

use crate::media::NewMedia;
use crate::model::*;
use crate::projects::{
    Decision, NewChangeRequest, NewEntry, NewEstimateLine, NewProject, NewReport,
};
use crate::{Error, Result, Tx};

/// One hour, in milliseconds.
const HOUR: i64 = 3_600_000;

/// A project of the demo file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct DemoProject {
    /// Made from the won lead of this customer (key); the title and budget come from it.
    #[serde(default)]
    from_lead: Option<String>,
    /// The client (key), for a project made by hand.
    #[serde(default)]
    client: Option<String>,
    /// The title of a project made by hand (a lead's project takes the lead's).
    #[serde(default)]
    title: Option<String>,
    address: String,
    /// The budget in minor units (a lead's project takes the lead's when absent).
    #[serde(default)]
    budget_minor: Option<i64>,
    /// Who runs it (a staff username).
    manager: String,
    workers: Vec<String>,
    /// When it was made.
    days_ago: i64,
    stages: Vec<DemoStage>,
    #[serde(default)]
    estimate: Vec<DemoLine>,
    #[serde(default)]
    reports: Vec<DemoReport>,
    #[serde(default)]
    entries: Vec<DemoEntry>,
    #[serde(default)]
    change_requests: Vec<DemoChange>,
    /// Documents attached by the manager (a contract, an estimate), generated files, after
    /// the rest of its history.
    #[serde(default)]
    documents: Vec<DemoDocument>,
}

/// A document of a demo project: a generated PDF (`.pdf`) or CSV (any other name).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct DemoDocument {
    title: String,
    file_name: String,
}

/// A small valid PDF of one page saying `title` (ASCII only: the demo's name is in the
/// file name and the document's title).
fn demo_pdf(title: &str) -> Vec<u8> {
    let text: String = title
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == ' ')
        .collect();
    let stream = format!("BT /F1 18 Tf 72 720 Td ({text}) Tj ET");
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>".to_string(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_string(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>".to_string(),
        format!("<< /Length {} >>\nstream\n{stream}\nendstream", stream.len()),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_string(),
    ];
    let mut out = String::from("%PDF-1.4\n");
    let mut offsets = Vec::new();
    for (number, body) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.push_str(&format!("{} 0 obj\n{body}\nendobj\n", number + 1));
    }
    let xref = out.len();
    out.push_str(&format!(
        "xref\n0 {}\n0000000000 65535 f \n",
        objects.len() + 1
    ));
    for offset in offsets {
        out.push_str(&format!("{offset:010} 00000 n \n"));
    }
    out.push_str(&format!(
        "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
        objects.len() + 1
    ));
    out.into_bytes()
}

/// The demo's document file: a PDF for a `.pdf` name, else the estimate lines as CSV.
fn demo_document_file(demo: &DemoProject, document: &DemoDocument) -> Result<NewMedia> {
    if document.file_name.ends_with(".pdf") {
        return NewMedia::parse(demo_pdf("Contract"), "application/pdf");
    }
    let mut csv = String::from("stage,line,planned\n");
    for line in &demo.estimate {
        csv.push_str(&format!(
            "{},{},{}\n",
            line.stage,
            line.title.replace(',', " "),
            Money(line.planned_minor)
        ));
    }
    NewMedia::parse(csv.into_bytes(), "text/csv")
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct DemoStage {
    name: String,
    /// Its progress now, set `progress_days_ago`.
    progress: u8,
    #[serde(default = "one")]
    progress_days_ago: i64,
}

fn one() -> i64 {
    1
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct DemoLine {
    stage: String,
    title: String,
    planned_minor: i64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct DemoReport {
    stage: String,
    author: String,
    days_ago: i64,
    text: String,
    /// How many generated photos it carries.
    #[serde(default)]
    photos: u8,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct DemoEntry {
    /// `expense` or `income`.
    kind: String,
    /// A category key (`materials`).
    category: String,
    amount_minor: i64,
    #[serde(default)]
    note: String,
    #[serde(default)]
    stage: Option<String>,
    author: String,
    days_ago: i64,
    /// With a generated photo of the receipt.
    #[serde(default)]
    proof: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct DemoChange {
    title: String,
    amount_minor: i64,
    #[serde(default)]
    description: String,
    /// `pending`, `approved` (by the client) or `rejected` (by the client).
    state: String,
    days_ago: i64,
}

/// One step of a project's history, replayed at its moment.
enum Step<'a> {
    Line(&'a DemoLine),
    Report(&'a DemoReport, u32),
    Entry(&'a DemoEntry, u32),
    Change(&'a DemoChange),
    Progress(&'a DemoStage),
}

/// What the demo's projects need from the rest of the load.
pub(super) struct Known<'a> {
    pub(super) org: OrgId,
    pub(super) now: Timestamp,
    pub(super) staff: &'a HashMap<String, UserId>,
    pub(super) customers: &'a HashMap<String, CustomerId>,
    /// Each customer's won lead (their first order that ended in a `Won` stage).
    pub(super) won: &'a HashMap<String, OrderId>,
}

impl Known<'_> {
    fn staff(&self, username: &str) -> Result<Actor> {
        self.staff
            .get(username)
            .map(|user| Actor::staff(self.org, *user))
            .ok_or_else(|| Error::invalid("demo", format!("no demo staff user {username:?}")))
    }

    fn customer(&self, key: &str) -> Result<CustomerId> {
        self.customers
            .get(key)
            .copied()
            .ok_or_else(|| Error::invalid("demo", format!("no demo customer {key:?}")))
    }

    fn at(&self, days_ago: i64, hour: i64) -> Timestamp {
        self.now
            .minus_days(days_ago)
            .plus_millis(hour * HOUR)
            .min(self.now)
    }
}

/// A small PNG photo (96 x 64, a sky over a floor of `seed`'s colour with a window), made
/// without an image library: stored deflate blocks, CRC-32 and Adler-32 by hand.
pub(super) fn demo_photo(seed: u32) -> Vec<u8> {
    const WIDTH: u32 = 96;
    const HEIGHT: u32 = 64;
    let palette: [[u8; 3]; 6] = [
        [196, 164, 132],
        [150, 111, 51],
        [120, 144, 156],
        [205, 133, 63],
        [112, 128, 144],
        [176, 196, 222],
    ];
    let floor = palette[seed as usize % palette.len()];
    let mut raw = Vec::with_capacity(((WIDTH * 3 + 1) * HEIGHT) as usize);
    for y in 0..HEIGHT {
        raw.push(0); // filter: none
        for x in 0..WIDTH {
            let window = (20..44).contains(&x) && (10..30).contains(&y);
            let pixel = if window {
                [200, 225, 255]
            } else if y > 40 {
                floor
            } else {
                let shade = u8::try_from(230 - y).unwrap_or(200);
                [shade, shade, u8::try_from(200 + (seed % 40)).unwrap_or(220)]
            };
            raw.extend_from_slice(&pixel);
        }
    }
    let mut zlib = vec![0x78, 0x01];
    let chunks: Vec<&[u8]> = raw.chunks(65_535).collect();
    for (index, block) in chunks.iter().enumerate() {
        zlib.push(u8::from(index + 1 == chunks.len()));
        let len = u16::try_from(block.len()).unwrap_or(u16::MAX);
        zlib.extend_from_slice(&len.to_le_bytes());
        zlib.extend_from_slice(&(!len).to_le_bytes());
        zlib.extend_from_slice(block);
    }
    let (mut a, mut b) = (1_u32, 0_u32);
    for byte in &raw {
        a = (a + u32::from(*byte)) % 65_521;
        b = (b + a) % 65_521;
    }
    zlib.extend_from_slice(&((b << 16) | a).to_be_bytes());
    let mut png = vec![0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a];
    let mut chunk = |kind: &[u8; 4], data: &[u8]| {
        png.extend_from_slice(&u32::try_from(data.len()).unwrap_or(0).to_be_bytes());
        let mut crc = crc32fast::Hasher::new();
        crc.update(kind);
        crc.update(data);
        png.extend_from_slice(kind);
        png.extend_from_slice(data);
        png.extend_from_slice(&crc.finalize().to_be_bytes());
    };
    let mut header = Vec::with_capacity(13);
    header.extend_from_slice(&WIDTH.to_be_bytes());
    header.extend_from_slice(&HEIGHT.to_be_bytes());
    header.extend_from_slice(&[8, 2, 0, 0, 0]); // 8-bit RGB
    chunk(b"IHDR", &header);
    chunk(b"IDAT", &zlib);
    chunk(b"IEND", &[]);
    png
}

fn photo(seed: u32) -> Result<NewMedia> {
    NewMedia::parse(demo_photo(seed), "image/png")
}

impl Tx<'_> {
    /// Replays one demo project; answers its number of daily reports.
    pub(super) fn demo_project(&mut self, known: &Known<'_>, demo: &DemoProject) -> Result<u64> {
        let org = known.org;
        let manager = known.staff(&demo.manager)?;
        self.set_now(known.at(demo.days_ago, 9));
        let mut new = match (&demo.from_lead, &demo.client) {
            (Some(key), None) => {
                let lead = known.won.get(key).copied().ok_or_else(|| {
                    Error::invalid("demo", format!("customer {key:?} has no won lead"))
                })?;
                crate::projects::project_draft_in(self, &manager, Some(lead))?.project
            }
            (None, Some(key)) => NewProject {
                client: known.customer(key)?,
                title: demo.title.clone().unwrap_or_default(),
                ..NewProject::default()
            },
            _ => {
                return Err(Error::invalid(
                    "demo",
                    "a project names either a lead or a client",
                ));
            }
        };
        new.address = demo.address.clone();
        if let Some(budget) = demo.budget_minor {
            new.budget = Money(budget);
        }
        new.stages = demo.stages.iter().map(|stage| stage.name.clone()).collect();
        let project = self.create_project(&manager, new)?;
        let workers = demo
            .workers
            .iter()
            .map(|username| {
                known
                    .staff
                    .get(username)
                    .copied()
                    .ok_or_else(|| Error::invalid("demo", format!("no staff {username:?}")))
            })
            .collect::<Result<Vec<UserId>>>()?;
        self.set_project_workers(&manager, project.id, workers)?;
        let stages: HashMap<String, ProjectStageId> =
            crate::projects::project_in(self, &manager, project.id)?
                .stages
                .into_iter()
                .map(|view| (view.stage.name, view.stage.id))
                .collect();
        let stage = |name: &str| {
            stages
                .get(name)
                .copied()
                .ok_or_else(|| Error::invalid("demo", format!("no demo stage {name:?}")))
        };

        // The history in the order it happened: the estimate on the first day, then each
        // step on its day (reports in the evening, entries at noon, changes in the morning).
        let mut steps: Vec<(Timestamp, Step<'_>)> = Vec::new();
        for line in &demo.estimate {
            steps.push((known.at(demo.days_ago, 10), Step::Line(line)));
        }
        let mut seed = u32::try_from(project.id.get()).unwrap_or(0) * 97;
        for report in &demo.reports {
            seed += 7;
            steps.push((known.at(report.days_ago, 18), Step::Report(report, seed)));
        }
        for entry in &demo.entries {
            seed += 3;
            steps.push((known.at(entry.days_ago, 12), Step::Entry(entry, seed)));
        }
        for change in &demo.change_requests {
            steps.push((known.at(change.days_ago, 11), Step::Change(change)));
        }
        for stage in &demo.stages {
            steps.push((known.at(stage.progress_days_ago, 19), Step::Progress(stage)));
        }
        steps.sort_by_key(|(at, _)| *at);
        let mut reports = 0;
        for (at, step) in steps {
            self.set_now(at);
            match step {
                Step::Line(line) => {
                    self.add_estimate_line(
                        &manager,
                        project.id,
                        NewEstimateLine {
                            stage: stage(&line.stage)?,
                            title: line.title.clone(),
                            planned: Money(line.planned_minor),
                        },
                    )?;
                }
                Step::Report(report, seed) => {
                    let media = (0..u32::from(report.photos))
                        .map(|index| photo(seed + index))
                        .collect::<Result<Vec<NewMedia>>>()?;
                    self.add_daily_report(
                        &known.staff(&report.author)?,
                        project.id,
                        NewReport {
                            stage: stage(&report.stage)?,
                            text: report.text.clone(),
                            media,
                            voice: None,
                        },
                    )?;
                    reports += 1;
                }
                Step::Entry(entry, seed) => {
                    self.add_project_entry(
                        &known.staff(&entry.author)?,
                        project.id,
                        NewEntry {
                            kind: EntryKind::parse("kind", &entry.kind)?,
                            amount: Money(entry.amount_minor),
                            category: EntryCategory::parse("category", &entry.category)?,
                            note: entry.note.clone(),
                            stage: entry.stage.as_deref().map(stage).transpose()?,
                            proof: if entry.proof {
                                Some(photo(seed)?)
                            } else {
                                None
                            },
                            date: None,
                        },
                    )?;
                }
                Step::Change(change) => {
                    let request = self.create_change_request(
                        &manager,
                        project.id,
                        NewChangeRequest {
                            title: change.title.clone(),
                            amount: Money(change.amount_minor),
                            description: change.description.clone(),
                        },
                    )?;
                    let client = Actor::customer(org, project.client);
                    let decision = match change.state.as_str() {
                        "pending" => None,
                        "approved" => Some(Decision::Approve),
                        "rejected" => Some(Decision::Reject),
                        other => {
                            return Err(Error::invalid(
                                "demo",
                                format!("a change request's state is {other:?}"),
                            ));
                        }
                    };
                    if let Some(decision) = decision {
                        self.set_now(at.plus_millis(HOUR / 2).min(known.now));
                        self.decide_change_request(&client, project.id, request.id, decision)?;
                    }
                }
                Step::Progress(demo_stage) => {
                    if demo_stage.progress > 0 {
                        self.set_stage_progress(
                            &manager,
                            project.id,
                            stage(&demo_stage.name)?,
                            demo_stage.progress,
                        )?;
                    }
                }
            }
        }
        for document in &demo.documents {
            self.add_project_document(
                &manager,
                project.id,
                crate::projects::NewDocument {
                    title: document.title.clone(),
                    file_name: document.file_name.clone(),
                    file: demo_document_file(demo, document)?,
                },
            )?;
        }
        Ok(reports)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_demo_photo_is_a_png_with_a_valid_header_and_end() {
        let png = demo_photo(3);
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
        assert_eq!(&png[12..16], b"IHDR");
        assert_eq!(&png[png.len() - 8..png.len() - 4], b"IEND");
        assert!(png.len() < 20_000, "{}", png.len());
        assert_ne!(demo_photo(3), demo_photo(4));
    }
}
