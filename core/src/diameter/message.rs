//! The Diameter header (RFC 6733 §3), whole messages, and framing of a TCP byte stream.

use std::fmt;

use bytes::{Bytes, BytesMut};

use super::avp::{AvpError, AvpKey, AvpList, read_u32};
use super::dict::avp;

/// Length of the Diameter header.
pub const HEADER_LEN: usize = 20;
/// The only protocol version (RFC 6733 §3).
pub const VERSION: u8 = 1;
/// Largest value the 24-bit Message Length field can hold.
pub const MAX_MESSAGE_LEN: usize = 0x00FF_FFFF;
/// A sensible [`frame`] limit for Cx, Sh and Zh: room for large User-Data documents while keeping
/// what one peer can make the shell buffer bounded.
pub const DEFAULT_MAX_MESSAGE_LEN: usize = 1 << 20;

flags_octet! {
    /// The Command Flags octet: 'R'equest, 'P'roxiable, 'E'rror and 'T' (potentially retransmitted).
    /// The four low bits are reserved; they are kept as received and ignored (RFC 6733 §3).
    pub struct CommandFlags {
        /// 'R': the message is a request.
        const REQUEST = 0x80;
        /// 'P': the message may be proxied, relayed or redirected.
        const PROXIABLE = 0x40;
        /// 'E': the answer reports a protocol error (a 3xxx Result-Code).
        const ERROR = 0x20;
        /// 'T': the request may be a retransmission after a link failover.
        const RETRANSMITTED = 0x10;
    }
}

impl fmt::Debug for CommandFlags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let letter = |flag: Self, c: char| if self.contains(flag) { c } else { '-' };
        write!(
            f,
            "CommandFlags({}{}{}{} {:#04x})",
            letter(Self::REQUEST, 'R'),
            letter(Self::PROXIABLE, 'P'),
            letter(Self::ERROR, 'E'),
            letter(Self::RETRANSMITTED, 'T'),
            self.0
        )
    }
}

/// The 20-octet Diameter header.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct Header {
    /// Version (1 in every message [`Message::parse`] accepts).
    pub version: u8,
    /// Message Length (24 bits): header and AVPs, padding included.
    pub length: u32,
    /// Command Flags.
    pub flags: CommandFlags,
    /// Command Code (24 bits).
    pub command_code: u32,
    /// Application-ID (0 for the base protocol's own commands).
    pub application_id: u32,
    /// Hop-by-Hop Identifier: matches an answer to its request on one connection.
    pub hop_by_hop: u32,
    /// End-to-End Identifier: detects duplicate requests.
    pub end_to_end: u32,
}

impl Header {
    /// Reads the header fields from the first 20 octets of `bytes`, without judging them; `None`
    /// if fewer than 20 octets are given.
    pub fn decode(bytes: &[u8]) -> Option<Self> {
        let word0 = read_u32(bytes, 0)?;
        let word1 = read_u32(bytes, 4)?;
        Some(Self {
            version: (word0 >> 24) as u8,
            length: word0 & 0x00FF_FFFF,
            flags: CommandFlags::from_bits((word1 >> 24) as u8),
            command_code: word1 & 0x00FF_FFFF,
            application_id: read_u32(bytes, 8)?,
            hop_by_hop: read_u32(bytes, 12)?,
            end_to_end: read_u32(bytes, 16)?,
        })
    }

    /// The encoded header. Length and Command Code are truncated to their 24 bits; the builder
    /// checks them before it gets here.
    pub fn encode(&self) -> [u8; HEADER_LEN] {
        let mut out = [0u8; HEADER_LEN];
        let words = [
            u32::from(self.version) << 24 | (self.length & 0x00FF_FFFF),
            u32::from(self.flags.bits()) << 24 | (self.command_code & 0x00FF_FFFF),
            self.application_id,
            self.hop_by_hop,
            self.end_to_end,
        ];
        for (chunk, word) in out.chunks_exact_mut(4).zip(words) {
            chunk.copy_from_slice(&word.to_be_bytes());
        }
        out
    }

    /// Whether the 'R' bit is set.
    pub const fn is_request(&self) -> bool {
        self.flags.contains(CommandFlags::REQUEST)
    }

    /// Whether the 'P' bit is set.
    pub const fn is_proxiable(&self) -> bool {
        self.flags.contains(CommandFlags::PROXIABLE)
    }

    /// Whether the 'E' bit is set.
    pub const fn is_error(&self) -> bool {
        self.flags.contains(CommandFlags::ERROR)
    }

    /// Whether the 'T' bit is set.
    pub const fn is_retransmitted(&self) -> bool {
        self.flags.contains(CommandFlags::RETRANSMITTED)
    }
}

impl AsRef<Header> for Header {
    fn as_ref(&self) -> &Header {
        self
    }
}

/// Why bytes are not one Diameter message.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum MessageError {
    /// Fewer than 20 octets.
    TooShort {
        /// Octets given.
        actual: usize,
    },
    /// A version other than 1.
    UnsupportedVersion(u8),
    /// The Message Length field disagrees with the number of octets given.
    LengthMismatch {
        /// The Message Length field.
        declared: u32,
        /// Octets given.
        actual: usize,
    },
}

impl fmt::Display for MessageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooShort { actual } => write!(f, "message of {actual} octets has no full header"),
            Self::UnsupportedVersion(version) => {
                write!(f, "unsupported Diameter version {version}")
            }
            Self::LengthMismatch { declared, actual } => {
                write!(f, "Message Length says {declared} octets, {actual} given")
            }
        }
    }
}

impl std::error::Error for MessageError {}

/// A Result-Code, or the Experimental-Result-Code of an Experimental-Result with its Vendor-Id.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum ResultCode {
    /// A Result-Code AVP (RFC 6733 §7.1).
    Base(u32),
    /// An Experimental-Result AVP (RFC 6733 §7.6), as used by 3GPP (Vendor-Id 10415).
    Experimental {
        /// Vendor-Id of the Experimental-Result.
        vendor_id: u32,
        /// Experimental-Result-Code.
        code: u32,
    },
}

impl ResultCode {
    /// The numeric code, whichever AVP carried it.
    pub const fn code(&self) -> u32 {
        match self {
            Self::Base(code) | Self::Experimental { code, .. } => *code,
        }
    }

    /// Whether the code is in the 2xxx success class.
    pub const fn is_success(&self) -> bool {
        matches!(self.code(), 2000..=2999)
    }
}

/// A whole Diameter message: its decoded header and its encoded bytes (a zero-copy view).
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Message {
    header: Header,
    bytes: Bytes,
}

impl Message {
    /// Checks the header of one complete message: at least 20 octets, version 1 and a Message
    /// Length equal to the number of octets. AVP framing is checked when the AVPs are read
    /// ([`Message::avps`]) or the message is validated.
    pub fn parse(bytes: Bytes) -> Result<Self, MessageError> {
        let header = Header::decode(&bytes).ok_or(MessageError::TooShort {
            actual: bytes.len(),
        })?;
        if header.version != VERSION {
            return Err(MessageError::UnsupportedVersion(header.version));
        }
        if header.length as usize != bytes.len() {
            return Err(MessageError::LengthMismatch {
                declared: header.length,
                actual: bytes.len(),
            });
        }
        Ok(Self { header, bytes })
    }

    pub(crate) fn from_parts(header: Header, bytes: Bytes) -> Self {
        Self { header, bytes }
    }

    /// The header.
    pub const fn header(&self) -> &Header {
        &self.header
    }

    /// The whole encoded message, ready to write to the peer.
    pub fn as_bytes(&self) -> &Bytes {
        &self.bytes
    }

    /// The encoded AVPs after the header (padding included), unchecked.
    pub fn avp_bytes(&self) -> Bytes {
        self.bytes.slice(HEADER_LEN.min(self.bytes.len())..)
    }

    /// The top-level AVPs, framing checked.
    pub fn avps(&self) -> Result<AvpList, AvpError> {
        AvpList::parse(self.avp_bytes())
    }

    /// The first top-level AVP with the given key.
    pub fn avp(&self, key: AvpKey) -> Result<Option<super::avp::Avp>, AvpError> {
        Ok(self.avps()?.get(key))
    }

    /// The outcome an answer reports: its Result-Code, else the code of its Experimental-Result;
    /// `None` if it has neither (or they cannot be read).
    pub fn result_code(&self) -> Result<Option<ResultCode>, AvpError> {
        let avps = self.avps()?;
        if let Some(code) = avps.get(avp::RESULT_CODE).and_then(|avp| avp.as_u32().ok()) {
            return Ok(Some(ResultCode::Base(code)));
        }
        let Some(experimental) = avps.get(avp::EXPERIMENTAL_RESULT) else {
            return Ok(None);
        };
        let members = experimental.grouped()?;
        let vendor_id = members.get(avp::VENDOR_ID).and_then(|a| a.as_u32().ok());
        let code = members
            .get(avp::EXPERIMENTAL_RESULT_CODE)
            .and_then(|a| a.as_u32().ok());
        Ok(match (vendor_id, code) {
            (Some(vendor_id), Some(code)) => Some(ResultCode::Experimental { vendor_id, code }),
            _ => None,
        })
    }

    /// A copy of this request with the 'T' bit set, for sending again after a link failover
    /// (RFC 6733 §5.5.4); identifiers and AVPs are unchanged.
    pub fn to_retransmission(&self) -> Self {
        let mut bytes = BytesMut::from(self.bytes.as_ref());
        let header = Header {
            flags: self.header.flags.union(CommandFlags::RETRANSMITTED),
            ..self.header
        };
        if let Some(flags) = bytes.get_mut(4) {
            *flags = header.flags.bits();
        }
        Self {
            header,
            bytes: bytes.freeze(),
        }
    }
}

impl AsRef<Header> for Message {
    fn as_ref(&self) -> &Header {
        &self.header
    }
}

/// Why a byte stream can no longer be framed. Each of these means the stream is lost: the shell
/// must close the connection (RFC 6733 §3 leaves no way to resynchronise).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum FrameError {
    /// The first octet of a message is not version 1.
    UnsupportedVersion(u8),
    /// The Message Length is smaller than the header.
    LengthBelowHeader(u32),
    /// The Message Length exceeds the limit given to [`frame`].
    TooLong {
        /// The Message Length field.
        length: u32,
        /// The limit.
        max: usize,
    },
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnsupportedVersion(version) => {
                write!(f, "unsupported Diameter version {version}")
            }
            Self::LengthBelowHeader(length) => {
                write!(f, "Message Length {length} is shorter than the header")
            }
            Self::TooLong { length, max } => {
                write!(
                    f,
                    "Message Length {length} exceeds the limit of {max} octets"
                )
            }
        }
    }
}

impl std::error::Error for FrameError {}

/// Takes the next complete message off the front of a TCP receive buffer.
///
/// Returns `Ok(None)` until the whole message has arrived (reserving room for it), and an error as
/// soon as the header shows the stream cannot be framed: version not 1, length under 20 octets or
/// over `max_len`. After an error the connection must be closed. A message whose length is not a
/// multiple of four is still framed (the stream stays in step); [`validate`](fn@super::validate) answers
/// it with 5015.
pub fn frame(buf: &mut BytesMut, max_len: usize) -> Result<Option<Message>, FrameError> {
    let Some(&version) = buf.first() else {
        return Ok(None);
    };
    if version != VERSION {
        return Err(FrameError::UnsupportedVersion(version));
    }
    let Some(word0) = read_u32(buf, 0) else {
        return Ok(None);
    };
    let length = word0 & 0x00FF_FFFF;
    let length_usize = length as usize;
    if length_usize < HEADER_LEN {
        return Err(FrameError::LengthBelowHeader(length));
    }
    if length_usize > max_len {
        return Err(FrameError::TooLong {
            length,
            max: max_len,
        });
    }
    if buf.len() < length_usize {
        buf.reserve(length_usize - buf.len());
        return Ok(None);
    }
    let bytes = buf.split_to(length_usize).freeze();
    let header = Header::decode(&bytes).ok_or(FrameError::LengthBelowHeader(length))?;
    Ok(Some(Message::from_parts(header, bytes)))
}
