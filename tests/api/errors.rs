use crate::helpers::*;
use serde_json::Value;

per_store!(
    framework_failures_use_the_envelope,
    request_id_is_echoed_and_generated,
    openapi_and_docs_are_served,
);

async fn framework_failures_use_the_envelope() {
    let app = spawn_app().await;
    // Unknown route.
    let (status, body) = app.get_json("/nope").await;
    assert_eq!(status, 404);
    assert_envelope(&body, 404, "/nope");
    // Wrong method.
    let r = app
        .client
        .delete(format!("{}/workouts", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 405);
    assert!(r.headers().contains_key("x-request-id"));
    assert_envelope(&r.json::<Value>().await.unwrap(), 405, "/workouts");
    // Malformed JSON.
    let r = app
        .client
        .post(format!("{}/workouts", app.address))
        .header("content-type", "application/json")
        .body("{")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let body: Value = r.json().await.unwrap();
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .starts_with("Malformed JSON"),
        "{body}"
    );
    // Wrong content type.
    let r = app
        .client
        .post(format!("{}/workouts", app.address))
        .header("content-type", "text/plain")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 415);
    assert_envelope(&r.json::<Value>().await.unwrap(), 415, "/workouts");
    // Body over 1 MiB.
    let big = format!(
        "{{\"userId\":\"{}\",\"pad\":\"{}\"}}",
        USER,
        "x".repeat(1_100_000)
    );
    let r = app
        .client
        .post(format!("{}/workouts", app.address))
        .header("content-type", "application/json")
        .body(big)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
    assert_envelope(&r.json::<Value>().await.unwrap(), 413, "/workouts");
    // Unknown query parameter.
    let (status, body) = app
        .get_json(&format!("/workouts/history?userId={USER}&exercice=x"))
        .await;
    assert_eq!(status, 400);
    assert_envelope(&body, 400, "/workouts/history");
}

async fn request_id_is_echoed_and_generated() {
    let app = spawn_app().await;
    let r = app
        .client
        .get(format!("{}/health", app.address))
        .header("x-request-id", "abc-123")
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["x-request-id"], "abc-123");
    let r = app.get("/health").await;
    assert!(!r.headers()["x-request-id"].is_empty());
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["status"], "ok");
    assert_eq!(body["info"]["store"]["status"], "up");
    assert!(body["info"]["queue"].is_object() && body["info"]["plugins"].is_object());
}

async fn openapi_and_docs_are_served() {
    let app = spawn_app().await;
    let (status, doc) = app.get_json("/openapi.json").await;
    assert_eq!(status, 200);
    for path in [
        "/workouts",
        "/workouts/{id}",
        "/workouts/history",
        "/workouts/exercises",
        "/workouts/export",
        "/workouts/prs",
        "/health",
    ] {
        assert!(doc["paths"][path].is_object(), "{path} missing");
    }
    let r = app.get("/docs/").await;
    assert_eq!(r.status(), 200);
    let html = r.text().await.unwrap();
    assert!(!html.contains("cdn"), "docs must work offline");
}
