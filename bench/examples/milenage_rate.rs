//! Milenage authentication vectors per second on one core, in the line format that
//! `bench/c/milenage_bench.c` prints, so `bench/milenage-vs-c.sh` can compare the two.
//!
//! ```text
//! milenage_rate verify        test set 1's XRES, CK, IK and AUTN, one `name=hex` per line
//! milenage_rate run [N]       for each mode: `ours <mode> <vectors/s> <checksum>`
//! ```
//!
//! Modes (every one generates the same vector sequence, see the `hearth_bench` crate docs):
//! - `cached`: one [`Milenage`] context (K's key schedule and OPc) reused for every vector, as a
//!   server does when it keeps a subscriber's context between requests;
//! - `fresh-opc`: `Milenage::new(K, OPc)` for every vector (one AES key expansion each);
//! - `fresh-op`: `Milenage::with_op(K, OP)` for every vector (key expansion plus OPc derivation).

use std::hint::black_box;
use std::process::ExitCode;
use std::time::Instant;

use hearth_bench::{Checksum, TS1_AMF, TS1_K, TS1_OP, TS1_OPC, rand_for, sqn_for};
use hearth_core::crypto::aka::{AuthVector, generate_vector_with_rand};
use hearth_core::crypto::milenage::Milenage;

/// Vectors per mode when no count is given (about a third of a second for `cached` here).
const DEFAULT_VECTORS: u64 = 5_000_000;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["verify"] => {
            verify();
            ExitCode::SUCCESS
        }
        ["run"] => {
            run(DEFAULT_VECTORS);
            ExitCode::SUCCESS
        }
        ["run", count] => match count.parse::<u64>() {
            Ok(count) if count > 0 => {
                run(count);
                ExitCode::SUCCESS
            }
            _ => usage(),
        },
        _ => usage(),
    }
}

fn usage() -> ExitCode {
    eprintln!("usage: milenage_rate verify | milenage_rate run [VECTORS>0]");
    ExitCode::from(2)
}

fn verify() {
    let context = Milenage::new(&TS1_K, &TS1_OPC);
    let vector = generate_vector_with_rand(&context, rand_for(0), sqn_for(0), TS1_AMF);
    println!("xres={}", hex::encode(vector.xres));
    println!("ck={}", hex::encode(vector.ck));
    println!("ik={}", hex::encode(vector.ik));
    println!("autn={}", hex::encode(vector.autn));
}

fn run(count: u64) {
    // Built once, before the clock starts, and reused for every vector.
    let context = Milenage::new(black_box(&TS1_K), black_box(&TS1_OPC));
    report("cached", count, |index| vector(&context, index));
    report("fresh-opc", count, |index| {
        let context = Milenage::new(black_box(&TS1_K), black_box(&TS1_OPC));
        vector(&context, index)
    });
    report("fresh-op", count, |index| {
        let context = Milenage::with_op(black_box(&TS1_K), black_box(&TS1_OP));
        vector(&context, index)
    });
}

fn vector(context: &Milenage, index: u64) -> AuthVector {
    generate_vector_with_rand(context, rand_for(index), sqn_for(index), TS1_AMF)
}

/// Times `count` vectors of one mode and prints `ours <mode> <vectors/s> <checksum>`.
fn report(mode: &str, count: u64, mut generate: impl FnMut(u64) -> AuthVector) {
    // Warm-up: first-touch of the code and the CPU feature detection, outside the clock.
    let mut checksum = Checksum::default();
    for index in 0..count.min(10_000) {
        black_box(generate(index));
    }
    let start = Instant::now();
    for index in 0..count {
        checksum.add(&generate(black_box(index)));
    }
    let seconds = start.elapsed().as_secs_f64();
    println!(
        "ours {mode} {:.0} {}",
        count as f64 / seconds,
        checksum.to_hex()
    );
}
