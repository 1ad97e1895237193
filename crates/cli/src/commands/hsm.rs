//! `repository list`, `update repositorylist`, `backup list|prepare|commit|rollback`.

use super::table::CommandSpec;
use super::{Ran, Shell};
use crate::getopt::Opt;
use kasp_engine::{Session, exit};
use kasp_events::{Actor, RepositoryInfo};
use kasp_projector::decide::keys::{BackupAction, KeyCommand};
use kasp_projector::decide::{Command, Outcome};

/// The repositories of conf.xml, without PINs (what the log records).
pub fn repository_infos(ctx: &Session) -> Vec<RepositoryInfo> {
    ctx.conf
        .repositories
        .iter()
        .map(|r| RepositoryInfo {
            name: r.name.clone(),
            module: r.module.clone(),
            token_label: r.token_label.clone(),
            capacity: r.capacity,
            require_backup: r.require_backup,
            skip_public_key: r.skip_public_key,
            allow_extraction: r.allow_extraction,
        })
        .collect()
}

/// `repository list`: the repositories of the conf.xml in use.
pub fn list(shell: &mut Shell<'_>, _spec: &CommandSpec, _args: &[String]) -> Ran {
    let ctx = shell.ctx()?;
    shell.out("Repositories:\n");
    shell.out(&format!(
        "{:<31} {:<13} {:<13}\n",
        "Name:", "Capacity:", "RequireBackup:"
    ));
    for r in &ctx.conf.repositories {
        let capacity = r.capacity.map_or("-".to_string(), |c| c.to_string());
        let backup = if r.require_backup { "Yes" } else { "No" };
        shell.out(&format!("{:<31} {:<13} {:<13}\n", r.name, capacity, backup));
    }
    Ok(exit::OK)
}

/// `update repositorylist`: re-reads the repositories of conf.xml and records them.
pub fn update(shell: &mut Shell<'_>, spec: &CommandSpec, _args: &[String]) -> Ran {
    let ctx = match shell.ctx_from_disk() {
        Ok(c) => c,
        Err(_) => {
            let conf = shell.conf_path.display().to_string();
            shell.out("Could not load new repositories. Will continue with old.\n");
            shell.out(&format!(
                "error: Unable to validate '{conf}' consistency.\n"
            ));
            shell.out("error: unable to update repositorylist.\n");
            return Ok(1);
        }
    };
    let command = Command::Keys(KeyCommand::ConfigureRepositories {
        repositories: repository_infos(&ctx),
    });
    shell.commit(spec, &ctx, Actor::Operator(ctx.user.clone()), &command)?;
    shell.out("new repositories parsed successful.\n");
    shell.out("Notifying enforcer of new respositories.\n");
    Ok(exit::OK)
}

/// `backup list|prepare|commit|rollback [--repository R]`.
pub fn backup(shell: &mut Shell<'_>, spec: &CommandSpec, args: &[String]) -> Ran {
    let p = shell.opts_and_words(spec, args, &[Opt::value("repository", 'r')], 1)?;
    let action = match p.rest.first().map(String::as_str) {
        Some("list") => None,
        Some("prepare") => Some(BackupAction::Prepare),
        Some("commit") => Some(BackupAction::Commit),
        Some("rollback") => Some(BackupAction::Rollback),
        _ => return Err(shell.usage_error(spec, "expected list, prepare, commit or rollback")),
    };
    let repository = p.value("repository").map(str::to_string);
    let ctx = shell.ctx()?;
    let Some(action) = action else {
        let state = shell.state(&ctx)?;
        shell.err(&format!(
            "{:<32} {:<16} {:<16}\n",
            "Locator:", "Repository:", "Backup state:"
        ));
        for k in state.pool.keys_in_order(repository.as_deref()) {
            shell.out(&format!(
                "{:<32} {:<16} {:<16}\n",
                k.locator.to_string(),
                k.spec.repository,
                k.backup.as_str()
            ));
        }
        return Ok(exit::OK);
    };
    let command = Command::Keys(KeyCommand::Backup { action, repository });
    let done = shell.commit(spec, &ctx, Actor::Operator(ctx.user.clone()), &command)?;
    let n = done
        .decision
        .outcomes
        .iter()
        .find_map(|o| match o {
            Outcome::BackupChanged(n) => Some(*n),
            _ => None,
        })
        .unwrap_or(0);
    let text = match action {
        BackupAction::Prepare => "keys flagged for backup",
        BackupAction::Commit => "keys marked backup done",
        BackupAction::Rollback => "keys unflagged for backup",
    };
    shell.out(&format!("info: {text}: {n}\n"));
    Ok(exit::OK)
}
