//! `ClearwaterRegData`: the body of Homestead's `/impu/<impu>/reg-data` answers, written exactly
//! the way Clearwater Homestead writes it (rapidxml pretty print: one tab per level, shown as
//! spaces below; `\n\n` at the end), and read back for checking answers.
//!
//! ```text
//! <ClearwaterRegData>
//!     <RegistrationState>REGISTERED</RegistrationState>
//!     <PreviousRegistrationState>NOT_REGISTERED</PreviousRegistrationState>   (PUT reg/call only)
//!     <IMSSubscription>...</IMSSubscription>                                  (when known)
//!     <ChargingAddresses>                                                     (when any)
//!         <CCF priority="1">...</CCF>
//!         <ECF priority="1">...</ECF>
//!     </ChargingAddresses>
//! </ClearwaterRegData>
//! ```

use std::fmt;
use std::str::FromStr;

use quick_xml::escape::escape;
use quick_xml::events::Event;
use quick_xml::reader::Reader;

use super::MAX_DEPTH;
use super::error::XmlError;
use super::ims_subscription::{
    ParsedSubscription, USER_DATA_MAX_BYTES, XML_DECLARATION, summarise,
};
use super::tree::{self, Element, Limits, is_xml_whitespace, trim_xml};

/// Largest accepted `ClearwaterRegData` document: a User-Data document plus room for the rest.
pub const REG_DATA_MAX_BYTES: usize = USER_DATA_MAX_BYTES + 64 * 1024;

/// Registration state of a public identity, in IMS terms: an unregistered user has an S-CSCF
/// serving it (and its User-Data stored); a not-registered user has none.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RegistrationState {
    /// `REGISTERED`
    Registered,
    /// `UNREGISTERED`
    Unregistered,
    /// `NOT_REGISTERED`
    NotRegistered,
}

impl From<crate::model::RegState> for RegistrationState {
    /// The stored state as the document names it.
    fn from(state: crate::model::RegState) -> Self {
        use crate::model::RegState;
        match state {
            RegState::Registered => Self::Registered,
            RegState::Unregistered => Self::Unregistered,
            RegState::NotRegistered => Self::NotRegistered,
        }
    }
}

impl RegistrationState {
    /// The name on the wire.
    pub const fn as_wire(self) -> &'static str {
        match self {
            Self::Registered => "REGISTERED",
            Self::Unregistered => "UNREGISTERED",
            Self::NotRegistered => "NOT_REGISTERED",
        }
    }

    /// The state with wire name `name` (exact, upper case).
    pub fn from_wire(name: &str) -> Option<Self> {
        match name {
            "REGISTERED" => Some(Self::Registered),
            "UNREGISTERED" => Some(Self::Unregistered),
            "NOT_REGISTERED" => Some(Self::NotRegistered),
            _ => None,
        }
    }
}

impl fmt::Display for RegistrationState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_wire())
    }
}

impl FromStr for RegistrationState {
    type Err = XmlError;

    fn from_str(name: &str) -> Result<Self, XmlError> {
        Self::from_wire(name).ok_or_else(|| XmlError::InvalidValue {
            element: "RegistrationState",
            expected: "REGISTERED, UNREGISTERED or NOT_REGISTERED",
            found: name.to_owned(),
        })
    }
}

/// Charging function addresses from the HSS; each list in priority order (the first has
/// priority 1, the next 2, and so on).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChargingAddresses {
    /// Charging Collection Function addresses.
    pub ccfs: Vec<String>,
    /// Event Charging Function addresses.
    pub ecfs: Vec<String>,
}

impl ChargingAddresses {
    /// Whether there is no address at all (then no `ChargingAddresses` element is written).
    pub fn is_empty(&self) -> bool {
        self.ccfs.is_empty() && self.ecfs.is_empty()
    }
}

/// The `IMSSubscription` element inside a stored document: its XML declaration (and any other
/// prolog) removed. Our own documents take the fast path; others are skipped over with quick-xml.
fn subscription_element(xml: &str) -> &str {
    let xml = trim_xml(xml);
    if let Some(rest) = xml.strip_prefix(XML_DECLARATION) {
        return trim_xml(rest);
    }
    if !xml.starts_with("<?") && !xml.starts_with("<!") {
        return xml;
    }
    let mut reader = Reader::from_str(xml);
    loop {
        let start = reader.buffer_position();
        match reader.read_event() {
            Ok(Event::Decl(_) | Event::PI(_) | Event::Comment(_) | Event::DocType(_)) => {}
            Ok(Event::Text(text)) if text.chars().all(is_xml_whitespace) => {}
            // The element (or whatever is there) starts here; a malformed prolog is left as it is.
            _ => {
                return usize::try_from(start)
                    .ok()
                    .and_then(|start| xml.get(start..))
                    .unwrap_or(xml);
            }
        }
    }
}

fn push_state(out: &mut String, element: &str, state: RegistrationState) {
    out.push_str("\t<");
    out.push_str(element);
    out.push('>');
    out.push_str(state.as_wire());
    out.push_str("</");
    out.push_str(element);
    out.push_str(">\n");
}

fn push_charging_functions(out: &mut String, element: &str, addresses: &[String]) {
    for (index, address) in addresses.iter().enumerate() {
        out.push_str("\t\t<");
        out.push_str(element);
        out.push_str(" priority=\"");
        out.push_str(&(index + 1).to_string());
        out.push_str("\">");
        out.push_str(&escape(address.as_str()));
        out.push_str("</");
        out.push_str(element);
        out.push_str(">\n");
    }
}

/// Writes a `ClearwaterRegData` document as Clearwater Homestead does.
///
/// `previous` adds `PreviousRegistrationState` (Homestead sends it in answers to PUTs of type
/// `reg` and `call`). `ims_subscription_xml` is embedded as given, less its XML declaration;
/// `None` or blank leaves the element out, as does an empty `charging`. Homestead re-indents the
/// embedded subscription; this embeds it unchanged, which XML readers (Sprout's rapidxml
/// included) do not tell apart.
pub fn write_clearwater_reg_data(
    state: RegistrationState,
    previous: Option<RegistrationState>,
    ims_subscription_xml: Option<&str>,
    charging: &ChargingAddresses,
) -> String {
    let subscription = ims_subscription_xml
        .map(subscription_element)
        .filter(|element| !element.is_empty());
    let charging_length: usize = charging
        .ccfs
        .iter()
        .chain(&charging.ecfs)
        .map(|address| address.len() + 32)
        .sum();
    let mut out = String::with_capacity(200 + subscription.map_or(0, str::len) + charging_length);
    out.push_str("<ClearwaterRegData>\n");
    push_state(&mut out, "RegistrationState", state);
    if let Some(previous) = previous {
        push_state(&mut out, "PreviousRegistrationState", previous);
    }
    if let Some(subscription) = subscription {
        out.push('\t');
        out.push_str(subscription);
        out.push('\n');
    }
    if !charging.is_empty() {
        out.push_str("\t<ChargingAddresses>\n");
        push_charging_functions(&mut out, "CCF", &charging.ccfs);
        push_charging_functions(&mut out, "ECF", &charging.ecfs);
        out.push_str("\t</ChargingAddresses>\n");
    }
    out.push_str("</ClearwaterRegData>\n\n");
    out
}

/// A `ClearwaterRegData` document, read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegDataDoc {
    /// `RegistrationState`.
    pub state: RegistrationState,
    /// `PreviousRegistrationState`, if present.
    pub previous: Option<RegistrationState>,
    /// The embedded `IMSSubscription`, summarised, if present.
    pub subscription: Option<ParsedSubscription>,
    /// `ChargingAddresses`, each list sorted by its `priority` attribute.
    pub charging: ChargingAddresses,
}

fn read_state(element: &Element, what: &'static str) -> Result<RegistrationState, XmlError> {
    let text = element.text_only(what)?;
    RegistrationState::from_wire(trim_xml(&text)).ok_or_else(|| XmlError::InvalidValue {
        element: what,
        expected: "REGISTERED, UNREGISTERED or NOT_REGISTERED",
        found: text.clone(),
    })
}

fn read_charging(element: &Element) -> Result<ChargingAddresses, XmlError> {
    let mut ccfs: Vec<(u32, String)> = Vec::new();
    let mut ecfs: Vec<(u32, String)> = Vec::new();
    for child in element.child_elements() {
        let (what, list): (&'static str, &mut Vec<(u32, String)>) = match child.name.as_str() {
            "CCF" => ("CCF", &mut ccfs),
            "ECF" => ("ECF", &mut ecfs),
            _ => {
                return Err(XmlError::UnexpectedElement {
                    parent: "ChargingAddresses",
                    child: child.name.clone(),
                });
            }
        };
        let priority = child
            .attribute("priority")
            .ok_or(XmlError::MissingAttribute {
                element: what,
                attribute: "priority",
            })?;
        let priority = trim_xml(priority)
            .parse::<u32>()
            .map_err(|_| XmlError::InvalidValue {
                element: "priority",
                expected: "an unsigned integer",
                found: priority.to_owned(),
            })?;
        list.push((priority, trim_xml(&child.text_only(what)?).to_owned()));
    }
    // Stable sorts: equal priorities keep document order.
    ccfs.sort_by_key(|(priority, _)| *priority);
    ecfs.sort_by_key(|(priority, _)| *priority);
    Ok(ChargingAddresses {
        ccfs: ccfs.into_iter().map(|(_, address)| address).collect(),
        ecfs: ecfs.into_iter().map(|(_, address)| address).collect(),
    })
}

/// Reads a `ClearwaterRegData` document (e.g. a reg-data answer) under the usual limits
/// ([`REG_DATA_MAX_BYTES`], [`MAX_DEPTH`], UTF-8, no DOCTYPE). Unknown elements at the
/// `ClearwaterRegData` and `ChargingAddresses` levels are refused, so a checker notices them.
pub fn parse_clearwater_reg_data(body: &[u8]) -> Result<RegDataDoc, XmlError> {
    const ROOT: &str = "ClearwaterRegData";
    let root = tree::parse(
        body,
        Limits {
            max_bytes: REG_DATA_MAX_BYTES,
            max_depth: MAX_DEPTH,
        },
    )?;
    if root.name != ROOT {
        return Err(XmlError::WrongRoot {
            expected: ROOT,
            found: root.name,
        });
    }
    if root.has_text() {
        return Err(XmlError::UnexpectedContent { element: ROOT });
    }
    let mut state: Option<RegistrationState> = None;
    let mut previous: Option<RegistrationState> = None;
    let mut subscription: Option<ParsedSubscription> = None;
    let mut charging: Option<ChargingAddresses> = None;
    for child in root.child_elements() {
        let duplicate = |child: &'static str| XmlError::DuplicateElement {
            parent: ROOT,
            child,
        };
        match child.name.as_str() {
            "RegistrationState" => {
                if state.is_some() {
                    return Err(duplicate("RegistrationState"));
                }
                state = Some(read_state(child, "RegistrationState")?);
            }
            "PreviousRegistrationState" => {
                if previous.is_some() {
                    return Err(duplicate("PreviousRegistrationState"));
                }
                previous = Some(read_state(child, "PreviousRegistrationState")?);
            }
            "IMSSubscription" => {
                if subscription.is_some() {
                    return Err(duplicate("IMSSubscription"));
                }
                subscription = Some(summarise(child)?);
            }
            "ChargingAddresses" => {
                if charging.is_some() {
                    return Err(duplicate("ChargingAddresses"));
                }
                charging = Some(read_charging(child)?);
            }
            _ => {
                return Err(XmlError::UnexpectedElement {
                    parent: ROOT,
                    child: child.name.clone(),
                });
            }
        }
    }
    let Some(state) = state else {
        return Err(XmlError::MissingElement {
            parent: ROOT,
            child: "RegistrationState",
        });
    };
    Ok(RegDataDoc {
        state,
        previous,
        subscription,
        charging: charging.unwrap_or_default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xml::{
        ParsedServiceProfile, ProfileParts, build_ims_subscription, parse_public_identity,
    };

    fn charging(ccfs: &[&str], ecfs: &[&str]) -> ChargingAddresses {
        ChargingAddresses {
            ccfs: ccfs.iter().map(|s| (*s).to_owned()).collect(),
            ecfs: ecfs.iter().map(|s| (*s).to_owned()).collect(),
        }
    }

    // Expected strings below are Clearwater Homestead's own unit-test vectors
    // (homestead ut/homestead_xml_utils_test.cpp and ut/http_handlers_test.cpp).

    #[test]
    fn matches_homestead_simple_mainline() {
        let written = write_clearwater_reg_data(
            RegistrationState::Registered,
            None,
            Some("<?xml?><IMSSubscription>test</IMSSubscription>"),
            &charging(&["ccf1", "ccf2"], &["ecf1", "ecf2"]),
        );
        assert_eq!(
            written,
            "<ClearwaterRegData>\n\t<RegistrationState>REGISTERED</RegistrationState>\n\t<IMSSubscription>test</IMSSubscription>\n\t<ChargingAddresses>\n\t\t<CCF priority=\"1\">ccf1</CCF>\n\t\t<CCF priority=\"2\">ccf2</CCF>\n\t\t<ECF priority=\"1\">ecf1</ECF>\n\t\t<ECF priority=\"2\">ecf2</ECF>\n\t</ChargingAddresses>\n</ClearwaterRegData>\n\n"
        );
    }

    #[test]
    fn matches_homestead_unregistered_without_charging() {
        let written = write_clearwater_reg_data(
            RegistrationState::Unregistered,
            None,
            Some("<?xml?><IMSSubscription>test</IMSSubscription>"),
            &ChargingAddresses::default(),
        );
        assert_eq!(
            written,
            "<ClearwaterRegData>\n\t<RegistrationState>UNREGISTERED</RegistrationState>\n\t<IMSSubscription>test</IMSSubscription>\n</ClearwaterRegData>\n\n"
        );
    }

    #[test]
    fn matches_homestead_previous_state_layout() {
        // REGDATA_RESULT_WAS_NOTREG, with the embedded subscription given in Homestead's layout.
        let subscription = "<IMSSubscription>\n\t\t<PrivateID>_impi@example.com</PrivateID>\n\t\t<ServiceProfile>\n\t\t\t<PublicIdentity>\n\t\t\t\t<Identity>sip:impu@example.com</Identity>\n\t\t\t</PublicIdentity>\n\t\t\t<PublicIdentity>\n\t\t\t\t<Identity>sip:impu4@example.com</Identity>\n\t\t\t</PublicIdentity>\n\t\t</ServiceProfile>\n\t</IMSSubscription>";
        let written = write_clearwater_reg_data(
            RegistrationState::Registered,
            Some(RegistrationState::NotRegistered),
            Some(subscription),
            &ChargingAddresses::default(),
        );
        assert_eq!(
            written,
            format!(
                "<ClearwaterRegData>\n\t<RegistrationState>REGISTERED</RegistrationState>\n\t<PreviousRegistrationState>NOT_REGISTERED</PreviousRegistrationState>\n\t{subscription}\n</ClearwaterRegData>\n\n"
            )
        );
        let read = parse_clearwater_reg_data(written.as_bytes()).expect("parses");
        assert_eq!(read.state, RegistrationState::Registered);
        assert_eq!(read.previous, Some(RegistrationState::NotRegistered));
        assert_eq!(
            read.subscription,
            Some(ParsedSubscription {
                private_id: Some("_impi@example.com".to_owned()),
                service_profiles: vec![ParsedServiceProfile {
                    public_identities: vec![
                        "sip:impu@example.com".to_owned(),
                        "sip:impu4@example.com".to_owned()
                    ],
                    ifc_count: 0,
                }],
            })
        );
        assert!(read.charging.is_empty());
    }

    #[test]
    fn write_then_read_round_trips_with_built_subscription() {
        let identity = parse_public_identity(
            b"<PublicIdentity><Identity>sip:a&amp;b@example.com</Identity></PublicIdentity>",
        )
        .expect("valid");
        let subscription = build_ims_subscription(
            Some("a@example.com"),
            &[ProfileParts {
                public_identities: vec![identity.xml],
                filter_xml: Some(
                    "<InitialFilterCriteria><Priority>0</Priority></InitialFilterCriteria>"
                        .to_owned(),
                ),
            }],
        );
        let addresses = charging(&["aaa://ccf1;transport=tcp", "ccf<2>"], &["ecf&1"]);
        for state in [
            RegistrationState::Registered,
            RegistrationState::Unregistered,
            RegistrationState::NotRegistered,
        ] {
            for previous in [None, Some(RegistrationState::NotRegistered)] {
                let written =
                    write_clearwater_reg_data(state, previous, Some(&subscription), &addresses);
                assert!(
                    !written.contains("<?xml"),
                    "declaration embedded: {written}"
                );
                let read = parse_clearwater_reg_data(written.as_bytes()).expect("parses");
                assert_eq!(read.state, state);
                assert_eq!(read.previous, previous);
                assert_eq!(read.charging, addresses);
                let read_subscription = read.subscription.expect("present");
                assert_eq!(
                    read_subscription.private_id.as_deref(),
                    Some("a@example.com")
                );
                assert_eq!(
                    read_subscription.service_profiles[0].public_identities,
                    ["sip:a&b@example.com"]
                );
                assert_eq!(read_subscription.service_profiles[0].ifc_count, 1);
            }
        }
        let bare = write_clearwater_reg_data(
            RegistrationState::NotRegistered,
            None,
            Some("  "),
            &ChargingAddresses::default(),
        );
        assert_eq!(
            bare,
            "<ClearwaterRegData>\n\t<RegistrationState>NOT_REGISTERED</RegistrationState>\n</ClearwaterRegData>\n\n"
        );
        let read = parse_clearwater_reg_data(bare.as_bytes()).expect("parses");
        assert_eq!(read.subscription, None);
    }

    #[test]
    fn prolog_of_foreign_documents_is_skipped() {
        assert_eq!(
            subscription_element("<?xml version='1.0'?>\n<!-- hss -->\n<IMSSubscription/>\n"),
            "<IMSSubscription/>"
        );
        assert_eq!(
            subscription_element("<IMSSubscription/>"),
            "<IMSSubscription/>"
        );
    }

    #[test]
    fn reader_sorts_charging_by_priority() {
        let body = b"<ClearwaterRegData><RegistrationState>REGISTERED</RegistrationState><ChargingAddresses><CCF priority=\"2\">ccf2</CCF><CCF priority=\"1\">ccf1</CCF><ECF priority=\"2\">ecf2</ECF><ECF priority=\"1\">ecf1</ECF></ChargingAddresses></ClearwaterRegData>";
        let read = parse_clearwater_reg_data(body).expect("parses");
        assert_eq!(
            read.charging,
            charging(&["ccf1", "ccf2"], &["ecf1", "ecf2"])
        );
    }

    #[test]
    fn reader_refusals() {
        let cases: &[(&str, XmlError)] = &[
            (
                "<ClearwaterRegData/>",
                XmlError::MissingElement {
                    parent: "ClearwaterRegData",
                    child: "RegistrationState",
                },
            ),
            (
                "<ClearwaterRegData><RegistrationState>ONLINE</RegistrationState></ClearwaterRegData>",
                XmlError::InvalidValue {
                    element: "RegistrationState",
                    expected: "REGISTERED, UNREGISTERED or NOT_REGISTERED",
                    found: "ONLINE".to_owned(),
                },
            ),
            (
                "<ClearwaterRegData><RegistrationState>REGISTERED</RegistrationState><RegistrationState>REGISTERED</RegistrationState></ClearwaterRegData>",
                XmlError::DuplicateElement {
                    parent: "ClearwaterRegData",
                    child: "RegistrationState",
                },
            ),
            (
                "<ClearwaterRegData><RegistrationState>REGISTERED</RegistrationState><ChargingAddresses><CCF>x</CCF></ChargingAddresses></ClearwaterRegData>",
                XmlError::MissingAttribute {
                    element: "CCF",
                    attribute: "priority",
                },
            ),
            (
                "<ClearwaterRegData><RegistrationState>REGISTERED</RegistrationState><ChargingAddresses><CCF priority='first'>x</CCF></ChargingAddresses></ClearwaterRegData>",
                XmlError::InvalidValue {
                    element: "priority",
                    expected: "an unsigned integer",
                    found: "first".to_owned(),
                },
            ),
            (
                "<ClearwaterRegData><RegistrationState>REGISTERED</RegistrationState><Extra/></ClearwaterRegData>",
                XmlError::UnexpectedElement {
                    parent: "ClearwaterRegData",
                    child: "Extra".to_owned(),
                },
            ),
            (
                "<RegData/>",
                XmlError::WrongRoot {
                    expected: "ClearwaterRegData",
                    found: "RegData".to_owned(),
                },
            ),
        ];
        for (body, expected) in cases {
            assert_eq!(
                parse_clearwater_reg_data(body.as_bytes()).as_ref(),
                Err(expected),
                "body {body:?}"
            );
        }
    }

    #[test]
    fn wire_names() {
        for state in [
            RegistrationState::Registered,
            RegistrationState::Unregistered,
            RegistrationState::NotRegistered,
        ] {
            assert_eq!(state.as_wire().parse::<RegistrationState>(), Ok(state));
            assert_eq!(state.to_string(), state.as_wire());
        }
        assert_eq!(RegistrationState::from_wire("registered"), None);
    }
}
