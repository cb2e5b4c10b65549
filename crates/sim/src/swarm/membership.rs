//! Who is in the swarm: adding nodes (each with its engine, store and label address),
//! telling them about each other, and taking them off the network.

use super::Swarm;
use crate::model::Link;
use crate::node::{
    Behaviour, Node, NodeId, NodeInfo, NodeLog, NodeSpec, Role, ServeLog, UploadPipe,
};
use crate::storage::Store;
use shoal_core::{Bitfield, PeerId};
use shoal_engine::{Config, PeerSource, Torrent};
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};

impl Swarm {
    /// Adds an honest node that has the whole torrent.
    pub fn add_seeder(&mut self, link: Link) -> NodeId {
        self.add_node(NodeSpec::new(Role::Seeder, link))
    }

    /// Adds an honest node that has the `.torrent` and no data.
    pub fn add_leecher(&mut self, link: Link) -> NodeId {
        self.add_node(NodeSpec::new(Role::Leecher, link))
    }

    /// Adds an honest node that has only the info-hash and fetches the metadata from peers.
    pub fn add_magnet_leecher(&mut self, link: Link) -> NodeId {
        self.add_node(NodeSpec::new(Role::MagnetLeecher, link))
    }

    /// A node that has the data but serves every block corrupted.
    pub fn add_corrupt_peer(&mut self, link: Link) -> NodeId {
        self.add_node(NodeSpec {
            behaviour: Behaviour::Corrupt,
            ..NodeSpec::new(Role::Seeder, link)
        })
    }

    /// A node that has the data, advertises it and never serves a block.
    pub fn add_silent_peer(&mut self, link: Link) -> NodeId {
        self.add_node(NodeSpec {
            behaviour: Behaviour::Silent,
            ..NodeSpec::new(Role::Seeder, link)
        })
    }

    /// Adds a node as `spec` describes. It is told about peers as the swarm's
    /// [`Discovery`](crate::Discovery) says: at once if the swarm is running, else when it
    /// starts.
    pub fn add_node(&mut self, spec: NodeSpec) -> NodeId {
        let id = NodeId(self.infos.len() as u32);
        let addr = node_addr(id);
        let peer_id = PeerId::generate(&mut self.rng);
        let mut config = Config::new(peer_id);
        config.listen_port = Some(addr.port());
        config.rng_seed = self.rng.next_u64();
        for tune in [self.config.tune, spec.tune].into_iter().flatten() {
            tune(&mut config);
        }
        let now = self.clock.instant(self.now);
        let c = &self.content;
        let (info, have, store) = match spec.role {
            Role::Seeder => (
                Some((c.info.clone(), c.info_bytes.clone())),
                Some(Bitfield::full(c.lengths().num_pieces())),
                Store::full(c),
            ),
            Role::Leecher => {
                let mut store = Store::empty();
                store.allocate(c.lengths());
                (Some((c.info.clone(), c.info_bytes.clone())), None, store)
            }
            Role::MagnetLeecher => (None, None, Store::empty()),
        };
        let engine = Torrent::new(now, c.info_hash, info, have, config);
        if spec.is_downloader() {
            self.incomplete += 1;
        }
        let node = Node {
            engine,
            store,
            up: UploadPipe::default(),
            halves: Vec::new(),
            seq: 0,
            down_free_at: 0,
            hash_free_at: 0,
            wake: None,
            delivering: None,
            log: NodeLog::default(),
            served: (spec.role == Role::Seeder).then(|| ServeLog::new(c.lengths())),
        };
        self.infos.push(NodeInfo {
            spec,
            addr,
            peer_id,
            online: true,
        });
        let k = self.shards.len();
        self.shards[id.index() % k].nodes.push(node);
        self.by_addr.insert(addr, id);
        self.with_node(id, |shard, cx| shard.drain(cx, id));
        if self.started {
            self.discover(id);
        }
        id
    }

    /// Tells `node`'s engine the addresses of `peers` (as hints, like `x.pe` in a magnet).
    pub fn introduce(&mut self, node: NodeId, peers: &[NodeId]) {
        let addrs: Vec<SocketAddr> = peers
            .iter()
            .filter_map(|p| self.infos.get(p.index()))
            .map(|p| p.addr)
            .collect();
        let now = self.clock.instant(self.now);
        if !self.infos.get(node.index()).is_some_and(|n| n.online) {
            return;
        }
        self.with_node(node, |shard, cx| {
            shard
                .node(node)
                .engine
                .handle_peers_found(now, &addrs, PeerSource::Hint);
            shard.drain(cx, node);
        });
    }

    /// Takes a node off the network: its connections close (its peers see them close after
    /// the path latency) and it answers nothing more.
    pub fn take_offline(&mut self, node: NodeId) {
        let Some(info) = self.infos.get_mut(node.index()) else {
            return;
        };
        if !info.online {
            return;
        }
        info.online = false;
        let downloader = info.spec.is_downloader();
        let unfinished = self.with_node(node, |shard, _| {
            let n = shard.node(node);
            n.wake = None;
            for slot in 0..n.halves.len() {
                let h = &mut shard.node(node).halves[slot];
                if h.open {
                    h.close();
                    let key = h.key;
                    shard.close_remote(node, key);
                }
            }
            shard.node(node).log.completed_at.is_none()
        });
        if downloader && unfinished {
            // It will never finish now; the swarm is done without it.
            self.incomplete -= 1;
        }
    }

    /// Hands out the initial addresses, once.
    pub(super) fn start(&mut self) {
        if self.started {
            return;
        }
        self.started = true;
        for i in 0..self.infos.len() {
            self.discover(NodeId(i as u32));
        }
    }

    fn discover(&mut self, node: NodeId) {
        let d = self.config.discovery;
        let n = self.infos.len() as u64;
        let mut peers: Vec<NodeId> = Vec::new();
        if d.seeders && self.infos[node.index()].spec.role != Role::Seeder {
            peers.extend(
                self.infos
                    .iter()
                    .enumerate()
                    .filter(|(_, p)| p.spec.role == Role::Seeder)
                    .map(|(i, _)| NodeId(i as u32)),
            );
        }
        for _ in 0..d.random.min(n.saturating_sub(1) as usize) {
            let pick = NodeId(self.rng.below(n) as u32);
            if pick != node && !peers.contains(&pick) {
                peers.push(pick);
            }
        }
        if !peers.is_empty() {
            self.introduce(node, &peers);
        }
    }
}

/// The label address of a node: `10.a.b.c:6881`, every node in its own /24 (as peers of a
/// real swarm mostly are; BEP 6 allowed-fast sets and IP-based bans depend on it). Nothing
/// ever dials it; it only names the node to the engines.
fn node_addr(id: NodeId) -> SocketAddr {
    let [hi, a, b, c] = id.0.to_be_bytes();
    let last = 1 + (hi as u16 * 256 + a as u16) % 254;
    SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::new(10, b, c, last as u8), 6881))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_addresses_are_distinct_and_in_distinct_subnets() {
        let (mut addrs, mut nets) = (
            std::collections::HashSet::new(),
            std::collections::HashSet::new(),
        );
        for i in 0..70_000 {
            let SocketAddr::V4(a) = node_addr(NodeId(i)) else {
                unreachable!()
            };
            let [x, y, z, w] = a.ip().octets();
            assert!(x == 10 && w != 0 && w != 255);
            assert!(addrs.insert(a), "{a} given twice");
            nets.insert((y, z));
        }
        assert_eq!(nets.len(), 65_536);
    }
}
