//! The frozen network: topology in compact indices and the cells of every reach as struct of arrays.
//!
//! The topology is built once with petgraph (to find the flow order and cycles) and then frozen into flat
//! index arrays; nothing downstream of this module touches petgraph.
//!
//! Cells: a reach of length L with target cell length Δx₀ gets n = max(1, round(L/Δx₀)) cells of length
//! Δx = L/n, numbered from its `from` node to its `to` node. Reaches are laid out one after another in the
//! nominal flow order (a topological order of the nominal directions where one exists), so a sweep over the
//! cell arrays runs roughly downstream. Cell `c` of reach `r` is global cell `first_cell[r] + c`; the faces of
//! reach `r` are `first_face[r] .. first_face[r] + n + 1` with `first_face[r] = first_cell[r] + r`
//! (face 0 at the from-node, face n at the to-node).
//!
//! Positions (DESIGN.md §6): a point at `at_m` lies in cell floor(at_m/Δx), clamped to the last cell, so a
//! point exactly on a face belongs to the cell downstream of it in the nominal direction. A section reports the
//! value linearly interpolated between the two nearest cell centres (the end cells' values up to the ends).

pub mod section;

use crate::model::Model;
use petgraph::graph::{DiGraph, NodeIndex};
use rayon::prelude::*;

/// Smallest number of cells one parallel task of a per-cell set-up handles (the network's cells here, the
/// per-cell geometry of a flow period in `hydraulics::period`).
pub(crate) const CELLS_PER_TASK: usize = 8192;

/// Topology and cells of a model, frozen into flat arrays.
#[derive(Debug, Clone)]
pub struct Network {
    /// Number of nodes.
    pub n_nodes: usize,
    /// Number of reaches.
    pub n_reaches: usize,
    /// Number of cells.
    pub n_cells: usize,
    /// First global cell of each reach.
    pub first_cell: Vec<usize>,
    /// Number of cells of each reach.
    pub reach_n_cells: Vec<usize>,
    /// First face of each reach in a face array (a reach of n cells has n + 1 faces).
    pub first_face: Vec<usize>,
    /// Cell length of each reach, m.
    pub reach_dx_m: Vec<f64>,
    /// Reach of each cell.
    pub cell_reach: Vec<u32>,
    /// Cell length, m (per cell, a copy of its reach's Δx for stride-1 loops).
    pub cell_dx_m: Vec<f64>,
    /// Distance of the cell centre from its reach's from-node, m.
    pub cell_x_m: Vec<f64>,
    /// Bed level at the cell centre, m (linear between the reach's end levels).
    pub cell_bed_m: Vec<f64>,
    /// Reaches leaving each node in the nominal direction (CSR: `node_out_start[n]..node_out_start[n+1]`).
    pub node_out_start: Vec<usize>,
    /// See `node_out_start`.
    pub node_out: Vec<usize>,
    /// Reaches entering each node in the nominal direction (CSR).
    pub node_in_start: Vec<usize>,
    /// See `node_in_start`.
    pub node_in: Vec<usize>,
    /// Reaches in a topological order of their nominal directions, or in input order when the nominal
    /// directions contain a cycle.
    pub reach_order: Vec<usize>,
    /// `true` when the nominal directions contain no directed cycle.
    pub nominal_acyclic: bool,
    /// Connected component (undirected) of each node.
    pub node_component: Vec<usize>,
    /// Number of connected components.
    pub n_components: usize,
    /// `true` when the undirected graph has no cycle (no loops, no parallel reaches).
    pub is_forest: bool,
}

impl Network {
    /// Freeze the topology of a validated model and cut its reaches into cells.
    pub fn build(model: &Model) -> Network {
        let n_nodes = model.nodes.len();
        let n_reaches = model.reaches.len();

        let mut g: DiGraph<(), usize> = DiGraph::with_capacity(n_nodes, n_reaches);
        for _ in 0..n_nodes {
            g.add_node(());
        }
        for (r, reach) in model.reaches.iter().enumerate() {
            g.add_edge(NodeIndex::new(reach.from), NodeIndex::new(reach.to), r);
        }
        let (reach_order, nominal_acyclic) = match petgraph::algo::toposort(&g, None) {
            Ok(nodes) => {
                let mut order = Vec::with_capacity(n_reaches);
                for n in nodes {
                    for e in g.edges_directed(n, petgraph::Direction::Outgoing) {
                        order.push(*e.weight());
                    }
                }
                (order, true)
            }
            Err(_) => ((0..n_reaches).collect(), false),
        };

        // union-find for components and forest test
        let mut parent: Vec<usize> = (0..n_nodes).collect();
        fn find(p: &mut [usize], mut x: usize) -> usize {
            while p[x] != x {
                p[x] = p[p[x]];
                x = p[x];
            }
            x
        }
        let mut is_forest = true;
        for reach in &model.reaches {
            let (a, b) = (find(&mut parent, reach.from), find(&mut parent, reach.to));
            if a == b {
                is_forest = false;
            } else {
                parent[a] = b;
            }
        }
        let mut comp_id = vec![usize::MAX; n_nodes];
        let mut n_components = 0;
        let node_component: Vec<usize> = (0..n_nodes)
            .map(|n| {
                let root = find(&mut parent, n);
                if comp_id[root] == usize::MAX {
                    comp_id[root] = n_components;
                    n_components += 1;
                }
                comp_id[root]
            })
            .collect();

        let (node_out_start, node_out) = csr(n_nodes, model.reaches.iter().map(|r| r.from));
        let (node_in_start, node_in) = csr(n_nodes, model.reaches.iter().map(|r| r.to));

        // cells, laid out in reach_order
        let mut n_cells_of = vec![0usize; n_reaches];
        let mut reach_dx_m = vec![0.0; n_reaches];
        for (r, reach) in model.reaches.iter().enumerate() {
            let n = ((reach.length_m / reach.cell_length_m).round() as usize).max(1);
            n_cells_of[r] = n;
            reach_dx_m[r] = reach.length_m / n as f64;
        }
        let mut first_cell = vec![0usize; n_reaches];
        let mut first_face = vec![0usize; n_reaches];
        let mut next = 0;
        for (rank, &r) in reach_order.iter().enumerate() {
            first_cell[r] = next;
            first_face[r] = next + rank;
            next += n_cells_of[r];
        }
        let n_cells = next;
        let mut cell_reach = vec![0u32; n_cells];
        for (r, &n) in n_cells_of.iter().enumerate() {
            cell_reach[first_cell[r]..first_cell[r] + n].fill(r as u32);
        }
        // per-cell values depend on the cell's own reach and position only: computed in parallel, the same
        // bits whatever the thread count
        let mut cell_dx_m = vec![0.0; n_cells];
        let mut cell_x_m = vec![0.0; n_cells];
        let mut cell_bed_m = vec![0.0; n_cells];
        cell_dx_m
            .par_iter_mut()
            .zip(cell_x_m.par_iter_mut())
            .zip(cell_bed_m.par_iter_mut())
            .enumerate()
            .with_min_len(CELLS_PER_TASK)
            .for_each(|(g, ((dx_out, x_out), bed_out))| {
                let r = cell_reach[g] as usize;
                let reach = &model.reaches[r];
                let dx = reach_dx_m[r];
                let c = g - first_cell[r];
                let x = (c as f64 + 0.5) * dx;
                *dx_out = dx;
                *x_out = x;
                *bed_out =
                    reach.bed_up_m + (reach.bed_down_m - reach.bed_up_m) * x / reach.length_m;
            });

        Network {
            n_nodes,
            n_reaches,
            n_cells,
            first_cell,
            reach_n_cells: n_cells_of,
            first_face,
            reach_dx_m,
            cell_reach,
            cell_dx_m,
            cell_x_m,
            cell_bed_m,
            node_out_start,
            node_out,
            node_in_start,
            node_in,
            reach_order,
            nominal_acyclic,
            node_component,
            n_components,
            is_forest,
        }
    }

    /// Number of cells of reach `r`.
    pub fn n_cells_of(&self, r: usize) -> usize {
        self.reach_n_cells[r]
    }

    /// Global cells of reach `r`, from its from-node to its to-node.
    pub fn cells_of(&self, r: usize) -> std::ops::Range<usize> {
        self.first_cell[r]..self.first_cell[r] + self.reach_n_cells[r]
    }

    /// Faces of reach `r` in a face array (`n_cells + n_reaches` faces in all), from-node face first.
    pub fn faces_of(&self, r: usize) -> std::ops::Range<usize> {
        self.first_face[r]..self.first_face[r] + self.reach_n_cells[r] + 1
    }

    /// Number of faces in a face array.
    pub fn n_faces(&self) -> usize {
        self.n_cells + self.n_reaches
    }

    /// Global cell containing position `at_m` of reach `r`.
    pub fn cell_at(&self, r: usize, at_m: f64) -> usize {
        let n = self.n_cells_of(r);
        let i = (at_m / self.reach_dx_m[r]).floor();
        let i = if i.is_finite() && i > 0.0 {
            (i as usize).min(n - 1)
        } else {
            0
        };
        self.first_cell[r] + i
    }

    /// Interpolation for a section at `at_m` on reach `r`: `(cell_a, cell_b, w)` so that the value is
    /// `(1 − w)·v[cell_a] + w·v[cell_b]`.
    pub fn section_weights(&self, r: usize, at_m: f64) -> (usize, usize, f64) {
        let n = self.n_cells_of(r);
        let dx = self.reach_dx_m[r];
        let s = at_m / dx - 0.5; // position in units of cells, 0 at the first centre
        let first = self.first_cell[r];
        if n == 1 || s <= 0.0 {
            return (first, first, 0.0);
        }
        if s >= (n - 1) as f64 {
            return (first + n - 1, first + n - 1, 0.0);
        }
        let i = s.floor() as usize;
        (first + i, first + i + 1, s - i as f64)
    }

    /// Reaches leaving node `n` in the nominal direction.
    pub fn out_of(&self, n: usize) -> &[usize] {
        &self.node_out[self.node_out_start[n]..self.node_out_start[n + 1]]
    }

    /// Reaches entering node `n` in the nominal direction.
    pub fn into(&self, n: usize) -> &[usize] {
        &self.node_in[self.node_in_start[n]..self.node_in_start[n + 1]]
    }

    /// Number of reaches touching node `n`.
    pub fn degree(&self, n: usize) -> usize {
        self.out_of(n).len() + self.into(n).len()
    }
}

fn csr(n: usize, keys: impl Iterator<Item = usize> + Clone) -> (Vec<usize>, Vec<usize>) {
    let mut start = vec![0usize; n + 1];
    for k in keys.clone() {
        start[k + 1] += 1;
    }
    for i in 0..n {
        start[i + 1] += start[i];
    }
    let mut fill = start.clone();
    let mut items = vec![0usize; start[n]];
    for (idx, k) in keys.enumerate() {
        items[fill[k]] = idx;
        fill[k] += 1;
    }
    (start, items)
}
