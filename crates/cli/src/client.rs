//! `ods-enforcer`'s own command line: global options, then the command words.

use crate::commands::{Shell, dispatch};
use crate::daemon::process;
use crate::getopt::{GetoptError, Opt, getopt};
use crate::output::Sink;
use crate::remote;
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::time::Duration;

/// The default configuration file, as OpenDNSSEC's.
pub const DEFAULT_CONF: &str = "/etc/opendnssec/conf.xml";

const USAGE: &str = "Usage: ods-enforcer [OPTION]... [COMMAND]
Simple command line interface to control the enforcer engine 
daemon. If no command  is given, the tool is going to interactive 
mode. When the daemon is running 'ods-enforcer help' gives a full 
list of available commands.

Supported options:
 -h | --help             Show this help and exit.
 -V | --version          Show version and exit.
 -s | --socket <file>    Daemon socketfile 
    |    (default /run/opendnssec/enforcer.sock).
 -c | --config <file>    Configuration file of the enforcer
    |    (default /etc/opendnssec/conf.xml).
    | --wait-lock <secs> Without a daemon: wait so long for the event log
    |    while another process writes it (default 30).

BSD licensed, see LICENSE in source package for details.
Version 2.1.12. Report bugs to <http://bugs.opendnssec.org/>.
";

/// Runs `ods-enforcer` with the given arguments (without the program name) and
/// returns the process exit code.
pub fn run(args: &[String], sink: &mut dyn Sink) -> i32 {
    let split = global_prefix(args);
    let spec = [
        Opt::flag("help", 'h'),
        Opt::flag("version", 'V'),
        Opt::value("socket", 's'),
        Opt::value("config", 'c'),
        Opt {
            long: "wait-lock",
            short: None,
            takes_value: true,
        },
    ];
    let parsed = match getopt(&args[..split], &spec) {
        Ok(p) => p,
        Err(e) => {
            let msg = match e {
                GetoptError::Unknown(o) => format!("ods-enforcer: unrecognized option '{o}'"),
                GetoptError::Ambiguous(o) => format!("ods-enforcer: option '{o}' is ambiguous"),
                GetoptError::MissingValue(o) => {
                    format!("ods-enforcer: option '--{o}' requires an argument")
                }
                GetoptError::UnexpectedValue(o) => {
                    format!("ods-enforcer: option '--{o}' doesn't allow an argument")
                }
            };
            sink.err(&format!("{msg}\nuse --help for usage information\n"));
            return 100;
        }
    };
    if parsed.has("help") {
        sink.out(USAGE);
        return 0;
    }
    if parsed.has("version") {
        sink.out(&format!(
            "opendnssec version 2.1.12 (kasp-ledger {})\n",
            env!("CARGO_PKG_VERSION")
        ));
        return 0;
    }
    let wait_lock = match parsed.value("wait-lock").map(str::parse::<u64>) {
        None => kasp_engine::lock_wait::DEFAULT_LIMIT,
        Some(Ok(secs)) => Duration::from_secs(secs),
        Some(Err(_)) => {
            sink.err(&format!(
                "ods-enforcer: option '--wait-lock' needs a whole number of seconds, not '{}'\n\
                 use --help for usage information\n",
                parsed.value("wait-lock").unwrap_or_default()
            ));
            return 100;
        }
    };
    if let Some(s) = parsed.value("socket") {
        sink.out(&format!("sock set to {s}\n"));
    }
    // A command line travels to the daemon as words joined by spaces (OpenDNSSEC's
    // framing, crates/cli/src/wire.rs), so a value cannot hold one: `--zone 'b c.test'`
    // would arrive as `--zone b c.test`. The command itself may come as one argument.
    if let Some(spaced) = args[split..].iter().skip(1).find(|a| a.contains(' ')) {
        sink.err(&format!(
            "error: the argument '{spaced}' contains a space; the command line is sent as \
             words separated by spaces, so no value can contain one\n"
        ));
        return kasp_engine::exit::USAGE;
    }
    let words: Vec<String> = args[split..]
        .iter()
        .flat_map(|a| a.split(' ').filter(|w| !w.is_empty()).map(str::to_string))
        .collect();
    let conf_path = PathBuf::from(parsed.value("config").unwrap_or(DEFAULT_CONF));
    let explicit_socket = parsed.value("socket").map(PathBuf::from);
    // The daemon's socket: `-s`, else conf.xml's SocketFile. Only an explicit `-s` makes
    // a missing daemon an error; otherwise commands run daemonless on the log.
    let conf = kasp_engine::config::load(&conf_path).ok();
    let socket = explicit_socket.clone().or_else(|| {
        conf.as_ref()
            .map(|c| PathBuf::from(&c.enforcer.socket_file))
    });
    let line = words.join(" ");
    // `shadow` runs beside OpenDNSSEC's own daemon, which answers on conf.xml's socket,
    // and so does reading its log (`log show --file`); `setup` makes the log a daemon
    // would need, and refuses an import while OpenDNSSEC's enforcer runs
    // (crates/cli/src/commands/setup.rs): they always run here, never through a daemon.
    let local = words.first().is_some_and(|w| w == "shadow" || w == "setup")
        || (words.starts_with(&["log".to_string(), "show".to_string()])
            && words.iter().any(|w| w == "--file" || w == "-f"));
    let connected = socket.as_ref().filter(|_| !local).map(UnixStream::connect);
    match connected {
        Some(Ok(mut stream)) => {
            if words.is_empty() {
                return remote::interactive(sink, |l, sink| remote::command(&mut stream, l, sink));
            }
            let code = remote::command(&mut stream, &line, sink);
            if code == 0 && words[0] == "stop" {
                let pid_file = conf.as_ref().map(|c| PathBuf::from(&c.enforcer.pid_file));
                let socket = socket.unwrap_or_default();
                remote::wait_for_stop(pid_file.as_deref(), &socket, sink);
            }
            code
        }
        failed => {
            let reason = match &failed {
                Some(Err(e)) => e.to_string(),
                _ => "No such file or directory".to_string(),
            };
            let reason = reason
                .split(" (os error")
                .next()
                .unwrap_or_default()
                .to_string();
            if words.first().is_some_and(|w| w == "start") {
                return remote::start_daemon(&conf_path, sink);
            }
            if words.first().is_some_and(|w| w == "running") {
                sink.out("Engine not running.\n");
                return 209;
            }
            if let Some(s) = explicit_socket {
                sink.err(&format!(
                    "Unable to connect to engine. connect() failed: {reason} (\"{}\")\n",
                    s.display()
                ));
                return 201;
            }
            // Who ran the command is recorded as who they are, before taking on the
            // daemon's user.
            let user = kasp_engine::actor::current_user();
            if let Err(e) = become_daemon_user(conf.as_ref()) {
                sink.err(&format!(
                    "error: cannot run as the user and group of conf.xml's Privileges: {e}\n"
                ));
                return kasp_engine::exit::ENVIRONMENT;
            }
            // conf.xml was read above to find the socket: the first command uses it.
            let mut loaded = conf;
            let mut run_line = |line: &str, sink: &mut dyn Sink| {
                let words: Vec<String> = line
                    .split(' ')
                    .filter(|w| !w.is_empty())
                    .map(str::to_string)
                    .collect();
                let mut shell = Shell {
                    loaded_conf: loaded.take(),
                    wait_lock,
                    ..Shell::new(sink, conf_path.clone(), words.join(" "), user.clone())
                };
                dispatch(&mut shell, &words)
            };
            if words.is_empty() {
                return remote::interactive(sink, run_line);
            }
            run_line(&line, sink)
        }
    }
}

/// How many leading arguments are global options ("+" getopt semantics: the first
/// word that is not an option, or a value of one, starts the command).
fn global_prefix(args: &[String]) -> usize {
    let mut i = 0;
    while i < args.len() {
        let a = &args[i];
        if a == "--" {
            return i;
        }
        if !a.starts_with('-') || a == "-" {
            return i;
        }
        let needs_value = if let Some(long) = a.strip_prefix("--") {
            !long.contains('=')
                && !long.is_empty()
                && ("socket".starts_with(long)
                    || "config".starts_with(long)
                    || "wait-lock".starts_with(long))
                && !("help".starts_with(long) || "version".starts_with(long))
        } else {
            // -s / -c as the last letter of a cluster take the next word.
            let letters = &a[1..];
            letters
                .char_indices()
                .find(|(_, c)| *c == 's' || *c == 'c')
                .is_some_and(|(k, _)| k + 1 == letters.len())
        };
        i += if needs_value { 2 } else { 1 };
    }
    args.len()
}

/// A command run without the daemon, as root, takes on the user and group that
/// conf.xml's `Privileges` name, as the daemon does (crates/cli/src/daemon/process.rs):
/// the log, the files and the HSM objects it creates are then the daemon's, never
/// root's. Nothing changes without `Privileges` or when not run as root.
fn become_daemon_user(conf: Option<&kasp_projector::formats::conf::Conf>) -> Result<(), String> {
    let Some(privileges) = conf.map(|c| &c.enforcer.privileges) else {
        return Ok(());
    };
    // SAFETY: geteuid has no preconditions and never fails.
    if (privileges.user.is_none() && privileges.group.is_none()) || unsafe { libc::geteuid() } != 0
    {
        return Ok(());
    }
    let identity = process::resolve(privileges.user.as_deref(), privileges.group.as_deref())?;
    process::drop_privileges(&identity)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::Captured;
    use proptest::prelude::*;

    fn word() -> impl Strategy<Value = String> {
        prop_oneof![
            prop::sample::select(vec![
                "zone",
                "add",
                "list",
                "delete",
                "policy",
                "import",
                "export",
                "help",
                "log",
                "show",
                "verify",
                "key",
                "--zone",
                "-z",
                "--policy",
                "-p",
                "--all",
                "-a",
                "--xml",
                "--",
                "-",
                "--help",
                "-c",
                "-s",
                "--config=",
                "-V",
                "--zo",
                "setup",
                "-t",
                "update",
                "all",
                "zonelist",
                "--file",
                "set-policy",
                "--since",
            ])
            .prop_map(str::to_string),
            "\\PC{0,12}",
        ]
    }

    proptest! {
        /// No command line makes `ods-enforcer` panic (the configuration file does not
        /// exist, so every command that gets past its option parsing stops there).
        #[test]
        fn any_command_line_is_answered(words in prop::collection::vec(word(), 1..8)) {
            let mut args = vec!["-c".to_string(), "/nonexistent/kasp-ledger/conf.xml".to_string()];
            args.extend(words);
            let mut sink = Captured::default();
            let code = run(&args, &mut sink);
            prop_assert!((0..=255).contains(&code));
        }
    }
}
