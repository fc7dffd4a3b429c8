//! `POST /v1/reports`.
//!
//! Checks in order, cheapest first: shutting down (503), rate limit (429), content type
//! (415), size (413), then the report itself (400). Only a request that passes all of them is
//! queued for the writer, and it is answered 202 only after its counters are committed.
//! A refused request stores nothing.
//!
//! Cross-origin use is governed by CORS (see `cors_layer`): a report is JSON, which a page on
//! another origin can only send after a successful preflight, and the simple content types a
//! page could send without one (`text/plain`, forms) are refused here with 415.

use std::net::{IpAddr, SocketAddr};
use std::time::Instant;

use axum::body::Body;
use axum::extract::{ConnectInfo, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use http_body_util::{BodyExt, LengthLimitError, Limited};
use serde_json::json;

use super::{ApiError, SharedState};
use crate::ingest::writer::CommitError;
use crate::ingest::{closed_window, parse, MAX_BODY_BYTES};
use crate::time::today;

pub async fn submit(
    State(state): State<SharedState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let started = Instant::now();
    match accept(&state, peer, &headers, body).await {
        Ok(reports) => {
            state
                .metrics
                .ingest_latency
                .observe(started.elapsed().as_secs_f64());
            (
                StatusCode::ACCEPTED,
                [(header::CACHE_CONTROL, "no-store")],
                Json(json!({ "accepted": reports })),
            )
                .into_response()
        }
        Err(e) => {
            state.metrics.rejects.with_label_values(&[e.code]).inc();
            e.into_response()
        }
    }
}

/// The address the rate limiter keys on: the peer, or behind a trusted proxy the last entry
/// of its header (the one the proxy itself appended).
fn client_addr(state: &SharedState, headers: &HeaderMap, peer: SocketAddr) -> IpAddr {
    state
        .settings
        .client_ip_header
        .as_deref()
        .and_then(|name| headers.get(name))
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.rsplit(',').next())
        .and_then(|last| last.trim().parse().ok())
        .unwrap_or_else(|| peer.ip())
}

fn rate_limited(wait: std::time::Duration) -> ApiError {
    ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        "rate-limited",
        "too many reports from this network; retry later",
    )
    .retry_after(wait.as_secs().max(1))
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/json"))
}

fn too_large() -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload-too-large",
        format!("the body is larger than {MAX_BODY_BYTES} bytes"),
    )
}

async fn accept(
    state: &SharedState,
    peer: SocketAddr,
    headers: &HeaderMap,
    body: Body,
) -> Result<u32, ApiError> {
    if state.is_shutting_down() {
        return Err(ApiError::shutting_down());
    }
    let addr = state
        .limiter
        .as_ref()
        .map(|l| (l, client_addr(state, headers, peer)));
    if let Some((limiter, addr)) = addr {
        limiter.check(addr, 1).map_err(rate_limited)?;
    }
    if !is_json(headers) {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported-media-type",
            "reports must be sent with content-type: application/json",
        ));
    }
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_BODY_BYTES as u64) {
        return Err(too_large());
    }
    let bytes = Limited::new(body, MAX_BODY_BYTES)
        .collect()
        .await
        .map_err(|e| {
            if e.downcast_ref::<LengthLimitError>().is_some() {
                too_large()
            } else {
                ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "body-unreadable",
                    format!("the body could not be read: {e}"),
                )
            }
        })?
        .to_bytes();
    let ingestor = &state.ingestor;
    let submission = parse(&bytes, &state.policy, today(), &|p| ingestor.is_released(p))?;
    let reports = submission.reports;
    if let Some((limiter, addr)) = addr {
        if reports > 1 {
            limiter.check(addr, reports - 1).map_err(rate_limited)?;
        }
    }
    let answer = ingestor.submit(submission).map_err(commit_error)?;
    match answer.await {
        Ok(Ok(())) => Ok(reports),
        Ok(Err(e)) => Err(commit_error(e)),
        Err(_) => Err(commit_error(CommitError::Closed)),
    }
}

fn commit_error(e: CommitError) -> ApiError {
    match e {
        CommitError::Released(period) => closed_window(period).into(),
        CommitError::Busy => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "overloaded",
            "too many reports are waiting to be stored; retry later",
        )
        .retry_after(5),
        CommitError::Closed => ApiError::shutting_down(),
        CommitError::Storage(detail) => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "storage-unavailable",
            format!("the report could not be stored ({detail}); nothing was counted, retry later"),
        )
        .retry_after(60),
    }
}
