//! The 68-byte handshake exchange (BEP 3). Callers bound each exchange with a time-out.

use super::PeerError;
use shoal_wire::Handshake;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Reads exactly one handshake; anything the peer sent after it stays in the socket for the
/// message reader.
pub(crate) async fn read_handshake(stream: &mut TcpStream) -> Result<Handshake, PeerError> {
    let mut buf = [0u8; Handshake::LEN];
    stream.read_exact(&mut buf).await?;
    Ok(Handshake::decode(&buf)?)
}

pub(crate) async fn write_handshake(
    stream: &mut TcpStream,
    ours: &Handshake,
) -> Result<(), PeerError> {
    stream.write_all(&ours.encode()).await?;
    Ok(())
}

/// Outbound order: ours first, then theirs, which must name the same torrent.
pub(crate) async fn exchange_outbound(
    stream: &mut TcpStream,
    ours: &Handshake,
) -> Result<Handshake, PeerError> {
    write_handshake(stream, ours).await?;
    let theirs = read_handshake(stream).await?;
    if theirs.info_hash != ours.info_hash {
        return Err(PeerError::WrongTorrent);
    }
    Ok(theirs)
}
