//! Lookaside lists through the shipped seam and the simulated KMDF: blocks charged to the
//! driver's tag while out and given back when their box drops; blocks a driver keeps past its
//! device's removal stay valid until it drops them (at unload here); a block never given back
//! is reported at unload, naming its tag.
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

use wdf_safe::kind::DeviceControl;
use wdf_safe::lookaside::{LookasideBox, LookasideList};
use wdf_safe::{
    DriverContext, FdoInit, KmdfDriver, NtResult, NtStatus, QueueConfig, Request, RequestDone,
};
use wdm_compat::host::{DeviceNode, IoManager, ScriptedDriver, major};
use wdm_compat::pool::PoolTag;

const TAG: PoolTag = PoolTag::new(*b"Pkt ");
const IOCTL_KEEP: u32 = 0x0022_2000;
const IOCTL_GIVE_BACK: u32 = 0x0022_2004;
const IOCTL_SUM: u32 = 0x0022_2008;
const IOCTL_FORGET: u32 = 0x0022_200C;

/// Packets dropped so far, and the sum the driver read at unload (one driver per test
/// process would do; each test uses its own statics through its own tag of numbers).
static DROPPED: AtomicU32 = AtomicU32::new(0);
static SUM_AT_UNLOAD: AtomicU32 = AtomicU32::new(0);

/// What the driver keeps in a lookaside block.
struct Packet {
    number: u32,
    _payload: [u8; 52],
}

impl Drop for Packet {
    fn drop(&mut self) {
        DROPPED.fetch_add(1, Ordering::SeqCst);
    }
}

/// The device's list.
struct Packets(LookasideList<Packet>);
wdf_safe::declare_context_type!(Packets);

struct Keeper {
    kept: Mutex<Vec<LookasideBox<Packet>>>,
    /// A second list for the device, kept in the driver value past the device's removal.
    spare: Mutex<Option<LookasideList<Packet>>>,
}

/// What allocating from the spare list answered at unload, after the device went.
static SPARE_AT_UNLOAD: Mutex<Option<NtStatus>> = Mutex::new(None);
/// The tests that load the keeper run one at a time: its unload writes the statics above,
/// which another test's driver would overwrite (the test harness runs tests in parallel).
static ONE_KEEPER: Mutex<()> = Mutex::new(());

fn sum(driver: &Keeper) -> u32 {
    driver.kept.lock().unwrap().iter().map(|p| p.number).sum()
}

fn on_ioctl<'r>(driver: &Keeper, mut request: Request<'r, DeviceControl>) -> RequestDone<'r> {
    let answer = match request.ioctl_code().to_raw() {
        IOCTL_KEEP => {
            let Ok(number) = request.read_input::<u32>() else {
                return request.complete(NtStatus::INVALID_PARAMETER);
            };
            let Some(packets) = request.device_context::<Packets>() else {
                return request.complete(NtStatus::INVALID_DEVICE_STATE);
            };
            match packets.0.allocate(Packet {
                number,
                _payload: [0; 52],
            }) {
                Ok(packet) => {
                    let mut kept = driver.kept.lock().unwrap();
                    kept.push(packet);
                    u32::try_from(kept.len()).unwrap()
                }
                Err((_packet, status)) => return request.complete(status),
            }
        }
        IOCTL_GIVE_BACK => {
            let mut kept = driver.kept.lock().unwrap();
            drop(kept.pop());
            u32::try_from(kept.len()).unwrap()
        }
        IOCTL_SUM => sum(driver),
        IOCTL_FORGET => {
            std::mem::forget(driver.kept.lock().unwrap().pop());
            0
        }
        _ => return request.complete(NtStatus::INVALID_DEVICE_REQUEST),
    };
    request.complete_with(|request| request.write_output(&answer))
}

impl KmdfDriver for Keeper {
    const PNP: bool = true;

    fn driver_entry(_driver: &mut DriverContext<'_, '_, Self>) -> NtResult<Self> {
        Ok(Self {
            kept: Mutex::new(Vec::new()),
            spare: Mutex::new(None),
        })
    }

    fn device_add(&self, init: FdoInit<'_, Self>) -> NtResult<()> {
        let device = init.create().map_err(|(_, status)| status)?;
        let packets = LookasideList::create(&device, TAG)?;
        device.allocate_context(|| Packets(packets), None)?;
        *self.spare.lock().unwrap() = Some(LookasideList::create(&device, TAG)?);
        device.create_default_queue(QueueConfig::parallel().on_device_control(on_ioctl))?;
        Ok(())
    }

    fn unload(&self) {
        // The device is gone: the blocks the driver kept are still its to read.
        SUM_AT_UNLOAD.store(sum(self), Ordering::SeqCst);
        // A list kept past its device gives no more blocks (they would be parented to it).
        let spare = self.spare.lock().unwrap();
        let answer = spare.as_ref().map(|list| {
            list.allocate(Packet {
                number: 0,
                _payload: [0; 52],
            })
            .map(drop)
            .map_err(|(packet, status)| {
                std::mem::forget(packet);
                status
            })
        });
        *SPARE_AT_UNLOAD.lock().unwrap() = answer.and_then(Result::err);
    }
}

fn load(io: &IoManager) -> (wdm_compat::host::DriverId, DeviceNode) {
    let bus = io
        .load_driver(
            "bus",
            ScriptedDriver::new().succeeding(&[
                major::CREATE,
                major::CLEANUP,
                major::CLOSE,
                major::PNP,
                major::POWER,
            ]),
        )
        .unwrap();
    let driver = io
        .load_driver("keeper", wdf_safe::entry_point::<Keeper>())
        .unwrap();
    let node = common::started_node(io, bus, driver, r"\Device\KeeperPdo");
    (driver, node)
}

fn ask(handle: &wdm_compat::host::FileHandle, code: u32, input: u32) -> u32 {
    let result = handle.device_io_control(code, &input.to_le_bytes(), 4);
    assert_eq!(result.status, NtStatus::SUCCESS);
    u32::from_le_bytes(result.data.try_into().unwrap())
}

fn in_use(io: &IoManager) -> usize {
    kmdf_sim::pool_in_use(io, TAG.to_raw()).0
}

#[test]
fn blocks_are_charged_to_their_tag_until_their_box_drops_and_outlive_the_device() {
    let _one = ONE_KEEPER
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let io = IoManager::new();
    let (driver, node) = load(&io);
    let handle = node.open().unwrap();
    let dropped = DROPPED.load(Ordering::SeqCst);
    assert_eq!(ask(&handle, IOCTL_KEEP, 10), 1);
    assert_eq!(ask(&handle, IOCTL_KEEP, 20), 2);
    assert_eq!(ask(&handle, IOCTL_KEEP, 30), 3);
    assert_eq!(
        kmdf_sim::pool_in_use(&io, TAG.to_raw()),
        (3, 3 * size_of::<Packet>())
    );
    assert_eq!(ask(&handle, IOCTL_SUM, 0), 60);
    // Given back: the value dropped, the block no longer charged.
    assert_eq!(ask(&handle, IOCTL_GIVE_BACK, 0), 2);
    assert_eq!(DROPPED.load(Ordering::SeqCst), dropped + 1);
    assert_eq!(in_use(&io), 2);
    assert_eq!(handle.close(), NtStatus::SUCCESS);
    // The device goes, and KMDF deletes the list and the memory objects with it; the driver's
    // two blocks stay valid (and charged) until it drops them.
    assert_eq!(node.remove(), NtStatus::SUCCESS);
    assert_eq!(in_use(&io), 2);
    io.unload_driver(driver).unwrap();
    assert_eq!(SUM_AT_UNLOAD.load(Ordering::SeqCst), 30);
    assert_eq!(
        *SPARE_AT_UNLOAD.lock().unwrap(),
        Some(NtStatus::DELETE_PENDING)
    );
    assert_eq!(DROPPED.load(Ordering::SeqCst), dropped + 3);
    assert_eq!(in_use(&io), 0);
    assert!(io.violations().is_empty(), "{:#?}", io.violations());
}

#[test]
fn a_block_never_given_back_is_reported_at_unload_with_its_tag() {
    let _one = ONE_KEEPER
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let io = IoManager::new();
    io.set_strict(false);
    let (driver, node) = load(&io);
    let handle = node.open().unwrap();
    assert_eq!(ask(&handle, IOCTL_KEEP, 1), 1);
    assert_eq!(ask(&handle, IOCTL_FORGET, 0), 0);
    assert_eq!(handle.close(), NtStatus::SUCCESS);
    assert_eq!(node.remove(), NtStatus::SUCCESS);
    io.unload_driver(driver).unwrap();
    let violations = io.take_violations();
    assert_eq!(violations.len(), 1, "{violations:#?}");
    assert!(
        violations[0].message.contains("FX_POOL")
            && violations[0].message.contains("tagged 'Pkt '"),
        "{violations:#?}"
    );
    // Reported, then freed: nothing stays charged.
    assert_eq!(in_use(&io), 0);
}

/// Paged blocks: taken at PASSIVE_LEVEL, read there; at DISPATCH_LEVEL (a timer) a new block,
/// a new paged list and a read are all refused.
struct PagedKeeper {
    list: wdf_safe::lookaside::PagedLookasideList<[u32; 4]>,
    /// Dropped by the timer, at DISPATCH_LEVEL: leaked.
    kept: Mutex<Option<wdf_safe::lookaside::PagedLookasideBox<[u32; 4]>>>,
    /// Dropped at unload, at PASSIVE_LEVEL: given back.
    _spare: wdf_safe::lookaside::PagedLookasideBox<[u32; 4]>,
    _timer: wdf_safe::timer::Timer<PagedKeeper>,
}

const PAGED_TAG: PoolTag = PoolTag::new(*b"Pgd ");

/// What the timer saw: (block refused, list refused, kept box readable or writable).
type SeenAtDispatch = (Option<NtStatus>, Option<NtStatus>, bool);
static AT_DISPATCH: Mutex<Option<SeenAtDispatch>> = Mutex::new(None);

fn paged_tick(
    keeper: &PagedKeeper,
    device: wdf_safe::Device<PagedKeeper, wdf_safe::kind::state::Ready>,
) {
    let block = keeper.list.allocate([9; 4]).err().map(|(_, status)| status);
    let list = wdf_safe::lookaside::PagedLookasideList::<u8>::create(&device, PAGED_TAG).err();
    let readable = keeper
        .kept
        .lock()
        .unwrap()
        .as_mut()
        .is_some_and(|kept| kept.read().is_some() || kept.write([0; 4]).is_ok());
    // Cannot be given back here: leaked, and reported at unload.
    drop(keeper.kept.lock().unwrap().take());
    *AT_DISPATCH.lock().unwrap() = Some((block, list, readable));
}

impl KmdfDriver for PagedKeeper {
    fn driver_entry(driver: &mut DriverContext<'_, '_, Self>) -> NtResult<Self> {
        let mut init = wdf_safe::ControlDeviceInit::allocate(
            driver,
            wdf_safe::device::SDDL_DEVOBJ_SYS_ALL_ADM_ALL,
        )
        .ok_or(NtStatus::INSUFFICIENT_RESOURCES)?;
        init.assign_name(r"\Device\PagedKeeper")?;
        let device = init.create(driver).map_err(|(_, status)| status)?;
        let list = wdf_safe::lookaside::PagedLookasideList::create(&device, PAGED_TAG)?;
        let mut kept = list.allocate([1, 2, 3, 4]).map_err(|(_, status)| status)?;
        // At PASSIVE_LEVEL the block is there to read and write.
        kept.write([10, 2, 3, 4])
            .map_err(|_| NtStatus::UNSUCCESSFUL)?;
        assert_eq!(kept.read(), Some([10, 2, 3, 4]));
        let timer = device.create_timer(wdf_safe::timer::TimerConfig::one_shot(paged_tick))?;
        let _ready = device.finish_initializing();
        timer.start(10);
        let spare = list.allocate([0; 4]).map_err(|(_, status)| status)?;
        Ok(Self {
            list,
            kept: Mutex::new(Some(kept)),
            _spare: spare,
            _timer: timer,
        })
    }
}

#[test]
fn paged_blocks_are_taken_and_read_at_passive_level_and_refused_at_dispatch_level() {
    let io = IoManager::new();
    io.set_strict(false);
    let driver = io
        .load_driver("pagedkeeper", wdf_safe::entry_point::<PagedKeeper>())
        .unwrap();
    assert_eq!(kmdf_sim::pool_in_use(&io, PAGED_TAG.to_raw()), (2, 32));
    wdf_safe::advance_clock(&io, core::time::Duration::from_millis(10));
    assert_eq!(
        *AT_DISPATCH.lock().unwrap(),
        Some((
            Some(NtStatus::INVALID_DEVICE_REQUEST),
            Some(NtStatus::INVALID_DEVICE_REQUEST),
            false
        ))
    );
    // The box dropped at DISPATCH_LEVEL was not given back.
    assert_eq!(kmdf_sim::pool_in_use(&io, PAGED_TAG.to_raw()), (2, 32));
    // Unloading drops the spare at PASSIVE_LEVEL (given back); the leaked one is reported.
    io.unload_driver(driver).unwrap();
    let violations = io.take_violations();
    assert_eq!(violations.len(), 1, "{violations:#?}");
    assert!(
        violations[0].message.contains("FX_POOL")
            && violations[0].message.contains("tagged 'Pgd '"),
        "{violations:#?}"
    );
    assert_eq!(kmdf_sim::pool_in_use(&io, PAGED_TAG.to_raw()), (0, 0));
}
