//! The object table (`FxObject` and its handles): every framework object a driver holds a
//! handle to, with its parent, children, contexts and cleanup/destroy callbacks.
//!
//! A handle is a slot of the table and the slot's generation, never an address: a stale or
//! made-up handle is found out (and reported as bug check 0x10D / `WDF_INVALID_HANDLE`, as
//! `FxObjectHandleGetPtr` does) instead of being dereferenced.

use core::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::vec::Vec;

use super::device::{DeviceBody, InitBody};
use super::driver::DriverBody;
use super::queue::QueueBody;
use super::request::RequestBody;
use crate::ffi::bindings::{PFN_WDF_OBJECT_CONTEXT_CLEANUP, PFN_WDF_OBJECT_CONTEXT_DESTROY};
use crate::ffi::memory::Block;

/// A framework handle (`WDFDRIVER`, `WDFDEVICE`, `PWDFDEVICE_INIT`, …).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub(crate) struct Handle {
    index: u32,
    generation: u32,
}

impl Handle {
    /// The handle's value as drivers see it: non-zero, never a valid address.
    pub(crate) const fn raw(self) -> usize {
        ((self.index as usize + 1) << 32) | self.generation as usize
    }

    /// The handle a raw value names, if it is shaped like one.
    pub(crate) const fn from_raw(raw: usize) -> Option<Self> {
        let slot = raw >> 32;
        if slot == 0 || slot > u32::MAX as usize {
            return None;
        }
        Some(Self {
            index: (slot - 1) as u32,
            generation: (raw & 0xFFFF_FFFF) as u32,
        })
    }
}

const _: () = assert!(
    usize::BITS == 64,
    "handles pack a slot and a generation into 64 bits"
);

/// What kind of object a handle names (`FX_TYPE_*`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Kind {
    Driver,
    DeviceInit,
    Device,
    Queue,
    Request,
    IoTarget,
    FileObject,
    WaitLock,
    Timer,
    WorkItem,
    Key,
    Lookaside,
    Memory,
}

impl Kind {
    pub(crate) const fn name(self) -> &'static str {
        match self {
            Self::Driver => "WDFDRIVER",
            Self::DeviceInit => "PWDFDEVICE_INIT",
            Self::Device => "WDFDEVICE",
            Self::Queue => "WDFQUEUE",
            Self::Request => "WDFREQUEST",
            Self::IoTarget => "WDFIOTARGET",
            Self::FileObject => "WDFFILEOBJECT",
            Self::WaitLock => "WDFWAITLOCK",
            Self::Timer => "WDFTIMER",
            Self::WorkItem => "WDFWORKITEM",
            Self::Key => "WDFKEY",
            Self::Lookaside => "WDFLOOKASIDE",
            Self::Memory => "WDFMEMORY",
        }
    }
}

/// The part of an object that depends on its kind.
pub(crate) enum Body {
    Driver(DriverBody),
    DeviceInit(InitBody),
    Device(DeviceBody),
    Queue(QueueBody),
    Request(RequestBody),
    IoTarget(TargetBody),
    FileObject(super::file::FileBody),
    WaitLock(std::sync::Arc<super::wait_lock::WaitLockState>),
    Timer(super::timer::TimerBody),
    WorkItem(super::work_item::WorkItemBody),
    Key(super::registry::KeyBody),
    Lookaside(super::lookaside::LookasideBody),
    Memory(super::lookaside::MemoryBody),
}

/// `Object::device()`, `Object::device_mut()`, … for each body.
macro_rules! body_accessors {
    ($($get:ident / $get_mut:ident: $variant:ident($body:ty)),* $(,)?) => {
        impl Object {
            $(
                pub(crate) const fn $get(&self) -> Option<&$body> {
                    match &self.body {
                        Body::$variant(body) => Some(body),
                        _ => None,
                    }
                }

                #[allow(dead_code, reason = "generated for every body; not all are written")]
                pub(crate) const fn $get_mut(&mut self) -> Option<&mut $body> {
                    match &mut self.body {
                        Body::$variant(body) => Some(body),
                        _ => None,
                    }
                }
            )*
        }
    };
}

body_accessors!(
    driver / driver_mut: Driver(DriverBody),
    init / init_mut: DeviceInit(InitBody),
    device / device_mut: Device(DeviceBody),
    queue / queue_mut: Queue(QueueBody),
    request / request_mut: Request(RequestBody),
    target / target_mut: IoTarget(TargetBody),
    file / file_mut: FileObject(super::file::FileBody),
    wait_lock / wait_lock_mut: WaitLock(std::sync::Arc<super::wait_lock::WaitLockState>),
    timer / timer_mut: Timer(super::timer::TimerBody),
    work_item / work_item_mut: WorkItem(super::work_item::WorkItemBody),
    key / key_mut: Key(super::registry::KeyBody),
    lookaside / lookaside_mut: Lookaside(super::lookaside::LookasideBody),
    memory / memory_mut: Memory(super::lookaside::MemoryBody),
);

impl Body {
    pub(crate) const fn kind(&self) -> Kind {
        match self {
            Self::Driver(_) => Kind::Driver,
            Self::DeviceInit(_) => Kind::DeviceInit,
            Self::Device(_) => Kind::Device,
            Self::Queue(_) => Kind::Queue,
            Self::Request(_) => Kind::Request,
            Self::IoTarget(_) => Kind::IoTarget,
            Self::FileObject(_) => Kind::FileObject,
            Self::WaitLock(_) => Kind::WaitLock,
            Self::Timer(_) => Kind::Timer,
            Self::WorkItem(_) => Kind::WorkItem,
            Self::Key(_) => Kind::Key,
            Self::Lookaside(_) => Kind::Lookaside,
            Self::Memory(_) => Kind::Memory,
        }
    }
}

/// `FxIoTarget` of a device: the device below it.
pub(crate) struct TargetBody {
    pub(crate) lower: wdm_compat::host::DeviceId,
}

/// A context attached to an object (`FxContextHeader`): its type info's address, the zeroed
/// memory, and the callbacks given with it.
pub(crate) struct Context {
    pub(crate) type_info: usize,
    pub(crate) memory: Block,
    pub(crate) cleanup: PFN_WDF_OBJECT_CONTEXT_CLEANUP,
    pub(crate) destroy: PFN_WDF_OBJECT_CONTEXT_DESTROY,
}

/// Where an object is in its life (`FxObjectStateMachine`, reduced).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Life {
    Created,
    /// Deletion started: its cleanup callbacks ran (or are running).
    Disposed,
}

/// A framework object.
pub(crate) struct Object {
    /// The image (driver) that created it.
    pub(crate) image: usize,
    pub(crate) parent: Option<Handle>,
    pub(crate) children: Vec<Handle>,
    /// Contexts in the order they were added (the primary one first).
    pub(crate) contexts: Vec<Context>,
    /// References beyond the one the object's parent (or creator) holds.
    pub(crate) references: usize,
    pub(crate) life: Life,
    pub(crate) body: Body,
}

impl Object {
    pub(crate) const fn new(image: usize, parent: Option<Handle>, body: Body) -> Self {
        Self {
            image,
            parent,
            children: Vec::new(),
            contexts: Vec::new(),
            references: 0,
            life: Life::Created,
            body,
        }
    }

    /// The context of type `type_info`, if attached.
    pub(crate) fn context(&self, type_info: usize) -> Option<&Context> {
        self.contexts.iter().find(|c| c.type_info == type_info)
    }
}

struct Slot {
    generation: u32,
    object: Option<Object>,
}

/// The table of every live object.
#[derive(Default)]
pub(crate) struct Objects {
    slots: Vec<Slot>,
    free: Vec<u32>,
    live: usize,
    /// How many objects were removed so far, readable without the framework's lock: while it
    /// has not moved, a handle found live earlier is still live (see `ffi::entries::handle`).
    removals: Arc<AtomicU64>,
}

impl Objects {
    /// The removal counter, to read without the lock.
    pub(crate) fn removals(&self) -> Arc<AtomicU64> {
        Arc::clone(&self.removals)
    }

    /// Inserts `object` under a fresh handle; `None` when the table is full.
    pub(crate) fn insert(&mut self, object: Object) -> Option<Handle> {
        let parent = object.parent;
        let handle = if let Some(index) = self.free.pop() {
            let slot = self.slots.get_mut(index as usize)?;
            slot.generation = slot.generation.wrapping_add(1);
            slot.object = Some(object);
            Handle {
                index,
                generation: slot.generation,
            }
        } else {
            let index = u32::try_from(self.slots.len()).ok()?;
            self.slots.try_reserve(1).ok()?;
            self.slots.push(Slot {
                generation: 1,
                object: Some(object),
            });
            Handle {
                index,
                generation: 1,
            }
        };
        self.live += 1;
        if let Some(parent) = parent.and_then(|p| self.get_mut(p)) {
            parent.children.push(handle);
        }
        Some(handle)
    }

    pub(crate) fn get(&self, handle: Handle) -> Option<&Object> {
        let slot = self.slots.get(handle.index as usize)?;
        if slot.generation != handle.generation {
            return None;
        }
        slot.object.as_ref()
    }

    pub(crate) fn get_mut(&mut self, handle: Handle) -> Option<&mut Object> {
        let slot = self.slots.get_mut(handle.index as usize)?;
        if slot.generation != handle.generation {
            return None;
        }
        slot.object.as_mut()
    }

    /// Removes an object (its memory goes with it) and unlinks it from its parent.
    pub(crate) fn remove(&mut self, handle: Handle) -> Option<Object> {
        let slot = self.slots.get_mut(handle.index as usize)?;
        if slot.generation != handle.generation {
            return None;
        }
        let object = slot.object.take()?;
        self.removals.fetch_add(1, Ordering::Release);
        self.free.push(handle.index);
        self.live = self.live.saturating_sub(1);
        if let Some(parent) = object.parent.and_then(|p| self.get_mut(p)) {
            parent.children.retain(|child| *child != handle);
        }
        Some(object)
    }

    /// The subtree under `root`, children before their parent (the order cleanup runs in:
    /// `DisposeChildrenWorker`, shared/object/fxobjectstatemachine.cpp).
    pub(crate) fn subtree_post_order(&self, root: Handle) -> Vec<Handle> {
        let mut order = Vec::new();
        let mut stack = std::vec![(root, false)];
        while let Some((handle, expanded)) = stack.pop() {
            if expanded {
                order.push(handle);
                continue;
            }
            stack.push((handle, true));
            if let Some(object) = self.get(handle) {
                // Reversed so children are visited in the order they were added.
                for child in object.children.iter().rev() {
                    stack.push((*child, false));
                }
            }
        }
        order
    }

    /// The live objects of `image`.
    pub(crate) fn owned_by(&self, image: usize) -> Vec<Handle> {
        self.of_image(image).map(|(handle, _)| handle).collect()
    }

    /// The live objects of one driver image, with their handles.
    pub(crate) fn of_image(&self, image: usize) -> impl Iterator<Item = (Handle, &Object)> {
        self.slots
            .iter()
            .enumerate()
            .filter_map(move |(index, slot)| {
                let object = slot.object.as_ref().filter(|o| o.image == image)?;
                let handle = Handle {
                    index: u32::try_from(index).ok()?,
                    generation: slot.generation,
                };
                Some((handle, object))
            })
    }
}
