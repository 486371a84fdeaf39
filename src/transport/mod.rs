//! Transport: advection–dispersion–decay of every pollutant in every cell, dynamic and steady.
//!
//! Stage 4 of the pipeline (scenario → model → hydraulics → **transport** → assessment → report). For each
//! pollutant the cell-averaged concentration C (mg/L = g/m³) obeys, in finite-volume form on cell i of volume
//! V_i = A_i·Δx (m³),
//!
//!   V_i·dC_i/dt = F_{i−½} − F_{i+½} − k·θ^(T−20)·V_i·C_i + S_i                                   (g/s)
//!
//! with the face flux F = Q·C_face − E·A_face·(C_{i+1} − C_i)/Δx (g/s, positive from the reach's `from` node
//! towards its `to` node), Q the face flow (m³/s), E the reach dispersion (m²/s), k the decay rate (1/s, the
//! model's 1/day divided by 86 400) and S the sources (g/s).
//!
//! **Advection** (explicit, `kernel.rs`): the face value is upwinded by the current sign of Q and corrected
//! towards second order with the flux-limited Lax–Wendroff form C_face = C_U + ½·(1 − ν)·φ(r)·(C_D − C_U),
//! ν = |Q|·Δt/V_U, r = (C_U − C_UU)/(C_D − C_U), with the monotonized-central choice φ = (1 + r)/2 (van Leer
//! 1977) bounded by φ ≤ 2 and by the Courant-aware bound φ ≤ 2r·(1 − ν − d)/(ν(1 − ν)) (d = Δt·ΣD/V, the
//! explicit dispersion's share). That is Sweby's (1984) / Roe & Baines' TVD region for the combined explicit
//! scheme (Harten's condition ν(1 + ½(1 − ν)(φ/r − φ′)) + d ≤ 1), in the spirit of Leonard's ULTIMATE
//! limiter: no new extrema, no negative concentrations, and less clipping of peaks than the fixed bound
//! φ ≤ 2r at Courant numbers below 1. The upper bound stays at 2 (ULTIMATE's 2/(1 − ν) makes the face take
//! the downwind value, and steady states are then no longer reached). The sign of Q is read per face every
//! step, so stalled or reversed flow needs nothing special.
//!
//! **Dispersion**: central differences inside each reach, D_face = E·V_face/Δx² (m³/s) with V_face the
//! harmonic mean of the two cell volumes (= E·A_face/Δx for equal areas), either *explicit* (inside the face
//! flux above) or *implicit* ([`DispersionMode`], `implicit.rs`): after the explicit advection–decay update
//! C* (run with D = 0, and d = 0 in the limiter bound), each reach solves the backward-Euler system
//! (V_i/Δt)·C_i − D_{i−½}(C_{i−1} − C_i) − D_{i+½}(C_{i+1} − C_i) = (V_i/Δt)·C*_i by the Thomas algorithm —
//! an M-matrix, so positive and free of new extrema at any Δt, and conservative (Σ V·C unchanged) so the
//! ledger needs no entry. `DispersionMode::Auto` (the default) decides per flow period: implicit when the
//! explicit diffusion limit would cut the stable step below half of the advective one. Caveat of the
//! implicit path: the limited Lax–Wendroff advection leaves a numerical dispersion u²·Δt/2 (= ν·u·Δx/2) at
//! a steady state (in a transient it cancels the forward step's time error), small at the explicit path's
//! diffusion-limited ν but ≈ 0.45·u·Δx at the implicit path's ν ≈ 0.9 — the implicit equilibrium is close
//! to the upwind steady solver's (tests/transport_implicit.rs measures it). No
//! dispersive flux crosses a node (the Danckwerts condition at boundaries and outlets; at junctions the
//! reaches are coupled by complete advective mixing only). This is the documented choice: a junction has no
//! volume, so a dispersive flux into it would have to be redistributed somewhere arbitrary; along an
//! unbranched river split by a node the omission matters only when the cell Péclet number is small.
//!
//! **Time step**: the largest Δt with ν_i·(2 − ν_i) + Δt·ΣD_i/V_i ≤ 1 in every cell (Harten's sufficient
//! condition for the limited scheme plus explicit diffusion; without the ΣD term when dispersion is
//! implicit), times a safety factor; ν_i counts all water
//! leaving cell i (faces and withdrawals). A user-fixed step larger than that is split into equal sub-steps
//! (and `RunResults::warnings` says so). Steps are shortened to land exactly on output times and on flow-period
//! starts.
//!
//! **Decay**: exact factors, split symmetrically (Strang) around the transport step: h = exp(−k·θ^(T−20)·Δt/2)
//! before and after, so water entering a reach during a step (and source mass, injected at mid-step) is aged
//! by half a step — a plain "transport, then e^(−kΔt)" split would age it by a whole step and shift a
//! plug-flow profile by half a cell. The ledger books exactly the mass the factors remove (1 − h is exact in
//! floating point for h ≥ ½).
//!
//! **Accuracy in time**: second order for pure advection (the Lax–Wendroff factor (1 − ν)); with dispersion the
//! explicit coupling leaves the cross term −Δt·u·E·c_xxx of the Taylor expansion, first order in Δt and of
//! relative size ~1/Pe_cell (measured orders: 2.7 → 2.1 without dispersion, 1.8 → 1.15 as the cell Péclet
//! number falls from 40 to 5 at fixed Courant 0.4; tests/transport_advection.rs). A Lax–Wendroff-type
//! correction of the coupling restores order 2 on transients but is inconsistent with decay and point sources
//! at equilibrium (it doubled the steady error next to a point load), so it is not used.
//!
//! **Nodes** (`nodes.rs`): everything flowing into a node is mixed completely; the mixed mass
//! is handed to the outgoing faces, withdrawals and outlet exchange in proportion to their flows, so mass is
//! conserved exactly even when the hydraulic continuity has a residual. Boundary inflows enter as Q·C_in; water
//! entering at an outlet (negative exchange) carries the outlet's `concentration`. Storage nodes (ponds) are
//! completely mixed volumes integrated exactly over a step with the inflow held constant:
//! C(t+Δt) = C_eq + (C − C_eq)·e^(−λΔt), λ = Q_out/V + k, C_eq = R/(Q_out + kV) (R the inflowing mass rate);
//! the outflow faces carry the step-mean concentration so the ledger closes exactly.
//!
//! **Steady state** ([`steady`]): ∂/∂t = 0 with first-order upwind advection, central dispersion, continuous
//! decay and the same mixing, solved reach by reach (tridiagonal Thomas elimination) in flow order — one sweep
//! on any network whose flows form no directed cycle, block Gauss–Seidel sweeps otherwise.
//!
//! **Mass ledger** ([`MassBalance`]), per pollutant, in kg: what entered, left, decayed, the change in storage,
//! and the mass added when a new flow period changes the cell volumes at constant concentration (the
//! concentrations are kept across a period change; the volume term makes the ledger close).
//!
//! **Parallelism and determinism**: the cell kernel runs over fixed-size chunks of the cell arrays with rayon;
//! each cell's update depends only on the old state, and the per-chunk decay sums are added in chunk order,
//! so 1 and 2 threads give the same bits. The implicit dispersion solves whole reaches, in groups of about a
//! chunk split recursively with `rayon::join`; each reach by the same operations on any thread. Small runs
//! (`TransportOptions::serial_cell_lanes`) skip the pool altogether: same bits, less overhead. The node pass
//! (O(nodes)) and the sparse sources are serial. On
//! x86-64 with AVX2 the kernel is compiled a second time for 256-bit vectors and picked at run time (same
//! arithmetic, same bits). Nothing in a step allocates, hashes or does I/O.
//!
//! **Steady mode** (`mode = "steady"`): at every output time the steady state of the flow period in force,
//! with the loads at that time; the ledger integrates the steady rates over the output intervals.
//!
//! References: Sweby, P.K. (1984) SIAM J. Numer. Anal. 21(5), 995–1011; van Leer, B. (1977) J. Comput. Phys.
//! 23, 276–299; Leonard, B.P. (1991) Comput. Methods Appl. Mech. Eng. 88, 17–74 (ULTIMATE and the standard
//! advection tests); Chapra, S.C. (1997) *Surface Water-Quality Modeling*, ch. 9–11 (mixed reactors, the
//! steady point-load solution with dispersion); van Genuchten, M.Th. & Alves, W.J. (1982) USDA Tech. Bull.
//! 1661 (analytical solutions of the advection–dispersion equation with decay); Patankar, S.V. (1980)
//! *Numerical Heat Transfer and Fluid Flow*, §4.2–4.3 (the tridiagonal algorithm, the fully implicit scheme).

//! ## Files
//! | file | what |
//! |---|---|
//! | `simulation.rs` | [`Simulation`]: new / step / finish; the choice of each step, flow periods, outputs |
//! | `step.rs` | one step of one pollutant: decay factors → node pass → kernel → sources → withdrawals → dispersion |
//! | `nodes.rs` | the node pass: mixing, end-face fluxes, ghosts, ponds |
//! | `kernel.rs` | the cell kernel: explicit advection–dispersion–decay over a chunk of cells |
//! | `implicit.rs` | backward-Euler dispersion per reach |
//! | `layout.rs` | the static layout of the state; per-period coefficients; sources |
//! | `steady.rs` | the steady-state solver |
//! | `moving.rs` | [`Moving`]: transport on unsteady flow, one hydraulic step at a time (its own module docs) |
//! | `follower.rs` | what a run hands, step by step, to something carried along on its fluxes |
//! | `tagged/` | tagged runs and responses (source apportionment, project ranking), followers of a run |
//! | `results.rs`, `options.rs` | [`RunResults`], [`MassBalance`]; [`TransportOptions`], [`TransportError`] |

// Index loops over struct-of-arrays columns read better than zipped iterators here.
#![allow(clippy::needless_range_loop)]

mod follower;
mod implicit;
mod kernel;
mod layout;
mod moving;
mod nodes;
mod options;
mod results;
mod simulation;
pub mod steady;
mod step;
mod tagged;

pub use moving::Moving;
pub use options::{DispersionMode, TransportError, TransportOptions};
pub use results::{MassBalance, RunResults};
pub use simulation::{Simulation, run};
pub use steady::{SteadyState, steady_state};
pub use tagged::{
    ResponseState, TaggedResults, group_layout, response_layout, run_response_tree, run_responses,
    run_responses_in_order, run_tagged, run_tagged_in_order,
};
