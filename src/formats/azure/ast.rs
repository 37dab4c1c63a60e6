//! The Azure NSG vendor AST: NSGs and security rules as read, every value a [`Value`] with its
//! span.

use crate::model::Span;

/// How a [`Value`] was read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ValueState {
    /// As written (a string's contents, or a number as text).
    Literal,
    /// An expression the file cannot settle (an ARM `[variables('x')]`, a Terraform unknown):
    /// the reason, one sentence naming the expression.
    Unresolved(String),
    /// The JSON type is wrong: what was found (`a boolean`, `an object`).
    WrongType(&'static str),
}

/// One field value of a rule, with the span of the value in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Value {
    /// The text: a string's contents, a number as written, or (unresolved, wrong type) the source
    /// text of the value.
    pub text: String,
    pub span: Span,
    pub state: ValueState,
}

impl Value {
    pub fn literal(text: impl Into<String>, span: Span) -> Self {
        Value {
            text: text.into(),
            span,
            state: ValueState::Literal,
        }
    }
    pub fn unresolved(text: impl Into<String>, span: Span, why: impl Into<String>) -> Self {
        Value {
            text: text.into(),
            span,
            state: ValueState::Unresolved(why.into()),
        }
    }
    pub fn wrong_type(text: impl Into<String>, span: Span, found: &'static str) -> Self {
        Value {
            text: text.into(),
            span,
            state: ValueState::WrongType(found),
        }
    }
}

/// Something that makes a rule (or an NSG) uncertain, with where it is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    pub span: Span,
    /// One sentence: why (`the rule is deployed only when the ARM condition `...` holds`).
    pub reason: String,
}

/// One security rule as the export gives it. Singular and plural fields (`sourcePortRange` and
/// `sourcePortRanges`) are merged into one list; unused empty singulars (`""`, `null`) are left
/// out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecurityRule {
    pub name: String,
    pub name_span: Span,
    /// The rule's whole object (the provenance of the model rules).
    pub span: Span,
    /// One of the six rules Azure adds to every NSG (from `defaultSecurityRules`, or an id or type
    /// that says so).
    pub default_rule: bool,
    pub priority: Option<Value>,
    pub direction: Option<Value>,
    pub access: Option<Value>,
    pub protocol: Option<Value>,
    pub source_prefixes: Vec<Value>,
    pub destination_prefixes: Vec<Value>,
    /// Application security groups by resource id (or name).
    pub source_asgs: Vec<Value>,
    pub destination_asgs: Vec<Value>,
    pub source_ports: Vec<Value>,
    pub destination_ports: Vec<Value>,
    pub description: Option<String>,
    /// Conditions on the rule's existence (an ARM resource `condition`, a `copy` loop): each makes
    /// the rule undecidable.
    pub conditions: Vec<Note>,
    /// ARM parameters whose `defaultValue` the rule's fields were computed from, as `(name,
    /// value)`: a deployment can override them, so the rule's verdicts assume them.
    pub assumptions: Vec<(String, String)>,
}

impl SecurityRule {
    /// An empty rule with this name; the fields are filled by the caller.
    pub fn new(name: impl Into<String>, name_span: Span, span: Span) -> Self {
        SecurityRule {
            name: name.into(),
            name_span,
            span,
            default_rule: false,
            priority: None,
            direction: None,
            access: None,
            protocol: None,
            source_prefixes: Vec::new(),
            destination_prefixes: Vec::new(),
            source_asgs: Vec::new(),
            destination_asgs: Vec::new(),
            source_ports: Vec::new(),
            destination_ports: Vec::new(),
            description: None,
            conditions: Vec::new(),
            assumptions: Vec::new(),
        }
    }
}

/// What a doubt about a whole NSG means for its evaluation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NsgDoubtKind {
    /// The NSG may not exist (an ARM `condition`): then nothing is filtered.
    MayBeAbsent,
    /// Some of its rules are not in the file: any packet's verdict is unknown.
    RulesUnknown,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NsgDoubt {
    pub kind: NsgDoubtKind,
    pub span: Span,
    pub reason: String,
}

/// One network security group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Nsg {
    pub name: String,
    pub name_span: Span,
    /// The NSG's object (or resource) in the file.
    pub span: Span,
    /// Custom rules, then any default rules the export shows, in file order.
    pub rules: Vec<SecurityRule>,
    /// The export carried a `defaultSecurityRules` list. Informational: [`lower`] appends each of
    /// the six defaults that is not among `rules` either way.
    pub default_rules_present: bool,
    pub doubts: Vec<NsgDoubt>,
}

impl Nsg {
    pub fn new(name: impl Into<String>, name_span: Span, span: Span) -> Self {
        Nsg {
            name: name.into(),
            name_span,
            span,
            rules: Vec::new(),
            default_rules_present: false,
            doubts: Vec::new(),
        }
    }
}

/// The six rules Azure puts at the end of every NSG: (name, direction, priority, source,
/// destination, access, description).
pub(super) const DEFAULTS: [(&str, &str, i64, &str, &str, &str, &str); 6] = [
    (
        "AllowVnetInBound",
        "Inbound",
        65000,
        "VirtualNetwork",
        "VirtualNetwork",
        "Allow",
        "Allow inbound traffic from all VMs in VNET",
    ),
    (
        "AllowAzureLoadBalancerInBound",
        "Inbound",
        65001,
        "AzureLoadBalancer",
        "*",
        "Allow",
        "Allow inbound traffic from azure load balancer",
    ),
    (
        "DenyAllInBound",
        "Inbound",
        65500,
        "*",
        "*",
        "Deny",
        "Deny all inbound traffic",
    ),
    (
        "AllowVnetOutBound",
        "Outbound",
        65000,
        "VirtualNetwork",
        "VirtualNetwork",
        "Allow",
        "Allow outbound traffic from all VMs to all VMs in VNET",
    ),
    (
        "AllowInternetOutBound",
        "Outbound",
        65001,
        "*",
        "Internet",
        "Allow",
        "Allow outbound traffic from all VMs to Internet",
    ),
    (
        "DenyAllOutBound",
        "Outbound",
        65500,
        "*",
        "*",
        "Deny",
        "Deny all outbound traffic",
    ),
];

/// The six default rules as Azure defines them, with empty spans (they are not in any file).
pub fn default_rules() -> Vec<SecurityRule> {
    DEFAULTS
        .iter()
        .map(|&(name, dir, prio, s, d, access, descr)| {
            let v = |t: &str| Value::literal(t, Span::default());
            let mut r = SecurityRule::new(name, Span::default(), Span::default());
            r.default_rule = true;
            r.priority = Some(v(&prio.to_string()));
            r.direction = Some(v(dir));
            r.access = Some(v(access));
            r.protocol = Some(v("*"));
            r.source_prefixes = vec![v(s)];
            r.destination_prefixes = vec![v(d)];
            r.source_ports = vec![v("*")];
            r.destination_ports = vec![v("*")];
            r.description = Some(descr.to_string());
            r
        })
        .collect()
}
