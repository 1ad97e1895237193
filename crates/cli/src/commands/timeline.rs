//! `zone timeline --zone Z --svg FILE [--until D] [--ds auto|manual]`: the zone's keys
//! drawn over time as SVG (the projector's `timeline`). The past is folded from the
//! log record by record; the future is a simulation with no change (DS answers manual
//! by default: what happens if nobody acts), up to `--until` (default P90D) after now.
//! The file is written atomically; the log is only read.
//!
//! Exit codes: 0 written; 1 unknown zone; 2 bad option values (and, through the
//! daemon, a relative path: the daemon's working directory is not the operator's);
//! 4 the log or the file cannot be read or written.

use super::simulate::{ds_opt, find_zone, sim_conf, until_opt};
use super::table::CommandSpec;
use super::{Ran, Shell};
use crate::getopt::Opt;
use kasp_engine::files::{Readers, write_atomic};
use kasp_engine::{exit, system_now};
use kasp_events::{LogError, Seq};
use kasp_projector::State;
use kasp_projector::whatif::simulate::{Request, SimError, simulate};
use kasp_projector::whatif::timeline::{Frame, Spans, render_svg};
use std::path::Path;

/// The future drawn when `--until` is not given.
const DEFAULT_UNTIL: &str = "P90D";

/// `zone timeline --zone Z --svg FILE [--until D] [--ds auto|manual]`.
pub fn run(shell: &mut Shell<'_>, spec: &CommandSpec, args: &[String]) -> Ran {
    let opts = [
        Opt::value("zone", 'z'),
        Opt::value("svg", 's'),
        Opt::value("until", 'u'),
        Opt::value("ds", 'd'),
    ];
    let p = shell.opts(spec, args, &opts)?;
    let Some(zone_text) = p.value("zone") else {
        return Err(shell.misuse("expected option --zone <zone>"));
    };
    let Some(file) = p.value("svg").filter(|f| !f.is_empty()) else {
        return Err(shell.misuse("expected option --svg <file>"));
    };
    if shell.host.is_some() && !Path::new(file).is_absolute() {
        return Err(shell.misuse(format!(
            "--svg {file}: give an absolute path when the daemon runs the command"
        )));
    }
    let (until, _) = until_opt(shell, p.value("until"), Some(DEFAULT_UNTIL))?;
    let ds = ds_opt(shell, p.value("ds"))?;
    let ctx = shell.ctx()?;
    let current = shell.state(&ctx)?;
    let zone = find_zone(shell, &current, zone_text)?;
    // The past: fold the log record by record, watching the zone's keys.
    let mut state = State::default();
    let mut spans = Spans::default();
    {
        let log = ctx.reader().map_err(|f| shell.fail(f))?;
        let result = log.for_each(Seq(0), |s| {
            let at = s.record.at;
            state.apply_owned(s.record);
            spans.observe(at, state.zone(&zone).map(|z| &z.model));
            Ok::<(), LogError>(())
        });
        result.map_err(|e| shell.fail(e.into()))?;
    }
    let now = state.now(system_now());
    // The future: a simulation with no change.
    let request = Request {
        zone: zone.clone(),
        changes: Vec::new(),
        until,
        ds,
        conf: sim_conf(&ctx),
    };
    let sim = match simulate(&state, now, &request) {
        Ok(sim) => sim,
        Err(SimError::UnknownZone(z)) => {
            return Err(shell.refuse(&format!("zone {z} not found")));
        }
        Err(SimError::Refused(why)) => return Err(shell.refuse(&why)),
    };
    let mut ahead = state;
    spans.follow(&mut ahead, &zone, &sim.events);
    let frame = Frame {
        zone: &zone,
        from: spans.first.unwrap_or(now).min(now),
        to: sim.end,
        now,
    };
    let keys = spans.keys();
    let svg = render_svg(&frame, &keys);
    if let Err(e) = write_atomic(Path::new(file), &svg, Readers::Everyone) {
        shell.err(&format!("error: {e}\n"));
        return Ok(exit::ENVIRONMENT);
    }
    shell.out(&format!(
        "Timeline of zone {zone} written to {file}: {} keys, {} to {}, now {now}\n",
        keys.len(),
        frame.from,
        frame.to
    ));
    Ok(exit::OK)
}
