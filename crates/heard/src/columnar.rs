//! A Parquet file written row by row in bounded memory, over the `parquet` crate's low-level column writers (no Arrow):
//! rows are buffered column by column, and every `rows_per_group` rows become one row group, compressed with Snappy
//! and flushed to the writer. Memory is one row group's values; the writer is the only I/O.
//!
//! A table is declared by a Parquet message type in the format's schema language (`parse_message_type`), and a row
//! is filled leaf by leaf in the schema's order through [`Row`]: a top-level `REQUIRED` or `OPTIONAL` primitive takes
//! one value (or null), a `LIST` of required elements takes a slice, and a `MAP` of required keys and values takes
//! its entries (two leaves: key and value). Definition and repetition levels follow the Parquet format's rules
//! (github.com/apache/parquet-format, "Nested Encoding"), from the levels the schema gives each leaf:
//! for a list or map, an empty one is written as one slot at definition level `max_def - 1`, each element at
//! `max_def`, the first at repetition level 0 and the others at 1.
//!
//! Filling a row in another order or with another type than its schema says is a bug in the caller, not bad input:
//! it panics, and every table's test writes and reads back each of its columns.

use std::io::Write;
use std::sync::Arc;

use parquet::basic::{Compression, Type as Physical};
use parquet::column::writer::ColumnWriter;
use parquet::data_type::ByteArray;
use parquet::errors::Result;
use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::parser::parse_message_type;

/// The values buffered for one leaf column, by physical type (public only as [`Value`]'s argument).
pub enum Values {
    Bool(Vec<bool>),
    Int32(Vec<i32>),
    Int64(Vec<i64>),
    Double(Vec<f64>),
    Bytes(Vec<ByteArray>),
}

impl Values {
    fn clear(&mut self) {
        match self {
            Values::Bool(v) => v.clear(),
            Values::Int32(v) => v.clear(),
            Values::Int64(v) => v.clear(),
            Values::Double(v) => v.clear(),
            Values::Bytes(v) => v.clear(),
        }
    }
}

/// One leaf column of the row group being filled: its values, and its levels when the schema has any.
struct Leaf {
    name: String,
    values: Values,
    max_def: i16,
    max_rep: i16,
    defs: Vec<i16>,
    reps: Vec<i16>,
}

impl Leaf {
    fn clear(&mut self) {
        self.values.clear();
        self.defs.clear();
        self.reps.clear();
    }
}

/// A Parquet file being written.
pub struct Table<W: Write + Send> {
    file: SerializedFileWriter<W>,
    leaves: Vec<Leaf>,
    rows_per_group: usize,
    buffered: usize,
    rows: u64,
}

impl<W: Write + Send> Table<W> {
    /// A table with the schema `message_type` (Parquet's schema language) written to `out`, `rows_per_group` rows to
    /// a row group (at least 1). Errors if the schema does not parse or has a leaf type this writer does not fill
    /// (INT96, FLOAT, FIXED_LEN_BYTE_ARRAY).
    pub fn new(out: W, message_type: &str, rows_per_group: usize) -> Result<Table<W>> {
        let schema = Arc::new(parse_message_type(message_type)?);
        let props = WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            .set_created_by(format!("Heard {}", env!("CARGO_PKG_VERSION")))
            .set_max_row_group_row_count(Some(rows_per_group.max(1)))
            .build();
        let file = SerializedFileWriter::new(out, schema, Arc::new(props))?;
        let leaves = file
            .schema_descr()
            .columns()
            .iter()
            .map(|c| {
                let values = match c.physical_type() {
                    Physical::BOOLEAN => Values::Bool(Vec::new()),
                    Physical::INT32 => Values::Int32(Vec::new()),
                    Physical::INT64 => Values::Int64(Vec::new()),
                    Physical::DOUBLE => Values::Double(Vec::new()),
                    Physical::BYTE_ARRAY => Values::Bytes(Vec::new()),
                    other => {
                        return Err(parquet::errors::ParquetError::General(format!(
                            "column {}: {other} is not written by this writer",
                            c.path().string()
                        )));
                    }
                };
                Ok(Leaf {
                    name: c.path().string(),
                    values,
                    max_def: c.max_def_level(),
                    max_rep: c.max_rep_level(),
                    defs: Vec::new(),
                    reps: Vec::new(),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Table {
            file,
            leaves,
            rows_per_group: rows_per_group.max(1),
            buffered: 0,
            rows: 0,
        })
    }

    /// The next row, filled leaf by leaf with [`Row`]'s methods and ended with [`Row::end`].
    pub fn row(&mut self) -> Row<'_, W> {
        Row {
            table: self,
            next: 0,
        }
    }

    /// Rows written so far.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Writes the buffered rows as one row group.
    fn flush(&mut self) -> Result<()> {
        if self.buffered == 0 {
            return Ok(());
        }
        let mut group = self.file.next_row_group()?;
        let mut i = 0;
        while let Some(mut column) = group.next_column()? {
            let leaf = &self.leaves[i];
            let defs = (leaf.max_def > 0).then_some(leaf.defs.as_slice());
            let reps = (leaf.max_rep > 0).then_some(leaf.reps.as_slice());
            match (column.untyped(), &leaf.values) {
                (ColumnWriter::BoolColumnWriter(w), Values::Bool(v)) => {
                    w.write_batch(v, defs, reps)?;
                }
                (ColumnWriter::Int32ColumnWriter(w), Values::Int32(v)) => {
                    w.write_batch(v, defs, reps)?;
                }
                (ColumnWriter::Int64ColumnWriter(w), Values::Int64(v)) => {
                    w.write_batch(v, defs, reps)?;
                }
                (ColumnWriter::DoubleColumnWriter(w), Values::Double(v)) => {
                    w.write_batch(v, defs, reps)?;
                }
                (ColumnWriter::ByteArrayColumnWriter(w), Values::Bytes(v)) => {
                    w.write_batch(v, defs, reps)?;
                }
                _ => unreachable!("leaf buffers are made from the same schema"),
            }
            column.close()?;
            i += 1;
        }
        group.close()?;
        for leaf in &mut self.leaves {
            leaf.clear();
        }
        self.buffered = 0;
        Ok(())
    }

    /// Writes what is buffered and the footer; returns the writer.
    pub fn finish(mut self) -> Result<W> {
        self.flush()?;
        self.file.into_inner()
    }
}

/// One row being filled, leaf by leaf in the schema's order.
pub struct Row<'a, W: Write + Send> {
    table: &'a mut Table<W>,
    next: usize,
}

/// A value of one of the physical types.
pub trait Value {
    #[doc(hidden)]
    fn push(self, values: &mut Values, leaf: &str);
}

impl Value for bool {
    fn push(self, values: &mut Values, leaf: &str) {
        match values {
            Values::Bool(v) => v.push(self),
            _ => panic!("column {leaf} is not BOOLEAN"),
        }
    }
}
impl Value for i32 {
    fn push(self, values: &mut Values, leaf: &str) {
        match values {
            Values::Int32(v) => v.push(self),
            _ => panic!("column {leaf} is not INT32"),
        }
    }
}
impl Value for i64 {
    fn push(self, values: &mut Values, leaf: &str) {
        match values {
            Values::Int64(v) => v.push(self),
            _ => panic!("column {leaf} is not INT64"),
        }
    }
}
impl Value for f64 {
    fn push(self, values: &mut Values, leaf: &str) {
        match values {
            Values::Double(v) => v.push(self),
            _ => panic!("column {leaf} is not DOUBLE"),
        }
    }
}
impl Value for &str {
    fn push(self, values: &mut Values, leaf: &str) {
        match values {
            Values::Bytes(v) => v.push(ByteArray::from(self)),
            _ => panic!("column {leaf} is not BYTE_ARRAY"),
        }
    }
}

impl<W: Write + Send> Row<'_, W> {
    fn leaf(&mut self) -> &mut Leaf {
        let i = self.next;
        self.next += 1;
        match self.table.leaves.get_mut(i) {
            Some(l) => l,
            None => panic!("the row has more values than the schema has columns"),
        }
    }

    /// The next column, a top-level `REQUIRED` or `OPTIONAL` primitive: `v`, or null for `None` (which a
    /// `REQUIRED` column refuses).
    pub fn opt<V: Value>(&mut self, v: Option<V>) -> &mut Self {
        let leaf = self.leaf();
        assert!(
            leaf.max_rep == 0 && leaf.max_def <= 1,
            "column {} is not a top-level primitive",
            leaf.name
        );
        match v {
            Some(v) => {
                v.push(&mut leaf.values, &leaf.name);
                if leaf.max_def == 1 {
                    leaf.defs.push(1);
                }
            }
            None => {
                assert!(leaf.max_def == 1, "column {} is REQUIRED", leaf.name);
                leaf.defs.push(0);
            }
        }
        self
    }

    /// The next column, a top-level `REQUIRED` primitive (or an `OPTIONAL` one, present).
    pub fn val<V: Value>(&mut self, v: V) -> &mut Self {
        self.opt(Some(v))
    }

    /// A repeated leaf (a list's elements, or a map's keys or values).
    fn repeated<V: Value>(&mut self, items: impl Iterator<Item = V>) {
        let leaf = self.leaf();
        assert!(leaf.max_rep == 1, "column {} is not a list", leaf.name);
        let mut first = true;
        for v in items {
            v.push(&mut leaf.values, &leaf.name);
            leaf.defs.push(leaf.max_def);
            leaf.reps.push(if first { 0 } else { 1 });
            first = false;
        }
        if first {
            leaf.defs.push(leaf.max_def - 1);
            leaf.reps.push(0);
        }
    }

    /// The next column, a `REQUIRED` or present `OPTIONAL` `LIST` of `REQUIRED` elements.
    pub fn list<V: Value>(&mut self, items: impl IntoIterator<Item = V>) -> &mut Self {
        self.repeated(items.into_iter());
        self
    }

    /// The next column, a `MAP` of `REQUIRED` keys and values (two leaves).
    pub fn map<'k, V: Value + Copy + 'k>(
        &mut self,
        entries: impl IntoIterator<Item = (&'k str, V)> + Clone,
    ) -> &mut Self {
        self.repeated(entries.clone().into_iter().map(|(k, _)| k));
        self.repeated(entries.into_iter().map(|(_, v)| v));
        self
    }

    /// Ends the row (every column must have been given); writes a row group when one is full.
    pub fn end(self) -> Result<()> {
        assert_eq!(
            self.next,
            self.table.leaves.len(),
            "the row has fewer values than the schema has columns"
        );
        let table = self.table;
        table.buffered += 1;
        table.rows += 1;
        if table.buffered >= table.rows_per_group {
            table.flush()?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use parquet::file::reader::{FileReader, SerializedFileReader};
    use parquet::record::Field;

    const SCHEMA: &str = "message t {
        REQUIRED BYTE_ARRAY id (STRING);
        REQUIRED INT64 at (TIMESTAMP(MILLIS,true));
        OPTIONAL INT32 score;
        OPTIONAL BOOLEAN good;
        REQUIRED group tags (LIST) { REPEATED group list { REQUIRED BYTE_ARRAY element (STRING); } }
        REQUIRED group measures (MAP) { REPEATED group key_value {
            REQUIRED BYTE_ARRAY key (STRING); REQUIRED DOUBLE value; } }
    }";

    #[test]
    fn rows_read_back_across_row_groups() {
        // Five rows, two to a group: three row groups, the last one short.
        let mut t = Table::new(tempfile::tempfile().unwrap(), SCHEMA, 2).unwrap();
        for i in 0..5i64 {
            let tags: Vec<String> = (0..i % 3).map(|k| format!("t{k}")).collect();
            let measures: Vec<(&str, f64)> = if i % 2 == 0 {
                vec![("wait", i as f64 * 1.5), ("n", 1.0)]
            } else {
                vec![]
            };
            let mut r = t.row();
            r.val(format!("r{i}").as_str())
                .val(1_700_000_000_000 + i)
                .opt((i != 2).then_some(i as i32))
                .opt((i != 3).then_some(i % 2 == 0))
                .list(tags.iter().map(String::as_str))
                .map(measures.iter().copied());
            r.end().unwrap();
        }
        assert_eq!(t.rows(), 5);
        let reader = SerializedFileReader::new(t.finish().unwrap()).unwrap();
        assert_eq!(reader.metadata().num_row_groups(), 3);
        let rows: Vec<_> = reader
            .get_row_iter(None)
            .unwrap()
            .map(|r| r.unwrap())
            .collect();
        assert_eq!(rows.len(), 5);
        let fields = |i: usize| -> Vec<Field> {
            rows[i].get_column_iter().map(|(_, f)| f.clone()).collect()
        };
        let r2 = fields(2);
        assert_eq!(r2[0], Field::Str("r2".into()));
        assert_eq!(r2[1], Field::TimestampMillis(1_700_000_000_002));
        assert_eq!(r2[2], Field::Null);
        assert_eq!(r2[3], Field::Bool(true));
        assert_eq!(r2[4].to_string(), "[\"t0\", \"t1\"]");
        assert_eq!(r2[5].to_string(), "{\"wait\" -> 3.0, \"n\" -> 1.0}");
        let r3 = fields(3);
        assert_eq!(r3[2], Field::Int(3));
        assert_eq!(r3[3], Field::Null);
        assert_eq!(r3[4].to_string(), "[]");
        assert_eq!(r3[5].to_string(), "{}");
    }

    #[test]
    #[should_panic(expected = "is REQUIRED")]
    fn a_null_in_a_required_column_is_a_bug() {
        let mut t = Table::new(Vec::new(), SCHEMA, 2).unwrap();
        let mut r = t.row();
        r.opt(None::<&str>);
    }

    #[test]
    fn unsupported_leaf_types_are_refused() {
        let e = Table::new(
            Vec::new(),
            "message t { REQUIRED FIXED_LEN_BYTE_ARRAY(16) id (UUID); }",
            10,
        )
        .err()
        .unwrap();
        assert!(e.to_string().contains("column id"), "{e}");
    }
}
