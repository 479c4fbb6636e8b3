//! The schema of a data source: how one example's values divide into blocks
//! that the model's observation model scores one by one.
//!
//! An image is one block (its pixels share one likelihood); a table has a
//! block per column, named by its header, so that every stage that needs to
//! know the columns (the likelihoods, the reconstruction report, the inverse
//! transform) reads this one list instead of matching on the kind of data.

use std::ops::Range;

use serde::{Deserialize, Serialize};

use super::{DataKind, Dataset};

/// What kind of numbers a block holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ValueType {
    /// Any real number (and every image's intensities).
    Real,
    /// Whole numbers from 0 up (a Poisson likelihood's data).
    Count,
    /// Only 0 and 1.
    Binary,
    /// One of a fixed set of categories, one-hot over the block's values.
    Categorical,
}

impl ValueType {
    /// The narrowest type that holds every one of `values`: binary, then
    /// count, then real.
    pub fn of(values: impl IntoIterator<Item = f32>) -> ValueType {
        let (mut binary, mut count) = (true, true);
        for v in values {
            binary &= v == 0.0 || v == 1.0;
            count &= v >= 0.0 && v.fract() == 0.0;
        }
        match (binary, count) {
            (true, _) => ValueType::Binary,
            (false, true) => ValueType::Count,
            _ => ValueType::Real,
        }
    }

    /// The name `vaekit info` shows.
    pub fn as_str(self) -> &'static str {
        match self {
            ValueType::Real => "real",
            ValueType::Count => "count",
            ValueType::Binary => "binary",
            ValueType::Categorical => "categorical",
        }
    }
}

/// One block of an example's values.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Block {
    /// The column's name for a table, `pixels` for an image.
    pub name: String,
    /// Where its values lie in a row of the data set.
    pub columns: Range<usize>,
    /// What kind of numbers it holds.
    pub values: ValueType,
}

/// What the values of one example are: their layout and their blocks, in
/// order, covering every value once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Schema {
    /// The layout of an example.
    pub kind: DataKind,
    /// The blocks, in column order.
    pub blocks: Vec<Block>,
}

impl Schema {
    /// The schema of examples laid out as `kind`, every block of real
    /// numbers.
    pub fn of(kind: &DataKind) -> Schema {
        let blocks = match kind {
            DataKind::Image { .. } => vec![Block {
                name: "pixels".into(),
                columns: 0..kind.dim(),
                values: ValueType::Real,
            }],
            DataKind::Table { columns } => columns
                .iter()
                .enumerate()
                .map(|(i, name)| Block {
                    name: name.clone(),
                    columns: i..i + 1,
                    values: ValueType::Real,
                })
                .collect(),
        };
        Schema {
            kind: kind.clone(),
            blocks,
        }
    }

    /// The schema of `data`, with each table column's type read from its
    /// values (an image's pixels stay real intensities, whatever they hold).
    pub fn inferred(data: &Dataset) -> Schema {
        let mut schema = Schema::of(data.kind());
        if data.kind().is_image() {
            return schema;
        }
        let dim = data.dim().max(1);
        for block in &mut schema.blocks {
            let column = block.columns.start;
            block.values = ValueType::of(data.values().iter().skip(column).step_by(dim).copied());
        }
        schema
    }

    /// Values per example.
    pub fn dim(&self) -> usize {
        self.kind.dim()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_image_is_one_block_and_a_table_a_block_per_column() {
        let image = Schema::of(&DataKind::Image {
            channels: 3,
            height: 2,
            width: 4,
        });
        assert_eq!(image.blocks.len(), 1);
        assert_eq!(image.blocks[0].columns, 0..24);
        let table = Schema::of(&DataKind::Table {
            columns: vec!["age".into(), "income".into(), "height".into()],
        });
        let names: Vec<&str> = table.blocks.iter().map(|b| b.name.as_str()).collect();
        assert_eq!(names, ["age", "income", "height"]);
        assert_eq!(table.blocks[2].columns, 2..3);
        assert_eq!(table.dim(), 3);
    }

    #[test]
    fn a_table_column_takes_the_narrowest_type_of_its_values() {
        assert_eq!(ValueType::of([0.0, 1.0, 1.0]), ValueType::Binary);
        assert_eq!(ValueType::of([0.0, 3.0, 12.0]), ValueType::Count);
        assert_eq!(ValueType::of([0.0, 3.0, -1.0]), ValueType::Real);
        assert_eq!(ValueType::of([0.5, 1.0]), ValueType::Real);
        let kind = DataKind::Table {
            columns: vec!["flag".into(), "visits".into(), "height".into()],
        };
        let data = Dataset::new(
            vec![1.0, 4.0, 1.75, 0.0, 0.0, 1.6, 1.0, 12.0, 1.82],
            kind,
            None,
        )
        .unwrap();
        let types: Vec<&str> = Schema::inferred(&data)
            .blocks
            .iter()
            .map(|b| b.values.as_str())
            .collect();
        assert_eq!(types, ["binary", "count", "real"]);
        // An image's pixels stay intensities, even all 0 or 1.
        let image = DataKind::Image {
            channels: 1,
            height: 1,
            width: 2,
        };
        let data = Dataset::new(vec![0.0, 1.0], image, None).unwrap();
        assert_eq!(Schema::inferred(&data).blocks[0].values, ValueType::Real);
    }
}
