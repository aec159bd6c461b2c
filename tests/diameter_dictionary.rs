//! Our Diameter dictionary against an independent one: every AVP hearth-core defines (base,
//! Cx/Dx, Sh, Zh/Zn) must exist in Wireshark's dictionary (`/usr/share/wireshark/diameter`, Debian
//! package `libwireshark-data`, which tshark pulls in) under the same code and vendor, with the
//! same data type. A wrong code or type would go unnoticed between Hearth and its own simulator
//! (both use this dictionary); a real HSS would reject it.
//!
//! Skipped with a message when Wireshark's dictionary is not installed, failed under CI=true.

mod common;

use std::collections::HashMap;
use std::path::Path;

use common::external::available;
use hearth_core::diameter::dict::{AVPS, DataType};

const TEST: &str = "diameter_dictionary";
const WIRESHARK_DICTIONARY: &str = "/usr/share/wireshark/diameter";

/// One `<avp>` of Wireshark's dictionary.
#[derive(Debug)]
struct WiresharkAvp {
    name: String,
    /// `type-name` of its `<type>`, or `Grouped`.
    data_type: String,
}

/// The value of `attribute="..."` inside one tag (attributes are separated by any whitespace).
fn attribute<'a>(tag: &'a str, attribute: &str) -> Option<&'a str> {
    let needle = format!("{attribute}=\"");
    let mut from = 0;
    while let Some(found) = tag[from..].find(&needle) {
        let at = from + found;
        if tag[..at].ends_with(char::is_whitespace) {
            let start = at + needle.len();
            let len = tag[start..].find('"')?;
            return Some(&tag[start..start + len]);
        }
        from = at + needle.len();
    }
    None
}

/// Wireshark's vendor names (`vendor-id` attributes, `TGPP` for 10415) by Vendor-ID.
fn wireshark_vendors(dir: &Path) -> HashMap<u32, String> {
    let text = std::fs::read_to_string(dir.join("dictionary.xml")).expect("read dictionary.xml");
    text.split("<vendor ")
        .skip(1)
        .filter_map(|tag| {
            let tag = format!(" {}", &tag[..tag.find('>')?]);
            let code = attribute(&tag, "code")?.parse().ok()?;
            Some((code, attribute(&tag, "vendor-id")?.to_owned()))
        })
        .collect()
}

/// Every AVP in the dictionary files, by (code, vendor name as Wireshark writes it: `None` for
/// IETF AVPs). The files are XML with external entities, so they are read
/// tag by tag rather than by an XML parser that would refuse the entity references.
fn wireshark_avps(dir: &Path) -> HashMap<(u32, String), Vec<WiresharkAvp>> {
    let mut avps: HashMap<(u32, String), Vec<WiresharkAvp>> = HashMap::new();
    for entry in std::fs::read_dir(dir).expect("read the dictionary directory") {
        let path = entry.expect("directory entry").path();
        if path.extension().is_none_or(|e| e != "xml") {
            continue;
        }
        let text = std::fs::read_to_string(&path).expect("read a dictionary file");
        let mut rest = text.as_str();
        while let Some(at) = rest.find("<avp ") {
            rest = &rest[at..];
            let tag_end = rest.find('>').expect("an <avp> tag ends");
            let tag = &rest[..tag_end];
            let body_end = rest.find("</avp>").unwrap_or(tag_end);
            let body = &rest[tag_end..body_end.max(tag_end)];
            let (Some(name), Some(code)) = (attribute(tag, "name"), attribute(tag, "code")) else {
                rest = &rest[tag_end..];
                continue;
            };
            let Ok(code) = code.parse::<u32>() else {
                rest = &rest[tag_end..];
                continue;
            };
            let vendor = attribute(tag, "vendor-id").unwrap_or("None").to_owned();
            let data_type = if body.contains("<grouped") {
                "Grouped".to_owned()
            } else {
                body.find("<type ")
                    .and_then(|t| attribute(&body[t..], "type-name"))
                    .unwrap_or("?")
                    .to_owned()
            };
            avps.entry((code, vendor)).or_default().push(WiresharkAvp {
                name: name.to_owned(),
                data_type,
            });
            rest = &rest[tag_end..];
        }
    }
    avps
}

/// Whether Wireshark's `type-name` is our data type.
fn same_type(ours: DataType, theirs: &str) -> bool {
    use DataType::*;
    match theirs {
        "OctetString" => ours == OctetString,
        "UTF8String" => ours == Utf8String,
        "DiameterIdentity" => ours == DiameterIdentity,
        "DiameterURI" => ours == DiameterUri,
        "Unsigned32" | "AppId" | "VendorId" => ours == Unsigned32,
        "Integer32" => ours == Integer32,
        "Unsigned64" => ours == Unsigned64,
        "Integer64" => ours == Integer64,
        "Float32" => ours == Float32,
        "Float64" => ours == Float64,
        // Wireshark also types Unsigned32 AVPs with named values (Result-Code, UDR-Flags) so.
        "Enumerated" => ours == Enumerated || ours == Unsigned32,
        "OctetStringOrUTF8" => ours == OctetString || ours == Utf8String,
        "Time" => ours == Time,
        "IPAddress" | "Address" => ours == Address,
        "Grouped" => ours == Grouped,
        _ => false,
    }
}

/// Where Wireshark's dictionary is not the specification, and what the specification says.
const KNOWN_DIFFERENCES: &[(&str, &str)] = &[
    (
        "Framed-IP-Address",
        "OctetString (RFC 7155 §4.4.10.5.1); Wireshark shows an address",
    ),
    (
        "Authorization-Lifetime",
        "Unsigned32 (RFC 6733 §8.9); Wireshark has Integer32",
    ),
    (
        "Call-Reference-Info",
        "720, Grouped (TS 29.329, Rel-11); not in Wireshark",
    ),
    (
        "Call-Reference-Number",
        "721, OctetString (TS 29.329, Rel-11); not in Wireshark",
    ),
    (
        "AS-Number",
        "722, OctetString (TS 29.329, Rel-11); not in Wireshark",
    ),
];

#[test]
fn every_avp_we_define_is_wiresharks_with_the_same_code_and_type() {
    if !available(
        TEST,
        &[],
        &[WIRESHARK_DICTIONARY],
        "tshark (libwireshark-data)",
    ) {
        return;
    }
    let theirs = wireshark_avps(Path::new(WIRESHARK_DICTIONARY));
    let vendors = wireshark_vendors(Path::new(WIRESHARK_DICTIONARY));
    assert!(theirs.len() > 1000, "Wireshark's dictionary was not read");
    let mut wrong = Vec::new();
    for ours in AVPS {
        if KNOWN_DIFFERENCES.iter().any(|(name, _)| *name == ours.name) {
            continue;
        }
        let vendor = match ours.key.vendor_id {
            None => "None",
            Some(id) => vendors
                .get(&id)
                .unwrap_or_else(|| panic!("{}: vendor {id} unknown to Wireshark", ours.name)),
        };
        let Some(candidates) = theirs.get(&(ours.key.code, vendor.to_owned())) else {
            wrong.push(format!(
                "{} ({}, vendor {vendor}): not in Wireshark's dictionary",
                ours.name, ours.key.code
            ));
            continue;
        };
        if !candidates
            .iter()
            .any(|c| same_type(ours.data_type, &c.data_type) && !c.name.is_empty())
        {
            wrong.push(format!(
                "{} ({}, vendor {vendor}): ours is {:?}, Wireshark's {:?}",
                ours.name, ours.key.code, ours.data_type, candidates
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {} AVPs disagree:\n{}",
        wrong.len(),
        AVPS.len(),
        wrong.join("\n")
    );
}
