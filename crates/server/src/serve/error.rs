//! JSON errors: every error response, on every route, is `{"error": code, "detail": text}`
//! with a stable machine-readable `code` and a sentence for humans.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::ingest::Rejection;

/// An error answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub detail: String,
    /// Seconds, for 429 and 503.
    pub retry_after: Option<u64>,
    /// 401: ask the browser for the admin password.
    pub authenticate: bool,
}

#[derive(Serialize)]
struct Body<'a> {
    error: &'a str,
    detail: &'a str,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, detail: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            detail: detail.into(),
            retry_after: None,
            authenticate: false,
        }
    }

    pub fn retry_after(mut self, seconds: u64) -> Self {
        self.retry_after = Some(seconds);
        self
    }

    pub fn shutting_down() -> Self {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "shutting-down",
            "the server is shutting down; retry later",
        )
        .retry_after(30)
    }

    /// The generic error of a status without a more specific one (404 of a static file, 405
    /// from routing, 500 from a panic).
    pub fn from_status(status: StatusCode) -> Self {
        let code = match status {
            StatusCode::NOT_FOUND => "not-found",
            StatusCode::METHOD_NOT_ALLOWED => "method-not-allowed",
            StatusCode::PAYLOAD_TOO_LARGE => "payload-too-large",
            StatusCode::REQUEST_TIMEOUT => "request-timeout",
            StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported-media-type",
            StatusCode::INTERNAL_SERVER_ERROR => "internal-error",
            s if s.is_client_error() => "bad-request",
            _ => "unavailable",
        };
        let detail = match status {
            StatusCode::NOT_FOUND => "no such route or file".to_owned(),
            StatusCode::METHOD_NOT_ALLOWED => "this route does not take that method".to_owned(),
            StatusCode::INTERNAL_SERVER_ERROR => {
                "the server hit a bug; nothing was stored for this request".to_owned()
            }
            s => s.canonical_reason().unwrap_or("error").to_lowercase(),
        };
        ApiError::new(status, code, detail)
    }
}

impl From<Rejection> for ApiError {
    fn from(r: Rejection) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, r.code, r.detail)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::to_string(&Body {
            error: self.code,
            detail: &self.detail,
        })
        .unwrap_or_default();
        let mut res = (
            self.status,
            [
                (
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                ),
                (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
            ],
            body,
        )
            .into_response();
        if let Some(s) = self.retry_after {
            res.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(s));
        }
        if self.authenticate {
            res.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"kindred admin\", charset=\"UTF-8\""),
            );
        }
        res
    }
}
