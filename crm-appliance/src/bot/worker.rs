//! The worker's bot (issue 14, the projects module): a person on the team links their
//! Telegram account by sharing their own contact, then reports from the site.
//!
//! - Linking: `/start` from an account linked to nobody, in an organization running the
//!   projects module, adds a reply-keyboard button "I'm on the team: share my phone"
//!   (`request_contact`) under the customer's greeting. A `contact` message goes to crm-lib's
//!   `link_staff_by_contact`, which decides everything (one's own contact only, the phone an
//!   active staff user's who works on projects, nobody linked twice) and audits a miss.
//! - The menu: Report and Expense (`wk:r`, `wk:e`), shown to linked staff whom crm-lib lists
//!   projects for (`worker_projects_in`: the projects they are on, with stages and actions).
//! - Report: project -> stage -> photos or videos (albums arrive as one update per file
//!   with the same `media_group_id`; the processor stores each file before its
//!   transaction, and the draft keeps the stored hashes) -> Done -> a text or a voice note,
//!   or Skip -> one `add_daily_report`.
//! - Expense: project -> expense or income -> amount -> category -> stage or Skip -> a proof
//!   photo or Skip -> one `add_project_entry`.
//!
//! Every step has Cancel; bad input at a step (a sticker, text where files are expected, a
//! 31st file) is answered and the draft stays where it was. The draft lives in the dialogue
//! state (`Dialogue::Report` / `Dialogue::Entry`), written in the update's transaction.

use crm_lib::{
    ErrorKind, Tx,
    model::{
        Actor, Attachment, Button, ChatId, EntryCategory, EntryKind, Keyboard, Language, MediaKind,
        Module, Money, ProjectId, ProjectStageId, TelegramUserId, User,
    },
    projects::{NewEntry, NewReport, REPORT_MEDIA_MAX, WorkerProject, WorkerProjects},
    team::{ContactLink, SharedContact},
};
use teloxide::types::{Contact, Message};

use super::context::{Command, Ctx, Prepared, Press, Replies};
use super::dialogue::{self, Dialogue, EntryDraft, ReportDraft, StoredFile, WorkerStep};
use super::keyboards::{WorkerAction, WorkerPress, worker_button};
use super::render::{tr, tr_with};

/// The reply-keyboard offer to join the team, sent after the customer's greeting in an
/// organization running the projects module.
///
/// # Errors
/// Storage.
pub(crate) fn offer_contact(
    tx: &mut Tx<'_>,
    actor: &Actor,
    language: Language,
    chat: ChatId,
    out: &mut Replies,
) -> crm_lib::Result<()> {
    let org = crm_lib::org::organization_in(&*tx, actor)?;
    if org.modules.contains(Module::Projects) {
        out.send(
            chat,
            &tr(language, "worker.bot.offer"),
            Some(Keyboard::new(vec![vec![Button::request_contact(tr(
                language,
                "worker.bot.share_phone",
            ))]])),
        );
    }
    Ok(())
}

/// A `contact` message from an account linked to no staff user. Returns whether it was
/// handled here (otherwise, in an organization without the projects module, it is a
/// customer's message like any other).
///
/// # Errors
/// Storage.
pub(crate) fn on_contact(
    tx: &mut Tx<'_>,
    ctx: &Ctx<'_>,
    language: Language,
    telegram: TelegramUserId,
    chat: ChatId,
    contact: &Contact,
    out: &mut Replies,
) -> crm_lib::Result<bool> {
    let shared = SharedContact {
        phone_number: contact.phone_number.clone(),
        user_id: contact
            .user_id
            .and_then(|id| i64::try_from(id.0).ok())
            .map(TelegramUserId::new),
    };
    match tx
        .system()
        .link_staff_by_contact(ctx.org, telegram, &shared)
    {
        Ok(ContactLink::Linked(user)) => {
            dialogue::save(tx, ctx.org, chat, &Dialogue::Idle)?;
            if !menu(tx, ctx, &user, chat, out)? {
                out.send(
                    chat,
                    &tr_with(
                        user.language,
                        "bot.staff.info",
                        &[("name", &user.display_name)],
                    ),
                    None,
                );
            }
            Ok(true)
        }
        Ok(ContactLink::NotOnTeam) => {
            out.send(chat, &tr(language, "worker.bot.not_on_team"), None);
            Ok(true)
        }
        Err(error) => match error.kind() {
            ErrorKind::Storage => Err(error),
            ErrorKind::NotFound => Ok(false),
            ErrorKind::PermissionDenied => {
                out.send(chat, &tr(language, "worker.bot.not_own_contact"), None);
                Ok(true)
            }
            ErrorKind::Conflict => {
                out.send(chat, &tr(language, "worker.bot.linked_already"), None);
                Ok(true)
            }
            _ => {
                out.send(chat, &tr(language, "worker.bot.bad_phone"), None);
                Ok(true)
            }
        },
    }
}

/// The projects crm-lib lists for `user` as a worker, or `None` when they are no worker
/// here (the module off, or no projects permission).
fn projects_of(tx: &Tx<'_>, ctx: &Ctx<'_>, user: &User) -> crm_lib::Result<Option<WorkerProjects>> {
    let actor = Actor::staff(ctx.org, user.id);
    match crm_lib::projects::worker_projects_in(tx, &actor) {
        Ok(projects) => Ok(Some(projects)),
        Err(error) if error.kind() == ErrorKind::Storage => Err(error),
        Err(_) => Ok(None),
    }
}

/// Sends the worker's menu (Report, Expense) when crm-lib lists projects for `user`;
/// returns whether it did.
///
/// # Errors
/// Storage.
pub(crate) fn menu(
    tx: &mut Tx<'_>,
    ctx: &Ctx<'_>,
    user: &User,
    chat: ChatId,
    out: &mut Replies,
) -> crm_lib::Result<bool> {
    let Some(projects) = projects_of(tx, ctx, user)? else {
        return Ok(false);
    };
    let language = user.language;
    out.send(
        chat,
        &tr_with(
            language,
            "worker.bot.menu",
            &[
                ("name", &user.display_name),
                ("projects", &projects.projects.len()),
            ],
        ),
        Some(Keyboard::new(vec![vec![
            worker_button(tr(language, "worker.bot.report"), WorkerPress::Report),
            worker_button(tr(language, "worker.bot.expense"), WorkerPress::Expense),
        ]])),
    );
    Ok(true)
}

/// A message from a linked staff user: the worker's flows take it when a draft is open or
/// the user is a worker here (any other message shows the menu). Returns whether it was
/// handled.
///
/// # Errors
/// Storage.
#[allow(clippy::too_many_arguments)]
pub(crate) fn on_message(
    tx: &mut Tx<'_>,
    ctx: &Ctx<'_>,
    user: &User,
    chat: ChatId,
    message: &Message,
    command: Option<&Command>,
    state: &Dialogue,
    out: &mut Replies,
) -> crm_lib::Result<bool> {
    let language = user.language;
    let draft_open = matches!(state, Dialogue::Report(_) | Dialogue::Entry(_));
    if let Some(command) = command {
        match command.name.as_str() {
            "cancel" if draft_open => {
                dialogue::save(tx, ctx.org, chat, &Dialogue::Idle)?;
                out.send(chat, &tr(language, "worker.bot.cancelled"), None);
                return Ok(true);
            }
            "report" | "expense" => {
                let press = if command.name == "report" {
                    WorkerPress::Report
                } else {
                    WorkerPress::Expense
                };
                return start(tx, ctx, user, chat, press, out);
            }
            "start" | "menu" | "help" => {
                if draft_open {
                    dialogue::save(tx, ctx.org, chat, &Dialogue::Idle)?;
                }
                return menu(tx, ctx, user, chat, out);
            }
            _ if draft_open => {
                out.send(chat, &tr(language, "worker.bot.finish_first"), None);
                return Ok(true);
            }
            _ => return Ok(false),
        }
    }
    match state {
        Dialogue::Report(draft) => {
            on_report_input(tx, ctx, user, chat, message, draft.clone(), out)?;
            Ok(true)
        }
        Dialogue::Entry(draft) => {
            on_entry_input(tx, ctx, user, chat, message, draft.clone(), out)?;
            Ok(true)
        }
        Dialogue::Idle => menu(tx, ctx, user, chat, out),
        _ => Ok(false),
    }
}

/// The file the processor stored for this message, when there is one.
fn stored_file<'a>(ctx: &Ctx<'a>) -> Option<&'a Attachment> {
    ctx.files.iter().find_map(|file| match file {
        Prepared::Stored(attachment) => Some(attachment),
        Prepared::Failed => None,
    })
}

fn as_stored(attachment: &Attachment) -> StoredFile {
    StoredFile {
        media: attachment.media.to_hex(),
        mime: attachment.mime.clone(),
        size: attachment.size,
    }
}

fn cancel_row(language: Language, id: u64, step: WorkerStep) -> Vec<Button> {
    vec![worker_button(
        tr(language, "worker.bot.cancel"),
        WorkerPress::Step {
            id,
            step,
            action: WorkerAction::Cancel,
        },
    )]
}

fn skip_button(language: Language, id: u64, step: WorkerStep) -> Button {
    worker_button(
        tr(language, "worker.bot.skip"),
        WorkerPress::Step {
            id,
            step,
            action: WorkerAction::Skip,
        },
    )
}

/// Starts a report or an entry: the projects to choose from.
fn start(
    tx: &mut Tx<'_>,
    ctx: &Ctx<'_>,
    user: &User,
    chat: ChatId,
    press: WorkerPress,
    out: &mut Replies,
) -> crm_lib::Result<bool> {
    let Some(projects) = projects_of(tx, ctx, user)? else {
        return Ok(false);
    };
    let language = user.language;
    let report = press == WorkerPress::Report;
    let offered: Vec<&WorkerProject> = if report {
        projects.reportable().collect()
    } else {
        projects.bookable().collect()
    };
    if offered.is_empty() {
        dialogue::save(tx, ctx.org, chat, &Dialogue::Idle)?;
        out.send(chat, &tr(language, "worker.bot.no_projects"), None);
        return Ok(true);
    }
    let id = ctx.update_id.max(1);
    let mut rows: Vec<Vec<Button>> = offered
        .iter()
        .map(|project| {
            vec![worker_button(
                project.title.clone(),
                WorkerPress::Step {
                    id,
                    step: WorkerStep::Project,
                    action: WorkerAction::Pick(project.id.get()),
                },
            )]
        })
        .collect();
    rows.push(cancel_row(language, id, WorkerStep::Project));
    let state = if report {
        Dialogue::Report(ReportDraft {
            id,
            step: WorkerStep::Project,
            project: 0,
            stage: 0,
            media: Vec::new(),
            album: None,
        })
    } else {
        Dialogue::Entry(EntryDraft {
            id,
            step: WorkerStep::Project,
            project: 0,
            income: false,
            amount: String::new(),
            category: String::new(),
            stage: None,
        })
    };
    dialogue::save(tx, ctx.org, chat, &state)?;
    out.send(
        chat,
        &tr(language, "worker.bot.choose_project"),
        Some(Keyboard::new(rows)),
    );
    Ok(true)
}

/// The stage buttons of `project` (with Skip for an entry, whose stage is optional).
fn stage_keyboard(
    language: Language,
    id: u64,
    step: WorkerStep,
    project: &WorkerProject,
) -> Keyboard {
    let mut rows: Vec<Vec<Button>> = project
        .stages
        .iter()
        .map(|stage| {
            vec![worker_button(
                format!("{} · {}%", stage.name, stage.progress),
                WorkerPress::Step {
                    id,
                    step,
                    action: WorkerAction::Pick(stage.id.get()),
                },
            )]
        })
        .collect();
    if step == WorkerStep::EntryStage {
        rows.push(vec![skip_button(language, id, step)]);
    }
    rows.push(cancel_row(language, id, step));
    Keyboard::new(rows)
}

/// A button of the worker's bot pressed by a linked staff user.
///
/// # Errors
/// Storage.
pub(crate) fn on_press(
    tx: &mut Tx<'_>,
    ctx: &Ctx<'_>,
    user: &User,
    press: &Press<'_>,
    worker: WorkerPress,
    out: &mut Replies,
) -> crm_lib::Result<()> {
    let language = user.language;
    let stale = |out: &mut Replies| {
        out.answer(
            press.chat,
            press.query_id,
            Some(tr(language, "bot.callback.stale")),
            false,
        );
    };
    let WorkerPress::Step { id, step, action } = worker else {
        if !start(tx, ctx, user, press.chat, worker, out)? {
            stale(out);
        }
        return Ok(());
    };
    let state = dialogue::load(tx, ctx.org, press.chat)?;
    let (draft_id, draft_step) = match &state {
        Dialogue::Report(draft) => (draft.id, draft.step),
        Dialogue::Entry(draft) => (draft.id, draft.step),
        _ => {
            stale(out);
            return Ok(());
        }
    };
    if draft_id != id || draft_step != step {
        stale(out);
        return Ok(());
    }
    if let Some(message_id) = press.message_id {
        out.drop_keyboard(press.chat, message_id);
    }
    if action == WorkerAction::Cancel {
        dialogue::save(tx, ctx.org, press.chat, &Dialogue::Idle)?;
        out.send(press.chat, &tr(language, "worker.bot.cancelled"), None);
        return Ok(());
    }
    let Some(projects) = projects_of(tx, ctx, user)? else {
        dialogue::save(tx, ctx.org, press.chat, &Dialogue::Idle)?;
        stale(out);
        return Ok(());
    };
    match state {
        Dialogue::Report(draft) => {
            report_press(tx, ctx, user, press, &projects, draft, action, out)
        }
        Dialogue::Entry(draft) => entry_press(tx, ctx, user, press, &projects, draft, action, out),
        _ => Ok(()),
    }
}

fn find(projects: &WorkerProjects, id: u64) -> Option<&WorkerProject> {
    projects
        .projects
        .iter()
        .find(|project| project.id.get() == id)
}

#[allow(clippy::too_many_arguments)]
fn report_press(
    tx: &mut Tx<'_>,
    ctx: &Ctx<'_>,
    user: &User,
    press: &Press<'_>,
    projects: &WorkerProjects,
    mut draft: ReportDraft,
    action: WorkerAction,
    out: &mut Replies,
) -> crm_lib::Result<()> {
    let language = user.language;
    let chat = press.chat;
    match (draft.step, action) {
        (WorkerStep::Project, WorkerAction::Pick(project)) => {
            let Some(chosen) = find(projects, project).filter(|p| p.actions.add_report) else {
                return gone(tx, ctx, chat, language, out);
            };
            draft.project = project;
            draft.step = WorkerStep::Stage;
            let keyboard = stage_keyboard(language, draft.id, WorkerStep::Stage, chosen);
            dialogue::save(tx, ctx.org, chat, &Dialogue::Report(draft))?;
            out.send(
                chat,
                &tr_with(
                    language,
                    "worker.bot.choose_stage",
                    &[("project", &chosen.title)],
                ),
                Some(keyboard),
            );
        }
        (WorkerStep::Stage, WorkerAction::Pick(stage)) => {
            let Some(project) = find(projects, draft.project) else {
                return gone(tx, ctx, chat, language, out);
            };
            let Some(stage) = project.stages.iter().find(|s| s.id.get() == stage) else {
                return gone(tx, ctx, chat, language, out);
            };
            draft.stage = stage.id.get();
            draft.step = WorkerStep::Media;
            let id = draft.id;
            dialogue::save(tx, ctx.org, chat, &Dialogue::Report(draft))?;
            out.send(
                chat,
                &tr_with(
                    language,
                    "worker.bot.send_media",
                    &[("stage", &stage.name), ("max", &REPORT_MEDIA_MAX)],
                ),
                Some(media_keyboard(language, id)),
            );
        }
        (WorkerStep::Media, WorkerAction::Done) => {
            draft.step = WorkerStep::Note;
            let id = draft.id;
            let files = draft.media.len();
            dialogue::save(tx, ctx.org, chat, &Dialogue::Report(draft))?;
            out.send(
                chat,
                &tr_with(language, "worker.bot.send_note", &[("files", &files)]),
                Some(Keyboard::new(vec![
                    vec![skip_button(language, id, WorkerStep::Note)],
                    cancel_row(language, id, WorkerStep::Note),
                ])),
            );
        }
        (WorkerStep::Note, WorkerAction::Skip) => {
            finish_report(tx, ctx, user, chat, &draft, String::new(), None, out)?;
        }
        _ => out.answer(
            chat,
            press.query_id,
            Some(tr(language, "bot.callback.stale")),
            false,
        ),
    }
    Ok(())
}

fn media_keyboard(language: Language, id: u64) -> Keyboard {
    Keyboard::new(vec![
        vec![worker_button(
            tr(language, "worker.bot.done"),
            WorkerPress::Step {
                id,
                step: WorkerStep::Media,
                action: WorkerAction::Done,
            },
        )],
        cancel_row(language, id, WorkerStep::Media),
    ])
}

/// The project or stage chosen is no longer offered (the project completed, the worker
/// taken off it): the draft ends.
fn gone(
    tx: &mut Tx<'_>,
    ctx: &Ctx<'_>,
    chat: ChatId,
    language: Language,
    out: &mut Replies,
) -> crm_lib::Result<()> {
    dialogue::save(tx, ctx.org, chat, &Dialogue::Idle)?;
    out.send(chat, &tr(language, "worker.bot.gone"), None);
    Ok(())
}

/// Text, files or a voice note typed at a report's step.
fn on_report_input(
    tx: &mut Tx<'_>,
    ctx: &Ctx<'_>,
    user: &User,
    chat: ChatId,
    message: &Message,
    mut draft: ReportDraft,
    out: &mut Replies,
) -> crm_lib::Result<()> {
    let language = user.language;
    match draft.step {
        WorkerStep::Media => {
            let visual = message.photo().is_some() || message.video().is_some();
            if !visual {
                out.send(
                    chat,
                    &tr(language, "worker.bot.media_expected"),
                    Some(media_keyboard(language, draft.id)),
                );
                return Ok(());
            }
            let Some(file) = stored_file(ctx)
                .filter(|file| matches!(file.kind, MediaKind::Photo | MediaKind::Video))
            else {
                out.send(chat, &tr(language, "worker.bot.file_failed"), None);
                return Ok(());
            };
            if draft.media.len() >= REPORT_MEDIA_MAX {
                out.send(
                    chat,
                    &tr_with(
                        language,
                        "worker.bot.too_many",
                        &[("max", &REPORT_MEDIA_MAX)],
                    ),
                    Some(media_keyboard(language, draft.id)),
                );
                return Ok(());
            }
            let album = message.media_group_id().map(|group| group.0.clone());
            let acknowledge = album.is_none() || album != draft.album;
            draft.media.push(as_stored(file));
            draft.album = album;
            let (id, count) = (draft.id, draft.media.len());
            dialogue::save(tx, ctx.org, chat, &Dialogue::Report(draft))?;
            if acknowledge {
                out.send(
                    chat,
                    &tr_with(language, "worker.bot.received", &[("files", &count)]),
                    Some(media_keyboard(language, id)),
                );
            }
        }
        WorkerStep::Note => {
            if message.voice().is_some() {
                match stored_file(ctx).filter(|file| file.kind == MediaKind::Voice) {
                    Some(voice) => {
                        let voice = as_stored(voice);
                        finish_report(
                            tx,
                            ctx,
                            user,
                            chat,
                            &draft,
                            String::new(),
                            Some(voice),
                            out,
                        )?;
                    }
                    None => out.send(chat, &tr(language, "worker.bot.file_failed"), None),
                }
            } else if let Some(text) = message.text().filter(|text| !text.trim().is_empty()) {
                finish_report(tx, ctx, user, chat, &draft, text.to_string(), None, out)?;
            } else {
                out.send(chat, &tr(language, "worker.bot.note_expected"), None);
            }
        }
        _ => out.send(chat, &tr(language, "worker.bot.use_buttons"), None),
    }
    Ok(())
}

/// The one `add_daily_report` call of a finished draft.
#[allow(clippy::too_many_arguments)]
fn finish_report(
    tx: &mut Tx<'_>,
    ctx: &Ctx<'_>,
    user: &User,
    chat: ChatId,
    draft: &ReportDraft,
    text: String,
    voice: Option<StoredFile>,
    out: &mut Replies,
) -> crm_lib::Result<()> {
    let language = user.language;
    let actor = Actor::staff(ctx.org, user.id);
    let new = NewReport {
        stage: ProjectStageId::new(draft.stage),
        text,
        media: draft.media.iter().filter_map(StoredFile::input).collect(),
        voice: voice.as_ref().and_then(StoredFile::input),
    };
    match tx.add_daily_report(&actor, ProjectId::new(draft.project), new) {
        Ok(report) => {
            dialogue::save(tx, ctx.org, chat, &Dialogue::Idle)?;
            out.send(
                chat,
                &tr_with(
                    language,
                    "worker.bot.report_saved",
                    &[
                        ("id", &report.id),
                        ("files", &report.media.len()),
                        (
                            "voice",
                            &tr(
                                language,
                                if report.voice.is_some() {
                                    "worker.bot.with_voice"
                                } else {
                                    "worker.bot.without_voice"
                                },
                            ),
                        ),
                    ],
                ),
                None,
            );
            Ok(())
        }
        Err(error) => refused(tx, ctx, chat, language, error, out),
    }
}

/// A refusal of the final call: told in words; the draft ends.
fn refused(
    tx: &mut Tx<'_>,
    ctx: &Ctx<'_>,
    chat: ChatId,
    language: Language,
    error: crm_lib::Error,
    out: &mut Replies,
) -> crm_lib::Result<()> {
    if error.kind() == ErrorKind::Storage {
        return Err(error);
    }
    dialogue::save(tx, ctx.org, chat, &Dialogue::Idle)?;
    out.send(
        chat,
        &tr_with(
            language,
            "worker.bot.refused",
            &[("message", &error.message())],
        ),
        None,
    );
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn entry_press(
    tx: &mut Tx<'_>,
    ctx: &Ctx<'_>,
    user: &User,
    press: &Press<'_>,
    projects: &WorkerProjects,
    mut draft: EntryDraft,
    action: WorkerAction,
    out: &mut Replies,
) -> crm_lib::Result<()> {
    let language = user.language;
    let chat = press.chat;
    let id = draft.id;
    match (draft.step, action) {
        (WorkerStep::Project, WorkerAction::Pick(project)) => {
            if find(projects, project)
                .filter(|p| p.actions.add_entry)
                .is_none()
            {
                return gone(tx, ctx, chat, language, out);
            }
            draft.project = project;
            draft.step = WorkerStep::Kind;
            dialogue::save(tx, ctx.org, chat, &Dialogue::Entry(draft))?;
            let kind = |income: bool, key: &str| {
                worker_button(
                    tr(language, key),
                    WorkerPress::Step {
                        id,
                        step: WorkerStep::Kind,
                        action: WorkerAction::Income(income),
                    },
                )
            };
            out.send(
                chat,
                &tr(language, "worker.bot.choose_kind"),
                Some(Keyboard::new(vec![
                    vec![
                        kind(false, "worker.bot.kind_expense"),
                        kind(true, "worker.bot.kind_income"),
                    ],
                    cancel_row(language, id, WorkerStep::Kind),
                ])),
            );
        }
        (WorkerStep::Kind, WorkerAction::Income(income)) => {
            draft.income = income;
            draft.step = WorkerStep::Amount;
            dialogue::save(tx, ctx.org, chat, &Dialogue::Entry(draft))?;
            out.send(
                chat,
                &tr(language, "worker.bot.send_amount"),
                Some(Keyboard::new(vec![cancel_row(
                    language,
                    id,
                    WorkerStep::Amount,
                )])),
            );
        }
        (WorkerStep::Category, WorkerAction::Category(index)) => {
            let Some(category) = EntryCategory::ALL.get(usize::from(index)) else {
                return gone(tx, ctx, chat, language, out);
            };
            let Some(project) = find(projects, draft.project) else {
                return gone(tx, ctx, chat, language, out);
            };
            draft.category = category.as_str().to_string();
            draft.step = WorkerStep::EntryStage;
            let keyboard = stage_keyboard(language, id, WorkerStep::EntryStage, project);
            dialogue::save(tx, ctx.org, chat, &Dialogue::Entry(draft))?;
            out.send(
                chat,
                &tr(language, "worker.bot.choose_entry_stage"),
                Some(keyboard),
            );
        }
        (WorkerStep::EntryStage, WorkerAction::Pick(_) | WorkerAction::Skip) => {
            if let WorkerAction::Pick(stage) = action {
                let known = find(projects, draft.project)
                    .is_some_and(|p| p.stages.iter().any(|s| s.id.get() == stage));
                if !known {
                    return gone(tx, ctx, chat, language, out);
                }
                draft.stage = Some(stage);
            }
            draft.step = WorkerStep::Proof;
            dialogue::save(tx, ctx.org, chat, &Dialogue::Entry(draft))?;
            out.send(
                chat,
                &tr(language, "worker.bot.send_proof"),
                Some(Keyboard::new(vec![
                    vec![skip_button(language, id, WorkerStep::Proof)],
                    cancel_row(language, id, WorkerStep::Proof),
                ])),
            );
        }
        (WorkerStep::Proof, WorkerAction::Skip) => {
            finish_entry(tx, ctx, user, chat, &draft, None, out)?;
        }
        _ => out.answer(
            chat,
            press.query_id,
            Some(tr(language, "bot.callback.stale")),
            false,
        ),
    }
    Ok(())
}

fn category_keyboard(language: Language, id: u64) -> Keyboard {
    let mut rows: Vec<Vec<Button>> = EntryCategory::ALL
        .chunks(2)
        .enumerate()
        .map(|(row, pair)| {
            pair.iter()
                .enumerate()
                .map(|(column, category)| {
                    worker_button(
                        tr(
                            language,
                            &format!("projects.category.{}", category.as_str()),
                        ),
                        WorkerPress::Step {
                            id,
                            step: WorkerStep::Category,
                            action: WorkerAction::Category(
                                u8::try_from(row * 2 + column).unwrap_or(u8::MAX),
                            ),
                        },
                    )
                })
                .collect()
        })
        .collect();
    rows.push(cancel_row(language, id, WorkerStep::Category));
    Keyboard::new(rows)
}

/// Text or a photo typed at an entry's step.
fn on_entry_input(
    tx: &mut Tx<'_>,
    ctx: &Ctx<'_>,
    user: &User,
    chat: ChatId,
    message: &Message,
    mut draft: EntryDraft,
    out: &mut Replies,
) -> crm_lib::Result<()> {
    let language = user.language;
    match draft.step {
        WorkerStep::Amount => {
            let Some(text) = message.text() else {
                out.send(chat, &tr(language, "worker.bot.amount_expected"), None);
                return Ok(());
            };
            match Money::parse("amount", text) {
                Ok(_) => {
                    draft.amount = text.trim().to_string();
                    draft.step = WorkerStep::Category;
                    let id = draft.id;
                    dialogue::save(tx, ctx.org, chat, &Dialogue::Entry(draft))?;
                    out.send(
                        chat,
                        &tr(language, "worker.bot.choose_category"),
                        Some(category_keyboard(language, id)),
                    );
                }
                Err(error) => out.send(
                    chat,
                    &tr_with(
                        language,
                        "worker.bot.amount_invalid",
                        &[("message", &error.message())],
                    ),
                    None,
                ),
            }
        }
        WorkerStep::Proof => {
            if message.photo().is_none() && message.document().is_none() {
                out.send(chat, &tr(language, "worker.bot.proof_expected"), None);
                return Ok(());
            }
            match stored_file(ctx) {
                Some(file) => {
                    let proof = as_stored(file);
                    finish_entry(tx, ctx, user, chat, &draft, Some(proof), out)?;
                }
                None => out.send(chat, &tr(language, "worker.bot.file_failed"), None),
            }
        }
        _ => out.send(chat, &tr(language, "worker.bot.use_buttons"), None),
    }
    Ok(())
}

/// The one `add_project_entry` call of a finished draft.
fn finish_entry(
    tx: &mut Tx<'_>,
    ctx: &Ctx<'_>,
    user: &User,
    chat: ChatId,
    draft: &EntryDraft,
    proof: Option<StoredFile>,
    out: &mut Replies,
) -> crm_lib::Result<()> {
    let language = user.language;
    let actor = Actor::staff(ctx.org, user.id);
    let parsed = Money::parse("amount", &draft.amount)
        .and_then(|amount| Ok((amount, EntryCategory::parse("category", &draft.category)?)));
    let (amount, category) = match parsed {
        Ok(parsed) => parsed,
        Err(error) => return refused(tx, ctx, chat, language, error, out),
    };
    let new = NewEntry {
        kind: if draft.income {
            EntryKind::Income
        } else {
            EntryKind::Expense
        },
        amount,
        category,
        note: String::new(),
        stage: draft.stage.map(ProjectStageId::new),
        proof: proof.as_ref().and_then(StoredFile::input),
        date: None,
    };
    match tx.add_project_entry(&actor, ProjectId::new(draft.project), new) {
        Ok(entry) => {
            dialogue::save(tx, ctx.org, chat, &Dialogue::Idle)?;
            out.send(
                chat,
                &tr_with(
                    language,
                    if entry.kind == EntryKind::Income {
                        "worker.bot.income_saved"
                    } else {
                        "worker.bot.expense_saved"
                    },
                    &[
                        ("id", &entry.id),
                        ("amount", &entry.amount),
                        (
                            "category",
                            &tr(
                                language,
                                &format!("projects.category.{}", entry.category.as_str()),
                            ),
                        ),
                    ],
                ),
                None,
            );
            Ok(())
        }
        Err(error) => refused(tx, ctx, chat, language, error, out),
    }
}

/// Whether the draft open in this chat takes a file now: a report's photos, videos or voice
/// note, an entry's proof. The processor fetches a staff user's file only then (or for a
/// message to a customer).
pub(crate) fn wants_file(state: &Dialogue) -> bool {
    match state {
        Dialogue::Report(draft) => matches!(draft.step, WorkerStep::Media | WorkerStep::Note),
        Dialogue::Entry(draft) => draft.step == WorkerStep::Proof,
        _ => false,
    }
}
