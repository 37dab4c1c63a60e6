//! `az network nsg list` output: an array of NSGs as the Azure CLI prints them (properties
//! flattened, keys in alphabetical order, unused singulars `null`, empty plurals `[]`), each with
//! its custom `securityRules` and the six `defaultSecurityRules`.

use serde_json::{json, Value};

use super::XorShift;

const PORTS: [&str; 12] = [
    "22",
    "80",
    "443",
    "3389",
    "4005-4009",
    "9071",
    "9081",
    "9669",
    "5985-5986",
    "1433",
    "8080",
    "*",
];

#[allow(clippy::too_many_arguments)]
fn rule(
    nsg_id: &str,
    name: &str,
    priority: u64,
    direction: &str,
    access: &str,
    protocol: &str,
    src: &[String],
    dst: &str,
    dports: &[&str],
    default: bool,
) -> Value {
    let kind = if default {
        "defaultSecurityRules"
    } else {
        "securityRules"
    };
    let (src_one, src_many) = if src.len() == 1 {
        (json!(src[0]), json!([]))
    } else {
        (Value::Null, json!(src))
    };
    let (dport_one, dport_many) = if dports.len() == 1 {
        (json!(dports[0]), json!([]))
    } else {
        (Value::Null, json!(dports))
    };
    json!({
        "access": access,
        "description": if default { json!("default rule") } else { Value::Null },
        "destinationAddressPrefix": dst,
        "destinationAddressPrefixes": [],
        "destinationApplicationSecurityGroups": null,
        "destinationPortRange": dport_one,
        "destinationPortRanges": dport_many,
        "direction": direction,
        "etag": "W/\"00000000-0000-0000-0000-000000000000\"",
        "id": format!("{nsg_id}/{kind}/{name}"),
        "name": name,
        "priority": priority,
        "protocol": protocol,
        "provisioningState": "Succeeded",
        "resourceGroup": "rg-zerto",
        "sourceAddressPrefix": src_one,
        "sourceAddressPrefixes": src_many,
        "sourceApplicationSecurityGroups": null,
        "sourcePortRange": "*",
        "sourcePortRanges": [],
        "type": format!("Microsoft.Network/networkSecurityGroups/{kind}"),
    })
}

fn nsg(rng: &mut XorShift, i: usize, rules: usize) -> Value {
    let name = format!("nsg-{i:04}");
    let id = format!(
        "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-zerto/providers/Microsoft.Network/networkSecurityGroups/{name}"
    );
    let mut custom = Vec::new();
    let mut prios: Vec<u64> = (0..rules as u64).map(|k| 100 + k * 10).collect();
    // file order is not priority order
    for k in (1..prios.len()).rev() {
        let j = rng.below(k as u64 + 1) as usize;
        prios.swap(k, j);
    }
    for (k, prio) in prios.into_iter().enumerate() {
        let src: Vec<String> = match rng.below(5) {
            0 => vec!["*".into()],
            1 => vec!["VirtualNetwork".into()],
            2 => vec!["Internet".into()],
            _ => (0..rng.range(1, 3))
                .map(|_| {
                    format!(
                        "10.{}.{}.0/{}",
                        rng.below(256),
                        rng.below(256),
                        rng.pick(&[16, 24, 28, 32])
                    )
                })
                .collect(),
        };
        let dports: Vec<&str> = (0..rng.range(1, 3)).map(|_| *rng.pick(&PORTS)).collect();
        let protocol = *rng.pick(&["Tcp", "Tcp", "Tcp", "Udp", "*", "Icmp"]);
        let dports = if protocol == "Icmp" {
            vec!["*"]
        } else {
            dports
        };
        custom.push(rule(
            &id,
            &format!("rule-{k:03}"),
            prio,
            if rng.chance(0.7) {
                "Inbound"
            } else {
                "Outbound"
            },
            if rng.chance(0.75) { "Allow" } else { "Deny" },
            protocol,
            &src,
            if rng.chance(0.5) {
                "*"
            } else {
                "VirtualNetwork"
            },
            &dports,
            false,
        ));
    }
    let defaults: Vec<Value> = [
        (
            "AllowVnetInBound",
            65000,
            "Inbound",
            "Allow",
            "VirtualNetwork",
            "VirtualNetwork",
        ),
        (
            "AllowAzureLoadBalancerInBound",
            65001,
            "Inbound",
            "Allow",
            "AzureLoadBalancer",
            "*",
        ),
        ("DenyAllInBound", 65500, "Inbound", "Deny", "*", "*"),
        (
            "AllowVnetOutBound",
            65000,
            "Outbound",
            "Allow",
            "VirtualNetwork",
            "VirtualNetwork",
        ),
        (
            "AllowInternetOutBound",
            65001,
            "Outbound",
            "Allow",
            "*",
            "Internet",
        ),
        ("DenyAllOutBound", 65500, "Outbound", "Deny", "*", "*"),
    ]
    .iter()
    .map(|&(n, p, d, a, s, t)| rule(&id, n, p, d, a, "*", &[s.to_string()], t, &["*"], true))
    .collect();
    json!({
        "defaultSecurityRules": defaults,
        "etag": "W/\"00000000-0000-0000-0000-000000000000\"",
        "flushConnection": false,
        "id": id,
        "location": "westeurope",
        "name": name,
        "networkInterfaces": [],
        "provisioningState": "Succeeded",
        "resourceGroup": "rg-zerto",
        "resourceGuid": format!("{:032x}", rng.next() as u128 * rng.next() as u128),
        "securityRules": custom,
        "subnets": [],
        "type": "Microsoft.Network/networkSecurityGroups",
    })
}

/// `nsgs` NSGs of `rules` custom rules each.
pub fn nsg_list(nsgs: usize, rules: usize) -> String {
    let mut rng = XorShift::new(11);
    let all: Vec<Value> = (0..nsgs).map(|i| nsg(&mut rng, i, rules)).collect();
    let mut s = serde_json::to_string_pretty(&Value::Array(all)).expect("JSON serialises");
    s.push('\n');
    s
}
