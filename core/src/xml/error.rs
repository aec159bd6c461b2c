//! The one error type of the XML readers, worded so it can be sent back as an HTTP 400 reason.

use std::fmt;

/// Why an XML body was refused.
///
/// `Display` gives a short human-readable reason. Any part of it that comes from the input is cut
/// to a few dozen printable ASCII characters, so the text is safe to put in a status line or log.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum XmlError {
    /// The body is larger than the reader accepts.
    TooLarge {
        /// Largest accepted body, in bytes.
        limit: usize,
    },
    /// The body is not valid UTF-8.
    NotUtf8,
    /// The XML declaration names an encoding other than UTF-8.
    UnsupportedEncoding(String),
    /// The XML declaration names a version other than 1.0.
    UnsupportedVersion(String),
    /// The body contains a character XML 1.0 does not allow (a control character, U+FFFE, U+FFFF).
    InvalidCharacter {
        /// The Unicode scalar value of the first such character.
        code_point: u32,
    },
    /// The body is not well-formed XML.
    NotWellFormed {
        /// Byte offset where the reader noticed the problem.
        offset: u64,
        /// What is wrong.
        detail: String,
    },
    /// The body contains no element at all.
    NoRootElement,
    /// The body contains a document type declaration. They are refused outright, so no entity
    /// can ever be defined or expanded (billion laughs, external entities).
    DoctypeNotAllowed,
    /// An entity reference other than the five XML predefines (`&lt;` `&gt;` `&amp;` `&apos;`
    /// `&quot;`) or a character reference.
    UnknownEntity(String),
    /// An element or attribute name is not an XML name.
    InvalidName(String),
    /// A namespace prefix is used without being declared (or declared empty).
    UnboundPrefix(String),
    /// Elements are nested deeper than the reader accepts.
    TooDeep {
        /// Deepest accepted nesting (the root element is depth 1).
        limit: usize,
    },
    /// Something other than comments, processing instructions or white space follows the root
    /// element.
    TrailingContent,
    /// The root element is not the expected one.
    WrongRoot {
        /// The element the body must have at its root.
        expected: &'static str,
        /// The element it has.
        found: String,
    },
    /// A required child element is missing.
    MissingElement {
        /// The element that lacks it.
        parent: &'static str,
        /// The missing child.
        child: &'static str,
    },
    /// A child element that may occur at most once occurs more than once.
    DuplicateElement {
        /// The element containing the duplicates.
        parent: &'static str,
        /// The repeated child.
        child: &'static str,
    },
    /// A child element that is not allowed where it is.
    UnexpectedElement {
        /// The element containing it.
        parent: &'static str,
        /// The element found.
        child: String,
    },
    /// `SharedIFCSetID` given directly under `ServiceProfile`; TS 29.228 carries it inside the
    /// profile's `Extension` element, and an S-CSCF would not see it elsewhere.
    SharedIfcSetIdOutsideExtension,
    /// Text where only elements are allowed, or elements where only text is allowed.
    UnexpectedContent {
        /// The element with the wrong kind of content.
        element: &'static str,
    },
    /// An element whose text must be non-empty is empty.
    EmptyValue {
        /// The element.
        element: &'static str,
    },
    /// An element or attribute value has the wrong form.
    InvalidValue {
        /// The element or attribute.
        element: &'static str,
        /// What the value must be.
        expected: &'static str,
        /// The value found.
        found: String,
    },
    /// A required attribute is missing.
    MissingAttribute {
        /// The element that lacks it.
        element: &'static str,
        /// The attribute.
        attribute: &'static str,
    },
}

/// Longest piece of input quoted in a message.
const SNIPPET_CHARS: usize = 40;

/// Quotes untrusted input safely: printable ASCII only, at most [`SNIPPET_CHARS`] characters.
pub(crate) fn snippet(input: &str) -> String {
    let mut out = String::with_capacity(input.len().min(SNIPPET_CHARS + 3));
    for (count, c) in input.chars().enumerate() {
        if count == SNIPPET_CHARS {
            out.push_str("...");
            break;
        }
        out.push(if c.is_ascii_graphic() || c == ' ' {
            c
        } else {
            '?'
        });
    }
    out
}

impl fmt::Display for XmlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooLarge { limit } => write!(f, "XML body larger than {limit} bytes"),
            Self::NotUtf8 => f.write_str("XML body is not valid UTF-8"),
            Self::UnsupportedEncoding(name) => write!(
                f,
                "XML declaration names encoding \"{}\"; only UTF-8 is accepted",
                snippet(name)
            ),
            Self::UnsupportedVersion(version) => write!(
                f,
                "XML declaration names version \"{}\"; only 1.0 is accepted",
                snippet(version)
            ),
            Self::InvalidCharacter { code_point } => {
                write!(f, "XML body contains character U+{code_point:04X}, which XML does not allow")
            }
            Self::NotWellFormed { offset, detail } => {
                write!(f, "XML not well-formed at byte {offset}: {}", snippet(detail))
            }
            Self::NoRootElement => f.write_str("XML body contains no element"),
            Self::DoctypeNotAllowed => f.write_str("DOCTYPE declarations are not accepted"),
            Self::UnknownEntity(name) => write!(
                f,
                "unknown entity &{}; (only the five XML predefined entities and character references are accepted)",
                snippet(name)
            ),
            Self::InvalidName(name) => write!(f, "\"{}\" is not a valid XML name", snippet(name)),
            Self::UnboundPrefix(prefix) => {
                write!(f, "namespace prefix \"{}\" is not declared", snippet(prefix))
            }
            Self::TooDeep { limit } => write!(f, "XML elements nested deeper than {limit} levels"),
            Self::TrailingContent => f.write_str("content after the root element"),
            Self::WrongRoot { expected, found } => {
                write!(f, "root element must be <{expected}>, found <{}>", snippet(found))
            }
            Self::MissingElement { parent, child } => write!(f, "<{parent}> lacks <{child}>"),
            Self::DuplicateElement { parent, child } => {
                write!(f, "<{parent}> contains more than one <{child}>")
            }
            Self::UnexpectedElement { parent, child } => {
                write!(f, "<{}> is not allowed in <{parent}>", snippet(child))
            }
            Self::SharedIfcSetIdOutsideExtension => f.write_str(
                "<SharedIFCSetID> belongs inside the <Extension> element of <ServiceProfile> (TS 29.228)",
            ),
            Self::UnexpectedContent { element } => {
                write!(f, "<{element}> mixes text and elements where only one is allowed")
            }
            Self::EmptyValue { element } => write!(f, "<{element}> is empty"),
            Self::InvalidValue { element, expected, found } => {
                write!(f, "{element} must be {expected}, found \"{}\"", snippet(found))
            }
            Self::MissingAttribute { element, attribute } => {
                write!(f, "<{element}> lacks the {attribute} attribute")
            }
        }
    }
}

impl std::error::Error for XmlError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snippet_keeps_printable_ascii_and_cuts_long_input() {
        assert_eq!(snippet("sip:a@b"), "sip:a@b");
        assert_eq!(snippet("a\r\nb\u{e9}"), "a??b?");
        let long = "x".repeat(100);
        assert_eq!(snippet(&long), format!("{}...", "x".repeat(SNIPPET_CHARS)));
    }

    #[test]
    fn display_never_carries_line_breaks_from_input() {
        let error = XmlError::WrongRoot {
            expected: "PublicIdentity",
            found: "Evil\r\nSet-Cookie: x".to_owned(),
        };
        let text = error.to_string();
        assert!(!text.contains('\r') && !text.contains('\n'), "{text}");
        assert_eq!(
            text,
            "root element must be <PublicIdentity>, found <Evil??Set-Cookie: x>"
        );
    }
}
