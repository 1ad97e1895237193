//! Replay: a log read back gives the state its writer folded while appending, whether
//! folded from scratch, one record or one batch at a time, or from a snapshot plus
//! the records after it; and a snapshot the binary cannot trust is ignored.
//!
//! Every case writes a real log file in a temporary directory through the engine's
//! `append_folding`, then reopens it read-only and folds it with the engine's `fold`.
//!
//! `support` has the writer and the vocabulary, `strategies` the random commands and
//! the bulk imports that cross `SNAPSHOT_EVERY`, `snapshots` the untrusted snapshots.

mod snapshots;
mod strategies;
mod support;

use kasp_engine::session::SNAPSHOT_EVERY;
use kasp_events::Seq;
use kasp_projector::PROJECTION_VERSION;
use kasp_projector::decide::Command;
use kasp_projector::testgen::{arb_command, stock};
use proptest::prelude::*;
use strategies::{arb_bulk, writer_past_a_snapshot};
use support::{Writer, folded, full_replay};

// ---- (b) replay equals the state folded while appending ------------------------

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// A log read back from scratch gives the state its writer folded batch by batch;
    /// appending one event per transaction instead gives the same log state; and
    /// folding the events in memory (no log) agrees too.
    #[test]
    fn replay_equals_the_state_folded_while_appending(
        commands in prop::collection::vec(arb_command(), 1..30)
    ) {
        // Batches: one append per decision.
        let mut batched = Writer::new();
        // The same events, one append each, at the same times.
        let mut single = Writer::new();
        // The same events, folded in memory only.
        let mut memory = batched.state.clone();
        let import_stock = Command::ImportPolicies { policies: stock(), remove_missing: false };
        let mut appended = 0;
        for command in std::iter::once(&import_stock).chain(&commands) {
            let events = batched.run(command);
            appended += events.len();
            let at = batched.now;
            for e in &events {
                single.append(at, vec![e.clone()]);
                memory.apply_event(e, at);
            }
        }
        let expected = batched.state.clone();
        prop_assert_eq!(expected.last_seq, Some(Seq(appended as u64)));
        prop_assert_eq!(&single.state, &expected);
        memory.last_seq = expected.last_seq;
        prop_assert_eq!(&memory, &expected);

        for w in [&mut batched, &mut single] {
            let log = w.reader();
            prop_assert!(log.verify().is_ok());
            // Short logs: no snapshot, so fold is a full replay.
            let (state, used) = folded(&log);
            prop_assert_eq!(used, None);
            prop_assert_eq!(&state, &expected);
            prop_assert_eq!(&full_replay(&log), &expected);
        }
    }
}

// ---- (c) snapshot plus tail equals a full replay -------------------------------

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]

    /// Logs that cross SNAPSHOT_EVERY store a snapshot; `fold` starts from it and
    /// applies the tail, and gets what a replay from record 0 gets.
    #[test]
    fn snapshot_plus_tail_equals_full_replay(
        bulks in prop::collection::vec(arb_bulk(), 4..6),
        tail in prop::collection::vec(arb_command(), 0..12),
    ) {
        let mut w = writer_past_a_snapshot(&bulks, &tail);
        let expected = w.state.clone();
        let log = w.reader();
        let head = log.head().seq;
        prop_assert!(head.0 > SNAPSHOT_EVERY, "only {} records", head);
        let snap = log.latest_snapshot().expect("read").expect("a snapshot");
        prop_assert_eq!(snap.version, PROJECTION_VERSION);
        prop_assert!(snap.seq.0 >= SNAPSHOT_EVERY && snap.seq < head);
        let (state, used) = folded(&log);
        prop_assert_eq!(used, Some(snap.seq));
        prop_assert_eq!(&state, &expected);
        prop_assert_eq!(&full_replay(&log), &expected);
    }
}
