//! `kindred serve`: the HTTP server (axum on tokio).
//!
//! | route | who | what |
//! |---|---|---|
//! | `POST /v1/reports` | browsers (CORS) | one report or a batch; 202 once durably counted |
//! | `GET /v1/model` | browsers (CORS) | the shared model; ETag, gzip/br, Cache-Control |
//! | `GET /v1/health` | anyone | liveness, model version and age; 503 while shutting down |
//! | `GET /metrics` | admin token | requests, rejects by reason, ingest latency, model age |
//! | `GET /v1/stats`, `GET /dashboard` | admin token | released numbers for the shop owner |
//! | `POST /v1/admin/rebuild` | admin token | release closed windows and rebuild the model now |
//! | anything else | anyone | static files from the static directory (the demo) |
//!
//! Shutdown (SIGTERM or Ctrl-C): report submissions and health answer 503 (for
//! `--drain-seconds`), then the listener closes, requests in flight finish (at most
//! [`SHUTDOWN_GRACE`]), the writer commits what is queued and checkpoints the database, and
//! the process exits 0.

mod admin;
mod error;
mod limit;
mod model;
mod reports;
mod stats;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use kindred_core::aggregate::ReleasedCounts;
use serde_json::json;
use tokio::net::TcpListener;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::compression::CompressionLayer;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::services::ServeDir;

pub use error::ApiError;
pub use limit::RateLimiter;

use crate::build_model::{self, Published};
use crate::config::{AllowedOrigins, ServeSettings};
use crate::ingest::writer::Ingestor;
use crate::ingest::IngestPolicy;
use crate::metrics::Metrics;
use crate::store::{open_backend, Backend, Period, StoreError};
use crate::time::{now_ms, today};

/// Longest time in-flight requests get to finish after the listener closed.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// Longest time one request may take (a slow upload, a stuck client).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Why the server could not start or stopped badly.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("the server failed: {0}")]
    Io(#[from] std::io::Error),
    #[error("flushing the database at shutdown failed: {0}")]
    Flush(String),
}

/// The model being served and the releases it was built from.
#[derive(Debug)]
pub struct Current {
    pub published: Arc<Published>,
    pub releases: Arc<Vec<ReleasedCounts>>,
    /// The day the model was built as of (last day of the newest releasable window).
    pub as_of: u32,
}

/// Everything handlers share.
#[derive(Debug)]
pub struct AppState {
    pub settings: ServeSettings,
    pub policy: IngestPolicy,
    pub backend: Arc<dyn Backend>,
    pub ingestor: Ingestor,
    pub metrics: Metrics,
    pub limiter: Option<RateLimiter>,
    current: RwLock<Option<Arc<Current>>>,
    rebuild_lock: tokio::sync::Mutex<()>,
    shutting_down: AtomicBool,
}

pub type SharedState = Arc<AppState>;

impl AppState {
    pub fn current(&self) -> Option<Arc<Current>> {
        self.current
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn set_current(&self, current: Current) {
        let p = &current.published;
        self.metrics
            .model_version
            .set(i64::try_from(p.version).unwrap_or(i64::MAX));
        self.metrics
            .model_built_at
            .set(p.built_at_ms as f64 / 1000.0);
        for (encoding, bytes) in [("identity", &p.json), ("gzip", &p.gzip), ("br", &p.br)] {
            self.metrics
                .model_bytes
                .with_label_values(&[encoding])
                .set(bytes.len() as i64);
        }
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = Some(Arc::new(current));
    }

    pub fn is_shutting_down(&self) -> bool {
        self.shutting_down.load(Ordering::SeqCst)
    }
}

/// A period as the API shows it.
#[derive(Debug, Clone, Copy, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PeriodJson {
    /// First UTC day number.
    pub window: u32,
    pub days: u32,
}

impl From<Period> for PeriodJson {
    fn from(p: Period) -> Self {
        PeriodJson {
            window: p.window,
            days: p.days,
        }
    }
}

/// What a rebuild did, as `POST /v1/admin/rebuild` answers it.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RebuildSummary {
    /// Periods released by this rebuild.
    pub released: Vec<PeriodJson>,
    /// The day the model is built as of (last day of the newest releasable window).
    pub as_of: u32,
    pub removed_counter_rows: u64,
    pub removed_releases: u64,
    pub model_version: u64,
    pub model_changed: bool,
    /// False when nothing changed since the last build, so no model was built.
    pub model_built: bool,
    pub built_at: i64,
    pub etag: String,
    pub bytes: serde_json::Value,
}

/// Releases closed windows and rebuilds the model now (one rebuild at a time), on a blocking
/// thread with its own store connection; publishes the result.
pub async fn rebuild(state: &SharedState) -> Result<RebuildSummary, String> {
    let _one_at_a_time = state.rebuild_lock.lock().await;
    let st = state.clone();
    let current = state.current();
    let outcome = tokio::task::spawn_blocking(move || {
        let mut store = st.backend.open().map_err(|e| e.to_string())?;
        let known = current.as_ref().map(|c| c.releases.clone());
        let rebuild =
            build_model::rebuild(&mut *store, &st.settings.common, today(), now_ms(), known)
                .map_err(|e| e.to_string())?;
        let published = match current {
            Some(c) if !rebuild.changed && c.published.version == rebuild.model.version => {
                c.published.clone()
            }
            _ => Arc::new(Published::from_stored(&rebuild.model).map_err(|e| e.to_string())?),
        };
        Ok::<_, String>((rebuild, published))
    })
    .await
    .map_err(|e| format!("the rebuild task failed: {e}"))?;
    let (rebuild, published) = match outcome {
        Ok(o) => o,
        Err(e) => {
            state.metrics.rebuilds.with_label_values(&["failed"]).inc();
            return Err(e);
        }
    };
    state
        .ingestor
        .note_releases(&rebuild.released, rebuild.kept_from);
    let outcome = if rebuild.changed {
        "published"
    } else {
        "unchanged"
    };
    state.metrics.rebuilds.with_label_values(&[outcome]).inc();
    let summary = RebuildSummary {
        released: rebuild.released.iter().map(|p| (*p).into()).collect(),
        as_of: rebuild.as_of,
        removed_counter_rows: rebuild.removed.counter_rows,
        removed_releases: rebuild.removed.releases,
        model_version: published.version,
        model_changed: rebuild.changed,
        model_built: rebuild.built,
        built_at: published.built_at_ms,
        etag: published.etag.clone(),
        bytes: json!({
            "json": published.json.len(),
            "gzip": published.gzip.len(),
            "br": published.br.len(),
        }),
    };
    if rebuild.changed || !rebuild.released.is_empty() {
        let released: Vec<String> = rebuild.released.iter().map(Period::to_string).collect();
        tracing::info!(
            released = ?released,
            version = published.version,
            gzip_bytes = published.gzip.len(),
            "model {outcome}"
        );
    }
    state.set_current(Current {
        published,
        releases: rebuild.releases,
        as_of: rebuild.as_of,
    });
    Ok(summary)
}

/// Builds the router (public API with CORS, admin routes, metrics, static files), with
/// `extra` routes inside the same layers (see [`run_with_routes`]).
pub fn router(state: SharedState, extra: Router<SharedState>) -> Router {
    let cors = cors_layer(&state.settings.allowed_origins);
    let public = Router::new()
        .route("/v1/reports", post(reports::submit))
        .route("/v1/model", get(model::get_model))
        .route("/v1/health", get(health))
        .layer(cors);
    let admin = admin::routes(state.clone());
    let files = Router::new()
        .fallback_service(
            ServeDir::new(&state.settings.static_dir).append_index_html_on_directories(true),
        )
        .layer(middleware::from_fn(refuse_unservable_paths));
    Router::new()
        .merge(public)
        .merge(admin)
        .merge(extra)
        .fallback_service(files)
        .layer(CompressionLayer::new())
        .layer(middleware::from_fn_with_state(state.clone(), observe))
        .layer(CatchPanicLayer::custom(|_| {
            ApiError::from_status(StatusCode::INTERNAL_SERVER_ERROR).into_response()
        }))
        .with_state(state)
}

fn cors_layer(origins: &AllowedOrigins) -> CorsLayer {
    let allow = match origins {
        AllowedOrigins::Any => AllowOrigin::any(),
        AllowedOrigins::List(list) => AllowOrigin::list(
            list.iter()
                .filter_map(|o| HeaderValue::from_str(o).ok())
                .collect::<Vec<_>>(),
        ),
    };
    // Reports are JSON (not a CORS-safelisted content type), so a cross-origin page needs the
    // preflight to pass: only listed origins can post. The model is read with
    // If-None-Match and its ETag must be readable by the client script.
    CorsLayer::new()
        .allow_origin(allow)
        .allow_methods([Method::GET, Method::HEAD, Method::POST])
        .allow_headers([header::CONTENT_TYPE, header::IF_NONE_MATCH])
        .expose_headers([header::ETAG, header::RETRY_AFTER])
        .max_age(Duration::from_millis(kindred_core::DAY_MS as u64))
}

/// In front of the file server: 404 for a path starting with `//` or holding a backslash (the
/// file server's directory redirect would answer `Location: //host/`, an open redirect to
/// another site), and for one with a segment starting with `.` (dotfiles and dot-directories
/// such as `.git` or a token file are never shop pages).
async fn refuse_unservable_paths(req: Request, next: Next) -> Response {
    let path = req.uri().path();
    if path.starts_with("//")
        || path.contains('\\')
        || path.split('/').any(|segment| segment.starts_with('.'))
    {
        return ApiError::from_status(StatusCode::NOT_FOUND).into_response();
    }
    next.run(req).await
}

/// The metric label of a request: a fixed route name, never the raw path.
fn route_label(path: &str) -> &'static str {
    match path {
        "/v1/reports" => "/v1/reports",
        "/v1/model" => "/v1/model",
        "/v1/health" => "/v1/health",
        "/v1/stats" => "/v1/stats",
        "/v1/admin/rebuild" => "/v1/admin/rebuild",
        "/metrics" => "/metrics",
        p if p == "/dashboard" || p.starts_with("/dashboard/") => "/dashboard",
        _ => "static",
    }
}

/// Around every request: a time limit, JSON bodies for errors the framework or the file
/// server produced without one, security headers and the request metric. Nothing about the
/// client (address, user agent) is read or logged here.
async fn observe(State(state): State<SharedState>, req: Request, next: Next) -> Response {
    let route = route_label(req.uri().path());
    let mut res = match tokio::time::timeout(REQUEST_TIMEOUT, next.run(req)).await {
        Ok(res) => res,
        Err(_) => ApiError::new(
            StatusCode::REQUEST_TIMEOUT,
            "request-timeout",
            format!(
                "the request took longer than {} s",
                REQUEST_TIMEOUT.as_secs()
            ),
        )
        .into_response(),
    };
    let status = res.status();
    if (status.is_client_error() || status.is_server_error())
        && !res.headers().contains_key(header::CONTENT_TYPE)
    {
        res = ApiError::from_status(status).into_response();
    }
    let headers = res.headers_mut();
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    state
        .metrics
        .requests
        .with_label_values(&[route, res.status().as_str()])
        .inc();
    res
}

async fn health(State(state): State<SharedState>) -> Response {
    if state.is_shutting_down() {
        return ApiError::shutting_down().into_response();
    }
    let model = state.current().map(|c| {
        let p = &c.published;
        json!({
            "version": p.version,
            "builtAt": p.built_at_ms,
            "ageSeconds": (now_ms() - p.built_at_ms).max(0) / 1000,
        })
    });
    // No live report counts here: polling them would time each report's arrival.
    (
        [(header::CACHE_CONTROL, "no-store")],
        Json(json!({
            "status": "ok",
            "site": state.settings.common.site,
            "version": env!("CARGO_PKG_VERSION"),
            "model": model,
        })),
    )
        .into_response()
}

/// `GET /metrics` (admin): live counters would tell anyone who polls them when each report
/// arrives, so they are not public; Prometheus sends the token as a Bearer credential.
pub(crate) async fn metrics(State(state): State<SharedState>) -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                "text/plain; version=0.0.4; charset=utf-8",
            ),
            (header::CACHE_CONTROL, "no-store"),
        ],
        state.metrics.render(),
    )
        .into_response()
}

/// Resolves when SIGTERM or Ctrl-C (SIGINT) arrives.
async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}

/// Runs the server until SIGTERM or Ctrl-C; returns once everything acknowledged is flushed.
pub async fn run(settings: ServeSettings) -> Result<(), ServeError> {
    run_with_routes(settings, Router::new()).await
}

/// [`run`] with `extra` routes behind the same layers as the real ones (catch-panic, request
/// metrics, compression). `kindred serve` adds none; it is the seam through which
/// examples/catch_panic.rs serves a handler that panics, built with the profile the binary
/// ships with, without a panicking route in the shipped binary.
pub async fn run_with_routes(
    settings: ServeSettings,
    extra: Router<SharedState>,
) -> Result<(), ServeError> {
    let backend = open_backend(&settings.common.database)?;
    let metrics = Metrics::new();
    let ingestor = Ingestor::start(backend.open()?, metrics.clone())?;
    let policy = IngestPolicy {
        privacy: settings.common.privacy.clone(),
    };
    let limiter = (settings.rate_limit_per_minute > 0)
        .then(|| RateLimiter::new(settings.rate_limit_per_minute));
    if settings.common.privacy.aggregation.epsilon > 16.0 {
        tracing::warn!(
            "epsilon {} per window is very large: released counts are barely noised",
            settings.common.privacy.aggregation.epsilon
        );
    }
    if settings.admin_token.is_none() {
        tracing::warn!(
            "no admin token: /dashboard, /v1/stats, /v1/admin/* and /metrics answer 403"
        );
    }
    let state = Arc::new(AppState {
        policy,
        backend: backend.clone(),
        ingestor,
        metrics,
        limiter,
        current: RwLock::new(None),
        rebuild_lock: tokio::sync::Mutex::new(()),
        shutting_down: AtomicBool::new(false),
        settings,
    });
    // Publish before listening, so /v1/model answers from the first request.
    if let Err(e) = rebuild(&state).await {
        tracing::error!("the startup rebuild failed: {e}; serving the stored model, if any");
        publish_stored(&state).await;
    }
    let addr = state.settings.listen;
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|source| ServeError::Listen { addr, source })?;
    let local = listener.local_addr()?;
    tracing::info!(
        database = %backend.describe(),
        static_dir = %state.settings.static_dir.display(),
        "kindred {} listening on http://{local}",
        env!("CARGO_PKG_VERSION")
    );
    // One line on stdout for scripts and tests that start the server on port 0.
    println!("kindred: listening on http://{local}");

    let (signal_tx, signal_rx) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        shutdown_signal().await;
        let _ = signal_tx.send(true);
    });
    if let Some(every) = state.settings.rebuild_every {
        let st = state.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            tick.tick().await; // the first tick is immediate; the startup rebuild just ran
            loop {
                tick.tick().await;
                if st.is_shutting_down() {
                    break;
                }
                if let Err(e) = rebuild(&st).await {
                    tracing::error!("scheduled rebuild failed: {e}");
                }
            }
        });
    }

    let drain = state.settings.drain;
    let graceful = {
        let st = state.clone();
        let mut rx = signal_rx.clone();
        async move {
            let _ = rx.wait_for(|s| *s).await;
            st.shutting_down.store(true, Ordering::SeqCst);
            tracing::info!(
                "shutting down: answering 503 for {} s, then closing",
                drain.as_secs()
            );
            tokio::time::sleep(drain).await;
        }
    };
    let deadline = {
        let mut rx = signal_rx;
        async move {
            let _ = rx.wait_for(|s| *s).await;
            tokio::time::sleep(drain + SHUTDOWN_GRACE).await;
        }
    };
    let app = router(state.clone(), extra).into_make_service_with_connect_info::<SocketAddr>();
    let server = axum::serve(listener, app).with_graceful_shutdown(graceful);
    tokio::select! {
        result = server => result?,
        () = deadline => tracing::warn!(
            "requests still open {} s after closing; dropping them (they were not acknowledged)",
            SHUTDOWN_GRACE.as_secs()
        ),
    }
    state.ingestor.close().await.map_err(ServeError::Flush)?;
    tracing::info!("stopped; every acknowledged report is stored");
    Ok(())
}

/// Serves the newest stored model when a rebuild cannot run (e.g. the catalog is missing).
async fn publish_stored(state: &SharedState) {
    let st = state.clone();
    let loaded = tokio::task::spawn_blocking(move || {
        let mut store = st.backend.open().map_err(|e| e.to_string())?;
        let today = today();
        let kept_from = today.saturating_sub(st.settings.common.retention_days);
        let releases = store.releases(kept_from).map_err(|e| e.to_string())?;
        let as_of = build_model::model_as_of(
            &st.settings.common,
            today,
            releases.iter().map(|r| r.last_day()).max(),
        );
        let Some(stored) = store.latest_model().map_err(|e| e.to_string())? else {
            return Ok(None);
        };
        let published = Published::from_stored(&stored).map_err(|e| e.to_string())?;
        Ok::<_, String>(Some(Current {
            published: Arc::new(published),
            releases: Arc::new(releases),
            as_of,
        }))
    })
    .await;
    match loaded {
        Ok(Ok(Some(current))) => state.set_current(current),
        Ok(Ok(None)) => {
            tracing::warn!("no stored model: /v1/model answers 503 until a rebuild succeeds")
        }
        Ok(Err(e)) => tracing::error!("cannot load the stored model: {e}"),
        Err(e) => tracing::error!("cannot load the stored model: {e}"),
    }
}
