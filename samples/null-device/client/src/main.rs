//! The null-device sample's Windows client: opens `\\.\WdkSafeNull`, writes, reads and closes. It
//! prints what `run-sample null-device` prints for the client and exits with 0 on PASS, 1 on FAIL.
#![no_std]
#![no_main]

use client_support::println;
use client_support::windows_sys::Win32::Foundation::{
    CloseHandle, GENERIC_READ, GENERIC_WRITE, GetLastError, INVALID_HANDLE_VALUE,
};
use client_support::windows_sys::Win32::Storage::FileSystem::{
    CreateFileW, OPEN_EXISTING, ReadFile, WriteFile,
};

/// `\\.\WdkSafeNull` (`null_device::USER_PATH`).
const USER_PATH: &str = r"\\.\WdkSafeNull";

fn check(failures: &mut u32, ok: bool, what: &str) {
    println!("{} - {what}", if ok { "PASS" } else { "FAIL" });
    if !ok {
        *failures += 1;
    }
}

#[unsafe(no_mangle)]
extern "C" fn mainCRTStartup() -> ! {
    let mut failures = 0;
    println!("=== null-device (Windows client) ===");
    println!("Device        : {USER_PATH}");
    let mut wide = [0u16; 32];
    for (slot, unit) in wide.iter_mut().zip(USER_PATH.encode_utf16()) {
        *slot = unit;
    }
    // SAFETY: `wide` is NUL-terminated and outlives the call.
    let device = unsafe {
        CreateFileW(wide.as_ptr(), GENERIC_READ | GENERIC_WRITE, 0, core::ptr::null(), OPEN_EXISTING, 0, core::ptr::null_mut())
    };
    if device == INVALID_HANDLE_VALUE {
        // SAFETY: no preconditions.
        println!("Open          : failed, error {}", unsafe { GetLastError() });
        println!("\r\nFAIL");
        client_support::exit(1)
    }
    println!("Open          : OK");
    let mut written = 0u32;
    // SAFETY: the buffer is valid during the call.
    let wrote = unsafe { WriteFile(device, b"hello".as_ptr(), 5, &mut written, core::ptr::null_mut()) } != 0;
    println!("Write         : {} , {written} bytes written", if wrote { "OK" } else { "failed" });
    check(&mut failures, wrote && written == 5, "write discards and reports all bytes");
    let mut buffer = [0u8; 16];
    let mut read = 0u32;
    // SAFETY: the buffer is valid during the call.
    let got = unsafe { ReadFile(device, buffer.as_mut_ptr(), 16, &mut read, core::ptr::null_mut()) } != 0;
    println!("Read          : {} , {read} bytes read", if got { "OK" } else { "failed" });
    check(&mut failures, got && read == 0, "read returns zero bytes");
    // SAFETY: `device` is open and closed once.
    check(&mut failures, unsafe { CloseHandle(device) } != 0, "close");
    println!("\r\n{}", if failures == 0 { "PASS" } else { "FAIL" });
    client_support::exit(u32::from(failures != 0))
}
