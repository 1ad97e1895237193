//! The daemon's control commands: `start`, `running`, `reload`, `stop` (OpenDNSSEC's
//! `ctrl`), `verbosity`, `flush` and `update conf`.
//!
//! Under the daemon they answer as OpenDNSSEC 2.1.12's do and leave a request (stop,
//! reload) for the daemon to carry out once the answer is sent. Daemonless, the client
//! handles `start` and `running` before dispatch (it starts the daemon, or says the
//! engine is not running); what reaches this module without a daemon gets the stock
//! client's connect error, exit 201, so scripts see what they saw with 2.1.12.

use super::table::CommandSpec;
use super::{Exit, Ran, Shell};
use crate::host::Control;
use kasp_engine::exit;
use kasp_engine::logger;
use kasp_events::Actor;

/// The stock client's message when no daemon answers; exit 201.
pub fn not_running(shell: &mut Shell<'_>, socket: &str, reason: &str) -> i32 {
    shell.err(&format!(
        "Unable to connect to engine. connect() failed: {reason} (\"{socket}\")\n"
    ));
    201
}

fn no_daemon(shell: &mut Shell<'_>) -> Ran {
    let socket = match shell.ctx() {
        Ok(ctx) => ctx.conf.enforcer.socket_file,
        Err(e) => return Err(e),
    };
    Ok(not_running(shell, &socket, "No such file or directory"))
}

/// `start`, `running`, `reload`, `stop`.
pub fn run(shell: &mut Shell<'_>, _spec: &CommandSpec, _args: &[String]) -> Ran {
    let Some(host) = shell.host.clone() else {
        if shell.line.starts_with("running") {
            shell.out("Engine not running.\n");
            return Ok(209);
        }
        return no_daemon(shell);
    };
    let word = shell.line.split(' ').next().unwrap_or_default().to_string();
    match word.as_str() {
        "start" => {
            shell.out("Engine already running.\n");
            Ok(exit::REFUSED)
        }
        "running" => {
            shell.out("Engine running.\n");
            Ok(exit::OK)
        }
        "reload" => {
            host.request(Control::Reload);
            shell.out("Reloading engine.\n");
            Ok(exit::OK)
        }
        _ => {
            host.request(Control::Stop);
            shell.out("Engine shut down.\n");
            Ok(exit::OK)
        }
    }
}

/// `strtol(text, &end, 10)` as far as `verbosity` needs it: the value, or the message.
fn parse_verbosity(text: &str) -> Result<u32, &'static str> {
    let t = text.trim_start();
    let (neg, digits) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let n = digits.bytes().take_while(u8::is_ascii_digit).count();
    if n == 0 {
        return Err("No digits were found");
    }
    let Ok(value) = digits[..n].parse::<i64>() else {
        return Err("Numerical result out of range");
    };
    let value = if neg { -value } else { value };
    // OpenDNSSEC compares `(int)val < 0`, so values that wrap negative are refused too.
    if value < 0 || value as i32 as i64 != value {
        return Err("must be >= 0");
    }
    Ok(value as u32)
}

/// `verbosity [n]`: shows or sets the daemon's log verbosity (not persisted).
pub fn verbosity(shell: &mut Shell<'_>, _spec: &CommandSpec, args: &[String]) -> Ran {
    if shell.host.is_none() {
        return no_daemon(shell);
    }
    match args {
        [] => {
            shell.out(&format!(
                "Current verbosity is set to {}.\n",
                logger::verbosity()
            ));
            shell.out(
                "Available modes:\n  0 - Critical\n  1 - Error\n  2 - Warning\n  3 - Notice\n  \
                 4 - Info\n  5 - Debug\n",
            );
            Ok(exit::OK)
        }
        [value] => match parse_verbosity(value) {
            Ok(v) => {
                logger::set_verbosity(v);
                shell.out(&format!("Verbosity level set to {v}.\n"));
                Ok(exit::OK)
            }
            Err(why) => {
                shell.out(&format!("Error parsing verbosity value: {why}.\n"));
                Err(Exit(super::syntax_error(shell, _spec)))
            }
        },
        _ => {
            shell.out("Too many arguments.\n");
            Err(Exit(super::syntax_error(shell, _spec)))
        }
    }
}

/// `flush`: every task due now, then run them.
pub fn flush(shell: &mut Shell<'_>, _spec: &CommandSpec, _args: &[String]) -> Ran {
    let ctx = shell.ctx()?;
    let actor = Actor::Operator(ctx.user.clone());
    shell.out("All tasks scheduled immediately.\n");
    super::enforce::flush_and_run(shell, &ctx, &actor, None)?;
    Ok(exit::OK)
}

/// `update conf`: checks conf.xml; under a daemon, reloads it.
pub fn update_conf(shell: &mut Shell<'_>, _spec: &CommandSpec, _args: &[String]) -> Ran {
    let path = shell.conf_path.clone();
    match kasp_engine::config::load(&path) {
        Ok(conf) => {
            if let Some(host) = &shell.host {
                *host.conf.borrow_mut() = conf;
                host.request(Control::Reload);
            }
            Ok(exit::OK)
        }
        Err(f) => {
            shell.err(&format!("error: {}\n", f.message));
            shell.err(&format!(
                "Unable to validate '{}' consistency.",
                path.display()
            ));
            Ok(exit::REFUSED)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::parse_verbosity;

    #[test]
    fn verbosity_values_parse_like_strtol() {
        assert_eq!(parse_verbosity("4"), Ok(4));
        assert_eq!(parse_verbosity("  +5x"), Ok(5));
        assert_eq!(parse_verbosity("x"), Err("No digits were found"));
        assert_eq!(parse_verbosity(""), Err("No digits were found"));
        assert_eq!(parse_verbosity("-1"), Err("must be >= 0"));
        assert_eq!(parse_verbosity("4294967295"), Err("must be >= 0"));
        assert_eq!(
            parse_verbosity("99999999999999999999"),
            Err("Numerical result out of range")
        );
    }
}
