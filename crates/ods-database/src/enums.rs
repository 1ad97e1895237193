//! The enumerations of OpenDNSSEC 2.1's database, with the integers it stores and the names it
//! prints. Values and names are those of the `*_enum_set_*` tables of OpenDNSSEC's
//! enforcer/src/db/{key_data,key_state,key_dependency,hsm_key,policy,policy_key}.c; a stored
//! integer outside a set is refused (`Error::UnknownValue`), as OpenDNSSEC refuses to load
//! such a row.

macro_rules! db_enum {
    ($(#[$doc:meta])* $name:ident, $expected:literal { $($(#[$vdoc:meta])* $variant:ident = $value:literal, $text:literal;)+ }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $($(#[$vdoc])* $variant,)+
        }

        impl $name {
            /// Every value, in the order of OpenDNSSEC's enum set.
            pub const ALL: &'static [$name] = &[$($name::$variant,)+];
            /// The value OpenDNSSEC stores for the integer, or `None` if it defines none.
            pub fn from_db(value: i64) -> Option<Self> {
                match value {
                    $($value => Some($name::$variant),)+
                    _ => None,
                }
            }

            /// The integer OpenDNSSEC stores.
            pub fn to_db(self) -> i64 {
                match self {
                    $($name::$variant => $value,)+
                }
            }

            /// The name OpenDNSSEC gives the value (its enum set's text).
            pub fn name(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)+
                }
            }
        }

        impl crate::decode::Coded for $name {
            const EXPECTED: &'static str = $expected;
            fn from_db(value: i64) -> Option<Self> {
                $name::from_db(value)
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.name())
            }
        }
    };
}

db_enum! {
    /// The role of a key (`keyData.role`, `hsmKey.role`, `policyKey.role`).
    Role, "1 KSK, 2 ZSK or 3 CSK" {
        Ksk = 1, "KSK";
        Zsk = 2, "ZSK";
        Csk = 3, "CSK";
    }
}

db_enum! {
    /// Where the key's DS stands with the parent (`keyData.dsAtParent`).
    DsAtParent, "0 unsubmitted, 1 submit, 2 submitted, 3 seen, 4 retract or 5 retracted" {
        Unsubmitted = 0, "unsubmitted";
        /// The DS is to be submitted (the operator runs `key ds-submit`, or the submit command).
        Submit = 1, "submit";
        Submitted = 2, "submitted";
        Seen = 3, "seen";
        /// The DS is to be withdrawn.
        Retract = 4, "retract";
        Retracted = 5, "retracted";
    }
}

db_enum! {
    /// The record a key state is about (`keyState.type`, `keyDependency.type`).
    RecordType, "0 DS, 1 RRSIG, 2 DNSKEY or 3 RRSIGDNSKEY" {
        Ds = 0, "DS";
        /// The signatures the key makes over the zone's records.
        Rrsig = 1, "RRSIG";
        Dnskey = 2, "DNSKEY";
        /// The key's signature over the DNSKEY set.
        RrsigDnskey = 3, "RRSIGDNSKEY";
    }
}

db_enum! {
    /// The state of one record of a key (`keyState.state`).
    RecordState, "0 hidden, 1 rumoured, 2 omnipresent, 3 unretentive or 4 NA" {
        Hidden = 0, "hidden";
        Rumoured = 1, "rumoured";
        Omnipresent = 2, "omnipresent";
        Unretentive = 3, "unretentive";
        /// Not applicable: the record does not exist for the key's role (a ZSK's DS).
        Na = 4, "NA";
    }
}

db_enum! {
    /// What an HSM key is used for (`hsmKey.state`).
    HsmKeyState, "1 UNUSED, 2 PRIVATE, 3 SHARED or 4 DELETE" {
        /// In the pool, generated ahead, not yet given to a zone.
        Unused = 1, "UNUSED";
        /// Used by one zone.
        Private = 2, "PRIVATE";
        /// Used by the zones of a policy with `<ShareKeys/>`.
        Shared = 3, "SHARED";
        /// No longer used; to be removed from the HSM by `key purge`/the enforcer.
        Delete = 4, "DELETE";
    }
}

db_enum! {
    /// `hsmKey.keyType`. OpenDNSSEC 2.1 writes RSA for every key, whatever its algorithm
    /// (hsm_key_factory.c, keystate_import_cmd.c): the algorithm is in `hsmKey.algorithm`.
    HsmKeyType, "1 RSA" {
        Rsa = 1, "RSA";
    }
}

db_enum! {
    /// The backup state of an HSM key (`hsmKey.backup`), for repositories with
    /// `<RequireBackup/>`.
    Backup, "0 Not Required, 1 Required, 2 Prepared or 3 Done" {
        NotRequired = 0, "Not Required";
        /// Must be backed up before use; not yet.
        Required = 1, "Required";
        /// `backup prepare` ran (OpenDNSSEC's HSM_KEY_BACKUP_BACKUP_REQUESTED).
        Prepared = 2, "Prepared";
        /// `backup commit` ran.
        Done = 3, "Done";
    }
}

db_enum! {
    /// `policy.denialType`.
    DenialType, "0 NSEC or 1 NSEC3" {
        Nsec = 0, "NSEC";
        Nsec3 = 1, "NSEC3";
    }
}

db_enum! {
    /// `policy.zoneSoaSerial`: how the signer sets the SOA serial.
    SoaSerial, "0 counter, 1 datecounter, 2 unixtime or 3 keep" {
        Counter = 0, "counter";
        Datecounter = 1, "datecounter";
        Unixtime = 2, "unixtime";
        Keep = 3, "keep";
    }
}

/// Which records a key's rollover keeps to a minimum (`policyKey.minimize`, `keyData.minimize`):
/// the bits of OpenDNSSEC's enforcer/src/db/policy_key_ext.h, RRSIG 1, DNSKEY 2, DS 4. A KSK
/// with double-DS has `ds`, a ZSK with pre-publication `rrsig`, a CSK's default is `ds` and
/// `rrsig`; double-signature rollovers have none.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Minimize {
    pub rrsig: bool,
    pub dnskey: bool,
    pub ds: bool,
}

impl crate::decode::Coded for Minimize {
    const EXPECTED: &'static str = "a bit set of 1 RRSIG, 2 DNSKEY and 4 DS, 0 to 7";
    fn from_db(value: i64) -> Option<Self> {
        Minimize::from_db(value)
    }
}

impl Minimize {
    /// The bits, or `None` for a value with other bits.
    pub fn from_db(value: i64) -> Option<Self> {
        if !(0..=7).contains(&value) {
            return None;
        }
        Some(Minimize {
            rrsig: value & 1 != 0,
            dnskey: value & 2 != 0,
            ds: value & 4 != 0,
        })
    }

    /// The integer OpenDNSSEC stores.
    pub fn to_db(self) -> i64 {
        i64::from(self.rrsig) | (i64::from(self.dnskey) << 1) | (i64::from(self.ds) << 2)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::Coded;

    fn round_trips<T: Coded + Copy + PartialEq + std::fmt::Debug>(all: &[T], to_db: fn(T) -> i64) {
        for &v in all {
            assert_eq!(T::from_db(to_db(v)), Some(v));
        }
    }

    #[test]
    fn every_value_round_trips_and_others_are_unknown() {
        round_trips(Role::ALL, Role::to_db);
        round_trips(DsAtParent::ALL, DsAtParent::to_db);
        round_trips(RecordType::ALL, RecordType::to_db);
        round_trips(RecordState::ALL, RecordState::to_db);
        round_trips(HsmKeyState::ALL, HsmKeyState::to_db);
        round_trips(HsmKeyType::ALL, HsmKeyType::to_db);
        round_trips(Backup::ALL, Backup::to_db);
        round_trips(DenialType::ALL, DenialType::to_db);
        round_trips(SoaSerial::ALL, SoaSerial::to_db);
        for bits in 0..=7 {
            assert_eq!(Minimize::from_db(bits).map(Minimize::to_db), Some(bits));
        }
        assert_eq!(Role::from_db(0), None);
        assert_eq!(RecordState::from_db(5), None);
        assert_eq!(HsmKeyType::from_db(2), None);
        assert_eq!(Minimize::from_db(8), None);
        assert_eq!(Minimize::from_db(-1), None);
    }

    #[test]
    fn names_are_opendnssecs() {
        assert_eq!(Backup::Prepared.name(), "Prepared");
        assert_eq!(Backup::NotRequired.to_string(), "Not Required");
        assert_eq!(RecordType::RrsigDnskey.name(), "RRSIGDNSKEY");
        assert_eq!(RecordState::Na.name(), "NA");
        assert_eq!(HsmKeyState::Delete.name(), "DELETE");
    }
}
