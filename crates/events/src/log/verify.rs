//! Reading the log to verify it: the whole chain, a tail vouched for by a checkpoint,
//! and a walk from the newest record backwards (to find the newest checkpoint).

use super::errors::{corrupt, io};
use super::{EVENTS, EventLog, META, decode_head};
use crate::chain::{hash_record, verify_records};
use crate::codec::decode_record;
use crate::envelope::{Head, Sealed};
use crate::ids::Seq;
use crate::log::{LogError, VerifyOutcome};

impl EventLog {
    /// Calls `f` with every record from the newest back to record 0, decoding each,
    /// until `f` returns `Ok(false)`.
    pub fn for_each_rev<E: From<LogError>>(
        &self,
        mut f: impl FnMut(Sealed) -> Result<bool, E>,
    ) -> Result<(), E> {
        let p = &self.path;
        let tx = self.guard(|| self.read())?;
        let table = self.guard(|| {
            tx.open_table(EVENTS)
                .map_err(|e| corrupt(p, format!("no events table ({e})")))
        })?;
        let mut rows = self.guard(|| table.range(0..).map_err(|e| io(p, e)))?;
        while let Some((k, v)) =
            self.guard(|| rows.next_back().transpose().map_err(|e| io(p, e)))?
        {
            let seq = k.value();
            let bytes = self.guard(|| Ok(v.value()))?;
            let record = decode_record(bytes)
                .map_err(|e| corrupt(&self.path, format!("record {seq}: {e}")))?;
            if record.seq.0 != seq {
                return Err(corrupt(&self.path, format!("record {seq}: wrong seq")).into());
            }
            let go_on = f(Sealed {
                record,
                hash: hash_record(bytes),
            })?;
            if !go_on {
                break;
            }
        }
        Ok(())
    }

    /// Walks the whole chain and checks it against the stored head.
    ///
    /// The head and the records are read in one read transaction, so a read-only
    /// handle verifies what a writer has committed since it was opened (its cached
    /// [`EventLog::head`] may be older); the head returned is the one verified.
    pub fn verify(&self) -> Result<Head, VerifyOutcome> {
        let (head, rows) = self
            .guard(|| self.read_chain())
            .map_err(VerifyOutcome::Log)?;
        verify_records(rows.iter().map(|(k, v)| (*k, v.as_slice())), head)
            .map_err(VerifyOutcome::Broken)
    }

    /// Checks the tail of the chain from `start.seq` on: that record's hash must be
    /// `start.hash` (vouched for from outside, e.g. by a signed checkpoint), every later
    /// record must link to the one before it, and the last must be the stored head.
    pub fn verify_tail(&self, start: Head) -> Result<Head, VerifyOutcome> {
        let (head, rows) = self
            .guard(|| self.read_chain_from(start.seq))
            .map_err(VerifyOutcome::Log)?;
        crate::chain::verify_records_from(rows.iter().map(|(k, v)| (*k, v.as_slice())), start, head)
            .map_err(VerifyOutcome::Broken)
    }

    /// The stored head (`None` if missing or undecodable) and every stored record.
    #[allow(clippy::type_complexity)]
    fn read_chain(&self) -> Result<(Option<Head>, Vec<(u64, Vec<u8>)>), LogError> {
        self.read_chain_from(Seq(0))
    }

    /// The stored head and the stored records from `from` on, in one read transaction.
    #[allow(clippy::type_complexity)]
    fn read_chain_from(&self, from: Seq) -> Result<(Option<Head>, Vec<(u64, Vec<u8>)>), LogError> {
        let p = &self.path;
        let tx = self.read()?;
        let head = {
            let meta = tx
                .open_table(META)
                .map_err(|e| corrupt(p, format!("no meta table ({e})")))?;
            let head = meta.get("head").map_err(|e| io(p, e))?;
            // A missing or undecodable head is reported by verify_records.
            head.and_then(|v| decode_head(v.value()))
        };
        let table = tx
            .open_table(EVENTS)
            .map_err(|e| corrupt(p, format!("no events table ({e})")))?;
        let mut rows = Vec::new();
        for row in table.range(from.0..).map_err(|e| io(p, e))? {
            let (k, v) = row.map_err(|e| io(p, e))?;
            rows.push((k.value(), v.value().to_vec()));
        }
        Ok((head, rows))
    }
}
