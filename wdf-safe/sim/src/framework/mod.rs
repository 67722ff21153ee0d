//! The framework's safe half: its object model, the driver, devices, the I/O package, queues
//! and requests, written against plain Rust values. The table's entries (`crate::ffi`) read the
//! raw arguments of each DDI, validate them and call in here; callbacks into drivers go back out
//! through `crate::ffi::callbacks`.

pub(crate) mod created;
pub(crate) mod device;
pub(crate) mod driver;
pub(crate) mod file;
pub(crate) mod io;
pub(crate) mod lifecycle;
pub(crate) mod loader;
pub(crate) mod lookaside;
pub(crate) mod objects;
pub(crate) mod pnp;
pub(crate) mod queue;
pub(crate) mod queue_power;
pub(crate) mod registry;
pub(crate) mod request;
pub(crate) mod send;
pub(crate) mod serialization;
pub(crate) mod timer;
pub(crate) mod verifier;
pub(crate) mod wait_lock;
pub(crate) mod work_item;

use core::ffi::c_void;
use core::sync::atomic::{AtomicPtr, AtomicU64, AtomicUsize, Ordering};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;
use std::string::String;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::vec::Vec;

use wdm_compat::host::{DeviceId, KernelCalls};

pub(crate) use loader::ImageEntry;
use objects::{Handle, Objects};

use crate::ffi::bindings::{PWDF_DRIVER_GLOBALS, WDF_DRIVER_GLOBALS};
use crate::ffi::memory::Globals;

/// One framework library (`Wdf01000.sys`) of one simulated system, shared by the KMDF drivers
/// loaded into it ([`wdm_compat::host::IoManager::library`]).
pub(crate) struct Framework {
    /// Unique in the process (an address could be reused by a later framework).
    pub(crate) id: usize,
    state: Mutex<State>,
    /// `state.objects`'s removal counter, read without the lock.
    pub(crate) removals: Arc<AtomicU64>,
    /// How many times drivers called into the function table.
    pub(crate) ddi_calls: AtomicU64,
    /// Signalled when a request leaves a driver's hands (synchronous purges wait on it).
    released: Condvar,
    /// Threads waiting on `released` (counted under the lock, so no wake-up is lost): with
    /// none, a release wakes nobody instead of making a system call per request.
    release_waiters: AtomicUsize,
    next_image: AtomicUsize,
    /// Lookaside blocks out, per image and tag (KMDF's pool tracking).
    pub(crate) pool: Arc<lookaside::PoolLedger>,
    /// Threads waiting for a callback lock ([`serialization`]).
    pub(crate) lock_waiters: AtomicUsize,
}

/// Everything behind the framework's lock.
#[derive(Default)]
pub(crate) struct State {
    pub(crate) objects: Objects,
    /// The simulated clock, in 100 ns ticks since the framework started (`timer.rs`).
    pub(crate) clock: u64,
    /// The timers, for the clock to find the due ones.
    pub(crate) timers: timer::Timers,
    /// The work items waiting for the (simulated) worker thread.
    pub(crate) work: work_item::Pending,
    /// The drivers' `Parameters` registry keys.
    pub(crate) parameters: registry::Parameters,
    /// The framework device of each WDM device object the framework created.
    pub(crate) devices: BTreeMap<DeviceId, Handle>,
    /// Device interfaces created so far (each gets its own path).
    pub(crate) interfaces_created: usize,
    /// The `DEVICE_OBJECT` memory handed out by `WdfDeviceWdmGetDeviceObject`, per WDM device,
    /// kept for the framework's life as the simulation keeps device objects (an address a
    /// port driver kept never reaches freed memory).
    pub(crate) device_objects: BTreeMap<DeviceId, DeviceObjectMemory>,
}

/// A `DEVICE_OBJECT`'s memory, and whose device it is: a routine a port driver calls with the
/// address (a keyboard filter's service callback) runs as that image's code.
pub(crate) struct DeviceObjectMemory {
    pub(crate) block: crate::ffi::memory::Block,
    /// Weak: the framework's state must not keep its images alive.
    pub(crate) image: std::sync::Weak<Image>,
    pub(crate) driver: Option<wdm_compat::host::DriverId>,
}

impl Default for Framework {
    fn default() -> Self {
        static FRAMEWORKS: AtomicUsize = AtomicUsize::new(0);
        let state = State::default();
        Self {
            id: FRAMEWORKS.fetch_add(1, Ordering::Relaxed),
            removals: state.objects.removals(),
            ddi_calls: AtomicU64::new(0),
            state: Mutex::new(state),
            released: Condvar::new(),
            release_waiters: AtomicUsize::new(0),
            next_image: AtomicUsize::new(0),
            pool: Arc::default(),
            lock_waiters: AtomicUsize::new(0),
        }
    }
}

impl Framework {
    /// Wakes the threads waiting for a request to leave a driver's hands, if any.
    pub(crate) fn notify_released(&self) {
        if self.release_waiters.load(Ordering::SeqCst) > 0 {
            self.released.notify_all();
        }
    }

    /// Waits (at most `timeout`) for a request to leave a driver's hands.
    pub(crate) fn wait_released<'a>(
        &self,
        state: MutexGuard<'a, State>,
        timeout: core::time::Duration,
    ) -> MutexGuard<'a, State> {
        self.release_waiters.fetch_add(1, Ordering::SeqCst);
        let state = match self.released.wait_timeout(state, timeout) {
            Ok((state, _)) => state,
            Err(poisoned) => poisoned.into_inner().0,
        };
        self.release_waiters.fetch_sub(1, Ordering::SeqCst);
        state
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A loaded KMDF driver image: what KMDF's loader binds for it (its driver globals, the
/// framework it is bound to) and the image's own statics on the host.
pub(crate) struct Image {
    pub(crate) id: usize,
    pub(crate) framework: Arc<Framework>,
    pub(crate) name: String,
    /// `WDF_DRIVER_GLOBALS`: only its address is used (it identifies the image); boxed so the
    /// address is stable.
    globals: Globals,
    /// The `WDFDRIVER` once `WdfDriverCreate` made it.
    pub(crate) driver: Mutex<Option<Handle>>,
    /// The image's static data (see [`crate::image_static`]).
    pub(crate) statics: AtomicPtr<c_void>,
}

impl Image {
    pub(crate) fn new(framework: Arc<Framework>, name: &str) -> Self {
        let id = framework.next_image.fetch_add(1, Ordering::Relaxed);
        let mut driver_name = [0i8; crate::ffi::bindings::WDF_DRIVER_GLOBALS_NAME_LEN];
        for (slot, byte) in driver_name.iter_mut().zip(name.bytes().take(31)) {
            *slot = i8::try_from(byte).unwrap_or(b'?' as i8);
        }
        Self {
            id,
            framework,
            name: name.into(),
            globals: Globals::new(WDF_DRIVER_GLOBALS {
                Driver: core::ptr::null_mut(),
                DriverFlags: 0,
                DriverTag: 0,
                DriverName: driver_name,
                DisplaceDriverUnload: 1,
            }),
            driver: Mutex::new(None),
            statics: AtomicPtr::new(core::ptr::null_mut()),
        }
    }

    /// The image's `WdfDriverGlobals`.
    pub(crate) fn globals(&self) -> PWDF_DRIVER_GLOBALS {
        self.globals.as_ptr()
    }

    /// The `WDFDRIVER`, once created.
    pub(crate) fn driver(&self) -> Option<Handle> {
        *self.driver.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The context of a call into or out of a driver: which image's code runs, and the kernel
/// calls of the WDM driver the framework is for that image.
#[derive(Clone)]
pub(crate) struct Cx {
    pub(crate) image: Arc<Image>,
    pub(crate) kernel: KernelCalls,
}

std::thread_local! {
    /// The images whose code this thread is running, innermost last: the framework pushes one
    /// around every call into a driver (what `WdfDriverGlobals` is on the host). Shared with
    /// `Rc`, so each DDI's look at its context costs no atomic operation.
    static FRAMES: RefCell<Vec<Rc<Cx>>> = const { RefCell::new(Vec::new()) };
}

/// The innermost call context of this thread.
pub(crate) fn current() -> Option<Rc<Cx>> {
    FRAMES.with(|frames| frames.borrow().last().cloned())
}

/// `WdfDriverGlobals` of the image whose code this thread runs (null outside any).
pub(crate) fn current_globals() -> PWDF_DRIVER_GLOBALS {
    FRAMES.with(|frames| {
        frames
            .borrow()
            .last()
            .map_or(core::ptr::null_mut(), |cx| cx.image.globals())
    })
}

/// Runs `f` on the statics slot of the image whose code this thread runs.
pub(crate) fn with_statics<R>(f: impl FnOnce(&AtomicPtr<c_void>) -> R) -> Option<R> {
    FRAMES.with(|frames| frames.borrow().last().map(|cx| f(&cx.image.statics)))
}

/// Pops the frame [`Cx::enter`] pushed.
pub(crate) struct FrameGuard(());

impl Drop for FrameGuard {
    fn drop(&mut self) {
        FRAMES.with(|frames| {
            frames.borrow_mut().pop();
        });
    }
}

impl Cx {
    pub(crate) const fn new(image: Arc<Image>, kernel: KernelCalls) -> Self {
        Self { image, kernel }
    }

    /// Marks this thread as running the image's code until the guard is dropped.
    pub(crate) fn enter(&self) -> FrameGuard {
        Rc::new(self.clone()).enter_shared()
    }
}

/// Entering a context already shared (the I/O path makes one per IRP).
pub(crate) trait EnterShared {
    /// As [`Cx::enter`], without copying the context.
    fn enter_shared(&self) -> FrameGuard;
}

impl EnterShared for Rc<Cx> {
    fn enter_shared(&self) -> FrameGuard {
        FRAMES.with(|frames| frames.borrow_mut().push(Rc::clone(self)));
        FrameGuard(())
    }
}

impl Cx {
    pub(crate) fn fx(&self) -> &Framework {
        &self.image.framework
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.fx().lock()
    }

    /// The simulated IRQL of this thread.
    pub(crate) fn irql(&self) -> u8 {
        self.kernel.current_irql()
    }
}
