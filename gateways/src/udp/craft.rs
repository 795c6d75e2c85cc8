//! Hand-made ITCH 5.0 messages for tests, tools and benchmarks (packets of them are built
//! with [`PacketBuilder`](super::PacketBuilder) or [`encode`](super::moldudp64::encode)).

/// Writes the common header: type, stock locate, tracking number 0, 6-byte timestamp.
fn header(out: &mut [u8], ty: u8, locate: u16, ts_ns: u64) {
    out[0] = ty;
    out[1..3].copy_from_slice(&locate.to_be_bytes());
    out[3..5].copy_from_slice(&0u16.to_be_bytes());
    out[5..11].copy_from_slice(&ts_ns.to_be_bytes()[2..]);
}

/// `A` Add Order: `side` `b'B'`/`b'S'`, `stock` right-padded to 8 bytes, `price` in ITCH
/// units (4 decimals). The timestamp keeps its low 48 bits.
pub fn add_order(
    locate: u16,
    ts_ns: u64,
    order_ref: u64,
    side: u8,
    shares: u32,
    stock: &str,
    price: u32,
) -> [u8; 36] {
    let mut m = [0u8; 36];
    header(&mut m, b'A', locate, ts_ns);
    m[11..19].copy_from_slice(&order_ref.to_be_bytes());
    m[19] = side;
    m[20..24].copy_from_slice(&shares.to_be_bytes());
    let mut s = [b' '; 8];
    for (d, b) in s.iter_mut().zip(stock.bytes()) {
        *d = b;
    }
    m[24..32].copy_from_slice(&s);
    m[32..36].copy_from_slice(&price.to_be_bytes());
    m
}

/// `D` Order Delete.
pub fn order_delete(locate: u16, ts_ns: u64, order_ref: u64) -> [u8; 19] {
    let mut m = [0u8; 19];
    header(&mut m, b'D', locate, ts_ns);
    m[11..19].copy_from_slice(&order_ref.to_be_bytes());
    m
}

/// `S` System Event (`code`: `O` start of messages … `C` end of messages).
pub fn system_event(ts_ns: u64, code: u8) -> [u8; 12] {
    let mut m = [0u8; 12];
    header(&mut m, b'S', 0, ts_ns);
    m[11] = code;
    m
}
