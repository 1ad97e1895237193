//! The cut-over, end to end, as README.md ("Moving from OpenDNSSEC") tells operators to do
//! it: a real OpenDNSSEC 2.1.12 installation in the middle of a ZSK rollover
//! (fixtures/ods-import/02-zsk-prepublication: ZSK2's DNSKEY published, not yet signing)
//! runs with its real enforcer (`/usr/sbin/ods-enforcerd`) and its real signer
//! (`ods-signerd`); OpenDNSSEC's enforcer is stopped (`ods-enforcer stop`), its database
//! imported (`setup --import-ods`), and kasp-ledger's `ods-enforcerd` started on the same
//! conf.xml while the signer keeps running. The signer must go on signing with the same
//! keys from the same signconf files, and then through the rest of the rollover, now
//! driven by kasp-ledger (`time leap` through the daemon): ZSK2 signs, ZSK1 is withdrawn.
//! Every signed zone is checked with `dnssec-verify` and `ldns-verify-zone`.
//!
//! How the enforcers reach the signer. Both enforcers notify the signer by running
//! `ods-signer update <zone>` — OpenDNSSEC's `/usr/sbin/ods-signer`, which kasp-ledger's
//! finds on `PATH` (crates/engine/src/signconf.rs, `notify_signer`) — and that client
//! talks to the signer's fixed socket `/run/opendnssec/engine.sock` (its `-s` option is
//! not used by either enforcer; 2.1.12's conf.rng has no `<Signer><SocketFile>`, see
//! tests/signer/mod.rs). So, as on an operator's machine, the signer and both enforcers
//! run in one set of namespaces ([`Namespaces`]): one `unshare --user --map-root-user
//! --mount --net` holder bind-mounts the installation's `run/` over `/run`, and every
//! daemon enters it with `nsenter`. Inside, `/run/opendnssec/engine.sock` is the running
//! signer's socket, and nothing of the host's `/run` is touched. No fake `ods-signer` is
//! involved: every notify reaches the real signer, and after each one the test waits for
//! the signed zone to be what the signconf now asks (its DNSKEYs, the keys signing the
//! DNSKEY RRset and the SOA, by key tag) with a new serial. The enforcers' own
//! sockets are files of the installation, so the clients (`ods-enforcer` of OpenDNSSEC
//! with `-s`, and kasp-ledger's with `-c`) run outside.
//!
//! Clocks: both enforcers run on the fixture's simulated clock (`--set-time`, then
//! kasp-ledger's `time leap`); the signer signs with the real clock. Key states come from
//! the enforcer, signature validity from the signer, so the verifiers see a zone signed
//! now with the keys the simulated moment publishes and activates.
//!
//! What OpenDNSSEC's enforcer does in the test besides signconf: at start-up 2.1.12
//! enforces the zone (nothing to write: "No changes to signconf file required") and tops
//! up its key pool (`AutomaticKeyGenerationPeriod` P12D: one more KSK), so the database
//! imported is the one it leaves, not the captured one; that is the cut-over's case.

use super::Installation;
use crate::daemon::support::stock;
use crate::signer::{dnssec_verify, ldns_verify};
use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

const FIXTURE: &str = "02-zsk-prepublication";
const ZONE: &str = "zskroll.example";
/// The fixture's keys (fixtures/ods-import/02-zsk-prepublication/views/key-list.txt).
const KSK: &str = "40d03801d98bf1e7ed6d89e08bd4d4d0";
const OLD_ZSK: &str = "aae3011b6deabdb353dd974e6becebc5";
const NEW_ZSK: &str = "b8e04beb3bed66739e9d5263c90af44d";

/// How long a daemon may take to come up, a signer to re-sign, a stopped daemon to end.
const WAIT: Duration = Duration::from_secs(60);
/// How long a daemon sent SIGTERM may take before it is killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(5);
/// The `PATH` of the daemons: Debian's `ods-signer` is in /usr/sbin.
const DAEMON_PATH: &str = "/usr/sbin:/usr/bin:/sbin:/bin";

/// The last `n` lines of a text.
fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// A user, mount and network namespace whose `/run` is a directory of the installation,
/// held open by a sleeping process; daemons enter it with [`Namespaces::command`].
struct Namespaces {
    holder: Child,
}

impl Namespaces {
    fn new(run: &Path, log: PathBuf) -> Namespaces {
        std::fs::create_dir_all(run).unwrap();
        let ready = run.join("namespaces-ready");
        let out = File::create(&log).unwrap();
        let mut holder = Command::new("unshare")
            .args(["--user", "--map-root-user", "--mount", "--net", "--"])
            .args([
                "sh",
                "-c",
                r#"mount --bind "$1" /run && mkdir -p /run/opendnssec && touch /run/namespaces-ready && exec sleep infinity"#,
                "sh",
            ])
            .arg(run)
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run unshare (util-linux): {e}"));
        let started = Instant::now();
        while !ready.exists() {
            let exited = holder.try_wait().unwrap();
            assert!(
                exited.is_none() && started.elapsed() < WAIT,
                "the namespaces did not come up ({exited:?}): {}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Namespaces { holder }
    }

    /// `program` to be run inside the namespaces (as their root, which is the test's user
    /// outside).
    fn command(&self, program: &str) -> Command {
        let mut c = Command::new("nsenter");
        c.arg("-t")
            .arg(self.holder.id().to_string())
            .args(["--user", "--mount", "--net", "--"])
            .arg(program);
        c
    }
}

impl Drop for Namespaces {
    fn drop(&mut self) {
        let _ = self.holder.kill();
        let _ = self.holder.wait();
    }
}

/// A daemon running in the [`Namespaces`] (`nsenter` execs it, so the child is the
/// daemon), its stdout and stderr in `log`. Dropped, it is sent SIGTERM and killed after
/// [`STOP_TIMEOUT`] or as soon as its log shows the crash 2.1.12 sometimes has while
/// shutting down (tests/signer/mod.rs).
struct Daemon {
    name: &'static str,
    child: Option<Child>,
    log: PathBuf,
}

impl Daemon {
    fn start(
        name: &'static str,
        ns: &Namespaces,
        i: &Installation,
        program: &str,
        args: &[&str],
    ) -> Daemon {
        let log = i.path(&format!("{name}.log"));
        let out = File::create(&log).unwrap();
        let child = ns
            .command(program)
            .args(args)
            .env_clear()
            .env("PATH", DAEMON_PATH)
            .env("SOFTHSM2_CONF", i.path("softhsm2.conf"))
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run nsenter (util-linux) for {name}: {e}"));
        Daemon {
            name,
            child: Some(child),
            log,
        }
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Panics, with the end of its log, when the daemon has exited.
    fn assert_running(&mut self, when: &str) {
        if let Some(status) = self.child.as_mut().and_then(|c| c.try_wait().unwrap()) {
            panic!(
                "{when}: {} exited ({status}); its log {} ends with:\n{}",
                self.name,
                self.log.display(),
                tail(&self.log_text(), 40)
            );
        }
    }

    /// Waits for the daemon to end by itself (after `stop`). 2.1.12 sometimes crashes in
    /// `janitor_thread_join` after it has shut down and its crash handler then hangs: that
    /// daemon is killed, and its end counts as clean when its log shows it had shut down.
    fn wait_for_exit(&mut self) -> Option<ExitStatus> {
        let mut child = self.child.take().expect("running");
        let started = Instant::now();
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                return Some(status);
            }
            if self.log_text().contains("Segmentation fault") || started.elapsed() > WAIT {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        if let Ok(pid) = libc::pid_t::try_from(child.id()) {
            // SAFETY: kill(2) on our own child, not reaped yet (try_wait returned None).
            unsafe { libc::kill(pid, libc::SIGTERM) };
            let asked = Instant::now();
            while asked.elapsed() < STOP_TIMEOUT {
                if let Ok(Some(_)) = child.try_wait() {
                    return;
                }
                if self.log_text().contains("Segmentation fault") {
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        let _ = child.kill();
        let _ = child.wait();
    }
}

/// `ods-enforcer stop` with OpenDNSSEC's client, as an operator stops OpenDNSSEC's
/// enforcer. The client prints `Engine shut down.` once the daemon has its order, then
/// waits while `pgrep ods-enforcerd` finds any process of that name: the daemon it stopped
/// until it is reaped (so the daemon is reaped here while the client waits), and any other
/// `ods-enforcerd` of the machine, such as the daemons of tests running in parallel. A
/// client still waiting 5 s after its daemon ended is therefore ended here.
fn stop_opendnssec(ods: &mut Daemon, socket: &Path, out: &Path) {
    let mut client = Command::new(crate::common::stock_client())
        .arg("-s")
        .arg(socket)
        .arg("stop")
        .stdin(Stdio::null())
        .stdout(File::create(out).unwrap())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let ended = ods.wait_for_exit();
    let log = ods.log_text();
    // 2.1.12 now and then crashes in janitor_thread_join once it has taken the order to
    // stop (its worker threads done, everything committed), and its crash handler then
    // hangs: wait_for_exit killed it. An operator's stop meets the same.
    let crashed_stopping =
        log.contains("Segmentation fault") && log.contains("janitor_thread_join");
    assert!(
        ended.is_some_and(|s| s.success())
            || log.contains("[engine] enforcer shutdown")
            || crashed_stopping,
        "OpenDNSSEC's enforcer did not stop ({ended:?}):\n{}",
        tail(&log, 40)
    );
    let waited = Instant::now();
    while client.try_wait().unwrap().is_none() {
        if waited.elapsed() > Duration::from_secs(5) {
            let _ = client.kill();
            let _ = client.wait();
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let said = std::fs::read_to_string(out).unwrap();
    assert!(
        said.contains("Engine shut down."),
        "ods-enforcer stop: {said}"
    );
}

/// What the test looks at in a signed zone file. Key tags are computed from the DNSKEY
/// records themselves.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Signed {
    serial: u64,
    /// The DNSKEY records' RDATA (flags, protocol, algorithm, public key), sorted.
    dnskeys: Vec<String>,
    /// The key tags of the DNSKEY records.
    dnskey_tags: BTreeSet<u16>,
    /// The key tags of the RRSIGs over the DNSKEY RRset.
    dnskey_signers: BTreeSet<u16>,
    /// The key tags of the RRSIGs over the SOA, which every signing makes anew (the
    /// serial changes), so by the keys active when the signer last read the signconf.
    soa_signers: BTreeSet<u16>,
    /// The key tags of every RRSIG but those over the DNSKEY RRset.
    zone_signers: BTreeSet<u16>,
}

/// Standard base64 (RFC 4648), as DNSKEY public keys are written in zone files.
fn base64_decode(text: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in text.bytes().filter(|&c| c != b'=') {
        let v = ALPHABET
            .iter()
            .position(|&a| a == c)
            .unwrap_or_else(|| panic!("not base64: {text}"));
        acc = (acc << 6) | u32::try_from(v).unwrap();
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push(u8::try_from((acc >> bits) & 0xff).unwrap());
        }
    }
    out
}

/// The key tag of a DNSKEY record from its presentation fields (flags, protocol,
/// algorithm, base64 public key, possibly split in several words).
fn dnskey_tag(fields: &[&str]) -> u16 {
    let mut rdata = fields[0].parse::<u16>().unwrap().to_be_bytes().to_vec();
    rdata.push(fields[1].parse().unwrap());
    rdata.push(fields[2].parse().unwrap());
    rdata.extend(base64_decode(&fields[3..].concat()));
    kasp_hsm::dnssec::key_tag(&rdata)
}

fn read_signed(path: &Path) -> Signed {
    let text = std::fs::read_to_string(path).unwrap();
    let mut signed = Signed {
        serial: 0,
        dnskeys: Vec::new(),
        dnskey_tags: BTreeSet::new(),
        dnskey_signers: BTreeSet::new(),
        soa_signers: BTreeSet::new(),
        zone_signers: BTreeSet::new(),
    };
    for line in text.lines() {
        // The signer follows each DNSKEY with a comment (`;{id=…}`); no record here has
        // a `;` of its own.
        let record = line.split(';').next().unwrap();
        let f: Vec<&str> = record.split_whitespace().collect();
        match f.get(3).copied() {
            Some("SOA") if f.len() > 6 => signed.serial = f[6].parse().unwrap(),
            Some("DNSKEY") if f.len() > 7 => {
                signed.dnskeys.push(f[4..].join(" "));
                signed.dnskey_tags.insert(dnskey_tag(&f[4..]));
            }
            Some("RRSIG") if f.len() > 10 => {
                let tag: u16 = f[10].parse().unwrap();
                match f[4] {
                    "DNSKEY" => {
                        signed.dnskey_signers.insert(tag);
                    }
                    covered => {
                        if covered == "SOA" {
                            signed.soa_signers.insert(tag);
                        }
                        signed.zone_signers.insert(tag);
                    }
                }
            }
            _ => {}
        }
    }
    signed.dnskeys.sort();
    signed
}

/// What a signconf file asks the signer for, as key tags: the keys to publish, those
/// signing the DNSKEY RRset (`<KSK/>`) and those signing the zone (`<ZSK/>`).
#[derive(Debug, PartialEq, Eq)]
struct Asked {
    publish: BTreeSet<u16>,
    ksk: BTreeSet<u16>,
    zsk: BTreeSet<u16>,
}

fn asked(signconf: &Path, tags: &BTreeMap<String, u16>) -> Asked {
    let text = std::fs::read_to_string(signconf).unwrap();
    let doc = roxmltree::Document::parse(&text).unwrap();
    let mut a = Asked {
        publish: BTreeSet::new(),
        ksk: BTreeSet::new(),
        zsk: BTreeSet::new(),
    };
    for key in doc.descendants().filter(|n| n.has_tag_name("Key")) {
        let child = |name: &str| key.children().find(|c| c.has_tag_name(name));
        let locator = child("Locator").and_then(|l| l.text()).unwrap();
        let tag = *tags
            .get(locator)
            .unwrap_or_else(|| panic!("{locator} in the signconf is not a key of {FIXTURE}"));
        for (name, set) in [
            ("Publish", &mut a.publish),
            ("KSK", &mut a.ksk),
            ("ZSK", &mut a.zsk),
        ] {
            if child(name).is_some() {
                set.insert(tag);
            }
        }
    }
    a
}

/// Waits until the signer has signed the zone again (a serial above `after`) as the
/// signconf now asks — the DNSKEYs it publishes, the DNSKEY RRset signed by its KSKs, the
/// SOA by its ZSKs — and checks that zone with both verifiers. The signer merges
/// notifies that come while it is signing, so one signing can answer several; what
/// matters is that it signs what the last signconf says.
fn signed_as_asked(
    signer: &mut Daemon,
    i: &Installation,
    after: u64,
    tags: &BTreeMap<String, u16>,
    when: &str,
) -> Signed {
    let path = i.path(&format!("signed/{ZONE}"));
    let signconf = i.path(&format!("signconf/{ZONE}.xml"));
    let started = Instant::now();
    loop {
        signer.assert_running(when);
        let want = asked(&signconf, tags);
        let seen = path.is_file().then(|| read_signed(&path));
        if let Some(s) = seen.as_ref().filter(|s| {
            s.serial > after
                && s.dnskey_tags == want.publish
                && s.dnskey_signers == want.ksk
                && s.soa_signers == want.zsk
        }) {
            dnssec_verify(ZONE, &path).unwrap_or_else(|e| panic!("{when}: {e}"));
            ldns_verify(&path).unwrap_or_else(|e| panic!("{when}: {e}"));
            return s.clone();
        }
        assert!(
            started.elapsed() < WAIT,
            "{when}: the signer did not sign {ZONE} as the signconf asks ({want:?}) within \
             {} s; the signed zone: {seen:?}; its log ends with:\n{}",
            WAIT.as_secs(),
            tail(&signer.log_text(), 40)
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Waits until the wall clock is a whole second past the signconf's modification time.
/// The signer re-reads a signconf on `update` only when its modification time, in whole
/// seconds, is later than that of the version it read last (`signconf_update` in
/// OpenDNSSEC's signer/src/signer/signconf.c): a signconf written again within the second
/// the signer read the previous one is not read until it changes again. Enforcers write
/// signconfs seconds apart at the least in service; the test, which moves a simulated
/// clock, acts faster, so it waits before each action that writes one.
fn after_signconf_second(signconf: &Path) {
    let seconds =
        |t: std::time::SystemTime| t.duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let written = seconds(std::fs::metadata(signconf).unwrap().modified().unwrap());
    while seconds(std::time::SystemTime::now()) <= written {
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Key tag by locator, from what OpenDNSSEC showed (the fixture's `key list --verbose`).
fn keytags(i: &Installation) -> BTreeMap<String, u16> {
    std::fs::read_to_string(i.path("views/key-list-verbose.txt"))
        .unwrap()
        .lines()
        .filter(|l| l.starts_with(ZONE))
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f[f.len() - 3].to_string(), f[f.len() - 1].parse().unwrap())
        })
        .collect()
}

/// The signconf writes kasp-ledger's log records with the signer notified, and any whose
/// notify failed.
fn notifies(i: &Installation) -> (usize, Vec<String>) {
    let r = i.run(&format!("log show --zone {ZONE}"));
    assert_eq!(r.code, 0, "{r:?}");
    let failed = r
        .out
        .lines()
        .filter(|l| l.contains("signer notify failed"))
        .map(str::to_string)
        .collect();
    (r.out.matches("signer notified").count(), failed)
}

#[test]
fn kasp_ledger_takes_over_from_opendnssecs_enforcer_under_a_running_signer_mid_rollover() {
    let i = Installation::copy(FIXTURE);
    let tags = keytags(&i);
    let (ksk, old_zsk, new_zsk) = (tags[KSK], tags[OLD_ZSK], tags[NEW_ZSK]);
    let conf = i.path("conf.xml").display().to_string();
    let time = i.time.to_string();
    let socket = i.path("enforcer/enforcer.sock");
    let signconf = i.path(&format!("signconf/{ZONE}.xml"));
    let zone_list = i.path("enforcer/zones.xml");
    let ns = Namespaces::new(&i.path("run"), i.path("namespaces.log"));

    // OpenDNSSEC's installation, running: its signer signs the zone at start-up with
    // OpenDNSSEC's signconf (both ZSKs published, ZSK1 signing)...
    let mut signer = Daemon::start(
        "ods-signerd",
        &ns,
        &i,
        "/usr/sbin/ods-signerd",
        &["-d", "-c", &conf],
    );
    let first = signed_as_asked(&mut signer, &i, 0, &tags, "OpenDNSSEC, signer start");
    assert_eq!(first.dnskey_tags, BTreeSet::from([ksk, old_zsk, new_zsk]));
    assert_eq!(first.dnskey_signers, BTreeSet::from([ksk]));
    assert_eq!(first.zone_signers, BTreeSet::from([old_zsk]));

    // ...and its enforcer runs beside it, on the fixture's clock; its `signconf` notifies
    // the signer through /usr/sbin/ods-signer, and the signer re-signs.
    let mut ods = Daemon::start(
        "opendnssec-enforcerd",
        &ns,
        &i,
        "/usr/sbin/ods-enforcerd",
        &["-d", "-c", &conf, "--set-time", &time],
    );
    let started = Instant::now();
    while stock(&socket, "running").code != 0 {
        ods.assert_running("OpenDNSSEC's enforcer start");
        assert!(started.elapsed() < WAIT, "{}", ods.log_text());
        std::thread::sleep(Duration::from_millis(100));
    }
    after_signconf_second(&signconf);
    let r = stock(&socket, "signconf");
    assert_eq!(r.code, 0, "{r:?}");
    let resigned = signed_as_asked(&mut signer, &i, first.serial, &tags, "OpenDNSSEC signconf");
    assert_eq!(resigned.dnskeys, first.dnskeys);
    let log = ods.log_text();
    assert!(
        log.contains(&format!("Zone {ZONE} config being updated.")),
        "the real ods-signer's answer to OpenDNSSEC's notify is missing:\n{log}"
    );

    // Two enforcers never run at once: kasp-ledger's daemon, on the same conf.xml, refuses
    // to start while OpenDNSSEC's holds the pid file.
    let r = Command::new(env!("CARGO_BIN_EXE_ods-enforcerd"))
        .args(["-d", "-c", &conf, "--set-time", &time])
        .env("SOFTHSM2_CONF", i.path("softhsm2.conf"))
        .output()
        .unwrap();
    assert_eq!(r.status.code(), Some(3), "{r:?}");
    assert!(
        String::from_utf8_lossy(&r.stderr).contains("is already running"),
        "{r:?}"
    );

    // The cut-over. OpenDNSSEC's enforcer stops...
    stop_opendnssec(&mut ods, &socket, &i.path("ods-enforcer-stop.out"));
    // ...its database is imported, and left as it was...
    let database = std::fs::read(i.path("enforcer/kasp.db")).unwrap();
    let signconf_before = std::fs::read(&signconf).unwrap();
    let zone_list_before = std::fs::read(&zone_list).unwrap();
    let r = i.import("");
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        std::fs::read(i.path("enforcer/kasp.db")).unwrap() == database,
        "the import wrote OpenDNSSEC's database"
    );
    let r = i.run("key list --debug");
    assert_eq!(
        r.out,
        std::fs::read_to_string(i.path("views/key-list-debug.txt")).unwrap(),
        "the imported key states are not those OpenDNSSEC showed"
    );
    // ...and kasp-ledger's daemon starts on the same conf.xml, at the same moment; its
    // start-up enforce leaves the signconf and the signer's zone list as they were.
    let mut kasp = Daemon::start(
        "kasp-ledger-enforcerd",
        &ns,
        &i,
        env!("CARGO_BIN_EXE_ods-enforcerd"),
        &["-d", "-c", &conf, "--set-time", &time],
    );
    let started = Instant::now();
    while !kasp_cli::remote::answers(&socket, Duration::from_secs(5)) {
        kasp.assert_running("kasp-ledger's enforcer start");
        assert!(started.elapsed() < WAIT, "{}", kasp.log_text());
        std::thread::sleep(Duration::from_millis(50));
    }
    // What README.md tells operators to check: through the daemon, after its start-up
    // enforce, the views OpenDNSSEC showed at that moment.
    for (command, view) in [
        ("key list --verbose", "key-list-verbose"),
        ("rollover list", "rollover-list"),
    ] {
        let (shown, code) = i.run_combined(command);
        assert_eq!(code, 0, "{command}: {shown}");
        let expected = std::fs::read_to_string(i.path(&format!("views/{view}.txt"))).unwrap();
        assert_eq!(shown, expected, "{command} after the cut-over");
    }
    let r = i.run("zone list");
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.out.contains(&signconf.display().to_string()), "{r:?}");
    assert!(std::fs::read(&signconf).unwrap() == signconf_before);
    assert!(std::fs::read(&zone_list).unwrap() == zone_list_before);

    // The signer, still the same process, re-signs on kasp-ledger's notify with the same
    // keys.
    after_signconf_second(&signconf);
    let r = i.run("signconf");
    assert_eq!(r.code, 0, "{r:?}");
    assert!(std::fs::read(&signconf).unwrap() == signconf_before);
    let (notified, failed) = notifies(&i);
    assert!(failed.is_empty(), "{failed:?}");
    assert!(notified >= 1, "kasp-ledger's signconf notified no signer");
    let after = signed_as_asked(&mut signer, &i, resigned.serial, &tags, "cut-over");
    assert_eq!(
        after.dnskeys, first.dnskeys,
        "the DNSKEY set changed at the cut-over"
    );
    assert_eq!(after.zone_signers, BTreeSet::from([old_zsk]));

    // kasp-ledger moves the rollover on; after every signconf it writes the signer
    // re-signs as it asks, and the zone stays valid. ZSK2 starts signing, then ZSK1 is
    // withdrawn.
    let mut zsk2_signing = false;
    let mut last = after;
    for leap in 1..=6 {
        let before = std::fs::read(&signconf).unwrap();
        let (notified_before, _) = notifies(&i);
        after_signconf_second(&signconf);
        let r = i.run("time leap");
        assert_eq!(r.code, 0, "{r:?}");
        let (notified, failed) = notifies(&i);
        assert!(failed.is_empty(), "leap {leap}: {failed:?}");
        if notified == notified_before {
            assert!(std::fs::read(&signconf).unwrap() == before, "leap {leap}");
            continue;
        }
        last = signed_as_asked(&mut signer, &i, last.serial, &tags, &format!("leap {leap}"));
        zsk2_signing |= last.soa_signers == BTreeSet::from([new_zsk]);
        if !last.dnskey_tags.contains(&old_zsk) {
            break;
        }
    }
    kasp.assert_running("after the rollover");
    let states = i.run("key list --debug").out;
    assert!(zsk2_signing, "ZSK2 never signed:\n{states}");
    assert_eq!(
        last.dnskey_tags,
        BTreeSet::from([ksk, new_zsk]),
        "ZSK1 was never withdrawn:\n{states}"
    );
    assert!(
        last.dnskeys.iter().all(|k| first.dnskeys.contains(k)),
        "a DNSKEY that was not published before the cut-over: {last:?}"
    );
    assert_eq!(last.dnskey_signers, BTreeSet::from([ksk]), "{last:?}");
    assert_eq!(last.zone_signers, BTreeSet::from([new_zsk]), "{last:?}");
}
