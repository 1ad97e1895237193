//! The sandbox of a random run: a temporary directory with conf.xml, kasp.xml (and the
//! changed kasp2.xml the run imports mid-way), an empty zonelist.xml, DS hooks that
//! accept every DS, and a SoftHSM2 token. The run itself is a child process of this
//! binary with `SOFTHSM2_CONF` set (SoftHSM reads it once per process); afterwards the
//! log is recorded and the sandbox removed.

use crate::Settings;
use std::fs;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use kasp_cli::softhsm::MODULE as SOFTHSM_MODULE;
/// The sandbox token's PIN (not a secret: the token is thrown away).
const PIN: &str = "1234";
/// conf.xml's RolloverNotification: recorded in the history's inputs.
pub const ROLLOVER_NOTIFICATION: &str = "P2D";

/// Makes the sandbox, runs the operator in a child process, records the log.
pub fn record(s: &Settings, argv: &[String]) -> Result<(), String> {
    let dir = make_dir()?;
    let result = populate(&dir).and_then(|()| {
        let exe = std::env::current_exe().map_err(|e| e.to_string())?;
        let status = Command::new(exe)
            .arg("--in-sandbox")
            .arg(&dir)
            .args(argv)
            .env("SOFTHSM2_CONF", dir.join("softhsm2.conf"))
            .env("KASP_SIGNER_COMMAND", "/bin/true")
            .env("TZ", "UTC")
            .current_dir(&dir)
            .status()
            .map_err(|e| format!("cannot run the operator: {e}"))?;
        if !status.success() {
            return Err(format!("the operator failed ({status})"));
        }
        let conf = kasp_engine::config::load(&dir.join("conf.xml")).map_err(|f| f.message)?;
        let source = format!(
            "kasp-record-random --seed {} --zones {} --years {}",
            s.seed, s.zones, s.years
        );
        let head = kasp_tools::recorded::record(
            &dir.join("enforcer/events.redb"),
            &s.out,
            &source,
            kasp_projector::scheduler::plan::PlanConf::from_conf(&conf),
        )?;
        eprintln!(
            "kasp-record-random: recorded {} (head {} {})",
            s.out.display(),
            head.seq,
            head.hash
        );
        Ok(())
    });
    if std::env::var_os("KASP_KEEP_SANDBOX").is_some_and(|v| v == "1") {
        eprintln!("kasp-record-random: sandbox kept at {}", dir.display());
    } else {
        let _ = fs::remove_dir_all(&dir);
    }
    result
}

fn make_dir() -> Result<PathBuf, String> {
    let suffix = kasp_engine::random::hex(6).map_err(|f| f.message)?;
    let dir = std::env::temp_dir().join(format!("kasp-random-{suffix}"));
    fs::create_dir(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    Ok(dir)
}

fn populate(dir: &Path) -> Result<(), String> {
    let io = |e: std::io::Error| e.to_string();
    for d in ["bin", "enforcer", "signconf", "signer"] {
        fs::create_dir_all(dir.join(d)).map_err(io)?;
    }
    for hook in ["ds-submit", "ds-retract"] {
        let p = dir.join("bin").join(hook);
        fs::write(&p, "#!/bin/sh\ncat >/dev/null\n").map_err(io)?;
        fs::set_permissions(&p, fs::Permissions::from_mode(0o755)).map_err(io)?;
    }
    fs::write(dir.join("conf.xml"), conf_xml(dir)).map_err(io)?;
    fs::write(dir.join("kasp.xml"), kasp_xml(false)).map_err(io)?;
    fs::write(dir.join("kasp2.xml"), kasp_xml(true)).map_err(io)?;
    fs::write(
        dir.join("zonelist.xml"),
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ZoneList>\n</ZoneList>\n",
    )
    .map_err(io)?;
    let softhsm = kasp_cli::softhsm::write_conf(dir)?;
    kasp_cli::softhsm::init_token(Some(&softhsm), "OpenDNSSEC", PIN, PIN)?;
    Ok(())
}

fn conf_xml(dir: &Path) -> String {
    let d = dir.display();
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
<Configuration>\n\
\t<RepositoryList>\n\
\t\t<Repository name=\"SoftHSM\">\n\
\t\t\t<Module>{SOFTHSM_MODULE}</Module>\n\
\t\t\t<TokenLabel>OpenDNSSEC</TokenLabel>\n\
\t\t\t<PIN>{PIN}</PIN>\n\
\t\t\t<SkipPublicKey/>\n\
\t\t</Repository>\n\
\t</RepositoryList>\n\
\t<Common>\n\
\t\t<Logging><Verbosity>1</Verbosity></Logging>\n\
\t\t<PolicyFile>{d}/kasp.xml</PolicyFile>\n\
\t\t<ZoneListFile>{d}/zonelist.xml</ZoneListFile>\n\
\t</Common>\n\
\t<Enforcer>\n\
\t\t<Datastore><SQLite>{d}/enforcer/kasp.db</SQLite></Datastore>\n\
\t\t<WorkingDirectory>{d}/enforcer</WorkingDirectory>\n\
\t\t<AutomaticKeyGenerationPeriod>P60D</AutomaticKeyGenerationPeriod>\n\
\t\t<RolloverNotification>{ROLLOVER_NOTIFICATION}</RolloverNotification>\n\
\t\t<DelegationSignerSubmitCommand>{d}/bin/ds-submit</DelegationSignerSubmitCommand>\n\
\t\t<DelegationSignerRetractCommand>{d}/bin/ds-retract</DelegationSignerRetractCommand>\n\
\t</Enforcer>\n\
\t<Signer><WorkingDirectory>{d}/signer</WorkingDirectory></Signer>\n\
</Configuration>\n"
    )
}

/// One policy of the run: name, denial, keys (role, algorithm, bits, lifetime), shared.
struct P {
    name: &'static str,
    nsec3_resalt: Option<&'static str>,
    keys: &'static [(&'static str, u8, u32, &'static str)],
    share: bool,
}

/// The policies (`changed`: the mid-run import with other lifetimes and resalt).
fn policies(changed: bool) -> Vec<P> {
    vec![
        P {
            name: "rsa",
            nsec3_resalt: Some(if changed { "P50D" } else { "P100D" }),
            keys: &[("KSK", 8, 2048, "P1Y"), ("ZSK", 8, 1024, "P120D")],
            share: false,
        },
        P {
            name: "ecdsa",
            nsec3_resalt: None,
            keys: if changed {
                &[("KSK", 13, 256, "P300D"), ("ZSK", 13, 256, "P60D")]
            } else {
                &[("KSK", 13, 256, "P200D"), ("ZSK", 13, 256, "P90D")]
            },
            share: false,
        },
        P {
            name: "csk",
            nsec3_resalt: Some("P30D"),
            keys: &[("CSK", 13, 256, "P180D")],
            share: false,
        },
        P {
            name: "shared",
            nsec3_resalt: None,
            keys: &[("KSK", 13, 256, "P1Y"), ("ZSK", 13, 256, "P120D")],
            share: true,
        },
    ]
}

/// Names of the run's policies.
pub fn policy_names() -> Vec<&'static str> {
    policies(false).iter().map(|p| p.name).collect()
}

/// The kasp.xml of the run: default OpenDNSSEC timings, the keys of [`policies`].
pub fn kasp_xml(changed: bool) -> String {
    let mut s = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<KASP>\n");
    for p in policies(changed) {
        let denial = match p.nsec3_resalt {
            Some(r) => format!(
                "<NSEC3><Resalt>{r}</Resalt><Hash><Algorithm>1</Algorithm>\
                 <Iterations>5</Iterations><Salt length=\"8\"/></Hash></NSEC3>"
            ),
            None => "<NSEC/>".to_string(),
        };
        let keys: String = p
            .keys
            .iter()
            .map(|(role, alg, bits, life)| {
                format!(
                    "<{role}><Algorithm length=\"{bits}\">{alg}</Algorithm>\
                     <Lifetime>{life}</Lifetime><Repository>SoftHSM</Repository></{role}>\n"
                )
            })
            .collect();
        let share = if p.share { "<ShareKeys/>" } else { "" };
        s.push_str(&format!(
            "<Policy name=\"{name}\">\n<Description>random run</Description>\n\
<Signatures><Resign>PT2H</Resign><Refresh>P3D</Refresh>\
<Validity><Default>P14D</Default><Denial>P14D</Denial></Validity>\
<Jitter>PT12H</Jitter><InceptionOffset>PT3600S</InceptionOffset>\
<MaxZoneTTL>P1D</MaxZoneTTL></Signatures>\n\
<Denial>{denial}</Denial>\n\
<Keys><TTL>PT3600S</TTL><RetireSafety>PT3600S</RetireSafety>\
<PublishSafety>PT3600S</PublishSafety>{share}<Purge>P14D</Purge>\n{keys}</Keys>\n\
<Zone><PropagationDelay>PT43200S</PropagationDelay><SOA><TTL>PT3600S</TTL>\
<Minimum>PT3600S</Minimum><Serial>unixtime</Serial></SOA></Zone>\n\
<Parent><PropagationDelay>PT9999S</PropagationDelay><DS><TTL>PT3600S</TTL></DS>\
<SOA><TTL>PT172800S</TTL><Minimum>PT10800S</Minimum></SOA></Parent>\n\
</Policy>\n",
            name = p.name
        ));
    }
    s.push_str("</KASP>\n");
    s
}
