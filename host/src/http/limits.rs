//! What a request may be before anything reads it: a URI, headers and a
//! declared body of bounded size, and a request id safe to echo, queue and
//! log. Refusals are `ApiError`s, so they get the envelope like any error.
//!
//! hyper has limits of its own further out (a 64 KiB URI, 100 headers,
//! ~400 KiB of head): past those, or for a request line or header it cannot
//! parse, it answers with a bare status and closes, as the connection can
//! no longer be trusted to carry a response the client would read.

use super::MAX_BODY_BYTES;
use super::error::{ApiError, Code};
use axum::extract::Request;
use axum::http::{HeaderName, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// Longest URI (path and query) served.
pub const MAX_URI_BYTES: usize = 8 * 1024;
/// Most header bytes (names and values) in one request.
pub const MAX_HEADER_BYTES: usize = 16 * 1024;
/// Longest `x-request-id` kept; longer (or unsafe) ones are replaced.
pub const MAX_REQUEST_ID_CHARS: usize = 128;

/// Whether a client's request id can be echoed, queued and logged as is:
/// short, and only characters that need no escaping anywhere.
pub fn is_safe_request_id(id: &[u8]) -> bool {
    !id.is_empty()
        && id.len() <= MAX_REQUEST_ID_CHARS
        && id
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:/+=@".contains(b))
}

/// Drops an unsafe `x-request-id`, so that a fresh one is made instead.
pub async fn sanitize_request_id(
    header_name: HeaderName,
    mut request: Request,
    next: Next,
) -> Response {
    let unsafe_ids = request.headers().get_all(&header_name).iter().count() > 1
        || request
            .headers()
            .get(&header_name)
            .is_some_and(|v| !is_safe_request_id(v.as_bytes()));
    if unsafe_ids {
        request.headers_mut().remove(&header_name);
    }
    next.run(request).await
}

/// Refuses a request whose URI, headers or declared body are too large,
/// before its body is read (so `Expect: 100-continue` gets no `100`).
pub async fn check_request_size(request: Request, next: Next) -> Response {
    if let Err(e) = request_size(&request) {
        return e.into_response();
    }
    next.run(request).await
}

fn request_size(request: &Request) -> Result<(), ApiError> {
    let uri_bytes = request
        .uri()
        .path_and_query()
        .map_or(0, |p| p.as_str().len());
    if uri_bytes > MAX_URI_BYTES {
        return Err(ApiError::bad_request(
            Code::UriTooLong,
            format!("The URI is {uri_bytes} bytes; at most {MAX_URI_BYTES} are served"),
        ));
    }
    let header_bytes: usize = request
        .headers()
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len())
        .sum();
    if header_bytes > MAX_HEADER_BYTES {
        return Err(ApiError::bad_request(
            Code::HeadersTooLarge,
            format!("The headers are {header_bytes} bytes; at most {MAX_HEADER_BYTES} are read"),
        ));
    }
    if let Some(length) = request.headers().get(header::CONTENT_LENGTH) {
        let declared = length.to_str().ok().and_then(|v| v.parse::<u64>().ok());
        match declared {
            Some(n) if n > MAX_BODY_BYTES as u64 => {
                return Err(ApiError::bad_request(
                    Code::PayloadTooLarge,
                    format!("The body is {n} bytes; the limit is 1 MiB ({MAX_BODY_BYTES} bytes)"),
                ));
            }
            Some(_) => {}
            None => {
                return Err(ApiError::bad_request(
                    Code::BadRequest,
                    "Content-Length is not a number of bytes",
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_are_kept_only_when_short_and_plain() {
        assert!(is_safe_request_id(b"3f2b8c1e-9d4a-4b7e-8f00-1a2b3c4d5e6f"));
        assert!(is_safe_request_id(b"client:job/42@host"));
        assert!(is_safe_request_id(&[b'a'; MAX_REQUEST_ID_CHARS]));
        assert!(!is_safe_request_id(&[b'a'; MAX_REQUEST_ID_CHARS + 1]));
        assert!(!is_safe_request_id(b""));
        assert!(!is_safe_request_id(b"with space"));
        assert!(!is_safe_request_id(b"line\nbreak"));
        assert!(!is_safe_request_id("caf\u{e9}".as_bytes()));
        assert!(!is_safe_request_id(b"<script>"));
    }

    fn request(uri: &str, headers: &[(&str, &str)]) -> Request {
        let mut builder = Request::builder().uri(uri);
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        builder.body(axum::body::Body::empty()).unwrap()
    }

    fn code(r: Result<(), ApiError>) -> Option<&'static str> {
        r.err().map(|e| e.code().as_str())
    }

    #[test]
    fn sizes_are_checked_before_the_body() {
        assert_eq!(code(request_size(&request("/health", &[]))), None);
        let long = format!("/workouts/history?userId={}", "a".repeat(MAX_URI_BYTES));
        assert_eq!(
            code(request_size(&request(&long, &[]))),
            Some("uri_too_long")
        );
        let big = "b".repeat(MAX_HEADER_BYTES);
        assert_eq!(
            code(request_size(&request("/", &[("x-big", &big)]))),
            Some("headers_too_large")
        );
        let at_limit = MAX_BODY_BYTES.to_string();
        assert_eq!(
            code(request_size(&request(
                "/",
                &[("content-length", &at_limit)]
            ))),
            None
        );
        let over = (MAX_BODY_BYTES + 1).to_string();
        assert_eq!(
            code(request_size(&request("/", &[("content-length", &over)]))),
            Some("payload_too_large")
        );
        assert_eq!(
            code(request_size(&request(
                "/",
                &[("content-length", "10000000000")]
            ))),
            Some("payload_too_large")
        );
        assert_eq!(
            code(request_size(&request("/", &[("content-length", "ten")]))),
            Some("bad_request")
        );
    }
}
