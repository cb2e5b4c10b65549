//! Home routers in network namespaces: a "WAN" namespace, routers doing NAT with nftables
//! (optionally with miniupnpd as the real UPnP-IGD / NAT-PMP / PCP gateway), and a "home"
//! namespace behind each router.
//!
//! ```text
//!   [wan] 80.100.100.2/24 on bridge br0
//!     |-- 80.100.100.(10+i) [router i] 192.168.(76+i).1 -- 192.168.(76+i).2 [home i]
//! ```
//!
//! miniupnpd refuses to map while its WAN address is private or reserved, so the WAN side uses
//! an ordinary-looking range. It exists only inside these namespaces: none of them has a
//! device or a route leading to the machine's own namespace, and all are deleted on drop.
//! Each lab has its own namespaces, so labs running in parallel reuse the same addresses.
//!
//! The routers masquerade like a Linux home router: the source port is kept where it can be,
//! and only replies from endpoints the inside host has sent to are let in, which is what
//! hole punching has to get through. Like every home router's firewall, they drop what
//! arrives on the WAN side for the router itself unless it belongs to a known flow. Without
//! that rule a packet from a peer that punches first (before our own packet has left) is
//! delivered to the router itself, and the conntrack entry it leaves makes the masquerade
//! pick another source port for our own packet to that peer a moment later, so neither
//! side's packets match the other's NAT: no hole punch through two such routers would
//! ever work, which is not how real routers behave.
//!
//! The nftables tables are the ones miniupnpd 2.3.1 adds its rules to (see `../shared`
//! notes in the issue: tables of the `inet` family).

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use super::process::Proc;
use super::testdir::TestDir;
use super::tools::in_ci;
use super::wait::wait_until;

/// The WAN namespace's own address (where WAN-side programs run).
pub const WAN_HOST: &str = "80.100.100.2";

/// What a router offers besides NAT.
#[derive(Clone, Copy, Debug, Default)]
pub struct Gateway {
    /// miniupnpd answers UPnP-IGD (SSDP and SOAP on the LAN side).
    pub upnp: bool,
    /// miniupnpd answers NAT-PMP and PCP (UDP 5351; version 2.3.1 cannot serve one alone).
    pub natpmp: bool,
}

impl Gateway {
    /// NAT only: no port mapping service.
    pub const NONE: Gateway = Gateway {
        upnp: false,
        natpmp: false,
    };

    fn any(self) -> bool {
        self.upnp || self.natpmp
    }
}

/// One router and the home behind it.
pub struct Home {
    pub router_ns: String,
    pub home_ns: String,
    /// The router's WAN address: the home's public address.
    pub public_ip: String,
    /// The home host's address on its LAN.
    pub lan_ip: String,
    /// The router's LAN address (the home's gateway).
    pub gateway_ip: String,
    wan_if: String,
    miniupnpd: Option<Proc>,
}

/// The WAN namespace and its homes. Deleted on drop.
pub struct NatLab {
    pub wan_ns: String,
    pub homes: Vec<Home>,
    dir: PathBuf,
}

impl NatLab {
    /// Builds the WAN and one router + home per entry of `gateways`. `None` (after a loud
    /// notice; a failure in CI) where this machine cannot: namespaces and nftables need root,
    /// miniupnpd needs its package.
    pub fn create(t: &TestDir, tag: &str, gateways: &[Gateway]) -> Option<NatLab> {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let id = (std::process::id() + n * 7) % 900 + 100;
        let mut lab = NatLab {
            wan_ns: format!("shoal-{tag}-{id}-wan"),
            homes: Vec::new(),
            dir: t.path().join(format!("natlab-{tag}")),
        };
        std::fs::create_dir_all(&lab.dir).expect("create the lab's folder");
        if let Err(why) = lab.build(tag, id, gateways, t) {
            let message = format!("cannot build the NAT lab: {why}");
            drop(lab);
            if in_ci() {
                panic!("{message}");
            }
            eprintln!("!!!!!!!! SKIPPED: {message} !!!!!!!!");
            return None;
        }
        Some(lab)
    }

    fn build(
        &mut self,
        tag: &str,
        id: u32,
        gateways: &[Gateway],
        t: &TestDir,
    ) -> Result<(), String> {
        let wan = self.wan_ns.clone();
        ip(&["netns", "add", &wan])?;
        ip(&["-n", &wan, "link", "set", "lo", "up"])?;
        ip(&["-n", &wan, "link", "add", "br0", "type", "bridge"])?;
        ip(&["-n", &wan, "link", "set", "br0", "up"])?;
        ip(&[
            "-n",
            &wan,
            "addr",
            "add",
            &format!("{WAN_HOST}/24"),
            "dev",
            "br0",
        ])?;
        for (i, gateway) in gateways.iter().enumerate() {
            let i = i + 1;
            let home = Home {
                router_ns: format!("shoal-{tag}-{id}-r{i}"),
                home_ns: format!("shoal-{tag}-{id}-h{i}"),
                public_ip: format!("80.100.100.{}", 10 + i),
                lan_ip: format!("192.168.{}.2", 76 + i),
                gateway_ip: format!("192.168.{}.1", 76 + i),
                wan_if: format!("wan{i}"),
                miniupnpd: None,
            };
            let (r, h) = (home.router_ns.clone(), home.home_ns.clone());
            self.homes.push(home);
            let home = self.homes.last().unwrap();
            ip(&["netns", "add", &r])?;
            ip(&["netns", "add", &h])?;
            let port = format!("r{i}");
            ip(&[
                "link",
                "add",
                &home.wan_if,
                "netns",
                &r,
                "type",
                "veth",
                "peer",
                "name",
                &port,
                "netns",
                &wan,
            ])?;
            ip(&["-n", &wan, "link", "set", &port, "master", "br0"])?;
            ip(&["-n", &wan, "link", "set", &port, "up"])?;
            ip(&[
                "-n",
                &r,
                "addr",
                "add",
                &format!("{}/24", home.public_ip),
                "dev",
                &home.wan_if,
            ])?;
            ip(&["-n", &r, "link", "set", &home.wan_if, "up"])?;
            ip(&["-n", &r, "link", "set", "lo", "up"])?;
            ip(&[
                "link", "add", "lan", "netns", &r, "type", "veth", "peer", "name", "eth0", "netns",
                &h,
            ])?;
            ip(&[
                "-n",
                &r,
                "addr",
                "add",
                &format!("{}/24", home.gateway_ip),
                "dev",
                "lan",
            ])?;
            ip(&["-n", &r, "link", "set", "lan", "up"])?;
            ip(&[
                "-n",
                &h,
                "addr",
                "add",
                &format!("{}/24", home.lan_ip),
                "dev",
                "eth0",
            ])?;
            ip(&["-n", &h, "link", "set", "eth0", "up"])?;
            ip(&["-n", &h, "link", "set", "lo", "up"])?;
            ip(&["-n", &h, "route", "add", "default", "via", &home.gateway_ip])?;
            run(
                "ip",
                &[
                    "netns",
                    "exec",
                    &r,
                    "sysctl",
                    "-qw",
                    "net.ipv4.ip_forward=1",
                ],
            )?;
            let rules = self.dir.join(format!("nft-{i}.conf"));
            std::fs::write(&rules, nft_rules(&home.wan_if)).map_err(|e| e.to_string())?;
            run(
                "ip",
                &["netns", "exec", &r, "nft", "-f", &rules.to_string_lossy()],
            )?;
            if gateway.any() {
                let subnet = format!("192.168.{}.0/24", 76 + i);
                let conf = self.dir.join(format!("miniupnpd-{i}.conf"));
                let text = miniupnpd_conf(&home.wan_if, &subnet, *gateway, i);
                std::fs::write(&conf, text).map_err(|e| e.to_string())?;
                let pid = self.dir.join(format!("miniupnpd-{i}.pid"));
                let mut command = Command::new("ip");
                command.args(["netns", "exec", &r, "miniupnpd", "-d", "-f"]);
                command.arg(&conf).arg("-P").arg(&pid);
                let proc = Proc::spawn_command(t, &format!("miniupnpd-{i}"), command);
                let home = self.homes.last_mut().unwrap();
                home.miniupnpd = Some(proc);
                let ready = if gateway.upnp {
                    ("tcp", 5000)
                } else {
                    ("udp", 5351)
                };
                let (netns, (proto, port)) = (r.clone(), ready);
                if !wait_until(Duration::from_secs(10), || listening(&netns, proto, port)) {
                    return Err(format!("miniupnpd in {r} did not start"));
                }
            }
        }
        Ok(())
    }

    /// Gives the WAN namespace one more address (`80.100.100.N`, N below 10: the routers
    /// take 11 and up), for a second WAN host.
    pub fn add_wan_address(&self, address: &str) {
        let cidr = format!("{address}/24");
        ip(&["-n", &self.wan_ns, "addr", "add", &cidr, "dev", "br0"]).expect("add a WAN address");
    }

    /// `ip netns exec NS PROGRAM ARGS`.
    pub fn spawn(
        &self,
        ns: &str,
        t: &TestDir,
        label: &str,
        program: &str,
        args: Vec<OsString>,
    ) -> Proc {
        let mut command = Command::new("ip");
        command.args(["netns", "exec", ns]).arg(program).args(args);
        Proc::spawn_command(t, label, command)
    }

    /// `ip netns exec NS shoal ARGS` with debug logs.
    pub fn spawn_shoal(&self, ns: &str, t: &TestDir, label: &str, args: Vec<OsString>) -> Proc {
        super::shoal::spawn_in_netns(ns, t, label, args)
    }

    /// The DNAT rules miniupnpd has added on router `i` (0-based), as nftables prints them.
    pub fn mappings(&self, i: usize) -> String {
        let out = Command::new("ip")
            .args(["netns", "exec", &self.homes[i].router_ns])
            .args([
                "nft",
                "list",
                "chain",
                "inet",
                "nat",
                "prerouting_miniupnpd",
            ])
            .output()
            .expect("run nft");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// `upnpc -l` run in home `i`: the mappings the gateway lists over UPnP.
    pub fn upnp_list(&self, i: usize) -> String {
        let out = Command::new("ip")
            .args(["netns", "exec", &self.homes[i].home_ns, "upnpc", "-l"])
            .output()
            .expect("run upnpc");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

impl Drop for NatLab {
    fn drop(&mut self) {
        for home in &mut self.homes {
            if let Some(mut proc) = home.miniupnpd.take() {
                proc.kill();
            }
        }
        for home in &self.homes {
            let _ = Command::new("ip")
                .args(["netns", "del", &home.home_ns])
                .output();
            let _ = Command::new("ip")
                .args(["netns", "del", &home.router_ns])
                .output();
        }
        let _ = Command::new("ip")
            .args(["netns", "del", &self.wan_ns])
            .output();
    }
}

fn ip(args: &[&str]) -> Result<(), String> {
    run("ip", args)
}

fn run(program: &str, args: &[&str]) -> Result<(), String> {
    match Command::new(program).args(args).output() {
        Ok(out) if out.status.success() => Ok(()),
        Ok(out) => Err(format!(
            "`{program} {}`: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        )),
        Err(e) => Err(format!("`{program}`: {e}")),
    }
}

/// True once something listens on `port` in namespace `ns`.
fn listening(ns: &str, proto: &str, port: u16) -> bool {
    let flag = if proto == "tcp" { "-ltn" } else { "-lun" };
    Command::new("ip")
        .args(["netns", "exec", ns, "ss", flag])
        .output()
        .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).contains(&format!(":{port} ")))
}

/// The tables and chains miniupnpd 2.3.1 adds its rules to, the masquerade, and the WAN
/// side's input firewall (new flows to the router itself are dropped; miniupnpd's DNAT rules
/// lead to the forward chain, which the firewall leaves alone).
fn nft_rules(wan_if: &str) -> String {
    format!(
        "table inet filter {{
  chain miniupnpd {{
  }}
  chain forward {{
    type filter hook forward priority 0; policy accept;
    jump miniupnpd
  }}
}}
table inet firewall {{
  chain input {{
    type filter hook input priority 0; policy accept;
    iifname \"{wan_if}\" ct state new drop
  }}
}}
table inet nat {{
  chain prerouting_miniupnpd {{
  }}
  chain postrouting_miniupnpd {{
  }}
  chain prerouting {{
    type nat hook prerouting priority -100; policy accept;
    jump prerouting_miniupnpd
  }}
  chain postrouting {{
    type nat hook postrouting priority 100; policy accept;
    jump postrouting_miniupnpd
    oifname \"{wan_if}\" masquerade
  }}
}}
"
    )
}

fn miniupnpd_conf(wan_if: &str, subnet: &str, gateway: Gateway, i: usize) -> String {
    let yes = |on: bool| if on { "yes" } else { "no" };
    format!(
        "ext_ifname={wan_if}
listening_ip=lan
port=5000
enable_natpmp={}
enable_upnp={}
secure_mode=yes
min_lifetime=10
system_uptime=yes
uuid=3d3cec3a-8cf0-11e0-98ee-00000000000{i}
upnp_table_name=filter
upnp_nat_table_name=nat
upnp_forward_chain=miniupnpd
upnp_nat_chain=prerouting_miniupnpd
upnp_nat_postrouting_chain=postrouting_miniupnpd
allow 1024-65535 {subnet} 1024-65535
deny 0-65535 0.0.0.0/0 0-65535
",
        yes(gateway.natpmp),
        yes(gateway.upnp)
    )
}
