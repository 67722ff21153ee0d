//! Request contexts (`WdfDeviceInitSetRequestAttributes`) through the shipped seam and the
//! simulated KMDF: each request carries its own context, made when the driver first gets it,
//! kept while it waits in a manual queue, found again when it is retrieved, and dropped when
//! it is completed.
#![cfg(feature = "host")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

use std::sync::atomic::{AtomicU32, Ordering};

use wdf_safe::device::SDDL_DEVOBJ_SYS_ALL_ADM_ALL;
use wdf_safe::kind::state::Ready;
use wdf_safe::kind::{DeviceControl, Manual, Read};
use wdf_safe::{
    AnyRequest, ControlDeviceInit, Device, DriverContext, KmdfDriver, NtResult, NtStatus, Queue,
    QueueConfig, Request, RequestDone, SpinLock,
};
use wdm_compat::host::IoManager;

/// Where a request has been: its hops through the driver's callbacks.
#[derive(Default)]
struct Trip {
    hops: AtomicU32,
}
wdf_safe::declare_context_type!(Trip);

static DROPPED: AtomicU32 = AtomicU32::new(0);

impl Drop for Trip {
    fn drop(&mut self) {
        DROPPED.fetch_add(1, Ordering::SeqCst);
    }
}

/// Another type: not the requests' context.
#[derive(Default)]
struct Other;
wdf_safe::declare_context_type!(Other);

/// The device and the queue reads wait in.
type Parked = (Device<Parking, Ready>, Queue<Manual>);

struct Parking {
    device: SpinLock<Option<Parked>>,
}

const IOCTL_RELEASE: u32 = 0x0022_2000;

/// A read is counted once and parked.
fn on_read<'r>(parking: &Parking, request: Request<'r, Read>) -> RequestDone<'r> {
    let trip = request.context::<Trip>().unwrap();
    assert!(request.context::<Other>().is_none());
    trip.hops.fetch_add(1, Ordering::SeqCst);
    let Some((_, parked)) = *parking.device.lock() else {
        return request.complete(NtStatus::INVALID_DEVICE_STATE);
    };
    match request.forward_to_queue(&parked) {
        Ok(done) => done,
        Err((request, status)) => request.complete(status),
    }
}

/// Releases the parked read: counted again, completed with its hop count.
fn on_ioctl<'r>(parking: &Parking, request: Request<'r, DeviceControl>) -> RequestDone<'r> {
    let Some((device, parked)) = *parking.device.lock() else {
        return request.complete(NtStatus::INVALID_DEVICE_STATE);
    };
    if let Ok(AnyRequest::Read(read)) = device.retrieve_next_request(&parked) {
        let hops = read
            .context::<Trip>()
            .unwrap()
            .hops
            .fetch_add(1, Ordering::SeqCst)
            + 1;
        let _done = read.complete_with_information(NtStatus::SUCCESS, hops as usize);
    }
    // The IOCTL has a context of its own.
    assert_eq!(
        request
            .context::<Trip>()
            .unwrap()
            .hops
            .load(Ordering::SeqCst),
        0
    );
    request.complete(NtStatus::SUCCESS)
}

impl KmdfDriver for Parking {
    fn driver_entry(driver: &mut DriverContext<'_, '_, Self>) -> NtResult<Self> {
        let mut init = ControlDeviceInit::allocate(driver, SDDL_DEVOBJ_SYS_ALL_ADM_ALL)
            .ok_or(NtStatus::INSUFFICIENT_RESOURCES)?;
        init.assign_name(r"\Device\Parking")?;
        init.set_request_context::<Trip>();
        let device = init.create(driver).map_err(|(_, status)| status)?;
        device.create_symbolic_link(r"\DosDevices\Parking")?;
        device.create_default_queue(
            QueueConfig::parallel()
                .on_read(on_read)
                .on_device_control(on_ioctl),
        )?;
        let parked = device.create_queue(QueueConfig::manual())?;
        let device = device.finish_initializing();
        Ok(Self {
            device: SpinLock::new(Some((device, parked))),
        })
    }
}

#[test]
fn a_request_keeps_its_context_across_callbacks_and_drops_it_when_completed() {
    let io = IoManager::new();
    io.load_driver("parking", wdf_safe::entry_point::<Parking>())
        .unwrap();
    let handle = io.open(r"\\.\Parking").unwrap();
    let dropped = DROPPED.load(Ordering::SeqCst);
    let read = handle.read_async(4).unwrap();
    assert!(!read.is_complete());
    assert_eq!(
        handle.device_io_control(IOCTL_RELEASE, &[], 0).status,
        NtStatus::SUCCESS
    );
    let result = read.result().unwrap();
    assert_eq!((result.status, result.information), (NtStatus::SUCCESS, 2));
    // Both the read's and the IOCTL's contexts were dropped with their requests.
    assert_eq!(DROPPED.load(Ordering::SeqCst) - dropped, 2);
    drop(read);
    assert_eq!(handle.close(), NtStatus::SUCCESS);
    assert!(io.violations().is_empty(), "{:#?}", io.violations());
}
