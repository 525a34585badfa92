//! `certgen`: a thin front end over the certgen library (see cli/).

mod cli;

use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = match certgen::usage::parse::<cli::Cli>() {
        Ok(cli) => cli,
        Err(code) => return code,
    };
    match cli::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            certgen::usage::print_error("certgen", &err);
            ExitCode::from(u8::try_from(err.exit_code()).unwrap_or(1))
        }
    }
}
