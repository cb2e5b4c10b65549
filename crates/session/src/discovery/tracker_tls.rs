//! TLS for `https://` trackers: rustls (ring backend) over the tracker's TCP connection,
//! trusting the system's certificate store.
//!
//! The roots are loaded once per process by `rustls-native-certs`, which reads
//! `SSL_CERT_FILE` / `SSL_CERT_DIR` instead of the system store when either is set (how a
//! user, or a test, trusts a private CA). A certificate that does not verify fails the
//! announce with one line naming the reason; the torrent goes on with its other sources.

use super::tracker_http::HttpError;
use rustls::pki_types::ServerName;
use rustls::{ClientConfig, RootCertStore};
use std::sync::{Arc, OnceLock};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;
use tracing::{debug, warn};

/// The client configuration, built on first use: loading the system store reads files.
fn config() -> Result<Arc<ClientConfig>, String> {
    static CONFIG: OnceLock<Result<Arc<ClientConfig>, String>> = OnceLock::new();
    CONFIG.get_or_init(build_config).clone()
}

fn build_config() -> Result<Arc<ClientConfig>, String> {
    let loaded = rustls_native_certs::load_native_certs();
    for e in loaded.errors.iter().take(3) {
        // Unreadable files in the store are common and harmless when others load.
        debug!("certificate store: {e}");
    }
    let mut roots = RootCertStore::empty();
    let (added, ignored) = roots.add_parsable_certificates(loaded.certs);
    debug!(added, ignored, "trusted certificates loaded");
    if roots.is_empty() {
        let reason = match loaded.errors.first() {
            Some(e) => format!("no trusted certificates found ({e})"),
            None => "no trusted certificates found (install ca-certificates or set SSL_CERT_FILE)"
                .to_string(),
        };
        warn!("{reason}");
        return Err(reason);
    }
    // The provider is named rather than taken from the process default, so another crate
    // enabling a second rustls backend cannot make this ambiguous.
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS setup: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// Runs the TLS handshake with `host` (a name or an address literal, checked against the
/// certificate) over `stream`.
pub(crate) async fn connect(
    host: &str,
    stream: TcpStream,
) -> Result<TlsStream<TcpStream>, HttpError> {
    let fail = |reason: String| HttpError::Tls {
        host: host.to_string(),
        reason,
    };
    let config = config().map_err(fail)?;
    let name = ServerName::try_from(host.to_string())
        .map_err(|_| fail("not a valid server name".to_string()))?;
    TlsConnector::from(config)
        .connect(name, stream)
        .await
        .map_err(|e| fail(handshake_reason(&e)))
}

/// The handshake error as one line: rustls' own reason when there is one.
fn handshake_reason(e: &std::io::Error) -> String {
    match e
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
    {
        Some(rustls::Error::InvalidCertificate(cert)) => {
            format!("certificate not trusted: {cert}")
        }
        Some(other) => other.to_string(),
        None => e.to_string(),
    }
}
