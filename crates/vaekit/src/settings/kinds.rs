//! The names a user chooses between: the model, prior, objective, network,
//! likelihood and schedule, each read from its flag's words (kebab-case) and
//! written back the same way in `config.json`.

use serde::{Deserialize, Serialize};

/// The network family, as the user names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ArchitectureKind {
    /// Fully connected.
    Mlp,
    /// Convolutional (images only).
    Conv,
}

/// The model variant, as the user names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ModelKind {
    /// The VAE trained on the ELBO (with `--beta`, the beta-VAE). Runs made
    /// before `--arch` existed saved their architecture here; they read as `vae`.
    #[serde(alias = "mlp", alias = "conv")]
    Vae,
    /// The importance-weighted autoencoder: the same networks trained on the
    /// K-sample importance-weighted bound.
    Iwae,
    /// Two stochastic layers, x -> z1 -> z2, with a learned p(z1|z2); trained
    /// on the ELBO, or on the IW bound with `--objective iw`.
    Hvae,
    /// Conditional on the label: the one-hot label goes into the encoder and
    /// the decoder, so samples can be drawn for a chosen class.
    Cvae,
    /// The recurrent language model of text: the sentence VAE's decoder
    /// without z, its baseline (text sources only).
    Lm,
}

impl ModelKind {
    /// Every model, in the order the help lists them.
    pub const ALL: [ModelKind; 5] = [Self::Vae, Self::Iwae, Self::Hvae, Self::Cvae, Self::Lm];
}

/// The prior p(z), as the user names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PriorKind {
    /// N(0, I).
    Standard,
    /// The VampPrior: a mixture of the posteriors at learned pseudo-inputs.
    Vamp,
    /// A learned Gaussian mixture whose components are clusters (VaDE).
    Gmm,
}

/// What training maximizes, as the user names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ObjectiveKind {
    /// The evidence lower bound, averaged over the samples.
    Elbo,
    /// The importance-weighted bound of the samples (Burda et al. 2015).
    Iw,
}

/// The likelihood, as the user names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LikelihoodKind {
    /// Bernoulli on values in [0, 1].
    Bernoulli,
    /// Gaussian with a learned variance.
    Gaussian,
    /// Poisson, for tables of counts (non-negative integers, unscaled).
    Poisson,
    /// A discretized logistic per value, for 8-bit images (values k / 255).
    Logistic,
}

/// How the learning rate moves over a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LrSchedule {
    /// `--lr` throughout.
    #[default]
    Constant,
    /// Half a cosine from `--lr` down to `--lr-final` at the last step.
    Cosine,
    /// Geometric decay from `--lr` to `--lr-final` at the last step (the
    /// IWAE paper decays its rate tenfold over training, in stages).
    Exp,
}

macro_rules! kebab_enum_str {
    ($ty:ty, $what:literal, $($variant:ident => $name:literal),+) => {
        impl std::str::FromStr for $ty {
            type Err = String;
            fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
                match s {
                    $($name => Ok(Self::$variant),)+
                    other => Err(format!(
                        concat!("unknown ", $what, " '{}'; use ", $($name, " "),+), other
                    )),
                }
            }
        }
        impl std::fmt::Display for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(match self { $(Self::$variant => $name,)+ })
            }
        }
    };
}
kebab_enum_str!(ArchitectureKind, "architecture", Mlp => "mlp", Conv => "conv");
kebab_enum_str!(ObjectiveKind, "objective", Elbo => "elbo", Iw => "iw");
kebab_enum_str!(PriorKind, "prior", Standard => "standard", Vamp => "vamp", Gmm => "gmm");
kebab_enum_str!(LrSchedule, "learning-rate schedule", Constant => "constant", Cosine => "cosine", Exp => "exp");

impl std::str::FromStr for ModelKind {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        match s {
            "vae" => Ok(Self::Vae),
            "iwae" => Ok(Self::Iwae),
            "hvae" => Ok(Self::Hvae),
            "cvae" => Ok(Self::Cvae),
            "lm" => Ok(Self::Lm),
            "mlp" | "conv" => Err(format!(
                "'{s}' is an architecture; use --arch {s} (--model picks vae, iwae, hvae, cvae or lm)"
            )),
            other => Err(format!(
                "unknown model '{other}'; use vae, iwae, hvae, cvae or lm"
            )),
        }
    }
}

impl std::fmt::Display for ModelKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Vae => "vae",
            Self::Iwae => "iwae",
            Self::Hvae => "hvae",
            Self::Cvae => "cvae",
            Self::Lm => "lm",
        })
    }
}
kebab_enum_str!(LikelihoodKind, "likelihood", Bernoulli => "bernoulli", Gaussian => "gaussian", Poisson => "poisson", Logistic => "logistic");
