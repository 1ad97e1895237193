//! Load: 50 concurrent clients each send 200 mixed commands (reads, zone add/delete,
//! ds-submit/ds-seen, ZSK rollovers) to one `ods-enforcerd`. Every client only touches
//! its own zones, so the exit code of each command follows from that client's own
//! history whatever the interleaving; every answer is checked. Afterwards the log
//! verifies and holds exactly the events the commands imply: per command line, the
//! events that line determines (ZoneAdded, ZoneDeleted, RolloverRequested,
//! EnforceRequested, DsStateChanged, the enforcement of its own zone); the rest (the
//! key pool, the other zones a flush enforces) only under lines that write, and every
//! flush of all zones enforces exactly the zones that existed at that point of the log.

use super::support::{Daemon, fast_sandbox};
use crate::common::{Sandbox, conf_element, script};
use kasp_cli::output::Captured;
use kasp_cli::remote;
use std::collections::{BTreeMap, BTreeSet};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Instant;

mod log;
mod plan;

use log::*;
use plan::*;
/// Sends `line` on `stream`; the exit code and what was printed.
fn send(stream: &mut UnixStream, line: &str) -> (i32, Captured) {
    let mut sink = Captured::default();
    let code = remote::command(stream, line, &mut sink);
    (code, sink)
}

/// Runs `line` with the real client binary.
fn process(conf: &Path, env: &[(String, String)], line: &str) -> (i32, Captured) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_ods-enforcer"))
        .arg("-c")
        .arg(conf)
        .args(line.split(' '))
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .output()
        .expect("run ods-enforcer");
    let sink = Captured {
        out: String::from_utf8_lossy(&out.stdout).into_owned(),
        err: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    (out.status.code().unwrap_or(-1), sink)
}

/// The first column of the rows under a header line starting with `Zone:`.
fn first_column(text: &str) -> Vec<String> {
    text.lines()
        .skip_while(|l| !l.starts_with("Zone:"))
        .skip(1)
        .filter_map(|l| l.split_whitespace().next().map(str::to_string))
        .collect()
}

/// What is wrong with one answer, if anything.
fn check(client: usize, p: &Planned, code: i32, got: &Captured) -> Option<String> {
    let text = format!("{}{}", got.out, got.err);
    let mut wrong = Vec::new();
    if code != p.code {
        wrong.push(format!("exit {code}, expected {}", p.code));
    }
    if !text.contains(&p.needle) {
        wrong.push(format!("no {:?} in the output", p.needle));
    }
    if got.err.contains("warning: ") || text.contains("internal error") {
        wrong.push("a warning or an internal error".into());
    }
    match &p.shows {
        Shows::Any => {}
        Shows::Zones(mine) => {
            let prefix = format!("c{client}-");
            let listed: BTreeSet<String> = first_column(&got.out)
                .into_iter()
                .filter(|z| z.starts_with(&prefix))
                .collect();
            if &listed != mine {
                wrong.push(format!("lists {listed:?}, expected {mine:?}"));
            }
        }
        Shows::Keys { zone, exists } => {
            let rows = first_column(&got.out);
            let ok = if *exists {
                !rows.is_empty() && rows.iter().all(|z| z == zone)
            } else {
                rows.is_empty()
            };
            if !ok {
                wrong.push(format!("key rows {rows:?} (zone exists: {exists})"));
            }
        }
    }
    (!wrong.is_empty()).then(|| {
        format!(
            "client {client} ({:?}) `{}`: {}\n--- out:\n{}--- err:\n{}",
            p.via,
            p.line,
            wrong.join("; "),
            got.out,
            got.err
        )
    })
}

/// Runs one client's plan; the problems found.
fn client(i: usize, plan: &[Planned], socket: &Path, sb: &Sandbox) -> Vec<String> {
    let mut problems = Vec::new();
    let mut session = None;
    for p in plan {
        let (code, got) = match p.via {
            Via::Session => {
                let stream =
                    session.get_or_insert_with(|| UnixStream::connect(socket).expect("connect"));
                send(stream, &p.line)
            }
            Via::PerCommand => {
                let mut stream = UnixStream::connect(socket).expect("connect");
                send(&mut stream, &p.line)
            }
            Via::Process => process(&sb.conf(), &sb.env, &p.line),
        };
        problems.extend(check(i, p, code, &got));
    }
    problems
}

/// User and system CPU time a process has used so far (for the timing report).
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map_or(vec![], |(_, rest)| rest.split_whitespace().collect());
    let ticks: f64 = fields.get(11..13).map_or(0.0, |f| {
        f.iter().filter_map(|t| t.parse::<f64>().ok()).sum()
    });
    // SAFETY: sysconf has no preconditions.
    ticks / unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64
}

#[test]
fn fifty_clients_two_hundred_commands_each() {
    let t0 = Instant::now();
    let mut sb = fast_sandbox(false);
    // The signer is not part of this test: its notify succeeds at once.
    sb.env
        .push(("KASP_SIGNER_COMMAND".into(), "/bin/true".into()));
    // A DS submit hook that fails while the KSKs are aged (its program is not there
    // yet), so that they wait for ds-submit: with no hook configured the ds-submit
    // task would mark them submitted, as OpenDNSSEC 2.1.12 does. It is there (and
    // succeeds) for the clients' `key ds-submit`.
    let hook = sb.path("ds-submit");
    conf_element(
        &sb,
        &format!(
            "<DelegationSignerSubmitCommand>{}</DelegationSignerSubmitCommand>",
            hook.display()
        ),
    );
    let mut d = Daemon::start(&sb, &[]);
    let mut setup = UnixStream::connect(&d.socket).unwrap();
    let mut ok = |line: &str| {
        let (code, got) = send(&mut setup, line);
        assert_eq!(code, 0, "{line}: {got:?}\n{}", d.log());
        got
    };
    // Every client gets a zone whose KSK waits for ds-submit: add them all, then leap
    // the simulated clock until every KSK is listed as ready for submission.
    for i in 0..CLIENTS {
        ok(&format!("zone add --zone {} --policy fast", ds_zone(i)));
    }
    let mut ksks: BTreeMap<String, Ksk> = BTreeMap::new();
    for _ in 0..10 {
        let listing = ok("key ds-submit").out;
        ksks = listing
            .lines()
            .skip(1)
            .map(|l| l.split_whitespace().collect::<Vec<_>>())
            .filter(|w| w.len() == 4 && w[1] == "KSK")
            .map(|w| {
                (
                    w[0].to_string(),
                    Ksk {
                        tag: w[2].to_string(),
                        cka_id: w[3].to_string(),
                    },
                )
            })
            .collect();
        if ksks.len() == CLIENTS {
            break;
        }
        ok("time leap");
    }
    assert_eq!(ksks.len(), CLIENTS, "KSKs ready for ds-submit: {ksks:?}");
    script(&sb, "ds-submit", "cat >/dev/null");
    let baseline = ok("log export --jsonl").out.lines().count();
    drop(setup);
    let setup_time = t0.elapsed();
    let setup_cpu = cpu_seconds(d.child.as_ref().expect("running").id());

    let mut models = [[false; SLOTS]; CLIENTS];
    let plans: Vec<Vec<Planned>> = (0..CLIENTS)
        .map(|i| plan(i, &ksks[&ds_zone(i)], &mut models[i]))
        .collect();
    let count = |f: &dyn Fn(&Planned) -> bool| plans.iter().flatten().filter(|p| f(p)).count();
    eprintln!(
        "load: {} commands: {} zone adds, {} deletes, {} rollovers, {} DS changes, {} \
         refused, {} through the binary",
        count(&|_| true),
        count(&|p| p.effect == Effect::Added),
        count(&|p| p.effect == Effect::Deleted),
        count(&|p| p.effect == Effect::Rolled),
        count(&|p| p.effect == Effect::DsMoved),
        count(&|p| p.code != 0),
        count(&|p| p.via == Via::Process),
    );

    let start = Instant::now();
    let barrier = std::sync::Barrier::new(CLIENTS);
    let problems: Vec<String> = std::thread::scope(|s| {
        let handles: Vec<_> = plans
            .iter()
            .enumerate()
            .map(|(i, plan)| {
                let (barrier, socket, sb) = (&barrier, &d.socket, &sb);
                s.spawn(move || {
                    barrier.wait();
                    client(i, plan, socket, sb)
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("client thread"))
            .collect()
    });
    let load_time = start.elapsed();
    let pid = d.child.as_ref().expect("running").id();
    eprintln!(
        "load: setup {:.1?}, {} commands answered in {:.1?} ({:.0}/s), daemon CPU {:.1}s \
         (setup {:.1}s)",
        setup_time,
        CLIENTS * COMMANDS,
        load_time,
        (CLIENTS * COMMANDS) as f64 / load_time.as_secs_f64(),
        cpu_seconds(pid) - setup_cpu,
        setup_cpu,
    );
    assert!(
        problems.is_empty(),
        "{} wrong answers; the first:\n{}\ndaemon log:\n{}",
        problems.len(),
        problems
            .iter()
            .take(10)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n"),
        d.log()
    );

    // Stop the daemon, then read the log without it.
    let r = sb.sh("stop");
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(d.wait(), Some(0), "{}", d.log());
    assert!(!d.log().contains("internal error"), "{}", d.log());
    sb.ok("log verify");
    let all = records(&sb.ok("log export --jsonl").out);
    let load = &all[baseline..];
    eprintln!("load: {} events recorded by the load", load.len());

    // Every event comes from a command that was sent, by the right actor.
    let operator = format!("operator:{}", kasp_engine::actor::current_user());
    let lines: BTreeSet<&str> = plans.iter().flatten().map(|p| p.line.as_str()).collect();
    for r in load {
        assert!(lines.contains(r.cause.as_str()), "unexpected cause: {r:?}");
        let by_operator = DETERMINED.contains(&r.kind.as_str())
            || r.kind.starts_with("KeyGeneration")
            || r.kind == "KeyGenerated";
        let actor = if by_operator { &operator } else { "scheduler" };
        assert_eq!(r.actor, actor, "{r:?}");
        assert!(
            !matches!(
                r.kind.as_str(),
                "DsHookFailed" | "KeyGenerationAbandoned" | "ClockAdvanced"
            ),
            "{r:?}"
        );
    }
    let generated = |k: &str| load.iter().filter(|r| r.kind == k).count();
    assert_eq!(
        generated("KeyGenerationStarted"),
        generated("KeyGenerated"),
        "every key generation started is finished"
    );

    // Per line: exactly the determined events, and the enforcement of its own zone.
    let (kinds, own) = implied(&plans);
    let mut got_kinds = KindCounts::new();
    let mut got_own = ZoneCounts::new();
    for r in load {
        if let Some(k) = DETERMINED.iter().find(|k| **k == r.kind) {
            *got_kinds.entry((r.cause.clone(), k)).or_insert(0) += 1;
        }
        if r.kind == "ZoneEnforced"
            && let Some(z) = &r.zone
            && own.contains_key(&(r.cause.clone(), z.clone()))
        {
            *got_own.entry((r.cause.clone(), z.clone())).or_insert(0) += 1;
        }
    }
    for (key, n) in &kinds {
        assert_eq!(got_kinds.get(key).copied().unwrap_or(0), *n, "{key:?}");
    }
    let determined = load
        .iter()
        .filter(|r| DETERMINED.contains(&r.kind.as_str()))
        .count();
    assert_eq!(determined, kinds.values().sum::<usize>());
    eprintln!(
        "load: {determined} command events and {} own-zone enforcements as implied",
        own.values().sum::<usize>()
    );
    for (key, n) in &own {
        assert_eq!(got_own.get(key).copied().unwrap_or(0), *n, "{key:?}");
    }
    // Lines that only read or were refused (every time they were sent) record nothing.
    let writes: BTreeSet<&str> = plans
        .iter()
        .flatten()
        .filter(|p| p.effect != Effect::Nothing)
        .map(|p| p.line.as_str())
        .collect();
    for r in load {
        assert!(
            writes.contains(r.cause.as_str()),
            "from a read or refusal: {r:?}"
        );
    }

    // Replay: a zone add enforces that zone only; a flush of all zones enforces every
    // zone that exists at that point of the log, once.
    let mut live: BTreeSet<String> = BTreeSet::new();
    for (n, r) in all.iter().enumerate() {
        match r.kind.as_str() {
            "ZoneAdded" => {
                live.insert(r.zone.clone().unwrap());
            }
            "ZoneDeleted" => {
                live.remove(r.zone.as_ref().unwrap());
            }
            _ => {}
        }
        if n < baseline || !(r.flush_all || r.kind == "ZoneAdded") {
            continue;
        }
        let mut enforced: Vec<&str> = all[n + 1..]
            .iter()
            .take_while(|e| e.cause == r.cause && !DETERMINED.contains(&e.kind.as_str()))
            .filter(|e| e.kind == "ZoneEnforced")
            .map(|e| e.zone.as_deref().unwrap())
            .collect();
        let expected: Vec<&str> = if r.flush_all {
            live.iter().map(String::as_str).collect()
        } else {
            vec![r.zone.as_deref().unwrap()]
        };
        enforced.sort_unstable();
        assert_eq!(enforced, expected, "zones enforced after event {n} {r:?}");
    }

    // The zones left are the models' zones.
    let mut expected: BTreeSet<String> = (0..CLIENTS).map(ds_zone).collect();
    for (i, m) in models.iter().enumerate() {
        expected.extend((0..SLOTS).filter(|&s| m[s]).map(|s| slot_zone(i, s)));
    }
    let listed: BTreeSet<String> = first_column(&sb.ok("zone list").out).into_iter().collect();
    assert_eq!(listed, expected);
    assert_eq!(live, expected, "zones after replaying the log");
    eprintln!("load: total {:.1?}", t0.elapsed());
}
