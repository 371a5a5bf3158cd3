//! The server layer: limit requests by key, class and route.
