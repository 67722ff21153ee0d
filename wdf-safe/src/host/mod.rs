//! The simulated KMDF (feature `host`): the framework's object model and queue engine, built as
//! a WDM driver on `wdm-compat` and loaded into its simulated I/O manager (KMDF is a layer over
//! IRPs, and so is this). It implements the host backend of the seam ([`crate::sys`]).
//!
//! Every IRP that reaches a device of the driver is routed by request type to a queue (a
//! dedicated one, else the default queue). One that no queue takes is completed with
//! `STATUS_INVALID_DEVICE_REQUEST`, or passed down on a filter. A queued IRP is marked pending
//! (the dispatch routine returns `STATUS_PENDING`, legal WDM even when the request completes
//! before the return) and becomes a request object, presented to the queue's callback or left
//! for the driver to retrieve. Buffers come from the pended IRP, so their semantics (the shared
//! METHOD_BUFFERED buffer, the copy-back of `Information` bytes) are the I/O manager's.
//!
//! Verifier findings go to the I/O manager's verifier with the SDV rule name (or the
//! `WDF_VIOLATION` bug check): in strict mode (the default) the next user-side call of the
//! test fails with the report; in recording mode the test reads them with `take_violations`.
//! Nothing panics inside driver code.
//!
//! Simplifications, each visible only in timing or in what the simulation cannot express:
//!
//! * presentation is pumped after every callback returns, not from inside `WdfRequestComplete`:
//!   a sequential queue presents its next request when the callback that finished the previous
//!   one returns;
//! * a request is cancelled by a queue purge, or is found cancelled when marked cancelable;
//!   a user-mode `CancelIo` on a request the driver holds is not delivered to it;
//! * no power management, file objects, or execution-level / synchronization-scope
//!   serialization: callbacks run on the thread that sent the request;
//! * a filter whose `EvtDriverDeviceAdd` fails or creates no device is represented by a
//!   transparent device that passes every IRP down (wdm-compat's `AddDevice` always attaches);
//! * an FDO takes its type and buffering from the device below, whatever its init set;
//! * framework objects are never freed (stale handles are state errors, never dangling).

mod device;
mod queue;
mod request;

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::sync::atomic::Ordering;

use wdm_compat::io::Completion;
use wdm_compat::{
    Device as WdmDevice, DispatchStatus, Irp, IrpOutcome, LowerDevice, NtStatus, Parameters,
    SpinLock,
};

pub(crate) use device::{DeviceHandle, DriverHandle, FxDevice};
pub(crate) use queue::QueueHandle;
pub(crate) use request::{IoTargetHandle, RequestHandle};

use crate::kind::{DispatchType, RequestType};

/// Leaks `value`: framework objects live as long as the process, so a stale handle is a state
/// error, never a dangling pointer (the same rule as the simulated I/O manager).
pub(crate) fn leak<T>(value: T) -> &'static T {
    Box::leak(Box::new(value))
}

/// Reports a verifier finding to the simulated I/O manager's verifier.
pub(crate) fn report(rule: &'static str, bug_check: Option<(u32, [usize; 4])>, message: &str) {
    let _ = wdm_compat::host::report_framework_violation(rule, bug_check, true, message);
}

/// Reports a PASSIVE_LEVEL-only DDI called above PASSIVE_LEVEL (SDV KmdfIrql; the KMDF verifier
/// breaks and fails the call).
pub(crate) fn check_passive(ddi: &str) {
    let irql = wdm_compat::host::simulated_irql();
    if irql > 0 {
        report(
            "KmdfIrql",
            None,
            &alloc::format!("{ddi} called at IRQL {irql}; it requires PASSIVE_LEVEL"),
        );
    }
}

/// The entry point of KMDF driver `D` for the simulated I/O manager.
pub(crate) fn entry_point<D: crate::KmdfDriver>() -> wdm_compat::host::DriverEntry {
    wdm_compat::driver::entry_point::<Framework<D>>()
}

/// The simulated framework hosting the KMDF driver `D`.
pub(crate) struct Framework<D: crate::KmdfDriver> {
    pub(crate) driver: D,
    pub(crate) control_devices: Vec<&'static FxDevice<D>>,
    pub(crate) pnp_devices: SpinLock<Vec<&'static FxDevice<D>>>,
}

/// The request type of a major function, if KMDF queues it.
fn request_type(major: wdm_compat::MajorFunction) -> Option<RequestType> {
    use wdm_compat::MajorFunction as Mj;
    match major {
        Mj::CREATE => Some(RequestType::Create),
        Mj::READ => Some(RequestType::Read),
        Mj::WRITE => Some(RequestType::Write),
        Mj::DEVICE_CONTROL => Some(RequestType::DeviceControl),
        Mj::INTERNAL_DEVICE_CONTROL => Some(RequestType::InternalDeviceControl),
        _ => None,
    }
}

impl<D: crate::KmdfDriver> Framework<D> {
    /// `FxPkgIo::Dispatch`: route one IRP to a queue.
    fn dispatch(
        &self,
        device: &WdmDevice<&'static FxDevice<D>>,
        major: wdm_compat::MajorFunction,
        mut irp: Irp,
    ) -> DispatchStatus {
        let fx = *device.extension();
        let filter = fx.is_filter();
        if fx.transparent.load(Ordering::Acquire)
            && let Some(lower) = device.lower()
        {
            return irp.forward(lower);
        }
        if !fx.is_ready() {
            // A control device before WdfControlFinishInitializing gets no I/O.
            return irp.complete(NtStatus::INVALID_DEVICE_STATE);
        }
        let parameters = irp.request().parameters();
        let Some(request_type) = request_type(major) else {
            if major == wdm_compat::MajorFunction::CLOSE {
                self.driver.on_file_close();
            }
            return pass_or_fail(irp, device.lower(), filter, major);
        };
        let Some(queue) = fx.queue_for(request_type) else {
            return match (request_type, device.lower()) {
                (_, Some(lower)) if filter => irp.forward(lower),
                // Without a create queue the framework opens the handle itself.
                (RequestType::Create, _) => irp.complete(NtStatus::SUCCESS),
                _ => irp.complete(NtStatus::INVALID_DEVICE_REQUEST),
            };
        };
        if queue.core.dispatch != DispatchType::Manual && !queue.callbacks.handles(request_type) {
            return match device.lower() {
                Some(lower) if filter => irp.forward(lower),
                _ => irp.complete(NtStatus::INVALID_DEVICE_REQUEST),
            };
        }
        let zero_length = matches!(
            parameters,
            Parameters::Read { length: 0, .. } | Parameters::Write { length: 0, .. }
        );
        if zero_length && !queue.core.allow_zero_length {
            return irp.complete(NtStatus::SUCCESS);
        }
        let (status, pending) = irp.mark_pending();
        let request =
            request::new_request(pending, request_type, parameters, device.lower().copied());
        if queue.core.enqueue(request).is_err() {
            // The queue was purged and accepts nothing: the framework fails the request.
            if let Some(slot) = crate::sys::claim(request) {
                request.state.lock().owner = request::Owner::Driver;
                request::complete(slot, NtStatus::INVALID_DEVICE_STATE, 0);
            }
            return status;
        }
        fx.pump_all(&self.driver);
        status
    }
}

/// A major function KMDF does not queue: a filter passes it down; a function or control
/// device completes close/cleanup itself and fails the rest.
fn pass_or_fail(
    irp: Irp,
    lower: Option<&LowerDevice>,
    filter: bool,
    major: wdm_compat::MajorFunction,
) -> DispatchStatus {
    use wdm_compat::MajorFunction as Mj;
    match lower {
        Some(lower) if filter || major == Mj::PNP || major == Mj::POWER => irp.forward(lower),
        _ if major == Mj::CLOSE || major == Mj::CLEANUP => irp.complete(NtStatus::SUCCESS),
        _ => irp.complete(NtStatus::INVALID_DEVICE_REQUEST),
    }
}

/// The completion observer behind [`crate::Request::send_observed`].
pub(crate) fn observe<D: crate::KmdfDriver>(
    framework: &Framework<D>,
    _device: &WdmDevice<&'static FxDevice<D>>,
    outcome: &IrpOutcome<'_>,
) {
    use wdm_compat::MajorFunction as Mj;
    use wdm_compat::io::RequestKind as Kind;
    let kind = match outcome.major_function() {
        Mj::CREATE => Kind::Create,
        Mj::READ => Kind::Read,
        Mj::WRITE => Kind::Write,
        Mj::DEVICE_CONTROL => Kind::DeviceControl,
        Mj::INTERNAL_DEVICE_CONTROL => Kind::InternalDeviceControl,
        _ => Kind::Other,
    };
    framework.driver.on_sent_request_completed(&Completion {
        kind,
        status: outcome.status(),
        information: outcome.information(),
        ioctl_code: outcome.ioctl_code(),
    });
}

impl<D: crate::KmdfDriver> wdm_compat::WdmDriver for Framework<D> {
    type DeviceExtension = &'static FxDevice<D>;

    const PNP: bool = D::PNP;

    fn driver_entry(
        setup: &mut wdm_compat::DriverSetup<'_, &'static FxDevice<D>>,
    ) -> wdm_compat::NtResult<Self> {
        let mut context = crate::DriverContext::from_raw(DriverHandle {
            setup,
            control_devices: Vec::new(),
        });
        let driver = D::driver_entry(&mut context)?;
        let control_devices = context.into_raw().control_devices;
        if control_devices.iter().any(|device| !device.is_ready()) {
            report(
                "CtlDeviceFinishInitDrEntry",
                None,
                "a control device created in DriverEntry was never finished \
                 (WdfControlFinishInitializing); it will never receive I/O",
            );
        }
        Ok(Self {
            driver,
            control_devices,
            pnp_devices: SpinLock::new(Vec::new()),
        })
    }

    fn unload(self) {
        self.driver.unload();
        // Non-PnP driver: the framework deletes the control devices after EvtDriverUnload.
        for device in &self.control_devices {
            device.dispose(&self.driver, "unload");
        }
        for device in self.pnp_devices.lock().iter() {
            device.dispose(&self.driver, "unload");
        }
    }

    fn add_device(
        &self,
        physical_device: &wdm_compat::PhysicalDevice,
    ) -> wdm_compat::NtResult<&'static FxDevice<D>> {
        let device = leak(FxDevice::new());
        *device.physical.lock() = Some(*physical_device);
        let init = crate::device::FdoInit::from_raw(DeviceHandle::new(device));
        let result = self.driver.device_add(init);
        let created = device.created.load(Ordering::Acquire);
        if result.is_err() && created {
            // Created, then failed: the framework deletes the device (its cleanup runs: the
            // object was committed).
            device.dispose(&self.driver, "a failed EvtDriverDeviceAdd");
        }
        if device.is_filter() && (result.is_err() || !created) {
            // KMDF turns a filter's failure (or success without a device) into
            // STATUS_SUCCESS and the stack carries on without it. wdm-compat's AddDevice always
            // attaches a device, so the simulation attaches a transparent one that passes every
            // IRP down: what the stack observes is the same.
            device.transparent.store(true, Ordering::Release);
            device.ready.store(true, Ordering::Release);
            return Ok(device);
        }
        result?;
        if !created {
            // A function driver's EvtDriverDeviceAdd returned success without creating a
            // device: the stack has no function device and cannot start.
            return Err(NtStatus::NO_SUCH_DEVICE);
        }
        // The framework finishes an FDO's initialization when EvtDriverDeviceAdd returns.
        device.ready.store(true, Ordering::Release);
        self.pnp_devices.lock().push(device);
        Ok(device)
    }

    fn on_remove_device(&self, device: &WdmDevice<&'static FxDevice<D>>) {
        let fx = *device.extension();
        fx.dispose(&self.driver, "device removal");
    }

    fn on_create(&self, device: &WdmDevice<Self::DeviceExtension>, irp: Irp) -> DispatchStatus {
        self.dispatch(device, wdm_compat::MajorFunction::CREATE, irp)
    }

    fn on_close(&self, device: &WdmDevice<Self::DeviceExtension>, irp: Irp) -> DispatchStatus {
        self.dispatch(device, wdm_compat::MajorFunction::CLOSE, irp)
    }

    fn on_cleanup(&self, device: &WdmDevice<Self::DeviceExtension>, irp: Irp) -> DispatchStatus {
        self.dispatch(device, wdm_compat::MajorFunction::CLEANUP, irp)
    }

    fn on_read(&self, device: &WdmDevice<Self::DeviceExtension>, irp: Irp) -> DispatchStatus {
        self.dispatch(device, wdm_compat::MajorFunction::READ, irp)
    }

    fn on_write(&self, device: &WdmDevice<Self::DeviceExtension>, irp: Irp) -> DispatchStatus {
        self.dispatch(device, wdm_compat::MajorFunction::WRITE, irp)
    }

    fn on_device_control(
        &self,
        device: &WdmDevice<Self::DeviceExtension>,
        irp: Irp,
    ) -> DispatchStatus {
        self.dispatch(device, wdm_compat::MajorFunction::DEVICE_CONTROL, irp)
    }

    fn on_internal_device_control(
        &self,
        device: &WdmDevice<Self::DeviceExtension>,
        irp: Irp,
    ) -> DispatchStatus {
        self.dispatch(
            device,
            wdm_compat::MajorFunction::INTERNAL_DEVICE_CONTROL,
            irp,
        )
    }

    fn on_other(&self, device: &WdmDevice<Self::DeviceExtension>, mut irp: Irp) -> DispatchStatus {
        let major = irp.request().major_function();
        let filter = device.extension().is_filter();
        pass_or_fail(irp, device.lower(), filter, major)
    }
}
