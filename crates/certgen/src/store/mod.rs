//! A certs folder: where its files live (`layout.rs`: [`CertsDir`], the file sets, backup names) and how they get
//! there, crash-safely (`commit.rs`, with `staged.rs`, `journal.rs` and `recover.rs`).
//!
//! Every command that writes changes several files at once (a certificate and its key, the CA's three files and
//! their backups), and a kill at any moment must leave either all the old files or all the new ones. A `Commit`
//! does that in three phases:
//!
//! 1. **Stage**: write every new file as a hidden temporary file (`.NAME.RANDOM.certgen-tmp`, keys 0600 from the
//!    first byte) next to its target and fsync it. Nothing visible has changed yet.
//! 2. **Decide**: write the journal (`.certgen-journal`, the list of renames and removals to do) through a
//!    temporary file, fsync, rename, fsync the folder. From this instant the change counts as made.
//! 3. **Apply**: do the renames and removals in order, fsync the folder, delete the journal.
//!
//! Before any command reads or writes a folder, [`CertsDir::recover`] finishes what a killed run left: with a
//! journal it redoes the renames whose temporary file still exists (the others already happened), then deletes
//! the journal; without one, leftover temporary files belong to a run killed before it decided, and are deleted.
//! A lock on the folder keeps two certgen processes from doing this to each other's files.

mod commit;
mod fault;
mod folder;
mod journal;
mod layout;
mod recover;
mod staged;

pub(crate) use commit::Commit;
pub use fault::FAULT_AFTER_ENV;
pub use layout::{CaFiles, CertsDir, LeafFiles};
pub(crate) use layout::{backup_path, backup_stamp, read, refuse_existing};
pub use recover::{Recovered, recover};
pub(crate) use staged::Secrecy;
