//! Record framing: a 4-byte big-endian length, then that many bytes. EOF
//! at a record boundary ends the records; EOF anywhere else is an error
//! naming what was cut short. Lengths are capped (the real reader is not).
//!
//! ```ignore
//! let mut rr = RecordReader::new(reader, DEFAULT_MAX_LEN);
//! while let Some(rec) = rr.next().await? { … }
//! ```

use std::io;

use tokio::io::{AsyncRead, AsyncReadExt, BufReader};

/// The cap on one record's length: 64 MiB, as the Go port's.
pub const DEFAULT_MAX_LEN: u32 = 64 << 20;

/// Reads records from an `AsyncRead`, counting them.
pub struct RecordReader<R> {
    r: BufReader<R>,
    max: u32,
    count: usize,
}

impl<R: AsyncRead + Unpin> RecordReader<R> {
    pub fn new(r: R, max: u32) -> Self {
        RecordReader { r: BufReader::with_capacity(64 << 10, r), max, count: 0 }
    }

    /// How many records were read.
    pub fn count(&self) -> usize {
        self.count
    }

    /// The next record, or None at EOF on a record boundary.
    pub async fn next(&mut self) -> io::Result<Option<Vec<u8>>> {
        let index = self.count + 1;
        let mut prefix = [0u8; 4];
        let got = fill(&mut self.r, &mut prefix).await?;
        match got {
            0 => return Ok(None),
            4 => {}
            n => return Err(invalid(format!("record {index}: unexpected EOF inside the length prefix (got {n} of 4 bytes)"))),
        }
        let size = u32::from_be_bytes(prefix);
        if size > self.max {
            return Err(invalid(format!("record {index}: length {size} exceeds the limit of {} bytes", self.max)));
        }
        let mut rec = vec![0u8; size as usize];
        let got = fill(&mut self.r, &mut rec).await?;
        if size > 0 && got == 0 {
            return Err(invalid(format!("record {index}: unexpected EOF where a record was expected (length {size})")));
        }
        if got < rec.len() {
            return Err(invalid(format!("record {index}: short record: read {got}, expected {size}")));
        }
        self.count += 1;
        Ok(Some(rec))
    }
}

/// Reads until buf is full or EOF; returns how many bytes came.
async fn fill<R: AsyncRead + Unpin>(r: &mut R, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        let m = r.read(&mut buf[n..]).await?;
        if m == 0 {
            break;
        }
        n += m;
    }
    Ok(n)
}

fn invalid(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg)
}
