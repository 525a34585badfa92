//! The certs folder as a whole: the lock that keeps two certgen runs apart, and syncing its entries to disk.

use std::fs::File;
use std::path::Path;

/// An exclusive lock on the folder for this process's lifetime of the returned handle, so one certgen run never
/// recovers (deletes) another's staged files. Best effort: a folder that cannot be opened or locked is used
/// unlocked.
pub(super) fn lock(dir: &Path) -> Option<File> {
    let folder = File::open(dir).ok()?;
    #[cfg(unix)]
    rustix::fs::flock(&folder, rustix::fs::FlockOperation::LockExclusive).ok()?;
    Some(folder)
}

/// Makes renames in `dir` durable. A folder that cannot be opened for sync is not worth failing the command for.
pub(super) fn sync_dir(dir: &Path) {
    if let Ok(folder) = File::open(dir) {
        let _ = folder.sync_all();
    }
}

/// The sorted names in `dir`, for tests that check what a commit or a recovery left there.
#[cfg(test)]
pub(super) fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|it| {
            it.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}
