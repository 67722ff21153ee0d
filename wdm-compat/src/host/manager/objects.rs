//! The objects whose addresses driver code sees, and the routines drivers register.

use std::boxed::Box;
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Weak};
use std::vec::Vec;

use super::{Inner, IoManager};
use crate::host::scripted::{
    AddDeviceClosure, CancelClosure, CompletionClosure, DispatchClosure, ScriptedDriver,
    UnloadClosure,
};
use crate::host::{DeviceId, DriverId, IrpId};
use crate::sys::{self, AddDeviceFn, CancelFn, CompletionFn, DispatchFn, UnloadFn};

/// The object behind a driver-object pointer: which simulation, which driver.
///
/// Immortal from its creation (there is one per loaded driver), so a driver-object pointer stays
/// dereferenceable for the life of the process: a stale one reaches a driver the simulation
/// knows is unloaded, or a simulation that is gone, never freed memory. It holds the simulation
/// weakly, so a dropped `IoManager` is freed.
pub(crate) struct DriverObj {
    manager: Weak<Inner>,
    pub(crate) id: DriverId,
}

/// The object behind a device-object pointer. Leaked on creation, like [`DriverObj`].
pub(crate) struct DeviceObj {
    manager: Weak<Inner>,
    pub(crate) id: DeviceId,
    /// Driver-owned storage, as a device extension is: the seam's count of routines running
    /// for the device (`sys/rundown.rs`).
    pub(crate) io_count: AtomicUsize,
}

/// The object behind an IRP pointer, with the IRP's buffers.
///
/// Shared (`Arc`) between the simulation, which drops its share when the IRP is retired
/// ([`super::irps`]), and each seam handle a driver holds (`sys::host`'s `IrpRef`), so the
/// memory outlives every pointer a driver may still use. A handle kept past retirement reaches
/// an IRP the simulation no longer knows: completing it or passing it down is reported (bug
/// check 0x44, SDV CompleteRequest); its other calls read defaults and change nothing.
///
/// The buffers are atomics so the simulation reads and writes them with safe code; the seam
/// lends them to the owning driver as `&mut [u8]`, and the simulation touches them only while
/// no driver owns the IRP (before the first dispatch and after completion).
pub(crate) struct IrpObj {
    manager: Weak<Inner>,
    pub(crate) id: IrpId,
    /// `Irp->AssociatedIrp.SystemBuffer` (empty: none).
    pub(crate) system: Box<[AtomicU8]>,
    /// The pages `Irp->MdlAddress` describes: the user's own buffer (empty: no MDL).
    pub(crate) mdl: Box<[AtomicU8]>,
}

/// Objects that live for the rest of the process, on purpose: every driver and device object
/// ever handed to driver code. Listed in a static so that they stay reachable (a leak checker
/// such as Miri's sees them as the process's, not as lost).
static IMMORTAL: std::sync::Mutex<Vec<&'static (dyn core::any::Any + Send + Sync)>> =
    std::sync::Mutex::new(Vec::new());

/// Moves `value` to the heap for the rest of the process.
fn immortal<T: core::any::Any + Send + Sync>(value: T) -> &'static T {
    let value: &'static T = Box::leak(Box::new(value));
    IMMORTAL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .push(value);
    value
}

impl DriverObj {
    pub(super) fn leak(manager: &IoManager, id: DriverId) -> &'static Self {
        immortal(Self {
            manager: manager.downgrade(),
            id,
        })
    }

    /// The simulation this driver object belongs to, while it exists.
    pub(crate) fn manager(&self) -> Option<IoManager> {
        upgrade(&self.manager)
    }

    /// The driver object that belongs to no simulation (what a device whose simulation is gone
    /// answers for its driver): one for the process.
    pub(crate) fn orphan() -> &'static Self {
        static ORPHAN: std::sync::OnceLock<DriverObj> = std::sync::OnceLock::new();
        ORPHAN.get_or_init(|| Self {
            manager: Weak::new(),
            id: DriverId(usize::MAX),
        })
    }
}

impl DeviceObj {
    pub(super) fn leak(manager: &IoManager, id: DeviceId) -> &'static Self {
        immortal(Self {
            manager: manager.downgrade(),
            id,
            io_count: AtomicUsize::new(0),
        })
    }

    /// The simulation this device object belongs to, while it exists.
    pub(crate) fn manager(&self) -> Option<IoManager> {
        upgrade(&self.manager)
    }
}

impl IrpObj {
    pub(super) fn new(manager: &IoManager, id: IrpId, system: &[u8], mdl: &[u8]) -> Arc<Self> {
        Arc::new(Self {
            manager: manager.downgrade(),
            id,
            system: cells(system),
            mdl: cells(mdl),
        })
    }

    /// The simulation this IRP belongs to, while it exists.
    pub(crate) fn manager(&self) -> Option<IoManager> {
        upgrade(&self.manager)
    }
}

fn upgrade(inner: &Weak<Inner>) -> Option<IoManager> {
    inner.upgrade().map(|inner| IoManager { inner })
}

fn cells(bytes: &[u8]) -> Box<[AtomicU8]> {
    bytes.iter().map(|&b| AtomicU8::new(b)).collect()
}

pub(in crate::host) fn read_cells(cells: &[AtomicU8]) -> Vec<u8> {
    cells.iter().map(|c| c.load(Ordering::Relaxed)).collect()
}

// ---------------------------------------------------------------------------------------------
// Driver entry points and the routines drivers register.

/// A driver's entry point, for [`IoManager::load_driver`].
///
/// Made from a driver type with [`crate::driver::entry_point`], or from a [`ScriptedDriver`]
/// (`ScriptedDriver::new().on(..).into()`).
pub struct DriverEntry(pub(super) EntryKind);

pub(super) enum EntryKind {
    Native(sys::DriverEntryFn),
    Scripted(ScriptedDriver),
}

impl DriverEntry {
    /// Wraps a `DRIVER_INITIALIZE` routine (the safe layer's trampoline).
    pub(crate) const fn from_fn(entry: sys::DriverEntryFn) -> Self {
        Self(EntryKind::Native(entry))
    }
}

impl From<ScriptedDriver> for DriverEntry {
    fn from(driver: ScriptedDriver) -> Self {
        Self(EntryKind::Scripted(driver))
    }
}

impl core::fmt::Debug for DriverEntry {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self.0 {
            EntryKind::Native(_) => f.write_str("DriverEntry(native)"),
            EntryKind::Scripted(_) => f.write_str("DriverEntry(scripted)"),
        }
    }
}

#[derive(Clone)]
pub(in crate::host) enum Dispatch {
    Native(DispatchFn),
    Scripted(Arc<DispatchClosure>),
}

#[derive(Clone)]
pub(in crate::host) enum Unload {
    Native(UnloadFn),
    Scripted(Arc<UnloadClosure>),
}

#[derive(Clone)]
pub(in crate::host) enum AddDevice {
    Native(AddDeviceFn),
    Scripted(Arc<AddDeviceClosure>),
}

#[derive(Clone)]
pub(in crate::host) enum CompletionRoutine {
    Native(CompletionFn, usize),
    Scripted(Arc<CompletionClosure>),
}

#[derive(Clone)]
pub(in crate::host) enum CancelRoutine {
    Native(CancelFn),
    Scripted(Arc<CancelClosure>),
}
