//! ARM templates: the expression evaluator and the template walker.

pub(super) mod expr;
pub(super) mod template;
