//! The HTTP APIs: Homestead's signalling API, Homestead-prov's provisioning API and the ephemeral
//! SIP credential service.
//!
//! Handlers parse the request, ask the core for decisions (crypto, XML, the reg-data machine) and the
//! store for data, and build the answer. Identity-keyed signalling requests run on the shard that owns
//! the key (see `engine::route`), which keeps that key's cache entries.

mod cache;
pub mod credential;
mod hss;
mod notify;
mod prov;
mod signalling;

use std::borrow::Cow;
use std::rc::Rc;

use hearth_core::http::{Method, Request, Response};
use hearth_core::model::validate_identity;

pub use cache::ShardState;
pub use hss::install_request_handler as install_hss_handlers;

use crate::engine::{ListenerKind, Reply, Shard};
use crate::store::StoreError;

/// The identity whose owning shard must serve this request, if any: the IMPI of `/impi/<id>/...`
/// and the IMPU of `/impu/<id>/...` on the signalling listener.
pub fn routing_key(listener: ListenerKind, request: &Request) -> Option<Cow<'_, str>> {
    if listener != ListenerKind::Signalling {
        return None;
    }
    let mut segments = request.path_segments();
    match segments.next()?.ok()?.as_ref() {
        "impi" | "impu" => segments.next()?.ok(),
        _ => None,
    }
}

/// Serves one request on this shard.
pub async fn handle(shard: &Rc<Shard>, listener: ListenerKind, request: Request) -> Reply {
    // Decoded segments borrow from the request unless they held percent-escapes.
    let segments: Result<Vec<Cow<'_, str>>, _> = request.path_segments().collect();
    let segments = match segments {
        Ok(s) => s,
        Err(e) => return Response::text(e.status, &e.reason).into(),
    };
    let segments: Vec<&str> = segments.iter().map(Cow::as_ref).collect();
    // RFC 9110 §15.6.2: a method the server does not recognise gets 501 (known methods a resource
    // does not support get 405 with Allow from the handlers).
    if let Method::Other(_) = request.method {
        return error(
            501,
            "method not implemented; this server implements GET, HEAD, PUT, POST and DELETE",
        )
        .into();
    }
    // Identities travel as path segments: one that no identity could be (control characters such
    // as %00, or longer than any identity may be) is refused here, for every route alike, rather
    // than looked up and reported as not found.
    if let Some(e) = segments
        .iter()
        .filter(|s| !s.is_empty())
        .find_map(|s| validate_identity(s).err())
    {
        return error(400, format!("invalid path segment: {e}")).into();
    }
    match listener {
        ListenerKind::Signalling => signalling::handle(shard, &request, &segments).await.into(),
        ListenerKind::Provisioning => prov::handle(shard, &request, &segments).await,
        ListenerKind::Credential => credential::handle(shard, &request).await.into(),
    }
}

/// A plain-text error answer with the reason.
fn error(status: u16, reason: impl AsRef<str>) -> Response {
    Response::text(status, reason.as_ref())
}

/// A store failure as Homestead reports it: 504 for a timeout, 502 for anything else.
fn store_error(e: &StoreError) -> Response {
    tracing::warn!(error = %e, "store operation failed");
    error(e.status(), format!("store error: {e}"))
}

/// A JSON answer.
fn json(status: u16, value: &serde_json::Value) -> Response {
    Response::json(status, value.to_string())
}

/// 405 with the methods the resource allows.
fn method_not_allowed(allowed: &'static str) -> Response {
    error(405, format!("method not allowed; use {allowed}")).with_header("Allow", allowed)
}
