//! Checks that shoal refused an input the way a user should see it: exit code 1,
//! one line on stderr, no panic, and nothing created outside the output folder.
//! Checks collect problems as strings so a test can report every failing case.

use std::collections::BTreeSet;

use super::process::{describe_status, Finished};
use super::shoal::{self, PANIC_EXIT_CODE};
use super::testdir::TestDir;
use super::wait::{wait_until, QUICK_TIMEOUT};

/// Top-level entries of the test dir, leaving out the output folder and logs.
pub fn entries_outside_output(t: &TestDir) -> BTreeSet<String> {
    std::fs::read_dir(t.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| name != "out" && !name.ends_with(".stdout") && !name.ends_with(".stderr"))
        .collect()
}

/// What is wrong with how shoal ended, if anything.
pub fn clean_failure_problem(finished: &Finished) -> Option<String> {
    let lines: Vec<&str> = finished
        .stderr
        .lines()
        .filter(|l| !l.trim().is_empty())
        .collect();
    if finished.status.code() == Some(PANIC_EXIT_CODE) || finished.stderr.contains("panicked") {
        return Some(format!("panicked: {}", finished.stderr.trim()));
    }
    if finished.status.code() != Some(1) {
        return Some(format!(
            "{} (expected exit code 1); stderr: {}",
            describe_status(finished.status),
            finished.stderr.trim()
        ));
    }
    if lines.len() != 1 {
        return Some(format!(
            "{} lines on stderr (expected one):\n{}",
            lines.len(),
            finished.stderr
        ));
    }
    None
}

/// Runs `shoal info SOURCE` and `shoal get SOURCE -o <test>/out` and returns
/// what is wrong with how they refused it (nothing if both refused cleanly).
pub fn check_refused(t: &TestDir, case: &str, source: &std::ffi::OsStr) -> Vec<String> {
    let mut problems = Vec::new();
    let before = entries_outside_output(t);
    let out = t.join("out");
    let runs = [
        ("info", crate::args!["info", source]),
        (
            "get",
            crate::args!["get", source, "-o", &out, "--listen", "127.0.0.1:0"],
        ),
    ];
    for (command, args) in runs {
        let mut proc = shoal::spawn_quiet(t, &format!("{case}-{command}"), args);
        if !wait_until(QUICK_TIMEOUT, || proc.try_exit().is_some()) {
            problems.push(format!(
                "{case}: `shoal {command}` accepted it (still running after {QUICK_TIMEOUT:?})"
            ));
            continue;
        }
        let finished = proc.wait_exit(QUICK_TIMEOUT);
        if let Some(problem) = clean_failure_problem(&finished) {
            problems.push(format!("{case}: `shoal {command}`: {problem}"));
        }
    }
    let after = entries_outside_output(t);
    let created: Vec<&String> = after.difference(&before).collect();
    if !created.is_empty() {
        problems.push(format!(
            "{case}: wrote outside the output folder: {created:?}"
        ));
    }
    problems
}

pub fn assert_no_problems(problems: Vec<String>) {
    assert!(
        problems.is_empty(),
        "{} problem(s):\n{}",
        problems.len(),
        problems.join("\n")
    );
}
