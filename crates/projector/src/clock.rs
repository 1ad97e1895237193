//! The enforcer's time from the system clock, where the log runs on it (a production
//! log, `setup`): what the shell reads from the clock, and what it may decide then.
//!
//! - Within one process the time never goes backwards and never runs slower than a
//!   monotonic clock ([`SteadyClock`]): the system clock set back while the daemon runs
//!   changes nothing; set forward, it is followed (as when NTP corrects a slow clock).
//! - The log's time never goes backwards ([`Reading`], `State::reading`): a clock behind
//!   the log's last record reads as that record's time. Commands are recorded then; the
//!   enforcer's runs are postponed until the clock has caught up (crates/engine/src/
//!   due.rs), since a key record changed at a time earlier than the change would let
//!   the next transition come too early (a DNSKEY omnipresent before resolvers saw it).
//!
//! What no program can tell: a process that starts while the clock is behind the real
//! time but not behind the last record, or a clock set ahead of the real time. Both are
//! believed.

use kasp_events::Timestamp;

/// The system clock made monotonic: each reading is the wall clock, or the last reading
/// plus the time a monotonic clock says has passed since, whichever is later. Readings
/// are in milliseconds (the wall clock since the epoch; the monotonic clock since any
/// fixed start in this process); the time is in whole seconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SteadyClock {
    /// The largest wall − monotonic difference seen, in milliseconds.
    offset: Option<i64>,
}

impl SteadyClock {
    /// A clock with no reading yet.
    pub const fn new() -> SteadyClock {
        SteadyClock { offset: None }
    }

    /// The time at this reading of both clocks.
    pub fn read(&mut self, wall_ms: i64, monotonic_ms: i64) -> Timestamp {
        let seen = wall_ms.saturating_sub(monotonic_ms);
        let offset = self.offset.map_or(seen, |o| o.max(seen));
        self.offset = Some(offset);
        Timestamp(offset.saturating_add(monotonic_ms).div_euclid(1000))
    }
}

/// What the log's clock reads at a reading of the system clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reading {
    /// The time to decide and record at.
    Now(Timestamp),
    /// The system clock is behind the log's last record: decisions are recorded at the
    /// record's time, `log`; the enforcer's runs wait until the clock reaches it.
    Behind { system: Timestamp, log: Timestamp },
}

impl Reading {
    /// The time to record at.
    pub fn time(self) -> Timestamp {
        match self {
            Reading::Now(t) => t,
            Reading::Behind { log, .. } => log,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_steady_clock_ignores_a_clock_set_back_and_follows_one_set_forward() {
        let mut c = SteadyClock::default();
        assert_eq!(c.read(1_000_000, 0), Timestamp(1000));
        // Set back a day, 10 s later: 10 s passed.
        assert_eq!(c.read(1_000_000 - 86_400_000, 10_000), Timestamp(1010));
        // Right again.
        assert_eq!(c.read(1_020_000, 20_000), Timestamp(1020));
        // Set forward an hour: followed, and kept when set back again.
        assert_eq!(c.read(1_030_000 + 3_600_000, 30_000), Timestamp(4630));
        assert_eq!(c.read(1_040_000, 40_000), Timestamp(4640));
    }
}
