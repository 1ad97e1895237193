//! Support for `ods-enforcerd`, the daemon: the parts that touch the command line, the
//! log, and the operating system, kept apart from the daemon core (`crate::daemon`)
//! so that each can be read and tested on its own.
//!
//! OpenDNSSEC's daemon start is a fixed sequence (`ods-enforcerd.c:main`,
//! `daemon/engine.c:engine_setup`): read the options, set up logging from conf.xml,
//! check the pid file, create the socket, hand the files to the `Privileges` user,
//! change directory, drop privileges, fork into the background, write the pid file and
//! start working. The modules here supply those steps and nothing else:
//!
//! * [`options`] — `ods-enforcerd`'s options, usage and version texts, and the exit
//!   codes for bad command lines (2, or 1 for an unreadable `--set-time`);
//! * [`logger`] — the process-wide logger: syslog with conf.xml's facility, or
//!   stderr, filtered by verbosity as OpenDNSSEC's `common/log.c` does;
//! * [`process`] — the pid file, user and group resolution, privilege dropping, the
//!   peer-credential helpers for the control socket, and `daemonize` (fork + setsid
//!   with a pipe that tells the parent whether the child started);
//! * [`info`] — the `ods-enforcerd -i` XML print of the configuration;
//! * [`decision_log`] — OpenDNSSEC's log lines for the events a command recorded
//!   (docs/daemon-log.md).
//!
//! None of them holds domain rules or touches the event log; none panics on any
//! input. Where they depart from OpenDNSSEC (UTC for `--set-time`, the stderr log line,
//! a user's own primary group when no `Group` is configured, escaped XML in `-i`) the
//! module documentation says so.

pub mod decision_log;
pub mod info;
pub mod logger;
pub mod options;
pub mod process;
