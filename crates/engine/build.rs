//! Links libxml2 (used by `src/schema.rs` for RelaxNG validation, as OpenDNSSEC does).

use std::process::{Command, exit};

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=PKG_CONFIG_PATH");
    println!("cargo:rerun-if-env-changed=PKG_CONFIG_LIBDIR");
    let out = Command::new("pkg-config")
        .args(["--libs", "libxml-2.0"])
        .output();
    let flags = match out {
        Ok(o) if o.status.success() => String::from_utf8_lossy(&o.stdout).into_owned(),
        _ => {
            eprintln!(
                "error: libxml2 not found (`pkg-config --libs libxml-2.0` failed).\n\
                 kasp-engine links libxml2 for RelaxNG validation. Install it with:\n\
                 \x20   apt-get install libxml2-dev pkg-config"
            );
            exit(1);
        }
    };
    for flag in flags.split_whitespace() {
        if let Some(dir) = flag.strip_prefix("-L") {
            println!("cargo:rustc-link-search=native={dir}");
        }
    }
    println!("cargo:rustc-link-lib=xml2");
}
