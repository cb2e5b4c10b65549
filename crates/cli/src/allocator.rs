//! Tunes glibc's allocator for how shoal uses memory: a steady stream of 256 KiB receive
//! buffers, each allocated on a network thread and freed on another once its blocks are
//! hashed and written.
//!
//! With the defaults, glibc gives each busy thread an arena of its own, serves allocations
//! that large with a fresh `mmap`, and returns freed memory at the top of a heap to the
//! system. So receive buffers were spread over several arenas, each holding its own free
//! space, and nearly every one came with page faults and zeroed pages (the kernel's fault
//! path under `recv` showed up in leecher profiles). One arena, with such buffers kept in
//! the heap and a few MiB of its freed memory kept mapped, lets every thread reuse the same
//! few buffers as they are. shoal allocates little per block (payloads are slices of the
//! receive buffer), so one arena's lock is not contended.
//!
//! Both settings are needed: the single arena is what lowers peak memory, the kept-mapped
//! thresholds what saves the page faults. The measured effect on a leecher's CPU and memory
//! is in docs/performance.md.
//!
//! These override `MALLOC_ARENA_MAX` and the like from the environment.

/// Arenas: one, shared by every thread.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const ARENAS: libc::c_int = 1;
/// Allocations below this come from the heap rather than a mapping of their own.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const MMAP_THRESHOLD: libc::c_int = 4 * 1024 * 1024;
/// Free memory at the top of the heap is given back beyond this, so a burst (many
/// connections at once) does not stay resident for good. 8 MiB is enough to keep the
/// receive buffers' churn mapped; a larger threshold saved no CPU (docs/performance.md).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const TRIM_THRESHOLD: libc::c_int = 8 * 1024 * 1024;

/// Applies the settings; call before any other thread starts. Elsewhere than glibc it
/// does nothing.
pub(crate) fn tune() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes allocator parameters, and runs before other threads
    // exist; a value it refuses leaves the default in place.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, ARENAS);
        libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD);
        libc::mallopt(libc::M_TRIM_THRESHOLD, TRIM_THRESHOLD);
    }
}
