//! `zone timeline --zone Z --svg FILE`: the zone's keys drawn over time (issue 6). Not
//! built yet.

use super::table::CommandSpec;
use super::{Ran, Shell};

/// `zone timeline --zone Z --svg FILE [--until D]`.
pub fn run(shell: &mut Shell<'_>, spec: &CommandSpec, _args: &[String]) -> Ran {
    Err(shell.not_built(spec))
}
