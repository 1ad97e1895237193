//! Signed checkpoints, the shell part: signing the head with the audit key in the HSM
//! and recording the checkpoint after the signature exists, and the audit key file an
//! auditor verifies with when they have no access to the HSM.
//!
//! The audit key file (`log checkpoint --export-key FILE`, `log verify --audit-key
//! FILE`) is text, one `name value` pair per line, `;` starts a comment:
//!
//! ```text
//! ; kasp-ledger audit key v1
//! instance 5f0c…    (32 hex digits: the log it belongs to, LogCreated)
//! repository SoftHSM
//! locator 9a3e…     (32 hex digits: CKA_ID)
//! algorithm 13
//! public-key 04ab…  (hex of the DNSKEY public-key field: x || y for ECDSA P-256)
//! ```

use crate::repositories::{Repositories, hsm_failure};
use crate::{Failure, Session};
use kasp_events::{Actor, Hash, InstanceId, Locator, Seq, checkpoint_message};
use kasp_hsm::{Algorithm, KeyStore, verify_signature};
use kasp_projector::decide::Command;
use kasp_projector::decide::audit::{AuditCommand, NO_AUDIT_KEY};

/// The first line of an audit key file.
const KEY_FILE_HEADER: &str = "; kasp-ledger audit key v1";

/// A checkpoint that was signed and recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Signed {
    /// The checkpoint's own record.
    pub record: Seq,
    /// The record it signed, and that record's hash.
    pub seq: Seq,
    pub hash: Hash,
    pub locator: Locator,
}

/// Signs the current head with the current audit key and records the checkpoint. The
/// signature is checked against the public key the log recorded before anything is
/// appended, so a checkpoint no verifier would accept is never written.
pub fn sign_head(
    ctx: &Session,
    actor: &Actor,
    repos: &mut Repositories,
) -> Result<Signed, Failure> {
    let (head, state, _) = ctx.load()?;
    let key = state
        .audit
        .current_key()
        .ok_or_else(|| Failure::refused(NO_AUDIT_KEY))?
        .clone();
    let instance = state
        .instance
        .ok_or_else(|| Failure::integrity("the log has no LogCreated record"))?;
    drop(state);
    let algorithm = Algorithm::from_number(key.algorithm).map_err(|e| hsm_failure(&e))?;
    let message = checkpoint_message(&instance, head.seq, &head.hash);
    let store = repos.get(&ctx.conf, &ctx.conf_path, &key.repository)?;
    let signature = store
        .sign(&key.locator, algorithm, &message)
        .map_err(|e| hsm_failure(&e))?;
    verify_signature(algorithm, &key.public_key, &message, &signature).map_err(|e| {
        Failure::integrity(format!(
            "audit key {} in repository {} signed, but its signature does not verify \
             with the public key recorded in the log ({e}); nothing was appended. Run \
             'ods-enforcer log verify'",
            key.locator, key.repository
        ))
    })?;
    let command = Command::Audit(AuditCommand::Checkpoint {
        seq: head.seq,
        hash: head.hash,
        locator: key.locator,
        signature,
    });
    let done = ctx.run(actor.clone(), &command).map_err(Failure::from)?;
    let record = done
        .sealed
        .last()
        .map(|s| s.record.seq)
        .ok_or_else(|| Failure::refused("no checkpoint was recorded"))?;
    Ok(Signed {
        record,
        seq: head.seq,
        hash: head.hash,
        locator: key.locator,
    })
}

/// An audit public key as exported for auditors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyFile {
    pub instance: InstanceId,
    pub repository: String,
    pub locator: Locator,
    pub algorithm: u8,
    pub public_key: Vec<u8>,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) || !text.is_ascii() {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

impl KeyFile {
    /// The file's text.
    pub fn render(&self) -> String {
        format!(
            "{KEY_FILE_HEADER}\n; give it to: ods-enforcer log verify --audit-key <this file>\n\
             instance {}\nrepository {}\nlocator {}\nalgorithm {}\npublic-key {}\n",
            self.instance,
            self.repository,
            self.locator,
            self.algorithm,
            hex(&self.public_key)
        )
    }

    /// Reads the file's text; the error says what is wrong with it.
    pub fn parse(text: &str) -> Result<KeyFile, String> {
        if !text.starts_with(KEY_FILE_HEADER) {
            return Err(format!(
                "not a kasp-ledger audit key file (it must start with '{KEY_FILE_HEADER}')"
            ));
        }
        let (mut instance, mut repository, mut locator, mut algorithm, mut public_key) =
            (None, None, None, None, None);
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with(';') {
                continue;
            }
            let bad = |what: &str| format!("line {}: {what}", n + 1);
            let (name, value) = line
                .split_once(' ')
                .map(|(a, b)| (a, b.trim()))
                .ok_or_else(|| bad("expected '<name> <value>'"))?;
            let slot = match name {
                "instance" => &mut instance,
                "repository" => &mut repository,
                "locator" => &mut locator,
                "algorithm" => &mut algorithm,
                "public-key" => &mut public_key,
                other => return Err(bad(&format!("unknown field '{other}'"))),
            };
            if slot.replace(value.to_string()).is_some() {
                return Err(bad(&format!("'{name}' given twice")));
            }
        }
        let need = |v: Option<String>, name: &str| v.ok_or_else(|| format!("no '{name}' line"));
        let instance = need(instance, "instance")?;
        let instance: [u8; 16] = unhex(&instance)
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| format!("instance '{instance}' is not 32 hex digits"))?;
        let locator = Locator::parse(&need(locator, "locator")?).map_err(|e| e.to_string())?;
        let algorithm = need(algorithm, "algorithm")?;
        let algorithm: u8 = algorithm
            .parse()
            .map_err(|_| format!("algorithm '{algorithm}' is not a number"))?;
        let public_key = need(public_key, "public-key")?;
        let public_key = unhex(&public_key)
            .filter(|k| !k.is_empty())
            .ok_or_else(|| "public-key is not hex".to_string())?;
        Ok(KeyFile {
            instance: InstanceId(instance),
            repository: need(repository, "repository")?,
            locator,
            algorithm,
            public_key,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_files_round_trip_and_bad_ones_say_why() {
        let key = KeyFile {
            instance: InstanceId([0xab; 16]),
            repository: "SoftHSM".to_string(),
            locator: Locator([0x12; 16]),
            algorithm: 13,
            public_key: vec![7; 64],
        };
        let text = key.render();
        assert_eq!(KeyFile::parse(&text), Ok(key));
        for (bad, why) in [
            ("hello", "not a kasp-ledger audit key file"),
            (&text.replace("algorithm 13", "algorithm x"), "not a number"),
            (&text.replace("instance ", "instance 0"), "instance"),
            (&text.replace("public-key 07", "public-key zz"), "not hex"),
            (&text.replace("repository SoftHSM\n", ""), "no 'repository'"),
            (&format!("{text}locator 00\n"), "given twice"),
            (&format!("{text}colour blue\n"), "unknown field"),
        ] {
            let e = KeyFile::parse(bad).unwrap_err();
            assert!(e.contains(why), "{e}");
        }
    }
}
