//! The semantic kasp.xml checks that `ods-kaspcheck` and `policy import` run
//! (`utils/kc_helper.c:check_kasp` and `check_policy`, OpenDNSSEC 2.1.12), with their
//! exact message texts and in their order: duplicate names and the missing `default`
//! policy first, then per policy the M/Y duration warnings (in document order, with the
//! NSEC3 hash checks where the `Denial` section comes), then the timing, algorithm,
//! key-length, repository and jitter checks.
//!
//! Schema checks are [`crate::formats::kasp::parse_kasp`]'s job and come first: a file that
//! does not parse never reaches these checks. Values are the ones kc_helper computes:
//! MaxZoneTTL counts as 0 when the file omits it (ods-kaspcheck does not apply the
//! import default there), which is why the checks take the whole
//! [`crate::formats::kasp::KaspDetails`] with its [`DurationUse`] list. Also here: the
//! duplicate policy-key check `policy import` makes before importing.

use crate::formats::kasp::{DurationUse, KaspDetails};
use kasp_events::PolicyName;
use kasp_events::policy::{Denial, KeyRole, Policy, SerialKind};
use std::fmt;

/// How serious a finding is: errors make ods-kaspcheck's exit status non-zero and stop
/// `policy import`; warnings do not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// `ERROR:`.
    Error,
    /// `WARNING:`.
    Warning,
}

/// One message of the checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// Error or warning.
    pub severity: Severity,
    /// The text after the `ERROR: ` / `WARNING: ` prefix.
    pub message: String,
}

impl fmt::Display for Finding {
    /// The line as ods-kaspcheck prints it: `ERROR: …` or `WARNING: …`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let prefix = match self.severity {
            Severity::Error => "ERROR",
            Severity::Warning => "WARNING",
        };
        write!(f, "{prefix}: {}", self.message)
    }
}

/// The message `policy import` prints (stderr) when a policy has two identical keys.
pub const DUPLICATE_KEYS_MESSAGE: &str =
    "Duplicated Policy Key elements in KASP XML is not allowed!";

fn error(message: String) -> Finding {
    Finding {
        severity: Severity::Error,
        message,
    }
}

fn warning(message: String) -> Finding {
    Finding {
        severity: Severity::Warning,
        message,
    }
}

/// Runs the kasp.xml checks of `kc_helper.c:check_kasp` on what
/// [`crate::formats::kasp::parse_kasp_detailed`] read from `file`. `repositories` are the
/// repository names of conf.xml. The findings come in ods-kaspcheck's order;
/// `policy import` refuses the file when any is an error.
pub fn check_kasp(details: &KaspDetails, repositories: &[&str], file: &str) -> Vec<Finding> {
    let policies = &details.policies;
    let durations = &details.durations;
    let mut out = Vec::new();
    for (i, a) in policies.iter().enumerate() {
        for b in &policies[i + 1..] {
            if a.name == b.name {
                out.push(error(format!(
                    "Two policies exist with the same name ({})",
                    a.name
                )));
            }
        }
    }
    if !policies.iter().any(|p| p.name.as_str() == "default") {
        out.push(warning(format!(
            "No policy named 'default' in {file}. This means you will need to refer \
             explicitly to the policy for each zone"
        )));
    }
    for (i, p) in policies.iter().enumerate() {
        let mine: Vec<&DurationUse> = durations.iter().filter(|d| d.policy == i).collect();
        check_policy(p, &mine, repositories, file, &mut out);
    }
    out
}

/// The M/Y warning for one duration text, if any (`check_time_def`).
fn duration_warning(policy: &str, d: &DurationUse, file: &str) -> Option<Finding> {
    let date_part = d.value.split('T').next().unwrap_or("");
    let months = date_part.contains('M');
    let years = date_part.contains('Y');
    let (what, meaning) = match (months, years) {
        (true, true) => (
            "M & Y",
            "these will be interpreted as 31 and 365 days respectively",
        ),
        (true, false) => ("M", "this will be interpreted as 31 days"),
        (false, true) => ("Y", "this will be interpreted as 365 days"),
        (false, false) => return None,
    };
    Some(warning(format!(
        "In policy {policy}, {what} used in duration field for {} ({}) in {file} - {meaning}",
        d.field, d.value
    )))
}

/// What kc_helper keeps per key: role bits (KSK = 1, ZSK = 2, CSK = 3).
fn is_ksk(role: KeyRole) -> bool {
    matches!(role, KeyRole::Ksk | KeyRole::Csk)
}

fn is_zsk(role: KeyRole) -> bool {
    matches!(role, KeyRole::Zsk | KeyRole::Csk)
}

fn check_policy(
    p: &Policy,
    durations: &[&DurationUse],
    repositories: &[&str],
    file: &str,
    out: &mut Vec<Finding>,
) {
    let name = p.name.as_str();
    // Duration warnings in document order; the NSEC3 hash checks come with <Denial>,
    // after the Signatures and Resalt durations and before the Keys ones.
    let before_keys =
        |d: &&&DurationUse| d.field.starts_with("Signatures/") || d.field.starts_with("Denial/");
    for d in durations.iter().filter(before_keys) {
        out.extend(duration_warning(name, d, file));
    }
    if let Denial::Nsec3(n) = &p.denial {
        if n.algorithm != 1 {
            out.push(error(format!(
                "NSEC3 Hash algorithm for {name} Policy in {file} is {} but should be 1",
                n.algorithm
            )));
        }
        if n.iterations > 100 {
            out.push(warning(format!(
                "NSEC3 Hash iterations for {name} Policy in {file} is {} which is larger \
                 than the recommended maximum of 100",
                n.iterations
            )));
        }
    }
    for d in durations.iter().filter(|d| !before_keys(d)) {
        out.extend(duration_warning(name, d, file));
    }

    let s = &p.signatures;
    let resign = s.resign.as_i64();
    let refresh = s.refresh.as_i64();
    let default = s.validity_default.as_i64();
    let denial = s.validity_denial.as_i64();
    let jitter = s.jitter.as_i64();
    let inception = s.inception_offset.as_i64();
    let ttl = p.keys.ttl.as_i64();
    let ds_ttl = p.parent.ds_ttl.as_i64();
    let publish = p.keys.publish_safety.as_i64();
    let retire = p.keys.retire_safety.as_i64();
    // kc_helper reads MaxZoneTTL from the file: absent means 0 there.
    let max_zone_ttl = durations
        .iter()
        .find(|d| d.field == "Signatures/MaxZoneTTL")
        .map_or(0, |d| d.seconds.as_i64());
    let keys = &p.keys.keys;

    for k in keys {
        let life = k.lifetime.as_i64();
        if is_ksk(k.role) && ds_ttl + ttl >= life {
            out.push(error(format!(
                "KSK/Lifetime ({life} seconds) for policy '{name}' must be greater than the \
                 DNSKEY record TTL ({ttl} seconds) plus the DS record TTL ({ds_ttl} seconds). \
                 This time is needed to pass for the KSK to be able to reach the ready state."
            )));
        }
        if is_zsk(k.role) && max_zone_ttl + ttl >= life {
            out.push(error(format!(
                "ZSK/Lifetime ({life} seconds) for policy '{name}' must be greater than the \
                 DNSKEY record TTL ({ttl} seconds) plus the MaxZoneTTL ({max_zone_ttl} \
                 seconds). This time is needed to pass for the ZSK to be able to reach the \
                 ready state."
            )));
        }
        if is_zsk(k.role) && default > life {
            out.push(warning(format!(
                "ZSK/Lifetime ({life} seconds) for policy '{name}' is less than \
                 Validity/Default ({default} seconds), this might be a configuration error."
            )));
        }
    }
    if refresh <= resign {
        out.push(error(format!(
            "The Refresh interval ({refresh} seconds) for {name} Policy in {file} is less \
             than or equal to the Resign interval ({resign} seconds)"
        )));
    }
    if default <= refresh {
        out.push(error(format!(
            "Validity/Default ({default} seconds) for {name} policy in {file} is less than \
             or equal to the Refresh interval ({refresh} seconds)"
        )));
    }
    if denial <= refresh {
        out.push(error(format!(
            "Validity/Denial ({denial} seconds) for {name} policy in {file} is less than \
             or equal to the Refresh interval ({refresh} seconds)"
        )));
    }
    // kc_helper compares with doubles; these products are exact or rounded the same way.
    let (which, validity) = if default > denial {
        ("Default", default)
    } else {
        ("Denial", denial)
    };
    if jitter as f64 > validity as f64 * 0.5 {
        out.push(warning(format!(
            "Jitter time ({jitter} seconds) is large compared to Validity/{which} \
             ({validity} seconds) for {name} policy in {file}"
        )));
    }
    if inception > 3600 {
        out.push(warning(format!(
            "InceptionOffset is higher than expected ({inception} seconds) for {name} \
             policy in {file}"
        )));
    }
    for (field, v) in [("PublishSafety", publish), ("RetireSafety", retire)] {
        if (v as f64) < ttl as f64 * 0.1 {
            out.push(warning(format!(
                "Keys/{field} ({v} seconds) is less than 0.1 * TTL ({ttl} seconds) for \
                 {name} policy in {file}"
            )));
        } else if v > ttl * 5 {
            out.push(warning(format!(
                "Keys/{field} ({v} seconds) is greater than 5 * TTL ({ttl} seconds) for \
                 {name} policy in {file}"
            )));
        }
    }
    if let Denial::Nsec3(n) = &p.denial {
        for k in keys {
            for (bit, label) in [(is_ksk(k.role), "KSK"), (is_zsk(k.role), "ZSK")] {
                if bit && k.algorithm <= 5 {
                    out.push(error(format!(
                        "In policy {name}, incompatible algorithm ({}) used for {label} NSEC3 \
                         in {file}.",
                        k.algorithm
                    )));
                }
            }
        }
        let resalt = n.resalt.as_i64();
        if resalt < resign {
            out.push(warning(format!(
                "NSEC3 resalt interval ({resalt} secs) is less than signature resign \
                 interval ({resign} secs) for {name} Policy"
            )));
        }
    }
    if p.zone.soa_serial == SerialKind::DateCounter && resign != 0 {
        let per_day = 86_400 / resign;
        if per_day > 99 {
            out.push(error(format!(
                "In {file}, policy {name}, serial type datecounter used but {per_day} \
                 re-signs requested. No more than 99 re-signs per day should be used with \
                 datecounter as only 2 digits are allocated for the version number."
            )));
        }
    }
    for k in keys {
        if !matches!(k.algorithm, 5 | 7 | 8 | 10) {
            continue;
        }
        for (bit, label) in [(is_ksk(k.role), "KSK"), (is_zsk(k.role), "ZSK")] {
            if !bit {
                continue;
            }
            if k.bits < 1024 {
                out.push(warning(format!(
                    "Key length of {} used for {label} in {name} policy in {file}. Should \
                     probably be 1024 or more",
                    k.bits
                )));
            } else if k.bits > 4096 {
                out.push(error(format!(
                    "Key length of {} used for {label} in {name} policy in {file}. Should \
                     be 4096 or less",
                    k.bits
                )));
            }
        }
    }
    for k in keys {
        if repositories.contains(&k.repository.as_str()) {
            continue;
        }
        if is_ksk(k.role) {
            out.push(error(format!(
                "Unknown repository ({}) defined for KSK in {name} policy in {file}",
                k.repository
            )));
        }
        if is_zsk(k.role) {
            out.push(error(format!(
                "Unknown repository ({}) defined for ZSK in {name} policy",
                k.repository
            )));
        }
    }
    for ksk in keys.iter().filter(|k| is_ksk(k.role)) {
        let mut found = false;
        for zsk in keys
            .iter()
            .filter(|z| is_zsk(z.role) && z.algorithm == ksk.algorithm)
        {
            found = true;
            if ksk.lifetime < zsk.lifetime {
                out.push(warning(format!(
                    "KSK minimum lifetime ({} seconds) is less than ZSK minimum lifetime \
                     ({} seconds) for {name} Policy in {file}",
                    ksk.lifetime, zsk.lifetime
                )));
            }
        }
        if !found {
            out.push(error(format!(
                "ZSK with algorithm {} not found, algorithm mismatch between ZSK and KSK",
                ksk.algorithm
            )));
        }
    }
    if jitter > default {
        out.push(error(format!(
            "Jitter time ({jitter} seconds) is greater than the Default Validity \
             ({default} seconds) for {name} policy in {file}"
        )));
    }
    if jitter > denial {
        out.push(error(format!(
            "Jitter time ({jitter} seconds) is greater than the Denial Validity \
             ({denial} seconds) for {name} policy in {file}"
        )));
    }
}

/// Whether a policy has two key elements with identical fields (`policy import`'s
/// `check_duplicated_policy_keys`).
pub fn has_duplicate_keys(policy: &Policy) -> bool {
    let keys = &policy.keys.keys;
    keys.iter()
        .enumerate()
        .any(|(i, a)| keys[i + 1..].iter().any(|b| a == b))
}

/// `policy import`'s duplicate-key check over a whole file: the name of the first
/// policy with two identical keys, if any. `policy import` then prints
/// [`DUPLICATE_KEYS_MESSAGE`] and imports nothing.
pub fn duplicate_keys(policies: &[Policy]) -> Option<&PolicyName> {
    policies
        .iter()
        .find(|p| has_duplicate_keys(p))
        .map(|p| &p.name)
}

#[cfg(test)]
mod tests;
