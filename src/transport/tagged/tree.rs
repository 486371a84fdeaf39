//! Trees of response runs: several flow states' responses at once, a state that agrees with an earlier
//! one up to a time going on from that state's run instead of stepping the common part again.

use super::TaggedResults;
use super::lane::TagState;
use super::layout::response_layout;
use super::run::{finish, groups_of, merge, one_pollutant, run_responses, solver, unpermute};
use crate::hydraulics::Hydraulics;
use crate::model::{Mode, Model};
use crate::network::Network;
use crate::transport::options::{TransportError, TransportOptions};
use crate::transport::simulation::ResumePoint;
use std::sync::{Arc, Mutex};

/// One flow state of a tree of response runs ([`run_response_tree`]).
pub struct ResponseState<'a> {
    /// The total.
    pub model: &'a Model,
    /// Its flows.
    pub hyd: &'a Hydraulics,
    /// The groups whose responses are carried (as many, and meaning the same, in every state).
    pub groups: &'a [Model],
    /// The state this one goes on from (an earlier one) and the time up to which the two agree, seconds
    /// since start: until then this state's total, groups and flows behave as that state's (e.g. they
    /// differ by a project that acts only from then on). `None`: run from the start.
    pub from: Option<(usize, f64)>,
}

/// The response runs ([`run_responses`]) of several flow states at once, a state that agrees with an
/// earlier one up to a time going on from that state's run instead of stepping the common part again:
/// each pollutant of that run hands its state, at the last output time not after the time the two agree
/// to, to the pollutant's run of this state (`Solver::resume`), which then runs beside it. The results
/// are those of runs from the start, except that before the hand-over they are the earlier state's (the
/// same physics; only the step sequence may differ where the two states' flow periods are cut
/// differently) and the mass ledger goes on from its. A state that would start before its own source
/// state did runs from the start. Every state uses the first state's layout of the groups.
pub fn run_response_tree(
    net: &Network,
    opts: &TransportOptions,
    states: &[ResponseState],
) -> Result<Vec<TaggedResults>, TransportError> {
    let Some(first) = states.first() else {
        return Ok(Vec::new());
    };
    check_states(states)?;
    let np = first.model.pollutants.len();
    if np == 0 {
        // nothing to step: every state on its own
        return states
            .iter()
            .map(|st| run_responses(st.model, net, st.hyd, opts, st.groups))
            .collect();
    }
    let perm = response_layout(first.model, net, first.hyd, opts, first.groups)?;
    // the states share the pool: each run steps on its own thread
    let o = TransportOptions {
        whole_pool: false,
        ..opts.clone()
    };
    let cx = TreeCx::new(net, &o, states, &perm, np);
    rayon::scope(|sc| {
        for s in (0..states.len()).filter(|&s| goes_on(states, s).is_none()) {
            for p in 0..np {
                let cx = &cx;
                sc.spawn(move |sc| cx.go(sc, s, p, None));
            }
        }
    });
    cx.results(&perm)
}

/// Every state has as many groups and the same pollutants as the first, and goes on from an earlier one.
fn check_states(states: &[ResponseState]) -> Result<(), TransportError> {
    let first = &states[0];
    let ng = first.groups.len();
    for (s, st) in states.iter().enumerate() {
        let bad = |what: String| TransportError::BadOption {
            option: "response states",
            value: format!("state {s}: {what}"),
            expected: "as many groups and the same pollutants in every state, each going on from an \
                       earlier state",
        };
        if st.groups.len() != ng {
            return Err(bad(format!(
                "{} groups, the first state has {ng}",
                st.groups.len()
            )));
        }
        if st.model.pollutants != first.model.pollutants {
            return Err(bad("other pollutants".into()));
        }
        if let Some((from, _)) = st.from
            && from >= s
        {
            return Err(bad(format!("goes on from state {from}")));
        }
    }
    Ok(())
}

/// The state state `s` goes on from and the time they agree to, if it goes on from one (in steady mode
/// every output is solved on its own: nothing to go on from).
fn goes_on(states: &[ResponseState], s: usize) -> Option<(usize, f64)> {
    let st = &states[s];
    st.from.filter(|&(from, _)| {
        st.model.sim.mode == Mode::Dynamic && states[from].model.sim.mode == Mode::Dynamic
    })
}

/// A state's pollutant run in [`run_response_tree`]: not yet run, or its result.
type TreeSlot = Option<Result<TaggedResults, TransportError>>;

/// What the tasks of [`run_response_tree`] share.
struct TreeCx<'s> {
    net: &'s Network,
    opts: &'s TransportOptions,
    states: &'s [ResponseState<'s>],
    /// Each state's total and laid-out groups, cut to one pollutant: `[state][pollutant]`.
    totals: Vec<Vec<Model>>,
    laid: Vec<Vec<Vec<Model>>>,
    /// The states going on from each state, with the time they agree to, earliest first.
    children: Vec<Vec<(f64, usize)>>,
    /// The runs' results, `[state][pollutant]`.
    out: Vec<Vec<Mutex<TreeSlot>>>,
}

impl<'s> TreeCx<'s> {
    /// The models of every state cut to one pollutant (the groups in the order `perm`), and which states
    /// go on from which.
    fn new(
        net: &'s Network,
        opts: &'s TransportOptions,
        states: &'s [ResponseState<'s>],
        perm: &[usize],
        np: usize,
    ) -> TreeCx<'s> {
        let ns = states.len();
        let totals = states
            .iter()
            .map(|st| (0..np).map(|p| one_pollutant(st.model, p)).collect())
            .collect();
        let laid = states
            .iter()
            .map(|st| {
                (0..np)
                    .map(|p| {
                        (perm.iter())
                            .map(|&g| one_pollutant(&st.groups[g], p))
                            .collect()
                    })
                    .collect()
            })
            .collect();
        let mut children: Vec<Vec<(f64, usize)>> = vec![Vec::new(); ns];
        for s in 0..ns {
            if let Some((from, t)) = goes_on(states, s) {
                children[from].push((t, s));
            }
        }
        children
            .iter_mut()
            .for_each(|c| c.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1))));
        let out = (0..ns)
            .map(|_| (0..np).map(|_| Mutex::new(None)).collect())
            .collect();
        TreeCx {
            net,
            opts,
            states,
            totals,
            laid,
            children,
            out,
        }
    }

    /// Run state `s`, pollutant `p` (from `rp` if given), handing its state to its children on the way.
    fn go<'c>(&'c self, sc: &rayon::Scope<'c>, s: usize, p: usize, rp: Option<Arc<Resume>>) {
        let r = self.run(sc, s, p, rp);
        *self.out[s][p].lock().expect("not poisoned") = Some(r);
    }

    /// The run of [`TreeCx::go`].
    fn run<'c>(
        &'c self,
        sc: &rayon::Scope<'c>,
        s: usize,
        p: usize,
        rp: Option<Arc<Resume>>,
    ) -> Result<TaggedResults, TransportError> {
        let (model, hyd) = (&self.totals[s][p], self.states[s].hyd);
        let groups = groups_of(model, self.net, hyd, self.opts, &self.laid[s][p], true)?;
        let mut sim = solver(model, self.net, hyd, self.opts, groups.as_ref())?;
        let t0 = match &rp {
            Some(rp) => {
                sim.resume(rp)?;
                sim.time_s()
            }
            None => 0.0,
        };
        // the hand-over times: the last output time not after the time each child agrees to (a child
        // that would start before this run did, or at time 0, runs from the start)
        let times = sim.output_times();
        let mut forks: Vec<(f64, usize)> = Vec::new();
        for &(t, c) in &self.children[s] {
            let k = times.partition_point(|&x| x <= t);
            let at = if k == 0 { 0.0 } else { times[k - 1] };
            if at > 0.0 && at >= t0 {
                forks.push((at, c));
            } else {
                sc.spawn(move |sc| self.go(sc, c, p, None));
            }
        }
        // after every step (the last one included: a child that agrees to the end takes the finished
        // state), hand this run's state to the children whose time it is
        let mut next = 0;
        loop {
            let more = sim.step()?;
            while next < forks.len() && forks[next].0 == sim.time_s() {
                let rp = Arc::new(sim.resume_point());
                let c = forks[next].1;
                sc.spawn(move |sc| self.go(sc, c, p, Some(rp)));
                next += 1;
            }
            if !more {
                break;
            }
        }
        // a hand-over time the run did not stop at (not expected: every output time ends a step) leaves
        // the child to run from the start
        for &(_, c) in &forks[next..] {
            sc.spawn(move |sc| self.go(sc, c, p, None));
        }
        Ok(finish(sim, groups.as_ref(), true))
    }

    /// Every state's results, its pollutants put back together and its groups in the caller's order.
    fn results(self, perm: &[usize]) -> Result<Vec<TaggedResults>, TransportError> {
        let (net, states) = (self.net, self.states);
        let ng = states[0].groups.len();
        let mut results = Vec::with_capacity(states.len());
        for (s, row) in self.out.into_iter().enumerate() {
            let mut parts = Vec::with_capacity(row.len());
            for cell in row {
                match cell.into_inner().expect("not poisoned") {
                    Some(r) => parts.push(r?),
                    None => {
                        return Err(TransportError::BadOption {
                            option: "response states",
                            value: format!(
                                "state {s} was never run (the state it goes on from failed)"
                            ),
                            expected: "every state run",
                        });
                    }
                }
            }
            let mut t = merge(states[s].model, net, ng, parts);
            unpermute(&mut t, perm);
            results.push(t);
        }
        Ok(results)
    }
}

/// A pollutant run's state at an output time, for a child state to go on from.
type Resume = ResumePoint<Option<TagState>>;
