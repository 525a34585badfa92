//! Staged files: the hidden temporary files a commit writes next to their targets before it decides, created with
//! their final mode and synced. Without a journal, a staged file is what an interrupted run left, and is deleted.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::Error;

/// Is a file's content secret (created with mode 0600)?
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Secrecy {
    Public,
    Secret,
}

/// Ending of every staged file name; without a journal such a file is a leftover and is deleted.
pub(super) const TEMP_SUFFIX: &str = ".certgen-tmp";

/// A hidden, unique temporary name for `name` in `dir` (same folder, so renames between them are atomic).
pub(super) fn temp_path(dir: &Path, name: &str) -> PathBuf {
    let nonce: u64 = rand::random();
    dir.join(format!(".{name}.{nonce:016x}{TEMP_SUFFIX}"))
}

/// Creates `path` (which must not exist yet) holding `contents`, mode 0600 from the first byte for secrets, and
/// syncs it.
pub(super) fn write_new(path: &Path, contents: &[u8], secrecy: Secrecy) -> Result<(), Error> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(if secrecy == Secrecy::Secret { 0o600 } else { 0o644 });
    }
    #[cfg(not(unix))]
    let _ = secrecy;
    let folder = path.parent().unwrap_or(path);
    let mut file = options
        .open(path)
        .map_err(|e| Error::io("write to folder", folder, e))?;
    file.write_all(contents)
        .and_then(|()| file.sync_all())
        .map_err(|e| Error::io("write to folder", folder, e))
}

/// Puts `from`'s content at `to` (a hard link when the file system allows, else a synced copy), for backups.
pub(super) fn link_or_copy(from: &Path, to: &Path) -> std::io::Result<()> {
    fs::hard_link(from, to).or_else(|_| {
        fs::copy(from, to)?;
        File::open(to)?.sync_all()
    })
}

/// Staged files of interrupted runs in `dir`.
pub(super) fn temp_files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok())
        .filter(|e| {
            let name = e.file_name();
            let name = name.to_string_lossy();
            name.starts_with('.') && name.ends_with(TEMP_SUFFIX)
        })
        .map(|e| e.path())
        .collect()
}
