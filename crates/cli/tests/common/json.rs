//! Reading JSON printed by the processes under test, without a JSON crate:
//! tests/interop/json_leaves.py validates it and lists its leaves.

use super::process::Proc;
use super::testdir::TestDir;
use super::tools::{interop_script, DEBIAN_PYTHON};
use super::wait::QUICK_TIMEOUT;

/// Parses `json` into `(path, value)` pairs, the path being keys and indexes
/// joined by `.` and the value compact JSON (strings keep their quotes). Panics
/// with the parser's message if `json` is not one valid JSON document.
pub fn json_leaves(dir: &TestDir, json: &str) -> Vec<(String, String)> {
    let input = dir.join("json-input.json");
    std::fs::write(&input, json)
        .unwrap_or_else(|e| panic!("cannot write {}: {e}", input.display()));
    let args = crate::args![interop_script("json_leaves.py"), input];
    let finished = Proc::spawn(dir, "json-leaves", DEBIAN_PYTHON, args).wait_exit(QUICK_TIMEOUT);
    assert!(
        finished.status.success(),
        "not valid JSON: {}\n{json}",
        finished.stderr.trim()
    );
    finished
        .stdout
        .lines()
        .filter_map(|line| line.split_once('\t'))
        .map(|(path, value)| (path.to_string(), value.to_string()))
        .collect()
}
