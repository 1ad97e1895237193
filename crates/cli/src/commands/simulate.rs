//! `simulate`: what a change would do to a zone, on a copy of its state (issue 6). Not
//! built yet.

use super::table::CommandSpec;
use super::{Ran, Shell};

/// `simulate --zone Z ...`.
pub fn run(shell: &mut Shell<'_>, spec: &CommandSpec, _args: &[String]) -> Ran {
    Err(shell.not_built(spec))
}
