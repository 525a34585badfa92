//! Command-line usage errors as one line, for every binary of the workspace (certgen, wsecho, xtask): clap's own
//! rendering spends three lines or more on one mistake (the error, a usage line, a pointer to `--help`), where the
//! project promises one line naming the value and the fix, with exit code 2.

use std::ffi::OsString;
use std::process::ExitCode;

use clap::Parser;
use clap::error::ErrorKind;

/// Parses this process's command line into `P`. `--help` and `--version` print as clap renders them and exit 0;
/// any other mistake prints one line, e.g. `certgen: error: invalid value 'x' for '--days <DAYS>': expected a whole
/// number (see 'certgen issue --help')`, and exits 2. `Err` holds the exit code to return from `main`.
pub fn parse<P: Parser>() -> Result<P, ExitCode> {
    let args: Vec<OsString> = std::env::args_os().collect();
    P::try_parse_from(&args).map_err(|err| match err.kind() {
        ErrorKind::DisplayHelp
        | ErrorKind::DisplayVersion
        | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            let _ = err.print();
            ExitCode::from(u8::try_from(err.exit_code()).unwrap_or(2))
        }
        _ => {
            let command = P::command();
            // A value refused by one of certgen's own parsers (a name, a key kind, ...) reads as certgen words it
            // wherever the same mistake is found, with that error's exit code.
            let refused =
                std::error::Error::source(&err).and_then(|source| source.downcast_ref::<crate::Error>());
            if let Some(refused) = refused {
                print_error(command.get_name(), refused);
                return ExitCode::from(u8::try_from(refused.exit_code()).unwrap_or(2));
            }
            let line = one_line(&err.render().to_string(), &command_path(&command, &args));
            print_error(command.get_name(), line.strip_prefix("error: ").unwrap_or(&line));
            ExitCode::from(2)
        }
    })
}

/// How every binary of the workspace reports a failure: one line `PROGRAM: error: MESSAGE` on stderr, usage
/// mistakes included, so a log that mixes certgen, wsecho and xtask says which one failed.
pub fn print_error(program: &str, message: impl std::fmt::Display) {
    eprintln!("{program}: error: {message}");
}

/// The command a user asks `--help` of: the binary's name and the subcommands among `args`, e.g.
/// `certgen trust install`.
fn command_path(command: &clap::Command, args: &[OsString]) -> String {
    let mut path = vec![command.get_bin_name().unwrap_or(command.get_name()).to_string()];
    let mut current = command;
    for arg in args.iter().skip(1).filter_map(|arg| arg.to_str()) {
        if let Some(sub) = current.find_subcommand(arg) {
            path.push(sub.get_name().to_string());
            current = sub;
        }
    }
    path.join(" ")
}

/// clap's rendered error folded into one line: the message, its list items and tips, without the usage line and
/// the `--help` pointer, which become `(see 'PATH --help')`.
fn one_line(rendered: &str, path: &str) -> String {
    let message = rendered
        .split("\nUsage:")
        .next()
        .unwrap_or(rendered)
        .split("\nFor more information")
        .next()
        .unwrap_or(rendered);
    let mut line = String::new();
    for part in message.lines().map(str::trim).filter(|part| !part.is_empty()) {
        if line.is_empty() {
            line.push_str(part);
        } else if line.ends_with(':') {
            line.push(' ');
            line.push_str(part);
        } else if part.starts_with("tip:") {
            line.push_str("; ");
            line.push_str(part);
        } else {
            line.push_str(", ");
            line.push_str(part);
        }
    }
    format!("{} (see '{path} --help')", plain_number_errors(&line))
}

/// std's integer-parsing messages (what clap shows for a numeric option) in words that say what to give instead.
fn plain_number_errors(line: &str) -> String {
    [
        ("invalid digit found in string", "expected a whole number"),
        (
            "cannot parse integer from empty string",
            "expected a whole number, got nothing",
        ),
        (
            "number too large to fit in target type",
            "too large for this option",
        ),
        (
            "number too small to fit in target type",
            "too small for this option",
        ),
    ]
    .iter()
    .fold(line.to_owned(), |line, (std, plain)| line.replace(std, plain))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[derive(Parser)]
    #[command(name = "tool")]
    struct Tool {
        #[command(subcommand)]
        command: Sub,
    }

    #[derive(clap::Subcommand)]
    enum Sub {
        Issue {
            #[arg(long)]
            days: Option<u32>,
            #[arg(long)]
            force: bool,
            #[arg(required = true)]
            names: Vec<String>,
            #[arg(long, required = true)]
            out: String,
        },
    }

    fn error_line(args: &[&str]) -> String {
        let args: Vec<OsString> = std::iter::once("tool")
            .chain(args.iter().copied())
            .map(OsString::from)
            .collect();
        let err = Tool::try_parse_from(&args).err().expect("a usage error");
        one_line(&err.render().to_string(), &command_path(&Tool::command(), &args))
    }

    #[test]
    fn a_bad_value_is_one_line_naming_it_and_the_help_of_its_subcommand() {
        assert_eq!(
            error_line(&["issue", "--days", "x", "a", "--out", "o"]),
            "error: invalid value 'x' for '--days <DAYS>': expected a whole number (see 'tool issue --help')"
        );
    }

    #[test]
    fn tips_and_lists_join_the_line() {
        assert_eq!(
            error_line(&["issue", "--forc", "a", "--out", "o"]),
            "error: unexpected argument '--forc' found; tip: a similar argument exists: '--force' \
             (see 'tool issue --help')"
        );
        assert_eq!(
            error_line(&["issue"]),
            "error: the following required arguments were not provided: --out <OUT>, <NAMES>... \
             (see 'tool issue --help')"
        );
        assert_eq!(
            error_line(&["isue"]),
            "error: unrecognized subcommand 'isue'; tip: a similar subcommand exists: 'issue' (see 'tool --help')"
        );
    }
}
