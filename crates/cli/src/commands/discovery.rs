//! The session settings behind the discovery flags: the DHT and LSD are on unless
//! `--no-dht` / `--no-lsd`, the DHT's routing table lives in the user's data folder, and the
//! DHT binds the listener's IPv4 address when that is a specific one. `--encryption`,
//! `--transport` and the port mapping flags pass through as they are.

use crate::cli::NetArgs;
use shoal_session::{DhtConfig, LsdConfig, SessionConfig};
use std::path::PathBuf;

/// Name of the DHT state file in the data folder.
const DHT_STATE_FILE: &str = "dht-nodes";

pub(super) fn session_config(net: &NetArgs) -> SessionConfig {
    let mut config = SessionConfig::new(net.listen);
    config.encryption = net.encryption.into();
    config.transport = net.transport.into();
    config.port_mapping = net.port_mapping();
    if !net.no_dht {
        let mut dht = DhtConfig::new();
        if !net.dht_bootstrap.is_empty() {
            dht.bootstrap = net.dht_bootstrap.clone();
        }
        dht.state_file = net
            .dht_state
            .clone()
            .or_else(|| data_dir().map(|d| d.join(DHT_STATE_FILE)));
        config.dht = Some(dht);
    }
    if !net.no_lsd {
        config.lsd = Some(LsdConfig::new());
    }
    config
}

/// `$XDG_DATA_HOME/shoal`, else `~/.local/share/shoal`; `None` without either variable.
fn data_dir() -> Option<PathBuf> {
    let absolute = |v: std::ffi::OsString| Some(PathBuf::from(v)).filter(|p| p.is_absolute());
    if let Some(dir) = std::env::var_os("XDG_DATA_HOME").and_then(absolute) {
        return Some(dir.join("shoal"));
    }
    std::env::var_os("HOME")
        .and_then(absolute)
        .map(|home| home.join(".local/share/shoal"))
}
