//! # wdf-safe
//!
//! KMDF in Rust types, testable on any OS.
//!
//! * [`driver`]: [`KmdfDriver`], the driver as one type; [`DriverContext`] exists only during
//!   `DriverEntry`.
//! * [`device`]: [`ControlDeviceInit`] and [`FdoInit`] → [`Device<D, S>`](Device), with control
//!   devices moving from [`Initializing`](kind::state::Initializing) to
//!   [`Ready`](kind::state::Ready) through `finish_initializing`, and PnP devices set up in
//!   [`Adding`](kind::state::Adding), a state that cannot outlive `EvtDriverDeviceAdd`.
//! * [`queue`]: [`QueueConfig<K, D>`](QueueConfig) and [`Queue<K>`](Queue), the dispatch kind
//!   in the type; [`StaticQueue`], a queue whose configuration is a constant, so KMDF's
//!   `EvtIo*` calls the driver's function directly (what a C callback costs).
//! * [`request`]: [`Request<K>`](Request), the request kind in the type, completed, forwarded
//!   or sent exactly once; [`RequestDone`], the proof an I/O callback returns;
//!   [`CancelableRequest`].
//! * [`io_target`]: IOCTLs to the device below, synchronous ([`IoTarget`]) or with a request
//!   and memory of the driver's own ([`Device::send_ioctl`]).
//! * [`memory`]: [`Memory`](memory::Memory), a `WDFMEMORY` buffer the driver owns and sends.
//! * [`io_stop`]: power-managed queues' `EvtIoStop` and `EvtIoResume`
//!   ([`QueueConfig::power_managed`]).
//! * [`file`](mod@file): file objects, one per open, with a per-open context
//!   ([`FileConfig`](file::FileConfig), [`FileObject`](file::FileObject)).
//! * [`context`]: typed object contexts, one `static` type info per type
//!   ([`declare_context_type!`]).
//! * [`kind`]: the request and queue kinds and device states.
//! * [`io`]: [`KmdfBackend`](io::KmdfBackend), which runs a driver written once against
//!   `wdm_compat::io` as a KMDF driver.
//! * [`sync`]: [`SpinLock`] and [`WaitLock`], data reached only through RAII guards.
//! * [`registry`]: the driver's `Parameters` key ([`DriverContext::parameters`]).
//! * [`pnp_power`]: [`PnpPowerCallbacks`](pnp_power::PnpPowerCallbacks), a PnP device's
//!   prepare/release hardware, D0 entry/exit, self-managed I/O and surprise-removal callbacks.
//! * [`timer`]: [`Timer`](timer::Timer), a `WDFTIMER` parented to a device.
//! * [`work_item`]: [`WorkItem`](work_item::WorkItem), a `WDFWORKITEM` parented to a device.
//!
//! ## A driver, start to finish
//!
//! A control device's life in types: `ControlDeviceInit` is configured, then `create` makes a
//! `Device<_, Initializing>` that takes queues and a symbolic link, and `finish_initializing`
//! gives the `Device<_, Ready>` the driver keeps (and that can no longer take a default queue).
//! Each I/O callback gets a `Request` of its kind and must return the `RequestDone` that only
//! finishing that request gives. The same code loads into the simulated KMDF here:
//!
//! ```
//! # #[cfg(feature = "host")] fn main() -> Result<(), wdf_safe::NtStatus> {
//! use wdf_safe::device::SDDL_DEVOBJ_SYS_ALL_ADM_ALL;
//! use wdf_safe::kind::state::Ready;
//! use wdf_safe::kind::{Read, Sequential};
//! use wdf_safe::{
//!     ControlDeviceInit, Device, DriverContext, KmdfDriver, NtResult, NtStatus, Queue,
//!     QueueConfig, Request, RequestDone,
//! };
//!
//! /// Reads get "tick" (as much of it as fits).
//! struct Ticker {
//!     _device: Device<Ticker, Ready>,
//!     _reads: Queue<Sequential>,
//! }
//!
//! fn on_read<'r>(_: &Ticker, request: Request<'r, Read>) -> RequestDone<'r> {
//!     request.complete_with(|request| {
//!         let out = request.output_buffer(1)?;
//!         let n = out.len().min(4);
//!         out[..n].copy_from_slice(&b"tick"[..n]);
//!         Ok(n)
//!     })
//! }
//!
//! impl KmdfDriver for Ticker {
//!     fn driver_entry(driver: &mut DriverContext<'_, '_, Self>) -> NtResult<Self> {
//!         let mut init = ControlDeviceInit::allocate(driver, SDDL_DEVOBJ_SYS_ALL_ADM_ALL)
//!             .ok_or(NtStatus::INSUFFICIENT_RESOURCES)?;
//!         init.assign_name(r"\Device\Ticker")?;
//!         let device = init.create(driver).map_err(|(_, status)| status)?; // Initializing
//!         device.create_symbolic_link(r"\DosDevices\Ticker")?;
//!         let reads = device.create_default_queue(QueueConfig::sequential().on_read(on_read))?;
//!         let device = device.finish_initializing(); // Ready
//!         Ok(Self { _device: device, _reads: reads })
//!     }
//! }
//!
//! let io = wdm_compat::host::IoManager::new();
//! io.load_driver("ticker", wdf_safe::entry_point::<Ticker>())?;
//! let handle = io.open(r"\\.\Ticker")?;
//! assert_eq!(handle.read(8).data, b"tick");
//! assert_eq!(handle.read(2).data, b"ti");
//! // A zero-length read never reaches the callback: KMDF completes it itself.
//! assert_eq!(handle.read(0).status, NtStatus::SUCCESS);
//! # Ok(()) }
//! # #[cfg(not(feature = "host"))] fn main() {}
//! ```
//!
//! A ready device takes no default queue: that is set up while it initializes.
//!
//! ```compile_fail,E0599
//! # use wdf_safe::kind::{state::Initializing, Parallel};
//! # use wdf_safe::{Device, KmdfDriver, NtResult, QueueConfig};
//! fn late<D: KmdfDriver>(device: Device<D, Initializing>) -> NtResult {
//!     let ready = device.finish_initializing();
//!     ready.create_default_queue(QueueConfig::<Parallel, D>::parallel())?;
//!     Ok(())
//! }
//! ```
//!
//! And a callback cannot return without finishing its request:
//!
//! ```compile_fail,E0308
//! # use wdf_safe::kind::Read;
//! # use wdf_safe::{Request, RequestDone};
//! fn on_read<'r>(_: &(), request: Request<'r, Read>) -> RequestDone<'r> {
//!     let _ = request.length();
//!     ()
//! }
//! ```
//!
//! ## The framework underneath
//!
//! Every public type holds one handle of the seam (`src/sys/`, the only module with `unsafe`)
//! and adds the typestate; the handles' methods are shaped like the KMDF DDIs, and each calls
//! the DDI through KMDF's function table (`src/sys/wdk.rs`, with
//! `call_unsafe_wdf_function_binding!`). That one seam runs against two frameworks:
//!
//! * feature `wdk` on a Windows target: the **real KMDF**, through wdk-sys's binding; a driver
//!   package makes its image with [`kmdf_driver_entry!`]. Built on Windows only (wdk-sys needs
//!   the WDK).
//! * feature `host`: the **simulated KMDF** of the `kmdf-sim` crate, which serves the same KMDF
//!   1.33 function table over wdm-compat's simulated I/O manager (KMDF is a layer over IRPs, and
//!   so is the simulation), with the verifier on: its reports (SDV rule names, `WDF_VIOLATION`
//!   bug checks, verifier breaks) go to the I/O manager's verifier. In strict mode (the
//!   default) a report fails the test at its next user-side call; in recording mode the test
//!   reads the reports. `entry_point` (feature `host`) loads a driver into it. The code that ships is the code
//!   the host tests run.
//! * no feature: the handles are uninhabited, so the API builds and is type-checked for a bare
//!   `no_std` target (`x86_64-unknown-none`).
//!
//! The framework functions the seam calls, with the IRQL each needs:
//!
//! | KMDF function | IRQL (`_IRQL_requires_max_` in the KMDF 1.33 headers) |
//! |---|---|
//! | `WdfDriverCreate` | PASSIVE_LEVEL |
//! | `WdfControlDeviceInitAllocate`, `WdfDeviceInitAssignName` | PASSIVE_LEVEL |
//! | `WdfDeviceInitSetIoType`, `WdfDeviceInitSetExclusive`, `WdfDeviceInitSetCharacteristics`, `WdfDeviceInitSetDeviceType`, `WdfDeviceInitSetFileObjectConfig`, `WdfDeviceInitFree` | ≤ DISPATCH_LEVEL |
//! | `WdfRequestGetFileObject`, `WdfFileObjectGetDevice` | ≤ DISPATCH_LEVEL |
//! | `WdfFdoInitSetFilter` | PASSIVE_LEVEL |
//! | `WdfDeviceInitSetPnpPowerEventCallbacks`, `WdfDeviceInitSetRequestAttributes` | ≤ DISPATCH_LEVEL |
//! | `WdfDeviceCreate` | PASSIVE_LEVEL |
//! | `WdfObjectGetTypedContextWorker` | ≤ DISPATCH_LEVEL + 1 |
//! | `WdfObjectAllocateContext` | ≤ DISPATCH_LEVEL |
//! | `WdfIoQueueCreate`, `WdfDeviceConfigureRequestDispatching` | ≤ DISPATCH_LEVEL |
//! | `WdfDeviceCreateSymbolicLink`, `WdfDeviceCreateDeviceInterface` | PASSIVE_LEVEL |
//! | `WdfControlFinishInitializing` | ≤ DISPATCH_LEVEL |
//! | `WdfIoQueueRetrieveNextRequest`, `WdfIoQueueStop`, `WdfIoQueueStart`, `WdfIoQueueGetState`, `WdfIoQueueGetDevice` | ≤ DISPATCH_LEVEL |
//! | `WdfIoQueuePurgeSynchronously`, `WdfIoQueueStopSynchronously` | PASSIVE_LEVEL |
//! | `WdfRequestGetIoQueue`, `WdfDeviceGetIoTarget`, `WdfRequestGetParameters`, `WdfRequestSetInformation`, `WdfRequestGetInformation`, `WdfRequestGetStatus`, `WdfRequestIsCanceled` | ≤ DISPATCH_LEVEL |
//! | `WdfRequestCompleteWithInformation`, `WdfRequestForwardToIoQueue` | ≤ DISPATCH_LEVEL |
//! | `WdfRequestFormatRequestUsingCurrentType`, `WdfRequestSetCompletionRoutine`, `WdfRequestSend` | ≤ DISPATCH_LEVEL |
//! | `WdfIoTargetSendIoctlSynchronously`, `WdfIoTargetSendInternalIoctlSynchronously` | PASSIVE_LEVEL |
//! | `WdfRequestRetrieveInputBuffer`, `WdfRequestRetrieveOutputBuffer` | ≤ DISPATCH_LEVEL |
//! | `WdfRequestMarkCancelableEx`, `WdfRequestUnmarkCancelable` | ≤ DISPATCH_LEVEL |
//! | `WdfRequestStopAcknowledge` | ≤ DISPATCH_LEVEL |
//! | `WdfObjectReferenceActual`, `WdfObjectDereferenceActual` | ≤ DISPATCH_LEVEL |
//! | `WdfVerifierDbgBreakPoint` | ≤ DISPATCH_LEVEL (debug builds) |
//!
//! The kernel routines underneath (spin locks, `DbgPrint`) come from `wdm-compat`'s own seam.
//!
//! What the simulated KMDF leaves out is listed in the `kmdf-sim` crate's documentation ("What
//! it simplifies"); the ones a driver author meets first: callbacks run on the thread that
//! delivered the request (no execution levels or DPCs), the PnP and power state machines are
//! reduced to a device without interrupts, wake or idle settings (start, system sleep and
//! wake, surprise removal, removal), and synchronous waits that could never end are reported
//! after 10 s instead of hanging. The I/O manager underneath is `wdm_compat::host`, whose own
//! simplifications are in its module documentation.
#![no_std]
#![deny(unsafe_code)]

#[cfg(any(feature = "host", all(feature = "wdk", target_os = "windows")))]
extern crate alloc;

pub mod context;
pub mod device;
pub mod driver;
pub mod file;
pub mod io;
pub mod io_stop;
pub mod io_target;
pub mod keyboard;
pub mod kind;
pub mod lookaside;
pub mod memory;
pub mod pnp_power;
pub mod queue;
pub mod registry;
pub mod request;
pub mod sync;
#[allow(unsafe_code)]
mod sys;
pub mod thread_rules;
pub mod timer;
pub mod work_item;

/// What [`kmdf_driver_entry!`] expands to call; not part of the API.
#[cfg(all(not(feature = "host"), feature = "wdk", target_os = "windows"))]
#[doc(hidden)]
pub mod __private {
    /// The global allocator of a KMDF driver image: the kernel pool through wdk-alloc, for every
    /// alignment (wdm-compat's, whose `wdk` feature this crate's turns on).
    pub use wdm_compat::__private::{ALLOCATOR, Allocator};

    /// The `DriverEntry` routine of driver type `D`, which the image's exported `DriverEntry`
    /// calls.
    #[must_use]
    pub const fn driver_entry<D: crate::KmdfDriver>()
    -> unsafe extern "system" fn(*mut core::ffi::c_void, *const core::ffi::c_void) -> i32 {
        crate::sys::wdk::image_driver_entry::<D>
    }
}

pub use device::{ControlDeviceInit, Device, FdoInit, Guid, InitSettings};
#[cfg(feature = "host")]
pub use driver::entry_point;
pub use driver::{DriverContext, KmdfDriver};
/// The simulated framework's clock, which only tests move (feature `host`): see
/// [`timer`].
#[cfg(feature = "host")]
pub use kmdf_sim::advance_clock;
/// The simulated system worker thread, which only tests run (feature `host`): see
/// [`work_item`].
#[cfg(feature = "host")]
pub use kmdf_sim::run_work_items;
/// The simulated registry's `Parameters` values (feature `host`): see [`registry`].
#[cfg(feature = "host")]
pub use kmdf_sim::{RegistryValue, set_driver_parameter};
/// `pin_project!` (pin-project-lite), for contexts with pinned fields: see
/// [`ContextRef::as_pin`](context::ContextRef::as_pin).
pub use pin_project_lite::pin_project;
pub use queue::{Queue, QueueConfig, StaticQueue};
pub use request::{AnyRequest, CancelableRequest, Cancelled, IoTarget, Request, RequestDone};
pub use sync::{SpinLock, SpinLockGuard, WaitLock, WaitLockGuard};
pub use wdm_compat::{NtResult, NtStatus};
