//! # kmdf-sim
//!
//! A simulated KMDF 1.33 for host tests: the framework library (`Wdf01000.sys`) that serves
//! the KMDF function table, so that wdf-safe's KMDF seam — the code that runs on Windows — is
//! the code the host tests run.
//!
//! * [`bindings`]: the items of wdk-sys the seam names, from the KMDF 1.33 headers, and the
//!   `call_unsafe_wdf_function_binding!` macro, which calls through the function table with the
//!   image's driver globals first, as wdk-sys's does.
//! * [`entry_point`]: loads a KMDF driver image (its `DriverEntry`) into wdm-compat's simulated
//!   I/O manager. The framework is a layer over IRPs there as on Windows: each KMDF driver is a
//!   WDM driver whose dispatch routines, `AddDevice` and `DriverUnload` are the framework's
//!   (`FxDevice::DispatchWithLock`, `FxDriver::AddDevice`, `FxDriver::Unload`), and the
//!   framework talks to the I/O manager with the same kernel calls a C driver makes.
//! * One framework instance serves every KMDF driver loaded into one `IoManager` (a filter and
//!   the function driver under it share it, as they share `Wdf01000.sys`); tests running in
//!   parallel each have their own.
//!
//! ## What it models, and where it comes from
//!
//! Each behaviour follows KMDF's own source (microsoft/Windows-Driver-Frameworks,
//! `src/framework/...`); the module docs and comments cite the file and function. The verifier
//! is on: a handle of the wrong type or a NULL required parameter is bug check 0x10D
//! (`WDF_VIOLATION`, `WDF_INVALID_HANDLE` / `WDF_REQUIRED_PARAMETER_IS_NULL`), a structure
//! `Size` that is not the 1.33 size fails the call with `STATUS_INFO_LENGTH_MISMATCH`, a DDI
//! called above its IRQL fails with `STATUS_INVALID_DEVICE_REQUEST` and a verifier break —
//! each reported to the I/O manager's verifier (a test fails in strict mode) instead of
//! crashing the test process.
//!
//! ## What it simplifies
//!
//! * One lock for the whole framework; callbacks run without it, on the thread that delivered
//!   the IRP (no execution-level or synchronization-scope serialization, no DPCs or work
//!   items).
//! * The PnP, power and power-policy state machines are reduced to a device without
//!   interrupts, DMA, wake or idle settings (`framework/pnp.rs`): start, system sleep and wake
//!   (the power policy owner requests its D-IRPs), surprise removal and removal, with the
//!   driver's callbacks in KMDF's order; no stop/rebalance (`IRP_MN_STOP_DEVICE`), no query
//!   callbacks, no device power IRPs except the ones the framework requests. Power-managed
//!   queues stop and resume with D0 (`framework/queue_power.rs`).
//! * Request buffers are the framework's copies of the IRP's, written back when the request is
//!   completed or sent (the bytes a caller sees are the same).
//! * File objects (`framework/file.rs`): one `WDFFILEOBJECT` per open when the device has a
//!   file-object class, from create to close; without one, `EvtFileCleanup`/`EvtFileClose`
//!   get a temporary object. An `EvtDeviceFileCreate` that fails its create after returning
//!   keeps its file object until close.
//! * Only the DDIs wdf-safe's seam calls are in the table (the others' entries are empty):
//!   no `WDFMEMORY`, spin locks or collections yet.
//! * The I/O target is a device's local one: a send is `IoCallDriver` to the device below,
//!   with the completion routine or without (send-and-forget), or a synchronous IOCTL the
//!   framework formats itself (`WdfIoTargetSend[Internal]IoctlSynchronously` with a NULL
//!   request and buffer descriptors); no remote targets, and a timeout is not enforced (the
//!   simulated device below answers, or the wait is reported).
//! * A device interface is a symbolic link `\??\WdfSafeInterface<n>#{GUID}` enabled when the
//!   stack starts and removed with the device: no interface class registry, no arrival
//!   notifications.
//! * `WdfDriverGlobals` is a function (the globals of the image whose code the thread runs),
//!   not a per-image static; one table serves every image. A DDI called outside any framework
//!   callback (a thread of the driver's own) therefore fails, said on stderr.
//! * A verifier break (`WdfVerifierDbgBreakPoint`, or a check that breaks into the debugger)
//!   is recorded as a non-fatal violation and the call goes on; on a machine without a kernel
//!   debugger attached it would be a bug check.
//! * `WdfIoQueuePurgeSynchronously` and the other synchronous waits give up after 10 s with a
//!   verifier break naming the requests the driver still owns, where KMDF waits for ever.
//! * Handles are slot-and-generation numbers, not addresses: a stale handle is recognised
//!   (bug check 0x10D), where on Windows it may point at reused memory.
#![deny(unsafe_code)]

#[allow(unsafe_code)]
mod ffi;
mod framework;

pub use ffi::{bindings, keyboard};
pub use framework::loader::{ImageEntry, entry_point, guarded};

/// How many times drivers loaded into `io` have called the framework's function table (every
/// DDI, counted as a driver makes it): the measure of what a request costs in framework calls.
#[must_use]
pub fn framework_calls(io: &wdm_compat::host::IoManager) -> u64 {
    io.library::<framework::Framework>()
        .ddi_calls
        .load(core::sync::atomic::Ordering::Relaxed)
}

/// Moves the simulated framework's clock forward by `by`, firing each `WDFTIMER` that falls due
/// on the way, in order, on this thread (a timer's callback runs at DISPATCH_LEVEL, as its DPC
/// does; a periodic one fires once per period passed). Tests advance time; nothing else does,
/// so what they see does not depend on how fast they run.
pub fn advance_clock(io: &wdm_compat::host::IoManager, by: core::time::Duration) {
    let ticks = u64::try_from(by.as_nanos() / 100).unwrap_or(u64::MAX);
    framework::timer::advance(&io.library::<framework::Framework>(), ticks);
}

/// Runs the work items drivers queued (`WdfWorkItemEnqueue`), in order, on this thread at
/// PASSIVE_LEVEL, as the system's worker threads would, including those queued meanwhile. The
/// simulation has no worker thread of its own: tests decide when queued work runs.
pub fn run_work_items(io: &wdm_compat::host::IoManager) {
    framework::work_item::run_pending(&io.library::<framework::Framework>());
}

/// Lookaside blocks (`WdfMemoryCreateFromLookaside`) tagged `tag` that drivers loaded into `io`
/// hold now, and their bytes: KMDF's pool tracking, which the verifier turns on.
#[must_use]
pub fn pool_in_use(io: &wdm_compat::host::IoManager, tag: u32) -> (usize, usize) {
    io.library::<framework::Framework>().pool.in_use(tag)
}

/// Threads of drivers loaded into `io` waiting now for a callback lock (a queue's
/// `SynchronizationScope`, shared with its serialized timers): what a test waits for to know
/// that a callback is being held back.
#[must_use]
pub fn callback_lock_waiters(io: &wdm_compat::host::IoManager) -> usize {
    io.library::<framework::Framework>()
        .lock_waiters
        .load(core::sync::atomic::Ordering::SeqCst)
}

pub use framework::registry::RegistryValue;

/// Sets `name` in the `Parameters` registry key of the driver loaded (or to be loaded) as
/// `service` (the name given to `load_driver`), creating the key: what an INF's `AddReg` or an
/// administrator would have put there. `WdfDriverOpenParametersRegistryKey` finds it.
pub fn set_driver_parameter(
    io: &wdm_compat::host::IoManager,
    service: &str,
    name: &str,
    value: RegistryValue,
) {
    framework::registry::set(&io.library::<framework::Framework>(), service, name, value);
}

/// The static data of the driver image whose code this thread runs: on Windows an image keeps
/// its statics in its own data section, once per load; on the host many images share one
/// process, so the simulated loader keeps one pointer per loaded image for the image's code to
/// hang its statics from. Null before the image stores one, and outside any driver code.
///
/// Out of line, so `.ci/ioctl-cost` can leave this host-only lookup (a `static` on Windows) out
/// of a driver's instruction count.
#[must_use]
#[inline(never)]
pub fn image_static() -> *mut core::ffi::c_void {
    framework::with_statics(|slot| slot.load(core::sync::atomic::Ordering::Acquire))
        .unwrap_or(core::ptr::null_mut())
}

/// Replaces the current image's static pointer (see [`image_static`]) and returns the old one;
/// `None` outside any driver code.
pub fn set_image_static(value: *mut core::ffi::c_void) -> Option<*mut core::ffi::c_void> {
    framework::with_statics(|slot| slot.swap(value, core::sync::atomic::Ordering::AcqRel))
}
