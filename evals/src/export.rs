//! The world as CSV files (`aima bench world --export DIR`), so anyone can
//! compute the tasks' answers without AIMA's code. Columns are documented
//! in `evals/README.md`. Times are RFC 3339 in UTC; money has two decimals.

use std::path::{Path, PathBuf};

use crate::error::EvalError;
use crate::world::{ASPECTS, World};

/// The files [`export`] writes, in order.
pub const FILES: &[&str] = &[
    "world.json",
    "products.csv",
    "customers.csv",
    "orders.csv",
    "order_items.csv",
    "events.csv",
    "channels_truth.csv",
    "channel_spend.csv",
    "campaigns.csv",
    "reviews.csv",
    "truth_customers.csv",
];

fn time(t: &chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn money(x: f64) -> String {
    format!("{x:.2}")
}

fn num(x: f64) -> String {
    format!("{x:.6}")
}

struct Csv {
    path: PathBuf,
    writer: csv::Writer<std::fs::File>,
}

impl Csv {
    fn create(dir: &Path, name: &str, header: &[&str]) -> Result<Csv, EvalError> {
        let path = dir.join(name);
        let writer = csv::Writer::from_path(&path).map_err(|source| EvalError::Csv {
            path: path.clone(),
            source,
        })?;
        let mut csv = Csv { path, writer };
        csv.row(header.iter().map(|s| (*s).to_owned()))?;
        Ok(csv)
    }

    fn row(&mut self, fields: impl IntoIterator<Item = String>) -> Result<(), EvalError> {
        let fields: Vec<String> = fields.into_iter().collect();
        self.writer
            .write_record(&fields)
            .map_err(|source| EvalError::Csv {
                path: self.path.clone(),
                source,
            })
    }

    fn finish(mut self) -> Result<(), EvalError> {
        self.writer.flush().map_err(|source| EvalError::Io {
            path: self.path.clone(),
            source,
        })
    }
}

/// Writes `world` into `dir` (created if missing) as the [`FILES`];
/// returns their paths. The output is a pure function of the world.
///
/// # Errors
/// [`EvalError::Io`] / [`EvalError::Csv`] naming the file that failed.
pub fn export(world: &World, dir: &Path) -> Result<Vec<PathBuf>, EvalError> {
    std::fs::create_dir_all(dir).map_err(|source| EvalError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    let meta = serde_json::json!({
        "seed": world.config.seed,
        "customers": world.config.customers,
        "today": world.today,
        "start": world.start,
        "reference_date": world.reference_date(),
        "params": world.params,
        "currency": "USD",
    });
    let meta_path = dir.join("world.json");
    std::fs::write(&meta_path, serde_json::to_string_pretty(&meta)? + "\n").map_err(|source| {
        EvalError::Io {
            path: meta_path.clone(),
            source,
        }
    })?;

    let mut f = Csv::create(
        dir,
        "products.csv",
        &["product_id", "name", "category", "list_price"],
    )?;
    for p in &world.products {
        f.row([
            p.product_id.clone(),
            p.name.clone(),
            p.category.clone(),
            money(p.list_price),
        ])?;
    }
    f.finish()?;

    let mut f = Csv::create(
        dir,
        "customers.csv",
        &[
            "customer_id",
            "first_name",
            "last_name",
            "email",
            "phone",
            "city",
            "country",
            "created_at",
            "acquisition_channel",
        ],
    )?;
    for c in &world.customers {
        f.row([
            c.customer_id.clone(),
            c.first_name.clone(),
            c.last_name.clone(),
            c.email.clone(),
            c.phone.clone(),
            c.city.clone(),
            c.country.clone(),
            time(&c.created_at),
            c.acquisition_channel.clone(),
        ])?;
    }
    f.finish()?;

    let mut f = Csv::create(
        dir,
        "orders.csv",
        &[
            "order_id",
            "customer_id",
            "ordered_at",
            "amount",
            "currency",
            "status",
        ],
    )?;
    let mut items = Csv::create(
        dir,
        "order_items.csv",
        &[
            "order_id",
            "line",
            "product_id",
            "product_name",
            "category",
            "quantity",
            "unit_price",
        ],
    )?;
    for o in &world.orders {
        f.row([
            o.order_id.clone(),
            o.customer_id.clone(),
            time(&o.ordered_at),
            money(o.amount),
            "USD".into(),
            "completed".into(),
        ])?;
        for (i, it) in o.items.iter().enumerate() {
            items.row([
                o.order_id.clone(),
                (i + 1).to_string(),
                it.product_id.clone(),
                it.product_name.clone(),
                it.category.clone(),
                it.quantity.to_string(),
                money(it.unit_price),
            ])?;
        }
    }
    f.finish()?;
    items.finish()?;

    let mut f = Csv::create(
        dir,
        "events.csv",
        &[
            "customer_id",
            "event_type",
            "channel",
            "reference",
            "occurred_at",
        ],
    )?;
    for e in &world.events {
        f.row([
            e.customer_id.clone(),
            e.event_type.clone(),
            e.channel.clone(),
            e.reference.clone(),
            time(&e.occurred_at),
        ])?;
    }
    f.finish()?;

    let mut f = Csv::create(
        dir,
        "channels_truth.csv",
        &["channel", "mean_daily_spend", "true_roas", "adstock_decay"],
    )?;
    for c in &world.channels {
        f.row([
            c.channel.clone(),
            money(c.mean_daily_spend),
            num(c.true_roas),
            num(c.adstock_decay),
        ])?;
    }
    f.finish()?;

    let mut f = Csv::create(
        dir,
        "channel_spend.csv",
        &["date", "channel", "spend", "impressions", "clicks"],
    )?;
    for s in &world.channel_spend {
        f.row([
            s.date.to_string(),
            s.channel.clone(),
            money(s.spend),
            s.impressions.to_string(),
            s.clicks.to_string(),
        ])?;
    }
    f.finish()?;

    let mut f = Csv::create(
        dir,
        "campaigns.csv",
        &[
            "campaign_id",
            "name",
            "subject",
            "sent_at",
            "recipients",
            "opens",
            "clicks",
            "conversions",
            "true_open_rate",
            "true_click_rate",
            "true_conversion_rate",
        ],
    )?;
    for c in &world.campaigns {
        f.row([
            c.campaign_id.clone(),
            c.name.clone(),
            c.subject.clone(),
            time(&c.sent_at),
            c.recipients.to_string(),
            c.opens.to_string(),
            c.clicks.to_string(),
            c.conversions.to_string(),
            num(c.true_open_rate),
            num(c.true_click_rate),
            num(c.true_conversion_rate),
        ])?;
    }
    f.finish()?;

    let mut header = vec![
        "review_id",
        "customer_id",
        "product_id",
        "reviewed_at",
        "rating",
        "text",
    ];
    let aspect_cols: Vec<String> = ASPECTS.iter().map(|a| format!("true_{a}")).collect();
    header.extend(aspect_cols.iter().map(String::as_str));
    let mut f = Csv::create(dir, "reviews.csv", &header)?;
    for r in &world.reviews {
        let mut row = vec![
            r.review_id.clone(),
            r.customer_id.clone(),
            r.product_id.clone(),
            time(&r.reviewed_at),
            r.rating.to_string(),
            r.text.clone(),
        ];
        row.extend(
            r.aspects
                .iter()
                .map(|a| a.map(|s| s.to_string()).unwrap_or_default()),
        );
        f.row(row)?;
    }
    f.finish()?;

    let mut f = Csv::create(
        dir,
        "truth_customers.csv",
        &[
            "customer_id",
            "purchase_rate_per_day",
            "dropout_p",
            "mean_spend",
            "alive",
            "dropout_at",
            "churn_prob_90d",
            "expected_purchases_365d",
            "clv_365d",
            "favourite_category",
        ],
    )?;
    for c in &world.customers {
        let t = &c.truth;
        f.row([
            c.customer_id.clone(),
            num(t.purchase_rate),
            num(t.dropout_p),
            money(t.mean_spend),
            t.alive.to_string(),
            t.dropout_at.as_ref().map(time).unwrap_or_default(),
            num(t.churn_prob_90d),
            num(t.expected_purchases_365d),
            money(t.clv_365d),
            c.favourite_category.clone(),
        ])?;
    }
    f.finish()?;
    Ok(FILES.iter().map(|f| dir.join(f)).collect())
}
