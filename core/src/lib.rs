//! `hearth-core`: the sans-IO heart of Hearth.
//!
//! Everything here is plain synchronous code over bytes, events and a clock passed in by the caller:
//! codecs, state machines, cryptography, XML and business rules. There are no sockets, threads, async
//! runtimes or clocks read from the OS in this crate or its dependency tree; the `hearth` binary is the
//! thin shell that drives it.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod crypto;
pub mod diameter;
pub mod http;
pub mod model;
pub mod ratelimit;
pub mod regdata;
pub mod token;
pub mod xml;
