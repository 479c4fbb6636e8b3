//! Which character separates a CSV file's fields: given, or sniffed.

use std::path::Path;

use super::skip_lines;
use crate::data::Format;
use crate::data::extension;

/// The delimiters [`delimiter_for`] tries, in the order it prefers them when
/// several split every record into equally many fields.
pub(super) const DELIMITERS: [u8; 4] = [b',', b'\t', b';', b'|'];
/// Records [`delimiter_for`] reads to decide.
const SNIFFED_RECORDS: usize = 50;

/// The field delimiter for a file: the one given (`--delimiter`), a tab for
/// `.tsv`, otherwise sniffed from its first records.
///
/// Sniffing counts each candidate of [`DELIMITERS`] outside double quotes
/// in every record of the first [`SNIFFED_RECORDS`]: of the candidates
/// found the same number of times (at least once) in each, the one found
/// most often is the delimiter; where none is so regular, the one found in
/// most records; a file with none is a single column, read with a comma. (The `csv-sniffer` crate does this
/// and more, but is unmaintained since 2019; its fork `qsv-sniffer` would
/// bring a dozen crates for these twenty lines.)
pub(crate) fn delimiter_for(path: &Path, bytes: &[u8], given: Option<char>) -> u8 {
    if let Some(c) = given.filter(char::is_ascii) {
        return c as u8;
    }
    if extension(path) == "tsv" {
        return b'\t';
    }
    let counts = sniffed_counts(bytes);
    let regular = |i: usize| {
        let first = counts.first().map_or(0, |c: &[usize; 4]| c[i]);
        (first > 0 && counts.iter().all(|c| c[i] == first)).then_some(first)
    };
    let most_fields = (0..DELIMITERS.len())
        .filter_map(|i| Some((regular(i)?, std::cmp::Reverse(i))))
        .max();
    if let Some((_, std::cmp::Reverse(i))) = most_fields {
        return DELIMITERS[i];
    }
    let present = |i: usize| counts.iter().filter(|c| c[i] > 0).count();
    (0..DELIMITERS.len())
        .filter(|&i| present(i) > 0)
        .max_by_key(|&i| (present(i), std::cmp::Reverse(i)))
        .map_or(b',', |i| DELIMITERS[i])
}

/// How often each of [`DELIMITERS`] appears outside quotes in each of the
/// first non-empty records of `bytes`.
pub(super) fn sniffed_counts(bytes: &[u8]) -> Vec<[usize; 4]> {
    let mut records = Vec::new();
    let mut counts = [0usize; 4];
    let (mut quoted, mut empty) = (false, true);
    for &b in bytes {
        match b {
            b'"' => quoted = !quoted,
            b'\n' if !quoted => {
                if !empty {
                    records.push(counts);
                    if records.len() == SNIFFED_RECORDS {
                        return records;
                    }
                }
                (counts, empty) = ([0; 4], true);
                continue;
            }
            _ => {}
        }
        if !quoted && let Some(i) = DELIMITERS.iter().position(|&d| d == b) {
            counts[i] += 1;
        }
        empty &= b.is_ascii_whitespace();
    }
    if !empty {
        records.push(counts);
    }
    records
}

/// The delimiter [`super::load`] reads the CSV file at `path` with (what
/// `vaekit info` shows), or None for a file that is not CSV.
pub fn csv_delimiter(path: &Path, options: &crate::data::LoadOptions) -> Option<char> {
    let bytes = std::fs::read(path).ok()?;
    let format = options
        .format
        .or_else(|| crate::data::detect_file(path, &bytes).ok())?;
    (format == Format::Csv).then(|| {
        let bytes = skip_lines(bytes, options.skip_lines);
        delimiter_for(path, &bytes, options.delimiter) as char
    })
}
