//! `ods-enforcerd`: start-up, the socket protocol with our client and the stock
//! OpenDNSSEC client, control commands, access control, the scheduler, and start-up
//! failures. The load and crash tests are in their own modules.

mod crash;
mod load;
pub(crate) mod support;

use crate::common::Sandbox;
use std::time::{Duration, Instant};
use support::{Daemon, fast_sandbox, stock, stock_with};

/// The reads operators script against, through the daemon: our client and the stock
/// client get byte-identical answers, equal to what daemonless `ods-enforcer` prints
/// from the same log afterwards.
#[test]
fn our_client_and_the_stock_client_get_the_same_answers() {
    let sb = fast_sandbox(false);
    let mut d = Daemon::start(&sb, &[]);
    sb.ok("zone add --zone example.com --policy fast");
    sb.ok("zone add --zone example.org --policy fast");
    let reads = [
        "zone list",
        "key list",
        "key list --verbose",
        "key list --debug",
        "queue",
        "policy list",
        "rollover list",
        "zone list --bogus",
        "no such command",
    ];
    let mut through_daemon = Vec::new();
    for line in reads {
        let ours = sb.sh(line);
        assert_eq!(ours, stock(&d.socket, line), "{line}");
        through_daemon.push(ours);
    }
    assert_eq!(sb.sh("stop").code, 0);
    assert_eq!(d.wait(), Some(0), "{}", d.log());
    for (line, daemon) in reads.iter().zip(through_daemon) {
        assert_eq!(sb.sh(line), daemon, "daemonless {line}");
    }
}

#[test]
fn control_commands_answer_as_opendnssec() {
    let sb = Sandbox::with_token();
    let mut d = Daemon::start(&sb, &[]);
    let r = sb.ok("running");
    assert_eq!(r.out, "Engine running.\n");
    let r = sb.sh("start");
    assert_eq!((r.out.as_str(), r.code), ("Engine already running.\n", 1));
    let r = sb.ok("verbosity");
    assert!(
        r.out
            .starts_with("Current verbosity is set to 3.\nAvailable modes:\n  0 - Critical\n"),
        "{r:?}"
    );
    assert_eq!(sb.ok("verbosity 5").out, "Verbosity level set to 5.\n");
    assert!(
        sb.ok("verbosity")
            .out
            .starts_with("Current verbosity is set to 5.")
    );
    let r = sb.sh("verbosity x");
    assert_eq!(r.code, 255, "{r:?}");
    assert!(
        r.out
            .starts_with("Error parsing verbosity value: No digits were found.\n"),
        "{r:?}"
    );
    assert_eq!(sb.ok("reload").out, "Reloading engine.\n");
    assert_eq!(sb.ok("flush").out, "All tasks scheduled immediately.\n");
    assert_eq!(sb.ok("update conf").out, "");
    // Still serving after the reloads.
    assert_eq!(sb.ok("running").out, "Engine running.\n");
    let r = sb.ok("stop");
    assert!(r.out.starts_with("Engine shut down.\npid "), "{r:?}");
    assert_eq!(d.wait(), Some(0), "{}", d.log());
    assert!(!sb.path("enforcer/enforcer.sock").exists());
    assert!(!sb.path("enforcer/enforcerd.pid").exists());
    let r = sb.sh("running");
    assert_eq!((r.out.as_str(), r.code), ("Engine not running.\n", 209));
    let r = sb.sh("stop");
    assert_eq!(r.code, 201, "{r:?}");
    assert!(
        r.err
            .starts_with("Unable to connect to engine. connect() failed: "),
        "{r:?}"
    );
}

/// The stock client's `stop` and `running` work against our daemon, and SIGTERM stops
/// it cleanly too.
#[test]
fn signals_and_the_stock_client_stop_the_daemon() {
    let sb = Sandbox::with_token();
    let mut d = Daemon::start(&sb, &[]);
    let r = stock(&d.socket, "running");
    assert_eq!((r.out.as_str(), r.code), ("Engine running.\n", 0));
    assert_eq!(d.signal(libc::SIGTERM), Some(0));
    assert!(d.log().contains("[engine] received SIGTERM"), "{}", d.log());
    assert!(!sb.path("enforcer/enforcer.sock").exists());
    let mut d2 = Daemon::start(&sb, &[]);
    // After `stop` the stock client waits for the pid `pgrep ods-enforcerd` names (the
    // first of every daemon on the machine, other tests' too): a `pgrep` of our own
    // names this one. The daemon is reaped here while the client waits, or the client
    // would wait for a zombie forever.
    let bin = sb.path("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let pgrep = bin.join("pgrep");
    let pid = d2.child.as_ref().unwrap().id();
    std::fs::write(&pgrep, format!("#!/bin/sh\necho {pid}\n")).unwrap();
    std::fs::set_permissions(&pgrep, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let socket = d2.socket.clone();
    let client = std::thread::spawn(move || stock_with(&socket, "stop", &[("PATH", path)]));
    assert_eq!(d2.wait(), Some(0));
    let r = client.join().unwrap();
    assert!(r.out.starts_with("Engine shut down.\n"), "{r:?}");
    assert!(r.out.contains(&format!("pid {pid}")), "{r:?}");
    assert_eq!(r.code, 0);
}

/// SIGTERM lets the command in flight finish and answers the commands still queued
/// without running them: nothing half-done, nothing silently dropped.
#[test]
fn sigterm_finishes_the_command_in_flight_and_runs_no_more() {
    use std::io::Write;
    let mut sb = fast_sandbox(false);
    // A signer notify that, once `slow` exists, says when it started and then holds the
    // command in flight until `release` exists (at most a minute).
    let notify = sb.path("notify.sh");
    std::fs::write(
        &notify,
        format!(
            "#!/bin/sh
if [ -e {dir}/slow ]; then
  touch {dir}/started
  i=0
               while [ ! -e {dir}/release ] && [ $i -lt 1200 ]; do sleep 0.05; i=$((i+1)); done
             fi
",
            dir = sb.root().display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&notify, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    sb.env
        .push(("KASP_SIGNER_COMMAND".into(), notify.display().to_string()));
    let mut d = Daemon::start(&sb, &[]);
    sb.ok("zone add --zone a.test --policy fast");
    std::fs::write(sb.path("slow"), "").unwrap();
    // In flight: `signconf` waits for the held notify.
    let in_flight = {
        let socket = d.socket.clone();
        std::thread::spawn(move || {
            let mut stream = std::os::unix::net::UnixStream::connect(socket).unwrap();
            let mut got = kasp_cli::output::Captured::default();
            let code = kasp_cli::remote::command(&mut stream, "signconf", &mut got);
            (code, got)
        })
    };
    wait_for("the notify of the command in flight to start", &d, || {
        sb.path("started").exists()
    });
    // Queued behind it: sent as the stock client sends it, and read by the daemon (the
    // daemon's end has taken every byte of it), which puts it in the writer's queue.
    let mut stream = std::os::unix::net::UnixStream::connect(&d.socket).unwrap();
    stream
        .write_all(&kasp_cli::wire::command(
            "zone add --zone b.test --policy fast \0",
        ))
        .unwrap();
    wait_for("the daemon to read the queued command", &d, || {
        unread_by_peer(&stream) == 0
    });
    let queued = std::thread::spawn(move || answer(&mut stream));
    // SIGTERM while the notify holds the command in flight; released once the daemon
    // took the signal.
    let pid = d.child.as_ref().expect("running").id();
    // SAFETY: plain kill(2) on our own child.
    unsafe { libc::kill(pid as i32, libc::SIGTERM) };
    wait_for("the daemon to take SIGTERM", &d, || {
        d.log().contains("[engine] received SIGTERM")
    });
    std::fs::write(sb.path("release"), "").unwrap();
    assert_eq!(d.wait(), Some(0), "{}", d.log());
    let (code, got) = in_flight.join().unwrap();
    assert_eq!(code, 0, "the command in flight finished: {got:?}");
    let (code, got) = queued.join().unwrap();
    assert_ne!(code, 0, "{got:?}");
    assert_eq!(code, 4, "{got:?}");
    assert!(got.err.contains("the enforcer is stopping"), "{got:?}");
    std::fs::remove_file(sb.path("slow")).unwrap();
    // Daemonless now: the signconf run was recorded, the queued zone add was not.
    let log = sb.ok("log show").out;
    assert!(log.contains("Signconf requested for all zones"), "{log}");
    assert!(!log.contains("b.test"), "{log}");
}

/// Polls `done` every 10 ms; fails after 30 s, saying what it waited for, with the
/// daemon's log.
fn wait_for(what: &str, d: &Daemon, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "waited 30 s for {what}; the daemon's log:\n{}",
            d.log()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The bytes written on `stream` that its peer has not read yet (Linux's SIOCOUTQ).
fn unread_by_peer(stream: &std::os::unix::net::UnixStream) -> libc::c_int {
    use std::os::fd::AsRawFd;
    let mut n: libc::c_int = 0;
    // SAFETY: SIOCOUTQ (TIOCOUTQ's number) writes one int through the pointer; the
    // descriptor is an open socket of `stream`.
    let r = unsafe { libc::ioctl(stream.as_raw_fd(), libc::TIOCOUTQ, &mut n) };
    assert_eq!(r, 0, "ioctl(SIOCOUTQ): {}", std::io::Error::last_os_error());
    n
}

/// The daemon's answer to a command sent on `stream`: its stdout and stderr frames up
/// to the exit frame, and the exit code.
fn answer(stream: &mut std::os::unix::net::UnixStream) -> (i32, kasp_cli::output::Captured) {
    use kasp_cli::wire::{Decoder, Opcode, exit_status};
    use std::io::Read;
    let mut got = kasp_cli::output::Captured::default();
    let mut decoder = Decoder::default();
    let mut buf = [0u8; 4096];
    loop {
        while let Some(frame) = decoder
            .next_frame()
            .expect("the daemon speaks the protocol")
        {
            let text = String::from_utf8_lossy(&frame.payload);
            match frame.op {
                Opcode::Stdout => got.out.push_str(&text),
                Opcode::Stderr => got.err.push_str(&text),
                Opcode::Exit => return (exit_status(frame.payload[0]), got),
                Opcode::Stdin | Opcode::Prompt => {}
            }
        }
        let n = stream.read(&mut buf).expect("read the answer");
        assert!(
            n > 0,
            "the daemon closed the connection before the exit frame: {got:?}"
        );
        decoder.feed(&buf[..n]);
    }
}

/// Commands through the daemon are recorded with the peer's user as the actor; a peer
/// that is not root, the daemon's user or in its group is refused, and that is logged.
#[test]
fn the_peer_is_the_actor_and_strangers_are_refused() {
    use std::os::unix::fs::PermissionsExt;
    use std::os::unix::process::CommandExt;
    let sb = fast_sandbox(false);
    let d = Daemon::start(&sb, &[]);
    sb.ok("zone add --zone example.com --policy fast");
    let log = sb.ok("log show --json --zone example.com").out;
    let added = log
        .lines()
        .find(|l| l.contains("\"ZoneAdded\""))
        .expect("ZoneAdded");
    assert!(added.contains("\"actor\":\"operator:root\""), "{added}");
    // Let anyone reach the socket: the credentials check must still refuse `nobody`.
    std::fs::set_permissions(&d.socket, std::fs::Permissions::from_mode(0o666)).unwrap();
    std::fs::set_permissions(sb.root(), std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(sb.path("enforcer"), std::fs::Permissions::from_mode(0o755)).unwrap();
    let before = std::fs::read(sb.log_path()).unwrap().len();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_ods-enforcer"))
        .arg("-s")
        .arg(&d.socket)
        .args(["zone", "delete", "--zone", "example.com"])
        .uid(65534)
        .gid(65534)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("Access denied"),
        "{out:?}"
    );
    assert!(d.log().contains("refused client uid 65534"), "{}", d.log());
    // A stranger slow to send its command still gets the refusal, not a closed socket.
    let slow = r#"
import socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
# Slow on purpose: the pause before the command is what is tested.
time.sleep(0.5)
line = b"zone list \0"
s.sendall(bytes([2, 0, len(line)]) + line)
data = b""
while True:
    chunk = s.recv(4096)
    if not chunk:
        break
    data += chunk
sys.stdout.buffer.write(data)
"#;
    let out = std::process::Command::new("python3")
        .args(["-c", slow])
        .arg(&d.socket)
        .uid(65534)
        .gid(65534)
        .output()
        .expect("python3 (Debian package python3, see scripts/deps.sh)");
    assert!(out.status.success(), "{out:?}");
    let answer = String::from_utf8_lossy(&out.stdout);
    assert!(answer.contains("Access denied"), "{out:?}");
    assert!(
        out.stdout.ends_with(&[4, 0, 1, 1]),
        "exit frame with code 1: {out:?}"
    );
    // Nothing the strangers sent was recorded, and the zone is still there.
    assert_eq!(
        std::fs::read(sb.log_path()).unwrap().len(),
        before,
        "the refused commands changed the log"
    );
    assert!(sb.ok("zone list").out.contains("example.com"));
}

/// On a system-clock log the scheduler wakes by itself when a key is due: the ZSK
/// becomes active without any command, recorded with the actor `scheduler`.
#[test]
fn the_scheduler_wakes_when_a_zone_is_due() {
    let sb = fast_sandbox(true);
    let _d = Daemon::start(&sb, &[]);
    sb.ok("zone add --zone fast.test --policy fast");
    let start = Instant::now();
    loop {
        let keys = sb.ok("key list").out;
        if keys
            .lines()
            .any(|l| l.contains("ZSK") && l.contains("active"))
        {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(60), "{keys}");
        std::thread::sleep(Duration::from_millis(250));
    }
    let log = sb.ok("log show --json --zone fast.test").out;
    assert!(
        log.lines().any(|l| l.contains("\"actor\":\"scheduler\"")
            && l.contains("\"cause\":\"scheduler\"")),
        "{log}"
    );
}

/// Start-up failures: OpenDNSSEC's exit codes, and the log untouched.
#[test]
fn daemon_start_up_failures() {
    let bin = env!("CARGO_BIN_EXE_ods-enforcerd");
    let run = |args: &[&str]| {
        let o = std::process::Command::new(bin).args(args).output().unwrap();
        (
            o.status.code(),
            String::from_utf8_lossy(&o.stdout).into_owned(),
            String::from_utf8_lossy(&o.stderr).into_owned(),
        )
    };
    let (code, out, _) = run(&["-V"]);
    assert_eq!(code, Some(0));
    assert!(out.contains("version 2.1.12"), "{out}");
    assert_eq!(run(&["--bogus"]).0, Some(2));
    assert_eq!(run(&["-d", "extra"]).0, Some(2));
    let (code, _, err) = run(&["-d", "--set-time", "yesterday"]);
    assert_eq!(code, Some(1));
    assert!(
        err.contains("Failed to interpret start time argument"),
        "{err}"
    );

    // No log yet.
    let sb = Sandbox::new();
    let conf = sb.conf().display().to_string();
    let (code, _, err) = run(&["-d", "-c", &conf]);
    assert_eq!(code, Some(3), "{err}");
    assert!(
        err.contains("setup failed") && err.contains("ods-enforcer setup"),
        "{err}"
    );
    assert!(!sb.path("enforcer/enforcer.sock").exists());
    // Invalid conf.xml.
    std::fs::write(sb.path("bad.xml"), "<Configuration><Common/>").unwrap();
    let bad = sb.path("bad.xml").display().to_string();
    assert_eq!(run(&["-d", "-c", &bad]).0, Some(2));
    // --set-time on a system-clock log.
    sb.ok("setup");
    let before = sb.log_bytes();
    let (code, _, err) = run(&["-d", "-c", &conf, "--set-time", "1700000000"]);
    assert_eq!(code, Some(3), "{err}");
    assert!(err.contains("simulated clock"), "{err}");
    assert!(before == sb.log_bytes());
    // A second daemon while one runs.
    let d = Daemon::start(&sb, &[]);
    let (code, _, err) = run(&["-d", "-c", &conf]);
    assert_eq!(code, Some(3), "{err}");
    assert!(d.log().is_empty() || !d.log().contains("panicked"));
    // -i prints the configuration.
    let (code, out, _) = run(&["-i", "-c", &conf]);
    assert_eq!(code, Some(0));
    assert!(
        out.contains(&sb.path("enforcer").display().to_string()),
        "{out}"
    );
}

/// `--set-time` on a simulated-clock log moves its clock (recorded as an event).
#[test]
fn set_time_moves_a_simulated_clock() {
    let sb = Sandbox::with_token();
    let d = Daemon::start(&sb, &["--set-time", "2025-06-01-00:00:00"]);
    let r = sb.ok("queue");
    assert!(
        r.out.contains("It is now Sun Jun  1 00:00:00 2025"),
        "{r:?} {}",
        d.log()
    );
}

/// With no command words `ods-enforcer` reads commands at a prompt, through the daemon
/// and daemonless alike.
#[test]
fn interactive_mode_reads_commands_at_a_prompt() {
    use std::io::Write;
    let sb = fast_sandbox(false);
    let session = |sb: &Sandbox| {
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_ods-enforcer"))
            .arg("-c")
            .arg(sb.conf())
            .envs(sb.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(b"zone add --zone i.test --policy fast\nzone list\nbogus\nquit\n")
            .unwrap();
        child.wait_with_output().unwrap()
    };
    let check = |out: &std::process::Output| {
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{out:?}");
        assert!(stdout.starts_with("cmd> "), "{stdout}");
        assert!(stdout.contains("i.test"), "{stdout}");
        assert!(stderr.contains("Daemon exit code: 0\n"), "{stderr}");
        assert!(
            stderr.contains("Unknown command bogus.\nDaemon exit code: 1\n"),
            "{stderr}"
        );
    };
    let d = Daemon::start(&sb, &[]);
    check(&session(&sb));
    drop(d);
    sb.ok("zone delete --zone i.test");
    check(&session(&sb));
}

/// With no DS hook configured (the sandbox conf.xml has none, like OpenDNSSEC's stock
/// one), the ds-submit task logs 2.1.12's error and marks the DS submitted all the same:
/// `key list` says "waiting for ds-seen" and `key ds-seen` finds the KSK (corner
/// F13-no-ds-commands for the rest).
#[test]
fn ds_submit_without_a_hook_is_logged_and_marks_the_ds_submitted() {
    let sb = fast_sandbox(false);
    let d = Daemon::start(&sb, &[]);
    sb.ok("zone add --zone fast.test --policy fast");
    let mut leaps = 0;
    while !sb
        .ok("key list --verbose")
        .out
        .contains("waiting for ds-seen")
    {
        assert!(
            leaps < 10,
            "{}\n{}",
            sb.ok("key list --verbose").out,
            d.log()
        );
        sb.ok("time leap");
        leaps += 1;
    }
    let log = d.log();
    assert!(
        log.contains(
            "ods-enforcerd: error: [keystate_ds_x_cmd] No \"DelegationSignersubmitCommand\" \
             configured."
        ),
        "{log}"
    );
    let r = sb.ok("key ds-seen --all");
    assert!(r.out.contains("1 KSK matches found."), "{r:?}");
}

/// The daemon logs what OpenDNSSEC 2.1.12 logs when it makes the same decisions, with
/// its text (docs/daemon-log.md); without a syslog facility the lines go to stderr.
#[test]
fn the_daemon_logs_opendnssecs_messages() {
    let mut sb = fast_sandbox(false);
    sb.env
        .push(("KASP_SIGNER_COMMAND".into(), "/bin/true".into()));
    let d = Daemon::start(&sb, &[]);
    sb.ok("zone add --zone ods --policy fast");
    sb.ok("key rollover --zone ods --keytype ZSK");
    sb.ok("zonelist export");
    sb.ok("zonelist import");
    let mut submitted = false;
    for _ in 0..20 {
        sb.ok("time leap");
        if d.log().contains("please submit DS") {
            submitted = true;
            break;
        }
    }
    assert!(submitted, "{}", d.log());
    let tag = sb
        .ok("key list --verbose")
        .out
        .lines()
        .find(|l| l.contains("KSK"))
        .and_then(|l| l.split_whitespace().last().map(str::to_string))
        .unwrap();
    let log = d.log();
    // The import changed nothing (the list was just exported): as in 2.1.12
    // (ZONELIST_IMPORT_NO_CHANGE) the internal zone list is neither exported nor logged.
    // OpenDNSSEC's own test ods-enforcer.zones_and_zonelist counts the line after imports
    // that change something (tests/upstream.rs).
    assert!(
        !log.contains("[zonelist_import_cmd] internal zonelist exported successfully"),
        "{log}"
    );
    for line in [
        "msg: [engine] enforcer started".to_string(),
        "msg: [zone_add_cmd] zone ods added [policy: fast]".to_string(),
        "msg: [zone_add_cmd] internal zonelist updated successfully".to_string(),
        "msg: 1 zone(s) found on policy \"fast\"".to_string(),
        "msg: 1 new KSK(s) (256 bits) need to be created.".to_string(),
        "msg: [enforcer] update zone: ods".to_string(),
        "msg: [signconf_cmd] signconf done for zone ods, notifying signer".to_string(),
        "msg: [keystate_rollover_cmd] Manual rollover initiated for ZSK on Zone: ods".to_string(),
        format!(
            "msg: [zonelist_export_cmd] zonelist exported to {} successfully",
            sb.path("zonelist.xml").display()
        ),
        "msg: Time leap: Leaping to time ".to_string(),
        format!("warning: [enforce_task] please submit DS with keytag {tag} for zone ods"),
    ] {
        assert!(
            log.contains(&line),
            "no {line:?} in the daemon's log:\n{log}"
        );
    }
}

/// Through the daemon too: a production log refuses `time leap`; a log set up for
/// testing leaps, and its clock then stands at the time it leapt to (OpenDNSSEC's).
#[test]
fn time_leap_on_a_daemon_that_follows_the_system_clock() {
    let sb = fast_sandbox(true);
    let d = Daemon::start(&sb, &[]);
    let r = sb.sh("time leap --time 2031-01-01-00:00:00");
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.err.contains("setup --testing"), "{r:?}");
    drop(d);

    let mut sb = fast_sandbox(true);
    std::fs::remove_file(sb.log_path()).unwrap();
    sb.ok("setup --testing");
    sb.ok("policy import");
    sb.env
        .push(("KASP_SIGNER_COMMAND".into(), "/bin/true".into()));
    let d = Daemon::start(&sb, &[]);
    sb.ok("zone add --zone fast.test --policy fast");
    sb.ok("time leap --time 2031-01-01-00:00:00");
    let now = || {
        let out = sb.ok("queue").out;
        out.lines()
            .find(|l| l.starts_with("It is now"))
            .unwrap_or_default()
            .to_string()
    };
    let first = now();
    assert!(
        first.contains("(1924992000 seconds since epoch)"),
        "{first} {}",
        d.log()
    );
    // A second of the system clock passes: the leapt clock must not follow it.
    std::thread::sleep(Duration::from_millis(1100));
    assert_eq!(now(), first);
    assert!(
        d.log()
            .contains("Time leap: Leaping to time Wed Jan  1 00:00:00 2031")
    );
}

/// A refused PIN is logged in OpenDNSSEC's words (upstream tests wait for this line).
#[test]
fn a_refused_pin_is_logged_as_opendnssec_logs_it() {
    let sb = fast_sandbox(false);
    let conf = std::fs::read_to_string(sb.conf()).unwrap();
    let wrong = conf.replace(crate::common::PIN, "1111");
    assert_ne!(conf, wrong);
    std::fs::write(sb.conf(), wrong).unwrap();
    let d = Daemon::start(&sb, &[]);
    // The repositories are opened after the socket answers: wait for the line, as
    // OpenDNSSEC's tests do (syslog_waitfor).
    let line = "error: [engine] hsm_session_init(): Incorrect PIN for repository SoftHSM";
    let start = Instant::now();
    while !d.log().contains(line) {
        assert!(start.elapsed() < Duration::from_secs(30), "{}", d.log());
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// conf.xml's `<WorkerThreads>N</WorkerThreads>` (after WorkingDirectory, as conf.rng
/// orders them).
fn worker_threads(sb: &Sandbox, n: u32) {
    let conf = std::fs::read_to_string(sb.conf()).unwrap();
    let conf = conf.replacen(
        "</Enforcer>",
        &format!("\t<WorkerThreads>{n}</WorkerThreads>\n\t</Enforcer>"),
        1,
    );
    std::fs::write(sb.conf(), conf).unwrap();
}

/// The lines of `key list` after its header.
fn listed_keys(sb: &Sandbox) -> Vec<String> {
    sb.ok("key list")
        .out
        .lines()
        .skip(2)
        .map(str::to_string)
        .collect()
}

/// `WorkerThreads` 0 on a log set up for testing, as OpenDNSSEC's daemon: a zone added
/// is not run (no keys) until `time leap --attach` performs its task; a plain `time
/// leap` only moves the clock. A restart forgets the leapt time: the clock follows the
/// system clock again (`ClockReleased`).
#[test]
fn no_worker_threads_wait_for_time_leap_attach() {
    let sb = fast_sandbox(true);
    std::fs::remove_file(sb.log_path()).unwrap();
    sb.ok("setup --testing");
    sb.ok("policy import");
    worker_threads(&sb, 0);
    let mut sb = sb;
    sb.env
        .push(("KASP_SIGNER_COMMAND".into(), "/bin/true".into()));
    let mut d = Daemon::start(&sb, &[]);
    sb.ok("zone add --zone fast.test --policy fast");
    assert_eq!(listed_keys(&sb), Vec::<String>::new(), "{}", d.log());
    let queue = sb.ok("queue").out;
    assert!(queue.contains("I will enforce zone fast.test"), "{queue}");
    let leap = sb.ok("time leap --time 2031-01-01-00:00:00");
    assert!(leap.out.contains("Waking up workers"), "{leap:?}");
    assert_eq!(listed_keys(&sb), Vec::<String>::new(), "{}", d.log());
    let attached = sb.ok("time leap --attach");
    assert!(
        attached
            .out
            .contains("Leaping to time Wed Jan  1 00:00:00 2031"),
        "{attached:?}"
    );
    let keys = listed_keys(&sb);
    assert_eq!(keys.len(), 2, "{keys:?} {}", d.log());
    // The next leap goes to the zone's next change and performs it.
    let before = sb.ok("queue").out;
    sb.ok("time leap --attach");
    assert_ne!(sb.ok("queue").out, before);

    sb.ok("stop");
    d.wait();
    let d = Daemon::start(&sb, &[]);
    let out = sb.ok("queue").out;
    let now = out
        .lines()
        .find(|l| l.starts_with("It is now"))
        .unwrap_or_default();
    assert!(!now.contains("2031"), "the leapt time is forgotten: {now}");
    let history = sb.ok("log show").out;
    assert!(
        history.contains("Clock follows the system clock again (it had leapt to"),
        "{history}"
    );
    drop(d);
}

/// `WorkerThreads` 0 on a production log, which refuses `time leap`: OpenDNSSEC's daemon
/// would never run a task; kasp-ledger's runs them as with one worker and says so.
#[test]
fn no_worker_threads_on_a_production_log_run_as_one() {
    let mut sb = fast_sandbox(true);
    worker_threads(&sb, 0);
    sb.env
        .push(("KASP_SIGNER_COMMAND".into(), "/bin/true".into()));
    let d = Daemon::start(&sb, &[]);
    sb.ok("zone add --zone fast.test --policy fast");
    assert_eq!(listed_keys(&sb).len(), 2, "{}", d.log());
    assert!(
        d.log().contains("WorkerThreads is 0"),
        "the start-up warning: {}",
        d.log()
    );
}

/// A zone that needs a key the pool lacks (manual key generation, nothing generated): the
/// daemon logs OpenDNSSEC's two warnings between the run's first line and its dead-key
/// purge (the policy purges).
#[test]
fn a_zone_short_of_keys_is_logged_as_opendnssec_logs_it() {
    let mut sb = fast_sandbox(false);
    crate::common::conf_element(&sb, "<ManualKeyGeneration/>");
    sb.env
        .push(("KASP_SIGNER_COMMAND".into(), "/bin/true".into()));
    let d = Daemon::start(&sb, &[]);
    sb.ok("zone add --zone ods --policy fast");
    let log = d.log();
    for line in [
        "msg: [enforcer] update zone: ods",
        "warning: [hsm_key_factory_get_key] no keys available",
        "warning: [enforcer] updatePolicy: No keys available in HSM for policy fast, retry in \
         60 seconds",
    ] {
        assert!(
            log.contains(line),
            "no {line:?} in the daemon's log:\n{log}"
        );
    }
    let at = |line: &str| log.find(line).unwrap_or(usize::MAX);
    assert!(
        at("[enforcer] update zone: ods") < at("no keys available")
            && at("retry in 60 seconds") < at("looking for keys to purge"),
        "{log}"
    );
}
