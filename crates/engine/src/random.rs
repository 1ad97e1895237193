//! Random bytes from the kernel (log instance ids, NSEC3 salts). HSM locators come from
//! the token's own generator, not from here.

use crate::Failure;
use std::io::Read;

/// `n` random bytes from /dev/urandom.
pub fn bytes(n: usize) -> Result<Vec<u8>, Failure> {
    let mut b = vec![0u8; n];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut b))
        .map_err(|e| Failure::env(format!("cannot read /dev/urandom: {e}")))?;
    Ok(b)
}

/// `n` random bytes as lower-case hex.
pub fn hex(n: usize) -> Result<String, Failure> {
    Ok(bytes(n)?.iter().map(|b| format!("{b:02x}")).collect())
}
