//! Checking a received message against the dictionary, and answering the ones that fail, following
//! RFC 6733 §7 (error handling) and §7.5 (Failed-AVP).

use std::fmt;

use bytes::{BufMut, Bytes, BytesMut};

use super::avp::{Avp, AvpError, AvpErrorKind, AvpHeader, AvpKey, MAX_GROUP_DEPTH, padded_len};
use super::avp::{partial_header, read_avp};
use super::builder::MessageBuilder;
use super::dict::{self, DataType, ERROR_ANSWER, Grammar, avp, result};
use super::message::{CommandFlags, Message};

/// Why a message is refused: the Result-Code to answer with, the content of the Failed-AVP AVP
/// (encoded AVPs: the offending one, wrapped in the Grouped AVPs that enclose it) and a reason for
/// the Error-Message AVP and for logs.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Rejection {
    /// Result-Code (3xxx protocol errors are answered with the 'E' bit).
    pub result_code: u32,
    /// Encoded AVP(s) to carry inside Failed-AVP.
    pub failed_avp: Option<Bytes>,
    /// Human-readable reason.
    pub error_message: String,
}

impl Rejection {
    /// A rejection without Failed-AVP.
    pub fn new(result_code: u32, error_message: impl Into<String>) -> Self {
        Self {
            result_code,
            failed_avp: None,
            error_message: error_message.into(),
        }
    }

    /// Whether the Result-Code is a protocol error (3xxx), answered with the 'E' bit set.
    pub const fn is_protocol_error(&self) -> bool {
        self.result_code >= 3000 && self.result_code < 4000
    }

    /// The AVPs inside Failed-AVP, if any.
    pub fn failed_avps(&self) -> Option<Result<super::avp::AvpList, AvpError>> {
        self.failed_avp
            .clone()
            .map(|bytes| super::avp::AvpList::with_depth(bytes, 1))
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Result-Code {}: {}",
            self.result_code, self.error_message
        )
    }
}

impl std::error::Error for Rejection {}

/// Checks a received message against the dictionary and reports the first problem found, in the
/// order RFC 6733 suggests (Failed-AVP names the first AVP that could not be processed):
///
/// - Message Length not a multiple of 4: 5015 `DIAMETER_INVALID_MESSAGE_LENGTH`.
/// - Requests only: an Application-ID that is neither 0 nor in `applications`: 3007
///   `DIAMETER_APPLICATION_UNSUPPORTED`; a command the dictionary does not define for it: 3001
///   `DIAMETER_COMMAND_UNSUPPORTED`; the 'E' bit set, or a 'P' bit that contradicts the command's
///   definition: 3008 `DIAMETER_INVALID_HDR_BITS`. Answers with the 'T' bit: 3008.
/// - AVP framing broken (length shorter than the header or running past the enclosing message or
///   Grouped AVP): 5014 `DIAMETER_INVALID_AVP_LENGTH`, with Failed-AVP holding the offending header
///   and a zero-filled payload of the minimum length for its type.
/// - An AVP the dictionary does not know, with the 'M' bit: 5001 `DIAMETER_AVP_UNSUPPORTED`
///   (without the 'M' bit it is ignored, and not descended into).
/// - A fixed-size type with the wrong data length (or an Address shorter than its family): 5014;
///   invalid UTF-8, DiameterIdentity or Address, or an undefined Enumerated value in an AVP with
///   the 'M' bit: 5004 `DIAMETER_INVALID_AVP_VALUE`. A Grouped AVP nested deeper than
///   [`MAX_GROUP_DEPTH`]: 5004.
/// - Against the command's grammar (or a Grouped AVP's): an AVP occurring more often than allowed:
///   5009 `DIAMETER_AVP_OCCURS_TOO_MANY_TIMES`; an unlisted AVP where the grammar has no
///   `*[ AVP ]`: 5008 `DIAMETER_AVP_NOT_ALLOWED`; a required AVP missing: 5005
///   `DIAMETER_MISSING_AVP` with a zero-filled example in Failed-AVP. Answers with the 'E' bit are
///   checked against the error-answer grammar of RFC 6733 §7.2.
///
/// Errors inside Grouped AVPs are reported with Failed-AVP holding the enclosing Grouped AVPs
/// around the single offending AVP (RFC 6733 §7.5). The 'M' bit of a known AVP is not held against
/// the dictionary's rule: it asks the receiver to understand the AVP, which it does. Positions of
/// fixed AVPs (`< Session-Id >`) are not enforced.
pub fn validate(message: &Message, applications: &[u32]) -> Result<(), Rejection> {
    let header = message.header();
    if !header.length.is_multiple_of(4) {
        return Err(Rejection::new(
            result::INVALID_MESSAGE_LENGTH,
            format!("Message Length {} is not a multiple of 4", header.length),
        ));
    }
    let command = dict::command(header.application_id, header.command_code);
    if header.is_request() {
        let app = header.application_id;
        if app != dict::app::BASE && !applications.contains(&app) {
            return Err(Rejection::new(
                result::APPLICATION_UNSUPPORTED,
                format!("application {app} is not supported"),
            ));
        }
        let Some(definition) = command else {
            return Err(Rejection::new(
                result::COMMAND_UNSUPPORTED,
                format!(
                    "command {} of application {app} is not supported",
                    header.command_code
                ),
            ));
        };
        if header.is_error() {
            return Err(Rejection::new(
                result::INVALID_HDR_BITS,
                "request has the E bit set",
            ));
        }
        if header.is_proxiable() != definition.proxiable {
            return Err(Rejection::new(
                result::INVALID_HDR_BITS,
                format!(
                    "P bit {} in {}-Request",
                    if header.is_proxiable() {
                        "set"
                    } else {
                        "clear"
                    },
                    definition.name
                ),
            ));
        }
    } else if header.flags.contains(CommandFlags::RETRANSMITTED) {
        return Err(Rejection::new(
            result::INVALID_HDR_BITS,
            "answer has the T bit set",
        ));
    }
    let grammar = if !header.is_request() && header.is_error() {
        Some(&ERROR_ANSWER)
    } else {
        command.map(|definition| {
            if header.is_request() {
                &definition.request
            } else {
                &definition.answer
            }
        })
    };
    let mut path = Vec::new();
    check_level(&message.avp_bytes(), 0, grammar, &mut path)
}

/// Checks one run of AVPs (a message body or a Grouped AVP's data) at nesting `depth`; `path`
/// holds the headers of the enclosing Grouped AVPs.
fn check_level(
    data: &Bytes,
    depth: u8,
    grammar: Option<&Grammar>,
    path: &mut Vec<AvpHeader>,
) -> Result<(), Rejection> {
    let grammar = grammar.filter(|grammar| grammar.checked);
    let mut counts = vec![0u32; grammar.map_or(0, |grammar| grammar.rules.len())];
    let mut offset = 0;
    loop {
        let avp = match read_avp(data, offset, depth) {
            Ok(Some((avp, next))) => {
                offset = next;
                avp
            }
            Ok(None) => break,
            Err(error) => return Err(framing_rejection(data, error, path)),
        };
        check_avp(&avp, path)?;
        let Some(grammar) = grammar else {
            continue;
        };
        match grammar.rules.iter().position(|rule| rule.key == avp.key()) {
            Some(index) => {
                if let (Some(count), Some(rule)) = (counts.get_mut(index), grammar.rules.get(index))
                {
                    *count = count.saturating_add(1);
                    if *count > rule.max {
                        return Err(offending(
                            result::AVP_OCCURS_TOO_MANY_TIMES,
                            format!("{} occurs more than {} times", label(avp.key()), rule.max),
                            path,
                            &avp,
                        ));
                    }
                }
            }
            None if !grammar.open => {
                return Err(offending(
                    result::AVP_NOT_ALLOWED,
                    format!("{} is not allowed here", label(avp.key())),
                    path,
                    &avp,
                ));
            }
            None => {}
        }
    }
    if let Some(grammar) = grammar {
        for (rule, count) in grammar.rules.iter().zip(&counts) {
            if *count < rule.min {
                let min_len = dict::avp_def(rule.key).map_or(0, |def| def.data_type.min_len());
                let example = encode_avp(AvpHeader::from(rule.key), &vec![0; min_len]);
                return Err(Rejection {
                    result_code: result::MISSING_AVP,
                    failed_avp: Some(wrap(path, &example)),
                    error_message: format!("{} is missing", label(rule.key)),
                });
            }
        }
    }
    Ok(())
}

/// Checks one AVP's value against its dictionary entry, descending into Grouped AVPs.
fn check_avp(avp: &Avp, path: &mut Vec<AvpHeader>) -> Result<(), Rejection> {
    let Some(def) = dict::avp_def(avp.key()) else {
        if avp.is_mandatory() {
            return Err(offending(
                result::AVP_UNSUPPORTED,
                format!("{} has the M bit but is not supported", label(avp.key())),
                path,
                avp,
            ));
        }
        return Ok(());
    };
    let value_error = match def.data_type {
        DataType::Utf8String | DataType::DiameterUri => avp.as_utf8().err(),
        DataType::DiameterIdentity => avp.as_identity().err(),
        DataType::Address => avp.as_address().err(),
        DataType::Enumerated => match avp.as_enumerated() {
            Ok(value)
                if avp.is_mandatory() && !def.values.is_empty() && !def.values.contains(&value) =>
            {
                Some(super::avp::ValueError::UnknownEnumValue(value))
            }
            Ok(_) => None,
            Err(error) => Some(error),
        },
        DataType::Grouped => None,
        other => match other.fixed_len() {
            Some(len) if len != avp.data.len() => Some(super::avp::ValueError::Length {
                expected: len,
                actual: avp.data.len(),
            }),
            _ => None,
        },
    };
    if let Some(error) = value_error {
        return Err(offending(
            error.result_code(),
            format!("{}: {error}", def.name),
            path,
            avp,
        ));
    }
    if let Some(grammar) = def.grammar.filter(|grammar| grammar.checked) {
        if avp.depth() >= MAX_GROUP_DEPTH {
            return Err(offending(
                result::INVALID_AVP_VALUE,
                format!("{} nests deeper than {MAX_GROUP_DEPTH} levels", def.name),
                path,
                avp,
            ));
        }
        path.push(avp.header());
        let outcome = check_level(&avp.data, avp.depth() + 1, Some(grammar), path);
        path.pop();
        outcome?;
    }
    Ok(())
}

/// A rejection whose Failed-AVP holds a copy of `avp` inside its enclosing Grouped AVPs.
fn offending(result_code: u32, message: String, path: &[AvpHeader], avp: &Avp) -> Rejection {
    Rejection {
        result_code,
        failed_avp: Some(wrap(path, &encode_avp(avp.header(), &avp.data))),
        error_message: message,
    }
}

/// 5014 for an AVP whose framing is broken (RFC 6733 §7.5): its header with a zero-filled payload
/// of the minimum length for its type, and a length field that matches; a truncated header is
/// zero-filled to its full size and sent without payload.
fn framing_rejection(data: &Bytes, error: AvpError, path: &[AvpHeader]) -> Rejection {
    let header = partial_header(data, error.offset);
    // A header that is itself cut short is reported alone, zero-filled to its full size.
    let min_len = match error.kind {
        AvpErrorKind::TruncatedHeader { .. } | AvpErrorKind::DepthLimit => 0,
        _ => dict::avp_def(header.key()).map_or(0, |def| def.data_type.min_len()),
    };
    Rejection {
        result_code: result::INVALID_AVP_LENGTH,
        failed_avp: Some(wrap(path, &encode_avp(header, &vec![0; min_len]))),
        error_message: error.to_string(),
    }
}

/// Encodes one AVP with padding.
fn encode_avp(header: AvpHeader, data: &[u8]) -> Bytes {
    let length = header.header_len() + data.len();
    let mut out = BytesMut::with_capacity(padded_len(length));
    put_header(&mut out, header, length);
    out.put_slice(data);
    out.put_bytes(0, padded_len(length) - length);
    out.freeze()
}

fn put_header(out: &mut BytesMut, header: AvpHeader, length: usize) {
    out.put_u32(header.code);
    out.put_u32(u32::from(header.wire_flags().bits()) << 24 | (length as u32 & 0x00FF_FFFF));
    if let Some(vendor_id) = header.vendor_id {
        out.put_u32(vendor_id);
    }
}

/// Wraps an encoded AVP in the Grouped AVPs of `path` (outermost first), in one allocation.
fn wrap(path: &[AvpHeader], inner: &Bytes) -> Bytes {
    if path.is_empty() {
        return inner.clone();
    }
    // Length of each level, innermost last: a group holds its header and the padded level below.
    let mut lengths = vec![0usize; path.len()];
    let mut below = inner.len();
    for (slot, header) in lengths.iter_mut().zip(path).rev() {
        *slot = header.header_len() + below;
        below = padded_len(*slot);
    }
    let mut out = BytesMut::with_capacity(below);
    for (header, length) in path.iter().zip(&lengths) {
        put_header(&mut out, *header, *length);
    }
    out.put_slice(inner);
    out.freeze()
}

fn label(key: AvpKey) -> String {
    match dict::avp_name(key) {
        Some(name) => format!("{name} ({key})"),
        None => format!("AVP {key}"),
    }
}

/// The AVPs of `message` that can be read before any framing error.
fn readable_avps(message: &Message) -> impl Iterator<Item = Avp> {
    let data = message.avp_bytes();
    let mut offset = 0;
    std::iter::from_fn(move || {
        let (avp, next) = read_avp(&data, offset, 0).ok()??;
        offset = next;
        Some(avp)
    })
}

/// Starts the answer to a request that is refused (RFC 6733 §6.2, §7.2): the request's identifiers
/// and 'P' bit, the 'E' bit for protocol errors (3xxx), its Session-Id, then Origin-Host,
/// Origin-Realm, Result-Code, Error-Message (if any), Failed-AVP (if any) and copies of its
/// Proxy-Info AVPs in order. The builder is returned so that application-specific AVPs (such as
/// Vendor-Specific-Application-Id and Auth-Session-State for Cx) can be added before finishing.
pub fn error_answer(
    request: &Message,
    rejection: &Rejection,
    origin_host: &str,
    origin_realm: &str,
) -> MessageBuilder {
    let mut builder = MessageBuilder::answer_to(request);
    if rejection.is_protocol_error() {
        builder = builder.set_flag_e();
    }
    if let Some(session_id) = readable_avps(request).find(|a| a.is(avp::SESSION_ID)) {
        builder = builder.avp_bytes(avp::SESSION_ID, &session_id.data);
    }
    builder = builder
        .avp_str(avp::ORIGIN_HOST, origin_host)
        .avp_str(avp::ORIGIN_REALM, origin_realm)
        .avp_u32(avp::RESULT_CODE, rejection.result_code);
    if !rejection.error_message.is_empty() {
        builder = builder.avp_str(avp::ERROR_MESSAGE, &rejection.error_message);
    }
    if let Some(failed) = &rejection.failed_avp {
        builder = builder.avp_bytes(avp::FAILED_AVP, failed);
    }
    for proxy_info in readable_avps(request).filter(|a| a.is(avp::PROXY_INFO)) {
        builder = builder.avp_copy(&proxy_info);
    }
    builder
}
