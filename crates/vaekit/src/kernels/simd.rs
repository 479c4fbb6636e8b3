//! The elementwise maths of the Bernoulli loss, tanh and Adam, written
//! branch-free so the compiler vectorizes it, and compiled three times: for
//! the baseline x86-64, for AVX2+FMA and for AVX-512, chosen once at run time
//! (the AVX-512 build was added when this kind of machine turned out to have
//! it: bench/NOTES.md, step 10). `exp` and `log1p` are evaluated with
//! polynomials (Cephes' `expf`, and `log1p(e) = 2 atanh(e / (2 + e))`) accurate
//! to about 2e-7 relative, because the C library's scalar calls cannot be
//! vectorized.

use super::AdamStep;

/// Defines `pub fn $name` running the `#[inline(always)]` function `$body`
/// compiled for the best instruction set the CPU has.
macro_rules! multiversion {
    ($(#[$meta:meta])* pub fn $name:ident($($arg:ident: $ty:ty),*) $(-> $ret:ty)? = $body:ident;) => {
        $(#[$meta])*
        // (a kernel takes the slices of every tensor of its step)
        #[allow(clippy::too_many_arguments)]
        pub fn $name($($arg: $ty),*) $(-> $ret)? {
            #[cfg(target_arch = "x86_64")]
            {
                #[allow(clippy::too_many_arguments)]
                #[target_feature(enable = "avx512f,avx2,fma")]
                fn v4($($arg: $ty),*) $(-> $ret)? {
                    $body($($arg),*)
                }
                #[allow(clippy::too_many_arguments)]
                #[target_feature(enable = "avx2,fma")]
                fn v3($($arg: $ty),*) $(-> $ret)? {
                    $body($($arg),*)
                }
                if avx512() {
                    // SAFETY: the CPU has AVX-512F, AVX2 and FMA, checked just above.
                    return unsafe { v4($($arg),*) };
                }
                if avx2() {
                    // SAFETY: the CPU has AVX2 and FMA, checked just above.
                    return unsafe { v3($($arg),*) };
                }
            }
            $body($($arg),*)
        }
    };
}
pub(super) use multiversion;

/// The number of values that are not zero (NaN counts as nonzero), in
/// sixteen lanes of counts.
#[inline(always)]
fn nonzero_count(values: &[f32]) -> usize {
    let mut lanes = [0u32; 16];
    let chunks = values.chunks_exact(16);
    let tail = chunks.remainder().iter().filter(|&&v| v != 0.0).count();
    for chunk in chunks {
        for (lane, &v) in lanes.iter_mut().zip(chunk) {
            *lane += (v != 0.0) as u32;
        }
    }
    lanes.iter().map(|&l| l as usize).sum::<usize>() + tail
}

multiversion! {
    /// See `sparse::count_nonzero` (the counts of one lane stay below
    /// 2^32 up to 2^36 values).
    pub fn count_nonzero(values: &[f32]) -> usize = nonzero_count;
}

const LOG2E: f32 = std::f32::consts::LOG2_E;
const LN2_HI: f32 = 0.693_359_4;
const LN2_LO: f32 = -2.121_944_4e-4;
/// 1.5 * 2^23: adding and subtracting it rounds to the nearest integer.
const ROUND: f32 = 12_582_912.0;

/// e^(-a) for a >= 0, held at e^-80 (about 1.8e-35) beyond: a normal
/// number, never a subnormal one (see [`adam_all`] for why that matters),
/// and far below anything it is added to.
#[inline(always)]
pub(super) fn exp_neg(a: f32) -> f32 {
    let t = (-a).max(-80.0);
    let n = (t * LOG2E + ROUND) - ROUND;
    let r = t - n * LN2_HI - n * LN2_LO;
    let r2 = r * r;
    let p = ((((1.987_569_1e-4 * r + 1.398_199_9e-3) * r + 8.333_452e-3) * r + 4.166_579_6e-2) * r
        + 1.666_666_5e-1)
        * r
        + 0.5;
    let y = p * r2 + r + 1.0;
    let scale = f32::from_bits(((n as i32 + 127) as u32) << 23);
    y * scale
}

#[inline(always)]
fn exp_neg_all(values: &mut [f32]) {
    for v in values {
        *v = exp_neg(*v);
    }
}

multiversion! {
    /// `v = e^(-v)` for each value (see [`exp_neg`]).
    pub fn exp_neg_in_place(values: &mut [f32]) = exp_neg_all;
}

/// log(1 + e) for e in [0, 1].
#[inline(always)]
fn log1p_unit(e: f32) -> f32 {
    let s = e / (2.0 + e);
    let s2 = s * s;
    let poly = 1.0
        + s2 * (1.0 / 3.0
            + s2 * (1.0 / 5.0 + s2 * (1.0 / 7.0 + s2 * (1.0 / 9.0 + s2 * (1.0 / 11.0)))));
    2.0 * s * poly
}

#[inline(always)]
fn row_sum(l: &[f32], x: &[f32]) -> f32 {
    let mut acc = [0.0f32; 8];
    let n = l.len().min(x.len());
    let (lc, xc) = (l[..n].chunks_exact(8), x[..n].chunks_exact(8));
    let (lr, xr) = (lc.remainder(), xc.remainder());
    for (l8, x8) in lc.zip(xc) {
        for k in 0..8 {
            let (l, x) = (l8[k], x8[k]);
            acc[k] += l.max(0.0) - l * x + log1p_unit(exp_neg(l.abs()));
        }
    }
    let mut total: f32 = acc.iter().sum();
    for (&l, &x) in lr.iter().zip(xr) {
        total += l.max(0.0) - l * x + log1p_unit(exp_neg(l.abs()));
    }
    total
}

/// Values below this count as 0 where a subnormal number could follow
/// (see [`adam_all`] for why that matters).
const TINY: f32 = 1e-30;

/// `x`, or 0 when its magnitude is below `floor`.
#[inline(always)]
fn above(x: f32, floor: f32) -> f32 {
    if x.abs() < floor { 0.0 } else { x }
}

/// The loss gradient of a row. A probability below [`TINY`] counts as 0, so that no subnormal number reaches the products of the
/// backward pass (see [`adam_all`]): Adam keeps pushing the logits of
/// pixels that are always 0 further down, and past -83 or so their
/// gradients would be subnormal. The dropped gradient is below 1e-30.
#[inline(always)]
fn row_grad(out: &mut [f32], l: &[f32], x: &[f32], g: f32) {
    for ((o, &l), &x) in out.iter_mut().zip(l).zip(x) {
        let e = exp_neg(l.abs());
        let numerator = if l >= 0.0 { 1.0 } else { e };
        *o = g * (above(numerator / (1.0 + e), TINY) - x);
    }
}

/// Whether the CPU has AVX-512F besides AVX2 and FMA (asked once).
#[cfg(target_arch = "x86_64")]
pub(super) fn avx512() -> bool {
    static AVX512: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *AVX512.get_or_init(|| avx2() && std::arch::is_x86_feature_detected!("avx512f"))
}

/// Whether the CPU has AVX2 and FMA (asked once).
#[cfg(target_arch = "x86_64")]
pub(super) fn avx2() -> bool {
    static AVX2: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *AVX2.get_or_init(|| {
        std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
    })
}

/// tanh(v): Cephes' odd polynomial below |v| = 0.625, else
/// sign(v) (1 - 2 / (1 + e^(2|v|))) through `exp_neg`; within about 2e-7
/// of the C library's, which cannot be vectorized (glibc's calls expm1f).
#[inline(always)]
pub(super) fn tanh(v: f32) -> f32 {
    let a = v.abs();
    let z = v * v;
    let poly = ((((-5.704_988_7e-3 * z + 2.063_909e-2) * z - 5.373_971_6e-2) * z + 1.333_144_2e-1)
        * z
        - 3.333_328e-1)
        * z
        * v
        + v;
    let e = exp_neg(2.0 * a);
    let large = ((1.0 - e) / (1.0 + e)).copysign(v);
    if a < 0.625 { poly } else { large }
}

/// 1 / (1 + e^-v), through [`exp_neg`] of |v| so that nothing overflows.
#[inline(always)]
pub(super) fn sigmoid(v: f32) -> f32 {
    let e = exp_neg(v.abs());
    let numerator = if v >= 0.0 { 1.0 } else { e };
    numerator / (1.0 + e)
}

#[inline(always)]
fn tanh_all(values: &mut [f32]) {
    for v in values {
        *v = tanh(*v);
    }
}

/// Gradients below this add nothing to Adam's second moment (their
/// square, times 1 - beta2, would be subnormal).
const TINY_SQUARED_GRAD: f32 = 1e-15;

/// One Adam step over a chunk of a parameter and its moments.
///
/// No value on the way is allowed to be subnormal: a unit that stops
/// receiving gradient (a dead ReLU) has its moments shrink geometrically,
/// through the subnormal range for thousands of steps, and every multiply
/// there takes a slow microcode path on x86. Measured (bench/NOTES.md
/// step 20): this kernel grew to 39 % of a 500-500 ReLU model's training
/// profile and its one-thread epochs from about 11 s to 16.4 s. So
/// gradients and moments below [`TINY`] count as 0, and gradients below
/// [`TINY_SQUARED_GRAD`] add nothing to the second moment. The step this drops is below 1e-20,
/// and a second moment below 1e-30 is far under `epsilon` squared, so the
/// parameters come out the same in f32.
#[inline(always)]
fn adam_all(p: &mut [f32], m: &mut [f32], v: &mut [f32], g: &[f32], s: AdamStep) {
    let n = p.len().min(m.len()).min(v.len()).min(g.len());
    let (p, m, v, g) = (&mut p[..n], &mut m[..n], &mut v[..n], &g[..n]);
    for i in 0..n {
        let g = above(
            above(g[i], TINY) * s.grad_scale + s.weight_decay * p[i],
            TINY,
        );
        let g2 = above(g, TINY_SQUARED_GRAD);
        m[i] = above(s.beta1 * m[i] + (1.0 - s.beta1) * g, TINY);
        v[i] = above(s.beta2 * v[i] + (1.0 - s.beta2) * g2 * g2, TINY);
        p[i] -= s.step_size * m[i] / (v[i].sqrt() * s.inv_bias2_sqrt + s.epsilon);
    }
}

multiversion! {
    /// Replaces every value by its tanh.
    pub fn tanh_in_place(values: &mut [f32]) = tanh_all;
}

multiversion! {
    /// Sum over a row of max(l, 0) - l x + log(1 + e^-|l|).
    pub fn bce_row_sum(l: &[f32], x: &[f32]) -> f32 = row_sum;
}

multiversion! {
    /// `out = g * (sigmoid(l) - x)` over a row.
    pub fn bce_row_grad(out: &mut [f32], l: &[f32], x: &[f32], g: f32) = row_grad;
}

multiversion! {
    /// One Adam step, in place, over a chunk of a parameter (`p`), its
    /// moments (`m`, `v`) and its gradient (`g`).
    pub fn adam(p: &mut [f32], m: &mut [f32], v: &mut [f32], g: &[f32], s: AdamStep) = adam_all;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adam_keeps_no_subnormal_moments_and_the_same_parameters() {
        let s = AdamStep {
            step_size: 1e-3 / (1.0 - 0.9f32.powi(500)),
            beta1: 0.9,
            beta2: 0.999,
            inv_bias2_sqrt: 1.0 / (1.0 - 0.999f32.powi(500)).sqrt(),
            epsilon: 1e-8,
            weight_decay: 0.0,
            grad_scale: 1.0,
        };
        let sub = f32::MIN_POSITIVE / 8.0; // subnormal
        // A dead unit (zero gradient, decaying moments), tiny gradients,
        // and ordinary values, over a vector width and a remainder.
        let mut g = vec![0.0, sub, 1e-20, 3e-3, -0.2, 1e-17];
        let mut m = vec![sub, 1e-31, sub, 1e-3, -2e-2, 1e-18];
        let mut v = vec![sub, 1e-33, 1e-36, 1e-6, 3e-2, 1e-35];
        for vec in [&mut g, &mut m, &mut v] {
            *vec = vec.iter().cycle().take(6 * 7).copied().collect();
        }
        let p0: Vec<f32> = (0..g.len()).map(|i| 0.05 - 0.003 * i as f32).collect();
        let mut p = p0.clone();
        let (m0, v0) = (m.clone(), v.clone());
        adam(&mut p, &mut m, &mut v, &g, s);
        for i in 0..p.len() {
            assert!(m[i] == 0.0 || m[i].is_normal(), "m[{i}] = {:e}", m[i]);
            assert!(v[i] == 0.0 || v[i].is_normal(), "v[{i}] = {:e}", v[i]);
            // The textbook step in f64, without any flushing.
            let (b1, b2) = (s.beta1 as f64, s.beta2 as f64);
            let (gi, pi) = (g[i] as f64, p0[i] as f64);
            let mi = b1 * m0[i] as f64 + (1.0 - b1) * gi;
            let vi = b2 * v0[i] as f64 + (1.0 - b2) * gi * gi;
            let want = pi
                - s.step_size as f64 * mi
                    / (vi.sqrt() * s.inv_bias2_sqrt as f64 + s.epsilon as f64);
            let tolerance = 1e-6 * want.abs() + 1e-9;
            assert!(
                (p[i] as f64 - want).abs() <= tolerance,
                "p[{i}]: {} vs {want}",
                p[i]
            );
            if g[i].abs() < 1e-16 && m0[i].abs() < 1e-16 {
                assert_eq!(p[i], p0[i], "a vanishing step leaves p[{i}] as it was");
            }
        }
        assert!(m[0] == 0.0 && v[0] == 0.0, "a dead unit's moments go to 0");
    }

    #[test]
    fn exp_and_log1p_match_the_c_library() {
        let mut worst = 0.0f64;
        for i in 0..20_000 {
            let a = i as f32 * 0.005; // 0 .. 100
            let want = (-(a as f64)).exp();
            let got = exp_neg(a) as f64;
            if want > 1e-30 {
                worst = worst.max((got - want).abs() / want);
            }
            let e = (i as f32 / 20_000.0) as f64;
            let want = e.ln_1p();
            let got = log1p_unit(e as f32) as f64;
            if want > 0.0 {
                worst = worst.max((got - want).abs() / want);
            }
        }
        assert!(worst < 5e-7, "worst relative error {worst}");
        let mut worst = 0.0f64;
        let mut values: Vec<f32> = (0..40_000).map(|i| (i as f32 - 20_000.0) * 5e-4).collect();
        let inputs = values.clone();
        tanh_in_place(&mut values);
        for (&x, &got) in inputs.iter().zip(&values) {
            worst = worst.max((got as f64 - (x as f64).tanh()).abs());
        }
        assert!(worst < 3e-7, "worst absolute tanh error {worst}");
        assert_eq!(exp_neg(1000.0), exp_neg(80.0));
        assert!(exp_neg(1000.0) < 2e-35 && exp_neg(1000.0).is_normal());
    }
}
