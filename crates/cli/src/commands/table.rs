//! The command table in OpenDNSSEC 2.1.12's order (`enforcercommands.c`), which is
//! also the order of `help`. Usage blocks and help texts are OpenDNSSEC's, byte for
//! byte (see `fixtures/ods-2.1.12/`); the texts live in `usage.rs`.

use super::{
    Ran, Shell, checkpoint, ctrl, ds, enforce, explain, export, help, history, hsm, keyio, keylist,
    keys, log, policy, rollover, setup, shadow, simulate, timeline, verify, zone, zonelist,
};
use crate::commands::usage as u;

/// How a command runs.
#[derive(Clone, Copy, Debug)]
pub enum Handler {
    Run(fn(&mut Shell<'_>, &CommandSpec, &[String]) -> Ran),
}

/// One entry of the command table.
#[derive(Debug)]
pub struct CommandSpec {
    /// The name used in messages (`zone add`, `ctrl`, `backup`).
    pub name: &'static str,
    /// The words that select it; the first matching entry wins.
    pub words: &'static [&'static str],
    pub usage: &'static str,
    pub help: Option<&'static str>,
    /// OpenDNSSEC's NARGV: more than NARGV+1 words is "too many arguments".
    pub nargv: usize,
    /// Listed by `help` and the unknown-command output.
    pub listed: bool,
    pub handler: Handler,
}

/// One listed entry: name, words, usage, help, NARGV, handler.
macro_rules! cmd {
    ($name:expr, [$($w:expr),*], $usage:expr, $help:expr, $nargv:expr, $h:expr) => {
        CommandSpec { name: $name, words: &[$($w),*], usage: $usage, help: Some($help), nargv: $nargv, listed: true, handler: $h }
    };
}

/// An entry `help` does not list (`time leap`, and the other words `ctrl` claims).
macro_rules! hidden {
    ($name:expr, [$($w:expr),*], $usage:expr, $help:expr, $nargv:expr, $h:expr) => {
        CommandSpec { listed: false, ..cmd!($name, [$($w),*], $usage, $help, $nargv, $h) }
    };
}

/// Every command, in OpenDNSSEC's table order, plus kasp-ledger's own at the end.
#[rustfmt::skip]
pub static COMMANDS: &[CommandSpec] = &[
    cmd!("update conf", ["update", "conf"], u::UPDATE_CONF, u::UPDATE_CONF_HELP, 50, Handler::Run(ctrl::update_conf)),
    cmd!("update repositorylist", ["update", "repositorylist"], u::UPDATE_REPOSITORYLIST, u::UPDATE_REPOSITORYLIST_HELP, 50, Handler::Run(hsm::update)),
    cmd!("repository list", ["repository", "list"], u::REPOSITORY_LIST, u::REPOSITORY_LIST_HELP, 50, Handler::Run(hsm::list)),
    cmd!("update all", ["update", "all"], u::UPDATE_ALL, u::UPDATE_ALL_HELP, 50, Handler::Run(zonelist::update_all)),
    cmd!("policy list", ["policy", "list"], u::POLICY_LIST, u::POLICY_LIST_HELP, 50, Handler::Run(policy::list)),
    cmd!("policy export", ["policy", "export"], u::POLICY_EXPORT, u::POLICY_EXPORT_HELP, 4, Handler::Run(policy::export)),
    cmd!("policy import", ["policy", "import"], u::POLICY_IMPORT, u::POLICY_IMPORT_HELP, 3, Handler::Run(policy::import)),
    cmd!("policy purge", ["policy", "purge"], u::POLICY_PURGE, u::POLICY_PURGE_HELP, 50, Handler::Run(policy::purge)),
    cmd!("policy resalt", ["policy", "resalt"], u::POLICY_RESALT, u::POLICY_RESALT_HELP, 50, Handler::Run(policy::resalt_cmd)),
    cmd!("zone list", ["zone", "list"], u::ZONE_LIST, u::ZONE_LIST_HELP, 50, Handler::Run(zone::list)),
    cmd!("zone add", ["zone", "add"], u::ZONE_ADD, u::ZONE_ADD_HELP, 18, Handler::Run(zone::add)),
    cmd!("zone delete", ["zone", "delete"], u::ZONE_DELETE, u::ZONE_DELETE_HELP, 6, Handler::Run(zone::delete)),
    cmd!("zone set-policy", ["zone", "set-policy"], u::ZONE_SET_POLICY, u::ZONE_SET_POLICY_HELP, 18, Handler::Run(zone::set_policy)),
    cmd!("zonelist export", ["zonelist", "export"], u::ZONELIST_EXPORT, u::ZONELIST_EXPORT_HELP, 50, Handler::Run(zonelist::export)),
    cmd!("zonelist import", ["zonelist", "import"], u::ZONELIST_IMPORT, u::ZONELIST_IMPORT_HELP, 5, Handler::Run(zonelist::import)),
    cmd!("key list", ["key", "list"], u::KEY_LIST, u::KEY_LIST_HELP, 12, Handler::Run(keylist::list)),
    cmd!("key export", ["key", "export"], u::KEY_EXPORT, u::KEY_EXPORT_HELP, 11, Handler::Run(keyio::export)),
    cmd!("key import", ["key", "import"], u::KEY_IMPORT, u::KEY_IMPORT_HELP, 18, Handler::Run(keyio::import)),
    cmd!("key ds-submit", ["key", "ds-submit"], u::KEY_DS_SUBMIT, u::KEY_DS_SUBMIT_HELP, 6, Handler::Run(ds::submit)),
    cmd!("key ds-seen", ["key", "ds-seen"], u::KEY_DS_SEEN, u::KEY_DS_SEEN_HELP, 6, Handler::Run(ds::seen)),
    cmd!("key ds-retract", ["key", "ds-retract"], u::KEY_DS_RETRACT, u::KEY_DS_RETRACT_HELP, 6, Handler::Run(ds::retract)),
    cmd!("key ds-gone", ["key", "ds-gone"], u::KEY_DS_GONE, u::KEY_DS_GONE_HELP, 6, Handler::Run(ds::gone)),
    cmd!("key generate", ["key", "generate"], u::KEY_GENERATE, u::KEY_GENERATE_HELP, 6, Handler::Run(keys::generate_cmd)),
    cmd!("key purge", ["key", "purge"], u::KEY_PURGE, u::KEY_PURGE_HELP, 4, Handler::Run(rollover::purge)),
    cmd!("key rollover", ["key", "rollover"], u::KEY_ROLLOVER, u::KEY_ROLLOVER_HELP, 6, Handler::Run(rollover::rollover)),
    cmd!("rollover list", ["rollover", "list"], u::ROLLOVER_LIST, u::ROLLOVER_LIST_HELP, 4, Handler::Run(keylist::rollover_list)),
    cmd!("backup", ["backup"], u::BACKUP, u::BACKUP_HELP, 4, Handler::Run(hsm::backup)),
    cmd!("enforce", ["enforce"], u::ENFORCE, u::ENFORCE_HELP, 4, Handler::Run(enforce::enforce_cmd)),
    cmd!("signconf", ["signconf"], u::SIGNCONF, u::SIGNCONF_HELP, 50, Handler::Run(enforce::signconf_cmd)),
    cmd!("queue", ["queue"], u::QUEUE, u::QUEUE_HELP, 50, Handler::Run(enforce::queue_cmd)),
    cmd!("flush", ["flush"], u::FLUSH, u::FLUSH_HELP, 50, Handler::Run(ctrl::flush)),
    hidden!("time leap", ["time", "leap"], u::TIME_LEAP, u::TIME_LEAP_HELP, 5, Handler::Run(enforce::time_leap_cmd)),
    cmd!("ctrl", ["start"], u::CTRL, u::CTRL_HELP, 50, Handler::Run(ctrl::run)),
    hidden!("ctrl", ["running"], u::CTRL, u::CTRL_HELP, 50, Handler::Run(ctrl::run)),
    hidden!("ctrl", ["reload"], u::CTRL, u::CTRL_HELP, 50, Handler::Run(ctrl::run)),
    hidden!("ctrl", ["stop"], u::CTRL, u::CTRL_HELP, 50, Handler::Run(ctrl::run)),
    cmd!("verbosity", ["verbosity"], u::VERBOSITY, u::VERBOSITY_HELP, 2, Handler::Run(ctrl::verbosity)),
    cmd!("help", ["help"], u::HELP, u::HELP_HELP, 50, Handler::Run(help::run)),
    // kasp-ledger's own commands.
    cmd!("setup", ["setup"], u::SETUP, u::SETUP_HELP, 4, Handler::Run(setup::run)),
    cmd!("shadow", ["shadow"], u::SHADOW, u::SHADOW_HELP, 6, Handler::Run(shadow::run)),
    cmd!("log verify", ["log", "verify"], u::LOG_VERIFY, u::LOG_VERIFY_HELP, 6, Handler::Run(verify::verify)),
    cmd!("log show", ["log", "show"], u::LOG_SHOW, u::LOG_SHOW_HELP, 10, Handler::Run(log::show)),
    cmd!("log export", ["log", "export"], u::LOG_EXPORT, u::LOG_EXPORT_HELP, 10, Handler::Run(export::export)),
    // Audit, forensics and what-if.
    cmd!("log checkpoint", ["log", "checkpoint"], u::LOG_CHECKPOINT, u::LOG_CHECKPOINT_HELP, 30, Handler::Run(checkpoint::checkpoint)),
    cmd!("zone history", ["zone", "history"], u::ZONE_HISTORY, u::ZONE_HISTORY_HELP, 30, Handler::Run(history::zone_history)),
    cmd!("key history", ["key", "history"], u::KEY_HISTORY, u::KEY_HISTORY_HELP, 30, Handler::Run(history::key_history)),
    cmd!("explain", ["explain"], u::EXPLAIN, u::EXPLAIN_HELP, 30, Handler::Run(explain::run)),
    cmd!("simulate", ["simulate"], u::SIMULATE, u::SIMULATE_HELP, 30, Handler::Run(simulate::run)),
    cmd!("zone timeline", ["zone", "timeline"], u::ZONE_TIMELINE, u::ZONE_TIMELINE_HELP, 30, Handler::Run(timeline::run)),
];

/// The entry for a command line, and how many words named it.
pub fn find(words: &[String]) -> Option<(&'static CommandSpec, usize)> {
    COMMANDS.iter().find_map(|c| {
        let n = c.words.len();
        (words.len() >= n && words.iter().zip(c.words).all(|(a, b)| a == b)).then_some((c, n))
    })
}

/// The entry named by `help <words>`.
pub fn find_for_help(words: &[String]) -> Option<&'static CommandSpec> {
    find(words).map(|(c, _)| c)
}
