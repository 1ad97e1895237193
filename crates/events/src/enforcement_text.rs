//! The one-line operator text of the larger enforcer events (`log show`).

use crate::enforcement::{KeyImported, ZoneEnforced};
use std::fmt;

pub(crate) fn zone_enforced(f: &mut fmt::Formatter<'_>, e: &ZoneEnforced) -> fmt::Result {
    write!(f, "Zone {} enforced", e.zone)?;
    for k in &e.new_keys {
        write!(
            f,
            "; new {} {} (algorithm {}, keytag {}, locator {})",
            k.role.as_str(),
            k.id,
            k.algorithm,
            k.key_tag,
            k.locator
        )?;
    }
    for k in &e.retired {
        write!(f, "; retiring {k}")?;
    }
    if let Some(sm) = &e.state_machine {
        for t in &sm.transitions {
            write!(
                f,
                "; {} {} {} -> {} (allowed from {})",
                t.key,
                t.record.as_str(),
                t.from.as_str(),
                t.to.as_str(),
                t.rule.earliest
            )?;
        }
    }
    for k in &e.purged {
        write!(f, "; purged {k}")?;
    }
    match e.next_change {
        Some(t) => write!(f, "; next run {t}"),
        None => write!(f, "; not rescheduled"),
    }
}

pub(crate) fn key_imported(f: &mut fmt::Formatter<'_>, e: &KeyImported) -> fmt::Result {
    let [ds, dnskey, rrsig_dnskey, rrsig] = e.states.map(|s| s.as_str());
    write!(
        f,
        "Zone {} key {} imported: {} {} (algorithm {}, {} bits, keytag {}) from repository {}; \
         DS {ds}, DNSKEY {dnskey}, RRSIGDNSKEY {rrsig_dnskey}, RRSIG {rrsig}; DS at parent {}; \
         {}; inception {}",
        e.zone,
        e.key,
        e.role.as_str(),
        e.locator,
        e.algorithm,
        e.bits,
        e.key_tag,
        e.repository,
        e.ds_at_parent.as_str(),
        if e.introducing {
            "introducing"
        } else {
            "retiring"
        },
        e.inception
    )
}
