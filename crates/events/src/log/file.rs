//! The log as a file: which file a handle holds (device and inode, compared with what
//! the path names now), and the length redb's own header records for it.
//!
//! A read-write redb open refuses a file shorter than the layout its header records
//! ("File truncated below stored layout"); a read-only open in redb's shared mode does
//! not look (a live writer may be resizing the file), so a log cut by a byte would read
//! as intact while every write refuses it. [`check_length`] makes the same check read-only,
//! for a file no writer has open, without writing a byte.

use super::errors::{LogError, corrupt};
use std::io::Read;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// A file's identity: the device and inode a path named when the log was opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct FileId {
    dev: u64,
    ino: u64,
}

impl FileId {
    pub(super) fn of(m: &std::fs::Metadata) -> FileId {
        FileId {
            dev: m.dev(),
            ino: m.ino(),
        }
    }
}

/// Whether `path` still names the file `held` (`Ok(None)`), or why not (`Ok(Some(why))`).
pub(super) fn named_by(path: &Path, held: FileId) -> Result<Option<String>, std::io::Error> {
    match std::fs::metadata(path) {
        Ok(m) if FileId::of(&m) == held => Ok(None),
        Ok(_) => Ok(Some(
            "another file was put in its place since it was opened".to_string(),
        )),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Some(
            "it was removed or renamed since it was opened".to_string(),
        )),
        Err(e) => Err(e),
    }
}

/// redb's file header (redb 4.6, tree_store/page_store/header.rs): magic number, god
/// byte, page size, region geometry, region counts.
const MAGIC: [u8; 9] = [b'r', b'e', b'd', b'b', 0x1A, 0x0A, 0xA9, 0x0D, 0x0A];
const HEADER_LEN: usize = 32;
/// God byte flags: a writer has the file open or died with it open (redb then
/// recomputes the layout from the file length); a commit not yet flushed.
const RECOVERY_REQUIRED: u8 = 2;
const PRIMARY_UNFLUSHED: u8 = 8;

fn u32_at(h: &[u8], at: usize) -> u64 {
    u64::from(u32::from_le_bytes([h[at], h[at + 1], h[at + 2], h[at + 3]]))
}

/// The file length redb's header records, if the header says the file was closed
/// cleanly (no writer has it open and none died with it open).
fn recorded_length(header: &[u8; HEADER_LEN]) -> Option<u64> {
    if header[..9] != MAGIC || header[9] & (RECOVERY_REQUIRED | PRIMARY_UNFLUSHED) != 0 {
        return None;
    }
    let page = u32_at(header, 12);
    let region_header_pages = u32_at(header, 16);
    let region_data_pages = u32_at(header, 20);
    let full_regions = u32_at(header, 24);
    let trailing_pages = u32_at(header, 28);
    // The super-header page, the full regions, the trailing partial region.
    let full = (region_header_pages + region_data_pages).checked_mul(page)?;
    let trailing = if trailing_pages > 0 {
        (region_header_pages + trailing_pages).checked_mul(page)?
    } else {
        0
    };
    page.checked_add(full_regions.checked_mul(full)?)?
        .checked_add(trailing)
}

fn read_header(path: &Path) -> std::io::Result<([u8; HEADER_LEN], u64)> {
    let mut f = std::fs::File::open(path)?;
    let mut header = [0u8; HEADER_LEN];
    f.read_exact(&mut header)?;
    let len = f.metadata()?.len();
    Ok((header, len))
}

/// Refuses, as a read-write open would, a cleanly closed log shorter than the length
/// its header records: it was cut short. Reads only.
pub(super) fn check_length(path: &Path) -> Result<(), LogError> {
    let Ok((header, len)) = read_header(path) else {
        // redb opened it; what it cannot read is reported by the reads that need it.
        return Ok(());
    };
    let Some(recorded) = recorded_length(&header) else {
        return Ok(());
    };
    if len >= recorded {
        return Ok(());
    }
    // A writer that opened the file since the header was read may have shrunk it after
    // writing a smaller layout: only a header that did not change between the two reads
    // counts.
    match read_header(path) {
        Ok((again, len)) if again == header && len < recorded => Err(corrupt(
            path,
            format!(
                "the file is {len} bytes, shorter than the {recorded} bytes its header \
                 records: it was cut short"
            ),
        )),
        _ => Ok(()),
    }
}
