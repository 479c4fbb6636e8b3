//! The schema of a data source: how one example's values divide into blocks
//! that the model's observation model scores one by one.
//!
//! An image is one block (its pixels share one likelihood); a table has a
//! block per column, named by its header, so that every stage that needs to
//! know the columns (the likelihoods, the reconstruction report, the inverse
//! transform) reads this one list instead of matching on the kind of data.

use std::ops::Range;

use super::DataKind;

/// One block of an example's values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    /// The column's name for a table, `pixels` for an image.
    pub name: String,
    /// Where its values lie in a row of the data set.
    pub columns: Range<usize>,
}

/// What the values of one example are: their layout and their blocks, in
/// order, covering every value once.
#[derive(Debug, Clone, PartialEq)]
pub struct Schema {
    /// The layout of an example.
    pub kind: DataKind,
    /// The blocks, in column order.
    pub blocks: Vec<Block>,
}

impl Schema {
    /// The schema of examples laid out as `kind`.
    pub fn of(kind: &DataKind) -> Schema {
        let blocks = match kind {
            DataKind::Image { .. } => vec![Block {
                name: "pixels".into(),
                columns: 0..kind.dim(),
            }],
            DataKind::Table { columns } => columns
                .iter()
                .enumerate()
                .map(|(i, name)| Block {
                    name: name.clone(),
                    columns: i..i + 1,
                })
                .collect(),
        };
        Schema {
            kind: kind.clone(),
            blocks,
        }
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
}
