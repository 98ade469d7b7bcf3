//! Planner turns and their events, shared by every transport (JSON, SSE,
//! WebSocket): [`start`] runs a turn in a task of its own and records each
//! event in the [`Hub`], so a client that reconnects (on any transport)
//! replays what it missed and follows the rest live.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use aima_actors::planner::{PlannerError, TurnOutcome};
use aima_runtime::events::Event;
use futures::future::BoxFuture;
use tokio::sync::{broadcast, mpsc};
use tokio::task::JoinHandle;
use uuid::Uuid;

use crate::state::AppState;

/// Events kept per thread for replay (the newest).
const KEPT_EVENTS: usize = 2_000;
/// A thread with no event for this long is forgotten.
const IDLE: Duration = Duration::from_secs(3600);

/// How a turn ended (its thread and outcome), or why it did not start.
pub(crate) type TurnResult = Result<(Uuid, TurnOutcome), PlannerError>;
/// A turn's future: it sends its events to the sender it was given.
pub(crate) type TurnFuture = BoxFuture<'static, TurnResult>;

struct ThreadLog {
    events: Vec<Event>,
    live: broadcast::Sender<Event>,
    running: usize,
    touched: Instant,
}

/// Recent events of every thread, by organization and thread id.
#[derive(Default)]
pub struct Hub {
    threads: Mutex<HashMap<(Uuid, String), ThreadLog>>,
}

impl std::fmt::Debug for Hub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hub").finish_non_exhaustive()
    }
}

/// What a resuming client gets: the kept events after its position, and
/// the live feed when a turn of the thread is still running.
pub(crate) struct Resume {
    pub(crate) missed: Vec<Event>,
    pub(crate) live: Option<broadcast::Receiver<Event>>,
}

impl Hub {
    fn log<'a>(
        map: &'a mut HashMap<(Uuid, String), ThreadLog>,
        org: Uuid,
        thread: &str,
    ) -> &'a mut ThreadLog {
        map.entry((org, thread.to_owned()))
            .or_insert_with(|| ThreadLog {
                events: Vec::new(),
                live: broadcast::channel(1024).0,
                running: 0,
                touched: Instant::now(),
            })
    }

    fn publish(&self, org: Uuid, event: &Event) {
        let mut map = self.threads.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        map.retain(|_, t| t.running > 0 || now.duration_since(t.touched) < IDLE);
        let log = Hub::log(&mut map, org, &event.thread_id);
        log.events.push(event.clone());
        if log.events.len() > KEPT_EVENTS {
            let extra = log.events.len() - KEPT_EVENTS;
            log.events.drain(..extra);
        }
        log.touched = now;
        let _ = log.live.send(event.clone());
    }

    fn running(&self, org: Uuid, thread: &str, delta: isize) {
        let mut map = self.threads.lock().unwrap_or_else(|p| p.into_inner());
        let log = Hub::log(&mut map, org, thread);
        log.running = log.running.saturating_add_signed(delta);
        log.touched = Instant::now();
    }

    /// Thread `thread` of `org` from after event `after_seq`: `None` when
    /// the hub holds nothing of it (unknown, or forgotten after an hour).
    pub(crate) fn resume(&self, org: Uuid, thread: &str, after_seq: u64) -> Option<Resume> {
        let map = self.threads.lock().unwrap_or_else(|p| p.into_inner());
        let log = map.get(&(org, thread.to_owned()))?;
        // Subscribed under the lock: no event falls between the copy and
        // the feed.
        let live = (log.running > 0).then(|| log.live.subscribe());
        let missed = log
            .events
            .iter()
            .filter(|e| e.seq > after_seq)
            .cloned()
            .collect();
        Some(Resume { missed, live })
    }
}

/// Starts a turn of `org` in a task of its own (a client that goes away
/// does not cut it short halfway through its writes): its events go to the
/// hub and to the returned receiver; the handle gives how it ended.
pub(crate) fn start(
    state: &AppState,
    org: Uuid,
    turn: impl FnOnce(mpsc::UnboundedSender<Event>) -> TurnFuture,
) -> (mpsc::UnboundedReceiver<Event>, JoinHandle<TurnResult>) {
    let (tx, mut rx) = mpsc::unbounded_channel::<Event>();
    let (out_tx, out_rx) = mpsc::unbounded_channel();
    let state = state.clone();
    let turn = turn(tx);
    let task = tokio::spawn(async move {
        let forward = async {
            let mut thread = None;
            while let Some(event) = rx.recv().await {
                if thread.is_none() {
                    state.hub().running(org, &event.thread_id, 1);
                    thread = Some(event.thread_id.clone());
                }
                state.hub().publish(org, &event);
                let _ = out_tx.send(event);
            }
            if let Some(thread) = thread {
                state.hub().running(org, &thread, -1);
            }
        };
        let (result, ()) = tokio::join!(turn, forward);
        result
    });
    (out_rx, task)
}
