//! [`KmdfBackend<D>`]: a backend-neutral [`IoDriver`] as a KMDF driver.
//!
//! * Control role: `DriverEntry` allocates a control-device init, names the device, creates it,
//!   its symbolic link, a parallel default queue for reads, writes and IOCTLs, and a queue
//!   dedicated to create requests, then finishes initializing it.
//! * Filter role: `EvtDriverDeviceAdd` marks the init as a filter and creates the device with a
//!   parallel default queue; request types the driver leaves unhandled pass down.
//! * Zero-length reads and writes are completed by the framework on a control device and reach
//!   the driver on a filter (which passes them down); `EvtFileClose` calls the driver's
//!   `on_close`.

use core::marker::PhantomData;

use wdm_compat::io::{
    self, Completion, DeviceControlRequest, DeviceRole, IoDriver, ReadRequest, WriteRequest,
};
use wdm_compat::{IoBuffer, IoControlCode, NtResult, NtStatus};

use crate::device::{ControlDeviceInit, FdoInit, SDDL_DEVOBJ_SYS_ALL_ADM_ALL};
use crate::driver::{DriverContext, KmdfDriver};
use crate::kind::{
    Create, DeviceControl, InternalDeviceControl, Parallel, Read, RequestKind, RequestType, Write,
};
use crate::queue::{QueueConfig, StaticQueue};
use crate::request::{IoctlKind, Request, RequestDone};

/// Runs the [`IoDriver`] `D` as a KMDF driver.
pub struct KmdfBackend<D: IoDriver> {
    driver: D,
}

impl<D: IoDriver> KmdfBackend<D> {
    /// The driver inside.
    ///
    /// IRQL: ≤ DISPATCH_LEVEL.
    pub const fn driver(&self) -> &D {
        &self.driver
    }
}

const fn is_filter(role: DeviceRole) -> bool {
    matches!(role, DeviceRole::UpperFilter)
}

// The handlers are the constant callbacks of the backend's static queues: inlined into KMDF's
// `EvtIo*` trampoline, so the driver's code runs there as a C driver's does.
#[inline(always)]
fn on_create<'r, D: IoDriver>(
    backend: &KmdfBackend<D>,
    request: Request<'r, Create>,
) -> RequestDone<'r> {
    backend
        .driver
        .on_create(KmdfRequest::<D, Create>::new(request))
}

#[inline(always)]
fn on_read<'r, D: IoDriver>(
    backend: &KmdfBackend<D>,
    request: Request<'r, Read>,
) -> RequestDone<'r> {
    backend.driver.on_read(KmdfRequest::<D, Read>::new(request))
}

#[inline(always)]
fn on_write<'r, D: IoDriver>(
    backend: &KmdfBackend<D>,
    request: Request<'r, Write>,
) -> RequestDone<'r> {
    backend
        .driver
        .on_write(KmdfRequest::<D, Write>::new(request))
}

#[inline(always)]
fn on_device_control<'r, D: IoDriver>(
    backend: &KmdfBackend<D>,
    request: Request<'r, DeviceControl>,
) -> RequestDone<'r> {
    backend
        .driver
        .on_device_control(KmdfRequest::<D, DeviceControl>::new(request))
}

#[inline(always)]
fn on_internal_device_control<'r, D: IoDriver>(
    backend: &KmdfBackend<D>,
    request: Request<'r, InternalDeviceControl>,
) -> RequestDone<'r> {
    backend
        .driver
        .on_internal_device_control(KmdfRequest::<D, InternalDeviceControl>::new(request))
}

/// The default queue every device of the backend gets, a constant, so KMDF's `EvtIo*` calls
/// the driver's handler directly. A filter's takes zero-length reads and writes too
/// (`AllowZeroLengthRequests`): they are the lower driver's to answer, so the filter sees and
/// passes them down like any other.
struct DefaultQueue<D>(PhantomData<D>);

impl<D: IoDriver> StaticQueue<KmdfBackend<D>> for DefaultQueue<D> {
    type Kind = Parallel;
    const CONFIG: QueueConfig<Parallel, KmdfBackend<D>> = {
        let config = QueueConfig::parallel()
            .on_read(on_read::<D>)
            .on_write(on_write::<D>)
            .on_device_control(on_device_control::<D>)
            .on_internal_device_control(on_internal_device_control::<D>);
        if is_filter(D::DEVICE.role) {
            config.allow_zero_length_requests()
        } else {
            config
        }
    };
}

/// The queue dedicated to create requests.
struct CreateQueue<D>(PhantomData<D>);

impl<D: IoDriver> StaticQueue<KmdfBackend<D>> for CreateQueue<D> {
    type Kind = Parallel;
    const CONFIG: QueueConfig<Parallel, KmdfBackend<D>> =
        QueueConfig::parallel().on_create(on_create::<D>);
}

impl<D: IoDriver> KmdfDriver for KmdfBackend<D> {
    const PNP: bool = is_filter(D::DEVICE.role);

    fn driver_entry(context: &mut DriverContext<'_, '_, Self>) -> NtResult<Self> {
        let driver = D::load()?;
        if let DeviceRole::Control {
            device_name,
            symbolic_link,
        } = D::DEVICE.role
        {
            let mut init = ControlDeviceInit::allocate(context, SDDL_DEVOBJ_SYS_ALL_ADM_ALL)
                .ok_or(NtStatus::INSUFFICIENT_RESOURCES)?;
            init.assign_name(device_name)?;
            init.set_io_type(D::DEVICE.io_type);
            let device = init.create(context).map_err(|(_init, status)| status)?;
            device.create_symbolic_link(symbolic_link)?;
            device.create_static_default_queue::<DefaultQueue<D>>()?;
            let creates = device.create_static_queue::<CreateQueue<D>>()?;
            device.configure_request_dispatching(&creates, RequestType::Create)?;
            let _ready = device.finish_initializing();
        }
        Ok(Self { driver })
    }

    fn device_add(&self, mut init: FdoInit<'_, Self>) -> NtResult<()> {
        init.set_filter();
        let device = init.create().map_err(|(_init, status)| status)?;
        device.create_static_default_queue::<DefaultQueue<D>>()?;
        let creates = device.create_static_queue::<CreateQueue<D>>()?;
        device.configure_request_dispatching(&creates, RequestType::Create)
    }

    fn unload(&self) {
        self.driver.unload();
    }

    fn on_file_close(&self) {
        self.driver.on_close();
    }

    fn on_sent_request_completed(&self, completion: &Completion) {
        self.driver.on_lower_completion(completion);
    }
}

/// A KMDF request seen through the neutral interface.
pub struct KmdfRequest<'r, D, K: RequestKind> {
    request: Request<'r, K>,
    _driver: PhantomData<fn(&D)>,
}

impl<'r, D: IoDriver, K: RequestKind> KmdfRequest<'r, D, K> {
    const fn new(request: Request<'r, K>) -> Self {
        Self {
            request,
            _driver: PhantomData,
        }
    }
}

impl<'r, D: IoDriver, K: RequestKind> io::Request for KmdfRequest<'r, D, K> {
    type Done = RequestDone<'r>;

    fn complete(self, status: NtStatus) -> RequestDone<'r> {
        self.request.complete_with_information(status, 0)
    }

    fn complete_with_information(self, status: NtStatus, information: usize) -> RequestDone<'r> {
        self.request.complete_with_information(status, information)
    }

    fn forward(self) -> RequestDone<'r> {
        let Some(target) = self.request.default_io_target() else {
            return self
                .request
                .complete_with_information(NtStatus::INVALID_DEVICE_REQUEST, 0);
        };
        // A create carries the file object KMDF made for it, so it comes back through the
        // framework; everything else goes down and is forgotten, as kbfiltr does.
        let sent = if K::TYPE == RequestType::Create {
            self.request.send_and_complete::<KmdfBackend<D>>(&target)
        } else {
            self.request.send_and_forget(&target)
        };
        match sent {
            Ok(done) => done,
            Err((request, status)) => request.complete_with_information(status, 0),
        }
    }

    fn forward_observed(self) -> RequestDone<'r> {
        let Some(target) = self.request.default_io_target() else {
            return self
                .request
                .complete_with_information(NtStatus::INVALID_DEVICE_REQUEST, 0);
        };
        match self.request.send_observed::<KmdfBackend<D>>(&target) {
            Ok(done) => done,
            Err((request, status)) => request.complete_with_information(status, 0),
        }
    }
}

impl<D: IoDriver> ReadRequest for KmdfRequest<'_, D, Read> {
    fn length(&self) -> usize {
        self.request.length()
    }

    fn output_buffer(&mut self, minimum: usize) -> NtResult<&mut [u8]> {
        self.request.output_buffer(minimum)
    }
}

impl<D: IoDriver> WriteRequest for KmdfRequest<'_, D, Write> {
    fn length(&self) -> usize {
        self.request.length()
    }

    fn input_buffer(&mut self, minimum: usize) -> NtResult<&[u8]> {
        self.request.input_buffer(minimum)
    }
}

impl<D: IoDriver, K: IoctlKind> DeviceControlRequest for KmdfRequest<'_, D, K> {
    fn ioctl_code(&self) -> IoControlCode {
        self.request.ioctl_code()
    }

    fn input_length(&self) -> usize {
        self.request.input_length()
    }

    fn output_length(&self) -> usize {
        self.request.output_length()
    }

    fn read_input<T: IoBuffer>(&mut self) -> NtResult<T> {
        self.request.read_input()
    }

    fn write_output<T: IoBuffer>(&mut self, value: &T) -> NtResult<usize> {
        self.request.write_output(value)
    }
}

/// The entry point of the neutral driver `D` built as a KMDF driver, for the host simulation.
///
/// IRQL: host simulation only; no IRQL applies.
#[cfg(feature = "host")]
#[must_use]
pub fn entry_point<D: IoDriver>() -> wdm_compat::host::DriverEntry {
    crate::driver::entry_point::<KmdfBackend<D>>()
}
