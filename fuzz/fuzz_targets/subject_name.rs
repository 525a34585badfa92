//! Fuzz target: certgen's name parsers on arbitrary strings (see `bodies/subject_name.rs`).
#![no_main]

#[path = "../bodies/subject_name.rs"]
mod body;

libfuzzer_sys::fuzz_target!(|input: &str| body::body(input));
