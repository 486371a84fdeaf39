//! The hot loop: one explicit advection–dispersion–decay step over a chunk of cells.
//!
//! For each reach segment in the chunk the loop walks the cells in order, computing the flux through the
//! right face of each cell (the left face's flux is carried over from the previous cell), so every face flux
//! is computed once. Per cell it streams the old concentration, the face flow, the dispersive conductance,
//! the volume and its inverse, and writes the new concentration: 48 bytes per cell-step, stride 1.
//!
//! Face value (flow Q > 0; mirrored for Q < 0): C_f = C_U + ½(1 − ν)·L with ν = Q·Δt/V_U and the MC limited
//! difference L = minmod(2(C_U − C_UU), ½(C_D − C_UU), 2(C_D − C_U)); face flux F = Q·C_f + D·(C_left −
//! C_right). Update with Strang splitting of the decay: C** = h·(C + Δt/V·(F_left − F_right)), C_new = h·C**,
//! h = exp(−k·Δt/2) the exact half-step factor. (Decaying a full step after transport would age the water
//! entering a reach by a whole step in its first step, shifting a plug-flow profile by half a cell.)

/// MC-limited difference for the upwind value `u`, far-upwind `uu` and downwind `d`:
/// minmod(2(u − uu), ½(d − uu), 2(d − u)); 0 at an extremum.
#[inline(always)]
pub(crate) fn mc_slope(uu: f64, u: f64, d: f64) -> f64 {
    let du = u - uu;
    let dd = d - u;
    let a = du.abs();
    let b = dd.abs();
    // with du and dd of one sign, |½(du + dd)| = ½(a + b)
    let m = (2.0 * a).min(2.0 * b).min(0.5 * (a + b));
    let m = if du * dd > 0.0 { m } else { 0.0 };
    m.copysign(dd)
}

/// Limited face value for upwind `u`, far-upwind `uu`, downwind `d` and Courant number `nu`.
#[inline(always)]
pub(crate) fn face_value(uu: f64, u: f64, d: f64, nu: f64) -> f64 {
    u + 0.5 * (1.0 - nu) * mc_slope(uu, u, d)
}

/// Everything one step reads.
pub(crate) struct StepData<'a> {
    /// Old concentrations, extended indexing (ghosts set to the node concentrations).
    pub c: &'a [f64],
    /// Face flows.
    pub q: &'a [f64],
    /// Dispersive conductances.
    pub d: &'a [f64],
    /// Cell volumes (extended).
    pub vol: &'a [f64],
    /// Inverse cell volumes (extended).
    pub inv_vol: &'a [f64],
    /// Mass flux through the from-face (index 2r) and to-face (2r + 1) of every reach, g/s, from the node
    /// pass.
    pub bflux: &'a [f64],
    /// Half-step decay factor exp(−k·Δt/2) per reach.
    pub decay: &'a [f64],
    /// Extended index of cell 0 of each reach.
    pub base: &'a [usize],
    /// First face of each reach.
    pub first_face: &'a [usize],
    /// Cells per reach.
    pub n_cells: &'a [usize],
    /// Reaches in layout order.
    pub order: &'a [usize],
    /// First layout rank touching each chunk.
    pub chunk_first_rank: &'a [usize],
    /// Step, s.
    pub dt: f64,
}

/// Advance chunk `k` (extended indices `k·len .. k·len + out.len()`, `len` the chunk size) into `out`.
/// Returns the mass decayed in the chunk, g. Ghost slots in `out` are left alone.
pub(crate) fn step_chunk(s: &StepData, k: usize, chunk: usize, out: &mut [f64]) -> f64 {
    let lo = k * chunk;
    let hi = lo + out.len();
    let mut decayed = 0.0;
    let mut rank = s.chunk_first_rank[k];
    while rank < s.order.len() {
        let r = s.order[rank];
        let b = s.base[r];
        let n = s.n_cells[r];
        if b >= hi {
            break;
        }
        let jlo = lo.max(b) - b;
        let jhi = hi.min(b + n).saturating_sub(b);
        if jlo < jhi {
            let mass = segment(s, r, jlo, jhi, &mut out[b + jlo - lo..b + jhi - lo]);
            decayed += (1.0 - s.decay[r]) * mass;
        }
        rank += 1;
    }
    decayed
}

/// Cells `jlo..jhi` of reach `r`; `out[j − jlo]` receives cell j. Returns Σ V·(C + C**), g: the masses
/// that the two half-step decays act on (Strang splitting: C** = h·C + Δt/V·h·(F_l − F_r), C_new = h·C**,
/// h = exp(−kΔt/2); the fluxes are linear in C, so the interior fluxes of h·C are h times those of C, and the
/// node pass hands in boundary fluxes already divided by h).
#[inline]
fn segment(s: &StepData, r: usize, jlo: usize, jhi: usize, out: &mut [f64]) -> f64 {
    let n = s.n_cells[r];
    let b = s.base[r];
    let f0 = s.first_face[r];
    let dt = s.dt;
    let h = s.decay[r];
    // local views: cl[j + 1] = cell j, cl[0] = from ghost, cl[n + 1] = to ghost
    let cl = &s.c[b - 1..b + n + 1];
    let q = &s.q[f0..f0 + n + 1];
    let dd = &s.d[f0..f0 + n + 1];
    let iv = &s.inv_vol[b..b + n];
    let v = &s.vol[b..b + n];

    // flux through interior face j (1 ≤ j ≤ n − 1), between cell j − 1 and cell j
    let flux = |j: usize| -> f64 {
        let qq = q[j];
        let left = cl[j];
        let right = cl[j + 1];
        let pos = qq >= 0.0;
        let u = if pos { left } else { right };
        let dn = if pos { right } else { left };
        let uu = if pos { cl[j - 1] } else { cl[j + 2] };
        let ivu = if pos { iv[j - 1] } else { iv[j] };
        let nu = qq.abs() * dt * ivu;
        qq * face_value(uu, u, dn, nu) + dd[j] * (left - right)
    };

    let mut fl = if jlo == 0 { s.bflux[2 * r] } else { flux(jlo) };
    let mut mass = 0.0;
    let last = jhi.min(n - 1);
    let out = &mut out[..jhi - jlo];
    for j in jlo..last {
        let fr = flux(j + 1);
        let c0 = cl[j + 1];
        let cs = h * (c0 + dt * iv[j] * (fl - fr));
        mass += v[j] * (c0 + cs);
        out[j - jlo] = h * cs;
        fl = fr;
    }
    if jhi == n {
        let j = n - 1;
        let fr = s.bflux[2 * r + 1];
        let c0 = cl[j + 1];
        let cs = h * (c0 + dt * iv[j] * (fl - fr));
        mass += v[j] * (c0 + cs);
        out[j - jlo] = h * cs;
    }
    mass
}
