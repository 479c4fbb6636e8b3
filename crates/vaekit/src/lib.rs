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
//! A model is built from parts (see docs/ARCHITECTURE.md): settings resolved
//! against the data's layout give a [`model::ModelConfig`], whose networks,
//! observation model (a likelihood per block of the data's
//! [`data::schema::Schema`]) and prior make the [`model::Vae`]:
//!
//! ```
//! use vaekit::burn::tensor::{Tensor, TensorData};
//! use vaekit::data::DataKind;
//! use vaekit::settings::{LikelihoodKind, TrainSettings};
//!
//! let kind = DataKind::Table { columns: vec!["visits".into(), "calls".into()] };
//! let settings = TrainSettings {
//!     likelihood: Some(LikelihoodKind::Poisson),
//!     hidden: Some(vec![8]),
//!     latent: Some(2),
//!     ..TrainSettings::default()
//! }
//! .resolve(&kind)?;
//! let device = vaekit::device::parse_device("cpu")?;
//! let model = settings.model_config(&kind)?.init(&device)?;
//! let blocks: Vec<&str> = model.observation().blocks().iter().map(|b| b.name.as_str()).collect();
//! assert_eq!(blocks, ["visits", "calls"]);
//!
//! // Encode two rows of counts, decode the posterior means: Poisson rates.
//! let x = Tensor::from_data(TensorData::new(vec![3.0f32, 0.0, 1.0, 7.0], [2, 2]), &device);
//! let q = model.encode(x.clone());
//! let rates = model.likelihood_mean(model.decode(q.mu.clone()));
//! assert_eq!(rates.dims(), [2, 2]);
//! // The -ELBO of each row with one draw of z (zero noise: z at the mean).
//! let terms = model.elbo_terms(x, q.mu.zeros_like());
//! let neg_elbo = (terms.recon + terms.kl).into_data().try_to_vec::<f32>().unwrap();
//! assert!(neg_elbo.iter().all(|v| v.is_finite() && *v > 0.0));
//! # Ok::<(), vaekit::Error>(())
//! ```
//!
//! The engine is [burn](https://burn.dev) (re-exported as [`burn`]); its CPU
//! backend is always built in, GPU backends are cargo features, and the device
//! is a run-time setting ([`device::parse_device`]).

pub mod arrays;
pub mod augment;
pub mod batch;
pub mod classify;
pub mod cluster;
pub mod compress;
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
pub mod memory;
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
pub mod synthetic;
pub mod text;
pub mod train;
pub mod web;

pub use burn;
pub use error::{Error, Result};
