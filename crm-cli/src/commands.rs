//! One function per command: parse what clap left, make one crm-lib call, render the result.

use std::fs;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};
use crm_lib::{
    Crm, ErrorKind, Password,
    admin::Setup,
    export::ExportFormat,
    model::{Actor, CustomerId, Language, OrgId, UserStatus},
    team::{MarkerRefs, NewUser},
};
use indicatif::{ProgressBar, ProgressStyle};

mod projects;
mod tenants;

use crate::Io;
use crate::cli::{
    AiCommand, BroadcastCommand, CallsCommand, CannedCommand, Cli, Command, CustomersCommand,
    DepartmentCommand, ExportKind, Format, ImportKind, InitArgs, JobsCommand, LeadCommand,
    RoleCommand, TokenCommand, TokensCommand, UserCommand, WebhookCommand,
};
use crate::exit::{self, Exit};

/// Where a command runs: the data file as the user named it (for messages), and, for a
/// command sent over the admin channel, the caller's working directory that relative paths
/// are resolved against (the appliance's own differs).
#[derive(Debug, Clone)]
pub(crate) struct Place {
    /// `DIR/crm.redb`, as the user's `--data-dir` names it.
    pub(crate) data_file: PathBuf,
    /// The caller's working directory, for commands run by the appliance.
    pub(crate) cwd: Option<PathBuf>,
}

impl Place {
    /// A path given on the command line, ready to open: relative paths are the caller's.
    pub(crate) fn path(&self, path: &Path) -> PathBuf {
        match &self.cwd {
            Some(cwd) if path.is_relative() => cwd.join(path),
            _ => path.to_path_buf(),
        }
    }
}

/// Runs the command of `cli` on the data file it names.
pub(crate) fn run(cli: &Cli, io: &mut Io<'_>) -> Result<()> {
    let data_file = cli.data_dir.join("crm.redb");
    match &cli.command {
        Command::Init(args) => init(&cli.data_dir, &data_file, args, io),
        Command::Restore { input, force } => restore(&cli.data_dir, &data_file, input, *force, io),
        command => {
            let crm = open(&data_file)?;
            let place = Place {
                data_file: data_file.clone(),
                cwd: None,
            };
            let result = on_store(&crm, &place, cli.org.as_deref(), command, io);
            crm.close();
            result
        }
    }
}

/// Runs a command that works on an open store: offline on the file, or inside the running
/// appliance for a command sent over its admin channel (same code, same output). A command
/// on one organization acts on the one `--org` names (`org`, its slug), else the first.
pub(crate) fn on_store(
    crm: &Crm,
    place: &Place,
    org: Option<&str>,
    command: &Command,
    io: &mut Io<'_>,
) -> Result<()> {
    if let Command::Org(command) = command {
        return tenants::org(crm, place, command, io);
    }
    let org = match org {
        Some(slug) => crm
            .system()
            .organization_by_slug(slug)
            .with_context(|| format!("--org {slug}"))?,
        None => crm
            .system()
            .default_organization()
            .with_context(|| format!("reading {}", place.data_file.display()))?,
    };
    dispatch(crm, org.id, place, command, io)
}

fn dispatch(
    crm: &Crm,
    org: OrgId,
    place: &Place,
    command: &Command,
    io: &mut Io<'_>,
) -> Result<()> {
    match command {
        Command::User(command) => user(crm, org, command, io),
        Command::Role(RoleCommand::List { json }) => role_list(crm, org, *json, io),
        Command::Token(command) => token(crm, org, command, io),
        Command::Jobs(command) => jobs(crm, org, command, io),
        Command::Department(command) => department(crm, org, command, io),
        Command::Import { what, file } => import(crm, org, *what, file, place, io),
        Command::Export {
            what,
            format,
            output,
        } => export(crm, org, *what, *format, output.as_deref(), place, io),
        Command::Backup { out } => backup(crm, out, place, io),
        Command::Verify => verify(crm, &place.data_file, io),
        Command::Stats { json } => stats(crm, *json, &place.data_file, io),
        Command::Analytics { json, csv } => analytics(crm, org, *json, csv.as_deref(), io),
        Command::Demo => demo(crm, org, io),
        Command::Calls(command) => calls(crm, org, command, io),
        Command::Customers(command) => customers(crm, org, command, io),
        Command::Canned(command) => canned(crm, org, command, io),
        Command::Tokens(command) => tokens(crm, org, command, io),
        Command::Webhook(command) => webhook(crm, org, command, io),
        Command::Broadcast(command) => broadcast(crm, org, command, place, io),
        Command::Project(command) => projects::project(crm, org, command, place, io),
        Command::Lead(LeadCommand::Show { id, json }) => lead_show(crm, org, *id, *json, io),
        Command::Ai(command) => ai(crm, org, command, place, io),
        Command::Org(command) => tenants::org(crm, place, command, io),
        Command::Init(_) | Command::Restore { .. } => Err(anyhow::Error::new(Exit {
            code: exit::IN_USE,
            message: format!(
                "the data file {} is in use by the running appliance; stop it before `crm init` or `crm restore`",
                place.data_file.display()
            ),
        })),
    }
}

fn busy(data_file: &Path) -> anyhow::Error {
    anyhow::Error::new(Exit {
        code: exit::IN_USE,
        message: format!(
            "the data file {} is in use by a running appliance; stop it or wait for the admin channel ({}) to answer",
            data_file.display(),
            data_file
                .with_file_name(crate::remote::SOCKET_NAME)
                .display()
        ),
    })
}

/// Opens an existing data file; a missing file is "not found" rather than silently created.
fn open(data_file: &Path) -> Result<Crm> {
    if !data_file.exists() {
        return Err(anyhow::Error::new(Exit {
            code: exit::NOT_FOUND,
            message: format!(
                "there is no data file at {}; run `crm init` first, or point --data-dir (CRM_DATA_DIR) at the directory that holds crm.redb",
                data_file.display()
            ),
        }));
    }
    open_or_create(data_file)
}

fn open_or_create(data_file: &Path) -> Result<Crm> {
    Crm::open(data_file).map_err(|error| {
        if crm_lib::is_locked(&error) {
            busy(data_file)
        } else {
            anyhow::Error::new(error).context(format!("opening {}", data_file.display()))
        }
    })
}

/// Creates `dir` (and its parents) readable by the owner only; an existing directory is left
/// as it is.
fn create_private_dir(dir: &Path) -> Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder
        .create(dir)
        .with_context(|| format!("creating the data directory {}", dir.display()))
}

fn init(data_dir: &Path, data_file: &Path, args: &InitArgs, io: &mut Io<'_>) -> Result<()> {
    create_private_dir(data_dir)?;
    let crm = open_or_create(data_file)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(data_file, fs::Permissions::from_mode(0o600))
            .with_context(|| format!("restricting {} to its owner", data_file.display()))?;
    }
    let password = crm_lib::generate_password()?;
    let slug = args
        .slug
        .clone()
        .unwrap_or_else(|| crm_lib::tenants::slug_from_name(&args.org_name));
    let crm_lib::admin::Initialized {
        organization: org,
        admin,
    } = crm
        .system()
        .initialize(Setup {
            template: args.template.name().to_string(),
            name: args.org_name.clone(),
            slug,
            admin_username: "admin".to_string(),
            admin_password: password.clone(),
        })
        .with_context(|| format!("setting up {}", data_file.display()))?;
    crm.close();
    out!(
        io,
        "created {} with organization {:?} (slug {}, template {})",
        data_file.display(),
        org.name,
        org.slug,
        org.template
    );
    out!(io, "administrator: {}", admin.username);
    out!(io, "password: {}", password.expose());
    out!(io, "(shown once; the first login asks for a new password)");
    Ok(())
}

/// Reads a password from the first line of the input (without its line ending).
fn password_from_stdin(io: &mut Io<'_>) -> Result<Password> {
    let mut line = String::new();
    io.input
        .read_line(&mut line)
        .context("reading the password from stdin")?;
    let line = line.strip_suffix('\n').unwrap_or(&line);
    let line = line.strip_suffix('\r').unwrap_or(line);
    Ok(Password::parse(line)?)
}

fn user(crm: &Crm, org: OrgId, command: &UserCommand, io: &mut Io<'_>) -> Result<()> {
    let system = Actor::system(org);
    match command {
        UserCommand::Add {
            name,
            roles,
            display_name,
            password_stdin,
            markers,
        } => {
            let password = if *password_stdin {
                password_from_stdin(io)?
            } else {
                crm_lib::generate_password()?
            };
            let user = crm
                .create_user_with_markers(
                    &system,
                    NewUser {
                        username: name.clone(),
                        display_name: display_name.clone().unwrap_or_default(),
                        password: password.clone(),
                        roles: roles.clone(),
                        must_change_password: !password_stdin,
                    },
                    MarkerRefs::Names(markers.clone()),
                )
                .with_context(|| format!("adding user {name}"))?;
            out!(
                io,
                "created user {} with roles {}",
                user.username,
                roles.join(", ")
            );
            if !user.markers.is_empty() {
                out!(
                    io,
                    "skills: {}",
                    marker_names(&crm.markers(&system)?, &user.markers).join(", ")
                );
            }
            if !password_stdin {
                out!(io, "password: {}", password.expose());
                out!(io, "(shown once; the first login asks for a new password)");
            }
        }
        UserCommand::Markers { name, markers } => {
            let user = crm.user_by_name(&system, name)?;
            let names: Vec<String> = markers.split(',').map(str::to_string).collect();
            let changed = crm
                .set_user_marker_names(&system, user.id, names)
                .with_context(|| format!("setting the skills of {name}"))?;
            let skills = marker_names(&crm.markers(&system)?, &changed.markers);
            if skills.is_empty() {
                out!(io, "{} now has no skills", changed.username);
            } else {
                out!(
                    io,
                    "{} now has skills {}",
                    changed.username,
                    skills.join(", ")
                );
            }
        }
        UserCommand::Phone { name, phone } => {
            let user = crm.user_by_name(&system, name)?;
            let changed = crm
                .set_user_phone(&system, user.id, Some(phone))
                .with_context(|| format!("setting the phone of {name}"))?;
            match &changed.phone {
                Some(phone) => out!(io, "{} now has phone {phone}", changed.username),
                None => out!(io, "{} now has no phone", changed.username),
            }
        }
        UserCommand::List { json } => user_list(crm, org, *json, io)?,
        UserCommand::Passwd {
            name,
            password_stdin,
        } => {
            let user = crm.user_by_name(&Actor::system(org), name)?;
            let password = if *password_stdin {
                password_from_stdin(io)?
            } else {
                crm_lib::generate_password()?
            };
            crm.set_password(&system, user.id, &password, !password_stdin)
                .with_context(|| format!("setting the password of {name}"))?;
            out!(io, "set a new password for {}", user.username);
            if !password_stdin {
                out!(io, "password: {}", password.expose());
                out!(io, "(shown once; the next login asks for a new password)");
            }
        }
        UserCommand::Disable { name } => {
            let user = crm.user_by_name(&Actor::system(org), name)?;
            crm.disable_user(&system, user.id)
                .with_context(|| format!("disabling {name}"))?;
            out!(io, "disabled {}", user.username);
        }
        UserCommand::Enable { name } => {
            let user = crm.user_by_name(&Actor::system(org), name)?;
            crm.enable_user(&system, user.id)
                .with_context(|| format!("enabling {name}"))?;
            out!(io, "enabled {}", user.username);
        }
        UserCommand::Grant { name, roles } => {
            let user = crm.user_by_name(&Actor::system(org), name)?;
            let (id, new_roles) = (user.id, roles.clone());
            crm.write(move |tx| tx.set_user_roles(&system, id, new_roles))
                .with_context(|| format!("setting the roles of {name}"))?;
            out!(io, "{} now has roles {}", user.username, roles.join(", "));
        }
    }
    Ok(())
}

fn jobs(crm: &Crm, org: OrgId, command: &JobsCommand, io: &mut Io<'_>) -> Result<()> {
    let system = Actor::system(org);
    match command {
        JobsCommand::List { json } => {
            let view = crm.jobs(&system)?;
            let when = |at: Option<crm_lib::model::Timestamp>| {
                at.map(|at| at.to_rfc3339()).unwrap_or_default()
            };
            let schedule = |job: &crm_lib::jobs::JobRow| match job.schedule {
                crm_lib::jobs::Schedule::EveryMinutes(minutes) => {
                    format!("every {minutes} minutes")
                }
                crm_lib::jobs::Schedule::DailyAt(time) => {
                    format!("daily at {time} {}", view.time_zone)
                }
            };
            if *json {
                let rows: Vec<serde_json::Value> = view
                    .jobs
                    .iter()
                    .map(|job| {
                        serde_json::json!({
                            "name": job.name,
                            "schedule": schedule(job),
                            "enabled": job.enabled,
                            "next_run": job.next_slot.map(|at| at.to_rfc3339()),
                            "running_since": job.running_since.map(|at| at.to_rfc3339()),
                            "last_start": job.last_start.map(|at| at.to_rfc3339()),
                            "last_end": job.last_end.map(|at| at.to_rfc3339()),
                            "duration_ms": job.duration_ms(),
                            "last_ok": job.last_ok,
                            "last_result": job.last_result,
                            "runs": job.runs,
                        })
                    })
                    .collect();
                out!(io, "{}", serde_json::to_string_pretty(&rows)?);
                return Ok(());
            }
            let rows: Vec<Vec<String>> = view
                .jobs
                .iter()
                .map(|job| {
                    vec![
                        job.name.to_string(),
                        if job.enabled {
                            schedule(job)
                        } else {
                            format!("{} (off)", schedule(job))
                        },
                        when(job.next_slot),
                        when(job.last_start),
                        job.runs.to_string(),
                        match (job.running_since, job.runs) {
                            (Some(_), _) => "running".to_string(),
                            (None, 0) => String::new(),
                            (None, _) if job.last_ok => job.last_result.clone(),
                            (None, _) => format!("FAILED: {}", job.last_result),
                        },
                    ]
                })
                .collect();
            print_table(
                &["NAME", "SCHEDULE", "NEXT RUN", "LAST RUN", "RUNS", "RESULT"],
                &rows,
                io,
            )?;
        }
        JobsCommand::Run { name } => {
            let run = crm.run_job(&system, name)?;
            if !run.ok {
                return Err(anyhow::Error::new(Exit {
                    code: exit::OTHER,
                    message: format!("job {} failed: {}", run.job, run.result),
                }));
            }
            out!(io, "{}: {}", run.job, run.result);
        }
        JobsCommand::Set {
            audit_retention_days,
            report_time,
            archive_after_days,
            enable,
            disable,
        } => {
            let report_time = report_time
                .as_deref()
                .map(|text| crm_lib::model::LocalTime::parse("report_time", text))
                .transpose()?;
            let enabled = enable
                .iter()
                .map(|name| (name.clone(), true))
                .chain(disable.iter().map(|name| (name.clone(), false)))
                .collect();
            let settings = crm.update_job_settings(
                &system,
                crm_lib::jobs::JobSettingsUpdate {
                    audit_retention_days: *audit_retention_days,
                    report_time,
                    archive_after_days: *archive_after_days,
                    enabled,
                },
            )?;
            out!(
                io,
                "audit entries kept {} days; daily report at {}; closed conversations archived after {} days; switched off: {}",
                settings.audit_retention_days,
                settings.report_time,
                settings.archive_after_days,
                if settings.disabled.is_empty() {
                    "none".to_string()
                } else {
                    settings.disabled.join(", ")
                }
            );
        }
    }
    Ok(())
}

/// The department named by `text`: its id, or its name ignoring case.
fn find_department(crm: &Crm, org: OrgId, text: &str) -> Result<crm_lib::operators::DepartmentRow> {
    let rows = crm.departments(&Actor::system(org))?;
    let wanted = text.trim();
    rows.into_iter()
        .find(|row| {
            row.department.id.to_string() == wanted
                || row.department.name.to_lowercase() == wanted.to_lowercase()
        })
        .ok_or_else(|| crm_lib::Error::not_found("department", format!("{wanted:?}")).into())
}

fn department(crm: &Crm, org: OrgId, command: &DepartmentCommand, io: &mut Io<'_>) -> Result<()> {
    let system = Actor::system(org);
    match command {
        DepartmentCommand::List { json } => {
            let rows = crm.departments(&system)?;
            let members = |row: &crm_lib::operators::DepartmentRow| -> Vec<String> {
                row.members.iter().map(|(_, name)| name.clone()).collect()
            };
            if *json {
                let rows: Vec<serde_json::Value> = rows
                    .iter()
                    .map(|row| {
                        serde_json::json!({
                            "id": row.department.id.get(),
                            "name": row.department.name,
                            "archived": row.department.archived,
                            "members": members(row),
                            "waiting": row.waiting,
                        })
                    })
                    .collect();
                out!(io, "{}", serde_json::to_string_pretty(&rows)?);
                return Ok(());
            }
            let table: Vec<Vec<String>> = rows
                .iter()
                .map(|row| {
                    vec![
                        row.department.id.to_string(),
                        row.department.name.clone(),
                        if row.department.archived {
                            "archived"
                        } else {
                            "active"
                        }
                        .to_string(),
                        row.waiting.to_string(),
                        members(row).join(", "),
                    ]
                })
                .collect();
            print_table(&["ID", "NAME", "STATE", "WAITING", "OPERATORS"], &table, io)?;
        }
        DepartmentCommand::Create { name } => {
            let created = crm
                .create_department(&system, name)
                .with_context(|| format!("creating department {name:?}"))?;
            out!(io, "created department {} {:?}", created.id, created.name);
        }
        DepartmentCommand::Rename { department, name } => {
            let row = find_department(crm, org, department)?;
            let renamed = crm
                .rename_department(&system, row.department.id, name)
                .with_context(|| format!("renaming department {department:?}"))?;
            out!(io, "department {} is now {:?}", renamed.id, renamed.name);
        }
        DepartmentCommand::Archive { department } => {
            let row = find_department(crm, org, department)?;
            let archived = crm.set_department_archived(&system, row.department.id, true)?;
            out!(
                io,
                "archived department {} {:?}",
                archived.id,
                archived.name
            );
        }
        DepartmentCommand::AddMember { department, user } => {
            let row = find_department(crm, org, department)?;
            let record = crm.user_by_name(&system, user)?;
            crm.add_department_member(&system, row.department.id, record.id)
                .with_context(|| format!("adding {user} to {department:?}"))?;
            out!(
                io,
                "{} is in department {:?}",
                record.username,
                row.department.name
            );
        }
        DepartmentCommand::RemoveMember { department, user } => {
            let row = find_department(crm, org, department)?;
            let record = crm.user_by_name(&system, user)?;
            crm.remove_department_member(&system, row.department.id, record.id)?;
            out!(
                io,
                "{} left department {:?}",
                record.username,
                row.department.name
            );
        }
    }
    Ok(())
}

fn token(crm: &Crm, org: OrgId, command: &TokenCommand, io: &mut Io<'_>) -> Result<()> {
    let system = Actor::system(org);
    match command {
        TokenCommand::Create { user, name } => {
            let record = crm.user_by_name(&Actor::system(org), user)?;
            let created = crm
                .create_api_token(&system, record.id, name)
                .with_context(|| format!("creating an api token for {user}"))?;
            out!(
                io,
                "created api token {} {:?} for user {}",
                created.token.id,
                created.token.name,
                record.username
            );
            out!(io, "token: {}", created.secret.expose());
            out!(
                io,
                "(shown once; send it as the header `Authorization: Bearer <token>`)"
            );
        }
        TokenCommand::List { user, json } => {
            let user_id = match user {
                Some(name) => Some(crm.user_by_name(&Actor::system(org), name)?.id),
                None => None,
            };
            let tokens = crm.api_tokens(&system, user_id)?;
            let names: std::collections::HashMap<crm_lib::model::UserId, String> = crm
                .users(&Actor::system(org))?
                .into_iter()
                .map(|user| (user.id, user.username))
                .collect();
            let owner = |token: &crm_lib::model::ApiToken| {
                names
                    .get(&token.user)
                    .cloned()
                    .unwrap_or_else(|| token.user.to_string())
            };
            if *json {
                let rows: Vec<serde_json::Value> = tokens
                    .iter()
                    .map(|token| {
                        serde_json::json!({
                            "id": token.id.get(),
                            "user": owner(token),
                            "name": token.name,
                            "created_at": token.created_at.to_rfc3339(),
                        })
                    })
                    .collect();
                out!(io, "{}", serde_json::to_string_pretty(&rows)?);
                return Ok(());
            }
            let rows: Vec<Vec<String>> = tokens
                .iter()
                .map(|token| {
                    vec![
                        token.id.to_string(),
                        owner(token),
                        token.name.clone(),
                        token.created_at.to_rfc3339(),
                    ]
                })
                .collect();
            print_table(&["ID", "USER", "NAME", "CREATED"], &rows, io)?;
        }
        TokenCommand::Revoke { id } => {
            let token = crm
                .revoke_api_token(&system, crm_lib::model::ApiTokenId::new(*id))
                .with_context(|| format!("revoking api token {id}"))?;
            out!(io, "revoked api token {} {:?}", token.id, token.name);
        }
    }
    Ok(())
}

fn role_names(
    crm: &Crm,
    org: OrgId,
) -> Result<std::collections::HashMap<crm_lib::model::RoleId, String>> {
    Ok(crm
        .roles(&Actor::system(org))?
        .into_iter()
        .map(|role| (role.id, role.name))
        .collect())
}

/// The names of `markers` (in the default language) among `all`, in their order.
fn marker_names(
    all: &[crm_lib::model::Marker],
    markers: &[crm_lib::model::MarkerId],
) -> Vec<String> {
    markers
        .iter()
        .map(|id| {
            all.iter().find(|marker| marker.id == *id).map_or_else(
                || id.to_string(),
                |marker| marker.name.get(Language::default()).to_string(),
            )
        })
        .collect()
}

fn user_list(crm: &Crm, org: OrgId, json: bool, io: &mut Io<'_>) -> Result<()> {
    let names = role_names(crm, org)?;
    let markers = crm.markers(&Actor::system(org))?;
    let users = crm.users(&Actor::system(org))?;
    let status = |status: UserStatus| match status {
        UserStatus::Active => "active",
        UserStatus::Disabled => "disabled",
    };
    let roles_of = |user: &crm_lib::model::User| -> Vec<String> {
        user.roles
            .iter()
            .map(|role| names.get(role).cloned().unwrap_or_else(|| role.to_string()))
            .collect()
    };
    if json {
        let rows: Vec<serde_json::Value> = users
            .iter()
            .map(|user| {
                serde_json::json!({
                    "id": user.id.get(),
                    "username": user.username,
                    "display_name": user.display_name,
                    "roles": roles_of(user),
                    "markers": marker_names(&markers, &user.markers),
                    "status": status(user.status),
                    "phone": user.phone,
                    "telegram_linked": user.telegram_id.is_some(),
                    "must_change_password": user.must_change_password,
                    "created_at": user.created_at.to_rfc3339(),
                })
            })
            .collect();
        out!(io, "{}", serde_json::to_string_pretty(&rows)?);
        return Ok(());
    }
    let rows: Vec<Vec<String>> = users
        .iter()
        .map(|user| {
            vec![
                user.username.clone(),
                user.display_name.clone(),
                roles_of(user).join(","),
                status(user.status).to_string(),
                user.phone.clone().unwrap_or_else(|| "-".into()),
                if user.telegram_id.is_some() {
                    "linked"
                } else {
                    "-"
                }
                .to_string(),
                marker_names(&markers, &user.markers).join(","),
            ]
        })
        .collect();
    print_table(
        &[
            "USERNAME", "NAME", "ROLES", "STATUS", "PHONE", "TELEGRAM", "SKILLS",
        ],
        &rows,
        io,
    )?;
    Ok(())
}

fn role_list(crm: &Crm, org: OrgId, json: bool, io: &mut Io<'_>) -> Result<()> {
    let roles = crm.roles(&Actor::system(org))?;
    if json {
        let rows: Vec<serde_json::Value> = roles
            .iter()
            .map(|role| {
                serde_json::json!({
                    "id": role.id.get(),
                    "name": role.name,
                    "builtin": role.builtin.is_some(),
                    "permissions": role.permissions.iter().map(|p| p.as_str()).collect::<Vec<_>>(),
                })
            })
            .collect();
        out!(io, "{}", serde_json::to_string_pretty(&rows)?);
        return Ok(());
    }
    let rows: Vec<Vec<String>> = roles
        .iter()
        .map(|role| {
            vec![
                role.name.clone(),
                if role.builtin.is_some() {
                    "built-in"
                } else {
                    "custom"
                }
                .to_string(),
                role.permissions
                    .iter()
                    .map(|permission| permission.as_str())
                    .collect::<Vec<_>>()
                    .join(","),
            ]
        })
        .collect();
    print_table(&["ROLE", "KIND", "PERMISSIONS"], &rows, io)?;
    Ok(())
}

/// Prints rows under a header, columns padded to their widest cell.
pub(crate) fn print_table(
    header: &[&str],
    rows: &[Vec<String>],
    io: &mut Io<'_>,
) -> io::Result<()> {
    let mut widths: Vec<usize> = header.iter().map(|cell| cell.chars().count()).collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut line = |cells: Vec<&str>| {
        let last = cells.len().saturating_sub(1);
        let mut text = String::new();
        for (index, (cell, width)) in cells.iter().zip(&widths).enumerate() {
            text.push_str(cell);
            if index < last {
                let pad = width.saturating_sub(cell.chars().count()) + 2;
                text.extend(std::iter::repeat_n(' ', pad));
            }
        }
        out!(io, "{}", text.trim_end());
        Ok::<(), io::Error>(())
    };
    line(header.to_vec())?;
    for row in rows {
        line(row.iter().map(String::as_str).collect())?;
    }
    Ok(())
}

/// A progress bar over `len` bytes on a terminal; hidden otherwise (scripts, pipes, tests,
/// the admin channel).
fn byte_bar(len: u64, terminal: bool) -> ProgressBar {
    if !terminal {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(len);
    if let Ok(style) =
        ProgressStyle::with_template("{msg} [{bar:30}] {bytes}/{total_bytes} ({eta})")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}

/// A spinner with a message on a terminal; hidden otherwise.
fn spinner(message: &str, terminal: bool) -> ProgressBar {
    if !terminal {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new_spinner();
    bar.set_message(message.to_string());
    bar.enable_steady_tick(Duration::from_millis(100));
    bar
}

fn import(
    crm: &Crm,
    org: OrgId,
    what: ImportKind,
    file: &Path,
    place: &Place,
    io: &mut Io<'_>,
) -> Result<()> {
    let input =
        fs::File::open(place.path(file)).with_context(|| format!("opening {}", file.display()))?;
    let len = input.metadata().map(|meta| meta.len()).unwrap_or(0);
    let name = file.display().to_string();
    let bar = byte_bar(len, io.terminal);
    bar.set_message("validating");
    let progress = |bytes: u64| bar.set_position(bytes);
    let system = Actor::system(org);
    let (result, noun) = match what {
        ImportKind::Customers => (
            crm.import_customers(&system, io::BufReader::new(input), &name, &progress),
            "customers",
        ),
        ImportKind::Orders => (
            crm.import_orders(&system, io::BufReader::new(input), &name, &progress),
            "orders",
        ),
    };
    bar.finish_and_clear();
    let report = result?;
    out!(
        io,
        "imported {} {noun} from {} in {:.2} s",
        report.imported,
        report.file,
        report.duration.as_secs_f64()
    );
    Ok(())
}

fn export(
    crm: &Crm,
    org: OrgId,
    what: ExportKind,
    format: Format,
    output: Option<&Path>,
    place: &Place,
    io: &mut Io<'_>,
) -> Result<()> {
    let format = match format {
        Format::Csv => ExportFormat::Csv,
        Format::Json => ExportFormat::Json,
    };
    let run = |out: &mut dyn Write| -> crm_lib::Result<u64> {
        match what {
            ExportKind::Customers => crm.export_customers(&Actor::system(org), format, out),
            ExportKind::Orders => crm.export_orders(&Actor::system(org), format, out),
            ExportKind::Audit => crm.export_audit(&Actor::system(org), format, out),
        }
    };
    let noun = match what {
        ExportKind::Customers => "customers",
        ExportKind::Orders => "orders",
        ExportKind::Audit => "audit entries",
    };
    match output {
        Some(path) => {
            let file = create_private_file(&place.path(path))
                .with_context(|| format!("creating {}", path.display()))?;
            let mut out = BufWriter::new(file);
            let count =
                run(&mut out).with_context(|| format!("exporting to {}", path.display()))?;
            out.flush()
                .with_context(|| format!("writing {}", path.display()))?;
            writeln!(io.err, "exported {count} {noun} to {}", path.display())?;
        }
        None => {
            let mut out = BufWriter::new(&mut *io.out);
            run(&mut out).context("exporting to stdout")?;
            out.flush().context("writing to stdout")?;
        }
    }
    Ok(())
}

/// Creates (or truncates) a file readable and writable by its owner only (0600 on Unix), like
/// a backup: an export holds customers' names, phones and the audit log. A file that existed
/// with wider permissions is narrowed too.
fn create_private_file(path: &Path) -> std::io::Result<fs::File> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        options.mode(0o600);
        let file = options.open(path)?;
        file.set_permissions(fs::Permissions::from_mode(0o600))?;
        Ok(file)
    }
    #[cfg(not(unix))]
    options.open(path)
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

fn backup(crm: &Crm, out: &Path, place: &Place, io: &mut Io<'_>) -> Result<()> {
    let bar = spinner("backing up", io.terminal);
    let report = crm.system().backup(&place.path(out));
    bar.finish_and_clear();
    let report = report.with_context(|| format!("backing up to {}", out.display()))?;
    out!(
        io,
        "backed up {} entries of {} tables ({:.1} MiB) to {} in {:.2} s",
        report.entries,
        report.tables,
        mib(report.file_bytes),
        out.display(),
        report.duration.as_secs_f64()
    );
    Ok(())
}

fn restore(
    data_dir: &Path,
    data_file: &Path,
    input: &Path,
    force: bool,
    io: &mut Io<'_>,
) -> Result<()> {
    // The directories this restore creates, removed again when it fails: a refused backup
    // leaves no trace.
    let created: Vec<PathBuf> = data_dir
        .ancestors()
        .take_while(|dir| !dir.as_os_str().is_empty() && !dir.exists())
        .map(Path::to_path_buf)
        .collect();
    create_private_dir(data_dir)?;
    let bar = spinner("restoring", io.terminal);
    let report = crm_lib::admin::restore(input, data_file, force);
    bar.finish_and_clear();
    if report.is_err() {
        for dir in &created {
            // Only empty directories go; anything that appeared meanwhile stays.
            let _ = fs::remove_dir(dir);
        }
    }
    let report = report.map_err(|error| {
        if error.kind() == ErrorKind::Busy {
            busy(data_file)
        } else {
            anyhow::Error::new(error).context(format!("restoring {}", input.display()))
        }
    })?;
    out!(
        io,
        "restored {} from {}: {} records and {} index entries verified, schema version {}{} in {:.2} s",
        report.path.display(),
        input.display(),
        report.records,
        report.index_entries,
        report.schema_version,
        if report.replaced {
            ", replacing the previous file"
        } else {
            ""
        },
        report.duration.as_secs_f64()
    );
    if report.repaired {
        out!(
            io,
            "note: redb repaired damage in the backup before it was checked"
        );
    }
    Ok(())
}

fn verify(crm: &Crm, data_file: &Path, io: &mut Io<'_>) -> Result<()> {
    let bar = spinner("verifying", io.terminal);
    let report = crm.system().verify();
    bar.finish_and_clear();
    let report = report.with_context(|| format!("verifying {}", data_file.display()))?;
    if !report.unchecked_tables.is_empty() {
        writeln!(
            io.err,
            "note: tables without verification rules yet: {}",
            report.unchecked_tables.join(", ")
        )?;
    }
    if report.is_clean() {
        out!(
            io,
            "verified {}: {} records, {} index entries, no problems",
            data_file.display(),
            report.records,
            report.index_entries
        );
        return Ok(());
    }
    for problem in &report.problems {
        out!(io, "{problem}");
    }
    Err(anyhow::Error::new(Exit {
        code: exit::DAMAGED,
        message: format!(
            "verification found {} problems in {}",
            report.problems.len(),
            data_file.display()
        ),
    }))
}

fn stats(crm: &Crm, json: bool, data_file: &Path, io: &mut Io<'_>) -> Result<()> {
    let stats = crm.system().stats()?;
    if json {
        out!(io, "{}", serde_json::to_string_pretty(&stats)?);
        return Ok(());
    }
    out!(io, "file: {}", data_file.display());
    out!(
        io,
        "size: {:.1} MiB ({} bytes)",
        mib(stats.file_bytes),
        stats.file_bytes
    );
    match stats.schema_version {
        Some(version) => out!(io, "schema version: {version}"),
        None => out!(io, "schema version: none"),
    }
    for org in &stats.organizations {
        out!(io);
        out!(
            io,
            "organization {} {:?} (slug {}, template {}): {} users, {} customers, {} orders",
            org.id,
            org.name,
            org.slug,
            org.template,
            org.users,
            org.customers,
            org.orders
        );
        let rows: Vec<Vec<String>> = org
            .stages
            .iter()
            .map(|stage| {
                vec![
                    stage.key.clone(),
                    stage.name.clone(),
                    stage.orders.to_string(),
                ]
            })
            .collect();
        print_table(&["STAGE", "NAME", "ORDERS"], &rows, io)?;
    }
    out!(io);
    let rows: Vec<Vec<String>> = stats
        .tables
        .iter()
        .map(|table| vec![table.name.clone(), table.entries.to_string()])
        .collect();
    print_table(&["TABLE", "ENTRIES"], &rows, io)?;
    Ok(())
}

/// `crm analytics`: the dashboard's figures as the system reads them, or one chart's CSV
/// (names in the organization's language).
fn analytics(crm: &Crm, org: OrgId, json: bool, csv: Option<&str>, io: &mut Io<'_>) -> Result<()> {
    use crm_lib::analytics::{Chart, RevenueUnit};
    let system = Actor::system(org);
    if let Some(chart) = csv {
        let chart = Chart::parse(chart)?;
        let language = crm.system().organization(org)?.settings.locale;
        let mut out = BufWriter::new(&mut *io.out);
        crm.export_chart(&system, chart, language, &mut out)
            .context("writing the chart to stdout")?;
        out.flush().context("writing to stdout")?;
        return Ok(());
    }
    let figures = crm.analytics(&system)?;
    let (unit, amount): (String, Box<dyn Fn(i64) -> String>) = match &figures.revenue_unit {
        RevenueUnit::Money { currency } => (
            currency.clone(),
            Box::new(|value| crm_lib::model::Money::from_minor(value).to_string()),
        ),
        RevenueUnit::Tokens => (
            "tokens".to_string(),
            Box::new(|value: i64| value.to_string()),
        ),
    };
    if json {
        let value = serde_json::json!({
            "zone": figures.zone.name(),
            "today": figures.today.to_string(),
            "unit": unit,
            "customers": figures.customers,
            "orders": figures.orders,
            "staff_users": figures.staff_users,
            "revenue": figures.revenue,
            "monthly_revenue": figures.monthly_revenue,
            "completed_revenue": figures.completed_revenue,
            "completed_orders": figures.completed_orders,
            "cancelled_orders": figures.cancelled_orders,
            "completion_rate_bps": figures.completion_rate,
            "average_order_value": figures.average_order_value,
            "active_subscribers": figures.active_subscribers,
        });
        out!(io, "{}", serde_json::to_string_pretty(&value)?);
        return Ok(());
    }
    out!(
        io,
        "as of {} ({}); revenue in {unit}",
        figures.today,
        figures.zone.name()
    );
    out!(io, "customers: {}", figures.customers);
    out!(
        io,
        "orders: {} ({} completed, {} cancelled)",
        figures.orders,
        figures.completed_orders,
        figures.cancelled_orders
    );
    out!(io, "staff users: {}", figures.staff_users);
    out!(io, "revenue: {}", amount(figures.revenue));
    out!(
        io,
        "revenue this month: {}",
        amount(figures.monthly_revenue)
    );
    out!(
        io,
        "revenue of completed orders: {}",
        amount(figures.completed_revenue)
    );
    out!(io, "completion rate: {}", figures.completion_rate_text());
    out!(
        io,
        "average order value: {}",
        figures
            .average_order_value
            .map_or_else(|| "-".to_string(), &amount)
    );
    if let Some(active) = figures.active_subscribers {
        out!(io, "active subscribers: {active}");
    }
    Ok(())
}

fn demo(crm: &Crm, org: OrgId, io: &mut Io<'_>) -> Result<()> {
    let bar = spinner("loading demo data", io.terminal);
    let report = crm.system().load_demo(org);
    bar.finish_and_clear();
    let report = report.context("loading the demo data")?;
    out!(
        io,
        "loaded {} orders, {} customers, {} bids, {} messages and {} markers in {:.2} s",
        report.orders,
        report.customers,
        report.bids,
        report.messages,
        report.markers,
        report.duration.as_secs_f64()
    );
    let stages: Vec<String> = report
        .stages
        .iter()
        .map(|count| format!("{} {}", count.stage.key, count.orders))
        .collect();
    out!(io, "orders by stage: {}", stages.join(", "));
    if report.calls > 0 {
        out!(io, "calls: {}", report.calls);
    }
    if report.projects > 0 {
        out!(
            io,
            "projects: {}, daily reports: {}",
            report.projects,
            report.daily_reports
        );
    }
    out!(
        io,
        "private notes: {}, canned responses: {}, satisfaction ratings: {}",
        report.notes,
        report.canned,
        report.ratings
    );
    out!(io);
    out!(io, "staff logins (passwords are shown once):");
    let rows: Vec<Vec<String>> = report
        .staff
        .iter()
        .map(|login| {
            vec![
                login.username.clone(),
                login.display_name.clone(),
                login.role.clone(),
                login.password.expose().to_string(),
            ]
        })
        .collect();
    print_table(&["USERNAME", "NAME", "ROLE", "PASSWORD"], &rows, io)?;
    Ok(())
}

/// `crm canned list|set|remove`: one crm-lib call each, as the system (which has every
/// permission); crm-lib checks codes, titles, texts and variables.
fn canned(crm: &Crm, org: OrgId, command: &CannedCommand, io: &mut Io<'_>) -> Result<()> {
    let system = Actor::system(org);
    let by_code = |code: &str| -> Result<Option<crm_lib::model::CannedResponse>> {
        let code = code.trim().to_lowercase();
        Ok(crm
            .canned_list(&system)?
            .into_iter()
            .find(|response| response.code == code))
    };
    match command {
        CannedCommand::List { json } => {
            let list = crm.canned_list(&system)?;
            if *json {
                let rows: Vec<serde_json::Value> = list
                    .iter()
                    .map(|response| {
                        let texts: serde_json::Map<String, serde_json::Value> = response
                            .texts
                            .iter()
                            .map(|(language, text)| (language.code().to_string(), text.into()))
                            .collect();
                        serde_json::json!({
                            "id": response.id.get(),
                            "code": response.code,
                            "title": response.title,
                            "texts": texts,
                            "files": response.attachments.len(),
                        })
                    })
                    .collect();
                out!(io, "{}", serde_json::to_string_pretty(&rows)?);
                return Ok(());
            }
            let table: Vec<Vec<String>> = list
                .iter()
                .map(|response| {
                    let languages: Vec<&str> = response
                        .texts
                        .iter()
                        .map(|(language, _)| language.code())
                        .collect();
                    vec![
                        format!("/{}", response.code),
                        response.title.clone(),
                        languages.join(","),
                        response.attachments.len().to_string(),
                    ]
                })
                .collect();
            print_table(&["CODE", "TITLE", "LANGUAGES", "FILES"], &table, io)?;
        }
        CannedCommand::Set { code, title, texts } => {
            let mut localized = crm_lib::model::Localized::default();
            for pair in texts {
                let Some((language, text)) = pair.split_once('=') else {
                    return Err(crm_lib::Error::invalid(
                        "text",
                        format!("{pair:?} is not LANG=TEXT (en=Hello)"),
                    )
                    .into());
                };
                localized.set(crm_lib::model::Language::parse("text", language)?, text);
            }
            let existing = by_code(code)?;
            let input = crm_lib::canned::CannedInput {
                code: code.clone(),
                title: title.clone(),
                texts: localized,
                attachments: existing
                    .as_ref()
                    .map(|response| response.attachments.clone())
                    .unwrap_or_default(),
            };
            let saved = match existing {
                Some(response) => crm.update_canned(&system, response.id, input, Vec::new()),
                None => crm.create_canned(&system, input, Vec::new()),
            }
            .with_context(|| format!("saving canned response /{code}"))?;
            out!(
                io,
                "saved canned response /{} ({})",
                saved.code,
                saved.title
            );
        }
        CannedCommand::Remove { code } => {
            let response = by_code(code)?
                .ok_or_else(|| crm_lib::Error::not_found("canned response", format!("/{code}")))?;
            crm.delete_canned(&system, response.id)?;
            out!(io, "removed canned response /{}", response.code);
        }
    }
    Ok(())
}

/// `crm webhook list|add|remove`: one crm-lib call each, as the system; crm-lib checks the
/// URL and the event types.
fn webhook(crm: &Crm, org: OrgId, command: &WebhookCommand, io: &mut Io<'_>) -> Result<()> {
    let system = Actor::system(org);
    match command {
        WebhookCommand::List { json } => {
            let list = crm.webhooks(&system)?;
            let events = |endpoint: &crm_lib::model::WebhookEndpoint| -> Vec<&'static str> {
                endpoint.events.iter().map(|event| event.as_str()).collect()
            };
            if *json {
                let rows: Vec<serde_json::Value> = list
                    .iter()
                    .map(|endpoint| {
                        serde_json::json!({
                            "id": endpoint.id.get(),
                            "url": endpoint.url,
                            "description": endpoint.description,
                            "events": events(endpoint),
                            "enabled": endpoint.enabled,
                            "secret": endpoint.secret,
                        })
                    })
                    .collect();
                out!(io, "{}", serde_json::to_string_pretty(&rows)?);
                return Ok(());
            }
            let table: Vec<Vec<String>> = list
                .iter()
                .map(|endpoint| {
                    vec![
                        endpoint.id.to_string(),
                        endpoint.url.clone(),
                        events(endpoint).join(","),
                        if endpoint.enabled { "yes" } else { "no" }.to_string(),
                    ]
                })
                .collect();
            print_table(&["ID", "URL", "EVENTS", "ENABLED"], &table, io)?;
        }
        WebhookCommand::Add {
            url,
            events,
            description,
        } => {
            let endpoint = crm
                .create_webhook(
                    &system,
                    crm_lib::webhooks::WebhookInput {
                        url: url.clone(),
                        description: description.clone(),
                        events: events.clone(),
                        enabled: true,
                    },
                )
                .context("adding the webhook endpoint")?;
            out!(
                io,
                "added webhook endpoint {} ({})",
                endpoint.id,
                endpoint.url
            );
            out!(io, "signing secret: {}", endpoint.secret);
        }
        WebhookCommand::Remove { id } => {
            let id = crm_lib::model::WebhookEndpointId::new(*id);
            crm.delete_webhook(&system, id)?;
            out!(io, "removed webhook endpoint {id}");
        }
    }
    Ok(())
}

/// An audience in one line: `everyone the bot can reach`, or its conditions.
fn audience_text(audience: &crm_lib::model::Audience) -> String {
    if audience.is_everyone() {
        return "everyone the bot can reach".to_string();
    }
    let yes_no = |wanted: bool| if wanted { "yes" } else { "no" };
    let mut parts = Vec::new();
    if !audience.languages.is_empty() {
        let codes: Vec<&str> = audience
            .languages
            .iter()
            .map(|language| language.code())
            .collect();
        parts.push(format!("language {}", codes.join(",")));
    }
    if let Some(wanted) = audience.subscribers {
        parts.push(format!("subscribers {}", yes_no(wanted)));
    }
    if let Some(min) = audience.balance_min {
        parts.push(format!("balance >= {min}"));
    }
    if let Some(max) = audience.balance_max {
        parts.push(format!("balance <= {max}"));
    }
    if let Some(days) = audience.active_within_days {
        parts.push(format!("active within {days} days"));
    }
    if let Some(wanted) = audience.has_ordered {
        parts.push(format!("has ordered {}", yes_no(wanted)));
    }
    parts.join("; ")
}

/// A broadcast as JSON (the API's field names).
fn broadcast_json(broadcast: &crm_lib::model::Broadcast) -> serde_json::Value {
    let counts = &broadcast.counts;
    let at = |at: Option<crm_lib::model::Timestamp>| at.map(|at| at.to_rfc3339());
    serde_json::json!({
        "id": broadcast.id.get(),
        "title": broadcast.title,
        "text": broadcast.text,
        "state": broadcast.state.as_str(),
        "audience": audience_text(&broadcast.audience),
        "rate_per_second": broadcast.rate_per_second,
        "scheduled_at": at(broadcast.scheduled_at),
        "created_at": broadcast.created_at.to_rfc3339(),
        "started_at": at(broadcast.started_at),
        "finished_at": at(broadcast.finished_at),
        "recipients": counts.recipients,
        "pending": counts.pending,
        "queued": counts.queued,
        "sent": counts.sent,
        "failed": counts.failed,
        "blocked": counts.blocked,
        "skipped": counts.skipped,
        "success_rate": counts.success_rate(),
    })
}

/// `crm broadcast list|show|create|start|pause|resume|cancel|report`: one crm-lib call each,
/// as the system, except `create`, which a staff user writes (`--as`, default `admin`);
/// crm-lib checks the text, the audience, the rate and what the state allows.
fn broadcast(
    crm: &Crm,
    org: OrgId,
    command: &BroadcastCommand,
    place: &Place,
    io: &mut Io<'_>,
) -> Result<()> {
    use crm_lib::model::{Audience, BroadcastId};
    let system = Actor::system(org);
    match command {
        BroadcastCommand::List { json } => {
            let list = crm.broadcasts(&system)?;
            if *json {
                let rows: Vec<serde_json::Value> = list
                    .iter()
                    .map(|view| broadcast_json(&view.broadcast))
                    .collect();
                out!(io, "{}", serde_json::to_string_pretty(&rows)?);
                return Ok(());
            }
            let table: Vec<Vec<String>> = list
                .iter()
                .map(|view| {
                    let broadcast = &view.broadcast;
                    let counts = &broadcast.counts;
                    vec![
                        broadcast.id.to_string(),
                        broadcast.state.as_str().to_string(),
                        counts.recipients.to_string(),
                        counts.sent.to_string(),
                        counts.failed.to_string(),
                        counts.blocked.to_string(),
                        broadcast.title.clone(),
                    ]
                })
                .collect();
            print_table(
                &[
                    "ID",
                    "STATE",
                    "RECIPIENTS",
                    "SENT",
                    "FAILED",
                    "BLOCKED",
                    "TITLE",
                ],
                &table,
                io,
            )?;
        }
        BroadcastCommand::Show { id, json } => {
            let broadcast = crm.broadcast(&system, BroadcastId::new(*id))?.broadcast;
            if *json {
                out!(
                    io,
                    "{}",
                    serde_json::to_string_pretty(&broadcast_json(&broadcast))?
                );
                return Ok(());
            }
            let counts = &broadcast.counts;
            out!(io, "broadcast {}: {}", broadcast.id, broadcast.title);
            out!(io, "state: {}", broadcast.state.as_str());
            out!(io, "audience: {}", audience_text(&broadcast.audience));
            out!(io, "rate: {} messages a second", broadcast.rate_per_second);
            for (label, at) in [
                ("scheduled for", broadcast.scheduled_at),
                ("started", broadcast.started_at),
                ("finished", broadcast.finished_at),
            ] {
                if let Some(at) = at {
                    out!(io, "{label}: {}", at.to_rfc3339());
                }
            }
            out!(
                io,
                "recipients: {} (pending {}, queued {}, sent {}, failed {}, blocked {}, skipped {})",
                counts.recipients,
                counts.pending,
                counts.queued,
                counts.sent,
                counts.failed,
                counts.blocked,
                counts.skipped
            );
            if let Some(rate) = counts.success_rate() {
                out!(io, "success rate: {rate:.1}%");
            }
            out!(io);
            out!(io, "{}", broadcast.text);
        }
        BroadcastCommand::Create {
            title,
            text_file,
            languages,
            subscribers,
            balance_min,
            balance_max,
            active_days,
            has_ordered,
            rate,
            author,
        } => {
            let path = place.path(text_file);
            let text = fs::read_to_string(&path)
                .with_context(|| format!("reading the message from {}", text_file.display()))?;
            let languages = languages
                .iter()
                .map(|code| Language::parse("language", code))
                .collect::<crm_lib::Result<Vec<_>>>()?;
            let author = crm.user_by_name(&system, author)?;
            let actor = Actor::staff(org, author.id);
            let audience = Audience {
                languages,
                subscribers: subscribers.map(crate::cli::YesNo::wanted),
                balance_min: *balance_min,
                balance_max: *balance_max,
                active_within_days: *active_days,
                has_ordered: has_ordered.map(crate::cli::YesNo::wanted),
            };
            let broadcast = crm
                .create_broadcast(
                    &actor,
                    crm_lib::broadcasts::BroadcastDraft {
                        title: title.clone(),
                        text,
                        audience: audience.clone(),
                        rate_per_second: *rate,
                    },
                )
                .context("writing the broadcast")?;
            let picked = crm.audience_preview(&actor, audience)?;
            out!(
                io,
                "broadcast {} written as a draft; its audience picks {} customers now",
                broadcast.id,
                picked.count
            );
        }
        BroadcastCommand::Start { id } => {
            let broadcast = crm.start_broadcast(&system, BroadcastId::new(*id))?;
            out!(
                io,
                "broadcast {} {}: {} recipients at {} a second",
                broadcast.id,
                broadcast.state.as_str(),
                broadcast.counts.recipients,
                broadcast.rate_per_second
            );
        }
        BroadcastCommand::Pause { id } => {
            let broadcast = crm.pause_broadcast(&system, BroadcastId::new(*id))?;
            out!(
                io,
                "broadcast {} paused: {} of {} recipients left",
                broadcast.id,
                broadcast.counts.pending,
                broadcast.counts.recipients
            );
        }
        BroadcastCommand::Resume { id } => {
            let broadcast = crm.resume_broadcast(&system, BroadcastId::new(*id))?;
            out!(
                io,
                "broadcast {} {}: {} of {} recipients left",
                broadcast.id,
                broadcast.state.as_str(),
                broadcast.counts.pending,
                broadcast.counts.recipients
            );
        }
        BroadcastCommand::Cancel { id } => {
            let broadcast = crm.cancel_broadcast(&system, BroadcastId::new(*id))?;
            out!(
                io,
                "broadcast {} {}: {} recipients skipped",
                broadcast.id,
                broadcast.state.as_str(),
                broadcast.counts.skipped
            );
        }
        BroadcastCommand::Report { id, state, json } => {
            let id = BroadcastId::new(*id);
            let mut rows = Vec::new();
            let mut after = None;
            loop {
                let page = crm.broadcast_recipients(
                    &system,
                    id,
                    state.as_deref(),
                    after,
                    crm_lib::broadcasts::RECIPIENTS_PAGE_MAX,
                )?;
                rows.extend(page.rows);
                match page.next {
                    Some(next) => after = Some(next),
                    None => break,
                }
            }
            let detail = |state: &crm_lib::model::RecipientState| match state {
                crm_lib::model::RecipientState::Sent { at, .. } => at.to_rfc3339(),
                crm_lib::model::RecipientState::Failed { reason } => reason.clone(),
                _ => String::new(),
            };
            if *json {
                let rows: Vec<serde_json::Value> = rows
                    .iter()
                    .map(|row| {
                        serde_json::json!({
                            "customer": row.customer.get(),
                            "name": row.name,
                            "state": row.state.as_str(),
                            "detail": detail(&row.state),
                        })
                    })
                    .collect();
                out!(io, "{}", serde_json::to_string_pretty(&rows)?);
                return Ok(());
            }
            let table: Vec<Vec<String>> = rows
                .iter()
                .map(|row| {
                    vec![
                        row.customer.to_string(),
                        row.name
                            .clone()
                            .unwrap_or_else(|| "(merged away)".to_string()),
                        row.state.as_str().to_string(),
                        detail(&row.state),
                    ]
                })
                .collect();
            print_table(&["CUSTOMER", "NAME", "STATE", "DETAIL"], &table, io)?;
        }
    }
    Ok(())
}

/// `crm customers merge KEEP ABSORB [--dry-run] [--json]`: one crm-lib call (the preview or
/// the merge), then what moved.
fn customers(crm: &Crm, org: OrgId, command: &CustomersCommand, io: &mut Io<'_>) -> Result<()> {
    let system = Actor::system(org);
    match command {
        CustomersCommand::Merge {
            keep,
            absorb,
            dry_run,
            json,
        } => {
            let (keep, absorb) = (CustomerId::new(*keep), CustomerId::new(*absorb));
            let preview = if *dry_run {
                crm.merge_preview(&system, keep, absorb)
            } else {
                crm.merge_customers(&system, keep, absorb)
            }
            .with_context(|| format!("merging customer {absorb} into customer {keep}"))?;
            let fields = |list: &[(crm_lib::merge::MergeField, String)]| -> Vec<String> {
                list.iter()
                    .map(|(field, value)| format!("{}={value}", field.as_str()))
                    .collect()
            };
            if *json {
                let value = serde_json::json!({
                    "keep": keep.get(),
                    "absorb": absorb.get(),
                    "dry_run": dry_run,
                    "orders": preview.orders,
                    "tickets": preview.tickets,
                    "messages": preview.messages,
                    "notes": preview.notes,
                    "calls": preview.calls,
                    "conversations": preview.conversations,
                    "payment_infos": preview.payment_infos,
                    "pending_notifications": preview.pending_notifications,
                    "filled": fields(&preview.filled),
                    "dropped": fields(&preview.dropped),
                });
                out!(io, "{value}");
                return Ok(());
            }
            out!(
                io,
                "{} customer {absorb} ({}) into customer {keep} ({})",
                if *dry_run { "would merge" } else { "merged" },
                preview.absorb.full_name(),
                preview.keep.full_name()
            );
            out!(
                io,
                "orders {} (tickets {}), messages {} (notes {}), calls {}, conversations {}, \
                 payment details {}, pending notifications {}",
                preview.orders,
                preview.tickets,
                preview.messages,
                preview.notes,
                preview.calls,
                preview.conversations,
                preview.payment_infos,
                preview.pending_notifications
            );
            let filled = fields(&preview.filled);
            if !filled.is_empty() {
                out!(io, "filled: {}", filled.join(", "));
            }
            let dropped = fields(&preview.dropped);
            if !dropped.is_empty() {
                out!(io, "dropped: {}", dropped.join(", "));
            }
        }
    }
    Ok(())
}

fn calls(crm: &Crm, org: OrgId, command: &CallsCommand, io: &mut Io<'_>) -> Result<()> {
    let system = Actor::system(org);
    match command {
        CallsCommand::Show => {
            let view = crm.call_settings(&system)?;
            match (&view.secret_set, &view.secret_hint) {
                (true, Some(hint)) => out!(io, "zadarma api secret: set ({hint})"),
                (true, None) => out!(io, "zadarma api secret: set"),
                _ => out!(
                    io,
                    "zadarma api secret: not set (every notification is refused)"
                ),
            }
            let rows: Vec<Vec<String>> = view
                .extensions
                .iter()
                .map(|row| vec![row.extension.clone(), row.name.clone()])
                .collect();
            print_table(&["EXTENSION", "USER"], &rows, io)?;
        }
        CallsCommand::Secret => {
            let mut line = String::new();
            io.input
                .read_line(&mut line)
                .context("reading the secret from stdin")?;
            let secret = line.trim_end_matches(['\n', '\r']);
            crm.set_zadarma_secret(&system, secret)
                .context("setting the zadarma api secret")?;
            out!(
                io,
                "{}",
                if secret.trim().is_empty() {
                    "zadarma api secret removed"
                } else {
                    "zadarma api secret set"
                }
            );
        }
        CallsCommand::Map { extension, user } => {
            let record = crm.user_by_name(&system, user)?;
            crm.map_call_extension(&system, extension, Some(record.id))
                .with_context(|| format!("mapping extension {extension}"))?;
            out!(io, "extension {extension} -> {}", record.username);
        }
        CallsCommand::Unmap { extension } => {
            crm.map_call_extension(&system, extension, None)
                .with_context(|| format!("unmapping extension {extension}"))?;
            out!(io, "extension {extension} unmapped");
        }
        CallsCommand::List { limit, json } => {
            let calls = crm.calls(
                &system,
                &crm_lib::calls::CallFilter::default(),
                crm_lib::Page::first(*limit),
            )?;
            if *json {
                let rows: Vec<serde_json::Value> = calls
                    .items
                    .iter()
                    .map(|call| {
                        serde_json::json!({
                            "id": call.id.get(),
                            "direction": call.direction.as_str(),
                            "phone": call.phone,
                            "customer": call.customer.get(),
                            "started_at": call.started_at.to_rfc3339(),
                            "duration_secs": call.duration_secs,
                            "disposition": call.disposition,
                        })
                    })
                    .collect();
                out!(io, "{}", serde_json::to_string_pretty(&rows)?);
                return Ok(());
            }
            let rows: Vec<Vec<String>> = calls
                .items
                .iter()
                .map(|call| {
                    vec![
                        call.id.to_string(),
                        call.started_at.to_rfc3339(),
                        call.direction.as_str().to_string(),
                        call.phone.clone(),
                        call.customer.to_string(),
                        call.disposition.clone().unwrap_or_default(),
                    ]
                })
                .collect();
            print_table(
                &[
                    "ID",
                    "STARTED",
                    "DIRECTION",
                    "PHONE",
                    "CUSTOMER",
                    "DISPOSITION",
                ],
                &rows,
                io,
            )?;
        }
    }
    Ok(())
}

/// `crm tokens ...`: the token service, as the system.
fn tokens(crm: &Crm, org: OrgId, command: &TokensCommand, io: &mut Io<'_>) -> Result<()> {
    let system = Actor::system(org);
    match command {
        TokensCommand::Packages { json } => {
            let packages = crm.packages(&system)?;
            if *json {
                let rows: Vec<serde_json::Value> = packages
                    .iter()
                    .map(|package| {
                        serde_json::json!({
                            "id": package.id,
                            "key": package.key,
                            "units": package.units,
                            "price": package.price,
                            "subscriber_price": package.subscriber_price,
                            "discount_percent": package.discount_percent(),
                            "active": package.active,
                        })
                    })
                    .collect();
                out!(io, "{}", serde_json::to_string_pretty(&rows)?);
                return Ok(());
            }
            let table: Vec<Vec<String>> = packages
                .iter()
                .map(|package| {
                    vec![
                        package.key.clone(),
                        package.units.to_string(),
                        package.price.to_string(),
                        package.subscriber_price.to_string(),
                        format!("{}%", package.discount_percent()),
                        if package.active { "yes" } else { "no" }.to_string(),
                    ]
                })
                .collect();
            print_table(
                &["KEY", "UNITS", "PRICE", "SUBSCRIBER", "DISCOUNT", "OFFERED"],
                &table,
                io,
            )?;
        }
        TokensCommand::Balance {
            customer,
            limit,
            json,
        } => {
            let ledger = crm.ledger(
                &system,
                crm_lib::model::CustomerId::new(*customer),
                crm_lib::Page::first(*limit),
            )?;
            if *json {
                let entries: Vec<serde_json::Value> = ledger
                    .entries
                    .items
                    .iter()
                    .map(|entry| {
                        serde_json::json!({
                            "id": entry.id,
                            "kind": entry.kind.as_str(),
                            "amount": entry.amount,
                            "balance_after": entry.balance_after,
                            "order": entry.order.map(|order| order.get()),
                            "payment": entry.payment,
                            "description": entry.description,
                            "at": entry.at.to_rfc3339(),
                        })
                    })
                    .collect();
                out!(
                    io,
                    "{}",
                    serde_json::to_string_pretty(&serde_json::json!({
                        "customer": customer,
                        "balance": ledger.account.balance,
                        "subscriber": ledger.subscriber,
                        "premium_until": ledger.account.premium_until.map(|at| at.to_rfc3339()),
                        "entries": entries,
                    }))?
                );
                return Ok(());
            }
            out!(io, "balance: {} tokens", ledger.account.balance);
            match (ledger.subscriber, ledger.account.premium_until) {
                (true, Some(until)) => out!(io, "premium: until {}", until.to_rfc3339()),
                (false, Some(until)) => out!(io, "premium: ended {}", until.to_rfc3339()),
                _ => out!(io, "premium: none"),
            }
            let table: Vec<Vec<String>> = ledger
                .entries
                .items
                .iter()
                .map(|entry| {
                    vec![
                        entry.id.to_string(),
                        entry.at.to_rfc3339(),
                        entry.kind.as_str().to_string(),
                        format!("{:+}", entry.amount),
                        entry.balance_after.to_string(),
                        entry.description.clone(),
                    ]
                })
                .collect();
            print_table(
                &["ENTRY", "AT", "KIND", "AMOUNT", "BALANCE", "DESCRIPTION"],
                &table,
                io,
            )?;
        }
        TokensCommand::Adjust {
            customer,
            amount,
            reason,
        } => {
            let entry = crm.adjust_tokens(
                &system,
                crm_lib::model::CustomerId::new(*customer),
                *amount,
                reason,
            )?;
            out!(
                io,
                "entry {}: {:+} tokens, balance {}",
                entry.id,
                entry.amount,
                entry.balance_after
            );
        }
        TokensCommand::Bonus {
            customer,
            amount,
            reason,
        } => {
            let entry = crm.grant_bonus(
                &system,
                crm_lib::model::CustomerId::new(*customer),
                *amount,
                reason,
            )?;
            out!(
                io,
                "entry {}: {:+} tokens, balance {}",
                entry.id,
                entry.amount,
                entry.balance_after
            );
        }
        TokensCommand::Premium { customer, days } => {
            let account =
                crm.grant_subscription(&system, crm_lib::model::CustomerId::new(*customer), *days)?;
            let until = account
                .premium_until
                .map(|at| at.to_rfc3339())
                .unwrap_or_default();
            out!(io, "premium until {until}");
        }
    }
    Ok(())
}

/// `crm lead show ID`: a lead's qualification (the projects module).
fn lead_show(crm: &Crm, org: OrgId, id: u64, json: bool, io: &mut Io<'_>) -> Result<()> {
    let system = Actor::system(org);
    let order = crm
        .order(&system, crm_lib::model::OrderId::new(id))
        .with_context(|| format!("reading lead {id}"))?;
    let Some(lead) = crm.lead(&system, order.id)? else {
        return Err(anyhow::Error::new(crm_lib::Error::not_found(
            "module", "projects",
        )))
        .context("the projects module is off: orders are no leads");
    };
    let settings = crm.system().default_organization()?.settings;
    let (language, currency) = (settings.locale, settings.currency);
    if json {
        let value = serde_json::json!({
            "order": lead.order.get(),
            "title": order.title,
            "slots": lead.slots.iter().map(|(def, value)| serde_json::json!({
                "key": def.key,
                "value": value.as_ref().map(crm_lib::model::FieldValue::to_answer),
            })).collect::<Vec<_>>(),
            "filled": lead.filled,
            "source": lead.source.as_ref().map(|(_, value)| value.to_answer()),
            "summary": lead.summary,
            "hot": lead.hot.as_ref().map(|hot| serde_json::json!({
                "reason": hot.reason,
                "at": hot.at.to_rfc3339(),
            })),
            "ai": lead.ai.as_str(),
            "ai_on": lead.ai_on,
            "qualifier": lead.qualifier.as_str(),
            "failures": lead.failures,
            "calls_total": lead.calls_total,
            "calls": lead.calls.iter().map(|call| serde_json::json!({
                "at": call.at.to_rfc3339(),
                "latency_ms": call.latency_ms,
                "model": call.model,
                "prompt_tokens": call.prompt_tokens,
                "completion_tokens": call.completion_tokens,
                "outcome": call.outcome.as_str(),
                "detail": call.outcome.detail(),
            })).collect::<Vec<_>>(),
        });
        out!(io, "{}", serde_json::to_string_pretty(&value)?);
        return Ok(());
    }
    out!(io, "lead {}: {}", lead.order, order.title);
    for (def, value) in &lead.slots {
        let shown = value.as_ref().map_or_else(
            || "-".to_string(),
            |value| value.display(Some(def), language, &currency),
        );
        out!(io, "  {}: {shown}", def.key);
    }
    out!(io, "slots filled: {} of {}", lead.filled, lead.slots.len());
    if let Some((_, source)) = &lead.source {
        out!(io, "source: {}", source.to_answer());
    }
    out!(
        io,
        "qualified by: {} (ai {}, {})",
        lead.qualifier.as_str(),
        lead.ai.as_str(),
        if lead.ai_on { "ai on" } else { "ai off" }
    );
    match &lead.hot {
        Some(hot) => out!(io, "hot: yes, since {}: {}", hot.at, hot.reason),
        None => out!(io, "hot: no"),
    }
    out!(io, "summary: {}", lead.summary.as_deref().unwrap_or("-"));
    out!(
        io,
        "calls: {} ({} kept)",
        lead.calls_total,
        lead.calls.len()
    );
    let table: Vec<Vec<String>> = lead
        .calls
        .iter()
        .map(|call| {
            let tokens =
                |count: Option<u32>| count.map_or_else(|| "-".to_string(), |n| n.to_string());
            vec![
                call.at.to_rfc3339(),
                call.model.clone(),
                call.latency_ms.to_string(),
                tokens(call.prompt_tokens),
                tokens(call.completion_tokens),
                call.outcome.as_str().to_string(),
                call.outcome.detail(),
            ]
        })
        .collect();
    if !table.is_empty() {
        print_table(
            &[
                "AT",
                "MODEL",
                "LATENCY_MS",
                "PROMPT",
                "COMPLETION",
                "OUTCOME",
                "DETAIL",
            ],
            &table,
            io,
        )?;
    }
    Ok(())
}

/// `crm ai show|set`: the AI settings (the projects module); the key is never printed.
fn ai(crm: &Crm, org: OrgId, command: &AiCommand, place: &Place, io: &mut Io<'_>) -> Result<()> {
    let system = Actor::system(org);
    let view = match command {
        AiCommand::Show { json } => {
            let view = crm
                .ai_settings(&system)
                .context("reading the AI settings")?;
            if *json {
                let value = serde_json::json!({
                    "enabled": view.enabled,
                    "on": view.on,
                    "base_url": view.base_url,
                    "key_hint": view.key_hint,
                    "model": view.model,
                    "timeout_seconds": view.timeout_seconds,
                });
                out!(io, "{}", serde_json::to_string_pretty(&value)?);
                return Ok(());
            }
            view
        }
        AiCommand::Set {
            base_url,
            model,
            key_file,
            timeout,
            enabled,
        } => {
            let saved = crm
                .ai_settings(&system)
                .context("reading the AI settings")?;
            let mut input = crm_lib::leads::AiSettingsInput::from_view(&saved);
            if let Some(base_url) = base_url {
                input.base_url = base_url.clone();
            }
            if let Some(model) = model {
                input.model = model.clone();
            }
            if let Some(timeout) = timeout {
                input.timeout_seconds = *timeout;
            }
            if let Some(enabled) = enabled {
                input.enabled = enabled.wanted();
            }
            if let Some(file) = key_file {
                let text = fs::read_to_string(place.path(file))
                    .with_context(|| format!("reading the API key from {}", file.display()))?;
                input.api_key = Some(text.lines().next().unwrap_or_default().trim().to_string());
            }
            crm.set_ai_settings(&system, input)
                .context("saving the AI settings")?
        }
    };
    out!(
        io,
        "ai qualification: {}",
        if view.on { "on" } else { "off" }
    );
    out!(io, "enabled: {}", if view.enabled { "yes" } else { "no" });
    out!(io, "base url: {}", view.base_url);
    out!(io, "model: {}", view.model);
    out!(io, "timeout: {} s", view.timeout_seconds);
    out!(io, "key: {}", view.key_hint.as_deref().unwrap_or("not set"));
    Ok(())
}
