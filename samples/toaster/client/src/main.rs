//! The toaster sample's Windows client: finds the toaster through its interface
//! (`GUID_DEVINTERFACE_TOASTER`), reads and writes (each succeeds with its length, as a
//! toaster has no data), and asks the driver for its state (`IOCTL_TOASTER_GET_STATE`). It
//! prints what `run-sample toaster` prints for the client (less the system sleep, which a
//! console program cannot ask for) and exits with 0 on PASS, 1 on FAIL.
//!
//! `toaster-client.exe`, with a toaster installed (the toaster bus sample's `enum -p 1`, or
//! `devcon install toaster_kmdf.inf {b85b7c50-6a01-11d2-b841-00c04fad5171}\MsToaster`).
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use client_support::windows_sys::core::GUID;
use client_support::{Device, println};

/// `GUID_DEVINTERFACE_TOASTER` (`toaster::GUID_DEVINTERFACE_TOASTER`; the driver crate is not a
/// dependency of a user-mode program).
const GUID_DEVINTERFACE_TOASTER: GUID = GUID::from_u128(0x781EF630_72B2_11D2_B852_00C04FAD5171);
/// `IOCTL_TOASTER_GET_STATE`: `CTL_CODE(FILE_DEVICE_UNKNOWN, 0x800, METHOD_BUFFERED,
/// FILE_READ_ACCESS)`.
const IOCTL_TOASTER_GET_STATE: u32 = (0x22 << 16) | (1 << 14) | (0x800 << 2);

fn check(failures: &mut u32, ok: bool, what: &str) {
    println!("{} - {what}", if ok { "PASS" } else { "FAIL" });
    if !ok {
        *failures += 1;
    }
}

/// The `u32` at `index` of the state (seven little-endian `u32`s).
fn field(state: &[u8; 28], index: usize) -> u32 {
    let mut bytes = [0u8; 4];
    if let Some(slice) = state.get(index * 4..index * 4 + 4) {
        bytes.copy_from_slice(slice);
    }
    u32::from_le_bytes(bytes)
}

fn main() -> u32 {
    let mut failures = 0;
    println!("=== toaster (Windows client) ===");
    println!("Device        : interface {{781EF630-72B2-11D2-B852-00C04FAD5171}} (GUID_DEVINTERFACE_TOASTER)");
    let device = match Device::open_interface(&GUID_DEVINTERFACE_TOASTER) {
        Ok(device) => device,
        Err(error) => {
            check(&mut failures, false, "open");
            println!("Open          : failed, error {error}");
            println!("\r\nFAIL");
            return 1;
        }
    };
    println!("Open          : OK");
    let mut buffer = [0u8; 16];
    let read = device.read(&mut buffer);
    let written = device.write(b"two slices");
    println!(
        "Read, write   : {} and {} bytes",
        read.unwrap_or(0),
        written.unwrap_or(0)
    );
    check(
        &mut failures,
        read == Ok(16) && written == Ok(10),
        "a read and a write succeed with their length",
    );
    let mut state = [0u8; 28];
    let got = device.control(IOCTL_TOASTER_GET_STATE, &[], &mut state);
    println!(
        "State         : hardware {}, {}, {} D0 entries, {} transfers, {} open handle(s), DebugLevel {}",
        if field(&state, 0) == 1 { "held" } else { "released" },
        if field(&state, 1) == 1 { "D0" } else { "Dx" },
        field(&state, 2),
        field(&state, 3),
        field(&state, 5),
        field(&state, 4)
    );
    check(
        &mut failures,
        got == Ok(28) && field(&state, 0) == 1 && field(&state, 1) == 1,
        "the driver holds the hardware and the device is in D0",
    );
    check(&mut failures, device.close(), "close");
    println!("\r\n{}", if failures == 0 { "PASS" } else { "FAIL" });
    u32::from(failures != 0)
}

client_support::main!(main);
