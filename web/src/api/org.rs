//! The caller's organization, its API keys, its jobs, and its connectors.

use aima_actors::JobKind;
use aima_actors::connectors::{CONNECTOR_KINDS, CONNECTOR_OK, check_new_connector};
use aima_runtime::store::{
    ApiKey, CONNECTOR_STATUS_NEW, Connector, Job, NewConnector, Organization, Role,
};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{delete, get, post};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{ApiJson, ApiPath};
use crate::auth::{Caller, Principal};
use crate::error::ApiError;
use crate::openapi::{Api, Op};
use crate::state::AppState;

pub(super) fn routes(api: Api) -> Api {
    api.add(
        Op::get("/api/v1/organization", "organization", "The caller's organization and role")
            .role(Role::Viewer)
            .returns::<WhoAmI>(200),
        get(whoami),
    )
    .add(
        Op::get("/api/v1/keys", "organization", "The organization's API keys (never their text)")
            .role(Role::Admin)
            .returns::<Vec<ApiKey>>(200),
        get(list_keys),
    )
    .add(
        Op::post("/api/v1/keys", "organization", "Create an API key")
            .describe("The key's text is in the response and nowhere else: the store keeps its SHA-256.")
            .role(Role::Admin)
            .json_body::<NewKey>()
            .returns::<CreatedKey>(201),
        post(create_key),
    )
    .add(
        Op::delete("/api/v1/keys/{id}", "organization", "Revoke an API key")
            .role(Role::Admin),
        delete(revoke_key),
    )
    .add(
        Op::get("/api/v1/jobs/{id}", "organization", "A job's status, duration and error")
            .describe("Jobs are analysis runs (features and personas, churn and CLV), imports and syncs, triggered by the scheduler, the API or the planner.")
            .role(Role::Viewer)
            .returns::<Job>(200),
        get(job),
    )
    .add(
        Op::get("/api/v1/connectors", "connectors", "The organization's connectors")
            .describe(format!(
                "Status (`{CONNECTOR_STATUS_NEW}` before the first sync, then `{CONNECTOR_OK}` or \
                 `error: <why>`) and last sync of each; credentials are never returned."
            ))
            .role(Role::Viewer)
            .returns::<Vec<Connector>>(200),
        get(list_connectors),
    )
    .add(
        Op::post("/api/v1/connectors", "connectors", "Create a connector")
            .describe(format!(
                "Kinds: {}. `google_sheets`: `config.url` is a share link, no credentials. \
                 `csv_url`: `config.url` answers a CSV or XLSX file; `credentials.headers` are \
                 sent with each request (stored encrypted, never returned). The scheduler syncs \
                 every connector every 30 minutes; POST /api/v1/connectors/sync syncs now.",
                CONNECTOR_KINDS.join(", ")
            ))
            .role(Role::Admin)
            .json_body::<NewConnector>()
            .returns::<Connector>(201),
        post(create_connector),
    )
    .add(
        Op::delete("/api/v1/connectors/{id}", "connectors", "Delete a connector")
            .role(Role::Admin),
        delete(delete_connector),
    )
    .add(
        Op::post("/api/v1/connectors/sync", "connectors", "Sync every connector now")
            .describe("Queues a `connector_sync` job for the organization; poll GET /api/v1/jobs/{id}.")
            .role(Role::Analyst)
            .returns::<crate::api::JobQueued>(202),
        post(|state: State<AppState>, caller: Caller| crate::api::trigger(state, caller, JobKind::ConnectorSync)),
    )
}

/// Who is calling.
#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct WhoAmI {
    /// The organization.
    pub organization: Organization,
    /// The caller's role.
    pub role: Role,
    /// The key or user calling.
    pub principal: Principal,
}

async fn whoami(State(state): State<AppState>, caller: Caller) -> Result<Json<WhoAmI>, ApiError> {
    let organization = state
        .store()
        .organization(caller.organization_id)
        .await?
        .ok_or_else(|| ApiError::NotFound {
            what: "the key's organization".to_owned(),
        })?;
    Ok(Json(WhoAmI {
        organization,
        role: caller.role,
        principal: caller.principal,
    }))
}

async fn list_keys(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<ApiKey>>, ApiError> {
    Ok(Json(
        state.store().list_api_keys(caller.organization_id).await?,
    ))
}

/// A key to create.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewKey {
    /// A label (1 to 100 characters).
    #[schemars(length(min = 1, max = 100))]
    pub name: String,
    /// What the key may do.
    pub role: Role,
}

/// A created key.
#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct CreatedKey {
    /// The key's metadata.
    #[serde(flatten)]
    pub key: ApiKey,
    /// The key itself (`aima_` and 64 hex characters): shown only here.
    pub secret: String,
}

async fn create_key(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(new): ApiJson<NewKey>,
) -> Result<(StatusCode, Json<CreatedKey>), ApiError> {
    let name = new.name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(ApiError::invalid(
            "/name",
            "name must be 1 to 100 characters",
        ));
    }
    let (key, secret) = state
        .store()
        .create_api_key(caller.organization_id, name, new.role)
        .await?;
    Ok((StatusCode::CREATED, Json(CreatedKey { key, secret })))
}

async fn revoke_key(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<StatusCode, ApiError> {
    if state
        .store()
        .revoke_api_key(caller.organization_id, id)
        .await?
    {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound {
            what: format!("active API key {id}"),
        })
    }
}

async fn job(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<Job>, ApiError> {
    match state.store().job(id).await? {
        Some(job) if job.organization_id == Some(caller.organization_id) => Ok(Json(job)),
        _ => Err(ApiError::NotFound {
            what: format!("job {id}"),
        }),
    }
}

async fn list_connectors(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<Connector>>, ApiError> {
    Ok(Json(
        state
            .store()
            .list_connectors(caller.organization_id)
            .await?,
    ))
}

async fn create_connector(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(new): ApiJson<NewConnector>,
) -> Result<(StatusCode, Json<Connector>), ApiError> {
    check_new_connector(&new, &state.options().sheets_export_base)
        .map_err(|e| ApiError::invalid(e.field, e.message))?;
    let created = state
        .store()
        .create_connector(caller.organization_id, state.secret(), new)
        .await?;
    Ok((StatusCode::CREATED, Json(created)))
}

async fn delete_connector(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<StatusCode, ApiError> {
    if state
        .store()
        .delete_connector(caller.organization_id, id)
        .await?
    {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound {
            what: format!("connector {id}"),
        })
    }
}
