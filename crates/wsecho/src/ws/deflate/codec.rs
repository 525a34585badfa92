//! The permessage-deflate state of one connection end, made from what the handshake agreed: a [`Compressor`] for
//! what this end sends and an [`Inflater`] for what the peer sends. Before the first message they are split
//! ([`Codec::split`]), the compressor to the side that writes frames and the inflater to the side that reads
//! them: each direction has its own window and its own context takeover rule (RFC 7692 section 7.1).

use super::compressor::{Compressor, SharedDeflate};
use super::inflater::Inflater;
use super::negotiate::Agreed;
use crate::ws::frame::Role;

/// Both directions of one connection end's compression.
pub(crate) struct Codec {
    compressor: Compressor,
    inflater: Inflater,
}

impl Codec {
    /// The codec of the `role` end of a connection with these parameters; messages shorter than `min_size`
    /// bytes are sent uncompressed.
    pub(crate) fn new(agreed: &Agreed, min_size: usize, role: Role) -> Self {
        let server = (agreed.server_window_bits, agreed.server_context_takeover);
        let client = (agreed.client_window_bits, agreed.client_context_takeover);
        let ((send_bits, send_takeover), (receive_bits, receive_takeover)) = match role {
            Role::Server => (server, client),
            Role::Client => (client, server),
        };
        Codec {
            compressor: Compressor::new(send_bits, send_takeover, min_size),
            inflater: Inflater::new(receive_bits, receive_takeover),
        }
    }

    /// What this end's compressed messages share with others ([`Compressor::shared`]).
    pub(crate) fn shared(&self) -> Option<SharedDeflate> {
        self.compressor.shared()
    }

    /// The sending and the receiving half.
    pub(crate) fn split(self) -> (Compressor, Inflater) {
        (self.compressor, self.inflater)
    }
}

#[cfg(test)]
mod tests {
    use super::super::compressor::compress_shared;
    use super::super::inflater::InflateError;
    use super::*;

    fn agreed(takeover: bool) -> Agreed {
        Agreed {
            server_window_bits: 15,
            client_window_bits: 15,
            server_context_takeover: takeover,
            client_context_takeover: takeover,
            response: String::new(),
        }
    }

    fn halves(takeover: bool, min_size: usize, role: Role) -> (Compressor, Inflater) {
        Codec::new(&agreed(takeover), min_size, role).split()
    }

    /// A server's compressed output is what a client's inflater reads back.
    fn round_trip(compressor: &mut Compressor, peer: &mut Inflater, message: &[u8]) -> Vec<u8> {
        let compressed = compressor.compress(message).expect("compressible");
        let mut out = Vec::new();
        peer.inflate(&compressed, &mut out, usize::MAX).expect("inflate");
        peer.finish_inflate(&mut out, usize::MAX).expect("finish");
        out
    }

    #[test]
    fn messages_round_trip_with_and_without_context_takeover() {
        for takeover in [false, true] {
            let (mut server, _) = halves(takeover, 1, Role::Server);
            let (_, mut client) = halves(takeover, 1, Role::Client);
            let text = b"hello hello hello hello hello hello".repeat(100);
            for _ in 0..3 {
                assert_eq!(round_trip(&mut server, &mut client, &text), text);
            }
            let big: Vec<u8> = (0..1 << 20).map(|i: u32| (i % 251) as u8).collect();
            assert_eq!(round_trip(&mut server, &mut client, &big), big);
            server.release_idle();
            client.release_idle();
            assert_eq!(round_trip(&mut server, &mut client, &text), text);
        }
    }

    /// What a room compresses once is what each member's own compressor would have sent, and inflates back.
    #[test]
    fn a_shared_compression_equals_each_connections_own() {
        let server = Codec::new(&agreed(false), 16, Role::Server);
        let shared = server.shared().expect("no context takeover");
        let (mut server, _) = server.split();
        let text = b"room message room message room message".repeat(50);
        let once = compress_shared(shared, &text).expect("compressed");
        assert_eq!(server.compress(&text), Some(once.clone()));
        let (_, mut client) = halves(false, 16, Role::Client);
        let mut out = Vec::new();
        client.inflate(&once, &mut out, usize::MAX).expect("inflate");
        client.finish_inflate(&mut out, usize::MAX).expect("finish");
        assert_eq!(out, text);
        assert_eq!(
            compress_shared(shared, &text[..15]),
            None,
            "below the minimum size"
        );
        assert_eq!(Codec::new(&agreed(true), 16, Role::Server).shared(), None);
    }

    #[test]
    fn only_messages_below_the_minimum_size_go_uncompressed() {
        let (mut compressor, _) = halves(false, 64, Role::Server);
        assert_eq!(compressor.compress(&[b'a'; 63]), None);
        assert!(compressor.compress(&[b'a'; 64]).is_some());
        // Incompressible bytes are still compressed (a little larger): see `Compressor::compress`.
        let noise: Vec<u8> = (0..200u32)
            .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
            .collect();
        let (mut every, mut inflater) = halves(false, 0, Role::Server);
        let packed = every.compress(&noise).expect("compressed");
        let mut out = Vec::new();
        inflater.inflate(&packed, &mut out, 1024).expect("inflate");
        inflater.finish_inflate(&mut out, 1024).expect("finish");
        assert_eq!(out, noise);
        assert!(every.compress(b"").is_some());
    }

    #[test]
    fn inflating_stops_at_the_limit_without_growing_past_it() {
        let (mut server, _) = halves(false, 1, Role::Server);
        let bomb = server.compress(&vec![0u8; 10 << 20]).expect("compressible");
        assert!(bomb.len() < 128 * 1024, "{} bytes", bomb.len());
        let (_, mut client) = halves(false, 1, Role::Server);
        let mut out = Vec::new();
        assert_eq!(
            client.inflate(&bomb, &mut out, 1 << 20),
            Err(InflateError::TooBig)
        );
        assert_eq!(out.len(), 1 << 20);
        assert_eq!(out.capacity(), 1 << 20);
        let mut exact = Vec::new();
        let (_, mut client) = halves(false, 1, Role::Server);
        client.inflate(&bomb, &mut exact, 10 << 20).expect("fits exactly");
        client.finish_inflate(&mut exact, 10 << 20).expect("finish");
        assert_eq!(exact.len(), 10 << 20);
    }

    #[test]
    fn garbage_is_corrupt() {
        let (_, mut inflater) = halves(false, 1, Role::Server);
        let mut out = Vec::new();
        assert_eq!(
            inflater.inflate(&[0xff; 32], &mut out, 1024),
            Err(InflateError::Corrupt)
        );
    }
}
