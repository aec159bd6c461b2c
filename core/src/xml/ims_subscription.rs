//! TS 29.228 `IMSSubscription` documents (the Cx User-Data): building them from provisioned
//! canonical parts, and reading them back (our own, or an HSS's in a Server-Assignment-Answer).
//!
//! Shape (TS 29.228 `tIMSSubscription`): `PrivateID`, then one `ServiceProfile` per profile, each
//! with its `PublicIdentity` elements first and then the rest of the profile (core network service
//! authorisation, initial filter criteria, extension).

use quick_xml::escape::escape;

use super::MAX_DEPTH;
use super::error::XmlError;
use super::public_identity::{PublicIdentityDoc, Strictness, read_public_identity};
use super::tree::{self, Element, Limits, trim_xml};

/// The XML declaration that starts every `IMSSubscription` built here.
pub const XML_DECLARATION: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>";

/// `PrivateID` written when the subscription has no single private identity, as homestead-prov
/// does.
pub const UNSPECIFIED_PRIVATE_ID: &str = "Unspecified";

/// Start tag of the `IMSSubscription` root, as homestead-prov writes it.
const IMS_SUBSCRIPTION_START: &str = "<IMSSubscription xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xsi:noNamespaceSchemaLocation=\"CxDataType.xsd\">";

/// Largest accepted `IMSSubscription` (User-Data) document.
pub const USER_DATA_MAX_BYTES: usize = 1024 * 1024;

/// The stored, canonical pieces of one service profile.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProfileParts {
    /// Canonical `PublicIdentity` elements ([`PublicIdentityDoc::xml`]), in the order they should
    /// appear.
    pub public_identities: Vec<String>,
    /// The rest of the profile: preferably [`ServiceProfileDoc::content`]; a whole stored
    /// [`ServiceProfileDoc::xml`] is accepted too (its `ServiceProfile` wrapper is dropped).
    /// `None` when no filter criteria were provisioned.
    ///
    /// [`ServiceProfileDoc::content`]: super::ServiceProfileDoc::content
    /// [`ServiceProfileDoc::xml`]: super::ServiceProfileDoc::xml
    pub filter_xml: Option<String>,
}

/// The profile content inside a stored filter string, without a `ServiceProfile` wrapper.
///
/// Only canonical strings reach here, and canonical attribute values escape `>`, so the first
/// `>` ends the start tag.
fn profile_content(filter_xml: &str) -> &str {
    let filter_xml = trim_xml(filter_xml);
    let Some(after_name) = filter_xml.strip_prefix("<ServiceProfile") else {
        return filter_xml;
    };
    match after_name.chars().next() {
        Some('/') => "",
        Some('>' | ' ') => {
            let inner = after_name.split_once('>').map_or("", |(_, rest)| rest);
            inner.strip_suffix("</ServiceProfile>").unwrap_or(inner)
        }
        // Some other element whose name merely starts with "ServiceProfile".
        _ => filter_xml,
    }
}

/// Builds the `IMSSubscription` document homestead-prov would build, in TS 29.228 order: a plain
/// concatenation of the stored canonical parts, nothing is parsed.
///
/// `private_id` `None` writes [`UNSPECIFIED_PRIVATE_ID`]. Profiles without public identities are
/// left out, because the schema requires at least one per `ServiceProfile`.
pub fn build_ims_subscription(private_id: Option<&str>, profiles: &[ProfileParts]) -> String {
    let private_id = escape(private_id.unwrap_or(UNSPECIFIED_PRIVATE_ID));
    let profiles: Vec<(&ProfileParts, &str)> = profiles
        .iter()
        .filter(|profile| !profile.public_identities.is_empty())
        .map(|profile| {
            (
                profile,
                profile.filter_xml.as_deref().map_or("", profile_content),
            )
        })
        .collect();
    let parts_length: usize = profiles
        .iter()
        .map(|(profile, content)| {
            profile
                .public_identities
                .iter()
                .map(String::len)
                .sum::<usize>()
                + content.len()
                + "<ServiceProfile></ServiceProfile>".len()
        })
        .sum();
    let mut out = String::with_capacity(
        XML_DECLARATION.len()
            + IMS_SUBSCRIPTION_START.len()
            + "<PrivateID></PrivateID></IMSSubscription>".len()
            + private_id.len()
            + parts_length,
    );
    out.push_str(XML_DECLARATION);
    out.push_str(IMS_SUBSCRIPTION_START);
    out.push_str("<PrivateID>");
    out.push_str(&private_id);
    out.push_str("</PrivateID>");
    for (profile, content) in profiles {
        out.push_str("<ServiceProfile>");
        for public_identity in &profile.public_identities {
            out.push_str(public_identity);
        }
        out.push_str(content);
        out.push_str("</ServiceProfile>");
    }
    out.push_str("</IMSSubscription>");
    out
}

/// What an `IMSSubscription` says, in short: enough to check an answer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ParsedSubscription {
    /// The `PrivateID` text (trimmed), if the element is present; homestead-prov writes
    /// `Unspecified`.
    pub private_id: Option<String>,
    /// The service profiles, in document order.
    pub service_profiles: Vec<ParsedServiceProfile>,
}

/// What one `ServiceProfile` says, in short.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ParsedServiceProfile {
    /// The `Identity` text (trimmed) of each `PublicIdentity`, in document order.
    pub public_identities: Vec<String>,
    /// How many `InitialFilterCriteria` elements the profile holds.
    pub ifc_count: usize,
}

/// One service profile of a User-Data document, parsed and in canonical parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserDataProfile {
    /// Each `PublicIdentity`, parsed, with its canonical form in [`PublicIdentityDoc::xml`].
    pub public_identities: Vec<PublicIdentityDoc>,
    /// The profile's other children in canonical form, in document order (what
    /// [`ProfileParts::filter_xml`] holds).
    pub content: String,
}

/// A User-Data `IMSSubscription`, as an HSS sends it in a Server-Assignment-Answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserDataDoc {
    /// The short summary.
    pub subscription: ParsedSubscription,
    /// Each service profile, in document order.
    pub profiles: Vec<UserDataProfile>,
    /// The whole `IMSSubscription` element in canonical form without an XML declaration, ready to
    /// be cached and embedded in `ClearwaterRegData`.
    pub xml: String,
}

impl UserDataDoc {
    /// The profiles as [`ProfileParts`], e.g. to rebuild the subscription with
    /// [`build_ims_subscription`].
    pub fn profile_parts(&self) -> Vec<ProfileParts> {
        self.profiles
            .iter()
            .map(|profile| ProfileParts {
                public_identities: profile
                    .public_identities
                    .iter()
                    .map(|identity| identity.xml.clone())
                    .collect(),
                filter_xml: (!profile.content.is_empty()).then(|| profile.content.clone()),
            })
            .collect()
    }
}

/// The `Identity` text of a `PublicIdentity`, which must have exactly one.
fn identity_text(public_identity: &Element) -> Result<String, XmlError> {
    let mut identities = public_identity
        .child_elements()
        .filter(|child| child.name == "Identity");
    let Some(identity) = identities.next() else {
        return Err(XmlError::MissingElement {
            parent: "PublicIdentity",
            child: "Identity",
        });
    };
    if identities.next().is_some() {
        return Err(XmlError::DuplicateElement {
            parent: "PublicIdentity",
            child: "Identity",
        });
    }
    Ok(trim_xml(&identity.text_only("Identity")?).to_owned())
}

/// Summarises an `IMSSubscription` element. Unknown children are ignored, as from any peer.
pub(crate) fn summarise(subscription: &Element) -> Result<ParsedSubscription, XmlError> {
    let mut private_ids = subscription
        .child_elements()
        .filter(|child| child.name == "PrivateID");
    let private_id = private_ids
        .next()
        .map(|element| {
            element
                .text_only("PrivateID")
                .map(|text| trim_xml(&text).to_owned())
        })
        .transpose()?;
    if private_ids.next().is_some() {
        return Err(XmlError::DuplicateElement {
            parent: "IMSSubscription",
            child: "PrivateID",
        });
    }
    let service_profiles = subscription
        .child_elements()
        .filter(|child| child.name == "ServiceProfile")
        .map(|profile| {
            Ok(ParsedServiceProfile {
                public_identities: profile
                    .child_elements()
                    .filter(|child| child.name == "PublicIdentity")
                    .map(identity_text)
                    .collect::<Result<_, XmlError>>()?,
                ifc_count: profile
                    .child_elements()
                    .filter(|child| child.name == "InitialFilterCriteria")
                    .count(),
            })
        })
        .collect::<Result<_, XmlError>>()?;
    Ok(ParsedSubscription {
        private_id,
        service_profiles,
    })
}

/// Parses a User-Data `IMSSubscription` (e.g. from an HSS's Server-Assignment-Answer) under the
/// same rules as provisioning bodies: at most [`USER_DATA_MAX_BYTES`], UTF-8, well-formed, no
/// DOCTYPE, nesting at most [`MAX_DEPTH`], nothing after the root. Children unknown to TS 29.228
/// are kept in the canonical parts but not interpreted.
pub fn parse_user_data(body: &[u8]) -> Result<UserDataDoc, XmlError> {
    let root = tree::parse(
        body,
        Limits {
            max_bytes: USER_DATA_MAX_BYTES,
            max_depth: MAX_DEPTH,
        },
    )?;
    if root.name != "IMSSubscription" {
        return Err(XmlError::WrongRoot {
            expected: "IMSSubscription",
            found: root.name,
        });
    }
    let subscription = summarise(&root)?;
    let profiles = root
        .child_elements()
        .filter(|child| child.name == "ServiceProfile")
        .map(|profile| {
            let ancestors = [&root, profile];
            let mut public_identities = Vec::new();
            let mut content = String::new();
            for child in profile.child_elements() {
                if child.name == "PublicIdentity" {
                    public_identities.push(read_public_identity(
                        &ancestors,
                        child,
                        Strictness::Peer,
                    )?);
                } else {
                    content.push_str(&tree::canonical(&ancestors, child));
                }
            }
            Ok(UserDataProfile {
                public_identities,
                content,
            })
        })
        .collect::<Result<_, XmlError>>()?;
    let xml = tree::canonical(&[], &root);
    Ok(UserDataDoc {
        subscription,
        profiles,
        xml,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xml::{parse_public_identity, parse_service_profile};

    /// User-Data from Clearwater homestead's unit tests (ut/homestead_xml_utils_test.cpp, GetIds).
    const CLEARWATER_USER_DATA: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><IMSSubscription><PrivateID>rkdtestplan1@rkd.cw-ngv.com</PrivateID><ServiceProfile><PublicIdentity><Identity>sip:rkdtestplan1@rkd.cw-ngv.com</Identity><Extension><IdentityType>0</IdentityType></Extension></PublicIdentity><PublicIdentity><Identity>sip:rkdtestplan1_a@rkd.cw-ngv.com</Identity><Extension><IdentityType>0</IdentityType></Extension></PublicIdentity><PublicIdentity><Identity>sip:rkdtestplan1_b@rkd.cw-ngv.com</Identity><Extension><IdentityType>0</IdentityType></Extension></PublicIdentity><InitialFilterCriteria><Priority>0</Priority><TriggerPoint><ConditionTypeCNF>0</ConditionTypeCNF><SPT><ConditionNegated>0</ConditionNegated><Group>0</Group><Method>PUBLISH</Method><Extension></Extension></SPT><SPT><ConditionNegated>0</ConditionNegated><Group>0</Group><SIPHeader><Header>Event</Header><Content>.*presence.*</Content></SIPHeader><Extension></Extension></SPT></TriggerPoint><ApplicationServer><ServerName>sip:127.0.0.1:5065</ServerName><DefaultHandling>0</DefaultHandling></ApplicationServer></InitialFilterCriteria></ServiceProfile></IMSSubscription>";

    #[test]
    fn builds_homestead_prov_shape_from_provisioned_parts() {
        let alice = parse_public_identity(
            b"<PublicIdentity><Identity>sip:alice@example.com</Identity></PublicIdentity>",
        )
        .expect("valid");
        let alice_tel = parse_public_identity(
            b"<PublicIdentity><Identity>tel:+15550001</Identity></PublicIdentity>",
        )
        .expect("valid");
        let filter = parse_service_profile(
            b"<ServiceProfile><InitialFilterCriteria><Priority>1</Priority></InitialFilterCriteria></ServiceProfile>",
        )
        .expect("valid");
        let built = build_ims_subscription(
            None,
            &[ProfileParts {
                public_identities: vec![alice.xml, alice_tel.xml],
                filter_xml: Some(filter.content.clone()),
            }],
        );
        assert_eq!(
            built,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><IMSSubscription xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xsi:noNamespaceSchemaLocation=\"CxDataType.xsd\">\
             <PrivateID>Unspecified</PrivateID><ServiceProfile>\
             <PublicIdentity><Identity>sip:alice@example.com</Identity></PublicIdentity>\
             <PublicIdentity><Identity>tel:+15550001</Identity></PublicIdentity>\
             <InitialFilterCriteria><Priority>1</Priority></InitialFilterCriteria>\
             </ServiceProfile></IMSSubscription>"
        );
        // A whole stored ServiceProfile document gives the same result.
        let from_whole = build_ims_subscription(
            None,
            &[ProfileParts {
                public_identities: vec![
                    "<PublicIdentity><Identity>sip:alice@example.com</Identity></PublicIdentity>"
                        .to_owned(),
                    "<PublicIdentity><Identity>tel:+15550001</Identity></PublicIdentity>"
                        .to_owned(),
                ],
                filter_xml: Some(filter.xml),
            }],
        );
        assert_eq!(from_whole, built);
    }

    #[test]
    fn build_then_parse_round_trips() {
        let identities = [
            "sip:a&b@example.com",
            "sip:<odd>@example.com",
            "sip:\"quoted\"@example.com",
            "sip:o'brien@example.com",
        ];
        let docs: Vec<PublicIdentityDoc> = identities
            .iter()
            .map(|identity| {
                let body = format!(
                    "<PublicIdentity><Identity>{}</Identity></PublicIdentity>",
                    escape(*identity)
                );
                parse_public_identity(body.as_bytes()).expect("valid")
            })
            .collect();
        let filter = parse_service_profile(
            b"<ServiceProfile><InitialFilterCriteria/><InitialFilterCriteria/><Extension/></ServiceProfile>",
        )
        .expect("valid");
        let profiles = [
            ProfileParts {
                public_identities: docs[..2].iter().map(|doc| doc.xml.clone()).collect(),
                filter_xml: Some(filter.content),
            },
            ProfileParts {
                public_identities: vec![],
                filter_xml: None,
            },
            ProfileParts {
                public_identities: docs[2..].iter().map(|doc| doc.xml.clone()).collect(),
                filter_xml: None,
            },
        ];
        let built = build_ims_subscription(Some("alice&co@example.com"), &profiles);
        let parsed = parse_user_data(built.as_bytes()).expect("own output parses");
        assert_eq!(
            parsed.subscription,
            ParsedSubscription {
                private_id: Some("alice&co@example.com".to_owned()),
                service_profiles: vec![
                    ParsedServiceProfile {
                        public_identities: vec![identities[0].into(), identities[1].into()],
                        ifc_count: 2,
                    },
                    ParsedServiceProfile {
                        public_identities: vec![identities[2].into(), identities[3].into()],
                        ifc_count: 0,
                    },
                ],
            }
        );
        assert_eq!(parsed.profiles[0].public_identities, docs[..2]);
        // Rebuilding from the parsed parts gives the very same document.
        assert_eq!(
            build_ims_subscription(Some("alice&co@example.com"), &parsed.profile_parts()),
            built
        );
        assert_eq!(format!("{XML_DECLARATION}{}", parsed.xml), built);
    }

    #[test]
    fn reads_clearwater_user_data() {
        let doc = parse_user_data(CLEARWATER_USER_DATA.as_bytes()).expect("valid");
        assert_eq!(
            doc.subscription.private_id.as_deref(),
            Some("rkdtestplan1@rkd.cw-ngv.com")
        );
        assert_eq!(doc.subscription.service_profiles.len(), 1);
        assert_eq!(
            doc.subscription.service_profiles[0].public_identities,
            [
                "sip:rkdtestplan1@rkd.cw-ngv.com",
                "sip:rkdtestplan1_a@rkd.cw-ngv.com",
                "sip:rkdtestplan1_b@rkd.cw-ngv.com"
            ]
        );
        assert_eq!(doc.subscription.service_profiles[0].ifc_count, 1);
        assert_eq!(doc.profiles[0].public_identities[1].identity_type, Some(0));
        assert!(
            doc.profiles[0]
                .content
                .starts_with("<InitialFilterCriteria><Priority>0</Priority>")
        );
        assert_eq!(parse_user_data(doc.xml.as_bytes()), Ok(doc));
    }

    #[test]
    fn hss_namespace_declarations_travel_with_the_parts() {
        let body = "<cx:IMSSubscription xmlns:cx='urn:x'/>";
        assert_eq!(
            parse_user_data(body.as_bytes()),
            Err(XmlError::WrongRoot {
                expected: "IMSSubscription",
                found: "cx:IMSSubscription".to_owned()
            })
        );
        let body = "<IMSSubscription xmlns:xsi='http://www.w3.org/2001/XMLSchema-instance' xmlns:v='urn:v' xsi:noNamespaceSchemaLocation='CxDataType.xsd'>\
            <PrivateID> impi@example.com </PrivateID><ServiceProfile><PublicIdentity><Identity>sip:a@b</Identity><v:Flag/></PublicIdentity>\
            <InitialFilterCriteria><Priority>0</Priority></InitialFilterCriteria><Unknown/></ServiceProfile></IMSSubscription>";
        let doc = parse_user_data(body.as_bytes()).expect("valid");
        assert_eq!(
            doc.subscription.private_id.as_deref(),
            Some("impi@example.com")
        );
        assert_eq!(
            doc.profiles[0].public_identities[0].xml,
            "<PublicIdentity xmlns:v=\"urn:v\"><Identity>sip:a@b</Identity><v:Flag/></PublicIdentity>"
        );
        assert_eq!(
            doc.profiles[0].content,
            "<InitialFilterCriteria><Priority>0</Priority></InitialFilterCriteria><Unknown/>"
        );
    }

    #[test]
    fn user_data_refusals() {
        let cases: &[(&str, XmlError)] = &[
            (
                "<IMSSubscription><ServiceProfile><PublicIdentity/></ServiceProfile></IMSSubscription>",
                XmlError::MissingElement {
                    parent: "PublicIdentity",
                    child: "Identity",
                },
            ),
            (
                "<IMSSubscription><PrivateID>a</PrivateID><PrivateID>b</PrivateID></IMSSubscription>",
                XmlError::DuplicateElement {
                    parent: "IMSSubscription",
                    child: "PrivateID",
                },
            ),
            (
                "<!DOCTYPE IMSSubscription><IMSSubscription/>",
                XmlError::DoctypeNotAllowed,
            ),
        ];
        for (body, expected) in cases {
            assert_eq!(
                parse_user_data(body.as_bytes()).as_ref(),
                Err(expected),
                "body {body:?}"
            );
        }
        let deep = format!(
            "<IMSSubscription>{}{}</IMSSubscription>",
            "<ServiceProfile>".repeat(MAX_DEPTH),
            "</ServiceProfile>".repeat(MAX_DEPTH)
        );
        assert_eq!(
            parse_user_data(deep.as_bytes()),
            Err(XmlError::TooDeep { limit: MAX_DEPTH })
        );
    }

    #[test]
    fn profile_content_unwraps_stored_documents() {
        assert_eq!(profile_content("<ServiceProfile/>"), "");
        assert_eq!(
            profile_content("<ServiceProfile a=\"x&gt;\"><A/></ServiceProfile>"),
            "<A/>"
        );
        assert_eq!(profile_content("<A/><B/>"), "<A/><B/>");
        assert_eq!(profile_content("<ServiceProfileX/>"), "<ServiceProfileX/>");
    }
}
