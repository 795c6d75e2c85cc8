//! Rows into CSV through the `csv` crate: a header row, then one record per event.
//!
//! The output is RFC 4180 with `\n` line ends: a field is quoted only when it holds a comma,
//! a quote or a line break (none of the columns' values do: numbers, exact decimals and
//! snake_case enum names).

use std::fmt::Write as _;
use std::io::Write;

use anyhow::Result;
use tickrail_engine::FixedDisplay;

use super::schema::{Cell, Row, COLUMNS};

/// Rows into CSV: nulls are empty cells, decoded values exact decimal text.
pub(super) struct CsvSink<W: Write> {
    out: csv::Writer<W>,
    /// The record being built (reused: no allocation per row once grown).
    record: csv::ByteRecord,
    /// Scratch for one formatted cell.
    cell: String,
}

impl<W: Write> CsvSink<W> {
    /// A sink writing through a buffer of `capacity` bytes; writes the header row.
    pub(super) fn new(out: W, capacity: usize) -> Result<Self> {
        let mut out = csv::WriterBuilder::new()
            .buffer_capacity(capacity)
            .from_writer(out);
        out.write_record(COLUMNS.iter().map(|c| c.name))?;
        Ok(Self {
            out,
            record: csv::ByteRecord::with_capacity(512, COLUMNS.len()),
            cell: String::with_capacity(32),
        })
    }

    pub(super) fn push(&mut self, row: &Row) -> Result<()> {
        self.record.clear();
        for (col, cell) in COLUMNS.iter().zip(row.cells) {
            self.cell.clear();
            match cell {
                Cell::Null => {}
                Cell::U(v) => write!(self.cell, "{v}")?,
                Cell::I(v) => match col.ty.scale(row) {
                    Some(scale) => write!(self.cell, "{}", FixedDisplay::new(v, scale))?,
                    None => write!(self.cell, "{v}")?,
                },
                Cell::S(s) => self.cell.push_str(s),
            }
            self.record.push_field(self.cell.as_bytes());
        }
        self.out.write_byte_record(&self.record)?;
        Ok(())
    }

    pub(super) fn finish(mut self) -> Result<()> {
        self.out.flush()?;
        Ok(())
    }
}
