//! The end-to-end client run under Wine: talks to the echo and null-device drivers the way their
//! Windows clients do, one line per check, then `N passed, M failed`.
//!
//! `wine-client echo` or `wine-client null-device`. The exit code is the number of failures.
//!
//! Like the samples' clients (`samples/<name>/client/`), it is `no_std` with its own entry
//! point (`client-support`), because a Rust std program does not start under Wine 8.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use client_support::{Device, println};

const ERROR_INSUFFICIENT_BUFFER: u32 = 122;
const ERROR_INVALID_FUNCTION: u32 = 1;
const IOCTL_ECHO: u32 = 0x8000_2000;

struct Checks {
    passed: u32,
    failed: u32,
}

impl Checks {
    fn check(&mut self, ok: bool, what: core::fmt::Arguments<'_>) {
        if ok {
            self.passed += 1;
        } else {
            self.failed += 1;
        }
        println!("{} - {}", if ok { "PASS" } else { "FAIL" }, what);
    }
}

fn echo(checks: &mut Checks) {
    let Ok(device) = Device::open(r"\\.\WdkSafeEcho") else {
        checks.check(false, format_args!("open \\\\.\\WdkSafeEcho"));
        return;
    };
    checks.check(true, format_args!("open \\\\.\\WdkSafeEcho"));
    for value in [0u32, 1, 0xDEAD_BEEF, u32::MAX] {
        let mut out = [0u8; 4];
        let returned = device.control(IOCTL_ECHO, &value.to_le_bytes(), &mut out).unwrap_or(0);
        let got = u32::from_le_bytes(out);
        checks.check(returned == 4 && got == value, format_args!("IOCTL_ECHO {value:#010X} -> {got:#010X}, {returned} bytes"));
    }
    let mut short = [0u8; 3];
    let error = device.control(IOCTL_ECHO, &7u32.to_le_bytes(), &mut short).err().unwrap_or(0);
    checks.check(error == ERROR_INSUFFICIENT_BUFFER, format_args!("short output buffer fails with error {error} (STATUS_BUFFER_TOO_SMALL)"));
    let mut out = [0u8; 4];
    let error = device.control(IOCTL_ECHO + 4, &7u32.to_le_bytes(), &mut out).err().unwrap_or(0);
    checks.check(error == ERROR_INVALID_FUNCTION, format_args!("unknown IOCTL fails with error {error} (STATUS_INVALID_DEVICE_REQUEST)"));
    let written = device.write(b"hello, wine").ok();
    let mut back = [0u8; 32];
    let count = device.read(&mut back).ok();
    let same = count == Some(11) && back.get(..11) == Some(&b"hello, wine"[..]);
    checks.check(written == Some(11) && same, format_args!("write then read returns the bytes ({written:?} written, {count:?} read)"));
    checks.check(device.close(), format_args!("close"));
}

fn null_device(checks: &mut Checks) {
    let Ok(device) = Device::open(r"\\.\WdkSafeNull") else {
        checks.check(false, format_args!("open \\\\.\\WdkSafeNull"));
        return;
    };
    checks.check(true, format_args!("open \\\\.\\WdkSafeNull"));
    let written = device.write(b"hello").ok();
    checks.check(written == Some(5), format_args!("write reports all 5 bytes ({written:?})"));
    let mut buffer = [0xAAu8; 16];
    let count = device.read(&mut buffer).ok();
    checks.check(count == Some(0), format_args!("read returns zero bytes ({count:?})"));
    checks.check(device.close(), format_args!("close"));
}

fn main() -> u32 {
    let mut checks = Checks { passed: 0, failed: 0 };
    let mut buffer = [0u8; 64];
    match client_support::first_argument(&mut buffer) {
        Some("echo") => echo(&mut checks),
        Some("null-device") => null_device(&mut checks),
        other => checks.check(false, format_args!("unknown sample {other:?}")),
    }
    println!("{} passed, {} failed", checks.passed, checks.failed);
    checks.failed
}

client_support::main!(main);
