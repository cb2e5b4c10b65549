//! An HTTPS tracker on loopback: a TLS-terminating forwarder (Python's `ssl` module) in
//! front of a plain HTTP tracker such as opentracker, with a certificate for `localhost` and
//! 127.0.0.1 signed by a CA the test makes with the `openssl` command. Shoal trusts that CA
//! only when told through `SSL_CERT_FILE`.

use super::process::Proc;
use super::testdir::TestDir;
use super::wait::{STARTUP_TIMEOUT, TRANSFER_TIMEOUT};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The forwarder: accepts TLS on 127.0.0.1 (port printed on the first stdout line) and
/// relays each connection to the backend port, for a bounded time.
const FORWARDER: &str = r#"
import socket, ssl, sys, threading, time

cert, key, backend, lifetime = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
listener = socket.socket()
listener.bind(("127.0.0.1", 0))
listener.listen(32)
listener.settimeout(0.5)
print(listener.getsockname()[1], flush=True)

def pipe(src, dst):
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            dst.sendall(data)
    except OSError:
        pass
    for s in (src, dst):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

def serve(raw):
    raw.settimeout(10)
    try:
        tls = ctx.wrap_socket(raw, server_side=True)
    except (OSError, ssl.SSLError) as e:
        print("TLS handshake failed:", e, file=sys.stderr, flush=True)
        raw.close()
        return
    try:
        back = socket.create_connection(("127.0.0.1", backend), timeout=10)
    except OSError as e:
        print("backend unreachable:", e, file=sys.stderr, flush=True)
        tls.close()
        return
    other = threading.Thread(target=pipe, args=(back, tls), daemon=True)
    other.start()
    pipe(tls, back)
    other.join(10)
    tls.close()
    back.close()

end = time.monotonic() + lifetime
while time.monotonic() < end:
    try:
        raw, _ = listener.accept()
    except socket.timeout:
        continue
    threading.Thread(target=serve, args=(raw,), daemon=True).start()
"#;

/// A certificate authority made for one test.
pub struct Ca {
    pub cert: PathBuf,
    key: PathBuf,
}

fn openssl(dir: &TestDir, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir.path())
        .output()
        .unwrap_or_else(|e| panic!("cannot run openssl: {e}"));
    assert!(
        out.status.success(),
        "openssl {} failed: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn path_str(p: &Path) -> &str {
    p.to_str().expect("test paths are UTF-8")
}

/// A new self-signed CA named `name` (files `NAME-ca.pem`, `NAME-ca.key` in the test dir).
pub fn make_ca(dir: &TestDir, name: &str) -> Ca {
    let cert = dir.join(&format!("{name}-ca.pem"));
    let key = dir.join(&format!("{name}-ca.key"));
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            path_str(&key),
            "-out",
            path_str(&cert),
            "-days",
            "2",
            "-subj",
            &format!("/CN=shoal test CA {name}"),
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ],
    );
    Ca { cert, key }
}

/// A server certificate for `localhost` and 127.0.0.1 signed by `ca`: (cert, key).
pub fn server_cert(dir: &TestDir, ca: &Ca) -> (PathBuf, PathBuf) {
    let key = dir.join("server.key");
    let csr = dir.join("server.csr");
    let cert = dir.join("server.pem");
    let ext = dir.join("server.ext");
    std::fs::write(
        &ext,
        "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n\
         keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n",
    )
    .expect("write server.ext");
    openssl(
        dir,
        &[
            "req",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            path_str(&key),
            "-out",
            path_str(&csr),
            "-subj",
            "/CN=localhost",
        ],
    );
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            path_str(&csr),
            "-CA",
            path_str(&ca.cert),
            "-CAkey",
            path_str(&ca.key),
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            path_str(&ext),
            "-out",
            path_str(&cert),
        ],
    );
    (cert, key)
}

/// A running TLS forwarder.
pub struct Forwarder {
    pub proc: Proc,
    pub port: u16,
}

impl Forwarder {
    /// The HTTPS announce URL, by host name (checked against the certificate).
    pub fn announce_url(&self) -> String {
        format!("https://localhost:{}/announce", self.port)
    }
}

/// Serves TLS with `cert`/`key` on a free loopback port, relaying to `backend_port`.
pub fn forward(dir: &TestDir, cert: &Path, key: &Path, backend_port: u16) -> Forwarder {
    let script = dir.join("tls_forward.py");
    std::fs::write(&script, FORWARDER).expect("write tls_forward.py");
    let lifetime = (TRANSFER_TIMEOUT.as_secs() * 2).to_string();
    let mut proc = Proc::spawn(
        dir,
        "tls-forward",
        "/usr/bin/python3",
        [
            path_str(&script),
            path_str(cert),
            path_str(key),
            &backend_port.to_string(),
            &lifetime,
        ],
    );
    let line = proc.first_line(STARTUP_TIMEOUT, "the forwarder's port");
    let port = line
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("the forwarder printed {line:?}, not a port"));
    Forwarder { proc, port }
}
