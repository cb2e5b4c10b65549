//! Waiting for the user to stop us: Ctrl-C (SIGINT) or SIGTERM.

/// Resolves on the first SIGINT or SIGTERM. If a handler cannot be installed, that signal
/// keeps its default action (ending the process), so waiting forever is correct.
pub async fn interrupted() {
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut term) => {
                term.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        r = tokio::signal::ctrl_c() => {
            if r.is_err() {
                std::future::pending::<()>().await;
            }
        }
        _ = term => {}
    }
}
