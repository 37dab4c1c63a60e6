//! The common rule model: address and port sets, packet-space boxes, rules and policies.
//! Nothing in here knows about any vendor format.

pub mod addr;
pub mod app;
pub mod conntrack;
pub mod iface;
pub mod interval;
pub mod mark;
pub mod nat;
pub mod policy;
pub mod ports;
pub mod rule;
pub mod ruleset;
pub mod space;
pub mod span;
pub mod trace;

pub use addr::{AddrSet, Family};
pub use conntrack::Seen;
pub use interval::IntervalSet;
pub use policy::{Chain, Decider, Entry, Hook, Piece, Policy, Semantics, Verdict};
pub use rule::{Action, ChainId, NativeRef, Provenance, Rule, RuleId};
pub use ruleset::{At, Outcome, Pipeline, Platform, Ruleset, Stage};
pub use space::{Packet, PacketBox};
pub use span::Span;
