//! `[[structures]]` (DESIGN.md §9): sluices, weirs and pumps between two nodes, with their operation — a
//! schedule (a gate's `opening_m`, a pump's `on`) or a rule (a sluice's drainage band or flushing intake, a
//! pump's band), not both; and the nodes such links alone join to the network.

use super::super::parse::{RawScenario, label};
use super::super::raw::{RawRule, RawStructure};
use super::checker::{Checker, Rule};
use super::ids::Ids;
use crate::model::{FlowModel, Node, Operation, Reach, Series, Structure, StructureKind};
use crate::scenario::parse::Loc;
use crate::scenario::raw::Id;

/// `[[structures]]`: every sluice, weir and pump, checked one at a time.
pub(super) fn structures(
    c: &mut Checker,
    rs: &RawScenario,
    node_ids: &Ids,
    flow: FlowModel,
) -> Vec<Structure> {
    let _ids = c.ids("structure", &rs.structures, |r| r.id.as_ref());
    let mut out = Vec::with_capacity(rs.structures.len());
    for it in &rs.structures {
        let (r, loc) = (&it.raw, &it.loc);
        let lab = label("structure", r.id.as_ref().map(|i| i.0.as_str()), it.ord);
        if let FlowModel::Steady = flow {
            c.push(
                loc,
                &lab,
                "kind",
                r.kind.clone().unwrap_or_default(),
                "structures only with [simulation] hydraulics = \"unsteady\" (steady flow has no gates)",
            );
            continue;
        }
        let end = |c: &mut Checker, field: &str, v: &Option<Id>| match v {
            Some(Id(id)) => c
                .resolve(node_ids, "node", loc, &lab, field, id)
                .ok()
                .flatten(),
            None => {
                c.push(loc, &lab, field, "", "the id of a node (required)");
                None
            }
        };
        let (from, to) = (end(c, "from", &r.from), end(c, "to", &r.to));
        if let (Some(f), Some(t)) = (from, to)
            && f == t
        {
            let id = r.to.as_ref().map(|i| i.0.clone()).unwrap_or_default();
            c.push(
                loc,
                &lab,
                "to",
                id,
                "a node other than `from` (a structure joins two nodes)",
            );
        }
        let control = match r.rule.as_ref().and_then(|rule| rule.node.as_ref()) {
            Some(Id(id)) => c
                .resolve(node_ids, "node", loc, &lab, "rule.node", id)
                .ok()
                .flatten(),
            None => from,
        };
        let kind = structure_kind(c, loc, &lab, r);
        let operation = kind
            .as_ref()
            .and_then(|k| structure_operation(c, loc, &lab, r, k));
        if let (Some(from), Some(to), Some(control_node), Some(kind), Some(operation)) =
            (from, to, control, kind, operation)
            && from != to
        {
            out.push(Structure {
                id: r.id.as_ref().map(|i| i.0.clone()).unwrap_or_default(),
                from,
                to,
                control_node,
                kind,
                operation,
            });
        }
    }
    out
}

/// A structure's kind and dimensions, with the keys its kind does not take reported.
fn structure_kind(
    c: &mut Checker,
    loc: &Loc,
    lab: &str,
    r: &RawStructure,
) -> Option<StructureKind> {
    #[derive(Clone, Copy)]
    enum K {
        Sluice,
        Weir,
        Pump,
    }
    let options = [("sluice", K::Sluice), ("weir", K::Weir), ("pump", K::Pump)];
    let k = match &r.kind {
        Some(k) => c.enum_value(loc, lab, "kind", k, &options)?,
        None => {
            c.push(
                loc,
                lab,
                "kind",
                "",
                "one of: sluice, weir, pump (required)",
            );
            return None;
        }
    };
    let not_for = |c: &mut Checker, field: &str, given: bool, kind: &str| {
        if given {
            c.push(loc, lab, field, "", format!("no `{field}` on a {kind}"));
        }
    };
    let num = |c: &mut Checker, field: &str, v: Option<f64>, rule: Rule| match v {
        Some(v) => c.number(loc, lab, field, v, rule),
        None => {
            c.push(loc, lab, field, "", format!("{} (required)", rule.expected));
            None
        }
    };
    let coefficient = |c: &mut Checker, field: &str, v: Option<f64>, default: f64| match v {
        Some(v) if v.is_finite() && v > 0.0 && v <= 2.0 => Some(v),
        Some(v) => {
            c.push(loc, lab, field, format!("{v}"), "a coefficient in (0, 2]");
            None
        }
        None => Some(default),
    };
    match k {
        K::Sluice | K::Weir => {
            not_for(
                c,
                "capacity_m3s",
                r.capacity_m3s.is_some(),
                "sluice or weir",
            );
            let sill = num(c, "sill_m", r.sill_m, Rule::FINITE);
            let width = num(c, "width_m", r.width_m, Rule::POSITIVE);
            let one_way = r.one_way.unwrap_or(false);
            if let K::Weir = k {
                not_for(c, "opening_m", r.opening_m.is_some(), "weir");
                not_for(
                    c,
                    "weir_coefficient",
                    r.weir_coefficient.is_some(),
                    "weir (its coefficient is discharge_coefficient)",
                );
                let cw = coefficient(c, "discharge_coefficient", r.discharge_coefficient, 0.385);
                return Some(StructureKind::Weir {
                    sill_m: sill?,
                    width_m: width?,
                    one_way,
                    discharge_coefficient: cw?,
                });
            }
            let opening = match r.opening_m {
                Some(e) => c.number(loc, lab, "opening_m", e, Rule::POSITIVE).map(Some),
                None => Some(None),
            };
            let mu = coefficient(c, "discharge_coefficient", r.discharge_coefficient, 0.6);
            let cw = coefficient(c, "weir_coefficient", r.weir_coefficient, 0.385);
            Some(StructureKind::Sluice {
                sill_m: sill?,
                width_m: width?,
                opening_m: opening?,
                one_way,
                discharge_coefficient: mu?,
                weir_coefficient: cw?,
            })
        }
        K::Pump => {
            for (field, given) in [
                ("sill_m", r.sill_m.is_some()),
                ("width_m", r.width_m.is_some()),
                ("opening_m", r.opening_m.is_some()),
                ("one_way", r.one_way.is_some()),
                ("discharge_coefficient", r.discharge_coefficient.is_some()),
                ("weir_coefficient", r.weir_coefficient.is_some()),
            ] {
                not_for(c, field, given, "pump");
            }
            let cap = match r.capacity_m3s {
                Some(v) => c.number(loc, lab, "capacity_m3s", v, Rule::NON_NEGATIVE),
                None => {
                    c.push(
                        loc,
                        lab,
                        "capacity_m3s",
                        "",
                        "a pump's rate while running, m³/s (required)",
                    );
                    None
                }
            };
            Some(StructureKind::Pump { capacity_m3s: cap? })
        }
    }
}

/// A structure's operation: fixed, a schedule or a rule (not both), checked against its kind.
fn structure_operation(
    c: &mut Checker,
    loc: &Loc,
    lab: &str,
    r: &RawStructure,
    kind: &StructureKind,
) -> Option<Operation> {
    match (&r.schedule, &r.rule) {
        (Some(_), Some(_)) => {
            c.push(
                loc,
                lab,
                "rule",
                "",
                "either a schedule or a rule, not both",
            );
            None
        }
        (None, None) => Some(Operation::Fixed),
        (Some(path), None) => structure_schedule(c, loc, lab, path, kind),
        (None, Some(rule)) => structure_rule(c, loc, lab, rule, kind),
    }
}

/// A structure's `schedule`: column `opening_m` (sluice, ≥ 0 m) or `on` (pump, 0 or 1), held as steps.
fn structure_schedule(
    c: &mut Checker,
    loc: &Loc,
    lab: &str,
    path: &str,
    kind: &StructureKind,
) -> Option<Operation> {
    let (column, valid, what): (&str, fn(f64) -> bool, &str) = match kind {
        StructureKind::Sluice { .. } => {
            ("opening_m", |v| v >= 0.0, "gate openings ≥ 0 m (0 = shut)")
        }
        StructureKind::Pump { .. } => ("on", |v| v == 0.0 || v == 1.0, "0 (off) or 1 (on)"),
        StructureKind::Weir { .. } => {
            c.push(
                loc,
                lab,
                "schedule",
                path,
                "no schedule on a weir (a weir has no gate to operate)",
            );
            return None;
        }
    };
    let series = c.column(loc, lab, "schedule", path, column, false)?;
    if let Series::Table { values, .. } = &series
        && let Some(bad) = values.iter().find(|v| !(v.is_finite() && valid(**v)))
    {
        c.push(
            loc,
            lab,
            "schedule",
            format!("{path}: {column} = {bad}"),
            format!("a column `{column}` of {what}"),
        );
        return None;
    }
    Some(match kind {
        StructureKind::Pump { .. } => Operation::Running(series),
        _ => Operation::Opening(series),
    })
}

/// A structure's `rule`: a drainage band or a flushing intake on a sluice, a band on a pump.
fn structure_rule(
    c: &mut Checker,
    loc: &Loc,
    lab: &str,
    rule: &RawRule,
    kind: &StructureKind,
) -> Option<Operation> {
    let level = |c: &mut Checker, field: &str, v: Option<f64>| {
        v.and_then(|v| c.number(loc, lab, &format!("rule.{field}"), v, Rule::FINITE))
    };
    let margin = match rule.margin_m {
        Some(v) => c.number(loc, lab, "rule.margin_m", v, Rule::NON_NEGATIVE),
        None => Some(0.0),
    };
    let given = |v: &Option<f64>| v.is_some();
    let drain = given(&rule.open_above_m) || given(&rule.close_below_m);
    let flush = given(&rule.intake_below_m);
    let pump = given(&rule.on_above_m) || given(&rule.off_below_m);
    match kind {
        StructureKind::Weir { .. } => {
            c.push(
                loc,
                lab,
                "rule",
                "",
                "no rule on a weir (a weir has no gate to operate)",
            );
            None
        }
        StructureKind::Sluice { .. } => {
            if pump {
                c.push(loc, lab, "rule", "on_above_m/off_below_m", "on a sluice: open_above_m and close_below_m (drainage) or intake_below_m (flushing)");
                return None;
            }
            match (drain, flush) {
                (true, false) => {
                    let open = level(c, "open_above_m", rule.open_above_m);
                    let close = level(c, "close_below_m", rule.close_below_m);
                    if rule.open_above_m.is_none() || rule.close_below_m.is_none() {
                        c.push(
                            loc,
                            lab,
                            "rule",
                            "",
                            "both open_above_m and close_below_m for a drainage rule",
                        );
                        return None;
                    }
                    let (open, close) = (open?, close?);
                    if close > open {
                        c.push(
                            loc,
                            lab,
                            "rule.close_below_m",
                            format!("{close}"),
                            format!("a level at or below open_above_m ({open} m)"),
                        );
                        return None;
                    }
                    Some(Operation::Drain {
                        open_above_m: open,
                        close_below_m: close,
                        margin_m: margin?,
                    })
                }
                (false, true) => Some(Operation::Flush {
                    intake_below_m: level(c, "intake_below_m", rule.intake_below_m)?,
                    margin_m: margin?,
                }),
                (true, true) => {
                    c.push(loc, lab, "rule", "", "either a drainage rule (open_above_m, close_below_m) or a flushing rule (intake_below_m), not both");
                    None
                }
                (false, false) => {
                    c.push(
                        loc,
                        lab,
                        "rule",
                        "",
                        "open_above_m and close_below_m (drainage) or intake_below_m (flushing)",
                    );
                    None
                }
            }
        }
        StructureKind::Pump { .. } => {
            if drain || flush || rule.margin_m.is_some() {
                c.push(
                    loc,
                    lab,
                    "rule",
                    "",
                    "on a pump: on_above_m and off_below_m",
                );
                return None;
            }
            let on = level(c, "on_above_m", rule.on_above_m);
            let off = level(c, "off_below_m", rule.off_below_m);
            if rule.on_above_m.is_none() || rule.off_below_m.is_none() {
                c.push(
                    loc,
                    lab,
                    "rule",
                    "",
                    "both on_above_m and off_below_m for a pump rule",
                );
                return None;
            }
            let (on, off) = (on?, off?);
            if off > on {
                c.push(
                    loc,
                    lab,
                    "rule.off_below_m",
                    format!("{off}"),
                    format!("a level at or below on_above_m ({on} m)"),
                );
                return None;
            }
            Some(Operation::Pumping {
                on_above_m: on,
                off_below_m: off,
            })
        }
    }
}

/// With a steady start, a node joined to the rest by structures alone has no level a steady state could
/// give: it must hold one (or the run must start from still water).
pub(super) fn structure_only_nodes(
    c: &mut Checker,
    rs: &RawScenario,
    nodes: &[Node],
    reaches: &[Reach],
    structures: &[Structure],
) {
    let mut on_a_reach = vec![false; nodes.len()];
    for r in reaches {
        on_a_reach[r.from] = true;
        on_a_reach[r.to] = true;
    }
    let mut reported = vec![false; nodes.len()];
    for s in structures {
        for n in [s.from, s.to] {
            if !on_a_reach[n] && nodes[n].level_m.is_none() && !reported[n] {
                reported[n] = true;
                let lab = format!("node {}", nodes[n].id);
                c.push(
                    &rs.nodes[n].loc,
                    &lab,
                    "",
                    "",
                    format!(
                        "a reach, a held level_m, or [initial] level_m with unsteady hydraulics: node {} is joined \
                         by structures alone, and a steady initial state cannot give its level",
                        nodes[n].id
                    ),
                );
            }
        }
    }
}
