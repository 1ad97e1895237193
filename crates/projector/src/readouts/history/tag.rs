//! Finding a key by zone and key tag (first pass of `key history --keytag T --zone Z`).

use kasp_events::{Event, Locator, Record, ZoneName};
use std::collections::BTreeSet;

/// The locators of the keys zone `zone` had with key tag `tag`, in any of its lives
/// (first pass of `key history --keytag T --zone Z`).
#[derive(Debug, Clone)]
pub struct TagSearch {
    pub zone: ZoneName,
    pub tag: u16,
    pub found: BTreeSet<Locator>,
}

impl TagSearch {
    pub fn new(zone: ZoneName, tag: u16) -> TagSearch {
        TagSearch {
            zone,
            tag,
            found: BTreeSet::new(),
        }
    }

    pub fn record(&mut self, r: &Record) {
        match &r.event {
            Event::ZoneEnforced(e) if e.zone.key() == self.zone.key() => {
                for k in e.new_keys.iter().filter(|k| k.key_tag == self.tag) {
                    self.found.insert(k.locator);
                }
            }
            Event::KeyImported(e) if e.zone.key() == self.zone.key() && e.key_tag == self.tag => {
                self.found.insert(e.locator);
            }
            _ => {}
        }
    }
}
