//! Criterion benches of Hearth's per-request crypto, each in elements per second:
//!
//! - `milenage`: authentication vectors with a cached per-subscriber [`Milenage`] context versus a
//!   context built for every vector (`new` from K and OPc: one AES key expansion; `with_op` from K
//!   and OP: key expansion plus the OPc encryption);
//! - `digest`: a server's check of a `qop=auth` digest response from a stored HA1 (RFC 2617 §3.5's
//!   MD5 request and RFC 7616 §3.9.1's SHA-256 one): HA1 decoded from its stored hex, HA2, the
//!   expected response and its constant-time comparison with the received one;
//! - `kdf`: the GBA key derivation `Ks_NAF = KDF(Ks, "gba-me", RAND, IMPI, NAF_Id)`.
//!
//! Inputs are 3GPP TS 35.208 test set 1 with RAND and SQN varied per iteration (see the
//! `hearth_bench` crate docs), so no result can be hoisted out of the loop.
//!
//! Short runs on a shared machine: `cargo bench -p hearth-bench -- --warm-up-time 1
//! --measurement-time 3`.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use hearth_bench::{TS1_AMF, TS1_K, TS1_OP, TS1_OPC, rand_for, sqn_for};
use hearth_core::crypto::aka::generate_vector_with_rand;
use hearth_core::crypto::digest::{DigestAlgorithm, Qop, ha1, ha1_from_stored, ha2, response};
use hearth_core::crypto::gba::{NafId, UaProtocolId, ks_from_ck_ik, ks_naf};
use hearth_core::crypto::milenage::Milenage;

fn milenage(c: &mut Criterion) {
    let mut group = c.benchmark_group("milenage");
    group.throughput(Throughput::Elements(1));

    let context = Milenage::new(&TS1_K, &TS1_OPC);
    group.bench_function("cached/f1_f2345", |b| {
        let mut index = 0u64;
        b.iter(|| {
            index = index.wrapping_add(1);
            context.f1_f2345(&rand_for(index), &sqn_for(index), &TS1_AMF)
        })
    });
    group.bench_function("cached/generate_vector_with_rand", |b| {
        let mut index = 0u64;
        b.iter(|| {
            index = index.wrapping_add(1);
            generate_vector_with_rand(&context, rand_for(index), sqn_for(index), TS1_AMF)
        })
    });
    group.bench_function("fresh_new/generate_vector_with_rand", |b| {
        let mut index = 0u64;
        b.iter(|| {
            index = index.wrapping_add(1);
            let context = Milenage::new(black_box(&TS1_K), black_box(&TS1_OPC));
            generate_vector_with_rand(&context, rand_for(index), sqn_for(index), TS1_AMF)
        })
    });
    group.bench_function("fresh_with_op/generate_vector_with_rand", |b| {
        let mut index = 0u64;
        b.iter(|| {
            index = index.wrapping_add(1);
            let context = Milenage::with_op(black_box(&TS1_K), black_box(&TS1_OP));
            generate_vector_with_rand(&context, rand_for(index), sqn_for(index), TS1_AMF)
        })
    });
    group.finish();
}

/// One digest request as the server sees it (user Mufasa, method GET, nc 00000001).
struct DigestRequest {
    algorithm: DigestAlgorithm,
    stored_ha1: String,
    nonce: &'static str,
    cnonce: &'static str,
    uri: &'static str,
    received_response: &'static str,
}

impl DigestRequest {
    /// What a server does per request once it has the user's stored HA1: recompute the response
    /// and compare it with the received one in constant time.
    fn check(&self) -> bool {
        let Ok(ha1) = ha1_from_stored(
            self.algorithm,
            black_box(&self.stored_ha1),
            black_box(self.nonce),
            black_box(self.cnonce),
        ) else {
            return false;
        };
        let ha2 = ha2(
            self.algorithm,
            Some(Qop::Auth),
            black_box("GET"),
            black_box(self.uri),
            b"",
        );
        response(
            self.algorithm,
            ha1.as_hex(),
            black_box(self.nonce),
            black_box("00000001"),
            black_box(self.cnonce),
            Some(Qop::Auth),
            ha2.as_hex(),
        )
        .matches_hex(black_box(self.received_response))
    }
}

fn digest(c: &mut Criterion) {
    let mut group = c.benchmark_group("digest");
    group.throughput(Throughput::Elements(1));

    // RFC 2617 §3.5; the stored HA1 is MD5("Mufasa:testrealm@host.com:Circle Of Life").
    let md5 = DigestRequest {
        algorithm: DigestAlgorithm::Md5,
        stored_ha1: "939e7578ed9e3c518a452acee763bce9".to_owned(),
        nonce: "dcd98b7102dd2f0e8b11d0f600bfb0c093",
        cnonce: "0a4f113b",
        uri: "/dir/index.html",
        received_response: "6629fae49393a05397450978507c4ef1",
    };
    // RFC 7616 §3.9.1 (password with a small "of", erratum 4495); HA1 stored as a server would.
    let sha256 = DigestRequest {
        algorithm: DigestAlgorithm::Sha256,
        stored_ha1: ha1(
            DigestAlgorithm::Sha256,
            "Mufasa",
            "http-auth@example.org",
            b"Circle of Life",
            "",
            "",
        )
        .as_hex()
        .to_owned(),
        nonce: "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v",
        cnonce: "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ",
        uri: "/dir/index.html",
        received_response: "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1",
    };
    // Time only computations that give the RFCs' answers.
    assert!(md5.check(), "RFC 2617 §3.5 response not reproduced");
    assert!(sha256.check(), "RFC 7616 §3.9.1 response not reproduced");

    group.bench_function("md5_auth_from_stored_ha1", |b| b.iter(|| md5.check()));
    group.bench_function("sha256_auth_from_stored_ha1", |b| b.iter(|| sha256.check()));
    group.finish();
}

fn kdf(c: &mut Criterion) {
    let mut group = c.benchmark_group("kdf");
    group.throughput(Throughput::Elements(1));

    let context = Milenage::new(&TS1_K, &TS1_OPC);
    let vector = generate_vector_with_rand(&context, rand_for(0), sqn_for(0), TS1_AMF);
    let ks = ks_from_ck_ik(&vector.ck, &vector.ik);
    let impi = "user1_public@ims.mnc001.mcc001.3gppnetwork.org";
    let Ok(naf_id) = NafId::new(
        "naf.ims.mnc001.mcc001.3gppnetwork.org",
        UaProtocolId::HTTP_DIGEST,
    ) else {
        panic!("the bench's NAF_Id is a valid FQDN and protocol");
    };
    group.bench_function("ks_naf", |b| {
        let mut index = 0u64;
        b.iter(|| {
            index = index.wrapping_add(1);
            ks_naf(&ks, &rand_for(index), black_box(impi), &naf_id)
        })
    });
    group.finish();
}

criterion_group!(benches, milenage, digest, kdf);
criterion_main!(benches);
