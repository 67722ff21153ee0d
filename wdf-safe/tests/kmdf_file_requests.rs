//! `WdfIoQueueRetrieveRequestByFileObject` through the shipped seam and the simulated KMDF:
//! reads park in a manual queue until their handle is cleaned up, when `EvtFileCleanup` takes
//! back exactly that open's reads (and leaves another open's waiting), as a driver that keeps
//! requests per handle does.
#![cfg(feature = "host")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};

use wdf_safe::device::SDDL_DEVOBJ_SYS_ALL_ADM_ALL;
use wdf_safe::file::{FileConfig, FileObject};
use wdf_safe::kind::state::Ready;
use wdf_safe::kind::{Create, Manual, Read};
use wdf_safe::{
    ControlDeviceInit, Device, DriverContext, KmdfDriver, NtResult, NtStatus, Queue, QueueConfig,
    Request, RequestDone,
};
use wdm_compat::host::IoManager;

/// Each open's number.
struct Open(u32);

static OPENS: AtomicU32 = AtomicU32::new(0);

impl Default for Open {
    fn default() -> Self {
        Self(OPENS.fetch_add(1, Ordering::SeqCst))
    }
}

struct Parker {
    parked: OnceLock<Queue<Manual>>,
}

/// Reads taken back by cleanups.
static TAKEN_BACK: AtomicU32 = AtomicU32::new(0);

fn on_create<'r>(
    _: &Parker,
    _device: Device<Parker, Ready>,
    _file: FileObject<'r, Open>,
    create: Request<'r, Create>,
) -> RequestDone<'r> {
    create.complete(NtStatus::SUCCESS)
}

/// Takes back every read of the open being cleaned up, and completes it.
fn on_cleanup(driver: &Parker, device: Device<Parker, Ready>, file: FileObject<'_, Open>) {
    let queue = driver.parked.get().unwrap();
    while let Ok(request) = device.retrieve_request_by_file_object(queue, &file) {
        let wdf_safe::AnyRequest::Read(read) = request else {
            panic!("only reads are parked");
        };
        assert_eq!(
            read.file_object::<Open>().map(|f| f.context().0),
            Some(file.context().0),
            "a request of another open"
        );
        let _done = read.complete(NtStatus::CANCELLED);
        TAKEN_BACK.fetch_add(1, Ordering::SeqCst);
    }
}

/// Reads wait in the manual queue.
fn on_read<'r>(driver: &Parker, request: Request<'r, Read>) -> RequestDone<'r> {
    match request.forward_to_queue(driver.parked.get().unwrap()) {
        Ok(done) => done,
        Err((request, status)) => request.complete(status),
    }
}

impl KmdfDriver for Parker {
    const PNP: bool = false;

    fn driver_entry(driver: &mut DriverContext<'_, '_, Self>) -> NtResult<Self> {
        let mut init = ControlDeviceInit::allocate(driver, SDDL_DEVOBJ_SYS_ALL_ADM_ALL)
            .ok_or(NtStatus::INSUFFICIENT_RESOURCES)?;
        init.assign_name(r"\Device\Parker")?;
        init.set_file_config(FileConfig::new(on_create).on_cleanup(on_cleanup))?;
        let device = init.create(driver).map_err(|(_, status)| status)?;
        device.create_symbolic_link(r"\DosDevices\Parker")?;
        device.create_default_queue(QueueConfig::parallel().on_read(on_read))?;
        let parked = device.create_queue(QueueConfig::manual())?;
        let this = Self {
            parked: OnceLock::new(),
        };
        let _ = this.parked.set(parked);
        let _ready = device.finish_initializing();
        Ok(this)
    }
}

#[test]
fn a_cleanup_takes_back_its_own_opens_parked_reads_and_no_other() {
    let io = IoManager::new();
    let driver = io
        .load_driver("parker", wdf_safe::entry_point::<Parker>())
        .unwrap();
    let first = io.open(r"\\.\Parker").unwrap();
    let second = io.open(r"\\.\Parker").unwrap();
    let a = first.read_async(4).unwrap();
    let b = second.read_async(4).unwrap();
    let c = first.read_async(4).unwrap();
    assert!(!a.is_complete() && !b.is_complete() && !c.is_complete());
    // Closing the first handle: its two reads come back cancelled, the second's waits on.
    assert_eq!(first.close(), NtStatus::SUCCESS);
    assert_eq!(a.result().unwrap().status, NtStatus::CANCELLED);
    assert_eq!(c.result().unwrap().status, NtStatus::CANCELLED);
    assert!(!b.is_complete(), "another open's read was taken");
    assert_eq!(
        TAKEN_BACK.load(Ordering::SeqCst),
        2,
        "the cleanup took them back"
    );
    assert_eq!(second.close(), NtStatus::SUCCESS);
    assert_eq!(b.result().unwrap().status, NtStatus::CANCELLED);
    assert_eq!(TAKEN_BACK.load(Ordering::SeqCst), 3);
    io.unload_driver(driver).unwrap();
    assert!(io.violations().is_empty(), "{:#?}", io.violations());
}
