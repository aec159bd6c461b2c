//! The body of `PUT /irs/<irs>/service_profiles/<sp>/public_ids/<impu>`: one TS 29.228
//! `PublicIdentity` element, e.g. `<PublicIdentity><Identity>sip:alice@example.com</Identity>
//! </PublicIdentity>`.
//!
//! TS 29.228 `tPublicIdentity` is: `BarringIndication?`, `Identity`, `Extension?` and elements of
//! other namespaces. Its `Extension` holds `IdentityType?`, `WildcardedPSI?` and a nested
//! `Extension` with `DisplayName?`, whose own nested `Extension` holds `WildcardedIMPU?`.

use super::MAX_DEPTH;
use super::error::XmlError;
use super::tree::{self, Element, Limits, Node, trim_xml};

/// Largest accepted `PublicIdentity` body.
pub const PUBLIC_IDENTITY_MAX_BYTES: usize = 64 * 1024;

/// A checked `PublicIdentity` element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicIdentityDoc {
    /// The `Identity` text (a SIP or Tel URI), trimmed of XML white space; never empty.
    pub identity: String,
    /// `BarringIndication` is present and true.
    pub barred: bool,
    /// `Extension/IdentityType` (0 distinct IMPU, 1 distinct PSI, 2 wildcarded PSI,
    /// 3 non-distinct IMPU, 4 wildcarded IMPU), if given.
    pub identity_type: Option<u32>,
    /// `Extension/WildcardedPSI`, if given.
    pub wildcarded_psi: Option<String>,
    /// `Extension/Extension/DisplayName`, if given.
    pub display_name: Option<String>,
    /// `Extension/Extension/Extension/WildcardedIMPU`, if given.
    pub wildcarded_impu: Option<String>,
    /// The element in canonical form (no XML declaration), ready to be embedded in an
    /// `IMSSubscription` `ServiceProfile` as it is. The `Identity` text in it is trimmed too.
    pub xml: String,
}

/// Parses and checks a `PublicIdentity` provisioning body.
///
/// Refuses (with an [`XmlError`] meant as the HTTP 400 reason) bodies over
/// [`PUBLIC_IDENTITY_MAX_BYTES`], non-UTF-8 or not well-formed ones, a DOCTYPE, nesting deeper than
/// [`MAX_DEPTH`], content after the root, a root other than `PublicIdentity`, a missing, empty or
/// repeated `Identity`, and children TS 29.228 does not allow there.
pub fn parse_public_identity(body: &[u8]) -> Result<PublicIdentityDoc, XmlError> {
    let root = tree::parse(
        body,
        Limits {
            max_bytes: PUBLIC_IDENTITY_MAX_BYTES,
            max_depth: MAX_DEPTH,
        },
    )?;
    if root.name != "PublicIdentity" {
        return Err(XmlError::WrongRoot {
            expected: "PublicIdentity",
            found: root.name,
        });
    }
    read_public_identity(&[], &root, Strictness::Provisioning)
}

/// How much of TS 29.228 a reader insists on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Strictness {
    /// Provisioning input: unknown children are refused so typos surface at once.
    Provisioning,
    /// Data from an HSS: unknown children are kept but not interpreted.
    Peer,
}

fn optional_text(
    element: Option<&Element>,
    what: &'static str,
) -> Result<Option<String>, XmlError> {
    element
        .map(|element| {
            element
                .text_only(what)
                .map(|text| trim_xml(&text).to_owned())
        })
        .transpose()
}

fn parse_barring(element: &Element) -> Result<bool, XmlError> {
    let text = element.text_only("BarringIndication")?;
    match trim_xml(&text) {
        "0" | "false" => Ok(false),
        "1" | "true" => Ok(true),
        other => Err(XmlError::InvalidValue {
            element: "BarringIndication",
            expected: "0 or 1",
            found: other.to_owned(),
        }),
    }
}

/// Records the first `child` of a kind TS 29.228 allows once; provisioning refuses repeats.
fn keep_single<'a>(
    slot: &mut Option<&'a Element>,
    child: &'a Element,
    name: &'static str,
    strictness: Strictness,
) -> Result<(), XmlError> {
    if slot.is_some() {
        if strictness == Strictness::Provisioning {
            return Err(XmlError::DuplicateElement {
                parent: "PublicIdentity",
                child: name,
            });
        }
    } else {
        *slot = Some(child);
    }
    Ok(())
}

/// Checks one `PublicIdentity` element (standing under `ancestors`, outermost first) and gives
/// its parsed fields and canonical form.
pub(crate) fn read_public_identity(
    ancestors: &[&Element],
    element: &Element,
    strictness: Strictness,
) -> Result<PublicIdentityDoc, XmlError> {
    const PARENT: &str = "PublicIdentity";
    let mut identity: Option<String> = None;
    let mut barring: Option<&Element> = None;
    let mut extension: Option<&Element> = None;
    for child in element.child_elements() {
        match child.name.as_str() {
            "Identity" => {
                if identity.is_some() {
                    return Err(XmlError::DuplicateElement {
                        parent: PARENT,
                        child: "Identity",
                    });
                }
                let text = child.text_only("Identity")?;
                let text = trim_xml(&text);
                if text.is_empty() {
                    return Err(XmlError::EmptyValue {
                        element: "Identity",
                    });
                }
                identity = Some(text.to_owned());
            }
            "BarringIndication" => {
                keep_single(&mut barring, child, "BarringIndication", strictness)?;
            }
            "Extension" => keep_single(&mut extension, child, "Extension", strictness)?,
            _ if child.is_foreign() || strictness == Strictness::Peer => {}
            _ => {
                return Err(XmlError::UnexpectedElement {
                    parent: PARENT,
                    child: child.name.clone(),
                });
            }
        }
    }
    if strictness == Strictness::Provisioning && element.has_text() {
        return Err(XmlError::UnexpectedContent { element: PARENT });
    }
    let Some(identity) = identity else {
        return Err(XmlError::MissingElement {
            parent: PARENT,
            child: "Identity",
        });
    };
    let barred = barring.map(parse_barring).transpose()?.unwrap_or(false);

    let extension2 = extension.and_then(|extension| extension.child("Extension"));
    let extension3 = extension2.and_then(|extension| extension.child("Extension"));
    let identity_type = optional_text(
        extension.and_then(|e| e.child("IdentityType")),
        "IdentityType",
    )?
    .map(|text| {
        text.parse::<u32>().map_err(|_| XmlError::InvalidValue {
            element: "IdentityType",
            expected: "an unsigned integer",
            found: text.clone(),
        })
    })
    .transpose()?;
    let wildcarded_psi = optional_text(
        extension.and_then(|e| e.child("WildcardedPSI")),
        "WildcardedPSI",
    )?;
    let display_name = optional_text(
        extension2.and_then(|e| e.child("DisplayName")),
        "DisplayName",
    )?;
    let wildcarded_impu = optional_text(
        extension3.and_then(|e| e.child("WildcardedIMPU")),
        "WildcardedIMPU",
    )?;

    // The canonical form carries the trimmed Identity, which is what an S-CSCF should match on.
    let mut canonical_element = element.clone();
    for node in &mut canonical_element.children {
        if let Node::Element(child) = node
            && child.name == "Identity"
        {
            child.children = vec![Node::Text(identity.clone())];
        }
    }
    let xml = tree::canonical(ancestors, &canonical_element);
    Ok(PublicIdentityDoc {
        identity,
        barred,
        identity_type,
        wildcarded_psi,
        display_name,
        wildcarded_impu,
        xml,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ellis_body_is_accepted_as_is() {
        // The body Clearwater Ellis sends (ellis/remote/homestead.py).
        let doc = parse_public_identity(
            b"<PublicIdentity><Identity>sip:6505550001@example.com</Identity></PublicIdentity>",
        )
        .expect("valid");
        assert_eq!(doc.identity, "sip:6505550001@example.com");
        assert!(!doc.barred);
        assert_eq!(
            doc.xml,
            "<PublicIdentity><Identity>sip:6505550001@example.com</Identity></PublicIdentity>"
        );
    }

    #[test]
    fn all_ts_29_228_children_are_read() {
        let body = br#"<?xml version="1.0" encoding="UTF-8"?>
<PublicIdentity>
  <BarringIndication>1</BarringIndication>
  <Identity>
     sip:!.*!@example.com
  </Identity>
  <Extension>
    <IdentityType>3</IdentityType>
    <WildcardedPSI>sip:psi!.*!@example.com</WildcardedPSI>
    <Extension>
      <DisplayName>Alice &amp; Bob</DisplayName>
      <Extension>
        <WildcardedIMPU>sip:!.*!@example.com</WildcardedIMPU>
      </Extension>
    </Extension>
  </Extension>
</PublicIdentity>"#;
        let doc = parse_public_identity(body).expect("valid");
        assert_eq!(doc.identity, "sip:!.*!@example.com");
        assert!(doc.barred);
        assert_eq!(doc.identity_type, Some(3));
        assert_eq!(
            doc.wildcarded_psi.as_deref(),
            Some("sip:psi!.*!@example.com")
        );
        assert_eq!(doc.display_name.as_deref(), Some("Alice & Bob"));
        assert_eq!(doc.wildcarded_impu.as_deref(), Some("sip:!.*!@example.com"));
        assert_eq!(
            doc.xml,
            "<PublicIdentity><BarringIndication>1</BarringIndication>\
             <Identity>sip:!.*!@example.com</Identity><Extension><IdentityType>3</IdentityType>\
             <WildcardedPSI>sip:psi!.*!@example.com</WildcardedPSI><Extension>\
             <DisplayName>Alice &amp; Bob</DisplayName><Extension>\
             <WildcardedIMPU>sip:!.*!@example.com</WildcardedIMPU></Extension></Extension>\
             </Extension></PublicIdentity>"
        );
        assert_eq!(parse_public_identity(doc.xml.as_bytes()), Ok(doc));
    }

    #[test]
    fn special_characters_are_escaped_and_read_back() {
        let body = b"<PublicIdentity><Identity>sip:a&amp;b&lt;c&gt;&quot;d&apos;@x</Identity></PublicIdentity>";
        let doc = parse_public_identity(body).expect("valid");
        assert_eq!(doc.identity, "sip:a&b<c>\"d'@x");
        assert_eq!(
            doc.xml,
            "<PublicIdentity><Identity>sip:a&amp;b&lt;c&gt;&quot;d&apos;@x</Identity></PublicIdentity>"
        );
        assert_eq!(parse_public_identity(doc.xml.as_bytes()), Ok(doc));
    }

    #[test]
    fn foreign_namespace_extensions_are_kept() {
        let body = b"<PublicIdentity xmlns:v='urn:vendor'><Identity>tel:+15551234</Identity><v:Tag a='1'>x</v:Tag></PublicIdentity>";
        let doc = parse_public_identity(body).expect("valid");
        assert_eq!(
            doc.xml,
            "<PublicIdentity xmlns:v=\"urn:vendor\"><Identity>tel:+15551234</Identity><v:Tag a=\"1\">x</v:Tag></PublicIdentity>"
        );
    }

    #[test]
    fn every_refusal_has_its_reason() {
        let cases: &[(&[u8], XmlError)] = &[
            (
                b"<ServiceProfile/>",
                XmlError::WrongRoot {
                    expected: "PublicIdentity",
                    found: "ServiceProfile".to_owned(),
                },
            ),
            (
                b"<PublicIdentity/>",
                XmlError::MissingElement {
                    parent: "PublicIdentity",
                    child: "Identity",
                },
            ),
            (
                b"<PublicIdentity><Identity>sip:a@b</Identity><Identity>sip:c@d</Identity></PublicIdentity>",
                XmlError::DuplicateElement {
                    parent: "PublicIdentity",
                    child: "Identity",
                },
            ),
            (
                b"<PublicIdentity><Identity> </Identity></PublicIdentity>",
                XmlError::EmptyValue { element: "Identity" },
            ),
            (
                b"<PublicIdentity><Identity><b/></Identity></PublicIdentity>",
                XmlError::UnexpectedContent { element: "Identity" },
            ),
            (
                b"<PublicIdentity>x<Identity>sip:a@b</Identity></PublicIdentity>",
                XmlError::UnexpectedContent {
                    element: "PublicIdentity",
                },
            ),
            (
                b"<PublicIdentity><Identiy>sip:a@b</Identiy></PublicIdentity>",
                XmlError::UnexpectedElement {
                    parent: "PublicIdentity",
                    child: "Identiy".to_owned(),
                },
            ),
            (
                b"<PublicIdentity><Identity>sip:a@b</Identity><Extension/><Extension/></PublicIdentity>",
                XmlError::DuplicateElement {
                    parent: "PublicIdentity",
                    child: "Extension",
                },
            ),
            (
                b"<PublicIdentity><BarringIndication>yes</BarringIndication><Identity>sip:a@b</Identity></PublicIdentity>",
                XmlError::InvalidValue {
                    element: "BarringIndication",
                    expected: "0 or 1",
                    found: "yes".to_owned(),
                },
            ),
            (
                b"<PublicIdentity><Identity>sip:a@b</Identity><Extension><IdentityType>x</IdentityType></Extension></PublicIdentity>",
                XmlError::InvalidValue {
                    element: "IdentityType",
                    expected: "an unsigned integer",
                    found: "x".to_owned(),
                },
            ),
            (
                b"<PublicIdentity><Identity>sip:a@b</Identity></PublicIdentity><PublicIdentity/>",
                XmlError::TrailingContent,
            ),
            (b"\xff\xfe<\x00", XmlError::NotUtf8),
        ];
        for (body, expected) in cases {
            assert_eq!(
                parse_public_identity(body).as_ref(),
                Err(expected),
                "body {:?}",
                String::from_utf8_lossy(body)
            );
        }
    }

    #[test]
    fn billion_laughs_is_refused_before_any_expansion() {
        let body = br#"<?xml version="1.0"?>
<!DOCTYPE PublicIdentity [
  <!ENTITY lol "lol">
  <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
  <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
  <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<PublicIdentity><Identity>&lol3;</Identity></PublicIdentity>"#;
        assert_eq!(
            parse_public_identity(body),
            Err(XmlError::DoctypeNotAllowed)
        );
        // Without the DOCTYPE the entity is simply unknown.
        assert_eq!(
            parse_public_identity(b"<PublicIdentity><Identity>&lol3;</Identity></PublicIdentity>"),
            Err(XmlError::UnknownEntity("lol3".to_owned()))
        );
        // An external entity is refused the same way.
        let xxe = br#"<!DOCTYPE PublicIdentity [<!ENTITY x SYSTEM "file:///etc/passwd">]><PublicIdentity><Identity>&x;</Identity></PublicIdentity>"#;
        assert_eq!(parse_public_identity(xxe), Err(XmlError::DoctypeNotAllowed));
    }

    #[test]
    fn deep_nesting_and_size_are_limited() {
        let depth = MAX_DEPTH; // PublicIdentity + Extension * (MAX_DEPTH - 1) + one more = too deep
        let body = format!(
            "<PublicIdentity><Identity>sip:a@b</Identity>{}{}</PublicIdentity>",
            "<Extension>".repeat(depth),
            "</Extension>".repeat(depth)
        );
        assert_eq!(
            parse_public_identity(body.as_bytes()),
            Err(XmlError::TooDeep { limit: MAX_DEPTH })
        );
        let body = format!(
            "<PublicIdentity><Identity>sip:{}@b</Identity></PublicIdentity>",
            "a".repeat(PUBLIC_IDENTITY_MAX_BYTES)
        );
        assert_eq!(
            parse_public_identity(body.as_bytes()),
            Err(XmlError::TooLarge {
                limit: PUBLIC_IDENTITY_MAX_BYTES
            })
        );
    }
}
