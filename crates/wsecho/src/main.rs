//! The `wsecho` binary: parse the command line, call the library, print, exit with 0, 1 or 2.

mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}
