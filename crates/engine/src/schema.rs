//! RelaxNG validation of OpenDNSSEC's XML files (kasp.xml, conf.xml, zonelist.xml, signconf)
//! through libxml2, via a minimal hand-written FFI. OpenDNSSEC itself validates with libxml2
//! (`kc_helper.c:check_rng`), so using the same library makes "valid" mean exactly what it means
//! there, down to libxml2's datatype quirks (e.g. `xsd:duration` rejecting `P2W`), and gives the
//! same messages as `xmllint --relaxng` (which, unlike OpenDNSSEC, also loads DTDs). The only
//! pure-Rust RelaxNG crate accepted an invalid kasp.xml and rejected valid files: unusable.
//! Errors (well-formedness errors included) are collected through libxml2's structured error
//! callbacks; libxml2 never writes to stderr.

use std::ffi::{CStr, CString, c_char, c_int, c_void};
use std::{fmt, ptr, sync::Once};

/// One of the schemas shipped with OpenDNSSEC (embedded copies of its `.rng` files).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Schema {
    Kasp,
    Conf,
    Zonelist,
    Signconf,
}

impl Schema {
    fn rng(self) -> &'static str {
        match self {
            Schema::Kasp => include_str!("../schemas/kasp.rng"),
            Schema::Conf => include_str!("../schemas/conf.rng"),
            Schema::Zonelist => include_str!("../schemas/zonelist.rng"),
            Schema::Signconf => include_str!("../schemas/signconf.rng"),
        }
    }
}

/// One libxml2 diagnostic; displays like xmllint: `file:53: element Algorithm: Relax-NG validity
/// error : Type nonNegativeInteger doesn't allow value 'eight'`. `line` is 0 when unknown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaError {
    pub file: String,
    pub line: u32,
    pub message: String,
}

impl fmt::Display for SchemaError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.file, self.line, self.message)
    }
}

impl std::error::Error for SchemaError {}

mod ffi {
    use std::ffi::{c_char, c_int, c_void};

    /// `struct _xmlError` of libxml2 2.9 (`libxml/xmlerror.h`); read-only here.
    #[repr(C)]
    pub struct XmlError {
        pub domain: c_int,
        pub code: c_int,
        pub message: *const c_char,
        pub level: c_int,
        pub file: *const c_char,
        pub line: c_int,
        pub str1: *const c_char,
        pub str2: *const c_char,
        pub str3: *const c_char,
        pub int1: c_int,
        pub int2: c_int,
        pub ctxt: *mut c_void,
        pub node: *mut c_void,
    }
    #[cfg(target_pointer_width = "64")]
    const _: () = assert!(size_of::<XmlError>() == 88);

    /// The stable head of `struct _xmlNode` (`_private`, `type`, `name`).
    #[repr(C)]
    pub struct XmlNodeHead {
        pub private: *mut c_void,
        pub kind: c_int,
        pub name: *const c_char,
    }
    pub const XML_ELEMENT_NODE: c_int = 1;
    pub const XML_PARSE_NONET: c_int = 1 << 11;

    macro_rules! opaque { ($($n:ident)*) => { $(#[repr(C)] pub struct $n { _p: [u8; 0] })* } }
    opaque!(Doc RngParserCtxt Rng RngValidCtxt);

    pub type StructuredFn = unsafe extern "C" fn(*mut c_void, *const XmlError);
    /// Really `void (*)(void *ctx, const char *msg, ...)`; see `ignore` in the parent module.
    pub type GenericFn = unsafe extern "C" fn(*mut c_void, *const c_char);

    unsafe extern "C" {
        pub fn xmlInitParser();
        pub fn xmlRelaxNGInitTypes() -> c_int;
        pub fn xmlSetGenericErrorFunc(ctx: *mut c_void, f: Option<GenericFn>);
        pub fn xmlThrDefSetGenericErrorFunc(ctx: *mut c_void, f: Option<GenericFn>);
        pub fn xmlSetStructuredErrorFunc(ctx: *mut c_void, f: Option<StructuredFn>);
        pub fn xmlReadMemory(
            buf: *const c_char,
            size: c_int,
            url: *const c_char,
            encoding: *const c_char,
            options: c_int,
        ) -> *mut Doc;
        pub fn xmlFreeDoc(doc: *mut Doc);
        pub fn xmlRelaxNGNewMemParserCtxt(buf: *const c_char, size: c_int) -> *mut RngParserCtxt;
        pub fn xmlRelaxNGSetParserStructuredErrors(
            c: *mut RngParserCtxt,
            f: Option<StructuredFn>,
            ctx: *mut c_void,
        );
        pub fn xmlRelaxNGParse(c: *mut RngParserCtxt) -> *mut Rng;
        pub fn xmlRelaxNGFreeParserCtxt(c: *mut RngParserCtxt);
        pub fn xmlRelaxNGFree(rng: *mut Rng);
        pub fn xmlRelaxNGNewValidCtxt(rng: *mut Rng) -> *mut RngValidCtxt;
        pub fn xmlRelaxNGSetValidStructuredErrors(
            c: *mut RngValidCtxt,
            f: Option<StructuredFn>,
            ctx: *mut c_void,
        );
        pub fn xmlRelaxNGValidateDoc(c: *mut RngValidCtxt, doc: *mut Doc) -> c_int;
        pub fn xmlRelaxNGFreeValidCtxt(c: *mut RngValidCtxt);
    }
}

/// Validates `xml` (named `file` in messages) against `schema`. Like OpenDNSSEC, the verdict is
/// libxml2's: the document must parse and `xmlRelaxNGValidateDoc` must return 0. On failure every
/// diagnostic libxml2 raised (parse errors and warnings included) is returned, never empty.
pub fn validate(xml: &str, file: &str, schema: Schema) -> Result<(), Vec<SchemaError>> {
    let fallback = |line, message: &str| {
        let (file, message) = (file.to_owned(), message.to_owned());
        Err(vec![SchemaError {
            file,
            line,
            message,
        }])
    };
    if xml.is_empty() {
        // xmlReadMemory returns NULL for size 0 without raising anything; xmllint says this.
        return fallback(1, "parser error : Document is empty");
    }
    // Parsing from memory, libxml2 misses its own text limit (OpenDNSSEC's xmlParseFile
    // does not): checked first, on the raw text (kasp_projector::formats::xmllimits).
    if let Some(e) = kasp_projector::formats::xmllimits::huge_text(xml) {
        return fallback(e.line, e.message);
    }
    init();
    let mut sink = Sink {
        file,
        errors: Vec::new(),
    };
    let ctx: *mut c_void = (&raw mut sink).cast();
    let verdict = {
        let _handlers = Handlers::install(ctx);
        run(xml, file, schema, ctx)
    };
    // The handlers are uninstalled: libxml2 no longer holds `ctx`, so `sink` may be used again.
    match verdict {
        Ok(()) => Ok(()),
        Err(_) if !sink.errors.is_empty() => Err(sink.errors),
        Err(message) => fallback(0, message),
    }
}

fn init() {
    static INIT: Once = Once::new();
    // SAFETY: called once, before any other libxml2 use; `xmlRelaxNGInitTypes` is not
    // thread-safe in 2.9, so it runs here instead of lazily in a parser context. `ignore` has a
    // compatible signature (see its comment) and lives forever.
    INIT.call_once(|| unsafe {
        ffi::xmlInitParser();
        ffi::xmlRelaxNGInitTypes();
        ffi::xmlThrDefSetGenericErrorFunc(ptr::null_mut(), Some(ignore));
    });
}

/// Does the work; `Err` carries a fallback message for when libxml2 reported nothing.
fn run(xml: &str, file: &str, schema: Schema, ctx: *mut c_void) -> Result<(), &'static str> {
    let rng = schema.rng();
    let rng_len = c_int::try_from(rng.len()).map_err(|_| "schema too large")?;
    // SAFETY: `rng` is 'static and `rng_len` bytes long (libxml2 keeps the pointer, not a copy).
    let pctxt = Owned(
        unsafe { ffi::xmlRelaxNGNewMemParserCtxt(rng.as_ptr().cast(), rng_len) },
        ffi::xmlRelaxNGFreeParserCtxt,
    );
    if pctxt.0.is_null() {
        return Err("cannot create a Relax-NG parser context");
    }
    // SAFETY: `pctxt` is live; `ctx` points to the `Sink` that outlives this call.
    unsafe { ffi::xmlRelaxNGSetParserStructuredErrors(pctxt.0, Some(collect), ctx) };
    // SAFETY: `pctxt` is live; the schema returned is independent of it.
    let parsed = Owned(
        unsafe { ffi::xmlRelaxNGParse(pctxt.0) },
        ffi::xmlRelaxNGFree,
    );
    if parsed.0.is_null() {
        return Err("Relax-NG parser error : cannot parse the built-in schema");
    }
    let len = c_int::try_from(xml.len()).map_err(|_| "parser error : document too large")?;
    let url = CString::new(file.replace('\0', "")).ok();
    let url_ptr = url.as_ref().map_or(ptr::null(), |u| u.as_ptr());
    // SAFETY: `xml` is valid for `len` bytes and copied by libxml2; `url_ptr` is NULL or a C
    // string that outlives the call. No DTD loading, no entity substitution, no network.
    let doc = Owned(
        unsafe {
            ffi::xmlReadMemory(
                xml.as_ptr().cast(),
                len,
                url_ptr,
                ptr::null(),
                ffi::XML_PARSE_NONET,
            )
        },
        ffi::xmlFreeDoc,
    );
    if doc.0.is_null() {
        return Err("parser error : cannot parse the document");
    }
    // SAFETY: `parsed` is a live schema; the context is freed (declared last, dropped first)
    // before the schema and the document.
    let vctxt = Owned(
        unsafe { ffi::xmlRelaxNGNewValidCtxt(parsed.0) },
        ffi::xmlRelaxNGFreeValidCtxt,
    );
    if vctxt.0.is_null() {
        return Err("cannot create a Relax-NG validation context");
    }
    // SAFETY: `vctxt` and `doc` are live; `ctx` points to the `Sink` that outlives this call.
    let status = unsafe {
        ffi::xmlRelaxNGSetValidStructuredErrors(vctxt.0, Some(collect), ctx);
        ffi::xmlRelaxNGValidateDoc(vctxt.0, doc.0)
    };
    if status == 0 {
        Ok(())
    } else {
        Err("Relax-NG validity error : fails to validate")
    }
}

/// A libxml2 object freed with its matching free function on drop (NULL is skipped).
struct Owned<T>(*mut T, unsafe extern "C" fn(*mut T));

impl<T> Drop for Owned<T> {
    fn drop(&mut self) {
        if !self.0.is_null() {
            // SAFETY: `self.0` came from the libxml2 allocator paired with `self.1`, and is freed
            // exactly once.
            unsafe { (self.1)(self.0) }
        }
    }
}

/// Where `collect` puts the diagnostics of one `validate` call.
struct Sink<'a> {
    file: &'a str,
    errors: Vec<SchemaError>,
}

/// Installs this thread's libxml2 error handlers (per-thread globals in 2.9) for one call.
struct Handlers;

impl Handlers {
    fn install(ctx: *mut c_void) -> Handlers {
        // SAFETY: `ctx` points to a `Sink` that outlives the returned guard, which removes it.
        unsafe {
            ffi::xmlSetGenericErrorFunc(ptr::null_mut(), Some(ignore));
            ffi::xmlSetStructuredErrorFunc(ctx, Some(collect));
        }
        Handlers
    }
}

impl Drop for Handlers {
    fn drop(&mut self) {
        // SAFETY: resets this thread's handler so libxml2 keeps no pointer to the `Sink`; later
        // errors go to the generic handler, which is `ignore`.
        unsafe { ffi::xmlSetStructuredErrorFunc(ptr::null_mut(), None) }
    }
}

/// No-op generic error handler. libxml2 declares it variadic; every supported C ABI lets a
/// callee that reads only the fixed arguments ignore the rest (stable Rust cannot define
/// variadic functions).
unsafe extern "C" fn ignore(_ctx: *mut c_void, _msg: *const c_char) {}

/// Structured error handler: appends the error, formatted as libxml2's `xmlReportError` does.
unsafe extern "C" fn collect(ctx: *mut c_void, err: *const ffi::XmlError) {
    // SAFETY: `ctx` is the `Sink` pointer installed by `validate`, which is alive and not
    // otherwise accessed while libxml2 runs; `err` is NULL or valid for this call.
    let (Some(sink), Some(err)) = (unsafe { ctx.cast::<Sink>().as_mut() }, unsafe {
        err.as_ref()
    }) else {
        return;
    };
    let mut message = String::new();
    // SAFETY: libxml2 stores in `node` NULL or an `xmlNode` of the live document (its own
    // `xmlReportError` reads `node->type` and `node->name` the same way); an element's name is
    // NULL or a NUL-terminated string.
    if let Some(node) = unsafe { err.node.cast::<ffi::XmlNodeHead>().as_ref() }
        && node.kind == ffi::XML_ELEMENT_NODE
        && let Some(name) = unsafe { c_str(node.name) }
    {
        message.push_str(&format!("element {name}: "));
    }
    let domain = usize::try_from(err.domain)
        .ok()
        .and_then(|d| DOMAINS.get(d));
    message.push_str(domain.copied().unwrap_or(""));
    message.push_str(match err.level {
        0 => ": ",
        1 => "warning : ",
        _ => "error : ",
    });
    // SAFETY: `message` is NULL or a NUL-terminated string owned by libxml2 for this call.
    let text = unsafe { c_str(err.message) }.unwrap_or_else(|| "out of memory error".to_owned());
    message.push_str(text.strip_suffix('\n').unwrap_or(&text));
    let line = u32::try_from(err.line).unwrap_or(0);
    sink.errors.push(SchemaError {
        file: sink.file.to_owned(),
        line,
        message,
    });
}

/// # Safety
/// `p` must be NULL or point to a NUL-terminated string.
unsafe fn c_str(p: *const c_char) -> Option<String> {
    // SAFETY: guaranteed by the caller.
    (!p.is_null()).then(|| unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned())
}

/// The words `xmlReportError` prints for each `xmlErrorDomain` (the index).
#[rustfmt::skip]
const DOMAINS: [&str; 31] = [
    "", "parser ", "", "namespace ", "validity ", "HTML parser ", "memory ", "output ", "I/O ", "",
    "", "XInclude ", "XPath ", "parser ", "regexp ", "", "Schemas parser ", "Schemas validity ",
    "Relax-NG parser ", "Relax-NG validity ", "Catalog ", "C14N ", "XSLT ", "validity ", "", "",
    "module ", "encoding ", "schematron ", "internal buffer ", "URI ",
];

#[cfg(test)]
mod tests {
    use super::*;

    const KASP: &str = include_str!("../../../fixtures/ods/kasp.xml");
    const SIGNCONF: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<SignerConfiguration>
  <Zone name="example.com">
    <Signatures>
      <Resign>PT2H</Resign>
      <Refresh>P3D</Refresh>
      <Validity><Default>P14D</Default><Denial>P14D</Denial></Validity>
      <Jitter>PT12H</Jitter>
      <InceptionOffset>PT1H</InceptionOffset>
      <MaxZoneTTL>P1D</MaxZoneTTL>
    </Signatures>
    <Denial>
      <NSEC3>
        <Hash><Algorithm>1</Algorithm><Iterations>5</Iterations><Salt>a1b2c3d4e5f60718</Salt></Hash>
      </NSEC3>
    </Denial>
    <Keys>
      <TTL>PT1H</TTL>
      <Key>
        <Flags>257</Flags><Algorithm>8</Algorithm>
        <Locator>6f8a0c6b1d2e4f5a9b3c7d8e9f0a1b2c</Locator><KSK/><Publish/>
      </Key>
      <Key>
        <Flags>256</Flags><Algorithm>8</Algorithm>
        <Locator>0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a</Locator><ZSK/><Publish/>
      </Key>
    </Keys>
    <SOA><TTL>PT1H</TTL><Minimum>PT1H</Minimum><Serial>unixtime</Serial></SOA>
  </Zone>
</SignerConfiguration>
"#;

    fn lines(xml: &str, schema: Schema) -> Vec<String> {
        let errors = validate(xml, "t.xml", schema).expect_err("must not validate");
        assert!(!errors.is_empty());
        errors.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn stock_files_and_signconf_validate() {
        assert_eq!(validate(KASP, "kasp.xml", Schema::Kasp), Ok(()));
        let conf = include_str!("../../../fixtures/ods/conf.xml");
        assert_eq!(validate(conf, "conf.xml", Schema::Conf), Ok(()));
        let zonelist = include_str!("../../../fixtures/ods/zonelist.xml");
        assert_eq!(validate(zonelist, "zonelist.xml", Schema::Zonelist), Ok(()));
        assert_eq!(validate(SIGNCONF, "signconf.xml", Schema::Signconf), Ok(()));
        assert!(validate(SIGNCONF, "signconf.xml", Schema::Kasp).is_err());
    }

    #[test]
    fn bad_value_names_line_like_xmllint() {
        let bad = KASP.replacen(r#"length="2048">8<"#, r#"length="2048">eight<"#, 1);
        let errors = lines(&bad, Schema::Kasp);
        assert_eq!(
            errors[0],
            "t.xml:53: element Algorithm: Relax-NG validity error : \
             Type nonNegativeInteger doesn't allow value 'eight'"
        );
    }

    #[test]
    fn parse_errors_empty_and_wrong_root() {
        let unclosed = lines("<KASP>\n<Policy name=\"a\">\n", Schema::Kasp);
        assert_eq!(
            unclosed,
            ["t.xml:3: parser error : Premature end of data in tag Policy line 2"]
        );
        assert_eq!(
            lines("", Schema::Kasp),
            ["t.xml:1: parser error : Document is empty"]
        );
        assert_eq!(
            lines("<?xml version=\"1.0\"?>\n<Foo/>\n", Schema::Kasp),
            ["t.xml:2: element Foo: Relax-NG validity error : Expecting element KASP, got Foo"]
        );
    }

    #[test]
    fn hostile_inputs_fail_without_panicking() {
        let over = format!("<KASP>\n<a>{}</a></KASP>", "x".repeat(10_000_001));
        assert_eq!(
            lines(&over, Schema::Kasp),
            ["t.xml:2: parser error : xmlSAX2Characters: huge text node"]
        );
        let deep = "<a>".repeat(100_000);
        let huge = format!("<KASP>{}</KASP>", "x".repeat(20_000_000));
        let bad = ["\0", "<KASP>\0</KASP>", " ", "\u{feff}<Foo/>", &deep, &huge];
        let enc =
            ["UTF-16", "bogus"].map(|e| format!("<?xml version=\"1.0\" encoding=\"{e}\"?><KASP/>"));
        for xml in bad.iter().copied().chain(enc.iter().map(String::as_str)) {
            assert!(
                !validate(xml, "bad\0name.xml", Schema::Kasp)
                    .expect_err(xml)
                    .is_empty()
            );
        }
        // As in OpenDNSSEC (xmlParseFile): no DTD loading, no entity substitution, no network.
        for decl in [
            r#"SYSTEM "http://192.0.2.1/x.dtd""#,
            r#"[<!ENTITY e SYSTEM "/etc/passwd">]"#,
        ] {
            let xml = format!("<!DOCTYPE KASP {decl}><KASP>&e;</KASP>");
            assert_eq!(validate(&xml, "e.xml", Schema::Kasp), Ok(()));
        }
    }

    #[test]
    fn threads_validate_concurrently() {
        let handles: Vec<_> = (0..8)
            .map(|_| {
                std::thread::spawn(|| (0..20).all(|_| validate(KASP, "k", Schema::Kasp).is_ok()))
            })
            .collect();
        assert!(handles.into_iter().all(|h| h.join().unwrap()));
    }
}
