//! `HsmThread`: one repository's key store on an OS thread of its own, reached through
//! a channel with a deadline on every call.
//!
//! PKCS#11 calls block, and a wedged HSM can block forever. The caller (the daemon's
//! effect executor, the log writer's neighbour) must never wait on it unboundedly: each
//! call waits at most its timeout, then returns [`HsmError::Timeout`] and the thread is
//! abandoned (left to finish or hang on its own; it exits once its current call returns
//! because the channel is gone). Every later call fails at once; open the repository
//! again to continue. The store is created inside the thread, so it need not be `Send`.

use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread;
use std::time::Duration;

use kasp_events::Locator;

use crate::algorithm::Algorithm;
use crate::pkcs11::Pkcs11Store;
use crate::repository::RepositoryConfig;
use crate::store::{HsmError, KeyStore};

/// How long the caller waits for the HSM thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// Loading the module, finding the token, logging in.
    pub open: Duration,
    /// Key generation (RSA-4096 on a slow HSM takes many seconds).
    pub generate: Duration,
    /// Every other call.
    pub call: Duration,
}

impl Default for Timeouts {
    /// 30 s to open, 120 s to generate, 10 s for anything else.
    fn default() -> Timeouts {
        Timeouts {
            open: Duration::from_secs(30),
            generate: Duration::from_secs(120),
            call: Duration::from_secs(10),
        }
    }
}

impl From<Duration> for Timeouts {
    /// The same limit for opening, generating and every other call.
    fn from(limit: Duration) -> Timeouts {
        Timeouts {
            open: limit,
            generate: limit,
            call: limit,
        }
    }
}

type Job = Box<dyn FnOnce(&mut dyn KeyStore) + Send>;

/// A [`KeyStore`] running on its own thread; implements `KeyStore` itself.
#[derive(Debug)]
pub struct HsmThread {
    repository: String,
    timeouts: Timeouts,
    /// `None` once the thread was abandoned after a timeout or died.
    jobs: Option<mpsc::Sender<Job>>,
    /// The thread, joined on drop so that the store is closed (C_Finalize) before the
    /// process exits: a library still running in another thread while the process
    /// tears down crashes (seen with SoftHSM). `None` once a call timed out: a hung
    /// thread is left behind rather than waited for.
    thread: Option<thread::JoinHandle<()>>,
}

impl Drop for HsmThread {
    fn drop(&mut self) {
        // Closing the queue ends the thread's loop; it then drops (closes) the store.
        self.jobs = None;
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl HsmThread {
    /// Opens a [`Pkcs11Store`] for `config` on a new thread. `timeouts` is a
    /// [`Timeouts`] or one `Duration` for every call.
    pub fn open(
        config: RepositoryConfig,
        timeouts: impl Into<Timeouts>,
    ) -> Result<HsmThread, HsmError> {
        let repository = config.name.clone();
        HsmThread::spawn(repository, timeouts.into(), move || {
            Pkcs11Store::open(&config)
        })
    }

    /// Runs the store `open` creates on a new thread named `hsm-<repository>`.
    pub fn spawn<S, F>(
        repository: impl Into<String>,
        timeouts: Timeouts,
        open: F,
    ) -> Result<HsmThread, HsmError>
    where
        S: KeyStore + 'static,
        F: FnOnce() -> Result<S, HsmError> + Send + 'static,
    {
        let repository = repository.into();
        let (jobs, inbox) = mpsc::channel::<Job>();
        let (ready_tx, ready) = mpsc::sync_channel::<Result<(), HsmError>>(1);
        let handle = thread::Builder::new()
            .name(format!("hsm-{repository}"))
            .spawn(move || {
                let mut store = match open() {
                    Ok(store) => store,
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                };
                if ready_tx.send(Ok(())).is_err() {
                    return; // the opener gave up waiting
                }
                for job in inbox {
                    job(&mut store);
                }
            })
            .map_err(|e| HsmError::Pkcs11 {
                repository: repository.clone(),
                op: "open",
                detail: format!("cannot start the HSM thread: {e}"),
            })?;
        match ready.recv_timeout(timeouts.open) {
            Ok(Ok(())) => Ok(HsmThread {
                repository,
                timeouts,
                jobs: Some(jobs),
                thread: Some(handle),
            }),
            Ok(Err(e)) => {
                let _ = handle.join();
                Err(e)
            }
            Err(RecvTimeoutError::Timeout) => Err(HsmError::Timeout {
                repository,
                op: "open",
            }),
            Err(RecvTimeoutError::Disconnected) => Err(ended(&repository, "open")),
        }
    }

    /// The repository name.
    pub fn repository(&self) -> &str {
        &self.repository
    }

    /// Whether the thread was given up (after a timeout or its death); every call then
    /// fails immediately.
    pub fn is_abandoned(&self) -> bool {
        self.jobs.is_none()
    }

    fn call<T, F>(&mut self, op: &'static str, timeout: Duration, f: F) -> Result<T, HsmError>
    where
        T: Send + 'static,
        F: FnOnce(&mut dyn KeyStore) -> Result<T, HsmError> + Send + 'static,
    {
        let Some(jobs) = &self.jobs else {
            return Err(HsmError::Pkcs11 {
                repository: self.repository.clone(),
                op,
                detail: "the HSM thread was abandoned after an earlier timeout or failure; \
                         open the repository again"
                    .to_string(),
            });
        };
        let (reply_tx, reply) = mpsc::sync_channel(1);
        let job: Job = Box::new(move |store| {
            let _ = reply_tx.send(f(store));
        });
        if jobs.send(job).is_err() {
            self.jobs = None;
            return Err(ended(&self.repository, op));
        }
        match reply.recv_timeout(timeout) {
            Ok(result) => result,
            Err(RecvTimeoutError::Timeout) => {
                self.jobs = None;
                // Hung in the library: never wait for it.
                self.thread = None;
                Err(HsmError::Timeout {
                    repository: self.repository.clone(),
                    op,
                })
            }
            Err(RecvTimeoutError::Disconnected) => {
                self.jobs = None;
                Err(ended(&self.repository, op))
            }
        }
    }
}

fn ended(repository: &str, op: &'static str) -> HsmError {
    HsmError::Pkcs11 {
        repository: repository.to_string(),
        op,
        detail: "the HSM thread ended unexpectedly".to_string(),
    }
}

impl KeyStore for HsmThread {
    fn random_locator(&mut self) -> Result<Locator, HsmError> {
        self.call("random", self.timeouts.call, |s| s.random_locator())
    }

    fn generate(
        &mut self,
        locator: &Locator,
        algorithm: Algorithm,
        bits: u32,
    ) -> Result<Vec<u8>, HsmError> {
        let l = *locator;
        self.call("generate", self.timeouts.generate, move |s| {
            s.generate(&l, algorithm, bits)
        })
    }

    fn check_support(&mut self, algorithm: Algorithm, bits: u32) -> Result<(), HsmError> {
        self.call("check algorithm support", self.timeouts.call, move |s| {
            s.check_support(algorithm, bits)
        })
    }

    fn exists(&mut self, locator: &Locator) -> Result<bool, HsmError> {
        let l = *locator;
        self.call("exists", self.timeouts.call, move |s| s.exists(&l))
    }

    fn public_key(&mut self, locator: &Locator, algorithm: Algorithm) -> Result<Vec<u8>, HsmError> {
        let l = *locator;
        self.call("public key", self.timeouts.call, move |s| {
            s.public_key(&l, algorithm)
        })
    }

    fn sign(
        &mut self,
        locator: &Locator,
        algorithm: Algorithm,
        data: &[u8],
    ) -> Result<Vec<u8>, HsmError> {
        let (l, data) = (*locator, data.to_vec());
        self.call("sign", self.timeouts.call, move |s| {
            s.sign(&l, algorithm, &data)
        })
    }

    fn destroy(&mut self, locator: &Locator) -> Result<(), HsmError> {
        let l = *locator;
        self.call("destroy", self.timeouts.call, move |s| s.destroy(&l))
    }

    fn list(&mut self) -> Result<Vec<Locator>, HsmError> {
        // A scan of every object on the token: as slow as the token is large, so it has
        // the time of a key generation, not of one call.
        self.call("list", self.timeouts.generate, |s| s.list())
    }

    fn count(&mut self) -> Result<usize, HsmError> {
        self.call("count", self.timeouts.call, |s| s.count())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;
    use std::sync::mpsc::Receiver;
    use std::time::Instant;

    /// Test double: keys in a map; `sign` blocks until `release` is dropped or sent to,
    /// standing in for a wedged HSM.
    struct FakeStore {
        keys: BTreeMap<Locator, Algorithm>,
        next: u8,
        release: Receiver<()>,
    }

    impl KeyStore for FakeStore {
        fn random_locator(&mut self) -> Result<Locator, HsmError> {
            self.next += 1;
            Ok(Locator([self.next; 16]))
        }
        fn generate(&mut self, l: &Locator, a: Algorithm, _: u32) -> Result<Vec<u8>, HsmError> {
            self.keys.insert(*l, a);
            Ok(vec![a.number()])
        }
        fn check_support(&mut self, a: Algorithm, bits: u32) -> Result<(), HsmError> {
            if a.is_rsa() && bits < 1024 {
                return Err(HsmError::AlgorithmUnsupported {
                    repository: "fake".into(),
                    algorithm: a,
                    detail: format!("{bits} bits"),
                });
            }
            Ok(())
        }
        fn exists(&mut self, l: &Locator) -> Result<bool, HsmError> {
            Ok(self.keys.contains_key(l))
        }
        fn public_key(&mut self, l: &Locator, a: Algorithm) -> Result<Vec<u8>, HsmError> {
            match self.keys.get(l) {
                Some(_) => Ok(vec![a.number()]),
                None => Err(HsmError::KeyNotFound {
                    repository: "fake".into(),
                    locator: *l,
                }),
            }
        }
        fn sign(&mut self, _: &Locator, _: Algorithm, data: &[u8]) -> Result<Vec<u8>, HsmError> {
            let _ = self.release.recv(); // blocks: the "hung HSM"
            Ok(data.to_vec())
        }
        fn destroy(&mut self, l: &Locator) -> Result<(), HsmError> {
            self.keys.remove(l);
            Ok(())
        }
        fn list(&mut self) -> Result<Vec<Locator>, HsmError> {
            Ok(self.keys.keys().copied().collect())
        }
        fn count(&mut self) -> Result<usize, HsmError> {
            Ok(self.keys.len())
        }
    }

    fn short() -> Timeouts {
        Duration::from_millis(200).into()
    }

    fn fake(release: Receiver<()>) -> HsmThread {
        HsmThread::spawn("fake", short(), move || {
            Ok(FakeStore {
                keys: BTreeMap::new(),
                next: 0,
                release,
            })
        })
        .unwrap()
    }

    #[test]
    fn calls_pass_through() {
        let (_hold, release) = mpsc::channel();
        let mut t = fake(release);
        let l = t.random_locator().unwrap();
        t.check_support(Algorithm::Ed25519, 0).unwrap();
        assert!(matches!(
            t.check_support(Algorithm::RsaSha256, 512),
            Err(HsmError::AlgorithmUnsupported { .. })
        ));
        assert_eq!(t.generate(&l, Algorithm::Ed25519, 0).unwrap(), vec![15]);
        assert!(t.exists(&l).unwrap());
        assert_eq!(t.list().unwrap(), vec![l]);
        assert_eq!(t.count().unwrap(), 1);
        assert_eq!(t.public_key(&l, Algorithm::Ed25519).unwrap(), vec![15]);
        t.destroy(&l).unwrap();
        assert!(!t.exists(&l).unwrap());
        assert!(matches!(
            t.public_key(&l, Algorithm::Ed25519),
            Err(HsmError::KeyNotFound { .. })
        ));
        assert!(!t.is_abandoned());
    }

    #[test]
    fn a_hung_call_times_out_and_abandons_the_thread() {
        let (hold, release) = mpsc::channel();
        let mut t = fake(release);
        let l = t.random_locator().unwrap();
        let started = Instant::now();
        let err = t.sign(&l, Algorithm::Ed25519, b"x").unwrap_err();
        assert_eq!(
            err,
            HsmError::Timeout {
                repository: "fake".into(),
                op: "sign"
            }
        );
        assert!(started.elapsed() < Duration::from_secs(5));
        assert!(t.is_abandoned());
        // Later calls fail at once instead of queueing behind the hung one.
        let err = t.count().unwrap_err().to_string();
        assert!(err.contains("abandoned"), "{err}");
        drop(hold); // lets the hung thread finish and exit
    }

    #[test]
    fn a_hung_open_times_out() {
        let (hold, gate) = mpsc::channel::<()>();
        let err = HsmThread::spawn("slow", short(), move || {
            let _ = gate.recv();
            Err::<FakeStore, _>(HsmError::PinRequired {
                repository: "slow".into(),
            })
        })
        .unwrap_err();
        assert_eq!(
            err,
            HsmError::Timeout {
                repository: "slow".into(),
                op: "open"
            }
        );
        drop(hold);
    }

    #[test]
    fn open_errors_are_returned() {
        let err = HsmThread::spawn("bad", short(), || {
            Err::<FakeStore, _>(HsmError::WrongPin {
                repository: "bad".into(),
            })
        })
        .unwrap_err();
        assert_eq!(
            err,
            HsmError::WrongPin {
                repository: "bad".into()
            }
        );
    }
}
