//! Malformed and hostile input against the real binary: every case gets a 4xx/5xx with a reason (or
//! a closed connection), and the server keeps serving other clients throughout — after each case, a
//! normal request on a fresh connection must be answered promptly.

mod common;

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use common::{Server, data_dir, enc, provision, public_identity_xml};

const HA1: &str = "0123456789abcdef0123456789abcdef";

/// How long any single answer may take before the test calls the server stuck (liveness only).
const ANSWER_WAIT: Duration = Duration::from_secs(15);

// ------------------------------------------------------------------ a raw HTTP/1.1 client

/// One parsed response.
#[derive(Debug)]
struct Resp {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Resp {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    fn closes(&self) -> bool {
        self.header("connection")
            .is_some_and(|v| v.eq_ignore_ascii_case("close"))
    }
}

/// How reading the rest of a connection ended.
#[derive(Debug, PartialEq, Eq)]
enum End {
    /// The server closed the connection (FIN or RST).
    Closed,
    /// Nothing more arrived and the connection stayed open until the wait passed.
    StillOpen,
}

/// A client connection that reads responses one at a time (so pipelined answers can be checked
/// in order).
struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Conn {
    fn open(addr: SocketAddr) -> Conn {
        let stream = TcpStream::connect(addr).expect("connect");
        stream.set_read_timeout(Some(ANSWER_WAIT)).unwrap();
        stream.set_nodelay(true).unwrap();
        Conn {
            stream,
            buf: Vec::new(),
        }
    }

    fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("write request");
    }

    /// Reads more bytes into the buffer; `Ok(false)` at end of stream.
    fn fill(&mut self) -> Result<bool, std::io::Error> {
        let mut chunk = [0u8; 16 * 1024];
        match self.stream.read(&mut chunk) {
            Ok(0) => Ok(false),
            Ok(n) => {
                self.buf.extend_from_slice(&chunk[..n]);
                Ok(true)
            }
            Err(e) => Err(e),
        }
    }

    /// Reads exactly one response (1xx included). `head` says the request was a HEAD.
    fn response(&mut self, head: bool) -> Result<Resp, String> {
        let head_end = loop {
            if let Some(pos) = find(&self.buf, b"\r\n\r\n") {
                break pos + 4;
            }
            match self.fill() {
                Ok(true) => {}
                Ok(false) => return Err(format!("connection closed; got {:?}", self.lossy())),
                Err(e) => return Err(format!("read failed ({e}); got {:?}", self.lossy())),
            }
        };
        let head_text = String::from_utf8(self.buf[..head_end].to_vec())
            .map_err(|_| format!("response head is not UTF-8: {:?}", self.lossy()))?;
        let mut lines = head_text.split("\r\n");
        let status_line = lines.next().unwrap_or_default();
        let mut parts = status_line.splitn(3, ' ');
        let version = parts.next().unwrap_or_default();
        if version != "HTTP/1.1" {
            return Err(format!("bad status line {status_line:?}"));
        }
        let status: u16 = parts
            .next()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| format!("bad status line {status_line:?}"))?;
        let headers: Vec<(String, String)> = lines
            .filter(|l| !l.is_empty())
            .map(|l| {
                let (n, v) = l.split_once(':').unwrap_or((l, ""));
                (n.trim().to_string(), v.trim().to_string())
            })
            .collect();
        self.buf.drain(..head_end);
        let mut resp = Resp {
            status,
            headers,
            body: Vec::new(),
        };
        if head || (100..200).contains(&status) || status == 204 || status == 304 {
            return Ok(resp);
        }
        if resp
            .header("transfer-encoding")
            .is_some_and(|v| v.eq_ignore_ascii_case("chunked"))
        {
            resp.body = self.chunked_body()?;
        } else if let Some(len) = resp.header("content-length") {
            let len: usize = len
                .parse()
                .map_err(|_| format!("bad Content-Length {len}"))?;
            while self.buf.len() < len {
                if !self.fill().map_err(|e| format!("body read failed: {e}"))? {
                    return Err(format!("connection closed inside a body of {len} bytes"));
                }
            }
            resp.body = self.buf.drain(..len).collect();
        } else {
            // Delimited by the end of the connection.
            while self.fill().map_err(|e| format!("body read failed: {e}"))? {}
            resp.body = std::mem::take(&mut self.buf);
        }
        Ok(resp)
    }

    fn chunked_body(&mut self) -> Result<Vec<u8>, String> {
        let mut body = Vec::new();
        loop {
            let line_end = loop {
                if let Some(pos) = find(&self.buf, b"\r\n") {
                    break pos;
                }
                if !self.fill().map_err(|e| format!("chunk read failed: {e}"))? {
                    return Err("connection closed inside a chunked body".into());
                }
            };
            let size_text = String::from_utf8_lossy(&self.buf[..line_end]).to_string();
            let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
                .map_err(|_| format!("bad chunk size {size_text:?}"))?;
            self.buf.drain(..line_end + 2);
            while self.buf.len() < size + 2 {
                if !self.fill().map_err(|e| format!("chunk read failed: {e}"))? {
                    return Err("connection closed inside a chunk".into());
                }
            }
            if size == 0 {
                // No trailers are sent: the last chunk is followed by the final CRLF.
                self.buf.drain(..2);
                return Ok(body);
            }
            body.extend_from_slice(&self.buf[..size]);
            self.buf.drain(..size + 2);
        }
    }

    /// Reads until the server closes or `wait` passes with the connection open; returns what
    /// arrived (beyond what was already buffered) and how it ended.
    fn rest(&mut self, wait: Duration) -> (Vec<u8>, End) {
        self.stream.set_read_timeout(Some(wait)).unwrap();
        let deadline = Instant::now() + wait;
        let end = loop {
            match self.fill() {
                Ok(true) if Instant::now() < deadline => {}
                Ok(true) => break End::StillOpen,
                Ok(false) => break End::Closed,
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                    break End::StillOpen;
                }
                Err(_) => break End::Closed,
            }
        };
        self.stream.set_read_timeout(Some(ANSWER_WAIT)).unwrap();
        (std::mem::take(&mut self.buf), end)
    }

    fn lossy(&self) -> String {
        String::from_utf8_lossy(&self.buf).into_owned()
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Sends `bytes` on a fresh connection and expects exactly one error answer with `status`, a
/// reason in the body, `Connection: close`, and then the connection closed.
fn expect_rejected(addr: SocketAddr, bytes: &[u8], statuses: &[u16], what: &str) -> Resp {
    let mut c = Conn::open(addr);
    // The server may answer and close before it has read everything.
    let _ = c.stream.write_all(bytes);
    let r = c
        .response(false)
        .unwrap_or_else(|e| panic!("{what}: no answer: {e}"));
    assert!(
        statuses.contains(&r.status),
        "{what}: status {} ({:?}), expected one of {statuses:?}",
        r.status,
        r.text()
    );
    assert!(
        !r.text().trim().is_empty(),
        "{what}: the {} answer gives no reason",
        r.status
    );
    assert!(
        r.closes(),
        "{what}: the answer does not say Connection: close"
    );
    let (rest, end) = c.rest(ANSWER_WAIT);
    assert_eq!(end, End::Closed, "{what}: connection left open");
    assert!(
        rest.is_empty(),
        "{what}: more was answered after the error: {:?}",
        String::from_utf8_lossy(&rest)
    );
    r
}

/// One request with `Connection: close` on a fresh connection.
fn once(addr: SocketAddr, method: &str, path: &str, body: Option<(&str, &[u8])>) -> Resp {
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: hearth\r\nConnection: close\r\n");
    if let Some((ctype, b)) = body {
        req.push_str(&format!(
            "Content-Type: {ctype}\r\nContent-Length: {}\r\n",
            b.len()
        ));
    }
    req.push_str("\r\n");
    let mut bytes = req.into_bytes();
    if let Some((_, b)) = body {
        bytes.extend_from_slice(b);
    }
    let mut c = Conn::open(addr);
    c.send(&bytes);
    c.response(method == "HEAD")
        .unwrap_or_else(|e| panic!("{method} {path}: {e}"))
}

/// A normal request on each listener, on fresh connections, must be answered promptly.
fn assert_serving(s: &Server) {
    for addr in [s.prov, s.sig] {
        let started = Instant::now();
        let r = once(addr, "GET", "/ping", None);
        assert_eq!(r.status, 200, "ping on {addr}: {}", r.text());
        assert!(
            started.elapsed() < ANSWER_WAIT,
            "ping on {addr} took {:?}",
            started.elapsed()
        );
    }
}

/// Starts a server whose HTTP section is `http_toml` (a `[http]` table body).
fn start_configured(dir: &Path, shards: usize, http_toml: &str) -> Server {
    let path = dir.join("hearth.toml");
    std::fs::write(&path, format!("[http]\n{http_toml}\n")).unwrap();
    Server::start_with(dir, shards, &["--config", path.to_str().unwrap()])
}

// ------------------------------------------------------------------ bodies

#[test]
fn bad_json_and_xml_bodies_get_400_with_a_reason() {
    let dir = data_dir();
    let s = Server::start(dir.path(), 2);
    let impi = "alice@example.com";
    let impu = "sip:alice@example.com";
    let sub = provision(&s, impi, &[impu], HA1);
    let sp_url = format!("/irs/{}/service_profiles/{}", sub.irs, sub.sp);

    let deep_json = "[".repeat(100_000);
    let mut bad_json: Vec<Vec<u8>> = [
        "",
        "{",
        "}",
        "null",
        "[]",
        "\"digest_ha1\"",
        r#"{"digest_ha1": 5}"#,
        r#"{"digest_ha1": "0123456789abcdef0123456789abcdef",}"#,
        r#"{"digest_ha1": "0123456789abcdef0123456789abcdef"} trailing"#,
        r#"{"reqtype": "reg", "reqtype": "reg"}"#,
        "<PublicIdentity/>",
    ]
    .iter()
    .map(|s| s.as_bytes().to_vec())
    .collect();
    bad_json.push(b"{\"digest_ha1\": \"\xff\xfe\"}".to_vec());
    bad_json.push(deep_json.clone().into_bytes());

    let laughs = "<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\">\
<!ENTITY lol2 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">]>\
<PublicIdentity><Identity>&lol2;</Identity></PublicIdentity>";
    let deep_xml = "<PublicIdentity>".repeat(50_000);
    let mut bad_xml: Vec<Vec<u8>> = [
        "",
        "not xml at all",
        "<PublicIdentity>",
        "<PublicIdentity><Identity>sip:alice@example.com</Identity>",
        "<PublicIdentity></ServiceProfile>",
        "<PublicIdentity><Identity>sip:alice@example.com</Identity></PublicIdentity><x/>",
        "<ServiceProfile><InitialFilterCriteria><Priority>x",
        "<a b='1' b='2'/>",
        "{\"json\": true}",
        laughs,
    ]
    .iter()
    .map(|s| s.as_bytes().to_vec())
    .collect();
    bad_xml.push(b"<PublicIdentity><Identity>\xff\xfe</Identity></PublicIdentity>".to_vec());
    bad_xml.push(deep_xml.into_bytes());

    let mut checked = 0;
    let mut check = |addr: SocketAddr, method: &str, path: &str, ctype: &str, body: &[u8]| {
        let r = once(addr, method, path, Some((ctype, body)));
        let shown = String::from_utf8_lossy(&body[..body.len().min(80)]).into_owned();
        assert_eq!(
            r.status,
            400,
            "{method} {path} with {shown:?}: {}",
            r.text()
        );
        assert!(!r.text().trim().is_empty(), "no reason for {shown:?}");
        assert!(
            r.header("content-type")
                .is_some_and(|t| t.starts_with("text/plain")),
            "{:?}",
            r.headers
        );
        checked += 1;
        assert_serving(&s);
    };
    for body in &bad_json {
        check(
            s.prov,
            "PUT",
            &format!("/private/{}", enc(impi)),
            "application/json",
            body,
        );
        check(
            s.sig,
            "PUT",
            &format!("/impu/{}/reg-data", enc(impu)),
            "application/json",
            body,
        );
    }
    for body in &bad_xml {
        check(
            s.prov,
            "PUT",
            &format!("{sp_url}/public_ids/{}", enc(impu)),
            "application/xml",
            body,
        );
        check(
            s.prov,
            "PUT",
            &format!("{sp_url}/filter_criteria"),
            "application/xml",
            body,
        );
    }
    assert_eq!(checked, 2 * bad_json.len() + 2 * bad_xml.len());

    // Nothing that was refused changed what is stored.
    let r = s.prov("GET", &format!("/private/{}", enc(impi)), None);
    assert_eq!(r.json()["digest_ha1"], HA1);
    let r = s.prov("GET", &format!("{sp_url}/public_ids/{}", enc(impu)), None);
    assert_eq!(r.status, 200);
    assert_eq!(r.body, public_identity_xml(impu));
    let r = s.prov("GET", &format!("{sp_url}/filter_criteria"), None);
    assert!(r.body.contains("sip:mmtel.example.com"), "{}", r.body);
    let r = s.sig("GET", &format!("/impu/{}/reg-data", enc(impu)), None);
    assert!(
        r.body.contains("<RegistrationState>NOT_REGISTERED<"),
        "{}",
        r.body
    );
}

#[test]
fn ten_megabyte_body_gets_413_before_it_is_sent() {
    let dir = data_dir();
    let s = Server::start(dir.path(), 2);
    const TEN_MB: usize = 10 * 1024 * 1024;
    for (addr, path) in [
        (s.prov, "/private/big%40example.com"),
        (s.sig, "/impu/sip%3Abig%40example.com/reg-data"),
    ] {
        // Only the head goes out first: the answer must come from Content-Length alone, so the
        // server cannot have read (or buffered) the body.
        let mut c = Conn::open(addr);
        c.send(
            format!(
                "PUT {path} HTTP/1.1\r\nHost: hearth\r\nContent-Type: application/json\r\n\
                 Content-Length: {TEN_MB}\r\n\r\n"
            )
            .as_bytes(),
        );
        let r = c.response(false).expect("413 before the body");
        assert_eq!(r.status, 413, "{}", r.text());
        assert!(!r.text().trim().is_empty());
        assert!(r.closes());
        // Streaming the body now fails: the connection is closed, and long before 10 MB went out.
        let piece = vec![b'x'; 64 * 1024];
        let mut sent = 0;
        let mut failed = false;
        while sent < TEN_MB {
            match c.stream.write(&piece) {
                Ok(n) => sent += n,
                Err(_) => {
                    failed = true;
                    break;
                }
            }
        }
        assert!(failed, "the server accepted all 10 MB of a refused body");
        assert_eq!(c.rest(ANSWER_WAIT).1, End::Closed);
        assert_serving(&s);
    }

    // Head and body streamed together from another thread: the 413 arrives while the client is
    // still writing, and the writer is stopped by the closed connection.
    let mut c = Conn::open(s.prov);
    let mut writer = c.stream.try_clone().unwrap();
    let pusher = thread::spawn(move || {
        let head = format!(
            "PUT /private/big%40example.com HTTP/1.1\r\nHost: hearth\r\n\
             Content-Type: application/json\r\nContent-Length: {TEN_MB}\r\n\r\n"
        );
        writer.write_all(head.as_bytes()).unwrap();
        let piece = vec![b'x'; 64 * 1024];
        let mut sent = 0;
        while sent < TEN_MB {
            match writer.write(&piece) {
                Ok(n) => sent += n,
                Err(_) => return (sent, true),
            }
        }
        (sent, false)
    });
    let r = c.response(false).expect("413");
    assert_eq!(r.status, 413);
    let (sent, failed) = pusher.join().unwrap();
    assert!(failed, "all {sent} bytes were accepted");
    assert_serving(&s);

    // The same for a chunked body that announces 10 MB in one chunk.
    expect_rejected(
        s.prov,
        b"PUT /private/big%40example.com HTTP/1.1\r\nHost: hearth\r\n\
          Transfer-Encoding: chunked\r\n\r\nA00000\r\nxxxx",
        &[413],
        "10 MB chunk",
    );
    assert_serving(&s);
    assert_eq!(
        s.prov("GET", "/private/big%40example.com", None).status,
        404
    );
}

// ------------------------------------------------------------------ request lines and heads

#[test]
fn broken_request_lines_and_oversized_heads() {
    let dir = data_dir();
    let s = Server::start(dir.path(), 2);
    let many_headers: Vec<u8> = {
        let mut v = b"GET /ping HTTP/1.1\r\nHost: hearth\r\n".to_vec();
        for i in 0..10_000 {
            v.extend_from_slice(format!("X-H{i}: v\r\n").as_bytes());
        }
        v.extend_from_slice(b"\r\n");
        v
    };
    let big_block: Vec<u8> = {
        // 40 headers of 500 bytes: fewer than the header-count limit, more than the 16 KiB head.
        let mut v = b"GET /ping HTTP/1.1\r\nHost: hearth\r\n".to_vec();
        for i in 0..40 {
            v.extend_from_slice(format!("X-H{i}: {}\r\n", "v".repeat(500)).as_bytes());
        }
        v.extend_from_slice(b"\r\n");
        v
    };
    let long_line = format!(
        "GET /{} HTTP/1.1\r\nHost: hearth\r\n\r\n",
        "a".repeat(9 * 1024)
    );
    let cases: Vec<(&str, Vec<u8>, &[u16])> = vec![
        (
            "garbage",
            b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03garbage\r\n\r\n".to_vec(),
            &[400],
        ),
        ("text garbage", b"hello there\r\n\r\n".to_vec(), &[400]),
        (
            "missing version",
            b"GET /ping\r\nHost: hearth\r\n\r\n".to_vec(),
            &[400],
        ),
        (
            "missing target",
            b"GET  HTTP/1.1\r\nHost: hearth\r\n\r\n".to_vec(),
            &[400],
        ),
        (
            "HTTP/2 preface",
            b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec(),
            &[505],
        ),
        (
            "HTTP/2.0 request line",
            b"GET /ping HTTP/2.0\r\nHost: hearth\r\n\r\n".to_vec(),
            &[505],
        ),
        (
            "HTTP/3.1",
            b"GET /ping HTTP/3.1\r\nHost: hearth\r\n\r\n".to_vec(),
            &[505],
        ),
        (
            "not HTTP",
            b"GET /ping FTP/1.1\r\nHost: hearth\r\n\r\n".to_vec(),
            &[400],
        ),
        (
            "lone LF inside the request line",
            b"GET /ping\nHTTP/1.1\r\nHost: hearth\r\n\r\n".to_vec(),
            &[400],
        ),
        (
            "bare CR",
            b"GET /ping HTTP/1.1\rHost: hearth\r\n\r\n".to_vec(),
            &[400],
        ),
        (
            "NUL in the target",
            b"GET /pi\x00ng HTTP/1.1\r\nHost: hearth\r\n\r\n".to_vec(),
            &[400],
        ),
        (
            "space in header name",
            b"GET /ping HTTP/1.1\r\nHost : hearth\r\n\r\n".to_vec(),
            &[400],
        ),
        (
            "obs-fold",
            b"GET /ping HTTP/1.1\r\nHost: hearth\r\nX-A: a\r\n b\r\n\r\n".to_vec(),
            &[400],
        ),
        (
            "no Host in HTTP/1.1",
            b"GET /ping HTTP/1.1\r\n\r\n".to_vec(),
            &[400],
        ),
        (
            "two Hosts",
            b"GET /ping HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n".to_vec(),
            &[400],
        ),
        (
            "fragment in target",
            b"GET /ping#x HTTP/1.1\r\nHost: hearth\r\n\r\n".to_vec(),
            &[400],
        ),
        (
            "relative target",
            b"GET ping HTTP/1.1\r\nHost: hearth\r\n\r\n".to_vec(),
            &[400],
        ),
        ("9 KB request line", long_line.into_bytes(), &[414]),
        ("10,000 headers", many_headers, &[431]),
        ("head over 16 KiB", big_block, &[431]),
        (
            "unsupported expectation",
            b"GET /ping HTTP/1.1\r\nHost: hearth\r\nExpect: magic\r\n\r\n".to_vec(),
            &[417],
        ),
    ];
    for (what, bytes, statuses) in &cases {
        for addr in [s.prov, s.sig] {
            expect_rejected(addr, bytes, statuses, what);
            assert_serving(&s);
        }
    }

    // A request line that never ends: 414 as soon as the limit passes, without waiting for more.
    let mut c = Conn::open(s.prov);
    c.send(format!("GET /{}", "b".repeat(9 * 1024)).as_bytes());
    let r = c.response(false).expect("414 for an unfinished long line");
    assert_eq!(r.status, 414);
    assert_eq!(c.rest(ANSWER_WAIT).1, End::Closed);

    // Lines ending in a lone LF throughout are accepted (RFC 9112 §2.2 lets a recipient treat LF
    // as a line terminator), and then framed correctly: two pipelined requests, two answers.
    let mut c = Conn::open(s.prov);
    c.send(b"GET /ping HTTP/1.1\nHost: hearth\n\nGET /nope HTTP/1.1\nHost: hearth\n\n");
    assert_eq!(c.response(false).unwrap().status, 200);
    assert_eq!(c.response(false).unwrap().status, 404);
    assert_serving(&s);
}

#[test]
fn unknown_paths_and_methods() {
    let dir = data_dir();
    let s = Server::start(dir.path(), 2);
    for addr in [s.prov, s.sig] {
        for path in [
            "/nope",
            "/",
            "/ping/extra",
            "/private",
            "/impi",
            "/irs/x/y/z/w/v/u",
        ] {
            let r = once(addr, "GET", path, None);
            assert_eq!(r.status, 404, "GET {path} on {addr}: {}", r.text());
            assert!(!r.text().trim().is_empty());
        }
        // Known methods a resource does not support: 405 naming the allowed ones.
        for method in ["DELETE", "PUT", "POST", "PATCH", "OPTIONS"] {
            let r = once(addr, method, "/ping", Some(("application/json", b"{}")));
            assert_eq!(r.status, 405, "{method} /ping: {}", r.text());
            assert_eq!(r.header("allow"), Some("GET"), "{:?}", r.headers);
            assert!(!r.text().trim().is_empty());
        }
        // Methods the server does not know at all: 501 with a reason.
        for method in ["FOO", "BREW", "get", "PROPFIND", "TRACE", "CONNECT"] {
            let r = once(addr, method, "/ping", None);
            assert_eq!(r.status, 501, "{method} /ping: {}", r.text());
            assert!(!r.text().trim().is_empty());
        }
        // A 4xx from the router does not end a keep-alive connection.
        let mut c = Conn::open(addr);
        c.send(b"GET /nope HTTP/1.1\r\nHost: hearth\r\n\r\nFOO /ping HTTP/1.1\r\nHost: hearth\r\n\r\nGET /ping HTTP/1.1\r\nHost: hearth\r\n\r\n");
        assert_eq!(c.response(false).unwrap().status, 404);
        assert_eq!(c.response(false).unwrap().status, 501);
        assert_eq!(c.response(false).unwrap().status, 200);
        assert_serving(&s);
    }
    let r = once(
        s.prov,
        "DELETE",
        "/private/x%40example.com/associated_public_ids",
        None,
    );
    assert_eq!(r.status, 405);
    assert_eq!(r.header("allow"), Some("GET"));
    let r = once(
        s.sig,
        "DELETE",
        "/impu/sip%3Ax%40example.com/reg-data",
        None,
    );
    assert_eq!(r.status, 405);
    assert_eq!(r.header("allow"), Some("GET, PUT"));
    // CONNECT's authority-form target is not a path: refused by the parser.
    expect_rejected(
        s.prov,
        b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n",
        &[400],
        "CONNECT authority-form",
    );
    assert_serving(&s);
}

#[test]
fn request_smuggling_shapes_are_refused() {
    let dir = data_dir();
    let s = Server::start(dir.path(), 2);
    // Each carries a second request that a lenient server would run; the answer must be the
    // rejection alone, then a closed connection.
    let smuggled = "GET /private/victim%40example.com HTTP/1.1\r\nHost: hearth\r\n\r\n";
    let cases: Vec<(&str, String)> = vec![
        (
            "CL then TE",
            format!(
                "POST /irs/ HTTP/1.1\r\nHost: hearth\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n{smuggled}"
            ),
        ),
        (
            "TE then CL",
            format!(
                "POST /irs/ HTTP/1.1\r\nHost: hearth\r\nTransfer-Encoding: chunked\r\nContent-Length: 60\r\n\r\n0\r\n\r\n{smuggled}"
            ),
        ),
        (
            "two Content-Lengths",
            format!(
                "POST /irs/ HTTP/1.1\r\nHost: hearth\r\nContent-Length: 0\r\nContent-Length: 60\r\n\r\n{smuggled}"
            ),
        ),
        (
            "Content-Length list",
            format!(
                "POST /irs/ HTTP/1.1\r\nHost: hearth\r\nContent-Length: 0, 60\r\n\r\n{smuggled}"
            ),
        ),
        (
            "signed Content-Length",
            format!("POST /irs/ HTTP/1.1\r\nHost: hearth\r\nContent-Length: +0\r\n\r\n{smuggled}"),
        ),
        (
            "hex Content-Length",
            format!("POST /irs/ HTTP/1.1\r\nHost: hearth\r\nContent-Length: 0x0\r\n\r\n{smuggled}"),
        ),
        (
            "chunked twice",
            format!(
                "POST /irs/ HTTP/1.1\r\nHost: hearth\r\nTransfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n{smuggled}"
            ),
        ),
        (
            "TE in HTTP/1.0",
            format!("POST /irs/ HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n{smuggled}"),
        ),
        (
            "TE with space before colon",
            format!(
                "POST /irs/ HTTP/1.1\r\nHost: hearth\r\nTransfer-Encoding : chunked\r\n\r\n0\r\n\r\n{smuggled}"
            ),
        ),
        (
            "bad chunk size",
            format!(
                "POST /irs/ HTTP/1.1\r\nHost: hearth\r\nTransfer-Encoding: chunked\r\n\r\n;x\r\n\r\n{smuggled}"
            ),
        ),
        (
            "LF inside a chunk extension",
            format!(
                "POST /irs/ HTTP/1.1\r\nHost: hearth\r\nTransfer-Encoding: chunked\r\n\r\n0;a\nb\r\n\r\n{smuggled}"
            ),
        ),
    ];
    for (what, text) in &cases {
        for addr in [s.prov, s.sig] {
            expect_rejected(addr, text.as_bytes(), &[400, 501], what);
            assert_serving(&s);
        }
    }
    // An unknown transfer coding is not implemented (501), and still closes.
    expect_rejected(
        s.prov,
        format!("POST /irs/ HTTP/1.1\r\nHost: hearth\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n{smuggled}").as_bytes(),
        &[501],
        "gzip coding",
    );
    // None of the refused POSTs (nor the smuggled requests) reached the store.
    let r = s.prov("GET", "/metrics", None);
    assert!(
        r.body.contains("\nhearth_store_writes_total 0\n"),
        "{}",
        r.body
    );
}

// ------------------------------------------------------------------ slow and idle clients

/// Sends `head`, then `pieces` one per `gap`, until the server answers or closes; returns what it
/// answered and how long after the first byte the connection ended.
fn dribble(
    addr: SocketAddr,
    head: &[u8],
    pieces: &[Vec<u8>],
    gap: Duration,
) -> (Vec<u8>, Duration) {
    let mut stream = TcpStream::connect(addr).expect("connect");
    let mut reader = stream.try_clone().unwrap();
    reader
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    let started = Instant::now();
    let done = Arc::new(AtomicBool::new(false));
    let done_r = Arc::clone(&done);
    let read = thread::spawn(move || {
        let mut got = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            match reader.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
        done_r.store(true, Ordering::SeqCst);
        (got, started.elapsed())
    });
    let _ = stream.write_all(head);
    for piece in pieces {
        thread::sleep(gap);
        if done.load(Ordering::SeqCst) || stream.write_all(piece).is_err() {
            break;
        }
    }
    read.join().unwrap()
}

/// `bytes` as one-byte pieces.
fn bytewise(bytes: &[u8]) -> Vec<Vec<u8>> {
    bytes.iter().map(|b| vec![*b]).collect()
}

/// The status of the first response in `bytes`, if any.
fn first_status(bytes: &[u8]) -> Option<u16> {
    let text = String::from_utf8_lossy(bytes);
    text.strip_prefix("HTTP/1.1 ")?.get(..3)?.parse().ok()
}

#[test]
fn slow_clients_are_cut_off_and_do_not_block_others() {
    let dir = data_dir();
    let s = start_configured(
        dir.path(),
        2,
        "request_timeout_secs = 2\nidle_timeout_secs = 3",
    );
    // A head that would take 30 s to send at one byte per 200 ms.
    let slow_head = format!(
        "GET /ping HTTP/1.1\r\nHost: hearth\r\nX-Pad: {}\r\n\r\n",
        "p".repeat(120)
    );
    // A body sent one chunk per 500 ms, which would take 20 s.
    let chunked_head = b"PUT /private/slow%40example.com HTTP/1.1\r\nHost: hearth\r\n\
Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
        .to_vec();
    let length_head = b"PUT /private/slow%40example.com HTTP/1.1\r\nHost: hearth\r\n\
Content-Type: application/json\r\nContent-Length: 100\r\n\r\n"
        .to_vec();

    let mut slow = Vec::new();
    for i in 0..6 {
        let addr = if i % 2 == 0 { s.prov } else { s.sig };
        let pieces = bytewise(slow_head.as_bytes());
        slow.push(thread::spawn(move || {
            (
                "head",
                dribble(addr, b"", &pieces, Duration::from_millis(200)),
            )
        }));
    }
    for addr in [s.prov, s.sig] {
        let head = chunked_head.clone();
        slow.push(thread::spawn(move || {
            let pieces = vec![b"1\r\n{\r\n".to_vec(); 40];
            (
                "chunked body",
                dribble(addr, &head, &pieces, Duration::from_millis(500)),
            )
        }));
    }
    for addr in [s.prov, s.sig] {
        let head = length_head.clone();
        slow.push(thread::spawn(move || {
            let pieces = bytewise(&[b' '; 100]);
            (
                "length body",
                dribble(addr, &head, &pieces, Duration::from_millis(300)),
            )
        }));
    }

    // While they hang, everybody else is served.
    let until = Instant::now() + Duration::from_secs(3);
    while Instant::now() < until {
        assert_serving(&s);
        thread::sleep(Duration::from_millis(100));
    }

    for t in slow {
        let (what, (got, took)) = t.join().unwrap();
        // 408 (or a plain close) once the 2 s request timeout passes; the bound only checks that
        // the server does cut them off, well before the client would have finished.
        match first_status(&got) {
            Some(408) => assert!(
                String::from_utf8_lossy(&got).contains("Connection: close"),
                "{what}: {:?}",
                String::from_utf8_lossy(&got)
            ),
            None => assert!(
                got.is_empty(),
                "{what}: {:?}",
                String::from_utf8_lossy(&got)
            ),
            Some(other) => panic!(
                "{what}: answered {other} instead of timing out: {:?}",
                String::from_utf8_lossy(&got)
            ),
        }
        assert!(
            took < Duration::from_secs(15),
            "{what}: slow client held its connection for {took:?}"
        );
    }
    assert_serving(&s);
}

#[test]
fn idle_connections_are_closed_and_many_do_not_block_others() {
    let dir = data_dir();
    let s = start_configured(
        dir.path(),
        2,
        "request_timeout_secs = 2\nidle_timeout_secs = 3",
    );

    // A keep-alive connection is kept between requests...
    let mut c = Conn::open(s.prov);
    c.send(b"GET /ping HTTP/1.1\r\nHost: hearth\r\n\r\n");
    assert_eq!(c.response(false).unwrap().status, 200);
    thread::sleep(Duration::from_millis(500));
    c.send(b"GET /ping HTTP/1.1\r\nHost: hearth\r\n\r\n");
    let r = c.response(false).unwrap();
    assert_eq!(r.status, 200);
    assert!(!r.closes());
    // ...and closed, silently, once idle for longer than the idle timeout.
    let started = Instant::now();
    let (rest, end) = c.rest(Duration::from_secs(30));
    assert_eq!(end, End::Closed, "idle connection never closed");
    assert!(rest.is_empty(), "{:?}", String::from_utf8_lossy(&rest));
    assert!(started.elapsed() < Duration::from_secs(20));

    // 200 connections that never send anything do not stop others from being served.
    let mut idle: Vec<TcpStream> = (0..200)
        .map(|i| TcpStream::connect(if i % 2 == 0 { s.prov } else { s.sig }).unwrap())
        .collect();
    assert_serving(&s);
    let r = s.prov("GET", "/private/nobody%40example.com", None);
    assert_eq!(r.status, 404);
    // Add partial requests on top.
    for (i, stream) in idle.iter_mut().enumerate().take(50) {
        let _ = stream.write_all(format!("GET /ping{i} HTTP/1.1\r\nHo").as_bytes());
    }
    assert_serving(&s);
    // They are all closed by the server in time (idle timeout, or 408 for the partial ones).
    for (i, stream) in idle.iter_mut().enumerate() {
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        let mut got = Vec::new();
        let closed = loop {
            let mut buf = [0u8; 1024];
            match stream.read(&mut buf) {
                Ok(0) => break true,
                Ok(n) => got.extend_from_slice(&buf[..n]),
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                    break false;
                }
                Err(_) => break true,
            }
        };
        assert!(closed, "connection {i} still open");
        if i < 50 {
            assert!(
                got.is_empty() || first_status(&got) == Some(408),
                "{:?}",
                String::from_utf8_lossy(&got)
            );
        } else {
            assert!(got.is_empty(), "{:?}", String::from_utf8_lossy(&got));
        }
    }
    assert_serving(&s);
}

// ------------------------------------------------------------------ keep-alive and pipelining

#[test]
fn pipelined_requests_are_answered_in_order() {
    let dir = data_dir();
    let s = Server::start(dir.path(), 2);
    // Even subscribers exist, each with its own HA1 (so answers can be told apart).
    let ha1 = |i: usize| format!("{i:032x}");
    for i in (0..50).step_by(2) {
        let r = s.prov(
            "PUT",
            &format!("/private/p{i}%40example.com"),
            Some((
                "application/json",
                &format!(r#"{{"digest_ha1":"{}"}}"#, ha1(i)),
            )),
        );
        assert_eq!(r.status, 200);
    }
    // 50 requests in one write on each listener; on the signalling one they are owned by
    // different shards, so answers come back from both but must be written in request order.
    for (addr, prefix) in [(s.prov, "/private/p"), (s.sig, "/impi/p")] {
        let suffix = if addr == s.sig { "/av/digest" } else { "" };
        let mut all = Vec::new();
        for i in 0..50 {
            all.extend_from_slice(
                format!("GET {prefix}{i}%40example.com{suffix} HTTP/1.1\r\nHost: hearth\r\n\r\n")
                    .as_bytes(),
            );
        }
        let mut c = Conn::open(addr);
        c.send(&all);
        for i in 0..50 {
            let r = c
                .response(false)
                .unwrap_or_else(|e| panic!("answer {i}: {e}"));
            if i % 2 == 0 {
                assert_eq!(r.status, 200, "answer {i}: {}", r.text());
                assert!(
                    r.text().contains(&ha1(i)),
                    "answer {i} out of order: {}",
                    r.text()
                );
            } else {
                assert_eq!(r.status, 404, "answer {i}: {}", r.text());
            }
        }
        assert_eq!(c.rest(Duration::from_millis(300)).1, End::StillOpen);
    }

    // Pipelined writes with bodies, interleaved with reads of what they wrote.
    let mut all = Vec::new();
    for i in 0..25 {
        let body = format!(r#"{{"digest_ha1":"{}"}}"#, ha1(1000 + i));
        all.extend_from_slice(
            format!(
                "PUT /private/w{i}%40example.com HTTP/1.1\r\nHost: hearth\r\n\
                 Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            )
            .as_bytes(),
        );
        all.extend_from_slice(
            format!("GET /private/w{i}%40example.com HTTP/1.1\r\nHost: hearth\r\n\r\n").as_bytes(),
        );
    }
    let mut c = Conn::open(s.prov);
    c.send(&all);
    for i in 0..25 {
        assert_eq!(c.response(false).unwrap().status, 200, "PUT {i}");
        let r = c.response(false).unwrap();
        assert_eq!(r.status, 200, "GET {i}");
        assert!(r.text().contains(&ha1(1000 + i)), "{}", r.text());
    }
    // The last of a pipelined batch may ask to close: answered, then closed.
    c.send(b"GET /ping HTTP/1.1\r\nHost: hearth\r\n\r\nGET /ping HTTP/1.1\r\nHost: hearth\r\nConnection: close\r\n\r\nGET /ping HTTP/1.1\r\nHost: hearth\r\n\r\n");
    assert!(!c.response(false).unwrap().closes());
    assert!(c.response(false).unwrap().closes());
    let (rest, end) = c.rest(ANSWER_WAIT);
    assert_eq!(end, End::Closed);
    assert!(rest.is_empty(), "answered after Connection: close");
}

#[test]
fn one_keep_alive_connection_serves_a_thousand_requests() {
    let dir = data_dir();
    let s = Server::start(dir.path(), 2);
    provision(&s, "ka@example.com", &["sip:ka@example.com"], HA1);
    for addr in [s.prov, s.sig] {
        let mut c = Conn::open(addr);
        for i in 0..1000 {
            let path = match (addr == s.sig, i % 3) {
                (_, 0) => "/ping",
                (false, 1) => "/private/ka%40example.com",
                (true, 1) => "/impi/ka%40example.com/av/digest",
                _ => "/nope",
            };
            c.send(format!("GET {path} HTTP/1.1\r\nHost: hearth\r\n\r\n").as_bytes());
            let r = c
                .response(false)
                .unwrap_or_else(|e| panic!("request {i} ({path}): {e}"));
            let want = if path == "/nope" { 404 } else { 200 };
            assert_eq!(r.status, want, "request {i} ({path}): {}", r.text());
            assert!(!r.closes(), "request {i}: the server closed the connection");
        }
    }
}

// ------------------------------------------------------------------ HEAD, HTTP/1.0, Expect

#[test]
fn head_http10_and_expect_continue() {
    let dir = data_dir();
    let s = Server::start(dir.path(), 2);
    provision(&s, "h@example.com", &["sip:h@example.com"], HA1);

    // HEAD: the headers of GET, no body (the next answer on the connection follows at once).
    for addr in [s.prov, s.sig] {
        let mut c = Conn::open(addr);
        c.send(b"HEAD /ping HTTP/1.1\r\nHost: hearth\r\n\r\nGET /ping HTTP/1.1\r\nHost: hearth\r\n\r\n");
        let head = c.response(true).unwrap();
        assert_eq!(head.status, 200);
        assert_eq!(head.header("content-length"), Some("3"));
        let get = c
            .response(false)
            .expect("GET answer right after the HEAD headers");
        assert_eq!(get.status, 200);
        assert_eq!(get.body, b"OK\n");
        assert_eq!(get.header("content-length"), head.header("content-length"));
    }
    // HEAD of a streamed listing: no chunks either.
    let mut c = Conn::open(s.prov);
    c.send(
        b"HEAD /public/ HTTP/1.1\r\nHost: hearth\r\n\r\nGET /ping HTTP/1.1\r\nHost: hearth\r\n\r\n",
    );
    let head = c.response(true).unwrap();
    assert!(matches!(head.status, 200 | 405), "{head:?}");
    assert_eq!(c.response(false).unwrap().status, 200);

    // HTTP/1.0: answered, then closed; with keep-alive asked for, kept.
    for addr in [s.prov, s.sig] {
        let mut c = Conn::open(addr);
        c.send(b"GET /ping HTTP/1.0\r\n\r\n");
        let r = c.response(false).unwrap();
        assert_eq!(r.status, 200);
        assert_eq!(r.body, b"OK\n");
        assert_eq!(c.rest(ANSWER_WAIT).1, End::Closed);
        let mut c = Conn::open(addr);
        c.send(b"GET /ping HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
        let r = c.response(false).unwrap();
        assert_eq!(r.status, 200);
        assert!(
            r.header("connection")
                .is_some_and(|v| v.eq_ignore_ascii_case("keep-alive"))
        );
        c.send(b"GET /nope HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
        assert_eq!(c.response(false).unwrap().status, 404);
    }
    // HTTP/1.0 gets the streamed listing whole (no chunked encoding in 1.0).
    let mut c = Conn::open(s.prov);
    c.send(b"GET /public/ HTTP/1.0\r\n\r\n");
    let r = c.response(false).unwrap();
    assert_eq!(r.status, 200);
    assert!(r.header("transfer-encoding").is_none(), "{:?}", r.headers);
    let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(v["public_ids"].as_array().unwrap().len(), 1);
    // An HTTP/1.0 body with Content-Length works.
    let body = format!(r#"{{"digest_ha1":"{HA1}"}}"#);
    let mut c = Conn::open(s.prov);
    c.send(
        format!(
            "PUT /private/old%40example.com HTTP/1.0\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .as_bytes(),
    );
    assert_eq!(c.response(false).unwrap().status, 200);

    // Expect: 100-continue: 100 first, the body, then the answer.
    let body = format!(r#"{{"digest_ha1":"{HA1}","realm":"continue.net"}}"#);
    let mut c = Conn::open(s.prov);
    c.send(
        format!(
            "PUT /private/cont%40example.com HTTP/1.1\r\nHost: hearth\r\n\
             Content-Type: application/json\r\nExpect: 100-continue\r\nContent-Length: {}\r\n\r\n",
            body.len()
        )
        .as_bytes(),
    );
    let interim = c.response(false).expect("100 Continue");
    assert_eq!(interim.status, 100);
    c.send(body.as_bytes());
    let r = c.response(false).unwrap();
    assert_eq!(r.status, 200, "{}", r.text());
    let r = s.prov("GET", "/private/cont%40example.com", None);
    assert_eq!(r.json()["realm"], "continue.net");
    // ...on the signalling side too.
    let body = r#"{"reqtype":"reg"}"#;
    let mut c = Conn::open(s.sig);
    c.send(
        format!(
            "PUT /impu/sip%3Ah%40example.com/reg-data HTTP/1.1\r\nHost: hearth\r\n\
             Expect: 100-continue\r\nContent-Length: {}\r\n\r\n",
            body.len()
        )
        .as_bytes(),
    );
    assert_eq!(c.response(false).unwrap().status, 100);
    c.send(body.as_bytes());
    let r = c.response(false).unwrap();
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(
        r.text().contains("<RegistrationState>REGISTERED<"),
        "{}",
        r.text()
    );
    // A body over the limit gets 413 instead of 100.
    let mut c = Conn::open(s.prov);
    c.send(
        b"PUT /private/cont%40example.com HTTP/1.1\r\nHost: hearth\r\n\
          Expect: 100-continue\r\nContent-Length: 10485760\r\n\r\n",
    );
    let r = c.response(false).unwrap();
    assert_eq!(r.status, 413);
    assert_eq!(c.rest(ANSWER_WAIT).1, End::Closed);
    assert_serving(&s);
}

// ------------------------------------------------------------------ identities

/// A request to try: method, path, and an optional (content type, body).
type Attempt = (&'static str, String, Option<(&'static str, Vec<u8>)>);

#[test]
fn odd_identities_get_400_not_500() {
    let dir = data_dir();
    let s = Server::start(dir.path(), 2);
    let sub = provision(&s, "odd@example.com", &["sip:odd@example.com"], HA1);
    let sp_url = format!("/irs/{}/service_profiles/{}", sub.irs, sub.sp);
    let long = "a".repeat(600);
    let ids = [
        "nul%00byte%40example.com".to_string(),
        "%00".to_string(),
        "bad%FFutf8".to_string(),
        "%C3%28".to_string(),
        "trunc%4".to_string(),
        "bad%zzescape".to_string(),
        "line%0Abreak".to_string(),
        "del%7F".to_string(),
        long.clone(),
        format!("sip%3A{long}%40example.com"),
    ];
    let json_body = format!(r#"{{"digest_ha1":"{HA1}"}}"#);
    for id in &ids {
        let prov_requests: Vec<Attempt> = vec![
            ("GET", format!("/private/{id}"), None),
            (
                "PUT",
                format!("/private/{id}"),
                Some(("application/json", json_body.clone().into_bytes())),
            ),
            ("DELETE", format!("/private/{id}"), None),
            (
                "GET",
                format!("/private/{id}/associated_implicit_registration_sets"),
                None,
            ),
            ("GET", format!("/private/{id}/associated_public_ids"), None),
            (
                "PUT",
                format!(
                    "/private/{id}/associated_implicit_registration_sets/{}",
                    sub.irs
                ),
                None,
            ),
            ("GET", format!("/public/{id}/service_profile"), None),
            ("GET", format!("/public/{id}/irs"), None),
            ("GET", format!("/public/{id}/associated_private_ids"), None),
            (
                "PUT",
                format!("{sp_url}/public_ids/{id}"),
                Some(("application/xml", public_identity_xml(id).into_bytes())),
            ),
            ("GET", format!("{sp_url}/public_ids/{id}"), None),
            ("DELETE", format!("{sp_url}/public_ids/{id}"), None),
            ("PUT", format!("/irs/{}/private_ids/{id}", sub.irs), None),
            ("GET", format!("/irs/{id}/public_ids"), None),
        ];
        for (method, path, body) in &prov_requests {
            let r = once(
                s.prov,
                method,
                path,
                body.as_ref().map(|(t, b)| (*t, b.as_slice())),
            );
            assert_eq!(
                r.status,
                400,
                "{method} {}: {}",
                &path[..path.len().min(80)],
                r.text()
            );
            assert!(!r.text().trim().is_empty());
        }
        let sig_requests: Vec<Attempt> = vec![
            ("GET", format!("/impi/{id}/av"), None),
            ("GET", format!("/impi/{id}/av/digest"), None),
            ("GET", format!("/impi/{id}/av/aka"), None),
            ("GET", format!("/impi/{id}/digest"), None),
            (
                "GET",
                format!("/impi/{id}/registration-status?impu=sip%3Aodd%40example.com"),
                None,
            ),
            ("GET", format!("/impu/{id}/reg-data"), None),
            (
                "PUT",
                format!("/impu/{id}/reg-data"),
                Some(("application/json", br#"{"reqtype":"reg"}"#.to_vec())),
            ),
            ("GET", format!("/impu/{id}/location"), None),
        ];
        for (method, path, body) in &sig_requests {
            let r = once(
                s.sig,
                method,
                path,
                body.as_ref().map(|(t, b)| (*t, b.as_slice())),
            );
            assert_eq!(
                r.status,
                400,
                "{method} {}: {}",
                &path[..path.len().min(80)],
                r.text()
            );
            assert!(!r.text().trim().is_empty());
        }
        assert_serving(&s);
    }
    // Odd identities in query parameters are looked up as given: not found, never a 500.
    for q in ["%00", "%FF", "%C3%28", &long] {
        let r = once(
            s.sig,
            "GET",
            &format!("/impi/odd%40example.com/av/digest?impu={q}"),
            None,
        );
        assert!(
            (400..500).contains(&r.status),
            "impu={q}: {} {}",
            r.status,
            r.text()
        );
        let r = once(
            s.sig,
            "GET",
            &format!("/impi/odd%40example.com/registration-status?impu={q}"),
            None,
        );
        assert!(
            (400..500).contains(&r.status),
            "impu={q}: {} {}",
            r.status,
            r.text()
        );
    }
    // Characters that are unusual but legal in an identity still work.
    let odd_ok = "user+tag!$&'()*,;=~@example.com";
    let r = s.prov(
        "PUT",
        &format!("/private/{}", enc(odd_ok)),
        Some(("application/json", &json_body)),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let r = s.prov("GET", &format!("/private/{}", enc(odd_ok)), None);
    assert_eq!(r.status, 200);
    let r = s.prov(
        "GET",
        &format!("/private/{}", enc("ünïcødé@example.com")),
        None,
    );
    assert_eq!(r.status, 404, "valid UTF-8 that is not stored: {}", r.body);
    assert_serving(&s);
}
