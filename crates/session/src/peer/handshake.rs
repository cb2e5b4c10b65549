//! The 68-byte handshake exchange (BEP 3), over a plaintext or encrypted [`Link`]. Callers
//! bound each exchange with a time-out.

use super::link::Link;
use super::PeerError;
use shoal_wire::Handshake;
use tokio::io::{AsyncRead, AsyncWrite};

/// Reads exactly one handshake; anything the peer sent after it stays pending in the link
/// (or in the socket) for the message reader.
pub(crate) async fn read_handshake<S>(link: &mut Link<S>) -> Result<Handshake, PeerError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut buf = [0u8; Handshake::LEN];
    link.read_exact(&mut buf).await?;
    Ok(Handshake::decode(&buf)?)
}

pub(crate) async fn write_handshake<S>(
    link: &mut Link<S>,
    ours: &Handshake,
) -> Result<(), PeerError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    link.write_all(&ours.encode()).await?;
    Ok(())
}

/// The peer's answer to our handshake, which must name the same torrent.
pub(crate) async fn read_answer<S>(
    link: &mut Link<S>,
    ours: &Handshake,
) -> Result<Handshake, PeerError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let theirs = read_handshake(link).await?;
    if theirs.info_hash != ours.info_hash {
        return Err(PeerError::WrongTorrent);
    }
    Ok(theirs)
}
