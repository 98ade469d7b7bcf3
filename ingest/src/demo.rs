//! The demo data set behind `aima demo`.
//!
//! # What is real
//!
//! The **transactions** are real: the CDNOW master data set (Fader & Hardie),
//! 69,659 purchases made by the 23,570 customers who first bought at the
//! online CD store CDNOW in the first quarter of 1997, followed until the end
//! of June 1998. Each row gives a customer id, a date, a number of CDs and a
//! dollar amount. The file ships inside the repository, gzip-compressed, at
//! `ingest/demo/cdnow_master.txt.gz` and is embedded into the binary, so the
//! demo works on a fresh clone with nothing else present (see
//! `ingest/demo/README.md` for source and licence).
//!
//! # What is synthetic
//!
//! **Everything else** is generated deterministically from a seed
//! ([`DEMO_SEED`] by default) with a ChaCha8 generator:
//!
//! - customer names, e-mails (`example.com` / `example.org` only), phone
//!   numbers (fictional `+1 AAA 555-01xx`, so they repeat across customers and
//!   are not an identity key), US cities, acquisition channels and sign-up
//!   times (a few days before the first real purchase);
//! - the time of day of each order (the date is real), and its line items:
//!   genres and "Artist - Album" titles from a generated catalogue, with unit
//!   prices chosen so the lines add up exactly to the real dollar amount;
//! - the behavioural events: a site visit and an add-to-cart before every
//!   purchase, a purchase event per order, a monthly newsletter to customers
//!   who bought in the last 45 days (or just signed up) and one win-back
//!   mail 90 to 120 days after a customer's last purchase, opens and clicks
//!   whose rates fall with the time since the customer's last purchase (and
//!   rise shortly before a real purchase), and abandoned carts;
//! - daily paid-media spend for `paid_search`, `social`, `email` and
//!   `display`, tied to the number of customers each channel acquired that
//!   day and to the e-mails actually sent.
//!
//! Orders with a real amount of $0.00 (80 rows, presumably free or
//! promotional items) are kept with status `"completed"` and zero-priced
//! line items, so order counts match the source exactly; they do not change
//! revenue.
//!
//! The same seed always gives identical output; a different seed changes the
//! synthetic enrichment but never the transactions (customer ids, dates, CD
//! counts, amounts, order ids).

use std::collections::HashSet;
use std::io::Read;

use chrono::{DateTime, Datelike, NaiveDate, NaiveTime, TimeDelta, Utc, Weekday};
use rand::{Rng, RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use serde_json::json;

/// The gzip-compressed CDNOW master file, embedded at compile time.
static CDNOW_GZ: &[u8] = include_bytes!("../demo/cdnow_master.txt.gz");

/// Master ids of the 2,357 customers of the CDNOW sample (Fader & Hardie's
/// 1/10 systematic sample behind the published BG/NBD estimates), one per line.
static CDNOW_SAMPLE_IDS: &str = include_str!("../demo/cdnow_sample_ids.txt");

/// The seed `aima demo` uses unless told otherwise.
pub const DEMO_SEED: u64 = 19_970_101;

/// The whole demo data set: real CDNOW transactions plus seeded enrichment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DemoData {
    /// One per CDNOW customer, sorted by `source_id`.
    pub customers: Vec<DemoCustomer>,
    /// One per CDNOW transaction, sorted by `external_id` (which follows the
    /// source's customer/date order).
    pub orders: Vec<DemoOrder>,
    /// Behavioural events, sorted by time, then customer, then funnel step.
    pub events: Vec<DemoEvent>,
    /// Daily spend per paid channel, sorted by date, then channel.
    pub spend: Vec<DemoSpend>,
}

/// A customer: the id is real, every other field is synthetic.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DemoCustomer {
    /// The CDNOW customer id (1..=23,570).
    pub source_id: u32,
    /// Synthetic first name.
    pub first_name: String,
    /// Synthetic last name.
    pub last_name: String,
    /// Unique synthetic e-mail on `example.com` or `example.org`.
    pub email: String,
    /// Fictional E.164 number, `+1` + area code + `55501xx`.
    pub phone: String,
    /// A US city, drawn with rough population weights.
    pub city: String,
    /// ISO 3166-1 alpha-2 country code; always `"US"`.
    pub country: String,
    /// One of `organic_search`, `paid_search`, `email`, `social`,
    /// `referral`, `direct`.
    pub acquisition_channel: String,
    /// Sign-up time: a seeded interval (1 hour to 14 days, never before the
    /// data set's first day) before the first real purchase.
    pub created_at: DateTime<Utc>,
}

/// An order: one real CDNOW transaction.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DemoOrder {
    /// The CDNOW customer id.
    pub source_customer_id: u32,
    /// Stable id `CD-000001`..`CD-069659`, numbered in the source's
    /// customer/date order (independent of the seed).
    pub external_id: String,
    /// The real CDNOW date at a seeded time of day (UTC).
    pub ordered_at: DateTime<Utc>,
    /// Exactly the CDNOW dollar amount.
    pub amount: f64,
    /// Always `"USD"`.
    pub currency: String,
    /// Always `"completed"` (including the 80 real $0.00 orders).
    pub status: String,
    /// 1 to 3 synthetic line items whose quantities add up to the real CD
    /// count and whose `quantity * unit_price` add up to `amount` to the cent.
    pub items: Vec<DemoItem>,
}

/// A synthetic order line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DemoItem {
    /// Generated `"Artist - Album"` title.
    pub product_name: String,
    /// Music genre, e.g. `"Rock"`, `"Jazz"`.
    pub category: String,
    /// Number of CDs on this line (a whole number).
    pub quantity: f64,
    /// Dollars per CD, in whole cents.
    pub unit_price: f64,
}

/// A synthetic behavioural event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DemoEvent {
    /// The CDNOW customer id.
    pub source_customer_id: u32,
    /// One of `email_sent`, `email_open`, `email_click`, `site_visit`,
    /// `add_to_cart`, `cart_abandon`, `purchase`.
    pub event_type: String,
    /// `"email"` for e-mail events; the session's traffic channel for site
    /// events.
    pub channel: Option<String>,
    /// When it happened (UTC).
    pub occurred_at: DateTime<Utc>,
    /// Event details: `campaign_id` for e-mails, `session_id` for site
    /// events, `order_id`/`amount`/`currency`/`items` for purchases,
    /// `items`/`value` for carts.
    pub properties: serde_json::Value,
}

/// Synthetic daily spend of one paid channel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DemoSpend {
    /// The day.
    pub date: NaiveDate,
    /// One of `paid_search`, `social`, `email`, `display`.
    pub channel: String,
    /// Dollars, in whole cents.
    pub spend: f64,
    /// Ad impressions (for `email`: e-mails sent that day).
    pub impressions: i64,
    /// Ad clicks (for `email`: clicks on the e-mails sent that day).
    pub clicks: i64,
}

/// Why the embedded demo data could not be read.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// The embedded gzip stream is corrupt or not UTF-8.
    #[error("the embedded demo data could not be decompressed: {source}")]
    Decompress {
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A row does not have the four whitespace-separated columns.
    #[error("demo data line {line}: expected 4 columns, found {found}")]
    Columns {
        /// 1-based line number in the decompressed file.
        line: usize,
        /// How many columns the row has.
        found: usize,
    },
    /// A value could not be parsed.
    #[error("demo data line {line}: invalid {field} {value:?}: {reason}")]
    Field {
        /// 1-based line number in the decompressed file.
        line: usize,
        /// The column: `customer_id`, `date`, `number_of_cds` or
        /// `dollar_value`.
        field: &'static str,
        /// The offending text.
        value: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The file holds no transactions.
    #[error("the embedded demo data holds no transactions")]
    Empty,
}

/// Loads the demo data set: decompresses and parses the embedded CDNOW
/// transactions and enriches them deterministically from `seed`.
///
/// Pass [`DEMO_SEED`] for the standard demo. The same seed gives identical
/// output; any seed gives the same transactions.
pub fn load(seed: u64) -> Result<DemoData, DemoError> {
    let text = decompress(CDNOW_GZ)?;
    let txns = parse_transactions(&text)?;
    Ok(build(seed, txns))
}

/// One real CDNOW transaction, as in the source.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CdnowPurchase {
    /// The customer's master id.
    pub customer_id: u32,
    /// The day of the purchase.
    pub date: NaiveDate,
    /// CDs bought (>= 1).
    pub cds: u32,
    /// Dollars paid (>= 0).
    pub dollars: f64,
}

/// The embedded CDNOW transactions without any enrichment: the reference
/// data of `aima evaluate clv`.
///
/// # Errors
/// [`DemoError`] when the embedded file cannot be decompressed or parsed.
pub fn cdnow_purchases() -> Result<Vec<CdnowPurchase>, DemoError> {
    let text = decompress(CDNOW_GZ)?;
    Ok(parse_transactions(&text)?
        .into_iter()
        .map(|t| CdnowPurchase {
            customer_id: t.customer_id,
            date: t.date,
            cds: t.cds,
            dollars: t.cents as f64 / 100.0,
        })
        .collect())
}

/// The master ids of the 2,357-customer CDNOW sample (see
/// `ingest/demo/README.md`).
///
/// # Errors
/// [`DemoError::Field`] naming the line of an id that is not a number.
pub fn cdnow_sample_ids() -> Result<HashSet<u32>, DemoError> {
    CDNOW_SAMPLE_IDS
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            l.trim().parse().map_err(|_| DemoError::Field {
                line: i + 1,
                field: "customer_id",
                value: l.to_owned(),
                reason: "not a whole number",
            })
        })
        .collect()
}

// ---------------------------------------------------------------------------
// Parsing

/// One real CDNOW row.
#[derive(Debug, Clone, PartialEq)]
struct Txn {
    line: usize,
    customer_id: u32,
    date: NaiveDate,
    cds: u32,
    cents: i64,
}

fn decompress(gz: &[u8]) -> Result<String, DemoError> {
    let mut text = String::new();
    flate2::read::GzDecoder::new(gz)
        .read_to_string(&mut text)
        .map_err(|source| DemoError::Decompress { source })?;
    Ok(text)
}

/// Parses the whitespace-separated CDNOW master format. A first line starting
/// with `customer_id` is a header; blank lines are skipped.
fn parse_transactions(text: &str) -> Result<Vec<Txn>, DemoError> {
    let mut txns = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let row = raw.trim();
        if row.is_empty() || (line == 1 && row.starts_with("customer_id")) {
            continue;
        }
        let cols: Vec<&str> = row.split_whitespace().collect();
        let [id, date, cds, dollars] = cols[..] else {
            return Err(DemoError::Columns {
                line,
                found: cols.len(),
            });
        };
        let bad = |field: &'static str, value: &str, reason: &'static str| DemoError::Field {
            line,
            field,
            value: value.to_string(),
            reason,
        };
        let customer_id: u32 = id
            .parse()
            .map_err(|_| bad("customer_id", id, "not a whole number"))?;
        let date = NaiveDate::parse_from_str(date, "%Y%m%d")
            .map_err(|_| bad("date", date, "not a YYYYMMDD date"))?;
        let cds: u32 = cds
            .parse()
            .map_err(|_| bad("number_of_cds", cds, "not a whole number"))?;
        if cds == 0 {
            return Err(bad("number_of_cds", "0", "must be at least 1"));
        }
        let cents = parse_cents(dollars)
            .ok_or_else(|| bad("dollar_value", dollars, "not a dollar amount"))?;
        txns.push(Txn {
            line,
            customer_id,
            date,
            cds,
            cents,
        });
    }
    if txns.is_empty() {
        return Err(DemoError::Empty);
    }
    Ok(txns)
}

/// `"11.77"` -> 1177; at most two decimals, no sign.
fn parse_cents(s: &str) -> Option<i64> {
    let (whole, frac) = s.split_once('.').unwrap_or((s, ""));
    let digits = |t: &str| t.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() || whole.len() > 12 || frac.len() > 2 || !digits(whole) || !digits(frac) {
        return None;
    }
    let whole: i64 = whole.parse().ok()?;
    let frac: i64 = match frac.len() {
        0 => 0,
        1 => frac.parse::<i64>().ok()? * 10,
        _ => frac.parse().ok()?,
    };
    Some(whole * 100 + frac)
}

// ---------------------------------------------------------------------------
// Word lists (written for this module)

#[rustfmt::skip]
const FIRST_NAMES: &[&str] = &[
    "James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda", "David",
    "Elizabeth", "William", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas", "Sarah",
    "Christopher", "Karen", "Daniel", "Lisa", "Matthew", "Nancy", "Anthony", "Betty", "Mark",
    "Sandra", "Steven", "Ashley", "Andrew", "Kimberly", "Joshua", "Emily", "Kevin", "Donna",
    "Brian", "Michelle", "Jose", "Maria", "Luis", "Carmen", "Carlos", "Sofia", "Juan", "Isabel",
    "Miguel", "Lucia", "Wei", "Mei", "Jun", "Hana", "Hiroshi", "Yuki", "Min-jun", "Ji-woo", "Raj",
    "Priya", "Arjun", "Ananya", "Vikram", "Deepa", "Mohammed", "Fatima", "Omar", "Aisha", "Ahmed",
    "Layla", "Kwame", "Amara", "Chinedu", "Ngozi", "Kofi", "Abena", "Darnell", "Keisha", "Malik",
    "Tamika", "Andre", "Imani", "Dmitri", "Olga", "Ivan", "Natasha", "Pierre", "Claire", "Luca",
    "Giulia", "Hans", "Greta", "Sean", "Siobhan", "Lars", "Ingrid", "Tomas", "Elena", "Kai",
    "Leilani", "Noah", "Ava", "Liam", "Chloe",
];

#[rustfmt::skip]
const LAST_NAMES: &[&str] = &[
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez",
    "Martinez", "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor",
    "Moore", "Jackson", "Martin", "Lee", "Perez", "Thompson", "White", "Harris", "Sanchez", "Clark",
    "Ramirez", "Lewis", "Robinson", "Walker", "Young", "Allen", "King", "Wright", "Scott", "Torres",
    "Nguyen", "Hill", "Flores", "Green", "Adams", "Nelson", "Baker", "Hall", "Rivera", "Campbell",
    "Mitchell", "Carter", "Roberts", "Kim", "Park", "Chen", "Wang", "Li", "Zhang", "Liu", "Tanaka",
    "Suzuki", "Sato", "Patel", "Shah", "Singh", "Kumar", "Gupta", "Khan", "Ali", "Hassan",
    "Haddad", "Okafor", "Mensah", "Adeyemi", "Diallo", "Mwangi", "O'Brien", "Murphy", "Kelly",
    "Sullivan", "Novak", "Kowalski", "Ivanov", "Petrov", "Schmidt", "Mueller", "Rossi", "Bianchi",
    "Dubois", "Moreau", "Silva", "Santos", "Costa", "Yilmaz", "Cohen", "Levy", "Jensen", "Larsen",
    "Nakamura", "Tran", "Pham", "Begay", "Yazzie", "Kealoha", "Cruz", "Reyes", "Ortiz",
];

/// City, weight (roughly 1997 metro population in 100k), area codes.
const CITIES: &[(&str, u32, &[u16])] = &[
    ("New York", 200, &[212, 718, 917, 646, 347]),
    ("Los Angeles", 150, &[213, 310, 323, 818]),
    ("Chicago", 90, &[312, 773, 630]),
    ("San Francisco", 65, &[415, 510, 650]),
    ("Philadelphia", 60, &[215, 267, 610]),
    ("Boston", 55, &[617, 781, 508]),
    ("Washington", 50, &[202, 301, 703]),
    ("Dallas", 45, &[214, 972]),
    ("Houston", 45, &[713, 281]),
    ("Detroit", 45, &[313, 248]),
    ("Atlanta", 40, &[404, 770]),
    ("Miami", 38, &[305, 954]),
    ("Seattle", 35, &[206, 425]),
    ("Phoenix", 30, &[602, 480]),
    ("Minneapolis", 30, &[612, 651]),
    ("San Diego", 28, &[619, 858]),
    ("St. Louis", 25, &[314, 636]),
    ("Baltimore", 25, &[410, 443]),
    ("Pittsburgh", 23, &[412, 724]),
    ("Denver", 23, &[303, 720]),
    ("Tampa", 22, &[813, 727]),
    ("Cleveland", 22, &[216, 440]),
    ("Portland", 20, &[503, 971]),
    ("Cincinnati", 19, &[513]),
    ("Kansas City", 17, &[816, 913]),
    ("San Jose", 16, &[408]),
    ("Sacramento", 16, &[916]),
    ("Milwaukee", 16, &[414, 262]),
    ("Orlando", 15, &[407]),
    ("San Antonio", 15, &[210]),
    ("Columbus", 15, &[614]),
    ("Indianapolis", 15, &[317]),
    ("Charlotte", 13, &[704]),
    ("Las Vegas", 13, &[702]),
    ("New Orleans", 13, &[504]),
    ("Austin", 12, &[512]),
    ("Nashville", 12, &[615]),
    ("Salt Lake City", 12, &[801]),
    ("Raleigh", 11, &[919]),
    ("Jacksonville", 11, &[904]),
    ("Memphis", 11, &[901]),
    ("Buffalo", 11, &[716]),
    ("Hartford", 11, &[860]),
    ("Louisville", 10, &[502]),
    ("Richmond", 9, &[804]),
    ("Providence", 9, &[401]),
    ("Honolulu", 8, &[808]),
    ("Albuquerque", 7, &[505]),
    ("Tucson", 7, &[520]),
    ("Omaha", 7, &[402]),
    ("Madison", 4, &[608]),
    ("Anchorage", 3, &[907]),
    ("Burlington", 2, &[802]),
];

/// First-purchase (acquisition) channels and weights.
const ACQUISITION: &[(&str, u32)] = &[
    ("organic_search", 30),
    ("paid_search", 22),
    ("referral", 17),
    ("direct", 15),
    ("social", 10),
    ("email", 6),
];

/// Traffic channels of returning visits not driven by an e-mail click.
const RETURNING: &[(&str, u32)] = &[
    ("direct", 35),
    ("organic_search", 30),
    ("paid_search", 13),
    ("referral", 12),
    ("social", 10),
];

/// Genres and weights (roughly US album sales shares in 1997).
const GENRES: &[(&str, u32)] = &[
    ("Rock", 25),
    ("Country", 14),
    ("Pop", 12),
    ("R&B", 11),
    ("Hip-Hop", 9),
    ("Alternative", 8),
    ("Jazz", 4),
    ("Classical", 4),
    ("Soundtrack", 4),
    ("Electronic", 3),
    ("Latin", 3),
    ("Metal", 3),
    ("Blues", 2),
    ("Folk", 2),
    ("Reggae", 2),
    ("World", 1),
];

#[rustfmt::skip]
const ADJECTIVES: &[&str] = &[
    "Velvet", "Electric", "Silent", "Golden", "Midnight", "Crimson", "Hollow", "Neon", "Wild",
    "Broken", "Paper", "Silver", "Lonesome", "Blue", "Burning", "Distant", "Quiet", "Restless",
    "Secret", "Gentle", "Northern", "Southern", "Hidden", "Open", "Painted", "Rusty", "Shining",
    "Sleepless", "Sweet", "Bitter", "Copper", "Faded", "Frozen", "Heavy", "Lucky", "Magnetic",
    "Slow", "Strange", "Wandering", "Young",
];

#[rustfmt::skip]
const NOUNS: &[&str] = &[
    "River", "Highway", "Garden", "Mirror", "Engine", "Harbor", "Canyon", "Lantern", "Signal",
    "Machine", "Ocean", "Echo", "Horizon", "Thunder", "Window", "Station", "Carnival", "Desert",
    "Orchard", "Satellite", "Avenue", "Bridge", "Compass", "Feather", "Fever", "Island", "Kingdom",
    "Meadow", "Parade", "Radio", "Shadow", "Skyline", "Storm", "Summer", "Tide", "Valley",
    "Voltage", "Wave", "Winter", "Circus",
];

#[rustfmt::skip]
const BANDS: &[&str] = &[
    "Foxes", "Pilots", "Sparrows", "Rebels", "Drifters", "Strangers", "Ramblers", "Comets",
    "Ghosts", "Tigers", "Wolves", "Saints", "Sailors", "Kings", "Lions", "Rockets", "Ravens",
    "Outlaws", "Dreamers", "Architects",
];

/// Relative order volume by hour of day (UTC, evening peak).
const HOUR_WEIGHTS: [u32; 24] = [
    3, 2, 1, 1, 1, 1, 2, 4, 6, 8, 9, 10, 11, 11, 10, 10, 11, 12, 14, 16, 17, 16, 12, 7,
];

/// Albums generated per genre.
const ALBUMS_PER_GENRE: usize = 30;

// Independent random streams, so one part of the enrichment does not shift
// another.
const STREAM_CUSTOMERS: u64 = 1;
const STREAM_ORDERS: u64 = 2;
const STREAM_CATALOG: u64 = 3;
const STREAM_EVENTS: u64 = 4;
const STREAM_SPEND: u64 = 5;

// ---------------------------------------------------------------------------
// Random helpers

fn stream(seed: u64, id: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(seed ^ id.wrapping_mul(0x9E37_79B9_7F4A_7C15))
}

/// Index into `weights`, drawn proportionally. `weights` must not sum to 0.
fn pick<R: Rng + ?Sized>(rng: &mut R, weights: impl Iterator<Item = u32> + Clone) -> usize {
    let total: u32 = weights.clone().sum();
    let mut x = rng.random_range(0..total.max(1));
    for (i, w) in weights.enumerate() {
        if x < w {
            return i;
        }
        x -= w;
    }
    0
}

fn pick_pair<'a, R: Rng + ?Sized>(rng: &mut R, table: &[(&'a str, u32)]) -> &'a str {
    table[pick(rng, table.iter().map(|t| t.1))].0
}

fn choose<'a, R: Rng + ?Sized>(rng: &mut R, items: &[&'a str]) -> &'a str {
    items[rng.random_range(0..items.len())]
}

fn day_start(d: NaiveDate) -> DateTime<Utc> {
    d.and_time(NaiveTime::MIN).and_utc()
}

fn secs(n: i64) -> TimeDelta {
    TimeDelta::seconds(n)
}

fn cents_to_f64(c: i64) -> f64 {
    c as f64 / 100.0
}

fn round_cents(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

// ---------------------------------------------------------------------------
// Building

/// Per-customer working state.
struct Cust {
    id: u32,
    /// Range of this customer's orders in the sorted order list.
    first_order: usize,
    end_order: usize,
    channel: &'static str,
    genre: usize,
    created_at: DateTime<Utc>,
    /// E-mail click times, ascending.
    clicks: Vec<DateTime<Utc>>,
}

struct Builder {
    events: Vec<DemoEvent>,
    sessions: u64,
    end: DateTime<Utc>,
}

impl Builder {
    fn push(
        &mut self,
        cust: u32,
        kind: &str,
        channel: &str,
        at: DateTime<Utc>,
        props: serde_json::Value,
    ) {
        self.events.push(DemoEvent {
            source_customer_id: cust,
            event_type: kind.to_string(),
            channel: Some(channel.to_string()),
            occurred_at: at,
            properties: props,
        });
    }

    fn next_session(&mut self) -> String {
        self.sessions += 1;
        format!("S-{:07}", self.sessions)
    }

    /// A visit that adds to cart and leaves without buying, if it fits
    /// before the end of the data.
    fn abandoned_cart<R: Rng + ?Sized>(
        &mut self,
        rng: &mut R,
        cust: u32,
        channel: &str,
        visit: DateTime<Utc>,
        value_cents: i64,
    ) {
        let add = visit + secs(rng.random_range(60..900));
        let leave = add + secs(rng.random_range(20 * 60..120 * 60));
        if leave > self.end {
            return;
        }
        let session = self.next_session();
        let items = rng.random_range(1..=3);
        let value = cents_to_f64(value_cents.max(0) * i64::from(items));
        self.push(
            cust,
            "site_visit",
            channel,
            visit,
            json!({ "session_id": session, "page_views": rng.random_range(2..12) }),
        );
        self.push(
            cust,
            "add_to_cart",
            channel,
            add,
            json!({ "session_id": session, "items": items, "value": value }),
        );
        self.push(
            cust,
            "cart_abandon",
            channel,
            leave,
            json!({ "session_id": session, "items": items, "value": value }),
        );
    }
}

fn build(seed: u64, mut txns: Vec<Txn>) -> DemoData {
    txns.sort_by_key(|t| (t.customer_id, t.date, t.line));
    let first_date = txns.iter().map(|t| t.date).min().unwrap_or_default();
    let last_date = txns.iter().map(|t| t.date).max().unwrap_or_default();
    let start = day_start(first_date);
    let end = day_start(last_date) + TimeDelta::days(1) - secs(1);

    let catalog = build_catalog(&mut stream(seed, STREAM_CATALOG));
    let mut rng_c = stream(seed, STREAM_CUSTOMERS);
    let mut rng_o = stream(seed, STREAM_ORDERS);

    // Customers: contiguous runs of the sorted transactions.
    let mut custs: Vec<Cust> = Vec::new();
    let mut customers: Vec<DemoCustomer> = Vec::new();
    let mut used_phones: HashSet<(u16, u16)> = HashSet::new();
    for (i, t) in txns.iter().enumerate() {
        if custs.last().is_some_and(|c| c.id == t.customer_id) {
            continue;
        }
        if let Some(c) = custs.last_mut() {
            c.end_order = i;
        }
        let first = choose(&mut rng_c, FIRST_NAMES);
        let last = choose(&mut rng_c, LAST_NAMES);
        let domain = if rng_c.random_bool(0.7) {
            "example.com"
        } else {
            "example.org"
        };
        let local: String = format!("{first}.{last}")
            .chars()
            .filter(|ch| ch.is_ascii_alphanumeric() || *ch == '.')
            .collect::<String>()
            .to_ascii_lowercase();
        let (city, _, codes) = CITIES[pick(&mut rng_c, CITIES.iter().map(|c| c.1))];
        // Fictional 555-0100..0199 numbers; prefer one not yet handed out.
        let mut phone = (codes[0], 100);
        for _ in 0..6 {
            phone = (
                codes[rng_c.random_range(0..codes.len())],
                rng_c.random_range(100..200),
            );
            if used_phones.insert(phone) {
                break;
            }
        }
        let channel = pick_pair(&mut rng_c, ACQUISITION);
        let genre = pick(&mut rng_c, GENRES.iter().map(|g| g.1));
        customers.push(DemoCustomer {
            source_id: t.customer_id,
            first_name: first.to_string(),
            last_name: last.to_string(),
            email: format!("{local}.{}@{domain}", t.customer_id),
            phone: format!("+1{}555{:04}", phone.0, phone.1),
            city: city.to_string(),
            country: "US".to_string(),
            acquisition_channel: channel.to_string(),
            created_at: start,
        });
        custs.push(Cust {
            id: t.customer_id,
            first_order: i,
            end_order: txns.len(),
            channel,
            genre,
            created_at: start,
            clicks: Vec::new(),
        });
    }

    // Orders: real date at a seeded time; same-day orders keep their order.
    let mut times: Vec<DateTime<Utc>> = Vec::with_capacity(txns.len());
    let mut i = 0;
    while i < txns.len() {
        let mut j = i + 1;
        while j < txns.len()
            && txns[j].customer_id == txns[i].customer_id
            && txns[j].date == txns[i].date
        {
            j += 1;
        }
        let mut secs_of_day: Vec<i64> = (i..j)
            .map(|_| {
                let hour = pick(&mut rng_o, HOUR_WEIGHTS.iter().copied()) as i64;
                hour * 3600 + rng_o.random_range(0..3600)
            })
            .collect();
        secs_of_day.sort_unstable();
        for k in 1..secs_of_day.len() {
            secs_of_day[k] = secs_of_day[k].max(secs_of_day[k - 1] + 1).min(86_399);
        }
        let day = day_start(txns[i].date);
        times.extend(secs_of_day.into_iter().map(|s| day + secs(s)));
        i = j;
    }

    let mut orders: Vec<DemoOrder> = Vec::with_capacity(txns.len());
    for c in &custs {
        for k in c.first_order..c.end_order {
            let t = &txns[k];
            orders.push(DemoOrder {
                source_customer_id: t.customer_id,
                external_id: format!("CD-{:06}", k + 1),
                ordered_at: times[k],
                amount: cents_to_f64(t.cents),
                currency: "USD".to_string(),
                status: "completed".to_string(),
                items: split_items(&mut rng_o, t.cds, t.cents, c.genre, &catalog),
            });
        }
    }

    // Sign-up: 1 hour to 14 days before the first purchase, not before the
    // data starts (the first visit is at most 45 minutes before a purchase,
    // so it never precedes sign-up).
    for (c, out) in custs.iter_mut().zip(customers.iter_mut()) {
        let first = times[c.first_order];
        let candidate = first - secs(rng_c.random_range(3600..14 * 86_400));
        let latest = first - secs(45 * 60 + 1);
        let created = if candidate >= start {
            candidate
        } else if latest > start {
            start + secs(rng_c.random_range(0..(latest - start).num_seconds()))
        } else {
            start
        };
        c.created_at = created;
        out.created_at = created;
    }

    let mut b = Builder {
        events: Vec::with_capacity(400_000),
        sessions: 0,
        end,
    };
    let mut rng_e = stream(seed, STREAM_EVENTS);
    let days = (last_date - first_date).num_days() as usize + 1;
    let mut email_day: Vec<(i64, i64)> = vec![(0, 0); days];
    emails(
        &mut b,
        &mut rng_e,
        &mut custs,
        &times,
        &txns,
        first_date,
        &mut email_day,
    );

    // Sessions ending in a purchase, sometimes after an abandoned cart.
    for c in &custs {
        for k in c.first_order..c.end_order {
            let at = times[k];
            let t = &txns[k];
            let clicked = c
                .clicks
                .iter()
                .any(|&ck| ck < at && at - ck <= TimeDelta::days(3));
            let channel = if clicked {
                "email"
            } else if k == c.first_order || rng_e.random_bool(0.3) {
                c.channel
            } else {
                pick_pair(&mut rng_e, RETURNING)
            };
            if k > c.first_order && rng_e.random_bool(0.06) {
                let visit = at - secs(rng_e.random_range(86_400..4 * 86_400));
                if visit > c.created_at {
                    let unit = t.cents / i64::from(t.cds);
                    b.abandoned_cart(&mut rng_e, c.id, channel, visit, unit);
                }
            }
            let day0 = day_start(t.date);
            let visit = (at - secs(rng_e.random_range(5 * 60..45 * 60))).max(day0);
            let add = (at - secs(rng_e.random_range(60..5 * 60))).max(visit);
            let session = b.next_session();
            let order = &orders[k];
            b.push(
                c.id,
                "site_visit",
                channel,
                visit,
                json!({ "session_id": session, "page_views": rng_e.random_range(2..15) }),
            );
            b.push(
                c.id,
                "add_to_cart",
                channel,
                add,
                json!({ "session_id": session, "items": t.cds, "value": order.amount }),
            );
            b.push(
                c.id,
                "purchase",
                channel,
                at,
                json!({
                    "session_id": session,
                    "order_id": order.external_id,
                    "amount": order.amount,
                    "currency": "USD",
                    "items": t.cds,
                }),
            );
        }
    }

    let mut events = b.events;
    // Stable: ties keep generation order, which is itself deterministic.
    events.sort_by_cached_key(|e| (e.occurred_at, e.source_customer_id, rank(&e.event_type)));

    let spend = spend(
        &mut stream(seed, STREAM_SPEND),
        &custs,
        &times,
        first_date,
        &email_day,
    );

    DemoData {
        customers,
        orders,
        events,
        spend,
    }
}

/// Funnel position, to order events that share a timestamp.
fn rank(kind: &str) -> u8 {
    match kind {
        "email_sent" => 0,
        "email_open" => 1,
        "email_click" => 2,
        "site_visit" => 3,
        "add_to_cart" => 4,
        "cart_abandon" => 5,
        _ => 6,
    }
}

/// Monthly e-mail campaigns with recency-driven engagement; counts sends
/// and clicks per send day into `email_day`.
fn emails<R: Rng + ?Sized>(
    b: &mut Builder,
    rng: &mut R,
    custs: &mut [Cust],
    times: &[DateTime<Utc>],
    txns: &[Txn],
    first_date: NaiveDate,
    email_day: &mut [(i64, i64)],
) {
    let last_day = email_day.len().saturating_sub(1);
    let day_index = |t: DateTime<Utc>| -> usize {
        usize::try_from((t.date_naive() - first_date).num_days())
            .unwrap_or(0)
            .min(last_day)
    };
    let mut month = first_date.with_day(1).unwrap_or(first_date);
    loop {
        let send_day = month + TimeDelta::days(rng.random_range(2..10));
        let base = day_start(send_day) + secs(rng.random_range(13 * 3600..16 * 3600));
        if base > b.end {
            break;
        }
        let ym = format!("{:04}-{:02}", month.year(), month.month());
        for c in custs.iter_mut() {
            if c.created_at > base {
                continue;
            }
            let own = &times[c.first_order..c.end_order];
            let k = own.partition_point(|t| *t < base);
            let recency = if k == 0 {
                0.0
            } else {
                (base - own[k - 1]).num_seconds() as f64 / 86_400.0
            };
            let campaign = if recency <= 45.0 {
                format!("NL-{ym}")
            } else if (90.0..120.0).contains(&recency) {
                format!("WB-{ym}")
            } else {
                continue;
            };
            let sent = base + secs(rng.random_range(0..3600));
            let days_to_next = own
                .get(k)
                .map(|t| (*t - sent).num_seconds() as f64 / 86_400.0);
            let soon = |d: f64| days_to_next.is_some_and(|n| n <= d);
            b.push(
                c.id,
                "email_sent",
                "email",
                sent,
                json!({ "campaign_id": campaign }),
            );
            email_day[day_index(sent)].0 += 1;
            let p_open =
                (0.05 + 0.40 * (-recency / 60.0).exp() + if soon(14.0) { 0.2 } else { 0.0 })
                    .min(0.9);
            if !rng.random_bool(p_open) {
                continue;
            }
            let delay = (-(1.0 - rng.random::<f64>()).ln() * 8.0 * 3600.0).min(72.0 * 3600.0);
            let opened = sent + secs(delay as i64 + 30);
            if opened > b.end {
                continue;
            }
            b.push(
                c.id,
                "email_open",
                "email",
                opened,
                json!({ "campaign_id": campaign }),
            );
            let p_click =
                (0.06 + 0.30 * (-recency / 45.0).exp() + if soon(7.0) { 0.25 } else { 0.0 })
                    .min(0.9);
            if !rng.random_bool(p_click) {
                continue;
            }
            let clicked = opened + secs(rng.random_range(5..600));
            if clicked > b.end {
                continue;
            }
            b.push(
                c.id,
                "email_click",
                "email",
                clicked,
                json!({ "campaign_id": campaign }),
            );
            email_day[day_index(sent)].1 += 1;
            c.clicks.push(clicked);
            // The click lands on the site; without a purchase soon after,
            // some of these visits leave a cart behind.
            let buys_soon = own
                .get(own.partition_point(|t| *t < clicked))
                .is_some_and(|t| *t - clicked <= TimeDelta::days(2));
            let visit = clicked + secs(rng.random_range(1..30));
            if !buys_soon && rng.random_bool(0.25) {
                let last = &txns[c.first_order + k.saturating_sub(1)];
                let unit = last.cents / i64::from(last.cds);
                b.abandoned_cart(rng, c.id, "email", visit, unit);
            } else if !buys_soon && visit <= b.end {
                let session = b.next_session();
                b.push(
                    c.id,
                    "site_visit",
                    "email",
                    visit,
                    json!({ "session_id": session, "page_views": rng.random_range(1..8) }),
                );
            }
        }
        month += TimeDelta::days(32);
        month = month.with_day(1).unwrap_or(month);
    }
}

/// A generated album catalogue: for each genre, distinct "Artist - Album"
/// names, most popular first.
fn build_catalog<R: Rng + ?Sized>(rng: &mut R) -> Vec<Vec<String>> {
    let mut seen = HashSet::new();
    GENRES
        .iter()
        .map(|_| {
            let mut albums = Vec::with_capacity(ALBUMS_PER_GENRE);
            while albums.len() < ALBUMS_PER_GENRE {
                let artist = match rng.random_range(0..4) {
                    0 => format!("The {} {}", choose(rng, ADJECTIVES), choose(rng, BANDS)),
                    1 => format!("{} {}", choose(rng, FIRST_NAMES), choose(rng, LAST_NAMES)),
                    2 => format!("{} {}", choose(rng, ADJECTIVES), choose(rng, NOUNS)),
                    _ => format!(
                        "{} {} & the {}",
                        choose(rng, FIRST_NAMES),
                        choose(rng, LAST_NAMES),
                        choose(rng, BANDS)
                    ),
                };
                let album = match rng.random_range(0..4) {
                    0 => format!("{} {}", choose(rng, ADJECTIVES), choose(rng, NOUNS)),
                    1 => format!("Songs from the {}", choose(rng, NOUNS)),
                    2 => format!("{} {}", choose(rng, NOUNS), choose(rng, NOUNS)),
                    _ => format!("Live in {}", CITIES[rng.random_range(0..CITIES.len())].0),
                };
                let name = format!("{artist} - {album}");
                if seen.insert(name.clone()) {
                    albums.push(name);
                }
            }
            albums
        })
        .collect()
}

/// Splits `cds` CDs costing `cents` in total into 1..=3 lines whose
/// `quantity * unit_price` add up to `cents` exactly.
fn split_items<R: Rng + ?Sized>(
    rng: &mut R,
    cds: u32,
    cents: i64,
    favourite: usize,
    catalog: &[Vec<String>],
) -> Vec<DemoItem> {
    let n = i64::from(cds.max(1));
    let mut lines = rng.random_range(1..=cds.clamp(1, 3)) as usize;
    if lines == 1 && cents % n != 0 {
        lines = 2; // n >= 2 here, as everything divides by 1
    }
    let mut qty: Vec<i64> = vec![1; lines];
    let mut price: Vec<i64> = vec![0; lines];
    if lines == 1 {
        qty[0] = n;
        price[0] = cents / n;
    } else {
        // The last line has one CD and absorbs the remainder.
        for _ in 0..(n - lines as i64) {
            let l = rng.random_range(0..lines - 1);
            qty[l] += 1;
        }
        let base = cents / n;
        for slot in &mut price[..lines - 1] {
            // Within a few percent of the average, ending in 9 cents.
            let p = (base as f64 * rng.random_range(0.92..1.05)).round() as i64;
            *slot = if p >= 10 { p / 10 * 10 + 9 } else { p.max(0) };
        }
        let mut used: i64 = (0..lines - 1).map(|l| qty[l] * price[l]).sum();
        if used > cents {
            price[..lines - 1].fill(base);
            used = (n - 1) * base;
        }
        price[lines - 1] = cents - used;
    }
    let mut picked: Vec<&str> = Vec::with_capacity(lines);
    (0..lines)
        .map(|l| {
            let genre = if rng.random_bool(0.6) {
                favourite.min(GENRES.len() - 1)
            } else {
                pick(rng, GENRES.iter().map(|g| g.1))
            };
            let albums = &catalog[genre];
            let mut name = albums[0].as_str();
            for _ in 0..4 {
                // Popularity falls off as 1/rank.
                name = &albums[pick(rng, (0..albums.len() as u32).map(|r| 1000 / (r + 1)))];
                if !picked.contains(&name) {
                    break;
                }
            }
            picked.push(name);
            DemoItem {
                product_name: name.to_string(),
                category: GENRES[genre].0.to_string(),
                quantity: qty[l] as f64,
                unit_price: cents_to_f64(price[l]),
            }
        })
        .collect()
}

/// Daily paid-media spend, driven by acquisitions and e-mail volume.
fn spend<R: Rng + ?Sized>(
    rng: &mut R,
    custs: &[Cust],
    times: &[DateTime<Utc>],
    first_date: NaiveDate,
    email_day: &[(i64, i64)],
) -> Vec<DemoSpend> {
    let days = email_day.len();
    // New customers per day and acquisition channel.
    let mut acquired = vec![[0i64; 2]; days];
    for c in custs {
        let d = (times[c.first_order].date_naive() - first_date).num_days();
        let slot = match c.channel {
            "paid_search" => 0,
            "social" => 1,
            _ => continue,
        };
        if let Some(row) = usize::try_from(d).ok().and_then(|d| acquired.get_mut(d)) {
            row[slot] += 1;
        }
    }
    let mut out = Vec::with_capacity(days * 4);
    for (d, &(sent, clicked)) in email_day.iter().enumerate() {
        let date = first_date + TimeDelta::days(d as i64);
        let weekend = matches!(date.weekday(), Weekday::Sat | Weekday::Sun);
        let week = if weekend { 0.8 } else { 1.0 };
        let all_new: i64 = acquired[d].iter().sum();
        let mut noise = || rng.random_range(0.85..1.15);
        // (channel, spend, cost per 1000 impressions, click-through rate)
        let paid = [
            (
                "display",
                (300.0 + 4.0 * all_new as f64) * week * noise(),
                4.0,
                0.0025,
            ),
            (
                "paid_search",
                (250.0 + 28.0 * acquired[d][0] as f64) * week * noise(),
                22.0,
                0.03,
            ),
            (
                "social",
                (120.0 + 38.0 * acquired[d][1] as f64) * week * noise(),
                7.0,
                0.009,
            ),
        ];
        out.push(DemoSpend {
            date,
            channel: "email".to_string(),
            spend: round_cents(15.0 + 0.004 * sent as f64),
            impressions: sent,
            clicks: clicked,
        });
        for (channel, dollars, cpm, ctr) in paid {
            let impressions = (dollars / cpm * 1000.0).round() as i64;
            let clicks = (impressions as f64 * ctr * rng.random_range(0.8..1.2)).round() as i64;
            out.push(DemoSpend {
                date,
                channel: channel.to_string(),
                spend: round_cents(dollars),
                impressions,
                clicks,
            });
        }
    }
    out.sort_by(|a, b| (a.date, &a.channel).cmp(&(b.date, &b.channel)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    /// `awk 'NR>1{split($4,a,"."); c+=a[1]*100+a[2]} END{print c}'` over
    /// the source file.
    const TOTAL_CENTS: i64 = 250_031_563;
    /// `awk 'NR>1{s+=$3} END{print s}'`.
    const TOTAL_CDS: f64 = 167_881.0;

    fn cents(x: f64) -> i64 {
        (x * 100.0).round() as i64
    }

    /// The default data set, loaded once for all tests (load time printed).
    fn demo() -> &'static DemoData {
        static DEMO: std::sync::OnceLock<DemoData> = std::sync::OnceLock::new();
        DEMO.get_or_init(|| {
            let t = std::time::Instant::now();
            let d = load(DEMO_SEED).expect("demo data loads");
            eprintln!(
                "demo load: {:?} ({} customers, {} orders, {} events, {} spend rows)",
                t.elapsed(),
                d.customers.len(),
                d.orders.len(),
                d.events.len(),
                d.spend.len()
            );
            d
        })
    }

    #[test]
    fn counts_revenue_and_items() {
        let d = demo();
        assert_eq!(d.customers.len(), 23_570);
        assert_eq!(d.orders.len(), 69_659);
        assert!(d.events.len() < 400_000, "{} events", d.events.len());
        let total: i64 = d.orders.iter().map(|o| cents(o.amount)).sum();
        assert_eq!(total, TOTAL_CENTS);
        let mut cds = 0.0;
        for o in &d.orders {
            assert!((1..=3).contains(&o.items.len()), "{}", o.external_id);
            let lines: i64 = o
                .items
                .iter()
                .map(|i| {
                    assert_eq!(i.quantity.fract(), 0.0);
                    assert!(i.quantity >= 1.0 && i.unit_price >= 0.0);
                    i.quantity as i64 * cents(i.unit_price)
                })
                .sum();
            assert_eq!(lines, cents(o.amount), "{}", o.external_id);
            assert_eq!(o.amount, cents(o.amount) as f64 / 100.0);
            assert_eq!(o.currency, "USD");
            assert_eq!(o.status, "completed");
            cds += o.items.iter().map(|i| i.quantity).sum::<f64>();
        }
        assert_eq!(cds, TOTAL_CDS);
        assert_eq!(d.orders[0].external_id, "CD-000001");
        assert_eq!(d.orders[0].source_customer_id, 1);
        assert_eq!(d.orders[0].amount, 11.77);
        assert_eq!(d.orders[69_658].external_id, "CD-069659");
    }

    #[test]
    fn customers_events_and_dates_are_consistent() {
        let d = demo();
        let start = day_start(NaiveDate::from_ymd_opt(1997, 1, 1).expect("date"));
        let end = day_start(NaiveDate::from_ymd_opt(1998, 7, 1).expect("date"));
        let emails: HashSet<&str> = d.customers.iter().map(|c| c.email.as_str()).collect();
        assert_eq!(emails.len(), d.customers.len());
        let by_id: HashMap<u32, &DemoCustomer> =
            d.customers.iter().map(|c| (c.source_id, c)).collect();
        assert_eq!(by_id.len(), 23_570);
        for c in &d.customers {
            assert!(c.email.ends_with("@example.com") || c.email.ends_with("@example.org"));
            assert!(
                c.phone.starts_with("+1") && c.phone.len() == 12,
                "{}",
                c.phone
            );
            assert_eq!(&c.phone[5..10], "55501");
            assert_eq!(c.country, "US");
            assert!(c.created_at >= start);
        }
        let (mut first, mut last) = (end, start);
        for o in &d.orders {
            let c = by_id[&o.source_customer_id];
            assert!(c.created_at < o.ordered_at);
            first = first.min(o.ordered_at);
            last = last.max(o.ordered_at);
        }
        assert_eq!(first.date_naive(), start.date_naive());
        assert_eq!(
            last.date_naive(),
            NaiveDate::from_ymd_opt(1998, 6, 30).expect("date")
        );
        let mut kinds: HashMap<&str, usize> = HashMap::new();
        for w in d.events.windows(2) {
            assert!(w[0].occurred_at <= w[1].occurred_at);
        }
        for e in &d.events {
            let c = by_id
                .get(&e.source_customer_id)
                .expect("event customer exists");
            assert!(e.occurred_at >= c.created_at, "{e:?}");
            assert!(e.occurred_at >= start && e.occurred_at < end, "{e:?}");
            *kinds.entry(e.event_type.as_str()).or_default() += 1;
        }
        eprintln!("events by type: {kinds:?}");
        assert_eq!(kinds["purchase"], 69_659);
        for k in [
            "email_sent",
            "email_open",
            "email_click",
            "site_visit",
            "add_to_cart",
            "cart_abandon",
        ] {
            assert!(kinds.get(k).copied().unwrap_or(0) > 1000, "{k}");
        }
        let purchases: HashSet<&str> = d
            .events
            .iter()
            .filter(|e| e.event_type == "purchase")
            .filter_map(|e| e.properties["order_id"].as_str())
            .collect();
        assert_eq!(purchases.len(), 69_659);
        let days = (NaiveDate::from_ymd_opt(1998, 6, 30).expect("date")
            - NaiveDate::from_ymd_opt(1997, 1, 1).expect("date"))
        .num_days() as usize
            + 1;
        assert_eq!(d.spend.len(), days * 4);
        assert!(
            d.spend
                .iter()
                .all(|s| s.spend > 0.0 && s.clicks <= s.impressions)
        );
    }

    #[test]
    fn engagement_declines_with_recency() {
        let d = demo();
        // Open rate of newsletters vs win-back mails.
        let mut sent: HashMap<bool, usize> = HashMap::new();
        let mut opened: HashMap<bool, usize> = HashMap::new();
        for e in &d.events {
            let nl = e.properties["campaign_id"]
                .as_str()
                .is_some_and(|c| c.starts_with("NL-"));
            match e.event_type.as_str() {
                "email_sent" => *sent.entry(nl).or_default() += 1,
                "email_open" => *opened.entry(nl).or_default() += 1,
                _ => {}
            }
        }
        let rate = |nl: bool| opened[&nl] as f64 / sent[&nl] as f64;
        eprintln!(
            "open rate newsletter {:.3}, win-back {:.3}",
            rate(true),
            rate(false)
        );
        assert!(rate(true) > 2.0 * rate(false));
    }

    #[test]
    fn deterministic_and_seed_only_changes_enrichment() {
        let a = demo();
        let b = load(DEMO_SEED).expect("load");
        assert!(*a == b);
        let c = load(DEMO_SEED + 1).expect("load");
        assert_eq!(a.orders.len(), c.orders.len());
        for (x, y) in a.orders.iter().zip(&c.orders) {
            assert_eq!(x.external_id, y.external_id);
            assert_eq!(x.source_customer_id, y.source_customer_id);
            assert_eq!(x.amount, y.amount);
            assert_eq!(x.ordered_at.date_naive(), y.ordered_at.date_naive());
            let q = |o: &DemoOrder| o.items.iter().map(|i| i.quantity).sum::<f64>();
            assert_eq!(q(x), q(y));
        }
        let same_names = a
            .customers
            .iter()
            .zip(&c.customers)
            .filter(|(x, y)| x.first_name == y.first_name && x.last_name == y.last_name)
            .count();
        assert!(same_names < 100, "{same_names} names unchanged");
        assert!(a.events != c.events && a.spend != c.spend);
    }

    #[test]
    fn bad_rows_name_line_and_field() {
        let ok = "customer_id date number_of_cds dollar_value\r\n 00001 19970101  1   11.77\r\n";
        let txns = parse_transactions(ok).expect("parses");
        assert_eq!(txns.len(), 1);
        assert_eq!(txns[0].cents, 1177);
        let cases = [
            ("00001 19970101 1\n", "columns"),
            ("x1 19970101 1 1.00\n", "customer_id"),
            ("1 19971301 1 1.00\n", "date"),
            ("1 19970101 -1 1.00\n", "number_of_cds"),
            ("1 19970101 0 1.00\n", "number_of_cds"),
            ("1 19970101 1 1.234\n", "dollar_value"),
            ("1 19970101 1 -1.00\n", "dollar_value"),
        ];
        for (row, want) in cases {
            let text = format!("1 19970101 1 1.00\n{row}");
            match parse_transactions(&text) {
                Err(DemoError::Columns { line, found }) => {
                    assert_eq!((want, line, found), ("columns", 2, 3));
                }
                Err(DemoError::Field { line, field, .. }) => {
                    assert_eq!((line, field), (2, want));
                }
                other => panic!("{row:?}: {other:?}"),
            }
        }
        assert!(matches!(parse_transactions(""), Err(DemoError::Empty)));
        assert!(matches!(
            decompress(b"not gzip"),
            Err(DemoError::Decompress { .. })
        ));
        assert_eq!(parse_cents("0.5"), Some(50));
        assert_eq!(parse_cents("12"), Some(1200));
    }

    #[test]
    fn cdnow_reference_data_is_whole() {
        let purchases = cdnow_purchases().expect("purchases");
        assert_eq!(purchases.len(), 69_659);
        let master: HashSet<u32> = purchases.iter().map(|p| p.customer_id).collect();
        assert_eq!(master.len(), 23_570);
        let sample = cdnow_sample_ids().expect("ids");
        assert_eq!(sample.len(), 2_357);
        assert!(sample.is_subset(&master));
        let cents: i64 = purchases
            .iter()
            .map(|p| (p.dollars * 100.0).round() as i64)
            .sum();
        assert_eq!(cents, 250_031_563);
    }
}
