//! `kasp-bench`: throughput and latency of kasp-ledger's event log, on real files.
//!
//! Run: `cargo run --release --locked -p kasp-tools --bin kasp-bench [-- --quick]`
//! (`--quick` divides every size by 10 for a smoke run). It works in a directory it
//! creates under the system temp dir (removed at the end) and prints a Markdown table.
//!
//! Measured:
//! 1. append, single: N `ZoneAdded` events, each its own durable redb transaction;
//! 2. append, batched: 100,000 events in batches of 1,000, and in one batch;
//! 3. replay: a log of 1,000,000 zone adds/deletes (about 1,000 zones alive) folded
//!    from seq 0 with `engine::fold` (no snapshot in that log), with splits: redb read
//!    only, + blake3, + decode (`EventLog::for_each`), and the full fold (+ chain + apply);
//! 4. `ods-enforcer zonelist import` of 100,000 zones: the real release binary in a
//!    temporary project (setup, policy import, then the import), wall time;
//! 5. that 100,000-zone log: `EventLog::open(ReadOnly)` + `fold` with its snapshot,
//!    a full replay from seq 0 ignoring snapshots, and `ods-enforcer policy list` /
//!    `zone list` end to end (process start included).
//!
//! Short measurements are repeated and the median is reported.

use anyhow::{Result, bail, ensure};
use kasp_engine::replay::fold;
use kasp_events::chain::hash_record;
use kasp_events::codec::decode_record;
use kasp_events::{
    Access, Actor, Adapter, ClockMode, Event, EventLog, FORMAT, Hash, InstanceId, LogCreated,
    LogError, NewEvent, PolicyName, Seq, Timestamp, ZoneAdded, ZoneConfig, ZoneDeleted, ZoneName,
};
use kasp_projector::State;
use kasp_tools::benchkit::{enforcer_binary, fmt_d, fmt_n, median, run_enforcer};
use std::path::Path;
use std::time::{Duration, Instant};

const START: Timestamp = Timestamp(1_735_689_600); // 2025-01-01T00:00:00Z

struct Row {
    what: String,
    size: String,
    time: Duration,
    rate: String,
}

struct Table(Vec<Row>);

impl Table {
    /// A throughput row: `n` events in `d`.
    fn rate(&mut self, what: &str, n: u64, d: Duration) {
        self.push(what, n, d, Some(n as f64 / d.as_secs_f64()));
    }

    /// A latency row about a log of `n` zones.
    fn lat(&mut self, what: &str, n: u64, d: Duration) {
        self.push(what, n, d, None);
    }

    fn push(&mut self, what: &str, n: u64, time: Duration, rate: Option<f64>) {
        let rate = rate.map_or_else(|| "—".into(), |x| fmt_n(x as u64));
        let (what, size) = (what.to_string(), fmt_n(n));
        eprintln!("  {what:<58} {size:>10} {:>10} {rate:>12}", fmt_d(time));
        self.0.push(Row {
            what,
            size,
            time,
            rate,
        });
    }
}

/// Runs `f` `n` times and returns the median wall time.
fn timed<T>(n: usize, mut f: impl FnMut() -> Result<T>) -> Result<(Duration, T)> {
    let mut runs = Vec::with_capacity(n);
    let mut last = None;
    for _ in 0..n {
        let t = Instant::now();
        let v = f()?;
        runs.push(t.elapsed());
        last = Some(v);
    }
    Ok((median(runs), last.expect("n > 0")))
}

fn zone(i: u64) -> ZoneConfig {
    let name = format!("zone{i}.example");
    ZoneConfig {
        name: ZoneName::new(&name).expect("valid zone name"),
        policy: PolicyName::new("default").expect("valid policy name"),
        signconf_path: format!("/var/lib/opendnssec/signconf/{name}.xml"),
        input: file_adapter(format!("/var/lib/opendnssec/unsigned/{name}")),
        output: file_adapter(format!("/var/lib/opendnssec/signed/{name}")),
    }
}

fn file_adapter(uri: String) -> Adapter {
    let kind = "File".into();
    Adapter { kind, uri }
}

fn new_event(event: Event, cause: String) -> NewEvent {
    NewEvent {
        at: START,
        actor: Actor::Operator("bench".into()),
        cause,
        event,
    }
}

fn add(i: u64) -> NewEvent {
    let z = zone(i);
    let cause = format!("zone add --zone {} --policy default", z.name);
    let suspended = false;
    new_event(Event::ZoneAdded(ZoneAdded { zone: z, suspended }), cause)
}

/// Event `i` of the replay log: 1,000 adds, then alternately delete the oldest zone
/// and add a new one, so about 1,000 zones are alive at any time.
fn churn(i: u64) -> NewEvent {
    if i < 1000 {
        return add(i);
    }
    let m = i - 1000;
    if m.is_multiple_of(2) {
        let z = zone(m / 2).name;
        let cause = format!("zone delete --zone {z}");
        new_event(Event::ZoneDeleted(ZoneDeleted { zone: z }), cause)
    } else {
        add(1000 + m / 2)
    }
}

fn create(path: &Path) -> Result<EventLog> {
    let created = LogCreated {
        format: FORMAT,
        instance: InstanceId([7; 16]),
        clock: ClockMode::Simulated { start: START },
    };
    Ok(EventLog::create(path, created, START, Actor::System, "kasp-bench")?.0)
}

/// Reads every stored record of `log` and sums what `f` makes of its bytes.
fn scan(log: &EventLog, mut f: impl FnMut(&[u8]) -> Result<u64, LogError>) -> Result<u64> {
    let mut sum = 0u64;
    log.for_each_raw(Seq(0), |_, b| {
        sum = sum.wrapping_add(f(b)?);
        Ok::<(), LogError>(())
    })?;
    Ok(sum)
}

/// A full replay from seq 0 that ignores snapshots (what `fold` does without one).
fn replay_full(log: &EventLog) -> Result<State> {
    let mut state = State::default();
    let mut prev = Hash::GENESIS;
    log.for_each(Seq(0), |s| {
        if s.record.prev != prev {
            bail!("record {}: the hash chain is broken", s.record.seq);
        }
        prev = s.hash;
        state.apply(&s.record);
        Ok(())
    })?;
    ensure!(prev == log.head().hash, "head mismatch");
    Ok(state)
}

fn bench_append(dir: &Path, scale: u64, tb: &mut Table) -> Result<()> {
    let n = 2_000 / scale;
    let mut runs = Vec::new();
    for r in 0..3 {
        let mut log = create(&dir.join(format!("single-{r}.redb")))?;
        let t = Instant::now();
        for i in 0..n {
            log.append(log.head(), vec![add(i)], |_| None)?;
        }
        runs.push(t.elapsed());
    }
    tb.rate("append, 1 event per transaction", n, median(runs));

    let total = 100_000 / scale;
    for (label, batch) in [
        ("append, batches of 1,000", 1_000),
        ("append, one batch", total),
    ] {
        let mut runs = Vec::new();
        for r in 0..3 {
            let mut log = create(&dir.join(format!("batch-{batch}-{r}.redb")))?;
            let events: Vec<Vec<NewEvent>> = (0..total)
                .step_by(batch as usize)
                .map(|s| (s..(s + batch).min(total)).map(add).collect())
                .collect();
            let t = Instant::now();
            for b in events {
                log.append(log.head(), b, |_| None)?;
            }
            runs.push(t.elapsed());
        }
        tb.rate(label, total, median(runs));
    }
    Ok(())
}

fn bench_replay(dir: &Path, scale: u64, tb: &mut Table) -> Result<()> {
    let n = 1_000_000 / scale;
    let path = dir.join("replay.redb");
    let t = Instant::now();
    let mut log = create(&path)?;
    for start in (0..n).step_by(100_000 / scale as usize) {
        let events = (start..(start + 100_000 / scale).min(n))
            .map(churn)
            .collect();
        log.append(log.head(), events, |_| None)?;
    }
    let events = log.head().seq.0 + 1;
    drop(log);
    let size = std::fs::metadata(&path)?.len();
    let (secs, mb) = (t.elapsed().as_secs_f64(), size / 1_000_000);
    eprintln!("  (replay log built in {secs:.1} s: {events} records, {mb} MB)");
    let log = EventLog::open(&path, Access::ReadOnly)?;
    let (d, bytes) = timed(3, || scan(&log, |b| Ok(b.len() as u64)))?;
    let per = bytes / events;
    tb.rate(
        &format!("replay: redb read only (~{per} B/record)"),
        events,
        d,
    );
    let (d, _) = timed(3, || scan(&log, |b| Ok(u64::from(hash_record(b).0[0]))))?;
    tb.rate("replay: read + blake3", events, d);
    let (d, _) = timed(3, || scan(&log, |b| Ok(decode_record(b)?.seq.0)))?;
    tb.rate("replay: read + decode", events, d);
    let (d, _) = timed(3, || {
        let mut n = 0u64;
        log.for_each(Seq(0), |s| {
            n += s.record.seq.0;
            Ok::<(), LogError>(())
        })?;
        Ok(n)
    })?;
    tb.rate("replay: read + decode + blake3 (for_each)", events, d);
    let (d, (state, snap)) = timed(3, || Ok(fold(&log)?))?;
    ensure!(snap.is_none(), "the replay log has no snapshot");
    tb.rate(
        "replay: engine::fold from seq 0 (+ chain + apply)",
        events,
        d,
    );
    eprintln!("  (state after replay: {} zones)", state.zones.len());
    Ok(())
}

fn zonelist_xml(root: &Path, n: u64) -> String {
    let input = root.join("unsigned/input.zone");
    let mut x = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ZoneList>\n");
    for i in 0..n {
        let name = format!("zone{i}.example");
        x.push_str(&format!(
            "\t<Zone name=\"{name}\">\n\t\t<Policy>default</Policy>\n\
             \t\t<SignerConfiguration>{r}/signconf/{name}.xml</SignerConfiguration>\n\
             \t\t<Adapters>\n\t\t\t<Input><Adapter type=\"File\">{i}</Adapter></Input>\n\
             \t\t\t<Output><Adapter type=\"File\">{r}/signed/{name}</Adapter></Output>\n\
             \t\t</Adapters>\n\t</Zone>\n",
            r = root.display(),
            i = input.display(),
        ));
    }
    x.push_str("</ZoneList>\n");
    x
}

fn bench_project(dir: &Path, scale: u64, tb: &mut Table) -> Result<()> {
    let bin = enforcer_binary()?;
    let n = 100_000 / scale;
    let root = dir.join("project");
    for d in ["enforcer", "signconf", "unsigned", "signed", "signer"] {
        std::fs::create_dir_all(root.join(d))?;
    }
    let ws = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let conf_in = std::fs::read_to_string(ws.join("fixtures/demo/conf.xml.in"))?;
    let conf = root.join("conf.xml");
    std::fs::write(
        &conf,
        conf_in
            .replace("@DIR@", &root.display().to_string())
            .replace("@PIN@", "bench-pin"),
    )?;
    std::fs::copy(ws.join("fixtures/ods/kasp.xml"), root.join("kasp.xml"))?;
    // One existing input file for every zone: no "does not exist" warning per zone.
    std::fs::write(root.join("unsigned/input.zone"), "")?;
    enforcer(
        &bin,
        &conf,
        &["setup", "--simulated-time", "2025-01-01T00:00:00Z"],
    )?;
    enforcer(&bin, &conf, &["policy", "import"])?;
    std::fs::write(root.join("zonelist.xml"), zonelist_xml(&root, n))?;
    let t = Instant::now();
    enforcer(&bin, &conf, &["zonelist", "import"])?;
    tb.rate("`ods-enforcer zonelist import` (zones)", n, t.elapsed());

    let path = root.join("enforcer/events.redb");
    let (d, _) = timed(5, || Ok(EventLog::open(&path, Access::ReadOnly)?))?;
    tb.lat("log of N zones: `EventLog::open(ReadOnly)`", n, d);
    let (d, (state, snap)) = timed(5, || {
        let log = EventLog::open(&path, Access::ReadOnly)?;
        Ok(fold(&log)?)
    })?;
    ensure!(snap.is_some(), "the import stored no snapshot");
    ensure!(state.zones.len() as u64 == n, "not {n} zones");
    tb.lat("log of N zones: open + `fold` (snapshot)", n, d);
    let (d, full) = timed(5, || {
        let log = EventLog::open(&path, Access::ReadOnly)?;
        replay_full(&log)
    })?;
    ensure!(full == state, "full replay and snapshot fold differ");
    tb.lat("log of N zones: open + full replay from seq 0", n, d);
    for cmd in [["policy", "list"], ["zone", "list"]] {
        let (d, _) = timed(5, || enforcer(&bin, &conf, &cmd))?;
        let label = format!("log of N zones: `ods-enforcer {}` (process)", cmd.join(" "));
        tb.lat(&label, n, d);
    }
    Ok(())
}

fn main() -> Result<()> {
    let quick = std::env::args().skip(1).any(|a| a == "--quick");
    let scale = if quick { 10 } else { 1 };
    let unique = format!(
        "kasp-bench-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)?
            .as_nanos()
    );
    let dir = std::env::temp_dir().join(unique);
    std::fs::create_dir_all(&dir)?;
    eprintln!("kasp-bench in {} (scale 1/{scale})", dir.display());
    let mut tb = Table(Vec::new());
    let result = bench_append(&dir, scale, &mut tb)
        .and_then(|()| bench_replay(&dir, scale, &mut tb))
        .and_then(|()| bench_project(&dir, scale, &mut tb));
    let _ = std::fs::remove_dir_all(&dir);
    result?;
    println!("| measurement | events / zones | time | events/s |");
    println!("|---|---:|---:|---:|");
    for r in &tb.0 {
        println!(
            "| {} | {} | {} | {} |",
            r.what,
            r.size,
            fmt_d(r.time),
            r.rate
        );
    }
    Ok(())
}

/// Runs `ods-enforcer -c <conf> <args>`; fails unless it exits 0.
fn enforcer(bin: &Path, conf: &Path, args: &[&str]) -> Result<()> {
    run_enforcer(bin, conf, args, false).map(drop)
}
