//! The Zerto requirements catalogue (work in progress: the condition language).

pub mod condition;
