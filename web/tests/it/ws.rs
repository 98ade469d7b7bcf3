//! `/ws/chat` over a real socket: a turn's events, resuming after a
//! reconnect without losing events, roles, and refused handshakes.

use std::time::Duration;

use aima_runtime::store::testing::with_sqlite;
use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::support::TestApp;

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn connect(addr: &str, key: &str, origin: Option<&str>) -> Result<Socket, u16> {
    let mut request = format!("ws://{addr}/ws/chat")
        .into_client_request()
        .unwrap();
    request
        .headers_mut()
        .insert("Authorization", format!("Bearer {key}").parse().unwrap());
    if let Some(o) = origin {
        request.headers_mut().insert("Origin", o.parse().unwrap());
    }
    match tokio_tungstenite::connect_async(request).await {
        Ok((socket, _)) => Ok(socket),
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            Err(response.status().as_u16())
        }
        Err(e) => panic!("{e}"),
    }
}

/// The next JSON frame (a generous bound turns a hang into a failure).
async fn next(socket: &mut Socket) -> Value {
    loop {
        let frame = tokio::time::timeout(Duration::from_secs(60), socket.next())
            .await
            .expect("a frame within 60 s")
            .expect("open")
            .expect("frame");
        if let Message::Text(text) = frame {
            return serde_json::from_str(&text).unwrap();
        }
    }
}

/// Frames up to and including the turn's last event.
async fn turn(socket: &mut Socket) -> Vec<Value> {
    let mut events = Vec::new();
    loop {
        let event = next(socket).await;
        let end = matches!(
            event["type"].as_str(),
            Some("final" | "error" | "interrupt")
        );
        events.push(event);
        if end {
            return events;
        }
    }
}

async fn send(socket: &mut Socket, command: Value) {
    socket
        .send(Message::Text(command.to_string().into()))
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chats_stream_resume_after_a_reconnect_and_refuse_what_they_must() {
    with_sqlite(|ctx| async move {
        let app = TestApp::start(ctx.store.clone()).await;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(aima_web::serve(listener, app.app.clone(), async {
            let _ = stopped.await;
        }));

        let mut socket = connect(&addr, &app.a.viewer, None).await.unwrap();
        send(
            &mut socket,
            json!({"type": "ask", "message": "How many customers do we have?"}),
        )
        .await;
        let events = turn(&mut socket).await;
        assert_eq!(events.last().unwrap()["type"], "final", "{events:?}");
        let seqs: Vec<u64> = events.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
        assert_eq!(seqs, (1..=events.len() as u64).collect::<Vec<_>>());
        let thread = events[0]["thread_id"].as_str().unwrap().to_owned();
        assert!(
            events
                .iter()
                .any(|e| e["type"] == "tool_result" && e["result"]["count"] == 5)
        );
        drop(socket);

        // Reconnect having seen only the first two events: the rest come
        // again, in order, none lost.
        let mut socket = connect(&addr, &app.a.viewer, None).await.unwrap();
        send(
            &mut socket,
            json!({"type": "resume", "thread_id": thread, "after_seq": 2}),
        )
        .await;
        let replayed = turn(&mut socket).await;
        assert_eq!(replayed, events[2..].to_vec());
        // A follow-up continues the thread's numbering.
        send(
            &mut socket,
            json!({"type": "ask", "message": "and how many orders?", "thread_id": thread}),
        )
        .await;
        let follow = turn(&mut socket).await;
        assert_eq!(follow[0]["seq"].as_u64().unwrap(), events.len() as u64 + 1);
        // Refusals come back in the API's error shape, with the ref.
        send(
            &mut socket,
            json!({"type": "approve", "thread_id": thread, "ref": 7}),
        )
        .await;
        let refused = next(&mut socket).await;
        assert_eq!(refused["error"]["code"], "forbidden", "{refused}");
        assert_eq!(refused["ref"], 7);
        send(&mut socket, json!({"type": "dance"})).await;
        assert_eq!(next(&mut socket).await["error"]["code"], "invalid_argument");
        send(
            &mut socket,
            json!({"type": "ask", "message": "hi", "thread_id": uuid::Uuid::now_v7()}),
        )
        .await;
        assert_eq!(next(&mut socket).await["error"]["code"], "not_found");
        drop(socket);
        // Another organization cannot resume the thread.
        let mut other = connect(&addr, &app.b.admin, None).await.unwrap();
        send(
            &mut other,
            json!({"type": "resume", "thread_id": thread, "after_seq": 0}),
        )
        .await;
        assert_eq!(next(&mut other).await["error"]["code"], "not_found");
        drop(other);
        // Handshakes refused: no key, another site's Origin.
        assert_eq!(connect(&addr, "aima_nope", None).await.err(), Some(401));
        assert_eq!(
            connect(&addr, &app.a.viewer, Some("https://evil.example"))
                .await
                .err(),
            Some(400)
        );
        assert!(
            connect(&addr, &app.a.viewer, Some(&format!("http://{addr}")))
                .await
                .is_ok()
        );

        let _ = stop.send(());
        server.await.unwrap().unwrap();
        app.shutdown().await;
    })
    .await;
}
