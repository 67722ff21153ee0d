//! The null-device sample's Windows client: opens `\\.\WdkSafeNull`, writes, reads and closes. It
//! prints what `run-sample null-device` prints for the client and exits with 0 on PASS, 1 on FAIL.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use client_support::{Device, println};

/// `\\.\WdkSafeNull` (`null_device::USER_PATH`).
const USER_PATH: &str = r"\\.\WdkSafeNull";

fn check(failures: &mut u32, ok: bool, what: &str) {
    println!("{} - {what}", if ok { "PASS" } else { "FAIL" });
    if !ok {
        *failures += 1;
    }
}

fn main() -> u32 {
    let mut failures = 0;
    println!("=== null-device (Windows client) ===");
    println!("Device        : {USER_PATH}");
    let device = match Device::open(USER_PATH) {
        Ok(device) => device,
        Err(error) => {
            println!("Open          : failed, error {error}");
            println!("\r\nFAIL");
            return 1;
        }
    };
    println!("Open          : OK");
    let written = device.write(b"hello");
    println!("Write         : {} , {} bytes written", if written.is_ok() { "OK" } else { "failed" }, written.unwrap_or(0));
    check(&mut failures, written == Ok(5), "write discards and reports all bytes");
    let mut buffer = [0u8; 16];
    let read = device.read(&mut buffer);
    println!("Read          : {} , {} bytes read", if read.is_ok() { "OK" } else { "failed" }, read.unwrap_or(0));
    check(&mut failures, read == Ok(0), "read returns zero bytes");
    check(&mut failures, device.close(), "close");
    println!("\r\n{}", if failures == 0 { "PASS" } else { "FAIL" });
    u32::from(failures != 0)
}

client_support::main!(main);
