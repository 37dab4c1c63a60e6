//! `aws ec2 describe-security-groups` output, shaped like `shared/tools/gen_aws_sg.py` makes it:
//! `{"SecurityGroups": [{Description, GroupName, IpPermissions: [{FromPort, IpProtocol,
//! IpRanges: [{CidrIp, Description}], Ipv6Ranges, PrefixListIds, ToPort, UserIdGroupPairs}],
//! OwnerId, GroupId, IpPermissionsEgress, Tags, VpcId}]}`, four-space indented.

use serde_json::{json, Value};

use super::{pretty4, XorShift};

const PORTS: [u64; 14] = [
    22, 80, 443, 3306, 5432, 6379, 8080, 8443, 9090, 9200, 27017, 3389, 53, 123,
];

fn hex68(rng: &mut XorShift) -> String {
    format!("{:017x}", rng.next() as u128 * 16 + rng.below(16) as u128)
}

fn group(rng: &mut XorShift, i: usize, owner: &str, vpcs: &[String]) -> Value {
    let gid = format!("sg-{}", hex68(rng));
    let mut perms = Vec::new();
    for _ in 0..rng.range(2, 20) {
        let proto = *rng.pick(&["tcp", "tcp", "tcp", "udp", "icmp", "-1"]);
        let mut p = match proto {
            "-1" => json!({"IpProtocol": "-1"}),
            "icmp" => json!({"FromPort": 8, "IpProtocol": "icmp", "ToPort": -1}),
            _ => {
                let lo = if rng.chance(0.8) {
                    *rng.pick(&PORTS)
                } else {
                    rng.range(1024, 60000)
                };
                let hi = if rng.chance(0.85) {
                    lo
                } else {
                    (lo + rng.range(1, 1000)).min(65535)
                };
                json!({"FromPort": lo, "IpProtocol": proto, "ToPort": hi})
            }
        };
        let ranges: Vec<Value> = (0..rng.range(0, 5))
            .map(|_| {
                json!({
                    "CidrIp": format!(
                        "{}.{}.{}.0/{}",
                        rng.range(1, 223),
                        rng.below(256),
                        rng.below(256),
                        rng.pick(&[16, 24, 24, 32])
                    ),
                    "Description": format!(
                        "office {} / ticket NET-{}",
                        rng.range(1, 50),
                        rng.range(1000, 99999)
                    ),
                })
            })
            .collect();
        p["IpRanges"] = Value::Array(ranges);
        p["Ipv6Ranges"] = if rng.chance(0.2) {
            json!([{"CidrIpv6": format!("2001:db8:{:x}::/48", rng.below(1 << 16))}])
        } else {
            json!([])
        };
        p["PrefixListIds"] = if rng.chance(0.05) {
            json!([{"PrefixListId": format!("pl-{:08x}", rng.below(1 << 32))}])
        } else {
            json!([])
        };
        p["UserIdGroupPairs"] = if rng.chance(0.3) {
            json!([{"Description": "from app tier", "GroupId": format!("sg-{}", hex68(rng)), "UserId": owner}])
        } else {
            json!([])
        };
        perms.push(p);
    }
    json!({
        "Description": format!("security group {i} for service tier"),
        "GroupName": format!("svc-{i}-{}", rng.pick(&["web", "db", "cache", "api", "batch"])),
        "IpPermissions": perms,
        "OwnerId": owner,
        "GroupId": gid,
        "IpPermissionsEgress": [{"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}],
            "Ipv6Ranges": [], "PrefixListIds": [], "UserIdGroupPairs": []}],
        "Tags": [
            {"Key": "Name", "Value": format!("sg-{i}")},
            {"Key": "env", "Value": rng.pick(&["prod", "stage", "dev"])},
            {"Key": "team", "Value": rng.pick(&["payments", "search", "platform", "data"])},
        ],
        "VpcId": rng.pick(vpcs),
    })
}

/// `groups` security groups (about 4 KB each).
pub fn describe_security_groups(groups: usize) -> String {
    let mut rng = XorShift::new(7);
    let owner = "123456789012";
    let vpcs: Vec<String> = (0..20)
        .map(|_| format!("vpc-{}", hex68(&mut rng)))
        .collect();
    let gs: Vec<Value> = (0..groups)
        .map(|i| group(&mut rng, i, owner, &vpcs))
        .collect();
    pretty4(&json!({ "SecurityGroups": gs }))
}
