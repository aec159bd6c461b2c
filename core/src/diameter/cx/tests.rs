//! Tests of the Cx messages and of Homestead's HTTP mapping.
//!
//! Vectors: PyHSS's captured Cx requests (nickvsnetworking/pyhss tests/test_Diameter.py: MAR,
//! UAR, SAR, RTR), decoded into typed values and re-encoded; TS 35.208 Milenage test set 1 for the
//! AKA vector carried in a MAA and its Homestead JSON; hand-written encodings of single AVPs.

use bytes::{Bytes, BytesMut};

use super::*;
use crate::crypto::aka::{decode_resync_auth, generate_vector_with_rand};
use crate::crypto::milenage::Milenage;
use crate::diameter::dict::{AvpDef, DataType, FlagRule};
use crate::diameter::{AvpFlags, AvpHeader, validate};

/// Bytes from hex with whitespace ignored.
fn hx(text: &str) -> Bytes {
    let compact: String = text.split_whitespace().collect();
    Bytes::from(hex::decode(compact).expect("test hex"))
}

fn array<const N: usize>(text: &str) -> [u8; N] {
    hx(text).as_ref().try_into().expect("test array length")
}

fn parse(bytes: Bytes) -> Message {
    Message::parse(bytes).expect("valid message")
}

/// The message as a peer receives it: its bytes parsed again.
fn received(message: &Message) -> Message {
    parse(message.as_bytes().clone())
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle)
}

fn homestead() -> Origin {
    Origin::new("homestead.example.org", "example.org")
}

fn hss() -> Origin {
    Origin::new("hss.example.net", "example.net")
}

fn to_hss(session: &str) -> Routing {
    Routing::new(
        session,
        &homestead(),
        &Destination {
            realm: "example.net".into(),
            host: Some("hss.example.net".into()),
        },
    )
}

fn to_scscf(session: &str) -> Routing {
    Routing::new(
        session,
        &hss(),
        &Destination {
            realm: "example.org".into(),
            host: Some("homestead.example.org".into()),
        },
    )
}

/// Code, Vendor-Id and flags octet of each AVP of a run, in order.
fn shape(list: &AvpList) -> Vec<(u32, Option<u32>, u8)> {
    list.iter()
        .map(|a| (a.code, a.vendor_id, a.flags.bits()))
        .collect()
}

fn members(list: &AvpList, key: AvpKey) -> AvpList {
    list.get(key)
        .expect("grouped AVP present")
        .grouped()
        .unwrap()
}

/// Every AVP, at every depth, has the 'V' bit exactly when it has a Vendor-Id, and the 'M' bit
/// exactly when the dictionary says it must be set; known Grouped AVPs are descended into.
fn check_flags(list: &AvpList) {
    for a in list {
        assert_eq!(
            a.flags.contains(AvpFlags::VENDOR),
            a.vendor_id.is_some(),
            "V bit of {}",
            a.key()
        );
        let def: &AvpDef = dict::avp_def(a.key()).expect("AVP known to the dictionary");
        assert_eq!(
            a.is_mandatory(),
            def.mandatory == FlagRule::Must,
            "M bit of {}",
            def.name
        );
        assert!(
            !a.flags.contains(AvpFlags::PROTECTED),
            "P bit of {}",
            def.name
        );
        if def.data_type == DataType::Grouped && a.key() != avp::PROXY_INFO {
            check_flags(&a.grouped().unwrap());
        }
    }
}

/// What every built message must satisfy: valid against the dictionary, flags as the dictionary
/// says.
fn check_built(message: &Message) {
    assert_eq!(validate(message, &[app::CX]), Ok(()));
    check_flags(&message.avps().unwrap());
}

/// The AVPs every Cx request starts with, up to Origin-Realm.
const REQUEST_PREFIX: [(u32, Option<u32>, u8); 5] = [
    (263, None, 0x40),
    (260, None, 0x40),
    (277, None, 0x40),
    (264, None, 0x40),
    (296, None, 0x40),
];

fn with_prefix(rest: &[(u32, Option<u32>, u8)]) -> Vec<(u32, Option<u32>, u8)> {
    REQUEST_PREFIX.iter().chain(rest).copied().collect()
}

/// The fixed application AVPs of a Cx request or answer.
fn check_application_avps(avps: &AvpList) {
    let vsai = members(avps, avp::VENDOR_SPECIFIC_APPLICATION_ID);
    assert_eq!(shape(&vsai), [(266, None, 0x40), (258, None, 0x40)]);
    assert_eq!(vsai.get(avp::VENDOR_ID).unwrap().as_u32(), Ok(10415));
    assert_eq!(
        vsai.get(avp::AUTH_APPLICATION_ID).unwrap().as_u32(),
        Ok(16_777_216)
    );
    assert_eq!(
        avps.get(avp::AUTH_SESSION_STATE).unwrap().as_enumerated(),
        Ok(1)
    );
}

fn sample_mar() -> Mar {
    Mar {
        routing: to_hss("homestead.example.org;3758096384;7"),
        user_name: "alice@example.org".into(),
        public_identity: "sip:alice@example.org".into(),
        scheme: AuthScheme::DigestAkaV1Md5,
        resync: Some(Resync {
            rand: [0x11; 16],
            auts: [0x22; AUTS_LEN],
        }),
        number_auth_items: 1,
        server_name: "sip:scscf.example.org;transport=TCP".into(),
    }
}

fn sample_uar() -> Uar {
    Uar {
        routing: to_hss("homestead.example.org;1;2"),
        user_name: "alice@example.org".into(),
        public_identity: "sip:alice@example.org".into(),
        visited_network: "example.org".into(),
        authorization_type: UserAuthorizationType::Registration,
        uar_flags: 0,
    }
}

fn sample_lir() -> Lir {
    Lir {
        routing: to_hss("homestead.example.org;1;3"),
        originating: true,
        public_identity: "sip:alice@example.org".into(),
        authorization_type: Some(UserAuthorizationType::RegistrationAndCapabilities),
    }
}

fn sample_sar() -> Sar {
    Sar {
        routing: to_hss("homestead.example.org;1;4"),
        user_name: Some("alice@example.org".into()),
        supported_features: vec![SupportedFeatures::SHARED_IFC_SETS],
        public_identities: vec!["sip:alice@example.org".into()],
        wildcarded_public_identity: Some("sip:!.*!@example.org".into()),
        server_name: "sip:scscf.example.org;transport=TCP".into(),
        server_assignment_type: ServerAssignmentType::UnregisteredUser,
        user_data_already_available: false,
    }
}

fn sample_ppr() -> Ppr {
    Ppr {
        routing: to_scscf("hss.example.net;9;1"),
        user_name: "alice@example.org".into(),
        user_data: Some(
            "<IMSSubscription><PrivateID>alice@example.org</PrivateID></IMSSubscription>".into(),
        ),
        charging: Some(ChargingInformation {
            primary_ccf: Some("aaa://ccf1.example.org".into()),
            secondary_ccf: Some("aaa://ccf2.example.org".into()),
            primary_ecf: Some("aaa://ecf1.example.org".into()),
            secondary_ecf: None,
        }),
        auth_data: Some(SipAuthDataItem::digest(
            "example.org",
            "auth",
            "0123456789abcdef0123456789abcdef",
        )),
    }
}

fn sample_rtr() -> Rtr {
    Rtr {
        routing: to_scscf("hss.example.net;9;2"),
        user_name: "alice@example.org".into(),
        associated_identities: vec![
            "alice-phone@example.org".into(),
            "alice-tab@example.org".into(),
        ],
        public_identities: vec!["sip:alice@example.org".into(), "tel:+15551234".into()],
        reason: DeregistrationReason {
            code: ReasonCode::RemoveScscf,
            info: Some("maintenance".into()),
        },
    }
}

/// TS 35.208 §4.3 test set 1 (K, OPc, RAND, SQN, AMF) and the vector Milenage gives for it.
fn test_set_1_vector() -> AuthVector {
    let milenage = Milenage::new(
        &array("465b5ce8b199b49faa5f0a2ee238a6bc"),
        &array("cd63cb71954a9f4e48a5994e37a02baf"),
    );
    generate_vector_with_rand(
        &milenage,
        array("23553cbe9637a89d218ae64dae47bf35"),
        array("ff9bb4d0b607"),
        array("b9b9"),
    )
}

fn answer_of(outcome: CxResult) -> (String, Origin, CxResult) {
    ("homestead.example.org;1;2".into(), hss(), outcome)
}

fn maa(outcome: CxResult, auth_data: Vec<SipAuthDataItem>) -> Maa {
    let (session_id, origin, result) = answer_of(outcome);
    Maa {
        session_id,
        origin,
        result,
        user_name: None,
        public_identity: None,
        number_auth_items: None,
        auth_data,
    }
}

fn uaa(
    outcome: CxResult,
    server_name: Option<&str>,
    capabilities: Option<ServerCapabilities>,
) -> Uaa {
    let (session_id, origin, result) = answer_of(outcome);
    Uaa {
        session_id,
        origin,
        result,
        server_name: server_name.map(str::to_owned),
        capabilities,
    }
}

fn lia(
    outcome: CxResult,
    server_name: Option<&str>,
    capabilities: Option<ServerCapabilities>,
    wildcard: Option<&str>,
) -> Lia {
    let (session_id, origin, result) = answer_of(outcome);
    Lia {
        session_id,
        origin,
        result,
        server_name: server_name.map(str::to_owned),
        capabilities,
        wildcarded_public_identity: wildcard.map(str::to_owned),
    }
}

fn saa(outcome: CxResult, wildcard: Option<&str>) -> Saa {
    let (session_id, origin, result) = answer_of(outcome);
    Saa {
        session_id,
        origin,
        result,
        user_name: None,
        supported_features: Vec::new(),
        user_data: None,
        charging: None,
        associated_identities: Vec::new(),
        server_name: None,
        wildcarded_public_identity: wildcard.map(str::to_owned),
    }
}

fn json(outcome: &HttpOutcome) -> &str {
    assert_eq!(outcome.status, 200);
    outcome.body.as_deref().expect("a JSON body")
}

/// A copy of `message` with the top-level AVPs `drop` selects left out and `extra` appended.
fn rebuild(
    message: &Message,
    drop: impl Fn(&Avp) -> bool,
    extra: impl FnOnce(MessageBuilder) -> MessageBuilder,
) -> Message {
    let header = message.header();
    let mut builder = MessageBuilder::new(header.command_code, header.application_id, header.flags)
        .hop_by_hop(header.hop_by_hop)
        .end_to_end(header.end_to_end);
    for a in &message.avps().unwrap() {
        if !drop(&a) {
            builder = builder.avp_copy(&a);
        }
    }
    extra(builder).finish().unwrap()
}

// ---------------------------------------------------------------------------------------------
// Requests as Homestead sends them

#[test]
fn mar_carries_what_homestead_sends_in_order_with_flags() {
    let mar = sample_mar();
    let message = mar.to_message(0x0102_0304, 0x0A0B_0C0D).unwrap();
    let header = message.header();
    assert!(header.is_request() && header.is_proxiable() && !header.is_error());
    assert_eq!(
        (header.command_code, header.application_id),
        (303, 16_777_216)
    );
    assert_eq!(
        (header.hop_by_hop, header.end_to_end),
        (0x0102_0304, 0x0A0B_0C0D)
    );
    check_built(&message);

    let avps = message.avps().unwrap();
    assert_eq!(
        shape(&avps),
        with_prefix(&[
            (283, None, 0x40),
            (293, None, 0x40),
            (1, None, 0x40),
            (601, Some(10415), 0xC0),
            (612, Some(10415), 0xC0),
            (607, Some(10415), 0xC0),
            (602, Some(10415), 0xC0),
        ])
    );
    check_application_avps(&avps);
    assert_eq!(
        avps.get(avp::SESSION_ID).unwrap().as_utf8(),
        Ok("homestead.example.org;3758096384;7")
    );
    assert_eq!(
        avps.get(avp::DESTINATION_HOST).unwrap().as_identity(),
        Ok("hss.example.net")
    );
    let item = members(&avps, avp::SIP_AUTH_DATA_ITEM);
    assert_eq!(
        shape(&item),
        [(608, Some(10415), 0xC0), (610, Some(10415), 0xC0)]
    );
    assert_eq!(
        item.get(avp::SIP_AUTHENTICATION_SCHEME).unwrap().as_utf8(),
        Ok("Digest-AKAv1-MD5")
    );
    let mut rand_auts = vec![0x11; 16];
    rand_auts.extend_from_slice(&[0x22; 14]);
    assert_eq!(item.get(avp::SIP_AUTHORIZATION).unwrap().data, rand_auts);
    // SIP-Number-Auth-Items = 1, byte for byte (code 607, flags V M, length 16, vendor 10415).
    assert!(contains(
        message.as_bytes(),
        &hx("0000025f c0000010 000028af 00000001")
    ));
    // Server-Name (602): 12 header octets + 35 of text = 47, padded to 48.
    assert!(contains(
        message.as_bytes(),
        &hx("0000025a c000002f 000028af")
    ));

    assert_eq!(Mar::from_message(&received(&message)), Ok(mar));
}

#[test]
fn mar_round_trips_every_scheme_with_and_without_resync() {
    for scheme in [
        AuthScheme::Unknown,
        AuthScheme::SipDigest,
        AuthScheme::DigestAkaV1Md5,
        AuthScheme::DigestAkaV2Sha256,
        AuthScheme::Other("NASS-Bundled".into()),
    ] {
        for resync in [None, sample_mar().resync] {
            let mar = Mar {
                scheme: scheme.clone(),
                resync,
                routing: Routing {
                    destination_host: None,
                    ..sample_mar().routing
                },
                ..sample_mar()
            };
            let message = mar.to_message(1, 2).unwrap();
            check_built(&message);
            let avps = message.avps().unwrap();
            assert!(avps.get(avp::DESTINATION_HOST).is_none());
            assert_eq!(
                members(&avps, avp::SIP_AUTH_DATA_ITEM)
                    .get(avp::SIP_AUTHORIZATION)
                    .is_some(),
                resync.is_some()
            );
            assert_eq!(Mar::from_message(&received(&message)), Ok(mar));
        }
    }
    assert_eq!(AuthScheme::from_wire("SIP Digest"), AuthScheme::SipDigest);
    assert_eq!(
        AuthScheme::from_wire("Digest-AKAv2-SHA-256"),
        AuthScheme::DigestAkaV2Sha256
    );
    assert_eq!(AuthScheme::from_wire("Unknown"), AuthScheme::Unknown);
    // Homestead compares names exactly.
    assert_eq!(
        AuthScheme::from_wire("sip digest"),
        AuthScheme::Other("sip digest".into())
    );
}

#[test]
fn resync_is_rand_then_auts_and_comes_from_resync_auth() {
    let resync = Resync {
        rand: array("000102030405060708090a0b0c0d0e0f"),
        auts: array("101112131415161718191a1b1c1d"),
    };
    let bytes = resync.to_bytes();
    assert_eq!(
        bytes.as_slice(),
        hx("000102030405060708090a0b0c0d0e0f 101112131415161718191a1b1c1d").as_ref()
    );
    assert_eq!(Resync::from_bytes(&bytes), Some(resync));
    assert_eq!(Resync::from_bytes(&bytes[..29]), None);
    assert_eq!(Resync::from_bytes(&[0; 31]), None);
    // Sprout's resync-auth is base64(RAND || AUTS).
    let from_sprout = Resync::from(decode_resync_auth(&BASE64.encode(bytes)).unwrap());
    assert_eq!(from_sprout, resync);
}

#[test]
fn uar_carries_the_authorization_type_and_emergency_flag() {
    for (auth_type, value) in [("REG", 0), ("DEREG", 1), ("CAPAB", 2)] {
        let kind = UserAuthorizationType::from_auth_type(auth_type).unwrap();
        assert_eq!(kind.value(), value);
        assert_eq!(UserAuthorizationType::from_value(value), Some(kind));
        for uar_flags in [0, UAR_FLAG_IMS_EMERGENCY_REGISTRATION] {
            let uar = Uar {
                authorization_type: kind,
                uar_flags,
                ..sample_uar()
            };
            let message = uar.to_message(3, 4).unwrap();
            check_built(&message);
            let avps = message.avps().unwrap();
            let mut expected = vec![
                (293, None, 0x40),
                (283, None, 0x40),
                (1, None, 0x40),
                (601, Some(10415), 0xC0),
                (600, Some(10415), 0xC0),
                (623, Some(10415), 0xC0),
            ];
            if uar_flags != 0 {
                expected.push((637, Some(10415), 0x80));
            }
            assert_eq!(shape(&avps), with_prefix(&expected));
            check_application_avps(&avps);
            assert_eq!(
                avps.get(avp::USER_AUTHORIZATION_TYPE)
                    .unwrap()
                    .as_enumerated(),
                Ok(value)
            );
            assert_eq!(
                avps.get(avp::VISITED_NETWORK_IDENTIFIER)
                    .unwrap()
                    .as_octets(),
                b"example.org"
            );
            let parsed = Uar::from_message(&received(&message)).unwrap();
            assert_eq!(parsed.is_emergency(), uar_flags != 0);
            assert_eq!(parsed, uar);
        }
    }
    assert_eq!(UserAuthorizationType::from_auth_type("reg"), None);
    assert_eq!(UserAuthorizationType::from_value(3), None);
}

#[test]
fn lir_carries_originating_request_and_capabilities_type_only_when_asked() {
    let lir = sample_lir();
    let message = lir.to_message(5, 6).unwrap();
    check_built(&message);
    let avps = message.avps().unwrap();
    assert_eq!(
        shape(&avps),
        with_prefix(&[
            (293, None, 0x40),
            (283, None, 0x40),
            (633, Some(10415), 0xC0),
            (601, Some(10415), 0xC0),
            (623, Some(10415), 0xC0),
        ])
    );
    assert_eq!(
        avps.get(avp::ORIGINATING_REQUEST).unwrap().as_enumerated(),
        Ok(0)
    );
    assert_eq!(
        avps.get(avp::USER_AUTHORIZATION_TYPE)
            .unwrap()
            .as_enumerated(),
        Ok(2)
    );
    assert_eq!(Lir::from_message(&received(&message)), Ok(lir));

    let plain = Lir {
        originating: false,
        authorization_type: None,
        ..sample_lir()
    };
    let message = plain.to_message(5, 6).unwrap();
    check_built(&message);
    assert_eq!(
        shape(&message.avps().unwrap()),
        with_prefix(&[
            (293, None, 0x40),
            (283, None, 0x40),
            (601, Some(10415), 0xC0)
        ])
    );
    assert_eq!(Lir::from_message(&received(&message)), Ok(plain));
}

#[test]
fn sar_carries_every_assignment_type_and_the_optional_avps() {
    let sar = sample_sar();
    let message = sar.to_message(7, 8).unwrap();
    check_built(&message);
    let avps = message.avps().unwrap();
    assert_eq!(
        shape(&avps),
        with_prefix(&[
            (293, None, 0x40),
            (283, None, 0x40),
            (1, None, 0x40),
            (628, Some(10415), 0x80),
            (601, Some(10415), 0xC0),
            (634, Some(10415), 0x80),
            (602, Some(10415), 0xC0),
            (614, Some(10415), 0xC0),
            (624, Some(10415), 0xC0),
        ])
    );
    let features = members(&avps, avp::SUPPORTED_FEATURES);
    assert_eq!(
        shape(&features),
        [
            (266, None, 0x40),
            (629, Some(10415), 0x80),
            (630, Some(10415), 0x80)
        ]
    );
    // Server-Assignment-Type UNREGISTERED_USER (3), User-Data-Already-Available 0.
    assert!(contains(
        message.as_bytes(),
        &hx("00000266 c0000010 000028af 00000003")
    ));
    assert!(contains(
        message.as_bytes(),
        &hx("00000270 c0000010 000028af 00000000")
    ));
    assert_eq!(Sar::from_message(&received(&message)), Ok(sar.clone()));

    for (value, kind) in ServerAssignmentType::ALL.into_iter().enumerate() {
        assert_eq!(kind.value(), value as i32);
        assert_eq!(ServerAssignmentType::from_value(value as i32), Some(kind));
        let sar = Sar {
            server_assignment_type: kind,
            user_name: None,
            supported_features: Vec::new(),
            wildcarded_public_identity: None,
            user_data_already_available: value % 2 == 1,
            ..sample_sar()
        };
        let message = sar.to_message(7, 8).unwrap();
        check_built(&message);
        let avps = message.avps().unwrap();
        assert!(avps.get(avp::USER_NAME).is_none());
        assert!(avps.get(avp::WILDCARDED_PUBLIC_IDENTITY).is_none());
        assert_eq!(
            avps.get(avp::SERVER_ASSIGNMENT_TYPE)
                .unwrap()
                .as_enumerated(),
            Ok(value as i32)
        );
        assert_eq!(Sar::from_message(&received(&message)), Ok(sar));
    }
    assert_eq!(ServerAssignmentType::from_value(15), None);
    assert_eq!(ServerAssignmentType::from_value(-1), None);
}

#[test]
fn wildcard_goes_on_the_sar_types_homestead_chooses() {
    let with_wildcard: Vec<i32> = ServerAssignmentType::ALL
        .into_iter()
        .filter(|kind| kind.carries_wildcard())
        .map(ServerAssignmentType::value)
        .collect();
    assert_eq!(with_wildcard, [0, 3, 4, 6, 8, 11]);
}

#[test]
fn regdata_assignment_types_keep_their_values() {
    use crate::regdata::ServerAssignmentType as R;
    for kind in [
        R::Registration,
        R::ReRegistration,
        R::UnregisteredUser,
        R::TimeoutDeregistration,
        R::UserDeregistration,
        R::AdministrativeDeregistration,
        R::AuthenticationFailure,
        R::AuthenticationTimeout,
    ] {
        assert_eq!(ServerAssignmentType::from(kind).value(), kind as i32);
    }
}

#[test]
fn ppr_and_rtr_round_trip_and_need_a_destination_host() {
    let ppr = sample_ppr();
    let message = ppr.to_message(9, 10).unwrap();
    check_built(&message);
    let avps = message.avps().unwrap();
    assert_eq!(
        shape(&avps),
        with_prefix(&[
            (293, None, 0x40),
            (283, None, 0x40),
            (1, None, 0x40),
            (606, Some(10415), 0xC0),
            (618, Some(10415), 0xC0),
            (612, Some(10415), 0xC0),
        ])
    );
    assert_eq!(
        shape(&members(&avps, avp::CHARGING_INFORMATION)),
        [
            (619, Some(10415), 0xC0),
            (621, Some(10415), 0xC0),
            (622, Some(10415), 0xC0)
        ]
    );
    assert_eq!(Ppr::from_message(&received(&message)), Ok(ppr.clone()));
    let charging_only = Ppr {
        user_data: None,
        auth_data: None,
        ..ppr.clone()
    };
    let message = charging_only.to_message(9, 10).unwrap();
    check_built(&message);
    assert_eq!(Ppr::from_message(&received(&message)), Ok(charging_only));

    let rtr = sample_rtr();
    let message = rtr.to_message(11, 12).unwrap();
    check_built(&message);
    let avps = message.avps().unwrap();
    assert_eq!(
        shape(&avps),
        with_prefix(&[
            (293, None, 0x40),
            (283, None, 0x40),
            (1, None, 0x40),
            (632, Some(10415), 0x80),
            (601, Some(10415), 0xC0),
            (601, Some(10415), 0xC0),
            (615, Some(10415), 0xC0),
        ])
    );
    let reason = members(&avps, avp::DEREGISTRATION_REASON);
    assert_eq!(
        shape(&reason),
        [(616, Some(10415), 0xC0), (617, Some(10415), 0xC0)]
    );
    assert_eq!(reason.get(avp::REASON_CODE).unwrap().as_enumerated(), Ok(3));
    assert_eq!(Rtr::from_message(&received(&message)), Ok(rtr.clone()));

    let no_host = Routing {
        destination_host: None,
        ..to_scscf("x;1;1")
    };
    let missing = Err(CxError::Missing(avp::DESTINATION_HOST));
    assert_eq!(
        Ppr {
            routing: no_host.clone(),
            ..ppr
        }
        .to_message(1, 1),
        missing
    );
    assert_eq!(
        Rtr {
            routing: no_host,
            ..rtr
        }
        .to_message(1, 1),
        missing
    );
}

#[test]
fn rtr_reasons_decide_what_homestead_deregisters() {
    let all_impis = vec![
        "alice@example.org".to_owned(),
        "alice-phone@example.org".to_owned(),
        "alice-tab@example.org".to_owned(),
    ];
    let impus = sample_rtr().public_identities;
    let cases = [
        (ReasonCode::PermanentTermination, 0, false, true, true),
        (ReasonCode::NewServerAssigned, 1, false, false, false),
        (ReasonCode::ServerChange, 2, true, false, false),
        (ReasonCode::RemoveScscf, 3, true, false, true),
    ];
    for (code, value, notify, names_impis, honours_impus) in cases {
        assert_eq!(code.value(), value);
        assert_eq!(ReasonCode::from_value(value), Some(code));
        assert_eq!(code.send_notifications(), notify);
        assert_eq!(code.names_private_identities(), names_impis);
        let rtr = Rtr {
            reason: DeregistrationReason { code, info: None },
            ..sample_rtr()
        };
        assert_eq!(rtr.private_identities(), all_impis);
        let expected = if honours_impus {
            RtrTarget::PublicIdentities(impus.clone())
        } else {
            RtrTarget::PrivateIdentities(all_impis.clone())
        };
        assert_eq!(rtr.target(), expected);
        let without_impus = Rtr {
            public_identities: Vec::new(),
            ..rtr
        };
        assert_eq!(
            without_impus.target(),
            RtrTarget::PrivateIdentities(all_impis.clone())
        );
    }
    assert_eq!(ReasonCode::from_value(4), None);
}

// ---------------------------------------------------------------------------------------------
// Answers, both directions

#[test]
fn answers_copy_identifiers_and_round_trip() {
    let mar = sample_mar().to_message(0xAAAA_0001, 0xBBBB_0001).unwrap();
    let vector = test_set_1_vector();
    let maa = Maa {
        session_id: sample_mar().routing.session_id,
        origin: hss(),
        result: CxResult::SUCCESS,
        user_name: Some("alice@example.org".into()),
        public_identity: Some("sip:alice@example.org".into()),
        number_auth_items: Some(2),
        auth_data: vec![
            SipAuthDataItem {
                item_number: Some(1),
                ..SipAuthDataItem::aka(AuthScheme::DigestAkaV1Md5, &vector)
            },
            SipAuthDataItem {
                item_number: Some(2),
                ..SipAuthDataItem::digest("example.org", "auth", "d41d8cd98f00b204e9800998ecf8427e")
            },
        ],
    };
    let answer = maa.to_message(&mar).unwrap();
    let header = answer.header();
    assert!(!header.is_request() && header.is_proxiable() && !header.is_error());
    assert_eq!((header.command_code, header.application_id), (303, app::CX));
    assert_eq!(
        (header.hop_by_hop, header.end_to_end),
        (0xAAAA_0001, 0xBBBB_0001)
    );
    check_built(&answer);
    let avps = answer.avps().unwrap();
    assert_eq!(
        shape(&avps),
        [
            (263, None, 0x40),
            (260, None, 0x40),
            (268, None, 0x40),
            (277, None, 0x40),
            (264, None, 0x40),
            (296, None, 0x40),
            (1, None, 0x40),
            (601, Some(10415), 0xC0),
            (607, Some(10415), 0xC0),
            (612, Some(10415), 0xC0),
            (612, Some(10415), 0xC0),
        ]
    );
    check_application_avps(&avps);
    let items: Vec<AvpList> = avps
        .all(avp::SIP_AUTH_DATA_ITEM)
        .map(|item| item.grouped().unwrap())
        .collect();
    assert_eq!(
        shape(&items[0]),
        [
            (613, Some(10415), 0xC0),
            (608, Some(10415), 0xC0),
            (609, Some(10415), 0xC0),
            (610, Some(10415), 0xC0),
            (625, Some(10415), 0xC0),
            (626, Some(10415), 0xC0),
        ]
    );
    assert_eq!(
        shape(&items[1]),
        [
            (613, Some(10415), 0xC0),
            (608, Some(10415), 0xC0),
            (635, Some(10415), 0x80)
        ]
    );
    // The RFC 4740 Digest AVPs carry no Vendor-Id.
    assert_eq!(
        shape(&members(&items[1], avp::SIP_DIGEST_AUTHENTICATE)),
        [(104, None, 0x40), (110, None, 0x40), (121, None, 0x40)]
    );
    assert_eq!(Maa::from_message(&received(&answer)), Ok(maa));

    let uar = sample_uar().to_message(21, 22).unwrap();
    for uaa in [
        uaa(CxResult::tgpp(2001), Some("sip:scscf.example.org"), None),
        uaa(
            CxResult::tgpp(2002),
            None,
            Some(ServerCapabilities {
                mandatory: vec![1, 2],
                optional: vec![3],
                server_names: vec!["sip:s1.example.org".into(), "sip:s2.example.org".into()],
            }),
        ),
    ] {
        let answer = uaa.to_message(&uar).unwrap();
        check_built(&answer);
        assert_eq!(
            (answer.header().hop_by_hop, answer.header().end_to_end),
            (21, 22)
        );
        let avps = answer.avps().unwrap();
        let experimental = members(&avps, avp::EXPERIMENTAL_RESULT);
        assert_eq!(shape(&experimental), [(266, None, 0x40), (298, None, 0x40)]);
        assert_eq!(
            experimental.get(avp::VENDOR_ID).unwrap().as_u32(),
            Ok(10415)
        );
        assert_eq!(Uaa::from_message(&received(&answer)), Ok(uaa));
    }

    let lir = sample_lir().to_message(31, 32).unwrap();
    let lia = lia(
        CxResult::tgpp(2003),
        None,
        Some(ServerCapabilities {
            mandatory: vec![7],
            optional: Vec::new(),
            server_names: Vec::new(),
        }),
        Some("sip:!.*!@example.org"),
    );
    let answer = lia.to_message(&lir).unwrap();
    check_built(&answer);
    assert_eq!(Lia::from_message(&received(&answer)), Ok(lia));

    let sar = sample_sar().to_message(41, 42).unwrap();
    let saa = Saa {
        user_name: Some("alice@example.org".into()),
        supported_features: vec![SupportedFeatures::SHARED_IFC_SETS],
        user_data: Some("<IMSSubscription/>".into()),
        charging: Some(ChargingInformation {
            primary_ecf: Some("aaa://ecf1.example.org".into()),
            secondary_ecf: Some("aaa://ecf2.example.org".into()),
            primary_ccf: Some("aaa://ccf1.example.org".into()),
            secondary_ccf: Some("aaa://ccf2.example.org".into()),
        }),
        associated_identities: vec!["alice@example.org".into(), "alice-tab@example.org".into()],
        server_name: Some("sip:scscf.example.org".into()),
        ..saa(CxResult::SUCCESS, Some("sip:!.*!@example.org"))
    };
    let answer = saa.to_message(&sar).unwrap();
    check_built(&answer);
    assert_eq!(Saa::from_message(&received(&answer)), Ok(saa));

    let ppr = sample_ppr().to_message(51, 52).unwrap();
    let ppa = Ppa {
        session_id: sample_ppr().routing.session_id,
        origin: homestead(),
        result: CxResult::Base(result::UNABLE_TO_COMPLY),
    };
    let answer = ppa.to_message(&ppr).unwrap();
    check_built(&answer);
    assert_eq!(Ppa::from_message(&received(&answer)), Ok(ppa));

    let rtr = sample_rtr().to_message(61, 62).unwrap();
    let rta = Rta {
        session_id: sample_rtr().routing.session_id,
        origin: homestead(),
        result: CxResult::SUCCESS,
        associated_identities: vec!["alice-phone@example.org".into()],
    };
    let answer = rta.to_message(&rtr).unwrap();
    check_built(&answer);
    assert_eq!(Rta::from_message(&received(&answer)), Ok(rta));
}

#[test]
fn protocol_error_answers_carry_the_e_bit() {
    let mar = sample_mar().to_message(1, 2).unwrap();
    let busy = maa(CxResult::Base(result::TOO_BUSY), Vec::new());
    let answer = busy.to_message(&mar).unwrap();
    assert!(answer.header().is_error());
    check_built(&answer);
    assert_eq!(Maa::from_message(&received(&answer)), Ok(busy));

    // A relay's error answer without Session-Id still yields its result.
    let bare = MessageBuilder::answer_to(&mar)
        .set_flag_e()
        .avp_str(avp::ORIGIN_HOST, "relay.example.net")
        .avp_str(avp::ORIGIN_REALM, "example.net")
        .avp_u32(avp::RESULT_CODE, result::UNABLE_TO_DELIVER)
        .finish()
        .unwrap();
    assert_eq!(validate(&bare, &[app::CX]), Ok(()));
    let parsed = Maa::from_message(&bare).unwrap();
    assert_eq!(parsed.session_id, "");
    assert_eq!(parsed.result, CxResult::Base(3002));
    assert_eq!(map_maa(&parsed), HttpOutcome::status(503));
    // Without the 'E' bit, Session-Id is required.
    let no_session = MessageBuilder::answer_to(&mar)
        .avp_str(avp::ORIGIN_HOST, "hss.example.net")
        .avp_str(avp::ORIGIN_REALM, "example.net")
        .avp_u32(avp::RESULT_CODE, result::SUCCESS)
        .finish()
        .unwrap();
    assert_eq!(
        Maa::from_message(&no_session),
        Err(CxError::Missing(avp::SESSION_ID))
    );
}

// ---------------------------------------------------------------------------------------------
// PyHSS captures

const PYHSS_MAR: &str = concat!(
    "01000168c000012f01000000c14467ebddee626e0000010740000026363837333733333033313b353363613464353131",
    "333b313b6170705f63780000000001084000000d687373303100000000000128400000296570632e6d6e633030312e6d",
    "63633030312e336770706e6574776f726b2e6f72670000000000011b400000136c6f63616c646f6d61696e0000000104",
    "400000200000010a4000000c000028af000001024000000c01000000000001154000000c00000001000000014000002c",
    "353035393331313131313131313136406e69636b76736e6574776f726b696e672e636f6d00000259c0000034000028af",
    "7369703a353035393331313131313131313136406e69636b76736e6574776f726b696e672e636f6d0000025fc0000010",
    "000028af0000000100000264c0000028000028af00000260c000001c000028af4469676573742d414b4176312d4d4435",
    "0000025ac0000018000028af50794853532d636c69656e74",
);

const PYHSS_UAR: &str = concat!(
    "01000138c000012c01000000677c25a6926821ea0000010740000026363837333733333033313b643031393535623461",
    "623b313b6170705f63780000000001084000000d687373303100000000000128400000296570632e6d6e633030312e6d",
    "63633030312e336770706e6574776f726b2e6f72670000000000011b400000136c6f63616c646f6d61696e0000000104",
    "400000200000010a4000000c000028af000001024000000c01000000000001154000000c00000001000000014000002c",
    "353035393331313131313131313136406e69636b76736e6574776f726b696e672e636f6d00000259c0000034000028af",
    "7369703a353035393331313131313131313136406e69636b76736e6574776f726b696e672e636f6d00000258c0000020",
    "000028af6e69636b76736e6574776f726b696e672e636f6d",
);

const PYHSS_SAR: &str = concat!(
    "01000170c000012d010000008b28f61bd21d66c40000010740000026363837333733333033313b383035643664363435",
    "623b313b6170705f63780000000001084000000d687373303100000000000128400000296570632e6d6e633030312e6d",
    "63633030312e336770706e6574776f726b2e6f72670000000000011b400000136c6f63616c646f6d61696e0000000104",
    "400000200000010a4000000c000028af000001024000000c01000000000001154000000c0000000100000259c0000034",
    "000028af7369703a353035393331313131313131313136406e69636b76736e6574776f726b696e672e636f6d0000025a",
    "c0000037000028af7369703a73637363662e6d6e633030312e6d636330312e336770706e6574776f726b2e6f72673a35",
    "30363000000000014000002c353035393331313131313131313136406e69636b76736e6574776f726b696e672e636f6d",
    "00000266c0000010000028af0000000100000270c0000010000028af00000000",
);

const PYHSS_RTR: &str = concat!(
    "010001c4c0000130010000008cbbcaee2d3b6a22000001024000000c0100002300000107400000263638373337333330",
    "33313b383933383265666139653b313b6170705f637800000000010440000020000001024000000c010000000000010a",
    "4000000c000028af000001084000000d687373303100000000000128400000296570632e6d6e633030312e6d63633030",
    "312e336770706e6574776f726b2e6f726700000000000267c0000034000028af00000268c0000010000028af00000000",
    "00000269c0000017000028af5465737420526561736f6e000000011b400000136c6f63616c646f6d61696e0000000125",
    "400000176873732e6c6f63616c646f6d61696e00000001154000000c00000001000000014000002c3530353933313131",
    "31313131313136406e69636b76736e6574776f726b696e672e636f6d00000259c0000034000028af7369703a35303539",
    "3331313131313131313136406e69636b76736e6574776f726b696e672e636f6d0000025ac0000018000028af50794853",
    "532d636c69656e740000011c4000002800000118400000136c6f63616c646f6d61696e00000000214000000a00010000",
    "0000011a400000136c6f63616c646f6d61696e00",
);

const PYHSS_IMPI: &str = "505931111111116@nickvsnetworking.com";
const PYHSS_IMPU: &str = "sip:505931111111116@nickvsnetworking.com";

fn pyhss_origin() -> Origin {
    Origin::new("hss01", "epc.mnc001.mcc001.3gppnetwork.org")
}

#[test]
fn pyhss_mar_reads_and_is_answered() {
    let message = parse(hx(PYHSS_MAR));
    let mar = Mar::from_message(&message).unwrap();
    assert_eq!(
        mar,
        Mar {
            routing: Routing {
                session_id: "6873733031;53ca4d5113;1;app_cx".into(),
                origin: pyhss_origin(),
                destination_realm: "localdomain".into(),
                destination_host: None,
            },
            user_name: PYHSS_IMPI.into(),
            public_identity: PYHSS_IMPU.into(),
            scheme: AuthScheme::DigestAkaV1Md5,
            resync: None,
            number_auth_items: 1,
            server_name: "PyHSS-client".into(),
        }
    );
    // Our encoding orders the AVPs by the ABNF, PyHSS's does not; the values survive.
    let ours = mar.to_message(0xC144_67EB, 0xDDEE_626E).unwrap();
    check_built(&ours);
    assert_eq!(ours.as_bytes().len(), message.as_bytes().len());
    assert_eq!(Mar::from_message(&received(&ours)), Ok(mar.clone()));

    let maa = Maa {
        session_id: mar.routing.session_id.clone(),
        origin: Origin::new("hss.localdomain", "localdomain"),
        result: CxResult::SUCCESS,
        user_name: Some(mar.user_name.clone()),
        public_identity: Some(mar.public_identity.clone()),
        number_auth_items: Some(1),
        auth_data: vec![SipAuthDataItem::aka(
            AuthScheme::DigestAkaV1Md5,
            &test_set_1_vector(),
        )],
    };
    let answer = maa.to_message(&message).unwrap();
    check_built(&answer);
    assert_eq!(
        (answer.header().hop_by_hop, answer.header().end_to_end),
        (0xC144_67EB, 0xDDEE_626E)
    );
    assert_eq!(Maa::from_message(&received(&answer)), Ok(maa));
}

#[test]
fn pyhss_uar_without_authorization_type_reads_as_registration() {
    let message = parse(hx(PYHSS_UAR));
    let uar = Uar::from_message(&message).unwrap();
    assert_eq!(
        uar,
        Uar {
            routing: Routing {
                session_id: "6873733031;d01955b4ab;1;app_cx".into(),
                origin: pyhss_origin(),
                destination_realm: "localdomain".into(),
                destination_host: None,
            },
            user_name: PYHSS_IMPI.into(),
            public_identity: PYHSS_IMPU.into(),
            visited_network: "nickvsnetworking.com".into(),
            authorization_type: UserAuthorizationType::Registration,
            uar_flags: 0,
        }
    );
    let ours = uar.to_message(1, 2).unwrap();
    check_built(&ours);
    assert_eq!(Uar::from_message(&received(&ours)), Ok(uar));
    let answer = uaa(CxResult::tgpp(2001), Some("sip:scscf.localdomain"), None)
        .to_message(&message)
        .unwrap();
    check_built(&answer);
}

#[test]
fn pyhss_sar_reads_as_a_registration() {
    let message = parse(hx(PYHSS_SAR));
    let sar = Sar::from_message(&message).unwrap();
    assert_eq!(
        sar,
        Sar {
            routing: Routing {
                session_id: "6873733031;805d6d645b;1;app_cx".into(),
                origin: pyhss_origin(),
                destination_realm: "localdomain".into(),
                destination_host: None,
            },
            user_name: Some(PYHSS_IMPI.into()),
            supported_features: Vec::new(),
            public_identities: vec![PYHSS_IMPU.into()],
            wildcarded_public_identity: None,
            server_name: "sip:scscf.mnc001.mcc01.3gppnetwork.org:5060".into(),
            server_assignment_type: ServerAssignmentType::Registration,
            user_data_already_available: false,
        }
    );
    let ours = sar.to_message(1, 2).unwrap();
    check_built(&ours);
    assert_eq!(ours.as_bytes().len(), message.as_bytes().len());
    assert_eq!(Sar::from_message(&received(&ours)), Ok(sar));
}

#[test]
fn pyhss_rtr_reads_and_its_answer_keeps_proxy_info() {
    let message = parse(hx(PYHSS_RTR));
    let rtr = Rtr::from_message(&message).unwrap();
    assert_eq!(
        rtr,
        Rtr {
            routing: Routing {
                session_id: "6873733031;89382efa9e;1;app_cx".into(),
                origin: pyhss_origin(),
                destination_realm: "localdomain".into(),
                destination_host: Some("hss.localdomain".into()),
            },
            user_name: PYHSS_IMPI.into(),
            associated_identities: Vec::new(),
            public_identities: vec![PYHSS_IMPU.into()],
            reason: DeregistrationReason {
                code: ReasonCode::PermanentTermination,
                info: Some("Test Reason".into()),
            },
        }
    );
    assert_eq!(
        rtr.target(),
        RtrTarget::PublicIdentities(vec![PYHSS_IMPU.into()])
    );
    let rta = Rta {
        session_id: rtr.routing.session_id.clone(),
        origin: Origin::new("hss.localdomain", "localdomain"),
        result: CxResult::SUCCESS,
        associated_identities: Vec::new(),
    };
    let answer = rta.to_message(&message).unwrap();
    check_built(&answer);
    assert_eq!(
        (answer.header().hop_by_hop, answer.header().end_to_end),
        (0x8CBB_CAEE, 0x2D3B_6A22)
    );
    let proxy_info = message.avp(avp::PROXY_INFO).unwrap().unwrap();
    assert_eq!(answer.avp(avp::PROXY_INFO).unwrap().unwrap(), proxy_info);
    assert_eq!(Rta::from_message(&received(&answer)), Ok(rta));
    let ours = rtr.to_message(1, 2).unwrap();
    check_built(&ours);
    assert_eq!(Rtr::from_message(&received(&ours)), Ok(rtr));
}

// ---------------------------------------------------------------------------------------------
// Homestead's HTTP mapping

#[test]
fn maa_success_gives_the_digest_or_aka_json() {
    let digest = maa(
        CxResult::SUCCESS,
        vec![SipAuthDataItem::digest(
            "example.org",
            "auth-int",
            "0123456789abcdef0123456789abcdef",
        )],
    );
    assert_eq!(
        json(&map_maa(&digest)),
        r#"{"digest":{"ha1":"0123456789abcdef0123456789abcdef","qop":"auth-int","realm":"example.org"}}"#
    );
    assert_eq!(
        json(&map_maa_legacy_digest(&digest)),
        r#"{"digest_ha1":"0123456789abcdef0123456789abcdef"}"#
    );
    let no_qop = maa(
        CxResult::SUCCESS,
        vec![SipAuthDataItem::digest("example.org", "", "00ff")],
    );
    assert_eq!(
        json(&map_maa(&no_qop)),
        r#"{"digest":{"ha1":"00ff","qop":"auth","realm":"example.org"}}"#
    );

    // TS 35.208 test set 1: AUTN = (SQN xor AK) || AMF || MAC-A, XRES = f2, CK = f3, IK = f4.
    let challenge = BASE64.encode(hx(
        "23553cbe9637a89d218ae64dae47bf35 55f328b43577 b9b9 4a9ffac354dfafb3",
    ));
    let ck = hx("b40ba9a3c58b2a05bbf0d987b21bf8cb");
    let ik = hx("f769bcd751044604127672711c6d3441");
    for (scheme, version) in [
        (AuthScheme::DigestAkaV1Md5, 1),
        (AuthScheme::DigestAkaV2Sha256, 2),
    ] {
        let aka = maa(
            CxResult::SUCCESS,
            vec![SipAuthDataItem::aka(scheme, &test_set_1_vector())],
        );
        let expected = format!(
            r#"{{"aka":{{"challenge":"{challenge}","response":"a54211d5e3ba50bf","crypt_key":"{}","integrity_key":"{}","cryptkey":"b40ba9a3c58b2a05bbf0d987b21bf8cb","integritykey":"f769bcd751044604127672711c6d3441","version":{version}}}}}"#,
            BASE64.encode(&ck),
            BASE64.encode(&ik),
        );
        assert_eq!(json(&map_maa(&aka)), expected);
        // AKA through the legacy digest URL is refused.
        assert_eq!(map_maa_legacy_digest(&aka), HttpOutcome::status(404));
    }
}

#[test]
fn maa_items_of_other_schemes_are_skipped() {
    let nass = SipAuthDataItem {
        scheme: Some(AuthScheme::Other("NASS-Bundled".into())),
        ..SipAuthDataItem::default()
    };
    let digest = SipAuthDataItem::digest("example.org", "auth", "00ff");
    assert_eq!(
        map_maa(&maa(CxResult::SUCCESS, vec![nass.clone()])),
        HttpOutcome::status(404)
    );
    assert_eq!(
        map_maa(&maa(CxResult::SUCCESS, Vec::new())),
        HttpOutcome::status(404)
    );
    // An AKA item without its vector, or a digest item without SIP-Digest-Authenticate, is unusable.
    let hollow_aka = SipAuthDataItem {
        scheme: Some(AuthScheme::DigestAkaV1Md5),
        ..SipAuthDataItem::default()
    };
    let hollow_digest = SipAuthDataItem {
        scheme: Some(AuthScheme::SipDigest),
        ..SipAuthDataItem::default()
    };
    assert_eq!(
        map_maa(&maa(
            CxResult::SUCCESS,
            vec![hollow_aka.clone(), hollow_digest]
        )),
        HttpOutcome::status(404)
    );
    assert_eq!(
        map_maa(&maa(CxResult::SUCCESS, vec![nass, hollow_aka, digest])).status,
        200
    );
}

#[test]
fn maa_failures_map_as_homestead_does() {
    let cases = [
        (CxResult::Base(result::UNABLE_TO_DELIVER), 503),
        (CxResult::tgpp(cx_result::ERROR_USER_UNKNOWN), 404),
        // Only the Result-Code 2001 is success for a MAA.
        (CxResult::tgpp(2001), 500),
        (CxResult::Base(result::AVP_UNSUPPORTED), 500),
        (CxResult::Base(result::TOO_BUSY), 504),
        (
            CxResult::tgpp(cx_result::ERROR_AUTH_SCHEME_NOT_SUPPORTED),
            500,
        ),
        (CxResult::tgpp(cx_result::ERROR_IDENTITIES_DONT_MATCH), 500),
        (CxResult::Base(result::AUTHENTICATION_REJECTED), 500),
        // 5001 from another vendor is not the 3GPP "user unknown".
        (
            CxResult::Experimental {
                vendor_id: 5535,
                code: 5001,
            },
            500,
        ),
    ];
    for (outcome, status) in cases {
        let answer = maa(outcome, Vec::new());
        assert_eq!(map_maa(&answer), HttpOutcome::status(status), "{outcome:?}");
        assert_eq!(
            map_maa_legacy_digest(&answer),
            HttpOutcome::status(status),
            "{outcome:?}"
        );
    }
    assert_eq!(map_timeout(), HttpOutcome::status(503));
}

#[test]
fn uaa_maps_as_homestead_does_with_its_json() {
    assert_eq!(
        json(&map_uaa(&uaa(
            CxResult::SUCCESS,
            Some("sip:scscf.example.org"),
            None
        ))),
        r#"{"result-code":2001,"scscf":"sip:scscf.example.org"}"#
    );
    let capabilities = ServerCapabilities {
        mandatory: vec![1, 2, 3],
        optional: vec![4, 5, 6],
        server_names: Vec::new(),
    };
    assert_eq!(
        json(&map_uaa(&uaa(
            CxResult::tgpp(2001),
            None,
            Some(capabilities.clone())
        ))),
        r#"{"result-code":2001,"mandatory-capabilities":[1,2,3],"optional-capabilities":[4,5,6]}"#
    );
    assert_eq!(
        json(&map_uaa(&uaa(CxResult::tgpp(2002), None, None))),
        r#"{"result-code":2002,"mandatory-capabilities":[],"optional-capabilities":[]}"#
    );
    let named = ServerCapabilities {
        server_names: vec!["sip:s1.example.org".into(), "sip:s2.example.org".into()],
        ..capabilities.clone()
    };
    assert_eq!(
        json(&map_uaa(&uaa(CxResult::tgpp(2001), None, Some(named)))),
        r#"{"result-code":2001,"scscf":"sip:s1.example.org","mandatory-capabilities":[1,2,3],"optional-capabilities":[4,5,6]}"#
    );
    // An empty Server-Name counts as absent.
    assert_eq!(
        json(&map_uaa(&uaa(
            CxResult::SUCCESS,
            Some(""),
            Some(capabilities)
        ))),
        r#"{"result-code":2001,"mandatory-capabilities":[1,2,3],"optional-capabilities":[4,5,6]}"#
    );

    let failures = [
        (CxResult::tgpp(cx_result::ERROR_USER_UNKNOWN), 404),
        (CxResult::tgpp(cx_result::ERROR_IDENTITIES_DONT_MATCH), 404),
        (CxResult::Base(result::AUTHORIZATION_REJECTED), 403),
        (CxResult::tgpp(cx_result::ERROR_ROAMING_NOT_ALLOWED), 403),
        (CxResult::Base(result::TOO_BUSY), 504),
        (CxResult::Base(result::UNABLE_TO_DELIVER), 503),
        (
            CxResult::tgpp(cx_result::ERROR_IDENTITY_NOT_REGISTERED),
            500,
        ),
        (CxResult::tgpp(cx_result::UNREGISTERED_SERVICE), 500),
        (
            CxResult::tgpp(cx_result::ERROR_IDENTITY_ALREADY_REGISTERED),
            500,
        ),
        (CxResult::Base(result::UNABLE_TO_COMPLY), 500),
        (
            CxResult::Experimental {
                vendor_id: 5535,
                code: 2001,
            },
            500,
        ),
    ];
    for (outcome, status) in failures {
        assert_eq!(
            map_uaa(&uaa(outcome, Some("sip:scscf.example.org"), None)),
            HttpOutcome::status(status),
            "{outcome:?}"
        );
    }
}

#[test]
fn lia_maps_as_homestead_does_with_its_json() {
    assert_eq!(
        json(&map_lia(&lia(
            CxResult::SUCCESS,
            Some("sip:scscf.example.org"),
            None,
            None
        ))),
        r#"{"result-code":2001,"scscf":"sip:scscf.example.org"}"#
    );
    assert_eq!(
        json(&map_lia(&lia(
            CxResult::tgpp(cx_result::UNREGISTERED_SERVICE),
            Some("sip:scscf.example.org"),
            None,
            Some("sip:!.*!@example.org"),
        ))),
        r#"{"result-code":2003,"scscf":"sip:scscf.example.org","wildcard-identity":"sip:!.*!@example.org"}"#
    );
    assert_eq!(
        json(&map_lia(&lia(
            CxResult::tgpp(cx_result::ERROR_IDENTITY_NOT_REGISTERED),
            None,
            Some(ServerCapabilities {
                mandatory: vec![9],
                optional: Vec::new(),
                server_names: Vec::new(),
            }),
            Some("sip:!.*!@example.org"),
        ))),
        r#"{"result-code":5003,"mandatory-capabilities":[9],"optional-capabilities":[],"wildcard-identity":"sip:!.*!@example.org"}"#
    );
    assert_eq!(
        json(&map_lia(&lia(CxResult::SUCCESS, None, None, Some("")))),
        r#"{"result-code":2001,"mandatory-capabilities":[],"optional-capabilities":[]}"#
    );

    let failures = [
        (CxResult::tgpp(cx_result::ERROR_USER_UNKNOWN), 404),
        (CxResult::Base(result::TOO_BUSY), 504),
        (CxResult::Base(result::UNABLE_TO_DELIVER), 503),
        // Experimental 2001 and 5003 from a non-3GPP vendor are not successes for a LIA.
        (CxResult::tgpp(2001), 500),
        (
            CxResult::Experimental {
                vendor_id: 5535,
                code: 5003,
            },
            500,
        ),
        (CxResult::Base(result::AUTHORIZATION_REJECTED), 500),
        (CxResult::Base(result::UNABLE_TO_COMPLY), 500),
    ];
    for (outcome, status) in failures {
        assert_eq!(
            map_lia(&lia(outcome, Some("sip:scscf.example.org"), None, None)),
            HttpOutcome::status(status),
            "{outcome:?}"
        );
    }
}

#[test]
fn saa_maps_as_homestead_does_and_retries_with_a_new_wildcard() {
    let wildcard = "sip:!.*!@example.org";
    let cases = [
        (saa(CxResult::SUCCESS, None), None, SaaOutcome::Status(200)),
        (
            saa(CxResult::Base(result::UNABLE_TO_DELIVER), None),
            None,
            SaaOutcome::Status(503),
        ),
        (
            saa(CxResult::tgpp(cx_result::ERROR_USER_UNKNOWN), None),
            None,
            SaaOutcome::Status(404),
        ),
        (
            saa(
                CxResult::tgpp(cx_result::ERROR_IN_ASSIGNMENT_TYPE),
                Some(wildcard),
            ),
            None,
            SaaOutcome::RetryWithWildcard(wildcard.into()),
        ),
        (
            saa(
                CxResult::tgpp(cx_result::ERROR_IN_ASSIGNMENT_TYPE),
                Some(wildcard),
            ),
            Some("sip:!.*!@other.example.org"),
            SaaOutcome::RetryWithWildcard(wildcard.into()),
        ),
        // The same wildcard again would loop: 500.
        (
            saa(
                CxResult::tgpp(cx_result::ERROR_IN_ASSIGNMENT_TYPE),
                Some(wildcard),
            ),
            Some(wildcard),
            SaaOutcome::Status(500),
        ),
        (
            saa(CxResult::tgpp(cx_result::ERROR_IN_ASSIGNMENT_TYPE), None),
            None,
            SaaOutcome::Status(500),
        ),
        (
            saa(
                CxResult::tgpp(cx_result::ERROR_IN_ASSIGNMENT_TYPE),
                Some(""),
            ),
            None,
            SaaOutcome::Status(500),
        ),
        (
            saa(CxResult::Base(result::TOO_BUSY), None),
            None,
            SaaOutcome::Status(504),
        ),
        (
            saa(CxResult::tgpp(2001), None),
            None,
            SaaOutcome::Status(500),
        ),
        (
            saa(CxResult::tgpp(cx_result::ERROR_TOO_MUCH_DATA), None),
            None,
            SaaOutcome::Status(500),
        ),
        (
            saa(CxResult::Base(result::UNABLE_TO_COMPLY), None),
            None,
            SaaOutcome::Status(500),
        ),
    ];
    for (answer, sent, expected) in cases {
        assert_eq!(
            map_saa(&answer, sent),
            expected,
            "{:?} {sent:?}",
            answer.result
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Refusals

#[test]
fn wrong_commands_and_directions_are_refused() {
    let uar = sample_uar().to_message(1, 2).unwrap();
    assert_eq!(
        Mar::from_message(&uar),
        Err(CxError::UnexpectedCommand {
            expected: 303,
            expected_request: true,
            application_id: app::CX,
            command_code: 300,
            request: true,
        })
    );
    assert!(matches!(
        Uaa::from_message(&uar),
        Err(CxError::UnexpectedCommand {
            expected_request: false,
            request: true,
            ..
        })
    ));
    // Answering a UAR with a MAA is refused too.
    assert!(matches!(
        maa(CxResult::SUCCESS, Vec::new()).to_message(&uar),
        Err(CxError::UnexpectedCommand { expected: 303, .. })
    ));
    // A Zh MAR (same command code, another application) is not a Cx MAR.
    let zh = MessageBuilder::request(app::ZH, cmd::MULTIMEDIA_AUTH)
        .avp_str(avp::SESSION_ID, "x;1;2")
        .finish()
        .unwrap();
    assert!(matches!(
        Mar::from_message(&zh),
        Err(CxError::UnexpectedCommand {
            application_id: app::ZH,
            ..
        })
    ));
}

#[test]
fn missing_and_malformed_avps_are_reported() {
    let mar = sample_mar().to_message(1, 2).unwrap();
    let without_server = rebuild(&mar, |a| a.is(avp::SERVER_NAME), |b| b);
    let error = Mar::from_message(&without_server).unwrap_err();
    assert_eq!(error, CxError::Missing(avp::SERVER_NAME));
    assert_eq!(error.to_string(), "Server-Name is missing");

    // RAND || AUTS one octet short.
    let short = rebuild(
        &mar,
        |a| a.is(avp::SIP_AUTH_DATA_ITEM),
        |b| {
            b.grouped(avp::SIP_AUTH_DATA_ITEM, |g| {
                g.avp_str(avp::SIP_AUTHENTICATION_SCHEME, "Digest-AKAv1-MD5")
                    .avp_bytes(avp::SIP_AUTHORIZATION, &[0; 29]);
            })
        },
    );
    assert_eq!(
        Mar::from_message(&short),
        Err(CxError::Length {
            avp: avp::SIP_AUTHORIZATION,
            expected: 30,
            actual: 29,
        })
    );

    let bad_utf8 = rebuild(
        &mar,
        |a| a.is(avp::USER_NAME),
        |b| b.avp_bytes(avp::USER_NAME, &[0xFF, 0xFE]),
    );
    assert_eq!(
        Mar::from_message(&bad_utf8),
        Err(CxError::Value {
            avp: avp::USER_NAME,
            error: ValueError::InvalidUtf8,
        })
    );

    let sar = sample_sar().to_message(1, 2).unwrap();
    let unknown_type = rebuild(
        &sar,
        |a| a.is(avp::SERVER_ASSIGNMENT_TYPE),
        |b| b.avp_i32(avp::SERVER_ASSIGNMENT_TYPE, 15),
    );
    let error = Sar::from_message(&unknown_type).unwrap_err();
    assert_eq!(
        error,
        CxError::UnknownValue {
            avp: avp::SERVER_ASSIGNMENT_TYPE,
            value: 15,
        }
    );
    assert_eq!(
        error.to_string(),
        "Server-Assignment-Type: undefined value 15"
    );
    let short_enum = rebuild(
        &sar,
        |a| a.is(avp::USER_DATA_ALREADY_AVAILABLE),
        |b| b.avp_bytes(avp::USER_DATA_ALREADY_AVAILABLE, &[0, 0]),
    );
    assert!(matches!(
        Sar::from_message(&short_enum),
        Err(CxError::Value {
            error: ValueError::Length {
                expected: 4,
                actual: 2
            },
            ..
        })
    ));

    let rtr = sample_rtr().to_message(1, 2).unwrap();
    let bad_reason = rebuild(
        &rtr,
        |a| a.is(avp::DEREGISTRATION_REASON),
        |b| {
            b.grouped(avp::DEREGISTRATION_REASON, |g| {
                g.avp_i32(avp::REASON_CODE, 7);
            })
        },
    );
    assert_eq!(
        Rtr::from_message(&bad_reason),
        Err(CxError::UnknownValue {
            avp: avp::REASON_CODE,
            value: 7,
        })
    );
    let no_host = rebuild(&rtr, |a| a.is(avp::DESTINATION_HOST), |b| b);
    assert_eq!(
        Rtr::from_message(&no_host),
        Err(CxError::Missing(avp::DESTINATION_HOST))
    );

    // An answer without any result.
    let answer = maa(CxResult::SUCCESS, Vec::new()).to_message(&mar).unwrap();
    let no_result = rebuild(&answer, |a| a.is(avp::RESULT_CODE), |b| b);
    assert_eq!(Maa::from_message(&no_result), Err(CxError::NoResult));
    let half_result = rebuild(
        &answer,
        |a| a.is(avp::RESULT_CODE),
        |b| {
            b.grouped(avp::EXPERIMENTAL_RESULT, |g| {
                g.avp_u32(avp::VENDOR_ID, VENDOR_3GPP);
            })
        },
    );
    assert_eq!(
        Maa::from_message(&half_result),
        Err(CxError::Missing(avp::EXPERIMENTAL_RESULT_CODE))
    );

    // AVP framing broken: the last AVP claims more octets than the message has.
    let mut bytes = BytesMut::from(mar.as_bytes().as_ref());
    let last = bytes.len() - 48;
    bytes[last + 7] = 0x40;
    let broken = parse(bytes.freeze());
    assert!(matches!(
        Mar::from_message(&broken),
        Err(CxError::Framing(_))
    ));
}

#[test]
fn digest_avps_with_the_3gpp_vendor_id_are_read_too() {
    // Some HSSs (OpenIMSCore) send Digest-Realm/QoP/HA1 with Vendor-Id 10415; Homestead reads them.
    let mar = sample_mar().to_message(1, 2).unwrap();
    let answer = MessageBuilder::answer_to(&mar)
        .avp_str(avp::SESSION_ID, "s;1;1")
        .avp_str(avp::ORIGIN_HOST, "hss.example.net")
        .avp_str(avp::ORIGIN_REALM, "example.net")
        .avp_u32(avp::RESULT_CODE, result::SUCCESS)
        .grouped(avp::SIP_AUTH_DATA_ITEM, |g| {
            g.avp_str(avp::SIP_AUTHENTICATION_SCHEME, "SIP Digest")
                .grouped(avp::SIP_DIGEST_AUTHENTICATE, |d| {
                    let tgpp = |code| AvpHeader::new(code, Some(VENDOR_3GPP), AvpFlags::MANDATORY);
                    d.avp_str(tgpp(104), "example.org")
                        .avp_str(tgpp(110), "auth")
                        .avp_str(tgpp(121), "00ff");
                });
        })
        .finish()
        .unwrap();
    let parsed = Maa::from_message(&answer).unwrap();
    assert_eq!(
        parsed.auth_data,
        [SipAuthDataItem::digest("example.org", "auth", "00ff")]
    );
    assert_eq!(
        json(&map_maa(&parsed)),
        r#"{"digest":{"ha1":"00ff","qop":"auth","realm":"example.org"}}"#
    );
}

// ---------------------------------------------------------------------------------------------
// Session-Id, results, secrets

#[test]
fn session_ids_follow_rfc_6733_and_carry_into_the_high_half() {
    assert_eq!(
        session_id("hs.example.org", 1, 2, None),
        "hs.example.org;1;2"
    );
    assert_eq!(
        session_id("hs.example.org", 3_000_000_000, 0, Some("cx")),
        "hs.example.org;3000000000;0;cx"
    );
    let mut ids = SessionIds::new("hs.example.org", 3_900_000_000);
    assert_eq!(ids.next_id(), "hs.example.org;3900000000;0");
    assert_eq!(ids.next_id(), "hs.example.org;3900000000;1");
    let mut ids = SessionIds::starting_at("h", 7, u32::MAX);
    assert_eq!(ids.next_id(), "h;7;4294967295");
    assert_eq!(ids.next_id(), "h;8;0");
    let mut ids = SessionIds::starting_at("h", u32::MAX, u32::MAX);
    assert_eq!(ids.next_id(), "h;4294967295;4294967295");
    assert_eq!(ids.next_id(), "h;0;0");
}

#[test]
fn results_tell_base_from_experimental() {
    let base = CxResult::Base(5001);
    let tgpp = CxResult::tgpp(5001);
    assert_eq!((base.code(), tgpp.code()), (5001, 5001));
    assert!(base.is_base(5001) && !base.is_tgpp(5001));
    assert!(tgpp.is_tgpp(5001) && !tgpp.is_base(5001));
    assert!(CxResult::SUCCESS.is_success() && CxResult::tgpp(2002).is_success());
    assert!(!base.is_success());
    assert!(CxResult::Base(3004).is_protocol_error());
    assert!(!CxResult::tgpp(3004).is_protocol_error());
    assert_eq!(
        ResultCode::from(tgpp),
        ResultCode::Experimental {
            vendor_id: 10415,
            code: 5001
        }
    );
    assert_eq!(CxResult::from(ResultCode::Base(2001)), CxResult::SUCCESS);
    // The codec's own reading of the outcome agrees with ours.
    let mar = sample_mar().to_message(1, 2).unwrap();
    let answer = maa(tgpp, Vec::new()).to_message(&mar).unwrap();
    assert_eq!(
        answer.result_code().unwrap().map(CxResult::from),
        Some(tgpp)
    );
}

#[test]
fn secrets_are_not_printed_and_count_in_equality() {
    let vector = test_set_1_vector();
    let item = SipAuthDataItem::aka(AuthScheme::DigestAkaV1Md5, &vector);
    let printed = format!("{item:?}");
    assert!(
        printed.contains("23553cbe9637a89d218ae64dae47bf35"),
        "{printed}"
    );
    for secret in [
        "a54211d5e3ba50bf",
        "b40ba9a3c58b2a05bbf0d987b21bf8cb",
        "f769bcd751044604127672711c6d3441",
    ] {
        assert!(!printed.contains(secret), "{printed}");
    }
    let digest = SipAuthDataItem::digest("example.org", "auth", "5ec2e75ec2e7");
    assert!(!format!("{digest:?}").contains("5ec2e75ec2e7"));

    let mut other = item.clone();
    other.integrity_key = Some(Bytes::from_static(&[0; 16]));
    assert_ne!(item, other);
    let mut shorter = item.clone();
    shorter.authorization = Some(Bytes::from_static(&[0xA5]));
    assert_ne!(item, shorter);
    assert_ne!(
        digest,
        SipAuthDataItem::digest("example.org", "auth", "5ec2e75ec2e8")
    );
    assert_eq!(item, item.clone());
}
