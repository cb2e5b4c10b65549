//! A per-test scratch directory: removed when the test passes, kept (and its path
//! printed) when the test fails, so the captured process logs can be read.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

static NEXT_ID: AtomicU32 = AtomicU32::new(0);

/// A fresh directory under the system temp dir, unique to one test.
pub struct TestDir {
    path: PathBuf,
}

impl TestDir {
    /// Creates `<tmp>/shoal-test-<name>-<pid>-<n>-<nanos>`.
    pub fn new(name: &str) -> TestDir {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!(
            "shoal-test-{name}-{}-{id}-{nanos}",
            std::process::id()
        ));
        std::fs::create_dir_all(&path)
            .unwrap_or_else(|e| panic!("cannot create test dir {}: {e}", path.display()));
        TestDir { path }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A path inside the test dir (not created).
    pub fn join(&self, relative: &str) -> PathBuf {
        self.path.join(relative)
    }

    /// A new empty subdirectory.
    pub fn subdir(&self, relative: &str) -> PathBuf {
        let dir = self.path.join(relative);
        std::fs::create_dir_all(&dir)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
        dir
    }
}

impl Drop for TestDir {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "test failed: its files and process logs are kept in {}",
                self.path.display()
            );
        } else if let Err(e) = std::fs::remove_dir_all(&self.path) {
            eprintln!("could not remove test dir {}: {e}", self.path.display());
        }
    }
}
