//! HTTP/1.1 server codec, sans-IO: request parsing and response encoding over `bytes` buffers.
//!
//! The shell reads socket bytes into a `BytesMut`, calls [`RequestParser::parse`] until it returns
//! `Ok(None)` (HTTP/1.1 pipelining: several requests may sit in the buffer), dispatches each
//! [`Request`] and appends the responses, in order, to an output `BytesMut` with [`encode_reply`]
//! (or [`encode_response`]), [`encode_chunked_head`] / [`encode_chunk`] / [`encode_last_chunk`].
//! The `Date` text comes from an [`HttpDate`] the shell advances with its own clock.
//!
//! Request heads are parsed with `httparse`; requests keep their head and body as reference-counted
//! slices of the input buffer, so the hot path allocates only the header index of each request.
//!
//! Request smuggling defences: `Content-Length` together with `Transfer-Encoding`, conflicting
//! `Content-Length` values, `Transfer-Encoding` in HTTP/1.0, duplicate `Host`, obsolete line folding,
//! whitespace before a header colon, and bare LF or control characters in chunk-size lines are all
//! refused with 400. Header values written into responses cannot carry CR or LF (see
//! [`Response::with_header`]).

mod date;
mod error;
mod parser;
mod request;
mod response;

#[cfg(test)]
mod tests;

pub use date::HttpDate;
pub use error::HttpError;
pub use parser::{Limits, MAX_HEADERS_CAP, RequestParser};
pub use request::{Method, Request, Version};
pub use response::{
    CONTINUE_RESPONSE, InvalidHeader, ReplyContext, Response, encode_chunk, encode_chunked_head,
    encode_continue, encode_last_chunk, encode_reply, encode_response, reason_phrase,
};
