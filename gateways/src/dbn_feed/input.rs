//! Opening a DBN stream: the file (plain, or gzip by name), the 8-byte prelude read by hand
//! (to tell zstd from DBN and to know where the records start, for byte offsets), a byte
//! count of everything read (to tell a truncated last record from a clean end) and a check
//! of each record's length (corrupt framing stops the stream before the decoder sees it),
//! then the `dbn` crate's decoder over the rest.

use std::fs::File;
use std::io::{self, BufReader, Chain, Cursor, Read};
use std::path::Path;

use dbn::decode::DbnDecoder;
use dbn::VersionUpgradePolicy;

use crate::feed::OpenError;

/// Counts the bytes read through it and checks the record framing before the decoder sees
/// it: a record length (the first byte of each record, in 4-byte words) below the 16-byte
/// header or not a multiple of 8 bytes is corrupt — the decoder would reject the first, and
/// the second would put every later record at a misaligned address — so the stream stops
/// with an error just before that record.
#[derive(Debug)]
pub(crate) struct Counting<R> {
    inner: R,
    count: u64,
    /// Offset of the next record's length byte (`u64::MAX` until the metadata's length is
    /// known).
    next_record: u64,
    bad: Option<String>,
}

impl<R> Counting<R> {
    /// Bytes passed on so far.
    pub(crate) fn count(&self) -> u64 {
        self.count
    }
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if let Some(bad) = &self.bad {
            return Err(io::Error::new(io::ErrorKind::InvalidData, bad.clone()));
        }
        let n = self.inner.read(buf)?;
        let start = self.count;
        let end = start + n as u64;
        let mut keep = n;
        while self.next_record < end {
            let at = (self.next_record - start) as usize;
            let bytes = u64::from(buf[at]) * 4;
            if bytes < 16 || bytes % 8 != 0 {
                self.bad = Some(format!(
                    "impossible record length {bytes} bytes at offset {} (records are at \
                     least 16 bytes, in multiples of 8)",
                    self.next_record
                ));
                keep = at;
                break;
            }
            self.next_record += bytes;
        }
        self.count += keep as u64;
        if keep == 0 && n > 0 {
            if let Some(bad) = &self.bad {
                return Err(io::Error::new(io::ErrorKind::InvalidData, bad.clone()));
            }
        }
        Ok(keep)
    }
}

/// A boxed byte stream.
pub(crate) type Stream = Box<dyn Read + Send>;

/// What the decoder reads: the prelude already taken, then the counted rest.
pub(crate) type Input = Chain<Cursor<[u8; PRELUDE_LEN]>, Counting<Stream>>;

/// The decoder over [`Input`].
pub(crate) type Decoder = DbnDecoder<Input>;

/// `DBN`, version byte, `u32` metadata length.
pub(crate) const PRELUDE_LEN: usize = 8;

/// The zstd frame magic number, little-endian, as it starts a `.zst` file.
const ZSTD_MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];

/// Whether `bytes` start a zstd frame or a zstd skippable frame (`0x184D2A50..=5F`).
fn is_zstd(bytes: &[u8]) -> bool {
    bytes.starts_with(&ZSTD_MAGIC)
        || (bytes.len() >= 4 && bytes[0] & 0xf0 == 0x50 && bytes[1..4] == [0x2a, 0x4d, 0x18])
}

/// Decompresses `stream` on the fly when it starts with a zstd frame (`.dbn.zst`, whatever
/// its name), through the `dbn` crate's zstd reader; otherwise passes it on unchanged.
/// Byte offsets are then offsets in the decompressed stream.
fn decompress_if_zstd(mut stream: Stream) -> io::Result<Stream> {
    let mut head = [0u8; 4];
    let mut got = 0;
    while got < head.len() {
        match stream.read(&mut head[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    let rest = Cursor::new(head[..got].to_vec()).chain(stream);
    if is_zstd(&head[..got]) {
        let reader = dbn::decode::DynReader::with_buffer(
            BufReader::with_capacity(1 << 16, rest),
            dbn::Compression::Zstd,
        )
        .map_err(|e| io::Error::other(e.to_string()))?;
        Ok(Box::new(reader))
    } else {
        Ok(Box::new(rest))
    }
}

/// Opens `path` for reading: plain, or gzip-decompressed when the name ends in `.gz`.
pub(crate) fn open_file(path: &Path) -> Result<Stream, OpenError> {
    let file = File::open(path).map_err(|e| OpenError {
        file: path.display().to_string(),
        reason: format!("cannot open: {e}"),
    })?;
    Ok(if path.extension().is_some_and(|e| e == "gz") {
        Box::new(flate2::read::MultiGzDecoder::new(BufReader::with_capacity(
            1 << 16,
            file,
        )))
    } else {
        // The decoder reads in 64 KiB chunks into its own buffer: no `BufReader` needed.
        Box::new(file)
    })
}

/// Reads the prelude and the metadata of `stream`: the decoder, positioned at the first
/// record, and the byte offset of that record in the (decompressed) stream.
pub(crate) fn start(stream: Stream, name: &str) -> Result<(Decoder, u64), OpenError> {
    let fail = |reason: String| OpenError {
        file: name.to_owned(),
        reason,
    };
    let stream = decompress_if_zstd(stream).map_err(|e| fail(format!("cannot read: {e}")))?;
    let mut counting = Counting {
        inner: stream,
        count: 0,
        next_record: u64::MAX,
        bad: None,
    };
    let mut prelude = [0u8; PRELUDE_LEN];
    let mut got = 0;
    while got < PRELUDE_LEN {
        match counting.read(&mut prelude[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(fail(format!("cannot read: {e}"))),
        }
    }
    if is_zstd(&prelude[..got]) {
        return Err(fail(
            "a zstd frame inside a zstd frame: not a DBN stream".to_owned(),
        ));
    }
    if got < PRELUDE_LEN || &prelude[..3] != b"DBN" {
        return Err(fail(format!(
            "not a DBN stream: it does not start with the DBN prelude ({got} bytes read)"
        )));
    }
    let metadata_len = u32::from_le_bytes([prelude[4], prelude[5], prelude[6], prelude[7]]);
    let first_record = PRELUDE_LEN as u64 + u64::from(metadata_len);
    counting.next_record = first_record;
    // As-is: no record is rewritten, so a record's length is its length in the file and
    // byte offsets stay exact for every DBN version (1 to 3).
    let decoder = DbnDecoder::with_upgrade_policy(
        Cursor::new(prelude).chain(counting),
        VersionUpgradePolicy::AsIs,
    )
    .map_err(|e| fail(format!("DBN metadata: {}", describe(&e))))?;
    Ok((decoder, first_record))
}

/// A decoder error in words (an I/O error's message rather than its debug form).
pub(crate) fn describe(err: &dbn::Error) -> String {
    match err {
        dbn::Error::Io { source, context } => format!("{source} while {context}"),
        other => other.to_string(),
    }
}

/// Bytes read from the stream so far (prelude included).
pub(crate) fn bytes_read(decoder: &Decoder) -> u64 {
    decoder.get_ref().get_ref().1.count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tells_zstd_and_garbage_from_dbn() {
        let err = |bytes: &'static [u8]| {
            start(Box::new(bytes), "x")
                .err()
                .map(|e| e.reason)
                .unwrap_or_default()
        };
        // A zstd frame is decompressed: a broken one is a read error, an empty one no DBN.
        let broken = err(&[0x28, 0xb5, 0x2f, 0xfd, 0, 0, 0, 0]);
        assert!(
            broken.starts_with("cannot read") || broken.contains("not a DBN stream"),
            "{broken}"
        );
        assert!(err(&[0x50, 0x2a, 0x4d, 0x18, 0, 0, 0, 0]).contains("not a DBN stream"));
        assert!(err(b"DBN").contains("not a DBN stream"));
        assert!(err(b"PAR1xxxxxxxx").contains("not a DBN stream"));
        assert!(err(b"DBN\x03\xff\x00\x00\x00").starts_with("DBN metadata"));
    }
}
