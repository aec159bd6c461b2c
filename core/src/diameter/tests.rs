//! Tests of the Diameter codec, dictionary and validation.
//!
//! Byte-exact vectors: a CER and a Cx MAR computed by hand field by field (annotated below); AVP
//! encodings from scapy's Diameter test suite (secdev/scapy test/contrib/diameter.uts); and wire
//! captures of Cx and base messages from PyHSS's test suite (nickvsnetworking/pyhss
//! tests/test_Diameter.py), decoded, validated and re-encoded.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use bytes::{BufMut, Bytes, BytesMut};

use super::dict::{
    self, AVPS, COMMANDS, DataType, FlagRule, UNBOUNDED, VENDOR_3GPP, app, avp, cmd, result,
};
use super::*;

/// Bytes from hex with whitespace ignored.
fn hx(text: &str) -> Bytes {
    let compact: String = text.split_whitespace().collect();
    Bytes::from(hex::decode(compact).expect("test hex"))
}

fn parse(bytes: Bytes) -> Message {
    Message::parse(bytes).expect("valid message")
}

const ALL_APPS: &[u32] = &[app::CX, app::SH, app::ZN, app::ZH];

fn failed_avps(rejection: &Rejection) -> Vec<Avp> {
    rejection
        .failed_avps()
        .expect("Failed-AVP present")
        .expect("Failed-AVP framed")
        .iter()
        .collect()
}

/// A Cx MAR with everything its grammar requires, to be spoiled by the tests.
fn cx_mar() -> MessageBuilder {
    MessageBuilder::request(app::CX, cmd::MULTIMEDIA_AUTH)
        .hop_by_hop(0x1111)
        .end_to_end(0x2222)
        .avp_str(avp::SESSION_ID, "hs.example.org;1;2")
        .grouped(avp::VENDOR_SPECIFIC_APPLICATION_ID, |g| {
            g.avp_u32(avp::VENDOR_ID, VENDOR_3GPP)
                .avp_u32(avp::AUTH_APPLICATION_ID, app::CX);
        })
        .avp_i32(avp::AUTH_SESSION_STATE, 1)
        .avp_str(avp::ORIGIN_HOST, "hs.example.org")
        .avp_str(avp::ORIGIN_REALM, "example.org")
        .avp_str(avp::DESTINATION_REALM, "example.org")
        .avp_str(avp::USER_NAME, "alice@example.org")
        .avp_str(avp::PUBLIC_IDENTITY, "sip:alice@example.org")
        .avp_u32(avp::SIP_NUMBER_AUTH_ITEMS, 1)
        .grouped(avp::SIP_AUTH_DATA_ITEM, |g| {
            g.avp_str(avp::SIP_AUTHENTICATION_SCHEME, "SIP Digest");
        })
}

fn with_server_name(builder: MessageBuilder) -> Message {
    builder
        .avp_str(avp::SERVER_NAME, "sip:scscf.example.org")
        .finish()
        .expect("encodes")
}

// ---------------------------------------------------------------------------------------------
// Header and flags

#[test]
fn header_encodes_and_decodes_every_field() {
    let header = Header {
        version: 1,
        length: 0x00AB_CDEC,
        flags: CommandFlags::REQUEST | CommandFlags::PROXIABLE | CommandFlags::RETRANSMITTED,
        command_code: 0x00FE_DCBA,
        application_id: 0xDEAD_BEEF,
        hop_by_hop: 0x0102_0304,
        end_to_end: 0xF1F2_F3F4,
    };
    let encoded = header.encode();
    assert_eq!(
        encoded.as_slice(),
        hx("01 abcdec d0 fedcba deadbeef 01020304 f1f2f3f4").as_ref()
    );
    assert_eq!(Header::decode(&encoded), Some(header));
    assert!(header.is_request() && header.is_proxiable() && header.is_retransmitted());
    assert!(!header.is_error());
    assert_eq!(Header::decode(&encoded[..19]), None);
}

#[test]
fn flag_helpers_set_and_clear_bits() {
    let flags = CommandFlags::from_bits(0x8F);
    assert!(flags.contains(CommandFlags::REQUEST));
    assert_eq!(flags.difference(CommandFlags::REQUEST).bits(), 0x0F);
    assert_eq!(
        CommandFlags::empty()
            .with(CommandFlags::ERROR, true)
            .with(CommandFlags::ERROR, false),
        CommandFlags::empty()
    );
    let avp_flags = AvpFlags::VENDOR | AvpFlags::MANDATORY;
    assert_eq!(avp_flags.bits(), 0xC0);
    assert_eq!(format!("{avp_flags:?}"), "AvpFlags(VM- 0xc0)");
    assert_eq!(
        format!("{:?}", CommandFlags::from_bits(0xC0)),
        "CommandFlags(RP-- 0xc0)"
    );
}

#[test]
fn request_sets_p_bit_from_the_dictionary() {
    let cx = MessageBuilder::request(app::CX, cmd::USER_AUTHORIZATION)
        .finish()
        .unwrap();
    assert_eq!(cx.header().flags.bits(), 0xC0);
    let cer = MessageBuilder::request(app::BASE, cmd::CAPABILITIES_EXCHANGE)
        .finish()
        .unwrap();
    assert_eq!(cer.header().flags.bits(), 0x80);
    let unknown = MessageBuilder::request(4, 272).finish().unwrap();
    assert_eq!(unknown.header().flags.bits(), 0x80);
    let forced = MessageBuilder::request(4, 272)
        .set_proxiable(true)
        .set_flag_t()
        .finish()
        .unwrap();
    assert_eq!(forced.header().flags.bits(), 0xD0);
}

#[test]
fn answer_to_copies_identifiers_application_and_p_bit() {
    let request = with_server_name(cx_mar().set_flag_t());
    let answer = MessageBuilder::answer_to(&request).finish().unwrap();
    let header = answer.header();
    assert_eq!(header.command_code, cmd::MULTIMEDIA_AUTH);
    assert_eq!(header.application_id, app::CX);
    assert_eq!(header.hop_by_hop, 0x1111);
    assert_eq!(header.end_to_end, 0x2222);
    assert_eq!(header.flags, CommandFlags::PROXIABLE, "R, E and T clear");
    assert_eq!(header.length, 20);
    assert_eq!(answer.as_bytes().len(), 20);

    let dwr = MessageBuilder::request(app::BASE, cmd::DEVICE_WATCHDOG)
        .hop_by_hop(5)
        .end_to_end(6)
        .finish()
        .unwrap();
    let dwa = MessageBuilder::answer_to(dwr.header()).finish().unwrap();
    assert_eq!(dwa.header().flags, CommandFlags::empty());
    assert_eq!((dwa.header().hop_by_hop, dwa.header().end_to_end), (5, 6));
}

#[test]
fn retransmission_sets_only_the_t_bit() {
    let request = with_server_name(cx_mar());
    let again = request.to_retransmission();
    assert!(again.header().is_retransmitted());
    assert_eq!(again.as_bytes()[4], 0xD0);
    assert_eq!(&again.as_bytes()[5..], &request.as_bytes()[5..]);
    assert_eq!(parse(again.as_bytes().clone()), again);
}

// ---------------------------------------------------------------------------------------------
// AVP builders and accessors

#[test]
fn every_builder_round_trips_through_its_accessor() {
    let t3 = AvpHeader::new(1000, Some(VENDOR_3GPP), AvpFlags::MANDATORY);
    let time = DiameterTime::from_unix(1_700_000_000).unwrap();
    let message = MessageBuilder::request(app::BASE, cmd::DEVICE_WATCHDOG)
        .avp_u32(AvpKey::base(1001), u32::MAX)
        .avp_u64(AvpKey::base(1002), u64::MAX - 1)
        .avp_i32(AvpKey::base(1003), i32::MIN)
        .avp_i64(AvpKey::base(1004), -42)
        .avp_f32(AvpKey::base(1005), 1.5)
        .avp_f64(AvpKey::base(1006), -2.25e100)
        .avp_str(AvpKey::base(1007), "naïve ✓")
        .avp_str(AvpKey::base(1008), "hss.example.org")
        .avp_address(AvpKey::base(1009), Ipv4Addr::new(192, 0, 2, 1))
        .avp_address(
            AvpKey::base(1010),
            "2001:db8::1".parse::<Ipv6Addr>().unwrap(),
        )
        .avp_address(
            AvpKey::base(1011),
            Address::Other {
                family: 8,
                value: Bytes::from_static(b"123"),
            },
        )
        .avp_time(AvpKey::base(1012), time)
        .avp_i32(AvpKey::base(1013), 2)
        .avp_bytes(t3, &[0, 1, 2, 0xFF, 0xFE])
        .grouped(AvpKey::base(1014), |g| {
            g.avp_u32(AvpKey::base(1), 7).grouped(t3, |inner| {
                inner.avp_str(AvpKey::base(2), "deep");
            });
        })
        .finish()
        .unwrap();
    let parsed = parse(message.as_bytes().clone());
    assert_eq!(parsed, message);
    let list = parsed.avps().unwrap();
    let get = |code| list.get(AvpKey::base(code)).unwrap();
    assert_eq!(get(1001).as_u32(), Ok(u32::MAX));
    assert_eq!(get(1002).as_u64(), Ok(u64::MAX - 1));
    assert_eq!(get(1003).as_i32(), Ok(i32::MIN));
    assert_eq!(get(1004).as_i64(), Ok(-42));
    assert_eq!(get(1005).as_f32(), Ok(1.5));
    assert_eq!(get(1006).as_f64(), Ok(-2.25e100));
    assert_eq!(get(1007).as_utf8(), Ok("naïve ✓"));
    assert_eq!(get(1008).as_identity(), Ok("hss.example.org"));
    assert_eq!(
        get(1009).as_address().unwrap().ip(),
        Some(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)))
    );
    let v6 = get(1010).as_address().unwrap();
    assert_eq!(v6.family(), 2);
    assert_eq!(v6.ip(), Some("2001:db8::1".parse().unwrap()));
    assert_eq!(
        get(1011).as_address(),
        Ok(Address::Other {
            family: 8,
            value: Bytes::from_static(b"123")
        })
    );
    assert_eq!(get(1012).as_time(), Ok(time));
    assert_eq!(get(1012).as_time().unwrap().to_unix(), 1_700_000_000);
    assert_eq!(get(1013).as_enumerated(), Ok(2));
    let octets = list.get(t3.key()).unwrap();
    assert_eq!(octets.as_octets(), &[0, 1, 2, 0xFF, 0xFE]);
    assert_eq!(octets.flags.bits(), 0xC0);
    assert_eq!(octets.vendor_id, Some(VENDOR_3GPP));
    let group = get(1014).grouped().unwrap();
    assert_eq!(group.depth(), 1);
    assert_eq!(group.get(AvpKey::base(1)).unwrap().as_u32(), Ok(7));
    let inner = group.get(t3.key()).unwrap();
    assert_eq!(inner.depth(), 1);
    let innermost = inner.grouped().unwrap().get(AvpKey::base(2)).unwrap();
    assert_eq!(innermost.as_utf8(), Ok("deep"));
    assert_eq!(innermost.depth(), 2);
}

#[test]
fn accessors_refuse_data_of_the_wrong_shape() {
    let list = AvpList::parse(
        MessageBuilder::new(0, 0, CommandFlags::empty())
            .avp_bytes(AvpKey::base(1), &[1, 2, 3])
            .avp_bytes(AvpKey::base(2), &[0xC3, 0x28])
            .avp_bytes(AvpKey::base(3), b"has space")
            .avp_bytes(AvpKey::base(4), &[0, 1, 10, 0, 0])
            .avp_bytes(AvpKey::base(5), &[0])
            .avp_bytes(AvpKey::base(6), b"")
            .avp_bytes(AvpKey::base(7), &[0, 2, 0, 0, 0, 1])
            .finish()
            .unwrap()
            .avp_bytes(),
    )
    .unwrap();
    let get = |code| list.get(AvpKey::base(code)).unwrap();
    let three = get(1);
    let length = ValueError::Length {
        expected: 4,
        actual: 3,
    };
    assert_eq!(three.as_u32(), Err(length));
    assert_eq!(three.as_i32(), Err(length));
    assert_eq!(three.as_f32(), Err(length));
    assert_eq!(three.as_time(), Err(length));
    assert_eq!(
        three.as_u64(),
        Err(ValueError::Length {
            expected: 8,
            actual: 3
        })
    );
    assert_eq!(length.result_code(), result::INVALID_AVP_LENGTH);
    assert_eq!(get(2).as_utf8(), Err(ValueError::InvalidUtf8));
    assert_eq!(get(3).as_identity(), Err(ValueError::InvalidIdentity));
    assert_eq!(get(6).as_identity(), Err(ValueError::InvalidIdentity));
    assert_eq!(
        get(4).as_address(),
        Err(ValueError::AddressLength {
            family: 1,
            actual: 3
        })
    );
    assert_eq!(
        get(7).as_address(),
        Err(ValueError::AddressLength {
            family: 2,
            actual: 4
        })
    );
    assert_eq!(
        get(5).as_address(),
        Err(ValueError::AddressTooShort { actual: 1 })
    );
    assert_eq!(
        ValueError::InvalidUtf8.result_code(),
        result::INVALID_AVP_VALUE
    );
    assert!(get(1).grouped().is_err(), "three octets are no AVP");
}

#[test]
fn padding_follows_every_data_length() {
    for len in 0..=9usize {
        for vendor in [None, Some(VENDOR_3GPP)] {
            let header = AvpHeader::new(77, vendor, AvpFlags::empty());
            let data: Vec<u8> = (1..=len as u8).collect();
            let message = MessageBuilder::new(1, 0, CommandFlags::empty())
                .avp_bytes(header, &data)
                .avp_u32(AvpKey::base(78), 0xAABB_CCDD)
                .finish()
                .unwrap();
            let body = message.avp_bytes();
            let avp_len = header.header_len() + len;
            assert_eq!(body.len(), padded_len(avp_len) + 12, "len {len}");
            assert_eq!(body.len() % 4, 0);
            assert_eq!(
                u32::from_be_bytes(body[4..8].try_into().unwrap()) & 0xFF_FFFF,
                avp_len as u32,
                "AVP Length excludes padding"
            );
            assert!(body[avp_len..padded_len(avp_len)].iter().all(|&b| b == 0));
            let avps: Vec<Avp> = message.avps().unwrap().iter().collect();
            assert_eq!(avps.len(), 2);
            assert_eq!(avps[0].data.as_ref(), data.as_slice());
            assert_eq!(avps[0].len(), avp_len);
            assert_eq!(avps[1].as_u32(), Ok(0xAABB_CCDD));
        }
    }
}

#[test]
fn last_avp_of_a_run_may_omit_its_padding() {
    // One AVP of length 13 with no padding: the run ends with it.
    let list = AvpList::parse(hx("00000001 0000000d 41 42 43 44 45")).unwrap();
    let avps: Vec<Avp> = list.iter().collect();
    assert_eq!(avps.len(), 1);
    assert_eq!(avps[0].data.as_ref(), b"ABCDE");
    // Partial padding is also tolerated at the end.
    assert_eq!(
        AvpList::parse(hx("00000001 0000000d 41 42 43 44 45 00"))
            .unwrap()
            .iter()
            .count(),
        1
    );
}

#[test]
fn scapy_avp_encodings_match_the_builder() {
    // secdev/scapy test/contrib/diameter.uts, "Different ways of building basic AVPs".
    let cases: Vec<(AvpHeader, Vec<u8>, Bytes)> = vec![
        (
            AvpHeader::from(avp::SESSION_ID),
            b"aaa.test.orange.fr;1428128;644587".to_vec(),
            hx(
                "00000107 40000029 6161612e746573742e6f72616e67652e66723b313432383132383b363434353837 000000",
            ),
        ),
        (
            AvpHeader::from(avp::AUTH_SESSION_STATE),
            1i32.to_be_bytes().to_vec(),
            hx("00000115 4000000c 00000001"),
        ),
        (
            // CG-Address (846, 3GPP): family 1, 192.168.0.1.
            AvpHeader::new(846, Some(VENDOR_3GPP), AvpFlags::MANDATORY),
            {
                let mut data = Vec::new();
                Address::from(Ipv4Addr::new(192, 168, 0, 1)).encode_into(&mut data);
                data
            },
            hx("0000034e c0000012 000028af 0001 c0a80001 0000"),
        ),
        (
            AvpHeader::new(846, Some(VENDOR_3GPP), AvpFlags::MANDATORY),
            {
                let mut data = Vec::new();
                Address::from("::1".parse::<Ipv6Addr>().unwrap()).encode_into(&mut data);
                data
            },
            hx("0000034e c000001e 000028af 0002 00000000000000000000000000000001 0000"),
        ),
        (
            AvpHeader::from(avp::AUTH_APPLICATION_ID),
            0u32.to_be_bytes().to_vec(),
            hx("00000102 4000000c 00000000"),
        ),
        (
            AvpHeader::from(avp::MSISDN),
            vec![0x01, 0xF1],
            hx("000002bd c000000e 000028af 01f1 0000"),
        ),
        (
            // Authorization-Token (506, 3GPP) with a UTF-8 value.
            AvpHeader::new(506, Some(VENDOR_3GPP), AvpFlags::MANDATORY),
            "testé".as_bytes().to_vec(),
            hx("000001fa c0000012 000028af 74657374c3a9 0000"),
        ),
        (
            AvpHeader::from(avp::FEATURE_LIST_ID),
            1u32.to_be_bytes().to_vec(),
            hx("00000275 80000010 000028af 00000001"),
        ),
    ];
    for (header, data, expected) in cases {
        let message = MessageBuilder::new(0, 0, CommandFlags::empty())
            .avp_bytes(header, &data)
            .finish()
            .unwrap();
        assert_eq!(message.avp_bytes(), expected, "{header:?}");
        let decoded = message.avps().unwrap().iter().next().unwrap();
        assert_eq!(
            decoded.header(),
            AvpHeader {
                flags: header.wire_flags(),
                ..header
            }
        );
        assert_eq!(decoded.data.as_ref(), data.as_slice());
    }
}

#[test]
fn scapy_grouped_avp_with_lying_length_is_refused() {
    // scapy's dummy grouped AVP 297: Session-Id, Feature-List-ID, then a Destination-Realm whose
    // length field (33) was forced beyond its 28 octets.
    let grouped = hx(concat!(
        "00000129 40000060",
        "00000107 40000029 6161612e746573742e6f72616e67652e66723b313432383132383b363434353837 000000",
        "00000275 80000010 000028af 00000001",
        "0000011b 40000021 666f726569676e2e7265616c6d312e6672 000000",
    ));
    let list = AvpList::parse(grouped.clone()).unwrap();
    let outer = list.iter().next().unwrap();
    assert_eq!(outer.len(), 96);
    let error = outer.grouped().unwrap_err();
    assert_eq!(
        error,
        AvpError {
            kind: AvpErrorKind::Overrun {
                length: 33,
                available: 28
            },
            offset: 60
        }
    );

    // Validated as an answer's Experimental-Result (whose grammar is closed), the first member
    // already breaks the grammar: 5008, with Failed-AVP holding Experimental-Result around it.
    let answer = MessageBuilder::new(cmd::DEVICE_WATCHDOG, app::BASE, CommandFlags::empty())
        .avp_u32(avp::RESULT_CODE, 2001)
        .avp_str(avp::ORIGIN_HOST, "a.example")
        .avp_str(avp::ORIGIN_REALM, "example")
        .avp_copy(&outer)
        .finish()
        .unwrap();
    let rejection = validate(&answer, &[]).unwrap_err();
    assert_eq!(rejection.result_code, result::AVP_NOT_ALLOWED);
    let failed = failed_avps(&rejection);
    assert_eq!(failed.len(), 1);
    assert!(failed[0].is(avp::EXPERIMENTAL_RESULT));
    assert_eq!(failed[0].data, grouped.slice(8..52), "only the Session-Id");

    // In an open grammar (Proxy-Info) the members are fine until the lying length: 5014, with
    // the Destination-Realm header, a zero-length payload (a DiameterIdentity has no minimum)
    // and a corrected length.
    let answer = MessageBuilder::new(cmd::DEVICE_WATCHDOG, app::BASE, CommandFlags::empty())
        .avp_u32(avp::RESULT_CODE, 2001)
        .avp_str(avp::ORIGIN_HOST, "a.example")
        .avp_str(avp::ORIGIN_REALM, "example")
        .avp_bytes(avp::PROXY_INFO, &outer.data)
        .finish()
        .unwrap();
    let rejection = validate(&answer, &[]).unwrap_err();
    assert_eq!(rejection.result_code, result::INVALID_AVP_LENGTH);
    assert_eq!(
        rejection.failed_avp,
        Some(hx("0000011c 40000010 0000011b 40000008"))
    );
}

#[test]
fn scapy_message_with_unpadded_final_avp() {
    // scapy "Dissect grouped AVP": a 33-octet message holding an unpadded MSISDN.
    let message = parse(hx(
        "01000021 00000000 00000000 00000000 00000000 000002bd c000000d 000028af 01",
    ));
    let msisdn = message.avp(avp::MSISDN).unwrap().unwrap();
    assert_eq!(msisdn.data.as_ref(), &[0x01]);
    let rejection = validate(&message, ALL_APPS).unwrap_err();
    assert_eq!(rejection.result_code, result::INVALID_MESSAGE_LENGTH);
}

// ---------------------------------------------------------------------------------------------
// Byte-exact messages

#[test]
fn cer_matches_hand_computed_bytes() {
    let cer = MessageBuilder::request(app::BASE, cmd::CAPABILITIES_EXCHANGE)
        .hop_by_hop(0x1234_5678)
        .end_to_end(0x9ABC_DEF0)
        .avp_str(avp::ORIGIN_HOST, "hs.example.org")
        .avp_str(avp::ORIGIN_REALM, "example.org")
        .avp_address(avp::HOST_IP_ADDRESS, Ipv4Addr::new(192, 0, 2, 1))
        .avp_u32(avp::VENDOR_ID, 0)
        .avp_str(avp::PRODUCT_NAME, "Hearth")
        .avp_u32(avp::ORIGIN_STATE_ID, 1)
        .avp_u32(avp::SUPPORTED_VENDOR_ID, VENDOR_3GPP)
        .avp_u32(avp::AUTH_APPLICATION_ID, app::CX)
        .grouped(avp::VENDOR_SPECIFIC_APPLICATION_ID, |g| {
            g.avp_u32(avp::VENDOR_ID, VENDOR_3GPP)
                .avp_u32(avp::AUTH_APPLICATION_ID, app::CX);
        })
        .avp_u32(avp::FIRMWARE_REVISION, 1)
        .finish()
        .unwrap();
    let expected = hx(concat!(
        // Version 1, length 188, flags R, CER (257), application 0, hop-by-hop, end-to-end.
        "01 0000bc 80 000101 00000000 12345678 9abcdef0",
        // Origin-Host (264), M, length 22: "hs.example.org" + 2 octets of padding.
        "00000108 40 000016 68732e6578616d706c652e6f7267 0000",
        // Origin-Realm (296), M, length 19: "example.org" + 1.
        "00000128 40 000013 6578616d706c652e6f7267 00",
        // Host-IP-Address (257), M, length 14: family 1, 192.0.2.1 + 2.
        "00000101 40 00000e 0001 c0000201 0000",
        // Vendor-Id (266), M: 0.
        "0000010a 40 00000c 00000000",
        // Product-Name (269), no M, length 14: "Hearth" + 2.
        "0000010d 00 00000e 486561727468 0000",
        // Origin-State-Id (278), M: 1.
        "00000116 40 00000c 00000001",
        // Supported-Vendor-Id (265), M: 10415.
        "00000109 40 00000c 000028af",
        // Auth-Application-Id (258), M: 16777216.
        "00000102 40 00000c 01000000",
        // Vendor-Specific-Application-Id (260), M, length 32: Vendor-Id 10415, Auth-Application-Id.
        "00000104 40 000020 0000010a 40 00000c 000028af 00000102 40 00000c 01000000",
        // Firmware-Revision (267), no M: 1.
        "0000010b 00 00000c 00000001",
    ));
    assert_eq!(cer.as_bytes(), &expected);
    assert_eq!(parse(expected), cer);
    assert_eq!(validate(&cer, &[app::CX]), Ok(()));
}

#[test]
fn cx_mar_with_sip_auth_data_item_matches_hand_computed_bytes() {
    let rand_auts = hx("00112233445566778899aabbccddeeff 0102030405060708090a0b0c0d0e");
    let mar = MessageBuilder::request(app::CX, cmd::MULTIMEDIA_AUTH)
        .hop_by_hop(1)
        .end_to_end(2)
        .avp_str(avp::SESSION_ID, "hs.example.org;1;2")
        .grouped(avp::VENDOR_SPECIFIC_APPLICATION_ID, |g| {
            g.avp_u32(avp::VENDOR_ID, VENDOR_3GPP)
                .avp_u32(avp::AUTH_APPLICATION_ID, app::CX);
        })
        .avp_i32(
            avp::AUTH_SESSION_STATE,
            dict::auth_session_state::NO_STATE_MAINTAINED,
        )
        .avp_str(avp::ORIGIN_HOST, "hs.example.org")
        .avp_str(avp::ORIGIN_REALM, "example.org")
        .avp_str(avp::DESTINATION_REALM, "example.org")
        .avp_str(avp::USER_NAME, "alice@example.org")
        .avp_str(avp::PUBLIC_IDENTITY, "sip:alice@example.org")
        .avp_u32(avp::SIP_NUMBER_AUTH_ITEMS, 1)
        .grouped(avp::SIP_AUTH_DATA_ITEM, |g| {
            g.avp_str(avp::SIP_AUTHENTICATION_SCHEME, "Digest-AKAv1-MD5")
                .avp_bytes(avp::SIP_AUTHORIZATION, &rand_auts);
        })
        .avp_str(avp::SERVER_NAME, "sip:scscf.example.org:5054")
        .finish()
        .unwrap();
    let expected = hx(concat!(
        // Length 360, flags R P, MAR (303), Cx (16777216), hop-by-hop 1, end-to-end 2.
        "01 000168 c0 00012f 01000000 00000001 00000002",
        // Session-Id (263), M, length 26 + 2.
        "00000107 40 00001a 68732e6578616d706c652e6f72673b313b32 0000",
        // Vendor-Specific-Application-Id {Vendor-Id 10415, Auth-Application-Id 16777216}.
        "00000104 40 000020 0000010a 40 00000c 000028af 00000102 40 00000c 01000000",
        // Auth-Session-State (277): NO_STATE_MAINTAINED.
        "00000115 40 00000c 00000001",
        "00000108 40 000016 68732e6578616d706c652e6f7267 0000",
        "00000128 40 000013 6578616d706c652e6f7267 00",
        // Destination-Realm (283).
        "0000011b 40 000013 6578616d706c652e6f7267 00",
        // User-Name (1), length 25 + 3.
        "00000001 40 000019 616c696365406578616d706c652e6f7267 000000",
        // Public-Identity (601), V M, length 33 + 3.
        "00000259 c0 000021 000028af 7369703a616c696365406578616d706c652e6f7267 000000",
        // SIP-Number-Auth-Items (607): 1.
        "0000025f c0 000010 000028af 00000001",
        // SIP-Auth-Data-Item (612), length 84:
        "00000264 c0 000054 000028af",
        //   SIP-Authentication-Scheme (608), length 28: "Digest-AKAv1-MD5".
        "00000260 c0 00001c 000028af 4469676573742d414b4176312d4d4435",
        //   SIP-Authorization (610), length 42 + 2: RAND || AUTS.
        "00000262 c0 00002a 000028af 00112233445566778899aabbccddeeff 0102030405060708090a0b0c0d0e 0000",
        // Server-Name (602), length 38 + 2.
        "0000025a c0 000026 000028af 7369703a73637363662e6578616d706c652e6f72673a35303534 0000",
    ));
    assert_eq!(mar.as_bytes(), &expected);
    assert_eq!(validate(&mar, &[app::CX]), Ok(()));
    let item = mar.avp(avp::SIP_AUTH_DATA_ITEM).unwrap().unwrap();
    let members = item.grouped().unwrap();
    assert_eq!(
        members
            .get(avp::SIP_AUTHENTICATION_SCHEME)
            .unwrap()
            .as_utf8(),
        Ok("Digest-AKAv1-MD5")
    );
    assert_eq!(members.get(avp::SIP_AUTHORIZATION).unwrap().data, rand_auts);
}

/// Re-encodes every top-level AVP of `message` with the builder, which must give the same bytes.
fn reencode(message: &Message) -> Message {
    let header = message.header();
    let mut builder = MessageBuilder::new(header.command_code, header.application_id, header.flags)
        .hop_by_hop(header.hop_by_hop)
        .end_to_end(header.end_to_end);
    for avp in &message.avps().unwrap() {
        builder = builder.avp_copy(&avp);
    }
    builder.finish().unwrap()
}

#[test]
fn pyhss_cx_mar_capture_decodes_and_validates() {
    // PyHSS tests/test_Diameter.py, Diameter_Cx_MAA (a MAR: flags R P, command 303).
    let bytes = hx(concat!(
        "01000168c000012f01000000c14467ebddee626e0000010740000026363837333733333033313b353363613464353131",
        "333b313b6170705f63780000000001084000000d687373303100000000000128400000296570632e6d6e633030312e6d",
        "63633030312e336770706e6574776f726b2e6f72670000000000011b400000136c6f63616c646f6d61696e0000000104",
        "400000200000010a4000000c000028af000001024000000c01000000000001154000000c00000001000000014000002c",
        "353035393331313131313131313136406e69636b76736e6574776f726b696e672e636f6d00000259c0000034000028af",
        "7369703a353035393331313131313131313136406e69636b76736e6574776f726b696e672e636f6d0000025fc0000010",
        "000028af0000000100000264c0000028000028af00000260c000001c000028af4469676573742d414b4176312d4d4435",
        "0000025ac0000018000028af50794853532d636c69656e74",
    ));
    let mar = parse(bytes.clone());
    assert_eq!(mar.header().command_code, cmd::MULTIMEDIA_AUTH);
    assert_eq!(mar.header().application_id, app::CX);
    assert_eq!(mar.header().hop_by_hop, 0xC144_67EB);
    assert_eq!(mar.header().end_to_end, 0xDDEE_626E);
    assert_eq!(validate(&mar, &[app::CX]), Ok(()));
    let avps = mar.avps().unwrap();
    assert_eq!(
        avps.get(avp::SESSION_ID).unwrap().as_utf8(),
        Ok("6873733031;53ca4d5113;1;app_cx")
    );
    assert_eq!(
        avps.get(avp::ORIGIN_REALM).unwrap().as_identity(),
        Ok("epc.mnc001.mcc001.3gppnetwork.org")
    );
    assert_eq!(
        avps.get(avp::USER_NAME).unwrap().as_utf8(),
        Ok("505931111111116@nickvsnetworking.com")
    );
    assert_eq!(
        avps.get(avp::PUBLIC_IDENTITY).unwrap().as_utf8(),
        Ok("sip:505931111111116@nickvsnetworking.com")
    );
    assert_eq!(
        avps.get(avp::SIP_NUMBER_AUTH_ITEMS).unwrap().as_u32(),
        Ok(1)
    );
    let scheme = avps
        .get(avp::SIP_AUTH_DATA_ITEM)
        .unwrap()
        .grouped()
        .unwrap()
        .get(avp::SIP_AUTHENTICATION_SCHEME)
        .unwrap();
    assert_eq!(scheme.as_utf8(), Ok("Digest-AKAv1-MD5"));
    assert_eq!(
        avps.get(avp::SERVER_NAME).unwrap().as_utf8(),
        Ok("PyHSS-client")
    );
    assert_eq!(reencode(&mar).as_bytes(), &bytes);
}

#[test]
fn pyhss_cx_rtr_capture_decodes_validates_and_is_answered() {
    // PyHSS tests/test_Diameter.py, Diameter_Cx_RTR.
    let bytes = hx(concat!(
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
    ));
    let rtr = parse(bytes.clone());
    assert_eq!(rtr.header().command_code, cmd::REGISTRATION_TERMINATION);
    assert_eq!(validate(&rtr, &[app::CX]), Ok(()));
    let avps = rtr.avps().unwrap();
    let reason = avps
        .get(avp::DEREGISTRATION_REASON)
        .unwrap()
        .grouped()
        .unwrap();
    assert_eq!(
        reason.get(avp::REASON_CODE).unwrap().as_enumerated(),
        Ok(dict::reason_code::PERMANENT_TERMINATION)
    );
    assert_eq!(
        reason.get(avp::REASON_INFO).unwrap().as_utf8(),
        Ok("Test Reason")
    );
    assert_eq!(
        avps.get(avp::DESTINATION_HOST).unwrap().as_identity(),
        Ok("hss.localdomain")
    );
    let proxy_info = avps.get(avp::PROXY_INFO).unwrap();
    let proxy_members = proxy_info.grouped().unwrap();
    assert_eq!(
        proxy_members.get(avp::PROXY_STATE).unwrap().as_octets(),
        &[0, 1]
    );
    assert_eq!(
        avps.get(avp::ROUTE_RECORD).unwrap().as_identity(),
        Ok("localdomain")
    );
    assert_eq!(reencode(&rtr).as_bytes(), &bytes);

    // A 3xxx answer carries the E bit, the Session-Id and the Proxy-Info, and is itself valid.
    let rejection = Rejection::new(result::TOO_BUSY, "");
    let answer = error_answer(&rtr, &rejection, "hearth.example.org", "example.org")
        .finish()
        .unwrap();
    assert!(answer.header().is_error() && answer.header().is_proxiable());
    assert!(!answer.header().is_request());
    assert_eq!(answer.header().hop_by_hop, 0x8CBB_CAEE);
    assert_eq!(answer.header().end_to_end, 0x2D3B_6A22);
    let answer_avps = answer.avps().unwrap();
    assert_eq!(
        answer_avps.get(avp::SESSION_ID).unwrap().data,
        avps.get(avp::SESSION_ID).unwrap().data
    );
    assert_eq!(answer_avps.get(avp::PROXY_INFO).unwrap(), proxy_info);
    assert_eq!(
        answer.result_code(),
        Ok(Some(ResultCode::Base(result::TOO_BUSY)))
    );
    assert!(answer_avps.get(avp::ERROR_MESSAGE).is_none());
    assert_eq!(validate(&answer, &[]), Ok(()));
}

#[test]
fn pyhss_base_captures_decode_and_validate() {
    // PyHSS tests/test_Diameter.py: Diameter_CER (client side) and Diameter_DPR (hex form).
    let cer_bytes = hx(concat!(
        "0100015080000101000000008eb7d56ab07bcdd6000001084000000d687373303100000000000128400000296570632e",
        "6d6e633030312e6d63633030312e336770706e6574776f726b2e6f7267000000000001014000000e00017f0001010000",
        "0000010a4000000c000000000000010d0000001450794853532d636c69656e740000010440000020000001024000000c",
        "010000230000010a4000000c000028af0000010440000020000001024000000c010000160000010a4000000c000028af",
        "0000010440000020000001024000000c010000270000010a4000000c000028af0000010440000020000001024000000c",
        "010000010000010a4000000c000028af0000010440000020000001024000000c010000000000010a4000000c000028af",
        "000001024000000cffffffff000001094000000c0000159f000001094000000c000028af000001094000000c000032db",
    ));
    let cer = parse(cer_bytes.clone());
    assert_eq!(validate(&cer, &[]), Ok(()));
    let avps = cer.avps().unwrap();
    assert_eq!(
        avps.get(avp::HOST_IP_ADDRESS).unwrap().as_address(),
        Ok(Address::V4(Ipv4Addr::new(127, 0, 1, 1)))
    );
    assert_eq!(
        avps.get(avp::PRODUCT_NAME).unwrap().as_utf8(),
        Ok("PyHSS-client")
    );
    let applications: Vec<u32> = avps
        .all(avp::VENDOR_SPECIFIC_APPLICATION_ID)
        .map(|vsai| {
            vsai.grouped()
                .unwrap()
                .get(avp::AUTH_APPLICATION_ID)
                .unwrap()
                .as_u32()
                .unwrap()
        })
        .collect();
    assert_eq!(
        applications,
        [16_777_251, 16_777_238, 16_777_255, app::SH, app::CX]
    );
    let vendors: Vec<u32> = avps
        .all(avp::SUPPORTED_VENDOR_ID)
        .map(|a| a.as_u32().unwrap())
        .collect();
    assert_eq!(vendors, [5535, VENDOR_3GPP, 13019]);
    assert_eq!(reencode(&cer).as_bytes(), &cer_bytes);

    let dpr_bytes = hx(concat!(
        "0100008c8000011a000000009aeff2238170f971000001084000003a696c7363303364737230312e6d766e6f2e657063",
        "2e6d6e633538382e6d63633331312e336770706e6574776f726b2e6f72670000000001284000002e6d766e6f2e657063",
        "2e6d6e633538382e6d63633331312e336770706e6574776f726b2e6f72670000000001114000000c00000000",
    ));
    let dpr = parse(dpr_bytes.clone());
    assert_eq!(validate(&dpr, &[]), Ok(()));
    assert_eq!(
        dpr.avp(avp::ORIGIN_HOST).unwrap().unwrap().as_identity(),
        Ok("ilsc03dsr01.mvno.epc.mnc588.mcc311.3gppnetwork.org")
    );
    assert_eq!(
        dpr.avp(avp::DISCONNECT_CAUSE)
            .unwrap()
            .unwrap()
            .as_enumerated(),
        Ok(dict::disconnect_cause::REBOOTING)
    );
    assert_eq!(reencode(&dpr).as_bytes(), &dpr_bytes);
}

// ---------------------------------------------------------------------------------------------
// Framing

#[test]
fn frame_waits_for_whole_messages_and_splits_them() {
    let first = with_server_name(cx_mar());
    let second = MessageBuilder::request(app::BASE, cmd::DEVICE_WATCHDOG)
        .avp_str(avp::ORIGIN_HOST, "a.example")
        .avp_str(avp::ORIGIN_REALM, "example")
        .finish()
        .unwrap();
    let mut stream = BytesMut::new();
    stream.put_slice(first.as_bytes());
    stream.put_slice(second.as_bytes());
    let whole = stream.clone().freeze();
    let mut buf = BytesMut::new();
    let mut framed = Vec::new();
    for byte in whole.iter() {
        buf.put_u8(*byte);
        while let Some(message) = frame(&mut buf, DEFAULT_MAX_MESSAGE_LEN).unwrap() {
            framed.push(message);
        }
    }
    assert_eq!(framed, [first, second]);
    assert!(buf.is_empty());
}

#[test]
fn frame_refuses_streams_that_cannot_be_framed() {
    let mut buf = BytesMut::from(&[2u8][..]);
    assert_eq!(
        frame(&mut buf, 4096),
        Err(FrameError::UnsupportedVersion(2))
    );
    let mut buf = BytesMut::from(&hx("01 000013 80000118")[..]);
    assert_eq!(
        frame(&mut buf, 4096),
        Err(FrameError::LengthBelowHeader(19))
    );
    let mut buf = BytesMut::from(&hx("01 001004")[..]);
    assert_eq!(
        frame(&mut buf, 4096),
        Err(FrameError::TooLong {
            length: 4100,
            max: 4096
        })
    );
    // Below four octets nothing can be judged but the version.
    let mut buf = BytesMut::from(&hx("01 00")[..]);
    assert_eq!(frame(&mut buf, 4096), Ok(None));
    // A length that is not a multiple of four still frames; validation reports it.
    let mut buf = BytesMut::from(&hx("01000015 80000118 00000000 00000000 00000000 ff")[..]);
    let odd = frame(&mut buf, 4096).unwrap().unwrap();
    assert_eq!(odd.as_bytes().len(), 21);
    assert_eq!(
        validate(&odd, &[]).unwrap_err().result_code,
        result::INVALID_MESSAGE_LENGTH
    );
}

#[test]
fn message_parse_checks_the_header() {
    assert_eq!(
        Message::parse(hx("01000014 80000118 00000000 00000000")),
        Err(MessageError::TooShort { actual: 16 })
    );
    assert_eq!(
        Message::parse(hx("02000014 80000118 00000000 00000000 00000000")),
        Err(MessageError::UnsupportedVersion(2))
    );
    assert_eq!(
        Message::parse(hx("01000018 80000118 00000000 00000000 00000000")),
        Err(MessageError::LengthMismatch {
            declared: 24,
            actual: 20
        })
    );
}

// ---------------------------------------------------------------------------------------------
// AVP framing errors

/// A DWR whose body is `body`, with the header's length fixed up.
fn dwr_with_body(body: &[u8]) -> Message {
    let mut bytes = BytesMut::new();
    let header = Header {
        version: 1,
        length: (20 + body.len()) as u32,
        flags: CommandFlags::REQUEST,
        command_code: cmd::DEVICE_WATCHDOG,
        application_id: 0,
        hop_by_hop: 1,
        end_to_end: 1,
    };
    bytes.put_slice(&header.encode());
    bytes.put_slice(body);
    parse(bytes.freeze())
}

fn dwr_prefix() -> Vec<u8> {
    MessageBuilder::new(0, 0, CommandFlags::empty())
        .avp_str(avp::ORIGIN_HOST, "a.example")
        .avp_str(avp::ORIGIN_REALM, "example")
        .finish()
        .unwrap()
        .avp_bytes()
        .to_vec()
}

#[test]
fn avp_framing_errors_are_reported_with_5014() {
    let prefix = dwr_prefix();
    let at = prefix.len();
    let cases: Vec<(Vec<u8>, AvpErrorKind, Bytes)> = vec![
        (
            // Four octets left: not even an AVP header. Reported zero-filled.
            hx("00000116").to_vec(),
            AvpErrorKind::TruncatedHeader { available: 4 },
            hx("00000116 00000008"),
        ),
        (
            // 'V' set but no room left for the Vendor-ID.
            hx("0000025a c0000010").to_vec(),
            AvpErrorKind::TruncatedHeader { available: 8 },
            hx("0000025a c000000c 00000000"),
        ),
        (
            // Length 7, below the 8-octet header. Origin-State-Id needs 4 octets of data.
            hx("00000116 40000007").to_vec(),
            AvpErrorKind::LengthBelowHeader { length: 7 },
            hx("00000116 4000000c 00000000"),
        ),
        (
            // A vendor AVP of length 11, below its 12-octet header.
            hx("0000025f c000000b 000028af").to_vec(),
            AvpErrorKind::LengthBelowHeader { length: 11 },
            hx("0000025f c0000010 000028af 00000000"),
        ),
        (
            // Length 16 with only 12 octets left.
            hx("00000116 40000010 00000001").to_vec(),
            AvpErrorKind::Overrun {
                length: 16,
                available: 12,
            },
            hx("00000116 4000000c 00000000"),
        ),
    ];
    for (tail, kind, failed) in cases {
        let mut body = prefix.clone();
        body.extend_from_slice(&tail);
        while !body.len().is_multiple_of(4) {
            body.push(0);
        }
        let expected_error = AvpError { kind, offset: at };
        assert_eq!(
            AvpList::parse(Bytes::from(body.clone())),
            Err(expected_error)
        );
        let message = dwr_with_body(&body);
        assert_eq!(message.avps(), Err(expected_error));
        let rejection = validate(&message, &[]).unwrap_err();
        assert_eq!(
            rejection.result_code,
            result::INVALID_AVP_LENGTH,
            "{kind:?}"
        );
        assert_eq!(rejection.failed_avp, Some(failed), "{kind:?}");
        assert_eq!(rejection.error_message, expected_error.to_string());
    }
}

#[test]
fn grouped_nesting_stops_at_the_depth_limit() {
    fn nest(g: &mut GroupBuilder<'_>, levels: usize) {
        if levels == 0 {
            g.avp_u32(avp::SIP_ITEM_NUMBER, 1);
        } else {
            g.grouped(avp::SIP_AUTH_DATA_ITEM, |inner| nest(inner, levels - 1));
        }
    }
    let deep = MessageBuilder::new(0, 0, CommandFlags::empty())
        .grouped(avp::SIP_AUTH_DATA_ITEM, |g| {
            nest(g, usize::from(MAX_GROUP_DEPTH) + 2)
        })
        .finish()
        .unwrap();
    let mut current = deep.avps().unwrap().iter().next().unwrap();
    for level in 0..MAX_GROUP_DEPTH {
        assert_eq!(current.depth(), level);
        current = current.grouped().unwrap().iter().next().unwrap();
    }
    assert_eq!(current.depth(), MAX_GROUP_DEPTH);
    assert_eq!(
        current.grouped().unwrap_err().kind,
        AvpErrorKind::DepthLimit
    );

    // Validation reports the innermost group it may not open with 5004, wrapped in its parents.
    let request = MessageBuilder::request(app::CX, cmd::PUSH_PROFILE)
        .avp_copy(&deep.avps().unwrap().iter().next().unwrap())
        .finish()
        .unwrap();
    let rejection = validate(&request, &[app::CX]).unwrap_err();
    assert_eq!(rejection.result_code, result::INVALID_AVP_VALUE);
    let failed_list = AvpList::parse(rejection.failed_avp.clone().unwrap()).unwrap();
    let mut failed = failed_list.iter().next().unwrap();
    for _ in 0..MAX_GROUP_DEPTH {
        assert!(failed.is(avp::SIP_AUTH_DATA_ITEM));
        let members: Vec<Avp> = failed.grouped().unwrap().iter().collect();
        assert_eq!(members.len(), 1, "only the path to the offending AVP");
        failed = members.into_iter().next().unwrap();
    }
}

// ---------------------------------------------------------------------------------------------
// Validation against the dictionary

#[test]
fn complete_requests_of_every_application_validate() {
    assert_eq!(validate(&with_server_name(cx_mar()), &[app::CX]), Ok(()));
    let zh_mar = MessageBuilder::request(app::ZH, cmd::MULTIMEDIA_AUTH)
        .avp_str(avp::SESSION_ID, "bsf.example.org;1;1")
        .grouped(avp::VENDOR_SPECIFIC_APPLICATION_ID, |g| {
            g.avp_u32(avp::VENDOR_ID, VENDOR_3GPP)
                .avp_u32(avp::AUTH_APPLICATION_ID, app::ZH);
        })
        .avp_i32(avp::AUTH_SESSION_STATE, 1)
        .avp_str(avp::ORIGIN_HOST, "bsf.example.org")
        .avp_str(avp::ORIGIN_REALM, "example.org")
        .avp_str(avp::DESTINATION_REALM, "example.org")
        .avp_str(avp::USER_NAME, "alice@example.org")
        .avp_time(avp::GUSS_TIMESTAMP, DiameterTime(0xE000_0000))
        .finish()
        .unwrap();
    assert_eq!(validate(&zh_mar, &[app::ZH]), Ok(()));
    assert_eq!(
        validate(&zh_mar, &[app::CX]).unwrap_err().result_code,
        result::APPLICATION_UNSUPPORTED
    );
    let udr = MessageBuilder::request(app::SH, cmd::USER_DATA)
        .avp_str(avp::SESSION_ID, "as.example.org;1;1")
        .grouped(avp::VENDOR_SPECIFIC_APPLICATION_ID, |g| {
            g.avp_u32(avp::VENDOR_ID, VENDOR_3GPP)
                .avp_u32(avp::AUTH_APPLICATION_ID, app::SH);
        })
        .avp_i32(avp::AUTH_SESSION_STATE, 1)
        .avp_str(avp::ORIGIN_HOST, "as.example.org")
        .avp_str(avp::ORIGIN_REALM, "example.org")
        .avp_str(avp::DESTINATION_REALM, "example.org")
        .grouped(avp::USER_IDENTITY, |g| {
            g.avp_str(avp::PUBLIC_IDENTITY, "sip:alice@example.org");
        })
        .avp_i32(avp::DATA_REFERENCE, 0)
        .avp_i32(avp::DATA_REFERENCE, 13)
        .finish()
        .unwrap();
    assert_eq!(validate(&udr, &[app::SH]), Ok(()));
}

#[test]
fn unknown_mandatory_avp_is_answered_with_5001_and_a_copy() {
    let unknown = AvpHeader::new(9999, Some(VENDOR_3GPP), AvpFlags::MANDATORY);
    let request = with_server_name(cx_mar().avp_bytes(unknown, b"xyz"));
    let rejection = validate(&request, &[app::CX]).unwrap_err();
    assert_eq!(rejection.result_code, result::AVP_UNSUPPORTED);
    assert_eq!(
        rejection.failed_avp,
        Some(hx("0000270f c000000f 000028af 78797a 00"))
    );
    assert_eq!(
        rejection.error_message,
        "AVP 9999/10415 has the M bit but is not supported"
    );

    // The answer: no E bit (a permanent failure), the Session-Id, and Failed-AVP around the copy.
    let answer = error_answer(&request, &rejection, "hearth.example.org", "example.org")
        .finish()
        .unwrap();
    assert!(!answer.header().is_error() && !answer.header().is_request());
    let avps = answer.avps().unwrap();
    let failed = avps.get(avp::FAILED_AVP).unwrap();
    assert_eq!(failed.data, hx("0000270f c000000f 000028af 78797a 00"));
    assert_eq!(failed.flags, AvpFlags::MANDATORY);
    assert_eq!(
        avps.get(avp::SESSION_ID).unwrap().as_utf8(),
        Ok("hs.example.org;1;2")
    );
    assert_eq!(
        avps.get(avp::ERROR_MESSAGE).unwrap().as_utf8(),
        Ok(rejection.error_message.as_str())
    );
    assert_eq!(
        avps.get(avp::ERROR_MESSAGE).unwrap().flags,
        AvpFlags::empty()
    );
    let order: Vec<u32> = avps.iter().map(|a| a.code).collect();
    assert_eq!(order, [263, 264, 296, 268, 281, 279]);

    // Without the M bit the same AVP is ignored.
    let optional = AvpHeader::new(9999, Some(VENDOR_3GPP), AvpFlags::empty());
    assert_eq!(
        validate(
            &with_server_name(cx_mar().avp_bytes(optional, b"xyz")),
            &[app::CX]
        ),
        Ok(())
    );
}

#[test]
fn unknown_mandatory_avp_inside_a_group_is_reported_with_its_parents() {
    let request = cx_mar()
        .grouped(avp::SIP_AUTH_DATA_ITEM, |g| {
            g.avp_u32(avp::SIP_ITEM_NUMBER, 2)
                .avp_u32(AvpHeader::new(4242, None, AvpFlags::MANDATORY), 5);
        })
        .avp_str(avp::SERVER_NAME, "sip:scscf.example.org")
        .finish()
        .unwrap();
    let rejection = validate(&request, &[app::CX]).unwrap_err();
    assert_eq!(rejection.result_code, result::AVP_UNSUPPORTED);
    assert_eq!(
        rejection.failed_avp,
        Some(hx("00000264 c0000018 000028af 00001092 4000000c 00000005"))
    );
}

#[test]
fn bad_values_are_answered_with_5004_or_5014() {
    let cases: Vec<(MessageBuilder, u32, Bytes)> = vec![
        (
            // Invalid UTF-8 in a UTF8String.
            cx_mar().avp_bytes(avp::REASON_INFO, &[0xFF, 0xFE]),
            result::INVALID_AVP_VALUE,
            hx("00000269 c000000e 000028af fffe 0000"),
        ),
        (
            // An Unsigned32 of three octets.
            cx_mar().avp_bytes(avp::UAR_FLAGS, &[0, 0, 1]),
            result::INVALID_AVP_LENGTH,
            hx("0000027d 8000000f 000028af 000001 00"),
        ),
        (
            // A DiameterIdentity with a space.
            cx_mar().avp_str(avp::ROUTE_RECORD, "a b"),
            result::INVALID_AVP_VALUE,
            hx("0000011a 4000000b 612062 00"),
        ),
        (
            // An undefined Server-Assignment-Type with the M bit.
            cx_mar().avp_i32(avp::SERVER_ASSIGNMENT_TYPE, 99),
            result::INVALID_AVP_VALUE,
            hx("00000266 c0000010 000028af 00000063"),
        ),
        (
            // An IPv4 Address of five octets.
            cx_mar().avp_bytes(avp::HOST_IP_ADDRESS, &[0, 1, 1, 2, 3, 4, 5]),
            result::INVALID_AVP_VALUE,
            hx("00000101 4000000f 00010102030405 00"),
        ),
        (
            // A Time of eight octets.
            cx_mar().avp_u64(avp::GUSS_TIMESTAMP, 1),
            result::INVALID_AVP_LENGTH,
            hx("00000199 80000014 000028af 0000000000000001"),
        ),
    ];
    for (builder, code, failed) in cases {
        let request = with_server_name(builder);
        let rejection = validate(&request, &[app::CX]).unwrap_err();
        assert_eq!(rejection.result_code, code, "{}", rejection.error_message);
        assert_eq!(
            rejection.failed_avp,
            Some(failed),
            "{}",
            rejection.error_message
        );
    }
    // An undefined Enumerated value without the M bit is accepted.
    let lenient = with_server_name(cx_mar().avp_i32(
        AvpHeader::new(614, Some(VENDOR_3GPP), AvpFlags::empty()),
        99,
    ));
    assert_eq!(validate(&lenient, &[app::CX]), Ok(()));
}

#[test]
fn missing_avps_are_answered_with_5005_and_a_zero_filled_example() {
    let rejection = validate(&cx_mar().finish().unwrap(), &[app::CX]).unwrap_err();
    assert_eq!(rejection.result_code, result::MISSING_AVP);
    // Server-Name (602, V M) with an empty UTF8String.
    assert_eq!(rejection.failed_avp, Some(hx("0000025a c000000c 000028af")));
    assert!(rejection.error_message.contains("Server-Name"));

    // Inside a group: Deregistration-Reason without its Reason-Code.
    let rtr = MessageBuilder::request(app::CX, cmd::REGISTRATION_TERMINATION)
        .avp_str(avp::SESSION_ID, "hss.example.org;1;1")
        .grouped(avp::VENDOR_SPECIFIC_APPLICATION_ID, |g| {
            g.avp_u32(avp::VENDOR_ID, VENDOR_3GPP)
                .avp_u32(avp::AUTH_APPLICATION_ID, app::CX);
        })
        .avp_i32(avp::AUTH_SESSION_STATE, 1)
        .avp_str(avp::ORIGIN_HOST, "hss.example.org")
        .avp_str(avp::ORIGIN_REALM, "example.org")
        .avp_str(avp::DESTINATION_HOST, "hs.example.org")
        .avp_str(avp::DESTINATION_REALM, "example.org")
        .avp_str(avp::USER_NAME, "alice@example.org")
        .grouped(avp::DEREGISTRATION_REASON, |g| {
            g.avp_str(avp::REASON_INFO, "gone");
        })
        .finish()
        .unwrap();
    let rejection = validate(&rtr, &[app::CX]).unwrap_err();
    assert_eq!(rejection.result_code, result::MISSING_AVP);
    assert_eq!(
        rejection.failed_avp,
        Some(hx(
            "00000267 c000001c 000028af 00000268 c0000010 000028af 00000000"
        ))
    );

    // A missing Address is exemplified with family and IPv4 address, zero-filled.
    let cer = MessageBuilder::request(app::BASE, cmd::CAPABILITIES_EXCHANGE)
        .avp_str(avp::ORIGIN_HOST, "a.example")
        .avp_str(avp::ORIGIN_REALM, "example")
        .finish()
        .unwrap();
    assert_eq!(
        validate(&cer, &[]).unwrap_err().failed_avp,
        Some(hx("00000101 4000000e 000000000000 0000"))
    );
}

#[test]
fn repeated_and_unexpected_avps_are_answered_with_5009_and_5008() {
    let twice = with_server_name(cx_mar().avp_str(avp::USER_NAME, "bob@example.org"));
    let rejection = validate(&twice, &[app::CX]).unwrap_err();
    assert_eq!(rejection.result_code, result::AVP_OCCURS_TOO_MANY_TIMES);
    let failed = failed_avps(&rejection);
    assert_eq!(
        failed[0].as_utf8(),
        Ok("bob@example.org"),
        "the first extra one"
    );

    // Experimental-Result's grammar has no *[AVP]: anything else in it is not allowed.
    let answer = MessageBuilder::answer_to(&twice)
        .avp_str(avp::SESSION_ID, "hs.example.org;1;2")
        .grouped(avp::VENDOR_SPECIFIC_APPLICATION_ID, |g| {
            g.avp_u32(avp::VENDOR_ID, VENDOR_3GPP)
                .avp_u32(avp::AUTH_APPLICATION_ID, app::CX);
        })
        .grouped(avp::EXPERIMENTAL_RESULT, |g| {
            g.avp_u32(avp::VENDOR_ID, VENDOR_3GPP)
                .avp_u32(avp::EXPERIMENTAL_RESULT_CODE, 5001)
                .avp_u32(avp::RESULT_CODE, 2001);
        })
        .avp_i32(avp::AUTH_SESSION_STATE, 1)
        .avp_str(avp::ORIGIN_HOST, "hss.example.org")
        .avp_str(avp::ORIGIN_REALM, "example.org")
        .finish()
        .unwrap();
    let rejection = validate(&answer, &[]).unwrap_err();
    assert_eq!(rejection.result_code, result::AVP_NOT_ALLOWED);
    assert_eq!(
        rejection.failed_avp,
        Some(hx("00000129 40000014 0000010c 4000000c 000007d1"))
    );
    assert_eq!(
        answer.result_code(),
        Ok(Some(ResultCode::Experimental {
            vendor_id: VENDOR_3GPP,
            code: 5001
        }))
    );
}

#[test]
fn header_problems_are_protocol_errors() {
    let mar = with_server_name(cx_mar());
    assert_eq!(validate(&mar, &[app::CX]), Ok(()));

    // Unsupported application, unsupported command.
    assert_eq!(
        validate(&mar, &[app::SH]).unwrap_err().result_code,
        result::APPLICATION_UNSUPPORTED
    );
    let unknown_command = MessageBuilder::request(app::CX, 399).finish().unwrap();
    assert_eq!(
        validate(&unknown_command, &[app::CX])
            .unwrap_err()
            .result_code,
        result::COMMAND_UNSUPPORTED
    );
    let cer_in_cx = MessageBuilder::request(app::CX, cmd::CAPABILITIES_EXCHANGE)
        .finish()
        .unwrap();
    assert_eq!(
        validate(&cer_in_cx, &[app::CX]).unwrap_err().result_code,
        result::COMMAND_UNSUPPORTED
    );

    // E bit in a request; P bit contradicting the command.
    let mut bytes = BytesMut::from(mar.as_bytes().as_ref());
    bytes[4] = 0xE0;
    let with_e = parse(bytes.freeze());
    assert_eq!(
        validate(&with_e, &[app::CX]).unwrap_err().result_code,
        result::INVALID_HDR_BITS
    );
    let without_p = with_server_name(cx_mar().set_proxiable(false));
    let rejection = validate(&without_p, &[app::CX]).unwrap_err();
    assert_eq!(rejection.result_code, result::INVALID_HDR_BITS);
    assert_eq!(
        rejection.error_message,
        "P bit clear in Multimedia-Auth-Request"
    );
    let proxied_dwr = MessageBuilder::request(app::BASE, cmd::DEVICE_WATCHDOG)
        .set_proxiable(true)
        .avp_str(avp::ORIGIN_HOST, "a.example")
        .avp_str(avp::ORIGIN_REALM, "example")
        .finish()
        .unwrap();
    assert_eq!(
        validate(&proxied_dwr, &[]).unwrap_err().result_code,
        result::INVALID_HDR_BITS
    );

    // T bit in an answer.
    let answer_with_t = MessageBuilder::answer_to(&mar)
        .set_flag_t()
        .finish()
        .unwrap();
    assert_eq!(
        validate(&answer_with_t, &[]).unwrap_err().result_code,
        result::INVALID_HDR_BITS
    );

    // Reserved bits are ignored.
    let mut bytes = BytesMut::from(mar.as_bytes().as_ref());
    bytes[4] |= 0x0F;
    assert_eq!(validate(&parse(bytes.freeze()), &[app::CX]), Ok(()));
}

#[test]
fn protocol_error_answers_carry_the_e_bit_and_validate() {
    let unknown_command = MessageBuilder::request(app::CX, 399)
        .set_proxiable(true)
        .hop_by_hop(77)
        .end_to_end(88)
        .avp_str(avp::SESSION_ID, "peer;1")
        .grouped(avp::PROXY_INFO, |g| {
            g.avp_str(avp::PROXY_HOST, "dra1.example.org")
                .avp_bytes(avp::PROXY_STATE, b"s1");
        })
        .grouped(avp::PROXY_INFO, |g| {
            g.avp_str(avp::PROXY_HOST, "dra2.example.org")
                .avp_bytes(avp::PROXY_STATE, b"s2");
        })
        .finish()
        .unwrap();
    let rejection = validate(&unknown_command, &[app::CX]).unwrap_err();
    assert!(rejection.is_protocol_error());
    let answer = error_answer(
        &unknown_command,
        &rejection,
        "hs.example.org",
        "example.org",
    )
    .finish()
    .unwrap();
    let header = answer.header();
    assert_eq!(
        header.flags,
        CommandFlags::PROXIABLE | CommandFlags::ERROR,
        "E set, R clear, P copied"
    );
    assert_eq!((header.hop_by_hop, header.end_to_end), (77, 88));
    assert_eq!(header.command_code, 399);
    let avps = answer.avps().unwrap();
    let states: Vec<Bytes> = avps
        .all(avp::PROXY_INFO)
        .map(|p| p.grouped().unwrap().get(avp::PROXY_STATE).unwrap().data)
        .collect();
    assert_eq!(
        states,
        [Bytes::from_static(b"s1"), Bytes::from_static(b"s2")]
    );
    assert_eq!(avps.get(avp::RESULT_CODE).unwrap().as_u32(), Ok(3001));
    assert_eq!(validate(&answer, &[]), Ok(()));

    // An error answer lacking Result-Code breaks the RFC 6733 §7.2 grammar.
    let bare = MessageBuilder::answer_to(&unknown_command)
        .set_flag_e()
        .avp_str(avp::ORIGIN_HOST, "hs.example.org")
        .avp_str(avp::ORIGIN_REALM, "example.org")
        .finish()
        .unwrap();
    assert_eq!(
        validate(&bare, &[]).unwrap_err().result_code,
        result::MISSING_AVP
    );
}

#[test]
fn failed_avp_contents_are_not_judged_again() {
    let answer = MessageBuilder::new(cmd::DEVICE_WATCHDOG, app::BASE, CommandFlags::empty())
        .avp_u32(avp::RESULT_CODE, result::AVP_UNSUPPORTED)
        .avp_str(avp::ORIGIN_HOST, "a.example")
        .avp_str(avp::ORIGIN_REALM, "example")
        .grouped(avp::FAILED_AVP, |g| {
            g.avp_bytes(AvpHeader::new(31337, None, AvpFlags::MANDATORY), b"?");
        })
        .finish()
        .unwrap();
    assert_eq!(validate(&answer, &[]), Ok(()));
}

// ---------------------------------------------------------------------------------------------
// Builder limits, time, dictionary

#[test]
fn builder_refuses_lengths_beyond_24_bits() {
    let too_long = vec![0u8; MAX_AVP_LEN - AVP_HEADER_LEN + 1];
    assert_eq!(
        MessageBuilder::new(1, 0, CommandFlags::empty())
            .avp_bytes(AvpKey::base(1), &too_long)
            .finish()
            .err(),
        Some(BuildError::AvpTooLong {
            code: 1,
            length: MAX_AVP_LEN + 1
        })
    );
    let half = vec![0u8; MAX_MESSAGE_LEN / 2];
    assert_eq!(
        MessageBuilder::new(1, 0, CommandFlags::empty())
            .avp_bytes(AvpKey::base(1), &half)
            .avp_bytes(AvpKey::base(2), &half)
            .finish()
            .err(),
        Some(BuildError::MessageTooLong(
            20 + 2 * (8 + MAX_MESSAGE_LEN / 2 + 1)
        ))
    );
    assert_eq!(
        MessageBuilder::new(1, 0, CommandFlags::empty())
            .grouped(AvpKey::base(3), |g| {
                g.avp_bytes(AvpKey::base(1), &half)
                    .avp_bytes(AvpKey::base(2), &half);
            })
            .finish()
            .err(),
        Some(BuildError::AvpTooLong {
            code: 3,
            length: 8 + 2 * (8 + MAX_MESSAGE_LEN / 2 + 1)
        })
    );
    assert_eq!(
        MessageBuilder::new(0x0100_0000, 0, CommandFlags::empty())
            .finish()
            .err(),
        Some(BuildError::CommandCodeTooLarge(0x0100_0000))
    );
    let builder = MessageBuilder::new(1, 0, CommandFlags::empty());
    assert!(builder.is_empty() && builder.len() == HEADER_LEN);
}

#[test]
fn diameter_time_follows_ntp_and_rfc_4330_eras() {
    // 1970-01-01T00:00:00Z is 2208988800 seconds after the NTP epoch.
    assert_eq!(DiameterTime::from_unix(0), Some(DiameterTime(0x83AA_7E80)));
    assert_eq!(DiameterTime(0x83AA_7E80).to_unix(), 0);
    // Top bit clear: era 1, counted from 2036-02-07T06:28:16Z.
    assert_eq!(DiameterTime(0).to_unix(), 2_085_978_496);
    assert_eq!(
        DiameterTime::from_unix(2_085_978_496),
        Some(DiameterTime(0))
    );
    assert_eq!(DiameterTime(0x8000_0000).to_unix(), DiameterTime::MIN_UNIX);
    assert_eq!(DiameterTime(0x7FFF_FFFF).to_unix(), DiameterTime::MAX_UNIX);
    assert_eq!(DiameterTime::MIN_UNIX, -61_505_152);
    assert_eq!(DiameterTime::MAX_UNIX, 4_233_462_143);
    assert_eq!(DiameterTime::from_unix(DiameterTime::MIN_UNIX - 1), None);
    assert_eq!(DiameterTime::from_unix(DiameterTime::MAX_UNIX + 1), None);
    for unix in [
        DiameterTime::MIN_UNIX,
        -1,
        1_700_000_000,
        2_085_978_495,
        DiameterTime::MAX_UNIX,
    ] {
        assert_eq!(DiameterTime::from_unix(unix).unwrap().to_unix(), unix);
    }
}

#[test]
fn dictionary_is_sorted_complete_and_consistent() {
    for pair in AVPS.windows(2) {
        assert!(
            pair[0].key < pair[1].key,
            "{} before {}",
            pair[0].name,
            pair[1].name
        );
    }
    for def in AVPS {
        assert_eq!(dict::avp_def(def.key), Some(def));
        assert_eq!(
            def.grammar.is_some(),
            def.data_type == DataType::Grouped,
            "{}",
            def.name
        );
        assert!(def.values.is_empty() || def.data_type == DataType::Enumerated);
        for rule in def.grammar.map_or(&[][..], |g| g.rules) {
            assert!(
                dict::avp_def(rule.key).is_some(),
                "{} member {}",
                def.name,
                rule.key
            );
            assert!(rule.min <= rule.max);
        }
    }
    for (index, command) in COMMANDS.iter().enumerate() {
        assert_eq!(
            dict::command(command.application_id, command.code),
            Some(command)
        );
        assert!(
            COMMANDS[..index]
                .iter()
                .all(|other| (other.application_id, other.code)
                    != (command.application_id, command.code))
        );
        for rule in command.request.rules.iter().chain(command.answer.rules) {
            assert!(
                dict::avp_def(rule.key).is_some(),
                "{} uses {}",
                command.name,
                rule.key
            );
            assert!(rule.max == 1 || rule.max == UNBOUNDED);
        }
        assert_eq!(command.proxiable, command.application_id != app::BASE);
    }
    for app_id in [app::BASE, app::CX, app::SH, app::ZN, app::ZH] {
        assert!(dict::is_known_application(app_id));
    }
    assert!(!dict::is_known_application(app::RELAY));
    assert_eq!(dict::avp_name(avp::SH_USER_DATA), Some("User-Data"));
    assert_eq!(dict::avp_name(avp::USER_DATA), Some("User-Data"));
    assert_eq!(
        dict::avp_name(avp::PRIMARY_CHARGING_COLLECTION_FUNCTION_NAME),
        Some("Primary-Charging-Collection-Function-Name")
    );
    assert_eq!(
        dict::avp_name(avp::OC_SUPPORTED_FEATURES),
        Some("OC-Supported-Features")
    );
    assert_eq!(dict::avp_name(AvpKey::base(600)), None);
    // The M bit is sent exactly where the dictionary says it must be.
    assert_eq!(AvpHeader::from(avp::ORIGIN_HOST).flags, AvpFlags::MANDATORY);
    assert_eq!(AvpHeader::from(avp::PRODUCT_NAME).flags, AvpFlags::empty());
    assert_eq!(
        AvpHeader::from(avp::WILDCARDED_PUBLIC_IDENTITY).flags,
        AvpFlags::empty()
    );
    assert_eq!(
        AvpHeader::from(avp::GUSS_TIMESTAMP).flags,
        AvpFlags::empty()
    );
    assert_eq!(AvpHeader::from(avp::NAF_ID).flags, AvpFlags::MANDATORY);
    assert_eq!(
        AvpHeader::from(AvpKey::base(65_000)).flags,
        AvpFlags::empty()
    );
    assert_eq!(
        dict::avp_def(avp::SERVER_ASSIGNMENT_TYPE).map(|d| d.mandatory),
        Some(FlagRule::Must)
    );
    assert_eq!(DataType::Address.min_len(), 6);
    assert_eq!(DataType::Unsigned64.min_len(), 8);
    assert_eq!(DataType::Grouped.min_len(), 0);
}
