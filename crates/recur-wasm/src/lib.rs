//! WebAssembly bindings of recur-core (filled in by the SDK work).
