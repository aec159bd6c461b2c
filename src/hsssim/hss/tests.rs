//! Every answer path of the HSS procedures, over a small population file.

use super::*;
use hearth_core::crypto::aka::{UsimResponse, UsimSqnState, check_autn, usim_authenticate};
use hearth_core::diameter::cx::{Destination, SaaOutcome, map_saa};
use hearth_core::xml::parse_user_data;
use rand::SeedableRng;
use rand::rngs::StdRng;

const POPULATION: &str = r#"{
  "irs": [{"id": "shared", "impus": ["sip:bob@example.com", {"impu": "tel:+15551234", "barred": true}],
           "charging": {"ccf1": "aaa://ccf.example.com", "ecf1": "aaa://ecf.example.com"}}],
  "subscribers": [
    {"impi": "alice@example.com", "password": "secret",
     "aka": {"k": "465b5ce8b199b49faa5f0a2ee238a6bc", "opc": "cd63cb71954a9f4e48a5994e37a02baf"},
     "irs": [{"id": "alice", "impus": ["sip:alice@example.com", "sip:!user.*!@example.com"],
              "ifc": "<ServiceProfile><InitialFilterCriteria><Priority>0</Priority><ApplicationServer><ServerName>sip:as.example.com</ServerName><DefaultHandling>0</DefaultHandling></ApplicationServer></InitialFilterCriteria></ServiceProfile>",
              "charging": {"ccf1": "aaa://ccf1.example.com", "ccf2": "aaa://ccf2.example.com"}}]},
    {"impi": "carol@example.com",
     "aka": {"k": "465b5ce8b199b49faa5f0a2ee238a6bc", "opc": "cd63cb71954a9f4e48a5994e37a02baf", "amf": "b9b9"},
     "irs": [{"id": "carol", "impus": ["sip:carol@example.com"]}]},
    {"impi": "bob@example.com", "password": "bobpw", "irs": ["shared"], "roaming_allowed": false},
    {"impi": "bob", "realm": "example.com", "password": "bobpw", "irs": ["shared"]},
    {"impi": "mallory@example.com", "password": "x", "barred": true,
     "irs": [{"id": "mallory", "impus": ["sip:mallory@example.com"]}]}
  ]
}"#;

const SCSCF: &str = "sip:scscf.example.com";
const HOMESTEAD: &str = "homestead.example.com";

fn hss() -> Hss {
    let population = Population::from_json(POPULATION, "example.com").expect("population");
    Hss::new(
        population,
        HssConfig {
            origin: Origin::new("hss.example.com", "example.com"),
            capabilities: ServerCapabilities {
                mandatory: vec![],
                optional: vec![],
                server_names: vec![SCSCF.to_owned()],
            },
            sqn_policy: SqnPolicy::default(),
            guss_timestamp: DiameterTime(1000),
        },
        1,
    )
}

fn rng() -> StdRng {
    StdRng::seed_from_u64(42)
}

fn routing() -> Routing {
    Routing::new(
        "homestead.example.com;1;2",
        &Origin::new(HOMESTEAD, "example.com"),
        &Destination {
            realm: "example.com".into(),
            host: None,
        },
    )
}

fn mar(impi: &str, impu: &str, scheme: AuthScheme) -> Mar {
    Mar {
        routing: routing(),
        user_name: impi.into(),
        public_identity: impu.into(),
        scheme,
        resync: None,
        number_auth_items: 1,
        server_name: SCSCF.into(),
    }
}

fn uar(impi: &str, impu: &str, kind: UserAuthorizationType) -> Uar {
    Uar {
        routing: routing(),
        user_name: impi.into(),
        public_identity: impu.into(),
        visited_network: "example.com".into(),
        authorization_type: kind,
        uar_flags: 0,
    }
}

fn lir(impu: &str) -> Lir {
    Lir {
        routing: routing(),
        originating: false,
        public_identity: impu.into(),
        authorization_type: None,
    }
}

fn sar(impi: Option<&str>, impu: &str, kind: ServerAssignmentType) -> Sar {
    Sar {
        routing: routing(),
        user_name: impi.map(str::to_owned),
        supported_features: vec![],
        public_identities: vec![impu.into()],
        wildcarded_public_identity: None,
        server_name: SCSCF.into(),
        server_assignment_type: kind,
        user_data_already_available: false,
    }
}

fn milenage() -> Milenage {
    let mut k = [0u8; 16];
    let mut opc = [0u8; 16];
    hex::decode_to_slice("465b5ce8b199b49faa5f0a2ee238a6bc", &mut k).expect("k");
    hex::decode_to_slice("cd63cb71954a9f4e48a5994e37a02baf", &mut opc).expect("opc");
    Milenage::new(&k, &opc)
}

fn split_challenge(item: &SipAuthDataItem) -> ([u8; 16], [u8; 16]) {
    let challenge = item.authenticate.as_ref().expect("SIP-Authenticate");
    assert_eq!(challenge.len(), 32);
    let mut rand = [0u8; 16];
    let mut autn = [0u8; 16];
    rand.copy_from_slice(&challenge[..16]);
    autn.copy_from_slice(&challenge[16..]);
    (rand, autn)
}

fn tgpp(code: u32) -> CxResult {
    CxResult::tgpp(code)
}

#[test]
fn mar_digest_for_sip_digest_and_unknown() {
    let mut hss = hss();
    for scheme in [AuthScheme::SipDigest, AuthScheme::Unknown] {
        let maa = hss.mar(
            &mar("alice@example.com", "sip:alice@example.com", scheme),
            &mut rng(),
        );
        assert_eq!(maa.result, CxResult::SUCCESS);
        assert_eq!(maa.number_auth_items, Some(1));
        let item = &maa.auth_data[0];
        assert_eq!(item.scheme, Some(AuthScheme::SipDigest));
        let digest = item.digest.as_ref().expect("digest");
        assert_eq!(digest.realm, "example.com");
        assert_eq!(digest.qop, "auth");
        assert_eq!(digest.algorithm.as_deref(), Some("MD5"));
        let expected = hearth_core::crypto::digest::ha1(
            hearth_core::crypto::digest::DigestAlgorithm::Md5,
            "alice@example.com",
            "example.com",
            b"secret",
            "",
            "",
        );
        assert_eq!(digest.ha1, expected.as_hex());
    }
}

#[test]
fn mar_aka_vectors_verify_like_a_ue_and_the_sqn_advances() {
    let mut hss = hss();
    let m = milenage();
    let mut usim = UsimSqnState::new(SqnPolicy::default());
    let mut request = mar(
        "alice@example.com",
        "sip:alice@example.com",
        AuthScheme::DigestAkaV1Md5,
    );
    request.number_auth_items = 3;
    let maa = hss.mar(&request, &mut rng());
    assert_eq!(maa.result, CxResult::SUCCESS);
    assert_eq!(maa.number_auth_items, Some(3));
    for (n, item) in maa.auth_data.iter().enumerate() {
        assert_eq!(item.item_number, Some(n as u32 + 1));
        assert_eq!(item.scheme, Some(AuthScheme::DigestAkaV1Md5));
        let (rand, autn) = split_challenge(item);
        let UsimResponse::Accepted(result) =
            usim_authenticate(&m, &mut usim, &rand, &autn).expect("MAC-A verifies")
        else {
            panic!("SQN of vector {n} not fresh");
        };
        // SEQ n+1, IND n+1 (SqnPolicy::next_sqn from 0): SEQ‖IND with 5 IND bits.
        assert_eq!(
            sqn_from_bytes(&result.sqn),
            ((n as u64 + 1) << 5) | (n as u64 + 1)
        );
        assert_eq!(result.amf, [0x80, 0]);
        assert_eq!(item.authorization.as_deref(), Some(&result.res[..]));
        assert_eq!(item.confidentiality_key.as_deref(), Some(&result.ck[..]));
        assert_eq!(item.integrity_key.as_deref(), Some(&result.ik[..]));
    }
    let view = hss.view("alice@example.com").expect("view");
    assert_eq!((view.seq, view.ind), (Some(3), Some(3)));

    // AKAv2 is answered under its own scheme; Unknown for an AKA-only subscriber gives AKAv1.
    let maa = hss.mar(
        &mar(
            "alice@example.com",
            "sip:alice@example.com",
            AuthScheme::DigestAkaV2Sha256,
        ),
        &mut rng(),
    );
    assert_eq!(maa.auth_data[0].scheme, Some(AuthScheme::DigestAkaV2Sha256));
    let maa = hss.mar(
        &mar(
            "carol@example.com",
            "sip:carol@example.com",
            AuthScheme::Unknown,
        ),
        &mut rng(),
    );
    assert_eq!(maa.result, CxResult::SUCCESS);
    assert_eq!(maa.auth_data[0].scheme, Some(AuthScheme::DigestAkaV1Md5));
    let (rand, autn) = split_challenge(&maa.auth_data[0]);
    let ue = check_autn(&m, &rand, &autn).expect("carol's AUTN");
    assert_eq!(ue.amf, [0xb9, 0xb9]);
}

#[test]
fn mar_refusals() {
    let mut hss = hss();
    let cases = [
        (
            mar(
                "nobody@example.com",
                "sip:alice@example.com",
                AuthScheme::Unknown,
            ),
            tgpp(5001),
        ),
        (
            mar(
                "alice@example.com",
                "sip:nobody@example.com",
                AuthScheme::Unknown,
            ),
            tgpp(5001),
        ),
        (
            mar(
                "alice@example.com",
                "sip:bob@example.com",
                AuthScheme::Unknown,
            ),
            tgpp(5002),
        ),
        (
            mar(
                "carol@example.com",
                "sip:carol@example.com",
                AuthScheme::SipDigest,
            ),
            tgpp(5006),
        ),
        (
            mar(
                "bob@example.com",
                "sip:bob@example.com",
                AuthScheme::DigestAkaV1Md5,
            ),
            tgpp(5006),
        ),
        (
            mar(
                "alice@example.com",
                "sip:alice@example.com",
                AuthScheme::Other("NASS-Bundled".into()),
            ),
            tgpp(5006),
        ),
    ];
    for (request, expected) in cases {
        let maa = hss.mar(&request, &mut rng());
        assert_eq!(maa.result, expected, "{request:?}");
        assert!(maa.auth_data.is_empty());
    }
}

#[test]
fn mar_resync_moves_the_sqn_and_a_forged_auts_is_refused() {
    let mut hss = hss();
    let m = milenage();
    let policy = SqnPolicy::default();
    // A USIM that has seen SEQ 100 elsewhere: our first vector (SEQ 1) is stale.
    let mut usim = UsimSqnState::starting_at(policy, (100 << 5) | 7).expect("state");
    let request = mar(
        "alice@example.com",
        "sip:alice@example.com",
        AuthScheme::DigestAkaV1Md5,
    );
    let maa = hss.mar(&request, &mut rng());
    let (rand, autn) = split_challenge(&maa.auth_data[0]);
    let UsimResponse::SyncFailure { auts, .. } =
        usim_authenticate(&m, &mut usim, &rand, &autn).expect("genuine")
    else {
        panic!("a stale SQN must be refused");
    };

    let mut forged = auts;
    forged[13] ^= 1;
    let mut bad = request.clone();
    bad.resync = Some(Resync { rand, auts: forged });
    let maa = hss.mar(&bad, &mut rng());
    assert_eq!(maa.result, CxResult::Base(result::AUTHORIZATION_REJECTED));
    assert_eq!(hss.view("alice@example.com").and_then(|v| v.seq), Some(1));

    let mut resync = request.clone();
    resync.resync = Some(Resync { rand, auts });
    let maa = hss.mar(&resync, &mut rng());
    assert_eq!(maa.result, CxResult::SUCCESS);
    let (rand, autn) = split_challenge(&maa.auth_data[0]);
    let UsimResponse::Accepted(result) =
        usim_authenticate(&m, &mut usim, &rand, &autn).expect("genuine")
    else {
        panic!("the vector after resync must be fresh");
    };
    // SEQ_MS + 1 with the next IND.
    assert_eq!(sqn_from_bytes(&result.sqn), (101 << 5) | 8);
    assert_eq!(hss.view("alice@example.com").and_then(|v| v.seq), Some(101));
}

#[test]
fn uar_answers() {
    let mut hss = hss();
    use UserAuthorizationType::{DeRegistration, Registration, RegistrationAndCapabilities};
    let first = hss.uar(&uar(
        "alice@example.com",
        "sip:alice@example.com",
        Registration,
    ));
    assert_eq!(first.result, tgpp(2001));
    assert_eq!(first.server_name, None);
    assert_eq!(
        first.capabilities.map(|c| c.server_names),
        Some(vec![SCSCF.to_owned()])
    );
    let dereg = hss.uar(&uar(
        "alice@example.com",
        "sip:alice@example.com",
        DeRegistration,
    ));
    assert_eq!(dereg.result, tgpp(5003));

    let saa = hss.sar(
        &sar(
            Some("alice@example.com"),
            "sip:alice@example.com",
            ServerAssignmentType::Registration,
        ),
        HOMESTEAD,
    );
    assert_eq!(saa.result, CxResult::SUCCESS);
    let again = hss.uar(&uar(
        "alice@example.com",
        "sip:alice@example.com",
        Registration,
    ));
    assert_eq!(again.result, tgpp(2002));
    assert_eq!(again.server_name.as_deref(), Some(SCSCF));
    let capab = hss.uar(&uar(
        "alice@example.com",
        "sip:alice@example.com",
        RegistrationAndCapabilities,
    ));
    assert_eq!(capab.result, tgpp(2001));
    assert!(capab.capabilities.is_some());
    let dereg = hss.uar(&uar(
        "alice@example.com",
        "sip:alice@example.com",
        DeRegistration,
    ));
    assert_eq!(dereg.result, CxResult::SUCCESS);
    assert_eq!(dereg.server_name.as_deref(), Some(SCSCF));

    let refusals = [
        (
            uar("nobody@example.com", "sip:alice@example.com", Registration),
            tgpp(5001),
        ),
        (
            uar("alice@example.com", "sip:nobody@example.com", Registration),
            tgpp(5001),
        ),
        (
            uar("alice@example.com", "sip:bob@example.com", Registration),
            tgpp(5002),
        ),
        (
            uar(
                "mallory@example.com",
                "sip:mallory@example.com",
                Registration,
            ),
            CxResult::Base(result::AUTHORIZATION_REJECTED),
        ),
        (
            uar("bob@example.com", "tel:+15551234", Registration),
            CxResult::Base(result::AUTHORIZATION_REJECTED),
        ),
    ];
    for (request, expected) in refusals {
        assert_eq!(hss.uar(&request).result, expected, "{request:?}");
    }
    // An emergency registration of a barred identity is allowed.
    let mut sos = uar(
        "mallory@example.com",
        "sip:mallory@example.com",
        Registration,
    );
    sos.uar_flags = 1;
    assert_eq!(hss.uar(&sos).result, tgpp(2001));
    // Roaming: bob@example.com may not register from another network; bob may.
    let mut visited = uar("bob@example.com", "sip:bob@example.com", Registration);
    visited.visited_network = "visited.example.net".into();
    assert_eq!(hss.uar(&visited).result, tgpp(5004));
    visited.visited_network = "example.com".into();
    assert_eq!(hss.uar(&visited).result, tgpp(2001));
    let mut other = uar("bob", "sip:bob@example.com", Registration);
    other.visited_network = "visited.example.net".into();
    assert_eq!(hss.uar(&other).result, tgpp(2001));
}

#[test]
fn lir_answers() {
    let mut hss = hss();
    assert_eq!(hss.lir(&lir("sip:nobody@example.com")).result, tgpp(5001));
    // Not registered: alice has iFCs (unregistered services), bob's IRS has none.
    let unregistered = hss.lir(&lir("sip:alice@example.com"));
    assert_eq!(unregistered.result, tgpp(2003));
    assert!(unregistered.capabilities.is_some());
    assert_eq!(hss.lir(&lir("sip:bob@example.com")).result, tgpp(5003));
    let wildcard = hss.lir(&lir("sip:user77@example.com"));
    assert_eq!(wildcard.result, tgpp(2003));
    assert_eq!(
        wildcard.wildcarded_public_identity.as_deref(),
        Some("sip:!user.*!@example.com")
    );

    hss.sar(
        &sar(
            None,
            "sip:alice@example.com",
            ServerAssignmentType::UnregisteredUser,
        ),
        HOMESTEAD,
    );
    let assigned = hss.lir(&lir("sip:user77@example.com"));
    assert_eq!(assigned.result, CxResult::SUCCESS);
    assert_eq!(assigned.server_name.as_deref(), Some(SCSCF));
    let mut capab = lir("sip:alice@example.com");
    capab.authorization_type = Some(UserAuthorizationType::RegistrationAndCapabilities);
    let answer = hss.lir(&capab);
    assert_eq!(answer.result, CxResult::SUCCESS);
    assert!(answer.server_name.is_none() && answer.capabilities.is_some());
}

#[test]
fn sar_registration_returns_user_data_and_charging() {
    let mut hss = hss();
    let saa = hss.sar(
        &sar(
            Some("alice@example.com"),
            "sip:alice@example.com",
            ServerAssignmentType::Registration,
        ),
        HOMESTEAD,
    );
    assert_eq!(saa.result, CxResult::SUCCESS);
    let doc = parse_user_data(saa.user_data.as_deref().expect("User-Data").as_bytes())
        .expect("IMSSubscription parses");
    assert_eq!(
        doc.subscription.private_id.as_deref(),
        Some("alice@example.com")
    );
    let profile = &doc.subscription.service_profiles[0];
    assert_eq!(
        profile.public_identities,
        vec![
            "sip:alice@example.com".to_owned(),
            "sip:!user.*!@example.com".to_owned()
        ]
    );
    assert_eq!(profile.ifc_count, 1);
    let wildcard = &doc.profiles[0].public_identities[1];
    assert_eq!(
        wildcard.wildcarded_impu.as_deref(),
        Some("sip:!user.*!@example.com")
    );
    let charging = saa.charging.expect("Charging-Information");
    assert_eq!(
        charging.primary_ccf.as_deref(),
        Some("aaa://ccf1.example.com")
    );
    assert_eq!(
        charging.secondary_ccf.as_deref(),
        Some("aaa://ccf2.example.com")
    );
    let view = hss.view("alice@example.com").expect("view");
    let assignment = view.irs[0].assignment.clone().expect("assigned");
    assert_eq!(assignment.state, RegState::Registered);
    assert_eq!(assignment.origin_host, HOMESTEAD);
    assert!(assignment.impis.contains("alice@example.com"));

    // Shared IRS: barring shows in User-Data, both IMPIs are Associated-Identities.
    let saa = hss.sar(
        &sar(
            Some("bob"),
            "sip:bob@example.com",
            ServerAssignmentType::Registration,
        ),
        HOMESTEAD,
    );
    let doc =
        parse_user_data(saa.user_data.as_deref().expect("User-Data").as_bytes()).expect("parses");
    assert!(doc.profiles[0].public_identities[1].barred);
    assert_eq!(
        saa.associated_identities,
        vec!["bob@example.com".to_owned(), "bob".to_owned()]
    );

    // User-Data-Already-Available is honoured on a re-registration.
    let mut rereg = sar(
        Some("alice@example.com"),
        "sip:alice@example.com",
        ServerAssignmentType::ReRegistration,
    );
    rereg.user_data_already_available = true;
    let saa = hss.sar(&rereg, HOMESTEAD);
    assert_eq!(saa.result, CxResult::SUCCESS);
    assert!(saa.user_data.is_none());
    assert!(saa.charging.is_some());
}

#[test]
fn sar_deregistrations_and_authentication_failures() {
    use ServerAssignmentType as T;
    let mut hss = hss();
    let state = |hss: &Hss| {
        hss.view("alice@example.com")
            .and_then(|v| v.irs[0].assignment.clone())
            .map(|a| a.state)
    };
    let alice = |kind| sar(Some("alice@example.com"), "sip:alice@example.com", kind);
    for kind in [
        T::UserDeregistration,
        T::TimeoutDeregistration,
        T::AdministrativeDeregistration,
        T::DeregistrationTooMuchData,
    ] {
        hss.sar(&alice(T::Registration), HOMESTEAD);
        assert_eq!(state(&hss), Some(RegState::Registered));
        let saa = hss.sar(&alice(kind), HOMESTEAD);
        assert_eq!(saa.result, CxResult::SUCCESS, "{kind:?}");
        assert!(saa.user_data.is_none(), "{kind:?}");
        assert_eq!(state(&hss), None, "{kind:?}");
    }
    for kind in [
        T::UserDeregistrationStoreServerName,
        T::TimeoutDeregistrationStoreServerName,
    ] {
        hss.sar(&alice(T::Registration), HOMESTEAD);
        hss.sar(&alice(kind), HOMESTEAD);
        assert_eq!(state(&hss), Some(RegState::Unregistered), "{kind:?}");
    }
    // A failed re-registration keeps the registration; a failed first one leaves nothing.
    hss.sar(&alice(T::Registration), HOMESTEAD);
    hss.sar(&alice(T::AuthenticationFailure), HOMESTEAD);
    assert_eq!(state(&hss), Some(RegState::Registered));
    hss.sar(&alice(T::UserDeregistration), HOMESTEAD);
    hss.sar(&alice(T::AuthenticationTimeout), HOMESTEAD);
    assert_eq!(state(&hss), None);
    // Unregistered user: assigned but not registered, and the profile comes back.
    let saa = hss.sar(&alice(T::UnregisteredUser), HOMESTEAD);
    assert!(saa.user_data.is_some());
    assert_eq!(state(&hss), Some(RegState::Unregistered));
    // Every type gets an answer.
    for kind in T::ALL {
        assert_eq!(hss.sar(&alice(kind), HOMESTEAD).result, CxResult::SUCCESS);
    }
}

#[test]
fn sar_refusals_and_the_wildcard_retry() {
    use ServerAssignmentType as T;
    let mut hss = hss();
    let cases = [
        (
            sar(Some("nobody"), "sip:alice@example.com", T::Registration),
            tgpp(5001),
        ),
        (
            sar(None, "sip:nobody@example.com", T::Registration),
            tgpp(5001),
        ),
        (
            sar(
                Some("alice@example.com"),
                "sip:bob@example.com",
                T::Registration,
            ),
            tgpp(5002),
        ),
    ];
    for (request, expected) in cases {
        assert_eq!(hss.sar(&request, HOMESTEAD).result, expected);
    }

    // A distinct identity in a wildcarded range, sent with an outdated wildcard: 5007 and the
    // right one, which is what Hearth's map_saa retries with.
    let mut wrong = sar(None, "sip:user5@example.com", T::UnregisteredUser);
    wrong.wildcarded_public_identity = Some("sip:!old.*!@example.com".into());
    let saa = hss.sar(&wrong, HOMESTEAD);
    assert_eq!(saa.result, tgpp(cx_result::ERROR_IN_ASSIGNMENT_TYPE));
    assert_eq!(
        saa.wildcarded_public_identity.as_deref(),
        Some("sip:!user.*!@example.com")
    );
    assert_eq!(
        map_saa(&saa, wrong.wildcarded_public_identity.as_deref()),
        SaaOutcome::RetryWithWildcard("sip:!user.*!@example.com".into())
    );
    let mut right = wrong.clone();
    right.wildcarded_public_identity = Some("sip:!user.*!@example.com".into());
    let saa = hss.sar(&right, HOMESTEAD);
    assert_eq!(saa.result, CxResult::SUCCESS);
    assert_eq!(
        saa.wildcarded_public_identity.as_deref(),
        Some("sip:!user.*!@example.com")
    );
    assert!(saa.user_data.is_some());
    // Without a wildcard the HSS finds it itself.
    let plain = sar(None, "sip:user5@example.com", T::UnregisteredUser);
    assert_eq!(hss.sar(&plain, HOMESTEAD).result, CxResult::SUCCESS);
}

#[test]
fn zh_mar_gives_a_vector_and_the_guss() {
    let mut hss = hss();
    let request = ZhMar {
        session_id: "bsf;1;1".into(),
        user_name: Some("alice@example.com".into()),
        public_identity: None,
        scheme: None,
        resync: None,
        guss_timestamp: None,
    };
    let maa = hss.zh_mar(&request, &mut rng());
    assert_eq!(maa.result, CxResult::SUCCESS);
    let item = maa.item.as_ref().expect("vector");
    let (rand, autn) = split_challenge(item);
    check_autn(&milenage(), &rand, &autn).expect("AUTN verifies");
    let guss = maa.guss.as_deref().expect("GUSS");
    assert!(guss.contains("<uid>sip:alice@example.com</uid>"), "{guss}");

    let current = ZhMar {
        guss_timestamp: Some(DiameterTime(1000)),
        ..request.clone()
    };
    assert!(hss.zh_mar(&current, &mut rng()).guss.is_none());
    let by_impu = ZhMar {
        user_name: None,
        public_identity: Some("sip:bob@example.com".into()),
        ..request.clone()
    };
    let maa = hss.zh_mar(&by_impu, &mut rng());
    assert_eq!(maa.user_name.as_deref(), Some("bob@example.com"));
    assert_eq!(maa.item.and_then(|i| i.scheme), Some(AuthScheme::SipDigest));
    let unknown = ZhMar {
        user_name: Some("nobody".into()),
        ..request
    };
    assert_eq!(hss.zh_mar(&unknown, &mut rng()).result, tgpp(5001));
}

#[test]
fn rtr_and_ppr_go_to_the_registering_node() {
    let mut hss = hss();
    let command = RtrCommand {
        impis: vec!["alice@example.com".into()],
        ..Default::default()
    };
    assert_eq!(
        hss.rtr(&command).map(|_| ()).map_err(|e| e.status),
        Err(409)
    );
    hss.sar(
        &sar(
            Some("alice@example.com"),
            "sip:alice@example.com",
            ServerAssignmentType::Registration,
        ),
        HOMESTEAD,
    );
    let out = hss.rtr(&command).expect("rtr");
    assert_eq!(out.destination_host, HOMESTEAD);
    assert_eq!(out.request.routing.destination_realm, "example.com");
    assert_eq!(out.request.user_name, "alice@example.com");
    assert_eq!(out.request.reason.code, ReasonCode::PermanentTermination);
    let message = out.request.to_message(1, 2).expect("encodes");
    assert_eq!(Rtr::from_message(&message).expect("reads"), out.request);
    hss.rtr_succeeded(&out.irs_ids);
    assert!(
        hss.view("alice@example.com").expect("view").irs[0]
            .assignment
            .is_none()
    );

    let by_impu = RtrCommand {
        impus: vec!["sip:bob@example.com".into()],
        reason: Some("SERVER_CHANGE".into()),
        destination_host: Some("other.example.com".into()),
        ..Default::default()
    };
    let out = hss.rtr(&by_impu).expect("rtr");
    assert_eq!(out.request.user_name, "bob@example.com");
    assert_eq!(out.destination_host, "other.example.com");
    let bad = RtrCommand {
        impis: vec!["alice@example.com".into()],
        reason: Some("BOGUS".into()),
        ..Default::default()
    };
    assert_eq!(hss.rtr(&bad).map(|_| ()).map_err(|e| e.status), Err(400));

    // PPR with a new iFC: stored, sent, and in the next SAA.
    hss.sar(
        &sar(
            Some("alice@example.com"),
            "sip:alice@example.com",
            ServerAssignmentType::Registration,
        ),
        HOMESTEAD,
    );
    let ifc = "<ServiceProfile><InitialFilterCriteria><Priority>5</Priority><ApplicationServer><ServerName>sip:new.example.com</ServerName><DefaultHandling>1</DefaultHandling></ApplicationServer></InitialFilterCriteria></ServiceProfile>";
    let out = hss
        .ppr(&PprCommand {
            impi: "alice@example.com".into(),
            ifc: Some(ifc.into()),
            charging: Some(ChargingSpec {
                ccf1: Some("aaa://newccf.example.com".into()),
                ..Default::default()
            }),
            ..Default::default()
        })
        .expect("ppr");
    assert_eq!(out.destination_host, HOMESTEAD);
    let user_data = out.request.user_data.as_deref().expect("User-Data");
    assert!(user_data.contains("sip:new.example.com"));
    assert!(parse_user_data(user_data.as_bytes()).is_ok());
    let saa = hss.sar(
        &sar(
            Some("alice@example.com"),
            "sip:alice@example.com",
            ServerAssignmentType::ReRegistration,
        ),
        HOMESTEAD,
    );
    assert!(
        saa.user_data
            .as_deref()
            .expect("data")
            .contains("sip:new.example.com")
    );
    assert_eq!(
        saa.charging.and_then(|c| c.primary_ccf).as_deref(),
        Some("aaa://newccf.example.com")
    );
    let errors = [
        PprCommand {
            impi: "nobody".into(),
            ifc: Some(ifc.into()),
            ..Default::default()
        },
        PprCommand {
            impi: "alice@example.com".into(),
            ..Default::default()
        },
        PprCommand {
            impi: "alice@example.com".into(),
            ifc: Some("<nope/>".into()),
            ..Default::default()
        },
        PprCommand {
            impi: "alice@example.com".into(),
            impu: Some("sip:bob@example.com".into()),
            user_data: Some("<x/>".into()),
            ..Default::default()
        },
    ];
    let statuses: Vec<u16> = errors
        .iter()
        .map(|c| hss.ppr(c).map(|_| 0).unwrap_or_else(|e| e.status))
        .collect();
    assert_eq!(statuses, vec![404, 400, 400, 400]);
}

#[test]
fn handle_reads_requests_and_refuses_broken_ones() {
    let mut hss = hss();
    let request = mar(
        "alice@example.com",
        "sip:alice@example.com",
        AuthScheme::SipDigest,
    )
    .to_message(5, 6)
    .expect("encodes");
    let handled = hss.handle(&request, HOMESTEAD, &mut rng());
    assert_eq!(handled.result_code, 2001);
    let maa = Maa::from_message(&handled.answer).expect("MAA");
    assert_eq!(handled.answer.header().hop_by_hop, 5);
    assert_eq!(maa.auth_data.len(), 1);

    // A MAR without SIP-Number-Auth-Items: 5005 with the Cx answer shape.
    let broken = MessageBuilder::request(app::CX, cmd::MULTIMEDIA_AUTH)
        .avp_str(avp::SESSION_ID, "x;1;2")
        .avp_str(avp::ORIGIN_HOST, HOMESTEAD)
        .avp_str(avp::ORIGIN_REALM, "example.com")
        .avp_str(avp::DESTINATION_REALM, "example.com")
        .avp_str(avp::USER_NAME, "alice@example.com")
        .avp_str(avp::PUBLIC_IDENTITY, "sip:alice@example.com")
        .grouped(avp::SIP_AUTH_DATA_ITEM, |g| {
            g.avp_str(avp::SIP_AUTHENTICATION_SCHEME, "SIP Digest");
        })
        .avp_str(avp::SERVER_NAME, SCSCF)
        .finish()
        .expect("encodes");
    let handled = hss.handle(&broken, HOMESTEAD, &mut rng());
    assert_eq!(handled.result_code, result::MISSING_AVP);
    let maa = Maa::from_message(&handled.answer).expect("readable");
    assert_eq!(maa.result, CxResult::Base(result::MISSING_AVP));

    // Injected errors: 3xxx with the 'E' bit, 3GPP codes as Experimental-Result.
    let busy = injected_answer(&request, CxResult::Base(3004), hss.origin());
    assert!(busy.header().is_error());
    assert_eq!(
        busy.result_code().expect("readable"),
        Some(hearth_core::diameter::ResultCode::Base(3004))
    );
    let unknown = injected_answer(&request, tgpp(5001), hss.origin());
    assert_eq!(Maa::from_message(&unknown).expect("MAA").result, tgpp(5001));
}
