//! HTTP trackers: announce URLs (BEP 3, `compact=1` as in BEP 23), announce replies
//! (compact and dictionary peers, `peers6` from BEP 7), and scrape (BEP 48).

use crate::peers::PeerCollector;
use crate::url::{percent_encode, with_query};
use crate::{one_line, AnnounceParams, AnnounceReply, ScrapeStats, TrackerError};
use shoal_bencode::{Dict, Value};
use std::time::Duration;

/// The full announce URL: `announce` with the BEP 3 parameters appended to any query it
/// already has (private trackers put a passkey there).
pub fn announce_url(announce: &str, p: &AnnounceParams, tracker_id: Option<&[u8]>) -> String {
    let mut q = format!(
        "info_hash={}&peer_id={}&port={}&uploaded={}&downloaded={}&left={}&compact=1&key={:08X}",
        percent_encode(&p.info_hash),
        percent_encode(&p.peer_id),
        p.port,
        p.uploaded,
        p.downloaded,
        p.left,
        p.key,
    );
    if let Some(event) = p.event.http_name() {
        q.push_str("&event=");
        q.push_str(event);
    }
    if let Some(n) = p.numwant {
        q.push_str(&format!("&numwant={n}"));
    }
    if let Some(id) = tracker_id {
        q.push_str("&trackerid=");
        q.push_str(&percent_encode(id));
    }
    with_query(announce, &q)
}

/// Parses an announce reply body.
pub fn parse_announce(body: &[u8]) -> Result<AnnounceReply, TrackerError> {
    let value = shoal_bencode::decode(body)?;
    let d = reply_dict(&value)?;
    let mut peers = PeerCollector::default();
    match d.get(b"peers") {
        Some(Value::Bytes(b)) => peers.compact_v4(b),
        Some(Value::List(list)) => peers.dicts(list),
        Some(_) => return Err(TrackerError::BadField("peers")),
        // Some trackers leave `peers` out when there are none, or send only `peers6`.
        None => {}
    }
    match d.get(b"peers6") {
        Some(Value::Bytes(b)) => peers.compact_v6(b),
        Some(Value::List(list)) => peers.dicts(list),
        Some(_) => return Err(TrackerError::BadField("peers6")),
        None => {}
    }
    Ok(AnnounceReply {
        interval: seconds(d, b"interval", "interval")?,
        min_interval: seconds(d, b"min interval", "min interval")?,
        complete: count(d, b"complete", "complete")?,
        incomplete: count(d, b"incomplete", "incomplete")?,
        warning: d.get_bytes(b"warning message").map(one_line),
        tracker_id: d
            .get_bytes(b"tracker id")
            .map(|id| id[..id.len().min(64)].to_vec()),
        peers: peers.finish(),
    })
}

/// The top-level dictionary of a tracker reply, or the tracker's own `failure reason`.
fn reply_dict<'v, 'a>(value: &'v Value<'a>) -> Result<&'v Dict<'a>, TrackerError> {
    let d = value.as_dict().ok_or(TrackerError::NotADict)?;
    if let Some(reason) = d.get(b"failure reason") {
        let reason = reason
            .as_bytes()
            .ok_or(TrackerError::BadField("failure reason"))?;
        return Err(TrackerError::Failure(one_line(reason)));
    }
    Ok(d)
}

fn seconds(d: &Dict<'_>, key: &[u8], name: &'static str) -> Result<Option<Duration>, TrackerError> {
    Ok(count(d, key, name)?.map(|s| Duration::from_secs(u64::from(s))))
}

/// An optional non-negative integer field; huge values saturate.
fn count(d: &Dict<'_>, key: &[u8], name: &'static str) -> Result<Option<u32>, TrackerError> {
    match d.get(key) {
        None => Ok(None),
        Some(v) => match v.as_int() {
            Some(n) if n >= 0 => Ok(Some(u32::try_from(n).unwrap_or(u32::MAX))),
            _ => Err(TrackerError::BadField(name)),
        },
    }
}

/// The scrape URL of an announce URL (BEP 48): the last path segment must start with
/// `announce`, which becomes `scrape`. `None` when the tracker has no scrape convention.
pub fn scrape_url(announce: &str) -> Option<String> {
    let (before_query, query) = match announce.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (announce, None),
    };
    let host_start = before_query.find("://")? + 3;
    // The path begins at the first slash after the host; a URL without one has no path.
    before_query[host_start..].find('/')?;
    let slash = before_query.rfind('/')?;
    let rest = before_query[slash + 1..].strip_prefix("announce")?;
    let mut url = format!("{}scrape{rest}", &before_query[..=slash]);
    if let Some(q) = query {
        url.push('?');
        url.push_str(q);
    }
    Some(url)
}

/// A scrape request URL for `info_hashes`.
pub fn scrape_request_url(scrape: &str, info_hashes: &[[u8; 20]]) -> String {
    let q: Vec<String> = info_hashes
        .iter()
        .map(|h| format!("info_hash={}", percent_encode(h)))
        .collect();
    with_query(scrape, &q.join("&"))
}

/// The counters for `info_hash` in a scrape reply.
pub fn parse_scrape(body: &[u8], info_hash: &[u8; 20]) -> Result<ScrapeStats, TrackerError> {
    let value = shoal_bencode::decode(body)?;
    let d = reply_dict(&value)?;
    let files = d.get_dict(b"files").ok_or(TrackerError::Missing("files"))?;
    let Some(entry) = files.get(info_hash) else {
        // Trackers leave out torrents they do not know: nobody is there.
        return Ok(ScrapeStats::default());
    };
    let entry = entry.as_dict().ok_or(TrackerError::BadField("files"))?;
    Ok(ScrapeStats {
        seeders: count(entry, b"complete", "complete")?.unwrap_or(0),
        leechers: count(entry, b"incomplete", "incomplete")?.unwrap_or(0),
        completed: count(entry, b"downloaded", "downloaded")?.unwrap_or(0),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Event;
    use std::net::SocketAddr;

    fn params() -> AnnounceParams {
        AnnounceParams {
            info_hash: [0xab; 20],
            peer_id: *b"-SH0100-abcdefghijkl",
            port: 6881,
            uploaded: 1,
            downloaded: 2,
            left: 3,
            event: Event::Started,
            numwant: Some(50),
            key: 0xdead_beef,
        }
    }

    #[test]
    fn announce_url_keeps_the_existing_query() {
        let url = announce_url("http://t:80/announce?passkey=s3cret", &params(), None);
        assert_eq!(
            url,
            format!(
                "http://t:80/announce?passkey=s3cret&info_hash={}&peer_id=-SH0100-abcdefghijkl\
                 &port=6881&uploaded=1&downloaded=2&left=3&compact=1&key=DEADBEEF\
                 &event=started&numwant=50",
                "%AB".repeat(20)
            )
        );
        let mut p = params();
        p.event = Event::None;
        p.numwant = None;
        let url = announce_url("http://t/announce", &p, Some(b"id 1"));
        assert!(!url.contains("event="));
        assert!(!url.contains("numwant="));
        assert!(url.starts_with("http://t/announce?info_hash="));
        assert!(url.ends_with("&trackerid=id%201"));
    }

    #[test]
    fn reply_with_compact_v4_and_v6_peers() {
        let mut body =
            b"d8:completei5e10:incompletei2e8:intervali1800e12:min intervali900e5:peers12:"
                .to_vec();
        body.extend_from_slice(&[127, 0, 0, 1, 0x1a, 0xe1, 10, 1, 2, 3, 0, 80]);
        body.extend_from_slice(b"6:peers618:");
        let mut v6 = [0u8; 18];
        v6[15] = 1;
        v6[16] = 0x1a;
        v6[17] = 0xe2;
        body.extend_from_slice(&v6);
        body.extend_from_slice(b"15:warning message5:hello");
        body.push(b'e');
        let r = parse_announce(&body).unwrap();
        assert_eq!(r.interval, Some(Duration::from_secs(1800)));
        assert_eq!(r.min_interval, Some(Duration::from_secs(900)));
        assert_eq!((r.complete, r.incomplete), (Some(5), Some(2)));
        assert_eq!(r.warning.as_deref(), Some("hello"));
        let want: Vec<SocketAddr> = ["127.0.0.1:6881", "10.1.2.3:80", "[::1]:6882"]
            .iter()
            .map(|s| s.parse().unwrap())
            .collect();
        assert_eq!(r.peers, want);
    }

    #[test]
    fn reply_with_dictionary_peers() {
        let body = b"d8:intervali60e5:peersld2:ip9:127.0.0.17:peer id20:xxxxxxxxxxxxxxxxxxxx4:porti7000eed2:ip11:example.com4:porti1eed2:ip3:::14:porti7001eeee";
        let r = parse_announce(body).unwrap();
        let want: Vec<SocketAddr> = vec![
            "127.0.0.1:7000".parse().unwrap(),
            "[::1]:7001".parse().unwrap(),
        ];
        assert_eq!(r.peers, want);
    }

    #[test]
    fn failures_are_typed_errors() {
        assert_eq!(
            parse_announce(b"d14:failure reason12:unregisterede"),
            Err(TrackerError::Failure("unregistered".into()))
        );
        assert_eq!(parse_announce(b"le"), Err(TrackerError::NotADict));
        assert_eq!(
            parse_announce(b"d8:intervali-5ee"),
            Err(TrackerError::BadField("interval"))
        );
        assert_eq!(
            parse_announce(b"d5:peersi3ee"),
            Err(TrackerError::BadField("peers"))
        );
        assert!(matches!(
            parse_announce(b"d8:interv"),
            Err(TrackerError::Bencode(_))
        ));
        assert!(matches!(
            parse_announce(b"<html>502 Bad Gateway</html>"),
            Err(TrackerError::Bencode(_))
        ));
    }

    #[test]
    fn failure_reason_is_one_bounded_line() {
        let long = "x\n".repeat(500);
        let body = format!("d14:failure reason{}:{}e", long.len(), long);
        let Err(TrackerError::Failure(msg)) = parse_announce(body.as_bytes()) else {
            panic!("not a failure")
        };
        assert!(!msg.contains('\n'));
        assert!(msg.chars().count() <= crate::MAX_MESSAGE + 1);
    }

    #[test]
    fn scrape_urls_follow_bep_48() {
        let cases = [
            ("http://t/announce", Some("http://t/scrape")),
            ("http://t/x/announce", Some("http://t/x/scrape")),
            ("http://t/announce.php", Some("http://t/scrape.php")),
            ("http://t/announce?x=2", Some("http://t/scrape?x=2")),
            ("http://t/x/announce?x=2/4", Some("http://t/x/scrape?x=2/4")),
            ("http://t/a", None),
            ("http://t/announce/x", None),
            ("http://t/x%064announce", None),
            ("http://t", None),
        ];
        for (announce, scrape) in cases {
            assert_eq!(scrape_url(announce).as_deref(), scrape, "{announce}");
        }
        assert_eq!(
            scrape_request_url("http://t/scrape", &[[1; 20]]),
            format!("http://t/scrape?info_hash={}", "%01".repeat(20))
        );
    }

    #[test]
    fn scrape_replies() {
        let mut body = b"d5:filesd20:".to_vec();
        body.extend_from_slice(&[7; 20]);
        body.extend_from_slice(b"d8:completei11e10:downloadedi13772e10:incompletei19eeee");
        assert_eq!(
            parse_scrape(&body, &[7; 20]).unwrap(),
            ScrapeStats {
                seeders: 11,
                leechers: 19,
                completed: 13772
            }
        );
        assert_eq!(
            parse_scrape(&body, &[8; 20]).unwrap(),
            ScrapeStats::default()
        );
        assert_eq!(
            parse_scrape(b"de", &[8; 20]),
            Err(TrackerError::Missing("files"))
        );
    }
}
