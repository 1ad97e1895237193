//! `zone history`, `key history`: a zone's or a key's events as a timeline (issue 6).
//! Not built yet.

use super::table::CommandSpec;
use super::{Ran, Shell};

/// `zone history --zone Z`.
pub fn zone_history(shell: &mut Shell<'_>, spec: &CommandSpec, _args: &[String]) -> Ran {
    Err(shell.not_built(spec))
}

/// `key history (--keytag T --zone Z | --cka_id C)`.
pub fn key_history(shell: &mut Shell<'_>, spec: &CommandSpec, _args: &[String]) -> Ran {
    Err(shell.not_built(spec))
}
