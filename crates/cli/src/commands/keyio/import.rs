//! `key import`: validation in OpenDNSSEC 2.1.12's order (`keystate_import_cmd.c:run`),
//! the key looked up in its repository, then `KeyImported` recorded and the zone run.
//!
//! Every refusal prints OpenDNSSEC's line on stderr and its syntax-error block (the
//! command returns -1 there, also for HSM problems), exit 255, and leaves the log as it
//! was.

use super::flags;
use crate::commands::table::CommandSpec;
use crate::commands::{Ran, Shell, enforce};
use crate::getopt::Opt;
use kasp_engine::RunError;
use kasp_engine::exit;
use kasp_engine::repositories::hsm_failure;
use kasp_events::{
    Actor, Denial, DsAtParent, KeyImported, KeyRole, Locator, Policy, RecordState, Seconds,
    Timestamp, ZoneName,
};
use kasp_hsm::dnssec::{dnskey_rdata, key_tag};
use kasp_hsm::{Algorithm, KeyStore};
use kasp_projector::decide::Command;
use kasp_projector::decide::enforcer::EnforcerCommand;

/// `key import --cka_id C --repository R --zone Z --bits B --algorithm A --keystate S
/// --keytype T --inception_time YYYY-MM-DD-HH:MM:SS`.
pub fn import(shell: &mut Shell<'_>, spec: &CommandSpec, args: &[String]) -> Ran {
    let opts = [
        Opt::value("zone", 'z'),
        Opt::value("cka_id", 'k'),
        Opt::value("repository", 'r'),
        Opt::value("bits", 'b'),
        Opt::value("algorithm", 'g'),
        Opt::value("keytype", 't'),
        Opt::value("keystate", 'e'),
        Opt::value("inception_time", 'w'),
    ];
    let p = shell.opts(spec, args, &opts)?;
    let role = match p.value("keytype") {
        None => return Err(shell.usage_error(spec, "specify keytype: ZSK, KSK or CSK")),
        Some(t) => match super::parse_role(t) {
            Some(r) => r,
            None => {
                return Err(
                    shell.usage_error(spec, "unknown keytype, should be one of KSK, ZSK, or CSK")
                );
            }
        },
    };
    // 2.1.12 also takes "revoke" and then reads past its tables; refused here.
    let human = match p.value("keystate") {
        None => {
            return Err(shell.usage_error(
                spec,
                "specify keystate: generate, publish, ready, active or retire",
            ));
        }
        Some(s) => match ImportState::parse(s) {
            Some(h) => h,
            None => {
                return Err(shell.usage_error(
                    spec,
                    "unknown keystate: states are generate, publish, ready, active or retire",
                ));
            }
        },
    };
    let Some(zone_text) = p.value("zone") else {
        return Err(shell.usage_error(spec, "expected --zone "));
    };
    let ctx = shell.ctx()?;
    let actor = Actor::Operator(ctx.user.clone());
    let state = shell.state(&ctx)?;
    let Some(zone) = ZoneName::new(zone_text).ok().and_then(|n| state.zone(&n)) else {
        return Err(shell.usage_error(spec, &format!("Unknown zone: {zone_text}")));
    };
    let Some(algorithm_text) = p.value("algorithm") else {
        return Err(shell.usage_error(spec, "specify an algorithm"));
    };
    let Some(bits_text) = p.value("bits") else {
        return Err(shell.usage_error(spec, "specify bits"));
    };
    let Some(repository) = p.value("repository") else {
        return Err(shell.usage_error(spec, "specify repository "));
    };
    let Some(inception) = p.value("inception_time").and_then(parse_inception) else {
        return Err(shell.usage_error(spec, "specify inception time YYYY-MM-DD-HH:MM:SS"));
    };
    let view = state.policies.get(&zone.config.policy);
    let Some((policy, policy_key)) = view.and_then(|v| {
        Some((
            &v.policy,
            v.policy.keys.keys.iter().find(|k| k.role == role)?,
        ))
    }) else {
        return Err(shell.usage_error(spec, "Unable to get policyKey, database error!"));
    };
    // atoi() against the unsigned policy algorithm, as C compares them.
    if atoi(algorithm_text) as u32 != u32::from(policy_key.algorithm) {
        return Err(shell.usage_error(
            spec,
            "The given algorithm doesn't match the algorithm in kasp",
        ));
    }
    if ctx.conf.repository(repository).is_none() {
        return Err(shell.usage_error(
            spec,
            &format!(
                "Unable to check for the repository {repository}, HSM error: \
                 hsm_token_attached(): Can't find repository: {repository}"
            ),
        ));
    }
    let mut repos = ctx.repositories();
    let store = match repos.get(&ctx.conf, &ctx.conf_path, repository) {
        Ok(s) => s,
        Err(f) => {
            let message = format!(
                "Unable to check for the repository {repository}, HSM error: {}",
                f.message
            );
            return Err(shell.usage_error(spec, &message));
        }
    };
    let cka_id = p.value("cka_id");
    let not_found = format!(
        "Unable to find the key with this locator: {}",
        cka_id.unwrap_or("(null)")
    );
    let Some(locator) = cka_id.and_then(|c| Locator::parse(c).ok()) else {
        return Err(shell.usage_error(spec, &not_found));
    };
    match store.exists(&locator) {
        Ok(true) => {}
        Ok(false) => return Err(shell.usage_error(spec, &not_found)),
        Err(e) => {
            shell.err(&format!("error: {e}\n"));
            return Err(shell.usage_error(spec, &not_found));
        }
    }
    if state.pool.keys.contains_key(&locator) || state.pool.pending.contains_key(&locator) {
        let message = format!(
            "Already used this key with this locator: {}",
            cka_id.unwrap_or_default()
        );
        return Err(shell.usage_error(spec, &message));
    }
    let algorithm =
        Algorithm::from_number(policy_key.algorithm).map_err(|e| shell.fail(hsm_failure(&e)))?;
    let public_key = store
        .public_key(&locator, algorithm)
        .map_err(|e| shell.fail(hsm_failure(&e)))?;
    let event = KeyImported {
        zone: zone.config.name.clone(),
        key: state.next_key_id(),
        locator,
        role,
        algorithm: policy_key.algorithm,
        bits: atoi(bits_text) as u32,
        repository: repository.to_string(),
        policy: policy.name.clone(),
        key_tag: key_tag(&dnskey_rdata(flags(role), algorithm, &public_key)),
        minimize: policy_key.minimize,
        states: human.records(role),
        ttls: import_ttls(policy),
        ds_at_parent: human.ds_at_parent(role),
        introducing: human != ImportState::Retire,
        inception,
        public_key,
    };
    drop(repos);
    // The decision gives the key its id on the state it is appended to and checks the
    // locator again (another command may have taken it meanwhile).
    let command = Command::Enforcer(EnforcerCommand::Import(Box::new(event)));
    match ctx.run(actor.clone(), &command) {
        Ok(_) => {}
        Err(RunError::Rejected(r)) => return Err(shell.usage_error(spec, &r.message)),
        Err(RunError::Failed(f)) => return Err(shell.fail(f)),
    }
    shell.out(&format!("Key imported into zone {zone_text}\n"));
    enforce::run_due(shell, &ctx, &actor)?;
    Ok(exit::OK)
}

/// The human states `key import` takes, in OpenDNSSEC's table order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ImportState {
    Generate,
    Publish,
    Ready,
    Active,
    Retire,
}

impl ImportState {
    pub(super) fn parse(text: &str) -> Option<Self> {
        use ImportState::*;
        [
            ("generate", Generate),
            ("publish", Publish),
            ("ready", Ready),
            ("active", Active),
            ("retire", Retire),
        ]
        .into_iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(text))
        .map(|(_, s)| s)
    }

    /// `ksk_mapping` / `zsk_mapping` (a CSK takes the ZSK table, Q28): DS, DNSKEY,
    /// RRSIGDNSKEY, RRSIG.
    pub(super) fn records(self, role: KeyRole) -> [RecordState; 4] {
        use ImportState::*;
        use RecordState::{Hidden as H, Na, Omnipresent as O, Rumoured as R, Unretentive as U};
        match (role, self) {
            (KeyRole::Ksk, Generate) => [H, H, H, Na],
            (KeyRole::Ksk, Publish) => [H, R, R, Na],
            (KeyRole::Ksk, Ready | Active) => [R, O, O, Na],
            (KeyRole::Ksk, Retire) => [U, O, O, Na],
            (_, Generate) => [Na, H, Na, H],
            (_, Publish) => [Na, R, Na, H],
            (_, Ready) => [Na, O, Na, R],
            (_, Active) => [Na, O, Na, O],
            (_, Retire) => [Na, O, Na, U],
        }
    }

    /// `ds_at_parent` of an imported key: the table for a KSK, unsubmitted otherwise.
    pub(super) fn ds_at_parent(self, role: KeyRole) -> DsAtParent {
        match (role, self) {
            (KeyRole::Ksk, ImportState::Ready) => DsAtParent::Submit,
            (KeyRole::Ksk, ImportState::Active) => DsAtParent::Seen,
            (KeyRole::Ksk, ImportState::Retire) => DsAtParent::Retracted,
            _ => DsAtParent::Unsubmitted,
        }
    }
}

/// The record TTLs an import gives (`perform_keystate_import`): DS the parent's DS TTL,
/// DNSKEY and RRSIGDNSKEY the keys' TTL, RRSIG max(min(SOA TTL, SOA minimum),
/// max(MaxZoneTTL, NSEC3 TTL)) — the NSEC3 TTL only for an NSEC3 policy.
pub(super) fn import_ttls(policy: &Policy) -> [Seconds; 4] {
    let denial = match &policy.denial {
        Denial::Nsec3(n) => n.ttl.max(policy.signatures.max_zone_ttl),
        Denial::Nsec => policy.signatures.max_zone_ttl,
    };
    let soa = policy.zone.soa_ttl.min(policy.zone.soa_minimum);
    [
        policy.parent.ds_ttl,
        policy.keys.ttl,
        policy.keys.ttl,
        soa.max(denial),
    ]
}

/// C's `atoi` (glibc: `(int) strtol`): leading white space, a sign, digits; 0 if none.
pub(super) fn atoi(text: &str) -> i32 {
    let t = text.trim_start_matches([' ', '\t', '\n', '\r', '\x0b', '\x0c']);
    let (negative, digits) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let mut value: i64 = 0;
    for b in digits.bytes().take_while(u8::is_ascii_digit) {
        value = value.saturating_mul(10).saturating_add(i64::from(b - b'0'));
    }
    (if negative { -value } else { value }) as i32
}

/// `--inception_time` as `strptime(t, "%Y-%m-%d-%H:%M:%S")` reads it (glibc: each
/// field at most 4 or 2 digits within its range, white space before a number skipped,
/// anything after the seconds ignored), normalised as `mktime` does (31 February is
/// 3 March), in UTC, the enforcer's time zone. Times before 1970 are refused (2.1.12
/// would wrap them into an unsigned int).
pub(super) fn parse_inception(text: &str) -> Option<Timestamp> {
    let mut rest = text.as_bytes();
    let year = number(&mut rest, 0, 9999, 4)?;
    let mut fields = [0i64; 5];
    let steps = [
        (b'-', 1, 12),
        (b'-', 1, 31),
        (b'-', 0, 23),
        (b':', 0, 59),
        (b':', 0, 61),
    ];
    for (field, (sep, min, max)) in fields.iter_mut().zip(steps) {
        rest = rest.strip_prefix(&[sep])?;
        *field = number(&mut rest, min, max, 2)?;
    }
    let [month, day, hour, minute, second] = fields;
    let first = Timestamp::from_civil(year, u32::try_from(month).ok()?, 1, 0, 0, 0)?;
    let t = first.0 + (day - 1) * 86_400 + hour * 3600 + minute * 60 + second;
    (t >= 0).then_some(Timestamp(t))
}

/// glibc strptime's `get_number`: skips white space, then reads digits while fewer
/// than `width` were read and the value times ten stays within `max`; the value must
/// lie in `min..=max`.
fn number(rest: &mut &[u8], min: i64, max: i64, width: usize) -> Option<i64> {
    while rest.first().is_some_and(u8::is_ascii_whitespace) {
        *rest = &rest[1..];
    }
    let mut value = 0i64;
    let mut n = 0;
    while n < width && rest.get(n).is_some_and(u8::is_ascii_digit) {
        if n > 0 && value * 10 > max {
            break;
        }
        value = value * 10 + i64::from(rest[n] - b'0');
        n += 1;
    }
    *rest = &rest[n..];
    (n > 0 && (min..=max).contains(&value)).then_some(value)
}
