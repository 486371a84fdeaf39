//! Idle threads helping a busy one, step by step, without waking the pool.
//!
//! A tagged run steps each pollutant on one thread (the pollutants are independent). Near the end of a run
//! some threads have no pollutant left while others are still stepping theirs; a step is a few tens of
//! microseconds, too short for `rayon::join` to reach a worker that has gone to sleep in time. An
//! [`Assist`] is a single job slot that idle threads watch while spinning: a busy thread offers the second
//! half of its step's cell pass there ([`Assist::join`]), works on the first half, and then either finds
//! its offer taken (and waits for it to finish) or takes it back and runs it itself. Which thread runs a
//! half never changes the result: the halves write disjoint reaches.
//!
//! Protocol: the slot holds a pointer to a job on the offering thread's stack, or null. Whoever swaps the
//! pointer out of the slot (compare-and-swap) owns the job, so it runs exactly once; a helper marks it done
//! (release) after running it, and the offering thread does not return (so the job outlives every use)
//! before it has either taken the job back or seen it done (acquire).

use std::cell::{Cell, UnsafeCell};
use std::ptr;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicUsize, Ordering};

/// A job slot shared by the threads of one tagged run.
pub(super) struct Assist {
    slot: AtomicPtr<()>,
    /// Threads waiting in [`Assist::help`] loops (see [`Assist::idle`]).
    idle: AtomicUsize,
}

/// The type-erased head of a [`Job`]: how to run it and whether it has run.
#[repr(C)]
struct Head {
    run: unsafe fn(*const ()),
    done: AtomicBool,
    panicked: AtomicBool,
}

/// A job offered in the slot: the head, then the closure (taken out when it runs).
#[repr(C)]
struct Job<F> {
    head: Head,
    f: UnsafeCell<Option<F>>,
}

/// Run the job at `p` (a `Job<F>` owned by the caller, see the module docs) and mark it done.
///
/// # Safety
/// `p` must point to a live `Job<F>` that the caller took out of the slot.
unsafe fn run_job<F: FnOnce()>(p: *const ()) {
    // SAFETY: the caller owns the job (it won the swap), so nobody else touches `f`
    let job = unsafe { &*(p as *const Job<F>) };
    let f = unsafe { (*job.f.get()).take() };
    if let Some(f) = f
        && std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).is_err()
    {
        job.head.panicked.store(true, Ordering::Relaxed);
    }
    // after this store the offering thread may return and free the job: nothing here touches it again
    job.head.done.store(true, Ordering::Release);
}

impl Assist {
    pub fn new() -> Assist {
        Assist {
            slot: AtomicPtr::new(ptr::null_mut()),
            idle: AtomicUsize::new(0),
        }
    }

    /// Count this thread among the idle ones from now on (it will only call [`Assist::help`]).
    pub fn idle(&self) {
        self.idle.fetch_add(1, Ordering::Release);
    }

    /// Whether some thread is idle: only then is an offer worth its cost (copies made for it).
    pub fn has_idle(&self) -> bool {
        self.idle.load(Ordering::Acquire) > 0
    }

    /// Run `a` on this thread and `b` on this thread or on a thread in [`Assist::help`]; returns when both
    /// have run.
    pub fn join<A: FnOnce(), B: FnOnce() + Send>(&self, a: A, b: B) {
        let job = Job {
            head: Head {
                run: run_job::<B>,
                done: AtomicBool::new(false),
                panicked: AtomicBool::new(false),
            },
            f: UnsafeCell::new(Some(b)),
        };
        let p = &job as *const Job<B> as *mut ();
        let offered = self
            .slot
            .compare_exchange(ptr::null_mut(), p, Ordering::AcqRel, Ordering::Acquire)
            .is_ok();
        a();
        if offered
            && self
                .slot
                .compare_exchange(p, ptr::null_mut(), Ordering::AcqRel, Ordering::Acquire)
                .is_err()
        {
            // a helper took it: wait until it has run
            while !job.head.done.load(Ordering::Acquire) {
                std::hint::spin_loop();
            }
            if job.head.panicked.load(Ordering::Relaxed) {
                panic!("a helper thread panicked running half of a tagged step");
            }
        } else {
            // not offered (the slot was busy) or taken back: run it here
            // SAFETY: nobody else can reach the job any more
            unsafe { run_job::<B>(p) };
        }
    }

    /// Run the job in the slot, if there is one; whether one was run.
    pub fn help(&self) -> bool {
        let p = self.slot.load(Ordering::Acquire);
        if p.is_null()
            || self
                .slot
                .compare_exchange(p, ptr::null_mut(), Ordering::AcqRel, Ordering::Acquire)
                .is_err()
        {
            return false;
        }
        // SAFETY: we took the job out of the slot, so we own it, and its offering thread waits for `done`
        // before the job goes out of scope; `Head` is the first field of every `Job` (repr(C))
        unsafe {
            let head = &*(p as *const Head);
            (head.run)(p)
        };
        true
    }
}

/// Run `work(0) .. work(n − 1)` on every thread of the current rayon pool and return the results in that
/// order: each thread takes the next index until none is left, then helps those still working (their
/// [`join`]s) until all are done. Idle threads spin between offers (a step is tens of microseconds:
/// waking from a sleep would come too late), yielding to the scheduler now and then in case another
/// process wants the core.
pub(super) fn share<T: Send>(n: usize, work: impl Fn(usize) -> T + Sync) -> Vec<T> {
    let shared = Assist::new();
    let next = AtomicUsize::new(0);
    let finished = AtomicUsize::new(0);
    let out: Vec<Mutex<Option<T>>> = (0..n).map(|_| Mutex::new(None)).collect();
    rayon::broadcast(|_| {
        with_assist(&shared, || {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    break;
                }
                // counted as finished even if the work panics, so the helpers stop waiting
                struct Count<'a>(&'a AtomicUsize);
                impl Drop for Count<'_> {
                    fn drop(&mut self) {
                        self.0.fetch_add(1, Ordering::Release);
                    }
                }
                let _count = Count(&finished);
                let r = work(i);
                *out[i].lock().unwrap_or_else(|e| e.into_inner()) = Some(r);
            }
            shared.idle();
            let mut empty = 0u32;
            while finished.load(Ordering::Acquire) < n {
                if shared.help() {
                    empty = 0;
                } else {
                    empty = empty.wrapping_add(1);
                    if empty.is_multiple_of(256) {
                        std::thread::yield_now();
                    } else {
                        std::hint::spin_loop();
                    }
                }
            }
        })
    });
    out.into_iter()
        .map(|m| {
            m.into_inner()
                .unwrap_or_else(|e| e.into_inner())
                .expect("every item ran (a panic would have ended the broadcast)")
        })
        .collect()
}

thread_local! {
    /// The assist of the tagged run this thread works for, if any (set by [`with_assist`]).
    static CURRENT: Cell<*const Assist> = const { Cell::new(ptr::null()) };
}

/// Run `f` with `a` as this thread's assist (what [`current`] returns inside `f`).
pub(super) fn with_assist<R>(a: &Assist, f: impl FnOnce() -> R) -> R {
    struct Reset(*const Assist);
    impl Drop for Reset {
        fn drop(&mut self) {
            CURRENT.with(|c| c.set(self.0));
        }
    }
    let _reset = Reset(CURRENT.with(|c| c.replace(a as *const Assist)));
    f()
}

/// Whether this thread works for a tagged run some other thread of which is idle, ready to help.
pub(super) fn has_helpers() -> bool {
    current(|a| a.is_some_and(Assist::has_idle))
}

/// Run `a` and `b`, maybe on two threads: within a tagged run of its own threads, [`Assist::join`] while one
/// of them is idle, else both here; elsewhere (runs sharing the pool) `rayon::join`, so that a free worker
/// may steal `b`.
pub(super) fn join<A: FnOnce() + Send, B: FnOnce() + Send>(a: A, b: B) {
    current(|h| match h {
        Some(h) if h.has_idle() => h.join(a, b),
        None if rayon::current_num_threads() > 1 => {
            rayon::join(a, b);
        }
        _ => {
            a();
            b();
        }
    })
}

/// Call `f` with this thread's assist, if it has one.
pub(super) fn current<R>(f: impl FnOnce(Option<&Assist>) -> R) -> R {
    let p = CURRENT.with(|c| c.get());
    // SAFETY: `with_assist` sets the pointer only for the duration of a borrow of a live `Assist` and
    // resets it before that borrow ends
    f(unsafe { p.as_ref() })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Many joins from one thread while another helps: every half runs exactly once, whichever thread
    /// takes it.
    #[test]
    fn every_half_runs_once() {
        let a = Assist::new();
        let stop = AtomicBool::new(false);
        let (ran_a, ran_b, helped) = (
            AtomicUsize::new(0),
            AtomicUsize::new(0),
            AtomicUsize::new(0),
        );
        std::thread::scope(|s| {
            s.spawn(|| {
                while !stop.load(Ordering::Acquire) {
                    if a.help() {
                        helped.fetch_add(1, Ordering::Relaxed);
                    }
                }
            });
            for _ in 0..20_000 {
                let mut out = [0u8; 2];
                let (x, y) = out.split_at_mut(1);
                a.join(
                    || {
                        x[0] += 1;
                        ran_a.fetch_add(1, Ordering::Relaxed);
                    },
                    || {
                        y[0] += 1;
                        ran_b.fetch_add(1, Ordering::Relaxed);
                    },
                );
                assert_eq!(out, [1, 1]);
            }
            stop.store(true, Ordering::Release);
        });
        assert_eq!(ran_a.load(Ordering::Relaxed), 20_000);
        assert_eq!(ran_b.load(Ordering::Relaxed), 20_000);
        // (how many the helper took depends on the scheduler; it is at most all of them)
        assert!(helped.load(Ordering::Relaxed) <= 20_000);
    }

    /// `share` on a 2-thread pool: every item runs once and the results come back in order, also when the
    /// items offer halves to the threads that have run out of items.
    #[test]
    fn share_runs_every_item_once_in_order() {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(2)
            .build()
            .unwrap();
        let ran = AtomicUsize::new(0);
        let out = pool.install(|| {
            share(7, |i| {
                ran.fetch_add(1, Ordering::Relaxed);
                let mut v = [0usize; 2];
                for _ in 0..1000 {
                    let (a, b) = v.split_at_mut(1);
                    join(|| a[0] = i, || b[0] = i * i);
                }
                v
            })
        });
        assert_eq!(out, (0..7).map(|i| [i, i * i]).collect::<Vec<_>>());
        assert_eq!(ran.load(Ordering::Relaxed), 7);
    }

    /// Without a helper the offer is taken back and run here; the thread-local assist is set only inside
    /// `with_assist`.
    #[test]
    fn alone_and_scoped() {
        let a = Assist::new();
        let mut n = 0;
        a.join(|| n += 1, || ());
        assert_eq!(n, 1);
        assert!(current(|x| x.is_none()));
        with_assist(&a, || assert!(current(|x| x.is_some())));
        assert!(current(|x| x.is_none()));
    }
}
