//! Diameter (RFC 6733) codec, sans-IO and zero-copy, with the dictionary of the base protocol and
//! of the 3GPP applications Hearth speaks: Cx/Dx to an external HSS (TS 29.229), Sh (TS 29.329)
//! and Zh/Zn for GBA (TS 29.109).
//!
//! - [`frame`] takes complete messages off a TCP receive buffer; a [`FrameError`] means the stream
//!   is lost and the connection must be closed.
//! - [`Message`] keeps the received bytes; [`Message::avps`] checks AVP framing once and then
//!   iterates [`Avp`]s whose data are slices of those bytes. Typed accessors
//!   ([`Avp::as_u32`], [`Avp::as_utf8`], [`Avp::as_address`], [`Avp::grouped`], ...) check the
//!   data against its type.
//! - [`validate`] checks a message against the [`dict`]ionary and returns the [`Rejection`]
//!   (Result-Code and Failed-AVP) RFC 6733 §7 prescribes; [`error_answer`] turns it into the
//!   answer.
//! - [`MessageBuilder`] encodes requests and answers in one pass, patching lengths in as Grouped
//!   AVPs and the message are closed.
//!
//! Nothing here panics on any input, and every length an outsider controls is checked before use:
//! message size against the framer's limit, AVP lengths against their enclosing message or Grouped
//! AVP, Grouped nesting against [`MAX_GROUP_DEPTH`].

/// Defines a one-octet flags type: named bit constants plus the few set operations the codec needs.
/// Both Diameter flag octets (command flags, AVP flags) have this shape.
macro_rules! flags_octet {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $( $(#[$cmeta:meta])* const $flag:ident = $bit:expr; )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
        pub struct $name(u8);

        impl $name {
            $( $(#[$cmeta])* pub const $flag: Self = Self($bit); )*

            /// No flag set.
            pub const fn empty() -> Self {
                Self(0)
            }

            /// The flags octet exactly as given, reserved bits included.
            pub const fn from_bits(bits: u8) -> Self {
                Self(bits)
            }

            /// The flags octet.
            pub const fn bits(self) -> u8 {
                self.0
            }

            /// Whether every bit set in `other` is set here.
            pub const fn contains(self, other: Self) -> bool {
                self.0 & other.0 == other.0
            }

            /// These flags with the bits of `other` added.
            pub const fn union(self, other: Self) -> Self {
                Self(self.0 | other.0)
            }

            /// These flags with the bits of `other` removed.
            pub const fn difference(self, other: Self) -> Self {
                Self(self.0 & !other.0)
            }

            /// These flags with the bits of `other` set or cleared.
            pub const fn with(self, other: Self, set: bool) -> Self {
                if set {
                    self.union(other)
                } else {
                    self.difference(other)
                }
            }
        }

        impl std::ops::BitOr for $name {
            type Output = Self;

            fn bitor(self, rhs: Self) -> Self {
                self.union(rhs)
            }
        }
    };
}

mod avp;
mod builder;
pub mod cx;
pub mod dict;
mod message;
pub mod peer;
mod validate;

#[cfg(test)]
mod tests;

pub use avp::{
    AVP_HEADER_LEN, AVP_VENDOR_HEADER_LEN, Address, Avp, AvpError, AvpErrorKind, AvpFlags,
    AvpHeader, AvpIter, AvpKey, AvpList, DiameterTime, MAX_AVP_LEN, MAX_GROUP_DEPTH, ValueError,
    padded_len,
};
pub use builder::{BuildError, GroupBuilder, MessageBuilder};
pub use message::{
    CommandFlags, DEFAULT_MAX_MESSAGE_LEN, FrameError, HEADER_LEN, Header, MAX_MESSAGE_LEN,
    Message, MessageError, ResultCode, VERSION, frame,
};
pub use validate::{Rejection, error_answer, validate};
