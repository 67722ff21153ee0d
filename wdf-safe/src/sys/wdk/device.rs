//! `WDFDEVICE_INIT` and `WDFDEVICE`: device creation, typed contexts, queues and dispatching,
//! symbolic links, device interfaces, and the device's cleanup.

use alloc::vec::Vec;
use core::any::Any;
use core::ptr;
use core::sync::atomic::{AtomicBool, AtomicPtr, AtomicU8, Ordering};
use wdm_compat::memory::try_push;

use super::contexts::ObjectHead;
use super::driver::driver;
use super::file::FileEventsCell;
use super::live::Held;
use super::queue::{self, QueueHandle};
use super::record::{ContextGuard, Entered, Ticket};
use super::request::RequestHandle;
use super::wdk_sys::{
    self, GUID, PWDFDEVICE_INIT, WDFDEVICE, WDFDRIVER, WDFOBJECT, call_unsafe_wdf_function_binding,
};
use super::{RECORD, attributes, guarded, publish_record, record_of, unicode, utf16};
use crate::sys::{
    ContextTypeInfo, ControlDeviceSettings, DispatchType, DriverCallbacks, FileEvents,
    FileEventsBox, Guid, InitSettings, Presenter, RequestContextSpec, RequestType,
};
use wdm_compat::{IoType, NtResult, NtStatus, SpinLock};

/// The crate's record of a device (the target of its [`RECORD`] context), in a slot
/// ([`record`](super::record)) until the device is destroyed and no caller is inside it.
///
/// `repr(C)` with its [`ObjectHead`] first: code that does not know `D` (an I/O target, a
/// request looking for its device's context) reads the device cell and the contexts through a
/// pointer to the record.
#[repr(C)]
pub(crate) struct DeviceRecord<D: DriverCallbacks> {
    /// The device once created (cleared when KMDF disposes it, in its `EvtCleanupCallback`),
    /// the record's ticket, and the typed contexts, dropped with the record.
    pub(super) head: ObjectHead<wdk_sys::WDFDEVICE__>,
    /// The record's own ticket, for the handles its callbacks give the driver.
    this: Ticket<Self>,
    /// `WdfDeviceCreate` made the device: its `EvtDestroyCallback` retires the record. Until
    /// then, whoever ends the init does (a failed creation, or none).
    created: AtomicBool,
    /// The FDO init lent to `EvtDriverDeviceAdd`, until `WdfDeviceCreate` or the callback's end.
    init: AtomicPtr<wdk_sys::WDFDEVICE_INIT>,
    pnp: bool,
    ready: AtomicBool,
    settings: SpinLock<InitSettings>,
    cleanup: SpinLock<Vec<fn(&D)>>,
    /// The PnP and power callbacks set on the FDO init.
    pnp_power: SpinLock<Option<D::PnpPower>>,
    /// The file-object callbacks set on the init.
    file_events: FileEventsCell<D>,
    /// The context type of the device's requests (`WdfDeviceInitSetRequestAttributes`).
    request_context: SpinLock<Option<RequestContextSpec>>,
    /// The default queue the crate created, by ticket, and how it dispatches.
    default_queue: SpinLock<Option<(QueueHandle, DispatchType)>>,
    /// The request types dispatched to a queue already (one bit per [`RequestType::ALL`]).
    dispatched: AtomicU8,
    /// `SynchronizationScope = WdfSynchronizationScopeDevice` (applied at creation).
    synchronized: AtomicBool,
}

impl<D: DriverCallbacks> DeviceRecord<D> {
    fn new(
        this: Ticket<Self>,
        init: PWDFDEVICE_INIT,
        settings: InitSettings,
        pnp: bool,
        file_events: FileEventsCell<D>,
    ) -> Self {
        Self {
            head: ObjectHead::new(this.erase()),
            this,
            created: AtomicBool::new(false),
            init: AtomicPtr::new(init),
            pnp,
            ready: AtomicBool::new(false),
            settings: SpinLock::new(settings),
            cleanup: SpinLock::new(Vec::new()),
            pnp_power: SpinLock::new(None),
            file_events,
            request_context: SpinLock::new(None),
            default_queue: SpinLock::new(None),
            dispatched: AtomicU8::new(0),
            synchronized: AtomicBool::new(false),
        }
    }

    /// The PnP and power callbacks, if the driver set any.
    pub(super) fn pnp_power_callbacks(&self) -> Option<D::PnpPower> {
        *self.pnp_power.lock()
    }

    /// The file-object callbacks, if the driver set any.
    pub(super) fn file_events(&self) -> Option<&dyn FileEvents<D>> {
        self.file_events.get()
    }

    /// The record entered through its own ticket, for a callback that runs driver code: the
    /// record stays until the guard drops even if that code deletes the device. Called while
    /// the record lives (a callback of the device or of one of its children).
    pub(super) fn enter(&self) -> Option<Entered<Self>> {
        self.this.enter()
    }

    /// The context type of the device's requests, if the driver set one.
    pub(super) fn request_context(&self) -> Option<RequestContextSpec> {
        *self.request_context.lock()
    }
}

/// `WdfControlDeviceInitAllocate` + the init's setters + `WdfDeviceCreate`. The device's
/// record takes `file` over once the device is created (a failure leaves it to the caller, for
/// a retry).
pub(super) fn create_control_device<D: DriverCallbacks>(
    driver: WDFDRIVER,
    init: &ControlDeviceSettings,
    file: &mut Option<FileEventsBox<D>>,
    request_context: Option<RequestContextSpec>,
) -> NtResult<DeviceHandle<D>> {
    // Everything that can fail before the init exists, so a failure leaves nothing to free.
    let sddl = utf16(init.sddl)?;
    let sddl = unicode(&sddl);
    let name = init.name.map(utf16).transpose()?;
    // SAFETY: `driver` is the WDFDRIVER created in this DriverEntry; the SDDL string outlives
    // the call (the framework copies it).
    let mut raw_init =
        unsafe { call_unsafe_wdf_function_binding!(WdfControlDeviceInitAllocate, driver, &sddl) };
    if raw_init.is_null() {
        return Err(NtStatus::INSUFFICIENT_RESOURCES);
    }
    if let Some(name) = &name {
        let name = unicode(name);
        // SAFETY: `raw_init` is the live init allocated above; the framework copies the name.
        let status =
            unsafe { call_unsafe_wdf_function_binding!(WdfDeviceInitAssignName, raw_init, &name) };
        if let Err(status) = NtStatus::from_raw(status).ok() {
            // SAFETY: the init was not handed to WdfDeviceCreate, so the driver still owns it.
            unsafe { call_unsafe_wdf_function_binding!(WdfDeviceInitFree, raw_init) };
            return Err(status);
        }
    }
    apply_settings::<D>(
        raw_init,
        &init.settings,
        false,
        file.as_ref().map(FileEventsBox::get),
    );
    if let Some(spec) = request_context {
        set_request_attributes(raw_init, &spec);
    }
    let record = Ticket::new(|this| {
        let record = DeviceRecord::<D>::new(
            this,
            ptr::null_mut(),
            init.settings,
            false,
            FileEventsCell::empty(),
        );
        *record.request_context.lock() = request_context;
        record
    });
    match record.and_then(|record| create_device::<D>(&mut raw_init, record, init.synchronized)) {
        Ok(handle) => {
            // The control device is not finished initializing, so nothing can open it yet.
            if let (Some(record), Some(file)) = (handle.record(), file.take()) {
                record.file_events.set_before_opens(file);
            }
            Ok(handle)
        }
        Err(status) => {
            // SAFETY: WdfDeviceCreate failed, so the init is still the driver's to free.
            unsafe { call_unsafe_wdf_function_binding!(WdfDeviceInitFree, raw_init) };
            Err(status)
        }
    }
}

/// The `WdfDeviceInitSet*` calls for the settings that differ from the framework's defaults
/// (a filter keeps what the framework takes from the device below), and the file-object
/// callbacks.
fn apply_settings<D: DriverCallbacks>(
    init: PWDFDEVICE_INIT,
    settings: &InitSettings,
    fdo: bool,
    file: Option<&dyn FileEvents<D>>,
) {
    let default = InitSettings::DEFAULT;
    if settings.io_type != default.io_type {
        // SAFETY: `init` is a live device init owned by the caller (a control init it
        // allocated, or the FDO init lent to EvtDriverDeviceAdd), not yet given to
        // WdfDeviceCreate; the same holds for every call below.
        unsafe {
            call_unsafe_wdf_function_binding!(
                WdfDeviceInitSetIoType,
                init,
                wdf_io_type(settings.io_type)
            );
        }
    }
    if settings.exclusive != default.exclusive {
        // SAFETY: as above.
        unsafe {
            call_unsafe_wdf_function_binding!(
                WdfDeviceInitSetExclusive,
                init,
                u8::from(settings.exclusive)
            );
        }
    }
    if settings.characteristics != default.characteristics {
        // SAFETY: as above. OR-ed in (TRUE), so the bits the framework set itself (such as
        // FILE_AUTOGENERATED_DEVICE_NAME on a control init) stay.
        unsafe {
            call_unsafe_wdf_function_binding!(
                WdfDeviceInitSetCharacteristics,
                init,
                settings.characteristics,
                1
            );
        }
    }
    if fdo && settings.device_type != default.device_type {
        // SAFETY: as above; control-device inits keep their default type (SDV
        // ControlDeviceInitAPI), so only an FDO init gets it.
        unsafe {
            call_unsafe_wdf_function_binding!(
                WdfDeviceInitSetDeviceType,
                init,
                u32::from(settings.device_type)
            );
        }
    }
    let (mut file_config, file_attributes) = super::file::file_config::<D>(file);
    let mut file_attributes = file_attributes;
    let attributes = file_attributes
        .as_mut()
        .map_or(wdk_sys::WDF_NO_OBJECT_ATTRIBUTES, ptr::from_mut);
    // SAFETY: as above; the configuration and the attributes are read during the call.
    unsafe {
        call_unsafe_wdf_function_binding!(
            WdfDeviceInitSetFileObjectConfig,
            init,
            &mut file_config,
            attributes
        );
    }
}

/// `WdfDeviceInitSetRequestAttributes` with `spec`'s context.
fn set_request_attributes(init: PWDFDEVICE_INIT, spec: &RequestContextSpec) {
    let mut attributes = spec.attributes();
    // SAFETY: `init` is a live device init owned by the caller and not yet given to
    // WdfDeviceCreate; the attributes are read during the call.
    unsafe {
        call_unsafe_wdf_function_binding!(WdfDeviceInitSetRequestAttributes, init, &mut attributes);
    }
}

/// `WDF_IO_TYPE` of an [`IoType`].
const fn wdf_io_type(io_type: IoType) -> wdk_sys::WDF_DEVICE_IO_TYPE {
    match io_type {
        IoType::Buffered => wdk_sys::_WDF_DEVICE_IO_TYPE::WdfDeviceIoBuffered,
        IoType::Direct => wdk_sys::_WDF_DEVICE_IO_TYPE::WdfDeviceIoDirect,
        IoType::Neither => wdk_sys::_WDF_DEVICE_IO_TYPE::WdfDeviceIoNeither,
    }
}

/// `WDF_REQUEST_TYPE` of a [`RequestType`].
const fn wdf_request_type(request_type: RequestType) -> wdk_sys::WDF_REQUEST_TYPE {
    use wdk_sys::_WDF_REQUEST_TYPE as T;
    match request_type {
        RequestType::Create => T::WdfRequestTypeCreate,
        RequestType::Read => T::WdfRequestTypeRead,
        RequestType::Write => T::WdfRequestTypeWrite,
        RequestType::DeviceControl => T::WdfRequestTypeDeviceControl,
        RequestType::InternalDeviceControl => T::WdfRequestTypeDeviceControlInternal,
    }
}

/// The device's [`RECORD`] attributes, with `WdfSynchronizationScopeDevice` when
/// `synchronized`.
fn device_attributes<D: DriverCallbacks>(synchronized: bool) -> wdk_sys::WDF_OBJECT_ATTRIBUTES {
    let mut attributes = attributes(
        &RECORD,
        Some(evt_device_cleanup::<D>),
        Some(evt_device_destroy::<D>),
    );
    if synchronized {
        attributes.SynchronizationScope =
            wdk_sys::_WDF_SYNCHRONIZATION_SCOPE::WdfSynchronizationScopeDevice;
    }
    attributes
}

/// `WdfDeviceCreate` with a [`RECORD`] context pointing to `record` (made before the framework
/// call, so nothing can fail after it); the record is retired at once if the creation fails.
fn create_device<D: DriverCallbacks>(
    init: &mut PWDFDEVICE_INIT,
    ticket: Ticket<DeviceRecord<D>>,
    synchronized: bool,
) -> NtResult<DeviceHandle<D>> {
    let Some(record) = ticket.enter() else {
        return Err(NtStatus::INVALID_DEVICE_STATE);
    };
    let mut attributes = device_attributes::<D>(synchronized);
    let mut device: WDFDEVICE = ptr::null_mut();
    // SAFETY: `init` is a live init owned by the caller; on success the framework takes it and
    // sets it to null, on failure the caller still owns it.
    let status = unsafe {
        call_unsafe_wdf_function_binding!(WdfDeviceCreate, init, &mut attributes, &mut device)
    };
    if let Err(status) = NtStatus::from_raw(status).ok() {
        drop(record);
        ticket.retire();
        return Err(status);
    }
    record.created.store(true, Ordering::Release);
    record.head.cell.set(device);
    publish_record(device.cast(), ptr::from_ref(&*record));
    Ok(DeviceHandle(ticket))
}

/// The handle of the FDO init lent to `EvtDriverDeviceAdd`: a record for the device the
/// callback may create (retired by [`end_fdo_init`] if it creates none).
pub(super) fn fdo_handle<D: DriverCallbacks>(init: PWDFDEVICE_INIT) -> Option<DeviceHandle<D>> {
    Ticket::new(|this| {
        DeviceRecord::<D>::new(
            this,
            init,
            InitSettings::DEFAULT,
            true,
            FileEventsCell::empty(),
        )
    })
    .ok()
    .map(DeviceHandle)
}

/// `EvtDriverDeviceAdd` returned: the init is the framework's again.
pub(super) fn end_fdo_init<D: DriverCallbacks>(handle: DeviceHandle<D>) {
    let Some(record) = handle.0.enter() else {
        return;
    };
    record.init.store(ptr::null_mut(), Ordering::Release);
    // The framework finishes a PnP device's initialization when `EvtDriverDeviceAdd` returns.
    record.ready.store(true, Ordering::Release);
    let created = record.created.load(Ordering::Acquire);
    drop(record);
    if !created {
        // No device, so no destroy callback: the record goes now (handles find nothing).
        handle.0.retire();
    }
}

/// `WDFDEVICE` (and, before creation, the FDO's `PWDFDEVICE_INIT`): a ticket to the device's
/// record, which finds nothing once the device is destroyed.
pub(crate) struct DeviceHandle<D: DriverCallbacks>(Ticket<DeviceRecord<D>>);

impl<D: DriverCallbacks> Clone for DeviceHandle<D> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<D: DriverCallbacks> Copy for DeviceHandle<D> {}

impl<D: DriverCallbacks> DeviceHandle<D> {
    /// The handle of a device's record (the framework's callbacks find the record first).
    pub(crate) const fn of(record: &DeviceRecord<D>) -> Self {
        Self(record.this)
    }

    /// The record, kept while the guard lives; `None` once the device is destroyed.
    fn record(self) -> Option<Entered<DeviceRecord<D>>> {
        self.0.enter()
    }

    /// The device, held by a reference for the call; `None` before creation and once KMDF
    /// disposed it.
    fn device(self) -> Option<Held<wdk_sys::WDFDEVICE__>> {
        self.record()?.head.cell.hold()
    }

    /// The record's ticket, erased, for objects that must find out later whether the device is
    /// still there (a lookaside list, whose blocks are parented to it; an I/O target).
    pub(super) const fn ticket(self) -> Ticket<()> {
        self.0.erase()
    }

    /// [`device`](Self::device), for the seam's other objects parented to it (timers).
    pub(super) fn held_device(self) -> Option<Held<wdk_sys::WDFDEVICE__>> {
        self.device()
    }

    /// `WdfFdoInitSetFilter`, at once: KMDF also reads it when `EvtDriverDeviceAdd` fails
    /// before `WdfDeviceCreate` (a filter's failure then leaves the stack working).
    pub(crate) fn fdo_init_set_filter(self) {
        let Some(record) = self.record() else { return };
        let init = record.init.load(Ordering::Acquire);
        if !init.is_null() {
            // SAFETY: the FDO init is lent to the running EvtDriverDeviceAdd (the cell is
            // cleared when `WdfDeviceCreate` consumes it or the callback returns).
            unsafe { call_unsafe_wdf_function_binding!(WdfFdoInitSetFilter, init) };
        }
    }

    /// `WdfDeviceInitSetPnpPowerEventCallbacks`, at once (the structure is read during the
    /// call); the callbacks themselves are kept in the record, where the trampolines find them.
    pub(crate) fn fdo_init_set_pnp_power_callbacks(self, callbacks: D::PnpPower) {
        let Some(record) = self.record() else { return };
        let init = record.init.load(Ordering::Acquire);
        if init.is_null() {
            return;
        }
        *record.pnp_power.lock() = Some(callbacks);
        let mut events = super::pnp_power::event_callbacks::<D>(&callbacks);
        // SAFETY: the FDO init is lent to the running EvtDriverDeviceAdd and not yet given to
        // WdfDeviceCreate (both clear the cell); the structure is read during the call.
        unsafe {
            call_unsafe_wdf_function_binding!(
                WdfDeviceInitSetPnpPowerEventCallbacks,
                init,
                &mut events
            );
        }
    }

    /// `WdfDeviceInitSetRequestAttributes` on the FDO init, at once.
    pub(crate) fn fdo_init_set_request_context(self, spec: RequestContextSpec) {
        let Some(record) = self.record() else { return };
        let init = record.init.load(Ordering::Acquire);
        if init.is_null() {
            return;
        }
        set_request_attributes(init, &spec);
        *record.request_context.lock() = Some(spec);
    }

    /// The file-object callbacks for the FDO (`WdfDeviceInitSetFileObjectConfig`, applied at
    /// `fdo_create`).
    pub(crate) fn fdo_init_set_file_events(self, events: FileEventsBox<D>) {
        let Some(record) = self.record() else { return };
        if !record.init.load(Ordering::Acquire).is_null() {
            // Before `WdfDeviceCreate` no file callback runs, so nothing reads the events yet.
            record.file_events.set_before_opens(events);
        }
    }

    /// `WdfSynchronizationScopeDevice` for the FDO (applied at `fdo_create`).
    pub(crate) fn fdo_init_set_synchronized(self) {
        if let Some(record) = self.record() {
            record.synchronized.store(true, Ordering::Relaxed);
        }
    }

    /// `WdfDeviceInitSet*` on the FDO init (applied at `fdo_create`).
    pub(crate) fn fdo_init_update(self, update: impl FnOnce(&mut InitSettings)) {
        if let Some(record) = self.record() {
            update(&mut record.settings.lock());
        }
    }

    /// `WdfDeviceCreate` with the FDO init.
    pub(crate) fn fdo_create(self) -> NtResult {
        let record = self.record().ok_or(NtStatus::INVALID_DEVICE_STATE)?;
        let mut init = record.init.load(Ordering::Acquire);
        if init.is_null() {
            return Err(NtStatus::INVALID_DEVICE_STATE);
        }
        let settings = *record.settings.lock();
        apply_settings::<D>(init, &settings, true, record.file_events());
        let mut attributes = device_attributes::<D>(record.synchronized.load(Ordering::Relaxed));
        let mut device: WDFDEVICE = ptr::null_mut();
        // SAFETY: as above; the framework consumes the init on success.
        let status = unsafe {
            call_unsafe_wdf_function_binding!(
                WdfDeviceCreate,
                &mut init,
                &mut attributes,
                &mut device
            )
        };
        NtStatus::from_raw(status).ok()?;
        record.init.store(ptr::null_mut(), Ordering::Release);
        record.created.store(true, Ordering::Release);
        record.head.cell.set(device);
        publish_record(device.cast(), ptr::from_ref(&*record));
        Ok(())
    }

    /// What the init set up.
    pub(crate) fn init_settings(self) -> InitSettings {
        self.record()
            .map_or(InitSettings::DEFAULT, |record| *record.settings.lock())
    }

    /// Attaches a context of type `T`, initialised in place.
    pub(crate) fn allocate_context<T: Any + Send + Sync>(
        self,
        info: &'static ContextTypeInfo,
        init: impl FnOnce() -> T,
        cleanup: Option<fn(&T)>,
    ) -> NtResult<ContextGuard<T>> {
        let record = self.record().ok_or(NtStatus::INVALID_DEVICE_STATE)?;
        let value = record.head.contexts.allocate(info, init, cleanup)?;
        Ok(ContextGuard::new(record, value))
    }

    /// The context whose type info is `info`, found by the info's address.
    pub(crate) fn context<T: Any>(self, info: &'static ContextTypeInfo) -> Option<ContextGuard<T>> {
        let record = self.record()?;
        let value = record.head.contexts.find::<T>(info)?;
        Some(ContextGuard::new(record, value))
    }

    /// `WdfIoQueueCreate`, the trampolines finding the callbacks through `P`.
    pub(crate) fn create_queue<P: Presenter<D>>(
        self,
        dispatch: DispatchType,
        callbacks: D::Queue,
        allow_zero_length: bool,
        default_queue: bool,
    ) -> NtResult<QueueHandle> {
        let record = self.record().ok_or(NtStatus::INVALID_DEVICE_STATE)?;
        let device = record
            .head
            .cell
            .hold()
            .ok_or(NtStatus::INVALID_DEVICE_STATE)?;
        if default_queue && record.ready.load(Ordering::Acquire) {
            return Err(NtStatus::INVALID_DEVICE_STATE);
        }
        let queue = queue::create::<D, P>(
            device.raw(),
            dispatch,
            callbacks,
            allow_zero_length,
            default_queue,
            record.request_context(),
        )?;
        if default_queue {
            *record.default_queue.lock() = Some((queue, dispatch));
        }
        Ok(queue)
    }

    /// `WdfDeviceConfigureRequestDispatching`.
    pub(crate) fn configure_request_dispatching(
        self,
        queue: QueueHandle,
        request_type: RequestType,
    ) -> NtResult {
        let record = self.record().ok_or(NtStatus::INVALID_DEVICE_STATE)?;
        let (device, raw_queue) = self.live_pair(queue)?;
        if record.ready.load(Ordering::Acquire) {
            return Err(NtStatus::INVALID_DEVICE_STATE);
        }
        let raw_queue = raw_queue.raw();
        let default = *record.default_queue.lock();
        if default.is_some_and(|(default, _)| default.peek() == Some(raw_queue)) {
            return Err(NtStatus::INVALID_DEVICE_REQUEST);
        }
        if !queue::accepts::<D>(raw_queue, request_type) {
            return Err(NtStatus::INVALID_DEVICE_REQUEST);
        }
        // KMDF refuses these three with a verifier break (FxPkgIo::ConfigureForwarding); the
        // crate refuses them first, so a driver with the verifier on never stops on them.
        let bit = 1u8
            << RequestType::ALL
                .iter()
                .position(|t| *t == request_type)
                .unwrap_or(0);
        if record.dispatched.load(Ordering::Acquire) & bit != 0 {
            return Err(NtStatus::WDF_BUSY);
        }
        // SAFETY: device and queue are live; the request type is one of the enum's values.
        let status = unsafe {
            call_unsafe_wdf_function_binding!(
                WdfDeviceConfigureRequestDispatching,
                device.raw(),
                raw_queue,
                wdf_request_type(request_type)
            )
        };
        NtStatus::from_raw(status).ok()?;
        record.dispatched.fetch_or(bit, Ordering::AcqRel);
        Ok(())
    }

    /// Registers a callback for the device's `EvtCleanupCallback`.
    pub(crate) fn on_cleanup(self, callback: fn(&D)) -> NtResult {
        let record = self.record().ok_or(NtStatus::INVALID_DEVICE_STATE)?;
        try_push(&mut record.cleanup.lock(), callback).map_err(|_| NtStatus::INSUFFICIENT_RESOURCES)
    }

    /// `WdfDeviceCreateSymbolicLink`.
    pub(crate) fn create_symbolic_link(self, link: &'static str) -> NtResult {
        let device = self.device().ok_or(NtStatus::INVALID_DEVICE_STATE)?;
        let units = utf16(link)?;
        let link = unicode(&units);
        // SAFETY: the device is live; the framework copies the name.
        let status = unsafe {
            call_unsafe_wdf_function_binding!(WdfDeviceCreateSymbolicLink, device.raw(), &link)
        };
        NtStatus::from_raw(status).ok()
    }

    /// `WdfDeviceCreateDeviceInterface`.
    pub(crate) fn create_device_interface(self, class: &Guid) -> NtResult {
        let device = self.device().ok_or(NtStatus::INVALID_DEVICE_STATE)?;
        let guid = GUID {
            Data1: class.data1,
            Data2: class.data2,
            Data3: class.data3,
            Data4: class.data4,
        };
        // SAFETY: the device is live; the GUID is read during the call; no reference string.
        let status = unsafe {
            call_unsafe_wdf_function_binding!(
                WdfDeviceCreateDeviceInterface,
                device.raw(),
                &guid,
                ptr::null()
            )
        };
        NtStatus::from_raw(status).ok()
    }

    /// `WdfControlFinishInitializing`, for a control device (a PnP device is finished by the
    /// framework when `EvtDriverDeviceAdd` returns: `end_fdo_init`).
    pub(crate) fn finish_initializing(self) {
        let Some(record) = self.record() else { return };
        record.ready.store(true, Ordering::Release);
        if let (false, Some(device)) = (record.pnp, record.head.cell.hold()) {
            // SAFETY: a live control device.
            unsafe {
                call_unsafe_wdf_function_binding!(WdfControlFinishInitializing, device.raw());
            }
        }
    }

    /// The device and queue, each held by a reference for the call, when `queue` is a queue of
    /// this device and neither has been disposed.
    pub(super) fn live_pair(
        self,
        queue: QueueHandle,
    ) -> NtResult<(Held<wdk_sys::WDFDEVICE__>, Held<wdk_sys::WDFQUEUE__>)> {
        let device = self.device().ok_or(NtStatus::INVALID_DEVICE_STATE)?;
        let held_queue = queue.hold().ok_or(NtStatus::INVALID_DEVICE_STATE)?;
        // SAFETY: a queue the crate created, held.
        let owner =
            unsafe { call_unsafe_wdf_function_binding!(WdfIoQueueGetDevice, held_queue.raw()) };
        if owner == device.raw() {
            Ok((device, held_queue))
        } else {
            Err(NtStatus::INVALID_DEVICE_REQUEST)
        }
    }

    /// [`create_control_device`] after `DriverEntry` (from `EvtDriverDeviceAdd`), with the
    /// image's `WDFDRIVER` (what `WdfGetDriver` returns).
    pub(crate) fn create_control_device_later(
        init: &ControlDeviceSettings,
        file: &mut Option<FileEventsBox<D>>,
        request_context: Option<RequestContextSpec>,
    ) -> NtResult<Self> {
        let driver = super::image()
            .map(|image| image.wdf_driver.load(Ordering::Acquire))
            .filter(|driver| !driver.is_null())
            .ok_or(NtStatus::INVALID_DEVICE_STATE)?;
        create_control_device::<D>(driver.cast(), init, file, request_context)
    }

    /// `WdfObjectDelete` of a control device (KMDF deletes PnP devices itself): its queues and
    /// the device go now; other handles to it find it gone.
    pub(crate) fn delete_control_device(self) -> NtResult {
        if self.record().is_none_or(|record| record.pnp) {
            return Err(NtStatus::INVALID_DEVICE_REQUEST);
        }
        let device = self.device().ok_or(NtStatus::INVALID_DEVICE_STATE)?;
        // SAFETY: a control device this driver created, held by a reference for the call.
        unsafe { call_unsafe_wdf_function_binding!(WdfObjectDelete, device.raw().cast()) };
        Ok(())
    }

    /// `WdfIoQueueRetrieveNextRequest`.
    pub(crate) fn retrieve_next_request(self, queue: QueueHandle) -> NtResult<RequestHandle> {
        let (_device, queue) = self.live_pair(queue)?;
        let queue = queue.raw();
        let mut request: wdk_sys::WDFREQUEST = ptr::null_mut();
        // SAFETY: a live queue of this device; the out-pointer is a local.
        let status = unsafe {
            call_unsafe_wdf_function_binding!(WdfIoQueueRetrieveNextRequest, queue, &mut request)
        };
        NtStatus::from_raw(status).ok()?;
        let spec = self.record().and_then(|record| record.request_context());
        super::request_context::init_request_context(request, spec);
        RequestHandle::accept(request).ok_or(NtStatus::NO_MORE_ENTRIES)
    }

    /// `WdfDeviceGetDefaultQueue`, if the default queue dispatches as `dispatch`.
    pub(crate) fn default_queue(self, dispatch: DispatchType) -> Option<QueueHandle> {
        let record = self.record()?;
        let device = record.head.cell.hold()?;
        let created = *record.default_queue.lock();
        queue::default_queue_of(device.raw(), created, dispatch)
    }

    /// `WdfIoQueueRetrieveRequestByFileObject`: the first request of the open `file` in a
    /// queue of this device.
    pub(crate) fn retrieve_request_by_file_object(
        self,
        queue: QueueHandle,
        file: super::file::FileRef,
    ) -> NtResult<RequestHandle> {
        let (_device, queue) = self.live_pair(queue)?;
        let queue = queue.raw();
        let mut request: wdk_sys::WDFREQUEST = ptr::null_mut();
        // SAFETY: a live queue of this device; the file object is lent to the caller (a
        // callback's or a request's), so it lives for the call; the out-pointer is a local.
        let status = unsafe {
            call_unsafe_wdf_function_binding!(
                WdfIoQueueRetrieveRequestByFileObject,
                queue,
                file.raw(),
                &mut request
            )
        };
        NtStatus::from_raw(status).ok()?;
        let spec = self.record().and_then(|record| record.request_context());
        super::request_context::init_request_context(request, spec);
        RequestHandle::accept(request).ok_or(NtStatus::NO_MORE_ENTRIES)
    }

    /// `WdfIoQueueStop` (asynchronous: no stop-complete callback).
    pub(crate) fn stop_queue(self, queue: QueueHandle) {
        if let Ok((_device, queue)) = self.live_pair(queue) {
            // SAFETY: a held queue of this device; no callback, so no context.
            unsafe {
                call_unsafe_wdf_function_binding!(
                    WdfIoQueueStop,
                    queue.raw(),
                    None,
                    ptr::null_mut()
                );
            }
        }
    }

    /// The device's default I/O target (`WdfDeviceGetIoTarget`), when it has one.
    pub(crate) fn default_io_target(self) -> Option<super::request::IoTargetHandle> {
        super::request::IoTargetHandle::of_device(self.ticket())
    }

    /// `WdfIoQueueStopSynchronously`, which waits, so PASSIVE_LEVEL only (refused above it,
    /// as `purge_queue` is).
    pub(crate) fn stop_queue_synchronously(self, queue: QueueHandle) -> NtResult {
        let irql = crate::sys::current_irql();
        if irql > 0 {
            wdm_compat::kd_print!(
                "WdfIoQueueStopSynchronously refused at IRQL {irql}: it waits, so it needs PASSIVE_LEVEL"
            );
            return Err(NtStatus::INVALID_DEVICE_REQUEST);
        }
        let _claimed = queue.begin_transition().ok_or(NtStatus::WDF_BUSY)?;
        let (_device, queue) = self.live_pair(queue)?;
        // SAFETY: a held queue of this device, at PASSIVE_LEVEL, with no other synchronous stop
        // or purge of the crate's under way on it.
        unsafe { call_unsafe_wdf_function_binding!(WdfIoQueueStopSynchronously, queue.raw()) };
        Ok(())
    }

    /// `WdfIoQueueStart`.
    pub(crate) fn start_queue(self, queue: QueueHandle, _driver: &D) {
        if let Ok((_device, queue)) = self.live_pair(queue) {
            // SAFETY: a held queue of this device.
            unsafe { call_unsafe_wdf_function_binding!(WdfIoQueueStart, queue.raw()) };
        }
    }

    /// `WdfIoQueuePurgeSynchronously`, which waits, so PASSIVE_LEVEL only: above it the call
    /// is refused with a trace line (KMDF's verifier would break; without it the wait could
    /// deadlock the processor).
    pub(crate) fn purge_queue(self, queue: QueueHandle) {
        let irql = crate::sys::current_irql();
        if irql > 0 {
            wdm_compat::kd_print!(
                "WdfIoQueuePurgeSynchronously refused at IRQL {irql}: it waits, so it needs PASSIVE_LEVEL"
            );
            return;
        }
        let Some(_claimed) = queue.begin_transition() else {
            wdm_compat::kd_print!(
                "WdfIoQueuePurgeSynchronously refused: another stop or purge of the queue is under way"
            );
            return;
        };
        if let Ok((_device, queue)) = self.live_pair(queue) {
            // SAFETY: a held queue of this device, with no other synchronous stop or purge of
            // the crate's under way on it.
            unsafe {
                call_unsafe_wdf_function_binding!(WdfIoQueuePurgeSynchronously, queue.raw());
            }
        }
    }
}

/// The device's `EvtCleanupCallback`: the driver's cleanup callbacks, then the contexts' (the
/// queues, children of the device, were cleaned up before).
unsafe extern "C" fn evt_device_cleanup<D: DriverCallbacks>(object: WDFOBJECT) {
    guarded((), || {
        // SAFETY: the record lives until the device's destroy callback retires it, and this
        // is the device's own callback.
        let Some(record) = (unsafe { record_of::<DeviceRecord<D>>(object).as_ref() }) else {
            return;
        };
        // KMDF disposed the device: from now on the crate's handles find no device.
        record.head.cell.close();
        if let Some(driver) = driver::<D>() {
            // One at a time, outside the lock (a callback may register another), with no copy
            // of the list (which would allocate).
            let mut index = 0;
            loop {
                let next = record.cleanup.lock().get(index).copied();
                let Some(callback) = next else { break };
                callback(driver);
                index += 1;
            }
        }
        record.head.contexts.cleanup();
    });
}

/// The device's `EvtDestroyCallback`: the object no longer points to its record (whose cell was
/// cleared at cleanup; a device whose creation failed half-way has no cleanup, so again here),
/// and the record is retired: freed now, or by the last caller inside it.
unsafe extern "C" fn evt_device_destroy<D: DriverCallbacks>(object: WDFOBJECT) {
    guarded((), || {
        // SAFETY: the record lives until it is retired below; this is the device's own
        // callback, its last.
        let ticket = unsafe { record_of::<DeviceRecord<D>>(object).as_ref() }.map(|record| {
            record.head.cell.close();
            record.this
        });
        publish_record::<DeviceRecord<D>>(object, ptr::null());
        if let Some(ticket) = ticket {
            ticket.retire();
        }
    });
}
