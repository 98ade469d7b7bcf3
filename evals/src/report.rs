//! The benchmark's report: overall and per-category pass@1 and pass^k,
//! latency percentiles, tool calls, tokens and cost, and every failed run
//! with its transcript. JSON keys `overall.pass_at_1`,
//! `overall.pass_hat_k`, `categories.<name>.pass_at_1`, `tasks[].id` and
//! `tasks[].passed` are stable.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

use crate::runner::TaskRun;
use crate::task::Resolved;

/// Scores of a group of tasks.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Scores {
    /// Tasks.
    pub tasks: usize,
    /// Mean over tasks of passes / runs.
    pub pass_at_1: f64,
    /// Mean over tasks of C(c, k) / C(n, k) (tau-bench's pass^k).
    pub pass_hat_k: f64,
    /// Median task latency (ms).
    pub latency_p50_ms: f64,
    /// 95th percentile task latency (ms).
    pub latency_p95_ms: f64,
    /// Mean tool calls per task run.
    pub tool_calls_per_task: f64,
    /// Prompt tokens over all runs.
    pub prompt_tokens: u64,
    /// Completion tokens over all runs.
    pub completion_tokens: u64,
    /// Cost over all runs (US dollars), where the provider reports it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cost_usd: Option<f64>,
}

/// A failed run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Failure {
    /// Which run (0-based).
    pub run: usize,
    /// The run (checks and transcript).
    #[serde(flatten)]
    pub detail: TaskRun,
}

/// One task's result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TaskResult {
    /// Id.
    pub id: String,
    /// Category.
    pub category: String,
    /// Paraphrase family.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub family: Option<String>,
    /// Every run passed.
    pub passed: bool,
    /// Runs.
    pub runs: usize,
    /// Passing runs.
    pub passes: usize,
    /// Mean latency (ms).
    pub latency_ms: f64,
    /// Mean tool calls.
    pub tool_calls: f64,
    /// The last run's checks (with their measured values).
    pub checks: Vec<crate::score::Check>,
    /// Failed runs with their transcripts.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub failures: Vec<Failure>,
}

/// The whole report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// Provider/model from the usage reports.
    pub model: Option<String>,
    /// Runs per task.
    pub k: usize,
    /// World seeds.
    pub seeds: Vec<u64>,
    /// All tasks.
    pub overall: Scores,
    /// Per category.
    pub categories: BTreeMap<String, Scores>,
    /// Per task, in task order.
    pub tasks: Vec<TaskResult>,
}

/// `C(n, k)` as a float.
pub fn choose(n: usize, k: usize) -> f64 {
    if k > n {
        return 0.0;
    }
    let k = k.min(n - k);
    (0..k).fold(1.0, |acc, i| acc * (n - i) as f64 / (i + 1) as f64)
}

/// tau-bench's pass^k of one task: `C(c, k) / C(n, k)` with `n` runs and
/// `c` passes (1 when `k` is 0; 0 when `k > n`).
pub fn pass_hat_k(n: usize, c: usize, k: usize) -> f64 {
    if k == 0 {
        return 1.0;
    }
    let d = choose(n, k);
    if d == 0.0 { 0.0 } else { choose(c, k) / d }
}

/// The `q` quantile (nearest rank) of `v`.
pub fn quantile(v: &mut [f64], q: f64) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(f64::total_cmp);
    let i = ((v.len() as f64 - 1.0) * q).round() as usize;
    v[i.min(v.len() - 1)]
}

fn scores(group: &[(&Resolved, &Vec<TaskRun>)], k: usize) -> Scores {
    if group.is_empty() {
        return Scores::default();
    }
    let mut latencies = Vec::new();
    let (mut p1, mut pk, mut calls, mut runs) = (0.0, 0.0, 0.0, 0usize);
    let (mut prompt, mut completion, mut cost) = (0, 0, None::<f64>);
    for (_, rs) in group {
        let n = rs.len();
        let c = rs.iter().filter(|r| r.passed).count();
        p1 += if n == 0 { 0.0 } else { c as f64 / n as f64 };
        pk += pass_hat_k(n, c, k);
        for r in *rs {
            latencies.push(r.latency_ms);
            calls += r.tool_calls as f64;
            runs += 1;
            prompt += r.prompt_tokens;
            completion += r.completion_tokens;
            if let Some(x) = r.cost_usd {
                cost = Some(cost.unwrap_or(0.0) + x);
            }
        }
    }
    let t = group.len() as f64;
    Scores {
        tasks: group.len(),
        pass_at_1: p1 / t,
        pass_hat_k: pk / t,
        latency_p50_ms: quantile(&mut latencies, 0.5),
        latency_p95_ms: quantile(&mut latencies, 0.95),
        tool_calls_per_task: calls / runs.max(1) as f64,
        prompt_tokens: prompt,
        completion_tokens: completion,
        cost_usd: cost,
    }
}

impl Report {
    /// The report of `tasks` with their `runs` (same order), `k` runs each.
    pub fn build(tasks: &[Resolved], runs: &[Vec<TaskRun>], k: usize) -> Report {
        let pairs: Vec<(&Resolved, &Vec<TaskRun>)> = tasks.iter().zip(runs).collect();
        let mut by_cat: BTreeMap<String, Vec<(&Resolved, &Vec<TaskRun>)>> = BTreeMap::new();
        for p in &pairs {
            by_cat
                .entry(p.0.task.category.name().to_owned())
                .or_default()
                .push(*p);
        }
        let mut seeds: Vec<u64> = tasks.iter().map(|t| t.task.seed).collect();
        seeds.sort_unstable();
        seeds.dedup();
        Report {
            model: runs.iter().flatten().find_map(|r| r.model.clone()),
            k,
            seeds,
            overall: scores(&pairs, k),
            categories: by_cat
                .iter()
                .map(|(c, g)| (c.clone(), scores(g, k)))
                .collect(),
            tasks: pairs
                .iter()
                .map(|(t, rs)| {
                    let n = rs.len().max(1) as f64;
                    TaskResult {
                        id: t.task.id.clone(),
                        category: t.task.category.name().to_owned(),
                        family: t.task.family.clone(),
                        passed: !rs.is_empty() && rs.iter().all(|r| r.passed),
                        runs: rs.len(),
                        passes: rs.iter().filter(|r| r.passed).count(),
                        latency_ms: rs.iter().map(|r| r.latency_ms).sum::<f64>() / n,
                        tool_calls: rs.iter().map(|r| r.tool_calls as f64).sum::<f64>() / n,
                        checks: rs.last().map(|r| r.checks.clone()).unwrap_or_default(),
                        failures: rs
                            .iter()
                            .enumerate()
                            .filter(|(_, r)| !r.passed)
                            .map(|(i, r)| Failure {
                                run: i,
                                detail: r.clone(),
                            })
                            .collect(),
                    }
                })
                .collect(),
        }
    }

    /// The report as Markdown: the score tables, then every failure with
    /// its checks and transcript.
    pub fn markdown(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "# AIMA-Bench report\n\nmodel: {} · k = {} · seeds: {:?}\n",
            self.model.as_deref().unwrap_or("unknown"),
            self.k,
            self.seeds
        );
        let _ = writeln!(
            s,
            "| category | tasks | pass@1 | pass^{} | p50 ms | p95 ms | tool calls/task | tokens in/out | cost $ |",
            self.k
        );
        let _ = writeln!(s, "|---|---:|---:|---:|---:|---:|---:|---:|---:|");
        let row = |s: &mut String, name: &str, x: &Scores| {
            let _ = writeln!(
                s,
                "| {name} | {} | {:.3} | {:.3} | {:.1} | {:.1} | {:.2} | {}/{} | {} |",
                x.tasks,
                x.pass_at_1,
                x.pass_hat_k,
                x.latency_p50_ms,
                x.latency_p95_ms,
                x.tool_calls_per_task,
                x.prompt_tokens,
                x.completion_tokens,
                x.cost_usd.map_or("-".to_owned(), |c| format!("{c:.4}"))
            );
        };
        for (c, x) in &self.categories {
            row(&mut s, c, x);
        }
        row(&mut s, "**overall**", &self.overall);
        let failed: Vec<&TaskResult> = self
            .tasks
            .iter()
            .filter(|t| !t.failures.is_empty())
            .collect();
        let _ = writeln!(s, "\n## Failures ({})\n", failed.len());
        for t in failed {
            let mut shown: Option<&Vec<crate::score::Check>> = None;
            for f in &t.failures {
                // A run failing exactly as the one shown gets one line.
                let same = shown.is_some_and(|prev| {
                    prev.len() == f.detail.checks.len()
                        && prev
                            .iter()
                            .zip(&f.detail.checks)
                            .all(|(a, b)| a.passed == b.passed && a.detail == b.detail)
                });
                if same {
                    let _ = writeln!(s, "- run {} of {} failed the same way\n", f.run, t.id);
                    continue;
                }
                shown = Some(&f.detail.checks);
                let _ = writeln!(s, "### {} ({}, run {})\n", t.id, t.category, f.run);
                for c in f.detail.checks.iter().filter(|c| !c.passed) {
                    let _ = writeln!(s, "- **{}** failed: {}", c.name, c.detail);
                }
                let _ = writeln!(s, "\nTranscript:\n");
                for (i, turn) in f.detail.turns.iter().enumerate() {
                    let _ = writeln!(s, "- turn {i} user: {}", turn.input);
                    for e in &turn.events {
                        if let Some(line) = event_line(&e.body) {
                            let _ = writeln!(s, "  - {line}");
                        }
                    }
                    if let Some(err) = &turn.error {
                        let _ = writeln!(s, "  - error: {err}");
                    }
                }
                let _ = writeln!(s);
            }
        }
        s
    }
}

fn event_line(body: &aima_runtime::events::EventBody) -> Option<String> {
    use aima_runtime::events::EventBody as B;
    let one_line = |t: &str| t.replace('\n', " ⏎ ");
    Some(match body {
        B::ToolCall {
            tool, arguments, ..
        } => format!("tool_call {tool}({arguments})"),
        B::ToolResult {
            tool, ok, error, ..
        } => format!(
            "tool_result {tool}: {}",
            if *ok {
                "ok".to_owned()
            } else {
                format!("error {}", error.as_deref().unwrap_or(""))
            }
        ),
        B::Interrupt {
            tool, arguments, ..
        } => format!("interrupt (approval) {tool}({arguments})"),
        B::Final { answer, .. } => format!("final: {}", one_line(answer)),
        B::Error { code, message, .. } => format!("error {code}: {message}"),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pass_hat_k_follows_tau_bench() {
        assert_eq!(pass_hat_k(4, 4, 4), 1.0);
        assert_eq!(pass_hat_k(4, 3, 4), 0.0);
        assert!((pass_hat_k(4, 3, 2) - 0.5).abs() < 1e-12);
        assert!((pass_hat_k(5, 2, 1) - 0.4).abs() < 1e-12);
        assert_eq!(pass_hat_k(1, 1, 2), 0.0);
    }

    #[test]
    fn quantiles_use_nearest_rank() {
        let mut v = vec![5.0, 1.0, 3.0, 2.0, 4.0];
        assert_eq!(quantile(&mut v, 0.5), 3.0);
        assert_eq!(quantile(&mut v, 0.95), 5.0);
        assert_eq!(quantile(&mut [], 0.5), 0.0);
    }
}
