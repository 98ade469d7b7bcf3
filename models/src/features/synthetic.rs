//! A seeded synthetic organization, for benchmarks and invariant tests.

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::{EventKind, EventRow, ItemRow, OrderRow, OrderStatus, OrgData};

/// The end of the synthetic organization's history (2026-01-01T00:00:00Z,
/// unix seconds): every generated timestamp is `<=` this, so it is the
/// natural `as_of` for [`synthetic`] data.
pub const SYNTHETIC_END: i64 = 1_767_225_600;

/// Length of the synthetic history: 730 days before [`SYNTHETIC_END`].
pub const SYNTHETIC_HISTORY_DAYS: i64 = 730;

const DAY: i64 = 86_400;
const PRODUCTS: u32 = 5_000;
const CATEGORIES: u32 = 50;
const CHANNELS: u16 = 4;

struct Profile {
    start: i64,
    end: i64,
    spend: f64,
    discount_p: f64,
    channel: u16,
}

/// A seeded synthetic organization with `n_customers` customers and
/// `n_orders` orders over the 730 days ending at [`SYNTHETIC_END`], plus on
/// average two order lines per order and two events per order.
///
/// Customers differ the way real ones do: a heavy-tailed purchase propensity
/// (weight `u^-0.6`), an active window (uniform start, exponential lifetime
/// with a 300-day mean), a typical spend (20-200 currency units), a discount
/// propensity and a preferred channel. Orders are assigned to customers in
/// proportion to their weight; about 3% are cancelled or refunded and 1% are
/// negative-amount refunds. Products follow a skewed popularity over 5,000
/// products in 50 categories (5% of lines without a category), 10% of orders
/// have no channel. Events mix sends, opens, clicks, visits, cart adds and
/// abandons, conversions and others. The same `seed` always gives the same
/// data. With `n_customers == 0` the organization is empty.
pub fn synthetic(n_customers: usize, n_orders: usize, seed: u64) -> OrgData {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    if n_customers == 0 {
        return OrgData::default();
    }
    let begin = SYNTHETIC_END - SYNTHETIC_HISTORY_DAYS * DAY;
    let mut cumulative = Vec::with_capacity(n_customers);
    let mut acc = 0.0;
    let mut profiles = Vec::with_capacity(n_customers);
    let mut created_at = Vec::with_capacity(n_customers);
    for _ in 0..n_customers {
        let u: f64 = 1.0 - rng.random::<f64>();
        acc += u.powf(-0.6);
        cumulative.push(acc);
        let start = rng.random_range(begin..SYNTHETIC_END);
        let life = -300.0 * (1.0 - rng.random::<f64>()).ln();
        let end = (start + (life * DAY as f64) as i64).min(SYNTHETIC_END);
        profiles.push(Profile {
            start,
            end,
            spend: 20.0 * 10f64.powf(rng.random::<f64>()),
            discount_p: rng.random::<f64>() * 0.5,
            channel: rng.random_range(0..CHANNELS),
        });
        created_at.push(Some(start - rng.random_range(0..30 * DAY)));
    }
    let pick = |rng: &mut ChaCha8Rng| -> usize {
        let x = rng.random::<f64>() * acc;
        cumulative.partition_point(|&c| c <= x).min(n_customers - 1)
    };

    let mut orders = Vec::with_capacity(n_orders);
    let mut items = Vec::with_capacity(2 * n_orders);
    for oi in 0..n_orders {
        let c = pick(&mut rng);
        let p = &profiles[c];
        let at = rng.random_range(p.start..=p.end);
        let lines = rng.random_range(1..=3u32);
        let mut quantity = 0.0;
        let mut amount = 0.0;
        for _ in 0..lines {
            // Skewed popularity: squaring a uniform favours low ids.
            let u: f64 = rng.random();
            let product = ((u * u) * PRODUCTS as f64) as u32;
            let q = rng.random_range(1..=3u32) as f64;
            let a = q * p.spend * (0.2 + 0.3 * rng.random::<f64>());
            let category = if rng.random_bool(0.05) {
                None
            } else {
                Some(product % CATEGORIES)
            };
            items.push(ItemRow {
                order: oi as u32,
                product,
                category,
                quantity: q,
                amount: a,
            });
            quantity += q;
            amount += a;
        }
        // `amount` is the list price of the lines; the order pays it less
        // the discount.
        let discount = if rng.random_bool(p.discount_p) {
            amount * rng.random_range(0.1..0.3)
        } else {
            0.0
        };
        let amount = amount - discount;
        let r: f64 = rng.random();
        let (status, amount) = if r < 0.02 {
            (OrderStatus::Refunded, amount)
        } else if r < 0.03 {
            (OrderStatus::Cancelled, amount)
        } else if r < 0.04 {
            (OrderStatus::Completed, -amount)
        } else if r < 0.06 {
            (OrderStatus::Pending, amount)
        } else {
            (OrderStatus::Completed, amount)
        };
        let channel = if rng.random_bool(0.1) {
            None
        } else if rng.random_bool(0.8) {
            Some(p.channel)
        } else {
            Some(rng.random_range(0..CHANNELS))
        };
        orders.push(OrderRow {
            customer: c as u32,
            at,
            amount,
            quantity,
            discount,
            status,
            channel,
        });
    }

    let n_events = 2 * n_orders;
    let mut events = Vec::with_capacity(n_events);
    for _ in 0..n_events {
        let c = pick(&mut rng);
        let p = &profiles[c];
        let at = rng.random_range(p.start..=(p.end + 30 * DAY).min(SYNTHETIC_END));
        let r: f64 = rng.random();
        let kind = match r {
            r if r < 0.35 => EventKind::Sent,
            r if r < 0.55 => EventKind::Open,
            r if r < 0.63 => EventKind::Click,
            r if r < 0.83 => EventKind::Visit,
            r if r < 0.91 => EventKind::CartAdd,
            r if r < 0.95 => EventKind::CartAbandon,
            r if r < 0.98 => EventKind::Conversion,
            _ => EventKind::Other,
        };
        let channel = if rng.random_bool(0.2) {
            None
        } else {
            Some(rng.random_range(0..CHANNELS))
        };
        events.push(EventRow {
            customer: c as u32,
            at,
            kind,
            channel,
        });
    }
    OrgData {
        customers: n_customers,
        created_at,
        orders,
        items,
        events,
    }
}
