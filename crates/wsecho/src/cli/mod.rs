//! Command-line front end: the clap definitions of every subcommand and the glue from flags to the library.
//! Declared by `main.rs`, never by `lib.rs`: the library knows nothing of clap or of printing.

mod acme;
mod bench;
mod client;
mod deflate;
mod serve;
mod values;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "wsecho",
    version,
    about = "WebSocket echo server (ws + wss), test page, client"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the echo server: ws and wss listeners, the test page at /, /ca.cer, /healthz, /stats.
    Serve(serve::ServeArgs),
    /// Connect to a ws:// or wss:// URL: check echoes with --send, or relay stdin lines interactively.
    Client(client::ClientArgs),
    /// Load-test a ws:// or wss:// echo server: messages/s, MB/s, latency percentiles; checks every echo.
    Bench(bench::BenchArgs),
}

pub(crate) fn main() -> ExitCode {
    let cli = match certgen::usage::parse::<Cli>() {
        Ok(cli) => cli,
        Err(code) => return code,
    };
    let verbose = matches!(&cli.command, Command::Serve(args) if args.verbose);
    wsecho::init_logging(verbose);
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            certgen::usage::print_error("wsecho", format_args!("cannot start the async runtime: {e}"));
            return ExitCode::from(1);
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Serve(args) => serve::serve(args).await,
            Command::Client(args) => client::client(args).await,
            Command::Bench(args) => bench::bench(args).await,
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            certgen::usage::print_error("wsecho", &e);
            ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(1))
        }
    }
}
