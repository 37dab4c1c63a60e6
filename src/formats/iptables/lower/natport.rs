//! A NAT target with a port needs a protocol with ports: iptables-extensions(8) says a port "is
//! only valid if the rule also specifies one of the following protocols: tcp, udp, dccp or
//! sctp", and iptables-restore refuses the file ("Need TCP, UDP, SCTP or DCCP with port
//! specification"). Found by issue 21's kernel oracle: Portolan translated such a rule.

use super::super::RuleLine;
use super::Ctx;
use crate::model::Action;

/// `Some` (a Z001 reported, the rule's packets unknown) when `-j name` gives a port and the rule
/// matches no protocol with ports.
pub(super) fn refused(
    line: &RuleLine<'_>,
    t: &super::super::Target<'_>,
    name: &str,
    ctx: &mut Ctx<'_>,
) -> Option<(Action, Vec<String>)> {
    if !names_port(t, name) || port_protocol(line) {
        return None;
    }
    ctx.error(
        t.name.span,
        format!(
            "`-j {name}` with a port needs `-p tcp`, `udp`, `sctp` or `dccp`: iptables-restore refuses it"
        ),
        "port without a protocol",
    );
    Some((
        Action::Opaque,
        vec![format!(
            "-j {name}: a port without a protocol (the file is refused)"
        )],
    ))
}

/// Does a NAT target give a port (`--to-ports`, or `:PORT` after the address)?
fn names_port(t: &super::super::Target<'_>, name: &str) -> bool {
    t.args.iter().any(|a| match (name, a.name.as_ref()) {
        (_, "to-ports") => true,
        (_, "to-destination" | "to-source") => a.values.first().is_some_and(|v| {
            let v = v.text.as_ref();
            // `[v6]:port`, `v4:port`, `:port`; a bare IPv6 address has several colons
            match v.rsplit_once("]:") {
                Some(_) => true,
                None => v.matches(':').count() == 1,
            }
        }),
        _ => false,
    })
}

/// Does the rule match one protocol with ports (`-p tcp`, `udp`, `sctp`, `dccp`, not negated)?
fn port_protocol(line: &RuleLine<'_>) -> bool {
    line.args.iter().any(|a| {
        a.module.is_none()
            && a.name == "p"
            && !a.negated
            && a.values.first().is_some_and(|v| {
                matches!(
                    v.text.to_ascii_lowercase().as_str(),
                    "tcp" | "udp" | "sctp" | "dccp" | "6" | "17" | "132" | "33"
                )
            })
    })
}
