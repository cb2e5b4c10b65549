//! The command-line contract: subcommands, flags and their parsers.

use crate::exit::EXIT_CODES_HELP;
use clap::{Args, Parser, Subcommand};
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "shoal",
    version,
    about = "Share a file or folder peer to peer over the BitTorrent protocol",
    after_help = EXIT_CODES_HELP
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// More logs on stderr: -v info, -vv debug, -vvv trace (RUST_LOG overrides)
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    /// Print only errors (no progress, no summaries; `share` still prints its magnet link)
    #[arg(short, long, global = true)]
    pub quiet: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write a .torrent file (BitTorrent v1) for a file or folder
    Create(CreateArgs),
    /// Show what a .torrent file, magnet link or info-hash describes
    Info(InfoArgs),
    /// Hash a file or folder, print a magnet link for it, and seed it until Ctrl-C
    Share(ShareArgs),
    /// Check the data of a .torrent in a folder and seed it until Ctrl-C
    Seed(SeedArgs),
    /// Download a .torrent, magnet link or info-hash
    Get(GetArgs),
}

#[derive(Debug, Args)]
pub struct CreateArgs {
    /// File or folder to describe
    pub path: PathBuf,
    /// Where to write the torrent [default: NAME.torrent in the current folder]
    #[arg(short, long, value_name = "FILE.torrent")]
    pub output: Option<PathBuf>,
    /// Announce URL; repeat for more (each becomes its own tier)
    #[arg(long = "tracker", value_name = "URL")]
    pub trackers: Vec<String>,
    /// Piece length: a power of two from 16 KiB to 64 MiB; K/M suffixes allowed [default: automatic]
    #[arg(long, value_name = "BYTES", value_parser = parse_size)]
    pub piece_length: Option<u32>,
    /// Mark the torrent private (BEP 27: peers only from its trackers)
    #[arg(long)]
    pub private: bool,
    /// Comment stored in the torrent
    #[arg(long, value_name = "TEXT")]
    pub comment: Option<String>,
}

#[derive(Debug, Args)]
pub struct InfoArgs {
    /// A .torrent file, a magnet link, or a 40-character hex info-hash
    pub source: String,
    /// Print JSON instead of text
    #[arg(long)]
    pub json: bool,
    /// Also ask each tracker for its seeders, leechers and completed downloads
    #[arg(long)]
    pub scrape: bool,
}

#[derive(Debug, Args)]
pub struct NetArgs {
    /// Address and port to accept peers on (port 0: any unused port). `[::]` takes IPv4 and
    /// IPv6 peers on one port (IPv4 alone where the host has no IPv6)
    #[arg(long, value_name = "ADDR:PORT", default_value = "[::]:0")]
    pub listen: SocketAddr,
    /// Also connect to this peer; repeat for more
    #[arg(long = "peer", value_name = "ADDR:PORT", value_parser = parse_peer)]
    pub peers: Vec<SocketAddr>,
    /// Also announce to this tracker (http://, https:// or udp://); repeat for more. `share`
    /// also puts them into the torrent and the magnet link
    #[arg(long = "tracker", value_name = "URL")]
    pub trackers: Vec<String>,
    /// Do not use the Mainline DHT (BEP 5) to find peers or to be found
    #[arg(long)]
    pub no_dht: bool,
    /// DHT bootstrap node, instead of the public routers; repeat for more
    #[arg(long = "dht-bootstrap", value_name = "ADDR:PORT", value_parser = parse_host_port)]
    pub dht_bootstrap: Vec<String>,
    /// File the DHT routing table is kept in between runs [default: dht-nodes in $XDG_DATA_HOME/shoal or ~/.local/share/shoal]
    #[arg(long, value_name = "FILE")]
    pub dht_state: Option<PathBuf>,
    /// Do not use local service discovery (BEP 14 multicast on the LAN)
    #[arg(long)]
    pub no_lsd: bool,
    /// Message stream encryption with peers: `prefer` tries it first and falls back to
    /// plaintext, `require` accepts only RC4-encrypted peers, `off` only plaintext ones
    #[arg(long, value_name = "MODE", value_enum, default_value_t = EncryptionArg::Prefer)]
    pub encryption: EncryptionArg,
    /// Transports for peer connections: `both` listens on TCP and uTP (one port) and dials
    /// uTP first, TCP if uTP does not answer soon; `tcp` or `utp` uses only that one
    #[arg(long, value_name = "KIND", value_enum, default_value_t = TransportArg::Both)]
    pub transport: TransportArg,
    /// Do not ask the home router to forward the listen port (UPnP-IGD, NAT-PMP, PCP)
    #[arg(long, conflicts_with = "port_mapping")]
    pub no_port_mapping: bool,
    /// Port mapping protocols to try, comma-separated: `upnp`, `natpmp`, `pcp` (PCP is
    /// tried before NAT-PMP when both are listed; UPnP runs beside them)
    #[arg(
        long,
        value_name = "LIST",
        value_enum,
        value_delimiter = ',',
        default_value = "upnp,natpmp,pcp"
    )]
    pub port_mapping: Vec<PortMapArg>,
    /// Lifetime asked for each port mapping, in seconds (tests use short ones to see
    /// renewals)
    #[arg(long, value_name = "SECS", default_value_t = 7200, hide = true)]
    pub port_mapping_lifetime: u32,
}

/// `--port-mapping`: the protocols, by the names users type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum PortMapArg {
    Upnp,
    Natpmp,
    Pcp,
}

impl NetArgs {
    /// The session's port mapping settings: `None` with `--no-port-mapping`.
    pub fn port_mapping(&self) -> Option<shoal_session::PortMapConfig> {
        if self.no_port_mapping {
            return None;
        }
        let on = |p| self.port_mapping.contains(&p);
        let mut config = shoal_session::PortMapConfig::new();
        config.protocols = shoal_session::PortMapProtocols {
            upnp: on(PortMapArg::Upnp),
            natpmp: on(PortMapArg::Natpmp),
            pcp: on(PortMapArg::Pcp),
        };
        config.lifetime = self.port_mapping_lifetime;
        Some(config)
    }
}

/// `--transport`: the session's `Transports`, by the names users type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum TransportArg {
    Both,
    Tcp,
    Utp,
}

impl From<TransportArg> for shoal_session::Transports {
    fn from(arg: TransportArg) -> shoal_session::Transports {
        match arg {
            TransportArg::Both => shoal_session::Transports::Both,
            TransportArg::Tcp => shoal_session::Transports::Tcp,
            TransportArg::Utp => shoal_session::Transports::Utp,
        }
    }
}

/// `--encryption`: the session's `Encryption` modes, by the names users type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum EncryptionArg {
    Prefer,
    Require,
    Off,
}

impl From<EncryptionArg> for shoal_session::Encryption {
    fn from(arg: EncryptionArg) -> shoal_session::Encryption {
        match arg {
            EncryptionArg::Prefer => shoal_session::Encryption::Prefer,
            EncryptionArg::Require => shoal_session::Encryption::Require,
            EncryptionArg::Off => shoal_session::Encryption::Off,
        }
    }
}

#[derive(Debug, Args)]
pub struct ShareArgs {
    /// File or folder to share
    pub path: PathBuf,
    #[command(flatten)]
    pub net: NetArgs,
    /// Also write the .torrent file here
    #[arg(long, value_name = "FILE")]
    pub torrent_out: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct SeedArgs {
    /// The .torrent file
    pub torrent: PathBuf,
    /// Folder that holds the torrent's file or folder
    #[arg(long, value_name = "DIR")]
    pub data: PathBuf,
    #[command(flatten)]
    pub net: NetArgs,
}

#[derive(Debug, Args)]
pub struct GetArgs {
    /// A .torrent file, a magnet link, or a 40-character hex info-hash
    pub source: String,
    /// Folder to download into (created if missing)
    #[arg(short, long, value_name = "DIR", default_value = ".")]
    pub output: PathBuf,
    #[command(flatten)]
    pub net: NetArgs,
    /// Keep seeding after the download completes, until Ctrl-C
    #[arg(long)]
    pub seed: bool,
    /// Give up with exit code 3 after this many seconds without download progress [default: wait forever]
    #[arg(long, value_name = "SECS")]
    pub timeout: Option<u64>,
}

/// `ADDR:PORT`, or `HOST:PORT` resolved once now.
fn parse_peer(s: &str) -> Result<SocketAddr, String> {
    if let Ok(addr) = s.parse() {
        return Ok(addr);
    }
    match s.to_socket_addrs() {
        Ok(mut addrs) => addrs
            .next()
            .ok_or_else(|| format!("{s} resolves to no address")),
        Err(e) => Err(format!("expected ADDR:PORT ({e})")),
    }
}

/// `HOST:PORT` kept as text (a DHT node's name is resolved when the node starts).
fn parse_host_port(s: &str) -> Result<String, String> {
    match s.rsplit_once(':') {
        Some((host, port)) if !host.is_empty() && port.parse::<u16>().is_ok_and(|p| p != 0) => {
            Ok(s.to_string())
        }
        _ => Err("expected HOST:PORT".to_string()),
    }
}

/// A byte count with an optional K/KiB or M/MiB suffix (binary units).
fn parse_size(s: &str) -> Result<u32, String> {
    let lower = s.trim().to_ascii_lowercase();
    let (digits, unit) = match lower.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => lower.split_at(i),
        None => (lower.as_str(), ""),
    };
    let multiplier: u64 = match unit.trim() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1024,
        "m" | "mb" | "mib" => 1024 * 1024,
        _ => {
            return Err(format!(
                "unknown unit in {s:?} (use a byte count, or K or M)"
            ))
        }
    };
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("{s:?} is not a byte count"))?;
    n.checked_mul(multiplier)
        .and_then(|n| u32::try_from(n).ok())
        .ok_or_else(|| format!("{s} is too large"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_accept_binary_suffixes() {
        assert_eq!(parse_size("16384"), Ok(16384));
        assert_eq!(parse_size("256K"), Ok(256 * 1024));
        assert_eq!(parse_size("1MiB"), Ok(1 << 20));
        assert!(parse_size("1G").is_err());
        assert!(parse_size("abc").is_err());
        assert!(parse_size("8192M").is_err());
    }

    #[test]
    fn peers_parse_ipv4_and_ipv6() {
        assert_eq!(parse_peer("127.0.0.1:6881").unwrap().port(), 6881);
        assert!(parse_peer("[::1]:7000").unwrap().is_ipv6());
        assert!(parse_peer("nonsense").is_err());
    }

    #[test]
    fn port_mapping_flags() {
        let parse = |args: &[&str]| {
            let mut all = vec!["shoal", "get", "x"];
            all.extend_from_slice(args);
            match Cli::try_parse_from(all).map(|c| c.command) {
                Ok(Command::Get(g)) => Ok(g.net.port_mapping()),
                Ok(_) => unreachable!(),
                Err(e) => Err(e.kind()),
            }
        };
        let all = parse(&[]).unwrap().unwrap().protocols;
        assert_eq!(all, shoal_session::PortMapProtocols::ALL);
        let pcp = parse(&["--port-mapping", "pcp"])
            .unwrap()
            .unwrap()
            .protocols;
        assert!(pcp.pcp && !pcp.natpmp && !pcp.upnp);
        let two = parse(&["--port-mapping", "upnp,natpmp"])
            .unwrap()
            .unwrap()
            .protocols;
        assert!(two.upnp && two.natpmp && !two.pcp);
        assert_eq!(parse(&["--no-port-mapping"]), Ok(None));
        assert!(parse(&["--port-mapping", "igd"]).is_err());
        assert!(parse(&["--no-port-mapping", "--port-mapping", "pcp"]).is_err());
    }

    #[test]
    fn command_line_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
