//! Tool handlers: [`ActorToolHandler`] forwards a call to its module's actor;
//! [`NotBuilt`] is the placeholder of a module that does not exist yet.

use std::sync::Arc;
use std::time::Duration;

use aima_runtime::registry::{ToolContext, ToolError, ToolHandler};
use aima_tools::Module;
use async_trait::async_trait;
use ractor::rpc::CallResult;
use serde_json::Value;

use crate::jobs::WorkerId;
use crate::slot::Slot;
use crate::worker::WorkerMsg;

/// Answers every tool of a module that has not been built with
/// [`ToolError::NotImplemented`] naming the module.
#[derive(Debug, Clone, Copy)]
pub struct NotBuilt {
    /// The module that is missing.
    pub module: Module,
}

#[async_trait]
impl ToolHandler for NotBuilt {
    async fn call(&self, _ctx: &ToolContext, name: &str, _args: Value) -> Result<Value, ToolError> {
        Err(ToolError::NotImplemented {
            tool: name.to_owned(),
            module: self.module.title().to_owned(),
        })
    }
}

/// Forwards tool calls to one module's supervised actor, with a timeout.
///
/// Errors: [`ToolError::Unavailable`] at once while the actor is down or
/// restarting, or when it dies during the call; [`ToolError::Timeout`] when
/// no answer comes within the timeout; otherwise whatever the module's
/// handler answered.
#[derive(Clone)]
pub struct ActorToolHandler {
    pub(crate) module: Module,
    pub(crate) slot: Arc<Slot<WorkerMsg>>,
    pub(crate) timeout: Duration,
}

impl std::fmt::Debug for ActorToolHandler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ActorToolHandler")
            .field("module", &self.module)
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl ActorToolHandler {
    /// The module whose actor answers.
    pub fn module(&self) -> Module {
        self.module
    }

    /// The per-call timeout.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }
}

#[async_trait]
impl ToolHandler for ActorToolHandler {
    async fn call(&self, ctx: &ToolContext, name: &str, args: Value) -> Result<Value, ToolError> {
        let unavailable = |reason: String| ToolError::Unavailable {
            tool: name.to_owned(),
            reason,
        };
        let actor = self.slot.get().map_err(unavailable)?;
        let sent = actor
            .call(
                |reply| WorkerMsg::Call {
                    ctx: ctx.clone(),
                    name: name.to_owned(),
                    args,
                    reply,
                },
                Some(self.timeout),
            )
            .await;
        let title = WorkerId::Module(self.module).title();
        match sent {
            Ok(CallResult::Success(result)) => result,
            Ok(CallResult::Timeout) => Err(ToolError::Timeout {
                tool: name.to_owned(),
                after_ms: u64::try_from(self.timeout.as_millis()).unwrap_or(u64::MAX),
            }),
            Ok(CallResult::SenderError) => Err(unavailable(format!(
                "the {title} actor stopped during the call and is restarting"
            ))),
            Err(_) => Err(unavailable(format!("the {title} actor is restarting"))),
        }
    }
}
