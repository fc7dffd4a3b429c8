//! Durable local storage: IndexedDB through web-sys, one database per site (`kindred:<site>`)
//! with one key-value object store. Keys:
//!
//! - `state`: `{ gen, bytes, savedAt }`, the core snapshot of the shopper's state, or
//!   `{ gen, forgotten: true, bytes, savedAt }` after `forget()`: then `bytes` hold no behaviour,
//!   only what must outlive it (the privacy ledger, the last reported day and the closed
//!   contribution window), and older records (kindred 0.1) have no `bytes` at all. `gen` grows by one with every write, which is
//!   how a tab notices that another tab wrote since it last looked (see `persist.rs`).
//! - `quarantine`: stored bytes that could not be read (corrupt or from a newer version), kept
//!   untouched so `exportData()` can still hand them to the shopper.
//! - `outbox`: committed reports not yet delivered (see `transport.rs`).
//! - `model`: the last shared model with its URL and `ETag`, for conditional requests and for
//!   recommending while the server is unreachable.
//!
//! Every function returns the JS error (a `DOMException` usually) so the caller can decide
//! between reporting it and falling back to memory.

use js_sys::{Promise, Reflect, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    IdbDatabase, IdbFactory, IdbObjectStore, IdbRequest, IdbTransaction, IdbTransactionMode,
};

const STORE: &str = "kv";
pub(crate) const STATE_KEY: &str = "state";
pub(crate) const QUARANTINE_KEY: &str = "quarantine";
pub(crate) const MODEL_KEY: &str = "model";
pub(crate) const OUTBOX_KEY: &str = "outbox";
const DB_VERSION: u32 = 1;

/// Opens (creating on first use) the site's database. Fails when IndexedDB is missing (Node,
/// some private modes), refused (`SecurityError`) or blocked by an older tab mid-upgrade.
pub(crate) async fn open(name: &str) -> Result<IdbDatabase, JsValue> {
    let factory = Reflect::get(&js_sys::global(), &"indexedDB".into())?;
    if factory.is_undefined() || factory.is_null() {
        return Err(js_sys::Error::new("IndexedDB is not available here").into());
    }
    let factory: IdbFactory = factory.unchecked_into();
    let request = factory.open_with_u32(name, DB_VERSION)?;
    let upgrading = request.clone();
    let on_upgrade = Closure::once_into_js(move |_: JsValue| {
        if let Ok(db) = upgrading.result() {
            let db: IdbDatabase = db.unchecked_into();
            if !db.object_store_names().contains(STORE) {
                // An error here aborts the upgrade and surfaces as the open request's error.
                let _ = db.create_object_store(STORE);
            }
        }
    });
    request.set_onupgradeneeded(Some(on_upgrade.unchecked_ref()));
    let promise = Promise::new(&mut |resolve, reject| {
        let reject_blocked = reject.clone();
        let blocked = Closure::once_into_js(move |_: JsValue| {
            let error = js_sys::Error::new("IndexedDB is blocked by another tab of this site");
            let _ = reject_blocked.call1(&JsValue::UNDEFINED, &error);
        });
        request.set_onblocked(Some(blocked.unchecked_ref()));
        settle(&request, resolve, Some(reject));
    });
    let db: IdbDatabase = JsFuture::from(promise).await?.unchecked_into();
    // A newer version of kindred in another tab wants to upgrade: let it.
    let closing = db.clone();
    let on_version_change = Closure::once_into_js(move |_: JsValue| closing.close());
    db.set_onversionchange(Some(on_version_change.unchecked_ref()));
    Ok(db)
}

/// Resolves with the request's result or rejects with its error.
fn settle(request: &IdbRequest, resolve: js_sys::Function, reject: Option<js_sys::Function>) {
    let ok_request = request.clone();
    let on_success = Closure::once_into_js(move |_: JsValue| {
        let _ = resolve.call1(
            &JsValue::UNDEFINED,
            &ok_request.result().unwrap_or_default(),
        );
    });
    request.set_onsuccess(Some(on_success.unchecked_ref()));
    let failed = request.clone();
    let on_error = Closure::once_into_js(move |_: JsValue| {
        if let Some(reject) = reject {
            let error = failed
                .error()
                .ok()
                .flatten()
                .map_or(JsValue::NULL, JsValue::from);
            let _ = reject.call1(&JsValue::UNDEFINED, &error);
        }
    });
    request.set_onerror(Some(on_error.unchecked_ref()));
}

/// Awaits one request.
pub(crate) async fn request(request: IdbRequest) -> Result<JsValue, JsValue> {
    let promise = Promise::new(&mut |resolve, reject| settle(&request, resolve, Some(reject)));
    JsFuture::from(promise).await
}

/// A transaction over the store, and a promise that settles when it commits (or fails).
/// Writes are durable only once `committed` resolves.
pub(crate) struct Transaction {
    pub(crate) store: IdbObjectStore,
    committed: Promise,
}

impl Transaction {
    pub(crate) fn new(db: &IdbDatabase, write: bool) -> Result<Transaction, JsValue> {
        let mode = if write {
            IdbTransactionMode::Readwrite
        } else {
            IdbTransactionMode::Readonly
        };
        let tx: IdbTransaction = db.transaction_with_str_and_mode(STORE, mode)?;
        let committed = Promise::new(&mut |resolve, reject| {
            let on_complete = Closure::once_into_js(move |_: JsValue| {
                let _ = resolve.call0(&JsValue::UNDEFINED);
            });
            tx.set_oncomplete(Some(on_complete.unchecked_ref()));
            let failed = tx.clone();
            let on_fail = Closure::once_into_js(move |_: JsValue| {
                let error = failed.error().map_or(JsValue::NULL, JsValue::from);
                let _ = reject.call1(&JsValue::UNDEFINED, &error);
            });
            // `error` bubbles from failed requests; `abort` also covers quota errors at commit.
            tx.set_onabort(Some(on_fail.unchecked_ref()));
        });
        Ok(Transaction {
            store: tx.object_store(STORE)?,
            committed,
        })
    }

    pub(crate) async fn get(&self, key: &str) -> Result<JsValue, JsValue> {
        request(self.store.get(&key.into())?).await
    }

    /// Queues a write; it is durable after [`Transaction::commit`].
    pub(crate) fn put(&self, key: &str, value: &JsValue) -> Result<(), JsValue> {
        self.store.put_with_key(value, &key.into()).map(drop)
    }

    pub(crate) fn clear(&self) -> Result<(), JsValue> {
        self.store.clear().map(drop)
    }

    pub(crate) async fn commit(self) -> Result<(), JsValue> {
        JsFuture::from(self.committed).await.map(drop)
    }
}

/// The `state` record as read from storage.
pub(crate) enum StoredState {
    /// Nothing stored yet.
    Empty,
    /// A tab ran `forget()`: the state is empty on purpose, except for the report state in
    /// `bytes` (a snapshot without history or profile).
    Forgotten {
        gen: f64,
        bytes: Option<Vec<u8>>,
    },
    Snapshot {
        gen: f64,
        bytes: Vec<u8>,
    },
    /// Not something this code wrote: kept as is for `exportData()`.
    Unreadable {
        gen: f64,
        raw: JsValue,
    },
}

impl StoredState {
    pub(crate) fn parse(raw: JsValue) -> StoredState {
        if raw.is_undefined() || raw.is_null() {
            return StoredState::Empty;
        }
        let field = |name: &str| Reflect::get(&raw, &name.into()).unwrap_or_default();
        let gen = field("gen")
            .as_f64()
            .filter(|g| g.is_finite())
            .unwrap_or(0.0);
        let bytes = field("bytes").dyn_into::<Uint8Array>();
        if field("forgotten").is_truthy() {
            let bytes = bytes.ok().map(|b| b.to_vec());
            return StoredState::Forgotten { gen, bytes };
        }
        match bytes {
            Ok(bytes) => StoredState::Snapshot {
                gen,
                bytes: bytes.to_vec(),
            },
            Err(_) => StoredState::Unreadable { gen, raw },
        }
    }

    pub(crate) fn gen(&self) -> f64 {
        match self {
            StoredState::Empty => 0.0,
            StoredState::Forgotten { gen, .. }
            | StoredState::Snapshot { gen, .. }
            | StoredState::Unreadable { gen, .. } => *gen,
        }
    }

    /// The snapshot bytes stored, if any.
    pub(crate) fn bytes(&self) -> Option<&[u8]> {
        match self {
            StoredState::Snapshot { bytes, .. }
            | StoredState::Forgotten {
                bytes: Some(bytes), ..
            } => Some(bytes),
            _ => None,
        }
    }
}

/// A plain JS object from `(key, value)` pairs.
pub(crate) fn record(fields: &[(&str, JsValue)]) -> JsValue {
    let object = js_sys::Object::new();
    for (key, value) in fields {
        let _ = Reflect::set(&object, &(*key).into(), value);
    }
    object.into()
}

/// The state record for a snapshot (`forgotten`: written by `forget()`).
pub(crate) fn snapshot_record(gen: f64, bytes: &[u8], saved_at: i64, forgotten: bool) -> JsValue {
    let value = record(&[
        ("gen", gen.into()),
        ("bytes", Uint8Array::from(bytes).into()),
        ("savedAt", (saved_at as f64).into()),
    ]);
    if forgotten {
        let _ = Reflect::set(&value, &"forgotten".into(), &true.into());
    }
    value
}
