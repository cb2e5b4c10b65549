//! The port mapping task: one per session. It finds the gateway, runs the allowed protocols
//! side by side (UPnP beside PCP-then-NAT-PMP), adopts the first mapping made and deletes
//! any later one, renews on the [`Lease`](shoal_portmap::lease::Lease) schedule, starts over
//! when a mapping is lost, and deletes the mapping when the session shuts down. What it
//! knows is published on a watch channel as [`Reachability`].

use super::mapping::{Active, Entry, Target};
use super::{gateway, udp, upnp, PortMapConfig, PortMapState, PortMapping, Reachability};
use shoal_portmap::lease::AfterFailure;
use shoal_portmap::Transport;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;
use tokio::sync::{oneshot, watch};
use tokio::task::{JoinHandle, JoinSet};
use tokio::time::{sleep_until, Instant};
use tracing::{debug, info, info_span, Instrument};

/// Longest wait for the mappings to be deleted on shutdown.
const DELETE_GRACE: Duration = Duration::from_secs(3);

/// The running task and what it publishes.
pub(crate) struct PortMapper {
    reachability: watch::Receiver<Reachability>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl PortMapper {
    /// Starts mapping `listen`'s port for the transports allowed (`None`: off, as is a
    /// loopback listen address).
    pub(crate) fn start(
        config: Option<PortMapConfig>,
        listen: SocketAddr,
        tcp: bool,
        udp: bool,
    ) -> PortMapper {
        let config = config.filter(|_| !listen.ip().is_loopback());
        let Some(config) = config else {
            let (_, rx) = watch::channel(Reachability::new(PortMapState::Off));
            return PortMapper {
                reachability: rx,
                stop: None,
                task: None,
            };
        };
        let (tx, rx) = watch::channel(Reachability::new(PortMapState::Trying));
        let (stop_tx, stop_rx) = oneshot::channel();
        let mut transports = Vec::new();
        if tcp {
            transports.push(Transport::Tcp);
        }
        if udp {
            transports.push(Transport::Udp);
        }
        let listen_ip = match listen.ip() {
            IpAddr::V4(ip) if !ip.is_unspecified() => Some(ip),
            _ => None,
        };
        let run = run(config, listen_ip, listen.port(), transports, tx, stop_rx);
        let task = tokio::spawn(run.instrument(info_span!("portmap", port = listen.port())));
        PortMapper {
            reachability: rx,
            stop: Some(stop_tx),
            task: Some(task),
        }
    }

    /// A receiver of every change.
    pub(crate) fn subscribe(&self) -> watch::Receiver<Reachability> {
        self.reachability.clone()
    }

    /// Deletes the mappings and stops, within a few seconds.
    pub(crate) async fn shutdown(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let abort = task.abort_handle();
            if tokio::time::timeout(DELETE_GRACE + Duration::from_secs(1), task)
                .await
                .is_err()
            {
                tracing::warn!("port mappings not deleted in time");
                abort.abort();
            }
        }
    }
}

impl Drop for PortMapper {
    fn drop(&mut self) {
        if let Some(task) = &self.task {
            task.abort();
        }
    }
}

async fn run(
    config: PortMapConfig,
    listen_ip: Option<std::net::Ipv4Addr>,
    port: u16,
    transports: Vec<Transport>,
    tx: watch::Sender<Reachability>,
    mut stop: oneshot::Receiver<()>,
) {
    loop {
        tx.send_modify(|r| {
            r.port_mapping = PortMapState::Trying;
            r.mapping = None;
        });
        let started = Instant::now();
        let attempt = attempt(&config, listen_ip, port, &transports, &tx);
        let outcome = tokio::select! {
            outcome = attempt => outcome,
            _ = &mut stop => return,
        };
        let (mut active, losers) = match outcome {
            Ok(won) => won,
            Err(why) => {
                info!(elapsed = ?started.elapsed(), "no port mapping: {why}");
                tx.send_modify(|r| r.port_mapping = PortMapState::Unavailable(why));
                tokio::select! {
                    () = tokio::time::sleep(config.retry_after) => continue,
                    _ = &mut stop => return,
                }
            }
        };
        let mapping = active.mapping();
        info!(
            protocol = %mapping.protocol,
            tcp = ?mapping.tcp,
            udp = ?mapping.udp,
            lifetime_secs = active.lifetime(),
            elapsed = ?started.elapsed(),
            "port mapped"
        );
        tx.send_modify(|r| {
            r.port_mapping = PortMapState::Mapped;
            r.mapping = Some(mapping);
            r.external_ip = Some(active.external_ip);
        });
        let mut late = tokio::spawn(delete_late(losers, active.mapping()).in_current_span());
        // Renew until the mapping is lost (start over) or the session stops (delete it).
        loop {
            let due = Instant::from_std(active.renew_at());
            tokio::select! {
                () = sleep_until(due) => {}
                _ = &mut stop => {
                    let all = async {
                        active.delete().await;
                        let _ = (&mut late).await;
                    };
                    if tokio::time::timeout(DELETE_GRACE, all).await.is_err() {
                        late.abort();
                    }
                    return;
                }
            }
            let now = std::time::Instant::now();
            match active.renew_due(now).await {
                Ok(()) => {
                    debug!(
                        protocol = %active.protocol,
                        lifetime_secs = active.lifetime(),
                        "port mapping renewed"
                    );
                    // A gateway that restarted may have granted other ports.
                    let mapping = Some(active.mapping());
                    tx.send_if_modified(|r| {
                        let changed = r.mapping != mapping;
                        r.mapping.clone_from(&mapping);
                        changed
                    });
                }
                Err((i, why)) => {
                    info!(protocol = %active.protocol, "port mapping renewal failed: {why}");
                    if active.entries[i].lease.renewal_failed(now) == AfterFailure::Expired {
                        info!(protocol = %active.protocol, "port mapping lost; looking again");
                        break;
                    }
                }
            }
        }
    }
}

/// The protocols still running after the first mapping was made.
type Attempts = JoinSet<(&'static str, Result<Active, String>)>;

/// Finds the gateway and runs the allowed protocols side by side; the first mapping wins.
async fn attempt(
    config: &PortMapConfig,
    listen_ip: Option<std::net::Ipv4Addr>,
    port: u16,
    transports: &[Transport],
    tx: &watch::Sender<Reachability>,
) -> Result<(Active, Attempts), String> {
    let deadline = Instant::now() + config.attempt_limit;
    let route = gateway::find()?;
    let local_ip = match listen_ip {
        Some(ip) => ip,
        None => gateway::local_ip_toward(route.gateway).await?,
    };
    tx.send_modify(|r| r.local_ip = Some(IpAddr::V4(local_ip)));
    debug!(gateway = %route.gateway, interface = %route.interface, %local_ip, "asking the gateway");
    let target = Target {
        gateway: route.gateway,
        local_ip,
        port,
        transports: transports.to_vec(),
        lifetime: config.lifetime,
    };
    let protocols = config.protocols;
    let mut attempts = JoinSet::new();
    if protocols.upnp {
        let target = target.clone();
        attempts
            .spawn(async move { ("UPnP", upnp::map(&target, deadline).await) }.in_current_span());
    }
    if protocols.pcp || protocols.natpmp {
        let target = target.clone();
        let name = if protocols.pcp {
            "PCP/NAT-PMP"
        } else {
            "NAT-PMP"
        };
        attempts.spawn(
            async move { (name, udp::map(&target, protocols, deadline).await) }.in_current_span(),
        );
    }
    if attempts.is_empty() {
        return Err("no protocol allowed".to_string());
    }
    let mut why = Vec::new();
    while let Some(joined) = attempts.join_next().await {
        let Ok((name, result)) = joined else { continue };
        match result {
            // Adopted at once; the others finish by the same deadline, in the background.
            Ok(active) => return Ok((active, attempts)),
            Err(e) => {
                debug!("{name}: {e}");
                why.push(format!("{name}: {e}"));
            }
        }
    }
    Err(why.join("; "))
}

/// Waits for the protocols that lost the race and deletes any mapping they made, except
/// where it is the winner's own: one router serving several protocols (miniupnpd serves
/// all three) keeps one rule per external port, which deleting would take from the winner.
async fn delete_late(mut attempts: Attempts, winner: PortMapping) {
    while let Some(joined) = attempts.join_next().await {
        if let Ok((_, Ok(mut extra))) = joined {
            let theirs = |e: &Entry| match e.transport {
                Transport::Tcp => winner.tcp == Some(e.external),
                Transport::Udp => winner.udp == Some(e.external),
            };
            let (same, other): (Vec<Entry>, Vec<Entry>) = extra.entries.drain(..).partition(theirs);
            if !same.is_empty() {
                debug!(protocol = %extra.protocol, "another protocol mapped the same ports too; kept as the winner's");
            }
            if !other.is_empty() {
                debug!(protocol = %extra.protocol, "another protocol mapped other ports too; deleting them");
                extra.entries = other;
                extra.delete().await;
            }
        }
    }
}
