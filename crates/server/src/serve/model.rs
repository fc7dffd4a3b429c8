//! `GET /v1/model`: the shared model, exactly as the browser's `loadModel(url)` reads it (the
//! core's `SharedModel` JSON, nothing added: the client refuses unknown fields). Its version
//! is in the body; its build time is `Last-Modified` (the body's `built_epoch` is the day).
//!
//! Served from bytes compressed once per build (brotli, gzip, or identity by
//! `Accept-Encoding`), with a strong `ETag`; `If-None-Match` gets 304. The client fetches
//! with `cache: "no-cache"` and sends its ETag, so a day without a new model costs a 304.
//! `Cache-Control: public, max-age=300` lets a CDN or proxy in front absorb the traffic for
//! five minutes at most.

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use super::{ApiError, SharedState};
use crate::time::http_date;

const CACHE_CONTROL: &str = "public, max-age=300";

/// Whether `If-None-Match` names this ETag (or `*`). Weak comparison, as RFC 9110 asks for
/// `If-None-Match`: `W/"x"` matches `"x"`.
fn matches(if_none_match: &str, etag: &str) -> bool {
    if_none_match
        .split(',')
        .map(str::trim)
        .any(|tag| tag == "*" || tag.strip_prefix("W/").unwrap_or(tag) == etag)
}

/// The preferred encoding the client accepts: `br`, then `gzip`, else identity.
pub(crate) fn preferred_encoding(accept: &str) -> Option<&'static str> {
    let accepted = |name: &str| {
        accept.split(',').any(|part| {
            let mut it = part.split(';');
            let coding = it.next().unwrap_or("").trim();
            let q = it
                .find_map(|p| p.trim().strip_prefix("q="))
                .and_then(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            (coding.eq_ignore_ascii_case(name) || coding == "*") && q > 0.0
        })
    };
    ["br", "gzip"].into_iter().find(|n| accepted(n))
}

pub async fn get_model(State(state): State<SharedState>, headers: HeaderMap) -> Response {
    let Some(current) = state.current() else {
        return ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "model-not-ready",
            "no model has been built yet; retry shortly",
        )
        .retry_after(10)
        .into_response();
    };
    let p = &current.published;
    let etag = HeaderValue::from_str(&p.etag).unwrap_or(HeaderValue::from_static("\"0\""));
    let last_modified =
        HeaderValue::from_str(&http_date(p.built_at_ms)).unwrap_or(HeaderValue::from_static(""));
    let common = [
        (header::ETAG, etag),
        (
            header::CACHE_CONTROL,
            HeaderValue::from_static(CACHE_CONTROL),
        ),
        (header::VARY, HeaderValue::from_static("accept-encoding")),
        (header::LAST_MODIFIED, last_modified),
    ];
    let inm = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok());
    if inm.is_some_and(|v| matches(v, &p.etag)) {
        return (StatusCode::NOT_MODIFIED, common).into_response();
    }
    let accept = headers
        .get(header::ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let (encoding, body) = match preferred_encoding(accept) {
        Some("br") => (Some("br"), p.br.clone()),
        Some(_) => (Some("gzip"), p.gzip.clone()),
        None => (None, p.json.clone()),
    };
    let mut res = (
        StatusCode::OK,
        common,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response();
    if let Some(e) = encoding {
        res.headers_mut()
            .insert(header::CONTENT_ENCODING, HeaderValue::from_static(e));
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodings_are_negotiated() {
        assert_eq!(preferred_encoding("gzip, deflate, br, zstd"), Some("br"));
        assert_eq!(preferred_encoding("gzip"), Some("gzip"));
        assert_eq!(preferred_encoding("br;q=0, gzip;q=0.5"), Some("gzip"));
        assert_eq!(preferred_encoding("*"), Some("br"));
        assert_eq!(preferred_encoding("identity"), None);
        assert_eq!(preferred_encoding(""), None);
    }

    #[test]
    fn if_none_match_lists_and_weak_tags() {
        assert!(matches("\"3-ab\"", "\"3-ab\""));
        assert!(matches("\"1-x\", W/\"3-ab\"", "\"3-ab\""));
        assert!(matches("*", "\"3-ab\""));
        assert!(!matches("\"2-ab\"", "\"3-ab\""));
    }
}
