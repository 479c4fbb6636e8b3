//! vaekit: variational autoencoders on burn.
//!
//! Train a VAE on your own data, evaluate it, generate from it and use its
//! latent space, from Rust or from the `vaekit` command.
//!
//! ```
//! use vaekit::run::{Run, Weights};
//! use vaekit::settings::TrainSettings;
//! use vaekit::train::{Silent, TrainRequest, train};
//!
//! let out = std::env::temp_dir().join(format!("vaekit-doc-{}", std::process::id()));
//! let device = vaekit::device::parse_device("cpu")?;
//! let request = TrainRequest {
//!     settings: TrainSettings {
//!         data: Some("digits".into()), // the embedded UCI digits
//!         hidden: Some(vec![64]),
//!         latent: Some(4),
//!         epochs: Some(2),
//!         ..TrainSettings::default()
//!     },
//!     out: out.clone(),
//!     resume: false,
//!     device: device.clone(),
//! };
//! let outcome = train(request, &mut Silent)?;
//! assert_eq!(outcome.metrics.len(), 2);
//!
//! // Everything can be rebuilt from the run directory alone.
//! let run = Run::open(&out)?;
//! let model = run.load_model(Weights::Best, &device)?;
//! let samples = vaekit::generate::sample_prior(&model, 16, 0, None)?;
//! assert_eq!(samples.values.len(), 16 * 64);
//! # std::fs::remove_dir_all(&out).ok();
//! # Ok::<(), vaekit::Error>(())
//! ```
//!
//! The engine is [burn](https://burn.dev) (re-exported as [`burn`]); its CPU
//! backend is always built in, GPU backends are cargo features, and the device
//! is a run-time setting ([`device::parse_device`]).

pub mod augment;
pub mod batch;
pub mod classify;
pub mod cluster;
pub mod data;
pub mod demo;
pub mod device;
pub mod distributions;
pub mod error;
pub mod eval;
pub mod generate;
pub mod impute;
pub mod info;
pub mod io;
pub mod kernels;
pub mod latent;
pub mod model;
pub mod nn;
pub mod optim;
pub mod probe;
pub mod random;
pub mod report;
pub mod run;
pub mod score;
pub mod settings;
pub mod stats;
pub mod train;

pub use burn;
pub use error::{Error, Result};
