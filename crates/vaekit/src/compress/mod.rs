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
pub mod models;

use constriction::stream::stack::DefaultAnsCoder;
use constriction::stream::{Decode, Encode};
use rand::RngExt;

pub use file::{Container, FileInfo, Header, VERSION, describe, looks_compressed, read_header};

use burn::nn::Linear;
use sha2::{Digest, Sha256};

use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::model::Vae;
use crate::random;
use exact::{Dense, ExactDecoder, ExactEncoder, Stack};
use models::{Buckets, Pixel, Prior};

/// 32-bit words on the stack before the first image: 512 bits, more than the
/// first image's pop of 20 latent dimensions takes (about 8 bits each).
pub const SEED_WORDS: usize = 16;

/// The stack's first words, the same for every file.
fn seed_words() -> Vec<u32> {
    let mut rng = random::seeded(0x5eed, random::Stream::Sample);
    (0..SEED_WORDS).map(|_| rng.random::<u32>()).collect()
}

/// A VAE's networks and latent grid, ready to code binary images.
#[derive(Debug, Clone, PartialEq)]
pub struct Coder {
    encoder: ExactEncoder,
    decoder: ExactDecoder,
    buckets: Buckets,
    dim: usize,
}

fn coder_error<E: std::fmt::Debug>(what: &str) -> impl Fn(E) -> Error + '_ {
    move |e| Error::Data(format!("the entropy coder failed while {what}: {e:?}"))
}

impl Coder {
    /// The coder of `model`'s networks: a Bernoulli MLP VAE with one
    /// stochastic layer and the standard-normal prior (otherwise an error
    /// that says what stands in the way).
    pub fn of(model: &Vae) -> Result<Coder> {
        let (encoder, decoder) = model.coding_networks()?;
        let stack = |layers: &[Linear], activation| -> Result<Stack> {
            Ok(Stack {
                layers: layers.iter().map(Dense::of).collect::<Result<_>>()?,
                activation,
            })
        };
        let (hidden, [mu, logvar], activation) = encoder.layers();
        let encoder = ExactEncoder {
            hidden: stack(hidden, activation)?,
            mu: Dense::of(mu)?,
            logvar: Dense::of(logvar)?,
        };
        let (hidden, out, activation) = decoder.layers();
        let decoder = ExactDecoder {
            hidden: stack(hidden, activation)?,
            out: Dense::of(out)?,
        };
        Ok(Coder {
            encoder,
            decoder,
            buckets: Buckets::new(),
            dim: model.input_dim(),
        })
    }

    /// SHA-256 of everything the coding depends on: every weight's bits, in
    /// order, and the networks' shapes and nonlinearities. A file records it,
    /// so that a run whose networks differ in any bit is refused.
    pub fn fingerprint(&self) -> [u8; 32] {
        let mut h = Sha256::new();
        let mut layer = |d: &Dense| d.hash_into(&mut h);
        self.encoder.hidden.layers.iter().for_each(&mut layer);
        layer(&self.encoder.mu);
        layer(&self.encoder.logvar);
        self.decoder.hidden.layers.iter().for_each(&mut layer);
        layer(&self.decoder.out);
        h.update(format!(
            "{:?} {:?} {}",
            self.encoder.hidden.activation, self.decoder.hidden.activation, self.dim
        ));
        h.finalize().into()
    }

    /// Values per image.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// The compressed words of `images` (each `dim` values of 0 or 1, in
    /// order), and the bits each image added to the stack.
    pub fn compress(&self, images: &[bool]) -> Result<(Vec<u32>, Vec<f64>)> {
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
            let before = ans.num_bits();
            let x: Vec<f32> = image.iter().map(|&b| f32::from(u8::from(b))).collect();
            let (mu, sd) = self.encoder.posterior(&x);
            let mut code = Vec::with_capacity(mu.len());
            for (&m, &s) in mu.iter().zip(&sd) {
                let j = ans
                    .decode_symbol(self.buckets.posterior(m, s))
                    .map_err(coder_error("taking bits back"))?;
                code.push(j);
            }
            let z: Vec<f32> = code.iter().map(|&j| self.buckets.centre(j)).collect();
            let logits = self.decoder.logits(&z);
            for (&pixel, &logit) in image.iter().zip(&logits) {
                ans.encode_symbol(pixel, Pixel::of_logit(logit))
                    .map_err(coder_error("coding a pixel"))?;
            }
            for &j in &code {
                ans.encode_symbol(j, Prior)
                    .map_err(coder_error("coding the latent code"))?;
            }
            bits.push(ans.num_bits() as f64 - before as f64);
        }
        let words = ans
            .into_compressed()
            .map_err(coder_error("finishing the stack"))?;
        Ok((words, bits))
    }

    /// The `count` images of compressed `words`, in their original order.
    pub fn decompress(&self, words: Vec<u32>, count: usize) -> Result<Vec<bool>> {
        let corrupt = |what: &str| {
            Error::Data(format!(
                "the compressed data is damaged ({what}); the file cannot be decoded"
            ))
        };
        let mut ans = DefaultAnsCoder::from_compressed(words)
            .map_err(|_| corrupt("its last word is zero"))?;
        let latent = self.encoder.mu.d_out();
        let mut images = vec![false; count * self.dim];
        for image in images.chunks_exact_mut(self.dim).rev() {
            let mut code = vec![0u32; latent];
            for j in code.iter_mut().rev() {
                *j = ans
                    .decode_symbol(Prior)
                    .map_err(|_| corrupt("a latent code"))?;
            }
            let z: Vec<f32> = code.iter().map(|&j| self.buckets.centre(j)).collect();
            let logits = self.decoder.logits(&z);
            for (pixel, &logit) in image.iter_mut().zip(&logits).rev() {
                *pixel = ans
                    .decode_symbol(Pixel::of_logit(logit))
                    .map_err(|_| corrupt("a pixel"))?;
            }
            let x: Vec<f32> = image.iter().map(|&b| f32::from(u8::from(b))).collect();
            let (mu, sd) = self.encoder.posterior(&x);
            for ((&j, &m), &s) in code.iter().zip(&mu).zip(&sd).rev() {
                ans.encode_symbol(j, self.buckets.posterior(m, s))
                    .map_err(|_| corrupt("the bits given back"))?;
            }
        }
        let rest = ans.into_binary().map_err(|_| corrupt("what is left"))?;
        if rest != seed_words() {
            return Err(corrupt("the stack does not end where it began"));
        }
        Ok(images)
    }
}

/// The pixels of binary images, one bool each; an error naming the first
/// value that is not 0 or 1.
pub fn binary_pixels(data: &Dataset) -> Result<Vec<bool>> {
    data.values()
        .iter()
        .enumerate()
        .map(|(i, &v)| match v {
            0.0 => Ok(false),
            1.0 => Ok(true),
            v => Err(Error::Data(format!(
                "value {v} of image {} (pixel {}) is not 0 or 1: compression codes binarized images; binarize them first (`vaekit compress --binarize-seed N` draws each pixel once)",
                i / data.dim().max(1),
                i % data.dim().max(1)
            ))),
        })
        .collect()
}

/// A `.vkz` file's bytes for binary images of `shape` (channels, height,
/// width), and the bits each image added to the coder's stack.
pub fn compress_file(
    coder: &Coder,
    shape: [u32; 3],
    container: Container,
    pixels: &[bool],
) -> Result<(Vec<u8>, Vec<f64>)> {
    let dim: u64 = shape.iter().map(|&s| u64::from(s)).product();
    if dim != coder.dim() as u64 {
        return Err(Error::Data(format!(
            "the images have {dim} pixels and the run's model takes {}; compress images like the training data",
            coder.dim()
        )));
    }
    let (words, bits) = coder.compress(pixels)?;
    let header = Header {
        fingerprint: coder.fingerprint(),
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
pub fn decompress_file(coder: &Coder, bytes: &[u8]) -> Result<(Header, Vec<bool>)> {
    let (header, words) = file::read(bytes)?;
    if header.fingerprint != coder.fingerprint() {
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
    let pixels = coder.decompress(words, header.count as usize)?;
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

/// Compresses the images of `data` with `model`'s networks. With
/// `binarize_seed`, each value in [0, 1] is first drawn once as a pixel
/// (1 when a uniform draw of that seed's generator falls below it), which
/// is what the file then holds; without it every value must be 0 or 1.
pub fn compress_dataset(
    model: &Vae,
    data: &Dataset,
    container: Container,
    binarize_seed: Option<u64>,
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
    let pixels = match binarize_seed {
        None => binary_pixels(data)?,
        Some(seed) => {
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
            values.iter().map(|&v| v == 1.0).collect()
        }
    };
    let start = std::time::Instant::now();
    let (bytes, bits) = compress_file(&coder, shape, container, &pixels)?;
    Ok(Compressed {
        bytes,
        bits,
        dim: coder.dim(),
        seconds: start.elapsed().as_secs_f64(),
    })
}

/// The images of a `.vkz` file as a data set of 0s and 1s, with the file's
/// header and the seconds of decoding.
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
    let values = pixels.iter().map(|&p| f32::from(u8::from(p))).collect();
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
