//! What the samples' Windows console clients share.
//!
//! The clients are `no_std` programs with their own entry point (`mainCRTStartup`) that call
//! Win32 through `windows-sys`, whose imports are `raw-dylib`: they link with `rust-lld` on any
//! host, with no MSVC libraries, and start under Wine too (a Rust `std` program needs
//! `bcryptprimitives.dll!ProcessPrng`, which Wine 8 lacks). This crate provides the console
//! output, the command-line argument, the process exit, a device handle, the entry point
//! ([`main!`]), and the few symbols a program without a C runtime must define. Every Win32 call,
//! and so every `unsafe`, is here: the clients themselves are `#![forbid(unsafe_code)]`.
#![no_std]

use core::fmt::{self, Write};

pub use windows_sys;
use windows_sys::Win32::Devices::DeviceAndDriverInstallation::{
    CM_GET_DEVICE_INTERFACE_LIST_PRESENT, CM_Get_Device_Interface_ListW, CR_SUCCESS,
};
use windows_sys::Win32::Foundation::{
    CloseHandle, GENERIC_READ, GENERIC_WRITE, GetLastError, HANDLE, INVALID_HANDLE_VALUE,
};
use windows_sys::Win32::Storage::FileSystem::{CreateFileW, OPEN_EXISTING, ReadFile, WriteFile};
use windows_sys::Win32::System::IO::DeviceIoControl;
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

/// A Win32 error code (`GetLastError`).
pub type Error = u32;

fn last_error() -> Error {
    // SAFETY: no preconditions.
    unsafe { GetLastError() }
}

/// A buffer's length as the `u32` Win32 takes; longer buffers are used up to `u32::MAX` bytes.
fn win32_length(buffer: &[u8]) -> u32 {
    u32::try_from(buffer.len()).unwrap_or(u32::MAX)
}

/// A device opened for reading and writing (`CreateFileW(path, GENERIC_READ | GENERIC_WRITE,
/// 0, NULL, OPEN_EXISTING, 0, NULL)`); closed when dropped.
#[derive(Debug)]
pub struct Device(HANDLE);

impl Device {
    /// Opens `path` (`\\.\Name`, at most 63 UTF-16 units).
    ///
    /// # Errors
    ///
    /// The Win32 error of the open.
    pub fn open(path: &str) -> Result<Self, Error> {
        let mut wide = [0u16; 64];
        for (slot, unit) in wide.iter_mut().take(63).zip(path.encode_utf16()) {
            *slot = unit;
        }
        Self::open_wide(&wide)
    }

    /// Opens the first present device interface of class `class` (`CM_Get_Device_Interface_ListW`
    /// with `CM_GET_DEVICE_INTERFACE_LIST_PRESENT`), as a PnP sample's client finds its device.
    ///
    /// # Errors
    ///
    /// `ERROR_FILE_NOT_FOUND` (2) when no such interface is present, or the Win32 error of the
    /// open.
    pub fn open_interface(class: &windows_sys::core::GUID) -> Result<Self, Error> {
        /// `ERROR_FILE_NOT_FOUND`.
        const NOT_FOUND: Error = 2;
        // A device interface path is well under 512 units; the list is NUL-separated and ends
        // with an empty string, so a zeroed buffer keeps the first path NUL-terminated.
        let mut list = [0u16; 512];
        // SAFETY: `class` is a GUID valid for the call; the buffer is writable for the length
        // given; no device instance filter (NULL).
        let result = unsafe {
            CM_Get_Device_Interface_ListW(class, core::ptr::null(), list.as_mut_ptr(), 511, CM_GET_DEVICE_INTERFACE_LIST_PRESENT)
        };
        if result != CR_SUCCESS || list[0] == 0 {
            return Err(NOT_FOUND);
        }
        Self::open_wide(&list)
    }

    /// `CreateFileW` on a NUL-terminated UTF-16 path.
    fn open_wide(wide: &[u16]) -> Result<Self, Error> {
        if !wide.contains(&0) {
            return Err(87); // ERROR_INVALID_PARAMETER: not NUL-terminated
        }
        // SAFETY: `wide` is NUL-terminated (checked) and outlives the call; the other arguments
        // are plain values or NULL where Win32 allows it.
        let handle = unsafe {
            CreateFileW(wide.as_ptr(), GENERIC_READ | GENERIC_WRITE, 0, core::ptr::null(), OPEN_EXISTING, 0, core::ptr::null_mut())
        };
        if handle == INVALID_HANDLE_VALUE { Err(last_error()) } else { Ok(Self(handle)) }
    }

    /// `DeviceIoControl`: the bytes returned in `output`.
    ///
    /// # Errors
    ///
    /// The Win32 error of the request.
    pub fn control(&self, code: u32, input: &[u8], output: &mut [u8]) -> Result<u32, Error> {
        let mut returned = 0;
        // SAFETY: both buffers are valid for the lengths given during the call, which is
        // synchronous (no OVERLAPPED).
        let ok = unsafe {
            DeviceIoControl(self.0, code, input.as_ptr().cast(), win32_length(input), output.as_mut_ptr().cast(), win32_length(output), &mut returned, core::ptr::null_mut())
        };
        if ok != 0 { Ok(returned) } else { Err(last_error()) }
    }

    /// `WriteFile`: the bytes written.
    ///
    /// # Errors
    ///
    /// The Win32 error of the write.
    pub fn write(&self, data: &[u8]) -> Result<u32, Error> {
        let mut written = 0;
        // SAFETY: the buffer is valid for its length during the synchronous call.
        let ok = unsafe { WriteFile(self.0, data.as_ptr(), win32_length(data), &mut written, core::ptr::null_mut()) };
        if ok != 0 { Ok(written) } else { Err(last_error()) }
    }

    /// `ReadFile`: the bytes read into `buffer`.
    ///
    /// # Errors
    ///
    /// The Win32 error of the read.
    pub fn read(&self, buffer: &mut [u8]) -> Result<u32, Error> {
        let mut read = 0;
        // SAFETY: the buffer is valid for its length during the synchronous call.
        let ok = unsafe { ReadFile(self.0, buffer.as_mut_ptr(), win32_length(buffer), &mut read, core::ptr::null_mut()) };
        if ok != 0 { Ok(read) } else { Err(last_error()) }
    }

    /// `CloseHandle`: whether it succeeded.
    pub fn close(self) -> bool {
        let handle = self.0;
        core::mem::forget(self);
        // SAFETY: the handle is open (`open` made it) and closed only here or in `drop`, which
        // the `forget` above rules out.
        (unsafe { CloseHandle(handle) }) != 0
    }
}

impl Drop for Device {
    fn drop(&mut self) {
        // SAFETY: as in `close`: the handle is open and closed once.
        let _ = unsafe { CloseHandle(self.0) };
    }
}

/// Makes `$main` (a `fn() -> u32` returning the exit code) the program's entry point
/// (`mainCRTStartup`; the build script points the linker at it).
#[macro_export]
macro_rules! main {
    ($main:path) => {
        #[unsafe(no_mangle)]
        extern "C" fn mainCRTStartup() -> ! {
            $crate::exit($main())
        }
    };
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
