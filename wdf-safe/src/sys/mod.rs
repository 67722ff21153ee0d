//! The seam: the only module of this crate allowed to contain `unsafe`, and the one place that
//! knows which framework the crate runs on. It sits at the bottom of the crate: it knows
//! handles, the framework's FFI, and the vocabulary below, and calls the typed layer above only
//! through the traits it defines here ([`DriverCallbacks`], [`QueueCallbacks`], [`Presenter`],
//! [`CancelCallback`]), which that layer implements — bindings below abstractions.
//!
//! The public types ([`crate::Device`], [`crate::Queue`], [`crate::Request`], …) each hold one
//! handle of this module and add the typestate; the handles' methods are the framework calls,
//! shaped like the KMDF DDIs they stand for:
//!
//! | handle | KMDF object | calls |
//! |---|---|---|
//! | `DriverHandle` | `WDFDRIVER` in `DriverEntry` | `create_control_device` (`WdfDeviceCreate` on a control init), `open_parameters_key` |
//! | `ParametersKey` | `WDFKEY` (the driver's `Parameters` key) | `query_u32`; closed on drop |
//! | `DeviceHandle<D>` | `WDFDEVICE` (and the FDO's `PWDFDEVICE_INIT` before create) | `fdo_init_set_filter`, `fdo_init_set_pnp_power_callbacks`, `fdo_init_update` (`WdfDeviceInitSet*`), `fdo_create`, `init_settings`, `allocate_context`, `context`, `create_queue`, `configure_request_dispatching`, `on_cleanup`, `create_symbolic_link`, `create_device_interface`, `finish_initializing`, `retrieve_next_request`, `stop_queue`, `stop_queue_synchronously`, `start_queue`, `purge_queue` |
//! | `QueueHandle` | `WDFQUEUE` | `queued` |
//! | `RequestRef` | a `WDFREQUEST` lent to `EvtIoStop` / `EvtIoResume` | `stop_acknowledge` |
//! | `RequestHandle` | `WDFREQUEST` (unique) | `request_type`, `parameters`, `set_information`, `information`, `complete`, `forward_to_queue`, `default_io_target`, `send_and_forget`, `send_observed`, `is_canceled`, `read_buffer`, `write_buffer`, `ioctl_input`, `ioctl_output`, `ioctl_input_prefix`, `ioctl_output_prefix`, `mark_cancelable`, `unmark_cancelable`, `leave_to_cancel_routine`, `dropped` |
//! | `IoTargetHandle` | `WDFIOTARGET` | (passed to the sends) |
//! | `WaitLockHandle` | `WDFWAITLOCK` | `create`, `acquire`, `try_acquire`, `release` |
//! | `TimerHandle<D>` | `WDFTIMER` (parented to a device) | `create`, `start`, `stop` |
//! | `WorkItemHandle<D>` | `WDFWORKITEM` (parented to a device) | `create`, `enqueue`, `flush` |
//!
//! | backend | selected by | implements the calls with |
//! |---|---|---|
//! | `wdk` | feature `host` (any OS), or feature `wdk` on a Windows target (a KMDF driver package) | KMDF's function table, through `call_unsafe_wdf_function_binding!`: on Windows wdk-sys's, into the real KMDF; on the host the project's own bindings (`kmdf_sim::bindings`), into the simulated KMDF that serves the same table over wdm-compat's simulated I/O manager. The same file either way: the code that ships is the code the host tests run |
//! | `none` | anything else | nothing: the handles are uninhabited, so the typestate API builds (and is checked) for a bare `no_std` target such as `x86_64-unknown-none` |

mod types;

pub use types::{
    ContextTypeInfo, DispatchType, FILE_DEVICE_SECURE_OPEN, Guid, InitSettings, KeyboardInputData,
    PowerState, RequestType,
};
pub(crate) use types::{ControlDeviceSettings, Given, PnpEvent};

#[cfg(any(feature = "host", all(feature = "wdk", target_os = "windows")))]
pub(crate) mod wdk;
#[cfg(any(feature = "host", all(feature = "wdk", target_os = "windows")))]
pub(crate) use wdk::{
    ContextGuard, DeviceHandle, DriverHandle, FileContext, FileEventsBox, FileRef, IoTargetHandle,
    KeptHandle, LookasideBlock, LookasideHandle, MemoryHandle, ParametersKey, QueueHandle,
    RequestContextSpec, RequestHandle, RequestRef, TimerHandle, WaitLockHandle, WorkItemHandle,
    keep_file_events,
};

#[cfg(not(any(feature = "host", all(feature = "wdk", target_os = "windows"))))]
mod none;
#[cfg(not(any(feature = "host", all(feature = "wdk", target_os = "windows"))))]
pub(crate) use none::{
    ContextGuard, DeviceHandle, DriverHandle, FileContext, FileEventsBox, FileRef, IoTargetHandle,
    KeptHandle, LookasideBlock, LookasideHandle, MemoryHandle, ParametersKey, QueueHandle,
    RequestContextSpec, RequestHandle, RequestRef, TimerHandle, WaitLockHandle, WorkItemHandle,
    keep_file_events,
};

pub(crate) mod wait_lock;

/// `KeGetCurrentIrql`: the simulated IRQL on the host, the processor's on Windows, and
/// PASSIVE_LEVEL without a backend (nothing runs there).
pub(crate) fn current_irql() -> u8 {
    #[cfg(feature = "host")]
    {
        wdm_compat::host::simulated_irql()
    }
    #[cfg(all(not(feature = "host"), feature = "wdk", target_os = "windows"))]
    {
        wdk::current_irql()
    }
    #[cfg(not(any(feature = "host", all(feature = "wdk", target_os = "windows"))))]
    {
        0
    }
}

use wdm_compat::NtResult;
use wdm_compat::io::Completion;

/// What the seam calls in a driver: the typed layer implements it for every
/// [`KmdfDriver`](crate::KmdfDriver).
#[cfg_attr(
    not(any(feature = "host", all(feature = "wdk", target_os = "windows"))),
    allow(dead_code, reason = "only a framework backend calls back")
)]
pub(crate) trait DriverCallbacks: Sized + Send + Sync + 'static {
    /// The callbacks stored with each of the driver's queues.
    type Queue: QueueCallbacks<Self>;

    /// The callback of a timer or work item, which gets the device it is parented to.
    type DeviceCallback: DeviceCallback<Self>;

    /// A PnP device's `EvtDevice*` PnP and power callbacks.
    type PnpPower: PnpPowerCallbacks<Self>;

    /// `EvtDriverDeviceAdd` is registered (a PnP driver).
    const PNP: bool;

    /// `DriverEntry`, after `WdfDriverCreate`: the driver's value.
    fn driver_entry(driver: DriverHandle<'_, '_, Self>) -> NtResult<Self>;

    /// `EvtDriverDeviceAdd` with the framework's FDO init.
    fn device_add(&self, init: DeviceHandle<Self>) -> NtResult;

    /// `EvtDriverUnload`.
    fn unload(&self);

    /// `EvtFileClose`.
    fn file_close(&self);

    /// A request sent with [`RequestHandle::send_observed`] came back.
    fn sent_request_completed(&self, completion: &Completion);
}

/// The `EvtIo*` callbacks of one queue.
#[cfg_attr(
    not(any(feature = "host", all(feature = "wdk", target_os = "windows"))),
    allow(dead_code, reason = "only a framework backend calls back")
)]
pub(crate) trait QueueCallbacks<D>: Send + Sync + 'static {
    /// Whether requests of `request_type` have a callback (its `EvtIo*` goes into the queue's
    /// configuration; the others stay NULL, and the framework's default applies to them).
    fn handles(&self, request_type: RequestType) -> bool;

    /// `EvtIoXxx`: the framework presents `request`, of `request_type`, to the driver, with
    /// the parameters the callback was given.
    fn present(&self, driver: &D, request_type: RequestType, request: RequestHandle, given: Given);

    /// The queue's `EvtCleanupCallback`.
    fn cleanup(&self, driver: &D);

    /// Whether the queue has an `EvtIoCanceledOnQueue`.
    fn handles_canceled_on_queue(&self) -> bool;

    /// `EvtIoCanceledOnQueue`: a request the driver had and put back in this queue was
    /// cancelled there; it is the driver's again, to complete.
    fn canceled_on_queue(&self, driver: &D, request: RequestHandle);

    /// Whether the queue is power-managed, with an `EvtIoStop` and an `EvtIoResume`.
    fn power_managed(&self) -> bool;

    /// Whether the queue's callbacks are serialized (`WdfSynchronizationScopeQueue`).
    fn synchronized(&self) -> bool;

    /// `EvtIoStop`: the device is leaving D0 (or being removed) while the driver owns
    /// `request`, which came from this queue; `flags` are the `WDF_REQUEST_STOP_ACTION_FLAGS`.
    /// The request is lent for the call (KMDF holds a reference on it meanwhile).
    fn stop(&self, driver: &D, request: RequestRef, flags: u32);

    /// `EvtIoResume`: the device is back in D0; `request` was acknowledged in `EvtIoStop`.
    fn resume(&self, driver: &D, request: RequestRef);
}

/// Where a queue's `EvtIo*` trampolines find the driver's callbacks. [`ByRecord`] reads them
/// from the queue's record, found by the `WDFQUEUE` for each request; a queue whose
/// configuration is a constant ([`StaticQueue`](crate::StaticQueue)) is created with a
/// presenter that names them, so the trampoline calls the driver's function directly (the
/// compiler inlines it), as a C driver's `EvtIo*` is its own function.
#[cfg_attr(
    not(any(feature = "host", all(feature = "wdk", target_os = "windows"))),
    allow(dead_code, reason = "only a framework backend calls back")
)]
pub(crate) trait Presenter<D: DriverCallbacks>: 'static {
    /// The queue's callbacks when they are known at compile time; `None`: read the record's.
    const CALLBACKS: Option<&'static D::Queue>;
}

/// The presenter of a queue whose callbacks are values: they are in its record.
pub(crate) struct ByRecord;

impl<D: DriverCallbacks> Presenter<D> for ByRecord {
    const CALLBACKS: Option<&'static D::Queue> = None;
}

/// The callback of an object parented to a device (`EvtTimerFunc`, `EvtWorkItemFunc`): the
/// driver, and its parent device.
#[cfg_attr(
    not(any(feature = "host", all(feature = "wdk", target_os = "windows"))),
    allow(dead_code, reason = "only a framework backend calls back")
)]
pub(crate) trait DeviceCallback<D: DriverCallbacks>: Copy + Send + Sync + 'static {
    /// Runs the driver's callback for the object parented to `device`.
    fn call(self, driver: &D, device: DeviceHandle<D>);
}

/// A device's file-object callbacks (`EvtDeviceFileCreate`, `EvtFileCleanup`,
/// `EvtFileClose`), and each open's context.
#[cfg_attr(
    not(any(feature = "host", all(feature = "wdk", target_os = "windows"))),
    allow(dead_code, reason = "only a framework backend calls back")
)]
pub(crate) trait FileEvents<D: DriverCallbacks>: Send + Sync + 'static {
    /// A new open's context, made before the create callback runs.
    fn new_context(&self) -> NtResult<FileContext>;

    /// `EvtDeviceFileCreate`: the open's file object (its context made) and the create
    /// request, which the driver completes.
    fn create(&self, driver: &D, device: DeviceHandle<D>, file: FileRef, request: RequestHandle);

    /// Whether there is an `EvtFileCleanup`.
    fn handles_cleanup(&self) -> bool;

    /// `EvtFileCleanup`.
    fn cleanup(&self, driver: &D, device: DeviceHandle<D>, file: FileRef);

    /// `EvtFileClose` (after the driver's own [`DriverCallbacks::file_close`]).
    fn close(&self, driver: &D, device: DeviceHandle<D>, file: FileRef);
}

/// A device's PnP and power callbacks (`WDF_PNPPOWER_EVENT_CALLBACKS`), stored with the device.
#[cfg_attr(
    not(any(feature = "host", all(feature = "wdk", target_os = "windows"))),
    allow(dead_code, reason = "only a framework backend calls back")
)]
pub(crate) trait PnpPowerCallbacks<D: DriverCallbacks>:
    Copy + Send + Sync + 'static
{
    /// Whether the driver handles `event` (its callback goes into the structure; the others
    /// stay NULL and the framework's default, success, applies).
    fn handles(&self, event: PnpEvent) -> bool;

    /// Runs the driver's callback for `event` on `device`; `state` is the previous state of a
    /// D0 entry and the target state of a D0 exit. Events whose callback returns nothing in
    /// KMDF (flush, cleanup, surprise removal) return `Ok`.
    fn call(
        &self,
        event: PnpEvent,
        driver: &D,
        device: DeviceHandle<D>,
        state: PowerState,
    ) -> NtResult;
}

/// A keyboard filter's view of the keystrokes its hooked class service callback passes on.
#[cfg_attr(
    not(any(feature = "host", all(feature = "wdk", target_os = "windows"))),
    allow(dead_code, reason = "only a framework backend calls back")
)]
pub(crate) trait KeyboardHook: DriverCallbacks {
    /// The port driver delivered `keys` to `device` (DISPATCH_LEVEL); the class driver gets
    /// them, as left, afterwards.
    fn keystrokes(&self, device: DeviceHandle<Self>, keys: &mut [KeyboardInputData]);
}

/// A driver's `EvtRequestCancel`, stored in the request while it is cancelable.
#[cfg_attr(
    not(any(feature = "host", all(feature = "wdk", target_os = "windows"))),
    allow(dead_code, reason = "only a framework backend calls back")
)]
pub(crate) trait CancelCallback: Copy + Send + Sync + 'static {
    /// Runs the driver's routine on the cancelled request.
    fn cancel(self, request: RequestHandle);
}

/// One buffer of a synchronous send, as its `WDF_MEMORY_DESCRIPTOR` will describe it. The
/// lower driver may write either buffer (a direct or METHOD_NEITHER IOCTL is given the buffer
/// itself), so both are borrowed exclusively.
#[cfg_attr(
    not(any(feature = "host", all(feature = "wdk", target_os = "windows"))),
    allow(dead_code, reason = "only a framework backend reads the buffers")
)]
pub(crate) enum SendBuffer<'a> {
    /// Bytes of the caller's (`WDF_MEMORY_DESCRIPTOR_INIT_BUFFER`); empty is no buffer.
    Bytes(&'a mut [u8]),
    /// Bytes the seam copies first, and describes the copy: the caller's are borrowed shared.
    Copied(&'a [u8]),
    /// `len` bytes at `offset` of a memory object (`WDF_MEMORY_DESCRIPTOR_INIT_HANDLE` with a
    /// `WDFMEMORY_OFFSET`), in bounds and not empty (checked by `memory::MemoryRange`).
    Memory {
        memory: &'a mut MemoryHandle,
        offset: usize,
        len: usize,
    },
}

#[cfg_attr(
    not(any(feature = "host", all(feature = "wdk", target_os = "windows"))),
    allow(dead_code, reason = "only a framework backend reads the buffers")
)]
impl SendBuffer<'_> {
    /// How many bytes the buffer holds.
    pub(crate) fn len(&self) -> usize {
        match self {
            Self::Bytes(bytes) => bytes.len(),
            Self::Copied(bytes) => bytes.len(),
            Self::Memory { len, .. } => *len,
        }
    }
}

/// A driver's completion routine for one of its requests it sent on
/// (`WdfRequestSetCompletionRoutine`'s routine and context): it gets the request back with the
/// target's outcome and must finish it. The seam passes it as the routine's `WDFCONTEXT`, so
/// it is one pointer (a `fn`; checked at compile time).
#[cfg_attr(
    not(any(feature = "host", all(feature = "wdk", target_os = "windows"))),
    allow(dead_code, reason = "only a framework backend calls back")
)]
pub(crate) trait SentCallback<D: DriverCallbacks>: Copy + Send + Sync + 'static {
    /// Runs the driver's routine on the request that came back.
    fn completed(
        self,
        driver: &D,
        request: RequestHandle,
        status: wdm_compat::NtStatus,
        information: usize,
    );
}

/// What an IOCTL the driver sent with memory objects came back with: the target's status and
/// `Information`, and the memory, the driver's again.
pub(crate) struct IoctlOutcome {
    pub(crate) status: wdm_compat::NtStatus,
    pub(crate) information: usize,
    pub(crate) input: Option<MemoryHandle>,
    pub(crate) output: Option<MemoryHandle>,
}

/// A driver's completion callback for an IOCTL it sent with memory objects, stored in the
/// request's context while the request is at its target.
#[cfg_attr(
    not(any(feature = "host", all(feature = "wdk", target_os = "windows"))),
    allow(dead_code, reason = "only a framework backend calls back")
)]
pub(crate) trait IoctlCallback<D: DriverCallbacks>: Copy + Send + Sync + 'static {
    /// Runs the driver's callback with the outcome, for the device that sent the IOCTL.
    fn completed(self, driver: &D, device: DeviceHandle<D>, outcome: IoctlOutcome);
}
