//! The project side: kasp-hsm's HSM thread and a real event log.

use super::*;

/// kasp-ledger's side: the repository on its HSM thread and the event log.
pub(crate) struct Project {
    hsm: HsmThread,
    log: EventLog,
}

pub(crate) fn spec(case: &Case) -> Result<KeySpec> {
    Ok(KeySpec {
        repository: REPOSITORY.to_string(),
        policy: PolicyName::new("bench")?,
        role: KeyRole::Zsk,
        algorithm: case.algorithm.number(),
        bits: case.bits,
    })
}

pub(crate) fn new_event(event: Event) -> NewEvent {
    NewEvent {
        at: system_now(),
        actor: Actor::Operator("bench".into()),
        cause: "key generate --all".into(),
        event,
    }
}

pub(crate) fn started(locator: Locator, spec: &KeySpec) -> NewEvent {
    let spec = spec.clone();
    new_event(KeyGenerationStarted { locator, spec }.into())
}

pub(crate) fn generated(locator: Locator, spec: &KeySpec, public_key: Vec<u8>) -> NewEvent {
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
    pub(crate) fn open(dir: &Path, module: &Path, pin: &str) -> Result<Project> {
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
    pub(crate) fn append(&mut self, events: Vec<NewEvent>) -> Result<()> {
        self.log.append(self.log.head(), events, |_| None)?;
        Ok(())
    }

    pub(crate) fn generate(&mut self, locator: &Locator, case: &Case) -> Result<Vec<u8>> {
        let key = self.hsm.generate(locator, case.algorithm, case.bits)?;
        ensure!(!key.is_empty(), "empty public key");
        Ok(key)
    }

    /// `keygen.rs` for a need of one key: intent, HSM, outcome, one transaction each.
    pub(crate) fn one(&mut self, case: &Case, spec: &KeySpec, s: &mut Samples) -> Result<()> {
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
    pub(crate) fn batch(
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
