//! What the module throws: a JS `Error` whose `name` is `"KindredError"` and whose `code` is
//! one of [`ErrorCode`], so callers branch on `e.code` instead of parsing `e.message` (the
//! message is for people and may be reworded).
//!
//! automerge's wasm binding types its errors in Rust (one enum per operation, converted at the
//! boundary) but throws them all as `RangeError`; kindred keeps the typing at the boundary: the
//! code is the stable part of the error. `KindredErrorCode` in `kindred.d.ts` lists the same
//! codes (a native test compares them with [`ErrorCode::ALL`]).

use js_sys::Reflect;
use kindred_core::catalog::CatalogError;
use kindred_core::EngineError;
use wasm_bindgen::JsValue;

/// The `name` of every error kindred throws.
pub(crate) const ERROR_NAME: &str = "KindredError";

/// Why a call failed, as JS sees it in `error.code`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ErrorCode {
    /// `Kindred.create` options: an unknown or replaced name, a wrong type, a value out of range.
    InvalidOption,
    /// `track`: a malformed event.
    InvalidEvent,
    /// `recommend` or `similar`: malformed or contradictory options.
    InvalidRequest,
    /// Another argument: an interest key, a consent state, an event name.
    InvalidArgument,
    /// `loadCatalog`: no valid row, or not an array.
    InvalidCatalog,
    /// `loadModel`: not a model this version reads (format, shape or values).
    InvalidModel,
    /// An item id that is not in the loaded catalog.
    UnknownItem,
    /// Recommendations were asked for before any catalog was loaded.
    NoCatalog,
    /// The catalog or model URL could not be fetched (network, HTTP status, not JSON).
    FetchFailed,
    /// The browser's random number generator failed, so no report could be drawn.
    RandomUnavailable,
    /// A failure that valid use of the API cannot cause (a bug in kindred).
    Internal,
}

impl ErrorCode {
    /// Every code, as listed in `KindredErrorCode` in `kindred.d.ts` (checked by a test).
    #[cfg(test)]
    pub(crate) const ALL: [ErrorCode; 11] = [
        ErrorCode::InvalidOption,
        ErrorCode::InvalidEvent,
        ErrorCode::InvalidRequest,
        ErrorCode::InvalidArgument,
        ErrorCode::InvalidCatalog,
        ErrorCode::InvalidModel,
        ErrorCode::UnknownItem,
        ErrorCode::NoCatalog,
        ErrorCode::FetchFailed,
        ErrorCode::RandomUnavailable,
        ErrorCode::Internal,
    ];

    /// The code as JS sees it.
    pub(crate) fn name(self) -> &'static str {
        match self {
            ErrorCode::InvalidOption => "invalid-option",
            ErrorCode::InvalidEvent => "invalid-event",
            ErrorCode::InvalidRequest => "invalid-request",
            ErrorCode::InvalidArgument => "invalid-argument",
            ErrorCode::InvalidCatalog => "invalid-catalog",
            ErrorCode::InvalidModel => "invalid-model",
            ErrorCode::UnknownItem => "unknown-item",
            ErrorCode::NoCatalog => "no-catalog",
            ErrorCode::FetchFailed => "fetch-failed",
            ErrorCode::RandomUnavailable => "random-unavailable",
            ErrorCode::Internal => "internal",
        }
    }
}

/// What a `warning` event reports (`Warning.code` in `kindred.d.ts`): something went wrong
/// that did not throw, because the shopper's page goes on working.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WarningCode {
    /// IndexedDB cannot be opened: the shopper's data is kept in memory for this page.
    StorageUnavailable,
    /// A write to IndexedDB failed: the data is kept in memory from now on.
    StorageFailed,
    /// The storage quota is exhausted: the data is kept in memory from now on.
    QuotaExceeded,
    /// The stored state could not be read: it is quarantined and replaced.
    StateUnreadable,
    /// The shared model could not be refreshed: the cached one is used.
    ModelOffline,
    /// The cached shared model could not be read (e.g. an older format): it is ignored.
    ModelCacheInvalid,
    /// A report could not be delivered now: it is retried later.
    ReportDelayed,
    /// The server refused a report: it is dropped.
    ReportRejected,
    /// Reports expired undelivered, or were being sent when a page closed.
    ReportDropped,
}

impl WarningCode {
    /// Every code, as listed in `Warning.code` in `kindred.d.ts` (checked by a test).
    #[cfg(test)]
    pub(crate) const ALL: [WarningCode; 9] = [
        WarningCode::StorageUnavailable,
        WarningCode::StorageFailed,
        WarningCode::QuotaExceeded,
        WarningCode::StateUnreadable,
        WarningCode::ModelOffline,
        WarningCode::ModelCacheInvalid,
        WarningCode::ReportDelayed,
        WarningCode::ReportRejected,
        WarningCode::ReportDropped,
    ];

    /// The code as JS sees it.
    pub(crate) fn name(self) -> &'static str {
        match self {
            WarningCode::StorageUnavailable => "storage-unavailable",
            WarningCode::StorageFailed => "storage-failed",
            WarningCode::QuotaExceeded => "quota-exceeded",
            WarningCode::StateUnreadable => "state-unreadable",
            WarningCode::ModelOffline => "model-offline",
            WarningCode::ModelCacheInvalid => "model-cache-invalid",
            WarningCode::ReportDelayed => "report-delayed",
            WarningCode::ReportRejected => "report-rejected",
            WarningCode::ReportDropped => "report-dropped",
        }
    }
}

/// An error on its way to JS (thrown, or the rejection of a promise): the JS `Error` itself,
/// built when the error is made, so that passing it up with `?` costs what `JsError` does (a
/// handle; a code and a `String` measured 1.0 KB more gzipped wasm across the binding).
#[derive(Debug, Clone)]
pub struct KindredError(JsValue);

impl KindredError {
    pub(crate) fn new(code: ErrorCode, message: impl AsRef<str>) -> KindredError {
        KindredError::with_message(code, message.as_ref())
    }

    /// One copy of the construction, whatever string type the caller has.
    fn with_message(code: ErrorCode, message: &str) -> KindredError {
        let thrown = js_sys::Error::new(message);
        thrown.set_name(ERROR_NAME);
        let _ = Reflect::set(&thrown, &"code".into(), &code.name().into());
        KindredError(thrown.into())
    }
}

impl From<KindredError> for JsValue {
    fn from(error: KindredError) -> JsValue {
        error.0
    }
}

/// The code JS sees for an engine error.
pub(crate) fn engine_error_code(error: &EngineError) -> ErrorCode {
    match error {
        EngineError::Catalog(CatalogError::UnknownItem(_)) => ErrorCode::UnknownItem,
        EngineError::Catalog(_) => ErrorCode::InvalidCatalog,
        EngineError::Event(_) | EngineError::StrategyOnNonClick(_) => ErrorCode::InvalidEvent,
        EngineError::Request(_) => ErrorCode::InvalidRequest,
        EngineError::Model(_) => ErrorCode::InvalidModel,
        EngineError::PrivacyConfig(_) | EngineError::Config { .. } => ErrorCode::InvalidOption,
        EngineError::NoCatalog => ErrorCode::NoCatalog,
        // Stored state is restored, never passed in, and the binding never shares catalogs.
        EngineError::Snapshot(_) | EngineError::SharedCatalog => ErrorCode::Internal,
    }
}

impl From<EngineError> for KindredError {
    fn from(error: EngineError) -> KindredError {
        KindredError::new(engine_error_code(&error), error.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_distinct_kebab_case() {
        let names: Vec<&str> = ErrorCode::ALL.iter().map(|c| c.name()).collect();
        for (i, name) in names.iter().enumerate() {
            assert!(!names[..i].contains(name), "{name} twice");
            assert!(
                name.chars().all(|c| c.is_ascii_lowercase() || c == '-'),
                "{name}"
            );
        }
    }

    #[test]
    fn engine_errors_get_the_code_of_what_went_wrong() {
        let unknown = EngineError::Catalog(CatalogError::UnknownItem("zzz".into()));
        assert_eq!(engine_error_code(&unknown), ErrorCode::UnknownItem);
        let empty = EngineError::Catalog(CatalogError::NotAnArray("an object"));
        assert_eq!(engine_error_code(&empty), ErrorCode::InvalidCatalog);
        assert_eq!(
            engine_error_code(&EngineError::NoCatalog),
            ErrorCode::NoCatalog
        );
    }
}
