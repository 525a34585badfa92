//! Child processes for the workspace's tests and for xtask, which runs servers and load generators the same way:
//! a child that is stopped when dropped (so no server outlives a failed test or task), a command run to completion
//! within a time limit, a child's output line by line with a bounded wait for one, and `/proc` figures.
//!
//! Only the standard library, and no policy: callers decide whether a timeout is a panic (tests) or an error
//! (xtask), and what their messages say.

mod kill_on_drop;
mod lines;
mod proc;
mod run;

pub use kill_on_drop::{KillOnDrop, StopGroupOnDrop};
pub use lines::{lines, wait_for_line};
pub use proc::kib_field;
pub use run::{Ran, run_within};
