//! A signer notify that never returns, in the daemon: the zones' notifies run side by
//! side (crates/engine/src/effect_pool.rs), each is killed with its whole process group
//! at its time limit, and while the writer waits for them another client's read-only
//! commands are answered from the view the writer published
//! (crates/cli/src/daemon/reader.rs).

use crate::daemon::support::{Daemon, fast_sandbox};
use std::time::{Duration, Instant};

/// The signer notify's time limit (crates/engine/src/signconf.rs, `NOTIFY_TIMEOUT`).
const NOTIFY_TIMEOUT: Duration = Duration::from_secs(30);

const ZONES: [&str; 3] = ["a.test", "b.test", "c.test"];

/// Whether process `pid` still runs (exists and is no zombie).
fn runs(pid: &str) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        let state = stat.rfind(')').map(|close| stat[close + 1..].trim_start());
        !state.is_some_and(|s| s.starts_with('Z'))
    })
}

#[test]
fn a_hung_signer_blocks_no_reader_and_leaves_no_process() {
    let mut sb = fast_sandbox(false);
    // Once `hang` exists: three children that never end, then the pids of the notify
    // and its children written (`group.<zone>`), and a wait for them.
    let notify = crate::common::script(
        &sb,
        "notify.sh",
        &format!(
            "if [ -e {dir}/hang ]; then
  sleep 1000 & a=$!
  sleep 1000 & b=$!
  sleep 1000 & c=$!
  echo $$ $a $b $c > {dir}/group.$2
  wait
fi",
            dir = sb.root().display()
        ),
    );
    sb.env.push(("KASP_SIGNER_COMMAND".into(), notify));
    let d = Daemon::start(&sb, &[]);
    for zone in ZONES {
        sb.ok(&format!("zone add --zone {zone} --policy fast"));
    }
    // Answered from the view published before each `zone add` was acknowledged.
    let listed = sb.ok("zone list").out;
    assert!(ZONES.iter().all(|z| listed.contains(z)), "{listed}");
    std::fs::write(sb.path("hang"), "").unwrap();
    // Every zone's signconf, and with it a notify that hangs.
    let started = Instant::now();
    let in_flight = {
        let socket = d.socket.clone();
        std::thread::spawn(move || {
            let mut stream = std::os::unix::net::UnixStream::connect(socket).unwrap();
            let mut got = kasp_cli::output::Captured::default();
            let code = kasp_cli::remote::command(&mut stream, "signconf", &mut got);
            (code, got)
        })
    };
    let group = |zone: &str| sb.path(&format!("group.{zone}"));
    while !group(ZONES[0]).exists() {
        assert!(
            started.elapsed() < NOTIFY_TIMEOUT,
            "the notify never started: {}",
            d.log()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // The writer waits for the hung notify; the reads do not.
    let r = sb.ok("zone list");
    assert_eq!(r.out, listed);
    assert!(sb.ok("key list").out.contains("a.test"));
    assert!(sb.ok("policy list").out.contains("fast"));
    assert!(
        !in_flight.is_finished(),
        "the reads were answered only after the hung run ({:?})",
        started.elapsed()
    );
    let (code, got) = in_flight.join().unwrap();
    assert_eq!(code, 0, "{got:?}");
    let took = started.elapsed();
    // Side by side: one time limit, not one per zone.
    assert!(
        took < NOTIFY_TIMEOUT * 2,
        "{} hung notifies took {took:?} (limit {NOTIFY_TIMEOUT:?} each)",
        ZONES.len()
    );
    // Each timed-out notify was killed with everything it started.
    for zone in ZONES {
        let pids = std::fs::read_to_string(group(zone))
            .unwrap_or_else(|_| panic!("the notify of {zone} did not run"));
        let pids: Vec<&str> = pids.split_whitespace().collect();
        assert_eq!(pids.len(), 4, "{pids:?}");
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let left: Vec<&&str> = pids.iter().filter(|pid| runs(pid)).collect();
            if left.is_empty() {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "processes of the notify of {zone} still run: {left:?} of {pids:?}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    // Nothing hangs any more: the next run goes through.
    std::fs::remove_file(sb.path("hang")).unwrap();
    assert_eq!(sb.ok("zone list").out, listed);
}
