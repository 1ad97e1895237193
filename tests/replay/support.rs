//! A writer like the engine's (a real log in a temporary directory and the state
//! folded while appending), the two ways of reading a log back, and the vocabulary.

use kasp_engine::replay::fold;
use kasp_engine::session::append_folding;
use kasp_events::{
    Access, Actor, ClockMode, Event, EventLog, FORMAT, InstanceId, LogCreated, LogError, NewEvent,
    Seq, Timestamp,
};
use kasp_projector::State;
use kasp_projector::decide::{Command, decide};
use std::path::PathBuf;

/// The log's creation time; commands run one second apart after it.
pub const T0: Timestamp = Timestamp(1_735_689_600); // 2025-01-01T00:00:00Z

// ---- a writer like the engine's ------------------------------------------------

/// A log in a temporary directory and the state its writer folded while appending.
pub struct Writer {
    dir: tempfile::TempDir,
    log: Option<EventLog>,
    pub state: State,
    /// The newest snapshot (what the engine's `fold` would have used).
    pub snap: Option<Seq>,
    pub now: Timestamp,
}

impl Writer {
    pub fn new() -> Writer {
        let dir = tempfile::tempdir().expect("tempdir");
        let created = LogCreated {
            format: FORMAT,
            instance: InstanceId([7; 16]),
            clock: ClockMode::Simulated { start: T0 },
        };
        let (log, sealed) = EventLog::create(
            &dir.path().join("events.redb"),
            created,
            T0,
            Actor::System,
            "setup",
        )
        .expect("create the log");
        let mut state = State::default();
        state.apply(&sealed.record);
        Writer {
            dir,
            log: Some(log),
            state,
            snap: None,
            now: T0,
        }
    }

    pub fn path(&self) -> PathBuf {
        self.dir.path().join("events.redb")
    }

    /// The read-write handle (reopened if it was closed for a reader).
    pub fn log(&mut self) -> &mut EventLog {
        let path = self.path();
        self.log
            .get_or_insert_with(|| EventLog::open(&path, Access::ReadWrite).expect("reopen"))
    }

    /// Closes the read-write handle so a reader can open the file.
    pub fn close(&mut self) {
        self.log = None;
    }

    pub fn tick(&mut self) -> Timestamp {
        self.now = Timestamp(self.now.0 + 1);
        self.now
    }

    /// Decides `command` against the folded state and appends its events as one batch
    /// (nothing when refused or when nothing changes). Returns the events appended.
    pub fn run(&mut self, command: &Command) -> Vec<Event> {
        let now = self.tick();
        match decide(&self.state, command, now) {
            Ok(d) => {
                self.append(now, d.events.clone());
                d.events
            }
            Err(_) => Vec::new(),
        }
    }

    /// Appends events at `at` in one transaction through the engine.
    pub fn append(&mut self, at: Timestamp, events: Vec<Event>) {
        if events.is_empty() {
            return;
        }
        let events = events.into_iter().map(|e| new_event(at, e)).collect();
        let head = self.log().head();
        let log = self.log.as_mut().expect("opened above");
        append_folding(log, head, events, &mut self.state, self.snap).expect("append");
        self.snap = log.latest_snapshot().expect("snapshot").map(|s| s.seq);
    }

    /// The log reopened read-only (the writer's handle is closed first).
    pub fn reader(&mut self) -> EventLog {
        self.close();
        EventLog::open(&self.path(), Access::ReadOnly).expect("open read-only")
    }
}

pub fn new_event(at: Timestamp, event: Event) -> NewEvent {
    NewEvent {
        at,
        actor: Actor::Operator("tester".to_string()),
        cause: "replay test".to_string(),
        event,
    }
}

/// Every record from seq 0 folded in order; snapshots are not looked at.
pub fn full_replay(log: &EventLog) -> State {
    let mut state = State::default();
    log.for_each(Seq(0), |sealed| {
        state.apply(&sealed.record);
        Ok::<(), LogError>(())
    })
    .expect("replay");
    state
}

/// `fold`, which may start from a snapshot.
pub fn folded(log: &EventLog) -> (State, Option<Seq>) {
    fold(log).expect("fold")
}
