//! # wdf-safe
//!
//! KMDF in Rust types, testable on any OS.
//!
//! * [`driver`]: [`KmdfDriver`], the driver as one type; [`DriverContext`] exists only during
//!   `DriverEntry`.
//! * [`device`]: [`ControlDeviceInit`] and [`FdoInit`] → [`Device<D, S>`](Device), with control
//!   devices moving from [`Initializing`](kind::state::Initializing) to
//!   [`Ready`](kind::state::Ready) through `finish_initializing`.
//! * [`queue`]: [`QueueConfig<K, D>`](QueueConfig) and [`Queue<K>`](Queue), the dispatch kind
//!   in the type.
//! * [`request`]: [`Request<K>`](Request), the request kind in the type, completed, forwarded
//!   or sent exactly once; [`RequestDone`], the proof an I/O callback returns;
//!   [`CancelableRequest`].
//! * [`context`]: typed object contexts, one `static` type info per type
//!   ([`declare_context_type!`]).
//! * [`kind`]: the request and queue kinds and device states.
//! * [`io`]: [`KmdfBackend`](io::KmdfBackend), which runs a driver written once against
//!   `wdm_compat::io` as a KMDF driver.
//! * [`sync`]: [`SpinLock`] and [`WaitLock`], data reached only through RAII guards.
//!
//! ## The framework underneath
//!
//! Every public type holds one handle of the seam (`src/sys/`, the only module with `unsafe`)
//! and adds the typestate; the handles' methods are shaped like the KMDF DDIs. Backends:
//!
//! * feature `host`: a **simulated KMDF** (`src/host/`), the framework's object model and queue
//!   engine written as a WDM driver on `wdm-compat` and loaded into its simulated I/O manager
//!   (KMDF is a layer over IRPs, and so is the simulation), whose verifier also receives the
//!   framework's own reports (SDV rule names and `WDF_VIOLATION` bug checks). In strict mode (the
//!   default) a report fails the test at its next user-side call; in recording mode the test
//!   reads the reports. The module docs of each type state the KMDF behaviour it reproduces and
//!   where the simulation simplifies; `src/host/mod.rs` lists the simplifications.
//! * no feature: the handles are uninhabited, so the API builds and is type-checked for a bare
//!   `no_std` target (`x86_64-unknown-none`).
//! * the wdk-sys backend that calls the real framework on Windows plugs into the same seam; it
//!   is not written yet ([`kmdf_driver_entry!`] says so).
#![no_std]
#![deny(unsafe_code)]

#[cfg(feature = "host")]
extern crate alloc;

pub mod context;
pub mod device;
pub mod driver;
#[cfg(feature = "host")]
mod host;
pub mod io;
pub mod kind;
pub mod queue;
pub mod request;
pub mod sync;
#[allow(unsafe_code)]
mod sys;

pub use device::{ControlDeviceInit, Device, FdoInit, Guid, InitSettings};
#[cfg(feature = "host")]
pub use driver::entry_point;
pub use driver::{DriverContext, KmdfDriver};
pub use queue::{Queue, QueueConfig};
pub use request::{AnyRequest, CancelableRequest, Cancelled, IoTarget, Request, RequestDone};
pub use sync::{SpinLock, SpinLockGuard, WaitLock, WaitLockGuard};
pub use wdm_compat::{NtResult, NtStatus};
