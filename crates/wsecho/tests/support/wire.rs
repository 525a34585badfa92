//! Hand-written bytes: upgrade requests and WebSocket frames that a well-behaved library such as tungstenite
//! would refuse to send or would hide, and readers for what the server answers. The fallible helpers return
//! `Err(why)` for the hostile suite's case reports; [`raw_websocket`] and [`read_frame`] panic instead.

use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::time::timeout;

use super::client::open_stream;
use super::within;

/// Any byte stream to the server: plain TCP or TLS.
pub trait Stream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Stream for T {}
pub type Io = Box<dyn Stream>;

/// Sends a valid upgrade request for `/` over `io` and expects 101.
pub async fn upgrade(io: Io) -> Result<Io, String> {
    upgrade_to(io, "/").await
}

/// Sends a valid upgrade request for `target` (path and query) over `io` and expects 101.
pub async fn upgrade_to(mut io: Io, target: &str) -> Result<Io, String> {
    write(&mut io, &upgrade_request_to(target, &[])).await?;
    let head = read_head(&mut io).await?;
    if head.status != 101 {
        return Err(format!("upgrade answered {} instead of 101", head.status));
    }
    Ok(io)
}

/// Longest wait for any single answer the server owes us.
pub const IO_WAIT: Duration = Duration::from_secs(5);

/// A valid client key (RFC 6455's example nonce).
pub const GOOD_KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";

/// A header to set (`Some` value) or remove (`None`) in [`upgrade_request`].
pub type HeaderOverride<'a> = (&'a str, Option<&'a str>);

/// Upgrade headers a browser would send for `/`; `overrides` replace (value `None`: drop) or add headers by name.
pub fn upgrade_request(overrides: &[HeaderOverride]) -> Vec<u8> {
    upgrade_request_to("/", overrides)
}

/// [`upgrade_request`] for `target` (path and query).
pub fn upgrade_request_to(target: &str, overrides: &[HeaderOverride]) -> Vec<u8> {
    let mut headers: Vec<(String, String)> = [
        ("Host", "localhost"),
        ("Upgrade", "websocket"),
        ("Connection", "Upgrade"),
        ("Sec-WebSocket-Key", GOOD_KEY),
        ("Sec-WebSocket-Version", "13"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    for (name, value) in overrides {
        headers.retain(|(k, _)| !k.eq_ignore_ascii_case(name));
        if let Some(value) = value {
            headers.push((name.to_string(), value.to_string()));
        }
    }
    let mut request = format!("GET {target} HTTP/1.1\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    request.into_bytes()
}

pub async fn write(io: &mut Io, bytes: &[u8]) -> Result<(), String> {
    timeout(IO_WAIT, async {
        io.write_all(bytes).await?;
        io.flush().await
    })
    .await
    .map_err(|_| "write timed out (server not reading)".to_string())?
    .map_err(|e| format!("write failed: {e}"))
}

/// The status line and headers of an HTTP response.
#[derive(Debug)]
pub struct Head {
    pub status: u16,
    pub headers: Vec<(String, String)>,
}

impl Head {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Reads an HTTP response head byte by byte, so no WebSocket frame after it is consumed.
pub async fn read_head(io: &mut Io) -> Result<Head, String> {
    let mut raw = Vec::new();
    let read = timeout(IO_WAIT, async {
        let mut byte = [0u8; 1];
        while !raw.ends_with(b"\r\n\r\n") {
            if raw.len() > 64 * 1024 {
                return Err("response head over 64 KiB".to_string());
            }
            match io.read(&mut byte).await {
                Ok(0) => return Err(format!("connection closed after {} bytes of response", raw.len())),
                Ok(_) => raw.push(byte[0]),
                Err(e) => return Err(format!("read failed after {} bytes of response: {e}", raw.len())),
            }
        }
        Ok(())
    })
    .await;
    match read {
        Err(_) => return Err("no HTTP response within the wait".into()),
        Ok(Err(e)) => return Err(e),
        Ok(Ok(())) => {}
    }
    let text = String::from_utf8_lossy(&raw);
    let mut lines = text.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("not an HTTP status line: {status_line:?}"))?;
    let headers = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    Ok(Head { status, headers })
}

pub const OP_CONTINUATION: u8 = 0x0;
pub const OP_TEXT: u8 = 0x1;
pub const OP_BINARY: u8 = 0x2;
pub const OP_CLOSE: u8 = 0x8;
pub const OP_PING: u8 = 0x9;
pub const OP_PONG: u8 = 0xA;

/// One frame as a client would send it; `rsv` is the three reserved bits (0..=7), `masked` false makes it illegal.
pub fn frame(fin: bool, rsv: u8, opcode: u8, payload: &[u8], masked: bool) -> Vec<u8> {
    let mut out = frame_header(fin, rsv, opcode, payload.len() as u64, masked);
    if masked {
        out.extend(payload.iter().enumerate().map(|(i, b)| b ^ MASK[i % 4]));
    } else {
        out.extend_from_slice(payload);
    }
    out
}

/// A masked, final data frame of `opcode`.
pub fn data(opcode: u8, payload: &[u8]) -> Vec<u8> {
    frame(true, 0, opcode, payload, true)
}

const MASK: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

/// The header alone, announcing `len` payload bytes (which may never come).
pub fn frame_header(fin: bool, rsv: u8, opcode: u8, len: u64, masked: bool) -> Vec<u8> {
    let mut out = vec![(u8::from(fin) << 7) | ((rsv & 0x7) << 4) | (opcode & 0xf)];
    let mask_bit = if masked { 0x80 } else { 0 };
    if len < 126 {
        out.push(mask_bit | len as u8);
    } else if len <= u64::from(u16::MAX) {
        out.push(mask_bit | 126);
        out.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        out.push(mask_bit | 127);
        out.extend_from_slice(&len.to_be_bytes());
    }
    if masked {
        out.extend_from_slice(&MASK);
    }
    out
}

/// What the server did to an upgraded connection.
#[derive(Debug, PartialEq, Eq)]
pub enum Ending {
    /// A close frame with this code (`None`: an empty close frame).
    Close(Option<u16>),
    /// The connection ended without a close frame.
    Dropped,
}

/// Reads server frames (skipping data and pings) until a close frame or the end of the connection.
pub async fn read_ending(io: &mut Io, within: Duration) -> Result<Ending, String> {
    timeout(within, async {
        loop {
            match next_frame(io).await {
                Err(_) => return Ending::Dropped,
                Ok(frame) if frame.opcode == OP_CLOSE => return Ending::Close(close_code_of(&frame)),
                Ok(_) => {}
            }
        }
    })
    .await
    .map_err(|_| format!("no close frame and no disconnect within {within:?}"))
}

/// Reads and discards until the server ends the connection; returns how long that took and how many bytes came.
pub async fn wait_disconnect(io: &mut Io, within: Duration) -> Result<(Duration, usize), String> {
    let start = Instant::now();
    let mut seen = 0usize;
    let mut buf = vec![0u8; 16 * 1024];
    timeout(within, async {
        loop {
            match io.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => seen += n,
            }
        }
    })
    .await
    .map_err(|_| format!("still connected after {within:?} ({seen} bytes received)"))?;
    Ok((start.elapsed(), seen))
}

/// One server frame as sent: FIN, opcode and the (unmasked) payload.
pub struct RawFrame {
    pub fin: bool,
    /// The three reserved bits; RSV1 (0b100) marks a compressed message.
    pub rsv: u8,
    pub opcode: u8,
    pub payload: Vec<u8>,
}

/// Longest payload read into memory; a bogus length from a broken server cannot make a test allocate more.
const MAX_READ_PAYLOAD: u64 = 1 << 20;

/// The next frame the server sends; an I/O error once the connection ends.
pub async fn next_frame<R: AsyncRead + Unpin + ?Sized>(io: &mut R) -> std::io::Result<RawFrame> {
    let mut head = [0u8; 2];
    io.read_exact(&mut head).await?;
    let len = match head[1] & 0x7f {
        126 => {
            let mut ext = [0u8; 2];
            io.read_exact(&mut ext).await?;
            u64::from(u16::from_be_bytes(ext))
        }
        127 => {
            let mut ext = [0u8; 8];
            io.read_exact(&mut ext).await?;
            u64::from_be_bytes(ext)
        }
        short => u64::from(short),
    };
    let mut payload = vec![0u8; len.min(MAX_READ_PAYLOAD) as usize];
    io.read_exact(&mut payload).await?;
    Ok(RawFrame {
        fin: head[0] & 0x80 != 0,
        rsv: (head[0] >> 4) & 0x7,
        opcode: head[0] & 0x0f,
        payload,
    })
}

/// The close code of a close frame.
pub fn close_code_of(frame: &RawFrame) -> Option<u16> {
    (frame.opcode == OP_CLOSE && frame.payload.len() >= 2)
        .then(|| u16::from_be_bytes([frame.payload[0], frame.payload[1]]))
}

/// A plain connection to `url` (its path and query included) whose WebSocket handshake was done by hand (panics
/// unless it gets 101).
pub async fn raw_websocket(url: &str) -> Io {
    let uri: tokio_tungstenite::tungstenite::http::Uri = url.parse().expect("URL");
    let target = uri.path_and_query().map_or("/", |target| target.as_str());
    let stream = within(open_stream(url, None)).await.expect("connect");
    upgrade_to(stream, target)
        .await
        .unwrap_or_else(|why| panic!("handshake with {url}: {why}"))
}

/// The next server frame (panics when the connection ends first).
pub async fn read_frame(io: &mut Io) -> RawFrame {
    within(next_frame(io)).await.expect("a server frame")
}
