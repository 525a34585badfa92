//! The flags of `up`, `certs`, `trust`, `untrust`, `status` and `serve`.

#[derive(Debug, clap::Args)]
pub struct NameArgs {
    /// Extra name for the server certificate (DNS name or IP; repeatable), e.g. --name myhost.test
    #[arg(long = "name", value_name = "NAME")]
    pub(super) names: Vec<String>,
    /// Add this machine's LAN addresses (so phones and other machines can connect) and listen on all interfaces
    #[arg(long)]
    pub(super) lan: bool,
}

#[derive(Debug, clap::Args)]
pub struct TrustArgs {
    /// Also the operating system's store (needs root; otherwise prints the command to run)
    #[arg(long)]
    pub(super) system: bool,
    /// Print the commands without running them
    #[arg(long)]
    pub(super) dry_run: bool,
}

#[derive(Debug, clap::Args)]
pub struct StatusArgs {
    /// Also check the operating system's store
    #[arg(long)]
    pub(super) system: bool,
    /// Port of the running server's wss:// + https:// listener, whose certificate `certgen doctor` checks
    #[arg(long, value_name = "PORT", default_value_t = 8443)]
    pub(super) wss_port: u16,
}

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Listen on all interfaces instead of loopback only
    #[arg(long)]
    pub(super) lan: bool,
    #[command(flatten)]
    pub(super) ports: Ports,
}

/// The two ports the echo server listens on.
#[derive(Debug, Clone, Copy, clap::Args)]
pub struct Ports {
    /// Port of the ws:// + http:// listener (the CA download for phones is served here)
    #[arg(long, value_name = "PORT", default_value_t = 8080)]
    pub(super) ws_port: u16,
    /// Port of the wss:// + https:// listener (the test page)
    #[arg(long, value_name = "PORT", default_value_t = 8443)]
    pub(super) wss_port: u16,
}

#[derive(Debug, clap::Args)]
pub struct UpArgs {
    #[command(flatten)]
    pub(super) names: NameArgs,
    /// Also install the CA in the operating system's store (curl, Python, Node with system CAs...)
    #[arg(long)]
    pub(super) system: bool,
    /// Install what the trust step needs (certutil) without asking; without a terminal and without --yes
    /// the install command is only printed
    #[arg(long, short = 'y')]
    pub(super) yes: bool,
    #[command(flatten)]
    pub(super) ports: Ports,
}
