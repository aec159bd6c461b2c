//! A small owned element tree read with quick-xml under limits an outsider cannot get past, and
//! its canonical serialisation.
//!
//! Canonical form (what every `xml` string this module family returns looks like):
//! - no XML declaration, comments or processing instructions;
//! - attributes in document order as `name="value"`, values escaped by quick-xml;
//! - white-space-only text between elements dropped; other text kept as read (entity and
//!   character references resolved, line ends normalised) and escaped with
//!   [`quick_xml::escape::escape`] (`<`, `>`, `&`, `'`, `"` and CR);
//! - an element without children written as `<name/>`.
//!
//! Reading the canonical form of a tree gives the same tree back, so canonical strings can be
//! stored and concatenated into bigger documents without ever being parsed again.

use quick_xml::XmlVersion;
use quick_xml::errors::Error as QuickXmlError;
use quick_xml::escape::{EscapeError, escape, resolve_predefined_entity};
use quick_xml::events::{BytesDecl, BytesRef, BytesStart, Event};
use quick_xml::reader::Reader;

use super::error::XmlError;

/// Size and nesting limits for one kind of document.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    /// Largest accepted input, in bytes.
    pub max_bytes: usize,
    /// Deepest accepted nesting; the root element is depth 1.
    pub max_depth: usize,
}

/// One element with its attributes (values unescaped) and children.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Element {
    pub name: String,
    pub attributes: Vec<(String, String)>,
    pub children: Vec<Node>,
}

/// A child of an element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Node {
    Element(Element),
    Text(String),
}

impl Element {
    /// The child elements, in document order.
    pub fn child_elements(&self) -> impl Iterator<Item = &Element> {
        self.children.iter().filter_map(|node| match node {
            Node::Element(element) => Some(element),
            Node::Text(_) => None,
        })
    }

    /// The first child element called `name`.
    pub fn child(&self, name: &str) -> Option<&Element> {
        self.child_elements().find(|child| child.name == name)
    }

    /// Whether any child is a (non white space) text node.
    pub fn has_text(&self) -> bool {
        self.children
            .iter()
            .any(|node| matches!(node, Node::Text(_)))
    }

    /// The text of an element that may only hold text, or an error naming `what` if it has child
    /// elements.
    pub fn text_only(&self, what: &'static str) -> Result<String, XmlError> {
        let mut text = String::new();
        for node in &self.children {
            match node {
                Node::Text(part) => text.push_str(part),
                Node::Element(_) => return Err(XmlError::UnexpectedContent { element: what }),
            }
        }
        Ok(text)
    }

    /// The value of attribute `name`.
    pub fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    /// Whether the name carries a namespace prefix: TS 29.228 names have none, so a prefixed
    /// element is an extension from another namespace (`xs:any namespace="##other"`).
    pub fn is_foreign(&self) -> bool {
        self.name.contains(':')
    }

    /// Namespace declarations (`xmlns`, `xmlns:p`) made on this element.
    pub fn namespace_declarations(&self) -> impl Iterator<Item = &(String, String)> {
        self.attributes
            .iter()
            .filter(|(key, _)| key == "xmlns" || key.starts_with("xmlns:"))
    }
}

/// XML white space (production S).
pub(crate) fn is_xml_whitespace(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r')
}

/// Trims XML white space (not Unicode white space) from both ends.
pub(crate) fn trim_xml(text: &str) -> &str {
    text.trim_matches(is_xml_whitespace)
}

/// Characters XML 1.0 allows (production Char); Rust `char` already excludes surrogates.
fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r') || (c >= ' ' && c != '\u{FFFE}' && c != '\u{FFFF}')
}

/// NameStartChar of XML 1.0 (fifth edition).
fn is_name_start_char(c: char) -> bool {
    matches!(c,
        ':' | 'A'..='Z' | '_' | 'a'..='z'
        | '\u{C0}'..='\u{D6}' | '\u{D8}'..='\u{F6}' | '\u{F8}'..='\u{2FF}'
        | '\u{370}'..='\u{37D}' | '\u{37F}'..='\u{1FFF}' | '\u{200C}'..='\u{200D}'
        | '\u{2070}'..='\u{218F}' | '\u{2C00}'..='\u{2FEF}' | '\u{3001}'..='\u{D7FF}'
        | '\u{F900}'..='\u{FDCF}' | '\u{FDF0}'..='\u{FFFD}' | '\u{10000}'..='\u{EFFFF}')
}

/// NameChar of XML 1.0 (fifth edition).
fn is_name_char(c: char) -> bool {
    is_name_start_char(c)
        || matches!(c, '-' | '.' | '0'..='9' | '\u{B7}' | '\u{300}'..='\u{36F}' | '\u{203F}'..='\u{2040}')
}

fn check_name(name: &str) -> Result<(), XmlError> {
    let mut chars = name.chars();
    let valid = chars.next().is_some_and(is_name_start_char) && chars.all(is_name_char);
    if valid {
        Ok(())
    } else {
        Err(XmlError::InvalidName(name.to_owned()))
    }
}

fn check_chars(text: &str) -> Result<(), XmlError> {
    match text.chars().find(|&c| !is_xml_char(c)) {
        Some(c) => Err(XmlError::InvalidCharacter {
            code_point: u32::from(c),
        }),
        None => Ok(()),
    }
}

fn not_well_formed(offset: u64, detail: impl Into<String>) -> XmlError {
    XmlError::NotWellFormed {
        offset,
        detail: detail.into(),
    }
}

fn from_quick_xml(offset: u64, error: &QuickXmlError) -> XmlError {
    match error {
        QuickXmlError::Escape(EscapeError::UnrecognizedEntity(_, name)) => {
            XmlError::UnknownEntity(name.clone())
        }
        other => not_well_formed(offset, other.to_string()),
    }
}

/// An element still being read, with the text gathered since its last child.
struct OpenElement {
    element: Element,
    pending_text: String,
}

impl OpenElement {
    /// Moves the gathered text into the children. White space is dropped when it stands between
    /// elements (or before the first one); it is kept only as the whole content of a leaf.
    fn flush_text(&mut self, closing: bool) {
        if self.pending_text.is_empty() {
            return;
        }
        let text = std::mem::take(&mut self.pending_text);
        let whitespace_only = text.chars().all(is_xml_whitespace);
        let keep = !whitespace_only || (closing && self.element.children.is_empty());
        if keep {
            self.element.children.push(Node::Text(text));
        }
    }
}

fn element_from_start(start: &BytesStart<'_>, offset: u64) -> Result<Element, XmlError> {
    let name = start.name().into_inner();
    check_name(name)?;
    let mut attributes: Vec<(String, String)> = Vec::new();
    for attribute in start.attributes() {
        let attribute = attribute.map_err(|error| not_well_formed(offset, error.to_string()))?;
        let key = attribute.key.into_inner();
        check_name(key)?;
        if attribute.value.contains('<') {
            return Err(not_well_formed(offset, "'<' in an attribute value"));
        }
        let value = attribute
            .normalized_value(XmlVersion::Explicit1_0)
            .map_err(|error| from_quick_xml(offset, &error))?;
        // Character references can smuggle in characters the raw-input check never saw.
        check_chars(&value)?;
        attributes.push((key.to_owned(), value.into_owned()));
    }
    Ok(Element {
        name: name.to_owned(),
        attributes,
        children: Vec::new(),
    })
}

fn check_declaration(declaration: &BytesDecl<'_>, offset: u64) -> Result<(), XmlError> {
    let version = declaration
        .version()
        .map_err(|error| from_quick_xml(offset, &error))?;
    if version != "1.0" {
        return Err(XmlError::UnsupportedVersion(version.into_owned()));
    }
    if let Some(encoding) = declaration.encoding() {
        let encoding = encoding.map_err(|error| not_well_formed(offset, error.to_string()))?;
        if !encoding.eq_ignore_ascii_case("UTF-8") {
            return Err(XmlError::UnsupportedEncoding(encoding.into_owned()));
        }
    }
    Ok(())
}

/// Where text read outside every element may go.
fn text_outside_root(text: &str, root_seen: bool, offset: u64) -> Result<(), XmlError> {
    if text.chars().all(is_xml_whitespace) {
        Ok(())
    } else if root_seen {
        Err(XmlError::TrailingContent)
    } else {
        Err(not_well_formed(offset, "text before the root element"))
    }
}

/// The text an entity or character reference in content stands for. Only the five predefined
/// entities exist, since no DOCTYPE can define more.
fn resolve_reference(reference: &BytesRef<'_>, offset: u64) -> Result<String, XmlError> {
    if !reference.is_char_ref() {
        return resolve_predefined_entity(reference)
            .map(str::to_owned)
            .ok_or_else(|| XmlError::UnknownEntity(reference.to_string()));
    }
    let resolved = reference
        .resolve_char_ref()
        .map_err(|error| not_well_formed(offset, error.to_string()))?
        .ok_or_else(|| not_well_formed(offset, "bad character reference"))?;
    let text = resolved.to_string();
    // The raw-input check cannot see characters that only references produce.
    check_chars(&text)?;
    Ok(text)
}

/// Refuses a second root element and nesting beyond the limit.
fn check_room_for_element(
    stack: &[OpenElement],
    root_seen: bool,
    limits: Limits,
) -> Result<(), XmlError> {
    if stack.is_empty() && root_seen {
        Err(XmlError::TrailingContent)
    } else if stack.len() >= limits.max_depth {
        Err(XmlError::TooDeep {
            limit: limits.max_depth,
        })
    } else {
        Ok(())
    }
}

/// Reads one XML document into a tree, enforcing `limits`, refusing any DOCTYPE, and resolving
/// only the predefined entities and character references.
pub(crate) fn parse(input: &[u8], limits: Limits) -> Result<Element, XmlError> {
    if input.len() > limits.max_bytes {
        return Err(XmlError::TooLarge {
            limit: limits.max_bytes,
        });
    }
    let input = input.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(input);
    let text = std::str::from_utf8(input).map_err(|_| XmlError::NotUtf8)?;
    check_chars(text)?;

    let mut reader = Reader::from_str(text);
    reader.config_mut().check_comments = true;

    let mut stack: Vec<OpenElement> = Vec::new();
    let mut root: Option<Element> = None;
    let mut first_event = true;
    loop {
        let offset = reader.buffer_position();
        let event = reader
            .read_event()
            .map_err(|error| from_quick_xml(reader.error_position(), &error))?;
        let is_first_event = std::mem::replace(&mut first_event, false);
        match event {
            Event::Decl(declaration) => {
                if !is_first_event {
                    return Err(not_well_formed(offset, "XML declaration not at the start"));
                }
                check_declaration(&declaration, offset)?;
            }
            Event::DocType(_) => return Err(XmlError::DoctypeNotAllowed),
            Event::Comment(_) | Event::PI(_) => {}
            Event::Start(start) => {
                check_room_for_element(&stack, root.is_some(), limits)?;
                let element = element_from_start(&start, offset)?;
                if let Some(parent) = stack.last_mut() {
                    parent.flush_text(false);
                }
                stack.push(OpenElement {
                    element,
                    pending_text: String::new(),
                });
            }
            Event::Empty(start) => {
                check_room_for_element(&stack, root.is_some(), limits)?;
                let element = element_from_start(&start, offset)?;
                match stack.last_mut() {
                    Some(parent) => {
                        parent.flush_text(false);
                        parent.element.children.push(Node::Element(element));
                    }
                    None => root = Some(element),
                }
            }
            Event::End(_) => {
                // quick-xml has already checked that the end tag matches the open one.
                let Some(mut open) = stack.pop() else {
                    return Err(not_well_formed(offset, "end tag without start tag"));
                };
                open.flush_text(true);
                match stack.last_mut() {
                    Some(parent) => parent.element.children.push(Node::Element(open.element)),
                    None => root = Some(open.element),
                }
            }
            Event::Text(content) => {
                let content = content.xml10_content();
                match stack.last_mut() {
                    Some(open) => open.pending_text.push_str(&content),
                    None => text_outside_root(&content, root.is_some(), offset)?,
                }
            }
            Event::CData(content) => match stack.last_mut() {
                Some(open) => open.pending_text.push_str(&content.xml10_content()),
                None => return Err(not_well_formed(offset, "CDATA outside the root element")),
            },
            Event::GeneralRef(reference) => {
                let resolved = resolve_reference(&reference, offset)?;
                match stack.last_mut() {
                    Some(open) => open.pending_text.push_str(&resolved),
                    None => text_outside_root(&resolved, root.is_some(), offset)?,
                }
            }
            Event::Eof => break,
        }
    }
    if let Some(open) = stack.last() {
        return Err(not_well_formed(
            reader.buffer_position(),
            format!("<{}> is not closed", open.element.name),
        ));
    }
    let root = root.ok_or(XmlError::NoRootElement)?;
    check_namespaces(&root, &mut Vec::new())?;
    Ok(root)
}

/// Checks namespace well-formedness (Namespaces in XML 1.0): every name is a valid QName and
/// every prefix used is declared in scope. `scope` holds the prefixes declared by ancestors.
/// Recursion is bounded by the depth limit.
fn check_namespaces<'a>(element: &'a Element, scope: &mut Vec<&'a str>) -> Result<(), XmlError> {
    let declared_before = scope.len();
    for (key, value) in &element.attributes {
        if let Some(prefix) = key.strip_prefix("xmlns:") {
            check_qname_part(prefix, key)?;
            if value.is_empty() || prefix == "xmlns" {
                return Err(XmlError::UnboundPrefix(prefix.to_owned()));
            }
            scope.push(prefix);
        }
    }
    let bound = |scope: &[&str], name: &str| -> Result<(), XmlError> {
        match name.split_once(':') {
            None => check_qname_part(name, name),
            Some((prefix, local)) => {
                check_qname_part(prefix, name)?;
                check_qname_part(local, name)?;
                if prefix == "xml" || scope.contains(&prefix) {
                    Ok(())
                } else {
                    Err(XmlError::UnboundPrefix(prefix.to_owned()))
                }
            }
        }
    };
    bound(scope, &element.name)?;
    for (key, _) in &element.attributes {
        if key != "xmlns" && !key.starts_with("xmlns:") {
            bound(scope, key)?;
        }
    }
    for child in element.child_elements() {
        check_namespaces(child, scope)?;
    }
    scope.truncate(declared_before);
    Ok(())
}

/// One side of a QName: non-empty and free of colons.
fn check_qname_part(part: &str, name: &str) -> Result<(), XmlError> {
    if part.is_empty() || part.contains(':') {
        Err(XmlError::InvalidName(name.to_owned()))
    } else {
        Ok(())
    }
}

/// Prefix of a qualified name, `""` for none.
fn prefix_of(name: &str) -> &str {
    name.split_once(':').map_or("", |(prefix, _)| prefix)
}

/// Whether `element` or anything below it uses namespace `prefix` (`""`: the default namespace,
/// which only unprefixed element names use).
fn uses_prefix(element: &Element, prefix: &str) -> bool {
    let is_declaration = |key: &str| key == "xmlns" || key.starts_with("xmlns:");
    // Unprefixed attributes are in no namespace, so only prefixed ones count.
    let attribute_uses =
        |key: &String| !prefix.is_empty() && !is_declaration(key) && prefix_of(key) == prefix;
    prefix_of(&element.name) == prefix
        || element
            .attributes
            .iter()
            .any(|(key, _)| attribute_uses(key))
        || element
            .child_elements()
            .any(|child| uses_prefix(child, prefix))
}

/// Namespace declarations in scope from `ancestors` (outermost first) that `element` relies on but
/// does not make itself: serialising an element apart from its document must carry them, or its
/// prefixes would be unbound.
pub(crate) fn inherited_declarations<'a>(
    ancestors: &[&'a Element],
    element: &Element,
) -> Vec<&'a (String, String)> {
    let mut needed: Vec<&'a (String, String)> = Vec::new();
    // Innermost declarations win, so walk from the nearest ancestor outwards.
    for ancestor in ancestors.iter().rev() {
        for declaration in ancestor.namespace_declarations() {
            let (key, _) = declaration;
            let prefix = key.strip_prefix("xmlns:").unwrap_or("");
            let declared_here = element.attribute(key).is_some();
            let already_needed = needed.iter().any(|(other, _)| other == key);
            if !declared_here && !already_needed && uses_prefix(element, prefix) {
                needed.push(declaration);
            }
        }
    }
    needed
}

/// Appends the canonical form of `element` to `out`, adding `inherited` namespace declarations
/// to its start tag.
pub(crate) fn write_element(element: &Element, inherited: &[&(String, String)], out: &mut String) {
    let mut start = BytesStart::new(element.name.as_str());
    for (key, value) in element.attributes.iter().chain(inherited.iter().copied()) {
        start.push_attribute((key.as_str(), value.as_str()));
    }
    out.push('<');
    out.push_str(&start);
    if element.children.is_empty() {
        out.push_str("/>");
        return;
    }
    out.push('>');
    for node in &element.children {
        match node {
            Node::Element(child) => write_element(child, &[], out),
            Node::Text(text) => out.push_str(&escape(text.as_str())),
        }
    }
    out.push_str("</");
    out.push_str(&element.name);
    out.push('>');
}

/// The canonical form of `element`, standing alone under `ancestors`.
pub(crate) fn canonical(ancestors: &[&Element], element: &Element) -> String {
    let inherited = inherited_declarations(ancestors, element);
    let mut out = String::new();
    write_element(element, &inherited, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: Limits = Limits {
        max_bytes: 4096,
        max_depth: 8,
    };

    fn round_trip(input: &str) -> String {
        let tree = parse(input.as_bytes(), LIMITS).expect("parses");
        let text = canonical(&[], &tree);
        let again = parse(text.as_bytes(), LIMITS).expect("canonical form parses");
        assert_eq!(tree, again, "canonical form reads back to the same tree");
        text
    }

    #[test]
    fn canonical_form_drops_markup_noise_and_keeps_content() {
        let input = "\u{FEFF}<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<!-- c --><a  x = 'v&amp;&#10;' >\n  <b>t&lt;&#x41;<![CDATA[<raw>]]></b>\r\n  <c></c><?pi x?>\n</a>\n<!-- after -->\n";
        assert_eq!(
            round_trip(input),
            "<a x=\"v&amp;&#10;\"><b>t&lt;A&lt;raw&gt;</b><c/></a>"
        );
    }

    #[test]
    fn leaf_white_space_and_mixed_text_survive() {
        assert_eq!(round_trip("<a> </a>"), "<a> </a>");
        assert_eq!(round_trip("<a>x <b/> </a>"), "<a>x <b/></a>");
        assert_eq!(round_trip("<a>\r\n</a>"), "<a>\n</a>");
        assert_eq!(round_trip("<a>&#13;</a>"), "<a>&#13;</a>");
        assert_eq!(
            round_trip("<a xmlns:p='u' xml:lang='en'><p:b p:c='1'/></a>"),
            "<a xmlns:p=\"u\" xml:lang=\"en\"><p:b p:c=\"1\"/></a>"
        );
    }

    #[test]
    fn structural_errors() {
        let cases: &[(&str, XmlError)] = &[
            ("", XmlError::NoRootElement),
            ("  <!-- only -->", XmlError::NoRootElement),
            ("<a/><b/>", XmlError::TrailingContent),
            ("<a/>text", XmlError::TrailingContent),
            ("<!DOCTYPE a><a/>", XmlError::DoctypeNotAllowed),
            ("<a>&nbsp;</a>", XmlError::UnknownEntity("nbsp".to_owned())),
            ("<a x='&foo;'/>", XmlError::UnknownEntity("foo".to_owned())),
            ("<a>&#1;</a>", XmlError::InvalidCharacter { code_point: 1 }),
            ("<a>\u{1}</a>", XmlError::InvalidCharacter { code_point: 1 }),
            ("<1a/>", XmlError::InvalidName("1a".to_owned())),
            ("<a:b/>", XmlError::UnboundPrefix("a".to_owned())),
            ("<a p:x='1'/>", XmlError::UnboundPrefix("p".to_owned())),
            ("<a xmlns:p=''/>", XmlError::UnboundPrefix("p".to_owned())),
            (
                "<a:b:c xmlns:a='u'/>",
                XmlError::InvalidName("a:b:c".to_owned()),
            ),
            ("<a xmlns:p='u'><b/></a><p:c/>", XmlError::TrailingContent),
            (
                "<?xml version=\"1.1\"?><a/>",
                XmlError::UnsupportedVersion("1.1".to_owned()),
            ),
            (
                "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><a/>",
                XmlError::UnsupportedEncoding("ISO-8859-1".to_owned()),
            ),
        ];
        for (input, expected) in cases {
            assert_eq!(
                parse(input.as_bytes(), LIMITS).as_ref(),
                Err(expected),
                "input {input:?}"
            );
        }
    }

    #[test]
    fn not_well_formed_inputs_are_refused() {
        for input in [
            "<a>",
            "<a></b>",
            "</a>",
            "<a x='1' x='2'/>",
            "<a x=1/>",
            "<a x='<'/>",
            "text<a/>",
            "<a>&amp</a>",
            "<a><!-- -- --></a>",
            "<a/><?xml version=\"1.0\"?>",
            "<![CDATA[x]]><a/>",
        ] {
            let result = parse(input.as_bytes(), LIMITS);
            assert!(
                matches!(result, Err(XmlError::NotWellFormed { .. })),
                "input {input:?} gave {result:?}"
            );
        }
    }

    #[test]
    fn limits_are_enforced() {
        let deep = format!("{}{}", "<a>".repeat(9), "</a>".repeat(9));
        assert_eq!(
            parse(deep.as_bytes(), LIMITS),
            Err(XmlError::TooDeep { limit: 8 })
        );
        let deep_empty = format!("{}<a/>{}", "<a>".repeat(8), "</a>".repeat(8));
        assert_eq!(
            parse(deep_empty.as_bytes(), LIMITS),
            Err(XmlError::TooDeep { limit: 8 })
        );
        let ok = format!("{}{}", "<a>".repeat(8), "</a>".repeat(8));
        assert!(parse(ok.as_bytes(), LIMITS).is_ok());
        let big = format!("<a>{}</a>", "x".repeat(4096));
        assert_eq!(
            parse(big.as_bytes(), LIMITS),
            Err(XmlError::TooLarge { limit: 4096 })
        );
        assert_eq!(parse(b"<a>\xff</a>", LIMITS), Err(XmlError::NotUtf8));
    }

    #[test]
    fn standalone_parts_carry_the_namespaces_they_use() {
        let tree = parse(
            b"<r xmlns:v='urn:v' xmlns:x='urn:x' xmlns='urn:d'><v:e a='1'/><p x:q='2'/><s/></r>",
            LIMITS,
        )
        .expect("parses");
        let parts: Vec<String> = tree
            .child_elements()
            .map(|child| canonical(&[&tree], child))
            .collect();
        assert_eq!(
            parts,
            [
                "<v:e a=\"1\" xmlns:v=\"urn:v\"/>",
                "<p x:q=\"2\" xmlns:x=\"urn:x\" xmlns=\"urn:d\"/>",
                "<s xmlns=\"urn:d\"/>",
            ]
        );
    }
}
