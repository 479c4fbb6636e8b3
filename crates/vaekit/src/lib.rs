//! vaekit: variational autoencoders on burn.
//!
//! Train a VAE on your own data, evaluate it, generate from it and use its
//! latent space, from Rust or from the `vaekit` command.
//!
//! ```no_run
//! use std::path::PathBuf;
//! use vaekit::settings::TrainSettings;
//! use vaekit::train::{Silent, TrainRequest, train};
//!
//! let request = TrainRequest {
//!     settings: TrainSettings {
//!         data: Some("digits".into()),
//!         epochs: Some(20),
//!         ..TrainSettings::default()
//!     },
//!     out: PathBuf::from("runs/digits"),
//!     resume: false,
//!     device: vaekit::device::parse_device("cpu")?,
//! };
//! let outcome = train(request, &mut Silent)?;
//! println!("best -ELBO {:?}", outcome.best);
//! # Ok::<(), vaekit::Error>(())
//! ```
//!
//! The engine is [burn](https://burn.dev) (re-exported as [`burn`]); its CPU
//! backend is always built in, GPU backends are cargo features, and the device
//! is a run-time setting ([`device::parse_device`]).

pub mod data;
pub mod demo;
pub mod device;
pub mod distributions;
pub mod error;
pub mod eval;
pub mod generate;
pub mod info;
pub mod io;
pub mod latent;
pub mod model;
pub mod nn;
pub mod optim;
pub mod random;
pub mod report;
pub mod settings;
pub mod train;

pub use burn;
pub use error::{Error, Result};
