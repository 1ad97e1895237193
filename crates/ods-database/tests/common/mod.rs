//! The installation the reader's tests read, as SQL statements: one policy, one zone mid-way
//! through a ZSK rollover, and what OpenDNSSEC keeps beside them. As SQLite holds it;
//! [`for_mysql`] gives it as MySQL holds it.

/// A time after 2038: OpenDNSSEC stores it as a negative 32-bit integer (db_backend_sqlite.c
/// binds unsigned columns with sqlite3_bind_int).
pub const LATE: u32 = 2_200_000_000;

/// One policy (NSEC3, KSK + ZSK), one zone mid-way through a ZSK pre-publication rollover,
/// an unused pool key, and the dependency of the old ZSK's signatures on the new one's.
pub const INSTALLATION: &str = "
INSERT INTO databaseVersion (id, rev, version) VALUES (1, 1, 1);
INSERT INTO policy VALUES (1, 3, 'default', 'A default policy', 7200, 259200, 43200, 3600,
  1209600, 1209600, NULL, 86400, 1, 0, 3600, 8640000, 1, 0, 8, 'a1b2c3d4e5f60718', 1700000000,
  3600, 3600, 3600, 0, 1209600, 300, 3600, 300, 2, 86400, 3600, 3600, 172800, 86400, 0);
INSERT INTO policyKey VALUES (1, 1, 1, 1, 8, 2048, 31536000, 'SoftHSM', 0, 0, 0, 4);
INSERT INTO policyKey VALUES (2, 1, 1, 2, 8, 1024, 7776000, 'SoftHSM', 1, 1, 0, 1);
INSERT INTO zone VALUES (1, 17, 1, 'example.com', 1, '/var/lib/opendnssec/signconf/example.com.xml',
  1700090000, 1700003600, 1700007200, 1700010800, 0, 1, 0, 'File',
  '/var/lib/opendnssec/unsigned/example.com', 'File', '/var/lib/opendnssec/signed/example.com',
  -2094967296, 1707776000, 0);
INSERT INTO hsmKey VALUES (1, 2, 1, '5f3a0c1e9b7d4a2c8e6f1b3d5a7c9e0f', 2, 2048, 8, 1, 1690000000, 0, 1, 'SoftHSM', 3);
INSERT INTO hsmKey VALUES (2, 2, 1, '0a1b2c3d4e5f60718293a4b5c6d7e8f9', 2, 1024, 8, 2, 1690000000, 0, 1, 'SoftHSM', 0);
INSERT INTO hsmKey VALUES (3, 2, 1, 'ffeeddccbbaa99887766554433221100', 2, 1024, 8, 2, 1699990000, 0, 1, 'SoftHSM', 0);
INSERT INTO hsmKey VALUES (4, 1, 1, '00112233445566778899aabbccddeeff', 1, 1024, 8, 2, 1699990000, 0, 1, 'SoftHSM', 1);
INSERT INTO keyData VALUES (1, 9, 1, 1, 8, 1690000100, 1, 1, 0, 0, 0, 1, 1, 3, 12345, 4);
INSERT INTO keyData VALUES (2, 12, 1, 2, 8, 1690000100, 2, 0, 0, 0, 1, 1, 0, 0, 23456, 1);
INSERT INTO keyData VALUES (3, 4, 1, 3, 8, 1699990100, 2, 1, 0, 0, 0, 1, 0, 0, 34567, 1);
INSERT INTO keyState VALUES (1, 3, 1, 0, 2, 1690100000, 1, 3600);
INSERT INTO keyState VALUES (2, 3, 1, 2, 2, 1690010000, 0, 3600);
INSERT INTO keyState VALUES (3, 3, 1, 3, 2, 1690010000, 0, 3600);
INSERT INTO keyState VALUES (4, 1, 1, 1, 4, 1690000100, 0, 3600);
INSERT INTO keyState VALUES (5, 1, 2, 0, 4, 1690000100, 0, 3600);
INSERT INTO keyState VALUES (6, 2, 2, 2, 2, 1690010000, 0, 3600);
INSERT INTO keyState VALUES (7, 2, 2, 3, 4, 1690000100, 0, 3600);
INSERT INTO keyState VALUES (8, 5, 2, 1, 3, 1700000000, 1, 3600);
INSERT INTO keyState VALUES (9, 1, 3, 0, 4, 1699990100, 0, 3600);
INSERT INTO keyState VALUES (10, 2, 3, 2, 2, 1699995000, 0, 3600);
INSERT INTO keyState VALUES (11, 1, 3, 3, 4, 1699990100, 0, 3600);
INSERT INTO keyState VALUES (12, 2, 3, 1, 1, 1700000000, 1, 3600);
INSERT INTO keyDependency VALUES (1, 1, 1, 2, 3, 1);
";

/// How OpenDNSSEC's SQLite backend stores [`LATE`] (in `zone.nextKskRoll`).
pub const LATE_IN_SQLITE: &str = "-2094967296";

/// The statements as OpenDNSSEC's MySQL backend would have stored the same installation:
/// the same, but [`LATE`] as itself in its `INT UNSIGNED` column (db_backend_mysql.c binds
/// unsigned columns as unsigned).
#[allow(dead_code)]
pub fn for_mysql(statements: &str) -> String {
    assert!(statements.contains(LATE_IN_SQLITE));
    statements.replace(LATE_IN_SQLITE, &LATE.to_string())
}
