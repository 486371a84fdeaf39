//! Synthetic river networks for benches, scale tests and comparisons with peer engines.
//!
//! [`generate`] builds a plausible plain river network from a handful of numbers — the number of reaches N,
//! the number of independent loops M and a seed — and [`GeneratedScenario::write`] writes it as a scenario
//! folder in the DESIGN.md §6 format (`scenario.toml`, `network/nodes.csv`, `network/reaches.csv`).
//!
//! ## How the network grows
//! - **Dendritic tree** (a Yule, or random binary splitting, process grown from the outlet upward, as
//!   `shared/peers/treegen.py` does): start with one link from node 1 down to the outlet node 0, then
//!   repeatedly pick a headwater uniformly at random and give it two upstream links (one when a single link
//!   is left). Link `j` runs from node `j + 1` to `down[j]`, so every link's downstream link has a smaller
//!   index. The expected number of links from a random headwater to the outlet grows as about 2·ln N.
//! - **Two outlets** (optional): the last tree link is a distributary from the first junction above the outlet
//!   to a second outlet, both held at the same level.
//! - **Loops**: each of the M extra reaches joins two nodes that are close in the tree (a node and a "cousin"
//!   one or two links away on another branch of a common junction), or, when no such pair is found, runs as a
//!   parallel channel beside an existing reach. A connected graph with R reaches and V nodes has R − V + 1
//!   independent cycles, so M extra reaches on a tree give exactly M.
//! - **Layout**: a "balloon" layout; each junction's upstream branches share its angular wedge in proportion
//!   to their number of headwaters and each node sits one link length from its downstream node along the middle
//!   of its share, so branches fan out upstream like a real basin and rarely cross.
//!
//! ## Hydraulic design
//! - *Plain network* (default): the outlet holds a level (2.5 m); bed levels rise upstream at a small slope
//!   (2.5·10⁻⁵, i.e. 2.5 cm per km) from −0.5 m at the outlet, so depths stay about 1.5–3 m even 50 km up a
//!   100,000-reach tree; bottom widths grow from 4 to 28 m with the number of headwaters upstream (trapezoids
//!   with 2:1 banks, so 14–40 m at the surface). Headwater and outfall flows are
//!   scaled down together if they would add up to more than 10 m³/s at the outlet (a district's outlet; a
//!   100,000-reach tree would otherwise push thousands of m³/s through 40 m channels). The hydraulics stage
//!   computes the backwater profile; velocities come out at centimetres per second.
//! - *Ids*: nodes `N<index>` (outlet `N0`), reaches `L<index>`, outfalls `P<k>`, sections `S<k>`, zones `Z1`
//!   (target IV, reaches of Strahler order ≥ 2) and `Z2` (target III, first-order reaches); jurisdictions
//!   `Town A`–`Town D` by sector around the outlet; river-chief level by Strahler order.
//! - *Fixed velocity* ([`GenerateOptions::velocity_ms`] = V): each link is a rectangle of width 20·y (written as
//!   a trapezoid with `side_slope = 0`) whose Manning normal depth carries its design flow Q at exactly V:
//!   A = Q/V, y = sqrt(A/20), R = A/(22·y), S = (V·n / R^(2/3))² (Manning: V = R^(2/3)·S^(1/2)/n). Bed levels
//!   are offset at junctions so the water surfaces match (as `swmm_tree.py` does), and the outlet holds the
//!   level of its link's normal depth, so a backwater computation from it reproduces normal depth everywhere.
//!   The design flow of a link is the headwater inflows plus the outfall flows upstream of its downstream end,
//!   so V is exact on a tree whose outfalls are switched off; a loop reach copies the geometry of a reach at
//!   its upstream node, and the flow it takes comes from the hydraulics.
//!
//! ## The peer tree
//! [`GenerateOptions::peer`] reproduces the comparison network of `shared/peers/treegen.py`: 1000 m links,
//! 0.1 m³/s per headwater at 10 mg/L, V = 0.3 m/s, Manning n = 0.03, k = 0.5/day, 5 days, node ids `N<x>` and
//! link ids `L<j>` as in its EPANET and SWMM files. Python's `random.Random(12345)` (a Mersenne twister
//! seeded through Python's own hashing) cannot be reproduced here without copying it, so the exact tree is read
//! from the script's `tree_N.down.i32` file ([`read_peer_tree`]: link `j`'s downstream link, −1 for the
//! outlet link; node `j + 1` is link `j`'s upstream node). Without that file the same Yule process runs on this
//! module's generator, which gives a tree with the same statistics (headwater count, depth distribution) but not
//! the same links.
//!
//! ## Determinism
//! Every random number comes from [`SplitMix64`] (Steele, Lea & Flood, "Fast splittable pseudorandom number
//! generators", OOPSLA 2014), a few lines kept here so that a seed gives the same files whatever crate versions
//! are in use. Values are rounded (lengths to 1 m, positions and coordinates to 0.1 m) before they are stored,
//! and written with Rust's round-trip `{}` formatting, so what is written is exactly what is held.

use std::collections::HashSet;
use std::fmt::Write as _;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

/// SplitMix64: a 64-bit state advanced by a Weyl constant and scrambled by two multiply–xorshift rounds.
#[derive(Debug, Clone)]
pub struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    /// A generator started from `seed`.
    pub fn new(seed: u64) -> Self {
        SplitMix64 { state: seed }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A uniform number in [0, 1) with 53 random bits.
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// A uniform number in [lo, hi).
    pub fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.next_f64()
    }

    /// A log-uniform number in [lo, hi) (both > 0): small values as likely per decade as large ones.
    pub fn log_uniform(&mut self, lo: f64, hi: f64) -> f64 {
        (lo.ln() + (hi.ln() - lo.ln()) * self.next_f64()).exp()
    }

    /// A uniform index in [0, n) (n > 0), by Lemire's multiply-shift (bias below 2⁻⁶⁴·n, negligible here).
    pub fn below(&mut self, n: usize) -> usize {
        ((self.next_u64() as u128 * n as u128) >> 64) as usize
    }
}

/// One simulated pollutant of a generated scenario.
#[derive(Debug, Clone, PartialEq)]
pub struct PollutantSpec {
    /// Name as written in the file (GB 3838 names such as `COD`, `NH3N`, `TP`, `CODMn`, `BOD5`, or any name).
    pub name: String,
    /// Concentration of the headwater inflows, mg/L.
    pub headwater_mg_l: f64,
    /// First-order decay rate, 1/day (written to `[defaults] decay_per_day`).
    pub decay_per_day: f64,
}

impl PollutantSpec {
    /// A pollutant with its headwater concentration (mg/L) and decay rate (1/day).
    pub fn new(name: &str, headwater_mg_l: f64, decay_per_day: f64) -> Self {
        PollutantSpec {
            name: name.to_string(),
            headwater_mg_l,
            decay_per_day,
        }
    }
}

/// What to generate. [`GenerateOptions::new`] gives sensible defaults for a plain river network.
#[derive(Debug, Clone)]
pub struct GenerateOptions {
    /// Number of reaches N (at least 1; loops and a distributary count among them). With `peer_tree` set it is
    /// ignored: N is then the tree's links, plus one for a second outlet, plus the loops.
    pub reaches: usize,
    /// Number of independent loops M (extra reaches on the tree; at most N − outlets, larger values are cut).
    pub loops: usize,
    /// Seed of the random generator.
    pub seed: u64,
    /// Number of outlets: 1, or 2 (the second fed by a distributary). Other values are read as 1 or 2.
    pub outlets: usize,
    /// Tree link lengths are uniform in this range, m (default 500–2000).
    pub link_length_m: (f64, f64),
    /// Share of tree reaches that carry one outfall, 0–1 (default 0.3).
    pub outfall_fraction: f64,
    /// Number of assessment sections (default: about one per 20 reaches, between 1 and 200).
    pub sections: Option<usize>,
    /// Fixed design velocity, m/s: bed slopes and widths set so Manning normal depth carries each link's
    /// design flow at this velocity (see the module docs). `None`: a plain network held by its outlet level.
    pub velocity_ms: Option<f64>,
    /// Mean inflow at each headwater, m³/s (default 0.1). Plain networks vary it by ±50 % per headwater;
    /// the fixed-velocity design uses it exactly.
    pub headwater_flow_m3s: f64,
    /// Plain networks: headwater and outfall flows are scaled down together when they would add up to more
    /// than this at the outlet, m³/s (default 10, a district's outlet; a 100,000-reach tree would otherwise
    /// carry thousands of m³/s through 40 m channels). `None`: no cap.
    pub max_total_flow_m3s: Option<f64>,
    /// Pollutants (default COD, NH3N, TP).
    pub pollutants: Vec<PollutantSpec>,
    /// Manning n (default 0.03).
    pub manning_n: f64,
    /// Longitudinal dispersion, m²/s (default 10).
    pub dispersion_m2s: f64,
    /// Target cell length, m (default 100).
    pub cell_length_m: f64,
    /// Held water level at the outlets of a plain network, m (default 2.5).
    pub outlet_level_m: f64,
    /// Simulated days (default 10).
    pub days: u32,
    /// Output interval as a §6 duration (default "1h").
    pub output_interval: String,
    /// The exact peer tree, when read from a `tree_N.down.i32` file; replaces the random tree (and `reaches`).
    pub peer_tree: Option<PeerTree>,
}

impl GenerateOptions {
    /// Defaults for a plain network of `reaches` reaches with `loops` loops from `seed`.
    pub fn new(reaches: usize, loops: usize, seed: u64) -> Self {
        GenerateOptions {
            reaches,
            loops,
            seed,
            outlets: 1,
            link_length_m: (500.0, 2000.0),
            outfall_fraction: 0.3,
            sections: None,
            velocity_ms: None,
            headwater_flow_m3s: 0.1,
            max_total_flow_m3s: Some(10.0),
            pollutants: vec![
                PollutantSpec::new("COD", 20.0, 0.15),
                PollutantSpec::new("NH3N", 1.0, 0.15),
                PollutantSpec::new("TP", 0.2, 0.03),
            ],
            manning_n: 0.03,
            dispersion_m2s: 10.0,
            cell_length_m: 100.0,
            outlet_level_m: 2.5,
            days: 10,
            output_interval: "1h".to_string(),
            peer_tree: None,
        }
    }

    /// The network of `shared/peers/treegen.py` with `links` links: 1000 m links, V = 0.3 m/s, n = 0.03,
    /// 0.1 m³/s at 10 mg/L of one pollutant `C` per headwater, k = 0.5/day, no dispersion, no outfalls, no
    /// loops, one section 10 m above the outlet, 5 days with hourly output. Set `peer_tree` for the exact tree.
    pub fn peer(links: usize, seed: u64) -> Self {
        GenerateOptions {
            reaches: links,
            loops: 0,
            seed,
            outlets: 1,
            link_length_m: (1000.0, 1000.0),
            outfall_fraction: 0.0,
            sections: Some(1),
            velocity_ms: Some(0.3),
            headwater_flow_m3s: 0.1,
            max_total_flow_m3s: None,
            pollutants: vec![PollutantSpec::new("C", 10.0, 0.5)],
            manning_n: 0.03,
            dispersion_m2s: 0.0,
            cell_length_m: 100.0,
            outlet_level_m: 0.0,
            days: 5,
            output_interval: "1h".to_string(),
            peer_tree: None,
        }
    }
}

/// A tree read from a peer `tree_N.down.i32` file, checked: link 0 drains to the outlet (−1) and every other
/// link `j` drains to a link with a smaller index.
#[derive(Debug, Clone, PartialEq)]
pub struct PeerTree {
    down_link: Vec<i32>,
}

impl PeerTree {
    /// Check a down-link array (see [`read_peer_tree`]).
    pub fn from_down_links(down_link: Vec<i32>) -> Result<Self, GenerateError> {
        if down_link.is_empty() {
            return Err(GenerateError::PeerTree {
                path: PathBuf::new(),
                detail: "no links: expected at least one little-endian i32".into(),
            });
        }
        for (j, &d) in down_link.iter().enumerate() {
            let ok = if j == 0 {
                d == -1
            } else {
                d >= 0 && (d as usize) < j
            };
            if !ok {
                return Err(GenerateError::PeerTree {
                    path: PathBuf::new(),
                    detail: format!(
                        "link {j} drains to link {d}: expected -1 for link 0 and 0..{j} for link {j}"
                    ),
                });
            }
        }
        Ok(PeerTree { down_link })
    }

    /// Number of links.
    pub fn links(&self) -> usize {
        self.down_link.len()
    }

    /// The downstream node of each link (node 0 is the outlet; link j's upstream node is j + 1).
    fn down_nodes(&self) -> Vec<usize> {
        self.down_link
            .iter()
            .map(|&d| if d < 0 { 0 } else { d as usize + 1 })
            .collect()
    }
}

/// Read a `tree_N.down.i32` file written by `shared/peers/treegen.py`: one little-endian i32 per link, the
/// index of the link it drains into (−1 for the outlet link).
pub fn read_peer_tree(path: &Path) -> Result<PeerTree, GenerateError> {
    let bytes = std::fs::read(path).map_err(|e| GenerateError::Io {
        path: path.to_path_buf(),
        source: e,
    })?;
    if bytes.len() % 4 != 0 {
        return Err(GenerateError::PeerTree {
            path: path.to_path_buf(),
            detail: format!(
                "{} bytes: expected a multiple of 4 (little-endian i32 per link)",
                bytes.len()
            ),
        });
    }
    let down: Vec<i32> = bytes
        .chunks_exact(4)
        .map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    PeerTree::from_down_links(down).map_err(|e| match e {
        GenerateError::PeerTree { detail, .. } => GenerateError::PeerTree {
            path: path.to_path_buf(),
            detail,
        },
        other => other,
    })
}

/// A failure of the generator's file input or output.
#[derive(Debug, thiserror::Error)]
pub enum GenerateError {
    /// A file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
    /// A peer tree file is not a valid tree.
    #[error("{}: not a peer tree: {detail}", path.display())]
    PeerTree {
        /// The file.
        path: PathBuf,
        /// What is wrong and what would be valid.
        detail: String,
    },
}

/// Node kind as written (`junction`, `boundary`, `outlet`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GenNodeKind {
    /// A confluence.
    Junction,
    /// A headwater with an inflow.
    Boundary,
    /// An outlet holding a level.
    Outlet,
}

impl GenNodeKind {
    fn name(self) -> &'static str {
        match self {
            GenNodeKind::Junction => "junction",
            GenNodeKind::Boundary => "boundary",
            GenNodeKind::Outlet => "outlet",
        }
    }
}

/// A generated node.
#[derive(Debug, Clone, PartialEq)]
pub struct GenNode {
    /// Id (`N<index>`).
    pub id: String,
    /// Kind.
    pub kind: GenNodeKind,
    /// Map coordinates, m.
    pub x_m: f64,
    /// See `x_m`.
    pub y_m: f64,
    /// Held level (outlets), m.
    pub level_m: Option<f64>,
}

/// A generated reach.
#[derive(Debug, Clone, PartialEq)]
pub struct GenReach {
    /// Id (`L<index>`).
    pub id: String,
    /// Index of the from-node.
    pub from: usize,
    /// Index of the to-node.
    pub to: usize,
    /// Length, m.
    pub length_m: f64,
    /// Trapezoid bottom width, m.
    pub bottom_width_m: f64,
    /// Bank slope (horizontal : vertical); 0 for a rectangle.
    pub side_slope: f64,
    /// Bed level at the from end, m.
    pub bed_up_m: f64,
    /// Bed level at the to end, m.
    pub bed_down_m: f64,
    /// Zone id.
    pub zone: String,
    /// Jurisdiction.
    pub jurisdiction: String,
    /// River-chief level (`district`, `town`, `village`).
    pub level: &'static str,
    /// `true` for the extra reaches that close loops.
    pub is_loop: bool,
}

/// A headwater inflow.
#[derive(Debug, Clone, PartialEq)]
pub struct GenInflow {
    /// Node index.
    pub node: usize,
    /// Flow, m³/s.
    pub flow_m3s: f64,
    /// Concentration per pollutant (in `GeneratedScenario::pollutants` order), mg/L.
    pub concentration: Vec<f64>,
}

/// A generated outfall.
#[derive(Debug, Clone, PartialEq)]
pub struct GenOutfall {
    /// Id (`P<k>`).
    pub id: String,
    /// Reach index.
    pub reach: usize,
    /// Distance from the reach's from-node, m.
    pub at_m: f64,
    /// Flow, m³/s.
    pub flow_m3s: f64,
    /// Concentration per pollutant, mg/L.
    pub concentration: Vec<f64>,
    /// Kind as written (§6 outfall kinds).
    pub kind: &'static str,
}

/// A generated assessment section.
#[derive(Debug, Clone, PartialEq)]
pub struct GenSection {
    /// Id (`S<k>`).
    pub id: String,
    /// Reach index.
    pub reach: usize,
    /// Distance from the reach's from-node, m.
    pub at_m: f64,
}

/// A generated water-function zone.
#[derive(Debug, Clone, PartialEq)]
pub struct GenZone {
    /// Id.
    pub id: String,
    /// Target class (`III`, `IV`).
    pub target: &'static str,
    /// `annual_mean` or `frequency`.
    pub method: &'static str,
}

/// A generated scenario, held in memory; [`GeneratedScenario::write`] puts it on disk.
#[derive(Debug, Clone, PartialEq)]
pub struct GeneratedScenario {
    /// Title line.
    pub title: String,
    /// Pollutants.
    pub pollutants: Vec<PollutantSpec>,
    /// Nodes (index = position).
    pub nodes: Vec<GenNode>,
    /// Reaches.
    pub reaches: Vec<GenReach>,
    /// Headwater inflows.
    pub inflows: Vec<GenInflow>,
    /// Outfalls.
    pub outfalls: Vec<GenOutfall>,
    /// Sections.
    pub sections: Vec<GenSection>,
    /// Zones (only those that have reaches).
    pub zones: Vec<GenZone>,
    /// Settings copied from the options for the `[simulation]` and `[defaults]` tables.
    settings: Settings,
    /// Requests that were adjusted (e.g. more loops than reaches allow), in words.
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
struct Settings {
    manning_n: f64,
    dispersion_m2s: f64,
    cell_length_m: f64,
    days: u32,
    output_interval: String,
}

/// Outfall kinds with their share of outfalls, flow range (m³/s) and concentration ranges (mg/L) of COD,
/// NH3N and TP. Sewage and overflow from typical raw sewage (COD 200–350, NH3-N 25–40, TP 3–5 mg/L), rain
/// outlets in dry weather as diluted sewage, wastewater plants at GB 18918-2002 class 1A (50 / 5 / 0.5).
struct KindSpec {
    kind: &'static str,
    share: f64,
    flow_m3s: (f64, f64),
    cod: (f64, f64),
    nh3n: (f64, f64),
    tp: (f64, f64),
}

const KINDS: [KindSpec; 6] = [
    KindSpec {
        kind: "sewage",
        share: 0.30,
        flow_m3s: (0.002, 0.05),
        cod: (200.0, 350.0),
        nh3n: (25.0, 40.0),
        tp: (3.0, 5.0),
    },
    KindSpec {
        kind: "industrial",
        share: 0.15,
        flow_m3s: (0.002, 0.03),
        cod: (120.0, 300.0),
        nh3n: (5.0, 20.0),
        tp: (1.0, 3.0),
    },
    KindSpec {
        kind: "rain_dry_weather",
        share: 0.25,
        flow_m3s: (0.002, 0.02),
        cod: (80.0, 160.0),
        nh3n: (8.0, 18.0),
        tp: (1.0, 2.0),
    },
    KindSpec {
        kind: "rural",
        share: 0.20,
        flow_m3s: (0.002, 0.01),
        cod: (150.0, 250.0),
        nh3n: (20.0, 35.0),
        tp: (2.5, 4.0),
    },
    KindSpec {
        kind: "overflow",
        share: 0.07,
        flow_m3s: (0.005, 0.05),
        cod: (180.0, 300.0),
        nh3n: (20.0, 35.0),
        tp: (2.5, 4.0),
    },
    KindSpec {
        kind: "wwtp",
        share: 0.03,
        flow_m3s: (0.05, 0.15),
        cod: (50.0, 50.0),
        nh3n: (5.0, 5.0),
        tp: (0.5, 0.5),
    },
];

/// Round to `decimals` decimal places (the nearest double to the decimal value, so it prints short).
fn round_dec(v: f64, decimals: i32) -> f64 {
    let f = 10f64.powi(decimals);
    (v * f).round() / f
}

/// Concentration of pollutant `name` in an outfall of `k`: drawn in the kind's range for COD/NH3N/TP;
/// CODMn ≈ 0.3·COD and BOD5 ≈ 0.45·COD (0.2·COD for plant effluent, 10 mg/L at 1A); other pollutants ten
/// times their headwater value.
fn outfall_conc(k: &KindSpec, p: &PollutantSpec, cod: f64, rng: &mut SplitMix64) -> f64 {
    let v = match p.name.as_str() {
        "COD" => cod,
        "NH3N" => rng.uniform(k.nh3n.0, k.nh3n.1.max(k.nh3n.0)),
        "TP" => rng.uniform(k.tp.0, k.tp.1.max(k.tp.0)),
        "CODMn" => 0.3 * cod,
        "BOD5" => {
            if k.kind == "wwtp" {
                0.2 * cod
            } else {
                0.45 * cod
            }
        }
        _ => 10.0 * p.headwater_mg_l,
    };
    round_dec(v, 2)
}

/// Build a synthetic network (see the module docs). Deterministic: the same options give the same scenario.
/// Requests the network cannot honour are adjusted and said so in [`GeneratedScenario::notes`]: fewer than one
/// reach becomes one, more loops than N − outlets becomes N − outlets.
pub fn generate(opts: &GenerateOptions) -> GeneratedScenario {
    let mut notes = Vec::new();
    let mut rng = SplitMix64::new(opts.seed);
    let outlets = opts.outlets.clamp(1, 2);
    let mut n_total = opts.reaches;
    if let Some(t) = &opts.peer_tree {
        // the peer tree, plus a distributary for a second outlet, plus the loops
        n_total = t.links() + (outlets - 1) + opts.loops;
    }
    if n_total < outlets {
        notes.push(format!(
            "reaches = {n_total} raised to {outlets} (one per outlet at least)"
        ));
        n_total = outlets;
    }
    let mut loops = opts.loops;
    if loops > n_total - outlets {
        notes.push(format!(
            "loops = {loops} cut to {} (a network of {n_total} reaches and {outlets} outlet(s) needs {outlets} tree reach(es))",
            n_total - outlets
        ));
        loops = n_total - outlets;
    }
    let tree_links = n_total - loops; // includes the distributary when outlets = 2
    let yule_links = tree_links - (outlets - 1);
    let (len_lo, len_hi) = {
        let (a, b) = opts.link_length_m;
        let lo = a.abs().max(1.0);
        (lo, b.abs().max(lo))
    };

    // ---- the tree: link j from node j+1 down to down[j] ----
    let down: Vec<usize> = match &opts.peer_tree {
        Some(t) => t.down_nodes(),
        None => {
            let mut down = Vec::with_capacity(yule_links);
            down.push(0usize);
            let mut leaves = vec![1usize];
            while down.len() < yule_links {
                let i = rng.below(leaves.len());
                let x = leaves[i];
                let a = down.len() + 1;
                down.push(x);
                leaves[i] = a;
                if yule_links - down.len() >= 1 {
                    down.push(x);
                    leaves.push(a + 1);
                }
            }
            down
        }
    };
    let n_yule = down.len();
    let n_tree_nodes = n_yule + 1;
    // upstream links of each node (children), in link order
    let mut up_start = vec![0usize; n_tree_nodes + 1];
    for &d in &down {
        up_start[d + 1] += 1;
    }
    for i in 0..n_tree_nodes {
        up_start[i + 1] += up_start[i];
    }
    let mut up_links = vec![0usize; n_yule];
    {
        let mut fill = up_start.clone();
        for (j, &d) in down.iter().enumerate() {
            up_links[fill[d]] = j;
            fill[d] += 1;
        }
    }
    let ups = |x: usize| &up_links[up_start[x]..up_start[x + 1]];
    let is_headwater = |x: usize| x > 0 && up_start[x] == up_start[x + 1];

    // link lengths and headwater counts / Strahler orders (children have larger indices than parents)
    let lengths: Vec<f64> = (0..n_yule)
        .map(|_| round_dec(rng.uniform(len_lo, len_hi), 0).max(1.0))
        .collect();
    let mut n_head = vec![0usize; n_yule];
    let mut order = vec![0u32; n_yule];
    for j in (0..n_yule).rev() {
        let x = j + 1;
        let ch = ups(x);
        if ch.is_empty() {
            n_head[j] = 1;
            order[j] = 1;
        } else {
            n_head[j] = ch.iter().map(|&c| n_head[c]).sum();
            let mx = ch.iter().map(|&c| order[c]).max().unwrap_or(1);
            let cnt = ch.iter().filter(|&&c| order[c] == mx).count();
            order[j] = if cnt >= 2 { mx + 1 } else { mx };
        }
    }
    let max_head = n_head[0].max(2) as f64;
    let max_order = order[0];

    // ---- layout: balloon ----
    let mut xy = vec![(0.0f64, 0.0f64); n_tree_nodes];
    let mut wedge = vec![(0.0f64, std::f64::consts::PI); n_tree_nodes];
    for j in 0..n_yule {
        // node j+1 is placed after its downstream node (smaller index); its children get shares of its wedge
        let x = j + 1;
        let d = down[j];
        let (a0, a1) = wedge[x];
        let mid = 0.5 * (a0 + a1);
        let (px, py) = xy[d];
        xy[x] = (
            round_dec(px + lengths[j] * mid.cos(), 1),
            round_dec(py + lengths[j] * mid.sin(), 1),
        );
        let ch = ups(x);
        let total: usize = ch.iter().map(|&c| n_head[c]).sum();
        let mut a = a0;
        for &c in ch {
            let w = (a1 - a0) * n_head[c] as f64 / total.max(1) as f64;
            wedge[c + 1] = (a, a + w);
            a += w;
        }
    }

    // ---- nodes ----
    let mut nodes: Vec<GenNode> = (0..n_tree_nodes)
        .map(|x| GenNode {
            id: format!("N{x}"),
            kind: if x == 0 {
                GenNodeKind::Outlet
            } else if is_headwater(x) {
                GenNodeKind::Boundary
            } else {
                GenNodeKind::Junction
            },
            x_m: xy[x].0,
            y_m: xy[x].1,
            level_m: None,
        })
        .collect();

    // jurisdictions by sector around the outlet, levels by Strahler order
    let jurisdiction_of = |x: f64, y: f64| -> String {
        let ang = y.atan2(x); // 0..π for the upper half plane
        let k = ((ang.clamp(0.0, std::f64::consts::PI) / std::f64::consts::PI) * 4.0) as usize;
        ["Town A", "Town B", "Town C", "Town D"][k.min(3)].to_string()
    };
    let level_of = |o: u32| -> &'static str {
        if o >= max_order.saturating_sub(1).max(2) {
            "district"
        } else if o >= 2 {
            "town"
        } else {
            "village"
        }
    };

    // ---- outfalls (drawn before geometry: in the fixed-velocity design they add to the design flow) ----
    let mut outfalls: Vec<GenOutfall> = Vec::new();
    let frac = opts.outfall_fraction.clamp(0.0, 1.0);
    let share_total: f64 = KINDS.iter().map(|k| k.share).sum();
    for (j, &len) in lengths.iter().enumerate() {
        if frac <= 0.0 || rng.next_f64() >= frac {
            continue;
        }
        let mut u = rng.next_f64() * share_total;
        let mut kind = &KINDS[0];
        for k in &KINDS {
            kind = k;
            if u < k.share {
                break;
            }
            u -= k.share;
        }
        let at_m = round_dec(rng.uniform(0.05, 0.95) * len, 1).clamp(0.0, len);
        let flow = rng.log_uniform(kind.flow_m3s.0, kind.flow_m3s.1);
        let cod = round_dec(rng.uniform(kind.cod.0, kind.cod.1.max(kind.cod.0)), 1);
        let concentration = opts
            .pollutants
            .iter()
            .map(|p| outfall_conc(kind, p, cod, &mut rng))
            .collect();
        outfalls.push(GenOutfall {
            id: format!("P{}", outfalls.len() + 1),
            reach: j,
            at_m,
            flow_m3s: flow,
            concentration,
            kind: kind.kind,
        });
    }

    // ---- inflows ----
    let mut inflows = Vec::new();
    let mut head_q = vec![0.0f64; n_tree_nodes];
    for (x, q) in head_q.iter_mut().enumerate() {
        if is_headwater(x) {
            *q = if opts.velocity_ms.is_some() {
                opts.headwater_flow_m3s
            } else {
                opts.headwater_flow_m3s * rng.uniform(0.5, 1.5)
            };
        }
    }
    // a plain network's flows are scaled down so the outlet carries at most `max_total_flow_m3s`
    if let Some(cap) = opts.max_total_flow_m3s {
        let total: f64 =
            head_q.iter().sum::<f64>() + outfalls.iter().map(|o| o.flow_m3s).sum::<f64>();
        if total > cap && cap > 0.0 {
            let f = cap / total;
            head_q.iter_mut().for_each(|q| *q *= f);
            outfalls.iter_mut().for_each(|o| o.flow_m3s *= f);
        }
    }
    for o in outfalls.iter_mut() {
        o.flow_m3s = round_dec(o.flow_m3s, 7).max(1e-7);
    }
    for (x, q) in head_q.iter_mut().enumerate() {
        if is_headwater(x) {
            *q = round_dec(*q, 7).max(1e-7);
            inflows.push(GenInflow {
                node: x,
                flow_m3s: *q,
                concentration: opts.pollutants.iter().map(|p| p.headwater_mg_l).collect(),
            });
        }
    }

    // design flow of each link at its downstream end
    let mut q_link = vec![0.0f64; n_yule];
    for o in &outfalls {
        q_link[o.reach] += o.flow_m3s;
    }
    for j in (0..n_yule).rev() {
        q_link[j] += head_q[j + 1];
        let d = down[j];
        if d > 0 {
            let dj = d - 1;
            let add = q_link[j];
            q_link[dj] += add;
        }
    }

    // ---- geometry and bed levels ----
    let mut reaches: Vec<GenReach> = Vec::with_capacity(n_total);
    let mut ws_node = vec![0.0f64; n_tree_nodes]; // design water surface at nodes (fixed-velocity design)
    let mut bed_node = vec![0.0f64; n_tree_nodes]; // bed at nodes (plain design)
    let mut depth_link = vec![0.0f64; n_yule];
    const PLAIN_OUTLET_BED_M: f64 = -0.5;
    const PLAIN_SLOPE: f64 = 2.5e-5;
    bed_node[0] = PLAIN_OUTLET_BED_M;
    for j in 0..n_yule {
        let x = j + 1;
        let d = down[j];
        let len = lengths[j];
        let (width, side, bed_up, bed_down) = match opts.velocity_ms {
            Some(v) => {
                let v = v.abs().max(1e-6);
                let q = q_link[j].max(1e-9);
                let a = q / v;
                let y = (a / 20.0).sqrt();
                let w = 20.0 * y;
                let r = a / (w + 2.0 * y);
                let s = (v * opts.manning_n / r.powf(2.0 / 3.0)).powi(2);
                depth_link[j] = y;
                if d == 0 {
                    ws_node[0] = y;
                }
                let bed_down = ws_node[d] - y;
                let bed_up = bed_down + s * len;
                ws_node[x] = bed_up + y;
                (w, 0.0, bed_up, bed_down)
            }
            None => {
                bed_node[x] = round_dec(bed_node[d] + PLAIN_SLOPE * len, 3);
                let w = 4.0 + 24.0 * (n_head[j] as f64).ln() / max_head.ln();
                (round_dec(w, 1), 2.0, bed_node[x], bed_node[d])
            }
        };
        let (mx, my) = (0.5 * (xy[x].0 + xy[d].0), 0.5 * (xy[x].1 + xy[d].1));
        reaches.push(GenReach {
            id: format!("L{j}"),
            from: x,
            to: d,
            length_m: len,
            bottom_width_m: width,
            side_slope: side,
            bed_up_m: bed_up,
            bed_down_m: bed_down,
            zone: if order[j] >= 2 { "Z1" } else { "Z2" }.to_string(),
            jurisdiction: jurisdiction_of(mx, my),
            level: level_of(order[j]),
            is_loop: false,
        });
    }
    let outlet_level = match opts.velocity_ms {
        Some(_) => ws_node[0],
        None => opts.outlet_level_m,
    };
    nodes[0].level_m = Some(outlet_level);

    // ---- second outlet: a distributary from node 1 ----
    if outlets == 2 {
        let o2 = nodes.len();
        let len = round_dec(rng.uniform(len_lo, len_hi), 0).max(1.0);
        let ang = -std::f64::consts::PI / 6.0;
        let (x1, y1) = xy[1];
        nodes.push(GenNode {
            id: format!("N{o2}"),
            kind: GenNodeKind::Outlet,
            x_m: round_dec(x1 + len * ang.cos(), 1),
            y_m: round_dec(y1 + len * ang.sin(), 1),
            level_m: Some(outlet_level),
        });
        let r0 = reaches[0].clone();
        let j = reaches.len();
        reaches.push(GenReach {
            id: format!("L{j}"),
            from: 1,
            to: o2,
            length_m: len,
            bed_up_m: r0.bed_up_m,
            bed_down_m: r0.bed_down_m,
            is_loop: false,
            ..r0
        });
    }

    // ---- loops ----
    let mut edges: HashSet<(usize, usize)> = reaches
        .iter()
        .map(|r| (r.from.min(r.to), r.from.max(r.to)))
        .collect();
    for _ in 0..loops {
        let mut pair = None;
        for _try in 0..50 {
            if n_yule < 2 {
                break;
            }
            let u = 1 + rng.below(n_yule); // a tree node above the outlet
            // walk down 1–2 links to a common junction a, remembering the link we came up by
            let mut a = u;
            let mut came = usize::MAX;
            for _ in 0..(1 + rng.below(2)) {
                if a == 0 {
                    break;
                }
                came = a - 1;
                a = down[a - 1];
            }
            let others: Vec<usize> = ups(a).iter().copied().filter(|&c| c != came).collect();
            if others.is_empty() {
                continue;
            }
            let mut v = others[rng.below(others.len())] + 1;
            if rng.below(2) == 1 && !ups(v).is_empty() {
                let cu = ups(v);
                v = cu[rng.below(cu.len())] + 1;
            }
            let key = (u.min(v), u.max(v));
            if v != u && !edges.contains(&key) {
                pair = Some((u, v));
                break;
            }
        }
        let (u, v, parallel) = match pair {
            Some((u, v)) => (u, v, false),
            None => {
                // a parallel channel beside a random tree reach
                let j = rng.below(n_yule);
                (j + 1, down[j], true)
            }
        };
        edges.insert((u.min(v), u.max(v)));
        // orient from the higher design surface (or bed) to the lower
        let hi = |n: usize| match opts.velocity_ms {
            Some(_) => ws_node[n],
            None => bed_node[n],
        };
        let (from, to) = if hi(u) >= hi(v) { (u, v) } else { (v, u) };
        let (fx, fy) = xy[from];
        let (tx, ty) = xy[to];
        let dist = ((fx - tx).powi(2) + (fy - ty).powi(2)).sqrt();
        let len = if parallel {
            round_dec(lengths[from - 1] * 1.05, 0)
        } else {
            round_dec((1.1 * dist).max(300.0), 0)
        };
        // geometry copied from the tree link leaving the from-node
        let tmpl = reaches[from - 1].clone();
        let (bed_up, bed_down) = match opts.velocity_ms {
            Some(_) => (
                ws_node[from] - depth_link[from - 1],
                ws_node[to] - depth_link[from - 1],
            ),
            None => (bed_node[from], bed_node[to]),
        };
        let j = reaches.len();
        reaches.push(GenReach {
            id: format!("L{j}"),
            from,
            to,
            length_m: len.max(1.0),
            bed_up_m: bed_up,
            bed_down_m: bed_down,
            is_loop: true,
            ..tmpl
        });
    }

    // ---- sections ----
    let n_sections = opts
        .sections
        .unwrap_or((n_yule / 20).clamp(1, 200))
        .min(n_yule)
        .max(1);
    let mut sections = vec![GenSection {
        id: "S1".to_string(),
        reach: 0,
        at_m: round_dec((lengths[0] - 10.0).max(0.5 * lengths[0]), 1),
    }];
    let mut used = HashSet::new();
    used.insert(0usize);
    let mut tries = 0;
    while sections.len() < n_sections && tries < 20 * n_sections {
        tries += 1;
        let j = rng.below(n_yule);
        if used.insert(j) {
            sections.push(GenSection {
                id: format!("S{}", sections.len() + 1),
                reach: j,
                at_m: round_dec(0.5 * lengths[j], 1),
            });
        }
    }

    // ---- zones actually used ----
    let mut zones = Vec::new();
    if reaches.iter().any(|r| r.zone == "Z1") {
        zones.push(GenZone {
            id: "Z1".into(),
            target: "IV",
            method: "annual_mean",
        });
    }
    if reaches.iter().any(|r| r.zone == "Z2") {
        zones.push(GenZone {
            id: "Z2".into(),
            target: "III",
            method: "frequency",
        });
    }

    let title = match (&opts.peer_tree, opts.velocity_ms) {
        (Some(_), _) => format!("Peer tree from treegen.py: {n_total} links"),
        (None, Some(v)) => format!(
            "Synthetic network: {n_total} reaches, {loops} loops, seed {}, design velocity {v} m/s",
            opts.seed
        ),
        (None, None) => format!(
            "Synthetic plain network: {n_total} reaches, {loops} loops, seed {}",
            opts.seed
        ),
    };

    GeneratedScenario {
        title,
        pollutants: opts.pollutants.clone(),
        nodes,
        reaches,
        inflows,
        outfalls,
        sections,
        zones,
        settings: Settings {
            manning_n: opts.manning_n,
            dispersion_m2s: opts.dispersion_m2s,
            cell_length_m: opts.cell_length_m,
            days: opts.days.max(1),
            output_interval: opts.output_interval.clone(),
        },
        notes,
    }
}

/// `{ "COD" = 1.5, "TP" = 0.2 }` with the pollutants in order.
fn conc_table(pollutants: &[PollutantSpec], values: &[f64]) -> String {
    let mut s = String::from("{ ");
    for (k, (p, v)) in pollutants.iter().zip(values).enumerate() {
        if k > 0 {
            s.push_str(", ");
        }
        let _ = write!(s, "{} = {}", toml_key(&p.name), fmt_f(*v));
    }
    s.push_str(" }");
    s
}

/// A TOML key: bare when it can be, quoted otherwise.
fn toml_key(k: &str) -> String {
    if !k.is_empty()
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        k.to_string()
    } else {
        format!("{k:?}")
    }
}

/// A float for TOML: round-trip digits, always with a decimal point or exponent.
fn fmt_f(v: f64) -> String {
    let s = format!("{v}");
    if s.contains('.') || s.contains('e') || s.contains("inf") || s.contains("NaN") {
        s
    } else {
        format!("{s}.0")
    }
}

/// Above this many inflows and outfalls together, they are written to CSV item files.
const ITEMS_INLINE_MAX: usize = 2000;

impl GeneratedScenario {
    /// The text of `scenario.toml` (the network itself is in the two CSV files it names).
    pub fn scenario_toml(&self) -> String {
        let s = &self.settings;
        let mut t = String::with_capacity(256 * (self.outfalls.len() + self.inflows.len() + 64));
        let _ = writeln!(
            t,
            "# Generated by rivsim::generate (synthetic, not a real river)."
        );
        for n in &self.notes {
            let _ = writeln!(t, "# note: {n}");
        }
        let _ = writeln!(t, "title = {:?}\n", self.title);
        let _ = writeln!(t, "[simulation]");
        let _ = writeln!(t, "start = \"2025-01-01\"");
        let end = chrono::NaiveDate::from_ymd_opt(2025, 1, 1)
            .and_then(|d| d.checked_add_days(chrono::Days::new(u64::from(s.days))))
            .map(|d| d.format("%Y-%m-%d").to_string())
            .unwrap_or_else(|| "2025-01-11".to_string());
        let _ = writeln!(t, "end = \"{end}\"");
        let _ = writeln!(t, "output_interval = {:?}", s.output_interval);
        let names: Vec<String> = self
            .pollutants
            .iter()
            .map(|p| format!("{:?}", p.name))
            .collect();
        let _ = writeln!(t, "pollutants = [{}]", names.join(", "));
        let _ = writeln!(t, "mode = \"dynamic\"\n");
        let _ = writeln!(t, "[defaults]");
        let _ = writeln!(t, "manning_n = {}", fmt_f(s.manning_n));
        let _ = writeln!(t, "dispersion_m2s = {}", fmt_f(s.dispersion_m2s));
        let decay: Vec<f64> = self.pollutants.iter().map(|p| p.decay_per_day).collect();
        let _ = writeln!(
            t,
            "decay_per_day = {}",
            conc_table(&self.pollutants, &decay)
        );
        let _ = writeln!(t, "cell_length_m = {}\n", fmt_f(s.cell_length_m));
        let _ = writeln!(t, "[network]");
        let _ = writeln!(t, "nodes_csv = \"network/nodes.csv\"");
        if self.items_in_csv() {
            let _ = writeln!(t, "reaches_csv = \"network/reaches.csv\"");
            let _ = writeln!(t, "inflows_csv = \"network/inflows.csv\"");
            let _ = writeln!(t, "outfalls_csv = \"network/outfalls.csv\"\n");
        } else {
            let _ = writeln!(t, "reaches_csv = \"network/reaches.csv\"\n");
        }
        for z in &self.zones {
            let _ = writeln!(
                t,
                "[[zones]]\nid = {:?}\ntarget = {:?}\nmethod = {:?}",
                z.id, z.target, z.method
            );
            if z.method == "frequency" {
                let _ = writeln!(t, "threshold = 0.8");
            }
            t.push('\n');
        }
        for sec in &self.sections {
            let _ = writeln!(
                t,
                "[[sections]]\nid = {:?}\nreach = {:?}\nat_m = {}\n",
                sec.id,
                self.reaches[sec.reach].id,
                fmt_f(sec.at_m)
            );
        }
        if self.items_in_csv() {
            return t;
        }
        for i in &self.inflows {
            let _ = writeln!(
                t,
                "[[inflows]]\nnode = {:?}\nflow_m3s = {}\nconcentration = {}\ngroup = \"headwaters\"\n",
                self.nodes[i.node].id,
                fmt_f(i.flow_m3s),
                conc_table(&self.pollutants, &i.concentration)
            );
        }
        for o in &self.outfalls {
            let _ = writeln!(
                t,
                "[[outfalls]]\nid = {:?}\nreach = {:?}\nat_m = {}\nflow_m3s = {}\nconcentration = {}\nkind = {:?}\n",
                o.id,
                self.reaches[o.reach].id,
                fmt_f(o.at_m),
                fmt_f(o.flow_m3s),
                conc_table(&self.pollutants, &o.concentration),
                o.kind
            );
        }
        t
    }

    /// The text of `network/nodes.csv`: `id,kind,x,y,level_m`.
    pub fn nodes_csv(&self) -> String {
        let mut t = String::with_capacity(48 * (self.nodes.len() + 1));
        t.push_str("id,kind,x,y,level_m\n");
        for n in &self.nodes {
            let lvl = n.level_m.map(|v| format!("{v}")).unwrap_or_default();
            let _ = writeln!(t, "{},{},{},{},{}", n.id, n.kind.name(), n.x_m, n.y_m, lvl);
        }
        t
    }

    /// `true` when the inflows and outfalls are many enough to go to `network/inflows.csv` and
    /// `network/outfalls.csv` (the loader's item-file extension) instead of inline TOML: parsing tens of
    /// thousands of inline tables costs more than reading the same rows from CSV.
    pub fn items_in_csv(&self) -> bool {
        self.inflows.len() + self.outfalls.len() > ITEMS_INLINE_MAX
    }

    /// The text of `network/inflows.csv`: `node,flow_m3s,concentration.<P>…,group`.
    pub fn inflows_csv(&self) -> String {
        let mut t = String::with_capacity(64 * (self.inflows.len() + 1));
        t.push_str("node,flow_m3s");
        for p in &self.pollutants {
            let _ = write!(t, ",concentration.{}", p.name);
        }
        t.push_str(",group\n");
        for i in &self.inflows {
            let _ = write!(t, "{},{}", self.nodes[i.node].id, fmt_f(i.flow_m3s));
            for v in &i.concentration {
                let _ = write!(t, ",{}", fmt_f(*v));
            }
            t.push_str(",headwaters\n");
        }
        t
    }

    /// The text of `network/outfalls.csv`: `id,reach,at_m,flow_m3s,concentration.<P>…,kind`.
    pub fn outfalls_csv(&self) -> String {
        let mut t = String::with_capacity(96 * (self.outfalls.len() + 1));
        t.push_str("id,reach,at_m,flow_m3s");
        for p in &self.pollutants {
            let _ = write!(t, ",concentration.{}", p.name);
        }
        t.push_str(",kind\n");
        for o in &self.outfalls {
            let _ = write!(
                t,
                "{},{},{},{}",
                o.id,
                self.reaches[o.reach].id,
                fmt_f(o.at_m),
                fmt_f(o.flow_m3s)
            );
            for v in &o.concentration {
                let _ = write!(t, ",{}", fmt_f(*v));
            }
            let _ = writeln!(t, ",{}", o.kind);
        }
        t
    }

    /// The text of `network/reaches.csv`: `id,from,to,length_m,section.shape,section.bottom_width_m,
    /// section.side_slope,bed_up_m,bed_down_m,zone,jurisdiction,level`.
    pub fn reaches_csv(&self) -> String {
        let mut t = String::with_capacity(120 * (self.reaches.len() + 1));
        t.push_str("id,from,to,length_m,section.shape,section.bottom_width_m,section.side_slope,bed_up_m,bed_down_m,zone,jurisdiction,level\n");
        for r in &self.reaches {
            let _ = writeln!(
                t,
                "{},{},{},{},trapezoid,{},{},{},{},{},{},{}",
                r.id,
                self.nodes[r.from].id,
                self.nodes[r.to].id,
                r.length_m,
                r.bottom_width_m,
                r.side_slope,
                r.bed_up_m,
                r.bed_down_m,
                r.zone,
                r.jurisdiction,
                r.level
            );
        }
        t
    }

    /// Write `dir/scenario.toml`, `dir/network/nodes.csv` and `dir/network/reaches.csv` (creating the
    /// folders). Returns the path of `scenario.toml`.
    pub fn write(&self, dir: &Path) -> Result<PathBuf, GenerateError> {
        let net = dir.join("network");
        std::fs::create_dir_all(&net).map_err(|e| GenerateError::Io {
            path: net.clone(),
            source: e,
        })?;
        let put = |path: PathBuf, text: String| -> Result<(), GenerateError> {
            let io_err = |e| GenerateError::Io {
                path: path.clone(),
                source: e,
            };
            let f = std::fs::File::create(&path).map_err(io_err)?;
            let mut w = BufWriter::new(f);
            w.write_all(text.as_bytes()).map_err(io_err)?;
            w.flush().map_err(io_err)
        };
        put(net.join("nodes.csv"), self.nodes_csv())?;
        put(net.join("reaches.csv"), self.reaches_csv())?;
        if self.items_in_csv() {
            put(net.join("inflows.csv"), self.inflows_csv())?;
            put(net.join("outfalls.csv"), self.outfalls_csv())?;
        }
        let toml = dir.join("scenario.toml");
        put(toml.clone(), self.scenario_toml())?;
        Ok(toml)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// SplitMix64's first five outputs for seed 1234567, as computed by an independent Python transcription
    /// of Vigna's reference `splitmix64.c` (arbitrary-precision integers masked to 64 bits). Exact: integer
    /// arithmetic.
    #[test]
    fn splitmix64_matches_reference() {
        let mut r = SplitMix64::new(1234567);
        let want: [u64; 5] = [
            6457827717110365317,
            3203168211198807973,
            9817491932198370423,
            4593380528125082431,
            16408922859458223821,
        ];
        for w in want {
            assert_eq!(r.next_u64(), w);
        }
    }

    /// The fixed-velocity design: A = Q/V and Manning's V = R^(2/3)·S^(1/2)/n hold for every link of a
    /// peer tree. Hand check for the outlet of a 3-link tree (two headwaters, Q = 0.2): A = 0.2/0.3 = 0.6667,
    /// y = sqrt(A/20) = 0.18257, w = 3.6515, R = A/(w + 2y) = 0.16598; relative 1e-12 (round-off only).
    #[test]
    fn velocity_design_meets_manning() {
        let g = generate(&GenerateOptions::peer(3, 7));
        let r0 = &g.reaches[0];
        let y = (0.2f64 / 0.3 / 20.0).sqrt();
        assert!((r0.bottom_width_m - 20.0 * y).abs() < 1e-12 * 20.0 * y);
        let a = 0.2 / 0.3;
        let r = a / (20.0 * y + 2.0 * y);
        let s = (r0.bed_up_m - r0.bed_down_m) / r0.length_m;
        let v = r.powf(2.0 / 3.0) * s.sqrt() / 0.03;
        assert!((v - 0.3).abs() < 1e-9, "v = {v}");
        // the outlet holds the normal-depth level of its link
        assert!((g.nodes[0].level_m.unwrap() - (r0.bed_down_m + y)).abs() < 1e-12);
    }
}
