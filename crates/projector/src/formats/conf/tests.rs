//! Tests of conf.xml reading.

use super::*;

const STOCK: &str = include_str!("../../../../../fixtures/ods/conf.xml");

fn edited(from: &str, to: &str) -> String {
    assert!(STOCK.contains(from), "{from}");
    STOCK.replacen(from, to, 1)
}

fn line_of(text: &str, needle: &str) -> u32 {
    let at = text.find(needle).unwrap();
    text[..at].matches('\n').count() as u32 + 1
}

#[test]
fn stock_conf() {
    let c = parse_conf(STOCK, "conf.xml").unwrap();
    assert_eq!(
        c.repositories,
        vec![Repository {
            name: "SoftHSM".into(),
            module: "/usr/lib/softhsm/libsofthsm2.so".into(),
            token_label: "OpenDNSSEC".into(),
            pin: Some(Pin::new("1234")),
            capacity: None,
            require_backup: false,
            skip_public_key: true,
            allow_extraction: false,
        }]
    );
    assert_eq!(c.repository_names(), ["SoftHSM"]);
    assert!(c.repository("SoftHSM").is_some() && c.repository("x").is_none());
    assert_eq!(
        c.logging,
        Logging {
            verbosity: 3,
            syslog_facility: Some("local0".into())
        }
    );
    assert_eq!(c.policy_file, "/etc/opendnssec/kasp.xml");
    assert_eq!(c.zonelist_file, "/etc/opendnssec/zonelist.xml");
    let e = &c.enforcer;
    assert_eq!(e.privileges, Privileges::default());
    assert_eq!(
        e.datastore,
        Datastore::Sqlite {
            path: "/var/lib/opendnssec/kasp.db".into()
        }
    );
    assert!(!e.manual_key_generation);
    assert_eq!(e.automatic_key_generation_period, Seconds(31_536_000));
    assert_eq!(e.rollover_notification, None);
    assert_eq!(
        (e.ds_submit_command.as_ref(), e.ds_retract_command.as_ref()),
        (None, None)
    );
    assert_eq!(e.pid_file, DEFAULT_PID_FILE);
    assert_eq!(e.socket_file, DEFAULT_SOCKET_FILE);
    assert_eq!(e.working_directory, "/var/lib/opendnssec/enforcer");
    assert_eq!(e.worker_threads, 4);
    assert_eq!(
        c.signer,
        Some(SignerConf {
            working_directory: Some("/var/lib/opendnssec/signer".into())
        })
    );
}

#[test]
fn pins_are_never_printed() {
    let c = parse_conf(STOCK, "conf.xml").unwrap();
    let pin = c.repositories[0].pin.clone().unwrap();
    assert_eq!(pin.expose(), "1234");
    assert_eq!(pin.to_string(), "***");
    assert_eq!(format!("{pin:?}"), "***");
    let all = format!("{c:?} {c:#?}");
    assert!(!all.contains("1234"), "{all}");
    assert!(all.contains("***"));
}

#[test]
fn minimal_and_full_confs() {
    let minimal = "<Configuration><Enforcer><Datastore><SQLite>db</SQLite></Datastore></Enforcer>\
        <Common><ZoneListFile>z</ZoneListFile><PolicyFile>k</PolicyFile></Common>\
        <RepositoryList/></Configuration>";
    let c = parse_conf(minimal, "c").unwrap();
    assert!(c.repositories.is_empty() && c.signer.is_none());
    assert_eq!(c.logging.verbosity, 3);
    assert_eq!(c.logging.syslog_facility, None);
    assert_eq!(c.enforcer.working_directory, DEFAULT_WORKING_DIRECTORY);
    assert_eq!(
        c.enforcer.automatic_key_generation_period,
        DEFAULT_KEYGEN_PERIOD
    );

    let full = "<Configuration>\
        <RepositoryList><Repository name=\"a\"><RequireBackup/><TokenLabel>t</TokenLabel>\
        <Capacity>255</Capacity><Module>m</Module><AllowExtraction/></Repository></RepositoryList>\
        <Common><Logging><Syslog><Facility>daemon</Facility></Syslog><Verbosity>5</Verbosity></Logging>\
        <PolicyFile>k</PolicyFile><ZoneListFile>z</ZoneListFile></Common>\
        <Enforcer><WorkerThreads>0</WorkerThreads><Privileges><Group>g</Group><User>u</User>\
        <Directory>/c</Directory></Privileges>\
        <Datastore><MySQL><Username>me</Username><Host Port=\"3307\">db.example</Host>\
        <Database>kasp</Database><Password>secret</Password></MySQL></Datastore>\
        <ManualKeyGeneration/><AutomaticKeyGenerationPeriod>P30D</AutomaticKeyGenerationPeriod>\
        <RolloverNotification>P14D</RolloverNotification>\
        <DelegationSignerSubmitCommand>/bin/sub x</DelegationSignerSubmitCommand>\
        <DelegationSignerRetractCommand>/bin/ret</DelegationSignerRetractCommand>\
        <PidFile>/p</PidFile><SocketFile>/s</SocketFile><WorkingDirectory>/w</WorkingDirectory>\
        </Enforcer><Signer><Listener><Interface><Port>53</Port><Address>::1</Address></Interface>\
        </Listener><SignerThreads>2</SignerThreads></Signer></Configuration>";
    let c = parse_conf(full, "c").unwrap();
    let r = &c.repositories[0];
    assert_eq!(
        (
            r.capacity,
            r.require_backup,
            r.allow_extraction,
            r.pin.is_none()
        ),
        (Some(255), true, true, true)
    );
    assert_eq!(c.logging.verbosity, 5);
    assert_eq!(c.logging.syslog_facility.as_deref(), Some("daemon"));
    let e = &c.enforcer;
    assert_eq!(
        e.privileges,
        Privileges {
            user: Some("u".into()),
            group: Some("g".into()),
            directory: Some("/c".into())
        }
    );
    let Datastore::Mysql {
        host,
        port,
        database,
        username,
        password,
    } = &e.datastore
    else {
        panic!("mysql")
    };
    assert_eq!(
        (host.as_deref(), *port, database.as_str(), username.as_str()),
        (Some("db.example"), Some(3307), "kasp", "me")
    );
    assert_eq!(password.expose(), "secret");
    assert!(!format!("{c:?}").contains("secret"));
    assert!(e.manual_key_generation);
    assert_eq!(e.automatic_key_generation_period, Seconds(30 * 86400));
    assert_eq!(e.rollover_notification, Some(Seconds(14 * 86400)));
    assert_eq!(e.ds_submit_command.as_deref(), Some("/bin/sub x"));
    assert_eq!(e.ds_retract_command.as_deref(), Some("/bin/ret"));
    assert_eq!(
        (
            e.pid_file.as_str(),
            e.socket_file.as_str(),
            e.working_directory.as_str()
        ),
        ("/p", "/s", "/w")
    );
    assert_eq!(e.worker_threads, 0);
    assert_eq!(
        c.signer,
        Some(SignerConf {
            working_directory: None
        })
    );
}

#[test]
fn bad_confs_are_positioned() {
    let cases: Vec<(String, &str, &str)> = vec![
        (edited("</Common>", "</Commo>"), "</Commo>", "malformed XML"),
        (
            edited("<Module>", "<Modul>").replacen("</Module>", "</Modul>", 1),
            "<Modul>",
            "unexpected element <Modul> in <Repository>",
        ),
        (
            edited("\t\t\t<TokenLabel>OpenDNSSEC</TokenLabel>\n", ""),
            "<Repository name",
            "missing <TokenLabel> in <Repository>",
        ),
        (
            edited("<PIN>1234</PIN>", "<PIN>1234</PIN><PIN>1</PIN>"),
            "<PIN>1</PIN>",
            "<PIN> may appear only once in <Repository>",
        ),
        (
            edited("<Verbosity>3</Verbosity>", "<Verbosity>-1</Verbosity>"),
            "<Verbosity>-1",
            "<Verbosity> must be a whole number",
        ),
        (
            edited("<Facility>local0</Facility>", "<Facility>local9</Facility>"),
            "<Facility>local9",
            "<Facility> must be one of",
        ),
        (
            edited(
                "<AutomaticKeyGenerationPeriod>P1Y<",
                "<AutomaticKeyGenerationPeriod>P1Q<",
            ),
            "<AutomaticKeyGenerationPeriod>P1Q",
            "Enforcer/AutomaticKeyGenerationPeriod: invalid duration 'P1Q'",
        ),
        (
            edited(
                "<Datastore><SQLite>/var/lib/opendnssec/kasp.db</SQLite></Datastore>",
                "",
            ),
            "<Enforcer>",
            "missing <Datastore> in <Enforcer>",
        ),
        (
            edited("<SQLite>/var/lib/opendnssec/kasp.db</SQLite>", ""),
            "<Datastore>",
            "missing <SQLite> or <MySQL> in <Datastore>",
        ),
        (
            edited(
                "<WorkerThreads>4</WorkerThreads>\n<!--",
                "<WorkerThreads>0</WorkerThreads>\n<!--",
            ),
            "<WorkerThreads>0",
            "from 1 to",
        ),
        (
            edited("<Repository name=\"SoftHSM\">", "<Repository>"),
            "<Repository>",
            "<Repository> needs the attribute 'name'",
        ),
        (
            edited(
                "\t\t<PolicyFile>/etc/opendnssec/kasp.xml</PolicyFile>\n",
                "",
            ),
            "<Common>",
            "missing <PolicyFile> in <Common>",
        ),
        (
            edited("<Configuration>", "<Config>").replacen("</Configuration>", "</Config>", 1),
            "<Config>",
            "expected root element <Configuration>",
        ),
        (
            edited("<SkipPublicKey/>", "<SkipPublicKey>yes</SkipPublicKey>"),
            "<SkipPublicKey>yes",
            "unexpected text in <SkipPublicKey>",
        ),
    ];
    for (text, at, msg) in cases {
        let e = parse_conf(&text, "conf.xml").unwrap_err();
        assert!(e.message.contains(msg), "{msg:?} not in {e}");
        assert_eq!(e.line, line_of(&text, at), "{e}");
        assert_eq!(e.file, "conf.xml");
    }
    let no_signer_dup = edited("<Signer>", "<Enforcer/><Signer>");
    let e = parse_conf(&no_signer_dup, "c").unwrap_err();
    assert!(e.message.contains("<Enforcer> may appear only once"), "{e}");
}
