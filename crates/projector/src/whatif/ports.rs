//! The scheduler's ports in memory for the what-if ([`crate::whatif::simulate`]): a journal that
//! decides and folds into a copy of the state, and a world where every effect has its
//! expected outcome — deterministic salts, signconf files "written" (rendered, their
//! digest kept), DS hooks that succeed when configured, key generation with synthetic,
//! deterministic locators and public keys — and the operator's DS commands.

use crate::decide::ds::{DsRequest, HookReport, HookResult, hooks_needed};
use crate::decide::{Command, Decision, decide};
use crate::enforcer::ds::{DsCommand, DsStatus};
use crate::scheduler::{
    DsHookCall, Journal, KeyFailure, LogLevel, MaterialToDestroy, PendingKey, Recorded,
    SignconfFile, World,
};
use crate::state::State;
use crate::whatif::items::{Item, Observer};
use crate::whatif::simulate::{Sim, SimConf, SimError};
use kasp_events::{Actor, Event, KeySpec, Locator, SignconfWritten, Timestamp};
use std::sync::Arc;

/// The simulated log: the state, its clock, every event decided, and the observer that
/// turns them into the zone's timeline.
pub(crate) struct SimJournal {
    pub(crate) state: Arc<State>,
    pub(crate) now: Timestamp,
    pub(crate) events: Vec<(Timestamp, Event)>,
    pub(crate) observer: Observer,
}

impl SimJournal {
    /// Decides `command` now and folds its events.
    pub(crate) fn decide(&mut self, command: &Command) -> Result<Decision, SimError> {
        let d = decide(&self.state, command, self.now).map_err(|r| SimError::Refused(r.message))?;
        if !d.events.is_empty() {
            let state = Arc::make_mut(&mut self.state);
            for e in &d.events {
                state.apply_event(e, self.now);
                self.observer.after(state, self.now, e);
                self.events.push((self.now, e.clone()));
            }
        }
        Ok(d)
    }
}

impl Journal for SimJournal {
    type Error = SimError;

    fn state(&mut self) -> Result<Arc<State>, SimError> {
        Ok(self.state.clone())
    }

    fn now(&mut self, _state: &State) -> Timestamp {
        self.now
    }

    fn record(&mut self, _actor: &Actor, command: &Command) -> Result<Recorded, SimError> {
        let decision = self.decide(command)?;
        Ok(Recorded {
            state: self.state.clone(),
            decision,
        })
    }
}

/// The simulated world.
pub(crate) struct SimWorld<'a> {
    pub(crate) conf: &'a SimConf,
    /// Counter for synthetic locators and salts.
    pub(crate) serial: u64,
}

impl World for SimWorld<'_> {
    type Error = SimError;

    /// A salt of one repeated byte, new each time.
    fn salt(&mut self, length: u8) -> Result<String, SimError> {
        self.serial += 1;
        let byte = (self.serial % 256) as u8;
        Ok((0..length).map(|_| format!("{byte:02x}")).collect())
    }

    fn destroy(&mut self, keys: &[MaterialToDestroy]) -> Vec<Result<(), String>> {
        keys.iter().map(|_| Ok(())).collect()
    }

    fn write_signconfs(
        &mut self,
        _state: &State,
        files: Vec<SignconfFile>,
    ) -> Vec<Result<SignconfWritten, String>> {
        files
            .into_iter()
            .map(|f| {
                Ok(SignconfWritten {
                    zone: f.zone,
                    path: f.path,
                    digest: crate::whatif::items::digest(&f.text),
                    notify: Ok(()),
                })
            })
            .collect()
    }

    fn run_ds_hook(&mut self, _call: &DsHookCall) -> Result<(), String> {
        Ok(())
    }

    /// Locators no key or generation of the pool uses.
    fn new_locators(
        &mut self,
        state: &State,
        _spec: &KeySpec,
        count: usize,
    ) -> Result<Vec<Locator>, SimError> {
        let mut locators = Vec::with_capacity(count);
        while locators.len() < count {
            self.serial += 1;
            let mut bytes = [0u8; 16];
            bytes[..8].copy_from_slice(b"kasp-sim");
            bytes[8..].copy_from_slice(&self.serial.to_be_bytes());
            let l = Locator(bytes);
            if !state.pool.keys.contains_key(&l) && !state.pool.pending.contains_key(&l) {
                locators.push(l);
            }
        }
        Ok(locators)
    }

    fn generate_key(
        &mut self,
        _spec: &KeySpec,
        locator: &Locator,
    ) -> Result<Vec<u8>, KeyFailure<SimError>> {
        Ok(synthetic_public_key(locator))
    }

    fn requires_backup(&mut self, repository: &str) -> bool {
        self.conf.require_backup.contains(repository)
    }

    /// The what-if has no HSM to ask: an open intent stays open.
    fn find_pending(
        &mut self,
        _spec: &KeySpec,
        _locator: &Locator,
    ) -> Result<PendingKey, SimError> {
        Ok(PendingKey::Unknown)
    }

    fn interval_checkpoint(&mut self) {}

    fn warn(&mut self, _text: &str) {}

    fn report(&mut self, _error: &SimError) {}

    fn log(&mut self, _level: LogLevel, _line: &str) {}
}

impl Sim<'_> {
    /// `key <command> --zone Z --keytag T` as the shell runs it (a configured hook
    /// succeeds). Whether anything changed.
    pub(crate) fn answer(&mut self, command: DsCommand, key_tag: u16) -> Result<bool, SimError> {
        let mut request = DsRequest {
            zone: Some(self.zone.to_string()),
            keytag: Some(key_tag.to_string()),
            ..DsRequest::default()
        };
        let commands = self.req.conf.scheduler.ds_commands();
        request.hooks = hooks_needed(&self.journal.state, command, &request, commands)
            .into_iter()
            .map(|need| HookReport {
                zone: need.zone,
                key: need.key,
                result: match need.call {
                    Ok(call) => HookResult::Ran {
                        command: call.command,
                    },
                    Err(result) => result,
                },
            })
            .collect();
        self.push_answered(format!(
            "{} --zone {} --keytag {}",
            command.name(),
            self.zone,
            key_tag
        ));
        let d = self.journal.decide(&Command::Ds(command, request))?;
        let changed = !d.events.is_empty();
        let report = d.outcomes.iter().find_map(|o| match o {
            crate::decide::Outcome::Ds(r) if r.status == DsStatus::Exit(0) => Some(r),
            _ => None,
        });
        if report.is_some_and(|r| r.runs_changed_zones_first()) {
            self.run_due_signconf_later()?;
        }
        if report.is_some_and(|r| r.flush_all) {
            self.enforcer(crate::decide::enforcer::EnforcerCommand::Flush { zones: None })?;
            self.run_due()?;
        } else if changed {
            self.run_due()?;
        }
        Ok(changed)
    }

    fn push_answered(&mut self, text: String) {
        self.journal
            .observer
            .push(self.journal.now, Item::Answered(text));
    }
}

/// A stand-in DNSKEY public key, fixed by the locator (only the key tag depends on it).
fn synthetic_public_key(locator: &Locator) -> Vec<u8> {
    let mut key = vec![3, 1, 0, 1];
    let mut x: u64 = 0xcbf2_9ce4_8422_2325;
    for b in locator.0 {
        x = (x ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    for _ in 0..8 {
        x = (x ^ (x >> 29)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        key.extend_from_slice(&x.to_be_bytes());
    }
    key
}
