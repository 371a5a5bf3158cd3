//! Nothing here: the checks are this package's tests (`tests/each_adapter.rs`), which use each
//! std adapter alone, with no dependency on pacer-core.
#![forbid(unsafe_code)]
