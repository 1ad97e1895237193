//! The files OpenDNSSEC operators already have, read strictly and written byte for
//! byte as OpenDNSSEC 2.1.12 writes them: kasp.xml ([`kasp`], [`kasp_export`], the
//! semantic checks of [`kaspcheck`]), conf.xml ([`conf`]), zonelist.xml ([`zonelist`]),
//! the signer configuration ([`signconf`]), and the pieces they share: durations
//! ([`duration`]), the XML reading helpers ([`xmlin`]) and writer ([`xmlout`]). Pure:
//! parsers take the text and the file name (for messages) and never open anything.

pub mod conf;
pub mod duration;
pub mod kasp;
pub mod kasp_export;
pub mod kaspcheck;
pub mod signconf;
pub mod xmlin;
pub mod xmllimits;
pub mod xmlout;
pub mod zonelist;
