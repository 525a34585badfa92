//! `wsecho serve`'s permessage-deflate flags, turned into [`DeflateSettings`].

use clap::{Args, ValueEnum};
use wsecho::server::DeflateSettings;

#[derive(Args)]
pub(crate) struct DeflateArgs {
    /// Accept permessage-deflate (RFC 7692) when a client offers it
    #[arg(long, value_enum, value_name = "on|off", default_value_t = OnOff::On)]
    deflate: OnOff,
    /// Largest compression window (2^N bytes) the server compresses with, 9-15
    #[arg(long, value_name = "N", default_value_t = 15, value_parser = clap::value_parser!(u8).range(9..=15))]
    deflate_window_bits: u8,
    /// Largest window the server asks clients to compress with (when they offer client_max_window_bits), 9-15
    #[arg(long, value_name = "N", default_value_t = 15, value_parser = clap::value_parser!(u8).range(9..=15))]
    deflate_client_window_bits: u8,
    /// Keep the server's compression context between messages: better ratio, about 256 KiB per connection
    /// for as long as it is open. Off: the state exists only while a connection is busy
    #[arg(long, value_enum, value_name = "on|off", default_value_t = OnOff::Off)]
    deflate_server_takeover: OnOff,
    /// Let clients keep their compression context: the server then keeps a 2^N-byte inflater per connection
    #[arg(long, value_enum, value_name = "on|off", default_value_t = OnOff::Off)]
    deflate_client_takeover: OnOff,
    /// Messages shorter than this many bytes are echoed uncompressed (0: compress every message)
    #[arg(long, value_name = "BYTES", default_value_t = DeflateSettings::default().min_size)]
    deflate_min_size: usize,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum OnOff {
    On,
    Off,
}

impl DeflateArgs {
    /// The settings, or `None` with `--deflate off`.
    pub(crate) fn settings(&self) -> Option<DeflateSettings> {
        (self.deflate == OnOff::On).then(|| DeflateSettings {
            server_max_window_bits: self.deflate_window_bits,
            client_max_window_bits: self.deflate_client_window_bits,
            server_context_takeover: self.deflate_server_takeover == OnOff::On,
            client_context_takeover: self.deflate_client_takeover == OnOff::On,
            min_size: self.deflate_min_size,
        })
    }
}
