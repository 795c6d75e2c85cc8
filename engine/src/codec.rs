//! Events in the journal: one record per event, the payload an rkyv archive of [`Event`].
//!
//! - Journal kind = [`EVENT_KIND_BASE`] + [`EventKind::code`]; the record's sequence is the
//!   header's `sequence` and its timestamp the header's `receive_ts_ns`.
//! - The payload is exactly [`ARCHIVED_EVENT_BYTES`] bytes: events are fixed-size, so their
//!   archives are too (no relative pointers, no out-of-line data).
//! - [`append_event`] archives the event with rkyv's low-level API into an aligned
//!   96-byte stack buffer (rkyv resolves into a stack temporary anyway), then appends it:
//!   one 96-byte copy into the mapping, no heap allocation, and the journal computes the CRC
//!   from that buffer instead of reading the mapped bytes back.
//! - [`access_event`] is the zero-copy read: a bytecheck-validated `&ArchivedEvent` borrowed
//!   from the mapping, cross-checked against the record header. Bytecheck proves the bytes
//!   are a well-formed archive (valid enum tags, in-bounds); it does **not** check values
//!   (a price ≤ 0, a scale > 18): [`decode_event`] deserialises to an owned [`Event`] and
//!   checks its invariants ([`Event::validate`]). The CRC already guarantees the bytes are
//!   what a writer wrote after validating them.
//!
//! Checks come in pairs: an event is validated before it is written and again after it is
//! read, and the record header (kind, sequence, timestamp) must agree with the archive.

use std::mem::{align_of, size_of};

use rkyv::rancor::Failure;
use rkyv::ser::allocator::SubAllocator;
use rkyv::ser::writer::Buffer;
use tickrail_journal::{JournalError, JournalWriter, Position, Record, FIRST_USER_KIND};

use crate::event::{ArchivedEvent, Event, EventError, EventKind};

/// Journal kind of the event kind with code 0; event kinds occupy `BASE + code`.
pub const EVENT_KIND_BASE: u16 = 0x100;

/// Size of an archived event: the payload size of every event record.
pub const ARCHIVED_EVENT_BYTES: usize = size_of::<ArchivedEvent>();

const _: () = assert!(
    EVENT_KIND_BASE >= FIRST_USER_KIND,
    "event kinds must be user kinds"
);
const _: () = assert!(
    align_of::<ArchivedEvent>() <= 8,
    "journal payloads are only 8-byte aligned"
);

/// What can go wrong writing or reading an event record. Record errors name the record's
/// position (segment and offset).
#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    /// The journal failed.
    #[error(transparent)]
    Journal(#[from] JournalError),
    /// The event is not well-formed (checked before writing and after reading).
    #[error("invalid event: {0}")]
    Invalid(#[from] EventError),
    /// The record's kind is not an event kind.
    #[error("segment {}, offset {}: record kind {kind:#x} is not an event kind", at.segment, at.offset)]
    NotAnEvent {
        /// Where the record is.
        at: Position,
        /// Its journal kind.
        kind: u16,
    },
    /// The payload is not the size of an archived event.
    #[error(
        "segment {}, offset {}: {kind} record has {actual} payload bytes, expected {expected}",
        at.segment,
        at.offset
    )]
    WrongLength {
        /// Where the record is.
        at: Position,
        /// The record's kind.
        kind: EventKind,
        /// [`ARCHIVED_EVENT_BYTES`].
        expected: usize,
        /// The payload length.
        actual: usize,
    },
    /// The payload is not a valid archived event.
    #[error("segment {}, offset {}: {kind} record: invalid archive: {reason}", at.segment, at.offset)]
    BadArchive {
        /// Where the record is.
        at: Position,
        /// The record's kind.
        kind: EventKind,
        /// What bytecheck found.
        reason: String,
    },
    /// The record header's kind disagrees with the archived body.
    #[error(
        "segment {}, offset {}: record kind is {record} but the archived body is {body}",
        at.segment,
        at.offset
    )]
    KindMismatch {
        /// Where the record is.
        at: Position,
        /// Kind from the record header.
        record: EventKind,
        /// Kind of the archived body.
        body: EventKind,
    },
    /// The record header's sequence or timestamp disagrees with the archived event header.
    #[error(
        "segment {}, offset {}: record {field} is {record} but the archived event says {archived}",
        at.segment,
        at.offset
    )]
    HeaderMismatch {
        /// Where the record is.
        at: Position,
        /// `sequence` or `timestamp_ns`.
        field: &'static str,
        /// Value in the record header.
        record: i128,
        /// Value in the archived event.
        archived: i128,
    },
}

/// The journal kind of events of `kind`.
pub const fn journal_kind(kind: EventKind) -> u16 {
    EVENT_KIND_BASE + kind.code()
}

/// The event kind stored under `journal_kind`, if it is one.
pub fn event_kind(journal_kind: u16) -> Option<EventKind> {
    journal_kind
        .checked_sub(EVENT_KIND_BASE)
        .and_then(EventKind::from_code)
}

/// Append `event` to the journal: archived into an aligned stack buffer, then copied into
/// the record. No heap allocation.
///
/// The record's sequence is `event.header.sequence` (the journal refuses a decreasing one)
/// and its timestamp `event.header.receive_ts_ns`. The event is validated first.
///
/// # Panics
///
/// If rkyv does not write exactly [`ARCHIVED_EVENT_BYTES`] bytes, which the fixed layout
/// rules out (and the tests check for every kind). The panic happens before anything is
/// written to the journal.
pub fn append_event(writer: &mut JournalWriter, event: &Event) -> Result<Position, CodecError> {
    event.validate()?;
    let h = &event.header;
    let kind = journal_kind(event.kind());
    let mut buf = rkyv::util::Align([0u8; ARCHIVED_EVENT_BYTES]);
    serialize_into(event, &mut buf.0);
    Ok(writer.append(kind, h.sequence, h.receive_ts_ns, &buf.0)?)
}

/// The archived bytes of `event`, exactly as [`append_event`] journals them (the event is
/// not validated). For comparing event streams byte for byte.
pub fn archive_event(event: &Event) -> [u8; ARCHIVED_EVENT_BYTES] {
    let mut buf = rkyv::util::Align([0u8; ARCHIVED_EVENT_BYTES]);
    serialize_into(event, &mut buf.0);
    buf.0
}

/// Serialise `event` into `slot`, which must be exactly [`ARCHIVED_EVENT_BYTES`] long.
///
/// # Panics
///
/// If the archive does not fill the slot exactly (see [`append_event`]).
fn serialize_into(event: &Event, slot: &mut [u8]) {
    let len = slot.len();
    match rkyv::api::low::to_bytes_in_with_alloc::<_, _, Failure>(
        event,
        Buffer::from(slot),
        SubAllocator::empty(),
    ) {
        Ok(written) => assert_eq!(
            (written.len(), len),
            (ARCHIVED_EVENT_BYTES, ARCHIVED_EVENT_BYTES),
            "an archived event must fill its slot exactly"
        ),
        Err(_) => panic!("archiving an event into a {len}-byte slot failed"),
    }
}

/// Zero-copy access to the event in `record`: the payload is validated with bytecheck, and
/// the record's kind, sequence and timestamp must match the archive. Allocation-free unless
/// it fails.
pub fn access_event<'a>(record: &Record<'a>) -> Result<&'a ArchivedEvent, CodecError> {
    let at = record.position;
    let kind = event_kind(record.kind).ok_or(CodecError::NotAnEvent {
        at,
        kind: record.kind,
    })?;
    let bytes = record.payload;
    if bytes.len() != ARCHIVED_EVENT_BYTES {
        return Err(CodecError::WrongLength {
            at,
            kind,
            expected: ARCHIVED_EVENT_BYTES,
            actual: bytes.len(),
        });
    }
    let archived =
        rkyv::api::low::access::<ArchivedEvent, rkyv::rancor::Error>(bytes).map_err(|e| {
            CodecError::BadArchive {
                at,
                kind,
                reason: e.to_string(),
            }
        })?;
    if archived.kind() != kind {
        return Err(CodecError::KindMismatch {
            at,
            record: kind,
            body: archived.kind(),
        });
    }
    let header = &archived.header;
    let pairs = [
        (
            "sequence",
            i128::from(record.sequence),
            i128::from(header.sequence.to_native()),
        ),
        (
            "timestamp_ns",
            i128::from(record.timestamp_ns),
            i128::from(header.receive_ts_ns.to_native()),
        ),
    ];
    for (field, record, archived) in pairs {
        if record != archived {
            return Err(CodecError::HeaderMismatch {
                at,
                field,
                record,
                archived,
            });
        }
    }
    Ok(archived)
}

/// The event in `record`, deserialised to an owned [`Event`] after [`access_event`]'s checks
/// and checked with [`Event::validate`].
pub fn decode_event(record: &Record<'_>) -> Result<Event, CodecError> {
    let archived = access_event(record)?;
    let event = rkyv::api::low::deserialize::<Event, Failure>(archived).map_err(|e| {
        CodecError::BadArchive {
            at: record.position,
            kind: archived.kind(),
            reason: e.to_string(),
        }
    })?;
    event.validate()?;
    Ok(event)
}

#[cfg(test)]
mod tests {
    use rkyv::util::AlignedVec;
    use tickrail_journal::{JournalOptions, JournalReader, Manifest};

    use super::*;
    use crate::event::sample_events;

    fn open(dir: &std::path::Path) -> JournalWriter {
        let manifest = Manifest::new("0.1.0", "cfg-hash");
        JournalWriter::open(dir, JournalOptions::default(), &manifest)
            .unwrap()
            .0
    }

    /// A copy of `payload` in an aligned buffer.
    fn aligned(payload: &[u8]) -> AlignedVec {
        let mut buf = AlignedVec::new();
        buf.extend_from_slice(payload);
        buf
    }

    /// A hand-made record of `kind` holding `payload`, with `event`'s sequence and time.
    fn record<'a>(kind: u16, event: &Event, payload: &'a [u8]) -> Record<'a> {
        Record {
            kind,
            sequence: event.header.sequence,
            timestamp_ns: event.header.receive_ts_ns,
            payload,
            position: Position {
                segment: 0,
                offset: 64,
            },
            crc: 0,
        }
    }

    fn archive(event: &Event) -> AlignedVec {
        let mut buf = aligned(&[0; ARCHIVED_EVENT_BYTES]);
        serialize_into(event, &mut buf);
        buf
    }

    #[test]
    fn journal_kinds_are_offset_codes() {
        assert_eq!(ARCHIVED_EVENT_BYTES, 96);
        for kind in EventKind::ALL {
            assert_eq!(journal_kind(kind), 0x100 + kind.code());
            assert_eq!(event_kind(journal_kind(kind)), Some(kind));
        }
        assert_eq!(event_kind(0x100), None);
        assert_eq!(event_kind(0x0f), None);
        assert_eq!(journal_kind(EventKind::Quote), 0x101);
    }

    #[test]
    fn every_kind_round_trips_through_a_journal() {
        let dir = tempfile::tempdir().unwrap();
        let samples = sample_events();
        let mut writer = open(dir.path());
        let positions: Vec<Position> = samples
            .iter()
            .map(|e| append_event(&mut writer, e).unwrap())
            .collect();
        writer.close().unwrap();

        let mut reader = JournalReader::open(dir.path()).unwrap();
        let mut seen = 0;
        while let Some(rec) = reader.next().unwrap() {
            let expected = &samples[seen];
            assert_eq!(rec.kind, journal_kind(expected.kind()));
            assert_eq!(rec.sequence, expected.header.sequence);
            assert_eq!(rec.timestamp_ns, expected.header.receive_ts_ns);
            assert_eq!(rec.payload.len(), ARCHIVED_EVENT_BYTES);
            assert_eq!(rec.position, positions[seen]);
            let archived = access_event(&rec).unwrap();
            assert_eq!(archived, expected);
            assert_eq!(archived.kind(), expected.kind());
            assert_eq!(decode_event(&rec).unwrap(), *expected);
            seen += 1;
        }
        assert_eq!(seen, samples.len());
    }

    #[test]
    fn in_memory_round_trip_matches_rkyv_high_level() {
        for event in sample_events() {
            let ours = archive(&event);
            let theirs = rkyv::to_bytes::<rkyv::rancor::Error>(&event).unwrap();
            assert_eq!(&ours[..], &theirs[..], "{event}");
            let rec = record(journal_kind(event.kind()), &event, &ours);
            assert_eq!(decode_event(&rec).unwrap(), event);
        }
    }

    #[test]
    fn rejects_wrong_kind() {
        let samples = sample_events();
        let event = samples[0];
        let bytes = archive(&event);
        let rec = record(journal_kind(EventKind::Trade), &event, &bytes);
        let err = access_event(&rec).unwrap_err();
        assert!(
            matches!(
                err,
                CodecError::KindMismatch {
                    record: EventKind::Trade,
                    body: EventKind::Quote,
                    ..
                }
            ),
            "{err}"
        );
        assert!(err.to_string().contains("offset 64"), "{err}");
        let rec = record(FIRST_USER_KIND + 0x40, &event, &bytes);
        assert!(matches!(
            access_event(&rec),
            Err(CodecError::NotAnEvent { kind: 0x140, .. })
        ));
        let rec = record(7, &event, &bytes);
        assert!(matches!(
            access_event(&rec),
            Err(CodecError::NotAnEvent { kind: 7, .. })
        ));
    }

    #[test]
    fn rejects_wrong_length_and_header_mismatch() {
        let event = sample_events()[0];
        let bytes = archive(&event);
        let kind = journal_kind(event.kind());
        let short = aligned(&bytes[..ARCHIVED_EVENT_BYTES - 8]);
        let err = access_event(&record(kind, &event, &short)).unwrap_err();
        assert!(
            matches!(
                err,
                CodecError::WrongLength {
                    actual: 88,
                    expected: 96,
                    ..
                }
            ),
            "{err}"
        );
        let mut rec = record(kind, &event, &bytes);
        rec.sequence += 1;
        let err = access_event(&rec).unwrap_err();
        assert!(
            matches!(
                err,
                CodecError::HeaderMismatch {
                    field: "sequence",
                    ..
                }
            ),
            "{err}"
        );
        let mut rec = record(kind, &event, &bytes);
        rec.timestamp_ns -= 1;
        let err = access_event(&rec).unwrap_err();
        assert!(
            matches!(
                err,
                CodecError::HeaderMismatch {
                    field: "timestamp_ns",
                    ..
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn rejects_corrupted_payload() {
        let samples = sample_events();
        let event = samples[9]; // exec report: has enum fields besides the body tag
        let kind = journal_kind(event.kind());
        let good = archive(&event);
        let tag_at = std::mem::offset_of!(ArchivedEvent, body);

        // An out-of-range body tag.
        let mut bad = aligned(&good);
        bad[tag_at] = 0xEE;
        let err = access_event(&record(kind, &event, &bad)).unwrap_err();
        assert!(matches!(err, CodecError::BadArchive { .. }), "{err}");

        // An out-of-range ExecKind right after the tag.
        let mut bad = aligned(&good);
        bad[tag_at + 1] = 0xEE;
        let err = access_event(&record(kind, &event, &bad)).unwrap_err();
        assert!(matches!(err, CodecError::BadArchive { .. }), "{err}");

        // A valid archive of another kind under this record's kind.
        let mut bad = aligned(&good);
        bad[tag_at] = 0; // Quote
        let err = access_event(&record(kind, &event, &bad)).unwrap_err();
        assert!(
            matches!(
                err,
                CodecError::KindMismatch {
                    body: EventKind::Quote,
                    ..
                }
            ),
            "{err}"
        );

        // A structurally valid archive whose price is zero: caught by decode's validation.
        let mut bad = aligned(&good);
        let price_at = ARCHIVED_EVENT_BYTES - 4 * 8; // price, qty, leaves_qty, cum_qty
        assert_eq!(&bad[price_at..price_at + 8], &10125i64.to_le_bytes());
        bad[price_at..price_at + 8].copy_from_slice(&0i64.to_le_bytes());
        let rec = record(kind, &event, &bad);
        assert!(access_event(&rec).is_ok());
        let err = decode_event(&rec).unwrap_err();
        assert!(matches!(
            err,
            CodecError::Invalid(EventError::Value { field: "price", .. })
        ));

        // Misaligned payloads are refused, not read.
        let mut buf = AlignedVec::<16>::new();
        buf.extend_from_slice(&[0; 4]);
        buf.extend_from_slice(&good);
        let err = access_event(&record(kind, &event, &buf[4..])).unwrap_err();
        assert!(matches!(err, CodecError::BadArchive { .. }), "{err}");
    }

    #[test]
    fn exec_report_liquidity_sits_in_the_old_padding_byte() {
        // Journals written before `liquidity` existed have a zero byte where it now sits
        // (the archive is built in a zeroed buffer): they decode as `Liquidity::Unknown`.
        let event = |liquidity| {
            let mut e = sample_events()
                .into_iter()
                .find(|e| e.kind() == EventKind::ExecReport)
                .unwrap();
            if let crate::event::EventBody::ExecReport { liquidity: l, .. } = &mut e.body {
                *l = liquidity;
            }
            e
        };
        let unknown = archive_event(&event(crate::Liquidity::Unknown));
        let taker = archive_event(&event(crate::Liquidity::Taker));
        let differ: Vec<usize> = (0..ARCHIVED_EVENT_BYTES)
            .filter(|&i| unknown[i] != taker[i])
            .collect();
        // Header (40 bytes), then the body: tag, exec, side, liquidity, reject_code (u16).
        assert_eq!(differ, [40 + 3]);
        assert_eq!((unknown[43], taker[43]), (0, 2));
        let payload = aligned(&unknown);
        let decoded = decode_event(&record(
            journal_kind(EventKind::ExecReport),
            &event(crate::Liquidity::Unknown),
            &payload,
        ))
        .unwrap();
        assert_eq!(decoded, event(crate::Liquidity::Unknown));
    }

    #[test]
    fn append_refuses_invalid_events() {
        let dir = tempfile::tempdir().unwrap();
        let mut writer = open(dir.path());
        let mut event = sample_events()[0];
        event.header.price_scale = 19;
        let before = writer.stats().records;
        assert!(matches!(
            append_event(&mut writer, &event),
            Err(CodecError::Invalid(_))
        ));
        assert_eq!(writer.stats().records, before);
    }
}
