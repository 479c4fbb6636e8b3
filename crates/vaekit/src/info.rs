//! `vaekit info`: what a data source or a run directory holds.

use std::fmt;
use std::path::Path;

use serde::Serialize;

use crate::data::columns::{ColumnKind, TableColumns, likeliest};
use crate::data::{DataKind, Dataset, Format, LoadOptions, load};
use crate::error::Result;
use crate::run::{Run, RunConfig, files, read_metrics};
use crate::train::{EpochMetrics, TrainState};

/// One split of a source.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SplitInfo {
    /// `train` or `test`.
    pub name: String,
    /// Number of examples.
    pub examples: usize,
    /// Smallest value.
    pub min: f32,
    /// Largest value.
    pub max: f32,
    /// Examples per label, where the split has labels (label, count).
    pub label_counts: Option<Vec<(u32, usize)>>,
}

/// A data source.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SourceInfo {
    /// What was asked for.
    pub spec: String,
    /// The detected or forced format.
    pub format: Format,
    /// A CSV table's field delimiter (given, or sniffed from the file).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delimiter: Option<char>,
    /// What one example looks like.
    pub kind: DataKind,
    /// The source's splits.
    pub splits: Vec<SplitInfo>,
    /// Class names, where known.
    pub class_names: Option<Vec<String>>,
    /// The blocks of an example and their types (read from the training
    /// split's values).
    pub schema: crate::data::schema::Schema,
    /// A table read through typed columns: each column as the training split
    /// holds it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub columns: Option<Vec<ColumnInfo>>,
}

/// One typed column of a table, as its training split holds it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ColumnInfo {
    /// The header's name.
    pub name: String,
    /// `real`, `integer` (a real column of whole numbers), `count`, `modes`
    /// (a real column coded by modes), `binary` or `categorical`.
    pub kind: String,
    /// Cells missing.
    pub missing: usize,
    /// Smallest and largest observed value of a numeric column.
    pub range: Option<(f32, f32)>,
    /// The modes of a column coded by them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub modes: Option<usize>,
    /// A categorical or binary column's values with their counts, most
    /// frequent first.
    pub values: Option<Vec<(String, usize)>>,
}

/// Categories shown on a column's line before the rest are counted.
const CATEGORIES_SHOWN: usize = 6;

fn column_info(table: &TableColumns, data: &Dataset) -> Vec<ColumnInfo> {
    let mut offset = 0;
    let mut out = Vec::with_capacity(table.columns.len());
    for column in &table.columns {
        let width = column.kind.width();
        let observed: Vec<&[f32]> = (0..data.len())
            .filter(|&i| !data.missing_row(i).is_some_and(|m| m[offset]))
            .map(|i| &data.row(i)[offset..offset + width])
            .collect();
        let counted = |names: Vec<String>| {
            let mut counts = vec![0usize; names.len()];
            for cells in &observed {
                let k = match cells.len() {
                    1 => cells[0].round() as usize,
                    _ => likeliest(cells),
                };
                counts[k.min(names.len() - 1)] += 1;
            }
            let mut pairs: Vec<(String, usize)> = names.into_iter().zip(counts).collect();
            pairs.sort_by_key(|p| std::cmp::Reverse(p.1));
            Some(pairs)
        };
        let (kind, range, values) = match &column.kind {
            ColumnKind::Categorical { categories } => {
                ("categorical", None, counted(categories.clone()))
            }
            ColumnKind::Binary => ("binary", None, counted(vec!["0".into(), "1".into()])),
            numeric => {
                let value = |c: &[f32]| match numeric {
                    ColumnKind::Modes(modes) => modes.value_of(c),
                    _ => c[0],
                };
                let range =
                    observed
                        .iter()
                        .map(|c| value(c))
                        .fold(None, |r: Option<(f32, f32)>, v| {
                            Some(r.map_or((v, v), |(lo, hi)| (lo.min(v), hi.max(v))))
                        });
                let kind = match numeric {
                    ColumnKind::Real { integer: true } => "integer",
                    ColumnKind::Real { .. } => "real",
                    ColumnKind::Modes(_) => "modes",
                    _ => "count",
                };
                (kind, range, None)
            }
        };
        out.push(ColumnInfo {
            name: column.name.clone(),
            kind: kind.to_string(),
            missing: data.len() - observed.len(),
            range,
            modes: match &column.kind {
                ColumnKind::Modes(modes) => Some(modes.len()),
                _ => None,
            },
            values,
        });
        offset += width;
    }
    out
}

impl fmt::Display for ColumnInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:<12}", self.kind)?;
        if let Some(modes) = self.modes {
            write!(f, "{modes} modes, ")?;
        }
        if let Some((lo, hi)) = self.range {
            write!(f, "{lo} to {hi}")?;
        }
        if let Some(values) = &self.values {
            let shown: Vec<String> = values
                .iter()
                .take(CATEGORIES_SHOWN)
                .map(|(name, n)| format!("{name} {n}"))
                .collect();
            write!(f, "{} values: {}", values.len(), shown.join(", "))?;
            if values.len() > CATEGORIES_SHOWN {
                write!(f, ", ... ({} more)", values.len() - CATEGORIES_SHOWN)?;
            }
        }
        if self.missing > 0 {
            write!(f, "; {} missing", self.missing)?;
        }
        Ok(())
    }
}

/// A run directory.
#[derive(Debug, Clone, Serialize)]
pub struct RunInfo {
    /// The directory.
    pub dir: String,
    /// Its config.
    pub config: RunConfig,
    /// Epochs finished (by the checkpoint).
    pub epochs_done: usize,
    /// The best epoch and its score.
    pub best: Option<crate::train::BestScore>,
    /// The last epoch's metrics.
    pub last: Option<EpochMetrics>,
}

/// What `vaekit info` describes.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "what", rename_all = "snake_case")]
pub enum Info {
    /// A data source.
    Source(SourceInfo),
    /// A run directory.
    Run(Box<RunInfo>),
}

fn split_info(name: &str, data: &Dataset) -> SplitInfo {
    let (min, max) = data.value_range();
    let label_counts = data
        .label_counts()
        .map(|counts| (0..).zip(counts).filter(|&(_, n)| n > 0).collect());
    SplitInfo {
        name: name.to_string(),
        examples: data.len(),
        min,
        max,
        label_counts,
    }
}

/// Describes `target`: a run directory when it holds a `config.json`, else a
/// data source loaded with `options`.
pub fn inspect(target: &str, options: &LoadOptions) -> Result<Info> {
    let path = Path::new(target);
    if path.join(files::CONFIG).is_file() {
        let run = Run::open(path)?;
        let metrics: Vec<EpochMetrics> = read_metrics(&run.path(files::METRICS))?;
        let state = crate::run::load_checkpoint::<TrainState>(&run.path(files::CHECKPOINT))
            .ok()
            .map(|c| c.state);
        return Ok(Info::Run(Box::new(RunInfo {
            dir: target.to_string(),
            epochs_done: state.as_ref().map_or(0, |s| s.epoch),
            best: state.and_then(|s| s.best),
            last: metrics.last().cloned(),
            config: run.config,
        })));
    }
    let source = load(target, options)?;
    let mut splits = vec![split_info("train", &source.train)];
    splits.extend(source.test.as_ref().map(|t| split_info("test", t)));
    let delimiter = match source.format {
        Format::Csv => crate::data::csv_delimiter(path, options),
        _ => None,
    };
    Ok(Info::Source(SourceInfo {
        spec: source.spec,
        format: source.format,
        delimiter,
        kind: source.train.kind().clone(),
        schema: match &source.columns {
            Some(columns) => columns.schema(),
            None => crate::data::schema::Schema::inferred(&source.train),
        },
        columns: source
            .columns
            .as_ref()
            .map(|table| column_info(table, &source.train)),
        splits,
        class_names: source.class_names,
    }))
}

/// A delimiter in words: `','` (comma), `tab`.
fn delimiter_name(d: char) -> String {
    match d {
        '\t' => "tab".to_string(),
        ' ' => "space".to_string(),
        ',' => "',' (comma)".to_string(),
        ';' => "';' (semicolon)".to_string(),
        '|' => "'|' (pipe)".to_string(),
        other => format!("'{other}'"),
    }
}

impl fmt::Display for Info {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Info::Source(s) => {
                match s.delimiter {
                    Some(d) => writeln!(
                        f,
                        "source:  {} ({}, fields separated by {})",
                        s.spec,
                        s.format,
                        delimiter_name(d)
                    )?,
                    None => writeln!(f, "source:  {} ({})", s.spec, s.format)?,
                }
                match &s.columns {
                    Some(columns) => writeln!(
                        f,
                        "shape:   table of {} typed columns ({} values to the model)",
                        columns.len(),
                        s.kind.dim()
                    )?,
                    None => writeln!(
                        f,
                        "shape:   {} ({} values each)",
                        s.kind.describe(),
                        s.kind.dim()
                    )?,
                }
                for split in &s.splits {
                    write!(
                        f,
                        "{:<8} {} examples, values {} to {}",
                        format!("{}:", split.name),
                        split.examples,
                        split.min,
                        split.max
                    )?;
                    match &split.label_counts {
                        Some(counts) => writeln!(f, ", {} labels", counts.len())?,
                        None => writeln!(f, ", no labels")?,
                    }
                }
                if let Some(names) = &s.class_names {
                    writeln!(f, "classes: {}", names.join(", "))?;
                }
                if let Some(columns) = &s.columns {
                    let wide = columns.iter().map(|c| c.name.len()).max().unwrap_or(0);
                    writeln!(f, "columns:")?;
                    for c in columns {
                        writeln!(f, "  {:<wide$}  {c}", c.name)?;
                    }
                } else if !s.kind.is_image() {
                    let columns: Vec<String> = s
                        .schema
                        .blocks
                        .iter()
                        .map(|b| format!("{} ({})", b.name, b.values.as_str()))
                        .collect();
                    writeln!(f, "columns: {}", columns.join(", "))?;
                }
                Ok(())
            }
            Info::Run(r) => {
                let c = &r.config;
                let s = &c.settings;
                writeln!(f, "run:      {} (vaekit {})", r.dir, c.vaekit_version)?;
                writeln!(
                    f,
                    "data:     {} ({}): {}, {} train / {} val{}",
                    s.data.as_deref().unwrap_or("?"),
                    c.data.format,
                    c.data.kind.describe(),
                    c.data.train_examples,
                    c.data.val_examples,
                    c.data
                        .test_examples
                        .map(|n| format!(" / {n} test"))
                        .unwrap_or_default()
                )?;
                writeln!(
                    f,
                    "model:    {} {} {:?}, latent {}, {}, binarize {}",
                    s.model.map(|m| m.to_string()).unwrap_or_default(),
                    s.arch.map(|m| m.to_string()).unwrap_or_default(),
                    match s.arch {
                        Some(crate::settings::ArchitectureKind::Conv) => s.conv_channels.clone(),
                        _ => s.hidden.clone(),
                    }
                    .unwrap_or_default(),
                    s.latent.unwrap_or(0),
                    match &c.model.table {
                        Some(_) => "a likelihood per column".to_string(),
                        None => format!(
                            "{} likelihood",
                            s.likelihood.map(|l| l.to_string()).unwrap_or_default()
                        ),
                    },
                    s.binarize.unwrap_or_default()
                )?;
                match c.model.prior {
                    crate::model::prior::Prior::Vamp { pseudo_inputs } => {
                        writeln!(f, "          VampPrior with {pseudo_inputs} pseudo-inputs")?
                    }
                    crate::model::prior::Prior::Gmm { components } => writeln!(
                        f,
                        "          Gaussian mixture prior with {components} components (clusters), fitted after {} pretraining epochs",
                        s.pretraining()
                    )?,
                    crate::model::prior::Prior::Standard => {}
                }
                if let Some(table) = &c.model.table {
                    let columns: Vec<String> = table
                        .schema()
                        .blocks
                        .iter()
                        .zip(c.model.observation_model().blocks())
                        .map(|(b, o)| format!("{} ({})", b.name, o.likelihood.name()))
                        .collect();
                    writeln!(f, "columns:  {}", columns.join(", "))?;
                }
                if c.model.batch_norm {
                    writeln!(f, "          batch normalization in the hidden layers")?;
                }
                if let Some(classes) = c.model.classes {
                    writeln!(f, "          conditional on the label, {classes} classes")?;
                }
                if let Some(top) = &c.model.top {
                    writeln!(
                        f,
                        "          second latent layer z2 of {} through {:?} {}",
                        top.latent_dim, top.hidden, top.activation
                    )?;
                }
                writeln!(
                    f,
                    "training: {} of {} epochs, batch {}, lr {}, {}, seed {}",
                    r.epochs_done,
                    s.epochs.unwrap_or(0),
                    s.batch_size.unwrap_or(0),
                    lr_summary(s),
                    objective_summary(s),
                    s.seed.unwrap_or(0)
                )?;
                if let Some(spec) = s.encoder_mask {
                    writeln!(
                        f,
                        "          encoder trained for imputation: {spec} hidden from it in half the examples"
                    )?;
                }
                if let Some(source) = &s.init_from {
                    writeln!(
                        f,
                        "          started from the weights of {}",
                        source.display()
                    )?;
                }
                if let Some(patience) = s.early_stop {
                    writeln!(
                        f,
                        "          early stopping after {patience} epochs without a validation -ELBO better by more than {} nats",
                        s.min_delta.unwrap_or(0.0)
                    )?;
                }
                if let Some(max) = &s.max_time {
                    writeln!(f, "          at most {max} of training")?;
                }
                if let Some(reason) = r.last.as_ref().and_then(|m| m.stopped) {
                    let why = match reason {
                        crate::train::StopReason::EarlyStop => {
                            "the validation -ELBO stopped improving (--early-stop)"
                        }
                        crate::train::StopReason::MaxTime => {
                            "another epoch would have passed --max-time"
                        }
                    };
                    writeln!(f, "          stopped after epoch {}: {why}", r.epochs_done)?;
                }
                if let Some(b) = r.best {
                    writeln!(
                        f,
                        "best:     epoch {}, -ELBO {:.3} nats",
                        b.epoch, b.neg_elbo
                    )?;
                }
                if let Some(m) = &r.last {
                    write!(
                        f,
                        "last:     epoch {}, train -ELBO {:.3}",
                        m.epoch, m.train_neg_elbo
                    )?;
                    match &m.val {
                        Some(v) => writeln!(f, ", validation -ELBO {:.3}", v.neg_elbo)?,
                        None => writeln!(f)?,
                    }
                }
                Ok(())
            }
        }
    }
}

/// The learning rate in words: "0.001", or "0.001 (cosine schedule to 0)".
fn lr_summary(s: &crate::settings::TrainSettings) -> String {
    let lr = s.lr.unwrap_or(0.0);
    match (s.lr_schedule.unwrap_or_default(), s.lr_final) {
        (crate::settings::LrSchedule::Constant, _) | (_, None) => lr.to_string(),
        (schedule, Some(last)) => format!("{lr} ({schedule} schedule to {last})"),
    }
}

/// The training objective in words: "beta 1, free bits 0, 1 sample" or
/// "IWAE bound, 50 samples".
fn objective_summary(s: &crate::settings::TrainSettings) -> String {
    let samples = s.train_samples.unwrap_or(1);
    let plural = if samples == 1 { "" } else { "s" };
    match s.objective(s.beta.unwrap_or(1.0)) {
        crate::model::objective::Objective::Elbo { beta, free_bits } => {
            format!("ELBO with beta {beta}, free bits {free_bits}, {samples} sample{plural}")
        }
        crate::model::objective::Objective::Iwae => format!("IWAE bound, {samples} sample{plural}"),
        crate::model::objective::Objective::Pretrain => "pretraining ELBO".to_string(),
    }
}
