//! Reading the configuration files: [`FormatError`] (a message with file, line and
//! column) and the small schema-checking helpers that kasp.xml, conf.xml and
//! zonelist.xml parsing share.
//!
//! The helpers stand in for OpenDNSSEC's RelaxNG validation: element order (ordered
//! sequences through `Seq`, any-order groups through `Interleave`), unknown
//! elements and attributes, stray text, text-only and empty elements, and numbers in
//! range. Every error points at the offending node; nothing here panics on any input.

use crate::formats::duration::OdsDuration;
use crate::formats::xmllimits;
use kasp_events::Seconds;
use roxmltree::{Document, Node, NodeType};
use std::fmt;

/// A refused configuration file: where and why. Displays as
/// `{file}:{line}:{column}: {message}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormatError {
    /// The file name given to the parser (used only in messages).
    pub file: String,
    /// 1-based line.
    pub line: u32,
    /// 1-based column, in characters.
    pub column: u32,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for FormatError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.file, self.line, self.column, self.message
        )
    }
}

impl std::error::Error for FormatError {}

/// Parses the text into a DOM (no DTDs), turning a malformed document, or one past
/// libxml2's limits ([`crate::formats::xmllimits`]), into a positioned [`FormatError`].
pub(crate) fn parse_document<'t>(text: &'t str, file: &str) -> Result<Document<'t>, FormatError> {
    let exceeded = |line, message: &str| FormatError {
        file: file.to_string(),
        line,
        column: 1,
        message: message.to_string(),
    };
    if let Some(e) = xmllimits::huge_text(text) {
        return Err(exceeded(e.line, e.message));
    }
    let doc = parse_tree(text, file)?;
    // Element depth by node id; document order visits a parent before its children.
    let mut depth = vec![0usize; doc.descendants().count()];
    for n in doc.descendants().filter(|n| n.is_element()) {
        let at = |n: Node<'_, '_>| usize::try_from(n.id().get()).unwrap_or(usize::MAX);
        let d = n
            .parent()
            .and_then(|p| depth.get(at(p)).copied())
            .unwrap_or(0)
            + 1;
        if let Some(slot) = depth.get_mut(at(n)) {
            *slot = d;
        }
        if d > xmllimits::MAX_DEPTH + 1 {
            let line = doc.text_pos_at(n.range().start).row;
            return Err(exceeded(line, xmllimits::EXCESSIVE_DEPTH));
        }
    }
    Ok(doc)
}

fn parse_tree<'t>(text: &'t str, file: &str) -> Result<Document<'t>, FormatError> {
    Document::parse(text).map_err(|e| {
        use roxmltree::Error as E;
        let pos = match e {
            // These carry no useful position: point at the end of the text.
            E::UnclosedRootNode | E::UnexpectedEndOfStream | E::NoRootNode => end_pos(text),
            _ => e.pos(),
        };
        let raw = e.to_string();
        let message = raw.replace(&format!(" at {}", e.pos()), "");
        FormatError {
            file: file.to_string(),
            line: pos.row,
            column: pos.col,
            message: format!("malformed XML: {message}"),
        }
    })
}

fn end_pos(text: &str) -> roxmltree::TextPos {
    let line = text.matches('\n').count() + 1;
    let col = text.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    roxmltree::TextPos::new(
        u32::try_from(line).unwrap_or(u32::MAX),
        u32::try_from(col).unwrap_or(u32::MAX),
    )
}

/// The document and file name, for building positioned errors.
#[derive(Clone, Copy)]
pub(crate) struct Ctx<'a, 'i> {
    pub doc: &'a Document<'i>,
    pub file: &'a str,
}

impl<'a, 'i> Ctx<'a, 'i> {
    /// An error at a byte offset of the text.
    pub fn err_at(&self, offset: usize, message: impl Into<String>) -> FormatError {
        let pos = self.doc.text_pos_at(offset);
        FormatError {
            file: self.file.to_string(),
            line: pos.row,
            column: pos.col,
            message: message.into(),
        }
    }

    /// An error at the start of a node.
    pub fn err(&self, node: Node<'a, 'i>, message: impl Into<String>) -> FormatError {
        self.err_at(node.range().start, message)
    }

    /// Checks that `node` is the element `name` without namespace.
    pub fn expect_root(&self, node: Node<'a, 'i>, name: &str) -> Result<(), FormatError> {
        if is(node, name) {
            Ok(())
        } else {
            Err(self.err(
                node,
                format!("expected root element <{name}>, found <{}>", qname(node)),
            ))
        }
    }

    /// Refuses attributes other than `allowed`.
    pub fn attrs(&self, node: Node<'a, 'i>, allowed: &[&str]) -> Result<(), FormatError> {
        for a in node.attributes() {
            if a.namespace().is_some() || !allowed.contains(&a.name()) {
                return Err(self.err_at(
                    a.range().start,
                    format!("unexpected attribute '{}' on <{}>", a.name(), qname(node)),
                ));
            }
        }
        Ok(())
    }

    /// A required attribute.
    pub fn attr(&self, node: Node<'a, 'i>, name: &str) -> Result<&'a str, FormatError> {
        node.attribute(name).ok_or_else(|| {
            self.err(
                node,
                format!("<{}> needs the attribute '{name}'", qname(node)),
            )
        })
    }

    /// The element children of an element-only node, refusing non-blank text.
    pub fn elements(&self, node: Node<'a, 'i>) -> Result<Vec<Node<'a, 'i>>, FormatError> {
        let mut out = Vec::new();
        for c in node.children() {
            match c.node_type() {
                NodeType::Element => out.push(c),
                NodeType::Text if !is_blank(c.text().unwrap_or("")) => {
                    return Err(self.err(c, format!("unexpected text in <{}>", qname(node))));
                }
                _ => {}
            }
        }
        Ok(out)
    }

    /// An element that must be empty (blank text and comments are fine).
    pub fn empty(&self, node: Node<'a, 'i>) -> Result<(), FormatError> {
        self.attrs(node, &[])?;
        if let Some(c) = self.elements(node)?.first() {
            return Err(self.err(
                *c,
                format!("<{}> must be empty, found <{}>", qname(node), qname(*c)),
            ));
        }
        Ok(())
    }

    /// The text of a text-only element with the allowed attributes, exactly as written
    /// (all text pieces joined, comments skipped).
    pub fn text_with(&self, node: Node<'a, 'i>, allowed: &[&str]) -> Result<String, FormatError> {
        self.attrs(node, allowed)?;
        let mut s = String::new();
        for c in node.children() {
            match c.node_type() {
                NodeType::Text => s.push_str(c.text().unwrap_or("")),
                NodeType::Element => {
                    return Err(self.err(
                        c,
                        format!(
                            "<{}> must contain only text, found <{}>",
                            qname(node),
                            qname(c)
                        ),
                    ));
                }
                _ => {}
            }
        }
        Ok(s)
    }

    /// The text of a text-only element without attributes, exactly as written.
    pub fn text(&self, node: Node<'a, 'i>) -> Result<String, FormatError> {
        self.text_with(node, &[])
    }

    /// A whole number in `min..=max` (`xsd:nonNegativeInteger` and friends: optional
    /// surrounding white space, digits only).
    pub fn number_in(
        &self,
        node: Node<'a, 'i>,
        what: &str,
        raw: &str,
        min: u64,
        max: u64,
    ) -> Result<u64, FormatError> {
        let t = raw.trim_matches(XML_SPACE);
        let bad = || {
            self.err(
                node,
                format!("{what} must be a whole number from {min} to {max}, found '{t}'"),
            )
        };
        if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        // Leading zeros are fine; a value too large for u64 is out of range anyway.
        let v = t.parse::<u64>().map_err(|_| bad())?;
        if v < min || v > max {
            return Err(bad());
        }
        Ok(v)
    }

    /// The number held by a text-only element.
    pub fn number(&self, node: Node<'a, 'i>, min: u64, max: u64) -> Result<u64, FormatError> {
        let raw = self.text(node)?;
        self.number_in(node, &format!("<{}>", qname(node)), &raw, min, max)
    }

    /// A duration element: white space around the text is ignored (`xsd:duration`
    /// collapses it); weeks are refused because `xsd:duration` has no `W`. Returns the
    /// trimmed text and the seconds. `field` names the element in messages.
    pub fn duration(
        &self,
        node: Node<'a, 'i>,
        field: &str,
    ) -> Result<(String, Seconds), FormatError> {
        let raw = self.text(node)?;
        let t = raw.trim_matches(XML_SPACE).to_string();
        let fail = |why: String| self.err(node, format!("{field}: invalid duration '{t}': {why}"));
        let d = OdsDuration::parse(&t).map_err(|e| fail(e.to_string()))?;
        if d.weeks > 0 || t.contains('W') {
            return Err(fail("weeks (W) are not allowed in xsd:duration".into()));
        }
        let s = d.to_seconds().map_err(|e| fail(e.to_string()))?;
        Ok((t, s))
    }
}

/// XML white space.
pub(crate) const XML_SPACE: &[char] = &[' ', '\t', '\n', '\r'];

fn is_blank(s: &str) -> bool {
    s.chars().all(|c| XML_SPACE.contains(&c))
}

/// Whether `node` is the element `name` without namespace.
pub(crate) fn is(node: Node<'_, '_>, name: &str) -> bool {
    node.is_element() && node.tag_name().namespace().is_none() && node.tag_name().name() == name
}

/// The element name for messages, with its namespace if it has one.
pub(crate) fn qname(node: Node<'_, '_>) -> String {
    match node.tag_name().namespace() {
        Some(ns) => format!("{{{ns}}}{}", node.tag_name().name()),
        None => node.tag_name().name().to_string(),
    }
}

/// An ordered sequence of child elements (RelaxNG `,`), consumed front to back.
pub(crate) struct Seq<'a, 'i> {
    ctx: Ctx<'a, 'i>,
    parent: Node<'a, 'i>,
    items: Vec<Node<'a, 'i>>,
    next: usize,
}

impl<'a, 'i> Seq<'a, 'i> {
    /// The children of `parent`, which may carry only the `allowed` attributes.
    pub fn new(
        ctx: Ctx<'a, 'i>,
        parent: Node<'a, 'i>,
        allowed: &[&str],
    ) -> Result<Self, FormatError> {
        ctx.attrs(parent, allowed)?;
        Ok(Seq {
            items: ctx.elements(parent)?,
            ctx,
            parent,
            next: 0,
        })
    }

    /// The next element, whatever it is, without consuming it.
    pub fn peek(&self) -> Option<Node<'a, 'i>> {
        self.items.get(self.next).copied()
    }

    /// The next element, if it is `name`.
    pub fn optional(&mut self, name: &str) -> Option<Node<'a, 'i>> {
        let n = *self.items.get(self.next)?;
        if is(n, name) {
            self.next += 1;
            Some(n)
        } else {
            None
        }
    }

    /// The next element, which must be `name`.
    pub fn required(&mut self, name: &str) -> Result<Node<'a, 'i>, FormatError> {
        match self.optional(name) {
            Some(n) => Ok(n),
            None => Err(self.fail(&format!("<{name}>"))),
        }
    }

    /// The error for "expected `what` here": positioned at the element found instead,
    /// or at the parent when nothing is left.
    pub fn fail(&self, what: &str) -> FormatError {
        match self.items.get(self.next) {
            Some(found) => self.ctx.err(
                *found,
                format!(
                    "expected {what} in <{}>, found <{}>",
                    qname(self.parent),
                    qname(*found)
                ),
            ),
            None => self.ctx.err(
                self.parent,
                format!("missing {what} in <{}>", qname(self.parent)),
            ),
        }
    }

    /// Checks that every child was consumed.
    pub fn finish(self) -> Result<(), FormatError> {
        match self.items.get(self.next) {
            None => Ok(()),
            Some(n) => Err(self.ctx.err(
                *n,
                format!(
                    "unexpected element <{}> in <{}>",
                    qname(*n),
                    qname(self.parent)
                ),
            )),
        }
    }
}

/// An any-order group of child elements (RelaxNG `&`), each allowed at most once.
pub(crate) struct Interleave<'a, 'i> {
    ctx: Ctx<'a, 'i>,
    parent: Node<'a, 'i>,
    found: Vec<(&'static str, Node<'a, 'i>)>,
}

impl<'a, 'i> Interleave<'a, 'i> {
    /// Sorts the children of `parent` by name; unknown or repeated elements are refused.
    pub fn new(
        ctx: Ctx<'a, 'i>,
        parent: Node<'a, 'i>,
        names: &[&'static str],
        allowed_attrs: &[&str],
    ) -> Result<Self, FormatError> {
        ctx.attrs(parent, allowed_attrs)?;
        let mut found: Vec<(&'static str, Node<'a, 'i>)> = Vec::new();
        for n in ctx.elements(parent)? {
            let Some(name) = names.iter().copied().find(|name| is(n, name)) else {
                return Err(ctx.err(
                    n,
                    format!("unexpected element <{}> in <{}>", qname(n), qname(parent)),
                ));
            };
            if found.iter().any(|(k, _)| *k == name) {
                return Err(ctx.err(
                    n,
                    format!("<{name}> may appear only once in <{}>", qname(parent)),
                ));
            }
            found.push((name, n));
        }
        Ok(Interleave { ctx, parent, found })
    }

    /// The element `name`, if present.
    pub fn get(&self, name: &str) -> Option<Node<'a, 'i>> {
        self.found.iter().find(|(k, _)| *k == name).map(|(_, n)| *n)
    }

    /// The element `name`, which must be present.
    pub fn required(&self, name: &str) -> Result<Node<'a, 'i>, FormatError> {
        self.get(name).ok_or_else(|| {
            self.ctx.err(
                self.parent,
                format!("missing <{name}> in <{}>", qname(self.parent)),
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_documents_are_positioned() {
        let e = parse_document("<a>\n  <b>\n</a>", "f.xml").unwrap_err();
        assert_eq!((e.file.as_str(), e.line), ("f.xml", 3));
        assert!(e.message.starts_with("malformed XML: "), "{e}");
        assert!(!e.message.contains(" at 3:"), "{e}");
        let e = parse_document("<a>\n<b>", "f.xml").unwrap_err();
        assert_eq!((e.line, e.column), (2, 4));
        let e = parse_document("", "f.xml").unwrap_err();
        assert_eq!((e.line, e.column), (1, 1));
        assert_eq!(
            e.to_string(),
            "f.xml:1:1: malformed XML: the document does not have a root node"
        );
        assert!(parse_document("<!DOCTYPE a [<!ENTITY x 'y'>]><a>&x;</a>", "f").is_err());
    }

    #[test]
    fn libxml2_limits_are_applied() {
        let nested = |n: usize| format!("<r>\n{}{}</r>", "<a>".repeat(n - 1), "</a>".repeat(n - 1));
        assert!(parse_document(&nested(257), "f.xml").is_ok());
        let e = parse_document(&nested(258), "f.xml").unwrap_err();
        assert_eq!(
            e.to_string(),
            "f.xml:2:1: parser error : Excessive depth in document: 256 use XML_PARSE_HUGE option"
        );
        let huge = format!(
            "<r>\n<a>{}</a></r>",
            "x".repeat(xmllimits::MAX_TEXT_LENGTH + 1)
        );
        let e = parse_document(&huge, "f.xml").unwrap_err();
        assert_eq!(
            e.to_string(),
            "f.xml:2:1: parser error : xmlSAX2Characters: huge text node"
        );
    }

    #[test]
    fn helpers() {
        let text = "<r x=\"1\">\n <n> 42 </n><d> PT1H </d><w>P1W</w><e> <!-- c --> </e><t>a<!--x-->b</t>\n</r>";
        let doc = parse_document(text, "t").unwrap();
        let ctx = Ctx {
            doc: &doc,
            file: "t",
        };
        let r = doc.root_element();
        assert!(ctx.expect_root(r, "r").is_ok());
        assert!(ctx.expect_root(r, "q").is_err());
        assert!(ctx.attrs(r, &[]).is_err());
        assert_eq!(ctx.attr(r, "x"), Ok("1"));
        assert!(ctx.attr(r, "y").is_err());
        let mut s = Seq::new(ctx, r, &["x"]).unwrap();
        let n = s.required("n").unwrap();
        assert_eq!(ctx.number(n, 0, 100), Ok(42));
        assert_eq!(ctx.number(n, 0, 10).unwrap_err().line, 2);
        let d = s.required("d").unwrap();
        assert_eq!(
            ctx.duration(d, "D"),
            Ok(("PT1H".to_string(), Seconds(3600)))
        );
        let w = s.required("w").unwrap();
        assert!(ctx.duration(w, "W").unwrap_err().message.contains("weeks"));
        assert!(s.optional("zz").is_none());
        let e = s.required("zz").unwrap_err();
        assert_eq!(e.message, "expected <zz> in <r>, found <e>");
        assert!(ctx.empty(s.required("e").unwrap()).is_ok());
        assert_eq!(ctx.text(s.required("t").unwrap()), Ok("ab".to_string()));
        assert!(s.required("more").unwrap_err().message.contains("missing"));
        s.finish().unwrap();
        let i = Interleave::new(ctx, r, &["n", "d", "w", "e", "t"], &["x"]).unwrap();
        assert!(i.get("n").is_some() && i.required("zz").is_err());
        assert!(Interleave::new(ctx, r, &["n"], &["x"]).is_err());
    }
}
