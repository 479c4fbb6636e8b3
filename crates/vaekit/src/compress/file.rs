//! The `.vkz` file: a header, the coder's words, and a checksum of both.
//!
//! All integers little-endian:
//!
//! | bytes | field |
//! |---|---|
//! | 8 | magic `b"vaekitZ\0"` |
//! | 4 | format version ([`VERSION`]) |
//! | 32 | fingerprint of the run's networks: SHA-256 of every weight ([`super::Coder::fingerprint`]) |
//! | 1 | probability precision in bits (24) |
//! | 1 | latent bucket bits (12) |
//! | 1 | pixel depth: 0 for binary pixels, 8 for 8-bit ones |
//! | 1 | codes per image (importance-weighted coding), 0 meaning 1 |
//! | 4 x 3 | channels, height, width of one image |
//! | 8 | number of images |
//! | 1 | the input's format (0 IDX, 1 NPY, 2 PNG folder), for decompression |
//! | 32 | SHA-256 of the decoded images, one byte (0 or 1, or 0..=255) per pixel |
//! | 8 | number of 32-bit words that follow |
//! | 4 x n | the ANS coder's compressed words |
//! | 32 | SHA-256 of every byte before it |
//!
//! A reader checks the magic, the version, the lengths against the file's
//! size and the final checksum before it decodes anything, so that a
//! truncated, damaged or foreign file is refused with a message, and the
//! fingerprint before it decodes with a run, so that another run's file is
//! refused rather than decoded into noise.

use sha2::{Digest, Sha256};

use super::models::{LATENT_BITS, PRECISION};
use crate::error::{Error, Result};

const MAGIC: &[u8; 8] = b"vaekitZ\0";
/// The format this build writes. 2: a two-layer model's z1 is coded on a
/// grid that follows p(z1) (see `super::lower_grid`); version 1 put it on
/// N(0, I)'s buckets, and its files are still read (and decoded that way).
pub const VERSION: u32 = 2;
/// The oldest format this build reads.
const OLDEST: u32 = 1;
const HEADER_LEN: usize = 8 + 4 + 32 + 4 + 12 + 8 + 1 + 32 + 8;
const CHECKSUM_LEN: usize = 32;

/// The input's format, restored by decompression.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Container {
    Idx,
    Npy,
    PngFolder,
}

impl Container {
    fn code(self) -> u8 {
        match self {
            Container::Idx => 0,
            Container::Npy => 1,
            Container::PngFolder => 2,
        }
    }

    fn of_code(code: u8) -> Option<Container> {
        match code {
            0 => Some(Container::Idx),
            1 => Some(Container::Npy),
            2 => Some(Container::PngFolder),
            _ => None,
        }
    }

    /// Its name, as `vaekit info` shows it.
    pub fn name(self) -> &'static str {
        match self {
            Container::Idx => "IDX",
            Container::Npy => "NPY",
            Container::PngFolder => "PNG folder",
        }
    }
}

/// The pixels a file codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Depth {
    /// 0 or 1, under a Bernoulli model.
    Binary,
    /// 0..=255, under a discretized logistic.
    EightBit,
}

impl Depth {
    /// The header's byte: 0 for binary (the byte files had before 8-bit
    /// pixels existed), 8 for 8-bit.
    fn code(self) -> u8 {
        match self {
            Depth::Binary => 0,
            Depth::EightBit => 8,
        }
    }

    fn of_code(code: u8) -> Option<Depth> {
        match code {
            0 => Some(Depth::Binary),
            8 => Some(Depth::EightBit),
            _ => None,
        }
    }

    /// Its name, as `vaekit info` shows it.
    pub fn name(self) -> &'static str {
        match self {
            Depth::Binary => "binary",
            Depth::EightBit => "8-bit",
        }
    }
}

/// What a file says about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// The format version the file was written in.
    pub version: u32,
    /// SHA-256 of the run that compressed it.
    pub fingerprint: [u8; 32],
    /// Binary or 8-bit pixels.
    pub depth: Depth,
    /// Codes each image was coded with (1: BB-ANS).
    pub particles: usize,
    /// Channels, height and width of each image.
    pub shape: [u32; 3],
    /// Images.
    pub count: u64,
    /// How the input came.
    pub container: Container,
    /// SHA-256 of the decoded pixels, one byte each.
    pub checksum: [u8; 32],
}

/// A file's header and its size, for `vaekit info`.
#[derive(Debug, Clone, PartialEq)]
pub struct FileInfo {
    pub header: Header,
    /// Bytes of the whole file.
    pub bytes: usize,
}

impl FileInfo {
    /// Bits per pixel of the whole file, every byte counted.
    pub fn bits_per_dim(&self) -> f64 {
        let pixels =
            self.header.count as f64 * self.header.shape.iter().map(|&s| s as f64).product::<f64>();
        8.0 * self.bytes as f64 / pixels.max(1.0)
    }
}

impl std::fmt::Display for FileInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let h = &self.header;
        let fingerprint: String = h.fingerprint[..8]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        writeln!(f, "vaekit compressed file, format version {}", h.version)?;
        writeln!(
            f,
            "images:        {} of {}x{}x{} {} pixels (from {})",
            h.count,
            h.shape[0],
            h.shape[1],
            h.shape[2],
            h.depth.name(),
            h.container.name()
        )?;
        writeln!(
            f,
            "size:          {} bytes, {:.4} bits per pixel",
            self.bytes,
            self.bits_per_dim()
        )?;
        let coding = match h.particles {
            1 => "BB-ANS".to_string(),
            k => format!("bits-back with importance sampling, {k} codes per image"),
        };
        writeln!(
            f,
            "coder:         {coding}, {PRECISION}-bit probabilities, {LATENT_BITS}-bit latent buckets"
        )?;
        writeln!(f, "run:           networks fingerprint {fingerprint}...")
    }
}

/// Whether `bytes` begin like a `.vkz` file.
pub fn looks_compressed(bytes: &[u8]) -> bool {
    bytes.starts_with(MAGIC)
}

/// The checked header and size of a whole file.
pub fn describe(bytes: &[u8]) -> Result<FileInfo> {
    Ok(FileInfo {
        header: read_header(bytes)?,
        bytes: bytes.len(),
    })
}

/// SHA-256 of the pixels, one byte each.
pub fn pixels_checksum(pixels: &[u8]) -> [u8; 32] {
    Sha256::digest(pixels).into()
}

/// The whole file.
pub fn write(header: &Header, words: &[u32]) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER_LEN + 4 * words.len() + CHECKSUM_LEN);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&header.version.to_le_bytes());
    out.extend_from_slice(&header.fingerprint);
    // One code is written 0, as every file had it before importance
    // weighting.
    let particles = match header.particles {
        1 => 0,
        k => k.min(255) as u8,
    };
    out.extend_from_slice(&[
        PRECISION as u8,
        LATENT_BITS as u8,
        header.depth.code(),
        particles,
    ]);
    for s in header.shape {
        out.extend_from_slice(&s.to_le_bytes());
    }
    out.extend_from_slice(&header.count.to_le_bytes());
    out.push(header.container.code());
    out.extend_from_slice(&header.checksum);
    out.extend_from_slice(&(words.len() as u64).to_le_bytes());
    for w in words {
        out.extend_from_slice(&w.to_le_bytes());
    }
    let sum: [u8; 32] = Sha256::digest(&out).into();
    out.extend_from_slice(&sum);
    out
}

/// Reads `n` bytes at `*at`, moving past them.
fn take<'a>(bytes: &'a [u8], at: &mut usize, n: usize) -> &'a [u8] {
    let part = &bytes[*at..*at + n];
    *at += n;
    part
}

fn array<const N: usize>(bytes: &[u8]) -> [u8; N] {
    bytes.try_into().expect("take() gives the asked length")
}

/// The header of `bytes`, checked, without the words.
pub fn read_header(bytes: &[u8]) -> Result<Header> {
    read(bytes).map(|(h, _)| h)
}

/// The header and the words of `bytes`, after every check but the
/// fingerprint's (which needs the run).
pub fn read(bytes: &[u8]) -> Result<(Header, Vec<u32>)> {
    let bad = |what: String| Error::Data(format!("not a usable vaekit compressed file: {what}"));
    if bytes.len() < MAGIC.len() || &bytes[..MAGIC.len()] != MAGIC {
        return Err(bad(
            "it does not start with vaekit's mark (was it made by `vaekit compress`?)".into(),
        ));
    }
    if bytes.len() < HEADER_LEN + CHECKSUM_LEN {
        return Err(bad(format!(
            "it is {} bytes, shorter than a header; the file is truncated",
            bytes.len()
        )));
    }
    let mut at = MAGIC.len();
    let version = u32::from_le_bytes(array(take(bytes, &mut at, 4)));
    if !(OLDEST..=VERSION).contains(&version) {
        return Err(bad(format!(
            "format version {version}, and this vaekit reads versions {OLDEST} to {VERSION}; use the vaekit that wrote it"
        )));
    }
    let fingerprint = array(take(bytes, &mut at, 32));
    let precisions = take(bytes, &mut at, 4);
    let mut shape = [0u32; 3];
    for s in &mut shape {
        *s = u32::from_le_bytes(array(take(bytes, &mut at, 4)));
    }
    let count = u64::from_le_bytes(array(take(bytes, &mut at, 8)));
    let container = take(bytes, &mut at, 1)[0];
    let checksum = array(take(bytes, &mut at, 32));
    let n_words = u64::from_le_bytes(array(take(bytes, &mut at, 8)));
    let expected = (n_words as u128) * 4 + (HEADER_LEN + CHECKSUM_LEN) as u128;
    if expected != bytes.len() as u128 {
        return Err(bad(format!(
            "its header announces {expected} bytes and it has {}; the file is truncated or damaged",
            bytes.len()
        )));
    }
    let body = bytes.len() - CHECKSUM_LEN;
    let sum: [u8; 32] = Sha256::digest(&bytes[..body]).into();
    if sum[..] != bytes[body..] {
        return Err(bad(
            "its checksum does not match its contents; the file is damaged".into(),
        ));
    }
    if precisions[..2] != [PRECISION as u8, LATENT_BITS as u8] {
        return Err(bad(format!(
            "it was coded with {}-bit probabilities and {}-bit latent buckets, and this vaekit codes with {PRECISION} and {LATENT_BITS}",
            precisions[0], precisions[1]
        )));
    }
    let container = Container::of_code(container)
        .ok_or_else(|| bad(format!("unknown input format code {container}")))?;
    let depth = Depth::of_code(precisions[2])
        .ok_or_else(|| bad(format!("unknown pixel depth code {}", precisions[2])))?;
    let particles = match precisions[3] {
        0 => 1,
        k => usize::from(k),
    };
    let words = bytes[at..body]
        .chunks_exact(4)
        .map(|w| u32::from_le_bytes(array(w)))
        .collect();
    Ok((
        Header {
            version,
            fingerprint,
            depth,
            particles,
            shape,
            count,
            container,
            checksum,
        },
        words,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header() -> Header {
        Header {
            version: VERSION,
            fingerprint: [7; 32],
            depth: Depth::EightBit,
            particles: 16,
            shape: [1, 28, 28],
            count: 3,
            container: Container::Npy,
            checksum: pixels_checksum(&[1, 0, 255]),
        }
    }

    #[test]
    fn a_file_reads_back_and_every_damage_is_refused() {
        let words = [1u32, 2, 3, 0xdead_beef];
        let bytes = write(&header(), &words);
        assert_eq!(bytes.len(), HEADER_LEN + 16 + CHECKSUM_LEN);
        let (h, w) = read(&bytes).unwrap();
        assert_eq!((h, w), (header(), words.to_vec()));
        let message = |b: &[u8]| read(b).unwrap_err().to_string();
        assert!(message(&bytes[..bytes.len() - 1]).contains("truncated"));
        assert!(message(&bytes[..20]).contains("truncated"));
        assert!(message(b"PK\x03\x04 not ours").contains("mark"));
        // One flipped bit anywhere: the checksum (or the length) catches it.
        for at in [12, 60, HEADER_LEN + 2, bytes.len() - 1] {
            let mut damaged = bytes.clone();
            damaged[at] ^= 0x10;
            let m = message(&damaged);
            assert!(
                m.contains("damaged") || m.contains("truncated"),
                "{at}: {m}"
            );
        }
        let mut newer = bytes.clone();
        newer[8] = 9;
        assert!(message(&newer).contains("version 9"));
    }
}
