//! Routes and their OpenAPI 3.1 description, registered together so the
//! document cannot drift from the router: [`Api::add`] mounts a handler and
//! records its operation. Schemas come from the request and response types
//! (`schemars`, JSON Schema 2020-12, which OpenAPI 3.1 uses as is); the
//! tool types the planner calls are the same types the REST API serves.

use std::collections::BTreeMap;

use aima_runtime::store::Role;
use aima_tools::Tool;
use axum::Router;
use axum::http::Method;
use axum::routing::MethodRouter;
use schemars::generate::{SchemaGenerator, SchemaSettings};
use schemars::{JsonSchema, Schema};
use serde_json::{Map, Value, json};

use crate::auth::RequiredRole;
use crate::error::ErrorBody;
use crate::state::AppState;

/// Produces a schema (a `$ref` into `components/schemas` for named types).
type SchemaFn = fn(&mut SchemaGenerator) -> Schema;

fn schema<T: JsonSchema>(g: &mut SchemaGenerator) -> Schema {
    g.subschema_for::<T>()
}

/// What a request body is.
enum Body {
    /// JSON of a type.
    Json(SchemaFn),
    /// A file: raw bytes in the body, or a `multipart/form-data` part.
    File,
}

/// One documented operation.
pub(crate) struct Op {
    method: Method,
    path: &'static str,
    tag: &'static str,
    summary: &'static str,
    description: Option<String>,
    role: Option<Role>,
    query: Option<SchemaFn>,
    body: Option<Body>,
    status: u16,
    response: Option<SchemaFn>,
    response_type: &'static str,
}

impl Op {
    fn new(method: Method, path: &'static str, tag: &'static str, summary: &'static str) -> Op {
        Op {
            method,
            path,
            tag,
            summary,
            description: None,
            role: None,
            query: None,
            body: None,
            status: 200,
            response: None,
            response_type: "application/json",
        }
    }

    /// A GET operation.
    pub(crate) fn get(path: &'static str, tag: &'static str, summary: &'static str) -> Op {
        Op::new(Method::GET, path, tag, summary)
    }

    /// A POST operation.
    pub(crate) fn post(path: &'static str, tag: &'static str, summary: &'static str) -> Op {
        Op::new(Method::POST, path, tag, summary)
    }

    /// A DELETE operation.
    pub(crate) fn delete(path: &'static str, tag: &'static str, summary: &'static str) -> Op {
        Op::new(Method::DELETE, path, tag, summary)
    }

    /// Needs an API key of `role` or above.
    pub(crate) fn role(mut self, role: Role) -> Op {
        self.role = Some(role);
        self
    }

    /// Longer text under the summary.
    pub(crate) fn describe(mut self, text: impl Into<String>) -> Op {
        self.description = Some(text.into());
        self
    }

    /// Query parameters: the properties of `T`.
    pub(crate) fn query<T: JsonSchema>(mut self) -> Op {
        self.query = Some(schema::<T>);
        self
    }

    /// A JSON body of type `T`.
    pub(crate) fn json_body<T: JsonSchema>(mut self) -> Op {
        self.body = Some(Body::Json(schema::<T>));
        self
    }

    /// A file body (raw or multipart).
    pub(crate) fn file_body(mut self) -> Op {
        self.body = Some(Body::File);
        self
    }

    /// Answers `status` with a JSON `T`.
    pub(crate) fn returns<T: JsonSchema>(mut self, status: u16) -> Op {
        self.status = status;
        self.response = Some(schema::<T>);
        self
    }

    /// Answers 200 with a body of `content_type` (not JSON).
    pub(crate) fn returns_text(mut self, content_type: &'static str) -> Op {
        self.response_type = content_type;
        self
    }

    /// The operation of tool `T`: its arguments as the query (GET) or JSON
    /// body (POST), its result as the response, its description.
    pub(crate) fn tool<T: Tool>(mut self) -> Op {
        if self.method == Method::GET {
            self.query = Some(schema::<T::Input>);
        } else {
            self.body = Some(Body::Json(schema::<T::Input>));
        }
        self.response = Some(schema::<T::Output>);
        self.description = Some(format!(
            "{} (Tool `{}`, the same the planner calls.)",
            aima_tools::describe::one_line(T::DESCRIPTION),
            T::NAME
        ));
        self
    }
}

/// A router under construction and the OpenAPI paths of what it mounts.
pub(crate) struct Api {
    router: Router<AppState>,
    generator: SchemaGenerator,
    paths: BTreeMap<String, Map<String, Value>>,
}

impl Api {
    /// An empty API.
    pub(crate) fn new() -> Api {
        let generator = SchemaSettings::draft2020_12()
            .with(|s| s.definitions_path = "/components/schemas".into())
            .into_generator();
        Api {
            router: Router::new(),
            generator,
            paths: BTreeMap::new(),
        }
    }

    /// Mounts `handler` at `op`'s path and documents it; a role on `op` is
    /// enforced for the route (see [`RequiredRole`]).
    ///
    /// # Panics
    /// If the method is already documented for the path (a programming
    /// error caught by every test that builds the app).
    pub(crate) fn add(mut self, op: Op, handler: MethodRouter<AppState>) -> Api {
        let doc = self.operation(&op);
        let entry = self.paths.entry(op.path.to_owned()).or_default();
        let method = op.method.as_str().to_lowercase();
        assert!(
            entry.insert(method, doc).is_none(),
            "{} {} documented twice",
            op.method,
            op.path
        );
        let handler = match op.role {
            Some(role) => handler.layer(axum::Extension(RequiredRole(role))),
            None => handler,
        };
        self.router = self.router.route(op.path, handler);
        self
    }

    /// The router and the OpenAPI document.
    pub(crate) fn finish(mut self) -> (Router<AppState>, Value) {
        let schemas = self.generator.take_definitions(true);
        let doc = json!({
            "openapi": "3.1.0",
            "jsonSchemaDialect": "https://json-schema.org/draft/2020-12/schema",
            "info": {
                "title": "AIMA API",
                "version": env!("CARGO_PKG_VERSION"),
                "description": "Customer intelligence, churn and CLV, imports and the \
                    conversational planner of one organization. Every endpoint under /api/v1 \
                    needs `Authorization: Bearer <key>` (an API key of the organization, \
                    created with `aima keys create`); keys have a role: viewer (read), \
                    analyst (read, run analyses, import, approve planner steps) or admin \
                    (everything, keys and connectors). Errors share one shape: \
                    `{\"error\": {\"code\", \"message\", \"field\"}}`."
            },
            "paths": self.paths,
            "components": {
                "schemas": schemas,
                "securitySchemes": {
                    "bearer": {"type": "http", "scheme": "bearer", "description": "An AIMA API key (aima_...)."}
                }
            }
        });
        (self.router, doc)
    }

    fn operation(&mut self, op: &Op) -> Value {
        let mut parameters: Vec<Value> = path_params(op.path);
        if let Some(query) = op.query {
            let s = query(&mut self.generator).to_value();
            parameters.extend(query_params(&self.resolve(&s)));
        }
        let mut doc = Map::new();
        doc.insert("tags".into(), json!([op.tag]));
        doc.insert("summary".into(), json!(op.summary));
        doc.insert(
            "operationId".into(),
            json!(operation_id(&op.method, op.path)),
        );
        let mut description = op.description.clone().unwrap_or_default();
        if let Some(role) = op.role {
            if !description.is_empty() {
                description.push_str("\n\n");
            }
            description.push_str(&format!("Role: {role} or above."));
            doc.insert("security".into(), json!([{"bearer": []}]));
            doc.insert("x-aima-role".into(), json!(role.as_str()));
        }
        if !description.is_empty() {
            doc.insert("description".into(), json!(description));
        }
        if !parameters.is_empty() {
            doc.insert("parameters".into(), Value::Array(parameters));
        }
        match &op.body {
            Some(Body::Json(body)) => {
                let s = body(&mut self.generator).to_value();
                doc.insert(
                    "requestBody".into(),
                    json!({"required": true, "content": {"application/json": {"schema": s}}}),
                );
            }
            Some(Body::File) => {
                doc.insert(
                    "requestBody".into(),
                    json!({
                        "required": true,
                        "description": "The file (CSV, TSV or XLSX; the format is read from the content): the raw bytes as the body, or the first file part of a multipart/form-data body.",
                        "content": {
                            "application/octet-stream": {"schema": {"type": "string", "contentMediaType": "application/octet-stream"}},
                            "text/csv": {"schema": {"type": "string"}},
                            "multipart/form-data": {"schema": {"type": "object", "properties": {"file": {"type": "string", "contentMediaType": "application/octet-stream"}}}}
                        }
                    }),
                );
            }
            None => {}
        }
        let success = match (op.response, op.response_type) {
            (Some(response), _) => {
                let s = response(&mut self.generator).to_value();
                json!({"description": "Success.", "content": {"application/json": {"schema": s}}})
            }
            (None, "application/json") => json!({"description": "Success (no body)."}),
            (None, other) => {
                json!({"description": "Success.", "content": {other: {"schema": {"type": "string"}}}})
            }
        };
        let error = self.generator.subschema_for::<ErrorBody>().to_value();
        let error_response = json!({"description": "The error (see `code`).", "content": {"application/json": {"schema": error}}});
        let mut responses = Map::new();
        let status = if op.response.is_none() && op.response_type == "application/json" {
            204
        } else {
            op.status
        };
        responses.insert(status.to_string(), success);
        if op.role.is_some() {
            responses.insert(
                "401".into(),
                json!({"description": "No key, or an unknown or revoked key.", "content": error_response["content"].clone()}),
            );
            responses.insert(
                "403".into(),
                json!({"description": "The key's role may not do this.", "content": error_response["content"].clone()}),
            );
        }
        responses.insert("default".into(), error_response);
        doc.insert("responses".into(), Value::Object(responses));
        Value::Object(doc)
    }

    /// `schema` itself, or the definition its `$ref` names.
    fn resolve(&self, schema: &Value) -> Value {
        schema
            .get("$ref")
            .and_then(Value::as_str)
            .and_then(|r| r.strip_prefix("#/components/schemas/"))
            .and_then(|name| self.generator.definitions().get(name))
            .cloned()
            .unwrap_or_else(|| schema.clone())
    }
}

/// `getApiV1CustomersById` for `GET /api/v1/customers/{id}`.
fn operation_id(method: &Method, path: &str) -> String {
    let mut id = method.as_str().to_lowercase();
    for part in path.split(['/', '-', '_']).filter(|p| !p.is_empty()) {
        let (by, word) = match part.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
            Some(name) => ("By", name),
            None => ("", part),
        };
        id.push_str(by);
        let mut chars = word.chars();
        if let Some(first) = chars.next() {
            id.extend(first.to_uppercase());
            id.push_str(chars.as_str());
        }
    }
    id
}

/// One required string parameter per `{name}` of `path` (`id` and `*_id`
/// are UUIDs).
fn path_params(path: &str) -> Vec<Value> {
    path.split('/')
        .filter_map(|p| p.strip_prefix('{').and_then(|p| p.strip_suffix('}')))
        .map(|name| {
            let schema = if name == "id" || name.ends_with("_id") {
                json!({"type": "string", "format": "uuid"})
            } else {
                json!({"type": "string"})
            };
            json!({"name": name, "in": "path", "required": true, "schema": schema})
        })
        .collect()
}

/// One query parameter per property of the object schema `s`.
fn query_params(s: &Value) -> Vec<Value> {
    let required: Vec<&str> = s
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let Some(props) = s.get("properties").and_then(Value::as_object) else {
        return Vec::new();
    };
    props
        .iter()
        .map(|(name, prop)| {
            let mut param = json!({
                "name": name,
                "in": "query",
                "required": required.contains(&name.as_str()),
                "schema": prop,
            });
            if let Some(d) = prop.get("description") {
                param["description"] = d.clone();
            }
            param
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operation_ids_are_camel_case_and_name_path_parameters() {
        assert_eq!(
            operation_id(&Method::GET, "/api/v1/customers/{id}"),
            "getApiV1CustomersById"
        );
        assert_eq!(
            operation_id(&Method::POST, "/api/v1/clv-churn/run"),
            "postApiV1ClvChurnRun"
        );
    }
}
