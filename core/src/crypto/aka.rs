//! UMTS AKA on top of Milenage: authentication vectors, AUTN/AUTS, sequence numbers (TS 33.102
//! §6.3 and Annex C) and their HTTP Digest encodings (RFC 3310 AKAv1, RFC 4169 AKAv2).
//!
//! Network side: [`generate_vector`] builds `RAND, AUTN, XRES, CK, IK` with
//! `AUTN = (SQN xor AK) || AMF || MAC-A`; [`SqnPolicy::next_sqn`] picks the SQN for it; [`resync`]
//! checks a UE's AUTS and recovers `SQN_MS`, and [`SqnPolicy::next_after_resync`] says what to use
//! next. UE side, for tests, tools and simulators: [`check_autn`], [`UsimSqnState`],
//! [`usim_authenticate`] and [`build_auts`]. Encodings: [`AuthVector::sip_nonce`],
//! [`parse_nonce`], [`decode_resync_auth`], [`decode_auts`], [`akav1_password`],
//! [`akav2_password`].
//!
//! Sequence numbers are handled as `u64` values holding 48 bits, split as `SQN = SEQ || IND` with
//! an IND of [`SqnPolicy::ind_bits`] bits. Every function checks its ranges and returns an error
//! rather than wrapping or panicking.

use core::fmt;

use base64::Engine as _;
use base64::alphabet;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use hmac::{Hmac, KeyInit, Mac};
use md5::Md5;
use rand_core::CryptoRng;
use subtle::ConstantTimeEq;

use super::milenage::Milenage;

/// Largest SQN: sequence numbers are 48 bits.
pub const SQN_MAX: u64 = (1 << 48) - 1;

/// The AMF value f1* is computed with for AUTS (TS 33.102 §6.3.5: a dummy of all zeros).
pub const RESYNC_AMF: [u8; 2] = [0, 0];

/// Length of AUTS = (SQN_MS xor AK-S) || MAC-S.
pub const AUTS_LEN: usize = 14;

/// Longest RFC 3310 nonce (base64 text) [`parse_nonce`] accepts; RAND||AUTN alone needs 44.
pub const MAX_NONCE_LEN: usize = 1024;

/// Longest base64 text accepted for an `auts` or `resync-auth` parameter (both need at most 40).
const MAX_SHORT_PARAM_LEN: usize = 64;

/// Base64 as the peers write it: standard alphabet, padding optional when decoding.
const LENIENT_BASE64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// The RFC 4169 label hashed under RES||IK||CK to make the AKAv2 password.
const AKAV2_PASSWORD_LABEL: &[u8] = b"http-digest-akav2-password";

/// One UMTS authentication vector (quintet minus nothing a SIP/HTTP server uses).
#[derive(Clone)]
pub struct AuthVector {
    /// The random challenge.
    pub rand: [u8; 16],
    /// The network authentication token `(SQN xor AK) || AMF || MAC-A`.
    pub autn: [u8; 16],
    /// The expected response (f2).
    pub xres: [u8; 8],
    /// The cipher key (f3).
    pub ck: [u8; 16],
    /// The integrity key (f4).
    pub ik: [u8; 16],
}

impl fmt::Debug for AuthVector {
    /// RAND and AUTN travel in clear; XRES, CK and IK are secrets and are not printed.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthVector")
            .field("rand", &Hex(&self.rand))
            .field("autn", &Hex(&self.autn))
            .finish_non_exhaustive()
    }
}

impl AuthVector {
    /// RAND || AUTN, the bytes an RFC 3310 nonce starts with.
    pub fn challenge_bytes(&self) -> [u8; 32] {
        let mut bytes = [0u8; 32];
        bytes[..16].copy_from_slice(&self.rand);
        bytes[16..].copy_from_slice(&self.autn);
        bytes
    }

    /// The RFC 3310 nonce `base64(RAND || AUTN)` (no server-specific data).
    pub fn sip_nonce(&self) -> String {
        STANDARD.encode(self.challenge_bytes())
    }

    /// Appends [`AuthVector::sip_nonce`] to `out`, for callers that reuse a buffer.
    pub fn write_sip_nonce(&self, out: &mut String) {
        STANDARD.encode_string(self.challenge_bytes(), out);
    }
}

/// Builds a vector with a fresh RAND from the caller's CSPRNG.
pub fn generate_vector(
    m: &Milenage,
    rng: &mut impl CryptoRng,
    sqn: [u8; 6],
    amf: [u8; 2],
) -> AuthVector {
    let mut rand = [0u8; 16];
    rng.fill_bytes(&mut rand);
    generate_vector_with_rand(m, rand, sqn, amf)
}

/// Builds a vector for a given RAND (deterministic: tools and tests).
pub fn generate_vector_with_rand(
    m: &Milenage,
    rand: [u8; 16],
    sqn: [u8; 6],
    amf: [u8; 2],
) -> AuthVector {
    let out = m.f1_f2345(&rand, &sqn, &amf);
    AuthVector {
        rand,
        autn: build_autn(&xor6(&sqn, &out.keys.ak), &amf, &out.mac_a),
        xres: out.keys.res,
        ck: out.keys.ck,
        ik: out.keys.ik,
    }
}

fn build_autn(sqn_xor_ak: &[u8; 6], amf: &[u8; 2], mac_a: &[u8; 8]) -> [u8; 16] {
    let mut autn = [0u8; 16];
    autn[..6].copy_from_slice(sqn_xor_ak);
    autn[6..8].copy_from_slice(amf);
    autn[8..].copy_from_slice(mac_a);
    autn
}

fn xor6(a: &[u8; 6], b: &[u8; 6]) -> [u8; 6] {
    let mut out = [0u8; 6];
    for ((o, x), y) in out.iter_mut().zip(a).zip(b) {
        *o = x ^ y;
    }
    out
}

fn split_autn(autn: &[u8; 16]) -> ([u8; 6], [u8; 2], [u8; 8]) {
    let mut concealed = [0u8; 6];
    let mut amf = [0u8; 2];
    let mut mac = [0u8; 8];
    concealed.copy_from_slice(&autn[..6]);
    amf.copy_from_slice(&autn[6..8]);
    mac.copy_from_slice(&autn[8..]);
    (concealed, amf, mac)
}

// ---------------------------------------------------------------------------------------------
// Sequence numbers (TS 33.102 Annex C)
// ---------------------------------------------------------------------------------------------

/// Why a sequence number operation was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SqnError {
    /// The value does not fit in 48 bits.
    SqnOutOfRange(u64),
    /// The IND width is larger than [`SqnPolicy::MAX_IND_BITS`].
    IndBitsOutOfRange(u8),
    /// The delta limit is zero or larger than the largest SEQ.
    DeltaOutOfRange(u64),
    /// The age limit L is zero or larger than the largest SEQ.
    AgeLimitOutOfRange(u64),
    /// SEQ does not fit in the bits IND leaves it.
    SeqOutOfRange(u64),
    /// IND does not fit in the configured width.
    IndOutOfRange(u64),
    /// SEQ has reached its maximum: no further fresh SQN exists (the counter never wraps).
    SeqExhausted,
    /// USIM check: SEQ is not above the last SEQ accepted for this IND (a replay or stale vector).
    NotFresh {
        /// SEQ of the received SQN.
        seq: u64,
        /// SEQ_MS(IND), the last SEQ accepted with the same IND.
        last_accepted: u64,
    },
    /// USIM check: SEQ jumps more than delta above the highest accepted SEQ.
    TooFarAhead {
        /// SEQ of the received SQN.
        seq: u64,
        /// SEQ_MS, the highest SEQ accepted.
        highest_accepted: u64,
    },
    /// USIM check: SEQ lies L or more below the highest accepted SEQ.
    TooOld {
        /// SEQ of the received SQN.
        seq: u64,
        /// SEQ_MS, the highest SEQ accepted.
        highest_accepted: u64,
    },
}

impl fmt::Display for SqnError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SqnError::SqnOutOfRange(v) => write!(f, "SQN {v:#x} does not fit in 48 bits"),
            SqnError::IndBitsOutOfRange(b) => write!(
                f,
                "IND width {b} bits is out of range (0..={})",
                SqnPolicy::MAX_IND_BITS
            ),
            SqnError::DeltaOutOfRange(d) => {
                write!(
                    f,
                    "delta {d} must be at least 1 and at most the largest SEQ"
                )
            }
            SqnError::AgeLimitOutOfRange(l) => {
                write!(
                    f,
                    "age limit {l} must be at least 1 and at most the largest SEQ"
                )
            }
            SqnError::SeqOutOfRange(s) => write!(f, "SEQ {s} does not fit beside IND"),
            SqnError::IndOutOfRange(i) => write!(f, "IND {i} does not fit in the IND width"),
            SqnError::SeqExhausted => write!(f, "SEQ is at its maximum; no fresh SQN is left"),
            SqnError::NotFresh { seq, last_accepted } => write!(
                f,
                "SEQ {seq} is not above {last_accepted}, the last accepted for its IND"
            ),
            SqnError::TooFarAhead {
                seq,
                highest_accepted,
            } => write!(
                f,
                "SEQ {seq} is more than delta above the highest accepted {highest_accepted}"
            ),
            SqnError::TooOld {
                seq,
                highest_accepted,
            } => write!(
                f,
                "SEQ {seq} is at least L below the highest accepted {highest_accepted}"
            ),
        }
    }
}

impl std::error::Error for SqnError {}

/// The 6 octets of a 48-bit SQN (big-endian).
pub fn sqn_to_bytes(sqn: u64) -> Result<[u8; 6], SqnError> {
    if sqn > SQN_MAX {
        return Err(SqnError::SqnOutOfRange(sqn));
    }
    let bytes = sqn.to_be_bytes();
    Ok([bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7]])
}

/// The value of 6 SQN octets (big-endian); always within 48 bits.
pub fn sqn_from_bytes(bytes: &[u8; 6]) -> u64 {
    let mut wide = [0u8; 8];
    wide[2..].copy_from_slice(bytes);
    u64::from_be_bytes(wide)
}

/// SQN split into its Annex C parts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SqnParts {
    /// The batch / counter part (most significant bits).
    pub seq: u64,
    /// The index part (least significant [`SqnPolicy::ind_bits`] bits).
    pub ind: u64,
}

/// How SQNs are built and judged (TS 33.102 Annex C): the IND width, the delta limit on forward
/// jumps and the optional age limit L.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SqnPolicy {
    ind_bits: u8,
    delta: u64,
    age_limit: Option<u64>,
}

impl Default for SqnPolicy {
    /// IND of 5 bits, delta 2^28, no age limit: the values Annex C.3 gives as an example.
    fn default() -> Self {
        SqnPolicy {
            ind_bits: Self::DEFAULT_IND_BITS,
            delta: Self::DEFAULT_DELTA,
            age_limit: None,
        }
    }
}

impl SqnPolicy {
    /// Default IND width in bits (an array of 32 entries in the USIM).
    pub const DEFAULT_IND_BITS: u8 = 5;
    /// Default limit on how far SEQ may jump ahead of the highest accepted SEQ.
    pub const DEFAULT_DELTA: u64 = 1 << 28;
    /// Widest IND accepted: leaves SEQ at least 32 bits and keeps a USIM array at most 65536 long.
    pub const MAX_IND_BITS: u8 = 16;

    /// A policy with the given IND width and delta and no age limit.
    pub fn new(ind_bits: u8, delta: u64) -> Result<Self, SqnError> {
        if ind_bits > Self::MAX_IND_BITS {
            return Err(SqnError::IndBitsOutOfRange(ind_bits));
        }
        let policy = SqnPolicy {
            ind_bits,
            delta,
            age_limit: None,
        };
        if delta == 0 || delta > policy.max_seq() {
            return Err(SqnError::DeltaOutOfRange(delta));
        }
        Ok(policy)
    }

    /// The same policy with an age limit L: a USIM then refuses SEQ with `SEQ_MS - SEQ >= L`.
    pub fn with_age_limit(self, limit: u64) -> Result<Self, SqnError> {
        if limit == 0 || limit > self.max_seq() {
            return Err(SqnError::AgeLimitOutOfRange(limit));
        }
        Ok(SqnPolicy {
            age_limit: Some(limit),
            ..self
        })
    }

    /// IND width in bits.
    pub fn ind_bits(&self) -> u8 {
        self.ind_bits
    }

    /// The delta limit.
    pub fn delta(&self) -> u64 {
        self.delta
    }

    /// The age limit L, if any.
    pub fn age_limit(&self) -> Option<u64> {
        self.age_limit
    }

    /// Number of IND values (the USIM array length), `2^ind_bits`.
    pub fn ind_count(&self) -> u64 {
        1 << self.ind_bits
    }

    /// Largest SEQ, `2^(48 - ind_bits) - 1`.
    pub fn max_seq(&self) -> u64 {
        SQN_MAX >> self.ind_bits
    }

    /// Splits a 48-bit SQN into SEQ and IND.
    pub fn split(&self, sqn: u64) -> Result<SqnParts, SqnError> {
        if sqn > SQN_MAX {
            return Err(SqnError::SqnOutOfRange(sqn));
        }
        Ok(SqnParts {
            seq: sqn >> self.ind_bits,
            ind: sqn & (self.ind_count() - 1),
        })
    }

    /// Joins SEQ and IND into a 48-bit SQN.
    pub fn join(&self, parts: SqnParts) -> Result<u64, SqnError> {
        if parts.seq > self.max_seq() {
            return Err(SqnError::SeqOutOfRange(parts.seq));
        }
        if parts.ind >= self.ind_count() {
            return Err(SqnError::IndOutOfRange(parts.ind));
        }
        Ok((parts.seq << self.ind_bits) | parts.ind)
    }

    /// The SQN for the next vector after `last` (the SQN of the previous vector, or 0 when none
    /// was issued): SEQ + 1, and IND the next value in cyclic order (Annex C.1.2 / C.3.2).
    pub fn next_sqn(&self, last: u64) -> Result<u64, SqnError> {
        let parts = self.split(last)?;
        if parts.seq >= self.max_seq() {
            return Err(SqnError::SeqExhausted);
        }
        self.join(SqnParts {
            seq: parts.seq + 1,
            ind: (parts.ind + 1) % self.ind_count(),
        })
    }

    /// The SQN for the next vector after a resynchronisation that reported `sqn_ms`.
    ///
    /// Annex C.3.4: the HE resets SEQ_HE to SEQ_MS. SQN_MS carries the highest SEQ the USIM has
    /// accepted anywhere in its array, so SEQ_MS + 1 is fresh whatever the IND; the IND continues
    /// cyclically from IND_MS, exactly as [`SqnPolicy::next_sqn`] would have done had the network
    /// issued SQN_MS itself. This is `next_sqn(sqn_ms)`.
    pub fn next_after_resync(&self, sqn_ms: u64) -> Result<u64, SqnError> {
        self.next_sqn(sqn_ms)
    }

    /// The USIM's acceptance test (Annex C.2.1 / C.2.2) for a received SQN, given SEQ_MS(IND) (the
    /// last SEQ accepted with the received IND) and SEQ_MS (the highest SEQ accepted anywhere).
    pub fn check_fresh(
        &self,
        received: u64,
        last_seq_for_ind: u64,
        highest_seq: u64,
    ) -> Result<(), SqnError> {
        let SqnParts { seq, .. } = self.split(received)?;
        if seq > highest_seq && seq - highest_seq > self.delta {
            return Err(SqnError::TooFarAhead {
                seq,
                highest_accepted: highest_seq,
            });
        }
        if let Some(limit) = self.age_limit
            && highest_seq > seq
            && highest_seq - seq >= limit
        {
            return Err(SqnError::TooOld {
                seq,
                highest_accepted: highest_seq,
            });
        }
        if seq <= last_seq_for_ind {
            return Err(SqnError::NotFresh {
                seq,
                last_accepted: last_seq_for_ind,
            });
        }
        Ok(())
    }
}

/// The USIM side of Annex C: the array SEQ_MS(0..ind_count) and the highest accepted SQN. Used by
/// tests, load generators and simulators that play the UE.
#[derive(Debug, Clone)]
pub struct UsimSqnState {
    policy: SqnPolicy,
    last_seq: Vec<u64>,
    highest_sqn: u64,
}

impl UsimSqnState {
    /// A fresh USIM: every array entry is zero (Annex C.2.2), so the first SQN needs SEQ >= 1.
    pub fn new(policy: SqnPolicy) -> Self {
        UsimSqnState {
            policy,
            last_seq: vec![0; policy.ind_count() as usize],
            highest_sqn: 0,
        }
    }

    /// A USIM whose highest accepted SQN is `sqn_ms`, with every array entry at its SEQ (the
    /// strictest state consistent with it).
    pub fn starting_at(policy: SqnPolicy, sqn_ms: u64) -> Result<Self, SqnError> {
        let parts = policy.split(sqn_ms)?;
        Ok(UsimSqnState {
            policy,
            last_seq: vec![parts.seq; policy.ind_count() as usize],
            highest_sqn: sqn_ms,
        })
    }

    /// The policy this state follows.
    pub fn policy(&self) -> SqnPolicy {
        self.policy
    }

    /// SQN_MS: the highest SQN accepted so far, as reported in AUTS.
    pub fn sqn_ms(&self) -> u64 {
        self.highest_sqn
    }

    /// Whether `sqn` would be accepted, without recording it.
    pub fn check(&self, sqn: u64) -> Result<(), SqnError> {
        let parts = self.policy.split(sqn)?;
        let highest = self.policy.split(self.highest_sqn)?.seq;
        let last = self.last_seq_for(parts.ind)?;
        self.policy.check_fresh(sqn, last, highest)
    }

    /// Checks `sqn` and, when fresh, records it as accepted.
    pub fn accept(&mut self, sqn: u64) -> Result<(), SqnError> {
        self.check(sqn)?;
        let parts = self.policy.split(sqn)?;
        let slot = usize::try_from(parts.ind)
            .ok()
            .and_then(|i| self.last_seq.get_mut(i))
            .ok_or(SqnError::IndOutOfRange(parts.ind))?;
        *slot = parts.seq;
        if parts.seq > self.policy.split(self.highest_sqn)?.seq {
            self.highest_sqn = sqn;
        }
        Ok(())
    }

    fn last_seq_for(&self, ind: u64) -> Result<u64, SqnError> {
        usize::try_from(ind)
            .ok()
            .and_then(|i| self.last_seq.get(i))
            .copied()
            .ok_or(SqnError::IndOutOfRange(ind))
    }
}

// ---------------------------------------------------------------------------------------------
// UE side: AUTN verification
// ---------------------------------------------------------------------------------------------

/// Why the UE side rejected an AUTN.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AutnError {
    /// MAC-A does not match: the challenge was not made with this subscriber's K/OPc (or was
    /// altered).
    MacFailure,
}

impl fmt::Display for AutnError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AutnError::MacFailure => write!(f, "AUTN MAC-A does not verify"),
        }
    }
}

impl std::error::Error for AutnError {}

/// What a UE gets from a genuine challenge: the SQN it carried and the f2..f4 outputs.
#[derive(Clone)]
pub struct UeAuthResult {
    /// The SQN recovered from AUTN (not yet checked for freshness).
    pub sqn: [u8; 6],
    /// The AMF carried in AUTN.
    pub amf: [u8; 2],
    /// RES (f2).
    pub res: [u8; 8],
    /// CK (f3).
    pub ck: [u8; 16],
    /// IK (f4).
    pub ik: [u8; 16],
}

impl fmt::Debug for UeAuthResult {
    /// SQN and AMF only; RES, CK and IK are secrets.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UeAuthResult")
            .field("sqn", &Hex(&self.sqn))
            .field("amf", &Hex(&self.amf))
            .finish_non_exhaustive()
    }
}

/// The UE side of AKA: recovers SQN with AK = f5(RAND), verifies MAC-A = f1(SQN, RAND, AMF) in
/// constant time and returns the SQN with RES, CK and IK. SQN freshness is a separate step
/// ([`UsimSqnState`]).
pub fn check_autn(
    m: &Milenage,
    rand: &[u8; 16],
    autn: &[u8; 16],
) -> Result<UeAuthResult, AutnError> {
    let (concealed, amf, mac_a) = split_autn(autn);
    let prepared = m.prepare(rand);
    let keys = prepared.f2345();
    let sqn = xor6(&concealed, &keys.ak);
    let expected = prepared.f1(&sqn, &amf);
    if !bool::from(expected.ct_eq(&mac_a)) {
        return Err(AutnError::MacFailure);
    }
    Ok(UeAuthResult {
        sqn,
        amf,
        res: keys.res,
        ck: keys.ck,
        ik: keys.ik,
    })
}

/// What a simulated USIM answers to a challenge.
#[derive(Clone)]
pub enum UsimResponse {
    /// The challenge is genuine and fresh: the SQN is now recorded and these are the results.
    Accepted(UeAuthResult),
    /// The challenge is genuine but its SQN is not acceptable: the AUTS to send back
    /// (RFC 3310 `auts`), made from the USIM's SQN_MS.
    SyncFailure {
        /// The refused SQN's problem.
        reason: SqnError,
        /// AUTS = (SQN_MS xor AK-S) || MAC-S.
        auts: [u8; AUTS_LEN],
    },
}

impl fmt::Debug for UsimResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UsimResponse::Accepted(result) => f.debug_tuple("Accepted").field(result).finish(),
            UsimResponse::SyncFailure { reason, auts } => f
                .debug_struct("SyncFailure")
                .field("reason", reason)
                .field("auts", &Hex(auts))
                .finish(),
        }
    }
}

/// Plays a USIM: verifies AUTN, then checks and records its SQN in `state`, or answers with AUTS
/// when the SQN is not fresh (TS 33.102 §6.3.3).
pub fn usim_authenticate(
    m: &Milenage,
    state: &mut UsimSqnState,
    rand: &[u8; 16],
    autn: &[u8; 16],
) -> Result<UsimResponse, AutnError> {
    let result = check_autn(m, rand, autn)?;
    match state.accept(sqn_from_bytes(&result.sqn)) {
        Ok(()) => Ok(UsimResponse::Accepted(result)),
        Err(reason) => {
            // SQN_MS comes from the state, which only ever holds 48-bit values.
            let sqn_ms = sqn_to_bytes(state.sqn_ms()).unwrap_or_default();
            Ok(UsimResponse::SyncFailure {
                reason,
                auts: build_auts(m, rand, sqn_ms),
            })
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Resynchronisation
// ---------------------------------------------------------------------------------------------

/// Why a resynchronisation token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResyncError {
    /// AUTS is not 14 octets.
    WrongLength(usize),
    /// MAC-S does not verify.
    BadMac,
}

impl fmt::Display for ResyncError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ResyncError::WrongLength(n) => write!(f, "AUTS is {n} octets, expected {AUTS_LEN}"),
            ResyncError::BadMac => write!(f, "AUTS MAC-S does not verify"),
        }
    }
}

impl std::error::Error for ResyncError {}

/// What a UE sends on a synchronisation failure:
/// `AUTS = (SQN_MS xor f5*(RAND)) || f1*(SQN_MS, RAND, AMF = 0000)`.
pub fn build_auts(m: &Milenage, rand: &[u8; 16], sqn_ms: [u8; 6]) -> [u8; AUTS_LEN] {
    let prepared = m.prepare(rand);
    let concealed = xor6(&sqn_ms, &prepared.f5_star());
    let mac_s = prepared.f1_star(&sqn_ms, &RESYNC_AMF);
    let mut auts = [0u8; AUTS_LEN];
    auts[..6].copy_from_slice(&concealed);
    auts[6..].copy_from_slice(&mac_s);
    auts
}

/// The network side of resynchronisation: recovers SQN_MS from AUTS with f5*(RAND) and verifies
/// MAC-S = f1*(SQN_MS, RAND, AMF = 0000) in constant time. `rand` is the RAND of the challenge the
/// UE refused.
pub fn resync(m: &Milenage, rand: &[u8; 16], auts: &[u8]) -> Result<[u8; 6], ResyncError> {
    let auts: &[u8; AUTS_LEN] = auts
        .try_into()
        .map_err(|_| ResyncError::WrongLength(auts.len()))?;
    let mut concealed = [0u8; 6];
    concealed.copy_from_slice(&auts[..6]);
    let prepared = m.prepare(rand);
    let sqn_ms = xor6(&concealed, &prepared.f5_star());
    let expected = prepared.f1_star(&sqn_ms, &RESYNC_AMF);
    if !bool::from(expected.as_slice().ct_eq(&auts[6..])) {
        return Err(ResyncError::BadMac);
    }
    Ok(sqn_ms)
}

// ---------------------------------------------------------------------------------------------
// RFC 3310 / RFC 4169 / Sprout encodings
// ---------------------------------------------------------------------------------------------

/// Why a nonce or resynchronisation parameter could not be decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecodeError {
    /// The text is longer than this decoder accepts.
    TooLong {
        /// Characters received.
        len: usize,
        /// Largest length accepted.
        max: usize,
    },
    /// The text is not valid base64.
    Base64,
    /// The decoded value has the wrong number of octets.
    WrongLength {
        /// Octets decoded.
        len: usize,
        /// Octets expected (the minimum, for a nonce).
        expected: usize,
    },
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::TooLong { len, max } => {
                write!(f, "value is {len} characters, more than the {max} accepted")
            }
            DecodeError::Base64 => write!(f, "value is not valid base64"),
            DecodeError::WrongLength { len, expected } => {
                write!(f, "value decodes to {len} octets, expected {expected}")
            }
        }
    }
}

impl std::error::Error for DecodeError {}

/// An RFC 3310 nonce taken apart.
#[derive(Clone, PartialEq, Eq)]
pub struct ParsedNonce {
    /// RAND.
    pub rand: [u8; 16],
    /// AUTN.
    pub autn: [u8; 16],
    /// Whatever server-specific data followed (often empty).
    pub server_data: Vec<u8>,
}

impl fmt::Debug for ParsedNonce {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ParsedNonce")
            .field("rand", &Hex(&self.rand))
            .field("autn", &Hex(&self.autn))
            .field("server_data", &Hex(&self.server_data))
            .finish()
    }
}

/// Parses an RFC 3310 nonce, `base64(RAND || AUTN || server data)`, of at most
/// [`MAX_NONCE_LEN`] characters; padding is optional.
pub fn parse_nonce(nonce: &str) -> Result<ParsedNonce, DecodeError> {
    if nonce.len() > MAX_NONCE_LEN {
        return Err(DecodeError::TooLong {
            len: nonce.len(),
            max: MAX_NONCE_LEN,
        });
    }
    let bytes = LENIENT_BASE64
        .decode(nonce)
        .map_err(|_| DecodeError::Base64)?;
    let too_short = DecodeError::WrongLength {
        len: bytes.len(),
        expected: 32,
    };
    let (rand, rest) = bytes.split_first_chunk::<16>().ok_or(too_short)?;
    let (autn, server_data) = rest.split_first_chunk::<16>().ok_or(too_short)?;
    Ok(ParsedNonce {
        rand: *rand,
        autn: *autn,
        server_data: server_data.to_vec(),
    })
}

/// Decodes Sprout's `resync-auth` parameter, `base64(RAND || AUTS)` (30 octets), into RAND and
/// AUTS.
pub fn decode_resync_auth(value: &str) -> Result<([u8; 16], [u8; AUTS_LEN]), DecodeError> {
    let bytes: [u8; 16 + AUTS_LEN] = decode_exact(value)?;
    let mut rand = [0u8; 16];
    let mut auts = [0u8; AUTS_LEN];
    rand.copy_from_slice(&bytes[..16]);
    auts.copy_from_slice(&bytes[16..]);
    Ok((rand, auts))
}

/// Decodes an RFC 3310 `auts` directive value, `base64(AUTS)` (14 octets).
pub fn decode_auts(value: &str) -> Result<[u8; AUTS_LEN], DecodeError> {
    decode_exact(value)
}

/// Decodes short base64 text that must yield exactly N octets, without allocating.
fn decode_exact<const N: usize>(value: &str) -> Result<[u8; N], DecodeError> {
    if value.len() > MAX_SHORT_PARAM_LEN {
        return Err(DecodeError::TooLong {
            len: value.len(),
            max: MAX_SHORT_PARAM_LEN,
        });
    }
    // 64 base64 characters decode to at most 48 octets.
    let mut buf = [0u8; MAX_SHORT_PARAM_LEN / 4 * 3];
    let len = LENIENT_BASE64
        .decode_slice(value, &mut buf)
        .map_err(|_| DecodeError::Base64)?;
    buf.get(..len)
        .and_then(|decoded| <[u8; N]>::try_from(decoded).ok())
        .ok_or(DecodeError::WrongLength { len, expected: N })
}

/// The RFC 3310 (AKAv1-MD5) digest password: RES itself, as raw octets.
pub fn akav1_password(res: &[u8]) -> Vec<u8> {
    res.to_vec()
}

/// The RFC 4169 (AKAv2) digest password: `base64(PRF(RES || IK || CK,
/// "http-digest-akav2-password"))` with PRF = HMAC-MD5 keyed with RES || IK || CK over the label
/// (the order Clearwater Sprout, PJSIP and Doubango use).
pub fn akav2_password(res: &[u8], ik: &[u8; 16], ck: &[u8; 16]) -> String {
    // HMAC takes any key length, so this cannot fail; the fallback only keeps the code panic-free.
    let Ok(mut prf) = <Hmac<Md5> as KeyInit>::new_from_slice(&[res, ik, ck].concat()) else {
        return String::new();
    };
    prf.update(AKAV2_PASSWORD_LABEL);
    STANDARD.encode(prf.finalize().into_bytes())
}

/// Lower-case hex rendering for Debug output of public values.
struct Hex<'a>(&'a [u8]);

impl fmt::Debug for Hex<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for byte in self.0 {
            write!(f, "{byte:02x}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::milenage::test_sets::{TEST_SETS, TestSet, arr};
    use md5::Digest as _;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    fn context(set: &TestSet) -> Milenage {
        Milenage::new(&arr::<16>(set.k), &arr::<16>(set.opc))
    }

    fn xor_hex(a: &str, b: &str) -> String {
        let a = hex::decode(a).expect("hex");
        let b = hex::decode(b).expect("hex");
        hex::encode(a.iter().zip(&b).map(|(x, y)| x ^ y).collect::<Vec<u8>>())
    }

    #[test]
    fn vectors_match_ts_35_207_sets() {
        for (index, set) in TEST_SETS.iter().enumerate() {
            let n = index + 1;
            let v =
                generate_vector_with_rand(&context(set), arr(set.rand), arr(set.sqn), arr(set.amf));
            // AUTN assembled independently from the set's published SQN, AK, AMF and MAC-A.
            let expected_autn = format!("{}{}{}", xor_hex(set.sqn, set.f5), set.amf, set.f1);
            assert_eq!(hex::encode(v.autn), expected_autn, "set {n} AUTN");
            assert_eq!(hex::encode(v.rand), set.rand, "set {n} RAND");
            assert_eq!(hex::encode(v.xres), set.f2, "set {n} XRES");
            assert_eq!(hex::encode(v.ck), set.f3, "set {n} CK");
            assert_eq!(hex::encode(v.ik), set.f4, "set {n} IK");
        }
    }

    #[test]
    fn generate_vector_takes_rand_from_the_rng() {
        let set = &TEST_SETS[2];
        let m = context(set);
        let mut rng = StdRng::seed_from_u64(7);
        let mut twin = StdRng::seed_from_u64(7);
        let v = generate_vector(&m, &mut rng, arr(set.sqn), arr(set.amf));
        let mut expected_rand = [0u8; 16];
        rand::Rng::fill_bytes(&mut twin, &mut expected_rand);
        assert_eq!(v.rand, expected_rand);
        let again = generate_vector(&m, &mut rng, arr(set.sqn), arr(set.amf));
        assert_ne!(again.rand, v.rand, "each vector draws a new RAND");
        let ue = check_autn(&m, &v.rand, &v.autn).expect("genuine AUTN");
        assert_eq!(hex::encode(ue.sqn), set.sqn);
        assert_eq!(ue.res, v.xres);
    }

    #[test]
    fn check_autn_recovers_sqn_and_rejects_any_altered_octet() {
        for set in &TEST_SETS {
            let m = context(set);
            let rand = arr::<16>(set.rand);
            let v = generate_vector_with_rand(&m, rand, arr(set.sqn), arr(set.amf));
            let ue = check_autn(&m, &rand, &v.autn).expect("genuine AUTN");
            assert_eq!(hex::encode(ue.sqn), set.sqn);
            assert_eq!(hex::encode(ue.amf), set.amf);
            assert_eq!(hex::encode(ue.res), set.f2);
            assert_eq!(hex::encode(ue.ck), set.f3);
            assert_eq!(hex::encode(ue.ik), set.f4);
            for octet in 0..16 {
                let mut bad = v.autn;
                bad[octet] ^= 0x01;
                assert_eq!(
                    check_autn(&m, &rand, &bad).map(|r| r.sqn),
                    Err(AutnError::MacFailure),
                    "octet {octet}"
                );
            }
            let mut other_k = arr::<16>(set.k);
            other_k[0] ^= 1;
            let wrong = Milenage::new(&other_k, &arr(set.opc));
            assert!(check_autn(&wrong, &rand, &v.autn).is_err());
        }
    }

    #[test]
    fn auts_round_trips_and_rejects_tampering() {
        for set in &TEST_SETS {
            let m = context(set);
            let rand = arr::<16>(set.rand);
            let sqn_ms = arr::<6>(set.sqn);
            let auts = build_auts(&m, &rand, sqn_ms);
            // Concealment uses the published f5*; MAC-S is f1* with the all-zero AMF.
            assert_eq!(hex::encode(&auts[..6]), xor_hex(set.sqn, set.f5_star));
            assert_eq!(
                &auts[6..],
                &m.f1_star(&rand, &sqn_ms, &[0, 0])[..],
                "MAC-S uses AMF 0000"
            );
            assert_eq!(resync(&m, &rand, &auts), Ok(sqn_ms));
            for octet in 0..AUTS_LEN {
                for bit in [0x01u8, 0x80] {
                    let mut bad = auts;
                    bad[octet] ^= bit;
                    assert_eq!(resync(&m, &rand, &bad), Err(ResyncError::BadMac));
                }
            }
            let mut other_rand = rand;
            other_rand[0] ^= 1;
            assert_eq!(resync(&m, &other_rand, &auts), Err(ResyncError::BadMac));
            assert_eq!(
                resync(&m, &rand, &auts[..13]),
                Err(ResyncError::WrongLength(13))
            );
            let mut long = auts.to_vec();
            long.push(0);
            assert_eq!(resync(&m, &rand, &long), Err(ResyncError::WrongLength(15)));
            assert_eq!(resync(&m, &rand, &[]), Err(ResyncError::WrongLength(0)));
        }
        // With the set's own AMF b9b9 the MAC would be the published f1*; AUTS must not use it.
        let set = &TEST_SETS[0];
        let auts = build_auts(&context(set), &arr(set.rand), arr(set.sqn));
        assert_ne!(hex::encode(&auts[6..]), set.f1_star);
    }

    #[test]
    fn sqn_bytes_conversions_and_ranges() {
        assert_eq!(sqn_to_bytes(0x0102_0304_0506), Ok([1, 2, 3, 4, 5, 6]));
        assert_eq!(sqn_from_bytes(&[1, 2, 3, 4, 5, 6]), 0x0102_0304_0506);
        assert_eq!(sqn_to_bytes(SQN_MAX), Ok([0xff; 6]));
        assert_eq!(sqn_from_bytes(&[0xff; 6]), SQN_MAX);
        assert_eq!(
            sqn_to_bytes(SQN_MAX + 1),
            Err(SqnError::SqnOutOfRange(SQN_MAX + 1))
        );
        assert_eq!(
            sqn_to_bytes(u64::MAX),
            Err(SqnError::SqnOutOfRange(u64::MAX))
        );
    }

    #[test]
    fn sqn_policy_construction_limits() {
        let default = SqnPolicy::default();
        assert_eq!(default.ind_bits(), 5);
        assert_eq!(default.delta(), 1 << 28);
        assert_eq!(default.age_limit(), None);
        assert_eq!(default.ind_count(), 32);
        assert_eq!(default.max_seq(), (1 << 43) - 1);
        assert_eq!(SqnPolicy::new(5, 1 << 28), Ok(default));
        assert_eq!(SqnPolicy::new(17, 10), Err(SqnError::IndBitsOutOfRange(17)));
        assert_eq!(SqnPolicy::new(5, 0), Err(SqnError::DeltaOutOfRange(0)));
        assert_eq!(
            SqnPolicy::new(5, 1 << 43),
            Err(SqnError::DeltaOutOfRange(1 << 43))
        );
        assert!(SqnPolicy::new(0, SQN_MAX).is_ok());
        assert!(SqnPolicy::new(16, (1 << 32) - 1).is_ok());
        assert_eq!(
            default.with_age_limit(0),
            Err(SqnError::AgeLimitOutOfRange(0))
        );
        assert_eq!(
            default.with_age_limit(100).map(|p| p.age_limit()),
            Ok(Some(100))
        );
    }

    #[test]
    fn sqn_split_join_and_next() {
        let policy = SqnPolicy::default();
        assert_eq!(
            policy.split(0b1011_00111),
            Ok(SqnParts {
                seq: 0b1011,
                ind: 0b00111
            })
        );
        assert_eq!(
            policy.join(SqnParts {
                seq: 0b1011,
                ind: 7
            }),
            Ok(0b1011_00111)
        );
        assert_eq!(
            policy.split(SQN_MAX + 1),
            Err(SqnError::SqnOutOfRange(SQN_MAX + 1))
        );
        assert_eq!(
            policy.join(SqnParts { seq: 1, ind: 32 }),
            Err(SqnError::IndOutOfRange(32))
        );
        assert_eq!(
            policy.join(SqnParts {
                seq: 1 << 43,
                ind: 0
            }),
            Err(SqnError::SeqOutOfRange(1 << 43))
        );

        // First vector after "none issued": SEQ 1, IND 1.
        assert_eq!(policy.next_sqn(0), Ok(0b1_00001));
        // SEQ increments, IND cycles and wraps from 31 to 0 without touching SEQ's carry.
        let last = policy
            .join(SqnParts { seq: 41, ind: 31 })
            .expect("in range");
        let next = policy.next_sqn(last).expect("room left");
        assert_eq!(policy.split(next), Ok(SqnParts { seq: 42, ind: 0 }));
        // The counter never wraps.
        let top = policy
            .join(SqnParts {
                seq: policy.max_seq(),
                ind: 3,
            })
            .expect("in range");
        assert_eq!(policy.next_sqn(top), Err(SqnError::SeqExhausted));
        assert_eq!(policy.next_sqn(SQN_MAX), Err(SqnError::SeqExhausted));
        assert_eq!(
            policy.next_sqn(SQN_MAX + 1),
            Err(SqnError::SqnOutOfRange(SQN_MAX + 1))
        );
        // Without IND bits the SQN is a plain counter.
        let plain = SqnPolicy::new(0, 1000).expect("valid");
        assert_eq!(plain.next_sqn(41), Ok(42));
        assert_eq!(plain.next_sqn(SQN_MAX), Err(SqnError::SeqExhausted));

        let after = policy
            .next_after_resync(
                policy
                    .join(SqnParts { seq: 900, ind: 4 })
                    .expect("in range"),
            )
            .expect("room left");
        assert_eq!(policy.split(after), Ok(SqnParts { seq: 901, ind: 5 }));
    }

    #[test]
    fn usim_freshness_rules() {
        let policy = SqnPolicy::new(5, 100).expect("valid");
        let sqn = |seq, ind| policy.join(SqnParts { seq, ind }).expect("in range");
        let mut usim = UsimSqnState::new(policy);
        assert_eq!(usim.sqn_ms(), 0);
        assert_eq!(
            usim.check(sqn(0, 3)),
            Err(SqnError::NotFresh {
                seq: 0,
                last_accepted: 0
            })
        );
        assert_eq!(usim.accept(sqn(10, 3)), Ok(()));
        assert_eq!(usim.sqn_ms(), sqn(10, 3));
        // Replay of the same SQN, and an older SEQ on the same IND.
        assert_eq!(
            usim.accept(sqn(10, 3)),
            Err(SqnError::NotFresh {
                seq: 10,
                last_accepted: 10
            })
        );
        assert_eq!(
            usim.accept(sqn(9, 3)),
            Err(SqnError::NotFresh {
                seq: 9,
                last_accepted: 10
            })
        );
        // An older SEQ on another IND is fine: vectors may be used out of order.
        assert_eq!(usim.accept(sqn(5, 4)), Ok(()));
        assert_eq!(usim.sqn_ms(), sqn(10, 3), "SQN_MS stays the highest");
        // Delta: exactly delta ahead is accepted, one more is refused.
        assert_eq!(usim.accept(sqn(110, 0)), Ok(()));
        assert_eq!(
            usim.accept(sqn(211, 1)),
            Err(SqnError::TooFarAhead {
                seq: 211,
                highest_accepted: 110
            })
        );
        assert_eq!(usim.sqn_ms(), sqn(110, 0));

        // Age limit L.
        let aged = policy.with_age_limit(20).expect("valid");
        let mut usim = UsimSqnState::starting_at(aged, sqn(50, 2)).expect("in range");
        assert_eq!(
            usim.check(sqn(50, 7)),
            Err(SqnError::NotFresh {
                seq: 50,
                last_accepted: 50
            })
        );
        assert_eq!(usim.accept(sqn(51, 7)), Ok(()));
        let mut fresh_array = UsimSqnState::new(aged);
        fresh_array.accept(sqn(50, 2)).expect("fresh");
        assert_eq!(fresh_array.accept(sqn(31, 9)), Ok(()), "30 below is fine");
        assert_eq!(
            fresh_array.accept(sqn(30, 10)),
            Err(SqnError::TooOld {
                seq: 30,
                highest_accepted: 50
            })
        );
        assert_eq!(
            UsimSqnState::starting_at(policy, SQN_MAX + 1).map(|s| s.sqn_ms()),
            Err(SqnError::SqnOutOfRange(SQN_MAX + 1))
        );
    }

    #[test]
    fn network_and_usim_stay_in_step_then_resynchronise() {
        let set = &TEST_SETS[4];
        let m = context(set);
        let policy = SqnPolicy::default();
        let mut usim = UsimSqnState::new(policy);
        let mut rng = StdRng::seed_from_u64(35_206);
        let mut sqn_he = 0;
        for _ in 0..40 {
            sqn_he = policy.next_sqn(sqn_he).expect("room left");
            let v = generate_vector(
                &m,
                &mut rng,
                sqn_to_bytes(sqn_he).expect("48 bits"),
                [0x80, 0],
            );
            match usim_authenticate(&m, &mut usim, &v.rand, &v.autn) {
                Ok(UsimResponse::Accepted(result)) => assert_eq!(result.res, v.xres),
                other => panic!("expected acceptance, got {other:?}"),
            }
        }
        // A replayed challenge is refused with AUTS.
        let replayed = generate_vector(
            &m,
            &mut rng,
            sqn_to_bytes(sqn_he).expect("48 bits"),
            [0x80, 0],
        );
        assert!(matches!(
            usim_authenticate(&m, &mut usim, &replayed.rand, &replayed.autn),
            Ok(UsimResponse::SyncFailure {
                reason: SqnError::NotFresh { .. },
                ..
            })
        ));

        // The network lost its counter (restored from an old backup): SQN_HE far behind.
        let stale_sqn = policy.next_sqn(3).expect("room left");
        let v = generate_vector(
            &m,
            &mut rng,
            sqn_to_bytes(stale_sqn).expect("48 bits"),
            [0x80, 0],
        );
        let auts = match usim_authenticate(&m, &mut usim, &v.rand, &v.autn) {
            Ok(UsimResponse::SyncFailure { reason, auts }) => {
                assert!(matches!(reason, SqnError::NotFresh { .. }));
                auts
            }
            other => panic!("expected a sync failure, got {other:?}"),
        };
        // Sprout hands the AUTS over as resync-auth = base64(RAND || AUTS).
        let resync_auth = STANDARD.encode([&v.rand[..], &auts[..]].concat());
        let (rand, auts) = decode_resync_auth(&resync_auth).expect("well formed");
        let sqn_ms = resync(&m, &rand, &auts).expect("genuine AUTS");
        assert_eq!(sqn_from_bytes(&sqn_ms), usim.sqn_ms());
        let next = policy
            .next_after_resync(sqn_from_bytes(&sqn_ms))
            .expect("room left");
        let v = generate_vector(
            &m,
            &mut rng,
            sqn_to_bytes(next).expect("48 bits"),
            [0x80, 0],
        );
        assert!(matches!(
            usim_authenticate(&m, &mut usim, &v.rand, &v.autn),
            Ok(UsimResponse::Accepted(_))
        ));
        // A challenge from another subscriber's key is an authentication failure, not a resync.
        let other = Milenage::new(&[9u8; 16], &[8u8; 16]);
        let forged = generate_vector(
            &other,
            &mut rng,
            sqn_to_bytes(next + 1).expect("48 bits"),
            [0x80, 0],
        );
        assert_eq!(
            usim_authenticate(&m, &mut usim, &forged.rand, &forged.autn).map(|_| ()),
            Err(AutnError::MacFailure)
        );
    }

    #[test]
    fn nonce_encoding_and_parsing() {
        let set = &TEST_SETS[0];
        let v = generate_vector_with_rand(&context(set), arr(set.rand), arr(set.sqn), arr(set.amf));
        let nonce = v.sip_nonce();
        assert_eq!(nonce.len(), 44);
        assert_eq!(
            STANDARD.decode(&nonce).expect("base64"),
            v.challenge_bytes()
        );
        assert_eq!(&v.challenge_bytes()[..16], &v.rand);
        assert_eq!(&v.challenge_bytes()[16..], &v.autn);
        let mut reused = String::from("nonce=");
        v.write_sip_nonce(&mut reused);
        assert_eq!(reused, format!("nonce={nonce}"));

        let parsed = parse_nonce(&nonce).expect("valid nonce");
        assert_eq!(parsed.rand, v.rand);
        assert_eq!(parsed.autn, v.autn);
        assert!(parsed.server_data.is_empty());
        assert_eq!(parse_nonce(nonce.trim_end_matches('=')), Ok(parsed));

        let with_data = STANDARD.encode([&v.challenge_bytes()[..], b"server-opaque"].concat());
        let parsed = parse_nonce(&with_data).expect("valid nonce");
        assert_eq!(parsed.server_data, b"server-opaque");
        assert_eq!(parsed.autn, v.autn);

        assert_eq!(
            parse_nonce(&STANDARD.encode([0u8; 31])),
            Err(DecodeError::WrongLength {
                len: 31,
                expected: 32
            })
        );
        assert_eq!(
            parse_nonce(""),
            Err(DecodeError::WrongLength {
                len: 0,
                expected: 32
            })
        );
        assert_eq!(parse_nonce("not base64!"), Err(DecodeError::Base64));
        assert_eq!(
            parse_nonce(&nonce.replace('=', "==")),
            Err(DecodeError::Base64)
        );
        let huge = "A".repeat(MAX_NONCE_LEN + 4);
        assert_eq!(
            parse_nonce(&huge),
            Err(DecodeError::TooLong {
                len: MAX_NONCE_LEN + 4,
                max: MAX_NONCE_LEN
            })
        );
    }

    #[test]
    fn resync_parameters_decode() {
        let rand: [u8; 16] = core::array::from_fn(|i| i as u8);
        let auts: [u8; 14] = core::array::from_fn(|i| 0xa0 + i as u8);
        let encoded = STANDARD.encode([&rand[..], &auts[..]].concat());
        assert_eq!(encoded.len(), 40);
        assert_eq!(decode_resync_auth(&encoded), Ok((rand, auts)));
        assert_eq!(
            decode_resync_auth(encoded.trim_end_matches('=')),
            Ok((rand, auts))
        );
        assert_eq!(
            decode_resync_auth(&STANDARD.encode([0u8; 29])),
            Err(DecodeError::WrongLength {
                len: 29,
                expected: 30
            })
        );
        assert_eq!(
            decode_resync_auth(&STANDARD.encode([0u8; 31])),
            Err(DecodeError::WrongLength {
                len: 31,
                expected: 30
            })
        );
        assert_eq!(decode_resync_auth("%%%%"), Err(DecodeError::Base64));
        assert_eq!(
            decode_resync_auth(&"A".repeat(68)),
            Err(DecodeError::TooLong { len: 68, max: 64 })
        );
        // The largest accepted text decodes into the fixed buffer without overflow.
        assert_eq!(
            decode_resync_auth(&"A".repeat(64)),
            Err(DecodeError::WrongLength {
                len: 48,
                expected: 30
            })
        );

        assert_eq!(decode_auts(&STANDARD.encode(auts)), Ok(auts));
        assert_eq!(
            decode_auts(&STANDARD.encode(rand)),
            Err(DecodeError::WrongLength {
                len: 16,
                expected: 14
            })
        );
        assert_eq!(
            decode_auts(""),
            Err(DecodeError::WrongLength {
                len: 0,
                expected: 14
            })
        );
    }

    fn md5_hex(parts: &[&[u8]]) -> String {
        let mut hasher = md5::Md5::new();
        for part in parts {
            hasher.update(part);
        }
        hex::encode(hasher.finalize())
    }

    /// RFC 2617 qop=auth response, with the password as raw octets (RFC 3310: the password is RES).
    fn digest_response(
        user: &str,
        realm: &str,
        password: &[u8],
        nonce: &str,
        cnonce: &str,
    ) -> String {
        let ha1 = md5_hex(&[user.as_bytes(), b":", realm.as_bytes(), b":", password]);
        let ha2 = md5_hex(&[b"REGISTER:sip:ims.example.com"]);
        md5_hex(&[
            ha1.as_bytes(),
            b":",
            nonce.as_bytes(),
            b":00000001:",
            cnonce.as_bytes(),
            b":auth:",
            ha2.as_bytes(),
        ])
    }

    #[test]
    fn rfc_3310_akav1_exchange() {
        let set = &TEST_SETS[1];
        let network = context(set);
        // The UE holds K and OP; the network holds K and OPc.
        let ue = Milenage::with_op(&arr(set.k), &arr(set.op));
        let mut rng = StdRng::seed_from_u64(3310);
        let v = generate_vector(&network, &mut rng, arr(set.sqn), [0x80, 0x00]);
        let nonce = v.sip_nonce();

        let challenge = parse_nonce(&nonce).expect("valid nonce");
        let result = check_autn(&ue, &challenge.rand, &challenge.autn).expect("network is genuine");
        let user = "alice@ims.example.com";
        let realm = "ims.example.com";
        let sent = digest_response(
            user,
            realm,
            &akav1_password(&result.res),
            &nonce,
            "0a4f113b",
        );
        let expected = digest_response(user, realm, &akav1_password(&v.xres), &nonce, "0a4f113b");
        assert_eq!(sent, expected);
        assert_eq!(akav1_password(&v.xres), v.xres.to_vec());

        // A UE with another key cannot produce the response (and rejects the network first).
        let impostor = Milenage::new(&[1u8; 16], &arr(set.opc));
        assert!(check_autn(&impostor, &challenge.rand, &challenge.autn).is_err());
        let guessed = digest_response(
            user,
            realm,
            &impostor.f2345(&challenge.rand).res,
            &nonce,
            "0a4f113b",
        );
        assert_ne!(guessed, expected);
    }

    /// HMAC-MD5 written out from RFC 2104 with the md-5 crate only, independent of `hmac`.
    fn rfc2104_hmac_md5(key: &[u8], data: &[u8]) -> [u8; 16] {
        let mut block_key = [0u8; 64];
        if key.len() > 64 {
            block_key[..16].copy_from_slice(&md5::Md5::digest(key));
        } else {
            block_key[..key.len()].copy_from_slice(key);
        }
        let ipad: Vec<u8> = block_key.iter().map(|b| b ^ 0x36).collect();
        let opad: Vec<u8> = block_key.iter().map(|b| b ^ 0x5c).collect();
        let inner = md5::Md5::new()
            .chain_update(&ipad)
            .chain_update(data)
            .finalize();
        md5::Md5::new()
            .chain_update(&opad)
            .chain_update(inner)
            .finalize()
            .into()
    }

    #[test]
    fn rfc_4169_akav2_password() {
        // The independent HMAC first passes RFC 2104's published test (key "Jefe").
        assert_eq!(
            hex::encode(rfc2104_hmac_md5(b"Jefe", b"what do ya want for nothing?")),
            "750c783e6ab0b503eaa86e310a5db738"
        );
        for set in &TEST_SETS {
            let v =
                generate_vector_with_rand(&context(set), arr(set.rand), arr(set.sqn), arr(set.amf));
            let key = [&v.xres[..], &v.ik[..], &v.ck[..]].concat();
            let expected = STANDARD.encode(rfc2104_hmac_md5(&key, b"http-digest-akav2-password"));
            let password = akav2_password(&v.xres, &v.ik, &v.ck);
            assert_eq!(password, expected);
            assert_eq!(password.len(), 24);
            // Order matters: IK before CK, key and label not swapped.
            let swapped = [&v.xres[..], &v.ck[..], &v.ik[..]].concat();
            assert_ne!(
                password,
                STANDARD.encode(rfc2104_hmac_md5(&swapped, b"http-digest-akav2-password"))
            );
            assert_ne!(
                password,
                STANDARD.encode(rfc2104_hmac_md5(b"http-digest-akav2-password", &key))
            );
        }
        // Shorter RES values (TS 33.102 allows 4..16 octets) work too.
        let password = akav2_password(&[1, 2, 3, 4], &[0x20; 16], &[0x40; 16]);
        let key = [&[1u8, 2, 3, 4][..], &[0x20; 16], &[0x40; 16]].concat();
        assert_eq!(
            password,
            STANDARD.encode(rfc2104_hmac_md5(&key, b"http-digest-akav2-password"))
        );
    }

    #[test]
    fn debug_output_hides_secrets() {
        let set = &TEST_SETS[0];
        let m = context(set);
        let v = generate_vector_with_rand(&m, arr(set.rand), arr(set.sqn), arr(set.amf));
        let printed = format!("{v:?}");
        assert!(printed.contains(set.rand), "{printed}");
        for secret in [set.f2, set.f3, set.f4] {
            assert!(!printed.contains(secret), "{printed}");
        }
        let ue = check_autn(&m, &v.rand, &v.autn).expect("genuine");
        let printed = format!("{ue:?}");
        assert!(printed.contains(set.sqn), "{printed}");
        for secret in [set.f2, set.f3, set.f4] {
            assert!(!printed.contains(secret), "{printed}");
        }
    }

    #[test]
    fn errors_explain_themselves() {
        assert_eq!(
            ResyncError::WrongLength(3).to_string(),
            "AUTS is 3 octets, expected 14"
        );
        assert!(SqnError::SeqExhausted.to_string().contains("maximum"));
        assert!(AutnError::MacFailure.to_string().contains("MAC-A"));
        assert!(
            DecodeError::WrongLength {
                len: 3,
                expected: 30
            }
            .to_string()
            .contains("30")
        );
    }
}
