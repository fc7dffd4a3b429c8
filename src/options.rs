//! Reading the options of `Kindred.create(options)`: field by field, JS spellings, unknown
//! fields refused (see `KindredOptions` in `kindred.d.ts`). Ranges are checked by the engine.

use kindred_core::engine::EventWeights;
use kindred_core::{EngineConfig, PrivacyConfig};
use wasm_bindgen::prelude::*;

use crate::error::{ErrorCode, KindredError};
use crate::outbox::Consent;
use crate::values::{read_event_weights_into, read_privacy, reader};

/// Where state is kept.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) enum StorageChoice {
    #[default]
    Indexeddb,
    Memory,
}

/// `Kindred.create(options)`; see `KindredOptions` in `kindred.d.ts` for the documented shape.
#[derive(Debug, Clone)]
pub(crate) struct CreateOptions {
    pub(crate) site: String,
    pub(crate) storage: StorageChoice,
    pub(crate) flush_delay_ms: u32,
    pub(crate) retention_days: f64,
    pub(crate) purchase_memory_days: f64,
    /// `purchaseMemoryDays` as given, checked against `retentionDays` once both are read.
    purchase_memory_days_set: Option<f64>,
    pub(crate) max_events: usize,
    pub(crate) half_life_days: f64,
    pub(crate) session_gap_minutes: f64,
    pub(crate) event_weights: EventWeights,
    pub(crate) endpoint: Option<String>,
    pub(crate) privacy: PrivacyConfig,
    pub(crate) consent: Consent,
    pub(crate) report_delay_ms: u32,
    pub(crate) retry_delay_ms: u32,
    pub(crate) outbox_days: u32,
}

impl Default for CreateOptions {
    fn default() -> Self {
        let engine = EngineConfig::default();
        CreateOptions {
            site: "default".into(),
            storage: StorageChoice::default(),
            flush_delay_ms: 500,
            retention_days: engine.retention_days,
            purchase_memory_days: engine.purchase_memory_days,
            purchase_memory_days_set: None,
            max_events: engine.max_events,
            half_life_days: engine.half_life_days,
            session_gap_minutes: engine.session_gap_minutes,
            event_weights: engine.event_weights,
            endpoint: None,
            privacy: PrivacyConfig::default(),
            consent: Consent::default(),
            report_delay_ms: 60_000,
            retry_delay_ms: 60_000,
            outbox_days: 7,
        }
    }
}

impl CreateOptions {
    /// Reads and checks the options (the engine checks its own settings' ranges).
    pub(crate) fn from_js(value: JsValue) -> Result<CreateOptions, KindredError> {
        let mut c = CreateOptions::read(value)?;
        c.site = c.site.trim().to_owned();
        if c.site.is_empty() || c.site.len() > 64 {
            return Err(KindredError::new(
                ErrorCode::InvalidOption,
                "invalid option \"site\": must be 1 to 64 characters (it names the storage)",
            ));
        }
        if let Some(endpoint) = &c.endpoint {
            let ok = endpoint.starts_with("https://")
                || endpoint.starts_with("http://")
                || endpoint.starts_with('/');
            if !ok {
                return Err(KindredError::new(
                    ErrorCode::InvalidOption,
                    format!("invalid option \"endpoint\": \"{endpoint}\" must be an http(s) URL or a path starting with /"),
                ));
            }
        }
        Ok(c)
    }

    /// Where reports go (`<endpoint>/v1/reports`); `None` without an endpoint.
    pub(crate) fn reports_url(&self) -> Option<String> {
        let endpoint = self.endpoint.as_deref()?;
        Some(format!("{}/v1/reports", endpoint.trim_end_matches('/')))
    }

    fn read(value: JsValue) -> Result<CreateOptions, KindredError> {
        let mut c = CreateOptions::default();
        if value.is_undefined() || value.is_null() {
            return Ok(c);
        }
        read_create_options_into(value, &mut c)?;
        // Unset, it follows a longer retention (purchases are never kept shorter than events).
        c.purchase_memory_days = match c.purchase_memory_days_set {
            Some(days) if days < c.retention_days => {
                return Err(KindredError::new(
                    ErrorCode::InvalidOption,
                    format!(
                    "invalid option \"purchaseMemoryDays\": {} is less than retentionDays ({}): \
                         purchases are kept at least as long as the events they come from",
                    kindred_core::compact::number(days),
                    kindred_core::compact::number(c.retention_days)
                ),
                ))
            }
            Some(days) => days,
            None => c.purchase_memory_days.max(c.retention_days),
        };
        Ok(c)
    }

    pub(crate) fn engine_config(&self) -> EngineConfig {
        EngineConfig {
            retention_days: self.retention_days,
            purchase_memory_days: self.purchase_memory_days,
            max_events: self.max_events,
            half_life_days: self.half_life_days,
            session_gap_minutes: self.session_gap_minutes,
            event_weights: self.event_weights,
            privacy: self.privacy,
            ..EngineConfig::default()
        }
    }
}

/// The longest delay an option may set, in ms (what `setTimeout` takes).
const MAX_DELAY_MS: f64 = i32::MAX as f64;

reader! {
    /// `KindredOptions` in `kindred.d.ts`.
    pub(crate) CREATE_OPTIONS, read_create_options_into(o, k, c: CreateOptions) = ("options", ErrorCode::InvalidOption) {
        "site" => if let Some(site) = o.str(k)? {
            c.site = site;
        },
        "storage" => {
            let choices = [
                ("indexeddb", StorageChoice::Indexeddb),
                ("memory", StorageChoice::Memory),
            ];
            c.storage = o.choice(k, &choices)?.unwrap_or(c.storage);
        },
        "flushDelayMs" => o.set_u32(k, MAX_DELAY_MS, &mut c.flush_delay_ms)?,
        "retentionDays" => o.set_num(k, &mut c.retention_days)?,
        "purchaseMemoryDays" => c.purchase_memory_days_set = o.num(k)?,
        "maxEvents" => if let Some(n) = o.int(k, 1e7)? {
            c.max_events = n as usize;
        },
        "halfLifeDays" => o.set_num(k, &mut c.half_life_days)?,
        "sessionGapMinutes" => o.set_num(k, &mut c.session_gap_minutes)?,
        "eventWeights" => if let Some(w) = o.get(k) {
            read_event_weights_into(w, &mut c.event_weights)?;
        },
        "endpoint" => c.endpoint = o.str(k)?,
        "privacy" => if let Some(p) = o.get(k) {
            c.privacy = read_privacy(p)?;
        },
        "consent" => {
            let choices = Consent::ALL.map(|consent| (consent.name(), consent));
            c.consent = o.choice(k, &choices)?.unwrap_or(c.consent);
        },
        "reportDelayMs" => o.set_u32(k, MAX_DELAY_MS, &mut c.report_delay_ms)?,
        "retryDelayMs" => o.set_u32(k, MAX_DELAY_MS, &mut c.retry_delay_ms)?,
        "outboxDays" => o.set_u32(k, 3650.0, &mut c.outbox_days)?,
    }
}
