//! `explain --zone Z`: why each key record of a zone is not moving (issue 6). Not
//! built yet.

use super::table::CommandSpec;
use super::{Ran, Shell};

/// `explain --zone Z`.
pub fn run(shell: &mut Shell<'_>, spec: &CommandSpec, _args: &[String]) -> Ran {
    Err(shell.not_built(spec))
}
