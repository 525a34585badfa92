//! Raw WebSocket frames on a stream whose handshake was done by hand, for what tungstenite's client would not
//! send or would hide.

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::client::{Io, open_stream};
use super::within;

/// Completes a WebSocket handshake on a raw TCP stream, for frames tungstenite's client would not send or hide.
pub async fn raw_websocket(url: &str) -> Box<dyn Io> {
    let mut stream = within(open_stream(url, None)).await.expect("connect");
    let host = url.trim_start_matches("ws://");
    let handshake = format!(
        "GET / HTTP/1.1\r\nHost: {host}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
         Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
    );
    within(stream.write_all(handshake.as_bytes()))
        .await
        .expect("send handshake");
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        let mut byte = [0u8; 1];
        within(stream.read_exact(&mut byte))
            .await
            .expect("read handshake response");
        head.push(byte[0]);
    }
    assert!(
        head.starts_with(b"HTTP/1.1 101"),
        "{}",
        String::from_utf8_lossy(&head)
    );
    stream
}

/// One server frame as sent: first header byte (FIN, opcode) and the (unmasked) payload.
pub struct RawFrame {
    pub fin: bool,
    pub opcode: u8,
    pub payload: Vec<u8>,
}

pub async fn read_frame(stream: &mut Box<dyn Io>) -> RawFrame {
    let mut header = [0u8; 2];
    within(stream.read_exact(&mut header))
        .await
        .expect("frame header");
    let len = match header[1] & 0x7f {
        126 => {
            let mut ext = [0u8; 2];
            within(stream.read_exact(&mut ext)).await.expect("length");
            usize::from(u16::from_be_bytes(ext))
        }
        127 => {
            let mut ext = [0u8; 8];
            within(stream.read_exact(&mut ext)).await.expect("length");
            usize::try_from(u64::from_be_bytes(ext)).expect("length fits")
        }
        short => usize::from(short),
    };
    let mut payload = vec![0u8; len];
    within(stream.read_exact(&mut payload))
        .await
        .expect("frame payload");
    RawFrame {
        fin: header[0] & 0x80 != 0,
        opcode: header[0] & 0x0f,
        payload,
    }
}

/// The close code of a close frame.
pub fn close_code_of(frame: &RawFrame) -> Option<u16> {
    (frame.opcode == 0x8 && frame.payload.len() >= 2)
        .then(|| u16::from_be_bytes([frame.payload[0], frame.payload[1]]))
}

/// A masked client frame with FIN set (mask key 0, so the payload stays readable in a capture).
pub fn client_frame(opcode: u8, payload: &[u8]) -> Vec<u8> {
    let mut frame = vec![0x80 | opcode];
    match payload.len() {
        len @ 0..=125 => frame.push(0x80 | len as u8),
        len @ 126..=0xffff => {
            frame.push(0x80 | 126);
            frame.extend_from_slice(&(len as u16).to_be_bytes());
        }
        len => {
            frame.push(0x80 | 127);
            frame.extend_from_slice(&(len as u64).to_be_bytes());
        }
    }
    frame.extend_from_slice(&[0, 0, 0, 0]);
    frame.extend_from_slice(payload);
    frame
}
