//! `vaekit._vaekit`: the compiled half of the Python package.
//!
//! It converts numpy arrays to vaekit's data and back, calls the library
//! (`vaekit::arrays`, `vaekit::train`) with the GIL released, and turns
//! vaekit's errors into Python exceptions. The estimators (`vaekit.VAE`,
//! `vaekit.VAEDetector`) are Python, in `python/vaekit/`.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::Duration;

use numpy::ndarray::{Array1, Array2};
use numpy::{IntoPyArray, PyArray1, PyArray2, PyReadonlyArrayDyn, PyUntypedArrayMethods};
use pyo3::exceptions::{PyKeyboardInterrupt, PyOSError, PyRuntimeError, PyValueError};
use pyo3::prelude::*;

use vaekit::arrays::{Fitted, dataset_from_array, scale_bytes, train_on_array};
use vaekit::data::Dataset;
use vaekit::settings::TrainSettings;
use vaekit::train::{EpochMetrics, StepOutput, TrainObserver, TrainRequest, train};

/// vaekit's error as the Python exception a user expects: bad input and
/// settings are `ValueError`, files `OSError`, a stop `KeyboardInterrupt`.
fn to_py(err: vaekit::Error) -> PyErr {
    let message = err.to_string();
    match err {
        vaekit::Error::Read { .. } | vaekit::Error::Write { .. } => PyOSError::new_err(message),
        vaekit::Error::Interrupted { .. } => PyKeyboardInterrupt::new_err(message),
        vaekit::Error::Training(_) => PyRuntimeError::new_err(message),
        _ => PyValueError::new_err(message),
    }
}

/// The values of a C-contiguous array, or a ValueError saying why not.
fn slice_of<'a, T: numpy::Element>(a: &'a PyReadonlyArrayDyn<'_, T>) -> PyResult<&'a [T]> {
    a.as_slice()
        .map_err(|e| PyValueError::new_err(e.to_string()))
}

/// The values of a C-contiguous float32 or uint8 array (uint8 divided by
/// 255, as vaekit reads bytes) and its shape.
fn array_values(x: &Bound<'_, PyAny>) -> PyResult<(Vec<f32>, Vec<usize>)> {
    if let Ok(a) = x.extract::<PyReadonlyArrayDyn<'_, f32>>() {
        return Ok((slice_of(&a)?.to_vec(), a.shape().to_vec()));
    }
    if let Ok(a) = x.extract::<PyReadonlyArrayDyn<'_, u8>>() {
        return Ok((scale_bytes(slice_of(&a)?), a.shape().to_vec()));
    }
    Err(PyValueError::new_err(
        "expected a C-contiguous numpy array of float32 or uint8",
    ))
}

fn labels_of(y: Option<PyReadonlyArrayDyn<'_, u32>>) -> PyResult<Option<Vec<u32>>> {
    y.map(|a| slice_of(&a).map(<[u32]>::to_vec)).transpose()
}

/// Runs a query with the GIL released, on vaekit's worker threads as the
/// command line runs its work (`vaekit::device::with_spinning_workers`).
fn compute<R: Send>(py: Python<'_>, f: impl FnOnce() -> vaekit::Result<R> + Send) -> PyResult<R> {
    py.detach(|| vaekit::device::with_spinning_workers(f))
        .map_err(to_py)
}

fn settings_of(json: &str) -> PyResult<TrainSettings> {
    serde_json::from_str(json).map_err(|e| PyValueError::new_err(format!("invalid setting: {e}")))
}

/// Progress and Ctrl-C: each step reports to the Python callback (which
/// draws the bar), and a stop asked for by the main thread (which watches
/// for signals) ends training at the step's end.
struct PyObserver {
    callback: Option<Py<PyAny>>,
    /// Whether the callback wants an event per step (its `wants_steps`,
    /// true when it has none): without a bar to draw, each step's call into
    /// Python (the GIL, a dict) is skipped.
    wants_steps: bool,
    epoch: usize,
    epochs: usize,
    steps: usize,
    stop: Arc<AtomicBool>,
    /// The callback's exception, which stops training too.
    raised: Option<PyErr>,
}

impl PyObserver {
    fn call(&mut self, args: impl for<'py> FnOnce(Python<'py>) -> PyResult<Bound<'py, PyAny>>) {
        if self.raised.is_some() {
            return;
        }
        let Some(callback) = &self.callback else {
            return;
        };
        let result = Python::attach(|py| -> PyResult<()> {
            let event = args(py)?;
            callback.call1(py, (event,))?;
            Ok(())
        });
        if let Err(e) = result {
            self.raised = Some(e);
        }
    }
}

impl TrainObserver for PyObserver {
    fn on_epoch_start(&mut self, epoch: usize, epochs: usize, steps: usize) {
        (self.epoch, self.epochs, self.steps) = (epoch, epochs, steps);
        let (epoch, epochs, steps) = (epoch, epochs, steps);
        self.call(|py| {
            let d = pyo3::types::PyDict::new(py);
            d.set_item("event", "epoch_start")?;
            d.set_item("epoch", epoch)?;
            d.set_item("epochs", epochs)?;
            d.set_item("steps", steps)?;
            Ok(d.into_any())
        });
    }

    fn on_step(&mut self, step: usize, output: &StepOutput) {
        if !self.wants_steps {
            return;
        }
        let (loss, epoch, steps) = (output.loss, self.epoch, self.steps);
        self.call(|py| {
            let d = pyo3::types::PyDict::new(py);
            d.set_item("event", "step")?;
            d.set_item("epoch", epoch)?;
            d.set_item("step", step)?;
            d.set_item("steps", steps)?;
            d.set_item("loss", loss)?;
            Ok(d.into_any())
        });
    }

    fn on_epoch_end(&mut self, metrics: &EpochMetrics) {
        let json = serde_json::to_string(metrics).unwrap_or_default();
        self.call(|py| {
            let d = pyo3::types::PyDict::new(py);
            d.set_item("event", "epoch_end")?;
            d.set_item("metrics", json)?;
            Ok(d.into_any())
        });
    }

    fn stop_requested(&mut self) -> bool {
        self.raised.is_some() || self.stop.load(Ordering::Relaxed)
    }
}

fn request(out: PathBuf, settings: &str, device: &str) -> PyResult<TrainRequest> {
    Ok(TrainRequest {
        settings: settings_of(settings)?,
        out,
        resume: false,
        device: vaekit::device::parse_device(device).map_err(to_py)?,
    })
}

/// Two arrays of per-example values.
type Pair<'py> = (Bound<'py, PyArray1<f64>>, Bound<'py, PyArray1<f64>>);

type Finished = (
    std::thread::Result<vaekit::Result<vaekit::train::TrainOutcome>>,
    Option<PyErr>,
);

/// Runs a training on vaekit's worker threads, as the command line does,
/// with the GIL released. Python runs signal handlers on the main thread
/// only, so the main thread waits here and checks for signals every 50 ms;
/// on Ctrl-C it asks the training to stop at the end of its step and raises
/// the KeyboardInterrupt (the run keeps its finished epochs).
fn run_training(
    py: Python<'_>,
    callback: Option<Py<PyAny>>,
    job: impl FnOnce(&mut PyObserver) -> vaekit::Result<vaekit::train::TrainOutcome> + Send + 'static,
) -> PyResult<()> {
    let stop = Arc::new(AtomicBool::new(false));
    let wants_steps = callback.as_ref().is_none_or(|c| {
        c.getattr(py, "wants_steps")
            .and_then(|w| w.is_truthy(py))
            .unwrap_or(true)
    });
    let mut observer = PyObserver {
        callback,
        wants_steps,
        epoch: 0,
        epochs: 0,
        steps: 0,
        stop: stop.clone(),
        raised: None,
    };
    let (done, finished) = mpsc::channel::<Finished>();
    // Receivers are not Sync; the lock lets `detach` borrow it.
    let finished = std::sync::Mutex::new(finished);
    rayon::spawn(move || {
        // A panic must not unwind out of a rayon job (it aborts the process).
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            vaekit::device::with_spinning_workers(|| job(&mut observer))
        }));
        let _ = done.send((result, observer.raised));
    });
    let mut interrupt = None;
    loop {
        let next = py.detach(|| match finished.lock() {
            Ok(rx) => rx.recv_timeout(Duration::from_millis(50)),
            Err(_) => Err(RecvTimeoutError::Disconnected),
        });
        match next {
            Ok((result, raised)) => {
                return match (result, interrupt.or(raised)) {
                    (_, Some(err)) => Err(err),
                    (Ok(Ok(_)), None) => Ok(()),
                    (Ok(Err(e)), None) => Err(to_py(e)),
                    (Err(_), None) => Err(PyRuntimeError::new_err(
                        "vaekit's training failed unexpectedly (a panic); please report it",
                    )),
                };
            }
            Err(RecvTimeoutError::Timeout) => {
                if interrupt.is_none()
                    && let Err(e) = py.check_signals()
                {
                    interrupt = Some(e);
                    stop.store(true, Ordering::Relaxed);
                }
            }
            Err(RecvTimeoutError::Disconnected) => {
                return Err(PyRuntimeError::new_err(
                    "vaekit's training thread ended without a result",
                ));
            }
        }
    }
}

/// Trains a new run in `out` on the array `x` (float32 or uint8, examples
/// first), with class labels `y` for a conditional model. `settings` is a
/// JSON object of `vaekit train`'s settings by their flag names.
#[pyfunction]
#[pyo3(signature = (out, settings, x, y=None, description="numpy array", callback=None, device="cpu"))]
#[allow(clippy::too_many_arguments)]
fn train_array(
    py: Python<'_>,
    out: PathBuf,
    settings: &str,
    x: &Bound<'_, PyAny>,
    y: Option<PyReadonlyArrayDyn<'_, u32>>,
    description: &str,
    callback: Option<Py<PyAny>>,
    device: &str,
) -> PyResult<()> {
    let (values, shape) = array_values(x)?;
    let data = dataset_from_array(values, &shape, labels_of(y)?).map_err(to_py)?;
    let request = request(out, settings, device)?;
    let description = description.to_string();
    run_training(py, callback, move |observer| {
        train_on_array(request, data, &description, observer)
    })
}

/// Trains a new run in `out` on the source its settings name (`data`: a CSV
/// file of a DataFrame, read through typed columns).
#[pyfunction]
#[pyo3(signature = (out, settings, callback=None, device="cpu"))]
fn train_source(
    py: Python<'_>,
    out: PathBuf,
    settings: &str,
    callback: Option<Py<PyAny>>,
    device: &str,
) -> PyResult<()> {
    let request = request(out, settings, device)?;
    run_training(py, callback, move |observer| train(request, observer))
}

/// Examples put through a run's preprocessing, ready for its queries.
#[pyclass(module = "vaekit._vaekit", frozen)]
struct Data {
    data: Dataset,
}

#[pymethods]
impl Data {
    /// Number of examples.
    fn __len__(&self) -> usize {
        self.data.len()
    }
}

/// A trained run opened for queries (`vaekit::arrays::Fitted`).
#[pyclass(module = "vaekit._vaekit", frozen)]
struct Model {
    fitted: Fitted,
}

fn rows(values: Vec<f32>, n: usize) -> PyResult<Array2<f32>> {
    let d = values.len().checked_div(n).unwrap_or(0);
    Array2::from_shape_vec((n, d), values).map_err(|e| PyRuntimeError::new_err(e.to_string()))
}

#[pymethods]
impl Model {
    /// Opens the run in `path` (the best epoch's weights) on `device`.
    #[new]
    #[pyo3(signature = (path, device="cpu"))]
    fn new(py: Python<'_>, path: PathBuf, device: &str) -> PyResult<Model> {
        let device = vaekit::device::parse_device(device).map_err(to_py)?;
        let fitted = compute(py, || Fitted::open(&path, &device))?;
        Ok(Model { fitted })
    }

    /// The run directory.
    #[getter]
    fn path(&self) -> PathBuf {
        self.fitted.dir().clone()
    }

    /// The run's `config.json` as text.
    #[getter]
    fn config_json(&self) -> PyResult<String> {
        serde_json::to_string(&self.fitted.run().config)
            .map_err(|e| PyRuntimeError::new_err(e.to_string()))
    }

    /// The size of a code.
    #[getter]
    fn code_dim(&self) -> usize {
        self.fitted.code_dim()
    }

    /// Values per example (a typed table's model width).
    #[getter]
    fn input_dim(&self) -> usize {
        self.fitted.input_kind().dim()
    }

    /// `(channels, height, width)` of an image run, None for a table.
    #[getter]
    fn image_shape(&self) -> Option<(usize, usize, usize)> {
        match *self.fitted.input_kind() {
            vaekit::data::DataKind::Image {
                channels,
                height,
                width,
            } => Some((channels, height, width)),
            vaekit::data::DataKind::Table { .. } => None,
        }
    }

    /// A table's column names.
    #[getter]
    fn columns(&self) -> Option<Vec<String>> {
        match self.fitted.input_kind() {
            vaekit::data::DataKind::Table { columns } => Some(columns.clone()),
            vaekit::data::DataKind::Image { .. } => None,
        }
    }

    /// True when the run reads typed columns (CSV in and out).
    #[getter]
    fn typed_table(&self) -> bool {
        self.fitted.is_typed_table()
    }

    /// The classes of a conditional model.
    #[getter]
    fn classes(&self) -> Option<usize> {
        self.fitted.classes()
    }

    /// An array (float32 or uint8) through the run's preprocessing.
    #[pyo3(signature = (x, y=None))]
    fn input(
        &self,
        x: &Bound<'_, PyAny>,
        y: Option<PyReadonlyArrayDyn<'_, u32>>,
    ) -> PyResult<Data> {
        let (values, shape) = array_values(x)?;
        let labels = labels_of(y)?;
        let data = compute(x.py(), || self.fitted.input(values, &shape, labels))?;
        Ok(Data { data })
    }

    /// A CSV file's rows through the run's typed columns.
    fn input_csv(&self, py: Python<'_>, path: PathBuf) -> PyResult<Data> {
        let data = compute(py, || self.fitted.input_csv(&path))?;
        Ok(Data { data })
    }

    /// Posterior means, `(n, code_dim)`.
    fn transform<'py>(&self, py: Python<'py>, data: &Data) -> PyResult<Bound<'py, PyArray2<f32>>> {
        let codes = compute(py, || self.fitted.transform(&data.data))?;
        Ok(rows(codes, data.data.len())?.into_pyarray(py))
    }

    /// Codes `(n, code_dim)` decoded to the mean of p(x|z), `(n, input_dim)`.
    #[pyo3(signature = (codes, y=None))]
    fn inverse_transform<'py>(
        &self,
        py: Python<'py>,
        codes: PyReadonlyArrayDyn<'py, f32>,
        y: Option<u32>,
    ) -> PyResult<Bound<'py, PyArray2<f32>>> {
        let n = codes.shape().first().copied().unwrap_or(0);
        let codes = slice_of(&codes)?.to_vec();
        let values = compute(py, || self.fitted.inverse_transform(&codes, y))?;
        Ok(rows(values, n)?.into_pyarray(py))
    }

    /// `n` samples from the model, `(n, input_dim)`; with `data` and
    /// `code_mixture`, the codes from a mixture of that many components
    /// fitted to the codes of `data`'s rows.
    #[pyo3(signature = (n, seed=0, y=None, data=None, code_mixture=None))]
    fn sample<'py>(
        &self,
        py: Python<'py>,
        n: usize,
        seed: u64,
        y: Option<u32>,
        data: Option<PyRef<'py, Data>>,
        code_mixture: Option<usize>,
    ) -> PyResult<Bound<'py, PyArray2<f32>>> {
        let codes_of = match (&data, code_mixture) {
            (Some(d), Some(k)) => Some((&d.data, k)),
            _ => None,
        };
        let values = compute(py, || self.fitted.sample(n, seed, y, codes_of))?;
        Ok(rows(values, n)?.into_pyarray(py))
    }

    /// Reconstructions at the posterior means, `(n, input_dim)`.
    fn reconstruct<'py>(
        &self,
        py: Python<'py>,
        data: &Data,
    ) -> PyResult<Bound<'py, PyArray2<f32>>> {
        let values = compute(py, || self.fitted.reconstruct(&data.data))?;
        Ok(rows(values, data.data.len())?.into_pyarray(py))
    }

    /// Per-example ELBO, or the importance-weighted log p(x) with K samples.
    #[pyo3(signature = (data, iw_samples=None))]
    fn score_samples<'py>(
        &self,
        py: Python<'py>,
        data: &Data,
        iw_samples: Option<usize>,
    ) -> PyResult<Bound<'py, PyArray1<f64>>> {
        let scores = compute(py, || self.fitted.score_samples(&data.data, iw_samples))?;
        Ok(Array1::from(scores).into_pyarray(py))
    }

    /// The per-example terms of -ELBO: `(recon, kl)`.
    fn elbo<'py>(&self, py: Python<'py>, data: &Data) -> PyResult<Pair<'py>> {
        let parts = compute(py, || self.fitted.elbo(&data.data))?;
        Ok((
            Array1::from(parts.recon).into_pyarray(py),
            Array1::from(parts.kl).into_pyarray(py),
        ))
    }

    /// Rows of model values as CSV text in the table's own cells.
    fn table_csv(&self, values: PyReadonlyArrayDyn<'_, f32>) -> PyResult<String> {
        self.fitted.table_csv(slice_of(&values)?).map_err(to_py)
    }
}

/// The version of the vaekit library inside.
#[pyfunction]
fn version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}

#[pymodule]
fn _vaekit(m: &Bound<'_, PyModule>) -> PyResult<()> {
    // The command line's setup of the CPU device (vaekit::device): freed
    // buffers kept for reuse, and the worker pool (RAYON_NUM_THREADS or
    // every core) with a main thread's stack. A pool someone else built
    // first is kept.
    vaekit::device::keep_freed_buffers();
    let _ = vaekit::device::set_threads(None);
    m.add_function(wrap_pyfunction!(train_array, m)?)?;
    m.add_function(wrap_pyfunction!(train_source, m)?)?;
    m.add_function(wrap_pyfunction!(version, m)?)?;
    m.add_class::<Model>()?;
    m.add_class::<Data>()?;
    Ok(())
}
