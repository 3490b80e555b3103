//! Setting a large table aside on disk while the stages that do not read it run.
//!
//! Forward rows are the largest table (tens of millions of rows at 10M accounts), and only
//! the tabular features and the networks read them: the model stages in between are where a
//! run's memory peaks. So `run` writes the rows to a temporary file once the tabular features
//! are computed and reads them back for the networks (when they take more than
//! [`crate::run::SPILL_FORWARDS_ABOVE`] by default). The file is anonymous (unlinked as soon
//! as it is created, in the output folder): nothing is left behind however the process ends,
//! and the rows come back bit for bit.

use std::fs::File;
use std::io::{BufWriter, Read, Seek, SeekFrom, Write};
use std::marker::PhantomData;
use std::path::Path;

use rayon::prelude::*;

/// Rows encoded or decoded at a time.
const CHUNK: usize = 1 << 20;

/// A row with a fixed-size byte encoding.
pub trait FixedRow: Sized + Send + Sync {
    /// Bytes a row takes.
    const BYTES: usize;
    /// Writes the row into `out` (`BYTES` long).
    fn put(&self, out: &mut [u8]);
    /// Reads a row written by [`FixedRow::put`].
    fn get(bytes: &[u8]) -> Self;
}

/// Rows set aside in an anonymous temporary file.
pub struct Spilled<T> {
    file: File,
    rows: usize,
    row: PhantomData<T>,
}

impl<T: FixedRow> Spilled<T> {
    /// Writes `rows` to a new anonymous file in `dir` and frees them.
    pub fn write(rows: Vec<T>, dir: &Path) -> std::io::Result<Spilled<T>> {
        std::fs::create_dir_all(dir)?;
        let mut file = tempfile::tempfile_in(dir)?;
        let mut out = BufWriter::with_capacity(1 << 20, &mut file);
        let mut buf = Vec::new();
        for chunk in rows.chunks(CHUNK) {
            buf.resize(chunk.len() * T::BYTES, 0);
            buf.par_chunks_mut(T::BYTES).zip(chunk).for_each(|(b, r)| r.put(b));
            out.write_all(&buf)?;
        }
        out.flush()?;
        drop(out);
        Ok(Spilled { file, rows: rows.len(), row: PhantomData })
    }

    /// Reads the rows back, in their order; the file goes with `self`.
    pub fn read(mut self) -> std::io::Result<Vec<T>> {
        self.file.seek(SeekFrom::Start(0))?;
        let mut rows = Vec::with_capacity(self.rows);
        let mut buf = Vec::new();
        while rows.len() < self.rows {
            let n = (self.rows - rows.len()).min(CHUNK);
            buf.resize(n * T::BYTES, 0);
            self.file.read_exact(&mut buf)?;
            rows.par_extend(buf.par_chunks(T::BYTES).map(T::get));
        }
        Ok(rows)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Clone, Copy, PartialEq)]
    struct Pair(u32, f64);

    impl FixedRow for Pair {
        const BYTES: usize = 12;
        fn put(&self, out: &mut [u8]) {
            out[..4].copy_from_slice(&self.0.to_le_bytes());
            out[4..].copy_from_slice(&self.1.to_le_bytes());
        }
        fn get(b: &[u8]) -> Self {
            Pair(u32::from_le_bytes(b[..4].try_into().unwrap()), f64::from_le_bytes(b[4..12].try_into().unwrap()))
        }
    }

    #[test]
    fn rows_come_back_in_order_bit_for_bit_and_the_file_leaves_no_name() {
        let dir = tempfile::tempdir().unwrap();
        for n in [0, 1, CHUNK - 1, CHUNK + 3] {
            let rows: Vec<Pair> = (0..n as u32).map(|i| Pair(i.wrapping_mul(2_654_435_761), f64::from(i) * -0.5 + 1e-300)).collect();
            let back = Spilled::write(rows.clone(), dir.path()).unwrap().read().unwrap();
            assert_eq!(back.len(), rows.len());
            assert!(back.iter().zip(&rows).all(|(a, b)| a.0 == b.0 && a.1.to_bits() == b.1.to_bits()));
        }
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0, "an anonymous file has no directory entry");
    }
}
