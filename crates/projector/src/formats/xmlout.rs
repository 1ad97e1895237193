//! A tiny deterministic XML writer that produces what libxml2's `xmlSaveFormatFileEnc`
//! / `xmlDocDumpFormatMemoryEnc(…, "UTF-8", 1)` writes for the documents OpenDNSSEC
//! builds (`policy export`, `zonelist export`, signconf): the header
//! `<?xml version="1.0" encoding="UTF-8"?>`, two spaces of indentation per level, one
//! element per line, `<Name>text</Name>` for text-only elements, `<Name/>` for elements
//! without children, comments indented like elements, and a final newline.
//!
//! Escaping follows libxml2 as well: text escapes `&`, `<`, `>` and carriage return;
//! attribute values escape `&`, `<`, `>`, `"`, tab, newline and carriage return. Quotes
//! and apostrophes in text are written as they are (libxml2 does not escape them).

/// One open element.
#[derive(Debug)]
struct Frame {
    name: String,
    /// Whether the start tag has been closed with `>` (a child was written).
    has_children: bool,
}

/// Builds an XML document line by line; see the module documentation for the layout.
#[derive(Debug)]
pub struct XmlWriter {
    out: String,
    stack: Vec<Frame>,
}

impl Default for XmlWriter {
    fn default() -> Self {
        XmlWriter::new()
    }
}

impl XmlWriter {
    /// A new document: just the XML header so far.
    pub fn new() -> XmlWriter {
        XmlWriter {
            out: String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"),
            stack: Vec::new(),
        }
    }

    /// Closes the parent's start tag if this is its first child, then indents.
    fn begin_child(&mut self) {
        if let Some(parent) = self.stack.last_mut()
            && !parent.has_children
        {
            parent.has_children = true;
            self.out.push_str(">\n");
        }
        for _ in 0..self.stack.len() {
            self.out.push_str("  ");
        }
    }

    fn start_tag(&mut self, name: &str, attrs: &[(&str, &str)]) {
        self.out.push('<');
        self.out.push_str(name);
        for (k, v) in attrs {
            self.out.push(' ');
            self.out.push_str(k);
            self.out.push_str("=\"");
            self.out.push_str(&escape_attr(v));
            self.out.push('"');
        }
    }

    /// Opens an element that will get children; [`XmlWriter::close`] ends it. An
    /// element closed without children is written as `<Name/>`.
    pub fn open(&mut self, name: &str, attrs: &[(&str, &str)]) -> &mut Self {
        self.begin_child();
        self.start_tag(name, attrs);
        self.stack.push(Frame {
            name: name.to_string(),
            has_children: false,
        });
        self
    }

    /// Closes the innermost open element (does nothing if none is open).
    pub fn close(&mut self) -> &mut Self {
        if let Some(frame) = self.stack.pop() {
            if frame.has_children {
                for _ in 0..self.stack.len() {
                    self.out.push_str("  ");
                }
                self.out.push_str("</");
                self.out.push_str(&frame.name);
                self.out.push_str(">\n");
            } else {
                self.out.push_str("/>\n");
            }
        }
        self
    }

    /// A text-only element on one line: `<Name>text</Name>`; empty text gives `<Name/>`
    /// (libxml2 creates no text node for empty content).
    pub fn leaf(&mut self, name: &str, text: &str) -> &mut Self {
        self.leaf_with(name, &[], text)
    }

    /// A text-only element with attributes: `<Algorithm length="2048">8</Algorithm>`.
    pub fn leaf_with(&mut self, name: &str, attrs: &[(&str, &str)], text: &str) -> &mut Self {
        self.begin_child();
        self.start_tag(name, attrs);
        if text.is_empty() {
            self.out.push_str("/>\n");
        } else {
            self.out.push('>');
            self.out.push_str(&escape_text(text));
            self.out.push_str("</");
            self.out.push_str(name);
            self.out.push_str(">\n");
        }
        self
    }

    /// An element without children: `<NSEC/>`, `<Salt length="8"/>`.
    pub fn empty(&mut self, name: &str, attrs: &[(&str, &str)]) -> &mut Self {
        self.begin_child();
        self.start_tag(name, attrs);
        self.out.push_str("/>\n");
        self
    }

    /// A comment, `<!--text-->`, indented like an element. The text is written as is
    /// (as libxml2 does); a `--` in it would make the document malformed, so each `--`
    /// is written as `- -`.
    pub fn comment(&mut self, text: &str) -> &mut Self {
        self.begin_child();
        let mut safe = text.replace("--", "- -");
        if safe.ends_with('-') {
            safe.push(' ');
        }
        self.out.push_str("<!--");
        self.out.push_str(&safe);
        self.out.push_str("-->\n");
        self
    }

    /// Closes every open element and returns the document (it ends with a newline).
    pub fn finish(mut self) -> String {
        while !self.stack.is_empty() {
            self.close();
        }
        self.out
    }
}

/// Escapes element text as libxml2 does: `&`, `<`, `>` and carriage return.
pub fn escape_text(text: &str) -> String {
    let mut s = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => s.push_str("&amp;"),
            '<' => s.push_str("&lt;"),
            '>' => s.push_str("&gt;"),
            '\r' => s.push_str("&#13;"),
            c => s.push(c),
        }
    }
    s
}

/// Escapes an attribute value as libxml2 does: `&`, `<`, `>`, `"`, newline, carriage
/// return and tab.
pub fn escape_attr(text: &str) -> String {
    let mut s = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => s.push_str("&amp;"),
            '<' => s.push_str("&lt;"),
            '>' => s.push_str("&gt;"),
            '"' => s.push_str("&quot;"),
            '\n' => s.push_str("&#10;"),
            '\r' => s.push_str("&#13;"),
            '\t' => s.push_str("&#9;"),
            c => s.push(c),
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn layout() {
        let mut w = XmlWriter::new();
        w.open("KASP", &[]);
        w.open("Policy", &[("name", "default")]);
        w.leaf("Description", "a & b < c > d \"q\" 'a'");
        w.open("Denial", &[]).open("NSEC3", &[]);
        w.empty("OptOut", &[]);
        w.empty("Salt", &[("length", "8")]);
        w.close().close();
        w.leaf_with("Algorithm", &[("length", "2048")], "8");
        w.leaf("Empty", "");
        w.open("Keys", &[]).close();
        let out = w.finish();
        assert_eq!(
            out,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
             <KASP>\n  <Policy name=\"default\">\n    \
             <Description>a &amp; b &lt; c &gt; d \"q\" 'a'</Description>\n    \
             <Denial>\n      <NSEC3>\n        <OptOut/>\n        <Salt length=\"8\"/>\n      \
             </NSEC3>\n    </Denial>\n    <Algorithm length=\"2048\">8</Algorithm>\n    \
             <Empty/>\n    <Keys/>\n  </Policy>\n</KASP>\n"
        );
    }

    #[test]
    fn empty_root_and_comment() {
        let mut w = XmlWriter::new();
        w.open("ZoneList", &[]);
        assert_eq!(
            w.finish(),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ZoneList/>\n"
        );
        let mut w = XmlWriter::new();
        w.open("ZoneList", &[]).comment("\nhello\n").close();
        assert_eq!(
            w.finish(),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ZoneList>\n  <!--\nhello\n-->\n</ZoneList>\n"
        );
        let mut w = XmlWriter::new();
        w.open("A", &[]).comment("x--y-");
        assert!(w.finish().contains("<!--x- -y- -->"));
        assert_eq!(
            XmlWriter::default().finish(),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        );
    }

    #[test]
    fn escaping() {
        assert_eq!(escape_text("a&b<c>d\re\"'"), "a&amp;b&lt;c&gt;d&#13;e\"'");
        assert_eq!(
            escape_attr("a&b<c>d\"e\nf\rg\th'"),
            "a&amp;b&lt;c&gt;d&quot;e&#10;f&#13;g&#9;h'"
        );
        let mut w = XmlWriter::new();
        w.empty("A", &[("v", "x\"y")]);
        assert!(w.finish().ends_with("<A v=\"x&quot;y\"/>\n"));
    }

    proptest! {
        /// Whatever the text, the output is well-formed and gives the text back.
        #[test]
        fn text_round_trips(text in "\\PC{0,40}", attr in "\\PC{0,20}") {
            let mut w = XmlWriter::new();
            w.open("R", &[]).leaf_with("E", &[("a", &attr)], &text);
            let out = w.finish();
            let doc = roxmltree::Document::parse(&out).unwrap();
            let e = doc.root_element().first_element_child().unwrap();
            prop_assert_eq!(e.text().unwrap_or(""), text.as_str());
            prop_assert_eq!(e.attribute("a"), Some(attr.as_str()));
        }
    }
}
