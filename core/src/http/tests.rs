//! Tests of the request parser and response encoder together.

use std::borrow::Cow;

use bytes::{Bytes, BytesMut};

use super::*;

type Outcome = Result<Request, HttpError>;

/// Parses every request available in `buf`, stopping at `Ok(None)` or after the first error.
fn drain(parser: &mut RequestParser, buf: &mut BytesMut, outcomes: &mut Vec<Outcome>) {
    loop {
        match parser.parse(buf) {
            Ok(Some(request)) => outcomes.push(Ok(request)),
            Ok(None) => return,
            Err(error) => {
                outcomes.push(Err(error));
                return;
            }
        }
    }
}

fn parse_whole_with(limits: Limits, input: &[u8]) -> (Vec<Outcome>, BytesMut) {
    let mut parser = RequestParser::new(limits);
    let mut buf = BytesMut::from(input);
    let mut outcomes = Vec::new();
    drain(&mut parser, &mut buf, &mut outcomes);
    (outcomes, buf)
}

fn parse_whole(input: &[u8]) -> Vec<Outcome> {
    parse_whole_with(Limits::default(), input).0
}

fn parse_bytewise_with(limits: Limits, input: &[u8]) -> Vec<Outcome> {
    let mut parser = RequestParser::new(limits);
    let mut buf = BytesMut::new();
    let mut outcomes = Vec::new();
    for &byte in input {
        buf.extend_from_slice(&[byte]);
        drain(&mut parser, &mut buf, &mut outcomes);
        if outcomes.last().is_some_and(Result::is_err) {
            break;
        }
    }
    outcomes
}

fn parse_one(input: &[u8]) -> Request {
    let outcomes = parse_whole(input);
    assert_eq!(outcomes.len(), 1, "{outcomes:?}");
    outcomes.into_iter().next().unwrap().unwrap()
}

fn parse_err_with(limits: Limits, input: &[u8]) -> HttpError {
    let (outcomes, _) = parse_whole_with(limits, input);
    match outcomes.last() {
        Some(Err(error)) => {
            // Errors must not depend on how the bytes arrived either.
            assert_eq!(
                parse_bytewise_with(limits, input).last(),
                Some(&Err(error.clone())),
                "{input:?}"
            );
            error.clone()
        }
        other => panic!(
            "expected an error for {:?}, got {other:?}",
            String::from_utf8_lossy(input)
        ),
    }
}

fn parse_err(input: &[u8]) -> HttpError {
    parse_err_with(Limits::default(), input)
}

fn assert_status(input: &[u8], status: u16, reason_part: &str) {
    let error = parse_err(input);
    assert_eq!(
        error.status,
        status,
        "{:?}: {error}",
        String::from_utf8_lossy(input)
    );
    assert!(
        error.reason.contains(reason_part),
        "{:?}: reason {:?} lacks {reason_part:?}",
        String::from_utf8_lossy(input),
        error.reason
    );
}

fn small_limits() -> Limits {
    Limits {
        max_request_line: 32,
        max_head_bytes: 128,
        max_headers: 4,
        max_body_bytes: 16,
    }
}

// ---------------------------------------------------------------- request head

#[test]
fn parses_a_simple_get() {
    let request = parse_one(b"GET /impi/alice%40example.com/av?impu=sip%3Aalice%40example.com&x=1 HTTP/1.1\r\nHost: hs.example.com\r\nAccept: application/json\r\nX-Empty:\r\n\r\n");
    assert_eq!(request.method, Method::Get);
    assert_eq!(request.version, Version::Http11);
    assert_eq!(
        request.target(),
        "/impi/alice%40example.com/av?impu=sip%3Aalice%40example.com&x=1"
    );
    assert_eq!(request.path(), "/impi/alice%40example.com/av");
    assert_eq!(request.query(), Some("impu=sip%3Aalice%40example.com&x=1"));
    assert_eq!(request.header("host"), Some(&b"hs.example.com"[..]));
    assert_eq!(request.header("ACCEPT"), Some(&b"application/json"[..]));
    assert_eq!(request.header("x-empty"), Some(&b""[..]));
    assert_eq!(request.header("missing"), None);
    assert!(request.keep_alive);
    assert!(!request.expect_continue);
    assert!(request.body.is_empty());
    let headers: Vec<_> = request.headers().collect();
    assert_eq!(
        headers,
        vec![
            ("Host", &b"hs.example.com"[..]),
            ("Accept", &b"application/json"[..]),
            ("X-Empty", &b""[..])
        ]
    );
}

#[test]
fn all_standard_methods_and_extension_methods() {
    for (token, method) in [
        ("GET", Method::Get),
        ("HEAD", Method::Head),
        ("POST", Method::Post),
        ("PUT", Method::Put),
        ("DELETE", Method::Delete),
        ("OPTIONS", Method::Options),
        ("PATCH", Method::Patch),
        ("PROPFIND", Method::Other("PROPFIND".to_owned())),
    ] {
        let request = parse_one(format!("{token} / HTTP/1.1\r\nHost: h\r\n\r\n").as_bytes());
        assert_eq!(request.method, method);
        assert_eq!(request.is_head(), token == "HEAD");
    }
}

#[test]
fn header_values_returns_repeated_fields_in_order() {
    let request = parse_one(b"GET / HTTP/1.1\r\nHost: h\r\nAccept: a\r\naccept: b\r\n\r\n");
    let values: Vec<_> = request.header_values("Accept").collect();
    assert_eq!(values, vec![&b"a"[..], &b"b"[..]]);
    assert_eq!(request.header("accept"), Some(&b"a"[..]));
}

#[test]
fn header_value_whitespace_is_trimmed_and_obs_text_kept() {
    let request = parse_one(b"GET / HTTP/1.1\r\nHost:   h \t\r\nX-Name: caf\xc3\xa9\r\n\r\n");
    assert_eq!(request.header("host"), Some(&b"h"[..]));
    assert_eq!(request.header("x-name"), Some("café".as_bytes()));
}

#[test]
fn partial_head_is_not_consumed() {
    let mut parser = RequestParser::new(Limits::default());
    let mut buf = BytesMut::from(&b"GET /a HTTP/1.1\r\nHost: h\r\n"[..]);
    assert_eq!(parser.parse(&mut buf), Ok(None));
    assert_eq!(&buf[..], b"GET /a HTTP/1.1\r\nHost: h\r\n");
    assert!(!parser.awaiting_body());
    buf.extend_from_slice(b"\r\n");
    let request = parser.parse(&mut buf).unwrap().unwrap();
    assert_eq!(request.path(), "/a");
    assert!(buf.is_empty());
}

#[test]
fn leading_empty_lines_are_ignored() {
    let request = parse_one(b"\r\n\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n");
    assert_eq!(request.path(), "/");
    assert_status(b"\rGET / HTTP/1.1\r\nHost: h\r\n\r\n", 400, "line ending");
}

#[test]
fn bare_lf_line_endings_are_accepted() {
    let request = parse_one(b"GET /lf HTTP/1.1\nHost: h\n\n");
    assert_eq!(request.path(), "/lf");
}

#[test]
fn request_is_send_and_sync() {
    fn assert_send_sync<T: Send + Sync + 'static>() {}
    assert_send_sync::<Request>();
    assert_send_sync::<HttpError>();
    assert_send_sync::<Response>();
}

// ---------------------------------------------------------------- pipelining and incremental feeding

const PIPELINE: &[u8] = b"GET /one HTTP/1.1\r\nHost: h\r\n\r\n\
POST /two HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello\
PUT /three?x=%41 HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n4;ext=1\r\nWiki\r\n5\r\npedia\r\n0\r\nTrailer: t\r\n\r\n\
GET /four HTTP/1.0\r\n\r\n";

#[test]
fn pipelined_requests_come_out_in_order() {
    let (outcomes, rest) = parse_whole_with(Limits::default(), PIPELINE);
    assert!(rest.is_empty());
    let requests: Vec<Request> = outcomes.into_iter().map(Result::unwrap).collect();
    let summary: Vec<(&str, &[u8], bool)> = requests
        .iter()
        .map(|r| (r.path(), r.body.as_ref(), r.keep_alive))
        .collect();
    assert_eq!(
        summary,
        vec![
            ("/one", &b""[..], true),
            ("/two", &b"hello"[..], true),
            ("/three", &b"Wikipedia"[..], true),
            ("/four", &b""[..], false)
        ]
    );
    assert_eq!(requests[2].query_param("x").as_deref(), Some("A"));
}

#[test]
fn pipelined_request_leaves_the_next_one_in_the_buffer() {
    let mut parser = RequestParser::new(Limits::default());
    let mut buf = BytesMut::from(PIPELINE);
    let first = parser.parse(&mut buf).unwrap().unwrap();
    assert_eq!(first.path(), "/one");
    assert!(buf.starts_with(b"POST /two"));
}

#[test]
fn bytewise_feeding_matches_whole_buffer() {
    let samples: [&[u8]; 8] = [
        PIPELINE,
        b"\r\nGET / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\nabc",
        b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\n\r\nGET /x HTTP/1.1\r\nHost: h\r\n\r\n",
        b"GET / HTTP/2.0\r\n\r\n",
        b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nabcdeXX",
        b"G@T / HTTP/1.1\r\n\r\n",
    ];
    for sample in samples {
        let whole = parse_whole(sample);
        let bytewise = parse_bytewise_with(Limits::default(), sample);
        assert!(!whole.is_empty());
        assert_eq!(whole, bytewise, "{:?}", String::from_utf8_lossy(sample));
    }
}

#[test]
fn every_split_point_gives_the_same_requests() {
    let expected = parse_whole(PIPELINE);
    for split in 0..=PIPELINE.len() {
        let mut parser = RequestParser::new(Limits::default());
        let mut buf = BytesMut::from(&PIPELINE[..split]);
        let mut outcomes = Vec::new();
        drain(&mut parser, &mut buf, &mut outcomes);
        buf.extend_from_slice(&PIPELINE[split..]);
        drain(&mut parser, &mut buf, &mut outcomes);
        assert_eq!(outcomes, expected, "split at {split}");
    }
}

#[test]
fn content_length_body_waits_without_reparsing_the_head() {
    let mut parser = RequestParser::new(Limits::default());
    let mut buf =
        BytesMut::from(&b"POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\n0123"[..]);
    assert_eq!(parser.parse(&mut buf), Ok(None));
    // The head has been taken and remembered; only body bytes remain in the buffer.
    assert!(parser.awaiting_body());
    assert_eq!(&buf[..], b"0123");
    buf.extend_from_slice(b"456");
    assert_eq!(parser.parse(&mut buf), Ok(None));
    buf.extend_from_slice(b"789GET");
    let request = parser.parse(&mut buf).unwrap().unwrap();
    assert_eq!(&request.body[..], b"0123456789");
    assert_eq!(request.path(), "/p");
    assert_eq!(&buf[..], b"GET");
    assert!(!parser.awaiting_body());
}

// ---------------------------------------------------------------- limits

#[test]
fn request_line_limit_gives_414() {
    let limits = small_limits();
    // 32-byte request line is accepted, 33 is not; with or without the line ending seen.
    let ok = b"GET /23456789012345678 HTTP/1.1\r\nHost: h\r\n\r\n";
    assert_eq!(ok.iter().position(|&b| b == b'\r'), Some(31));
    let exact = b"GET /234567890123456789 HTTP/1.1\r\nHost: h\r\n\r\n";
    assert_eq!(exact.iter().position(|&b| b == b'\r'), Some(32));
    assert!(parse_whole_with(limits, ok).0[0].is_ok());
    assert!(parse_whole_with(limits, exact).0[0].is_ok());
    let long = b"GET /2345678901234567890 HTTP/1.1\r\nHost: h\r\n\r\n";
    assert_eq!(parse_err_with(limits, long).status, 414);
    let endless = [b'/'; 100];
    let mut endless_line = b"GET ".to_vec();
    endless_line.extend_from_slice(&endless);
    assert_eq!(parse_err_with(limits, &endless_line).status, 414);
    assert_eq!(
        parse_err_with(limits, &endless_line).reason,
        "request line too long"
    );
}

#[test]
fn default_request_line_limit_is_8_kib() {
    let path = "/".repeat(8 * 1024 - "GET  HTTP/1.1".len());
    let ok = format!("GET {path} HTTP/1.1\r\nHost: h\r\n\r\n");
    assert!(parse_whole(ok.as_bytes())[0].is_ok());
    let long = format!("GET /{path} HTTP/1.1\r\nHost: h\r\n\r\n");
    assert_eq!(parse_err(long.as_bytes()).status, 414);
}

#[test]
fn head_size_and_header_count_limits_give_431() {
    let limits = small_limits();
    let big = format!(
        "GET / HTTP/1.1\r\nHost: h\r\nX-Big: {}\r\n\r\n",
        "v".repeat(120)
    );
    let error = parse_err_with(limits, big.as_bytes());
    assert_eq!(
        (error.status, error.reason.as_ref()),
        (431, "request head too large")
    );
    let many = b"GET / HTTP/1.1\r\nHost: h\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n";
    let error = parse_err_with(limits, many);
    assert_eq!(
        (error.status, error.reason.as_ref()),
        (431, "too many header fields")
    );
    let four = b"GET / HTTP/1.1\r\nHost: h\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n";
    assert!(parse_whole_with(limits, four).0[0].is_ok());
}

#[test]
fn never_ending_head_is_cut_off_at_the_limit() {
    let limits = small_limits();
    let mut input = b"GET / HTTP/1.1\r\n".to_vec();
    input.extend(std::iter::repeat_n(b'a', 200));
    assert_eq!(parse_err_with(limits, &input).status, 431);
}

#[test]
fn max_headers_is_clamped() {
    let parser = RequestParser::new(Limits {
        max_headers: 10_000,
        ..Limits::default()
    });
    assert_eq!(parser.limits().max_headers, MAX_HEADERS_CAP);
}

#[test]
fn body_limit_gives_413_before_the_body_arrives() {
    let limits = small_limits();
    let mut parser = RequestParser::new(limits);
    let mut buf = BytesMut::from(&b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 17\r\n\r\n"[..]);
    let error = parser.parse(&mut buf).unwrap_err();
    assert_eq!(error.status, 413);
    let exact = b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 16\r\n\r\n0123456789abcdef";
    assert_eq!(
        parse_whole_with(limits, exact).0[0]
            .as_ref()
            .unwrap()
            .body
            .len(),
        16
    );
}

#[test]
fn chunked_body_limit_gives_413_as_soon_as_the_total_passes() {
    let limits = small_limits();
    let mut parser = RequestParser::new(limits);
    // 10 + 7 > 16: refused on reading the second size line, before its data.
    let mut buf = BytesMut::from(&b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\nA\r\n0123456789\r\n7\r\n"[..]);
    assert_eq!(parser.parse(&mut buf).unwrap_err().status, 413);
    let exact = b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\nA\r\n0123456789\r\n6\r\nabcdef\r\n0\r\n\r\n";
    assert_eq!(
        &parse_whole_with(limits, exact).0[0].as_ref().unwrap().body[..],
        b"0123456789abcdef"
    );
}

// ---------------------------------------------------------------- malformed heads

#[test]
fn malformed_request_lines_give_400_with_a_reason() {
    assert_status(b"G@T / HTTP/1.1\r\nHost: h\r\n\r\n", 400, "method");
    assert_status(b" / HTTP/1.1\r\nHost: h\r\n\r\n", 400, "method");
    assert_status(
        b"GET /a\x01b HTTP/1.1\r\nHost: h\r\n\r\n",
        400,
        "request target",
    );
    assert_status(b"GET  / HTTP/1.1\r\nHost: h\r\n\r\n", 400, "request target");
    assert_status(b"GET / HTTX/1.1\r\nHost: h\r\n\r\n", 400, "HTTP version");
    assert_status(b"GET / HTTP/1.1x\r\nHost: h\r\n\r\n", 400, "line ending");
    assert_status(b"GET /\r\n\r\n", 400, "");
    assert_status(
        b"GET /\xff HTTP/1.1\r\nHost: h\r\n\r\n",
        400,
        "request target",
    );
}

#[test]
fn malformed_headers_give_400_with_a_reason() {
    assert_status(
        b"GET / HTTP/1.1\r\nHost : h\r\n\r\n",
        400,
        "header field name",
    );
    assert_status(
        b"GET / HTTP/1.1\r\nHo(st: h\r\n\r\n",
        400,
        "header field name",
    );
    assert_status(
        b"GET / HTTP/1.1\r\nHost: h\r\n folded\r\n\r\n",
        400,
        "header field name",
    );
    assert_status(
        b"GET / HTTP/1.1\r\nHost: h\x00x\r\n\r\n",
        400,
        "header field value",
    );
    assert_status(
        b"GET / HTTP/1.1\r\nHost: h\rx\r\n\r\n",
        400,
        "header field value",
    );
    assert_status(b"GET / HTTP/1.1\r\nHost: h\r\n\rX", 400, "line ending");
}

#[test]
fn unsupported_versions_give_505() {
    assert_status(b"GET / HTTP/2.0\r\n\r\n", 505, "HTTP version not supported");
    assert_status(
        b"GET / HTTP/1.2\r\nHost: h\r\n\r\n",
        505,
        "HTTP version not supported",
    );
    assert_status(b"GET / HTTP/3\r\n\r\n", 505, "HTTP version not supported");
    assert_status(b"GET / HTTP/0.9\r\n\r\n", 505, "HTTP version not supported");
    assert_status(
        b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
        505,
        "HTTP/2 connection preface",
    );
}

#[test]
fn request_target_forms() {
    let absolute = parse_one(
        b"GET http://hs.example.com:8888/impu/x?y=1 HTTP/1.1\r\nHost: hs.example.com:8888\r\n\r\n",
    );
    assert_eq!(
        (absolute.path(), absolute.query()),
        ("/impu/x", Some("y=1"))
    );
    let no_path = parse_one(b"GET HTTPS://hs.example.com?y=2 HTTP/1.1\r\nHost: h\r\n\r\n");
    assert_eq!((no_path.path(), no_path.query()), ("/", Some("y=2")));
    assert_eq!(
        no_path.path_segments().collect::<Vec<_>>(),
        vec![Ok(Cow::Borrowed(""))]
    );
    let asterisk = parse_one(b"OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n");
    assert_eq!((asterisk.path(), asterisk.query()), ("*", None));
    assert_eq!(asterisk.path_segments().count(), 0);
    assert_status(b"GET * HTTP/1.1\r\nHost: h\r\n\r\n", 400, "asterisk-form");
    assert_status(
        b"CONNECT hs.example.com:443 HTTP/1.1\r\nHost: h\r\n\r\n",
        400,
        "origin-form",
    );
    assert_status(
        b"GET ftp://h/x HTTP/1.1\r\nHost: h\r\n\r\n",
        400,
        "origin-form",
    );
    assert_status(
        b"GET http:///x HTTP/1.1\r\nHost: h\r\n\r\n",
        400,
        "without a host",
    );
    assert_status(b"GET /a#frag HTTP/1.1\r\nHost: h\r\n\r\n", 400, "fragment");
    let empty_query = parse_one(b"GET /a? HTTP/1.1\r\nHost: h\r\n\r\n");
    assert_eq!((empty_query.path(), empty_query.query()), ("/a", Some("")));
}

#[test]
fn host_header_rules() {
    assert_status(b"GET / HTTP/1.1\r\n\r\n", 400, "missing Host");
    assert_status(
        b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
        400,
        "more than one Host",
    );
    assert_status(
        b"GET / HTTP/1.0\r\nHost: a\r\nhost: a\r\n\r\n",
        400,
        "more than one Host",
    );
    assert!(parse_whole(b"GET / HTTP/1.0\r\n\r\n")[0].is_ok());
}

// ---------------------------------------------------------------- framing and smuggling defences

#[test]
fn content_length_rules() {
    let twice = parse_one(
        b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\ncontent-length: 3\r\n\r\nabc",
    );
    assert_eq!(&twice.body[..], b"abc");
    let listed = parse_one(b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3, 3\r\n\r\nabc");
    assert_eq!(&listed.body[..], b"abc");
    let zeros = parse_one(b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 003\r\n\r\nabc");
    assert_eq!(&zeros.body[..], b"abc");
    assert_status(
        b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
        400,
        "conflicting Content-Length",
    );
    assert_status(
        b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3, 4\r\n\r\nabcd",
        400,
        "conflicting Content-Length",
    );
    for bad in [
        "abc",
        "-1",
        "+3",
        "3 3",
        "0x10",
        "",
        "99999999999999999999999",
        "3;",
    ] {
        let input = format!("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: {bad}\r\n\r\n");
        assert_status(input.as_bytes(), 400, "invalid Content-Length");
    }
    // Larger than any body but a valid number: refused as too large, not as malformed.
    assert_status(
        b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 18446744073709551615\r\n\r\n",
        413,
        "larger than the limit",
    );
}

#[test]
fn transfer_encoding_rules() {
    assert_status(
        b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
        400,
        "both Content-Length and Transfer-Encoding",
    );
    assert_status(
        b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n",
        400,
        "both Content-Length and Transfer-Encoding",
    );
    assert_status(
        b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip\r\n\r\n",
        501,
        "unsupported transfer coding",
    );
    assert_status(
        b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
        501,
        "unsupported transfer coding",
    );
    assert_status(
        b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked, chunked\r\n\r\n",
        400,
        "more than once",
    );
    assert_status(b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", 400, "more than once");
    assert_status(
        b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: \r\n\r\n",
        400,
        "empty Transfer-Encoding",
    );
    assert_status(
        b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n",
        400,
        "HTTP/1.0",
    );
    let upper =
        parse_one(b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: Chunked\r\n\r\n0\r\n\r\n");
    assert!(upper.body.is_empty());
}

#[test]
fn chunked_bodies_are_decoded() {
    let request = parse_one(
        b"POST /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n\
4;name=value;quoted=\"a;b\"\r\nWiki\r\n5 ; ext\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0;last\r\nExpires: never\r\nX-Checksum: 1\r\n\r\n",
    );
    assert_eq!(&request.body[..], b"Wikipedia in\r\n\r\nchunks.");
    // The trailer fields are skipped, not merged into the headers.
    assert_eq!(request.header("expires"), None);
}

#[test]
fn single_chunk_body_is_not_copied() {
    let input = Bytes::from_static(
        b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
    );
    let mut buf = BytesMut::from(&input[..]);
    let start = buf.as_ptr() as usize;
    let request = RequestParser::new(Limits::default())
        .parse(&mut buf)
        .unwrap()
        .unwrap();
    assert_eq!(&request.body[..], b"hello");
    let offset = request.body.as_ptr() as usize - start;
    assert_eq!(&input[offset..offset + 5], b"hello");
}

#[test]
fn malformed_chunked_bodies_give_400() {
    let head = b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
    let with = |body: &[u8]| [head.as_slice(), body].concat();
    assert_status(&with(b"zz\r\n"), 400, "invalid chunk size line");
    assert_status(
        &with(b"5\nhello\r\n0\r\n\r\n"),
        400,
        "invalid chunk size line",
    );
    assert_status(&with(b"\r\n"), 400, "chunk size missing");
    assert_status(&with(b";ext\r\n\r\n"), 400, "chunk size missing");
    assert_status(
        &with(b"5;a\nb\r\nhello\r\n0\r\n\r\n"),
        400,
        "control character in chunk extension",
    );
    assert_status(&with(b"5\r\nhelloXX0\r\n\r\n"), 400, "not followed by CRLF");
    assert_status(&with(b"5\r\nhello\rX"), 400, "not followed by CRLF");
    assert_status(
        &with(b"5\r\nhello\r\n0\r\nBad Trailer: x\r\n\r\n"),
        400,
        "invalid trailer section",
    );
    assert_status(
        &with(b"11111111111111111\r\n"),
        400,
        "invalid chunk size line",
    );
    let long_extension = with(format!("5;{}\r\nhello\r\n0\r\n\r\n", "e".repeat(1100)).as_bytes());
    assert_status(&long_extension, 400, "chunk size line too long");
}

#[test]
fn chunked_trailer_limits_give_431() {
    let limits = small_limits();
    let head = b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
    let many = [
        head.as_slice(),
        b"0\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\nE: 5\r\n\r\n",
    ]
    .concat();
    assert_eq!(
        parse_err_with(limits, &many).reason,
        "too many trailer fields"
    );
    let big = [head.as_slice(), b"0\r\nA: ", &[b'x'; 200]].concat();
    assert_eq!(
        parse_err_with(limits, &big).reason,
        "trailer section too large"
    );
}

// ---------------------------------------------------------------- keep-alive, Expect, errors

#[test]
fn keep_alive_rules() {
    let cases: [(&[u8], bool); 8] = [
        (b"GET / HTTP/1.1\r\nHost: h\r\n\r\n", true),
        (
            b"GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n",
            false,
        ),
        (
            b"GET / HTTP/1.1\r\nHost: h\r\nConnection: Upgrade, CLOSE\r\n\r\n",
            false,
        ),
        (
            b"GET / HTTP/1.1\r\nHost: h\r\nConnection: keep-alive\r\n\r\n",
            true,
        ),
        (b"GET / HTTP/1.0\r\n\r\n", false),
        (b"GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", true),
        (
            b"GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n",
            false,
        ),
        (
            b"GET / HTTP/1.0\r\nConnection: keep-alive-ish\r\n\r\n",
            false,
        ),
    ];
    for (input, keep_alive) in cases {
        assert_eq!(
            parse_one(input).keep_alive,
            keep_alive,
            "{:?}",
            String::from_utf8_lossy(input)
        );
    }
}

#[test]
fn expect_continue_is_offered_once_while_the_body_is_missing() {
    let mut parser = RequestParser::new(Limits::default());
    let mut buf = BytesMut::from(
        &b"PUT /x HTTP/1.1\r\nHost: h\r\nExpect: 100-Continue\r\nContent-Length: 3\r\n\r\n"[..],
    );
    assert!(!parser.take_expect_continue());
    assert_eq!(parser.parse(&mut buf), Ok(None));
    assert!(parser.take_expect_continue());
    assert!(!parser.take_expect_continue());
    let mut out = BytesMut::new();
    encode_continue(&mut out);
    assert_eq!(&out[..], b"HTTP/1.1 100 Continue\r\n\r\n");
    buf.extend_from_slice(b"abc");
    let request = parser.parse(&mut buf).unwrap().unwrap();
    assert!(request.expect_continue);
    assert!(!parser.take_expect_continue());
}

#[test]
fn expect_continue_is_not_offered_when_unneeded() {
    // Body already here.
    let mut parser = RequestParser::new(Limits::default());
    let mut buf = BytesMut::from(
        &b"PUT /x HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\nab"[..],
    );
    assert_eq!(parser.parse(&mut buf), Ok(None));
    assert!(!parser.take_expect_continue());
    // No body at all.
    let mut parser = RequestParser::new(Limits::default());
    let mut buf =
        BytesMut::from(&b"PUT /x HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\n\r\n"[..]);
    assert!(parser.parse(&mut buf).unwrap().is_some());
    assert!(!parser.take_expect_continue());
    // HTTP/1.0 expectations are ignored (RFC 9110 §10.1.1), even unknown ones.
    let request =
        parse_one(b"PUT /x HTTP/1.0\r\nExpect: 100-continue, fancy\r\nContent-Length: 1\r\n\r\na");
    assert!(!request.expect_continue);
    // A chunked body waits for 100 Continue too.
    let mut parser = RequestParser::new(Limits::default());
    let mut buf = BytesMut::from(&b"PUT /x HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nTransfer-Encoding: chunked\r\n\r\n"[..]);
    assert_eq!(parser.parse(&mut buf), Ok(None));
    assert!(parser.take_expect_continue());
}

#[test]
fn unknown_expectation_gives_417() {
    assert_status(
        b"PUT /x HTTP/1.1\r\nHost: h\r\nExpect: 200-ok\r\nContent-Length: 1\r\n\r\na",
        417,
        "expectation",
    );
}

#[test]
fn too_large_body_with_expect_gets_413_instead_of_continue() {
    let mut parser = RequestParser::new(small_limits());
    let mut buf = BytesMut::from(
        &b"PUT /x HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 1000\r\n\r\n"[..],
    );
    assert_eq!(parser.parse(&mut buf).unwrap_err().status, 413);
    assert!(!parser.take_expect_continue());
}

#[test]
fn parser_keeps_failing_after_an_error() {
    let mut parser = RequestParser::new(Limits::default());
    let mut buf = BytesMut::from(&b"GET / HTTP/1.1\r\nHost : h\r\n\r\n"[..]);
    let error = parser.parse(&mut buf).unwrap_err();
    let mut fresh = BytesMut::from(&b"GET / HTTP/1.1\r\nHost: h\r\n\r\n"[..]);
    assert_eq!(parser.parse(&mut fresh), Err(error));
}

#[test]
fn http_error_display_and_response() {
    let error = HttpError::new(414, "request line too long");
    assert_eq!(error.to_string(), "414 URI Too Long: request line too long");
    let response = error.to_response();
    assert_eq!(response.status, 414);
    assert_eq!(&response.body[..], b"request line too long\n");
    assert_eq!(
        response.content_type(),
        Some(&b"text/plain; charset=utf-8"[..])
    );
}

// ---------------------------------------------------------------- path and query decoding

#[test]
fn path_segments_are_percent_decoded() {
    let request =
        parse_one(b"GET /impi/alice%40example.com/a%2Fb/caf%C3%A9/ HTTP/1.1\r\nHost: h\r\n\r\n");
    let segments: Vec<_> = request.path_segments().map(Result::unwrap).collect();
    assert_eq!(
        segments,
        vec!["impi", "alice@example.com", "a/b", "café", ""]
    );
    assert!(matches!(
        request.path_segments().next(),
        Some(Ok(Cow::Borrowed("impi")))
    ));
    let root = parse_one(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n");
    assert_eq!(
        root.path_segments().map(Result::unwrap).collect::<Vec<_>>(),
        vec![""]
    );
}

#[test]
fn path_segment_decoding_errors_are_400() {
    let request =
        parse_one(b"GET /ok/bad%zz/trunc%4/utf8%C3%28/plus+kept HTTP/1.1\r\nHost: h\r\n\r\n");
    let segments: Vec<_> = request.path_segments().collect();
    assert_eq!(segments[0], Ok(Cow::Borrowed("ok")));
    assert_eq!(
        segments[1].as_ref().unwrap_err().reason,
        "malformed percent-escape in request target"
    );
    assert_eq!(segments[2].as_ref().unwrap_err().status, 400);
    assert_eq!(
        segments[3].as_ref().unwrap_err().reason,
        "percent-decoded request target is not UTF-8"
    );
    assert_eq!(segments[4], Ok(Cow::Borrowed("plus+kept")));
}

#[test]
fn query_params_use_form_urlencoding() {
    let request = parse_one(b"GET /av?impu=sip%3Aalice%40example.com&name=a+b&empty=&flag&dup=1&dup=2&bad=%zz&raw=%FF HTTP/1.1\r\nHost: h\r\n\r\n");
    assert_eq!(
        request.query_param("impu").as_deref(),
        Some("sip:alice@example.com")
    );
    assert_eq!(request.query_param("name").as_deref(), Some("a b"));
    assert_eq!(request.query_param("empty").as_deref(), Some(""));
    assert_eq!(request.query_param("flag").as_deref(), Some(""));
    assert_eq!(request.query_param("dup").as_deref(), Some("1"));
    assert_eq!(request.query_param("missing"), None);
    // Lenient WHATWG decoding keeps bad escapes and replaces bad UTF-8...
    assert_eq!(request.query_param("bad").as_deref(), Some("%zz"));
    assert_eq!(request.query_param("raw").as_deref(), Some("\u{FFFD}"));
    // ...the strict variant refuses them.
    assert_eq!(
        request.query_param_strict("impu").unwrap().as_deref(),
        Some("sip:alice@example.com")
    );
    assert_eq!(
        request.query_param_strict("name").unwrap().as_deref(),
        Some("a b")
    );
    assert_eq!(
        request.query_param_strict("flag").unwrap().as_deref(),
        Some("")
    );
    assert_eq!(request.query_param_strict("bad").unwrap_err().status, 400);
    let strict_only = parse_one(b"GET /?a%20b=1&raw=%FF HTTP/1.1\r\nHost: h\r\n\r\n");
    assert_eq!(
        strict_only.query_param_strict("a b").unwrap().as_deref(),
        Some("1")
    );
    assert_eq!(
        strict_only.query_param_strict("raw").unwrap_err().status,
        400
    );
    assert_eq!(strict_only.query_param_strict("none"), Ok(None));
    let no_query = parse_one(b"GET /x HTTP/1.1\r\nHost: h\r\n\r\n");
    assert_eq!(no_query.query_param("a"), None);
    assert_eq!(no_query.query_param_strict("a"), Ok(None));
}

// ---------------------------------------------------------------- responses

fn date() -> HttpDate {
    HttpDate::new(784_111_777)
}

fn encoded(resp: &Response, context: ReplyContext) -> String {
    let mut out = BytesMut::new();
    encode_reply(resp, context, &date(), &mut out);
    String::from_utf8(out.to_vec()).unwrap()
}

#[test]
fn encodes_a_json_response() {
    let mut out = BytesMut::new();
    encode_response(
        &Response::json(200, r#"{"ok":true}"#),
        true,
        &date(),
        &mut out,
    );
    assert_eq!(
        &out[..],
        b"HTTP/1.1 200 OK\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n{\"ok\":true}"
    );
}

#[test]
fn encodes_connection_header_per_keep_alive_and_version() {
    let resp = Response::xml(404, "<x/>").with_header("X-Trace", "1");
    assert_eq!(
        encoded(&resp, ReplyContext::http11(false)),
        "HTTP/1.1 404 Not Found\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\nContent-Type: application/xml\r\nConnection: close\r\nContent-Length: 4\r\nX-Trace: 1\r\n\r\n<x/>"
    );
    let http10 = ReplyContext {
        keep_alive: true,
        version: Version::Http10,
        head_request: false,
    };
    assert!(encoded(&resp, http10).contains("\r\nConnection: keep-alive\r\n"));
    assert!(!encoded(&resp, ReplyContext::http11(true)).contains("Connection"));
}

#[test]
fn reply_context_follows_the_request() {
    let request = parse_one(b"HEAD /x HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    assert_eq!(
        request.reply_context(),
        ReplyContext {
            keep_alive: true,
            version: Version::Http10,
            head_request: true
        }
    );
}

#[test]
fn head_responses_carry_length_but_no_body() {
    let context = ReplyContext {
        keep_alive: true,
        version: Version::Http11,
        head_request: true,
    };
    let text = encoded(&Response::json(200, "12345"), context);
    assert!(text.ends_with("Content-Length: 5\r\n\r\n"), "{text}");
}

#[test]
fn bodiless_statuses_have_no_body_or_length() {
    for status in [204, 304, 100] {
        let text = encoded(
            &Response::json(status, "body").with_header("ETag", "\"1\""),
            ReplyContext::http11(true),
        );
        assert!(!text.contains("Content-Length"), "{text}");
        assert!(text.ends_with("ETag: \"1\"\r\n\r\n"), "{text}");
    }
    let empty = encoded(&Response::empty(404), ReplyContext::http11(true));
    assert!(empty.ends_with("Content-Length: 0\r\n\r\n"), "{empty}");
    assert!(!empty.contains("Content-Type"));
}

#[test]
fn out_of_range_status_is_encoded_as_500() {
    assert!(
        encoded(&Response::new(42), ReplyContext::http11(true))
            .starts_with("HTTP/1.1 500 Internal Server Error\r\n")
    );
    assert!(encoded(&Response::new(1000), ReplyContext::http11(true)).starts_with("HTTP/1.1 500 "));
    assert!(
        encoded(&Response::new(599), ReplyContext::http11(true)).starts_with("HTTP/1.1 599 \r\n")
    );
}

#[test]
fn header_injection_is_refused() {
    let resp = Response::new(200)
        .with_header("X-Ok", "fine\tvalue")
        .with_header("X-Evil", "a\r\nSet-Cookie: pwned=1")
        .with_header("X-Nul", "a\0b")
        .with_header("Bad Name", "x")
        .with_header("Bad:Name", "x")
        .with_header("", "x")
        .with_header("Content-Length", "0")
        .with_header("transfer-encoding", "chunked")
        .with_header("Connection", "keep-alive")
        .with_header("Date", "now");
    assert_eq!(
        resp.headers().collect::<Vec<_>>(),
        vec![(&b"X-Ok"[..], &b"fine\tvalue"[..])]
    );
    let text = encoded(&resp, ReplyContext::http11(true));
    assert!(!text.contains("pwned"));
    assert_eq!(
        Response::new(200)
            .try_with_header("X-Evil", "a\nb")
            .unwrap_err(),
        InvalidHeader::Value
    );
    assert_eq!(
        Response::new(200)
            .try_with_header("X Evil", "a")
            .unwrap_err(),
        InvalidHeader::Name
    );
    assert_eq!(
        Response::new(200)
            .try_with_header("Content-Length", "1")
            .unwrap_err(),
        InvalidHeader::Managed
    );
    assert!(Response::new(200).try_with_header("Location", "/x").is_ok());
    let typed = Response::new(200).with_body("bad\r\ntype", "x");
    assert_eq!(typed.content_type(), None);
    assert_eq!(&typed.body[..], b"x");
}

#[test]
fn content_type_header_replaces_the_builder_type() {
    let resp =
        Response::xml(200, "<a/>").with_header("content-type", "application/vnd.3gpp.bsf+xml");
    assert_eq!(
        resp.content_type(),
        Some(&b"application/vnd.3gpp.bsf+xml"[..])
    );
    assert_eq!(resp.headers().count(), 0);
    let text = encoded(&resp, ReplyContext::http11(true));
    assert_eq!(text.matches("Content-Type").count(), 1);
}

#[test]
fn chunked_responses_are_encoded() {
    let mut out = BytesMut::new();
    let resp = Response::json(200, "[").with_header("X-Stream", "yes");
    encode_chunked_head(&resp, false, &date(), &mut out);
    encode_chunk(b"", &mut out);
    encode_chunk(b"abcdefghijklmnopqrstuvwxyz", &mut out);
    encode_chunk(b"]", &mut out);
    encode_last_chunk(&mut out);
    assert_eq!(
        std::str::from_utf8(&out).unwrap(),
        "HTTP/1.1 200 OK\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\nContent-Type: application/json\r\nConnection: close\r\n\
Transfer-Encoding: chunked\r\nX-Stream: yes\r\n\r\n1\r\n[\r\n1A\r\nabcdefghijklmnopqrstuvwxyz\r\n1\r\n]\r\n0\r\n\r\n"
    );
}

#[test]
fn chunked_encoding_round_trips_through_the_parser() {
    let mut input =
        BytesMut::from(&b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"[..]);
    let payload: Vec<u8> = (0..=255u8).cycle().take(5000).collect();
    for piece in payload.chunks(777) {
        encode_chunk(piece, &mut input);
    }
    encode_last_chunk(&mut input);
    assert_eq!(parse_one(&input).body, payload);
    assert_eq!(
        parse_bytewise_with(Limits::default(), &input),
        parse_whole(&input)
    );
}

#[test]
fn chunked_head_for_bodiless_status_falls_back_to_plain_encoding() {
    let mut out = BytesMut::new();
    encode_chunked_head(&Response::new(204), true, &date(), &mut out);
    assert_eq!(
        &out[..],
        b"HTTP/1.1 204 No Content\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\n\r\n"
    );
}

#[test]
fn reason_phrases() {
    assert_eq!(reason_phrase(200), "OK");
    assert_eq!(reason_phrase(413), "Content Too Large");
    assert_eq!(reason_phrase(431), "Request Header Fields Too Large");
    assert_eq!(reason_phrase(505), "HTTP Version Not Supported");
    assert_eq!(reason_phrase(299), "");
}
