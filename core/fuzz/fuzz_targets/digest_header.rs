//! Feeds arbitrary bytes to the three Digest header parsers. Any accepted value must be writable,
//! and writing then parsing must give back the same struct and the same text.

#![no_main]

use std::fmt::Debug;

use hearth_core::crypto::digest::{self, DigestSecret};
use hearth_core::crypto::digest_header::{
    AuthenticationInfo, DigestChallenge, DigestCredentials, DigestHeaderError, NonceCountSyntax,
    ParseOptions,
};
use libfuzzer_sys::fuzz_target;

trait Header: Sized + PartialEq + Debug {
    fn parse_bytes(value: &[u8], options: &ParseOptions) -> Result<Self, DigestHeaderError>;
    fn parse_with(value: &str, options: &ParseOptions) -> Result<Self, DigestHeaderError>;
    fn to_header_value(&self) -> Result<String, DigestHeaderError>;
}

macro_rules! header {
    ($type:ty) => {
        impl Header for $type {
            fn parse_bytes(
                value: &[u8],
                options: &ParseOptions,
            ) -> Result<Self, DigestHeaderError> {
                <$type>::parse_bytes(value, options)
            }
            fn parse_with(value: &str, options: &ParseOptions) -> Result<Self, DigestHeaderError> {
                <$type>::parse_with(value, options)
            }
            fn to_header_value(&self) -> Result<String, DigestHeaderError> {
                <$type>::to_header_value(self)
            }
        }
    };
}

header!(DigestCredentials);
header!(DigestChallenge);
header!(AuthenticationInfo);

/// Parses `data` and checks the round trip; returns the parsed value.
fn check<T: Header>(data: &[u8], options: &ParseOptions) -> Option<T> {
    let parsed = T::parse_bytes(data, options);
    if let Ok(text) = std::str::from_utf8(data) {
        assert_eq!(
            T::parse_with(text, options),
            parsed,
            "str and bytes parsers disagree"
        );
    }
    if let Err(error) = &parsed {
        // Every error must render and stay short: outside text is cut to 48 characters, each
        // shown in at most 10 bytes once escaped (`\u{10ffff}`), beside a short sentence.
        let message = error.to_string();
        assert!(message.len() < 640, "error message too long: {message}");
    }
    let value = parsed.ok()?;
    let written = value
        .to_header_value()
        .unwrap_or_else(|error| panic!("parsed {value:?} but cannot write it: {error}"));
    // Writing may quote or escape more than the input did, so re-parse without the size limit.
    let unlimited = ParseOptions {
        max_len: usize::MAX,
        max_params: usize::MAX,
        ..*options
    };
    let reparsed = T::parse_with(&written, &unlimited)
        .unwrap_or_else(|error| panic!("cannot re-parse {written:?}: {error}"));
    assert_eq!(
        reparsed, value,
        "round trip changed the value, written as {written:?}"
    );
    assert_eq!(
        reparsed.to_header_value().ok(),
        Some(written),
        "writing is not stable"
    );
    Some(value)
}

fuzz_target!(|data: &[u8]| {
    for nonce_count in [NonceCountSyntax::Strict, NonceCountSyntax::Lenient] {
        let options = ParseOptions {
            nonce_count,
            ..ParseOptions::DEFAULT
        };
        if let Some(credentials) = check::<DigestCredentials>(data, &options) {
            // Exercise the hashing on whatever the parser let through; it must not panic.
            let challenge = DigestChallenge {
                realm: credentials.realm.clone(),
                nonce: credentials.nonce.clone(),
                opaque: credentials.opaque.clone(),
                algorithm: credentials.algorithm,
                qop: credentials.qop.into_iter().collect(),
                ..DigestChallenge::default()
            };
            let _ = digest::verify(
                &challenge,
                &credentials,
                "GET",
                data,
                DigestSecret::Password(data),
            );
            let _ = digest::verify(
                &challenge,
                &credentials,
                "GET",
                data,
                DigestSecret::StoredHa1(&credentials.response),
            );
        }
        check::<DigestChallenge>(data, &options);
        check::<AuthenticationInfo>(data, &options);
    }
});
