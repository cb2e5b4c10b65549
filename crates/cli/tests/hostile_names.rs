//! Torrents whose names or path components carry separators, `..` or absolute
//! paths. shoal may refuse them (exit 1, one line on stderr) or neutralise the
//! separators; if it accepts one, a real transfer (shoal seed -> shoal get) must
//! put the file inside the output folder and nowhere else.

mod common;

use common::json::json_leaves;
use common::refusal::{assert_no_problems, check_refused, entries_outside_output};
use common::tools::{require, Tool};
use common::wait::QUICK_TIMEOUT;
use common::{mktorrent, seeded_bytes, shoal, TestDir, TRANSFER_TIMEOUT};

const PLACEHOLDER: &str = "zzzzplaceholder.bin";
const SIZE: usize = 100_000;

/// Where the hostile text goes.
#[derive(Clone, Copy)]
enum Layout {
    /// The name of a single-file torrent.
    SingleFileName,
    /// One path component of the only file of a multi-file torrent.
    PathComponent,
}

/// A valid torrent made by mktorrent with its placeholder name or component
/// replaced by `hostile`: the piece hashes still match the data.
fn hostile_torrent(t: &TestDir, layout: Layout, hostile: &str) -> std::path::PathBuf {
    let src = t.subdir("src");
    let data = match layout {
        Layout::SingleFileName => src.join(PLACEHOLDER),
        Layout::PathComponent => src.join("folder").join(PLACEHOLDER),
    };
    common::write_seeded_file(&data, 77, SIZE);
    let plain = t.join("plain.torrent");
    let made_from = match layout {
        Layout::SingleFileName => data,
        Layout::PathComponent => src.join("folder"),
    };
    mktorrent::make(t, &made_from, &plain, 15);

    let bytes = std::fs::read(&plain).unwrap();
    let needle = format!("{}:{PLACEHOLDER}", PLACEHOLDER.len()).into_bytes();
    let at = bytes
        .windows(needle.len())
        .position(|w| w == needle.as_slice())
        .expect("mktorrent's output holds the placeholder name");
    let mut patched = bytes[..at].to_vec();
    patched.extend_from_slice(format!("{}:{hostile}", hostile.len()).as_bytes());
    patched.extend_from_slice(&bytes[at + needle.len()..]);
    let torrent = t.join("hostile.torrent");
    std::fs::write(&torrent, patched).unwrap();
    torrent
}

/// Problems with one path that shoal says it will write, relative to the output folder.
fn unsafe_path(path: &str) -> Option<String> {
    let bad_component = path
        .split('/')
        .any(|c| c.is_empty() || c == "." || c == "..");
    (path.starts_with('/') || bad_component)
        .then(|| format!("shoal would write the file at {path:?}"))
}

/// Refused cleanly, or accepted and confined to the output folder in a real transfer.
fn check_case(t: &TestDir, case: &str, layout: Layout, hostile: &str) -> Vec<String> {
    let torrent = hostile_torrent(t, layout, hostile);
    let info = shoal::run(
        t,
        "shoal-info-json",
        args!["info", &torrent, "--json"],
        QUICK_TIMEOUT,
    );
    if !info.status.success() {
        return check_refused(t, case, torrent.as_os_str());
    }

    let paths: Vec<String> = json_leaves(t, &info.stdout)
        .into_iter()
        .filter(|(key, _)| key.starts_with("files.") && key.ends_with(".path"))
        .map(|(_, value)| value.trim_matches('"').to_string())
        .collect();
    let mut problems: Vec<String> = paths
        .iter()
        .filter_map(|path| unsafe_path(path))
        .map(|problem| format!("{case}: {problem}"))
        .collect();
    if paths.len() != 1 {
        problems.push(format!(
            "{case}: expected one file, `shoal info --json` lists {paths:?}"
        ));
    }
    if !problems.is_empty() {
        return problems;
    }

    // Seed the data where shoal maps it, fetch it, and look where it landed.
    let seed_dir = t.subdir("seed");
    common::write_seeded_file(&seed_dir.join(&paths[0]), 77, SIZE);
    let before = entries_outside_output(t);
    let seeder = shoal::seed(t, &torrent, &seed_dir, &[]);
    let out = t.subdir("out");
    let finished = shoal::spawn_get(t, &torrent, &out, shoal::peer_args(&[seeder.addr()]))
        .wait_exit(TRANSFER_TIMEOUT);
    drop(seeder);

    let mut problems = Vec::new();
    if !finished.status.success() {
        problems.push(format!(
            "{case}: accepted by `shoal info` but `shoal get` failed: {}",
            finished.describe()
        ));
    }
    let created: Vec<String> = entries_outside_output(t)
        .difference(&before)
        .cloned()
        .collect();
    if !created.is_empty() {
        problems.push(format!(
            "{case}: wrote outside the output folder: {created:?}"
        ));
    }
    let files = common::data::list_files(&out).unwrap_or_default();
    let expected = seeded_bytes(77, SIZE);
    let landed: Vec<_> = files.keys().collect();
    match files.values().next() {
        Some(file) if files.len() == 1 && std::fs::read(file).ok() == Some(expected) => {}
        _ => problems.push(format!(
            "{case}: expected the one file inside the output folder, found {landed:?}"
        )),
    }
    problems
}

#[test]
fn hostile_names_are_refused_or_confined_to_the_output_folder() {
    if !require(&[Tool::Mktorrent]) {
        return;
    }
    let absolute_dir = TestDir::new("hostile-absolute-target");
    let absolute = absolute_dir.join("absolute-target.bin");
    let absolute = absolute.to_str().unwrap().to_string();
    let cases = [
        (
            "name-parent",
            Layout::SingleFileName,
            "../escape.bin".to_string(),
        ),
        (
            "name-nested-parent",
            Layout::SingleFileName,
            "x/../../escape.bin".to_string(),
        ),
        ("name-absolute", Layout::SingleFileName, absolute.clone()),
        (
            "name-backslash-parent",
            Layout::SingleFileName,
            "..\\escape.bin".to_string(),
        ),
        (
            "path-with-slash",
            Layout::PathComponent,
            "a/../../escape.bin".to_string(),
        ),
        ("path-absolute", Layout::PathComponent, absolute.clone()),
    ];
    // Every case keeps its own dir until the end, so a failure keeps them all.
    let mut dirs = Vec::new();
    let mut problems = Vec::new();
    for (case, layout, hostile) in &cases {
        let t = TestDir::new(&format!("hostile-{case}"));
        problems.extend(check_case(&t, case, *layout, hostile));
        dirs.push(t);
    }
    if std::path::Path::new(&absolute).exists() {
        problems.push(format!("{absolute} was written"));
    }
    assert_no_problems(problems);
}
