//! The I/O manager: one lock over the world of a simulation, split by concern.
//!
//! | file | what it holds |
//! |---|---|
//! | [`objects`] | the objects whose addresses driver code sees, and the routines drivers register |
//! | [`drivers`] | loading and unloading, the driver object's fields |
//! | [`devices`] | device objects, stacks, the object namespace (names and symbolic links) |
//! | [`irps`] | IRPs: allocation, retirement, their fields, probes |
//! | [`dispatch`] | `IoCallDriver`, stack locations, the checks when a dispatch routine returns |
//! | [`completion`] | `IoCompleteRequest`: completion routines, pending propagation, the copy-back |
//! | [`files`] | file objects: cleanup at close, close once their IRPs completed |
//! | [`cancel`] | `IoCancelIrp`, cancel routines, the cancel spin lock |
//! | [`reports`] | the verifier's record, strict mode, the `DbgPrint` trace |
//! | [`shutdown`] | the last handle's drop: device nodes removed, drivers unloaded |
//!
//! Driver code never runs with the lock held: each operation prepares under the lock, calls the
//! driver without it, and records what the driver did under the lock again.

use core::time::Duration;
use std::collections::{BTreeMap, VecDeque};
use std::string::{String, ToString};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::vec::Vec;

use super::DriverId;
use super::irql;
use super::scripted::KernelCalls;
use super::verifier::Violation;

mod cancel;
mod completion;
mod devices;
mod dispatch;
mod drivers;
mod files;
mod irps;
mod names;
mod objects;
mod probe;
mod reports;
mod shutdown;

pub use completion::TrackedCompletion;
pub use devices::DeviceInfo;
pub use objects::DriverEntry;
pub use probe::IrpProbe;

pub(super) use irps::{IrpSpec, ScriptedAccess, Transfer};
pub(super) use objects::{AddDevice, CancelRoutine, CompletionRoutine, read_cells};
pub(crate) use objects::{DeviceObj, DriverObj, IrpObj};

use devices::DeviceState;
use dispatch::Frame;
use drivers::DriverState;
use irps::IrpTable;

/// Everything one simulation knows, behind one lock.
struct World {
    drivers: Vec<DriverState>,
    devices: Vec<DeviceState>,
    /// The IRPs in flight, and those completed but still kept by their originator or a probe.
    irps: IrpTable,
    /// Normalized link name (lowercase, `\??\x`) → device name.
    links: BTreeMap<String, String>,
    /// The dispatch routines running now (nested when one calls the driver below).
    frames: BTreeMap<usize, Frame>,
    next_frame: usize,
    /// Holders of the cancel spin lock: the IRP whose cancel routine got it, and the IRQL to
    /// go back to (`Irp->CancelIrql`).
    cancel_lock: Vec<(super::IrpId, u8)>,
    violations: Vec<Violation>,
    /// How many violations strict mode has already reported.
    reported: usize,
    /// The last `trace_capacity` lines drivers printed, as DbgView keeps a bounded buffer.
    trace: VecDeque<String>,
    trace_capacity: usize,
    strict: bool,
    /// How many allocations of driver code through `wdm_compat::memory` succeed before one is
    /// refused ([`IoManager::fail_allocation`]); `None`: none is.
    allocation_countdown: Option<usize>,
    sync_timeout: Duration,
    /// Originators blocked in `wait_for` right now.
    waiters: usize,
    /// Echo the trace and violations to stderr (`WDF_SAFE_TRACE=1`).
    echo: bool,
    /// Kernel-mode libraries shared by the drivers ([`IoManager::library`]).
    libraries: Vec<Arc<dyn core::any::Any + Send + Sync>>,
    /// Closed handles whose `IRP_MJ_CLOSE` waits for their outstanding IRPs: the device they
    /// opened and those IRPs (`user.rs`).
    deferred_closes: Vec<(
        crate::host::DeviceId,
        crate::host::FileObject,
        Vec<crate::host::IrpId>,
    )>,
    /// The number of the next file object.
    next_file: usize,
    /// Tagged pool blocks outstanding (`wdm_compat::pool`), by driver and tag: how many, and
    /// their bytes. Checked when the driver unloads.
    pool: BTreeMap<(Option<super::DriverId>, u32), (usize, usize)>,
    /// Each outstanding tagged block (by address): who allocated it, its tag and size, so a
    /// free is charged back to its owner whoever frees it.
    pool_blocks: BTreeMap<usize, (Option<super::DriverId>, u32, usize)>,
}

/// What every handle to one simulation shares.
pub(crate) struct Inner {
    world: Mutex<World>,
    /// Signalled whenever an IRP completes, for originators waiting on one.
    completed: Condvar,
    /// Set when the last handle went and the simulation shut down (`shutdown.rs`).
    shut_down: std::sync::atomic::AtomicBool,
}

/// The simulated I/O manager. Cheap to clone: every clone is a handle to the same simulation.
///
/// Each `IoManager::new()` is a world of its own (drivers, devices, namespace, verifier), so
/// tests running in parallel never see each other.
#[derive(Clone)]
pub struct IoManager {
    inner: Arc<Inner>,
}

impl core::fmt::Debug for IoManager {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("IoManager")
    }
}

impl Default for IoManager {
    fn default() -> Self {
        Self::new()
    }
}

/// How many `DbgPrint` lines [`IoManager::trace`] keeps by default.
const DEFAULT_TRACE_CAPACITY: usize = 10_000;

impl IoManager {
    /// A new, empty simulation: no drivers, no devices, verifier on and strict.
    #[must_use]
    pub fn new() -> Self {
        let echo = std::env::var("WDF_SAFE_TRACE").is_ok_and(|v| v == "1");
        Self {
            inner: Arc::new(Inner {
                world: Mutex::new(World {
                    drivers: Vec::new(),
                    devices: Vec::new(),
                    irps: IrpTable::default(),
                    links: BTreeMap::new(),
                    frames: BTreeMap::new(),
                    next_frame: 0,
                    cancel_lock: Vec::new(),
                    violations: Vec::new(),
                    reported: 0,
                    trace: VecDeque::new(),
                    trace_capacity: DEFAULT_TRACE_CAPACITY,
                    strict: true,
                    allocation_countdown: None,
                    sync_timeout: Duration::from_secs(10),
                    waiters: 0,
                    echo,
                    libraries: Vec::new(),
                    deferred_closes: Vec::new(),
                    next_file: 0,
                    pool: BTreeMap::new(),
                    pool_blocks: BTreeMap::new(),
                }),
                completed: Condvar::new(),
                shut_down: std::sync::atomic::AtomicBool::new(false),
            }),
        }
    }

    /// Whether two handles are to the same simulation.
    #[must_use]
    pub fn is_same_system(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }

    /// A handle that does not keep the simulation alive (held by the objects driver code
    /// sees, which the simulation itself owns).
    fn downgrade(&self) -> std::sync::Weak<Inner> {
        Arc::downgrade(&self.inner)
    }

    fn lock(&self) -> MutexGuard<'_, World> {
        self.inner
            .world
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn with_world<R>(&self, f: impl FnOnce(&mut World) -> R) -> R {
        let mut world = self.lock();
        f(&mut world)
    }

    /// Runs a scripted closure as driver code of `driver`; a panic becomes bug check 0x1E.
    pub(super) fn run_script<R>(
        &self,
        driver: Option<DriverId>,
        f: impl FnOnce(&KernelCalls) -> R,
    ) -> Option<R> {
        let _guard = irql::enter(self, driver);
        let calls = KernelCalls::new(self.clone(), driver);
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(&calls))) {
            Ok(value) => Some(value),
            Err(payload) => {
                let message = payload
                    .downcast_ref::<&str>()
                    .map(|s| (*s).to_string())
                    .or_else(|| payload.downcast_ref::<String>().cloned())
                    .unwrap_or_default();
                self.report_driver_panic(&message);
                None
            }
        }
    }
}
