//! IOCTL codes and buffers as a driver decodes them: any 32-bit code splits into fields that
//! rebuild it, names that print, and typed buffers that read and write only within the bytes
//! given, whatever their length.
#![no_main]

use wdm_compat::ioctl::{IoBuffer, IoControlCode};

#[derive(Clone, Copy, Debug, PartialEq)]
#[repr(C)]
struct Message {
    id: u32,
    flags: u16,
    kind: u8,
    tag: u8,
    payload: [u8; 8],
}
wdm_compat::io_buffer_struct!(Message {
    id: u32,
    flags: u16,
    kind: u8,
    tag: u8,
    payload: [u8; 8]
});

fn round_trip<T: IoBuffer + PartialEq + core::fmt::Debug>(bytes: &[u8]) {
    match T::read_from(bytes) {
        Some(value) => {
            assert!(bytes.len() >= T::SIZE);
            let mut out = vec![0xA5; bytes.len()];
            assert_eq!(value.write_to(&mut out), Some(T::SIZE));
            assert_eq!(out.get(..T::SIZE), bytes.get(..T::SIZE));
            assert!(
                out.get(T::SIZE..)
                    .is_none_or(|rest| rest.iter().all(|&b| b == 0xA5))
            );
            assert_eq!(T::read_from(&out), Some(value));
        }
        None => assert!(bytes.len() < T::SIZE),
    }
    let mut short = vec![0; bytes.len().min(T::SIZE.saturating_sub(1))];
    if T::SIZE > 0 {
        if let Some(value) = T::read_from(bytes) {
            assert_eq!(value.write_to(&mut short), None);
        }
    }
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let raw = data
        .get(..4)
        .map_or(0, |b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]));
    let code = IoControlCode::from_raw(raw);
    let rebuilt = IoControlCode::try_new(
        code.device_type(),
        code.function(),
        code.method(),
        code.access(),
    );
    assert_eq!(rebuilt.map(IoControlCode::to_raw), Some(raw));
    let _ = format!("{code} {code:?} {}", code.method().name());
    let bytes = data.get(4..).unwrap_or_default();
    round_trip::<u8>(bytes);
    round_trip::<u32>(bytes);
    round_trip::<u64>(bytes);
    round_trip::<[u8; 16]>(bytes);
    round_trip::<Message>(bytes);
});
