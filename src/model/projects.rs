//! Project items of the model (DESIGN.md §8): sewers, plants, projects and alternatives, checked and indexed.
//!
//! The scenario loader builds them (`scenario/check/projects.rs`); `projects::apply` turns a selection of
//! projects into time-varying loads on a new [`super::Model`]. Indices point into the model's own lists
//! (`reaches`, `outfalls`, `nodes`, `sewers`, `plants`, `projects`).

/// A place along a reach.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct At {
    /// Reach index.
    pub reach: usize,
    /// Metres from the reach's from-node.
    pub at_m: f64,
}

/// Where a sewer delivers what it does not spill.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SewerDestination {
    /// To a plant (index into `Model::plants`).
    Plant(usize),
    /// Untreated, at a point along a reach.
    Discharge(At),
}

/// A sewer (`[[sewers]]`).
#[derive(Debug, Clone)]
pub struct Sewer {
    /// User id.
    pub id: String,
    /// Capacity, m³/s.
    pub capacity_m3s: f64,
    /// Where flow above capacity spills.
    pub overflow: At,
    /// Where the rest goes.
    pub destination: SewerDestination,
    /// Sewage already carried from outside the model, m³/s (extension key `base_flow_m3s`, default 0).
    pub base_flow_m3s: f64,
    /// Its concentration per pollutant, mg/L.
    pub base_concentration: Vec<f64>,
}

/// A wastewater plant (`[[plants]]`).
#[derive(Debug, Clone)]
pub struct Plant {
    /// User id.
    pub id: String,
    /// Treatment capacity, m³/s.
    pub capacity_m3s: f64,
    /// Effluent concentration per pollutant, mg/L (`None`: not treated, leaves at the influent concentration).
    pub effluent: Vec<Option<f64>>,
    /// Where treated water leaves (`None`: out of the model — to the sea, a tidal river or another basin).
    pub discharge: Option<At>,
    /// Where flow above capacity leaves untreated (`None`: out of the model).
    pub bypass: Option<At>,
}

/// What a project does.
#[derive(Debug, Clone)]
pub enum ProjectKind {
    /// Outfalls collected into a sewer.
    Intercept {
        /// Outfall indices.
        outfalls: Vec<usize>,
        /// Share of the flow collected, in [0, 1].
        efficiency: f64,
        /// Sewer index.
        sewer: usize,
    },
    /// Outfalls closed (and line loads stopped).
    CloseOutfall {
        /// Outfall indices.
        outfalls: Vec<usize>,
        /// Line-load indices (`Model::line_loads`).
        line_loads: Vec<usize>,
    },
    /// Dry-weather discharge of rain outlets removed.
    Separate {
        /// Outfall indices (all `rain_dry_weather`).
        outfalls: Vec<usize>,
        /// Share removed, in [0, 1].
        efficiency: f64,
    },
    /// Village loads cut.
    RuralTreatment {
        /// Outfall indices.
        outfalls: Vec<usize>,
        /// Line-load indices (`Model::line_loads`): unsewered villages spread along a reach.
        line_loads: Vec<usize>,
        /// Share removed per pollutant, in [0, 1].
        reduction: Vec<f64>,
    },
    /// A plant's capacity and/or effluent changed.
    Plant {
        /// Plant index.
        plant: usize,
        /// New capacity, m³/s.
        capacity_m3s: Option<f64>,
        /// New effluent per pollutant, mg/L (`None`: unchanged).
        effluent: Vec<Option<f64>>,
    },
    /// Clean water added at a node.
    Diversion {
        /// Node index.
        node: usize,
        /// m³/s.
        flow_m3s: f64,
        /// mg/L per pollutant.
        concentration: Vec<f64>,
    },
    /// An inflow's concentrations changed.
    BoundaryImprovement {
        /// Node index (every inflow at it changes).
        node: usize,
        /// New concentration per pollutant, mg/L (`None`: unchanged).
        concentration: Vec<Option<f64>>,
    },
    /// A sewer's capacity raised (or lowered): flow above the new capacity spills at its overflow.
    SewerUpgrade {
        /// Sewer index.
        sewer: usize,
        /// New capacity, m³/s.
        capacity_m3s: f64,
    },
    /// Reaches' internal release changed.
    Dredging {
        /// Reach indices.
        reaches: Vec<usize>,
        /// New release per pollutant, g/m²/day (`None`: unchanged).
        release_g_m2_day: Vec<Option<f64>>,
        /// New decay rate per pollutant, 1/day at 20 °C (`None`: unchanged).
        decay_per_day: Vec<Option<f64>>,
    },
}

impl ProjectKind {
    /// The file spellings of the kinds.
    pub const NAMES: [&'static str; 9] = [
        "intercept",
        "close_outfall",
        "separate",
        "rural_treatment",
        "plant",
        "diversion",
        "boundary_improvement",
        "sewer_upgrade",
        "dredging",
    ];

    /// The file spelling.
    pub fn name(&self) -> &'static str {
        match self {
            ProjectKind::Intercept { .. } => "intercept",
            ProjectKind::CloseOutfall { .. } => "close_outfall",
            ProjectKind::Separate { .. } => "separate",
            ProjectKind::RuralTreatment { .. } => "rural_treatment",
            ProjectKind::Plant { .. } => "plant",
            ProjectKind::Diversion { .. } => "diversion",
            ProjectKind::BoundaryImprovement { .. } => "boundary_improvement",
            ProjectKind::SewerUpgrade { .. } => "sewer_upgrade",
            ProjectKind::Dredging { .. } => "dredging",
        }
    }
}

/// A temporary load while a project is built.
#[derive(Debug, Clone)]
pub struct Construction {
    /// Where it enters.
    pub at: At,
    /// kg/day per pollutant.
    pub kg_per_day: Vec<f64>,
}

/// A project (`[[projects]]`).
#[derive(Debug, Clone)]
pub struct Project {
    /// User id.
    pub id: String,
    /// Readable name (the id if not given).
    pub name: String,
    /// What it does.
    pub kind: ProjectKind,
    /// Cost in `Model::cost_unit`.
    pub cost: f64,
    /// Construction start, seconds since the scenario start (may be negative or beyond the end).
    pub start_s: f64,
    /// Finish: the effect begins here, seconds since the scenario start.
    pub finish_s: f64,
    /// Linear phase-in after `finish`, seconds (0: a step).
    pub ramp_s: f64,
    /// Temporary construction load.
    pub construction: Option<Construction>,
}

/// An alternative (`[[alternatives]]`).
#[derive(Debug, Clone)]
pub struct Alternative {
    /// User id.
    pub id: String,
    /// Readable name.
    pub name: String,
    /// Shift of dates per project: (project index, seconds).
    pub delay_s: Vec<(usize, f64)>,
    /// Projects left out (indices).
    pub without: Vec<usize>,
}
