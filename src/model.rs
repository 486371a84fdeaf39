//! The validated model: what the user described, typed, checked and indexed.
//!
//! `scenario` turns an untrusted TOML/CSV/GeoJSON file set into a [`Model`]; every later stage reads a
//! `Model` and never the raw file. Everything here is in SI units (metres, seconds, m³/s) except
//! concentrations, which stay in mg/L (= g/m³, so `flow_m3s × conc_mg_l` is g/s), decay rates, kept in 1/day
//! as the user wrote them, and loads in kg/day. Times are seconds since the scenario start.
//!
//! Items refer to each other by index (`usize` into the owning `Vec`), never by id string; the id strings are
//! kept for reports and error messages.

mod capacity;
mod projects;

pub use capacity::{CapacitySettings, DESIGN_FLOW_VALID, DesignFlow, reducible_groups};
pub use projects::{
    Alternative, At, Construction, Plant, Project, ProjectKind, Sewer, SewerDestination,
};

use chrono::NaiveDateTime;
use std::path::PathBuf;

/// A quantity that may vary in time: a constant, or a table of (time, value) pairs.
#[derive(Debug, Clone, PartialEq)]
pub enum Series {
    /// The same value at every time.
    Const(f64),
    /// Values at sorted, distinct times (seconds since start). Before the first time the first value holds,
    /// after the last the last value.
    Table {
        /// Seconds since the scenario start, strictly increasing.
        times_s: Vec<f64>,
        /// One value per time.
        values: Vec<f64>,
        /// `true`: linear between the points; `false`: each value holds until the next time (a step).
        linear: bool,
    },
}

impl Series {
    /// A time up to which (exclusive) [`Series::at`] keeps the value it has at `t_s`: +∞ for a constant, the
    /// next time of a step table (+∞ after its last), `t_s` itself inside a linear table (no holding).
    pub fn held_until(&self, t_s: f64) -> f64 {
        match self {
            Series::Const(_) => f64::INFINITY,
            Series::Table {
                times_s, linear, ..
            } => {
                let k = times_s.partition_point(|&t| t <= t_s);
                match times_s.get(k) {
                    None => f64::INFINITY,
                    Some(&next) if !*linear || k == 0 => next,
                    Some(_) => t_s,
                }
            }
        }
    }

    /// The value at time `t_s` (seconds since start).
    pub fn at(&self, t_s: f64) -> f64 {
        match self {
            Series::Const(v) => *v,
            Series::Table { times_s, .. } => {
                // index of the first time > t_s (0: before the table, len: after it)
                self.at_index(times_s.partition_point(|&t| t <= t_s), t_s)
            }
        }
    }

    /// The value of a table at `t_s`, given `k`, the number of its times at or before `t_s` (a constant is
    /// its value).
    fn at_index(&self, k: usize, t_s: f64) -> f64 {
        match self {
            Series::Const(v) => *v,
            Series::Table {
                times_s, values, ..
            } if times_s.is_empty() || k == 0 => values.first().copied().unwrap_or(0.0),
            Series::Table {
                times_s, values, ..
            } if k >= times_s.len() => values[values.len() - 1],
            Series::Table {
                times_s,
                values,
                linear: true,
            } => {
                let (t0, t1) = (times_s[k - 1], times_s[k]);
                let (v0, v1) = (values[k - 1], values[k]);
                v0 + (v1 - v0) * (t_s - t0) / (t1 - t0)
            }
            Series::Table { values, .. } => values[k - 1],
        }
    }

    /// The mean value over `[t0_s, t1_s]` (exact for steps and linear pieces). For `t1_s <= t0_s` the value
    /// at `t0_s`.
    ///
    /// Cost: two binary searches plus one term per breakpoint inside the interval, O(log n + k), so the means
    /// of a run's consecutive periods together cost O(P·log n + n) for a series of n rows, however long.
    pub fn mean(&self, t0_s: f64, t1_s: f64) -> f64 {
        match self {
            Series::Const(v) => *v,
            Series::Table { times_s, .. } => {
                if t1_s <= t0_s {
                    return self.at(t0_s);
                }
                // the breakpoints strictly inside (t0, t1) are times_s[lo..hi]
                let lo = times_s.partition_point(|&t| t <= t0_s);
                let hi = lo + times_s[lo..].partition_point(|&t| t < t1_s);
                let mut integral = 0.0;
                let mut a = t0_s;
                // piece (a, b) with `k` times at or before its midpoint: the series is constant (step) or
                // linear on it, so the midpoint value times the width is its exact integral
                let ends = times_s[lo..hi].iter().chain(std::iter::once(&t1_s));
                for (k, &b) in (lo..).zip(ends) {
                    let mid = 0.5 * (a + b);
                    // (a midpoint rounded onto the next breakpoint counts it, as `at` would)
                    let k_mid = k + usize::from(times_s.get(k).is_some_and(|&t| t <= mid));
                    integral += self.at_index(k_mid, mid) * (b - a);
                    a = b;
                }
                integral / (t1_s - t0_s)
            }
        }
    }

    /// Breakpoint times (empty for a constant).
    pub fn breakpoints(&self) -> &[f64] {
        match self {
            Series::Const(_) => &[],
            Series::Table { times_s, .. } => times_s,
        }
    }

    /// `true` if this series is a constant.
    pub fn is_const(&self) -> bool {
        matches!(self, Series::Const(_))
    }
}

/// How the run is computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Time-stepping over the period.
    Dynamic,
    /// The steady state of each flow period.
    Steady,
}

/// The initial concentration field.
#[derive(Debug, Clone, PartialEq)]
pub enum InitialState {
    /// The steady state of the first period's flows and loads (default).
    Steady,
    /// Zero everywhere.
    Zero,
    /// One value per pollutant (mg/L), everywhere.
    Values(Vec<f64>),
}

/// Run settings from `[simulation]`.
#[derive(Debug, Clone)]
pub struct Simulation {
    /// The scenario start (time zero).
    pub start: NaiveDateTime,
    /// The last simulated instant, seconds since start (> 0).
    pub end_s: f64,
    /// A fixed time step, if the user gave one (seconds).
    pub time_step_s: Option<f64>,
    /// Output interval (seconds).
    pub output_interval_s: f64,
    /// Warm-up excluded from statistics (seconds).
    pub warmup_s: f64,
    /// Dynamic or steady.
    pub mode: Mode,
    /// How the flows are computed (`hydraulics`, `hydraulic_step`, `theta`).
    pub hydraulics: FlowModel,
    /// Most transport steps a dynamic run may take (sub-steps included), checked before its first step
    /// (default [`MAX_TRANSPORT_STEPS`]; `f64::INFINITY` with `--force`).
    pub max_steps: f64,
}

/// How flows are computed (`[simulation] hydraulics`, DESIGN.md §9).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum FlowModel {
    /// One steady field per flow period (the default).
    Steady,
    /// 1-D Saint-Venant on the whole network, stepped in time.
    Unsteady {
        /// Hydraulic time step, s (`hydraulic_step`, default 5 min).
        step_s: f64,
        /// Preissmann weight θ, 0.5 < θ ≤ 1 (`theta`, default 0.65).
        theta: f64,
    },
}

/// The default limit on a dynamic run's transport steps: 10⁷, a year in 3-second steps, an hour or more of
/// computing on a network of a few thousand cells. A run that needs more almost always has a mistake in it
/// (a flow in litres typed as m³/s, a cell of centimetres, a dispersion of 10⁶ m²/s); `--force` runs it.
pub const MAX_TRANSPORT_STEPS: f64 = 1e7;

/// What a node is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeKind {
    /// A confluence or bifurcation; may hold a level.
    Junction,
    /// An upstream boundary where water enters (with an `[[inflows]]` entry).
    Boundary,
    /// Where water leaves the network (to a tidal river or the sea); a held level or a normal-depth outfall.
    Outlet,
    /// A pond: a completely mixed volume.
    Storage,
}

/// A network node.
#[derive(Debug, Clone)]
pub struct Node {
    /// User id.
    pub id: String,
    /// Kind.
    pub kind: NodeKind,
    /// Map coordinates (metres, any projected system), if given.
    pub xy: Option<(f64, f64)>,
    /// A held water level (m), constant or in time.
    pub level_m: Option<Series>,
    /// Invert (bed) level at the node, m, if given.
    pub bed_m: Option<f64>,
    /// Outlet only: the quality of water entering when flow reverses, one per pollutant (mg/L).
    pub concentration: Vec<Series>,
    /// Storage only: surface area (m²).
    pub area_m2: Option<f64>,
}

/// Cross-section shape.
#[derive(Debug, Clone, PartialEq)]
pub enum Section {
    /// Vertical walls.
    Rectangle {
        /// Width, m.
        width_m: f64,
    },
    /// Flat bottom, sloped banks (horizontal : vertical = `side_slope` : 1).
    Trapezoid {
        /// Bottom width, m.
        bottom_width_m: f64,
        /// Horizontal run per unit rise of each bank.
        side_slope: f64,
    },
    /// A tabulated section: top width at increasing depths above the bed (piecewise linear); above the last
    /// depth the walls are vertical.
    Table {
        /// Depths above the bed, m, strictly increasing, starting at 0.
        depth_m: Vec<f64>,
        /// Top width at each depth, m, non-decreasing and positive.
        width_m: Vec<f64>,
    },
}

/// Water body, for the GB 3838 limits that differ (TP, TN).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaterBody {
    /// River or canal.
    River,
    /// Lake or reservoir.
    Lake,
}

/// River-chief level.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChiefLevel {
    /// District.
    District,
    /// Town.
    Town,
    /// Village.
    Village,
}

/// A channel between two nodes.
#[derive(Debug, Clone)]
pub struct Reach {
    /// User id.
    pub id: String,
    /// Nominal upstream node (index into `Model::nodes`).
    pub from: usize,
    /// Nominal downstream node.
    pub to: usize,
    /// Length, m.
    pub length_m: f64,
    /// Cross-section.
    pub section: Section,
    /// Bed level at the `from` end, m.
    pub bed_up_m: f64,
    /// Bed level at the `to` end, m.
    pub bed_down_m: f64,
    /// Manning roughness, s/m^(1/3).
    pub manning_n: f64,
    /// Longitudinal dispersion, m²/s.
    pub dispersion_m2s: f64,
    /// First-order decay per pollutant, 1/day (at 20 °C).
    pub decay_per_day: Vec<f64>,
    /// Internal release over the bed area per pollutant, g/m²/day.
    pub release_g_m2_day: Vec<f64>,
    /// Target cell length, m.
    pub cell_length_m: f64,
    /// River or lake.
    pub water_body: WaterBody,
    /// Water-function zone (index into `Model::zones`).
    pub zone: Option<usize>,
    /// Jurisdiction name.
    pub jurisdiction: Option<String>,
    /// River-chief level.
    pub level: Option<ChiefLevel>,
    /// River name (for profiles and reports), if given.
    pub river: Option<String>,
    /// Geometry from GeoJSON (x, y), if given.
    pub geometry: Vec<(f64, f64)>,
}

/// Water entering at a node.
#[derive(Debug, Clone)]
pub struct Inflow {
    /// Node index.
    pub node: usize,
    /// Flow, m³/s.
    pub flow_m3s: Series,
    /// Concentration per pollutant, mg/L.
    pub concentration: Vec<Series>,
    /// Source group for apportionment.
    pub group: String,
}

/// Where water is taken out.
#[derive(Debug, Clone, PartialEq)]
pub enum Place {
    /// At a node.
    Node(usize),
    /// Along a reach, `at_m` from its `from` node.
    Reach {
        /// Reach index.
        reach: usize,
        /// Distance from the from-node, m.
        at_m: f64,
    },
}

/// Water taken out.
#[derive(Debug, Clone)]
pub struct Withdrawal {
    /// Where.
    pub place: Place,
    /// Flow taken, m³/s (positive).
    pub flow_m3s: Series,
}

/// Kind of point discharge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutfallKind {
    /// Domestic sewage.
    Sewage,
    /// Industrial effluent.
    Industrial,
    /// A rain outlet that discharges in dry weather (wrong connections).
    RainDryWeather,
    /// Rural (village) domestic sewage.
    Rural,
    /// Wastewater plant effluent.
    Wwtp,
    /// Sewer overflow.
    Overflow,
}

impl OutfallKind {
    /// The file spelling.
    pub fn name(self) -> &'static str {
        match self {
            OutfallKind::Sewage => "sewage",
            OutfallKind::Industrial => "industrial",
            OutfallKind::RainDryWeather => "rain_dry_weather",
            OutfallKind::Rural => "rural",
            OutfallKind::Wwtp => "wwtp",
            OutfallKind::Overflow => "overflow",
        }
    }
}

/// What an outfall discharges.
#[derive(Debug, Clone)]
pub enum Discharge {
    /// Water with a concentration: adds water and mass.
    Flow {
        /// m³/s.
        flow_m3s: Series,
        /// mg/L per pollutant.
        concentration: Vec<Series>,
    },
    /// Mass only, no water: kg/day per pollutant.
    Load {
        /// kg/day per pollutant.
        kg_per_day: Vec<Series>,
    },
}

impl Discharge {
    /// The per-pollutant series that carry the mass: the concentrations (mg/L) of a flow, the loads
    /// (kg/day) of a mass-only discharge.
    pub fn mass_series(&self) -> &Vec<Series> {
        match self {
            Discharge::Flow { concentration, .. } => concentration,
            Discharge::Load { kg_per_day } => kg_per_day,
        }
    }

    /// [`Discharge::mass_series`], mutable.
    pub fn mass_series_mut(&mut self) -> &mut Vec<Series> {
        match self {
            Discharge::Flow { concentration, .. } => concentration,
            Discharge::Load { kg_per_day } => kg_per_day,
        }
    }
}

/// A point discharge along a reach.
#[derive(Debug, Clone)]
pub struct Outfall {
    /// User id.
    pub id: String,
    /// Reach index.
    pub reach: usize,
    /// Distance from the reach's from-node, m (0 ≤ at_m ≤ length).
    pub at_m: f64,
    /// What it discharges.
    pub discharge: Discharge,
    /// Kind.
    pub kind: OutfallKind,
    /// Source group.
    pub group: String,
}

/// A load spread evenly along a stretch of a reach (mass only), kg/day per pollutant in total.
#[derive(Debug, Clone)]
pub struct LineLoad {
    /// User id.
    pub id: String,
    /// Reach index.
    pub reach: usize,
    /// Start of the stretch, m from the from-node.
    pub from_m: f64,
    /// End of the stretch, m from the from-node.
    pub to_m: f64,
    /// kg/day per pollutant over the whole stretch.
    pub kg_per_day: Vec<Series>,
    /// Source group.
    pub group: String,
}

/// Compliance method for a zone (file spellings `annual_mean`, `frequency`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ComplianceMethod {
    /// Period mean against the target.
    AnnualMean,
    /// Share of samples meeting the target ≥ threshold.
    Frequency,
}

/// Which output times are a zone's samples (file key `sampling`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Sampling {
    /// Every output time after the warm-up (`sampling = "outputs"`, the default).
    #[default]
    Outputs,
    /// One sample per calendar month, on day `Zone::sampling_day` (`sampling = "monthly"`), as monitoring
    /// practice does.
    Monthly,
}

/// The period zones, sections and kilometres per class are judged over (`[assessment] period`, DESIGN.md §11).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AssessmentPeriod {
    /// The whole run after the warm-up (`"run"`, the default).
    #[default]
    Run,
    /// Each calendar year on its own (`"year"`): a year with only part of the run in it is judged on the samples
    /// it has.
    Year,
}

/// A water-function zone.
#[derive(Debug, Clone)]
pub struct Zone {
    /// User id.
    pub id: String,
    /// Target class, 1 (I) … 5 (V).
    pub target: u8,
    /// Assessed parameters (pollutant indices); empty = the defaults for the water body.
    pub parameters: Vec<usize>,
    /// Method.
    pub method: ComplianceMethod,
    /// Frequency threshold in (0, 1].
    pub threshold: f64,
    /// Sections named by the zone (indices); empty = the sections on its reaches.
    pub sections: Vec<usize>,
    /// Which output times are samples (default [`Sampling::Outputs`]).
    pub sampling: Sampling,
    /// Day of the month of the monthly sample, 1–31 (default 15; clamped to the month's last day).
    pub sampling_day: u32,
}

/// An assessment / monitoring section.
#[derive(Debug, Clone)]
pub struct SectionPoint {
    /// User id.
    pub id: String,
    /// Reach index.
    pub reach: usize,
    /// Distance from the reach's from-node, m.
    pub at_m: f64,
}

/// Temperature correction of decay: k(T) = k20 · θ^(T−20).
#[derive(Debug, Clone)]
pub struct Temperature {
    /// Water temperature, °C.
    pub water_c: Series,
    /// θ per pollutant (1.0 = no correction).
    pub theta: Vec<f64>,
}

/// The whole validated scenario.
#[derive(Debug, Clone)]
pub struct Model {
    /// Title.
    pub title: String,
    /// The scenario file this came from.
    pub path: PathBuf,
    /// Run settings.
    pub sim: Simulation,
    /// Pollutant names; a pollutant index is a position here.
    pub pollutants: Vec<String>,
    /// Initial state.
    pub initial: InitialState,
    /// Nodes.
    pub nodes: Vec<Node>,
    /// Reaches.
    pub reaches: Vec<Reach>,
    /// Boundary inflows and diversions.
    pub inflows: Vec<Inflow>,
    /// Withdrawals.
    pub withdrawals: Vec<Withdrawal>,
    /// Point discharges.
    pub outfalls: Vec<Outfall>,
    /// Distributed loads.
    pub line_loads: Vec<LineLoad>,
    /// Water-function zones.
    pub zones: Vec<Zone>,
    /// Sections.
    pub sections: Vec<SectionPoint>,
    /// Optional temperature correction of decay.
    pub temperature: Option<Temperature>,
    /// The unit of every project's `cost` (top-level `cost_unit`), if given.
    pub cost_unit: Option<String>,
    /// Sewers that intercepted outfalls feed (`[[sewers]]`, DESIGN.md §8).
    pub sewers: Vec<Sewer>,
    /// Wastewater plants (`[[plants]]`).
    pub plants: Vec<Plant>,
    /// Projects (`[[projects]]`), in file order; `projects::apply` turns a selection of them into
    /// time-varying loads.
    pub projects: Vec<Project>,
    /// Alternatives (`[[alternatives]]`).
    pub alternatives: Vec<Alternative>,
    /// Changes of reach decay rates in time (a dredging project's `decay_per_day`), sorted by time; empty
    /// when the rates are constant.
    pub decay_changes: Vec<DecayChange>,
    /// The assessment period (`[assessment] period`).
    pub assessment_period: AssessmentPeriod,
    /// The language of report.html, the console summary and plot titles (`[report] language`; the command
    /// line's `--lang` overrides it).
    pub language: crate::lang::Lang,
    /// The coordinate reference system of the coordinates (`[report] crs`, e.g. `EPSG:4547`), for GIS layers.
    pub crs: Option<String>,
    /// Sluices, weirs and pumps (`[[structures]]`), links between two nodes (unsteady hydraulics).
    pub structures: Vec<Structure>,
    /// Unsteady hydraulics: still water at this level everywhere at the start (`[initial] level_m`), m;
    /// `None`: the steady solution of the inputs at the start.
    pub initial_level_m: Option<f64>,
    /// `[capacity]`: the design-flow rule and reduction costs of `rivsim capacity` (DESIGN.md §11).
    pub capacity: CapacitySettings,
}

/// A sluice, weir or pump: a link of zero length between two nodes (DESIGN.md §9). Positive flow runs from
/// `from` to `to`.
#[derive(Debug, Clone)]
pub struct Structure {
    /// User id.
    pub id: String,
    /// Node index of the `from` side.
    pub from: usize,
    /// Node index of the `to` side.
    pub to: usize,
    /// The node whose level a rule reads as the `from` level (`rule.node`; default `from`): a gauge away
    /// from the structure, as operators read the water they control rather than the drawdown at the gate.
    pub control_node: usize,
    /// What it is, with its dimensions.
    pub kind: StructureKind,
    /// How it is operated.
    pub operation: Operation,
}

/// A structure's kind and dimensions.
#[derive(Debug, Clone, PartialEq)]
pub enum StructureKind {
    /// A gated sluice: orifice flow under the gate, weir flow over the sill when the gate is clear.
    Sluice {
        /// Sill level, m.
        sill_m: f64,
        /// Clear width, m.
        width_m: f64,
        /// Gate opening above the sill when open, m; `None`: lifted clear of the water (weir flow).
        opening_m: Option<f64>,
        /// A flap (tide) gate: flow only from `from` to `to`.
        one_way: bool,
        /// Orifice discharge coefficient μ (default 0.6).
        discharge_coefficient: f64,
        /// Weir coefficient C of flow over the sill with the gate clear (default 0.385).
        weir_coefficient: f64,
    },
    /// A fixed-crest weir.
    Weir {
        /// Crest level, m.
        sill_m: f64,
        /// Crest width, m.
        width_m: f64,
        /// Flow only from `from` to `to`.
        one_way: bool,
        /// Weir coefficient C (default 0.385).
        discharge_coefficient: f64,
    },
    /// A pump lifting water from `from` to `to`.
    Pump {
        /// Rate while running, m³/s.
        capacity_m3s: f64,
    },
}

/// How a structure is operated (at most one of a schedule and a rule).
#[derive(Debug, Clone, PartialEq)]
pub enum Operation {
    /// No operation: a sluice or weir always open, a pump always off.
    Fixed,
    /// A sluice's gate opening in time, m (0 = shut; `schedule` column `opening_m`).
    Opening(Series),
    /// A pump's state in time, 1 = on, 0 = off (`schedule` column `on`).
    Running(Series),
    /// A sluice draining the `from` side: opens when the `from` level is above `open_above_m` and above the
    /// `to` level by more than `margin_m`; shuts when the `from` level falls below `close_below_m` or the `to`
    /// level comes within `margin_m` of it.
    Drain {
        /// m.
        open_above_m: f64,
        /// m.
        close_below_m: f64,
        /// m.
        margin_m: f64,
    },
    /// A sluice letting water in from the `to` side (flushing): open while the `to` level exceeds the `from`
    /// level by more than `margin_m` and the `from` level is below `intake_below_m`.
    Flush {
        /// m.
        intake_below_m: f64,
        /// m.
        margin_m: f64,
    },
    /// A pump: starts when the `from` level rises above `on_above_m`, stops when it falls below
    /// `off_below_m`.
    Pumping {
        /// m.
        on_above_m: f64,
        /// m.
        off_below_m: f64,
    },
}

/// From `t_s` on, reach `reach` decays at `decay_per_day` (one rate per pollutant, 1/day at 20 °C).
#[derive(Debug, Clone, PartialEq)]
pub struct DecayChange {
    /// Reach index.
    pub reach: usize,
    /// Seconds since start.
    pub t_s: f64,
    /// The new rates, 1/day, per pollutant.
    pub decay_per_day: Vec<f64>,
}

impl Default for Model {
    /// A model with no items, for models built in code (tests, benches): one day from 1970-01-01 with hourly
    /// output, dynamic, no pollutants. The scenario loader never uses it: it sets every field itself.
    fn default() -> Model {
        Model {
            title: String::new(),
            path: PathBuf::new(),
            sim: Simulation {
                start: chrono::DateTime::UNIX_EPOCH.naive_utc(),
                end_s: 86_400.0,
                time_step_s: None,
                max_steps: MAX_TRANSPORT_STEPS,
                output_interval_s: 3_600.0,
                warmup_s: 0.0,
                mode: Mode::Dynamic,
                hydraulics: FlowModel::Steady,
            },
            pollutants: Vec::new(),
            initial: InitialState::Zero,
            nodes: Vec::new(),
            reaches: Vec::new(),
            inflows: Vec::new(),
            withdrawals: Vec::new(),
            outfalls: Vec::new(),
            line_loads: Vec::new(),
            zones: Vec::new(),
            sections: Vec::new(),
            temperature: None,
            cost_unit: None,
            sewers: Vec::new(),
            plants: Vec::new(),
            projects: Vec::new(),
            alternatives: Vec::new(),
            decay_changes: Vec::new(),
            assessment_period: AssessmentPeriod::Run,
            language: crate::lang::Lang::En,
            crs: None,
            structures: Vec::new(),
            initial_level_m: None,
            capacity: CapacitySettings::default(),
        }
    }
}

impl Model {
    /// Decay rate of pollutant `p` in reach `r` in force at `t_s`, 1/day at 20 °C: the reach's own, or the
    /// last of its `decay_changes` at or before `t_s`.
    pub fn decay_per_day_at(&self, r: usize, p: usize, t_s: f64) -> f64 {
        let base = self.reaches[r].decay_per_day.get(p).copied().unwrap_or(0.0);
        self.decay_changes
            .iter()
            .rev()
            .find(|c| c.reach == r && c.t_s <= t_s)
            .map_or(base, |c| c.decay_per_day.get(p).copied().unwrap_or(0.0))
    }

    /// Index of a pollutant by name.
    pub fn pollutant(&self, name: &str) -> Option<usize> {
        self.pollutants.iter().position(|p| p == name)
    }

    /// The start of every flow period in `[0, end_s)`, seconds since start, sorted: 0 and every breakpoint of
    /// a flow or level series inside the run. Loads given as concentrations ride on these flows.
    pub fn flow_period_starts(&self) -> Vec<f64> {
        let mut t: Vec<f64> = vec![0.0];
        let mut add = |s: &Series| {
            t.extend(
                s.breakpoints()
                    .iter()
                    .copied()
                    .filter(|&x| x > 0.0 && x < self.sim.end_s),
            )
        };
        for i in &self.inflows {
            add(&i.flow_m3s);
        }
        for w in &self.withdrawals {
            add(&w.flow_m3s);
        }
        for o in &self.outfalls {
            if let Discharge::Flow { flow_m3s, .. } = &o.discharge {
                add(flow_m3s);
            }
        }
        for n in &self.nodes {
            if let Some(l) = &n.level_m {
                add(l);
            }
        }
        t.sort_by(f64::total_cmp);
        t.dedup();
        t
    }
}

#[cfg(test)]
mod tests {
    use super::Series;

    /// `held_until` never claims a value holds past a point where `at` changes: checked against `at` on a
    /// fine grid for a step and a linear table, and its values by hand.
    #[test]
    fn held_until_agrees_with_at() {
        let step = Series::Table {
            times_s: vec![10.0, 20.0, 30.0],
            values: vec![1.0, 2.0, 3.0],
            linear: false,
        };
        assert_eq!(step.held_until(5.0), 10.0);
        assert_eq!(step.held_until(10.0), 20.0);
        assert_eq!(step.held_until(29.9), 30.0);
        assert_eq!(step.held_until(30.0), f64::INFINITY);
        let lin = Series::Table {
            times_s: vec![10.0, 20.0],
            values: vec![1.0, 3.0],
            linear: true,
        };
        assert_eq!(lin.held_until(5.0), 10.0);
        assert_eq!(lin.held_until(15.0), 15.0);
        assert_eq!(lin.held_until(20.0), f64::INFINITY);
        assert_eq!(Series::Const(4.0).held_until(1e9), f64::INFINITY);
        for s in [&step, &lin] {
            for i in 0..400 {
                let t = i as f64 * 0.1;
                let until = s.held_until(t);
                let mut u = t;
                while u < until.min(40.0) {
                    assert_eq!(s.at(u), s.at(t), "t {t} u {u}");
                    u += 0.05;
                }
            }
        }
    }

    /// The mean by definition: the midpoint value of every piece between the interval's ends and each
    /// breakpoint inside it, times the piece's width, found by scanning the whole table (the reference the
    /// fast `mean` must equal bit for bit).
    fn mean_by_scan(s: &Series, t0: f64, t1: f64) -> f64 {
        if t1 <= t0 {
            return s.at(t0);
        }
        let mut pts = vec![t0];
        pts.extend(
            s.breakpoints()
                .iter()
                .copied()
                .filter(|&t| t > t0 && t < t1),
        );
        pts.push(t1);
        let integral: f64 = pts
            .windows(2)
            .map(|w| s.at(0.5 * (w[0] + w[1])) * (w[1] - w[0]))
            .sum();
        integral / (t1 - t0)
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]
        /// `mean` equals the whole-table scan bit for bit, for steps and linear tables, intervals inside,
        /// across, before and after the table, empty and reversed intervals.
        #[test]
        fn mean_equals_the_scan(
            gaps in proptest::collection::vec(0.001f64..100.0, 1..40),
            values in proptest::collection::vec(-5.0f64..5.0, 40),
            linear in proptest::bool::ANY,
            t0 in -50.0f64..2500.0,
            width in -10.0f64..2500.0,
        ) {
            let mut t = 0.0;
            let times_s: Vec<f64> = gaps.iter().map(|g| { t += g; t }).collect();
            let n = times_s.len();
            let s = Series::Table { times_s, values: values[..n].to_vec(), linear };
            let t1 = t0 + width;
            proptest::prop_assert_eq!(s.mean(t0, t1).to_bits(), mean_by_scan(&s, t0, t1).to_bits());
            // on breakpoints exactly
            let (a, b) = (s.breakpoints()[0], s.breakpoints()[n - 1]);
            proptest::prop_assert_eq!(s.mean(a, b).to_bits(), mean_by_scan(&s, a, b).to_bits());
        }
    }

    /// The means of a run's consecutive periods over a million-row series cost O(log n) each plus the rows
    /// inside: 100,000 periods of 10 rows each over a 1,000,000-row table. A scan of the whole table per
    /// period (the old `mean`) makes 10^11 comparisons here, minutes even optimised; the bound of 20 s is
    /// about a hundred times what the binary searches take in a debug build, so only a whole-table scan fails.
    #[test]
    fn mean_of_consecutive_periods_is_linear_in_the_rows() {
        let n = 1_000_000;
        let times_s: Vec<f64> = (0..n).map(|i| i as f64 * 60.0).collect();
        let values: Vec<f64> = (0..n).map(|i| (i % 7) as f64).collect();
        let s = Series::Table {
            times_s,
            values,
            linear: false,
        };
        let clock = std::time::Instant::now();
        let mut total = 0.0;
        for p in 0..100_000 {
            let t0 = p as f64 * 600.0;
            total += s.mean(t0, t0 + 600.0) * 600.0;
        }
        let elapsed = clock.elapsed().as_secs_f64();
        // the integral of the first 10^6 minutes: rows 0..10^6 each held 60 s, values i mod 7
        let expected: f64 = (0..n).map(|i| (i % 7) as f64 * 60.0).sum();
        assert!(
            (total - expected).abs() <= 1e-9 * expected,
            "{total} vs {expected}"
        );
        assert!(elapsed < 20.0, "100,000 period means took {elapsed} s");
    }
}
