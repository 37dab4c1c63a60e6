#!/usr/bin/env python3
"""Check that Cargo.toml's `rust-version` is true: no locked dependency (normal, build or dev, of
any target platform) declares a higher `rust-version` than ours. Reads `cargo metadata --locked`,
offline-capable once the registry cache holds the sources. Exit 1 with the offenders otherwise."""
import json
import subprocess
import sys
import tomllib
from pathlib import Path


def version(v: str) -> tuple[int, int, int]:
    """`1.89` and `1.89.0` are the same version."""
    parts = [int(x) for x in v.split(".")] + [0, 0]
    return parts[0], parts[1], parts[2]


def main() -> int:
    root = Path(__file__).resolve().parent.parent
    ours = tomllib.loads((root / "Cargo.toml").read_text())["package"]["rust-version"]
    meta = json.loads(
        subprocess.run(
            ["cargo", "metadata", "--locked", "--format-version", "1"],
            cwd=root, check=True, capture_output=True, text=True,
        ).stdout
    )
    local = {p["id"] for p in meta["packages"] if p["source"] is None}
    deps = [
        (p["rust_version"], p["name"], p["version"])
        for p in meta["packages"]
        if p["id"] not in local and p.get("rust_version")
    ]
    if not deps:
        print("no locked dependency declares a rust-version")
        return 0
    highest = max(deps, key=lambda d: version(d[0]))
    over = sorted((d for d in deps if version(d[0]) > version(ours)), key=lambda d: version(d[0]))
    if over:
        print(f"Cargo.toml says rust-version = {ours}, but these locked dependencies need more:")
        for rv, name, v in over:
            print(f"  {name} {v}: rust-version {rv}")
        return 1
    print(f"rust-version {ours} holds: the highest of {len(deps)} locked dependencies is "
          f"{highest[1]} {highest[2]} ({highest[0]})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
