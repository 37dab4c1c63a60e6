//! The common rule model: address and port sets, packet-space boxes, rules and policies.
//! Nothing in here knows about any vendor format.

pub mod span;

pub use span::Span;
