//! The floor for the JSON inputs: serde into typed structs of just the fields an audit reads,
//! with nothing kept but a count (the "serde-typed parsing" row, README Performance).
//! `cargo run --release --example json_floor -- aws|azure FILE`.

use serde::Deserialize;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Groups {
    security_groups: Vec<Group>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
#[allow(dead_code)]
struct Group {
    group_id: String,
    group_name: String,
    #[serde(default)]
    ip_permissions: Vec<Permission>,
    #[serde(default)]
    ip_permissions_egress: Vec<Permission>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
#[allow(dead_code)]
struct Permission {
    ip_protocol: String,
    from_port: Option<i64>,
    to_port: Option<i64>,
    #[serde(default)]
    ip_ranges: Vec<Cidr>,
    #[serde(default)]
    ipv6_ranges: Vec<Cidr6>,
    #[serde(default)]
    user_id_group_pairs: Vec<Pair>,
    #[serde(default)]
    prefix_list_ids: Vec<PrefixList>,
}

#[derive(Deserialize)]
#[allow(dead_code)]
struct Cidr {
    #[serde(rename = "CidrIp")]
    cidr: String,
}

#[derive(Deserialize)]
#[allow(dead_code)]
struct Cidr6 {
    #[serde(rename = "CidrIpv6")]
    cidr: String,
}

#[derive(Deserialize)]
#[allow(dead_code)]
struct Pair {
    #[serde(rename = "GroupId")]
    group: Option<String>,
}

#[derive(Deserialize)]
#[allow(dead_code)]
struct PrefixList {
    #[serde(rename = "PrefixListId")]
    id: String,
}

#[derive(Deserialize)]
#[allow(dead_code)]
struct Nsg {
    name: String,
    #[serde(rename = "securityRules", default)]
    rules: Vec<NsgRule>,
    #[serde(rename = "defaultSecurityRules", default)]
    defaults: Vec<NsgRule>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
struct NsgRule {
    name: String,
    priority: Option<u32>,
    direction: String,
    access: String,
    protocol: String,
    source_address_prefix: Option<String>,
    #[serde(default)]
    source_address_prefixes: Vec<String>,
    destination_address_prefix: Option<String>,
    #[serde(default)]
    destination_address_prefixes: Vec<String>,
    destination_port_range: Option<String>,
    #[serde(default)]
    destination_port_ranges: Vec<String>,
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(kind), Some(path)) = (args.first(), args.get(1)) else {
        eprintln!("usage: json_floor aws|azure FILE");
        std::process::exit(2);
    };
    let bytes = std::fs::read(path).unwrap_or_else(|e| {
        eprintln!("{path}: {e}");
        std::process::exit(2)
    });
    let rules = match kind.as_str() {
        "aws" => serde_json::from_slice::<Groups>(&bytes).map(|g| {
            g.security_groups
                .iter()
                .map(|x| x.ip_permissions.len() + x.ip_permissions_egress.len())
                .sum::<usize>()
        }),
        _ => serde_json::from_slice::<Vec<Nsg>>(&bytes)
            .map(|v| v.iter().map(|n| n.rules.len() + n.defaults.len()).sum()),
    };
    match rules {
        Ok(n) => println!("{n} rules"),
        Err(e) => {
            eprintln!("{path}: {e}");
            std::process::exit(1);
        }
    }
}
