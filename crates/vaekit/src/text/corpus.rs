//! A text source and its tokens: reading sentences (a line each of a UTF-8
//! file, optionally gzipped, or a column of a CSV), the tokenizer's settings,
//! and the vocabulary a run saves.
//!
//! Token ids are fixed for the four special tokens (padding, start, end,
//! unknown) and then follow the training counts, most frequent first (ties in
//! the order the words first appear), so a vocabulary is rebuilt exactly from
//! its saved list.

use std::collections::HashMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The longest line a text source may hold. A sentence VAE reads sentences
/// or short documents; a longer line is almost always a file that is not one
/// sentence per line (a whole book on one line, a minified file).
pub const MAX_LINE_BYTES: usize = 65_536;

/// Padding after the end of a sentence (never predicted).
pub const PAD: u32 = 0;
/// The start token the decoder reads first.
pub const BOS: u32 = 1;
/// The end token the decoder predicts last.
pub const EOS: u32 = 2;
/// Any token outside the vocabulary (and a dropped word, in training).
pub const UNK: u32 = 3;
/// The special tokens' spellings, in id order.
pub const SPECIALS: [&str; 4] = ["<pad>", "<s>", "</s>", "<unk>"];

/// What a token is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum TokenLevel {
    /// Words (split at white space, and at punctuation when asked).
    #[default]
    Word,
    /// Characters, the space among them.
    Char,
}

impl std::str::FromStr for TokenLevel {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        match s {
            "word" => Ok(Self::Word),
            "char" => Ok(Self::Char),
            other => Err(format!("unknown token level '{other}'; use word or char")),
        }
    }
}

/// How sentences become tokens; saved in the run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TokenizerConfig {
    /// Words or characters.
    pub level: TokenLevel,
    /// Tokens in the vocabulary, the four special ones included.
    pub vocab_size: usize,
    /// Lower-case every sentence first.
    pub lowercase: bool,
    /// Split punctuation from words ("stick'" is "stick" and "'"); an
    /// apostrophe or hyphen between letters stays in its word.
    pub split_punctuation: bool,
    /// Tokens kept of a sentence; the rest are cut (and counted).
    pub max_length: usize,
}

impl Default for TokenizerConfig {
    fn default() -> Self {
        TokenizerConfig {
            level: TokenLevel::Word,
            vocab_size: 10_000,
            lowercase: true,
            split_punctuation: true,
            max_length: 50,
        }
    }
}

impl TokenizerConfig {
    /// Checks the settings.
    pub fn validate(&self) -> Result<()> {
        if self.vocab_size < SPECIALS.len() + 2 {
            return Err(Error::setting(
                "--vocab-size",
                format!(
                    "{} leaves fewer than 2 tokens beside the {} special ones; use at least {}",
                    self.vocab_size,
                    SPECIALS.len(),
                    SPECIALS.len() + 2
                ),
            ));
        }
        if self.max_length == 0 || self.max_length > 10_000 {
            return Err(Error::setting(
                "--max-length",
                format!(
                    "{} tokens; use 1 to 10000 (a sentence VAE reads sentences, 50 is usual)",
                    self.max_length
                ),
            ));
        }
        Ok(())
    }

    /// The tokens of one sentence, as strings.
    pub fn split(&self, sentence: &str) -> Vec<String> {
        let text = match self.lowercase {
            true => sentence.to_lowercase(),
            false => sentence.to_string(),
        };
        match self.level {
            TokenLevel::Char => {
                // Runs of white space are one space; none at the ends.
                let joined = text.split_whitespace().collect::<Vec<_>>().join(" ");
                joined.chars().map(String::from).collect()
            }
            TokenLevel::Word if !self.split_punctuation => {
                text.split_whitespace().map(String::from).collect()
            }
            TokenLevel::Word => text.split_whitespace().flat_map(split_word).collect(),
        }
    }
}

/// A white-space word split at its punctuation; an apostrophe or a hyphen
/// with a letter or digit on both sides belongs to the word ("don't",
/// "well-known").
fn split_word(word: &str) -> Vec<String> {
    let chars: Vec<char> = word.chars().collect();
    let mut out = Vec::new();
    let mut current = String::new();
    for (i, &c) in chars.iter().enumerate() {
        let joins = (c == '\'' || c == '-')
            && i > 0
            && chars[i - 1].is_alphanumeric()
            && chars.get(i + 1).is_some_and(|n| n.is_alphanumeric());
        if c.is_alphanumeric() || joins {
            current.push(c);
        } else {
            if !current.is_empty() {
                out.push(std::mem::take(&mut current));
            }
            out.push(c.to_string());
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// The tokens a model knows, by id.
#[derive(Debug, Clone, PartialEq)]
pub struct Vocabulary {
    tokens: Vec<String>,
    ids: HashMap<String, u32>,
}

impl Vocabulary {
    /// The vocabulary of `sentences`: the special tokens, then the
    /// `vocab_size - 4` most frequent tokens.
    ///
    /// Fails when the sentences hold fewer than two distinct tokens: no
    /// model of text can be learned from them.
    pub fn build(sentences: &[Vec<String>], vocab_size: usize) -> Result<Vocabulary> {
        let mut counts: HashMap<&str, (usize, usize)> = HashMap::new();
        for token in sentences.iter().flatten() {
            let first = counts.len();
            counts.entry(token.as_str()).or_insert((0, first)).0 += 1;
        }
        counts.retain(|t, _| !SPECIALS.contains(t));
        if counts.len() < 2 {
            return Err(Error::Data(format!(
                "the training sentences hold {} distinct token(s); a model of text needs at least 2 \
                 (is this the right file, and is --token-level right?)",
                counts.len()
            )));
        }
        let mut ranked: Vec<(&str, (usize, usize))> = counts.into_iter().collect();
        ranked.sort_by(|a, b| b.1.0.cmp(&a.1.0).then(a.1.1.cmp(&b.1.1)));
        let keep = vocab_size.saturating_sub(SPECIALS.len());
        let tokens = SPECIALS
            .iter()
            .map(|s| s.to_string())
            .chain(ranked.into_iter().take(keep).map(|(t, _)| t.to_string()))
            .collect();
        Ok(Self::from_tokens(tokens))
    }

    /// A saved vocabulary, a token a line (the special tokens first).
    pub fn from_saved(text: &str, origin: &Path) -> Result<Vocabulary> {
        let tokens: Vec<String> = text.split('\n').map(unescape).collect();
        let tokens = match tokens.last() {
            Some(last) if last.is_empty() => tokens[..tokens.len() - 1].to_vec(),
            _ => tokens,
        };
        if tokens.len() < SPECIALS.len() + 2 || tokens.iter().zip(SPECIALS).any(|(t, s)| t != s) {
            return Err(Error::format(
                origin,
                "is not a vocabulary vaekit wrote (it must start with <pad>, <s>, </s>, <unk> \
                 and hold at least two more tokens); train the run again",
            ));
        }
        Ok(Self::from_tokens(tokens))
    }

    /// The saved form: a token a line, a newline or backslash in a token
    /// escaped.
    pub fn to_saved(&self) -> String {
        let mut text: String = self
            .tokens
            .iter()
            .map(|t| escape(t))
            .collect::<Vec<_>>()
            .join("\n");
        text.push('\n');
        text
    }

    fn from_tokens(tokens: Vec<String>) -> Vocabulary {
        let ids = tokens
            .iter()
            .enumerate()
            .map(|(i, t)| (t.clone(), i as u32))
            .collect();
        Vocabulary { tokens, ids }
    }

    /// Tokens, the special ones included.
    pub fn len(&self) -> usize {
        self.tokens.len()
    }

    /// Never true: a vocabulary holds its special tokens.
    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty()
    }

    /// The id of `token` (`UNK` outside the vocabulary).
    pub fn id(&self, token: &str) -> u32 {
        self.ids.get(token).copied().unwrap_or(UNK)
    }

    /// The spelling of `id`.
    pub fn token(&self, id: u32) -> &str {
        self.tokens
            .get(id as usize)
            .map_or(SPECIALS[UNK as usize], String::as_str)
    }

    /// The sentence of `ids` (up to an end token), words joined by spaces
    /// and characters by nothing.
    pub fn detokenize(&self, ids: &[u32], level: TokenLevel) -> String {
        let words: Vec<&str> = ids
            .iter()
            .take_while(|&&id| id != EOS)
            .filter(|&&id| id != PAD && id != BOS)
            .map(|&id| self.token(id))
            .collect();
        match level {
            TokenLevel::Word => words.join(" "),
            TokenLevel::Char => words.concat(),
        }
    }
}

fn escape(token: &str) -> String {
    token.replace('\\', "\\\\").replace('\n', "\\n")
}

fn unescape(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match (c, c == '\\') {
            (_, true) => match chars.next() {
                Some('n') => out.push('\n'),
                Some(other) => out.push(other),
                None => out.push('\\'),
            },
            (c, false) => out.push(c),
        }
    }
    out
}

/// Sentences as token ids, and what was cut or skipped on the way.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Encoded {
    /// Each kept sentence's ids, without start or end tokens.
    pub sentences: Vec<Vec<u32>>,
    /// The line (0-based) each kept sentence came from.
    pub lines: Vec<usize>,
    /// Lines with no tokens, skipped.
    pub skipped_empty: usize,
    /// Sentences longer than the maximum, cut to it.
    pub truncated: usize,
    /// Tokens those cuts removed.
    pub tokens_cut: usize,
    /// Kept tokens outside the vocabulary.
    pub unknown: usize,
}

impl Encoded {
    /// Tokens of every kept sentence (the end tokens not counted).
    pub fn tokens(&self) -> usize {
        self.sentences.iter().map(Vec::len).sum()
    }

    /// A one-line account of what was cut and skipped.
    pub fn summary(&self, max_length: usize) -> String {
        format!(
            "{} sentences, {} tokens ({} outside the vocabulary); {} empty lines skipped; \
             {} sentences cut to --max-length {} ({} tokens cut)",
            self.sentences.len(),
            self.tokens(),
            self.unknown,
            self.skipped_empty,
            self.truncated,
            max_length,
            self.tokens_cut
        )
    }
}

/// `lines` tokenized by `tokenizer` and mapped through `vocab`.
pub fn encode(lines: &[String], tokenizer: &TokenizerConfig, vocab: &Vocabulary) -> Encoded {
    encode_tokens(
        lines.iter().map(|l| tokenizer.split(l)),
        tokenizer.max_length,
        vocab,
    )
}

fn encode_tokens(
    sentences: impl Iterator<Item = Vec<String>>,
    max_length: usize,
    vocab: &Vocabulary,
) -> Encoded {
    let mut out = Encoded::default();
    for (line, tokens) in sentences.enumerate() {
        if tokens.is_empty() {
            out.skipped_empty += 1;
            continue;
        }
        if tokens.len() > max_length {
            out.truncated += 1;
            out.tokens_cut += tokens.len() - max_length;
        }
        let ids: Vec<u32> = tokens
            .iter()
            .take(max_length)
            .map(|t| vocab.id(t))
            .collect();
        out.unknown += ids.iter().filter(|&&i| i == UNK).count();
        out.sentences.push(ids);
        out.lines.push(line);
    }
    out
}

/// The vocabulary of the training `lines` and their encoding.
pub fn build(lines: &[String], tokenizer: &TokenizerConfig) -> Result<(Vocabulary, Encoded)> {
    let split: Vec<Vec<String>> = lines.iter().map(|l| tokenizer.split(l)).collect();
    let vocab = Vocabulary::build(&split, tokenizer.vocab_size)?;
    let encoded = encode_tokens(split.into_iter(), tokenizer.max_length, &vocab);
    Ok((vocab, encoded))
}

/// `true` when `source` names a text source: a `.txt` or `.txt.gz` file, or
/// any file when a text column is named.
pub fn is_text_source(source: &str, text_column: Option<&str>) -> bool {
    let lower = source.to_lowercase();
    text_column.is_some() || lower.ends_with(".txt") || lower.ends_with(".txt.gz")
}

/// The sentences of a text source: the lines of a UTF-8 file (gzipped or
/// not; a trailing carriage return dropped), or the cells of column
/// `text_column` of a CSV file with a header row.
///
/// Fails, naming the file, on a binary file, text that is not UTF-8, a line
/// longer than [`MAX_LINE_BYTES`], an unknown column, or a source without a
/// single non-empty sentence.
pub fn read_sentences(path: &Path, text_column: Option<&str>) -> Result<Vec<String>> {
    let bytes = crate::data::read_data_file(path)?;
    if let Some(at) = bytes.iter().position(|&b| b == 0) {
        return Err(Error::format(
            path,
            format!(
                "looks like a binary file (a zero byte at offset {at}); a text source is UTF-8 \
                 text with one sentence per line"
            ),
        ));
    }
    let text = std::str::from_utf8(&bytes).map_err(|e| {
        let line = bytes[..e.valid_up_to()]
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
            + 1;
        Error::format(
            path,
            format!(
                "is not UTF-8 text (an invalid byte at offset {}, line {line}); convert it to \
                 UTF-8 (iconv -t UTF-8) first",
                e.valid_up_to()
            ),
        )
    })?;
    let lines: Vec<String> = match text_column {
        None => text
            .split('\n')
            .map(|l| l.strip_suffix('\r').unwrap_or(l).to_string())
            .collect(),
        Some(column) => csv_column(path, text, column)?,
    };
    if let Some((i, l)) = lines
        .iter()
        .enumerate()
        .find(|(_, l)| l.len() > MAX_LINE_BYTES)
    {
        return Err(Error::format(
            path,
            format!(
                "line {} is {} bytes long; a text source holds one sentence or short document \
                 per line, at most {MAX_LINE_BYTES} bytes: split the text into lines",
                i + 1,
                l.len()
            ),
        ));
    }
    if lines.iter().all(|l| l.trim().is_empty()) {
        return Err(Error::format(
            path,
            "holds no sentence (every line is empty); expected one sentence per line",
        ));
    }
    // A final newline does not start a sentence.
    let mut lines = lines;
    if lines.last().is_some_and(|l| l.is_empty()) {
        lines.pop();
    }
    Ok(lines)
}

fn csv_column(path: &Path, text: &str, column: &str) -> Result<Vec<String>> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(false)
        .from_reader(text.as_bytes());
    let headers = reader
        .headers()
        .map_err(|e| Error::format(path, format!("cannot read its header row: {e}")))?
        .clone();
    let Some(index) = headers.iter().position(|h| h == column) else {
        return Err(Error::setting(
            "--text-column",
            format!(
                "{} has no column '{column}'; its columns are {}",
                path.display(),
                headers.iter().collect::<Vec<_>>().join(", ")
            ),
        ));
    };
    reader
        .records()
        .map(|r| {
            r.map(|r| r.get(index).unwrap_or("").to_string())
                .map_err(|e| Error::format(path, format!("is not a readable CSV table: {e}")))
        })
        .collect()
}

/// The validation and test files beside a training file named like
/// `NAME.train.txt`: `NAME.valid.txt` and `NAME.test.txt` (each None when
/// absent), as corpora are often shipped.
pub fn sibling_splits(path: &Path) -> (Option<std::path::PathBuf>, Option<std::path::PathBuf>) {
    let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
        return (None, None);
    };
    let Some(at) = name.find(".train.") else {
        return (None, None);
    };
    let sibling = |split: &str| {
        let p = path.with_file_name(format!(
            "{}.{split}.{}",
            &name[..at],
            &name[at + ".train.".len()..]
        ));
        p.is_file().then_some(p)
    };
    (sibling("valid"), sibling("test"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &str) -> Vec<String> {
        TokenizerConfig::default().split(s)
    }

    #[test]
    fn words_split_at_punctuation_but_keep_inner_apostrophes_and_hyphens() {
        assert_eq!(
            words("Theodore said `Speak softly, don't-stop' (well-known)."),
            [
                "theodore",
                "said",
                "`",
                "speak",
                "softly",
                ",",
                "don't-stop",
                "'",
                "(",
                "well-known",
                ")",
                "."
            ]
        );
        let keep = TokenizerConfig {
            lowercase: false,
            split_punctuation: false,
            ..TokenizerConfig::default()
        };
        assert_eq!(keep.split("A b, c."), ["A", "b,", "c."]);
        let chars = TokenizerConfig {
            level: TokenLevel::Char,
            ..TokenizerConfig::default()
        };
        assert_eq!(chars.split("  Ab  c "), ["a", "b", " ", "c"]);
    }

    #[test]
    fn vocabulary_ranks_by_count_then_first_appearance_and_round_trips() {
        let sentences: Vec<Vec<String>> = ["b a c", "a c", "a", "d\\e"]
            .iter()
            .map(|s| s.split(' ').map(String::from).collect())
            .collect();
        let vocab = Vocabulary::build(&sentences, 7).unwrap();
        assert_eq!(vocab.len(), 7);
        // a (3), c (2), then b before d\e: both once, b first.
        assert_eq!(
            (vocab.token(4), vocab.token(5), vocab.token(6)),
            ("a", "c", "b")
        );
        assert_eq!(vocab.id("d\\e"), UNK);
        let back = Vocabulary::from_saved(&vocab.to_saved(), Path::new("v")).unwrap();
        assert_eq!(back, vocab);
        assert_eq!(
            vocab.detokenize(&[BOS, 4, 5, EOS, 6], TokenLevel::Word),
            "a c"
        );
        // One distinct word is no vocabulary.
        let one = vec![vec!["x".to_string(), "x".to_string()]];
        let e = Vocabulary::build(&one, 100).unwrap_err().to_string();
        assert!(e.contains("1 distinct token"), "{e}");
        assert!(Vocabulary::from_saved("<pad>\nx\n", Path::new("v")).is_err());
    }

    #[test]
    fn encoding_counts_cuts_skips_and_unknown_tokens() {
        let tokenizer = TokenizerConfig {
            vocab_size: 6,
            max_length: 3,
            ..TokenizerConfig::default()
        };
        let lines: Vec<String> = ["a b a b", "", " . ", "a z"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let (vocab, enc) = build(&lines, &tokenizer).unwrap();
        // Kept: a, b (the vocabulary has room for two tokens).
        assert_eq!(vocab.len(), 6);
        assert_eq!(enc.sentences, [vec![4, 5, 4], vec![UNK], vec![4, UNK]]);
        assert_eq!(enc.lines, [0, 2, 3]);
        assert_eq!(
            (enc.skipped_empty, enc.truncated, enc.tokens_cut),
            (1, 1, 1)
        );
        assert_eq!(enc.unknown, 2);
    }

    #[test]
    fn bad_sources_are_refused_with_their_reason() {
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, bytes: &[u8]| {
            let p = dir.path().join(name);
            std::fs::write(&p, bytes).unwrap();
            p
        };
        let err = |p: &Path| read_sentences(p, None).unwrap_err().to_string();
        assert!(err(&write("bin.txt", b"ab\0cd")).contains("binary"));
        assert!(err(&write("latin.txt", b"caf\xe9\n")).contains("not UTF-8"));
        assert!(err(&write("blank.txt", b"\n \n\n")).contains("no sentence"));
        assert!(err(&write("empty.txt", b"")).contains("empty"));
        let long = "word ".repeat(MAX_LINE_BYTES / 4);
        assert!(err(&write("long.txt", long.as_bytes())).contains("line 1 is"));
        let ok = write("ok.txt", b"one two\r\nthree\n");
        assert_eq!(read_sentences(&ok, None).unwrap(), ["one two", "three"]);
        let table = write("t.csv", b"id,text\n1,\"hello, world\"\n2,bye\n");
        assert_eq!(
            read_sentences(&table, Some("text")).unwrap(),
            ["hello, world", "bye"]
        );
        let e = read_sentences(&table, Some("body"))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("no column 'body'") && e.contains("id, text"),
            "{e}"
        );
    }

    #[test]
    fn a_train_file_finds_its_valid_and_test_siblings() {
        let dir = tempfile::tempdir().unwrap();
        let train = dir.path().join("c.train.txt");
        std::fs::write(&train, "a b\n").unwrap();
        std::fs::write(dir.path().join("c.valid.txt"), "a\n").unwrap();
        let (valid, test) = sibling_splits(&train);
        assert_eq!(valid, Some(dir.path().join("c.valid.txt")));
        assert_eq!(test, None);
        assert_eq!(sibling_splits(&dir.path().join("c.txt")), (None, None));
    }
}
