//! The end-to-end client run under Wine: talks to the echo and null-device drivers the way their
//! Windows clients do, one line per check, then `N passed, M failed`.
//!
//! `wine-client echo` or `wine-client null-device`. The exit code is the number of failures.
//!
//! It is `no_std` with its own entry point and talks to kernel32 directly, because a Rust std
//! program does not start under Wine 8. This is test tooling, not driver code: it is the one
//! place in the project, besides the seams, that calls the OS through `unsafe`.
#![no_std]
#![no_main]

use core::ffi::c_void;
use core::fmt::Write;

type Handle = *mut c_void;

const GENERIC_READ: u32 = 0x8000_0000;
const GENERIC_WRITE: u32 = 0x4000_0000;
const OPEN_EXISTING: u32 = 3;
const INVALID_HANDLE_VALUE: Handle = usize::MAX as Handle;
const STD_OUTPUT_HANDLE: u32 = -11i32 as u32;
const ERROR_INSUFFICIENT_BUFFER: u32 = 122;
const ERROR_INVALID_FUNCTION: u32 = 1;
const IOCTL_ECHO: u32 = 0x8000_2000;

#[link(name = "kernel32.dll", kind = "raw-dylib", modifiers = "+verbatim")]
unsafe extern "system" {
    fn CreateFileW(name: *const u16, access: u32, share: u32, security: *mut c_void, disposition: u32, flags: u32, template: Handle) -> Handle;
    fn DeviceIoControl(device: Handle, code: u32, input: *const c_void, input_length: u32, output: *mut c_void, output_length: u32, returned: *mut u32, overlapped: *mut c_void) -> i32;
    fn ReadFile(file: Handle, buffer: *mut c_void, length: u32, read: *mut u32, overlapped: *mut c_void) -> i32;
    fn WriteFile(file: Handle, buffer: *const c_void, length: u32, written: *mut u32, overlapped: *mut c_void) -> i32;
    fn CloseHandle(handle: Handle) -> i32;
    fn GetStdHandle(which: u32) -> Handle;
    fn GetLastError() -> u32;
    fn GetCommandLineW() -> *const u16;
    fn ExitProcess(code: u32) -> !;
}

// The C runtime routines the compiler emits calls to, from ntdll (no C runtime is linked).
#[link(name = "ntdll.dll", kind = "raw-dylib", modifiers = "+verbatim")]
#[allow(dead_code, reason = "declared for the linker, which resolves the compiler's calls")]
unsafe extern "C" {
    fn memcpy(dest: *mut u8, src: *const u8, n: usize) -> *mut u8;
    fn memmove(dest: *mut u8, src: *const u8, n: usize) -> *mut u8;
    fn memset(dest: *mut u8, c: i32, n: usize) -> *mut u8;
    fn memcmp(a: *const u8, b: *const u8, n: usize) -> i32;
}

#[unsafe(no_mangle)]
#[used]
static _fltused: i32 = 0;

/// The personality routine core's unwind tables name; nothing unwinds (`panic = "abort"`).
#[unsafe(no_mangle)]
extern "C" fn __CxxFrameHandler3() -> ! {
    // SAFETY: ending the process is always allowed.
    unsafe { ExitProcess(98) }
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    // SAFETY: ending the process is always allowed.
    unsafe { ExitProcess(99) }
}

/// Console output through a fixed buffer.
struct Out;

impl Write for Out {
    fn write_str(&mut self, text: &str) -> core::fmt::Result {
        let mut written = 0;
        // SAFETY: the buffer is valid for `text.len()` bytes during the call.
        unsafe {
            WriteFile(GetStdHandle(STD_OUTPUT_HANDLE), text.as_ptr().cast(), text.len() as u32, &mut written, core::ptr::null_mut());
        }
        Ok(())
    }
}

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
        let _ = writeln!(Out, "{} - {}", if ok { "PASS" } else { "FAIL" }, what);
    }
}

fn open(path: &str) -> Option<Handle> {
    let mut wide = [0u16; 64];
    for (slot, unit) in wide.iter_mut().zip(path.encode_utf16()) {
        *slot = unit;
    }
    // SAFETY: `wide` is NUL-terminated (the array is longer than the path).
    let handle = unsafe {
        CreateFileW(wide.as_ptr(), GENERIC_READ | GENERIC_WRITE, 0, core::ptr::null_mut(), OPEN_EXISTING, 0, core::ptr::null_mut())
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
    let ok = unsafe { WriteFile(device, data.as_ptr().cast(), data.len() as u32, &mut written, core::ptr::null_mut()) } != 0;
    ok.then_some(written)
}

fn read(device: Handle, buffer: &mut [u8]) -> Option<u32> {
    let mut count = 0;
    // SAFETY: the buffer is valid during the call.
    let ok = unsafe { ReadFile(device, buffer.as_mut_ptr().cast(), buffer.len() as u32, &mut count, core::ptr::null_mut()) } != 0;
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

/// The first argument after the program name, from the raw command line.
fn argument(buffer: &mut [u8; 32]) -> &str {
    // SAFETY: the command line is a NUL-terminated string owned by the process.
    let mut p = unsafe { GetCommandLineW() };
    let mut units = [0u16; 256];
    let mut n = 0;
    // SAFETY: reading up to the terminating NUL of the command line.
    while n < units.len() && unsafe { *p } != 0 {
        // SAFETY: as above.
        units[n] = unsafe { *p };
        // SAFETY: as above.
        p = unsafe { p.add(1) };
        n += 1;
    }
    let text = &units[..n];
    let last = text.split(|&u| u == u16::from(b' ')).filter(|w| !w.is_empty()).last().unwrap_or(&[]);
    let mut len = 0;
    for (slot, &unit) in buffer.iter_mut().zip(last) {
        *slot = unit as u8;
        len += 1;
    }
    core::str::from_utf8(&buffer[..len]).unwrap_or("")
}

#[unsafe(no_mangle)]
pub extern "C" fn mainCRTStartup() -> ! {
    let mut checks = Checks { passed: 0, failed: 0 };
    let mut buffer = [0u8; 32];
    match argument(&mut buffer) {
        "echo" => echo(&mut checks),
        "null-device" => null_device(&mut checks),
        other => checks.check(false, format_args!("unknown sample {other:?}")),
    }
    let _ = writeln!(Out, "{} passed, {} failed", checks.passed, checks.failed);
    // SAFETY: ending the process is always allowed.
    unsafe { ExitProcess(checks.failed) }
}
