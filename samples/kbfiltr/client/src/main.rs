//! The kbfiltr sample's Windows client: opens the filter's sideband device (`\\.\KbFiltr`,
//! which needs an elevated prompt: the device admits SYSTEM and administrators only), asks it
//! what the filter saw (`IOCTL_KBFILTR_GET_KEYSTROKES`), and prints it. Type a few keys, run it
//! again, and the counts have grown. It prints what `run-sample kbfiltr` prints for the client
//! and exits with 0 on PASS, 1 on FAIL.
//!
//! `kbfiltr-client.exe`, with the filter installed on a PS/2 keyboard (`kbfiltr_kmdf.inf`).
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use client_support::{Device, println};

/// `IOCTL_KBFILTR_GET_KEYSTROKES` (`kbfiltr::IOCTL_KBFILTR_GET_KEYSTROKES`; the driver crate is
/// not a dependency of a user-mode program): `CTL_CODE(FILE_DEVICE_KEYBOARD, 0x801,
/// METHOD_BUFFERED, FILE_READ_ACCESS)`.
const IOCTL_KBFILTR_GET_KEYSTROKES: u32 = (0x0B << 16) | (1 << 14) | (0x801 << 2);
/// The size of the report: five little-endian `u32`s.
const REPORT_SIZE: usize = 20;
/// The C sample's `IOCTL_KBFILTR_GET_KEYBOARD_ATTRIBUTES`: `CTL_CODE(FILE_DEVICE_KEYBOARD,
/// 0x800, METHOD_BUFFERED, FILE_READ_ACCESS)`, a `KEYBOARD_ATTRIBUTES` (28 bytes).
const IOCTL_KBFILTR_GET_KEYBOARD_ATTRIBUTES: u32 = (0x0B << 16) | (1 << 14) | (0x800 << 2);

fn check(failures: &mut u32, ok: bool, what: &str) {
    println!("{} - {what}", if ok { "PASS" } else { "FAIL" });
    if !ok {
        *failures += 1;
    }
}

/// The `u32` at `index` of the report.
fn field(report: &[u8; REPORT_SIZE], index: usize) -> u32 {
    let mut bytes = [0u8; 4];
    if let Some(slice) = report.get(index * 4..index * 4 + 4) {
        bytes.copy_from_slice(slice);
    }
    u32::from_le_bytes(bytes)
}

fn main() -> u32 {
    let mut failures = 0;
    println!("=== kbfiltr (Windows client) ===");
    println!("Device        : \\\\.\\KbFiltr (the filter's sideband device)");
    let device = match Device::open(r"\\.\KbFiltr") {
        Ok(device) => device,
        Err(error) => {
            check(&mut failures, false, "open (elevated, with the filter on a keyboard)");
            println!("Open          : failed, error {error}");
            println!("\r\nFAIL");
            return 1;
        }
    };
    println!("Open          : OK");
    let mut report = [0u8; REPORT_SIZE];
    let got = device.control(IOCTL_KBFILTR_GET_KEYSTROKES, &[], &mut report);
    println!(
        "Seen          : {} keyboard(s), {} presses, {} releases, last scan code {:#04x}{}",
        field(&report, 0),
        field(&report, 1),
        field(&report, 2),
        field(&report, 3),
        if field(&report, 4) & 1 != 0 { " (released)" } else { "" }
    );
    check(
        &mut failures,
        got == Ok(REPORT_SIZE as u32) && field(&report, 0) >= 1,
        "the filter reports the keyboards it sits on",
    );
    let mut attributes = [0u8; 28];
    let got = device.control(IOCTL_KBFILTR_GET_KEYBOARD_ATTRIBUTES, &[], &mut attributes);
    let byte = |i: usize| attributes.get(i).copied().unwrap_or(0);
    println!(
        "Keyboard      : type {}, {} function keys, {} indicators, {} keys",
        byte(0),
        byte(4),
        byte(6),
        byte(8)
    );
    check(&mut failures, got == Ok(28), "the filter kept the keyboard's attributes");
    check(&mut failures, device.close(), "close");
    println!("\r\n{}", if failures == 0 { "PASS" } else { "FAIL" });
    u32::from(failures != 0)
}

client_support::main!(main);
