//! `kasp-hsm-bench`: HSM key generation through kasp-ledger versus the token's own speed.
//!
//! Run: `cargo run --release --locked -p kasp-cli --bin kasp-hsm-bench [-- --quick]`
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
//! conf.xml parsing are not measured; neither is `engine::Context::run`'s re-open + fold
//! of the log before each command. The token is emptied (untimed) between algorithms.
//! Besides, after every raw key the bench times (outside the raw figure) the two extra
//! token calls `Pkcs11Store::generate` makes: the CKA_ID search of `exists` and the read
//! of the public key.

use anyhow::{Context as _, Result, bail, ensure};
use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::{Error as CkError, RvError};
use cryptoki::object::{Attribute, AttributeType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::types::AuthPin;
use kasp_cli::engine::system_now;
use kasp_events::{
    Actor, BackupState, ClockMode, Event, EventLog, FORMAT, InstanceId, KeyGenerated,
    KeyGenerationStarted, KeyRole, KeySpec, LogCreated, NewEvent, PolicyName,
};
use kasp_hsm::{
    Algorithm, HsmThread, KeyStore, Locator, RepositoryConfig, Secret, Timeouts, key_pair_template,
};
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

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

fn random_bytes<const N: usize>() -> Result<[u8; N]> {
    let mut b = [0u8; N];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut b)?;
    Ok(b)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn module() -> Result<PathBuf> {
    if let Some(m) = std::env::var_os("KASP_HSM_BENCH_MODULE") {
        return Ok(m.into());
    }
    MODULES
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
        .context(
            "no SoftHSM2 module found (apt-get install softhsm2, or set KASP_HSM_BENCH_MODULE)",
        )
}

/// `softhsm2-util --init-token` for a fresh token in the tokendir of `SOFTHSM2_CONF`.
fn init_token(pin: &str, so_pin: &str) -> Result<()> {
    let out = Command::new("softhsm2-util")
        .args(["--init-token", "--free", "--label", LABEL, "--pin", pin])
        .args(["--so-pin", so_pin])
        .output()
        .context("running softhsm2-util (apt-get install softhsm2)")?;
    if !out.status.success() {
        bail!(
            "softhsm2-util --init-token: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(())
}

/// The token reached directly through cryptoki, without kasp-hsm.
struct Raw {
    session: Session,
}

impl Raw {
    fn open(module: &Path, pin: &str) -> Result<Raw> {
        let ctx = Pkcs11::new(module)?;
        match ctx.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
            Ok(()) | Err(CkError::Pkcs11(RvError::CryptokiAlreadyInitialized, _)) => {}
            Err(e) => return Err(e.into()),
        }
        let slot = ctx
            .get_slots_with_token()?
            .into_iter()
            .find(|s| {
                ctx.get_token_info(*s)
                    .is_ok_and(|i| i.label().trim_end() == LABEL)
            })
            .context("the bench token is not there")?;
        let session = ctx.open_rw_session(slot)?;
        let auth: AuthPin = pin.to_string().into();
        match session.login(UserType::User, Some(&auth)) {
            Ok(()) | Err(CkError::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => {}
            Err(e) => return Err(e.into()),
        }
        // `ctx` may go: the session holds the context, and dropping it does not finalize.
        Ok(Raw { session })
    }

    fn id(&self) -> Result<[u8; 16]> {
        let mut id = [0u8; 16];
        self.session.generate_random_slice(&mut id)?;
        Ok(id)
    }

    /// `C_GenerateKeyPair` with OpenDNSSEC's templates (libhsm's `hsm_generate_*_key`,
    /// as kasp-hsm's `token::key_pair_template` makes them with every option off).
    fn generate(
        &self,
        id: &[u8; 16],
        algorithm: Algorithm,
        bits: u32,
    ) -> Result<(ObjectHandle, ObjectHandle)> {
        // Exactly the templates `Pkcs11Store::generate` uses (OpenDNSSEC's layout).
        let t = key_pair_template(&Locator(*id), algorithm, bits, true, false);
        let (mechanism, public, private) = (t.mechanism, t.public, t.private);
        Ok(self
            .session
            .generate_key_pair(&mechanism, &public, &private)?)
    }

    /// Times the private-key search by CKA_ID that `Pkcs11Store::generate` makes first
    /// (`exists`), for an ID not on the token.
    fn find(&self) -> Result<Duration> {
        let id = self.id()?;
        let t = Instant::now();
        let found = self.session.find_objects(&[
            Attribute::Class(ObjectClass::PRIVATE_KEY),
            Attribute::Id(id.to_vec()),
        ])?;
        let d = t.elapsed();
        ensure!(found.is_empty(), "a random CKA_ID is taken");
        Ok(d)
    }

    /// Times the read of a new public key that `Pkcs11Store::generate` makes last.
    fn read(&self, public: ObjectHandle, algorithm: Algorithm) -> Result<Duration> {
        let wanted: &[AttributeType] = if algorithm.is_rsa() {
            &[AttributeType::Modulus, AttributeType::PublicExponent]
        } else {
            &[AttributeType::EcPoint]
        };
        let t = Instant::now();
        let attrs = self.session.get_attributes(public, wanted)?;
        let d = t.elapsed();
        ensure!(attrs.len() == wanted.len(), "public key attributes missing");
        Ok(d)
    }

    /// Destroys every object on the token; returns how many there were.
    fn clear(&self) -> Result<usize> {
        let all = self.session.find_objects(&[])?;
        for h in &all {
            self.session.destroy_object(*h)?;
        }
        Ok(all.len())
    }
}

/// kasp-ledger's side: the repository on its HSM thread and the event log.
struct Project {
    hsm: HsmThread,
    log: EventLog,
}

fn spec(case: &Case) -> Result<KeySpec> {
    Ok(KeySpec {
        repository: REPOSITORY.to_string(),
        policy: PolicyName::new("bench")?,
        role: KeyRole::Zsk,
        algorithm: case.algorithm.number(),
        bits: case.bits,
    })
}

fn new_event(event: Event) -> NewEvent {
    NewEvent {
        at: system_now(),
        actor: Actor::Operator("bench".into()),
        cause: "key generate --all".into(),
        event,
    }
}

fn started(locator: Locator, spec: &KeySpec) -> NewEvent {
    let spec = spec.clone();
    new_event(KeyGenerationStarted { locator, spec }.into())
}

fn generated(locator: Locator, spec: &KeySpec, public_key: Vec<u8>) -> NewEvent {
    new_event(
        KeyGenerated {
            locator,
            spec: spec.clone(),
            public_key,
            backup: BackupState::NotRequired,
            adopted: false,
        }
        .into(),
    )
}

impl Project {
    fn open(dir: &Path, module: &Path, pin: &str) -> Result<Project> {
        let config = RepositoryConfig::new(REPOSITORY, module, LABEL, Some(Secret::new(pin)));
        let hsm = HsmThread::open(config, Timeouts::default())?;
        let now = system_now();
        let created = LogCreated {
            format: FORMAT,
            instance: InstanceId(random_bytes()?),
            clock: ClockMode::System,
        };
        let log = EventLog::create(
            &dir.join("events.redb"),
            created,
            now,
            Actor::System,
            "kasp-hsm-bench",
        )?
        .0;
        Ok(Project { hsm, log })
    }

    /// One durable transaction.
    fn append(&mut self, events: Vec<NewEvent>) -> Result<()> {
        self.log.append(self.log.head(), events, |_| None)?;
        Ok(())
    }

    fn generate(&mut self, locator: &Locator, case: &Case) -> Result<Vec<u8>> {
        let key = self.hsm.generate(locator, case.algorithm, case.bits)?;
        ensure!(!key.is_empty(), "empty public key");
        Ok(key)
    }

    /// `keygen.rs` for a need of one key: intent, HSM, outcome, one transaction each.
    fn one(&mut self, case: &Case, spec: &KeySpec, s: &mut Samples) -> Result<()> {
        let t0 = Instant::now();
        let locator = self.hsm.random_locator()?;
        let t1 = Instant::now();
        self.append(vec![started(locator, spec)])?;
        let t2 = Instant::now();
        let key = self.generate(&locator, case)?;
        let t3 = Instant::now();
        self.append(vec![generated(locator, spec, key)])?;
        let t4 = Instant::now();
        s.add(t4 - t0);
        s.random += t1 - t0;
        s.intent += t2 - t1;
        s.generate += t3 - t2;
        s.outcome += t4 - t3;
        Ok(())
    }

    /// `keygen.rs` for a need of `n` keys: all intents in one transaction, then one
    /// outcome transaction per key. With `batch_outcomes`, the outcomes in one
    /// transaction too. The shared part is spread evenly over the keys.
    fn batch(
        &mut self,
        case: &Case,
        spec: &KeySpec,
        n: usize,
        batch_outcomes: bool,
        s: &mut Samples,
    ) -> Result<()> {
        let t = Instant::now();
        let locators = (0..n)
            .map(|_| self.hsm.random_locator())
            .collect::<Result<Vec<_>, _>>()?;
        self.append(locators.iter().map(|l| started(*l, spec)).collect())?;
        let mut shared = t.elapsed();
        let mut own = Vec::with_capacity(n);
        let mut outcomes = Vec::with_capacity(n);
        for l in &locators {
            let t = Instant::now();
            let key = self.generate(l, case)?;
            if batch_outcomes {
                outcomes.push(generated(*l, spec, key));
            } else {
                self.append(vec![generated(*l, spec, key)])?;
            }
            own.push(t.elapsed());
        }
        if batch_outcomes {
            let t = Instant::now();
            self.append(outcomes)?;
            shared += t.elapsed();
        }
        for d in own {
            s.add(d + shared / n as u32);
        }
        Ok(())
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

fn ms(d: Duration) -> String {
    let x = d.as_secs_f64() * 1e3;
    if x < 10.0 {
        format!("{x:.2}")
    } else {
        format!("{x:.1}")
    }
}

fn print_tables(results: &[AlgorithmResult]) {
    println!(
        "| algorithm | keys per side | raw keys/s | project keys/s | raw ms/key median (mean) \
         | project ms/key median (mean) | extra ms/key | overhead (mean) | overhead (median) |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    for r in results {
        let (raw, p) = (r.side(Side::Raw), r.side(Side::Project));
        println!(
            "| {} | {} | {:.1} | {:.1} | {} ({}) | {} ({}) | {:.2} | {:+.1} % | {:+.1} % |",
            r.case.name(),
            r.case.keys,
            raw.rate(),
            p.rate(),
            ms(raw.median()),
            ms(raw.mean()),
            ms(p.median()),
            ms(p.mean()),
            r.extra_ms(Side::Project),
            r.overhead(Side::Project),
            r.overhead_median(Side::Project),
        );
    }
    println!();
    println!(
        "| algorithm | keys per round | project: 1 transaction per event | intents batched \
         (keygen.rs per need) | intents and outcomes batched |"
    );
    println!("|---|---:|---:|---:|---:|");
    for r in results {
        let cell = |s: Side| {
            format!(
                "{:.1} keys/s, {:+.2} ms/key, {:+.1} %",
                r.side(s).rate(),
                r.extra_ms(s),
                r.overhead(s)
            )
        };
        println!(
            "| {} | {} | {} | {} | {} |",
            r.case.name(),
            r.case.batch,
            cell(Side::Project),
            cell(Side::IntentsBatched),
            cell(Side::AllBatched),
        );
    }
    println!();
    println!(
        "| algorithm | raw C_GenerateKeyPair | project: random_locator | intent append \
         | HsmThread::generate | outcome append | exists search, mean (at N objects) \
         | public key read | hand-off + noise | sum of the parts | estimate: no exists search \
         | estimate: no exists search, all batched |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for r in results {
        let (raw, p) = (r.side(Side::Raw), r.side(Side::Project));
        let n = p.per_key.len() as u32;
        let nr = raw.per_key.len() as u32;
        let f = |d: Duration| d.as_secs_f64() * 1e3;
        let rest = f(p.generate / n) - f(raw.mean()) - f(r.find / nr) - f(r.read / nr);
        let parts =
            f(p.random / n) + f(p.intent / n) + f(p.outcome / n) + f(r.find / nr) + f(r.read / nr);
        let pct = |x: f64| x / f(raw.mean()) * 100.0;
        // Without the search, and with a round's intents in one transaction and its
        // outcomes in another (each costs about what a one-event transaction costs).
        let lean = parts - f(r.find / nr);
        let batched = f(p.random / n)
            + f(r.read / nr)
            + (f(p.intent / n) + f(p.outcome / n)) / r.case.batch as f64;
        println!(
            "| {} | {} | {} | {} | {} | {} | {} ({} at {}) | {} | {:+.2} | {:.2} ({:.1} %) \
             | {:.2} ({:.1} %) | {:.2} ({:.1} %) |",
            r.case.name(),
            ms(raw.mean()),
            ms(p.random / n),
            ms(p.intent / n),
            ms(p.generate / n),
            ms(p.outcome / n),
            ms(r.find / nr),
            ms(r.find_at_end),
            r.objects,
            ms(r.read / nr),
            rest,
            parts,
            pct(parts),
            lean,
            pct(lean),
            batched,
            pct(batched),
        );
    }
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
    std::fs::create_dir_all(dir.join("tokens"))?;
    let result = run(&dir, &conf, quick);
    let _ = std::fs::remove_dir_all(&dir);
    let results = result?;
    print_tables(&results);
    Ok(())
}

fn run(dir: &Path, conf: &Path, quick: bool) -> Result<Vec<AlgorithmResult>> {
    std::fs::write(
        conf,
        format!(
            "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n",
            dir.join("tokens").display()
        ),
    )?;
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
