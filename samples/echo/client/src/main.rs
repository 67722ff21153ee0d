//! The echo sample's Windows client: opens `\\.\WdkSafeEcho`, sends `IOCTL_ECHO` with a value (the
//! first argument, decimal or 0x-hex; default 0xDEADBEEF), then writes and reads back a message.
//! It prints what `run-sample echo` prints for the client and exits with 0 on PASS, 1 on FAIL.
//!
//! `echo-client.exe [VALUE]`, with the driver loaded.
#![no_std]
#![no_main]

use client_support::println;
use client_support::windows_sys::Win32::Foundation::{
    CloseHandle, GENERIC_READ, GENERIC_WRITE, GetLastError, HANDLE, INVALID_HANDLE_VALUE,
};
use client_support::windows_sys::Win32::Storage::FileSystem::{
    CreateFileW, OPEN_EXISTING, ReadFile, WriteFile,
};
use client_support::windows_sys::Win32::System::IO::DeviceIoControl;

/// `\\.\WdkSafeEcho` (`echo::USER_PATH`; the driver crate is not a dependency of a user-mode
/// program).
const USER_PATH: &str = r"\\.\WdkSafeEcho";
/// `CTL_CODE(0x8000, 0x800, METHOD_BUFFERED, FILE_ANY_ACCESS)` (`echo::IOCTL_ECHO`).
const IOCTL_ECHO: u32 = 0x8000_2000;

fn open() -> Option<HANDLE> {
    let mut wide = [0u16; 32];
    for (slot, unit) in wide.iter_mut().zip(USER_PATH.encode_utf16()) {
        *slot = unit;
    }
    // SAFETY: `wide` is NUL-terminated (longer than the path) and outlives the call.
    let handle = unsafe {
        CreateFileW(wide.as_ptr(), GENERIC_READ | GENERIC_WRITE, 0, core::ptr::null(), OPEN_EXISTING, 0, core::ptr::null_mut())
    };
    (handle != INVALID_HANDLE_VALUE).then_some(handle)
}

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

#[unsafe(no_mangle)]
extern "C" fn mainCRTStartup() -> ! {
    let mut argument = [0u8; 64];
    let value = client_support::first_argument(&mut argument).and_then(parse).unwrap_or(0xDEAD_BEEF);
    let mut failures = 0;
    println!("=== echo (Windows client) ===");
    println!("Device        : {USER_PATH}");
    println!("IOCTL         : {IOCTL_ECHO:#010X}");
    println!("Send          : {value:#010X} ({value})");
    let Some(device) = open() else {
        // SAFETY: no preconditions.
        let error = unsafe { GetLastError() };
        check(&mut failures, false, "open");
        println!("Open          : failed, error {error}");
        println!("\r\nFAIL");
        client_support::exit(1)
    };
    println!("Open          : OK");
    let input = value.to_le_bytes();
    let mut output = [0u8; 4];
    let mut returned = 0u32;
    // SAFETY: both buffers are valid for 4 bytes during the call.
    let ok = unsafe {
        DeviceIoControl(device, IOCTL_ECHO, input.as_ptr().cast(), 4, output.as_mut_ptr().cast(), 4, &mut returned, core::ptr::null_mut())
    } != 0;
    let received = u32::from_le_bytes(output);
    if ok {
        println!("Received      : {received:#010X} ({received})");
    } else {
        // SAFETY: no preconditions.
        println!("Received      : nothing (error {})", unsafe { GetLastError() });
    }
    println!("Bytes returned: {returned}");
    check(&mut failures, ok && received == value && returned == 4, "echo correct");
    let message = b"hello, echo";
    let mut written = 0u32;
    // SAFETY: the buffer is valid during the call.
    let wrote = unsafe { WriteFile(device, message.as_ptr(), 11, &mut written, core::ptr::null_mut()) } != 0;
    let mut back = [0u8; 64];
    let mut read = 0u32;
    // SAFETY: the buffer is valid during the call.
    let got = unsafe { ReadFile(device, back.as_mut_ptr(), 64, &mut read, core::ptr::null_mut()) } != 0;
    let data = back.get(..read as usize).unwrap_or(&[]);
    println!("Write/read    : wrote {written} bytes, read back {:?}", core::str::from_utf8(data).unwrap_or("?"));
    check(&mut failures, wrote && got && data == message, "write-then-read echoes the bytes");
    // SAFETY: `device` is open and closed once.
    check(&mut failures, unsafe { CloseHandle(device) } != 0, "close");
    println!("\r\n{}", if failures == 0 { "PASS" } else { "FAIL" });
    client_support::exit(u32::from(failures != 0))
}
