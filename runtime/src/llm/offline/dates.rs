//! Periods in questions ("last month", "in March 2024", "between 2024-01-01
//! and 2024-03-31", "Q3 1997", "this year", "last 30 days"), resolved
//! against a reference date — never the wall clock.

use std::sync::LazyLock;

use chrono::{Datelike, Days, Months, NaiveDate};
use regex::{Captures, Regex};

use super::text::{NUMBER_RE, number_value};

/// A resolved period: inclusive bounds, either may be open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Period {
    /// First day (None = from the beginning).
    pub start: Option<NaiveDate>,
    /// Last day (None = up to the latest data).
    pub end: Option<NaiveDate>,
}

/// A period found in a text, with the byte range it covered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Found {
    /// Byte range in the text.
    pub span: (usize, usize),
    /// The period.
    pub period: Period,
}

const MONTH: &str = r"january|february|march|april|may|june|july|august|september|october|november|december|jan|feb|mar|apr|jun|jul|aug|sept|sep|oct|nov|dec";

/// One date expression: a day, a month of a year, a quarter of a year, or a year.
fn point_re() -> String {
    format!(
        r"(?:\d{{4}}-\d{{1,2}}-\d{{1,2}}|\d{{1,2}}(?:st|nd|rd|th)?\s+(?:{MONTH})\.?,?\s+\d{{4}}|(?:{MONTH})\.?\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{4}}|(?:{MONTH})\.?,?\s+(?:of\s+)?\d{{4}}|q[1-4]\s*(?:of\s+)?\d{{4}}|(?:{MONTH})\.?\s+\d{{1,2}}(?:st|nd|rd|th)?\b|\d{{1,2}}(?:st|nd|rd|th)?\s+(?:{MONTH})\b|(?:{MONTH})|(?:19|20)\d{{2}})"
    )
}

static RANGE: LazyLock<Regex> = LazyLock::new(|| {
    let p = point_re();
    Regex::new(&format!(
        r"(?i)\b(?:between|from)\s+(?P<a>{p})\s+(?:and|to|until|till|through|thru|-)\s+(?P<b>{p})\b|\b(?P<a2>{p})\s+(?P<link>to|until|till|through|thru)\s+(?P<b2>{p})\b"
    ))
    .unwrap_or_else(|e| panic!("range regex: {e}"))
});
static OPEN: LazyLock<Regex> = LazyLock::new(|| {
    let p = point_re();
    Regex::new(&format!(
        r"(?i)\b(?P<kw>since|after|from|before|until|till|up\s+to)\s+(?P<a>{p})\b"
    ))
    .unwrap_or_else(|e| panic!("open regex: {e}"))
});
static LAST_N: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(
        r"(?i)\b(?:last|past|previous|trailing|recent)\s+(?P<n>{NUMBER_RE})\s+(?P<unit>days?|weeks?|months?|years?|quarters?)\b"
    ))
    .unwrap_or_else(|e| panic!("last-n regex: {e}"))
});
static RELATIVE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)\b(?P<which>this|current|last|previous|past|prior)\s+(?P<unit>week|month|quarter|year)\b|\b(?P<td>year|month|quarter|week)[\s-]+to[\s-]+date\b|\b(?P<abbr>ytd|mtd|qtd)\b|\b(?P<day>today|yesterday)\b|\bso\s+far\s+this\s+(?P<sofar>year|month|quarter|week)\b",
    )
    .unwrap_or_else(|e| panic!("relative regex: {e}"))
});
static QUARTER_WORDS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)\b(?P<q>first|second|third|fourth|1st|2nd|3rd|4th)\s+quarter(?:\s+(?:of\s+)?(?P<y>\d{4}))?\b|\b(?P<h>h[12])\s*(?P<hy>\d{4})\b|\b(?P<half>first|second|1st|2nd)\s+half(?:\s+(?:of\s+)?(?P<halfy>\d{4}))?\b|\bq(?P<qq>[1-4])\b",
    )
    .unwrap_or_else(|e| panic!("quarter regex: {e}"))
});
static POINT_CTX: LazyLock<Regex> = LazyLock::new(|| {
    // A lone month only counts after a preposition (so "may I" is not May).
    let p = point_re();
    Regex::new(&format!(
        r"(?i)\b(?:(?:in|during|for|of|on|throughout)\s+)?(?P<a>{p})\b"
    ))
    .unwrap_or_else(|e| panic!("point regex: {e}"))
});

fn month_num(name: &str) -> Option<u32> {
    let n: String = name.to_lowercase().chars().take(3).collect();
    Some(match n.as_str() {
        "jan" => 1,
        "feb" => 2,
        "mar" => 3,
        "apr" => 4,
        "may" => 5,
        "jun" => 6,
        "jul" => 7,
        "aug" => 8,
        "sep" => 9,
        "oct" => 10,
        "nov" => 11,
        "dec" => 12,
        _ => return None,
    })
}

fn ymd(y: i32, m: u32, d: u32) -> Option<NaiveDate> {
    NaiveDate::from_ymd_opt(y, m, d)
}

fn month_end(y: i32, m: u32) -> Option<NaiveDate> {
    ymd(y, m, 1)?.checked_add_months(Months::new(1))?.pred_opt()
}

fn month_period(y: i32, m: u32) -> Option<Period> {
    Some(Period {
        start: ymd(y, m, 1),
        end: month_end(y, m),
    })
}

fn quarter_period(y: i32, q: u32) -> Option<Period> {
    let m = (q - 1) * 3 + 1;
    Some(Period {
        start: ymd(y, m, 1),
        end: month_end(y, m + 2),
    })
}

fn year_period(y: i32) -> Option<Period> {
    Some(Period {
        start: ymd(y, 1, 1),
        end: ymd(y, 12, 31),
    })
}

/// The most recent year in which month `m` has started by `reference`.
fn recent_year_for_month(m: u32, reference: NaiveDate) -> i32 {
    if m <= reference.month() {
        reference.year()
    } else {
        reference.year() - 1
    }
}

/// Parses one date expression into the period it names. `year_hint` fills
/// a month without a year (else the most recent such month).
fn parse_point(s: &str, reference: NaiveDate, year_hint: Option<i32>) -> Option<Period> {
    static ISO: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"^(\d{4})-(\d{1,2})-(\d{1,2})$").unwrap_or_else(|e| panic!("{e}"))
    });
    static DMY: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"(?i)^(\d{1,2})(?:st|nd|rd|th)?\s+([a-z]+)\.?,?\s+(\d{4})$")
            .unwrap_or_else(|e| panic!("{e}"))
    });
    static MDY: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"(?i)^([a-z]+)\.?\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+(\d{4})$")
            .unwrap_or_else(|e| panic!("{e}"))
    });
    static MY: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"(?i)^([a-z]+)\.?,?\s+(?:of\s+)?(\d{4})$").unwrap_or_else(|e| panic!("{e}"))
    });
    static MD: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"(?i)^([a-z]+)\.?\s+(\d{1,2})(?:st|nd|rd|th)?$")
            .unwrap_or_else(|e| panic!("{e}"))
    });
    static DM: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"(?i)^(\d{1,2})(?:st|nd|rd|th)?\s+([a-z]+)$").unwrap_or_else(|e| panic!("{e}"))
    });
    static QY: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"(?i)^q([1-4])\s*(?:of\s+)?(\d{4})$").unwrap_or_else(|e| panic!("{e}"))
    });
    let s = s.trim();
    let num = |c: &Captures, i: usize| c.get(i).and_then(|m| m.as_str().parse::<u32>().ok());
    if let Some(c) = ISO.captures(s) {
        let d = ymd(num(&c, 1)? as i32, num(&c, 2)?, num(&c, 3)?)?;
        return Some(Period {
            start: Some(d),
            end: Some(d),
        });
    }
    if let Some(c) = DMY.captures(s) {
        let d = ymd(num(&c, 3)? as i32, month_num(&c[2])?, num(&c, 1)?)?;
        return Some(Period {
            start: Some(d),
            end: Some(d),
        });
    }
    if let Some(c) = MDY.captures(s) {
        let d = ymd(num(&c, 3)? as i32, month_num(&c[1])?, num(&c, 2)?)?;
        return Some(Period {
            start: Some(d),
            end: Some(d),
        });
    }
    if let Some(c) = MD.captures(s) {
        let m = month_num(&c[1])?;
        let y = year_hint.unwrap_or_else(|| recent_year_for_month(m, reference));
        let d = ymd(y, m, num(&c, 2)?)?;
        return Some(Period {
            start: Some(d),
            end: Some(d),
        });
    }
    if let Some(c) = DM.captures(s) {
        let m = month_num(&c[2])?;
        let y = year_hint.unwrap_or_else(|| recent_year_for_month(m, reference));
        let d = ymd(y, m, num(&c, 1)?)?;
        return Some(Period {
            start: Some(d),
            end: Some(d),
        });
    }
    if let Some(c) = MY.captures(s) {
        return month_period(num(&c, 2)? as i32, month_num(&c[1])?);
    }
    if let Some(c) = QY.captures(s) {
        return quarter_period(num(&c, 2)? as i32, num(&c, 1)?);
    }
    if s.len() == 4
        && let Ok(y) = s.parse::<i32>()
    {
        return year_period(y);
    }
    let m = month_num(s)?;
    if s.len() < 3 {
        return None;
    }
    month_period(
        year_hint.unwrap_or_else(|| recent_year_for_month(m, reference)),
        m,
    )
}

fn year_of(s: &str) -> Option<i32> {
    static Y: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"\b(\d{4})\b").unwrap_or_else(|e| panic!("{e}")));
    Y.captures(s)?.get(1)?.as_str().parse().ok()
}

fn relative(c: &Captures, reference: NaiveDate) -> Option<Period> {
    let r = reference;
    let (which, unit) = if let Some(u) = c.name("unit") {
        let w = c.name("which")?.as_str().to_lowercase();
        let this = matches!(w.as_str(), "this" | "current");
        (
            if this { "this" } else { "last" },
            u.as_str().to_lowercase(),
        )
    } else if let Some(u) = c.name("td").or(c.name("sofar")) {
        ("this", u.as_str().to_lowercase())
    } else if let Some(a) = c.name("abbr") {
        let unit = match a.as_str().to_lowercase().as_str() {
            "ytd" => "year",
            "mtd" => "month",
            _ => "quarter",
        };
        ("this", unit.to_owned())
    } else {
        let d = match c.name("day")?.as_str().to_lowercase().as_str() {
            "today" => r,
            _ => r.pred_opt()?,
        };
        return Some(Period {
            start: Some(d),
            end: Some(d),
        });
    };
    let q = (r.month() - 1) / 3 + 1;
    Some(match (which, unit.as_str()) {
        ("this", "year") => Period {
            start: ymd(r.year(), 1, 1),
            end: Some(r),
        },
        ("this", "month") => Period {
            start: ymd(r.year(), r.month(), 1),
            end: Some(r),
        },
        ("this", "quarter") => Period {
            start: ymd(r.year(), (q - 1) * 3 + 1, 1),
            end: Some(r),
        },
        ("this", _) => Period {
            start: r.checked_sub_days(Days::new(u64::from(r.weekday().num_days_from_monday()))),
            end: Some(r),
        },
        (_, "year") => year_period(r.year() - 1)?,
        (_, "month") => {
            let prev = ymd(r.year(), r.month(), 1)?.checked_sub_months(Months::new(1))?;
            month_period(prev.year(), prev.month())?
        }
        (_, "quarter") => {
            if q == 1 {
                quarter_period(r.year() - 1, 4)?
            } else {
                quarter_period(r.year(), q - 1)?
            }
        }
        _ => {
            let this_monday =
                r.checked_sub_days(Days::new(u64::from(r.weekday().num_days_from_monday())))?;
            Period {
                start: this_monday.checked_sub_days(Days::new(7)),
                end: this_monday.pred_opt(),
            }
        }
    })
}

fn last_n(c: &Captures, reference: NaiveDate) -> Option<Period> {
    let n = number_value(c.name("n")?.as_str())?;
    if n == 0 {
        return None;
    }
    let unit = c.name("unit")?.as_str().to_lowercase();
    let start = if unit.starts_with("day") {
        reference.checked_sub_days(Days::new(n - 1))?
    } else if unit.starts_with("week") {
        reference.checked_sub_days(Days::new(n.checked_mul(7)? - 1))?
    } else {
        let months = if unit.starts_with("month") {
            n
        } else if unit.starts_with("quarter") {
            n.checked_mul(3)?
        } else {
            n.checked_mul(12)?
        };
        reference
            .checked_sub_months(Months::new(u32::try_from(months).ok()?))?
            .succ_opt()?
    };
    Some(Period {
        start: Some(start),
        end: Some(reference),
    })
}

/// Every period in `text`, left to right, non-overlapping.
pub(crate) fn find_periods(text: &str, reference: NaiveDate) -> Vec<Found> {
    let mut found: Vec<Found> = Vec::new();
    let free =
        |found: &[Found], a: usize, b: usize| found.iter().all(|f| b <= f.span.0 || a >= f.span.1);
    for c in RANGE.captures_iter(text) {
        let (Some(all), Some(a), Some(b)) = (
            c.get(0),
            c.name("a").or(c.name("a2")),
            c.name("b").or(c.name("b2")),
        ) else {
            continue;
        };
        // Without "from" / "between", "X to Y" is a range only from a day
        // ("June 1 to June 7"): "compare 2025 to 2026" compares two
        // periods. "through" / "until" always close a range.
        if c.name("link")
            .is_some_and(|l| l.as_str().eq_ignore_ascii_case("to"))
            && parse_point(a.as_str(), reference, None).is_none_or(|p| p.start != p.end)
        {
            continue;
        }
        let hint = year_of(b.as_str());
        let (Some(pa), Some(pb)) = (
            parse_point(a.as_str(), reference, hint),
            parse_point(b.as_str(), reference, hint),
        ) else {
            continue;
        };
        if free(&found, all.start(), all.end()) {
            found.push(Found {
                span: (all.start(), all.end()),
                period: Period {
                    start: pa.start,
                    end: pb.end,
                },
            });
        }
    }
    for c in LAST_N.captures_iter(text) {
        let Some(all) = c.get(0) else { continue };
        if let Some(p) = last_n(&c, reference)
            && free(&found, all.start(), all.end())
        {
            found.push(Found {
                span: (all.start(), all.end()),
                period: p,
            });
        }
    }
    for c in RELATIVE.captures_iter(text) {
        let Some(all) = c.get(0) else { continue };
        if let Some(p) = relative(&c, reference)
            && free(&found, all.start(), all.end())
        {
            found.push(Found {
                span: (all.start(), all.end()),
                period: p,
            });
        }
    }
    for c in QUARTER_WORDS.captures_iter(text) {
        let Some(all) = c.get(0) else { continue };
        let p = if let Some(q) = c.name("q") {
            let ql = q.as_str().to_lowercase();
            let qn = match ql.chars().next() {
                Some('f') if ql.starts_with("fi") => 1,
                Some('f') => 4,
                Some('s') => 2,
                Some('t') => 3,
                Some(d) => d.to_digit(10).filter(|d| (1..=4).contains(d)).unwrap_or(1),
                None => 1,
            };
            let y = c
                .name("y")
                .and_then(|y| y.as_str().parse().ok())
                .unwrap_or_else(|| recent_year_for_month((qn - 1) * 3 + 1, reference));
            quarter_period(y, qn)
        } else if let Some(half) = c.name("half") {
            let first =
                half.as_str().to_lowercase().starts_with('f') || half.as_str().starts_with('1');
            let start_month = if first { 1 } else { 7 };
            let y = c
                .name("halfy")
                .and_then(|y| y.as_str().parse().ok())
                .unwrap_or_else(|| recent_year_for_month(start_month, reference));
            Some(Period {
                start: ymd(y, start_month, 1),
                end: month_end(y, start_month + 5),
            })
        } else if let Some(h) = c.name("h") {
            let y: i32 = c
                .name("hy")
                .and_then(|y| y.as_str().parse().ok())
                .unwrap_or(0);
            if h.as_str().eq_ignore_ascii_case("h1") {
                Some(Period {
                    start: ymd(y, 1, 1),
                    end: ymd(y, 6, 30),
                })
            } else {
                Some(Period {
                    start: ymd(y, 7, 1),
                    end: ymd(y, 12, 31),
                })
            }
        } else {
            // A bare "Q3": unless a year follows (handled by POINT_CTX), the
            // most recent third quarter that has started.
            let after = &text[all.end()..];
            if year_of(after.get(..6.min(after.len())).unwrap_or("")).is_some() {
                None
            } else {
                let qn: u32 = c
                    .name("qq")
                    .and_then(|q| q.as_str().parse().ok())
                    .unwrap_or(1);
                quarter_period(recent_year_for_month((qn - 1) * 3 + 1, reference), qn)
            }
        };
        if let Some(p) = p
            && free(&found, all.start(), all.end())
        {
            found.push(Found {
                span: (all.start(), all.end()),
                period: p,
            });
        }
    }
    for c in OPEN.captures_iter(text) {
        let (Some(all), Some(kw), Some(a)) = (c.get(0), c.name("kw"), c.name("a")) else {
            continue;
        };
        let Some(p) = parse_point(a.as_str(), reference, None) else {
            continue;
        };
        let kw = kw.as_str().to_lowercase();
        let period = match kw.as_str() {
            "since" | "from" => Period {
                start: p.start,
                end: None,
            },
            "after" => Period {
                start: p.end.and_then(|d| d.succ_opt()),
                end: None,
            },
            "before" => Period {
                start: None,
                end: p.start.and_then(|d| d.pred_opt()),
            },
            _ => Period {
                start: None,
                end: p.end,
            },
        };
        if free(&found, all.start(), all.end()) {
            found.push(Found {
                span: (all.start(), all.end()),
                period,
            });
        }
    }
    for c in POINT_CTX.captures_iter(text) {
        let (Some(all), Some(a)) = (c.get(0), c.name("a")) else {
            continue;
        };
        let s = a.as_str();
        let lone_month = month_num(s).is_some() && !s.chars().any(|ch| ch.is_ascii_digit());
        if lone_month {
            // Needs a full month name (not "mar") and a preposition before
            // it, or a follow-up's "and" / "about" ("and February?", "what
            // about March"), or nothing else around it ("February?"); "May"
            // only after a preposition ("may I ...").
            let has_prep = all.start() < a.start();
            let may = s.eq_ignore_ascii_case("may");
            let word_before = text[..a.start()]
                .split_whitespace()
                .last()
                .map(str::to_lowercase);
            let alone = word_before.is_none()
                && text[a.end()..]
                    .trim_matches(|c: char| !c.is_alphanumeric())
                    .is_empty();
            let linked = !may && (alone || matches!(word_before.as_deref(), Some("and" | "about")));
            if !(has_prep || linked) || s.len() <= 3 && !may {
                continue;
            }
        }
        if let Some(p) = parse_point(s, reference, None)
            && free(&found, a.start(), a.end())
        {
            found.push(Found {
                span: (all.start(), all.end()),
                period: p,
            });
        }
    }
    found.sort_by_key(|f| f.span.0);
    found
}

/// A move of a period by whole units ("the month before": one month back).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shift {
    /// By this many days (negative is earlier); weeks are 7 days.
    Days(i64),
    /// By this many calendar months (negative is earlier); quarters are 3,
    /// years 12.
    Months(i32),
}

impl Shift {
    /// `period` moved; a period of whole months stays whole months ("May"
    /// a month back is all of April). `None` for an open period.
    pub(crate) fn apply(self, period: Period) -> Option<Period> {
        let (start, end) = (period.start?, period.end?);
        let months = match self {
            Shift::Days(days) => {
                let d = chrono::Duration::days(days);
                return Some(Period {
                    start: start.checked_add_signed(d),
                    end: end.checked_add_signed(d),
                });
            }
            Shift::Months(m) => m,
        };
        let move_by = |d: NaiveDate| {
            if months < 0 {
                d.checked_sub_months(Months::new(months.unsigned_abs()))
            } else {
                d.checked_add_months(Months::new(months.unsigned_abs()))
            }
        };
        let whole_months = start.day() == 1 && end.succ_opt().is_some_and(|n| n.day() == 1);
        let new_start = move_by(start)?;
        let new_end = if whole_months {
            let e = move_by(ymd(end.year(), end.month(), 1)?)?;
            month_end(e.year(), e.month())?
        } else {
            move_by(end)?
        };
        Some(Period {
            start: Some(new_start),
            end: Some(new_end),
        })
    }
}

/// A relative move of the previous period in a follow-up: "the month
/// before", "a year earlier", "two weeks later", "same period last year",
/// "year over year".
pub(crate) fn shift_of(text: &str) -> Option<Shift> {
    static SHIFT: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(&format!(
            r"(?i)\b(?:(?P<n>{NUMBER_RE})\s+)?(?P<unit>days?|weeks?|months?|quarters?|years?)\s+(?P<dir>before|prior|earlier|previously|after|later)\b|\bsame\s+(?:period|time|months?|quarter|week|days?|dates?)\s+(?:of\s+)?(?:last|a|the\s+previous|the\s+prior|one)\s+year\b|\b(?:year[\s-]+over[\s-]+year|year[\s-]+on[\s-]+year|yoy)\b"
        ))
        .unwrap_or_else(|e| panic!("shift regex: {e}"))
    });
    let c = SHIFT.captures(text)?;
    // "same period last year", "year over year".
    let Some(unit) = c.name("unit") else {
        return Some(Shift::Months(-12));
    };
    let n = c
        .name("n")
        .and_then(|n| number_value(n.as_str()))
        .and_then(|n| i32::try_from(n).ok())
        .unwrap_or(1);
    let forward = c
        .name("dir")
        .is_some_and(|d| matches!(d.as_str().to_lowercase().as_str(), "after" | "later"));
    let by = if forward { n } else { -n };
    Some(match unit.as_str().to_lowercase().chars().next() {
        Some('d') => Shift::Days(i64::from(by)),
        Some('w') => Shift::Days(7 * i64::from(by)),
        Some('m') => Shift::Months(by),
        Some('q') => Shift::Months(3 * by),
        _ => Shift::Months(12 * by),
    })
}

/// `text` with every found period replaced by spaces (so later extraction
/// does not read its numbers).
pub(crate) fn mask(text: &str, spans: &[(usize, usize)]) -> String {
    let mut out = String::with_capacity(text.len());
    for (i, ch) in text.char_indices() {
        if spans.iter().any(|(a, b)| i >= *a && i < *b) {
            out.push(' ');
        } else {
            out.push(ch);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("date")
    }

    fn one(text: &str) -> (Option<String>, Option<String>) {
        let f = find_periods(text, d("2024-06-15"));
        assert_eq!(f.len(), 1, "{text}: {f:?}");
        let fmt = |x: Option<NaiveDate>| x.map(|x| x.to_string());
        (fmt(f[0].period.start), fmt(f[0].period.end))
    }

    fn p(a: &str, b: &str) -> (Option<String>, Option<String>) {
        (Some(a.into()), Some(b.into()))
    }

    #[test]
    fn periods_resolve_against_the_reference_date() {
        assert_eq!(one("revenue last month"), p("2024-05-01", "2024-05-31"));
        assert_eq!(one("sales in March 2024"), p("2024-03-01", "2024-03-31"));
        assert_eq!(one("sales in march"), p("2024-03-01", "2024-03-31"));
        assert_eq!(one("sales in September"), p("2023-09-01", "2023-09-30"));
        assert_eq!(
            one("between 2024-01-01 and 2024-03-31"),
            p("2024-01-01", "2024-03-31")
        );
        assert_eq!(one("top products Q3 1997"), p("1997-07-01", "1997-09-30"));
        assert_eq!(one("this year"), p("2024-01-01", "2024-06-15"));
        assert_eq!(one("the last 30 days"), p("2024-05-17", "2024-06-15"));
        assert_eq!(one("past two weeks"), p("2024-06-02", "2024-06-15"));
        assert_eq!(one("in 2023"), p("2023-01-01", "2023-12-31"));
        assert_eq!(one("last year"), p("2023-01-01", "2023-12-31"));
        assert_eq!(one("last quarter"), p("2024-01-01", "2024-03-31"));
        assert_eq!(one("from March to May 2024"), p("2024-03-01", "2024-05-31"));
        assert_eq!(
            one("the third quarter of 2023"),
            p("2023-07-01", "2023-09-30")
        );
        assert_eq!(one("year to date"), p("2024-01-01", "2024-06-15"));
        assert_eq!(one("on March 5, 2024"), p("2024-03-05", "2024-03-05"));
        assert_eq!(one("since 2024-02-01"), (Some("2024-02-01".into()), None));
        assert!(find_periods("may I see the top products?", d("2024-06-15")).is_empty());
        assert!(find_periods("the top 5 products", d("2024-06-15")).is_empty());
    }

    #[test]
    fn follow_up_shifts_move_the_previous_period() {
        let may = Period {
            start: Some(d("2024-05-01")),
            end: Some(d("2024-05-31")),
        };
        let moved = |text: &str| {
            shift_of(text)
                .and_then(|s| s.apply(may))
                .map(|p| (p.start.map(|x| x.to_string()), p.end.map(|x| x.to_string())))
        };
        // Whole months stay whole months (April has 30 days).
        assert_eq!(
            moved("and the month before?"),
            Some(p("2024-04-01", "2024-04-30"))
        );
        assert_eq!(
            moved("two months later"),
            Some(p("2024-07-01", "2024-07-31"))
        );
        assert_eq!(
            moved("same period last year"),
            Some(p("2023-05-01", "2023-05-31"))
        );
        assert_eq!(moved("year over year"), Some(p("2023-05-01", "2023-05-31")));
        assert_eq!(
            moved("a quarter earlier"),
            Some(p("2024-02-01", "2024-02-29"))
        );
        assert_eq!(
            moved("the week before"),
            Some(p("2024-04-24", "2024-05-24"))
        );
        assert_eq!(moved("what about revenue?"), None);
        // An open period cannot be moved.
        let open = Period {
            start: Some(d("2024-05-01")),
            end: None,
        };
        assert_eq!(
            shift_of("the month before").and_then(|s| s.apply(open)),
            None
        );
    }

    #[test]
    fn month_days_without_a_year_and_halves_resolve() {
        assert_eq!(one("orders on March 3"), p("2024-03-03", "2024-03-03"));
        assert_eq!(one("orders on 3 March"), p("2024-03-03", "2024-03-03"));
        assert_eq!(one("the first half of 2023"), p("2023-01-01", "2023-06-30"));
        assert_eq!(
            one("the second half of 2023"),
            p("2023-07-01", "2023-12-31")
        );
    }

    #[test]
    fn day_ranges_and_follow_up_months() {
        // A range needs no "from" when it starts on a day, or ends with
        // "through".
        assert_eq!(
            one("revenue by day for June 1 to June 7 2024"),
            p("2024-06-01", "2024-06-07")
        );
        assert_eq!(
            one("revenue for Jan through Mar 2024"),
            p("2024-01-01", "2024-03-31")
        );
        // "compare 2022 to 2023" compares two periods.
        assert_eq!(
            find_periods("compare 2022 to 2023", d("2024-06-15")).len(),
            2
        );
        // A follow-up's month needs no preposition; "may" still does.
        assert_eq!(one("and February?"), p("2024-02-01", "2024-02-29"));
        assert_eq!(one("what about March"), p("2024-03-01", "2024-03-31"));
        assert_eq!(one("February?"), p("2024-02-01", "2024-02-29"));
        assert!(find_periods("and may I see the segments?", d("2024-06-15")).is_empty());
    }
}
