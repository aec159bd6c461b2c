//! The body of `PUT /irs/<irs>/service_profiles/<sp>/filter_criteria`: a TS 29.228
//! `ServiceProfile` element holding the profile's initial filter criteria.
//!
//! TS 29.228 `tServiceProfile` is: `PublicIdentity+`, `CoreNetworkServicesAuthorization?`,
//! `InitialFilterCriteria*`, `Extension?` (which carries `SharedIFCSetID*`) and elements of other
//! namespaces. Public identities are provisioned one by one through `public_ids/<impu>`, so this
//! body holds everything after them.

use quick_xml::events::BytesStart;

use super::MAX_DEPTH;
use super::error::XmlError;
use super::tree::{self, Element, Limits, trim_xml};

/// Largest accepted `ServiceProfile` body.
pub const SERVICE_PROFILE_MAX_BYTES: usize = 256 * 1024;

/// A checked `ServiceProfile` body, split into canonical parts.
///
/// Store [`content`](Self::content) for building `IMSSubscription` documents (it is what goes
/// after the `PublicIdentity` elements of the profile) and [`xml`](Self::xml) for answering GET.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceProfileDoc {
    /// The whole `ServiceProfile` element in canonical form, children in schema order; no XML
    /// declaration.
    pub xml: String,
    /// The `CoreNetworkServicesAuthorization` element, if given (schema places it before the
    /// filter criteria).
    pub core_network_services_authorization: Option<String>,
    /// Each `InitialFilterCriteria` element, in document order.
    pub ifcs: Vec<String>,
    /// The other children, which the schema places after the filter criteria: the profile's
    /// `Extension` (shared iFC set IDs) first, then elements of other namespaces in document order.
    pub extra: Vec<String>,
    /// All the above concatenated in schema order: the `ServiceProfile` content that follows the
    /// `PublicIdentity` elements.
    pub content: String,
}

/// Priority and shared iFC set ID are `xs:int` limited to non-negative values by TS 29.228.
fn parse_non_negative_int(text: &str, element: &'static str) -> Result<i32, XmlError> {
    match trim_xml(text).parse::<i32>() {
        Ok(value) if value >= 0 => Ok(value),
        _ => Err(XmlError::InvalidValue {
            element,
            expected: "an integer from 0 to 2147483647",
            found: text.to_owned(),
        }),
    }
}

/// Cheap checks of one `InitialFilterCriteria`: element-only content and at most one `Priority`,
/// which must be a non-negative integer.
fn check_ifc(ifc: &Element) -> Result<(), XmlError> {
    const IFC: &str = "InitialFilterCriteria";
    if ifc.has_text() {
        return Err(XmlError::UnexpectedContent { element: IFC });
    }
    let mut priorities = ifc
        .child_elements()
        .filter(|child| child.name == "Priority");
    if let Some(priority) = priorities.next() {
        parse_non_negative_int(&priority.text_only("Priority")?, "Priority")?;
    }
    if priorities.next().is_some() {
        return Err(XmlError::DuplicateElement {
            parent: IFC,
            child: "Priority",
        });
    }
    Ok(())
}

/// Checks the `SharedIFCSetID` values in the profile's `Extension`.
fn check_extension(extension: &Element) -> Result<(), XmlError> {
    for set_id in extension
        .child_elements()
        .filter(|child| child.name == "SharedIFCSetID")
    {
        parse_non_negative_int(&set_id.text_only("SharedIFCSetID")?, "SharedIFCSetID")?;
    }
    Ok(())
}

/// Parses and checks a `filter_criteria` provisioning body.
///
/// Refuses (with an [`XmlError`] meant as the HTTP 400 reason) bodies over
/// [`SERVICE_PROFILE_MAX_BYTES`], non-UTF-8 or not well-formed ones, a DOCTYPE, nesting deeper than
/// [`MAX_DEPTH`], content after the root, a root other than `ServiceProfile`, no
/// `InitialFilterCriteria`, `PublicIdentity` children, repeated `CoreNetworkServicesAuthorization`
/// or `Extension`, `SharedIFCSetID` outside `Extension`, unknown children, and a `Priority` or
/// `SharedIFCSetID` that is not a non-negative integer.
pub fn parse_service_profile(body: &[u8]) -> Result<ServiceProfileDoc, XmlError> {
    const PARENT: &str = "ServiceProfile";
    let root = tree::parse(
        body,
        Limits {
            max_bytes: SERVICE_PROFILE_MAX_BYTES,
            max_depth: MAX_DEPTH,
        },
    )?;
    if root.name != PARENT {
        return Err(XmlError::WrongRoot {
            expected: PARENT,
            found: root.name,
        });
    }
    if root.has_text() {
        return Err(XmlError::UnexpectedContent { element: PARENT });
    }
    let ancestors = [&root];
    let mut core_network_services_authorization: Option<String> = None;
    let mut ifcs: Vec<String> = Vec::new();
    let mut extension: Option<String> = None;
    let mut foreign: Vec<String> = Vec::new();
    for child in root.child_elements() {
        match child.name.as_str() {
            "InitialFilterCriteria" => {
                check_ifc(child)?;
                ifcs.push(tree::canonical(&ancestors, child));
            }
            "CoreNetworkServicesAuthorization" => {
                if core_network_services_authorization.is_some() {
                    return Err(XmlError::DuplicateElement {
                        parent: PARENT,
                        child: "CoreNetworkServicesAuthorization",
                    });
                }
                core_network_services_authorization = Some(tree::canonical(&ancestors, child));
            }
            "Extension" => {
                if extension.is_some() {
                    return Err(XmlError::DuplicateElement {
                        parent: PARENT,
                        child: "Extension",
                    });
                }
                check_extension(child)?;
                extension = Some(tree::canonical(&ancestors, child));
            }
            "SharedIFCSetID" => return Err(XmlError::SharedIfcSetIdOutsideExtension),
            _ if child.is_foreign() => foreign.push(tree::canonical(&ancestors, child)),
            // PublicIdentity included: those are provisioned through public_ids/<impu>.
            _ => {
                return Err(XmlError::UnexpectedElement {
                    parent: PARENT,
                    child: child.name.clone(),
                });
            }
        }
    }
    if ifcs.is_empty() {
        return Err(XmlError::MissingElement {
            parent: PARENT,
            child: "InitialFilterCriteria",
        });
    }
    let extra: Vec<String> = extension.into_iter().chain(foreign).collect();
    let content: String = core_network_services_authorization
        .iter()
        .chain(&ifcs)
        .chain(&extra)
        .map(String::as_str)
        .collect();

    let mut start = BytesStart::new(PARENT);
    for (key, value) in &root.attributes {
        start.push_attribute((key.as_str(), value.as_str()));
    }
    let mut xml = String::with_capacity(content.len() + start.len() + PARENT.len() + 5);
    xml.push('<');
    xml.push_str(&start);
    xml.push('>');
    xml.push_str(&content);
    xml.push_str("</");
    xml.push_str(PARENT);
    xml.push('>');

    Ok(ServiceProfileDoc {
        xml,
        core_network_services_authorization,
        ifcs,
        extra,
        content,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An iFC as Clearwater's own tests use it (homestead ut/homestead_xml_utils_test.cpp).
    const CLEARWATER_IFC: &str = "<InitialFilterCriteria><Priority>0</Priority><TriggerPoint><ConditionTypeCNF>0</ConditionTypeCNF><SPT><ConditionNegated>0</ConditionNegated><Group>0</Group><Method>PUBLISH</Method><Extension/></SPT><SPT><ConditionNegated>0</ConditionNegated><Group>0</Group><SIPHeader><Header>Event</Header><Content>.*presence.*</Content></SIPHeader><Extension/></SPT></TriggerPoint><ApplicationServer><ServerName>sip:127.0.0.1:5065</ServerName><DefaultHandling>0</DefaultHandling></ApplicationServer></InitialFilterCriteria>";

    #[test]
    fn clearwater_style_body_is_split_and_reordered() {
        let body = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ServiceProfile>\n  {}\n  <Extension><SharedIFCSetID>3</SharedIFCSetID><SharedIFCSetID>4</SharedIFCSetID></Extension>\n  <CoreNetworkServicesAuthorization><SubscribedMediaProfileId>1</SubscribedMediaProfileId></CoreNetworkServicesAuthorization>\n  <InitialFilterCriteria><Priority> 7 </Priority><ApplicationServer><ServerName>sip:as@x</ServerName></ApplicationServer></InitialFilterCriteria>\n</ServiceProfile>\n",
            CLEARWATER_IFC.replace("<Extension/>", "<Extension></Extension>")
        );
        let doc = parse_service_profile(body.as_bytes()).expect("valid");
        assert_eq!(doc.ifcs.len(), 2);
        assert_eq!(doc.ifcs[0], CLEARWATER_IFC);
        assert_eq!(
            doc.core_network_services_authorization.as_deref(),
            Some(
                "<CoreNetworkServicesAuthorization><SubscribedMediaProfileId>1</SubscribedMediaProfileId></CoreNetworkServicesAuthorization>"
            )
        );
        assert_eq!(
            doc.extra,
            [
                "<Extension><SharedIFCSetID>3</SharedIFCSetID><SharedIFCSetID>4</SharedIFCSetID></Extension>"
            ]
        );
        assert!(
            doc.content
                .starts_with("<CoreNetworkServicesAuthorization>")
        );
        assert!(doc.content.ends_with("</Extension>"));
        assert_eq!(
            doc.xml,
            format!("<ServiceProfile>{}</ServiceProfile>", doc.content)
        );
        assert_eq!(parse_service_profile(doc.xml.as_bytes()), Ok(doc));
    }

    #[test]
    fn root_namespaces_follow_the_parts_that_use_them() {
        let body = "<ServiceProfile xmlns:xsi='http://www.w3.org/2001/XMLSchema-instance' xmlns:v='urn:v'>\
            <InitialFilterCriteria><Priority>1</Priority><v:Hint/></InitialFilterCriteria><v:Other/></ServiceProfile>";
        let doc = parse_service_profile(body.as_bytes()).expect("valid");
        assert_eq!(
            doc.ifcs,
            [
                "<InitialFilterCriteria xmlns:v=\"urn:v\"><Priority>1</Priority><v:Hint/></InitialFilterCriteria>"
            ]
        );
        assert_eq!(doc.extra, ["<v:Other xmlns:v=\"urn:v\"/>"]);
        assert!(doc.xml.starts_with(
            "<ServiceProfile xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xmlns:v=\"urn:v\">"
        ));
        assert_eq!(parse_service_profile(doc.xml.as_bytes()), Ok(doc));
    }

    #[test]
    fn every_refusal_has_its_reason() {
        let cases: &[(&str, XmlError)] = &[
            (
                "<PublicIdentity/>",
                XmlError::WrongRoot {
                    expected: "ServiceProfile",
                    found: "PublicIdentity".to_owned(),
                },
            ),
            (
                "<ServiceProfile/>",
                XmlError::MissingElement {
                    parent: "ServiceProfile",
                    child: "InitialFilterCriteria",
                },
            ),
            (
                "<ServiceProfile><PublicIdentity><Identity>sip:a@b</Identity></PublicIdentity><InitialFilterCriteria/></ServiceProfile>",
                XmlError::UnexpectedElement {
                    parent: "ServiceProfile",
                    child: "PublicIdentity".to_owned(),
                },
            ),
            (
                "<ServiceProfile><InitialFilterCriteria/><SharedIFCSetID>1</SharedIFCSetID></ServiceProfile>",
                XmlError::SharedIfcSetIdOutsideExtension,
            ),
            (
                "<ServiceProfile><InitialFilterCriteria/><Extension><SharedIFCSetID>-1</SharedIFCSetID></Extension></ServiceProfile>",
                XmlError::InvalidValue {
                    element: "SharedIFCSetID",
                    expected: "an integer from 0 to 2147483647",
                    found: "-1".to_owned(),
                },
            ),
            (
                "<ServiceProfile><InitialFilterCriteria><Priority>high</Priority></InitialFilterCriteria></ServiceProfile>",
                XmlError::InvalidValue {
                    element: "Priority",
                    expected: "an integer from 0 to 2147483647",
                    found: "high".to_owned(),
                },
            ),
            (
                "<ServiceProfile><InitialFilterCriteria><Priority>2147483648</Priority></InitialFilterCriteria></ServiceProfile>",
                XmlError::InvalidValue {
                    element: "Priority",
                    expected: "an integer from 0 to 2147483647",
                    found: "2147483648".to_owned(),
                },
            ),
            (
                "<ServiceProfile><InitialFilterCriteria><Priority>1</Priority><Priority>2</Priority></InitialFilterCriteria></ServiceProfile>",
                XmlError::DuplicateElement {
                    parent: "InitialFilterCriteria",
                    child: "Priority",
                },
            ),
            (
                "<ServiceProfile><InitialFilterCriteria>x</InitialFilterCriteria></ServiceProfile>",
                XmlError::UnexpectedContent {
                    element: "InitialFilterCriteria",
                },
            ),
            (
                "<ServiceProfile>x<InitialFilterCriteria/></ServiceProfile>",
                XmlError::UnexpectedContent {
                    element: "ServiceProfile",
                },
            ),
            (
                "<ServiceProfile><InitialFilterCriteria/><Extension/><Extension/></ServiceProfile>",
                XmlError::DuplicateElement {
                    parent: "ServiceProfile",
                    child: "Extension",
                },
            ),
            (
                "<ServiceProfile><InitialFilterCriteria/><CoreNetworkServicesAuthorization/><CoreNetworkServicesAuthorization/></ServiceProfile>",
                XmlError::DuplicateElement {
                    parent: "ServiceProfile",
                    child: "CoreNetworkServicesAuthorization",
                },
            ),
            (
                "<ServiceProfile><InitialFilterCriteria/><Bogus/></ServiceProfile>",
                XmlError::UnexpectedElement {
                    parent: "ServiceProfile",
                    child: "Bogus".to_owned(),
                },
            ),
            (
                "<ServiceProfile><InitialFilterCriteria/></ServiceProfile><!DOCTYPE x>",
                XmlError::DoctypeNotAllowed,
            ),
        ];
        for (body, expected) in cases {
            assert_eq!(
                parse_service_profile(body.as_bytes()).as_ref(),
                Err(expected),
                "body {body:?}"
            );
        }
    }

    #[test]
    fn size_and_depth_are_limited() {
        let body = format!(
            "<ServiceProfile><InitialFilterCriteria><Priority>0</Priority></InitialFilterCriteria>{}</ServiceProfile>",
            " ".repeat(SERVICE_PROFILE_MAX_BYTES)
        );
        assert_eq!(
            parse_service_profile(body.as_bytes()),
            Err(XmlError::TooLarge {
                limit: SERVICE_PROFILE_MAX_BYTES
            })
        );
        let body = format!(
            "<ServiceProfile><InitialFilterCriteria>{}{}</InitialFilterCriteria></ServiceProfile>",
            "<TriggerPoint>".repeat(MAX_DEPTH),
            "</TriggerPoint>".repeat(MAX_DEPTH)
        );
        assert_eq!(
            parse_service_profile(body.as_bytes()),
            Err(XmlError::TooDeep { limit: MAX_DEPTH })
        );
    }
}
