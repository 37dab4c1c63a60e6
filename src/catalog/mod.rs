//! The Zerto requirements catalogue (placeholder; see issue #2).
