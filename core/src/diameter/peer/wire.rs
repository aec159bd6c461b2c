//! The base-protocol messages a peer exchanges (RFC 6733 §5.3-5.5): CER/CEA, DWR/DWA and
//! DPR/DPA, built from a [`PeerConfig`], and the capabilities read from a received CER or CEA.

use std::net::IpAddr;

use bytes::BytesMut;

use super::config::{Application, PeerConfig};
use crate::diameter::dict::{app, avp, cmd, result};
use crate::diameter::{
    BuildError, CommandFlags, HEADER_LEN, Header, Message, MessageBuilder, Rejection, error_answer,
};

/// A CER with our capabilities.
pub(super) fn capabilities_request(
    config: &PeerConfig,
    hop_by_hop: u32,
    end_to_end: u32,
) -> Result<Message, BuildError> {
    let builder = MessageBuilder::request(app::BASE, cmd::CAPABILITIES_EXCHANGE)
        .hop_by_hop(hop_by_hop)
        .end_to_end(end_to_end)
        .avp_str(avp::ORIGIN_HOST, &config.origin_host)
        .avp_str(avp::ORIGIN_REALM, &config.origin_realm);
    with_capabilities(builder, config).finish()
}

/// A CEA with our capabilities and the given Result-Code. Protocol errors (3xxx) take the error
/// answer form of RFC 6733 §7.2 instead, with the 'E' bit.
pub(super) fn capabilities_answer(
    config: &PeerConfig,
    request: &Message,
    rejection: Option<&Rejection>,
) -> Result<Message, BuildError> {
    if let Some(rejection) = rejection.filter(|r| r.is_protocol_error()) {
        return error_answer(
            request,
            rejection,
            &config.origin_host,
            &config.origin_realm,
        )
        .finish();
    }
    let result_code = rejection.map_or(result::SUCCESS, |r| r.result_code);
    let mut builder = MessageBuilder::answer_to(request)
        .avp_u32(avp::RESULT_CODE, result_code)
        .avp_str(avp::ORIGIN_HOST, &config.origin_host)
        .avp_str(avp::ORIGIN_REALM, &config.origin_realm);
    builder = with_capabilities(builder, config);
    if let Some(rejection) = rejection {
        if !rejection.error_message.is_empty() {
            builder = builder.avp_str(avp::ERROR_MESSAGE, &rejection.error_message);
        }
        if let Some(failed) = &rejection.failed_avp {
            builder = builder.avp_bytes(avp::FAILED_AVP, failed);
        }
    }
    builder.finish()
}

/// Host-IP-Address through Firmware-Revision, in the order of the CER/CEA grammar.
fn with_capabilities(mut builder: MessageBuilder, config: &PeerConfig) -> MessageBuilder {
    for ip in &config.host_ip_addresses {
        builder = builder.avp_address(avp::HOST_IP_ADDRESS, *ip);
    }
    builder = builder
        .avp_u32(avp::VENDOR_ID, config.vendor_id)
        .avp_str(avp::PRODUCT_NAME, &config.product_name)
        .avp_u32(avp::ORIGIN_STATE_ID, config.origin_state_id);
    for vendor_id in &config.supported_vendor_ids {
        builder = builder.avp_u32(avp::SUPPORTED_VENDOR_ID, *vendor_id);
    }
    for application in &config.applications {
        builder = match application.vendor_id {
            None => builder.avp_u32(avp::AUTH_APPLICATION_ID, application.application_id),
            Some(vendor_id) => builder.grouped(avp::VENDOR_SPECIFIC_APPLICATION_ID, |g| {
                g.avp_u32(avp::VENDOR_ID, vendor_id)
                    .avp_u32(avp::AUTH_APPLICATION_ID, application.application_id);
            }),
        };
    }
    if let Some(revision) = config.firmware_revision {
        builder = builder.avp_u32(avp::FIRMWARE_REVISION, revision);
    }
    builder
}

/// A DWR.
pub(super) fn watchdog_request(
    config: &PeerConfig,
    hop_by_hop: u32,
    end_to_end: u32,
) -> Result<Message, BuildError> {
    MessageBuilder::request(app::BASE, cmd::DEVICE_WATCHDOG)
        .hop_by_hop(hop_by_hop)
        .end_to_end(end_to_end)
        .avp_str(avp::ORIGIN_HOST, &config.origin_host)
        .avp_str(avp::ORIGIN_REALM, &config.origin_realm)
        .avp_u32(avp::ORIGIN_STATE_ID, config.origin_state_id)
        .finish()
}

/// A DWA (success) to `request`.
pub(super) fn watchdog_answer(
    config: &PeerConfig,
    request: &Message,
) -> Result<Message, BuildError> {
    MessageBuilder::answer_to(request)
        .avp_u32(avp::RESULT_CODE, result::SUCCESS)
        .avp_str(avp::ORIGIN_HOST, &config.origin_host)
        .avp_str(avp::ORIGIN_REALM, &config.origin_realm)
        .avp_u32(avp::ORIGIN_STATE_ID, config.origin_state_id)
        .finish()
}

/// A DPR with the given Disconnect-Cause.
pub(super) fn disconnect_request(
    config: &PeerConfig,
    cause: i32,
    hop_by_hop: u32,
    end_to_end: u32,
) -> Result<Message, BuildError> {
    MessageBuilder::request(app::BASE, cmd::DISCONNECT_PEER)
        .hop_by_hop(hop_by_hop)
        .end_to_end(end_to_end)
        .avp_str(avp::ORIGIN_HOST, &config.origin_host)
        .avp_str(avp::ORIGIN_REALM, &config.origin_realm)
        .avp_i32(avp::DISCONNECT_CAUSE, cause)
        .finish()
}

/// A DPA (success) to `request`.
pub(super) fn disconnect_answer(
    config: &PeerConfig,
    request: &Message,
) -> Result<Message, BuildError> {
    MessageBuilder::answer_to(request)
        .avp_u32(avp::RESULT_CODE, result::SUCCESS)
        .avp_str(avp::ORIGIN_HOST, &config.origin_host)
        .avp_str(avp::ORIGIN_REALM, &config.origin_realm)
        .finish()
}

/// The answer refusing `request` for the reason given.
pub(super) fn rejection_answer(
    config: &PeerConfig,
    request: &Message,
    rejection: &Rejection,
) -> Result<Message, BuildError> {
    error_answer(
        request,
        rejection,
        &config.origin_host,
        &config.origin_realm,
    )
    .finish()
}

/// What a CER or CEA says about the peer that sent it.
#[derive(Clone, PartialEq, Eq, Debug)]
pub(super) struct Capabilities {
    /// Result-Code (a CEA's; `None` in a CER).
    pub result_code: Option<u32>,
    pub origin_host: String,
    pub origin_realm: String,
    pub host_ip_addresses: Vec<IpAddr>,
    pub product_name: Option<String>,
    pub origin_state_id: Option<u32>,
    /// Every Auth- and Acct-Application-Id advertised, bare or inside
    /// Vendor-Specific-Application-Id.
    pub applications: Vec<u32>,
}

/// Reads the capabilities of a CER or CEA. A missing or malformed Origin-Host or Origin-Realm is an
/// error; other AVPs that cannot be read are left out.
pub(super) fn read_capabilities(message: &Message) -> Result<Capabilities, String> {
    let avps = message
        .avps()
        .map_err(|error| format!("AVPs cannot be read: {error}"))?;
    let identity = |key, name: &str| -> Result<String, String> {
        let value = avps.get(key).ok_or_else(|| format!("{name} is missing"))?;
        value
            .as_identity()
            .map(str::to_owned)
            .map_err(|error| format!("{name}: {error}"))
    };
    let origin_host = identity(avp::ORIGIN_HOST, "Origin-Host")?;
    let origin_realm = identity(avp::ORIGIN_REALM, "Origin-Realm")?;
    let mut applications = Vec::new();
    for member in avps.iter() {
        if member.is(avp::AUTH_APPLICATION_ID) || member.is(avp::ACCT_APPLICATION_ID) {
            applications.extend(member.as_u32().ok());
        } else if member.is(avp::VENDOR_SPECIFIC_APPLICATION_ID)
            && let Ok(group) = member.grouped()
        {
            applications.extend(
                group
                    .iter()
                    .filter(|a| a.is(avp::AUTH_APPLICATION_ID) || a.is(avp::ACCT_APPLICATION_ID))
                    .filter_map(|a| a.as_u32().ok()),
            );
        }
    }
    Ok(Capabilities {
        result_code: avps.get(avp::RESULT_CODE).and_then(|a| a.as_u32().ok()),
        origin_host,
        origin_realm,
        host_ip_addresses: avps
            .all(avp::HOST_IP_ADDRESS)
            .filter_map(|a| a.as_address().ok()?.ip())
            .collect(),
        product_name: avps
            .get(avp::PRODUCT_NAME)
            .and_then(|a| a.as_utf8().ok().map(str::to_owned)),
        origin_state_id: avps.get(avp::ORIGIN_STATE_ID).and_then(|a| a.as_u32().ok()),
        applications,
    })
}

/// Our applications the peer also advertises (all of them if it advertises the relay
/// application), in our order and without repeats.
pub(super) fn common_applications(ours: &[Application], theirs: &[u32]) -> Vec<u32> {
    let relay = theirs.contains(&app::RELAY);
    let mut common: Vec<u32> = Vec::new();
    for application in ours {
        let id = application.application_id;
        if (relay || theirs.contains(&id)) && !common.contains(&id) {
            common.push(id);
        }
    }
    common
}

/// The Disconnect-Cause of a DPR, if readable.
pub(super) fn disconnect_cause(message: &Message) -> Option<i32> {
    message
        .avp(avp::DISCONNECT_CAUSE)
        .ok()
        .flatten()
        .and_then(|a| a.as_i32().ok())
}

/// A copy of `request` with a new Hop-by-Hop Identifier and the 'T' bit set, for sending it again
/// on another connection after a failover (RFC 6733 §5.5.4); End-to-End Identifier and AVPs are
/// unchanged. One copy of the bytes, patched in place.
pub(super) fn retransmission(request: &Message, hop_by_hop: u32) -> Message {
    let header = Header {
        flags: request.header().flags.union(CommandFlags::RETRANSMITTED),
        hop_by_hop,
        ..*request.header()
    };
    let mut bytes = BytesMut::from(request.as_bytes().as_ref());
    if let Some(slot) = bytes.get_mut(..HEADER_LEN) {
        slot.copy_from_slice(&header.encode());
    }
    Message::from_parts(header, bytes.freeze())
}
