//! The two interfaces the scheduler loop ([`super::run_due`]) is written against: a
//! [`Journal`], where its decisions are recorded, and a [`World`], what the outside
//! world does. The shell implements both for real (the event log; the HSM, files,
//! programs), the what-if ([`crate::whatif::simulate`]) in memory.

use crate::decide::{Command, Decision};
use crate::state::State;
use kasp_events::{Actor, KeyId, KeySpec, Locator, SignconfWritten, Timestamp, ZoneName};
use std::sync::Arc;

/// A command the journal decided and recorded: the state after it and the decision.
#[derive(Debug)]
pub struct Recorded {
    pub state: Arc<State>,
    pub decision: Decision,
}

/// Where decisions are recorded.
pub trait Journal {
    /// Why a command could not be recorded (a rejection of the decision included).
    type Error;
    /// The current state.
    fn state(&mut self) -> Result<Arc<State>, Self::Error>;
    /// The journal's clock at `state`: its simulated or leapt time, or the system's.
    fn now(&mut self, state: &State) -> Timestamp;
    /// Decides `command` at the journal's clock against the current state, records what
    /// it decided as `actor`'s, and gives back the decision with the state after it.
    fn record(&mut self, actor: &Actor, command: &Command) -> Result<Recorded, Self::Error>;
    /// Runs `f` with the journal to itself: nothing is recorded by anyone else until it
    /// returns, and its reads see every record (a daemonless command holds the log's
    /// write lock, crates/engine/src/session.rs `Session::exclusively`; the daemon and the
    /// what-if are the only writers of theirs anyway).
    fn exclusively<T>(
        &mut self,
        f: impl FnOnce(&mut Self) -> Result<T, Self::Error>,
    ) -> Result<T, Self::Error>
    where
        Self: Sized,
    {
        f(self)
    }
    /// [`Journal::exclusively`] from the first record `f` makes on: until then `f` reads
    /// as anyone may (its first decision is checked against what was recorded meanwhile
    /// and taken again), and if it records nothing it leaves the journal untouched.
    fn exclusively_once_it_records<T>(
        &mut self,
        f: impl FnOnce(&mut Self) -> Result<T, Self::Error>,
    ) -> Result<T, Self::Error>
    where
        Self: Sized,
    {
        f(self)
    }
}

/// How loud a line for the daemon's log is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogLevel {
    Error,
    Info,
    Verbose,
}

/// A signconf file to write: where, and its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignconfFile {
    pub zone: ZoneName,
    pub path: String,
    pub text: String,
}

/// One DS hook to run: a key's DNSKEY handed to `DelegationSigner<Submit|Retract>Command`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DsHookCall {
    pub zone: ZoneName,
    pub key: KeyId,
    /// The configured command.
    pub command: String,
    /// The zone's owner name with its final dot.
    pub owner: String,
    /// The DNSKEY record's TTL.
    pub ttl: u32,
    pub algorithm: u8,
    pub public_key: Vec<u8>,
    pub locator: Locator,
}

/// Key material to destroy and the repository that holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MaterialToDestroy {
    pub locator: Locator,
    pub repository: String,
}

/// A key the HSM failed to make.
#[derive(Debug)]
pub struct KeyFailure<E> {
    pub error: E,
    /// The failure as recorded with the abandoned generation.
    pub reason: String,
    /// The call did not answer in time: the key may exist all the same, so its intent
    /// stays open for the next run to adopt or abandon.
    pub maybe_made: bool,
}

/// What the HSM holds under the locator of a generation an interrupted run left without
/// an outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PendingKey {
    /// The key, whole: adopted.
    Present { public_key: Vec<u8> },
    /// Only its private half (killed inside the key-pair generation); the world
    /// destroyed it.
    Incomplete,
    /// Nothing (any public half the HSM made was destroyed).
    Absent,
    /// The world cannot tell (the what-if has no HSM): the intent stays open.
    Unknown,
}

/// What the outside world does for the scheduler. Each effect is carried out first and
/// recorded after, through the [`Journal`], by the loop.
pub trait World {
    type Error;
    /// A random NSEC3 salt of `length` bytes, in hex.
    fn salt(&mut self, length: u8) -> Result<String, Self::Error>;
    /// Destroys key material no zone uses any more; one result per key, in order (a key
    /// the HSM no longer holds counts as destroyed).
    fn destroy(&mut self, keys: &[MaterialToDestroy]) -> Vec<Result<(), String>>;
    /// Writes signconf files and notifies the signer of each; one result per file, in
    /// order.
    fn write_signconfs(
        &mut self,
        state: &State,
        files: Vec<SignconfFile>,
    ) -> Vec<Result<SignconfWritten, String>>;
    /// Runs a DS hook; why it failed.
    fn run_ds_hook(&mut self, call: &DsHookCall) -> Result<(), String>;
    /// Runs the DS hooks of one run; one result per call, in order. The real world runs
    /// the zones' hooks side by side (those of one zone in order); by default one after
    /// another.
    fn run_ds_hooks(&mut self, calls: &[&DsHookCall]) -> Vec<Result<(), String>> {
        calls.iter().map(|call| self.run_ds_hook(call)).collect()
    }
    /// Readies `count` new keys of `spec`: refuses, before any intent is recorded, when
    /// the token cannot hold them or cannot make keys of this kind, and gives each a
    /// locator no key of `state` uses.
    fn new_locators(
        &mut self,
        state: &State,
        spec: &KeySpec,
        count: usize,
    ) -> Result<Vec<Locator>, Self::Error>;
    /// Makes the key of a recorded intent; its DNSKEY public key.
    fn generate_key(
        &mut self,
        spec: &KeySpec,
        locator: &Locator,
    ) -> Result<Vec<u8>, KeyFailure<Self::Error>>;
    /// Whether keys of `repository` must be backed up before use (`RequireBackup`).
    fn requires_backup(&mut self, repository: &str) -> bool;
    /// What the HSM holds under the locator of an open intent.
    fn find_pending(
        &mut self,
        spec: &KeySpec,
        locator: &Locator,
    ) -> Result<PendingKey, Self::Error>;
    /// Makes the interval checkpoint when one is due.
    fn interval_checkpoint(&mut self);
    /// Tells the operator (the command's stderr).
    fn warn(&mut self, text: &str);
    /// Tells the operator why an effect failed, as a command reports its failures.
    fn report(&mut self, error: &Self::Error);
    /// A line for the daemon's log.
    fn log(&mut self, level: LogLevel, line: &str);
}
