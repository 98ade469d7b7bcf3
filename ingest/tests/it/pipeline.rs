//! The import pipeline end to end, on SQLite and PostgreSQL: detection,
//! validation, identity matching, order assembly and transactional writes.

use std::path::{Path, PathBuf};

use aima_ingest::IngestError;
use aima_ingest::pipeline::{self, ImportOptions, ImportReport, MappingOverride};
use aima_runtime::store::testing::Ctx;
use aima_runtime::store::{Customer, Order, Store};
use aima_runtime::store_tests;
use chrono::{TimeZone, Utc};
use uuid::Uuid;

use crate::fixture;

store_tests!(
    shopify_export_imports_and_reimport_changes_nothing,
    changed_rows_update_customers_and_orders,
    customers_match_by_phone_then_name,
    strict_mode_writes_nothing,
    continuation_rows_join_their_order_anywhere,
    day_first_dates_are_inferred_from_unambiguous_rows,
    unit_prices_are_multiplied_by_quantity,
    files_without_order_ids_reimport_idempotently,
    preview_counts_without_writing,
    organizations_do_not_share_identities,
    mapping_overrides_apply,
    customer_ids_are_the_strongest_identity,
    uci_online_retail_workbook_imports,
    concurrent_imports_both_succeed,
);

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write fixture");
    path
}

async fn import(store: &Store, org: Uuid, path: &Path) -> ImportReport {
    import_with(store, org, path, &ImportOptions::default()).await
}

async fn import_with(
    store: &Store,
    org: Uuid,
    path: &Path,
    options: &ImportOptions,
) -> ImportReport {
    pipeline::import(store, org, path, options, &mut |_, _| {})
        .await
        .expect("import succeeds")
}

async fn org(store: &Store, slug: &str) -> Uuid {
    store.create_organization(slug, slug).await.expect("org").id
}

async fn customer_by_email(store: &Store, org: Uuid, email: &str) -> Customer {
    let found = store
        .search_customers(org, Some(email), 10, 0)
        .await
        .expect("search");
    found
        .into_iter()
        .find(|c| c.email.as_deref() == Some(email))
        .unwrap_or_else(|| panic!("no customer {email}"))
}

async fn orders_of(store: &Store, org: Uuid, customer: Uuid) -> Vec<Order> {
    let mut orders = store
        .orders_for_customer(org, customer)
        .await
        .expect("orders");
    orders.sort_by(|a, b| a.external_id.cmp(&b.external_id));
    orders
}

async fn shopify_export_imports_and_reimport_changes_nothing(ctx: Ctx) {
    let store = &ctx.store;
    let org = org(store, "shop").await;
    let report = import(store, org, &fixture("shopify_line_items.csv")).await;
    assert_eq!(report.customers_created, 2, "{report:?}");
    assert_eq!(report.orders_created, 3, "{report:?}");
    let rows: Vec<u64> = report.rows_rejected.iter().map(|r| r.row).collect();
    assert_eq!(rows, vec![6, 7], "{report:?}");
    assert!(
        report.rows_rejected[0]
            .reason
            .contains("nobody-at-example.com")
    );

    let ayesha = customer_by_email(store, org, "ayesha@example.com").await;
    assert_eq!(ayesha.full_name.as_deref(), Some("Ayesha Rahman"));
    assert_eq!(ayesha.first_name.as_deref(), Some("Ayesha"));
    assert_eq!(ayesha.last_name.as_deref(), Some("Rahman"));
    assert_eq!(ayesha.phone.as_deref(), Some("+8801712345678"));
    assert_eq!(ayesha.city.as_deref(), Some("Dhaka"));
    assert_eq!(ayesha.country.as_deref(), Some("BD"));
    let orders = orders_of(store, org, ayesha.id).await;
    assert_eq!(orders.len(), 2);
    let first = &orders[0];
    assert_eq!(first.external_id, "#1001");
    assert_eq!(first.amount, 1250.0);
    assert_eq!(first.currency.as_deref(), Some("BDT"));
    assert_eq!(first.status.as_deref(), Some("paid"));
    // 14:22:01 at +06:00 is 08:22:01 UTC.
    assert_eq!(
        first.ordered_at,
        Utc.with_ymd_and_hms(2024, 3, 5, 8, 22, 1).unwrap()
    );
    let items: Vec<(&str, f64)> = first
        .items
        .iter()
        .map(|i| (i.product_name.as_str(), i.quantity))
        .collect();
    assert_eq!(items, vec![("Cotton Saree, blue", 2.0), ("Tote Bag", 1.0)]);

    // The upper-case e-mail is the same person as later rows; the refund stays negative.
    let karim = customer_by_email(store, org, "karim@example.com").await;
    let karim_orders = orders_of(store, org, karim.id).await;
    assert_eq!(karim_orders.len(), 1);
    assert_eq!(karim_orders[0].amount, -300.0);

    let again = import(store, org, &fixture("shopify_line_items.csv")).await;
    assert_eq!(
        (
            again.customers_created,
            again.customers_updated,
            again.orders_created,
            again.orders_updated
        ),
        (0, 0, 0, 0),
        "{again:?}"
    );
    assert_eq!(store.count_customers(org).await.expect("count"), 2);
    assert_eq!(store.count_orders(org).await.expect("count"), 3);
    let imports = store.list_imports(org, 10).await.expect("imports");
    assert_eq!(imports.len(), 2);
}

async fn changed_rows_update_customers_and_orders(ctx: Ctx) {
    let store = &ctx.store;
    let dir = tempfile::tempdir().expect("dir");
    let org = org(store, "shop").await;
    let v1 = write(
        dir.path(),
        "v1.csv",
        "Order ID,Order Date,Email,Customer Name,City,Amount,Status\n\
         A-1,2024-01-02,lena@example.com,Lena Berg,Oslo,10.00,pending\n\
         A-2,2024-01-03,omar@example.com,Omar Ali,Cairo,20.00,paid\n",
    );
    let v2 = write(
        dir.path(),
        "v2.csv",
        "Order ID,Order Date,Email,Customer Name,City,Amount,Status\n\
         A-1,2024-01-02,lena@example.com,Lena Berg,Bergen,10.00,paid\n\
         A-2,2024-01-03,omar@example.com,Omar Ali,Cairo,20.00,paid\n\
         A-3,2024-01-04,omar@example.com,Omar Ali,Cairo,5.00,paid\n",
    );
    import(store, org, &v1).await;
    let report = import(store, org, &v2).await;
    assert_eq!(report.customers_created, 0, "{report:?}");
    assert_eq!(report.customers_updated, 1, "{report:?}");
    assert_eq!(report.orders_created, 1, "{report:?}");
    assert_eq!(report.orders_updated, 1, "{report:?}");
    let lena = customer_by_email(store, org, "lena@example.com").await;
    assert_eq!(lena.city.as_deref(), Some("Bergen"));
    let orders = orders_of(store, org, lena.id).await;
    assert_eq!(orders[0].status.as_deref(), Some("paid"));
}

async fn customers_match_by_phone_then_name(ctx: Ctx) {
    let store = &ctx.store;
    let dir = tempfile::tempdir().expect("dir");
    let org = org(store, "shop").await;
    let file = write(
        dir.path(),
        "contacts.csv",
        "Customer Name,Email,Mobile,Country,Order ID,Order Date,Total\n\
         Rina Das,rina@example.com,01712-345678,Bangladesh,B-1,2024-02-01,100\n\
         R. Das,,+880 1712 345678,Bangladesh,B-2,2024-02-02,50\n\
         rina das,,,Bangladesh,B-3,2024-02-03,25\n\
         Rina Das,other@example.com,,Bangladesh,B-4,2024-02-04,10\n",
    );
    let report = import(store, org, &file).await;
    // Rows 3 (phone) and 4 (name) are Rina; row 5 names her but has another
    // e-mail, so it is a different person.
    assert_eq!(report.customers_created, 2, "{report:?}");
    let rina = customer_by_email(store, org, "rina@example.com").await;
    let ids: Vec<String> = orders_of(store, org, rina.id)
        .await
        .into_iter()
        .map(|o| o.external_id)
        .collect();
    assert_eq!(ids, vec!["B-1", "B-2", "B-3"]);
}

async fn strict_mode_writes_nothing(ctx: Ctx) {
    let store = &ctx.store;
    let org = org(store, "shop").await;
    let options = ImportOptions {
        strict: true,
        ..Default::default()
    };
    let err = pipeline::import(
        store,
        org,
        &fixture("shopify_line_items.csv"),
        &options,
        &mut |_, _| {},
    )
    .await
    .expect_err("strict import must fail");
    match &err {
        IngestError::Strict { rejected, first } => {
            assert_eq!(*rejected, 2);
            assert!(first.starts_with("row 6"), "{first}");
        }
        other => panic!("unexpected error {other}"),
    }
    assert_eq!(store.count_customers(org).await.expect("count"), 0);
    assert_eq!(store.count_orders(org).await.expect("count"), 0);
    assert!(
        store
            .list_imports(org, 10)
            .await
            .expect("imports")
            .is_empty()
    );
}

async fn continuation_rows_join_their_order_anywhere(ctx: Ctx) {
    let store = &ctx.store;
    let dir = tempfile::tempdir().expect("dir");
    let org = org(store, "shop").await;
    let file = write(
        dir.path(),
        "lines.csv",
        "Order Number,Order Date,Billing Email,Item Name,Quantity,Order Total\n\
         W-1,2024-05-01,ana@example.com,Mug,2,30.00\n\
         W-2,2024-05-01,bo@example.com,Cap,1,12.00\n\
         W-1,,,Spoon,3,\n\
         W-3,,cy@example.com,Hat,1,9.00\n",
    );
    let report = import(store, org, &file).await;
    assert_eq!(report.orders_created, 2, "{report:?}");
    // An order whose first row has no date is rejected, and its customer is
    // not created from the bad row.
    let rejected: Vec<u64> = report.rows_rejected.iter().map(|r| r.row).collect();
    assert_eq!(rejected, vec![5], "{report:?}");
    assert!(report.rows_rejected[0].reason.contains("W-3"), "{report:?}");
    assert_eq!(report.customers_created, 2, "{report:?}");
    let ana = customer_by_email(store, org, "ana@example.com").await;
    let orders = orders_of(store, org, ana.id).await;
    assert_eq!(orders.len(), 1);
    assert_eq!(orders[0].amount, 30.0);
    let names: Vec<&str> = orders[0]
        .items
        .iter()
        .map(|i| i.product_name.as_str())
        .collect();
    assert_eq!(names, vec!["Mug", "Spoon"]);
}

async fn day_first_dates_are_inferred_from_unambiguous_rows(ctx: Ctx) {
    let store = &ctx.store;
    let dir = tempfile::tempdir().expect("dir");
    let org = org(store, "shop").await;
    let file = write(
        dir.path(),
        "dates.csv",
        "Order ID,Date,Email,Amount\n\
         D-1,03/04/2024,x@example.com,1\n\
         D-2,25/04/2024,x@example.com,1\n",
    );
    let preview = pipeline::preview(store, org, &file, &ImportOptions::default())
        .await
        .expect("preview");
    assert_eq!(preview.date_order, Some("day-first"));
    import(store, org, &file).await;
    let x = customer_by_email(store, org, "x@example.com").await;
    let orders = orders_of(store, org, x.id).await;
    assert_eq!(
        orders[0].ordered_at,
        Utc.with_ymd_and_hms(2024, 4, 3, 0, 0, 0).unwrap()
    );

    // --date-order month-first overrides the inference for ambiguous dates:
    // 03/04/2024 becomes 4 March, so the stored order would change; 25/04 can
    // only be day-first and stays as it is.
    let options = ImportOptions {
        date_order: Some("month-first".parse().expect("order")),
        ..Default::default()
    };
    let preview = pipeline::preview(store, org, &file, &options)
        .await
        .expect("preview");
    assert_eq!(preview.date_order, Some("month-first"));
    assert_eq!((preview.orders_updated, preview.rows_rejected), (1, 0));
}

async fn unit_prices_are_multiplied_by_quantity(ctx: Ctx) {
    let store = &ctx.store;
    let dir = tempfile::tempdir().expect("dir");
    let org = org(store, "retail").await;
    let file = write(
        dir.path(),
        "retail.csv",
        "InvoiceNo,Description,Quantity,InvoiceDate,UnitPrice,Email\n\
         536365,WHITE HANGING HEART,6,2010-12-01 08:26:00,2.55,shop@example.com\n\
         536365,WHITE METAL LANTERN,6,2010-12-01 08:26:00,3.39,shop@example.com\n",
    );
    import(store, org, &file).await;
    let shop = customer_by_email(store, org, "shop@example.com").await;
    let orders = orders_of(store, org, shop.id).await;
    assert_eq!(orders.len(), 1);
    assert!(
        (orders[0].amount - 35.64).abs() < 1e-9,
        "{}",
        orders[0].amount
    );
    assert_eq!(orders[0].items[1].unit_price, Some(3.39));
}

async fn files_without_order_ids_reimport_idempotently(ctx: Ctx) {
    let store = &ctx.store;
    let dir = tempfile::tempdir().expect("dir");
    let org = org(store, "shop").await;
    let file = write(
        dir.path(),
        "sales.csv",
        "Date,Email,Amount\n2024-01-01,a@example.com,5\n2024-01-02,a@example.com,7\n\
         2024-01-01,a@example.com,5\n",
    );
    // The repeated row is a second, identical purchase.
    let first = import(store, org, &file).await;
    assert_eq!(first.orders_created, 3, "{first:?}");
    let second = import(store, org, &file).await;
    assert_eq!(
        (second.orders_created, second.orders_updated),
        (0, 0),
        "{second:?}"
    );
}

async fn preview_counts_without_writing(ctx: Ctx) {
    let store = &ctx.store;
    let org = org(store, "shop").await;
    let preview = pipeline::preview(
        store,
        org,
        &fixture("shopify_line_items.csv"),
        &ImportOptions::default(),
    )
    .await
    .expect("preview");
    assert_eq!(preview.rows, 6);
    assert_eq!((preview.customers_created, preview.orders_created), (2, 3));
    assert_eq!(preview.rows_rejected, 2);
    assert!(preview.problems.iter().any(|p| p.row == Some(6)));
    assert_eq!(store.count_customers(org).await.expect("count"), 0);
    assert!(
        store
            .list_imports(org, 10)
            .await
            .expect("imports")
            .is_empty()
    );
}

async fn organizations_do_not_share_identities(ctx: Ctx) {
    let store = &ctx.store;
    let a = org(store, "a").await;
    let b = org(store, "b").await;
    import(store, a, &fixture("shopify_line_items.csv")).await;
    let report = import(store, b, &fixture("shopify_line_items.csv")).await;
    assert_eq!(
        (report.customers_created, report.orders_created),
        (2, 3),
        "{report:?}"
    );
    assert_eq!(store.count_orders(a).await.expect("count"), 3);
    assert_eq!(store.count_orders(b).await.expect("count"), 3);
}

async fn mapping_overrides_apply(ctx: Ctx) {
    let store = &ctx.store;
    let org = org(store, "shop").await;
    let options = ImportOptions {
        overrides: vec![
            "Subtotal=amount"
                .parse::<MappingOverride>()
                .expect("override"),
            "Billing City=ignore"
                .parse::<MappingOverride>()
                .expect("override"),
        ],
        ..Default::default()
    };
    import_with(store, org, &fixture("shopify_line_items.csv"), &options).await;
    let ayesha = customer_by_email(store, org, "ayesha@example.com").await;
    assert_eq!(ayesha.city, None);
    let orders = orders_of(store, org, ayesha.id).await;
    assert_eq!(orders[0].amount, 1200.0);

    let bad = "Nope=amount".parse::<MappingOverride>().expect("parses");
    let options = ImportOptions {
        overrides: vec![bad],
        ..Default::default()
    };
    let err = pipeline::preview(store, org, &fixture("shopify_line_items.csv"), &options)
        .await
        .expect_err("unknown header");
    assert!(err.to_string().contains("Nope"), "{err}");
    assert!("Total".parse::<MappingOverride>().is_err());
    assert!("Total=price".parse::<MappingOverride>().is_err());
}

async fn customer_ids_are_the_strongest_identity(ctx: Ctx) {
    let store = &ctx.store;
    let dir = tempfile::tempdir().expect("dir");
    let org = org(store, "crm").await;
    let v1 = write(
        dir.path(),
        "v1.csv",
        "Customer ID,Email,Name,Order ID,Order Date,Total\n\
         C-7,old@example.com,Mia Chen,M-1,2024-06-01,40\n",
    );
    let v2 = write(
        dir.path(),
        "v2.csv",
        "Customer ID,Email,Name,Order ID,Order Date,Total\n\
         C-7,new@example.com,Mia Chen,M-2,2024-06-02,15\n\
         C-8,,Mia Chen,M-3,2024-06-03,15\n",
    );
    import(store, org, &v1).await;
    let report = import(store, org, &v2).await;
    // C-7 changed e-mail but is the same customer; C-8 shares only a name
    // with her and has another customer id, so it is someone else.
    assert_eq!(
        (report.customers_created, report.customers_updated),
        (1, 1),
        "{report:?}"
    );
    let mia = customer_by_email(store, org, "new@example.com").await;
    assert_eq!(mia.external_id.as_deref(), Some("C-7"));
    let ids: Vec<String> = orders_of(store, org, mia.id)
        .await
        .into_iter()
        .map(|o| o.external_id)
        .collect();
    assert_eq!(ids, vec!["M-1", "M-2"]);
}

/// The real UCI Online Retail subset (40,000 lines): expected figures
/// computed independently from the workbook (openpyxl): 13,199 invoices,
/// 3,621 customer ids, and sum(Quantity * UnitPrice) = 706,922.421.
async fn uci_online_retail_workbook_imports(ctx: Ctx) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/data/online-retail-subset/online_retail_subset40k.xlsx");
    if !path.exists() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "{} is missing",
            path.display()
        );
        eprintln!("skipping: {} not found", path.display());
        return;
    }
    let store = &ctx.store;
    let org = org(store, "uci").await;
    let report = import(store, org, &path).await;
    assert!(
        report.rows_rejected.is_empty(),
        "{:?}",
        &report.rows_rejected[..3.min(report.rows_rejected.len())]
    );
    assert_eq!(report.orders_created, 13_199);
    assert_eq!(report.customers_created, 3_621);
    let from = Utc.with_ymd_and_hms(2000, 1, 1, 0, 0, 0).unwrap();
    let to = Utc.with_ymd_and_hms(2030, 1, 1, 0, 0, 0).unwrap();
    let months = store
        .revenue_by_period(org, from, to, aima_runtime::store::Period::Month)
        .await
        .expect("revenue");
    let total: f64 = months.iter().map(|(_, revenue, _)| revenue).sum();
    assert!((total - 706_922.421).abs() < 0.01, "{total}");
    let orders: i64 = months.iter().map(|(_, _, n)| n).sum();
    assert_eq!(orders, 13_199);
}

async fn concurrent_imports_both_succeed(ctx: Ctx) {
    let store = ctx.store.clone();
    let a = org(&store, "a").await;
    let b = org(&store, "b").await;
    let path = fixture("shopify_line_items.csv");
    let options = ImportOptions::default();
    let (mut quiet_a, mut quiet_b) = (|_: u64, _: u64| {}, |_: u64, _: u64| {});
    let (left, right) = tokio::join!(
        pipeline::import(&store, a, &path, &options, &mut quiet_a),
        pipeline::import(&store, b, &path, &options, &mut quiet_b),
    );
    assert_eq!(left.expect("first import").orders_created, 3);
    assert_eq!(right.expect("second import").orders_created, 3);
}
