//! Contexts an I/O callback reaches from its request: its device's (`WdfIoQueueGetDevice` of
//! `WdfRequestGetIoQueue`) and its queue's, each found by type; the queue's cleanup callback
//! runs when the queue goes with its device. Through the shipped seam and the simulated KMDF.
#![cfg(feature = "host")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

mod common;

use std::sync::atomic::{AtomicU32, Ordering};

use wdf_safe::kind::{Read, Write};
use wdf_safe::{
    DriverContext, FdoInit, KmdfDriver, NtResult, NtStatus, QueueConfig, Request, RequestDone,
};
use wdm_compat::host::{IoManager, ScriptedDriver, major};

/// The device's context: which device (its number), and how many requests it saw.
struct Unit {
    number: u32,
    requests: AtomicU32,
}
wdf_safe::declare_context_type!(Unit);

/// A queue's context: what the queue is for.
struct Lane {
    tag: u32,
}
wdf_safe::declare_context_type!(Lane);

/// A device context aligned above KMDF's 16 bytes: the crate boxes contexts, and the pool
/// allocator serves any alignment, so it is still where its type says.
#[repr(align(64))]
struct Wide {
    marker: u64,
}
wdf_safe::declare_context_type!(Wide);

/// Lane cleanups seen (one per queue, at removal).
static LANES_CLEANED: AtomicU32 = AtomicU32::new(0);
static NEXT_UNIT: AtomicU32 = AtomicU32::new(1);

struct Lanes;

/// Completes with information `device number * 100 + lane tag * 10 + requests so far`.
fn answer<K: wdf_safe::kind::RequestKind>(request: Request<'_, K>) -> RequestDone<'_> {
    let (Some(unit), Some(lane), Some(wide)) = (
        request.device_context::<Unit>(),
        request.queue_context::<Lane>(),
        request.device_context::<Wide>(),
    ) else {
        return request.complete(NtStatus::INVALID_DEVICE_STATE);
    };
    if !core::ptr::from_ref::<Wide>(&wide).addr().is_multiple_of(64) || wide.marker != 0x5A5A {
        return request.complete(NtStatus::UNSUCCESSFUL);
    }
    // A queue's context is not the device's, and the other way round.
    assert!(request.queue_context::<Unit>().is_none());
    assert!(request.device_context::<Lane>().is_none());
    let seen = unit.requests.fetch_add(1, Ordering::SeqCst) + 1;
    let value = unit.number * 100 + lane.tag * 10 + seen;
    request.complete_with_information(NtStatus::SUCCESS, value as usize)
}

fn on_read<'r>(_: &Lanes, request: Request<'r, Read>) -> RequestDone<'r> {
    answer(request)
}

fn on_write<'r>(_: &Lanes, request: Request<'r, Write>) -> RequestDone<'r> {
    answer(request)
}

fn lane_cleaned(_: &Lane) {
    LANES_CLEANED.fetch_add(1, Ordering::SeqCst);
}

impl KmdfDriver for Lanes {
    const PNP: bool = true;

    fn driver_entry(_driver: &mut DriverContext<'_, '_, Self>) -> NtResult<Self> {
        Ok(Self)
    }

    fn device_add(&self, init: FdoInit<'_, Self>) -> NtResult<()> {
        let device = init.create().map_err(|(_, status)| status)?;
        let number = NEXT_UNIT.fetch_add(1, Ordering::SeqCst);
        device.allocate_context(
            || Unit {
                number,
                requests: AtomicU32::new(0),
            },
            None,
        )?;
        device.allocate_context(|| Wide { marker: 0x5A5A }, None)?;
        let reads = device.create_default_queue(QueueConfig::parallel().on_read(on_read))?;
        reads.allocate_context(|| Lane { tag: 1 }, Some(lane_cleaned))?;
        let writes = device.create_queue(QueueConfig::parallel().on_write(on_write))?;
        writes.allocate_context(|| Lane { tag: 2 }, Some(lane_cleaned))?;
        device.configure_request_dispatching(&writes, wdf_safe::kind::RequestType::Write)?;
        // One context of a type per object.
        assert_eq!(
            reads.allocate_context(|| Lane { tag: 9 }, None).err(),
            Some(NtStatus::OBJECT_NAME_EXISTS)
        );
        assert_eq!(reads.context::<Lane>().map(|l| l.tag), Some(1));
        Ok(())
    }
}

#[test]
fn an_io_callback_reaches_its_devices_and_its_queues_context() {
    let io = IoManager::new();
    let bus = io
        .load_driver(
            "bus",
            ScriptedDriver::new().succeeding(&[
                major::CREATE,
                major::CLEANUP,
                major::CLOSE,
                major::PNP,
            ]),
        )
        .unwrap();
    let driver = io
        .load_driver("lanes", wdf_safe::entry_point::<Lanes>())
        .unwrap();
    let node = |pdo_name| common::started_node(&io, bus, driver, pdo_name);
    let (first, second) = (node(r"\Device\Lane1"), node(r"\Device\Lane2"));
    let (one, two) = (first.open().unwrap(), second.open().unwrap());
    let numbers = NEXT_UNIT.load(Ordering::SeqCst);
    let (n1, n2) = (numbers - 2, numbers - 1);
    // Each request finds its own device's unit and its own queue's lane (the answer is in the
    // information, so the buffers are large enough for it).
    let bytes = [0u8; 4096];
    assert_eq!(one.read(4096).information, (n1 * 100 + 10 + 1) as usize);
    assert_eq!(one.write(&bytes).information, (n1 * 100 + 20 + 2) as usize);
    assert_eq!(two.write(&bytes).information, (n2 * 100 + 20 + 1) as usize);
    assert_eq!(one.read(4096).information, (n1 * 100 + 10 + 3) as usize);
    assert_eq!(one.close(), NtStatus::SUCCESS);
    assert_eq!(two.close(), NtStatus::SUCCESS);
    let cleaned = LANES_CLEANED.load(Ordering::SeqCst);
    assert_eq!(first.remove(), NtStatus::SUCCESS);
    // Both of the first device's queues ran their context's cleanup.
    assert_eq!(LANES_CLEANED.load(Ordering::SeqCst) - cleaned, 2);
    assert_eq!(second.remove(), NtStatus::SUCCESS);
    assert!(io.violations().is_empty(), "{:#?}", io.violations());
}

/// A timer's context and a work item's: each counts its own runs, reached through the handle
/// the driver keeps; their cleanup callbacks run when the device goes.
struct Runs(AtomicU32);
wdf_safe::declare_context_type!(Runs);

static RUNS_CLEANED: AtomicU32 = AtomicU32::new(0);

struct Clocked {
    timer: wdf_safe::timer::Timer<Clocked>,
    work: wdf_safe::work_item::WorkItem<Clocked>,
}

fn runs_cleaned(runs: &Runs) {
    RUNS_CLEANED.fetch_add(runs.0.load(Ordering::SeqCst), Ordering::SeqCst);
}

fn tick(driver: &Clocked, _device: wdf_safe::Device<Clocked, wdf_safe::kind::state::Ready>) {
    if let Some(runs) = driver.timer.context::<Runs>() {
        runs.0.fetch_add(1, Ordering::SeqCst);
    }
    // A timer's context is its own: the work item's is another value.
    assert!(!std::ptr::eq(
        &*driver.timer.context::<Runs>().unwrap(),
        &*driver.work.context::<Runs>().unwrap()
    ));
    driver.work.enqueue();
}

fn work(driver: &Clocked, _device: wdf_safe::Device<Clocked, wdf_safe::kind::state::Ready>) {
    if let Some(runs) = driver.work.context::<Runs>() {
        runs.0.fetch_add(100, Ordering::SeqCst);
    }
}

impl KmdfDriver for Clocked {
    fn driver_entry(driver: &mut DriverContext<'_, '_, Self>) -> NtResult<Self> {
        let mut init = wdf_safe::ControlDeviceInit::allocate(
            driver,
            wdf_safe::device::SDDL_DEVOBJ_SYS_ALL_ADM_ALL,
        )
        .ok_or(NtStatus::INSUFFICIENT_RESOURCES)?;
        init.assign_name(r"\Device\Clocked")?;
        let device = init.create(driver).map_err(|(_, status)| status)?;
        let timer = device.create_timer(wdf_safe::timer::TimerConfig::periodic(10, tick))?;
        let work = device.create_work_item(work)?;
        timer.allocate_context(|| Runs(AtomicU32::new(0)), Some(runs_cleaned))?;
        work.allocate_context(|| Runs(AtomicU32::new(0)), Some(runs_cleaned))?;
        assert_eq!(
            timer
                .allocate_context(|| Runs(AtomicU32::new(0)), None)
                .err(),
            Some(NtStatus::OBJECT_NAME_EXISTS)
        );
        let _ready = device.finish_initializing();
        timer.start(10);
        Ok(Self { timer, work })
    }
}

#[test]
fn a_timer_and_a_work_item_have_their_own_contexts_cleaned_up_with_their_device() {
    let io = IoManager::new();
    let driver = io
        .load_driver("clocked", wdf_safe::entry_point::<Clocked>())
        .unwrap();
    wdf_safe::advance_clock(&io, core::time::Duration::from_millis(35));
    wdf_safe::run_work_items(&io);
    // Three ticks; the work item was queued three times but runs once per queueing that
    // found it idle (each tick ran before the worker), so once.
    io.unload_driver(driver).unwrap();
    assert_eq!(RUNS_CLEANED.load(Ordering::SeqCst), 3 + 100);
    assert!(io.violations().is_empty(), "{:#?}", io.violations());
}

/// A context with a field that relies on its address (as a `KEVENT` or an intrusive list head
/// does): `!Unpin`, reached through `Pin<&Ring>` and projected with `pin_project!`.
struct Anchor {
    /// The address the anchor was first seen at.
    at: std::sync::atomic::AtomicUsize,
    _pinned: core::marker::PhantomPinned,
}

impl Anchor {
    /// Whether the anchor is where it was the first time (it records that address then).
    fn still_here(self: core::pin::Pin<&Self>) -> bool {
        let here = std::ptr::from_ref(self.get_ref()) as usize;
        match self
            .at
            .compare_exchange(0, here, Ordering::SeqCst, Ordering::SeqCst)
        {
            Ok(_) => true,
            Err(first) => first == here,
        }
    }
}

wdf_safe::pin_project! {
    struct Ring {
        #[pin]
        anchor: Anchor,
        ticks: AtomicU32,
    }
}
wdf_safe::declare_context_type!(Ring);
static_assertions::assert_not_impl_any!(Ring: Unpin);

/// A timer whose pinned context is checked at every tick.
struct Pinned {
    timer: wdf_safe::timer::Timer<Pinned>,
}

static ANCHOR_MOVED: AtomicU32 = AtomicU32::new(0);
static ANCHOR_CHECKED: AtomicU32 = AtomicU32::new(0);

fn pinned_tick(driver: &Pinned, _device: wdf_safe::Device<Pinned, wdf_safe::kind::state::Ready>) {
    let Some(ring) = driver.timer.context::<Ring>() else {
        return;
    };
    let ring = ring.as_pin().project_ref();
    if !ring.anchor.still_here() {
        ANCHOR_MOVED.fetch_add(1, Ordering::SeqCst);
    }
    let ticks = ring.ticks.fetch_add(1, Ordering::SeqCst) + 1;
    ANCHOR_CHECKED.store(ticks, Ordering::SeqCst);
}

impl KmdfDriver for Pinned {
    fn driver_entry(driver: &mut DriverContext<'_, '_, Self>) -> NtResult<Self> {
        let mut init = wdf_safe::ControlDeviceInit::allocate(
            driver,
            wdf_safe::device::SDDL_DEVOBJ_SYS_ALL_ADM_ALL,
        )
        .ok_or(NtStatus::INSUFFICIENT_RESOURCES)?;
        init.assign_name(r"\Device\Pinned")?;
        let device = init.create(driver).map_err(|(_, status)| status)?;
        let timer = device.create_timer(wdf_safe::timer::TimerConfig::periodic(10, pinned_tick))?;
        timer.allocate_context(
            || Ring {
                anchor: Anchor {
                    at: std::sync::atomic::AtomicUsize::new(0),
                    _pinned: core::marker::PhantomPinned,
                },
                ticks: AtomicU32::new(0),
            },
            None,
        )?;
        // Pinned from here on: the anchor records this address.
        let ring = timer.context::<Ring>().ok_or(NtStatus::UNSUCCESSFUL)?;
        assert!(ring.as_pin().project_ref().anchor.still_here());
        let _ready = device.finish_initializing();
        timer.start(10);
        Ok(Self { timer })
    }
}

#[test]
fn a_pinned_context_stays_where_it_was_pinned_across_callbacks() {
    let io = IoManager::new();
    let driver = io
        .load_driver("pinned", wdf_safe::entry_point::<Pinned>())
        .unwrap();
    wdf_safe::advance_clock(&io, core::time::Duration::from_millis(45));
    io.unload_driver(driver).unwrap();
    // Four ticks (10, 20, 30 and 40 ms), each through the pinned context, which never moved.
    assert_eq!(ANCHOR_CHECKED.load(Ordering::SeqCst), 4);
    assert_eq!(ANCHOR_MOVED.load(Ordering::SeqCst), 0);
    assert!(io.violations().is_empty(), "{:#?}", io.violations());
}
