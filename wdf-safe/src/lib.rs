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
//! This crate currently runs on a **simulated KMDF** (`framework.rs`): the framework's object
//! model and queue engine written as a WDM driver on `wdm-compat` — KMDF is a layer over IRPs,
//! and so is the simulation. Under the `host` feature it runs in the simulated I/O manager of
//! `wdm-compat`, whose verifier also receives the framework's own reports (SDV rule names and
//! `WDF_VIOLATION` bug checks). The module docs of each type state the KMDF behaviour it
//! reproduces and where the simulation simplifies. The wdk-sys backend that calls the real
//! framework on Windows plugs into the same seam (`src/sys/`, the only module with `unsafe`).
#![no_std]
#![deny(unsafe_code)]

extern crate alloc;

pub mod context;
pub mod device;
pub mod driver;
mod framework;
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
