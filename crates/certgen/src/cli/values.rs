//! Flag values shared by the commands, typed when clap parses them: the `--dir` folder and `FILE|URL` arguments.
//! Names, key kinds, dates and permits are parsed by the library's own parsers (`SubjectName::parse`, ...) given
//! to clap as `value_parser`s; `certgen::usage` prints their errors as the library words them.

use std::path::{Path, PathBuf};

use clap::Args;

use certgen::inspect::Target;
use certgen::{CertsDir, Error};

/// The certificates folder, shared by every command.
#[derive(Debug, Args)]
pub struct DirArg {
    /// Folder holding the CA and the certificates.
    #[arg(long, env = "CERTGEN_DIR", default_value = "certs", value_name = "DIR")]
    pub dir: PathBuf,
}

impl DirArg {
    pub(crate) fn certs(&self) -> CertsDir {
        CertsDir::new(&self.dir)
    }
}

/// What `inspect` reads: a file, or the chain a `https://` or `wss://` server sends.
#[derive(Debug, Clone)]
pub(crate) enum Source {
    File(PathBuf),
    Url(Target),
}

impl Source {
    /// An argument starting `https://` or `wss://` is a URL (a malformed one is refused), anything else a file
    /// (whose name need not be UTF-8).
    pub(crate) fn from_arg(arg: PathBuf) -> Result<Source, Error> {
        match arg.to_str() {
            Some(url) if url.starts_with("https://") || url.starts_with("wss://") => {
                Target::parse(url).map(Source::Url)
            }
            _ => Ok(Source::File(arg)),
        }
    }
}

/// The folder of `file`, `.` for a bare file name: where certgen recovers an interrupted change before reading it.
pub(crate) fn folder_of(file: &Path) -> PathBuf {
    match file.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    }
}
