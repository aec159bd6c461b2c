//! `hearth hss-sim` as a black box: the real binary, Diameter over TCP from hearth-core's
//! `PeerPool` (initiator) driven synchronously from the test, and its HTTP control API.

use std::collections::VecDeque;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::Command;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use hearth_core::crypto::aka::{
    self, SqnPolicy, UsimResponse, UsimSqnState, check_autn, sqn_from_bytes, usim_authenticate,
};
use hearth_core::crypto::digest::{DigestAlgorithm, ha1};
use hearth_core::crypto::milenage::Milenage;
use hearth_core::diameter::cx::{
    AuthScheme, CxResult, Destination, Lia, Lir, Maa, Mar, Origin, Ppa, Ppr, ReasonCode, Resync,
    Routing, Rta, Rtr, Saa, SaaOutcome, Sar, ServerAssignmentType, Uaa, Uar, UserAuthorizationType,
    map_saa,
};
use hearth_core::diameter::dict::{VENDOR_3GPP, app, auth_session_state, avp, cmd};
use hearth_core::diameter::peer::PeerPool;
use hearth_core::diameter::peer::{
    AnswerToken, DisconnectReason, PeerConfig, PeerId, PoolConfig, PoolEvent, RequestError,
    RequestId,
};
use hearth_core::diameter::{DEFAULT_MAX_MESSAGE_LEN, Message, MessageBuilder, ResultCode, frame};
use hearth_core::xml::parse_user_data;
use sha2::{Digest, Sha256};

mod common;
use common::sim::Sim;

const HOMESTEAD: &str = "homestead.example.com";
const SCSCF: &str = "sip:scscf.example.com";

// ---------------------------------------------------------------------------------------------
// A Diameter client: hearth-core's PeerPool over a blocking socket

struct Client {
    pool: PeerPool,
    peer: PeerId,
    socket: TcpStream,
    clock: Instant,
    events: VecDeque<PoolEvent>,
    closed: bool,
}

impl Client {
    fn connect(addr: SocketAddr, origin_host: &str) -> Client {
        let mut config = PeerConfig::new(origin_host, "example.com", vec![[127, 0, 0, 1].into()]);
        config.request_timeout_ms = 10_000;
        let mut pool = PeerPool::new(PoolConfig::new(config)).expect("pool");
        let clock = Instant::now();
        let peer = pool.add_peer(0).expect("peer");
        let socket = TcpStream::connect(addr).expect("connect");
        socket.set_nodelay(true).expect("nodelay");
        let mut client = Client {
            pool,
            peer,
            socket,
            clock,
            events: VecDeque::new(),
            closed: false,
        };
        let now = client.now();
        client.pool.connected(peer, now).expect("connected");
        client.pump_until(Duration::from_secs(10), |c| {
            c.pool.peer(c.peer).is_some_and(|p| p.is_usable())
        });
        client
    }

    fn now(&self) -> u64 {
        self.clock.elapsed().as_millis() as u64
    }

    fn flush(&mut self) {
        while let Some((_, bytes)) = self.pool.poll_transmit() {
            self.socket.write_all(&bytes).expect("write");
        }
    }

    /// Reads for at most `wait`, feeding the pool; gathers events.
    fn pump_once(&mut self, wait: Duration) {
        self.flush();
        let now = self.now();
        let timer = self
            .pool
            .poll_timeout()
            .map(|at| Duration::from_millis(at.saturating_sub(now)));
        let wait = timer
            .map_or(wait, |t| t.min(wait))
            .max(Duration::from_millis(1));
        self.socket.set_read_timeout(Some(wait)).expect("timeout");
        let mut buf = [0u8; 65536];
        match self.socket.read(&mut buf) {
            Ok(0) => {
                let now = self.now();
                let _ = self.pool.connection_closed(self.peer, now);
                self.closed = true;
            }
            Ok(n) => {
                let now = self.now();
                self.pool
                    .bytes_received(self.peer, &buf[..n], now)
                    .expect("bytes");
            }
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(_) => {
                let now = self.now();
                let _ = self.pool.connection_closed(self.peer, now);
                self.closed = true;
            }
        }
        let now = self.now();
        self.pool.timeout(now);
        while let Some(event) = self.pool.poll_event() {
            self.events.push_back(event);
        }
        self.flush();
    }

    fn pump_until(&mut self, limit: Duration, mut done: impl FnMut(&mut Client) -> bool) {
        let deadline = Instant::now() + limit;
        while !done(self) {
            assert!(
                Instant::now() < deadline,
                "nothing happened within {limit:?}"
            );
            assert!(!self.closed, "the connection closed");
            self.pump_once(Duration::from_millis(50));
        }
    }

    fn take_event(&mut self, mut wanted: impl FnMut(&PoolEvent) -> bool) -> Option<PoolEvent> {
        let index = self.events.iter().position(&mut wanted)?;
        self.events.remove(index)
    }

    fn send(&mut self, request: MessageBuilder) -> RequestId {
        let now = self.now();
        let id = self.pool.send_request(request, now).expect("send");
        self.flush();
        id
    }

    fn outcome(&mut self, id: RequestId) -> Result<Message, RequestError> {
        let mut outcome = None;
        self.pump_until(Duration::from_secs(15), |c| {
            outcome = c.take_event(|e| {
                matches!(e, PoolEvent::Answer { id: i, .. } | PoolEvent::RequestFailed { id: i, .. } if *i == id)
            });
            outcome.is_some()
        });
        match outcome {
            Some(PoolEvent::Answer { message, .. }) => Ok(message),
            Some(PoolEvent::RequestFailed { error, .. }) => Err(error),
            other => panic!("unexpected {other:?}"),
        }
    }

    fn call(&mut self, request: MessageBuilder) -> Message {
        let id = self.send(request);
        self.outcome(id).expect("an answer")
    }

    fn incoming(&mut self) -> (AnswerToken, Message) {
        let mut found = None;
        self.pump_until(Duration::from_secs(15), |c| {
            found = c.take_event(|e| matches!(e, PoolEvent::IncomingRequest { .. }));
            found.is_some()
        });
        match found {
            Some(PoolEvent::IncomingRequest { token, message, .. }) => (token, message),
            other => panic!("unexpected {other:?}"),
        }
    }

    fn answer(&mut self, token: AnswerToken, answer: Message) {
        self.pool
            .send_answer(self.peer, token, answer)
            .expect("answer");
        self.flush();
    }

    fn origin(&self) -> Origin {
        Origin::new(
            self.pool
                .peer(self.peer)
                .map(|p| p.config().origin_host.clone())
                .unwrap_or_default(),
            "example.com",
        )
    }

    fn routing(&self) -> Routing {
        Routing::new(
            format!("{};{};1", self.origin().host, self.now()),
            &self.origin(),
            &Destination {
                realm: "example.com".into(),
                host: None,
            },
        )
    }

    fn mar(&mut self, impi: &str, impu: &str, scheme: AuthScheme, resync: Option<Resync>) -> Maa {
        let request = Mar {
            routing: self.routing(),
            user_name: impi.into(),
            public_identity: impu.into(),
            scheme,
            resync,
            number_auth_items: 1,
            server_name: SCSCF.into(),
        };
        Maa::from_message(&self.call(request.builder())).expect("MAA")
    }

    fn uar(&mut self, impi: &str, impu: &str, visited: &str) -> Uaa {
        let request = Uar {
            routing: self.routing(),
            user_name: impi.into(),
            public_identity: impu.into(),
            visited_network: visited.into(),
            authorization_type: UserAuthorizationType::Registration,
            uar_flags: 0,
        };
        Uaa::from_message(&self.call(request.builder())).expect("UAA")
    }

    fn lir(&mut self, impu: &str) -> Lia {
        let request = Lir {
            routing: self.routing(),
            originating: false,
            public_identity: impu.into(),
            authorization_type: None,
        };
        Lia::from_message(&self.call(request.builder())).expect("LIA")
    }

    fn sar(
        &mut self,
        impi: Option<&str>,
        impu: &str,
        kind: ServerAssignmentType,
        wildcard: Option<&str>,
    ) -> Saa {
        let request = Sar {
            routing: self.routing(),
            user_name: impi.map(str::to_owned),
            supported_features: vec![],
            public_identities: vec![impu.into()],
            wildcarded_public_identity: wildcard.map(str::to_owned),
            server_name: SCSCF.into(),
            server_assignment_type: kind,
            user_data_already_available: false,
        };
        Saa::from_message(&self.call(request.builder())).expect("SAA")
    }
}

fn tgpp(code: u32) -> CxResult {
    CxResult::tgpp(code)
}

/// K and OPc of a generated subscriber, by the documented formula.
fn generated_keys(impi: &str) -> Milenage {
    let derive = |label: &str| {
        let digest = Sha256::new()
            .chain_update(label)
            .chain_update(impi)
            .finalize();
        let mut out = [0u8; 16];
        out.copy_from_slice(&digest[..16]);
        out
    };
    Milenage::new(&derive("K:"), &derive("OPc:"))
}

fn challenge(maa: &Maa) -> ([u8; 16], [u8; 16]) {
    let bytes = maa.auth_data[0]
        .authenticate
        .as_ref()
        .expect("SIP-Authenticate");
    let mut rand = [0u8; 16];
    let mut autn = [0u8; 16];
    rand.copy_from_slice(&bytes[..16]);
    autn.copy_from_slice(&bytes[16..32]);
    (rand, autn)
}

// ---------------------------------------------------------------------------------------------
// Base protocol

fn read_message(socket: &mut TcpStream, buf: &mut BytesMut) -> Option<Message> {
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(message) = frame(buf, DEFAULT_MAX_MESSAGE_LEN).expect("framing") {
            return Some(message);
        }
        match socket.read(&mut chunk) {
            Ok(0) => return None,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e) => panic!("read: {e}"),
        }
    }
}

#[test]
fn cer_dwr_and_dpr_over_a_raw_socket() {
    let sim = Sim::start_with(&["--subscribers", "10"]);
    let mut socket = TcpStream::connect(sim.diameter).expect("connect");
    socket
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let mut buf = BytesMut::new();
    let cer = MessageBuilder::request(app::BASE, cmd::CAPABILITIES_EXCHANGE)
        .hop_by_hop(1)
        .end_to_end(1)
        .avp_str(avp::ORIGIN_HOST, HOMESTEAD)
        .avp_str(avp::ORIGIN_REALM, "example.com")
        .avp_address(avp::HOST_IP_ADDRESS, std::net::Ipv4Addr::LOCALHOST)
        .avp_u32(avp::VENDOR_ID, 0)
        .avp_str(avp::PRODUCT_NAME, "test")
        .grouped(avp::VENDOR_SPECIFIC_APPLICATION_ID, |g| {
            g.avp_u32(avp::VENDOR_ID, VENDOR_3GPP)
                .avp_u32(avp::AUTH_APPLICATION_ID, app::CX);
        })
        .finish()
        .expect("CER");
    socket.write_all(cer.as_bytes()).expect("write");
    let cea = read_message(&mut socket, &mut buf).expect("CEA");
    assert_eq!(cea.header().command_code, cmd::CAPABILITIES_EXCHANGE);
    assert_eq!(cea.header().hop_by_hop, 1);
    assert_eq!(
        cea.result_code().expect("avps"),
        Some(ResultCode::Base(2001))
    );
    let avps = cea.avps().expect("avps");
    let text = |key| {
        avps.get(key)
            .and_then(|a| a.as_utf8().ok().map(str::to_owned))
            .unwrap_or_default()
    };
    assert_eq!(text(avp::ORIGIN_HOST), "hss.example.com");
    assert_eq!(text(avp::PRODUCT_NAME), "hearth-hss-sim");

    let dwr = MessageBuilder::request(app::BASE, cmd::DEVICE_WATCHDOG)
        .hop_by_hop(2)
        .end_to_end(2)
        .avp_str(avp::ORIGIN_HOST, HOMESTEAD)
        .avp_str(avp::ORIGIN_REALM, "example.com")
        .finish()
        .expect("DWR");
    socket.write_all(dwr.as_bytes()).expect("write");
    let dwa = read_message(&mut socket, &mut buf).expect("DWA");
    assert_eq!(dwa.header().command_code, cmd::DEVICE_WATCHDOG);
    assert!(!dwa.header().is_request());
    assert_eq!(
        dwa.result_code().expect("avps"),
        Some(ResultCode::Base(2001))
    );

    let dpr = MessageBuilder::request(app::BASE, cmd::DISCONNECT_PEER)
        .hop_by_hop(3)
        .end_to_end(3)
        .avp_str(avp::ORIGIN_HOST, HOMESTEAD)
        .avp_str(avp::ORIGIN_REALM, "example.com")
        .avp_i32(avp::DISCONNECT_CAUSE, 2)
        .finish()
        .expect("DPR");
    socket.write_all(dpr.as_bytes()).expect("write");
    let dpa = read_message(&mut socket, &mut buf).expect("DPA");
    assert_eq!(dpa.header().command_code, cmd::DISCONNECT_PEER);
    assert_eq!(
        dpa.result_code().expect("avps"),
        Some(ResultCode::Base(2001))
    );
    // Then the simulator closes the connection.
    assert!(read_message(&mut socket, &mut buf).is_none());
    let (_, stats) = sim.get_status("/stats");
    assert_eq!(stats["connections_total"], 1);
}

// ---------------------------------------------------------------------------------------------
// MAR

#[test]
fn mar_digest_and_aka_verified_like_a_ue_with_resync() {
    let sim = Sim::start_with(&[
        "--subscribers",
        "100",
        "--prefix",
        "user",
        "--password",
        "pw{i}",
    ]);
    let mut client = Client::connect(sim.diameter, HOMESTEAD);

    let maa = client.mar(
        "user3@example.com",
        "sip:user3@example.com",
        AuthScheme::SipDigest,
        None,
    );
    assert_eq!(maa.result, CxResult::SUCCESS);
    let digest = maa.auth_data[0].digest.as_ref().expect("digest");
    let expected = ha1(
        DigestAlgorithm::Md5,
        "user3@example.com",
        "example.com",
        b"pw3",
        "",
        "",
    );
    assert_eq!(digest.ha1, expected.as_hex());
    assert_eq!(
        (digest.realm.as_str(), digest.qop.as_str()),
        ("example.com", "auth")
    );

    // AKA: AUTN verifies with the formula's K/OPc, XRES is the UE's RES.
    let m = generated_keys("user3@example.com");
    let policy = SqnPolicy::default();
    let mut usim = UsimSqnState::new(policy);
    for _ in 0..3 {
        let maa = client.mar(
            "user3@example.com",
            "sip:user3@example.com",
            AuthScheme::DigestAkaV1Md5,
            None,
        );
        assert_eq!(maa.result, CxResult::SUCCESS);
        let (rand, autn) = challenge(&maa);
        let UsimResponse::Accepted(ue) =
            usim_authenticate(&m, &mut usim, &rand, &autn).expect("AUTN verifies")
        else {
            panic!("stale SQN");
        };
        assert_eq!(maa.auth_data[0].authorization.as_deref(), Some(&ue.res[..]));
        assert_eq!(
            maa.auth_data[0].confidentiality_key.as_deref(),
            Some(&ue.ck[..])
        );
    }
    // Another subscriber's keys do not verify this one's vector.
    let maa = client.mar(
        "user4@example.com",
        "sip:user4@example.com",
        AuthScheme::DigestAkaV1Md5,
        None,
    );
    let (rand, autn) = challenge(&maa);
    assert!(check_autn(&m, &rand, &autn).is_err());

    // Resync: a USIM far ahead refuses the next vector; its AUTS moves the HSS's SQN.
    let mut ahead = UsimSqnState::starting_at(policy, (500 << 5) | 3).expect("state");
    let maa = client.mar(
        "user3@example.com",
        "sip:user3@example.com",
        AuthScheme::DigestAkaV2Sha256,
        None,
    );
    let (rand, autn) = challenge(&maa);
    let UsimResponse::SyncFailure { auts, .. } =
        usim_authenticate(&m, &mut ahead, &rand, &autn).expect("genuine")
    else {
        panic!("a stale SQN must be refused");
    };
    let maa = client.mar(
        "user3@example.com",
        "sip:user3@example.com",
        AuthScheme::DigestAkaV2Sha256,
        Some(Resync { rand, auts }),
    );
    assert_eq!(maa.result, CxResult::SUCCESS);
    assert_eq!(maa.auth_data[0].scheme, Some(AuthScheme::DigestAkaV2Sha256));
    let (rand, autn) = challenge(&maa);
    let UsimResponse::Accepted(ue) =
        usim_authenticate(&m, &mut ahead, &rand, &autn).expect("genuine")
    else {
        panic!("the vector after resync must be accepted");
    };
    assert_eq!(sqn_from_bytes(&ue.sqn) >> 5, 501);
    let (status, view) = sim.get_status("/subscriber/user3%40example.com");
    assert_eq!(status, 200);
    assert_eq!(view["seq"], 501);

    // A forged AUTS is refused and does not move the SQN.
    let mut forged = aka::build_auts(&m, &rand, [0, 0, 0, 0, 0x40, 0]);
    forged[13] ^= 0xff;
    let maa = client.mar(
        "user3@example.com",
        "sip:user3@example.com",
        AuthScheme::DigestAkaV1Md5,
        Some(Resync { rand, auts: forged }),
    );
    assert_eq!(maa.result, CxResult::Base(5003));
    assert_eq!(
        sim.get_status("/subscriber/user3%40example.com").1["seq"],
        501
    );

    // Unknown users and identities that do not belong together.
    let maa = client.mar(
        "user100@example.com",
        "sip:user100@example.com",
        AuthScheme::Unknown,
        None,
    );
    assert_eq!(maa.result, tgpp(5001));
    let maa = client.mar(
        "user3@example.com",
        "sip:user4@example.com",
        AuthScheme::Unknown,
        None,
    );
    assert_eq!(maa.result, tgpp(5002));
    let (_, stats) = sim.get_status("/stats");
    assert_eq!(stats["requests"]["MAR"], 10);
}

// ---------------------------------------------------------------------------------------------
// UAR, LIR, SAR over a population file

const POPULATION: &str = r#"{
  "subscribers": [
    {"impi": "alice@example.com", "password": "secret",
     "irs": [{"id": "alice", "impus": ["sip:alice@example.com", "sip:!user.*!@example.com"],
              "ifc": "<ServiceProfile><InitialFilterCriteria><Priority>0</Priority><ApplicationServer><ServerName>sip:as.example.com</ServerName><DefaultHandling>0</DefaultHandling></ApplicationServer></InitialFilterCriteria></ServiceProfile>",
              "charging": {"ccf1": "aaa://ccf1.example.com", "ecf1": "aaa://ecf1.example.com"}}]},
    {"impi": "bob@example.com", "password": "bobpw", "roaming_allowed": false,
     "irs": [{"id": "bob", "impus": ["sip:bob@example.com", {"impu": "tel:+15551234", "barred": true}]}]}
  ]
}"#;

fn population_file() -> tempfile::NamedTempFile {
    let mut file = tempfile::NamedTempFile::new().expect("temp file");
    file.write_all(POPULATION.as_bytes()).expect("write");
    file
}

#[test]
fn uar_lir_and_sar_answers_from_a_population_file() {
    let file = population_file();
    let path = file.path().to_str().expect("path").to_owned();
    let sim = Sim::start_with(&["--population", &path]);
    let mut client = Client::connect(sim.diameter, HOMESTEAD);

    let uaa = client.uar("alice@example.com", "sip:alice@example.com", "example.com");
    assert_eq!(uaa.result, tgpp(2001));
    assert_eq!(
        uaa.capabilities.map(|c| c.server_names),
        Some(vec![SCSCF.to_owned()])
    );
    for (impi, impu, visited, expected) in [
        (
            "nobody@example.com",
            "sip:alice@example.com",
            "example.com",
            tgpp(5001),
        ),
        (
            "alice@example.com",
            "sip:bob@example.com",
            "example.com",
            tgpp(5002),
        ),
        (
            "bob@example.com",
            "tel:+15551234",
            "example.com",
            CxResult::Base(5003),
        ),
        (
            "bob@example.com",
            "sip:bob@example.com",
            "visited.example.net",
            tgpp(5004),
        ),
    ] {
        assert_eq!(
            client.uar(impi, impu, visited).result,
            expected,
            "{impi} {impu}"
        );
    }

    assert_eq!(client.lir("sip:nobody@example.com").result, tgpp(5001));
    assert_eq!(client.lir("sip:alice@example.com").result, tgpp(2003));
    assert_eq!(client.lir("sip:bob@example.com").result, tgpp(5003));

    let saa = client.sar(
        Some("alice@example.com"),
        "sip:alice@example.com",
        ServerAssignmentType::Registration,
        None,
    );
    assert_eq!(saa.result, CxResult::SUCCESS);
    let doc = parse_user_data(saa.user_data.as_deref().expect("User-Data").as_bytes())
        .expect("IMSSubscription parses");
    assert_eq!(
        doc.subscription.private_id.as_deref(),
        Some("alice@example.com")
    );
    assert_eq!(
        doc.subscription.service_profiles[0].public_identities,
        vec!["sip:alice@example.com", "sip:!user.*!@example.com"]
    );
    assert_eq!(doc.subscription.service_profiles[0].ifc_count, 1);
    let charging = saa.charging.expect("Charging-Information");
    assert_eq!(
        charging.primary_ccf.as_deref(),
        Some("aaa://ccf1.example.com")
    );
    assert_eq!(
        charging.primary_ecf.as_deref(),
        Some("aaa://ecf1.example.com")
    );

    let uaa = client.uar("alice@example.com", "sip:alice@example.com", "example.com");
    assert_eq!(uaa.result, tgpp(2002));
    assert_eq!(uaa.server_name.as_deref(), Some(SCSCF));
    let lia = client.lir("sip:user9@example.com");
    assert_eq!(lia.result, CxResult::SUCCESS);
    assert_eq!(lia.server_name.as_deref(), Some(SCSCF));
    assert_eq!(
        lia.wildcarded_public_identity.as_deref(),
        Some("sip:!user.*!@example.com")
    );

    // 5007 with the right wildcard, which Hearth's map_saa turns into a retry.
    let sent = "sip:!usr.*!@example.com";
    let saa = client.sar(
        None,
        "sip:user9@example.com",
        ServerAssignmentType::UnregisteredUser,
        Some(sent),
    );
    assert_eq!(saa.result, tgpp(5007));
    let SaaOutcome::RetryWithWildcard(wildcard) = map_saa(&saa, Some(sent)) else {
        panic!("5007 must ask for a retry: {saa:?}");
    };
    assert_eq!(wildcard, "sip:!user.*!@example.com");
    let saa = client.sar(
        None,
        "sip:user9@example.com",
        ServerAssignmentType::UnregisteredUser,
        Some(&wildcard),
    );
    assert_eq!(saa.result, CxResult::SUCCESS);
    assert!(saa.user_data.is_some());

    let saa = client.sar(
        Some("alice@example.com"),
        "sip:alice@example.com",
        ServerAssignmentType::UserDeregistration,
        None,
    );
    assert_eq!(saa.result, CxResult::SUCCESS);
    assert!(saa.user_data.is_none());
    assert_eq!(client.lir("sip:alice@example.com").result, tgpp(2003));
    let saa = client.sar(
        Some("nobody"),
        "sip:alice@example.com",
        ServerAssignmentType::Registration,
        None,
    );
    assert_eq!(saa.result, tgpp(5001));

    // The control API's refusals.
    assert_eq!(sim.get_status("/subscriber/nobody%40example.com").0, 404);
    assert_eq!(sim.get_status("/nothing-here").0, 404);
    let (status, body) = sim.post("/ppr", serde_json::json!({"impi": "nobody"}));
    assert_eq!(status, 404, "{body}");
    let (status, body) = sim.post(
        "/rtr",
        serde_json::json!({"impis": ["alice@example.com"], "reason": "NOPE"}),
    );
    assert_eq!(status, 400, "{body}");
    let (status, _) = sim.post("/stats", serde_json::json!({}));
    assert_eq!(status, 405);
}

#[test]
fn zh_mar_returns_a_vector_and_the_guss() {
    let sim = Sim::start_with(&["--subscribers", "5", "--prefix", "user"]);
    let mut client = Client::connect(sim.diameter, "bsf.example.com");
    let zh_mar = |impi: &str| {
        MessageBuilder::request(app::ZH, cmd::MULTIMEDIA_AUTH)
            .avp_str(avp::SESSION_ID, &format!("bsf.example.com;1;{impi}"))
            .grouped(avp::VENDOR_SPECIFIC_APPLICATION_ID, |g| {
                g.avp_u32(avp::VENDOR_ID, VENDOR_3GPP)
                    .avp_u32(avp::AUTH_APPLICATION_ID, app::ZH);
            })
            .avp_i32(
                avp::AUTH_SESSION_STATE,
                auth_session_state::NO_STATE_MAINTAINED,
            )
            .avp_str(avp::ORIGIN_HOST, "bsf.example.com")
            .avp_str(avp::ORIGIN_REALM, "example.com")
            .avp_str(avp::DESTINATION_REALM, "example.com")
            .avp_str(avp::USER_NAME, impi)
    };
    let answer = client.call(zh_mar("user2@example.com"));
    assert_eq!(answer.header().application_id, app::ZH);
    assert_eq!(
        answer.result_code().expect("avps"),
        Some(ResultCode::Base(2001))
    );
    let avps = answer.avps().expect("avps");
    let item = avps
        .get(avp::SIP_AUTH_DATA_ITEM)
        .expect("SIP-Auth-Data-Item");
    let members = item.grouped().expect("grouped");
    let challenge = members
        .get(avp::SIP_AUTHENTICATE)
        .expect("SIP-Authenticate");
    let mut rand = [0u8; 16];
    let mut autn = [0u8; 16];
    rand.copy_from_slice(&challenge.data[..16]);
    autn.copy_from_slice(&challenge.data[16..32]);
    let ue = check_autn(&generated_keys("user2@example.com"), &rand, &autn).expect("AUTN");
    assert_eq!(
        members.get(avp::SIP_AUTHORIZATION).map(|a| a.data.to_vec()),
        Some(ue.res.to_vec())
    );
    let guss = avps
        .get(avp::GBA_USER_SEC_SETTINGS)
        .and_then(|a| a.as_utf8().ok().map(str::to_owned))
        .expect("GUSS");
    assert!(guss.contains("<uid>sip:user2@example.com</uid>"), "{guss}");

    let unknown = client.call(zh_mar("user9@example.com"));
    assert_eq!(
        unknown.result_code().expect("avps"),
        Some(ResultCode::Experimental {
            vendor_id: VENDOR_3GPP,
            code: 5001
        })
    );
}

// ---------------------------------------------------------------------------------------------
// Injection

#[test]
fn injected_latency_errors_and_drops() {
    let sim = Sim::start_with(&[
        "--subscribers",
        "10",
        "--prefix",
        "user",
        "--latency-ms",
        "300",
    ]);
    let mut client = Client::connect(sim.diameter, HOMESTEAD);
    let mar = |client: &Client, i: u32| {
        Mar {
            routing: client.routing(),
            user_name: format!("user{i}@example.com"),
            public_identity: format!("sip:user{i}@example.com"),
            scheme: AuthScheme::SipDigest,
            resync: None,
            number_auth_items: 1,
            server_name: SCSCF.into(),
        }
        .builder()
    };
    // Latency from the command line: no answer comes before it.
    let sent = Instant::now();
    let first = client.send(mar(&client, 1));
    let second = client.send(mar(&client, 2));
    client.outcome(first).expect("answer");
    client.outcome(second).expect("answer");
    assert!(sent.elapsed() >= Duration::from_millis(300));

    // Latency for one identity only: a later request overtakes the slow one, so answers are not
    // serialised.
    sim.configure(serde_json::json!({
        "latency_ms": 1500, "identities": ["user1@example.com"]
    }));
    let slow = client.send(mar(&client, 1));
    let fast = client.send(mar(&client, 2));
    let mut order = Vec::new();
    client.pump_until(Duration::from_secs(15), |c| {
        while let Some(PoolEvent::Answer { id, .. }) =
            c.take_event(|e| matches!(e, PoolEvent::Answer { .. }))
        {
            order.push(id);
        }
        order.len() == 2
    });
    assert_eq!(order, vec![fast, slow]);

    // Errors: 3004 with the 'E' bit, then a 3GPP code.
    sim.configure(serde_json::json!({
        "latency_ms": 0, "identities": [], "error_rate": 1.0, "error_code": "3004"
    }));
    let busy = client.call(mar(&client, 1));
    assert!(busy.header().is_error());
    assert_eq!(
        busy.result_code().expect("avps"),
        Some(ResultCode::Base(3004))
    );
    sim.configure(serde_json::json!({"error_code": "3gpp:5001", "commands": ["MAR"]}));
    let maa = Maa::from_message(&client.call(mar(&client, 1))).expect("MAA");
    assert_eq!(maa.result, tgpp(5001));
    // Only MAR is concerned.
    let lia = client.lir("sip:user1@example.com");
    assert_eq!(lia.result, tgpp(2003));

    // Drops: the simulator counts the request and never answers it.
    sim.configure(serde_json::json!({"error_rate": 0.0, "drop_rate": 1.0, "commands": []}));
    let dropped = client.send(mar(&client, 3));
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        client.pump_once(Duration::from_millis(20));
        if sim.get_status("/stats").1["dropped"] == 1 {
            break;
        }
        assert!(Instant::now() < deadline, "the drop was not counted");
    }
    assert!(
        client
            .take_event(|e| matches!(e, PoolEvent::Answer { id, .. } if *id == dropped))
            .is_none()
    );

    sim.configure(serde_json::json!({"drop_rate": 0.0}));
    let maa = Maa::from_message(&client.call(mar(&client, 4))).expect("MAA");
    assert_eq!(maa.result, CxResult::SUCCESS);
    // The dropped request never gets its answer, even after later ones were answered.
    assert!(
        client
            .take_event(|e| matches!(e, PoolEvent::Answer { id, .. } if *id == dropped))
            .is_none()
    );
    let (_, stats) = sim.get_status("/stats");
    assert_eq!(stats["injected_errors"], 2);
    assert!(stats["delayed"].as_u64().expect("delayed") >= 3);

    let (status, error) = sim.post("/config", serde_json::json!({"error_rate": 2}));
    assert_eq!(status, 400, "{error}");
}

// ---------------------------------------------------------------------------------------------
// RTR and PPR on command

#[test]
fn rtr_and_ppr_reach_the_connection_that_registered() {
    let sim = Sim::start_with(&["--subscribers", "10", "--prefix", "user"]);
    let mut other = Client::connect(sim.diameter, "homestead-a.example.com");
    let mut client = Client::connect(sim.diameter, "homestead-b.example.com");
    let saa = client.sar(
        Some("user1@example.com"),
        "sip:user1@example.com",
        ServerAssignmentType::Registration,
        None,
    );
    assert_eq!(saa.result, CxResult::SUCCESS);

    let http = sim.post_in_background(
        "/rtr",
        serde_json::json!({"impis": ["user1@example.com"], "reason": "SERVER_CHANGE",
                           "reason_info": "moving"}),
    );
    let (token, request) = client.incoming();
    let rtr = Rtr::from_message(&request).expect("RTR");
    assert_eq!(rtr.user_name, "user1@example.com");
    assert_eq!(rtr.reason.code, ReasonCode::ServerChange);
    assert_eq!(rtr.reason.info.as_deref(), Some("moving"));
    assert_eq!(
        rtr.routing.destination_host.as_deref(),
        Some("homestead-b.example.com")
    );
    let rta = Rta {
        session_id: rtr.routing.session_id.clone(),
        origin: client.origin(),
        result: CxResult::SUCCESS,
        associated_identities: vec![],
    };
    client.answer(token, rta.to_message(&request).expect("RTA"));
    let (status, body) = http.join().expect("http");
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["result_code"], 2001);
    assert_eq!(body["destination_host"], "homestead-b.example.com");
    let (_, view) = sim.get_status("/subscriber/user1%40example.com");
    assert!(view["irs"][0]["assignment"].is_null(), "{view}");

    // Nothing registered any more: the control API says so.
    let (status, _) = sim.post("/rtr", serde_json::json!({"impis": ["user1@example.com"]}));
    assert_eq!(status, 409);

    // PPR with a new iFC, after a new registration.
    client.sar(
        Some("user1@example.com"),
        "sip:user1@example.com",
        ServerAssignmentType::Registration,
        None,
    );
    let ifc = "<ServiceProfile><InitialFilterCriteria><Priority>7</Priority><ApplicationServer><ServerName>sip:new-as.example.com</ServerName><DefaultHandling>0</DefaultHandling></ApplicationServer></InitialFilterCriteria></ServiceProfile>";
    let http = sim.post_in_background(
        "/ppr",
        serde_json::json!({"impi": "user1@example.com", "ifc": ifc,
                           "charging": {"ccf1": "aaa://new-ccf.example.com"}}),
    );
    let (token, request) = client.incoming();
    let ppr = Ppr::from_message(&request).expect("PPR");
    assert_eq!(ppr.user_name, "user1@example.com");
    let user_data = ppr.user_data.as_deref().expect("User-Data");
    let doc = parse_user_data(user_data.as_bytes()).expect("parses");
    assert_eq!(
        doc.subscription.service_profiles[0].public_identities,
        vec!["sip:user1@example.com"]
    );
    assert!(user_data.contains("sip:new-as.example.com"));
    assert_eq!(
        ppr.charging.and_then(|c| c.primary_ccf).as_deref(),
        Some("aaa://new-ccf.example.com")
    );
    let ppa = Ppa {
        session_id: ppr.routing.session_id.clone(),
        origin: client.origin(),
        result: CxResult::Base(5012),
    };
    client.answer(token, ppa.to_message(&request).expect("PPA"));
    let (status, body) = http.join().expect("http");
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["result_code"], 5012);
    // The profile change is kept: the next SAA carries it.
    let saa = client.sar(
        Some("user1@example.com"),
        "sip:user1@example.com",
        ServerAssignmentType::ReRegistration,
        None,
    );
    assert!(
        saa.user_data
            .expect("User-Data")
            .contains("sip:new-as.example.com")
    );

    // The other connection saw none of it.
    other.pump_once(Duration::from_millis(50));
    assert!(
        other
            .take_event(|e| matches!(e, PoolEvent::IncomingRequest { .. }))
            .is_none()
    );
    let (_, stats) = sim.get_status("/stats");
    assert_eq!(stats["sent"]["RTR"], 1);
    assert_eq!(stats["sent"]["PPR"], 1);
    assert_eq!(stats["connections_open"], 2);
}

// ---------------------------------------------------------------------------------------------
// Start and stop

#[test]
fn sigterm_sends_dpr_and_exits_zero() {
    let mut sim = Sim::start_with(&["--subscribers", "1"]);
    let mut client = Client::connect(sim.diameter, HOMESTEAD);
    let pid = sim.pid().to_string();
    let _ = Command::new("kill").args(["-TERM", &pid]).status();
    let mut reason = None;
    client.pump_until(Duration::from_secs(10), |c| {
        if let Some(PoolEvent::Disconnect { reason: r, .. }) =
            c.take_event(|e| matches!(e, PoolEvent::Disconnect { .. }))
        {
            reason = Some(r);
        }
        reason.is_some()
    });
    // REBOOTING (0): the simulator may come back.
    assert_eq!(
        reason,
        Some(DisconnectReason::PeerRequested { cause: Some(0) })
    );
    let status = sim.terminate();
    assert!(status.success(), "{status}");
}

#[test]
fn a_bad_population_file_exits_2_with_the_reason() {
    let mut file = tempfile::NamedTempFile::new().expect("temp file");
    file.write_all(br#"{"subscribers": [{"impi": "x@example.com", "password": "p", "irs": [{"impus": ["x@example.com"]}]}]}"#)
        .expect("write");
    let output = Command::new(env!("CARGO_BIN_EXE_hearth"))
        .args(["hss-sim", "--listen", "127.0.0.1:0", "--population"])
        .arg(file.path())
        .output()
        .expect("run");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("not a sip:"), "{stderr}");
}
