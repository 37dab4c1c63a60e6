//! A required flow across every firewall on its path (inventory mode): the `path` records, their
//! hops and the findings that name the hop that drops.
//!
//! The verdicts, from the platforms' documentation:
//! - iptables(8): a packet the host sends passes filter OUTPUT, a forwarded one filter FORWARD;
//!   the first matching rule's target decides, else the chain's policy; `-m conntrack --ctstate
//!   RELATED,ESTABLISHED -j ACCEPT` lets the replies of an accepted connection back.
//! - Azure NSGs: inbound traffic is evaluated by the subnet's NSG, then by the NIC's; rules by
//!   ascending priority, the first match decides; flows are stateful (replies are allowed).

use crate::{audit_json, portolan};
use serde_json::Value;

const THREE: &str = "fixtures/inventory/three-hops.toml";
const TWO: &str = "fixtures/inventory/two-edges.toml";

fn path_flow<'a>(v: &'a Value, requirement: &str, site: &str) -> &'a Value {
    v["flows"]
        .as_array()
        .and_then(|a| {
            a.iter().find(|f| {
                f["requirement"] == requirement && f["direction"] == "path" && f["site"] == site
            })
        })
        .unwrap_or_else(|| panic!("no path record for {requirement} {site}"))
}

/// (firewall, hook, status, reached) of each hop.
fn hops(f: &Value) -> Vec<(String, String, String, bool)> {
    f["path"]
        .as_array()
        .expect("a path")
        .iter()
        .map(|h| {
            (
                h["firewall"].as_str().unwrap_or("").to_string(),
                h["hook"].as_str().unwrap_or("").to_string(),
                h["status"].as_str().unwrap_or("").to_string(),
                h["reached"].as_bool().expect("reached"),
            )
        })
        .collect()
}

/// (line, rule, action) of each deciding entry.
fn deciding(d: &Value) -> Vec<(u64, String, String)> {
    d.as_array()
        .expect("deciding")
        .iter()
        .map(|x| {
            (
                x["line"].as_u64().unwrap_or(0),
                x["rule"].as_str().unwrap_or("").to_string(),
                x["action"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

fn hop(f: &str, hook: &str, status: &str, reached: bool) -> (String, String, String, bool) {
    (f.into(), hook.into(), status.into(), reached)
}

const VRA: &str = "fixtures/path/vra-onprem.rules";
const EDGE: &str = "fixtures/path/wan-edge.rules";
const NSG: &str = "fixtures/path/nsg-list.json";

#[test]
fn replication_dropped_at_the_wan_edge_is_blocked_end_to_end_and_names_the_edge_rule() {
    let (v, code) = audit_json(&["--inventory", THREE]);
    assert_eq!(code, 1);
    let f = path_flow(&v, "azure.vra-vra-4008", "onprem -> azure");
    assert_eq!(f["status"], "blocked");
    assert_eq!(f["from_role"], "vra");
    assert_eq!(f["to_role"], "vra");
    assert_eq!(f["ports"], "4008");
    // the record names the hop that drops: the edge's FORWARD DROP of 4008 (line 12)
    assert_eq!(f["firewall"], EDGE);
    assert_eq!(f["policy"], "filter/FORWARD");
    assert_eq!(
        deciding(&f["deciding"]),
        vec![(12, "filter/FORWARD #4".to_string(), "drop".to_string())]
    );
    assert_eq!(f["allowed_sources"], serde_json::json!([]));
    assert_eq!(
        hops(f),
        vec![
            hop(VRA, "outbound", "allowed", true),
            hop(EDGE, "forward", "blocked", true),
            // nothing reaches the ZCA; on its own its NSGs would admit it (NIC rule 100)
            hop(NSG, "inbound", "allowed", false),
        ]
    );
    let p = f["path"].as_array().unwrap();
    assert_eq!(p[0]["policy"], "filter/OUTPUT");
    assert_eq!(
        deciding(&p[0]["deciding"]),
        vec![(14, "filter/OUTPUT #4".to_string(), "accept".to_string())]
    );
    assert_eq!(
        deciding(&p[1]["deciding"]),
        vec![(12, "filter/FORWARD #4".to_string(), "drop".to_string())]
    );
    assert_eq!(
        p[2]["policy"],
        "nsg-snet-zca/Inbound + nsg-zca01-nic/Inbound"
    );
    // the one finding is the edge's own, at its rule, saying where it is on the path
    let z101: Vec<&Value> = crate::findings(&v, "Z101")
        .into_iter()
        .filter(|x| x["requirement"] == "azure.vra-vra-4008")
        .collect();
    assert_eq!(z101.len(), 1, "{z101:#?}");
    assert_eq!(z101[0]["file"], EDGE);
    assert_eq!(z101[0]["line"], 12);
    let m = z101[0]["message"].as_str().unwrap();
    assert!(
        m.ends_with(
            "is blocked by filter/FORWARD #4 (hop 2 of 3 on the path onprem/vra -> azure/vra)"
        ),
        "{m}"
    );
}

#[test]
fn the_vra_control_port_passes_all_three_hops_both_ways() {
    let (v, _) = audit_json(&["--inventory", THREE]);
    let f = path_flow(&v, "azure.vra-vra-4007", "onprem -> azure");
    assert_eq!(f["status"], "allowed");
    assert_eq!(f["allowed_sources"], serde_json::json!(["10.20.1.21/32"]));
    assert_eq!(
        hops(f),
        vec![
            hop(VRA, "outbound", "allowed", true),
            hop(EDGE, "forward", "allowed", true),
            hop(NSG, "inbound", "allowed", true),
        ]
    );
    // the last hop names itself when nothing is lost: the NIC's allow (the subnet's rule 100
    // admits it first, then the NIC's rule 100 decides)
    assert_eq!(f["firewall"], NSG);
    let p = f["path"].as_array().unwrap();
    assert_eq!(
        deciding(&p[1]["deciding"]),
        vec![(13, "filter/FORWARD #5".to_string(), "accept".to_string())]
    );
    // the ZCA opens it too (4007 is "between"): its NSGs outbound, the edge, the VRA's INPUT
    let back = path_flow(&v, "azure.vra-vra-4007", "azure -> onprem");
    assert_eq!(back["status"], "allowed");
    assert_eq!(
        hops(back),
        vec![
            hop(NSG, "outbound", "allowed", true),
            hop(EDGE, "forward", "allowed", true),
            hop(VRA, "inbound", "allowed", true),
        ]
    );
    assert_eq!(
        back["path"][2]["deciding"][0]["line"], 9,
        "INPUT accepts 4007-4008 from the ZCA's subnet"
    );
    // per-firewall records stay as they were
    let own = crate::flow(&v, "azure.vra-vra-4008", "forward");
    assert!(own["path"].is_null(), "{own}");
}

#[test]
fn two_edges_each_admitting_another_subnet_block_the_flow_together() {
    let (v, code) = audit_json(&["--inventory", TWO]);
    assert_eq!(code, 1);
    let f = path_flow(&v, "vsphere.vra-vra-4007", "prod -> dr");
    assert_eq!(f["status"], "blocked");
    // `order` puts edge-a first though edge-b is declared first
    assert_eq!(
        hops(f),
        vec![
            hop("fixtures/path/edge-a.rules", "forward", "partial", true),
            // what reaches it (10.10.1.21 only) it drops
            hop("fixtures/path/edge-b.rules", "forward", "blocked", true),
        ]
    );
    assert_eq!(f["firewall"], "fixtures/path/edge-a.rules");
    assert_eq!(
        deciding(&f["deciding"]),
        vec![
            (9, "filter/FORWARD #2".to_string(), "accept".to_string()),
            (4, "filter/FORWARD policy".to_string(), "drop".to_string()),
        ]
    );
    // each edge alone is partial: its own Z102, with its place on the path
    let z102: Vec<String> = crate::findings(&v, "Z102")
        .into_iter()
        .map(|x| {
            format!(
                "{}:{} {}",
                x["file"].as_str().unwrap(),
                x["line"],
                x["message"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(
        z102,
        vec![
            "fixtures/path/edge-b.rules:4 vsphere.vra-vra-4007 tcp/4007 vra -> vra (forward, filter/FORWARD) is allowed only from 10.10.2.21/32 (hop 2 of 2 on the path prod/vra -> dr/vra)",
            "fixtures/path/edge-a.rules:4 vsphere.vra-vra-4007 tcp/4007 vra -> vra (forward, filter/FORWARD) is allowed only from 10.10.1.21/32 (hop 1 of 2 on the path prod/vra -> dr/vra)",
        ]
    );
    // together they are worse than either: one path finding, at the first hop's drop
    let path_z101: Vec<&Value> = crate::findings(&v, "Z101")
        .into_iter()
        .filter(|x| x["requirement"] == "vsphere.vra-vra-4007")
        .collect();
    assert_eq!(path_z101.len(), 1, "{path_z101:#?}");
    assert_eq!(path_z101[0]["file"], "fixtures/path/edge-a.rules");
    assert_eq!(path_z101[0]["line"], 4);
    assert_eq!(
        path_z101[0]["message"],
        "vsphere.vra-vra-4007 tcp/4007 vra -> vra (path, filter/FORWARD) is blocked end to end on the path prod/vra -> dr/vra, though each firewall alone lets some of it through: hop 1 of 2 fixtures/path/edge-a.rules (filter/FORWARD) partial, hop 2 of 2 fixtures/path/edge-b.rules (filter/FORWARD) blocked"
    );
    // 4008 from prod: both edges drop it alone, so their own Z101 says it, and no path finding
    let f = path_flow(&v, "vsphere.vra-vra-4008", "prod -> dr");
    assert_eq!(f["status"], "blocked");
    assert_eq!(
        hops(f),
        vec![
            hop("fixtures/path/edge-a.rules", "forward", "blocked", true),
            hop("fixtures/path/edge-b.rules", "forward", "blocked", false),
        ]
    );
    let z101_4008: Vec<&Value> = crate::findings(&v, "Z101")
        .into_iter()
        .filter(|x| x["requirement"] == "vsphere.vra-vra-4008")
        .collect();
    assert_eq!(z101_4008.len(), 2);
    assert!(z101_4008
        .iter()
        .all(|x| !x["message"].as_str().unwrap().contains("(path,")));
    // the way back meets edge-b first, and both admit dr's VRA
    let back = path_flow(&v, "vsphere.vra-vra-4007", "dr -> prod");
    assert_eq!(back["status"], "allowed");
    assert_eq!(
        hops(back),
        vec![
            hop("fixtures/path/edge-b.rules", "forward", "allowed", true),
            hop("fixtures/path/edge-a.rules", "forward", "allowed", true),
        ]
    );
}

#[test]
fn the_human_report_shows_each_hop_of_a_path_with_its_status() {
    let out = portolan()
        .args(["audit", "--inventory", THREE])
        .output()
        .expect("runs");
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = text.lines().collect();
    let i = lines
        .iter()
        .position(|l| l.contains("azure.vra-vra-4008 path onprem -> azure"))
        .unwrap_or_else(|| panic!("{text}"));
    let block = &lines[i..(i + 4).min(lines.len())];
    assert_eq!(block.len(), 4, "{text}");
    assert!(block[0].trim_start().starts_with("blocked"), "{block:#?}");
    assert!(
        block[1].contains("1. allowed") && block[1].contains(VRA),
        "{block:#?}"
    );
    assert!(
        block[2].contains("2. blocked") && block[2].contains(EDGE) && block[2].contains("line 12"),
        "{block:#?}"
    );
    assert!(
        block[3].contains("3. allowed")
            && block[3].contains(NSG)
            && block[3].contains("not reached"),
        "{block:#?}"
    );
}

#[test]
fn an_order_on_a_host_firewall_or_below_one_is_an_inventory_error() {
    let dir = crate::cli::tempdir();
    let inv = dir.join("portolan.toml");
    std::fs::write(
        &inv,
        "environment = \"vsphere\"\n[[site]]\nname = \"a\"\n[[site]]\nname = \"b\"\n\
         [[firewall]]\npath = \"x.rules\"\nsite = \"a\"\nguards = \"host:zvm\"\norder = 1\n\
         [[firewall]]\npath = \"y.rules\"\nguards = \"boundary\"\nbetween = [\"a\", \"b\"]\norder = 0\n",
    )
    .unwrap();
    let out = portolan()
        .args(["audit", "--inventory"])
        .arg(&inv)
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("only a boundary firewall has an `order`"),
        "{err}"
    );
    assert!(err.contains("`order = 0` is not a position"), "{err}");
}

#[test]
fn diff_reports_the_path_newly_allowed_when_the_edge_drop_is_removed() {
    let dir = crate::cli::tempdir();
    for side in ["old", "new"] {
        let d = dir.join(side);
        std::fs::create_dir_all(&d).unwrap();
        for f in ["vra-onprem.rules", "wan-edge.rules", "nsg-list.json"] {
            std::fs::copy(format!("fixtures/path/{f}"), d.join(f)).unwrap();
        }
        let inv = std::fs::read_to_string(THREE)
            .unwrap()
            .replace("../path/", "./");
        std::fs::write(d.join("portolan.toml"), inv).unwrap();
    }
    let edge = dir.join("new/wan-edge.rules");
    let text = std::fs::read_to_string(&edge).unwrap();
    let kept: Vec<&str> = text.lines().filter(|l| !l.contains("CHG-4411")).collect();
    assert_eq!(kept.len() + 1, text.lines().count());
    std::fs::write(&edge, kept.join("\n") + "\n").unwrap();
    let out = portolan()
        .arg("diff")
        .arg("--inventory")
        .arg(dir.join("new/portolan.toml"))
        .arg(dir.join("old"))
        .arg(dir.join("new"))
        .output()
        .expect("runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    // the path is one record on both sides though its deciding hop changed
    assert!(
        text.contains("azure.vra-vra-4008 path 4008/tcp blocked -> allowed  vra-onprem.rules -> wan-edge.rules -> nsg-list.json"),
        "{text}"
    );
    assert!(text.contains("2 newly allowed"), "{text}");
}

#[test]
fn the_html_diagram_colours_an_arrow_by_the_end_to_end_result() {
    let out = portolan()
        .args(["audit", "--inventory", THREE, "--format", "html"])
        .output()
        .expect("runs");
    let html = String::from_utf8_lossy(&out.stdout);
    // the VRA host lets 4008 out (its own record is allowed), the edge drops it: the onprem
    // VRA -> VRA arrow is red
    let t = "azure.vra-vra-4008 allowed (outbound), blocked end to end";
    let i = html.find(t).unwrap_or_else(|| panic!("{html}"));
    let edge = &html[i..];
    let edge = &edge[..edge.find("</g>").unwrap_or(edge.len())];
    assert!(edge.contains("stroke=\"#c62828\""), "{edge}");
    // the table lists the path's hops with their statuses
    assert!(html.contains(
        "1. fixtures/path/vra-onprem.rules allowed (outbound) → 2. fixtures/path/wan-edge.rules blocked (forward) → 3. fixtures/path/nsg-list.json allowed (inbound), not reached"
    ));
    // path records draw no diagram of their own: one per site and one per boundary's pair
    assert_eq!(html.matches("<svg ").count(), 4);
}

#[test]
fn an_edge_that_drops_the_replies_blocks_the_path_though_the_request_reaches_the_server() {
    let dir = crate::cli::tempdir();
    // FORWARD admits the request to 4007 but has no ESTABLISHED accept: the replies (from port
    // 4007 to the client's port) match no rule and meet the DROP policy
    std::fs::write(
        dir.join("edge.rules"),
        "*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n\
         -A FORWARD -s 10.10.1.0/24 -d 10.11.1.0/24 -p tcp -m tcp --dport 4007 -j ACCEPT\nCOMMIT\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("vra-dr.rules"),
        "*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n\
         -A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n\
         -A INPUT -s 10.10.1.0/24 -p tcp -m tcp --dport 4007 -j ACCEPT\nCOMMIT\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("portolan.toml"),
        "environment = \"vsphere\"\n\
         [[site]]\nname = \"prod\"\n[site.roles]\nvra = [\"10.10.1.21\"]\n\
         [[site]]\nname = \"dr\"\n[site.roles]\nvra = [\"10.11.1.21\"]\n\
         [[firewall]]\npath = \"edge.rules\"\nguards = \"boundary\"\nbetween = [\"prod\", \"dr\"]\n\
         [[firewall]]\npath = \"vra-dr.rules\"\nsite = \"dr\"\nguards = \"host:vra\"\n",
    )
    .unwrap();
    let inv = dir.join("portolan.toml");
    let (v, _) = audit_json(&["--inventory", inv.to_str().unwrap()]);
    let f = path_flow(&v, "vsphere.vra-vra-4007", "prod -> dr");
    assert_eq!(f["status"], "blocked");
    let h = hops(f);
    assert_eq!(
        h.iter()
            .map(|x| (x.1.as_str(), x.2.as_str(), x.3))
            .collect::<Vec<_>>(),
        vec![("forward", "blocked", true), ("inbound", "allowed", true)]
    );
    // the edge's deciding: the accept of the request, the policy that drops the replies
    assert_eq!(
        deciding(&f["path"][0]["deciding"]),
        vec![
            (5, "filter/FORWARD #1".to_string(), "accept".to_string()),
            (3, "filter/FORWARD policy".to_string(), "drop".to_string()),
        ]
    );
    // the edge's own record says it (the replies), with its place on the path; no path finding
    let z101: Vec<&Value> = crate::findings(&v, "Z101")
        .into_iter()
        .filter(|x| x["requirement"] == "vsphere.vra-vra-4007")
        .collect();
    // (and, 4007 being "between", dr's VRA opening it: the edge admits nothing that way)
    let messages: Vec<&str> = z101
        .iter()
        .map(|x| x["message"].as_str().unwrap())
        .collect();
    assert_eq!(messages.len(), 2, "{messages:#?}");
    assert!(messages[0].contains("(forward, filter/FORWARD) is let in, but its replies"));
    assert!(messages[0].ends_with("(hop 1 of 2 on the path prod/vra -> dr/vra)"));
    assert!(messages[1].ends_with(
        "is blocked by filter/FORWARD policy (hop 2 of 2 on the path dr/vra -> prod/vra)"
    ));
    let back = path_flow(&v, "vsphere.vra-vra-4007", "dr -> prod");
    assert_eq!(back["status"], "blocked");
    assert_eq!(back["path"][0]["hook"], "outbound");
    assert_eq!(back["path"][1]["status"], "blocked");
}
