//! `crm org ...`: the organizations of one data file (SPEC 3.1, issue 14). Each command
//! parses what clap left, makes one crm-lib call (`crm_lib::tenants`) and prints the result;
//! through the admin channel the appliance then starts or stops that organization's bot.
//! A bot token is read from a file or stdin, never from the command line, and never printed.

use anyhow::{Context, Result};
use crm_lib::Crm;
use crm_lib::tenants::{NewTenant, TenantRow};

use super::{Place, print_table};
use crate::Io;
use crate::cli::OrgCommand;

/// Runs one `crm org` command.
pub(crate) fn org(crm: &Crm, place: &Place, command: &OrgCommand, io: &mut Io<'_>) -> Result<()> {
    let system = crm.system();
    match command {
        OrgCommand::Create {
            template,
            name,
            slug,
            owner,
        } => {
            let password = crm_lib::generate_password()?;
            let created = system
                .create_tenant(NewTenant {
                    template: template.name().to_string(),
                    name: name.clone(),
                    slug: slug.clone(),
                    owner: owner.clone(),
                    owner_password: password.clone(),
                })
                .with_context(|| format!("creating organization {name:?}"))?;
            let org = &created.organization;
            out!(
                io,
                "created organization {:?} (slug {}, template {})",
                org.name,
                org.slug,
                org.template
            );
            out!(io, "owner: {}", created.owner.username);
            out!(io, "password: {}", password.expose());
            out!(io, "(shown once; the first login asks for a new password)");
            out!(
                io,
                "its bot is an emulated one until a token is set: crm org set-token {}",
                org.slug
            );
        }
        OrgCommand::List { json } => list(&system.tenants()?, *json, io)?,
        OrgCommand::Rename { slug, name } => {
            let org = system
                .rename_organization(slug, name)
                .with_context(|| format!("renaming organization {slug}"))?;
            out!(io, "organization {} is now {:?}", org.slug, org.name);
        }
        OrgCommand::Disable { slug } => {
            let switched = system
                .disable_organization(slug)
                .with_context(|| format!("disabling organization {slug}"))?;
            out!(
                io,
                "organization {} disabled: {} sessions ended; its bot stops and its data stays",
                switched.organization.slug,
                switched.sessions_ended
            );
        }
        OrgCommand::Enable { slug } => {
            let switched = system
                .enable_organization(slug)
                .with_context(|| format!("enabling organization {slug}"))?;
            out!(
                io,
                "organization {} enabled: its bot, logins and queues resume",
                switched.organization.slug
            );
        }
        OrgCommand::SetToken {
            slug,
            token_file,
            remove,
        } => {
            let token = if *remove {
                None
            } else {
                Some(read_token(place, token_file.as_deref(), io)?)
            };
            let org = system
                .set_bot_token(slug, token.as_deref())
                .with_context(|| format!("setting the bot token of organization {slug}"))?;
            if token.is_some() {
                out!(io, "bot token of organization {} set", org.slug);
            } else {
                out!(
                    io,
                    "bot token of organization {} removed: its bot is an emulated one",
                    org.slug
                );
            }
        }
    }
    Ok(())
}

/// The token: the first line of `file`, or of stdin; an empty one is refused (use
/// `--remove`).
fn read_token(place: &Place, file: Option<&std::path::Path>, io: &mut Io<'_>) -> Result<String> {
    let line = match file {
        Some(file) => {
            let path = place.path(file);
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("reading the token file {}", path.display()))?;
            text.lines().next().unwrap_or("").to_string()
        }
        None => {
            let mut line = String::new();
            io.input
                .read_line(&mut line)
                .context("reading the token from stdin")?;
            line
        }
    };
    let token = line.trim().to_string();
    if token.is_empty() {
        anyhow::bail!(crm_lib::Error::invalid(
            "bot_token",
            "is empty; give the token in the file or on stdin, or pass --remove"
        ));
    }
    Ok(token)
}

/// `crm org list`: a table, or JSON with `--json`. Never a token.
fn list(rows: &[TenantRow], json: bool, io: &mut Io<'_>) -> Result<()> {
    if json {
        let rows: Vec<serde_json::Value> = rows
            .iter()
            .map(|row| {
                serde_json::json!({
                    "id": row.id.get(),
                    "slug": row.slug,
                    "name": row.name,
                    "template": row.template,
                    "owner": row.owner,
                    "staff": row.staff,
                    "active_staff": row.active_staff,
                    "modules": row.modules.iter().map(|module| module.as_str()).collect::<Vec<_>>(),
                    "bot": row.bot_state(),
                    "enabled": row.disabled.is_none(),
                    "disabled_at": row.disabled.map(|at| at.to_rfc3339()),
                    "created_at": row.created_at.to_rfc3339(),
                })
            })
            .collect();
        out!(io, "{}", serde_json::to_string_pretty(&rows)?);
        return Ok(());
    }
    let table: Vec<Vec<String>> = rows
        .iter()
        .map(|row| {
            let modules: Vec<&str> = row.modules.iter().map(|module| module.as_str()).collect();
            vec![
                row.slug.clone(),
                row.name.clone(),
                row.template.clone(),
                row.owner.clone().unwrap_or_else(|| "-".to_string()),
                format!("{}/{}", row.active_staff, row.staff),
                if modules.is_empty() {
                    "-".to_string()
                } else {
                    modules.join(",")
                },
                row.bot_state().to_string(),
                if row.disabled.is_some() {
                    "disabled"
                } else {
                    "enabled"
                }
                .to_string(),
            ]
        })
        .collect();
    print_table(
        &[
            "SLUG", "NAME", "TEMPLATE", "OWNER", "STAFF", "MODULES", "BOT", "STATE",
        ],
        &table,
        io,
    )?;
    Ok(())
}
