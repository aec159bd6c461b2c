//! The per-connection request parser: heads via `httparse`, bodies by `Content-Length` or chunked.

use std::mem::MaybeUninit;
use std::ops::Range;

use bytes::{Buf, Bytes, BytesMut};

use super::error::HttpError;
use super::request::{HeaderSpan, Method, Request, TargetPath, Version};

/// Size limits for requests; every quantity an outsider controls is bounded by one of these.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Longest request line, without its line ending (default 8 KiB). Longer → 414.
    /// When `max_head_bytes` is smaller, that bound applies to the request line too.
    pub max_request_line: usize,
    /// Largest head: request line, headers and the blank line (default 16 KiB). Larger → 431.
    /// The same bound applies separately to a chunked body's trailer section.
    pub max_head_bytes: usize,
    /// Most header fields (default 64, at most [`MAX_HEADERS_CAP`]). More → 431.
    /// The same bound applies to a chunked body's trailer fields.
    pub max_headers: usize,
    /// Largest body after chunked decoding (default 1 MiB). Larger → 413, decided from
    /// `Content-Length` before any body byte is read, or as soon as the chunks' total passes it.
    pub max_body_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_request_line: 8 * 1024,
            max_head_bytes: 16 * 1024,
            max_headers: 64,
            max_body_bytes: 1024 * 1024,
        }
    }
}

/// The highest usable [`Limits::max_headers`]: header slots live on the stack while parsing, so
/// larger settings are clamped to this.
pub const MAX_HEADERS_CAP: usize = 256;

/// Longest chunk-size line (size, extensions and CRLF) accepted in a chunked body.
const CHUNK_SIZE_LINE_LIMIT: usize = 1024;

/// Parses the requests of one connection from its input buffer.
///
/// Usage: append received bytes to a `BytesMut` and call [`RequestParser::parse`] until it returns
/// `Ok(None)`; each `Ok(Some(request))` is the next pipelined request, in order. Its head and body
/// are split off the buffer without copying (a chunked body is the exception: its data is gathered
/// into one buffer, unless it arrived as a single chunk).
///
/// - An incomplete head is left in the buffer untouched (only empty lines before a request are
///   dropped, RFC 9112 §2.2) and is re-examined on the next call; its size is bounded by the limits.
/// - Once a head is complete the parser takes it out of the buffer and keeps it, so a body that
///   arrives in pieces never causes the head to be parsed again. A `Content-Length` body waits in
///   the buffer until it is complete; chunked framing is consumed as it arrives.
/// - Feeding the bytes in any number of pieces gives the same requests and errors as feeding them
///   at once.
/// - After an error the connection's framing is lost: the parser keeps returning that error, and the
///   shell should send [`HttpError::to_response`] with keep-alive off and close the connection.
///
/// # `Expect: 100-continue`
///
/// After `parse` returns `Ok(None)`, call [`RequestParser::take_expect_continue`]: it returns `true`
/// once when an HTTP/1.1 head asking for `100-continue` has been accepted (limits and framing
/// checked, so a too-large body was already refused with 413) and no body byte has arrived yet. The
/// shell then writes [`CONTINUE_RESPONSE`](super::CONTINUE_RESPONSE) and keeps reading. A shell
/// that never calls it still works: clients send the body after a timeout.
#[derive(Debug)]
pub struct RequestParser {
    limits: Limits,
    request_line_limit: usize,
    pending: Option<PendingBody>,
    failure: Option<HttpError>,
    continue_pending: bool,
}

/// A request whose head is parsed and whose body is still arriving.
#[derive(Debug)]
struct PendingBody {
    request: Request,
    framing: BodyFraming,
}

#[derive(Debug)]
enum BodyFraming {
    /// Exactly this many bytes follow the head.
    Length(usize),
    /// `Transfer-Encoding: chunked`, decoded incrementally.
    Chunked(ChunkedDecoder),
}

impl RequestParser {
    /// A parser for a new connection. `limits.max_headers` is clamped to [`MAX_HEADERS_CAP`].
    pub fn new(limits: Limits) -> Self {
        let limits = Limits {
            max_headers: limits.max_headers.min(MAX_HEADERS_CAP),
            ..limits
        };
        // The request line is part of the head, so it can never be longer than the head allows.
        let request_line_limit = limits
            .max_request_line
            .min(limits.max_head_bytes.saturating_sub(2));
        Self {
            limits,
            request_line_limit,
            pending: None,
            failure: None,
            continue_pending: false,
        }
    }

    /// The limits in force (after clamping).
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Takes the next complete request off the front of `buf`.
    ///
    /// Returns `Ok(None)` when more bytes are needed, `Ok(Some(_))` after consuming exactly that
    /// request's bytes (later pipelined requests stay in `buf`), or the error to answer with.
    pub fn parse(&mut self, buf: &mut BytesMut) -> Result<Option<Request>, HttpError> {
        if let Some(failure) = &self.failure {
            return Err(failure.clone());
        }
        let outcome = self.advance(buf);
        if let Err(error) = &outcome {
            self.failure = Some(error.clone());
            self.pending = None;
            self.continue_pending = false;
        }
        outcome
    }

    /// Returns `true` once when the client is waiting for `HTTP/1.1 100 Continue` before sending the
    /// body of the request whose head was just accepted (see the type's documentation).
    pub fn take_expect_continue(&mut self) -> bool {
        std::mem::take(&mut self.continue_pending)
    }

    /// Whether a request head has been accepted and its body is still incomplete.
    pub fn awaiting_body(&self) -> bool {
        self.pending.is_some()
    }

    fn advance(&mut self, buf: &mut BytesMut) -> Result<Option<Request>, HttpError> {
        let mut pending = match self.pending.take() {
            Some(pending) => pending,
            None => {
                skip_empty_lines(buf);
                if buf.is_empty() {
                    // The common case after the last pipelined request: nothing to look at.
                    return Ok(None);
                }
                let Some(pending) = self.parse_head(buf)? else {
                    return Ok(None);
                };
                let body_expected = !matches!(pending.framing, BodyFraming::Length(0));
                self.continue_pending =
                    pending.request.expect_continue && body_expected && buf.is_empty();
                pending
            }
        };
        let body = match &mut pending.framing {
            BodyFraming::Length(0) => Some(Bytes::new()),
            BodyFraming::Length(length) if buf.len() >= *length => {
                Some(buf.split_to(*length).freeze())
            }
            BodyFraming::Length(_) => None,
            BodyFraming::Chunked(decoder) => decoder.decode(buf, &self.limits)?,
        };
        match body {
            Some(body) => {
                self.continue_pending = false;
                pending.request.body = body;
                Ok(Some(pending.request))
            }
            None => {
                self.pending = Some(pending);
                Ok(None)
            }
        }
    }

    /// Parses the head at the front of `buf` and, when it is complete and acceptable, splits it off.
    fn parse_head(&self, buf: &mut BytesMut) -> Result<Option<PendingBody>, HttpError> {
        // Decisions depend only on a bounded window so that they are the same however the bytes
        // were split: until the request line ends, httparse sees at most the request-line limit;
        // after that, at most the head limit.
        let line_window = buf.len().min(self.request_line_limit + 2);
        let line_end = buf
            .get(..line_window)
            .unwrap_or_default()
            .iter()
            .position(|&b| b == b'\n');
        let window_len = match line_end {
            Some(_) => buf.len().min(self.limits.max_head_bytes),
            None => line_window,
        };
        let window = buf.get(..window_len).unwrap_or_default();

        let mut slots = [MaybeUninit::<httparse::Header<'_>>::uninit(); MAX_HEADERS_CAP];
        let slots = slots.get_mut(..self.limits.max_headers).unwrap_or_default();
        let mut parsed = httparse::Request::new(&mut []);
        let head_len = match parsed.parse_with_uninit_headers(window, slots) {
            Err(error) => return Err(classify_head_error(error, window)),
            Ok(httparse::Status::Partial) => {
                return match line_end {
                    None if buf.len() >= self.request_line_limit + 2 => {
                        Err(HttpError::fixed(414, "request line too long"))
                    }
                    Some(_) if buf.len() >= self.limits.max_head_bytes => {
                        Err(HttpError::fixed(431, "request head too large"))
                    }
                    _ => Ok(None),
                };
            }
            Ok(httparse::Status::Complete(head_len)) => head_len,
        };

        let line_end = line_end.ok_or(HttpError::bad_request("malformed request line"))?;
        let line_len = if line_end > 0 && window.get(line_end - 1) == Some(&b'\r') {
            line_end - 1
        } else {
            line_end
        };
        if line_len > self.request_line_limit {
            return Err(HttpError::fixed(414, "request line too long"));
        }

        let version = match parsed.version {
            Some(0) => Version::Http10,
            Some(1) => Version::Http11,
            _ => return Err(HttpError::fixed(505, "HTTP version not supported")),
        };
        let method = Method::from_token(parsed.method.unwrap_or_default());
        let target_text = parsed.path.unwrap_or_default();
        let target_start = offset_within(window, target_text.as_bytes());
        let (path, query) = split_target(&method, target_text)?;
        let shift = |range: Range<usize>| range.start + target_start..range.end + target_start;
        let path = match path {
            TargetPath::Span(range) => TargetPath::Span(shift(range)),
            other => other,
        };
        let query = query.map(shift);
        let target = target_start..target_start + target_text.len();

        let fields = HeaderFacts::collect(parsed.headers, window)?;
        let framing = fields.framing(version, &self.limits)?;
        let expect_continue = fields.expect_continue(version)?;
        let keep_alive = match version {
            Version::Http11 => !fields.connection_close,
            Version::Http10 => fields.connection_keep_alive && !fields.connection_close,
        };

        let head = buf.split_to(head_len).freeze();
        let request = Request {
            method,
            version,
            body: Bytes::new(),
            keep_alive,
            expect_continue,
            head,
            target,
            path,
            query,
            headers: fields.spans,
        };
        Ok(Some(PendingBody { request, framing }))
    }
}

/// Drops empty lines before a request line (RFC 9112 §2.2: a server SHOULD ignore at least one).
fn skip_empty_lines(buf: &mut BytesMut) {
    loop {
        if buf.starts_with(b"\r\n") {
            buf.advance(2);
        } else if buf.starts_with(b"\n") {
            buf.advance(1);
        } else {
            return;
        }
    }
}

/// Byte offset of `part` inside `base`; `part` is always a sub-slice returned by httparse.
fn offset_within(base: &[u8], part: &[u8]) -> usize {
    (part.as_ptr() as usize).saturating_sub(base.as_ptr() as usize)
}

/// Turns an httparse error into a status and a reason naming what is wrong.
///
/// The classification only looks at bytes up to the point where httparse stops, so a request fed in
/// pieces gets the same answer as one fed at once.
fn classify_head_error(error: httparse::Error, window: &[u8]) -> HttpError {
    match error {
        httparse::Error::TooManyHeaders => HttpError::fixed(431, "too many header fields"),
        httparse::Error::HeaderName => HttpError::bad_request("invalid header field name"),
        httparse::Error::HeaderValue => HttpError::bad_request("invalid header field value"),
        httparse::Error::NewLine => HttpError::bad_request("malformed line ending in request head"),
        httparse::Error::Token => {
            let method_end = window.iter().position(|&b| b == b' ');
            let method = window
                .get(..method_end.unwrap_or(window.len()))
                .unwrap_or_default();
            if method_end.is_some() && !method.is_empty() && method.iter().all(|&b| is_tchar(b)) {
                HttpError::bad_request("invalid request target")
            } else {
                HttpError::bad_request("invalid method token")
            }
        }
        httparse::Error::Version => classify_version_error(window),
        httparse::Error::Status => HttpError::bad_request("malformed request line"),
    }
}

/// A version token that looks like `HTTP/<digit>` is a version we do not speak (505); anything
/// else is a malformed request line (400). Only the first six bytes decide: httparse may stop
/// as soon as it sees the sixth.
fn classify_version_error(window: &[u8]) -> HttpError {
    const H2_PREFACE_START: &[u8] = b"PRI * HTTP/2";
    if window.starts_with(H2_PREFACE_START) {
        return HttpError::fixed(
            505,
            "HTTP/2 connection preface received; only HTTP/1.0 and HTTP/1.1 are served",
        );
    }
    let mut spaces = window
        .iter()
        .enumerate()
        .filter(|&(_, &b)| b == b' ')
        .map(|(index, _)| index);
    let version = spaces
        .nth(1)
        .and_then(|second_space| window.get(second_space + 1..))
        .unwrap_or_default();
    match version.get(..6) {
        Some([b'H', b'T', b'T', b'P', b'/', digit]) if digit.is_ascii_digit() => HttpError::fixed(
            505,
            "HTTP version not supported; only HTTP/1.0 and HTTP/1.1 are served",
        ),
        _ => HttpError::bad_request("malformed HTTP version in request line"),
    }
}

/// RFC 9110 §5.6.2 `tchar`.
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// Splits a request-target into path and query ranges (relative to the target) after checking its
/// form (RFC 9112 §3.2).
fn split_target(
    method: &Method,
    target: &str,
) -> Result<(TargetPath, Option<Range<usize>>), HttpError> {
    if target.contains('#') {
        return Err(HttpError::bad_request("request target contains a fragment"));
    }
    if target == "*" {
        return if *method == Method::Options {
            Ok((TargetPath::Asterisk, None))
        } else {
            Err(HttpError::bad_request(
                "asterisk-form request target is only valid with OPTIONS",
            ))
        };
    }
    let (path_end, query) = match target.find('?') {
        Some(mark) => (mark, Some(mark + 1..target.len())),
        None => (target.len(), None),
    };
    if target.starts_with('/') {
        return Ok((TargetPath::Span(0..path_end), query));
    }
    let authority_start = ["http://", "https://"]
        .iter()
        .find(|scheme| {
            target
                .get(..scheme.len())
                .is_some_and(|prefix| prefix.eq_ignore_ascii_case(scheme))
        })
        .map(|scheme| scheme.len())
        .ok_or(HttpError::bad_request(
            "request target is not origin-form, absolute-form or *",
        ))?;
    let authority_end = target
        .get(authority_start..)
        .and_then(|rest| rest.find(['/', '?']))
        .map_or(target.len(), |offset| authority_start + offset);
    if authority_end == authority_start {
        return Err(HttpError::bad_request(
            "absolute-form request target without a host",
        ));
    }
    let path = if authority_end < path_end {
        TargetPath::Span(authority_end..path_end)
    } else {
        TargetPath::Root
    };
    Ok((path, query))
}

/// What the header fields say about framing and connection handling.
#[derive(Debug, Default)]
struct HeaderFacts {
    spans: Vec<HeaderSpan>,
    content_length: Option<u64>,
    transfer_encoding: bool,
    chunked_codings: usize,
    unsupported_coding: bool,
    connection_close: bool,
    connection_keep_alive: bool,
    expect_continue: bool,
    expect_other: bool,
    host_fields: usize,
}

impl HeaderFacts {
    fn collect(headers: &[httparse::Header<'_>], window: &[u8]) -> Result<Self, HttpError> {
        let mut facts = Self {
            spans: Vec::with_capacity(headers.len()),
            ..Self::default()
        };
        for header in headers {
            let name_start = offset_within(window, header.name.as_bytes());
            let value_start = offset_within(window, header.value);
            facts.spans.push(HeaderSpan {
                name: name_start..name_start + header.name.len(),
                value: value_start..value_start + header.value.len(),
            });
            let name = header.name;
            if name.eq_ignore_ascii_case("content-length") {
                facts.add_content_length(header.value)?;
            } else if name.eq_ignore_ascii_case("transfer-encoding") {
                facts.transfer_encoding = true;
                for coding in list_elements(header.value) {
                    if coding.eq_ignore_ascii_case(b"chunked") {
                        facts.chunked_codings += 1;
                    } else {
                        facts.unsupported_coding = true;
                    }
                }
            } else if name.eq_ignore_ascii_case("connection") {
                for option in list_elements(header.value) {
                    facts.connection_close |= option.eq_ignore_ascii_case(b"close");
                    facts.connection_keep_alive |= option.eq_ignore_ascii_case(b"keep-alive");
                }
            } else if name.eq_ignore_ascii_case("expect") {
                for expectation in list_elements(header.value) {
                    if expectation.eq_ignore_ascii_case(b"100-continue") {
                        facts.expect_continue = true;
                    } else {
                        facts.expect_other = true;
                    }
                }
            } else if name.eq_ignore_ascii_case("host") {
                facts.host_fields += 1;
            }
        }
        Ok(facts)
    }

    /// Accepts `Content-Length: 5`, repeated identical fields and the list form `5, 5`
    /// (RFC 9112 §6.3 item 5); anything else is invalid.
    fn add_content_length(&mut self, value: &[u8]) -> Result<(), HttpError> {
        let mut elements = list_elements(value).peekable();
        if elements.peek().is_none() {
            return Err(HttpError::bad_request("invalid Content-Length: empty"));
        }
        for element in elements {
            let length =
                parse_decimal(element).ok_or(HttpError::bad_request("invalid Content-Length"))?;
            if self
                .content_length
                .is_some_and(|previous| previous != length)
            {
                return Err(HttpError::bad_request("conflicting Content-Length values"));
            }
            self.content_length = Some(length);
        }
        Ok(())
    }

    /// Decides how the body is delimited (RFC 9112 §6), refusing ambiguous framing.
    fn framing(&self, version: Version, limits: &Limits) -> Result<BodyFraming, HttpError> {
        if self.host_fields > 1 {
            return Err(HttpError::bad_request("more than one Host header"));
        }
        if self.host_fields == 0 && version == Version::Http11 {
            return Err(HttpError::bad_request(
                "missing Host header in HTTP/1.1 request",
            ));
        }
        if self.transfer_encoding {
            if self.content_length.is_some() {
                return Err(HttpError::bad_request(
                    "both Content-Length and Transfer-Encoding present",
                ));
            }
            if version == Version::Http10 {
                return Err(HttpError::bad_request(
                    "Transfer-Encoding in an HTTP/1.0 request",
                ));
            }
            if self.unsupported_coding {
                return Err(HttpError::fixed(
                    501,
                    "unsupported transfer coding; only chunked is implemented",
                ));
            }
            return match self.chunked_codings {
                0 => Err(HttpError::bad_request("empty Transfer-Encoding")),
                1 => Ok(BodyFraming::Chunked(ChunkedDecoder::default())),
                _ => Err(HttpError::bad_request(
                    "chunked transfer coding applied more than once",
                )),
            };
        }
        match self.content_length {
            None => Ok(BodyFraming::Length(0)),
            Some(length) => match usize::try_from(length) {
                Ok(length) if length <= limits.max_body_bytes => Ok(BodyFraming::Length(length)),
                _ => Err(HttpError::fixed(413, "request body larger than the limit")),
            },
        }
    }

    /// Whether to offer `100 Continue`; expectations other than `100-continue` get 417
    /// (RFC 9110 §10.1.1). HTTP/1.0 expectations are ignored, as that section requires.
    fn expect_continue(&self, version: Version) -> Result<bool, HttpError> {
        if version == Version::Http10 {
            return Ok(false);
        }
        if self.expect_other {
            return Err(HttpError::fixed(
                417,
                "unsupported expectation; only 100-continue is understood",
            ));
        }
        Ok(self.expect_continue)
    }
}

/// The non-empty elements of a comma-separated field value, without surrounding whitespace.
fn list_elements(value: &[u8]) -> impl Iterator<Item = &[u8]> {
    value
        .split(|&b| b == b',')
        .map(<[u8]>::trim_ascii)
        .filter(|element| !element.is_empty())
}

/// `1*DIGIT` as a `u64`; `None` for anything else, including overflow and signs.
fn parse_decimal(digits: &[u8]) -> Option<u64> {
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(digits).ok()?.parse().ok()
}

/// Where a chunked body's decoding stands (RFC 9112 §7.1).
#[derive(Debug, Default)]
enum ChunkPhase {
    /// Expecting `chunk-size [ chunk-ext ] CRLF`.
    #[default]
    SizeLine,
    /// Inside chunk data, with this many bytes still to come.
    Data(u64),
    /// Expecting the CRLF that ends chunk data.
    DataEnd,
    /// After the last chunk: trailer fields up to an empty line.
    Trailers,
}

/// Incremental decoder of a chunked body; consumes framing from the buffer as it arrives.
#[derive(Debug, Default)]
struct ChunkedDecoder {
    phase: ChunkPhase,
    body: BytesMut,
}

impl ChunkedDecoder {
    /// Consumes as much of `buf` as belongs to the body; returns the body once the trailer section
    /// has ended.
    fn decode(&mut self, buf: &mut BytesMut, limits: &Limits) -> Result<Option<Bytes>, HttpError> {
        loop {
            match self.phase {
                ChunkPhase::SizeLine => {
                    let window = buf
                        .get(..buf.len().min(CHUNK_SIZE_LINE_LIMIT))
                        .unwrap_or_default();
                    let (line_len, size) = match httparse::parse_chunk_size(window) {
                        Err(httparse::InvalidChunkSize) => {
                            return Err(HttpError::bad_request("invalid chunk size line"));
                        }
                        Ok(httparse::Status::Partial) if buf.len() >= CHUNK_SIZE_LINE_LIMIT => {
                            return Err(HttpError::bad_request("chunk size line too long"));
                        }
                        Ok(httparse::Status::Partial) => return Ok(None),
                        Ok(httparse::Status::Complete(found)) => found,
                    };
                    check_chunk_size_line(window.get(..line_len).unwrap_or_default())?;
                    let total = u64::try_from(self.body.len())
                        .unwrap_or(u64::MAX)
                        .saturating_add(size);
                    if total > u64::try_from(limits.max_body_bytes).unwrap_or(u64::MAX) {
                        return Err(HttpError::fixed(413, "request body larger than the limit"));
                    }
                    buf.advance(line_len);
                    self.phase = if size == 0 {
                        ChunkPhase::Trailers
                    } else {
                        ChunkPhase::Data(size)
                    };
                }
                ChunkPhase::Data(remaining) => {
                    if buf.is_empty() {
                        return Ok(None);
                    }
                    let available =
                        usize::try_from(remaining).map_or(buf.len(), |r| r.min(buf.len()));
                    if self.body.is_empty() && u64::try_from(available) == Ok(remaining) {
                        // A whole chunk into an empty body: take it without copying.
                        self.body = buf.split_to(available);
                    } else {
                        self.body
                            .extend_from_slice(buf.get(..available).unwrap_or_default());
                        buf.advance(available);
                    }
                    let remaining =
                        remaining.saturating_sub(u64::try_from(available).unwrap_or(u64::MAX));
                    if remaining > 0 {
                        self.phase = ChunkPhase::Data(remaining);
                        return Ok(None);
                    }
                    self.phase = ChunkPhase::DataEnd;
                }
                ChunkPhase::DataEnd => match buf.get(..2) {
                    Some(b"\r\n") => {
                        buf.advance(2);
                        self.phase = ChunkPhase::SizeLine;
                    }
                    None if buf.first().is_none_or(|&b| b == b'\r') => return Ok(None),
                    _ => return Err(HttpError::bad_request("chunk data not followed by CRLF")),
                },
                ChunkPhase::Trailers => {
                    let window = buf
                        .get(..buf.len().min(limits.max_head_bytes))
                        .unwrap_or_default();
                    let mut slots = [httparse::EMPTY_HEADER; MAX_HEADERS_CAP];
                    let slots = slots.get_mut(..limits.max_headers).unwrap_or_default();
                    match httparse::parse_headers(window, slots) {
                        Err(httparse::Error::TooManyHeaders) => {
                            return Err(HttpError::fixed(431, "too many trailer fields"));
                        }
                        Err(_) => return Err(HttpError::bad_request("invalid trailer section")),
                        Ok(httparse::Status::Partial) if buf.len() >= limits.max_head_bytes => {
                            return Err(HttpError::fixed(431, "trailer section too large"));
                        }
                        Ok(httparse::Status::Partial) => return Ok(None),
                        Ok(httparse::Status::Complete((trailer_len, _))) => {
                            buf.advance(trailer_len);
                            self.phase = ChunkPhase::SizeLine;
                            return Ok(Some(std::mem::take(&mut self.body).freeze()));
                        }
                    }
                }
            }
        }
    }
}

/// httparse accepts an empty size and lets a bare LF hide inside an extension; both open the door to
/// request smuggling through lenient front ends, so the line must start with a hex digit and hold no
/// control characters other than HTAB before its CRLF.
fn check_chunk_size_line(line: &[u8]) -> Result<(), HttpError> {
    if !line.first().is_some_and(u8::is_ascii_hexdigit) {
        return Err(HttpError::bad_request("chunk size missing"));
    }
    let content = line.strip_suffix(b"\r\n").unwrap_or(line);
    if content
        .iter()
        .any(|&b| (b < 0x20 && b != b'\t') || b == 0x7f)
    {
        return Err(HttpError::bad_request(
            "control character in chunk extension",
        ));
    }
    Ok(())
}
