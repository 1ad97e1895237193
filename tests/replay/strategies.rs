//! Strategies for commands, and bulk zonelist imports that carry a log past
//! `SNAPSHOT_EVERY`.

use super::support::Writer;
use kasp_projector::decide::Command;
use kasp_projector::testgen::{stock, zone};
use proptest::prelude::*;

/// One large zonelist import: `size` fresh zones (named after the batch), with `-r`
/// or not, all on one policy.
#[derive(Debug, Clone)]
pub struct Bulk {
    pub size: usize,
    pub remove_missing: bool,
    pub policy: &'static str,
}

pub fn arb_bulk() -> impl Strategy<Value = Bulk> {
    (
        300usize..450,
        any::<bool>(),
        prop::sample::select(vec!["default", "lab"]),
    )
        .prop_map(|(size, remove_missing, policy)| Bulk {
            size,
            remove_missing,
            policy,
        })
}

pub fn bulk_command(batch: usize, bulk: &Bulk) -> Command {
    let zones = (0..bulk.size)
        .map(|i| zone(&format!("z{i}.batch{batch}.example"), bulk.policy))
        .collect();
    Command::ImportZonelist {
        zones,
        remove_missing: bulk.remove_missing,
    }
}

/// A writer that has crossed `SNAPSHOT_EVERY` with the stock policies and bulk imports,
/// then ran `tail` (so records follow the newest snapshot).
pub fn writer_past_a_snapshot(bulks: &[Bulk], tail: &[Command]) -> Writer {
    let mut w = Writer::new();
    w.run(&Command::ImportPolicies {
        policies: stock(),
        remove_missing: false,
    });
    for (batch, bulk) in bulks.iter().enumerate() {
        w.run(&bulk_command(batch, bulk));
    }
    for command in tail {
        w.run(command);
    }
    // Records after the snapshot, including new zones (ids continue from the snapshot).
    let now = w.tick();
    w.append(
        now,
        vec![
            kasp_events::ZoneAdded {
                zone: zone("after.snapshot.example", "lab"),
                suspended: true,
            }
            .into(),
        ],
    );
    w
}
