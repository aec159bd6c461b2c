//! Criterion benches of Hearth's per-request crypto, each in elements per second:
//!
//! - `milenage`: authentication vectors with a cached per-subscriber [`Milenage`] context versus a
//!   context built for every vector (`new` from K and OPc: one AES key expansion; `with_op` from K
//!   and OP: key expansion plus the OPc encryption);
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

criterion_group!(benches, milenage, kdf);
criterion_main!(benches);
