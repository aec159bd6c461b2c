//! A parsed request: method, version, target, headers and body, all views into owned `Bytes`.

use std::borrow::Cow;
use std::fmt;
use std::ops::Range;

use bytes::Bytes;

use super::error::HttpError;
use super::response::ReplyContext;

/// The request method. Methods are case-sensitive (RFC 9110 §9.1): `get` is [`Method::Other`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Method {
    /// `GET`
    Get,
    /// `HEAD`: the response carries headers only (see [`ReplyContext::head_request`]).
    Head,
    /// `POST`
    Post,
    /// `PUT`
    Put,
    /// `DELETE`
    Delete,
    /// `OPTIONS`
    Options,
    /// `PATCH`
    Patch,
    /// Any other method token (for example `CONNECT`, `TRACE`, `PROPFIND`).
    Other(String),
}

impl Method {
    /// Maps a method token (already validated as an RFC 9110 token by `httparse`).
    pub(crate) fn from_token(token: &str) -> Self {
        match token {
            "GET" => Self::Get,
            "HEAD" => Self::Head,
            "POST" => Self::Post,
            "PUT" => Self::Put,
            "DELETE" => Self::Delete,
            "OPTIONS" => Self::Options,
            "PATCH" => Self::Patch,
            other => Self::Other(other.to_owned()),
        }
    }

    /// The method token as sent on the wire.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Get => "GET",
            Self::Head => "HEAD",
            Self::Post => "POST",
            Self::Put => "PUT",
            Self::Delete => "DELETE",
            Self::Options => "OPTIONS",
            Self::Patch => "PATCH",
            Self::Other(token) => token,
        }
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The protocol version of a request. Only HTTP/1.0 and HTTP/1.1 are accepted (others get 505).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Version {
    /// `HTTP/1.0`: connections close after each response unless the client asks for keep-alive.
    Http10,
    /// `HTTP/1.1`: persistent connections by default.
    Http11,
}

impl Version {
    /// The version as written in a start line.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Http10 => "HTTP/1.0",
            Self::Http11 => "HTTP/1.1",
        }
    }
}

/// Where one header's name and value lie within the request head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct HeaderSpan {
    pub(crate) name: Range<usize>,
    pub(crate) value: Range<usize>,
}

/// How the request-target was written (RFC 9112 §3.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TargetPath {
    /// The path is this range of the head (origin-form, or absolute-form with a path).
    Span(Range<usize>),
    /// absolute-form without a path: the path is `/` (RFC 9112 §3.2.2).
    Root,
    /// asterisk-form (`OPTIONS *`): the path is `*`.
    Asterisk,
}

/// A complete request. It owns its data: the head and body are reference-counted [`Bytes`] split off
/// the connection's input buffer (no copy), so a `Request` is cheap to move to another thread.
///
/// Header names and values, the path and the query are views into the head; nothing is decoded
/// until an accessor asks for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// The request method.
    pub method: Method,
    /// The protocol version.
    pub version: Version,
    /// The message body: the `Content-Length` bytes, or the decoded chunked body (extensions and
    /// trailers dropped). Empty when the request has no body.
    pub body: Bytes,
    /// Whether the connection may stay open after the response: HTTP/1.1 unless `Connection: close`;
    /// HTTP/1.0 only with `Connection: keep-alive` (and never when `close` is also listed).
    pub keep_alive: bool,
    /// Whether the client sent `Expect: 100-continue` (HTTP/1.1 only; ignored for HTTP/1.0 as
    /// RFC 9110 §10.1.1 requires). See [`RequestParser::take_expect_continue`](super::RequestParser::take_expect_continue).
    pub expect_continue: bool,
    pub(crate) head: Bytes,
    pub(crate) target: Range<usize>,
    pub(crate) path: TargetPath,
    pub(crate) query: Option<Range<usize>>,
    pub(crate) headers: Vec<HeaderSpan>,
}

impl Request {
    /// The request-target exactly as sent (for example `/impi/alice%40example.com/av?impu=x`).
    pub fn target(&self) -> &str {
        self.head_str(self.target.clone())
    }

    /// The path of the target, still percent-encoded: `/a/b` for `/a/b?x=1`, `/` for an
    /// absolute-form target without a path, `*` for `OPTIONS *`.
    pub fn path(&self) -> &str {
        match &self.path {
            TargetPath::Span(range) => self.head_str(range.clone()),
            TargetPath::Root => "/",
            TargetPath::Asterisk => "*",
        }
    }

    /// The query of the target without the `?`, still encoded; `None` when there is no `?`.
    pub fn query(&self) -> Option<&str> {
        self.query.clone().map(|range| self.head_str(range))
    }

    /// The path segments after the leading `/`, each percent-decoded and checked to be UTF-8.
    ///
    /// `/impi/alice%40example.com/av` yields `impi`, `alice@example.com`, `av`; `/` yields one empty
    /// segment and `/a/` yields `a` and an empty segment. An encoded slash (`%2F`) stays inside its
    /// segment. A `%` not followed by two hex digits, or bytes that are not UTF-8 once decoded, yield
    /// a 400 error for that segment. `OPTIONS *` has no segments.
    pub fn path_segments(&self) -> impl Iterator<Item = Result<Cow<'_, str>, HttpError>> {
        self.path()
            .strip_prefix('/')
            .into_iter()
            .flat_map(|rest| rest.split('/'))
            .map(|segment| percent_decode_strict(segment, false))
    }

    /// The first query parameter called `name`, decoded as `application/x-www-form-urlencoded`
    /// (WHATWG URL standard: `+` is a space, `%XX` escapes decoded).
    ///
    /// This is the standard's lenient decoding: a malformed escape is kept literally and bytes that
    /// are not UTF-8 become U+FFFD. Use [`Request::query_param_strict`] to reject such input instead.
    pub fn query_param(&self, name: &str) -> Option<Cow<'_, str>> {
        let query = self.query()?;
        form_urlencoded::parse(query.as_bytes())
            .find(|(key, _)| key == name)
            .map(|(_, value)| value)
    }

    /// Like [`Request::query_param`] but strict: a malformed `%` escape or a name or value that is not
    /// UTF-8 once decoded is a 400 error rather than being repaired.
    pub fn query_param_strict(&self, name: &str) -> Result<Option<Cow<'_, str>>, HttpError> {
        let Some(query) = self.query() else {
            return Ok(None);
        };
        for pair in query.split('&').filter(|pair| !pair.is_empty()) {
            let (raw_key, raw_value) = pair.split_once('=').unwrap_or((pair, ""));
            if percent_decode_strict(raw_key, true)? == name {
                return percent_decode_strict(raw_value, true).map(Some);
            }
        }
        Ok(None)
    }

    /// The value of the first header called `name` (compared case-insensitively), with surrounding
    /// whitespace removed. Use [`Request::header_values`] for headers that may repeat.
    pub fn header(&self, name: &str) -> Option<&[u8]> {
        self.header_values(name).next()
    }

    /// The values of every header called `name` (compared case-insensitively), in order.
    pub fn header_values<'a, 'n>(
        &'a self,
        name: &'n str,
    ) -> impl Iterator<Item = &'a [u8]> + use<'a, 'n> {
        self.headers
            .iter()
            .filter(move |span| {
                self.head_bytes(span.name.clone())
                    .eq_ignore_ascii_case(name.as_bytes())
            })
            .map(|span| self.head_bytes(span.value.clone()))
    }

    /// Every header as `(name, value)` in the order received, names as sent (case preserved).
    pub fn headers(&self) -> impl Iterator<Item = (&str, &[u8])> {
        self.headers.iter().map(|span| {
            (
                self.head_str(span.name.clone()),
                self.head_bytes(span.value.clone()),
            )
        })
    }

    /// Whether this is a `HEAD` request, whose response must not carry a body.
    pub fn is_head(&self) -> bool {
        self.method == Method::Head
    }

    /// What the response encoder needs to know about this request: keep-alive, version (an
    /// HTTP/1.0 client needs an explicit `Connection: keep-alive`) and whether it is a `HEAD`.
    pub fn reply_context(&self) -> ReplyContext {
        ReplyContext {
            keep_alive: self.keep_alive,
            version: self.version,
            head_request: self.is_head(),
        }
    }

    fn head_bytes(&self, range: Range<usize>) -> &[u8] {
        self.head.get(range).unwrap_or_default()
    }

    /// The parser only records ranges that `httparse` returned as `&str` (method, target, header
    /// names), so the conversion cannot fail; the empty fallback only avoids a panic path.
    fn head_str(&self, range: Range<usize>) -> &str {
        std::str::from_utf8(self.head_bytes(range)).unwrap_or_default()
    }
}

/// Percent-decodes `raw` (and `+` as space when `plus_as_space`), rejecting malformed escapes and
/// results that are not UTF-8. Borrows when nothing needs decoding.
fn percent_decode_strict(raw: &str, plus_as_space: bool) -> Result<Cow<'_, str>, HttpError> {
    // percent-encoding passes a malformed escape through unchanged; validate first so that `%zz`
    // and a truncated `%4` are errors rather than literal text.
    let bytes = raw.as_bytes();
    let mut index = 0;
    while let Some(offset) = bytes
        .get(index..)
        .and_then(|rest| rest.iter().position(|&b| b == b'%'))
    {
        let escape = index + offset;
        let is_valid = matches!(
            bytes.get(escape + 1..escape + 3),
            Some([high, low]) if high.is_ascii_hexdigit() && low.is_ascii_hexdigit()
        );
        if !is_valid {
            return Err(HttpError::bad_request(
                "malformed percent-escape in request target",
            ));
        }
        index = escape + 3;
    }
    let not_utf8 = |_| HttpError::bad_request("percent-decoded request target is not UTF-8");
    if plus_as_space && raw.contains('+') {
        let spaced = raw.replace('+', " ");
        let decoded = percent_encoding::percent_decode_str(&spaced)
            .decode_utf8()
            .map_err(not_utf8)?;
        Ok(Cow::Owned(decoded.into_owned()))
    } else {
        percent_encoding::percent_decode_str(raw)
            .decode_utf8()
            .map_err(not_utf8)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strict_decoding_accepts_valid_escapes() {
        assert_eq!(
            percent_decode_strict("alice%40example.com", false).unwrap(),
            "alice@example.com"
        );
        assert_eq!(percent_decode_strict("a%2Fb", false).unwrap(), "a/b");
        assert_eq!(percent_decode_strict("caf%C3%A9", false).unwrap(), "café");
        assert_eq!(percent_decode_strict("a+b", false).unwrap(), "a+b");
        assert_eq!(percent_decode_strict("a+b%2B", true).unwrap(), "a b+");
        assert!(matches!(
            percent_decode_strict("plain", false).unwrap(),
            Cow::Borrowed("plain")
        ));
    }

    #[test]
    fn strict_decoding_rejects_malformed_escapes_and_bad_utf8() {
        for bad in ["%", "%4", "a%zz", "%g0", "x%4%41"] {
            let err = percent_decode_strict(bad, false).unwrap_err();
            assert_eq!(err.status, 400, "{bad}");
            assert!(
                err.reason.contains("percent-escape"),
                "{bad}: {}",
                err.reason
            );
        }
        let err = percent_decode_strict("%C3%28", false).unwrap_err();
        assert_eq!(err.status, 400);
        assert!(err.reason.contains("UTF-8"));
        assert!(percent_decode_strict("%FF", true).is_err());
    }

    #[test]
    fn method_tokens_round_trip_and_are_case_sensitive() {
        for token in [
            "GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH", "PROPFIND",
        ] {
            assert_eq!(Method::from_token(token).as_str(), token);
        }
        assert_eq!(Method::from_token("get"), Method::Other("get".to_owned()));
        assert_eq!(Method::from_token("HEAD"), Method::Head);
    }
}
