//! Payloads carried in [`crate::Message::Extended`]: the BEP 10 extension handshake (id 0),
//! ut_metadata (BEP 9), ut_pex (BEP 11) and ut_holepunch (BEP 55). Only payloads live here; the envelope is the
//! ordinary message codec.
//!
//! Ids: a peer's extension handshake tells us which id to put on messages we send *to it*
//! ([`ExtHandshake::id_of`]); messages it sends to us carry the ids we announced, which are the
//! constants [`OUR_UT_METADATA_ID`], [`OUR_UT_PEX_ID`] and [`OUR_UT_HOLEPUNCH_ID`].

mod handshake;
mod holepunch;
mod metadata;
mod pex;

pub use handshake::ExtHandshake;
pub use holepunch::{HolepunchErrorCode, HolepunchMsg};
pub use metadata::MetadataMsg;
pub use pex::{flags as pex_flags, PexMsg, PEX_MAX_ENTRIES};

/// Name of the metadata-exchange extension (BEP 9) in an extension handshake's `m` dict.
pub const UT_METADATA: &str = "ut_metadata";
/// Name of the peer-exchange extension (BEP 11) in an extension handshake's `m` dict.
pub const UT_PEX: &str = "ut_pex";
/// Name of the hole punching extension (BEP 55) in an extension handshake's `m` dict.
pub const UT_HOLEPUNCH: &str = "ut_holepunch";

/// The id we assign to ut_metadata in our extension handshake: peers put it on the
/// ut_metadata messages they send us.
pub const OUR_UT_METADATA_ID: u8 = 1;
/// The id we assign to ut_pex in our extension handshake: peers put it on the ut_pex
/// messages they send us.
pub const OUR_UT_PEX_ID: u8 = 2;
/// The id we assign to ut_holepunch in our extension handshake (when we announce it):
/// peers put it on the ut_holepunch messages they send us.
pub const OUR_UT_HOLEPUNCH_ID: u8 = 3;

/// ut_metadata transfers the info dictionary in pieces of this size (the last may be shorter).
pub const METADATA_PIECE_LEN: usize = 16384;

/// The id of the extension handshake itself in [`crate::Message::Extended`].
pub const HANDSHAKE_ID: u8 = 0;
