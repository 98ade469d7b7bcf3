//! The shipped task files and the holdout set parse, name known tools and
//! facts, and cover what the issue asks; bad files fail naming the file,
//! task and field.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use aima_evals::task::{self, Category};
use aima_evals::world::{World, WorldConfig};

pub fn shipped_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tasks")
}

/// The holdout set: tasks the planner is not tuned on (`evals/tasks-holdout/`).
pub fn holdout_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tasks-holdout")
}

pub fn known_tools() -> Vec<String> {
    aima_tools::catalog().into_iter().map(|t| t.name).collect()
}

/// The tools the task sets must expect between them: every tool of the
/// modules built so far (the data tools, M1 and M6), so a new tool there
/// needs a task.
fn covered_tools() -> Vec<String> {
    use aima_tools::Module;
    aima_tools::catalog()
        .into_iter()
        .filter(|t| matches!(t.module, Module::Data | Module::M1 | Module::M6))
        .map(|t| t.name)
        .collect()
}

/// Resolves every task against its world and checks coverage: at least
/// `per_category` tasks in each category, at least `families` paraphrase
/// families of exactly five, and a task expecting each of `tools`.
fn assert_resolves_and_covers(
    loaded: &[task::LoadedTask],
    per_category: usize,
    families: usize,
    tools: &[String],
) {
    let mut worlds: BTreeMap<u64, World> = BTreeMap::new();
    let mut counts: BTreeMap<Category, usize> = BTreeMap::new();
    let mut family_sizes: BTreeMap<String, usize> = BTreeMap::new();
    let mut expected = BTreeSet::new();
    for t in loaded {
        let w = worlds
            .entry(t.task.seed)
            .or_insert_with(|| World::generate(WorldConfig::new(t.task.seed)).expect("world"));
        let r = task::resolve(t, w).unwrap_or_else(|e| panic!("{e}"));
        *counts.entry(t.task.category).or_default() += 1;
        if let Some(f) = &t.task.family {
            *family_sizes.entry(f.clone()).or_default() += 1;
        }
        expected.extend(r.tools.iter().map(|x| x.name.clone()));
        if let Some(task::ResolvedAnswer::Approval { tool, .. }) = &r.answer {
            expected.insert(tool.clone());
        }
    }
    for c in [
        Category::SingleTool,
        Category::MultiTool,
        Category::FollowUp,
        Category::Paraphrase,
        Category::Unanswerable,
        Category::Approval,
        Category::AnalyticsTruth,
    ] {
        assert!(
            counts.get(&c).copied().unwrap_or(0) >= per_category,
            "{c:?} has too few tasks"
        );
    }
    assert!(
        family_sizes.len() >= families && family_sizes.values().all(|n| *n == 5),
        "{family_sizes:?}"
    );
    for t in tools {
        assert!(expected.contains(t), "no task expects {t}");
    }
}

#[test]
fn shipped_tasks_parse_resolve_and_cover_the_catalog() {
    let loaded = task::load_dir(&shipped_dir(), &known_tools()).expect("tasks load");
    assert!(loaded.len() >= 120, "{} tasks", loaded.len());
    assert_resolves_and_covers(&loaded, 5, 5, &covered_tools());
}

/// Lowercase, letters and digits only: near-copies differing in case or
/// punctuation compare equal.
fn normalized(text: &str) -> String {
    text.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

fn texts(t: &task::Task) -> Vec<String> {
    t.turns
        .iter()
        .filter_map(|turn| match turn {
            task::Turn::Say(s) => Some(normalized(s)),
            task::Turn::Decide(_) => None,
        })
        .collect()
}

#[test]
fn holdout_tasks_parse_resolve_cover_and_do_not_copy_the_shipped_ones() {
    let known = known_tools();
    let loaded = task::load_dir(&holdout_dir(), &known).expect("holdout tasks load");
    let shipped = task::load_dir(&shipped_dir(), &known).expect("tasks load");
    assert!(loaded.len() >= 40, "{} holdout tasks", loaded.len());
    let shipped_ids: BTreeSet<&str> = shipped.iter().map(|t| t.task.id.as_str()).collect();
    let shipped_texts: BTreeSet<String> = shipped.iter().flat_map(|t| texts(&t.task)).collect();
    for t in &loaded {
        assert!(
            t.task.id.starts_with("ho-"),
            "{}: ids start with ho-",
            t.task.id
        );
        assert!(!shipped_ids.contains(t.task.id.as_str()), "{}", t.task.id);
        for text in texts(&t.task) {
            assert!(
                !shipped_texts.contains(&text),
                "{} copies a shipped turn: {text}",
                t.task.id
            );
        }
    }
    // The smaller set needs no task that re-runs the segmentation.
    let tools: Vec<String> = covered_tools()
        .into_iter()
        .filter(|t| t != "run_segmentation")
        .collect();
    assert_resolves_and_covers(&loaded, 3, 3, &tools);
}

fn write(dir: &Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).unwrap();
}

#[test]
fn bad_task_files_name_the_file_task_and_field() {
    let known = known_tools();
    let cases = [
        (
            "[{\"id\": \"a\", \"category\": \"single_tool\", \"seed\": 1, \"turns\": [\"q\"], \"expect\": {\"tools\": [{\"name\": \"nope\"}]}}]",
            "expect.tools[0].name",
        ),
        (
            "[{\"id\": \"b\", \"category\": \"weird\", \"seed\": 1, \"turns\": [\"q\"]}]",
            "unknown variant `weird`",
        ),
        (
            "[{\"id\": \"c\", \"category\": \"single_tool\", \"seed\": 1, \"turns\": []}]",
            "`turns` is empty",
        ),
        (
            "[{\"id\": \"d\", \"category\": \"paraphrase\", \"seed\": 1, \"turns\": [\"q\"]}]",
            "family",
        ),
        (
            "[{\"id\": \"e\", \"category\": \"single_tool\", \"seed\": 1, \"turns\": [\"q\"], \"expct\": {}}]",
            "unknown field `expct`",
        ),
        ("{not json", "not valid JSON"),
        (
            "[{\"id\": \"f\", \"category\": \"single_tool\", \"seed\": 1, \"turns\": [\"q\"], \"expect\": {\"answer\": {\"number\": {\"value\": {\"fact\": \"revenue\", \"perod\": \"2026-05\"}}}}}]",
            "`expect.answer.number.value.perod`",
        ),
        (
            "[{\"id\": \"g\", \"category\": \"single_tool\", \"seed\": 1, \"turns\": [\"q\"], \"expect\": {\"answer\": {\"number\": {\"value\": {\"fact\": \"profit\"}}}}}]",
            "unknown fact 'profit'",
        ),
    ];
    for (text, needle) in cases {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "bad.json", text);
        let e = task::load_dir(dir.path(), &known)
            .expect_err(needle)
            .to_string();
        assert!(e.contains("bad.json"), "{e}");
        assert!(e.contains(needle), "{e} should mention {needle}");
    }
    let dir = tempfile::tempdir().unwrap();
    let one = "{\"id\": \"a\", \"category\": \"single_tool\", \"seed\": 1, \"turns\": [\"q\"]}";
    write(dir.path(), "a.json", one);
    write(dir.path(), "b.json", one);
    let e = task::load_dir(dir.path(), &known).unwrap_err().to_string();
    assert!(e.contains("duplicate") && e.contains("b.json"), "{e}");
    // A fact the world cannot answer fails at resolution, naming the task.
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "c.json",
        "{\"id\": \"z\", \"category\": \"single_tool\", \"seed\": 1, \"turns\": [\"hi {{C99999.name}}\"]}",
    );
    let loaded = task::load_dir(dir.path(), &known).unwrap();
    let w = World::generate(WorldConfig {
        seed: 1,
        customers: 20,
    })
    .unwrap();
    let e = task::resolve(&loaded[0], &w).unwrap_err().to_string();
    assert!(
        e.contains("task 'z'") && e.contains("turns") && e.contains("C99999"),
        "{e}"
    );
}
