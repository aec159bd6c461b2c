//! Responses and their encoding into an output buffer: status line, `Date`, framing headers, body.

use bytes::{BufMut, Bytes, BytesMut};

use super::date::HttpDate;
use super::request::Version;

/// The interim response a shell writes when [`RequestParser::take_expect_continue`](super::RequestParser::take_expect_continue)
/// says the client is waiting for it.
pub const CONTINUE_RESPONSE: &[u8] = b"HTTP/1.1 100 Continue\r\n\r\n";

/// Headers the encoder writes itself; [`Response::with_header`] ignores them and
/// [`Response::try_with_header`] refuses them, so that a response's framing cannot contradict itself.
const MANAGED_HEADERS: [&str; 4] = ["content-length", "transfer-encoding", "connection", "date"];

/// An HTTP response to encode: a status, an optional `Content-Type`, extra headers and a body.
///
/// Header names and values are checked when added, so that nothing a handler puts in a header
/// (for example text from a request) can inject CR or LF into the response head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// Status code. Outside 100..=999 it is encoded as 500.
    pub status: u16,
    /// The body. Not written for `HEAD` requests or 1xx, 204 and 304 responses.
    pub body: Bytes,
    content_type: Option<Bytes>,
    headers: Vec<(Bytes, Bytes)>,
}

/// Why [`Response::try_with_header`] refused a header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvalidHeader {
    /// The name is empty or not an RFC 9110 token.
    Name,
    /// The value holds CR, LF, NUL or another control character other than HTAB.
    Value,
    /// `Content-Length`, `Transfer-Encoding`, `Connection` or `Date`, which the encoder writes itself.
    Managed,
}

impl std::fmt::Display for InvalidHeader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Name => "header name is not a token",
            Self::Value => "header value contains a control character",
            Self::Managed => "header is written by the encoder",
        })
    }
}

impl std::error::Error for InvalidHeader {}

impl Response {
    /// A response with this status and no body or content type.
    pub fn new(status: u16) -> Self {
        Self {
            status,
            body: Bytes::new(),
            content_type: None,
            headers: Vec::new(),
        }
    }

    /// Same as [`Response::new`]; reads better where the empty body is the point (204, 404).
    pub fn empty(status: u16) -> Self {
        Self::new(status)
    }

    /// A JSON body (`Content-Type: application/json`).
    pub fn json(status: u16, body: impl Into<Bytes>) -> Self {
        Self::new(status).with_body("application/json", body)
    }

    /// An XML body (`Content-Type: application/xml`); use [`Response::with_body`] for a specific
    /// XML media type such as `application/vnd.3gpp.bsf+xml`.
    pub fn xml(status: u16, body: impl Into<Bytes>) -> Self {
        Self::new(status).with_body("application/xml", body)
    }

    /// A plain-text body holding `reason` and a newline (`Content-Type: text/plain; charset=utf-8`),
    /// for error reports.
    pub fn text(status: u16, reason: &str) -> Self {
        let mut body = BytesMut::with_capacity(reason.len() + 1);
        body.put_slice(reason.as_bytes());
        body.put_u8(b'\n');
        Self::new(status).with_body("text/plain; charset=utf-8", body.freeze())
    }

    /// Sets the body and its media type. A `content_type` with control characters is dropped
    /// (the body is still set), like any invalid header value.
    pub fn with_body(mut self, content_type: &'static str, body: impl Into<Bytes>) -> Self {
        self.body = body.into();
        self.content_type = valid_value(content_type.as_bytes())
            .then(|| Bytes::from_static(content_type.as_bytes()));
        self
    }

    /// Adds a header, or replaces the content type when `name` is `Content-Type`.
    ///
    /// CR/LF injection policy: a value containing CR, LF, NUL or another control character (other
    /// than HTAB), a name that is not a token, and the headers the encoder writes itself
    /// (`Content-Length`, `Transfer-Encoding`, `Connection`, `Date`) are silently dropped. Use
    /// [`Response::try_with_header`] to learn about them instead.
    pub fn with_header(self, name: impl Into<Bytes>, value: impl Into<Bytes>) -> Self {
        let name = name.into();
        let value = value.into();
        match check_header(&name, &value) {
            Ok(()) => self.push_checked(name, value),
            Err(_) => self,
        }
    }

    /// Adds a header like [`Response::with_header`], but reports a header it would drop.
    pub fn try_with_header(
        self,
        name: impl Into<Bytes>,
        value: impl Into<Bytes>,
    ) -> Result<Self, InvalidHeader> {
        let name = name.into();
        let value = value.into();
        check_header(&name, &value)?;
        Ok(self.push_checked(name, value))
    }

    /// The `Content-Type` value, if any.
    pub fn content_type(&self) -> Option<&[u8]> {
        self.content_type.as_deref()
    }

    /// The extra headers, in the order added.
    pub fn headers(&self) -> impl Iterator<Item = (&[u8], &[u8])> {
        self.headers
            .iter()
            .map(|(name, value)| (name.as_ref(), value.as_ref()))
    }

    fn push_checked(mut self, name: Bytes, value: Bytes) -> Self {
        if name.eq_ignore_ascii_case(b"content-type") {
            self.content_type = Some(value);
        } else {
            self.headers.push((name, value));
        }
        self
    }
}

fn check_header(name: &[u8], value: &[u8]) -> Result<(), InvalidHeader> {
    if name.is_empty() || !name.iter().all(|&b| is_tchar(b)) {
        return Err(InvalidHeader::Name);
    }
    if MANAGED_HEADERS
        .iter()
        .any(|managed| name.eq_ignore_ascii_case(managed.as_bytes()))
    {
        return Err(InvalidHeader::Managed);
    }
    if !valid_value(value) {
        return Err(InvalidHeader::Value);
    }
    Ok(())
}

/// RFC 9110 §5.5 field-value bytes: no control characters except HTAB (so no CR, LF or NUL).
fn valid_value(value: &[u8]) -> bool {
    value
        .iter()
        .all(|&b| b == b'\t' || (b >= 0x20 && b != 0x7f))
}

/// RFC 9110 §5.6.2 `tchar`.
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// What the encoder needs to know about the request being answered; see
/// [`Request::reply_context`](super::Request::reply_context).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReplyContext {
    /// Keep the connection open after this response. When false, `Connection: close` is written
    /// and the shell closes the connection once the response is sent.
    pub keep_alive: bool,
    /// The request's version: an HTTP/1.0 client only keeps the connection open when the response
    /// says `Connection: keep-alive`, which the encoder then adds.
    pub version: Version,
    /// The request was `HEAD`: headers (including the `Content-Length` the body would have) are
    /// written, the body is not.
    pub head_request: bool,
}

impl ReplyContext {
    /// The context of an ordinary (non-`HEAD`) HTTP/1.1 request.
    pub fn http11(keep_alive: bool) -> Self {
        Self {
            keep_alive,
            version: Version::Http11,
            head_request: false,
        }
    }
}

/// Appends `resp` to `out` as the answer to a non-`HEAD` HTTP/1.1 request. Use [`encode_reply`] with
/// [`Request::reply_context`](super::Request::reply_context) to honour `HEAD` and HTTP/1.0 clients.
pub fn encode_response(resp: &Response, keep_alive: bool, date: &HttpDate, out: &mut BytesMut) {
    encode_reply(resp, ReplyContext::http11(keep_alive), date, out);
}

/// Appends `resp` to `out`: status line, `Date`, `Content-Type`, `Content-Length`, `Connection` as
/// needed, the extra headers, then the body (RFC 9112 §6.3 rules: none for `HEAD`, 1xx, 204, 304;
/// no `Content-Length` for 1xx and 204, nor for 304 whose representation length is unknown here).
pub fn encode_reply(resp: &Response, context: ReplyContext, date: &HttpDate, out: &mut BytesMut) {
    let status = wire_status(resp.status);
    let bodiless_status = (100..200).contains(&status) || status == 204 || status == 304;
    let write_body = !bodiless_status && !context.head_request;
    out.reserve(128 + header_bytes(resp) + if write_body { resp.body.len() } else { 0 });
    write_head_start(status, resp, context, date, out);
    if !bodiless_status {
        out.put_slice(b"Content-Length: ");
        put_decimal(out, resp.body.len());
        out.put_slice(b"\r\n");
    }
    write_extra_headers(resp, out);
    if write_body {
        out.put_slice(&resp.body);
    }
}

/// Appends the head of a streamed response with `Transfer-Encoding: chunked` (HTTP/1.1 clients
/// only; for HTTP/1.0 buffer the body and use [`encode_reply`]). Follow it with [`encode_chunk`] calls
/// and one [`encode_last_chunk`]. A non-empty `resp.body` is written as the first chunk. For a
/// status that cannot have a body (1xx, 204, 304) this writes an ordinary bodiless response instead,
/// and nothing may follow it.
pub fn encode_chunked_head(resp: &Response, keep_alive: bool, date: &HttpDate, out: &mut BytesMut) {
    let status = wire_status(resp.status);
    if (100..200).contains(&status) || status == 204 || status == 304 {
        encode_response(resp, keep_alive, date, out);
        return;
    }
    out.reserve(160 + header_bytes(resp));
    write_head_start(status, resp, ReplyContext::http11(keep_alive), date, out);
    out.put_slice(b"Transfer-Encoding: chunked\r\n");
    write_extra_headers(resp, out);
    encode_chunk(&resp.body, out);
}

/// Appends one chunk holding `data`. Empty `data` writes nothing, since an empty chunk would end the
/// body.
pub fn encode_chunk(data: &[u8], out: &mut BytesMut) {
    if data.is_empty() {
        return;
    }
    out.reserve(data.len() + 20);
    put_hex(out, data.len());
    out.put_slice(b"\r\n");
    out.put_slice(data);
    out.put_slice(b"\r\n");
}

/// Appends the last chunk and an empty trailer section, ending a chunked body.
pub fn encode_last_chunk(out: &mut BytesMut) {
    out.put_slice(b"0\r\n\r\n");
}

/// Writes `HTTP/1.1 100 Continue` (see [`CONTINUE_RESPONSE`]).
pub fn encode_continue(out: &mut BytesMut) {
    out.put_slice(CONTINUE_RESPONSE);
}

fn wire_status(status: u16) -> u16 {
    if (100..=999).contains(&status) {
        status
    } else {
        500
    }
}

fn header_bytes(resp: &Response) -> usize {
    resp.content_type
        .as_ref()
        .map_or(0, |value| value.len() + 16)
        + resp
            .headers
            .iter()
            .map(|(name, value)| name.len() + value.len() + 4)
            .sum::<usize>()
}

fn write_head_start(
    status: u16,
    resp: &Response,
    context: ReplyContext,
    date: &HttpDate,
    out: &mut BytesMut,
) {
    out.put_slice(b"HTTP/1.1 ");
    put_decimal(out, usize::from(status));
    out.put_u8(b' ');
    out.put_slice(reason_phrase(status).as_bytes());
    out.put_slice(b"\r\nDate: ");
    out.put_slice(date.as_bytes());
    out.put_slice(b"\r\n");
    if let Some(content_type) = &resp.content_type {
        out.put_slice(b"Content-Type: ");
        out.put_slice(content_type);
        out.put_slice(b"\r\n");
    }
    if !context.keep_alive {
        out.put_slice(b"Connection: close\r\n");
    } else if context.version == Version::Http10 {
        out.put_slice(b"Connection: keep-alive\r\n");
    }
}

fn write_extra_headers(resp: &Response, out: &mut BytesMut) {
    for (name, value) in &resp.headers {
        out.put_slice(name);
        out.put_slice(b": ");
        out.put_slice(value);
        out.put_slice(b"\r\n");
    }
    out.put_slice(b"\r\n");
}

fn put_decimal(out: &mut BytesMut, value: usize) {
    put_digits(out, value, 10);
}

fn put_hex(out: &mut BytesMut, value: usize) {
    put_digits(out, value, 16);
}

/// Writes `value` in `radix` (10 or 16, upper-case hex digits) without going through `fmt`.
fn put_digits(out: &mut BytesMut, mut value: usize, radix: usize) {
    const DIGITS: &[u8; 16] = b"0123456789ABCDEF";
    let mut text = [0u8; 20];
    let mut start = text.len();
    loop {
        start -= 1;
        text[start] = DIGITS[value % radix];
        value /= radix;
        if value == 0 {
            break;
        }
    }
    out.put_slice(&text[start..]);
}

/// The standard reason phrase for a status code (IANA HTTP status code registry), or `""` for codes
/// without one (a reason phrase is optional, RFC 9112 §4).
pub fn reason_phrase(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        101 => "Switching Protocols",
        103 => "Early Hints",
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        203 => "Non-Authoritative Information",
        204 => "No Content",
        205 => "Reset Content",
        206 => "Partial Content",
        207 => "Multi-Status",
        300 => "Multiple Choices",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        304 => "Not Modified",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        402 => "Payment Required",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        406 => "Not Acceptable",
        407 => "Proxy Authentication Required",
        408 => "Request Timeout",
        409 => "Conflict",
        410 => "Gone",
        411 => "Length Required",
        412 => "Precondition Failed",
        413 => "Content Too Large",
        414 => "URI Too Long",
        415 => "Unsupported Media Type",
        416 => "Range Not Satisfiable",
        417 => "Expectation Failed",
        421 => "Misdirected Request",
        422 => "Unprocessable Content",
        425 => "Too Early",
        426 => "Upgrade Required",
        428 => "Precondition Required",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        451 => "Unavailable For Legal Reasons",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        505 => "HTTP Version Not Supported",
        506 => "Variant Also Negotiates",
        507 => "Insufficient Storage",
        508 => "Loop Detected",
        511 => "Network Authentication Required",
        _ => "",
    }
}
