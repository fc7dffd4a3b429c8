//! Reading the options of `Kindred.create(options)`: field by field, JS spellings, unknown
//! fields refused (see `KindredOptions` in `kindred.d.ts`). Ranges are checked by the engine.

use js_sys::Reflect;
use kindred_core::engine::EventWeights;
use kindred_core::{EngineConfig, Mode, PrivacyConfig};
use wasm_bindgen::prelude::*;

use crate::outbox::Consent;
use crate::values::Obj;

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
    pub(crate) fn from_js(value: JsValue) -> Result<CreateOptions, JsError> {
        let mut c = CreateOptions::read(value)?;
        c.site = c.site.trim().to_owned();
        if c.site.is_empty() || c.site.len() > 64 {
            return Err(JsError::new(
                "invalid option \"site\": must be 1 to 64 characters (it names the storage)",
            ));
        }
        if let Some(endpoint) = &c.endpoint {
            let ok = endpoint.starts_with("https://")
                || endpoint.starts_with("http://")
                || endpoint.starts_with('/');
            if !ok {
                return Err(JsError::new(&format!(
                    "invalid option \"endpoint\": \"{endpoint}\" must be an http(s) URL or a path starting with /"
                )));
            }
        }
        Ok(c)
    }

    /// Where reports go (`<endpoint>/v1/reports`); `None` without an endpoint.
    pub(crate) fn reports_url(&self) -> Option<String> {
        let endpoint = self.endpoint.as_deref()?;
        Some(format!("{}/v1/reports", endpoint.trim_end_matches('/')))
    }

    fn read(value: JsValue) -> Result<CreateOptions, JsError> {
        let mut c = CreateOptions::default();
        if value.is_undefined() || value.is_null() {
            return Ok(c);
        }
        let o = Obj::new(value, "options", CREATE_OPTION_NAMES)?;
        if let Some(site) = o.str("site")? {
            c.site = site;
        }
        let storage = [
            ("indexeddb", StorageChoice::Indexeddb),
            ("memory", StorageChoice::Memory),
        ];
        c.storage = o.choice("storage", &storage)?.unwrap_or(c.storage);
        let ms = f64::from(i32::MAX);
        c.flush_delay_ms = o
            .int("flushDelayMs", ms)?
            .map_or(c.flush_delay_ms, |v| v as u32);
        c.retention_days = o.num("retentionDays")?.unwrap_or(c.retention_days);
        // Unset, it follows a longer retention (purchases are never kept shorter than events).
        c.purchase_memory_days = match o.num("purchaseMemoryDays")? {
            Some(days) if days < c.retention_days => {
                return Err(JsError::new(&format!(
                    "invalid option \"purchaseMemoryDays\": {} is less than retentionDays ({}): \
                     purchases are kept at least as long as the events they come from",
                    kindred_core::compact::number(days),
                    kindred_core::compact::number(c.retention_days)
                )))
            }
            Some(days) => days,
            None => c.purchase_memory_days.max(c.retention_days),
        };
        c.max_events = o
            .int("maxEvents", 1e7)?
            .map_or(c.max_events, |v| v as usize);
        c.half_life_days = o.num("halfLifeDays")?.unwrap_or(c.half_life_days);
        c.session_gap_minutes = o.num("sessionGapMinutes")?.unwrap_or(c.session_gap_minutes);
        if let Some(w) = o.get("eventWeights") {
            let names = [
                "view",
                "click",
                "cart",
                "removeCart",
                "purchase",
                "search",
                "dwellPerMinute",
                "dwellCap",
                "ratePerStar",
            ];
            let w = Obj::new(w, "eventWeights", &names)?;
            let e = &mut c.event_weights;
            for (name, slot) in names.iter().zip([
                &mut e.view,
                &mut e.click,
                &mut e.cart,
                &mut e.remove_cart,
                &mut e.purchase,
                &mut e.search,
                &mut e.dwell_per_minute,
                &mut e.dwell_cap,
                &mut e.rate_per_star,
            ]) {
                if let Some(v) = w.num(name)? {
                    *slot = v as f32;
                }
            }
        }
        c.endpoint = o.str("endpoint")?;
        if let Some(p) = o.get("privacy") {
            c.privacy = read_privacy(p)?;
        }
        let consents = [
            ("granted", Consent::Granted),
            ("pending", Consent::Pending),
            ("denied", Consent::Denied),
        ];
        c.consent = o.choice("consent", &consents)?.unwrap_or(c.consent);
        c.report_delay_ms = o
            .int("reportDelayMs", ms)?
            .map_or(c.report_delay_ms, |v| v as u32);
        c.retry_delay_ms = o
            .int("retryDelayMs", ms)?
            .map_or(c.retry_delay_ms, |v| v as u32);
        c.outbox_days = o
            .int("outboxDays", 3650.0)?
            .map_or(c.outbox_days, |v| v as u32);
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

const CREATE_OPTION_NAMES: &[&str] = &[
    "site",
    "storage",
    "flushDelayMs",
    "retentionDays",
    "purchaseMemoryDays",
    "maxEvents",
    "halfLifeDays",
    "sessionGapMinutes",
    "eventWeights",
    "endpoint",
    "privacy",
    "consent",
    "reportDelayMs",
    "retryDelayMs",
    "outboxDays",
];

/// Privacy option names of kindred 0.1 and what replaced them: passing one is an error that
/// says so, rather than the generic "unknown field" (a shop upgrading should learn what the
/// new option means, not just that the old one is gone).
const REPLACED_PRIVACY_OPTIONS: &[(&str, &str)] = &[
    (
        "epsilonPerDay",
        "\"privacy.epsilonPerWindow\" (ε per shopper per 30-day window, default 4)",
    ),
    (
        "epsilon30Days",
        "\"privacy.epsilonPerWindow\" (the cap is now per 30-day window: ε per shopper per window, default 4)",
    ),
];

/// `options.privacy`: `PrivacyConfig` in `kindred.d.ts`; ranges are checked by the engine.
fn read_privacy(value: JsValue) -> Result<PrivacyConfig, JsError> {
    for (old, new) in REPLACED_PRIVACY_OPTIONS {
        if Reflect::has(&value, &(*old).into()).unwrap_or(false) {
            return Err(JsError::new(&format!(
                "invalid option \"privacy.{old}\": it was replaced by {new} in kindred 0.2"
            )));
        }
    }
    let p = Obj::new(
        value,
        "privacy",
        &[
            "mode",
            "epsilonPerWindow",
            "delta",
            "windowDays",
            "caps",
            "ldpEpsilon",
            "ldpSetSize",
            "maxReportLagDays",
        ],
    )?;
    let modes = [
        ("threshold", Mode::Threshold),
        ("ldp", Mode::Ldp),
        ("off", Mode::Off),
    ];
    let mut c = PrivacyConfig::default();
    c.mode = p.choice("mode", &modes)?.unwrap_or(c.mode);
    c.epsilon_per_window = p.num("epsilonPerWindow")?.unwrap_or(c.epsilon_per_window);
    c.delta = p.num("delta")?.unwrap_or(c.delta);
    c.ldp_epsilon = p.num("ldpEpsilon")?.unwrap_or(c.ldp_epsilon);
    let int = |o: &Obj<'_>, key: &str, old: u32| -> Result<u32, JsError> {
        Ok(o.int(key, 1e9)?.map_or(old, |v| v as u32))
    };
    c.window_days = int(&p, "windowDays", c.window_days)?;
    c.ldp_set_size = int(&p, "ldpSetSize", c.ldp_set_size)?;
    c.max_report_lag_days = int(&p, "maxReportLagDays", c.max_report_lag_days)?;
    if let Some(caps) = p.get("caps") {
        let caps = Obj::new(
            caps,
            "privacy.caps",
            &["items", "pairs", "interests", "impressions", "clicks"],
        )?;
        let k = &mut c.caps;
        k.items = int(&caps, "items", k.items)?;
        k.pairs = int(&caps, "pairs", k.pairs)?;
        k.interests = int(&caps, "interests", k.interests)?;
        k.impressions = int(&caps, "impressions", k.impressions)?;
        k.clicks = int(&caps, "clicks", k.clicks)?;
    }
    Ok(c)
}
