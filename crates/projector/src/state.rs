//! (in progress)
pub const PROJECTION_VERSION: u32 = 1;
#[derive(Debug, Default)] pub struct State;
