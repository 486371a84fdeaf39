//! From raw items to the validated [`Model`]: every check, every default, the bed levels.
//!
//! One function per table, called in the order below; each checks its items one at a time with the
//! shared toolkit (`checker.rs`) and records every problem before moving on. An item with a problem
//! still takes part in the checks that do not depend on the faulty value (an outfall beyond its reach's
//! length is reported even when that reach has another error, as long as its length is valid). The model is
//! returned only when nothing was found.
//!
//! | stage | file |
//! |---|---|
//! | `[simulation]`, `[initial]` | `simulation.rs` |
//! | ids of every table | `checker.rs` |
//! | nodes, `[defaults]`, reaches | `network.rs`, `reach_keys.rs` |
//! | bed levels, outlets and connected parts | `topology.rs` |
//! | inflows, withdrawals, outfalls, line loads, `[temperature]` | `loads.rs`, `timed.rs` |
//! | sections, zones | `zones.rs` |
//! | `[[structures]]` (sluices, weirs, pumps) | `structures.rs` |
//! | sewers, plants, projects, alternatives | `projects.rs`, `project_kinds.rs`, `refs.rs` |
//! | `[capacity]` | `capacity.rs` |

mod capacity;
mod checker;
mod ids;
mod loads;
mod network;
mod places;
mod project_kinds;
mod projects;
mod reach_keys;
mod refs;
mod simulation;
mod structures;
mod timed;
mod topology;
mod zones;

use super::parse::{Loc, RawScenario};
use super::problems::Problems;
use super::raw::RawReach;
use crate::model::{FlowModel, Model};
use checker::Checker;
use places::Along;
use std::path::Path;

/// Scenarios with at least this many reaches free their raw items on a helper thread.
const BACKGROUND_DROP_ITEMS: usize = 10_000;

/// Check everything and build the model (`None` when a problem was found; every problem is in `probs`).
pub fn model(rs: RawScenario, scenario: &Path, probs: &mut Problems) -> Option<Model> {
    let model = tables(&rs, scenario, probs);
    // the raw items of a large scenario are hundreds of thousands of small allocations: free them on a
    // helper thread while the caller goes on (nothing is read from them any more)
    if rs.reaches.len() >= BACKGROUND_DROP_ITEMS {
        std::thread::spawn(move || drop(rs));
    }
    model
}

/// Every table's check, in order.
fn tables(rs: &RawScenario, scenario: &Path, probs: &mut Problems) -> Option<Model> {
    let top = Loc {
        file: std::sync::Arc::from(scenario),
        line: None,
        fields: Vec::new(),
    };
    let mut c = Checker::new(rs, scenario, probs);
    let c = &mut c;
    let sim = simulation::simulation(c, rs, &top);
    let initial = simulation::initial(c, rs.initial.as_ref());
    let flow = sim.as_ref().map_or(FlowModel::Steady, |s| s.hydraulics);
    let initial_level_m = simulation::initial_level(c, rs.initial.as_ref(), flow);

    let node_ids = c.ids("node", &rs.nodes, |r| r.id.as_ref());
    let reach_ids = c.ids_by(
        "reach",
        &rs.reaches,
        |(it, _)| it,
        |r: &RawReach| r.id.as_ref(),
    );
    let outfall_ids = c.ids("outfall", &rs.outfalls, |r| r.id.as_ref());
    let zone_ids = c.ids("zone", &rs.zones, |r| r.id.as_ref());
    let section_ids = c.ids("section", &rs.sections, |r| r.id.as_ref());
    let _ = c.ids("line load", &rs.line_loads, |r| r.id.as_ref());

    let nodes = network::nodes(c, rs);
    let defaults = network::defaults(c, rs, &zone_ids);
    let refs = network::ReachRefs {
        nodes: &node_ids,
        zones: &zone_ids,
    };
    let mut net = network::reaches(c, rs, &refs, &nodes, &defaults);
    topology::set_beds(
        &mut net.reaches,
        &nodes,
        &net.beds,
        &net.ends_ok,
        &net.length_ok,
    );
    let along = Along {
        reaches: &net.reaches,
        length_ok: &net.length_ok,
        ids: &reach_ids,
    };

    let inflows = loads::inflows(c, rs, &node_ids, &nodes);
    let withdrawals = loads::withdrawals(c, rs, &node_ids, &along);
    let (outfalls, outfall_built) = loads::outfalls(c, rs, &along);
    let line_loads = loads::line_loads(c, rs, &along);
    let sections = zones::sections(c, rs, &along);
    let zones = zones::zones(c, rs, &section_ids);
    let temperature = loads::temperature(c, rs.temperature.as_ref());
    let (assessment_period, language, crs) = simulation::assessment_and_report(c, rs);
    let structures = structures::structures(c, rs, &node_ids, flow);
    let links = topology::Links {
        reaches: &net.reaches,
        structures: &structures,
        unsteady: matches!(flow, FlowModel::Unsteady { .. }),
        still_water: matches!(flow, FlowModel::Unsteady { .. }) && initial_level_m.is_some(),
    };
    topology::network_checks(c, rs, &top, &nodes, &links, &net.ends_ok);
    if !links.unsteady && net.ends_ok.iter().all(|&ok| ok) && net.length_ok.iter().all(|&ok| ok) {
        topology::held_levels_above_beds(
            c,
            rs,
            &nodes,
            &net.reaches,
            &net.beds,
            sim.as_ref().map(|s| s.start),
        );
    }

    let built = refs::Built {
        along: &along,
        nodes: &nodes,
        node_ids: &node_ids,
        inflows: &inflows,
        outfalls: &outfalls,
        outfall_ids: &outfall_ids,
        outfall_built: &outfall_built,
        line_loads: &line_loads,
    };
    let tables = projects::projects(c, rs, &built);
    let capacity = capacity::capacity(c, rs, sim.as_ref(), &outfalls, &line_loads);

    if !c.clean() {
        return None;
    }
    let title = rs.title.clone().unwrap_or_else(|| {
        scenario
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default()
    });
    Some(Model {
        title,
        path: c.scenario.clone(),
        sim: sim?,
        pollutants: c.pollutants.clone(),
        initial,
        nodes,
        reaches: net.reaches,
        inflows,
        withdrawals,
        outfalls,
        line_loads,
        zones,
        sections,
        temperature,
        cost_unit: rs.cost_unit.clone(),
        sewers: tables.sewers,
        plants: tables.plants,
        projects: tables.projects,
        alternatives: tables.alternatives,
        decay_changes: Vec::new(),
        assessment_period,
        language,
        crs,
        structures,
        initial_level_m,
        capacity,
    })
}
