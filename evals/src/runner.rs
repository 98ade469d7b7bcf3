//! Runs tasks against the planner: one scratch SQLite store per world
//! (a temporary directory), the world loaded and analysed, the module
//! actors and the planner over any [`LlmProvider`]; each task run in its
//! own conversation thread, its turns in order, the events recorded and
//! scored.

use std::sync::Arc;
use std::time::{Duration, Instant};

use aima_actors::planner::{Approval, Planner};
use aima_actors::{Handlers, Runtime, RuntimeOptions};
use aima_runtime::events::{Event, EventBody};
use aima_runtime::llm::LlmProvider;
use aima_runtime::store::Store;
use futures::StreamExt;
use serde::Serialize;
use uuid::Uuid;

use crate::error::EvalError;
use crate::load::{LoadSummary, load_and_analyse};
use crate::score::{Check, TurnRecord, calls, score};
use crate::task::{Resolved, Turn};
use crate::world::World;

/// How long one turn may take before it counts as failed.
pub const TURN_TIMEOUT: Duration = Duration::from_secs(180);

/// One run of one task.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TaskRun {
    /// Whether every check passed.
    pub passed: bool,
    /// The checks.
    pub checks: Vec<Check>,
    /// Wall time of all its turns.
    pub latency_ms: f64,
    /// Tool calls made or proposed.
    pub tool_calls: usize,
    /// Prompt tokens (where the provider reports them).
    pub prompt_tokens: u64,
    /// Completion tokens.
    pub completion_tokens: u64,
    /// Cost in US dollars, where known.
    pub cost_usd: Option<f64>,
    /// Provider and model from the usage reports.
    pub model: Option<String>,
    /// The transcript.
    pub turns: Vec<TurnRecord>,
}

/// A world in a scratch store with the actors and the planner running.
pub struct Bench {
    world: World,
    store: Store,
    runtime: Runtime,
    planner: Planner,
    org: Uuid,
    summary: LoadSummary,
    _dir: tempfile::TempDir,
}

impl std::fmt::Debug for Bench {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bench")
            .field("seed", &self.world.config.seed)
            .field("org", &self.org)
            .finish_non_exhaustive()
    }
}

impl Bench {
    /// Creates a scratch SQLite store, loads and analyses `world`, starts
    /// the module actors and a planner over `provider`.
    ///
    /// # Errors
    /// [`EvalError`] from the store, the analyses, the runtime or the
    /// planner.
    pub async fn start(world: World, provider: Arc<dyn LlmProvider>) -> Result<Bench, EvalError> {
        let dir = tempfile::tempdir().map_err(|source| EvalError::Io {
            path: std::env::temp_dir(),
            source,
        })?;
        let store = Store::open(None, dir.path()).await?;
        store.migrate().await?;
        let slug = format!("bench-{}", world.config.seed);
        let (org, summary) = load_and_analyse(&store, &slug, &world).await?;
        let runtime = Runtime::start(
            store.clone(),
            Handlers::standard(store.clone()),
            RuntimeOptions::default(),
        )
        .await
        .map_err(|e| EvalError::Runtime(e.to_string()))?;
        let registry = Arc::new(runtime.registry(aima_tools::catalog()));
        let planner = Planner::new(store.clone(), registry, provider)
            .map_err(|e| EvalError::Planner(e.to_string()))?;
        Ok(Bench {
            world,
            store,
            runtime,
            planner,
            org,
            summary,
            _dir: dir,
        })
    }

    /// The world.
    pub fn world(&self) -> &World {
        &self.world
    }

    /// What was loaded.
    pub fn summary(&self) -> &LoadSummary {
        &self.summary
    }

    /// Runs `task` once in a new thread and scores it.
    pub async fn run(&self, task: &Resolved) -> TaskRun {
        let started = Instant::now();
        let mut thread: Option<Uuid> = None;
        let mut turns = Vec::with_capacity(task.turns.len());
        for turn in &task.turns {
            let record = self.turn(&mut thread, turn).await;
            let stop = record.error.is_some();
            turns.push(record);
            if stop {
                break;
            }
        }
        let latency_ms = started.elapsed().as_secs_f64() * 1e3;
        let checks = score(task, &turns, &self.world);
        let (mut prompt, mut completion, mut cost, mut model) = (0, 0, None, None);
        for e in turns.iter().flat_map(|t| &t.events) {
            if let EventBody::Final { usage: Some(u), .. } = &e.body {
                prompt += u.prompt_tokens;
                completion += u.completion_tokens;
                if let Some(c) = u.cost_usd {
                    cost = Some(cost.unwrap_or(0.0) + c);
                }
                model = Some(format!("{}/{}", u.provider, u.model));
            }
        }
        TaskRun {
            passed: checks.iter().all(|c| c.passed),
            tool_calls: calls(&turns).len(),
            checks,
            latency_ms,
            prompt_tokens: prompt,
            completion_tokens: completion,
            cost_usd: cost,
            model,
            turns,
        }
    }

    async fn turn(&self, thread: &mut Option<Uuid>, turn: &Turn) -> TurnRecord {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Event>();
        let (input, result) = match turn {
            Turn::Say(q) => {
                let r =
                    tokio::time::timeout(TURN_TIMEOUT, self.planner.ask(self.org, *thread, q, &tx))
                        .await;
                let r = match r {
                    Err(_) => Err(format!("timed out after {TURN_TIMEOUT:?}")),
                    Ok(Err(e)) => Err(e.to_string()),
                    Ok(Ok((id, _))) => {
                        *thread = Some(id);
                        Ok(())
                    }
                };
                (q.clone(), r)
            }
            Turn::Decide(d) => {
                let decision = if d.approve {
                    Approval::Approve {
                        arguments: d.arguments.clone(),
                    }
                } else {
                    Approval::Reject {
                        reason: d.reject.clone(),
                    }
                };
                let input = serde_json::to_string(&decision).unwrap_or_default();
                let r = match thread {
                    None => Err("no thread to resume".to_owned()),
                    Some(id) => {
                        match tokio::time::timeout(
                            TURN_TIMEOUT,
                            self.planner.resume(self.org, *id, decision, &tx),
                        )
                        .await
                        {
                            Err(_) => Err(format!("timed out after {TURN_TIMEOUT:?}")),
                            Ok(Err(e)) => Err(e.to_string()),
                            Ok(Ok(_)) => Ok(()),
                        }
                    }
                };
                (input, r)
            }
        };
        drop(tx);
        // Streamed answer tokens are left out: the final event holds the
        // whole answer.
        let mut events = Vec::new();
        while let Some(e) = rx.recv().await {
            if !matches!(e.body, EventBody::Token { .. }) {
                events.push(e);
            }
        }
        TurnRecord {
            input,
            events,
            error: result.err(),
        }
    }

    /// Runs every task `k` times (`concurrency` tasks at once), in task
    /// order; returns each task's runs.
    pub async fn run_all(
        &self,
        tasks: &[Resolved],
        k: usize,
        concurrency: usize,
    ) -> Vec<Vec<TaskRun>> {
        let mut out: Vec<Vec<TaskRun>> = vec![Vec::with_capacity(k); tasks.len()];
        for _ in 0..k.max(1) {
            let runs: Vec<(usize, TaskRun)> = futures::stream::iter(tasks.iter().enumerate())
                .map(|(i, t)| async move { (i, self.run(t).await) })
                .buffer_unordered(concurrency.max(1))
                .collect()
                .await;
            for (i, r) in runs {
                out[i].push(r);
            }
        }
        out
    }

    /// Stops the actors and closes the store.
    pub async fn shutdown(self) {
        self.runtime.shutdown().await;
        self.store.close().await;
    }
}
