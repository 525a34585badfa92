//! Which of a leaf's names fall outside its issuers' name constraints, using the same rules
//! `certgen issue` checks before signing ([`crate::constraints::Constraints`]).

use x509_parser::certificate::X509Certificate;

use crate::constraints::{Constraints, Violation};
use crate::names::SubjectName;

/// One leaf name a CA's constraints do not cover.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Outside {
    pub(crate) name: String,
    pub(crate) permitted: String,
    /// The `--permit ...` the CA would need.
    pub(crate) hint: String,
    pub(crate) ca: String,
}

/// What checking a leaf against its issuers found.
#[derive(Debug, Default)]
pub(crate) struct ConstraintCheck {
    /// Subjects of the issuers that carry name constraints.
    pub(crate) constrained_issuers: Vec<String>,
    pub(crate) outside: Vec<Outside>,
}

/// Checks every DNS, wildcard, IP, email and URI name of `leaf` against each issuer's name
/// constraints. An issuer whose constraints cannot be read is an error naming that issuer.
pub(crate) fn check_names<'a>(
    leaf: &X509Certificate<'_>,
    issuers: impl IntoIterator<Item = &'a X509Certificate<'a>>,
) -> Result<ConstraintCheck, String> {
    let names: Vec<SubjectName> = match leaf.subject_alternative_name() {
        Ok(Some(san)) => san
            .value
            .general_names
            .iter()
            .filter_map(|general| SubjectName::from_general_name(general).ok())
            .collect(),
        _ => Vec::new(),
    };
    let mut found = ConstraintCheck::default();
    for issuer in issuers {
        let ca = issuer.subject().to_string();
        let constraints = match Constraints::from_certificate(issuer) {
            Ok(Some(constraints)) => constraints,
            Ok(None) => continue,
            Err(reason) => return Err(format!("the name constraints of {ca}: {reason}")),
        };
        for name in &names {
            if let Some(Violation {
                name,
                permitted,
                hint,
            }) = constraints.check(name)
            {
                found.outside.push(Outside {
                    name,
                    permitted,
                    hint,
                    ca: ca.clone(),
                });
            }
        }
        found.constrained_issuers.push(ca);
    }
    Ok(found)
}
