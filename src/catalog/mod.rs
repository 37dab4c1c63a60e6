//! The Zerto requirements catalogue (work in progress: condition language, MSP port range).

pub mod condition;
pub mod msp;
