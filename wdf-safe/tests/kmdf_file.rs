//! File objects through the shipped seam and the simulated KMDF: each open gets a context made
//! at create and dropped after close; `EvtDeviceFileCreate` decides whether the open succeeds
//! (a refused open leaves no context behind); `EvtFileCleanup` then `EvtFileClose` see the
//! open's own context; an I/O callback finds it from its request, on a control device and on a
//! PnP device alike.
#![cfg(feature = "host")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

mod common;

use std::cell::RefCell;
use std::sync::atomic::{AtomicU32, Ordering};

use wdf_safe::device::SDDL_DEVOBJ_SYS_ALL_ADM_ALL;
use wdf_safe::file::{FileConfig, FileObject};
use wdf_safe::kind::state::Ready;
use wdf_safe::kind::{Create, Read};
use wdf_safe::{
    ControlDeviceInit, Device, DriverContext, FdoInit, KmdfDriver, NtResult, NtStatus, QueueConfig,
    Request, RequestDone,
};
use wdm_compat::host::{IoManager, ScriptedDriver, major};

// Callbacks run on the test's thread: one log per test.
std::thread_local! {
    static LOG: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
    /// The next create is refused.
    static REFUSE: core::cell::Cell<bool> = const { core::cell::Cell::new(false) };
}

fn record(line: String) {
    LOG.with(|log| log.borrow_mut().push(line));
}

fn take() -> Vec<String> {
    LOG.with(|log| std::mem::take(&mut *log.borrow_mut()))
}

/// The opens numbered so far (each open's context takes the next number).
static OPENS: AtomicU32 = AtomicU32::new(0);

/// Per open: its number and its reads; says when it is dropped.
struct Open {
    number: u32,
    reads: AtomicU32,
}

impl Default for Open {
    fn default() -> Self {
        Self {
            number: OPENS.fetch_add(1, Ordering::SeqCst),
            reads: AtomicU32::new(0),
        }
    }
}

impl Drop for Open {
    fn drop(&mut self) {
        record(format!("open {} dropped", self.number));
    }
}

struct Files;

/// Accepts the open, unless the test asked for a refusal.
fn on_create<'r>(
    _: &Files,
    _device: Device<Files, Ready>,
    file: FileObject<'r, Open>,
    create: Request<'r, Create>,
) -> RequestDone<'r> {
    let number = file.context().number;
    record(format!("create {number}"));
    if REFUSE.with(|refuse| refuse.replace(false)) {
        let done = create.complete(NtStatus::ACCESS_DENIED);
        // The failed completion deleted the file object; its context lasts until this
        // callback returns (the seam holds a reference on the object meanwhile).
        record(format!("refused {}", file.context().number));
        return done;
    }
    create.complete(NtStatus::SUCCESS)
}

fn on_cleanup(_: &Files, _device: Device<Files, Ready>, file: FileObject<'_, Open>) {
    record(format!("cleanup {}", file.context().number));
}

fn on_close(_: &Files, _device: Device<Files, Ready>, file: FileObject<'_, Open>) {
    let open = file.context();
    record(format!(
        "close {} after {} reads",
        open.number,
        open.reads.load(Ordering::SeqCst)
    ));
}

/// A read returns its open's number.
fn on_read<'r>(_: &Files, request: Request<'r, Read>) -> RequestDone<'r> {
    let Some(open) = request.file_object::<Open>() else {
        return request.complete(NtStatus::INVALID_DEVICE_STATE);
    };
    // Another type is not this open's context.
    assert!(request.file_object::<u32>().is_none());
    let open = open.context();
    open.reads.fetch_add(1, Ordering::SeqCst);
    let number = open.number.to_le_bytes();
    request.complete_with(|request| {
        let out = request.output_buffer(4)?;
        out[..4].copy_from_slice(&number);
        Ok(4)
    })
}

fn config() -> FileConfig<Files, Open> {
    FileConfig::new(on_create)
        .on_cleanup(on_cleanup)
        .on_close(on_close)
}

impl KmdfDriver for Files {
    const PNP: bool = true;

    fn driver_entry(driver: &mut DriverContext<'_, '_, Self>) -> NtResult<Self> {
        let mut init = ControlDeviceInit::allocate(driver, SDDL_DEVOBJ_SYS_ALL_ADM_ALL)
            .ok_or(NtStatus::INSUFFICIENT_RESOURCES)?;
        init.assign_name(r"\Device\Files")?;
        init.set_file_config(config())?;
        let device = init.create(driver).map_err(|(_, status)| status)?;
        device.create_symbolic_link(r"\DosDevices\Files")?;
        device.create_default_queue(QueueConfig::parallel().on_read(on_read))?;
        let _ready = device.finish_initializing();
        Ok(Self)
    }

    fn device_add(&self, mut init: FdoInit<'_, Self>) -> NtResult<()> {
        init.set_file_config(config())?;
        let device = init.create().map_err(|(_, status)| status)?;
        device.create_default_queue(QueueConfig::parallel().on_read(on_read))?;
        Ok(())
    }
}

fn number_read(handle: &wdm_compat::host::FileHandle) -> u32 {
    let result = handle.read(4);
    assert_eq!(result.status, NtStatus::SUCCESS);
    u32::from_le_bytes(result.data.try_into().unwrap())
}

#[test]
fn each_open_has_its_own_context_from_create_to_close() {
    let io = IoManager::new();
    io.load_driver("files", wdf_safe::entry_point::<Files>())
        .unwrap();
    let handle = io.open(r"\\.\Files").unwrap();
    let first = number_read(&handle);
    assert_eq!(
        number_read(&handle),
        first,
        "the same open, the same context"
    );
    // The next open is refused by EvtDeviceFileCreate: its context goes at once.
    REFUSE.with(|refuse| refuse.set(true));
    assert_eq!(io.open(r"\\.\Files").err(), Some(NtStatus::ACCESS_DENIED));
    let other = io.open(r"\\.\Files").unwrap();
    let second = number_read(&other);
    assert_ne!(second, first, "another open, another context");
    assert_eq!(number_read(&handle), first, "the first open keeps its own");
    assert_eq!(other.close(), NtStatus::SUCCESS);
    assert_eq!(handle.close(), NtStatus::SUCCESS);
    let log = take();
    let refused: u32 = log[1].strip_prefix("create ").unwrap().parse().unwrap();
    assert_eq!(
        log[..4],
        [
            format!("create {first}"),
            format!("create {refused}"),
            format!("refused {refused}"),
            format!("open {refused} dropped"),
        ]
    );
    assert_eq!(
        log[log.len() - 3..],
        [
            format!("cleanup {first}"),
            format!("close {first} after 3 reads"),
            format!("open {first} dropped"),
        ]
    );
    assert!(io.violations().is_empty(), "{:#?}", io.violations());
}

#[test]
fn a_pnp_device_has_file_objects_too() {
    let io = IoManager::new();
    let bus = io
        .load_driver(
            "bus",
            ScriptedDriver::new().succeeding(&[major::PNP, major::POWER]),
        )
        .unwrap();
    let driver = io
        .load_driver("files", wdf_safe::entry_point::<Files>())
        .unwrap();
    let node = common::started_node(&io, bus, driver, r"\Device\FilesPdo");
    let handle = node.open().unwrap();
    let number = number_read(&handle);
    assert_eq!(handle.close(), NtStatus::SUCCESS);
    assert_eq!(node.remove(), NtStatus::SUCCESS);
    assert!(take().contains(&format!("close {number} after 1 reads")));
    assert!(io.violations().is_empty(), "{:#?}", io.violations());
}
