//! Parsing and normalization of cell values: dates, money, quantities,
//! e-mails, phone numbers, countries and currencies.
//!
//! Everything here is pure (no I/O) and accepts the digit systems common in
//! South Asian data (Bengali, Devanagari, Arabic-Indic, Eastern Arabic) by
//! passing input through [`normalize_digits`] first.

use std::borrow::Cow;
use std::str::FromStr;
use std::sync::LazyLock;

pub use aima_runtime::geo::country_code;
use aima_runtime::store::round_money;
use chrono::{DateTime, Duration, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};
use regex::Regex;

/// A cell value that could not be parsed; the message names the value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValueError {
    /// The value is empty (or only whitespace).
    #[error("the value is empty")]
    Empty,
    /// The value is not a date in any supported form (or names an impossible
    /// day, like the 31st month).
    #[error("'{value}' is not a date")]
    NotADate {
        /// The value as given.
        value: String,
    },
    /// Both leading components of a numeric date are 12 or less and no day/month
    /// order was given.
    #[error(
        "'{value}' is ambiguous: it could be day-first or month-first; \
         give the column's date order (day-first or month-first)"
    )]
    AmbiguousDate {
        /// The value as given.
        value: String,
    },
    /// The value is not an amount of money.
    #[error("'{value}' is not an amount of money")]
    NotMoney {
        /// The value as given.
        value: String,
    },
    /// The value is not a quantity.
    #[error("'{value}' is not a quantity")]
    NotAQuantity {
        /// The value as given.
        value: String,
    },
    /// The value is not a phone number.
    #[error("'{value}' is not a phone number: {reason}")]
    NotAPhone {
        /// The value as given.
        value: String,
        /// Why, in words.
        reason: String,
    },
    /// A name that is not a date order.
    #[error("'{value}' is not a date order; use day-first (dmy) or month-first (mdy)")]
    NotADateOrder {
        /// The value as given.
        value: String,
    },
}

// ---------------------------------------------------------------------------
// Digits
// ---------------------------------------------------------------------------

/// The zero code points of the digit systems [`normalize_digits`] maps.
const ZEROS: [u32; 4] = [
    0x09E6, // Bengali
    0x0966, // Devanagari
    0x0660, // Arabic-Indic
    0x06F0, // Eastern Arabic (Persian/Urdu)
];

fn ascii_digit_of(c: char) -> Option<char> {
    let cp = c as u32;
    ZEROS.iter().find_map(|&zero| {
        (zero..zero + 10)
            .contains(&cp)
            .then(|| char::from(b'0' + (cp - zero) as u8))
    })
}

/// Replaces Bengali, Devanagari, Arabic-Indic and Eastern Arabic digits with
/// ASCII digits; every other character is kept. Borrows when there is
/// nothing to replace.
pub fn normalize_digits(raw: &str) -> Cow<'_, str> {
    if raw.chars().all(|c| ascii_digit_of(c).is_none()) {
        return Cow::Borrowed(raw);
    }
    Cow::Owned(
        raw.chars()
            .map(|c| ascii_digit_of(c).unwrap_or(c))
            .collect(),
    )
}

// ---------------------------------------------------------------------------
// Dates
// ---------------------------------------------------------------------------

/// The order of day and month in a numeric date such as `05/03/2024`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DateOrder {
    /// Day, then month (`05/03/2024` is 5 March): most of the world.
    DayFirst,
    /// Month, then day (`03/05/2024` is 5 March): the United States.
    MonthFirst,
}

impl FromStr for DateOrder {
    type Err = ValueError;

    /// Accepts `day-first`, `dmy`, `month-first`, `mdy` (case-insensitive;
    /// underscores and spaces work like hyphens).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let norm = s.trim().to_ascii_lowercase().replace(['_', ' '], "-");
        match norm.as_str() {
            "day-first" | "dayfirst" | "dmy" | "dd/mm/yyyy" => Ok(DateOrder::DayFirst),
            "month-first" | "monthfirst" | "mdy" | "mm/dd/yyyy" => Ok(DateOrder::MonthFirst),
            _ => Err(ValueError::NotADateOrder {
                value: s.to_owned(),
            }),
        }
    }
}

/// Evidence for the day/month order of a date column, gathered row by row.
///
/// Only unambiguous numeric dates vote: `25/03/2024` (first component > 12)
/// votes day-first, `03/25/2024` (second > 12) votes month-first. Other forms
/// (ISO, month names) do not vote.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DateOrderVotes {
    day_first: u64,
    month_first: u64,
}

impl DateOrderVotes {
    /// Records the vote of one raw cell value, if it has one.
    pub fn observe(&mut self, raw: &str) {
        let s = normalize_digits(raw.trim());
        let Some(c) = NUMERIC_DATE.captures(&s) else {
            return;
        };
        let (Some(a), Some(b)) = (cap_u32(&c, "a"), cap_u32(&c, "b")) else {
            return;
        };
        match (a > 12, b > 12) {
            (true, false) => self.day_first += 1,
            (false, true) => self.month_first += 1,
            _ => {}
        }
    }

    /// The order most votes back; `None` when no row voted or the votes tie.
    pub fn decide(&self) -> Option<DateOrder> {
        match self.day_first.cmp(&self.month_first) {
            std::cmp::Ordering::Greater => Some(DateOrder::DayFirst),
            std::cmp::Ordering::Less => Some(DateOrder::MonthFirst),
            std::cmp::Ordering::Equal => None,
        }
    }
}

fn re(pattern: &str) -> Regex {
    Regex::new(pattern).expect("a valid built-in regular expression")
}

/// Optional time after a date: `14:22`, `14:22:01.123`, `2:05 PM`, then an
/// optional zone `Z`, `UTC`, `GMT`, `+06:00`, `+0600`.
const TIME: &str = r"(?:(?:[T ]|,\s*|\s+at\s+)\s*(?P<h>\d{1,2})[:.](?P<mi>\d{2})(?:[:.](?P<s>\d{2})(?:[.,](?P<frac>\d{1,9}))?)?\s*(?P<ampm>[AaPp]\.?\s?[Mm]\.?)?\s*(?P<tz>[Zz]|UTC|GMT|[+-]\d{2}:?\d{2})?)?";

static ISO_DATE: LazyLock<Regex> = LazyLock::new(|| {
    re(&format!(
        r"^(?P<y>\d{{4}})[-/.](?P<m>\d{{1,2}})[-/.](?P<d>\d{{1,2}}){TIME}$"
    ))
});

static NUMERIC_DATE: LazyLock<Regex> = LazyLock::new(|| {
    re(&format!(
        r"^(?P<a>\d{{1,2}})(?P<sep>[-/.])(?P<b>\d{{1,2}})[-/.](?P<y>\d{{4}}|\d{{2}}){TIME}$"
    ))
});

static DAY_MONTH_NAME: LazyLock<Regex> = LazyLock::new(|| {
    re(&format!(
        r"^(?:[A-Za-z]{{3,9}},?\s+)?(?P<d>\d{{1,2}})(?:st|nd|rd|th)?[\s\-/.]+(?P<mon>[A-Za-z]{{3,9}})\.?,?[\s\-/.]+(?P<y>\d{{4}}|\d{{2}}){TIME}$"
    ))
});

static MONTH_NAME_DAY: LazyLock<Regex> = LazyLock::new(|| {
    re(&format!(
        r"^(?:[A-Za-z]{{3,9}},?\s+)?(?P<mon>[A-Za-z]{{3,9}})\.?[\s\-]+(?P<d>\d{{1,2}})(?:st|nd|rd|th)?,?\s+(?P<y>\d{{4}}){TIME}$"
    ))
});

static DIGITS8: LazyLock<Regex> = LazyLock::new(|| re(r"^\d{8}$"));
static SERIAL: LazyLock<Regex> = LazyLock::new(|| re(r"^\d{1,7}(?:\.\d+)?$"));

fn cap_u32(c: &regex::Captures<'_>, name: &str) -> Option<u32> {
    c.name(name).and_then(|m| m.as_str().parse().ok())
}

fn month_from_name(name: &str) -> Option<u32> {
    const MONTHS: [&str; 12] = [
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
    ];
    let lower = name.to_ascii_lowercase();
    if lower == "sept" {
        return Some(9);
    }
    if lower.len() < 3 {
        return None;
    }
    MONTHS
        .iter()
        .position(|m| m.starts_with(&lower))
        .and_then(|i| u32::try_from(i + 1).ok())
}

fn full_year(y: &str) -> Option<i32> {
    let n: i32 = y.parse().ok()?;
    Some(if y.len() == 2 {
        // The POSIX %y pivot: 69..99 -> 19xx, 00..68 -> 20xx.
        if n >= 69 { 1900 + n } else { 2000 + n }
    } else {
        n
    })
}

/// Builds the UTC instant of a date plus the optional time captures.
fn assemble(date: NaiveDate, c: &regex::Captures<'_>) -> Option<DateTime<Utc>> {
    let mut hour = cap_u32(c, "h").unwrap_or(0);
    let minute = cap_u32(c, "mi").unwrap_or(0);
    let second = cap_u32(c, "s").unwrap_or(0);
    let nanos = c.name("frac").map_or(Some(0), |m| {
        let digits = m.as_str();
        let n: u32 = digits.parse().ok()?;
        Some(n * 10u32.pow(9 - u32::try_from(digits.len()).ok()?))
    })?;
    if let Some(ampm) = c.name("ampm") {
        if !(1..=12).contains(&hour) {
            return None;
        }
        let pm = ampm.as_str().to_ascii_lowercase().starts_with('p');
        hour = match (pm, hour) {
            (false, 12) => 0,
            (true, 12) => 12,
            (true, h) => h + 12,
            (false, h) => h,
        };
    }
    let time = NaiveTime::from_hms_nano_opt(hour, minute, second, nanos)?;
    let local = NaiveDateTime::new(date, time);
    let offset_secs = match c.name("tz").map(|m| m.as_str()) {
        None | Some("Z" | "z" | "UTC" | "GMT") => 0,
        Some(tz) => {
            let sign = if tz.starts_with('-') { -1 } else { 1 };
            let digits: String = tz.chars().filter(char::is_ascii_digit).collect();
            let hh: i32 = digits.get(..2)?.parse().ok()?;
            let mm: i32 = digits.get(2..)?.parse().ok()?;
            sign * (hh * 3600 + mm * 60)
        }
    };
    let offset = FixedOffset::east_opt(offset_secs)?;
    offset
        .from_local_datetime(&local)
        .single()
        .map(|dt| dt.with_timezone(&Utc))
}

/// Converts an Excel serial (1900 date system) to a UTC instant.
fn excel_serial(serial: f64) -> Option<DateTime<Utc>> {
    if !(1.0..2_958_466.0).contains(&serial) {
        return None;
    }
    // Excel counts 1900-02-29, which did not exist: serials from 61 on are
    // offset from 1899-12-30, earlier ones from 1899-12-31.
    let base = if serial >= 61.0 {
        NaiveDate::from_ymd_opt(1899, 12, 30)?
    } else {
        NaiveDate::from_ymd_opt(1899, 12, 31)?
    };
    let seconds = (serial * 86_400.0).round() as i64;
    let midnight = base.and_hms_opt(0, 0, 0)?;
    Some(Utc.from_utc_datetime(&(midnight + Duration::seconds(seconds))))
}

/// Parses a date or date-time cell into a UTC instant.
///
/// Accepted forms (surrounding whitespace ignored, non-ASCII digits
/// normalized): RFC 3339 / ISO 8601 with or without time and zone
/// (`2024-03-05`, `2024-03-05T14:22:01Z`, `2024-03-05 14:22:01 +06:00`,
/// `2024/03/05 14:22`); numeric day/month dates with `/`, `.` or `-` and a
/// 2- or 4-digit year, optional time and AM/PM (`05/03/2024`,
/// `5.3.2024 14:00`, `3/5/24 2:05 PM`); month names (`5 Mar 2024`,
/// `Mar 5, 2024`, `March 5 2024`, `05-Mar-2024`, optionally after a weekday);
/// RFC 2822; `YYYYMMDD` (`19970101`); and Excel serial dates (`45357`,
/// `45357.5`, 1900 date system) in `1..=2958465`, only when the value is
/// purely numeric and no other form matched (an 8-digit value that is a
/// valid `YYYYMMDD` date is read as such).
///
/// Times without a zone are taken as UTC. A numeric date whose first two
/// components are both 12 or less (and differ) needs `order`: with `None`
/// it is [`ValueError::AmbiguousDate`]. When one component is over 12 the
/// date is read the only way it can be, whatever `order` says.
pub fn parse_datetime(raw: &str, order: Option<DateOrder>) -> Result<DateTime<Utc>, ValueError> {
    let s = normalize_digits(raw.trim());
    let s = s.as_ref();
    if s.is_empty() {
        return Err(ValueError::Empty);
    }
    let not_a_date = || ValueError::NotADate {
        value: raw.trim().to_owned(),
    };
    if let Ok(dt) = DateTime::parse_from_rfc3339(s) {
        return Ok(dt.with_timezone(&Utc));
    }
    if let Some(c) = ISO_DATE.captures(s) {
        let (Some(y), Some(m), Some(d)) = (cap_u32(&c, "y"), cap_u32(&c, "m"), cap_u32(&c, "d"))
        else {
            return Err(not_a_date());
        };
        let date = i32::try_from(y)
            .ok()
            .and_then(|y| NaiveDate::from_ymd_opt(y, m, d));
        return date.and_then(|d| assemble(d, &c)).ok_or_else(not_a_date);
    }
    if let Some(c) = NUMERIC_DATE.captures(s) {
        let (Some(a), Some(b)) = (cap_u32(&c, "a"), cap_u32(&c, "b")) else {
            return Err(not_a_date());
        };
        let year = c.name("y").and_then(|y| full_year(y.as_str()));
        let (day, month) = match (a > 12, b > 12) {
            (true, true) => return Err(not_a_date()),
            (true, false) => (a, b),
            (false, true) => (b, a),
            (false, false) if a == b => (a, b),
            (false, false) => match order {
                Some(DateOrder::DayFirst) => (a, b),
                Some(DateOrder::MonthFirst) => (b, a),
                None => {
                    return Err(ValueError::AmbiguousDate {
                        value: raw.trim().to_owned(),
                    });
                }
            },
        };
        let date = year.and_then(|y| NaiveDate::from_ymd_opt(y, month, day));
        return date.and_then(|d| assemble(d, &c)).ok_or_else(not_a_date);
    }
    for named in [&*DAY_MONTH_NAME, &*MONTH_NAME_DAY] {
        if let Some(c) = named.captures(s) {
            let month = c.name("mon").and_then(|m| month_from_name(m.as_str()));
            let year = c.name("y").and_then(|y| full_year(y.as_str()));
            let day = cap_u32(&c, "d");
            if let (Some(m), Some(y), Some(d)) = (month, year, day) {
                return NaiveDate::from_ymd_opt(y, m, d)
                    .and_then(|date| assemble(date, &c))
                    .ok_or_else(not_a_date);
            }
        }
    }
    if let Ok(dt) = DateTime::parse_from_rfc2822(s) {
        return Ok(dt.with_timezone(&Utc));
    }
    if DIGITS8.is_match(s)
        && let Ok(date) = NaiveDate::parse_from_str(s, "%Y%m%d")
        && let Some(dt) = date.and_hms_opt(0, 0, 0)
    {
        return Ok(Utc.from_utc_datetime(&dt));
    }
    if SERIAL.is_match(s)
        && let Ok(serial) = s.parse::<f64>()
        && let Some(dt) = excel_serial(serial)
    {
        return Ok(dt);
    }
    Err(not_a_date())
}

// ---------------------------------------------------------------------------
// Money and quantities
// ---------------------------------------------------------------------------

/// An amount of money parsed from a cell.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Money {
    /// The amount, rounded to 4 decimals; negative for refunds/credits.
    pub amount: f64,
    /// The ISO 4217 code of a symbol or code found in the cell, if any.
    pub currency: Option<&'static str>,
}

/// Parses a plain number with thousands/decimal separators (ASCII digits,
/// no sign). `None` when it is not a number.
///
/// Rules: spaces and apostrophes group thousands; with both `.` and `,` the
/// last one is the decimal mark; several of the same mark are thousands
/// (`1,23,456`, `1.234.567`); a single `,` followed by exactly 3 digits is
/// thousands (`1,234`), otherwise decimal (`12,5`); a single `.` is decimal.
fn parse_plain_number(num: &str) -> Option<f64> {
    let cleaned: String = num
        .chars()
        .filter(|c| !matches!(c, ' ' | '\u{a0}' | '\u{202f}' | '\'' | '’' | '_'))
        .collect();
    if cleaned.is_empty()
        || !cleaned
            .chars()
            .all(|c| c.is_ascii_digit() || c == '.' || c == ',')
    {
        return None;
    }
    let dots = cleaned.matches('.').count();
    let commas = cleaned.matches(',').count();
    let normalized = match (dots, commas) {
        (0, 0) => cleaned,
        (_, 0) if dots > 1 => cleaned.replace('.', ""),
        (_, 0) => cleaned,
        (0, 1) => {
            let after = cleaned.split(',').nth(1).unwrap_or_default();
            if after.len() == 3 && !cleaned.starts_with(',') {
                cleaned.replace(',', "")
            } else {
                cleaned.replace(',', ".")
            }
        }
        (0, _) => cleaned.replace(',', ""),
        _ => {
            let last_dot = cleaned.rfind('.')?;
            let last_comma = cleaned.rfind(',')?;
            if last_dot > last_comma {
                if dots > 1 {
                    return None;
                }
                cleaned.replace(',', "")
            } else {
                if commas > 1 {
                    return None;
                }
                cleaned.replace('.', "").replace(',', ".")
            }
        }
    };
    if normalized.starts_with('.') && normalized.len() == 1 {
        return None;
    }
    normalized.parse::<f64>().ok().filter(|v| v.is_finite())
}

/// Splits a cell into (prefix, number, suffix) around its digits, where the
/// number runs from the first digit (or a `.`/`,` right before it) to the
/// last digit.
fn split_number(s: &str) -> Option<(&str, &str, &str)> {
    let first = s.find(|c: char| c.is_ascii_digit())?;
    let last = s.rfind(|c: char| c.is_ascii_digit())?;
    let mut start = first;
    if let Some(prev) = s[..first].chars().next_back()
        && (prev == '.' || prev == ',')
        && !s[..first - 1]
            .chars()
            .next_back()
            .is_some_and(char::is_alphabetic)
    {
        start = first - 1;
    }
    Some((&s[..start], &s[start..=last], &s[last + 1..]))
}

/// Strips sign markers from a prefix or suffix; returns the rest (trimmed)
/// and whether a minus was seen.
fn strip_signs(part: &str) -> (String, bool) {
    let negative = part.contains(['-', '−']);
    let rest: String = part
        .chars()
        .filter(|c| !matches!(c, '-' | '−' | '+' | '(' | ')'))
        .collect();
    (rest.trim().to_owned(), negative)
}

/// Parses an amount of money.
///
/// Accepts a currency symbol, code or word ([`currency_code`]) before or
/// after the number; grouping and decimal marks as in `1,234.50`,
/// `1.234,50`, `1 234,50`, `1,23,456.50` (Indian), `1,234` (thousands),
/// `12,5` (decimal comma); any supported digit system (`৳১,২৩৪.৫০`);
/// negatives as `-12.50`, `(12.50)`, `12.50-`; and the South Asian `/-`
/// suffix (`500/-`). The amount is rounded to 4 decimals. A single `.` is
/// always a decimal mark (`1.234` is 1.234).
pub fn parse_money(raw: &str) -> Result<Money, ValueError> {
    let s = normalize_digits(raw.trim());
    let s = s.trim();
    if s.is_empty() {
        return Err(ValueError::Empty);
    }
    let not_money = || ValueError::NotMoney {
        value: raw.trim().to_owned(),
    };
    let (mut body, mut negative) = (s, false);
    if let Some(inner) = body.strip_prefix('(').and_then(|b| b.strip_suffix(')')) {
        body = inner.trim();
        negative = true;
    }
    let (prefix, number, suffix) = split_number(body).ok_or_else(not_money)?;
    let suffix = suffix.trim().trim_end_matches("/-").trim_end_matches("/=");
    let (prefix, neg_pre) = strip_signs(prefix);
    let (suffix, neg_suf) = strip_signs(suffix);
    negative ^= neg_pre || neg_suf;
    let mut currency = None;
    for part in [&prefix, &suffix] {
        if part.is_empty() {
            continue;
        }
        let code = currency_code(part).ok_or_else(not_money)?;
        if currency.is_some_and(|c| c != code) {
            return Err(not_money());
        }
        currency = Some(code);
    }
    let value = parse_plain_number(number).ok_or_else(not_money)?;
    Ok(Money {
        amount: round_money(if negative { -value } else { value }),
        currency,
    })
}

static QUANTITY: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)^(?:[x×]\s*)?(?P<sign>[+\-−])?\s*(?P<num>\d[\d.,' ]*)\s*(?:[x×]|pcs?\.?|pieces?|units?|items?|nos?\.?|qty|ea\.?|টি|পিস)?$",
    )
});

/// Parses a quantity: a plain number (any supported digit system, grouping
/// as in [`parse_money`]), optionally signed (negative for returns), with an
/// optional `x` prefix or suffix (`x2`, `2x`) or unit word (`2 pcs`,
/// `3 units`, `২ টি`).
pub fn parse_quantity(raw: &str) -> Result<f64, ValueError> {
    let s = normalize_digits(raw.trim());
    let s = s.trim();
    if s.is_empty() {
        return Err(ValueError::Empty);
    }
    let bad = || ValueError::NotAQuantity {
        value: raw.trim().to_owned(),
    };
    let c = QUANTITY.captures(s).ok_or_else(bad)?;
    let num = c.name("num").map(|m| m.as_str().trim()).ok_or_else(bad)?;
    let value = parse_plain_number(num).ok_or_else(bad)?;
    let negative = c.name("sign").is_some_and(|m| m.as_str() != "+");
    Ok(round_money(if negative { -value } else { value }))
}

// ---------------------------------------------------------------------------
// E-mail
// ---------------------------------------------------------------------------

static EMAIL: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*\.[A-Za-z]{2,}$",
    )
});

fn strip_mailto(raw: &str) -> &str {
    let t = raw.trim();
    let t = t
        .strip_prefix('<')
        .and_then(|x| x.strip_suffix('>'))
        .unwrap_or(t);
    match t.get(..7) {
        Some(p) if p.eq_ignore_ascii_case("mailto:") => &t[7..],
        _ => t,
    }
}

/// Whether the value (trimmed, optionally `mailto:` or in `<>`) is an
/// e-mail address of the form `local@domain.tld`.
pub fn looks_like_email(raw: &str) -> bool {
    let t = strip_mailto(raw);
    t.len() <= 254 && EMAIL.is_match(t) && !t.contains("..")
}

/// The e-mail address trimmed and lowercased, or `None` when the value is
/// not an e-mail address (see [`looks_like_email`]).
pub fn normalize_email(raw: &str) -> Option<String> {
    looks_like_email(raw).then(|| strip_mailto(raw).to_lowercase())
}

// ---------------------------------------------------------------------------
// Phone numbers
// ---------------------------------------------------------------------------

/// Normalizes a phone number.
///
/// Returns E.164 (`+8801712345678`) when the number has a `+` or `00`
/// international prefix, or when `default_country` (an ISO alpha-2 code or
/// a name understood by [`country_code`]) is known and the number is valid
/// for it according to libphonenumber's metadata (the `phonenumber` crate).
/// Otherwise returns the digits alone, which must number 7 to 15. Letters
/// (other than a `tel:` prefix) make it an error.
pub fn normalize_phone(raw: &str, default_country: Option<&str>) -> Result<String, ValueError> {
    let s = normalize_digits(raw.trim());
    let mut s = s.trim();
    if s.is_empty() {
        return Err(ValueError::Empty);
    }
    let bad = |reason: &str| ValueError::NotAPhone {
        value: raw.trim().to_owned(),
        reason: reason.to_owned(),
    };
    if s.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("tel:")) {
        s = s[4..].trim();
    }
    if s.chars().any(char::is_alphabetic) {
        return Err(bad("it contains letters"));
    }
    if !s
        .chars()
        .all(|c| c.is_ascii_digit() || " +-().\u{a0}/".contains(c))
    {
        return Err(bad(
            "it contains characters other than digits and separators",
        ));
    }
    let s = s.replace("(0)", "");
    let digits: String = s.chars().filter(char::is_ascii_digit).collect();
    let international = s.starts_with('+') || digits.starts_with("00");
    let international_digits = if s.starts_with('+') {
        digits.clone()
    } else if international {
        digits[2..].to_owned()
    } else {
        String::new()
    };
    if international {
        if !(7..=15).contains(&international_digits.len()) {
            return Err(bad("an international number has 7 to 15 digits"));
        }
        // Already international: E.164 is the digits after "+" (a national
        // trunk "(0)" written inside is dropped above). libphonenumber is not
        // consulted here: it would return the same digits and costs ~25 µs.
        return Ok(format!("+{international_digits}"));
    }
    if let Some(id) = default_country
        .and_then(country_code)
        .and_then(|code| code.parse::<phonenumber::country::Id>().ok())
        && let Ok(number) = phonenumber::parse(Some(id), &digits)
        && phonenumber::is_valid(&number)
    {
        return Ok(number.format().mode(phonenumber::Mode::E164).to_string());
    }
    if digits.len() < 7 {
        return Err(bad("it has fewer than 7 digits"));
    }
    if digits.len() > 15 {
        return Err(bad("it has more than 15 digits"));
    }
    Ok(digits)
}

// ---------------------------------------------------------------------------
// Currencies (countries: `aima_runtime::geo`)
// ---------------------------------------------------------------------------

/// ISO 4217 codes [`currency_code`] accepts as themselves.
const ISO_CURRENCIES: &[&str] = &[
    "AED", "AFN", "ARS", "AUD", "BDT", "BHD", "BRL", "BTN", "CAD", "CHF", "CNY", "CZK", "DKK",
    "EGP", "EUR", "GBP", "HKD", "HUF", "IDR", "ILS", "INR", "ISK", "JPY", "KES", "KRW", "KWD",
    "LBP", "LKR", "MMK", "MVR", "MXN", "MYR", "NGN", "NOK", "NPR", "NZD", "OMR", "PHP", "PKR",
    "PLN", "QAR", "RON", "RUB", "SAR", "SEK", "SGD", "THB", "TRY", "UAH", "USD", "VND", "ZAR",
];

/// The ISO 4217 code of a currency symbol, code or word, case-insensitive,
/// a trailing `.` ignored: `৳`/`Tk`/`Taka`/`টাকা` -> BDT, `$`/`US$` -> USD,
/// `€` -> EUR, `£` -> GBP, `₹`/`Rs`/`₨` -> INR (rupee words are read as
/// Indian; write `PKR`, `LKR`, `NPR` for the others), `¥` -> JPY, `元`/`RMB`
/// -> CNY, `A$` -> AUD, `C$`/`CA$` -> CAD, `S$` -> SGD, `RM` -> MYR, and
/// about 50 ISO codes as themselves. `None` otherwise.
pub fn currency_code(raw: &str) -> Option<&'static str> {
    let t = raw.trim();
    let t = t.strip_suffix('.').unwrap_or(t).trim();
    if t.is_empty() {
        return None;
    }
    let lower = t.to_lowercase();
    let code = match lower.as_str() {
        "৳" | "tk" | "taka" | "টাকা" | "টাঃ" => "BDT",
        "$" | "us$" | "usd$" | "dollar" | "dollars" => "USD",
        "€" | "euro" | "euros" => "EUR",
        "£" | "pound" | "pounds" => "GBP",
        "₹" | "rs" | "₨" | "rupee" | "rupees" | "inr₹" => "INR",
        "¥" | "yen" => "JPY",
        "元" | "rmb" | "yuan" => "CNY",
        "a$" | "au$" => "AUD",
        "c$" | "ca$" => "CAD",
        "s$" => "SGD",
        "rm" => "MYR",
        "₩" => "KRW",
        "₱" => "PHP",
        "฿" => "THB",
        "₺" => "TRY",
        "₽" => "RUB",
        "₦" => "NGN",
        "zł" => "PLN",
        "chf" | "fr" => "CHF",
        _ => {
            let upper = t.to_ascii_uppercase();
            return ISO_CURRENCIES.iter().find(|c| **c == upper).copied();
        }
    };
    Some(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ymd_hms(s: &str) -> String {
        match parse_datetime(s, None) {
            Ok(dt) => dt.format("%Y-%m-%d %H:%M:%S").to_string(),
            Err(e) => format!("ERR {e}"),
        }
    }

    #[test]
    fn digits_of_four_scripts_become_ascii() {
        assert_eq!(normalize_digits("৳১২৩৪.৫০"), "৳1234.50");
        assert_eq!(normalize_digits("०९८"), "098");
        assert_eq!(normalize_digits("٠١٢"), "012");
        assert_eq!(normalize_digits("۴۵۶"), "456");
        assert!(matches!(normalize_digits("plain 123"), Cow::Borrowed(_)));
    }

    #[test]
    fn iso_and_rfc3339_dates() {
        assert_eq!(ymd_hms("2024-03-05"), "2024-03-05 00:00:00");
        assert_eq!(ymd_hms("2024-03-05T14:22:01Z"), "2024-03-05 14:22:01");
        assert_eq!(ymd_hms("2024-03-05 14:22:01 +06:00"), "2024-03-05 08:22:01");
        assert_eq!(ymd_hms("2024-03-05 14:22"), "2024-03-05 14:22:00");
        assert_eq!(
            ymd_hms("2024-03-05T14:22:01.500+0530"),
            "2024-03-05 08:52:01"
        );
        assert_eq!(ymd_hms("2024/03/05"), "2024-03-05 00:00:00");
        assert_eq!(ymd_hms("2011-12-09 12:50:00"), "2011-12-09 12:50:00");
    }

    #[test]
    fn numeric_dates_with_order_and_am_pm() {
        let dmy = Some(DateOrder::DayFirst);
        let mdy = Some(DateOrder::MonthFirst);
        let f = |s: &str, o| {
            parse_datetime(s, o)
                .map(|d| d.format("%Y-%m-%d %H:%M").to_string())
                .unwrap_or_else(|e| e.to_string())
        };
        assert_eq!(f("05/03/2024", dmy), "2024-03-05 00:00");
        assert_eq!(f("05/03/2024", mdy), "2024-05-03 00:00");
        assert_eq!(f("5.3.2024 14:00", dmy), "2024-03-05 14:00");
        assert_eq!(f("3/5/24 2:05 PM", mdy), "2024-03-05 14:05");
        assert_eq!(f("3/5/24 12:05 AM", mdy), "2024-03-05 00:05");
        assert_eq!(f("25-12-2023", None), "2023-12-25 00:00");
        assert_eq!(f("12/25/2023", None), "2023-12-25 00:00");
        assert_eq!(f("07/07/2023", None), "2023-07-07 00:00");
        assert_eq!(f("12/1/2010 8:26", mdy), "2010-12-01 08:26");
    }

    #[test]
    fn ambiguous_and_impossible_dates_are_errors_naming_the_value() {
        assert_eq!(
            parse_datetime("05/03/2024", None),
            Err(ValueError::AmbiguousDate {
                value: "05/03/2024".into()
            })
        );
        let e = parse_datetime("31/31/2020", Some(DateOrder::DayFirst)).expect_err("bad");
        assert_eq!(e.to_string(), "'31/31/2020' is not a date");
        assert!(parse_datetime("31/02/2020", None).is_err());
        assert!(parse_datetime("2024-13-01", None).is_err());
        assert!(parse_datetime("hello", None).is_err());
        assert!(parse_datetime("12.50", None).is_ok_and(|d| d.format("%Y").to_string() == "1900"));
        assert_eq!(parse_datetime("  ", None), Err(ValueError::Empty));
        assert!(parse_datetime("3/5/24 13:05 PM", Some(DateOrder::MonthFirst)).is_err());
    }

    #[test]
    fn month_name_dates() {
        for s in [
            "5 Mar 2024",
            "Mar 5, 2024",
            "March 5 2024",
            "05-Mar-2024",
            "5th March 2024",
            "Tue, 5 Mar 2024",
            "Tuesday, March 5, 2024",
            "Sept 5 2024",
        ] {
            let expected = if s.starts_with("Sept") {
                "2024-09-05 00:00:00"
            } else {
                "2024-03-05 00:00:00"
            };
            assert_eq!(ymd_hms(s), expected, "{s}");
        }
        assert_eq!(ymd_hms("5 Mar 2024 14:30"), "2024-03-05 14:30:00");
        assert!(parse_datetime("5 Foo 2024", None).is_err());
    }

    #[test]
    fn compact_serial_and_bengali_dates() {
        assert_eq!(ymd_hms("19970101"), "1997-01-01 00:00:00");
        assert_eq!(ymd_hms("45357"), "2024-03-06 00:00:00");
        assert_eq!(ymd_hms("45357.5"), "2024-03-06 12:00:00");
        assert_eq!(ymd_hms("45292"), "2024-01-01 00:00:00");
        assert_eq!(ymd_hms("1"), "1900-01-01 00:00:00");
        assert_eq!(ymd_hms("61"), "1900-03-01 00:00:00");
        assert!(parse_datetime("2958466", None).is_err());
        assert!(parse_datetime("0", None).is_err());
        // 8 digits that are not a YYYYMMDD date and too big for a serial
        assert!(parse_datetime("19971399", None).is_err());
        assert_eq!(ymd_hms("২০২৪-০৩-০৫"), "2024-03-05 00:00:00");
        assert_eq!(ymd_hms("২৫/১২/২০২৩"), "2023-12-25 00:00:00");
    }

    #[test]
    fn date_order_votes_and_names() {
        let mut v = DateOrderVotes::default();
        assert_eq!(v.decide(), None);
        v.observe("05/03/2024");
        v.observe("2024-03-25");
        assert_eq!(v.decide(), None);
        v.observe("25/03/2024");
        assert_eq!(v.decide(), Some(DateOrder::DayFirst));
        v.observe("03/25/2024");
        assert_eq!(v.decide(), None);
        v.observe("03/26/2024 10:00");
        assert_eq!(v.decide(), Some(DateOrder::MonthFirst));
        assert_eq!("dmy".parse(), Ok(DateOrder::DayFirst));
        assert_eq!("Day-First".parse(), Ok(DateOrder::DayFirst));
        assert_eq!("mdy".parse(), Ok(DateOrder::MonthFirst));
        assert_eq!("month_first".parse(), Ok(DateOrder::MonthFirst));
        assert!("ymd".parse::<DateOrder>().is_err());
    }

    fn money(s: &str) -> (f64, Option<&'static str>) {
        let m = parse_money(s).unwrap_or_else(|e| panic!("{s}: {e}"));
        (m.amount, m.currency)
    }

    #[test]
    fn money_separators() {
        assert_eq!(money("1,234.50"), (1234.5, None));
        assert_eq!(money("1.234,50"), (1234.5, None));
        assert_eq!(money("1 234,50"), (1234.5, None));
        assert_eq!(money("1\u{a0}234,50 €"), (1234.5, Some("EUR")));
        assert_eq!(money("1234"), (1234.0, None));
        assert_eq!(money("1,234"), (1234.0, None));
        assert_eq!(money("12,5"), (12.5, None));
        assert_eq!(money("1,23,456.50"), (123456.5, None));
        assert_eq!(money("1.234.567"), (1234567.0, None));
        assert_eq!(money("0.123456"), (0.1235, None));
        assert_eq!(money(".50"), (0.5, None));
    }

    #[test]
    fn money_currencies_and_negatives() {
        assert_eq!(money("৳১,২৩৪.৫০"), (1234.5, Some("BDT")));
        assert_eq!(money("$12.50"), (12.5, Some("USD")));
        assert_eq!(money("12.50 USD"), (12.5, Some("USD")));
        assert_eq!(money("Tk. 500"), (500.0, Some("BDT")));
        assert_eq!(money("Tk 500/-"), (500.0, Some("BDT")));
        assert_eq!(money("500 Taka"), (500.0, Some("BDT")));
        assert_eq!(money("Rs. 1,200"), (1200.0, Some("INR")));
        assert_eq!(money("₹1,200"), (1200.0, Some("INR")));
        assert_eq!(money("PKR 300"), (300.0, Some("PKR")));
        assert_eq!(money("£3.39"), (3.39, Some("GBP")));
        assert_eq!(money("-12.50"), (-12.5, None));
        assert_eq!(money("(12.50)"), (-12.5, None));
        assert_eq!(money("12.50-"), (-12.5, None));
        assert_eq!(money("-$12.50"), (-12.5, Some("USD")));
        assert_eq!(money("$-12.50"), (-12.5, Some("USD")));
        assert_eq!(money("(€ 1.234,50)"), (-1234.5, Some("EUR")));
    }

    #[test]
    fn money_errors_name_the_value() {
        assert_eq!(parse_money(""), Err(ValueError::Empty));
        assert_eq!(parse_money("   "), Err(ValueError::Empty));
        let e = parse_money("abc").expect_err("not money");
        assert_eq!(e.to_string(), "'abc' is not an amount of money");
        assert!(parse_money("12 apples").is_err());
        assert!(parse_money("$12 €").is_err());
        assert!(parse_money("1.2.3,4,5").is_err());
        assert!(parse_money("Cancelled").is_err());
    }

    #[test]
    fn quantities() {
        assert_eq!(parse_quantity("2"), Ok(2.0));
        assert_eq!(parse_quantity("২"), Ok(2.0));
        assert_eq!(parse_quantity("2 pcs"), Ok(2.0));
        assert_eq!(parse_quantity("x2"), Ok(2.0));
        assert_eq!(parse_quantity("3x"), Ok(3.0));
        assert_eq!(parse_quantity("-12"), Ok(-12.0));
        assert_eq!(parse_quantity("1.5"), Ok(1.5));
        assert_eq!(parse_quantity("1,000"), Ok(1000.0));
        assert_eq!(parse_quantity("২ টি"), Ok(2.0));
        assert!(parse_quantity("two").is_err());
        assert!(parse_quantity("2 boxes of 3").is_err());
        assert_eq!(parse_quantity(""), Err(ValueError::Empty));
    }

    #[test]
    fn emails() {
        assert!(looks_like_email("rahim.uddin+shop@example.com.bd"));
        assert!(looks_like_email(" mailto:A@B.co "));
        assert!(!looks_like_email("rahim@localhost"));
        assert!(!looks_like_email("rahim at example.com"));
        assert!(!looks_like_email("a..b@example.com"));
        assert!(!looks_like_email("@example.com"));
        assert_eq!(
            normalize_email("  Rahim.Uddin@Example.COM "),
            Some("rahim.uddin@example.com".into())
        );
        assert_eq!(normalize_email("<x@y.org>"), Some("x@y.org".into()));
        assert_eq!(normalize_email("not an email"), None);
    }

    #[test]
    fn phones() {
        let bd = Some("BD");
        assert_eq!(
            normalize_phone("01712-345678", bd).as_deref(),
            Ok("+8801712345678")
        );
        assert_eq!(
            normalize_phone("০১৭১২৩৪৫৬৭৮", Some("Bangladesh")).as_deref(),
            Ok("+8801712345678")
        );
        assert_eq!(
            normalize_phone("+880 1712-345678", None).as_deref(),
            Ok("+8801712345678")
        );
        assert_eq!(
            normalize_phone("00880 1712 345678", None).as_deref(),
            Ok("+8801712345678")
        );
        assert_eq!(
            normalize_phone("tel:+44 20 7946 0958", None).as_deref(),
            Ok("+442079460958")
        );
        assert_eq!(
            normalize_phone("(020) 7946 0958", Some("uk")).as_deref(),
            Ok("+442079460958")
        );
        assert_eq!(
            normalize_phone("1712345678", bd).as_deref(),
            Ok("+8801712345678")
        );
        assert_eq!(
            normalize_phone("8801712345678", bd).as_deref(),
            Ok("+8801712345678")
        );
        // no country: the digits alone
        assert_eq!(
            normalize_phone("01712-345678", None).as_deref(),
            Ok("01712345678")
        );
        // invalid for the country: the digits alone
        assert_eq!(normalize_phone("1234567", bd).as_deref(), Ok("1234567"));
        assert!(normalize_phone("12345", None).is_err());
        assert!(normalize_phone("Cancelled", None).is_err());
        assert!(normalize_phone("1234567890123456", None).is_err());
        assert_eq!(normalize_phone("", None), Err(ValueError::Empty));
        let e = normalize_phone("12-34", None).expect_err("short");
        assert!(
            e.to_string().starts_with("'12-34' is not a phone number"),
            "{e}"
        );
    }

    #[test]
    fn odd_input_is_an_error_not_a_panic() {
        for s in [
            "৳",
            "-",
            "()",
            "(",
            ".",
            ",",
            "+",
            "00",
            "tel:",
            "mailto:",
            "x",
            "×",
            "/-",
            "1/2/",
            "99/99/99",
            "2024-02-30T25:61",
            "٫",
            "12:00 PM",
            "#",
            "$ .",
            "Rs.",
            "1e5",
            "NaN",
            "inf",
            "-৳",
            "১২৩৪৫৬৭৮৯০১২৩৪৫৬৭৮৯০",
            "\u{0}",
            "é",
            "Mar",
            "0000-00-00",
        ] {
            let _ = parse_money(s);
            let _ = parse_quantity(s);
            let _ = parse_datetime(s, None);
            let _ = parse_datetime(s, Some(DateOrder::MonthFirst));
            let _ = normalize_phone(s, Some("BD"));
            let _ = normalize_email(s);
            let _ = country_code(s);
            let _ = currency_code(s);
        }
        assert!(parse_money("NaN").is_err());
        assert!(parse_money("1e5").is_err());
        assert!(parse_datetime("0000-00-00", None).is_err());
    }

    #[test]
    fn currencies() {
        assert_eq!(currency_code("৳"), Some("BDT"));
        assert_eq!(currency_code("Tk."), Some("BDT"));
        assert_eq!(currency_code("taka"), Some("BDT"));
        assert_eq!(currency_code("usd"), Some("USD"));
        assert_eq!(currency_code("€"), Some("EUR"));
        assert_eq!(currency_code("Rs."), Some("INR"));
        assert_eq!(currency_code("PKR"), Some("PKR"));
        assert_eq!(currency_code("¥"), Some("JPY"));
        assert_eq!(currency_code("XYZ"), None);
        assert_eq!(currency_code("Paid"), None);
    }
}
