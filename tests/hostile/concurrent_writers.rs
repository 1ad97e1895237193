//! Daemonless writers at once: twenty `zone add` started together all go through (a
//! writer waits for the log's lock, crates/engine/src/lock_wait.rs), every key they make
//! in the HSM is in the log (key generation holds the log from intent to outcome,
//! crates/projector/src/scheduler/keys.rs), `--wait-lock` bounds the wait, and a command
//! whose events were appended exits 0 even when what follows it fails.

use crate::common::{Run, Sandbox};
use kasp_events::{Access, EventLog, Locator};
use std::collections::BTreeSet;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// `ods-enforcer -c <conf> <args…>` in the sandbox, not started yet.
fn enforcer(sb: &Sandbox, args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_ods-enforcer"));
    c.arg("-c")
        .arg(sb.conf())
        .args(args)
        .envs(sb.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    c
}

fn finish(child: Child) -> Run {
    let out = child.wait_with_output().unwrap();
    Run {
        out: String::from_utf8_lossy(&out.stdout).into_owned(),
        err: String::from_utf8_lossy(&out.stderr).into_owned(),
        code: out.status.code().unwrap_or(-1),
    }
}

#[test]
fn twenty_daemonless_zone_adds_at_once_all_go_through_and_every_key_is_logged() {
    let mut sb = Sandbox::with_token();
    sb.env
        .push(("KASP_SIGNER_COMMAND".to_string(), "/bin/true".to_string()));
    sb.ok("policy import");
    let zones: Vec<String> = (0..20).map(|i| format!("z{i:02}.test")).collect();
    let children: Vec<Child> = zones
        .iter()
        .map(|z| {
            enforcer(&sb, &["zone", "add", "--zone", z])
                .spawn()
                .unwrap()
        })
        .collect();
    let runs: Vec<Run> = children.into_iter().map(finish).collect();
    for (zone, r) in zones.iter().zip(&runs) {
        assert_eq!(r.code, 0, "zone add --zone {zone}: {r:?}");
        assert!(
            r.out.contains(&format!("Zone {zone} added successfully")),
            "zone add --zone {zone}: {r:?}"
        );
        assert!(
            !r.err.contains("warning"),
            "zone add --zone {zone} did not complete its follow-up: {r:?}"
        );
    }
    let list = sb.ok("zone list").out;
    for zone in &zones {
        assert!(list.contains(zone.as_str()), "{zone} missing:\n{list}");
    }
    let verify = sb.sh("log verify");
    assert_eq!(verify.code, 0, "{verify:?}");

    // Every key in the token is accounted for in the log, and no generation is left open.
    let log = EventLog::open(&sb.log_path(), Access::ReadOnly).unwrap();
    let (state, _) = kasp_engine::replay::fold(&log).unwrap();
    assert!(
        state.pool.pending.is_empty(),
        "generations left open: {:?}",
        state.pool.pending.keys().collect::<Vec<_>>()
    );
    let in_log: BTreeSet<Locator> = state.pool.keys.keys().copied().collect();
    let in_token = crate::common::token_keys(&sb);
    assert!(!in_token.is_empty(), "no key was made");
    let orphans: Vec<&Locator> = in_token.iter().filter(|l| !in_log.contains(l)).collect();
    assert!(
        orphans.is_empty(),
        "keys in the token the log does not account for: {orphans:?}"
    );
    let unique: BTreeSet<&Locator> = in_token.iter().collect();
    assert_eq!(unique.len(), in_token.len(), "a locator made twice");
    // And `key list --verbose` shows every zone's keys from the token.
    let keys = sb.ok("key list --verbose").out;
    for zone in &zones {
        assert!(keys.contains(zone.as_str()), "{zone} has no keys:\n{keys}");
    }
}

#[test]
fn wait_lock_bounds_the_wait_and_says_so() {
    let sb = Sandbox::with_log();
    sb.ok("policy import");
    // This process holds the log for writing, as another writer would.
    let held = EventLog::open(&sb.log_path(), Access::ReadWrite).unwrap();

    // A read goes through while a writer holds the log.
    let t = Instant::now();
    let r = sb.ok("zone list");
    assert!(t.elapsed() < Duration::from_secs(5), "zone list waited");
    assert!(r.out.contains("No zones in database."), "{r:?}");

    let t = Instant::now();
    let r = sb.run(&["--wait-lock", "1", "zone", "add", "--zone", "a.test"]);
    let took = t.elapsed();
    assert_eq!(r.code, 4, "{r:?}");
    assert!(
        r.err.contains("is locked by another process") && r.err.contains("waited 1 s"),
        "{r:?}"
    );
    assert!(
        took >= Duration::from_secs(1) && took < Duration::from_secs(10),
        "took {took:?}"
    );
    // Under 2 s the operator is not told about the wait.
    assert!(!r.err.contains("waiting for the event log"), "{r:?}");

    // Over 2 s a progress line says what the command waits for.
    let r = sb.run(&["--wait-lock", "3", "zone", "add", "--zone", "a.test"]);
    assert_eq!(r.code, 4, "{r:?}");
    let log = sb.log_path();
    assert!(
        r.err.contains(&format!(
            "waiting for the event log {}, locked by another process (",
            log.display()
        )) && r.err.contains(" s of 3)")
            && r.err.contains("waited 3 s"),
        "{r:?}"
    );

    // A writer that starts while the log is held goes through once it is let go.
    let t = Instant::now();
    let child = enforcer(&sb, &["zone", "add", "--zone", "b.test"])
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    drop(held);
    let r = finish(child);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(t.elapsed() >= Duration::from_millis(1500));
    let list = sb.ok("zone list").out;
    assert!(
        list.contains("b.test") && !list.contains("a.test"),
        "{list}"
    );

    // A value that is not a number of seconds is refused before anything runs.
    let r = sb.run(&["--wait-lock", "soon", "zone", "list"]);
    assert_eq!(r.code, 100, "{r:?}");
    assert!(r.err.contains("--wait-lock"), "{r:?}");
}

/// A pipe whose write end is full (its capacity set to one page and filled): a process
/// given it as stderr stops at its first write until the read end is drained. The read
/// end, and the write end for the child.
fn full_pipe() -> (std::fs::File, std::os::fd::OwnedFd) {
    use std::os::fd::FromRawFd;
    let mut fds = [0; 2];
    // SAFETY: pipe2 fills the two descriptors, each owned once below.
    assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
    let (read, write) = unsafe {
        (
            std::fs::File::from_raw_fd(fds[0]),
            std::os::fd::OwnedFd::from_raw_fd(fds[1]),
        )
    };
    use std::os::fd::AsRawFd;
    let w = write.as_raw_fd();
    // SAFETY: fcntl and write on a descriptor this function owns.
    unsafe {
        let size = libc::fcntl(w, libc::F_SETPIPE_SZ, 4096);
        assert!(size > 0, "F_SETPIPE_SZ");
        let flags = libc::fcntl(w, libc::F_GETFL);
        libc::fcntl(w, libc::F_SETFL, flags | libc::O_NONBLOCK);
        let fill = vec![b'.'; size as usize];
        let mut written = 0;
        while written < fill.len() {
            let n = libc::write(w, fill[written..].as_ptr().cast(), fill.len() - written);
            if n <= 0 {
                break;
            }
            written += n as usize;
        }
        // Blocking again: the child's write waits for room.
        libc::fcntl(w, libc::F_SETFL, flags);
    }
    (read, write)
}

/// Whether the log has the zone `name`.
fn logged_zone(sb: &Sandbox, name: &str) -> bool {
    let Ok(log) = EventLog::open(&sb.log_path(), Access::ReadOnly) else {
        return false;
    };
    let Ok((state, _)) = kasp_engine::replay::fold(&log) else {
        return false;
    };
    state.zones.values().any(|z| z.config.name.as_str() == name)
}

#[test]
fn a_command_whose_events_were_appended_exits_0_when_its_follow_up_fails() {
    let sb = Sandbox::with_log();
    sb.ok("policy import");
    // No warning before the zone is added (its input file exists); the first thing the
    // command writes to stderr comes after its append: `--xml` cannot update a zone list
    // file that is not XML.
    std::fs::write(sb.path("unsigned/a.test"), "").unwrap();
    std::fs::write(sb.path("zonelist.xml"), "not xml").unwrap();
    // Its stderr is full, so it stops there, after its append and before its enforcer run.
    let (mut read, write) = full_pipe();
    let mut command = enforcer(
        &sb,
        &[
            "--wait-lock",
            "1",
            "zone",
            "add",
            "--zone",
            "a.test",
            "--xml",
        ],
    );
    command.stderr(Stdio::from(write));
    let child = command.spawn().unwrap();
    drop(command);
    let t = Instant::now();
    while !logged_zone(&sb, "a.test") {
        assert!(
            t.elapsed() < Duration::from_secs(30),
            "the zone was never added"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // Another writer takes the log (as soon as the command's append let go of it); then
    // the command goes on, and its run cannot start.
    let held = loop {
        match EventLog::open(&sb.log_path(), Access::ReadWrite) {
            Ok(log) => break log,
            Err(e) => assert!(t.elapsed() < Duration::from_secs(30), "{e}"),
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let drain = std::thread::spawn(move || {
        let mut text = Vec::new();
        std::io::Read::read_to_end(&mut read, &mut text).unwrap();
        String::from_utf8_lossy(&text)
            .trim_start_matches('.')
            .to_string()
    });
    let out = child.wait_with_output().unwrap();
    let err = drain.join().unwrap();
    drop(held);
    let r = Run {
        out: String::from_utf8_lossy(&out.stdout).into_owned(),
        err,
        code: out.status.code().unwrap_or(-1),
    };
    // The zone was added: exit 0, and what failed after it is reported as such.
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.out.contains("Zone a.test added successfully"), "{r:?}");
    assert!(r.err.contains("update failed"), "{r:?}");
    assert!(
        r.err.contains("is locked by another process")
            && r.err.contains(
                "the command was recorded; what failed after it is retried by the next run"
            ),
        "{r:?}"
    );
    assert!(!r.err.contains("error: the event log"), "{r:?}");
    // The next run does what was left: the zone's first enforcer run.
    let before = sb.ok("log show --zone a.test").out;
    sb.ok("enforce");
    let after = sb.ok("log show --zone a.test").out;
    assert!(after.len() > before.len(), "{before}\n---\n{after}");
    assert_eq!(sb.sh("log verify").code, 0);
}
