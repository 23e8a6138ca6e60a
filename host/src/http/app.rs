//! The client page (`/app`): a small HTML/CSS/JS client of this API for
//! coaches who self-host, compiled into the binary so it needs no CDN, no
//! build step and no files beside the executable.
//!
//! The routes are public like `/docs`: the page holds no data, and every
//! data call it makes goes through the protected API with the key the user
//! pastes. Its Content-Security-Policy is set by `auth::headers`.

use axum::Router;
use axum::http::{HeaderValue, Uri, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;

const INDEX_HTML: &str = include_str!("../../app/index.html");
const APP_JS: &str = include_str!("../../app/app.js");
const APP_CSS: &str = include_str!("../../app/app.css");
const ICON_SVG: &str = include_str!("../../app/icon.svg");

/// The page's routes; merged outside the authentication layer.
pub fn routes<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route(
            "/app",
            get(|| asset(INDEX_HTML, "text/html; charset=utf-8")),
        )
        // The page links its assets by absolute path, so the slash form
        // just points back to the one address.
        .route("/app/", get(to_page))
        .route(
            "/app/app.js",
            get(|| asset(APP_JS, "text/javascript; charset=utf-8")),
        )
        .route(
            "/app/app.css",
            get(|| asset(APP_CSS, "text/css; charset=utf-8")),
        )
        .route("/app/icon.svg", get(|| asset(ICON_SVG, "image/svg+xml")))
}

async fn to_page(uri: Uri) -> Redirect {
    match uri.query() {
        Some(query) => Redirect::permanent(&format!("/app?{query}")),
        None => Redirect::permanent("/app"),
    }
}

async fn asset(body: &'static str, content_type: &'static str) -> Response {
    (
        [(header::CONTENT_TYPE, HeaderValue::from_static(content_type))],
        body,
    )
        .into_response()
}
