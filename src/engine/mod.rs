//! The engine: what Portolan computes from audited firewalls, independent of the command line.
pub mod diff;
