//! The KMDF echo sample's Windows client, as Microsoft's echoapp: finds the device through its
//! interface (`GUID_DEVINTERFACE_ECHO`), writes a 512-byte pattern, reads it back and compares.
//! Each request waits for the driver's timer, so both take about a timer period. It prints what
//! `run-sample kmdf-echo` prints for the client (less the cancellation, which needs overlapped
//! I/O) and exits with 0 on PASS, 1 on FAIL.
//!
//! `kmdf-echo-client.exe`, with the device installed (`devcon install kmdf_echo.inf root\ECHO`).
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use client_support::windows_sys::core::GUID;
use client_support::{Device, println};

/// `GUID_DEVINTERFACE_ECHO` (`kmdf_echo::GUID_DEVINTERFACE_ECHO`; the driver crate is not a
/// dependency of a user-mode program).
const GUID_DEVINTERFACE_ECHO: GUID = GUID::from_u128(0xCDC35B6E_0BE4_4936_BF5F_5537380A7C1A);
/// The length of the pattern.
const LENGTH: usize = 512;

fn check(failures: &mut u32, ok: bool, what: &str) {
    println!("{} - {what}", if ok { "PASS" } else { "FAIL" });
    if !ok {
        *failures += 1;
    }
}

fn main() -> u32 {
    let mut failures = 0;
    println!("=== kmdf-echo (Windows client) ===");
    println!("Device        : interface {{CDC35B6E-0BE4-4936-BF5F-5537380A7C1A}} (GUID_DEVINTERFACE_ECHO)");
    let device = match Device::open_interface(&GUID_DEVINTERFACE_ECHO) {
        Ok(device) => device,
        Err(error) => {
            check(&mut failures, false, "open");
            println!("Open          : failed, error {error}");
            println!("\r\nFAIL");
            return 1;
        }
    };
    println!("Open          : OK");
    let mut pattern = [0u8; LENGTH];
    for (byte, value) in pattern.iter_mut().zip((0u8..=255).cycle()) {
        *byte = value;
    }
    let written = device.write(&pattern);
    println!("Write         : {} bytes (completed by the timer)", written.unwrap_or(0));
    let mut back = [0u8; LENGTH];
    let read = device.read(&mut back);
    println!("Read          : {} bytes", read.unwrap_or(0));
    check(
        &mut failures,
        written == Ok(LENGTH as u32) && read == Ok(LENGTH as u32) && back == pattern,
        "pattern written and read back",
    );
    check(&mut failures, device.close(), "close");
    println!("\r\n{}", if failures == 0 { "PASS" } else { "FAIL" });
    u32::from(failures != 0)
}

client_support::main!(main);
