//! Simulated `FxDevice` and `FxDriver` during `DriverEntry`: the device and driver halves of the
//! seam ([`DeviceHandle`], [`DriverHandle`]).

use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, Ordering};

use wdm_compat::{
    DeviceConfig, DriverSetup, NamedDevice, NtResult, NtStatus, OwnedDevice, SpinLock,
};

use super::queue::{FxQueue, QueueCore, QueueHandle};
use super::request::RequestHandle;
use super::{check_passive, leak};
use crate::context::{Attached, ContextType};
use crate::device::{ControlDeviceSettings, Guid, InitSettings};
use crate::kind::{DispatchType, RequestType};
use crate::queue::Callbacks;

/// The WDM device object behind a control device, and its link.
pub(crate) enum DeviceGuard<D: 'static> {
    Plain(OwnedDevice<&'static FxDevice<D>>),
    #[allow(
        dead_code,
        reason = "held for its drop: it removes the link, then the device"
    )]
    Named(NamedDevice<&'static FxDevice<D>>),
}

/// A framework device object (`FxDevice`).
pub(crate) struct FxDevice<D: 'static> {
    /// `WdfFdoInitSetFilter` was called.
    pub(crate) filter: AtomicBool,
    /// `WdfDeviceCreate` succeeded for it.
    pub(crate) created: AtomicBool,
    /// A filter whose `EvtDriverDeviceAdd` failed or created no device: the stand-in object
    /// passes every IRP down.
    pub(crate) transparent: AtomicBool,
    /// Its queues were purged and its cleanup callbacks ran.
    pub(crate) disposed: AtomicBool,
    pub(crate) ready: AtomicBool,
    pub(crate) name: SpinLock<Option<&'static str>>,
    /// What the init set up.
    pub(crate) settings: SpinLock<InitSettings>,
    pub(crate) default_queue: SpinLock<Option<&'static FxQueue<D>>>,
    pub(crate) dispatching: SpinLock<[Option<&'static FxQueue<D>>; 5]>,
    pub(crate) queues: SpinLock<Vec<&'static FxQueue<D>>>,
    pub(crate) guard: SpinLock<Option<DeviceGuard<D>>>,
    pub(crate) cleanup: SpinLock<Vec<fn(&D)>>,
    pub(crate) contexts: SpinLock<Vec<Attached>>,
    /// The physical device object under a PnP device (`None` for a control device).
    pub(crate) physical: SpinLock<Option<wdm_compat::PhysicalDevice>>,
    /// Enabled device interfaces; disabled when the device goes.
    pub(crate) interfaces: SpinLock<Vec<wdm_compat::DeviceInterface>>,
}

impl<D> FxDevice<D> {
    pub(crate) fn new() -> Self {
        Self {
            filter: AtomicBool::new(false),
            created: AtomicBool::new(false),
            transparent: AtomicBool::new(false),
            disposed: AtomicBool::new(false),
            ready: AtomicBool::new(false),
            name: SpinLock::new(None),
            settings: SpinLock::new(InitSettings::DEFAULT),
            default_queue: SpinLock::new(None),
            dispatching: SpinLock::new([None; 5]),
            queues: SpinLock::new(Vec::new()),
            guard: SpinLock::new(None),
            cleanup: SpinLock::new(Vec::new()),
            contexts: SpinLock::new(Vec::new()),
            physical: SpinLock::new(None),
            interfaces: SpinLock::new(Vec::new()),
        }
    }

    /// The identity queues are checked against.
    pub(crate) fn id(&'static self) -> usize {
        core::ptr::from_ref(self).addr()
    }

    pub(crate) fn is_filter(&self) -> bool {
        self.filter.load(Ordering::Acquire)
    }

    pub(crate) fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Acquire)
    }

    pub(crate) fn queue_for(&self, request_type: RequestType) -> Option<&'static FxQueue<D>> {
        let dedicated = self
            .dispatching
            .lock()
            .get(request_type.index())
            .copied()
            .flatten();
        if request_type == RequestType::Create {
            // Creates reach a queue only through WdfDeviceConfigureRequestDispatching; without
            // one the framework handles them (EvtDeviceFileCreate's default).
            return dedicated;
        }
        dedicated.or(*self.default_queue.lock())
    }

    pub(crate) fn pump_all(&self, driver: &D) {
        let queues: Vec<&'static FxQueue<D>> = self.queues.lock().clone();
        for queue in queues {
            queue.pump(driver);
        }
    }

    /// Deletes the device's queues and runs cleanup callbacks, children (queues) before the
    /// parent (the device): purge every queue, then the device's own cleanup callbacks.
    pub(crate) fn dispose(&'static self, driver: &D, when: &str) {
        if self.disposed.swap(true, Ordering::AcqRel) {
            // Cleanup runs once (a failed EvtDriverDeviceAdd disposed of it already).
            return;
        }
        let queues: Vec<&'static FxQueue<D>> = self.queues.lock().clone();
        for queue in &queues {
            queue.core.purge(when);
        }
        // Children first: every queue's cleanup runs before the device's.
        for queue in queues {
            if let Some(cleanup) = queue.callbacks.cleanup {
                cleanup(driver);
            }
        }
        let callbacks: Vec<fn(&D)> = self.cleanup.lock().clone();
        for cleanup in callbacks {
            cleanup(driver);
        }
        // Context cleanup callbacks, in the order the contexts were attached.
        let contexts: Vec<_> = self
            .contexts
            .lock()
            .iter()
            .filter_map(|c| c.cleanup)
            .collect();
        for cleanup in contexts {
            cleanup();
        }
        // Interfaces are disabled first (the framework does it on removal), outside the lock.
        let interfaces: Vec<wdm_compat::DeviceInterface> =
            self.interfaces.lock().drain(..).collect();
        drop(interfaces);
        // Taken out first: deleting the device object must not happen under the spin lock
        // (IoDeleteDevice needs IRQL <= APC_LEVEL).
        let guard = self.guard.lock().take();
        drop(guard);
    }
}

/// The seam's `WDFDEVICE` (and, before creation, `PWDFDEVICE_INIT` of an FDO) on the host.
pub(crate) struct DeviceHandle<D: 'static>(&'static FxDevice<D>);

impl<D> Clone for DeviceHandle<D> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<D> Copy for DeviceHandle<D> {}

impl<D: crate::KmdfDriver> DeviceHandle<D> {
    pub(crate) const fn new(fx: &'static FxDevice<D>) -> Self {
        Self(fx)
    }

    /// `WdfFdoInitSetFilter`.
    pub(crate) fn fdo_init_set_filter(self) {
        self.0.filter.store(true, Ordering::Release);
    }

    /// `WdfDeviceInitSet*` on the FDO init.
    pub(crate) fn fdo_init_update(self, update: impl FnOnce(&mut InitSettings)) {
        update(&mut self.0.settings.lock());
    }

    /// `WdfDeviceCreate` with the FDO init.
    pub(crate) fn fdo_create(self) -> NtResult {
        check_passive("WdfDeviceCreate");
        self.0.created.store(true, Ordering::Release);
        Ok(())
    }

    /// What the init set up.
    pub(crate) fn init_settings(self) -> InitSettings {
        *self.0.settings.lock()
    }

    /// `WdfObjectAllocateContext` + in-place initialisation.
    pub(crate) fn allocate_context<T: ContextType>(
        self,
        init: impl FnOnce() -> T,
        cleanup: Option<fn(&T)>,
    ) -> NtResult<&'static T> {
        if self.context::<T>().is_some() {
            return Err(NtStatus::OBJECT_NAME_EXISTS);
        }
        let value: &'static T = leak(init());
        let cleanup: Option<&'static (dyn Fn() + Send + Sync)> =
            cleanup.map(|f| -> &'static (dyn Fn() + Send + Sync) { leak(move || f(value)) });
        self.0.contexts.lock().push(Attached {
            info: T::type_info(),
            value,
            cleanup,
        });
        Ok(value)
    }

    /// `WdfObjectGetTypedContextWorker`: found by the type info's address.
    pub(crate) fn context<T: ContextType>(self) -> Option<&'static T> {
        let contexts = self.0.contexts.lock();
        let attached = contexts
            .iter()
            .find(|c| core::ptr::eq(c.info, T::type_info()))?;
        let value: &'static (dyn core::any::Any + Send + Sync) = attached.value;
        value.downcast_ref::<T>()
    }

    /// `WdfIoQueueCreate`.
    pub(crate) fn create_queue(
        self,
        dispatch: DispatchType,
        callbacks: Callbacks<D>,
        allow_zero_length: bool,
        default_queue: bool,
    ) -> NtResult<QueueHandle> {
        if default_queue && self.0.is_ready() {
            // Facts §2.5/§2.7: after WdfControlFinishInitializing (or once the PnP device
            // started) a default queue can no longer be created.
            return Err(NtStatus::INVALID_DEVICE_STATE);
        }
        if dispatch != DispatchType::Manual && callbacks.is_empty() {
            return Err(NtStatus::WDF_NO_CALLBACK);
        }
        if default_queue && self.0.default_queue.lock().is_some() {
            return Err(NtStatus::UNSUCCESSFUL);
        }
        let core = leak(QueueCore::new(dispatch, allow_zero_length, self.0.id()));
        let queue = leak(FxQueue { core, callbacks });
        self.0.queues.lock().push(queue);
        if default_queue {
            *self.0.default_queue.lock() = Some(queue);
        }
        Ok(QueueHandle::new(core))
    }

    /// `WdfDeviceConfigureRequestDispatching`.
    pub(crate) fn configure_request_dispatching(
        self,
        queue: QueueHandle,
        request_type: RequestType,
    ) -> NtResult {
        if self.0.is_ready() {
            // Facts §2.5: dispatching is configured before the device receives I/O.
            return Err(NtStatus::INVALID_DEVICE_STATE);
        }
        let found = self
            .0
            .queues
            .lock()
            .iter()
            .copied()
            .find(|q| core::ptr::eq(q.core, queue.core()));
        let Some(fx_queue) = found else {
            return Err(NtStatus::INVALID_DEVICE_REQUEST);
        };
        let is_default = self
            .0
            .default_queue
            .lock()
            .is_some_and(|q| core::ptr::eq(q, fx_queue));
        let handles = fx_queue.core.dispatch == DispatchType::Manual
            || fx_queue.callbacks.handles(request_type);
        if is_default || !handles {
            return Err(NtStatus::INVALID_DEVICE_REQUEST);
        }
        let mut table = self.0.dispatching.lock();
        let slot = table
            .get_mut(request_type.index())
            .ok_or(NtStatus::INVALID_PARAMETER)?;
        if slot.is_some() {
            return Err(NtStatus::WDF_BUSY);
        }
        *slot = Some(fx_queue);
        Ok(())
    }

    /// The device's `EvtCleanupCallback`.
    pub(crate) fn on_cleanup(self, callback: fn(&D)) {
        self.0.cleanup.lock().push(callback);
    }

    /// `WdfDeviceCreateSymbolicLink`.
    pub(crate) fn create_symbolic_link(self, link: &'static str) -> NtResult {
        check_passive("WdfDeviceCreateSymbolicLink");
        if self.0.name.lock().is_none() {
            return Err(NtStatus::INVALID_DEVICE_STATE);
        }
        let mut guard = self.0.guard.lock();
        match guard.take() {
            Some(DeviceGuard::Plain(owned)) => {
                // Link creation happens outside the lock: it calls into the I/O manager.
                drop(guard);
                let (restored, result) = match owned.create_symbolic_link(link) {
                    Ok(named) => (DeviceGuard::Named(named), Ok(())),
                    Err((owned, status)) => (DeviceGuard::Plain(owned), Err(status)),
                };
                *self.0.guard.lock() = Some(restored);
                result
            }
            other => {
                *guard = other;
                Err(NtStatus::INVALID_DEVICE_REQUEST)
            }
        }
    }

    /// `WdfDeviceCreateDeviceInterface`.
    pub(crate) fn create_device_interface(self, class: &Guid) -> NtResult {
        check_passive("WdfDeviceCreateDeviceInterface");
        let Some(physical) = *self.0.physical.lock() else {
            return Err(NtStatus::INVALID_DEVICE_REQUEST);
        };
        let index = self.0.interfaces.lock().len();
        let link: &'static str =
            leak(alloc::format!(r"\??\WdfSafeInterface{index}#{class}")).as_str();
        let interface = physical.register_interface(link)?;
        self.0.interfaces.lock().push(interface);
        Ok(())
    }

    /// `WdfControlFinishInitializing`.
    pub(crate) fn finish_initializing(self) {
        self.0.ready.store(true, Ordering::Release);
    }

    fn owns(self, queue: QueueHandle) -> bool {
        queue.core().device == self.0.id()
    }

    /// `WdfIoQueueRetrieveNextRequest`.
    pub(crate) fn retrieve_next_request(self, queue: QueueHandle) -> NtResult<RequestHandle> {
        if !self.owns(queue) {
            return Err(NtStatus::INVALID_DEVICE_REQUEST);
        }
        queue.core().retrieve()
    }

    /// `WdfIoQueueStop`.
    pub(crate) fn stop_queue(self, queue: QueueHandle) {
        if self.owns(queue) {
            queue.core().state.lock().started = false;
        }
    }

    /// `WdfIoQueueStart`: what waited is presented before this returns.
    pub(crate) fn start_queue(self, queue: QueueHandle, driver: &D) {
        if self.owns(queue) {
            let mut state = queue.core().state.lock();
            state.started = true;
            state.accepting = true;
        }
        self.0.pump_all(driver);
    }

    /// `WdfIoQueuePurgeSynchronously`.
    pub(crate) fn purge_queue(self, queue: QueueHandle) {
        check_passive("WdfIoQueuePurgeSynchronously");
        if self.owns(queue) {
            queue.core().purge("queue purge");
        }
    }
}

/// The seam's `WDFDRIVER` during `DriverEntry` on the host: creates control devices.
pub(crate) struct DriverHandle<'a, 'b, D: 'static> {
    pub(crate) setup: &'a mut DriverSetup<'b, &'static FxDevice<D>>,
    pub(crate) control_devices: Vec<&'static FxDevice<D>>,
}

impl<D: crate::KmdfDriver> DriverHandle<'_, '_, D> {
    /// `WdfDeviceCreate` with a control-device init.
    pub(crate) fn create_control_device(
        &mut self,
        init: &ControlDeviceSettings,
    ) -> NtResult<DeviceHandle<D>> {
        check_passive("WdfDeviceCreate");
        let fx = leak(FxDevice::new());
        let config = DeviceConfig {
            name: init.name,
            device_type: init.settings.device_type,
            characteristics: init.settings.characteristics,
            exclusive: init.settings.exclusive,
            io_type: init.settings.io_type,
        };
        let owned = self.setup.create_device(&config, fx)?;
        *fx.settings.lock() = init.settings;
        *fx.guard.lock() = Some(DeviceGuard::Plain(owned));
        *fx.name.lock() = init.name;
        fx.created.store(true, Ordering::Release);
        self.control_devices.push(fx);
        Ok(DeviceHandle(fx))
    }
}
