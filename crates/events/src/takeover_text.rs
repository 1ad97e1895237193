//! The one-line operator text of the events of an OpenDNSSEC import (`log show`).

use crate::takeover::{
    OdsHsmKeyImported, OdsImported, OdsKeyUse, OdsPolicyImported, OdsShadowed, OdsZoneImported,
    ShadowDivergence,
};
use std::fmt;

pub(crate) fn imported(f: &mut fmt::Formatter<'_>, e: &OdsImported) -> fmt::Result {
    write!(
        f,
        "Imported from OpenDNSSEC's {} database {} (schema version {}, digest {}; {} policies, \
         {} zones, {} HSM keys, {} zone keys)",
        e.datastore.as_str(),
        e.location,
        e.schema_version,
        e.digest,
        e.rows[0],
        e.rows[2],
        e.rows[3],
        e.rows[4]
    )?;
    for finding in &e.findings {
        write!(f, "; {finding}")?;
    }
    Ok(())
}

pub(crate) fn policy(f: &mut fmt::Formatter<'_>, e: &OdsPolicyImported) -> fmt::Result {
    write!(
        f,
        "Policy {} imported (row {} rev {})",
        e.policy.name, e.row.id, e.row.rev
    )?;
    if let Some((salt, at)) = &e.salt {
        write!(f, ", salt {salt} since {at}")?;
    }
    Ok(())
}

pub(crate) fn hsm_key(f: &mut fmt::Formatter<'_>, e: &OdsHsmKeyImported) -> fmt::Result {
    write!(
        f,
        "HSM key {} imported ({} {}, algorithm {}, {} bits, policy {}, repository {}, {}, \
         backup {}; row {} rev {})",
        e.locator,
        match e.usage {
            OdsKeyUse::Unused => "unused",
            OdsKeyUse::Private => "private",
            OdsKeyUse::Shared => "shared",
            OdsKeyUse::Delete => "to delete",
        },
        e.spec.role.as_str(),
        e.spec.algorithm,
        e.spec.bits,
        e.spec.policy,
        e.spec.repository,
        e.inception,
        e.backup.as_str(),
        e.row.id,
        e.row.rev
    )
}

pub(crate) fn zone(f: &mut fmt::Formatter<'_>, e: &OdsZoneImported) -> fmt::Result {
    write!(
        f,
        "Zone {} imported with policy {} (row {} rev {})",
        e.zone.name, e.zone.policy, e.row.id, e.row.rev
    )?;
    for k in &e.keys {
        write!(
            f,
            "; {} {} keytag {} locator {}",
            k.role.as_str(),
            k.id,
            k.key_tag,
            k.locator
        )?;
        if let Some(r) = &k.records {
            let states: Vec<&str> = r.iter().map(|r| r.state.as_str()).collect();
            write!(f, " [{}]", states.join(" "))?;
        }
    }
    match e.next_change {
        Some(t) => write!(f, "; next change {t}"),
        None => write!(f, "; nothing scheduled"),
    }
}

pub(crate) fn shadowed(f: &mut fmt::Formatter<'_>, e: &OdsShadowed) -> fmt::Result {
    write!(
        f,
        "Shadow: OpenDNSSEC's database changed ({}); {} zone(s) compared, {} divergence(s)",
        e.digest,
        e.zones.len(),
        e.divergences.len()
    )?;
    for d in &e.divergences {
        write!(f, "; {d}")?;
    }
    for n in &e.not_compared {
        write!(f, "; not compared: {n}")?;
    }
    Ok(())
}

impl fmt::Display for ShadowDivergence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "zone {}", self.zone)?;
        if let Some(k) = &self.key {
            write!(f, " {k}")?;
        }
        write!(
            f,
            " {}: OpenDNSSEC {}, kasp-ledger {} (at {})",
            self.what, self.theirs, self.ours, self.at
        )
    }
}
