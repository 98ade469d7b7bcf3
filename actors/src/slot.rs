//! Where callers find an actor: the current [`ActorRef`] while it runs, or
//! why it is not there (restarting, stopped), so a call fails fast instead of
//! waiting for a timeout.

use std::sync::RwLock;

use ractor::ActorRef;

enum SlotState<M> {
    Running(ActorRef<M>),
    Down(String),
}

/// The current incarnation of one supervised actor.
pub(crate) struct Slot<M> {
    state: RwLock<SlotState<M>>,
}

impl<M: Send + 'static> Slot<M> {
    /// A slot for an actor not started yet.
    pub(crate) fn new(title: &str) -> Slot<M> {
        Slot {
            state: RwLock::new(SlotState::Down(format!("the {title} actor is starting"))),
        }
    }

    /// The running actor, or why there is none (a reason for
    /// `ToolError::Unavailable`).
    pub(crate) fn get(&self) -> Result<ActorRef<M>, String> {
        match &*self.state.read().unwrap_or_else(|p| p.into_inner()) {
            SlotState::Running(actor) => Ok(actor.clone()),
            SlotState::Down(reason) => Err(reason.clone()),
        }
    }

    /// Publishes a (re)started actor.
    pub(crate) fn set_running(&self, actor: ActorRef<M>) {
        *self.state.write().unwrap_or_else(|p| p.into_inner()) = SlotState::Running(actor);
    }

    /// Marks the actor down: calls fail fast with `reason`.
    pub(crate) fn set_down(&self, reason: String) {
        *self.state.write().unwrap_or_else(|p| p.into_inner()) = SlotState::Down(reason);
    }
}
