//! Payloads carried in [`crate::Message::Extended`]: the BEP 10 extension handshake (id 0),
//! ut_metadata (BEP 9) and ut_pex (BEP 11). Only payloads live here; the envelope is the
//! ordinary message codec.
