//! The echo sample's Windows client: opens `\\.\WdkSafeEcho`, sends `IOCTL_ECHO` with a value (the
//! first argument, decimal or 0x-hex; default 0xDEADBEEF), then writes and reads back a message.
//! It prints what `run-sample echo` prints for the client and exits with 0 on PASS, 1 on FAIL.
//!
//! `echo-client.exe [VALUE]`, with the driver loaded.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use client_support::{Device, println};

/// `\\.\WdkSafeEcho` (`echo::USER_PATH`; the driver crate is not a dependency of a user-mode
/// program).
const USER_PATH: &str = r"\\.\WdkSafeEcho";
/// `CTL_CODE(0x8000, 0x800, METHOD_BUFFERED, FILE_ANY_ACCESS)` (`echo::IOCTL_ECHO`).
const IOCTL_ECHO: u32 = 0x8000_2000;

fn parse(text: &str) -> Option<u32> {
    match text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        Some(hex) => u32::from_str_radix(hex, 16).ok(),
        None => text.parse().ok(),
    }
}

fn check(failures: &mut u32, ok: bool, what: &str) {
    println!("{} - {what}", if ok { "PASS" } else { "FAIL" });
    if !ok {
        *failures += 1;
    }
}

fn main() -> u32 {
    let mut argument = [0u8; 64];
    let value = client_support::first_argument(&mut argument).and_then(parse).unwrap_or(0xDEAD_BEEF);
    let mut failures = 0;
    println!("=== echo (Windows client) ===");
    println!("Device        : {USER_PATH}");
    println!("IOCTL         : {IOCTL_ECHO:#010X}");
    println!("Send          : {value:#010X} ({value})");
    let device = match Device::open(USER_PATH) {
        Ok(device) => device,
        Err(error) => {
            check(&mut failures, false, "open");
            println!("Open          : failed, error {error}");
            println!("\r\nFAIL");
            return 1;
        }
    };
    println!("Open          : OK");
    let mut output = [0u8; 4];
    let answer = device.control(IOCTL_ECHO, &value.to_le_bytes(), &mut output);
    let received = u32::from_le_bytes(output);
    match answer {
        Ok(_) => println!("Received      : {received:#010X} ({received})"),
        Err(error) => println!("Received      : nothing (error {error})"),
    }
    let returned = answer.unwrap_or(0);
    println!("Bytes returned: {returned}");
    check(&mut failures, answer.is_ok() && received == value && returned == 4, "echo correct");
    let message = b"hello, echo";
    let written = device.write(message);
    let mut back = [0u8; 64];
    let read = device.read(&mut back);
    let data = back.get(..read.unwrap_or(0) as usize).unwrap_or(&[]);
    println!(
        "Write/read    : wrote {} bytes, read back {:?}",
        written.unwrap_or(0),
        core::str::from_utf8(data).unwrap_or("?")
    );
    check(&mut failures, written.is_ok() && read.is_ok() && data == message, "write-then-read echoes the bytes");
    check(&mut failures, device.close(), "close");
    println!("\r\n{}", if failures == 0 { "PASS" } else { "FAIL" });
    u32::from(failures != 0)
}

client_support::main!(main);
