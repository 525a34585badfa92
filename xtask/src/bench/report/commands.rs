//! The commands that reproduce every figure.

use crate::bench::cert_setup::CertTool;
use crate::bench::results::Results;
use std::fmt::{self, Write as _};

pub(super) fn commands(md: &mut String, results: &Results) -> fmt::Result {
    writeln!(md, "## Commands\n")?;
    writeln!(
        md,
        "Reproduce everything with `cargo xtask bench` (`--quick` for a one-round check). It builds the release \
         binaries, starts each server on a free loopback port and runs (PORT is that port):\n"
    )?;
    writeln!(md, "```")?;
    for (server, bench) in &results.commands {
        writeln!(md, "{server}\n    {bench}")?;
    }
    for tool in CertTool::ALL {
        writeln!(md, "# {}", tool.name())?;
        for argv in tool.commands() {
            writeln!(
                md,
                "{}",
                argv.iter()
                    .map(certgen::shell::quote)
                    .collect::<Vec<_>>()
                    .join(" ")
            )?;
        }
    }
    writeln!(md, "```\n")
}
