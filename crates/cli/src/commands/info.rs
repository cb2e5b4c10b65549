//! `shoal info SOURCE [--json] [--scrape]`: describe a `.torrent`, a magnet link or an
//! info-hash, and with `--scrape` ask its trackers how many peers they know (BEP 48, BEP 15).

use crate::cli::InfoArgs;
use crate::exit::Outcome;
use crate::format;
use crate::source::Source;
use serde_json::{json, Value};
use shoal_core::{InfoHash, Magnet, Metainfo};
use std::time::Duration;

/// Longest wait for each tracker's scrape answer.
const SCRAPE_TIMEOUT: Duration = Duration::from_secs(10);

pub async fn run(args: InfoArgs) -> anyhow::Result<Outcome> {
    let source = Source::parse(&args.source)?;
    let scrapes = if args.scrape {
        let trackers: Vec<String> = match &source {
            Source::Torrent(meta) => meta.trackers.iter().flatten().cloned().collect(),
            Source::Magnet(magnet) => magnet.trackers.clone(),
            Source::InfoHash(_) => Vec::new(),
        };
        Some(scrape_all(&trackers, source.info_hash()).await)
    } else {
        None
    };
    let text = match (&source, args.json) {
        (Source::Torrent(meta), false) => torrent_text(meta),
        (Source::Torrent(meta), true) => pretty(with_scrapes(torrent_json(meta), &scrapes)),
        (Source::Magnet(magnet), false) => magnet_text(magnet),
        (Source::Magnet(magnet), true) => pretty(with_scrapes(magnet_json(magnet), &scrapes)),
        (Source::InfoHash(hash), json) => {
            let magnet = Magnet {
                info_hash: *hash,
                name: None,
                length: None,
                trackers: vec![],
                peers: vec![],
            };
            if json {
                pretty(with_scrapes(magnet_json(&magnet), &scrapes))
            } else {
                magnet_text(&magnet)
            }
        }
    };
    crate::stdout::line(text)?;
    if let (Some(scrapes), false) = (&scrapes, args.json) {
        crate::stdout::line(scrape_text(scrapes))?;
    }
    Ok(Outcome::Done)
}

/// One tracker's scrape: its URL and counters, or why it failed.
type Scrape = (String, Result<shoal_session::ScrapeStats, String>);

/// Scrapes every tracker at once (each within [`SCRAPE_TIMEOUT`]).
async fn scrape_all(trackers: &[String], info_hash: InfoHash) -> Vec<Scrape> {
    {
        let tasks: Vec<_> = trackers
            .iter()
            .map(|url| {
                let url = url.clone();
                tokio::spawn(async move {
                    let result = shoal_session::scrape(&url, info_hash, SCRAPE_TIMEOUT).await;
                    (url, result.map_err(|e| e.to_string()))
                })
            })
            .collect();
        let mut out = Vec::new();
        for task in tasks {
            if let Ok(scrape) = task.await {
                out.push(scrape);
            }
        }
        out
    }
}

fn scrape_text(scrapes: &[Scrape]) -> String {
    let mut out = if scrapes.is_empty() {
        format!("{:<13} no trackers", "scrape:")
    } else {
        "scrape:".to_string()
    };
    for (url, result) in scrapes {
        out.push('\n');
        match result {
            Ok(s) => out.push_str(&format!(
                "  {url}: {} seeders, {} leechers, {} completed",
                s.seeders, s.leechers, s.completed
            )),
            Err(e) => out.push_str(&format!("  {url}: failed: {e}")),
        }
    }
    out.trim_end().to_string()
}

fn with_scrapes(mut value: Value, scrapes: &Option<Vec<Scrape>>) -> Value {
    if let (Some(scrapes), Some(map)) = (scrapes, value.as_object_mut()) {
        let list: Vec<Value> = scrapes
            .iter()
            .map(|(url, result)| match result {
                Ok(s) => json!({
                    "url": url,
                    "seeders": s.seeders,
                    "leechers": s.leechers,
                    "completed": s.completed,
                }),
                Err(e) => json!({ "url": url, "error": e }),
            })
            .collect();
        map.insert("scrape".into(), Value::Array(list));
    }
    value
}

fn pretty(value: Value) -> String {
    // Serialising a `Value` cannot fail.
    serde_json::to_string_pretty(&value).unwrap_or_default()
}

/// The real (non-padding) files as `(path joined with '/', length)`.
fn files(meta: &Metainfo) -> Vec<(String, u64)> {
    meta.info
        .files
        .iter()
        .filter(|f| !f.pad)
        .map(|f| (f.path.join("/"), f.length))
        .collect()
}

fn torrent_text(meta: &Metainfo) -> String {
    let info = &meta.info;
    let mut out = String::new();
    field(&mut out, "name:", info.name.clone());
    field(&mut out, "info-hash:", meta.info_hash.to_hex());
    let total = info.lengths.total();
    field(
        &mut out,
        "total size:",
        format!("{} ({total} bytes)", format::bytes(total)),
    );
    field(
        &mut out,
        "piece length:",
        format!(
            "{} ({} bytes)",
            format::bytes(info.piece_length.into()),
            info.piece_length
        ),
    );
    field(&mut out, "pieces:", info.lengths.num_pieces().to_string());
    field(
        &mut out,
        "private:",
        if info.private { "yes" } else { "no" }.to_string(),
    );
    if let Some(comment) = &meta.comment {
        field(&mut out, "comment:", comment.clone());
    }
    if let Some(created_by) = &meta.created_by {
        field(&mut out, "created by:", created_by.clone());
    }
    let files = files(meta);
    field(&mut out, "files:", files.len().to_string());
    for (path, length) in &files {
        out.push_str(&format!("  {length:>14}  {path}\n"));
    }
    let trackers: Vec<&String> = meta.trackers.iter().flatten().collect();
    field(
        &mut out,
        "trackers:",
        if trackers.is_empty() {
            "none".into()
        } else {
            trackers.len().to_string()
        },
    );
    for (tier, urls) in meta.trackers.iter().enumerate() {
        for url in urls {
            out.push_str(&format!("  tier {}: {url}\n", tier + 1));
        }
    }
    out.push_str(&format!("{:<13} {}", "magnet:", meta.magnet().to_uri()));
    out
}

fn torrent_json(meta: &Metainfo) -> Value {
    let info = &meta.info;
    let files: Vec<Value> = files(meta)
        .into_iter()
        .map(|(path, length)| json!({ "path": path, "length": length }))
        .collect();
    json!({
        "name": info.name,
        "info_hash": meta.info_hash.to_hex(),
        "total_size": info.lengths.total(),
        "piece_length": info.piece_length,
        "piece_count": info.lengths.num_pieces(),
        "private": info.private,
        "files": files,
        "trackers": meta.trackers.iter().flatten().collect::<Vec<_>>(),
        "tracker_tiers": meta.trackers,
        "comment": meta.comment,
        "created_by": meta.created_by,
        "creation_date": meta.creation_date,
        "magnet": meta.magnet().to_uri(),
    })
}

/// Appends one `label value` line.
fn field(out: &mut String, label: &str, value: String) {
    out.push_str(&format!("{label:<13} {value}\n"));
}

const UNKNOWN: &str = "(unknown until the metadata is fetched)";

fn magnet_text(magnet: &Magnet) -> String {
    let mut out = String::new();
    field(
        &mut out,
        "name:",
        magnet.name.clone().unwrap_or_else(|| UNKNOWN.into()),
    );
    field(&mut out, "info-hash:", magnet.info_hash.to_hex());
    let size = magnet
        .length
        .map(|n| format!("{} ({n} bytes)", format::bytes(n)));
    field(
        &mut out,
        "total size:",
        size.unwrap_or_else(|| UNKNOWN.into()),
    );
    field(&mut out, "piece length:", UNKNOWN.into());
    field(&mut out, "pieces:", UNKNOWN.into());
    field(&mut out, "files:", UNKNOWN.into());
    field(
        &mut out,
        "trackers:",
        if magnet.trackers.is_empty() {
            "none".into()
        } else {
            magnet.trackers.len().to_string()
        },
    );
    for url in &magnet.trackers {
        out.push_str(&format!("  {url}\n"));
    }
    if !magnet.peers.is_empty() {
        out.push_str(&format!("{:<13} {}\n", "peers:", magnet.peers.len()));
        for peer in &magnet.peers {
            out.push_str(&format!("  {peer}\n"));
        }
    }
    out.push_str(&format!("{:<13} {}", "magnet:", magnet.to_uri()));
    out
}

fn magnet_json(magnet: &Magnet) -> Value {
    json!({
        "name": magnet.name,
        "info_hash": magnet.info_hash.to_hex(),
        "total_size": magnet.length,
        "piece_length": null,
        "piece_count": null,
        "private": null,
        "files": null,
        "trackers": magnet.trackers,
        "peers": magnet.peers.iter().map(ToString::to_string).collect::<Vec<_>>(),
        "magnet": magnet.to_uri(),
    })
}
