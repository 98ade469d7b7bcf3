//! Column detection: which [`Field`] each column of an imported table holds,
//! with a confidence, from its header and its values.
//!
//! # How a column is scored
//!
//! 1. **Header.** The header is normalized (camelCase split, lowercased,
//!    punctuation, `_`, `-` and spaces collapsed to single spaces:
//!    `amazon-order-id` and `AmazonOrderID` both become `amazon order id`)
//!    and looked up in a table of exact synonyms (English, Shopify,
//!    WooCommerce, Daraz, Amazon Seller Central, UCI Online Retail, South
//!    Asian and a few Bengali terms). When no exact synonym matches, token
//!    rules give a lower score (`Billing Phone Number` has `phone`), with
//!    disqualifiers (`Discount Amount`, `Shipping Price`, `Tax Total` are
//!    not an amount nor a quantity; `Product Name` is not a person).
//! 2. **Values.** Up to [`VALUE_SAMPLE`] non-empty values are checked
//!    against what the field should hold (e-mails, phone numbers, dates,
//!    money, quantities, currency codes, status words, country names,
//!    text). A header match scores `header * (0.3 + 0.7 * fit)`, so a
//!    `Mobile` column full of `Paid`/`Cancelled` falls below the threshold.
//! 3. **Values alone.** For fields whose values are distinctive (e-mail,
//!    phone numbers with a `+`/leading `0`, dates with separators, ISO
//!    currency codes, status words, country names) a column whose values
//!    fit at least 80 % gets `0.6 * fit` even when its header says nothing
//!    (a column of e-mails under `Contact`) or is empty: an empty header
//!    matches nothing from the header, and only this value-only evidence
//!    (at most 0.6) can map it.
//! 4. **Assignment.** Candidates under [`MIN_CONFIDENCE`] are dropped; the
//!    rest are assigned greedily, best confidence first (ties: leftmost
//!    column, then [`Field`] order), each field to at most one column and
//!    each column to at most one field.
//!
//! # Mappings worth knowing
//!
//! - Shopify's `Name` is the order number (`#1001`) when the export has
//!   Shopify's other columns (`Lineitem name`, `Financial Status`,
//!   `Billing Name`, ...) or its values look like `#1001`; elsewhere `Name`
//!   is a person's full name.
//! - [`Field::Amount`] prefers an order total (`Total`, `Order Total`,
//!   `Grand Total`, `GMV`, `Paid Price`) over `Subtotal`, `Item Price`,
//!   `Price` and `Unit Price`. When the only money column is a unit price
//!   (UCI Online Retail's `UnitPrice`, Daraz's `Unit Price`) it is mapped
//!   to amount all the same: the amount is then per unit, and the line
//!   value is amount × quantity.
//! - `Thana`, `Upazila`, `District`, `Zone` map to [`Field::City`].

use std::collections::HashSet;
use std::sync::LazyLock;

use regex::Regex;

use crate::Field;
use crate::values;

/// How many non-empty values of a column are examined.
pub const VALUE_SAMPLE: usize = 200;

/// Candidates with a lower confidence are not assigned.
pub const MIN_CONFIDENCE: f64 = 0.35;

/// The detection result for one column.
#[derive(Debug, Clone, serde::Serialize, schemars::JsonSchema)]
pub struct ColumnDetection {
    /// 0-based index of the column.
    pub index: usize,
    /// The header as given.
    pub header: String,
    /// The detected field; `None` when no field reached [`MIN_CONFIDENCE`]
    /// or every candidate field went to a better column.
    pub field: Option<Field>,
    /// Confidence in `0..=1` (two decimals); 0 when `field` is `None`.
    pub confidence: f64,
    /// Up to 3 distinct non-empty values (trimmed), in order of appearance.
    pub samples: Vec<String>,
}

/// Normalizes a header for matching: camelCase is split (`InvoiceNo` ->
/// `invoice no`), everything is lowercased, and whitespace, ASCII
/// punctuation and a few Unicode punctuation marks become single spaces.
fn normalize_header(raw: &str) -> String {
    let chars: Vec<char> = raw.trim().chars().collect();
    let mut out = String::with_capacity(raw.len() + 4);
    for (i, &c) in chars.iter().enumerate() {
        let separator = c.is_whitespace()
            || c.is_ascii_punctuation()
            || matches!(c, '–' | '—' | '‘' | '’' | '“' | '”' | '।' | '\u{feff}');
        if separator {
            out.push(' ');
            continue;
        }
        if c.is_uppercase() && i > 0 {
            let prev = chars[i - 1];
            let next_lower = chars.get(i + 1).is_some_and(|n| n.is_lowercase());
            if prev.is_lowercase() || prev.is_ascii_digit() || (prev.is_uppercase() && next_lower) {
                out.push(' ');
            }
        }
        out.extend(c.to_lowercase());
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

use Field::*;

/// Exact synonyms of normalized headers, with the header score.
const SYNONYMS: &[(&str, Field, f64)] = &[
    // the source's customer identifier
    ("customer id", CustomerId, 0.95),
    ("customerid", CustomerId, 0.95),
    ("customer no", CustomerId, 0.9),
    ("customer number", CustomerId, 0.9),
    ("customer code", CustomerId, 0.9),
    ("customer ref", CustomerId, 0.85),
    ("cust id", CustomerId, 0.9),
    ("client id", CustomerId, 0.9),
    ("client no", CustomerId, 0.85),
    ("buyer id", CustomerId, 0.9),
    ("member id", CustomerId, 0.85),
    ("user id", CustomerId, 0.7),
    ("contact id", CustomerId, 0.8),
    // e-mail
    ("email", Email, 0.95),
    ("e mail", Email, 0.95),
    ("email address", Email, 0.95),
    ("e mail address", Email, 0.95),
    ("customer email", Email, 0.95),
    ("buyer email", Email, 0.95),
    ("billing email", Email, 0.9),
    ("billing email address", Email, 0.9),
    ("shipping email", Email, 0.85),
    ("contact email", Email, 0.9),
    ("email id", Email, 0.9),
    ("mail", Email, 0.8),
    ("ইমেইল", Email, 0.9),
    // person
    ("full name", FullName, 0.95),
    ("customer name", FullName, 0.95),
    ("customer full name", FullName, 0.95),
    ("buyer name", FullName, 0.9),
    ("client name", FullName, 0.9),
    ("billing name", FullName, 0.9),
    ("shipping name", FullName, 0.85),
    ("bill to name", FullName, 0.85),
    ("ship to name", FullName, 0.8),
    ("recipient name", FullName, 0.85),
    ("receiver name", FullName, 0.85),
    ("contact name", FullName, 0.85),
    ("customer", FullName, 0.6),
    ("name", FullName, 0.6),
    ("নাম", FullName, 0.8),
    ("গ্রাহকের নাম", FullName, 0.95),
    ("first name", FirstName, 0.95),
    ("firstname", FirstName, 0.95),
    ("given name", FirstName, 0.9),
    ("fname", FirstName, 0.8),
    ("customer first name", FirstName, 0.95),
    ("billing first name", FirstName, 0.9),
    ("shipping first name", FirstName, 0.85),
    ("last name", LastName, 0.95),
    ("lastname", LastName, 0.95),
    ("surname", LastName, 0.9),
    ("family name", LastName, 0.9),
    ("lname", LastName, 0.8),
    ("customer last name", LastName, 0.95),
    ("billing last name", LastName, 0.9),
    ("shipping last name", LastName, 0.85),
    // phone
    ("phone", Phone, 0.95),
    ("phone number", Phone, 0.95),
    ("phone no", Phone, 0.95),
    ("mobile", Phone, 0.9),
    ("mobile no", Phone, 0.95),
    ("mobile number", Phone, 0.95),
    ("contact no", Phone, 0.9),
    ("contact number", Phone, 0.9),
    ("customer phone", Phone, 0.95),
    ("customer mobile", Phone, 0.95),
    ("billing phone", Phone, 0.9),
    ("shipping phone", Phone, 0.85),
    ("telephone", Phone, 0.9),
    ("tel", Phone, 0.8),
    ("cell", Phone, 0.7),
    ("cell phone", Phone, 0.9),
    ("whatsapp", Phone, 0.8),
    ("মোবাইল", Phone, 0.9),
    ("মোবাইল নম্বর", Phone, 0.95),
    ("ফোন", Phone, 0.9),
    // city
    ("city", City, 0.95),
    ("town", City, 0.8),
    ("customer city", City, 0.9),
    ("billing city", City, 0.9),
    ("shipping city", City, 0.85),
    ("ship city", City, 0.85),
    ("delivery city", City, 0.85),
    ("thana", City, 0.85),
    ("upazila", City, 0.85),
    ("upazilla", City, 0.85),
    ("district", City, 0.8),
    ("zone", City, 0.7),
    ("area", City, 0.55),
    ("location", City, 0.5),
    ("শহর", City, 0.9),
    ("জেলা", City, 0.85),
    ("থানা", City, 0.85),
    // country
    ("country", Country, 0.95),
    ("customer country", Country, 0.9),
    ("billing country", Country, 0.9),
    ("shipping country", Country, 0.85),
    ("ship country", Country, 0.85),
    ("country code", Country, 0.85),
    ("nation", Country, 0.7),
    ("দেশ", Country, 0.9),
    // order id
    ("order id", OrderId, 0.95),
    ("order no", OrderId, 0.95),
    ("order number", OrderId, 0.95),
    ("order", OrderId, 0.7),
    ("order ref", OrderId, 0.9),
    ("order reference", OrderId, 0.9),
    ("order code", OrderId, 0.85),
    ("amazon order id", OrderId, 0.95),
    ("invoice", OrderId, 0.85),
    ("invoice no", OrderId, 0.95),
    ("invoice number", OrderId, 0.95),
    ("invoice id", OrderId, 0.95),
    ("transaction id", OrderId, 0.85),
    ("txn id", OrderId, 0.8),
    ("receipt no", OrderId, 0.85),
    ("receipt number", OrderId, 0.85),
    ("bill no", OrderId, 0.85),
    ("sales order", OrderId, 0.8),
    ("অর্ডার নম্বর", OrderId, 0.95),
    // order date
    ("order date", OrderDate, 0.95),
    ("purchase date", OrderDate, 0.95),
    ("invoice date", OrderDate, 0.95),
    ("date", OrderDate, 0.85),
    ("created at", OrderDate, 0.85),
    ("created", OrderDate, 0.7),
    ("created date", OrderDate, 0.85),
    ("date created", OrderDate, 0.85),
    ("order created", OrderDate, 0.9),
    ("order created at", OrderDate, 0.9),
    ("order time", OrderDate, 0.9),
    ("order datetime", OrderDate, 0.9),
    ("transaction date", OrderDate, 0.9),
    ("sale date", OrderDate, 0.9),
    ("bill date", OrderDate, 0.9),
    ("purchased at", OrderDate, 0.9),
    ("placed at", OrderDate, 0.85),
    ("order placed", OrderDate, 0.85),
    ("paid at", OrderDate, 0.6),
    ("timestamp", OrderDate, 0.7),
    ("date time", OrderDate, 0.7),
    ("datetime", OrderDate, 0.7),
    ("তারিখ", OrderDate, 0.9),
    // amount
    ("total", Amount, 0.9),
    ("order total", Amount, 0.95),
    ("order total amount", Amount, 0.95),
    ("grand total", Amount, 0.95),
    ("total amount", Amount, 0.95),
    ("order amount", Amount, 0.95),
    ("amount", Amount, 0.85),
    ("total price", Amount, 0.9),
    ("net amount", Amount, 0.9),
    ("net total", Amount, 0.85),
    ("bill amount", Amount, 0.9),
    ("invoice amount", Amount, 0.9),
    ("gmv", Amount, 0.9),
    ("paid price", Amount, 0.85),
    ("paid amount", Amount, 0.9),
    ("amount paid", Amount, 0.9),
    ("total paid", Amount, 0.9),
    ("price paid", Amount, 0.85),
    ("payment amount", Amount, 0.85),
    ("sale amount", Amount, 0.9),
    ("sales amount", Amount, 0.9),
    ("total sales", Amount, 0.85),
    ("sales", Amount, 0.75),
    ("revenue", Amount, 0.85),
    ("order value", Amount, 0.9),
    ("cart total", Amount, 0.85),
    ("cod amount", Amount, 0.85),
    ("collectable amount", Amount, 0.8),
    ("item price", Amount, 0.8),
    ("price", Amount, 0.7),
    ("unit price", Amount, 0.65),
    ("value", Amount, 0.5),
    ("subtotal", Amount, 0.6),
    ("sub total", Amount, 0.6),
    ("lineitem price", Amount, 0.55),
    ("মোট", Amount, 0.85),
    ("মূল্য", Amount, 0.8),
    ("দাম", Amount, 0.8),
    ("টাকা", Amount, 0.7),
    // product
    ("product name", ProductName, 0.95),
    ("product", ProductName, 0.85),
    ("product title", ProductName, 0.9),
    ("item name", ProductName, 0.95),
    ("item", ProductName, 0.75),
    ("item title", ProductName, 0.9),
    ("lineitem name", ProductName, 0.95),
    ("line item name", ProductName, 0.95),
    ("description", ProductName, 0.7),
    ("product description", ProductName, 0.8),
    ("item description", ProductName, 0.8),
    ("sku name", ProductName, 0.8),
    ("title", ProductName, 0.55),
    ("article", ProductName, 0.6),
    ("পণ্য", ProductName, 0.85),
    ("পণ্যের নাম", ProductName, 0.95),
    // status
    ("status", Status, 0.9),
    ("order status", Status, 0.95),
    ("order state", Status, 0.85),
    ("financial status", Status, 0.9),
    ("payment status", Status, 0.85),
    ("fulfillment status", Status, 0.8),
    ("delivery status", Status, 0.85),
    ("shipment status", Status, 0.8),
    ("অবস্থা", Status, 0.8),
    // quantity
    ("quantity", Quantity, 0.95),
    ("qty", Quantity, 0.95),
    ("item quantity", Quantity, 0.95),
    ("lineitem quantity", Quantity, 0.95),
    ("line item quantity", Quantity, 0.95),
    ("quantity purchased", Quantity, 0.95),
    ("quantity ordered", Quantity, 0.95),
    ("qty ordered", Quantity, 0.95),
    ("order quantity", Quantity, 0.9),
    ("units", Quantity, 0.8),
    ("pcs", Quantity, 0.8),
    ("no of items", Quantity, 0.85),
    ("number of items", Quantity, 0.85),
    ("count", Quantity, 0.5),
    ("পরিমাণ", Quantity, 0.85),
    // currency
    ("currency", Currency, 0.95),
    ("currency code", Currency, 0.95),
    ("ccy", Currency, 0.85),
    ("curr", Currency, 0.7),
    ("মুদ্রা", Currency, 0.9),
];

/// Headers that mark a Shopify orders export: with one of them present,
/// `Name` is the order number.
const SHOPIFY_MARKERS: &[&str] = &[
    "lineitem name",
    "lineitem quantity",
    "financial status",
    "fulfillment status",
    "billing name",
    "shipping name",
];

/// Token rules for headers without an exact synonym.
fn fallback_header(norm: &str) -> Vec<(Field, f64)> {
    let tokens: HashSet<&str> = norm.split(' ').collect();
    let has = |t: &str| tokens.contains(t);
    let any = |ts: &[&str]| ts.iter().any(|t| tokens.contains(t));
    let phrase = |p: &str| format!(" {norm} ").contains(&format!(" {p} "));
    let mut out = Vec::new();

    let not_money = any(&[
        "discount",
        "discounts",
        "tax",
        "taxes",
        "vat",
        "shipping",
        "fee",
        "fees",
        "refund",
        "refunded",
        "commission",
        "weight",
        "id",
        "code",
        "sku",
        "rate",
        "percent",
        "pct",
    ]);

    if any(&["email", "mail"]) || phrase("e mail") {
        out.push((Email, 0.8));
    }
    if phrase("first name") || phrase("given name") {
        out.push((FirstName, 0.8));
    } else if phrase("last name") || any(&["surname"]) || phrase("family name") {
        out.push((LastName, 0.8));
    } else if has("name")
        && !any(&[
            "product",
            "item",
            "lineitem",
            "company",
            "shop",
            "store",
            "brand",
            "category",
            "file",
            "user",
            "seller",
            "vendor",
            "business",
            "campaign",
            "sku",
            "variant",
            "courier",
            "warehouse",
            "payment",
            "method",
            "street",
            "city",
            "country",
            "bank",
        ])
    {
        out.push((FullName, 0.65));
    }
    if any(&[
        "phone",
        "mobile",
        "telephone",
        "tel",
        "cell",
        "whatsapp",
        "msisdn",
    ]) || (has("contact") && any(&["no", "number", "num"]))
    {
        out.push((Phone, 0.8));
    }
    if any(&["city", "town", "thana", "upazila", "upazilla", "district"])
        && !any(&["zip", "postal", "postcode", "code", "id"])
    {
        out.push((City, 0.75));
    }
    if has("country") {
        out.push((Country, 0.75));
    }
    if any(&["currency", "ccy"]) {
        out.push((Currency, 0.8));
    }
    if has("status") {
        out.push((Status, 0.75));
    }
    if any(&["qty", "quantity", "units"]) && !not_money {
        out.push((Quantity, 0.75));
    }
    let dateish = any(&["date", "time", "timestamp", "datetime"])
        || (tokens.len() > 1 && norm.ends_with(" at"));
    if dateish {
        let score = if any(&[
            "updated", "modified", "birth", "dob", "due", "expiry", "expires",
        ]) {
            0.35
        } else if any(&[
            "order",
            "purchase",
            "invoice",
            "created",
            "placed",
            "transaction",
        ]) {
            0.75
        } else {
            0.55
        };
        out.push((OrderDate, score));
    }
    if any(&["customer", "client", "buyer", "member", "cust"])
        && any(&["id", "no", "number", "num", "ref", "code"])
        && !any(&[
            "order", "invoice", "phone", "mobile", "contact", "tax", "vat",
        ])
    {
        out.push((CustomerId, 0.8));
    }
    if any(&["order", "invoice", "transaction", "receipt"])
        && any(&["id", "no", "number", "num", "ref", "reference", "code"])
    {
        out.push((OrderId, if has("item") { 0.5 } else { 0.75 }));
    }
    let productish = (any(&["product", "item", "lineitem", "article"])
        && any(&["name", "title", "description", "desc"]))
        || (has("product") && tokens.len() <= 2);
    let product_attribute = any(&[
        "id", "sku", "code", "category", "type", "url", "image", "price", "quantity", "qty",
        "weight",
    ]);
    if productish && !product_attribute {
        out.push((ProductName, 0.75));
    }
    if any(&[
        "total", "amount", "price", "revenue", "gmv", "sales", "paid", "subtotal", "value",
    ]) && !not_money
    {
        let score = if any(&["subtotal", "sub", "unit"]) {
            0.5
        } else {
            0.6
        };
        out.push((Amount, score));
    }
    out
}

/// Header candidates for one column.
fn header_candidates(norm: &str, shopify: bool) -> Vec<(Field, f64)> {
    if norm.is_empty() {
        return Vec::new();
    }
    if norm == "name" && shopify {
        return vec![(OrderId, 0.9)];
    }
    let exact: Vec<(Field, f64)> = SYNONYMS
        .iter()
        .filter(|(s, _, _)| *s == norm)
        .map(|&(_, f, score)| (f, score))
        .collect();
    if exact.is_empty() {
        fallback_header(norm)
    } else {
        exact
    }
}

/// Status words (normalized: lowercase, `-`/`_` as spaces).
const STATUS_WORDS: &[&str] = &[
    "paid",
    "unpaid",
    "pending",
    "cancelled",
    "canceled",
    "delivered",
    "shipped",
    "completed",
    "complete",
    "processing",
    "refunded",
    "partially refunded",
    "fulfilled",
    "unfulfilled",
    "partially fulfilled",
    "partial",
    "returned",
    "failed",
    "on hold",
    "authorized",
    "voided",
    "confirmed",
    "ready to ship",
    "open",
    "closed",
    "in transit",
    "out for delivery",
    "packed",
    "awaiting payment",
    "draft",
    "archived",
    "approved",
    "rejected",
    "lost",
    "expired",
    "success",
    "successful",
    "trash",
    "shipped delivered to buyer",
    "shipped returned to seller",
    "unshipped",
    "new",
    "active",
    "inactive",
];

fn is_status_word(v: &str) -> bool {
    let norm = v.trim().to_lowercase().replace(['-', '_'], " ");
    let norm = norm.split_whitespace().collect::<Vec<_>>().join(" ");
    STATUS_WORDS.contains(&norm.as_str())
}

static ORDER_NUMBER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^#\s*[A-Za-z0-9-]*\d[A-Za-z0-9-]*$").expect("a valid built-in regular expression")
});

/// What the sampled values of a column look like (fractions of non-empty
/// values).
#[derive(Debug, Default)]
struct ValueStats {
    n: usize,
    email: f64,
    phone: f64,
    phone_strong: f64,
    date_any: f64,
    date_strict: f64,
    money: f64,
    quantity: f64,
    currency: f64,
    status: f64,
    country: f64,
    text: f64,
    has_digit: f64,
    hash_number: f64,
}

fn is_strong_phone(v: &str) -> bool {
    let t = values::normalize_digits(v.trim());
    let digits = t.chars().filter(char::is_ascii_digit).count();
    if !(9..=15).contains(&digits) || values::normalize_phone(&t, None).is_err() {
        return false;
    }
    let separated = t.contains([' ', '-', '(']);
    t.starts_with('+') || t.starts_with("00") || (t.starts_with('0') && digits >= 10) || separated
}

fn is_strict_date(v: &str) -> bool {
    let t = values::normalize_digits(v.trim());
    if t.chars().all(|c| c.is_ascii_digit() || c == '.') {
        // Pure numbers are dates only as YYYYMMDD in a plausible range.
        return t.len() == 8
            && &*t >= "19000101"
            && &*t <= "21001231"
            && values::parse_datetime(&t, None).is_ok();
    }
    values::parse_datetime(&t, Some(values::DateOrder::DayFirst)).is_ok()
        || values::parse_datetime(&t, Some(values::DateOrder::MonthFirst)).is_ok()
}

fn value_stats(rows: &[Vec<String>], col: usize) -> (ValueStats, Vec<String>) {
    let mut stats = ValueStats::default();
    let mut samples: Vec<String> = Vec::new();
    let mut counts = [0usize; 13];
    for v in rows
        .iter()
        .filter_map(|r| r.get(col))
        .map(|v| v.trim())
        .filter(|v| !v.is_empty())
        .take(VALUE_SAMPLE)
    {
        stats.n += 1;
        if samples.len() < 3 && !samples.iter().any(|s| s == v) {
            samples.push(v.to_owned());
        }
        let email = values::looks_like_email(v);
        let has_letter = v.chars().any(char::is_alphabetic);
        let checks = [
            email,
            values::normalize_phone(v, None).is_ok(),
            is_strong_phone(v),
            values::parse_datetime(v, Some(values::DateOrder::DayFirst)).is_ok()
                || values::parse_datetime(v, Some(values::DateOrder::MonthFirst)).is_ok(),
            is_strict_date(v),
            values::parse_money(v).is_ok(),
            values::parse_quantity(v).is_ok(),
            v.chars().count() <= 4 && values::currency_code(v).is_some(),
            is_status_word(v),
            values::country_code(v).is_some(),
            has_letter && !email && v.chars().count() <= 200,
            values::normalize_digits(v)
                .chars()
                .any(|c| c.is_ascii_digit()),
            ORDER_NUMBER.is_match(v),
        ];
        for (count, hit) in counts.iter_mut().zip(checks) {
            *count += usize::from(hit);
        }
    }
    if stats.n > 0 {
        let n = stats.n as f64;
        let f = |i: usize| counts[i] as f64 / n;
        stats.email = f(0);
        stats.phone = f(1);
        stats.phone_strong = f(2);
        stats.date_any = f(3);
        stats.date_strict = f(4);
        stats.money = f(5);
        stats.quantity = f(6);
        stats.currency = f(7);
        stats.status = f(8);
        stats.country = f(9);
        stats.text = f(10);
        stats.has_digit = f(11);
        stats.hash_number = f(12);
    }
    (stats, samples)
}

/// How well the values fit a field a header suggested, in `0..=1`.
fn header_fit(field: Field, s: &ValueStats) -> f64 {
    if s.n == 0 {
        return 0.5;
    }
    match field {
        Email => s.email,
        Phone => s.phone,
        OrderDate => s.date_any,
        Amount => s.money,
        Quantity => s.quantity,
        Currency => s.currency,
        Status | Country | City | FullName | FirstName | LastName | ProductName => s.text,
        OrderId | CustomerId => s.has_digit,
    }
}

/// Value-only evidence for distinctive fields: `(field, fit)`.
fn value_candidates(s: &ValueStats) -> Vec<(Field, f64)> {
    if s.n == 0 {
        return Vec::new();
    }
    [
        (Email, s.email),
        (Phone, s.phone_strong),
        (OrderDate, s.date_strict),
        (Currency, s.currency),
        (Status, s.status),
        (Country, s.country),
    ]
    .into_iter()
    .filter(|&(_, fit)| fit >= 0.8)
    .collect()
}

fn round2(x: f64) -> f64 {
    (x.clamp(0.0, 1.0) * 100.0).round() / 100.0
}

/// Detects the field of each column from its header and values.
///
/// Returns one [`ColumnDetection`] per header, in order; `rows` may be
/// ragged (missing cells count as empty) and only the first
/// [`VALUE_SAMPLE`] non-empty values of a column are examined. Each field is
/// assigned to at most one column; see the [module docs](self) for the
/// scoring, the tie-break and the mappings.
pub fn detect_columns(headers: &[String], rows: &[Vec<String>]) -> Vec<ColumnDetection> {
    let norms: Vec<String> = headers.iter().map(|h| normalize_header(h)).collect();
    let shopify = norms.iter().any(|n| SHOPIFY_MARKERS.contains(&n.as_str()));

    let mut candidates: Vec<(f64, usize, Field)> = Vec::new();
    let mut samples_by_col = Vec::with_capacity(headers.len());
    for (col, norm) in norms.iter().enumerate() {
        let (stats, samples) = value_stats(rows, col);
        samples_by_col.push(samples);
        let mut best: Vec<(Field, f64)> = Vec::new();
        let mut offer = |field: Field, conf: f64| match best.iter_mut().find(|(f, _)| *f == field) {
            Some((_, c)) => *c = c.max(conf),
            None => best.push((field, conf)),
        };
        for (field, score) in header_candidates(norm, shopify) {
            offer(field, score * (0.3 + 0.7 * header_fit(field, &stats)));
        }
        if norm == "name" && stats.n > 0 && stats.hash_number >= 0.8 {
            offer(OrderId, 0.85);
        }
        for (field, fit) in value_candidates(&stats) {
            offer(field, 0.6 * fit);
        }
        candidates.extend(
            best.into_iter()
                .filter(|&(_, c)| c >= MIN_CONFIDENCE)
                .map(|(f, c)| (round2(c), col, f)),
        );
    }

    candidates.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
    let mut assigned: Vec<Option<(Field, f64)>> = vec![None; headers.len()];
    let mut used: HashSet<Field> = HashSet::new();
    for (conf, col, field) in candidates {
        if assigned[col].is_none() && !used.contains(&field) {
            assigned[col] = Some((field, conf));
            used.insert(field);
        }
    }

    headers
        .iter()
        .zip(assigned)
        .zip(samples_by_col)
        .enumerate()
        .map(|(index, ((header, assignment), samples))| ColumnDetection {
            index,
            header: header.clone(),
            field: assignment.map(|(f, _)| f),
            confidence: assignment.map_or(0.0, |(_, c)| c),
            samples,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(xs: &[&str]) -> Vec<String> {
        xs.iter().map(|s| (*s).to_owned()).collect()
    }

    fn detect(headers: &[&str], rows: &[&[&str]]) -> Vec<ColumnDetection> {
        let rows: Vec<Vec<String>> = rows.iter().map(|r| strings(r)).collect();
        detect_columns(&strings(headers), &rows)
    }

    fn field_of(d: &[ColumnDetection], header: &str) -> Option<Field> {
        d.iter().find(|c| c.header == header).and_then(|c| c.field)
    }

    #[test]
    fn header_normalization() {
        assert_eq!(normalize_header("amazon-order-id"), "amazon order id");
        assert_eq!(normalize_header("InvoiceNo"), "invoice no");
        assert_eq!(normalize_header("CustomerID"), "customer id");
        assert_eq!(normalize_header("  Billing_Name "), "billing name");
        assert_eq!(normalize_header("E-Mail Address:"), "e mail address");
        assert_eq!(normalize_header("Order #"), "order");
        assert_eq!(normalize_header("মোবাইল নম্বর"), "মোবাইল নম্বর");
    }

    #[test]
    fn plain_english_headers() {
        let d = detect(
            &[
                "Email", "Name", "Phone", "City", "Country", "Order ID", "Date", "Amount", "Qty",
            ],
            &[&[
                "a@b.com",
                "Rahim Uddin",
                "+8801712345678",
                "Dhaka",
                "Bangladesh",
                "A-1",
                "2024-03-05",
                "1,200.00",
                "2",
            ]],
        );
        let fields: Vec<Option<Field>> = d.iter().map(|c| c.field).collect();
        assert_eq!(
            fields,
            vec![
                Some(Email),
                Some(FullName),
                Some(Phone),
                Some(City),
                Some(Country),
                Some(OrderId),
                Some(OrderDate),
                Some(Amount),
                Some(Quantity)
            ]
        );
        assert!(
            d.iter()
                .filter(|c| c.header != "Name")
                .all(|c| c.confidence > 0.8 && c.confidence <= 1.0),
            "{d:?}"
        );
        assert!(
            d[1].confidence >= 0.5,
            "a bare Name is a weaker person signal"
        );
    }

    #[test]
    fn shopify_name_is_the_order_number_and_billing_name_the_person() {
        let d = detect(
            &[
                "Name",
                "Email",
                "Financial Status",
                "Subtotal",
                "Discount Amount",
                "Total",
                "Billing Name",
                "Shipping Name",
                "Lineitem name",
                "Lineitem quantity",
            ],
            &[
                &[
                    "#1001", "a@b.com", "paid", "10.00", "0.00", "12.00", "Ann Lee", "Ann Lee",
                    "Mug", "2",
                ],
                &[
                    "#1002", "c@d.com", "refunded", "5.00", "1.00", "6.00", "Bo Chan", "Bo Chan",
                    "Cup", "1",
                ],
            ],
        );
        assert_eq!(field_of(&d, "Name"), Some(OrderId));
        assert_eq!(field_of(&d, "Billing Name"), Some(FullName));
        assert_eq!(field_of(&d, "Shipping Name"), None);
        assert_eq!(field_of(&d, "Total"), Some(Amount));
        assert_eq!(field_of(&d, "Subtotal"), None);
        assert_eq!(field_of(&d, "Discount Amount"), None);
        assert_eq!(field_of(&d, "Lineitem name"), Some(ProductName));
        assert_eq!(field_of(&d, "Lineitem quantity"), Some(Quantity));
        assert_eq!(field_of(&d, "Financial Status"), Some(Status));
    }

    #[test]
    fn name_with_hash_values_is_an_order_number_even_without_shopify_columns() {
        let d = detect(&["Name", "Total"], &[&["#1001", "5"], &["#1002", "6"]]);
        assert_eq!(field_of(&d, "Name"), Some(OrderId));
        let d = detect(&["Name", "Total"], &[&["Ann Lee", "5"]]);
        assert_eq!(field_of(&d, "Name"), Some(FullName));
    }

    #[test]
    fn discount_amount_is_neither_quantity_nor_amount() {
        let d = detect(&["Discount Amount"], &[&["1"], &["2"], &["0"]]);
        assert_eq!(d[0].field, None);
        assert_eq!(d[0].confidence, 0.0);
    }

    #[test]
    fn status_values_under_a_phone_header_are_not_a_phone() {
        let rows: &[&[&str]] = &[
            &["Cancelled", "Paid"],
            &["Paid", "Cancelled"],
            &["Pending", "Paid"],
        ];
        let d = detect(&["Mobile", "Payment"], rows);
        assert_eq!(d[0].field, Some(Status));
        assert_eq!(
            d[1].field, None,
            "status already taken by the leftmost column"
        );
        let d = detect(&["Payment"], &[&["Cancelled"], &["Paid"]]);
        assert_eq!(d[0].field, Some(Status));
    }

    #[test]
    fn product_name_is_not_a_person() {
        let d = detect(
            &["Product Name", "Customer Name"],
            &[&["Blue Mug", "Ann Lee"]],
        );
        assert_eq!(d[0].field, Some(ProductName));
        assert_eq!(d[1].field, Some(FullName));
        let d = detect(&["Product Name"], &[&["Blue Mug"]]);
        assert_eq!(d[0].field, Some(ProductName));
    }

    #[test]
    fn values_alone_detect_emails_under_any_header_but_weakly() {
        let rows: &[&[&str]] = &[&["a@b.com", "x"], &["c@d.org", "y"]];
        let d = detect(&["Contact", ""], rows);
        assert_eq!(d[0].field, Some(Email));
        assert!(
            d[0].confidence <= 0.6 && d[0].confidence >= 0.5,
            "{}",
            d[0].confidence
        );
        assert_eq!(d[1].field, None, "empty header, plain text values");
        let d = detect(&[""], &[&["2024-03-05 10:00"], &["2024-03-06 11:00"]]);
        assert_eq!(d[0].field, Some(OrderDate));
        let d = detect(&["Reference"], &[&["17850"], &["13047"]]);
        assert_eq!(
            d[0].field, None,
            "numbers are not dates without a date header"
        );
    }

    #[test]
    fn subtotal_loses_to_total_and_unit_price_to_paid_price() {
        let d = detect(&["Subtotal", "Total"], &[&["10", "12"]]);
        assert_eq!(d[1].field, Some(Amount));
        assert_eq!(d[0].field, None);
        let d = detect(&["Unit Price", "Paid Price"], &[&["10", "12"]]);
        assert_eq!(d[1].field, Some(Amount));
        let d = detect(&["UnitPrice"], &[&["2.55"]]);
        assert_eq!(d[0].field, Some(Amount));
    }

    #[test]
    fn south_asian_terms() {
        let d = detect(
            &[
                "Customer Name",
                "Mobile",
                "Thana",
                "District",
                "GMV",
                "Contact No",
            ],
            &[&[
                "রহিম উদ্দিন",
                "০১৭১২৩৪৫৬৭৮",
                "Mirpur",
                "Dhaka",
                "৳১,২০০",
                "01812345678",
            ]],
        );
        assert_eq!(field_of(&d, "Customer Name"), Some(FullName));
        assert_eq!(field_of(&d, "Mobile"), Some(Phone));
        assert_eq!(field_of(&d, "Thana"), Some(City));
        assert_eq!(field_of(&d, "District"), None, "city taken by Thana");
        assert_eq!(field_of(&d, "GMV"), Some(Amount));
        for h in ["Grand Total", "Net Amount", "Bill Amount"] {
            let d = detect(&[h], &[&["1200"]]);
            assert_eq!(d[0].field, Some(Amount), "{h}");
        }
        for h in ["Upazila", "Zone"] {
            assert_eq!(detect(&[h], &[&["Savar"]])[0].field, Some(City), "{h}");
        }
        for h in ["Contact No", "Phone No"] {
            assert_eq!(
                detect(&[h], &[&["01712345678"]])[0].field,
                Some(Phone),
                "{h}"
            );
        }
    }

    #[test]
    fn samples_are_distinct_non_empty_and_at_most_three() {
        let d = detect(
            &["City"],
            &[
                &["Dhaka"],
                &[""],
                &["Dhaka"],
                &["Sylhet"],
                &[" Khulna "],
                &["Rajshahi"],
            ],
        );
        assert_eq!(d[0].samples, strings(&["Dhaka", "Sylhet", "Khulna"]));
        let d = detect(&["City", "Extra"], &[&["Dhaka"]]);
        assert!(d[1].samples.is_empty());
    }

    #[test]
    fn phones_from_values_and_shipping_name_when_alone() {
        let d = detect(
            &["Contact", "Shipping Name", "Notes"],
            &[
                &["+880 1712-345678", "Ann Lee", "ring twice"],
                &["01812345678", "Bo Chan", "gift"],
            ],
        );
        assert_eq!(d[0].field, Some(Phone));
        assert!(d[0].confidence <= 0.6);
        assert_eq!(d[1].field, Some(FullName));
        assert_eq!(d[2].field, None);
    }

    #[test]
    fn currency_and_country_from_values() {
        let d = detect(
            &["cur", "where"],
            &[&["BDT", "Bangladesh"], &["USD", "India"]],
        );
        assert_eq!(d[0].field, Some(Currency));
        assert_eq!(d[1].field, Some(Country));
    }
}
