//! Prometheus metrics (`GET /metrics`, text format 0.0.4), with the `prometheus` crate.
//!
//! Labels never hold anything about a client: routes are fixed names, statuses and reject
//! reasons come from small fixed sets.

use prometheus::{
    Encoder, Gauge, Histogram, HistogramOpts, IntCounter, IntCounterVec, IntGauge, IntGaugeVec,
    Opts, Registry, TextEncoder,
};

use crate::time::now_ms;

/// Latency buckets in seconds: fine below the 20 ms target, coarse above.
const LATENCY_BUCKETS: &[f64] = &[
    0.000_5, 0.001, 0.002, 0.003, 0.005, 0.007_5, 0.01, 0.015, 0.02, 0.03, 0.05, 0.1, 0.25, 0.5,
    1.0, 2.5,
];

/// Every metric the server exports.
#[derive(Debug, Clone)]
pub struct Metrics {
    registry: Registry,
    /// Requests by route and status code.
    pub requests: IntCounterVec,
    /// Refused report requests by reason (the `error` code of the response).
    pub rejects: IntCounterVec,
    /// Reports counted (a batch counts each of its reports).
    pub reports_accepted: IntCounter,
    /// `POST /v1/reports`, arrival to answer, for accepted requests.
    pub ingest_latency: Histogram,
    /// One group commit (the writer's transaction).
    pub commit_latency: Histogram,
    /// Requests acknowledged by one group commit.
    pub commit_requests: Histogram,
    pub model_version: IntGauge,
    /// Build time of the published model, seconds since 1970.
    pub model_built_at: Gauge,
    /// Set when scraped, from `model_built_at`.
    model_age: Gauge,
    /// Published model size by encoding (identity, gzip, br).
    pub model_bytes: IntGaugeVec,
    /// Reports counted for days not released yet.
    pub pending_reports: IntGauge,
    /// Rebuilds by outcome (published, unchanged, failed).
    pub rebuilds: IntCounterVec,
}

fn register<M: prometheus::core::Collector + Clone + 'static>(registry: &Registry, m: M) -> M {
    // Names are constants and registered once: a failure is a programming error caught by
    // the test below.
    registry
        .register(Box::new(m.clone()))
        .expect("metric names are unique and valid");
    m
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let r = Registry::new();
        let histogram = |name: &str, help: &str, buckets: &[f64]| {
            Histogram::with_opts(HistogramOpts::new(name, help).buckets(buckets.to_vec()))
                .expect("valid histogram")
        };
        Metrics {
            requests: register(
                &r,
                IntCounterVec::new(
                    Opts::new(
                        "kindred_http_requests_total",
                        "HTTP requests by route and status",
                    ),
                    &["route", "status"],
                )
                .expect("valid"),
            ),
            rejects: register(
                &r,
                IntCounterVec::new(
                    Opts::new(
                        "kindred_reports_rejected_total",
                        "Refused report requests by reason",
                    ),
                    &["reason"],
                )
                .expect("valid"),
            ),
            reports_accepted: register(
                &r,
                IntCounter::new("kindred_reports_accepted_total", "Reports counted")
                    .expect("valid"),
            ),
            ingest_latency: register(
                &r,
                histogram(
                    "kindred_ingest_duration_seconds",
                    "POST /v1/reports from arrival to acknowledgement (accepted requests)",
                    LATENCY_BUCKETS,
                ),
            ),
            commit_latency: register(
                &r,
                histogram(
                    "kindred_commit_duration_seconds",
                    "Duration of one group commit of report counters",
                    LATENCY_BUCKETS,
                ),
            ),
            commit_requests: register(
                &r,
                histogram(
                    "kindred_commit_requests",
                    "Requests acknowledged by one group commit",
                    &[
                        1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0, 1024.0,
                    ],
                ),
            ),
            model_version: register(
                &r,
                IntGauge::new("kindred_model_version", "Version of the published model")
                    .expect("valid"),
            ),
            model_built_at: register(
                &r,
                Gauge::new(
                    "kindred_model_built_timestamp_seconds",
                    "Build time of the published model",
                )
                .expect("valid"),
            ),
            model_age: register(
                &r,
                Gauge::new(
                    "kindred_model_age_seconds",
                    "Seconds since the published model was built",
                )
                .expect("valid"),
            ),
            model_bytes: register(
                &r,
                IntGaugeVec::new(
                    Opts::new(
                        "kindred_model_bytes",
                        "Size of the published model by encoding",
                    ),
                    &["encoding"],
                )
                .expect("valid"),
            ),
            pending_reports: register(
                &r,
                IntGauge::new(
                    "kindred_pending_reports",
                    "Reports counted for windows not released yet",
                )
                .expect("valid"),
            ),
            rebuilds: register(
                &r,
                IntCounterVec::new(
                    Opts::new("kindred_model_rebuilds_total", "Model rebuilds by outcome"),
                    &["outcome"],
                )
                .expect("valid"),
            ),
            registry: r,
        }
    }

    /// The text exposition, with the model age computed now.
    pub fn render(&self) -> String {
        let built = self.model_built_at.get();
        if built > 0.0 {
            self.model_age
                .set((now_ms() as f64 / 1000.0 - built).max(0.0));
        }
        let mut out = Vec::new();
        // Encoding gathered families into a Vec cannot fail.
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut out);
        String::from_utf8(out).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_every_family() {
        let m = Metrics::new();
        m.requests.with_label_values(&["/v1/reports", "202"]).inc();
        m.rejects.with_label_values(&["invalid-report"]).inc();
        m.ingest_latency.observe(0.003);
        m.model_built_at.set(1.0);
        let text = m.render();
        for name in [
            "kindred_http_requests_total{route=\"/v1/reports\",status=\"202\"} 1",
            "kindred_reports_rejected_total{reason=\"invalid-report\"} 1",
            "kindred_ingest_duration_seconds_bucket{le=\"0.005\"} 1",
            "kindred_model_age_seconds",
        ] {
            assert!(text.contains(name), "{name} missing:\n{text}");
        }
    }
}
