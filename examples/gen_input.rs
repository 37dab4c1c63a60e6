//! Write one of the benches' generated inputs to a file, for whole-process measurements of the
//! formats `shared/tools` has no generator for (README, Performance).
//! `cargo run --release --example gen_input -- azure NSGS RULES FILE` (`az network nsg list`) or
//! `... -- netsh RULES FILE` (`netsh advfirewall firewall show rule name=all verbose`) or
//! `... -- nft RULES FILE` (`nft list ruleset`, the iptables bench's host in nftables) or
//! `... -- blocklist RULES FILE` (iptables-save: one chain of RULES `-s CIDR` accepts and drops)
//! or `... -- iptables RULES FILE` (the iptables bench's kube-proxy-style host dump) or
//! `... -- inventory SITES VRAS DIR` (`DIR/portolan.toml`: SITES sites of VRAS VRAs each, with
//! host, boundary and Azure NSG hops, and their firewall exports; `benches/gen/inventory.rs`).

#[path = "../benches/gen/mod.rs"]
mod gen;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let num = |i: usize| args.get(i).and_then(|a| a.parse::<usize>().ok());
    if args.first().map(String::as_str) == Some("inventory") {
        let (Some(sites), Some(vras), Some(dir)) = (num(1), num(2), args.get(3)) else {
            usage()
        };
        match gen::inventory::write(std::path::Path::new(dir), sites, vras) {
            Ok(p) => eprintln!("{}: {sites} sites of {vras} VRAs", p.display()),
            Err(e) => {
                eprintln!("{dir}: {e}");
                std::process::exit(2);
            }
        }
        return;
    }
    let (text, out) = match args.first().map(String::as_str) {
        Some("azure") => match (num(1), num(2), args.get(3)) {
            (Some(n), Some(r), Some(f)) => (gen::azure::nsg_list(n, r), f),
            _ => usage(),
        },
        Some("netsh") => match (num(1), args.get(2)) {
            (Some(r), Some(f)) => (gen::windows::netsh_show_rule(r), f),
            _ => usage(),
        },
        Some("nft") => match (num(1), args.get(2)) {
            (Some(r), Some(f)) => (gen::nftables::nft_ruleset(r), f),
            _ => usage(),
        },
        Some("iptables") => match (num(1), args.get(2)) {
            (Some(r), Some(f)) => (gen::iptables_dump(r, true), f),
            _ => usage(),
        },
        Some("blocklist") => match (num(1), args.get(2)) {
            (Some(r), Some(f)) => (gen::blocklist::blocklist(r), f),
            _ => usage(),
        },
        _ => usage(),
    };
    if let Err(e) = std::fs::write(out, text.as_bytes()) {
        eprintln!("{out}: {e}");
        std::process::exit(2);
    }
    eprintln!("{out}: {} bytes", text.len());
}

fn usage() -> ! {
    eprintln!("usage: gen_input azure NSGS RULES FILE | gen_input netsh RULES FILE | gen_input nft RULES FILE | gen_input blocklist RULES FILE | gen_input iptables RULES FILE | gen_input inventory SITES VRAS DIR");
    std::process::exit(2)
}
