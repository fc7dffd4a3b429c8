//! The state behind one `Kindred`: the engine and what the binding keeps around it (storage
//! handle, pending operations, listeners, the outbox). Shared as `Rc<RefCell<Inner>>` by the
//! exported class, storage tasks, timers and listeners; each job's module works on its part.

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::{Function, Promise};
use kindred_core::Engine;
use wasm_bindgen::prelude::*;
use web_sys::{BroadcastChannel, IdbDatabase, MessageEvent};

use crate::options::CreateOptions;
use crate::outbox::{Consent, OutboxEntry};
use crate::persist::Quarantined;
use crate::rebase::Pending;

/// Where the installed shared model came from.
#[derive(Debug, Clone)]
pub(crate) struct ModelSource {
    pub(crate) url: Option<String>,
    pub(crate) etag: Option<String>,
    pub(crate) version: u64,
}

pub(crate) type Shared = Rc<RefCell<Inner>>;
/// A `pagehide`/`visibilitychange` listener, kept alive while registered.
pub(crate) type PageHook = Closure<dyn FnMut(JsValue)>;

pub(crate) struct Inner {
    pub(crate) engine: Engine,
    pub(crate) site: String,
    pub(crate) db: Option<IdbDatabase>,
    /// Why state is in memory only (`None` while IndexedDB works).
    pub(crate) memory_reason: Option<String>,
    /// The stored `gen` this tab's state includes.
    pub(crate) synced_gen: f64,
    pub(crate) pending: Pending,
    pub(crate) flush_delay_ms: u32,
    pub(crate) flush_scheduled: bool,
    /// The last queued storage task; the next one awaits it.
    pub(crate) chain: Promise,
    pub(crate) forgetting: bool,
    pub(crate) listeners: Vec<(String, Function)>,
    pub(crate) warnings: Vec<JsValue>,
    pub(crate) quarantined: Vec<Quarantined>,
    pub(crate) model_source: Option<ModelSource>,
    pub(crate) channel: Option<BroadcastChannel>,
    pub(crate) channel_handler: Option<Closure<dyn FnMut(MessageEvent)>>,
    /// Set when storage holds something to replace even without pending operations.
    pub(crate) dirty: bool,
    /// Where reports go (`<endpoint>/v1/reports`); `None`: nothing is ever sent.
    pub(crate) reports_url: Option<String>,
    pub(crate) consent: Consent,
    pub(crate) report_delay_ms: u32,
    pub(crate) retry_delay_ms: u32,
    pub(crate) outbox_days: u32,
    /// Committed reports not yet delivered (the stored copy is authoritative with IndexedDB).
    pub(crate) outbox: Vec<OutboxEntry>,
    pub(crate) report_scheduled: bool,
    /// Global listeners to remove on `close()`; the closures stay alive while registered.
    pub(crate) hooks: Vec<(&'static str, PageHook)>,
}

impl Inner {
    /// A fresh instance in memory: storage is opened, and stored state restored, afterwards.
    pub(crate) fn new(engine: Engine, options: &CreateOptions) -> Inner {
        Inner {
            engine,
            site: options.site.clone(),
            db: None,
            memory_reason: None,
            synced_gen: 0.0,
            pending: Pending::default(),
            flush_delay_ms: options.flush_delay_ms,
            flush_scheduled: false,
            chain: Promise::resolve(&JsValue::UNDEFINED),
            forgetting: false,
            listeners: Vec::new(),
            warnings: Vec::new(),
            quarantined: Vec::new(),
            model_source: None,
            channel: None,
            channel_handler: None,
            dirty: false,
            reports_url: options.reports_url(),
            consent: options.consent,
            report_delay_ms: options.report_delay_ms,
            retry_delay_ms: options.retry_delay_ms,
            outbox_days: options.outbox_days.max(1),
            outbox: Vec::new(),
            report_scheduled: false,
            hooks: Vec::new(),
        }
    }

    pub(crate) fn storage_name(&self) -> &'static str {
        if self.db.is_some() {
            "indexeddb"
        } else {
            "memory"
        }
    }
}
