//! Arbitrary bytes into a `RequestParser`, whole and split at a point chosen by the first input byte:
//! parsing must never panic, and both feedings must give identical requests and errors.

#![no_main]

use bytes::BytesMut;
use hearth_core::http::{
    HttpDate, HttpError, Limits, ReplyContext, Request, RequestParser, Response, encode_reply,
};
use libfuzzer_sys::fuzz_target;

type Outcome = Result<Request, HttpError>;

/// Parses every request available in `buf`, stopping at `Ok(None)` or after the first error.
fn drain(parser: &mut RequestParser, buf: &mut BytesMut, outcomes: &mut Vec<Outcome>) {
    while !outcomes.last().is_some_and(Result::is_err) {
        match parser.parse(buf) {
            Ok(Some(request)) => outcomes.push(Ok(request)),
            Ok(None) => return,
            Err(error) => outcomes.push(Err(error)),
        }
    }
}

fn feed(limits: Limits, pieces: &[&[u8]]) -> Vec<Outcome> {
    let mut parser = RequestParser::new(limits);
    let mut buf = BytesMut::new();
    let mut outcomes = Vec::new();
    for piece in pieces {
        buf.extend_from_slice(piece);
        drain(&mut parser, &mut buf, &mut outcomes);
        let _ = parser.take_expect_continue();
    }
    outcomes
}

/// Runs every accessor and the encoder over a parsed request, which must not panic either.
fn exercise(request: &Request) {
    let _ = (request.path(), request.query(), request.target());
    for segment in request.path_segments() {
        let _ = segment;
    }
    let names: Vec<String> = request.headers().map(|(name, _)| name.to_owned()).collect();
    for name in &names {
        let _ = request.header(name);
        let _ = request.query_param(name);
        let _ = request.query_param_strict(name);
    }
    let mut out = BytesMut::new();
    let response = Response::new(200).with_header("X-Echo", request.body.clone());
    encode_reply(
        &response,
        request.reply_context(),
        &HttpDate::new(request.body.len() as u64),
        &mut out,
    );
    encode_reply(
        &response,
        ReplyContext::http11(false),
        &HttpDate::new(0),
        &mut out,
    );
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, input)) = data.split_first() else {
        return;
    };
    let split = input.len() * usize::from(selector) / 255;
    let (first, second) = input.split_at(split);
    let small = Limits {
        max_request_line: 64,
        max_head_bytes: 256,
        max_headers: 8,
        max_body_bytes: 512,
    };
    for limits in [Limits::default(), small] {
        let whole = feed(limits, &[input]);
        let split_feed = feed(limits, &[first, second]);
        assert_eq!(whole, split_feed, "split at {split} changed the outcome");
        for request in whole.iter().flatten() {
            exercise(request);
        }
    }
});
