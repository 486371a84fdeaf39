//! rivsim benches: one criterion target whose groups mirror `src/`.
//! Run: `cargo bench --bench rivsim` (add `-- GROUP` to pick a group, e.g. `-- hydraulics`).
use criterion::criterion_main;

mod groups;

criterion_main!(
    groups::scenario::benches,
    groups::hydraulics::benches,
    groups::transport::benches,
    groups::end_to_end::benches,
    groups::rank::benches,
    groups::apportion::benches,
    groups::unsteady::benches
);
