//! AVPs (RFC 6733 §4): flags, keys, zero-copy decoding and typed accessors for the basic and derived
//! data formats (§4.2, §4.3).

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use bytes::Bytes;

/// Length of an AVP header without the Vendor-ID field.
pub const AVP_HEADER_LEN: usize = 8;
/// Length of an AVP header with the Vendor-ID field (the 'V' bit set).
pub const AVP_VENDOR_HEADER_LEN: usize = 12;
/// Largest value the 24-bit AVP Length field can hold (header and data, without padding).
pub const MAX_AVP_LEN: usize = 0x00FF_FFFF;
/// Deepest Grouped nesting that is decoded. A top-level AVP has depth 0, its members depth 1, and so
/// on; [`Avp::grouped`] refuses to open an AVP whose members would be deeper than this. Real Cx, Sh
/// and Zh messages nest three or four levels; the limit keeps hostile nesting cheap for recursive
/// walkers.
pub const MAX_GROUP_DEPTH: u8 = 16;

flags_octet! {
    /// The AVP Flags octet: 'V'endor-specific, 'M'andatory and 'P' (reserved for end-to-end security,
    /// RFC 6733 §4.1). The five low bits are reserved; they are kept as received and ignored.
    pub struct AvpFlags {
        /// 'V': the Vendor-ID field is present.
        const VENDOR = 0x80;
        /// 'M': the receiver must understand the AVP (and its value) or reject the message.
        const MANDATORY = 0x40;
        /// 'P': reserved by RFC 6733 for end-to-end security; senders should leave it clear.
        const PROTECTED = 0x20;
    }
}

impl fmt::Debug for AvpFlags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let letter = |flag: Self, c: char| if self.contains(flag) { c } else { '-' };
        write!(
            f,
            "AvpFlags({}{}{} {:#04x})",
            letter(Self::VENDOR, 'V'),
            letter(Self::MANDATORY, 'M'),
            letter(Self::PROTECTED, 'P'),
            self.0
        )
    }
}

/// What identifies an AVP: its code and, for vendor-specific AVPs, the Vendor-ID.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct AvpKey {
    /// AVP Code.
    pub code: u32,
    /// Vendor-ID, present exactly when the 'V' bit is set.
    pub vendor_id: Option<u32>,
}

impl AvpKey {
    /// An IETF AVP (no Vendor-ID).
    pub const fn base(code: u32) -> Self {
        Self {
            code,
            vendor_id: None,
        }
    }

    /// A vendor-specific AVP.
    pub const fn vendor(code: u32, vendor_id: u32) -> Self {
        Self {
            code,
            vendor_id: Some(vendor_id),
        }
    }
}

impl fmt::Display for AvpKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.vendor_id {
            Some(vendor) => write!(f, "{}/{}", self.code, vendor),
            None => write!(f, "{}", self.code),
        }
    }
}

/// The header an AVP is written with: code, flags and Vendor-ID.
///
/// When encoding, the 'V' bit is taken from whether `vendor_id` is present, whatever `flags` says,
/// so a header can never describe an AVP whose framing lies. `From<AvpKey>` (in the dictionary
/// module) fills the 'M' bit from the dictionary's rule for that AVP.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct AvpHeader {
    /// AVP Code.
    pub code: u32,
    /// Flags; the 'V' bit is recomputed from `vendor_id` when encoding.
    pub flags: AvpFlags,
    /// Vendor-ID for vendor-specific AVPs.
    pub vendor_id: Option<u32>,
}

impl AvpHeader {
    /// A header with the given code, Vendor-ID and flags.
    pub const fn new(code: u32, vendor_id: Option<u32>, flags: AvpFlags) -> Self {
        Self {
            code,
            flags,
            vendor_id,
        }
    }

    /// The key (code and Vendor-ID) this header names.
    pub const fn key(&self) -> AvpKey {
        AvpKey {
            code: self.code,
            vendor_id: self.vendor_id,
        }
    }

    /// The flags octet as written on the wire: 'V' set exactly when a Vendor-ID is present.
    pub const fn wire_flags(&self) -> AvpFlags {
        match self.vendor_id {
            Some(_) => self.flags.union(AvpFlags::VENDOR),
            None => self.flags.difference(AvpFlags::VENDOR),
        }
    }

    /// Length of the encoded header: 12 octets with a Vendor-ID, 8 without.
    pub const fn header_len(&self) -> usize {
        match self.vendor_id {
            Some(_) => AVP_VENDOR_HEADER_LEN,
            None => AVP_HEADER_LEN,
        }
    }
}

impl From<(u32, Option<u32>, AvpFlags)> for AvpHeader {
    fn from((code, vendor_id, flags): (u32, Option<u32>, AvpFlags)) -> Self {
        Self::new(code, vendor_id, flags)
    }
}

impl From<&Avp> for AvpHeader {
    fn from(avp: &Avp) -> Self {
        avp.header()
    }
}

/// Why a run of AVPs cannot be framed (RFC 6733 §4.1). Each of these is answered with
/// `DIAMETER_INVALID_AVP_LENGTH` (5014) by [`validate`](fn@super::validate).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum AvpErrorKind {
    /// Fewer octets remain than the AVP header needs (8, or 12 with the 'V' bit).
    TruncatedHeader {
        /// Octets left in the enclosing message or Grouped AVP.
        available: usize,
    },
    /// The AVP Length is smaller than the AVP's own header.
    LengthBelowHeader {
        /// The AVP Length field.
        length: u32,
    },
    /// The AVP Length runs past the end of the enclosing message or Grouped AVP.
    Overrun {
        /// The AVP Length field.
        length: u32,
        /// Octets left in the enclosing message or Grouped AVP.
        available: usize,
    },
    /// Opening this Grouped AVP would nest deeper than [`MAX_GROUP_DEPTH`].
    DepthLimit,
}

/// An AVP framing error: what is wrong, and where (the offset of the offending AVP within the
/// enclosing message body or Grouped AVP data).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct AvpError {
    /// What is wrong.
    pub kind: AvpErrorKind,
    /// Offset of the offending AVP from the start of the enclosing AVP run.
    pub offset: usize,
}

impl fmt::Display for AvpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            AvpErrorKind::TruncatedHeader { available } => write!(
                f,
                "AVP header at offset {} truncated ({available} octets left)",
                self.offset
            ),
            AvpErrorKind::LengthBelowHeader { length } => write!(
                f,
                "AVP at offset {} has length {length}, shorter than its header",
                self.offset
            ),
            AvpErrorKind::Overrun { length, available } => write!(
                f,
                "AVP at offset {} has length {length} but only {available} octets remain",
                self.offset
            ),
            AvpErrorKind::DepthLimit => write!(
                f,
                "Grouped AVP at offset {} nests deeper than {MAX_GROUP_DEPTH} levels",
                self.offset
            ),
        }
    }
}

impl std::error::Error for AvpError {}

/// Why an AVP's data does not hold a value of the requested type.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum ValueError {
    /// A fixed-size type (Integer32, Unsigned64, Float32, Time, ...) with the wrong data length.
    Length {
        /// Data length the type requires.
        expected: usize,
        /// Data length received.
        actual: usize,
    },
    /// Address data shorter than its 2-octet AddressType.
    AddressTooShort {
        /// Data length received.
        actual: usize,
    },
    /// An IPv4 (family 1) or IPv6 (family 2) Address whose length does not match the family.
    AddressLength {
        /// The AddressType (IANA address family number).
        family: u16,
        /// Address octets received after the family.
        actual: usize,
    },
    /// UTF8String data that is not valid UTF-8.
    InvalidUtf8,
    /// DiameterIdentity data that is empty, longer than 255 octets, or not printable ASCII.
    InvalidIdentity,
    /// An Enumerated value the dictionary does not define, in an AVP with the 'M' bit set.
    UnknownEnumValue(i32),
}

impl ValueError {
    /// The Result-Code RFC 6733 §7.1.5 assigns: 5014 `DIAMETER_INVALID_AVP_LENGTH` for a length that
    /// does not fit the type, 5004 `DIAMETER_INVALID_AVP_VALUE` for a bad value.
    pub const fn result_code(&self) -> u32 {
        match self {
            Self::Length { .. } | Self::AddressTooShort { .. } => 5014,
            _ => 5004,
        }
    }
}

impl fmt::Display for ValueError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Length { expected, actual } => {
                write!(f, "data is {actual} octets, the type needs {expected}")
            }
            Self::AddressTooShort { actual } => {
                write!(
                    f,
                    "Address data is {actual} octets, shorter than its family"
                )
            }
            Self::AddressLength { family, actual } => {
                write!(f, "Address of family {family} has {actual} address octets")
            }
            Self::InvalidUtf8 => f.write_str("UTF8String data is not valid UTF-8"),
            Self::InvalidIdentity => {
                f.write_str("DiameterIdentity is empty, too long or not printable ASCII")
            }
            Self::UnknownEnumValue(value) => write!(f, "Enumerated value {value} is not defined"),
        }
    }
}

impl std::error::Error for ValueError {}

/// An Address (RFC 6733 §4.3.1): a 2-octet IANA address family followed by the address.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub enum Address {
    /// Family 1.
    V4(Ipv4Addr),
    /// Family 2.
    V6(Ipv6Addr),
    /// Any other family (E.164 is 8, for instance), with its address octets as received.
    Other {
        /// The AddressType.
        family: u16,
        /// The address octets.
        value: Bytes,
    },
}

impl Address {
    /// IANA address family number of IPv4.
    pub const FAMILY_IPV4: u16 = 1;
    /// IANA address family number of IPv6.
    pub const FAMILY_IPV6: u16 = 2;

    /// The AddressType written before the address.
    pub fn family(&self) -> u16 {
        match self {
            Self::V4(_) => Self::FAMILY_IPV4,
            Self::V6(_) => Self::FAMILY_IPV6,
            Self::Other { family, .. } => *family,
        }
    }

    /// The IP address, for the IPv4 and IPv6 families.
    pub fn ip(&self) -> Option<IpAddr> {
        match self {
            Self::V4(ip) => Some(IpAddr::V4(*ip)),
            Self::V6(ip) => Some(IpAddr::V6(*ip)),
            Self::Other { .. } => None,
        }
    }

    /// Decodes Address data.
    pub fn decode(data: &Bytes) -> Result<Self, ValueError> {
        let family = read_u16(data, 0).ok_or(ValueError::AddressTooShort { actual: data.len() })?;
        let value = data.slice(2..);
        let address_error = ValueError::AddressLength {
            family,
            actual: value.len(),
        };
        match family {
            Self::FAMILY_IPV4 => {
                let octets: [u8; 4] = value.as_ref().try_into().map_err(|_| address_error)?;
                Ok(Self::V4(Ipv4Addr::from(octets)))
            }
            Self::FAMILY_IPV6 => {
                let octets: [u8; 16] = value.as_ref().try_into().map_err(|_| address_error)?;
                Ok(Self::V6(Ipv6Addr::from(octets)))
            }
            _ => Ok(Self::Other { family, value }),
        }
    }

    /// Appends the encoded Address (family then address) to `out`.
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.family().to_be_bytes());
        match self {
            Self::V4(ip) => out.extend_from_slice(&ip.octets()),
            Self::V6(ip) => out.extend_from_slice(&ip.octets()),
            Self::Other { value, .. } => out.extend_from_slice(value),
        }
    }
}

impl From<IpAddr> for Address {
    fn from(ip: IpAddr) -> Self {
        match ip {
            IpAddr::V4(ip) => Self::V4(ip),
            IpAddr::V6(ip) => Self::V6(ip),
        }
    }
}

impl From<Ipv4Addr> for Address {
    fn from(ip: Ipv4Addr) -> Self {
        Self::V4(ip)
    }
}

impl From<Ipv6Addr> for Address {
    fn from(ip: Ipv6Addr) -> Self {
        Self::V6(ip)
    }
}

/// A Time value (RFC 6733 §4.3.1): seconds since 1900-01-01T00:00:00Z as in NTP, with the RFC 4330
/// §3 rule that extends the range to 2104: values with the top bit clear are counted from
/// 2036-02-07T06:28:16Z.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct DiameterTime(pub u32);

impl DiameterTime {
    /// Seconds from the NTP epoch (1900) to the Unix epoch (1970).
    pub const NTP_TO_UNIX: i64 = 2_208_988_800;
    /// Earliest representable instant, 1968-01-20T03:14:08Z, in Unix seconds.
    pub const MIN_UNIX: i64 = 0x8000_0000 - Self::NTP_TO_UNIX;
    /// Latest representable instant, 2104-02-26T09:42:23Z, in Unix seconds.
    pub const MAX_UNIX: i64 = (1 << 32) + 0x7FFF_FFFF - Self::NTP_TO_UNIX;

    /// Seconds since the Unix epoch this value stands for.
    pub const fn to_unix(self) -> i64 {
        let seconds = self.0 as i64;
        if self.0 & 0x8000_0000 != 0 {
            seconds - Self::NTP_TO_UNIX
        } else {
            seconds + (1 << 32) - Self::NTP_TO_UNIX
        }
    }

    /// The value for `unix` seconds since the Unix epoch, or `None` outside 1968-2104.
    pub const fn from_unix(unix: i64) -> Option<Self> {
        if unix < Self::MIN_UNIX || unix > Self::MAX_UNIX {
            return None;
        }
        let ntp = unix + Self::NTP_TO_UNIX;
        // In range, `ntp` lies in [2^31, 2^32 + 2^31): the low 32 bits are the wire value.
        Some(Self((ntp & 0xFFFF_FFFF) as u32))
    }
}

/// One decoded AVP: its header fields and its data, a zero-copy slice of the received message.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Avp {
    /// AVP Code.
    pub code: u32,
    /// AVP Flags as received (the 'V' bit agrees with `vendor_id`).
    pub flags: AvpFlags,
    /// Vendor-ID, present exactly when the 'V' bit is set.
    pub vendor_id: Option<u32>,
    /// AVP data, without padding.
    pub data: Bytes,
    depth: u8,
}

impl Avp {
    /// The key (code and Vendor-ID) of this AVP.
    pub const fn key(&self) -> AvpKey {
        AvpKey {
            code: self.code,
            vendor_id: self.vendor_id,
        }
    }

    /// Whether this AVP has the given key.
    pub fn is(&self, key: AvpKey) -> bool {
        self.key() == key
    }

    /// The header this AVP was received with.
    pub const fn header(&self) -> AvpHeader {
        AvpHeader {
            code: self.code,
            flags: self.flags,
            vendor_id: self.vendor_id,
        }
    }

    /// Whether the 'M' bit is set.
    pub const fn is_mandatory(&self) -> bool {
        self.flags.contains(AvpFlags::MANDATORY)
    }

    /// Nesting depth: 0 for an AVP directly in a message, one more for each enclosing Grouped AVP.
    pub const fn depth(&self) -> u8 {
        self.depth
    }

    /// Length of the encoded AVP without padding (the AVP Length field).
    pub fn len(&self) -> usize {
        self.header().header_len() + self.data.len()
    }

    /// Whether the AVP carries no data.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    fn fixed<const N: usize>(&self) -> Result<[u8; N], ValueError> {
        self.data
            .as_ref()
            .try_into()
            .map_err(|_| ValueError::Length {
                expected: N,
                actual: self.data.len(),
            })
    }

    /// The data as Unsigned32.
    pub fn as_u32(&self) -> Result<u32, ValueError> {
        self.fixed().map(u32::from_be_bytes)
    }

    /// The data as Unsigned64.
    pub fn as_u64(&self) -> Result<u64, ValueError> {
        self.fixed().map(u64::from_be_bytes)
    }

    /// The data as Integer32.
    pub fn as_i32(&self) -> Result<i32, ValueError> {
        self.fixed().map(i32::from_be_bytes)
    }

    /// The data as Integer64.
    pub fn as_i64(&self) -> Result<i64, ValueError> {
        self.fixed().map(i64::from_be_bytes)
    }

    /// The data as Float32 (IEEE 754, big-endian).
    pub fn as_f32(&self) -> Result<f32, ValueError> {
        self.fixed().map(f32::from_be_bytes)
    }

    /// The data as Float64 (IEEE 754, big-endian).
    pub fn as_f64(&self) -> Result<f64, ValueError> {
        self.fixed().map(f64::from_be_bytes)
    }

    /// The data as Enumerated (an Integer32; whether the value is defined is the dictionary's
    /// business).
    pub fn as_enumerated(&self) -> Result<i32, ValueError> {
        self.as_i32()
    }

    /// The data as OctetString.
    pub fn as_octets(&self) -> &[u8] {
        &self.data
    }

    /// The data as UTF8String, checked to be valid UTF-8.
    pub fn as_utf8(&self) -> Result<&str, ValueError> {
        std::str::from_utf8(&self.data).map_err(|_| ValueError::InvalidUtf8)
    }

    /// The data as DiameterIdentity: an FQDN or realm, which must be 1 to 255 octets of printable
    /// ASCII (IDNs travel as A-labels).
    pub fn as_identity(&self) -> Result<&str, ValueError> {
        let data: &[u8] = &self.data;
        if data.is_empty() || data.len() > 255 || !data.iter().all(u8::is_ascii_graphic) {
            return Err(ValueError::InvalidIdentity);
        }
        std::str::from_utf8(data).map_err(|_| ValueError::InvalidIdentity)
    }

    /// The data as Address.
    pub fn as_address(&self) -> Result<Address, ValueError> {
        Address::decode(&self.data)
    }

    /// The data as Time.
    pub fn as_time(&self) -> Result<DiameterTime, ValueError> {
        self.as_u32().map(DiameterTime)
    }

    /// The data as Grouped: its member AVPs, framing checked. Fails if a member's length is wrong
    /// or if the members would nest deeper than [`MAX_GROUP_DEPTH`].
    pub fn grouped(&self) -> Result<AvpList, AvpError> {
        if self.depth >= MAX_GROUP_DEPTH {
            return Err(AvpError {
                kind: AvpErrorKind::DepthLimit,
                offset: 0,
            });
        }
        AvpList::with_depth(self.data.clone(), self.depth + 1)
    }
}

/// A run of AVPs (a message body or a Grouped AVP's data) whose framing has been checked, so that
/// iterating it cannot fail. Cloning is cheap (a reference count).
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct AvpList {
    data: Bytes,
    depth: u8,
}

impl AvpList {
    /// Checks the framing of a top-level run of AVPs (a message body).
    pub fn parse(data: Bytes) -> Result<Self, AvpError> {
        Self::with_depth(data, 0)
    }

    pub(crate) fn with_depth(data: Bytes, depth: u8) -> Result<Self, AvpError> {
        let mut offset = 0;
        while let Some((_, next)) = read_avp(&data, offset, depth)? {
            offset = next;
        }
        Ok(Self { data, depth })
    }

    /// The AVPs in order.
    pub fn iter(&self) -> AvpIter {
        AvpIter {
            data: self.data.clone(),
            offset: 0,
            depth: self.depth,
        }
    }

    /// The first AVP with the given key.
    pub fn get(&self, key: AvpKey) -> Option<Avp> {
        self.iter().find(|avp| avp.is(key))
    }

    /// Every AVP with the given key, in order.
    pub fn all(&self, key: AvpKey) -> impl Iterator<Item = Avp> + use<> {
        self.iter().filter(move |avp| avp.is(key))
    }

    /// Whether the run holds no AVP.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// The encoded AVPs, padding included.
    pub fn as_bytes(&self) -> &Bytes {
        &self.data
    }

    /// Nesting depth of the AVPs in this run.
    pub const fn depth(&self) -> u8 {
        self.depth
    }
}

impl IntoIterator for &AvpList {
    type Item = Avp;
    type IntoIter = AvpIter;

    fn into_iter(self) -> AvpIter {
        self.iter()
    }
}

/// Iterator over an [`AvpList`].
#[derive(Clone, Debug)]
pub struct AvpIter {
    data: Bytes,
    offset: usize,
    depth: u8,
}

impl Iterator for AvpIter {
    type Item = Avp;

    fn next(&mut self) -> Option<Avp> {
        // The list's framing was checked when it was built; an error cannot occur, and would
        // simply end the iteration.
        let (avp, next) = read_avp(&self.data, self.offset, self.depth).ok()??;
        self.offset = next;
        Some(avp)
    }
}

/// Raw header fields of the AVP at `offset`, as far as they are present: code, flags, and the
/// Vendor-ID if the 'V' bit is set and the field is complete. Used to report AVPs whose framing is
/// broken.
pub(crate) fn partial_header(data: &[u8], offset: usize) -> AvpHeader {
    let rest = data.get(offset..).unwrap_or_default();
    let mut header = [0u8; AVP_VENDOR_HEADER_LEN];
    let present = rest.len().min(AVP_VENDOR_HEADER_LEN);
    if let (Some(dst), Some(src)) = (header.get_mut(..present), rest.get(..present)) {
        dst.copy_from_slice(src);
    }
    let [c0, c1, c2, c3, flags, _, _, _, v0, v1, v2, v3] = header;
    let flags = AvpFlags::from_bits(flags);
    let vendor_id = flags
        .contains(AvpFlags::VENDOR)
        .then_some(u32::from_be_bytes([v0, v1, v2, v3]));
    AvpHeader::new(u32::from_be_bytes([c0, c1, c2, c3]), vendor_id, flags)
}

/// Decodes the AVP at `offset` of `data`: `Ok(None)` at the end of the run, otherwise the AVP and
/// the offset of the next one. The last AVP of a run may omit its padding (some peers leave it to
/// the enclosing AVP's padding); every other AVP must be followed by its padding.
pub(crate) fn read_avp(
    data: &Bytes,
    offset: usize,
    depth: u8,
) -> Result<Option<(Avp, usize)>, AvpError> {
    let available = data.len().saturating_sub(offset);
    if available == 0 {
        return Ok(None);
    }
    let error = |kind| AvpError { kind, offset };
    let truncated = error(AvpErrorKind::TruncatedHeader { available });
    let code = read_u32(data, offset).ok_or(truncated)?;
    let flags_and_length = read_u32(data, offset + 4).ok_or(truncated)?;
    let flags = AvpFlags::from_bits((flags_and_length >> 24) as u8);
    let length = flags_and_length & 0x00FF_FFFF;
    let (vendor_id, header_len) = if flags.contains(AvpFlags::VENDOR) {
        let vendor = read_u32(data, offset + AVP_HEADER_LEN).ok_or(truncated)?;
        (Some(vendor), AVP_VENDOR_HEADER_LEN)
    } else {
        (None, AVP_HEADER_LEN)
    };
    let length_usize = length as usize;
    if length_usize < header_len {
        return Err(error(AvpErrorKind::LengthBelowHeader { length }));
    }
    if length_usize > available {
        return Err(error(AvpErrorKind::Overrun { length, available }));
    }
    let end = offset + length_usize;
    let next = (offset + padded_len(length_usize)).min(data.len());
    let avp = Avp {
        code,
        flags,
        vendor_id,
        data: data.slice(offset + header_len..end),
        depth,
    };
    Ok(Some((avp, next)))
}

/// `len` rounded up to a multiple of four.
pub const fn padded_len(len: usize) -> usize {
    (len + 3) & !3
}

fn read_u16(data: &[u8], offset: usize) -> Option<u16> {
    let bytes = data.get(offset..offset.checked_add(2)?)?;
    Some(u16::from_be_bytes(bytes.try_into().ok()?))
}

pub(crate) fn read_u32(data: &[u8], offset: usize) -> Option<u32> {
    let bytes = data.get(offset..offset.checked_add(4)?)?;
    Some(u32::from_be_bytes(bytes.try_into().ok()?))
}
