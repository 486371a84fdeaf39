//! A run's settings, and what can stop it.

/// How the dynamic solver treats longitudinal dispersion (see the `transport` module docs, "Dispersion").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DispersionMode {
    /// Per flow period: [`DispersionMode::Implicit`] when the explicit diffusion limit would cut the stable
    /// step below half of the advective (Courant) step, else [`DispersionMode::Explicit`] (the default).
    #[default]
    Auto,
    /// Explicit central differences inside the advective flux; the time step obeys the diffusion limit.
    Explicit,
    /// A split backward-Euler step per reach after the advection–decay update; the time step obeys the
    /// Courant limit only.
    Implicit,
}

/// Solver settings.
#[derive(Debug, Clone)]
pub struct TransportOptions {
    /// Safety factor on the stable time step (0 < s ≤ 1; default 0.9).
    pub safety: f64,
    /// Cells per parallel work chunk. Sums are made per chunk in a fixed order, so the result does not
    /// depend on the number of threads (default 8192).
    pub chunk_cells: usize,
    /// Nodes per parallel work chunk of the node pass (default 4096; the ledger sums are made per chunk in
    /// a fixed order, so the result does not depend on the number of threads).
    pub chunk_nodes: usize,
    /// Sweeps allowed to the steady solver on a network whose flows contain a directed cycle (default 10 000).
    pub steady_max_sweeps: usize,
    /// Explicit or implicit dispersion, or chosen per flow period (default [`DispersionMode::Auto`]).
    pub dispersion: DispersionMode,
    /// Runs with at most this many cell slots × pollutants (cells plus two ghost slots per reach) step on
    /// the calling thread alone, without the rayon pool (default 16 384; 0 always uses the pool). The
    /// result is the same bits either way. Measured on the district scenario (778 slots × 5 pollutants,
    /// 2 threads, a year's 26 678 steps): 0.77 s on one thread against 1.14 s with the pool, whose wake-up
    /// and join cost about as much as a step's few tens of microseconds of work.
    pub serial_cell_lanes: usize,
    /// A tagged run may take every thread of the pool for itself (default `true`): its pollutants go side
    /// by side, and a thread with no pollutant left helps the others with half of each step's cell pass,
    /// spinning between steps. Set `false` when several runs share the pool (project ranking runs its
    /// flow states side by side). Either way the result is the same bits.
    pub whole_pool: bool,
}

impl Default for TransportOptions {
    fn default() -> Self {
        TransportOptions {
            safety: 0.9,
            chunk_cells: 8192,
            chunk_nodes: 4096,
            steady_max_sweeps: 10_000,
            dispersion: DispersionMode::Auto,
            serial_cell_lanes: 16_384,
            whole_pool: true,
        }
    }
}

/// A transport failure (the input was valid but the computation could not go on).
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    /// A concentration became NaN or infinite.
    #[error(
        "non-finite concentration of {pollutant} in reach {reach}, cell {cell} (global cell {global_cell}) \
         at t = {t_s} s"
    )]
    NonFinite {
        /// Reach id.
        reach: String,
        /// Cell number within the reach (0 at the from-node).
        cell: usize,
        /// Global cell index.
        global_cell: usize,
        /// Pollutant name.
        pollutant: String,
        /// Time, seconds since start.
        t_s: f64,
    },
    /// The flow fields do not fit the network or the run.
    #[error("flow field of period {period}: {what}")]
    BadFlowField {
        /// Period index.
        period: usize,
        /// What is wrong and what would be valid.
        what: String,
    },
    /// The options are out of range.
    #[error("transport option `{option}` = {value}: {expected}")]
    BadOption {
        /// Option name.
        option: &'static str,
        /// Value given.
        value: String,
        /// What would be valid.
        expected: &'static str,
    },
    /// A group of a tagged run does not fit the total.
    #[error("tagged run, group {group}: {what}")]
    BadGroup {
        /// Group index.
        group: usize,
        /// What is wrong and what would be valid.
        what: String,
    },
    /// The run would need more transport steps than allowed (`Model::sim.max_steps`).
    #[error(
        "the run needs about {steps:.3e} transport steps, more than the limit of {limit:.0e}: the stable step is \
         {dt_s:.3e} s in flow period {period}, set by reach {reach} (a fast flow or a large dispersion in short \
         cells); check its flows, dispersion and cell length, or run anyway with --force"
    )]
    TooManySteps {
        /// Steps needed (sub-steps included).
        steps: f64,
        /// The limit.
        limit: f64,
        /// The smallest stable step, s.
        dt_s: f64,
        /// The period where it occurs.
        period: usize,
        /// The reach whose cell sets it.
        reach: String,
    },
    /// The steady solver did not converge on a network with circulating flow.
    #[error(
        "steady transport did not converge in {sweeps} sweeps (period {period}, pollutant {pollutant}): \
         last change {change:e} mg/L; the flows contain a directed cycle"
    )]
    SteadyNotConverged {
        /// Period index.
        period: usize,
        /// Pollutant name.
        pollutant: String,
        /// Sweeps done.
        sweeps: usize,
        /// Largest change in the last sweep.
        change: f64,
    },
}
