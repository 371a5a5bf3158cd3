//! Cross-crate integration tests of pacer live in `tests/`; this library is empty.
