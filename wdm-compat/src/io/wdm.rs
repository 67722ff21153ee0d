//! [`WdmBackend<D>`]: an [`IoDriver`] as a WDM driver.
//!
//! * Control role: `DriverEntry` creates the named device and its symbolic link (guards undo
//!   both on failure and at unload, link first).
//! * Filter role: a PnP driver; `AddDevice` attaches over each new device, and removal passes
//!   down, detaches and deletes (see [`WdmDriver`]).
//! * Each request type goes to the matching handler with a request object over the [`Irp`];
//!   zero-length reads and writes are completed here with success and 0 bytes on a control
//!   device, as KMDF's default queue does, and reach a filter, which passes them down.

use core::marker::PhantomData;

use super::kind::{Create, DeviceControl as Ioctl, Read, Write};
use super::{
    Completion, DeviceControlRequest, DeviceRole, IoDriver, ReadRequest, Request, RequestKind,
    WriteRequest,
};
use crate::device::{Device, DeviceConfig, DeviceSecurity, LowerDevice, NamedDevice};
use crate::dispatch::DispatchStatus;
use crate::driver::{DriverSetup, PhysicalDevice, WdmDriver};
use crate::forward::IrpOutcome;
use crate::ioctl::{IoBuffer, IoControlCode};
use crate::irp::Irp;
use crate::request::{IoctlBuffers, MajorFunction, Parameters};
use crate::status::{NtResult, NtStatus};

/// Runs the [`IoDriver`] `D` as a WDM driver.
pub struct WdmBackend<D: IoDriver> {
    driver: D,
    // Control role: the device and its link; `None` for a filter, whose devices the crate
    // creates in `AddDevice`. Dropped after `driver.unload()` has run (see `unload`).
    control: Option<NamedDevice<()>>,
}

impl<D: IoDriver> WdmBackend<D> {
    /// The driver inside.
    ///
    /// IRQL: any.
    pub const fn driver(&self) -> &D {
        &self.driver
    }
}

const fn is_filter(role: DeviceRole) -> bool {
    matches!(role, DeviceRole::UpperFilter)
}

impl<D: IoDriver> WdmDriver for WdmBackend<D> {
    type DeviceExtension = ();

    const PNP: bool = is_filter(D::DEVICE.role);

    fn driver_entry(setup: &mut DriverSetup<'_, ()>) -> NtResult<Self> {
        let driver = D::load()?;
        let control = match D::DEVICE.role {
            DeviceRole::Control {
                device_name,
                symbolic_link,
            } => {
                // Administrators only, as the KMDF backend's control device (its SDDL).
                let config = DeviceConfig::named(device_name)
                    .device_type(D::DEVICE.device_type)
                    .io_type(D::DEVICE.io_type)
                    .security(DeviceSecurity::SystemAndAdministrators);
                let device = setup.create_device(&config, ())?;
                let named = device
                    .create_symbolic_link(symbolic_link)
                    .map_err(|(_, status)| status)?;
                Some(named)
            }
            DeviceRole::UpperFilter => None,
        };
        Ok(Self { driver, control })
    }

    fn unload(mut self) {
        // The driver says goodbye while its control device still exists, then the device and
        // link go: the order KMDF keeps for `EvtDriverUnload` (see `IoDriver::unload`).
        self.driver.unload();
        drop(self.control.take());
    }

    fn add_device(&self, _physical_device: &PhysicalDevice) -> NtResult<()> {
        Ok(())
    }

    fn on_create<'r>(&self, device: &Device<()>, irp: Irp<'r>) -> DispatchStatus<'r> {
        self.driver.on_create(WdmRequest::<D, Create>::new(
            irp,
            device.lower().map(LowerDevice::duplicate),
        ))
    }

    fn on_cleanup<'r>(&self, device: &Device<()>, irp: Irp<'r>) -> DispatchStatus<'r> {
        match device.lower() {
            Some(lower) => irp.forward(lower),
            None => irp.complete(NtStatus::SUCCESS),
        }
    }

    fn on_close<'r>(&self, device: &Device<()>, irp: Irp<'r>) -> DispatchStatus<'r> {
        self.driver.on_close();
        match device.lower() {
            Some(lower) => irp.forward(lower),
            None => irp.complete(NtStatus::SUCCESS),
        }
    }

    fn on_read<'r>(&self, device: &Device<()>, irp: Irp<'r>) -> DispatchStatus<'r> {
        let request = WdmRequest::<D, Read>::new(irp, device.lower().map(LowerDevice::duplicate));
        if request.length() == 0 && device.lower().is_none() {
            return request.complete(NtStatus::SUCCESS);
        }
        self.driver.on_read(request)
    }

    fn on_write<'r>(&self, device: &Device<()>, irp: Irp<'r>) -> DispatchStatus<'r> {
        let request = WdmRequest::<D, Write>::new(irp, device.lower().map(LowerDevice::duplicate));
        if request.length() == 0 && device.lower().is_none() {
            return request.complete(NtStatus::SUCCESS);
        }
        self.driver.on_write(request)
    }

    fn on_device_control<'r>(&self, device: &Device<()>, irp: Irp<'r>) -> DispatchStatus<'r> {
        self.driver.on_device_control(WdmRequest::<D, Ioctl>::new(
            irp,
            device.lower().map(LowerDevice::duplicate),
        ))
    }

    fn on_internal_device_control<'r>(
        &self,
        device: &Device<()>,
        irp: Irp<'r>,
    ) -> DispatchStatus<'r> {
        self.driver
            .on_internal_device_control(WdmRequest::<D, Ioctl>::new(
                irp,
                device.lower().map(LowerDevice::duplicate),
            ))
    }

    fn on_other<'r>(&self, device: &Device<()>, irp: Irp<'r>) -> DispatchStatus<'r> {
        // PnP, power and everything else: a filter passes it down; a control device has
        // nothing below and supports none of it.
        match device.lower() {
            Some(lower) => irp.forward(lower),
            None => irp.complete(NtStatus::NOT_SUPPORTED),
        }
    }
}

/// Ties a request to its driver type `D` and kind `K` without owning either.
type KindOf<D, K> = PhantomData<(fn(&D), K)>;

/// A WDM IRP seen through the neutral request interface; `K` is one of the [`kind`](super::kind) markers.
pub struct WdmRequest<'r, D, K> {
    irp: Irp<'r>,
    lower: Option<LowerDevice>,
    _kind: KindOf<D, K>,
}

impl<'r, D: IoDriver, K> WdmRequest<'r, D, K> {
    const fn new(irp: Irp<'r>, lower: Option<LowerDevice>) -> Self {
        Self {
            irp,
            lower,
            _kind: PhantomData,
        }
    }
}

/// The completion observer behind [`Request::forward_observed`].
fn observe<D: IoDriver>(backend: &WdmBackend<D>, _device: &Device<()>, outcome: &IrpOutcome<'_>) {
    let kind = match outcome.major_function() {
        MajorFunction::CREATE => RequestKind::Create,
        MajorFunction::READ => RequestKind::Read,
        MajorFunction::WRITE => RequestKind::Write,
        MajorFunction::DEVICE_CONTROL => RequestKind::DeviceControl,
        MajorFunction::INTERNAL_DEVICE_CONTROL => RequestKind::InternalDeviceControl,
        _ => RequestKind::Other,
    };
    backend.driver.on_lower_completion(&Completion {
        kind,
        status: outcome.status(),
        information: outcome.information(),
        ioctl_code: outcome.ioctl_code(),
    });
}

impl<'r, D: IoDriver, K> Request for WdmRequest<'r, D, K> {
    type Done = DispatchStatus<'r>;

    fn complete(self, status: NtStatus) -> DispatchStatus<'r> {
        self.irp.complete(status)
    }

    fn complete_with_information(self, status: NtStatus, information: usize) -> DispatchStatus<'r> {
        self.irp.complete_with_information(status, information)
    }

    fn forward(self) -> DispatchStatus<'r> {
        match self.lower {
            Some(lower) => self.irp.forward(&lower),
            None => self.irp.complete(NtStatus::INVALID_DEVICE_REQUEST),
        }
    }

    fn forward_observed(self) -> DispatchStatus<'r> {
        match self.lower {
            Some(lower) => self
                .irp
                .forward_observing::<WdmBackend<D>>(&lower, observe::<D>),
            None => self.irp.complete(NtStatus::INVALID_DEVICE_REQUEST),
        }
    }
}

/// Checks a retrieved buffer against the caller's minimum, as `WdfRequestRetrieve*Buffer` does:
/// an empty buffer is always too small.
fn at_least<T: ?Sized + AsRef<[u8]>>(buffer: &T, minimum: usize) -> NtResult<()> {
    let length = buffer.as_ref().len();
    if length == 0 || length < minimum {
        Err(NtStatus::BUFFER_TOO_SMALL)
    } else {
        Ok(())
    }
}

impl<D: IoDriver> ReadRequest for WdmRequest<'_, D, Read> {
    fn length(&self) -> usize {
        self.irp_length()
    }

    fn output_buffer(&mut self, minimum: usize) -> NtResult<&mut [u8]> {
        let buffer = self.irp.request().read_buffer()?;
        at_least(buffer, minimum)?;
        Ok(buffer)
    }
}

impl<D: IoDriver> WriteRequest for WdmRequest<'_, D, Write> {
    fn length(&self) -> usize {
        self.irp_length()
    }

    fn input_buffer(&mut self, minimum: usize) -> NtResult<&[u8]> {
        let buffer = self.irp.request().write_buffer()?;
        at_least(buffer, minimum)?;
        Ok(buffer)
    }
}

impl<D, K> WdmRequest<'_, D, K> {
    /// The read or write length.
    fn irp_length(&self) -> usize {
        match self.irp.parameters() {
            Parameters::Read { length, .. } | Parameters::Write { length, .. } => length,
            _ => 0,
        }
    }

    /// The IOCTL code and (input, output) lengths.
    fn ioctl(&self) -> (IoControlCode, usize, usize) {
        match self.irp.parameters() {
            Parameters::DeviceControl {
                code,
                input_length,
                output_length,
            } => (code, input_length, output_length),
            _ => (IoControlCode::from_raw(0), 0, 0),
        }
    }
}

impl<D: IoDriver> DeviceControlRequest for WdmRequest<'_, D, Ioctl> {
    fn ioctl_code(&self) -> IoControlCode {
        self.ioctl().0
    }

    fn input_length(&self) -> usize {
        self.ioctl().1
    }

    fn output_length(&self) -> usize {
        self.ioctl().2
    }

    fn read_input<T: IoBuffer>(&mut self) -> NtResult<T> {
        match self.irp.request().ioctl_buffers()? {
            IoctlBuffers::Buffered(buffers) => buffers.read_input(),
            IoctlBuffers::InDirect(buffers) => {
                T::read_from(buffers.input()).ok_or(NtStatus::BUFFER_TOO_SMALL)
            }
            IoctlBuffers::OutDirect(buffers) => {
                T::read_from(buffers.input()).ok_or(NtStatus::BUFFER_TOO_SMALL)
            }
            IoctlBuffers::Neither { .. } => Err(NtStatus::INVALID_DEVICE_REQUEST),
        }
    }

    fn write_output<T: IoBuffer>(&mut self, value: &T) -> NtResult<usize> {
        match self.irp.request().ioctl_buffers()? {
            IoctlBuffers::Buffered(mut buffers) => buffers.write_output(value),
            IoctlBuffers::OutDirect(mut buffers) => value
                .write_to(buffers.output())
                .ok_or(NtStatus::BUFFER_TOO_SMALL),
            // The caller's pages of METHOD_IN_DIRECT are input: nothing may be written there.
            IoctlBuffers::InDirect(_) => Err(NtStatus::INVALID_DEVICE_REQUEST),
            IoctlBuffers::Neither { .. } => Err(NtStatus::INVALID_DEVICE_REQUEST),
        }
    }
}
