//! What `certgen lint` (and `doctor`, whose checks are lint rules too) reports: each rule's outcome, with the fix
//! for a failure, and the report of one file.

use std::fmt;

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum LintStatus {
    Pass,
    Fail,
    /// The rule needs input that was not given (an issuer, a key).
    Skip,
}

impl fmt::Display for LintStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Pass => "PASS",
            Self::Fail => "FAIL",
            Self::Skip => "SKIP",
        })
    }
}

/// One rule's outcome. `fix` is set when the rule failed.
#[derive(Debug, Clone, Serialize)]
pub struct LintRule {
    pub rule: &'static str,
    pub status: LintStatus,
    pub detail: String,
    pub fix: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct LintReport {
    pub file: String,
    pub subject: String,
    pub rules: Vec<LintRule>,
}

impl LintReport {
    /// How many rules failed (skipped rules are not failures).
    pub fn failed(&self) -> usize {
        self.rules.iter().filter(|r| r.status == LintStatus::Fail).count()
    }
}

impl fmt::Display for LintReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{}: {}", self.file, self.subject)?;
        for rule in &self.rules {
            writeln!(f, "  {}  {:<18} {}", rule.status, rule.rule, rule.detail)?;
            if let Some(fix) = &rule.fix {
                writeln!(f, "        {:<18} fix: {fix}", "")?;
            }
        }
        match self.failed() {
            0 => write!(f, "all rules pass"),
            1 => write!(f, "1 rule fails"),
            n => write!(f, "{n} rules fail"),
        }
    }
}

pub(crate) fn pass(rule: &'static str, detail: impl Into<String>) -> LintRule {
    LintRule {
        rule,
        status: LintStatus::Pass,
        detail: detail.into(),
        fix: None,
    }
}

pub(crate) fn fail(rule: &'static str, detail: impl Into<String>, fix: impl Into<String>) -> LintRule {
    LintRule {
        rule,
        status: LintStatus::Fail,
        detail: detail.into(),
        fix: Some(fix.into()),
    }
}

pub(crate) fn skip(rule: &'static str, detail: impl Into<String>) -> LintRule {
    LintRule {
        rule,
        status: LintStatus::Skip,
        detail: detail.into(),
        fix: None,
    }
}
