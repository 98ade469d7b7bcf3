//! Intent routing over a tool catalog: keyword evidence (IDF-weighted words
//! shared with a tool's name, description and examples) plus similarity of
//! hashed embeddings against the description and each example.

use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;

use aima_tools::{Effect, ToolSpec};
use regex::Regex;

use super::embed::{Embedding, embed};
use super::{slots, text};

/// Any date works for masking periods in examples.
const EXAMPLE_REFERENCE: chrono::NaiveDate = match chrono::NaiveDate::from_ymd_opt(2024, 1, 1) {
    Some(d) => d,
    None => chrono::NaiveDate::MIN,
};

/// Minimum score for a tool to be chosen.
pub(crate) const THRESHOLD: f32 = 1.6;

struct Indexed {
    /// The result has a top-level integer `count` (the tool answers "how
    /// many").
    counts: bool,
    /// The result has a top-level list (the tool answers "list / show /
    /// which").
    lists: bool,
    name_tokens: HashSet<String>,
    vocab: HashSet<String>,
    description: Embedding,
    examples: Vec<Embedding>,
}

/// A catalog prepared for routing.
pub(crate) struct ToolIndex {
    /// The catalog, in the order given.
    pub specs: Vec<ToolSpec>,
    tools: Vec<Indexed>,
    idf: HashMap<String, f32>,
}

/// One tool's score for a piece of text.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Scored {
    /// Index into [`ToolIndex::specs`].
    pub tool: usize,
    /// Combined score (keyword evidence + 4 x embedding similarity).
    pub score: f32,
    /// Whether a non-operator word of the text matched the tool.
    pub subject: bool,
}

impl ToolIndex {
    /// Indexes `specs`.
    pub(crate) fn new(specs: &[ToolSpec]) -> Self {
        let tools: Vec<Indexed> = specs
            .iter()
            .map(|s| {
                let name_tokens: HashSet<String> = text::content_tokens(&s.name.replace('_', " "))
                    .into_iter()
                    .collect();
                // Examples are read like questions: their names, e-mails,
                // quoted strings and periods are slot values, not intent.
                let examples: Vec<String> = s
                    .examples
                    .iter()
                    .map(|e| slots::extract(e, EXAMPLE_REFERENCE).rest)
                    .collect();
                let mut vocab = name_tokens.clone();
                vocab.extend(text::content_tokens(&without_module_label(
                    &slots::without_segment_names(&s.description),
                    s.module,
                )));
                for ex in &examples {
                    vocab.extend(text::content_tokens(ex));
                }
                let props = s
                    .output_schema
                    .get("properties")
                    .and_then(|p| p.as_object());
                let has = |want: &str, key: Option<&str>| {
                    props.is_some_and(|props| {
                        props.iter().any(|(k, v)| {
                            key.is_none_or(|key| k == key)
                                && v.get("type").and_then(|t| t.as_str()) == Some(want)
                        })
                    })
                };
                Indexed {
                    counts: has("integer", Some("count")),
                    lists: has("array", None),
                    name_tokens,
                    vocab,
                    description: embed(&s.description),
                    examples: examples.iter().map(|e| embed(e)).collect(),
                }
            })
            .collect();
        let n = tools.len() as f32;
        let mut df: HashMap<String, f32> = HashMap::new();
        for t in &tools {
            for w in &t.vocab {
                *df.entry(w.clone()).or_default() += 1.0;
            }
        }
        let idf = df
            .into_iter()
            .map(|(w, d)| (w, ((n + 1.0) / (d + 0.5)).ln().max(0.1)))
            .collect();
        Self {
            specs: specs.to_vec(),
            tools,
            idf,
        }
    }

    /// Every tool's score for `text`, best first.
    pub(crate) fn score(&self, text_in: &str) -> Vec<Scored> {
        let tokens: Vec<String> = {
            let mut seen = HashSet::new();
            text::content_tokens(text_in)
                .into_iter()
                .filter(|t| seen.insert(t.clone()))
                .collect()
        };
        let v = embed(text_in);
        // The shape of answer asked for: a number or a list. Only an
        // unambiguous question counts.
        let wants_count = COUNT_INTENT.is_match(text_in);
        let wants_list = LIST_INTENT.is_match(text_in);
        let mut out: Vec<Scored> = self
            .tools
            .iter()
            .enumerate()
            .map(|(i, t)| {
                let mut kw = 0.0;
                let mut subject = false;
                for tok in &tokens {
                    if t.vocab.contains(tok) {
                        let idf = self.idf.get(tok).copied().unwrap_or(0.1);
                        let boost = if t.name_tokens.contains(tok) {
                            1.5
                        } else {
                            1.0
                        };
                        kw += idf * boost;
                        if !text::is_operator(tok) {
                            subject = true;
                        }
                    }
                }
                let best_example = t
                    .examples
                    .iter()
                    .map(|e| v.cosine(e))
                    .fold(0.0f32, f32::max);
                let sim = 0.6 * best_example + 0.4 * v.cosine(&t.description).max(0.0);
                let shape = match (wants_count, wants_list) {
                    (true, false) if t.counts => SHAPE_BOOST,
                    (false, true) if t.lists && !t.counts => SHAPE_BOOST,
                    _ => 0.0,
                };
                Scored {
                    tool: i,
                    score: kw + 4.0 * sim + shape,
                    subject,
                }
            })
            .collect();
        out.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.tool.cmp(&b.tool)));
        out
    }

    /// The chosen tool for the question `e`, if any is confident enough.
    /// A tool qualifies when a non-operator word matched it, or when an
    /// operator word matched and the question carries a value for one of
    /// its entity arguments ("look up jane@example.com"). A side-effecting
    /// tool also needs an action verb ("tag", "add", "run", ...): a question
    /// never changes data. Among qualifying tools:
    /// - one whose required arguments the question cannot fill counts for
    ///   less (x0.6): "list customers who live in Madrid" is a search, not a
    ///   profile of nobody;
    /// - each entity of the question the tool takes (a person, place,
    ///   segment, tag, enumerated value, horizon) adds [`ENTITY_BONUS`], and
    ///   each kind of entity it would drop subtracts [`ENTITY_MISS`]: "who
    ///   is in the Hibernating segment?" lists that segment rather than
    ///   describing all segments.
    ///
    /// When nothing qualifies, a question that fills every required argument
    /// of some tool with an entity ("Who are our Champions?", "what's the
    /// story with jane@example.com?") goes to the such tool it leaves the
    /// fewest arguments unset, the best-scoring among equals.
    pub(crate) fn best(&self, e: &slots::Entities) -> Option<Scored> {
        let action = ACTION.is_match(&e.rest);
        let scored: Vec<Scored> = self
            .score(&e.rest)
            .into_iter()
            .filter(|s| action || self.specs[s.tool].effect != Effect::SideEffecting)
            .collect();
        let adjust = |mut s: Scored| {
            let schema = &self.specs[s.tool].input_schema;
            let filled = slots::fill(schema, e);
            if !filled.missing.is_empty() {
                s.score *= 0.6;
            }
            let fit = slots::entity_fit(schema, e);
            s.score += ENTITY_BONUS * fit.used as f32 - ENTITY_MISS * fit.dropped as f32;
            s
        };
        let mut qualifying: Vec<Scored> = scored
            .iter()
            .filter(|s| {
                s.score >= THRESHOLD
                    && (s.subject
                        || (s.score > 1.2
                            && slots::entity_slots(&self.specs[s.tool].input_schema, e) > 0))
            })
            .cloned()
            .map(adjust)
            .collect();
        if !qualifying.is_empty() {
            qualifying.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.tool.cmp(&b.tool)));
            return qualifying.into_iter().next();
        }
        // No intent words, only an entity: the call the question describes
        // completely (fewest arguments left unset) is its plain reading;
        // "what's the story with jane@example.com?" is her profile, not her
        // lookalikes.
        let unset = |s: &Scored| {
            let schema = &self.specs[s.tool].input_schema;
            let props = schema
                .get("properties")
                .and_then(|p| p.as_object())
                .map_or(0, |p| p.len());
            props.saturating_sub(slots::fill(schema, e).args.len())
        };
        scored
            .into_iter()
            .filter(|s| slots::fills_required_entity(&self.specs[s.tool].input_schema, e))
            .map(adjust)
            .min_by(|a, b| {
                unset(a)
                    .cmp(&unset(b))
                    .then(b.score.total_cmp(&a.score))
                    .then(a.tool.cmp(&b.tool))
            })
    }
}

/// `description` without its module label ("(M6 CLV and churn)"): every
/// tool of a module carries it, so its words say which module answers, not
/// what the question asks ("the CLV of our best customers" is no churn
/// question).
fn without_module_label(description: &str, module: aima_tools::Module) -> String {
    description.replace(&format!("({})", module.title()), " ")
}

/// Added per entity of the question a tool's arguments take.
const ENTITY_BONUS: f32 = 1.0;

/// Subtracted per kind of entity of the question a tool has no argument for.
const ENTITY_MISS: f32 = 1.0;

/// Verbs that ask for a change (a side-effecting tool needs one).
static ACTION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)\b(?:tag|tags|tagged|label|labels|labelled|labeled|mark|marked|flag|flagged|add|apply|assign|put|attach|give|set|run|rerun|re-run|recompute|recalculate|refresh|update|trigger|redo|rebuild|send|create|remove|delete)\b",
    )
    .unwrap_or_else(|e| panic!("action regex: {e}"))
});

/// Added to the score of a tool whose result has the shape the question asks
/// for (a count, or a list).
const SHAPE_BOOST: f32 = 0.8;

static COUNT_INTENT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(how\s+many|number\s+of|count)\b")
        .unwrap_or_else(|e| panic!("count intent regex: {e}"))
});

static LIST_INTENT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^\s*(please\s+)?(list|show|find|search|look\s+up|which|who)\b")
        .unwrap_or_else(|e| panic!("list intent regex: {e}"))
});

static SPLIT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)\s*(?:;|\?\s+|\.\s+|,?\s+and\s+also\s+|,?\s+and\s+then\s+|,?\s+as\s+well\s+as\s+|,?\s+plus\s+|,?\s+along\s+with\s+|,?\s+together\s+with\s+|,?\s+and\s+|,\s+also\s+|,\s+then\s+)",
    )
    .unwrap_or_else(|e| panic!("split regex: {e}"))
});

static ENDS_EMAIL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+$").unwrap_or_else(|e| panic!("email end regex: {e}"))
});

static STARTS_EMAIL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
        .unwrap_or_else(|e| panic!("email start regex: {e}"))
});

/// Splits a question into clauses at conjunctions, never inside `protected`
/// byte ranges (periods such as "between X and Y", quoted strings).
pub(crate) fn clauses(text_in: &str, protected: &[(usize, usize)]) -> Vec<String> {
    let mut out = Vec::new();
    let mut last = 0;
    for m in SPLIT.find_iter(text_in) {
        if protected
            .iter()
            .any(|(a, b)| m.start() < *b && m.end() > *a)
        {
            continue;
        }
        // "tag a@x.com and b@y.com": a list of e-mails is one argument.
        if ENDS_EMAIL.is_match(&text_in[..m.start()]) && STARTS_EMAIL.is_match(&text_in[m.end()..])
        {
            continue;
        }
        let piece = text_in[last..m.start()].trim();
        if !piece.is_empty() {
            out.push(piece.to_owned());
        }
        last = m.end();
    }
    let piece = text_in[last..].trim();
    if !piece.is_empty() {
        out.push(piece.to_owned());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn best_for(index: &ToolIndex, q: &str) -> Option<String> {
        let e = slots::extract(q, EXAMPLE_REFERENCE);
        index.best(&e).map(|b| index.specs[b.tool].name.clone())
    }

    #[test]
    fn lists_of_emails_stay_in_one_clause() {
        assert_eq!(
            clauses("tag a@x.com and b@y.com as vip and show revenue", &[]),
            vec!["tag a@x.com and b@y.com as vip", "show revenue"]
        );
    }

    #[test]
    fn side_effects_need_an_action_verb_and_entities_steer_the_choice() {
        let index = ToolIndex::new(&aima_tools::catalog());
        assert_eq!(
            best_for(&index, "tag jane@example.com as vip").as_deref(),
            Some("tag_customers")
        );
        // A question about tags changes nothing.
        assert_ne!(
            best_for(&index, "which customers have the vip tag?").as_deref(),
            Some("tag_customers")
        );
        // Naming a segment asks for its members, not the overview.
        assert_eq!(
            best_for(&index, "who is in the Hibernating segment?").as_deref(),
            Some("segment_members")
        );
        // An e-mail alone is a person to look up; a capitalized phrase alone
        // is not.
        assert_eq!(
            best_for(&index, "what do we know about jane@example.com?").as_deref(),
            Some("customer_profile")
        );
        assert_eq!(best_for(&index, "Who won the World Cup?"), None);
    }
}
