//! One function per command: parse what clap left, make one crm-lib call, render the result.

/// `println!` that returns an error instead of panicking when stdout is closed
/// (`crm stats | head`); `main` turns a broken pipe into a quiet exit.
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        writeln!(std::io::stdout().lock(), $($arg)*)?
    }};
}

use std::fs;
use std::io::{self, BufRead, BufWriter, IsTerminal, Write};
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result};
use crm_lib::{Actor, Crm, ErrorKind, ExportFormat, NewUser, OrgId, Password, Setup, UserStatus};
use indicatif::{ProgressBar, ProgressStyle};

use crate::cli::{
    Cli, Command, ExportKind, Format, ImportKind, InitArgs, RoleCommand, UserCommand,
};
use crate::exit::{self, Exit};

/// Runs the command of `cli`.
pub(crate) fn run(cli: &Cli) -> Result<()> {
    let data_file = cli.data_dir.join("crm.redb");
    match &cli.command {
        Command::Init(args) => init(&cli.data_dir, &data_file, args),
        Command::Restore { input, force } => restore(&cli.data_dir, &data_file, input, *force),
        command => {
            let crm = open(&data_file)?;
            let org = crm
                .default_organization()
                .with_context(|| format!("reading {}", data_file.display()))?
                .id;
            let result = dispatch(&crm, org, &data_file, command);
            crm.close();
            result
        }
    }
}

fn dispatch(crm: &Crm, org: OrgId, data_file: &Path, command: &Command) -> Result<()> {
    match command {
        Command::User(command) => user(crm, org, command),
        Command::Role(RoleCommand::List { json }) => role_list(crm, org, *json),
        Command::Import { what, file } => import(crm, org, *what, file),
        Command::Export {
            what,
            format,
            output,
        } => export(crm, org, *what, *format, output.as_deref()),
        Command::Backup { out } => backup(crm, out),
        Command::Verify => verify(crm, data_file),
        Command::Stats { json } => stats(crm, *json),
        Command::Demo => demo(crm, org),
        Command::Init(_) | Command::Restore { .. } => Ok(()),
    }
}

fn busy(data_file: &Path) -> anyhow::Error {
    anyhow::Error::new(Exit {
        code: exit::IN_USE,
        message: format!(
            "the data file {} is in use by a running appliance; stop it or wait for the admin channel (coming with the web appliance)",
            data_file.display()
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

/// A slug from an organization name: lower-case ASCII letters and digits, other runs become
/// `-`; `main` when nothing is left.
fn slugify(name: &str) -> String {
    let mut slug = String::new();
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            slug.push(c.to_ascii_lowercase());
        } else if !slug.ends_with('-') {
            slug.push('-');
        }
    }
    let slug: String = slug.trim_matches('-').chars().take(40).collect();
    let slug = slug.trim_end_matches('-').to_string();
    if slug.len() < 2 {
        "main".to_string()
    } else {
        slug
    }
}

fn init(data_dir: &Path, data_file: &Path, args: &InitArgs) -> Result<()> {
    create_private_dir(data_dir)?;
    let crm = open_or_create(data_file)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(data_file, fs::Permissions::from_mode(0o600))
            .with_context(|| format!("restricting {} to its owner", data_file.display()))?;
    }
    let password = crm_lib::generate_password()?;
    let slug = args.slug.clone().unwrap_or_else(|| slugify(&args.org_name));
    let (org, admin) = crm
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
        "created {} with organization {:?} (slug {}, template {})",
        data_file.display(),
        org.name,
        org.slug,
        org.template
    );
    out!("administrator: {}", admin.username);
    out!("password: {}", password.expose());
    out!("(shown once; the first login asks for a new password)");
    Ok(())
}

/// Reads a password from the first line of stdin (without its line ending).
fn password_from_stdin() -> Result<Password> {
    let mut line = String::new();
    io::stdin()
        .lock()
        .read_line(&mut line)
        .context("reading the password from stdin")?;
    let line = line.strip_suffix('\n').unwrap_or(&line);
    let line = line.strip_suffix('\r').unwrap_or(line);
    Ok(Password::parse(line)?)
}

fn user(crm: &Crm, org: OrgId, command: &UserCommand) -> Result<()> {
    let system = Actor::system(org);
    match command {
        UserCommand::Add {
            name,
            roles,
            display_name,
            password_stdin,
        } => {
            let password = if *password_stdin {
                password_from_stdin()?
            } else {
                crm_lib::generate_password()?
            };
            let user = crm
                .create_user(
                    &system,
                    NewUser {
                        username: name.clone(),
                        display_name: display_name.clone().unwrap_or_default(),
                        password: password.clone(),
                        roles: roles.clone(),
                        must_change_password: !password_stdin,
                    },
                )
                .with_context(|| format!("adding user {name}"))?;
            out!(
                "created user {} with roles {}",
                user.username,
                roles.join(", ")
            );
            if !password_stdin {
                out!("password: {}", password.expose());
                out!("(shown once; the first login asks for a new password)");
            }
        }
        UserCommand::List { json } => user_list(crm, org, *json)?,
        UserCommand::Passwd {
            name,
            password_stdin,
        } => {
            let user = crm.user_by_name(org, name)?;
            let password = if *password_stdin {
                password_from_stdin()?
            } else {
                crm_lib::generate_password()?
            };
            crm.set_password(&system, user.id, &password, !password_stdin)
                .with_context(|| format!("setting the password of {name}"))?;
            out!("set a new password for {}", user.username);
            if !password_stdin {
                out!("password: {}", password.expose());
                out!("(shown once; the next login asks for a new password)");
            }
        }
        UserCommand::Disable { name } => {
            let user = crm.user_by_name(org, name)?;
            crm.disable_user(&system, user.id)
                .with_context(|| format!("disabling {name}"))?;
            out!("disabled {}", user.username);
        }
        UserCommand::Grant { name, roles } => {
            let user = crm.user_by_name(org, name)?;
            let (id, new_roles) = (user.id, roles.clone());
            crm.write(move |tx| tx.set_user_roles(&system, id, new_roles))
                .with_context(|| format!("setting the roles of {name}"))?;
            out!("{} now has roles {}", user.username, roles.join(", "));
        }
    }
    Ok(())
}

fn role_names(crm: &Crm, org: OrgId) -> Result<std::collections::HashMap<crm_lib::RoleId, String>> {
    Ok(crm
        .roles(org)?
        .into_iter()
        .map(|role| (role.id, role.name))
        .collect())
}

fn user_list(crm: &Crm, org: OrgId, json: bool) -> Result<()> {
    let names = role_names(crm, org)?;
    let users = crm.users(org)?;
    let status = |status: UserStatus| match status {
        UserStatus::Active => "active",
        UserStatus::Disabled => "disabled",
    };
    let roles_of = |user: &crm_lib::User| -> Vec<String> {
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
                    "id": user.id.0,
                    "username": user.username,
                    "display_name": user.display_name,
                    "roles": roles_of(user),
                    "status": status(user.status),
                    "telegram_linked": user.telegram_id.is_some(),
                    "must_change_password": user.must_change_password,
                    "created_at": user.created_at.to_rfc3339(),
                })
            })
            .collect();
        out!("{}", serde_json::to_string_pretty(&rows)?);
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
                if user.telegram_id.is_some() {
                    "linked"
                } else {
                    "-"
                }
                .to_string(),
            ]
        })
        .collect();
    print_table(&["USERNAME", "NAME", "ROLES", "STATUS", "TELEGRAM"], &rows)?;
    Ok(())
}

fn role_list(crm: &Crm, org: OrgId, json: bool) -> Result<()> {
    let roles = crm.roles(org)?;
    if json {
        let rows: Vec<serde_json::Value> = roles
            .iter()
            .map(|role| {
                serde_json::json!({
                    "id": role.id.0,
                    "name": role.name,
                    "builtin": role.builtin.is_some(),
                    "permissions": role.permissions.iter().map(|p| p.as_str()).collect::<Vec<_>>(),
                })
            })
            .collect();
        out!("{}", serde_json::to_string_pretty(&rows)?);
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
    print_table(&["ROLE", "KIND", "PERMISSIONS"], &rows)?;
    Ok(())
}

/// Prints rows under a header, columns padded to their widest cell.
fn print_table(header: &[&str], rows: &[Vec<String>]) -> io::Result<()> {
    let mut widths: Vec<usize> = header.iter().map(|cell| cell.chars().count()).collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let last = cells.len().saturating_sub(1);
        let mut text = String::new();
        for (index, (cell, width)) in cells.iter().zip(&widths).enumerate() {
            text.push_str(cell);
            if index < last {
                let pad = width.saturating_sub(cell.chars().count()) + 2;
                text.extend(std::iter::repeat_n(' ', pad));
            }
        }
        out!("{}", text.trim_end());
        Ok::<(), io::Error>(())
    };
    line(header.to_vec())?;
    for row in rows {
        line(row.iter().map(String::as_str).collect())?;
    }
    Ok(())
}

/// A progress bar over `len` bytes on a terminal; hidden otherwise (scripts, pipes, tests).
fn byte_bar(len: u64) -> ProgressBar {
    if !io::stderr().is_terminal() {
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
fn spinner(message: &str) -> ProgressBar {
    if !io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new_spinner();
    bar.set_message(message.to_string());
    bar.enable_steady_tick(Duration::from_millis(100));
    bar
}

fn import(crm: &Crm, org: OrgId, what: ImportKind, file: &Path) -> Result<()> {
    let input = fs::File::open(file).with_context(|| format!("opening {}", file.display()))?;
    let len = input.metadata().map(|meta| meta.len()).unwrap_or(0);
    let name = file.display().to_string();
    let bar = byte_bar(len);
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
) -> Result<()> {
    let format = match format {
        Format::Csv => ExportFormat::Csv,
        Format::Json => ExportFormat::Json,
    };
    let run = |out: &mut dyn Write| -> crm_lib::Result<u64> {
        match what {
            ExportKind::Customers => crm.export_customers(org, format, out),
            ExportKind::Orders => crm.export_orders(org, format, out),
            ExportKind::Audit => crm.export_audit(org, format, out),
        }
    };
    let noun = match what {
        ExportKind::Customers => "customers",
        ExportKind::Orders => "orders",
        ExportKind::Audit => "audit entries",
    };
    match output {
        Some(path) => {
            let file =
                fs::File::create(path).with_context(|| format!("creating {}", path.display()))?;
            let mut out = BufWriter::new(file);
            let count =
                run(&mut out).with_context(|| format!("exporting to {}", path.display()))?;
            out.flush()
                .with_context(|| format!("writing {}", path.display()))?;
            eprintln!("exported {count} {noun} to {}", path.display());
        }
        None => {
            let stdout = io::stdout();
            let mut out = BufWriter::new(stdout.lock());
            run(&mut out).context("exporting to stdout")?;
            out.flush().context("writing to stdout")?;
        }
    }
    Ok(())
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

fn backup(crm: &Crm, out: &Path) -> Result<()> {
    let bar = spinner("backing up");
    let report = crm.backup(out);
    bar.finish_and_clear();
    let report = report.with_context(|| format!("backing up to {}", out.display()))?;
    out!(
        "backed up {} entries of {} tables ({:.1} MiB) to {} in {:.2} s",
        report.entries,
        report.tables,
        mib(report.file_bytes),
        report.path.display(),
        report.duration.as_secs_f64()
    );
    Ok(())
}

fn restore(data_dir: &Path, data_file: &Path, input: &Path, force: bool) -> Result<()> {
    create_private_dir(data_dir)?;
    let bar = spinner("restoring");
    let report = crm_lib::restore(input, data_file, force);
    bar.finish_and_clear();
    let report = report.map_err(|error| {
        if error.kind() == ErrorKind::Busy {
            busy(data_file)
        } else {
            anyhow::Error::new(error).context(format!("restoring {}", input.display()))
        }
    })?;
    out!(
        "restored {} from {}: {} records, schema version {}{} in {:.2} s",
        report.path.display(),
        input.display(),
        report.records,
        report.schema_version,
        if report.replaced {
            ", replacing the previous file"
        } else {
            ""
        },
        report.duration.as_secs_f64()
    );
    if report.repaired {
        out!("note: redb repaired damage in the backup before it was checked");
    }
    Ok(())
}

fn verify(crm: &Crm, data_file: &Path) -> Result<()> {
    let bar = spinner("verifying");
    let report = crm.verify();
    bar.finish_and_clear();
    let report = report.with_context(|| format!("verifying {}", data_file.display()))?;
    if !report.unchecked_tables.is_empty() {
        eprintln!(
            "note: tables without verification rules yet: {}",
            report.unchecked_tables.join(", ")
        );
    }
    if report.is_clean() {
        out!(
            "verified {}: {} records, {} index entries, no problems",
            data_file.display(),
            report.records,
            report.index_entries
        );
        return Ok(());
    }
    for problem in &report.problems {
        out!("{problem}");
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

fn stats(crm: &Crm, json: bool) -> Result<()> {
    let stats = crm.stats()?;
    if json {
        out!("{}", serde_json::to_string_pretty(&stats)?);
        return Ok(());
    }
    out!("file: {}", stats.path.display());
    out!(
        "size: {:.1} MiB ({} bytes)",
        mib(stats.file_bytes),
        stats.file_bytes
    );
    match stats.schema_version {
        Some(version) => out!("schema version: {version}"),
        None => out!("schema version: none"),
    }
    for org in &stats.organizations {
        out!();
        out!(
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
        print_table(&["STAGE", "NAME", "ORDERS"], &rows)?;
    }
    out!();
    let rows: Vec<Vec<String>> = stats
        .tables
        .iter()
        .map(|table| vec![table.name.clone(), table.entries.to_string()])
        .collect();
    print_table(&["TABLE", "ENTRIES"], &rows)?;
    Ok(())
}

fn demo(crm: &Crm, org: OrgId) -> Result<()> {
    let bar = spinner("loading demo data");
    let report = crm.load_demo(org);
    bar.finish_and_clear();
    let report = report.context("loading the demo data")?;
    out!(
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
        .map(|(key, count)| format!("{key} {count}"))
        .collect();
    out!("orders by stage: {}", stages.join(", "));
    out!();
    out!("staff logins (passwords are shown once):");
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
    print_table(&["USERNAME", "NAME", "ROLE", "PASSWORD"], &rows)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_derived_from_names() {
        assert_eq!(slugify("Acme Studio, Ltd."), "acme-studio-ltd");
        assert_eq!(slugify("Студия"), "main");
        assert_eq!(slugify("  x  "), "main");
    }
}
