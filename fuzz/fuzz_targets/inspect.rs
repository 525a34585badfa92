//! Fuzz target: certgen's inspect entry points on arbitrary file contents (see `bodies/inspect.rs`).
#![no_main]

#[path = "../bodies/inspect.rs"]
mod body;

libfuzzer_sys::fuzz_target!(|bytes: &[u8]| body::body(bytes));
