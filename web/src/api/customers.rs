//! Customers: the list (search, persona filter, keyset pages) and one
//! profile.

use aima_actors::data::customer_summary;
use aima_actors::intelligence::persona_named;
use aima_runtime::store::{CustomerCursor, CustomerFilter, CustomerListRow, Role};
use aima_tools::Tool;
use aima_tools::data::{CustomerProfile, CustomerProfileInput, CustomerSummary};
use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::DateTime;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use super::{ApiPath, ApiQuery, call_tool, page_limit};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::openapi::{Api, Op};
use crate::state::AppState;

/// Rows per page unless `limit` says otherwise.
const DEFAULT_PAGE: u32 = 25;
/// Most rows per page.
const MAX_PAGE: u32 = 100;

pub(super) fn routes(api: Api) -> Api {
    api.add(
        Op::get(
            "/api/v1/customers",
            "customers",
            "List and search customers",
        )
        .describe(
            "Newest first, with each customer's persona and health score. Pages are \
                 stable: pass `next_cursor` back as `cursor` for the next page; customers \
                 added meanwhile do not shift or repeat rows.",
        )
        .role(Role::Viewer)
        .query::<CustomersQuery>()
        .returns::<CustomerPage>(200),
        get(list),
    )
    .add(
        Op::get(
            "/api/v1/customers/export",
            "customers",
            "Export customers as CSV",
        )
        .describe(
            "Every customer matching `q` and `segment` (as in the list), newest first, as \
             CSV with a header row. Cells that a spreadsheet would run as a formula (starting \
             with =, +, -, @, tab or carriage return) are written with a leading apostrophe.",
        )
        .role(Role::Viewer)
        .query::<ExportQuery>()
        .returns_text("text/csv"),
        get(export),
    )
    .add(
        Op::get(
            "/api/v1/customers/{id}",
            "customers",
            "One customer's profile",
        )
        .describe(format!(
            "{} (Tool `{}`.)",
            aima_tools::describe::one_line(CustomerProfile::DESCRIPTION),
            CustomerProfile::NAME
        ))
        .role(Role::Viewer)
        .returns::<<CustomerProfile as Tool>::Output>(200),
        get(profile),
    )
}

/// Query of `GET /api/v1/customers`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CustomersQuery {
    /// Search text: part of an e-mail, a name or a phone number
    /// (case-insensitive).
    pub q: Option<String>,
    /// Only this persona's current members: its key (`at_risk`) or name
    /// ("At Risk").
    pub segment: Option<String>,
    /// Rows per page, 1 to 100 (default 25).
    #[schemars(range(min = 1, max = 100))]
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// One page of customers.
#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct CustomerPage {
    /// The customers, newest first.
    pub customers: Vec<CustomerItem>,
    /// Pass as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}

/// A customer in the list: as the data tools show them, with the source
/// system's id, persona and health score.
#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct CustomerItem {
    /// Id, name, contacts, place, tags and first-seen time.
    #[serde(flatten)]
    pub customer: CustomerSummary,
    /// The source system's id.
    pub external_id: Option<String>,
    /// Current persona key (`champions` ... `lost`); null before the first
    /// segmentation.
    pub persona: Option<String>,
    /// The persona's name ("Champions").
    pub persona_name: Option<String>,
    /// Health score 0-100 from the last feature run.
    pub health_score: Option<f64>,
    /// Extra imported columns.
    pub properties: Value,
}

impl From<CustomerListRow> for CustomerItem {
    fn from(row: CustomerListRow) -> CustomerItem {
        let persona_name = row
            .persona
            .as_deref()
            .and_then(persona_named)
            .map(|p| p.display_name().to_owned());
        CustomerItem {
            customer: customer_summary(&row.customer),
            external_id: row.customer.external_id,
            persona: row.persona,
            persona_name,
            health_score: row.health_score,
            properties: row.customer.properties,
        }
    }
}

/// `<created_at nanoseconds>.<id>`: opaque to clients, stable across
/// requests. Full precision: the store compares the time exactly.
fn encode_cursor(cursor: CustomerCursor) -> String {
    let nanos = cursor
        .created_at
        .timestamp_nanos_opt()
        .unwrap_or_else(|| cursor.created_at.timestamp_micros().saturating_mul(1000));
    format!("{nanos}.{}", cursor.id.simple())
}

fn decode_cursor(text: &str) -> Result<CustomerCursor, ApiError> {
    let bad = || {
        ApiError::invalid(
            "cursor",
            "not a cursor this API returned (use `next_cursor`)",
        )
    };
    let (nanos, id) = text.split_once('.').ok_or_else(bad)?;
    let nanos: i64 = nanos.parse().map_err(|_| bad())?;
    Ok(CustomerCursor {
        created_at: DateTime::from_timestamp_nanos(nanos),
        id: Uuid::try_parse(id).map_err(|_| bad())?,
    })
}

/// The persona key a `segment` parameter names (a key or a display name).
fn persona_filter(segment: Option<&str>) -> Result<Option<&'static str>, ApiError> {
    match segment.map(str::trim).filter(|s| !s.is_empty()) {
        Some(name) => persona_named(name).map(|p| Some(p.key())).ok_or_else(|| {
            ApiError::invalid(
                "segment",
                format!("`{name}` is not a persona (Champions, Loyal Customers, ..., Lost)"),
            )
        }),
        None => Ok(None),
    }
}

async fn list(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<CustomersQuery>,
) -> Result<Json<CustomerPage>, ApiError> {
    let limit = page_limit(query.limit, DEFAULT_PAGE, MAX_PAGE)?;
    let persona = persona_filter(query.segment.as_deref())?;
    let after = query.cursor.as_deref().map(decode_cursor).transpose()?;
    let filter = CustomerFilter {
        query: query.q.as_deref(),
        persona,
    };
    // One row more than the page tells whether another page follows.
    let mut rows = state
        .store()
        .customer_page(caller.organization_id, &filter, after, limit + 1)
        .await?;
    let more = rows.len() > limit as usize;
    rows.truncate(limit as usize);
    let next_cursor = more
        .then(|| rows.last().map(|r| encode_cursor(r.cursor())))
        .flatten();
    Ok(Json(CustomerPage {
        customers: rows.into_iter().map(CustomerItem::from).collect(),
        next_cursor,
    }))
}

/// Query of the CSV export.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ExportQuery {
    /// Search text, as in the list.
    pub q: Option<String>,
    /// Persona key or name, as in the list.
    pub segment: Option<String>,
}

/// A cell as a spreadsheet will not run it: text that would start a
/// formula gets a leading apostrophe (OWASP's CSV-injection advice).
fn inert(cell: &str) -> std::borrow::Cow<'_, str> {
    if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{cell}").into()
    } else {
        cell.into()
    }
}

async fn export(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<ExportQuery>,
) -> Result<Response, ApiError> {
    let filter = CustomerFilter {
        query: query.q.as_deref(),
        persona: persona_filter(query.segment.as_deref())?,
    };
    let mut out = csv::Writer::from_writer(Vec::new());
    let fail = |e: csv::Error| ApiError::internal("writing the CSV", &e);
    out.write_record([
        "id",
        "external_id",
        "name",
        "email",
        "phone",
        "city",
        "country",
        "persona",
        "health_score",
        "tags",
        "created_at",
    ])
    .map_err(fail)?;
    let mut after = None;
    loop {
        let rows = state
            .store()
            .customer_page(caller.organization_id, &filter, after, 1_000)
            .await?;
        let Some(last) = rows.last() else { break };
        after = Some(last.cursor());
        for row in rows {
            let item = CustomerItem::from(row);
            let c = &item.customer;
            let text = |v: &Option<String>| v.clone().unwrap_or_default();
            let record = [
                c.id.to_string(),
                text(&item.external_id),
                text(&c.name),
                text(&c.email),
                text(&c.phone),
                text(&c.city),
                text(&c.country),
                text(&item.persona),
                item.health_score
                    .map(|h| format!("{h:.1}"))
                    .unwrap_or_default(),
                c.tags.join(";"),
                c.created_at.to_rfc3339(),
            ];
            out.write_record(record.iter().map(|cell| inert(cell).into_owned()))
                .map_err(fail)?;
        }
    }
    let body = out
        .into_inner()
        .map_err(|e| ApiError::internal("writing the CSV", &e))?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"customers.csv\"",
            ),
        ],
        body,
    )
        .into_response())
}

async fn profile(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<Value>, ApiError> {
    if state
        .store()
        .get_customer(caller.organization_id, id)
        .await?
        .is_none()
    {
        return Err(ApiError::NotFound {
            what: format!("customer {id}"),
        });
    }
    let input = CustomerProfileInput {
        customer: id.to_string(),
    };
    call_tool::<CustomerProfile>(&state, &caller, &input).await
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn formula_cells_are_made_inert() {
        assert_eq!(inert("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(inert("+1 555"), "'+1 555");
        assert_eq!(inert("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(inert("Anna"), "Anna");
        assert_eq!(inert(""), "");
    }

    #[test]
    fn cursors_round_trip_and_reject_what_the_api_did_not_write() {
        let cursor = CustomerCursor {
            created_at: DateTime::from_timestamp_nanos(1_700_000_000_123_456_789),
            id: Uuid::now_v7(),
        };
        assert_eq!(decode_cursor(&encode_cursor(cursor)).unwrap(), cursor);
        for bad in ["", "12", "x.y", "12.not-a-uuid"] {
            assert!(
                matches!(decode_cursor(bad), Err(ApiError::Invalid { .. })),
                "{bad}"
            );
        }
    }
}
