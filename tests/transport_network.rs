//! Networks: a loop with a reversing reach, a pond in the loop, every kind of source, two flow periods with a
//! flow reversal (DESIGN.md §4.6); thread determinism; two simulations side by side; steady mode; errors.

mod transport_util;

use rivsim::model::*;
use rivsim::network::Network;
use rivsim::transport::{Simulation, TransportError, TransportOptions, run, steady_state};
use transport_util::*;

const DAY: f64 = 86_400.0;

/// §4.6 Global mass balance on the looped network with a reversing reach and a flow reversal mid-run: every
/// pollutant's ledger closes to 1e-12 relative (round-off: every flux is booked once on each side); the
/// ledger's `in` equals an independent hand sum of ∫Q·C dt for the boundary inflow (the solver samples each
/// step at its midpoint, exact on the linear pieces; only the two steps straddling a breakpoint of the
/// series err, by ~slope·Δt² ≈ 1e-10 of the total: tolerance 1e-8 relative), the loads (constants) and the
/// water entering at O; no concentration is negative and
/// none exceeds the largest value any source could produce.
#[test]
fn looped_network_with_reversal_conserves_mass() {
    let (m, net, hy) = looped();
    let res = run(&m, &net, &hy, &opts()).unwrap();
    for (p, mb) in res.mass_balance.iter().enumerate() {
        eprintln!("looped {}: {:?}", m.pollutants[p], mb);
    }
    assert_ledger(&res, 1e-12);
    // the automatic step never needs sub-steps (a rounding error once made it ask for two)
    assert!(res.warnings.is_empty(), "{:?}", res.warnings);
    // period 2 has other depths: the volume term must be there
    assert!(res.mass_balance[0].volume_change_kg.abs() > 0.0);
    assert_eq!(res.output_period.first(), Some(&0));
    assert_eq!(res.output_period.last(), Some(&1));

    // independent sum of what entered, COD
    let inflow_conc = |t: f64| {
        if t < DAY {
            20.0 + 20.0 * t / DAY
        } else if t < 3.0 * DAY {
            40.0 - 30.0 * (t - DAY) / (2.0 * DAY)
        } else {
            10.0
        }
    };
    // ∫ Q·C over [0, 2d] with Q = 3 and [2d, 4d] with Q = 1, by fine quadrature (g)
    let n = 200_000;
    let mut inflow_g = 0.0;
    for i in 0..n {
        let t = (i as f64 + 0.5) * 4.0 * DAY / n as f64;
        let q = if t < 2.0 * DAY { 3.0 } else { 1.0 };
        inflow_g += q * inflow_conc(t) * 4.0 * DAY / n as f64;
    }
    let bed_r1 = 2_000.0 * 15.0;
    let loads_g = 0.1 * 250.0 * 4.0 * DAY // outfall P1
        + 50.0e3 * 4.0 // P2, kg/day × days
        + 20.0e3 * 4.0 // line load
        + 0.5 * bed_r1 * 4.0 // release g/m²/d × m² × d
        + 1.0 * 5.0 * 2.0 * DAY; // tide entering at O in period 2
    let want_in_kg = (inflow_g + loads_g) / 1000.0;
    let got = res.mass_balance[0].in_kg;
    eprintln!("looped COD in: ledger {got} kg, hand sum {want_in_kg} kg");
    assert!((got / want_in_kg - 1.0).abs() < 1e-8);

    let cmax = 250.0f64.max(40.0);
    for c in &res.final_cell_conc[0] {
        assert!(*c >= 0.0 && *c <= cmax, "{c}");
    }
    for row in &res.reach_conc {
        for c in row {
            assert!(*c >= 0.0 && c.is_finite());
        }
    }
}

/// With no decay and every source at one concentration c*, the water everywhere must stay at c* exactly
/// (a discrete maximum principle through the junctions, the pond, the reversal and the volume change):
/// tolerance 1e-12 relative.
#[test]
fn uniform_concentration_stays_uniform_through_the_loop() {
    let (mut m, net, _) = looped();
    for r in &mut m.reaches {
        r.decay_per_day = vec![0.0; 2];
        r.release_g_m2_day = vec![0.0; 2];
    }
    m.outfalls.truncate(1);
    m.line_loads.clear();
    m.outfalls[0].discharge = Discharge::Flow {
        flow_m3s: Series::Const(0.1),
        concentration: vec![Series::Const(7.0), Series::Const(7.0)],
    };
    m.inflows[0].concentration = vec![Series::Const(7.0), Series::Const(7.0)];
    m.nodes[4].concentration = vec![Series::Const(7.0), Series::Const(7.0)];
    m.initial = InitialState::Values(vec![7.0, 7.0]);
    m.temperature = None;
    let (_, _, hy) = looped();
    let res = run(&m, &net, &hy, &opts()).unwrap();
    let mut worst = 0.0f64;
    for c in res.final_cell_conc.iter().flatten() {
        worst = worst.max((c / 7.0 - 1.0).abs());
    }
    for c in res
        .section_conc
        .iter()
        .chain(res.reach_conc.iter())
        .flatten()
    {
        worst = worst.max((c / 7.0 - 1.0).abs());
    }
    eprintln!("uniform stays uniform: worst {worst:.2e}");
    assert!(worst < 1e-12);
    assert_ledger(&res, 1e-12);
}

/// 1 and 2 threads give the same bits: each cell's update is independent of the partition and the sums are
/// made per fixed-size chunk and added in chunk order. With 16-cell chunks the network has many chunks and
/// the cells are split between the threads; with the default 8192-cell chunks it has one, and the two
/// pollutants run in parallel instead — both paths are checked, and they must also agree with each other on
/// every concentration (only the grouping of the ledger sums depends on the chunk size). With 2-node chunks
/// the node pass runs in parallel too.
#[test]
fn one_and_two_threads_bit_identical() {
    let (mut m, net, hy) = looped();
    m.sections.push(SectionPoint {
        id: "S1".into(),
        reach: 5,
        at_m: 1_234.0,
    });
    let mut conc_bits = Vec::new();
    for (chunk_cells, chunk_nodes) in [(16, 2), (8192, 4096)] {
        let o = TransportOptions {
            chunk_cells,
            chunk_nodes,
            // always through the rayon pool (the network is small enough to run serially by default)
            serial_cell_lanes: 0,
            ..TransportOptions::default()
        };
        let (one, two) = run_one_and_two_threads(&m, &net, &hy, &o);
        assert!(one.steps > 100);
        assert_eq!(bits(&one), bits(&two), "chunk {chunk_cells}");
        let c: Vec<u64> = one
            .final_cell_conc
            .iter()
            .flatten()
            .chain(one.section_conc.iter().flatten())
            .map(|x| x.to_bits())
            .collect();
        conc_bits.push(c);
    }
    assert_eq!(conc_bits[0], conc_bits[1]);
}

/// Two simulations side by side in two threads (the library keeps no global state): each equals its own
/// serial run bit for bit.
#[test]
fn two_simulations_in_two_threads() {
    let (m, net, hy) = looped();
    let (mut m2, _, _) = looped();
    m2.inflows[0].concentration[0] = Series::Const(99.0);
    let serial1 = run(&m, &net, &hy, &opts()).unwrap();
    let serial2 = run(&m2, &net, &hy, &opts()).unwrap();
    let (a, b) = std::thread::scope(|s| {
        let h1 = s.spawn(|| {
            let mut sim = Simulation::new(&m, &net, &hy, &opts()).unwrap();
            while sim.step().unwrap() {}
            sim.finish()
        });
        let h2 = s.spawn(|| run(&m2, &net, &hy, &opts()).unwrap());
        (h1.join().unwrap(), h2.join().unwrap())
    });
    assert_eq!(bits(&a), bits(&serial1));
    assert_eq!(bits(&b), bits(&serial2));
    assert_ne!(bits(&a), bits(&b));
}

/// Dynamic at equilibrium against the steady solver on the looped network (period 1 flows held for 20 days,
/// constant loads). The two discretisations differ: the steady solver is first-order upwind (numerical
/// dispersion u·Δx/2 ≈ 0.5–1 m²/s next to E = 0–10 m²/s), continuous decay and no time splitting; with
/// decay rates ≤ 0.3/d the profiles change by at most a few per cent along a reach, so the upwind error is a
/// fraction of that: tolerance 2 % relative on every cell. Also checks `mode = "steady"` returns the steady
/// solver's state at the outputs and a ledger that closes.
#[test]
fn dynamic_equilibrium_matches_steady_solver() {
    let (mut m, net, hy) = looped();
    m.temperature = None;
    m.inflows[0].concentration[0] = Series::Const(20.0);
    m.inflows[0].flow_m3s = Series::Const(3.0);
    m.sim.end_s = 20.0 * DAY;
    m.sim.output_interval_s = 5.0 * DAY;
    m.initial = InitialState::Zero;
    let mut f = hy.periods[0].clone();
    f.t_end_s = 20.0 * DAY;
    let hy1 = hyd(vec![f]);
    let res = run(&m, &net, &hy1, &opts()).unwrap();
    let st = steady_state(&m, &net, &hy1.periods[0], 0, 0.0, &opts()).unwrap();
    let mut worst = 0.0f64;
    for p in 0..2 {
        for g in 0..net.n_cells {
            let (a, b) = (res.final_cell_conc[p][g], st.cell_conc[p][g]);
            worst = worst.max((a / b - 1.0).abs());
        }
    }
    eprintln!("looped: dynamic at 20 d vs steady solver worst rel diff {worst:.3e}");
    assert!(worst < 0.02);

    m.sim.mode = Mode::Steady;
    let sres = run(&m, &net, &hy1, &opts()).unwrap();
    assert_eq!(sres.steps, 0);
    for p in 0..2 {
        for g in 0..net.n_cells {
            assert_eq!(sres.final_cell_conc[p][g], st.cell_conc[p][g]);
        }
    }
    eprintln!("steady mode ledger {:?}", sres.mass_balance[0]);
    assert_ledger(&sres, 1e-12);
}

/// A fixed time step beyond the stable one is sub-stepped and the warnings say so; the outputs land on the
/// output times exactly.
#[test]
fn fixed_step_is_substepped_with_a_warning() {
    let (mut m, net, hy) = looped();
    m.sim.time_step_s = Some(3_600.0);
    m.sim.output_interval_s = 7_000.0;
    let res = run(&m, &net, &hy, &opts()).unwrap();
    assert!(
        res.warnings.iter().any(|w| w.contains("sub-steps")),
        "{:?}",
        res.warnings
    );
    assert_eq!(res.output_times_s[1], 7_000.0);
    assert_eq!(*res.output_times_s.last().unwrap(), 4.0 * DAY);
    assert_ledger(&res, 1e-12);
}

/// Numerical trouble is an error naming the place, the pollutant and the time.
#[test]
fn non_finite_is_an_error_with_place_and_time() {
    let (mut m, net, hy) = looped();
    m.initial = InitialState::Zero;
    m.outfalls[0].discharge = Discharge::Flow {
        flow_m3s: Series::Const(0.1),
        concentration: vec![
            Series::Const(1.0),
            Series::Table {
                times_s: vec![0.0, 3_600.0],
                values: vec![1.0, f64::NAN],
                linear: false,
            },
        ],
    };
    match run(&m, &net, &hy, &opts()) {
        Err(TransportError::NonFinite {
            reach,
            pollutant,
            t_s,
            ..
        }) => {
            assert_eq!(pollutant, "NH3N");
            assert_eq!(reach, "R3");
            assert!(t_s > 3_600.0 && t_s < 3_600.0 + 600.0, "{t_s}");
        }
        other => panic!("expected NonFinite, got {:?}", other.map(|r| r.steps)),
    }
}

/// A flow field with a continuity defect — water reaches junction J but nothing leaves it — still closes the
/// ledger (the mass reaching J is booked as leaving there) and the warnings name the node.
#[test]
fn continuity_defect_is_booked_and_warned() {
    let mut m = model(
        &["X"],
        vec![
            node("A", NodeKind::Boundary),
            node("J", NodeKind::Junction),
            node("O", NodeKind::Outlet),
        ],
        &[
            r("RA", 0, 1, 1_000.0, 10.0, 100.0, 1.0, 0.1),
            r("RJ", 1, 2, 1_000.0, 10.0, 100.0, 1.0, 0.1),
        ],
        DAY,
        3_600.0,
    );
    m.inflows.push(inflow(0, 1.0, &[10.0]));
    let net = Network::build(&m);
    let mut f = field(&m, &net, &[1.0, 1.0], &[1.0, 1.0], 0.0, DAY, 0.0);
    for q in &mut f.face_flow_m3s[net.faces_of(1)] {
        *q = 0.0;
    }
    f.node_exchange_m3s[2] = 0.0;
    let res = run(&m, &net, &hyd(vec![f]), &opts()).unwrap();
    assert!(
        res.warnings
            .iter()
            .any(|w| w.contains("node J") && w.contains("continuity")),
        "{:?}",
        res.warnings
    );
    assert!(res.mass_balance[0].out_kg > 0.0);
    assert_ledger(&res, 1e-12);
}

/// Stalled flow: the cross link carries exactly no water (and in a second period a trickle of 1e-9 m³/s
/// against its nominal direction); only dispersion acts in it. The step stays finite (the dispersion limit
/// bounds it), nothing goes negative, the stalled reach stays within the range of the water around it, and
/// the ledger closes to 1e-12.
#[test]
fn stalled_reach_is_stable() {
    let (mut m, net, _) = looped();
    m.inflows[0].flow_m3s = Series::Const(3.0);
    let p1 = field(
        &m,
        &net,
        &[3.0, 1.0, 2.0, 0.0, 1.0, 2.0],
        &[1.0, 1.2, 1.0, 0.8, 1.5, 1.3],
        0.0,
        2.0 * DAY,
        1.5,
    );
    let p2 = field(
        &m,
        &net,
        &[3.0, 1.0, 2.0, -1e-9, 1.0 + 1e-9, 2.0 - 1e-9],
        &[1.0, 1.2, 1.0, 0.8, 1.5, 1.3],
        2.0 * DAY,
        4.0 * DAY,
        1.5,
    );
    let res = run(&m, &net, &hyd(vec![p1, p2]), &opts()).unwrap();
    assert_ledger(&res, 1e-12);
    let cmax = 250.0f64;
    for c in res.final_cell_conc.iter().flatten() {
        assert!(c.is_finite() && *c >= 0.0 && *c <= cmax, "{c}");
    }
    // the stalled reach R4 holds water from its own end nodes only: within the range of the whole field
    let all: Vec<f64> = res.final_cell_conc[0].clone();
    let (lo, hi) = all
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &c| {
            (a.min(c), b.max(c))
        });
    for g in net.cells_of(3) {
        assert!(res.final_cell_conc[0][g] >= lo && res.final_cell_conc[0][g] <= hi);
    }
}

/// A loop with circulating flow (J1 → J2 → J3 → J1 at 2 m³/s, fed by 1 m³/s at 10 mg/L from U, drained by
/// J1 → O): the flow directions contain a cycle, so the steady solver falls back to block Gauss–Seidel.
/// Mixing at J1: c_J = (1·10 + 2·f·c_J)/3, i.e. c_J = 10/(3 − 2f), with f the loop's transmission:
/// - steady solver (first-order upwind, continuous decay): f = Π(1 + kΔx/u)⁻¹ over the 30 loop cells —
///   converged to 1e-13 of the largest value: tolerance 1e-11 relative;
/// - dynamic at equilibrium (10 days ≫ the loop's e-folding ≈ 15000 s/(1 − 2f/3)): f = e^{−k·T_loop}, T_loop =
///   3000 m / 0.2 m/s; the scheme is second order on this smooth decay: tolerance 5e-4 relative.
#[test]
fn circulating_loop_steady_and_dynamic() {
    let k = 1.0;
    let mut m = model(
        &["X"],
        vec![
            node("U", NodeKind::Boundary),
            node("J1", NodeKind::Junction),
            node("J2", NodeKind::Junction),
            node("J3", NodeKind::Junction),
            node("O", NodeKind::Outlet),
        ],
        &[
            r("R0", 0, 1, 500.0, 10.0, 100.0, 0.0, 0.0),
            r("R1", 1, 2, 1_000.0, 10.0, 100.0, 0.0, k),
            r("R2", 2, 3, 1_000.0, 10.0, 100.0, 0.0, k),
            r("R3", 3, 1, 1_000.0, 10.0, 100.0, 0.0, k),
            r("R4", 1, 4, 500.0, 10.0, 100.0, 0.0, 0.0),
        ],
        10.0 * DAY,
        DAY,
    );
    m.inflows.push(inflow(0, 1.0, &[10.0]));
    m.initial = InitialState::Zero;
    let net = Network::build(&m);
    let f = field(
        &m,
        &net,
        &[1.0, 2.0, 2.0, 2.0, 1.0],
        &[1.0; 5],
        0.0,
        10.0 * DAY,
        0.0,
    );
    let hy = hyd(vec![f]);
    let ks = k / DAY;
    let (u, dx) = (0.2, 100.0);
    let f_up = (1.0 + ks * dx / u).powi(-30);
    let want_up = 10.0 / (3.0 - 2.0 * f_up);
    let st = steady_state(&m, &net, &hy.periods[0], 0, 0.0, &opts()).unwrap();
    // the outlet reach R4 carries the mixed concentration unchanged (no decay there)
    let got = st.cell_conc[0][net.cells_of(4).end - 1];
    eprintln!("circulating loop: steady {got} vs {want_up}");
    assert!((got / want_up - 1.0).abs() < 1e-11);

    let f_ex = (-ks * 3_000.0 / u).exp();
    let want = 10.0 / (3.0 - 2.0 * f_ex);
    let res = run(&m, &net, &hy, &opts()).unwrap();
    let got = res.final_cell_conc[0][net.cells_of(4).end - 1];
    eprintln!("circulating loop: dynamic {got} vs {want}");
    assert!((got / want - 1.0).abs() < 5e-4);
    assert_ledger(&res, 1e-12);
}
