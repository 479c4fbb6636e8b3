//! Lossless compression of binarized images with the VAE: bits-back coding
//! with asymmetric numeral systems (BB-ANS, Townsend, Bird and Barber 2019).
//!
//! For each image x, in order, on one ANS stack (`constriction`'s
//! `AnsCoder`: a stack, the one coder for which decoding arbitrary bits and
//! encoding them back is exact, which bits-back needs):
//!
//! 1. pop z's buckets from q(z|x) (this takes bits off the stack: the bits
//!    that come back);
//! 2. push x's pixels under p(x|z);
//! 3. push z's buckets under the prior.
//!
//! The stack grows by -log p(x|z) - log p(z) + log q(z|x) bits per image,
//! the discretized -ELBO of one sample of z. The first image's pop needs
//! bits already on the stack: the stack starts with [`SEED_WORDS`] words
//! from a fixed generator, paid once per file (the "initial bits"), and the
//! decompressor, which undoes the steps in reverse (pop z under the prior,
//! pop x under p(x|z), push z under q(z|x), last image first), must end with
//! exactly those words: a check that every image decoded as it was coded.
//!
//! The probabilities come from [`exact`]'s networks and [`models`]'
//! integer arithmetic, one image at a time on the calling thread: the same
//! integers on every machine, whatever its vector width or thread count.

pub mod exact;
mod file;
mod importance;
mod latent;
pub mod models;

use constriction::stream::stack::DefaultAnsCoder;
use constriction::stream::{Decode, Encode};
use rand::RngExt;

pub use file::{
    Container, Depth, FileInfo, Header, VERSION, describe, looks_compressed, read_header,
};
pub use importance::MAX_PARTICLES;

use burn::nn::Linear;
use sha2::{Digest, Sha256};

use crate::data::Dataset;
use crate::distributions::Likelihood;
use crate::error::{Error, Result};
use crate::model::CodingPrior;
use crate::model::Vae;
use crate::random;
use exact::{Dense, ExactDecoder, ExactEncoder, Stack};
use latent::{Grid, MixturePrior, Step, TopPrior};
use models::{Buckets, Level, Pixel};

/// 32-bit words on the stack before the first image: 512 bits, more than the
/// first image's pop of 20 latent dimensions takes (about 8 bits each).
pub const SEED_WORDS: usize = 16;

/// The stack's first words, the same for every file.
fn seed_words() -> Vec<u32> {
    let mut rng = random::seeded(0x5eed, random::Stream::Sample);
    (0..SEED_WORDS).map(|_| rng.random::<u32>()).collect()
}

/// A VAE's networks, prior and latent grid, ready to code binary images.
#[derive(Debug, Clone)]
pub struct Coder {
    encoder: ExactEncoder,
    decoder: ExactDecoder,
    /// q(z2|z1) and p(z1|z2) of a two-layer model, coded in Bit-Swap's order.
    top: Option<TopCoder>,
    prior: TopPrior,
    buckets: Buckets,
    /// The buckets of z (z1 in a two-layer model).
    grid: Grid,
    dim: usize,
    /// Binary pixels under a Bernoulli decoder, or 8-bit ones under a
    /// discretized logistic.
    depth: Depth,
}

/// The second stochastic layer's networks, and the buckets of z2.
#[derive(Debug, Clone)]
struct TopCoder {
    up: ExactEncoder,
    down: ExactEncoder,
    grid: Grid,
}

fn coder_error<E: std::fmt::Debug>(what: &str) -> impl Fn(E) -> Error + '_ {
    move |e| Error::Data(format!("the entropy coder failed while {what}: {e:?}"))
}

/// The exact networks of a model's fully connected encoder (with its two
/// heads) or of the layers of its decoder.
fn exact_encoder(encoder: &crate::nn::mlp::MlpEncoder) -> Result<ExactEncoder> {
    let (hidden, [mu, logvar], activation) = encoder.layers();
    Ok(ExactEncoder {
        hidden: exact_stack(hidden, activation)?,
        mu: Dense::of(mu)?,
        logvar: Dense::of(logvar)?,
    })
}

fn exact_stack(layers: &[Linear], activation: crate::nn::Activation) -> Result<Stack> {
    Ok(Stack {
        layers: layers.iter().map(Dense::of).collect::<Result<_>>()?,
        activation,
    })
}

/// The grid of z1 in a two-layer model: at the mean and spread of each
/// dimension of p(z1) = E p(z1 | z2) over z2 from the prior, taken over
/// [`LOWER_GRID_DRAWS`] fixed draws of z2 (bucket indices from a fixed
/// SplitMix64 sequence, read at the top grid's centres) through the exact
/// networks, so that every machine computes the same grid.
///
/// p(z1 | z2) is learned, and nothing holds z1 near N(0, I): on the IWAE
/// paper's two-layer MNIST model the standard buckets cost 30 % more than
/// the -ELBO (their centres are far from the codes where the buckets are
/// wide, and too coarse where the codes are tight); following p(z1)'s
/// spread, 0.4 % (docs/COMPRESSION.md).
fn lower_grid(top: &TopCoder, latent: usize, buckets: &Buckets) -> Grid {
    let mut state = 0x5EED_0F21_u64;
    let mut splitmix = || {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    };
    let (mut mu, mut sd) = (Vec::new(), Vec::new());
    for _ in 0..LOWER_GRID_DRAWS {
        let code: Vec<u32> = (0..top.up.mu.d_out())
            .map(|_| (splitmix() >> (64 - models::LATENT_BITS)) as u32)
            .collect();
        let (m, s) = top.down.posterior(&top.grid.centres(&code, buckets));
        mu.extend(m);
        sd.extend(s);
    }
    let weights = vec![1.0 / LOWER_GRID_DRAWS as f64; LOWER_GRID_DRAWS];
    Grid::of_mixture(latent, &mu, &sd, &weights)
}

/// How many draws of z2 place z1's grid (see [`lower_grid`]).
const LOWER_GRID_DRAWS: usize = 512;

impl Coder {
    /// The coder of `model`: a Bernoulli MLP VAE with one stochastic layer
    /// under N(0, I), the VampPrior or a Gaussian mixture, or two under
    /// N(0, I) (otherwise an error that says what stands in the way).
    pub fn of(model: &Vae) -> Result<Coder> {
        let parts = model.coding_parts()?;
        let encoder = exact_encoder(parts.encoder)?;
        let (hidden, out, activation) = parts.decoder.layers();
        let decoder = ExactDecoder {
            hidden: exact_stack(hidden, activation)?,
            out: Dense::of(out)?,
        };
        let top = match parts.top {
            Some((up, down)) => {
                let (up, down) = (exact_encoder(up)?, exact_encoder(down)?);
                let grid = Grid::standard(up.mu.d_out());
                Some(TopCoder { up, down, grid })
            }
            None => None,
        };
        let dim = model.input_dim();
        let latent = encoder.mu.d_out();
        let bad_prior = |why: &str| Error::Data(format!("this run's prior cannot code: {why}"));
        let prior = match parts.prior {
            CodingPrior::Standard => TopPrior::Standard,
            CodingPrior::Vamp { pseudo_inputs } => {
                // The components are the exact encoder's posteriors at the
                // pseudo-inputs, so that they too are the same everywhere.
                let (mut mu, mut sd) = (Vec::new(), Vec::new());
                for u in pseudo_inputs.chunks_exact(dim.max(1)) {
                    let (m, s) = encoder.posterior(u);
                    mu.extend(m);
                    sd.extend(s);
                }
                let k = pseudo_inputs.len() / dim.max(1);
                MixturePrior::new(latent, mu, sd, &vec![0.0; k])
                    .map(TopPrior::Mixture)
                    .map_err(bad_prior)?
            }
            CodingPrior::Mixture { logits, mu, logvar } => {
                let sd = logvar
                    .iter()
                    .map(|&l| libm::exp(0.5 * f64::from(l)) as f32)
                    .collect();
                let logits: Vec<f64> = logits.iter().map(|&l| f64::from(l)).collect();
                MixturePrior::new(latent, mu, sd, &logits)
                    .map(TopPrior::Mixture)
                    .map_err(bad_prior)?
            }
        };
        // The prior's grid is the top code's: z's in a one-layer model,
        // z2's in a two-layer one, whose z1 has a grid of its own.
        let buckets = Buckets::new();
        let (grid, top) = match top {
            Some(top) => {
                let top = TopCoder {
                    grid: prior.grid(top.up.mu.d_out()),
                    ..top
                };
                (lower_grid(&top, latent, &buckets), Some(top))
            }
            None => (prior.grid(latent), None),
        };
        Ok(Coder {
            encoder,
            decoder,
            top,
            prior,
            grid,
            buckets,
            dim,
            depth: match parts.likelihood {
                Likelihood::Logistic => Depth::EightBit,
                _ => Depth::Binary,
            },
        })
    }

    /// The coder as files of format `version` were coded: version 1 put a
    /// two-layer model's z1 on N(0, I)'s buckets.
    fn as_of(&self, version: u32) -> std::borrow::Cow<'_, Coder> {
        match (&self.top, version) {
            (Some(_), 1) => std::borrow::Cow::Owned(Coder {
                grid: Grid::standard(self.encoder.mu.d_out()),
                ..self.clone()
            }),
            _ => std::borrow::Cow::Borrowed(self),
        }
    }

    /// SHA-256 of everything the coding depends on: every weight's bits, in
    /// order, the networks' shapes and nonlinearities, and a mixture prior's
    /// components and weights. A file records it, so that a run whose
    /// networks differ in any bit is refused.
    pub fn fingerprint(&self) -> [u8; 32] {
        let mut h = Sha256::new();
        let mut layer = |d: &Dense| d.hash_into(&mut h);
        let mut encoder = |e: &ExactEncoder| {
            e.hidden.layers.iter().for_each(&mut layer);
            layer(&e.mu);
            layer(&e.logvar);
        };
        encoder(&self.encoder);
        if let Some(top) = &self.top {
            encoder(&top.up);
            encoder(&top.down);
        }
        self.decoder.hidden.layers.iter().for_each(&mut layer);
        layer(&self.decoder.out);
        h.update(format!(
            "{:?} {:?} {}",
            self.encoder.hidden.activation, self.decoder.hidden.activation, self.dim
        ));
        if self.depth == Depth::EightBit {
            h.update("8-bit");
        }
        if let Some(top) = &self.top {
            h.update(format!("top {:?}", top.up.hidden.activation));
        }
        self.prior.hash_into(&mut h);
        h.finalize().into()
    }

    /// Values per image.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// The pixels it codes.
    pub fn depth(&self) -> Depth {
        self.depth
    }

    /// Pushes an image's pixels under the decoder's outputs `raw`.
    fn push_pixels(
        &self,
        ans: &mut DefaultAnsCoder,
        image: &[u8],
        raw: &[f32],
    ) -> std::result::Result<(), Step> {
        let coded = match self.depth {
            Depth::Binary => image
                .iter()
                .zip(raw)
                .try_for_each(|(&p, &logit)| ans.encode_symbol(p != 0, Pixel::of_logit(logit))),
            Depth::EightBit => image
                .iter()
                .enumerate()
                .try_for_each(|(k, &p)| ans.encode_symbol(p, Level::of(raw[k], raw[self.dim + k]))),
        };
        coded.map_err(|_| "coding a pixel")
    }

    /// Pops the pixels [`Coder::push_pixels`] pushed, last first.
    fn pop_pixels(
        &self,
        ans: &mut DefaultAnsCoder,
        image: &mut [u8],
        raw: &[f32],
    ) -> std::result::Result<(), Step> {
        for (k, pixel) in image.iter_mut().enumerate().rev() {
            *pixel = match self.depth {
                Depth::Binary => ans.decode_symbol(Pixel::of_logit(raw[k])).map(u8::from),
                Depth::EightBit => ans.decode_symbol(Level::of(raw[k], raw[self.dim + k])),
            }
            .map_err(|_| "a pixel")?;
        }
        Ok(())
    }

    /// An image as the encoder reads it: 0 or 1, or the level / 255.
    fn encoder_input(&self, image: &[u8]) -> Vec<f32> {
        let top = match self.depth {
            Depth::Binary => 1.0,
            Depth::EightBit => 255.0,
        };
        image.iter().map(|&p| f32::from(p) / top).collect()
    }

    /// Checks `particles`, the codes an image is coded with: 1 (BB-ANS,
    /// the -ELBO) or up to [`MAX_PARTICLES`] (the importance-weighted
    /// bound), for a one-layer model.
    pub fn check_particles(&self, particles: usize) -> Result<()> {
        if !(1..=MAX_PARTICLES).contains(&particles) {
            return Err(Error::setting(
                "--iw-samples",
                format!("an image is coded with 1 to {MAX_PARTICLES} codes, not {particles}"),
            ));
        }
        if particles > 1 && self.top.is_some() {
            return Err(Error::setting(
                "--iw-samples",
                "importance-weighted coding takes one stochastic layer; a two-layer model codes with 1",
            ));
        }
        Ok(())
    }

    /// The compressed words of `images` (each `dim` pixels, 0 or 1 or
    /// 0..=255 as the coder's depth, in order), each coded with `particles`
    /// codes ([`Coder::check_particles`]), and the bits each image added to
    /// the stack.
    pub fn compress(&self, images: &[u8], particles: usize) -> Result<(Vec<u32>, Vec<f64>)> {
        self.check_particles(particles)?;
        if self.dim == 0 || !images.len().is_multiple_of(self.dim) {
            return Err(Error::Data(format!(
                "{} pixels are not whole images of {} pixels",
                images.len(),
                self.dim
            )));
        }
        let mut ans = DefaultAnsCoder::from_binary(seed_words())
            .map_err(coder_error("starting the stack"))?;
        let mut bits = Vec::with_capacity(images.len() / self.dim);
        for image in images.chunks_exact(self.dim) {
            let before = ans.num_valid_bits();
            let pushed = match particles {
                1 => self.push_image(&mut ans, image),
                k => self.push_image_weighted(&mut ans, image, k),
            };
            pushed.map_err(|step| Error::Data(format!("the entropy coder failed while {step}")))?;
            bits.push(ans.num_valid_bits() as f64 - before as f64);
        }
        let words = ans
            .into_compressed()
            .map_err(coder_error("finishing the stack"))?;
        Ok((words, bits))
    }

    /// One image onto the stack: pop z1 from q(z1|x), push x under p(x|z1);
    /// in a two-layer model then pop z2 from q(z2|z1) and push z1 under
    /// p(z1|z2) (Bit-Swap's order: the bits z2 takes back are the ones x
    /// just pushed, so no initial bits beyond the first layer's); last the
    /// top code under the prior.
    fn push_image(&self, ans: &mut DefaultAnsCoder, image: &[u8]) -> std::result::Result<(), Step> {
        let (buckets, grid) = (&self.buckets, &self.grid);
        let (mu, sd) = self.encoder.posterior(&self.encoder_input(image));
        let code = grid.gaussian(&mu, &sd).pop(ans, buckets)?;
        let raw = self.decoder.logits(&grid.centres(&code, buckets));
        self.push_pixels(ans, image, &raw)?;
        let top_code = match &self.top {
            None => code,
            Some(top) => {
                let (mu2, sd2) = top.up.posterior(&grid.centres(&code, buckets));
                let code2 = top.grid.gaussian(&mu2, &sd2).pop(ans, buckets)?;
                let (mu1, sd1) = top.down.posterior(&top.grid.centres(&code2, buckets));
                grid.gaussian(&mu1, &sd1).push(ans, &code, buckets)?;
                code2
            }
        };
        self.prior.push(ans, &top_code, buckets)
    }

    /// [`Coder::push_image`] undone: the image on top of the stack, taken
    /// off and the bits it took back given back.
    fn pop_image(
        &self,
        ans: &mut DefaultAnsCoder,
        image: &mut [u8],
    ) -> std::result::Result<(), Step> {
        let (buckets, grid) = (&self.buckets, &self.grid);
        let code = match &self.top {
            None => self.prior.unpush(ans, self.encoder.mu.d_out(), buckets)?,
            Some(top) => {
                let code2 = self.prior.unpush(ans, top.up.mu.d_out(), buckets)?;
                let (mu1, sd1) = top.down.posterior(&top.grid.centres(&code2, buckets));
                let code = grid.gaussian(&mu1, &sd1).unpush(ans, buckets)?;
                let (mu2, sd2) = top.up.posterior(&grid.centres(&code, buckets));
                top.grid.gaussian(&mu2, &sd2).unpop(ans, &code2, buckets)?;
                code
            }
        };
        let raw = self.decoder.logits(&grid.centres(&code, buckets));
        self.pop_pixels(ans, image, &raw)?;
        let (mu, sd) = self.encoder.posterior(&self.encoder_input(image));
        grid.gaussian(&mu, &sd).unpop(ans, &code, buckets)
    }

    /// The `count` images of compressed `words`, each coded with
    /// `particles` codes, in their original order.
    pub fn decompress(&self, words: Vec<u32>, count: usize, particles: usize) -> Result<Vec<u8>> {
        self.check_particles(particles)?;
        let corrupt = |what: &str| {
            Error::Data(format!(
                "the compressed data is damaged ({what}); the file cannot be decoded"
            ))
        };
        let mut ans = DefaultAnsCoder::from_compressed(words)
            .map_err(|_| corrupt("its last word is zero"))?;
        let mut images = vec![0u8; count * self.dim];
        for image in images.chunks_exact_mut(self.dim).rev() {
            let popped = match particles {
                1 => self.pop_image(&mut ans, image),
                k => self.pop_image_weighted(&mut ans, image, k),
            };
            popped.map_err(corrupt)?;
        }
        let rest = ans.into_binary().map_err(|_| corrupt("what is left"))?;
        if rest != seed_words() {
            return Err(corrupt("the stack does not end where it began"));
        }
        Ok(images)
    }
}

/// The pixels of binary images, one byte (0 or 1) each; an error naming
/// the first value that is not 0 or 1.
pub fn binary_pixels(data: &Dataset) -> Result<Vec<u8>> {
    data.values()
        .iter()
        .enumerate()
        .map(|(i, &v)| match v {
            0.0 => Ok(0),
            1.0 => Ok(1),
            v => Err(Error::Data(format!(
                "value {v} of image {} (pixel {}) is not 0 or 1: compression codes binarized images; binarize them first (`vaekit compress --binarize-seed N` draws each pixel once)",
                i / data.dim().max(1),
                i % data.dim().max(1)
            ))),
        })
        .collect()
}

/// The levels of 8-bit images, values k / 255 read back as k; an error
/// naming the first value that is not one.
pub fn eight_bit_pixels(data: &Dataset) -> Result<Vec<u8>> {
    data.values()
        .iter()
        .enumerate()
        .map(|(i, &v)| {
            let level = v * 255.0;
            match (0.0..=255.0).contains(&level) && (level - level.round()).abs() <= 1e-3 {
                true => Ok(level.round() as u8),
                false => Err(Error::Data(format!(
                    "value {v} of image {} (pixel {}) is not an 8-bit level (0..255 divided by 255): this run codes 8-bit images",
                    i / data.dim().max(1),
                    i % data.dim().max(1)
                ))),
            }
        })
        .collect()
}

/// A `.vkz` file's bytes for images of `shape` (channels, height, width)
/// at the coder's depth, each coded with `particles` codes, and the bits
/// each image added to the coder's stack.
pub fn compress_file(
    coder: &Coder,
    shape: [u32; 3],
    container: Container,
    pixels: &[u8],
    particles: usize,
) -> Result<(Vec<u8>, Vec<f64>)> {
    let dim: u64 = shape.iter().map(|&s| u64::from(s)).product();
    if dim != coder.dim() as u64 {
        return Err(Error::Data(format!(
            "the images have {dim} pixels and the run's model takes {}; compress images like the training data",
            coder.dim()
        )));
    }
    if coder.depth() == Depth::Binary && pixels.iter().any(|&p| p > 1) {
        return Err(Error::Data(
            "a binary model codes pixels of 0 or 1 only".into(),
        ));
    }
    let (words, bits) = coder.compress(pixels, particles)?;
    let header = Header {
        version: file::VERSION,
        fingerprint: coder.fingerprint(),
        depth: coder.depth(),
        particles,
        shape,
        count: bits.len() as u64,
        container,
        checksum: file::pixels_checksum(pixels),
    };
    Ok((file::write(&header, &words), bits))
}

/// The header and the pixels of a `.vkz` file, decoded with `coder` after
/// every check: the file's own (see [`file`]), that `coder` is the run it
/// was made with, and the decoded pixels' checksum.
pub fn decompress_file(coder: &Coder, bytes: &[u8]) -> Result<(Header, Vec<u8>)> {
    let (header, words) = file::read(bytes)?;
    if header.fingerprint != coder.fingerprint() || header.depth != coder.depth() {
        return Err(Error::Data(
            "the file was compressed with another run (its weights differ); decompress it with the run that compressed it".into(),
        ));
    }
    let dim: u64 = header.shape.iter().map(|&s| u64::from(s)).product();
    let total = header.count.checked_mul(dim).filter(|&t| t <= 1 << 36);
    let (Some(_), true) = (total, dim == coder.dim() as u64) else {
        return Err(Error::Data(format!(
            "the file holds {} images of {dim} pixels, which this run cannot decode",
            header.count
        )));
    };
    let pixels =
        coder
            .as_of(header.version)
            .decompress(words, header.count as usize, header.particles)?;
    if file::pixels_checksum(&pixels) != header.checksum {
        return Err(Error::Data(
            "the decoded images do not match the file's checksum; the file is damaged".into(),
        ));
    }
    Ok((header, pixels))
}

/// What [`compress_dataset`] made.
#[derive(Debug, Clone)]
pub struct Compressed {
    /// The `.vkz` file.
    pub bytes: Vec<u8>,
    /// Bits each image added to the stack (its share of the file, without
    /// the header and the initial bits).
    pub bits: Vec<f64>,
    /// Values per image.
    pub dim: usize,
    /// Seconds of coding (the networks and the coder, not the reading).
    pub seconds: f64,
}

impl Compressed {
    /// Bits per pixel of the whole file, every byte counted.
    pub fn bits_per_dim(&self) -> f64 {
        8.0 * self.bytes.len() as f64 / (self.bits.len() * self.dim).max(1) as f64
    }
}

/// The layout a decompressed file is written back in, from the format its
/// source was read as (the embedded digits as NPY).
pub fn container_of(format: crate::data::Format) -> Container {
    use crate::data::Format;
    match format {
        Format::Idx | Format::IdxDir => Container::Idx,
        Format::Images => Container::PngFolder,
        Format::Npy | Format::Digits | Format::Csv => Container::Npy,
    }
}

/// Compresses the images of `data` with `model`'s networks, each with
/// `particles` codes (1: BB-ANS, to the -ELBO; more: the importance-weighted
/// bound, see [`importance`]). With `binarize_seed`, each value in [0, 1]
/// is first drawn once as a pixel (1 when a uniform draw of that seed's
/// generator falls below it), which is what the file then holds; without
/// it every value must be 0 or 1 (or, for an 8-bit model, a level / 255).
pub fn compress_dataset(
    model: &Vae,
    data: &Dataset,
    container: Container,
    binarize_seed: Option<u64>,
    particles: usize,
) -> Result<Compressed> {
    let crate::data::DataKind::Image {
        channels,
        height,
        width,
    } = *data.kind()
    else {
        return Err(Error::Data(
            "compression codes images; this data is a table".into(),
        ));
    };
    let shape = [channels, height, width].map(|s| s as u32);
    let coder = Coder::of(model)?;
    coder.check_particles(particles)?;
    let pixels = match (coder.depth(), binarize_seed) {
        (Depth::EightBit, Some(_)) => {
            return Err(Error::Data(
                "this run codes 8-bit images under its discretized logistic; drop --binarize-seed"
                    .into(),
            ));
        }
        (Depth::EightBit, None) => eight_bit_pixels(data)?,
        (Depth::Binary, None) => binary_pixels(data)?,
        (Depth::Binary, Some(seed)) => {
            if let Some(v) = data.values().iter().find(|v| !(0.0..=1.0).contains(*v)) {
                return Err(Error::Data(format!(
                    "value {v} is outside [0, 1], so it is no probability to binarize; give images scaled to [0, 1]"
                )));
            }
            let mut values = data.values().to_vec();
            random::binarize(
                &mut values,
                &mut random::seeded(seed, random::Stream::EvalBinarize),
            );
            values.iter().map(|&v| u8::from(v == 1.0)).collect()
        }
    };
    let start = std::time::Instant::now();
    let (bytes, bits) = compress_file(&coder, shape, container, &pixels, particles)?;
    Ok(Compressed {
        bytes,
        bits,
        dim: coder.dim(),
        seconds: start.elapsed().as_secs_f64(),
    })
}

/// The images of a `.vkz` file as a data set (0s and 1s, or levels / 255),
/// with the file's header and the seconds of decoding.
pub fn decompress_dataset(model: &Vae, bytes: &[u8]) -> Result<(Header, Dataset, f64)> {
    let coder = Coder::of(model)?;
    let start = std::time::Instant::now();
    let (header, pixels) = decompress_file(&coder, bytes)?;
    let seconds = start.elapsed().as_secs_f64();
    let [channels, height, width] = header.shape.map(|s| s as usize);
    let kind = crate::data::DataKind::Image {
        channels,
        height,
        width,
    };
    let top = match header.depth {
        Depth::Binary => 1.0,
        Depth::EightBit => 255.0,
    };
    let values = pixels.iter().map(|&p| f32::from(p) / top).collect();
    Ok((header, Dataset::new(values, kind, None)?, seconds))
}

/// Writes decompressed images at `path` in `format`, else in the layout the
/// compressed input came in (see [`crate::augment::write_augmented`]: a new
/// folder for IDX and PNG, nothing left behind on failure); returns the
/// layout written.
pub fn write_images(
    path: &std::path::Path,
    format: Option<crate::augment::AugmentFormat>,
    header: &Header,
    data: &Dataset,
) -> Result<crate::augment::AugmentFormat> {
    use crate::augment::AugmentFormat;
    let format = format.unwrap_or(match header.container {
        Container::Idx => AugmentFormat::Idx,
        Container::Npy => AugmentFormat::Npy,
        Container::PngFolder => AugmentFormat::Images,
    });
    let samples = crate::generate::Samples {
        values: data.values().to_vec(),
        labels: None,
        columns: data.len().clamp(1, 16),
        count: data.len(),
    };
    crate::augment::write_augmented(path, format, &samples, data.kind(), None, None)?;
    Ok(format)
}

#[cfg(test)]
mod tests;
