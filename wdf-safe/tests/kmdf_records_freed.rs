//! The crate's records of a device and of its queue and timer, with their typed contexts, go
//! with the device: a filter or function driver that sees many devices come and go holds the
//! state of the devices it has now, not of every device it ever had (KMDF frees an object's
//! context memory when the object is destroyed, and so does the crate).
//!
//! A PnP function driver keeps every device it is given, past removal, and gives each device,
//! its default queue and a timer a context that counts its own drop. Removing a device drops
//! its three contexts at once, long before the driver unloads; a handle kept past the removal
//! finds nothing, even once a later device's record has taken its place; a `ContextRef` the
//! driver keeps holds its context until the driver lets it go.
#![cfg(feature = "host")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

mod common;

use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};

use wdf_safe::context::ContextRef;
use wdf_safe::kind::DeviceControl;
use wdf_safe::kind::state::Ready;
use wdf_safe::timer::TimerConfig;
use wdf_safe::{
    Device, DriverContext, FdoInit, KmdfDriver, NtResult, NtStatus, QueueConfig, Request,
    RequestDone,
};
use wdm_compat::host::{DeviceNode, IoManager};

/// Keeps the device context of the device with the id in its input (as a `ContextRef`).
const IOCTL_KEEP_CONTEXT_OF: u32 = 0x0022_2000;
/// Drops the kept `ContextRef`.
const IOCTL_LET_GO: u32 = 0x0022_2004;
/// Returns this device's id, as its context says.
const IOCTL_ID: u32 = 0x0022_2008;

/// Drops of each kind of context.
static DEVICE_DROPS: AtomicU32 = AtomicU32::new(0);
static QUEUE_DROPS: AtomicU32 = AtomicU32::new(0);
static TIMER_DROPS: AtomicU32 = AtomicU32::new(0);
static NEXT_ID: AtomicU32 = AtomicU32::new(1);
/// The tests count drops in the statics above, so they take turns (the harness runs tests in
/// parallel).
static TURNS: Mutex<()> = Mutex::new(());

fn my_turn() -> std::sync::MutexGuard<'static, ()> {
    TURNS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A device's context: its id.
struct DeviceState {
    id: u32,
}
wdf_safe::declare_context_type!(DeviceState);

impl Drop for DeviceState {
    fn drop(&mut self) {
        DEVICE_DROPS.fetch_add(1, Ordering::SeqCst);
    }
}

struct QueueState;
wdf_safe::declare_context_type!(QueueState);

impl Drop for QueueState {
    fn drop(&mut self) {
        QUEUE_DROPS.fetch_add(1, Ordering::SeqCst);
    }
}

struct TimerState;
wdf_safe::declare_context_type!(TimerState);

impl Drop for TimerState {
    fn drop(&mut self) {
        TIMER_DROPS.fetch_add(1, Ordering::SeqCst);
    }
}

/// Keeps every device it was given, and maybe one device context.
#[derive(Default)]
struct Keeper {
    devices: Mutex<Vec<Device<Keeper, Ready>>>,
    kept: Mutex<Option<ContextRef<DeviceState>>>,
}

fn tick(_: &Keeper, _: Device<Keeper, Ready>) {}

fn on_ioctl<'r>(keeper: &Keeper, request: Request<'r, DeviceControl>) -> RequestDone<'r> {
    match request.ioctl_code().to_raw() {
        IOCTL_ID => {
            let Some(id) = request
                .device_context::<DeviceState>()
                .map(|state| state.id)
            else {
                return request.complete(NtStatus::INVALID_DEVICE_STATE);
            };
            request.complete_with(|request| request.write_output(&id))
        }
        IOCTL_KEEP_CONTEXT_OF => request.complete_with(|request| {
            let id: u32 = request.read_input()?;
            let devices = keeper.devices.lock().unwrap();
            let found = devices
                .iter()
                .filter_map(Device::context::<DeviceState>)
                .find(|state| state.id == id);
            let status = match found {
                Some(state) => {
                    *keeper.kept.lock().unwrap() = Some(state);
                    1u32
                }
                None => 0u32,
            };
            request.write_output(&status)
        }),
        IOCTL_LET_GO => {
            drop(keeper.kept.lock().unwrap().take());
            request.complete(NtStatus::SUCCESS)
        }
        _ => request.complete(NtStatus::INVALID_DEVICE_REQUEST),
    }
}

impl KmdfDriver for Keeper {
    const PNP: bool = true;

    fn driver_entry(_driver: &mut DriverContext<'_, '_, Self>) -> NtResult<Self> {
        Ok(Self::default())
    }

    fn device_add(&self, init: FdoInit<'_, Self>) -> NtResult<()> {
        let device = init.create().map_err(|(_, status)| status)?;
        let id = NEXT_ID.fetch_add(1, Ordering::SeqCst);
        device.allocate_context(|| DeviceState { id }, None)?;
        let queue =
            device.create_default_queue(QueueConfig::parallel().on_device_control(on_ioctl))?;
        queue.allocate_context(|| QueueState, None)?;
        let timer = device.create_timer(TimerConfig::one_shot(tick))?;
        timer.allocate_context(|| TimerState, None)?;
        self.devices.lock().unwrap().push(device.ready());
        Ok(())
    }
}

fn ask(node: &DeviceNode, code: u32, input: u32) -> (NtStatus, u32) {
    let handle = node.open().unwrap();
    let answer = handle.device_io_control(code, &input.to_le_bytes(), 4);
    assert_eq!(handle.close(), NtStatus::SUCCESS);
    let value = answer
        .data
        .get(..4)
        .map_or(0, |bytes| u32::from_le_bytes(bytes.try_into().unwrap()));
    (answer.status, value)
}

/// The drops since `before`.
fn since(before: [u32; 3]) -> [u32; 3] {
    let now = drops();
    [0, 1, 2].map(|i| now[i] - before[i])
}

fn drops() -> [u32; 3] {
    [
        DEVICE_DROPS.load(Ordering::SeqCst),
        QUEUE_DROPS.load(Ordering::SeqCst),
        TIMER_DROPS.load(Ordering::SeqCst),
    ]
}

#[test]
fn a_removed_devices_records_and_contexts_go_with_it_and_kept_handles_find_nothing() {
    let _turn = my_turn();
    let io = IoManager::new();
    let bus = io.load_driver("bus", common::pnp_bus()).unwrap();
    let keeper = io
        .load_driver("keeper", wdf_safe::entry_point::<Keeper>())
        .unwrap();

    let before = drops();
    // The first device comes and goes: its three contexts are dropped with it.
    let first = common::started_node(&io, bus, keeper, r"\Device\KeeperPdo1");
    let (status, first_id) = ask(&first, IOCTL_ID, 0);
    assert_eq!(status, NtStatus::SUCCESS);
    assert_eq!(since(before), [0, 0, 0]);
    assert_eq!(first.remove(), NtStatus::SUCCESS);
    assert_eq!(since(before), [1, 1, 1]);

    // A second device, whose record may take the first one's place: the driver's handle to
    // the first device finds nothing, and the second device's context is its own.
    let second = common::started_node(&io, bus, keeper, r"\Device\KeeperPdo2");
    let (status, second_id) = ask(&second, IOCTL_ID, 0);
    assert_eq!(status, NtStatus::SUCCESS);
    assert_ne!(second_id, first_id);
    assert_eq!(
        ask(&second, IOCTL_KEEP_CONTEXT_OF, first_id),
        (NtStatus::SUCCESS, 0),
        "the removed device's handle found a context"
    );

    // A context the driver keeps outlives its device until the driver lets it go.
    let third = common::started_node(&io, bus, keeper, r"\Device\KeeperPdo3");
    let (_, third_id) = ask(&third, IOCTL_ID, 0);
    assert_eq!(
        ask(&second, IOCTL_KEEP_CONTEXT_OF, third_id),
        (NtStatus::SUCCESS, 1)
    );
    assert_eq!(third.remove(), NtStatus::SUCCESS);
    assert_eq!(since(before), [1, 2, 2], "the kept device context stays");
    assert_eq!(ask(&second, IOCTL_LET_GO, 0).0, NtStatus::SUCCESS);
    assert_eq!(since(before), [2, 2, 2]);

    assert_eq!(second.remove(), NtStatus::SUCCESS);
    assert_eq!(since(before), [3, 3, 3]);
    io.unload_driver(keeper).unwrap();
    assert_eq!(since(before), [3, 3, 3]);
    assert!(io.violations().is_empty(), "{:#?}", io.violations());
}

/// A control device whose ioctl callback deletes the device it came through (after completing
/// the request). KMDF would wait for ever there (the queue's dispose waits for the queue's
/// dispatch, which is this thread's), and the simulated verifier says so; the simulation then
/// goes on, and the queue's record, which the callback is running from, goes with the queue only
/// once the callback has returned.
struct SelfDeleting {
    device: Mutex<Option<Device<SelfDeleting, Ready>>>,
}

static SELF_DELETED: Mutex<Option<NtResult>> = Mutex::new(None);

fn delete_from_callback<'r>(
    driver: &SelfDeleting,
    request: Request<'r, DeviceControl>,
) -> RequestDone<'r> {
    let done = request.complete(NtStatus::SUCCESS);
    if let Some(device) = driver.device.lock().unwrap().take() {
        *SELF_DELETED.lock().unwrap() = Some(device.delete());
    }
    done
}

impl KmdfDriver for SelfDeleting {
    fn driver_entry(driver: &mut DriverContext<'_, '_, Self>) -> NtResult<Self> {
        let mut init = wdf_safe::ControlDeviceInit::allocate(
            driver,
            wdf_safe::device::SDDL_DEVOBJ_SYS_ALL_ADM_ALL,
        )
        .ok_or(NtStatus::INSUFFICIENT_RESOURCES)?;
        init.assign_name(r"\Device\SelfDeleting")?;
        let device = init.create(driver).map_err(|(_, status)| status)?;
        device.create_symbolic_link(r"\DosDevices\SelfDeleting")?;
        let queue = device.create_default_queue(
            QueueConfig::sequential().on_device_control(delete_from_callback),
        )?;
        queue.allocate_context(|| QueueState, None)?;
        Ok(Self {
            device: Mutex::new(Some(device.finish_initializing())),
        })
    }
}

#[test]
fn a_device_deleted_from_its_own_queues_callback_is_reported_and_outlived_by_its_records() {
    let _turn = my_turn();
    let io = IoManager::new();
    io.set_strict(false);
    let driver = io
        .load_driver("selfdel", wdf_safe::entry_point::<SelfDeleting>())
        .unwrap();
    let queue_drops = QUEUE_DROPS.load(Ordering::SeqCst);
    let handle = io.open(r"\\.\SelfDeleting").unwrap();
    let answer = handle.device_io_control(IOCTL_ID, &[], 0);
    assert_eq!(answer.status, NtStatus::SUCCESS);
    assert_eq!(*SELF_DELETED.lock().unwrap(), Some(Ok(())));
    assert_eq!(handle.close(), NtStatus::SUCCESS);
    // The queue and its context went with the device, before the driver unloads.
    assert_eq!(QUEUE_DROPS.load(Ordering::SeqCst), queue_drops + 1);
    assert!(io.open(r"\\.\SelfDeleting").is_err());
    io.unload_driver(driver).unwrap();
    let reports = io.take_violations();
    assert_eq!(reports.len(), 1, "{reports:#?}");
    assert!(
        reports[0]
            .message
            .contains("from inside one of its own callbacks"),
        "{reports:#?}"
    );
}

/// A context that holds a `ContextRef` to itself: a cycle, which keeps its record past the
/// device's deletion; the driver's unload frees it, once.
struct Cyclic {
    me: Mutex<Option<ContextRef<Cyclic>>>,
}
wdf_safe::declare_context_type!(Cyclic);

static CYCLIC_DROPS: AtomicU32 = AtomicU32::new(0);

impl Drop for Cyclic {
    fn drop(&mut self) {
        CYCLIC_DROPS.fetch_add(1, Ordering::SeqCst);
    }
}

struct CycleMaker;

impl KmdfDriver for CycleMaker {
    fn driver_entry(driver: &mut DriverContext<'_, '_, Self>) -> NtResult<Self> {
        let mut init = wdf_safe::ControlDeviceInit::allocate(
            driver,
            wdf_safe::device::SDDL_DEVOBJ_SYS_ALL_ADM_ALL,
        )
        .ok_or(NtStatus::INSUFFICIENT_RESOURCES)?;
        init.assign_name(r"\Device\CycleMaker")?;
        let device = init.create(driver).map_err(|(_, status)| status)?;
        let context = device.allocate_context(
            || Cyclic {
                me: Mutex::new(None),
            },
            None,
        )?;
        let again = device.context::<Cyclic>().ok_or(NtStatus::UNSUCCESSFUL)?;
        *context.me.lock().unwrap() = Some(again);
        drop(context);
        let _ready = device.finish_initializing();
        Ok(Self)
    }
}

#[test]
fn contexts_that_keep_each_other_are_freed_once_at_unload() {
    let _turn = my_turn();
    let io = IoManager::new();
    let driver = io
        .load_driver("cycles", wdf_safe::entry_point::<CycleMaker>())
        .unwrap();
    assert_eq!(CYCLIC_DROPS.load(Ordering::SeqCst), 0);
    io.unload_driver(driver).unwrap();
    assert_eq!(CYCLIC_DROPS.load(Ordering::SeqCst), 1);
    assert!(io.violations().is_empty(), "{:#?}", io.violations());
}
