//! `ods-enforcerd -i`: the configuration printed as XML, in the shape of OpenDNSSEC's
//! `daemon/cfg.c:engine_config_print`.
//!
//! Only what that function prints: `Common` (the syslog facility, if any, and the
//! policy and zone list files) and `Enforcer` (privileges, working directory, worker
//! threads, manual key generation, the DS commands). No repositories, PINs, datastore,
//! socket, pid file or verbosity. Layout is byte-for-byte OpenDNSSEC's, tabs and
//! all — including its quirk of indenting `User`, `Group` and `Directory` at the same
//! depth as their `Privileges` parent. One difference: values are XML-escaped here
//! (OpenDNSSEC prints them raw, which breaks the XML for a `&` in a command line).

use kasp_projector::formats::conf::Conf;
use std::fmt::Write;

/// The `-i` output, ending with a newline.
pub fn render(conf: &Conf) -> String {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Configuration>\n");
    out.push_str("\t<Common>\n");
    if let Some(facility) = &conf.logging.syslog_facility {
        out.push_str("\t\t<Logging>\n\t\t\t<Syslog>\n");
        element(&mut out, 4, "Facility", facility);
        out.push_str("\t\t\t</Syslog>\n\t\t</Logging>\n");
    }
    element(&mut out, 2, "PolicyFile", &conf.policy_file);
    element(&mut out, 2, "ZoneListFile", &conf.zonelist_file);
    out.push_str("\t</Common>\n\t<Enforcer>\n");
    let e = &conf.enforcer;
    let p = &e.privileges;
    if p.user.is_some() || p.group.is_some() || p.directory.is_some() {
        out.push_str("\t\t<Privileges>\n");
        for (name, value) in [
            ("User", &p.user),
            ("Group", &p.group),
            ("Directory", &p.directory),
        ] {
            if let Some(v) = value {
                element(&mut out, 2, name, v);
            }
        }
        out.push_str("\t\t</Privileges>\n");
    }
    element(&mut out, 2, "WorkingDirectory", &e.working_directory);
    element(&mut out, 2, "WorkerThreads", &e.worker_threads.to_string());
    if e.manual_key_generation {
        out.push_str("\t\t<ManualKeyGeneration/>\n");
    }
    if let Some(cmd) = &e.ds_submit_command {
        element(&mut out, 2, "DelegationSignerSubmitCommand", cmd);
    }
    if let Some(cmd) = &e.ds_retract_command {
        element(&mut out, 2, "DelegationSignerRetractCommand", cmd);
    }
    out.push_str("\t</Enforcer>\n</Configuration>\n");
    out
}

/// One `<name>value</name>` line indented by `depth` tabs.
fn element(out: &mut String, depth: usize, name: &str, value: &str) {
    let _ = writeln!(
        out,
        "{}<{name}>{}</{name}>",
        "\t".repeat(depth),
        escape(value)
    );
}

/// Escapes text content for XML (quotes need no escaping outside attributes).
fn escape(s: &str) -> String {
    let mut r = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => r.push_str("&amp;"),
            '<' => r.push_str("&lt;"),
            '>' => r.push_str("&gt;"),
            c => r.push(c),
        }
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;
    use kasp_projector::formats::conf::parse_conf;

    fn shipped() -> Conf {
        // OpenDNSSEC 2.1.12's stock conf.xml, as copied into the repository (named from
        // the crate's directory, so the path holds wherever this module lives).
        let text = include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../fixtures/ods/conf.xml"
        ));
        parse_conf(text, "conf.xml").unwrap()
    }

    #[test]
    fn shipped_conf_xml() {
        let out = render(&shipped());
        assert_eq!(
            out,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
             <Configuration>\n\
             \t<Common>\n\
             \t\t<Logging>\n\
             \t\t\t<Syslog>\n\
             \t\t\t\t<Facility>local0</Facility>\n\
             \t\t\t</Syslog>\n\
             \t\t</Logging>\n\
             \t\t<PolicyFile>/etc/opendnssec/kasp.xml</PolicyFile>\n\
             \t\t<ZoneListFile>/etc/opendnssec/zonelist.xml</ZoneListFile>\n\
             \t</Common>\n\
             \t<Enforcer>\n\
             \t\t<WorkingDirectory>/var/lib/opendnssec/enforcer</WorkingDirectory>\n\
             \t\t<WorkerThreads>4</WorkerThreads>\n\
             \t</Enforcer>\n\
             </Configuration>\n"
        );
        assert!(!out.contains("1234"), "the PIN must never be printed");
    }

    #[test]
    fn optional_parts_and_escaping() {
        let mut conf = shipped();
        conf.logging.syslog_facility = None;
        conf.enforcer.privileges.user = Some("opendnssec".into());
        conf.enforcer.privileges.directory = Some("/var/<chroot>".into());
        conf.enforcer.manual_key_generation = true;
        conf.enforcer.ds_submit_command = Some("/bin/submit a&b".into());
        conf.enforcer.ds_retract_command = Some("/bin/retract".into());
        conf.enforcer.worker_threads = 0;
        let out = render(&conf);
        assert!(!out.contains("<Logging>"));
        assert!(out.contains(
            "\t<Enforcer>\n\t\t<Privileges>\n\t\t<User>opendnssec</User>\n\
             \t\t<Directory>/var/&lt;chroot&gt;</Directory>\n\t\t</Privileges>\n"
        ));
        assert!(out.contains("\t\t<WorkerThreads>0</WorkerThreads>\n\t\t<ManualKeyGeneration/>\n"));
        assert!(out.contains(
            "<DelegationSignerSubmitCommand>/bin/submit a&amp;b</DelegationSignerSubmitCommand>\n\
             \t\t<DelegationSignerRetractCommand>/bin/retract</DelegationSignerRetractCommand>\n\
             \t</Enforcer>\n"
        ));
        assert!(well_formed(&out));
    }

    /// Every `<x>` has a matching `</x>` (a light well-formedness check).
    fn well_formed(xml: &str) -> bool {
        let mut stack = Vec::new();
        for tag in xml.split('<').skip(2).filter_map(|t| t.split('>').next()) {
            if let Some(name) = tag.strip_prefix('/') {
                if stack.pop() != Some(name) {
                    return false;
                }
            } else if !tag.ends_with('/') {
                stack.push(tag);
            }
        }
        stack.is_empty()
    }
}
