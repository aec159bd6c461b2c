//! HSS mode end to end: the real `hearth serve` in front of the real `hearth hss-sim` over
//! Diameter Cx, with a stand-in SIP core receiving the RTR and PPR notifications. Every
//! signalling endpoint, AKA resynchronisation, wildcarded identities, the negative cache, RTR and
//! PPR, an HSS that answers late, and the loss of one of two HSS peers.

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use common::sim::{Sim, SipCore};
use common::{Answer, Server, data_dir, enc};
use hearth_core::crypto::aka::{self, SqnPolicy};
use hearth_core::crypto::digest::{self, DigestAlgorithm};
use hearth_core::crypto::milenage::Milenage;
use hearth_core::xml::reg_data::{RegDataDoc, RegistrationState, parse_clearwater_reg_data};
use serde_json::json;

const ALICE_K: &str = "465b5ce8b199b49faa5f0a2ee238a6bc";
const ALICE_OPC: &str = "cd63cb71954a9f4e48a5994e37a02baf";
const IFC: &str = "<ServiceProfile><InitialFilterCriteria><Priority>0</Priority><ApplicationServer><ServerName>sip:mmtel.example.com</ServerName><DefaultHandling>0</DefaultHandling></ApplicationServer></InitialFilterCriteria></ServiceProfile>";
const SCSCF: &str = "sip:scscf.example.com:5054;transport=TCP";

fn ha1(user: &str, realm: &str, password: &str) -> String {
    digest::ha1(
        DigestAlgorithm::Md5,
        user,
        realm,
        password.as_bytes(),
        "",
        "",
    )
    .as_hex()
    .to_owned()
}

/// The subscribers every test uses.
fn population(dir: &Path) -> PathBuf {
    let doc = json!({
        "subscribers": [
            {"impi": "alice@example.com", "password": "secret",
             "aka": {"k": ALICE_K, "opc": ALICE_OPC, "amf": "8000", "sqn": 0},
             "irs": [{"id": "alice", "service_profiles": [
                 {"impus": ["sip:alice@example.com", "tel:+15550001"], "ifc": IFC}],
                 "charging": {"ccf1": "aaa://ccf1.example.com", "ecf1": "aaa://ecf1.example.com"}}]},
            // A private identity that is not its public identity without "sip:".
            {"impi": "bob-private", "realm": "example.com", "password": "bobpw",
             "irs": [{"id": "bob", "impus": ["sip:bob@example.com"], "ifc": IFC}]},
            {"impi": "dave@example.com", "password": "x", "barred": true,
             "irs": [{"id": "dave", "impus": ["sip:dave@example.com"]}]},
            {"impi": "wild@example.com", "password": "w",
             "irs": [{"id": "wild", "impus": ["sip:wild@example.com", "sip:!user.*!@example.com"],
                      "ifc": IFC}]}
        ]
    });
    let path = dir.join("population.json");
    std::fs::File::create(&path)
        .and_then(|mut f| f.write_all(doc.to_string().as_bytes()))
        .expect("write population");
    path
}

/// Hearth in HSS mode with `shards` shards, its peers `sims`, the SIP core at `core`.
fn hearth(dir: &Path, shards: usize, sims: &[&Sim], core: &SipCore, extra_toml: &str) -> Server {
    let config = dir.join("hearth.toml");
    let peers: Vec<String> = sims.iter().map(|s| format!("\"{}\"", s.diameter)).collect();
    std::fs::write(
        &config,
        format!(
            "diameter_timeout_ms = 1000\n{extra_toml}\n[hss]\npeers = [{}]\nsip_core_url = \"http://{}\"\nnegative_cache_ttl_secs = 30\n",
            peers.join(", "),
            core.addr
        ),
    )
    .expect("write config");
    let server = Server::start_with(dir, shards, &["--config", config.to_str().unwrap()]);
    wait_connected(&server);
    server
}

/// Waits until Hearth's Diameter links are up (a MAR gets an answer, not 503).
fn wait_connected(server: &Server) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        // Ask for someone the HSS does not know, on both shards' keys: 404 means answered.
        let a = get(
            server,
            "/impi/probe%40example.com/av?impu=sip:probe@example.com",
        );
        let b = get(
            server,
            "/impi/probe2%40example.com/av?impu=sip:probe2@example.com",
        );
        if a.status == 404 && b.status == 404 {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "Hearth never reached the HSS: {} {}",
            a.status,
            a.body
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn get(s: &Server, path: &str) -> Answer {
    s.sig("GET", path, None)
}

fn put_reg(s: &Server, impu: &str, query: &str, body: serde_json::Value) -> Answer {
    s.sig(
        "PUT",
        &format!("/impu/{}/reg-data{query}", enc(impu)),
        Some(("application/json", &body.to_string())),
    )
}

fn doc(a: &Answer) -> RegDataDoc {
    assert_eq!(a.status, 200, "{}", a.body);
    parse_clearwater_reg_data(a.body.as_bytes()).expect("ClearwaterRegData")
}

fn key(text: &str) -> [u8; 16] {
    hex::decode(text).unwrap().try_into().unwrap()
}

#[test]
fn authentication_vectors_come_from_the_hss() {
    let dir = data_dir();
    let sim = Sim::start(&population(dir.path()), &[]);
    let core = SipCore::start();
    let s = hearth(dir.path(), 2, &[&sim], &core, "");

    // SIP Digest, for the bare /av (the HSS picks digest when it has a password) and /av/digest.
    let alice_ha1 = ha1("alice@example.com", "example.com", "secret");
    for path in ["av", "av/digest"] {
        let a = get(
            &s,
            &format!("/impi/alice%40example.com/{path}?impu=sip%3Aalice%40example.com"),
        );
        assert_eq!(a.status, 200, "{}", a.body);
        assert_eq!(
            a.json(),
            json!({"digest": {"ha1": alice_ha1, "qop": "auth", "realm": "example.com"}})
        );
    }
    // The legacy digest endpoint, and a private identity that is not the IMPU without sip:.
    let a = get(
        &s,
        "/impi/bob-private/digest?public_id=sip%3Abob%40example.com",
    );
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(
        a.json(),
        json!({"digest_ha1": ha1("bob-private", "example.com", "bobpw")})
    );

    // AKA v1 and v2: the challenge verifies like a USIM would, SQNs grow.
    let milenage = Milenage::new(&key(ALICE_K), &key(ALICE_OPC));
    let mut last_sqn = 0;
    let mut last_rand = [0u8; 16];
    for (path, version) in [("av/aka", 1), ("av/aka2", 2), ("av/aka", 1)] {
        let a = get(
            &s,
            &format!("/impi/alice%40example.com/{path}?impu=sip%3Aalice%40example.com"),
        );
        assert_eq!(a.status, 200, "{}", a.body);
        let v = a.json();
        assert_eq!(v["aka"]["version"], json!(version));
        let challenge = B64.decode(v["aka"]["challenge"].as_str().unwrap()).unwrap();
        let rand: [u8; 16] = challenge[..16].try_into().unwrap();
        let autn: [u8; 16] = challenge[16..].try_into().unwrap();
        let ue = aka::check_autn(&milenage, &rand, &autn).expect("MAC-A verifies");
        assert_eq!(v["aka"]["response"], json!(hex::encode(ue.res)));
        assert_eq!(v["aka"]["cryptkey"], json!(hex::encode(ue.ck)));
        assert_eq!(v["aka"]["integritykey"], json!(hex::encode(ue.ik)));
        let sqn = aka::sqn_from_bytes(&ue.sqn);
        assert!(sqn > last_sqn, "SQN {sqn:#x} after {last_sqn:#x}");
        last_sqn = sqn;
        last_rand = rand;
    }

    // Resynchronisation: the USIM is far ahead; the HSS continues after it.
    let sqn_ms = last_sqn + (1 << 20);
    let auts = aka::build_auts(&milenage, &last_rand, aka::sqn_to_bytes(sqn_ms).unwrap());
    let mut resync = last_rand.to_vec();
    resync.extend_from_slice(&auts);
    let a = get(
        &s,
        &format!(
            "/impi/alice%40example.com/av/aka?impu=sip%3Aalice%40example.com&resync-auth={}",
            enc(&B64.encode(&resync))
        ),
    );
    assert_eq!(a.status, 200, "{}", a.body);
    let challenge = B64
        .decode(a.json()["aka"]["challenge"].as_str().unwrap())
        .unwrap();
    let ue = aka::check_autn(
        &milenage,
        &challenge[..16].try_into().unwrap(),
        &challenge[16..].try_into().unwrap(),
    )
    .expect("MAC-A verifies");
    let policy = SqnPolicy::new(SqnPolicy::DEFAULT_IND_BITS, SqnPolicy::DEFAULT_DELTA).unwrap();
    let seq = |sqn: u64| sqn >> policy.ind_bits();
    assert!(
        seq(aka::sqn_from_bytes(&ue.sqn)) > seq(sqn_ms),
        "the SQN after resync follows the USIM's"
    );
    // A resync-auth that is not RAND || AUTS is the client's mistake.
    let a = get(
        &s,
        "/impi/alice%40example.com/av/aka?impu=sip%3Aalice%40example.com&resync-auth=AAAA",
    );
    assert_eq!(a.status, 400, "{}", a.body);

    // Unknown users: 404, and the second ask within the TTL does not reach the HSS.
    let before = sim.count("MAR");
    for _ in 0..3 {
        let a = get(
            &s,
            "/impi/nobody%40example.com/av?impu=sip%3Anobody%40example.com",
        );
        assert_eq!(a.status, 404, "{}", a.body);
    }
    assert_eq!(sim.count("MAR"), before + 1, "negative cache");
}

#[test]
fn registration_status_and_location() {
    let dir = data_dir();
    let sim = Sim::start(&population(dir.path()), &[]);
    let core = SipCore::start();
    let s = hearth(dir.path(), 2, &[&sim], &core, "");

    let a = get(
        &s,
        "/impi/alice%40example.com/registration-status?impu=sip%3Aalice%40example.com",
    );
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(a.json()["result-code"], json!(2001), "first registration");
    for (path, status) in [
        // Barred: 5003 → 403.
        (
            "/impi/dave%40example.com/registration-status?impu=sip%3Adave%40example.com",
            403,
        ),
        // Unknown: 5001 → 404; identities that do not match: 5002 → 404.
        (
            "/impi/nobody%40example.com/registration-status?impu=sip%3Anobody%40example.com",
            404,
        ),
        (
            "/impi/alice%40example.com/registration-status?impu=sip%3Abob%40example.com",
            404,
        ),
        (
            "/impi/alice%40example.com/registration-status?impu=sip%3Aalice%40example.com&auth-type=BOGUS",
            400,
        ),
        ("/impi/alice%40example.com/registration-status", 400),
    ] {
        let a = get(&s, path);
        assert_eq!(a.status, status, "{path}: {}", a.body);
    }

    // Location before registration: 2003 (unregistered, has services); unknown: 404.
    let a = get(&s, "/impu/sip%3Aalice%40example.com/location");
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(a.json()["result-code"], json!(2003));
    let a = get(&s, "/impu/sip%3Anobody%40example.com/location");
    assert_eq!(a.status, 404, "{}", a.body);
    let a = get(
        &s,
        "/impu/sip%3Aalice%40example.com/location?originating=maybe",
    );
    assert_eq!(a.status, 400, "{}", a.body);

    // After registration the HSS names the S-CSCF.
    let a = put_reg(
        &s,
        "sip:alice@example.com",
        "?private_id=alice%40example.com",
        json!({"reqtype": "reg"}),
    );
    doc(&a);
    let a = get(
        &s,
        "/impu/sip%3Aalice%40example.com/location?originating=true",
    );
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(a.json(), json!({"result-code": 2001, "scscf": SCSCF}));
    // With auth-type=CAPAB the HSS returns the capabilities instead.
    let a = get(
        &s,
        "/impu/sip%3Aalice%40example.com/location?auth-type=CAPAB",
    );
    assert_eq!(a.status, 200, "{}", a.body);
    let v = a.json();
    assert!(v.get("mandatory-capabilities").is_some(), "{v}");
    let a = get(
        &s,
        "/impi/alice%40example.com/registration-status?impu=sip%3Aalice%40example.com",
    );
    assert_eq!(
        a.json()["result-code"],
        json!(2002),
        "subsequent registration"
    );

    // The provisioning API is read-only with an HSS.
    let a = s.prov(
        "PUT",
        "/private/eve%40example.com",
        Some(("application/json", r#"{"digest_ha1":"00"}"#)),
    );
    assert_eq!(a.status, 405, "{}", a.body);
    assert!(a.body.contains("HSS"), "{}", a.body);

    // /metrics reports every shard's link, one family at a time.
    let m = s.prov("GET", "/metrics", None).body;
    for shard in 0..2 {
        let line = format!("hearth_diameter_link_usable{{shard=\"{shard}\"}} 1");
        assert!(m.contains(&line), "{line} in\n{m}");
    }
    let peer = format!(
        "peer=\"{}\",role=\"outgoing\",state=\"open\"}} 1",
        sim.diameter
    );
    assert_eq!(m.matches(&peer).count(), 2, "{m}");
    assert_eq!(
        m.matches("# TYPE hearth_diameter_requests_total counter")
            .count(),
        1
    );
}

#[test]
fn reg_data_follows_the_hss_and_caches_its_answers() {
    use RegistrationState::{NotRegistered, Registered, Unregistered};
    let dir = data_dir();
    let sim = Sim::start(&population(dir.path()), &[]);
    let core = SipCore::start();
    let s = hearth(
        dir.path(),
        2,
        &[&sim],
        &core,
        "hss_reregistration_time = 3600\n",
    );

    // Nothing cached yet.
    let a = get(&s, "/impu/sip%3Aalice%40example.com/reg-data");
    assert_eq!(a.status, 404, "{}", a.body);

    // Register: SAR REGISTRATION, User-Data with both IMPUs and the charging addresses.
    let sars = sim.count("SAR");
    let d = doc(&put_reg(
        &s,
        "sip:alice@example.com",
        "?private_id=alice%40example.com",
        json!({"reqtype": "reg"}),
    ));
    assert_eq!(d.state, Registered);
    assert_eq!(d.previous, Some(NotRegistered));
    let sub = d.subscription.as_ref().expect("IMSSubscription");
    assert_eq!(
        sub.service_profiles[0].public_identities,
        ["sip:alice@example.com", "tel:+15550001"]
    );
    assert_eq!(d.charging.ccfs, ["aaa://ccf1.example.com"]);
    assert_eq!(d.charging.ecfs, ["aaa://ecf1.example.com"]);
    assert_eq!(sim.count("SAR"), sars + 1);
    let view = sim.get_json("/subscriber/alice%40example.com");
    assert!(view.to_string().contains("REGISTERED"), "{view}");

    // The other IMPU of the IRS reads the same registration, from the cache.
    let d = doc(&get(&s, "/impu/tel%3A%2B15550001/reg-data"));
    assert_eq!(d.state, Registered);
    assert_eq!(d.previous, None);

    // Re-register within hss_reregistration_time: no SAR; with no-cache: RE_REGISTRATION.
    let d = doc(&put_reg(
        &s,
        "sip:alice@example.com",
        "?private_id=alice%40example.com",
        json!({"reqtype": "reg"}),
    ));
    assert_eq!((d.state, d.previous), (Registered, Some(Registered)));
    assert_eq!(sim.count("SAR"), sars + 1, "cached");
    let a = s.sig_with_headers(
        "PUT",
        "/impu/sip%3Aalice%40example.com/reg-data?private_id=alice%40example.com",
        &[("Cache-Control", "no-cache")],
        Some(("application/json", r#"{"reqtype":"reg"}"#)),
    );
    assert_eq!(doc(&a).state, Registered);
    assert_eq!(sim.count("SAR"), sars + 2, "forced RE_REGISTRATION");

    // A call to an unregistered user: SAR UNREGISTERED_USER, state UNREGISTERED; the private
    // identity is not the IMPU without sip: and need not be given.
    let d = doc(&put_reg(
        &s,
        "sip:bob@example.com",
        "",
        json!({"reqtype": "call"}),
    ));
    assert_eq!((d.state, d.previous), (Unregistered, Some(NotRegistered)));
    assert_eq!(sim.count("SAR"), sars + 3);
    // Then Bob registers with his own private identity.
    let d = doc(&put_reg(
        &s,
        "sip:bob@example.com",
        "?private_id=bob-private",
        json!({"reqtype": "reg"}),
    ));
    assert_eq!((d.state, d.previous), (Registered, Some(Unregistered)));

    // Authentication failure: a SAR, no change.
    let d = doc(&put_reg(
        &s,
        "sip:alice@example.com",
        "?private_id=alice%40example.com",
        json!({"reqtype": "dereg-auth-failed"}),
    ));
    assert_eq!(d.state, Registered);
    assert_eq!(sim.count("SAR"), sars + 5);

    // Deregister: SAR USER_DEREGISTRATION, cache dropped, HSS assignment cleared.
    let d = doc(&put_reg(
        &s,
        "sip:alice@example.com",
        "?private_id=alice%40example.com",
        json!({"reqtype": "dereg-user"}),
    ));
    assert_eq!(d.state, NotRegistered);
    let a = get(&s, "/impu/sip%3Aalice%40example.com/reg-data");
    assert_eq!(a.status, 404, "{}", a.body);
    // Deregistering again is the SIP core's mistake.
    let a = put_reg(
        &s,
        "sip:alice@example.com",
        "?private_id=alice%40example.com",
        json!({"reqtype": "dereg-user"}),
    );
    assert_eq!(a.status, 400, "{}", a.body);

    // Unknown public identity: SAR 5001 → 404, then the negative cache answers.
    let sars = sim.count("SAR");
    for _ in 0..2 {
        let a = put_reg(&s, "sip:nobody@example.com", "", json!({"reqtype": "call"}));
        assert_eq!(a.status, 404, "{}", a.body);
    }
    assert_eq!(sim.count("SAR"), sars + 1);
    // Bad bodies.
    for body in [
        r#"{"reqtype":"nap"}"#,
        "not json",
        r#"{"reqtype":"reg","x":1}"#,
    ] {
        let a = s.sig(
            "PUT",
            "/impu/sip%3Aalice%40example.com/reg-data",
            Some(("application/json", body)),
        );
        assert_eq!(a.status, 400, "{body}: {}", a.body);
    }
}

#[test]
fn wildcarded_identities_retry_with_the_hss_wildcard() {
    let dir = data_dir();
    let sim = Sim::start(&population(dir.path()), &[]);
    let core = SipCore::start();
    let s = hearth(dir.path(), 1, &[&sim], &core, "");

    // Sprout names an outdated wildcard: the HSS answers 5007 with the right one and Hearth
    // runs the reg-data request again with it.
    let sars = sim.count("SAR");
    let d = doc(&put_reg(
        &s,
        "sip:user42@example.com",
        "",
        json!({"reqtype": "call", "wildcard_identity": "sip:!old.*!@example.com"}),
    ));
    assert_eq!(d.state, RegistrationState::Unregistered);
    assert_eq!(sim.count("SAR"), sars + 2, "one 5007, one retry");
    let sub = d.subscription.expect("IMSSubscription");
    assert!(
        sub.service_profiles[0]
            .public_identities
            .iter()
            .any(|i| i == "sip:!user.*!@example.com"),
        "{sub:?}"
    );
    // The identity is cached under the name asked for.
    let d = doc(&get(&s, "/impu/sip%3Auser42%40example.com/reg-data"));
    assert_eq!(d.state, RegistrationState::Unregistered);
}

#[test]
fn rtr_and_ppr_from_the_hss_reach_the_sip_core() {
    let dir = data_dir();
    let sim = Sim::start(&population(dir.path()), &[]);
    let core = SipCore::start();
    let s = hearth(dir.path(), 2, &[&sim], &core, "");

    for (impu, impi) in [
        ("sip:alice@example.com", "alice%40example.com"),
        ("sip:bob@example.com", "bob-private"),
    ] {
        let d = doc(&put_reg(
            &s,
            impu,
            &format!("?private_id={impi}"),
            json!({"reqtype": "reg"}),
        ));
        assert_eq!(d.state, RegistrationState::Registered);
    }

    // PPR with a new iFC: the SIP core gets PUT /registrations/<default IMPU>, the cache the
    // new profile.
    let new_ifc = IFC.replace("sip:mmtel.example.com", "sip:new-as.example.com");
    let (status, ppa) = sim.post("/ppr", json!({"impi": "alice@example.com", "ifc": new_ifc}));
    assert_eq!(status, 200, "{ppa}");
    assert_eq!(ppa["result_code"], json!(2001), "{ppa}");
    let got = core.wait_for(1);
    assert_eq!(got[0].method, "PUT");
    assert_eq!(
        got[0].path,
        format!("/registrations/{}", enc("sip:alice@example.com"))
    );
    let user_data = got[0].body["user-data-xml"]
        .as_str()
        .expect("user-data-xml");
    assert!(user_data.contains("sip:new-as.example.com"), "{user_data}");
    let a = get(&s, "/impu/sip%3Aalice%40example.com/reg-data");
    assert!(a.body.contains("sip:new-as.example.com"), "{}", a.body);

    // A charging-only PPR: the cache changes, the SIP core is not told.
    let (_, ppa) = sim.post(
        "/ppr",
        json!({"impi": "alice@example.com", "charging": {"ccf1": "aaa://newccf.example.com"}}),
    );
    assert_eq!(ppa["result_code"], json!(2001), "{ppa}");
    let d = doc(&get(&s, "/impu/sip%3Aalice%40example.com/reg-data"));
    assert_eq!(d.charging.ccfs, ["aaa://newccf.example.com"]);
    assert_eq!(core.received().len(), 1);

    // The SIP core refuses: the HSS gets 5012 and the cache is kept.
    core.answer_with(500);
    let (_, rta) = sim.post(
        "/rtr",
        json!({"impis": ["bob-private"], "reason": "PERMANENT_TERMINATION"}),
    );
    assert_eq!(rta["result_code"], json!(5012), "{rta}");
    assert_eq!(
        doc(&get(&s, "/impu/sip%3Abob%40example.com/reg-data")).state,
        RegistrationState::Registered
    );

    // RTR PERMANENT_TERMINATION: DELETE /registrations?send-notifications=false naming the
    // private identity; the cache is dropped.
    core.answer_with(200);
    let (_, rta) = sim.post(
        "/rtr",
        json!({"impis": ["bob-private"], "reason": "PERMANENT_TERMINATION"}),
    );
    assert_eq!(rta["result_code"], json!(2001), "{rta}");
    let got = core.wait_for(3);
    let delete = &got[2];
    assert_eq!(delete.method, "DELETE");
    assert_eq!(delete.path, "/registrations?send-notifications=false");
    assert_eq!(
        delete.body,
        json!({"registrations": [{"primary-impu": "sip:bob@example.com", "impi": "bob-private"}]})
    );
    let a = get(&s, "/impu/sip%3Abob%40example.com/reg-data");
    assert_eq!(a.status, 404, "{}", a.body);

    // RTR SERVER_CHANGE: the UEs are to be told (send-notifications=true), no IMPI named.
    let (_, rta) = sim.post(
        "/rtr",
        json!({"impis": ["alice@example.com"], "reason": "SERVER_CHANGE"}),
    );
    assert_eq!(rta["result_code"], json!(2001), "{rta}");
    let got = core.wait_for(4);
    assert_eq!(got[3].path, "/registrations?send-notifications=true");
    assert_eq!(
        got[3].body,
        json!({"registrations": [{"primary-impu": "sip:alice@example.com"}]})
    );
    assert_eq!(
        get(&s, "/impu/tel%3A%2B15550001/reg-data").status,
        404,
        "every IMPU of the IRS is dropped"
    );
}

#[test]
fn an_hss_that_answers_late_gets_503_then_service_resumes() {
    let dir = data_dir();
    let sim = Sim::start(&population(dir.path()), &[]);
    let core = SipCore::start();
    let s = hearth(dir.path(), 1, &[&sim], &core, "");
    let path = "/impi/alice%40example.com/av/digest?impu=sip%3Aalice%40example.com";
    assert_eq!(get(&s, path).status, 200);

    // Answers later than diameter_timeout_ms (1 s here): 503, so Sprout tries elsewhere.
    let (status, _) = sim.post("/config", json!({"latency_ms": 1500}));
    assert_eq!(status, 200);
    let started = Instant::now();
    let a = get(&s, path);
    assert_eq!(a.status, 503, "{}", a.body);
    assert!(started.elapsed() < Duration::from_secs(10), "no hang");

    // The HSS speeds up again: answers come (late answers to timed-out requests are dropped).
    sim.post("/config", json!({"latency_ms": 0}));
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let a = get(&s, path);
        if a.status == 200 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "service did not resume: {}",
            a.body
        );
        std::thread::sleep(Duration::from_millis(200));
    }

    // An HSS error is mapped: 3004 TOO_BUSY → 504.
    sim.post("/config", json!({"error_rate": 1.0, "error_code": "3004"}));
    assert_eq!(get(&s, path).status, 504);
    sim.post("/config", json!({"error_rate": 0.0}));
    assert_eq!(get(&s, path).status, 200);
}

#[test]
fn losing_one_of_two_hss_peers_fails_no_request() {
    let dir = data_dir();
    let population = population(dir.path());
    let mut first = Sim::start(&population, &[]);
    let second = Sim::start(&population, &[]);
    let core = SipCore::start();
    let s = hearth(dir.path(), 2, &[&first, &second], &core, "");
    let path = "/impi/alice%40example.com/av/digest?impu=sip%3Aalice%40example.com";
    for _ in 0..20 {
        assert_eq!(get(&s, path).status, 200);
    }
    assert!(
        first.count("MAR") > 0 && second.count("MAR") > 0,
        "both peers used"
    );
    first.kill();
    for i in 0..100 {
        let a = get(&s, path);
        assert_eq!(a.status, 200, "request {i} after the peer died: {}", a.body);
    }
}
