//! The backend used when no framework is selected (for example `x86_64-unknown-none` without
//! features). Every handle holds a reference to an uninhabited type: no handle can ever be
//! made, so every call is statically unreachable (`match *self.0 {}`, no `unsafe` needed). It
//! exists so the typestate API builds on a bare `no_std` target, and it is the written
//! contract every other backend implements with the same signatures.

use core::marker::PhantomData;

use core::any::Any;

use wdm_compat::{NtResult, NtStatus, Parameters};

use super::{
    CancelCallback, ContextTypeInfo, ControlDeviceSettings, DispatchType, DriverCallbacks, Guid,
    InitSettings, Presenter, RequestType,
};

/// No framework object exists on this backend.
pub(crate) enum Never {}

/// `WDFDRIVER` during `DriverEntry`.
pub(crate) struct DriverHandle<'a, 'b, D>(&'a mut Never, Lifetimes<'b, D>);

/// The driver type and setup lifetime a `DriverHandle` carries.
type Lifetimes<'b, D> = PhantomData<(&'b (), fn(&D))>;

impl<D: DriverCallbacks> DriverHandle<'_, '_, D> {
    /// `WdfDeviceCreate` with a control-device init.
    pub(crate) fn create_control_device(
        &mut self,
        _init: &ControlDeviceSettings,
        _file: &mut Option<FileEventsBox<D>>,
        _request_context: Option<RequestContextSpec>,
    ) -> NtResult<DeviceHandle<D>> {
        match *self.0 {}
    }
}

/// `WDFDEVICE`.
pub(crate) struct DeviceHandle<D>(&'static Never, PhantomData<fn(&D)>);

impl<D> Clone for DeviceHandle<D> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<D> Copy for DeviceHandle<D> {}

impl<D: DriverCallbacks> DeviceHandle<D> {
    /// `WdfFdoInitSetFilter`.
    pub(crate) fn fdo_init_set_filter(self) {
        match *self.0 {}
    }

    /// `WdfSynchronizationScopeDevice` for the FDO.
    pub(crate) fn fdo_init_set_synchronized(self) {
        match *self.0 {}
    }

    /// `WdfDeviceInitSetPnpPowerEventCallbacks`.
    pub(crate) fn fdo_init_set_pnp_power_callbacks(self, _callbacks: D::PnpPower) {
        match *self.0 {}
    }

    /// `WdfDeviceInitSetRequestAttributes`.
    pub(crate) fn fdo_init_set_request_context(self, _spec: RequestContextSpec) {
        match *self.0 {}
    }

    /// The FDO's file-object callbacks.
    pub(crate) fn fdo_init_set_file_events(self, _events: FileEventsBox<D>) {
        match *self.0 {}
    }

    /// `WdfDeviceInitSet*` on the FDO init.
    pub(crate) fn fdo_init_update(self, _update: impl FnOnce(&mut InitSettings)) {
        match *self.0 {}
    }

    /// `WdfDeviceCreate` with the FDO init.
    pub(crate) fn fdo_create(self) -> NtResult {
        match *self.0 {}
    }

    /// What the init set up.
    pub(crate) fn init_settings(self) -> InitSettings {
        match *self.0 {}
    }

    /// `WdfObjectAllocateContext` + in-place initialisation.
    pub(crate) fn allocate_context<T: Any + Send + Sync>(
        self,
        _info: &'static ContextTypeInfo,
        _init: impl FnOnce() -> T,
        _cleanup: Option<fn(&T)>,
    ) -> NtResult<ContextGuard<T>> {
        match *self.0 {}
    }

    /// `WdfObjectGetTypedContextWorker`.
    pub(crate) fn context<T: Any>(
        self,
        _info: &'static ContextTypeInfo,
    ) -> Option<ContextGuard<T>> {
        match *self.0 {}
    }

    /// `WdfIoQueueCreate`.
    pub(crate) fn create_queue<P: Presenter<D>>(
        self,
        _dispatch: DispatchType,
        _callbacks: D::Queue,
        _allow_zero_length: bool,
        _default_queue: bool,
    ) -> NtResult<QueueHandle> {
        match *self.0 {}
    }

    /// `WdfDeviceConfigureRequestDispatching`.
    pub(crate) fn configure_request_dispatching(
        self,
        _queue: QueueHandle,
        _request_type: RequestType,
    ) -> NtResult {
        match *self.0 {}
    }

    /// The device's `EvtCleanupCallback`.
    pub(crate) fn on_cleanup(self, _callback: fn(&D)) -> NtResult {
        match *self.0 {}
    }

    /// `WdfDeviceCreateSymbolicLink`.
    pub(crate) fn create_symbolic_link(self, _link: &'static str) -> NtResult {
        match *self.0 {}
    }

    /// `WdfDeviceCreateDeviceInterface`.
    pub(crate) fn create_device_interface(self, _class: &Guid) -> NtResult {
        match *self.0 {}
    }

    /// `WdfControlFinishInitializing`.
    pub(crate) fn finish_initializing(self) {
        match *self.0 {}
    }

    /// `WdfDeviceGetIoTarget`.
    pub(crate) fn default_io_target(self) -> Option<IoTargetHandle> {
        match *self.0 {}
    }

    /// `WdfIoQueueStopSynchronously`.
    pub(crate) fn stop_queue_synchronously(self, _queue: QueueHandle) -> NtResult {
        match *self.0 {}
    }

    /// `WdfIoQueueRetrieveNextRequest`.
    pub(crate) fn retrieve_next_request(self, _queue: QueueHandle) -> NtResult<RequestHandle> {
        match *self.0 {}
    }

    /// `WdfDeviceGetDefaultQueue`.
    pub(crate) fn default_queue(self, _dispatch: crate::sys::DispatchType) -> Option<QueueHandle> {
        match *self.0 {}
    }

    /// `WdfIoQueueRetrieveRequestByFileObject`.
    pub(crate) fn retrieve_request_by_file_object(
        self,
        _queue: QueueHandle,
        _file: FileRef,
    ) -> NtResult<RequestHandle> {
        match *self.0 {}
    }

    /// `WdfIoQueueStop`.
    pub(crate) fn stop_queue(self, _queue: QueueHandle) {
        match *self.0 {}
    }

    /// `WdfIoQueueStart`.
    pub(crate) fn start_queue(self, _queue: QueueHandle, _driver: &D) {
        match *self.0 {}
    }

    /// `WdfIoQueuePurgeSynchronously`.
    pub(crate) fn purge_queue(self, _queue: QueueHandle) {
        match *self.0 {}
    }

    /// A control device after `DriverEntry`: no framework, no device.
    pub(crate) const fn create_control_device_later(
        _init: &ControlDeviceSettings,
        _file: &mut Option<FileEventsBox<D>>,
        _request_context: Option<RequestContextSpec>,
    ) -> NtResult<Self> {
        Err(NtStatus::NOT_SUPPORTED)
    }

    /// `WdfObjectDelete` of a control device.
    pub(crate) fn delete_control_device(self) -> NtResult {
        match *self.0 {}
    }
}

/// `WDFQUEUE`.
#[derive(Clone, Copy)]
pub(crate) struct QueueHandle(&'static Never);

impl QueueHandle {
    /// Requests waiting in the queue.
    pub(crate) fn queued(self) -> usize {
        match *self.0 {}
    }

    /// `WdfObjectAllocateContext` on the queue.
    pub(crate) fn allocate_context<T: Any + Send + Sync>(
        self,
        _info: &'static ContextTypeInfo,
        _init: impl FnOnce() -> T,
        _cleanup: Option<fn(&T)>,
    ) -> NtResult<ContextGuard<T>> {
        match *self.0 {}
    }

    /// `WdfObjectGetTypedContextWorker` on the queue.
    pub(crate) fn context<T: Any>(
        self,
        _info: &'static ContextTypeInfo,
    ) -> Option<ContextGuard<T>> {
        match *self.0 {}
    }
}

/// `WDFREQUEST`.
pub(crate) struct RequestHandle(&'static Never);

/// A device's request context type: nothing to register without a framework.
#[derive(Clone, Copy)]
pub(crate) struct RequestContextSpec;

impl RequestContextSpec {
    /// The spec of `T`.
    #[allow(
        clippy::extra_unused_type_parameters,
        reason = "the framework backend's signature: it registers `T`'s size"
    )]
    pub(crate) const fn of<T>(_info: &'static ContextTypeInfo) -> Self {
        Self
    }
}

/// An open's context value, boxed.
pub(crate) struct FileContext(
    #[allow(dead_code, reason = "uninhabited: no backend")] &'static Never,
);

impl FileContext {
    /// Boxes `value`: no backend, nothing to box into.
    pub(crate) fn new<C: Any + Send + Sync>(_value: C) -> NtResult<Self> {
        Err(NtStatus::NOT_SUPPORTED)
    }
}

/// A `WDFFILEOBJECT` lent to a callback.
#[derive(Clone, Copy)]
pub(crate) struct FileRef(&'static Never);

impl FileRef {
    /// The open's context, if it is a `C`.
    pub(crate) fn context<'a, C: Any>(self) -> Option<&'a C> {
        match *self.0 {}
    }
}

/// Keeps a device's file callbacks: no backend, nothing to keep them for.
pub(crate) fn keep_file_events<D: DriverCallbacks, E: crate::sys::FileEvents<D>>(
    _events: E,
) -> NtResult<FileEventsBox<D>> {
    Err(NtStatus::NOT_SUPPORTED)
}

/// A `WDFREQUEST` lent to `EvtIoStop` or `EvtIoResume`.
#[derive(Clone, Copy)]
pub(crate) struct RequestRef(&'static Never);

impl RequestRef {
    /// `WdfRequestStopAcknowledge(Requeue = FALSE)`.
    pub(crate) fn stop_acknowledge(self) {
        match *self.0 {}
    }
}

impl RequestHandle {
    /// `WdfRequestGetParameters`'s `Type`.
    pub(crate) fn request_type(&self) -> RequestType {
        match *self.0 {}
    }

    /// `WdfRequestGetParameters`.
    pub(crate) fn parameters(&self) -> Parameters {
        match *self.0 {}
    }

    /// `WdfRequestSetInformation`.
    pub(crate) fn set_information(&self, _information: usize) {
        match *self.0 {}
    }

    /// `WdfRequestGetInformation`.
    pub(crate) fn information(&self) -> usize {
        match *self.0 {}
    }

    /// `WdfRequestCompleteWithInformation`.
    pub(crate) fn complete(self, _status: NtStatus, _information: usize) {
        match *self.0 {}
    }

    /// `WdfRequestForwardToIoQueue`.
    pub(crate) fn forward_to_queue(self, _queue: QueueHandle) -> Result<(), (Self, NtStatus)> {
        match *self.0 {}
    }

    /// `WdfDeviceGetIoTarget` of the request's device.
    pub(crate) fn default_io_target(&self) -> Option<IoTargetHandle> {
        match *self.0 {}
    }

    /// `WdfRequestGetFileObject`.
    pub(crate) fn file_object(&self) -> Option<FileRef> {
        match *self.0 {}
    }

    /// The request's own context.
    pub(crate) fn context<T: Any>(&self, _info: &'static ContextTypeInfo) -> Option<&T> {
        match *self.0 {}
    }

    /// The context of the request's queue.
    pub(crate) fn queue_context<T: Any>(
        &self,
        _info: &'static ContextTypeInfo,
    ) -> Option<ContextGuard<T>> {
        match *self.0 {}
    }

    /// The context of the request's device.
    pub(crate) fn device_context<T: Any>(
        &self,
        _info: &'static ContextTypeInfo,
    ) -> Option<ContextGuard<T>> {
        match *self.0 {}
    }

    /// kbfiltr's connect hook.
    #[allow(
        clippy::extra_unused_type_parameters,
        reason = "the host backend's signature: the hooked callback reaches driver `D`"
    )]
    pub(crate) fn hook_keyboard_connect<D: crate::sys::KeyboardHook>(&mut self) -> NtResult {
        match *self.0 {}
    }

    /// Undoes the connect hook.
    pub(crate) fn unhook_keyboard_connect(&self) {
        match *self.0 {}
    }

    /// `WdfRequestSend(SEND_AND_FORGET)`.
    pub(crate) fn send_synchronously(
        self,
        _target: &IoTargetHandle,
        _timeout_ms: u32,
    ) -> Result<(Self, NtStatus), (Self, NtStatus)> {
        match *self.0 {}
    }

    /// `WdfRequestSend(SEND_AND_FORGET)`.
    pub(crate) fn send_and_forget(self, _target: &IoTargetHandle) -> Result<(), (Self, NtStatus)> {
        match *self.0 {}
    }

    /// `WdfRequestSend` with a completion routine.
    #[allow(
        clippy::extra_unused_type_parameters,
        reason = "the host backend's signature: the completion routine reaches driver `D`"
    )]
    pub(crate) fn send_with_completion<D: DriverCallbacks>(
        self,
        _target: &IoTargetHandle,
        _observe: bool,
    ) -> Result<(), (Self, NtStatus)> {
        match *self.0 {}
    }

    /// `WdfRequestSend` with the driver's completion routine.
    #[allow(
        clippy::extra_unused_type_parameters,
        reason = "the host backend's signature: the completion routine reaches driver `D`"
    )]
    pub(crate) fn send_with_routine<D: DriverCallbacks, C: crate::sys::SentCallback<D>>(
        self,
        _target: &IoTargetHandle,
        _routine: C,
    ) -> Result<(), (Self, NtStatus)> {
        match *self.0 {}
    }

    /// `WdfRequestIsCanceled`.
    pub(crate) fn is_canceled(&self) -> bool {
        match *self.0 {}
    }

    /// `WdfRequestRetrieveOutputBuffer` on a read.
    pub(crate) fn read_buffer(&mut self) -> NtResult<&mut [u8]> {
        match *self.0 {}
    }

    /// `WdfRequestRetrieveInputBuffer` on a write.
    pub(crate) fn write_buffer(&mut self) -> NtResult<&[u8]> {
        match *self.0 {}
    }

    /// `WdfRequestRetrieveInputBuffer` on a device control.
    pub(crate) fn ioctl_input(&mut self) -> NtResult<&[u8]> {
        match *self.0 {}
    }

    /// `WdfRequestRetrieveOutputBuffer` on a device control.
    pub(crate) fn ioctl_output(&mut self) -> NtResult<&mut [u8]> {
        match *self.0 {}
    }

    /// The first `length` bytes of a device control's input buffer.
    pub(crate) fn ioctl_input_prefix(&mut self, _length: usize) -> NtResult<&[u8]> {
        match *self.0 {}
    }

    /// The first `length` bytes of a device control's output buffer.
    pub(crate) fn ioctl_output_prefix(&mut self, _length: usize) -> NtResult<&mut [u8]> {
        match *self.0 {}
    }

    /// `WdfRequestMarkCancelableEx`.
    pub(crate) fn mark_cancelable<C: CancelCallback>(
        self,
        _routine: C,
    ) -> Result<KeptHandle, (Self, NtStatus)> {
        match *self.0 {}
    }

    /// The request handle was dropped while the driver owned it.
    pub(crate) fn dropped(self) {
        match *self.0 {}
    }
}

/// `WDFIOTARGET`.
#[derive(Clone, Copy)]
pub(crate) struct IoTargetHandle(&'static Never);

impl IoTargetHandle {
    /// `WdfIoTargetSend(Internal)IoctlSynchronously`.
    pub(crate) fn send_ioctl_synchronously(
        &self,
        _internal: bool,
        _code: u32,
        _input: crate::sys::SendBuffer<'_>,
        _output: crate::sys::SendBuffer<'_>,
        _timeout_ms: u32,
    ) -> NtResult<usize> {
        match *self.0 {}
    }
}

impl core::fmt::Debug for IoTargetHandle {
    fn fmt(&self, _f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match *self.0 {}
    }
}

/// `WDFWAITLOCK`: none can be made without a framework.
pub(crate) struct WaitLockHandle(&'static Never);

impl WaitLockHandle {
    /// `WdfWaitLockCreate`: no framework, no lock.
    pub(crate) const fn create() -> NtResult<Self> {
        Err(NtStatus::NOT_SUPPORTED)
    }

    /// `WdfWaitLockAcquire` with no timeout.
    pub(crate) fn acquire(&self) -> NtResult {
        match *self.0 {}
    }

    /// `WdfWaitLockAcquire` with a zero timeout.
    pub(crate) fn try_acquire(&self) -> bool {
        match *self.0 {}
    }

    /// `WdfWaitLockRelease`.
    pub(crate) fn release(&self) {
        match *self.0 {}
    }
}

/// `WDFTIMER`: none can be made without a framework.
pub(crate) struct TimerHandle<D>(&'static Never, PhantomData<fn(&D)>);

impl<D> Clone for TimerHandle<D> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<D> Copy for TimerHandle<D> {}

impl<D: super::DriverCallbacks> TimerHandle<D> {
    /// `WdfObjectAllocateContext` on the object.
    pub(crate) fn allocate_context<T: core::any::Any + Send + Sync>(
        self,
        _info: &'static crate::sys::ContextTypeInfo,
        _init: impl FnOnce() -> T,
        _cleanup: Option<fn(&T)>,
    ) -> NtResult<ContextGuard<T>> {
        match *self.0 {}
    }

    /// The object's context whose type info is `info`.
    pub(crate) fn context<T: core::any::Any>(
        self,
        _info: &'static crate::sys::ContextTypeInfo,
    ) -> Option<ContextGuard<T>> {
        match *self.0 {}
    }

    /// `WdfTimerCreate`.
    pub(crate) fn create(
        device: DeviceHandle<D>,
        _period_ms: u32,
        _callback: D::DeviceCallback,
        _serialized_with: Option<QueueHandle>,
    ) -> NtResult<Self> {
        match *device.0 {}
    }

    /// `WdfTimerStart`.
    pub(crate) fn start(self, _due_ms: u32) -> bool {
        match *self.0 {}
    }

    /// `WdfTimerStop`.
    pub(crate) fn stop(self, _wait: bool) -> NtResult<bool> {
        match *self.0 {}
    }
}

/// `WDFWORKITEM`: none can be made without a framework.
pub(crate) struct WorkItemHandle<D>(&'static Never, PhantomData<fn(&D)>);

impl<D> Clone for WorkItemHandle<D> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<D> Copy for WorkItemHandle<D> {}

impl<D: super::DriverCallbacks> WorkItemHandle<D> {
    /// `WdfObjectAllocateContext` on the object.
    pub(crate) fn allocate_context<T: core::any::Any + Send + Sync>(
        self,
        _info: &'static crate::sys::ContextTypeInfo,
        _init: impl FnOnce() -> T,
        _cleanup: Option<fn(&T)>,
    ) -> NtResult<ContextGuard<T>> {
        match *self.0 {}
    }

    /// The object's context whose type info is `info`.
    pub(crate) fn context<T: core::any::Any>(
        self,
        _info: &'static crate::sys::ContextTypeInfo,
    ) -> Option<ContextGuard<T>> {
        match *self.0 {}
    }

    /// `WdfWorkItemCreate`.
    pub(crate) fn create(device: DeviceHandle<D>, _callback: D::DeviceCallback) -> NtResult<Self> {
        match *device.0 {}
    }

    /// `WdfWorkItemEnqueue`.
    pub(crate) fn enqueue(self) {
        match *self.0 {}
    }

    /// `WdfWorkItemFlush`.
    pub(crate) fn flush(self) -> NtResult {
        match *self.0 {}
    }
}

/// `WDFKEY`: none can be opened without a framework.
pub(crate) struct ParametersKey(&'static Never);

impl<D: DriverCallbacks> DriverHandle<'_, '_, D> {
    /// `WdfDriverOpenParametersRegistryKey`.
    pub(crate) fn open_parameters_key(&self) -> NtResult<ParametersKey> {
        match *self.0 {}
    }
}

impl ParametersKey {
    /// `WdfRegistryQueryULong`.
    pub(crate) fn query_u32(&self, _name: &str) -> NtResult<u32> {
        match *self.0 {}
    }
}

/// `WDFLOOKASIDE`.
pub(crate) struct LookasideHandle(&'static Never);

impl LookasideHandle {
    /// `WdfLookasideListCreate`.
    pub(crate) fn create<D: DriverCallbacks>(
        device: DeviceHandle<D>,
        _size: usize,
        _align: usize,
        _tag: u32,
        _paged: bool,
    ) -> NtResult<Self> {
        match *device.0 {}
    }

    /// `WdfMemoryCreateFromLookaside`.
    pub(crate) fn allocate<T>(&self, _value: T) -> Result<LookasideBlock<T>, (T, NtStatus)> {
        match *self.0 {}
    }
}

/// A `T` in a lookaside block.
pub(crate) struct LookasideBlock<T>(&'static Never, PhantomData<T>);

impl<T> LookasideBlock<T> {
    /// Whether the block may be touched now.
    pub(crate) fn resident(&self) -> bool {
        match *self.0 {}
    }
}

impl<T> core::ops::Deref for LookasideBlock<T> {
    type Target = T;

    fn deref(&self) -> &T {
        match *self.0 {}
    }
}

impl<T> core::ops::DerefMut for LookasideBlock<T> {
    fn deref_mut(&mut self) -> &mut T {
        match *self.0 {}
    }
}

/// A `WDFMEMORY` of the driver's own.
pub(crate) struct MemoryHandle(&'static Never);

impl MemoryHandle {
    /// `WdfMemoryCreate`.
    pub(crate) fn create<D: DriverCallbacks>(
        device: DeviceHandle<D>,
        _len: usize,
        _tag: u32,
    ) -> NtResult<Self> {
        match *device.0 {}
    }

    /// The bytes.
    pub(crate) fn as_slice(&self) -> &[u8] {
        match *self.0 {}
    }

    /// The bytes, to write.
    pub(crate) fn as_mut_slice(&mut self) -> &mut [u8] {
        match *self.0 {}
    }
}

impl<D: DriverCallbacks> DeviceHandle<D> {
    /// `WdfRequestCreate` + `WdfIoTargetFormatRequestForIoctl` + `WdfRequestSend`.
    pub(crate) fn send_ioctl<C: super::IoctlCallback<D>>(
        self,
        _internal: bool,
        _code: u32,
        _input: Option<MemoryHandle>,
        _output: Option<MemoryHandle>,
        _callback: C,
    ) -> Result<(), (NtStatus, Option<MemoryHandle>, Option<MemoryHandle>)> {
        match *self.0 {}
    }
}

/// A cancelable request kept past its callback.
pub(crate) struct KeptHandle(&'static Never);

impl KeptHandle {
    /// `WdfRequestUnmarkCancelable`.
    pub(crate) fn unmark(self) -> Result<RequestHandle, NtStatus> {
        match *self.0 {}
    }

    /// Letting go of it.
    pub(crate) fn leave(self) {
        match *self.0 {}
    }
}

/// A device's file callbacks: none without a framework.
pub(crate) struct FileEventsBox<D>(
    #[allow(dead_code, reason = "uninhabited: no backend")] &'static Never,
    PhantomData<fn(&D)>,
);

/// A typed context of a record: none without a framework.
pub(crate) struct ContextGuard<T>(&'static Never, PhantomData<T>);

impl<T> ContextGuard<T> {
    /// The context pinned.
    pub(crate) fn pinned(self) -> core::pin::Pin<Self> {
        match *self.0 {}
    }
}

impl<T> core::ops::Deref for ContextGuard<T> {
    type Target = T;

    fn deref(&self) -> &T {
        match *self.0 {}
    }
}
