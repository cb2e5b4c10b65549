//! One engine against a scripted peer: protocol violations drop the peer, requests are
//! answered or rejected as BEP 3 and BEP 6 require, and per-peer queues stay bounded.

mod harness;

mod connections;
mod dht;
mod holepunch;
mod initial_seeding;
mod requesting;
mod serving;
mod stall;
mod violations;
