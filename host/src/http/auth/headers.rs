//! Browser-facing headers: CORS (`CORS_ORIGINS`) and the security headers
//! every response carries.

use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::Response;
use std::time::Duration;
use tower_http::cors::{AllowOrigin, CorsLayer};

/// Which origins may call the API from a browser.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CorsOrigins {
    Any,
    List(Vec<HeaderValue>),
}

impl CorsOrigins {
    /// Reads `*` or a comma-separated list of origins (`https://app.example.com`).
    pub fn parse(raw: &str) -> Result<Self, String> {
        let items: Vec<&str> = raw
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect();
        if items == ["*"] {
            return Ok(CorsOrigins::Any);
        }
        if items.is_empty() || items.contains(&"*") {
            return Err("must be `*` alone or a comma-separated list of origins".into());
        }
        items
            .iter()
            .map(|origin| {
                let (scheme, rest) = origin.split_once("://").unwrap_or(("", ""));
                let well_formed = matches!(scheme, "http" | "https")
                    && !rest.is_empty()
                    && !rest.contains('/')
                    && rest.bytes().all(|b| b.is_ascii_graphic());
                if well_formed {
                    HeaderValue::from_str(origin).map_err(|e| e.to_string())
                } else {
                    Err(format!(
                        "{origin:?} is not an origin (scheme://host[:port], no path)"
                    ))
                }
            })
            .collect::<Result<_, _>>()
            .map(CorsOrigins::List)
    }
}

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Preflights answered, `Authorization` allowed, the headers clients read
/// (request id, retry delay, PR source) exposed.
pub fn cors_layer(origins: &CorsOrigins) -> CorsLayer {
    let allow = match origins {
        CorsOrigins::Any => AllowOrigin::any(),
        CorsOrigins::List(list) => AllowOrigin::list(list.clone()),
    };
    CorsLayer::new()
        .allow_origin(allow)
        .allow_methods([
            Method::GET,
            Method::POST,
            Method::PUT,
            Method::PATCH,
            Method::DELETE,
        ])
        .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE, REQUEST_ID])
        .expose_headers([
            REQUEST_ID,
            header::RETRY_AFTER,
            header::WWW_AUTHENTICATE,
            HeaderName::from_static(crate::http::prs::PR_SOURCE_HEADER),
        ])
        .max_age(Duration::from_secs(3600))
}

/// What the bundled Swagger UI needs and nothing more: its own scripts and
/// styles (it sets inline styles), its inline SVG/PNG icons, and requests
/// to this origin ("Try it out", the OpenAPI document).
pub const DOCS_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
     img-src 'self' data:; font-src 'self' data:; connect-src 'self'; base-uri 'none'; \
     form-action 'none'; frame-ancestors 'none'";

/// The client page (`/app`): its own script and stylesheet only (no inline
/// script or style), API calls to this origin, and images from itself or
/// from the blob: URLs it makes of the charts it fetched with the key.
pub const APP_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self' blob:; connect-src 'self'; base-uri 'none'; form-action 'none'; \
     frame-ancestors 'none'";

/// Data responses are never rendered as pages (an SVG chart opened directly
/// runs nothing) nor framed.
pub const DATA_CSP: &str = "default-src 'none'; frame-ancestors 'none'";

fn is_docs(path: &str) -> bool {
    path == "/docs" || path.starts_with("/docs/")
}

fn is_app(path: &str) -> bool {
    path == "/app" || path.starts_with("/app/")
}

/// Which policy a response gets, by its path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Page {
    Docs,
    App,
    Data,
}

impl Page {
    fn of(path: &str) -> Self {
        if is_docs(path) {
            Page::Docs
        } else if is_app(path) {
            Page::App
        } else {
            Page::Data
        }
    }
}

/// `nosniff` and no referrer everywhere; the docs get the CSP Swagger UI
/// needs, the client page its own; everything else (data, errors) a closed
/// CSP and `no-store`, since it may be a client's health data.
pub async fn security_headers(request: Request, next: Next) -> Response {
    let page = Page::of(request.uri().path());
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    match page {
        Page::Docs => {
            headers.insert(
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(DOCS_CSP),
            );
        }
        Page::App => {
            headers.insert(
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(APP_CSP),
            );
            // Revalidated on every load, so the page and its script never
            // come from two different versions of the binary.
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        }
        Page::Data => {
            headers.insert(
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(DATA_CSP),
            );
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        }
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_any_or_a_list_of_origins() {
        assert_eq!(CorsOrigins::parse("*"), Ok(CorsOrigins::Any));
        assert_eq!(CorsOrigins::parse(" * "), Ok(CorsOrigins::Any));
        assert_eq!(
            CorsOrigins::parse("https://a.example.com, http://localhost:5173"),
            Ok(CorsOrigins::List(vec![
                HeaderValue::from_static("https://a.example.com"),
                HeaderValue::from_static("http://localhost:5173"),
            ]))
        );
        for bad in [
            "",
            "*,https://a.example.com",
            "a.example.com",
            "https://a.example.com/",
            "ftp://a.example.com",
            "https://",
        ] {
            assert!(CorsOrigins::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_docs_and_the_client_page_are_told_apart_from_data() {
        assert!(is_docs("/docs") && is_docs("/docs/") && is_docs("/docs/swagger-ui.css"));
        assert!(!is_docs("/docsx") && !is_docs("/workouts") && !is_docs("/openapi.json"));
        assert_eq!(Page::of("/app"), Page::App);
        assert_eq!(Page::of("/app/app.js"), Page::App);
        assert_eq!(Page::of("/docs/"), Page::Docs);
        for data in [
            "/apps",
            "/application",
            "/workouts/history",
            "/insights/app",
        ] {
            assert_eq!(Page::of(data), Page::Data, "{data}");
        }
    }
}
