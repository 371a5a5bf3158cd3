//! A private directory for one Redis server's files (its append-only file, a cluster node's
//! `nodes.conf`), removed when dropped.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// A new, empty directory under the system's temporary directory, removed with its contents
/// on drop.
#[derive(Debug)]
pub(crate) struct ScratchDir {
    path: PathBuf,
}

impl ScratchDir {
    /// Creates `pacer-redis-<pid>-<n>` in the temporary directory, `n` counting up in this
    /// process. Panics if it cannot.
    pub(crate) fn new() -> ScratchDir {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let name = format!(
            "pacer-redis-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let path = std::env::temp_dir().join(name);
        let _ = std::fs::remove_dir_all(&path); // left by an earlier process with our pid
        std::fs::create_dir_all(&path)
            .unwrap_or_else(|error| panic!("create {}: {error}", path.display()));
        ScratchDir { path }
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}
