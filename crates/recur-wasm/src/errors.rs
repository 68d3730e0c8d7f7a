//! Core errors as JavaScript `Error` objects carrying the stable `code` of the core.

use recur_core::Error;
use wasm_bindgen::JsValue;

/// A JS `Error` whose `message` is the core's message and whose `code` property is
/// [`Error::code`] (e.g. `ERR_SHAPE`); the SDK rebuilds its error classes from `code`.
pub fn to_js(err: Error) -> JsValue {
    let js = js_sys::Error::new(&err.to_string());
    js.set_name("RecurError");
    // Setting a property on a fresh Error object cannot fail.
    let _ = js_sys::Reflect::set(&js, &JsValue::from_str("code"), &JsValue::from_str(err.code()));
    js.into()
}

/// The binding's result type.
pub type JsResult<T> = Result<T, JsValue>;

/// Converts a core result.
pub fn js<T>(r: recur_core::Result<T>) -> JsResult<T> {
    r.map_err(to_js)
}
