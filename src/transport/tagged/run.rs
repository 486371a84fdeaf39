//! Tagged runs and responses of a whole model: each pollutant as a run of its own (in parallel), the
//! groups in a laid-out order, the results put back together in the caller's order.

use super::TaggedResults;
use super::assist;
use super::follower::TagFollower;
use super::groups::Groups;
use super::layout::{group_layout, response_layout};
use crate::hydraulics::Hydraulics;
use crate::model::{InitialState, Model, Series};
use crate::network::Network;
use crate::transport::options::{TransportError, TransportOptions};
use crate::transport::results::RunResults;
use crate::transport::simulation::{Solver, check_options};
use crate::transport::step::steps_alone;
use rayon::prelude::*;

/// Run `model` (the total) and carry each group of `groups` along with it (see the module docs).
///
/// Every group model must have the same nodes, reaches, withdrawals and pollutants as `model`; the network
/// and the flow fields `hyd` are the total's. When the groups' sources add up to the total's, the groups
/// add up to the total.
pub fn run_tagged(
    model: &Model,
    net: &Network,
    hyd: &Hydraulics,
    opts: &TransportOptions,
    groups: &[Model],
) -> Result<TaggedResults, TransportError> {
    // the groups are laid out in an order that packs groups reaching the same reaches into the same
    // blocks (it changes no bit: see `group_layout`)
    run_tagged_in_order(
        model,
        net,
        hyd,
        opts,
        groups,
        &group_layout(net, hyd, groups),
    )
}

/// [`run_tagged`] with the groups laid out in the order `perm` (`perm[position] = group`, a permutation of
/// the groups); the results and errors are in the caller's order all the same. Only the speed depends on
/// the order ([`group_layout`] gives the one `run_tagged` uses).
pub fn run_tagged_in_order(
    model: &Model,
    net: &Network,
    hyd: &Hydraulics,
    opts: &TransportOptions,
    groups: &[Model],
    perm: &[usize],
) -> Result<TaggedResults, TransportError> {
    run_groups(model, net, hyd, opts, groups, perm, false)
}

/// Run `model` (the total) and carry each group's **response** along with it: the difference between the
/// group model's concentrations and the total's, with the total's fluxes and limiter choices (as
/// [`run_tagged`] would carry the group itself, minus the total). The results' group values are those
/// differences (`TaggedResults::relative`), of either sign.
///
/// What a response is carried from: the sources in which the group differs from the total (each of the
/// group's that the total has not, with the same rate at every time in the same cell, and each of the
/// total's that the group has not, negated), the inflows and outlet waters in which it differs, and the
/// difference of the two initial states. Every step of the scheme but the split is linear, so the
/// response follows the same operations as a group would; the split weight β of a face is chosen, as in
/// a tagged run, to keep every group's *concentration* (total + response) non-negative. A response is
/// exactly 0 wherever nothing the group changes has reached, and the blocks of such groups are skipped,
/// so a run of responses to local changes (projects) costs far less than one of whole models.
///
/// Against `run_tagged` with the same groups minus the total the responses agree to round-off, except
/// where a split sits exactly at its bound (see the module docs): the groups that bind β differ (the
/// absent ones, equal to the total, are not looked at).
pub fn run_responses(
    model: &Model,
    net: &Network,
    hyd: &Hydraulics,
    opts: &TransportOptions,
    groups: &[Model],
) -> Result<TaggedResults, TransportError> {
    let perm = response_layout(model, net, hyd, opts, groups)?;
    run_groups(model, net, hyd, opts, groups, &perm, true)
}

/// [`run_responses`] with the groups laid out in the order `perm` (see [`run_tagged_in_order`]).
pub fn run_responses_in_order(
    model: &Model,
    net: &Network,
    hyd: &Hydraulics,
    opts: &TransportOptions,
    groups: &[Model],
    perm: &[usize],
) -> Result<TaggedResults, TransportError> {
    run_groups(model, net, hyd, opts, groups, perm, true)
}

/// The tagged run behind [`run_tagged_in_order`] (`relative` false) and [`run_responses_in_order`]
/// (`relative` true).
fn run_groups(
    model: &Model,
    net: &Network,
    hyd: &Hydraulics,
    opts: &TransportOptions,
    groups: &[Model],
    perm: &[usize],
    relative: bool,
) -> Result<TaggedResults, TransportError> {
    let mut seen = vec![false; groups.len()];
    if perm.len() != groups.len()
        || !perm
            .iter()
            .all(|&g| g < groups.len() && !std::mem::replace(&mut seen[g], true))
    {
        return Err(TransportError::BadGroup {
            group: 0,
            what: format!(
                "the layout order {perm:?} is not a permutation of the {} groups",
                groups.len()
            ),
        });
    }
    // errors and results are told in the caller's order
    let unperm = |r: Result<TaggedResults, TransportError>| match r {
        Ok(mut t) => {
            unpermute(&mut t, perm);
            Ok(t)
        }
        Err(TransportError::BadGroup { group, what }) => Err(TransportError::BadGroup {
            group: perm[group],
            what,
        }),
        Err(e) => Err(e),
    };
    let np = model.pollutants.len();
    let threads = rayon::current_num_threads();
    // a pollutant's run steps on one thread when its steps are small
    let small = steps_alone(net, 1, opts);
    let assisted = opts.whole_pool && small && threads > 1 && np > 0 && !groups.is_empty();
    if !assisted && (np < 2 || threads < 2 || groups.is_empty()) {
        let laid: Vec<Model> = perm.iter().map(|&g| groups[g].clone()).collect();
        return unperm(run_laid(model, net, hyd, opts, &laid, relative));
    }
    // The pollutants are independent: each runs as a whole simulation of its own, in parallel, instead of
    // all of them meeting at every step (a step of one pollutant is tens of microseconds of work, too
    // little to wake the pool for). Each pollutant's arithmetic is the same either way, so the bits are
    // too.
    let unit = |p: usize| -> Result<TaggedResults, TransportError> {
        let m = one_pollutant(model, p);
        let g: Vec<Model> = perm.iter().map(|&g| one_pollutant(&groups[g], p)).collect();
        run_laid(&m, net, hyd, opts, &g, relative)
    };
    let parts: Vec<Result<TaggedResults, TransportError>> = if assisted {
        // every thread of the pool takes pollutants until none is left, then helps those still stepping
        // (`assist`): with 5 pollutants on 2 threads the third pollutant of one thread would otherwise run
        // while the other thread has nothing to do
        assist::share(np, unit)
    } else {
        (0..np).into_par_iter().map(unit).collect()
    };
    let parts = parts.into_iter().collect::<Result<Vec<_>, _>>();
    unperm(parts.map(|parts| merge(model, net, groups.len(), parts)))
}

/// A tagged run of `model` (the total) with the groups `laid`, in layout order, to the end.
fn run_laid(
    model: &Model,
    net: &Network,
    hyd: &Hydraulics,
    opts: &TransportOptions,
    laid: &[Model],
    relative: bool,
) -> Result<TaggedResults, TransportError> {
    let groups = groups_of(model, net, hyd, opts, laid, relative)?;
    let mut sim = solver(model, net, hyd, opts, groups.as_ref())?;
    while sim.step()? {}
    Ok(finish(sim, groups.as_ref(), relative))
}

/// The groups `laid` of a tagged run of `model`, carried as themselves or (`relative`) as responses;
/// `None` when there are none. The run's options are checked first, so that a bad option is told before a
/// group that does not fit.
pub(super) fn groups_of<'a>(
    model: &'a Model,
    net: &Network,
    hyd: &Hydraulics,
    opts: &TransportOptions,
    laid: &'a [Model],
    relative: bool,
) -> Result<Option<Groups<'a>>, TransportError> {
    check_options(model, hyd, opts)?;
    if laid.is_empty() {
        return Ok(None);
    }
    Groups::new(model, net, hyd, opts.chunk_cells, laid, relative).map(Some)
}

/// The total's run, each pollutant followed by its groups.
pub(super) fn solver<'a>(
    model: &'a Model,
    net: &'a Network,
    hyd: &'a Hydraulics,
    opts: &TransportOptions,
    groups: Option<&'a Groups<'a>>,
) -> Result<Solver<'a, TagFollower<'a>>, TransportError> {
    Solver::new(model, net, hyd, opts, |lay, p| {
        TagFollower::new(groups, net, lay, p)
    })
}

/// The total's results and the groups' values at the output times.
pub(super) fn finish(
    sim: Solver<TagFollower>,
    groups: Option<&Groups>,
    relative: bool,
) -> TaggedResults {
    let (total, followed) = sim.finish();
    TaggedResults {
        total,
        n_groups: groups.map_or(0, Groups::len),
        section_conc: followed.section,
        reach_conc: followed.reach,
        relative,
    }
}

/// Put the groups of `t` back from laid-out positions into the caller's order (`perm[position] = group`).
pub(super) fn unpermute(t: &mut TaggedResults, perm: &[usize]) {
    let ng = t.n_groups;
    if perm.iter().enumerate().all(|(i, &g)| i == g) {
        return;
    }
    let mut tmp = vec![0.0; ng];
    for row in t.section_conc.iter_mut().chain(t.reach_conc.iter_mut()) {
        for chunk in row.chunks_exact_mut(ng) {
            for (pos, &g) in perm.iter().enumerate() {
                tmp[g] = chunk[pos];
            }
            chunk.copy_from_slice(&tmp);
        }
    }
}

/// The model as the transport sees it for pollutant `p` alone: every per-pollutant list cut to that entry
/// (zones, sewers, plants and projects, which the transport does not read, are left out).
pub(super) fn one_pollutant(m: &Model, p: usize) -> Model {
    let pick = |v: &Vec<Series>| v.get(p).cloned().into_iter().collect::<Vec<Series>>();
    let pick_f = |v: &Vec<f64>| v.get(p).copied().into_iter().collect::<Vec<f64>>();
    let mut o = Model {
        title: m.title.clone(),
        path: m.path.clone(),
        sim: m.sim.clone(),
        pollutants: vec![m.pollutants[p].clone()],
        initial: match &m.initial {
            InitialState::Values(v) => InitialState::Values(pick_f(v)),
            other => other.clone(),
        },
        nodes: m.nodes.clone(),
        reaches: m.reaches.clone(),
        inflows: m.inflows.clone(),
        withdrawals: m.withdrawals.clone(),
        outfalls: m.outfalls.clone(),
        line_loads: m.line_loads.clone(),
        sections: m.sections.clone(),
        temperature: m.temperature.clone(),
        decay_changes: m.decay_changes.clone(),
        ..Model::default()
    };
    for n in &mut o.nodes {
        n.concentration = pick(&n.concentration);
    }
    for r in &mut o.reaches {
        r.decay_per_day = pick_f(&r.decay_per_day);
        r.release_g_m2_day = pick_f(&r.release_g_m2_day);
    }
    for i in &mut o.inflows {
        i.concentration = pick(&i.concentration);
    }
    for f in &mut o.outfalls {
        let series = f.discharge.mass_series_mut();
        *series = pick(series);
    }
    for l in &mut o.line_loads {
        l.kg_per_day = pick(&l.kg_per_day);
    }
    if let Some(t) = &mut o.temperature {
        t.theta = pick_f(&t.theta);
    }
    for c in &mut o.decay_changes {
        c.decay_per_day = pick_f(&c.decay_per_day);
    }
    o
}

/// The per-pollutant runs of [`run_tagged`] put back together in the model's pollutant order.
pub(super) fn merge(
    model: &Model,
    net: &Network,
    ng: usize,
    parts: Vec<TaggedResults>,
) -> TaggedResults {
    let np = parts.len();
    let ns = model.sections.len();
    let nr = net.n_reaches;
    let first = &parts[0];
    let nt = first.total.output_times_s.len();
    let interleave =
        |rows: &dyn Fn(&TaggedResults) -> &Vec<Vec<f64>>, items: usize, width: usize| {
            (0..nt)
                .map(|i| {
                    let mut row = Vec::with_capacity(items * np * width);
                    for k in 0..items {
                        for part in &parts {
                            row.extend_from_slice(&rows(part)[i][k * width..(k + 1) * width]);
                        }
                    }
                    row
                })
                .collect::<Vec<Vec<f64>>>()
        };
    let total_sections = interleave(&|t| &t.total.section_conc, ns, 1);
    let total_reaches = interleave(&|t| &t.total.reach_conc, nr, 1);
    let section_conc = interleave(&|t| &t.section_conc, ns, ng);
    let reach_conc = interleave(&|t| &t.reach_conc, nr, ng);
    let mut warnings: Vec<String> = Vec::new();
    for part in &parts {
        for w in &part.total.warnings {
            if !warnings.contains(w) {
                warnings.push(w.clone());
            }
        }
    }
    let total = RunResults {
        mean_cell_conc: Vec::new(),
        output_times_s: first.total.output_times_s.clone(),
        pollutants: model.pollutants.clone(),
        section_conc: total_sections,
        reach_conc: total_reaches,
        output_period: first.total.output_period.clone(),
        mass_balance: parts
            .iter()
            .flat_map(|t| t.total.mass_balance.iter().cloned())
            .collect(),
        warnings,
        steps: first.total.steps,
        final_cell_conc: parts
            .iter()
            .flat_map(|t| t.total.final_cell_conc.iter().cloned())
            .collect(),
    };
    TaggedResults {
        total,
        n_groups: ng,
        section_conc,
        reach_conc,
        relative: first.relative,
    }
}
