//! Every cryptographic computation Hearth needs: Milenage and AKA (TS 35.206, TS 33.102, RFC 3310,
//! RFC 4169), HTTP/SIP digest (RFC 2617, RFC 7616), the GBA key derivations (TS 33.220) and Kamailio
//! auth_ephemeral credentials. Built on the RustCrypto `aes`, `hmac`, `sha1`, `sha2` and `md-5` crates.

pub mod aka;
pub mod digest;
pub mod digest_header;
pub mod ephemeral;
pub mod gba;
pub mod milenage;
