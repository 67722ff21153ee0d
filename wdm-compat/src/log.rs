//! Driver trace output: [`kd_print!`](crate::kd_print), the counterpart of `KdPrint` /
//! `DbgPrint`.
//!
//! Lines go to the kernel debugger (DbgView shows them) on Windows, to Wine's `debugstr` channel
//! under Wine, and into the simulation's trace under the `host` feature, where tests assert on
//! them. Formatting uses a fixed buffer on the stack: no allocation, callable at
//! ≤ DISPATCH_LEVEL; a line longer than [`LINE_CAPACITY`] bytes is cut (at a character
//! boundary).
//!
//! Like `KdPrint`, which a free build compiles out, a release build traces nothing unless the
//! `trace` feature is on ([`ENABLED`]): the line is neither formatted nor printed, and its text
//! is not in the image. Debug builds always trace (the host tests, which read the trace, run
//! in debug); a release build of the host simulation, such as the benchmark, is a free build.

use core::fmt::{self, Write};

/// Whether [`kd_print!`](crate::kd_print) prints: in debug builds and with the `trace` feature;
/// otherwise every use compiles to nothing.
pub const ENABLED: bool = cfg!(any(debug_assertions, feature = "trace"));

/// The longest line [`kd_print!`](crate::kd_print) emits, in bytes.
pub const LINE_CAPACITY: usize = crate::sys::DBG_PRINT_CAPACITY;

/// A line being formatted on the stack.
struct Line {
    bytes: [u8; LINE_CAPACITY],
    len: usize,
}

impl Write for Line {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        let room = LINE_CAPACITY.saturating_sub(self.len);
        // Copy as much as fits, cut at a character boundary so the line stays UTF-8.
        let mut take = text.len().min(room);
        while !text.is_char_boundary(take) {
            take -= 1;
        }
        let (Some(head), Some(slot)) = (
            text.as_bytes().get(..take),
            self.bytes.get_mut(self.len..self.len + take),
        ) else {
            return Err(fmt::Error);
        };
        slot.copy_from_slice(head);
        self.len += take;
        if take == text.len() {
            Ok(())
        } else {
            Err(fmt::Error)
        }
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
/// Compiled out of release builds without the `trace` feature ([`log::ENABLED`](crate::log::ENABLED)):
/// as with `KdPrint`, the arguments are then not evaluated.
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
        if $crate::log::ENABLED {
            $crate::log::print(::core::format_args!($($arg)*))
        }
    };
}

#[cfg(test)]
mod tests {
    #![allow(clippy::indexing_slicing, reason = "test code")]

    use core::fmt::Write;

    use super::{LINE_CAPACITY, Line};

    fn line() -> Line {
        Line {
            bytes: [0; LINE_CAPACITY],
            len: 0,
        }
    }

    #[test]
    fn a_line_that_fits_is_kept_whole() {
        let mut line = line();
        assert!(write!(line, "[echo] echoing value {:#010X}", 0xDEAD_BEEFu32).is_ok());
        assert_eq!(&line.bytes[..line.len], b"[echo] echoing value 0xDEADBEEF");
    }

    #[test]
    fn a_long_line_is_cut_at_a_character_boundary() {
        let mut line = line();
        // One byte, then two-byte characters: the capacity falls inside one of them.
        let mut text = [0u8; 1 + 2 * 200];
        text[0] = b'a';
        for pair in text[1..].chunks_exact_mut(2) {
            '\u{e9}'.encode_utf8(pair);
        }
        let text = core::str::from_utf8(&text).unwrap_or_default();
        assert!(line.write_str(text).is_err());
        assert_eq!(line.len, LINE_CAPACITY - 1);
        let kept = core::str::from_utf8(&line.bytes[..line.len]).unwrap_or_default();
        assert_eq!(kept.chars().count(), 1 + (LINE_CAPACITY - 2) / 2);
        assert!(
            line.write_str("\u{e9}").is_err(),
            "a character that does not fit is left out"
        );
        assert_eq!(line.len, LINE_CAPACITY - 1);
        assert!(line.write_str("ab").is_err());
        assert_eq!(line.len, LINE_CAPACITY, "what fits of the rest is kept");
    }
}
