//! The local application a host-firewall rule is scoped to, and what is known of the application
//! whose traffic a flow is.
//!
//! A host firewall (Windows Defender Firewall) can scope a rule to one program (`App=`), one
//! service (`Svc=`) or one app-container package (`AppPkgId=`): the rule matches only packets
//! sent or received by that application. The application is one more coordinate of a packet,
//! beside its addresses and ports, that the export's boxes do not hold. For a required flow it is
//! fixed: the Zerto component of the guarded role (the catalogue's Windows identity, overridable
//! by facts). So a scoped rule's region, intersected with a flow's region, is either empty (the
//! scope names another application: the rule cannot match any packet of the flow) or the rule's
//! box (the scope may be the flow's application: the rule stays undecidable, its scope's reason
//! in [`Rule::undecidable`](super::Rule::undecidable)).
//!
//! [`Ruleset::for_application`] makes that intersection once per audited firewall: a copy in
//! which every rule whose scope excludes the flow's application matches nothing, and the list of
//! what was set aside and why. A rule's scopes are part of its Windows reference
//! ([`NativeRef::Windows`]). Region evaluation then proceeds as usual; nothing reads a rule's
//! syntax to decide a verdict.

use super::{NativeRef, PacketBox, RuleId, Ruleset};

/// One scope of a rule; a rule with several (a program and a service) matches only traffic that
/// is in all of them.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum AppScope {
    /// A program path as written (`C:\tools\ruby.exe`, `%SystemRoot%\system32\svchost.exe`).
    Program(String),
    /// A service short name (`Dnscache`); `*` (any service) is [`AppScope::AnyService`].
    Service(String),
    /// Traffic of some service, which one not said (`Svc=*`).
    AnyService,
    /// An app-container (Store app) package SID (`AppPkgId=S-1-15-2-...`).
    Package(String),
    /// The traffic of one Windows feature, named by a keyword the firewall resolves at run time:
    /// a port keyword standing for the ports that feature's own sockets use (`IPHTTPSIn`: the
    /// IP-HTTPS listener; `RPC`: the ports the RPC endpoint mapper handed out; `Teredo`), or a
    /// trust-tuple keyword standing for the peers the feature itself put in its trust tuple
    /// (`UPnP`, `WFDKmDriver`, `Proximity`). The string says which keyword, for the report.
    Feature(String),
}

/// What is known of the application whose traffic a flow is. `None` fields are unknown: a scope
/// on them may match.
#[derive(Debug, Clone, PartialEq, Eq, Default, Hash)]
pub struct AppIdentity {
    /// Its program's full path, or only its file name (`Zerto.Zvm.Service.exe`).
    pub program: Option<String>,
    /// The short name of the service it runs as.
    pub service: Option<String>,
    /// Whether it runs as an app-container package: Zerto's components are desktop programs and
    /// services, never Store apps (`Some(false)`).
    pub packaged: Option<bool>,
    /// Where this identity comes from (the catalogue, a fact), for the report.
    pub source: String,
    /// The program was stated by the user (a fact), not the catalogue's default: the user says
    /// which process owns the component's sockets, so a rule for the kernel's `System` process
    /// is another program's (see [`AppScope::may_match`]).
    pub stated: bool,
    /// The traffic is a Zerto component's (the catalogue has a Windows identity for the role, or
    /// a fact names it): never a Windows feature's ([`AppScope::Feature`]).
    pub component: bool,
}

/// The final component of a Windows path, lower-case.
fn file_name(p: &str) -> String {
    let p = p.trim().trim_matches('"');
    p.rsplit(['\\', '/'])
        .next()
        .unwrap_or(p)
        .to_ascii_lowercase()
}

impl AppScope {
    /// Whether some traffic of `id` may be in this scope: `false` only when the scope certainly
    /// names another application.
    ///
    /// A program is another one when the file names differ and the rule's file name is literal
    /// (no `%variable%` or wildcard in it: a variable in the folders cannot change the file
    /// name). A service is another one when both names are known and differ (service names are
    /// case-insensitive). A package is never a desktop program or service.
    pub fn may_match(&self, id: &AppIdentity) -> bool {
        match self {
            AppScope::Program(p) => {
                let Some(mine) = &id.program else { return true };
                let theirs = file_name(p);
                // `System` is the kernel's pseudo-process: it owns the traffic of kernel-mode
                // listeners, such as http.sys serving the HTTP(S) URLs a service registers
                // (HttpListener, WCF self-hosting). Whether a Zerto component's ports are served
                // so is not in the export: unless the user stated the component's program, a
                // rule for `System` may be its traffic.
                (theirs == "system" && !id.stated)
                    || theirs.contains(['%', '*', '?'])
                    || theirs == file_name(mine)
            }
            AppScope::Service(s) => match &id.service {
                Some(mine) => mine.trim().eq_ignore_ascii_case(s.trim()),
                None => true,
            },
            AppScope::AnyService => true,
            AppScope::Package(_) => id.packaged != Some(false),
            // a Zerto component's port has the component's socket, not the feature's, and its
            // peers are Zerto hosts, not ones the feature discovered: MS-FASP describes these
            // keywords as the feature's own dynamic ports and trust-tuple peers
            AppScope::Feature(_) => !id.component,
        }
    }

    /// Why a rule of this scope does not match the application `id`.
    pub fn excluded_because(&self, id: &AppIdentity) -> String {
        match self {
            AppScope::Program(p) => format!(
                "scoped to the program {p}, not {}",
                id.program.as_deref().unwrap_or("?")
            ),
            AppScope::Service(s) => format!(
                "scoped to the service {s}, not {}",
                id.service.as_deref().unwrap_or("?")
            ),
            AppScope::AnyService => "scoped to services".into(),
            AppScope::Package(p) => format!("scoped to the Store app package {p}"),
            AppScope::Feature(k) => {
                format!(
                    "{k} ties it to that Windows feature's own traffic, not a Zerto component's"
                )
            }
        }
    }
}

/// A rule [`Ruleset::for_application`] set aside: it cannot match the application's traffic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetAside {
    pub policy: usize,
    pub rule: RuleId,
    /// What the rule matched before (to tell which flows it would have touched).
    pub matches: PacketBox,
    pub why: String,
}

impl Ruleset {
    /// This ruleset as the traffic of application `id` sees it: every rule one of whose scopes
    /// ([`NativeRef::Windows`]'s) excludes `id` matches nothing; `None` when no rule is set
    /// aside, else the copy and what was set aside and why.
    pub fn for_application(&self, id: &AppIdentity) -> Option<(Ruleset, Vec<SetAside>)> {
        let mut out = self.clone();
        let mut aside = Vec::new();
        for (pi, p) in self.policies.iter().enumerate() {
            for (ri, r) in p.rules.iter().enumerate() {
                let NativeRef::Windows { scopes, .. } = &r.native else {
                    continue;
                };
                let Some(excl) = scopes.iter().find(|sc| !sc.may_match(id)) else {
                    continue;
                };
                let Some(rule) = out
                    .policies
                    .get_mut(pi)
                    .map(std::sync::Arc::make_mut)
                    .and_then(|p| p.rules.get_mut(ri))
                else {
                    continue;
                };
                rule.matches.proto = super::ports::ProtoSet::empty();
                rule.undecidable.clear();
                rule.mark = None;
                aside.push(SetAside {
                    policy: pi,
                    rule: ri,
                    matches: r.matches.clone(),
                    why: excl.excluded_because(id),
                });
            }
        }
        if aside.is_empty() {
            return None;
        }
        // the union groups cached for the rules as written are stale
        for pi in aside.iter().map(|s| s.policy) {
            if let Some(p) = out.policies.get_mut(pi) {
                std::sync::Arc::make_mut(p).union_cache = Default::default();
            }
        }
        Some((out, aside))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_against_an_identity() {
        let zvm = AppIdentity {
            program: Some(
                r"C:\Program Files\Zerto\Zerto Virtual Replication\Zerto.Zvm.Service.exe".into(),
            ),
            service: None,
            packaged: Some(false),
            source: "t".into(),
            stated: false,
            component: true,
        };
        let p = |s: &str| AppScope::Program(s.into());
        // the kernel's System process may own a component's sockets (http.sys) unless the user
        // stated the component's program
        assert!(p("System").may_match(&zvm));
        assert!(!p("System").may_match(&AppIdentity {
            stated: true,
            ..zvm.clone()
        }));
        assert!(!p(r"C:\tools\ruby24\bin\ruby.exe").may_match(&zvm));
        assert!(!p(r"%SystemRoot%\system32\svchost.exe").may_match(&zvm));
        assert!(
            p(r"%ProgramFiles%\Zerto\Zerto Virtual Replication\zerto.zvm.service.exe")
                .may_match(&zvm)
        );
        assert!(p(r"C:\x\%APP%").may_match(&zvm));
        assert!(!AppScope::Package("S-1-15-2-1".into()).may_match(&zvm));
        // a keyword-scoped rule is a Windows feature's: not a Zerto component's, but it may be
        // the traffic of a role the catalogue knows nothing of
        let feature = AppScope::Feature("the local port keyword `IPHTTPSIn`".into());
        assert!(!feature.may_match(&zvm));
        assert!(feature.may_match(&AppIdentity::default()));
        // unknown service name: a service scope may be it
        assert!(AppScope::Service("Dnscache".into()).may_match(&zvm));
        assert!(AppScope::AnyService.may_match(&zvm));
        let named = AppIdentity {
            service: Some("ZertoZvm".into()),
            ..zvm.clone()
        };
        assert!(!AppScope::Service("Dnscache".into()).may_match(&named));
        assert!(AppScope::Service("zertozvm".into()).may_match(&named));
        // nothing known: everything may match
        let none = AppIdentity::default();
        assert!(p(r"C:\tools\ruby.exe").may_match(&none));
        assert!(AppScope::Package("S-1-15-2-1".into()).may_match(&none));
    }
}
