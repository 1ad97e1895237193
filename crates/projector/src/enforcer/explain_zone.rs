//! `explain --zone Z` over the folded state: the record findings of
//! [`super::explain::explain_records`], the zone's next run with what the enforcer
//! expects to do then (the real plan, [`crate::scheduler::plan::plan_zone`], evaluated at
//! that time with nothing else happening before), and the text the command prints.
//!
//! Pure: `now` is the caller's (the log's clock); output is deterministic.

use super::explain::{Gate, KeyFindings, Waits, explain_records};
use super::keylist::{format_time, key_state};
use super::model::{DsAtParent, KeyId};
use super::record::RecordState;
use super::update::{PolicyHold, Transition};
use crate::scheduler::plan::{PlanConf, plan_zone};
use crate::state::State;
use kasp_events::{KeyRole, Locator, Timestamp, ZoneName};
use std::fmt::Write as _;

/// Everything `explain` says about one zone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZoneExplanation {
    /// The zone's name as added.
    pub zone: String,
    /// Its policy.
    pub policy: String,
    /// The time of the explanation.
    pub now: Timestamp,
    /// The policy is passthrough: no state machine runs.
    pub passthrough: bool,
    /// Each key with its locator (if its material is known).
    pub keys: Vec<(KeyFindings, Option<Locator>)>,
    /// The zone's next run (`None`: nothing scheduled).
    pub next_run: Option<Timestamp>,
    /// What that run is expected to do (`None` when no run is scheduled).
    pub expected: Option<Expected>,
    /// A failed DS hook is retried at this time.
    pub ds_retry: Option<Timestamp>,
    /// conf.xml's (`DelegationSignerSubmitCommand`, `DelegationSignerRetractCommand`)
    /// are configured: the DS tasks run them; without one the task marks the DS
    /// submitted (retracted) all the same, as 2.1.12 does. Set by the caller (the
    /// projector does not read conf.xml); both `false` from [`explain_zone`].
    pub hooks: (bool, bool),
}

/// What the zone's next run is expected to do if nothing else happens first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expected {
    /// New keys (rollover or first keys).
    pub new_keys: Vec<(KeyId, KeyRole)>,
    /// Keys whose goal becomes "remove".
    pub retired: Vec<KeyId>,
    /// Dead keys purged.
    pub purged: Vec<KeyId>,
    /// Key material destroyed (the run then ends early, Q4).
    pub hsm_deleted: usize,
    /// Record transitions.
    pub transitions: Vec<Transition>,
    /// The run after it.
    pub then: Option<Timestamp>,
}

/// Why a zone cannot be explained.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExplainError {
    /// No such zone.
    UnknownZone,
    /// The zone's policy is missing from the state.
    UnknownPolicy(String),
}

/// Explains zone `name` of `state` at `now`.
pub fn explain_zone(
    state: &State,
    name: &ZoneName,
    now: Timestamp,
    conf: PlanConf,
) -> Result<ZoneExplanation, ExplainError> {
    let zone = state.zone(name).ok_or(ExplainError::UnknownZone)?;
    let policy_name = zone.config.policy.clone();
    let view = state
        .policies
        .get(&policy_name)
        .ok_or_else(|| ExplainError::UnknownPolicy(policy_name.to_string()))?;
    let policy = &view.policy;
    let mut findings = explain_records(&zone.model, policy, now);
    if policy.passthrough {
        for f in findings.iter_mut().flat_map(|k| k.records.iter_mut()) {
            f.gate = Gate::Passthrough;
        }
    }
    let keys = findings
        .into_iter()
        .map(|f| {
            let locator = f.hsm.and_then(|h| state.pool.by_id.get(&h.0).copied());
            (f, locator)
        })
        .collect();
    let next_run = zone.due;
    let expected = next_run.map(|due| {
        let at = due.max(now);
        let run = plan_zone(state, zone, at, conf).map(|r| r.outcome);
        match run {
            Some(o) => Expected {
                new_keys: o
                    .policy
                    .iter()
                    .flat_map(|p| p.new_keys.iter().map(|k| (k.id, k.role)))
                    .collect(),
                retired: o.policy.map(|p| p.retired).unwrap_or_default(),
                purged: o.purge.map(|p| p.removed).unwrap_or_default(),
                hsm_deleted: o.hsm_deleted,
                transitions: o.transitions,
                then: o.next_wakeup,
            },
            None => Expected {
                new_keys: Vec::new(),
                retired: Vec::new(),
                purged: Vec::new(),
                hsm_deleted: 0,
                transitions: Vec::new(),
                then: None,
            },
        }
    });
    Ok(ZoneExplanation {
        zone: zone.config.name.as_str().to_string(),
        policy: policy_name.to_string(),
        now,
        passthrough: policy.passthrough,
        keys,
        next_run,
        expected,
        ds_retry: zone.ds_retry,
        hooks: (false, false),
    })
}

/// The text `explain` prints (see the README's "explain" section).
pub fn render(e: &ZoneExplanation) -> String {
    let mut out = format!(
        "Zone {}, policy {}, at {} (times are UTC)\n",
        e.zone,
        e.policy,
        format_time(e.now)
    );
    if e.passthrough {
        out.push_str(
            "The policy is passthrough: the enforcer runs no key state machine for this zone.\n",
        );
    }
    if e.keys.is_empty() {
        out.push_str("The zone has no keys.\n");
    }
    let mut operator = Vec::new();
    for (k, locator) in &e.keys {
        let states = k.records.iter().fold([RecordState::Na; 4], |mut s, r| {
            s[r.record.index()] = r.state;
            s
        });
        let human = key_state(k.role, Some(states), k.introducing, k.ds_at_parent);
        let _ = writeln!(
            out,
            "{} {}, keytag {}, algorithm {}, locator {}, {}, {}{}",
            k.role.as_str(),
            k.key,
            k.key_tag,
            k.algorithm,
            locator.map_or("(none)".to_string(), |l| l
                .to_string()
                .chars()
                .take(8)
                .collect()),
            human.as_str(),
            if k.introducing {
                "introducing"
            } else {
                "retiring"
            },
            if k.states_created {
                ""
            } else {
                " (key states created by the next run)"
            }
        );
        for r in &k.records {
            let head = if r.state == r.desired {
                format!("  {:<12}{}", r.record.as_str(), r.state.as_str())
            } else {
                format!(
                    "  {:<12}{} -> {}",
                    r.record.as_str(),
                    r.state.as_str(),
                    r.desired.as_str()
                )
            };
            let text = gate_text(e, k, &r.gate);
            if let Gate::Operator { needs, has, .. } = r.gate {
                let by_task = match has {
                    DsAtParent::Submit => e.hooks.0,
                    DsAtParent::Retract => e.hooks.1,
                    _ => false,
                };
                if !by_task {
                    operator.push(ds_command(e, k, needs, has));
                }
            }
            let _ = writeln!(out, "{head}: {text}");
        }
    }
    next_text(e, &operator, &mut out);
    out
}

/// The command line that moves a DS waiting for `needs` on from `has`.
fn ds_command(e: &ZoneExplanation, k: &KeyFindings, needs: DsAtParent, has: DsAtParent) -> String {
    let verb = match (needs, has) {
        (DsAtParent::Seen, DsAtParent::Submit) => "ds-submit",
        (DsAtParent::Seen, _) => "ds-seen",
        (_, DsAtParent::Retract) => "ds-retract",
        _ => "ds-gone",
    };
    format!("key {verb} --zone {} --keytag {}", e.zone, k.key_tag)
}

fn gate_text(e: &ZoneExplanation, k: &KeyFindings, gate: &Gate) -> String {
    let tag = k.key_tag;
    let z = &e.zone;
    match gate {
        Gate::Settled => "settled (at its goal)".to_string(),
        Gate::Passthrough => "settled (passthrough policy)".to_string(),
        Gate::Ready => "no gate holds it: the zone's next run moves it".to_string(),
        Gate::Backup { retry } => format!(
            "waits for the backup of its key material (backup prepare, backup commit); \
             the zone retries at {}",
            format_time(*retry)
        ),
        Gate::Timer { at, since, parts } => {
            let total: i64 = parts.iter().map(|(_, s)| s).sum();
            let terms: Vec<String> = parts
                .iter()
                .map(|(p, s)| format!("{} {s}", p.label()))
                .collect();
            format!(
                "timer: may move at {} (last change {} + {total} s: {})",
                format_time(*at),
                format_time(*since),
                terms.join(" + ")
            )
        }
        Gate::Operator { needs, has, then } => {
            let retry = e
                .ds_retry
                .map(|t| format!("; its last try failed, next try at {}", format_time(t)))
                .unwrap_or_default();
            let after = format!("then the DS needs {then} s more");
            match (needs, has) {
                (DsAtParent::Seen, DsAtParent::Submitted) => format!(
                    "waits for the operator: key ds-seen --zone {z} --keytag {tag} \
                     (DS submitted to the parent); {after}"
                ),
                (DsAtParent::Seen, DsAtParent::Submit) if e.hooks.0 => format!(
                    "waits for the DS submission: the ds-submit task runs \
                     DelegationSignerSubmitCommand{retry}; then key ds-seen; {after}"
                ),
                (DsAtParent::Seen, DsAtParent::Submit) => format!(
                    "waits for the DS submission: no DelegationSignerSubmitCommand is \
                     configured, so the ds-submit task marks the DS submitted{retry} (the \
                     operator submits it to the parent); then key ds-seen --zone {z} \
                     --keytag {tag}; {after}"
                ),
                (DsAtParent::Unsubmitted, DsAtParent::Retracted) => format!(
                    "waits for the operator: key ds-gone --zone {z} --keytag {tag} \
                     (DS retracted at the parent); {after}"
                ),
                (DsAtParent::Unsubmitted, DsAtParent::Retract) if e.hooks.1 => format!(
                    "waits for the DS retraction: the ds-retract task runs \
                     DelegationSignerRetractCommand{retry}; then key ds-gone; {after}"
                ),
                (DsAtParent::Unsubmitted, DsAtParent::Retract) => format!(
                    "waits for the DS retraction: no DelegationSignerRetractCommand is \
                     configured, so the ds-retract task marks the DS retracted{retry} (the \
                     operator retracts it at the parent); then key ds-gone --zone {z} \
                     --keytag {tag}; {after}"
                ),
                _ => format!(
                    "waits for the DS at the parent to be {} (it is {})",
                    needs.as_str(),
                    has.as_str()
                ),
            }
        }
        Gate::Policy { hold, waits } => {
            let why = match hold {
                PolicyHold::DsAfterDnskey => {
                    "roll-type order: the DS is introduced only once this key's DNSKEY is omnipresent"
                }
                PolicyHold::DnskeyAfterDsOrRrsig => {
                    "roll-type order: the DNSKEY is published only once this key's DS (or RRSIG) \
                     is omnipresent, while another KSK of the algorithm is sound"
                }
                PolicyHold::RrsigDnskeyAfterDnskey => {
                    "roll-type order: the DNSKEY set is signed with this key only once its DNSKEY \
                     is published"
                }
                PolicyHold::RrsigAfterDnskey => {
                    "roll-type order: the zone is signed with this key only once its DNSKEY is \
                     omnipresent, while another ZSK of the algorithm signs"
                }
            };
            format!("{why}; {}", waits_text(waits))
        }
        Gate::Rule { rule, waits } => format!(
            "validity rule {} ({}) would break; {}",
            rule.number(),
            rule.title(),
            waits_text(waits)
        ),
    }
}

fn waits_text(w: &Waits) -> String {
    match w {
        Waits::Never => "no timer or DS confirmation frees it with the keys the zone has".into(),
        Waits::For(v) if v.is_empty() => "waits for other records of the zone to move".into(),
        Waits::For(v) => {
            let items: Vec<String> = v
                .iter()
                .map(|a| {
                    format!(
                        "{} {} {} {}",
                        a.role.as_str(),
                        a.key,
                        a.record.as_str(),
                        a.to.as_str()
                    )
                })
                .collect();
            format!("waits for {}", items.join(", "))
        }
    }
}

fn next_text(e: &ZoneExplanation, operator: &[String], out: &mut String) {
    let ds_tasks: Vec<String> = e
        .keys
        .iter()
        .filter_map(|(k, _)| {
            let task = match k.ds_at_parent {
                DsAtParent::Submit => "ds-submit",
                DsAtParent::Retract => "ds-retract",
                _ => return None,
            };
            Some(format!("{task} for {} {}", k.role.as_str(), k.key))
        })
        .collect();
    let retry = e.ds_retry.filter(|_| !ds_tasks.is_empty());
    let retry_first = retry.is_some_and(|r| e.next_run.is_none_or(|t| r < t));
    match (retry, e.next_run) {
        (Some(r), _) if retry_first => {
            let _ = writeln!(
                out,
                "Next event: {} ({}): the DS task tries again ({})",
                format_time(r),
                relative(r, e.now),
                ds_tasks.join(", ")
            );
        }
        (_, Some(t)) => {
            let _ = writeln!(
                out,
                "Next event: {} ({}): the zone's next run",
                format_time(t.max(e.now)),
                relative(t, e.now)
            );
        }
        (_, None) => out.push_str("Next event: none scheduled\n"),
    }
    match e.next_run {
        None if e.passthrough => out.push_str("Next run: none scheduled (passthrough policy)\n"),
        None => out.push_str(
            "Next run: none scheduled (a suspended zone, or nothing timed is pending): \
             the zone runs again after a command\n",
        ),
        Some(t) => {
            let _ = writeln!(
                out,
                "Next run: {} ({})",
                format_time(t.max(e.now)),
                relative(t, e.now)
            );
        }
    }
    if let Some(x) = &e.expected {
        let role = |id: KeyId| {
            e.keys
                .iter()
                .map(|(k, _)| (k.key, k.role))
                .chain(x.new_keys.iter().copied())
                .find(|(k, _)| *k == id)
                .map_or("key", |(_, r)| r.as_str())
        };
        for (id, r) in &x.new_keys {
            let _ = writeln!(out, "  expected: new {} {id}", r.as_str());
        }
        for id in &x.retired {
            let _ = writeln!(out, "  expected: {} {id} retires", role(*id));
        }
        for id in &x.purged {
            let _ = writeln!(out, "  expected: {} {id} purged", role(*id));
        }
        if x.hsm_deleted > 0 {
            let _ = writeln!(
                out,
                "  expected: {} key(s) deleted from the HSM; the run stops there and resumes 60 s later",
                x.hsm_deleted
            );
        }
        for t in &x.transitions {
            let _ = writeln!(
                out,
                "  expected: {} {} {} {} -> {}",
                role(t.key),
                t.key,
                t.record.as_str(),
                t.from.as_str(),
                t.to.as_str()
            );
        }
        let nothing = x.new_keys.is_empty()
            && x.retired.is_empty()
            && x.purged.is_empty()
            && x.hsm_deleted == 0
            && x.transitions.is_empty();
        if nothing {
            out.push_str("  expected: no record moves\n");
        }
        match x.then {
            Some(t) => {
                let _ = writeln!(out, "  after it: next run at {}", format_time(t));
            }
            None => out.push_str("  after it: no run scheduled\n"),
        }
    }
    if let Some(r) = retry.filter(|_| !retry_first) {
        let _ = writeln!(
            out,
            "DS task retry: {} ({})",
            format_time(r),
            ds_tasks.join(", ")
        );
    }
    for line in operator {
        let _ = writeln!(out, "Waiting for the operator: {line}");
    }
}

/// `in N s`, or `now` for a time not after `now`.
fn relative(t: Timestamp, now: Timestamp) -> String {
    if t <= now {
        "now".to_string()
    } else {
        format!("in {} s", t.0 - now.0)
    }
}

#[cfg(test)]
#[path = "explain_zone_tests.rs"]
mod tests;
