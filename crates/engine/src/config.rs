//! Loading conf.xml, kasp.xml and zonelist.xml from disk: read, check against
//! OpenDNSSEC's RelaxNG schema (so validity is exactly OpenDNSSEC's), then parse with
//! the projector's strict readers. Every failure names the file, and the line where
//! there is one.

use crate::Failure;
use crate::files::read_text;
use crate::schema::{Schema, validate};
use kasp_projector::formats::conf::{Conf, parse_conf};
use std::path::Path;

/// Reads and validates conf.xml.
pub fn load(path: &Path) -> Result<Conf, Failure> {
    let file = path.display().to_string();
    let text = read_text(path).map_err(|e| Failure::env(format!("configuration: {e}")))?;
    check_schema(&text, &file, Schema::Conf).map_err(Failure::env)?;
    parse_conf(&text, &file).map_err(|e| Failure::env(format!("configuration: {e}")))
}

/// Runs the RelaxNG check; the error text lists every problem, one per line.
pub fn check_schema(text: &str, file: &str, schema: Schema) -> Result<(), String> {
    validate(text, file, schema).map_err(|errors| {
        let mut lines: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
        lines.push(format!("{file} fails to validate"));
        lines.join("\n")
    })
}
