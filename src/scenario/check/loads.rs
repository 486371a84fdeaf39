//! What enters and leaves the water: boundary inflows, withdrawals, outfalls, line loads, and the
//! `[temperature]` that corrects decay. An item with a problem is left out (the model is not built then).

use super::super::parse::{Item, Loc};
use super::super::parse::{RawScenario, inflow_label, label};
use super::super::raw::{Id, RawOutfall, RawTemperature};
use super::checker::{Checker, Rule};
use super::ids::Ids;
use super::places::Along;
use crate::model::{
    Discharge, Inflow, LineLoad, Node, NodeKind, Outfall, OutfallKind, Place, Series, Temperature,
    Withdrawal,
};

/// `[[inflows]]`; a boundary node without one is a problem.
pub(super) fn inflows(
    c: &mut Checker,
    rs: &RawScenario,
    node_ids: &Ids,
    nodes: &[Node],
) -> Vec<Inflow> {
    let mut inflows = Vec::with_capacity(rs.inflows.len());
    let mut has_inflow = vec![false; nodes.len()];
    for it in &rs.inflows {
        let (r, loc) = (&it.raw, &it.loc);
        let lab = inflow_label(it.ord, r.node.as_ref().map(|n| n.0.as_str()));
        let what = "the id of the node where the water enters (required)";
        let node = c
            .required(loc, &lab, "node", r.node.as_ref(), what)
            .and_then(|Id(n)| {
                c.resolve(node_ids, "node", loc, &lab, "node", n)
                    .ok()
                    .flatten()
            });
        if let Some(n) = node {
            has_inflow[n] = true;
        }
        let has_series = r.flow_series.is_some() || r.concentration_series.is_some();
        let linear = c.interpolate(loc, &lab, r.interpolate.as_ref(), has_series);
        let flow = c.required_flow(loc, &lab, r.flow_m3s, r.flow_series.as_ref(), linear);
        let conc = c.concentrations(
            loc,
            &lab,
            r.concentration.as_ref(),
            r.concentration_series.as_ref(),
            linear,
        );
        let group = r
            .group
            .clone()
            .unwrap_or_else(|| r.node.as_ref().map(|n| n.0.clone()).unwrap_or_default());
        if let (Some(node), Some(Some(flow)), Some(conc)) = (node, flow, conc) {
            inflows.push(Inflow {
                node,
                flow_m3s: flow,
                concentration: conc,
                group,
            });
        }
    }
    for (n, node) in nodes.iter().enumerate() {
        if node.kind == NodeKind::Boundary && !has_inflow[n] {
            c.push(
                &rs.nodes[n].loc,
                &format!("node {}", node.id),
                "kind",
                "boundary",
                "an [[inflows]] entry at this boundary node (or another kind)",
            );
        }
    }
    inflows
}

/// `[[withdrawals]]`: at a node, or at a place along a reach.
pub(super) fn withdrawals(
    c: &mut Checker,
    rs: &RawScenario,
    node_ids: &Ids,
    along: &Along,
) -> Vec<Withdrawal> {
    let mut withdrawals = Vec::new();
    for it in &rs.withdrawals {
        let (r, loc) = (&it.raw, &it.loc);
        let lab = label("withdrawal", r.id.as_ref().map(|i| i.0.as_str()), it.ord);
        let place = match (&r.node, &r.reach) {
            (Some(Id(n)), None) => {
                if r.at_m.is_some() {
                    let expected = "at_m only with reach (a withdrawal at a node has no position)";
                    c.push(loc, &lab, "at_m", "", expected);
                }
                c.resolve(node_ids, "node", loc, &lab, "node", n)
                    .ok()
                    .flatten()
                    .map(Place::Node)
            }
            (None, Some(_)) => {
                let reach = c.reach_ref(along, loc, &lab, "reach", r.reach.as_ref());
                let at = c.position(along, loc, &lab, "at_m", r.at_m, reach);
                reach
                    .zip(at)
                    .map(|(reach, at_m)| Place::Reach { reach, at_m })
            }
            (Some(_), Some(_)) => {
                let expected = "either node, or reach and at_m, not both";
                c.push(loc, &lab, "reach", "", expected);
                None
            }
            (None, None) => {
                let expected = "where the water is taken: node, or reach and at_m";
                c.push(loc, &lab, "node", "", expected);
                None
            }
        };
        let linear = c.interpolate(loc, &lab, r.interpolate.as_ref(), r.flow_series.is_some());
        let flow = c.required_flow(loc, &lab, r.flow_m3s, r.flow_series.as_ref(), linear);
        if let (Some(place), Some(Some(flow))) = (place, flow) {
            withdrawals.push(Withdrawal {
                place,
                flow_m3s: flow,
            });
        }
    }
    withdrawals
}

/// `[[outfalls]]`, and for each raw outfall its index among those built (`None`: it has a problem).
pub(super) fn outfalls(
    c: &mut Checker,
    rs: &RawScenario,
    along: &Along,
) -> (Vec<Outfall>, Vec<Option<usize>>) {
    let mut outfalls = Vec::new();
    let mut built = Vec::with_capacity(rs.outfalls.len());
    for it in &rs.outfalls {
        let o = outfall(c, it, along);
        built.push(o.is_some().then_some(outfalls.len()));
        outfalls.extend(o);
    }
    (outfalls, built)
}

/// One outfall: where, what kind, and a flow with its concentrations or a mass-only load.
fn outfall(c: &mut Checker, it: &Item<RawOutfall>, along: &Along) -> Option<Outfall> {
    let (r, loc) = (&it.raw, &it.loc);
    let lab = label("outfall", r.id.as_ref().map(|i| i.0.as_str()), it.ord);
    let reach = c.reach_ref(along, loc, &lab, "reach", r.reach.as_ref());
    let at = c.position(along, loc, &lab, "at_m", r.at_m, reach);
    let kind = match &r.kind {
        None => {
            c.push(
                loc,
                &lab,
                "kind",
                "",
                "the outfall kind: sewage, industrial, rain_dry_weather, rural, wwtp or overflow",
            );
            None
        }
        Some(k) => c.enum_value(
            loc,
            &lab,
            "kind",
            k,
            &[
                ("sewage", OutfallKind::Sewage),
                ("industrial", OutfallKind::Industrial),
                ("rain_dry_weather", OutfallKind::RainDryWeather),
                ("rural", OutfallKind::Rural),
                ("wwtp", OutfallKind::Wwtp),
                ("overflow", OutfallKind::Overflow),
            ],
        ),
    };
    let discharge = discharge(c, loc, &lab, r);
    let (reach, at_m, kind, discharge) = (reach?, at?, kind?, discharge?);
    Some(Outfall {
        id: r.id.as_ref().map(|i| i.0.clone()).unwrap_or_default(),
        reach,
        at_m,
        discharge,
        kind,
        group: r.group.clone().unwrap_or_else(|| kind.name().to_string()),
    })
}

/// An outfall's discharge: a flow with a concentration, or `load_kg_per_day` alone.
fn discharge(c: &mut Checker, loc: &Loc, lab: &str, r: &RawOutfall) -> Option<Discharge> {
    let has_series = r.flow_series.is_some() || r.concentration_series.is_some();
    let linear = c.interpolate(loc, lab, r.interpolate.as_ref(), has_series);
    let has_flow = r.flow_m3s.is_some() || r.flow_series.is_some();
    match (&r.load_kg_per_day, has_flow) {
        (Some(_), true) => {
            c.push(
                loc,
                lab,
                "load_kg_per_day",
                "",
                "either a flow with a concentration, or load_kg_per_day (mass only), not both",
            );
            None
        }
        (Some(l), false) => {
            if r.concentration.is_some() || r.concentration_series.is_some() {
                let expected = "no concentration with load_kg_per_day (a mass-only load)";
                c.push(loc, lab, "concentration", "", expected);
            }
            let kg = c.table_or_zero(loc, lab, "load_kg_per_day", l, Rule::NON_NEGATIVE)?;
            Some(Discharge::Load {
                kg_per_day: kg.into_iter().map(Series::Const).collect(),
            })
        }
        (None, true) => {
            let flow = c.const_or_series(
                loc,
                lab,
                ("flow_m3s", r.flow_m3s),
                ("flow_series", r.flow_series.as_ref()),
                "flow_m3s",
                linear,
                Rule::FLOW,
            );
            let conc = c.concentrations(
                loc,
                lab,
                r.concentration.as_ref(),
                r.concentration_series.as_ref(),
                linear,
            );
            Some(Discharge::Flow {
                flow_m3s: flow.flatten()?,
                concentration: conc?,
            })
        }
        (None, false) => {
            c.push(
                loc,
                lab,
                "flow_m3s",
                "",
                "a flow (flow_m3s or flow_series) with a concentration, or load_kg_per_day",
            );
            None
        }
    }
}

/// `[[line_loads]]`: a load spread along part of a reach (by default the whole reach).
pub(super) fn line_loads(c: &mut Checker, rs: &RawScenario, along: &Along) -> Vec<LineLoad> {
    let mut line_loads = Vec::new();
    for it in &rs.line_loads {
        let (r, loc) = (&it.raw, &it.loc);
        let lab = label("line load", r.id.as_ref().map(|i| i.0.as_str()), it.ord);
        let reach = c.reach_ref(along, loc, &lab, "reach", r.reach.as_ref());
        let from_m = c.position(
            along,
            loc,
            &lab,
            "from_m",
            Some(r.from_m.unwrap_or(0.0)),
            reach,
        );
        let to_m = match r.to_m {
            Some(t) => c.position(along, loc, &lab, "to_m", Some(t), reach),
            None => reach
                .filter(|&x| along.length_ok[x])
                .map(|x| along.reaches[x].length_m),
        };
        if let (Some(f), Some(t)) = (from_m, to_m)
            && f >= t
        {
            let expected = format!("to_m greater than from_m ({f} m)");
            c.push(loc, &lab, "to_m", format!("{t}"), expected);
        }
        let what = "a load table in kg/day, e.g. { COD = 50.0 }";
        let load = c
            .required(
                loc,
                &lab,
                "load_kg_per_day",
                r.load_kg_per_day.as_ref(),
                what,
            )
            .and_then(|l| c.table_or_zero(loc, &lab, "load_kg_per_day", l, Rule::NON_NEGATIVE));
        if let (Some(reach), Some(from_m), Some(to_m), Some(load)) = (reach, from_m, to_m, load) {
            let id = r.id.as_ref().map(|i| i.0.clone()).unwrap_or_default();
            line_loads.push(LineLoad {
                group: r.group.clone().unwrap_or_else(|| id.clone()),
                id,
                reach,
                from_m,
                to_m,
                kg_per_day: load.into_iter().map(Series::Const).collect(),
            });
        }
    }
    line_loads
}

/// `[temperature]`: the water temperature and θ per pollutant (θ = 1 for a pollutant not named).
pub(super) fn temperature(
    c: &mut Checker,
    it: Option<&Item<RawTemperature>>,
) -> Option<Temperature> {
    let it = it?;
    let (r, loc) = (&it.raw, &it.loc);
    let lab = "[temperature]";
    let linear = c.interpolate(loc, lab, r.interpolate.as_ref(), r.water_c_series.is_some());
    let water = c.const_or_series(
        loc,
        lab,
        ("water_c", r.water_c),
        ("water_c_series", r.water_c_series.as_ref()),
        "water_c",
        linear,
        Rule::FINITE,
    );
    if water.is_none() {
        let expected = "a water temperature in °C or a water_c_series file";
        c.push(loc, lab, "water_c", "", expected);
    }
    let theta = match &r.theta {
        None => Some(vec![1.0; c.pollutants.len()]),
        Some(t) => c
            .table(loc, lab, "theta", t, Rule::POSITIVE)
            .map(|th| th.into_iter().map(|x| x.unwrap_or(1.0)).collect()),
    };
    Some(Temperature {
        water_c: water.flatten()?,
        theta: theta?,
    })
}
