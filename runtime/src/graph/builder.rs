//! Building a graph: nodes, edges, retry policies, and the checks `compile`
//! makes (including the parallel-write check).

use std::collections::{BTreeSet, HashMap, HashSet};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Map, Value};

use super::run::{CompiledGraph, Inner};
use super::{
    Checkpointer, GraphError, GraphState, NodeContext, NodeError, StateSchema, TaskSpec, Update,
};

/// The virtual entry node: edges from it choose the first superstep.
pub const START: &str = "__start__";
/// The virtual exit node: routing to it ends that branch.
pub const END: &str = "__end__";

/// The boxed future a node returns.
pub type NodeFuture = Pin<Box<dyn Future<Output = Result<Update, NodeError>> + Send>>;
pub(crate) type NodeFn<S> = Arc<dyn Fn(Arc<S>, NodeContext) -> NodeFuture + Send + Sync>;
pub(crate) type RouterFn<S> = Arc<dyn Fn(&S) -> Vec<TaskSpec> + Send + Sync>;
type RetryPredicate = Arc<dyn Fn(&NodeError) -> bool + Send + Sync>;

/// When and how often a failed node attempt is retried.
///
/// Attempt `n` (1-based) that fails with an error the predicate accepts is
/// followed, after `min(initial_backoff * factor^(n-1), max_backoff)`, by
/// attempt `n + 1`, up to `max_attempts`. Interrupts are never retried.
#[derive(Clone)]
pub struct RetryPolicy {
    pub(crate) max_attempts: u32,
    pub(crate) initial_backoff: Duration,
    pub(crate) backoff_factor: f64,
    pub(crate) max_backoff: Duration,
    pub(crate) retry_on: RetryPredicate,
}

impl std::fmt::Debug for RetryPolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RetryPolicy")
            .field("max_attempts", &self.max_attempts)
            .field("initial_backoff", &self.initial_backoff)
            .field("backoff_factor", &self.backoff_factor)
            .field("max_backoff", &self.max_backoff)
            .finish_non_exhaustive()
    }
}

impl Default for RetryPolicy {
    /// One attempt, no retry.
    fn default() -> RetryPolicy {
        RetryPolicy::attempts(1)
    }
}

impl RetryPolicy {
    /// Up to `max_attempts` attempts (0 is taken as 1), backoff 100 ms
    /// doubling up to 5 s, retrying [`NodeError::Failed`] with
    /// `retryable: true` and [`NodeError::Timeout`].
    pub fn attempts(max_attempts: u32) -> RetryPolicy {
        RetryPolicy {
            max_attempts: max_attempts.max(1),
            initial_backoff: Duration::from_millis(100),
            backoff_factor: 2.0,
            max_backoff: Duration::from_secs(5),
            retry_on: Arc::new(|e| {
                matches!(
                    e,
                    NodeError::Failed {
                        retryable: true,
                        ..
                    } | NodeError::Timeout { .. }
                )
            }),
        }
    }

    /// Sets the backoff: `initial` before the second attempt, multiplied by
    /// `factor` (values below 1 are taken as 1) each time, capped at `max`.
    pub fn backoff(mut self, initial: Duration, factor: f64, max: Duration) -> RetryPolicy {
        self.initial_backoff = initial;
        self.backoff_factor = if factor.is_finite() && factor >= 1.0 {
            factor
        } else {
            1.0
        };
        self.max_backoff = max;
        self
    }

    /// Retries exactly the errors `predicate` accepts (interrupts never).
    pub fn retry_on(
        mut self,
        predicate: impl Fn(&NodeError) -> bool + Send + Sync + 'static,
    ) -> RetryPolicy {
        self.retry_on = Arc::new(predicate);
        self
    }

    /// The wait after failed attempt `attempt` (1-based).
    pub fn backoff_after(&self, attempt: u32) -> Duration {
        let exp = i32::try_from(attempt.saturating_sub(1)).unwrap_or(i32::MAX);
        let secs = self.initial_backoff.as_secs_f64() * self.backoff_factor.powi(exp);
        if !secs.is_finite() || secs >= self.max_backoff.as_secs_f64() {
            self.max_backoff
        } else {
            Duration::from_secs_f64(secs)
        }
    }
}

/// A node as a trait object (for nodes that are structs with their own
/// dependencies); see [`Node::from_handler`].
#[async_trait::async_trait]
pub trait NodeHandler<S>: Send + Sync + 'static {
    /// One attempt of the node: the state as of the start of the superstep,
    /// the context, and the partial update it writes.
    async fn run(&self, state: Arc<S>, ctx: NodeContext) -> Result<Update, NodeError>;
}

/// A node: a name, the state keys it may write, an async function from the
/// current state to an [`Update`], a retry policy and an optional timeout.
pub struct Node<S> {
    pub(crate) name: String,
    pub(crate) writes: BTreeSet<String>,
    pub(crate) run: NodeFn<S>,
    pub(crate) retry: RetryPolicy,
    pub(crate) timeout: Option<Duration>,
}

impl<S: GraphState> Node<S> {
    /// A node named `name` that may write the state keys `writes` (an update
    /// with any other key fails the run with [`GraphError::UndeclaredWrite`]).
    /// `f` gets the state as of the start of the superstep and a
    /// [`NodeContext`]; it runs once per attempt.
    pub fn new<F, Fut, K>(name: impl Into<String>, writes: K, f: F) -> Node<S>
    where
        F: Fn(Arc<S>, NodeContext) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Update, NodeError>> + Send + 'static,
        K: IntoIterator,
        K::Item: Into<String>,
    {
        Node {
            name: name.into(),
            writes: writes.into_iter().map(Into::into).collect(),
            run: Arc::new(move |s, ctx| Box::pin(f(s, ctx))),
            retry: RetryPolicy::default(),
            timeout: None,
        }
    }

    /// A node backed by a [`NodeHandler`] (a struct holding its own
    /// dependencies), writing the state keys `writes`.
    pub fn from_handler<K>(
        name: impl Into<String>,
        writes: K,
        handler: Arc<dyn NodeHandler<S>>,
    ) -> Node<S>
    where
        K: IntoIterator,
        K::Item: Into<String>,
    {
        Node::new(name, writes, move |state, ctx| {
            let handler = handler.clone();
            async move { handler.run(state, ctx).await }
        })
    }

    /// Sets the retry policy (default: one attempt).
    pub fn retry(mut self, policy: RetryPolicy) -> Node<S> {
        self.retry = policy;
        self
    }

    /// Bounds each attempt to `timeout`; an attempt past it fails with
    /// [`NodeError::Timeout`] (retried when the policy says so).
    pub fn timeout(mut self, timeout: Duration) -> Node<S> {
        self.timeout = Some(timeout);
        self
    }
}

/// A task a router sends: `node` runs in the next superstep with `arg`
/// (LangGraph's `Send`). Several sends to one node run as separate,
/// concurrent tasks, each reading its own argument ([`NodeContext::arg`]).
#[derive(Debug, Clone, PartialEq)]
pub struct SendTo {
    /// The node to run.
    pub node: String,
    /// Its argument.
    pub arg: Value,
}

impl SendTo {
    /// `node` with argument `arg`.
    pub fn new(node: impl Into<String>, arg: Value) -> SendTo {
        SendTo {
            node: node.into(),
            arg,
        }
    }
}

/// How many targets a router may choose.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RouterKind {
    /// Exactly one.
    Single,
    /// Any subset.
    Fanout,
    /// Any number of tasks, repeated targets included.
    Send,
}

/// A conditional edge: a router over the state after the superstep.
pub(crate) struct Router<S> {
    pub(crate) targets: Vec<String>,
    pub(crate) kind: RouterKind,
    pub(crate) f: RouterFn<S>,
}

/// The outgoing edges of one node (or START).
pub(crate) struct Routes<S> {
    pub(crate) statics: Vec<String>,
    pub(crate) router: Option<Router<S>>,
}

impl<S> Default for Routes<S> {
    fn default() -> Self {
        Routes {
            statics: Vec::new(),
            router: None,
        }
    }
}

/// A graph under construction. Methods record mistakes; [`StateGraph::compile`]
/// reports the first one.
pub struct StateGraph<S> {
    schema: StateSchema,
    nodes: Vec<Node<S>>,
    routes: HashMap<String, Routes<S>>,
    errors: Vec<GraphError>,
    recursion_limit: u32,
    compact_after: Option<u64>,
}

/// Default for the superstep budget of one `invoke`/`resume` call.
pub const DEFAULT_RECURSION_LIMIT: u32 = 25;

impl<S: GraphState> StateGraph<S> {
    /// An empty graph over state `S` with per-key reducers `schema`.
    pub fn new(schema: StateSchema) -> StateGraph<S> {
        StateGraph {
            schema,
            nodes: Vec::new(),
            routes: HashMap::new(),
            errors: Vec::new(),
            recursion_limit: DEFAULT_RECURSION_LIMIT,
            compact_after: None,
        }
    }

    /// Adds a node. Names must be unique, non-empty and not START/END.
    pub fn add_node(&mut self, node: Node<S>) -> &mut Self {
        let reason = if node.name.is_empty() {
            Some("empty")
        } else if node.name == START || node.name == END {
            Some("reserved")
        } else if node.name.contains(',') {
            Some("contains ','")
        } else if self.nodes.iter().any(|n| n.name == node.name) {
            Some("already added")
        } else {
            None
        };
        match reason {
            Some(reason) => self.errors.push(GraphError::InvalidNodeName {
                name: node.name,
                reason,
            }),
            None => self.nodes.push(node),
        }
        self
    }

    /// After `from` (a node or [`START`]) finishes, `to` (a node or [`END`])
    /// runs in the next superstep. Several static edges from one node fan out.
    pub fn add_edge(&mut self, from: impl Into<String>, to: impl Into<String>) -> &mut Self {
        let to = to.into();
        let routes = self.routes.entry(from.into()).or_default();
        if !routes.statics.contains(&to) {
            routes.statics.push(to);
        }
        self
    }

    /// After `from` finishes, `router` picks ONE of `targets` (nodes or
    /// [`END`]) from the state after the superstep. Choosing something not in
    /// `targets` fails the run with [`GraphError::InvalidRoute`].
    pub fn add_conditional_edge<F, R, T>(
        &mut self,
        from: impl Into<String>,
        targets: T,
        router: F,
    ) -> &mut Self
    where
        F: Fn(&S) -> R + Send + Sync + 'static,
        R: Into<String>,
        T: IntoIterator,
        T::Item: Into<String>,
    {
        let f: RouterFn<S> = Arc::new(move |s| vec![TaskSpec::Node(router(s).into())]);
        self.add_router(from.into(), targets, RouterKind::Single, f)
    }

    /// After `from` finishes, `router` picks any subset of `targets`; they
    /// all run in the next superstep, in parallel (an empty choice ends that
    /// branch).
    pub fn add_fanout_edge<F, T>(
        &mut self,
        from: impl Into<String>,
        targets: T,
        router: F,
    ) -> &mut Self
    where
        F: Fn(&S) -> Vec<String> + Send + Sync + 'static,
        T: IntoIterator,
        T::Item: Into<String>,
    {
        let f: RouterFn<S> = Arc::new(move |s| router(s).into_iter().map(TaskSpec::Node).collect());
        self.add_router(from.into(), targets, RouterKind::Fanout, f)
    }

    /// After `from` finishes, `router` returns tasks ([`SendTo`]) for the
    /// next superstep: each runs its node (one of `targets`) with its own
    /// argument, all concurrently (map-reduce; LangGraph's `Send`). Sent
    /// tasks are never merged, even with a static edge's task for the same
    /// node. Since a node may then run several times in one superstep, every
    /// key a target writes needs a combining reducer (checked by `compile`).
    pub fn add_send_edge<F, T>(
        &mut self,
        from: impl Into<String>,
        targets: T,
        router: F,
    ) -> &mut Self
    where
        F: Fn(&S) -> Vec<SendTo> + Send + Sync + 'static,
        T: IntoIterator,
        T::Item: Into<String>,
    {
        let f: RouterFn<S> = Arc::new(move |s| {
            router(s)
                .into_iter()
                .map(|t| TaskSpec::Send {
                    node: t.node,
                    arg: t.arg,
                })
                .collect()
        });
        self.add_router(from.into(), targets, RouterKind::Send, f)
    }

    fn add_router<T>(
        &mut self,
        from: String,
        targets: T,
        kind: RouterKind,
        f: RouterFn<S>,
    ) -> &mut Self
    where
        T: IntoIterator,
        T::Item: Into<String>,
    {
        let routes = self.routes.entry(from.clone()).or_default();
        if routes.router.is_some() {
            self.errors.push(GraphError::DuplicateRouter { node: from });
            return self;
        }
        let mut list: Vec<String> = Vec::new();
        for t in targets {
            let t = t.into();
            if !list.contains(&t) {
                list.push(t);
            }
        }
        routes.router = Some(Router {
            targets: list,
            kind,
            f,
        });
        self
    }

    /// The superstep budget of one `invoke`/`resume` call (default
    /// [`DEFAULT_RECURSION_LIMIT`]); a call may override it.
    pub fn recursion_limit(&mut self, limit: u32) -> &mut Self {
        self.recursion_limit = limit;
        self
    }

    /// When a run finishes (reaches END) on a thread holding more than
    /// `records` checkpoints since its last snapshot, the thread is compacted
    /// into one snapshot (see [`CompiledGraph::compact`]), so loading a long
    /// conversation replays at most about `records` + one run's records.
    /// Off by default (every delta is kept until the thread is pruned).
    pub fn compact_after(&mut self, records: u64) -> &mut Self {
        self.compact_after = Some(records);
        self
    }

    /// Checks the graph and freezes it over `checkpointer`.
    ///
    /// Errors: the first recorded naming mistake; [`GraphError::StateShape`]
    /// when `S::default()` is not a JSON object;
    /// [`GraphError::UndeclaredKey`] for a reducer or declared write on a key
    /// the state lacks; [`GraphError::UnknownNode`] for an edge to or from an
    /// unknown node; [`GraphError::NoEntry`]; [`GraphError::DeadEnd`];
    /// [`GraphError::ConflictingWrites`] when two nodes that can share a
    /// superstep both write a key without a combining reducer.
    pub fn compile(
        self,
        checkpointer: Arc<dyn Checkpointer>,
    ) -> Result<CompiledGraph<S>, GraphError> {
        if let Some(e) = self.errors.into_iter().next() {
            return Err(e);
        }
        let default_state: Map<String, Value> = super::state::to_map(&S::default())?;
        let mut declared: Vec<&str> = self.schema.declared_keys().collect();
        declared.sort_unstable();
        for key in declared {
            if !default_state.contains_key(key) {
                return Err(GraphError::UndeclaredKey {
                    owner: "the schema".to_string(),
                    key: key.to_string(),
                });
            }
        }
        for node in &self.nodes {
            for key in &node.writes {
                if !default_state.contains_key(key) {
                    return Err(GraphError::UndeclaredKey {
                        owner: format!("node {:?}", node.name),
                        key: key.clone(),
                    });
                }
            }
        }
        let names: HashSet<&str> = self.nodes.iter().map(|n| n.name.as_str()).collect();
        let mut sources: Vec<&String> = self.routes.keys().collect();
        sources.sort();
        for from in sources {
            let routes = &self.routes[from];
            let targets = routes
                .statics
                .iter()
                .chain(routes.router.iter().flat_map(|r| r.targets.iter()));
            for to in targets {
                let unknown = if from != START && !names.contains(from.as_str()) {
                    Some(from)
                } else if to != END && !names.contains(to.as_str()) {
                    Some(to)
                } else {
                    None
                };
                if let Some(missing) = unknown {
                    return Err(GraphError::UnknownNode {
                        from: from.clone(),
                        to: to.clone(),
                        missing: missing.clone(),
                    });
                }
            }
        }
        if !self.routes.contains_key(START) {
            return Err(GraphError::NoEntry);
        }
        for node in &self.nodes {
            if !self.routes.contains_key(&node.name) {
                return Err(GraphError::DeadEnd {
                    node: node.name.clone(),
                });
            }
        }
        check_parallel_writes(&self.schema, &self.nodes, &self.routes)?;
        Ok(CompiledGraph::from_inner(Inner {
            schema: self.schema,
            index: self
                .nodes
                .iter()
                .enumerate()
                .map(|(i, n)| (n.name.clone(), i))
                .collect(),
            nodes: self.nodes,
            routes: self.routes,
            default_state,
            checkpointer,
            recursion_limit: self.recursion_limit,
            compact_after: self.compact_after,
        }))
    }
}

/// The successors of `node` (END excluded) and the pairs of them that can
/// fire together.
fn successors<S>(
    routes: &HashMap<String, Routes<S>>,
    node: &str,
) -> (Vec<String>, Vec<(String, String)>) {
    let Some(r) = routes.get(node) else {
        return (Vec::new(), Vec::new());
    };
    let mut all: Vec<(String, bool)> = r
        .statics
        .iter()
        .filter(|t| *t != END)
        .map(|t| (t.clone(), false))
        .collect();
    let fanout = r
        .router
        .as_ref()
        .is_some_and(|r| r.kind != RouterKind::Single);
    if let Some(router) = &r.router {
        all.extend(
            router
                .targets
                .iter()
                .filter(|t| *t != END)
                .map(|t| (t.clone(), true)),
        );
    }
    let mut pairs = Vec::new();
    for (i, (a, a_routed)) in all.iter().enumerate() {
        for (b, b_routed) in &all[i + 1..] {
            // Two targets of a single-choice router never fire together.
            if *a_routed && *b_routed && !fanout {
                continue;
            }
            pairs.push((a.clone(), b.clone()));
        }
    }
    (all.into_iter().map(|(t, _)| t).collect(), pairs)
}

fn ordered(a: String, b: String) -> (String, String) {
    if a <= b { (a, b) } else { (b, a) }
}

/// Refuses graphs where two nodes that may run in one superstep write the
/// same `Replace` key.
///
/// "May run together" is computed as a fixpoint over pairs `(x, y)` (with
/// `x == y` meaning "x may run"): from START's pair, the successors of a
/// co-scheduled pair are co-scheduled. The analysis is conservative (it
/// ignores what routers actually return) except that the targets of one
/// single-choice conditional edge are alternatives.
fn check_parallel_writes<S>(
    schema: &StateSchema,
    nodes: &[Node<S>],
    routes: &HashMap<String, Routes<S>>,
) -> Result<(), GraphError> {
    let mut seen: BTreeSet<(String, String)> = BTreeSet::new();
    let mut work = vec![(START.to_string(), START.to_string())];
    while let Some((x, y)) = work.pop() {
        let mut found: Vec<(String, String)> = Vec::new();
        if x == y {
            let (succ, pairs) = successors(routes, &x);
            found.extend(succ.into_iter().map(|u| (u.clone(), u)));
            found.extend(pairs);
        } else {
            let (sx, _) = successors(routes, &x);
            let (sy, _) = successors(routes, &y);
            for u in &sx {
                for v in &sy {
                    found.push((u.clone(), v.clone()));
                }
            }
        }
        for (u, v) in found {
            let pair = ordered(u, v);
            if seen.insert(pair.clone()) {
                work.push(pair);
            }
        }
    }
    let writes: HashMap<&str, &BTreeSet<String>> =
        nodes.iter().map(|n| (n.name.as_str(), &n.writes)).collect();
    // Targets of a send edge may run as several tasks at once: with themselves.
    let mut sources: Vec<&String> = routes.keys().collect();
    sources.sort();
    for from in sources {
        let Some(router) = routes[from].router.as_ref() else {
            continue;
        };
        if router.kind != RouterKind::Send {
            continue;
        }
        for target in &router.targets {
            if let Some(w) = writes.get(target.as_str())
                && let Some(key) = w.iter().find(|k| !schema.reducer_of(k).combines())
            {
                return Err(GraphError::ConflictingWrites {
                    key: key.clone(),
                    first: target.clone(),
                    second: target.clone(),
                });
            }
        }
    }
    for (u, v) in &seen {
        if u == v {
            continue;
        }
        let (Some(wu), Some(wv)) = (writes.get(u.as_str()), writes.get(v.as_str())) else {
            continue;
        };
        if let Some(key) = wu
            .intersection(wv)
            .find(|k| !schema.reducer_of(k).combines())
        {
            return Err(GraphError::ConflictingWrites {
                key: key.clone(),
                first: u.clone(),
                second: v.clone(),
            });
        }
    }
    Ok(())
}
