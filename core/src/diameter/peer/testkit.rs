//! Test support: a minimal HSS built from the same codec (answers CER, DWR, DPR and Cx MAR, sends
//! DWR, DPR and PPR), and builders for the Cx messages the tests exchange.

use std::net::{IpAddr, Ipv4Addr};

use super::config::{Application, PeerConfig};
use crate::diameter::dict::{VENDOR_3GPP, app, auth_session_state, avp, cmd, result};
use crate::diameter::{Message, MessageBuilder};

pub(super) const OUR_HOST: &str = "hearth.example.org";
pub(super) const OUR_REALM: &str = "example.org";
pub(super) const START_TIME: u64 = 1_750_000_123;

/// Our configuration in tests: Tw 30 s ± 2 s, request timeout 200 ms, handshake 5 s.
pub(super) fn our_config(seed: u64) -> PeerConfig {
    let mut config = PeerConfig::new(
        OUR_HOST,
        OUR_REALM,
        vec![IpAddr::V4(Ipv4Addr::new(192, 0, 2, 10))],
    );
    config.origin_state_id = 1_234_567;
    config.seed = seed;
    config.start_time_unix_s = START_TIME;
    config
}

/// The Cx Vendor-Specific-Application-Id.
fn cx_application(builder: MessageBuilder) -> MessageBuilder {
    builder.grouped(avp::VENDOR_SPECIFIC_APPLICATION_ID, |g| {
        g.avp_u32(avp::VENDOR_ID, VENDOR_3GPP)
            .avp_u32(avp::AUTH_APPLICATION_ID, app::CX);
    })
}

/// A Cx MAR for `session_id` (identifiers left to the peer).
pub(super) fn mar(session_id: &str) -> MessageBuilder {
    let builder =
        MessageBuilder::request(app::CX, cmd::MULTIMEDIA_AUTH).avp_str(avp::SESSION_ID, session_id);
    cx_application(builder)
        .avp_i32(
            avp::AUTH_SESSION_STATE,
            auth_session_state::NO_STATE_MAINTAINED,
        )
        .avp_str(avp::ORIGIN_HOST, OUR_HOST)
        .avp_str(avp::ORIGIN_REALM, OUR_REALM)
        .avp_str(avp::DESTINATION_REALM, "hss.example.net")
        .avp_str(avp::USER_NAME, "alice@example.org")
        .avp_str(avp::PUBLIC_IDENTITY, "sip:alice@example.org")
        .grouped(avp::SIP_AUTH_DATA_ITEM, |g| {
            g.avp_str(avp::SIP_AUTHENTICATION_SCHEME, "SIP Digest");
        })
        .avp_u32(avp::SIP_NUMBER_AUTH_ITEMS, 1)
        .avp_str(avp::SERVER_NAME, "sip:scscf.example.org")
}

/// The Session-Id of a message.
pub(super) fn session_id(message: &Message) -> Option<String> {
    message
        .avp(avp::SESSION_ID)
        .ok()
        .flatten()
        .and_then(|a| a.as_utf8().ok().map(str::to_owned))
}

/// The Result-Code of a message.
pub(super) fn result_code(message: &Message) -> Option<u32> {
    message.result_code().ok().flatten().map(|c| c.code())
}

/// A minimal HSS speaking the base protocol and enough Cx to answer MAR and send PPR.
pub(super) struct Hss {
    pub origin_host: String,
    pub origin_realm: String,
    /// Applications advertised in the CEA.
    pub applications: Vec<Application>,
    next_hop_by_hop: u32,
    next_end_to_end: u32,
}

impl Hss {
    pub fn new(origin_host: &str, seed: u32) -> Self {
        Self {
            origin_host: origin_host.to_owned(),
            origin_realm: "hss.example.net".to_owned(),
            applications: vec![Application::CX],
            next_hop_by_hop: seed.wrapping_mul(7919),
            next_end_to_end: seed.wrapping_mul(104_729),
        }
    }

    fn ids(&mut self) -> (u32, u32) {
        self.next_hop_by_hop = self.next_hop_by_hop.wrapping_add(1);
        self.next_end_to_end = self.next_end_to_end.wrapping_add(1);
        (self.next_hop_by_hop, self.next_end_to_end)
    }

    fn identity(&self, builder: MessageBuilder) -> MessageBuilder {
        builder
            .avp_str(avp::ORIGIN_HOST, &self.origin_host)
            .avp_str(avp::ORIGIN_REALM, &self.origin_realm)
    }

    /// Host-IP-Address through the applications, as in a CER or CEA.
    fn capabilities(&self, mut builder: MessageBuilder) -> MessageBuilder {
        builder = builder
            .avp_address(avp::HOST_IP_ADDRESS, Ipv4Addr::new(198, 51, 100, 7))
            .avp_u32(avp::VENDOR_ID, VENDOR_3GPP)
            .avp_str(avp::PRODUCT_NAME, "SimHSS")
            .avp_u32(avp::ORIGIN_STATE_ID, 99);
        for application in &self.applications {
            builder = match application.vendor_id {
                Some(vendor) => builder.grouped(avp::VENDOR_SPECIFIC_APPLICATION_ID, |g| {
                    g.avp_u32(avp::VENDOR_ID, vendor)
                        .avp_u32(avp::AUTH_APPLICATION_ID, application.application_id);
                }),
                None => builder.avp_u32(avp::AUTH_APPLICATION_ID, application.application_id),
            };
        }
        builder
    }

    /// The CEA to `cer` with the given Result-Code (3xxx ones with the 'E' bit).
    pub fn cea(&self, cer: &Message, result_code: u32) -> Message {
        let mut builder = MessageBuilder::answer_to(cer).avp_u32(avp::RESULT_CODE, result_code);
        if (3000..4000).contains(&result_code) {
            builder = builder.set_flag_e();
        }
        let builder = self.identity(builder);
        self.capabilities(builder).finish().expect("CEA encodes")
    }

    /// A CER, as a node connecting to us sends it.
    pub fn cer(&mut self) -> Message {
        let (hop_by_hop, end_to_end) = self.ids();
        let builder = MessageBuilder::request(app::BASE, cmd::CAPABILITIES_EXCHANGE)
            .hop_by_hop(hop_by_hop)
            .end_to_end(end_to_end);
        let builder = self.identity(builder);
        self.capabilities(builder).finish().expect("CER encodes")
    }

    pub fn dwa(&self, dwr: &Message) -> Message {
        let builder = MessageBuilder::answer_to(dwr).avp_u32(avp::RESULT_CODE, result::SUCCESS);
        self.identity(builder).finish().expect("DWA encodes")
    }

    pub fn dpa(&self, dpr: &Message) -> Message {
        let builder = MessageBuilder::answer_to(dpr).avp_u32(avp::RESULT_CODE, result::SUCCESS);
        self.identity(builder).finish().expect("DPA encodes")
    }

    /// The MAA to a MAR: Session-Id and User-Name echoed, Result-Code 2001.
    pub fn maa(&self, request: &Message) -> Message {
        let session = session_id(request).unwrap_or_default();
        let builder = MessageBuilder::answer_to(request).avp_str(avp::SESSION_ID, &session);
        let builder = cx_application(builder)
            .avp_u32(avp::RESULT_CODE, result::SUCCESS)
            .avp_i32(
                avp::AUTH_SESSION_STATE,
                auth_session_state::NO_STATE_MAINTAINED,
            );
        self.identity(builder)
            .avp_str(avp::USER_NAME, "alice@example.org")
            .finish()
            .expect("MAA encodes")
    }

    pub fn dwr(&mut self) -> Message {
        let (hop_by_hop, end_to_end) = self.ids();
        let builder = MessageBuilder::request(app::BASE, cmd::DEVICE_WATCHDOG)
            .hop_by_hop(hop_by_hop)
            .end_to_end(end_to_end);
        self.identity(builder).finish().expect("DWR encodes")
    }

    pub fn dpr(&mut self, cause: i32) -> Message {
        let (hop_by_hop, end_to_end) = self.ids();
        let builder = MessageBuilder::request(app::BASE, cmd::DISCONNECT_PEER)
            .hop_by_hop(hop_by_hop)
            .end_to_end(end_to_end);
        self.identity(builder)
            .avp_i32(avp::DISCONNECT_CAUSE, cause)
            .finish()
            .expect("DPR encodes")
    }

    /// A Cx PPR (HSS to S-CSCF, here to us), with the given application (to test refusals).
    pub fn ppr(&mut self, application_id: u32) -> Message {
        let (hop_by_hop, end_to_end) = self.ids();
        let builder = MessageBuilder::request(application_id, cmd::PUSH_PROFILE)
            .hop_by_hop(hop_by_hop)
            .end_to_end(end_to_end)
            .set_proxiable(true)
            .avp_str(
                avp::SESSION_ID,
                &format!("{};ppr;{hop_by_hop}", self.origin_host),
            );
        let builder = cx_application(builder).avp_i32(
            avp::AUTH_SESSION_STATE,
            auth_session_state::NO_STATE_MAINTAINED,
        );
        self.identity(builder)
            .avp_str(avp::DESTINATION_HOST, OUR_HOST)
            .avp_str(avp::DESTINATION_REALM, OUR_REALM)
            .avp_str(avp::USER_NAME, "alice@example.org")
            .finish()
            .expect("PPR encodes")
    }
}

/// Our PPA to a PPR.
pub(super) fn ppa(request: &Message) -> Message {
    let session = session_id(request).unwrap_or_default();
    let builder = MessageBuilder::answer_to(request).avp_str(avp::SESSION_ID, &session);
    cx_application(builder)
        .avp_u32(avp::RESULT_CODE, result::SUCCESS)
        .avp_i32(
            avp::AUTH_SESSION_STATE,
            auth_session_state::NO_STATE_MAINTAINED,
        )
        .avp_str(avp::ORIGIN_HOST, OUR_HOST)
        .avp_str(avp::ORIGIN_REALM, OUR_REALM)
        .finish()
        .expect("PPA encodes")
}
