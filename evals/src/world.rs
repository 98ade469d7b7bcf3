//! The simulated marketing world: an online shop over two years, generated
//! from a seed, with the ground truth that produced it.
//!
//! Customers follow the BG/NBD story with Gamma-Gamma spend:
//!
//! - each customer is acquired on a day in the two years (their first
//!   order), buys at a latent Poisson rate `λ ~ Gamma(r, scale)` (per day),
//!   and after every order drops out for good with probability
//!   `p ~ Beta(a, b)` (the dropout happens at that order: a dropped customer
//!   never orders again);
//! - each order's value is `Gamma(spend_shape, ν / spend_shape)` with the
//!   customer's latent mean spend `ν ~ Gamma(q, scale)`.
//!
//! So at [`TODAY`] each customer's true state (alive or dropped), true
//! expected purchases in the next 365 days, true 90-day churn probability
//! and true 12-month CLV are known exactly ([`CustomerTruth`]).
//!
//! Beside the customers: a product catalog with categories, line items,
//! web and e-mail events, five paid channels with daily spend and a known
//! return per dollar and adstock (for attribution), monthly e-mail campaigns
//! with known true open/click/conversion rates (for the campaign predictor)
//! and product reviews with known per-aspect sentiment (for the brand
//! monitor).
//!
//! Contract: [`World::generate`] is a pure function of its
//! [`WorldConfig`]: the same seed and size give the same world, field for
//! field, and so byte-identical exports. Every part draws from its own
//! random stream, so changing one part does not shift the others.

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, TimeZone, Utc};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Beta, Distribution, Exp, Gamma};
use serde::Serialize;

use crate::error::EvalError;

/// The seed of the shipped tasks' world.
pub const DEFAULT_SEED: u64 = 42;

/// Customers in the default world.
pub const DEFAULT_CUSTOMERS: usize = 2_000;

/// The world's "today" (its data ends on this day).
pub const TODAY: (i32, u32, u32) = (2026, 6, 30);

/// First day of the world's history (two years before [`TODAY`]).
pub const START: (i32, u32, u32) = (2024, 7, 1);

/// What to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct WorldConfig {
    /// Seed of every random stream.
    pub seed: u64,
    /// Number of customers (each has at least one order).
    pub customers: usize,
}

impl WorldConfig {
    /// The default-size world for `seed`.
    pub fn new(seed: u64) -> Self {
        Self {
            seed,
            customers: DEFAULT_CUSTOMERS,
        }
    }
}

/// The distributions the latent customer parameters are drawn from.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Params {
    /// Shape of the purchase-rate Gamma.
    pub rate_shape: f64,
    /// Scale of the purchase-rate Gamma (purchases per day).
    pub rate_scale: f64,
    /// Beta `a` of the dropout probability.
    pub dropout_a: f64,
    /// Beta `b` of the dropout probability.
    pub dropout_b: f64,
    /// Shape of the mean-spend Gamma.
    pub mean_spend_shape: f64,
    /// Scale of the mean-spend Gamma (currency units).
    pub mean_spend_scale: f64,
    /// Shape of one order's value around the customer's mean spend.
    pub spend_shape: f64,
}

/// The parameters every world uses.
pub const PARAMS: Params = Params {
    rate_shape: 1.2,
    rate_scale: 0.01,
    dropout_a: 1.2,
    dropout_b: 5.0,
    mean_spend_shape: 4.0,
    mean_spend_scale: 15.0,
    spend_shape: 5.0,
};

/// A product of the catalog.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Product {
    /// `P001`...
    pub product_id: String,
    /// Display name (unique).
    pub name: String,
    /// Category.
    pub category: String,
    /// List price.
    pub list_price: f64,
}

/// A customer with their ground truth.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Customer {
    /// `C00001`... (the source's customer number).
    pub customer_id: String,
    /// First name.
    pub first_name: String,
    /// Last name.
    pub last_name: String,
    /// `first.last@example.com`, unique (full names are unique too).
    pub email: String,
    /// E.164 phone number.
    pub phone: String,
    /// City.
    pub city: String,
    /// ISO 3166-1 alpha-2 country code.
    pub country: String,
    /// When the customer signed up (before or at the first order).
    pub created_at: DateTime<Utc>,
    /// The channel that acquired them.
    pub acquisition_channel: String,
    /// The category they buy most from.
    pub favourite_category: String,
    /// What generated their history.
    pub truth: CustomerTruth,
}

impl Customer {
    /// "First Last".
    pub fn full_name(&self) -> String {
        format!("{} {}", self.first_name, self.last_name)
    }
}

/// A customer's latent parameters and true state at [`TODAY`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct CustomerTruth {
    /// Purchase rate while alive (orders per day).
    pub purchase_rate: f64,
    /// Probability of dropping out after each order.
    pub dropout_p: f64,
    /// Mean order value.
    pub mean_spend: f64,
    /// Still alive at the end of [`TODAY`].
    pub alive: bool,
    /// When they dropped out (the time of their last order), if they did.
    pub dropout_at: Option<DateTime<Utc>>,
    /// Probability of being dropped 90 days after [`TODAY`] (1 if already
    /// dropped).
    pub churn_prob_90d: f64,
    /// Expected orders in the 365 days after [`TODAY`].
    pub expected_purchases_365d: f64,
    /// Expected revenue in the 365 days after [`TODAY`] (undiscounted).
    pub clv_365d: f64,
}

/// An order line.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OrderItem {
    /// The product's id.
    pub product_id: String,
    /// The product's name.
    pub product_name: String,
    /// The product's category.
    pub category: String,
    /// Units.
    pub quantity: u32,
    /// Price paid per unit.
    pub unit_price: f64,
}

/// An order (always completed, in USD).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Order {
    /// `O000001`...
    pub order_id: String,
    /// The customer's id.
    pub customer_id: String,
    /// When it was placed.
    pub ordered_at: DateTime<Utc>,
    /// Order total: the sum of its lines' quantity × unit price.
    pub amount: f64,
    /// Its lines.
    pub items: Vec<OrderItem>,
}

/// A behavioural event.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WorldEvent {
    /// The customer's id.
    pub customer_id: String,
    /// `page_view`, `add_to_cart`, `email_open`, `email_click`.
    pub event_type: String,
    /// `web` or `email`.
    pub channel: String,
    /// The order or campaign it belongs to.
    pub reference: String,
    /// When.
    pub occurred_at: DateTime<Utc>,
}

/// A paid channel's true effect.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChannelTruth {
    /// Name.
    pub channel: String,
    /// Mean daily spend.
    pub mean_daily_spend: f64,
    /// True incremental revenue per unit of spend.
    pub true_roas: f64,
    /// Adstock carry-over per day (0..1).
    pub adstock_decay: f64,
}

/// A day's spend on a channel.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SpendRow {
    /// Day.
    pub date: NaiveDate,
    /// Channel.
    pub channel: String,
    /// Spend.
    pub spend: f64,
    /// Impressions.
    pub impressions: i64,
    /// Clicks.
    pub clicks: i64,
}

/// A monthly e-mail campaign with its true and observed outcome.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Campaign {
    /// `K01`...
    pub campaign_id: String,
    /// Name.
    pub name: String,
    /// Subject line.
    pub subject: String,
    /// When it was sent.
    pub sent_at: DateTime<Utc>,
    /// Recipients.
    pub recipients: u32,
    /// Recipients who opened.
    pub opens: u32,
    /// Recipients who clicked.
    pub clicks: u32,
    /// Recipients who converted.
    pub conversions: u32,
    /// True open probability.
    pub true_open_rate: f64,
    /// True click probability given an open.
    pub true_click_rate: f64,
    /// True conversion probability given a click.
    pub true_conversion_rate: f64,
}

/// Aspects a review talks about.
pub const ASPECTS: [&str; 4] = ["shipping", "price", "quality", "support"];

/// A product review with its true sentiment per aspect.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Review {
    /// `R0001`...
    pub review_id: String,
    /// The reviewer.
    pub customer_id: String,
    /// The product.
    pub product_id: String,
    /// When.
    pub reviewed_at: DateTime<Utc>,
    /// Stars, 1..=5.
    pub rating: u8,
    /// The text.
    pub text: String,
    /// True sentiment per aspect of [`ASPECTS`]: -1, 0 (neutral) or 1 when
    /// the review mentions it, `None` when it does not.
    pub aspects: [Option<i8>; 4],
}

/// A generated world.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct World {
    /// What generated it.
    pub config: WorldConfig,
    /// The latent distributions.
    pub params: Params,
    /// The last day of data.
    pub today: NaiveDate,
    /// The first day of data.
    pub start: NaiveDate,
    /// Catalog.
    pub products: Vec<Product>,
    /// Customers (ordered by id).
    pub customers: Vec<Customer>,
    /// Orders (ordered by time).
    pub orders: Vec<Order>,
    /// Events (ordered by time).
    pub events: Vec<WorldEvent>,
    /// Paid channels.
    pub channels: Vec<ChannelTruth>,
    /// Daily spend (ordered by date, channel).
    pub channel_spend: Vec<SpendRow>,
    /// Campaigns (ordered by send time).
    pub campaigns: Vec<Campaign>,
    /// Reviews (ordered by time).
    pub reviews: Vec<Review>,
}

const FIRST_NAMES: &[&str] = &[
    "Amara", "Ben", "Chloe", "Daniel", "Elena", "Farhan", "Grace", "Hugo", "Isla", "Jamal",
    "Keiko", "Liam", "Maya", "Nikhil", "Olivia", "Pablo", "Quinn", "Rahim", "Sofia", "Tariq",
    "Uma", "Victor", "Wen", "Ximena", "Yusuf", "Zara", "Aiden", "Bushra", "Carlos", "Deepa",
    "Emil", "Fatima", "Gabriel", "Hana", "Ivan", "Jonas", "Kavya", "Lucas", "Mei", "Noah", "Omar",
    "Priya", "Rafael", "Sara", "Tomas", "Anika", "Leo", "Nadia", "Ethan", "Lena",
];

const LAST_NAMES: &[&str] = &[
    "Ahmed",
    "Baker",
    "Chen",
    "Dubois",
    "Evans",
    "Fischer",
    "Garcia",
    "Hossain",
    "Ito",
    "Jensen",
    "Kowalski",
    "Lopez",
    "Martin",
    "Nakamura",
    "Okafor",
    "Patel",
    "Quinteros",
    "Rahman",
    "Schmidt",
    "Taylor",
    "Uddin",
    "Varga",
    "Weber",
    "Xu",
    "Yilmaz",
    "Zimmer",
    "Andersen",
    "Brooks",
    "Costa",
    "Das",
    "Eriksen",
    "Ferreira",
    "Gupta",
    "Hughes",
    "Islam",
    "Kim",
    "Larsen",
    "Moreau",
    "Novak",
    "Olsen",
    "Park",
    "Reyes",
    "Silva",
    "Tanaka",
    "Walker",
    "Young",
    "Khan",
    "Murphy",
    "Rossi",
    "Singh",
];

/// (city, country, phone prefix, weight).
const CITIES: &[(&str, &str, &str, u32)] = &[
    ("Austin", "US", "+1512", 9),
    ("Seattle", "US", "+1206", 8),
    ("Chicago", "US", "+1312", 8),
    ("New York", "US", "+1212", 10),
    ("Toronto", "CA", "+1416", 6),
    ("Vancouver", "CA", "+1604", 4),
    ("London", "GB", "+4420", 8),
    ("Manchester", "GB", "+44161", 4),
    ("Berlin", "DE", "+4930", 6),
    ("Munich", "DE", "+4989", 3),
    ("Paris", "FR", "+331", 5),
    ("Dhaka", "BD", "+8802", 6),
    ("Chittagong", "BD", "+88031", 3),
    ("Sydney", "AU", "+612", 5),
    ("Melbourne", "AU", "+613", 4),
    ("Mumbai", "IN", "+9122", 5),
    ("Bangalore", "IN", "+9180", 4),
];

/// (category, [(product, list price)]).
const CATALOG: &[(&str, &[(&str, f64)])] = &[
    (
        "Apparel",
        &[
            ("Merino Crew Sweater", 89.0),
            ("Organic Cotton Tee", 24.0),
            ("Linen Summer Shirt", 58.0),
            ("Rain Shell Jacket", 129.0),
            ("Fleece Quarter Zip", 64.0),
            ("Everyday Chinos", 72.0),
        ],
    ),
    (
        "Footwear",
        &[
            ("Trail Runner Shoes", 119.0),
            ("Canvas Sneakers", 55.0),
            ("Leather Chelsea Boots", 165.0),
            ("Recovery Slides", 35.0),
            ("Wool Hiking Socks", 18.0),
        ],
    ),
    (
        "Accessories",
        &[
            ("Waxed Canvas Backpack", 98.0),
            ("Leather Card Wallet", 39.0),
            ("Polarized Sunglasses", 75.0),
            ("Knit Beanie", 22.0),
            ("Insulated Water Bottle", 29.0),
            ("Travel Cable Organizer", 19.0),
        ],
    ),
    (
        "Home",
        &[
            ("Ceramic Pour-Over Set", 46.0),
            ("Stoneware Mug Pair", 28.0),
            ("Linen Throw Blanket", 84.0),
            ("Scented Soy Candle", 21.0),
            ("Cast Iron Skillet", 52.0),
            ("Bamboo Cutting Board", 26.0),
        ],
    ),
    (
        "Beauty",
        &[
            ("Daily Mineral Sunscreen", 27.0),
            ("Hydrating Face Serum", 38.0),
            ("Shea Body Butter", 19.0),
            ("Charcoal Cleansing Bar", 12.0),
            ("Lip Repair Balm", 9.0),
        ],
    ),
    (
        "Electronics",
        &[
            ("Wireless Earbuds", 79.0),
            ("Portable Power Bank", 45.0),
            ("Bluetooth Speaker Mini", 59.0),
            ("Smart LED Desk Lamp", 68.0),
            ("Fast Charging Cable", 15.0),
        ],
    ),
];

/// (channel, mean daily spend, true ROAS, adstock decay, acquisition weight).
const CHANNELS: &[(&str, f64, f64, f64, f64)] = &[
    ("search", 220.0, 3.1, 0.30, 0.30),
    ("social", 180.0, 1.8, 0.55, 0.22),
    ("display", 90.0, 0.7, 0.60, 0.06),
    ("affiliate", 60.0, 2.4, 0.20, 0.08),
    ("email", 25.0, 6.5, 0.40, 0.12),
];

/// Weight of organic acquisition beside [`CHANNELS`]' weights.
const ORGANIC_WEIGHT: f64 = 0.22;

/// Independent random stream `part` of `seed`.
fn stream(seed: u64, part: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(part);
    rng
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

fn ymd(d: (i32, u32, u32)) -> Result<NaiveDate, EvalError> {
    NaiveDate::from_ymd_opt(d.0, d.1, d.2).ok_or_else(|| EvalError::World {
        message: format!("invalid date {d:?}"),
    })
}

fn at(day: NaiveDate, seconds: i64) -> DateTime<Utc> {
    Utc.from_utc_datetime(&day.and_time(NaiveTime::MIN)) + Duration::seconds(seconds)
}

fn dist_err(e: impl std::fmt::Display) -> EvalError {
    EvalError::World {
        message: format!("bad distribution parameter: {e}"),
    }
}

fn pick_weighted(rng: &mut ChaCha8Rng, weights: &[f64]) -> usize {
    let total: f64 = weights.iter().sum();
    let mut x = rng.random::<f64>() * total;
    for (i, w) in weights.iter().enumerate() {
        if x < *w {
            return i;
        }
        x -= w;
    }
    weights.len() - 1
}

/// True 90-day churn probability and expected purchases / CLV in 365 days
/// of a customer alive now with rate `lambda` and dropout `p`: dropouts
/// arrive at rate `λp` (memoryless), so `P(alive at t) = e^{-λpt}` and the
/// expected orders in `T` days are `λ ∫ e^{-λpt} dt = (1 - e^{-λpT}) / p`.
pub fn alive_truth(lambda: f64, p: f64, mean_spend: f64) -> (f64, f64, f64) {
    let churn_90 = 1.0 - (-lambda * p * 90.0).exp();
    let purchases = if p > 0.0 {
        (1.0 - (-lambda * p * 365.0).exp()) / p
    } else {
        lambda * 365.0
    };
    (churn_90, purchases, purchases * mean_spend)
}

impl World {
    /// Generates the world of `config` (deterministic; see the module
    /// docs).
    ///
    /// # Errors
    /// [`EvalError::World`] if the built-in parameters are invalid (a bug)
    /// or `config.customers` is 0 or above what unique names allow.
    pub fn generate(config: WorldConfig) -> Result<World, EvalError> {
        let max = FIRST_NAMES.len() * LAST_NAMES.len() * 4 / 5;
        if config.customers == 0 || config.customers > max {
            return Err(EvalError::World {
                message: format!("customers must be 1..={max}, not {}", config.customers),
            });
        }
        let today = ymd(TODAY)?;
        let start = ymd(START)?;
        let days = (today - start).num_days();
        let end_of_today = at(today, 86_400 - 1);
        let seed = config.seed;

        let mut products = Vec::new();
        for (category, items) in CATALOG {
            for (name, price) in *items {
                products.push(Product {
                    product_id: format!("P{:03}", products.len() + 1),
                    name: (*name).to_owned(),
                    category: (*category).to_owned(),
                    list_price: *price,
                });
            }
        }
        let categories: Vec<&str> = CATALOG.iter().map(|(c, _)| *c).collect();

        let rate = Gamma::new(PARAMS.rate_shape, PARAMS.rate_scale).map_err(dist_err)?;
        let dropout = Beta::new(PARAMS.dropout_a, PARAMS.dropout_b).map_err(dist_err)?;
        let mean_spend =
            Gamma::new(PARAMS.mean_spend_shape, PARAMS.mean_spend_scale).map_err(dist_err)?;

        let mut rng_people = stream(seed, 1);
        let mut rng_latent = stream(seed, 2);
        let mut rng_orders = stream(seed, 3);
        let mut rng_events = stream(seed, 4);

        let mut used_names = std::collections::BTreeSet::new();
        let acquisition_weights: Vec<f64> = CHANNELS
            .iter()
            .map(|c| c.4)
            .chain([ORGANIC_WEIGHT])
            .collect();
        let city_weights: Vec<f64> = CITIES.iter().map(|c| f64::from(c.3)).collect();
        let mut customers = Vec::with_capacity(config.customers);
        let mut orders: Vec<Order> = Vec::new();
        let mut events: Vec<WorldEvent> = Vec::new();
        for i in 0..config.customers {
            let (first, last) = loop {
                let f = FIRST_NAMES[rng_people.random_range(0..FIRST_NAMES.len())];
                let l = LAST_NAMES[rng_people.random_range(0..LAST_NAMES.len())];
                if used_names.insert((f, l)) {
                    break (f, l);
                }
            };
            let city = CITIES[pick_weighted(&mut rng_people, &city_weights)];
            let channel_ix = pick_weighted(&mut rng_people, &acquisition_weights);
            let channel = CHANNELS.get(channel_ix).map_or("organic", |c| c.0);
            let favourite = categories[rng_people.random_range(0..categories.len())];
            let customer_id = format!("C{:05}", i + 1);
            let phone = format!("{}{:07}", city.2, 5_550_000 + i);

            // Acquisition (first order) on a day of the history, the last
            // two weeks left out so everyone has a little history.
            let first_day = start + Duration::days(rng_latent.random_range(0..days - 14));
            let first_at = at(first_day, rng_latent.random_range(8 * 3600..21 * 3600));
            let signup = first_at - Duration::seconds(rng_latent.random_range(600..10 * 86_400));
            let signup = signup.max(at(start, 8 * 3600));
            let lambda: f64 = rate.sample(&mut rng_latent).max(1e-5);
            let p: f64 = dropout.sample(&mut rng_latent);
            let nu: f64 = mean_spend.sample(&mut rng_latent).max(5.0);
            let value =
                Gamma::new(PARAMS.spend_shape, nu / PARAMS.spend_shape).map_err(dist_err)?;
            let gap = Exp::new(lambda).map_err(dist_err)?;

            let mut t = first_at;
            let mut dropout_at = None;
            loop {
                let order_id = format!("O{:06}", orders.len() + 1);
                let z: f64 = value.sample(&mut rng_orders).max(3.0);
                let items = order_items(&mut rng_orders, &products, favourite, z);
                let amount = round2(
                    items
                        .iter()
                        .map(|it| f64::from(it.quantity) * it.unit_price)
                        .sum(),
                );
                let view = t - Duration::seconds(rng_events.random_range(5 * 60..60 * 60));
                events.push(WorldEvent {
                    customer_id: customer_id.clone(),
                    event_type: "page_view".into(),
                    channel: "web".into(),
                    reference: order_id.clone(),
                    occurred_at: view,
                });
                events.push(WorldEvent {
                    customer_id: customer_id.clone(),
                    event_type: "add_to_cart".into(),
                    channel: "web".into(),
                    reference: order_id.clone(),
                    occurred_at: t - Duration::seconds(rng_events.random_range(30..5 * 60)),
                });
                orders.push(Order {
                    order_id,
                    customer_id: customer_id.clone(),
                    ordered_at: t,
                    amount,
                    items,
                });
                if rng_latent.random::<f64>() < p {
                    dropout_at = Some(t);
                    break;
                }
                let wait_days: f64 = gap.sample(&mut rng_latent);
                let next = t + Duration::seconds((wait_days * 86_400.0).round().max(3600.0) as i64);
                if next > end_of_today {
                    break;
                }
                t = next;
            }
            let alive = dropout_at.is_none();
            let (churn_prob_90d, expected_purchases_365d, clv_365d) = if alive {
                alive_truth(lambda, p, nu)
            } else {
                (1.0, 0.0, 0.0)
            };
            customers.push(Customer {
                customer_id,
                first_name: first.to_owned(),
                last_name: last.to_owned(),
                email: format!(
                    "{}.{}@example.com",
                    first.to_lowercase(),
                    last.to_lowercase()
                ),
                phone,
                city: city.0.to_owned(),
                country: city.1.to_owned(),
                created_at: signup,
                acquisition_channel: channel.to_owned(),
                favourite_category: favourite.to_owned(),
                truth: CustomerTruth {
                    purchase_rate: lambda,
                    dropout_p: p,
                    mean_spend: nu,
                    alive,
                    dropout_at,
                    churn_prob_90d,
                    expected_purchases_365d,
                    clv_365d,
                },
            });
        }
        // Orders and their numbers follow time, as a shop's would.
        orders.sort_by(|a, b| {
            a.ordered_at
                .cmp(&b.ordered_at)
                .then_with(|| a.order_id.cmp(&b.order_id))
        });
        let mut renumber = std::collections::BTreeMap::new();
        for (i, o) in orders.iter_mut().enumerate() {
            let new = format!("O{:06}", i + 1);
            renumber.insert(o.order_id.clone(), new.clone());
            o.order_id = new;
        }
        for e in &mut events {
            if let Some(new) = renumber.get(&e.reference) {
                e.reference.clone_from(new);
            }
        }

        let campaigns = campaigns(seed, start, today, &customers, &mut events)?;
        events.sort_by(|a, b| {
            a.occurred_at
                .cmp(&b.occurred_at)
                .then_with(|| a.customer_id.cmp(&b.customer_id))
                .then_with(|| a.event_type.cmp(&b.event_type))
        });
        let (channels, channel_spend) = channels(seed, start, today);
        let reviews = reviews(seed, &orders, &products, end_of_today);
        Ok(World {
            config,
            params: PARAMS,
            today,
            start,
            products,
            customers,
            orders,
            events,
            channels,
            channel_spend,
            campaigns,
            reviews,
        })
    }

    /// The customer with id, e-mail or full name `key` (case-insensitive).
    pub fn customer(&self, key: &str) -> Option<&Customer> {
        let k = key.trim().to_lowercase();
        self.customers.iter().find(|c| {
            c.customer_id.to_lowercase() == k || c.email == k || c.full_name().to_lowercase() == k
        })
    }

    /// The day of the latest order (what "last month" is read against).
    pub fn reference_date(&self) -> NaiveDate {
        self.orders
            .iter()
            .map(|o| o.ordered_at.date_naive())
            .max()
            .unwrap_or(self.today)
    }
}

/// One to three lines for an order worth about `z`: products from the
/// customer's favourite category 60 % of the time, list-price proportions
/// scaled to the order's value (bundles and discounts).
fn order_items(
    rng: &mut ChaCha8Rng,
    products: &[Product],
    favourite: &str,
    z: f64,
) -> Vec<OrderItem> {
    let lines = 1 + usize::from(rng.random_bool(0.35)) + usize::from(rng.random_bool(0.15));
    let fav: Vec<&Product> = products
        .iter()
        .filter(|p| p.category == favourite)
        .collect();
    let mut chosen: Vec<(&Product, u32)> = Vec::with_capacity(lines);
    while chosen.len() < lines {
        let p = if rng.random_bool(0.6) && !fav.is_empty() {
            fav[rng.random_range(0..fav.len())]
        } else {
            &products[rng.random_range(0..products.len())]
        };
        let qty = if rng.random_bool(0.8) { 1 } else { 2 };
        if chosen.iter().all(|(c, _)| c.product_id != p.product_id) {
            chosen.push((p, qty));
        }
    }
    let base: f64 = chosen
        .iter()
        .map(|(p, q)| p.list_price * f64::from(*q))
        .sum();
    let factor = z / base.max(1.0);
    chosen
        .into_iter()
        .map(|(p, q)| OrderItem {
            product_id: p.product_id.clone(),
            product_name: p.name.clone(),
            category: p.category.clone(),
            quantity: q,
            unit_price: round2((p.list_price * factor).max(0.5)),
        })
        .collect()
}

fn logistic(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// Monthly campaigns: the subject's features set the true rates; a sample
/// of the customers alive and signed up at the send gets it.
fn campaigns(
    seed: u64,
    start: NaiveDate,
    today: NaiveDate,
    customers: &[Customer],
    events: &mut Vec<WorldEvent>,
) -> Result<Vec<Campaign>, EvalError> {
    const OPENERS: &[(&str, bool, bool, bool)] = &[
        (
            "{first}, your picks for {month} are here",
            true,
            false,
            false,
        ),
        ("New in for {month}", false, false, false),
        ("20% off everything this weekend only", false, true, true),
        ("Last chance: free shipping ends tonight", false, true, true),
        ("{first}, we saved something for you", true, false, false),
        (
            "The {month} edit: what our customers love",
            false,
            false,
            false,
        ),
        ("Members save 15% on bestsellers", false, true, false),
        ("Hurry, {first}: your cart misses you", true, false, true),
    ];
    let mut rng = stream(seed, 5);
    let mut out = Vec::new();
    let mut month = start.with_day(1).unwrap_or(start);
    let mut n = 0;
    while month <= today {
        n += 1;
        let send_day = month + Duration::days(4);
        let sent_at = at(send_day, 10 * 3600);
        let (template, personal, discount, urgency) = OPENERS[rng.random_range(0..OPENERS.len())];
        let month_name = send_day.format("%B").to_string();
        let subject = template
            .replace("{first}", "Alex")
            .replace("{month}", &month_name);
        let len = subject.chars().count() as f64;
        let open = logistic(
            -1.3 + 0.45 * f64::from(u8::from(personal)) + 0.25 * f64::from(u8::from(urgency))
                - 0.012 * (len - 35.0),
        );
        let click = logistic(-1.9 + 0.5 * f64::from(u8::from(discount)));
        let convert = logistic(-1.6 + 0.4 * f64::from(u8::from(discount)));
        let eligible: Vec<&Customer> = customers
            .iter()
            .filter(|c| c.created_at < sent_at && c.truth.dropout_at.is_none_or(|d| d > sent_at))
            .collect();
        let (mut recipients, mut opens, mut clicks, mut conversions) = (0u32, 0u32, 0u32, 0u32);
        let campaign_id = format!("K{n:02}");
        for c in eligible {
            if !rng.random_bool(0.35) {
                continue;
            }
            recipients += 1;
            if rng.random::<f64>() < open {
                opens += 1;
                let opened_at = sent_at + Duration::seconds(rng.random_range(60..3 * 86_400));
                events.push(WorldEvent {
                    customer_id: c.customer_id.clone(),
                    event_type: "email_open".into(),
                    channel: "email".into(),
                    reference: campaign_id.clone(),
                    occurred_at: opened_at,
                });
                if rng.random::<f64>() < click {
                    clicks += 1;
                    events.push(WorldEvent {
                        customer_id: c.customer_id.clone(),
                        event_type: "email_click".into(),
                        channel: "email".into(),
                        reference: campaign_id.clone(),
                        occurred_at: opened_at + Duration::seconds(rng.random_range(5..600)),
                    });
                    if rng.random::<f64>() < convert {
                        conversions += 1;
                    }
                }
            }
        }
        out.push(Campaign {
            campaign_id,
            name: format!("{} newsletter", send_day.format("%B %Y")),
            subject,
            sent_at,
            recipients,
            opens,
            clicks,
            conversions,
            true_open_rate: open,
            true_click_rate: click,
            true_conversion_rate: convert,
        });
        month = month
            .checked_add_months(chrono::Months::new(1))
            .ok_or_else(|| EvalError::World {
                message: "month overflow".into(),
            })?;
    }
    Ok(out)
}

/// Daily spend per channel: a yearly cycle (peaking in November) and noise
/// around each channel's mean.
fn channels(seed: u64, start: NaiveDate, today: NaiveDate) -> (Vec<ChannelTruth>, Vec<SpendRow>) {
    let mut rng = stream(seed, 6);
    let truth: Vec<ChannelTruth> = CHANNELS
        .iter()
        .map(|(c, spend, roas, decay, _)| ChannelTruth {
            channel: (*c).to_owned(),
            mean_daily_spend: *spend,
            true_roas: *roas,
            adstock_decay: *decay,
        })
        .collect();
    let mut rows = Vec::new();
    let mut day = start;
    while day <= today {
        let season = 1.0
            + 0.3 * (2.0 * std::f64::consts::PI * (f64::from(day.ordinal()) - 228.0) / 365.0).cos();
        for (c, mean, _, _, _) in CHANNELS {
            let spend = round2(mean * season * rng.random_range(0.75..1.25));
            let impressions = (spend * rng.random_range(80.0..140.0)).round() as i64;
            let clicks = (impressions as f64 * rng.random_range(0.008..0.03)).round() as i64;
            rows.push(SpendRow {
                date: day,
                channel: (*c).to_owned(),
                spend,
                impressions,
                clicks,
            });
        }
        day += Duration::days(1);
    }
    (truth, rows)
}

/// Reviews of bought products: quality depends on the product, shipping
/// sours in November-December 2025 (a known incident), price and support
/// are mostly positive.
fn reviews(seed: u64, orders: &[Order], products: &[Product], end: DateTime<Utc>) -> Vec<Review> {
    const PHRASES: [[&str; 3]; 4] = [
        [
            "Shipping took forever and the box arrived crushed.",
            "Delivery was on time.",
            "Arrived in two days, well packed.",
        ],
        [
            "Way too expensive for what it is.",
            "The price is fair.",
            "Great value for the money.",
        ],
        [
            "It fell apart after a few weeks.",
            "Quality is okay.",
            "Excellent build quality, feels premium.",
        ],
        [
            "Customer service never answered my emails.",
            "Support replied eventually.",
            "The support team sorted my issue quickly.",
        ],
    ];
    let mut rng = stream(seed, 7);
    let quality: Vec<f64> = products
        .iter()
        .map(|_| rng.random_range(-0.6..0.9))
        .collect();
    let mut out = Vec::new();
    for o in orders {
        if !rng.random_bool(0.08) {
            continue;
        }
        let Some(item) = o.items.first() else {
            continue;
        };
        let pix = products
            .iter()
            .position(|p| p.product_id == item.product_id)
            .unwrap_or(0);
        let reviewed_at =
            o.ordered_at + Duration::seconds(rng.random_range(2 * 86_400..20 * 86_400));
        if reviewed_at > end {
            continue;
        }
        let incident = {
            let d = o.ordered_at.date_naive();
            d.year() == 2025 && d.month() >= 11
        };
        let bias = [
            if incident { -1.2 } else { 0.6 },
            0.3,
            quality.get(pix).copied().unwrap_or(0.0),
            0.4,
        ];
        let mut aspects = [None; 4];
        let mut text = Vec::new();
        let mut score = 0.0;
        for a in 0..4 {
            if a != 2 && !rng.random_bool(0.45) {
                continue;
            }
            let x = bias[a] + rng.random_range(-1.0..1.0);
            let s: i8 = if x > 0.35 {
                1
            } else if x < -0.35 {
                -1
            } else {
                0
            };
            aspects[a] = Some(s);
            score += f64::from(s);
            text.push(PHRASES[a][(s + 1) as usize]);
        }
        let rating = (3.0 + score + rng.random_range(-0.5..0.5))
            .round()
            .clamp(1.0, 5.0) as u8;
        out.push(Review {
            review_id: format!("R{:04}", out.len() + 1),
            customer_id: o.customer_id.clone(),
            product_id: item.product_id.clone(),
            reviewed_at,
            rating,
            text: text.join(" "),
            aspects,
        });
    }
    out.sort_by(|a, b| {
        a.reviewed_at
            .cmp(&b.reviewed_at)
            .then_with(|| a.review_id.cmp(&b.review_id))
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alive_truth_matches_the_closed_form() {
        let (c, n, v) = alive_truth(0.01, 0.2, 50.0);
        assert!((c - (1.0 - (-0.18f64).exp())).abs() < 1e-12);
        assert!((n - (1.0 - (-0.73f64).exp()) / 0.2).abs() < 1e-12);
        assert!((v - n * 50.0).abs() < 1e-9);
    }

    #[test]
    fn small_worlds_generate() -> Result<(), EvalError> {
        let w = World::generate(WorldConfig {
            seed: 1,
            customers: 50,
        })?;
        assert_eq!(w.customers.len(), 50);
        assert!(w.orders.len() >= 50);
        Ok(())
    }

    #[test]
    fn zero_customers_is_refused() {
        assert!(
            World::generate(WorldConfig {
                seed: 1,
                customers: 0
            })
            .is_err()
        );
    }
}
