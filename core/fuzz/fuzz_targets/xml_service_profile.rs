//! Arbitrary bytes as a `filter_criteria` (`ServiceProfile`) provisioning body: the reader must
//! never panic, and a body it accepts must read back identically from its own canonical form.

#![no_main]

use hearth_core::xml::parse_service_profile;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(doc) = parse_service_profile(data) {
        let again = parse_service_profile(doc.xml.as_bytes())
            .unwrap_or_else(|error| panic!("canonical form {:?} refused: {error}", doc.xml));
        assert_eq!(again, doc, "canonical form reads back differently");
        assert_eq!(
            doc.content,
            doc.core_network_services_authorization
                .iter()
                .chain(&doc.ifcs)
                .chain(&doc.extra)
                .map(String::as_str)
                .collect::<String>()
        );
    }
});
