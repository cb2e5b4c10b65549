//! Loopback ports for the processes under test.

use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::time::Duration;

use super::wait::wait_until;

/// A TCP port on 127.0.0.1 that was free a moment ago: bound to port 0 and
/// released. Another process could take it in between; that is rare enough for
/// tests, and processes that can report their own port are given port 0 instead.
pub fn free_port() -> u16 {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .unwrap_or_else(|e| panic!("cannot bind a loopback port: {e}"));
    listener
        .local_addr()
        .unwrap_or_else(|e| panic!("cannot read the bound port: {e}"))
        .port()
}

/// `127.0.0.1:port`.
pub fn loopback(port: u16) -> String {
    format!("127.0.0.1:{port}")
}

/// True once something accepts TCP connections on 127.0.0.1:`port`, within `timeout`.
pub fn wait_port_open(port: u16, timeout: Duration) -> bool {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    wait_until(timeout, || {
        TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok()
    })
}
