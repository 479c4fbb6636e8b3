//! A run queried with arrays in memory: what the Python package
//! (`crates/vaekit-py`) calls. The binding converts numpy arrays and raises
//! Python exceptions; everything else happens here, through the same
//! functions the commands use, so a run gives the same numbers from Python
//! and from `vaekit` (`score_samples` is `vaekit score`'s `neg-elbo` or
//! `iw-nll` with the sign turned, `transform` the code of `vaekit encode`).
//!
//! Arrays are row-major with the examples first, shaped as NPY files are read
//! (`data::npy`): `(n, d)` a table, `(n, h, w)` grayscale images,
//! `(n, c, h, w)` or `(n, h, w, c)` with 1 or 3 channels. A table with typed
//! columns (a pandas DataFrame of words and numbers) travels as CSV text,
//! in and out, because its cells are strings before the run's columns code
//! them.

use std::path::{Path, PathBuf};

use crate::data::npy::arrange;
use crate::data::{DataKind, Dataset, Format, LoadOptions, Source};
use crate::error::{Error, Result};
use crate::eval::EvalOptions;
use crate::generate::{CodeSource, Units, sample_from};
use crate::latent::fitted::fit_codes;
use crate::latent::space::{CodeSpace, check_class};
use crate::model::Vae;
use crate::run::{Run, Weights};
use crate::score::{ScoreKind, ScoreOptions, elbo_per_example, score_examples};
use crate::train::{TrainObserver, TrainOutcome, TrainRequest, train_source};
use burn::tensor::Device;

/// Examples per forward pass when encoding, decoding and scoring.
const BATCH: usize = 1000;

/// Bytes (`uint8` pixels) as the values vaekit reads: divided by 255, as an
/// NPY file of bytes is read.
pub fn scale_bytes(bytes: &[u8]) -> Vec<f32> {
    bytes.iter().map(|&b| f32::from(b) / 255.0).collect()
}

/// An array of shape `dims` (row-major, examples first) as a data set, with
/// one class label per example where given.
///
/// # Errors
///
/// [`Error::Data`] for a shape vaekit does not read, values that are not
/// finite, or labels that do not match the examples.
pub fn dataset_from_array(
    values: Vec<f32>,
    dims: &[usize],
    labels: Option<Vec<u32>>,
) -> Result<Dataset> {
    let count: usize = dims.iter().product();
    if count != values.len() {
        return Err(Error::Data(format!(
            "the array's shape {dims:?} holds {count} values, but {} were given",
            values.len()
        )));
    }
    let (values, kind) =
        arrange(values, dims).map_err(|message| Error::Data(format!("the array {message}")))?;
    Dataset::new(values, kind, labels)
}

/// Trains a new run in `request.out` on `data` (the training rows; the
/// run's `--val-fraction` holds some out as on the command line).
/// `description` stands for the data in the run's settings, where a path
/// would be (`"numpy array (60000, 28, 28)"`).
pub fn train_on_array(
    request: TrainRequest,
    data: Dataset,
    description: &str,
    observer: &mut dyn TrainObserver,
) -> Result<TrainOutcome> {
    let source = Source {
        spec: description.to_string(),
        format: Format::Npy,
        train: data,
        test: None,
        class_names: None,
        columns: None,
    };
    train_source(request, source, observer)
}

/// A trained run and its model, ready for queries on arrays.
#[derive(Debug)]
pub struct Fitted {
    run: Run,
    model: Vae,
}

/// The reconstruction and KL terms of -ELBO of each example, in nats.
#[derive(Debug, Clone, PartialEq)]
pub struct ElboParts {
    /// -E_q[log p(x|z)] per example.
    pub recon: Vec<f64>,
    /// KL(q(z|x) || p(z)) per example.
    pub kl: Vec<f64>,
}

impl Fitted {
    /// Opens the run in `dir` with the weights `vaekit eval` uses (the best
    /// epoch's) on `device`.
    pub fn open(dir: &Path, device: &Device) -> Result<Fitted> {
        let run = Run::open(dir)?;
        let model = run.load_model(Weights::Best, device)?;
        Ok(Fitted { run, model })
    }

    /// The run directory.
    pub fn dir(&self) -> &PathBuf {
        &self.run.dir
    }

    /// The run.
    pub fn run(&self) -> &Run {
        &self.run
    }

    /// What one input example is (its shape, or a table's columns).
    pub fn input_kind(&self) -> &DataKind {
        &self.run.config.model.input
    }

    /// True when the run reads a table through typed columns (CSV in and out).
    pub fn is_typed_table(&self) -> bool {
        self.run.config.model.table.is_some()
    }

    /// The size of a code: `transform`'s columns, `inverse_transform`'s input.
    pub fn code_dim(&self) -> usize {
        CodeSpace::of(&self.model).dim()
    }

    /// The classes of a conditional model.
    pub fn classes(&self) -> Option<usize> {
        self.model.classes()
    }

    /// An array put through the run's preprocessing (its scaler and
    /// binarization), checked against what the run was trained on.
    pub fn input(
        &self,
        values: Vec<f32>,
        dims: &[usize],
        labels: Option<Vec<u32>>,
    ) -> Result<Dataset> {
        let mut data = dataset_from_array(values, dims, labels)?;
        self.check_input(data.kind())?;
        self.run.preprocess(&mut data, "the array")?;
        Ok(data)
    }

    /// The rows of a CSV file read through the run's typed columns and
    /// preprocessing.
    pub fn input_csv(&self, path: &Path) -> Result<Dataset> {
        let spec = path.to_string_lossy();
        let mut options = LoadOptions {
            format: Some(Format::Csv),
            ..LoadOptions::default()
        };
        options.label_column = self.run.config.settings.label_column.clone();
        self.run.input_rows(Some((&spec, &options)))
    }

    fn check_input(&self, got: &DataKind) -> Result<()> {
        let want = self.input_kind();
        let same = match (want, got) {
            (DataKind::Table { columns: a }, DataKind::Table { columns: b }) => a.len() == b.len(),
            (a, b) => a == b,
        };
        if same {
            return Ok(());
        }
        let count = |kind: &DataKind| match kind {
            DataKind::Table { columns } => format!("{} features", columns.len()),
            other => other.describe(),
        };
        Err(Error::Data(format!(
            "X has {}, but the model was fitted on {}; give data of the same shape",
            count(got),
            count(want)
        )))
    }

    /// The code of each example: the posterior mean (of the top layer of a
    /// two-layer model).
    ///
    /// # Shapes
    /// - returns row-major `[data.len(), code_dim]`
    pub fn transform(&self, data: &Dataset) -> Result<Vec<f32>> {
        CodeSpace::of(&self.model).encode_first(&self.model, data, None, BATCH)
    }

    /// Codes decoded to the mean of p(x|code), in the data's units, with
    /// `class` for a conditional model.
    ///
    /// # Shapes
    /// - `codes`: row-major `[n, code_dim]`; returns row-major `[n, input_dim]`
    pub fn inverse_transform(&self, codes: &[f32], class: Option<u32>) -> Result<Vec<f32>> {
        let space = CodeSpace::of(&self.model);
        if codes.is_empty() || !codes.len().is_multiple_of(space.dim()) {
            return Err(Error::Data(format!(
                "codes must have {} columns (the model's code size), and at least one row",
                space.dim()
            )));
        }
        if let Some(at) = codes.iter().position(|v| !v.is_finite()) {
            return Err(Error::Data(format!(
                "code {} holds a value that is NaN or infinite",
                at / space.dim()
            )));
        }
        let class = check_class(&self.model, class, "y")?;
        let mut values = Vec::with_capacity(codes.len() / space.dim() * self.model.input_dim());
        for chunk in codes.chunks(BATCH * space.dim()) {
            values.extend(space.decode(&self.model, chunk, class));
        }
        self.run.units().inverse(&mut values);
        Ok(values)
    }

    /// `n` examples drawn from the model (means of p(x|z) at codes from
    /// the prior; typed table columns drawn), in the data's units. With
    /// `codes_of = Some((rows, k))` the codes come from a `k`-component
    /// mixture fitted to the codes of `rows` instead
    /// ([`crate::latent::fitted::fit_codes`]; for a conditional model, rows
    /// with their labels).
    pub fn sample(
        &self,
        n: usize,
        seed: u64,
        class: Option<u32>,
        codes_of: Option<(&Dataset, usize)>,
    ) -> Result<Vec<f32>> {
        let class = match self.model.classes() {
            Some(_) => Some(class.unwrap_or(0)),
            None => class,
        };
        let fitted = match codes_of {
            Some((rows, k)) => Some(fit_codes(&self.model, rows, k, seed)?),
            None => None,
        };
        let codes = fitted
            .as_ref()
            .map_or(CodeSource::Prior, CodeSource::Fitted);
        let mut samples = sample_from(&self.model, codes, n, seed, class)?;
        self.run.units().inverse(&mut samples.values);
        Ok(samples.values)
    }

    /// Each example decoded at its posterior mean, in the data's units.
    pub fn reconstruct(&self, data: &Dataset) -> Result<Vec<f32>> {
        let mut values = Vec::with_capacity(data.values().len());
        let all: Vec<usize> = (0..data.len()).collect();
        for chunk in all.chunks(BATCH) {
            let part = data.subset(chunk);
            let (_, recon) = crate::generate::reconstruct(&self.model, &part, part.len())?;
            values.extend(recon);
        }
        self.run.units().inverse(&mut values);
        Ok(values)
    }

    fn eval_options(&self) -> EvalOptions {
        EvalOptions::for_run(&self.run.config.settings)
    }

    /// The log-likelihood bound of each example, in nats: the ELBO with
    /// one draw of z, or the `iw_samples`-sample importance-weighted
    /// estimate of log p(x). Higher means more like the training data.
    pub fn score_samples(&self, data: &Dataset, iw_samples: Option<usize>) -> Result<Vec<f64>> {
        let options = match iw_samples {
            Some(k) => ScoreOptions::new(ScoreKind::IwNll, None, Some(k), self.eval_options())?,
            None => ScoreOptions::new(ScoreKind::NegElbo, None, None, self.eval_options())?,
        };
        let scores = score_examples(&self.model, data, &options, &mut |_| {})?;
        Ok(scores.into_iter().map(|s| -s).collect())
    }

    /// The terms of -ELBO of each example (one draw of z).
    pub fn elbo(&self, data: &Dataset) -> Result<ElboParts> {
        let options = ScoreOptions::new(ScoreKind::NegElbo, None, None, self.eval_options())?;
        let terms = elbo_per_example(&self.model, data, &options, &mut |_| {})?;
        let (recon, kl) = terms.into_iter().unzip();
        Ok(ElboParts { recon, kl })
    }

    /// Rows of model values (a typed table's) as CSV text with the table's
    /// header: categories as their words, integers as integers, reals in
    /// their units.
    pub fn table_csv(&self, values: &[f32]) -> Result<String> {
        let units: Units<'_> = self.run.units();
        let (header, rows) = units.cells(self.input_kind(), values);
        let mut out = csv::Writer::from_writer(Vec::new());
        let fail = |e: csv::Error| Error::Data(format!("cannot write the rows as CSV: {e}"));
        out.write_record(&header).map_err(fail)?;
        for row in rows {
            out.write_record(&row).map_err(fail)?;
        }
        let bytes = out
            .into_inner()
            .map_err(|e| Error::Data(format!("cannot write the rows as CSV: {e}")))?;
        String::from_utf8(bytes).map_err(|e| Error::Data(format!("the rows are not text: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::TrainSettings;
    use crate::train::Silent;

    fn fitted(dir: &Path) -> Fitted {
        let device = crate::device::parse_device("cpu").unwrap();
        let (train, _) = crate::data::embedded::load_digits().unwrap();
        let dims = [train.len(), 8, 8];
        let data = dataset_from_array(train.values().to_vec(), &dims, None).unwrap();
        let request = TrainRequest {
            settings: TrainSettings {
                hidden: Some(vec![32]),
                latent: Some(3),
                epochs: Some(2),
                ..TrainSettings::default()
            },
            out: dir.to_path_buf(),
            resume: false,
            device: device.clone(),
        };
        train_on_array(request, data, "numpy array (1437, 8, 8)", &mut Silent).unwrap();
        Fitted::open(dir, &device).unwrap()
    }

    #[test]
    fn an_array_trains_a_run_that_answers_every_query() {
        let dir = tempfile::tempdir().unwrap();
        let run = dir.path().join("run");
        let f = fitted(&run);
        assert_eq!(f.input_kind().describe(), "8x8 grayscale images");
        assert_eq!(f.code_dim(), 3);
        let (train, _) = crate::data::embedded::load_digits().unwrap();
        let x = f
            .input(train.values()[..64 * 5].to_vec(), &[5, 8, 8], None)
            .unwrap();
        let codes = f.transform(&x).unwrap();
        assert_eq!(codes.len(), 15);
        let decoded = f.inverse_transform(&codes, None).unwrap();
        assert_eq!(decoded.len(), 5 * 64);
        assert!(decoded.iter().all(|v| (0.0..=1.0).contains(v)));
        // The decoded posterior means are the reconstructions.
        let recon = f.reconstruct(&x).unwrap();
        for (a, b) in decoded.iter().zip(&recon) {
            assert!((a - b).abs() < 1e-5, "{a} against {b}");
        }
        let scores = f.score_samples(&x, None).unwrap();
        let parts = f.elbo(&x).unwrap();
        for (i, s) in scores.iter().enumerate() {
            assert!((s + parts.recon[i] + parts.kl[i]).abs() < 1e-6);
            assert!(*s < 0.0 && parts.kl[i] >= 0.0);
        }
        let iw = f.score_samples(&x, Some(50)).unwrap();
        // The importance-weighted bound is tighter than the ELBO on average.
        let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
        assert!(mean(&iw) > mean(&scores) - 0.5, "{iw:?} {scores:?}");
        assert_eq!(f.sample(7, 0, None, None).unwrap().len(), 7 * 64);
    }

    #[test]
    fn bad_arrays_are_refused_with_their_shape() {
        let err = dataset_from_array(vec![0.0; 6], &[6], None).unwrap_err();
        assert!(err.to_string().contains("1-D array"), "{err}");
        let err = dataset_from_array(vec![0.0; 5], &[2, 3], None).unwrap_err();
        assert!(err.to_string().contains("holds 6 values"), "{err}");
        let err = dataset_from_array(vec![0.0, f32::NAN], &[1, 2], None).unwrap_err();
        assert!(err.to_string().contains("NaN"), "{err}");
        assert_eq!(scale_bytes(&[0, 255]), vec![0.0, 1.0]);
        let dir = tempfile::tempdir().unwrap();
        let f = fitted(&dir.path().join("run"));
        let err = f.input(vec![0.0; 12], &[2, 6], None).unwrap_err();
        assert!(
            err.to_string()
                .contains("X has 6 features, but the model was fitted on 8x8 grayscale images"),
            "{err}"
        );
        assert!(f.inverse_transform(&[0.0; 4], None).is_err());
    }
}
