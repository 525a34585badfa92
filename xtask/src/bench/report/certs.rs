//! Certificate set-up time, each tool.

use super::figures::{cert_median, ratio};
use crate::bench::cert_setup::CertTool;
use crate::bench::plan::Profile;
use crate::bench::stats::CertMedians;
use std::fmt::{self, Write as _};

pub(super) fn cert_setup(md: &mut String, profile: &Profile, certs: &CertMedians) -> fmt::Result {
    writeln!(md, "\n## Certificate set-up\n")?;
    writeln!(
        md,
        "A new local CA plus a certificate for localhost, 127.0.0.1 and ::1 in an empty folder, wall time including \
         process start-up, median of {} runs (tools alternated). mkcert runs with `CAROOT` set to that folder and is \
         never asked to `-install`.\n",
        profile.cert_runs
    )?;
    writeln!(
        md,
        "| tool | keys | median ms | range ms | × certgen |\n|---|---|---:|---:|---:|"
    )?;
    let ours = cert_median(certs, CertTool::Certgen);
    for (tool, median, range) in certs {
        writeln!(
            md,
            "| {} | {} | {median:.1} | {range} | {:.2} |",
            tool.name(),
            tool.keys(),
            ratio(*median, ours)
        )?;
    }
    Ok(())
}
