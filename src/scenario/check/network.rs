//! Nodes, `[defaults]` and reaches: ends resolved, lengths (own, from the polyline, or the default),
//! the keys each reach takes from itself or from `[defaults]`, the cell-count limit.

use super::super::parse::{Loc, RawScenario, label};
use super::super::raw::{Id, RawReach};
use super::checker::{Checker, Rule};
use super::ids::Ids;
use super::reach_keys::{Bed, Typed, or, typed};
use crate::model::{Node, NodeKind, Reach, Section, Series, WaterBody};
use rayon::prelude::*;

/// At most this many cells in a network (all reaches together).
pub const MAX_CELLS: usize = 20_000_000;

/// The longest reach, m (10,000 km).
pub const MAX_LENGTH_M: f64 = 1e7;

/// Smallest number of items one parallel task of look-ups handles.
const ROWS_PER_TASK: usize = 1024;

/// The nodes, in file order (every node is kept, with defaults where a key has a problem).
pub(super) fn nodes(c: &mut Checker, rs: &RawScenario) -> Vec<Node> {
    let mut nodes: Vec<Node> = Vec::with_capacity(rs.nodes.len());
    for it in &rs.nodes {
        let (r, loc) = (&it.raw, &it.loc);
        let lab = label("node", r.id.as_ref().map(|i| i.0.as_str()), it.ord);
        let kind = match r.kind.as_deref() {
            None => NodeKind::Junction,
            Some(k) => c
                .enum_value(
                    loc,
                    &lab,
                    "kind",
                    k,
                    &[
                        ("junction", NodeKind::Junction),
                        ("boundary", NodeKind::Boundary),
                        ("outlet", NodeKind::Outlet),
                        ("storage", NodeKind::Storage),
                    ],
                )
                .unwrap_or(NodeKind::Junction),
        };
        let xy = coordinates(c, loc, &lab, r.x, r.y);
        let linear = c.interpolate(loc, &lab, r.interpolate.as_ref(), r.level_series.is_some());
        let level = c.const_or_series(
            loc,
            &lab,
            ("level_m", r.level_m),
            ("level_series", r.level_series.as_ref()),
            "level_m",
            linear,
            Rule::FINITE,
        );
        if level.is_some() && kind == NodeKind::Boundary {
            c.push(loc, &lab, "level_m", "", "no held level at a boundary node (its water comes from [[inflows]]); make it a junction to hold a level");
        }
        let bed_m = c
            .optional(loc, &lab, "bed_m", r.bed_m, Rule::FINITE)
            .flatten();
        let mut concentration = vec![Series::Const(0.0); c.pollutants.len()];
        if let Some(t) = &r.concentration {
            if kind != NodeKind::Outlet {
                c.push(loc, &lab, "concentration", "", "concentration only at an outlet (the quality of water entering on reversed flow)");
            } else if let Some(v) =
                c.table_or_zero(loc, &lab, "concentration", t, Rule::NON_NEGATIVE)
            {
                concentration = v.into_iter().map(Series::Const).collect();
            }
        }
        let area = c
            .optional(loc, &lab, "area_m2", r.area_m2, Rule::POSITIVE)
            .flatten();
        if kind == NodeKind::Storage && r.area_m2.is_none() {
            let expected = "a surface area in m² (> 0) for a storage node";
            c.push(loc, &lab, "area_m2", "", expected);
        }
        if kind != NodeKind::Storage && r.area_m2.is_some() {
            c.push(
                loc,
                &lab,
                "area_m2",
                "",
                "area_m2 only for kind = \"storage\"",
            );
        }
        nodes.push(Node {
            id: r.id.as_ref().map(|i| i.0.clone()).unwrap_or_default(),
            kind,
            xy,
            level_m: level.flatten(),
            bed_m,
            concentration,
            area_m2: area,
        });
    }
    nodes
}

/// A node's `x` and `y`, given together.
fn coordinates(
    c: &mut Checker,
    loc: &Loc,
    lab: &str,
    x: Option<f64>,
    y: Option<f64>,
) -> Option<(f64, f64)> {
    let x = c.optional(loc, lab, "x", x, Rule::FINITE);
    let y = c.optional(loc, lab, "y", y, Rule::FINITE);
    match (x, y) {
        (Some(x), Some(y)) => x.zip(y),
        (None, None) => None,
        (Some(_), None) => {
            c.push(loc, lab, "y", "", "x and y together");
            None
        }
        (None, Some(_)) => {
            c.push(loc, lab, "x", "", "x and y together");
            None
        }
    }
}

/// `[defaults]`: the reach keys every reach takes unless it gives its own.
pub(super) fn defaults(c: &mut Checker, rs: &RawScenario, zone_ids: &Ids) -> Typed {
    let Some(it) = &rs.defaults else {
        return Typed::default();
    };
    let d = &it.raw;
    let as_reach = RawReach {
        id: None,
        from: None,
        to: None,
        length_m: d.length_m,
        section: d.section.clone(),
        bed_slope: d.bed_slope,
        bed_up_m: d.bed_up_m,
        bed_down_m: d.bed_down_m,
        manning_n: d.manning_n,
        dispersion_m2s: d.dispersion_m2s,
        decay_per_day: d.decay_per_day.clone(),
        cell_length_m: d.cell_length_m,
        water_body: d.water_body.clone(),
        zone: d.zone.clone(),
        jurisdiction: d.jurisdiction.clone(),
        level: d.level.clone(),
        release_g_m2_day: d.release_g_m2_day.clone(),
        river: d.river.clone(),
    };
    let t = typed(c, &it.loc, "[defaults]", &as_reach);
    if let Some(z) = &t.zone
        && zone_ids.get(z).is_none()
        && !c.is_broken("zone", z)
    {
        let expected = c.defined(zone_ids, "zone");
        c.push(&it.loc, "[defaults]", "zone", z.clone(), expected);
    }
    t
}

/// The reaches and what the later checks need to know of them.
pub(super) struct Reaches {
    /// Every reach, in file order (placeholders where a key has a problem).
    pub reaches: Vec<Reach>,
    /// Whether both ends are known, different nodes.
    pub ends_ok: Vec<bool>,
    /// Whether the length is valid.
    pub length_ok: Vec<bool>,
    /// How each bed is given (`None`: invalid bed keys, already reported).
    pub beds: Vec<Option<Bed>>,
}

/// The ids a reach refers to.
pub(super) struct ReachRefs<'a> {
    /// Node ids.
    pub nodes: &'a Ids<'a>,
    /// Zone ids.
    pub zones: &'a Ids<'a>,
}

/// The reaches, each with its own keys or the defaults (`defaults_broken`: `[defaults]` could not be
/// read, so a key missing from a reach is not reported).
pub(super) fn reaches(
    c: &mut Checker,
    rs: &RawScenario,
    refs: &ReachRefs,
    nodes: &[Node],
    defaults: &Typed,
) -> Reaches {
    let n_reach = rs.reaches.len();
    let mut out = Reaches {
        reaches: Vec::with_capacity(n_reach),
        ends_ok: vec![true; n_reach],
        length_ok: vec![true; n_reach],
        beds: vec![None; n_reach],
    };
    let defaults_broken = rs.broken_tables.contains("defaults");
    let mut total_cells: usize = 0;
    // the end nodes of every reach looked up in parallel first (plain map reads); a reach whose id is not
    // found goes through `resolve` below, which reports it
    let found = |v: &Option<Id>| v.as_ref().and_then(|Id(id)| refs.nodes.get(id));
    let found_ends: Vec<(Option<usize>, Option<usize>)> = rs
        .reaches
        .par_iter()
        .with_min_len(ROWS_PER_TASK)
        .map(|(it, _)| (found(&it.raw.from), found(&it.raw.to)))
        .collect();
    for (k, (it, geometry)) in rs.reaches.iter().enumerate() {
        let (r, loc) = (&it.raw, &it.loc);
        let lab = label("reach", r.id.as_ref().map(|i| i.0.as_str()), it.ord);
        let own = typed(c, loc, &lab, r);
        let end = |c: &mut Checker, field: &str, v: &Option<Id>, known: Option<usize>| {
            if known.is_some() {
                return known;
            }
            let Id(id) = c.required(loc, &lab, field, v.as_ref(), "a node id (required)")?;
            c.resolve(refs.nodes, "node", loc, &lab, field, id)
                .ok()
                .flatten()
        };
        let from = end(c, "from", &r.from, found_ends[k].0);
        let to = end(c, "to", &r.to, found_ends[k].1);
        match (from, to) {
            (Some(f), Some(t)) if f == t => {
                c.push(
                    loc,
                    &lab,
                    "to",
                    nodes[t].id.clone(),
                    "a node other than `from` (a reach joins two different nodes)",
                );
                out.ends_ok[k] = false;
            }
            (Some(_), Some(_)) => {}
            _ => out.ends_ok[k] = false,
        }
        let length = length(c, loc, &lab, &own, geometry, defaults);
        out.length_ok[k] = length.is_some();
        let required = |c: &mut Checker, field: &str, o: &Opt, d: &Opt, what: &str| match or(o, d) {
            Some(v) => v,
            None => {
                if !defaults_broken {
                    c.push(
                        loc,
                        &lab,
                        field,
                        "",
                        format!("{what}, here or in [defaults]"),
                    );
                }
                None
            }
        };
        let manning = required(
            c,
            "manning_n",
            &own.manning_n,
            &defaults.manning_n,
            "a Manning n in (0, 0.2]",
        );
        let section = match or(&own.section, &defaults.section) {
            Some(s) => s,
            None => {
                if !defaults_broken {
                    c.push(loc, &lab, "section", "", "a cross-section, e.g. { shape = \"rectangle\", width_m = 20.0 }, here or in [defaults]");
                }
                None
            }
        };
        let cell_length = or(&own.cell_length_m, &defaults.cell_length_m).unwrap_or(Some(100.0));
        if let (Some(l), Some(dx)) = (length, cell_length) {
            let n = (l / dx).round().max(1.0);
            if l > MAX_LENGTH_M {
                // a length no river has: blame it, not the cell length that cannot fit it
                c.push(
                    loc,
                    &lab,
                    "length_m",
                    format!("{l:e}"),
                    "a reach length of at most 10⁷ m (10,000 km; the Nile is 6,650 km)",
                );
            } else if n > MAX_CELLS as f64 || total_cells + n as usize > MAX_CELLS {
                let count = if n < 1e12 {
                    format!("{n}")
                } else {
                    format!("{n:.3e}")
                };
                c.push(loc, &lab, "cell_length_m", format!("{dx}"), format!("a cell length giving at most {MAX_CELLS} cells in the whole network (this reach alone: {count} cells)"));
            } else {
                total_cells += n as usize;
            }
        }
        // bed: the reach's own bed keys (any of them) replace the default's; neither slope nor levels is a
        // flat bed (slope 0), which also carries the inverts across
        let bed = if own.bed.is_some() {
            own.bed
        } else {
            defaults.bed
        };
        out.beds[k] = bed.unwrap_or(Some(Bed::Slope(0.0)));
        if let Some(z) = &own.zone {
            let _ = c.resolve(refs.zones, "zone", loc, &lab, "zone", z);
        }
        let zone = own
            .zone
            .as_ref()
            .or(defaults.zone.as_ref())
            .and_then(|z| refs.zones.get(z));
        let np = c.pollutants.len();
        let decay = or(&own.decay, &defaults.decay).unwrap_or_else(|| Some(vec![0.0; np]));
        let release = or(&own.release, &defaults.release).unwrap_or_else(|| Some(vec![0.0; np]));
        out.reaches.push(Reach {
            id: r.id.as_ref().map(|i| i.0.clone()).unwrap_or_default(),
            from: from.unwrap_or(usize::MAX),
            to: to.unwrap_or(usize::MAX),
            length_m: length.unwrap_or(0.0),
            section: section.unwrap_or(Section::Rectangle { width_m: 1.0 }),
            bed_up_m: 0.0,
            bed_down_m: 0.0,
            manning_n: manning.unwrap_or(0.03),
            dispersion_m2s: or(&own.dispersion_m2s, &defaults.dispersion_m2s)
                .flatten()
                .unwrap_or(0.0),
            decay_per_day: decay.unwrap_or_default(),
            release_g_m2_day: release.unwrap_or_default(),
            cell_length_m: cell_length.unwrap_or(100.0),
            water_body: or(&own.water_body, &defaults.water_body)
                .flatten()
                .unwrap_or(WaterBody::River),
            zone,
            jurisdiction: own.jurisdiction.clone().or(defaults.jurisdiction.clone()),
            level: or(&own.level, &defaults.level).flatten(),
            river: own.river.clone().or(defaults.river.clone()),
            geometry: geometry.clone(),
        });
    }
    out
}

type Opt = super::checker::Opt<f64>;

/// A reach's length: its own, else its polyline's, else `[defaults]`' (`None`: a problem, reported).
fn length(
    c: &mut Checker,
    loc: &Loc,
    lab: &str,
    own: &Typed,
    geometry: &[(f64, f64)],
    defaults: &Typed,
) -> Option<f64> {
    if let Some(l) = own.length_m {
        return l;
    }
    if !geometry.is_empty() {
        let poly_len: f64 = geometry
            .windows(2)
            .map(|w| ((w[1].0 - w[0].0).powi(2) + (w[1].1 - w[0].1).powi(2)).sqrt())
            .sum();
        if poly_len > 0.0 && poly_len.is_finite() {
            return Some(poly_len);
        }
        let expected = "a polyline of positive length (or give length_m)";
        c.push(
            loc,
            lab,
            "geometry.coordinates",
            format!("{poly_len}"),
            expected,
        );
        return None;
    }
    match defaults.length_m {
        Some(l) => l,
        None => {
            c.push(loc, lab, "length_m", "", "a length in m (> 0)");
            None
        }
    }
}
