//! The end-to-end client run under Wine: talks to the echo and null-device drivers the way their
//! Windows clients do, one line per check, then `N passed, M failed`.
//!
//! `wine-client echo` or `wine-client null-device`. The exit code is the number of failures.
//!
//! Like the samples' clients (`samples/<name>/client/`), it is `no_std` with its own entry
//! point (`client-support`), because a Rust std program does not start under Wine 8.
#![no_std]
#![no_main]

use client_support::println;
use client_support::windows_sys::Win32::Foundation::{
    CloseHandle, GENERIC_READ, GENERIC_WRITE, GetLastError, HANDLE as Handle, INVALID_HANDLE_VALUE,
};
use client_support::windows_sys::Win32::Storage::FileSystem::{
    CreateFileW, OPEN_EXISTING, ReadFile, WriteFile,
};
use client_support::windows_sys::Win32::System::IO::DeviceIoControl;

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

fn open(path: &str) -> Option<Handle> {
    let mut wide = [0u16; 64];
    for (slot, unit) in wide.iter_mut().zip(path.encode_utf16()) {
        *slot = unit;
    }
    // SAFETY: `wide` is NUL-terminated (the array is longer than the path).
    let handle = unsafe {
        CreateFileW(wide.as_ptr(), GENERIC_READ | GENERIC_WRITE, 0, core::ptr::null(), OPEN_EXISTING, 0, core::ptr::null_mut())
    };
    (handle != INVALID_HANDLE_VALUE).then_some(handle)
}

/// `DeviceIoControl`: (succeeded, bytes returned, last error).
fn ioctl(device: Handle, code: u32, input: &[u8], output: &mut [u8]) -> (bool, u32, u32) {
    let mut returned = 0;
    // SAFETY: both buffers are valid for their lengths during the call.
    let ok = unsafe {
        DeviceIoControl(device, code, input.as_ptr().cast(), input.len() as u32, output.as_mut_ptr().cast(), output.len() as u32, &mut returned, core::ptr::null_mut())
    } != 0;
    // SAFETY: no preconditions.
    let error = if ok { 0 } else { unsafe { GetLastError() } };
    (ok, returned, error)
}

fn write(device: Handle, data: &[u8]) -> Option<u32> {
    let mut written = 0;
    // SAFETY: the buffer is valid during the call.
    let ok = unsafe { WriteFile(device, data.as_ptr(), data.len() as u32, &mut written, core::ptr::null_mut()) } != 0;
    ok.then_some(written)
}

fn read(device: Handle, buffer: &mut [u8]) -> Option<u32> {
    let mut count = 0;
    // SAFETY: the buffer is valid during the call.
    let ok = unsafe { ReadFile(device, buffer.as_mut_ptr(), buffer.len() as u32, &mut count, core::ptr::null_mut()) } != 0;
    ok.then_some(count)
}

fn echo(checks: &mut Checks) {
    let Some(device) = open(r"\\.\WdkSafeEcho") else {
        checks.check(false, format_args!("open \\\\.\\WdkSafeEcho"));
        return;
    };
    checks.check(true, format_args!("open \\\\.\\WdkSafeEcho"));
    for value in [0u32, 1, 0xDEAD_BEEF, u32::MAX] {
        let mut out = [0u8; 4];
        let (ok, returned, _) = ioctl(device, IOCTL_ECHO, &value.to_le_bytes(), &mut out);
        let got = u32::from_le_bytes(out);
        checks.check(ok && returned == 4 && got == value, format_args!("IOCTL_ECHO {value:#010X} -> {got:#010X}, {returned} bytes"));
    }
    let mut short = [0u8; 3];
    let (ok, _, error) = ioctl(device, IOCTL_ECHO, &7u32.to_le_bytes(), &mut short);
    checks.check(!ok && error == ERROR_INSUFFICIENT_BUFFER, format_args!("short output buffer fails with error {error} (STATUS_BUFFER_TOO_SMALL)"));
    let mut out = [0u8; 4];
    let (ok, _, error) = ioctl(device, IOCTL_ECHO + 4, &7u32.to_le_bytes(), &mut out);
    checks.check(!ok && error == ERROR_INVALID_FUNCTION, format_args!("unknown IOCTL fails with error {error} (STATUS_INVALID_DEVICE_REQUEST)"));
    let written = write(device, b"hello, wine");
    let mut back = [0u8; 32];
    let count = read(device, &mut back);
    let same = count == Some(11) && back.get(..11) == Some(&b"hello, wine"[..]);
    checks.check(written == Some(11) && same, format_args!("write then read returns the bytes ({written:?} written, {count:?} read)"));
    // SAFETY: `device` is an open handle, closed once.
    let closed = unsafe { CloseHandle(device) } != 0;
    checks.check(closed, format_args!("close"));
}

fn null_device(checks: &mut Checks) {
    let Some(device) = open(r"\\.\WdkSafeNull") else {
        checks.check(false, format_args!("open \\\\.\\WdkSafeNull"));
        return;
    };
    checks.check(true, format_args!("open \\\\.\\WdkSafeNull"));
    let written = write(device, b"hello");
    checks.check(written == Some(5), format_args!("write reports all 5 bytes ({written:?})"));
    let mut buffer = [0xAAu8; 16];
    let count = read(device, &mut buffer);
    checks.check(count == Some(0), format_args!("read returns zero bytes ({count:?})"));
    // SAFETY: `device` is an open handle, closed once.
    let closed = unsafe { CloseHandle(device) } != 0;
    checks.check(closed, format_args!("close"));
}

#[unsafe(no_mangle)]
pub extern "C" fn mainCRTStartup() -> ! {
    let mut checks = Checks { passed: 0, failed: 0 };
    let mut buffer = [0u8; 64];
    match client_support::first_argument(&mut buffer) {
        Some("echo") => echo(&mut checks),
        Some("null-device") => null_device(&mut checks),
        other => checks.check(false, format_args!("unknown sample {other:?}")),
    }
    println!("{} passed, {} failed", checks.passed, checks.failed);
    client_support::exit(checks.failed)
}
