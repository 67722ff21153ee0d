//! Cancelable requests: `WdfRequestMarkCancelableEx`, `WdfRequestUnmarkCancelable` and the one
//! `EvtRequestCancel` trampoline, serialized through an ownership cell in crate memory.
//!
//! A request marked cancelable gets a [`CANCEL`] context holding the driver's cancel routine
//! and a pointer to its [`CancelCell`]: who owns the request now, the cancel routine or the
//! driver. The driver's handle to the cancelable request ([`KeptHandle`], in a
//! `CancelableRequest` inside the callback or a `KeptRequest` past it) holds a share of the
//! cell and no reference on the request: KMDF frees a request into its device's lookaside list,
//! so a reference must not outlive the device, and a kept handle may. The handle touches the
//! request only after the cell's compare-and-swap said the cancel routine has not claimed it.

use alloc::boxed::Box;
use core::ffi::c_void;
use core::ptr::{self, NonNull};
use core::sync::atomic::{AtomicPtr, AtomicU8, AtomicUsize, Ordering};

use super::request::RequestHandle;
use super::wdk_sys::{
    self, WDF_OBJECT_CONTEXT_TYPE_INFO, WDFREQUEST, call_unsafe_wdf_function_binding,
};
use super::{TypeInfo, attributes, context_of, guarded};
use crate::sys::CancelCallback;
use wdm_compat::memory::try_box;
use wdm_compat::{NtResult, NtStatus};

/// Who owns a cancelable request: its cancel routine or the driver (`CancelCell::state`).
/// Never marked: the framework zeroes a new context.
const FRESH: u8 = 0;
/// Marked cancelable: the first of the cancel routine and `unmark_cancelable` to swap this
/// state out owns the request.
const CANCELABLE: u8 = 1;
/// The cancel routine claimed the request: it completes it.
const CANCEL_CLAIMED: u8 = 2;
/// The driver unmarked it first: the cancel routine, if KMDF still calls it, leaves it alone.
const UNMARKED: u8 = 3;
/// `mark_cancelable` is writing the routine (the request is the driver's and not yet
/// cancelable).
const MARKING: u8 = 4;
/// `unmark_cancelable` took the request from the cancel routine and is asking KMDF for it.
const UNMARKING: u8 = 5;
/// KMDF answered `STATUS_CANCELLED`: the cancellation got there first, and KMDF calls the
/// cancel routine, which must complete the request (completing it before is what KMDF's
/// verifier breaks on: `VerifyCompleteInternal`).
const LOST: u8 = 6;

/// Held (at DISPATCH_LEVEL) across an unmark's window, so the cancel trampoline that waits for
/// `UNMARKING` to end never waits for a thread it preempted on its own processor.
static UNMARKING_WINDOW: wdm_compat::SpinLock<()> = wdm_compat::SpinLock::new(());

/// Who owns a cancelable request now ([`FRESH`] … [`LOST`]), in crate memory shared by the
/// request's cancel context and a kept handle, so a kept handle finds out that it lost without
/// touching the request (which KMDF may have freed by then).
pub(crate) struct CancelCell {
    state: AtomicU8,
    /// The context's share (until the request is destroyed) and a kept handle's.
    shares: AtomicUsize,
}

impl CancelCell {
    /// Drops one share; the last frees the cell.
    ///
    /// # Safety
    ///
    /// `cell` came from `Box::into_raw` in `mark_cancelable`, and the caller owns one share,
    /// which it gives up.
    unsafe fn release(cell: NonNull<Self>) {
        // SAFETY: the caller's share keeps the cell until here.
        if unsafe { cell.as_ref() }
            .shares
            .fetch_sub(1, Ordering::AcqRel)
            == 1
        {
            // SAFETY: the last share: no one else can reach the cell.
            drop(unsafe { Box::from_raw(cell.as_ptr()) });
        }
    }
}

/// The context of a cancelable request: its ownership cell, and the driver's cancel routine.
#[repr(C)]
struct CancelContext<C> {
    cell: AtomicPtr<CancelCell>,
    routine: C,
}

/// The size of the [`CANCEL`] context: room for the cell pointer and a routine of two words.
const CANCEL_CONTEXT_SIZE: usize = 32;

/// The context type of a cancelable request ([`CancelContext`]).
pub(super) static CANCEL: TypeInfo = TypeInfo(WDF_OBJECT_CONTEXT_TYPE_INFO {
    Size: size_of::<WDF_OBJECT_CONTEXT_TYPE_INFO>() as u32,
    ContextName: c"WdfSafeCancelRoutine".as_ptr(),
    ContextSize: CANCEL_CONTEXT_SIZE,
    UniqueType: &raw const CANCEL.0,
    EvtDriverGetUniqueContextType: None,
});

impl RequestHandle {
    /// The request's cancel context, if it was ever marked cancelable (its cell is its first
    /// field, whatever the routine's type).
    fn cancel_context<C>(&self) -> Option<NonNull<CancelContext<C>>> {
        NonNull::new(context_of(self.raw().cast(), &CANCEL).cast())
    }

    /// The ownership cell of a request marked cancelable before.
    fn cancel_cell(&self) -> Option<NonNull<CancelCell>> {
        let context = self.cancel_context::<()>()?;
        // SAFETY: the context lives as long as the request, which the caller holds (owner or
        // reference); only the atomic pointer field is borrowed.
        NonNull::new(unsafe { &(*context.as_ptr()).cell }.load(Ordering::Acquire))
    }

    /// Stores `routine` in the request's [`CANCEL`] context and the ownership state in its
    /// cell (made at the first mark), then `WdfRequestMarkCancelableEx`: the driver's handle to
    /// the cancelable request is a share of the cell, not a reference on the request (KMDF
    /// frees a request into its device's lookaside list, so a reference must not outlive the
    /// device, and a handle the driver keeps may).
    pub(crate) fn mark_cancelable<C: CancelCallback>(
        self,
        routine: C,
    ) -> Result<KeptHandle, (Self, NtStatus)> {
        const {
            assert!(size_of::<CancelContext<C>>() <= CANCEL_CONTEXT_SIZE);
            assert!(align_of::<CancelContext<C>>() <= 16);
        };
        let mut attributes = attributes(&CANCEL, None, Some(evt_cancel_context_destroy));
        let mut context: *mut c_void = ptr::null_mut();
        // SAFETY: the driver owns the live request; the out-pointer is a local. A second
        // allocation returns STATUS_OBJECT_NAME_EXISTS with the existing context.
        let status = unsafe {
            call_unsafe_wdf_function_binding!(
                WdfObjectAllocateContext,
                self.raw().cast(),
                &mut attributes,
                &mut context
            )
        };
        let status = NtStatus::from_raw(status);
        if !status.is_success() {
            return Err((self, status));
        }
        let Some(context) = NonNull::new(context.cast::<CancelContext<C>>()) else {
            return Err((self, NtStatus::INSUFFICIENT_RESOURCES));
        };
        // SAFETY: a CANCEL context is CANCEL_CONTEXT_SIZE bytes, aligned to 16 (both checked
        // above against `CancelContext<C>`), zeroed by the framework, living as long as the
        // request; only the atomic cell field is borrowed.
        let cell_field = unsafe { &(*context.as_ptr()).cell };
        let cell = match NonNull::new(cell_field.load(Ordering::Acquire)) {
            Some(cell) => cell,
            None => {
                // The first mark: no cancel routine or kept handle can look yet.
                let Ok(made) = try_box(CancelCell {
                    state: AtomicU8::new(FRESH),
                    shares: AtomicUsize::new(1),
                }) else {
                    return Err((self, NtStatus::INSUFFICIENT_RESOURCES));
                };
                let made = Box::into_raw(made);
                cell_field.store(made, Ordering::Release);
                // SAFETY: from `Box::into_raw`, not null.
                unsafe { NonNull::new_unchecked(made) }
            }
        };
        // SAFETY: the context's share keeps the cell until the request is destroyed.
        let state = unsafe { &cell.as_ref().state };
        // A request marked before may be marked again only once the driver unmarked it. A
        // request its cancel routine claimed stays claimed (KMDF answers `STATUS_CANCELLED`
        // for it too): resetting the state would let a stale unmark win it back.
        let marking = state
            .compare_exchange(FRESH, MARKING, Ordering::AcqRel, Ordering::Acquire)
            .or_else(|_| {
                state.compare_exchange(UNMARKED, MARKING, Ordering::AcqRel, Ordering::Acquire)
            });
        if let Err(found) = marking {
            let status = if found == CANCEL_CLAIMED {
                NtStatus::CANCELLED
            } else {
                NtStatus::INVALID_DEVICE_REQUEST
            };
            return Err((self, status));
        }
        // The routine field, written through the raw pointer, never borrowed.
        let slot = context
            .as_ptr()
            .cast::<u8>()
            .wrapping_add(core::mem::offset_of!(CancelContext<C>, routine))
            .cast::<C>();
        // SAFETY: `slot` is the context's routine field, aligned as `C`; the state is MARKING,
        // which this call set, so no cancel trampoline reads it (one reads it only after
        // claiming a CANCELABLE request), and the driver owns the request.
        unsafe { slot.write(routine) };
        // The driver's handle's share, taken before anyone can race for the request.
        // SAFETY: the context's share keeps the cell until the request is destroyed.
        unsafe { cell.as_ref() }
            .shares
            .fetch_add(1, Ordering::Relaxed);
        state.store(CANCELABLE, Ordering::Release);
        // SAFETY: the driver owns the live request.
        let status = unsafe {
            call_unsafe_wdf_function_binding!(
                WdfRequestMarkCancelableEx,
                self.raw(),
                Some(evt_request_cancel::<C>)
            )
        };
        match NtStatus::from_raw(status).ok() {
            Ok(()) => Ok(KeptHandle {
                request: self.0,
                cell,
            }),
            Err(status) => {
                // Not cancelable after all (already cancelled): KMDF calls no routine, and the
                // request is the driver's, unmarked.
                state.store(UNMARKED, Ordering::Release);
                // SAFETY: the share taken above, released once.
                unsafe { CancelCell::release(cell) };
                Err((self, status))
            }
        }
    }
}

/// Asks KMDF for a cancelable request the caller found CANCELABLE, racing its cancel routine:
/// `Ok` when the driver has it back, `Err(STATUS_CANCELLED)` when the routine has it (or will:
/// KMDF answered `STATUS_CANCELLED`, and calls it on another thread). The request is touched only
/// after the cell said it is neither claimed nor completed.
fn unmark(request: WDFREQUEST, cell: NonNull<CancelCell>) -> NtResult {
    // SAFETY: the caller holds a share of the cell or a reference on the request whose
    // context holds one.
    let state = unsafe { &cell.as_ref().state };
    let window = UNMARKING_WINDOW.lock();
    if state
        .compare_exchange(CANCELABLE, UNMARKING, Ordering::AcqRel, Ordering::Acquire)
        .is_err()
    {
        return Err(NtStatus::CANCELLED);
    }
    // SAFETY: the request is cancelable and not claimed (the state was CANCELABLE), so it is
    // the driver's, not completed, and held by KMDF's list of cancelable requests; the cancel
    // routine waits while the state is UNMARKING.
    let status = unsafe { call_unsafe_wdf_function_binding!(WdfRequestUnmarkCancelable, request) };
    if NtStatus::from_raw(status) != NtStatus::SUCCESS {
        // STATUS_CANCELLED: the cancel routine won and KMDF calls it. Anything else (the
        // verifier's refusals) leaves the request on KMDF's cancelable list too: either way it
        // is not the driver's to complete now.
        state.store(LOST, Ordering::Release);
        drop(window);
        return Err(NtStatus::CANCELLED);
    }
    state.store(UNMARKED, Ordering::Release);
    drop(window);
    Ok(())
}

/// The driver's handle to a request it marked cancelable — in the callback
/// (`CancelableRequest`) or kept in its state past it (`KeptRequest`, the C echo sample's
/// `CurrentRequest`, unmarked or let go by another thread such as a timer's DPC): the request's
/// handle and a share of its ownership cell, no reference on the request.
pub(crate) struct KeptHandle {
    request: NonNull<wdk_sys::WDFREQUEST__>,
    cell: NonNull<CancelCell>,
}

// The cell is shared crate memory (atomics) freed by its last share, which this handle holds
// until `unmark` or `leave` consumes it; the request is touched only by `unmark`, after the
// cell's compare-and-swap said the cancel routine has not claimed it, while KMDF holds it as a
// cancelable request.
// SAFETY: as above; KMDF lets a request be unmarked and completed from any thread at
// ≤ DISPATCH_LEVEL.
unsafe impl Send for KeptHandle {}
// SAFETY: every use consumes the handle; a shared reference allows nothing.
unsafe impl Sync for KeptHandle {}

impl KeptHandle {
    /// `WdfRequestUnmarkCancelable` for a kept request: the request back (the driver's, to
    /// complete), or `Err(STATUS_CANCELLED)` when its cancel routine has it.
    pub(crate) fn unmark(self) -> Result<RequestHandle, NtStatus> {
        let won = unmark(self.request.as_ptr(), self.cell);
        // SAFETY: this handle's share, released once (the handle is consumed).
        unsafe { CancelCell::release(self.cell) };
        won.map(|()| RequestHandle(self.request))
    }

    /// The driver lets go of a kept request, leaving it to its cancel routine.
    pub(crate) fn leave(self) {
        // SAFETY: this handle's share, released once (the handle is consumed).
        unsafe { CancelCell::release(self.cell) };
    }
}

/// The cancel context's `EvtDestroyCallback`: the request is going, and with it the context's
/// share of the cell.
unsafe extern "C" fn evt_cancel_context_destroy(object: wdk_sys::WDFOBJECT) {
    guarded((), || {
        let context = context_of(object, &CANCEL).cast::<CancelContext<()>>();
        if context.is_null() {
            return;
        }
        // SAFETY: the context lives until the object's destroy callbacks have run; only the
        // atomic cell field is borrowed (`CancelContext` is `repr(C)`, the cell first).
        let cell = unsafe { &(*context).cell }.swap(ptr::null_mut(), Ordering::AcqRel);
        if let Some(cell) = NonNull::new(cell) {
            // SAFETY: the context's share, released once (the pointer was swapped out).
            unsafe { CancelCell::release(cell) };
        }
    });
}

/// `EvtRequestCancel`: runs the routine stored by `mark_cancelable`, unless the driver
/// unmarked the request first.
unsafe extern "C" fn evt_request_cancel<C: CancelCallback>(request: WDFREQUEST) {
    guarded((), || {
        let Some(handle) = NonNull::new(request).map(RequestHandle) else {
            return;
        };
        let (Some(context), Some(cell)) = (handle.cancel_context::<C>(), handle.cancel_cell())
        else {
            return handle.complete(NtStatus::CANCELLED, 0);
        };
        // SAFETY: the framework keeps the request, and so its context and the context's share
        // of the cell, alive while its cancel routine runs.
        let state = unsafe { &cell.as_ref().state };
        let claimed = loop {
            match state.load(Ordering::Acquire) {
                // An unmark is asking KMDF for the request (one DDI call, at DISPATCH_LEVEL on
                // another processor): its answer decides who completes it.
                UNMARKING => core::hint::spin_loop(),
                from @ (CANCELABLE | LOST) => {
                    if state
                        .compare_exchange(from, CANCEL_CLAIMED, Ordering::AcqRel, Ordering::Acquire)
                        .is_ok()
                    {
                        break true;
                    }
                }
                // Unmarked by the driver (it has the request), or claimed already.
                _ => break false,
            }
        };
        if claimed {
            let slot = context
                .as_ptr()
                .cast::<u8>()
                .wrapping_add(core::mem::offset_of!(CancelContext<C>, routine))
                .cast::<C>();
            // SAFETY: the routine field, written by `mark_cancelable` before it published
            // CANCELABLE (release; the claim acquired it), and never written again once claimed.
            let routine = unsafe { slot.read() };
            routine.cancel(handle);
        }
    });
}
