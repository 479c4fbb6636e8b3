//! What the explorer maps, as a part: a run's encoded examples and how to
//! show them. An image or table run ([`ModelSubject`]) shows pictures or
//! table rows; a text run ([`TextSubject`]) shows sentences. The explorer
//! asks the part and never the kind of run.

use burn::tensor::{Tensor, TensorData};
use serde::Serialize;

use super::png_data_uri;
use crate::batch::{model_device, model_input};
use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::eval::EvalOptions;
use crate::generate::image_shape;
use crate::latent::space::CodeSpace;
use crate::model::Vae;
use crate::report::grid::image_grid;
use crate::run::Run;
use crate::score::{ScoreKind, ScoreOptions, elbo_per_example};
use crate::text::corpus::Encoded;
use crate::text::decode::{DecodeOptions, Decoding, decode, encode_sentences};
use crate::text::model::SentenceVae;
use crate::text::run::TextRun;

/// Examples as the page shows them: one picture, rows of a table's cells,
/// or lines of text.
#[derive(Debug, Serialize)]
pub struct Rendered {
    pub image: Option<String>,
    pub header: Option<Vec<String>>,
    pub rows: Option<Vec<Vec<String>>>,
    pub text: Option<Vec<String>>,
}

impl Rendered {
    fn image(uri: String) -> Rendered {
        Rendered {
            image: Some(uri),
            header: None,
            rows: None,
            text: None,
        }
    }
}

/// Scores of each example: the -ELBO, and a second score (the
/// reconstruction term, or per word for text).
pub struct Scores {
    pub neg_elbo: Vec<f64>,
    pub second: Vec<f64>,
    /// What the second score is, for the page.
    pub second_name: &'static str,
}

/// A run's examples and model, as the explorer uses them.
pub trait Subject: Send + Sync {
    /// `image`, `table` or `text`.
    fn kind(&self) -> &'static str;
    /// The examples.
    fn len(&self) -> usize;
    /// Whether there are none.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// The code space's size and name (`z`, or `z2`).
    fn code(&self) -> (usize, &'static str);
    /// Every example's code, row-major.
    fn codes(&self) -> Result<Vec<f32>>;
    /// Each example's scores.
    fn scores(&self) -> Result<Scores>;
    /// The examples' labels and their names, where they have them.
    fn labels(&self) -> (Option<&[u32]>, Option<Vec<String>>);
    /// The classes of a conditional model.
    fn classes(&self) -> Option<usize>;
    /// The standard deviations of example `i`'s posterior in the code
    /// space (None where it has none to draw).
    fn sd(&self, i: usize) -> Result<Option<Vec<f64>>>;
    /// Examples `indices` as they are, `columns` pictures a row.
    fn originals(&self, indices: &[usize], columns: usize) -> Result<Rendered>;
    /// Example `i` decoded from its posterior mean.
    fn reconstruction(&self, i: usize) -> Result<Rendered>;
    /// `codes` decoded (with `class` for a conditional model), `columns`
    /// pictures a row.
    fn decode(&self, codes: &[f32], class: Option<u32>, columns: usize) -> Result<Rendered>;
}

/// An image or table run.
pub struct ModelSubject {
    pub run: Run,
    pub model: Vae,
    pub data: Dataset,
    pub space: CodeSpace,
}

impl ModelSubject {
    /// Values (model units, row-major) as one picture `columns` wide, or
    /// as rows of the table's own cells.
    fn render(&self, values: &[f32], columns: usize) -> Result<Rendered> {
        if let Some(shape) = image_shape(&self.run.config.model.input) {
            return Ok(Rendered::image(png_data_uri(&image_grid(
                values, shape, columns,
            )?)?));
        }
        let units = self.run.units();
        let mut values = values.to_vec();
        units.inverse(&mut values);
        let (header, rows) = units.cells(&self.run.config.model.input, &values);
        Ok(Rendered {
            image: None,
            header: Some(header),
            rows: Some(rows),
            text: None,
        })
    }
}

impl Subject for ModelSubject {
    fn kind(&self) -> &'static str {
        match image_shape(&self.run.config.model.input) {
            Some(_) => "image",
            None => "table",
        }
    }

    fn len(&self) -> usize {
        self.data.len()
    }

    fn code(&self) -> (usize, &'static str) {
        (self.space.dim(), self.space.name())
    }

    fn codes(&self) -> Result<Vec<f32>> {
        self.space.encode_first(&self.model, &self.data, None, 1000)
    }

    fn scores(&self) -> Result<Scores> {
        let eval = EvalOptions::for_run(&self.run.config.settings);
        let options = ScoreOptions::new(ScoreKind::NegElbo, None, None, eval)?;
        let terms = elbo_per_example(&self.model, &self.data, &options, &mut |_| {})?;
        Ok(Scores {
            neg_elbo: terms.iter().map(|(r, k)| r + k).collect(),
            second: terms.iter().map(|(r, _)| *r).collect(),
            second_name: "reconstruction error",
        })
    }

    fn labels(&self) -> (Option<&[u32]>, Option<Vec<String>>) {
        (self.data.labels(), self.run.config.data.class_names.clone())
    }

    fn classes(&self) -> Option<usize> {
        self.model.classes()
    }

    fn sd(&self, i: usize) -> Result<Option<Vec<f64>>> {
        if self.space.is_top_layer() {
            return Ok(None);
        }
        let device = model_device(&self.model);
        let x = model_input(&self.model, &self.data, &[i], None, &device);
        let sd = self
            .model
            .encode(x)
            .logvar
            .mul_scalar(0.5)
            .exp()
            .into_data()
            .convert::<f64>()
            .try_into_vec::<f64>()
            .map_err(|e| Error::Data(format!("cannot read the posterior: {e:?}")))?;
        Ok(Some(sd))
    }

    fn originals(&self, indices: &[usize], columns: usize) -> Result<Rendered> {
        self.render(self.data.subset(indices).values(), columns)
    }

    fn reconstruction(&self, i: usize) -> Result<Rendered> {
        let (_, recon) = crate::generate::reconstruct(&self.model, &self.data.subset(&[i]), 1)?;
        self.render(&recon, 1)
    }

    fn decode(&self, codes: &[f32], class: Option<u32>, columns: usize) -> Result<Rendered> {
        self.render(&self.space.decode(&self.model, codes, class), columns)
    }
}

/// Length bands a text map is coloured by.
const LENGTHS: [(usize, usize); 4] = [(1, 5), (6, 10), (11, 15), (16, usize::MAX)];

/// A text run.
pub struct TextSubject {
    pub run: TextRun,
    pub model: SentenceVae,
    pub sentences: Encoded,
    /// Each sentence's length band.
    lengths: Vec<u32>,
    /// Posterior means and standard deviations, row-major.
    mu: Vec<f32>,
    sd: Vec<f64>,
}

impl TextSubject {
    /// The sentences of `sentences` with their posteriors under `model`.
    pub fn new(run: TextRun, model: SentenceVae, sentences: Encoded) -> Result<TextSubject> {
        let encoded = encode_sentences(&model, &sentences.sentences, 256)?;
        let lengths = sentences
            .sentences
            .iter()
            .map(|s| LENGTHS.iter().position(|&(_, b)| s.len() <= b).unwrap_or(3) as u32)
            .collect();
        Ok(TextSubject {
            sd: encoded
                .logvar
                .iter()
                .map(|&l| (0.5 * f64::from(l)).exp())
                .collect(),
            mu: encoded.mu,
            run,
            model,
            sentences,
            lengths,
        })
    }

    fn options(&self) -> DecodeOptions {
        DecodeOptions {
            how: Decoding::Greedy,
            max_length: self.run.config.settings.tokenizer.max_length,
            allow_unk: false,
        }
    }

    fn lines(&self, ids: &[Vec<u32>]) -> Rendered {
        let level = self.run.config.settings.tokenizer.level;
        Rendered {
            image: None,
            header: None,
            rows: None,
            text: Some(
                ids.iter()
                    .map(|s| self.run.vocab.detokenize(s, level))
                    .collect(),
            ),
        }
    }
}

impl Subject for TextSubject {
    fn kind(&self) -> &'static str {
        "text"
    }

    fn len(&self) -> usize {
        self.sentences.sentences.len()
    }

    fn code(&self) -> (usize, &'static str) {
        (self.model.latent(), "z")
    }

    fn codes(&self) -> Result<Vec<f32>> {
        Ok(self.mu.clone())
    }

    fn scores(&self) -> Result<Scores> {
        let scores = crate::text::eval::sentence_scores(
            &self.model,
            &self.sentences.sentences,
            self.run.config.settings.seed,
        );
        Ok(Scores {
            neg_elbo: scores.iter().map(|s| s.neg_elbo).collect(),
            second: scores.iter().map(|s| s.per_word).collect(),
            second_name: "-ELBO per word",
        })
    }

    fn labels(&self) -> (Option<&[u32]>, Option<Vec<String>>) {
        let names = LENGTHS
            .iter()
            .map(|&(a, b)| match b {
                usize::MAX => format!("{a}+ tokens"),
                b => format!("{a}-{b} tokens"),
            })
            .collect();
        (Some(&self.lengths), Some(names))
    }

    fn classes(&self) -> Option<usize> {
        None
    }

    fn sd(&self, i: usize) -> Result<Option<Vec<f64>>> {
        let z = self.model.latent();
        Ok(Some(self.sd[i * z..(i + 1) * z].to_vec()))
    }

    fn originals(&self, indices: &[usize], _columns: usize) -> Result<Rendered> {
        let ids: Vec<Vec<u32>> = indices
            .iter()
            .map(|&i| self.sentences.sentences[i].clone())
            .collect();
        Ok(self.lines(&ids))
    }

    fn reconstruction(&self, i: usize) -> Result<Rendered> {
        let z = self.model.latent();
        self.decode(&self.mu[i * z..(i + 1) * z], None, 1)
    }

    fn decode(&self, codes: &[f32], _class: Option<u32>, _columns: usize) -> Result<Rendered> {
        let z = self.model.latent();
        let n = codes.len() / z.max(1);
        let codes = Tensor::from_data(
            TensorData::new(codes.to_vec(), [n, z]),
            &self.model.device(),
        );
        let mut rng = crate::random::seeded(0, crate::random::Stream::Sample);
        Ok(self.lines(&decode(
            &self.model,
            Some(codes),
            n,
            self.options(),
            &mut rng,
        )))
    }
}
