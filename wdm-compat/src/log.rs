//! Driver trace output: [`kd_print!`](crate::kd_print), the counterpart of `KdPrint` /
//! `DbgPrint`.
//!
//! Lines go to the kernel debugger (DbgView shows them) on Windows, to Wine's `debugstr` channel
//! under Wine, and into the simulation's trace under the `host` feature, where tests assert on
//! them. Formatting uses a fixed buffer on the stack: no allocation, callable at
//! ≤ DISPATCH_LEVEL; a line longer than [`LINE_CAPACITY`] bytes is cut (at a character
//! boundary).

use core::fmt::{self, Write};

/// The longest line [`kd_print!`](crate::kd_print) emits, in bytes.
pub const LINE_CAPACITY: usize = 256;

/// A line being formatted on the stack.
struct Line {
    bytes: [u8; LINE_CAPACITY],
    len: usize,
}

impl Write for Line {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        for ch in text.chars() {
            let mut utf8 = [0; 4];
            let encoded = ch.encode_utf8(&mut utf8).as_bytes();
            let end = self.len + encoded.len();
            let Some(slot) = self.bytes.get_mut(self.len..end) else {
                return Err(fmt::Error);
            };
            slot.copy_from_slice(encoded);
            self.len = end;
        }
        Ok(())
    }
}

/// Formats `args` and prints the line. Used by [`kd_print!`](crate::kd_print).
///
/// IRQL: ≤ DISPATCH_LEVEL.
#[doc(hidden)]
pub fn print(args: fmt::Arguments<'_>) {
    let mut line = Line {
        bytes: [0; LINE_CAPACITY],
        len: 0,
    };
    // A line that does not fit is printed cut short; tracing never fails the caller.
    let _ = line.write_fmt(args);
    let text = line
        .bytes
        .get(..line.len)
        .and_then(|b| core::str::from_utf8(b).ok())
        .unwrap_or("");
    crate::sys::dbg_print(text);
}

/// Prints one line of driver trace output, with `format!` syntax.
///
/// ```
/// wdm_compat::kd_print!("[echo] IRP_MJ_CREATE");
/// wdm_compat::kd_print!("[echo] echoing {:#010X}", 0xDEAD_BEEFu32);
/// ```
///
/// IRQL: ≤ DISPATCH_LEVEL.
#[macro_export]
macro_rules! kd_print {
    ($($arg:tt)*) => {
        $crate::log::print(::core::format_args!($($arg)*))
    };
}
