//! certgen's name parsers on arbitrary strings: `SubjectName::parse` (each NAME of `certgen issue`) and
//! `Permit::parse` (each `--permit` of `certgen ca`) never panic, and every accepted value's canonical form
//! (what certgen prints) parses again to the same value.
//!
//! The body of the `subject_name` fuzz target, also run over `fuzz/seeds/subject_name` by certgen's `fuzz_seeds`
//! test.

use std::fmt::{Debug, Display};

use certgen::{Error, Permit, SubjectName};

/// One fuzz input.
pub fn body(input: &str) {
    round_trips(input, SubjectName::parse, "name");
    round_trips(input, Permit::parse, "permit");
}

/// When `parse` accepts `input`, its canonical form (`Display`) must parse back to the same value.
fn round_trips<T: Display + PartialEq + Debug>(input: &str, parse: fn(&str) -> Result<T, Error>, what: &str) {
    if let Ok(value) = parse(input) {
        let canonical = value.to_string();
        match parse(&canonical) {
            Ok(again) => assert_eq!(
                again, value,
                "canonical {canonical:?} of {input:?} parses differently"
            ),
            Err(e) => panic!("canonical {canonical:?} of accepted {what} {input:?} is refused: {e}"),
        }
    }
}
