//! The Markdown tables `kasp-daemon-bench` prints.

use crate::daemon::Memory;
use crate::load::{Kind, Phase, percentile};
use crate::{Options, Run};
use kasp_tools::benchkit::{fmt_d, fmt_n, median};
use std::time::Duration;

/// `123.4 MB`.
fn mb(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1e6)
}

/// Bytes per zone above the baseline.
fn per_zone(bytes: u64, base: u64, n: u64) -> String {
    let net = bytes.saturating_sub(base);
    format!("{} B", fmt_n(net / n.max(1)))
}

pub(crate) fn print_tables(base: &Memory, runs: &[Run], o: &Options) {
    println!("| measurement | zones | value | per zone |");
    println!("|---|---:|---:|---:|");
    println!(
        "| empty daemon (policy, no zones): VmRSS (RssAnon), after start + `enforce` | 0 | {} ({}) | — |",
        mb(base.rss),
        mb(base.anon)
    );
    for r in runs {
        let n = r.n;
        let nz = fmt_n(n);
        let per = |d: Duration| format!("{:.1} µs", d.as_secs_f64() / n as f64 * 1e6);
        println!(
            "| daemon start until the socket answers (open + fold; log of {} records, {}) | {nz} | {} | {} |",
            fmt_n(r.records),
            mb(r.log_bytes),
            fmt_d(r.startup),
            per(r.startup)
        );
        let lo = *r.passes.iter().min().expect("passes");
        let hi = *r.passes.iter().max().expect("passes");
        let pass = median(r.passes.clone());
        println!(
            "| `enforce` through the socket: full pass, median of {} (runs {}–{}) | {nz} | {} | {} |",
            r.passes.len(),
            fmt_d(lo),
            fmt_d(hi),
            fmt_d(pass),
            per(pass)
        );
        for (what, m) in [
            ("after start", &r.after_start),
            ("after the passes", &r.after_pass),
            (
                "after the load test (a fresh daemon: start + the load test)",
                &r.after_load,
            ),
        ] {
            println!(
                "| VmRSS {what} (RssAnon {}) | {nz} | {} | {} |",
                mb(m.anon),
                mb(m.rss),
                per_zone(m.rss, base.rss, n)
            );
        }
        println!(
            "| VmHWM (peak RSS) by the end of the passes | {nz} | {} | {} |",
            mb(r.after_pass.hwm),
            per_zone(r.after_pass.hwm, base.rss, n)
        );
        println!(
            "| VmHWM (peak RSS) of that fresh daemon by the end of the load test | {nz} | {} | {} |",
            mb(r.after_load.hwm),
            per_zone(r.after_load.hwm, base.rss, n)
        );
        println!(
            "| heap of one folded `State` (in-process: glibc in-use bytes around a clone) | {nz} | {} | {} |",
            mb(r.parts.state_heap),
            per_zone(r.parts.state_heap, 0, n)
        );
    }
    println!();
    println!(
        "| command | zones | count (1 / {c} clients) | 1 client p50 | 1 client p99 | {c} clients p50 | {c} clients p99 | {c} clients max |",
        c = o.clients
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    for r in runs {
        let nz = fmt_n(r.n);
        for kind in Kind::ALL {
            let one = r.single.by_kind.get(&kind).cloned().unwrap_or_default();
            let many = r.loaded.by_kind.get(&kind).cloned().unwrap_or_default();
            if one.is_empty() && many.is_empty() {
                continue;
            }
            println!(
                "| {} | {nz} | {} / {} | {} | {} | {} | {} | {} |",
                kind.label(),
                one.len(),
                many.len(),
                fmt_d(percentile(&one, 50.0)),
                fmt_d(percentile(&one, 99.0)),
                fmt_d(percentile(&many, 50.0)),
                fmt_d(percentile(&many, 99.0)),
                fmt_d(percentile(&many, 100.0)),
            );
        }
        let (one, many) = (r.single.all(), r.loaded.all());
        let rate = |p: &Phase| p.count() as f64 / p.wall.as_secs_f64();
        println!(
            "| **all** ({:.1} / {:.1} commands/s) | {nz} | {} / {} | {} | {} | {} | {} | {} |",
            rate(&r.single),
            rate(&r.loaded),
            one.len(),
            many.len(),
            fmt_d(percentile(&one, 50.0)),
            fmt_d(percentile(&one, 99.0)),
            fmt_d(percentile(&many, 50.0)),
            fmt_d(percentile(&many, 99.0)),
            fmt_d(percentile(&many, 100.0)),
        );
    }
    println!();
    println!("| in-process, on the steady state | zones | time | size |");
    println!("|---|---:|---:|---:|");
    for r in runs {
        let nz = fmt_n(r.n);
        let p = &r.parts;
        let rows = [
            (
                "`State::clone` (an append while the cached state is shared)",
                p.clone,
                None,
            ),
            ("drop of that clone", p.drop, None),
            ("`zones_in_order` (collect + sort)", p.in_order, None),
            (
                "`next_task` (the writer's `publish` after each job, system clock)",
                p.next_task,
                None,
            ),
            (
                "internal zones.xml text (every zone add/delete)",
                p.zonelist,
                Some(p.zonelist_bytes),
            ),
            (
                "its `write_atomic` (write, fsync, rename)",
                p.zonelist_write,
                None,
            ),
            (
                "state snapshot encoding (every 1,000 appended records)",
                p.snapshot,
                Some(p.snapshot_bytes),
            ),
            ("the pool's locators as text (`key ds-*`)", p.locators, None),
            (
                "opening the token (HSM thread, C_Initialize, login; before destroying keys)",
                p.hsm_open,
                None,
            ),
        ];
        for (what, d, size) in rows {
            let size = size.map_or("—".to_string(), |b| mb(b as u64));
            println!("| {what} | {nz} | {} | {size} |", fmt_d(d));
        }
    }
}
