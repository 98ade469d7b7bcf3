//! The import pipeline: detect columns, parse and validate every row, resolve
//! customer identities and orders, and write everything in one transaction.
//!
//! The file is read twice, streamed both times, so memory stays bounded by the
//! number of distinct customers and order ids rather than the file size:
//! 1. a scan that detects the columns (from the first [`SAMPLE_ROWS`] rows),
//!    infers the day/month order of the date column from all its unambiguous
//!    values, and records the last row of every order id;
//! 2. the import proper, which keeps an order open until its last row has been
//!    seen (export rows that continue an order — line items with blank totals —
//!    join it, wherever they are in the file) and flushes finished orders to
//!    the open transaction in chunks. Parsing runs on a blocking thread and
//!    hands the chunks through a short queue to the task that writes them, so
//!    parsing and the database work overlap.
//!
//! Identity: a row's customer is found by the source's own customer id when
//! the file has one, then by e-mail (case-insensitive), then by normalized
//! phone, then by full name (case-insensitive) — each later key only where
//! it does not contradict a known customer id, e-mail or phone. A field
//! filled in a later row overwrites the earlier value, so re-importing the same
//! file changes nothing. Orders are keyed by (organization, order id).
//!
//! Amounts: the amount column's header says what it holds (see `AmountKind`).
//! A unit price (`UnitPrice`, `Price`) makes an order worth the sum of price ×
//! quantity over its lines; a line total (`item-price`, `Paid Price`) the sum
//! of its lines; an order total (`Total`, `Grand Total`, `GMV`, `Amount`) is
//! the first non-blank value on the order's lines, unless every line carries
//! a different value, in which case they are line totals and are summed.
//! Negative amounts are refunds and kept.
//! Files without an order id column get a stable id per row derived from its
//! contents (`row-<hash>`, with `-2`, `-3`, ... for repeats of an identical
//! row), so re-imports stay idempotent.

use std::collections::HashMap;
use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;

use aima_runtime::store::{
    CustomerIdentity, CustomerUpdate, ImportRecord, NewCustomer, NewOrder, NewOrderItem,
    OrderIdentity, OrderUpdate, Store, StoreTx, round_money,
};
use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use crate::detect::{ColumnDetection, detect_columns};
use crate::error::IngestError;
use crate::field::Field;
use crate::source::{Record, open_path};
use crate::values::{
    DateOrder, DateOrderVotes, country_code, currency_code, normalize_digits, normalize_email,
    normalize_phone, parse_datetime, parse_money, parse_quantity,
};

/// Rows read from the top of the file for column detection.
pub const SAMPLE_ROWS: usize = 1000;
/// Finished orders buffered before they are written to the transaction.
const FLUSH_ORDERS: usize = 5000;
/// Problems listed in a preview (all rejected rows are still counted).
const PREVIEW_PROBLEMS: usize = 100;

/// A user's correction of the detected mapping: `Header=field`, or
/// `Header=` / `Header=ignore` to leave a column out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MappingOverride {
    /// The column header, matched case-insensitively after trimming.
    pub header: String,
    /// The field it holds, or `None` to ignore the column.
    pub field: Option<Field>,
}

impl FromStr for MappingOverride {
    type Err = IngestError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let Some((header, field)) = s.rsplit_once('=') else {
            return Err(IngestError::Mapping {
                message: format!("'{s}' is not HEADER=FIELD (e.g. 'Billing Name=full_name')"),
            });
        };
        let field = field.trim();
        let field = if field.is_empty() || field.eq_ignore_ascii_case("ignore") {
            None
        } else {
            Some(field.parse::<Field>().map_err(|e| IngestError::Mapping {
                message: format!("'{s}': {e}"),
            })?)
        };
        Ok(Self {
            header: header.trim().to_owned(),
            field,
        })
    }
}

/// How to import.
#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    /// Write nothing if any row is bad.
    pub strict: bool,
    /// Corrections to the detected mapping.
    pub overrides: Vec<MappingOverride>,
    /// Day/month order of the date column; inferred when `None`.
    pub date_order: Option<DateOrder>,
    /// Country (ISO alpha-2 or name) for phone numbers of rows without one.
    pub default_country: Option<String>,
    /// Currency (ISO 4217) for amounts without a symbol or currency column.
    pub default_currency: Option<String>,
    /// What to record as the import's source (file name or URL).
    pub source_name: String,
}

/// A row that was not imported, with the reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct RejectedRow {
    /// 1-based row number in the file; the header is row 1.
    pub row: u64,
    /// What is wrong, naming the field and the value.
    pub reason: String,
}

/// A problem found while previewing: a bad row (with its number) or a
/// mapping issue (row `None`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Problem {
    /// The row, when the problem is one row's.
    pub row: Option<u64>,
    /// What is wrong.
    pub message: String,
}

/// Counts of what an import wrote (or, in a preview, would write).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct ImportReport {
    /// New customers.
    pub customers_created: u64,
    /// Existing customers whose details changed.
    pub customers_updated: u64,
    /// New orders.
    pub orders_created: u64,
    /// Existing orders whose details changed.
    pub orders_updated: u64,
    /// Every rejected row, in file order.
    pub rows_rejected: Vec<RejectedRow>,
}

/// What an import would do, without writing anything.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Preview {
    /// The mapping, after overrides, one entry per column in file order.
    pub columns: Vec<ColumnDetection>,
    /// Data rows in the file (the header not counted).
    pub rows: u64,
    /// Mapping problems, then bad rows (at most 100 listed).
    pub problems: Vec<Problem>,
    /// Customers that would be created.
    pub customers_created: u64,
    /// Customers that would be updated.
    pub customers_updated: u64,
    /// Orders that would be created.
    pub orders_created: u64,
    /// Orders that would be updated.
    pub orders_updated: u64,
    /// Rows that would be rejected.
    pub rows_rejected: u64,
    /// The inferred (or given) day/month order of the date column.
    pub date_order: Option<&'static str>,
}

/// Progress of a long import: rows processed of the total (the total is known
/// after the first scan).
pub type ProgressFn<'a> = &'a mut (dyn FnMut(u64, u64) + Send);

/// Previews the import of `path` into `org`: the mapping, problems and counts.
/// Reads the store (to match existing customers and orders) but writes nothing.
pub async fn preview(
    store: &Store,
    org: Uuid,
    path: &Path,
    options: &ImportOptions,
) -> Result<Preview, IngestError> {
    let scan = Arc::new(scan(path, options)?);
    let mut problems = scan.mapping_problems();
    let run = run(
        store,
        org,
        path,
        options,
        Arc::clone(&scan),
        None,
        &mut |_, _| {},
    )
    .await?;
    problems.extend(
        run.rows_rejected
            .iter()
            .take(PREVIEW_PROBLEMS)
            .map(|r| Problem {
                row: Some(r.row),
                message: r.reason.clone(),
            }),
    );
    Ok(Preview {
        columns: scan.columns.clone(),
        rows: scan.rows,
        problems,
        customers_created: run.customers_created,
        customers_updated: run.customers_updated,
        orders_created: run.orders_created,
        orders_updated: run.orders_updated,
        rows_rejected: run.rows_rejected.len() as u64,
        date_order: scan.date_order.map(date_order_name),
    })
}

/// Imports `path` into `org` in one transaction. Bad rows are reported and
/// skipped, or with `options.strict` the whole import is refused and nothing
/// is written. A file with no usable columns is refused.
pub async fn import(
    store: &Store,
    org: Uuid,
    path: &Path,
    options: &ImportOptions,
    progress: ProgressFn<'_>,
) -> Result<ImportReport, IngestError> {
    let scan = Arc::new(scan(path, options)?);
    if let Some(problem) = scan.fatal_problem() {
        return Err(IngestError::Mapping { message: problem });
    }
    let started_at = Utc::now();
    let mut tx = store.begin().await?;
    // A large import into small tables builds its secondary indexes once at
    // the end instead of row by row.
    tx.defer_secondary_indexes(scan.rows).await?;
    let report = match run(
        store,
        org,
        path,
        options,
        Arc::clone(&scan),
        Some(&mut tx),
        progress,
    )
    .await
    {
        Ok(report) => report,
        Err(e) => {
            tx.rollback().await?;
            return Err(e);
        }
    };
    if options.strict && !report.rows_rejected.is_empty() {
        tx.rollback().await?;
        let first = &report.rows_rejected[0];
        return Err(IngestError::Strict {
            rejected: report.rows_rejected.len(),
            first: format!("row {}: {}", first.row, first.reason),
        });
    }
    tx.insert_import(&ImportRecord {
        id: Uuid::now_v7(),
        organization_id: org,
        source: options.source_name.clone(),
        status: "succeeded".to_owned(),
        rows_total: scan.rows as i64,
        rows_rejected: report.rows_rejected.len() as i64,
        customers_created: report.customers_created as i64,
        customers_updated: report.customers_updated as i64,
        orders_created: report.orders_created as i64,
        orders_updated: report.orders_updated as i64,
        started_at,
        finished_at: Some(Utc::now()),
        error: None,
    })
    .await?;
    tx.commit().await?;
    Ok(report)
}

fn date_order_name(o: DateOrder) -> &'static str {
    match o {
        DateOrder::DayFirst => "day-first",
        DateOrder::MonthFirst => "month-first",
    }
}

/// What the amount column holds, read from its header.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
enum AmountKind {
    /// The order's total, repeated or blank on its other lines (`Total`,
    /// `Order Total`, `Grand Total`, `GMV`, `Amount`).
    #[default]
    OrderTotal,
    /// One line's total (`item-price`, `Line Total`, `Paid Price`): an
    /// order's amount is the sum over its lines.
    LineTotal,
    /// The price of one unit (`UnitPrice`, `Price`, `Price Each`): a line is
    /// worth price × quantity.
    UnitPrice,
}

impl AmountKind {
    fn of_header(header: &str) -> Self {
        let h = header.to_lowercase();
        let has = |w: &str| h.contains(w);
        if has("unit") || has("each") || has("per item") {
            Self::UnitPrice
        } else if has("item") || has("line") || has("paid") {
            Self::LineTotal
        } else if has("total") || has("grand") || has("gmv") || has("order") {
            Self::OrderTotal
        } else if has("price") || has("rate") {
            Self::UnitPrice
        } else {
            Self::OrderTotal
        }
    }
}

/// Column positions of the mapped fields.
#[derive(Debug, Clone, Default)]
struct Mapping {
    cols: HashMap<Field, usize>,
    /// What the amount column holds.
    amount_kind: AmountKind,
}

impl Mapping {
    fn get<'r>(&self, field: Field, values: &'r [String]) -> Option<&'r str> {
        let v = values.get(*self.cols.get(&field)?)?.trim();
        (!v.is_empty() && !is_null_word(v)).then_some(v)
    }

    fn has(&self, field: Field) -> bool {
        self.cols.contains_key(&field)
    }

    fn has_orders(&self) -> bool {
        self.has(Field::OrderId) || self.has(Field::OrderDate) || self.has(Field::Amount)
    }

    fn has_identity(&self) -> bool {
        [
            Field::CustomerId,
            Field::Email,
            Field::Phone,
            Field::FullName,
            Field::FirstName,
            Field::LastName,
        ]
        .iter()
        .any(|f| self.has(*f))
    }
}

fn is_null_word(v: &str) -> bool {
    v.len() <= 4
        && ["-", "--", "n/a", "na", "null", "none", "nil", "#n/a"]
            .iter()
            .any(|w| w.eq_ignore_ascii_case(v))
}

/// The result of the first pass.
struct Scan {
    columns: Vec<ColumnDetection>,
    mapping: Mapping,
    rows: u64,
    date_order: Option<DateOrder>,
    /// Last row number of each order id.
    last_row: HashMap<String, u64>,
}

impl Scan {
    fn mapping_problems(&self) -> Vec<Problem> {
        let mut out = Vec::new();
        if let Some(p) = self.fatal_problem() {
            out.push(Problem {
                row: None,
                message: p,
            });
        }
        for c in &self.columns {
            if c.field.is_some() && c.confidence < 0.5 {
                out.push(Problem {
                    row: None,
                    message: format!(
                        "column '{}' mapped to {} with low confidence {:.2}: check it",
                        c.header,
                        c.field.map(Field::as_str).unwrap_or_default(),
                        c.confidence
                    ),
                });
            }
        }
        out
    }

    fn fatal_problem(&self) -> Option<String> {
        if !self.mapping.has_identity() && !self.mapping.has_orders() {
            let headers: Vec<&str> = self.columns.iter().map(|c| c.header.as_str()).collect();
            return Some(format!(
                "no customer or order columns recognised among: {}; map them with --map 'Header=field'",
                headers.join(", ")
            ));
        }
        if self.mapping.has_orders() && !self.mapping.has(Field::OrderDate) {
            return Some(
                "order columns found but no order date column; map one with --map 'Header=order_date'"
                    .into(),
            );
        }
        None
    }
}

fn scan(path: &Path, options: &ImportOptions) -> Result<Scan, IngestError> {
    let mut reader = open_path(path)?;
    let headers = reader.headers().to_vec();
    let mut sample: Vec<Vec<String>> = Vec::with_capacity(SAMPLE_ROWS);
    let mut pending: Vec<Record> = Vec::new();
    while sample.len() < SAMPLE_ROWS {
        match reader.next_record() {
            Some(rec) => {
                let rec = rec?;
                sample.push(rec.values.clone());
                pending.push(rec);
            }
            None => break,
        }
    }
    let mut columns = detect_columns(&headers, &sample);
    apply_overrides(&mut columns, &options.overrides)?;
    let mut mapping = Mapping::default();
    for c in &columns {
        if let Some(f) = c.field {
            mapping.cols.insert(f, c.index);
        }
    }
    if let Some(c) = mapping
        .cols
        .get(&Field::Amount)
        .and_then(|i| columns.get(*i))
    {
        mapping.amount_kind = AmountKind::of_header(&c.header);
    }

    let mut votes = DateOrderVotes::default();
    let mut last_row = HashMap::new();
    let mut rows = 0u64;
    let mut observe = |rec: &Record| {
        rows += 1;
        if let Some(d) = mapping.get(Field::OrderDate, &rec.values) {
            votes.observe(d);
        }
        if let Some(id) = mapping.get(Field::OrderId, &rec.values) {
            last_row.insert(id.to_owned(), rec.row);
        }
    };
    for rec in &pending {
        observe(rec);
    }
    while let Some(rec) = reader.next_record() {
        observe(&rec?);
    }
    let date_order = options.date_order.or_else(|| votes.decide());
    Ok(Scan {
        columns,
        mapping,
        rows,
        date_order,
        last_row,
    })
}

fn apply_overrides(
    columns: &mut [ColumnDetection],
    overrides: &[MappingOverride],
) -> Result<(), IngestError> {
    for o in overrides {
        let Some(idx) = columns
            .iter()
            .position(|c| c.header.trim().eq_ignore_ascii_case(&o.header))
        else {
            let headers: Vec<&str> = columns.iter().map(|c| c.header.as_str()).collect();
            return Err(IngestError::Mapping {
                message: format!(
                    "--map: no column named '{}'; the columns are: {}",
                    o.header,
                    headers.join(", ")
                ),
            });
        };
        if let Some(field) = o.field {
            for c in columns.iter_mut() {
                if c.field == Some(field) {
                    c.field = None;
                    c.confidence = 0.0;
                }
            }
        }
        let c = &mut columns[idx];
        c.field = o.field;
        c.confidence = if o.field.is_some() { 1.0 } else { 0.0 };
    }
    Ok(())
}

/// A customer's importable fields.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct CustomerFields {
    external_id: Option<String>,
    email: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
    full_name: Option<String>,
    phone: Option<String>,
    city: Option<String>,
    country: Option<String>,
}

impl CustomerFields {
    fn from_identity(c: &CustomerIdentity) -> Self {
        Self {
            external_id: c.external_id.clone(),
            email: c.email.clone(),
            first_name: c.first_name.clone(),
            last_name: c.last_name.clone(),
            full_name: c.full_name.clone(),
            phone: c.phone.clone(),
            city: c.city.clone(),
            country: c.country.clone(),
        }
    }

    /// Overwrites the fields that `row` fills; returns whether anything changed.
    fn merge(&mut self, row: &CustomerFields) -> bool {
        let mut changed = false;
        for (dst, src) in [
            (&mut self.external_id, &row.external_id),
            (&mut self.email, &row.email),
            (&mut self.first_name, &row.first_name),
            (&mut self.last_name, &row.last_name),
            (&mut self.full_name, &row.full_name),
            (&mut self.phone, &row.phone),
            (&mut self.city, &row.city),
            (&mut self.country, &row.country),
        ] {
            if src.is_some() && dst != src {
                dst.clone_from(src);
                changed = true;
            }
        }
        changed
    }

    fn is_empty(&self) -> bool {
        self.external_id.is_none()
            && self.email.is_none()
            && self.phone.is_none()
            && self.full_name.is_none()
            && self.first_name.is_none()
            && self.last_name.is_none()
    }
}

struct CustomerSlot {
    id: Uuid,
    state: CustomerFields,
    /// The stored values for a customer that existed before this import.
    original: Option<CustomerFields>,
    /// For a new customer: inserted into the transaction already.
    written: bool,
    /// For a new customer: changed after it was inserted.
    dirty: bool,
}

/// Customers known so far, with their lookup keys.
#[derive(Default)]
struct Customers {
    slots: Vec<CustomerSlot>,
    by_external_id: HashMap<String, usize>,
    by_email: HashMap<String, usize>,
    by_phone: HashMap<String, usize>,
    by_name: HashMap<String, usize>,
}

impl Customers {
    fn load(existing: Vec<CustomerIdentity>) -> Self {
        let mut me = Self::default();
        for c in existing {
            let fields = CustomerFields::from_identity(&c);
            me.slots.push(CustomerSlot {
                id: c.id,
                state: fields.clone(),
                original: Some(fields),
                written: true,
                dirty: false,
            });
            me.index(me.slots.len() - 1);
        }
        me
    }

    fn index(&mut self, i: usize) {
        let s = &self.slots[i].state;
        if let Some(x) = &s.external_id {
            self.by_external_id.entry(x.clone()).or_insert(i);
        }
        if let Some(e) = &s.email {
            self.by_email.entry(e.to_lowercase()).or_insert(i);
        }
        if let Some(p) = &s.phone {
            self.by_phone.entry(p.clone()).or_insert(i);
        }
        if let Some(n) = &s.full_name {
            self.by_name.entry(n.to_lowercase()).or_insert(i);
        }
    }

    /// Finds or creates the customer for a row's fields.
    fn resolve(&mut self, row: &CustomerFields) -> usize {
        let compatible = |slot: &CustomerSlot| {
            let s = &slot.state;
            let email_ok = match (&row.email, &s.email) {
                (Some(a), Some(b)) => a.eq_ignore_ascii_case(b),
                _ => true,
            };
            let phone_ok = match (&row.phone, &s.phone) {
                (Some(a), Some(b)) => a == b,
                _ => true,
            };
            let external_ok = match (&row.external_id, &s.external_id) {
                (Some(a), Some(b)) => a == b,
                _ => true,
            };
            email_ok && phone_ok && external_ok
        };
        let found = row
            .external_id
            .as_ref()
            .and_then(|x| self.by_external_id.get(x.as_str()).copied())
            .or_else(|| {
                let i = *self.by_email.get(row.email.as_ref()?.as_str())?;
                compatible(&self.slots[i]).then_some(i)
            })
            .or_else(|| {
                let i = *self.by_phone.get(row.phone.as_ref()?)?;
                compatible(&self.slots[i]).then_some(i)
            })
            .or_else(|| {
                let i = *self.by_name.get(&row.full_name.as_ref()?.to_lowercase())?;
                compatible(&self.slots[i]).then_some(i)
            });
        let i = match found {
            Some(i) => i,
            None => {
                self.slots.push(CustomerSlot {
                    id: Uuid::now_v7(),
                    state: CustomerFields::default(),
                    original: None,
                    written: false,
                    dirty: false,
                });
                self.slots.len() - 1
            }
        };
        let slot = &mut self.slots[i];
        let changed = slot.state.merge(row);
        if changed && slot.original.is_none() && slot.written {
            slot.dirty = true;
        }
        if changed {
            self.index(i);
        }
        i
    }
}

/// An order being assembled from its rows.
struct PendingOrder {
    external_id: String,
    customer: Option<usize>,
    ordered_at: Option<DateTime<Utc>>,
    currency: Option<String>,
    status: Option<String>,
    items: Vec<NewOrderItem>,
    /// Per row: the amount it carried (if any) and its quantity.
    amounts: Vec<(Option<f64>, f64)>,
    rows: Vec<u64>,
}

impl PendingOrder {
    fn amount(&self, kind: AmountKind) -> f64 {
        match kind {
            AmountKind::UnitPrice => {
                return round_money(self.amounts.iter().map(|(a, q)| a.unwrap_or(0.0) * q).sum());
            }
            AmountKind::LineTotal => {
                return round_money(self.amounts.iter().filter_map(|(a, _)| *a).sum());
            }
            AmountKind::OrderTotal => {}
        }
        let given: Vec<f64> = self.amounts.iter().filter_map(|(a, _)| *a).collect();
        let all_given = given.len() == self.amounts.len();
        let all_equal = given.windows(2).all(|w| (w[0] - w[1]).abs() < 1e-9);
        if given.len() > 1 && all_given && !all_equal {
            round_money(given.iter().sum())
        } else {
            given.first().copied().unwrap_or(0.0)
        }
    }
}

/// One parsed row.
struct ParsedRow {
    customer: CustomerFields,
    order_id: Option<String>,
    ordered_at: Option<DateTime<Utc>>,
    amount: Option<f64>,
    currency: Option<String>,
    status: Option<String>,
    product: Option<String>,
    quantity: Option<f64>,
}

struct Runner<'a> {
    mapping: &'a Mapping,
    date_order: Option<DateOrder>,
    default_country: Option<&'static str>,
    default_currency: Option<String>,
    /// Memo of phone normalization per (raw value, country): exports repeat a
    /// customer's number on every order, and libphonenumber is slow.
    phones: HashMap<(String, Option<&'static str>), Result<String, String>>,
    /// Memo of country names to codes.
    countries: HashMap<String, Option<&'static str>>,
}

impl Runner<'_> {
    fn country(&mut self, raw: &str) -> Option<&'static str> {
        if let Some(code) = self.countries.get(raw) {
            return *code;
        }
        let code = country_code(raw);
        self.countries.insert(raw.to_owned(), code);
        code
    }

    fn phone(&mut self, raw: &str, country: Option<&'static str>) -> Result<String, String> {
        let key = (raw.to_owned(), country);
        if let Some(done) = self.phones.get(&key) {
            return done.clone();
        }
        let done = normalize_phone(raw, country).map_err(|e| format!("phone: {e}"));
        self.phones.insert(key, done.clone());
        done
    }

    fn parse(&mut self, values: &[String]) -> Result<ParsedRow, String> {
        let m = self.mapping;
        let text = |f: Field| {
            m.get(f, values)
                .map(|v| collapse_spaces(&normalize_digits(v)))
        };
        let email = match m.get(Field::Email, values) {
            Some(raw) => Some(
                normalize_email(raw)
                    .ok_or_else(|| format!("email '{raw}' is not an e-mail address"))?,
            ),
            None => None,
        };
        let country_raw = text(Field::Country);
        let code = country_raw.as_deref().and_then(|c| self.country(c));
        let country = match (code, country_raw) {
            (Some(code), _) => Some(code.to_owned()),
            (None, raw) => raw,
        };
        let phone_country = code.or(self.default_country);
        let phone = match m.get(Field::Phone, values) {
            Some(raw) => Some(self.phone(raw, phone_country)?),
            None => None,
        };
        let mut first_name = text(Field::FirstName);
        let mut last_name = text(Field::LastName);
        let mut full_name = text(Field::FullName);
        if full_name.is_none() && (first_name.is_some() || last_name.is_some()) {
            full_name = Some(
                [first_name.as_deref(), last_name.as_deref()]
                    .into_iter()
                    .flatten()
                    .collect::<Vec<_>>()
                    .join(" "),
            );
        }
        if let Some(full) = &full_name
            && first_name.is_none()
            && last_name.is_none()
        {
            let mut parts = full.splitn(2, ' ');
            first_name = parts.next().map(str::to_owned);
            last_name = parts.next().map(str::to_owned);
        }
        let ordered_at = match m.get(Field::OrderDate, values) {
            Some(raw) => {
                Some(parse_datetime(raw, self.date_order).map_err(|e| format!("order_date: {e}"))?)
            }
            None => None,
        };
        let (amount, symbol_currency) = match m.get(Field::Amount, values) {
            Some(raw) => {
                let money = parse_money(raw).map_err(|e| format!("amount: {e}"))?;
                (Some(money.amount), money.currency.map(str::to_owned))
            }
            None => (None, None),
        };
        let quantity = match m.get(Field::Quantity, values) {
            Some(raw) => Some(parse_quantity(raw).map_err(|e| format!("quantity: {e}"))?),
            None => None,
        };
        let currency = match m.get(Field::Currency, values) {
            Some(raw) => Some(
                currency_code(raw)
                    .map(str::to_owned)
                    .ok_or_else(|| format!("currency '{raw}' is not a known currency"))?,
            ),
            None => symbol_currency.or_else(|| self.default_currency.clone()),
        };
        let customer = CustomerFields {
            external_id: text(Field::CustomerId),
            email,
            first_name,
            last_name,
            full_name,
            phone,
            city: text(Field::City),
            country,
        };
        let product = text(Field::ProductName);
        let order_id = match m.get(Field::OrderId, values) {
            Some(id) => Some(id.to_owned()),
            None if m.has_orders() && (ordered_at.is_some() || amount.is_some()) => {
                Some(synthetic_order_id(values))
            }
            None => None,
        };
        Ok(ParsedRow {
            customer,
            order_id,
            ordered_at,
            amount,
            currency,
            status: text(Field::Status).map(|s| s.to_lowercase()),
            product,
            quantity,
        })
    }
}

fn collapse_spaces(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A stable order id for files without one: a hash of the row's values.
fn synthetic_order_id(values: &[String]) -> String {
    // FNV-1a: stable across processes and Rust versions (unlike SipHash keys).
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for v in values {
        for b in v.trim().bytes().chain(std::iter::once(0x1f)) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    format!("row-{h:016x}")
}

/// Second pass: parse, resolve and (with a transaction) write.
/// What the parsing thread hands the writer, in order.
enum Write {
    /// New customers, then finished orders to insert or update; `rows` is
    /// how many rows have been read so far (for progress).
    Batch {
        customers: Vec<NewCustomer>,
        inserts: Vec<NewOrder>,
        updates: Vec<OrderUpdate>,
        rows: u64,
    },
    /// Customers that existed (or were written earlier in this import) and
    /// changed; sent last.
    CustomerUpdates(Vec<CustomerUpdate>),
}

/// Batches the parsing thread may run ahead of the writer (bounds memory).
const WRITE_QUEUE: usize = 2;

/// Parses `path` on a blocking thread while this task writes what it
/// produces to `tx` (when given), so parsing and the database work overlap.
/// A write error stops the parser; the first error wins.
async fn run(
    store: &Store,
    org: Uuid,
    path: &Path,
    options: &ImportOptions,
    scan: Arc<Scan>,
    mut tx: Option<&mut StoreTx>,
    progress: ProgressFn<'_>,
) -> Result<ImportReport, IngestError> {
    let default_country = match options.default_country.as_deref() {
        Some(c) => Some(country_code(c).ok_or_else(|| IngestError::Mapping {
            message: format!("--country '{c}' is not a known country"),
        })?),
        None => None,
    };
    let default_currency = match options.default_currency.as_deref() {
        Some(c) => Some(
            currency_code(c)
                .ok_or_else(|| IngestError::Mapping {
                    message: format!("--currency '{c}' is not a known currency"),
                })?
                .to_owned(),
        ),
        None => None,
    };
    let customers = Customers::load(store.customer_identities(org).await?);
    let existing_orders: HashMap<String, OrderIdentity> = store
        .order_identities(org)
        .await?
        .into_iter()
        .map(|o| (o.external_id.clone(), o))
        .collect();

    let (sender, mut receiver) = tokio::sync::mpsc::channel(WRITE_QUEUE);
    let path = path.to_owned();
    let total = scan.rows;
    let parser = tokio::task::spawn_blocking(move || {
        let runner = Runner {
            mapping: &scan.mapping,
            date_order: scan.date_order,
            default_country,
            default_currency,
            phones: HashMap::new(),
            countries: HashMap::new(),
        };
        parse_file(&path, &scan, runner, customers, &existing_orders, &sender)
    });
    let mut write_error = None;
    while let Some(write) = receiver.recv().await {
        if let Write::Batch { rows, .. } = &write {
            progress(*rows, total);
        }
        if let Some(tx) = tx.as_deref_mut()
            && let Err(e) = apply(tx, org, write).await
        {
            write_error = Some(e);
            break;
        }
    }
    // Closing the queue makes a parser still sending stop.
    drop(receiver);
    let parsed = match parser.await {
        Ok(parsed) => parsed,
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(e) => {
            return Err(IngestError::Mapping {
                message: format!("the import was cancelled: {e}"),
            });
        }
    };
    if let Some(e) = write_error {
        return Err(e);
    }
    let mut report = parsed?;
    progress(total, total);
    report.rows_rejected.sort_by_key(|r| r.row);
    Ok(report)
}

/// Writes one unit of work to the transaction.
async fn apply(tx: &mut StoreTx, org: Uuid, write: Write) -> Result<(), IngestError> {
    match write {
        Write::Batch {
            customers,
            inserts,
            updates,
            ..
        } => {
            if !customers.is_empty() {
                tx.insert_customers(org, &customers).await?;
            }
            if !inserts.is_empty() {
                tx.insert_orders(org, &inserts).await?;
            }
            if !updates.is_empty() {
                tx.update_orders(org, &updates).await?;
            }
        }
        Write::CustomerUpdates(updates) => {
            for chunk in updates.chunks(FLUSH_ORDERS) {
                tx.update_customers(org, chunk).await?;
            }
        }
    }
    Ok(())
}

/// Reads, parses and resolves every row of `path`, sending the writes to
/// `out` in order. Returns early (with the report so far) when the writer
/// has gone away, which only happens after a write error that the caller
/// reports instead.
fn parse_file(
    path: &Path,
    scan: &Scan,
    mut runner: Runner<'_>,
    mut customers: Customers,
    existing_orders: &HashMap<String, OrderIdentity>,
    out: &tokio::sync::mpsc::Sender<Write>,
) -> Result<ImportReport, IngestError> {
    let mut report = ImportReport::default();
    let mut open: HashMap<String, PendingOrder> = HashMap::new();
    let mut finished: Vec<PendingOrder> = Vec::new();
    let mut synthetic_seen: HashMap<String, u32> = HashMap::new();
    let mut reader = open_path(path)?;
    let mut done = 0u64;
    let send = |write: Write| out.blocking_send(write).is_ok();
    while let Some(rec) = reader.next_record() {
        let rec = rec?;
        done += 1;
        if rec.values.iter().all(|v| v.trim().is_empty()) {
            continue;
        }
        let raw_order_id = scan
            .mapping
            .get(Field::OrderId, &rec.values)
            .map(str::to_owned);
        match runner.parse(&rec.values) {
            Err(reason) => report.rows_rejected.push(RejectedRow {
                row: rec.row,
                reason,
            }),
            // The row that opens an order must date it (continuation lines
            // may leave the date blank); otherwise it is rejected before its
            // customer fields are taken, so a bad row writes nothing.
            Ok(ParsedRow {
                order_id: Some(ext),
                ordered_at: None,
                ..
            }) if !open.contains_key(&ext) => {
                report.rows_rejected.push(RejectedRow {
                    row: rec.row,
                    reason: format!(
                        "order '{ext}': order_date is empty and no earlier row of the order was imported"
                    ),
                });
            }
            Ok(row) => {
                let customer = (!row.customer.is_empty()).then(|| customers.resolve(&row.customer));
                match row.order_id {
                    None if customer.is_none() => report.rows_rejected.push(RejectedRow {
                        row: rec.row,
                        reason: "no customer (e-mail, phone or name) and no order in this row"
                            .into(),
                    }),
                    None => {}
                    Some(mut ext) => {
                        let synthetic = !scan.mapping.has(Field::OrderId);
                        if synthetic {
                            // The n-th identical row is the n-th such order,
                            // on every import of the same file.
                            let seen = synthetic_seen.entry(ext.clone()).or_insert(0u32);
                            *seen += 1;
                            if *seen > 1 {
                                ext = format!("{ext}-{seen}");
                            }
                        }
                        let order = open.entry(ext.clone()).or_insert_with(|| PendingOrder {
                            external_id: ext.clone(),
                            customer: None,
                            ordered_at: None,
                            currency: None,
                            status: None,
                            items: Vec::new(),
                            amounts: Vec::new(),
                            rows: Vec::new(),
                        });
                        order.customer = order.customer.or(customer);
                        order.ordered_at = order.ordered_at.or(row.ordered_at);
                        if order.currency.is_none() {
                            order.currency = row.currency;
                        }
                        if row.status.is_some() {
                            order.status = row.status;
                        }
                        let quantity = row.quantity.unwrap_or(1.0);
                        order.amounts.push((row.amount, quantity));
                        if let Some(product) = row.product {
                            order.items.push(NewOrderItem {
                                product_name: product,
                                sku: None,
                                category: None,
                                quantity,
                                unit_price: match scan.mapping.amount_kind {
                                    AmountKind::UnitPrice => row.amount,
                                    AmountKind::LineTotal if quantity != 0.0 => {
                                        row.amount.map(|a| round_money(a / quantity))
                                    }
                                    _ => None,
                                },
                            });
                        }
                        order.rows.push(rec.row);
                        // A row without an order id is a whole order.
                        if synthetic && let Some(order) = open.remove(&ext) {
                            finished.push(order);
                        }
                    }
                }
            }
        }
        // An order is finished once its last row (from the scan) has gone by,
        // whether or not that row was good.
        if let Some(ext) = raw_order_id
            && scan.last_row.get(&ext).is_none_or(|last| *last <= rec.row)
            && let Some(order) = open.remove(&ext)
        {
            finished.push(order);
        }
        if finished.len() >= FLUSH_ORDERS {
            let batch = flush(
                &mut customers,
                &mut finished,
                existing_orders,
                scan,
                &mut report,
                done,
            );
            if !send(batch) {
                return Ok(report);
            }
        }
    }
    finished.extend(open.into_values());
    let batch = flush(
        &mut customers,
        &mut finished,
        existing_orders,
        scan,
        &mut report,
        done,
    );
    if !send(batch) {
        return Ok(report);
    }

    // Customers that existed and changed, and new ones changed after insertion.
    let mut updates = Vec::new();
    for slot in &customers.slots {
        let changed = match &slot.original {
            Some(orig) => {
                let changed = *orig != slot.state;
                if changed {
                    report.customers_updated += 1;
                }
                changed
            }
            None => slot.dirty,
        };
        if changed {
            updates.push(customer_update(slot));
        }
    }
    if !updates.is_empty() {
        send(Write::CustomerUpdates(updates));
    }
    Ok(report)
}

fn customer_update(slot: &CustomerSlot) -> CustomerUpdate {
    let s = &slot.state;
    CustomerUpdate {
        id: slot.id,
        external_id: s.external_id.clone(),
        email: s.email.clone(),
        first_name: s.first_name.clone(),
        last_name: s.last_name.clone(),
        full_name: s.full_name.clone(),
        phone: s.phone.clone(),
        city: s.city.clone(),
        country: s.country.clone(),
        tags: None,
        properties: None,
    }
}

/// The writes for the customers not written yet and the finished orders
/// (new or changed), counted in `report`; `rows` is how many rows were read.
fn flush(
    customers: &mut Customers,
    finished: &mut Vec<PendingOrder>,
    existing: &HashMap<String, OrderIdentity>,
    scan: &Scan,
    report: &mut ImportReport,
    rows: u64,
) -> Write {
    let now = Utc::now();
    let mut new_customers = Vec::new();
    for slot in customers.slots.iter_mut().filter(|s| !s.written) {
        slot.written = true;
        report.customers_created += 1;
        let s = &slot.state;
        new_customers.push(NewCustomer {
            id: slot.id,
            external_id: s.external_id.clone(),
            email: s.email.clone(),
            first_name: s.first_name.clone(),
            last_name: s.last_name.clone(),
            full_name: s.full_name.clone(),
            phone: s.phone.clone(),
            city: s.city.clone(),
            country: s.country.clone(),
            tags: Vec::new(),
            properties: serde_json::Value::Object(Default::default()),
            created_at: now,
        });
    }
    let mut inserts = Vec::new();
    let mut updates = Vec::new();
    for order in finished.drain(..) {
        let Some(ordered_at) = order.ordered_at else {
            for row in &order.rows {
                report.rows_rejected.push(RejectedRow {
                    row: *row,
                    reason: format!(
                        "order '{}' has no valid order_date in any of its rows",
                        order.external_id
                    ),
                });
            }
            continue;
        };
        let customer_id = order.customer.map(|i| customers.slots[i].id);
        let amount = order.amount(scan.mapping.amount_kind);
        let mut items = order.items;
        if items.len() == 1 && items[0].unit_price.is_none() && items[0].quantity != 0.0 {
            items[0].unit_price = Some(round_money(amount / items[0].quantity));
        }
        let new = NewOrder {
            id: Uuid::now_v7(),
            external_id: order.external_id,
            customer_id,
            amount,
            currency: order.currency,
            status: order.status,
            ordered_at,
            items,
        };
        match existing.get(&new.external_id) {
            None => inserts.push(new),
            Some(old) => {
                let same = old.customer_id == new.customer_id
                    && (old.amount - new.amount).abs() < 1e-9
                    && old.currency == new.currency
                    && old.status == new.status
                    && old.ordered_at == new.ordered_at;
                if !same {
                    updates.push(OrderUpdate {
                        id: old.id,
                        external_id: new.external_id,
                        customer_id: new.customer_id,
                        amount: new.amount,
                        currency: new.currency,
                        status: new.status,
                        ordered_at: new.ordered_at,
                        items: new.items,
                    });
                }
            }
        }
    }
    report.orders_created += inserts.len() as u64;
    report.orders_updated += updates.len() as u64;
    Write::Batch {
        customers: new_customers,
        inserts,
        updates,
        rows,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amount_headers_say_what_they_hold() {
        for (h, kind) in [
            ("UnitPrice", AmountKind::UnitPrice),
            ("Price Each", AmountKind::UnitPrice),
            ("Price", AmountKind::UnitPrice),
            ("item-price", AmountKind::LineTotal),
            ("Paid Price", AmountKind::LineTotal),
            ("Line Amount", AmountKind::LineTotal),
            ("Item Total", AmountKind::LineTotal),
            ("Total", AmountKind::OrderTotal),
            ("Order Total", AmountKind::OrderTotal),
            ("Grand Total", AmountKind::OrderTotal),
            ("GMV", AmountKind::OrderTotal),
            ("Amount", AmountKind::OrderTotal),
        ] {
            assert_eq!(AmountKind::of_header(h), kind, "{h}");
        }
    }

    fn order(amounts: &[(Option<f64>, f64)]) -> PendingOrder {
        PendingOrder {
            external_id: "o".into(),
            customer: None,
            ordered_at: None,
            currency: None,
            status: None,
            items: Vec::new(),
            amounts: amounts.to_vec(),
            rows: Vec::new(),
        }
    }

    #[test]
    fn order_amounts_follow_the_kind() {
        let o = order(&[(Some(10.0), 2.0), (Some(10.0), 1.0)]);
        assert_eq!(o.amount(AmountKind::UnitPrice), 30.0);
        assert_eq!(o.amount(AmountKind::LineTotal), 20.0);
        // A repeated order total counts once.
        assert_eq!(o.amount(AmountKind::OrderTotal), 10.0);
        // Blank totals on continuation lines.
        assert_eq!(
            order(&[(Some(12.5), 1.0), (None, 3.0)]).amount(AmountKind::OrderTotal),
            12.5
        );
        // Different values on every line are line totals.
        assert_eq!(
            order(&[(Some(3.0), 1.0), (Some(4.0), 1.0)]).amount(AmountKind::OrderTotal),
            7.0
        );
        assert_eq!(
            order(&[(Some(-5.0), 1.0)]).amount(AmountKind::OrderTotal),
            -5.0
        );
    }

    #[test]
    fn synthetic_order_ids_are_stable_and_distinct() {
        let a = vec!["2024-01-01".to_string(), "x@example.com".into(), "5".into()];
        let b = vec!["2024-01-01".to_string(), "x@example.com".into(), "6".into()];
        assert_eq!(synthetic_order_id(&a), synthetic_order_id(&a.clone()));
        assert_ne!(synthetic_order_id(&a), synthetic_order_id(&b));
        assert!(synthetic_order_id(&a).starts_with("row-"));
    }

    #[test]
    fn mapping_overrides_parse() {
        let o: MappingOverride = "Billing Name=full_name".parse().expect("parses");
        assert_eq!(
            (o.header.as_str(), o.field),
            ("Billing Name", Some(Field::FullName))
        );
        let o: MappingOverride = "Notes=ignore".parse().expect("parses");
        assert_eq!(o.field, None);
        let o: MappingOverride = "A=B=email".parse().expect("parses");
        assert_eq!(o.header, "A=B");
        assert!("Notes".parse::<MappingOverride>().is_err());
    }
}
