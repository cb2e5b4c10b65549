//! The MSE handshake over a live stream: drives `shoal_mse`'s state machines with reads and
//! writes. Callers bound it with the handshake time-out.

use super::PeerError;
use crate::config::Encryption;
use shoal_mse::{Entropy, Initiator, Methods, MseError, Outcome, Policy, Progress, Receiver};
use std::io;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// Bytes read per call during the handshake: enough for any of its messages in one go, and
/// what bounds the handshake's buffer beyond its own bytes.
const READ_SIZE: usize = 4096;

/// The two sides' common surface, so one loop drives either.
trait Machine {
    fn feed(&mut self, input: &[u8]) -> Result<Progress, MseError>;
    fn take_output(&mut self) -> Vec<u8>;
    fn truncated(&self) -> MseError;
}

impl Machine for Initiator {
    fn feed(&mut self, input: &[u8]) -> Result<Progress, MseError> {
        Initiator::feed(self, input)
    }
    fn take_output(&mut self) -> Vec<u8> {
        Initiator::take_output(self)
    }
    fn truncated(&self) -> MseError {
        Initiator::truncated(self)
    }
}

impl Machine for Receiver {
    fn feed(&mut self, input: &[u8]) -> Result<Progress, MseError> {
        Receiver::feed(self, input)
    }
    fn take_output(&mut self) -> Vec<u8> {
        Receiver::take_output(self)
    }
    fn truncated(&self) -> MseError {
        Receiver::truncated(self)
    }
}

/// What we offer when dialing in this mode (`None`: dial in plaintext).
pub(crate) fn offer(mode: Encryption) -> Option<Methods> {
    match mode {
        Encryption::Prefer => Some(Methods::BOTH),
        Encryption::Require => Some(Methods::RC4),
        Encryption::Off => None,
    }
}

/// What we accept from a peer that dialed us encrypted (`None`: refuse it).
pub(crate) fn policy(mode: Encryption) -> Option<Policy> {
    match mode {
        // libtorrent's default: offered both, select plaintext (see `Encryption::Prefer`).
        Encryption::Prefer => Some(Policy {
            allowed: Methods::BOTH,
            prefer_rc4: false,
        }),
        Encryption::Require => Some(Policy {
            allowed: Methods::RC4,
            prefer_rc4: true,
        }),
        Encryption::Off => None,
    }
}

/// The random choices of one handshake, from the OS: the secret key must be unguessable.
fn entropy() -> Result<Entropy, PeerError> {
    // Secret, two padding lengths, at most 512 bytes of padding.
    let mut random = [0u8; 20 + 4 + shoal_mse::MAX_PAD];
    getrandom::fill(&mut random).map_err(|e| io::Error::other(format!("no OS randomness: {e}")))?;
    let mut at = 0;
    Ok(Entropy::draw(|buf| {
        let end = (at + buf.len()).min(random.len());
        buf[..end - at].copy_from_slice(&random[at..end]);
        at = end;
    }))
}

/// Dials side: sends `Ya` and runs the handshake, with `ia` (our BitTorrent handshake) as
/// the initial payload.
pub(crate) async fn initiate<S>(
    stream: &mut S,
    skey: [u8; 20],
    provide: Methods,
    ia: &[u8],
) -> Result<Outcome, PeerError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut machine = Initiator::new(skey, provide, ia, entropy()?);
    drive(stream, &mut machine, &[]).await
}

/// Accepting side: `first` are the bytes the listener already read to tell MSE from
/// plaintext; `lookup` finds the torrent by `HASH('req2', info_hash)`.
pub(crate) async fn respond<S>(
    stream: &mut S,
    first: &[u8],
    policy: Policy,
    lookup: shoal_mse::SkeyLookup,
) -> Result<Outcome, PeerError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut machine = Receiver::new(policy, lookup, entropy()?);
    drive(stream, &mut machine, first).await
}

async fn drive<S, M>(stream: &mut S, machine: &mut M, first: &[u8]) -> Result<Outcome, PeerError>
where
    S: AsyncRead + AsyncWrite + Unpin,
    M: Machine,
{
    let mut buf = vec![0u8; READ_SIZE.max(first.len())];
    let mut input_len = first.len();
    buf[..input_len].copy_from_slice(first);
    loop {
        let progress = machine.feed(&buf[..input_len])?;
        let out = machine.take_output();
        if !out.is_empty() {
            stream.write_all(&out).await?;
        }
        if let Progress::Done(outcome) = progress {
            return Ok(*outcome);
        }
        input_len = match stream.read(&mut buf).await {
            Ok(0) => return Err(machine.truncated().into()),
            Ok(n) => n,
            // A reset mid-handshake is how most plaintext-only peers refuse us.
            Err(e) if e.kind() == io::ErrorKind::ConnectionReset => {
                return Err(machine.truncated().into())
            }
            Err(e) => return Err(e.into()),
        };
    }
}
