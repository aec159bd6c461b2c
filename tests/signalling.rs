//! The signalling API (Homestead, seed 003) without an HSS, driven over HTTP against the real binary
//! with 2 shards. Identities are chosen so that they are owned by both shards: whichever shard the
//! client's connection lands on, some requests are served locally and some are forwarded to the
//! other shard, and provisioning writes must invalidate caches on the other shard.
//!
//! AKA answers are checked the way a UE checks a challenge: MAC-A, the keys, and SQN freshness
//! with a simulated USIM (TS 33.102 Annex C); resynchronisation uses an AUTS built like a USIM
//! builds it.

mod common;

use std::hash::Hasher;
use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use common::{Answer, IFC_XML, Server, data_dir, enc, provision, public_identity_xml};
use hearth_core::crypto::aka::{self, SqnPolicy, UsimSqnState};
use hearth_core::crypto::milenage::Milenage;
use hearth_core::xml::reg_data::{RegDataDoc, RegistrationState, parse_clearwater_reg_data};
use serde_json::json;

const HA1: &str = "0123456789abcdef0123456789abcdef";
const HA1_NEW: &str = "fedcba9876543210fedcba9876543210";
const SCSCF: &str = "sip:scscf.test.example.com:5054;transport=TCP";

// TS 35.208 test set 1.
const K: &str = "465b5ce8b199b49faa5f0a2ee238a6bc";
const OP: &str = "cdc202d5123e20f62b6d676ac72cb318";
const OPC: &str = "cd63cb71954a9f4e48a5994e37a02baf";
const AMF: [u8; 2] = [0xb9, 0xb9];
// TS 35.208 test set 2.
const K2: &str = "0396eb317b6d1c36f19c1c84cd6ffd16";
const OP2: &str = "ff53bade17df5d4e793073ce9d7579fa";
/// The SQN provisioned as the last one used.
const SQN_START: u64 = 0x20;

const SHARDS: usize = 2;

// ------------------------------------------------------------------ helpers

/// The shard owning `key`, a copy of `engine::route::owner_shard` (SipHash with the server's fixed
/// keys; the binary exposes no library to call). Only used to pick identities that land on both
/// shards: if the server's mapping changes, keep this in step, or the tests still pass but may
/// exercise one shard's cache where two were meant.
fn owner(key: &str) -> usize {
    #[allow(deprecated)]
    let mut hasher = std::hash::SipHasher::new_with_keys(0x4845_4152_5448, 0x0053_4841_5244);
    hasher.write(key.as_bytes());
    (hasher.finish() % SHARDS as u64) as usize
}

/// The first identity `make(n)` (n = 0, 1, ...) owned by `shard`, skipping those in `taken`.
fn on_shard(shard: usize, taken: &[String], make: impl Fn(u32) -> String) -> String {
    (0..10_000)
        .map(make)
        .find(|id| owner(id) == shard && !taken.contains(id))
        .expect("an identity on the shard")
}

fn start(dir: &Path) -> Server {
    Server::start_with(dir, SHARDS, &["--scscf-uri", SCSCF])
}

/// One provisioned subscriber.
struct Sub {
    impi: String,
    impus: Vec<String>,
    irs: String,
    sp: String,
}

impl Sub {
    fn sp_url(&self) -> String {
        format!("/irs/{}/service_profiles/{}", self.irs, self.sp)
    }
}

/// Provisions `impi` with `impus` in one IRS and one service profile (with an iFC), as Ellis does.
fn subscriber(s: &Server, impi: &str, impus: &[&str]) -> Sub {
    let sub = provision(s, impi, impus, HA1);
    Sub {
        impi: impi.to_string(),
        impus: impus.iter().map(|i| i.to_string()).collect(),
        irs: sub.irs,
        sp: sub.sp,
    }
}

/// Four subscribers whose IMPIs and IMPUs are spread over both shards: IMPI i is owned by shard
/// i % 2, its IMPU by the other shard.
fn spread_subscribers(s: &Server, tag: &str) -> Vec<Sub> {
    let mut taken = Vec::new();
    let mut subs = Vec::new();
    for i in 0..4 {
        let impi = on_shard(i % SHARDS, &taken, |n| format!("{tag}{n}@example.com"));
        taken.push(impi.clone());
        let impu = on_shard((i + 1) % SHARDS, &taken, |n| {
            format!("sip:{tag}-pub{n}@example.com")
        });
        taken.push(impu.clone());
        subs.push(subscriber(s, &impi, &[&impu]));
    }
    subs
}

fn put_private(s: &Server, impi: &str, body: &str) {
    let r = s.prov(
        "PUT",
        &format!("/private/{}", enc(impi)),
        Some(("application/json", body)),
    );
    assert_eq!(r.status, 200, "PUT private {body}: {}", r.body);
}

fn aka_body(secret: &str, sqn: u64) -> String {
    format!(
        r#"{{"k":"{K}",{secret},"amf":"{}","sqn":"{sqn:012x}"}}"#,
        hex::encode(AMF)
    )
}

fn get(s: &Server, path: &str) -> Answer {
    s.sig("GET", path, None)
}

fn assert_json(r: &Answer, status: u16, expected: serde_json::Value) {
    assert_eq!(r.status, status, "{}", r.body);
    assert!(
        r.content_type
            .as_deref()
            .is_some_and(|c| c.starts_with("application/json")),
        "content type {:?}",
        r.content_type
    );
    assert_eq!(r.json(), expected);
}

/// A UE with a USIM holding test set 1's K and OP.
struct Ue {
    milenage: Milenage,
    usim: UsimSqnState,
    last_sqn: u64,
}

fn policy() -> SqnPolicy {
    SqnPolicy::new(SqnPolicy::DEFAULT_IND_BITS, SqnPolicy::DEFAULT_DELTA).unwrap()
}

impl Ue {
    fn new() -> Ue {
        Ue {
            milenage: Milenage::with_op(&key(K), &key(OP)),
            usim: UsimSqnState::new(policy()),
            last_sqn: SQN_START,
        }
    }

    /// Checks an AKA answer as a UE checks the challenge and accepts its SQN, which must be above
    /// the last one. Returns RAND and the SQN.
    fn take(&mut self, r: &Answer, version: u64) -> ([u8; 16], u64) {
        let (rand, sqn) = check_aka_answer(&self.milenage, r, version);
        assert!(
            sqn > self.last_sqn,
            "SQN {sqn:#x} not above {:#x}",
            self.last_sqn
        );
        self.usim
            .accept(sqn)
            .unwrap_or_else(|e| panic!("USIM refuses SQN {sqn:#x}: {e:?}"));
        self.last_sqn = sqn;
        (rand, sqn)
    }

    /// `base64(RAND || AUTS)` reporting `sqn_ms`, for the challenge with `rand`; the USIM now
    /// stands at `sqn_ms`.
    fn resync(&mut self, rand: &[u8; 16], sqn_ms: u64) -> String {
        let auts = aka::build_auts(&self.milenage, rand, aka::sqn_to_bytes(sqn_ms).unwrap());
        self.usim = UsimSqnState::starting_at(policy(), sqn_ms).unwrap();
        self.last_sqn = sqn_ms;
        resync_auth(rand, &auts)
    }
}

/// Checks an AKA answer the way a UE checks the challenge (MAC-A, AMF) and the P-CSCF uses the
/// keys (RES, CK, IK in both encodings). Returns RAND and the SQN the challenge carries.
fn check_aka_answer(m: &Milenage, r: &Answer, version: u64) -> ([u8; 16], u64) {
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        r.content_type
            .as_deref()
            .is_some_and(|c| c.starts_with("application/json")),
        "content type {:?}",
        r.content_type
    );
    let v = r.json();
    assert_eq!(v.as_object().expect("object").len(), 1, "{v}");
    let a = v["aka"]
        .as_object()
        .unwrap_or_else(|| panic!("no aka object: {v}"));
    let mut fields: Vec<&str> = a.keys().map(String::as_str).collect();
    fields.sort_unstable();
    assert_eq!(
        fields,
        [
            "challenge",
            "crypt_key",
            "cryptkey",
            "integrity_key",
            "integritykey",
            "response",
            "version"
        ]
    );
    assert_eq!(a["version"], json!(version));
    let challenge = B64
        .decode(a["challenge"].as_str().unwrap())
        .expect("challenge is base64");
    assert_eq!(challenge.len(), 32, "challenge is RAND || AUTN");
    let rand: [u8; 16] = challenge[..16].try_into().unwrap();
    let autn: [u8; 16] = challenge[16..].try_into().unwrap();
    let ue = aka::check_autn(m, &rand, &autn).expect("MAC-A verifies");
    assert_eq!(ue.amf, AMF);
    assert_eq!(a["response"], json!(hex::encode(ue.res)), "XRES = RES");
    assert_eq!(a["crypt_key"], json!(B64.encode(ue.ck)));
    assert_eq!(a["integrity_key"], json!(B64.encode(ue.ik)));
    assert_eq!(a["cryptkey"], json!(hex::encode(ue.ck)));
    assert_eq!(a["integritykey"], json!(hex::encode(ue.ik)));
    (rand, aka::sqn_from_bytes(&ue.sqn))
}

fn resync_auth(rand: &[u8; 16], auts: &[u8]) -> String {
    let mut bytes = rand.to_vec();
    bytes.extend_from_slice(auts);
    B64.encode(bytes)
}

fn key(text: &str) -> [u8; 16] {
    hex::decode(text).unwrap().try_into().unwrap()
}

/// A reg-data request; the XML answer parsed when the status is 200.
fn reg_data(
    s: &Server,
    method: &str,
    impu: &str,
    query: &str,
    body: Option<&str>,
) -> (u16, Option<RegDataDoc>, String) {
    let r = s.sig(
        method,
        &format!("/impu/{}/reg-data{query}", enc(impu)),
        body.map(|b| ("application/json", b)),
    );
    let doc = (r.status == 200).then(|| {
        assert!(
            r.content_type.as_deref().is_some_and(|c| c.contains("xml")),
            "content type {:?}",
            r.content_type
        );
        parse_clearwater_reg_data(r.body.as_bytes())
            .unwrap_or_else(|e| panic!("reg-data answer does not parse ({e}): {}", r.body))
    });
    (r.status, doc, r.body)
}

/// A successful reg-data PUT of `reqtype`.
fn put_reg(s: &Server, impu: &str, query: &str, reqtype: &str) -> RegDataDoc {
    let body = format!(r#"{{"reqtype":"{reqtype}"}}"#);
    let (status, doc, text) = reg_data(s, "PUT", impu, query, Some(&body));
    assert_eq!(status, 200, "{reqtype} on {impu}: {text}");
    doc.unwrap()
}

fn get_reg(s: &Server, impu: &str) -> RegDataDoc {
    let (status, doc, text) = reg_data(s, "GET", impu, "", None);
    assert_eq!(status, 200, "GET reg-data {impu}: {text}");
    doc.unwrap()
}

use RegistrationState::{NotRegistered, Registered, Unregistered};

// ------------------------------------------------------------------ /impi/<id>/av: digest

#[test]
fn digest_vectors_and_identity_checks() {
    let dir = data_dir();
    let s = start(dir.path());
    let subs = spread_subscribers(&s, "dig");
    for (i, sub) in subs.iter().enumerate() {
        let impi = enc(&sub.impi);
        let impu = enc(&sub.impus[0]);
        let digest = json!({"digest": {"ha1": HA1, "qop": "auth", "realm": "example.com"}});
        // Bare /av chooses digest for an IMPI with a password; with and without impu.
        for path in [
            format!("/impi/{impi}/av"),
            format!("/impi/{impi}/av?impu={impu}"),
            format!("/impi/{impi}/av/digest"),
            format!("/impi/{impi}/av/digest?impu={impu}"),
        ] {
            assert_json(&get(&s, &path), 200, digest.clone());
        }
        // An IMPU of another subscriber, or one nobody has: 404, on every /av form.
        let other = enc(&subs[(i + 1) % subs.len()].impus[0]);
        let unknown = enc("sip:nobody@example.com");
        for suffix in ["av", "av/digest", "av/aka", "av/aka2"] {
            for impu in [&other, &unknown] {
                let r = get(&s, &format!("/impi/{impi}/{suffix}?impu={impu}"));
                assert_eq!(r.status, 404, "{suffix} with impu {impu}: {}", r.body);
            }
        }
        // Digest-only IMPI: no AKA vectors.
        for suffix in ["av/aka", "av/aka2"] {
            assert_eq!(
                get(&s, &format!("/impi/{impi}/{suffix}")).status,
                404,
                "{suffix}"
            );
            assert_eq!(
                get(&s, &format!("/impi/{impi}/{suffix}?impu={impu}")).status,
                404
            );
        }
        // Only GET.
        for method in ["POST", "PUT", "DELETE"] {
            for suffix in ["av", "av/digest", "av/aka", "av/aka2"] {
                let r = s.sig(method, &format!("/impi/{impi}/{suffix}"), None);
                assert_eq!(r.status, 405, "{method} {suffix}");
            }
        }
    }
    // Unknown IMPI (on both shards).
    for shard in 0..SHARDS {
        let impi = enc(&on_shard(shard, &[], |n| format!("ghost{n}@example.com")));
        for suffix in ["av", "av/digest", "av/aka", "av/aka2"] {
            assert_eq!(
                get(&s, &format!("/impi/{impi}/{suffix}")).status,
                404,
                "{suffix}"
            );
            let r = get(
                &s,
                &format!("/impi/{impi}/{suffix}?impu={}", enc(&subs[0].impus[0])),
            );
            assert_eq!(r.status, 404);
        }
    }
    // A realm of the IMPI's own is reported.
    put_private(
        &s,
        &subs[1].impi,
        &format!(r#"{{"digest_ha1":"{HA1}","realm":"other.net"}}"#),
    );
    assert_json(
        &get(&s, &format!("/impi/{}/av/digest", enc(&subs[1].impi))),
        200,
        json!({"digest": {"ha1": HA1, "qop": "auth", "realm": "other.net"}}),
    );
}

// ------------------------------------------------------------------ /impi/<id>/av: AKA

/// Provisions AKA credentials (with OP for the first subscriber, OPc for the second, keeping the
/// digest password) on two subscribers owned by different shards.
fn aka_subscribers(s: &Server) -> Vec<Sub> {
    let subs: Vec<Sub> = spread_subscribers(s, "aka").into_iter().take(2).collect();
    for (i, sub) in subs.iter().enumerate() {
        let secret = if i == 0 {
            format!(r#""op":"{OP}""#)
        } else {
            format!(r#""opc":"{OPC}""#)
        };
        put_private(
            s,
            &sub.impi,
            &format!(
                r#"{{"digest_ha1":"{HA1}","aka":{}}}"#,
                aka_body(&secret, SQN_START)
            ),
        );
    }
    subs
}

#[test]
fn aka_vectors_verify_like_a_ue_and_resync() {
    let dir = data_dir();
    let s = start(dir.path());
    let subs = aka_subscribers(&s);
    assert_ne!(owner(&subs[0].impi), owner(&subs[1].impi));
    for sub in &subs {
        let impi = enc(&sub.impi);
        let impu = enc(&sub.impus[0]);
        let mut ue = Ue::new();
        // More vectors than one reserved SQN block (32), from both endpoints and both versions,
        // with and without impu.
        let mut rand = [0u8; 16];
        for n in 0..40 {
            let (path, version) = match n % 4 {
                0 => (format!("/impi/{impi}/av/aka"), 1),
                1 => (format!("/impi/{impi}/av/aka?impu={impu}"), 1),
                2 => (format!("/impi/{impi}/av/aka2"), 2),
                _ => (format!("/impi/{impi}/av/aka2?impu={impu}"), 2),
            };
            (rand, _) = ue.take(&get(&s, &path), version);
        }
        // Bare /av still chooses digest: the IMPI has a password too.
        let r = get(&s, &format!("/impi/{impi}/av"));
        assert!(r.json()["digest"].is_object(), "{}", r.body);

        // Resynchronisation, the way Sprout sends it: the USIM is far ahead.
        let sqn_ms = (1_000_000 << SqnPolicy::DEFAULT_IND_BITS) | 7;
        let resync = ue.resync(&rand, sqn_ms);
        let r = get(
            &s,
            &format!(
                "/impi/{impi}/av/aka?impu={impu}&resync-auth={}",
                enc(&resync)
            ),
        );
        let (_, sqn) = ue.take(&r, 1);
        assert!(sqn > sqn_ms);
        // Following vectors go on from there.
        ue.take(&get(&s, &format!("/impi/{impi}/av/aka2")), 2);
        let (rand, _) = ue.take(&get(&s, &format!("/impi/{impi}/av/aka")), 1);

        // The API document's spelling, autn=, on aka2.
        let sqn_ms = (3_000_000 << SqnPolicy::DEFAULT_IND_BITS) | 30;
        let resync = ue.resync(&rand, sqn_ms);
        let r = get(&s, &format!("/impi/{impi}/av/aka2?autn={}", enc(&resync)));
        let (rand, sqn) = ue.take(&r, 2);
        assert!(sqn > sqn_ms);

        // A USIM far behind the network (e.g. the network's SQN went beyond the USIM's Δ): the
        // network starts again just after SQN_MS, and the USIM accepts the next challenges.
        let sqn_ms = (1_000 << SqnPolicy::DEFAULT_IND_BITS) | 2;
        assert!(sqn_ms < sqn);
        let resync = ue.resync(&rand, sqn_ms);
        let r = get(
            &s,
            &format!("/impi/{impi}/av/aka?resync-auth={}", enc(&resync)),
        );
        let (_, next) = ue.take(&r, 1);
        assert!(
            next > sqn_ms && next < sqn,
            "restarted after SQN_MS: {next:#x}"
        );
        let (rand, sqn) = ue.take(&get(&s, &format!("/impi/{impi}/av/aka")), 1);

        // A forged AUTS (one bit flipped in MAC-S, or in the concealed SQN): 403, and the SQN
        // state is untouched.
        let genuine = aka::build_auts(
            &ue.milenage,
            &rand,
            aka::sqn_to_bytes(sqn + (1 << 20)).unwrap(),
        );
        for flip in [13usize, 0] {
            let mut auts = genuine;
            auts[flip] ^= 0x01;
            let r = get(
                &s,
                &format!(
                    "/impi/{impi}/av/aka?resync-auth={}",
                    enc(&resync_auth(&rand, &auts))
                ),
            );
            assert_eq!(r.status, 403, "flipped byte {flip}: {}", r.body);
        }
        // AUTS made with another key: 403.
        let stranger = Milenage::new(&[7u8; 16], &[9u8; 16]);
        let auts = aka::build_auts(&stranger, &rand, aka::sqn_to_bytes(sqn + 5).unwrap());
        let r = get(
            &s,
            &format!(
                "/impi/{impi}/av/aka?autn={}",
                enc(&resync_auth(&rand, &auts))
            ),
        );
        assert_eq!(r.status, 403, "{}", r.body);
        // Malformed values: not base64, too short, too long, empty.
        for bad in [
            "not base64!".to_string(),
            B64.encode([1u8; 29]),
            B64.encode([1u8; 31]),
            B64.encode([1u8; 200]),
            String::new(),
        ] {
            for name in ["resync-auth", "autn"] {
                let r = get(&s, &format!("/impi/{impi}/av/aka?{name}={}", enc(&bad)));
                assert_eq!(r.status, 400, "{name}={bad:?}: {}", r.body);
            }
        }
        // None of the refused resyncs moved the SQN back: the USIM still accepts the next one.
        ue.take(&get(&s, &format!("/impi/{impi}/av/aka")), 1);
    }
}

#[test]
fn concurrent_aka_vectors_never_share_an_sqn() {
    let dir = data_dir();
    let s = start(dir.path());
    let subs = aka_subscribers(&s);
    let milenage = Milenage::with_op(&key(K), &key(OP));
    // Several connections at once (the kernel spreads them over both shards), each asking for
    // vectors of both IMPIs.
    let got: Vec<(usize, u64)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..4)
            .map(|t| {
                let (s, subs, milenage) = (&s, &subs, &milenage);
                scope.spawn(move || {
                    (0..25)
                        .map(|n| {
                            let which = (t + n) % 2;
                            let r = get(s, &format!("/impi/{}/av/aka", enc(&subs[which].impi)));
                            (which, check_aka_answer(milenage, &r, 1).1)
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().unwrap())
            .collect()
    });
    for (which, sub) in subs.iter().enumerate() {
        let mut sqns: Vec<u64> = got
            .iter()
            .filter(|(w, _)| *w == which)
            .map(|(_, q)| *q)
            .collect();
        let count = sqns.len();
        sqns.sort_unstable();
        sqns.dedup();
        assert_eq!(
            sqns.len(),
            count,
            "an SQN was issued twice for {}",
            sub.impi
        );
        assert!(sqns[0] > SQN_START);
        // The next one is above all of them.
        let r = get(&s, &format!("/impi/{}/av/aka", enc(&sub.impi)));
        let (_, next) = check_aka_answer(&milenage, &r, 1);
        assert!(next > *sqns.last().unwrap());
    }
}

#[test]
fn aka_only_private_ids_and_removal() {
    let dir = data_dir();
    let s = start(dir.path());
    let subs: Vec<Sub> = spread_subscribers(&s, "akaonly")
        .into_iter()
        .take(2)
        .collect();
    for sub in &subs {
        let impi = enc(&sub.impi);
        let impu = enc(&sub.impus[0]);
        // Only "aka": no password at all.
        put_private(
            &s,
            &sub.impi,
            &format!(
                r#"{{"aka":{}}}"#,
                aka_body(&format!(r#""opc":"{OPC}""#), SQN_START)
            ),
        );
        let got = s.prov("GET", &format!("/private/{impi}"), None);
        assert_eq!(got.status, 200);
        assert!(!got.body.contains(K), "K is never echoed: {}", got.body);
        let mut ue = Ue::new();
        // Bare /av chooses AKA (version 1), with and without impu.
        ue.take(&get(&s, &format!("/impi/{impi}/av")), 1);
        ue.take(&get(&s, &format!("/impi/{impi}/av?impu={impu}")), 1);
        ue.take(&get(&s, &format!("/impi/{impi}/av/aka?impu={impu}")), 1);
        ue.take(&get(&s, &format!("/impi/{impi}/av/aka2")), 2);
        // No digest credentials.
        assert_eq!(get(&s, &format!("/impi/{impi}/av/digest")).status, 404);
        assert_eq!(
            get(&s, &format!("/impi/{impi}/av/digest?impu={impu}")).status,
            404
        );
        assert_eq!(get(&s, &format!("/impi/{impi}/digest")).status, 404);
        // The IMPU check still applies.
        let r = get(
            &s,
            &format!("/impi/{impi}/av?impu={}", enc("sip:nobody@example.com")),
        );
        assert_eq!(r.status, 404);

        // A password change without "aka" (what Ellis sends) keeps the AKA credentials.
        put_private(&s, &sub.impi, &format!(r#"{{"digest_ha1":"{HA1}"}}"#));
        assert_json(
            &get(&s, &format!("/impi/{impi}/av")),
            200,
            json!({"digest": {"ha1": HA1, "qop": "auth", "realm": "example.com"}}),
        );
        ue.take(&get(&s, &format!("/impi/{impi}/av/aka")), 1);

        // New AKA credentials (TS 35.208 test set 2, another key, so the SQN may start over; no
        // "sqn", so the default 0): the next vector is made with them, on whichever shard owns
        // the IMPI, and a fresh USIM accepts it (no SEQ 0, TS 33.102 C.2.2).
        put_private(
            &s,
            &sub.impi,
            &format!(
                r#"{{"digest_ha1":"{HA1}","aka":{{"k":"{K2}","op":"{OP2}","amf":"{}"}}}}"#,
                hex::encode(AMF)
            ),
        );
        let mut ue2 = Ue {
            milenage: Milenage::with_op(&key(K2), &key(OP2)),
            usim: UsimSqnState::new(policy()),
            last_sqn: 0,
        };
        let r = get(&s, &format!("/impi/{impi}/av/aka"));
        let challenge = B64
            .decode(r.json()["aka"]["challenge"].as_str().unwrap())
            .unwrap();
        let (rand, autn) = (
            challenge[..16].try_into().unwrap(),
            challenge[16..].try_into().unwrap(),
        );
        assert!(
            aka::check_autn(&ue.milenage, &rand, &autn).is_err(),
            "old key no longer used"
        );
        ue2.take(&r, 1);
        ue2.take(&get(&s, &format!("/impi/{impi}/av/aka2?impu={impu}")), 2);

        // "aka": null removes them.
        put_private(
            &s,
            &sub.impi,
            &format!(r#"{{"digest_ha1":"{HA1}","aka":null}}"#),
        );
        assert_eq!(get(&s, &format!("/impi/{impi}/av/aka")).status, 404);
        assert_eq!(
            get(&s, &format!("/impi/{impi}/av/aka2?impu={impu}")).status,
            404
        );
        let r = get(&s, &format!("/impi/{impi}/av"));
        assert!(r.json()["digest"].is_object(), "{}", r.body);
    }
}

#[test]
fn aka_sqn_keeps_increasing_across_restarts() {
    let dir = data_dir();
    let mut s = start(dir.path());
    let subs = aka_subscribers(&s);
    let mut ues: Vec<Ue> = subs.iter().map(|_| Ue::new()).collect();
    let mut rands = vec![[0u8; 16]; subs.len()];
    for (sub, ue) in subs.iter().zip(&mut ues) {
        for _ in 0..3 {
            ue.take(&get(&s, &format!("/impi/{}/av/aka", enc(&sub.impi))), 1);
        }
    }
    assert!(s.terminate(), "clean shutdown");
    let mut s2 = start(dir.path());
    for ((sub, ue), rand) in subs.iter().zip(&mut ues).zip(&mut rands) {
        for _ in 0..3 {
            (*rand, _) = ue.take(&get(&s2, &format!("/impi/{}/av/aka", enc(&sub.impi))), 1);
        }
    }
    // A resynchronisation is durable too.
    let sqn_ms = (2_000_000 << SqnPolicy::DEFAULT_IND_BITS) | 3;
    for ((sub, ue), rand) in subs.iter().zip(&mut ues).zip(&rands) {
        let resync = ue.resync(rand, sqn_ms);
        let r = get(
            &s2,
            &format!(
                "/impi/{}/av/aka?resync-auth={}",
                enc(&sub.impi),
                enc(&resync)
            ),
        );
        ue.take(&r, 1);
    }
    // A crash this time: SQN reservations are on disk before any vector uses them.
    s2.kill();
    s = start(dir.path());
    for (sub, ue) in subs.iter().zip(&mut ues) {
        let (_, sqn) = ue.take(&get(&s, &format!("/impi/{}/av/aka2", enc(&sub.impi))), 2);
        assert!(sqn > sqn_ms);
    }
}

// ------------------------------------------------------------------ registration-status

#[test]
fn registration_status() {
    let dir = data_dir();
    let s = start(dir.path());
    let subs = spread_subscribers(&s, "uar");
    let ok = json!({"result-code": 2001, "scscf": SCSCF});
    for (i, sub) in subs.iter().enumerate() {
        let impi = enc(&sub.impi);
        let impu = enc(&sub.impus[0]);
        let base = format!("/impi/{impi}/registration-status");
        for query in [
            format!("?impu={impu}"),
            format!("?impu={impu}&auth-type=REG"),
            format!("?impu={impu}&auth-type=DEREG"),
            format!("?impu={impu}&auth-type=CAPAB&visited-network=visited.example.net"),
            format!("?visited-network=example.com&impu={impu}"),
        ] {
            assert_json(&get(&s, &format!("{base}{query}")), 200, ok.clone());
        }
        // Unknown IMPU: 404. An IMPU of another subscriber (both exist, not associated): 403.
        let r = get(
            &s,
            &format!("{base}?impu={}", enc("sip:nobody@example.com")),
        );
        assert_eq!(r.status, 404, "{}", r.body);
        let other = enc(&subs[(i + 1) % subs.len()].impus[0]);
        let r = get(&s, &format!("{base}?impu={other}"));
        assert_eq!(r.status, 403, "{}", r.body);
        // Missing impu, bad auth-type: 400.
        assert_eq!(get(&s, &base).status, 400);
        assert_eq!(get(&s, &format!("{base}?auth-type=REG")).status, 400);
        for bad in ["reg", "REGISTRATION", "", "CAPAB2"] {
            let r = get(&s, &format!("{base}?impu={impu}&auth-type={bad}"));
            assert_eq!(r.status, 400, "auth-type={bad}");
        }
        for method in ["POST", "PUT", "DELETE"] {
            assert_eq!(
                s.sig(method, &format!("{base}?impu={impu}"), None).status,
                405
            );
        }
    }
    // Unknown IMPI (whatever the IMPU): 404.
    for shard in 0..SHARDS {
        let impi = enc(&on_shard(shard, &[], |n| format!("ghost{n}@example.com")));
        let r = get(
            &s,
            &format!(
                "/impi/{impi}/registration-status?impu={}",
                enc(&subs[0].impus[0])
            ),
        );
        assert_eq!(r.status, 404);
    }
}

// ------------------------------------------------------------------ reg-data

/// A subscriber with two IMPUs in one IRS, owned by shards 0 and 1 (a write through one must
/// invalidate the other shard's cache), and an IMPI owned by shard 1.
fn two_impu_subscriber(s: &Server, tag: &str) -> Sub {
    let impu1 = on_shard(0, &[], |n| format!("sip:{tag}{n}@example.com"));
    let impu2 = on_shard(1, &[], |n| format!("tel:+1650555{n:04}"));
    let impi = on_shard(1, &[], |n| format!("{tag}{n}@example.com"));
    subscriber(s, &impi, &[&impu1, &impu2])
}

/// The IMSSubscription holds both IMPUs and the iFC, with `private_id` as PrivateID.
fn assert_subscription(doc: &RegDataDoc, sub: &Sub, private_id: &str, ifcs: usize) {
    let subscription = doc.subscription.as_ref().expect("IMSSubscription");
    assert_eq!(subscription.private_id.as_deref(), Some(private_id));
    assert_eq!(subscription.service_profiles.len(), 1);
    let profile = &subscription.service_profiles[0];
    let mut ids = profile.public_identities.clone();
    ids.sort();
    let mut expected = sub.impus.clone();
    expected.sort();
    assert_eq!(ids, expected);
    assert_eq!(profile.ifc_count, ifcs);
}

#[test]
fn reg_data_lifecycle_with_two_impus() {
    let dir = data_dir();
    let mut s = start(dir.path());
    let sub = two_impu_subscriber(&s, "life");
    let (impu1, impu2) = (sub.impus[0].as_str(), sub.impus[1].as_str());
    let private = format!("?private_id={}", enc(&sub.impi));

    // Never registered: NOT_REGISTERED, no previous state, the subscription with PrivateID
    // "Unspecified" (as homestead-prov builds it). Both IMPUs are read (and cached by their shards).
    for impu in [impu1, impu2] {
        let doc = get_reg(&s, impu);
        assert_eq!((doc.state, doc.previous), (NotRegistered, None));
        assert_subscription(&doc, &sub, "Unspecified", 1);
    }
    // Register through the first IMPU.
    let doc = put_reg(&s, impu1, &private, "reg");
    assert_eq!((doc.state, doc.previous), (Registered, Some(NotRegistered)));
    assert_subscription(&doc, &sub, &sub.impi, 1);
    // The second IMPU, cached on the other shard, is registered too (one IRS, one state).
    let doc = get_reg(&s, impu2);
    assert_eq!((doc.state, doc.previous), (Registered, None));
    assert_subscription(&doc, &sub, &sub.impi, 1);
    // Re-register (through the second IMPU this time, with the body's optional fields).
    let (status, doc, text) = reg_data(
        &s,
        "PUT",
        impu2,
        &private,
        Some(
            r#"{"reqtype":"reg","server_name":"sip:other-scscf.example.com","wildcard_identity":"sip:!.*!@example.com"}"#,
        ),
    );
    assert_eq!(status, 200, "{text}");
    let doc = doc.unwrap();
    assert_eq!((doc.state, doc.previous), (Registered, Some(Registered)));
    // A call while registered.
    let doc = put_reg(&s, impu1, "", "call");
    assert_eq!((doc.state, doc.previous), (Registered, Some(Registered)));
    assert_subscription(&doc, &sub, &sub.impi, 1);
    // Authentication failures change nothing and report no previous state.
    for reqtype in [
        "dereg-auth-failed",
        "dereg-auth-failure",
        "dereg-auth-timeout",
    ] {
        let doc = put_reg(&s, impu2, "", reqtype);
        assert_eq!((doc.state, doc.previous), (Registered, None), "{reqtype}");
    }
    assert_eq!(get_reg(&s, impu1).state, Registered);

    // Survives a restart.
    assert!(s.terminate(), "clean shutdown");
    s = start(dir.path());
    for impu in [impu1, impu2] {
        let doc = get_reg(&s, impu);
        assert_eq!((doc.state, doc.previous), (Registered, None));
        assert_subscription(&doc, &sub, &sub.impi, 1);
    }

    // Deregister through the second IMPU: no previous state; without an HSS both IMPUs stay
    // assigned, UNREGISTERED (seed 003), with the last private ID.
    let doc = put_reg(&s, impu2, "", "dereg-user");
    assert_eq!((doc.state, doc.previous), (Unregistered, None));
    for impu in [impu1, impu2] {
        let doc = get_reg(&s, impu);
        assert_eq!(doc.state, Unregistered);
        assert_subscription(&doc, &sub, &sub.impi, 1);
    }
    // Deregistering again (not REGISTERED): 400, no change.
    let (status, _, _) = reg_data(&s, "PUT", impu1, "", Some(r#"{"reqtype":"dereg-user"}"#));
    assert_eq!(status, 400);
    assert_eq!(get_reg(&s, impu1).state, Unregistered);

    // A call for an unregistered user: unregistered service goes on.
    let doc = put_reg(&s, impu2, "", "call");
    assert_eq!(
        (doc.state, doc.previous),
        (Unregistered, Some(Unregistered))
    );
    // Auth failures leave UNREGISTERED alone.
    for reqtype in [
        "dereg-auth-failed",
        "dereg-auth-failure",
        "dereg-auth-timeout",
    ] {
        let doc = put_reg(&s, impu1, "", reqtype);
        assert_eq!((doc.state, doc.previous), (Unregistered, None), "{reqtype}");
    }
    // Unregistered survives a crash too (a 200 means the write is on disk).
    s.kill();
    s = start(dir.path());
    assert_eq!(get_reg(&s, impu1).state, Unregistered);
    // Registering from unregistered.
    let doc = put_reg(&s, impu2, &private, "reg");
    assert_eq!((doc.state, doc.previous), (Registered, Some(Unregistered)));
    assert_eq!(get_reg(&s, impu1).state, Registered);
}

#[test]
fn reg_data_dereg_types_and_errors() {
    let dir = data_dir();
    let s = start(dir.path());
    let sub = two_impu_subscriber(&s, "dereg");
    let (impu1, impu2) = (sub.impus[0].as_str(), sub.impus[1].as_str());

    // A call for a never-registered user: NOT_REGISTERED → UNREGISTERED.
    let fresh = subscriber(
        &s,
        "fresh@example.com",
        &["sip:fresh@example.com", "sip:fresh-2@example.com"],
    );
    let doc = put_reg(&s, &fresh.impus[0], "", "call");
    assert_eq!(
        (doc.state, doc.previous),
        (Unregistered, Some(NotRegistered))
    );
    // Deregistering a never-registered user: 400.
    let (status, _, _) = reg_data(
        &s,
        "PUT",
        &fresh.impus[1],
        "",
        Some(r#"{"reqtype":"dereg-timeout"}"#),
    );
    assert_eq!(status, 400);

    // Every deregistration type from REGISTERED ends UNREGISTERED (no HSS); a second one is 400.
    for reqtype in ["dereg-user", "dereg-admin", "dereg-timeout"] {
        put_reg(&s, impu1, "", "reg");
        let doc = put_reg(&s, impu2, "", reqtype);
        assert_eq!((doc.state, doc.previous), (Unregistered, None), "{reqtype}");
        assert_eq!(get_reg(&s, impu1).state, Unregistered, "{reqtype}");
        let body = format!(r#"{{"reqtype":"{reqtype}"}}"#);
        let (status, _, text) = reg_data(&s, "PUT", impu1, "", Some(&body));
        assert_eq!(status, 400, "{reqtype} of an unregistered user: {text}");
        assert_eq!(get_reg(&s, impu2).state, Unregistered);
    }
    // Auth failures on an unregistered user: 200, nothing changes.
    for reqtype in [
        "dereg-auth-failed",
        "dereg-auth-failure",
        "dereg-auth-timeout",
    ] {
        let doc = put_reg(&s, impu1, "", reqtype);
        assert_eq!((doc.state, doc.previous), (Unregistered, None), "{reqtype}");
    }
    assert_eq!(get_reg(&s, impu2).state, Unregistered);

    // Bad bodies: 400 and no state change.
    for bad in [
        r#"{"reqtype":"register"}"#,
        r#"{"reqtype":"REG"}"#,
        r#"{"reqtype":""}"#,
        r#"{"reqtype":5}"#,
        r#"{}"#,
        r#"{"reqtype":"reg""#,
        "reqtype=reg",
        "",
        r#"{"reqtype":"reg","wildcard_identity":""}"#,
    ] {
        let (status, _, text) = reg_data(&s, "PUT", impu1, "", Some(bad));
        assert_eq!(status, 400, "{bad:?}: {text}");
        assert!(!text.is_empty(), "a reason is given for {bad:?}");
    }
    assert_eq!(get_reg(&s, impu1).state, Unregistered);

    // Unknown IMPU (on both shards): 404 for GET and PUT.
    for shard in 0..SHARDS {
        let ghost = on_shard(shard, &[], |n| format!("sip:ghost{n}@example.com"));
        assert_eq!(reg_data(&s, "GET", &ghost, "", None).0, 404);
        for reqtype in ["reg", "call", "dereg-user", "dereg-auth-failed"] {
            let body = format!(r#"{{"reqtype":"{reqtype}"}}"#);
            assert_eq!(
                reg_data(&s, "PUT", &ghost, "", Some(&body)).0,
                404,
                "{reqtype}"
            );
        }
    }
    // Methods other than GET and PUT.
    for method in ["POST", "DELETE", "PATCH"] {
        let (status, _, _) = reg_data(&s, method, impu1, "", Some(r#"{"reqtype":"reg"}"#));
        assert_eq!(status, 405, "{method}");
    }
    assert_eq!(get_reg(&s, impu1).state, Unregistered);
}

// ------------------------------------------------------------------ location, legacy, misc

#[test]
fn location_legacy_digest_ping_and_unknown_paths() {
    let dir = data_dir();
    let s = start(dir.path());
    let subs = spread_subscribers(&s, "loc");
    let ok = json!({"result-code": 2001, "scscf": SCSCF});
    for (i, sub) in subs.iter().enumerate() {
        let impi = enc(&sub.impi);
        let impu = enc(&sub.impus[0]);
        for query in [
            "",
            "?originating=true",
            "?originating=false",
            "?auth-type=CAPAB",
            "?originating=true&auth-type=CAPAB",
        ] {
            assert_json(
                &get(&s, &format!("/impu/{impu}/location{query}")),
                200,
                ok.clone(),
            );
        }
        for bad in [
            "?originating=yes",
            "?auth-type=REG",
            "?auth-type=capab",
            "?originating=true&auth-type=DEREG",
        ] {
            let r = get(&s, &format!("/impu/{impu}/location{bad}"));
            assert_eq!(r.status, 400, "{bad}");
        }
        assert_eq!(
            s.sig("POST", &format!("/impu/{impu}/location"), None)
                .status,
            405
        );

        // Legacy digest.
        let digest_ha1 = json!({"digest_ha1": HA1});
        assert_json(
            &get(&s, &format!("/impi/{impi}/digest")),
            200,
            digest_ha1.clone(),
        );
        assert_json(
            &get(&s, &format!("/impi/{impi}/digest?public_id={impu}")),
            200,
            digest_ha1,
        );
        let other = enc(&subs[(i + 1) % subs.len()].impus[0]);
        assert_eq!(
            get(&s, &format!("/impi/{impi}/digest?public_id={other}")).status,
            404
        );
        let unknown = enc("sip:nobody@example.com");
        assert_eq!(
            get(&s, &format!("/impi/{impi}/digest?public_id={unknown}")).status,
            404
        );
        assert_eq!(
            s.sig("PUT", &format!("/impi/{impi}/digest"), None).status,
            405
        );
    }
    for shard in 0..SHARDS {
        let ghost = enc(&on_shard(shard, &[], |n| {
            format!("sip:ghost{n}@example.com")
        }));
        assert_eq!(get(&s, &format!("/impu/{ghost}/location")).status, 404);
        let ghost = enc(&on_shard(shard, &[], |n| format!("ghost{n}@example.com")));
        assert_eq!(get(&s, &format!("/impi/{ghost}/digest")).status, 404);
    }

    // /ping on the signalling port.
    let r = get(&s, "/ping");
    assert_eq!((r.status, r.body.trim_end()), (200, "OK"));
    assert_eq!(s.sig("POST", "/ping", None).status, 405);
    // Unknown paths.
    let impi = enc(&subs[0].impi);
    let impu = enc(&subs[0].impus[0]);
    for path in [
        "/".to_string(),
        "/nothing".to_string(),
        format!("/impi/{impi}"),
        format!("/impi/{impi}/av/sha256"),
        format!("/impi/{impi}/av/aka/extra"),
        format!("/impu/{impu}"),
        format!("/impu/{impu}/unknown"),
        format!("/impu/{impu}/reg-data/extra"),
        // Provisioning resources do not exist on the signalling port.
        format!("/private/{impi}"),
        "/irs/".to_string(),
    ] {
        let r = get(&s, &path);
        assert_eq!(r.status, 404, "{path}: {}", r.body);
    }
}

// ------------------------------------------------------------------ provisioning → signalling

#[test]
fn provisioning_changes_are_visible_at_once() {
    let dir = data_dir();
    let s = start(dir.path());
    let subs = spread_subscribers(&s, "chg");
    let digest = |ha1: &str| json!({"digest": {"ha1": ha1, "qop": "auth", "realm": "example.com"}});
    for (i, sub) in subs.iter().enumerate() {
        let impi = enc(&sub.impi);
        let impu = enc(&sub.impus[0]);
        let av = format!("/impi/{impi}/av/digest?impu={impu}");
        let status = format!("/impi/{impi}/registration-status?impu={impu}");
        // Fill the owners' caches.
        assert_json(&get(&s, &av), 200, digest(HA1));
        assert_eq!(get(&s, &status).status, 200);
        assert_eq!(get(&s, &format!("/impu/{impu}/location")).status, 200);
        assert_eq!(
            get_reg(&s, &sub.impus[0])
                .subscription
                .unwrap()
                .service_profiles[0]
                .ifc_count,
            1
        );

        // New password: the next vector has the new HA1.
        put_private(
            &s,
            &sub.impi,
            &format!(r#"{{"digest_ha1":"{HA1_NEW}","realm":"example.com"}}"#),
        );
        assert_json(&get(&s, &av), 200, digest(HA1_NEW));
        assert_json(
            &get(&s, &format!("/impi/{impi}/digest")),
            200,
            json!({"digest_ha1": HA1_NEW}),
        );

        // A second public ID, owned by the other shard than the first: usable at once.
        let extra = on_shard(1 - owner(&sub.impus[0]), &[], |n| {
            format!("sip:chg{i}-extra{n}@example.com")
        });
        let r = s.prov(
            "PUT",
            &format!("{}/public_ids/{}", sub.sp_url(), enc(&extra)),
            Some(("application/xml", &public_identity_xml(&extra))),
        );
        assert_eq!(r.status, 200, "{}", r.body);
        assert_json(
            &get(&s, &format!("/impi/{impi}/av/digest?impu={}", enc(&extra))),
            200,
            digest(HA1_NEW),
        );
        let doc = get_reg(&s, &sub.impus[0]);
        assert_eq!(
            doc.subscription.unwrap().service_profiles[0]
                .public_identities
                .len(),
            2
        );

        // New iFCs: the reg-data of both IMPUs shows them.
        let two_ifcs = IFC_XML.replace(
            "</ServiceProfile>",
            &IFC_XML
                .trim_start_matches("<ServiceProfile>")
                .replace("<Priority>1</Priority>", "<Priority>2</Priority>"),
        );
        let r = s.prov(
            "PUT",
            &format!("{}/filter_criteria", sub.sp_url()),
            Some(("application/xml", &two_ifcs)),
        );
        assert_eq!(r.status, 200, "{}", r.body);
        for impu in [&sub.impus[0], &extra] {
            assert_eq!(
                get_reg(&s, impu).subscription.unwrap().service_profiles[0].ifc_count,
                2
            );
        }

        // Registration through one IMPU is seen by the other (different shards).
        put_reg(&s, &extra, "", "reg");
        assert_eq!(get_reg(&s, &sub.impus[0]).state, Registered);

        // Delete the first public ID: 404 everywhere for it; the other still works.
        let r = s.prov(
            "DELETE",
            &format!("{}/public_ids/{impu}", sub.sp_url()),
            None,
        );
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(get(&s, &av).status, 404);
        assert_eq!(get(&s, &status).status, 404);
        assert_eq!(get(&s, &format!("/impu/{impu}/location")).status, 404);
        assert_eq!(reg_data(&s, "GET", &sub.impus[0], "", None).0, 404);
        assert_eq!(
            get(&s, &format!("/impi/{impi}/digest?public_id={impu}")).status,
            404
        );
        let doc = get_reg(&s, &extra);
        assert_eq!(
            doc.subscription.unwrap().service_profiles[0].public_identities,
            vec![extra.clone()]
        );

        // Remove the association: the IMPI and the remaining IMPU both exist but are not
        // associated (403), and the IMPI no longer authenticates it.
        let extra_status = format!("/impi/{impi}/registration-status?impu={}", enc(&extra));
        assert_eq!(get(&s, &extra_status).status, 200);
        let r = s.prov(
            "DELETE",
            &format!(
                "/private/{impi}/associated_implicit_registration_sets/{}",
                sub.irs
            ),
            None,
        );
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(get(&s, &extra_status).status, 403);
        assert_eq!(
            get(&s, &format!("/impi/{impi}/av/digest?impu={}", enc(&extra))).status,
            404
        );
        // Still a known IMPI with a password.
        assert_json(&get(&s, &format!("/impi/{impi}/av")), 200, digest(HA1_NEW));

        // Delete the private ID: 404.
        assert_eq!(
            s.prov("DELETE", &format!("/private/{impi}"), None).status,
            200
        );
        assert_eq!(get(&s, &format!("/impi/{impi}/av")).status, 404);
        assert_eq!(get(&s, &extra_status).status, 404);
    }
}
