//! Rows into Parquet: Arrow column builders flushed as record batches into the writer.

use std::io::Write;
use std::sync::Arc;

use anyhow::{anyhow, bail, Context, Result};
use arrow_array::builder::{
    Float64Builder, Int64Builder, StringBuilder, UInt16Builder, UInt32Builder, UInt64Builder,
    UInt8Builder,
};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::SchemaRef;
use parquet::arrow::ArrowWriter;
use parquet::file::metadata::KeyValue;
use parquet::file::properties::WriterProperties;
use tickrail_engine::Scale;

use super::schema::{schema, Cell, Column, Row, Ty, COLUMNS};

/// Rows per Parquet row group.
const ROW_GROUP_ROWS: usize = 65_536;
/// Rows buffered in the column builders before they go to the Parquet writer.
const BATCH_ROWS: usize = 8_192;

/// A raw fixed-point value as the nearest `f64`: one correctly rounded division of two
/// exactly represented numbers when `|raw| < 2^53`.
fn decoded(raw: i64, scale: Scale) -> f64 {
    raw as f64 / scale.unit() as f64
}

/// One Arrow column being built.
enum Builder {
    U64(UInt64Builder),
    I64(Int64Builder),
    U32(UInt32Builder),
    U16(UInt16Builder),
    U8(UInt8Builder),
    F64(Float64Builder),
    Str(StringBuilder),
}

impl Builder {
    fn new(ty: Ty) -> Self {
        match ty {
            Ty::U64 => Self::U64(UInt64Builder::with_capacity(BATCH_ROWS)),
            Ty::I64 => Self::I64(Int64Builder::with_capacity(BATCH_ROWS)),
            Ty::U32 => Self::U32(UInt32Builder::with_capacity(BATCH_ROWS)),
            Ty::U16 => Self::U16(UInt16Builder::with_capacity(BATCH_ROWS)),
            Ty::U8 => Self::U8(UInt8Builder::with_capacity(BATCH_ROWS)),
            Ty::Str => Self::Str(StringBuilder::with_capacity(BATCH_ROWS, BATCH_ROWS * 8)),
            Ty::Px | Ty::Qty | Ty::Sig => Self::F64(Float64Builder::with_capacity(BATCH_ROWS)),
        }
    }

    fn append(&mut self, col: &Column, cell: Cell, row: &Row) -> Result<()> {
        let narrow = |v: u64| anyhow!("internal error: {v} does not fit column {}", col.name);
        match (self, cell) {
            (Self::U64(b), Cell::Null) => b.append_null(),
            (Self::I64(b), Cell::Null) => b.append_null(),
            (Self::U32(b), Cell::Null) => b.append_null(),
            (Self::U16(b), Cell::Null) => b.append_null(),
            (Self::U8(b), Cell::Null) => b.append_null(),
            (Self::F64(b), Cell::Null) => b.append_null(),
            (Self::Str(b), Cell::Null) => b.append_null(),
            (Self::U64(b), Cell::U(v)) => b.append_value(v),
            (Self::U32(b), Cell::U(v)) => b.append_value(u32::try_from(v).map_err(|_| narrow(v))?),
            (Self::U16(b), Cell::U(v)) => b.append_value(u16::try_from(v).map_err(|_| narrow(v))?),
            (Self::U8(b), Cell::U(v)) => b.append_value(u8::try_from(v).map_err(|_| narrow(v))?),
            (Self::I64(b), Cell::I(v)) => b.append_value(v),
            (Self::F64(b), Cell::I(raw)) => match col.ty.scale(row) {
                Some(scale) => b.append_value(decoded(raw, scale)),
                None => bail!("internal error: column {} has no scale", col.name),
            },
            (Self::Str(b), Cell::S(s)) => b.append_value(s),
            (_, cell) => bail!("internal error: column {} cannot hold {cell:?}", col.name),
        }
        Ok(())
    }

    /// The column so far; the builder starts over empty.
    fn finish(&mut self) -> ArrayRef {
        match self {
            Self::U64(b) => Arc::new(b.finish()),
            Self::I64(b) => Arc::new(b.finish()),
            Self::U32(b) => Arc::new(b.finish()),
            Self::U16(b) => Arc::new(b.finish()),
            Self::U8(b) => Arc::new(b.finish()),
            Self::F64(b) => Arc::new(b.finish()),
            Self::Str(b) => Arc::new(b.finish()),
        }
    }
}

/// Rows into Parquet: column builders of at most [`BATCH_ROWS`] rows, flushed as record
/// batches into the writer, which writes a row group every [`ROW_GROUP_ROWS`] rows.
pub(super) struct ParquetSink {
    writer: ArrowWriter<Box<dyn Write + Send>>,
    schema: SchemaRef,
    builders: Vec<Builder>,
    buffered: usize,
}

impl ParquetSink {
    pub(super) fn new(out: Box<dyn Write + Send>, metadata: Vec<KeyValue>) -> Result<Self> {
        let schema = schema();
        let props = WriterProperties::builder()
            .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
            .set_created_by(format!("tickrail {}", env!("CARGO_PKG_VERSION")))
            .set_key_value_metadata(Some(metadata))
            .build();
        let writer = ArrowWriter::try_new(out, Arc::clone(&schema), Some(props))
            .context("starting the Parquet file")?;
        Ok(Self {
            writer,
            schema,
            builders: COLUMNS.iter().map(|c| Builder::new(c.ty)).collect(),
            buffered: 0,
        })
    }

    pub(super) fn push(&mut self, row: &Row) -> Result<()> {
        for ((b, col), cell) in self.builders.iter_mut().zip(&COLUMNS).zip(row.cells) {
            b.append(col, cell, row)?;
        }
        self.buffered += 1;
        if self.buffered == BATCH_ROWS {
            self.flush_batch()?;
        }
        Ok(())
    }

    fn flush_batch(&mut self) -> Result<()> {
        if self.buffered == 0 {
            return Ok(());
        }
        let columns = self.builders.iter_mut().map(Builder::finish).collect();
        let batch = RecordBatch::try_new(Arc::clone(&self.schema), columns)
            .context("assembling a record batch")?;
        self.writer.write(&batch).context("writing Parquet")?;
        self.buffered = 0;
        Ok(())
    }

    /// Write the last rows and the footer; returns the number of row groups.
    pub(super) fn finish(mut self) -> Result<usize> {
        self.flush_batch()?;
        let meta = self.writer.finish().context("finishing the Parquet file")?;
        Ok(meta.num_row_groups())
    }
}
