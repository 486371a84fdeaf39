//! `[capacity]` (DESIGN.md §11): the design-flow rule, inside the scenario's period, and the reduction costs,
//! each a number ≥ 0 for a source group that outfalls or line loads name.

use super::super::parse::RawScenario;
use super::checker::{Checker, Rule};
use crate::model::{CapacitySettings, DesignFlow, LineLoad, Outfall, Simulation, reducible_groups};

/// `[capacity]`: the settings, or the defaults when the table is absent.
pub(super) fn capacity(
    c: &mut Checker,
    rs: &RawScenario,
    sim: Option<&Simulation>,
    outfalls: &[Outfall],
    line_loads: &[LineLoad],
) -> CapacitySettings {
    let mut out = CapacitySettings::default();
    let Some(it) = &rs.capacity else {
        return out;
    };
    const ITEM: &str = "[capacity]";
    let loc = &it.loc;
    if let Some(text) = &it.raw.design_flow {
        match DesignFlow::parse(text) {
            Ok(d) => {
                let within = sim.map_or(Ok(()), |s| d.check_within(s.start, s.end_s));
                match within {
                    Ok(()) => out.design_flow = d,
                    Err(e) => c.push(loc, ITEM, "design_flow", format!("{text:?}"), e),
                }
            }
            Err(e) => c.push(loc, ITEM, "design_flow", format!("{text:?}"), e),
        }
    }
    if let Some(table) = &it.raw.reduction_cost {
        let expected = "a cost per kg/day removed, a number ≥ 0";
        let (costs, _) = c.numbers(loc, ITEM, "reduction_cost", table, expected);
        let known = reducible_groups(outfalls, line_loads);
        let listed = if known.is_empty() {
            "the scenario has no outfall or line load".to_string()
        } else {
            format!(
                "the groups of outfalls and line loads: {}",
                known.join(", ")
            )
        };
        let rule = Rule::non_negative(expected);
        for (group, v) in costs {
            let field = format!("reduction_cost.{group}");
            if !known.contains(&group) {
                c.push(
                    loc,
                    ITEM,
                    &field,
                    format!("{group:?}"),
                    format!("a source group to reduce ({listed})"),
                );
            } else if c.number(loc, ITEM, &field, v, rule).is_some() {
                out.reduction_cost.push((group, v));
            }
        }
    }
    out
}
