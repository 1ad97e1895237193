//! `log checkpoint`: signed checkpoints of the log head (issue 6). Not built yet.

use super::table::CommandSpec;
use super::{Ran, Shell};

/// `log checkpoint`.
pub fn checkpoint(shell: &mut Shell<'_>, spec: &CommandSpec, _args: &[String]) -> Ran {
    Err(shell.not_built(spec))
}
