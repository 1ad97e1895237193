//! Decisions of the enforcer commands and of the scheduler: run what is due
//! ([`crate::scheduler::plan`] plus due NSEC3 salts), flush zones (`enforce`), request
//! rollovers (`key rollover`), move a simulated clock (`time leap`), and record the
//! outcome of side effects the shell carried out (signconf written, key material
//! destroyed, DS hooks). Pure.

use crate::decide::{Decision, Outcome, Rejection};
use crate::scheduler::plan::PlanConf;
use crate::scheduler::round::decide_round;
use crate::state::State;
use kasp_events::{
    ClockAdvanced, EnforceRequested, Event, KeyRole, PolicyName, RolloverRequested,
    SignconfRequested, Timestamp, ZoneName,
};

/// Why the clock of a production log cannot be moved.
pub const NO_LEAPS: &str = "time leap is only available on a log with a simulated clock \
                            (ods-enforcer setup --simulated-time) or one set up for testing \
                            (ods-enforcer setup --testing); this log follows the system clock";

/// What the enforcer is asked to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EnforcerCommand {
    /// Run what is due at `now`: a new salt for every NSEC3 policy whose resalt time
    /// has come (`salts` holds random salts the shell drew for every NSEC3 policy;
    /// only the due ones are used) and the enforcer runs of the due zones, in 2.1.12's
    /// task order ([`crate::scheduler::round`]; `Outcome::MoreDueNow` when the round stopped
    /// before a resalt).
    RunDue {
        salts: Vec<(PolicyName, String)>,
        conf: PlanConf,
        /// `None` when key generation is manual; else whether a key generation waits
        /// in the queue (see [`crate::scheduler::plan::plan_runs_queued`]). The outcome
        /// names each generation to carry out, in order (`KeyGenerationScheduled`).
        keygen: Option<bool>,
    },
    /// `enforce [--zone Z]` and the commands that flush zones: run them at once.
    Flush { zones: Option<Vec<ZoneName>> },
    /// `signconf`: the signconf of `zones` (all when `None`) must be written again.
    RequestSignconf { zones: Option<Vec<ZoneName>> },
    /// `key rollover`: set the roll flags of `roles` on each zone.
    Rollover {
        zones: Vec<ZoneName>,
        roles: Vec<KeyRole>,
    },
    /// `time leap`: move the simulated clock to `to`.
    Leap { to: Timestamp },
    /// The daemon starts: a log set up for testing forgets the time it leapt to and
    /// follows the system clock again (`kasp_events::ClockReleased`); nothing for
    /// another log, or one that has not leapt.
    ReleaseClock,
    /// What the world reports of effects it carried out (events recorded after their
    /// I/O), each checked against the state ([`crate::scheduler::decide_observed`]).
    Observed(Vec<crate::scheduler::Observed>),
    /// `key purge (--zone Z | --policy P)`: forget the dead keys of `zones` now (`policy`
    /// when the command named one), releasing the material no other key uses.
    Purge {
        zones: Vec<ZoneName>,
        policy: Option<PolicyName>,
    },
    /// `key import`, after the shell found the key in the HSM: the decision gives the
    /// key its id on the state it is appended to, and refuses material a zone or the
    /// pool already uses (a concurrent command may have taken it since).
    Import(Box<kasp_events::KeyImported>),
}

/// Decides an [`EnforcerCommand`] at `now`.
pub fn decide_enforcer(
    state: &State,
    command: &EnforcerCommand,
    now: Timestamp,
) -> Result<Decision, Rejection> {
    let mut d = Decision::default();
    match command {
        EnforcerCommand::RunDue {
            salts,
            conf,
            keygen,
        } => {
            let round = decide_round(state, now, salts, *conf, *keygen)?;
            d.events = round.events;
            d.outcomes.extend(
                round
                    .scheduled
                    .into_iter()
                    .map(Outcome::KeyGenerationScheduled),
            );
            if round.more {
                d.outcomes.push(Outcome::MoreDueNow);
            }
            d.outcomes
                .extend(round.signconf_until.map(Outcome::SignconfUntil));
        }
        EnforcerCommand::Flush { zones } => {
            let any = match zones {
                None => !state.zones.is_empty(),
                Some(z) => !z.is_empty(),
            };
            if any {
                d.events.push(
                    EnforceRequested {
                        zones: zones.clone(),
                    }
                    .into(),
                );
            }
        }
        EnforcerCommand::RequestSignconf { zones } => {
            let any = match zones {
                None => !state.zones.is_empty(),
                Some(z) => !z.is_empty(),
            };
            if any {
                d.events.push(
                    SignconfRequested {
                        zones: zones.clone(),
                    }
                    .into(),
                );
            }
        }
        EnforcerCommand::Rollover { zones, roles } => {
            for zone in zones {
                d.events.push(
                    RolloverRequested {
                        zone: zone.clone(),
                        roles: roles.clone(),
                    }
                    .into(),
                );
            }
        }
        EnforcerCommand::Leap { to } => {
            if !state.leaps_allowed() {
                return Err(Rejection::refused(crate::decide::enforcer::NO_LEAPS));
            }
            if *to > now {
                d.events.push(ClockAdvanced { from: now, to: *to }.into());
            } else if !state.clock_stopped() {
                // A testing log's first leap stops its clock, even where it stands.
                d.events.push(ClockAdvanced { from: now, to: now }.into());
            }
        }
        EnforcerCommand::ReleaseClock => {
            if state.clock == Some(kasp_events::ClockMode::Testing)
                && let Some(leapt) = state.clock_now
            {
                d.events.push(kasp_events::ClockReleased { leapt }.into());
            }
        }
        EnforcerCommand::Observed(observed) => {
            d.events = crate::scheduler::decide_observed(state, now, observed)?;
        }
        EnforcerCommand::Purge { zones, policy } => {
            let (events, stdout) = decide_purge(state, zones, policy.as_ref());
            d.events = events;
            d.outcomes.push(Outcome::Purged { stdout });
        }
        EnforcerCommand::Import(import) => {
            if state.zone(&import.zone).is_none() {
                return Err(Rejection::refused(format!("Unknown zone: {}", import.zone)));
            }
            let used = state.pool.keys.contains_key(&import.locator)
                || state.pool.pending.contains_key(&import.locator);
            if used {
                return Err(Rejection::refused(format!(
                    "Already used this key with this locator: {}",
                    import.locator
                )));
            }
            let mut import = (**import).clone();
            import.key = state.next_key_id();
            d.events.push(import.into());
        }
    }
    Ok(d)
}

/// `key purge`: the `KeysPurged` event of each zone with dead keys, and OpenDNSSEC
/// 2.1.12's text (`deleting key: <locator>` per key, `No keys to purge for <zone> `).
/// Material whose every key is purged here is released.
fn decide_purge(
    state: &State,
    zones: &[ZoneName],
    policy: Option<&PolicyName>,
) -> (Vec<Event>, String) {
    let mut events = Vec::new();
    let mut stdout = String::new();
    let mut refs: std::collections::BTreeMap<kasp_events::Locator, u32> = Default::default();
    for name in zones {
        let Some(z) = state.zone(name) else { continue };
        let mut keys = Vec::new();
        let mut released = Vec::new();
        for k in z
            .model
            .keys
            .iter()
            .filter(|k| crate::enforcer::purge::is_dead(k))
        {
            let material = k.hsm.and_then(|h| state.pool.by_id(h.0));
            let locator = material.map(|m| m.locator.to_string());
            stdout.push_str(&format!(
                "deleting key: {}\n",
                locator.unwrap_or_else(|| "(null)".into())
            ));
            keys.push(k.id);
            if let Some(m) = material {
                let left = refs.entry(m.locator).or_insert(m.refs);
                *left = left.saturating_sub(1);
                if *left == 0 {
                    released.push(m.locator);
                }
            }
        }
        if keys.is_empty() {
            stdout.push_str(&format!("No keys to purge for {name} \n"));
            continue;
        }
        events.push(
            kasp_events::KeysPurged {
                zone: name.clone(),
                keys,
                released,
                policy: policy.cloned(),
                // OpenDNSSEC's key purge leaves the signconf alone (see the field).
                signconf_needed: false,
            }
            .into(),
        );
    }
    (events, stdout)
}

#[cfg(test)]
mod tests {
    use super::*;
    use kasp_events::{ClockMode, ClockReleased, InstanceId, LogCreated};

    fn log(clock: ClockMode) -> State {
        let mut state = State::default();
        let created: Event = LogCreated {
            format: 1,
            instance: InstanceId([0; 16]),
            clock,
        }
        .into();
        state.apply_event(&created, Timestamp(100));
        state
    }

    fn decide(state: &State, command: EnforcerCommand, now: Timestamp) -> Vec<Event> {
        decide_enforcer(state, &command, now)
            .expect("accepted")
            .events
    }

    /// `time leap --time to` decided and applied at `now`.
    fn leap(state: &mut State, to: i64, now: Timestamp) {
        let to = Timestamp(to);
        for e in decide(state, EnforcerCommand::Leap { to }, now) {
            state.apply_event(&e, now);
        }
    }

    /// A testing log forgets its leap at a daemon start (as 2.1.12's clock, which lives in
    /// memory) and follows the system clock again, even back; other logs keep their time.
    #[test]
    fn a_testing_log_forgets_its_leap_at_start() {
        let mut state = log(ClockMode::Testing);
        assert!(decide(&state, EnforcerCommand::ReleaseClock, Timestamp(200)).is_empty());
        leap(&mut state, 5000, Timestamp(200));
        assert_eq!(state.now(Timestamp(300)), Timestamp(5000));
        let released = decide(&state, EnforcerCommand::ReleaseClock, Timestamp(5000));
        assert_eq!(
            released,
            vec![Event::from(ClockReleased {
                leapt: Timestamp(5000)
            })]
        );
        state.apply_event(&released[0], Timestamp(5000));
        assert_eq!(state.now(Timestamp(300)), Timestamp(300));
        assert!(!state.clock_stopped());

        let mut simulated = log(ClockMode::Simulated {
            start: Timestamp(100),
        });
        leap(&mut simulated, 5000, Timestamp(100));
        assert!(decide(&simulated, EnforcerCommand::ReleaseClock, Timestamp(5000)).is_empty());
        assert!(
            decide(
                &log(ClockMode::System),
                EnforcerCommand::ReleaseClock,
                Timestamp(1)
            )
            .is_empty()
        );
    }
}
