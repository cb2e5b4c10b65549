//! Random bytes for node ids, token secrets and the choice of nodes to refresh, from the
//! workspace's seeded generator (`shoal_core::Rng`): the caller's seed makes every run repeat
//! exactly (the simulator's tests rely on that). The token secret is drawn from it too; that
//! is enough as long as the seed itself is secret (the runtime seeds from the OS).

pub(crate) use shoal_core::Rng;

/// Byte-sized draws from the generator.
pub(crate) trait RandomBytes {
    /// Fills `out` with random bytes.
    fn fill(&mut self, out: &mut [u8]);
    /// Twenty random bytes (a node id or a lookup target).
    fn bytes20(&mut self) -> [u8; 20] {
        let mut b = [0u8; 20];
        self.fill(&mut b);
        b
    }
}

impl RandomBytes for Rng {
    fn fill(&mut self, out: &mut [u8]) {
        for chunk in out.chunks_mut(8) {
            let r = self.next_u64().to_be_bytes();
            chunk.copy_from_slice(&r[..chunk.len()]);
        }
    }
}
