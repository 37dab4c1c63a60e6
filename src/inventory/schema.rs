//! The JSON Schema of `portolan.toml` (`portolan schema`), for editors (taplo, Even Better TOML)
//! to validate and complete the inventory.
//!
//! The parser's raw structs keep spans (`toml::Spanned`), which schemars does not describe, so
//! the shape is mirrored here in plain structs; the tests hold the mirror, the parser and the
//! bundled example (`fixtures/inventory/example.toml`) to the same keys.

use std::collections::BTreeMap;

use schemars::JsonSchema;

/// `portolan.toml`: a Portolan inventory.
#[derive(JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "portolan.toml")]
pub struct InventoryFile {
    /// The Zerto environment whose requirements apply.
    pub environment: EnvironmentName,
    /// Answers to the catalogue's conditions (`zvm_version = "10.0"`, `ltr = "nfs"`,
    /// `vcd = false`, ...); `portolan catalog --facts` lists every fact, its type and values.
    #[serde(default)]
    pub facts: BTreeMap<String, FactValue>,
    /// Installer-changed default ports, by short name (`zvm_api`, `zvm_pairing`, ...) or
    /// requirement id.
    #[serde(default)]
    pub ports: BTreeMap<String, u16>,
    /// Names firewall rules use for address sets (Azure service tags and ASGs, AWS security
    /// groups and prefix lists, ipsets): addresses, CIDRs or ranges.
    #[serde(default)]
    pub addresses: BTreeMap<String, Vec<String>>,
    /// Directory scans read only files matching one of these globs (all files when empty).
    #[serde(default)]
    pub include: Vec<String>,
    /// Directory scans skip files matching one of these globs (e.g. `**/old/**`).
    #[serde(default)]
    pub exclude: Vec<String>,
    /// The sites, each with the addresses of its Zerto roles.
    #[serde(default)]
    pub site: Vec<SiteEntry>,
    /// The firewall files and what each guards.
    #[serde(default)]
    pub firewall: Vec<FirewallEntry>,
    /// Known findings accepted for a reason, with a ticket, until a date.
    #[serde(default)]
    pub waiver: Vec<WaiverEntry>,
}

#[derive(JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum EnvironmentName {
    Vsphere,
    Hyperv,
    Azure,
    Aws,
    Msp,
    HypervLegacy,
}

/// A fact's value: text, a flag or a number.
#[derive(JsonSchema)]
#[serde(untagged)]
pub enum FactValue {
    Text(String),
    Flag(bool),
    Number(f64),
}

/// `[[site]]`.
#[derive(JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SiteEntry {
    /// The site's name, as `[[firewall]]` `site` and `between` refer to it.
    pub name: String,
    /// The addresses (addresses, CIDRs, ranges `a-b`) of each role at this site.
    #[serde(default)]
    pub roles: Roles,
    /// MSP: `cloud` (the service provider's site) or `customer`; sets the fact `site` for the
    /// flows of this site.
    pub kind: Option<String>,
    /// How many VRAs the site runs, where its `vra` addresses (one per VRA) do not say: the
    /// MSP 9082+ range the other side's VRAs need at the ZCC is two ports per VRA.
    pub vra_count: Option<u32>,
    /// Facts of this site only (`hypervisor = "hyperv"`, `mode = "icdr"`), over `[facts]`.
    #[serde(default)]
    pub facts: BTreeMap<String, FactValue>,
}

/// `[site.roles]`: the Zerto roles.
#[derive(JsonSchema, Default)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Roles {
    pub zvm: Option<Vec<String>>,
    pub vra: Option<Vec<String>>,
    pub vba: Option<Vec<String>>,
    pub zcm: Option<Vec<String>>,
    pub zssp: Option<Vec<String>>,
    pub ltr: Option<Vec<String>>,
    pub esxi: Option<Vec<String>>,
    pub vcenter: Option<Vec<String>>,
    pub scvmm: Option<Vec<String>>,
    pub hyperv_host: Option<Vec<String>>,
    pub vcd: Option<Vec<String>>,
    pub zcc: Option<Vec<String>>,
    pub zca: Option<Vec<String>>,
    pub zasa: Option<Vec<String>>,
    pub azure_services: Option<Vec<String>>,
    pub aws_services: Option<Vec<String>>,
    pub smb_repo: Option<Vec<String>>,
    pub nfs_repo: Option<Vec<String>>,
    pub admin_client: Option<Vec<String>>,
    pub vss_agent: Option<Vec<String>>,
}

/// `[[firewall]]`.
#[derive(JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FirewallEntry {
    /// The firewall file, relative to the inventory.
    pub path: String,
    /// The site of the guarded host.
    pub site: Option<String>,
    /// `host:ROLE` (the host firewall of a host of that role) or `boundary` (a firewall between
    /// two sites).
    #[schemars(regex(pattern = r"^(boundary|host:[a-z-]+)$"))]
    pub guards: String,
    /// A boundary firewall's two sites.
    #[serde(default)]
    pub between: Vec<String>,
    /// Where the peers' traffic arrives (default: any interface but loopback).
    #[serde(default)]
    pub interfaces: Vec<String>,
    /// Which firewalls of the file (NSG or security group names or ids) this entry means.
    #[serde(default)]
    pub policies: Vec<String>,
    /// Where several boundary firewalls stand between the same two sites: this one's place on
    /// the path from the first site of `between` to the second (1 first; the way back is the
    /// reverse). Boundaries without one follow, in the order they are declared.
    #[schemars(range(min = 1))]
    pub order: Option<u32>,
}

/// `[[waiver]]`.
#[derive(JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WaiverEntry {
    /// The finding's code (`Z201`) or name (`management-port-exposed`).
    pub code: String,
    /// Only findings about this requirement id.
    pub requirement: Option<String>,
    /// Only findings at this rule (`filter/INPUT #6`).
    pub rule: Option<String>,
    /// Only findings at this site.
    pub site: Option<String>,
    /// Only findings in this file (relative to the inventory).
    pub file: Option<String>,
    /// Why the finding is accepted.
    pub reason: String,
    /// The change or risk ticket.
    pub ticket: Option<String>,
    /// `YYYY-MM-DD`: the waiver stops applying the day after.
    #[schemars(regex(pattern = r"^\d{4}-\d{2}-\d{2}$"))]
    pub expires: Option<String>,
}

/// The schema as JSON.
pub fn json_schema() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(InventoryFile)).unwrap_or(serde_json::Value::Null)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    const EXAMPLE: &str = include_str!("../../fixtures/inventory/example.toml");

    /// The properties of an object schema (following a `$ref` into `$defs`).
    fn props(schema: &serde_json::Value, node: &serde_json::Value) -> BTreeSet<String> {
        let node = match node["$ref"].as_str() {
            Some(r) => &schema["$defs"][r.trim_start_matches("#/$defs/")],
            None => node,
        };
        node["properties"]
            .as_object()
            .map(|o| o.keys().cloned().collect())
            .unwrap_or_default()
    }

    fn item<'a>(schema: &'a serde_json::Value, key: &str) -> &'a serde_json::Value {
        &schema["properties"][key]["items"]
    }

    /// The keys the real parser accepts in a table, read from its "unknown field" error.
    fn parser_keys(prefix: &str) -> BTreeSet<String> {
        let text = format!("environment = \"vsphere\"\n{prefix}zzz-unknown = 1\n");
        let err = match crate::inventory::Inventory::parse(std::path::Path::new("x.toml"), &text) {
            Ok(_) => panic!("an unknown key is accepted in `{prefix}`"),
            Err(e) => e.problems[0].message.clone(),
        };
        let expected = err
            .split_once("expected")
            .map(|(_, e)| e)
            .unwrap_or_else(|| panic!("{err}"));
        expected
            .split('`')
            .skip(1)
            .step_by(2)
            .map(str::to_string)
            .collect()
    }

    #[test]
    fn the_schema_the_parser_and_the_example_know_the_same_keys() {
        let schema = json_schema();
        let example: toml::Table = toml::from_str(EXAMPLE).unwrap();
        let example_keys = |t: &toml::Table| t.keys().cloned().collect::<BTreeSet<_>>();
        let union_of = |key: &str| -> BTreeSet<String> {
            example[key]
                .as_array()
                .unwrap()
                .iter()
                .flat_map(|t| example_keys(t.as_table().unwrap()))
                .collect()
        };
        let top = props(&schema, &schema);
        assert_eq!(top, example_keys(&example), "top level: schema vs example");
        assert_eq!(top, parser_keys(""), "top level: schema vs parser");
        for table in ["site", "firewall", "waiver"] {
            let keys = props(&schema, item(&schema, table));
            assert_eq!(keys, union_of(table), "[[{table}]]: schema vs example");
            assert_eq!(
                keys,
                parser_keys(&format!("[[{table}]]\n")),
                "[[{table}]]: schema vs parser"
            );
        }
        // every role the parser knows, and no other
        let roles = props(&schema, &props_node(&schema, "SiteEntry", "roles"));
        let known: BTreeSet<String> = crate::inventory::ROLES
            .iter()
            .map(|r| r.to_string())
            .collect();
        assert_eq!(roles, known);
    }

    fn props_node(schema: &serde_json::Value, def: &str, key: &str) -> serde_json::Value {
        schema["$defs"][def]["properties"][key].clone()
    }

    #[test]
    fn the_example_validates_against_the_schema_and_loads() {
        let schema = json_schema();
        let value: toml::Value = toml::from_str(EXAMPLE).unwrap();
        let json = serde_json::to_value(value).unwrap();
        let validator = jsonschema::validator_for(&schema).unwrap();
        let errors: Vec<String> = validator
            .iter_errors(&json)
            .map(|e| format!("{} at {}", e, e.instance_path))
            .collect();
        assert!(errors.is_empty(), "{errors:#?}");
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures/inventory/example.toml");
        if let Err(e) = crate::inventory::Inventory::load(&path) {
            panic!("{:?}", miette::Report::new(e));
        }
        // every other inventory of the fixtures that loads validates too
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut others = vec![root.join("fixtures/repo/portolan.toml")];
        for e in std::fs::read_dir(root.join("fixtures/inventory")).unwrap() {
            others.push(e.unwrap().path());
        }
        for p in others {
            if crate::inventory::Inventory::load(&p).is_err() {
                continue;
            }
            let v: toml::Value = toml::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
            let errors: Vec<String> = validator
                .iter_errors(&serde_json::to_value(v).unwrap())
                .map(|e| format!("{} at {}", e, e.instance_path))
                .collect();
            assert!(errors.is_empty(), "{}: {errors:#?}", p.display());
        }
        // a mistake the schema catches
        let mut bad = json.clone();
        bad["environment"] = "vmware".into();
        assert!(!validator.is_valid(&bad));
    }
}
