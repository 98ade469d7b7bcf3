//! Integration tests of aima-ingest: sources, detection on real-world
//! export shapes, Google Sheets links and downloads.

mod detection;
mod download;
mod pipeline;
mod sources;

use std::path::PathBuf;

use aima_ingest::source::{Record, RowReader};

/// A fixture under `ingest/tests/fixtures`.
pub fn fixture(name: &str) -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures")).join(name)
}

/// Reads every record, panicking on a row error.
pub fn read_all(reader: &mut dyn RowReader) -> Vec<Record> {
    let mut out = Vec::new();
    while let Some(record) = reader.next_record() {
        out.push(record.expect("a readable record"));
    }
    out
}
