//! CSV and XLSX sources: format sniffing, streaming, row numbers, refusals.

use std::io::Write;

use aima_ingest::IngestError;
use aima_ingest::source::open_path;

use crate::{fixture, read_all};

fn strings(xs: &[&str]) -> Vec<String> {
    xs.iter().map(|s| (*s).to_owned()).collect()
}

fn temp_file(bytes: &[u8]) -> tempfile::NamedTempFile {
    let mut f = tempfile::NamedTempFile::new().expect("temp file");
    f.write_all(bytes).expect("write temp file");
    f.flush().expect("flush temp file");
    f
}

#[test]
fn csv_with_bom_crlf_quoted_newlines_and_ragged_rows() {
    let path = fixture("bom_crlf_quoted.csv");
    let raw = std::fs::read(&path).expect("fixture");
    assert!(raw.starts_with(b"\xEF\xBB\xBF") && raw.windows(2).any(|w| w == b"\r\n"));

    let mut reader = open_path(&path).expect("open");
    assert_eq!(
        reader.headers(),
        strings(&["Order ID", "Customer Name", "Email", "Notes", "Amount"])
    );
    let records = read_all(reader.as_mut());
    let rows: Vec<u64> = records.iter().map(|r| r.row).collect();
    // The all-empty record (row 4) is skipped; row numbers count records.
    assert_eq!(rows, vec![2, 3, 5, 6, 7]);
    assert_eq!(
        records[0].values,
        strings(&[
            "1001",
            "Uddin, Rahim",
            "RAHIM@Example.com",
            "line one\r\nline two",
            "120.50"
        ])
    );
    assert_eq!(records[1].values[3], "said \"hi\"");
    assert_eq!(records[2].values[4], "99.99", "values are trimmed");
    assert_eq!(records[3].values.len(), 5, "extra cells are cut");
    assert_eq!(
        records[4].values,
        strings(&["1005", "Few Cells", "", "", ""])
    );
}

#[test]
fn semicolon_delimiter_is_sniffed() {
    let mut reader = open_path(&fixture("semicolon_eu.csv")).expect("open");
    assert_eq!(
        reader.headers(),
        strings(&["Order ID", "Order Date", "Email", "Amount", "Currency"])
    );
    let records = read_all(reader.as_mut());
    assert_eq!(records.len(), 3);
    assert_eq!(records[0].values[3], "1.234,50");
    assert_eq!(records[2].values[2], "carl; the 2nd@example.de");
    let amount = aima_ingest::values::parse_money(&records[0].values[3]).expect("money");
    assert_eq!(amount.amount, 1234.5);
}

#[test]
fn tab_delimited_amazon_report() {
    let mut reader = open_path(&fixture("amazon_orders.txt")).expect("open");
    assert_eq!(reader.headers().len(), 25);
    assert_eq!(reader.headers()[0], "amazon-order-id");
    let records = read_all(reader.as_mut());
    assert_eq!(records.len(), 2);
    assert_eq!(records[1].values[7], "Yoga Mat, Non-Slip");
}

#[test]
fn windows_1252_bytes_are_decoded() {
    let f = temp_file(b"Name,City\nJos\xe9,K\xf6ln\nAnn,Dhaka\n");
    let mut reader = open_path(f.path()).expect("open");
    let records = read_all(reader.as_mut());
    assert_eq!(records[0].values, strings(&["José", "Köln"]));
    assert_eq!(records[1].values, strings(&["Ann", "Dhaka"]));
}

#[test]
fn empty_header_only_and_binary_files_are_refused_naming_the_path() {
    let empty = temp_file(b"");
    let err = open_path(empty.path()).err().expect("refused");
    assert!(matches!(err, IngestError::EmptyFile { .. }), "{err}");
    assert!(
        err.to_string()
            .contains(&empty.path().display().to_string())
    );

    let blank = temp_file(b"\xEF\xBB\xBF\r\n\r\n");
    let err = open_path(blank.path()).err().expect("refused");
    assert!(matches!(err, IngestError::EmptyFile { .. }), "{err}");

    let header_only = fixture("header_only.csv");
    let err = open_path(&header_only).err().expect("refused");
    assert!(matches!(err, IngestError::NoDataRows { .. }), "{err}");
    assert!(err.to_string().contains("header_only.csv"), "{err}");

    let binary = temp_file(b"\x7fELF\x02\x01\x01\x00\x00\x00binary");
    let err = open_path(binary.path()).err().expect("refused");
    assert!(matches!(err, IngestError::NotATable { .. }), "{err}");
    assert!(err.to_string().contains("NUL"), "{err}");

    let xls = temp_file(b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1rest");
    let err = open_path(xls.path()).err().expect("refused");
    assert!(err.to_string().contains(".xls"), "{err}");

    let missing = fixture("no_such_file.csv");
    let err = open_path(&missing).err().expect("refused");
    assert!(matches!(err, IngestError::Io { .. }), "{err}");
    assert!(err.to_string().contains("no_such_file.csv"), "{err}");
}

#[test]
fn xlsx_cells_numbers_dates_blank_rows_and_ragged_rows() {
    let mut reader = open_path(&fixture("orders.xlsx")).expect("open");
    assert_eq!(
        reader.headers(),
        strings(&[
            "InvoiceNo",
            "Description",
            "Quantity",
            "InvoiceDate",
            "UnitPrice",
            "Country"
        ])
    );
    let records = read_all(reader.as_mut());
    assert_eq!(records.len(), 3);
    assert_eq!(records[0].row, 2);
    assert_eq!(
        records[0].values,
        strings(&[
            "536365",
            "WHITE HANGING HEART T-LIGHT HOLDER",
            "6",
            "2010-12-01 08:42:00",
            "2.55",
            "United Kingdom"
        ])
    );
    assert_eq!(
        records[1].row, 4,
        "blank sheet row 3 skipped, sheet row numbers kept"
    );
    assert_eq!(
        records[1].values,
        strings(&[
            "C536379",
            "Discount",
            "-1",
            "2010-12-01 00:00:00",
            "27.5",
            "EIRE"
        ])
    );
    assert_eq!(
        records[2].values,
        strings(&["536370", "", "12", "", "", "France"])
    );
}

#[test]
fn xlsx_refusals_name_the_file() {
    let err = open_path(&fixture("empty_sheet.xlsx"))
        .err()
        .expect("refused");
    assert!(matches!(err, IngestError::EmptySheet { .. }), "{err}");
    assert!(err.to_string().contains("empty_sheet.xlsx") && err.to_string().contains("Orders"));

    let err = open_path(&fixture("header_only.xlsx"))
        .err()
        .expect("refused");
    assert!(matches!(err, IngestError::NoDataRows { .. }), "{err}");

    let damaged = temp_file(b"PK\x03\x04 this is not really a zip archive");
    let err = open_path(damaged.path()).err().expect("refused");
    assert!(matches!(err, IngestError::Xlsx { .. }), "{err}");
    assert!(
        err.to_string()
            .contains(&damaged.path().display().to_string())
    );
}

#[test]
fn dropping_an_xlsx_reader_early_is_fine() {
    let mut reader = open_path(&fixture("orders.xlsx")).expect("open");
    assert!(reader.next_record().is_some());
    drop(reader);
}

#[test]
fn larger_csv_streams_every_row_in_order() {
    let mut f = tempfile::NamedTempFile::new().expect("temp file");
    writeln!(f, "id;email;amount").expect("write");
    for i in 0..50_000u32 {
        writeln!(f, "{i};user{i}@example.com;\"{i},50\"").expect("write");
    }
    f.flush().expect("flush");
    let mut reader = open_path(f.path()).expect("open");
    let mut n = 0u64;
    while let Some(record) = reader.next_record() {
        let record = record.expect("record");
        assert_eq!(record.row, n + 2);
        assert_eq!(record.values[0], n.to_string());
        n += 1;
    }
    assert_eq!(n, 50_000);
}

const UCI: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../shared/data/online-retail-subset/online_retail_subset40k.xlsx"
);

#[test]
fn uci_online_retail_subset_streams_40000_rows_and_detects_columns() {
    let path = std::path::Path::new(UCI);
    if !path.exists() {
        eprintln!("skipped: {UCI} is not here");
        return;
    }
    let mut reader = open_path(path).expect("open");
    assert_eq!(
        reader.headers(),
        strings(&[
            "InvoiceNo",
            "StockCode",
            "Description",
            "Quantity",
            "InvoiceDate",
            "UnitPrice",
            "CustomerID",
            "Country"
        ])
    );
    let headers = reader.headers().to_vec();
    let mut preview = Vec::new();
    let mut count = 0u64;
    while let Some(record) = reader.next_record() {
        let record = record.expect("record");
        assert_eq!(record.values.len(), 8);
        if preview.len() < 200 {
            preview.push(record.values);
        }
        count += 1;
    }
    assert_eq!(count, 40_000);
    let date = &preview[0][4];
    assert!(
        aima_ingest::values::parse_datetime(date, None).is_ok() && date.len() == 19,
        "InvoiceDate cells become ISO date-times: {date}"
    );
    assert!(
        preview.iter().all(|r| !r[6].ends_with(".0")),
        "whole numbers print without .0"
    );

    use aima_ingest::Field::*;
    let detected: Vec<_> = aima_ingest::detect::detect_columns(&headers, &preview)
        .into_iter()
        .map(|c| c.field)
        .collect();
    assert_eq!(
        detected,
        vec![
            Some(OrderId),
            None,
            Some(ProductName),
            Some(Quantity),
            Some(OrderDate),
            Some(Amount), // UnitPrice: the only money column, a per-unit amount
            Some(CustomerId),
            Some(Country)
        ]
    );
}
