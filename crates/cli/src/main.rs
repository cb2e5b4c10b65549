//! `shoal`: share a file or folder peer to peer over the BitTorrent protocol.
//!
//! `main` parses the command line, sets up logging, runs the chosen command on a tokio
//! runtime and turns its outcome into one of the documented exit codes.

mod allocator;
mod cli;
mod commands;
mod exit;
mod format;
mod local_addrs;
mod logging;
mod progress;
mod reachability;
mod signals;
mod source;
mod stdout;

use clap::Parser;
use std::process::ExitCode;
use std::time::Duration;

fn main() -> ExitCode {
    allocator::tune();
    let cli = cli::Cli::parse();
    logging::init(cli.verbose, cli.quiet);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => return exit::report(anyhow::anyhow!("cannot start the async runtime: {e}")),
    };
    let outcome = runtime.block_on(commands::run(cli));
    // A re-check still hashing on a blocking thread must not hold the process open.
    runtime.shutdown_timeout(Duration::from_secs(1));
    match outcome {
        Ok(outcome) => outcome.exit_code(),
        Err(error) => exit::report(error),
    }
}
