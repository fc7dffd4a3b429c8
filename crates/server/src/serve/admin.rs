//! The shop owner's routes: `GET /dashboard` (and its assets), `GET /v1/stats`,
//! `POST /v1/admin/rebuild` and `GET /metrics`, all behind the admin token.
//!
//! Authentication: HTTP Basic with the token as password (any user name), so a browser asks
//! for it once and sends it with the dashboard's own requests, or `Authorization: Bearer
//! <token>` for scripts. The comparison hashes both sides with BLAKE3 and compares the
//! digests (constant time, and independent of the token's length). Without a configured
//! token these routes answer 403: there is no default password.
//!
//! Requests that a browser marks as coming from another site (`Sec-Fetch-Site: cross-site`
//! or `same-site`) are refused, so a page elsewhere cannot ride on the browser's remembered
//! password (CSRF) to trigger a rebuild.
//!
//! The dashboard (HTML, JS, CSS in `crates/server/dashboard/`) and Chart.js (from npm, see
//! `build.rs`) are compiled into the binary.

use axum::extract::{Path, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine;

use super::{rebuild, stats, ApiError, SharedState};

const INDEX_HTML: &str = include_str!("../../dashboard/index.html");
const DASHBOARD_JS: &str = include_str!("../../dashboard/dashboard.js");
const DASHBOARD_CSS: &str = include_str!("../../dashboard/dashboard.css");
const CHART_JS: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/chart.umd.min.js"));

/// Only what the page itself loads; charts draw on canvas, so no inline anything.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; \
                   img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

pub fn routes(state: SharedState) -> Router<SharedState> {
    Router::new()
        .route("/dashboard", get(dashboard))
        .route("/dashboard/{file}", get(asset))
        .route("/v1/stats", get(get_stats))
        .route("/v1/admin/rebuild", post(post_rebuild))
        .route("/metrics", get(super::metrics))
        .route_layer(middleware::from_fn_with_state(state, require_admin))
}

/// The token a request presents: Basic password or Bearer token.
fn presented_token(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, rest) = value.split_once(' ')?;
    if scheme.eq_ignore_ascii_case("bearer") {
        return Some(rest.trim().to_owned());
    }
    if scheme.eq_ignore_ascii_case("basic") {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(rest.trim())
            .ok()?;
        let text = String::from_utf8(decoded).ok()?;
        return text
            .split_once(':')
            .map(|(_, password)| password.to_owned());
    }
    None
}

/// Constant-time equality of the token with what the request presents.
fn token_matches(expected: &str, presented: &str) -> bool {
    // blake3::Hash's `==` is constant time.
    blake3::hash(expected.as_bytes()) == blake3::hash(presented.as_bytes())
}

async fn require_admin(State(state): State<SharedState>, req: Request, next: Next) -> Response {
    let Some(token) = state.settings.admin_token.as_deref() else {
        return ApiError::new(
            StatusCode::FORBIDDEN,
            "admin-disabled",
            "no admin token is configured: start kindred with KINDRED_ADMIN_TOKEN set",
        )
        .into_response();
    };
    let site = req
        .headers()
        .get("sec-fetch-site")
        .and_then(|v| v.to_str().ok());
    if matches!(site, Some("cross-site" | "same-site")) {
        return ApiError::new(
            StatusCode::FORBIDDEN,
            "cross-site",
            "admin routes only answer pages of this server",
        )
        .into_response();
    }
    match presented_token(req.headers()) {
        Some(given) if token_matches(token, &given) => next.run(req).await,
        presented => {
            let mut e = ApiError::new(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                if presented.is_some() {
                    "wrong admin token"
                } else {
                    "the admin token is required (HTTP Basic password or Bearer token)"
                },
            );
            e.authenticate = true;
            e.into_response()
        }
    }
}

fn private(content_type: &'static str) -> [(header::HeaderName, HeaderValue); 2] {
    [
        (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
        (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
    ]
}

async fn dashboard() -> Response {
    (
        private("text/html; charset=utf-8"),
        [
            (header::CONTENT_SECURITY_POLICY, CSP),
            (header::X_FRAME_OPTIONS, "DENY"),
        ],
        INDEX_HTML,
    )
        .into_response()
}

async fn asset(Path(file): Path<String>) -> Response {
    match file.as_str() {
        "dashboard.js" => (private("text/javascript; charset=utf-8"), DASHBOARD_JS).into_response(),
        "dashboard.css" => (private("text/css; charset=utf-8"), DASHBOARD_CSS).into_response(),
        "chart.umd.min.js" if !CHART_JS.is_empty() => {
            (private("text/javascript; charset=utf-8"), CHART_JS).into_response()
        }
        _ => ApiError::from_status(StatusCode::NOT_FOUND).into_response(),
    }
}

async fn get_stats(State(state): State<SharedState>) -> Response {
    (private("application/json"), Json(stats::collect(&state))).into_response()
}

async fn post_rebuild(State(state): State<SharedState>) -> Response {
    match rebuild(&state).await {
        Ok(summary) => (private("application/json"), Json(summary)).into_response(),
        Err(e) => {
            ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "rebuild-failed", e).into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_come_from_basic_or_bearer() {
        let mut h = HeaderMap::new();
        assert_eq!(presented_token(&h), None);
        let basic = base64::engine::general_purpose::STANDARD.encode("admin:s3cret:with:colons");
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_str(&format!("Basic {basic}")).expect("header"),
        );
        assert_eq!(presented_token(&h).as_deref(), Some("s3cret:with:colons"));
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer abc"),
        );
        assert_eq!(presented_token(&h).as_deref(), Some("abc"));
        assert!(token_matches("abc", "abc"));
        assert!(!token_matches("abc", "abcd"));
    }
}
