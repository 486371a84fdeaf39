use rivsim::model::*;
use rivsim::pipeline;
use rivsim::transport::{TransportOptions, run_tagged};
use std::time::Instant;
#[test]
fn time_it() {
    let p = pipeline::prepare(std::path::Path::new("scenarios/district/scenario.toml")).unwrap();
    let hyd = pipeline::hydraulics(&p).unwrap();
    let m = &p.model;
    let mut groups = Vec::new();
    for k in 0..20 {
        let mut g = m.clone();
        for (i, o) in g.outfalls.iter_mut().enumerate() {
            if i % 20 != k {
                match &mut o.discharge {
                    Discharge::Flow { concentration, .. } => concentration
                        .iter_mut()
                        .for_each(|s| *s = Series::Const(0.0)),
                    Discharge::Load { kg_per_day } => {
                        kg_per_day.iter_mut().for_each(|s| *s = Series::Const(0.0))
                    }
                }
            }
        }
        groups.push(g);
    }
    let t0 = Instant::now();
    let r = rivsim::transport::run(m, &p.net, &hyd, &TransportOptions::default()).unwrap();
    println!("plain {:?} steps {}", t0.elapsed(), r.steps);
    let t0 = Instant::now();
    let t = run_tagged(m, &p.net, &hyd, &TransportOptions::default(), &groups).unwrap();
    println!("tagged 20 {:?} gap {:e}", t0.elapsed(), t.max_sum_gap(1e-6));
}
