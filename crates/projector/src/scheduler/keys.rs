//! Key generation between intent and outcome: for each kind of key a plan finds
//! missing, the world readies locators, the intents are recorded
//! (`KeyGenerationStarted`), the world makes the keys, and the outcomes are recorded
//! together (`KeyGenerated`, or `KeyGenerationAbandoned`).
//!
//! Crash safety: a generation whose outcome was never recorded (the process died
//! between the HSM call and the append) is resolved before anything else
//! ([`resolve_pending`]): if the HSM has a key under the recorded locator it is adopted,
//! otherwise the intent is recorded as abandoned. A key is never made twice for one
//! intent, and no key the HSM holds is forgotten by the log.
//!
//! Concurrency: a generation has the journal to itself from its intent to its last
//! outcome ([`Journal::exclusively_once_it_records`]), and resolving reads the open
//! intents and acts on them with the journal to itself ([`Journal::exclusively`]), so an
//! intent another daemonless process recorded and is carrying out is never taken for an
//! interrupted one: a process resolves only intents no live generation holds.

use super::ports::{Journal, LogLevel, PendingKey, World};
use crate::decide::Command;
use crate::decide::keys::KeyCommand;
use crate::scheduler::key_factory::KeyNeed;
use crate::state::State;
use kasp_events::{Actor, KeySpec, Locator};
use std::sync::Arc;

/// Resolves generations left without an outcome by an interrupted run, with the journal
/// to itself; the state after the outcomes were recorded (`None` when nothing was
/// resolved).
pub fn resolve_pending<J: Journal, W: World<Error = J::Error>>(
    journal: &mut J,
    world: &mut W,
    actor: &Actor,
) -> Result<Option<Arc<State>>, J::Error> {
    if journal.state()?.pool.pending.is_empty() {
        return Ok(None);
    }
    journal.exclusively(|journal| {
        let state = journal.state()?;
        resolve_pending_held(journal, world, &state, actor)
    })
}

/// [`resolve_pending`] where the journal is held and `state` is its current state.
fn resolve_pending_held<J: Journal, W: World<Error = J::Error>>(
    journal: &mut J,
    world: &mut W,
    state: &State,
    actor: &Actor,
) -> Result<Option<Arc<State>>, J::Error> {
    let mut latest = None;
    let pending: Vec<(Locator, KeySpec)> = state
        .pool
        .pending
        .values()
        .map(|p| (p.locator, p.spec.clone()))
        .collect();
    for (locator, spec) in pending {
        let command = match world.find_pending(&spec, &locator)? {
            PendingKey::Unknown => continue,
            PendingKey::Present { public_key } => {
                world.warn(&format!(
                    "Adopted key {locator} from an interrupted generation ({} for policy {})\n",
                    spec.role.as_str(),
                    spec.policy
                ));
                KeyCommand::Generated {
                    locator,
                    public_key,
                    require_backup: world.requires_backup(&spec.repository),
                    adopted: true,
                }
            }
            PendingKey::Incomplete => {
                world.warn(&format!(
                    "Key {locator} of an interrupted generation is incomplete in \
                     repository {} (no public key); destroyed and recorded as abandoned\n",
                    spec.repository
                ));
                KeyCommand::Abandon {
                    locator,
                    reason: "incomplete in the HSM after an interrupted generation \
                             (no public key); destroyed"
                        .to_string(),
                }
            }
            PendingKey::Absent => {
                world.warn(&format!(
                    "Key {locator} of an interrupted generation is not in repository {}; \
                     recorded as abandoned\n",
                    spec.repository
                ));
                KeyCommand::Abandon {
                    locator,
                    reason: "not found in the HSM after an interrupted generation".to_string(),
                }
            }
        };
        latest = Some(journal.record(actor, &Command::Keys(command))?.state);
    }
    Ok(latest)
}

/// Generates the keys `plan` finds missing, with the journal to itself from the first
/// intent to the last outcome. Generations an interrupted run left without an outcome are
/// resolved first and the plan is made on the state after them, so that keys adopted
/// from those generations count. Returns how many keys were made; the first failure
/// ends the generation (the outcomes so far recorded).
pub fn generate_keys<J: Journal, W: World<Error = J::Error>>(
    journal: &mut J,
    world: &mut W,
    plan: impl FnOnce(&State) -> Vec<KeyNeed>,
    actor: &Actor,
) -> Result<usize, J::Error> {
    journal.exclusively_once_it_records(|journal| generate_keys_held(journal, world, plan, actor))
}

/// [`generate_keys`] inside its hold.
fn generate_keys_held<J: Journal, W: World<Error = J::Error>>(
    journal: &mut J,
    world: &mut W,
    plan: impl FnOnce(&State) -> Vec<KeyNeed>,
    actor: &Actor,
) -> Result<usize, J::Error> {
    let state = match resolve_pending(journal, world, actor)? {
        Some(resolved) => resolved,
        None => journal.state()?,
    };
    let needs = plan(&state);
    drop(state);
    let mut made = 0;
    for need in needs.iter().filter(|n| n.missing() > 0) {
        let spec = &need.spec;
        let current = journal.state()?;
        let locators = world.new_locators(&current, spec, need.missing())?;
        drop(current);
        // OpenDNSSEC's key factory logs these (hsm_key_factory.c, ods_log_info); the
        // command's own output stays as OpenDNSSEC's, so scripts that read it see no
        // new lines.
        world.log(
            LogLevel::Info,
            &format!("{} zone(s) found on policy \"{}\"", need.zones, spec.policy),
        );
        world.log(
            LogLevel::Info,
            &format!(
                "[hsm_key_factory_generate] {} keys needed for {} zones covering {} seconds, \
                 generating {} keys for policy {}",
                need.target,
                need.zones,
                need.duration.as_i64(),
                need.missing(),
                spec.policy
            ),
        );
        world.log(
            LogLevel::Info,
            &format!(
                "{} new {}(s) ({} bits) need to be created.",
                locators.len(),
                spec.role.as_str(),
                spec.bits,
            ),
        );
        // All intents of this need in one transaction, then one outcome per key.
        let keys: Vec<(Locator, KeySpec)> = locators.iter().map(|l| (*l, spec.clone())).collect();
        journal.record(actor, &Command::Keys(KeyCommand::StartGeneration { keys }))?;
        let require_backup = world.requires_backup(&spec.repository);
        // The outcomes of the batch are recorded together, after the HSM calls: a run
        // that dies in between leaves intents that the next run adopts or abandons.
        let mut outcomes = Vec::with_capacity(locators.len());
        let mut failure = None;
        for (i, locator) in locators.iter().enumerate() {
            match world.generate_key(spec, locator) {
                Ok(public_key) => {
                    outcomes.push(KeyCommand::Generated {
                        locator: *locator,
                        public_key,
                        require_backup,
                        adopted: false,
                    });
                    if locators.len() >= 10 && (i + 1) % 10 == 0 {
                        world.log(
                            LogLevel::Verbose,
                            &format!(
                                "{}/{} {}(s) for policy {} generated in repository {}",
                                i + 1,
                                locators.len(),
                                spec.role.as_str(),
                                spec.policy,
                                spec.repository
                            ),
                        );
                    }
                }
                Err(e) => {
                    // A call that timed out may still have made the key: its intent stays
                    // open and is resolved (adopted or abandoned) by the next run. Keys
                    // never asked for are abandoned now.
                    let asked = if e.maybe_made { i + 1 } else { i };
                    for rest in &locators[asked..] {
                        let reason = if rest == locator {
                            e.reason.clone()
                        } else {
                            format!("not attempted after an earlier failure: {}", e.reason)
                        };
                        outcomes.push(KeyCommand::Abandon {
                            locator: *rest,
                            reason,
                        });
                    }
                    failure = Some(e.error);
                    break;
                }
            }
        }
        made += outcomes
            .iter()
            .filter(|o| matches!(o, KeyCommand::Generated { .. }))
            .count();
        journal.record(actor, &Command::Keys(KeyCommand::Batch(outcomes)))?;
        if let Some(e) = failure {
            return Err(e);
        }
    }
    Ok(made)
}
