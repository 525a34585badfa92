//! The concrete commands `doctor`'s fixes name: `certgen issue` with the leaf's names plus the host asked for,
//! `certgen ca --force`, with the certs folder given.

use std::path::Path;

use x509_parser::certificate::X509Certificate;

use crate::cert::SubjectAltName;
use crate::inspect::describe::Extensions;
use crate::inspect::lint::LintRule;
use crate::inspect::remote::Target;
use crate::trust::Invocation;

/// The concrete commands the fixes name: the leaf's names plus the one the client asked for.
pub(super) struct Fixes {
    pub(super) dir: String,
    pub(super) reissue: String,
    pub(super) new_ca: String,
}

impl Fixes {
    pub(super) fn new(
        leaf: &X509Certificate<'_>,
        target: &Target,
        certs_dir: &Path,
        invocation: &Invocation,
    ) -> Fixes {
        let mut names = vec![target.host.clone()];
        for name in Extensions::of(leaf).subject_alt_names {
            if let SubjectAltName::Dns(_) | SubjectAltName::Ip(_) = name {
                let value = name.value();
                if !names.contains(&value) {
                    names.push(value);
                }
            }
        }
        let dir = certs_dir.display().to_string();
        Fixes {
            reissue: invocation.certgen(format!("issue {} --force --dir {dir}", names.join(" "))),
            new_ca: invocation.certgen(format!("ca --force --dir {dir}")),
            dir,
        }
    }

    /// A lint rule's fix with `certgen issue NAME...` spelt out.
    pub(super) fn concrete(&self, mut rule: LintRule) -> LintRule {
        rule.fix = rule
            .fix
            .map(|fix| fix.replace("certgen issue NAME...", &self.reissue));
        rule
    }
}
