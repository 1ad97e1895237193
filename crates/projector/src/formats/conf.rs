//! conf.xml in: the repositories (HSM tokens), logging, the kasp.xml and zonelist.xml
//! locations, and the enforcer's settings, checked as `conf.rnc` checks them and with
//! the defaults of `enforcer/src/parser/confparser.c` (verbosity 3, 365 days of key
//! pre-generation, 4 worker threads, the Debian pid, socket and working directory
//! paths).
//!
//! `Configuration`'s children, and the children of most of its parts, may come in any
//! order (RelaxNG `&`); each at most once. `Signer` is optional and only its working
//! directory is kept (ods-kaspcheck compares it with the enforcer's). The datastore is
//! kept as information only. PINs and database passwords are held in [`Pin`], which
//! never prints its value.

use crate::formats::xmlin::{Ctx, FormatError, Interleave, XML_SPACE, parse_document};
use kasp_events::Seconds;
use roxmltree::Node;
use std::fmt;

/// Default `Common/Logging/Verbosity`.
pub const DEFAULT_VERBOSITY: u32 = 3;
/// Default `Enforcer/AutomaticKeyGenerationPeriod`: 365 days.
pub const DEFAULT_KEYGEN_PERIOD: Seconds = Seconds(365 * 86_400);
/// Default `Enforcer/PidFile`.
pub const DEFAULT_PID_FILE: &str = "/run/opendnssec/enforcerd.pid";
/// Default `Enforcer/SocketFile`.
pub const DEFAULT_SOCKET_FILE: &str = "/run/opendnssec/enforcer.sock";
/// Default `Enforcer/WorkingDirectory`.
pub const DEFAULT_WORKING_DIRECTORY: &str = "/var/lib/opendnssec/enforcer";
/// Default `Enforcer/WorkerThreads`.
pub const DEFAULT_WORKER_THREADS: u32 = 4;

const SYSLOG_FACILITIES: &[&str] = &[
    "kern", "user", "mail", "daemon", "auth", "lpr", "news", "uucp", "cron", "local0", "local1",
    "local2", "local3", "local4", "local5", "local6", "local7",
];

/// A secret from conf.xml (a repository PIN or a database password). Its `Debug` and
/// `Display` print `***`; only [`Pin::expose`] gives the value.
#[derive(Clone, PartialEq, Eq)]
pub struct Pin(String);

impl Pin {
    /// Wraps a secret.
    pub fn new(secret: impl Into<String>) -> Pin {
        Pin(secret.into())
    }

    /// The secret itself, for handing to the HSM or database; never log it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Pin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Pin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// One `RepositoryList/Repository`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repository {
    /// `@name`, referenced from kasp.xml `<Repository>`.
    pub name: String,
    /// `Module`: path of the PKCS#11 library.
    pub module: String,
    /// `TokenLabel`.
    pub token_label: String,
    /// `PIN`; `None` means ask (or use the shared-memory PIN).
    pub pin: Option<Pin>,
    /// `Capacity` (display only); `None` is "infinite".
    pub capacity: Option<u64>,
    /// `RequireBackup/`.
    pub require_backup: bool,
    /// `SkipPublicKey/`.
    pub skip_public_key: bool,
    /// `AllowExtraction/`.
    pub allow_extraction: bool,
}

/// `Common/Logging`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Logging {
    /// `Verbosity`, default 3.
    pub verbosity: u32,
    /// `Syslog/Facility`; `None` logs to stderr.
    pub syslog_facility: Option<String>,
}

/// `Privileges` of the enforcer or signer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Privileges {
    /// `User` to drop to.
    pub user: Option<String>,
    /// `Group` to drop to.
    pub group: Option<String>,
    /// `Directory` to chroot to.
    pub directory: Option<String>,
}

/// `Enforcer/Datastore`, kept as information only (kasp-ledger has its own store).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Datastore {
    /// `SQLite`: the database file.
    Sqlite {
        /// The file path.
        path: String,
    },
    /// `MySQL`.
    Mysql {
        /// `Host`, if given.
        host: Option<String>,
        /// `Host@Port`, if given (the default is 3306).
        port: Option<u16>,
        /// `Database`.
        database: String,
        /// `Username`.
        username: String,
        /// `Password`.
        password: Pin,
    },
}

/// `Enforcer`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnforcerConf {
    /// `Privileges`.
    pub privileges: Privileges,
    /// `Datastore`.
    pub datastore: Datastore,
    /// `ManualKeyGeneration/`.
    pub manual_key_generation: bool,
    /// `AutomaticKeyGenerationPeriod`, default 365 days.
    pub automatic_key_generation_period: Seconds,
    /// `RolloverNotification`, as given (absent means off).
    pub rollover_notification: Option<Seconds>,
    /// `DelegationSignerSubmitCommand`.
    pub ds_submit_command: Option<String>,
    /// `DelegationSignerRetractCommand`.
    pub ds_retract_command: Option<String>,
    /// `PidFile`, default [`DEFAULT_PID_FILE`].
    pub pid_file: String,
    /// `SocketFile`, default [`DEFAULT_SOCKET_FILE`].
    pub socket_file: String,
    /// `WorkingDirectory`, default [`DEFAULT_WORKING_DIRECTORY`].
    pub working_directory: String,
    /// `WorkerThreads`, default 4 (0 is allowed).
    pub worker_threads: u32,
}

/// The parts of `Signer` the enforcer side cares about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignerConf {
    /// `WorkingDirectory`, if given.
    pub working_directory: Option<String>,
}

/// conf.xml.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conf {
    /// `RepositoryList`, in file order.
    pub repositories: Vec<Repository>,
    /// `Common/Logging` (defaults when absent).
    pub logging: Logging,
    /// `Common/PolicyFile`.
    pub policy_file: String,
    /// `Common/ZoneListFile`.
    pub zonelist_file: String,
    /// `Enforcer`.
    pub enforcer: EnforcerConf,
    /// `Signer`, if present.
    pub signer: Option<SignerConf>,
}

impl Conf {
    /// The repository with this name.
    pub fn repository(&self, name: &str) -> Option<&Repository> {
        self.repositories.iter().find(|r| r.name == name)
    }

    /// The repository names in file order (for `check_kasp`).
    pub fn repository_names(&self) -> Vec<&str> {
        self.repositories.iter().map(|r| r.name.as_str()).collect()
    }
}

type R<T> = Result<T, FormatError>;

/// Reads conf.xml. `file` is used only in messages.
pub fn parse_conf(text: &str, file: &str) -> R<Conf> {
    let doc = parse_document(text, file)?;
    let ctx = Ctx { doc: &doc, file };
    let root = doc.root_element();
    ctx.expect_root(root, "Configuration")?;
    let top = Interleave::new(
        ctx,
        root,
        &["RepositoryList", "Common", "Enforcer", "Signer"],
        &[],
    )?;
    let repositories = repositories(ctx, top.required("RepositoryList")?)?;
    let common = top.required("Common")?;
    let c = Interleave::new(ctx, common, &["Logging", "PolicyFile", "ZoneListFile"], &[])?;
    let logging = match c.get("Logging") {
        Some(n) => logging(ctx, n)?,
        None => Logging {
            verbosity: DEFAULT_VERBOSITY,
            syslog_facility: None,
        },
    };
    let policy_file = ctx.text(c.required("PolicyFile")?)?;
    let zonelist_file = ctx.text(c.required("ZoneListFile")?)?;
    let enforcer = enforcer(ctx, top.required("Enforcer")?)?;
    let signer = match top.get("Signer") {
        Some(n) => Some(signer(ctx, n)?),
        None => None,
    };
    Ok(Conf {
        repositories,
        logging,
        policy_file,
        zonelist_file,
        enforcer,
        signer,
    })
}

fn opt_text(ctx: Ctx<'_, '_>, node: Option<Node<'_, '_>>) -> R<Option<String>> {
    node.map(|n| ctx.text(n)).transpose()
}

fn flag(ctx: Ctx<'_, '_>, node: Option<Node<'_, '_>>) -> R<bool> {
    match node {
        Some(n) => ctx.empty(n).map(|()| true),
        None => Ok(false),
    }
}

fn repositories(ctx: Ctx<'_, '_>, list: Node<'_, '_>) -> R<Vec<Repository>> {
    ctx.attrs(list, &[])?;
    let mut out = Vec::new();
    for node in ctx.elements(list)? {
        if !crate::formats::xmlin::is(node, "Repository") {
            return Err(ctx.err(
                node,
                format!(
                    "unexpected element <{}> in <RepositoryList>",
                    crate::formats::xmlin::qname(node)
                ),
            ));
        }
        let r = Interleave::new(
            ctx,
            node,
            &[
                "Module",
                "TokenLabel",
                "PIN",
                "Capacity",
                "RequireBackup",
                "SkipPublicKey",
                "AllowExtraction",
            ],
            &["name"],
        )?;
        out.push(Repository {
            name: ctx.attr(node, "name")?.to_string(),
            module: ctx.text(r.required("Module")?)?,
            token_label: ctx.text(r.required("TokenLabel")?)?,
            pin: opt_text(ctx, r.get("PIN"))?.map(Pin),
            capacity: r
                .get("Capacity")
                .map(|n| ctx.number(n, 1, u64::MAX))
                .transpose()?,
            require_backup: flag(ctx, r.get("RequireBackup"))?,
            skip_public_key: flag(ctx, r.get("SkipPublicKey"))?,
            allow_extraction: flag(ctx, r.get("AllowExtraction"))?,
        });
    }
    Ok(out)
}

fn logging(ctx: Ctx<'_, '_>, node: Node<'_, '_>) -> R<Logging> {
    let l = Interleave::new(ctx, node, &["Verbosity", "Syslog"], &[])?;
    let verbosity = match l.get("Verbosity") {
        Some(n) => ctx.number(n, 0, u64::from(u32::MAX))? as u32,
        None => DEFAULT_VERBOSITY,
    };
    let syslog_facility = match l.get("Syslog") {
        Some(n) => {
            let s = Interleave::new(ctx, n, &["Facility"], &[])?;
            let f = s.required("Facility")?;
            let raw = ctx.text(f)?;
            let t = raw.trim_matches(XML_SPACE);
            if !SYSLOG_FACILITIES.contains(&t) {
                return Err(ctx.err(
                    f,
                    format!(
                        "<Facility> must be one of {}; found '{t}'",
                        SYSLOG_FACILITIES.join(", ")
                    ),
                ));
            }
            Some(t.to_string())
        }
        None => None,
    };
    Ok(Logging {
        verbosity,
        syslog_facility,
    })
}

fn privileges(ctx: Ctx<'_, '_>, node: Option<Node<'_, '_>>) -> R<Privileges> {
    let Some(node) = node else {
        return Ok(Privileges::default());
    };
    let p = Interleave::new(ctx, node, &["User", "Group", "Directory"], &[])?;
    Ok(Privileges {
        user: opt_text(ctx, p.get("User"))?,
        group: opt_text(ctx, p.get("Group"))?,
        directory: opt_text(ctx, p.get("Directory"))?,
    })
}

fn datastore(ctx: Ctx<'_, '_>, node: Node<'_, '_>) -> R<Datastore> {
    let d = Interleave::new(ctx, node, &["SQLite", "MySQL"], &[])?;
    match (d.get("SQLite"), d.get("MySQL")) {
        (Some(s), None) => Ok(Datastore::Sqlite { path: ctx.text(s)? }),
        (None, Some(m)) => {
            let m = Interleave::new(ctx, m, &["Host", "Database", "Username", "Password"], &[])?;
            let (host, port) = match m.get("Host") {
                Some(h) => {
                    let host = ctx.text_with(h, &["Port"])?;
                    let port = h
                        .attribute("Port")
                        .map(|p| ctx.number_in(h, "Host@Port", p, 1, 65535))
                        .transpose()?
                        .map(|p| p as u16);
                    (Some(host), port)
                }
                None => (None, None),
            };
            Ok(Datastore::Mysql {
                host,
                port,
                database: ctx.text(m.required("Database")?)?,
                username: ctx.text(m.required("Username")?)?,
                password: Pin(ctx.text(m.required("Password")?)?),
            })
        }
        (Some(_), Some(m)) => Err(ctx.err(m, "<Datastore> must hold either <SQLite> or <MySQL>")),
        (None, None) => Err(ctx.err(node, "missing <SQLite> or <MySQL> in <Datastore>")),
    }
}

fn enforcer(ctx: Ctx<'_, '_>, node: Node<'_, '_>) -> R<EnforcerConf> {
    let e = Interleave::new(
        ctx,
        node,
        &[
            "Privileges",
            "Datastore",
            "ManualKeyGeneration",
            "AutomaticKeyGenerationPeriod",
            "RolloverNotification",
            "DelegationSignerSubmitCommand",
            "DelegationSignerRetractCommand",
            "PidFile",
            "SocketFile",
            "WorkingDirectory",
            "WorkerThreads",
        ],
        &[],
    )?;
    let duration = |name: &str| -> R<Option<Seconds>> {
        e.get(name)
            .map(|n| ctx.duration(n, &format!("Enforcer/{name}")).map(|(_, s)| s))
            .transpose()
    };
    let text_or = |name: &str, default: &str| -> R<String> {
        Ok(opt_text(ctx, e.get(name))?.unwrap_or_else(|| default.to_string()))
    };
    Ok(EnforcerConf {
        privileges: privileges(ctx, e.get("Privileges"))?,
        datastore: datastore(ctx, e.required("Datastore")?)?,
        manual_key_generation: flag(ctx, e.get("ManualKeyGeneration"))?,
        automatic_key_generation_period: duration("AutomaticKeyGenerationPeriod")?
            .unwrap_or(DEFAULT_KEYGEN_PERIOD),
        rollover_notification: duration("RolloverNotification")?,
        ds_submit_command: opt_text(ctx, e.get("DelegationSignerSubmitCommand"))?,
        ds_retract_command: opt_text(ctx, e.get("DelegationSignerRetractCommand"))?,
        pid_file: text_or("PidFile", DEFAULT_PID_FILE)?,
        socket_file: text_or("SocketFile", DEFAULT_SOCKET_FILE)?,
        working_directory: text_or("WorkingDirectory", DEFAULT_WORKING_DIRECTORY)?,
        worker_threads: match e.get("WorkerThreads") {
            Some(n) => ctx.number(n, 0, i32::MAX as u64)? as u32,
            None => DEFAULT_WORKER_THREADS,
        },
    })
}

fn signer(ctx: Ctx<'_, '_>, node: Node<'_, '_>) -> R<SignerConf> {
    let s = Interleave::new(
        ctx,
        node,
        &[
            "Privileges",
            "WorkingDirectory",
            "WorkerThreads",
            "SignerThreads",
            "Listener",
            "NotifyCommand",
        ],
        &[],
    )?;
    // Checked for shape only; the enforcer does not use these.
    privileges(ctx, s.get("Privileges"))?;
    for name in ["WorkerThreads", "SignerThreads"] {
        if let Some(n) = s.get(name) {
            ctx.number(n, 1, i32::MAX as u64)?;
        }
    }
    if let Some(l) = s.get("Listener") {
        ctx.attrs(l, &[])?;
        for i in ctx.elements(l)? {
            if !crate::formats::xmlin::is(i, "Interface") {
                return Err(ctx.err(
                    i,
                    format!(
                        "unexpected element <{}> in <Listener>",
                        crate::formats::xmlin::qname(i)
                    ),
                ));
            }
            let i = Interleave::new(ctx, i, &["Address", "Port"], &[])?;
            opt_text(ctx, i.get("Address"))?;
            if let Some(p) = i.get("Port") {
                ctx.number(p, 1, 65535)?;
            }
        }
    }
    opt_text(ctx, s.get("NotifyCommand"))?;
    Ok(SignerConf {
        working_directory: opt_text(ctx, s.get("WorkingDirectory"))?,
    })
}

#[cfg(test)]
mod tests;
