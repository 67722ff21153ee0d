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

// Without an operating-system backend (a bare `no_std` build) nothing can call the
// trampolines, so much of the seam is unused there.
#[allow(unsafe_code)]
#[cfg_attr(not(feature = "host"), allow(dead_code, unused_imports))]
mod sys;

pub mod device;
pub mod dispatch;
pub mod driver;
pub mod forward;
pub mod io;
pub mod irp;
pub mod log;
pub mod request;
pub mod status;
pub mod sync;

#[cfg(feature = "host")]
pub mod host;

pub use device::{Device, DeviceConfig, IoType, LowerDevice, NamedDevice, OwnedDevice};
pub use dispatch::DispatchStatus;
pub use driver::{DriverSetup, PhysicalDevice, WdmDriver};
pub use forward::{CompletionObserver, IrpOutcome};
#[cfg(feature = "tracking")]
pub use irp::TrackingCompleter;
pub use irp::{Irp, IrpCompleter, IrpCompletion, NoopCompleter, PendingIrp, SystemCompleter};
pub use request::{
    BufferedIoctl, DirectIoctl, IoRequest, IoctlBuffers, MajorFunction, Parameters,
    RequestorMode, UserAddress,
};
pub use status::{NtResult, NtStatus, Severity, to_result};
pub use sync::{SpinLock, SpinLockGuard};
