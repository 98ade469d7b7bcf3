//! Streaming readers for tabular sources: CSV (any common delimiter) and
//! XLSX files, and Google Sheets links (rewritten to their CSV export and
//! downloaded with [`download`]).
//!
//! Readers never hold a whole file in memory: CSV is read record by record,
//! and XLSX cells are streamed by a background thread through a bounded
//! channel (calamine still loads the workbook's shared-string table).
//!
//! # Text decoding
//!
//! CSV fields are UTF-8; a field that is not valid UTF-8 is decoded as
//! Windows-1252 (what Excel on Windows writes for "CSV"), field by field,
//! so one stray byte never rejects a file. Files with NUL bytes in their
//! first 64 KiB (binary files, UTF-16 text) are refused.
//!
//! # Values
//!
//! Headers and values are trimmed of surrounding whitespace. Records whose
//! cells are all empty (trailing `,,,` lines, blank spreadsheet rows) are
//! skipped; the row numbers of the other records are not affected.

use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::LazyLock;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread;

use calamine::{DataRef, Reader, Xlsx};
use regex::Regex;

use crate::IngestError;

/// One data row of a source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// 1-based row number in the file, the header being row 1. For CSV it
    /// counts records (a quoted field spanning lines is still one row); for
    /// XLSX it is the worksheet's row number.
    pub row: u64,
    /// The values, trimmed, padded with empty strings or truncated to the
    /// number of headers.
    pub values: Vec<String>,
}

/// A stream of records under a header row.
pub trait RowReader: Send {
    /// The column headers (trimmed), in order.
    fn headers(&self) -> &[String];
    /// The next data record; `None` at the end. An `Err` names the file and
    /// row; reading may go on after it.
    fn next_record(&mut self) -> Option<Result<Record, IngestError>>;
}

/// How many bytes are examined to tell the format and the CSV delimiter.
const SNIFF_BYTES: usize = 64 * 1024;

/// Opens a CSV or XLSX file as a stream of records.
///
/// The format is sniffed from the content, not the extension: a ZIP
/// signature (`PK\x03\x04`) is read as XLSX (first worksheet, first
/// non-empty row as the header); anything else is read as CSV, with the
/// delimiter (`,` `;` tab `|`) sniffed from the first lines (quotes
/// respected), a UTF-8 BOM stripped, CRLF or LF line ends, quoted fields
/// holding delimiters and newlines, and records of any length.
///
/// Refused with an [`IngestError`] naming the path: a missing or unreadable
/// file, an empty file, a header without data rows, a binary file (NUL
/// bytes, legacy `.xls`, PDF), an XLSX without worksheets or with an empty
/// first worksheet, or a damaged XLSX.
pub fn open_path(path: &Path) -> Result<Box<dyn RowReader>, IngestError> {
    let io_err = |source| IngestError::Io {
        path: path.to_owned(),
        source,
    };
    let mut file = File::open(path).map_err(io_err)?;
    let mut head = Vec::with_capacity(SNIFF_BYTES);
    (&mut file)
        .take(SNIFF_BYTES as u64)
        .read_to_end(&mut head)
        .map_err(io_err)?;
    if head.is_empty() {
        return Err(IngestError::EmptyFile {
            path: path.to_owned(),
        });
    }
    if head.starts_with(b"PK\x03\x04") {
        drop(file);
        return XlsxRows::open(path).map(|r| Box::new(r) as Box<dyn RowReader>);
    }
    refuse_binary(path, &head)?;
    let bom = if head.starts_with(b"\xEF\xBB\xBF") {
        3
    } else {
        0
    };
    let delimiter = sniff_delimiter(&head[bom..]);
    file.seek(SeekFrom::Start(bom as u64)).map_err(io_err)?;
    CsvRows::new(path, file, delimiter).map(|r| Box::new(r) as Box<dyn RowReader>)
}

fn refuse_binary(path: &Path, head: &[u8]) -> Result<(), IngestError> {
    let reason = if head.starts_with(b"\xD0\xCF\x11\xE0") {
        Some("it is a legacy Excel (.xls) or other OLE file; save it as .xlsx or CSV")
    } else if head.starts_with(b"%PDF") {
        Some("it is a PDF document")
    } else if head.starts_with(b"\xFF\xFE") || head.starts_with(b"\xFE\xFF") {
        Some("it is UTF-16 text; save it as UTF-8 CSV")
    } else if head.contains(&0) {
        Some("it contains binary data (NUL bytes)")
    } else {
        None
    };
    match reason {
        Some(reason) => Err(IngestError::NotATable {
            path: path.to_owned(),
            reason: reason.to_owned(),
        }),
        None => Ok(()),
    }
}

/// Picks the delimiter among `,` `;` tab `|` whose count per line (outside
/// quotes) is the most consistent over the first complete lines, then the
/// most frequent; `,` when none occurs.
fn sniff_delimiter(head: &[u8]) -> u8 {
    const CANDIDATES: [u8; 4] = [b',', b';', b'\t', b'|'];
    const MAX_LINES: usize = 20;
    let mut lines: Vec<[usize; 4]> = Vec::new();
    let mut current = [0usize; 4];
    let mut in_quotes = false;
    let mut complete = false;
    for &b in head {
        match b {
            b'"' => in_quotes = !in_quotes,
            b'\n' if !in_quotes => {
                if current.iter().any(|&c| c > 0) || complete {
                    lines.push(current);
                }
                current = [0; 4];
                complete = true;
                if lines.len() >= MAX_LINES {
                    break;
                }
            }
            _ if !in_quotes => {
                if let Some(i) = CANDIDATES.iter().position(|&c| c == b) {
                    current[i] += 1;
                }
            }
            _ => {}
        }
    }
    if lines.len() < MAX_LINES && current.iter().any(|&c| c > 0) {
        // The last line may be cut by the sniff window; use it only when it
        // is all there is.
        if lines.is_empty() || head.len() < SNIFF_BYTES {
            lines.push(current);
        }
    }
    let mut best: Option<(usize, usize, u8)> = None; // (consistent lines, mode, delimiter)
    for (i, &delim) in CANDIDATES.iter().enumerate() {
        let counts: Vec<usize> = lines.iter().map(|l| l[i]).filter(|&c| c > 0).collect();
        let Some(&first) = counts.first() else {
            continue;
        };
        // The header's count, when later lines agree, is the usual shape.
        let mode = {
            let mut best_count = (0usize, first);
            for &c in &counts {
                let n = counts.iter().filter(|&&x| x == c).count();
                if n > best_count.0 || (n == best_count.0 && c > best_count.1) {
                    best_count = (n, c);
                }
            }
            best_count.1
        };
        let consistent = lines.iter().filter(|l| l[i] == mode).count();
        let key = (consistent, mode, delim);
        if best.is_none_or(|b| (key.0, key.1) > (b.0, b.1)) {
            best = Some(key);
        }
    }
    best.map_or(b',', |b| b.2)
}

fn decode_field(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(s) => s.trim().to_owned(),
        Err(_) => {
            let (text, _) = encoding_rs::WINDOWS_1252.decode_without_bom_handling(bytes);
            text.trim().to_owned()
        }
    }
}

fn fit_to(mut values: Vec<String>, width: usize) -> Vec<String> {
    values.resize(width, String::new());
    values
}

/// A streaming CSV reader.
struct CsvRows {
    path: PathBuf,
    reader: csv::Reader<File>,
    headers: Vec<String>,
    record: csv::ByteRecord,
    /// Records read so far, the header included.
    rows_read: u64,
    /// The first data record, read at open time to refuse header-only files.
    pending: Option<Record>,
}

impl CsvRows {
    fn new(path: &Path, file: File, delimiter: u8) -> Result<Self, IngestError> {
        let reader = csv::ReaderBuilder::new()
            .delimiter(delimiter)
            .has_headers(false)
            .flexible(true)
            .buffer_capacity(64 * 1024)
            .from_reader(file);
        let mut rows = CsvRows {
            path: path.to_owned(),
            reader,
            headers: Vec::new(),
            record: csv::ByteRecord::new(),
            rows_read: 0,
            pending: None,
        };
        let header = loop {
            match rows.read_raw() {
                None => {
                    return Err(IngestError::EmptyFile {
                        path: path.to_owned(),
                    });
                }
                Some(Err(e)) => return Err(e),
                Some(Ok(values)) if values.iter().all(String::is_empty) => continue,
                Some(Ok(values)) => break values,
            }
        };
        let width = header
            .iter()
            .rposition(|h| !h.is_empty())
            .map_or(header.len(), |i| i + 1);
        rows.headers = fit_to(header, width);
        match rows.next_data() {
            None => Err(IngestError::NoDataRows {
                path: path.to_owned(),
            }),
            Some(Err(e)) => Err(e),
            Some(Ok(record)) => {
                rows.pending = Some(record);
                Ok(rows)
            }
        }
    }

    /// Reads the next record's decoded fields.
    fn read_raw(&mut self) -> Option<Result<Vec<String>, IngestError>> {
        match self.reader.read_byte_record(&mut self.record) {
            Ok(false) => None,
            Ok(true) => {
                self.rows_read += 1;
                Some(Ok(self.record.iter().map(decode_field).collect()))
            }
            Err(source) => {
                self.rows_read += 1;
                Some(Err(IngestError::Csv {
                    path: self.path.clone(),
                    row: self.rows_read,
                    source,
                }))
            }
        }
    }

    /// Reads the next non-blank data record.
    fn next_data(&mut self) -> Option<Result<Record, IngestError>> {
        loop {
            match self.read_raw()? {
                Err(e) => return Some(Err(e)),
                Ok(values) if values.iter().all(String::is_empty) => continue,
                Ok(values) => {
                    return Some(Ok(Record {
                        row: self.rows_read,
                        values: fit_to(values, self.headers.len()),
                    }));
                }
            }
        }
    }
}

impl RowReader for CsvRows {
    fn headers(&self) -> &[String] {
        &self.headers
    }

    fn next_record(&mut self) -> Option<Result<Record, IngestError>> {
        if let Some(record) = self.pending.take() {
            return Some(Ok(record));
        }
        self.next_data()
    }
}

/// Rows sent from the XLSX reading thread.
type XlsxMsg = Result<Record, IngestError>;

/// How many rows the XLSX thread may read ahead of the consumer.
const XLSX_READ_AHEAD: usize = 256;

/// A streaming XLSX reader: a thread reads the first worksheet cell by cell
/// and sends whole rows through a bounded channel.
struct XlsxRows {
    headers: Vec<String>,
    rx: Receiver<XlsxMsg>,
    pending: Option<Record>,
    done: bool,
}

impl XlsxRows {
    fn open(path: &Path) -> Result<Self, IngestError> {
        let (tx, rx) = sync_channel::<XlsxMsg>(XLSX_READ_AHEAD);
        let thread_path = path.to_owned();
        thread::Builder::new()
            .name("aima-xlsx-reader".into())
            .spawn(move || {
                if let Err(e) = stream_first_sheet(&thread_path, &tx) {
                    // The receiver may be gone; then nobody needs the error.
                    let _ = tx.send(Err(e));
                }
            })
            .map_err(|source| IngestError::Io {
                path: path.to_owned(),
                source,
            })?;
        let header = match rx.recv() {
            Err(_) => {
                return Err(IngestError::Xlsx {
                    path: path.to_owned(),
                    message: "the reader stopped before the header row".into(),
                });
            }
            Ok(Err(e)) => return Err(e),
            Ok(Ok(record)) => record,
        };
        let width = header
            .values
            .iter()
            .rposition(|h| !h.is_empty())
            .map_or(header.values.len(), |i| i + 1);
        let headers = fit_to(header.values, width);
        let pending = match rx.recv() {
            Err(_) => {
                return Err(IngestError::NoDataRows {
                    path: path.to_owned(),
                });
            }
            Ok(Err(e)) => return Err(e),
            Ok(Ok(mut record)) => {
                record.values = fit_to(record.values, headers.len());
                record
            }
        };
        Ok(XlsxRows {
            headers,
            rx,
            pending: Some(pending),
            done: false,
        })
    }
}

impl RowReader for XlsxRows {
    fn headers(&self) -> &[String] {
        &self.headers
    }

    fn next_record(&mut self) -> Option<Result<Record, IngestError>> {
        if let Some(record) = self.pending.take() {
            return Some(Ok(record));
        }
        if self.done {
            return None;
        }
        match self.rx.recv() {
            Err(_) => {
                self.done = true;
                None
            }
            Ok(Err(e)) => {
                self.done = true;
                Some(Err(e))
            }
            Ok(Ok(mut record)) => {
                record.values = fit_to(record.values, self.headers.len());
                Some(Ok(record))
            }
        }
    }
}

/// Formats one XLSX cell as text: whole numbers without `.0`, dates as
/// `YYYY-MM-DD HH:MM:SS`, errors (`#N/A`) as empty.
fn cell_text(value: &DataRef<'_>) -> String {
    let text = match value {
        DataRef::Int(i) => i.to_string(),
        DataRef::Float(f) => format_float(*f),
        DataRef::String(s) => s.clone(),
        DataRef::SharedString(s) => (*s).to_owned(),
        DataRef::Bool(b) => b.to_string(),
        DataRef::DateTime(dt) => match dt.as_datetime() {
            Some(ndt) if dt.is_datetime() => ndt.format("%Y-%m-%d %H:%M:%S").to_string(),
            _ => format_float(dt.as_f64()),
        },
        DataRef::DateTimeIso(s) | DataRef::DurationIso(s) => s.clone(),
        DataRef::Error(_) | DataRef::Empty => String::new(),
    };
    text.trim().to_owned()
}

fn format_float(f: f64) -> String {
    if f.fract() == 0.0 && f.abs() < 1e15 {
        format!("{f:.0}")
    } else {
        f.to_string()
    }
}

/// Reads the first worksheet of `path` and sends its non-blank rows; the
/// first one sent is the header. Returns early (Ok) when the receiver is
/// dropped.
fn stream_first_sheet(path: &Path, tx: &SyncSender<XlsxMsg>) -> Result<(), IngestError> {
    let xlsx_err = |e: calamine::XlsxError| IngestError::Xlsx {
        path: path.to_owned(),
        message: e.to_string(),
    };
    let file = File::open(path).map_err(|source| IngestError::Io {
        path: path.to_owned(),
        source,
    })?;
    let mut workbook: Xlsx<BufReader<File>> = Xlsx::new(BufReader::new(file)).map_err(xlsx_err)?;
    let Some(sheet) = workbook.sheet_names().first().cloned() else {
        return Err(IngestError::NoSheets {
            path: path.to_owned(),
        });
    };
    let mut cells = workbook.worksheet_cells_reader(&sheet).map_err(xlsx_err)?;
    let mut current_row: Option<u32> = None;
    let mut values: Vec<String> = Vec::new();
    let mut sent_any = false;
    let mut flush = |row: Option<u32>, values: &mut Vec<String>| -> bool {
        let Some(row) = row else { return true };
        if values.iter().all(String::is_empty) {
            values.clear();
            return true;
        }
        sent_any = true;
        let record = Record {
            row: u64::from(row) + 1,
            values: std::mem::take(values),
        };
        tx.send(Ok(record)).is_ok()
    };
    while let Some(cell) = cells.next_cell().map_err(xlsx_err)? {
        let (row, col) = cell.get_position();
        if current_row != Some(row) {
            if !flush(current_row, &mut values) {
                return Ok(());
            }
            current_row = Some(row);
        }
        let text = cell_text(cell.get_value());
        let col = col as usize;
        if text.is_empty() {
            continue;
        }
        if values.len() <= col {
            values.resize(col + 1, String::new());
        }
        values[col] = text;
    }
    if !flush(current_row, &mut values) {
        return Ok(());
    }
    if !sent_any {
        return Err(IngestError::EmptySheet {
            path: path.to_owned(),
            sheet,
        });
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Google Sheets and downloads
// ---------------------------------------------------------------------------

/// The default host of Google Sheets CSV exports.
pub const DEFAULT_SHEETS_EXPORT_BASE: &str = "https://docs.google.com";

static SHEETS_LINK: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^(?:https?://)?docs\.google\.com/spreadsheets/(?:u/\d+/)?d/(?P<e>e/)?(?P<id>[A-Za-z0-9_-]{10,})(?P<rest>[/?#].*)?$",
    )
    .expect("a valid built-in regular expression")
});

static GID: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"[?#&]gid=(?P<gid>\d+)").expect("a valid built-in regular expression")
});

/// Rewrites a Google Sheets link (`.../spreadsheets/d/<ID>/edit?usp=sharing#gid=123`,
/// `/view`, `/edit#gid=`, `?gid=`, `/pubhtml`, with or without a gid, with
/// or without `https://`) to its CSV export
/// `{export_base}/spreadsheets/d/<ID>/export?format=csv&gid=<gid>`
/// (`&gid=` omitted when the link has none, which exports the first
/// sheet). A "published to the web" link (`/spreadsheets/d/e/<ID>/pubhtml`)
/// becomes `{export_base}/spreadsheets/d/e/<ID>/pub?output=csv&gid=<gid>`,
/// the export such links support. A trailing `/` on `export_base` is
/// ignored. `None` when `link` is not a Google Sheets link.
pub fn sheets_export_url(link: &str, export_base: &str) -> Option<String> {
    let c = SHEETS_LINK.captures(link.trim())?;
    let id = c.name("id")?.as_str();
    let base = export_base.trim().trim_end_matches('/');
    let gid = c
        .name("rest")
        .and_then(|rest| GID.captures(rest.as_str()))
        .and_then(|g| g.name("gid"))
        .map(|g| g.as_str());
    let mut url = if c.name("e").is_some() {
        format!("{base}/spreadsheets/d/e/{id}/pub?output=csv")
    } else {
        format!("{base}/spreadsheets/d/{id}/export?format=csv")
    };
    if let Some(gid) = gid {
        url.push_str("&gid=");
        url.push_str(gid);
    }
    Some(url)
}

/// Downloads `url` (HTTP GET, redirects followed, rustls TLS) into `dest`,
/// streaming the body to disk.
///
/// Errors: transport failures ([`IngestError::Download`]), a non-2xx status
/// ([`IngestError::HttpStatus`], naming the URL and status), and an HTML
/// answer (or a 401/403 status for a Google Sheets URL): for a Google
/// Sheets URL (one with `/spreadsheets/` in its path) that means the sheet
/// is not shared publicly ([`IngestError::SheetNotShared`], which says to share it as
/// "anyone with the link"), for any other URL [`IngestError::HtmlResponse`].
/// On error a partly written `dest` is removed.
pub fn download(url: &str, dest: &Path) -> Result<(), IngestError> {
    download_with(url, dest, &[])
}

/// [`download`] sending `headers` (name, value) with the request, e.g. a
/// connector's `Authorization`.
///
/// Errors: as [`download`].
pub fn download_with(
    url: &str,
    dest: &Path,
    headers: &[(String, String)],
) -> Result<(), IngestError> {
    let fail = |message: String| IngestError::Download {
        url: url.to_owned(),
        message,
    };
    let config = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_connect(Some(std::time::Duration::from_secs(30)))
        .timeout_recv_response(Some(std::time::Duration::from_secs(120)))
        .build();
    let agent = ureq::Agent::new_with_config(config);
    let mut request = agent.get(url);
    for (name, value) in headers {
        request = request.header(name.as_str(), value.as_str());
    }
    let response = request.call().map_err(|e| fail(e.to_string()))?;
    let status = response.status().as_u16();
    let is_sheet = url.contains("/spreadsheets/");
    if is_sheet && matches!(status, 401 | 403) {
        return Err(IngestError::SheetNotShared {
            url: url.to_owned(),
        });
    }
    if !(200..300).contains(&status) {
        return Err(IngestError::HttpStatus {
            url: url.to_owned(),
            status,
        });
    }
    let html_error = || {
        if is_sheet {
            IngestError::SheetNotShared {
                url: url.to_owned(),
            }
        } else {
            IngestError::HtmlResponse {
                url: url.to_owned(),
            }
        }
    };
    let declared_html = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().contains("text/html"));
    if declared_html {
        return Err(html_error());
    }
    let mut body = response.into_body().into_reader();
    let io_err = |source| IngestError::Io {
        path: dest.to_owned(),
        source,
    };
    // Look at the start of the body for an HTML page sent without a
    // content type.
    let mut head = Vec::with_capacity(1024);
    (&mut body)
        .take(1024)
        .read_to_end(&mut head)
        .map_err(|e| fail(e.to_string()))?;
    if looks_like_html(&head) {
        return Err(html_error());
    }
    let result = (|| {
        let mut out = File::create(dest).map_err(io_err)?;
        out.write_all(&head).map_err(io_err)?;
        std::io::copy(&mut body, &mut out).map_err(|e| fail(e.to_string()))?;
        out.flush().map_err(io_err)?;
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(dest);
    }
    result
}

fn looks_like_html(head: &[u8]) -> bool {
    let text = String::from_utf8_lossy(head);
    let start = text
        .trim_start_matches('\u{feff}')
        .trim_start()
        .to_ascii_lowercase();
    start.starts_with("<!doctype html") || start.starts_with("<html")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delimiter_sniffing_respects_quotes() {
        assert_eq!(sniff_delimiter(b"a,b,c\n1,2,3\n"), b',');
        assert_eq!(
            sniff_delimiter(b"a;b;c\n\"1,5\";2;3\n\"x,y,z\";2;3\n"),
            b';'
        );
        assert_eq!(sniff_delimiter(b"a\tb\n1\t2\n"), b'\t');
        assert_eq!(sniff_delimiter(b"a|b|c\n1|2,5|3\n"), b'|');
        assert_eq!(sniff_delimiter(b"single column\nvalue\n"), b',');
        assert_eq!(sniff_delimiter(b"a,b"), b',');
        // a quoted newline does not end the line
        assert_eq!(sniff_delimiter(b"a;b\n\"x\ny,z,w\";2\n"), b';');
    }

    #[test]
    fn xlsx_cell_text() {
        assert_eq!(cell_text(&DataRef::Float(17850.0)), "17850");
        assert_eq!(cell_text(&DataRef::Float(2.55)), "2.55");
        assert_eq!(cell_text(&DataRef::Int(-3)), "-3");
        assert_eq!(cell_text(&DataRef::SharedString(" Mug ")), "Mug");
        assert_eq!(cell_text(&DataRef::Empty), "");
    }
}
