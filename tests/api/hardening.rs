//! The HTTP layer under abuse: slow and idle connections, oversized URIs,
//! headers and declared bodies, unsafe request ids, floods of bad fields.
//! Raw sockets where a client library would not send what is tested.

use crate::helpers::*;
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

per_store!(
    a_slow_or_idle_connection_is_closed,
    an_oversized_body_is_refused_before_it_is_read,
    oversized_uris_and_headers_get_the_envelope,
    unsafe_request_ids_are_replaced,
    a_flood_of_bad_fields_gets_a_bounded_answer,
);

fn host_port(app: &TestApp) -> String {
    app.address.trim_start_matches("http://").to_string()
}

/// Reads until the server closes the connection (or `limit` passes: then
/// `None`), returning what it sent.
async fn read_until_closed(stream: &mut TcpStream, limit: Duration) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    let deadline = Instant::now() + limit;
    loop {
        let left = deadline.checked_duration_since(Instant::now())?;
        match tokio::time::timeout(left, stream.read(&mut buf)).await {
            Err(_) => return None,
            Ok(Ok(0)) | Ok(Err(_)) => return Some(out),
            Ok(Ok(n)) => out.extend_from_slice(&buf[..n]),
        }
    }
}

/// The status and JSON body of a raw HTTP/1.1 response.
fn parse_response(raw: &[u8]) -> (u16, Value) {
    let text = String::from_utf8_lossy(raw);
    let status: u16 = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {text:?}"));
    let body = text.split("\r\n\r\n").nth(1).unwrap_or("");
    // Chunked or not, the JSON object is between the outer braces.
    let json = match (body.find('{'), body.rfind('}')) {
        (Some(a), Some(b)) => serde_json::from_str(&body[a..=b]).unwrap_or(Value::Null),
        _ => Value::Null,
    };
    (status, json)
}

async fn a_slow_or_idle_connection_is_closed() {
    let app = spawn_app_with(|c| c.header_read_timeout = Duration::from_secs(1)).await;
    // Headers trickled in and never finished (slowloris).
    let mut slow = TcpStream::connect(host_port(&app)).await.unwrap();
    slow.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let started = Instant::now();
    let answer = read_until_closed(&mut slow, Duration::from_secs(15)).await;
    assert!(answer.is_some(), "a half-sent request is never cut");
    assert!(started.elapsed() >= Duration::from_millis(900));
    // A keep-alive connection that served a request, then sits idle.
    let mut idle = TcpStream::connect(host_port(&app)).await.unwrap();
    idle.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let answer = read_until_closed(&mut idle, Duration::from_secs(15))
        .await
        .expect("an idle keep-alive connection is never closed");
    let (status, _) = parse_response(&answer);
    assert_eq!(status, 200, "the request was served before the idle close");
    // A connection that sends nothing at all.
    let mut silent = TcpStream::connect(host_port(&app)).await.unwrap();
    assert!(
        read_until_closed(&mut silent, Duration::from_secs(15))
            .await
            .is_some(),
        "a silent connection is never closed"
    );
    // The server still serves.
    assert_eq!(app.get("/health").await.status(), 200);
    app.stop().await;
}

async fn an_oversized_body_is_refused_before_it_is_read() {
    let app = spawn_app().await;
    for length in ["10000000000", "1048577"] {
        let mut stream = TcpStream::connect(host_port(&app)).await.unwrap();
        let head = format!(
            "POST /workouts HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
             Content-Length: {length}\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n"
        );
        stream.write_all(head.as_bytes()).await.unwrap();
        // No body is sent: the answer must not wait for one.
        let raw = read_until_closed(&mut stream, Duration::from_secs(10))
            .await
            .expect("the server waited for the body");
        let text = String::from_utf8_lossy(&raw);
        assert!(!text.contains("100 Continue"), "{text}");
        let (status, body) = parse_response(&raw);
        assert_eq!(status, 413, "{text}");
        assert_envelope(&body, 413, "/workouts");
        assert_eq!(body["code"], "payload_too_large");
    }
    // At the limit, a body is still read (and judged on its content).
    let r = app
        .client
        .post(format!("{}/workouts", app.address))
        .header("content-type", "application/json")
        .body(" ".repeat(1024 * 1024))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    app.stop().await;
}

async fn oversized_uris_and_headers_get_the_envelope() {
    let app = spawn_app().await;
    let long = format!(
        "/workouts/history?userId={USER}&exercise={}",
        "a".repeat(9000)
    );
    let (status, body) = app.get_json(&long).await;
    assert_eq!(status, 414);
    assert_eq!(body["code"], "uri_too_long");
    assert_eq!(body["statusCode"], 414);
    let r = app
        .client
        .get(format!("{}/health", app.address))
        .header("x-padding", "p".repeat(20 * 1024))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 431);
    let body: Value = r.json().await.unwrap();
    assert_envelope(&body, 431, "/health");
    assert_eq!(body["code"], "headers_too_large");
    app.stop().await;
}

async fn unsafe_request_ids_are_replaced() {
    let app = spawn_app().await;
    let echoed = |r: &reqwest::Response| r.headers()["x-request-id"].to_str().unwrap().to_string();
    let kept = "client-42:retry/1";
    let r = app
        .client
        .get(format!("{}/health", app.address))
        .header("x-request-id", kept)
        .send()
        .await
        .unwrap();
    assert_eq!(echoed(&r), kept);
    for bad in ["a".repeat(129), "has space".into(), "<b>".into()] {
        let r = app
            .client
            .get(format!("{}/nope", app.address))
            .header("x-request-id", bad.as_str())
            .send()
            .await
            .unwrap();
        let id = echoed(&r);
        assert_ne!(id, bad);
        assert_eq!(id.len(), 36, "a fresh UUID: {id}");
    }
    // Bytes that are not UTF-8, over a raw socket.
    let mut stream = TcpStream::connect(host_port(&app)).await.unwrap();
    stream
        .write_all(b"GET /health HTTP/1.1\r\nHost: x\r\nX-Request-Id: caf\xe9\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let raw = read_until_closed(&mut stream, Duration::from_secs(10))
        .await
        .unwrap();
    let (status, _) = parse_response(&raw);
    assert_eq!(status, 200);
    let text = String::from_utf8_lossy(&raw).to_lowercase();
    let id = text
        .lines()
        .find_map(|l| l.strip_prefix("x-request-id: "))
        .unwrap();
    assert_eq!(id.trim().len(), 36, "{id}");
    app.stop().await;
}

async fn a_flood_of_bad_fields_gets_a_bounded_answer() {
    let app = spawn_app().await;
    // The most entries a batch may have, each with 20 unknown fields with
    // long names: 2,000 problems.
    let entries: Vec<Value> = (0..100)
        .map(|n| {
            let mut e = json!({ "exerciseName": "Squat", "date": "2026-06-01",
                "sets": [ { "reps": 5, "weight": 100, "unit": "kg" } ] });
            for f in 0..20 {
                e[format!("unknown_{n}_{f}_{}", "x".repeat(300))] = json!(1);
            }
            e
        })
        .collect();
    let body = json!({ "userId": USER, "entries": entries });
    let sent = serde_json::to_vec(&body).unwrap().len();
    let r = app.post_workouts(&body).await;
    assert_eq!(r.status(), 400);
    let text = r.text().await.unwrap();
    assert!(
        text.len() < 30_000 && text.len() < sent,
        "{} bytes answered for {sent} sent",
        text.len()
    );
    let body: Value = serde_json::from_str(&text).unwrap();
    let details = body["details"].as_array().unwrap();
    assert_eq!(details.len(), 50);
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("the first 50 of 2000 problems"),
        "{body}"
    );
    assert!(
        details
            .iter()
            .all(|d| d["field"].as_str().unwrap().chars().count() <= 201)
    );
    app.stop().await;
}
