//! The HTML report's diagrams (SVG drawn here): the roles of one site, or of one firewall in
//! quick mode, as boxes, the required flows between them as arrows. Each port on an arrow says
//! its own status, in colour and with an icon (✓ allowed, ◐ partial, ✗ blocked, ? unknown), and
//! each arrow's dash pattern says its worst status, so a greyscale print or a colour-blind
//! reader loses nothing. Labels are placed where they overlap neither a box nor another label
//! (moved along the arrow's normal until they fit).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::html::{colour, esc, rank};
use crate::engine::reach::Status;
use crate::engine::FlowRecord;

const W: f64 = 900.0;
const H: f64 = 560.0;
const BOX_W: f64 = 132.0;
const BOX_H: f64 = 38.0;
/// The port labels' font: 12 px monospace, about 7.3 px a character.
const CHAR_W: f64 = 7.3;
const LINE_H: f64 = 15.0;
/// At most this many ports on one line of a label.
const PER_LINE: usize = 3;

const STATUSES: [Status; 4] = [
    Status::Allowed,
    Status::Partial,
    Status::Blocked,
    Status::Unknown,
];

/// The status's icon, which survives greyscale.
pub(super) fn icon(s: Status) -> &'static str {
    match s {
        Status::Allowed => "✓",
        Status::Partial => "◐",
        Status::Blocked => "✗",
        Status::Unknown => "?",
    }
}

/// The dash pattern of an arrow of this (worst) status: solid, dashed, dotted, dash-dot.
fn dash(s: Status) -> &'static str {
    match s {
        Status::Allowed => "none",
        Status::Partial => "9 4",
        Status::Blocked => "3 4",
        Status::Unknown => "12 4 2 4",
    }
}

/// One arrow: its worst status, each port with its own (worst) status, a tooltip line per flow.
#[derive(Default)]
struct Edge {
    worst: Option<Status>,
    ports: Vec<(String, Status)>,
    tips: Vec<String>,
}

/// The catalogue role of a record's role (`zca (vra)` is a ZCA in its VRA part).
fn catalogue_role(r: &str) -> &str {
    r.split_once(" (")
        .and_then(|(_, c)| c.strip_suffix(')'))
        .unwrap_or(r)
}

/// The end-to-end status of the paths a firewall's own flow record is a hop of (the worst, where
/// several), if any: the opener's host on paths from its site, the server's host on paths to
/// its site, a boundary on the paths between its sites.
fn end_to_end(f: &FlowRecord, paths: &[&FlowRecord]) -> Option<Status> {
    let site = f.site.as_deref()?;
    paths
        .iter()
        .filter(|p| p.requirement == f.requirement)
        .filter(|p| {
            let ps = p.site.as_deref().unwrap_or("");
            match f.direction {
                "outbound" => {
                    ps.starts_with(&format!("{site} -> "))
                        && p.from_role == catalogue_role(&f.from_role)
                }
                "inbound" => {
                    ps.ends_with(&format!(" -> {site}")) && p.to_role == catalogue_role(&f.to_role)
                }
                _ => ps == site && p.from_role == f.from_role,
            }
        })
        .map(|p| p.status)
        .max_by_key(|s| rank(*s))
}

/// A rectangle (x0, y0, x1, y1) on the drawing.
type Rect = (f64, f64, f64, f64);

fn overlaps(a: &Rect, b: &Rect) -> bool {
    a.0 < b.2 && b.0 < a.2 && a.1 < b.3 && b.1 < a.3
}

/// Where a label of `lines` lines of at most `chars` characters goes near (`ax`, `ay`): the
/// first place that overlaps nothing placed, tried along the normal (`nx`, `ny`, a unit vector)
/// on both sides, then in rings around the anchor; where none is free, the place that overlaps
/// least. Returns the text's centre x and the baseline of its first line, and records the
/// label's rectangle.
fn place(
    placed: &mut Vec<Rect>,
    (ax, ay): (f64, f64),
    (nx, ny): (f64, f64),
    lines: usize,
    chars: usize,
) -> (f64, f64) {
    let (w, h) = (chars as f64 * CHAR_W + 6.0, lines as f64 * LINE_H + 4.0);
    let rect = |cx: f64, cy: f64| -> Rect {
        let cx = cx.clamp(w / 2.0 + 2.0, W - w / 2.0 - 2.0);
        let cy = cy.clamp(h / 2.0 + 34.0, H - h / 2.0 - 30.0);
        (cx - w / 2.0, cy - h / 2.0, cx + w / 2.0, cy + h / 2.0)
    };
    let overlap = |r: &Rect| -> f64 {
        placed
            .iter()
            .filter(|p| overlaps(p, r))
            .map(|p| (r.2.min(p.2) - r.0.max(p.0)) * (r.3.min(p.3) - r.1.max(p.1)))
            .sum()
    };
    let mut candidates: Vec<(f64, f64)> = (0..16)
        .map(|k| {
            let step = f64::from((k + 1) / 2) * 12.0 * if k % 2 == 0 { 1.0 } else { -1.0 };
            (ax + nx * step, ay + ny * step)
        })
        .collect();
    for ring in 1..=8 {
        let r = f64::from(ring) * 16.0;
        for i in 0..12 {
            let a = std::f64::consts::TAU * f64::from(i) / 12.0;
            candidates.push((ax + r * a.cos() * 2.0, ay + r * a.sin()));
        }
    }
    let mut best: Option<(f64, Rect)> = None;
    for (x, y) in candidates {
        let r = rect(x, y);
        let o = overlap(&r);
        if best.is_none_or(|(b, _)| o < b) {
            best = Some((o, r));
        }
        if o == 0.0 {
            break;
        }
    }
    let chosen = best.map(|b| b.1).unwrap_or_else(|| rect(ax, ay));
    placed.push(chosen);
    ((chosen.0 + chosen.2) / 2.0, chosen.1 + LINE_H - 2.0)
}

/// The label's text: each port with its icon, in its status's colour, `PER_LINE` to a line.
fn label(ports: &[(String, Status)], x: f64) -> (String, usize, usize) {
    let mut out = String::new();
    let mut widest = 0;
    let lines: Vec<&[(String, Status)]> = ports.chunks(PER_LINE).collect();
    for (i, line) in lines.iter().enumerate() {
        let mut chars = 0;
        for (j, (p, s)) in line.iter().enumerate() {
            let sep = if j > 0 { "  " } else { "" };
            let at = if j == 0 && i > 0 {
                format!(r#" x="{x:.1}" dy="{LINE_H}""#)
            } else {
                String::new()
            };
            let _ = write!(
                out,
                r#"<tspan{at} fill="{}" class="st-{}">{sep}{} {}</tspan>"#,
                colour(*s),
                s.name(),
                icon(*s),
                esc(p)
            );
            chars += sep.len() + 2 + p.chars().count();
        }
        widest = widest.max(chars);
    }
    (out, lines.len().max(1), widest)
}

/// One diagram of `flows`; an arrow a path record covers takes the path's end-to-end status.
pub(super) fn diagram(title: &str, flows: &[&FlowRecord], paths: &[&FlowRecord]) -> String {
    let mut roles: Vec<&str> = Vec::new();
    for f in flows {
        for r in [f.from_role.as_str(), f.to_role.as_str()] {
            if !roles.contains(&r) {
                roles.push(r);
            }
        }
    }
    roles.sort();
    let n = roles.len().max(1) as f64;
    let (cx, cy) = (W / 2.0, H / 2.0 + 10.0);
    let (rx, ry) = (W / 2.0 - BOX_W, H / 2.0 - 70.0);
    let pos: BTreeMap<&str, (f64, f64)> = roles
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let a = -std::f64::consts::FRAC_PI_2 + std::f64::consts::TAU * i as f64 / n;
            (*r, (cx + rx * a.cos(), cy + ry * a.sin()))
        })
        .collect();
    // one arrow per (from, to): each port with its status, and the worst
    let mut edges: BTreeMap<(&str, &str), Edge> = BTreeMap::new();
    for f in flows {
        let e = edges
            .entry((f.from_role.as_str(), f.to_role.as_str()))
            .or_default();
        let through = end_to_end(f, paths);
        let status = through.unwrap_or(f.status);
        if e.worst.is_none_or(|w| rank(status) > rank(w)) {
            e.worst = Some(status);
        }
        let p = format!("{}/{}", f.protocol, f.ports);
        match e.ports.iter_mut().find(|(q, _)| *q == p) {
            Some((_, s)) if rank(status) > rank(*s) => *s = status,
            Some(_) => {}
            None => e.ports.push((p, status)),
        }
        e.tips.push(match through {
            Some(t) => format!(
                "{} {} ({}), {} end to end",
                f.requirement,
                f.status.name(),
                f.direction,
                t.name()
            ),
            None => format!("{} {} ({})", f.requirement, f.status.name(), f.direction),
        });
    }
    let mut svg = String::new();
    let _ = write!(
        svg,
        r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} {H}" width="{W}" height="{H}" role="img" aria-label="{}">"##,
        esc(title)
    );
    svg.push_str("<defs>");
    for s in STATUSES {
        let _ = write!(
            svg,
            r##"<marker id="arrow-{}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="{}"/></marker>"##,
            s.name(),
            colour(s)
        );
    }
    svg.push_str("</defs>");
    let _ = write!(
        svg,
        r##"<text x="16" y="26" class="dtitle">{}</text>"##,
        esc(title)
    );
    // the boxes are there first: labels keep off them
    let mut placed: Vec<Rect> = pos
        .values()
        .map(|&(x, y)| {
            (
                x - BOX_W / 2.0,
                y - BOX_H / 2.0,
                x + BOX_W / 2.0,
                y + BOX_H / 2.0,
            )
        })
        .collect();
    let mut arrows = String::new();
    let mut labels = String::new();
    for ((from, to), e) in &edges {
        let (Some(&(x1, y1)), Some(&(x2, y2))) = (pos.get(from), pos.get(to)) else {
            continue;
        };
        let status = e.worst.unwrap_or(Status::Unknown);
        let c = colour(status);
        let tip = esc(&e.tips.join("\n"));
        let (d, anchor, normal) = if from == to {
            // a loop above the box: peers of the same role on other sites
            let (lx, ly) = (x1, y1 - BOX_H / 2.0);
            (
                format!(
                    "M{:.1},{ly:.1} C{:.1},{:.1} {:.1},{:.1} {:.1},{ly:.1}",
                    lx - 22.0,
                    lx - 50.0,
                    ly - 70.0,
                    lx + 50.0,
                    ly - 70.0,
                    lx + 22.0
                ),
                (lx, ly - 64.0),
                (0.0, -1.0),
            )
        } else {
            // trim the line to the box edges, and bend it so that a->b and b->a do not overlap
            let (dx, dy) = (x2 - x1, y2 - y1);
            let len = (dx * dx + dy * dy).sqrt().max(1.0);
            let (ux, uy) = (dx / len, dy / len);
            let trim = |bx: f64, by: f64, sx: f64, sy: f64| {
                let tx = if sx.abs() > 1e-9 {
                    (BOX_W / 2.0 + 6.0) / sx.abs()
                } else {
                    f64::MAX
                };
                let ty = if sy.abs() > 1e-9 {
                    (BOX_H / 2.0 + 6.0) / sy.abs()
                } else {
                    f64::MAX
                };
                let t = tx.min(ty);
                (bx + sx * t, by + sy * t)
            };
            let (sx, sy) = trim(x1, y1, ux, uy);
            let (ex, ey) = trim(x2, y2, -ux, -uy);
            let (nx, ny) = (-uy * 26.0, ux * 26.0);
            let (mx, my) = ((sx + ex) / 2.0 + nx, (sy + ey) / 2.0 + ny);
            (
                format!("M{sx:.1},{sy:.1} Q{mx:.1},{my:.1} {ex:.1},{ey:.1}"),
                // the curve's middle, a little to its outer side
                (
                    (sx + ex) / 4.0 + mx / 2.0 + nx * 0.4,
                    (sy + ey) / 4.0 + my / 2.0 + ny * 0.4,
                ),
                (-uy, ux),
            )
        };
        let _ = write!(
            arrows,
            r##"<g class="edge st-{0}"><title>{tip}</title><path d="{d}" fill="none" stroke="{c}" stroke-width="2.5" stroke-dasharray="{1}" marker-end="url(#arrow-{0})"/></g>"##,
            status.name(),
            dash(status),
        );
        let (_, lines, chars) = label(&e.ports, 0.0);
        let (x, y) = place(&mut placed, anchor, normal, lines, chars);
        let (text, _, _) = label(&e.ports, x);
        let _ = write!(
            labels,
            r##"<g class="edge"><title>{tip}</title><text x="{x:.1}" y="{y:.1}" class="port" text-anchor="middle">{text}</text></g>"##
        );
    }
    svg.push_str(&arrows);
    for (r, (x, y)) in &pos {
        let _ = write!(
            svg,
            r##"<g class="role"><rect x="{:.1}" y="{:.1}" width="{BOX_W}" height="{BOX_H}" rx="6"/><text x="{x:.1}" y="{:.1}" text-anchor="middle">{}</text></g>"##,
            x - BOX_W / 2.0,
            y - BOX_H / 2.0,
            y + 5.0,
            esc(r)
        );
    }
    // labels last, over the arrows
    svg.push_str(&labels);
    // legend: the line as drawn, the icon and the word
    for (i, s) in STATUSES.iter().enumerate() {
        let x = 16.0 + i as f64 * 130.0;
        let _ = write!(
            svg,
            r##"<line x1="{x}" y1="{0}" x2="{1}" y2="{0}" stroke="{2}" stroke-width="3" stroke-dasharray="{6}"/><text x="{3}" y="{4}" class="legend">{7} {5}</text>"##,
            H - 18.0,
            x + 34.0,
            colour(*s),
            x + 40.0,
            H - 14.0,
            s.name(),
            dash(*s),
            icon(*s),
        );
    }
    svg.push_str("</svg>");
    svg
}
