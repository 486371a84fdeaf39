//! The keys of each project kind (DESIGN.md §8), one function per kind.

use super::super::parse::Loc;
use super::super::raw::{Id, RawProject};
use super::checker::{Checker, Rule, zero_if_absent};
use super::refs::{Built, TableIds};
use crate::model::{Discharge, OutfallKind, ProjectKind};
use crate::targets::gb18918;

/// The keys each kind takes besides the common ones.
pub(super) fn keys(kind: &str) -> &'static [&'static str] {
    match kind {
        "intercept" => &["outfalls", "group", "efficiency", "sewer"],
        "close_outfall" => &["outfalls", "group", "line_loads"],
        "separate" => &["outfalls", "group", "efficiency"],
        "rural_treatment" => &["outfalls", "group", "line_loads", "reduction"],
        "sewer_upgrade" => &["sewer", "capacity_m3s"],
        "plant" => &["plant", "capacity_m3s", "effluent"],
        "diversion" => &["node", "flow_m3s", "concentration"],
        "boundary_improvement" => &["node", "concentration"],
        "dredging" => &["reaches", "release_g_m2_day", "decay_per_day"],
        _ => &[],
    }
}

/// The kind-specific keys a project gives.
pub(super) fn given_keys(r: &RawProject) -> Vec<&'static str> {
    let pairs: [(&'static str, bool); 15] = [
        ("outfalls", r.outfalls.is_some()),
        ("group", r.group.is_some()),
        ("line_loads", r.line_loads.is_some()),
        ("efficiency", r.efficiency.is_some()),
        ("sewer", r.sewer.is_some()),
        ("reduction", r.reduction.is_some()),
        ("plant", r.plant.is_some()),
        ("capacity_m3s", r.capacity_m3s.is_some()),
        ("effluent", r.effluent.is_some()),
        ("node", r.node.is_some()),
        ("flow_m3s", r.flow_m3s.is_some()),
        ("concentration", r.concentration.is_some()),
        ("reaches", r.reaches.is_some()),
        ("release_g_m2_day", r.release_g_m2_day.is_some()),
        ("decay_per_day", r.decay_per_day.is_some()),
    ];
    pairs
        .into_iter()
        .filter(|&(_, g)| g)
        .map(|(k, _)| k)
        .collect()
}

/// What a project of kind `k` (one of [`ProjectKind::NAMES`]) does.
pub(super) fn kind(
    c: &mut Checker,
    built: &Built,
    ids: &TableIds,
    loc: &Loc,
    lab: &str,
    k: &str,
    r: &RawProject,
) -> Option<ProjectKind> {
    let p = Proj { built, loc, lab, r };
    match k {
        "intercept" => intercept(c, p, ids),
        "close_outfall" => {
            let (outfalls, line_loads) = targets_and_lines(c, p)?;
            Some(ProjectKind::CloseOutfall {
                outfalls,
                line_loads,
            })
        }
        "sewer_upgrade" => sewer_upgrade(c, p, ids),
        "separate" => separate(c, p),
        "rural_treatment" => rural_treatment(c, p),
        "plant" => plant(c, p, ids),
        "diversion" => diversion(c, p),
        "boundary_improvement" => boundary_improvement(c, p),
        "dredging" => dredging(c, p),
        _ => None,
    }
}

/// The project being checked, where it is written, and the items it may refer to.
#[derive(Clone, Copy)]
struct Proj<'x> {
    built: &'x Built<'x>,
    loc: &'x Loc,
    lab: &'x str,
    r: &'x RawProject,
}

/// The outfalls named by `outfalls` or `group` (exactly one of them), as indices of the outfalls built.
fn targets(c: &mut Checker, p: Proj) -> Option<Vec<usize>> {
    let Proj { built, loc, lab, r } = p;
    match (&r.outfalls, &r.group) {
        (Some(list), None) => {
            let raw = c.resolve_all(built.outfall_ids, "outfall", loc, lab, "outfalls", list)?;
            // an outfall with a problem of its own is reported where it is defined
            raw.iter().map(|&k| built.outfall_built[k]).collect()
        }
        (None, Some(g)) => {
            let out: Vec<usize> = (built.outfalls.iter().enumerate())
                .filter(|(_, o)| &o.group == g)
                .map(|(k, _)| k)
                .collect();
            if out.is_empty() {
                let mut groups: Vec<&str> =
                    built.outfalls.iter().map(|o| o.group.as_str()).collect();
                groups.sort_unstable();
                groups.dedup();
                let expected = format!(
                    "the group of at least one outfall (groups: {})",
                    groups.join(", ")
                );
                c.push(loc, lab, "group", g.clone(), expected);
                return None;
            }
            Some(out)
        }
        (Some(_), Some(_)) => {
            c.push(loc, lab, "group", "", "either outfalls or group, not both");
            None
        }
        (None, None) => {
            let expected = "the outfalls it acts on: outfalls = [\"P1\", …] or group = \"…\"";
            c.push(loc, lab, "outfalls", "", expected);
            None
        }
    }
}

/// The outfalls and line loads named by `outfalls`, `line_loads` or `group` (a group names both its outfalls
/// and its line loads; `group` goes alone), as indices of the items built.
fn targets_and_lines(c: &mut Checker, p: Proj) -> Option<(Vec<usize>, Vec<usize>)> {
    let Proj { built, loc, lab, r } = p;
    let named_lines = |c: &mut Checker, list: &[Id]| -> Option<Vec<usize>> {
        let mut out = Vec::with_capacity(list.len());
        let mut ok = true;
        for Id(id) in list {
            match built.line_loads.iter().position(|l| &l.id == id) {
                Some(k) => out.push(k),
                None if c.is_broken("line load", id) => ok = false,
                None => {
                    let ids: Vec<&str> = built.line_loads.iter().map(|l| l.id.as_str()).collect();
                    let expected = if ids.is_empty() {
                        "the id of a line load in [[line_loads]] (none is defined)".to_string()
                    } else {
                        format!(
                            "the id of a line load in [[line_loads]] ({})",
                            ids.join(", ")
                        )
                    };
                    c.push(loc, lab, "line_loads", id.clone(), expected);
                    ok = false;
                }
            }
        }
        ok.then_some(out)
    };
    match (&r.outfalls, &r.line_loads, &r.group) {
        (None, None, Some(g)) => {
            let outs: Vec<usize> = (built.outfalls.iter().enumerate())
                .filter(|(_, o)| &o.group == g)
                .map(|(k, _)| k)
                .collect();
            let lines: Vec<usize> = (built.line_loads.iter().enumerate())
                .filter(|(_, l)| &l.group == g)
                .map(|(k, _)| k)
                .collect();
            if outs.is_empty() && lines.is_empty() {
                let mut groups: Vec<&str> = (built.outfalls.iter().map(|o| o.group.as_str()))
                    .chain(built.line_loads.iter().map(|l| l.group.as_str()))
                    .collect();
                groups.sort_unstable();
                groups.dedup();
                let expected = format!(
                    "the group of at least one outfall or line load (groups: {})",
                    groups.join(", ")
                );
                c.push(loc, lab, "group", g.clone(), expected);
                return None;
            }
            Some((outs, lines))
        }
        (_, _, Some(_)) => {
            c.push(
                loc,
                lab,
                "group",
                "",
                "either group, or outfalls and/or line_loads, not both",
            );
            None
        }
        (None, None, None) => {
            let expected = "what it acts on: outfalls = [\"P1\", …], line_loads = [\"L1\", …] or group = \"…\"";
            c.push(loc, lab, "outfalls", "", expected);
            None
        }
        (outs, lines, None) => {
            let o = match outs {
                Some(list) => {
                    let raw =
                        c.resolve_all(built.outfall_ids, "outfall", loc, lab, "outfalls", list);
                    raw.and_then(|raw| raw.iter().map(|&k| built.outfall_built[k]).collect())
                }
                None => Some(Vec::new()),
            };
            let l = match lines {
                Some(list) if list.is_empty() => {
                    c.push(loc, lab, "line_loads", "[]", "at least one line load id");
                    None
                }
                Some(list) => named_lines(c, list),
                None => Some(Vec::new()),
            };
            Some((o?, l?))
        }
    }
}

fn sewer_upgrade(c: &mut Checker, p: Proj, ids: &TableIds) -> Option<ProjectKind> {
    let Proj { loc, lab, r, .. } = p;
    let sewer = c.listed_ref(
        &ids.sewers,
        "sewer",
        loc,
        lab,
        "sewer",
        r.sewer.as_ref(),
        "the id of the sewer whose capacity changes (required)",
    );
    let capacity = match r.capacity_m3s {
        Some(v) => c.number(loc, lab, "capacity_m3s", v, Rule::CAPACITY),
        None => {
            c.push(
                loc,
                lab,
                "capacity_m3s",
                "",
                "the new capacity, m³/s (required)",
            );
            None
        }
    };
    Some(ProjectKind::SewerUpgrade {
        sewer: sewer?,
        capacity_m3s: capacity?,
    })
}

/// A share in [0, 1], 1 when absent.
fn share(c: &mut Checker, p: Proj, field: &str, v: Option<f64>) -> Option<f64> {
    match v {
        None => Some(1.0),
        Some(v) => c.number(p.loc, p.lab, field, v, Rule::SHARE),
    }
}

fn intercept(c: &mut Checker, p: Proj, ids: &TableIds) -> Option<ProjectKind> {
    let outfalls = targets(c, p);
    let efficiency = share(c, p, "efficiency", p.r.efficiency);
    let Proj { built, loc, lab, r } = p;
    let sewer = c.listed_ref(
        &ids.sewers,
        "sewer",
        loc,
        lab,
        "sewer",
        r.sewer.as_ref(),
        "the id of the sewer that collects the flow (required)",
    );
    let outfalls = outfalls?;
    let mut ok = true;
    for &o in &outfalls {
        if matches!(built.outfalls[o].discharge, Discharge::Load { .. }) {
            let oid = built.outfalls[o].id.clone();
            c.push(loc, lab, "outfalls", oid, "outfalls with a flow (a mass-only load_kg_per_day outfall carries no water into a sewer)");
            ok = false;
        }
    }
    ok.then_some(())?;
    Some(ProjectKind::Intercept {
        outfalls,
        efficiency: efficiency?,
        sewer: sewer?,
    })
}

fn separate(c: &mut Checker, p: Proj) -> Option<ProjectKind> {
    let outfalls = targets(c, p);
    let efficiency = share(c, p, "efficiency", p.r.efficiency);
    let outfalls = outfalls?;
    let mut ok = true;
    for &o in &outfalls {
        let of = &p.built.outfalls[o];
        if of.kind != OutfallKind::RainDryWeather {
            let (oid, kname) = (of.id.clone(), of.kind.name());
            c.push(p.loc, p.lab, "outfalls", oid, format!("outfalls of kind rain_dry_weather (this one is {kname}): separation removes the dry-weather discharge of rain outlets"));
            ok = false;
        }
    }
    ok.then_some(())?;
    Some(ProjectKind::Separate {
        outfalls,
        efficiency: efficiency?,
    })
}

fn rural_treatment(c: &mut Checker, p: Proj) -> Option<ProjectKind> {
    let targets = targets_and_lines(c, p);
    let Proj { loc, lab, r, .. } = p;
    let np = c.pollutants.len();
    let reduction = match &r.reduction {
        None => {
            let expected = "the share removed: a number in [0, 1] or { COD = 0.6, … } (required)";
            c.push(loc, lab, "reduction", "", expected);
            None
        }
        Some(toml::Value::Float(v)) => c
            .number(loc, lab, "reduction", *v, Rule::SHARE)
            .map(|v| vec![v; np]),
        Some(toml::Value::Integer(i)) => c
            .number(loc, lab, "reduction", *i as f64, Rule::SHARE)
            .map(|v| vec![v; np]),
        Some(toml::Value::Table(t)) => {
            let (pt, ok) = c.numbers(loc, lab, "reduction", t, Rule::SHARE.expected);
            let t = c.table(loc, lab, "reduction", &pt, Rule::SHARE);
            t.filter(|_| ok).map(zero_if_absent)
        }
        Some(other) => {
            let expected = "a share in [0, 1] or a table of shares per pollutant";
            c.push(loc, lab, "reduction", other.type_str(), expected);
            None
        }
    };
    let (outfalls, line_loads) = targets?;
    Some(ProjectKind::RuralTreatment {
        outfalls,
        line_loads,
        reduction: reduction?,
    })
}

fn plant(c: &mut Checker, p: Proj, ids: &TableIds) -> Option<ProjectKind> {
    let Proj { loc, lab, r, .. } = p;
    let plant = c.listed_ref(
        &ids.plants,
        "plant",
        loc,
        lab,
        "plant",
        r.plant.as_ref(),
        "the id of the plant upgraded (required)",
    );
    let cap = c.optional(loc, lab, "capacity_m3s", r.capacity_m3s, Rule::CAPACITY);
    let eff = match &r.effluent {
        None => Some(vec![None; c.pollutants.len()]),
        Some(v) => effluent(c, loc, lab, v),
    };
    if r.capacity_m3s.is_none() && r.effluent.is_none() {
        let expected = "the new capacity_m3s and/or effluent";
        c.push(loc, lab, "capacity_m3s", "", expected);
        return None;
    }
    Some(ProjectKind::Plant {
        plant: plant?,
        // absent: unchanged
        capacity_m3s: match cap {
            None => None,
            Some(v) => Some(v?),
        },
        effluent: eff?,
    })
}

/// The project's `node`.
fn node_ref(c: &mut Checker, p: Proj) -> Option<usize> {
    let what = "a node id (required)";
    let Id(n) = c.required(p.loc, p.lab, "node", p.r.node.as_ref(), what)?;
    (c.resolve(p.built.node_ids, "node", p.loc, p.lab, "node", n))
        .ok()
        .flatten()
}

fn diversion(c: &mut Checker, p: Proj) -> Option<ProjectKind> {
    let node = node_ref(c, p);
    let Proj { loc, lab, r, .. } = p;
    let flow = c.required_number(
        loc,
        lab,
        "flow_m3s",
        r.flow_m3s,
        "the added flow in m³/s (required)",
        Rule::FLOW,
    );
    let conc = match &r.concentration {
        None => Some(vec![0.0; c.pollutants.len()]),
        Some(t) => c.table_or_zero(loc, lab, "concentration", t, Rule::CONCENTRATION),
    };
    Some(ProjectKind::Diversion {
        node: node?,
        flow_m3s: flow?,
        concentration: conc?,
    })
}

fn boundary_improvement(c: &mut Checker, p: Proj) -> Option<ProjectKind> {
    let node = node_ref(c, p);
    let Proj { built, loc, lab, r } = p;
    if let Some(n) = node
        && !built.inflows.iter().any(|i| i.node == n)
    {
        let nid = built.nodes[n].id.clone();
        // an [[inflows]] entry that names the node but has a problem of its own (a short row in its flow
        // series, say), or one that could not be read at all, has been reported: saying it again here
        // would blame the project for it
        let named = c.rs.any_broken("inflow")
            || c.rs
                .inflows
                .iter()
                .any(|it| it.raw.node.as_ref().is_some_and(|i| i.0 == nid));
        if !named {
            let expected = "a node with an [[inflows]] entry (the boundary whose quality changes)";
            c.push(loc, lab, "node", nid, expected);
        }
        return None;
    }
    let what = "the new concentrations in mg/L (required)";
    let conc = c
        .required(loc, lab, "concentration", r.concentration.as_ref(), what)
        .and_then(|t| c.table(loc, lab, "concentration", t, Rule::CONCENTRATION));
    Some(ProjectKind::BoundaryImprovement {
        node: node?,
        concentration: conc?,
    })
}

fn dredging(c: &mut Checker, p: Proj) -> Option<ProjectKind> {
    let Proj { built, loc, lab, r } = p;
    let what = "the dredged reaches: reaches = [\"R1\", …] (required)";
    let reaches = c
        .required(loc, lab, "reaches", r.reaches.as_deref(), what)
        .and_then(|list| c.resolve_all(built.along.ids, "reach", loc, lab, "reaches", list));
    if r.release_g_m2_day.is_none() && r.decay_per_day.is_none() {
        let expected = "a dredging project needs the new release_g_m2_day and/or decay_per_day";
        c.push(loc, lab, "release_g_m2_day", "", expected);
        return None;
    }
    let np = c.pollutants.len();
    let rel = match r.release_g_m2_day.as_ref() {
        None => Some(vec![None; np]),
        Some(t) => {
            let rule = Rule::non_negative("a finite release ≥ 0 g/m²/day");
            c.table(loc, lab, "release_g_m2_day", t, rule)
        }
    };
    let decay = match r.decay_per_day.as_ref() {
        None => Some(vec![None; np]),
        Some(t) => {
            let rule = Rule::non_negative("a finite decay rate ≥ 0 1/day");
            c.table(loc, lab, "decay_per_day", t, rule)
        }
    };
    Some(ProjectKind::Dredging {
        reaches: reaches?,
        release_g_m2_day: rel?,
        decay_per_day: decay?,
    })
}

/// A plant's `effluent`: a table of mg/L per pollutant, or a GB 18918-2002 class name whose limits apply
/// to the simulated pollutants the class covers (the others stay `None`: untreated).
pub(super) fn effluent(
    c: &mut Checker,
    loc: &Loc,
    item: &str,
    v: &toml::Value,
) -> Option<Vec<Option<f64>>> {
    let classes = || gb18918::class_names().join(", ");
    match v {
        toml::Value::String(name) => {
            let problem = match gb18918::class_limits(name) {
                None => format!(
                    "a GB 18918-2002 class in the bundled table: {} (classes 2 and 3 are not \
                     tabulated), or concentrations in mg/L, e.g. {{ COD = 50.0, NH3N = 5.0 }}",
                    classes()
                ),
                Some(limits) => {
                    let mut out = vec![None; c.pollutants.len()];
                    for &(param, mg_l) in &limits {
                        if let Some(&k) = c.pidx.get(param) {
                            out[k] = Some(mg_l);
                        }
                    }
                    if out.iter().any(Option::is_some) {
                        return Some(out);
                    }
                    let covered: Vec<&str> = limits.iter().map(|&(p, _)| p).collect();
                    format!(
                        "a class that limits a simulated pollutant: GB 18918 covers {} and the scenario \
                         simulates {}; give a table of mg/L instead",
                        covered.join(", "),
                        c.pollutants.join(", ")
                    )
                }
            };
            c.push(loc, item, "effluent", name.clone(), problem);
            None
        }
        toml::Value::Table(t) => {
            let expected = Rule::CONCENTRATION.expected;
            let (pt, ok) = c.numbers(loc, item, "effluent", t, expected);
            c.table(loc, item, "effluent", &pt, Rule::CONCENTRATION)
                .filter(|_| ok)
        }
        other => {
            let valid = classes();
            c.push(
                loc,
                item,
                "effluent",
                other.type_str(),
                format!(
                    "concentrations in mg/L, e.g. {{ COD = 50.0, NH3N = 5.0 }}, or a GB 18918-2002 class \
                     name: {valid}"
                ),
            );
            None
        }
    }
}
