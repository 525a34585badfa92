//! [`Connection`]: an open client connection, plain (tungstenite's protocol layer) or one that offered
//! permessage-deflate ([`DeflateStream`]), behind one set of operations, so that the relay and every load shape
//! of `wsecho bench` are written once for both. [`Connection::split`] gives a sending and a receiving half for
//! sending while receiving.

use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::protocol::frame::Utf8Bytes;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

use super::compressed::{self, DeflateReceiver, DeflateSender};
use super::{ClientStream, DeflateStream, close_text, normal_close};
use crate::Error;

/// An open client connection.
pub enum Connection {
    Plain(Box<ClientStream>),
    /// Offered permessage-deflate; compressed when the server agreed.
    Deflate(Box<DeflateStream>),
}

/// What arrived on a connection.
#[derive(Debug)]
pub enum Received {
    /// A text or binary message.
    Message(Message),
    /// The server's close frame, as `CODE REASON`; the reply is tungstenite's or the receiver's job.
    Closed(String),
}

/// The sending half of a [`Connection`].
pub enum Sender<'a> {
    Plain(SplitSink<&'a mut ClientStream, Message>),
    Deflate(&'a mut DeflateSender),
}

/// The receiving half of a [`Connection`].
pub enum Receiver<'a> {
    Plain(SplitStream<&'a mut ClientStream>),
    Deflate(&'a mut DeflateReceiver),
}

impl Connection {
    /// Sends one message and writes it out.
    pub async fn send(&mut self, message: Message) -> Result<(), Error> {
        match self {
            Connection::Plain(ws) => ws.send(message).await.map_err(send_failed),
            Connection::Deflate(ws) => ws.split().0.send(message.is_text(), &message.into_data()).await,
        }
    }

    /// The next message or close from the server; `None` when the connection ended.
    pub async fn next(&mut self) -> Result<Option<Received>, Error> {
        match self {
            Connection::Plain(ws) => next_plain(ws.as_mut()).await,
            Connection::Deflate(ws) => next_deflate(ws.split().1).await,
        }
    }

    /// Starts the closing handshake with close 1000; [`next`](Self::next) then returns the server's reply.
    pub async fn send_close(&mut self) -> Result<(), Error> {
        self.split().0.send_close().await
    }

    /// The two halves, to send and receive at the same time.
    pub fn split(&mut self) -> (Sender<'_>, Receiver<'_>) {
        match self {
            Connection::Plain(ws) => {
                let (sink, stream) = ws.as_mut().split();
                (Sender::Plain(sink), Receiver::Plain(stream))
            }
            Connection::Deflate(ws) => {
                let (sender, receiver) = ws.split();
                (Sender::Deflate(sender), Receiver::Deflate(receiver))
            }
        }
    }
}

impl Sender<'_> {
    /// Queues one message without writing it out yet.
    pub async fn feed(&mut self, message: Message) -> Result<(), Error> {
        match self {
            Sender::Plain(sink) => sink.feed(message).await.map_err(send_failed),
            Sender::Deflate(sender) => {
                sender.feed(message.is_text(), &message.into_data()).await;
                Ok(())
            }
        }
    }

    /// Writes out everything queued.
    pub async fn flush(&mut self) -> Result<(), Error> {
        match self {
            Sender::Plain(sink) => sink.flush().await.map_err(send_failed),
            Sender::Deflate(sender) => sender.flush().await,
        }
    }

    /// Sends one message and writes it out.
    pub async fn send(&mut self, message: Message) -> Result<(), Error> {
        self.feed(message).await?;
        self.flush().await
    }

    /// Starts the closing handshake with close 1000.
    pub async fn send_close(&mut self) -> Result<(), Error> {
        match self {
            Sender::Plain(sink) => sink
                .send(Message::Close(Some(normal_close())))
                .await
                .map_err(send_failed),
            Sender::Deflate(sender) => sender.send_close().await,
        }
    }
}

impl Receiver<'_> {
    /// The next message or close from the server; `None` when the connection ended.
    pub async fn next(&mut self) -> Result<Option<Received>, Error> {
        match self {
            Receiver::Plain(stream) => next_plain(stream).await,
            Receiver::Deflate(receiver) => next_deflate(receiver).await,
        }
    }
}

/// tungstenite answers pings and closes itself and skips pongs.
async fn next_plain<S>(stream: &mut S) -> Result<Option<Received>, Error>
where
    S: futures_util::Stream<Item = Result<Message, WsError>> + Unpin,
{
    loop {
        match stream.next().await {
            Some(Ok(message @ (Message::Text(_) | Message::Binary(_)))) => {
                return Ok(Some(Received::Message(message)));
            }
            Some(Ok(Message::Close(frame))) => {
                return Ok(Some(Received::Closed(close_text(frame.as_ref()))));
            }
            Some(Ok(_)) => {}
            Some(Err(WsError::ConnectionClosed | WsError::AlreadyClosed)) | None => return Ok(None),
            Some(Err(e)) => return Err(Error::Echo(format!("connection failed: {e}"))),
        }
    }
}

async fn next_deflate(receiver: &mut DeflateReceiver) -> Result<Option<Received>, Error> {
    Ok(match receiver.next().await? {
        None => None,
        Some(compressed::Received::Closed(why)) => Some(Received::Closed(why)),
        Some(compressed::Received::Data(false, payload)) => Some(Received::Message(Message::Binary(payload))),
        Some(compressed::Received::Data(true, payload)) => {
            // The assembler has checked the UTF-8 already; this cannot fail.
            let text = Utf8Bytes::try_from(payload)
                .map_err(|_| Error::Echo("the server sent a text message that is not UTF-8".into()))?;
            Some(Received::Message(Message::Text(text)))
        }
    })
}

fn send_failed(e: WsError) -> Error {
    Error::Echo(format!("sending failed: {e}"))
}
