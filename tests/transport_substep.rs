//! A transport step equal to the stable step up to round-off is not split into sub-steps.
//!
//! The peer tree of `rivsim generate --peer-tree` has 100 m cells, no dispersion and the velocity 0.3 m/s in
//! every reach, so the Courant-limited stable step with the safety factor 0.9 is 0.9 · 100 m / 0.3 m/s = 300 s,
//! and an hour of output is 12 such steps. The velocities come from a normal-depth solve and differ from 0.3 m/s
//! in their last bits, so the computed stable step is 300 s minus a few ulp. The step count is then exact by hand:
//! one day is 86 400 s / 300 s = 288 steps; splitting each step in two because 300 s "exceeds" 299.99999999999994 s
//! would give 576 (and twice the cost, with no gain in accuracy).

use rivsim::generate::{GenerateOptions, generate};
use rivsim::pipeline;
use rivsim::transport::{Simulation, TransportOptions};

#[test]
fn stable_step_up_to_round_off_is_not_split() {
    let dir = tempfile::tempdir().unwrap();
    // look for a small peer tree whose computed stable step is below 300 s by round-off only (relative < 1e-12)
    let mut exercised = false;
    for seed in 1..=20u64 {
        let mut opts = GenerateOptions::peer(40, seed);
        opts.days = 1;
        let sub = dir.path().join(format!("seed{seed}"));
        let path = generate(&opts).write(&sub).unwrap();
        let p = pipeline::prepare(&path).unwrap();
        let hyd = pipeline::hydraulics(&p).unwrap();
        let stable = Simulation::new(&p.model, &p.net, &hyd, &TransportOptions::default())
            .unwrap()
            .stable_dt_s();
        // the design stable step, to round-off (relative 1e-12: a few ulp of a normal-depth velocity)
        assert!(
            (stable - 300.0).abs() < 300.0 * 1e-12,
            "stable step {stable}"
        );
        if stable >= 300.0 {
            continue;
        }
        exercised = true;
        let res = pipeline::simulate(&p, &hyd, false).unwrap();
        // exact count, see the module docs
        assert_eq!(res.steps, 288, "seed {seed}: stable {stable:e}");
        assert!(
            !res.warnings.iter().any(|w| w.contains("sub-step")),
            "{:?}",
            res.warnings
        );
        break;
    }
    assert!(
        exercised,
        "no seed gave a stable step below 300 s by round-off"
    );
}
