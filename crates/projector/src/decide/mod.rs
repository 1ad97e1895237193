//! `decide`: what a command means against the current views.
//!
//! It returns the events to append and, per item, what happened (for the shell to
//! print in OpenDNSSEC's words), or a rejection carrying OpenDNSSEC's error text.
//! A command that changes nothing returns no events, so nothing is appended.

pub mod audit;
pub mod ds;
pub mod enforcer;
pub mod keys;

use crate::decide::keys::{KeyCommand, decide_keys};
use crate::state::State;
use kasp_events::{
    Event, Policy, PolicyCreated, PolicyDeleted, PolicyName, PolicyUpdated, RepositoryInfo,
    Timestamp, ZoneAdded, ZoneConfig, ZoneDeleted, ZoneName, ZonePolicyChanged, ZoneTaskLeft,
    ZoneUpdated,
};
use std::collections::BTreeSet;

/// An operator command, already parsed and with its files read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `policy import [-r]`, with the policies of kasp.xml in file order.
    ImportPolicies {
        policies: Vec<Policy>,
        remove_missing: bool,
    },
    /// `policy purge`.
    PurgePolicies,
    /// `zone add`.
    AddZone { zone: ZoneConfig, suspended: bool },
    /// `zone delete --zone`.
    DeleteZone { zone: ZoneName },
    /// `zone delete --all`.
    DeleteAllZones,
    /// `zone set-policy`.
    SetZonePolicy { zone: ZoneName, policy: PolicyName },
    /// `zonelist import [-r]`, with the zones of zonelist.xml in file order.
    ImportZonelist {
        zones: Vec<ZoneConfig>,
        remove_missing: bool,
    },
    /// `update all`: policy import then zonelist import, nothing removed, one decision.
    UpdateAll {
        policies: Vec<Policy>,
        zones: Vec<ZoneConfig>,
        /// The repositories of conf.xml (recorded when they changed).
        repositories: Vec<RepositoryInfo>,
    },
    /// Key material: generation, backup, repositories (see `decide_keys`).
    Keys(KeyCommand),
    /// New NSEC3 salts the shell drew for the policies `resalt::due_for_salt` named.
    Resalt { salts: Vec<(PolicyName, String)> },
    /// Enforcer commands and the scheduler (see `decide::enforcer`).
    Enforcer(crate::decide::enforcer::EnforcerCommand),
    /// Audit keys and signed checkpoints (see `audit`).
    Audit(crate::decide::audit::AuditCommand),
    /// `key ds-submit|ds-seen|ds-retract|ds-gone`, with the outcomes of the hooks it
    /// needed (see `decide_ds`).
    Ds(crate::enforcer::ds::DsCommand, crate::decide::ds::DsRequest),
}

/// What happened to one item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    PolicyCreated(PolicyName),
    PolicyUpdated(PolicyName),
    PolicyUpToDate(PolicyName),
    PolicyDeleted(PolicyName),
    /// `policy purge` removed a policy without zones.
    PolicyPurged(PolicyName),
    /// A policy could not be deleted because zones use it.
    PolicyInUse(PolicyName),
    /// A policy no zone uses could not be deleted because key material of it is still
    /// held (the pool's unused keys, keys released but not yet destroyed).
    PolicyHasKeys(PolicyName),
    ZoneAdded(ZoneConfig),
    ZoneCreated(ZoneConfig),
    ZoneUpdated(ZoneName),
    ZoneUpToDate(ZoneName),
    ZoneDeleted(ZoneConfig),
    ZonePolicySet {
        zone: ZoneName,
        policy: PolicyName,
    },
    /// `zone set-policy` with the policy the zone already has.
    ZonePolicyUnchanged,
    /// A zonelist entry names a policy that does not exist.
    ZoneUnknownPolicy {
        zone: ZoneName,
        policy: PolicyName,
    },
    /// `backup prepare|commit|rollback` changed this many keys.
    BackupChanged(usize),
    /// Repositories recorded (or already as recorded).
    RepositoriesRecorded {
        changed: bool,
    },
    /// The scheduler's runs scheduled this key generation. With one worker thread it
    /// is the one scheduled last, which replaces any waiting one (the shell carries it
    /// out before the zones that wait for it run); with more, one outcome per
    /// generation scheduled, in order, all to be carried out after the round
    /// ([`crate::scheduler::plan::PlanConf::generations_run_at_once`]).
    KeyGenerationScheduled(crate::scheduler::key_factory::KeyGenTask),
    /// The scheduler's round stopped before a task due now that sorts after the zones
    /// it ran (a policy's resalt, [`crate::scheduler::round`]): carry out the round's effects,
    /// then run what is due again at the same time.
    MoreDueNow,
    /// The scheduler's round covered the queue up to this owner name: zones sorting
    /// after it write their signconf in a later round ([`crate::scheduler::round::Round`]).
    SignconfUntil(String),
    /// `key purge`'s text.
    Purged {
        stdout: String,
    },
    /// A DS command's text and what it asks for after it was recorded.
    Ds(crate::decide::ds::DsReport),
}

impl Outcome {
    /// Whether this item failed (the command then exits non-zero).
    pub fn is_error(&self) -> bool {
        matches!(
            self,
            Outcome::PolicyInUse(_) | Outcome::PolicyHasKeys(_) | Outcome::ZoneUnknownPolicy { .. }
        )
    }
}

/// The result of a command that was accepted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Decision {
    pub events: Vec<Event>,
    pub outcomes: Vec<Outcome>,
}

/// A command refused as a whole; nothing is appended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// OpenDNSSEC's error text (stderr).
    pub message: String,
    /// `true` when OpenDNSSEC treats it as a syntax error (usage block, exit 255).
    pub usage: bool,
}

impl Rejection {
    pub(crate) fn refused(message: impl Into<String>) -> Self {
        Rejection {
            message: message.into(),
            usage: false,
        }
    }
}

/// Decides a command against the state at `now`.
pub fn decide(state: &State, command: &Command, now: Timestamp) -> Result<Decision, Rejection> {
    match command {
        Command::ImportPolicies {
            policies,
            remove_missing,
        } => Ok(import_policies(state, policies, *remove_missing)),
        Command::PurgePolicies => Ok(purge_policies(state)),
        Command::AddZone { zone, suspended } => add_zone(state, zone, *suspended),
        Command::DeleteZone { zone } => match state.zone(zone) {
            Some(z) => Ok(Decision {
                events: vec![
                    ZoneDeleted {
                        zone: z.config.name.clone(),
                    }
                    .into(),
                ],
                outcomes: vec![Outcome::ZoneDeleted(z.config.clone())],
            }),
            None => Err(Rejection::refused(format!(
                "Unable to delete zone, zone {zone} not found!"
            ))),
        },
        Command::DeleteAllZones => {
            let mut d = Decision::default();
            for z in state.zones_in_order() {
                d.events.push(
                    ZoneDeleted {
                        zone: z.config.name.clone(),
                    }
                    .into(),
                );
                d.outcomes.push(Outcome::ZoneDeleted(z.config.clone()));
            }
            Ok(d)
        }
        Command::SetZonePolicy { zone, policy } => set_policy(state, zone, policy),
        Command::ImportZonelist {
            zones,
            remove_missing,
        } => Ok(import_zonelist(state, zones, *remove_missing, now)),
        Command::UpdateAll {
            policies,
            zones,
            repositories,
        } => {
            let mut d = import_policies(state, policies, false);
            let mut ahead = state.clone();
            for e in &d.events {
                ahead.apply_event(e, now);
            }
            let z = import_zonelist(&ahead, zones, false, now);
            d.events.extend(z.events);
            d.outcomes.extend(z.outcomes);
            let r = decide_keys(
                state,
                &KeyCommand::ConfigureRepositories {
                    repositories: repositories.clone(),
                },
            )?;
            d.events.extend(r.events);
            Ok(d)
        }
        Command::Keys(k) => decide_keys(state, k),
        Command::Resalt { salts } => crate::scheduler::resalt::decide_resalt(state, salts),
        Command::Ds(command, request) => {
            crate::decide::ds::decide_ds(state, *command, request, now)
        }
        Command::Enforcer(c) => crate::decide::enforcer::decide_enforcer(state, c, now),
        Command::Audit(c) => crate::decide::audit::decide_audit(state, c),
    }
}

fn import_policies(state: &State, policies: &[Policy], remove_missing: bool) -> Decision {
    let mut d = Decision::default();
    for p in policies {
        match state.policies.get(&p.name) {
            None => {
                d.events.push(PolicyCreated { policy: p.clone() }.into());
                d.outcomes.push(Outcome::PolicyCreated(p.name.clone()));
            }
            Some(v) if v.policy != *p => {
                let p = with_stored_key_order(&v.policy, p);
                if v.policy == p {
                    d.outcomes.push(Outcome::PolicyUpToDate(p.name.clone()));
                    continue;
                }
                d.outcomes.push(Outcome::PolicyUpdated(p.name.clone()));
                d.events.push(PolicyUpdated { policy: p }.into());
            }
            Some(_) => d.outcomes.push(Outcome::PolicyUpToDate(p.name.clone())),
        }
    }
    if remove_missing {
        let keep: BTreeSet<&PolicyName> = policies.iter().map(|p| &p.name).collect();
        for v in state.policies_in_order() {
            let name = &v.policy.name;
            if keep.contains(name) {
                continue;
            }
            // policy/policy_import.c: zones first, then hsm keys of the policy.
            if state.zones_using(name) > 0 {
                d.outcomes.push(Outcome::PolicyInUse(name.clone()));
            } else if state.pool.keys_of(name) > 0 {
                d.outcomes.push(Outcome::PolicyHasKeys(name.clone()));
            } else {
                d.events.push(PolicyDeleted { name: name.clone() }.into());
                d.outcomes.push(Outcome::PolicyDeleted(name.clone()));
            }
        }
    }
    d
}

/// `new` with its keys in the order OpenDNSSEC's policy import leaves its policy keys
/// in the database (2.1.12 `policy_import.c`), the order in which its enforcer creates a
/// zone's keys and `key list` shows them: the stored keys that are still in the file keep
/// their place (a key matches when every attribute is equal, `policy_key_cmp`), and the
/// file's other keys follow in reverse file order (the import collects them by
/// prepending, then creates the unmatched ones). A file that only reorders keys
/// changes nothing.
pub fn with_stored_key_order(stored: &Policy, new: &Policy) -> Policy {
    let mut unmatched: Vec<Option<&kasp_events::PolicyKey>> =
        new.keys.keys.iter().map(Some).collect();
    let mut keys = Vec::with_capacity(new.keys.keys.len());
    for old in &stored.keys.keys {
        if let Some(slot) = unmatched.iter_mut().find(|k| k.is_some_and(|k| k == old)) {
            keys.push(old.clone());
            *slot = None;
        }
    }
    keys.extend(unmatched.into_iter().rev().flatten().cloned());
    let mut p = new.clone();
    p.keys.keys = keys;
    p
}

fn purge_policies(state: &State) -> Decision {
    let mut d = Decision::default();
    for v in state.policies_in_order() {
        let name = &v.policy.name;
        if state.zones_using(name) == 0 {
            d.events.push(PolicyDeleted { name: name.clone() }.into());
            d.outcomes.push(Outcome::PolicyPurged(name.clone()));
        }
    }
    d
}

/// Whether a zone of this name can be added with this policy. `zone add` asks before
/// it prints anything (OpenDNSSEC reports these errors first); `decide` asks again.
pub fn can_add_zone(state: &State, name: &ZoneName, policy: &PolicyName) -> Result<(), Rejection> {
    if state.zone(name).is_some() {
        return Err(Rejection::refused(
            "Unable to add zone, zone already exists!",
        ));
    }
    if !state.policies.contains_key(policy) {
        return Err(Rejection::refused(format!(
            "Unable to find policy {policy} needed for adding the zone!"
        )));
    }
    Ok(())
}

fn add_zone(state: &State, zone: &ZoneConfig, suspended: bool) -> Result<Decision, Rejection> {
    can_add_zone(state, &zone.name, &zone.policy)?;
    Ok(Decision {
        events: vec![
            ZoneAdded {
                zone: zone.clone(),
                suspended,
            }
            .into(),
        ],
        outcomes: vec![Outcome::ZoneAdded(zone.clone())],
    })
}

fn set_policy(state: &State, zone: &ZoneName, policy: &PolicyName) -> Result<Decision, Rejection> {
    let Some(z) = state.zone(zone) else {
        return Err(Rejection::refused(
            "Unable to update zone, zone does not exist!",
        ));
    };
    if !state.policies.contains_key(policy) {
        return Err(Rejection::refused(
            "Unable to update zone, policy does not exist!",
        ));
    }
    if &z.config.policy == policy {
        return Ok(Decision {
            events: vec![],
            outcomes: vec![Outcome::ZonePolicyUnchanged],
        });
    }
    Ok(Decision {
        events: vec![
            ZonePolicyChanged {
                zone: z.config.name.clone(),
                from: z.config.policy.clone(),
                to: policy.clone(),
            }
            .into(),
        ],
        outcomes: vec![Outcome::ZonePolicySet {
            zone: z.config.name.clone(),
            policy: policy.clone(),
        }],
    })
}

fn import_zonelist(
    state: &State,
    zones: &[ZoneConfig],
    remove_missing: bool,
    now: Timestamp,
) -> Decision {
    let mut d = Decision::default();
    for z in zones {
        if !state.policies.contains_key(&z.policy) {
            d.outcomes.push(Outcome::ZoneUnknownPolicy {
                zone: z.name.clone(),
                policy: z.policy.clone(),
            });
            continue;
        }
        match state.zone(&z.name) {
            None => {
                d.events.push(
                    ZoneAdded {
                        zone: z.clone(),
                        suspended: false,
                    }
                    .into(),
                );
                d.outcomes.push(Outcome::ZoneCreated(z.clone()));
            }
            Some(existing) => {
                // The stored name keeps the spelling it was added with.
                let mut updated = z.clone();
                updated.name = existing.config.name.clone();
                if existing.config != updated {
                    d.events.push(ZoneUpdated { zone: updated }.into());
                    d.outcomes
                        .push(Outcome::ZoneUpdated(existing.config.name.clone()));
                } else {
                    d.outcomes
                        .push(Outcome::ZoneUpToDate(existing.config.name.clone()));
                }
            }
        }
    }
    if remove_missing {
        let keep: BTreeSet<String> = zones.iter().map(|z| z.name.key()).collect();
        for z in state.zones_in_order() {
            if !keep.contains(&z.config.name.key()) {
                d.events.push(
                    ZoneDeleted {
                        zone: z.config.name.clone(),
                    }
                    .into(),
                );
                // 2.1.12 deletes the zone without unscheduling its enforce task
                // (kasp_events::ZoneTaskLeft); one due by now runs with this import.
                if let Some(due) = z.due.filter(|due| *due > now) {
                    d.events.push(
                        ZoneTaskLeft {
                            zone: z.config.name.clone(),
                            due,
                        }
                        .into(),
                    );
                }
                d.outcomes.push(Outcome::ZoneDeleted(z.config.clone()));
            }
        }
    }
    d
}

#[cfg(test)]
mod key_order_tests {
    use super::*;
    use crate::testgen::policy;
    use kasp_events::KeyRole;

    fn roles(p: &Policy) -> Vec<(KeyRole, u8)> {
        p.keys.keys.iter().map(|k| (k.role, k.algorithm)).collect()
    }

    #[test]
    fn changed_keys_follow_the_kept_ones_in_reverse_file_order() {
        let stored = policy("default");
        assert_eq!(roles(&stored)[0].0, KeyRole::Ksk);
        let mut new = stored.clone();
        for k in new.keys.keys.iter_mut() {
            k.algorithm = 15;
        }
        let ordered = with_stored_key_order(&stored, &new);
        assert_eq!(
            roles(&ordered),
            vec![(KeyRole::Zsk, 15), (KeyRole::Ksk, 15)]
        );
        // Only the KSK changes: the ZSK keeps its place, the new KSK comes after it.
        let mut ksk_only = stored.clone();
        ksk_only.keys.keys[0].algorithm = 13;
        let ordered = with_stored_key_order(&stored, &ksk_only);
        assert_eq!(roles(&ordered)[0].0, KeyRole::Zsk);
        assert_eq!(roles(&ordered)[1], (KeyRole::Ksk, 13));
    }

    #[test]
    fn a_file_that_only_reorders_keys_changes_nothing() {
        let stored = policy("default");
        let mut new = stored.clone();
        new.keys.keys.reverse();
        assert_eq!(with_stored_key_order(&stored, &new), stored);
    }
}
