//! `WDFDEVICE_INIT` and `WDFDEVICE` in types.
//!
//! * [`ControlDeviceInit`] comes only from [`ControlDeviceInit::allocate`] (SDV
//!   DeviceInitAllocate) and exposes only the setters allowed on a control-device init (SDV
//!   ControlDeviceInitAPI). [`FdoInit`] is the framework's init handed to
//!   `EvtDriverDeviceAdd`: a borrow that dies with the callback, with no `free` (SDV
//!   DoubleDeviceInitFree; freeing the framework's init is impossible).
//! * `create` consumes the init (SDV DeviceInitAPI, InitFreeDeviceCreateType2: nothing can be
//!   configured or created after); on failure it hands the init back with the status, so the
//!   caller can fix and retry, or drop it (which frees a control init: SDV
//!   InitFreeDeviceCreateType4).
//! * A control device starts [`Initializing`]: queues, request dispatching and the symbolic
//!   link are set up then; [`Device::finish_initializing`] moves it to [`Ready`], the only state
//!   in which it receives I/O and in which the driver works its queues (SDV
//!   CtlDeviceFinishInitDrEntry / CtlDeviceFinishInitDeviceAdd).

use core::marker::PhantomData;

use wdm_compat::{IoType, NtResult, NtStatus};

use crate::context::{ContextRef, ContextType};
use crate::driver::{DriverContext, KmdfDriver};
use crate::file::{FileConfig, FileObject};
use crate::kind::state::{Adding, BeingSetUp, Initializing, Ready};
use crate::kind::{QueueKind, RequestType, Retrievable};
use crate::pnp_power::PnpPowerCallbacks;
use crate::queue::{Queue, QueueConfig, StaticPresenter, StaticQueue};
use crate::request::AnyRequest;
use crate::sys::RequestContextSpec;
use crate::sys::{self, DeviceHandle};

use crate::sys::ControlDeviceSettings;
pub use crate::sys::{FILE_DEVICE_SECURE_OPEN, Guid, InitSettings};
/// `SDDL_DEVOBJ_SYS_ALL_ADM_ALL`: only the system and administrators may open the device.
pub const SDDL_DEVOBJ_SYS_ALL_ADM_ALL: &str = "D:P(A;;GA;;;SY)(A;;GA;;;BA)";

/// A control-device init (`WdfControlDeviceInitAllocate`).
///
/// Simulation: the init is the driver's own builder until `create` hands it to the framework;
/// on Windows it will hold the `PWDFDEVICE_INIT`.
#[must_use = "dropping the init frees it (WdfDeviceInitFree)"]
pub struct ControlDeviceInit<D: KmdfDriver> {
    init: ControlDeviceSettings,
    file: Option<crate::sys::FileEventsBox<D>>,
    request_context: Option<RequestContextSpec>,
    _driver: PhantomData<fn(&D)>,
}

impl<D: KmdfDriver> ControlDeviceInit<D> {
    /// `WdfControlDeviceInitAllocate(driver, sddl)`; `None` when the framework cannot allocate
    /// it.
    ///
    /// IRQL: PASSIVE_LEVEL.
    pub fn allocate(driver: &mut DriverContext<'_, '_, D>, sddl: &'static str) -> Option<Self> {
        let _ = driver;
        Some(Self {
            init: ControlDeviceSettings {
                name: None,
                sddl,
                settings: InitSettings::DEFAULT,
                synchronized: false,
            },
            file: None,
            request_context: None,
            _driver: PhantomData,
        })
    }

    /// `WdfDeviceInitAssignName`: a `\Device\...` name.
    ///
    /// IRQL: PASSIVE_LEVEL.
    ///
    /// # Errors
    ///
    /// `STATUS_OBJECT_NAME_INVALID` for a name outside `\Device\`.
    pub fn assign_name(&mut self, name: &'static str) -> NtResult {
        if !name.starts_with(r"\Device\") {
            return Err(NtStatus::OBJECT_NAME_INVALID);
        }
        self.init.name = Some(name);
        Ok(())
    }

    /// `WdfDeviceInitAssignSDDLString`: replaces the SDDL given at allocation (it cannot be
    /// removed, so there is no `None`).
    ///
    /// Simulation: recorded; the simulated I/O manager does not check access.
    ///
    /// IRQL: PASSIVE_LEVEL.
    pub const fn assign_sddl(&mut self, sddl: &'static str) {
        self.init.sddl = sddl;
    }

    /// `WdfDeviceInitSetIoType`.
    ///
    /// IRQL: ≤ DISPATCH_LEVEL.
    pub const fn set_io_type(&mut self, io_type: IoType) {
        self.init.settings.io_type = io_type;
    }

    /// `WdfDeviceInitSetExclusive`.
    ///
    /// IRQL: ≤ DISPATCH_LEVEL.
    pub const fn set_exclusive(&mut self, exclusive: bool) {
        self.init.settings.exclusive = exclusive;
    }

    /// The device's attributes get `SynchronizationScope = WdfSynchronizationScopeDevice`: see
    /// [`FdoInit::set_synchronization_scope_device`].
    ///
    /// IRQL: any: it only fills in the configuration.
    pub const fn set_synchronization_scope_device(&mut self) {
        self.init.synchronized = true;
    }

    /// `WdfDeviceInitSetCharacteristics`: `or` adds to the current ones, else replaces them
    /// (`FILE_DEVICE_SECURE_OPEN` is set by default).
    ///
    /// IRQL: ≤ DISPATCH_LEVEL.
    pub const fn set_characteristics(&mut self, characteristics: u32, or: bool) {
        self.init.settings.characteristics = if or {
            self.init.settings.characteristics | characteristics
        } else {
            characteristics
        };
    }

    /// `WdfDeviceInitSetFileObjectConfig`: every open of the device gets a file object with a
    /// context of type `C` and the config's callbacks (see [`file`](mod@crate::file)). A second call
    /// replaces the first.
    ///
    /// IRQL: ≤ DISPATCH_LEVEL.
    ///
    /// # Errors
    ///
    /// `STATUS_INSUFFICIENT_RESOURCES` when the configuration cannot be kept.
    pub fn set_file_config<C: Default + Send + Sync + 'static>(
        &mut self,
        config: FileConfig<D, C>,
    ) -> NtResult {
        self.file = Some(config.keep()?);
        Ok(())
    }

    /// `WdfDeviceInitSetRequestAttributes`: every request of the device carries a context of
    /// type `T`, made with `T::default()` when the driver first gets the request and dropped
    /// when it is completed ([`Request::context`](crate::Request::context)). A second call
    /// replaces the first.
    ///
    /// IRQL: ≤ DISPATCH_LEVEL.
    pub fn set_request_context<T: ContextType + Default>(&mut self) {
        self.request_context = Some(RequestContextSpec::of::<T>(T::type_info()));
    }

    /// `WdfDeviceInitFree`.
    ///
    /// IRQL: ≤ DISPATCH_LEVEL.
    pub fn free(self) {}

    /// `WdfControlDeviceInitAllocate(WdfGetDriver(), sddl)` from `EvtDriverDeviceAdd`, for a
    /// sideband control device beside the PnP devices (kbfiltr's pattern: one control device
    /// while any filter device exists). `adding` is the device being added, the proof of where
    /// this runs. Create it with [`create_beside`](Self::create_beside).
    ///
    /// IRQL: PASSIVE_LEVEL.
    pub fn allocate_beside(adding: &Device<D, Adding<'_>>, sddl: &'static str) -> Option<Self> {
        let _ = adding;
        Some(Self {
            init: ControlDeviceSettings {
                name: None,
                sddl,
                settings: InitSettings::DEFAULT,
                synchronized: false,
            },
            file: None,
            request_context: None,
            _driver: PhantomData,
        })
    }

    /// `WdfDeviceCreate` from `EvtDriverDeviceAdd` (see [`allocate_beside`](Self::allocate_beside)).
    /// The driver deletes the device when it is done with it ([`Device::delete`]).
    ///
    /// IRQL: PASSIVE_LEVEL.
    ///
    /// # Errors
    ///
    /// As [`create`](Self::create).
    pub fn create_beside(
        self,
        adding: &Device<D, Adding<'_>>,
    ) -> Result<Device<D, Initializing>, (Self, NtStatus)> {
        let _ = adding;
        // The device's record takes the file callbacks over only once it is created.
        let mut init = self;
        match DeviceHandle::create_control_device_later(
            &init.init,
            &mut init.file,
            init.request_context,
        ) {
            Ok(raw) => Ok(Device::new(raw)),
            Err(status) => Err((init, status)),
        }
    }

    /// `WdfDeviceCreate`: consumes the init.
    ///
    /// IRQL: PASSIVE_LEVEL.
    ///
    /// # Errors
    ///
    /// Hands the init back with the status, e.g. `STATUS_OBJECT_NAME_COLLISION`, so the caller
    /// can fix and retry, or drop it (which frees it).
    pub fn create(
        self,
        driver: &mut DriverContext<'_, '_, D>,
    ) -> Result<Device<D, Initializing>, (Self, NtStatus)> {
        // The device's record takes the file callbacks over only once it is created.
        let mut init = self;
        match driver.raw_mut().create_control_device(
            &init.init,
            &mut init.file,
            init.request_context,
        ) {
            Ok(raw) => Ok(Device::new(raw)),
            Err(status) => Err((init, status)),
        }
    }
}

/// The framework's FDO init, lent to `EvtDriverDeviceAdd` for the duration of the call.
#[must_use = "create the device, or return without one"]
pub struct FdoInit<'add, D: KmdfDriver> {
    raw: DeviceHandle<D>,
    _callback: PhantomData<&'add mut ()>,
}

impl<'add, D: KmdfDriver> FdoInit<'add, D> {
    #[cfg_attr(
        not(any(feature = "host", all(feature = "wdk", target_os = "windows"))),
        allow(dead_code, reason = "only a backend makes FDO inits")
    )]
    pub(crate) const fn from_raw(raw: DeviceHandle<D>) -> Self {
        Self {
            raw,
            _callback: PhantomData,
        }
    }

    /// `WdfFdoInitSetFilter`: unhandled request types pass down instead of failing, and a
    /// failing `EvtDriverDeviceAdd` leaves the stack without this device instead of failing it.
    ///
    /// IRQL: PASSIVE_LEVEL.
    pub fn set_filter(&mut self) {
        self.raw.fdo_init_set_filter();
    }

    /// `WdfDeviceInitSetPnpPowerEventCallbacks`: the PnP and power events the driver handles
    /// for this device (see [`pnp_power`](crate::pnp_power) for when each runs). A second call
    /// replaces the first.
    ///
    /// IRQL: ≤ DISPATCH_LEVEL.
    pub fn set_pnp_power_callbacks(&mut self, callbacks: PnpPowerCallbacks<D>) {
        self.raw.fdo_init_set_pnp_power_callbacks(callbacks);
    }

    /// `WdfDeviceInitSetFileObjectConfig`: every open of the device gets a file object with a
    /// context of type `C` and the config's callbacks (see [`file`](mod@crate::file)).
    ///
    /// IRQL: ≤ DISPATCH_LEVEL.
    ///
    /// # Errors
    ///
    /// `STATUS_INSUFFICIENT_RESOURCES` when the configuration cannot be kept.
    pub fn set_file_config<C: Default + Send + Sync + 'static>(
        &mut self,
        config: FileConfig<D, C>,
    ) -> NtResult {
        self.raw.fdo_init_set_file_events(config.keep()?);
        Ok(())
    }

    /// `WdfDeviceInitSetRequestAttributes`: every request of the device carries a context of
    /// type `T`, made with `T::default()` when the driver first gets the request and dropped
    /// when it is completed ([`Request::context`](crate::Request::context)).
    ///
    /// IRQL: ≤ DISPATCH_LEVEL.
    pub fn set_request_context<T: ContextType + Default>(&mut self) {
        self.raw
            .fdo_init_set_request_context(RequestContextSpec::of::<T>(T::type_info()));
    }

    /// `WdfDeviceInitSetIoType`: how reads and writes carry their data (default: buffered).
    ///
    /// Simulation: recorded ([`Device::init_settings`]); the FDO takes its buffering from the
    /// device below, as a filter does, because the I/O manager simulation creates PnP devices
    /// that way.
    ///
    /// IRQL: ≤ DISPATCH_LEVEL.
    pub fn set_io_type(&mut self, io_type: IoType) {
        self.raw.fdo_init_update(|s| s.io_type = io_type);
    }

    /// `WdfDeviceInitSetDeviceType` (allowed on an FDO init, not on a control-device init).
    ///
    /// Simulation: recorded; the FDO takes the type of the device below (see
    /// [`set_io_type`](Self::set_io_type)).
    ///
    /// IRQL: ≤ DISPATCH_LEVEL.
    pub fn set_device_type(&mut self, device_type: u16) {
        self.raw.fdo_init_update(|s| s.device_type = device_type);
    }

    /// `WdfDeviceInitSetCharacteristics`: `or` adds to the current ones, else replaces them
    /// (`FILE_DEVICE_SECURE_OPEN` is set by default).
    ///
    /// Simulation: recorded only.
    ///
    /// IRQL: ≤ DISPATCH_LEVEL.
    pub fn set_characteristics(&mut self, characteristics: u32, or: bool) {
        self.raw.fdo_init_update(|s| {
            s.characteristics = if or {
                s.characteristics | characteristics
            } else {
                characteristics
            };
        });
    }

    /// `WdfDeviceInitSetExclusive`.
    ///
    /// Simulation: recorded only.
    ///
    /// IRQL: ≤ DISPATCH_LEVEL.
    pub fn set_exclusive(&mut self, exclusive: bool) {
        self.raw.fdo_init_update(|s| s.exclusive = exclusive);
    }

    /// The device's attributes get `SynchronizationScope = WdfSynchronizationScopeDevice`:
    /// the `EvtIo*` callbacks of all its queues (`EvtIoStop`, `EvtIoResume` and
    /// `EvtIoCanceledOnQueue` too), the cancel routines of their requests, and the timers
    /// created for those queues with
    /// [`Device::create_serialized_timer`](crate::Device::create_serialized_timer) run one at a
    /// time, under the device's callback lock, at DISPATCH_LEVEL (the lock is a spin lock) — so
    /// they may share the device's state without a lock of their own. A queue made
    /// [`synchronized`](crate::QueueConfig::synchronized) keeps a lock of its own instead.
    /// File-object callbacks are not serialized (KMDF would need passive execution level for
    /// that, and wdf-safe's devices run at dispatch level).
    ///
    /// IRQL: any: it only fills in the configuration.
    pub fn set_synchronization_scope_device(&mut self) {
        self.raw.fdo_init_set_synchronized();
    }

    /// `WdfDeviceCreate`: consumes the init. The device is set up during this
    /// `EvtDriverDeviceAdd` only (its state borrows the callback); the framework finishes its
    /// initialization when the callback returns — there is no `WdfControlFinishInitializing`
    /// for a PnP device. Keep [`Device::ready`] to use it later.
    ///
    /// IRQL: PASSIVE_LEVEL.
    ///
    /// # Errors
    ///
    /// Hands the init back with the status for a retry, as on Windows (the simulation does not
    /// fail it).
    pub fn create(self) -> Result<Device<D, Adding<'add>>, (Self, NtStatus)> {
        match self.raw.fdo_create() {
            Ok(()) => Ok(Device::new(self.raw)),
            Err(status) => Err((self, status)),
        }
    }
}

/// The callback of a timer or work item, with the device it is parented to, as the seam stores
/// it (`sys::DeviceCallback`).
pub(crate) struct ParentCallback<D: KmdfDriver>(pub(crate) fn(&D, Device<D, Ready>));

impl<D: KmdfDriver> Clone for ParentCallback<D> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<D: KmdfDriver> Copy for ParentCallback<D> {}

impl<D: KmdfDriver> crate::sys::DeviceCallback<D> for ParentCallback<D> {
    fn call(self, driver: &D, device: DeviceHandle<D>) {
        // The parent of a firing timer or running work item exists (its deletion stops them
        // first) and was ready: a shared handle to it.
        (self.0)(driver, Device::new(device));
    }
}

/// A device (`WDFDEVICE`) in state `S`.
pub struct Device<D: KmdfDriver, S> {
    raw: DeviceHandle<D>,
    _state: PhantomData<S>,
}

/// The driver type the assertions below use.
type Any = crate::io::KmdfBackend<Nothing>;
// Each handle is two words where the `WDFDEVICE` / `PWDFDEVICE_INIT` it stands for is one: the
// slot of the device's record and the record's generation, so a handle kept past its device
// finds nothing, never a later device's record in the reused slot.
#[cfg(any(feature = "host", all(feature = "wdk", target_os = "windows")))]
static_assertions::assert_eq_size!(Device<Any, Ready>, [usize; 2]);
#[cfg(any(feature = "host", all(feature = "wdk", target_os = "windows")))]
static_assertions::assert_eq_size!(Device<Any, Initializing>, [usize; 2]);
#[cfg(any(feature = "host", all(feature = "wdk", target_os = "windows")))]
static_assertions::assert_eq_size!(FdoInit<'static, Any>, [usize; 2]);
// A ready device is a shared handle; an initializing one is unique, so nothing can keep a copy
// that configures the device after `finish_initializing`; inits are unique too.
static_assertions::assert_impl_all!(Device<Any, Ready>: Clone, Copy);
static_assertions::assert_not_impl_any!(Device<Any, Initializing>: Clone, Copy);
static_assertions::assert_not_impl_any!(FdoInit<'static, Any>: Clone, Copy);
static_assertions::assert_not_impl_any!(ControlDeviceInit<Any>: Clone, Copy);
#[cfg(feature = "host")]
static_assertions::assert_impl_all!(Device<Any, Ready>: Send, Sync);

/// A driver type for size assertions only.
#[doc(hidden)]
pub struct Nothing;

impl wdm_compat::io::IoDriver for Nothing {
    const NAME: &'static str = "nothing";
    const DEVICE: wdm_compat::io::DeviceSettings = wdm_compat::io::DeviceSettings {
        role: wdm_compat::io::DeviceRole::UpperFilter,
        device_type: 0,
        io_type: IoType::Buffered,
    };

    fn load() -> NtResult<Self> {
        Ok(Self)
    }
}

impl<D: KmdfDriver, S> Device<D, S> {
    pub(crate) const fn new(raw: DeviceHandle<D>) -> Self {
        Self {
            raw,
            _state: PhantomData,
        }
    }

    /// The seam's handle, for the objects parented to the device (timers).
    pub(crate) const fn raw(&self) -> DeviceHandle<D> {
        self.raw
    }

    /// `WdfObjectAllocateContext`: attaches a context of type `T`, initialised in place by
    /// `init`, with an optional cleanup callback that runs when the device is deleted (after
    /// its queues' and its own cleanup callbacks).
    ///
    /// IRQL: ≤ DISPATCH_LEVEL.
    ///
    /// # Errors
    ///
    /// `STATUS_OBJECT_NAME_EXISTS` (an NT *success* code, as in KMDF) when the device already
    /// has a context of type `T`; `init` is not called then.
    pub fn allocate_context<T: ContextType>(
        &self,
        init: impl FnOnce() -> T,
        cleanup: Option<fn(&T)>,
    ) -> NtResult<ContextRef<T>> {
        self.raw
            .allocate_context(T::type_info(), init, cleanup)
            .map(ContextRef::new)
    }

    /// `WdfObjectGetTypedContext`: the context of type `T`, found by its type info's address.
    ///
    /// IRQL: ≤ DISPATCH_LEVEL + 1.
    #[must_use]
    pub fn context<T: ContextType>(&self) -> Option<ContextRef<T>> {
        self.raw.context::<T>(T::type_info()).map(ContextRef::new)
    }

    /// What the init set up: I/O type, device type, characteristics, exclusivity.
    ///
    /// IRQL: ≤ DISPATCH_LEVEL.
    #[must_use]
    pub fn init_settings(&self) -> InitSettings {
        self.raw.init_settings()
    }

    /// `WdfIoQueueCreate` for a queue that receives only what is dispatched or forwarded to it
    /// (allowed before and after the device starts receiving I/O).
    ///
    /// IRQL: ≤ DISPATCH_LEVEL.
    ///
    /// # Errors
    ///
    /// `STATUS_WDF_NO_CALLBACK` for a presenting queue without callbacks.
    pub fn create_queue<K: QueueKind>(&self, config: QueueConfig<K, D>) -> NtResult<Queue<K>> {
        self.queue_of::<K, sys::ByRecord>(config, false)
    }

    /// [`create_queue`](Self::create_queue) with the constant configuration `Q::CONFIG`:
    /// KMDF's `EvtIo*` calls `Q`'s callbacks directly (see [`StaticQueue`]).
    ///
    /// IRQL: ≤ DISPATCH_LEVEL.
    ///
    /// # Errors
    ///
    /// As [`create_queue`](Self::create_queue).
    pub fn create_static_queue<Q: StaticQueue<D>>(&self) -> NtResult<Queue<Q::Kind>> {
        self.queue_of::<Q::Kind, StaticPresenter<Q>>(Q::CONFIG, false)
    }

    /// `WdfIoQueueCreate` of `config` (the device's default queue if `default_queue`), the
    /// trampolines finding its callbacks through `P`.
    fn queue_of<K: QueueKind, P: sys::Presenter<D>>(
        &self,
        config: QueueConfig<K, D>,
        default_queue: bool,
    ) -> NtResult<Queue<K>> {
        self.raw
            .create_queue::<P>(
                K::DISPATCH,
                config.callbacks,
                config.allow_zero_length,
                default_queue,
            )
            .map(Queue::new)
    }
}

impl<D: KmdfDriver> Clone for Device<D, Ready> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<D: KmdfDriver> Copy for Device<D, Ready> {}

impl<D: KmdfDriver, S: BeingSetUp> Device<D, S> {
    /// `WdfIoQueueCreate` with `DefaultQueue = TRUE`: the queue of every request type without a
    /// dedicated queue.
    ///
    /// IRQL: ≤ DISPATCH_LEVEL.
    ///
    /// # Errors
    ///
    /// `STATUS_UNSUCCESSFUL` for a second default queue; `STATUS_WDF_NO_CALLBACK` for a
    /// presenting queue without callbacks.
    pub fn create_default_queue<K: QueueKind>(
        &self,
        config: QueueConfig<K, D>,
    ) -> NtResult<Queue<K>> {
        self.queue_of::<K, sys::ByRecord>(config, true)
    }

    /// [`create_default_queue`](Self::create_default_queue) with the constant configuration
    /// `Q::CONFIG`: KMDF's `EvtIo*` calls `Q`'s callbacks directly (see [`StaticQueue`]).
    ///
    /// IRQL: ≤ DISPATCH_LEVEL.
    ///
    /// # Errors
    ///
    /// As [`create_default_queue`](Self::create_default_queue).
    pub fn create_static_default_queue<Q: StaticQueue<D>>(&self) -> NtResult<Queue<Q::Kind>> {
        self.queue_of::<Q::Kind, StaticPresenter<Q>>(Q::CONFIG, true)
    }

    /// `WdfDeviceConfigureRequestDispatching`: requests of `request_type` go to `queue`.
    ///
    /// IRQL: ≤ DISPATCH_LEVEL.
    ///
    /// # Errors
    ///
    /// `STATUS_INVALID_DEVICE_REQUEST` for a queue of another device, the default queue, or a
    /// presenting queue without a callback for the type; `STATUS_WDF_BUSY` when the type is
    /// bound already.
    pub fn configure_request_dispatching<K: QueueKind>(
        &self,
        queue: &Queue<K>,
        request_type: RequestType,
    ) -> NtResult {
        self.raw
            .configure_request_dispatching(queue.raw(), request_type)
    }

    /// Registers an `EvtCleanupCallback` for the device: it runs when the device is deleted,
    /// after the cleanup of the device's queues (children before parents). It receives the
    /// driver, so it does not run for a device deleted because `driver_entry` failed (there is
    /// no driver then); a context's cleanup callback does.
    ///
    /// IRQL: ≤ DISPATCH_LEVEL; the callback runs at PASSIVE_LEVEL.
    ///
    /// # Errors
    ///
    /// `STATUS_INSUFFICIENT_RESOURCES` when memory is short: the callback is not registered.
    pub fn on_cleanup(&self, callback: fn(&D)) -> NtResult {
        self.raw.on_cleanup(callback)
    }
}

/// A control device's own setup.
impl<D: KmdfDriver> Device<D, Initializing> {
    /// `WdfDeviceCreateSymbolicLink` (`\DosDevices\Name`, opened from user mode as `\\.\Name`).
    ///
    /// IRQL: PASSIVE_LEVEL.
    ///
    /// # Errors
    ///
    /// `STATUS_INVALID_DEVICE_STATE` for a device without a name; `STATUS_INVALID_DEVICE_REQUEST`
    /// for a second link; the status of the link's creation otherwise.
    pub fn create_symbolic_link(&self, link: &'static str) -> NtResult {
        self.raw.create_symbolic_link(link)
    }

    /// `WdfControlFinishInitializing`: the device starts receiving I/O; the default queue and
    /// dispatching can no longer be set up.
    ///
    /// IRQL: ≤ DISPATCH_LEVEL.
    pub fn finish_initializing(self) -> Device<D, Ready> {
        self.raw.finish_initializing();
        Device::new(self.raw)
    }
}

/// A PnP device's own setup.
impl<D: KmdfDriver> Device<D, Adding<'_>> {
    /// `WdfDeviceCreateDeviceInterface`: registers and enables a device interface of class
    /// `class` for a PnP device; user mode opens it as `\\.\<physical device>#{class}` (the
    /// simulation's stand-in for the interface path `SetupDiGetDeviceInterfaceDetail` returns).
    /// The interface is disabled when the device is removed.
    ///
    /// IRQL: PASSIVE_LEVEL.
    ///
    /// # Errors
    ///
    /// The status of the registration.
    pub fn create_device_interface(&self, class: &Guid) -> NtResult {
        self.raw.create_device_interface(class)
    }

    /// The device as it is once `EvtDriverDeviceAdd` returns and the framework has finished
    /// its initialization: the handle to keep (in the driver, a context) for retrieving
    /// requests and managing queues later.
    ///
    /// IRQL: any.
    #[must_use]
    pub const fn ready(&self) -> Device<D, Ready> {
        Device::new(self.raw)
    }
}

impl<D: KmdfDriver> Device<D, Ready> {
    /// `WdfObjectDelete` of a control device: its queues are purged and it goes now (KMDF
    /// deletes PnP devices itself, with their removal). Every copy of the handle finds it gone
    /// afterwards.
    ///
    /// Not from inside one of the device's own queue callbacks: KMDF's dispose of the queue
    /// waits until the queue's dispatch returns, which on that thread it never does (the
    /// simulated verifier reports it). Delete it from another object's callback, as kbfiltr
    /// does from its last keyboard's cleanup, or from a work item of another device.
    ///
    /// IRQL: PASSIVE_LEVEL.
    ///
    /// # Errors
    ///
    /// `STATUS_INVALID_DEVICE_REQUEST` for a PnP device, `STATUS_INVALID_DEVICE_STATE` when
    /// the device is already gone.
    pub fn delete(self) -> NtResult {
        self.raw.delete_control_device()
    }

    /// `WdfIoQueueRetrieveNextRequest`: the next request of a manual or sequential queue; the
    /// driver owns it from now on.
    ///
    /// IRQL: ≤ DISPATCH_LEVEL.
    ///
    /// # Errors
    ///
    /// `STATUS_NO_MORE_ENTRIES` when the queue is empty, `STATUS_WDF_PAUSED` when it is
    /// stopped, `STATUS_INVALID_DEVICE_REQUEST` for a queue of another device.
    pub fn retrieve_next_request<K: Retrievable>(
        &self,
        queue: &Queue<K>,
    ) -> NtResult<AnyRequest<'static>> {
        self.raw
            .retrieve_next_request(queue.raw())
            .map(AnyRequest::from_raw)
    }

    /// `WdfDeviceGetDefaultQueue`: the device's default queue, when it has one of kind `K`
    /// (`None` for a default queue of another kind, or none): the handle
    /// [`create_default_queue`](Self::create_default_queue) gave, found again, for a callback
    /// that did not keep it (the C echo sample's self-managed-I/O callbacks use this).
    ///
    /// IRQL: ≤ DISPATCH_LEVEL.
    #[must_use]
    pub fn default_queue<K: QueueKind>(&self) -> Option<Queue<K>> {
        self.raw.default_queue(K::DISPATCH).map(Queue::new)
    }

    /// `WdfIoQueueRetrieveRequestByFileObject`: the first request in a manual or sequential
    /// queue that came through the open `file` (what an `EvtFileCleanup` uses to take back
    /// the requests it parked for a handle being closed); the driver owns it from now on.
    ///
    /// IRQL: ≤ DISPATCH_LEVEL.
    ///
    /// # Errors
    ///
    /// As [`retrieve_next_request`](Self::retrieve_next_request): `STATUS_NO_MORE_ENTRIES`
    /// when no request of the open is queued.
    pub fn retrieve_request_by_file_object<K: Retrievable, C>(
        &self,
        queue: &Queue<K>,
        file: &FileObject<'_, C>,
    ) -> NtResult<AnyRequest<'static>> {
        self.raw
            .retrieve_request_by_file_object(queue.raw(), file.raw())
            .map(AnyRequest::from_raw)
    }

    /// `WdfIoQueueStop`: no more presentation or retrieval; arriving requests still queue.
    ///
    /// IRQL: ≤ DISPATCH_LEVEL.
    pub fn stop_queue<K: QueueKind>(&self, queue: &Queue<K>) {
        self.raw.stop_queue(queue.raw());
    }

    /// `WdfIoQueueStopSynchronously`: as [`stop_queue`](Self::stop_queue), then waits until
    /// the driver holds no request the queue delivered (completed, or forwarded to another
    /// queue). What a self-managed-I/O suspend does before the device leaves D0.
    ///
    /// IRQL: PASSIVE_LEVEL, and not from the queue's own callbacks (the wait would include the
    /// request the callback holds: the simulated verifier reports it).
    ///
    /// # Errors
    ///
    /// `STATUS_INVALID_DEVICE_REQUEST` above PASSIVE_LEVEL or for a queue of another device,
    /// `STATUS_INVALID_DEVICE_STATE` once the device or queue is gone, `STATUS_WDF_BUSY` while
    /// another synchronous stop or purge of the queue is under way (KMDF would bug-check on
    /// the second). A stop that races the queue's own deletion (the device being removed on
    /// another thread) can still reach KMDF in the moment between its dispose and its cleanup
    /// callback; call it from the device's PnP callbacks (self-managed I/O suspend), where the
    /// framework serializes it with the removal.
    pub fn stop_queue_synchronously<K: QueueKind>(&self, queue: &Queue<K>) -> NtResult {
        self.raw.stop_queue_synchronously(queue.raw())
    }

    /// `WdfIoQueueStart`: presentation resumes (the framework calls the queue's callbacks with
    /// `driver`, before this returns, for what waited).
    ///
    /// IRQL: ≤ DISPATCH_LEVEL.
    pub fn start_queue<K: QueueKind>(&self, queue: &Queue<K>, driver: &D) {
        self.raw.start_queue(queue.raw(), driver);
    }

    /// `WdfIoQueuePurgeSynchronously`: stops accepting requests, completes queued ones with
    /// `STATUS_CANCELLED`, and cancels driver-owned cancelable ones through their cancel
    /// routine. A driver-owned request that is not cancelable would block the purge forever on
    /// Windows: the simulated verifier reports it (SDV RequestCompleted).
    ///
    /// IRQL: PASSIVE_LEVEL.
    pub fn purge_queue<K: QueueKind>(&self, queue: &Queue<K>) {
        self.raw.purge_queue(queue.raw());
    }
}
