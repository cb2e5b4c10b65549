//! Harness shared by the integration tests of the `shoal` binary.
//!
//! Every test gets its own [`TestDir`] (kept on failure so its logs can be read),
//! spawns real processes as [`Proc`]s (killed on drop, output captured to files in
//! the test dir), and talks only to 127.0.0.1 on ports from [`free_port`] or
//! chosen by the process itself. Every wait is bounded.
//!
//! The reference clients (libtorrent, Transmission, aria2, mktorrent, opentracker)
//! each have a small module. When one is missing, [`tools::require`] fails the
//! test under CI (`CI=true`) and skips it loudly elsewhere.

// Each test file compiles this module on its own and uses a different part of it.
#![allow(dead_code, unused_imports)]

pub mod aria2;
pub mod bencode;
pub mod data;
pub mod discovery;
pub mod https;
pub mod json;
pub mod libtorrent;
pub mod linkem;
pub mod magnet;
pub mod mktorrent;
pub mod nat;
pub mod net;
pub mod opentracker;
pub mod payload;
pub mod process;
pub mod refusal;
pub mod shoal;
pub mod testdir;
pub mod tools;
pub mod transmission;
pub mod wait;

pub use data::{assert_same_tree, seeded_bytes, tree_difference, write_seeded_file, write_tree};
pub use net::free_port;
pub use process::{Finished, Proc};
pub use testdir::TestDir;
pub use wait::{wait_until, TRANSFER_TIMEOUT};

/// Builds a `Vec<OsString>` argument list from strings, paths and the like.
#[macro_export]
macro_rules! args {
    ($($arg:expr),* $(,)?) => {
        vec![$(::std::ffi::OsString::from(::std::convert::AsRef::<::std::ffi::OsStr>::as_ref(&$arg))),*]
    };
}
