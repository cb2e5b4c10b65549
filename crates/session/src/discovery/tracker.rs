//! The tracker task of one torrent: announces to its trackers (BEP 3, 12, 15) and hands the
//! peers they return to the driver.

use super::TorrentLink;
use tracing::info;

/// Announces to `tiers` until the torrent stops.
pub(crate) async fn run(mut link: TorrentLink, tiers: Vec<Vec<String>>) {
    info!(
        trackers = tiers.iter().map(Vec::len).sum::<usize>(),
        "tracker announces are not implemented yet"
    );
    link.stopped().await;
}
