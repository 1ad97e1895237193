//! zonelist.xml in and out. Reading checks `zonelist.rnc` (`Zone@name`, `Policy`,
//! `SignerConfiguration`, `Adapters/Input` and `Adapters/Output` in that order, each
//! adapter either `<File>path</File>` (type `File`) or `<Adapter type="T">uri</Adapter>`),
//! validates zone and policy names, and refuses a zone listed twice (names compared by
//! [`ZoneName::key`]). Writing is `zonelist export` (`keystate/zonelist_export.c`), which
//! always uses the `<Adapter type=…>` form and, for the configured ZoneListFile, starts
//! with OpenDNSSEC's explanatory comment about 2.0.

use crate::formats::xmlin::{Ctx, FormatError, Seq, parse_document};
use crate::formats::xmlout::XmlWriter;
use kasp_events::zone::{Adapter, ZoneConfig};
use kasp_events::{PolicyName, ZoneName};
use roxmltree::Node;
use std::collections::BTreeMap;

/// The comment `zonelist export` puts first in the ZoneListFile, verbatim from
/// OpenDNSSEC 2.1.12 `zonelist_export.c` (libxml2 writes it as `<!--…-->`).
pub const ZONELIST_COMMENT: &str = "\n\n\
********* Important changes to zonelist.xml in 2.0 ***************\n\
\n\
In 2.0, the zonelist.xml file is no longer automatically updated when zones\n\
are added or deleted  via the command line by using the 'ods-enforcer zone add'\n\
command. However, in 2.0 it is possible to force an update of the zonelist.xml\n\
file by using the new 'xml' flag. This is in contrast to the behaviour in 1.4\n\
where zonelist.xml was always updated, unless the 'no-xml' flag was used. \n\
\n\
As a result in 2.0 the contents of the enforcer database should be considered\n\
the 'master' for the list of currently configured zones, not the zonelist.xml\n\
file as the file can easily become out of sync with the database.\n\
\n\
The contents of the database can be listed using:\n\
\x20 ods-enforcer zone list\n\
and exported using the command\n\
\x20 ods-enforcer zonelist export\n\
The contents of the database can still be updated in bulk from the zonelist.xml\n\
file by using the command:\n\
\x20 ods-enforcer zonelist import    (or ods-enforcer update zonelist)\n\n";

type R<T> = Result<T, FormatError>;

/// Reads zonelist.xml into zone configurations, in file order. `file` is used only in
/// messages.
pub fn parse_zonelist(text: &str, file: &str) -> R<Vec<ZoneConfig>> {
    let doc = parse_document(text, file)?;
    let ctx = Ctx { doc: &doc, file };
    let root = doc.root_element();
    ctx.expect_root(root, "ZoneList")?;
    let mut seq = Seq::new(ctx, root, &[])?;
    let mut zones = Vec::new();
    // Zone key → byte offset of its first appearance. The line is only worked out for
    // the error message: `text_pos_at` scans from the start of the text, so calling it
    // per zone made large zone lists quadratic.
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    while let Some(node) = seq.optional("Zone") {
        let zone = zone(ctx, node)?;
        if let Some(&first) = seen.get(&zone.name.key()) {
            let first = doc.text_pos_at(first).row;
            return Err(ctx.err(
                node,
                format!(
                    "zone '{}' is listed twice (first on line {first})",
                    zone.name
                ),
            ));
        }
        seen.insert(zone.name.key(), node.range().start);
        zones.push(zone);
    }
    seq.finish()?;
    Ok(zones)
}

fn zone(ctx: Ctx<'_, '_>, node: Node<'_, '_>) -> R<ZoneConfig> {
    let mut seq = Seq::new(ctx, node, &["name"])?;
    let name = ZoneName::new(ctx.attr(node, "name")?).map_err(|e| ctx.err(node, e.to_string()))?;
    let p = seq.required("Policy")?;
    let policy = PolicyName::new(&ctx.text(p)?).map_err(|e| ctx.err(p, e.to_string()))?;
    let signconf_path = ctx.text(seq.required("SignerConfiguration")?)?;
    let adapters = seq.required("Adapters")?;
    seq.finish()?;
    let mut a = Seq::new(ctx, adapters, &[])?;
    let input = adapter(ctx, a.required("Input")?)?;
    let output = adapter(ctx, a.required("Output")?)?;
    a.finish()?;
    Ok(ZoneConfig {
        name,
        policy,
        signconf_path,
        input,
        output,
    })
}

fn adapter(ctx: Ctx<'_, '_>, node: Node<'_, '_>) -> R<Adapter> {
    let mut seq = Seq::new(ctx, node, &[])?;
    let adapter = if let Some(f) = seq.optional("File") {
        Adapter {
            kind: "File".to_string(),
            uri: ctx.text(f)?,
        }
    } else if let Some(a) = seq.optional("Adapter") {
        Adapter {
            kind: ctx.attr(a, "type")?.to_string(),
            uri: ctx.text_with(a, &["type"])?,
        }
    } else {
        return Err(seq.fail("<File> or <Adapter>"));
    };
    seq.finish()?;
    Ok(adapter)
}

/// The `zonelist export` document for these zones, in the given order. With
/// `with_comment` the 2.0 explanatory comment ([`ZONELIST_COMMENT`]) comes first, as in
/// the ZoneListFile; without it, it is the internal `zones.xml` the signer reads.
pub fn export_zonelist(zones: &[&ZoneConfig], with_comment: bool) -> String {
    let mut w = XmlWriter::new();
    w.open("ZoneList", &[]);
    if with_comment {
        w.comment(ZONELIST_COMMENT);
    }
    for z in zones {
        w.open("Zone", &[("name", z.name.as_str())]);
        w.leaf("Policy", z.policy.as_str());
        w.leaf("SignerConfiguration", &z.signconf_path);
        w.open("Adapters", &[]);
        for (dir, a) in [("Input", &z.input), ("Output", &z.output)] {
            w.open(dir, &[]);
            w.leaf_with("Adapter", &[("type", &a.kind)], &a.uri);
            w.close();
        }
        w.close();
        w.close();
    }
    w.finish()
}

#[cfg(test)]
mod tests;
