//! Where 64-bit atomics come from: `core` where the target has them, `portable-atomic` where it
//! does not and the feature is on.

#[cfg(feature = "portable-atomic")]
pub(crate) use portable_atomic::{AtomicU64, Ordering};

#[cfg(all(not(feature = "portable-atomic"), target_has_atomic = "64"))]
pub(crate) use core::sync::atomic::{AtomicU64, Ordering};
