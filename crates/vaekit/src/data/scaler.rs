//! Per-column scaling of tables.
//!
//! A scaler is fitted on the training rows only (so validation and test rows
//! are scaled with statistics they did not influence), applied in place, saved
//! with a run as JSON, and inverted on generated samples to report them in the
//! original units. Statistics are accumulated in `f64`. A column with no spread
//! (constant, or a standard deviation of 0) is scaled by 1 instead of divided
//! by 0, so it never produces NaN or infinity: min-max maps it to 0 and
//! standardisation to 0.

use std::fmt;
use std::str::FromStr;

use super::Dataset;
use crate::error::{Error, Result};

/// Column scaling, fitted on training rows.
///
/// # Shapes
///
/// Each vector has one entry per column ([`Dataset::dim`]).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case", tag = "type")]
pub enum Scaler {
    /// `(x - min) / (max - min)`: the training range maps to `[0, 1]`.
    MinMax {
        /// Smallest training value per column.
        min: Vec<f32>,
        /// Largest training value per column.
        max: Vec<f32>,
    },
    /// `(x - mean) / std`, with the population standard deviation.
    Standard {
        /// Training mean per column.
        mean: Vec<f32>,
        /// Training standard deviation per column (0 for a constant column).
        std: Vec<f32>,
    },
}

/// Which [`Scaler`] to fit, as named on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ScalerKind {
    /// `min-max`: to `[0, 1]` over the training range.
    MinMax,
    /// `standard`: to zero mean and unit variance.
    Standard,
    /// `none`: the values as they are (counts for the Poisson likelihood).
    None,
}

impl ScalerKind {
    /// The name used on the command line and in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            ScalerKind::MinMax => "min-max",
            ScalerKind::Standard => "standard",
            ScalerKind::None => "none",
        }
    }
}

impl fmt::Display for ScalerKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ScalerKind {
    type Err = Error;

    fn from_str(s: &str) -> Result<ScalerKind> {
        match s {
            "min-max" => Ok(ScalerKind::MinMax),
            "standard" => Ok(ScalerKind::Standard),
            "none" => Ok(ScalerKind::None),
            _ => Err(Error::setting(
                "--scaler",
                format!("unknown scaler '{s}'; use min-max, standard or none"),
            )),
        }
    }
}

/// The divisor for a column: its spread, or 1 when there is none.
fn scale_of(spread: f64) -> f64 {
    if spread.is_finite() && spread > 0.0 {
        spread
    } else {
        1.0
    }
}

impl Scaler {
    /// Fits a scaler of `kind` on every row of `data`.
    ///
    /// # Errors
    ///
    /// [`Error::Data`] when `data` has no rows.
    pub fn fit(kind: ScalerKind, data: &Dataset) -> Result<Scaler> {
        Self::fit_columns(kind, data, None)
    }

    /// Fits a scaler of `kind` on the observed cells of `data` (its missing
    /// cells, see [`Dataset::missing`], are left out), scaling only the
    /// columns `selected` marks when given: the others, and columns with no
    /// observed cell, keep their values (offset 0, spread 1).
    ///
    /// # Errors
    ///
    /// [`Error::Data`] when `data` has no rows.
    pub fn fit_columns(
        kind: ScalerKind,
        data: &Dataset,
        selected: Option<&[bool]>,
    ) -> Result<Scaler> {
        if data.is_empty() {
            return Err(Error::Data(
                "cannot fit a scaler on an empty data set; the training split needs at least one row"
                    .to_string(),
            ));
        }
        let dim = data.dim();
        let chosen = |c: usize| selected.is_none_or(|s| s.get(c).copied().unwrap_or(false));
        let observed = |i: usize| data.missing().is_none_or(|m| !m[i]);
        // Per column, over the observed cells: count, min, max, mean, then
        // the squares about the mean (two passes in f64).
        let mut n = vec![0.0f64; dim];
        let mut sum = vec![0.0f64; dim];
        let mut min = vec![f32::INFINITY; dim];
        let mut max = vec![f32::NEG_INFINITY; dim];
        for (i, &v) in data.values().iter().enumerate() {
            let c = i % dim;
            if observed(i) {
                n[c] += 1.0;
                sum[c] += f64::from(v);
                min[c] = min[c].min(v);
                max[c] = max[c].max(v);
            }
        }
        let mean: Vec<f64> = sum.iter().zip(&n).map(|(s, n)| s / n.max(1.0)).collect();
        let mut square = vec![0.0f64; dim];
        for (i, &v) in data.values().iter().enumerate() {
            let c = i % dim;
            if observed(i) {
                let d = f64::from(v) - mean[c];
                square[c] += d * d;
            }
        }
        let keep = |c: usize| !chosen(c) || n[c] == 0.0;
        match kind {
            ScalerKind::None => Err(Error::setting(
                "--scaler none",
                "there is no scaler to fit for unscaled values; the data is used as it is",
            )),
            ScalerKind::MinMax => Ok(Scaler::MinMax {
                min: (0..dim)
                    .map(|c| if keep(c) { 0.0 } else { min[c] })
                    .collect(),
                max: (0..dim)
                    .map(|c| if keep(c) { 1.0 } else { max[c] })
                    .collect(),
            }),
            ScalerKind::Standard => Ok(Scaler::Standard {
                mean: (0..dim)
                    .map(|c| if keep(c) { 0.0 } else { mean[c] as f32 })
                    .collect(),
                std: (0..dim)
                    .map(|c| {
                        if keep(c) {
                            1.0
                        } else {
                            (square[c] / n[c]).sqrt() as f32
                        }
                    })
                    .collect(),
            }),
        }
    }

    /// The kind of this scaler.
    pub fn kind(&self) -> ScalerKind {
        match self {
            Scaler::MinMax { .. } => ScalerKind::MinMax,
            Scaler::Standard { .. } => ScalerKind::Standard,
        }
    }

    /// Columns this scaler was fitted on (0 when its two vectors disagree, as
    /// only a hand-edited file can make them).
    pub fn dim(&self) -> usize {
        let (a, b) = self.parts();
        if a.len() == b.len() { a.len() } else { 0 }
    }

    /// `(offset, spread)` per column: min and max - min, or mean and std.
    fn parts(&self) -> (&[f32], &[f32]) {
        match self {
            Scaler::MinMax { min, max } => (min, max),
            Scaler::Standard { mean, std } => (mean, std),
        }
    }

    /// `(offset, divisor)` for each column.
    fn columns(&self) -> Vec<(f64, f64)> {
        match self {
            Scaler::MinMax { min, max } => min
                .iter()
                .zip(max)
                .map(|(&lo, &hi)| (f64::from(lo), scale_of(f64::from(hi) - f64::from(lo))))
                .collect(),
            Scaler::Standard { mean, std } => mean
                .iter()
                .zip(std)
                .map(|(&m, &s)| (f64::from(m), scale_of(f64::from(s))))
                .collect(),
        }
    }

    /// Scales `data` in place.
    ///
    /// # Errors
    ///
    /// [`Error::Data`] when `data` does not have the columns the scaler was
    /// fitted on, or when a scaled value would not be finite (a value far
    /// outside the training range).
    pub fn transform(&self, data: &mut Dataset) -> Result<()> {
        let (a, b) = self.parts();
        if a.len() != b.len() {
            return Err(Error::Data(format!(
                "the {} scaler is corrupt: it has {} offsets but {} scales; fit it again",
                self.kind(),
                a.len(),
                b.len()
            )));
        }
        let dim = data.dim();
        if a.len() != dim {
            return Err(Error::Data(format!(
                "the {} scaler expects rows of {} columns but the data has {dim} ({}); use the scaler fitted on this data set",
                self.kind(),
                a.len(),
                data.kind().describe()
            )));
        }
        let columns = self.columns();
        for (i, v) in data.values_mut().iter_mut().enumerate() {
            let Some(&(offset, scale)) = columns.get(i % dim) else {
                continue;
            };
            let scaled = ((f64::from(*v) - offset) / scale) as f32;
            if !scaled.is_finite() {
                return Err(Error::Data(format!(
                    "scaling row {}, column {} gives a value too large for 32-bit floats; the data is far outside the range the scaler was fitted on",
                    i / dim + 1,
                    i % dim + 1
                )));
            }
            *v = scaled;
        }
        Ok(())
    }

    /// Maps scaled values back to the original units, in place. `values` holds
    /// whole rows of [`Scaler::dim`] values (any trailing partial row is
    /// handled column by column all the same).
    pub fn inverse(&self, values: &mut [f32]) {
        let columns = self.columns();
        let dim = columns.len();
        if dim == 0 {
            return;
        }
        for (i, v) in values.iter_mut().enumerate() {
            if let Some(&(offset, scale)) = columns.get(i % dim) {
                *v = (f64::from(*v) * scale + offset) as f32;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::DataKind;
    use proptest::prelude::*;

    fn table(rows: &[Vec<f32>]) -> Dataset {
        let dim = rows.first().map_or(1, Vec::len);
        Dataset::new(
            rows.concat(),
            DataKind::Table {
                columns: (0..dim).map(|i| format!("x{i}")).collect(),
            },
            None,
        )
        .unwrap()
    }

    #[test]
    fn min_max_and_standard_on_a_small_table() {
        let data = table(&[vec![0.0, 5.0, 1.0], vec![10.0, 5.0, 3.0]]);
        let s = Scaler::fit(ScalerKind::MinMax, &data).unwrap();
        assert_eq!(
            s,
            Scaler::MinMax {
                min: vec![0.0, 5.0, 1.0],
                max: vec![10.0, 5.0, 3.0]
            }
        );
        let mut d = data.clone();
        s.transform(&mut d).unwrap();
        // The constant middle column maps to 0, not NaN.
        assert_eq!(d.values(), &[0.0, 0.0, 0.0, 1.0, 0.0, 1.0]);
        let mut back = d.values().to_vec();
        s.inverse(&mut back);
        assert_eq!(back, data.values());

        let s = Scaler::fit(ScalerKind::Standard, &data).unwrap();
        assert_eq!(
            s,
            Scaler::Standard {
                mean: vec![5.0, 5.0, 2.0],
                std: vec![5.0, 0.0, 1.0]
            }
        );
        let mut d = data.clone();
        s.transform(&mut d).unwrap();
        assert_eq!(d.values(), &[-1.0, 0.0, -1.0, 1.0, 0.0, 1.0]);
    }

    #[test]
    fn errors_and_names() {
        let empty = Dataset::new(
            vec![],
            DataKind::Table {
                columns: vec!["a".into()],
            },
            None,
        )
        .unwrap();
        let e = Scaler::fit(ScalerKind::MinMax, &empty).unwrap_err();
        assert!(matches!(e, Error::Data(_)));
        assert!(e.to_string().contains("empty"), "{e}");

        let s = Scaler::fit(ScalerKind::Standard, &table(&[vec![1.0, 2.0]])).unwrap();
        let mut other = table(&[vec![1.0, 2.0, 3.0]]);
        let e = s.transform(&mut other).unwrap_err();
        let m = e.to_string();
        assert!(
            m.contains("expects rows of 2 columns") && m.contains("has 3"),
            "{m}"
        );

        let broken = Scaler::MinMax {
            min: vec![0.0],
            max: vec![],
        };
        assert_eq!(broken.dim(), 0);
        assert!(broken.transform(&mut table(&[vec![1.0]])).is_err());
        let mut v = vec![1.0, 2.0];
        broken.inverse(&mut v);
        assert_eq!(v, vec![1.0, 2.0]);

        let far = Scaler::MinMax {
            min: vec![0.0],
            max: vec![f32::MIN_POSITIVE],
        };
        let e = far.transform(&mut table(&[vec![3.0e38]])).unwrap_err();
        assert!(e.to_string().contains("too large"), "{e}");

        assert_eq!("min-max".parse::<ScalerKind>().unwrap(), ScalerKind::MinMax);
        assert_eq!(ScalerKind::Standard.to_string(), "standard");
        let e = "zscore".parse::<ScalerKind>().unwrap_err();
        assert!(e.to_string().contains("min-max, standard or none"), "{e}");
        assert_eq!("none".parse::<ScalerKind>().unwrap(), ScalerKind::None);
        // Nothing to fit for unscaled values.
        let e = Scaler::fit(ScalerKind::None, &table(&[vec![1.0]])).unwrap_err();
        assert!(e.to_string().contains("--scaler none"), "{e}");
    }

    #[test]
    fn json_shape() {
        let s = Scaler::MinMax {
            min: vec![0.0],
            max: vec![2.0],
        };
        let json = serde_json::to_string(&s).unwrap();
        assert_eq!(json, r#"{"type":"min_max","min":[0.0],"max":[2.0]}"#);
        assert_eq!(serde_json::from_str::<Scaler>(&json).unwrap(), s);
        assert_eq!(
            serde_json::to_string(&ScalerKind::MinMax).unwrap(),
            "\"min-max\""
        );
    }

    fn rows_strategy() -> impl Strategy<Value = Vec<Vec<f32>>> {
        (1usize..6).prop_flat_map(|dim| {
            proptest::collection::vec(proptest::collection::vec(-100.0f32..100.0, dim), 1..30)
        })
    }

    proptest! {
        #[test]
        fn inverse_undoes_transform(rows in rows_strategy(), standard: bool) {
            let data = table(&rows);
            let kind = if standard { ScalerKind::Standard } else { ScalerKind::MinMax };
            let s = Scaler::fit(kind, &data).unwrap();
            let mut d = data.clone();
            s.transform(&mut d).unwrap();
            prop_assert!(d.values().iter().all(|v| v.is_finite()));
            let mut back = d.values().to_vec();
            s.inverse(&mut back);
            for (a, b) in back.iter().zip(data.values()) {
                prop_assert!((a - b).abs() <= 1e-4, "{} vs {}", a, b);
            }
        }

        #[test]
        fn min_max_maps_training_rows_into_unit_range(rows in rows_strategy()) {
            let data = table(&rows);
            let s = Scaler::fit(ScalerKind::MinMax, &data).unwrap();
            let mut d = data.clone();
            s.transform(&mut d).unwrap();
            prop_assert!(d.values().iter().all(|&v| (0.0..=1.0).contains(&v)), "{:?}", d.values());
        }
    }
}
