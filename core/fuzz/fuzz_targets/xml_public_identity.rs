//! Arbitrary bytes as a `PublicIdentity` provisioning body: the reader must never panic, and a
//! body it accepts must read back identically from its own canonical form.

#![no_main]

use hearth_core::xml::parse_public_identity;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(doc) = parse_public_identity(data) {
        let again = parse_public_identity(doc.xml.as_bytes())
            .unwrap_or_else(|error| panic!("canonical form {:?} refused: {error}", doc.xml));
        assert_eq!(again, doc, "canonical form reads back differently");
    }
});
