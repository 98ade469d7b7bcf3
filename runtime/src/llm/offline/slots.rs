//! Slot extraction: entities found in a question (periods, counts, quoted
//! strings, e-mails, names, places, segment names, enum words) and the
//! filling of a tool's arguments from its input schema by each property's
//! type, format and name.

use std::sync::LazyLock;

use chrono::NaiveDate;
use regex::Regex;
use serde_json::{Map, Value, json};

use super::dates::{self, Period};
use super::text::{self, NUMBER_RE};

/// Everything found in one piece of text.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Entities {
    /// The first period mentioned.
    pub period: Option<Period>,
    /// Every period mentioned, left to right ("2025 versus the first half
    /// of 2026").
    pub periods: Vec<Period>,
    /// A forward horizon in days ("in the next 30 days", "60-day churn",
    /// "next quarter").
    pub days: Option<u64>,
    /// A count ("top 5", "ten customers").
    pub count: Option<u64>,
    /// Quoted strings, in order.
    pub quoted: Vec<String>,
    /// E-mail addresses, in order.
    pub emails: Vec<String>,
    /// Capitalized names (people, products) not at the start of a sentence.
    pub names: Vec<String>,
    /// Those of [`Entities::names`] right after a person cue ("named",
    /// "called", "surname", "customer", "Mrs"): never a place.
    pub people: Vec<String>,
    /// Places after "in"/"from"/"based in".
    pub places: Vec<String>,
    /// Segment names (Champions, At Risk, ...).
    pub segments: Vec<String>,
    /// A word after "about"/"regarding" (an aspect or topic).
    pub topic: Option<String>,
    /// A tag after "as"/"tag".
    pub tag: Option<String>,
    /// The customer the conversation is about (named earlier), for a tool
    /// that needs one when this text names none ("find similar customers"
    /// after a profile). Fills only a single-customer argument and counts
    /// for no [`Fit`].
    pub context_person: Option<String>,
    /// Byte ranges of e-mails, quoted strings and periods (never split).
    pub protected: Vec<(usize, usize)>,
    /// The text with entity spans blanked (for intent scoring).
    pub rest: String,
    /// The original text.
    pub original: String,
}

/// Standard RFM segment names (lower-case match forms, display forms).
const SEGMENTS: &[(&str, &str)] = &[
    ("champions", "Champions"),
    ("champion", "Champions"),
    ("loyal customers", "Loyal Customers"),
    ("loyal customer", "Loyal Customers"),
    ("potential loyalists", "Potential Loyalists"),
    ("recent customers", "Recent Customers"),
    ("promising", "Promising"),
    ("need attention", "Need Attention"),
    ("needs attention", "Need Attention"),
    ("about to sleep", "About To Sleep"),
    ("at risk", "At Risk"),
    ("can't lose them", "Can't Lose Them"),
    ("can’t lose them", "Can't Lose Them"),
    ("cant lose them", "Can't Lose Them"),
    ("cannot lose them", "Can't Lose Them"),
    ("hibernating", "Hibernating"),
    ("lost", "Lost"),
];

/// `text` without the display forms of segment names ("Can't Lose Them",
/// "At Risk"): a tool description that lists them as examples is not about
/// losing or risk.
pub(crate) fn without_segment_names(text: &str) -> String {
    SEGMENTS
        .iter()
        .fold(text.to_owned(), |t, (_, display)| t.replace(display, " "))
}

/// Segment names that are unambiguous in lower case.
const PLAIN_SEGMENTS: &[&str] = &[
    "champions",
    "champion",
    "hibernating",
    "potential loyalists",
    "loyal customers",
    "loyal customer",
    "about to sleep",
];

fn re(s: &str) -> Regex {
    Regex::new(s).unwrap_or_else(|e| panic!("slot regex {s}: {e}"))
}

static EMAIL: LazyLock<Regex> =
    LazyLock::new(|| re(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}"));
static QUOTED: LazyLock<Regex> =
    LazyLock::new(|| re(r#""([^"]+)"|“([^”]+)”|(?:^|[\s(:,])'([^']+)'"#));
static COUNT: LazyLock<Regex> = LazyLock::new(|| {
    re(&format!(
        r"(?i)\b(?:top|first|best|worst|bottom|last|biggest|largest|highest|leading|most|show(?:\s+me)?|list|give\s+me|just)\s+(?P<n>{NUMBER_RE})\b|\b(?P<m>{NUMBER_RE})\s+(?:most|top|best|biggest|largest|highest|latest|recent|last|customers?|clients?|buyers?|products?|items?|imports?|people|members|names|accounts|rows|results|entries)\b|\ba\s+dozen\b"
    ))
});
static CAPS: LazyLock<Regex> = LazyLock::new(|| {
    re(r"\b[A-Z][a-zA-Z'’-]+(?:\s+(?:van|de|von|der|da|di|le|la)?\s*[A-Z][a-zA-Z'’-]+)*")
});
static PLACE: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"\b(?:in|from|based in|living in|located in|near)\s+(?:the\s+)?(?P<p>[A-Z][a-zA-Z-]+(?:\s+[A-Z][a-zA-Z-]+)*)",
    )
});
static NAMED: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"\b(?i:named|called|name is|customer|client|for|about|of)\s+(?P<n>[A-Z][a-zA-Z'’-]+(?:\s+[A-Z][a-zA-Z'’-]+)*)",
    )
});
static TOPIC: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)\b(?:about|regarding|concerning|on|around|of)\s+(?:our\s+|the\s+|its\s+|their\s+|my\s+)?(?P<t>[a-z][a-z-]{2,}(?:\s+[a-z][a-z-]{2,}){0,2})\b",
    )
});
/// "the tag vip", "label: winback", "with the tag loyalty".
static TAG_NOUN: LazyLock<Regex> = LazyLock::new(|| {
    re(r#"(?i)\b(?:tag|label|flag)\s*:?\s+["']?(?P<t>[A-Za-z0-9][A-Za-z0-9_-]*)"#)
});
/// "tag X as vip", "mark X with vip", "label them a winback".
static TAG_AS: LazyLock<Regex> = LazyLock::new(|| {
    re(r#"(?i)\b(?:as|with|to)\s+(?:(?:a|an|the)\s+)?["']?(?P<t>[A-Za-z0-9][A-Za-z0-9_-]*)"#)
});
/// "Label a@x.com and b@y.com winback": the word right after the last
/// e-mail (masked to spaces).
static TAG_AFTER: LazyLock<Regex> =
    LazyLock::new(|| re(r"^\s+(?P<t>[A-Za-z0-9][A-Za-z0-9_-]*)\s*[.!?]?\s*$"));

/// The tag a tagging request names, if any. `masked` has e-mails, quoted
/// strings and periods blanked; `last_email_end` is where the last e-mail
/// ended.
fn tag_of(masked: &str, last_email_end: Option<usize>) -> Option<String> {
    let usable = |t: &str| {
        let l = t.to_lowercase();
        !text::is_stop(&l)
            && !matches!(
                l.as_str(),
                "tag" | "label" | "customer" | "customers" | "member" | "them" | "him" | "her"
            )
    };
    let pick = |r: &Regex, hay: &str| {
        r.captures_iter(hay)
            .filter_map(|c| c.name("t").map(|t| t.as_str().to_owned()))
            .find(|t| usable(t))
    };
    pick(&TAG_NOUN, masked)
        .or_else(|| pick(&TAG_AS, masked))
        .or_else(|| {
            last_email_end
                .and_then(|end| masked.get(end..))
                .and_then(|rest| pick(&TAG_AFTER, rest))
        })
}

/// A forward horizon in days: "next 30 days", "within 60 days", "a 90-day
/// horizon", "next month" (30), "next quarter" (90).
fn horizon_days(text_in: &str) -> Option<u64> {
    static DAYS: LazyLock<Regex> = LazyLock::new(|| {
        re(&format!(
            r"(?i)\b(?P<fwd>(?:next|coming|within|in|over|upcoming|following)\s+(?:the\s+)?(?:next\s+|coming\s+)?)?(?P<n>{NUMBER_RE})(?P<sep>[\s-]+)days?\b"
        ))
    });
    static UNIT: LazyLock<Regex> = LazyLock::new(|| {
        re(&format!(
            r"(?i)\b(?:next|coming|within|over\s+the\s+next|in\s+the\s+next|within\s+the\s+next)\s+(?:(?P<n>{NUMBER_RE})\s+)?(?P<u>months?|quarters?|weeks?)\b"
        ))
    });
    for c in DAYS.captures_iter(text_in) {
        // "in the next 30 days" or "a 60-day horizon"; not "the last 30 days".
        let forward = c.name("fwd").is_some() || c.name("sep").is_some_and(|s| s.as_str() == "-");
        if forward && let Some(n) = c.name("n").and_then(|n| text::number_value(n.as_str())) {
            return Some(n);
        }
    }
    let c = UNIT.captures(text_in)?;
    let n = c
        .name("n")
        .and_then(|n| text::number_value(n.as_str()))
        .unwrap_or(1);
    let unit = c.name("u")?.as_str().to_lowercase();
    let per = if unit.starts_with("month") {
        30
    } else if unit.starts_with("quarter") {
        90
    } else {
        7
    };
    n.checked_mul(per)
}

/// Words that make the next capitalized word a person ("customer Jordan").
static PERSON_CUE: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?i)\b(?:named|called|surname|customer|client|mr|mrs|ms|dr)\.?$"));

fn month_or_day(w: &str) -> bool {
    let l = w.to_lowercase();
    [
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
        "q1",
        "q2",
        "q3",
        "q4",
        "h1",
        "h2",
    ]
    .contains(&l.as_str())
}

/// Finds the entities in `text`.
pub(crate) fn extract(text_in: &str, reference: NaiveDate) -> Entities {
    let mut e = Entities {
        original: text_in.to_owned(),
        ..Default::default()
    };
    let mut spans: Vec<(usize, usize)> = Vec::new();
    for m in EMAIL.find_iter(text_in) {
        e.emails.push(m.as_str().to_owned());
        spans.push((m.start(), m.end()));
    }
    for c in QUOTED.captures_iter(text_in) {
        if let Some(m) = c.get(1).or(c.get(2)).or(c.get(3))
            && !spans.iter().any(|(a, b)| m.start() >= *a && m.start() < *b)
        {
            e.quoted.push(m.as_str().to_owned());
            spans.push((m.start(), m.end()));
        }
    }
    let masked = dates::mask(text_in, &spans);
    let periods = dates::find_periods(&masked, reference);
    e.period = periods.first().map(|f| f.period);
    e.periods = periods.iter().map(|f| f.period).collect();
    e.days = horizon_days(text_in);
    spans.extend(periods.iter().map(|f| f.span));
    e.protected = spans.clone();
    let masked = dates::mask(text_in, &spans);

    // ASCII lower-casing keeps byte offsets aligned with `masked`.
    let lower = masked.to_ascii_lowercase();
    for (form, display) in SEGMENTS {
        let mut from = 0;
        while let Some(pos) = lower[from..].find(form) {
            let start = from + pos;
            let end = start + form.len();
            from = end;
            let boundary = (start == 0 || !lower.as_bytes()[start - 1].is_ascii_alphanumeric())
                && (end == lower.len() || !lower.as_bytes()[end].is_ascii_alphanumeric());
            if !boundary {
                continue;
            }
            let orig = &masked[start..end];
            let title = orig
                .split_whitespace()
                .all(|w| w.chars().next().is_some_and(char::is_uppercase));
            let followed_by_segment = lower[end..].trim_start().starts_with("segment");
            if title || PLAIN_SEGMENTS.contains(form) || followed_by_segment {
                if !e.segments.iter().any(|s| s == display) {
                    e.segments.push((*display).to_owned());
                }
                spans.push((start, end));
            }
        }
    }
    let masked = dates::mask(text_in, &spans);

    static TAG_VERB: LazyLock<Regex> = LazyLock::new(|| {
        re(r"(?i)\b(?:tag|tagged|label|labelled|labeled|mark|marked|flag|flagged)\b")
    });
    if TAG_VERB.is_match(&masked) {
        let last_email_end = EMAIL.find_iter(text_in).last().map(|m| m.end());
        e.tag = e
            .quoted
            .first()
            .cloned()
            .or_else(|| tag_of(&masked, last_email_end));
    }

    for c in COUNT.captures_iter(&masked) {
        let n = c
            .name("n")
            .or(c.name("m"))
            .and_then(|m| text::number_value(m.as_str()))
            .or_else(|| {
                c.get(0)
                    .filter(|m| m.as_str().contains("dozen"))
                    .map(|_| 12)
            });
        if let (Some(n), None) = (n, e.count) {
            e.count = Some(n);
            if let Some(m) = c.name("n").or(c.name("m")) {
                spans.push((m.start(), m.end()));
            }
        }
    }

    for c in PLACE.captures_iter(&masked) {
        if let Some(p) = c.name("p")
            && !month_or_day(p.as_str())
        {
            let place = strip_segment_words(p.as_str());
            if !place.is_empty() && !e.places.contains(&place) {
                e.places.push(place);
                spans.push((p.start(), p.end()));
            }
        }
    }
    let masked_now = dates::mask(text_in, &spans);
    let mut names: Vec<String> = Vec::new();
    for c in NAMED.captures_iter(&masked_now) {
        if let Some(n) = c.name("n")
            && !month_or_day(n.as_str())
        {
            names.push(n.as_str().to_owned());
            spans.push((n.start(), n.end()));
        }
    }
    let masked_now = dates::mask(text_in, &spans);
    for m in CAPS.find_iter(&masked_now) {
        let s = m.as_str();
        let words: Vec<&str> = s.split_whitespace().collect();
        // A lone capitalized word opening a sentence is just grammar.
        let sentence_start = masked_now[..m.start()]
            .trim_end()
            .chars()
            .last()
            .is_none_or(|ch| matches!(ch, '.' | '?' | '!' | ':' | ';'));
        // "Austin: how many customers ..." names its subject up front.
        let headline = masked_now[m.end()..].starts_with([':', ',']);
        let words: Vec<&str> = if sentence_start {
            if words.len() < 2 {
                if !headline || is_verb_like(words[0]) || text::is_stop(&words[0].to_lowercase()) {
                    continue;
                }
                words
            } else
            // "Jane Doe's profile": keep it; "Show Champions" was masked already.
            if text::is_stop(&words[0].to_lowercase()) || is_verb_like(words[0]) {
                words[1..].to_vec()
            } else {
                words
            }
        } else {
            words
        };
        let name = words
            .iter()
            .filter(|w| !month_or_day(w) && !is_common_word(w))
            .copied()
            .collect::<Vec<_>>()
            .join(" ");
        let name = name
            .trim_end_matches("'s")
            .trim_end_matches("’s")
            .to_owned();
        if !name.is_empty() && !names.contains(&name) {
            names.push(name);
            spans.push((m.start(), m.end()));
        }
    }
    // A bare country name ("How about Australia?") is a place, unless it
    // follows a person cue ("customer Jordan").
    let masked_people = dates::mask(text_in, &[]);
    names.retain(|n| {
        let is_country = crate::geo::country_code(n).is_some();
        let person_cue = masked_people
            .find(n.as_str())
            .is_some_and(|at| PERSON_CUE.is_match(masked_people[..at].trim_end()));
        if person_cue {
            e.people.push(n.clone());
        }
        if is_country && !person_cue {
            if !e.places.contains(n) {
                e.places.push(n.clone());
            }
            false
        } else {
            true
        }
    });
    e.names = names;

    if let Some(c) = TOPIC.captures(&dates::mask(text_in, &spans))
        && let Some(t) = c.name("t")
    {
        // The noun phrase: up to three words, until a stop word.
        let words: Vec<String> = t
            .as_str()
            .split_whitespace()
            .map(str::to_lowercase)
            .take_while(|w| {
                !text::is_stop(w)
                    && !matches!(
                        w.as_str(),
                        "negative"
                            | "positive"
                            | "neutral"
                            | "good"
                            | "bad"
                            | "great"
                            | "poor"
                            | "better"
                            | "worse"
                            | "lately"
                            | "overall"
                            | "mostly"
                    )
            })
            .take(3)
            .collect();
        if !words.is_empty() {
            e.topic = Some(words.join(" "));
        }
    }
    e.rest = dates::mask(text_in, &spans);
    e
}

fn strip_segment_words(p: &str) -> String {
    // An acronym is kept even when it spells a common word ("US", "IT").
    let acronym = |w: &str| w.len() >= 2 && w.chars().all(|c| c.is_ascii_uppercase());
    p.split_whitespace()
        .filter(|w| acronym(w) || !is_common_word(w))
        .collect::<Vec<_>>()
        .join(" ")
}

fn is_verb_like(w: &str) -> bool {
    matches!(
        w.to_lowercase().as_str(),
        "find"
            | "search"
            | "show"
            | "tell"
            | "give"
            | "list"
            | "look"
            | "get"
            | "pull"
            | "fetch"
            | "display"
            | "open"
            | "tag"
            | "draft"
            | "write"
            | "predict"
            | "count"
            | "who"
            | "what"
            | "which"
            | "how"
            | "where"
            | "when"
            | "is"
            | "are"
            | "did"
            | "does"
            | "do"
            | "any"
            | "and"
            | "also"
            | "then"
            | "compare"
            | "customer"
            | "customers"
            | "profile"
            | "lookup"
    )
}

fn is_common_word(w: &str) -> bool {
    let l = w.to_lowercase();
    text::is_stop(&l)
        || matches!(
            l.as_str(),
            "customer"
                | "customers"
                | "client"
                | "clients"
                | "revenue"
                | "sales"
                | "product"
                | "products"
                | "order"
                | "orders"
                | "email"
                | "sms"
                | "segment"
                | "segments"
                | "profile"
                | "aima"
                // Marketing acronyms, written in capitals but never people.
                | "clv"
                | "ltv"
                | "roi"
                | "roas"
                | "rfm"
                | "mmm"
                | "aov"
                | "cac"
                | "kpi"
                | "kpis"
                | "ctr"
                | "cpa"
                | "cpc"
                | "cpm"
                | "nps"
                | "sku"
                | "skus"
                | "i"
                | "i'm"
                | "ok"
                | "thanks"
                | "hi"
                | "hello"
        )
}

/// How a schema property is filled.
#[derive(Debug, Clone, PartialEq)]
enum SlotKind {
    DateStart,
    DateEnd,
    Enum(Vec<String>),
    Count,
    Days,
    Segment,
    Country,
    City,
    Place,
    CustomerRef,
    Query,
    Tag,
    Topic,
    Free,
    StringList { people: bool },
    Unknown,
}

fn types_of(schema: &Value) -> Vec<String> {
    match schema.get("type") {
        Some(Value::String(t)) => vec![t.clone()],
        Some(Value::Array(ts)) => ts
            .iter()
            .filter_map(|t| t.as_str().map(str::to_owned))
            .collect(),
        _ => schema
            .get("anyOf")
            .or(schema.get("oneOf"))
            .and_then(Value::as_array)
            .map(|alts| alts.iter().flat_map(types_of).collect())
            .unwrap_or_default(),
    }
}

/// The schema a local `$ref` ("#/$defs/X") points to inside `root`.
fn lookup<'a>(root: &'a Value, reference: &str) -> Option<&'a Value> {
    root.pointer(reference.strip_prefix('#')?)
}

/// The string values a property allows when it is an enumeration, however
/// it is spelled: `enum`, `const` alternatives under `oneOf`/`anyOf`, or a
/// local `$ref` to either.
fn enum_values(root: &Value, schema: &Value, depth: usize) -> Vec<String> {
    let mut out = Vec::new();
    if depth > 8 {
        return out;
    }
    if let Some(Value::Array(values)) = schema.get("enum") {
        out.extend(values.iter().filter_map(|v| v.as_str().map(str::to_owned)));
    }
    if let Some(Value::String(c)) = schema.get("const") {
        out.push(c.clone());
    }
    if let Some(target) = schema
        .get("$ref")
        .and_then(Value::as_str)
        .and_then(|r| lookup(root, r))
    {
        out.extend(enum_values(root, target, depth + 1));
    }
    for key in ["anyOf", "oneOf", "allOf"] {
        if let Some(Value::Array(alts)) = schema.get(key) {
            for alt in alts {
                out.extend(enum_values(root, alt, depth + 1));
            }
        }
    }
    out.dedup();
    out
}

fn kind_of(root: &Value, name: &str, schema: &Value) -> SlotKind {
    let types = types_of(schema);
    let parts: Vec<&str> = name.split(['_', '-']).collect();
    let has = |w: &[&str]| parts.iter().any(|p| w.contains(p));
    let format = schema.get("format").and_then(Value::as_str).unwrap_or("");
    let values = enum_values(root, schema, 0);
    if !values.is_empty() {
        return SlotKind::Enum(values);
    }
    if types.iter().any(|t| t == "string") && (format == "date" || format == "date-time") {
        if has(&["end", "to", "until", "before", "max", "through"]) {
            return SlotKind::DateEnd;
        }
        return SlotKind::DateStart;
    }
    if types.iter().any(|t| t == "integer" || t == "number") {
        if has(&["horizon", "days", "window"]) {
            return SlotKind::Days;
        }
        return SlotKind::Count;
    }
    if types.iter().any(|t| t == "array") {
        return SlotKind::StringList {
            people: has(&[
                "customers",
                "customer",
                "emails",
                "email",
                "ids",
                "recipients",
                "contacts",
            ]),
        };
    }
    if types.iter().any(|t| t == "string") {
        if has(&["segment", "segments", "audience"]) {
            return SlotKind::Segment;
        }
        if has(&["country"]) {
            return SlotKind::Country;
        }
        if has(&["city", "town"]) {
            return SlotKind::City;
        }
        if has(&["region", "location", "place"]) {
            return SlotKind::Place;
        }
        if has(&["customer", "email", "person", "contact", "client", "who"]) {
            return SlotKind::CustomerRef;
        }
        if has(&["query", "q", "search", "term", "name", "keyword"]) {
            return SlotKind::Query;
        }
        if has(&["tag", "label"]) {
            return SlotKind::Tag;
        }
        if has(&["aspect", "topic", "theme", "subject"]) {
            return SlotKind::Topic;
        }
        if has(&[
            "brief",
            "prompt",
            "instructions",
            "instruction",
            "description",
            "text",
            "message",
            "goal",
        ]) {
            return SlotKind::Free;
        }
    }
    SlotKind::Unknown
}

fn enum_word_forms(value: &str) -> Vec<String> {
    let v = value.to_lowercase();
    let mut forms = vec![v.clone()];
    if v.contains(['_', '-']) {
        forms.push(v.replace(['_', '-'], " "));
    }
    match v.as_str() {
        "day" => forms.extend(["daily", "per day", "by day", "each day", "days"].map(String::from)),
        "week" => {
            forms.extend(["weekly", "per week", "by week", "each week", "weeks"].map(String::from))
        }
        "month" => forms
            .extend(["monthly", "per month", "by month", "each month", "months"].map(String::from)),
        "quarter" => forms.extend(["quarterly", "per quarter", "by quarter"].map(String::from)),
        "year" => {
            forms.extend(["yearly", "annual", "annually", "per year", "by year"].map(String::from))
        }
        "quantity" => forms.extend(
            [
                "units",
                "unit",
                "volume",
                "number sold",
                "how many sold",
                "most sold",
                "sold the most",
                "quantities",
            ]
            .map(String::from),
        ),
        "revenue" => forms
            .extend(["sales value", "turnover", "by sales", "money", "income"].map(String::from)),
        "email" => forms.extend(["e-mail", "mail", "newsletter"].map(String::from)),
        "sms" => forms.extend(["text message", "texts", "text"].map(String::from)),
        _ => {}
    }
    forms
}

fn word_in(hay: &str, needle: &str) -> bool {
    let mut from = 0;
    while let Some(pos) = hay[from..].find(needle) {
        let s = from + pos;
        let e = s + needle.len();
        let ok = (s == 0 || !hay.as_bytes()[s - 1].is_ascii_alphanumeric())
            // "high-value" is not the enum value "high".
            && (e == hay.len()
                || !(hay.as_bytes()[e].is_ascii_alphanumeric() || hay.as_bytes()[e] == b'-'));
        if ok {
            return true;
        }
        from = e;
    }
    false
}

/// The result of filling one tool's arguments.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Filled {
    /// The arguments object (absent optional fields left out).
    pub args: Map<String, Value>,
    /// Required properties that could not be filled.
    pub missing: Vec<String>,
}

fn bound(schema: &Value, n: u64) -> Value {
    let min = schema.get("minimum").and_then(Value::as_u64).unwrap_or(0);
    let max = schema
        .get("maximum")
        .and_then(Value::as_u64)
        .unwrap_or(u64::MAX);
    json!(n.clamp(min, max))
}

/// Whether a one-word reference reads as an identifier ("C00107", a UUID):
/// it has a digit.
fn is_id(reference: &str) -> bool {
    reference.chars().any(|c| c.is_ascii_digit())
}

/// Fills the arguments of a tool with input schema `schema` from the
/// entities of `e`.
pub(crate) fn fill(schema: &Value, e: &Entities) -> Filled {
    let mut args = Map::new();
    let props = schema.get("properties").and_then(Value::as_object);
    let required: Vec<&str> = schema
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let Some(props) = props else {
        return Filled {
            args,
            missing: required.iter().map(|s| (*s).to_owned()).collect(),
        };
    };
    let kinds: Vec<(&String, &Value, SlotKind)> = props
        .iter()
        .map(|(n, s)| (n, s, kind_of(schema, n, s)))
        .collect();
    let has_country = kinds.iter().any(|(_, _, k)| *k == SlotKind::Country);
    let takes_person = kinds.iter().any(|(_, _, k)| {
        matches!(
            k,
            SlotKind::CustomerRef | SlotKind::Query | SlotKind::StringList { people: true }
        )
    });
    let rest_lower = e.rest.to_lowercase();
    let person = || {
        e.emails
            .first()
            .or(e.quoted.first())
            .or(e.names.first())
            .cloned()
    };
    for (name, prop, kind) in &kinds {
        let v: Option<Value> = match kind {
            SlotKind::DateStart => e.period.and_then(|p| p.start).map(|d| json!(d.to_string())),
            SlotKind::DateEnd => e.period.and_then(|p| p.end).map(|d| json!(d.to_string())),
            // Only outside periods: "last month" is not "by month". The
            // longest form mentioned wins: "very high" over "high".
            SlotKind::Enum(values) => values
                .iter()
                .filter_map(|v| {
                    enum_word_forms(v)
                        .into_iter()
                        .filter(|f| word_in(&rest_lower, f))
                        .map(|f| f.len())
                        .max()
                        .map(|len| (len, v))
                })
                .max_by_key(|(len, _)| *len)
                .map(|(_, v)| json!(v)),
            SlotKind::Count => e.count.map(|n| bound(prop, n)),
            SlotKind::Days => e.days.map(|n| bound(prop, n)),
            SlotKind::Segment => e.segments.first().map(|s| json!(s)),
            SlotKind::Country => e
                .places
                .iter()
                .find(|p| crate::geo::country_code(p).is_some())
                .map(|p| json!(p)),
            // A capitalized word no person slot can take is a city
            // ("customer count for Austin, Texas").
            SlotKind::City => e
                .places
                .iter()
                .find(|p| !has_country || crate::geo::country_code(p).is_none())
                .or_else(|| {
                    e.names
                        .iter()
                        .find(|n| !e.people.contains(n))
                        .filter(|_| !takes_person)
                })
                .map(|p| json!(p)),
            SlotKind::Place => e.places.first().map(|p| json!(p)),
            // One customer is named by id, e-mail or full name: a lone word
            // ("the surname Kim") is a search, not a person.
            SlotKind::CustomerRef => person()
                .filter(|p| p.contains('@') || p.split_whitespace().count() > 1 || is_id(p))
                .or_else(|| e.context_person.clone())
                .map(|p| json!(p)),
            SlotKind::Query => e
                .emails
                .first()
                .or(e.quoted.first())
                .or(e.names.first())
                .or(e.places.first())
                .map(|p| json!(p)),
            SlotKind::Tag => e.tag.clone().map(|t| json!(t)),
            SlotKind::Topic => e.topic.clone().map(|t| json!(t)),
            SlotKind::Free => Some(json!(e.original.trim())),
            SlotKind::StringList { people } => {
                let items: Vec<String> = if *people {
                    if e.emails.is_empty() {
                        e.names.clone()
                    } else {
                        e.emails.clone()
                    }
                } else {
                    e.quoted.clone()
                };
                (!items.is_empty()).then(|| json!(items))
            }
            SlotKind::Unknown => None,
        };
        if let Some(v) = v {
            args.insert((*name).clone(), v);
        }
    }
    let missing = required
        .iter()
        .filter(|r| !args.contains_key(**r))
        .map(|s| (*s).to_owned())
        .collect();
    Filled { args, missing }
}

/// How many entity arguments of `schema` (people, places, segments, quoted
/// strings, tags) `e` fills.
pub(crate) fn entity_slots(schema: &Value, e: &Entities) -> usize {
    let Some(props) = schema.get("properties").and_then(Value::as_object) else {
        return 0;
    };
    let filled = fill(schema, e);
    props
        .iter()
        .filter(|(name, prop)| {
            filled.args.contains_key(*name)
                && matches!(
                    kind_of(schema, name, prop),
                    SlotKind::Segment
                        | SlotKind::Country
                        | SlotKind::City
                        | SlotKind::Place
                        | SlotKind::CustomerRef
                        | SlotKind::Query
                        | SlotKind::Tag
                        | SlotKind::StringList { .. }
                )
        })
        .count()
}

/// The questions `e` compares, one per period or place, when it names
/// several and `schema` takes one: "revenue in 2025 versus the first half of
/// 2026" is two calls. Otherwise `e` alone.
pub(crate) fn compared(schema: &Value, e: &Entities) -> Vec<Entities> {
    let Some(props) = schema.get("properties").and_then(Value::as_object) else {
        return vec![e.clone()];
    };
    let kinds: Vec<SlotKind> = props.iter().map(|(n, p)| kind_of(schema, n, p)).collect();
    let dated = kinds
        .iter()
        .any(|k| matches!(k, SlotKind::DateStart | SlotKind::DateEnd));
    if dated && e.periods.len() > 1 {
        return e
            .periods
            .iter()
            .map(|p| Entities {
                period: Some(*p),
                periods: vec![*p],
                ..e.clone()
            })
            .collect();
    }
    let placed = kinds
        .iter()
        .any(|k| matches!(k, SlotKind::City | SlotKind::Country | SlotKind::Place));
    let takes_person = kinds.iter().any(|k| {
        matches!(
            k,
            SlotKind::CustomerRef | SlotKind::Query | SlotKind::StringList { people: true }
        )
    });
    if placed && !takes_person {
        let mut places = e.places.clone();
        for n in &e.names {
            if !places.contains(n) {
                places.push(n.clone());
            }
        }
        if places.len() > 1 {
            return places
                .into_iter()
                .map(|p| Entities {
                    places: vec![p],
                    names: Vec::new(),
                    ..e.clone()
                })
                .collect();
        }
    }
    vec![e.clone()]
}

/// How well a tool's arguments fit the entities of a question.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Fit {
    /// Kinds of entity (person, place, segment, tag, horizon, count of
    /// items, and each enumerated argument set to other than its default)
    /// the tool takes.
    pub used: usize,
    /// Kinds of entity the question names (person, place, segment, tag,
    /// count of items) that the tool has no argument for; a person or a
    /// segment counts twice, since an answer about every customer is no
    /// answer about the one or the group named ("the churn risk of
    /// jane@example.com", "how many customers are hibernating?").
    pub dropped: usize,
}

/// The [`Fit`] of the tool with input schema `schema` to `e`.
pub(crate) fn entity_fit(schema: &Value, e: &Entities) -> Fit {
    let Some(props) = schema.get("properties").and_then(Value::as_object) else {
        return Fit::default();
    };
    let filled = fill(schema, e);
    let (mut person, mut place, mut segment, mut tag, mut days, mut count) =
        (false, false, false, false, false, false);
    let mut enums = 0;
    // A customer from the conversation, not this text, is no fit.
    let named = !e.emails.is_empty() || !e.names.is_empty() || !e.quoted.is_empty();
    for (name, prop) in props {
        let Some(v) = filled.args.get(name) else {
            continue;
        };
        match kind_of(schema, name, prop) {
            SlotKind::CustomerRef | SlotKind::StringList { people: true } => person |= named,
            SlotKind::Query => {
                if e.emails.is_empty() && e.names.is_empty() {
                    place = true;
                } else {
                    person = true;
                }
            }
            SlotKind::Country | SlotKind::City | SlotKind::Place => place = true,
            SlotKind::Segment => segment = true,
            SlotKind::Tag => tag = true,
            SlotKind::Days => days = true,
            SlotKind::Count => count = true,
            SlotKind::Enum(_) if prop.get("default") != Some(v) => enums += 1,
            _ => {}
        }
    }
    // (named, taken, weight): a person or segment dropped weighs double.
    let asked = [
        (!e.emails.is_empty() || !e.names.is_empty(), person, 2),
        (!e.places.is_empty(), place, 1),
        (!e.segments.is_empty(), segment, 2),
        (e.tag.is_some(), tag, 1),
        // "the first 5 customers": a list of five, not a number.
        (e.count.is_some(), count, 1),
    ];
    Fit {
        used: [person, place, segment, tag, days, count]
            .iter()
            .filter(|b| **b)
            .count()
            + enums,
        dropped: asked
            .iter()
            .filter(|(named, taken, _)| *named && !*taken)
            .map(|(_, _, weight)| weight)
            .sum(),
    }
}

/// Whether `e` fills every required argument of `schema` and at least one
/// of them is an entity: a segment, a place, or a person given by e-mail.
/// "Who are our Champions?" asks for `segment_members` by naming the
/// segment alone.
pub(crate) fn fills_required_entity(schema: &Value, e: &Entities) -> bool {
    let Some(props) = schema.get("properties").and_then(Value::as_object) else {
        return false;
    };
    let required: Vec<&str> = schema
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let filled = fill(schema, e);
    !required.is_empty()
        && filled.missing.is_empty()
        && required.iter().any(|r| {
            props.get(*r).is_some_and(|prop| {
                match kind_of(schema, r, prop) {
                    SlotKind::Segment | SlotKind::Country | SlotKind::City | SlotKind::Place => {
                        true
                    }
                    // A capitalized phrase alone ("the World Cup", "Wireless
                    // Earbuds") is too weak a sign of a person; an e-mail is not.
                    SlotKind::CustomerRef
                    | SlotKind::Query
                    | SlotKind::StringList { people: true } => !e.emails.is_empty(),
                    _ => false,
                }
            })
        })
}

/// Whether `e` carries a value for some property of `schema` (used for
/// follow-ups: "and last month?" carries a period).
pub(crate) fn overrides(schema: &Value, e: &Entities) -> Map<String, Value> {
    let mut out = Map::new();
    let Some(props) = schema.get("properties").and_then(Value::as_object) else {
        return out;
    };
    let filled = fill(schema, e);
    for (name, prop) in props {
        match kind_of(schema, name, prop) {
            SlotKind::DateStart | SlotKind::DateEnd if e.period.is_some() => {
                // A new period replaces both bounds (an open bound clears).
                out.insert(
                    name.clone(),
                    filled.args.get(name).cloned().unwrap_or(Value::Null),
                );
            }
            SlotKind::Free => {}
            _ => {
                if let Some(v) = filled.args.get(name) {
                    out.insert(name.clone(), v.clone());
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r() -> NaiveDate {
        NaiveDate::from_ymd_opt(2024, 6, 15).expect("date")
    }

    #[test]
    fn enums_behind_refs_and_const_alternatives_are_filled() {
        // The shape schemars gives an optional enum.
        let schema = json!({
            "$defs": {"Granularity": {"oneOf": [
                {"const": "day", "type": "string"},
                {"const": "week", "type": "string"},
                {"const": "month", "type": "string"}
            ]}},
            "type": "object",
            "properties": {
                "granularity": {"anyOf": [{"$ref": "#/$defs/Granularity"}, {"type": "null"}]},
                "start": {"type": ["string", "null"], "format": "date"},
                "end": {"type": ["string", "null"], "format": "date"}
            }
        });
        let f = fill(&schema, &extract("weekly sales last month", r()));
        assert_eq!(
            Value::Object(f.args),
            json!({"granularity": "week", "start": "2024-05-01", "end": "2024-05-31"})
        );
        // "last month" is a period, not a granularity.
        let f = fill(&schema, &extract("sales last month", r()));
        assert_eq!(f.args.get("granularity"), None);
    }

    #[test]
    fn entities_are_found() {
        let e = extract("Show the profile of jane@example.com", r());
        assert_eq!(e.emails, vec!["jane@example.com"]);
        let e = extract("Tell me about customer Maria Anders", r());
        assert_eq!(e.names, vec!["Maria Anders"]);
        let e = extract("How many customers in Germany signed up last month?", r());
        assert_eq!(e.places, vec!["Germany"]);
        assert!(e.period.is_some());
        let e = extract("top ten products", r());
        assert_eq!(e.count, Some(10));
        let e = extract("churn risk among the Champions", r());
        assert_eq!(e.segments, vec!["Champions"]);
        // Singular and lower-case forms that can only mean the segment.
        let e = extract("show me one champion", r());
        assert_eq!(e.segments, vec!["Champions"]);
        let e = extract("list 3 loyal customers", r());
        assert_eq!(e.segments, vec!["Loyal Customers"]);
        assert_eq!(e.count, Some(3));
        let e = extract("Which customers are at risk of leaving?", r());
        assert!(
            e.segments.is_empty(),
            "lower-case 'at risk' is not the segment"
        );
        let e = extract("Tag bob@example.com as vip", r());
        assert_eq!(e.tag.as_deref(), Some("vip"));
        let e = extract("What do people say about our delivery?", r());
        assert_eq!(e.topic.as_deref(), Some("delivery"));
    }

    #[test]
    fn tags_are_read_from_nouns_prepositions_and_position() {
        let tag = |q: &str| extract(q, r()).tag;
        assert_eq!(
            tag("Add the tag newsletter to a@x.com").as_deref(),
            Some("newsletter")
        );
        assert_eq!(
            tag("tag b@x.com with the label: winback").as_deref(),
            Some("winback")
        );
        assert_eq!(tag("mark a@x.com as a vip").as_deref(), Some("vip"));
        assert_eq!(
            tag("Label a@x.com and b@y.com winback").as_deref(),
            Some("winback")
        );
        // No tagging verb, no tag.
        assert_eq!(tag("who is a@x.com?"), None);
    }

    #[test]
    fn countries_acronyms_counts_and_horizons() {
        // A bare country is a place; after a person cue it is a name.
        let e = extract("How about Australia?", r());
        assert_eq!(
            (e.places.clone(), e.names.clone()),
            (vec!["Australia".to_owned()], vec![])
        );
        let e = extract("Show the customer Jordan", r());
        assert_eq!(e.names, vec!["Jordan"]);
        // Marketing acronyms are not people.
        assert!(
            extract("what is the CLV and ROI by segment", r())
                .names
                .is_empty()
        );
        assert_eq!(
            extract("Hibernating segment. Show 50.", r()).count,
            Some(50)
        );
        assert_eq!(
            extract("show me 25 members of the Champions", r()).count,
            Some(25)
        );
        assert_eq!(
            extract("who will churn in the next 60 days", r()).days,
            Some(60)
        );
        assert_eq!(extract("90-day churn outlook", r()).days, Some(90));
    }

    fn schema(props: Value, required: &[&str]) -> Value {
        json!({"type": "object", "properties": props, "required": required})
    }

    #[test]
    fn enums_match_spaced_forms_and_not_hyphenated_prefixes() {
        let s = schema(
            json!({"tier": {"type": "string", "enum": ["very_high", "high", "medium", "low"]}}),
            &[],
        );
        let tier = |q: &str| fill(&s, &extract(q, r())).args.get("tier").cloned();
        assert_eq!(
            tier("customers at very high risk"),
            Some(json!("very_high"))
        );
        assert_eq!(tier("high risk customers"), Some(json!("high")));
        assert_eq!(tier("our high-value customers"), None);
    }

    #[test]
    fn comparisons_fan_out_per_period_and_place() {
        let dated = schema(
            json!({"start": {"type": "string", "format": "date"},
                   "end": {"type": "string", "format": "date"}}),
            &[],
        );
        let e = extract("revenue in 2023 versus the first half of 2024", r());
        let each: Vec<_> = compared(&dated, &e)
            .iter()
            .map(|x| Value::Object(fill(&dated, x).args))
            .collect();
        assert_eq!(
            each,
            vec![
                json!({"start": "2023-01-01", "end": "2023-12-31"}),
                json!({"start": "2024-01-01", "end": "2024-06-30"}),
            ]
        );
        let placed = schema(json!({"city": {"type": "string"}}), &[]);
        let e = extract("customers in Sydney versus Melbourne", r());
        let cities: Vec<_> = compared(&placed, &e)
            .iter()
            .filter_map(|x| fill(&placed, x).args.get("city").cloned())
            .collect();
        assert_eq!(cities, vec![json!("Sydney"), json!("Melbourne")]);
        // One period, one call.
        assert_eq!(compared(&dated, &extract("revenue in 2023", r())).len(), 1);
    }

    #[test]
    fn entity_fit_counts_what_a_tool_takes_and_drops() {
        let members = schema(json!({"segment": {"type": "string"}}), &["segment"]);
        let overview = schema(json!({}), &[]);
        let person = schema(json!({"customer": {"type": "string"}}), &["customer"]);
        let e = extract("who is in the Hibernating segment?", r());
        assert_eq!(
            entity_fit(&members, &e),
            Fit {
                used: 1,
                dropped: 0
            }
        );
        // A segment or a person dropped weighs double, a place single.
        assert_eq!(
            entity_fit(&overview, &e),
            Fit {
                used: 0,
                dropped: 2
            }
        );
        let jane = extract("what is the churn risk of jane@example.com?", r());
        assert_eq!(entity_fit(&overview, &jane).dropped, 2);
        assert_eq!(entity_fit(&person, &jane).dropped, 0);
        let berlin = extract("how many customers live in Berlin?", r());
        assert_eq!(entity_fit(&overview, &berlin).dropped, 1);
        assert!(fills_required_entity(&members, &e));
        assert!(!fills_required_entity(&person, &e));
        // An e-mail fills a person; a capitalized phrase alone does not.
        assert!(fills_required_entity(
            &person,
            &extract("and jane@example.com?", r())
        ));
        assert!(!fills_required_entity(
            &person,
            &extract("who won the World Cup?", r())
        ));
    }
}
