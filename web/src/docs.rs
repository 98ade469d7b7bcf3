//! `/api/openapi.json` and `/docs`: the OpenAPI document and a page that
//! renders it and sends requests (self-contained: no third-party script).

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use serde_json::Value;

use crate::state::AppState;

pub(crate) fn routes(doc: Arc<Value>) -> Router<AppState> {
    Router::new()
        .route(
            "/api/openapi.json",
            get(move || {
                let doc = doc.clone();
                async move { Json(doc.as_ref().clone()) }
            }),
        )
        .route("/docs", get(page))
}

async fn page() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'self'; script-src 'unsafe-inline' 'self'; style-src 'unsafe-inline' 'self'",
            ),
        ],
        DOCS_PAGE,
    )
}

/// The page: it fetches `/api/openapi.json`, lists every operation with its
/// parameters and schemas, and sends a request with the key typed at the
/// top (kept in the tab's session storage only).
const DOCS_PAGE: &str = r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>AIMA API</title>
<style>
body{font:15px/1.45 system-ui,sans-serif;margin:0;color:#1d2330;background:#f6f7f9}
header{background:#1d2330;color:#fff;padding:14px 20px;display:flex;gap:16px;flex-wrap:wrap;align-items:center}
header h1{font-size:18px;margin:0}
header input{flex:1;min-width:220px;padding:6px 8px;border-radius:4px;border:0;font-family:monospace}
main{max-width:980px;margin:0 auto;padding:16px}
.tag{margin-top:24px;font-size:16px;text-transform:capitalize}
details{background:#fff;border:1px solid #dde1e7;border-radius:6px;margin:8px 0}
summary{cursor:pointer;padding:8px 12px;display:flex;gap:10px;align-items:baseline}
.m{font:700 12px monospace;padding:2px 6px;border-radius:3px;color:#fff;min-width:52px;text-align:center}
.get{background:#2f7d4f}.post{background:#2d5fa8}.delete{background:#a83232}
.p{font-family:monospace}
.body{padding:0 12px 12px}
pre{background:#f0f2f5;padding:8px;overflow:auto;max-height:360px;font-size:13px}
label{display:block;margin:4px 0;font-family:monospace;font-size:13px}
label input{margin-left:6px;padding:3px 5px;width:50%}
textarea{width:100%;min-height:80px;font-family:monospace}
button{padding:5px 12px;margin-top:6px}
.muted{color:#667}
</style></head>
<body>
<header><h1>AIMA API</h1><input id="key" placeholder="API key (aima_...), kept in this tab only" autocomplete="off"></header>
<main><p id="intro" class="muted">Loading /api/openapi.json ...</p><div id="ops"></div></main>
<script>
"use strict";
const keyInput = document.getElementById("key");
keyInput.value = sessionStorage.getItem("aima-key") || "";
keyInput.addEventListener("input", () => sessionStorage.setItem("aima-key", keyInput.value.trim()));
function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  for (const c of children) e.append(c);
  return e;
}
function resolve(doc, s) {
  if (s && s.$ref) return doc.components.schemas[s.$ref.split("/").pop()] || s;
  return s;
}
function render(doc) {
  document.getElementById("intro").textContent = doc.info.description;
  const byTag = {};
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(item)) {
      (byTag[op.tags[0]] = byTag[op.tags[0]] || []).push([path, method, op]);
    }
  }
  const root = document.getElementById("ops");
  for (const [tag, ops] of Object.entries(byTag)) {
    root.append(el("h2", {class: "tag"}, tag));
    for (const [path, method, op] of ops) root.append(operation(doc, path, method, op));
  }
}
function operation(doc, path, method, op) {
  const d = el("details");
  d.append(el("summary", {}, el("span", {class: "m " + method}, method.toUpperCase()), el("span", {class: "p"}, path), el("span", {class: "muted"}, op.summary)));
  const body = el("div", {class: "body"});
  if (op.description) body.append(el("p", {}, op.description));
  const inputs = [];
  for (const p of op.parameters || []) {
    const input = el("input", {placeholder: (p.schema && (p.schema.type || "")) + (p.required ? " (required)" : "")});
    inputs.push([p, input]);
    body.append(el("label", {title: p.description || ""}, p.in + " " + p.name, input));
  }
  let text = null, file = null;
  const rb = op.requestBody && op.requestBody.content;
  if (rb && rb["application/json"]) {
    text = el("textarea", {placeholder: "JSON body"});
    body.append(el("p", {class: "muted"}, "Body schema:"), el("pre", {}, JSON.stringify(resolve(doc, rb["application/json"].schema), null, 2)), text);
  } else if (rb) {
    file = el("input", {type: "file"});
    body.append(el("label", {}, "file", file));
  }
  const out = el("pre", {class: "muted"}, "");
  const send = el("button", {}, "Send");
  send.addEventListener("click", async () => {
    let url = path;
    const query = new URLSearchParams();
    for (const [p, input] of inputs) {
      if (!input.value) continue;
      if (p.in === "path") url = url.replace("{" + p.name + "}", encodeURIComponent(input.value));
      else query.append(p.name, input.value);
    }
    if ([...query].length) url += "?" + query;
    const headers = {};
    const key = keyInput.value.trim();
    if (key) headers["Authorization"] = "Bearer " + key;
    let payload;
    if (text) { headers["Content-Type"] = "application/json"; payload = text.value || "{}"; }
    if (file && file.files[0]) payload = file.files[0];
    out.textContent = "...";
    try {
      const r = await fetch(url, {method: method.toUpperCase(), headers, body: payload});
      const t = await r.text();
      let shown = t;
      try { shown = JSON.stringify(JSON.parse(t), null, 2); } catch (_) {}
      out.textContent = r.status + " " + r.statusText + "\n" + shown;
    } catch (e) { out.textContent = String(e); }
  });
  body.append(send, out);
  const ok = Object.entries(op.responses).find(([s]) => s.startsWith("2"));
  if (ok && ok[1].content && ok[1].content["application/json"]) {
    body.append(el("p", {class: "muted"}, "Response " + ok[0] + " schema:"), el("pre", {}, JSON.stringify(resolve(doc, ok[1].content["application/json"].schema), null, 2)));
  }
  d.append(body);
  return d;
}
fetch("/api/openapi.json").then(r => r.json()).then(render).catch(e => {
  document.getElementById("intro").textContent = "Could not load the API description: " + e;
});
</script>
</body></html>
"#;
