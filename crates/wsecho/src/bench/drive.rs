//! Driving one connection: closed loop, fixed rate, pipelined, churn or idle; every echo is checked against what
//! was sent, in the order sent.

use super::connect::{Conn, Target};
use super::options::{Kind, Load, Options};
use futures_util::{SinkExt, Stream, StreamExt};
use hdrhistogram::Histogram;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::Semaphore;
use tokio::time::Instant;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::{self, Message};

/// How long a connection may still wait for its last echoes (and close) after the measured window ends.
const DRAIN_GRACE: Duration = Duration::from_secs(5);

/// The shared schedule of one run.
pub(crate) struct Plan {
    load: Load,
    payloads: Payloads,
    /// Connections actually open (the rate is spread over these).
    pub(crate) connections: usize,
    start: Instant,
    /// Messages sent before this instant are warm-up: checked but not counted.
    measure_from: Instant,
    /// No message is sent at or after this instant.
    end: Instant,
}

impl Plan {
    pub(crate) fn new(opts: &Options, connections: usize, start: Instant) -> Plan {
        let measure_from = start + opts.warmup;
        Plan {
            load: opts.load,
            payloads: Payloads::new(opts.kind, opts.size),
            connections,
            start,
            measure_from,
            end: measure_from + opts.duration,
        }
    }
}

/// What one or more connections measured.
pub(crate) struct Outcome {
    pub(crate) latency_us: Histogram<u64>,
    /// Echoes received for messages sent inside the measured window.
    pub(crate) messages: u64,
    /// TLS handshakes of churn connections, and how many of them resumed an earlier session.
    pub(crate) tls_handshakes: u64,
    pub(crate) resumed: u64,
    pub(crate) errors: Vec<String>,
}

impl Outcome {
    pub(crate) fn new() -> Outcome {
        Outcome {
            // One microsecond to one hour at 3 significant digits: constant, valid bounds.
            latency_us: Histogram::new_with_bounds(1, 3_600_000_000, 3)
                .expect("constant histogram bounds are valid"),
            messages: 0,
            tls_handshakes: 0,
            resumed: 0,
            errors: Vec::new(),
        }
    }

    pub(crate) fn merge(&mut self, other: Outcome) {
        self.latency_us
            .add(&other.latency_us)
            .expect("histograms built with the same bounds add up");
        self.messages += other.messages;
        self.tls_handshakes += other.tls_handshakes;
        self.resumed += other.resumed;
        self.errors.extend(other.errors);
    }

    pub(crate) fn fail(&mut self, error: String) {
        self.errors.push(error);
    }

    fn record(&mut self, plan: &Plan, sent_at: Instant, echoed_at: Instant) {
        if sent_at >= plan.measure_from {
            let micros = (echoed_at - sent_at).as_micros();
            self.latency_us
                .saturating_record(u64::try_from(micros).unwrap_or(u64::MAX).max(1));
            self.messages += 1;
        }
    }
}

/// Drives one connection to the end of the plan; never panics, every failure lands in `Outcome::errors`.
pub(crate) async fn drive(conn: Conn, plan: Arc<Plan>, index: usize, done: Arc<AtomicU64>) -> Outcome {
    match conn {
        Conn::Plain(ws) => drive_stream(*ws, &plan, index, &done).await,
        Conn::Tls(ws) => drive_stream(*ws, &plan, index, &done).await,
    }
}

async fn drive_stream<S>(mut ws: WebSocketStream<S>, plan: &Plan, index: usize, done: &AtomicU64) -> Outcome
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut outcome = Outcome::new();
    let deadline = plan.end + DRAIN_GRACE;
    let result = match plan.load {
        Load::ClosedLoop => {
            tokio::time::timeout_at(deadline, closed_loop(&mut ws, plan, &mut outcome, done)).await
        }
        Load::Rate(rate) => {
            let interval = Duration::from_secs_f64(plan.connections as f64 / rate);
            // Spread the connections' first sends evenly over one interval.
            let first = plan.start + interval.mul_f64(index as f64 / plan.connections as f64);
            let run = open_loop(
                &mut ws,
                plan,
                Pacing::Rate { first, interval },
                &mut outcome,
                done,
            );
            tokio::time::timeout_at(deadline, run).await
        }
        Load::Pipelined(depth) => {
            let run = open_loop(&mut ws, plan, Pacing::Window(depth), &mut outcome, done);
            tokio::time::timeout_at(deadline, run).await
        }
        // Churn connections are driven by `churn`, which opens its own.
        Load::Idle | Load::Churn => {
            tokio::time::sleep_until(plan.end).await;
            Ok(Ok(()))
        }
    };
    match result {
        Ok(Ok(())) => {
            // The server may already be gone at the end of a run: a failed close is not an echo error.
            let _ = tokio::time::timeout(DRAIN_GRACE, ws.close(None)).await;
        }
        Ok(Err(e)) => outcome.fail(e),
        Err(_) => outcome.fail(format!(
            "echo still missing {} s after the run ended",
            DRAIN_GRACE.as_secs()
        )),
    }
    outcome
}

/// Send, wait for the echo, repeat until the end of the plan.
async fn closed_loop<S>(
    ws: &mut WebSocketStream<S>,
    plan: &Plan,
    outcome: &mut Outcome,
    done: &AtomicU64,
) -> Result<(), String>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    for seq in 0.. {
        let sent_at = Instant::now();
        if sent_at >= plan.end {
            break;
        }
        let message = plan.payloads.message(seq);
        ws.send(message.clone()).await.map_err(send_error)?;
        let echo = next_echo(ws).await?;
        let echoed_at = Instant::now();
        plan.payloads.check(&message, &echo, seq)?;
        outcome.record(plan, sent_at, echoed_at);
        done.fetch_add(1, Ordering::Relaxed);
    }
    Ok(())
}

/// When an open-loop sender may send its next message.
#[derive(Clone, Copy)]
enum Pacing {
    /// At `first`, then every `interval`.
    Rate { first: Instant, interval: Duration },
    /// Whenever fewer than this many echoes are outstanding.
    Window(usize),
}

/// Sends as `pacing` allows while receiving concurrently; echoes must come back in the order sent. Latency
/// counts from the scheduled send time (the actual one under a window).
async fn open_loop<S>(
    ws: &mut WebSocketStream<S>,
    plan: &Plan,
    pacing: Pacing,
    outcome: &mut Outcome,
    done: &AtomicU64,
) -> Result<(), String>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let (mut sink, mut stream) = ws.split();
    let (in_flight, mut awaiting) = tokio::sync::mpsc::unbounded_channel();
    let window = match pacing {
        Pacing::Window(depth) => depth,
        Pacing::Rate { .. } => 0,
    };
    let free = Semaphore::new(window);
    let send = async {
        for seq in 0.. {
            let due = match pacing {
                Pacing::Rate { first, interval } => first + interval.mul_f64(seq as f64),
                Pacing::Window(_) => {
                    // Queue messages while the window has room; write them out together when it is full.
                    let permit = match free.try_acquire() {
                        Ok(permit) => permit,
                        Err(_) => {
                            sink.flush().await.map_err(send_error)?;
                            free.acquire()
                                .await
                                .map_err(|_| "send window closed".to_string())?
                        }
                    };
                    permit.forget();
                    Instant::now()
                }
            };
            if due >= plan.end {
                break;
            }
            if let Pacing::Rate { .. } = pacing {
                tokio::time::sleep_until(due).await;
            }
            let message = plan.payloads.message(seq);
            // The receiver holds the other end until it has seen every echo, so this cannot fail.
            let _ = in_flight.send((seq, due, message.clone()));
            match pacing {
                Pacing::Rate { .. } => sink.send(message).await,
                Pacing::Window(_) => sink.feed(message).await,
            }
            .map_err(send_error)?;
        }
        drop(in_flight);
        sink.flush().await.map_err(send_error)
    };
    let receive = async {
        while let Some((seq, due, message)) = awaiting.recv().await {
            let echo = next_echo(&mut stream).await?;
            let echoed_at = Instant::now();
            plan.payloads.check(&message, &echo, seq)?;
            outcome.record(plan, due, echoed_at);
            done.fetch_add(1, Ordering::Relaxed);
            free.add_permits(1);
        }
        Ok(())
    };
    tokio::try_join!(send, receive).map(|_| ())
}

/// Churn: connect, one echo, close, again, until the end of the plan; each cycle counts as one message, its
/// latency is the whole cycle.
pub(crate) async fn churn(target: Arc<Target>, plan: Arc<Plan>, done: Arc<AtomicU64>) -> Outcome {
    let mut outcome = Outcome::new();
    let deadline = plan.end + DRAIN_GRACE;
    let cycles = async {
        for seq in 0.. {
            let started = Instant::now();
            if started >= plan.end {
                break;
            }
            let conn = target.connect().await?;
            if let Some(resumed) = conn.resumed() {
                outcome.tls_handshakes += 1;
                outcome.resumed += u64::from(resumed);
            }
            match conn {
                Conn::Plain(ws) => one_echo(*ws, &plan, seq).await?,
                Conn::Tls(ws) => one_echo(*ws, &plan, seq).await?,
            }
            outcome.record(&plan, started, Instant::now());
            done.fetch_add(1, Ordering::Relaxed);
        }
        Ok::<_, String>(())
    };
    match tokio::time::timeout_at(deadline, cycles).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => outcome.fail(e),
        Err(_) => outcome.fail(format!(
            "a connection cycle was still unfinished {} s after the run ended",
            DRAIN_GRACE.as_secs()
        )),
    }
    outcome
}

/// Sends one message, checks its echo, then closes and waits for the server's close in return.
async fn one_echo<S>(mut ws: WebSocketStream<S>, plan: &Plan, seq: u64) -> Result<(), String>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let message = plan.payloads.message(seq);
    ws.send(message.clone()).await.map_err(send_error)?;
    let echo = next_echo(&mut ws).await?;
    plan.payloads.check(&message, &echo, seq)?;
    ws.close(None).await.map_err(|e| format!("close failed: {e}"))?;
    // Once the server's close frame is in, the WebSocket is done: how the TCP (or TLS) stream ends after it
    // does not matter to a client (some servers drop TCP without a TLS close_notify).
    let mut closed_by_server = false;
    loop {
        match ws.next().await {
            Some(Ok(Message::Close(_))) => closed_by_server = true,
            Some(Ok(_)) => {}
            None => break,
            Some(Err(_)) if closed_by_server => break,
            Some(Err(e)) => return Err(format!("closing handshake failed: {e}")),
        }
    }
    if closed_by_server {
        Ok(())
    } else {
        Err("the server ended the connection without answering its close frame".into())
    }
}

fn send_error(e: tungstenite::Error) -> String {
    format!("send failed: {e}")
}

/// The next data message, skipping control frames; a close or end of stream is an error mid-run.
async fn next_echo<S>(stream: &mut S) -> Result<Message, String>
where
    S: Stream<Item = Result<Message, tungstenite::Error>> + Unpin,
{
    loop {
        match stream.next().await {
            Some(Ok(message @ (Message::Text(_) | Message::Binary(_)))) => return Ok(message),
            Some(Ok(Message::Close(frame))) => {
                let why = frame.map_or_else(
                    || "no reason given".to_string(),
                    |f| format!("code {}, {:?}", u16::from(f.code), f.reason.as_str()),
                );
                return Err(format!("server closed the connection mid-run ({why})"));
            }
            Some(Ok(_)) => continue,
            Some(Err(e)) => return Err(format!("receive failed: {e}")),
            None => return Err("connection ended mid-run".into()),
        }
    }
}

/// Message bodies: a fixed printable pattern stamped with the message's sequence number, so an echo of an older
/// message (or of someone else's) does not pass for the one just sent.
struct Payloads {
    kind: Kind,
    pattern: String,
}

impl Payloads {
    fn new(kind: Kind, size: usize) -> Payloads {
        let pattern = (b'a'..=b'z').cycle().take(size).map(char::from).collect();
        Payloads { kind, pattern }
    }

    fn message(&self, seq: u64) -> Message {
        let stamp = format!("{seq:016x}");
        let width = stamp.len().min(self.pattern.len());
        let mut body = self.pattern.clone();
        body.replace_range(..width, &stamp[stamp.len() - width..]);
        match self.kind {
            Kind::Text => Message::text(body),
            Kind::Binary => Message::binary(body.into_bytes()),
        }
    }

    fn check(&self, sent: &Message, echo: &Message, seq: u64) -> Result<(), String> {
        if echo == sent {
            return Ok(());
        }
        let kind = |m: &Message| if m.is_text() { "text" } else { "binary" };
        if kind(echo) != kind(sent) {
            return Err(format!(
                "message {seq}: sent {}, echo came back as {}",
                kind(sent),
                kind(echo)
            ));
        }
        Err(format!(
            "message {seq}: echo differs from what was sent ({} bytes sent, {} bytes back)",
            sent.len(),
            echo.len()
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_are_stamped_and_sized() {
        let text = Payloads::new(Kind::Text, 32);
        let first = text.message(1);
        assert_eq!(first.len(), 32);
        assert!(first.is_text());
        assert_ne!(first, text.message(2));
        assert_eq!(
            Payloads::new(Kind::Binary, 3)
                .message(0x1234)
                .into_data()
                .as_ref(),
            b"234"
        );
    }

    #[test]
    fn check_names_kind_and_content_mismatches() {
        let text = Payloads::new(Kind::Text, 20);
        let sent = text.message(7);
        assert!(text.check(&sent, &sent.clone(), 7).is_ok());
        let as_binary = Message::binary(sent.clone().into_data());
        assert!(
            text.check(&sent, &as_binary, 7)
                .unwrap_err()
                .contains("came back as binary")
        );
        let stale = text.message(6);
        assert!(text.check(&sent, &stale, 7).unwrap_err().contains("differs"));
    }
}
