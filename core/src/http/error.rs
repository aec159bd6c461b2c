//! The error a request parser or decoder reports: an HTTP status plus a human-readable reason.

use std::borrow::Cow;
use std::fmt;

use super::response::{Response, reason_phrase};

/// A request that cannot be served, as the status code to answer with and a reason naming what is
/// wrong.
///
/// Parser errors are final for the connection: the framing of the byte stream is lost, so the shell
/// answers with [`HttpError::to_response`] (encoded with keep-alive off) and closes the connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpError {
    /// Status code to answer with (400, 413, 414, 417, 431, 501 or 505 from the parser).
    pub status: u16,
    /// What is wrong, in words suitable for a plain-text response body and for logs.
    pub reason: Cow<'static, str>,
}

impl HttpError {
    /// An error with the given status and reason.
    pub fn new(status: u16, reason: impl Into<Cow<'static, str>>) -> Self {
        Self {
            status,
            reason: reason.into(),
        }
    }

    /// A `400 Bad Request` with a fixed reason (no allocation).
    pub(crate) const fn bad_request(reason: &'static str) -> Self {
        Self::fixed(400, reason)
    }

    /// An error with a fixed reason (no allocation).
    pub(crate) const fn fixed(status: u16, reason: &'static str) -> Self {
        Self {
            status,
            reason: Cow::Borrowed(reason),
        }
    }

    /// The plain-text response that reports this error to the client.
    pub fn to_response(&self) -> Response {
        Response::text(self.status, &self.reason)
    }
}

impl fmt::Display for HttpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {}: {}",
            self.status,
            reason_phrase(self.status),
            self.reason
        )
    }
}

impl std::error::Error for HttpError {}
