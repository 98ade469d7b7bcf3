//! Column detection on fixture exports shaped like real platforms' files.

use std::path::Path;

use aima_ingest::Field::{self, *};
use aima_ingest::detect::{ColumnDetection, detect_columns};
use aima_ingest::source::open_path;
use aima_ingest::values::{
    DateOrder, DateOrderVotes, normalize_phone, parse_datetime, parse_money,
};

use crate::{fixture, read_all};

fn detect_file(path: &Path) -> (Vec<ColumnDetection>, Vec<Vec<String>>) {
    let mut reader = open_path(path).expect("open");
    let headers = reader.headers().to_vec();
    let rows: Vec<Vec<String>> = read_all(reader.as_mut())
        .into_iter()
        .map(|r| r.values)
        .collect();
    (detect_columns(&headers, &rows), rows)
}

fn mapping(d: &[ColumnDetection]) -> Vec<(String, Field)> {
    d.iter()
        .filter_map(|c| c.field.map(|f| (c.header.clone(), f)))
        .collect()
}

fn expect(d: &[ColumnDetection], expected: &[(&str, Field)]) {
    let got = mapping(d);
    let want: Vec<(String, Field)> = expected
        .iter()
        .map(|(h, f)| ((*h).to_owned(), *f))
        .collect();
    assert_eq!(got, want, "{d:#?}");
}

fn assert_fields_unique(d: &[ColumnDetection]) {
    let mut seen = std::collections::HashSet::new();
    for c in d {
        if let Some(f) = c.field {
            assert!(seen.insert(f), "{f} assigned twice");
            assert!(c.confidence > 0.0 && c.confidence <= 1.0);
        } else {
            assert_eq!(c.confidence, 0.0);
        }
    }
}

#[test]
fn shopify_export() {
    let (d, _) = detect_file(&fixture("shopify_orders.csv"));
    assert_fields_unique(&d);
    expect(
        &d,
        &[
            ("Name", OrderId),
            ("Email", Email),
            ("Financial Status", Status),
            ("Currency", Currency),
            ("Total", Amount),
            ("Created at", OrderDate),
            ("Lineitem quantity", Quantity),
            ("Lineitem name", ProductName),
            ("Billing Name", FullName),
            ("Billing City", City),
            ("Billing Country", Country),
            ("Billing Phone", Phone),
        ],
    );
    let name = &d[0];
    assert_eq!(name.samples, vec!["#1001", "#1002", "#1003"]);
}

#[test]
fn woocommerce_export() {
    let (d, _) = detect_file(&fixture("woocommerce_orders.csv"));
    assert_fields_unique(&d);
    expect(
        &d,
        &[
            ("Order Number", OrderId),
            ("Order Status", Status),
            ("Order Date", OrderDate),
            ("Billing First Name", FirstName),
            ("Billing Last Name", LastName),
            ("Billing Email", Email),
            ("Billing Phone", Phone),
            ("Billing City", City),
            ("Billing Country", Country),
            ("Order Total Amount", Amount),
            ("Item Name", ProductName),
            ("Quantity", Quantity),
        ],
    );
}

#[test]
fn amazon_seller_central_report() {
    let (d, _) = detect_file(&fixture("amazon_orders.txt"));
    assert_fields_unique(&d);
    expect(
        &d,
        &[
            ("amazon-order-id", OrderId),
            ("purchase-date", OrderDate),
            ("order-status", Status),
            ("product-name", ProductName),
            ("quantity-purchased", Quantity),
            ("currency", Currency),
            ("item-price", Amount),
            ("ship-city", City),
            ("ship-country", Country),
            ("buyer-email", Email),
            ("buyer-name", FullName),
            ("buyer-phone-number", Phone),
        ],
    );
}

#[test]
fn daraz_export() {
    let (d, _) = detect_file(&fixture("daraz_orders.csv"));
    assert_fields_unique(&d);
    expect(
        &d,
        &[
            ("Order Number", OrderId),
            ("Created at", OrderDate),
            ("Item Name", ProductName),
            ("Customer Name", FullName),
            ("Customer Email", Email),
            ("Shipping City", City),
            ("Billing Phone Number", Phone),
            ("Paid Price", Amount),
            ("Status", Status),
        ],
    );
}

#[test]
fn bangla_export_with_bengali_digits() {
    let (d, rows) = detect_file(&fixture("bangla_orders.csv"));
    assert_fields_unique(&d);
    expect(
        &d,
        &[
            ("অর্ডার নম্বর", OrderId),
            ("Customer Name", FullName),
            ("Mobile", Phone),
            ("Thana", City),
            ("Order Date", OrderDate),
            ("Qty", Quantity),
            ("GMV", Amount),
            ("Status", Status),
        ],
    );
    // The values of the detected columns parse, with the date order inferred.
    let mut votes = DateOrderVotes::default();
    for r in &rows {
        votes.observe(&r[5]);
    }
    assert_eq!(votes.decide(), Some(DateOrder::DayFirst));
    let first = parse_datetime(&rows[0][5], votes.decide()).expect("date");
    assert_eq!(first.format("%Y-%m-%d").to_string(), "2024-03-05");
    assert_eq!(parse_money(&rows[0][7]).expect("money").amount, 1234.5);
    assert_eq!(
        parse_money(&rows[0][7]).expect("money").currency,
        Some("BDT")
    );
    assert_eq!(
        normalize_phone(&rows[0][2], Some("BD")).as_deref(),
        Ok("+8801712345678")
    );
    assert_eq!(
        normalize_phone(&rows[2][2], None).as_deref(),
        Ok("+8801912345678")
    );
}

#[test]
fn semicolon_european_export() {
    let (d, rows) = detect_file(&fixture("semicolon_eu.csv"));
    expect(
        &d,
        &[
            ("Order ID", OrderId),
            ("Order Date", OrderDate),
            ("Email", Email),
            ("Amount", Amount),
            ("Currency", Currency),
        ],
    );
    let amounts: Vec<f64> = rows
        .iter()
        .map(|r| parse_money(&r[3]).expect("money").amount)
        .collect();
    assert_eq!(amounts, vec![1234.5, 12.5, 1000.0]);
}
