//! Making file-name components from torrents safe to join under a download folder.
//!
//! A torrent is untrusted input: its `name` and `path` entries could try to escape the
//! download folder (`..`, absolute paths, drive letters) or use names the file system refuses.
//! [`sanitize_component`] either returns a name that is one plain component, or `None` when
//! nothing sensible is left; the metainfo parser turns `None` into
//! [`MetainfoError::UnsafePath`](crate::MetainfoError::UnsafePath).

/// Longest component most file systems accept, in bytes.
pub const MAX_COMPONENT_BYTES: usize = 255;

/// Longest extension kept intact when a long name is shortened.
const MAX_KEPT_EXTENSION_BYTES: usize = 16;

/// Returns a safe single path component for `raw`, or `None` when it cannot be one.
///
/// - `/`, `\`, NUL and other control characters become `_`, so a component can never hold a
///   separator (this also neutralises absolute paths such as `/etc` → `_etc`);
/// - a Windows drive prefix (`C:`) becomes `C_`;
/// - trailing dots and spaces are trimmed (Windows drops them silently, and this turns `.`
///   and `..` into empty names);
/// - names longer than 255 bytes are shortened, keeping a short extension;
/// - an empty result is refused.
pub fn sanitize_component(raw: &str) -> Option<String> {
    let mut name: String = raw
        .chars()
        .map(|c| {
            if c == '/' || c == '\\' || c.is_control() {
                '_'
            } else {
                c
            }
        })
        .collect();
    if let [letter, b':', ..] = name.as_bytes() {
        if letter.is_ascii_alphabetic() {
            name.replace_range(1..2, "_");
        }
    }
    let trimmed_len = name.trim_end_matches(['.', ' ']).len();
    name.truncate(trimmed_len);
    if name.len() > MAX_COMPONENT_BYTES {
        name = shorten(&name);
    }
    (!name.is_empty()).then_some(name)
}

/// Cuts `name` to at most [`MAX_COMPONENT_BYTES`] on a character boundary, keeping a short
/// extension so the file still opens with the right program.
fn shorten(name: &str) -> String {
    let ext = match name.rfind('.') {
        Some(dot) if name.len() - dot <= MAX_KEPT_EXTENSION_BYTES && dot > 0 => &name[dot..],
        _ => "",
    };
    let stem = &name[..name.len() - ext.len()];
    let mut cut = MAX_COMPONENT_BYTES - ext.len();
    while !stem.is_char_boundary(cut) {
        cut -= 1;
    }
    let stem = stem[..cut].trim_end_matches(['.', ' ']);
    format!("{stem}{ext}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_names_that_point_elsewhere() {
        for bad in ["", ".", "..", "...", " ", ". .", "..  "] {
            assert_eq!(sanitize_component(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn neutralises_separators_and_prefixes() {
        assert_eq!(
            sanitize_component("/etc/passwd").as_deref(),
            Some("_etc_passwd")
        );
        assert_eq!(sanitize_component("..\\..\\x").as_deref(), Some(".._.._x"));
        assert_eq!(sanitize_component("C:evil").as_deref(), Some("C_evil"));
        assert_eq!(sanitize_component("a\0b\nc").as_deref(), Some("a_b_c"));
        assert_eq!(sanitize_component("notes. . ").as_deref(), Some("notes"));
        assert_eq!(
            sanitize_component("Ünïcode 名前.mkv").as_deref(),
            Some("Ünïcode 名前.mkv")
        );
        assert_eq!(sanitize_component(".hidden").as_deref(), Some(".hidden"));
        assert_eq!(
            sanitize_component("time 12:30").as_deref(),
            Some("time 12:30")
        );
    }

    #[test]
    fn shortens_long_names_keeping_extension() {
        let long = format!("{}.mkv", "é".repeat(200));
        let short = sanitize_component(&long).unwrap();
        assert!(short.len() <= MAX_COMPONENT_BYTES);
        assert!(short.ends_with(".mkv"));
        assert!(short.starts_with('é'));
        let no_ext = "x".repeat(1000);
        assert_eq!(
            sanitize_component(&no_ext).unwrap().len(),
            MAX_COMPONENT_BYTES
        );
    }
}
