//! A scripted OpenAI-compatible chat-completions server on 127.0.0.1:0, for
//! tests of the `openai` provider and of everything built on it (feature
//! `testing`). It panics on requests it does not understand: it is test
//! support, not a server.
//!
//! Each accepted connection gets the next [`Reply`] of the script (the last
//! one repeats). Every request body is parsed as JSON and sent to the test
//! through a channel, so tests can check what the provider sent.

use std::sync::Arc;

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Mutex, mpsc};

/// What the server answers one request with.
#[derive(Clone, Debug)]
pub enum Reply {
    /// 200 with an SSE body: each value is one `data:` event; `[DONE]` is
    /// appended.
    Sse(Vec<Value>),
    /// 200 with the given SSE events, then the connection stays open and
    /// silent (a stalled model).
    Stall(Vec<Value>),
    /// 200 with the same SSE event every `every_ms` milliseconds, forever (a
    /// model that never finishes).
    Trickle(Value, u64),
    /// An HTTP error status with an OpenAI-style error body.
    Status(u16, &'static str),
}

/// A running scripted server.
pub struct Server {
    /// Base URL to configure the provider with (`http://127.0.0.1:PORT/v1`).
    pub base_url: String,
    /// Request bodies as received, in order.
    pub requests: mpsc::UnboundedReceiver<Value>,
}

/// Starts a server replaying `script`.
pub async fn start(script: Vec<Reply>) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (tx, rx) = mpsc::unbounded_channel();
    let script = Arc::new(Mutex::new((script, 0usize)));
    tokio::spawn(async move {
        loop {
            let Ok((sock, _)) = listener.accept().await else {
                return;
            };
            let reply = {
                let mut s = script.lock().await;
                let i = s.1.min(s.0.len() - 1);
                s.1 += 1;
                s.0[i].clone()
            };
            let tx = tx.clone();
            tokio::spawn(serve(sock, reply, tx));
        }
    });
    Server {
        base_url: format!("http://{addr}/v1"),
        requests: rx,
    }
}

async fn serve(mut sock: TcpStream, reply: Reply, tx: mpsc::UnboundedSender<Value>) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let header_end = loop {
        let n = sock.read(&mut chunk).await.expect("read");
        assert!(n > 0, "client closed before sending a request");
        buf.extend_from_slice(&chunk[..n]);
        if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break p + 4;
        }
    };
    let head = String::from_utf8_lossy(&buf[..header_end]).to_string();
    assert!(
        head.starts_with("POST /v1/chat/completions "),
        "unexpected request line: {head}"
    );
    let len: usize = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse().ok())?
        })
        .expect("content-length");
    while buf.len() < header_end + len {
        let n = sock.read(&mut chunk).await.expect("read body");
        assert!(n > 0, "client closed mid-body");
        buf.extend_from_slice(&chunk[..n]);
    }
    let mut body: Value = serde_json::from_slice(&buf[header_end..header_end + len]).expect("json");
    let auth = head.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.eq_ignore_ascii_case("authorization")
            .then(|| v.trim().to_owned())
    });
    body["_authorization"] = json!(auth);
    let _ = tx.send(body);

    match reply {
        Reply::Status(code, message) => {
            let body = json!({"error": {"message": message, "type": "invalid_request_error", "param": null, "code": null}}).to_string();
            let resp = format!(
                "HTTP/1.1 {code} Error\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = sock.write_all(resp.as_bytes()).await;
        }
        Reply::Sse(events) => {
            write_sse_head(&mut sock).await;
            for e in events {
                write_event(&mut sock, &e.to_string()).await;
            }
            write_event(&mut sock, "[DONE]").await;
        }
        Reply::Trickle(event, every_ms) => {
            write_sse_head(&mut sock).await;
            let data = event.to_string();
            while write_event(&mut sock, &data).await {
                // Scripted pacing of the reply, not test synchronization.
                tokio::time::sleep(std::time::Duration::from_millis(every_ms)).await;
            }
        }
        Reply::Stall(events) => {
            write_sse_head(&mut sock).await;
            for e in events {
                write_event(&mut sock, &e.to_string()).await;
            }
            // Keep the connection open and silent until the client gives up.
            let _ = sock.read(&mut chunk).await;
        }
    }
}

async fn write_sse_head(sock: &mut TcpStream) {
    let _ = sock
        .write_all(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\nConnection: close\r\n\r\n")
        .await;
}

async fn write_event(sock: &mut TcpStream, data: &str) -> bool {
    sock.write_all(format!("data: {data}\n\n").as_bytes())
        .await
        .is_ok()
        && sock.flush().await.is_ok()
}

/// One streamed chunk with a text delta.
pub fn text_chunk(text: &str) -> Value {
    chunk(json!({"content": text}), None)
}

/// One streamed chunk with tool-call deltas.
pub fn tool_chunk(deltas: Value) -> Value {
    chunk(json!({"tool_calls": deltas}), None)
}

/// The chunk that ends a choice.
pub fn finish_chunk(reason: &str) -> Value {
    chunk(json!({}), Some(reason))
}

/// The final usage-only chunk (stream_options.include_usage).
pub fn usage_chunk(prompt: u32, completion: u32) -> Value {
    json!({
        "id": "chatcmpl-test", "object": "chat.completion.chunk", "created": 1, "model": "scripted",
        "choices": [],
        "usage": {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}
    })
}

fn chunk(delta: Value, finish: Option<&str>) -> Value {
    json!({
        "id": "chatcmpl-test", "object": "chat.completion.chunk", "created": 1, "model": "scripted",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]
    })
}
