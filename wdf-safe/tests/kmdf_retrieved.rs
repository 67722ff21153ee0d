//! Requests retrieved from a manual queue ask the framework for what presented ones were given.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

mod common;

use common::ioctl;
use wdf_safe::device::SDDL_DEVOBJ_SYS_ALL_ADM_ALL;
use wdf_safe::kind::state::Ready;
use wdf_safe::kind::{DeviceControl, Manual, Read, Write};
use wdf_safe::{
    AnyRequest, ControlDeviceInit, Device, DriverContext, KmdfDriver, NtResult, NtStatus, Queue,
    QueueConfig, Request, RequestDone,
};
use wdm_compat::host::IoManager;
use wdm_compat::kd_print;

const IOCTL_STASHED: u32 = ioctl(0x931);
const IOCTL_REPORT: u32 = ioctl(0x932);

/// A driver whose default queue comes after eight manual queues (past the queues the seam
/// looks up without the framework), and which stashes every request in a manual queue until an
/// `IOCTL_REPORT` retrieves them and says what they were: a retrieved request asks the
/// framework for its parameters, where a presented one was given them.
struct Stash {
    device: Device<Stash, Ready>,
    stash: Queue<Manual>,
    _fillers: Vec<Queue<Manual>>,
}

fn stash_it<'r, K: wdf_safe::kind::RequestKind>(
    stash: &Stash,
    request: Request<'r, K>,
) -> RequestDone<'r> {
    match request.forward_to_queue(&stash.stash) {
        Ok(done) => done,
        Err((request, status)) => request.complete(status),
    }
}

fn stash_read<'r>(stash: &Stash, request: Request<'r, Read>) -> RequestDone<'r> {
    stash_it(stash, request)
}

fn stash_write<'r>(stash: &Stash, request: Request<'r, Write>) -> RequestDone<'r> {
    stash_it(stash, request)
}

fn stash_ioctl<'r>(stash: &Stash, request: Request<'r, DeviceControl>) -> RequestDone<'r> {
    if request.ioctl_code().to_raw() != IOCTL_REPORT {
        return stash_it(stash, request);
    }
    while let Ok(stashed) = stash.device.retrieve_next_request(&stash.stash) {
        let _ = match stashed {
            AnyRequest::Read(read) => {
                kd_print!("stash: read of {}", read.length());
                read.complete(NtStatus::SUCCESS)
            }
            AnyRequest::Write(write) => {
                let length = write.length();
                kd_print!("stash: write of {length}");
                write.complete_with_information(NtStatus::SUCCESS, length)
            }
            AnyRequest::DeviceControl(ioctl) => {
                kd_print!(
                    "stash: ioctl {:#x}, {} in, {} out",
                    ioctl.ioctl_code().to_raw(),
                    ioctl.input_length(),
                    ioctl.output_length()
                );
                ioctl.complete(NtStatus::SUCCESS)
            }
            other => {
                drop(other);
                continue;
            }
        };
    }
    request.complete(NtStatus::SUCCESS)
}

impl KmdfDriver for Stash {
    fn driver_entry(driver: &mut DriverContext<'_, '_, Self>) -> NtResult<Self> {
        let mut init = ControlDeviceInit::allocate(driver, SDDL_DEVOBJ_SYS_ALL_ADM_ALL)
            .ok_or(NtStatus::INSUFFICIENT_RESOURCES)?;
        init.assign_name(r"\Device\Stash")?;
        let device = init.create(driver).map_err(|(_, status)| status)?;
        device.create_symbolic_link(r"\DosDevices\Stash")?;
        let mut fillers = Vec::new();
        for _ in 0..8 {
            fillers.push(device.create_queue(QueueConfig::manual())?);
        }
        device.create_default_queue(
            QueueConfig::parallel()
                .on_read(stash_read)
                .on_write(stash_write)
                .on_device_control(stash_ioctl),
        )?;
        let stash = device.create_queue(QueueConfig::manual())?;
        Ok(Self {
            device: device.finish_initializing(),
            stash,
            _fillers: fillers,
        })
    }
}

#[test]
fn retrieved_requests_ask_the_framework_for_what_presented_ones_were_given() {
    let io = IoManager::new();
    let driver = io
        .load_driver("stash", wdf_safe::entry_point::<Stash>())
        .unwrap();
    let handle = io.open(r"\\.\Stash").unwrap();
    let read = handle.read_async(5).unwrap();
    let write = handle.write_async(b"abc").unwrap();
    let ioctl = handle
        .device_io_control_async(IOCTL_STASHED, &[1, 2], 7)
        .unwrap();
    assert!(read.returned_pending() && write.returned_pending() && ioctl.returned_pending());
    assert_eq!(
        handle.device_io_control(IOCTL_REPORT, &[], 0).status,
        NtStatus::SUCCESS
    );
    assert_eq!(read.result().unwrap().status, NtStatus::SUCCESS);
    assert_eq!(write.result().unwrap().information, 3);
    assert_eq!(ioctl.result().unwrap().status, NtStatus::SUCCESS);
    assert_eq!(
        io.trace(),
        [
            "stash: read of 5",
            "stash: write of 3",
            "stash: ioctl 0x800024c4, 2 in, 7 out",
        ]
    );
    assert_eq!(handle.close(), NtStatus::SUCCESS);
    io.unload_driver(driver).unwrap();
}
