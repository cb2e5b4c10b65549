//! A lossy, slow link between two network namespaces, for tests of uTP over a bad path.
//!
//! This machine's kernel has no netem qdisc, so the link is two TUN devices carried by
//! `tests/interop/linkem.py`, which loses, reorders and delays packets with a seeded
//! generator. The namespaces hold nothing else (no device reaches the machine's own) and
//! are deleted on drop, after the carrier stops.

use std::ffi::OsString;
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use super::process::Proc;
use super::shoal::spawn_in_netns;
use super::testdir::TestDir;
use super::tools::{in_ci, interop_script, DEBIAN_PYTHON};
use super::wait::wait_until;

/// How each packet fares on the link, in each direction.
pub struct Impairment {
    pub delay_ms: u32,
    pub loss_percent: f64,
    pub reorder_percent: f64,
}

/// Two namespaces, `10.X.0.1` and `10.X.0.2`, joined by the emulated link.
pub struct LossyLink {
    pub names: [String; 2],
    pub addrs: [String; 2],
    carrier: Option<Proc>,
}

impl LossyLink {
    /// Makes the namespaces and starts the carrier; `None` (after a loud notice; a
    /// failure in CI) where this machine cannot: namespaces and TUN devices need root.
    pub fn create(t: &TestDir, tag: &str, impairment: &Impairment) -> Option<LossyLink> {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let id = (std::process::id() + n) % 200 + 20;
        let mut link = LossyLink {
            names: [format!("shoal-{tag}-{id}-a"), format!("shoal-{tag}-{id}-b")],
            addrs: [format!("10.{id}.0.1"), format!("10.{id}.0.2")],
            carrier: None,
        };
        for name in &link.names {
            let made = Command::new("ip").args(["netns", "add", name]).output();
            if !made.as_ref().is_ok_and(|o| o.status.success()) {
                let message = format!("cannot create network namespace {name}: needs root");
                if in_ci() {
                    panic!("{message}");
                }
                eprintln!("!!!!!!!! SKIPPED: {message} !!!!!!!!");
                return None;
            }
        }
        let args = crate::args![
            interop_script("linkem.py"),
            "--ns-a",
            link.names[0],
            "--ns-b",
            link.names[1],
            "--addr-a",
            link.addrs[0],
            "--addr-b",
            link.addrs[1],
            "--delay-ms",
            impairment.delay_ms.to_string(),
            "--loss",
            impairment.loss_percent.to_string(),
            "--reorder",
            impairment.reorder_percent.to_string(),
            "--seed",
            id.to_string(),
            "--timeout",
            "900",
        ];
        let mut carrier = Proc::spawn(t, "linkem", DEBIAN_PYTHON, args);
        carrier.wait_for_line(Duration::from_secs(30), "`ready`", |l| l == "ready");
        link.carrier = Some(carrier);
        Some(link)
    }

    /// `ip netns exec NS shoal ARGS` with debug logs.
    pub fn spawn_shoal(&self, side: usize, t: &TestDir, label: &str, args: Vec<OsString>) -> Proc {
        spawn_in_netns(&self.names[side], t, label, args)
    }

    /// What the carrier did: its last line (`carried N lost N reordered N overflow N`),
    /// once stopped.
    pub fn stop(&mut self) -> String {
        let Some(mut carrier) = self.carrier.take() else {
            return String::new();
        };
        // SIGTERM, so that it prints its counts; `Proc` kills it for good on drop.
        let _ = Command::new("kill").arg(carrier.id().to_string()).status();
        wait_until(Duration::from_secs(10), || carrier.try_exit().is_some());
        carrier
            .stdout()
            .lines()
            .last()
            .unwrap_or_default()
            .to_string()
    }
}

impl Drop for LossyLink {
    fn drop(&mut self) {
        self.stop();
        for name in &self.names {
            let _ = Command::new("ip").args(["netns", "del", name]).output();
        }
    }
}
