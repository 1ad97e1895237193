//! `kasp-hsm-bench`: HSM key generation through kasp-ledger versus the token's own speed.
//!
//! Run: `cargo run --release --locked -p kasp-tools --bin kasp-hsm-bench [-- --quick]`
//! (`--quick` makes 8 keys per side and algorithm, 4 for RSA-2048, for a smoke run;
//! the full run makes 40, and 24 for RSA-2048 whose generation time varies most).
//! It creates a SoftHSM2 token of its own in a directory under the system temp dir
//! (removed at the end), an event log next to it, and prints Markdown tables.
//!
//! For each algorithm (8 with RSA 1024 and 2048 bits, 13, 14, 15, 16) four sides make
//! the same number of keys on the same token, interleaved in rounds (each round makes a
//! few keys per side, the order of the sides rotating from round to round) so they share
//! the machine's conditions and the token's growing object count:
//!
//! * raw: `C_GenerateKeyPair` through cryptoki with OpenDNSSEC's templates (CKA_ID = 16
//!   random bytes drawn before the clock starts, CKA_LABEL = their hex, token public key,
//!   token private key that is private, sensitive, non-extractable, sign-only) — what
//!   the token must do, nothing else;
//! * project: what `keygen.rs` does for one key: `HsmThread::random_locator`, a
//!   `KeyGenerationStarted` appended to a real redb event log, `HsmThread::generate`
//!   (existence check, key pair, public key read back), `KeyGenerated` appended — one
//!   durable transaction per event;
//! * intents batched: what `keygen.rs` does for a need of several keys: the locators and
//!   all the round's intents in one transaction, then generate + one outcome transaction
//!   per key;
//! * all batched: intents in one transaction, the keys, then all outcomes in one
//!   transaction (still crash-safe: an intent without outcome is adopted by the next run).
//!
//! The library types are used directly, not `ods-enforcer`, so process start-up and
//! conf.xml parsing are not measured; neither is `kasp_engine::Session::run`'s re-open + fold
//! of the log before each command. The token is emptied (untimed) between algorithms.
//! Besides, after every raw key the bench times (outside the raw figure) the two extra
//! token calls `Pkcs11Store::generate` makes: the CKA_ID search of `exists` and the read
//! of the public key.

mod project;
mod raw;
mod report;

use anyhow::{Context as _, Result, ensure};
use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::{Error as CkError, RvError};
use cryptoki::object::{Attribute, AttributeType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::types::AuthPin;
use kasp_engine::system_now;
use kasp_events::{
    Actor, BackupState, ClockMode, Event, EventLog, FORMAT, InstanceId, KeyGenerated,
    KeyGenerationStarted, KeyRole, KeySpec, LogCreated, NewEvent, PolicyName,
};
use kasp_hsm::{
    Algorithm, HsmThread, KeyStore, Locator, RepositoryConfig, Secret, Timeouts, key_pair_template,
};
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use project::{Project, spec};
use raw::{Raw, hex, init_token, module, random_bytes};
use report::{ms, print_tables};

const LABEL: &str = "bench";
const REPOSITORY: &str = "SoftHSM";
const MODULES: &[&str] = &[
    "/usr/lib/softhsm/libsofthsm2.so",
    "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/local/lib/softhsm/libsofthsm2.so",
];

/// The four ways of making a key, in the order of the first round.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Raw,
    Project,
    IntentsBatched,
    AllBatched,
}

const SIDES: [Side; 4] = [
    Side::Raw,
    Side::Project,
    Side::IntentsBatched,
    Side::AllBatched,
];

/// What one algorithm's measurement is made of.
#[derive(Debug, Clone, Copy)]
struct Case {
    algorithm: Algorithm,
    bits: u32,
    /// Keys per side.
    keys: usize,
    /// Keys per side and round.
    batch: usize,
}

impl Case {
    fn name(&self) -> String {
        if self.algorithm.is_rsa() {
            format!("{} RSA-{}", self.algorithm.number(), self.bits)
        } else {
            format!("{} {}", self.algorithm.number(), self.algorithm.mnemonic())
        }
    }
}

/// Per-key times of one side, and for the project side where they went.
#[derive(Debug, Default)]
struct Samples {
    per_key: Vec<Duration>,
    total: Duration,
    /// Project side only: sums over its keys.
    random: Duration,
    intent: Duration,
    generate: Duration,
    outcome: Duration,
}

impl Samples {
    fn add(&mut self, d: Duration) {
        self.per_key.push(d);
        self.total += d;
    }

    fn mean(&self) -> Duration {
        self.total / self.per_key.len() as u32
    }

    fn median(&self) -> Duration {
        let mut v = self.per_key.clone();
        v.sort();
        let n = v.len();
        if n % 2 == 1 {
            v[n / 2]
        } else {
            (v[n / 2 - 1] + v[n / 2]) / 2
        }
    }

    fn rate(&self) -> f64 {
        self.per_key.len() as f64 / self.total.as_secs_f64()
    }
}

/// One algorithm's results.
#[derive(Debug)]
struct AlgorithmResult {
    case: Case,
    sides: [Samples; 4],
    /// Raw timings of the extra calls `Pkcs11Store::generate` makes, summed.
    find: Duration,
    read: Duration,
    /// Objects on the token at the end, and the median `exists` search then.
    objects: usize,
    find_at_end: Duration,
}

impl AlgorithmResult {
    fn side(&self, s: Side) -> &Samples {
        &self.sides[s as usize]
    }

    /// (project − raw) / raw over the total time of the same number of keys.
    fn overhead(&self, s: Side) -> f64 {
        let raw = self.side(Side::Raw).total.as_secs_f64();
        (self.side(s).total.as_secs_f64() - raw) / raw * 100.0
    }

    fn overhead_median(&self, s: Side) -> f64 {
        let raw = self.side(Side::Raw).median().as_secs_f64();
        (self.side(s).median().as_secs_f64() - raw) / raw * 100.0
    }

    /// Extra time per key, in ms, by mean.
    fn extra_ms(&self, s: Side) -> f64 {
        (self.side(s).mean().as_secs_f64() - self.side(Side::Raw).mean().as_secs_f64()) * 1e3
    }
}

fn measure(raw: &Raw, project: &mut Project, case: Case) -> Result<AlgorithmResult> {
    let spec = spec(&case)?;
    let mut sides: [Samples; 4] = Default::default();
    let (mut find, mut read) = (Duration::ZERO, Duration::ZERO);
    // Warm-up, untimed: one key per side.
    let id = raw.id()?;
    raw.generate(&id, case.algorithm, case.bits)?;
    project.one(&case, &spec, &mut Samples::default())?;
    let rounds = case.keys / case.batch;
    for round in 0..rounds {
        for k in 0..SIDES.len() {
            let side = SIDES[(round + k) % SIDES.len()];
            let s = &mut sides[side as usize];
            match side {
                Side::Raw => {
                    let ids = (0..case.batch)
                        .map(|_| raw.id())
                        .collect::<Result<Vec<_>>>()?;
                    for id in &ids {
                        let t = Instant::now();
                        let (public, _) = raw.generate(id, case.algorithm, case.bits)?;
                        s.add(t.elapsed());
                        find += raw.find()?;
                        read += raw.read(public, case.algorithm)?;
                    }
                }
                Side::Project => {
                    for _ in 0..case.batch {
                        project.one(&case, &spec, s)?;
                    }
                }
                Side::IntentsBatched => project.batch(&case, &spec, case.batch, false, s)?,
                Side::AllBatched => project.batch(&case, &spec, case.batch, true, s)?,
            }
        }
        eprint!(".");
    }
    let objects = raw.session.find_objects(&[])?.len();
    let mut at_end = (0..9).map(|_| raw.find()).collect::<Result<Vec<_>>>()?;
    at_end.sort();
    let r = AlgorithmResult {
        case,
        sides,
        find,
        read,
        objects,
        find_at_end: at_end[at_end.len() / 2],
    };
    let (p, raw_s) = (r.side(Side::Project), r.side(Side::Raw));
    let spread = |s: &Samples| {
        let (lo, hi) = (s.per_key.iter().min(), s.per_key.iter().max());
        format!("{}–{} ms", ms(*lo.expect("keys")), ms(*hi.expect("keys")))
    };
    eprintln!(
        " {:<18} raw {:>6.1}/s ({})  project {:>6.1}/s ({})  overhead {:+.1} % (median {:+.1} %)",
        case.name(),
        raw_s.rate(),
        spread(raw_s),
        p.rate(),
        spread(p),
        r.overhead(Side::Project),
        r.overhead_median(Side::Project),
    );
    Ok(r)
}

fn main() -> Result<()> {
    let quick = std::env::args().skip(1).any(|a| a == "--quick");
    let unique = format!(
        "kasp-hsm-bench-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)?
            .as_nanos()
    );
    let dir = std::env::temp_dir().join(unique);
    let conf = dir.join("softhsm2.conf");
    // SAFETY: first thing in main, before any other thread exists (the HSM thread and
    // the SoftHSM module come later) and before anything reads the environment.
    unsafe { std::env::set_var("SOFTHSM2_CONF", &conf) };
    let result = run(&dir, quick);
    let _ = std::fs::remove_dir_all(&dir);
    let results = result?;
    print_tables(&results);
    Ok(())
}

fn run(dir: &Path, quick: bool) -> Result<Vec<AlgorithmResult>> {
    // The file SOFTHSM2_CONF names (dir/softhsm2.conf).
    kasp_cli::softhsm::write_conf(dir).map_err(anyhow::Error::msg)?;
    let pin = hex(&random_bytes::<8>()?);
    let so_pin = hex(&random_bytes::<8>()?);
    init_token(&pin, &so_pin)?;
    let module = module()?;
    eprintln!(
        "kasp-hsm-bench in {} (module {})",
        dir.display(),
        module.display()
    );
    let raw = Raw::open(&module, &pin)?;
    let mut project = Project::open(dir, &module, &pin)?;
    let (fast, slow) = if quick {
        ((8, 4), (4, 2))
    } else {
        ((40, 10), (24, 3))
    };
    let case = |algorithm, bits, (keys, batch): (usize, usize)| Case {
        algorithm,
        bits,
        keys,
        batch,
    };
    let cases = [
        case(Algorithm::RsaSha256, 1024, fast),
        case(Algorithm::RsaSha256, 2048, slow),
        case(Algorithm::EcdsaP256Sha256, 0, fast),
        case(Algorithm::EcdsaP384Sha384, 0, fast),
        case(Algorithm::Ed25519, 0, fast),
        case(Algorithm::Ed448, 0, fast),
    ];
    let mut results = Vec::new();
    for c in cases {
        results.push(measure(&raw, &mut project, c)?);
        let n = raw.clear()?;
        eprintln!("  (token emptied: {n} objects)");
    }
    Ok(results)
}
