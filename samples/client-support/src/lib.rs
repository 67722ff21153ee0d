//! What the samples' Windows console clients share.
//!
//! The clients are `no_std` programs with their own entry point (`mainCRTStartup`) that call
//! Win32 through `windows-sys`, whose imports are `raw-dylib`: they link with `rust-lld` on any
//! host, with no MSVC libraries, and start under Wine too (a Rust `std` program needs
//! `bcryptprimitives.dll!ProcessPrng`, which Wine 8 lacks). This crate provides the console
//! output, the command-line argument, the process exit, and the few symbols a program without a
//! C runtime must define.
#![no_std]

use core::fmt::{self, Write};

pub use windows_sys;
use windows_sys::Win32::Storage::FileSystem::WriteFile;
use windows_sys::Win32::System::Console::{GetStdHandle, STD_OUTPUT_HANDLE};
use windows_sys::Win32::System::Environment::GetCommandLineW;
use windows_sys::Win32::System::Threading::ExitProcess;

/// Standard output.
#[derive(Debug)]
pub struct Console;

impl Write for Console {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        let mut written = 0;
        let length = u32::try_from(text.len()).map_err(|_| fmt::Error)?;
        // SAFETY: the buffer is valid for `length` bytes during the call.
        let ok = unsafe {
            WriteFile(GetStdHandle(STD_OUTPUT_HANDLE), text.as_ptr(), length, &mut written, core::ptr::null_mut())
        };
        if ok != 0 { Ok(()) } else { Err(fmt::Error) }
    }
}

/// Prints a line to standard output.
#[macro_export]
macro_rules! println {
    ($($arg:tt)*) => {{
        let _ = ::core::fmt::Write::write_fmt(&mut $crate::Console, ::core::format_args!($($arg)*));
        let _ = ::core::fmt::Write::write_str(&mut $crate::Console, "\r\n");
    }};
}

/// The first command-line argument after the program name, as ASCII, in `buffer`.
pub fn first_argument(buffer: &mut [u8; 64]) -> Option<&str> {
    // SAFETY: the command line is a NUL-terminated string owned by the process.
    let mut p = unsafe { GetCommandLineW() };
    let mut words = 0;
    let mut in_word = false;
    let mut quoted = false;
    let mut length = 0;
    loop {
        // SAFETY: reading up to and including the terminating NUL.
        let unit = unsafe { *p };
        if unit == 0 {
            break;
        }
        let space = !quoted && (unit == u16::from(b' ') || unit == u16::from(b'\t'));
        if unit == u16::from(b'"') {
            quoted = !quoted;
        } else if space {
            in_word = false;
        } else {
            if !in_word {
                words += 1;
                in_word = true;
            }
            if words == 2 && length < buffer.len() {
                buffer[length] = u8::try_from(unit).unwrap_or(b'?');
                length += 1;
            }
        }
        // SAFETY: the string continues up to its NUL.
        p = unsafe { p.add(1) };
    }
    (length > 0).then(|| core::str::from_utf8(&buffer[..length]).unwrap_or(""))
}

/// Ends the process with `code`.
pub fn exit(code: u32) -> ! {
    // SAFETY: ending the process is always allowed.
    unsafe { ExitProcess(code) }
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    exit(101)
}

/// The personality routine core's unwind tables name; nothing unwinds (`panic = "abort"`).
#[unsafe(no_mangle)]
extern "C" fn __CxxFrameHandler3() -> ! {
    exit(101)
}

/// Tells the linker that floating point is in use (core's formatting code refers to it).
#[unsafe(no_mangle)]
#[used]
static _fltused: i32 = 0;

// The C runtime routines the compiler emits calls to, from ntdll (no C runtime is linked).
#[link(name = "ntdll.dll", kind = "raw-dylib", modifiers = "+verbatim")]
#[allow(dead_code, reason = "declared for the linker, which resolves the compiler's calls")]
unsafe extern "C" {
    fn memcpy(dest: *mut u8, src: *const u8, n: usize) -> *mut u8;
    fn memmove(dest: *mut u8, src: *const u8, n: usize) -> *mut u8;
    fn memset(dest: *mut u8, c: i32, n: usize) -> *mut u8;
    fn memcmp(a: *const u8, b: *const u8, n: usize) -> i32;
}
