//! Encoding messages in one pass: AVPs are appended to a `BytesMut` as they are given, and the
//! lengths of Grouped AVPs and of the message are patched in when they are closed.

use std::fmt;

use bytes::{BufMut, BytesMut};

use super::avp::{Address, Avp, AvpHeader, DiameterTime, MAX_AVP_LEN, padded_len};
use super::dict;
use super::message::{CommandFlags, HEADER_LEN, Header, MAX_MESSAGE_LEN, Message, VERSION};

/// Why a message could not be encoded.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum BuildError {
    /// An AVP (header and data) longer than the 24-bit AVP Length field can say.
    AvpTooLong {
        /// Code of the AVP.
        code: u32,
        /// Its length.
        length: usize,
    },
    /// A message longer than the 24-bit Message Length field can say.
    MessageTooLong(usize),
    /// A Command Code that does not fit in 24 bits.
    CommandCodeTooLarge(u32),
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::AvpTooLong { code, length } => {
                write!(
                    f,
                    "AVP {code} of {length} octets exceeds the 24-bit AVP Length"
                )
            }
            Self::MessageTooLong(length) => {
                write!(
                    f,
                    "message of {length} octets exceeds the 24-bit Message Length"
                )
            }
            Self::CommandCodeTooLarge(code) => write!(f, "Command Code {code} exceeds 24 bits"),
        }
    }
}

impl std::error::Error for BuildError {}

/// Appends one AVP; the first error is remembered and the AVP left out.
fn put_avp(buf: &mut BytesMut, error: &mut Option<BuildError>, header: AvpHeader, data: &[u8]) {
    let length = header.header_len() + data.len();
    if length > MAX_AVP_LEN {
        error.get_or_insert(BuildError::AvpTooLong {
            code: header.code,
            length,
        });
        return;
    }
    buf.reserve(padded_len(length));
    put_avp_header(buf, header, length);
    buf.put_slice(data);
    buf.put_bytes(0, padded_len(length) - length);
}

fn put_avp_header(buf: &mut BytesMut, header: AvpHeader, length: usize) {
    buf.put_u32(header.code);
    buf.put_u32(u32::from(header.wire_flags().bits()) << 24 | (length as u32 & 0x00FF_FFFF));
    if let Some(vendor_id) = header.vendor_id {
        buf.put_u32(vendor_id);
    }
}

/// Opens a Grouped AVP, lets `fill` append its members, then patches its length in.
fn put_grouped<F>(buf: &mut BytesMut, error: &mut Option<BuildError>, header: AvpHeader, fill: F)
where
    F: FnOnce(&mut GroupBuilder<'_>),
{
    let start = buf.len();
    put_avp_header(buf, header, 0);
    fill(&mut GroupBuilder {
        buf: &mut *buf,
        error: &mut *error,
    });
    // Members are padded, so the group's length is already a multiple of four.
    let length = buf.len() - start;
    if length > MAX_AVP_LEN {
        error.get_or_insert(BuildError::AvpTooLong {
            code: header.code,
            length,
        });
        buf.truncate(start);
        return;
    }
    let length_bytes = (length as u32).to_be_bytes();
    if let (Some(slot), Some(value)) = (buf.get_mut(start + 5..start + 8), length_bytes.get(1..)) {
        slot.copy_from_slice(value);
    }
}

fn address_bytes(address: &Address) -> Vec<u8> {
    let mut data = Vec::with_capacity(18);
    address.encode_into(&mut data);
    data
}

/// Writes the members of a Grouped AVP; handed to the closure of `grouped`.
pub struct GroupBuilder<'a> {
    buf: &'a mut BytesMut,
    error: &'a mut Option<BuildError>,
}

impl GroupBuilder<'_> {
    /// Appends an AVP with the given data (OctetString, or any already-encoded value).
    pub fn avp_bytes(&mut self, header: impl Into<AvpHeader>, data: &[u8]) -> &mut Self {
        put_avp(self.buf, self.error, header.into(), data);
        self
    }

    /// Appends a UTF8String, DiameterIdentity, DiameterURI or textual OctetString AVP.
    pub fn avp_str(&mut self, header: impl Into<AvpHeader>, value: &str) -> &mut Self {
        self.avp_bytes(header, value.as_bytes())
    }

    /// Appends an Unsigned32 AVP.
    pub fn avp_u32(&mut self, header: impl Into<AvpHeader>, value: u32) -> &mut Self {
        self.avp_bytes(header, &value.to_be_bytes())
    }

    /// Appends an Unsigned64 AVP.
    pub fn avp_u64(&mut self, header: impl Into<AvpHeader>, value: u64) -> &mut Self {
        self.avp_bytes(header, &value.to_be_bytes())
    }

    /// Appends an Integer32 or Enumerated AVP.
    pub fn avp_i32(&mut self, header: impl Into<AvpHeader>, value: i32) -> &mut Self {
        self.avp_bytes(header, &value.to_be_bytes())
    }

    /// Appends an Integer64 AVP.
    pub fn avp_i64(&mut self, header: impl Into<AvpHeader>, value: i64) -> &mut Self {
        self.avp_bytes(header, &value.to_be_bytes())
    }

    /// Appends a Float32 AVP.
    pub fn avp_f32(&mut self, header: impl Into<AvpHeader>, value: f32) -> &mut Self {
        self.avp_bytes(header, &value.to_be_bytes())
    }

    /// Appends a Float64 AVP.
    pub fn avp_f64(&mut self, header: impl Into<AvpHeader>, value: f64) -> &mut Self {
        self.avp_bytes(header, &value.to_be_bytes())
    }

    /// Appends an Address AVP.
    pub fn avp_address(
        &mut self,
        header: impl Into<AvpHeader>,
        address: impl Into<Address>,
    ) -> &mut Self {
        self.avp_bytes(header, &address_bytes(&address.into()))
    }

    /// Appends a Time AVP.
    pub fn avp_time(&mut self, header: impl Into<AvpHeader>, time: DiameterTime) -> &mut Self {
        self.avp_u32(header, time.0)
    }

    /// Appends a copy of a decoded AVP, header and data as received.
    pub fn avp_copy(&mut self, avp: &Avp) -> &mut Self {
        self.avp_bytes(avp.header(), &avp.data)
    }

    /// Appends a Grouped AVP whose members `fill` writes.
    pub fn grouped<F>(&mut self, header: impl Into<AvpHeader>, fill: F) -> &mut Self
    where
        F: FnOnce(&mut GroupBuilder<'_>),
    {
        put_grouped(self.buf, self.error, header.into(), fill);
        self
    }
}

/// Builds one message. Chain AVP methods and finish:
///
/// ```
/// use hearth_core::diameter::{MessageBuilder, dict::{app, avp, cmd, VENDOR_3GPP}};
///
/// let request = MessageBuilder::request(app::CX, cmd::MULTIMEDIA_AUTH)
///     .hop_by_hop(7)
///     .end_to_end(9)
///     .avp_str(avp::SESSION_ID, "hearth.example.org;1;2")
///     .grouped(avp::VENDOR_SPECIFIC_APPLICATION_ID, |g| {
///         g.avp_u32(avp::VENDOR_ID, VENDOR_3GPP).avp_u32(avp::AUTH_APPLICATION_ID, app::CX);
///     })
///     .finish()
///     .unwrap();
/// assert!(request.header().is_request() && request.header().is_proxiable());
/// ```
///
/// Lengths are written as AVPs are closed, so the message is encoded in a single pass over its
/// final buffer. An AVP or message too long for its 24-bit length field makes [`finish`] fail.
///
/// [`finish`]: MessageBuilder::finish
pub struct MessageBuilder {
    header: Header,
    buf: BytesMut,
    error: Option<BuildError>,
}

macro_rules! by_value {
    ($( $(#[$doc:meta])* fn $name:ident($($arg:ident: $ty:ty),*); )*) => {
        $(
            $(#[$doc])*
            pub fn $name(mut self, $($arg: $ty),*) -> Self {
                self.group().$name($($arg),*);
                self
            }
        )*
    };
}

impl MessageBuilder {
    /// A message with the given Command Code, Application-ID and flags; identifiers 0.
    pub fn new(command_code: u32, application_id: u32, flags: CommandFlags) -> Self {
        let mut buf = BytesMut::with_capacity(256);
        buf.put_bytes(0, HEADER_LEN);
        Self {
            header: Header {
                version: VERSION,
                length: 0,
                flags,
                command_code,
                application_id,
                hop_by_hop: 0,
                end_to_end: 0,
            },
            buf,
            error: None,
        }
    }

    /// A request: 'R' set, and 'P' set when the dictionary defines the command as proxiable (every
    /// Cx, Sh, Zh and Zn command; not CER, DWR or DPR). Identifiers are the caller's to set.
    pub fn request(application_id: u32, command_code: u32) -> Self {
        let proxiable = dict::command(application_id, command_code).is_some_and(|c| c.proxiable);
        let flags = CommandFlags::REQUEST.with(CommandFlags::PROXIABLE, proxiable);
        Self::new(command_code, application_id, flags)
    }

    /// The answer to a request (RFC 6733 §6.2): same Command Code, Application-ID, Hop-by-Hop and
    /// End-to-End identifiers and 'P' bit; 'R', 'E' and 'T' clear.
    pub fn answer_to(request: impl AsRef<Header>) -> Self {
        let request = request.as_ref();
        let flags = CommandFlags::empty().with(CommandFlags::PROXIABLE, request.is_proxiable());
        Self::new(request.command_code, request.application_id, flags)
            .hop_by_hop(request.hop_by_hop)
            .end_to_end(request.end_to_end)
    }

    /// Sets the Hop-by-Hop Identifier.
    pub fn hop_by_hop(mut self, id: u32) -> Self {
        self.header.hop_by_hop = id;
        self
    }

    /// Sets the End-to-End Identifier.
    pub fn end_to_end(mut self, id: u32) -> Self {
        self.header.end_to_end = id;
        self
    }

    /// Sets or clears the 'P' bit.
    pub fn set_proxiable(mut self, proxiable: bool) -> Self {
        self.header.flags = self.header.flags.with(CommandFlags::PROXIABLE, proxiable);
        self
    }

    /// Sets the 'E' bit (an answer reporting a protocol error).
    pub fn set_flag_e(mut self) -> Self {
        self.header.flags = self.header.flags.union(CommandFlags::ERROR);
        self
    }

    /// Sets the 'T' bit (a request sent again after a link failover).
    pub fn set_flag_t(mut self) -> Self {
        self.header.flags = self.header.flags.union(CommandFlags::RETRANSMITTED);
        self
    }

    /// The header as it stands (Message Length is filled in by [`MessageBuilder::finish`]).
    pub const fn header(&self) -> &Header {
        &self.header
    }

    /// Octets written so far, header included.
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    /// Whether no AVP has been written yet.
    pub fn is_empty(&self) -> bool {
        self.buf.len() == HEADER_LEN
    }

    fn group(&mut self) -> GroupBuilder<'_> {
        GroupBuilder {
            buf: &mut self.buf,
            error: &mut self.error,
        }
    }

    by_value! {
        /// Appends an AVP with the given data (OctetString, or any already-encoded value).
        fn avp_bytes(header: impl Into<AvpHeader>, data: &[u8]);
        /// Appends a UTF8String, DiameterIdentity, DiameterURI or textual OctetString AVP.
        fn avp_str(header: impl Into<AvpHeader>, value: &str);
        /// Appends an Unsigned32 AVP.
        fn avp_u32(header: impl Into<AvpHeader>, value: u32);
        /// Appends an Unsigned64 AVP.
        fn avp_u64(header: impl Into<AvpHeader>, value: u64);
        /// Appends an Integer32 or Enumerated AVP.
        fn avp_i32(header: impl Into<AvpHeader>, value: i32);
        /// Appends an Integer64 AVP.
        fn avp_i64(header: impl Into<AvpHeader>, value: i64);
        /// Appends a Float32 AVP.
        fn avp_f32(header: impl Into<AvpHeader>, value: f32);
        /// Appends a Float64 AVP.
        fn avp_f64(header: impl Into<AvpHeader>, value: f64);
        /// Appends an Address AVP.
        fn avp_address(header: impl Into<AvpHeader>, address: impl Into<Address>);
        /// Appends a Time AVP.
        fn avp_time(header: impl Into<AvpHeader>, time: DiameterTime);
        /// Appends a copy of a decoded AVP, header and data as received.
        fn avp_copy(avp: &Avp);
    }

    /// Appends a Grouped AVP whose members `fill` writes.
    pub fn grouped<F>(mut self, header: impl Into<AvpHeader>, fill: F) -> Self
    where
        F: FnOnce(&mut GroupBuilder<'_>),
    {
        self.group().grouped(header, fill);
        self
    }

    /// Writes the header and returns the encoded message.
    pub fn finish(mut self) -> Result<Message, BuildError> {
        if let Some(error) = self.error {
            return Err(error);
        }
        if self.header.command_code > 0x00FF_FFFF {
            return Err(BuildError::CommandCodeTooLarge(self.header.command_code));
        }
        let length = self.buf.len();
        if length > MAX_MESSAGE_LEN {
            return Err(BuildError::MessageTooLong(length));
        }
        self.header.length = length as u32;
        if let Some(slot) = self.buf.get_mut(..HEADER_LEN) {
            slot.copy_from_slice(&self.header.encode());
        }
        Ok(Message::from_parts(self.header, self.buf.freeze()))
    }
}
