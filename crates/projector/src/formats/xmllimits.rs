//! libxml2's default limits, which OpenDNSSEC parses its files with (no `XML_PARSE_HUGE`):
//! a text node of at most [`MAX_TEXT_LENGTH`] bytes (`XML_MAX_TEXT_LENGTH`), elements nested
//! at most [`MAX_DEPTH`] deep (`xmlParserMaxDepth`). Checked on the raw text before any
//! parser builds a tree of it, so a file of 100 MB of text is refused without being parsed,
//! with libxml2's messages (as `xmllint` prints them for the same file).
//!
//! libxml2 parsing from memory, as crates/engine/src/schema.rs does, hands a long run of
//! text to its SAX handler in one piece and so misses the text limit that OpenDNSSEC's
//! `xmlParseFile`, reading in chunks, enforces; hence this check before it.

/// The longest text node (and comment, attribute value) libxml2 accepts: 10,000,000 bytes.
pub const MAX_TEXT_LENGTH: usize = 10_000_000;

/// libxml2's `xmlParserMaxDepth`: a document whose elements nest deeper than one more than
/// this (257) is refused ("Excessive depth in document: 256").
pub const MAX_DEPTH: usize = 256;

/// libxml2's message for nesting past [`MAX_DEPTH`].
pub const EXCESSIVE_DEPTH: &str =
    "parser error : Excessive depth in document: 256 use XML_PARSE_HUGE option";

/// A limit a document exceeds: the 1-based line where it does, and libxml2's message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exceeded {
    pub line: u32,
    pub message: &'static str,
}

/// The first run of character data (between markup), attribute text or comment longer
/// than [`MAX_TEXT_LENGTH`] bytes, if any.
pub fn huge_text(text: &str) -> Option<Exceeded> {
    let bytes = text.as_bytes();
    // Where the current run started, and whether it is inside markup (after a `<`).
    let mut start = 0;
    let mut in_markup = false;
    for (i, b) in bytes.iter().enumerate() {
        match b {
            b'<' => (start, in_markup) = (i + 1, true),
            b'>' => (start, in_markup) = (i + 1, false),
            _ if i - start >= MAX_TEXT_LENGTH => {
                let message = if !in_markup {
                    "parser error : xmlSAX2Characters: huge text node"
                } else if bytes[start..].starts_with(b"!--") {
                    "parser error : Comment too big found"
                } else {
                    "parser error : AttValue length too long"
                };
                return Some(Exceeded {
                    line: line_of(bytes, i),
                    message,
                });
            }
            _ => {}
        }
    }
    None
}

/// The 1-based line of byte `offset`.
pub fn line_of(bytes: &[u8], offset: usize) -> u32 {
    let newlines = bytes[..offset.min(bytes.len())]
        .iter()
        .filter(|b| **b == b'\n')
        .count();
    u32::try_from(newlines + 1).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_up_to_the_limit_passes_and_one_byte_more_does_not() {
        let at = format!("<a>\n{}</a>", "x".repeat(MAX_TEXT_LENGTH - 1));
        assert_eq!(huge_text(&at), None);
        let over = format!("<a>\n<b>{}</b></a>", "x".repeat(MAX_TEXT_LENGTH + 1));
        let e = huge_text(&over).unwrap();
        assert_eq!(e.line, 2);
        assert!(e.message.contains("huge text node"));
        // Many text nodes that are each within the limit pass.
        let many = format!(
            "<a>{}</a>",
            format!("<b>{}</b>", "x".repeat(1000)).repeat(20_000)
        );
        assert_eq!(huge_text(&many), None);
    }

    #[test]
    fn attribute_values_and_comments_have_their_own_messages() {
        let attr = format!("<a b=\"{}\"/>", "x".repeat(MAX_TEXT_LENGTH + 1));
        assert!(huge_text(&attr).unwrap().message.contains("AttValue"));
        let comment = format!("<a><!--{}--></a>", "x".repeat(MAX_TEXT_LENGTH + 1));
        assert!(huge_text(&comment).unwrap().message.contains("Comment"));
    }
}
