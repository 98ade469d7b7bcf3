//! Google Sheets link rewriting and HTTP downloads against a local server.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::thread::JoinHandle;

use aima_ingest::IngestError;
use aima_ingest::source::{DEFAULT_SHEETS_EXPORT_BASE, download, open_path, sheets_export_url};

use crate::read_all;

const ID: &str = "1AbCdEfGhIjKlMnOpQrStUvWxYz0123456789_-xyz";

#[test]
fn sheets_links_are_rewritten_to_csv_exports() {
    let base = DEFAULT_SHEETS_EXPORT_BASE;
    let export = |gid: Option<&str>| {
        let mut u = format!("https://docs.google.com/spreadsheets/d/{ID}/export?format=csv");
        if let Some(g) = gid {
            u.push_str(&format!("&gid={g}"));
        }
        u
    };
    let cases = [
        (
            format!("https://docs.google.com/spreadsheets/d/{ID}/edit?usp=sharing#gid=123"),
            Some("123"),
        ),
        (
            format!("https://docs.google.com/spreadsheets/d/{ID}/edit#gid=0"),
            Some("0"),
        ),
        (
            format!("https://docs.google.com/spreadsheets/d/{ID}/view"),
            None,
        ),
        (
            format!("https://docs.google.com/spreadsheets/d/{ID}/edit?gid=77&usp=drive_link"),
            Some("77"),
        ),
        (
            format!("https://docs.google.com/spreadsheets/d/{ID}/pubhtml"),
            None,
        ),
        (format!("https://docs.google.com/spreadsheets/d/{ID}"), None),
        (
            format!("  docs.google.com/spreadsheets/u/1/d/{ID}/edit#gid=5 "),
            Some("5"),
        ),
    ];
    for (link, gid) in cases {
        assert_eq!(sheets_export_url(&link, base), Some(export(gid)), "{link}");
    }
    assert_eq!(
        sheets_export_url(
            &format!("https://docs.google.com/spreadsheets/d/{ID}/edit#gid=9"),
            "http://127.0.0.1:8080/"
        ),
        Some(format!(
            "http://127.0.0.1:8080/spreadsheets/d/{ID}/export?format=csv&gid=9"
        ))
    );
    assert_eq!(
        sheets_export_url("https://docs.google.com/spreadsheets/d/e/2PACX-1vQabcdefghijklmnop/pubhtml?gid=4", base),
        Some("https://docs.google.com/spreadsheets/d/e/2PACX-1vQabcdefghijklmnop/pub?output=csv&gid=4".into())
    );
    for not_sheet in [
        "https://docs.google.com/document/d/abcdefghijklmnop/edit",
        "https://example.com/spreadsheets/d/abcdefghijklmnop/edit",
        "not a url",
        "",
    ] {
        assert_eq!(sheets_export_url(not_sheet, base), None, "{not_sheet}");
    }
}

/// Serves the canned responses, one per connection, in order; returns the
/// server's URL and a handle yielding the request lines it saw.
fn serve(responses: Vec<Vec<u8>>) -> (String, JoinHandle<Vec<String>>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let handle = std::thread::spawn(move || {
        let mut seen = Vec::new();
        for response in responses {
            let (mut stream, _) = listener.accept().expect("accept");
            let mut reader = BufReader::new(stream.try_clone().expect("clone"));
            let mut request_line = String::new();
            reader.read_line(&mut request_line).expect("request line");
            seen.push(request_line.trim().to_owned());
            loop {
                let mut line = String::new();
                let n = reader.read_line(&mut line).expect("header");
                if n == 0 || line == "\r\n" {
                    break;
                }
            }
            stream.write_all(&response).expect("respond");
        }
        seen
    });
    (url, handle)
}

fn response(status: &str, content_type: Option<&str>, body: &str) -> Vec<u8> {
    let mut r = format!(
        "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    if let Some(ct) = content_type {
        r.push_str(&format!("Content-Type: {ct}\r\n"));
    }
    r.push_str("\r\n");
    r.push_str(body);
    r.into_bytes()
}

#[test]
fn a_shared_sheet_downloads_through_its_export_url_and_reads_as_csv() {
    let csv = "Email,Total\r\na@example.com,10.50\r\nb@example.com,3\r\n";
    // The first answer redirects, as Google's export does.
    let (url, server) = serve(vec![
        b"HTTP/1.1 302 Found\r\nLocation: /final.csv\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_vec(),
        response("200 OK", Some("text/csv; charset=utf-8"), csv),
    ]);
    let link = format!("https://docs.google.com/spreadsheets/d/{ID}/edit#gid=42");
    let export = sheets_export_url(&link, &url).expect("a sheets link");
    let dir = tempfile::tempdir().expect("temp dir");
    let dest = dir.path().join("sheet.csv");
    download(&export, &dest).expect("download");
    let seen = server.join().expect("server");
    assert_eq!(
        seen,
        vec![
            format!("GET /spreadsheets/d/{ID}/export?format=csv&gid=42 HTTP/1.1"),
            "GET /final.csv HTTP/1.1".to_owned(),
        ]
    );
    assert_eq!(std::fs::read_to_string(&dest).expect("read"), csv);
    let mut reader = open_path(&dest).expect("open");
    assert_eq!(reader.headers(), ["Email", "Total"]);
    assert_eq!(read_all(reader.as_mut()).len(), 2);
}

#[test]
fn non_2xx_is_an_error_naming_url_and_status() {
    let (url, server) = serve(vec![response("404 Not Found", Some("text/plain"), "nope")]);
    let dir = tempfile::tempdir().expect("temp dir");
    let dest = dir.path().join("x.csv");
    let target = format!("{url}/missing.csv");
    let err = download(&target, &dest).expect_err("404");
    server.join().expect("server");
    assert!(
        matches!(err, IngestError::HttpStatus { status: 404, .. }),
        "{err}"
    );
    assert!(
        err.to_string().contains(&target) && err.to_string().contains("404"),
        "{err}"
    );
    assert!(!dest.exists());
}

#[test]
fn html_for_a_sheet_means_it_is_not_shared() {
    let page = "<!DOCTYPE html><html><body>Sign in</body></html>";
    let (url, server) = serve(vec![response(
        "200 OK",
        Some("text/html; charset=utf-8"),
        page,
    )]);
    let export = format!("{url}/spreadsheets/d/{ID}/export?format=csv");
    let dir = tempfile::tempdir().expect("temp dir");
    let err = download(&export, &dir.path().join("s.csv")).expect_err("html");
    server.join().expect("server");
    assert!(matches!(err, IngestError::SheetNotShared { .. }), "{err}");
    assert!(err.to_string().contains("anyone with the link"), "{err}");
}

#[test]
fn forbidden_sheet_export_means_it_is_not_shared() {
    let (url, server) = serve(vec![response("403 Forbidden", Some("text/plain"), "no")]);
    let export = format!("{url}/spreadsheets/d/{ID}/export?format=csv");
    let dir = tempfile::tempdir().expect("temp dir");
    let err = download(&export, &dir.path().join("s.csv")).expect_err("403");
    server.join().expect("server");
    assert!(matches!(err, IngestError::SheetNotShared { .. }), "{err}");
}

#[test]
fn html_without_content_type_elsewhere_is_refused() {
    let page = "\n  <html><body>hello</body></html>";
    let (url, server) = serve(vec![response("200 OK", None, page)]);
    let dir = tempfile::tempdir().expect("temp dir");
    let dest = dir.path().join("p.csv");
    let err = download(&format!("{url}/page"), &dest).expect_err("html");
    server.join().expect("server");
    assert!(matches!(err, IngestError::HtmlResponse { .. }), "{err}");
    assert!(!dest.exists());
}

#[test]
fn connection_refused_is_a_download_error() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    drop(listener);
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("http://{addr}/x.csv");
    let err = download(&url, &dir.path().join("x.csv")).expect_err("refused");
    assert!(matches!(err, IngestError::Download { .. }), "{err}");
    assert!(err.to_string().contains(&url), "{err}");
}
