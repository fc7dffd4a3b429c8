//! Events: `on("update")` and `on("warning")` listeners, and the warnings kept for listeners
//! added later.

use js_sys::Function;
use wasm_bindgen::prelude::*;

use crate::convert::console_error;
use crate::error::{ErrorCode, KindredError, WarningCode};
use crate::instance::Shared;
use crate::values::{update_js, warning_js};

/// Calls the listeners of `event` with `detail`. Never called with `Inner` borrowed: listeners
/// may call back into the instance.
fn emit(shared: &Shared, event: &str, detail: &JsValue) {
    let callbacks: Vec<Function> = shared
        .borrow()
        .listeners
        .iter()
        .filter(|(name, _)| name == event)
        .map(|(_, f)| f.clone())
        .collect();
    for callback in callbacks {
        if let Err(e) = callback.call1(&JsValue::UNDEFINED, detail) {
            console_error("kindred: an event listener threw", &e);
        }
    }
}

pub(crate) fn emit_update(shared: &Shared, reason: &str) {
    emit(shared, "update", &update_js(&reason));
}

/// Records a warning (kept for listeners added later) and tells the listeners.
pub(crate) fn warn(shared: &Shared, code: WarningCode, message: String) {
    let detail = warning_js(&(code.name(), message));
    shared.borrow_mut().warnings.push(detail.clone());
    emit(shared, "warning", &detail);
}

/// `on(event, callback)`: adds a listener; a `warning` listener hears the earlier warnings at
/// once.
pub(crate) fn listen(shared: &Shared, event: &str, callback: Function) -> Result<(), KindredError> {
    if event != "update" && event != "warning" {
        return Err(KindredError::new(
            ErrorCode::InvalidArgument,
            format!("unknown event \"{event}\": use \"update\" or \"warning\""),
        ));
    }
    let earlier = {
        let mut inner = shared.borrow_mut();
        inner.listeners.push((event.to_owned(), callback.clone()));
        if event == "warning" {
            inner.warnings.clone()
        } else {
            Vec::new()
        }
    };
    for detail in earlier {
        if let Err(e) = callback.call1(&JsValue::UNDEFINED, &detail) {
            console_error("kindred: an event listener threw", &e);
        }
    }
    Ok(())
}

/// `off(event, callback)`: removes a listener added with [`listen`].
pub(crate) fn unlisten(shared: &Shared, event: &str, callback: &Function) {
    shared
        .borrow_mut()
        .listeners
        .retain(|(name, f)| !(name == event && f == callback));
}
