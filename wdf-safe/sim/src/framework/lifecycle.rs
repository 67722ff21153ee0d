//! Creating and deleting objects: attributes and contexts (`FxObject::Commit`,
//! `FxObject::AddContext`, shared/object/fxobject.cpp, handleapi.cpp), and deletion in KMDF's
//! order (`DeleteObject` → `DisposeChildrenWorker`, shared/object/fxobjectstatemachine.cpp):
//! every child is disposed and cleaned up before its parent's `EvtCleanupCallback`, and an
//! object is destroyed (`EvtDestroyCallback`, then its memory) when its last reference goes.

use std::vec::Vec;

use wdm_compat::NtStatus;

use super::Cx;
use super::objects::{Body, Context, Handle, Kind, Life, Object};
use crate::ffi::bindings::{PFN_WDF_OBJECT_CONTEXT_CLEANUP, PFN_WDF_OBJECT_CONTEXT_DESTROY};
use crate::ffi::callbacks;
use crate::ffi::memory::Block;

/// `WDF_OBJECT_ATTRIBUTES`, read and validated by the table's entry (`FxValidateObjectAttributes`).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Attributes {
    pub(crate) cleanup: PFN_WDF_OBJECT_CONTEXT_CLEANUP,
    pub(crate) destroy: PFN_WDF_OBJECT_CONTEXT_DESTROY,
    pub(crate) parent: Option<usize>,
    /// `SynchronizationScope`.
    pub(crate) scope: i32,
    /// The context type's address and the context's size, when a type is given.
    pub(crate) context: Option<(usize, usize)>,
}

/// A context header for `attributes`: zeroed memory of the type's size (aligned to
/// `MEMORY_ALLOCATION_ALIGNMENT`), or none when no type is given (the header still carries the
/// callbacks, as KMDF's first header does).
fn header(attributes: &Attributes) -> Result<Context, NtStatus> {
    let (type_info, size) = attributes.context.unwrap_or((0, 0));
    let memory = Block::zeroed(size).ok_or(NtStatus::INSUFFICIENT_RESOURCES)?;
    Ok(Context {
        type_info,
        memory,
        cleanup: attributes.cleanup,
        destroy: attributes.destroy,
    })
}

/// Creates an object of the calling image under `parent` (`None`: no parent, as for the
/// driver itself and the requests the framework makes for IRPs) with `attributes`.
pub(crate) fn create_object(
    cx: &Cx,
    parent: Option<Handle>,
    attributes: Option<&Attributes>,
    body: Body,
) -> Result<Handle, NtStatus> {
    let mut object = Object::new(cx.image.id, parent, body);
    if let Some(attributes) = attributes {
        object.contexts.push(header(attributes)?);
    }
    let mut state = cx.lock();
    if let Some(parent) = parent {
        match state.objects.get(parent) {
            Some(p) if p.life != Life::Created => return Err(NtStatus::DELETE_PENDING),
            Some(_) => {}
            None => {
                // KMDF would look the parent's handle up in freed memory (`FxObject::Commit`).
                drop(state);
                cx.verifier_break(
                    None,
                    "an object was created under a parent that no longer exists (its handle \
                     names freed memory)",
                );
                return Err(NtStatus::INVALID_HANDLE);
            }
        }
    }
    state
        .objects
        .insert(object)
        .ok_or(NtStatus::INSUFFICIENT_RESOURCES)
}

/// `WdfObjectAllocateContext`: the new context's address, or the existing one's with
/// `STATUS_OBJECT_NAME_EXISTS` (an informational status) when the type is already attached.
pub(crate) fn allocate_context(
    cx: &Cx,
    handle: Handle,
    attributes: &Attributes,
) -> Result<(NtStatus, *mut u8), NtStatus> {
    let Some((type_info, _)) = attributes.context else {
        return Err(NtStatus::OBJECT_NAME_INVALID);
    };
    let new = header(attributes)?;
    let mut state = cx.lock();
    let object = state
        .objects
        .get_mut(handle)
        .ok_or(NtStatus::INVALID_HANDLE)?;
    if object.life != Life::Created {
        return Err(NtStatus::DELETE_PENDING);
    }
    if let Some(existing) = object.context(type_info) {
        return Ok((NtStatus::OBJECT_NAME_EXISTS, existing.memory.as_ptr()));
    }
    let address = new.memory.as_ptr();
    object
        .contexts
        .try_reserve(1)
        .map_err(|_| NtStatus::INSUFFICIENT_RESOURCES)?;
    object.contexts.push(new);
    Ok((NtStatus::SUCCESS, address))
}

/// `WdfObjectGetTypedContextWorker`: the context whose type info is `type_info`, or null.
pub(crate) fn typed_context(cx: &Cx, handle: Handle, type_info: usize) -> Option<*mut u8> {
    let state = cx.lock();
    let object = state.objects.get(handle)?;
    object.context(type_info).map(|c| c.memory.as_ptr())
}

/// `WdfObjectReferenceActual`.
pub(crate) fn reference(cx: &Cx, handle: Handle) -> bool {
    let mut state = cx.lock();
    match state.objects.get_mut(handle) {
        Some(object) => {
            object.references += 1;
            true
        }
        None => false,
    }
}

/// A queue is not destroyed while one of its callbacks runs: KMDF delivers every queue
/// callback from `FxIoQueue::DispatchEvents`, which counts its dispatchers (`m_Dispatching`),
/// and `FxIoQueue::Dispose` waits (`m_FinishDisposing`) until the last one has left
/// (fxioqueue.cpp). The simulation holds a reference around the callback for the same effect
/// on the destroy; a deletion from inside the callback itself, which KMDF would wait on for
/// ever, is reported (`before_cleanup`).
pub(crate) struct AroundCallback<'a> {
    cx: &'a Cx,
    handle: Handle,
    taken: bool,
}

impl<'a> AroundCallback<'a> {
    pub(crate) fn new(cx: &'a Cx, handle: Handle) -> Self {
        let taken = reference(cx, handle);
        Self { cx, handle, taken }
    }
}

impl Drop for AroundCallback<'_> {
    fn drop(&mut self) {
        if self.taken {
            dereference(self.cx, self.handle);
        }
    }
}

/// `WdfObjectDereferenceActual`: the last reference of a disposed object destroys it.
pub(crate) fn dereference(cx: &Cx, handle: Handle) -> bool {
    let destroy = {
        let mut state = cx.lock();
        let Some(object) = state.objects.get_mut(handle) else {
            return false;
        };
        object.references = object.references.saturating_sub(1);
        object.references == 0 && object.life == Life::Disposed
    };
    if destroy {
        destroy_object(cx, handle);
    }
    true
}

/// What deleting an object does before its cleanup callbacks: a queue is purged
/// (`FxIoQueue::Dispose`), a timer stopped (`FxTimer::Dispose`), a queued work item run
/// (`FxWorkItem::Dispose` flushes it), a request still at its target reported
/// (`FxRequestBase::VerifyDispose`).
fn before_cleanup(cx: &Cx, handle: Handle, when: &str) {
    let kind = cx.lock().objects.get(handle).map(|o| o.body.kind());
    match kind {
        Some(Kind::Queue) => {
            if super::queue::in_callback_of(handle) {
                cx.verifier_break(
                    None,
                    "a WDFQUEUE is deleted, with its device, from inside one of its own \
                     callbacks: FxIoQueue::Dispose waits until the queue's dispatch has \
                     returned (m_FinishDisposing), and that dispatch is this thread's, so KMDF \
                     would wait for ever; delete the device from elsewhere (a work item)",
                );
            }
            super::queue::purge_synchronously(cx, handle, when);
        }
        Some(Kind::Timer) => super::timer::dispose(cx, handle),
        Some(Kind::WorkItem) => super::work_item::dispose(cx, handle),
        Some(Kind::Request) => {
            let _reported = super::created::verify_dispose(cx, handle);
        }
        _ => {}
    }
}

/// What deleting an object does after its cleanup callbacks: a device leaves the I/O manager
/// (`FxDevice::Dispose` → `Destroy`: symbolic link, interfaces, `IoDeleteDevice`).
fn after_cleanup(cx: &Cx, handle: Handle) {
    let kind = cx.lock().objects.get(handle).map(|o| o.body.kind());
    if kind == Some(Kind::Device) {
        super::device::destroy_wdm_device(cx, handle);
    }
}

/// Deletes `root` and everything under it, in KMDF's order: each object is disposed (queues
/// purge) and cleaned up after its children; objects are destroyed children first once no
/// reference is left.
pub(crate) fn delete_object(cx: &Cx, root: Handle, when: &str) {
    let order = {
        let mut state = cx.lock();
        let order: Vec<Handle> = state
            .objects
            .subtree_post_order(root)
            .into_iter()
            .filter(|handle| {
                state
                    .objects
                    .get(*handle)
                    .is_some_and(|o| o.life == Life::Created)
            })
            .collect();
        for handle in &order {
            if let Some(object) = state.objects.get_mut(*handle) {
                object.life = Life::Disposed;
            }
        }
        order
    };
    for handle in &order {
        before_cleanup(cx, *handle, when);
        run_cleanup(cx, *handle);
        after_cleanup(cx, *handle);
    }
    for handle in order {
        destroy_if_unreferenced(cx, handle);
    }
}

/// Runs the object's `EvtCleanupCallback`s, one per context header in order.
pub(crate) fn run_cleanup(cx: &Cx, handle: Handle) {
    let callbacks = cleanup_callbacks(&cx.lock(), handle);
    run_cleanup_callbacks(handle, callbacks);
}

/// A cleanup or destroy callback a driver registered.
pub(crate) type ObjectCallback = unsafe extern "C" fn(*mut core::ffi::c_void);

/// The object's `EvtCleanupCallback`s, in the order they run (read under the lock).
pub(crate) fn cleanup_callbacks(state: &super::State, handle: Handle) -> Vec<ObjectCallback> {
    state
        .objects
        .get(handle)
        .map(|o| o.contexts.iter().filter_map(|c| c.cleanup).collect())
        .unwrap_or_default()
}

/// Calls cleanup callbacks read with [`cleanup_callbacks`] (without the lock).
pub(crate) fn run_cleanup_callbacks(handle: Handle, callbacks: Vec<ObjectCallback>) {
    for callback in callbacks {
        callbacks::evt_object_cleanup(callback, handle);
    }
}

/// Destroys a disposed object nobody references any more; one look under the lock when it has
/// no destroy callback (a request's usual case).
pub(crate) fn destroy_if_unreferenced(cx: &Cx, handle: Handle) {
    let mut state = cx.lock();
    let Some(object) = state.objects.get(handle).filter(|o| o.references == 0) else {
        return;
    };
    if object.contexts.iter().all(|c| c.destroy.is_none()) {
        let removed = state.objects.remove(handle);
        drop(state);
        super::lookaside::removed(cx, removed);
        return;
    }
    drop(state);
    destroy_object(cx, handle);
}

/// Runs the object's `EvtDestroyCallback`s (the object still exists for them), then frees it.
pub(crate) fn destroy_object(cx: &Cx, handle: Handle) {
    let callbacks: Vec<_> = {
        let state = cx.lock();
        state
            .objects
            .get(handle)
            .map(|o| o.contexts.iter().filter_map(|c| c.destroy).collect())
            .unwrap_or_default()
    };
    for callback in callbacks {
        callbacks::evt_object_destroy(callback, handle);
    }
    let removed = cx.lock().objects.remove(handle);
    // The memory (contexts, buffers) goes with it; children the driver still references
    // outlive it, as in KMDF.
    super::lookaside::removed(cx, removed);
}
