//! Records that go with their objects: the crate's state of a device, queue, timer or work item
//! (its cell, callbacks and typed contexts) lives in a [`Slot`] and is freed once its
//! framework object is destroyed and no caller is inside it, so a filter that sees a thousand
//! plug-ins holds the records of the devices it has now, not of every device it ever had.
//!
//! The driver's handles (`Device`, `Queue`, `IoTarget`, `Timer`, …) are `Copy` and may be kept
//! anywhere, past the object's removal too, so they cannot point to the record itself. They
//! hold a [`Ticket`]: the slot (which lives until the driver unloads, and is reused for later
//! records) and the generation of the record the ticket was issued for.
//! [`enter`](Ticket::enter) finds the record only while that generation is the slot's and the
//! record is not retired, and counts the caller in, so the record outlives the returned
//! [`Entered`] guard: the record is dropped by [`retire`](Ticket::retire) (from the object's
//! `EvtDestroyCallback`) when no one is inside, or else by the last guard to leave.
//!
//! The framework's own callbacks for an object find its record through the object's `RECORD`
//! context: KMDF calls none of them after the object's `EvtDestroyCallback`, which is where the
//! record is retired. Those that run driver code which may delete the object (timer,
//! work-item, file, PnP/power and keyboard callbacks) enter the record through its own ticket
//! for the callback; a queue's callbacks need not, since KMDF disposes no queue while one of
//! its callbacks runs (see `queue::record_and_driver`).
//!
//! At unload, [`unload`] frees the records still in slots (a `ContextRef` the driver forgot, or
//! contexts that keep each other) while every slot exists, and only then are the slots freed.

use core::marker::PhantomData;
use core::ops::Deref;
use core::ptr::{self, NonNull};
use core::sync::atomic::{AtomicPtr, AtomicU64, Ordering};

use alloc::vec::Vec;

use super::{Kept, KeptRecord, image, keep, try_box};
use wdm_compat::memory::try_push;
use wdm_compat::{NtResult, NtStatus, SpinLock};

/// The slot's state: the object is destroyed (its record goes when the last visitor leaves).
const RETIRED: u64 = 1;
/// One visitor, counted above the retired bit.
const VISITOR: u64 = 2;
/// The visitor count's bits (31 of them, below the generation).
const VISITORS: u64 = 0xFFFF_FFFE;
/// The generation is the state's upper half.
const GENERATION: u32 = 32;

const fn generation_of(state: u64) -> u32 {
    (state >> GENERATION) as u32
}

/// The place of one record at a time. Slots are kept until the driver unloads and reused: a
/// freed record's slot moves to the next generation, so tickets to the old record find
/// nothing (a ticket would have to outlive 2^32 records of one slot to see a later one).
pub(super) struct Slot {
    /// `generation << 32 | visitors << 1 | retired`.
    state: AtomicU64,
    /// The record while it lives (the allocation `owner` holds), null otherwise.
    record: AtomicPtr<()>,
    /// The record's allocation, freed by `release`.
    owner: SpinLock<Option<KeptRecord>>,
    /// The image's free slots, where `release` puts this one back.
    free: &'static SpinLock<FreeSlots>,
}

/// The slots of an image: those no record holds, and all of them. The free list always has
/// room for every slot, so a slot goes back without allocating.
pub(super) struct FreeSlots {
    free: Vec<&'static Slot>,
    all: Vec<&'static Slot>,
    /// The image is unloading ([`unload`]): slots are not given back any more.
    unloading: bool,
}

impl FreeSlots {
    pub(super) const fn new() -> Self {
        Self {
            free: Vec::new(),
            all: Vec::new(),
            unloading: false,
        }
    }
}

/// The image is unloading (its `WDFDRIVER` is destroyed, so every object is): drops the
/// records still in slots (held by a `ContextRef` the driver forgot, or by contexts that hold
/// each other's `ContextRef`s) while every slot still exists, since dropping one record may
/// leave another's slot. The slots themselves are freed afterwards, with the image's kept
/// allocations.
pub(super) fn unload(slots: &SpinLock<FreeSlots>) {
    let count = {
        let mut slots = slots.lock();
        slots.unloading = true;
        slots.all.len()
    };
    for index in 0..count {
        let slot = slots.lock().all.get(index).copied();
        if let Some(slot) = slot {
            let owner = slot.owner.lock().take();
            slot.record.store(ptr::null_mut(), Ordering::Release);
            // Outside the locks: the record's drop runs the driver's context drops.
            drop(owner);
        }
    }
    let mut slots = slots.lock();
    slots.free = Vec::new();
    slots.all = Vec::new();
}

impl Slot {
    const fn new(free: &'static SpinLock<FreeSlots>) -> Self {
        Self {
            state: AtomicU64::new(0),
            record: AtomicPtr::new(ptr::null_mut()),
            owner: SpinLock::new(None),
            free,
        }
    }

    /// Counts a visitor in, if the slot still holds the record of `generation`.
    fn visit(&self, generation: u32) -> bool {
        let mut state = self.state.load(Ordering::Acquire);
        loop {
            if generation_of(state) != generation
                || state & RETIRED != 0
                || state & VISITORS == VISITORS
            {
                return false;
            }
            match self.state.compare_exchange_weak(
                state,
                state + VISITOR,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => return true,
                Err(now) => state = now,
            }
        }
    }

    /// Counts a visitor out; the last one out of a retired record frees it.
    fn leave(&'static self) {
        let previous = self.state.fetch_sub(VISITOR, Ordering::AcqRel);
        if previous & RETIRED != 0 && previous & VISITORS == VISITOR {
            self.release();
        }
    }

    /// Frees the retired record no one is inside, and gives the slot to the next record.
    fn release(&'static self) {
        let Some(owner) = self.owner.lock().take() else {
            // Freed already: the image is unloading (`unload` took every record).
            return;
        };
        self.record.store(ptr::null_mut(), Ordering::Release);
        // No visitor can be counted in meanwhile: the retired bit refuses them until the
        // generation moves on, and the new generation refuses every ticket issued so far.
        self.next_generation(generation_of(self.state.load(Ordering::Acquire)));
        // Dropped outside the lock: the record's drop runs the driver's context drops. The
        // slot may hold another record by then; the old one is its own allocation.
        drop(owner);
    }

    /// Moves the slot on from `generation` (tickets issued for it find nothing from now on)
    /// and gives it back for the next record, unless its generations are used up: a ticket
    /// from its first record would name the next one.
    fn next_generation(&'static self, generation: u32) {
        let next = generation.wrapping_add(1);
        self.state
            .store(u64::from(next) << GENERATION, Ordering::Release);
        if next != 0 {
            self.give_back();
        }
    }

    /// Puts the slot on its image's free list (which has room for every slot made), unless
    /// the image is unloading.
    fn give_back(&'static self) {
        let mut slots = self.free.lock();
        if !slots.unloading {
            let _ = try_push(&mut slots.free, self);
        }
    }
}

/// A free slot, or a new one (kept until the driver unloads; the free list grows first, so it
/// can take the slot back without allocating).
fn take_slot() -> NtResult<&'static Slot> {
    let image = image().ok_or(NtStatus::DRIVER_INTERNAL_ERROR)?;
    let free = &image.free_slots;
    // All under the lock, so the room reserved counts every slot made.
    let mut slots = free.lock();
    if let Some(slot) = slots.free.pop() {
        return Ok(slot);
    }
    slots
        .all
        .try_reserve(1)
        .map_err(|_| NtStatus::INSUFFICIENT_RESOURCES)?;
    let room = (slots.all.len() + 1).saturating_sub(slots.free.len());
    slots
        .free
        .try_reserve(room)
        .map_err(|_| NtStatus::INSUFFICIENT_RESOURCES)?;
    let slot = keep(Slot::new(free))?;
    // Room was reserved above: no allocation.
    let _ = try_push(&mut slots.all, slot);
    Ok(slot)
}

/// A way to a record of type `R` that may outlive it: `Copy`, `'static`, and sure to find
/// nothing once the record is gone.
pub(super) struct Ticket<R> {
    slot: &'static Slot,
    generation: u32,
    _record: PhantomData<fn() -> R>,
}

impl<R> Clone for Ticket<R> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<R> Copy for Ticket<R> {}

impl<R: Send + Sync + 'static> Ticket<R> {
    /// Puts the record `make` builds (given its own ticket, which it may keep) in a slot.
    ///
    /// `STATUS_INSUFFICIENT_RESOURCES` when memory is short (nothing is kept then);
    /// `STATUS_DRIVER_INTERNAL_ERROR` outside a loaded image.
    pub(super) fn new(make: impl FnOnce(Self) -> R) -> NtResult<Self> {
        let slot = take_slot()?;
        let ticket = Self {
            slot,
            generation: generation_of(slot.state.load(Ordering::Acquire)),
            _record: PhantomData,
        };
        let Ok(record) = try_box(make(ticket)) else {
            // `make` may have kept its ticket: the slot moves on to the next generation.
            slot.next_generation(ticket.generation);
            return Err(NtStatus::INSUFFICIENT_RESOURCES);
        };
        let record: NonNull<R> = NonNull::from(alloc::boxed::Box::leak(record));
        let owned: NonNull<dyn Kept> = record;
        *slot.owner.lock() = Some(KeptRecord(owned));
        slot.record.store(record.as_ptr().cast(), Ordering::Release);
        Ok(ticket)
    }

    /// The record, kept until the guard drops; `None` once it is retired (its object is
    /// destroyed) or gone.
    pub(super) fn enter(self) -> Option<Entered<R>> {
        self.enter_as()
    }

    /// The record's object is destroyed (or was never created): no visitor is counted in from
    /// now on, and the record is freed once the last one inside leaves. Called once per
    /// record, by whoever knows the object is gone.
    pub(super) fn retire(self) {
        let mut state = self.slot.state.load(Ordering::Acquire);
        loop {
            if generation_of(state) != self.generation || state & RETIRED != 0 {
                return;
            }
            match self.slot.state.compare_exchange_weak(
                state,
                state | RETIRED,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => break,
                Err(now) => state = now,
            }
        }
        if state & VISITORS == 0 {
            self.slot.release();
        }
    }

    /// The ticket for code that knows only the record's head (see `contexts::ObjectHead`).
    pub(super) const fn erase(self) -> Ticket<()> {
        Ticket {
            slot: self.slot,
            generation: self.generation,
            _record: PhantomData,
        }
    }
}

impl Ticket<()> {
    /// The record, as a pointer to its first field of type `H` (a `repr(C)` head), kept until
    /// the guard drops.
    ///
    /// # Safety
    ///
    /// The ticket was erased from a `Ticket<R>` whose `R` is `repr(C)` with an `H` first.
    pub(super) unsafe fn enter_head<H>(self) -> Option<Entered<H>> {
        self.enter_as()
    }
}

impl<R> Ticket<R> {
    /// Counts the caller into the slot, if it still holds this ticket's record, and hands the
    /// record out as an `H` (the caller says what the record is).
    fn enter_as<H>(self) -> Option<Entered<H>> {
        if !self.slot.visit(self.generation) {
            return None;
        }
        match NonNull::new(self.slot.record.load(Ordering::Acquire).cast::<H>()) {
            Some(record) => Some(Entered {
                slot: self.slot,
                record,
            }),
            None => {
                self.slot.leave();
                None
            }
        }
    }
}

impl<R> core::fmt::Debug for Ticket<R> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Ticket")
            .field("slot", &ptr::from_ref(self.slot))
            .field("generation", &self.generation)
            .finish()
    }
}

/// A record a caller is inside: it is not freed until this guard drops.
pub(super) struct Entered<R> {
    slot: &'static Slot,
    record: NonNull<R>,
}

// SAFETY: the guard gives shared access to the record (`R: Sync`), and leaving is an atomic
// step any thread may take.
unsafe impl<R: Send + Sync> Send for Entered<R> {}
// SAFETY: as above.
unsafe impl<R: Send + Sync> Sync for Entered<R> {}

impl<R> Deref for Entered<R> {
    type Target = R;

    fn deref(&self) -> &R {
        // SAFETY: the slot counted this guard in while it held this record, so the record is
        // not freed until the guard leaves (in its drop); only shared references are made.
        unsafe { self.record.as_ref() }
    }
}

impl<R> Drop for Entered<R> {
    fn drop(&mut self) {
        self.slot.leave();
    }
}

/// A typed context of a record a caller is inside: the context lives as long as its record,
/// which this guard keeps.
pub(crate) struct ContextGuard<T> {
    _record: Entered<()>,
    value: NonNull<T>,
}

// SAFETY: shared access to a `T: Sync`, and a record guard that may leave from any thread.
unsafe impl<T: Send + Sync> Send for ContextGuard<T> {}
// SAFETY: as above.
unsafe impl<T: Send + Sync> Sync for ContextGuard<T> {}

impl<T> ContextGuard<T> {
    /// `value`, a context of the record `record` is inside (its address stays while the record
    /// does).
    pub(super) fn new<H>(record: Entered<H>, value: NonNull<T>) -> Self {
        let slot = record.slot;
        let erased = record.record.cast::<()>();
        // The count moves to the new guard: no leave for `record`.
        core::mem::forget(record);
        Self {
            _record: Entered {
                slot,
                record: erased,
            },
            value,
        }
    }

    /// The context pinned: it was initialised in its own allocation, never moves, and is
    /// dropped in place with its record.
    pub(crate) fn pinned(self) -> core::pin::Pin<Self> {
        // SAFETY: `Deref` gives the same address for as long as the guard (and so the record
        // and its boxed context) lives; the value is never moved out or handed out mutably.
        unsafe { core::pin::Pin::new_unchecked(self) }
    }
}

impl<T> Deref for ContextGuard<T> {
    type Target = T;

    fn deref(&self) -> &T {
        // SAFETY: the context is boxed in its record's context list, which the guard's record
        // visit keeps until the guard drops; only shared references are made.
        unsafe { self.value.as_ref() }
    }
}
