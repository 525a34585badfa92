//! Driving one connection: closed loop, fixed rate, pipelined, churn or idle; every echo is checked against what
//! was sent, in the order sent.

use super::connect::{Conn, Target};
use super::options::{Kind, Load, Options};
use crate::Error;
use crate::client::{Connection, Received};
use hdrhistogram::Histogram;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::Semaphore;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;

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
    /// Connections opened (churn: one per cycle), how many of them agreed to permessage-deflate, and the
    /// first agreement's `Sec-WebSocket-Extensions` answer.
    pub(crate) opened: u64,
    pub(crate) deflated: u64,
    pub(crate) deflate_answer: Option<String>,
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
            opened: 0,
            deflated: 0,
            deflate_answer: None,
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
        self.opened += other.opened;
        self.deflated += other.deflated;
        if self.deflate_answer.is_none() {
            self.deflate_answer = other.deflate_answer;
        }
        self.errors.extend(other.errors);
    }

    /// Counts an open connection and whether it agreed to permessage-deflate.
    fn opened(&mut self, conn: &Conn) {
        self.opened += 1;
        if let Some(answer) = &conn.extensions {
            self.deflated += 1;
            self.deflate_answer.get_or_insert_with(|| answer.clone());
        }
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
    let mut outcome = Outcome::new();
    outcome.opened(&conn);
    let mut connection = conn.connection;
    let ws = &mut connection;
    let deadline = plan.end + DRAIN_GRACE;
    let result = match plan.load {
        Load::ClosedLoop => {
            tokio::time::timeout_at(deadline, closed_loop(ws, &plan, &mut outcome, &done)).await
        }
        Load::Rate(rate) => {
            let interval = Duration::from_secs_f64(plan.connections as f64 / rate);
            // Spread the connections' first sends evenly over one interval.
            let first = plan.start + interval.mul_f64(index as f64 / plan.connections as f64);
            let run = open_loop(ws, &plan, Pacing::Rate { first, interval }, &mut outcome, &done);
            tokio::time::timeout_at(deadline, run).await
        }
        Load::Pipelined(depth) => {
            let run = open_loop(ws, &plan, Pacing::Window(depth), &mut outcome, &done);
            tokio::time::timeout_at(deadline, run).await
        }
        // Churn connections are driven by `churn`, which opens its own.
        Load::Idle | Load::Churn => Ok(hold(ws, plan.end).await),
    };
    match result {
        Ok(Ok(())) => {
            // The server may already be gone at the end of a run: a failed close is not an echo error.
            let _ = tokio::time::timeout(DRAIN_GRACE, close(ws)).await;
        }
        Ok(Err(e)) => outcome.fail(e),
        Err(_) => outcome.fail(format!(
            "echo still missing {} s after the run ended",
            DRAIN_GRACE.as_secs()
        )),
    }
    outcome
}

/// Holds an idle connection until `until`, reading all the while so that the server's pings are answered (a
/// server with keepalive drops connections that stay silent); any message or close from the server is an error.
/// The read is cut off at `until`; the close that follows is not counted if a pong being written was cut with it.
async fn hold(ws: &mut Connection, until: Instant) -> Result<(), String> {
    match tokio::time::timeout_at(until, ws.next()).await {
        Err(_) => Ok(()),
        Ok(received) => {
            let unexpected = echo_of(received)?;
            Err(format!(
                "an idle connection received a {}-byte message nobody sent",
                unexpected.len()
            ))
        }
    }
}

/// Sends a close and waits for the server's close in return; `true` when it came.
async fn close(ws: &mut Connection) -> Result<bool, Error> {
    ws.send_close().await?;
    // Once the server's close frame is in, the WebSocket is done: how the TCP (or TLS) stream ends after it
    // does not matter to a client (some servers drop TCP without a TLS close_notify).
    let mut closed_by_server = false;
    loop {
        match ws.next().await {
            Ok(Some(Received::Closed(_))) => closed_by_server = true,
            Ok(Some(Received::Message(_))) => {}
            Ok(None) => return Ok(closed_by_server),
            Err(_) if closed_by_server => return Ok(true),
            Err(e) => return Err(e),
        }
    }
}

/// Send, wait for the echo, repeat until the end of the plan.
async fn closed_loop(
    ws: &mut Connection,
    plan: &Plan,
    outcome: &mut Outcome,
    done: &AtomicU64,
) -> Result<(), String> {
    for seq in 0.. {
        let sent_at = Instant::now();
        if sent_at >= plan.end {
            break;
        }
        let message = plan.payloads.message(seq);
        ws.send(message.clone()).await.map_err(send_error)?;
        let echo = echo_of(ws.next().await)?;
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
async fn open_loop(
    ws: &mut Connection,
    plan: &Plan,
    pacing: Pacing,
    outcome: &mut Outcome,
    done: &AtomicU64,
) -> Result<(), String> {
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
            let echo = echo_of(stream.next().await)?;
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
            outcome.opened(&conn);
            if let Some(resumed) = conn.resumed {
                outcome.tls_handshakes += 1;
                outcome.resumed += u64::from(resumed);
            }
            one_echo(conn.connection, &plan, seq).await?;
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
async fn one_echo(mut ws: Connection, plan: &Plan, seq: u64) -> Result<(), String> {
    let message = plan.payloads.message(seq);
    ws.send(message.clone()).await.map_err(send_error)?;
    let echo = echo_of(ws.next().await)?;
    plan.payloads.check(&message, &echo, seq)?;
    match close(&mut ws).await {
        Ok(true) => Ok(()),
        Ok(false) => Err("the server ended the connection without answering its close frame".into()),
        Err(e) => Err(format!("closing handshake failed: {e}")),
    }
}

fn send_error(e: Error) -> String {
    e.to_string()
}

/// The echo in what the connection received; a close or end of stream is an error mid-run.
fn echo_of(received: Result<Option<Received>, Error>) -> Result<Message, String> {
    match received {
        Ok(Some(Received::Message(message))) => Ok(message),
        Ok(Some(Received::Closed(why))) => Err(format!("server closed the connection mid-run ({why})")),
        Ok(None) => Err("connection ended mid-run".into()),
        Err(e) => Err(e.to_string()),
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
