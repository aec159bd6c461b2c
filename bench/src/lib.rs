//! Inputs shared by the criterion benches (`benches/`) and the Milenage rate example
//! (`examples/milenage_rate.rs`) that `milenage-vs-c.sh` runs against a C Milenage.
//!
//! The vector sequence is defined here once so that the C harness (`c/milenage_bench.c`) can
//! reproduce it exactly and the script can compare checksums: vector `i` (from 0) uses the
//! subscriber of 3GPP TS 35.208 test set 1 with
//!
//! - `RAND_i` = test set 1's RAND with its last 8 octets, read as a big-endian integer, xor `i`;
//! - `SQN_i` = test set 1's SQN + `i` (48 bits; the sequence never wraps for the counts used);
//! - AMF of test set 1.
//!
//! so vector 0 is exactly test set 1.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

use hearth_core::crypto::aka::AuthVector;

/// Subscriber key K of TS 35.208 test set 1.
pub const TS1_K: [u8; 16] = 0x465b5ce8b199b49faa5f0a2ee238a6bc_u128.to_be_bytes();
/// Operator variant OP of test set 1.
pub const TS1_OP: [u8; 16] = 0xcdc202d5123e20f62b6d676ac72cb318_u128.to_be_bytes();
/// OPc of test set 1 (E_K(OP) xor OP).
pub const TS1_OPC: [u8; 16] = 0xcd63cb71954a9f4e48a5994e37a02baf_u128.to_be_bytes();
/// RAND of test set 1.
pub const TS1_RAND: [u8; 16] = 0x23553cbe9637a89d218ae64dae47bf35_u128.to_be_bytes();
/// SQN of test set 1 as an integer.
pub const TS1_SQN: u64 = 0xff9bb4d0b607;
/// AMF of test set 1.
pub const TS1_AMF: [u8; 2] = [0xb9, 0xb9];

/// Mask of a 48-bit sequence number.
const SQN_MASK: u64 = (1 << 48) - 1;

/// RAND of vector `index` of the benchmark sequence (see the crate documentation).
pub fn rand_for(index: u64) -> [u8; 16] {
    (u128::from_be_bytes(TS1_RAND) ^ u128::from(index)).to_be_bytes()
}

/// SQN of vector `index` of the benchmark sequence, as the 6 octets AUTN carries.
pub fn sqn_for(index: u64) -> [u8; 6] {
    let bytes = (TS1_SQN.wrapping_add(index) & SQN_MASK).to_be_bytes();
    [bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7]]
}

/// A running xor of every vector's AUTN, CK, IK and XRES (XRES into the first 8 octets), so that
/// the optimiser cannot drop any vector and two implementations can prove they computed the same
/// sequence. The C harness folds its vectors the same way.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Checksum([u8; 16]);

impl Checksum {
    /// Folds one vector in.
    pub fn add(&mut self, vector: &AuthVector) {
        for (index, acc) in self.0.iter_mut().enumerate() {
            let xres = vector.xres.get(index).copied().unwrap_or(0);
            *acc ^= vector.autn[index] ^ vector.ck[index] ^ vector.ik[index] ^ xres;
        }
    }

    /// Lower-case hex of the 16 checksum octets.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hearth_core::crypto::aka::generate_vector_with_rand;
    use hearth_core::crypto::milenage::{Milenage, compute_opc};

    #[test]
    fn vector_zero_is_test_set_1() {
        assert_eq!(rand_for(0), TS1_RAND);
        assert_eq!(sqn_for(0), [0xff, 0x9b, 0xb4, 0xd0, 0xb6, 0x07]);
        assert_eq!(compute_opc(&TS1_K, &TS1_OP), TS1_OPC);
        let m = Milenage::new(&TS1_K, &TS1_OPC);
        let v = generate_vector_with_rand(&m, rand_for(0), sqn_for(0), TS1_AMF);
        assert_eq!(hex::encode(v.xres), "a54211d5e3ba50bf");
        assert_eq!(hex::encode(v.ck), "b40ba9a3c58b2a05bbf0d987b21bf8cb");
        assert_eq!(hex::encode(v.ik), "f769bcd751044604127672711c6d3441");
        // (SQN xor AK) || AMF || MAC-A with AK = aa689c648370, MAC-A = 4a9ffac354dfafb3.
        assert_eq!(hex::encode(v.autn), "55f328b43577b9b94a9ffac354dfafb3");
    }

    #[test]
    fn sequence_varies_rand_low_octets_and_increments_sqn() {
        let mut expected_rand = TS1_RAND;
        expected_rand[15] ^= 0x05;
        expected_rand[14] ^= 0x01;
        assert_eq!(rand_for(0x105), expected_rand);
        assert_eq!(sqn_for(0x1fa), [0xff, 0x9b, 0xb4, 0xd0, 0xb8, 0x01]);
    }

    #[test]
    fn checksum_of_one_vector_is_its_fold() {
        let m = Milenage::new(&TS1_K, &TS1_OPC);
        let v = generate_vector_with_rand(&m, rand_for(0), sqn_for(0), TS1_AMF);
        let mut sum = Checksum::default();
        sum.add(&v);
        let mut expected = [0u8; 16];
        for (i, byte) in expected.iter_mut().enumerate() {
            *byte = v.autn[i] ^ v.ck[i] ^ v.ik[i] ^ if i < 8 { v.xres[i] } else { 0 };
        }
        assert_eq!(sum, Checksum(expected));
        sum.add(&v);
        assert_eq!(sum, Checksum::default());
    }
}
