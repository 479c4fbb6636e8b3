//! Codes to decode: paths between two codes, a grid of prior quantiles, and
//! traversals of one dimension at a time. Pure arithmetic on row-major `f32`
//! codes, so it is tested against hand-computed values.
//!
//! # Spherical paths
//!
//! Under a standard-normal prior, codes of dimension `d` concentrate near the
//! sphere of radius `√d`; the straight line between two of them passes closer
//! to the origin, where the prior puts few typical codes, and its midpoints
//! decode to blurred averages (White 2016, "Sampling generative networks"). A
//! spherical path instead turns the direction along the great circle at
//! constant angular speed while the length changes linearly from one end's
//! length to the other's, so it stays at typical lengths. For two codes of the
//! same length this is the classical slerp. Codes pointing the same way (an
//! angle below [`COLLINEAR`] radians) fall back to the straight line, which then
//! is the same path; opposite codes have no unique great circle, and the path
//! turns through a fixed direction perpendicular to the first code.

use std::str::FromStr;

use crate::error::{Error, Result};

/// Angles (radians) this close to 0 or π count as collinear in [`slerp`].
pub const COLLINEAR: f64 = 1e-6;

/// How to go from one code to another.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PathKind {
    /// The straight line, `(1 - t) a + t b`.
    #[default]
    Linear,
    /// The spherical path described in the module docs.
    Slerp,
}

impl FromStr for PathKind {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        match s {
            "linear" => Ok(Self::Linear),
            "slerp" => Ok(Self::Slerp),
            other => Err(format!("unknown path '{other}'; use linear or slerp")),
        }
    }
}

impl std::fmt::Display for PathKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Linear => "linear",
            Self::Slerp => "slerp",
        })
    }
}

/// Checks a number of pictures along a path or a traversal: 2 to `max`.
pub fn check_steps(steps: usize, max: usize) -> Result<()> {
    if !(2..=max).contains(&steps) {
        return Err(Error::setting(
            "--steps",
            format!("{steps} is not a usable number of steps; give 2 to {max}"),
        ));
    }
    Ok(())
}

/// `steps` evenly spaced fractions from 0 to 1 inclusive (one step gives 0).
pub fn fractions(steps: usize) -> Vec<f64> {
    if steps <= 1 {
        return vec![0.0; steps];
    }
    (0..steps).map(|i| i as f64 / (steps - 1) as f64).collect()
}

fn norm(v: &[f64]) -> f64 {
    v.iter().map(|x| x * x).sum::<f64>().sqrt()
}

/// The point at fraction `t` of the spherical path from `a` to `b` (see the
/// module docs); `t = 0` gives `a` and `t = 1` gives `b`.
pub fn slerp(a: &[f32], b: &[f32], t: f64) -> Vec<f32> {
    let a64: Vec<f64> = a.iter().map(|&v| f64::from(v)).collect();
    let b64: Vec<f64> = b.iter().map(|&v| f64::from(v)).collect();
    let (na, nb) = (norm(&a64), norm(&b64));
    let lerp = || {
        a64.iter()
            .zip(&b64)
            .map(|(x, y)| ((1.0 - t) * x + t * y) as f32)
            .collect::<Vec<f32>>()
    };
    if na == 0.0 || nb == 0.0 {
        return lerp();
    }
    let ua: Vec<f64> = a64.iter().map(|x| x / na).collect();
    let ub: Vec<f64> = b64.iter().map(|x| x / nb).collect();
    let cos = ua
        .iter()
        .zip(&ub)
        .map(|(x, y)| x * y)
        .sum::<f64>()
        .clamp(-1.0, 1.0);
    let omega = cos.acos();
    let length = (1.0 - t) * na + t * nb;
    if omega < COLLINEAR {
        return lerp();
    }
    let direction: Vec<f64> = if std::f64::consts::PI - omega < COLLINEAR {
        // Opposite codes: turn through the unit vector perpendicular to `a`
        // built from the axis `a` leans on least.
        let axis = (0..ua.len())
            .min_by(|&i, &j| ua[i].abs().total_cmp(&ua[j].abs()))
            .unwrap_or(0);
        let mut p: Vec<f64> = ua.iter().map(|x| -x * ua[axis]).collect();
        p[axis] += 1.0;
        let np = norm(&p);
        if np == 0.0 {
            // A one-dimensional code: no perpendicular exists.
            return lerp();
        }
        let angle = std::f64::consts::PI * t;
        ua.iter()
            .zip(&p)
            .map(|(u, p)| angle.cos() * u + angle.sin() * p / np)
            .collect()
    } else {
        let (wa, wb) = (
            ((1.0 - t) * omega).sin() / omega.sin(),
            (t * omega).sin() / omega.sin(),
        );
        ua.iter().zip(&ub).map(|(x, y)| wa * x + wb * y).collect()
    };
    direction.iter().map(|u| (length * u) as f32).collect()
}

/// `steps` codes from `a` to `b` inclusive along `kind`, row-major `[steps, d]`.
///
/// # Errors
///
/// [`Error::Setting`] for fewer than 2 steps or codes of different lengths.
pub fn path(a: &[f32], b: &[f32], steps: usize, kind: PathKind) -> Result<Vec<f32>> {
    if steps < 2 {
        return Err(Error::setting(
            "--steps",
            format!("a path needs at least 2 steps (its two ends), not {steps}"),
        ));
    }
    if a.len() != b.len() || a.is_empty() {
        return Err(Error::Data(format!(
            "the two ends of a path are codes of different sizes ({} and {})",
            a.len(),
            b.len()
        )));
    }
    let mut out = Vec::with_capacity(steps * a.len());
    for t in fractions(steps) {
        match kind {
            PathKind::Linear => out.extend(
                a.iter()
                    .zip(b)
                    .map(|(&x, &y)| ((1.0 - t) * f64::from(x) + t * f64::from(y)) as f32),
            ),
            PathKind::Slerp => out.extend(slerp(a, b, t)),
        }
    }
    Ok(out)
}

/// The standard normal's quantile function Φ⁻¹(p), from `statrs`; infinite at
/// 0 and 1, NaN outside `[0, 1]`.
pub fn inverse_normal_cdf(p: f64) -> f64 {
    use statrs::distribution::{ContinuousCDF, Normal};
    if !(0.0..=1.0).contains(&p) {
        return f64::NAN;
    }
    Normal::standard().inverse_cdf(p)
}

/// `n` values of a standard-normal code dimension that split the prior into
/// `n` equally likely slices: Φ⁻¹((i + ½) / n) for i = 0..n, increasing.
/// Decoded over a grid of these, every cell of a 2-D latent gets the same
/// prior mass (Kingma and Welling 2014, figure 4).
pub fn normal_quantile_grid(n: usize) -> Vec<f64> {
    (0..n)
        .map(|i| inverse_normal_cdf((i as f64 + 0.5) / n as f64))
        .collect()
}

/// Traversal codes: for each dimension in `dims` (in that order), `steps`
/// copies of `base` with that dimension set to evenly spaced values from
/// `-range` to `range`. Row-major `[dims.len() * steps, base.len()]`, one block
/// of `steps` rows per dimension.
///
/// # Errors
///
/// [`Error::Setting`] for fewer than 2 steps, a range that is not positive
/// and finite, or a dimension outside the code.
pub fn traversal_codes(base: &[f32], dims: &[usize], range: f64, steps: usize) -> Result<Vec<f32>> {
    if steps < 2 {
        return Err(Error::setting(
            "--steps",
            format!("a traversal needs at least 2 steps, not {steps}"),
        ));
    }
    if !(range.is_finite() && range > 0.0) {
        return Err(Error::setting(
            "--range",
            format!("{range} is not a positive number of prior standard deviations; try 3"),
        ));
    }
    if let Some(&bad) = dims.iter().find(|&&d| d >= base.len()) {
        return Err(Error::setting(
            "--dims",
            format!(
                "the code has dimensions 0 to {}; {bad} is not one",
                base.len().saturating_sub(1)
            ),
        ));
    }
    let values = traversal_values(range, steps);
    let mut out = Vec::with_capacity(dims.len() * steps * base.len());
    for &d in dims {
        for &v in &values {
            let start = out.len();
            out.extend_from_slice(base);
            out[start + d] = v as f32;
        }
    }
    Ok(out)
}

/// The values one traversal row takes: `steps` evenly spaced from `-range` to `range`.
pub fn traversal_values(range: f64, steps: usize) -> Vec<f64> {
    fractions(steps)
        .into_iter()
        .map(|t| -range + 2.0 * range * t)
        .collect()
}

/// Dimensions ordered by decreasing `kl` (NaN last, ties by index).
pub fn dims_by_kl(kl: &[f64]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..kl.len()).collect();
    let key = |i: usize| {
        if kl[i].is_nan() {
            f64::NEG_INFINITY
        } else {
            kl[i]
        }
    };
    order.sort_by(|&a, &b| key(b).total_cmp(&key(a)).then(a.cmp(&b)));
    order
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: &[f32], b: &[f32], tol: f32) -> bool {
        a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (x - y).abs() <= tol)
    }

    #[test]
    fn linear_path_is_evenly_spaced() {
        let p = path(&[0.0, 2.0], &[4.0, -2.0], 5, PathKind::Linear).unwrap();
        let want = [0.0, 2.0, 1.0, 1.0, 2.0, 0.0, 3.0, -1.0, 4.0, -2.0];
        assert!(close(&p, &want, 1e-6), "{p:?}");
    }

    #[test]
    fn slerp_hits_both_ends_and_hand_values() {
        let (a, b) = ([1.0f32, 0.0], [0.0f32, 1.0]);
        assert!(close(&slerp(&a, &b, 0.0), &a, 1e-7));
        assert!(close(&slerp(&a, &b, 1.0), &b, 1e-7));
        // A quarter circle: the midpoint is at 45 degrees, one third at 30.
        let h = std::f32::consts::FRAC_1_SQRT_2;
        assert!(close(&slerp(&a, &b, 0.5), &[h, h], 1e-6));
        assert!(close(&slerp(&a, &b, 1.0 / 3.0), &[0.866_025_4, 0.5], 1e-6));
        // Different lengths: length 2 -> 1, the midpoint has length 1.5 at 45 degrees.
        let m = slerp(&[2.0, 0.0], &[0.0, 1.0], 0.5);
        assert!(close(&m, &[1.5 * h, 1.5 * h], 1e-6), "{m:?}");
        // Ends of a long path in 5-D.
        let (a, b) = (
            [0.3f32, -1.2, 0.7, 2.0, -0.4],
            [-1.0f32, 0.5, 0.2, 0.1, 1.9],
        );
        let p = path(&a, &b, 7, PathKind::Slerp).unwrap();
        assert!(close(&p[..5], &a, 1e-6) && close(&p[30..], &b, 1e-6));
    }

    #[test]
    fn slerp_keeps_unit_vectors_on_the_sphere() {
        let a = [0.6f32, 0.0, -0.8];
        let b = [0.0f32, 1.0, 0.0];
        for t in fractions(11) {
            let v = slerp(&a, &b, t);
            let n: f32 = v.iter().map(|x| x * x).sum::<f32>().sqrt();
            assert!((n - 1.0).abs() < 1e-6, "t = {t}: |v| = {n}");
        }
    }

    #[test]
    fn slerp_handles_collinear_codes() {
        // Same direction: the straight line.
        let m = slerp(&[1.0, 1.0], &[3.0, 3.0], 0.5);
        assert!(close(&m, &[2.0, 2.0], 1e-6), "{m:?}");
        // Opposite: through a perpendicular, keeping the length.
        let m = slerp(&[2.0, 0.0], &[-2.0, 0.0], 0.5);
        assert!(
            m[0].abs() < 1e-6 && (m[1].abs() - 2.0).abs() < 1e-6,
            "{m:?}"
        );
        let e = slerp(&[2.0, 0.0], &[-2.0, 0.0], 1.0);
        assert!(close(&e, &[-2.0, 0.0], 1e-6), "{e:?}");
        // Zero codes and one dimension: the straight line, never NaN.
        assert!(close(
            &slerp(&[0.0, 0.0], &[2.0, 0.0], 0.25),
            &[0.5, 0.0],
            1e-7
        ));
        assert!(close(&slerp(&[1.0], &[-1.0], 0.5), &[0.0], 1e-7));
    }

    #[test]
    fn bad_paths_are_errors() {
        assert!(path(&[1.0], &[2.0], 1, PathKind::Linear).is_err());
        assert!(path(&[1.0], &[2.0, 3.0], 3, PathKind::Slerp).is_err());
    }

    #[test]
    fn inverse_normal_cdf_matches_scipy() {
        // scipy.stats.norm.ppf(p) for each p, printed with repr().
        for (p, want) in [
            (1e-10, -6.361340902404056),
            (0.001, -3.090232306167813),
            (0.025, -1.9599639845400545),
            (0.1, -1.2815515655446004),
            (0.3, -0.5244005127080409),
            (0.5, 0.0),
            (0.7, 0.5244005127080407),
            (0.975, 1.959963984540054),
            (0.999999, 4.753424308817087),
        ] {
            let got = inverse_normal_cdf(p);
            assert!(
                (got - want).abs() < 1e-9 * want.abs().max(1.0),
                "Φ⁻¹({p}) = {got}, scipy {want}"
            );
        }
        assert!(inverse_normal_cdf(-0.1).is_nan() && inverse_normal_cdf(1.5).is_nan());
        // norm.ppf((np.arange(5) + 0.5) / 5)
        let grid = normal_quantile_grid(5);
        let want = [
            -1.2815515655446004,
            -0.5244005127080409,
            0.0,
            0.5244005127080407,
            1.2815515655446004,
        ];
        for (g, w) in grid.iter().zip(want) {
            assert!((g - w).abs() < 1e-9, "{grid:?}");
        }
    }

    #[test]
    fn traversal_has_one_block_per_dimension_in_order() {
        let base = [0.5f32, -0.5, 2.0];
        let codes = traversal_codes(&base, &[2, 0], 3.0, 3).unwrap();
        assert_eq!(codes.len(), 2 * 3 * 3);
        #[rustfmt::skip]
        let want = [
            0.5, -0.5, -3.0,   0.5, -0.5, 0.0,   0.5, -0.5, 3.0,
            -3.0, -0.5, 2.0,   0.0, -0.5, 2.0,   3.0, -0.5, 2.0,
        ];
        assert!(close(&codes, &want, 1e-6), "{codes:?}");
        assert!(traversal_codes(&base, &[3], 3.0, 3).is_err());
        assert!(traversal_codes(&base, &[0], 0.0, 3).is_err());
        assert!(traversal_codes(&base, &[0], 3.0, 1).is_err());
    }

    #[test]
    fn dimensions_sort_by_decreasing_kl() {
        assert_eq!(
            dims_by_kl(&[0.1, 2.5, f64::NAN, 2.5, 0.7]),
            vec![1, 3, 4, 0, 2]
        );
    }
}
