//! The client layer: acquire before each call, listen to the answer.
