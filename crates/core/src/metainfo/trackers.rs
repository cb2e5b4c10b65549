//! Announce URLs: `announce-list` tiers (BEP 12) with `announce` as the fallback.

use shoal_bencode::Dict;
use std::collections::HashSet;

/// The tracker tiers of a torrent. As BEP 12 says, `announce` is ignored when `announce-list`
/// holds any usable URL. URLs are trimmed; empty strings, non-strings and repeats (even across
/// tiers) are skipped, and tiers left empty are dropped.
pub(super) fn tiers(top: &Dict<'_>) -> Vec<Vec<String>> {
    let mut seen = HashSet::new();
    let mut tiers = Vec::new();
    for tier in top.get_list(b"announce-list").unwrap_or_default() {
        let urls: Vec<String> = tier
            .as_list()
            .unwrap_or_default()
            .iter()
            .filter_map(|url| url.as_str())
            .map(str::trim)
            .filter(|url| !url.is_empty() && seen.insert(url.to_string()))
            .map(String::from)
            .collect();
        if !urls.is_empty() {
            tiers.push(urls);
        }
    }
    if tiers.is_empty() {
        if let Some(url) = top
            .get_str(b"announce")
            .map(str::trim)
            .filter(|u| !u.is_empty())
        {
            tiers.push(vec![url.to_string()]);
        }
    }
    tiers
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiers_of(torrent: &[u8]) -> Vec<Vec<String>> {
        let value = shoal_bencode::decode(torrent).unwrap();
        tiers(value.as_dict().unwrap())
    }

    #[test]
    fn announce_list_wins_and_is_deduplicated() {
        let t = b"d8:announce5:http:13:announce-listll5:udp:a5:udp:bei3el5:udp:a0:5:udp:ceee";
        assert_eq!(tiers_of(t), vec![vec!["udp:a", "udp:b"], vec!["udp:c"]]);
    }

    #[test]
    fn falls_back_to_announce() {
        assert_eq!(
            tiers_of(b"d8:announce6:http:x13:announce-listlleee"),
            vec![vec!["http:x"]]
        );
        assert_eq!(tiers_of(b"d8:announce3:   e"), Vec::<Vec<String>>::new());
        assert_eq!(tiers_of(b"de"), Vec::<Vec<String>>::new());
    }
}
