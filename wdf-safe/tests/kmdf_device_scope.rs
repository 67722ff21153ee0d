//! Device-scope synchronization through the shipped seam and the simulated KMDF: a device
//! created with `set_synchronization_scope_device()` (`WdfSynchronizationScopeDevice`) runs the
//! callbacks of all its queues one at a time. A write held inside one queue's `EvtIoWrite`
//! makes a read presented by another queue wait for the device's lock; without the scope, the
//! read runs at once. A queue made `synchronized()` keeps a lock of its own. Threads: one holds
//! the write until the test lets it go, one sends the read; the simulation says when a callback
//! waits for a lock, so nothing is timed.
#![cfg(feature = "host")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Mutex, OnceLock};

use wdf_safe::device::SDDL_DEVOBJ_SYS_ALL_ADM_ALL;
use wdf_safe::kind::RequestType;
use wdf_safe::kind::{Parallel, Read, Sequential, Write};
use wdf_safe::{
    ControlDeviceInit, DriverContext, KmdfDriver, NtResult, NtStatus, Queue, QueueConfig, Request,
    RequestDone,
};
use wdm_compat::host::IoManager;

/// How the device and its read queue are synchronized.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Scope {
    /// No scope anywhere.
    None,
    /// `WdfSynchronizationScopeDevice`; both queues inherit it.
    Device,
    /// `WdfSynchronizationScopeDevice`, but the read queue is `synchronized()` (a lock of its
    /// own).
    DeviceButQueue,
}

/// One variant's channels (each test has its own driver type).
#[derive(Default)]
struct Shared {
    entered: Mutex<Option<Sender<()>>>,
    go: Mutex<Option<Receiver<()>>>,
}

fn shared<const S: u8>() -> &'static Shared {
    static SHARED: [OnceLock<Shared>; 3] = [OnceLock::new(), OnceLock::new(), OnceLock::new()];
    SHARED[usize::from(S)].get_or_init(Shared::default)
}

const fn scope<const S: u8>() -> Scope {
    match S {
        0 => Scope::None,
        1 => Scope::Device,
        _ => Scope::DeviceButQueue,
    }
}

struct TwoQueues<const S: u8> {
    _writes: Queue<Sequential>,
    _reads: Queue<Parallel>,
}

/// Inside until the test lets it go.
fn write<'r, const S: u8>(_: &TwoQueues<S>, request: Request<'r, Write>) -> RequestDone<'r> {
    let shared = shared::<S>();
    if let Some(entered) = shared.entered.lock().unwrap().as_ref() {
        entered.send(()).unwrap();
    }
    if let Some(go) = shared.go.lock().unwrap().as_ref() {
        go.recv().unwrap();
    }
    let length = request.length();
    request.complete_with_information(NtStatus::SUCCESS, length)
}

fn read<'r, const S: u8>(_: &TwoQueues<S>, request: Request<'r, Read>) -> RequestDone<'r> {
    request.complete_with_information(NtStatus::SUCCESS, 0)
}

fn opened<'r, const S: u8>(
    _: &TwoQueues<S>,
    _device: wdf_safe::Device<TwoQueues<S>, wdf_safe::kind::state::Ready>,
    _file: wdf_safe::file::FileObject<'r, ()>,
    create: Request<'r, wdf_safe::kind::Create>,
) -> RequestDone<'r> {
    create.complete(NtStatus::SUCCESS)
}

const NAMES: [(&str, &str); 3] = [
    (r"\Device\ScopeNone", r"\DosDevices\ScopeNone"),
    (r"\Device\ScopeDevice", r"\DosDevices\ScopeDevice"),
    (r"\Device\ScopeQueue", r"\DosDevices\ScopeQueue"),
];

impl<const S: u8> KmdfDriver for TwoQueues<S> {
    fn driver_entry(driver: &mut DriverContext<'_, '_, Self>) -> NtResult<Self> {
        let mut init = ControlDeviceInit::allocate(driver, SDDL_DEVOBJ_SYS_ALL_ADM_ALL)
            .ok_or(NtStatus::INSUFFICIENT_RESOURCES)?;
        let (name, link) = NAMES[usize::from(S)];
        init.assign_name(name)?;
        if scope::<S>() != Scope::None {
            init.set_synchronization_scope_device();
            // File objects with callbacks too: KMDF refuses a device-scope device whose file
            // objects inherit the scope (dispatch level), so the crate gives them none.
            init.set_file_config(wdf_safe::file::FileConfig::new(opened::<S>))?;
        }
        let device = init.create(driver).map_err(|(_, status)| status)?;
        device.create_symbolic_link(link)?;
        let writes = device.create_default_queue(QueueConfig::sequential().on_write(write::<S>))?;
        let config = QueueConfig::parallel().on_read(read::<S>);
        let reads = device.create_queue(if scope::<S>() == Scope::DeviceButQueue {
            config.synchronized()
        } else {
            config
        })?;
        device.configure_request_dispatching(&reads, RequestType::Read)?;
        let _ready = device.finish_initializing();
        Ok(Self {
            _writes: writes,
            _reads: reads,
        })
    }
}

/// Holds a write in its callback while a read arrives on another thread; returns whether the
/// read had to wait for a lock the write holds.
fn read_waits_for_write<const S: u8>() -> bool {
    let io = IoManager::new();
    let driver = io
        .load_driver(
            &format!("scope{S}"),
            wdf_safe::entry_point::<TwoQueues<S>>(),
        )
        .unwrap();
    let state = shared::<S>();
    let (entered_tx, entered) = channel();
    let (go, go_rx) = channel();
    *state.entered.lock().unwrap() = Some(entered_tx);
    *state.go.lock().unwrap() = Some(go_rx);
    let path = NAMES[usize::from(S)].1.replace(r"\DosDevices", r"\\.");
    let handle = io.open(&path).unwrap();
    let waited = std::thread::scope(|scope| {
        let writer = scope.spawn(|| handle.write(b"held"));
        entered.recv().unwrap();
        let reader = scope.spawn(|| handle.read(4));
        // Either the read waits for the lock the write holds, or it completes.
        while kmdf_sim::callback_lock_waiters(&io) == 0 && !reader.is_finished() {
            std::thread::yield_now();
        }
        let waited = kmdf_sim::callback_lock_waiters(&io) == 1;
        go.send(()).unwrap();
        assert_eq!(writer.join().unwrap().status, NtStatus::SUCCESS);
        assert_eq!(reader.join().unwrap().status, NtStatus::SUCCESS);
        waited
    });
    assert_eq!(handle.close(), NtStatus::SUCCESS);
    io.unload_driver(driver).unwrap();
    assert!(io.violations().is_empty(), "{:#?}", io.violations());
    waited
}

#[test]
fn with_device_scope_a_read_on_another_queue_waits_for_the_write_in_progress() {
    assert!(read_waits_for_write::<1>());
}

#[test]
fn without_a_scope_the_read_runs_during_the_write() {
    assert!(!read_waits_for_write::<0>());
}

#[test]
fn a_synchronized_queue_of_a_device_scope_device_keeps_a_lock_of_its_own() {
    assert!(!read_waits_for_write::<2>());
}
