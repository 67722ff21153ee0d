//! A control-device driver that parks reads in a manual queue and works them later: forwarding
//! to a queue, retrieval, cancelable requests and the cancel routine, which the samples do not
//! use. IOCTL 1 completes the oldest parked read with "abc"; IOCTL 2 makes it cancelable and
//! leaves it to its cancel routine; IOCTL 3 returns how many reads wait.

use wdf_safe::kind::state::Ready;
use wdf_safe::kind::{DeviceControl, Manual, Read};
use wdf_safe::{
    AnyRequest, ControlDeviceInit, Device, DriverContext, KmdfDriver, NtResult, NtStatus, Queue,
    QueueConfig, Request, RequestDone,
};

/// The driver.
pub struct Parker {
    device: Device<Parker, Ready>,
    parked: Queue<Manual>,
}

fn on_read(driver: &Parker, request: Request<Read>) -> RequestDone {
    match request.forward_to_queue(&driver.parked) {
        Ok(done) => done,
        Err((request, status)) => request.complete(status),
    }
}

fn on_cancel(request: Request<Read>) -> RequestDone {
    request.complete(NtStatus::CANCELLED)
}

fn oldest_read(driver: &Parker) -> NtResult<Request<Read>> {
    match driver.device.retrieve_next_request(&driver.parked)? {
        AnyRequest::Read(read) => Ok(read),
        other => {
            let _done = other.complete_with_information(NtStatus::INVALID_DEVICE_REQUEST, 0);
            Err(NtStatus::INVALID_DEVICE_STATE)
        }
    }
}

fn on_device_control(driver: &Parker, mut request: Request<DeviceControl>) -> RequestDone {
    match request.ioctl_code().to_raw() {
        1 => {
            let status = oldest_read(driver).map(|mut read| {
                let written = read.output_buffer(3).map(|buffer| {
                    buffer[..3].copy_from_slice(b"abc");
                    3
                });
                match written {
                    Ok(n) => read.complete_with_information(NtStatus::SUCCESS, n),
                    Err(status) => read.complete(status),
                }
            });
            request.complete(status.err().unwrap_or(NtStatus::SUCCESS))
        }
        2 => match oldest_read(driver).map(|read| read.mark_cancelable(on_cancel)) {
            Ok(Ok(cancelable)) => {
                let _parked = cancelable.park();
                request.complete(NtStatus::SUCCESS)
            }
            Ok(Err((read, status))) => {
                let _done = read.complete(status);
                request.complete(status)
            }
            Err(status) => request.complete(status),
        },
        3 => {
            let waiting = u32::try_from(driver.parked.queued()).unwrap_or(u32::MAX);
            match request.write_output(&waiting) {
                Ok(n) => request.complete_with_information(NtStatus::SUCCESS, n),
                Err(status) => request.complete(status),
            }
        }
        _ => request.complete(NtStatus::INVALID_DEVICE_REQUEST),
    }
}

impl KmdfDriver for Parker {
    fn driver_entry(context: &mut DriverContext<'_, '_, Self>) -> NtResult<Self> {
        let mut init =
            ControlDeviceInit::allocate(context, wdf_safe::device::SDDL_DEVOBJ_SYS_ALL_ADM_ALL)
                .ok_or(NtStatus::INSUFFICIENT_RESOURCES)?;
        init.assign_name(r"\Device\Parker")?;
        let device = init.create(context).map_err(|(_init, status)| status)?;
        device.create_default_queue(
            QueueConfig::parallel()
                .on_read(on_read)
                .on_device_control(on_device_control),
        )?;
        let parked = device.create_queue(QueueConfig::manual())?;
        Ok(Self {
            device: device.finish_initializing(),
            parked,
        })
    }
}
