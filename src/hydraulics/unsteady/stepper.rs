//! The unsteady solver as a steppable state: [`Unsteady::new`] sets up the start, [`Unsteady::step`]
//! advances one hydraulic step, and the accessors read the state between steps.
//!
//! One step (t → t + Δt), in a fixed order:
//! 1. **Controls**: each structure's setting from its schedule or rule at t ([`super::structure::operate`]).
//! 2. **Inputs**: inflows, outfall flows and withdrawal demands at the middle of the step; held levels at
//!    its end; the boxes' conveyances at the levels of t.
//! 3. **Newton iterations** on the nonlinear equations, each: reaches assembled and condensed
//!    ([`super::reach::assemble`], in parallel over blocks of reaches), the node system assembled and solved
//!    ([`super::node`]), every reach back-substituted ([`super::reach::update`]), the structures' and
//!    boundaries' linearised flows kept. The iteration stops when the error left in the levels and in the
//!    discharges, estimated from the last two corrections ([`remaining`]), is below `tol_level_m` and
//!    `tol_flow_rel` times the largest discharge (plus 1e-9 m³/s), and no flap gate carries reverse flow (a
//!    flap whose flow comes out reversed is shut for the rest of the step); at most `max_iterations` (a
//!    step that did not converge is counted and reported).
//! 4. **Ledger**: the step's inflows, outflows, withdrawals and boundary exchanges, exactly the flows the
//!    continuity equations used.

use super::node::NodeSystem;
use super::reach::{self, Box as Cell, CellInputs, Change, Condensed, Point, PointWork};
use super::shape::Shape;
use super::structure::{self, Setting, suction, suction_slope};
use super::{Ledger, UnsteadyOptions};
use crate::hydraulics::period::node_bed_m;
use crate::hydraulics::{FlowField, HydraulicsError, HydraulicsOptions};
use crate::model::{Discharge, FlowModel, Model, NodeKind, Place, Series, StructureKind};
use crate::network::Network;

/// Reaches are handed to threads in blocks of about this many cells; smaller networks run on one thread.
const CELLS_PER_BLOCK: usize = 8192;

/// A contiguous run of reaches (in layout order) handled by one task.
#[derive(Debug, Clone)]
struct Block {
    ranks: std::ops::Range<usize>,
    points: std::ops::Range<usize>,
    cells: std::ops::Range<usize>,
}

impl Block {
    /// Reach `r`'s faces and cells as ranges within this block's lanes.
    fn local(&self, net: &Network, r: usize) -> (std::ops::Range<usize>, std::ops::Range<usize>) {
        let (f, c) = (net.faces_of(r), net.cells_of(r));
        let (p0, c0) = (self.points.start, self.cells.start);
        (f.start - p0..f.end - p0, c.start - c0..c.end - c0)
    }
}

/// The mutable per-point, per-cell and per-reach arrays of a block of reaches.
struct Lanes<'a> {
    pts: &'a mut [Point],
    old: &'a mut [Point],
    work: &'a mut [PointWork],
    cells: &'a mut [Cell],
    cond: &'a mut [Condensed],
    change: &'a mut [Change],
}

impl<'a> Lanes<'a> {
    /// Split at the start of `b` (absolute offsets; `base` is this lane's own start block).
    fn split(self, b: &Block, base: &Block, block_index: usize) -> (Lanes<'a>, Lanes<'a>) {
        let (p0, p1) = self.pts.split_at_mut(b.points.start - base.points.start);
        let (o0, o1) = self.old.split_at_mut(b.points.start - base.points.start);
        let (w0, w1) = self.work.split_at_mut(b.points.start - base.points.start);
        let (c0, c1) = self.cells.split_at_mut(b.cells.start - base.cells.start);
        let (k0, k1) = self.cond.split_at_mut(b.ranks.start - base.ranks.start);
        let (s0, s1) = self.change.split_at_mut(block_index);
        (
            Lanes {
                pts: p0,
                old: o0,
                work: w0,
                cells: c0,
                cond: k0,
                change: s0,
            },
            Lanes {
                pts: p1,
                old: o1,
                work: w1,
                cells: c1,
                cond: k1,
                change: s1,
            },
        )
    }
}

/// Run `f` on every block, in parallel when there is more than one block.
fn for_blocks<F>(blocks: &[Block], lanes: Lanes, f: &F)
where
    F: Fn(&Block, Lanes) + Sync,
{
    if blocks.len() == 1 {
        f(&blocks[0], lanes);
        return;
    }
    let mid = blocks.len() / 2;
    let (left, right) = lanes.split(&blocks[mid], &blocks[0], mid);
    rayon::join(
        || for_blocks(&blocks[..mid], left, f),
        || for_blocks(&blocks[mid..], right, f),
    );
}

/// A node's part in the boundary conditions.
#[derive(Debug, Clone)]
enum NodeRole<'m> {
    /// The level is an unknown.
    Free,
    /// The level is given (an outlet's tide, a junction holding a level).
    Held(&'m Series),
}

/// Counters of a run.
#[derive(Debug, Clone, Default)]
pub struct Stats {
    /// Steps taken.
    pub steps: usize,
    /// Newton iterations in all.
    pub iterations: usize,
    /// Steps that reached `max_iterations` without converging.
    pub unconverged: usize,
    /// The largest last level correction of an unconverged step, m, and its time, s.
    pub worst_unconverged: (f64, f64),
    /// Each structure's number of changes of setting (open ↔ shut, on ↔ off).
    pub switches: Vec<usize>,
    /// Each structure's number of changes that undid the previous one after a single step (a rule
    /// chattering), and the time of the first, s.
    pub flips: Vec<(usize, f64)>,
    /// The highest level either side of each structure reached at the end of a step, m.
    pub highest_m: Vec<f64>,
    /// Step index of each structure's last change.
    last_switch: Vec<Option<usize>>,
}

impl Stats {
    /// Count a change of structure `k`'s setting at step `step` (time `t_s`).
    fn switched(&mut self, k: usize, step: usize, t_s: f64) {
        self.switches[k] += 1;
        if self.last_switch[k] == Some(step.wrapping_sub(1)) {
            if self.flips[k].0 == 0 {
                self.flips[k].1 = t_s;
            }
            self.flips[k].0 += 1;
        }
        self.last_switch[k] = Some(step);
    }
}

/// The water of one step [t, t + Δt] as the continuity equations balanced it. Box j of a reach (points j and
/// j + 1, length Δx) holds V = Δx·(A_j + A_j+1)/2 at each end of the step (the stored areas `a` of `old` and
/// `new`) and passes F = θ·Q + (1 − θ)·Q° through each point during the step; then, to round-off,
/// V − V° = Δt·(F_j − F_j+1 + lateral − withdrawn). At a node, Σ of the reach ends' F, the structures'
/// flows (fully implicit), inflows, withdrawals, free outfalls and the storage change A_s·(Z − Z°)/Δt
/// balance, except at held levels, where the remainder enters or leaves.
#[derive(Debug, Clone, Copy)]
pub struct StepFlows<'a> {
    /// Δt, s.
    pub dt_s: f64,
    /// The weight θ of the end of the step.
    pub theta: f64,
    /// The points at the start of the step.
    pub old: &'a [Point],
    /// The points at the end of the step.
    pub new: &'a [Point],
    /// Outfall flow into each cell, m³/s.
    pub cell_lateral_m3s: &'a [f64],
    /// What each cell's withdrawals took, m³/s.
    pub cell_withdrawn_m3s: &'a [f64],
    /// Inflows at each node, m³/s.
    pub node_inflow_m3s: &'a [f64],
    /// What each node's withdrawals took, m³/s.
    pub node_withdrawn_m3s: &'a [f64],
    /// Water leaving each node through a free outfall, m³/s.
    pub node_outfall_m3s: &'a [f64],
    /// Each node's storage area (storage nodes; 0 elsewhere), m².
    pub node_area_m2: &'a [f64],
    /// Each node's bed, m.
    pub node_bed_m: &'a [f64],
    /// Each node's level at the start of the step, m.
    pub node_level_old_m: &'a [f64],
    /// Each node's level at the end of the step, m.
    pub node_level_m: &'a [f64],
    /// Each structure's flow during the step, m³/s (positive from `from` to `to`).
    pub structure_m3s: &'a [f64],
}

/// The unsteady state of a network.
pub struct Unsteady<'m> {
    model: &'m Model,
    net: &'m Network,
    opts: UnsteadyOptions,
    theta: f64,
    step_s: f64,
    t_s: f64,
    shapes: Vec<Shape>,
    bed_m: Vec<f64>,
    pts: Vec<Point>,
    old: Vec<Point>,
    work: Vec<PointWork>,
    cells: Vec<Cell>,
    cond: Vec<Condensed>,
    /// How each reach's ends meet their nodes this step (layout order).
    ends_mode: Vec<reach::Ends>,
    change: Vec<Change>,
    blocks: Vec<Block>,
    /// Outfall flows of each cell this step, m³/s.
    lateral_m3s: Vec<f64>,
    /// Withdrawal demands of each cell this step, m³/s.
    withdrawal_m3s: Vec<f64>,
    /// Inflows: (node, flow).
    inflow_items: Vec<(usize, &'m Series)>,
    /// Withdrawals at nodes: (node, flow).
    node_wd_items: Vec<(usize, &'m Series)>,
    /// Outfall flows along reaches: (cell, flow).
    lateral_items: Vec<(usize, &'m Series)>,
    /// Withdrawals along reaches: (cell, flow).
    cell_wd_items: Vec<(usize, &'m Series)>,
    /// The cells with a withdrawal, each once.
    wd_cells: Vec<usize>,
    /// What each cell's withdrawal took in the last step (linearised, as continuity used it), m³/s.
    wd_used_m3s: Vec<f64>,
    /// Σ outfall flows this step, m³/s.
    lateral_total_m3s: f64,
    /// Σ inflows this step, m³/s.
    inflow_total_m3s: f64,
    roles: Vec<NodeRole<'m>>,
    node_area_m2: Vec<f64>,
    node_bed_m: Vec<f64>,
    node_z: Vec<f64>,
    node_z_old: Vec<f64>,
    node_dz: Vec<f64>,
    node_in_m3s: Vec<f64>,
    node_wd_m3s: Vec<f64>,
    node_wd_used_m3s: Vec<f64>,
    outfall_m3s: Vec<f64>,
    /// Free outfalls: (node, reach, `true` for the reach's `to` end).
    outfall_ends: Vec<(usize, usize, bool)>,
    sys: NodeSystem,
    settings: Vec<Setting>,
    st_q: Vec<f64>,
    st_slope: Vec<(f64, f64)>,
    /// Flap gates shut for the rest of the step (their flow came out reversed).
    flap_shut: Vec<bool>,
    /// The step's first Newton iteration is being assembled.
    first_iteration: bool,
    /// The last step's length, s (0 before the first).
    last_dt_s: f64,
    /// A structure's setting changed at the start of the last step.
    last_switched: bool,
    /// Reach indices in layout order.
    order: Vec<usize>,
    /// The (from, to) nodes of each reach in layout order.
    ends: Vec<(usize, usize)>,
    ledger: Ledger,
    stats: Stats,
}

impl<'m> Unsteady<'m> {
    /// The state at the scenario start: still water at `[initial] level_m`, or the steady solution of the
    /// inputs at the start.
    pub fn new(
        model: &'m Model,
        net: &'m Network,
        opts: UnsteadyOptions,
    ) -> Result<Unsteady<'m>, HydraulicsError> {
        let (step_s, theta) = match model.sim.hydraulics {
            FlowModel::Unsteady { step_s, theta } => (step_s, theta),
            FlowModel::Steady => (300.0, 0.65),
        };
        let shapes: Vec<Shape> = model
            .reaches
            .iter()
            .map(|r| Shape::new(&r.section, r.manning_n, opts.dry_depth_m))
            .collect();
        let n_points = net.n_faces();
        let mut bed_m = vec![0.0; n_points];
        for (r, reach) in model.reaches.iter().enumerate() {
            let n = net.n_cells_of(r) as f64;
            for (j, p) in net.faces_of(r).enumerate() {
                bed_m[p] = reach.bed_up_m + (reach.bed_down_m - reach.bed_up_m) * j as f64 / n;
            }
        }
        let roles: Vec<NodeRole> = model
            .nodes
            .iter()
            .map(|n| match &n.level_m {
                Some(s) => NodeRole::Held(s),
                None => NodeRole::Free,
            })
            .collect();
        let held: Vec<bool> = roles
            .iter()
            .map(|r| matches!(r, NodeRole::Held(_)))
            .collect();
        let mut links: Vec<(usize, usize)> = model.reaches.iter().map(|r| (r.from, r.to)).collect();
        links.extend(model.structures.iter().map(|s| (s.from, s.to)));
        let sys = NodeSystem::new(net.n_nodes, &held, &links);
        let node_area_m2 = model
            .nodes
            .iter()
            .map(|n| match n.kind {
                NodeKind::Storage => n.area_m2.unwrap_or(0.0),
                _ => 0.0,
            })
            .collect();
        let node_bed_m = (0..net.n_nodes)
            .map(|i| node_bed_m(model, net, i))
            .collect();
        let mut outfall_ends = Vec::new();
        for (i, node) in model.nodes.iter().enumerate() {
            if node.kind == NodeKind::Outlet && node.level_m.is_none() {
                for &r in net.into(i) {
                    outfall_ends.push((i, r, true));
                }
                for &r in net.out_of(i) {
                    outfall_ends.push((i, r, false));
                }
            }
        }
        let order: Vec<usize> = net.reach_order.clone();
        let blocks = blocks(net, &order);
        let inflow_items = model
            .inflows
            .iter()
            .map(|i| (i.node, &i.flow_m3s))
            .collect();
        let (mut node_wd_items, mut cell_wd_items) = (Vec::new(), Vec::new());
        for w in &model.withdrawals {
            match w.place {
                Place::Node(n) => node_wd_items.push((n, &w.flow_m3s)),
                Place::Reach { reach, at_m } => {
                    cell_wd_items.push((net.cell_at(reach, at_m), &w.flow_m3s))
                }
            }
        }
        let lateral_items = model
            .outfalls
            .iter()
            .filter_map(|o| match &o.discharge {
                Discharge::Flow { flow_m3s, .. } => Some((net.cell_at(o.reach, o.at_m), flow_m3s)),
                Discharge::Load { .. } => None,
            })
            .collect();
        let mut wd_cells: Vec<usize> = cell_wd_items.iter().map(|&(c, _)| c).collect();
        wd_cells.sort_unstable();
        wd_cells.dedup();
        let mut s = Unsteady {
            model,
            net,
            opts,
            theta,
            step_s,
            t_s: 0.0,
            shapes,
            bed_m,
            pts: vec![Point::default(); n_points],
            old: vec![Point::default(); n_points],
            work: vec![PointWork::default(); n_points],
            cells: vec![Cell::default(); net.n_cells],
            cond: vec![Condensed::default(); net.n_reaches],
            ends_mode: vec![reach::Ends::Tied; net.n_reaches],
            change: vec![Change::default(); blocks.len()],
            blocks,
            lateral_m3s: vec![0.0; net.n_cells],
            withdrawal_m3s: vec![0.0; net.n_cells],
            inflow_items,
            node_wd_items,
            lateral_items,
            cell_wd_items,
            wd_cells,
            wd_used_m3s: vec![0.0; net.n_cells],
            lateral_total_m3s: 0.0,
            inflow_total_m3s: 0.0,
            roles,
            node_area_m2,
            node_bed_m,
            node_z: vec![0.0; net.n_nodes],
            node_z_old: vec![0.0; net.n_nodes],
            node_dz: vec![0.0; net.n_nodes],
            node_in_m3s: vec![0.0; net.n_nodes],
            node_wd_m3s: vec![0.0; net.n_nodes],
            node_wd_used_m3s: vec![0.0; net.n_nodes],
            outfall_m3s: vec![0.0; net.n_nodes],
            outfall_ends,
            sys,
            settings: Vec::new(),
            st_q: vec![0.0; model.structures.len()],
            st_slope: vec![(0.0, 0.0); model.structures.len()],
            flap_shut: vec![false; model.structures.len()],
            first_iteration: true,
            last_dt_s: 0.0,
            last_switched: true,
            ends: order
                .iter()
                .map(|&r| (model.reaches[r].from, model.reaches[r].to))
                .collect(),
            order,
            ledger: Ledger::default(),
            stats: Stats {
                switches: vec![0; model.structures.len()],
                flips: vec![(0, 0.0); model.structures.len()],
                last_switch: vec![None; model.structures.len()],
                highest_m: vec![f64::NEG_INFINITY; model.structures.len()],
                ..Stats::default()
            },
        };
        s.start()?;
        Ok(s)
    }

    /// Fill the initial levels, discharges and areas, the structures' settings and the ledger's start.
    fn start(&mut self) -> Result<(), HydraulicsError> {
        let (model, net) = (self.model, self.net);
        match model.initial_level_m {
            Some(level) => {
                self.node_z.fill(level);
                for p in &mut self.pts {
                    *p = Point {
                        z: level,
                        q: 0.0,
                        a: 0.0,
                    };
                }
            }
            None => {
                let mut warnings = Vec::new();
                let field = crate::hydraulics::solve_period(
                    model,
                    net,
                    &HydraulicsOptions::default(),
                    0.0,
                    0.0,
                    &mut warnings,
                )?;
                self.node_z.copy_from_slice(&field.node_level_m);
                for r in 0..net.n_reaches {
                    let (faces, cells) = (net.faces_of(r), net.cells_of(r));
                    let n = cells.len();
                    let level = |i: usize| {
                        net.cell_bed_m[cells.start + i] + field.cell_depth_m[cells.start + i]
                    };
                    for (j, p) in faces.clone().enumerate() {
                        let z = match j {
                            0 => field.node_level_m[model.reaches[r].from],
                            _ if j == n => field.node_level_m[model.reaches[r].to],
                            _ => 0.5 * (level(j - 1) + level(j)),
                        };
                        self.pts[p] = Point {
                            z,
                            q: field.face_flow_m3s[p],
                            a: 0.0,
                        };
                    }
                }
            }
        }
        for r in 0..net.n_reaches {
            for p in net.faces_of(r) {
                self.pts[p].a = self.shapes[r].area_width(self.pts[p].z - self.bed_m[p]).0;
            }
        }
        self.settings = model
            .structures
            .iter()
            .map(|s| structure::initial(s, 0.0, self.node_z[s.control_node], self.node_z[s.to]))
            .collect();
        self.begin(self.step_s, reach::Start::First);
        self.ledger.initial_m3 = self.volume_m3();
        Ok(())
    }

    /// Seconds since the start.
    pub fn time_s(&self) -> f64 {
        self.t_s
    }

    /// The run's counters.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// The volume ledger so far (its `final_m3` is the volume now).
    pub fn ledger(&self) -> Ledger {
        let mut l = self.ledger.clone();
        l.final_m3 = self.volume_m3();
        l
    }

    /// Each node's level, m.
    pub fn node_level_m(&self) -> &[f64] {
        &self.node_z
    }

    /// Each point's state (the face layout of [`Network::faces_of`]).
    pub fn points(&self) -> &[Point] {
        &self.pts
    }

    /// Each structure's setting in the last step.
    pub fn settings(&self) -> &[Setting] {
        &self.settings
    }

    /// Each structure's flow in the last step, m³/s (positive from `from` to `to`).
    pub fn structure_flow_m3s(&self) -> &[f64] {
        &self.st_q
    }

    /// The water of the last step as the continuity equations balanced it, for what is carried on it
    /// (transport): see [`StepFlows`]. Valid after [`Unsteady::step`] and until the next one.
    pub fn step_flows(&self) -> StepFlows<'_> {
        StepFlows {
            dt_s: self.last_dt_s,
            theta: self.theta,
            old: &self.old,
            new: &self.pts,
            cell_lateral_m3s: &self.lateral_m3s,
            cell_withdrawn_m3s: &self.wd_used_m3s,
            node_inflow_m3s: &self.node_in_m3s,
            node_withdrawn_m3s: &self.node_wd_used_m3s,
            node_outfall_m3s: &self.outfall_m3s,
            node_area_m2: &self.node_area_m2,
            node_bed_m: &self.node_bed_m,
            node_level_old_m: &self.node_z_old,
            node_level_m: &self.node_z,
            structure_m3s: &self.st_q,
        }
    }

    /// Water in the network: the boxes' stored volumes and the storage nodes', m³.
    pub fn volume_m3(&self) -> f64 {
        let mut v = 0.0;
        for r in 0..self.net.n_reaches {
            let faces = self.net.faces_of(r);
            let pts = &self.pts[faces];
            let inner: f64 = pts[1..pts.len() - 1].iter().map(|p| p.a).sum();
            v += self.net.reach_dx_m[r] * (0.5 * (pts[0].a + pts[pts.len() - 1].a) + inner);
        }
        for i in 0..self.net.n_nodes {
            v += self.node_area_m2[i] * (self.node_z[i] - self.node_bed_m[i]);
        }
        v
    }

    /// Start a step of `dt` (or, with `first`, the run): the state now becomes the old state and every box's
    /// old terms and conveyance are taken now.
    fn begin(&mut self, dt: f64, start: reach::Start) {
        let (net, order, shapes, bed, theta) =
            (self.net, &self.order, &self.shapes, &self.bed_m, self.theta);
        let lanes = Lanes {
            pts: &mut self.pts,
            old: &mut self.old,
            work: &mut self.work,
            cells: &mut self.cells,
            cond: &mut self.cond,
            change: &mut self.change,
        };
        for_blocks(&self.blocks, lanes, &|b: &Block, l: Lanes| {
            for rank in b.ranks.clone() {
                let r = order[rank];
                let (fl, cl) = b.local(net, r);
                let k = reach::Step {
                    dt_s: dt,
                    theta,
                    dx_m: net.reach_dx_m[r],
                };
                let (pts, old) = (&mut l.pts[fl.clone()], &mut l.old[fl]);
                let cond = &mut l.cond[rank - b.ranks.start];
                reach::begin(
                    k,
                    &shapes[r],
                    &bed[net.faces_of(r)],
                    pts,
                    old,
                    &mut l.cells[cl],
                    cond,
                    start,
                );
            }
        });
        let nodes = self.node_z.iter_mut().zip(&mut self.node_z_old);
        for ((z, old), bed) in nodes.zip(&self.node_bed_m) {
            let now = *z;
            if start == reach::Start::Extrapolate {
                *z += reach::extrapolated(now - *old, now - bed);
            }
            *old = now;
        }
    }

    /// The inputs of the step [t, t + dt]: flows at its middle.
    fn inputs(&mut self, dt_s: f64) {
        let t_mid = self.t_s + 0.5 * dt_s;
        for &(n, _) in self.inflow_items.iter().chain(&self.node_wd_items) {
            self.node_in_m3s[n] = 0.0;
            self.node_wd_m3s[n] = 0.0;
        }
        for &(c, _) in self.lateral_items.iter().chain(&self.cell_wd_items) {
            self.lateral_m3s[c] = 0.0;
            self.withdrawal_m3s[c] = 0.0;
        }
        self.inflow_total_m3s = 0.0;
        for &(n, q) in &self.inflow_items {
            let v = q.at(t_mid);
            self.node_in_m3s[n] += v;
            self.inflow_total_m3s += v;
        }
        for &(n, q) in &self.node_wd_items {
            self.node_wd_m3s[n] += q.at(t_mid).max(0.0);
        }
        self.lateral_total_m3s = 0.0;
        for &(c, q) in &self.lateral_items {
            let v = q.at(t_mid);
            self.lateral_m3s[c] += v;
            self.lateral_total_m3s += v;
        }
        for &(c, q) in &self.cell_wd_items {
            self.withdrawal_m3s[c] += q.at(t_mid).max(0.0);
        }
    }

    /// Advance one step of at most the hydraulic step, ending no later than `until_s`. Returns the step taken
    /// (s).
    pub fn step(&mut self, until_s: f64) -> Result<f64, HydraulicsError> {
        let dt = self.step_s.min(until_s - self.t_s);
        if dt <= 0.0 {
            return Ok(0.0);
        }
        // 1. controls, at the levels of t
        let mut switched = false;
        for (k, s) in self.model.structures.iter().enumerate() {
            let (zf, zt) = (self.node_z[s.control_node], self.node_z[s.to]);
            let set = structure::operate(s, self.settings[k], self.t_s, zf, zt);
            let last = self.settings[k];
            // (bits: a weir's or pump's opening is NaN, equal to itself here)
            if set.open != last.open || set.opening_m.to_bits() != last.opening_m.to_bits() {
                switched = true;
            }
            if set.open != self.settings[k].open {
                self.stats.switched(k, self.stats.steps, self.t_s);
            }
            self.settings[k] = set;
        }
        // 2. inputs and the boxes' conveyances; a step like the last starts from the extrapolated state
        self.inputs(dt);
        let smooth = dt == self.last_dt_s && !switched && !self.last_switched;
        self.last_switched = switched;
        let start = if smooth {
            reach::Start::Extrapolate
        } else {
            reach::Start::Now
        };
        self.begin(dt, start);
        self.last_dt_s = dt;
        self.find_free_ends();
        let t_end = self.t_s + dt;
        // 3. Newton iterations
        self.flap_shut.fill(false);
        let mut converged = false;
        let (mut last_dz, mut last_dq) = (f64::INFINITY, f64::INFINITY);
        for it in 0..self.opts.max_iterations.max(1) {
            self.stats.iterations += 1;
            self.first_iteration = it == 0;
            let (dz, dq, q_scale) = self.iterate(dt, t_end)?;
            let tol_q = self.opts.tol_flow_rel * q_scale + 1e-9;
            let settled =
                remaining(dz, last_dz) <= self.opts.tol_level_m && remaining(dq, last_dq) <= tol_q;
            (last_dz, last_dq) = (dz, dq);
            if self.shut_reversed_flaps() && settled {
                converged = true;
                break;
            }
        }
        // a flap shut at the last iteration: once more, with it shut, so it passes nothing reversed
        while !converged && !self.shut_reversed_flaps() {
            self.stats.iterations += 1;
            self.first_iteration = false;
            self.iterate(dt, t_end)?;
        }
        if !converged {
            self.stats.unconverged += 1;
            if last_dz > self.stats.worst_unconverged.0 {
                self.stats.worst_unconverged = (last_dz, t_end);
            }
        }
        self.book(dt);
        for (k, s) in self.model.structures.iter().enumerate() {
            let z = self.node_z[s.from].max(self.node_z[s.to]);
            self.stats.highest_m[k] = self.stats.highest_m[k].max(z);
        }
        self.t_s = t_end;
        self.stats.steps += 1;
        Ok(dt)
    }

    /// Decide, from the state at the start of the step, which reach ends fall freely into their nodes
    /// ([`reach::Ends`]): a downstream end passing flow out whose node stands below its critical level, or an
    /// upstream end passing reversed flow out likewise. (Not both ends of one reach: the downstream one wins.)
    fn find_free_ends(&mut self) {
        let (net, pts, bed) = (self.net, &self.pts, &self.bed_m);
        for (rank, mode) in self.ends_mode.iter_mut().enumerate() {
            let (r, (i, j)) = (self.order[rank], self.ends[rank]);
            let f = net.faces_of(r);
            let (p0, pn) = (f.start, f.end - 1);
            let shape = &self.shapes[r];
            let (q0, qn) = (pts[p0].q, pts[pn].q);
            *mode = if qn >= 0.0 && reach::falls_freely(shape, self.node_z[j] - bed[pn], qn) {
                reach::Ends::FreeDown { m0: 0.0, m1: 0.0 }
            } else if q0 <= 0.0 && reach::falls_freely(shape, self.node_z[i] - bed[p0], q0) {
                reach::Ends::FreeUp { k0: 0.0, k1: 0.0 }
            } else {
                reach::Ends::Tied
            };
        }
    }

    /// Shut, for the rest of the step, every flap gate whose linearised flow came out reversed; `true` when
    /// there was none. (A flap is linearised by its two-way law while it is open in a step, which keeps
    /// Newton's iteration smooth across Δh = 0; the kink of max(Q, 0) would make it cycle between open
    /// and shut when the flow through the gate draws the level at its node down to the other side's.)
    fn shut_reversed_flaps(&mut self) -> bool {
        let mut none = true;
        for (k, s) in self.model.structures.iter().enumerate() {
            let one_way = matches!(
                s.kind,
                StructureKind::Sluice { one_way: true, .. }
                    | StructureKind::Weir { one_way: true, .. }
            );
            if one_way && !self.flap_shut[k] && self.st_q[k] < 0.0 {
                self.flap_shut[k] = true;
                none = false;
            }
        }
        none
    }

    /// One Newton iteration of the step ending at `t_end`. Returns the largest level and discharge
    /// corrections and the largest discharge (the scale of the discharge test).
    fn iterate(&mut self, dt: f64, t_end: f64) -> Result<(f64, f64, f64), HydraulicsError> {
        self.assemble_reaches(dt);
        self.assemble_nodes(dt, t_end);
        self.sys
            .solve(&mut self.node_dz)
            .map_err(|i| HydraulicsError::Singular {
                node: self.model.nodes[i].id.clone(),
                t_s: t_end,
            })?;
        for (i, dz) in self.node_dz.iter().enumerate() {
            if !dz.is_finite() {
                return Err(HydraulicsError::NonFinite {
                    what: "water level".into(),
                    place: format!("node {}", self.model.nodes[i].id),
                    t_start_s: t_end,
                });
            }
        }
        self.apply_nodes();
        let ch = self.update_reaches();
        let dz = self.node_dz.iter().fold(ch.dz_m, |m, d| m.max(d.abs()));
        Ok((dz, ch.dq_m3s, ch.q_m3s))
    }

    /// Assemble and condense every reach about the current iterate.
    fn assemble_reaches(&mut self, dt: f64) {
        let (net, theta) = (self.net, self.theta);
        let (shapes, bed, order) = (&self.shapes, &self.bed_m, &self.order);
        let (lat, wd) = (&self.lateral_m3s, &self.withdrawal_m3s);
        let lanes = Lanes {
            pts: &mut self.pts,
            old: &mut self.old,
            work: &mut self.work,
            cells: &mut self.cells,
            cond: &mut self.cond,
            change: &mut self.change,
        };
        for_blocks(&self.blocks, lanes, &|b: &Block, l: Lanes| {
            for rank in b.ranks.clone() {
                let r = order[rank];
                let (fl, cl) = b.local(net, r);
                let k = reach::Step {
                    dt_s: dt,
                    theta,
                    dx_m: net.reach_dx_m[r],
                };
                let inputs = CellInputs {
                    lateral_m3s: &lat[net.cells_of(r)],
                    withdrawal_m3s: &wd[net.cells_of(r)],
                };
                reach::assemble(
                    k,
                    &shapes[r],
                    &bed[net.faces_of(r)],
                    &l.pts[fl.clone()],
                    &inputs,
                    &mut l.work[fl],
                    &mut l.cells[cl],
                    &mut l.cond[rank - b.ranks.start],
                );
            }
        });
    }

    /// Assemble the node system about the current iterate and set the held nodes' corrections.
    fn assemble_nodes(&mut self, dt: f64, t_end: f64) {
        let (model, net, th) = (self.model, self.net, self.theta);
        for (i, role) in self.roles.iter().enumerate() {
            if let NodeRole::Held(s) = role {
                self.node_dz[i] = s.at(t_end) - self.node_z[i];
            }
        }
        self.sys.clear();
        let dz = &self.node_dz;
        // reach ends: −F leaves the from node, +F enters the to node
        for (rank, c) in self.cond.iter().enumerate() {
            let (r, (i, j)) = (self.order[rank], self.ends[rank]);
            let mut c = *c;
            let mode = &mut self.ends_mode[rank];
            if *mode != reach::Ends::Tied {
                let f = net.faces_of(r);
                let p = match mode {
                    reach::Ends::FreeUp { .. } => f.start,
                    _ => f.end - 1,
                };
                let (y, q) = (self.pts[p].z - self.bed_m[p], self.pts[p].q);
                *mode = reach::free_end(*mode, &self.shapes[r], y, q, &mut c);
            }
            let (f0, fn_) = (
                th * c.q[0] + (1.0 - th) * c.q_old[0],
                th * c.q[1] + (1.0 - th) * c.q_old[1],
            );
            let v = [th * c.up[1], th * c.up[2], -th * c.down[1], -th * c.down[2]];
            self.sys.add_link(r, i, j, v, dz);
            self.sys.add_rhs(i, -th * c.up[0] - f0);
            self.sys.add_rhs(j, th * c.down[0] + fn_);
        }
        // structures, fully implicit
        let nr = net.n_reaches;
        for (k, s) in model.structures.iter().enumerate() {
            let (i, j) = (s.from, s.to);
            let (zi, zj) = (self.node_z[i], self.node_z[j]);
            let yi = zi - self.node_bed_m[i];
            let mut set = self.settings[k];
            if self.flap_shut[k] {
                set.open = false;
            }
            let q = |a: f64, b: f64, y: f64| structure::flow_two_way(s, set, a, b, y);
            const EPS: f64 = 1e-6;
            let g = q(zi, zj, yi);
            let gf = (q(zi + EPS, zj, yi + EPS) - q(zi - EPS, zj, yi - EPS)) / (2.0 * EPS);
            let gt = (q(zi, zj + EPS, yi) - q(zi, zj - EPS, yi)) / (2.0 * EPS);
            let last = match s.kind {
                StructureKind::Pump { .. } => None,
                _ if self.first_iteration => None,
                // inside the band the law is linear in the levels: its tangent is exact
                _ if (zi - zj).abs() < structure::LINEAR_BAND_M => None,
                _ => Some(self.st_q[k]),
            };
            let (q0, ff, ft) = structure::linearise(g, gf, gt, last);
            self.st_q[k] = q0;
            self.st_slope[k] = (ff, ft);
            self.sys.add_link(nr + k, i, j, [ff, ft, -ff, -ft], dz);
            self.sys.add_rhs(i, -q0);
            self.sys.add_rhs(j, q0);
        }
        // storage, inflows, withdrawals and free outfalls
        for i in 0..net.n_nodes {
            let y = self.node_z[i] - self.node_bed_m[i];
            let wd = self.node_wd_m3s[i];
            let area = self.node_area_m2[i];
            self.sys.add_diag(i, area / dt + wd * suction_slope(y));
            self.sys.add_rhs(
                i,
                self.node_in_m3s[i]
                    - wd * suction(y)
                    - area * (self.node_z[i] - self.node_z_old[i]) / dt,
            );
        }
        for &(i, r, at_to) in &self.outfall_ends {
            let (q, slope) = self.outfall_rating(r, at_to, self.node_z[i]);
            self.sys.add_diag(i, slope);
            self.sys.add_rhs(i, -q);
        }
    }

    /// A free outfall's flow out of reach `r` at its end (m³/s) and its slope per metre of level: normal
    /// flow K·√S₀ on a bed falling towards the outlet, never more than critical flow √(gA³/T) (critical
    /// depth is the control of a free overfall and of a flat or adverse bed).
    fn outfall_rating(&self, r: usize, at_to: bool, z: f64) -> (f64, f64) {
        let reach = &self.model.reaches[r];
        let (bed, slope) = if at_to {
            (
                reach.bed_down_m,
                (reach.bed_up_m - reach.bed_down_m) / reach.length_m,
            )
        } else {
            (
                reach.bed_up_m,
                (reach.bed_down_m - reach.bed_up_m) / reach.length_m,
            )
        };
        let shape = &self.shapes[r];
        let rate = |z: f64| {
            let y = z - bed;
            if y <= 0.0 {
                return 0.0;
            }
            let (a, t) = shape.area_width(y);
            let critical = (reach::G * a * a * a / t).sqrt();
            if slope > 0.0 {
                (slope / shape.inv_conveyance2(y)).sqrt().min(critical)
            } else {
                critical
            }
        };
        const EPS: f64 = 1e-6;
        (rate(z), (rate(z + EPS) - rate(z - EPS)) / (2.0 * EPS))
    }

    /// Apply the node corrections: levels, the structures' and boundaries' linearised flows.
    fn apply_nodes(&mut self) {
        for (k, s) in self.model.structures.iter().enumerate() {
            let (ff, ft) = self.st_slope[k];
            self.st_q[k] += ff * self.node_dz[s.from] + ft * self.node_dz[s.to];
        }
        for i in 0..self.net.n_nodes {
            let (y, dz) = (self.node_z[i] - self.node_bed_m[i], self.node_dz[i]);
            let wd = self.node_wd_m3s[i];
            self.node_wd_used_m3s[i] = wd * (suction(y) + suction_slope(y) * dz);
        }
        self.outfall_m3s.fill(0.0);
        for k in 0..self.outfall_ends.len() {
            let (i, r, at_to) = self.outfall_ends[k];
            let (q, slope) = self.outfall_rating(r, at_to, self.node_z[i]);
            self.outfall_m3s[i] += q + slope * self.node_dz[i];
        }
        for (z, dz) in self.node_z.iter_mut().zip(&self.node_dz) {
            *z += dz;
        }
    }

    /// Back-substitute every reach. Returns the largest corrections and discharge.
    fn update_reaches(&mut self) -> Change {
        let (net, order, dz) = (self.net, &self.order, &self.node_dz);
        let (model, ends_mode) = (self.model, &self.ends_mode);
        let lanes = Lanes {
            pts: &mut self.pts,
            old: &mut self.old,
            work: &mut self.work,
            cells: &mut self.cells,
            cond: &mut self.cond,
            change: &mut self.change,
        };
        for_blocks(&self.blocks, lanes, &|b: &Block, l: Lanes| {
            let mut worst = Change::default();
            for rank in b.ranks.clone() {
                let r = order[rank];
                let reach = &model.reaches[r];
                let (fl, cl) = b.local(net, r);
                let (dz_from, dz_to) =
                    reach::end_corrections(ends_mode[rank], dz[reach.from], dz[reach.to]);
                let ch = reach::update(
                    &l.cond[rank - b.ranks.start],
                    dz_from,
                    dz_to,
                    &l.work[fl.clone()],
                    &mut l.cells[cl],
                    &mut l.pts[fl],
                );
                worst = worst.max(ch);
            }
            l.change[0] = worst;
        });
        self.change.iter().fold(Change::default(), |m, &c| m.max(c))
    }

    /// Add the step's flows to the ledger: what entered and left, exactly as the continuity equations used
    /// them.
    fn book(&mut self, dt: f64) {
        let (model, net, th) = (self.model, self.net, self.theta);
        let l = &mut self.ledger;
        l.inflow_m3 += dt * self.inflow_total_m3s;
        l.lateral_m3 += dt * self.lateral_total_m3s;
        for &c in &self.wd_cells {
            self.wd_used_m3s[c] = self.cells[c].wd_used;
            l.withdrawal_m3 += dt * self.cells[c].wd_used;
        }
        for i in 0..net.n_nodes {
            l.withdrawal_m3 += dt * self.node_wd_used_m3s[i];
            l.outfall_m3 += dt * self.outfall_m3s[i];
        }
        // held levels: what the node's links, inflow and storage leave over goes out (or comes in) there
        for (i, role) in self.roles.iter().enumerate() {
            if !matches!(role, NodeRole::Held(_)) {
                continue;
            }
            let mut e = self.node_in_m3s[i]
                - self.node_wd_used_m3s[i]
                - self.node_area_m2[i] * (self.node_z[i] - self.node_z_old[i]) / dt;
            for &r in net.into(i) {
                let p = net.faces_of(r).end - 1;
                e += th * self.pts[p].q + (1.0 - th) * self.old[p].q;
            }
            for &r in net.out_of(i) {
                let p = net.faces_of(r).start;
                e -= th * self.pts[p].q + (1.0 - th) * self.old[p].q;
            }
            for (k, s) in model.structures.iter().enumerate() {
                if s.to == i {
                    e += self.st_q[k];
                }
                if s.from == i {
                    e -= self.st_q[k];
                }
            }
            if e >= 0.0 {
                l.boundary_out_m3 += dt * e;
            } else {
                l.boundary_in_m3 -= dt * e;
            }
        }
    }

    /// The instantaneous field now, as a [`FlowField`] (face flows are the points' discharges; a cell's area
    /// is the mean of its two points' stored areas and its depth the section depth that holds it).
    pub fn snapshot(&self) -> FlowField {
        let (model, net) = (self.model, self.net);
        let mut field = FlowField {
            t_start_s: self.t_s,
            t_end_s: self.t_s,
            node_level_m: self.node_z.clone(),
            face_flow_m3s: self.pts.iter().map(|p| p.q).collect(),
            cell_depth_m: vec![0.0; net.n_cells],
            cell_area_m2: vec![0.0; net.n_cells],
            cell_width_m: vec![0.0; net.n_cells],
            cell_velocity_ms: vec![0.0; net.n_cells],
            cell_lateral_m3s: (0..net.n_cells)
                .map(|c| self.lateral_m3s[c] - self.cells[c].wd_used)
                .collect(),
            node_inject_m3s: (0..net.n_nodes)
                .map(|i| self.node_in_m3s[i] - self.node_wd_used_m3s[i])
                .collect(),
            node_exchange_m3s: self.outfall_m3s.clone(),
            node_residual_m3s: vec![0.0; net.n_nodes],
            node_volume_m3: (0..net.n_nodes)
                .map(|i| self.node_area_m2[i] * (self.node_z[i] - self.node_bed_m[i]))
                .collect(),
            continuity_relative: 0.0,
            iterations: self.stats.iterations,
        };
        for r in 0..net.n_reaches {
            let f = net.faces_of(r);
            let section = &model.reaches[r].section;
            for (j, c) in net.cells_of(r).enumerate() {
                let (p0, p1) = (self.pts[f.start + j], self.pts[f.start + j + 1]);
                let a = 0.5 * (p0.a + p1.a);
                let y = self.shapes[r].depth_of_area(a);
                field.cell_area_m2[c] = a;
                field.cell_depth_m[c] = y;
                field.cell_width_m[c] = section.top_width_m(y);
                field.cell_velocity_ms[c] = 0.5 * (p0.q + p1.q) / a;
            }
        }
        field
    }
}

/// Blocks of whole reaches in layout order, about [`CELLS_PER_BLOCK`] cells each (one block for a small
/// network).
fn blocks(net: &Network, order: &[usize]) -> Vec<Block> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut cells = 0;
    let close = |out: &mut Vec<Block>, a: usize, b: usize| {
        let (first, last) = (order[a], order[b - 1]);
        out.push(Block {
            ranks: a..b,
            points: net.faces_of(first).start..net.faces_of(last).end,
            cells: net.cells_of(first).start..net.cells_of(last).end,
        });
    };
    for (rank, &r) in order.iter().enumerate() {
        cells += net.n_cells_of(r);
        if cells >= CELLS_PER_BLOCK && net.n_cells >= 2 * CELLS_PER_BLOCK {
            close(&mut out, start, rank + 1);
            start = rank + 1;
            cells = 0;
        }
    }
    if start < order.len() {
        close(&mut out, start, order.len());
    }
    if out.is_empty() {
        out.push(Block {
            ranks: 0..0,
            points: 0..0,
            cells: 0..0,
        });
    }
    out
}

/// The error left in an iterate after a correction of size `now` that followed one of size `before`: the
/// correction itself while it does not shrink, else ρ·now/(1 − ρ) with ρ = now/before (the sum of the
/// corrections still to come if each shrinks by ρ; Newton's own are smaller still once quadratic). So an
/// iterate is accepted one iteration before the correction itself falls below the tolerance, when the
/// convergence shows that it will.
fn remaining(now: f64, before: f64) -> f64 {
    let rho = now / before;
    if before.is_finite() && rho < 0.5 {
        now.min(rho * now / (1.0 - rho))
    } else {
        now
    }
}
