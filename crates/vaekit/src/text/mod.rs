//! Text: a sentence VAE (Bowman et al. 2016) that generates, reconstructs,
//! interpolates and scores sentences, and the recurrent language model it is
//! measured against.
//!
//! The model is made of the same parts as the image and table VAEs, with
//! new ones for sequences: a text source and tokenizer ([`corpus`]), a GRU
//! written for speed ([`rnn`]), an encoder and an autoregressive decoder
//! with a token observation model ([`model`]). q(z|x) is the same
//! [`crate::distributions::DiagonalGaussian`], the KL the same closed form,
//! the optimizer the same Adam. Against posterior collapse: KL annealing
//! (linear or cyclical), word dropout and free bits, each a setting
//! ([`settings`]); every epoch reports the validation KL, the mutual
//! information between x and z and the active units ([`eval`]), so a
//! collapsed model is visible.
//!
//! ```
//! use vaekit::text::settings::TextSettings;
//! use vaekit::text::train::{TextTrainRequest, train_text};
//!
//! let dir = std::env::temp_dir().join(format!("vaekit-text-doc-{}", std::process::id()));
//! std::fs::create_dir_all(&dir).unwrap();
//! let corpus = dir.join("corpus.txt");
//! std::fs::write(&corpus, "the cat sat\nthe dog ran\na cat ran\n".repeat(20)).unwrap();
//! let settings = TextSettings {
//!     data: corpus.display().to_string(),
//!     embed: 8, hidden: 8, latent: 2, epochs: 1, batch_size: 8,
//!     ..TextSettings::default()
//! };
//! let device = vaekit::device::parse_device("cpu")?;
//! let request = TextTrainRequest { settings, out: dir.join("run"), device: device.clone() };
//! let outcome = train_text(request, &mut vaekit::train::Silent)?;
//! assert_eq!(outcome.metrics.len(), 1);
//! let run = vaekit::text::run::TextRun::open(&dir.join("run"))?;
//! assert_ne!(run.vocab.id("cat"), vaekit::text::corpus::UNK);
//! # std::fs::remove_dir_all(&dir).ok();
//! # Ok::<(), vaekit::Error>(())
//! ```

pub mod corpus;
pub mod decode;
pub mod eval;
pub mod model;
pub mod rnn;
pub mod run;
pub mod settings;
pub mod train;
