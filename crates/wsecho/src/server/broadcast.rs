//! Broadcast rooms: a WebSocket on `/broadcast/ROOM` is a [`Member`] of that room, and every data message a
//! member sends goes to every member, the sender included, in one order for all. The echo loop is the same as
//! for an echo path; only the destination of what it receives differs. A member leaves when its connection ends;
//! a room exists while it has members.
//!
//! A room keeps each message once, in its backlog, until every member has written it out; members keep only a
//! position in it. Two bounds keep one member from costing the others:
//! - Bytes: a message enters the backlog only while the backlog holds less than [`RoomLimits::backlog_bytes`] (or
//!   is empty). Otherwise its sender waits, reading nothing more from its client (TCP then slows the client down),
//!   while still being sent the room's messages. So a room holds at most that bound plus one message, whatever
//!   the message limit, and a member that reads as fast as the room's messages reach it is never closed however
//!   fast anyone sends: the senders slow down to the pace of the slowest member instead.
//! - Time: a member that a message has waited for longer than [`RoomLimits::max_lag`] is closed with 1008, so a member
//!   that stops reading holds the room back for at most that long (echo.rs also gives its writes no longer).
//!
//! Compressed members without server context takeover all compress the same message to the same bytes (same
//! window, level and minimum size), so the sender compresses each message once per window size in use and the
//! members share the result; members with context takeover compress for themselves (outgoing.rs).

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::watch;
use tokio::time::Instant;

use crate::ws::deflate::{SharedDeflate, compress_shared};

/// A data message as a member sends it to the room: text or binary, and its (uncompressed) payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Message {
    pub(crate) text: bool,
    pub(crate) payload: Bytes,
}

/// A message in a room's backlog: the payload and its compressed forms, shared by every member.
#[derive(Debug)]
pub(crate) struct Entry {
    pub(crate) text: bool,
    pub(crate) payload: Bytes,
    /// The payload compressed once for each shared deflate setting the room's members had when it was sent.
    compressed: Vec<(SharedDeflate, Bytes)>,
    /// When the message entered the backlog: how long it has waited for a member.
    published: Instant,
}

impl Entry {
    /// The payload compressed for members with `deflate`, if the sender made that form; `None`: send it as it is.
    pub(crate) fn compressed_for(&self, deflate: SharedDeflate) -> Option<&Bytes> {
        self.compressed
            .iter()
            .find_map(|(made_for, bytes)| (*made_for == deflate).then_some(bytes))
    }

    /// Bytes the entry holds, counted against the backlog bound; a fixed part makes tiny messages count too.
    fn cost(&self) -> usize {
        ENTRY_OVERHEAD
            + self.payload.len()
            + self
                .compressed
                .iter()
                .map(|(_, bytes)| bytes.len())
                .sum::<usize>()
    }
}

/// Path prefix of the rooms: `/broadcast/ROOM`.
pub(crate) const BROADCAST_PREFIX: &str = "/broadcast/";

/// How far a room's slowest member may fall behind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RoomLimits {
    /// Bytes of messages (and their compressed forms) a room holds for its slowest member before senders wait.
    pub(crate) backlog_bytes: usize,
    /// Longest a message may wait for a member before that member is closed with 1008.
    pub(crate) max_lag: Duration,
}

impl Default for RoomLimits {
    fn default() -> Self {
        RoomLimits {
            backlog_bytes: 1 << 20,
            max_lag: Duration::from_secs(10),
        }
    }
}
/// What a backlog entry costs besides its payload (its allocation and bookkeeping), so that a flood of empty
/// messages is bounded too.
const ENTRY_OVERHEAD: usize = 128;
/// Longest room name.
const MAX_ROOM_NAME: usize = 64;

type RoomMap = Arc<Mutex<HashMap<String, Arc<Room>>>>;

/// Every room with members, by name.
#[derive(Default)]
pub(crate) struct Rooms {
    rooms: RoomMap,
    limits: RoomLimits,
}

/// One room: its backlog and who has read how far.
struct Room {
    limits: RoomLimits,
    state: Mutex<Backlog>,
    /// The sequence number the next message will get; members wait on it for new messages.
    head: watch::Sender<u64>,
    /// Bumped whenever the backlog shrinks; waiting senders wait on it for room.
    freed: watch::Sender<u64>,
}

#[derive(Default)]
struct Backlog {
    /// Messages not yet written out to every member, oldest first.
    entries: VecDeque<Arc<Entry>>,
    /// Sequence number of `entries[0]`.
    first: u64,
    /// Sum of the entries' costs.
    bytes: usize,
    /// Each member's position: the sequence number of the first message it has not written out yet.
    positions: HashMap<u64, u64>,
    /// Next member id.
    next_member: u64,
    /// The shared deflate settings of the members, each with how many members use it.
    deflates: Vec<(SharedDeflate, usize)>,
}

/// One connection's place in a room.
pub(crate) struct Member {
    id: u64,
    name: String,
    room: Arc<Room>,
    rooms: RoomMap,
    /// What this member's compressed messages can share; `None` without deflate or with context takeover.
    deflate: Option<SharedDeflate>,
    /// Sequence number after the last message handed out by [`Member::take`] (written out or not).
    taken: u64,
    head: watch::Receiver<u64>,
    freed: watch::Receiver<u64>,
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
    pub(crate) fn new(limits: RoomLimits) -> Self {
        Rooms {
            rooms: RoomMap::default(),
            limits,
        }
    }

    /// Joins `room`, creating it for its first member; the member hears the messages sent from now on.
    /// `deflate`: the member's shared compression setting, if its messages can be compressed once for all.
    pub(crate) fn join(&self, room: &str, deflate: Option<SharedDeflate>) -> Member {
        let mut rooms = lock(&self.rooms);
        let joined = rooms
            .entry(room.to_string())
            .or_insert_with(|| {
                Arc::new(Room {
                    limits: self.limits,
                    state: Mutex::default(),
                    head: watch::Sender::new(0),
                    freed: watch::Sender::new(0),
                })
            })
            .clone();
        let mut state = lock(&joined.state);
        let id = state.next_member;
        state.next_member += 1;
        let start = state.first + state.entries.len() as u64;
        state.positions.insert(id, start);
        if let Some(deflate) = deflate {
            match state.deflates.iter_mut().find(|(used, _)| *used == deflate) {
                Some((_, count)) => *count += 1,
                None => state.deflates.push((deflate, 1)),
            }
        }
        drop(state);
        Member {
            id,
            name: room.to_string(),
            head: joined.head.subscribe(),
            freed: joined.freed.subscribe(),
            room: joined,
            rooms: self.rooms.clone(),
            deflate,
            taken: start,
        }
    }
}

/// A message waited for the member for longer than [`RoomLimits::max_lag`].
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct FellBehind;

impl Member {
    /// Longest a message may wait for this member.
    pub(crate) fn max_lag(&self) -> Duration {
        self.room.limits.max_lag
    }

    /// Makes a message ready for the room: compressed once for each shared deflate setting its members use.
    /// Done before [`Member::try_publish`], outside the room's lock.
    pub(crate) fn prepare(&self, message: Message) -> Entry {
        let settings: Vec<SharedDeflate> = lock(&self.room.state)
            .deflates
            .iter()
            .map(|(deflate, _)| *deflate)
            .collect();
        let compressed = settings
            .into_iter()
            .filter_map(|deflate| {
                compress_shared(deflate, &message.payload).map(|bytes| (deflate, Bytes::from(bytes)))
            })
            .collect();
        Entry {
            text: message.text,
            payload: message.payload,
            compressed,
            published: Instant::now(),
        }
    }

    /// Sends a prepared message to every member, this one included, if the backlog has room for it; otherwise
    /// hands it back, to be sent once [`Member::wake`] reports that the backlog shrank.
    pub(crate) fn try_publish(&mut self, mut entry: Entry) -> Result<(), Entry> {
        // Any shrinking from now on wakes this member.
        self.freed.borrow_and_update();
        let mut state = lock(&self.room.state);
        let cost = entry.cost();
        if !state.entries.is_empty() && state.bytes + cost > self.room.limits.backlog_bytes {
            return Err(entry);
        }
        entry.published = Instant::now();
        state.bytes += cost;
        state.entries.push_back(Arc::new(entry));
        let head = state.first + state.entries.len() as u64;
        drop(state);
        self.room.head.send_replace(head);
        Ok(())
    }

    /// Messages for this member that it has not taken yet, oldest first: at least one if there is any, then
    /// more while their payloads total at most `budget` bytes. Fails when the oldest has waited for longer
    /// than the room's lag bound.
    pub(crate) fn take(&mut self, budget: usize) -> Result<Vec<Arc<Entry>>, FellBehind> {
        let state = lock(&self.room.state);
        let start = (self.taken - state.first) as usize;
        let mut taken = Vec::new();
        let mut bytes = 0;
        for entry in state.entries.iter().skip(start) {
            if taken.is_empty() && entry.published.elapsed() > self.room.limits.max_lag {
                return Err(FellBehind);
            }
            if !taken.is_empty() && bytes + entry.payload.len() > budget {
                break;
            }
            bytes += entry.payload.len();
            taken.push(entry.clone());
        }
        self.taken += taken.len() as u64;
        Ok(taken)
    }

    /// Records that everything taken has been written out: the backlog lets go of what every member has.
    pub(crate) fn written(&mut self) {
        let mut state = lock(&self.room.state);
        if state.positions.insert(self.id, self.taken) == Some(self.taken) {
            return;
        }
        if state.trim() {
            drop(state);
            self.room.freed.send_modify(|freed| *freed += 1);
        }
    }

    /// Resolves when there is a message this member has not taken, or (with `for_room`) when the backlog
    /// shrank, so that a waiting message may fit. Cancel-safe, for `select!`.
    pub(crate) async fn wake(&mut self, for_room: bool) {
        loop {
            if *self.head.borrow_and_update() > self.taken {
                return;
            }
            tokio::select! {
                changed = self.head.changed() => {
                    // The room lives as long as its members, so its senders never go away.
                    if changed.is_err() {
                        std::future::pending::<()>().await;
                    }
                }
                _ = self.freed.changed(), if for_room => return,
            }
        }
    }
}

impl Backlog {
    /// Drops the entries every member has written out; returns whether any went.
    fn trim(&mut self) -> bool {
        let end = self.first + self.entries.len() as u64;
        let slowest = self.positions.values().copied().min().unwrap_or(end);
        let mut trimmed = false;
        while self.first < slowest {
            let Some(entry) = self.entries.pop_front() else {
                break;
            };
            self.bytes -= entry.cost();
            self.first += 1;
            trimmed = true;
        }
        trimmed
    }
}

/// Resolves when `member` has something to take, or its waiting message may fit; never outside a room.
pub(crate) async fn wake_for(member: &mut Option<Member>, for_room: bool) {
    match member {
        Some(member) => member.wake(for_room).await,
        None => std::future::pending().await,
    }
}

impl Drop for Member {
    fn drop(&mut self) {
        let mut rooms = lock(&self.rooms);
        let mut state = lock(&self.room.state);
        state.positions.remove(&self.id);
        if let Some(deflate) = self.deflate
            && let Some(index) = state.deflates.iter().position(|(used, _)| *used == deflate)
        {
            state.deflates[index].1 -= 1;
            if state.deflates[index].1 == 0 {
                state.deflates.swap_remove(index);
            }
        }
        let trimmed = state.trim();
        let empty = state.positions.is_empty();
        drop(state);
        if empty {
            rooms.remove(&self.name);
        } else if trimmed {
            self.room.freed.send_modify(|freed| *freed += 1);
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
    use futures_util::FutureExt;

    fn text(payload: &'static str) -> Message {
        Message {
            text: true,
            payload: Bytes::from_static(payload.as_bytes()),
        }
    }

    fn publish(member: &mut Member, message: Message) -> Result<(), Entry> {
        let entry = member.prepare(message);
        member.try_publish(entry)
    }

    fn payloads(entries: &[Arc<Entry>]) -> Vec<&[u8]> {
        entries.iter().map(|entry| &entry.payload[..]).collect()
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
        let mut a = rooms.join("one", None);
        let mut b = rooms.join("one", None);
        let mut other = rooms.join("two", None);
        publish(&mut a, text("hi")).expect("room");
        assert_eq!(payloads(&a.take(0).expect("in time")), [b"hi"]);
        b.wake(false).await;
        assert_eq!(payloads(&b.take(0).expect("in time")), [b"hi"]);
        publish(&mut other, text("elsewhere")).expect("room");
        assert_eq!(payloads(&other.take(0).expect("in time")), [b"elsewhere"]);
        assert!(b.take(0).expect("in time").is_empty());
        drop(a);
        assert!(lock(&rooms.rooms).contains_key("one"));
        drop(b);
        assert!(!lock(&rooms.rooms).contains_key("one"));
    }

    /// A full backlog hands the message back until the slowest member has written out what it holds, and
    /// holds nothing any member has written out.
    #[tokio::test]
    async fn a_full_backlog_makes_the_sender_wait_for_the_slowest_member() {
        let rooms = Rooms::default();
        let mut sender = rooms.join("r", None);
        let mut slow = rooms.join("r", None);
        let big = Bytes::from(vec![b'x'; RoomLimits::default().backlog_bytes / 2]);
        let message = || Message {
            text: false,
            payload: big.clone(),
        };
        publish(&mut sender, message()).expect("room");
        let held = publish(&mut sender, message()).expect_err("the backlog is full");
        assert_eq!(sender.take(usize::MAX).expect("in time").len(), 1);
        sender.written();
        assert!(sender.wake(true).now_or_never().is_none(), "nothing freed yet");
        let held = sender
            .try_publish(held)
            .expect_err("still held by the slow member");
        assert_eq!(slow.take(usize::MAX).expect("in time").len(), 1);
        slow.written();
        sender.wake(true).now_or_never().expect("woken by the freed room");
        sender.try_publish(held).expect("room now");
        let state = lock(&sender.room.state);
        assert_eq!(state.entries.len(), 1);
        assert_eq!(state.bytes, ENTRY_OVERHEAD + big.len());
    }

    #[tokio::test]
    async fn a_message_waiting_too_long_closes_the_member() {
        let max_lag = Duration::from_millis(50);
        let rooms = Rooms::new(RoomLimits {
            max_lag,
            ..RoomLimits::default()
        });
        let mut sender = rooms.join("r", None);
        let mut stalled = rooms.join("r", None);
        publish(&mut sender, text("first")).expect("room");
        assert_eq!(sender.take(0).map(|taken| taken.len()), Ok(1));
        sender.written();
        tokio::time::sleep(max_lag * 2).await;
        assert_eq!(stalled.take(0).map(|taken| taken.len()), Err(FellBehind));
        // Gone, it holds nothing back.
        drop(stalled);
        drop(sender);
        assert!(lock(&rooms.rooms).is_empty());
    }
}
