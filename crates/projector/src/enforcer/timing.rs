//! Timing of the state machine — docs/state-machine.md, TTL windows (and the TTL used
//! for timing) and Timing (`E:minTransitionTime`, smooth-rollover extra).
//!
//! Pure functions of the policy, the zone's TTL windows and the record's last change.

use super::record::{RecordState, RecordType};
use kasp_events::{Denial, Policy, Seconds, Timestamp};

/// The zone's TTL windows `ttl_end_ds`, `ttl_end_dk`, `ttl_end_rs` (docs/state-machine.md,
/// Zone and TTL windows): until these times a larger TTL from before a policy change is
/// still honoured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TtlWindows {
    /// `ttl_end_ds`.
    pub ds: Timestamp,
    /// `ttl_end_dk` (DNSKEY and RRSIGDNSKEY).
    pub dnskey: Timestamp,
    /// `ttl_end_rs` (RRSIG).
    pub rrsig: Timestamp,
}

/// The policy's RRSIG TTL term: `max(min(soa_ttl, soa_minimum), Z)` with
/// `Z = max(max_zone_ttl, nsec3_ttl)` for NSEC3 and `Z = max_zone_ttl` for NSEC.
pub fn rrsig_policy_ttl(policy: &Policy) -> Seconds {
    let z = match &policy.denial {
        Denial::Nsec => policy.signatures.max_zone_ttl,
        Denial::Nsec3(n) => policy.signatures.max_zone_ttl.max(n.ttl),
    };
    policy.zone.soa_ttl.min(policy.zone.soa_minimum).max(z)
}

/// The policy TTL of a record type: DS TTL, DNSKEY TTL (also for RRSIGDNSKEY) or
/// [`rrsig_policy_ttl`].
pub fn policy_ttl(policy: &Policy, t: RecordType) -> Seconds {
    match t {
        RecordType::Ds => policy.parent.ds_ttl,
        RecordType::Dnskey | RecordType::RrsigDnskey => policy.keys.ttl,
        RecordType::Rrsig => rrsig_policy_ttl(policy),
    }
}

impl TtlWindows {
    /// The windows of a new zone: all ended (0, as in OpenDNSSEC's zone row).
    pub const UNSET: TtlWindows = TtlWindows {
        ds: Timestamp(0),
        dnskey: Timestamp(0),
        rrsig: Timestamp(0),
    };

    /// The windows at the start of a run at `now`: each window that has ended
    /// (`end <= now`) restarts at `now + policy TTL` (2.1 semantics: the DNSKEY window
    /// uses plain `keys_ttl`, Q2).
    pub fn refreshed(self, policy: &Policy, now: Timestamp) -> TtlWindows {
        let renew = |end: Timestamp, t: RecordType| {
            if end <= now {
                now.plus(policy_ttl(policy, t))
            } else {
                end
            }
        };
        TtlWindows {
            ds: renew(self.ds, RecordType::Ds),
            dnskey: renew(self.dnskey, RecordType::Dnskey),
            rrsig: renew(self.rrsig, RecordType::Rrsig),
        }
    }

    /// `E:getZoneTTL`: `max(window_end - now, policy TTL)` for the type (Q1: measured
    /// from `now`, not from the record's last change).
    pub fn ttl(&self, policy: &Policy, t: RecordType, now: Timestamp) -> Seconds {
        let end = match t {
            RecordType::Ds => self.ds,
            RecordType::Dnskey | RecordType::RrsigDnskey => self.dnskey,
            RecordType::Rrsig => self.rrsig,
        };
        let left = end.0.saturating_sub(now.0);
        let left = Seconds(u32::try_from(left.max(0)).unwrap_or(u32::MAX));
        left.max(policy_ttl(policy, t))
    }
}

/// The smooth-rollover extra
/// `E_sig = jitter + max(validity_default, validity_denial) + resign - refresh`
/// (docs/state-machine.md, Timing), in seconds; may be negative for odd policies.
pub fn smooth_extra(policy: &Policy) -> i64 {
    let s = &policy.signatures;
    s.jitter.as_i64() + s.validity_default.max(s.validity_denial).as_i64() + s.resign.as_i64()
        - s.refresh.as_i64()
}

/// One term of a waiting interval (docs/state-machine.md, Timing), for explanations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitPart {
    /// The zone TTL of the record type in force ([`TtlWindows::ttl`]).
    Ttl(RecordType),
    /// `Parent/RegistrationDelay`.
    RegistrationDelay,
    /// `Parent/PropagationDelay`.
    ParentPropagation,
    /// `Zone/PropagationDelay`.
    ZonePropagation,
    /// `Keys/PublishSafety`.
    PublishSafety,
    /// `Keys/RetireSafety`.
    RetireSafety,
    /// The smooth-rollover extra [`smooth_extra`].
    Smooth,
}

impl WaitPart {
    /// How the explanation names the term.
    pub fn label(self) -> String {
        match self {
            WaitPart::Ttl(t) => format!("{} TTL", t.as_str()),
            WaitPart::RegistrationDelay => "parent registration delay".into(),
            WaitPart::ParentPropagation => "parent propagation delay".into(),
            WaitPart::ZonePropagation => "zone propagation delay".into(),
            WaitPart::PublishSafety => "publish safety".into(),
            WaitPart::RetireSafety => "retire safety".into(),
            WaitPart::Smooth => "re-signing (jitter + validity + resign - refresh)".into(),
        }
    }
}

/// The terms of the interval [`min_transition_time`] adds to the last change, in
/// seconds (empty for moves into rumoured or unretentive).
pub fn transition_wait(
    policy: &Policy,
    t: RecordType,
    next: RecordState,
    ttl: Seconds,
    smooth: bool,
) -> Vec<(WaitPart, i64)> {
    let mut parts = match next {
        RecordState::Rumoured | RecordState::Unretentive | RecordState::Na => Vec::new(),
        RecordState::Omnipresent | RecordState::Hidden => {
            let ttl = (WaitPart::Ttl(t), ttl.as_i64());
            match t {
                RecordType::Ds => vec![
                    ttl,
                    (
                        WaitPart::RegistrationDelay,
                        policy.parent.registration_delay.as_i64(),
                    ),
                    (
                        WaitPart::ParentPropagation,
                        policy.parent.propagation_delay.as_i64(),
                    ),
                ],
                RecordType::Dnskey | RecordType::RrsigDnskey => {
                    let safety = if next == RecordState::Omnipresent {
                        (WaitPart::PublishSafety, policy.keys.publish_safety)
                    } else {
                        (WaitPart::RetireSafety, policy.keys.retire_safety)
                    };
                    vec![
                        ttl,
                        (
                            WaitPart::ZonePropagation,
                            policy.zone.propagation_delay.as_i64(),
                        ),
                        (safety.0, safety.1.as_i64()),
                    ]
                }
                RecordType::Rrsig => vec![
                    ttl,
                    (
                        WaitPart::ZonePropagation,
                        policy.zone.propagation_delay.as_i64(),
                    ),
                ],
            }
        }
    };
    if smooth {
        parts.push((WaitPart::Smooth, smooth_extra(policy)));
    }
    parts
}

/// `E:minTransitionTime`: the earliest time the record of type `t`, last changed at
/// `last_change`, may move to `next`, given the zone TTL `ttl` for the type
/// ([`TtlWindows::ttl`]). `smooth` adds [`smooth_extra`] (the caller decides whether the
/// smooth-rollover condition of docs/state-machine.md, Timing, holds; it only ever does
/// for RRSIG).
///
/// Moves into rumoured or unretentive may happen at once (`last_change`); into
/// omnipresent or hidden they wait for the type's propagation interval
/// ([`transition_wait`]).
pub fn min_transition_time(
    policy: &Policy,
    t: RecordType,
    next: RecordState,
    last_change: Timestamp,
    ttl: Seconds,
    smooth: bool,
) -> Timestamp {
    let parts = transition_wait(policy, t, next, ttl, smooth);
    let sum = |smooth: bool| -> i64 {
        parts
            .iter()
            .filter(|(p, _)| (*p == WaitPart::Smooth) == smooth)
            .map(|(_, s)| *s)
            .sum()
    };
    Timestamp(
        last_change
            .0
            .saturating_add(sum(false))
            .saturating_add(sum(true)),
    )
}

#[cfg(test)]
mod tests {
    use super::super::tests::default_policy;
    use super::*;
    use RecordState::*;
    use RecordType::*;

    const T0: Timestamp = Timestamp(1_735_689_600);

    fn at(t: Timestamp, d: i64) -> Timestamp {
        Timestamp(t.0 + d)
    }

    #[test]
    fn derived_intervals_of_12_2() {
        let p = default_policy();
        let w = TtlWindows::UNSET.refreshed(&p, T0);
        let mtt = |t, next, smooth| {
            min_transition_time(&p, t, next, T0, w.ttl(&p, t, T0), smooth).0 - T0.0
        };
        assert_eq!(mtt(Dnskey, Omnipresent, false), 50_400);
        assert_eq!(mtt(RrsigDnskey, Omnipresent, false), 50_400);
        assert_eq!(mtt(Dnskey, Hidden, false), 50_400);
        assert_eq!(mtt(Rrsig, Omnipresent, false), 129_600);
        assert_eq!(mtt(Rrsig, Hidden, false), 129_600);
        assert_eq!(mtt(Ds, Omnipresent, false), 13_599);
        assert_eq!(mtt(Ds, Hidden, false), 13_599);
        assert_eq!(smooth_extra(&p), 1_000_800);
        assert_eq!(mtt(Rrsig, Omnipresent, true), 1_130_400);
        for t in RecordType::ALL {
            assert_eq!(
                mtt(t, Rumoured, true),
                1_000_800,
                "extra is the caller's call"
            );
            assert_eq!(mtt(t, Unretentive, false), 0);
        }
    }

    #[test]
    fn golden_trace_times() {
        // trace-cli.txt of a-default-zsk-rollover: next=T+50400, T+129600, T+143199
        // (ds-seen at T+129600), and the ZSK roll at T+7776000 finishing at T+8956800.
        let p = default_policy();
        let w = TtlWindows::UNSET;
        let ttl = |t, now| w.refreshed(&p, now).ttl(&p, t, now);
        let dk = min_transition_time(&p, Dnskey, Omnipresent, T0, ttl(Dnskey, T0), false);
        assert_eq!(dk, at(T0, 50_400));
        let rs = min_transition_time(&p, Rrsig, Omnipresent, T0, ttl(Rrsig, T0), false);
        assert_eq!(rs, at(T0, 129_600));
        let c = at(T0, 129_600);
        assert_eq!(
            min_transition_time(&p, Ds, Omnipresent, c, ttl(Ds, c), false),
            at(T0, 143_199)
        );
        let r = at(T0, 7_826_400);
        assert_eq!(
            min_transition_time(&p, Rrsig, Omnipresent, r, ttl(Rrsig, r), true),
            at(T0, 8_956_800)
        );
    }

    #[test]
    fn ttl_windows_honour_an_old_larger_ttl() {
        let mut p = default_policy();
        let w = TtlWindows::UNSET.refreshed(&p, T0);
        assert_eq!(w.dnskey, at(T0, 3600));
        assert_eq!(w.rrsig, at(T0, 86_400));
        assert_eq!(w.ds, at(T0, 3600));
        // Not yet ended: unchanged.
        assert_eq!(w.refreshed(&p, at(T0, 3599)), w);
        // DNSKEY TTL lowered to 60 s: the old window still rules until it ends.
        p.keys.ttl = Seconds(60);
        assert_eq!(w.ttl(&p, Dnskey, at(T0, 1000)), Seconds(2600));
        assert_eq!(w.ttl(&p, RrsigDnskey, at(T0, 3590)), Seconds(60));
        let w2 = w.refreshed(&p, at(T0, 3600));
        assert_eq!(w2.dnskey, at(T0, 3660));
        assert_eq!(w2.ttl(&p, Dnskey, at(T0, 3600)), Seconds(60));
    }

    #[test]
    fn rrsig_ttl_term() {
        let mut p = default_policy();
        assert_eq!(rrsig_policy_ttl(&p), Seconds(86_400));
        p.signatures.max_zone_ttl = Seconds(10);
        assert_eq!(rrsig_policy_ttl(&p), Seconds(3600));
        if let Denial::Nsec3(n) = &mut p.denial {
            n.ttl = Seconds(7200);
        }
        assert_eq!(rrsig_policy_ttl(&p), Seconds(7200));
        p.denial = Denial::Nsec;
        assert_eq!(rrsig_policy_ttl(&p), Seconds(3600));
    }
}
