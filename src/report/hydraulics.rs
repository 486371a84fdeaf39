//! The hydraulic tables of DESIGN.md §9: `nodes.csv`, `structures.csv`, the unsteady `reaches.csv`, and the
//! volume balance of an unsteady run for `summary.json`.
//!
//! Steady runs: `rivsim hydraulics` writes one row per node per flow period (at the period's start, like
//! its `reaches.csv`); `rivsim run` writes every node at every output time, at the level of the flow period
//! holding that time. Unsteady runs write the values at each output instant.

use super::{csv_field, iso_time};
use crate::hydraulics::Hydraulics;
use crate::hydraulics::unsteady::{Ledger, UnsteadyRun};
use crate::model::{Model, StructureKind};
use std::fmt::Write as _;
use std::io::Write;

/// `nodes.csv` of steady `rivsim hydraulics`: `time,node,level_m`, one row per node per flow period.
pub fn nodes_csv_periods(model: &Model, hyd: &Hydraulics) -> String {
    let mut s = String::from("time,node,level_m\n");
    for field in &hyd.periods {
        let time = iso_time(model.sim.start, field.t_start_s);
        for (node, level) in model.nodes.iter().zip(&field.node_level_m) {
            let _ = writeln!(s, "{time},{},{level}", csv_field(&node.id));
        }
    }
    s
}

/// `nodes.csv` of a steady `rivsim run`: every node at every output time `times_s`, at the level of the
/// flow period holding that time.
pub fn write_nodes_csv_at(
    w: &mut dyn Write,
    model: &Model,
    hyd: &Hydraulics,
    times_s: &[f64],
) -> std::io::Result<()> {
    writeln!(w, "time,node,level_m")?;
    for &t in times_s {
        let time = iso_time(model.sim.start, t);
        let field = &hyd.periods[hyd.period_at(t)];
        for (node, level) in model.nodes.iter().zip(&field.node_level_m) {
            writeln!(w, "{time},{},{level}", csv_field(&node.id))?;
        }
    }
    Ok(())
}

/// The three tables of an unsteady run at its output times: `reaches.csv` (instantaneous reach means),
/// `nodes.csv` and `structures.csv` (empty of rows when the scenario has no structure).
pub fn write_unsteady_reaches(
    w: &mut dyn Write,
    model: &Model,
    run: &UnsteadyRun,
) -> std::io::Result<()> {
    writeln!(w, "time,reach,flow_m3s,velocity_ms,depth_m,travel_time_s")?;
    for o in &run.outputs {
        let time = iso_time(model.sim.start, o.t_s);
        for (reach, [q, v, y, tt]) in model.reaches.iter().zip(&o.reach) {
            writeln!(w, "{time},{},{q},{v},{y},{tt}", csv_field(&reach.id))?;
        }
    }
    Ok(())
}

/// `nodes.csv` of an unsteady run.
pub fn write_unsteady_nodes(
    w: &mut dyn Write,
    model: &Model,
    run: &UnsteadyRun,
) -> std::io::Result<()> {
    writeln!(w, "time,node,level_m")?;
    for o in &run.outputs {
        let time = iso_time(model.sim.start, o.t_s);
        for (node, level) in model.nodes.iter().zip(&o.node_level_m) {
            writeln!(w, "{time},{},{level}", csv_field(&node.id))?;
        }
    }
    Ok(())
}

/// `structures.csv`: `time,structure,flow_m3s,opening_m,state`. `flow_m3s` is the flow of the step that
/// ended at the output time; `opening_m` the gate opening in effect (empty for a weir, a pump, or a gate
/// lifted clear of the water); `state` is `open`/`shut` (sluice, weir) or `on`/`off` (pump).
pub fn write_structures(
    w: &mut dyn Write,
    model: &Model,
    run: &UnsteadyRun,
) -> std::io::Result<()> {
    writeln!(w, "time,structure,flow_m3s,opening_m,state")?;
    for o in &run.outputs {
        let time = iso_time(model.sim.start, o.t_s);
        for (s, st) in model.structures.iter().zip(&o.structures) {
            let state = match (&s.kind, st.open) {
                (StructureKind::Pump { .. }, true) => "on",
                (StructureKind::Pump { .. }, false) => "off",
                (_, true) => "open",
                (_, false) => "shut",
            };
            let opening = if st.opening_m.is_finite() {
                format!("{}", st.opening_m)
            } else {
                String::new()
            };
            writeln!(
                w,
                "{time},{},{},{opening},{state}",
                csv_field(&s.id),
                st.flow_m3s
            )?;
        }
    }
    Ok(())
}

/// `"volume_balance"` of `summary.json`: in (inflows, outfalls' water, water entering at held levels), out
/// (water leaving at held levels and free outfalls, withdrawals), the change of storage, the error and its
/// relative size, and every term they are made of.
pub fn volume_balance_json(l: &Ledger) -> serde_json::Value {
    serde_json::json!({
        "in_m3": l.in_m3(),
        "out_m3": l.out_m3(),
        "storage_change_m3": l.storage_change_m3(),
        "error_m3": l.error_m3(),
        "relative_error": l.relative_error(),
        "terms": {
            "inflow_m3": l.inflow_m3,
            "outfall_water_m3": l.lateral_m3,
            "entering_at_held_levels_m3": l.boundary_in_m3,
            "leaving_at_held_levels_m3": l.boundary_out_m3,
            "free_outfalls_m3": l.outfall_m3,
            "withdrawals_m3": l.withdrawal_m3,
            "initial_storage_m3": l.initial_m3,
            "final_storage_m3": l.final_m3,
        }
    })
}
