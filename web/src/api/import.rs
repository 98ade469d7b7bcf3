//! Imports: preview a file's mapping, import a file (raw body or
//! multipart), import a Google Sheets link, and the import history. A
//! failed import writes nothing (it is one transaction).

use std::convert::Infallible;

use aima_actors::ImportError;
use aima_ingest::IngestError;
use aima_ingest::pipeline::{self, ImportOptions, ImportReport, MappingOverride, Preview};
use aima_ingest::values::DateOrder;
use aima_runtime::store::{ImportRecord, Role};
use axum::Json;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, FromRequest, Multipart, Request, State};
use axum::http::{HeaderMap, header};
use axum::response::sse::{self, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use futures::StreamExt;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use tempfile::NamedTempFile;
use tokio::io::AsyncWriteExt;
use uuid::Uuid;

use super::{ApiJson, ApiQuery, page_limit, wants_sse};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::openapi::{Api, Op};
use crate::state::AppState;
use tokio::task::JoinHandle;

pub(super) fn routes(api: Api) -> Api {
    let options_doc = "Options as query parameters: `strict` (write nothing if a row is bad), \
        `map` (repeatable `Header=field` or `Header=ignore` corrections of the detected \
        mapping), `date_order` (`day-first` or `month-first`), `country` (for phone numbers \
        without one), `currency` (for amounts without one), `filename` (recorded as the \
        source; only its last path segment is kept).";
    api.add(
        Op::post("/api/v1/import/preview", "import", "Preview a file's import: detected mapping, problems, counts")
            .describe(format!("Writes nothing. {options_doc}"))
            .role(Role::Analyst)
            .query::<ImportQuery>()
            .file_body()
            .returns::<Preview>(200),
        post(preview).layer(DefaultBodyLimit::disable()),
    )
    .add(
        Op::post("/api/v1/import/file", "import", "Import customers and orders from a file")
            .describe(format!(
                "CSV, TSV or XLSX, detected from the content. Customers are matched by id, \
                 e-mail or phone; orders by id. Rejected rows are listed with their row \
                 number and reason. With `Accept: text/event-stream` the answer streams: \
                 `progress` events (`rows_done`, `rows_total`), then `result` (this JSON) or \
                 `error`. {options_doc}"
            ))
            .role(Role::Analyst)
            .query::<ImportQuery>()
            .file_body()
            .returns::<ImportResult>(200),
        post(import_file).layer(DefaultBodyLimit::disable()),
    )
    .add(
        Op::post("/api/v1/import/google-sheet", "import", "Import a shared Google Sheets link")
            .describe("The sheet must be shared as 'anyone with the link'; its first (or linked) tab is read as CSV. Only Google Sheets links are fetched.")
            .role(Role::Analyst)
            .json_body::<SheetImport>()
            .returns::<ImportResult>(200),
        post(import_sheet),
    )
    .add(
        Op::get("/api/v1/import/history", "import", "Past imports, newest first")
            .role(Role::Viewer)
            .query::<HistoryQuery>()
            .returns::<Vec<ImportRecord>>(200),
        get(history),
    )
}

/// Import options (query parameters of the file endpoints). Documents what
/// [`options_from_pairs`] reads (`map` may repeat, which a struct cannot
/// deserialize from a query string).
#[derive(Debug, Default, JsonSchema)]
#[expect(
    dead_code,
    reason = "documentation of the query that options_from_pairs reads"
)]
pub(crate) struct ImportQuery {
    /// Write nothing if any row is bad.
    pub strict: Option<bool>,
    /// A mapping correction `Header=field` or `Header=ignore` (repeat the
    /// parameter for several).
    pub map: Option<Vec<String>>,
    /// Day/month order of ambiguous dates: `day-first` or `month-first`.
    pub date_order: Option<String>,
    /// Country for phone numbers without one (ISO code or name).
    pub country: Option<String>,
    /// Currency for amounts without one (ISO code).
    pub currency: Option<String>,
    /// The file's name, recorded as the import's source.
    pub filename: Option<String>,
}

/// A Google Sheets import.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct SheetImport {
    /// The sheet's share link (`https://docs.google.com/spreadsheets/d/...`).
    pub url: String,
    /// Write nothing if any row is bad.
    #[serde(default)]
    pub strict: bool,
    /// Mapping corrections, `Header=field` or `Header=ignore`.
    #[serde(default)]
    pub map: Vec<String>,
    /// `day-first` or `month-first`.
    pub date_order: Option<String>,
    /// Country for phone numbers without one.
    pub country: Option<String>,
    /// Currency for amounts without one.
    pub currency: Option<String>,
}

/// What an import wrote.
#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct ImportResult {
    /// The import's row in the jobs table.
    pub job_id: Uuid,
    /// Counts and rejected rows.
    #[serde(flatten)]
    pub report: ImportReport,
}

/// Query of the import history.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct HistoryQuery {
    /// Most imports to list, 1 to 100 (default 20).
    #[schemars(range(min = 1, max = 100))]
    pub limit: Option<u32>,
}

/// The options of `query`, read from the raw pairs (`map` may repeat).
fn options_from_pairs(pairs: Vec<(String, String)>) -> Result<(ImportOptions, String), ApiError> {
    let mut options = ImportOptions::default();
    let mut filename = "upload".to_owned();
    for (key, value) in pairs {
        match key.as_str() {
            "strict" => {
                options.strict = match value.as_str() {
                    "" | "true" | "1" => true,
                    "false" | "0" => false,
                    _ => return Err(ApiError::invalid("strict", "strict must be true or false")),
                }
            }
            "map" => options.overrides.push(parse_map(&value)?),
            "date_order" => options.date_order = Some(parse_date_order(&value)?),
            "country" => options.default_country = Some(value),
            "currency" => options.default_currency = Some(value),
            "filename" => filename = safe_name(&value),
            other => {
                return Err(ApiError::invalid(
                    other,
                    format!(
                        "unknown parameter `{other}`: expected strict, map, date_order, country, \
                         currency or filename"
                    ),
                ));
            }
        }
    }
    options.source_name.clone_from(&filename);
    Ok((options, filename))
}

fn parse_map(value: &str) -> Result<MappingOverride, ApiError> {
    value
        .parse()
        .map_err(|e: IngestError| ApiError::invalid("map", e.to_string()))
}

fn parse_date_order(value: &str) -> Result<DateOrder, ApiError> {
    value.parse().map_err(|e: aima_ingest::values::ValueError| {
        ApiError::invalid("date_order", e.to_string())
    })
}

/// The last path segment of a client-given file name, without control
/// characters (it is only ever recorded, never used as a path).
fn safe_name(name: &str) -> String {
    let last = name.rsplit(['/', '\\']).next().unwrap_or_default();
    let clean: String = last.chars().filter(|c| !c.is_control()).take(200).collect();
    match clean.trim() {
        "" | "." | ".." => "upload".to_owned(),
        ok => ok.to_owned(),
    }
}

/// Writes the request's file (the raw body, or the first file part of a
/// multipart body) to a temporary file, at most `limit` bytes.
async fn spool(
    state: &AppState,
    request: Request,
) -> Result<(NamedTempFile, Option<String>), ApiError> {
    let limit = state.options().import_body_limit;
    let file = NamedTempFile::new_in(&state.options().upload_dir)
        .map_err(|e| ApiError::internal("creating the upload file", &e))?;
    let mut out = tokio::fs::File::create(file.path())
        .await
        .map_err(|e| ApiError::internal("opening the upload file", &e))?;
    let multipart = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("multipart/form-data"));
    let mut written = 0usize;
    let mut part_name = None;
    let too_large = || ApiError::PayloadTooLarge { limit_bytes: limit };
    if multipart {
        let mut form =
            Multipart::from_request(request, state)
                .await
                .map_err(|e| ApiError::BadRequest {
                    message: e.body_text(),
                    field: None,
                })?;
        let mut found = false;
        while let Some(mut field) = form.next_field().await.map_err(|e| ApiError::BadRequest {
            message: e.body_text(),
            field: None,
        })? {
            if field.file_name().is_none() && field.name() != Some("file") {
                continue;
            }
            part_name = field.file_name().map(safe_name);
            while let Some(chunk) = field.chunk().await.map_err(|e| ApiError::BadRequest {
                message: e.body_text(),
                field: None,
            })? {
                written += chunk.len();
                if written > limit {
                    return Err(too_large());
                }
                out.write_all(&chunk)
                    .await
                    .map_err(|e| ApiError::internal("writing the upload", &e))?;
            }
            found = true;
            break;
        }
        if !found {
            return Err(ApiError::invalid(
                "file",
                "the multipart body has no file part (send the file as a part named `file`)",
            ));
        }
    } else {
        let mut stream = Body::into_data_stream(request.into_body());
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| ApiError::BadRequest {
                message: format!("reading the body: {e}"),
                field: None,
            })?;
            written += chunk.len();
            if written > limit {
                return Err(too_large());
            }
            out.write_all(&chunk)
                .await
                .map_err(|e| ApiError::internal("writing the upload", &e))?;
        }
    }
    out.flush()
        .await
        .map_err(|e| ApiError::internal("writing the upload", &e))?;
    if written == 0 {
        return Err(ApiError::invalid(
            "file",
            "the body is empty: send the file's bytes",
        ));
    }
    Ok((file, part_name))
}

/// 422 for what is wrong with the file or the options, 500 for our faults.
fn ingest_error(e: IngestError) -> ApiError {
    match e {
        IngestError::Io { .. } | IngestError::Store { .. } | IngestError::Demo { .. } => {
            ApiError::internal("the import", &e)
        }
        other => ApiError::Invalid {
            message: other.to_string(),
            field: None,
        },
    }
}

fn import_error(e: ImportError) -> ApiError {
    let message = e.to_string();
    match e {
        ImportError::Unavailable { .. } => ApiError::Unavailable { message },
        ImportError::Timeout { .. } => ApiError::Timeout { message },
        ImportError::Import { .. } => ApiError::Invalid {
            message,
            field: None,
        },
        ImportError::Store { .. } => ApiError::internal("recording the import", &message),
    }
}

/// The options and the spooled file of a file request.
async fn file_request(
    state: &AppState,
    pairs: Vec<(String, String)>,
    request: Request,
) -> Result<(ImportOptions, NamedTempFile), ApiError> {
    let (mut options, filename) = options_from_pairs(pairs)?;
    let (file, part_name) = spool(state, request).await?;
    if filename == "upload"
        && let Some(name) = part_name
    {
        options.source_name = name;
    }
    Ok((options, file))
}

async fn preview(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(pairs): ApiQuery<Vec<(String, String)>>,
    request: Request,
) -> Result<Json<Preview>, ApiError> {
    let (options, file) = file_request(&state, pairs, request).await?;
    let preview = pipeline::preview(state.store(), caller.organization_id, file.path(), &options)
        .await
        .map_err(ingest_error)?;
    Ok(Json(preview))
}

async fn import_file(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(pairs): ApiQuery<Vec<(String, String)>>,
    request: Request,
) -> Result<Response, ApiError> {
    let sse = wants_sse(request.headers());
    let (options, file) = file_request(&state, pairs, request).await?;
    run_import(&state, &caller, file, options, sse).await
}

/// Imports `file` through the ingest actor. As JSON: the result. With
/// `sse`: Server-Sent Events while it runs, `progress` (`{"rows_done",
/// "rows_total"}`) as the file is read, then `result` (the JSON answer) or
/// `error` (the error body).
async fn run_import(
    state: &AppState,
    caller: &Caller,
    file: NamedTempFile,
    options: ImportOptions,
    sse: bool,
) -> Result<Response, ApiError> {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let ingest = state.ingest().clone();
    let org = caller.organization_id;
    // The file lives until the import is done, even if the client leaves.
    let task = tokio::spawn(async move {
        let path = file.path().to_path_buf();
        let done = ingest
            .import_with_progress(org, path, options, "api", sse.then_some(tx))
            .await;
        drop(file);
        done.map(|d| ImportResult {
            job_id: d.job_id,
            report: d.report,
        })
        .map_err(import_error)
    });
    if !sse {
        let result = task
            .await
            .map_err(|e| ApiError::internal("the import task", &e))??;
        return Ok(Json(result).into_response());
    }
    enum Stage {
        Reading(
            tokio::sync::mpsc::UnboundedReceiver<(u64, u64)>,
            JoinHandle<Result<ImportResult, ApiError>>,
        ),
        Done,
    }
    let stream = futures::stream::unfold(Stage::Reading(rx, task), |stage| async move {
        let Stage::Reading(mut rx, task) = stage else {
            return None;
        };
        if let Some((done, total)) = rx.recv().await {
            let data = serde_json::json!({"rows_done": done, "rows_total": total}).to_string();
            let event = sse::Event::default().event("progress").data(data);
            return Some((Ok::<_, Infallible>(event), Stage::Reading(rx, task)));
        }
        let event = match task.await {
            Ok(Ok(result)) => sse::Event::default()
                .event("result")
                .data(serde_json::to_string(&result).unwrap_or_default()),
            Ok(Err(e)) => error_event(&e),
            Err(e) => error_event(&ApiError::internal("the import task", &e)),
        };
        Some((Ok(event), Stage::Done))
    });
    Ok(Sse::new(stream)
        .keep_alive(KeepAlive::default())
        .into_response())
}

fn error_event(e: &ApiError) -> sse::Event {
    sse::Event::default()
        .event("error")
        .data(serde_json::to_string(&e.body()).unwrap_or_default())
}

async fn import_sheet(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    ApiJson(body): ApiJson<SheetImport>,
) -> Result<Response, ApiError> {
    let Some(url) =
        aima_ingest::source::sheets_export_url(&body.url, &state.options().sheets_export_base)
    else {
        return Err(ApiError::invalid(
            "/url",
            "not a Google Sheets link (https://docs.google.com/spreadsheets/d/...); upload \
             other files with POST /api/v1/import/file",
        ));
    };
    let mut options = ImportOptions {
        strict: body.strict,
        default_country: body.country,
        default_currency: body.currency,
        source_name: body.url.clone(),
        ..ImportOptions::default()
    };
    for m in &body.map {
        options.overrides.push(parse_map(m).map_err(|_| {
            ApiError::invalid(
                "/map",
                format!("`{m}` is not `Header=field` or `Header=ignore`"),
            )
        })?);
    }
    if let Some(order) = &body.date_order {
        options.date_order = Some(parse_date_order(order)?);
    }
    let file = NamedTempFile::new_in(&state.options().upload_dir)
        .map_err(|e| ApiError::internal("creating the download file", &e))?;
    let dest = file.path().to_path_buf();
    tokio::task::spawn_blocking(move || aima_ingest::source::download(&url, &dest))
        .await
        .map_err(|e| ApiError::internal("the download task", &e))?
        .map_err(ingest_error)?;
    run_import(&state, &caller, file, options, wants_sse(&headers)).await
}

async fn history(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<HistoryQuery>,
) -> Result<Json<Vec<ImportRecord>>, ApiError> {
    let limit = page_limit(query.limit, 20, 100)?;
    Ok(Json(
        state
            .store()
            .list_imports(caller.organization_id, limit)
            .await?,
    ))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn file_names_keep_only_their_last_segment() {
        assert_eq!(safe_name("../../etc/passwd"), "passwd");
        assert_eq!(safe_name("C:\\Users\\x\\orders.csv"), "orders.csv");
        assert_eq!(safe_name(".."), "upload");
        assert_eq!(safe_name("a\u{0}b\n.csv"), "ab.csv");
    }

    #[test]
    fn options_read_repeated_maps_and_reject_unknown_parameters() {
        let pairs = vec![
            ("map".to_owned(), "Kunde=email".to_owned()),
            ("map".to_owned(), "Notiz=ignore".to_owned()),
            ("strict".to_owned(), "true".to_owned()),
            ("filename".to_owned(), "x/orders.csv".to_owned()),
        ];
        let (options, name) = options_from_pairs(pairs).unwrap();
        assert_eq!(options.overrides.len(), 2);
        assert!(options.strict);
        assert_eq!(name, "orders.csv");
        let err = options_from_pairs(vec![("stict".to_owned(), "1".to_owned())]).unwrap_err();
        assert!(matches!(err, ApiError::Invalid { field: Some(f), .. } if f == "stict"));
    }
}
