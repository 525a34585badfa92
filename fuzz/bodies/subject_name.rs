//! certgen's name parsers on arbitrary strings: `SubjectName::parse` (each NAME of `certgen issue`) and
//! `Permit::parse` (each `--permit` of `certgen ca`) never panic, and every accepted value's canonical form
//! (what certgen prints) parses again to the same value.
//!
//! The body of the `subject_name` fuzz target, also run over `fuzz/seeds/subject_name` by certgen's `fuzz_seeds`
//! test.

use certgen::{Permit, SubjectName};

/// One fuzz input.
pub fn body(input: &str) {
    if let Ok(name) = SubjectName::parse(input) {
        let canonical = name.to_string();
        match SubjectName::parse(&canonical) {
            Ok(again) => assert_eq!(
                again, name,
                "canonical {canonical:?} of {input:?} parses differently"
            ),
            Err(e) => panic!("canonical {canonical:?} of accepted name {input:?} is refused: {e}"),
        }
    }
    if let Ok(permit) = Permit::parse(input) {
        let canonical = permit.to_string();
        match Permit::parse(&canonical) {
            Ok(again) => assert_eq!(
                again, permit,
                "canonical {canonical:?} of {input:?} parses differently"
            ),
            Err(e) => panic!("canonical {canonical:?} of accepted permit {input:?} is refused: {e}"),
        }
    }
}
