//! `certgen broken`: certificates that fail on purpose, each in its own way, to test clients against.

use clap::Args;

use certgen::Error;

use super::output::print_broken;
use super::values::DirArg;

#[derive(Debug, Args)]
#[command(after_help = BROKEN_HELP)]
pub struct BrokenArgs {
    #[command(flatten)]
    pub(crate) dir: DirArg,
    /// Print what was written as JSON.
    #[arg(long)]
    json: bool,
}

const BROKEN_HELP: &str = "Each certificate is NAME.pem, NAME-key.pem and NAME-fullchain.pem in DIR/broken (the \
    chain a server presents, incomplete on purpose where that is the failure). A client that trusts only DIR/ca.pem \
    and connects to localhost accepts `good` and refuses every other one; docs/troubleshooting.md lists what \
    Chromium, Firefox, Python, Node and curl say for each. A second run replaces the set.";

pub(crate) fn broken(args: BrokenArgs) -> Result<(), Error> {
    let dir = args.dir.certs();
    let set = dir.make_broken()?;
    print_broken(&set, &dir.ca_files().cert_pem, args.json)
}
