//! The Windows identity of a Zerto component: which program and service its traffic belongs to,
//! from the catalogue's `[[windows_identity]]` rows and the facts that override them.

use super::condition::{self, Context};
use super::Catalog;

impl Catalog {
    /// What is known of the Windows program and service whose traffic a host of `role` sends
    /// and receives for its Zerto flows: the catalogue's row for the role, each name overridden
    /// by the fact `windows_<role>_program` / `windows_<role>_service`.
    pub fn windows_identity(&self, role: &str, facts: &Context) -> crate::model::app::AppIdentity {
        let row = self.windows.iter().find(|w| w.role == role);
        let key = role.replace('-', "_");
        let fact = |what: &str| {
            facts
                .get(&format!("windows_{key}_{what}"))
                .map(|v| match v {
                    condition::Value::Str(s) => s.clone(),
                    other => other.to_string(),
                })
                .filter(|s| !s.trim().is_empty())
        };
        let (fp, fs) = (fact("program"), fact("service"));
        let source = match (&fp, &fs, row) {
            (Some(_), _, _) | (_, Some(_), _) => format!(
                "the facts windows_{key}_program / windows_{key}_service, else the catalogue's default"
            ),
            (None, None, Some(_)) => format!(
                "the catalogue's default for {role}; set windows_{key}_program / windows_{key}_service if this installation differs"
            ),
            (None, None, None) => format!(
                "nothing: the catalogue names no Windows program for {role}; set windows_{key}_program / windows_{key}_service"
            ),
        };
        crate::model::app::AppIdentity {
            stated: fp.is_some(),
            component: row.is_some() || fp.is_some() || fs.is_some(),
            program: fp.or_else(|| row.and_then(|w| w.program.clone())),
            service: fs.or_else(|| row.and_then(|w| w.service.clone())),
            packaged: Some(false),
            source,
        }
    }
}
