//! A Mainline DHT node (BEP 5) with IPv6 (BEP 32), the `ip` field (BEP 42), read-only
//! mode (BEP 43) and stored items (BEP 44), as a sans-IO state machine.
//!
//! No sockets, clocks, threads or tokio: time comes in as `now`, randomness from
//! [`Config::seed`], datagrams in through [`Dht::handle_datagram`] and out through
//! [`Dht::poll_transmit`]. So the runtime can run the DHT on the UDP socket uTP uses:
//! every datagram `shoal_utp::Endpoint` calls `NotUtp` is handed here, and announces can
//! use `implied_port`, letting nodes take the NAT's external port of that socket.
//!
//! # Modules
//!
//! - [`krpc`]: the message codec (any transaction id length up to 16 bytes, bounded lists,
//!   typed errors, canonical encoding); `compact` the compact address formats.
//! - `table`: a routing table per family (k-buckets); `addr` which addresses are usable.
//! - `server`: answers to queries, over `token` (write tokens), `peers` (announced peers)
//!   and `items` (BEP 44 store); `item` signs and verifies BEP 44 items.
//! - `client` and `lookup`: iterative lookups and their walks; `dht` the node itself.
//!
//! # The contract
//!
//! [`Dht`] is driven; it never drives.
//!
//! - **Inputs**, each returning at once: [`handle_datagram`](Dht::handle_datagram) for
//!   every datagram that may be KRPC (it returns `false` for junk),
//!   [`handle_timeout`](Dht::handle_timeout) when the deadline passes, and the caller's
//!   own calls: [`add_bootstrap`](Dht::add_bootstrap), [`add_node`](Dht::add_node),
//!   [`get_peers`](Dht::get_peers), [`announce`](Dht::announce),
//!   [`get_immutable`](Dht::get_immutable), [`put_immutable`](Dht::put_immutable),
//!   [`get_mutable`](Dht::get_mutable), [`put_mutable`](Dht::put_mutable),
//!   [`cancel`](Dht::cancel).
//! - **Outputs** leave only through the polls: [`poll_transmit`](Dht::poll_transmit)
//!   writes the next datagram into the caller's buffer and names the destination, whose
//!   family picks the socket (IPv4 or IPv6); [`poll_event`](Dht::poll_event) hands out
//!   [`Event`]s; [`poll_timeout`](Dht::poll_timeout) says when to call `handle_timeout`.
//! - **Queries**: [`nodes`](Dht::nodes) (good nodes, to save), [`stats`](Dht::stats),
//!   [`id`](Dht::id).
//!
//! **The drain rule.** After any input: `poll_transmit` until `None`, sending each
//! datagram; `poll_event` until `None`; then re-arm one timer for `poll_timeout`.
//!
//! **Events.** A lookup reports [`Event::Peers`] (get_peers, announce),
//! [`Event::Immutable`] or [`Event::Mutable`] (BEP 44 gets) as answers arrive, and ends
//! with one [`Event::LookupDone`]. [`Event::ExternalAddress`] passes on each node's view of
//! our address (BEP 42); the runtime should vote before trusting it (one node may lie).
//!
//! **Memory is bounded** by [`Config`]: requests in flight, lookups (each with at most 64
//! candidates per family), queued datagrams and events, stored peers per info-hash and
//! info-hashes, BEP 44 items; tables hold at most 160 buckets of k nodes and k
//! replacements. A flood of queries costs an answer each, nothing that stays.
//!
//! **Not done here.** The node id is drawn from the seed, not derived from our external IP
//! as BEP 42 proposes, and the ids of other nodes are not checked against their IPs;
//! [`Config::node_id`] lets the runtime set a BEP 42 id once it knows its address. There is
//! no per-IP rate limit of incoming queries (each costs one bounded answer), and BEP 44
//! items are not republished by us (the caller puts again, as BEP 44 asks of
//! publishers).
//!
//! # For the runtime
//!
//! - **Sharing the uTP socket.** Feed every datagram `shoal_utp::Endpoint::handle_datagram`
//!   calls `Datagram::NotUtp` to [`Dht::handle_datagram`] with its source address; send
//!   what [`Dht::poll_transmit`] writes on the same socket. With a second socket for the
//!   other family, pick it by [`Transmit::to`]'s family. Addresses are canonical: an
//!   IPv4-mapped IPv6 source (`::ffff:a.b.c.d`, from a dual-stack socket) is treated, and
//!   answered, as plain IPv4, so a runtime on one dual-stack socket maps IPv4
//!   destinations back before sending.
//! - **Announcing through a NAT.** `announce(now, info_hash, None)` sends
//!   `implied_port=1`: each node stores the source port it saw, which is the NAT's
//!   external port of the shared socket, where uTP peers can reach us. `Some(port)` sends
//!   that port (a TCP listen port not mapped like the UDP socket, for instance). An
//!   announce within 2 minutes of a `get_peers` of the same info-hash reuses its tokens
//!   and stores at once, without a second walk (and so without new peers).
//! - **Our external address.** Each reply carrying `ip` gives one
//!   [`Event::ExternalAddress`] `{ addr, reported_by }`; `addr` is our IP and the port as
//!   that node saw it. Count distinct `reported_by` before believing a change. Reported
//!   addresses are also never used as nodes or peers (that would be ourselves).
//! - **Saving the table.** [`Dht::nodes`] lists the good nodes; pass them to
//!   [`Dht::add_bootstrap`] next run, with the well-known routers.
//! - **A peer's PORT message** goes to [`Dht::add_node`], which pings it.
//! - **Events are not lost** as long as the runtime drains after each input; past
//!   [`Config::max_queued_events`] the oldest are dropped.
//!
//! # Example: two nodes and a toy driver
//!
//! ```
//! use shoal_dht::{Config, Dht, Event};
//! use std::net::SocketAddr;
//! use std::time::{Duration, Instant};
//!
//! let a_addr: SocketAddr = "127.0.0.1:6881".parse().unwrap();
//! let b_addr: SocketAddr = "127.0.0.2:6881".parse().unwrap();
//! let cfg = |seed| Config { seed, allow_private_addresses: true, ..Config::default() };
//! let mut now = Instant::now();
//! let mut a = Dht::new(cfg(1), now);
//! let mut b = Dht::new(cfg(2), now);
//!
//! // B knows A; B announces a torrent with implied_port, then A looks it up.
//! b.add_bootstrap(now, &[a_addr]).unwrap();
//! let mut buf = [0u8; 1500];
//! let mut found = Vec::new();
//! let mut announced = false;
//! for _ in 0..1000 {
//!     // Deliver every datagram at once (the "network"), then drain events.
//!     let mut delivered = false;
//!     for a_sends in [true, false] {
//!         let (src, dst, src_addr) = if a_sends {
//!             (&mut a, &mut b, a_addr)
//!         } else {
//!             (&mut b, &mut a, b_addr)
//!         };
//!         while let Some(t) = src.poll_transmit(&mut buf) {
//!             assert!(dst.handle_datagram(now, src_addr, &buf[..t.len]));
//!             delivered = true;
//!         }
//!     }
//!     while let Some(e) = b.poll_event() {
//!         if let Event::LookupDone { .. } = e {
//!             if !announced {
//!                 announced = true;
//!                 b.announce(now, [9; 20], None).unwrap();
//!             } else {
//!                 a.get_peers(now, [9; 20]).unwrap();
//!             }
//!         }
//!     }
//!     while let Some(e) = a.poll_event() {
//!         if let Event::Peers { peers, .. } = e {
//!             found.extend(peers);
//!         }
//!     }
//!     if !found.is_empty() {
//!         break;
//!     }
//!     if !delivered {
//!         now += Duration::from_millis(100);
//!         a.handle_timeout(now);
//!         b.handle_timeout(now);
//!     }
//! }
//! // implied_port: A stored B's source port.
//! assert_eq!(found, vec![b_addr]);
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs, unreachable_pub)]

mod addr;
mod client;
pub mod compact;
mod config;
mod dht;
mod event;
mod id;
mod item;
mod items;
pub mod krpc;
mod lookup;
mod peers;
mod rng;
mod server;
mod table;
mod token;

pub use client::LookupError;
pub use config::Config;
pub use dht::Dht;
pub use event::{Event, LookupId, LookupOutcome, Stats, Transmit};
pub use id::NodeId;
pub use item::{check_value, immutable_target, mutable_target, ItemError, MutableItem};
