//! # wdm-compat
//!
//! The WDM I/O vocabulary and the IRP model of `wdf-safe`, usable without the WDK:
//!
//! * [`status`]: [`NtStatus`], severities, names, `Result` helpers.
//! * [`ioctl`]: `CTL_CODE` as [`IoControlCode`], typed IOCTLs and [`define_ioctl!`].
//! * [`irp`]: [`Irp<C>`](Irp), completed exactly once, with the completer `C` chosen at compile
//!   time; [`NoopCompleter`], [`TrackingCompleter`] (feature `tracking`).
//! * [`dispatch`]: the values a dispatch routine can return, each of which only a legal way of
//!   finishing the IRP can produce (complete, pend, forward).
//! * [`request`]: [`IoRequest`], typed and bounds-checked access to the current stack location
//!   and its buffers.
//! * [`device`] and [`driver`]: [`Device`], device and symbolic-link guards that undo themselves,
//!   and the [`WdmDriver`] trait whose defaults fill the whole major-function table.
//! * [`host`] (feature `host`): a simulated NT I/O manager with a user-mode side and a verifier,
//!   so driver logic runs in ordinary `cargo test` on any OS.
//!
//! All `unsafe` code lives in one private module, the seam to the operating system; every other
//! module is safe code (`#![deny(unsafe_code)]`). The safety contract is in `SAFETY.md` at the
//! repository root.
#![no_std]
#![deny(unsafe_code)]

#[cfg(feature = "host")]
extern crate std;

#[allow(unused_extern_crates)]
extern crate alloc;

#[allow(unsafe_code)]
mod sys;

pub mod status;

#[cfg(feature = "host")]
pub mod host;

pub use status::{NtResult, NtStatus, Severity, to_result};
