//! Milenage, the 3GPP example algorithm set f1, f1*, f2, f3, f4, f5 and f5* (3GPP TS 35.206).
//!
//! Every function is one AES-128 encryption under the subscriber key K of a value derived from
//! `TEMP = E_K(RAND xor OPc)`:
//!
//! ```text
//! OUT1 = E_K(TEMP xor rot(IN1 xor OPc, r1) xor c1) xor OPc   IN1 = SQN || AMF || SQN || AMF
//! OUTn = E_K(rot(TEMP xor OPc, rn) xor cn) xor OPc            n = 2..5
//! MAC-A = OUT1[0..8]   MAC-S = OUT1[8..16]   AK = OUT2[0..6]   RES = OUT2[8..16]
//! CK = OUT3            IK = OUT4             AK* = OUT5[0..6]
//! ```
//!
//! with the standard constants r1..r5 = 64, 0, 32, 64, 96 bits and c1..c5 = 0, 1, 2, 4, 8.
//!
//! [`Milenage`] is a per-subscriber context: it expands K's AES key schedule once and keeps OPc, so
//! generating a vector costs exactly the block encryptions the algorithm needs (TEMP plus one per
//! output block, five for a full vector) and nothing else: no key expansion, no allocation. Blocks
//! are handled as big-endian `u128` so the xors and rotations are single integer operations.

use core::fmt;

use aes::Aes128Enc;
use aes::cipher::consts::U16;
use aes::cipher::{
    Array, BlockCipherEncBackend, BlockCipherEncClosure, BlockCipherEncrypt, BlockSizeUser, KeyInit,
};

/// Rotation amounts r1..r5 in bits (TS 35.206 §4.1), applied towards the most significant bit.
const R1: u32 = 64;
const R2: u32 = 0;
const R3: u32 = 32;
const R4: u32 = 64;
const R5: u32 = 96;

/// Constants c1..c5 (TS 35.206 §4.1): 128-bit values whose only set bits are in the last octet.
const C1: u128 = 0;
const C2: u128 = 1;
const C3: u128 = 2;
const C4: u128 = 4;
const C5: u128 = 8;

/// The outputs of f2, f3, f4 and f5 for one RAND.
#[derive(Clone, Copy)]
pub struct MilenageOutput {
    /// RES (or XRES on the network side), output of f2.
    pub res: [u8; 8],
    /// CK, the cipher key, output of f3.
    pub ck: [u8; 16],
    /// IK, the integrity key, output of f4.
    pub ik: [u8; 16],
    /// AK, the anonymity key used to conceal SQN in AUTN, output of f5.
    pub ak: [u8; 6],
}

impl fmt::Debug for MilenageOutput {
    /// Every field is key material, so none is printed.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MilenageOutput { .. }")
    }
}

/// Everything the network side needs to build an authentication vector: f1's MAC-A plus the
/// f2..f5 outputs, computed from one shared TEMP.
#[derive(Clone, Copy)]
pub struct VectorOutput {
    /// MAC-A, the network authentication code, output of f1.
    pub mac_a: [u8; 8],
    /// RES, CK, IK and AK.
    pub keys: MilenageOutput,
}

impl fmt::Debug for VectorOutput {
    /// MAC-A is public once sent in AUTN, but the keys are not; print neither.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("VectorOutput { .. }")
    }
}

/// Computes OPc = E_K(OP) xor OP (TS 35.206 §4.1).
pub fn compute_opc(k: &[u8; 16], op: &[u8; 16]) -> [u8; 16] {
    let cipher = Aes128Enc::new(&Array(*k));
    opc_with(&cipher, op)
}

fn opc_with(cipher: &Aes128Enc, op: &[u8; 16]) -> [u8; 16] {
    let mut block = Array(*op);
    cipher.encrypt_block(&mut block);
    (u128::from_be_bytes(block.0) ^ u128::from_be_bytes(*op)).to_be_bytes()
}

/// A per-subscriber Milenage context: K's expanded AES-128 key schedule and OPc.
///
/// Build it once per subscriber (or per request when K is fetched per request) and call the f
/// functions as often as needed; none of them allocates or re-expands the key.
#[derive(Clone)]
pub struct Milenage {
    cipher: Aes128Enc,
    opc: u128,
}

impl fmt::Debug for Milenage {
    /// K and OPc are secrets: never printed.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Milenage { .. }")
    }
}

impl Milenage {
    /// A context for subscriber key `k` and the already derived `opc`.
    pub fn new(k: &[u8; 16], opc: &[u8; 16]) -> Self {
        Milenage {
            cipher: Aes128Enc::new(&Array(*k)),
            opc: u128::from_be_bytes(*opc),
        }
    }

    /// A context for subscriber key `k` and the operator variant `op`; OPc is derived with the same
    /// key schedule, so this costs one key expansion plus one block encryption.
    pub fn with_op(k: &[u8; 16], op: &[u8; 16]) -> Self {
        let cipher = Aes128Enc::new(&Array(*k));
        let opc = u128::from_be_bytes(opc_with(&cipher, op));
        Milenage { cipher, opc }
    }

    /// OPc as used by this context (for provisioning tools that store OPc instead of OP).
    pub fn opc(&self) -> [u8; 16] {
        self.opc.to_be_bytes()
    }

    /// f1: MAC-A, the network authentication code carried in AUTN.
    pub fn f1(&self, rand: &[u8; 16], sqn: &[u8; 6], amf: &[u8; 2]) -> [u8; 8] {
        let [out1] = self.run(rand, |temp| [self.f1_input(temp, sqn, amf)]);
        high_half(out1)
    }

    /// f1*: MAC-S, the resynchronisation authentication code carried in AUTS.
    pub fn f1_star(&self, rand: &[u8; 16], sqn: &[u8; 6], amf: &[u8; 2]) -> [u8; 8] {
        let [out1] = self.run(rand, |temp| [self.f1_input(temp, sqn, amf)]);
        low_half(out1)
    }

    /// f2, f3, f4 and f5 for one RAND (one TEMP, four output blocks): RES, CK, IK and AK.
    pub fn f2345(&self, rand: &[u8; 16]) -> MilenageOutput {
        let [out2, out3, out4] = self.run(rand, |temp| self.f234_inputs(temp));
        split_f2345(out2, out3, out4)
    }

    /// f5*: AK-S, the anonymity key that conceals SQN_MS in AUTS.
    pub fn f5_star(&self, rand: &[u8; 16]) -> [u8; 6] {
        let [out5] = self.run(rand, |temp| [self.f5_star_input(temp)]);
        ak_of(out5)
    }

    /// f1 and f2..f5 together, as vector generation needs them: TEMP is computed once and the four
    /// independent output blocks are encrypted back to back under one backend dispatch.
    pub fn f1_f2345(&self, rand: &[u8; 16], sqn: &[u8; 6], amf: &[u8; 2]) -> VectorOutput {
        let [out1, out2, out3, out4] = self.run(rand, |temp| {
            let [in2, in3, in4] = self.f234_inputs(temp);
            [self.f1_input(temp, sqn, amf), in2, in3, in4]
        });
        VectorOutput {
            mac_a: high_half(out1),
            keys: split_f2345(out2, out3, out4),
        }
    }

    /// Computes TEMP for `rand` once, for callers that need outputs in several steps (the USIM
    /// side needs AK before it can compute MAC-A; resynchronisation needs AK-S before MAC-S).
    pub fn prepare(&self, rand: &[u8; 16]) -> PreparedRand<'_> {
        let mut block = Array((u128::from_be_bytes(*rand) ^ self.opc).to_be_bytes());
        self.cipher.encrypt_block(&mut block);
        PreparedRand {
            milenage: self,
            temp: u128::from_be_bytes(block.0),
        }
    }

    fn f1_input(&self, temp: u128, sqn: &[u8; 6], amf: &[u8; 2]) -> u128 {
        let mut half = [0u8; 8];
        half[..6].copy_from_slice(sqn);
        half[6..].copy_from_slice(amf);
        let half = u64::from_be_bytes(half) as u128;
        let in1 = (half << 64) | half;
        temp ^ (in1 ^ self.opc).rotate_left(R1) ^ C1
    }

    fn f234_inputs(&self, temp: u128) -> [u128; 3] {
        let masked = temp ^ self.opc;
        [
            masked.rotate_left(R2) ^ C2,
            masked.rotate_left(R3) ^ C3,
            masked.rotate_left(R4) ^ C4,
        ]
    }

    fn f5_star_input(&self, temp: u128) -> u128 {
        (temp ^ self.opc).rotate_left(R5) ^ C5
    }

    /// Encrypts `RAND xor OPc` to get TEMP, then the N blocks `inputs(TEMP)`, all inside one call
    /// to the AES backend, and returns each encrypted block xor OPc.
    fn run<const N: usize>(
        &self,
        rand: &[u8; 16],
        inputs: impl FnOnce(u128) -> [u128; N],
    ) -> [u128; N] {
        let mut outputs = [0u128; N];
        self.cipher.encrypt_with_backend(TempThen {
            rand_xor_opc: u128::from_be_bytes(*rand) ^ self.opc,
            inputs,
            outputs: &mut outputs,
        });
        outputs.map(|out| out ^ self.opc)
    }
}

/// TEMP for one RAND under one [`Milenage`] context; each f function then costs one block
/// encryption.
pub struct PreparedRand<'a> {
    milenage: &'a Milenage,
    temp: u128,
}

impl fmt::Debug for PreparedRand<'_> {
    /// TEMP is derived from K: never printed.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PreparedRand { .. }")
    }
}

impl PreparedRand<'_> {
    /// f1 and f1* from the same OUT1 block: (MAC-A, MAC-S).
    pub fn f1_both(&self, sqn: &[u8; 6], amf: &[u8; 2]) -> ([u8; 8], [u8; 8]) {
        let out1 = self.encrypt(self.milenage.f1_input(self.temp, sqn, amf));
        (high_half(out1), low_half(out1))
    }

    /// f1: MAC-A.
    pub fn f1(&self, sqn: &[u8; 6], amf: &[u8; 2]) -> [u8; 8] {
        self.f1_both(sqn, amf).0
    }

    /// f1*: MAC-S.
    pub fn f1_star(&self, sqn: &[u8; 6], amf: &[u8; 2]) -> [u8; 8] {
        self.f1_both(sqn, amf).1
    }

    /// f2..f5: RES, CK, IK and AK.
    pub fn f2345(&self) -> MilenageOutput {
        let [in2, in3, in4] = self.milenage.f234_inputs(self.temp);
        let mut blocks = [in2, in3, in4].map(|input| Array(input.to_be_bytes()));
        self.milenage.cipher.encrypt_blocks(&mut blocks);
        let [out2, out3, out4] =
            blocks.map(|block| u128::from_be_bytes(block.0) ^ self.milenage.opc);
        split_f2345(out2, out3, out4)
    }

    /// f5 alone: AK (one block instead of f2345's three).
    pub fn f5(&self) -> [u8; 6] {
        let [in2, _, _] = self.milenage.f234_inputs(self.temp);
        ak_of(self.encrypt(in2))
    }

    /// f5*: AK-S.
    pub fn f5_star(&self) -> [u8; 6] {
        ak_of(self.encrypt(self.milenage.f5_star_input(self.temp)))
    }

    fn encrypt(&self, input: u128) -> u128 {
        let mut block = Array(input.to_be_bytes());
        self.milenage.cipher.encrypt_block(&mut block);
        u128::from_be_bytes(block.0) ^ self.milenage.opc
    }
}

/// The AES backend closure behind [`Milenage::run`]: TEMP and the blocks derived from it are
/// encrypted under one backend dispatch (one CPU-feature check, one round-key load).
struct TempThen<'a, F, const N: usize> {
    rand_xor_opc: u128,
    inputs: F,
    outputs: &'a mut [u128; N],
}

impl<F, const N: usize> BlockSizeUser for TempThen<'_, F, N> {
    type BlockSize = U16;
}

impl<F: FnOnce(u128) -> [u128; N], const N: usize> BlockCipherEncClosure for TempThen<'_, F, N> {
    #[inline(always)]
    fn call<B: BlockCipherEncBackend<BlockSize = U16>>(self, backend: &B) {
        let mut block = Array(self.rand_xor_opc.to_be_bytes());
        backend.encrypt_block_inplace(&mut block);
        let temp = u128::from_be_bytes(block.0);
        let mut blocks = (self.inputs)(temp).map(|input| Array(input.to_be_bytes()));
        // One block at a time: the blocks are independent, so the CPU overlaps them anyway, and
        // this stays valid whatever the backend's parallel batch size is.
        for block in blocks.iter_mut() {
            backend.encrypt_block_inplace(block);
        }
        for (output, block) in self.outputs.iter_mut().zip(blocks.iter()) {
            *output = u128::from_be_bytes(block.0);
        }
    }
}

fn split_f2345(out2: u128, out3: u128, out4: u128) -> MilenageOutput {
    MilenageOutput {
        res: low_half(out2),
        ck: out3.to_be_bytes(),
        ik: out4.to_be_bytes(),
        ak: ak_of(out2),
    }
}

/// Octets 0..8 of a block.
fn high_half(block: u128) -> [u8; 8] {
    ((block >> 64) as u64).to_be_bytes()
}

/// Octets 8..16 of a block.
fn low_half(block: u128) -> [u8; 8] {
    (block as u64).to_be_bytes()
}

/// Octets 0..6 of a block (AK and AK-S are the 48 most significant bits).
fn ak_of(block: u128) -> [u8; 6] {
    let bytes = ((block >> 64) as u64).to_be_bytes();
    [bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5]]
}

#[cfg(test)]
mod tests {
    use super::test_sets::{TEST_SETS, arr};
    use super::*;

    #[test]
    fn ts_35_207_all_six_sets_every_output() {
        for (index, set) in TEST_SETS.iter().enumerate() {
            let n = index + 1;
            let k = arr::<16>(set.k);
            let op = arr::<16>(set.op);
            let rand = arr::<16>(set.rand);
            let sqn = arr::<6>(set.sqn);
            let amf = arr::<2>(set.amf);

            assert_eq!(hex::encode(compute_opc(&k, &op)), set.opc, "set {n} OPc");
            let from_op = Milenage::with_op(&k, &op);
            assert_eq!(
                hex::encode(from_op.opc()),
                set.opc,
                "set {n} OPc via with_op"
            );
            let m = Milenage::new(&k, &arr::<16>(set.opc));

            assert_eq!(hex::encode(m.f1(&rand, &sqn, &amf)), set.f1, "set {n} f1");
            assert_eq!(
                hex::encode(m.f1_star(&rand, &sqn, &amf)),
                set.f1_star,
                "set {n} f1*"
            );
            let out = m.f2345(&rand);
            assert_eq!(hex::encode(out.res), set.f2, "set {n} f2");
            assert_eq!(hex::encode(out.ck), set.f3, "set {n} f3");
            assert_eq!(hex::encode(out.ik), set.f4, "set {n} f4");
            assert_eq!(hex::encode(out.ak), set.f5, "set {n} f5");
            assert_eq!(hex::encode(m.f5_star(&rand)), set.f5_star, "set {n} f5*");

            // The shared-TEMP paths must agree with the single-function ones.
            let vector = from_op.f1_f2345(&rand, &sqn, &amf);
            assert_eq!(hex::encode(vector.mac_a), set.f1, "set {n} f1 via f1_f2345");
            assert_eq!(
                hex::encode(vector.keys.res),
                set.f2,
                "set {n} f2 via f1_f2345"
            );
            assert_eq!(
                hex::encode(vector.keys.ck),
                set.f3,
                "set {n} f3 via f1_f2345"
            );
            assert_eq!(
                hex::encode(vector.keys.ik),
                set.f4,
                "set {n} f4 via f1_f2345"
            );
            assert_eq!(
                hex::encode(vector.keys.ak),
                set.f5,
                "set {n} f5 via f1_f2345"
            );

            let prepared = m.prepare(&rand);
            let (mac_a, mac_s) = prepared.f1_both(&sqn, &amf);
            assert_eq!(hex::encode(mac_a), set.f1, "set {n} f1 via prepare");
            assert_eq!(hex::encode(mac_s), set.f1_star, "set {n} f1* via prepare");
            assert_eq!(hex::encode(prepared.f1(&sqn, &amf)), set.f1);
            assert_eq!(hex::encode(prepared.f1_star(&sqn, &amf)), set.f1_star);
            let out = prepared.f2345();
            assert_eq!(hex::encode(out.res), set.f2, "set {n} f2 via prepare");
            assert_eq!(hex::encode(out.ck), set.f3, "set {n} f3 via prepare");
            assert_eq!(hex::encode(out.ik), set.f4, "set {n} f4 via prepare");
            assert_eq!(hex::encode(out.ak), set.f5, "set {n} f5 via prepare");
            assert_eq!(hex::encode(prepared.f5()), set.f5, "set {n} f5 alone");
            assert_eq!(
                hex::encode(prepared.f5_star()),
                set.f5_star,
                "set {n} f5* via prepare"
            );
        }
    }

    /// The Clearwater GBA `naf-key` tool's documented run (K = OP = 0123...0123, RAND is the
    /// base64 decoding of its nonce) printed XRES, CK and IK; an independent real-world check.
    #[test]
    fn clearwater_naf_key_example() {
        let k = arr::<16>("01230123012301230123012301230123");
        let m = Milenage::with_op(&k, &k);
        let out = m.f2345(&arr::<16>("d35db7d35db7d35db7d35db7d35db7d3"));
        assert_eq!(hex::encode(out.res), "9e36e4504d6c1642");
        assert_eq!(hex::encode(out.ck), "54db12b604c37068d5de7002ad73d549");
        assert_eq!(hex::encode(out.ik), "f48eaf850176834c9f17771b43951a6e");
    }

    #[test]
    fn debug_never_shows_key_material() {
        let k = [0xabu8; 16];
        let m = Milenage::new(&k, &[0xcdu8; 16]);
        let printed = format!(
            "{m:?} {:?} {:?} {:?}",
            m.f2345(&[0u8; 16]),
            m.f1_f2345(&[0u8; 16], &[0u8; 6], &[0u8; 2]),
            m.prepare(&[0u8; 16])
        );
        assert!(!printed.contains("abab") && !printed.contains("cdcd") && !printed.contains("171"));
        assert_eq!(printed.matches("{ .. }").count(), 4, "{printed}");
    }

    #[test]
    fn different_inputs_change_every_output() {
        let set = &TEST_SETS[0];
        let m = Milenage::new(&arr::<16>(set.k), &arr::<16>(set.opc));
        let rand = arr::<16>(set.rand);
        let mut other_rand = rand;
        other_rand[15] ^= 1;
        let base = m.f1_f2345(&rand, &arr::<6>(set.sqn), &arr::<2>(set.amf));
        let other = m.f1_f2345(&other_rand, &arr::<6>(set.sqn), &arr::<2>(set.amf));
        assert_ne!(base.mac_a, other.mac_a);
        assert_ne!(base.keys.res, other.keys.res);
        assert_ne!(base.keys.ck, other.keys.ck);
        assert_ne!(base.keys.ik, other.keys.ik);
        assert_ne!(base.keys.ak, other.keys.ak);
        let mut other_amf = arr::<2>(set.amf);
        other_amf[0] ^= 0x80;
        assert_ne!(m.f1(&rand, &arr::<6>(set.sqn), &other_amf), base.mac_a);
    }
}

/// Published Milenage test data shared by this module's and the AKA module's tests.
#[cfg(test)]
pub(crate) mod test_sets {
    /// One Milenage test set: inputs and every output.
    pub(crate) struct TestSet {
        pub(crate) k: &'static str,
        pub(crate) rand: &'static str,
        pub(crate) sqn: &'static str,
        pub(crate) amf: &'static str,
        pub(crate) op: &'static str,
        pub(crate) opc: &'static str,
        pub(crate) f1: &'static str,
        pub(crate) f1_star: &'static str,
        pub(crate) f2: &'static str,
        pub(crate) f5: &'static str,
        pub(crate) f3: &'static str,
        pub(crate) f4: &'static str,
        pub(crate) f5_star: &'static str,
    }

    /// 3GPP TS 35.207 §4 test sets 1 to 6 (also TS 35.208 §4.3), field order as in the spec's
    /// tables. Cross-checked against two independent public transcriptions.
    pub(crate) const TEST_SETS: [TestSet; 6] = [
        TestSet {
            k: "465b5ce8b199b49faa5f0a2ee238a6bc",
            rand: "23553cbe9637a89d218ae64dae47bf35",
            sqn: "ff9bb4d0b607",
            amf: "b9b9",
            op: "cdc202d5123e20f62b6d676ac72cb318",
            opc: "cd63cb71954a9f4e48a5994e37a02baf",
            f1: "4a9ffac354dfafb3",
            f1_star: "01cfaf9ec4e871e9",
            f2: "a54211d5e3ba50bf",
            f5: "aa689c648370",
            f3: "b40ba9a3c58b2a05bbf0d987b21bf8cb",
            f4: "f769bcd751044604127672711c6d3441",
            f5_star: "451e8beca43b",
        },
        TestSet {
            k: "0396eb317b6d1c36f19c1c84cd6ffd16",
            rand: "c00d603103dcee52c4478119494202e8",
            sqn: "fd8eef40df7d",
            amf: "af17",
            op: "ff53bade17df5d4e793073ce9d7579fa",
            opc: "53c15671c60a4b731c55b4a441c0bde2",
            f1: "5df5b31807e258b0",
            f1_star: "a8c016e51ef4a343",
            f2: "d3a628ed988620f0",
            f5: "c47783995f72",
            f3: "58c433ff7a7082acd424220f2b67c556",
            f4: "21a8c1f929702adb3e738488b9f5c5da",
            f5_star: "30f1197061c1",
        },
        TestSet {
            k: "fec86ba6eb707ed08905757b1bb44b8f",
            rand: "9f7c8d021accf4db213ccff0c7f71a6a",
            sqn: "9d0277595ffc",
            amf: "725c",
            op: "dbc59adcb6f9a0ef735477b7fadf8374",
            opc: "1006020f0a478bf6b699f15c062e42b3",
            f1: "9cabc3e99baf7281",
            f1_star: "95814ba2b3044324",
            f2: "8011c48c0c214ed2",
            f5: "33484dc2136b",
            f3: "5dbdbb2954e8f3cde665b046179a5098",
            f4: "59a92d3b476a0443487055cf88b2307b",
            f5_star: "deacdd848cc6",
        },
        TestSet {
            k: "9e5944aea94b81165c82fbf9f32db751",
            rand: "ce83dbc54ac0274a157c17f80d017bd6",
            sqn: "0b604a81eca8",
            amf: "9e09",
            op: "223014c5806694c007ca1eeef57f004f",
            opc: "a64a507ae1a2a98bb88eb4210135dc87",
            f1: "74a58220cba84c49",
            f1_star: "ac2cc74a96871837",
            f2: "f365cd683cd92e96",
            f5: "f0b9c08ad02e",
            f3: "e203edb3971574f5a94b0d61b816345d",
            f4: "0c4524adeac041c4dd830d20854fc46b",
            f5_star: "6085a86c6f63",
        },
        TestSet {
            k: "4ab1deb05ca6ceb051fc98e77d026a84",
            rand: "74b0cd6031a1c8339b2b6ce2b8c4a186",
            sqn: "e880a1b580b6",
            amf: "9f07",
            op: "2d16c5cd1fdf6b22383584e3bef2a8d8",
            opc: "dcf07cbd51855290b92a07a9891e523e",
            f1: "49e785dd12626ef2",
            f1_star: "9e85790336bb3fa2",
            f2: "5860fc1bce351e7e",
            f5: "31e11a609118",
            f3: "7657766b373d1c2138f307e3de9242f9",
            f4: "1c42e960d89b8fa99f2744e0708ccb53",
            f5_star: "fe2555e54aa9",
        },
        TestSet {
            k: "6c38a116ac280c454f59332ee35c8c4f",
            rand: "ee6466bc96202c5a557abbeff8babf63",
            sqn: "414b98222181",
            amf: "4464",
            op: "1ba00a1a7c6700ac8c3ff3e96ad08725",
            opc: "3803ef5363b947c6aaa225e58fae3934",
            f1: "078adfb488241a57",
            f1_star: "80246b8d0186bcf1",
            f2: "16c8233f05a0ac28",
            f5: "45b0f69ab06c",
            f3: "3f8c7587fe8e4b233af676aede30ba3b",
            f4: "a7466cc1e6b2a1337d49d3b66e95d7b4",
            f5_star: "1f53cd2b1113",
        },
    ];

    /// Decodes a hex test value into an array of the expected length.
    pub(crate) fn arr<const N: usize>(hex_str: &str) -> [u8; N] {
        let bytes = hex::decode(hex_str).expect("test vector is hex");
        bytes
            .try_into()
            .expect("test vector has the expected length")
    }
}
