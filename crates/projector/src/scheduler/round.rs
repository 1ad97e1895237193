//! One scheduler round at `now` (`EnforcerCommand::RunDue`): the NSEC3 resalts and the
//! zone runs that are due, in the order of OpenDNSSEC 2.1.12's task queue.
//!
//! 2.1.12's queue orders tasks due at the same second by owner name, then task type
//! (common/scheduler/task.c `task_compare_time_then_ttuple`). A policy's resalt task is
//! owned by the policy's name, so it runs among the zones' enforce tasks in name order:
//! with policy `p0` and zones `a.example` and `z.example` due at the same second, the
//! order is a.example, p0, z.example. The resalt (policy/policy_resalt_task.c
//! `performresalt`) stores the new salt and schedules a signconf task for every zone of
//! the policy (`signconf_task_flush_policy`), which always writes the file and notifies
//! the signer (signconf/signconf_task.c). So a zone that sorts before the policy and
//! runs at that second writes its signconf (old salt) and gets its DS tasks before the
//! resalt, then its signconf once more with the new salt; a zone after it writes once.
//!
//! The shell carries out effects (signconf, DS hooks, key material) after each round,
//! so a round stops before a due resalt when zones sorting before it changed something
//! ([`Round::more`]): the shell carries out their effects and runs again at the same
//! time, now starting with the resalt. A zone's signconf task sorts at the zone's name
//! too: the signconf of a zone after the point where the round stopped (a resalt, a key
//! generation) is written in the round that runs it ([`Round::signconf_until`]). Every resalt due at `now` is taken as due now (a
//! leap lands on its time; at start-up 2.1.12 schedules every resalt at now,
//! enforcer/autostart_cmd.c), so a zone due earlier than now runs before it. With one
//! worker thread, a key generation waiting in the queue (owner [`KEYGEN_OWNER`]) runs
//! before the zones that sort after it (see [`crate::scheduler::plan::plan_runs_queued`]);
//! a resalt sorting after such a zone waits for them. With more, no generation waits in
//! the queue ([`PlanConf::generations_run_at_once`]). Pure.

use crate::decide::Rejection;
use crate::scheduler::key_factory::{KEYGEN_OWNER, KeyGenTask};
use crate::scheduler::plan::{PlanConf, after_owner, due_zones, plan_queued};
use crate::scheduler::resalt::{decide_resalt, due_for_salt};
use crate::state::State;
use kasp_events::{Event, PolicyName, Timestamp};

/// What one round decides.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Round {
    /// New salts first, then the zone runs.
    pub events: Vec<Event>,
    /// The key generations to carry out, in order: with one worker thread the one the
    /// runs scheduled last, if any; with more, every one they scheduled
    /// ([`crate::scheduler::plan::plan_runs_queued`]).
    pub scheduled: Vec<KeyGenTask>,
    /// Tasks due now were left for the next round (a resalt and the zones sorting after
    /// it): carry out this round's effects, then run again at the same time.
    pub more: bool,
    /// The resalt the round stopped before ([`Round::more`]): a zone whose name sorts
    /// after it writes its signconf in a later round, after its own run, as 2.1.12 runs a
    /// zone's signconf task (type "signconf") after its enforce task and merges the two
    /// requests into one write. (A waiting key generation stops the round the same way;
    /// the shell knows it: `waits_for_key_generation`.)
    pub signconf_until: Option<String>,
}

impl Round {
    /// Sets [`Round::signconf_until`]: the round ends before the resalt `resalt` when
    /// [`Round::more`].
    fn ended(mut self, resalt: Option<&str>) -> Round {
        self.signconf_until = resalt.filter(|_| self.more).map(str::to_string);
        self
    }
}

/// Decides the round at `now`. `salts`: random salts the shell drew for every NSEC3
/// policy (only the due ones are used); `keygen` as in
/// [`crate::scheduler::plan::plan_queued`].
pub fn decide_round(
    state: &State,
    now: Timestamp,
    salts: &[(PolicyName, String)],
    conf: PlanConf,
    keygen: Option<bool>,
) -> Result<Round, Rejection> {
    // In policy order, the order the round records the new salts in (not seen).
    let due: Vec<(PolicyName, String)> = due_for_salt(state, now, false)
        .into_iter()
        .filter_map(|(p, _)| salts.iter().find(|(n, _)| *n == p).cloned())
        .collect();
    let mut by_name: Vec<&str> = due.iter().map(|(p, _)| p.as_str()).collect();
    by_name.sort_unstable();
    let Some(first) = by_name.first().copied() else {
        let (events, scheduled) = plan_queued(state, now, conf, keygen, None);
        return Ok(Round {
            events,
            scheduled,
            ..Round::default()
        }
        .ended(None));
    };
    // The zones that sort before the first resalt run first; their effects come before
    // it. A round that changes nothing needs no effects: the resalt follows at once.
    let (events, scheduled) = plan_queued(state, now, conf, keygen, Some(first));
    if !events.is_empty() {
        return Ok(Round {
            events,
            scheduled,
            more: true,
            signconf_until: None,
        }
        .ended(Some(first)));
    }
    let zones = due_zones(state, now);
    // A waiting key generation runs before the zones after its owner: when it sorts
    // before the resalt too, the resalt waits with them while one is due (the shell runs
    // again after the generation). Without such a zone the order of the two is not seen.
    let waits_for_generation = keygen == Some(true)
        && !conf.generations_run_at_once()
        && first > KEYGEN_OWNER
        && zones.iter().any(|z| after_owner(z, now, KEYGEN_OWNER));
    if waits_for_generation {
        return Ok(Round {
            events,
            scheduled,
            ..Round::default()
        }
        .ended(None));
    }
    // The resalts up to the first due zone sorting after them (a zone named like the
    // policy runs first: "enforce" < "resalt"), then the zones up to the next resalt.
    let first_zone_after = zones
        .iter()
        .filter(|z| after_owner(z, now, first))
        .map(|z| z.config.name.as_str())
        .min();
    let taken = by_name
        .iter()
        .take_while(|p| first_zone_after.is_none_or(|z| **p < z))
        .count();
    let next = by_name.get(taken).copied();
    let now_salts: Vec<(PolicyName, String)> = due
        .iter()
        .filter(|(p, _)| by_name[..taken].contains(&p.as_str()))
        .cloned()
        .collect();
    let mut events = decide_resalt(state, &now_salts)?.events;
    let (runs, scheduled) = plan_queued(state, now, conf, keygen, next);
    events.extend(runs);
    let more = next.is_some_and(|p| zones.iter().any(|z| after_owner(z, now, p)));
    Ok(Round {
        events,
        scheduled,
        more,
        signconf_until: None,
    }
    .ended(next))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testgen::{pn, renamed, zone};
    use kasp_events::{Denial, Nsec3, PolicyCreated, Seconds, ZoneAdded};

    /// NSEC3 with a daily resalt and 4-byte salts.
    fn nsec3() -> Denial {
        Denial::Nsec3(Nsec3 {
            ttl: Seconds(0),
            opt_out: false,
            resalt: Seconds(86_400),
            algorithm: 1,
            iterations: 0,
            salt_length: 4,
        })
    }

    /// An NSEC3 policy `p0` (resalt `resalt`) with zones a.example and z.example, both
    /// due now (just added), and the policy's salt due now too.
    fn state_with(resalt_due: bool) -> (State, Timestamp) {
        let now = Timestamp(1_735_689_600);
        let mut p = renamed("default", "p0");
        p.denial = nsec3();
        let mut state = State::default();
        let mut events: Vec<Event> = vec![PolicyCreated { policy: p }.into()];
        if !resalt_due {
            events.push(
                kasp_events::SaltChanged {
                    policy: pn("p0"),
                    salt: "00000000".into(),
                }
                .into(),
            );
        }
        for z in ["z.example", "a.example"] {
            events.push(
                ZoneAdded {
                    zone: zone(z, "p0"),
                    suspended: false,
                }
                .into(),
            );
        }
        for e in &events {
            state.apply_event(e, now);
        }
        (state, now)
    }

    fn summary(events: &[Event]) -> Vec<String> {
        events
            .iter()
            .map(|e| match e {
                Event::SaltChanged(s) => format!("resalt {}", s.policy),
                Event::ZoneEnforced(z) => format!("enforce {}", z.zone),
                other => other.to_string(),
            })
            .collect()
    }

    #[test]
    fn a_resalt_runs_among_the_zones_in_owner_name_order() {
        let (mut state, now) = state_with(true);
        let salts = [(pn("p0"), "0a0b0c0d".to_string())];
        let conf = PlanConf::default();
        let round = decide_round(&state, now, &salts, conf, None).expect("round");
        assert_eq!(summary(&round.events), ["enforce a.example"]);
        assert!(round.more);
        // z.example's signconf is written after its run, in the next round.
        assert_eq!(round.signconf_until.as_deref(), Some("p0"));
        for e in &round.events {
            state.apply_event(e, now);
        }
        let round = decide_round(&state, now, &salts, conf, None).expect("round");
        assert_eq!(summary(&round.events), ["resalt p0", "enforce z.example"]);
        assert!(!round.more);
        assert_eq!(round.signconf_until, None);
    }

    #[test]
    fn without_a_due_resalt_every_due_zone_runs_in_one_round() {
        let (state, now) = state_with(false);
        let salts = [(pn("p0"), "0a0b0c0d".to_string())];
        let round = decide_round(&state, now, &salts, PlanConf::default(), None).expect("round");
        assert_eq!(
            summary(&round.events),
            ["enforce a.example", "enforce z.example"]
        );
        assert!(!round.more);
    }

    #[test]
    fn a_resalt_waits_for_the_zones_a_waiting_key_generation_holds_back() {
        let (state, now) = state_with(true);
        let salts = [(pn("p0"), "0a0b0c0d".to_string())];
        let conf = PlanConf::default();
        // "a.example" < "hsm_key_factory_schedule_generation" < "p0" < "z.example":
        // a.example runs first, then the generation, then the resalt and z.example.
        let round = decide_round(&state, now, &salts, conf, Some(true)).expect("round");
        assert_eq!(summary(&round.events), ["enforce a.example"]);
        assert!(round.more);
        let mut a_ran = state.clone();
        for e in &round.events {
            a_ran.apply_event(e, now);
        }
        let round = decide_round(&a_ran, now, &salts, conf, Some(true)).expect("round");
        assert!(round.events.is_empty() && !round.more);
        // The generation done, the resalt and z.example.
        let round = decide_round(&a_ran, now, &salts, conf, Some(false)).expect("round");
        assert_eq!(summary(&round.events), ["resalt p0", "enforce z.example"]);
        // Without zones, the resalt does not wait (the order is not seen).
        let mut bare = State::default();
        let mut p = renamed("default", "p0");
        p.denial = nsec3();
        bare.apply_event(&PolicyCreated { policy: p }.into(), now);
        let round = decide_round(&bare, now, &salts, conf, Some(true)).expect("round");
        assert_eq!(summary(&round.events), ["resalt p0"]);
    }
}
