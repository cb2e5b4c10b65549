//! Bounded waiting: every wait in the tests goes through here and has a deadline.

use std::time::{Duration, Instant};

/// The longest one transfer of a few MiB may take, debug build included.
pub const TRANSFER_TIMEOUT: Duration = Duration::from_secs(120);

/// How long a process may take to print its first line or open its port.
pub const STARTUP_TIMEOUT: Duration = Duration::from_secs(60);

/// How long a command that should fail at once (bad input) may run.
pub const QUICK_TIMEOUT: Duration = Duration::from_secs(15);

const POLL_INTERVAL: Duration = Duration::from_millis(50);

/// Polls `condition` until it holds (true) or `timeout` passes (false).
pub fn wait_until(timeout: Duration, mut condition: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if condition() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(POLL_INTERVAL);
    }
}

/// Polls `probe` until it returns `Some`, or gives `None` after `timeout`.
pub fn poll_for<T>(timeout: Duration, mut probe: impl FnMut() -> Option<T>) -> Option<T> {
    let mut found = None;
    wait_until(timeout, || {
        found = probe();
        found.is_some()
    });
    found
}
