//! The trust anchors of `log verify`: for each audit key the log names, the public key
//! to check its checkpoints with — from the HSM (compared with the recorded key), from an
//! exported key file, or, when neither is available, the recorded key itself (with a
//! warning: that anchors nothing).

use kasp_engine::audit::KeyFile;
use kasp_engine::repositories::{Repositories, hsm_failure};
use kasp_engine::{Failure, Session};
use kasp_events::Locator;
use kasp_hsm::{Algorithm, HsmError, KeyStore};
use kasp_projector::decide::audit::AuditKeyView;
use std::collections::BTreeMap;

/// Where a checkpoint's key came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Trust {
    Hsm,
    File,
    /// Only the log's own record of the key: proves nothing against a rewrite.
    Recorded,
}

/// The trust anchors of one verification, resolved once per audit key.
pub(super) struct Anchors<'c> {
    ctx: &'c Session,
    pub(super) file: Option<(String, KeyFile)>,
    repos: Option<std::cell::RefMut<'c, Repositories>>,
    /// Per key: the public key to verify with and where it came from, or why the key
    /// itself failed (an integrity failure).
    keys: BTreeMap<Locator, Result<(Vec<u8>, Trust), String>>,
    /// Why some checkpoints are not anchored.
    pub(super) warnings: Vec<String>,
}

impl<'c> Anchors<'c> {
    pub(super) fn new(ctx: &'c Session, file: Option<(String, KeyFile)>) -> Anchors<'c> {
        Anchors {
            ctx,
            file,
            repos: None,
            keys: BTreeMap::new(),
            warnings: Vec::new(),
        }
    }

    /// The key to verify `key`'s checkpoints with.
    pub(super) fn resolve(&mut self, key: &AuditKeyView) -> Result<(Vec<u8>, Trust), String> {
        if let Some(done) = self.keys.get(&key.locator) {
            return done.clone();
        }
        let done = self.resolve_uncached(key);
        self.keys.insert(key.locator, done.clone());
        done
    }

    fn resolve_uncached(&mut self, key: &AuditKeyView) -> Result<(Vec<u8>, Trust), String> {
        let recorded = Ok((key.public_key.clone(), Trust::Recorded));
        if let Some((path, file)) = &self.file {
            if file.locator != key.locator {
                self.warnings.push(format!(
                    "audit key {} is not the key in {path}; its checkpoints were checked \
                     against the key recorded in the log only",
                    key.locator
                ));
                return recorded;
            }
            if file.public_key != key.public_key || file.algorithm != key.algorithm {
                return Err(format!(
                    "the public key recorded in the log for audit key {} differs from the \
                     one in {path}: the audit key event was rewritten",
                    key.locator
                ));
            }
            return Ok((file.public_key.clone(), Trust::File));
        }
        let ctx = self.ctx;
        let algorithm = match Algorithm::from_number(key.algorithm) {
            Ok(a) => a,
            Err(e) => return Err(format!("audit key {}: {e}", key.locator)),
        };
        let repos = self.repos.get_or_insert_with(|| ctx.repositories());
        let found = repos
            .get(&ctx.conf, &ctx.conf_path, &key.repository)
            .and_then(|store| {
                store
                    .public_key(&key.locator, algorithm)
                    .map_err(|e| match e {
                        HsmError::KeyNotFound { .. } => Failure::integrity(e.to_string()),
                        e => hsm_failure(&e),
                    })
            });
        match found {
            Ok(hsm_key) if hsm_key == key.public_key => Ok((hsm_key, Trust::Hsm)),
            Ok(_) => Err(format!(
                "the public key recorded in the log for audit key {} differs from the key \
                 in repository {}: the audit key event was rewritten",
                key.locator, key.repository
            )),
            Err(f) if f.kind == kasp_engine::error::Kind::Integrity => Err(format!(
                "audit key {} named by the log is not in repository {} ({}): the audit \
                 key event was forged, or the key was deleted from the HSM",
                key.locator, key.repository, f.message
            )),
            Err(f) => {
                self.warnings.push(format!(
                    "the HSM could not be asked for audit key {} ({})",
                    key.locator, f.message
                ));
                recorded
            }
        }
    }

    pub(super) fn file_path(&self) -> Option<&str> {
        self.file.as_ref().map(|(p, _)| p.as_str())
    }
}
