//! Output of `portolan catalog`: an aligned text table, JSON (`portolan-catalog/1`) and CSV.
//!
//! All three take an optional environment; with one, only its requirements and must-not-open
//! entries are shown, in catalogue order.

use std::io::{self, Write};

use serde_json::{json, Value};

use super::facts::{self, FactDef, FactType};
use super::{Catalog, Environment, MustNotOpen, Requirement};

/// The `schema` field of [`to_json`].
pub const JSON_SCHEMA: &str = "portolan-catalog/1";

/// The columns of [`write_csv`], in order (the fields of a JSON requirement).
pub const CSV_COLUMNS: [&str; 12] = [
    "id",
    "environments",
    "ports",
    "protocol",
    "from_role",
    "to_role",
    "direction",
    "condition",
    "changeable_default",
    "purpose",
    "source",
    "install_only",
];

fn requirements(cat: &Catalog, env: Option<Environment>) -> Vec<&Requirement> {
    cat.requirements
        .iter()
        .filter(|r| env.is_none_or(|e| r.environments.contains(&e)))
        .collect()
}

fn must_not_open(cat: &Catalog, env: Option<Environment>) -> Vec<&MustNotOpen> {
    cat.must_not_open
        .iter()
        .filter(|m| env.is_none_or(|e| m.environments.contains(&e)))
        .collect()
}

/// The condition as written in the catalogue (or its canonical form if the text is missing).
fn condition_text(r: &Requirement) -> Option<String> {
    r.condition_text
        .clone()
        .or_else(|| r.condition.as_ref().map(|c| c.to_string()))
}

/// The catalogue as JSON, schema `portolan-catalog/1`.
pub fn to_json(cat: &Catalog, env: Option<Environment>) -> Value {
    let reqs: Vec<Value> = requirements(cat, env)
        .into_iter()
        .map(|r| {
            json!({
                "id": r.id,
                "environments": r.environments.iter().map(|e| e.as_str()).collect::<Vec<_>>(),
                "ports": r.ports.display(),
                "protocol": r.protocol.as_str(),
                "from_role": r.from_role,
                "to_role": r.to_role,
                "direction": r.direction.as_str(),
                "condition": condition_text(r),
                "changeable_default": r.changeable_default,
                "purpose": r.purpose,
                "source": r.source,
                "install_only": r.install_only,
            })
        })
        .collect();
    let mno: Vec<Value> = must_not_open(cat, env)
        .into_iter()
        .map(|m| {
            json!({
                "id": m.id,
                "ports": m.ports_display(),
                "protocol": m.protocol.as_str(),
                "role": m.role,
                "kind": m.kind.as_str(),
                "purpose": m.purpose,
                "source": m.source,
            })
        })
        .collect();
    json!({
        "schema": JSON_SCHEMA,
        "version": cat.version,
        "environment": env.map(|e| e.as_str()),
        "requirements": reqs,
        "must_not_open": mno,
    })
}

/// Write rows as columns padded to the widest cell; the last column is not padded.
fn write_aligned(out: &mut dyn Write, rows: &[Vec<String>]) -> io::Result<()> {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|c| {
            rows.iter()
                .filter_map(|r| r.get(c))
                .map(|s| s.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    for row in rows {
        let mut line = String::new();
        for (c, cell) in row.iter().enumerate() {
            if c + 1 == row.len() {
                line.push_str(cell);
            } else {
                let pad = widths[c].saturating_sub(cell.chars().count());
                line.push_str(cell);
                line.push_str(&" ".repeat(pad + 2));
            }
        }
        writeln!(out, "{}", line.trim_end())?;
    }
    Ok(())
}

/// The catalogue as an aligned text table: requirements (ID, PORTS, PROTO, FROM, TO, DIR,
/// CONDITION), then the ports that must not be open. A `*` after a port marks a changeable
/// default; DIR is `->` (FROM opens the connection) or `<->` (either side).
pub fn write_table(cat: &Catalog, env: Option<Environment>, out: &mut dyn Write) -> io::Result<()> {
    let scope = env.map_or_else(|| "all environments".to_string(), |e| e.to_string());
    writeln!(
        out,
        "Zerto port requirements ({scope}; catalogue {})",
        cat.version
    )?;
    writeln!(out)?;
    let reqs = requirements(cat, env);
    let mut rows = vec![["ID", "PORTS", "PROTO", "FROM", "TO", "DIR", "CONDITION"]
        .map(String::from)
        .to_vec()];
    let mut any_star = false;
    for r in &reqs {
        let mut ports = r.ports.display();
        if r.changeable_default {
            ports.push('*');
            any_star = true;
        }
        let dir = match r.direction {
            super::Direction::AToB => "->",
            super::Direction::Both => "<->",
        };
        rows.push(vec![
            r.id.clone(),
            ports,
            r.protocol.to_string(),
            r.from_role.clone(),
            r.to_role.clone(),
            dir.to_string(),
            match (condition_text(r), assumed(cat, r)) {
                (None, _) => "-".to_string(),
                (Some(c), a) if a.is_empty() => c,
                (Some(c), a) => format!("{c} (by default {})", a.join(", ")),
            },
        ]);
    }
    if reqs.is_empty() {
        writeln!(out, "(no requirements)")?;
    } else {
        write_aligned(out, &rows)?;
    }
    if any_star {
        writeln!(out)?;
        writeln!(
            out,
            "* default port; the installer lets users choose another one."
        )?;
    }

    let mno = must_not_open(cat, env);
    if !mno.is_empty() {
        writeln!(out)?;
        writeln!(out, "Must not be open:")?;
        writeln!(out)?;
        let mut rows = vec![["ID", "PORTS", "PROTO", "ROLE", "KIND", "WHY"]
            .map(String::from)
            .to_vec()];
        for m in mno {
            rows.push(vec![
                m.id.clone(),
                m.ports_display(),
                m.protocol.to_string(),
                m.role.clone(),
                m.kind.to_string(),
                m.purpose.clone(),
            ]);
        }
        write_aligned(out, &rows)?;
    }
    Ok(())
}

/// The schema of [`facts_json`].
pub const FACTS_JSON_SCHEMA: &str = "portolan-facts/1";

/// The ids of the requirements (of `env`, or all) whose conditions name the fact.
fn decides<'a>(cat: &'a Catalog, f: &'a FactDef, env: Option<Environment>) -> Vec<&'a str> {
    cat.decided_by(f)
        .filter(|r| env.is_none_or(|e| r.environments.contains(&e)))
        .map(|r| r.id.as_str())
        .collect()
}

/// The values a fact takes, listed: an enum's words, a bool's two; `None` for open types.
fn fact_values(f: &FactDef) -> Option<Vec<String>> {
    match &f.ty {
        FactType::Enum(v) => Some(v.clone()),
        FactType::Bool => Some(vec!["true".into(), "false".into()]),
        _ => None,
    }
}

/// `portolan catalog --facts`: every fact with its type, default, allowed values, meaning and
/// the requirements (of `env`, or all) its conditions decide.
pub fn write_facts(cat: &Catalog, env: Option<Environment>, out: &mut dyn Write) -> io::Result<()> {
    writeln!(
        out,
        "Facts (catalogue {}): the inventory's [facts] or --set KEY=VALUE",
        cat.version
    )?;
    for f in &cat.facts {
        writeln!(out)?;
        let default = match (&f.default, &f.why) {
            (Some(d), Some(why)) => format!("{d} ({why})"),
            (Some(d), None) => d.clone(),
            (None, _) => "none (unset: the requirements it decides stay conditional)".into(),
        };
        writeln!(out, "{}  [{}]", f.name, f.ty)?;
        writeln!(out, "    {}", f.meaning)?;
        writeln!(out, "    takes:    {}", f.ty.expected())?;
        writeln!(out, "    default:  {default}")?;
        if f.name.contains(facts::ROLE_PLACEHOLDER) {
            writeln!(
                out,
                "    <role>:   any catalogue role, `-` written `_` (e.g. {})",
                f.names().first().map(String::as_str).unwrap_or("")
            )?;
        }
        let ids = decides(cat, f, env);
        if ids.is_empty() {
            writeln!(
                out,
                "    decides:  no requirement's condition (read by the audit)"
            )?;
        } else {
            writeln!(out, "    decides:  {}", ids.join(", "))?;
        }
    }
    Ok(())
}

/// The facts as JSON, schema `portolan-facts/1`.
pub fn facts_json(cat: &Catalog, env: Option<Environment>) -> Value {
    let facts: Vec<Value> = cat
        .facts
        .iter()
        .map(|f| {
            json!({
                "name": f.name,
                "type": f.ty.name(),
                "values": fact_values(f),
                "takes": f.ty.expected(),
                "default": f.default,
                "default_why": f.why,
                "meaning": f.meaning,
                "decides": decides(cat, f, env),
            })
        })
        .collect();
    json!({
        "schema": FACTS_JSON_SCHEMA,
        "version": cat.version,
        "environment": env.map(|e| e.as_str()),
        "facts": facts,
    })
}

/// A condition's facts that have a default, as `name=value` (what the audit assumes unless told).
fn assumed(cat: &Catalog, r: &Requirement) -> Vec<String> {
    let Some(c) = &r.condition else {
        return Vec::new();
    };
    c.variables()
        .into_iter()
        .filter_map(|v| {
            let d = cat.fact(v)?.default.as_ref()?;
            Some(format!("{v}={d}"))
        })
        .collect()
}

/// Quote a CSV field when it needs it (RFC 4180).
fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// The requirements as CSV: a header row, then the columns of [`CSV_COLUMNS`] (those of a JSON
/// requirement; environments joined with `;`, an absent condition as an empty field).
pub fn write_csv(cat: &Catalog, env: Option<Environment>, out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, "{}", CSV_COLUMNS.join(","))?;
    for r in requirements(cat, env) {
        let envs: Vec<&str> = r.environments.iter().map(|e| e.as_str()).collect();
        let fields = [
            r.id.clone(),
            envs.join(";"),
            r.ports.display(),
            r.protocol.to_string(),
            r.from_role.clone(),
            r.to_role.clone(),
            r.direction.to_string(),
            condition_text(r).unwrap_or_default(),
            r.changeable_default.to_string(),
            r.purpose.clone(),
            r.source.clone(),
            r.install_only.to_string(),
        ];
        let line: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
        writeln!(out, "{}", line.join(","))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cat() -> &'static Catalog {
        Catalog::embedded()
    }

    #[test]
    fn json_shape() {
        let v = to_json(cat(), Some(Environment::Vsphere));
        assert_eq!(v["schema"], "portolan-catalog/1");
        assert_eq!(v["version"], cat().version.as_str());
        assert_eq!(v["environment"], "vsphere");
        let reqs = v["requirements"].as_array().cloned().unwrap_or_default();
        assert_eq!(reqs.len(), cat().for_env(Environment::Vsphere).count());
        let keys = [
            "id",
            "environments",
            "ports",
            "protocol",
            "from_role",
            "to_role",
            "direction",
            "condition",
            "changeable_default",
            "purpose",
            "source",
            "install_only",
        ];
        for r in &reqs {
            let obj = r.as_object().cloned().unwrap_or_default();
            let mut got: Vec<&str> = obj.keys().map(String::as_str).collect();
            got.sort_unstable();
            let mut want = keys.to_vec();
            want.sort_unstable();
            assert_eq!(got, want);
            assert!(r["ports"].is_string());
            assert!(r["condition"].is_string() || r["condition"].is_null());
        }
        let find = |id: &str| reqs.iter().find(|r| r["id"] == id).cloned();
        let r = find("vsphere.zvm-vra-4005").unwrap_or_default();
        assert_eq!(r["ports"], "4005");
        assert_eq!(r["protocol"], "tcp");
        assert_eq!(r["direction"], "both");
        assert_eq!(r["environments"], json!(["vsphere"]));
        assert_eq!(r["condition"], Value::Null);
        let r = find("vsphere.zvm-vcd-5672").unwrap_or_default();
        assert_eq!(r["condition"], "vcd");
        assert_eq!(r["direction"], "a-to-b");
        let r = find("vsphere.zvm-zvm-9081").unwrap_or_default();
        assert_eq!(r["changeable_default"], true);

        let mno = v["must_not_open"].as_array().cloned().unwrap_or_default();
        assert_eq!(mno.len(), 2);
        assert!(mno.iter().any(|m| m["ports"] == "7073"
            && m["kind"] == "internal-only"
            && m["protocol"] == "tcp"));
        assert!(mno.iter().any(|m| m["ports"] == "44400-44499"
            && m["kind"] == "not-needed"
            && m["protocol"] == "udp"));
        for m in &mno {
            let obj = m.as_object().cloned().unwrap_or_default();
            assert_eq!(obj.len(), 7);
        }
    }

    #[test]
    fn json_without_environment_lists_everything() {
        let v = to_json(cat(), None);
        assert_eq!(v["environment"], Value::Null);
        assert_eq!(
            v["requirements"].as_array().map(Vec::len),
            Some(cat().requirements.len())
        );
        let msp = to_json(cat(), Some(Environment::Msp));
        let range = msp["requirements"]
            .as_array()
            .and_then(|a| a.iter().find(|r| r["id"] == "msp.vra-zcc-9082").cloned())
            .unwrap_or_default();
        assert_eq!(range["ports"], "9082+");
    }

    #[test]
    fn table_is_aligned() {
        let mut buf = Vec::new();
        write_table(cat(), Some(Environment::Hyperv), &mut buf).unwrap_or(());
        let text = String::from_utf8(buf).unwrap_or_default();
        let header = text
            .lines()
            .find(|l| l.starts_with("ID "))
            .unwrap_or_default();
        let col = header.find("PORTS").unwrap_or(0);
        assert!(col > 0);
        let row = text
            .lines()
            .find(|l| l.starts_with("hyperv.zvm-scvmm-8100"))
            .unwrap_or_default();
        assert_eq!(row.get(col..col + 4), Some("8100"));
        assert!(text.contains("9081*"));
        assert!(text.contains("not single_scvmm"));
        assert!(text.contains("Must not be open:"));
        assert!(text.contains("44400-44499"));
        assert!(text.lines().all(|l| l == l.trim_end()));
    }

    #[test]
    fn csv_has_header_and_quotes() {
        let mut buf = Vec::new();
        write_csv(cat(), Some(Environment::Msp), &mut buf).unwrap_or(());
        let text = String::from_utf8(buf).unwrap_or_default();
        let mut lines = text.lines();
        assert_eq!(lines.next(), Some(CSV_COLUMNS.join(",").as_str()));
        assert_eq!(lines.count(), cat().for_env(Environment::Msp).count());
        assert!(text.contains("msp.zvm-zvm-9071,msp,9071,tcp,zvm,zvm,both,zvm_version >= 8.0"));
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("plain"), "plain");
    }
}
