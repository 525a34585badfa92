//! Broadcast rooms: a WebSocket on `/broadcast/ROOM` is a [`Member`] of that room, and every data message a
//! member sends goes to every member, the sender included, in one order for all. The echo loop is the same as
//! for an echo path; only the destination of what it receives differs. A member leaves when its connection ends;
//! a room exists while it has members.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use tokio::sync::broadcast::{self, error::RecvError};

/// A data message as the room passes it on: text or binary, and its (uncompressed) payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Message {
    pub(crate) text: bool,
    pub(crate) payload: Bytes,
}

/// Path prefix of the rooms: `/broadcast/ROOM`.
pub(crate) const BROADCAST_PREFIX: &str = "/broadcast/";

/// Messages a room holds for its slowest member; one that falls further behind is closed (1008), since it would
/// otherwise miss messages silently.
const ROOM_BACKLOG: usize = 256;
/// Longest room name.
const MAX_ROOM_NAME: usize = 64;

/// Every room with members, by name.
#[derive(Default)]
pub(crate) struct Rooms {
    rooms: Arc<Mutex<HashMap<String, broadcast::Sender<Message>>>>,
}

/// One connection's place in a room.
pub(crate) struct Member {
    room: String,
    to_room: broadcast::Sender<Message>,
    from_room: broadcast::Receiver<Message>,
    rooms: Arc<Mutex<HashMap<String, broadcast::Sender<Message>>>>,
}

/// A room name that cannot be used; the upgrade is answered with HTTP 400.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BadRoom(String);

impl fmt::Display for BadRoom {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "bad broadcast room {:?}: use /broadcast/NAME with 1 to {MAX_ROOM_NAME} letters, digits, '-', '_' or '.'",
            self.0
        )
    }
}

/// The room an upgrade to `path` joins: `Ok(None)` outside the broadcast paths.
pub(crate) fn room_for(path: &str) -> Result<Option<&str>, BadRoom> {
    let Some(name) = path.strip_prefix(BROADCAST_PREFIX) else {
        return Ok(None);
    };
    let valid = (1..=MAX_ROOM_NAME).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
    if valid {
        Ok(Some(name))
    } else {
        Err(BadRoom(name.into()))
    }
}

impl Rooms {
    /// Joins `room`, creating it for its first member.
    pub(crate) fn join(&self, room: &str) -> Member {
        let mut rooms = lock(&self.rooms);
        let to_room = rooms
            .entry(room.to_string())
            .or_insert_with(|| broadcast::channel(ROOM_BACKLOG).0)
            .clone();
        Member {
            room: room.to_string(),
            from_room: to_room.subscribe(),
            to_room,
            rooms: self.rooms.clone(),
        }
    }
}

/// The member fell more than the room's backlog behind and missed messages; it gets nothing more.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct FellBehind;

impl Member {
    /// Sends a data message to every member, this one included.
    pub(crate) fn publish(&self, message: Message) {
        // Cannot fail: this member's own receiver keeps the room open.
        let _ = self.to_room.send(message);
    }

    /// The next message for this member. Cancel-safe, for `select!`.
    pub(crate) async fn next(&mut self) -> Result<Message, FellBehind> {
        match self.from_room.recv().await {
            Ok(message) => Ok(message),
            Err(RecvError::Lagged(_)) => Err(FellBehind),
            // The room closes only when every sender is gone, and this member holds one.
            Err(RecvError::Closed) => std::future::pending().await,
        }
    }
}

/// The next message for `member`, or never when the connection is not in a room.
pub(crate) async fn next_for(member: &mut Option<Member>) -> Result<Message, FellBehind> {
    match member {
        Some(member) => member.next().await,
        None => std::future::pending().await,
    }
}

impl Drop for Member {
    fn drop(&mut self) {
        let mut rooms = lock(&self.rooms);
        // This member's receiver is the last one: the room empties with it.
        if self.to_room.receiver_count() <= 1 {
            rooms.remove(&self.room);
        }
    }
}

/// The room map stays usable after a panic elsewhere: every change to it is a single insert or remove.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(payload: &'static str) -> Message {
        Message {
            text: true,
            payload: Bytes::from_static(payload.as_bytes()),
        }
    }

    #[test]
    fn room_names_are_checked() {
        assert_eq!(room_for("/"), Ok(None));
        assert_eq!(room_for("/broadcast/lobby-1"), Ok(Some("lobby-1")));
        assert!(room_for("/broadcast/").is_err());
        assert!(room_for("/broadcast/a/b").is_err());
        assert!(room_for(&format!("/broadcast/{}", "r".repeat(65))).is_err());
    }

    #[tokio::test]
    async fn members_hear_their_room_only_and_an_empty_room_goes() {
        let rooms = Rooms::default();
        let mut a = rooms.join("one");
        let mut b = rooms.join("one");
        let mut other = rooms.join("two");
        a.publish(text("hi"));
        assert_eq!(a.next().await, Ok(text("hi")));
        assert_eq!(b.next().await, Ok(text("hi")));
        other.publish(text("elsewhere"));
        assert_eq!(other.next().await, Ok(text("elsewhere")));
        assert!(b.from_room.is_empty());
        drop(a);
        assert!(lock(&rooms.rooms).contains_key("one"));
        drop(b);
        assert!(!lock(&rooms.rooms).contains_key("one"));
    }
}
