//! What the real-browser tests share: the check that a browser and `certutil` are installed, a launch into a
//! throw-away HOME with a bounded wait for the browser to say where it listens, the JSON command exchange both
//! remote protocols speak over a WebSocket (Chromium's DevTools, Firefox's WebDriver BiDi), and the polling of the
//! page's self-check. Every wait is bounded.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;

use super::{installed, skip_or_fail};

/// How long a browser may take to start listening for its remote protocol.
pub const LAUNCH_TIMEOUT: Duration = Duration::from_secs(20);
/// How long one remote command may take.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(15);
/// The self-check bounds each step at 10 s itself; this bounds the whole page.
pub const SELFTEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Whether `browser` (from the Debian package `package`) and certutil are installed; prints a skip line (or fails
/// under CI) when not.
pub fn browser_installed(test: &str, browser: &str, package: &str) -> bool {
    if !Path::new(browser).exists() {
        skip_or_fail(
            test,
            &format!("{browser} is not installed (Debian package `{package}`)"),
        );
        return false;
    }
    if !installed("certutil", "-H") {
        skip_or_fail(
            test,
            "`certutil` is not installed (Debian package `libnss3-tools`)",
        );
        return false;
    }
    true
}

/// Gives a browser `home` as its HOME and the XDG folders under it, so it reads and writes nothing of the user's.
pub fn isolate<'a>(cmd: &'a mut Command, home: &Path) -> &'a mut Command {
    cmd.env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join(".config"))
        .env("XDG_DATA_HOME", home.join(".local/share"))
        .env("XDG_CACHE_HOME", home.join(".cache"))
}

/// Polls `found` until it gives a value; after [`LAUNCH_TIMEOUT`] panics with the browser's `log`.
pub fn wait_for_launch<T>(browser: &str, log: &Path, mut found: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + LAUNCH_TIMEOUT;
    loop {
        if let Some(value) = found() {
            return value;
        }
        if Instant::now() > deadline {
            let log = std::fs::read_to_string(log).unwrap_or_default();
            panic!("{browser} did not start listening within {LAUNCH_TIMEOUT:?}; its log:\n{log}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A WebSocket carrying `{"id", "method", "params"}` commands whose replies carry the same `id`, as the DevTools
/// protocol and WebDriver BiDi both do; events arriving meanwhile are kept for [`RemoteSocket::events`].
pub struct RemoteSocket {
    socket: WebSocketStream<TcpStream>,
    next_id: u64,
    events: Vec<Value>,
}

impl RemoteSocket {
    /// Connects to `url` (`ws://127.0.0.1:PORT/...`), bounded by [`CALL_TIMEOUT`].
    pub async fn connect(port: u16, url: &str) -> RemoteSocket {
        let tcp = TcpStream::connect(("127.0.0.1", port))
            .await
            .unwrap_or_else(|e| panic!("connect to the browser's port {port}: {e}"));
        let (socket, _) = tokio::time::timeout(CALL_TIMEOUT, tokio_tungstenite::client_async(url, tcp))
            .await
            .unwrap_or_else(|_| panic!("WebSocket handshake with {url} timed out"))
            .unwrap_or_else(|e| panic!("WebSocket handshake with {url}: {e}"));
        RemoteSocket {
            socket,
            next_id: 0,
            events: Vec::new(),
        }
    }

    /// The events named `method` (e.g. `Network.webSocketHandshakeResponseReceived`) received so far, during
    /// commands; only events of enabled domains arrive.
    pub fn events(&self, method: &str) -> Vec<&Value> {
        self.events
            .iter()
            .filter(|event| event["method"] == method)
            .collect()
    }

    /// Sends `method` with `params` (and the `extra` top-level fields, such as a DevTools session) and returns the
    /// whole reply, bounded by [`CALL_TIMEOUT`].
    pub async fn exchange(&mut self, method: &str, params: Value, extra: &[(&str, Value)]) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        let mut command = json!({ "id": id, "method": method, "params": params });
        for (key, value) in extra {
            command[*key] = value.clone();
        }
        let exchange = async {
            self.socket
                .send(Message::text(command.to_string()))
                .await
                .unwrap_or_else(|e| panic!("send {method}: {e}"));
            while let Some(message) = self.socket.next().await {
                let message = message.unwrap_or_else(|e| panic!("remote connection during {method}: {e}"));
                let Ok(text) = message.to_text() else { continue };
                let reply: Value = serde_json::from_str(text).expect("the browser sends JSON");
                if reply["id"] == id {
                    return reply;
                }
                if reply.get("id").is_none() {
                    self.events.push(reply);
                }
            }
            panic!("the browser closed the connection during {method}");
        };
        tokio::time::timeout(CALL_TIMEOUT, exchange)
            .await
            .unwrap_or_else(|_| panic!("{method} got no answer within {CALL_TIMEOUT:?}"))
    }
}

/// A page some browser shows, which can run JavaScript.
#[allow(async_fn_in_trait)] // used only by these tests, on one thread at a time
pub trait Page {
    /// The value of a JavaScript expression in the page.
    async fn evaluate(&mut self, expression: &str) -> Value;

    /// Polls a JavaScript condition until it is true (then `true`) or the self-check deadline passes (`false`).
    async fn wait_until(&mut self, condition: &str) -> bool {
        let deadline = Instant::now() + SELFTEST_TIMEOUT;
        while Instant::now() < deadline {
            if self.evaluate(condition).await == true {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        false
    }

    /// Polls `#selftest` until it leaves `running`; returns its status, the title, the summary, the failed step
    /// and the latency.
    async fn wait_for_self_check(&mut self) -> Value {
        const PROBE: &str = "(() => { const s = document.querySelector('#selftest'); \
            const l = document.querySelector('#step-latency'); \
            return { status: s ? s.dataset.status : 'missing', title: document.title, \
                     summary: (document.querySelector('#selftest-summary') || {}).textContent, \
                     failed_step: s ? s.dataset.failedStep : undefined, \
                     latency_median_ms: l ? l.dataset.median : undefined }; })()";
        let deadline = Instant::now() + SELFTEST_TIMEOUT;
        loop {
            let result = self.evaluate(PROBE).await;
            if result["status"] != "running" && result["status"] != "missing" || Instant::now() > deadline {
                return result;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}
