//! The HTTP/1.1 client side: targets, request encoding into a reused buffer and incremental
//! response parsing (httparse for the head; Content-Length, chunked and close-delimited bodies).

use std::fmt::Write as _;
use std::net::{SocketAddr, ToSocketAddrs};

/// Where requests go: `http://host[:port][/prefix]`.
#[derive(Clone, Debug)]
pub struct Target {
    /// The resolved address.
    pub addr: SocketAddr,
    /// The `Host` header value (`host[:port]` as written in the URL).
    pub host: String,
    /// A path prefix without its trailing `/` (empty for none).
    pub prefix: String,
    /// The path and query of the URL as written (`/` when absent).
    pub path: String,
}

impl Target {
    /// Parses `http://host[:port][/path]` (the `http://` is optional). HTTPS is not supported.
    pub fn parse(url: &str) -> Result<Target, String> {
        let rest = if let Some(r) = url.strip_prefix("http://") {
            r
        } else if url.starts_with("https://") {
            return Err(format!("{url}: https is not supported"));
        } else if url.contains("://") {
            return Err(format!("{url}: only http:// URLs are supported"));
        } else {
            url
        };
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        if authority.is_empty() {
            return Err(format!("{url}: no host"));
        }
        let with_port = if authority.starts_with('[') {
            if authority.contains("]:") {
                authority.to_string()
            } else {
                format!("{authority}:80")
            }
        } else if authority.contains(':') {
            authority.to_string()
        } else {
            format!("{authority}:80")
        };
        let addr = with_port
            .to_socket_addrs()
            .map_err(|e| format!("{url}: cannot resolve {with_port}: {e}"))?
            .next()
            .ok_or_else(|| format!("{url}: {with_port} resolves to nothing"))?;
        let prefix = path.split('?').next().unwrap_or("").trim_end_matches('/');
        Ok(Target {
            addr,
            host: authority.to_string(),
            prefix: prefix.to_string(),
            path: path.to_string(),
        })
    }
}

/// Everything but RFC 3986 unreserved characters is encoded in path segments and query values.
const ENCODED: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Appends `s` percent-encoded (everything but unreserved characters).
pub fn push_encoded(out: &mut Vec<u8>, s: &str) {
    for piece in percent_encoding::utf8_percent_encode(s, ENCODED) {
        out.extend_from_slice(piece.as_bytes());
    }
}

/// Appends the decimal form of `n`.
pub fn push_u64(out: &mut Vec<u8>, n: u64) {
    let mut tmp = [0u8; 20];
    let mut i = tmp.len();
    let mut n = n;
    loop {
        i -= 1;
        tmp[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&tmp[i..]);
}

/// Writes one request into the connection's output buffer.
///
/// Either [`RequestWriter::raw`] with pre-encoded bytes, or `begin` + `push`/`push_enc` (path and
/// query) + `end` (headers and body).
pub struct RequestWriter<'a> {
    out: &'a mut Vec<u8>,
    host: &'a str,
    prefix: &'a str,
    extra_headers: &'a [u8],
    head: bool,
}

impl<'a> RequestWriter<'a> {
    /// A writer appending to `out`.
    pub fn new(
        out: &'a mut Vec<u8>,
        host: &'a str,
        prefix: &'a str,
        extra_headers: &'a [u8],
    ) -> RequestWriter<'a> {
        RequestWriter {
            out,
            host,
            prefix,
            extra_headers,
            head: false,
        }
    }

    /// Appends a complete pre-encoded request; `head` tells whether it is a HEAD request (its
    /// answer has no body).
    pub fn raw(&mut self, bytes: &[u8], head: bool) {
        self.out.extend_from_slice(bytes);
        self.head = head;
    }

    /// Starts a request: `METHOD <prefix>`; the path follows with `push`/`push_enc`.
    pub fn begin(&mut self, method: &str) {
        self.head = method == "HEAD";
        self.out.extend_from_slice(method.as_bytes());
        self.out.push(b' ');
        self.out.extend_from_slice(self.prefix.as_bytes());
    }

    /// Appends path or query text as is.
    pub fn push(&mut self, s: &str) {
        self.out.extend_from_slice(s.as_bytes());
    }

    /// Appends path or query text percent-encoded.
    pub fn push_enc(&mut self, s: &str) {
        push_encoded(self.out, s);
    }

    /// The output buffer, to append path text directly (already encoded).
    pub fn buf(&mut self) -> &mut Vec<u8> {
        self.out
    }

    /// Ends the request line, writes the headers and the body (`Content-Length` is written when a
    /// body or a content type is given).
    pub fn end(&mut self, content_type: Option<&str>, body: &[u8]) {
        self.out.extend_from_slice(b" HTTP/1.1\r\nHost: ");
        self.out.extend_from_slice(self.host.as_bytes());
        self.out.extend_from_slice(b"\r\n");
        self.out.extend_from_slice(self.extra_headers);
        if let Some(ct) = content_type {
            self.out.extend_from_slice(b"Content-Type: ");
            self.out.extend_from_slice(ct.as_bytes());
            self.out.extend_from_slice(b"\r\n");
        }
        if content_type.is_some() || !body.is_empty() {
            self.out.extend_from_slice(b"Content-Length: ");
            push_u64(self.out, body.len() as u64);
            self.out.extend_from_slice(b"\r\n");
        }
        self.out.extend_from_slice(b"\r\n");
        self.out.extend_from_slice(body);
    }

    /// Whether the request written is a HEAD request.
    pub fn is_head(&self) -> bool {
        self.head
    }
}

/// Encodes a whole request once (for scenarios that repeat the same request).
pub fn encode_request(
    method: &str,
    path: &str,
    host: &str,
    headers: &[(String, String)],
    body: &[u8],
) -> Vec<u8> {
    let mut s = String::new();
    let _ = write!(s, "{method} {path} HTTP/1.1\r\n");
    if !headers.iter().any(|(n, _)| n.eq_ignore_ascii_case("host")) {
        let _ = write!(s, "Host: {host}\r\n");
    }
    for (n, v) in headers {
        let _ = write!(s, "{n}: {v}\r\n");
    }
    if !body.is_empty()
        && !headers
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case("content-length"))
    {
        let _ = write!(s, "Content-Length: {}\r\n", body.len());
    }
    s.push_str("\r\n");
    let mut v = s.into_bytes();
    v.extend_from_slice(body);
    v
}

/// A complete response found at the front of the read buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Parsed {
    /// Status code.
    pub status: u16,
    /// Length of the head (status line and headers, with the blank line).
    pub head_len: usize,
    /// Where the body is within the response bytes.
    pub body: BodySpan,
    /// Total bytes of the response (head and body).
    pub total: usize,
    /// The server will close the connection after this response.
    pub close: bool,
}

/// The body of a parsed response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodySpan {
    /// `head_len .. head_len + n`.
    Plain(usize),
    /// Chunked: decode from `head_len` with [`dechunk`].
    Chunked,
}

/// Why a response could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError(pub String);

const MAX_HEADERS: usize = 64;

fn chunked_end(buf: &[u8], mut pos: usize) -> Result<Option<usize>, ParseError> {
    loop {
        let (consumed, size) = match httparse::parse_chunk_size(&buf[pos..]) {
            Ok(httparse::Status::Complete(x)) => x,
            Ok(httparse::Status::Partial) => return Ok(None),
            Err(_) => return Err(ParseError("invalid chunk size".into())),
        };
        pos += consumed;
        if size == 0 {
            // Trailer section: header lines until an empty line.
            loop {
                let Some(nl) = buf[pos..].windows(2).position(|w| w == b"\r\n") else {
                    return Ok(None);
                };
                pos += nl + 2;
                if nl == 0 {
                    return Ok(Some(pos));
                }
            }
        }
        let size = usize::try_from(size).map_err(|_| ParseError("chunk too large".into()))?;
        let end = pos
            .checked_add(size)
            .and_then(|e| e.checked_add(2))
            .ok_or_else(|| ParseError("chunk too large".into()))?;
        if buf.len() < end {
            return Ok(None);
        }
        if &buf[end - 2..end] != b"\r\n" {
            return Err(ParseError("chunk not followed by CRLF".into()));
        }
        pos = end;
    }
}

/// Decodes a chunked body that [`parse_response`] found complete (starting at the first chunk).
pub fn dechunk(buf: &[u8], out: &mut Vec<u8>) {
    let mut pos = 0;
    while let Ok(httparse::Status::Complete((consumed, size))) =
        httparse::parse_chunk_size(&buf[pos..])
    {
        pos += consumed;
        let size = size as usize;
        if size == 0 || pos + size > buf.len() {
            return;
        }
        out.extend_from_slice(&buf[pos..pos + size]);
        pos += size + 2;
    }
}

/// Looks for one complete response at the front of `buf`. `head_request` says the request was
/// HEAD (no body whatever the headers say); `eof` says the peer has closed, which completes a
/// close-delimited body.
pub fn parse_response(
    buf: &[u8],
    head_request: bool,
    eof: bool,
) -> Result<Option<Parsed>, ParseError> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut resp = httparse::Response::new(&mut headers);
    let head_len = match resp.parse(buf) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(e) => return Err(ParseError(format!("bad response head: {e}"))),
    };
    let status = resp.code.unwrap_or(0);
    let http10 = resp.version == Some(0);
    let mut content_length: Option<usize> = None;
    let mut chunked = false;
    let mut close = http10;
    for h in resp.headers.iter() {
        if h.name.eq_ignore_ascii_case("content-length") {
            let v = std::str::from_utf8(h.value)
                .ok()
                .and_then(|s| s.trim().parse::<usize>().ok())
                .ok_or_else(|| ParseError("bad Content-Length".into()))?;
            content_length = Some(v);
        } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
            chunked = h
                .value
                .split(|&b| b == b',')
                .next_back()
                .is_some_and(|v| v.trim_ascii().eq_ignore_ascii_case(b"chunked"));
        } else if h.name.eq_ignore_ascii_case("connection") {
            for token in h.value.split(|&b| b == b',') {
                let t = token.trim_ascii();
                if t.eq_ignore_ascii_case(b"close") {
                    close = true;
                } else if t.eq_ignore_ascii_case(b"keep-alive") && http10 {
                    close = false;
                }
            }
        }
    }
    let no_body = head_request || (100..200).contains(&status) || status == 204 || status == 304;
    if no_body {
        return Ok(Some(Parsed {
            status,
            head_len,
            body: BodySpan::Plain(0),
            total: head_len,
            close,
        }));
    }
    if chunked {
        return Ok(chunked_end(buf, head_len)?.map(|end| Parsed {
            status,
            head_len,
            body: BodySpan::Chunked,
            total: end,
            close,
        }));
    }
    match content_length {
        Some(n) => {
            let total = head_len
                .checked_add(n)
                .ok_or_else(|| ParseError("Content-Length too large".into()))?;
            Ok((buf.len() >= total).then_some(Parsed {
                status,
                head_len,
                body: BodySpan::Plain(n),
                total,
                close,
            }))
        }
        // No length: the body runs to the end of the connection.
        None => Ok(eof.then(|| Parsed {
            status,
            head_len,
            body: BodySpan::Plain(buf.len() - head_len),
            total: buf.len(),
            close: true,
        })),
    }
}

/// A response as scenarios see it.
pub struct Response<'a> {
    /// Status code.
    pub status: u16,
    /// The head bytes (status line and headers).
    pub head: &'a [u8],
    /// The body (decoded if it was chunked).
    pub body: &'a [u8],
}

impl Response<'_> {
    /// The first header named `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&[u8]> {
        let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let mut resp = httparse::Response::new(&mut headers);
        resp.parse(self.head).ok()?;
        let head: &[u8] = self.head;
        resp.headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .map(|h| {
                // Re-slice from `head` so the lifetime is that of the response, not the array.
                let start = h.value.as_ptr() as usize - head.as_ptr() as usize;
                &head[start..start + h.value.len()]
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_content_length_and_pipelined() {
        let buf = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n";
        let p = parse_response(buf, false, false).unwrap().unwrap();
        assert_eq!(p.status, 200);
        assert_eq!(p.body, BodySpan::Plain(2));
        assert_eq!(&buf[p.head_len..p.head_len + 2], b"ok");
        let q = parse_response(&buf[p.total..], false, false)
            .unwrap()
            .unwrap();
        assert_eq!(q.status, 404);
        assert_eq!(p.total + q.total, buf.len());
        assert_eq!(
            parse_response(&buf[..p.total - 1], false, false).unwrap(),
            None
        );
    }

    #[test]
    fn parses_chunked_and_head() {
        let buf = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;x=y\r\nde\r\n0\r\nT: v\r\n\r\n";
        for cut in 0..buf.len() {
            assert_eq!(
                parse_response(&buf[..cut], false, false).unwrap(),
                None,
                "{cut}"
            );
        }
        let p = parse_response(buf, false, false).unwrap().unwrap();
        assert_eq!(p.total, buf.len());
        let mut body = Vec::new();
        dechunk(&buf[p.head_len..p.total], &mut body);
        assert_eq!(body, b"abcde");
        let h = b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n";
        assert_eq!(
            parse_response(h, true, false).unwrap().unwrap().total,
            h.len()
        );
        assert!(parse_response(b"HTTP/1.1 2x0 OK\r\n\r\n", false, false).is_err());
    }

    #[test]
    fn close_delimited_and_connection_close() {
        let buf = b"HTTP/1.0 200 OK\r\n\r\nhello";
        assert_eq!(parse_response(buf, false, false).unwrap(), None);
        let p = parse_response(buf, false, true).unwrap().unwrap();
        assert!(p.close);
        assert_eq!(p.body, BodySpan::Plain(5));
        let c = b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n";
        assert!(parse_response(c, false, false).unwrap().unwrap().close);
    }

    #[test]
    fn request_writer_and_encoding() {
        let mut out = Vec::new();
        let mut w = RequestWriter::new(&mut out, "h:1", "/base", b"X-A: b\r\n");
        w.begin("PUT");
        w.push("/impu/");
        w.push_enc("sip:a1@example.com");
        w.end(Some("application/json"), b"{}");
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "PUT /base/impu/sip%3Aa1%40example.com HTTP/1.1\r\nHost: h:1\r\nX-A: b\r\n\
             Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"
        );
        let mut n = Vec::new();
        push_u64(&mut n, 0);
        push_u64(&mut n, 1234567890);
        assert_eq!(n, b"01234567890");
        let t = Target::parse("http://127.0.0.1:8888/x/?q").unwrap();
        assert_eq!(t.prefix, "/x");
        assert_eq!(t.path, "/x/?q");
        assert_eq!(t.host, "127.0.0.1:8888");
        assert!(Target::parse("https://a").is_err());
    }

    #[test]
    fn header_lookup() {
        let head = b"HTTP/1.1 201 Created\r\nLocation: /irs/abc\r\n\r\n";
        let r = Response {
            status: 201,
            head,
            body: b"",
        };
        assert_eq!(r.header("location"), Some(&b"/irs/abc"[..]));
        assert_eq!(r.header("etag"), None);
    }
}
