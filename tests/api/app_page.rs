//! The client page (`/app`): served from the binary, public even when the
//! API is protected, under its own strict Content-Security-Policy, and
//! outside the OpenAPI document (like `/docs`).

use crate::auth::protected_app;
use crate::helpers::*;
use reqwest::header::{CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, LOCATION};

const APP_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self' blob:; connect-src 'self'; base-uri 'none'; form-action 'none'; \
     frame-ancestors 'none'";

#[tokio::test]
async fn the_page_and_its_assets_are_public_under_their_own_policy() {
    let app = protected_app().await;
    // Protection is on: the data the page reads needs a key...
    let r = app.get(&format!("/workouts/prs?userId={USER}")).await;
    assert_eq!(r.status(), 401);

    // ...but the page and its assets do not.
    for (path, content_type, marker) in [
        (
            "/app",
            "text/html; charset=utf-8",
            "<title>Everfit: client page</title>",
        ),
        (
            "/app/app.js",
            "text/javascript; charset=utf-8",
            "textContent",
        ),
        ("/app/app.css", "text/css; charset=utf-8", "font"),
        ("/app/icon.svg", "image/svg+xml", "<svg"),
    ] {
        let r = app.get(path).await;
        assert_eq!(r.status(), 200, "{path}");
        let headers = r.headers().clone();
        assert_eq!(headers[CONTENT_TYPE], content_type, "{path}");
        assert_eq!(headers[CONTENT_SECURITY_POLICY], APP_CSP, "{path}");
        assert_eq!(headers["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(headers[CACHE_CONTROL], "no-cache", "{path}");
        let body = r.text().await.unwrap();
        assert!(body.contains(marker), "{path}: {marker} missing");
    }

    // A key sent along changes nothing: the page is not behind the layer.
    let r = app
        .client
        .get(format!("{}/app", app.address))
        .bearer_auth("not-a-key")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn the_page_loads_nothing_inline_and_nothing_from_elsewhere() {
    let app = spawn_app().await;
    let html = app.get("/app").await.text().await.unwrap();
    // The CSP forbids inline script and style: the page must not need them.
    assert!(html.contains(r#"<script src="/app/app.js" defer></script>"#));
    assert_eq!(
        html.matches("<script").count(),
        1,
        "one script, from a file"
    );
    assert!(!html.contains("<style") && !html.contains(" style="));
    assert!(
        !has_event_handler_attribute(&html),
        "an inline on...= handler"
    );
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "no CDN"
    );
    // Data is written as text, never parsed as markup.
    let js = app.get("/app/app.js").await.text().await.unwrap();
    for sink in [
        "innerHTML",
        "outerHTML",
        "insertAdjacentHTML",
        "document.write",
        "eval(",
    ] {
        assert!(!js.contains(sink), "app.js uses {sink}");
    }
    assert!(
        !js.contains("http://") && !js.contains("https://"),
        "no other origin"
    );
}

#[tokio::test]
async fn the_slash_form_points_to_the_page_with_its_query() {
    let app = spawn_app().await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let r = client
        .get(format!("{}/app/?userId={USER}", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 308);
    assert_eq!(r.headers()[LOCATION], format!("/app?userId={USER}"));
    // Anything else under /app is an ordinary unknown route.
    let (status, body) = app.get_json("/app/nothing-here").await;
    assert_eq!(status, 404);
    assert_eq!(body["code"], "route_not_found");
}

#[tokio::test]
async fn the_openapi_document_leaves_the_page_out_like_the_docs() {
    let app = spawn_app().await;
    let (status, doc) = app.get_json("/openapi.json").await;
    assert_eq!(status, 200);
    let paths = doc["paths"].as_object().unwrap();
    assert!(paths.contains_key("/workouts/prs"), "the API is documented");
    for path in paths.keys() {
        assert!(
            !path.starts_with("/app") && !path.starts_with("/docs"),
            "{path} is a page, not an API operation"
        );
    }
}

/// Whether the HTML has an ` onsomething=` attribute (inline script).
fn has_event_handler_attribute(html: &str) -> bool {
    html.match_indices(" on").any(|(i, _)| {
        let rest = &html[i + 3..];
        let name_len = rest.bytes().take_while(u8::is_ascii_lowercase).count();
        name_len > 0 && rest[name_len..].starts_with('=')
    })
}

#[test]
fn inline_handlers_are_recognised() {
    assert!(has_event_handler_attribute(r#"<button onclick="x()">"#));
    assert!(!has_event_handler_attribute("<p>kept in this tab only</p>"));
    assert!(!has_event_handler_attribute("<p>on = off</p>"));
}
