//! The error type of the ingest crate.
//!
//! Every variant names the file or URL it concerns (and the row where one
//! applies), so a message can be shown to a user as is.

use std::path::PathBuf;

/// Everything that can go wrong while opening, reading or downloading a data
/// source. Value-level problems (a bad date in a cell) are
/// [`crate::values::ValueError`]s, not these.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// The file could not be opened, read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file concerned.
        path: PathBuf,
        /// The underlying I/O error.
        source: std::io::Error,
    },
    /// The file has no bytes (or only a byte-order mark / blank lines).
    #[error("{}: the file is empty", path.display())]
    EmptyFile {
        /// The file concerned.
        path: PathBuf,
    },
    /// The file has a header row but no data rows.
    #[error("{}: the file has a header row but no data rows", path.display())]
    NoDataRows {
        /// The file concerned.
        path: PathBuf,
    },
    /// The file is not a text table (CSV) nor an XLSX workbook.
    #[error("{}: not a CSV or XLSX table: {reason}", path.display())]
    NotATable {
        /// The file concerned.
        path: PathBuf,
        /// Why it was refused, in words.
        reason: String,
    },
    /// A CSV record could not be read.
    #[error("{}: row {row}: {source}", path.display())]
    Csv {
        /// The file concerned.
        path: PathBuf,
        /// 1-based row (record) number; the header is row 1.
        row: u64,
        /// The underlying CSV error.
        source: csv::Error,
    },
    /// The XLSX workbook could not be read.
    #[error("{}: cannot read the workbook: {message}", path.display())]
    Xlsx {
        /// The file concerned.
        path: PathBuf,
        /// What the XLSX reader reported.
        message: String,
    },
    /// The XLSX workbook has no worksheet.
    #[error("{}: the workbook has no worksheets", path.display())]
    NoSheets {
        /// The file concerned.
        path: PathBuf,
    },
    /// The first worksheet of the XLSX workbook has no cells.
    #[error("{}: the first worksheet '{sheet}' is empty", path.display())]
    EmptySheet {
        /// The file concerned.
        path: PathBuf,
        /// The worksheet's name.
        sheet: String,
    },
    /// A name that is not one of the 14 [`crate::Field`]s.
    #[error("unknown field '{name}'; valid fields are: {valid}")]
    UnknownField {
        /// The name given.
        name: String,
        /// The valid names, comma-separated.
        valid: String,
    },
    /// An HTTP download failed before a response (DNS, connect, TLS, timeout)
    /// or while streaming the body.
    #[error("download of {url} failed: {message}")]
    Download {
        /// The URL requested.
        url: String,
        /// What went wrong, in words.
        message: String,
    },
    /// The server answered with a non-2xx status.
    #[error("download of {url} failed: HTTP status {status}")]
    HttpStatus {
        /// The URL requested.
        url: String,
        /// The HTTP status code.
        status: u16,
    },
    /// A Google Sheets link answered with an HTML page (a sign-in page)
    /// instead of CSV: the sheet is not shared publicly.
    #[error(
        "{url} returned a web page instead of CSV: share the Google Sheet as \
         \"anyone with the link\" (viewer) and try again"
    )]
    SheetNotShared {
        /// The URL requested.
        url: String,
    },
    /// A URL (not a Google Sheet) answered with an HTML page instead of a table.
    #[error("{url} returned a web page (HTML), not a CSV or XLSX file")]
    HtmlResponse {
        /// The URL requested.
        url: String,
    },
    /// The column mapping cannot be used (an override names no column, or no
    /// customer/order column was recognised).
    #[error("{message}")]
    Mapping {
        /// What is wrong and how to fix it.
        message: String,
    },
    /// `--strict` was given and some rows are bad; nothing was written.
    #[error("{rejected} bad row(s), nothing written (strict mode); first: {first}")]
    Strict {
        /// How many rows were bad.
        rejected: usize,
        /// The first bad row and its reason.
        first: String,
    },
    /// Reading or writing the store failed; the transaction was rolled back.
    #[error(transparent)]
    Store {
        /// The store's error.
        #[from]
        source: aima_runtime::store::StoreError,
    },
    /// The embedded demo data set could not be loaded.
    #[error("demo data: {message}")]
    Demo {
        /// What is wrong.
        message: String,
    },
}

impl From<crate::demo::DemoError> for IngestError {
    fn from(e: crate::demo::DemoError) -> Self {
        Self::Demo {
            message: e.to_string(),
        }
    }
}
