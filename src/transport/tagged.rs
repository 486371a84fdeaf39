//! Tagged runs: the concentration contributed by each of several source groups, carried with the total
//! run's own fluxes and limiter choices (source apportionment, and the linear responses behind project
//! ranking; DESIGN.md §2 "Linearity").
//!
//! With the flows fixed, every step of the dynamic scheme is linear in the concentrations *except* the
//! limiter (the face value C_f = C_U + ½(1 − ν)·φ(r)·(C_D − C_U) has φ depending on the ratio r of the
//! concentration differences) and the withdrawal that never takes more than a cell holds. A tagged run
//! takes those from the total and shares them out. At every face the total carries C_f; group g carries
//! a share C_f,g = w_u·C_U,g + w_d·C_D,g with weights chosen so that Σ_g C_f,g = C_f (`split`): the
//! limiter's own mix (w_u, w_d) = (1 − κ, κ), C_f = C_U + κ·(C_D − C_U), where that keeps every group's
//! outflow within what its cell holds, blended towards the upwind cell's composition (C_f/C_U, 0) where it
//! would not — so no group goes negative, and each stays second order where the mix is safe. A cell
//! withdrawal takes from each group the share of its concentration that it takes from the total.
//! Everything else — the Strang-split decay factors, the complete mixing at nodes by flow shares, the
//! exact pond integration, the backward-Euler dispersion — is linear already and is applied to each group
//! as to the total. So each group follows the total's own fluxes, and when the groups' sources add up to
//! the total's (and their initial states to its initial state) the groups add up to the total at every
//! step, to round-off.
//!
//! What a group is: a [`Model`] on the same network (nodes, reaches, withdrawals and pollutants as the
//! total's) whose sources — outfalls, line loads, bed release, inflows and their concentrations, water
//! entering at outlets — and initial state are the group's. The flows are the total's throughout (the
//! hydraulics are never re-solved): water a group model adds or removes (an outfall's flow, an extra
//! inflow) changes only the mass it brings, Q_g·C_g. With the default steady initial state each group
//! starts from its own steady state, which the upwind steady solver makes a linear function of the
//! sources, so the initial states add up too.
//!
//! Against a separate run of one group alone (its own limiter choices) a group differs where the limited
//! scheme's nonlinearity matters: at fronts, by a fraction of a cell (tests/transport_tagged.rs measures
//! 0.45% of the section maximum on a reversing looped network).
//!
//! Cost and layout: the groups of a cell sit side by side, four to a vector (a block). A step goes reach
//! by reach: the total's face values, κ and shares of the reach's faces (branch-free, several faces to a
//! vector), each face's split among the groups, then for every active block one pass over the reach's
//! cells that makes the explicit update, adds the sources, takes the withdrawals and runs the forward
//! sweep of the implicit dispersion, and a pass back for the backward sweep — while the reach's rows are
//! in cache. A reach skips the blocks no group of which has reached it ([`TagLane`]'s activity bits), and
//! [`group_layout`] puts groups that reach the same reaches into the same blocks so that there are many
//! such. The pollutants run side by side on the pool's threads; a thread with none left helps those still
//! stepping (module `assist`). None of this changes a bit of the result.
//!
//! Responses ([`run_responses`], for project ranking): each group carried as its difference from the
//! total, d_g = C_g − C, which the same operations carry (all linear but the split, whose β is chosen on
//! each group's concentration C + d_g). A response's sources are only those in which the group differs from
//! the total (the group's that the total has not, the total's that the group has not, negated), and its
//! initial state the difference of the two; so it is exactly 0, and its blocks skipped, wherever and until
//! anything the group changes arrives — a block joins a reach's activity when one of its sources there
//! first brings something. [`run_response_tree`] runs several flow states' responses, a state that agrees
//! with another up to a time going on from that state's run (`Simulation::resume`).
//!
//! Sensitivity: where the total's limiter sits exactly at its Courant bound, the room a group has to lose
//! is 0 and the split switches between the mix and the composition on the sign of a rounding error, so a
//! change in the last bits of the groups (a compiler's or CPU's different rounding, e.g. with or without
//! fused multiply–adds) can move up to about 0.1% of a group's value locally and for a few days (seen once,
//! comparing the district's apportionment from the builds before and after commit 5985fd6 reordered the
//! implicit sweeps' arithmetic: 1.2·10⁻³ mg/L on about 1 mg/L at one section in October; no test in the
//! repository reproduces it). The groups still add up to the total to round-off.

use super::assist;
use super::implicit::Factors;
use super::kernel::face_parts;
use super::layout::{
    Coeffs, DAY_S, Layout, PeriodFlows, Source, SourceKind, flatten, inflow_conc, locate,
    outlet_conc, source_held_until, source_rate,
};
use super::simulation::{ConstConc, Pond};
use super::{RunResults, TransportError, TransportOptions};
use crate::hydraulics::Hydraulics;
use crate::model::{InitialState, Mode, Model, Series};
use crate::network::Network;
use rayon::prelude::*;
use std::sync::atomic::{AtomicU64, Ordering};

/// What a tagged run produces: the total run and, at the same output times, each group's concentrations.
#[derive(Debug, Clone)]
pub struct TaggedResults {
    /// The total run (the leader whose fluxes and limiter choices the groups share).
    pub total: RunResults,
    /// Number of groups.
    pub n_groups: usize,
    /// Section concentration of each group, mg/L: `[time][(section * n_pollutants + pollutant) * n_groups
    /// + group]`.
    pub section_conc: Vec<Vec<f64>>,
    /// Reach-mean concentration of each group, mg/L: `[time][(reach * n_pollutants + pollutant) *
    /// n_groups + group]`.
    pub reach_conc: Vec<Vec<f64>>,
    /// `true` for [`run_responses`]: each group value is then the group's response, its concentration
    /// minus the total's (of either sign); `false` for [`run_tagged`], where it is the group's concentration.
    pub relative: bool,
}

impl TaggedResults {
    /// Concentration of group `g` at section `s` for pollutant `p` at output `i`, mg/L.
    pub fn section(&self, i: usize, s: usize, p: usize, g: usize) -> f64 {
        let np = self.total.pollutants.len();
        self.section_conc[i][(s * np + p) * self.n_groups + g]
    }

    /// Reach-mean concentration of group `g` in reach `r` for pollutant `p` at output `i`, mg/L.
    pub fn reach(&self, i: usize, r: usize, p: usize, g: usize) -> f64 {
        let np = self.total.pollutants.len();
        self.reach_conc[i][(r * np + p) * self.n_groups + g]
    }
}

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

/// One flow state of a tree of response runs ([`run_response_tree`]).
pub struct ResponseState<'a> {
    /// The total.
    pub model: &'a Model,
    /// Its flows.
    pub hyd: &'a Hydraulics,
    /// The groups whose responses are carried (as many, and meaning the same, in every state).
    pub groups: &'a [Model],
    /// The state this one goes on from (an earlier one) and the time up to which the two agree, seconds
    /// since start: until then this state's total, groups and flows behave as that state's (e.g. they
    /// differ by a project that acts only from then on). `None`: run from the start.
    pub from: Option<(usize, f64)>,
}

/// The response runs ([`run_responses`]) of several flow states at once, a state that agrees with an
/// earlier one up to a time going on from that state's run instead of stepping the common part again:
/// each pollutant of that run hands its state, at the last output time not after the time the two agree
/// to, to the pollutant's run of this state (`Simulation::resume`), which then runs beside it. The
/// results are those of runs from the start, except that before the hand-over they are the earlier
/// state's (the same physics; only the step sequence may differ where the two states' flow periods are cut
/// differently) and the mass ledger goes on from its. A state that would start before its own source
/// state did runs from the start. Every state uses the first state's layout of the groups.
pub fn run_response_tree(
    net: &Network,
    opts: &TransportOptions,
    states: &[ResponseState],
) -> Result<Vec<TaggedResults>, TransportError> {
    let Some(first) = states.first() else {
        return Ok(Vec::new());
    };
    let ng = first.groups.len();
    for (s, st) in states.iter().enumerate() {
        let bad = |what: String| TransportError::BadOption {
            option: "response states",
            value: format!("state {s}: {what}"),
            expected: "as many groups and the same pollutants in every state, each going on from an \
                       earlier state",
        };
        if st.groups.len() != ng {
            return Err(bad(format!(
                "{} groups, the first state has {ng}",
                st.groups.len()
            )));
        }
        if st.model.pollutants != first.model.pollutants {
            return Err(bad("other pollutants".into()));
        }
        if let Some((from, _)) = st.from
            && from >= s
        {
            return Err(bad(format!("goes on from state {from}")));
        }
    }
    let np = first.model.pollutants.len();
    if np == 0 {
        // nothing to step: every state on its own
        return states
            .iter()
            .map(|st| run_responses(st.model, net, st.hyd, opts, st.groups))
            .collect();
    }
    let perm = response_layout(first.model, net, first.hyd, opts, first.groups)?;
    let ns = states.len();
    // each state's models cut to one pollutant, the groups laid out
    let totals: Vec<Vec<Model>> = states
        .iter()
        .map(|st| (0..np).map(|p| one_pollutant(st.model, p)).collect())
        .collect();
    let laid: Vec<Vec<Vec<Model>>> = states
        .iter()
        .map(|st| {
            (0..np)
                .map(|p| {
                    perm.iter()
                        .map(|&g| one_pollutant(&st.groups[g], p))
                        .collect()
                })
                .collect()
        })
        .collect();
    // the states going on from each state, with the time they agree to, earliest first (in steady mode
    // every output is solved on its own: nothing to go on from)
    let goes_on = |st: &ResponseState| {
        st.from.filter(|&(from, _)| {
            st.model.sim.mode == Mode::Dynamic && states[from].model.sim.mode == Mode::Dynamic
        })
    };
    let mut children: Vec<Vec<(f64, usize)>> = vec![Vec::new(); ns];
    for (s, st) in states.iter().enumerate() {
        if let Some((from, t)) = goes_on(st) {
            children[from].push((t, s));
        }
    }
    children
        .iter_mut()
        .for_each(|c| c.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1))));
    let out: Vec<Vec<std::sync::Mutex<TreeSlot>>> = (0..ns)
        .map(|_| (0..np).map(|_| std::sync::Mutex::new(None)).collect())
        .collect();
    // run state s, pollutant p (from `rp` if given), handing its state to its children on the way
    fn go<'s>(
        sc: &rayon::Scope<'s>,
        cx: &'s TreeCx<'s>,
        s: usize,
        p: usize,
        rp: Option<std::sync::Arc<super::simulation::ResumePoint>>,
    ) {
        let run = || -> Result<TaggedResults, TransportError> {
            let mut sim = super::Simulation::tagged(
                &cx.totals[s][p],
                cx.net,
                cx.states[s].hyd,
                cx.opts,
                &cx.laid[s][p],
                true,
            )?;
            let t0 = match &rp {
                Some(rp) => {
                    sim.resume(rp)?;
                    sim.time_s()
                }
                None => 0.0,
            };
            // the hand-over times: the last output time not after the time each child agrees to (a
            // child that would start before this run did, or at time 0, runs from the start)
            let times = sim.output_times().to_vec();
            let mut forks: Vec<(f64, usize)> = Vec::new();
            for &(t, c) in &cx.children[s] {
                let k = times.partition_point(|&x| x <= t);
                let at = if k == 0 { 0.0 } else { times[k - 1] };
                if at > 0.0 && at >= t0 {
                    forks.push((at, c));
                } else {
                    sc.spawn(move |sc| go(sc, cx, c, p, None));
                }
            }
            // after every step (the last one included: a child that agrees to the end takes the finished
            // state), hand this run's state to the children whose time it is
            let mut next = 0;
            loop {
                let more = sim.step()?;
                while next < forks.len() && forks[next].0 == sim.time_s() {
                    let rp = std::sync::Arc::new(sim.resume_point());
                    let c = forks[next].1;
                    sc.spawn(move |sc| go(sc, cx, c, p, Some(rp)));
                    next += 1;
                }
                if !more {
                    break;
                }
            }
            // a hand-over time the run did not stop at (not expected: every output time ends a step)
            // leaves the child to run from the start
            for &(_, c) in &forks[next..] {
                sc.spawn(move |sc| go(sc, cx, c, p, None));
            }
            Ok(sim.finish_tagged())
        };
        let r = run();
        *cx.out[s][p].lock().expect("not poisoned") = Some(r);
    }
    let o = TransportOptions {
        whole_pool: false,
        ..opts.clone()
    };
    let cx = TreeCx {
        net,
        opts: &o,
        states,
        totals,
        laid,
        children,
        out,
    };
    rayon::scope(|sc| {
        for s in (0..ns).filter(|&s| goes_on(&states[s]).is_none()) {
            for p in 0..np {
                let cx = &cx;
                sc.spawn(move |sc| go(sc, cx, s, p, None));
            }
        }
    });
    let TreeCx { out, .. } = cx;
    let mut results = Vec::with_capacity(ns);
    for (s, row) in out.into_iter().enumerate() {
        let mut parts = Vec::with_capacity(np);
        for cell in row {
            match cell.into_inner().expect("not poisoned") {
                Some(r) => parts.push(r?),
                None => {
                    return Err(TransportError::BadOption {
                        option: "response states",
                        value: format!(
                            "state {s} was never run (the state it goes on from failed)"
                        ),
                        expected: "every state run",
                    });
                }
            }
        }
        let mut t = merge(states[s].model, net, ng, parts);
        unpermute(&mut t, &perm);
        results.push(t);
    }
    Ok(results)
}

/// What the tasks of [`run_response_tree`] share.
struct TreeCx<'s> {
    net: &'s Network,
    opts: &'s TransportOptions,
    states: &'s [ResponseState<'s>],
    totals: Vec<Vec<Model>>,
    laid: Vec<Vec<Vec<Model>>>,
    children: Vec<Vec<(f64, usize)>>,
    out: Vec<Vec<std::sync::Mutex<TreeSlot>>>,
}

/// A state's pollutant run in [`run_response_tree`]: not yet run, or its result.
type TreeSlot = Option<Result<TaggedResults, TransportError>>;

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
    let small = super::simulation::steps_alone(net, 1, opts);
    let assisted = opts.whole_pool && small && threads > 1 && np > 0 && !groups.is_empty();
    if !assisted && (np < 2 || threads < 2 || groups.is_empty()) {
        let laid: Vec<Model> = perm.iter().map(|&g| groups[g].clone()).collect();
        let run = || {
            let mut sim = super::Simulation::tagged(model, net, hyd, opts, &laid, relative)?;
            while sim.step()? {}
            Ok(sim.finish_tagged())
        };
        return unperm(run());
    }
    // The pollutants are independent: each runs as a whole simulation of its own, in parallel, instead of
    // all of them meeting at every step (a step of one pollutant is tens of microseconds of work, too
    // little to wake the pool for). Each pollutant's arithmetic is the same either way, so the bits are
    // too.
    let unit = |p: usize| -> Result<TaggedResults, TransportError> {
        let m = one_pollutant(model, p);
        let g: Vec<Model> = perm.iter().map(|&g| one_pollutant(&groups[g], p)).collect();
        let mut sim = super::Simulation::tagged(&m, net, hyd, opts, &g, relative)?;
        while sim.step()? {}
        Ok(sim.finish_tagged())
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

/// The order a tagged run lays the groups out in (`order[position] = group`): groups whose mass can reach the same
/// reaches side by side, so that the blocks of [`W`] groups a reach skips (`TagLane::act`) are as many as
/// can be. The order changes no bit of any group: every block's arithmetic is per lane, and the one thing
/// shared across groups, the split weight β of a face, is a minimum over all groups (zero rows cannot
/// bind it), whatever their order.
///
/// Where a group's mass can go: from its sources' reaches, its inflows' and outlets' nodes (and
/// everywhere for a non-zero uniform initial state), downstream through each reach end that water leaves
/// by in some flow period and into each reach that takes water from a node in some period. Dispersion
/// across nodes and the steps between periods are not followed: this is only a heuristic for speed.
/// Blocks are then filled greedily: the group reaching most reaches not yet placed starts a block, and
/// each next member is the one that adds fewest reaches to the block's union (ties: the one sharing
/// most, then the lower index); groups that reach nothing come last.
pub fn group_layout(net: &Network, hyd: &Hydraulics, groups: &[Model]) -> Vec<usize> {
    if groups.len() <= W {
        return (0..groups.len()).collect();
    }
    let nonzero = |v: &[Series]| v.iter().any(|x| !matches!(x, Series::Const(0.0)));
    let seeds: Vec<Seeds> = groups
        .iter()
        .map(|m| Seeds {
            everywhere: matches!(&m.initial, InitialState::Values(v) if v.iter().any(|&x| x != 0.0)),
            reaches: m
                .outfalls
                .iter()
                .filter(|o| nonzero(o.discharge.mass_series()))
                .map(|o| o.reach)
                .chain(
                    m.line_loads
                        .iter()
                        .filter(|l| nonzero(&l.kg_per_day))
                        .map(|l| l.reach),
                )
                .chain(
                    (0..net.n_reaches)
                        .filter(|&r| m.reaches[r].release_g_m2_day.iter().any(|&x| x > 0.0)),
                )
                .collect(),
            nodes: m
                .inflows
                .iter()
                .filter(|i| nonzero(&i.concentration))
                .map(|i| i.node)
                .chain((0..net.n_nodes).filter(|&n| nonzero(&m.nodes[n].concentration)))
                .collect(),
        })
        .collect();
    layout_by_footprint(net, hyd, &groups[0], &seeds)
}

/// The order [`run_responses`] lays the groups out in: as [`group_layout`], each response's footprint
/// starting where the group differs from the total (`Groups::sources_of`, `inflows_of`, `outlet_differs`;
/// everywhere when their initial states differ other than through their sources).
pub fn response_layout(
    model: &Model,
    net: &Network,
    hyd: &Hydraulics,
    opts: &TransportOptions,
    groups: &[Model],
) -> Result<Vec<usize>, TransportError> {
    if groups.len() <= W {
        return Ok((0..groups.len()).collect());
    }
    let gs = Groups::new(model, net, hyd, opts.chunk_cells, groups, true)?;
    let lay = &gs.lays[groups.len()];
    let np = model.pollutants.len();
    let seeds = (0..groups.len())
        .map(|g| {
            let mut sd = Seeds {
                everywhere: match (&groups[g].initial, &model.initial) {
                    (InitialState::Steady, InitialState::Steady)
                    | (InitialState::Zero, InitialState::Zero) => false,
                    (a, b) => a != b,
                },
                reaches: Vec::new(),
                nodes: Vec::new(),
            };
            for p in 0..np {
                sd.reaches.extend(
                    gs.sources_of(g, p)
                        .into_iter()
                        .map(|(m, k)| gs.lays[m].sources[k].reach),
                );
                for (k, &n) in lay.node_seq.iter().enumerate() {
                    if !gs.inflows_of(g, k, p).is_empty() || gs.outlet_differs(g, n, p) {
                        sd.nodes.push(n);
                    }
                }
            }
            sd
        })
        .collect::<Vec<_>>();
    Ok(layout_by_footprint(net, hyd, model, &seeds))
}

/// Where a group's mass enters: everywhere, or in these reaches and at these nodes.
struct Seeds {
    everywhere: bool,
    reaches: Vec<usize>,
    nodes: Vec<usize>,
}

/// The layout of [`group_layout`] from each group's seeds (`model` gives the reaches' end nodes).
fn layout_by_footprint(
    net: &Network,
    hyd: &Hydraulics,
    model: &Model,
    seeds: &[Seeds],
) -> Vec<usize> {
    let ng = seeds.len();
    let (nr, nn) = (net.n_reaches, net.n_nodes);
    let reaches = &model.reaches;
    // which way water moves through each reach end in any period
    let (mut out_to, mut out_from, mut in_from, mut in_to) = (
        vec![false; nr],
        vec![false; nr],
        vec![false; nr],
        vec![false; nr],
    );
    for f in &hyd.periods {
        for r in 0..nr {
            let (first, last) = (
                f.face_flow_m3s[net.first_face[r]],
                f.face_flow_m3s[net.first_face[r] + net.n_cells_of(r)],
            );
            out_to[r] |= last > 0.0;
            in_to[r] |= last < 0.0;
            out_from[r] |= first < 0.0;
            in_from[r] |= first > 0.0;
        }
    }
    let mut takes: Vec<Vec<usize>> = vec![Vec::new(); nn];
    for (r, rc) in reaches.iter().enumerate() {
        if in_from[r] {
            takes[rc.from].push(r);
        }
        if in_to[r] {
            takes[rc.to].push(r);
        }
    }
    let words = nr.div_ceil(64);
    let footprint = |sd: &Seeds| -> Vec<u64> {
        let mut fp = vec![0u64; words];
        if sd.everywhere {
            fp.iter_mut().for_each(|w| *w = u64::MAX);
            return fp;
        }
        let (mut seen_node, mut stack_r, mut stack_n) =
            (vec![false; nn], Vec::<usize>::new(), Vec::<usize>::new());
        stack_r.extend(&sd.reaches);
        stack_n.extend(&sd.nodes);
        loop {
            if let Some(r) = stack_r.pop() {
                if fp[r / 64] >> (r % 64) & 1 == 1 {
                    continue;
                }
                fp[r / 64] |= 1 << (r % 64);
                if out_to[r] {
                    stack_n.push(reaches[r].to);
                }
                if out_from[r] {
                    stack_n.push(reaches[r].from);
                }
            } else if let Some(n) = stack_n.pop() {
                if !std::mem::replace(&mut seen_node[n], true) {
                    stack_r.extend(&takes[n]);
                }
            } else {
                break;
            }
        }
        fp
    };
    let fps: Vec<Vec<u64>> = seeds.iter().map(footprint).collect();
    let count = |v: &[u64]| v.iter().map(|w| w.count_ones() as usize).sum::<usize>();
    let mut left: Vec<usize> = (0..ng).filter(|&g| count(&fps[g]) > 0).collect();
    let mut order = Vec::with_capacity(ng);
    while !left.is_empty() {
        let seed = (0..left.len())
            .max_by_key(|&i| (count(&fps[left[i]]), std::cmp::Reverse(left[i])))
            .expect("a group is left");
        let mut union = fps[left[seed]].clone();
        order.push(left.remove(seed));
        for _ in 1..W {
            let Some(best) = (0..left.len()).min_by_key(|&i| {
                let fp = &fps[left[i]];
                let added: usize = fp
                    .iter()
                    .zip(&union)
                    .map(|(a, u)| (a & !u).count_ones() as usize)
                    .sum();
                let shared: usize = fp
                    .iter()
                    .zip(&union)
                    .map(|(a, u)| (a & u).count_ones() as usize)
                    .sum();
                (added, std::cmp::Reverse(shared), left[i])
            }) else {
                break;
            };
            for (u, a) in union.iter_mut().zip(&fps[left[best]]) {
                *u |= a;
            }
            order.push(left.remove(best));
        }
    }
    order.extend((0..ng).filter(|&g| count(&fps[g]) == 0));
    order
}

/// Put the groups of `t` back from laid-out positions into the caller's order (`perm[position] = group`).
fn unpermute(t: &mut TaggedResults, perm: &[usize]) {
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
fn one_pollutant(m: &Model, p: usize) -> Model {
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
fn merge(model: &Model, net: &Network, ng: usize, parts: Vec<TaggedResults>) -> TaggedResults {
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

/// The static data of the groups: their models, their layouts (sources and inflow lists) and their flows
/// per period (only the sources' own flows are read: outfall and inflow flows). For responses
/// (`relative`) the total's model, layout and flows follow the groups' as model `len()`: the responses'
/// sources are the groups' and the total's that differ.
pub(super) struct Groups<'a> {
    pub models: &'a [Model],
    pub base: &'a Model,
    pub relative: bool,
    pub lays: Vec<Layout>,
    pub flows: Vec<Vec<PeriodFlows>>,
}

impl<'a> Groups<'a> {
    /// Check that every group fits the total, and gather its layout and flows.
    pub fn new(
        model: &'a Model,
        net: &Network,
        hyd: &Hydraulics,
        chunk: usize,
        models: &'a [Model],
        relative: bool,
    ) -> Result<Groups<'a>, TransportError> {
        for (g, m) in models.iter().enumerate() {
            let bad = |what: String| TransportError::BadGroup { group: g, what };
            if m.nodes.len() != model.nodes.len() || m.reaches.len() != model.reaches.len() {
                return Err(bad(format!(
                    "{} nodes and {} reaches; the total has {} and {} (a group must share the network)",
                    m.nodes.len(),
                    m.reaches.len(),
                    model.nodes.len(),
                    model.reaches.len()
                )));
            }
            if m.pollutants != model.pollutants {
                return Err(bad(format!(
                    "pollutants {:?}; the total has {:?}",
                    m.pollutants, model.pollutants
                )));
            }
            if m.withdrawals.len() != model.withdrawals.len() {
                return Err(bad(format!(
                    "{} withdrawals; the total has {} (the flows are held at the total's)",
                    m.withdrawals.len(),
                    model.withdrawals.len()
                )));
            }
        }
        let all = || models.iter().chain(relative.then_some(model));
        let lays: Vec<Layout> = all().map(|m| Layout::new(m, net, chunk)).collect();
        let flows = all()
            .map(|m| hyd.periods.iter().map(|f| PeriodFlows::new(m, f)).collect())
            .collect();
        Ok(Groups {
            models,
            base: model,
            relative,
            lays,
            flows,
        })
    }

    /// Number of groups.
    pub fn len(&self) -> usize {
        self.models.len()
    }

    /// Model `m`: group `m`, or the total for `m == len()`.
    #[inline(always)]
    pub fn model(&self, m: usize) -> &Model {
        self.models.get(m).unwrap_or(self.base)
    }

    /// The sources through which group `g`'s response to pollutant `p` enters, as (model, index into
    /// that model's `Layout::sources`): with `relative` false, every source of the group that brings
    /// something; with `relative` true, the group's sources that bring something and that no source of
    /// the total matches (same cell, same rate at every time), then the total's that no source of the
    /// group matches (model `len()`, to be subtracted).
    fn sources_of(&self, g: usize, p: usize) -> Vec<(usize, usize)> {
        let gm = &self.models[g];
        let mine: Vec<usize> = (0..self.lays[g].sources.len())
            .filter(|&k| !zero_source(gm, &self.lays[g].sources[k], p))
            .collect();
        if !self.relative {
            return mine.into_iter().map(|k| (g, k)).collect();
        }
        let b = self.len();
        let theirs: Vec<usize> = (0..self.lays[b].sources.len())
            .filter(|&k| !zero_source(self.base, &self.lays[b].sources[k], p))
            .collect();
        unpaired(g, &mine, b, &theirs, |k, j| {
            same_source(
                (gm, &self.flows[g], &self.lays[g].sources[k]),
                (self.base, &self.flows[b], &self.lays[b].sources[j]),
                p,
            )
        })
    }

    /// Group `g`'s inflows at node-pass position `k` that bring pollutant `p`, as (model, inflow index),
    /// paired against the total's as [`Groups::sources_of`] pairs sources.
    fn inflows_of(&self, g: usize, k: usize, p: usize) -> Vec<(usize, usize)> {
        let gm = &self.models[g];
        let brings = |m: &Model, i: usize| {
            !matches!(
                m.inflows[i].concentration.get(p),
                None | Some(Series::Const(0.0))
            )
        };
        let mine: Vec<usize> = self.lays[g]
            .inflows_at(k)
            .iter()
            .copied()
            .filter(|&i| brings(gm, i))
            .collect();
        if !self.relative {
            return mine.into_iter().map(|i| (g, i)).collect();
        }
        let b = self.len();
        let theirs: Vec<usize> = self.lays[b]
            .inflows_at(k)
            .iter()
            .copied()
            .filter(|&i| brings(self.base, i))
            .collect();
        unpaired(g, &mine, b, &theirs, |i, j| {
            gm.inflows[i].concentration.get(p) == self.base.inflows[j].concentration.get(p)
                && self.flows[g]
                    .iter()
                    .zip(&self.flows[b])
                    .all(|(x, y)| x.inflow_q[i] == y.inflow_q[j])
        })
    }

    /// Whether water entering at outlet node `n` brings group `g` something of pollutant `p`: its
    /// concentration is not 0 (`relative` false), or differs from the total's (`relative` true).
    fn outlet_differs(&self, g: usize, n: usize, p: usize) -> bool {
        let c = self.models[g].nodes[n].concentration.get(p);
        if self.relative {
            c != self.base.nodes[n].concentration.get(p)
        } else {
            !matches!(c, None | Some(Series::Const(0.0)))
        }
    }
}

/// The items of two models that the other has no twin of: each of `mine` (items of model `g`) is paired
/// with the first not yet paired of `theirs` (items of model `b`) for which `same` holds; the unpaired ones
/// are returned as (model, item), `mine`'s first, each side in its own order.
fn unpaired(
    g: usize,
    mine: &[usize],
    b: usize,
    theirs: &[usize],
    same: impl Fn(usize, usize) -> bool,
) -> Vec<(usize, usize)> {
    let mut used = vec![false; theirs.len()];
    let mut out = Vec::new();
    for &i in mine {
        match (0..theirs.len()).find(|&u| !used[u] && same(i, theirs[u])) {
            Some(u) => used[u] = true,
            None => out.push((g, i)),
        }
    }
    out.extend(
        theirs
            .iter()
            .zip(&used)
            .filter(|(_, u)| !**u)
            .map(|(&j, _)| (b, j)),
    );
    out
}

/// Whether two sources (model, its flows per period, the source) put the same mass of pollutant `p` into
/// the same cell at every time.
fn same_source(
    a: (&Model, &[PeriodFlows], &Source),
    b: (&Model, &[PeriodFlows], &Source),
    p: usize,
) -> bool {
    let ((ma, fa, sa), (mb, fb, sb)) = (a, b);
    if sa.ext != sb.ext {
        return false;
    }
    fn mass_of(m: &Model, i: usize, p: usize) -> Option<&Series> {
        m.outfalls[i].discharge.mass_series().get(p)
    }
    let mass = |m, i| mass_of(m, i, p);
    match (sa.kind, sb.kind) {
        (SourceKind::OutfallFlow(i), SourceKind::OutfallFlow(j)) => {
            mass(ma, i) == mass(mb, j)
                && fa
                    .iter()
                    .zip(fb)
                    .all(|(x, y)| x.outfall_q[i] == y.outfall_q[j])
        }
        (SourceKind::OutfallLoad(i), SourceKind::OutfallLoad(j)) => mass(ma, i) == mass(mb, j),
        (SourceKind::Line(i, x), SourceKind::Line(j, y)) => {
            x == y && ma.line_loads[i].kg_per_day.get(p) == mb.line_loads[j].kg_per_day.get(p)
        }
        (SourceKind::Release(r, x), SourceKind::Release(q, y)) => {
            r == q
                && x == y
                && ma.reaches[r].release_g_m2_day.get(p) == mb.reaches[q].release_g_m2_day.get(p)
        }
        _ => false,
    }
}

/// `$f::<NB, F>(args…, p0)` for every pack of at most [`PACK`] blocks of the blocks `$lo..$hi` of a row
/// (`p0` the pack's first block), with the pack's length as the compile-time `NB`.
macro_rules! for_each_pack {
    ($lo:expr, $hi:expr, $F:ident, $f:ident($($arg:expr),*)) => {{
        let nb = $hi;
        let mut p0 = $lo;
        while p0 < nb {
            let len = (nb - p0).min(PACK);
            match len {
                1 => $f::<1, $F>($($arg,)* p0),
                2 => $f::<2, $F>($($arg,)* p0),
                3 => $f::<3, $F>($($arg,)* p0),
                4 => $f::<4, $F>($($arg,)* p0),
                5 => $f::<5, $F>($($arg,)* p0),
                6 => $f::<6, $F>($($arg,)* p0),
                7 => $f::<7, $F>($($arg,)* p0),
                _ => $f::<8, $F>($($arg,)* p0),
            }
            p0 += len;
        }
    }};
}

/// Groups per block: the groups are stored and updated four at a time (one 256-bit vector of f64).
const W: usize = 4;
/// Four groups' values.
type B = [f64; W];

/// The groups' state and scratch for one pollutant. Every per-slot array holds the groups side by side,
/// in blocks of [`W`] (`[slot·nb + block][lane]`, group g = W·block + lane; the groups beyond `ng` that
/// pad the last block stay 0), so each operation of the scheme runs over a contiguous row of fixed-size
/// blocks: the compiler turns it into whole-vector arithmetic, and the tridiagonal sweeps, a chain of
/// dependent operations per group, overlap across groups.
pub(super) struct TagLane {
    /// Number of groups, and of blocks per slot.
    ng: usize,
    nb: usize,
    /// Carrying responses (`Groups::relative`): the split then judges each group by total + response.
    relative: bool,
    /// Concentrations, mg/L: `[slot·nb + block]` (extended slots).
    conc: Vec<B>,
    conc_new: Vec<B>,
    /// Mixed node concentrations, `[node·nb + block]`.
    node_c: Vec<B>,
    /// End-face mass fluxes, `[(2·rank + end)·nb + block]` (the reach's layout rank), g/s (entering fluxes divided by the decay
    /// factor, as the total's).
    bflux: Vec<B>,
    /// Inflow and outlet concentrations per model (`Groups::model`; constants resolved once).
    inflow_c: Vec<ConstConc>,
    outlet_c: Vec<ConstConc>,
    /// Scratch for the two halves of the reaches (see `cells_generic`).
    scratch: [FaceScratch; 2],
    /// A row of scratch blocks: the node mixing rates.
    rate: Vec<B>,
    /// The groups' inflows at each node that bring this pollutant (concentration not the constant 0), as
    /// (group, model, inflow index) in group order (`Groups::inflows_of`; model `ng`, the total's, is
    /// subtracted): CSR over the node-pass positions (`node_in_start`).
    node_in: Vec<(u32, u32, u32)>,
    node_in_start: Vec<usize>,
    /// For responses: the groups whose outlet water differs from the total's at each node-pass position
    /// (CSR, `node_out_start`).
    node_out: Vec<u32>,
    node_out_start: Vec<usize>,
    /// Per node-pass position: the blocks of the groups with an inflow that brings something, or water of
    /// their own entering at the node (an outlet), there.
    node_src_mask: Vec<u64>,
    /// The groups' cell sources of this pollutant (series not the constant 0), in the order the cell pass
    /// meets them: by reach layout rank, cell, group, and the group's own source order; CSR by rank
    /// (`src_start`).
    src: Vec<SrcEv>,
    src_start: Vec<usize>,
    /// Parallel to `src`: the source's mass rate (g/s) and the time up to which it holds (the series are
    /// mostly step tables: re-evaluating every one of them at every step was a third of a ranking's tagged
    /// runs), valid for the flow period `cache_period`; and this step's concentration increment, mg/L.
    src_cache: Vec<(f64, f64)>,
    src_inc: Vec<f64>,
    cache_period: usize,
    /// The cell withdrawals as (cell within its reach, index into `Layout::cell_withdrawals`), by reach
    /// layout rank and cell; CSR by rank (`wd_start`).
    wd: Vec<(u32, u32)>,
    wd_start: Vec<usize>,
    /// Per reach, the blocks that may be non-zero in its cells, one bit per block (all of them when there
    /// are more than 64 blocks): every other block has been exactly 0 there since the start (no group of
    /// it started there, has a source there or has flowed in), and the scheme keeps zeros zero, so the cell
    /// update, the face weights and the implicit sweeps skip those blocks without changing a bit. The set
    /// only grows: with the initial state, with the groups' sources, and as a block's flux first crosses
    /// one of the reach's end faces.
    act: Vec<u64>,
}

/// The groups' state of one pollutant at a time (`Simulation::resume_point`): their concentrations, end
/// fluxes and activity.
pub(super) struct TagState {
    relative: bool,
    ng: usize,
    conc: Vec<B>,
    node_c: Vec<B>,
    bflux: Vec<B>,
    act: Vec<u64>,
}

/// A group's cell source as the cell pass meets it.
#[derive(Debug, Clone, Copy)]
struct SrcEv {
    /// The cell within its reach.
    cell: u32,
    /// The group, the model whose source it is (`Groups::model`: the group's own, or for a response
    /// the total's, subtracted), and the source's index in that model's `Layout::sources`.
    g: u32,
    m: u32,
    k: u32,
    /// The source's reach, its layout rank and its cell's extended index.
    reach: u32,
    rank: u32,
    ext: u32,
}

/// The bit of block `blk` in an activity mask (every bit when masks cannot tell blocks apart).
#[inline(always)]
fn bit(blk: usize) -> u64 {
    if blk < 64 { 1 << blk } else { u64::MAX }
}

/// The runs of consecutive active blocks of `mask` among `nb` blocks, as (first, end).
fn runs(mask: u64, nb: usize) -> impl Iterator<Item = (usize, usize)> {
    let mut rest = if nb > 64 {
        0
    } else if nb == 64 {
        mask
    } else {
        mask & ((1u64 << nb) - 1)
    };
    let mut whole = nb > 64 && mask != 0;
    std::iter::from_fn(move || {
        if whole {
            whole = false;
            return Some((0, nb));
        }
        if rest == 0 {
            return None;
        }
        let lo = rest.trailing_zeros() as usize;
        let len = (rest >> lo).trailing_ones() as usize;
        rest &= !(((1u128 << (lo + len)) - 1) as u64);
        Some((lo, lo + len))
    })
}

/// The blocks from the first to the last active one of `mask`, as (first, end); empty when none is.
#[inline(always)]
fn span(mask: u64, nb: usize) -> (usize, usize) {
    if mask == 0 {
        (0, 0)
    } else if nb > 64 {
        (0, nb)
    } else {
        (
            mask.trailing_zeros() as usize,
            (64 - mask.leading_zeros() as usize).min(nb),
        )
    }
}

/// Group g's value in a row of blocks.
#[inline(always)]
fn at(row: &[B], g: usize) -> f64 {
    row[g / W][g % W]
}

/// Group g's value in a row of blocks, mutable.
#[inline(always)]
fn at_mut(row: &mut [B], g: usize) -> &mut f64 {
    &mut row[g / W][g % W]
}

impl TagLane {
    pub fn new(groups: &Groups, net: &Network, lay: &Layout, p: usize) -> TagLane {
        let ng = groups.len();
        let nb = ng.div_ceil(W);
        let z = [0.0; W];
        let n_models = groups.lays.len();
        let models = || (0..n_models).map(|m| groups.model(m));
        let mut t = TagLane {
            ng,
            nb,
            relative: groups.relative,
            conc: vec![z; nb * lay.n_ext],
            conc_new: vec![z; nb * lay.n_ext],
            node_c: vec![z; nb * net.n_nodes],
            bflux: vec![z; nb * 2 * net.n_reaches],
            inflow_c: models()
                .map(|m| ConstConc::new(m.inflows.iter().map(|i| i.concentration.get(p))))
                .collect(),
            outlet_c: models()
                .map(|m| ConstConc::new(m.nodes.iter().map(|n| n.concentration.get(p))))
                .collect(),
            scratch: {
                let most = (0..net.n_reaches)
                    .map(|r| net.n_cells_of(r))
                    .max()
                    .unwrap_or(0);
                [FaceScratch::new(most), FaceScratch::new(most)]
            },
            rate: vec![z; nb],
            node_in: Vec::new(),
            node_in_start: Vec::new(),
            node_out: Vec::new(),
            node_out_start: Vec::new(),
            node_src_mask: Vec::new(),
            src: Vec::new(),
            src_start: Vec::new(),
            src_cache: Vec::new(),
            src_inc: Vec::new(),
            cache_period: usize::MAX,
            wd: Vec::new(),
            wd_start: Vec::new(),
            act: vec![0; net.n_reaches],
        };
        // the inflows that bring something, per node-pass position, in group order
        let mut node_in = vec![Vec::new(); lay.node_seq.len()];
        let mut node_out = vec![Vec::new(); lay.node_seq.len()];
        for (k, &n) in lay.node_seq.iter().enumerate() {
            let mut mask = 0;
            for g in 0..ng {
                for (m, i) in groups.inflows_of(g, k, p) {
                    node_in[k].push((g as u32, m as u32, i as u32));
                    mask |= bit(g / W);
                }
                if groups.outlet_differs(g, n, p) {
                    mask |= bit(g / W);
                    node_out[k].push(g as u32);
                }
            }
            t.node_src_mask.push(mask);
        }
        (t.node_in_start, t.node_in) = flatten(node_in);
        (t.node_out_start, t.node_out) = flatten(node_out);
        // the sources that bring something, per reach (by rank), sorted into the cell pass's order (a
        // stable sort keeps each group's own order within a cell, and a response's own sources before
        // the total's). A reach's activity takes a block in only once one of these first brings
        // something (`cells_generic`).
        let mut src = vec![Vec::new(); net.n_reaches];
        for g in 0..ng {
            for (m, k) in groups.sources_of(g, p) {
                let sr = &groups.lays[m].sources[k];
                src[lay.rank[sr.reach]].push(SrcEv {
                    cell: (sr.ext - lay.base[sr.reach]) as u32,
                    g: g as u32,
                    m: m as u32,
                    k: k as u32,
                    reach: sr.reach as u32,
                    rank: lay.rank[sr.reach] as u32,
                    ext: sr.ext as u32,
                });
            }
        }
        src.iter_mut()
            .for_each(|l| l.sort_by_key(|e| (e.cell, e.g)));
        (t.src_start, t.src) = flatten(src);
        t.src_cache = vec![(0.0, f64::NEG_INFINITY); t.src.len()];
        t.src_inc = vec![0.0; t.src.len()];
        // the cell withdrawals, likewise (each cell's in their own order)
        let mut wd = vec![Vec::new(); net.n_reaches];
        for (i, &(ext, _)) in lay.cell_withdrawals.iter().enumerate() {
            let (r, cell) = locate(lay, ext);
            wd[lay.rank[r]].push((cell as u32, i as u32));
        }
        wd.iter_mut().for_each(|l| l.sort_by_key(|&(cell, _)| cell));
        (t.wd_start, t.wd) = flatten(wd);
        t
    }

    /// The groups' state now.
    pub fn state(&self) -> TagState {
        TagState {
            relative: self.relative,
            ng: self.ng,
            conc: self.conc.clone(),
            node_c: self.node_c.clone(),
            bflux: self.bflux.clone(),
            act: self.act.clone(),
        }
    }

    /// Whether `st` has this lane's shape (kind and number of groups, slots).
    pub fn fits(&self, st: &TagState) -> bool {
        st.relative == self.relative
            && st.ng == self.ng
            && st.conc.len() == self.conc.len()
            && st.node_c.len() == self.node_c.len()
            && st.bflux.len() == self.bflux.len()
            && st.act.len() == self.act.len()
    }

    /// Take the state `st` (of this lane's shape: [`TagLane::fits`]); the source rates are evaluated
    /// afresh at the next step.
    pub fn set_state(&mut self, st: &TagState) {
        self.conc.copy_from_slice(&st.conc);
        self.node_c.copy_from_slice(&st.node_c);
        self.bflux.copy_from_slice(&st.bflux);
        self.act.copy_from_slice(&st.act);
        self.cache_period = usize::MAX;
    }

    /// Set the groups' initial state from their models' `InitialState` (`steady`: the steady state of the
    /// current period at `t_s`, as in steady mode). The steady state is solved per group.
    #[allow(clippy::too_many_arguments)]
    pub fn initialise(
        &mut self,
        groups: &Groups,
        net: &Network,
        lay: &Layout,
        co: &Coeffs,
        period: usize,
        t_s: f64,
        p: usize,
        max_sweeps: usize,
        steady: bool,
    ) -> Result<(), TransportError> {
        let (ne, nn, nb) = (lay.n_ext, net.n_nodes, self.nb);
        // model m's initial state (`Groups::model`) into `c` and `nc`
        let state_of = |m: usize, c: &mut [f64], nc: &mut [f64]| -> Result<(), TransportError> {
            let model = groups.model(m);
            c.fill(0.0);
            nc.fill(0.0);
            match (steady, &model.initial) {
                (true, _) | (false, InitialState::Steady) => super::steady::solve_layout(
                    model,
                    net,
                    &groups.lays[m],
                    co,
                    &groups.flows[m][period],
                    period,
                    t_s,
                    p,
                    max_sweeps,
                    c,
                    nc,
                )?,
                (false, InitialState::Zero) => {}
                (false, InitialState::Values(v)) => {
                    let val = v.get(p).copied().unwrap_or(0.0);
                    for r in 0..net.n_reaches {
                        let b = lay.base[r];
                        c[b..b + net.n_cells_of(r)].fill(val);
                    }
                    nc.fill(val);
                }
            }
            Ok(())
        };
        let mut c = vec![0.0; ne];
        let mut nc = vec![0.0; nn];
        // a response starts from the difference of the two initial states
        let (mut cb, mut ncb) = (vec![0.0; ne], vec![0.0; nn]);
        if self.relative {
            state_of(self.ng, &mut cb, &mut ncb)?;
        }
        for g in 0..self.ng {
            state_of(g, &mut c, &mut nc)?;
            if self.relative {
                c.iter_mut().zip(&cb).for_each(|(x, b)| *x -= b);
                nc.iter_mut().zip(&ncb).for_each(|(x, b)| *x -= b);
            }
            for (i, &x) in c.iter().enumerate() {
                *at_mut(&mut self.conc[i * nb..(i + 1) * nb], g) = x;
            }
            for (i, &x) in nc.iter().enumerate() {
                *at_mut(&mut self.node_c[i * nb..(i + 1) * nb], g) = x;
            }
            for r in 0..net.n_reaches {
                let b = lay.base[r];
                if c[b..b + net.n_cells_of(r)].iter().any(|&x| x != 0.0) {
                    self.act[r] |= bit(g / W);
                }
            }
        }
        Ok(())
    }

    /// Every group's value at a section between slots `ea` and `eb` (weight `w` on `eb`), into `out`.
    pub fn section_values(&self, ea: usize, eb: usize, w: f64, out: &mut [f64]) {
        let nb = self.nb;
        let (a, b) = (
            &self.conc[ea * nb..(ea + 1) * nb],
            &self.conc[eb * nb..(eb + 1) * nb],
        );
        for (g, o) in out.iter_mut().enumerate().take(self.ng) {
            *o = (1.0 - w) * at(a, g) + w * at(b, g);
        }
    }

    /// Every group's volume-weighted mean over the slots `b..b + vol.len()` (`vt` the summed volume).
    pub fn reach_values(&self, b: usize, vol: &[f64], vt: f64, out: &mut [f64]) {
        let nb = self.nb;
        for (g, o) in out.iter_mut().enumerate().take(self.ng) {
            let mut m = 0.0;
            for (j, &v) in vol.iter().enumerate() {
                m += v * at(&self.conc[(b + j) * nb..(b + j + 1) * nb], g);
            }
            *o = if vt > 0.0 { m / vt } else { 0.0 };
        }
    }
}

/// Whether a source brings no mass of pollutant `p` at any time (its series for `p` is absent or the
/// constant 0): such sources are skipped.
fn zero_source(m: &Model, s: &Source, p: usize) -> bool {
    let zero = |x: Option<&Series>| matches!(x, None | Some(Series::Const(0.0)));
    match s.kind {
        SourceKind::OutfallFlow(i) | SourceKind::OutfallLoad(i) => {
            zero(m.outfalls[i].discharge.mass_series().get(p))
        }
        SourceKind::Line(i, _) => zero(m.line_loads[i].kg_per_day.get(p)),
        SourceKind::Release(r, _) => {
            m.reaches[r].release_g_m2_day.get(p).copied().unwrap_or(0.0) == 0.0
        }
    }
}

/// What a group step reads of the total's step.
pub(super) struct TagStep<'s> {
    pub net: &'s Network,
    pub lay: &'s Layout,
    pub co: &'s Coeffs,
    pub groups: &'s Groups<'s>,
    pub period: usize,
    pub p: usize,
    pub dt: f64,
    pub t_mid: f64,
    pub theta: f64,
    /// Explicit dispersion in this step (the limiter leaves room for it, and the face fluxes carry it).
    pub explicit_disp: bool,
    /// E/Δx² per reach as the explicit kernel sees it.
    pub disp: &'s [f64],
    /// E/Δx² per reach (the true values, for the implicit dispersion).
    pub disp_true: &'s [f64],
    /// Half-step decay factors by layout rank.
    pub half: &'s [f64],
    /// The interior faces' κ and shares from this step's kernel (`kernel::StepData::parts`; read by the
    /// cell pass, empty for the node pass).
    pub parts: &'s [AtomicU64],
}

/// The groups' node pass, run **before** the total's (it reads the total's old node concentrations and
/// cells to find the limiter weights of the faces entering each node): mixes every node for every group
/// and sets the groups' end-face fluxes. Mirrors `simulation::node_pass` (the same per-node records, in
/// the same visit order), with the total's face value shared among the groups by [`split`]; then makes
/// ready what the cell pass needs before it starts ([`prepare_cells`]).
///
/// On x86-64 CPUs with AVX2 the same code is compiled a second time for 256-bit vectors (no fused
/// multiply–adds: the bits are the same either way) and chosen at run time.
pub(super) fn node_pass(s: &TagStep, c: &[f64], node_c: &[f64], t: &mut TagLane) {
    #[cfg(target_arch = "x86_64")]
    let done = if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU supports AVX2, checked just above; that is the only requirement.
        unsafe { node_pass_avx2(s, c, node_c, t) };
        true
    } else {
        false
    };
    #[cfg(not(target_arch = "x86_64"))]
    let done = false;
    if !done {
        node_pass_generic(s, c, node_c, t);
    }
    prepare_cells(s, t);
}

/// [`node_pass_generic`] compiled with AVX2 enabled.
///
/// # Safety
/// The CPU must support AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn node_pass_avx2(s: &TagStep, c: &[f64], node_c: &[f64], t: &mut TagLane) {
    node_pass_generic(s, c, node_c, t)
}

#[inline(always)]
fn node_pass_generic(s: &TagStep, c: &[f64], node_c: &[f64], t: &mut TagLane) {
    let (lay, co) = (s.lay, s.co);
    let nb = t.nb;
    let dt = s.dt;
    for (k, nrec) in co.nodes.iter().enumerate() {
        let n = nrec.node;
        let cn = node_c[n];
        let (e0, e1) = (lay.node_end_start[k], lay.node_end_start[k + 1]);
        let ends = &co.ends[e0..e1];
        let rate = &mut t.rate[..nb];
        rate.fill([0.0; W]);
        // the blocks that can be non-zero here: those of the reaches that meet here, and of the groups with
        // an inflow or outlet water here (a pond's own state came through those too); every other block's
        // rates, end fluxes and mix are 0 and stay 0, so they are skipped without changing a bit
        let mut mask = t.node_src_mask[k];
        for e in ends {
            mask |= t.act[lay.order[e.rank()]];
        }
        let (lo, hi) = span(mask, nb);
        for e in ends {
            if e.into() > 0.0 && lo < hi {
                let nu = e.into() * dt * e.inv_vol_iu;
                let dsum = if s.explicit_disp {
                    e.d_sum * dt * e.inv_vol_iu
                } else {
                    0.0
                };
                let (iu, uu, slot) = (e.iu(), e.uu(), e.slot as usize);
                let u = &t.conc[iu * nb + lo..iu * nb + hi];
                let cn_g = &t.node_c[n * nb + lo..n * nb + hi];
                let (wu, wd) = split(c[uu], c[iu], cn, nu, dsum, t.relative, u, cn_g);
                let bf = &mut t.bflux[slot * nb + lo..slot * nb + hi];
                let h = s.half[e.rank()];
                for (((rt, b), u), d) in rate[lo..hi].iter_mut().zip(bf.iter_mut()).zip(u).zip(cn_g)
                {
                    for l in 0..W {
                        let fv = wu * u[l] + wd * d[l];
                        rt[l] += h * e.into() * fv;
                        b[l] = e.q * fv;
                    }
                }
            }
        }
        // the groups' inflows here (a group's layout visits the nodes in the same order: it depends on
        // the network alone), and the water entering at an outlet
        let ex = nrec.exchange;
        let ins = &t.node_in[t.node_in_start[k]..t.node_in_start[k + 1]];
        // model m's inflow i (subtracted when it is the total's, in a response)
        let inflow = |m: usize, i: usize| {
            let ci = t.inflow_c[m].at(i, || inflow_conc(s.groups.model(m), i, s.p, s.t_mid));
            let q_in = s.groups.flows[m][s.period].inflow_q[i] * ci;
            if m == t.ng { -q_in } else { q_in }
        };
        let outlet =
            |m: usize| t.outlet_c[m].at(n, || outlet_conc(s.groups.model(m), n, s.p, s.t_mid));
        let mut q = 0;
        if ex < 0.0 && !t.relative {
            // water entering at an outlet: added with each group's inflows (in that order), every group
            for g in 0..t.ng {
                let mut ext_in = 0.0;
                while q < ins.len() && ins[q].0 as usize == g {
                    ext_in += inflow(g, ins[q].2 as usize);
                    q += 1;
                }
                ext_in += -ex * outlet(g);
                *at_mut(rate, g) += ext_in;
            }
        } else {
            while q < ins.len() {
                let g = ins[q].0 as usize;
                let mut ext_in = 0.0;
                while q < ins.len() && ins[q].0 as usize == g {
                    ext_in += inflow(ins[q].1 as usize, ins[q].2 as usize);
                    q += 1;
                }
                *at_mut(rate, g) += ext_in;
            }
            if ex < 0.0 {
                // responses: the outlet water in which a group differs from the total
                let outs = &t.node_out[t.node_out_start[k]..t.node_out_start[k + 1]];
                for &g in outs {
                    let g = g as usize;
                    *at_mut(rate, g) += -ex * (outlet(g) - outlet(t.ng));
                }
            }
        }
        if lo >= hi {
            continue;
        }
        let rate = &mut rate[lo..hi];
        let (qout, qin, v) = (nrec.q_out, nrec.q_in, nrec.vol);
        let cn_g = &mut t.node_c[n * nb + lo..n * nb + hi];
        // `rate` becomes the concentration carried by the water leaving the node
        if nrec.pond {
            let kd = lay.node_decay_per_day[s.p][n] / DAY_S * s.theta;
            let pond = Pond::new(qout + kd * v, v, dt);
            for (rt, cg) in rate.iter_mut().zip(cn_g.iter_mut()) {
                for l in 0..W {
                    let (c_new, integral) = pond.step(cg[l], rt[l]);
                    cg[l] = c_new;
                    rt[l] = integral / dt;
                }
            }
        } else {
            for (rt, cg) in rate.iter_mut().zip(cn_g.iter_mut()) {
                for l in 0..W {
                    if qin > 0.0 {
                        cg[l] = rt[l] / qin;
                    }
                    rt[l] = if qout > 0.0 { rt[l] / qout } else { 0.0 };
                }
            }
        }
        for e in ends {
            if e.into() <= 0.0 {
                let f = e.q / s.half[e.rank()];
                let slot = e.slot as usize;
                let bf = &mut t.bflux[slot * nb + lo..slot * nb + hi];
                for (b, rt) in bf.iter_mut().zip(rate.iter()) {
                    for l in 0..W {
                        b[l] = f * rt[l];
                    }
                }
            }
        }
    }
}

/// The groups' cell update, run after the total's kernel and before its state is swapped: `c` is the
/// total's old state as its kernel read it (ghosts set by its node pass), `withdraw_frac` the share of
/// each cell withdrawal's demand that the total could take. Advances every group with the sources of its
/// own model, swaps, and applies the implicit dispersion (`implicit`: the total's factors). `total` is the
/// total's own remaining work of the step (its implicit dispersion, on its new state): it runs with the
/// first half of the reaches, the two halves maybe on two threads (`assist::join`).
///
/// On x86-64 CPUs with AVX2 and FMA the per-reach work is compiled a second time for 256-bit vectors with
/// fused multiply–adds in the groups' per-cell arithmetic, and chosen at run time. (The groups need not repeat
/// the total's bits, only add up to it; a run gives the same bits on any number of threads, but group
/// values may differ between a CPU with FMA and one without: in the last bits, and locally by up to about
/// 0.1% where the split is at its bound, see the module docs.)
pub(super) fn cells(
    s: &TagStep,
    c: &[f64],
    withdraw_frac: &[f64],
    implicit: Option<&Factors>,
    t: &mut TagLane,
    total: &mut (dyn FnMut() + Send),
) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
        return cells_generic::<true>(s, c, withdraw_frac, implicit, t, total);
    }
    cells_generic::<false>(s, c, withdraw_frac, implicit, t, total)
}

/// a·b + c, fused when `F` (only where the CPU has FMA: elsewhere `mul_add` is a slow library call).
#[inline(always)]
fn fmadd<const F: bool>(a: f64, b: f64, c: f64) -> f64 {
    if F { a.mul_add(b, c) } else { a * b + c }
}

/// What the groups' cell pass needs ready before it starts, made at the end of the node pass (so that
/// it runs beside the total's node pass and kernel when a thread helps, `assist`): the blocks whose flux
/// first crosses an end face of a reach join its activity, and this step's source increments (the rates
/// are cached while their series hold; the flows, and with them the rates of the outfalls with water,
/// change with the period), a block joining a reach's activity once one of its sources there first
/// brings something.
fn prepare_cells(s: &TagStep, t: &mut TagLane) {
    let (lay, co, net) = (s.lay, s.co, s.net);
    let nb = t.nb;
    let dt = s.dt;
    for r in 0..net.n_reaches {
        let k = lay.rank[r];
        for slot in [2 * k, 2 * k + 1] {
            let row = &t.bflux[slot * nb..(slot + 1) * nb];
            for (blk, x) in row.iter().enumerate() {
                if t.act[r] & bit(blk) == 0 && x.iter().any(|&v| v != 0.0) {
                    t.act[r] |= bit(blk);
                }
            }
        }
    }
    if t.cache_period != s.period {
        t.src_cache.fill((0.0, f64::NEG_INFINITY));
        t.cache_period = s.period;
    }
    for ((ev, cache), inc) in t.src.iter().zip(&mut t.src_cache).zip(&mut t.src_inc) {
        let (g, mi) = (ev.g as usize, ev.m as usize);
        let rate = if s.t_mid < cache.1 {
            cache.0
        } else {
            let m = s.groups.model(mi);
            let src = &s.groups.lays[mi].sources[ev.k as usize];
            let r = source_rate(m, &s.groups.flows[mi][s.period], src, s.p, s.t_mid);
            // a response subtracts the total's sources
            let r = if mi == g { r } else { -r };
            *cache = (r, source_held_until(m, src, s.p, s.t_mid));
            r
        };
        let mass = rate * dt;
        *inc = s.half[ev.rank as usize] * mass * co.inv_vol[ev.ext as usize];
        if *inc != 0.0 {
            t.act[ev.reach as usize] |= bit(g / W);
        }
    }
}

/// [`cells`] for `F` = the CPU has AVX2 and FMA (the per-cell arithmetic then enters through
/// [`reach_range_on`], compiled for them).
fn cells_generic<const F: bool>(
    s: &TagStep,
    c: &[f64],
    withdraw_frac: &[f64],
    implicit: Option<&Factors>,
    t: &mut TagLane,
    total: &mut (dyn FnMut() + Send),
) {
    let (lay, net) = (s.lay, s.net);
    let nb = t.nb;
    // reach by reach: the face weights, then every active block's explicit update, sources, withdrawals
    // and implicit dispersion in one pass over the reach's rows while they are in cache. Each reach's
    // work is its own, so the reaches are cut in two halves of about equal work, given to `rayon::join`:
    // a thread with nothing else to do takes the second half (the results do not depend on it).
    // the work measure: cells × active blocks, in tenths; the total's own remaining work (`total`: its
    // implicit dispersion, which runs with the first half) weighs about 0.3 of a block per cell
    let nr = net.n_reaches;
    let work = |k: usize| {
        let r = lay.order[k];
        let (lo, hi) = span(t.act[r], nb);
        10 * net.n_cells_of(r) * (hi - lo)
    };
    let extra = if implicit.is_some() {
        3 * net.n_cells
    } else {
        0
    };
    let total_work = extra + (0..nr).map(work).sum::<usize>();
    let (mut cut, mut acc) = (0, extra);
    while cut < nr && 2 * acc < total_work {
        acc += work(cut);
        cut += 1;
    }
    let TagLane {
        conc,
        conc_new,
        bflux,
        src,
        src_start,
        src_inc,
        wd,
        wd_start,
        act,
        scratch,
        ..
    } = t;
    let ctx = Cells {
        s,
        c,
        withdraw_frac,
        implicit,
        nb,
        conc,
        bflux,
        src,
        src_start,
        src_inc,
        wd,
        wd_start,
        act,
        relative: t.relative,
        sweep_coef: implicit.map_or(&[][..], |f| f.coefficients()),
    };
    let [sc0, sc1] = scratch;
    if cut > 0 && cut < nr {
        // the second half's slots start at the left ghost of its first reach
        let split = (lay.base[lay.order[cut]] - 1) * nb;
        let (a, b) = conc_new.split_at_mut(split);
        let first = || {
            total();
            reach_range_on::<F>(&ctx, 0, cut, a, 0, sc0)
        };
        let second = || reach_range_on::<F>(&ctx, cut, nr, b, split, sc1);
        assist::join(first, second);
    } else {
        total();
        reach_range_on::<F>(&ctx, 0, nr, conc_new, 0, sc0);
    }
    std::mem::swap(&mut t.conc, &mut t.conc_new);
}

/// [`reach_range`], entered with `F` (the CPU has AVX2 and FMA) through a function compiled for them (the
/// caller is not: it may also be a closure that another thread runs, and closures do not inherit target
/// features).
#[inline(always)]
fn reach_range_on<const F: bool>(
    cx: &Cells,
    k0: usize,
    k1: usize,
    out: &mut [B],
    out0: usize,
    sc: &mut FaceScratch,
) {
    #[cfg(target_arch = "x86_64")]
    if F {
        // SAFETY: `F` is set only by `cells`, and only once it has checked that the CPU supports AVX2 and
        // FMA
        unsafe { reach_range_avx2_fma(cx, k0, k1, out, out0, sc) };
        return;
    }
    reach_range::<F>(cx, k0, k1, out, out0, sc)
}

/// [`reach_range`] compiled with AVX2 and FMA enabled.
///
/// # Safety
/// The CPU must support AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn reach_range_avx2_fma(
    cx: &Cells,
    k0: usize,
    k1: usize,
    out: &mut [B],
    out0: usize,
    sc: &mut FaceScratch,
) {
    reach_range::<true>(cx, k0, k1, out, out0, sc)
}

/// What the cell pass of a step reads.
struct Cells<'a, 's> {
    s: &'a TagStep<'s>,
    /// The total's old state (ghosts set) and the share each cell withdrawal could take.
    c: &'a [f64],
    withdraw_frac: &'a [f64],
    implicit: Option<&'a Factors>,
    /// The groups' old state, end fluxes, sources, withdrawals and activity (see [`TagLane`]).
    nb: usize,
    conc: &'a [B],
    bflux: &'a [B],
    src: &'a [SrcEv],
    src_start: &'a [usize],
    src_inc: &'a [f64],
    wd: &'a [(u32, u32)],
    wd_start: &'a [usize],
    act: &'a [u64],
    /// Carrying responses (`TagLane::relative`).
    relative: bool,
    /// The implicit sweeps' coefficients (`Factors::coefficients`; empty without implicit dispersion).
    sweep_coef: &'a [[f64; 3]],
}

/// The cell pass over the reaches of layout ranks `k0 .. k1`, writing the new state into `out`, the
/// slice of the groups' new state that starts at block row `out0` (`slot·nb + block`) and holds every
/// slot of those reaches.
#[inline(always)]
fn reach_range<const F: bool>(
    cx: &Cells,
    k0: usize,
    k1: usize,
    out: &mut [B],
    out0: usize,
    sc: &mut FaceScratch,
) {
    let (s, c) = (cx.s, cx.c);
    let (lay, co, net) = (s.lay, s.co, s.net);
    let nb = cx.nb;
    for (k, &r) in lay.order.iter().enumerate().take(k1).skip(k0) {
        // the face weights look at every block from the first to the last active one (the zero blocks
        // between cannot bind the split)
        let (lo, hi) = span(cx.act[r], nb);
        if lo >= hi {
            continue;
        }
        let n = net.n_cells_of(r);
        let b = lay.base[r];
        let f0 = net.first_face[r];
        // the flux weights of the interior faces, from the total's state (as `kernel::interior_fluxes`):
        // first the total's face values, limiter weights and shares, face by face without a branch (so
        // they run several faces to a vector), then each face's split among the groups
        total_faces(s, c, r, sc);
        for j in 1..n {
            let f = f0 + j;
            let q = j - 1;
            let qq = co.q_face[f];
            let pos = qq >= 0.0;
            let (iu, id) = if pos {
                (b + j - 1, b + j)
            } else {
                (b + j, b + j - 1)
            };
            // group g's face value wu·u_g + wd·dn_g; the dispersive flux d·(left − right) is linear
            let (ug, dg) = (
                &cx.conc[iu * nb + lo..iu * nb + hi],
                &cx.conc[id * nb + lo..id * nb + hi],
            );
            let (share, kappa, nu, dsum) = (sc.share[q], sc.kappa[q], sc.nu[q], sc.dsum[q]);
            let (wu, wd) = if cx.relative {
                split_parts::<true>(share, kappa, nu, dsum, c[iu], c[id], ug, dg)
            } else {
                split_parts::<false>(share, kappa, nu, dsum, 0.0, 0.0, ug, dg)
            };
            let d = sc.d[q];
            if pos {
                sc.wl[j] = qq * wu + d;
                sc.wr[j] = qq * wd - d;
            } else {
                sc.wl[j] = qq * wd + d;
                sc.wr[j] = qq * wu - d;
            }
        }
        let sweep = cx.implicit.filter(|_| n >= 2 && s.disp_true[r] > 0.0);
        // a pack of at most `PACK` blocks at a time: the row length is then known at compile time, so the
        // per-cell loops over the groups unroll into straight vector code
        for (lo, hi) in runs(cx.act[r], nb) {
            for_each_pack!(lo, hi, F, pack_reach(cx, sc, out, out0, sweep, r, k));
        }
    }
}

/// The total's side of the interior faces of one reach (face j of the reach at index j − 1): Courant
/// number ν, diffusion number, dispersive conductance D (m³/s), limiter weight κ and the share C_f/C_U
/// of the upwind concentration the face carries.
#[derive(Default)]
pub(super) struct FaceScratch {
    /// The groups' flux weights of face j at index j: F = wl·C_left + wr·C_right, m³/s.
    wl: Vec<f64>,
    wr: Vec<f64>,
    nu: Vec<f64>,
    dsum: Vec<f64>,
    d: Vec<f64>,
    kappa: Vec<f64>,
    share: Vec<f64>,
}

impl FaceScratch {
    /// Room for reaches of up to `cells` cells.
    fn new(cells: usize) -> FaceScratch {
        let v = vec![0.0; cells];
        FaceScratch {
            wl: v.clone(),
            wr: v.clone(),
            nu: v.clone(),
            dsum: v.clone(),
            d: v.clone(),
            kappa: v.clone(),
            share: v,
        }
    }
}

/// Fill `out` for the interior faces of reach `r` from the total's old state `c` (extended slots, ghosts
/// set): the same arithmetic as `kernel::interior_fluxes` and [`split`], written without branches.
#[inline(always)]
fn total_faces(s: &TagStep, c: &[f64], r: usize, out: &mut FaceScratch) {
    let (co, net) = (s.co, s.net);
    let n = net.n_cells_of(r);
    if n < 2 {
        return;
    }
    let m = n - 1;
    let b = s.lay.base[r];
    let f0 = net.first_face[r];
    let dt = s.dt;
    let e_dx2 = s.disp[r];
    // c[b − 1 ..= b + n]: the cells and the two ghosts; face j (1 ≤ j < n) sees cw[j − 1 ..= j + 2]
    let cw = &c[b - 1..b + n + 1];
    let iv = &co.inv_vol[b..b + n];
    let qf = &co.q_face[f0 + 1..f0 + n];
    let (nu_o, dsum_o, d_o, kappa_o, share_o) = (
        &mut out.nu[..m],
        &mut out.dsum[..m],
        &mut out.d[..m],
        &mut out.kappa[..m],
        &mut out.share[..m],
    );
    if !s.parts.is_empty() {
        // κ and the share as the total's kernel made them this step (the same arithmetic as `one_face`'s)
        let parts = &s.parts[2 * (f0 + 1)..2 * (f0 + n)];
        for (q, kv) in parts.chunks_exact(2).enumerate() {
            kappa_o[q] = f64::from_bits(kv[0].load(Ordering::Relaxed));
            share_o[q] = f64::from_bits(kv[1].load(Ordering::Relaxed));
        }
        if e_dx2 > 0.0 {
            for q in 0..m {
                (nu_o[q], dsum_o[q], d_o[q]) =
                    face_numbers::<true>(qf[q], iv[q], iv[q + 1], dt, e_dx2);
            }
        } else {
            for q in 0..m {
                (nu_o[q], dsum_o[q], d_o[q]) =
                    face_numbers::<false>(qf[q], iv[q], iv[q + 1], dt, e_dx2);
            }
        }
        return;
    }
    // the dispersion test is per reach: two loops, each free of it
    if e_dx2 > 0.0 {
        for q in 0..m {
            (nu_o[q], dsum_o[q], d_o[q], kappa_o[q], share_o[q]) =
                one_face::<true>(qf[q], &cw[q..q + 4], iv[q], iv[q + 1], dt, e_dx2);
        }
    } else {
        for q in 0..m {
            (nu_o[q], dsum_o[q], d_o[q], kappa_o[q], share_o[q]) =
                one_face::<false>(qf[q], &cw[q..q + 4], iv[q], iv[q + 1], dt, e_dx2);
        }
    }
}

/// A face's Courant number ν, diffusion number and dispersive conductance D (m³/s), as [`one_face`] and
/// the kernel make them: flow `qq`, the inverse volumes of its two cells; `DISP` whether E/Δx² (`e_dx2`) is
/// not 0.
#[inline(always)]
fn face_numbers<const DISP: bool>(
    qq: f64,
    iv_l: f64,
    iv_r: f64,
    dt: f64,
    e_dx2: f64,
) -> (f64, f64, f64) {
    let ivu = if qq >= 0.0 { iv_l } else { iv_r };
    let nu = qq.abs() * dt * ivu;
    let (d, dsum) = if DISP {
        let d = e_dx2 * 2.0 / (iv_l + iv_r);
        (d, 2.0 * d * dt * ivu)
    } else {
        (0.0, 0.0)
    };
    (nu, dsum, d)
}

/// One face of [`total_faces`]: flow `qq`, the four concentrations around it `cw` (the face between
/// `cw[1]` and `cw[2]`), the inverse volumes of its two cells; `DISP` whether E/Δx² (`e_dx2`) is not 0.
#[inline(always)]
fn one_face<const DISP: bool>(
    qq: f64,
    cw: &[f64],
    iv_l: f64,
    iv_r: f64,
    dt: f64,
    e_dx2: f64,
) -> (f64, f64, f64, f64, f64) {
    let (left, right) = (cw[1], cw[2]);
    let pos = qq >= 0.0;
    let u = if pos { left } else { right };
    let dn = if pos { right } else { left };
    let uu = if pos { cw[0] } else { cw[3] };
    let (nu, dsum, d) = face_numbers::<DISP>(qq, iv_l, iv_r, dt, e_dx2);
    let (fv, kappa) = face_parts(uu, u, dn, nu, dsum);
    let share = if u > 0.0 { fv / u } else { 0.0 };
    (nu, dsum, d, kappa, share)
}

/// Blocks per pack (32 groups).
const PACK: usize = 8;

/// Blocks `p0 .. p0 + NB` of slot `i`'s row.
#[inline(always)]
fn row<const NB: usize>(v: &[B], nb: usize, i: usize, p0: usize) -> &[B; NB] {
    v[i * nb + p0..]
        .first_chunk::<NB>()
        .expect("a row holds the pack")
}

/// One step of blocks `p0 .. p0 + NB` of reach `r` (layout rank `k`), into `conc_new`:
/// - the explicit update with the face fluxes F = wl·C_left + wr·C_right carried from cell to cell,
///   C* = h²·(C + Δt/V·(F_left − F_right));
/// - the groups' sources of each cell (mass entering at mid-step, decayed for half a step) and the cell
///   withdrawals, which take from each group the share of its concentration that they take from the total;
/// - with `sweep`, the implicit dispersion: the forward substitution with the total's factors
///   (`Factors::coefficients`) as the cells are produced, then the backward one — the same operations for
///   every group.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn pack_reach<const NB: usize, const F: bool>(
    cx: &Cells,
    sc: &FaceScratch,
    out_rows: &mut [B],
    out0: usize,
    sweep: Option<&Factors>,
    r: usize,
    k: usize,
    p0: usize,
) {
    let s = cx.s;
    let (lay, co, net) = (s.lay, s.co, s.net);
    let nb = cx.nb;
    let dt = s.dt;
    let n = net.n_cells_of(r);
    let b = lay.base[r];
    let hh = s.half[k] * s.half[k];
    let coef = cx.sweep_coef;
    let srcs = &cx.src[cx.src_start[k]..cx.src_start[k + 1]];
    let incs = &cx.src_inc[cx.src_start[k]..cx.src_start[k + 1]];
    let wds = &cx.wd[cx.wd_start[k]..cx.wd_start[k + 1]];
    let withdraw_frac = cx.withdraw_frac;
    let (mut si, mut wi) = (0, 0);
    let (g_lo, g_hi) = (p0 * W, (p0 + NB) * W);
    let conc = cx.conc;
    let mut fl: [B; NB] = *row::<NB>(cx.bflux, nb, 2 * k, p0);
    let mut c0: [B; NB] = *row::<NB>(conc, nb, b, p0);
    let mut y = [[0.0; W]; NB];
    for j in 0..n {
        let i = b + j;
        let mut c1 = [[0.0; W]; NB];
        let fr = if j + 1 == n {
            *row::<NB>(cx.bflux, nb, 2 * k + 1, p0)
        } else {
            let (a, bw) = (sc.wl[j + 1], sc.wr[j + 1]);
            c1 = *row::<NB>(conc, nb, i + 1, p0);
            let mut fr = [[0.0; W]; NB];
            for q in 0..NB {
                for l in 0..W {
                    fr[q][l] = fmadd::<F>(a, c0[q][l], bw * c1[q][l]);
                }
            }
            fr
        };
        let kv = dt * co.inv_vol[i];
        let mut x = [[0.0; W]; NB];
        for q in 0..NB {
            for l in 0..W {
                x[q][l] = hh * fmadd::<F>(kv, fl[q][l] - fr[q][l], c0[q][l]);
            }
        }
        while si < srcs.len() && srcs[si].cell as usize == j {
            let g = srcs[si].g as usize;
            if (g_lo..g_hi).contains(&g) {
                x[g / W - p0][g % W] += incs[si];
            }
            si += 1;
        }
        while wi < wds.len() && wds[wi].0 as usize == j {
            let w = wds[wi].1 as usize;
            let f = withdraw_frac[w] * co.cell_withdraw_q[w] * dt * co.inv_vol[i];
            for q in 0..NB {
                for l in 0..W {
                    x[q][l] -= f * c0[q][l];
                }
            }
            wi += 1;
        }
        if sweep.is_some() {
            // y_i = (V_i·C*_i + g_i·y_{i−1})/m_i with the two factors taken once per period and step
            // (g_0 = 0): one multiply–add in the chain from cell to cell
            let [a, bw, _] = coef[i];
            for q in 0..NB {
                for l in 0..W {
                    y[q][l] = fmadd::<F>(bw, y[q][l], a * x[q][l]);
                }
            }
            x = y;
        }
        *out_rows[i * nb + p0 - out0..]
            .first_chunk_mut::<NB>()
            .expect("a row holds the pack") = x;
        fl = fr;
        c0 = c1;
    }
    if sweep.is_some() {
        // C_i = y_i + (g_{i+1}/m_i)·C_{i+1}
        let mut xn = y;
        for j in (0..n - 1).rev() {
            let i = b + j;
            let w = coef[i][2];
            let xr = out_rows[i * nb + p0 - out0..]
                .first_chunk_mut::<NB>()
                .expect("a row holds the pack");
            for q in 0..NB {
                for l in 0..W {
                    xr[q][l] = fmadd::<F>(w, xn[q][l], xr[q][l]);
                }
            }
            xn = *xr;
        }
    }
}

/// How a face's water is shared among the groups: the weights (w_u, w_d) of group g's face value
/// C_f,g = w_u·u_g + w_d·d_g, from the total's far-upwind, upwind and downwind values `uu`, `u`, `d`, its
/// Courant number `nu` and diffusion number `dsum`, and the groups' upwind and downwind rows `ug`, `dg`.
///
/// Any weights with Σ_g C_f,g = C_f keep the groups adding up to the total; two natural ones are
/// - the limiter's own mix, C_f,g = (1 − κ)·u_g + κ·d_g (C_f = u + κ(d − u)): second order for each
///   group, but where two waters of similar total concentration meet, a group with much more downwind
///   than upwind can be drawn out of the upwind cell faster than the cell holds it (negative values);
/// - the upwind cell's composition, C_f,g = (C_f/u)·u_g: never negative (the total's limiter keeps
///   ν·C_f ≤ (1 − dsum)·u, so no group leaves faster than it is there), but first order in composition.
///
/// The blend (1 − β)·composition + β·mix is used with the largest β ≤ 1 that keeps every group's
/// outflow within that bound, ν·C_f,g ≤ (1 − dsum)·u_g: the limiter's mix wherever it is safe.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn split(
    uu: f64,
    u: f64,
    d: f64,
    nu: f64,
    dsum: f64,
    relative: bool,
    ug: &[B],
    dg: &[B],
) -> (f64, f64) {
    let (fv, kappa) = face_parts(uu, u, d, nu, dsum);
    let share = if u > 0.0 { fv / u } else { 0.0 };
    if relative {
        split_parts::<true>(share, kappa, nu, dsum, u, d, ug, dg)
    } else {
        split_parts::<false>(share, kappa, nu, dsum, 0.0, 0.0, ug, dg)
    }
}

/// [`split`] from the total's share C_f/C_U and limiter weight κ of the face. With `REL` the rows are
/// responses and each group is judged by its concentration, the total's upwind and downwind values `ut`,
/// `dt` plus its response.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn split_parts<const REL: bool>(
    share: f64,
    kappa: f64,
    nu: f64,
    dsum: f64,
    ut: f64,
    dt: f64,
    ug: &[B],
    dg: &[B],
) -> (f64, f64) {
    let mut beta = 1.0f64;
    if kappa > 0.0 && nu > 0.0 {
        let room = (1.0 - dsum).max(0.0) - nu * share;
        let a = 1.0 - kappa - share;
        // for responses, the total's own excess and allowance: the excess is capped at the allowance, so
        // that a zero response (a group equal to the total, which the limiter keeps within its bound up to
        // round-off) never binds
        let (e0, a0) = if REL {
            let (e, al) = (nu * (a * ut + kappa * dt), room * ut);
            (e.min(al), al)
        } else {
            (0.0, 0.0)
        };
        // the mix's excess outflow over the composition's, ν·((1 − κ − share)·u_g + κ·d_g), against what
        // the group may still lose, room·u_g: first only whether any group is over (no division; the
        // usual case is none), then the largest β every group allows (branch-free over whole vectors)
        let mut over = [f64::NEG_INFINITY; W];
        for (x, y) in ug.iter().zip(dg) {
            for l in 0..W {
                let d = if REL {
                    (e0 + nu * (a * x[l] + kappa * y[l])) - (a0 + room * x[l])
                } else {
                    nu * (a * x[l] + kappa * y[l]) - room * x[l]
                };
                over[l] = if d > over[l] { d } else { over[l] };
            }
        }
        if over.iter().any(|&d| d > 0.0) {
            let mut lim = [1.0f64; W];
            for (x, y) in ug.iter().zip(dg) {
                for l in 0..W {
                    let (excess, allow) = if REL {
                        (e0 + nu * (a * x[l] + kappa * y[l]), a0 + room * x[l])
                    } else {
                        (nu * (a * x[l] + kappa * y[l]), room * x[l])
                    };
                    let b = if excess > allow { allow / excess } else { 1.0 };
                    lim[l] = if b < lim[l] { b } else { lim[l] };
                }
            }
            for b in lim {
                beta = beta.min(b);
            }
        }
        beta = beta.max(0.0);
    }
    ((1.0 - beta) * share + beta * (1.0 - kappa), beta * kappa)
}

#[cfg(test)]
mod tests {
    use super::{bit, runs, span};

    #[test]
    fn activity_runs_and_spans() {
        let all = |m: u64, nb: usize| runs(m, nb).collect::<Vec<_>>();
        // blocks 0, 1, 3, 4, 5 and 9 of 12: three runs, spanning 0..10 (hand-read from the bits)
        let m = bit(0) | bit(1) | bit(3) | bit(4) | bit(5) | bit(9);
        assert_eq!(all(m, 12), vec![(0, 2), (3, 6), (9, 10)]);
        assert_eq!(span(m, 12), (0, 10));
        // bits beyond the row are ignored by the runs; nothing active, nothing to do
        assert_eq!(all(bit(2) | bit(7), 5), vec![(2, 3)]);
        assert_eq!(all(0, 8), vec![]);
        assert_eq!(span(0, 8), (0, 0));
        // a full 64-block row is one run; above 64 blocks a mask cannot tell blocks apart: all or nothing
        assert_eq!(all(u64::MAX, 64), vec![(0, 64)]);
        assert_eq!(all(bit(63), 64), vec![(63, 64)]);
        assert_eq!(all(bit(70), 80), vec![(0, 80)]);
        assert_eq!(all(0, 80), vec![]);
        assert_eq!(span(bit(3), 80), (0, 80));
    }
}
